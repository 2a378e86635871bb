#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# `make install` puts one binary under DESTDIR/PREFIX/sbin, its manual page
# and the two documents the page names, and that binary alone, run from
# outside the source tree, loads its programs and records a connection:
# the BPF object travels inside it. `make uninstall` takes them away again.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=install
DEST=$SF_TMP/dest
BIN=$DEST/usr/sbin/synfin

if ! make -s -C "$SF_ROOT" install DESTDIR="$DEST" PREFIX=/usr >"$SF_TMP/make.out" 2>&1; then
	sf_fail "$T/make" "make install failed: $(tail -n 3 "$SF_TMP/make.out" | tr '\n' ' ')"
	sf_done
fi
sf_check "$T/file" "no executable at $BIN" test -x "$BIN"
sf_check "$T/mode" "mode $(stat -c %a "$BIN" 2>/dev/null), want 755" \
	test "$(stat -c %a "$BIN" 2>/dev/null)" = 755
sf_check "$T/same" "the installed binary differs from build/synfin" \
	cmp -s "$BIN" "$SF_ROOT/build/synfin"
# the binary, the page and the documents: nothing else under DESTDIR
want="./usr/sbin/synfin ./usr/share/doc/synfin/detectors.md ./usr/share/doc/synfin/schema.md ./usr/share/man/man8/synfin.8 "
got=$(cd "$DEST" && find . -type f | sort | tr '\n' ' ')
sf_check "$T/files" "installed: $got" test "$got" = "$want"
sf_check "$T/page" "the installed manual page differs from docs/synfin.8" \
	cmp -s "$DEST/usr/share/man/man8/synfin.8" "$SF_ROOT/docs/synfin.8"
sf_check "$T/man" "man cannot show the installed page" \
	sh -c "MANPAGER=cat MANWIDTH=80 man -l '$DEST/usr/share/man/man8/synfin.8' 2>/dev/null | grep -q '^SYNOPSIS'"

# the installed copy at work, from /, with the source tree out of reach
# of any relative path
SYNFIN=$BIN
sf_setup_ns "$T/run"
cd / || { sf_fail "$T/run" "cannot cd /"; sf_done; }
sf_start "$T/run"
sf_pair "$T/run" "$SF_S4" 5091 --wait-eof --send 200 --comm sfinstsrv -- \
	--send 100 --recv 200 --close-first --comm sfinstcli
sf_wait_records 5 "$CT"
sf_synfin_stop || sf_fail "$T/stop" "the installed synfin did not exit 0 on SIGINT"
# shellcheck disable=SC2086
sf_expect "$T/run" "$(sf_records $CT)" '.role == "client"' '.comm == "sfinstcli"' \
	'.close.initiator == "local"' '.bytes_sent == 100'

make -s -C "$SF_ROOT" uninstall DESTDIR="$DEST" PREFIX=/usr >"$SF_TMP/make.out" 2>&1
left=$(cd "$DEST" && find . -type f | tr '\n' ' ')
sf_check "$T/uninstall" "still there after make uninstall: $left" test -z "$left"
sf_check "$T/uninstall_docdir" "make uninstall left $DEST/usr/share/doc/synfin" \
	test ! -e "$DEST/usr/share/doc/synfin"
sf_done
