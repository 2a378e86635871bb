#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# `make install` puts one binary under DESTDIR/PREFIX/sbin, its manual page
# and the two documents the page names, a systemd unit that runs that binary
# and a logrotate configuration, and that binary alone, run from outside
# the source tree, loads its programs and records a connection: the BPF
# object travels inside it. `make uninstall` takes them away again. (The
# service itself at work: test_service.sh.)
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
# the binary, the page, the documents, the unit and the logrotate
# configuration: nothing else under DESTDIR
want="./etc/logrotate.d/synfin ./usr/lib/systemd/system/synfin.service ./usr/sbin/synfin ./usr/share/doc/synfin/detectors.md ./usr/share/doc/synfin/schema.md ./usr/share/man/man8/synfin.8 "
got=$(cd "$DEST" && find . -type f | sort | tr '\n' ' ')
sf_check "$T/files" "installed: $got" test "$got" = "$want"
sf_check "$T/page" "the installed manual page differs from docs/synfin.8" \
	cmp -s "$DEST/usr/share/man/man8/synfin.8" "$SF_ROOT/docs/synfin.8"
sf_check "$T/man" "man cannot show the installed page" \
	sh -c "MANPAGER=cat MANWIDTH=80 man -l '$DEST/usr/share/man/man8/synfin.8' 2>/dev/null | grep -q '^SYNOPSIS'"

# the unit runs the binary where PREFIX put it, not where DESTDIR did
UNIT=$DEST/usr/lib/systemd/system/synfin.service
sf_check "$T/unit_exec" "the installed unit runs: $(grep '^ExecStart=' "$UNIT")" \
	grep -q '^ExecStart=/usr/sbin/synfin ' "$UNIT"
sf_check "$T/unit_template" "the installed unit keeps a @...@ placeholder" \
	sh -c "! grep -q '@[A-Z]*@' '$UNIT'"
# systemd-analyze verify checks that ExecStart's binary exists on this
# host, which one under DESTDIR does not: the same unit is installed again
# with PREFIX a directory here, where its ExecStart names a binary that
# does exist. Any complaint fails (an unknown key or a bad value is only a
# warning to it); --man=no: the page is not installed on this host.
if command -v systemd-analyze >/dev/null; then
	PFX=$SF_TMP/prefix
	make -s -C "$SF_ROOT" install PREFIX="$PFX" >"$SF_TMP/make.out" 2>&1 ||
		sf_fail "$T/verify" "make install PREFIX=$PFX failed: $(tail -n 3 "$SF_TMP/make.out" | tr '\n' ' ')"
	PUNIT=$PFX/lib/systemd/system/synfin.service
	sf_check "$T/verify_same" "the unit installed under PREFIX=$PFX differs from DESTDIR's by more than the path" \
		sh -c "sed 's|^ExecStart=$PFX/sbin/|ExecStart=/usr/sbin/|' '$PUNIT' | cmp -s - '$UNIT'"
	# unit_ok FILE: verify exits 0 and says nothing
	unit_ok() { systemd-analyze verify --man=no "$1" >"$SF_TMP/verify.out" 2>&1 && [ ! -s "$SF_TMP/verify.out" ]; }
	if unit_ok "$PUNIT"; then
		sf_pass "$T/verify"
	else
		sf_fail "$T/verify" "systemd-analyze verify: $(head -c 300 "$SF_TMP/verify.out" | tr '\n' ' ')"
	fi
	# and the same check sees a mistake
	mkdir -p "$SF_TMP/broken"
	sed 's/^ExecStart=/ExecStrat=/' "$PUNIT" >"$SF_TMP/broken/synfin.service"
	if unit_ok "$SF_TMP/broken/synfin.service"; then
		sf_fail "$T/verify_catches" "systemd-analyze verify passed a unit with ExecStrat= for ExecStart="
	else
		sf_pass "$T/verify_catches"
	fi
else
	sf_skip "$T/verify" "no systemd-analyze"
fi

# logrotate reads the installed configuration without an error (in debug
# mode it only says what it would do; its state file stays here)
LR=$DEST/etc/logrotate.d/synfin
sf_check "$T/logrotate_same" "the installed logrotate configuration differs from packaging/synfin.logrotate" \
	cmp -s "$LR" "$SF_ROOT/packaging/synfin.logrotate"
if command -v logrotate >/dev/null; then
	logrotate -d -s "$SF_TMP/logrotate.state" "$LR" >"$SF_TMP/logrotate.out" 2>&1
	rc=$?
	sf_check "$T/logrotate" "logrotate -d exited $rc: $(grep -m 3 -i 'error' "$SF_TMP/logrotate.out" | tr '\n' ' ')" \
		sh -c "[ $rc = 0 ] && ! grep -qi '^error' '$SF_TMP/logrotate.out'"
else
	sf_skip "$T/logrotate" "logrotate not installed (make deps)"
fi

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
