#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# CLOSE_WAIT leak detector: a server accepts 12 connections and never
# closes them while its clients close theirs, so the server process holds
# 12 CLOSE_WAIT sockets. With --cw-age 2 --cw-count 5, synfin must start a
# close_wait_leak alert naming that process (pid, comm) with count >= 10;
# when the process is killed (its sockets close), the alert must end.
# Twice: tp_btf, where the census finds the sockets in CLOSE_WAIT by their
# storage (sock_diag), and --classic, where a kernel map lists them. Classic
# mode has no listener's owner to clone into a child, and the peer's FIN can
# come before accept(), so its map may name no process; the census finds
# each socket by its tuple and names the process holding it.
# A third case: the connections are made before synfin starts and only
# closed by their clients after, so the kernel's storage of them knows no
# owner; the alert must still name the server, from /proc at the start, and
# -c must find it.
# Two more: the process holding the sockets is not the one the kernel
# recorded (an acceptor that hands them to a child and exits; a pre-fork
# worker with the accept() hook off); the alert must name the holder. In
# each mode: the marks in storage, and the sockets known by their tuple
# (--events: the engine's; --classic: the kernel map's), over IPv6 too.
# And two processes holding the same sockets (a server that forks after
# accepting, both keeping them): the alert names one and the other as
# also_held_by, in each mode and over IPv6 too, and drops the other once
# it exits, though the server never reaps it (a zombie).
# And a server that forks a child per connection and keeps its own copies:
# every socket has its own other holder, and the alert counts them
# (other_holders), naming the lowest, in each mode.
# And three workers forked after the accepts, each inheriting every
# socket: one is named on every socket, and other_holders counts all three
# (the most any one socket has), by the marks and by the tuple (--events,
# --classic).
# timeout: 360
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

sf_setup_ns close_wait_leak

# leak_traffic T PORT ADDR N [SERVER-ARGS...]: a server that accepts N
# connections and never closes them, and N clients that close theirs
# first; the server's pid in SRV
leak_traffic()
{
	local t=$1 port=$2 addr=$3 n=$4
	shift 4
	sf_bg "$SF_TMP/srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$addr" --port "$port" --accept "$n" \
		--no-close --close-first "$@" --hold-listener-file "$SF_TMP/never" \
		--ready-file "$SF_TMP/srv.ready" --timeout-ms 60000
	SRV=$SF_LAST_PID
	sf_wait_file "$SF_TMP/srv.ready" || { sf_fail "$t" "server did not listen"; sf_done; }
	sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$addr" --port "$port" --repeat "$n" --close-first \
		--timeout-ms 15000 >"$SF_TMP/cli" 2>"$SF_TMP/cli.err"
	grep -q "^result=done count=$n connected=$n " "$SF_TMP/cli" ||
		{ sf_fail "$t" "clients: $(tail -n 2 "$SF_TMP/cli") $(cat "$SF_TMP/cli.err")"; sf_done; }
}

