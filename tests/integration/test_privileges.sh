#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Without privileges synfin exits 1 with one line naming what it needs;
# bad options exit 2 with one line naming the option, before any privilege
# check (so they are run unprivileged too).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

T=privileges
if [ ! -x "$SYNFIN" ]; then
	sf_skip "$T" "$SYNFIN not built"
	sf_done
fi

# unpriv CMD...: run CMD as nobody when we are root; as ourselves when we
# hold no capability at all; otherwise there is no way to be unprivileged.
UNPRIV=()
if [ "$(id -u)" = 0 ]; then
	if command -v setpriv >/dev/null; then
		UNPRIV=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
	elif command -v runuser >/dev/null; then
		UNPRIV=(runuser -u "$(id -nu 65534)" --)
	fi
elif [ "$(awk '/^CapEff:/ { print $2 }' /proc/self/status)" != 0000000000000000 ]; then
	UNPRIV=()
else
	UNPRIV=(env)
fi
if [ "${#UNPRIV[@]}" = 0 ]; then
	sf_skip "$T" "cannot run unprivileged here (no setpriv/runuser, or capabilities held)"
	sf_done
fi

# expect_exit NAME STATUS PATTERN ARGS...: synfin ARGS, run unprivileged,
# exits STATUS with nothing on stdout and exactly one stderr line matching
# every |-separated extended regex in PATTERN.
expect_exit()
{
	local name=$1 want=$2 pat=$3 rc lines p why=
	shift 3
	timeout -k 2 10 "${UNPRIV[@]}" "$SYNFIN" "$@" </dev/null \
		>"$SF_TMP/out" 2>"$SF_TMP/err"
	rc=$?
	lines=$(grep -c '' "$SF_TMP/err")
	[ "$rc" = "$want" ] || why="exit $rc (want $want)"
	[ "$lines" = 1 ] || why="${why:+$why; }$lines stderr lines (want 1)"
	[ -s "$SF_TMP/out" ] && why="${why:+$why; }output on stdout"
	local IFS='|'
	for p in $pat; do
		grep -Eq -- "$p" "$SF_TMP/err" || why="${why:+$why; }stderr does not match '$p'"
	done
	if [ -z "$why" ]; then
		sf_pass "$T/$name"
	else
		sf_fail "$T/$name" "synfin $*: $why: $(head -c 300 "$SF_TMP/err" | tr '\n' ' ')"
	fi
}

expect_exit unprivileged 1 'root|CAP_BPF' -d 1
expect_exit lport-0 2 '-L|lport' -L 0
expect_exit rport-99999 2 '-D|rport' -D 99999
expect_exit ipv4-and-ipv6 2 '-4|-6' -4 -6
expect_exit ringbuf-mb-3 2 'ringbuf-mb' --ringbuf-mb 3
sf_done
