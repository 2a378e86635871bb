#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# TIME_WAIT build-up detector, both sides, two synfin instances at once:
#  b. the server closes first (400 connections): the server namespace holds
#     400 TIME_WAIT socks of one listener. Instance "count" (--tw-count 300)
#     raises timewait_buildup side server for that listener; instance "dflt"
#     (default thresholds: 8192, or half of tcp_max_tw_buckets) does not.
#  a. the client closes first (700 connections) with the client namespace's
#     ephemeral range narrowed to 1000 ports (40000-40999): 70% of the range
#     sits in TIME_WAIT toward one destination. Instance "dflt" (--tw-ports
#     50) raises timewait_buildup side client for that destination, naming
#     the client process, and so does instance "events" (--events: the
#     old build named no process there).
#  c. b again (400 connections to another listener), seen by an instance
#     "busy" (--tw-count 300) that shares its CPU, at nice 19, with a
#     busy loop: the census walks take many times their CPU time in wall
#     time (here 5-8 ms of CPU in 500 ms), and its budget is CPU.
#     Budgeted by wall time, the TIME_WAIT count slid 25 s behind.
# b and c run first, while the client's range is still the default one:
# with the narrow range, client ports come round again and their SYNs
# recycle the server's TIME_WAIT socks of b.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=tw_buildup
PA=5300
PB=5301
PC=5302
NA=700
NB=400
sf_setup_ns "$T"
start()
{
	local name=$1
	shift
	SF_OUT=$SF_TMP/$name.out
	SF_ERR=$SF_TMP/$name.err
	"${START_WRAP[@]}" "$SYNFIN" -j "$@" 2>"$SF_ERR" \
		> >(grep -E --line-buffered '"type":"alert"' >"$SF_OUT") &
	SF_PIDS+=("$!")
	eval "PID_$name=$!"
	sf_wait_ready "$!" "$SF_ERR" "synfin $name" ||
		{ sf_fail "$T/$name" "synfin did not start: $(head -n 3 "$SF_ERR" | tr '\n' ' ')"; sf_done; }
}
START_WRAP=()
start dflt
start count --tw-count 300
start events --events
# the CPU "busy" shares with a busy loop: the last one
BUSY_CPU=$(( $(nproc) - 1 ))
START_WRAP=(taskset -c "$BUSY_CPU")
start busy --tw-count 300
# niced once it runs: its start-up at nice 19 beside busy CPUs is slow
mapfile -t busy_tids < <(ls "/proc/$(eval echo "\$PID_busy")/task")
renice -n 19 -p "${busy_tids[@]}" >/dev/null
stop()
{
	local pid
	pid=$(eval echo "\$PID_$1")
	kill -INT "$pid" 2>/dev/null
	sf_wait_pid "$pid" 10 || sf_fail "$T/$1/stop" "synfin $1 did not exit 0 on SIGINT"
}

# --- b. server closes first ---------------------------------------------------
sf_conns b "$PB" "$NB" --close-first --wait-eof sftwb
twb=$(sf_ss_count "$SF_NS_S" time-wait "( sport = :$PB )")
echo "  b: server ns TIME-WAIT from :$PB: $twb (ss)"
sf_check "$T/b/traffic" "only $twb TIME-WAIT socks for :$PB in the server namespace (want $NB)" \
	[ "$twb" -ge $((NB * 95 / 100)) ]
cond='.kind == "timewait_buildup" and .netns == $ns and .side == "server" and .listener.port == $port'
sel=(--argjson ns "$SF_NETNS_S" --argjson port "$PB")
sf_wait_alert 10 "$SF_TMP/count.out" "$cond and .state == \"start\"" "${sel[@]}"
SF_JQ_ARGS=("${sel[@]}" --arg addr "$SF_S4" --argjson t1 "$SF_CONNS_T1")
rec=$(sf_alerts "$SF_TMP/count.out" "$cond and .state == \"start\"" "${sel[@]}")
sf_expect_first "$T/b/start" "timewait_buildup start side server for $SF_S4:$PB (--tw-count 300)" \
	"$rec" '.listener.addr == $addr' '.figures.count >= 300' '(.fired | length) >= 1'
sf_expect_first "$T/b/prompt" "timewait_buildup start side server" "$rec" '(.ts | sf_ts) <= $t1 + 6'
[ -n "$rec" ] && echo "  b start: $(head -n 1 <<<"$rec")"
rec=$(sf_alerts "$SF_TMP/dflt.out" '.kind == "timewait_buildup" and .netns == $ns' "${sel[@]}")
sf_check "$T/b/default-quiet" "400 TIME_WAIT fired at default thresholds: $(head -n 1 <<<"$rec")" \
	[ -z "$rec" ]