# leak_case MODE PORT [SYNFIN-ARGS...]
leak_case()
{
	local T=close_wait_leak/$1 PORT=$2 N=12 SRV cw t0 t1 rec cond sel named least states
	shift 2
	sf_start_grep "$T" '"type":"alert"' --cw-age 2 --cw-count 5 "$@"

	leak_traffic "$T" "$PORT" "$SF_S4" "$N" --comm sfleak
	t0=$(sf_now_s)
	# bounded wait until the server has accepted them all (one line each)
	sf_wait_accepted "$SF_TMP/srv" "$N"
	cw=$(ip netns exec "$SF_NS_S" ss -Htnp state close-wait "( sport = :$PORT )" | grep -c "pid=$SRV,")
	echo "  server pid $SRV holds $cw CLOSE-WAIT sockets (ss)"
	sf_check "$T/traffic" "the server holds $cw CLOSE-WAIT sockets (want $N)" [ "$cw" = "$N" ]

	cond='.kind == "close_wait_leak" and .pid == $pid'
	named='.comm == "sfleak"'
	least=10
	sel=(--argjson pid "$SRV" --argjson ns "$SF_NETNS_S")
	# stale after 2 s, then 2 intervals of 1 s: expect the start at ~4 s
	sf_wait_alert 12 "$SF_OUT" "$cond and .state == \"start\"" "${sel[@]}"
	rec=$(sf_alerts "$SF_OUT" "$cond and .state == \"start\"" "${sel[@]}")
	SF_JQ_ARGS=("${sel[@]}" --argjson t0 "$t0" --argjson least "$least")
	sf_expect_first "$T/start" "close_wait_leak start for pid $SRV" "$rec" \
		"$named" '.netns == $ns' '.figures.count >= $least' '.figures.old >= 5' \
		'.figures.oldest_s >= 2' '(.ts | sf_ts) >= $t0 + 2 and (.ts | sf_ts) <= $t0 + 8' \
		'(.fired | length) >= 1'
	[ -n "$rec" ] && echo "  start: $(head -n 1 <<<"$rec")"

	# the leaking process dies: its sockets are closed (FIN), the leak is over
	kill -KILL "$SRV"
	{ sf_wait_pid "$SRV" 5; } 2>/dev/null
	t1=$(sf_now_s)
	sf_wait_alert 10 "$SF_OUT" "$cond and .state == \"end\"" "${sel[@]}"
	rec=$(sf_alerts "$SF_OUT" "$cond and .state == \"end\"" "${sel[@]}")
	SF_JQ_ARGS=("${sel[@]}" --argjson t1 "$t1")
	sf_expect_first "$T/end" "close_wait_leak end for pid $SRV within 10 s of its death" "$rec" \
		"$named" '(.ts | sf_ts) >= $t1 and (.ts | sf_ts) <= $t1 + 10'
	[ -n "$rec" ] && echo "  end: $(head -n 1 <<<"$rec")"
	SF_JQ_ARGS=()
	# every alert of the namespace names the server, none its own
	# record's no one (classic's map, for a FIN before accept())
	sf_check "$T/only" "every close_wait_leak alert names $SRV" \
		[ -z "$(sf_alerts "$SF_OUT" '.kind == "close_wait_leak" and .netns == $ns and .pid != $pid' \
			"${sel[@]}")" ]
	# one start and one end per alert
	states=$(sf_alerts "$SF_OUT" "$cond" "${sel[@]}" |
		jq -rs 'group_by(.pid) | map("pid \(.[0].pid): " + (map(.state) | join(" "))) | join("; ")')
	sf_check "$T/once" "start/end records: $states" \
		[ "$(sf_alerts "$SF_OUT" "$cond" "${sel[@]}" |
			jq -s 'group_by(.pid) | length > 0 and all(map(.state) == ["start", "end"])')" = true ]
	# an episode's start and end give the same since, to the nanosecond
	# (a consumer joins them on it); the wall clock's offset, read anew
	# each second, used to move it by some ns
	sinces=$(sf_alerts "$SF_OUT" "$cond" "${sel[@]}" |
		jq -rs 'group_by(.pid) | map(map(.since) | join(" ")) | join("; ")')
	sf_check "$T/since" "since in start and end: $sinces" \
		[ "$(sf_alerts "$SF_OUT" "$cond" "${sel[@]}" |
			jq -s 'group_by(.pid) | length > 0 and all(map(.since) | unique | length == 1)')" = true ]
	sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"
	rm -f "$SF_TMP/srv.ready" "$SF_TMP/srv"
}

leak_case tp_btf 5400
leak_case classic 5401 --classic

