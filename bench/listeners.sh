#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# bench/listeners.sh: what the census costs synfin's process on a host of
# many listeners (`make bench-listeners`). Each trial holds N listeners in a
# namespace of its own (bench/listen) and runs `synfin -j -v --netns` on it
# for S seconds with nothing else to trace, so its CPU is the census's: the
# walks, and the matching of sockets, owners and the last walk's listeners
# to the listeners found. Prints the user and system CPU per walk for each
# N, and for a second build beside it with --compare. Needs root.

set -u
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
SYNFIN=${SYNFIN:-$BUILD/synfin}
LISTEN=${LISTEN:-$BUILD/bench/listen}
COUNTS="100 19000 60000"
SECONDS_PER=8
ROUNDS=2
COMPARE=

usage()
{
	cat <<EOF
usage: bench/listeners.sh [--counts "N1 N2 ..."] [--seconds S] [--rounds R]
                          [--compare OTHER-SYNFIN]
Defaults: --counts "$COUNTS", --seconds $SECONDS_PER, --rounds $ROUNDS (each count
at most 64512: ports from 1024). --compare runs another synfin build in each round
beside this one, alternately.
EOF
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--counts) COUNTS=${2:-}; shift 2 ;;
	--seconds) SECONDS_PER=${2:-}; shift 2 ;;
	--rounds) ROUNDS=${2:-}; shift 2 ;;
	--compare) COMPARE=${2:-}; shift 2 ;;
	*) usage ;;
	esac
done
for n in $COUNTS "$SECONDS_PER" "$ROUNDS"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "bench/listeners.sh: '$n' is not a count" >&2; exit 2; }
done
for n in $COUNTS; do
	[ "$n" -le 64512 ] || { echo "bench/listeners.sh: $n listeners: at most 64512" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "bench/listeners.sh: needs root" >&2; exit 2; }
for b in "$SYNFIN" "$LISTEN" ${COMPARE:+"$COMPARE"}; do
	[ -x "$b" ] || { echo "bench/listeners.sh: $b is not built" >&2; exit 2; }
done

NS=sfbench-listen-$$
TMP=$(mktemp -d /tmp/synfin-listeners.XXXXXX)
LISTEN_PID=
cleanup()
{
	[ -n "$LISTEN_PID" ] && kill "$LISTEN_PID" 2>/dev/null && wait "$LISTEN_PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! { ip netns add "$NS" && ip -n "$NS" link set lo up &&
	ip -n "$NS" addr add 10.77.0.1/32 dev lo; }; then
	echo "bench/listeners.sh: could not make namespace $NS" >&2
	exit 1
fi

# cpu_ms PID: user and system CPU of PID so far, in ms
cpu_ms()
{
	awk -v hz="$HZ" '{ sub(/^.*\) /, ""); printf "%d %d\n", $12 * 1000 / hz, $13 * 1000 / hz }' \
		"/proc/$1/stat"
}

# trial BINARY: runs it on the namespace; prints "USER_MS SYS_MS WALKS",
# the CPU from its ready line to its end (its start-up, the BPF load, is
# the same whatever the listeners) and the census walks it made
trial()
{
	local pid u0 s0 u1 s1 walks
	: >"$TMP/err"
	"$1" -j -v --netns "/run/netns/$NS" >/dev/null 2>"$TMP/err" </dev/null &
	pid=$!
	for _ in $(seq 300); do
		grep -q '^synfin: ready' "$TMP/err" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q '^synfin: ready' "$TMP/err"; then
		kill -INT "$pid" 2>/dev/null
		wait "$pid"
		echo "0 0 0"
		return
	fi
	read -r u0 s0 < <(cpu_ms "$pid")
	sleep "$SECONDS_PER"
	read -r u1 s1 < <(cpu_ms "$pid")
	kill -INT "$pid"
	wait "$pid"
	walks=$(sed -n 's/^synfin: census: \([0-9]*\) walks.*/\1/p' "$TMP/err")
	echo "$((u1 - u0)) $((s1 - s0)) ${walks:-0}"
}
HZ=$(getconf CLK_TCK)

printf '%-9s %-10s %5s %6s %12s %12s\n' build listeners round walks user_ms/walk sys_ms/walk
for round in $(seq "$ROUNDS"); do
	for n in $COUNTS; do
		rm -f "$TMP/ready"
		ip netns exec "$NS" "$LISTEN" --addr 10.77.0.1 --port 1024 --count "$n" \
			--seconds $(( SECONDS_PER * 3 + 30 )) --ready-file "$TMP/ready" &
		LISTEN_PID=$!
		for _ in $(seq 100); do
			[ -e "$TMP/ready" ] && break
			kill -0 "$LISTEN_PID" 2>/dev/null || break
			sleep 0.1
		done
		[ -e "$TMP/ready" ] || { echo "bench/listeners.sh: $n listeners did not open" >&2; exit 1; }
		for which in this ${COMPARE:+compare}; do
			bin=$SYNFIN
			[ "$which" = compare ] && bin=$COMPARE
			read -r user sys walks < <(trial "$bin")
			if [ "${walks:-0}" -gt 0 ]; then
				awk -v b="$which" -v n="$n" -v r="$round" -v w="$walks" -v u="$user" \
					-v s="$sys" 'BEGIN { printf "%-9s %-10s %5s %6s %12.2f %12.2f\n",
					b, n, r, w, u / w, s / w }'
			else
				echo "bench/listeners.sh: $which made no census walk: $(tail -n 2 "$TMP/err" | tr '\n' ' ')" >&2
			fi
		done
		kill "$LISTEN_PID" 2>/dev/null
		wait "$LISTEN_PID" 2>/dev/null
		LISTEN_PID=
	done
done
