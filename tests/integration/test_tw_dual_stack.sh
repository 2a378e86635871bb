#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# TIME_WAIT toward one IPv4 destination from dual-stack sockets (AF_INET6
# with ::ffff:a.b.c.d, as a JVM's or a Go program's clients have) and from
# AF_INET ones (curl's) share that destination's ports: one client-side
# group, keyed as IPv4, every tw sock counted, whether synfin counts them
# itself (the default) or the census walks them (--no-timewait). They used
# to be two groups of half the count each, and the timewait_buildup alert
# judged each half. Under -6 the dual-stack socks' group still shows.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=tw_dual_stack
PORT=5731
N=3
sf_setup_ns "$T"

# three live views of the client namespace
start_top()
{
	local name=$1 pid
	shift
	"$SYNFIN" top -j -d 40 --netns "$SF_NETNS_C" "$@" >"$SF_TMP/$name.out" \
		2>"$SF_TMP/$name.err" </dev/null &
	pid=$!
	SF_PIDS+=("$pid")
	eval "PID_$name=$pid"
	sf_wait_ready "$pid" "$SF_TMP/$name.err" "synfin top ($name)" ||
		{ sf_fail "$T/$name" "synfin top did not start"; sf_done; }
}
start_top own
start_top walked --no-timewait
start_top v6 -6

sf_bg "$SF_TMP/srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$PORT" \
	--accept $((2 * N)) --wait-eof --comm sftwds --ready-file "$SF_TMP/srv.ready" \
	--timeout-ms 30000
sf_wait_file "$SF_TMP/srv.ready" || { sf_fail "$T" "server did not listen"; sf_done; }
for to in "$SF_S4" "::ffff:$SF_S4"; do
	sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$to" --port "$PORT" --repeat "$N" \
		--close-first --comm sftwdc --timeout-ms 20000 >>"$SF_TMP/cli" 2>&1 ||
		sf_fail "$T/traffic" "clients to $to: $(tail -n 2 "$SF_TMP/cli")"
done
for _ in $(seq 100); do
	[ "$(sf_ss_count "$SF_NS_C" time-wait)" = $((2 * N)) ] && break
	sleep 0.1
done
echo "  client namespace: $(ip netns exec "$SF_NS_C" ss -Htan state time-wait | awk '{print $3 " -> " $4}' | tr '\n' ' ')"
sf_check "$T/traffic" "$(sf_ss_count "$SF_NS_C" time-wait) TIME-WAIT sockets, want $((2 * N))" \
	[ "$(sf_ss_count "$SF_NS_C" time-wait)" = $((2 * N)) ]

# groups NAME: the newest stats record's client-side groups of this port
groups()
{
	jq -c --argjson p "$PORT" 'select(.type == "stats") |
		[.time_wait[] | select(.side == "client" and .port == $p) |
		{addr, count}]' "$SF_TMP/$1.out" 2>/dev/null | tail -n 1
}
for name in own walked v6; do
	want=$((2 * N))
	[ "$name" = v6 ] && want=$N
	ok='length == 1 and .[0].addr == $a and .[0].count == $n'
	for _ in $(seq 100); do
		jq -e --arg a "$SF_S4" --argjson n "$want" "$ok" <<<"$(groups "$name")" \
			>/dev/null 2>&1 && break
		sleep 0.1
	done
	echo "  $name: $(groups "$name")"
	if jq -e --arg a "$SF_S4" --argjson n "$want" "$ok" <<<"$(groups "$name")" >/dev/null 2>&1; then
		sf_pass "$T/$name"
	else
		sf_fail "$T/$name" "want one group $SF_S4:$PORT of $want: $(groups "$name")"
	fi
done

for name in own walked v6; do
	pid=$(eval echo "\$PID_$name")
	kill -INT "$pid" 2>/dev/null
	wait "$pid" || sf_fail "$T/$name/exit" "synfin top exited $?: $(tail -n 2 "$SF_TMP/$name.err")"
done
sf_done