# The kernel's record of a socket's process need not be the process that
# holds it: an acceptor that hands its sockets to a child and exits, as a
# server that daemonizes after accepting (handoff); or, without the
# accept() hook, a pre-fork server whose master listens and whose worker
# accepts (worker: the record is the master's). The leak is the holder's.
# holder_case NAME PORT handoff|worker [SYNFIN-ARGS...]; the server's
# address is $CW_ADDR, else $SF_S4; the alerts are waited for $CW_WAIT
# seconds, else 12
holder_case()
{
	local T=close_wait_leak/$1 PORT=$2 how=$3 N=12 SRV HELD cw rec cond S=${CW_ADDR:-$SF_S4}
	local wait_s=${CW_WAIT:-12}
	local -a fork_args=(--handoff-comm sfheld)
	shift 3
	[ "$how" = worker ] && fork_args=(--worker-comm sfheld)
	sf_start_grep "$T" '"type":"alert"' --cw-age 2 --cw-count 5 -v "$@"

	leak_traffic "$T" "$PORT" "$S" "$N" --comm sfacc "${fork_args[@]}"
	if [ "$how" = worker ]; then
		sf_wait_accepted "$SF_TMP/srv" "$N"
		HELD=$(sed -n 's/^result=accepted .* pid=\([0-9]*\)$/\1/p' "$SF_TMP/srv" | sort -u)
	else
		sf_wait_pid "$SRV" 10
		# the child says its pid after the parent has gone: a moment
		# later on a busy host (bounded)
		for _ in $(seq 50); do
			HELD=$(sed -n 's/^result=handoff pid=\([0-9]*\)$/\1/p' "$SF_TMP/srv")
			[ -n "$HELD" ] && break
			sleep 0.1
		done
	fi
	if ! [[ "$HELD" =~ ^[0-9]+$ ]] || [ "$HELD" = "$SRV" ]; then
		sf_fail "$T" "no other process holds the sockets: $(tail -n 2 "$SF_TMP/srv")"
		sf_done
	fi
	cw=$(ip netns exec "$SF_NS_S" ss -Htnp state close-wait "( sport = :$PORT )" | grep -c "pid=$HELD,")
	echo "  $SRV accepted or listened; $HELD holds $cw CLOSE-WAIT sockets (ss)"
	sf_check "$T/traffic" "the holder has $cw CLOSE-WAIT sockets (want $N)" [ "$cw" = "$N" ]

	cond='.kind == "close_wait_leak" and .netns == $ns'
	sf_wait_alert "$wait_s" "$SF_OUT" "$cond and .pid == \$held and .state == \"start\"" \
		--argjson ns "$SF_NETNS_S" --argjson held "$HELD"
	rec=$(sf_alerts "$SF_OUT" "$cond" --argjson ns "$SF_NETNS_S")
	SF_JQ_ARGS=(--argjson held "$HELD")
	sf_expect_first "$T/start" "close_wait_leak start naming the holder $HELD, not $SRV" \
		"$rec" '.state == "start"' '.pid == $held' '.comm == "sfheld"' '.figures.count >= 10'
	SF_JQ_ARGS=()
	[ -n "$rec" ] && echo "  alerts: $(tr '\n' ' ' <<<"$rec")"
	sf_check "$T/not_recorded" "no close_wait_leak alert names $SRV" \
		[ -z "$(sf_alerts "$SF_OUT" "$cond and .pid == \$srv" --argjson ns "$SF_NETNS_S" \
			--argjson srv "$SRV")" ]

	kill -KILL "$HELD"
	sf_wait_alert "$wait_s" "$SF_OUT" "$cond and .pid == \$held and .state == \"end\"" \
		--argjson ns "$SF_NETNS_S" --argjson held "$HELD"
	sf_check "$T/end" "the alert ended once the holder died" \
		[ -n "$(sf_alerts "$SF_OUT" "$cond and .pid == \$held and .state == \"end\"" \
			--argjson ns "$SF_NETNS_S" --argjson held "$HELD")" ]
	sf_wait_pid "$SRV" 5
	sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"
	# classic's map takes the owner when the socket enters CLOSE_WAIT:
	# none for a FIN before accept(), or without the accept() hook (it has
	# no listener's owner to give a child), so nothing is held "elsewhere"
	if [[ "$*" == *--classic* ]]; then
		sf_check "$T/counted" "-v counts the sockets found by their tuple: $(grep -o '[0-9]* found by their tuple' "$SF_ERR")" \
			grep -Eq '[1-9][0-9]* found by their tuple' "$SF_ERR"
	else
		sf_check "$T/counted" "-v counts the sockets held elsewhere: $(grep -o '[0-9]* CLOSE_WAIT sockets listed as held by another[^;]*' "$SF_ERR")" \
			grep -Eq '[1-9][0-9]* CLOSE_WAIT sockets listed as held by another process' "$SF_ERR"
	fi
	rm -f "$SF_TMP/srv.ready" "$SF_TMP/srv"
}
holder_case handoff 5403 handoff
holder_case worker_no_hook 5404 worker --no-accept-hook
holder_case handoff_events 5405 handoff --events
holder_case worker_no_hook_events 5406 worker --no-accept-hook --events
holder_case handoff_classic 5407 handoff --classic
holder_case worker_no_hook_classic 5408 worker --no-accept-hook --classic
# IPv6: the tuple's 16-byte addresses, from the engine and the kernel map
CW_ADDR=$SF_S6 holder_case handoff_v6_events 5409 handoff --events
CW_ADDR=$SF_S6 holder_case handoff_v6_classic 5410 handoff --classic
# An --interval longer than the tally's least age (2 s here): the sockets
# are old enough at the first tally that sees them, before any walk could
# look for their holder, and count under the acceptor that interval; the
# alert, which needs two, must still name the holder alone
CW_WAIT=25 holder_case handoff_long_interval 5416 handoff --events --interval 5