sf_conns_release b

# --- c. b again, while synfin's CPU is busy -------------------------------------
taskset -c "$BUSY_CPU" timeout 60 sh -c 'while :; do :; done' &
SF_PIDS+=("$!")
HOG=$!
sleep 2.5	# a census walk or two on the busy CPU before the TIME_WAIT comes
sf_conns c "$PC" "$NB" --close-first --wait-eof sftwc
cond='.kind == "timewait_buildup" and .netns == $ns and .side == "server" and .listener.port == $port'
sel=(--argjson ns "$SF_NETNS_S" --argjson port "$PC")
sf_wait_alert 15 "$SF_TMP/busy.out" "$cond and .state == \"start\"" "${sel[@]}"
kill "$HOG" 2>/dev/null
SF_JQ_ARGS=("${sel[@]}" --argjson t1 "$SF_CONNS_T1")
rec=$(sf_alerts "$SF_TMP/busy.out" "$cond and .state == \"start\"" "${sel[@]}")
sf_expect_first "$T/c/prompt" "timewait_buildup start side server for :$PC from a synfin on a busy CPU" \
	"$rec" '.figures.count >= 300' '(.ts | sf_ts) <= $t1 + 6'
[ -n "$rec" ] && echo "  c start: $(head -n 1 <<<"$rec")"
SF_JQ_ARGS=()
sf_conns_release c

# --- a. client closes first, 1000 ephemeral ports ---------------------------------
# A client sometimes sends its final ACK twice; the copy reaches the server
# after its socket has gone, the listener answers with a reset (a `reset`
# record of state LISTEN), and the reset would kill the client's TIME_WAIT
# sock (0-26 of 700 per run). RFC 1337 behaviour keeps them all.
sf_in "$SF_NS_C" sysctl -qw net.ipv4.ip_local_port_range="40000 40999" net.ipv4.tcp_rfc1337=1 ||
	{ sf_fail "$T/a" "cannot narrow ip_local_port_range"; sf_done; }
sf_conns a "$PA" "$NA" --wait-eof --close-first sftwa
twa=$(sf_ss_count "$SF_NS_C" time-wait "( dport = :$PA )")
echo "  a: client ns TIME-WAIT to :$PA: $twa (ss) of 1000 ports"
sf_check "$T/a/traffic" "only $twa TIME-WAIT socks toward :$PA in the client namespace (want $NA)" \
	[ "$twa" -ge $((NA * 95 / 100)) ]
cond='.kind == "timewait_buildup" and .netns == $ns and .side == "client" and .destination.port == $port'
sel=(--argjson ns "$SF_NETNS_C" --argjson port "$PA")
sf_wait_alert 10 "$SF_TMP/dflt.out" "$cond and .state == \"start\"" "${sel[@]}"
SF_JQ_ARGS=("${sel[@]}" --arg addr "$SF_S4" --argjson t1 "$SF_CONNS_T1" --argjson pid "$SF_CONNS_CLI")
rec=$(sf_alerts "$SF_TMP/dflt.out" "$cond and .state == \"start\"" "${sel[@]}")
sf_expect_first "$T/a/start" "timewait_buildup start side client toward $SF_S4:$PA (default thresholds)" \
	"$rec" '.destination.addr == $addr' '.figures.port_use >= 0.5' '.figures.count >= 500' \
	'(.fired | length) >= 1'
sf_expect_first "$T/a/owner" "timewait_buildup start side client" "$rec" \
	'.pid == $pid' '.comm == "sftwacli"'
sf_expect_first "$T/a/prompt" "timewait_buildup start side client" "$rec" '(.ts | sf_ts) <= $t1 + 6'
[ -n "$rec" ] && echo "  a start: $(head -n 1 <<<"$rec")"
# its own census runs on its own tick: up to an interval after dflt's
sf_wait_alert 10 "$SF_TMP/events.out" "$cond and .state == \"start\"" "${sel[@]}"
rec=$(sf_alerts "$SF_TMP/events.out" "$cond and .state == \"start\"" "${sel[@]}")
sf_expect_first "$T/a/events-owner" "timewait_buildup start side client, --events" "$rec" \
	'.pid == $pid' '.comm == "sftwacli"'
SF_JQ_ARGS=()
sf_conns_release a

stop dflt
stop count
stop events
stop busy
sf_done