# gone_or_zombie PID: bounded wait (5 s) until PID has exited, reaped or
# not (a zombie holds no fds)
gone_or_zombie()
{
	local n=100
	while [ "$n" -gt 0 ] && [ -e "/proc/$1" ] && [ "$(sf_proc_state "$1")" != Z ]; do
		sleep 0.05
		n=$((n - 1))
	done
}

# shared_case NAME PORT [SYNFIN-ARGS...]: the server forks after its
# accepts, and parent and child hold all the sockets; the server's
# address is $CW_ADDR, else $SF_S4
shared_case()
{
	local T=close_wait_leak/$1 PORT=$2 N=12 SRV CHILD cw rec cond named other S=${CW_ADDR:-$SF_S4}
	shift 2
	sf_start_grep "$T" '"type":"alert"' --cw-age 2 --cw-count 5 "$@"

	leak_traffic "$T" "$PORT" "$S" "$N" --comm sfpar --share-comm sfkid
	sf_wait_accepted "$SF_TMP/srv" "$N"
	for _ in $(seq 50); do
		CHILD=$(sed -n 's/^result=shared pid=\([0-9]*\)$/\1/p' "$SF_TMP/srv")
		[ -n "$CHILD" ] && break
		sleep 0.1
	done
	if ! [[ "$CHILD" =~ ^[0-9]+$ ]]; then
		sf_fail "$T" "the server forked no child: $(tail -n 2 "$SF_TMP/srv")"
		sf_done
	fi
	cw=$(ip netns exec "$SF_NS_S" ss -Htnp state close-wait "( sport = :$PORT )" |
		grep "pid=$SRV," | grep -c "pid=$CHILD,")
	echo "  $SRV and its child $CHILD both hold $cw CLOSE-WAIT sockets (ss)"
	sf_check "$T/traffic" "both hold $cw CLOSE-WAIT sockets (want $N)" [ "$cw" = "$N" ]

	cond='.kind == "close_wait_leak" and .netns == $ns'
	sf_wait_alert 12 "$SF_OUT" "$cond and .state == \"start\"" --argjson ns "$SF_NETNS_S"
	rec=$(sf_alerts "$SF_OUT" "$cond" --argjson ns "$SF_NETNS_S")
	SF_JQ_ARGS=(--argjson srv "$SRV" --argjson kid "$CHILD")
	# /proc's order decides which is named first (the parent, unless
	# pids wrapped between them)
	sf_expect_first "$T/start" "close_wait_leak start naming both $SRV and $CHILD" "$rec" \
		'.state == "start"' '[.pid, .also_held_by.pid] | sort == ([$srv, $kid] | sort)' \
		'[.comm, .also_held_by.comm] | sort == ["sfkid", "sfpar"]' \
		'.figures.count >= 10' '.figures.shared >= 10' '.figures.shared <= .figures.count' \
		'.figures.other_holders == 1'
	SF_JQ_ARGS=()
	[ -n "$rec" ] && echo "  alerts: $(tr '\n' ' ' <<<"$rec")"
	named=$(jq -r 'select(.state == "start") | .pid' <<<"$rec" | head -n 1)
	[[ "$named" =~ ^[0-9]+$ ]] || named=$SRV
	other=$CHILD
	[ "$named" = "$CHILD" ] && other=$SRV

	# the other exits (the child stays a zombie: the server never reaps
	# it): the one named holds them alone, the same leak; its end (once
	# the named one dies) carries the last interval observed
	kill -KILL "$other"
	gone_or_zombie "$other"
	sleep 3
	kill -KILL "$named"
	{ sf_wait_pid "$named" 5; } 2>/dev/null
	sf_wait_alert 10 "$SF_OUT" "$cond and .state == \"end\"" --argjson ns "$SF_NETNS_S"
	rec=$(sf_alerts "$SF_OUT" "$cond" --argjson ns "$SF_NETNS_S")
	SF_JQ_ARGS=(--argjson named "$named")
	sf_expect_first "$T/alone" "close_wait_leak end" "$(grep '"state":"end"' <<<"$rec")" \
		'.pid == $named' '.also_held_by == null' '.figures.shared == 0' \
		'.figures.other_holders == 0' \
		'.figures.count >= 10'
	SF_JQ_ARGS=()
	sf_check "$T/once" "one start and one end: $(jq -r .state <<<"$rec" | tr '\n' ' ')" \
		[ "$(jq -s 'map(.state) == ["start", "end"]' <<<"$rec")" = true ]
	sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"
	rm -f "$SF_TMP/srv.ready" "$SF_TMP/srv"
}
shared_case shared 5411
shared_case shared_events 5412 --events
shared_case shared_classic 5413 --classic
# IPv6: the second holder of a socket known by its 16-byte tuple
CW_ADDR=$SF_S6 shared_case shared_v6_events 5414 --events
CW_ADDR=$SF_S6 shared_case shared_v6_classic 5415 --classic

# wait_kids WORD N: bounded wait for N "result=WORD pid=P" lines from the
# server; their pids in the caller's kids
wait_kids()
{
	for _ in $(seq 50); do
		kids=$(sed -n "s/^result=$1 pid=\([0-9]*\)\$/\1/p" "$SF_TMP/srv")
		[ "$(grep -c . <<<"$kids")" = "$2" ] && break
		sleep 0.1
	done
}

# fork_each_case NAME PORT [SYNFIN-ARGS...]: the server forks a child per
# connection, each holding its one socket, and keeps them all itself
fork_each_case()
{
	local T=close_wait_leak/$1 PORT=$2 N=8 SRV kids least wrapped=false rec cond pid cw
	shift 2
	sf_start_grep "$T" '"type":"alert"' --cw-age 2 --cw-count 5 "$@"

	leak_traffic "$T" "$PORT" "$SF_S4" "$N" --comm sfpar --fork-each-comm sfeach
	sf_wait_accepted "$SF_TMP/srv" "$N"
	wait_kids forked "$N"
	cw=$(ip netns exec "$SF_NS_S" ss -Htnp state close-wait "( sport = :$PORT )" |
		grep "pid=$SRV," | grep -c 'sfeach')
	echo "  $SRV and $(grep -c . <<<"$kids") children hold $cw CLOSE-WAIT sockets (ss)"
	sf_check "$T/traffic" "the server and a child each hold $cw sockets (want $N)" [ "$cw" = "$N" ]
	least=$(sort -n <<<"$kids" | head -n 1)
	# the first holder /proc lists is the one a socket is counted under:
	# the parent, unless pids wrapped between it and a child
	for pid in $kids; do [ "$pid" -lt "$SRV" ] && wrapped=true; done

	cond='.kind == "close_wait_leak" and .pid == $srv'
	sf_wait_alert 12 "$SF_OUT" "$cond and .state == \"start\"" --argjson srv "$SRV"
	rec=$(sf_alerts "$SF_OUT" "$cond and .state == \"start\"" --argjson srv "$SRV")
	SF_JQ_ARGS=(--argjson srv "$SRV")
	sf_expect_first "$T/start" "close_wait_leak start for $SRV" "$rec" \
		'.figures.shared >= 1' '.figures.other_holders == .figures.shared' \
		'.also_held_by.comm == "sfeach"'
	SF_JQ_ARGS=()
	# more intervals: every socket's holders found. Then the parent dies:
	# each child holds one, too few for an alert, and the parent's ends
	# with the figures of its last interval
	sleep 3
	kill -KILL "$SRV"
	{ sf_wait_pid "$SRV" 5; } 2>/dev/null
	sf_wait_alert 10 "$SF_OUT" "$cond and .state == \"end\"" --argjson srv "$SRV"
	rec=$(sf_alerts "$SF_OUT" "$cond and .state == \"end\"" --argjson srv "$SRV")
	[ -n "$rec" ] && echo "  end: $(head -n 1 <<<"$rec")"
	SF_JQ_ARGS=(--argjson srv "$SRV" --argjson least "$least" --argjson n "$N")
	if $wrapped; then
		echo "  pids wrapped between the server and a child: the counts only"
		sf_expect_first "$T/end" "close_wait_leak end for $SRV" "$rec" \
			'.figures.other_holders == .figures.shared'
	else
		sf_expect_first "$T/end" "close_wait_leak end for $SRV" "$rec" \
			'.figures.count == $n' '.figures.shared == $n' '.figures.other_holders == $n' \
			'.also_held_by.pid == $least' '.also_held_by.comm == "sfeach"'
	fi
	SF_JQ_ARGS=()
	for pid in $kids; do kill -KILL "$pid" 2>/dev/null; done
	sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"
	rm -f "$SF_TMP/srv.ready" "$SF_TMP/srv"
}
fork_each_case fork_each 5417
fork_each_case fork_each_events 5418 --events
fork_each_case fork_each_classic 5419 --classic

# workers_case NAME PORT [SYNFIN-ARGS...]: after the accepts the server
# forks K workers, each inheriting every socket (as one that forks its
# workers late, or spawns helpers without close-on-exec, leaves them)
workers_case()
{
	local T=close_wait_leak/$1 PORT=$2 N=8 K=3 SRV kids rec cond pid held
	shift 2
	sf_start_grep "$T" '"type":"alert"' --cw-age 2 --cw-count 5 "$@"

	leak_traffic "$T" "$PORT" "$SF_S4" "$N" --comm sfpar --share-comm sfwrk --share-count "$K"
	sf_wait_accepted "$SF_TMP/srv" "$N"
	wait_kids shared "$K"
	# every socket held by the server and each worker, as ss -p lists them
	held=$(ip netns exec "$SF_NS_S" ss -Htnp state close-wait "( sport = :$PORT )" |
		awk -v n="$((K + 1))" '{ c = gsub(/pid=/, "&"); if (c == n) m++ } END { print m + 0 }')
	echo "  $SRV and workers $(tr '\n' ' ' <<<"$kids")hold $held CLOSE-WAIT sockets, each held by $((K + 1)) (ss)"
	sf_check "$T/traffic" "$held sockets held by the server and $K workers each (want $N)" \
		[ "$held" = "$N" ]

	cond='.kind == "close_wait_leak" and .netns == $ns'
	sf_wait_alert 12 "$SF_OUT" "$cond and .state == \"start\"" --argjson ns "$SF_NETNS_S"
	# a scan that finds a holder counts every other: from the first alert
	rec=$(sf_alerts "$SF_OUT" "$cond and .state == \"start\"" --argjson ns "$SF_NETNS_S")
	[ -n "$rec" ] && echo "  start: $(head -n 1 <<<"$rec")"
	SF_JQ_ARGS=(--argjson k "$K")
	sf_expect_first "$T/start" "close_wait_leak start counting $K other holders" "$rec" \
		'.figures.count == 8' '.figures.shared == 8' '.figures.other_holders == $k' \
		'[.comm, .also_held_by.comm] | all(. == "sfpar" or . == "sfwrk")' \
		'.also_held_by.comm == "sfwrk" or .comm == "sfwrk"'
	SF_JQ_ARGS=()
	for pid in $kids "$SRV"; do kill -KILL "$pid" 2>/dev/null; done
	{ sf_wait_pid "$SRV" 5; } 2>/dev/null
	sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"
	rm -f "$SF_TMP/srv.ready" "$SF_TMP/srv"
}
workers_case workers 5420
workers_case workers_events 5421 --events
workers_case workers_classic 5422 --classic

seeded_case()
{
	local T=close_wait_leak/seeded PORT=5402 N=6 SRV i cond rec
	local -a clis=()

	sf_bg "$SF_TMP/srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$PORT" --accept "$N" \
		--no-close --close-first --comm sfleak2 --hold-listener-file "$SF_TMP/never" \
		--ready-file "$SF_TMP/srv.ready" --timeout-ms 60000
	SRV=$SF_LAST_PID
	sf_wait_file "$SF_TMP/srv.ready" || { sf_fail "$T" "server did not listen"; return; }
	for i in $(seq 1 "$N"); do
		sf_bg "$SF_TMP/cli$i" "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$PORT" \
			--close-first --hold-until-file "$SF_TMP/release" \
			--ready-file "$SF_TMP/cli$i.ready" --timeout-ms 30000
		clis+=("$SF_LAST_PID")
		sf_wait_file "$SF_TMP/cli$i.ready" || { sf_fail "$T" "client $i did not connect"; return; }
	done
	sf_wait_accepted "$SF_TMP/srv" "$N"
	# open before synfin: seeded, with the owner /proc shows
	sf_start_grep "$T" '"type":"alert"' --cw-age 2 --cw-count 5 -c sfleak2
	touch "$SF_TMP/release"
	for i in "${clis[@]}"; do sf_wait_pid "$i" 10; done
	cond='.kind == "close_wait_leak" and .netns == $ns'
	sf_wait_alert 12 "$SF_OUT" "$cond and .state == \"start\"" --argjson ns "$SF_NETNS_S"
	rec=$(sf_alerts "$SF_OUT" "$cond and .state == \"start\"" --argjson ns "$SF_NETNS_S")
	SF_JQ_ARGS=(--argjson pid "$SRV")
	sf_expect_first "$T/start" "close_wait_leak start under -c sfleak2" "$rec" \
		'.pid == $pid' '.comm == "sfleak2"' '.figures.count == 6' '.figures.old >= 5'
	SF_JQ_ARGS=()
	[ -n "$rec" ] && echo "  start: $(head -n 1 <<<"$rec")"
	kill -KILL "$SRV"
	{ sf_wait_pid "$SRV" 5; } 2>/dev/null
	sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"
}
seeded_case
sf_done
