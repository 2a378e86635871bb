#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A listener's owner follows the process that holds it: a server that
# listens and then daemonizes (nginx opens its listeners before it forks)
# leaves its listener to a child, and the parent /proc showed at first is
# gone. `synfin top -j`'s listener rows (and so a syn_flood alert's owner)
# must name the child once the parent has gone, not the dead parent, even
# when nobody reaps that parent (a zombie). And a SO_REUSEPORT group's
# sockets make one row.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=listener_owner
sf_setup_ns "$T"

"$SYNFIN" top -j -d 40 --netns "$SF_NETNS_S" >"$SF_TMP/top.out" 2>"$SF_TMP/top.err" </dev/null &
TOP=$!
SF_PIDS+=("$TOP")

# listener_row PORT: the newest stats record's row for that listener, or nothing
listener_row()
{
	jq -c --argjson port "$1" 'select(.type == "stats") | .listeners[] |
		select(.port == $port)' "$SF_TMP/top.out" 2>/dev/null | tail -n 1
}
# wait_row PORT COMM: bounded wait (10 s) for the row to name COMM
wait_row()
{
	local n=100
	while [ "$n" -gt 0 ]; do
		[ "$(listener_row "$1" | jq -r .comm 2>/dev/null)" = "$2" ] && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# zombie_within PID: bounded wait (5 s) until PID has exited and is not reaped
zombie_within()
{
	local n=50
	while [ "$n" -gt 0 ]; do
		[ "$(sf_proc_state "$1")" = Z ] && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# daemon_case NAME PORT reaped|unreaped: a server listens as sfdpar, then
# forks and exits, leaving the listener to its child sfdkid. Unreaped, its
# own parent never waits for it (a shell that execs into a long sleep), so
# the parent stays a zombie: kill(0) still finds it, yet it holds no fds.
daemon_case()
{
	local name=$1 port=$2 how=$3 t="$T/$1" parent child
	local drive=("$TCPDRIVE" server --bind "$SF_S4" --port "$port" --no-accept
		--comm sfdpar --daemonize-on-file "$SF_TMP/$name.daemonize" --daemon-comm sfdkid
		--hold-listener-file "$SF_TMP/$name.release" --ready-file "$SF_TMP/$name.ready"
		--timeout-ms 30000)

	if [ "$how" = reaped ]; then
		sf_bg "$SF_TMP/$name.srv" "$SF_NS_S" "${drive[@]}"
		parent=$SF_LAST_PID
	else
		sf_bg "$SF_TMP/$name.srv" "$SF_NS_S" sh -c '"$@" & echo $! >"$0"; exec sleep 30' \
			"$SF_TMP/$name.pid" "${drive[@]}"
		sf_wait_file "$SF_TMP/$name.pid" 5
		parent=$(cat "$SF_TMP/$name.pid" 2>/dev/null)
	fi
	sf_wait_file "$SF_TMP/$name.ready" || { sf_fail "$t" "server did not listen"; return; }
	if wait_row "$port" sfdpar; then
		sf_check "$t/parent" "row: $(listener_row "$port")" \
			[ "$(listener_row "$port" | jq -r .pid)" = "$parent" ]
	else
		sf_fail "$t/parent" "no row naming the listening parent: $(listener_row "$port") $(head -c 300 "$SF_TMP/top.err")"
	fi
	touch "$SF_TMP/$name.daemonize"
	if [ "$how" = reaped ]; then
		sf_wait_pid "$parent" 5 || sf_fail "$t/daemonize" "the parent did not exit"
	else
		zombie_within "$parent" || sf_fail "$t/daemonize" "the parent is not a zombie: $(cat "/proc/$parent/stat" 2>&1)"
	fi
	child=$(ip netns exec "$SF_NS_S" ss -Htlnp "( sport = :$port )" | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2)
	[ -n "$child" ] && SF_PIDS+=("$child")
	echo "  $how parent $parent exited; ss shows the listener held by pid ${child:-none}"
	if wait_row "$port" sfdkid; then
		sf_check "$t/child" "row: $(listener_row "$port"), ss: pid $child" \
			[ "$(listener_row "$port" | jq -r .pid)" = "${child:-none}" ]
	else
		sf_fail "$t/child" "still no row naming the child 10 s after the parent left: $(listener_row "$port")"
	fi
	touch "$SF_TMP/$name.release"
}

# group_case PORT: a SO_REUSEPORT group of three sockets (a server's
# workers, nginx's `reuseport`) is one endpoint, so one row: its sockets
# counted, queues summed, the fullest socket's queue kept. Five clients
# connect and close; nothing accepts, so the five children wait in the
# group's queues, spread over its sockets by the kernel's hash.
group_case()
{
	local port=$1 t="$T/reuseport" rows n=100 want
	want='length == 1 and .[0].sockets == 3 and .[0].backlog == 24 and
		.[0].accept_queue == 5 and .[0].accept_queue_max >= 2 and
		.[0].accept_queue_max <= 5 and .[0].comm == "sfgroup"'

	sf_bg "$SF_TMP/group.srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$port" \
		--no-accept --reuseport 3 --backlog 8 --comm sfgroup \
		--hold-listener-file "$SF_TMP/group.release" --ready-file "$SF_TMP/group.ready" \
		--timeout-ms 30000
	sf_wait_file "$SF_TMP/group.ready" || { sf_fail "$t" "server did not listen"; return; }
	sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$port" --close-first \
		--repeat 5 --timeout-ms 10000 >"$SF_TMP/group.cli" 2>&1 ||
		sf_fail "$t/clients" "clients: $(head -c 300 "$SF_TMP/group.cli")"
	# the newest stats record's rows for the port, until they show all five
	while [ "$n" -gt 0 ]; do
		rows=$(jq -c --argjson port "$port" 'select(.type == "stats") |
			[.listeners[] | select(.port == $port)]' "$SF_TMP/top.out" 2>/dev/null | tail -n 1)
		[ -n "$rows" ] && jq -e "$want" <<<"$rows" >/dev/null && break
		sleep 0.1
		n=$((n - 1))
	done
	echo "  ss: $(ip netns exec "$SF_NS_S" ss -Htln "( sport = :$port )" | wc -l) listening sockets; rows: $rows"
	if jq -e "$want" <<<"$rows" >/dev/null 2>&1; then
		sf_pass "$t"
	else
		sf_fail "$t" "not one row for the group of three: $rows"
	fi
	touch "$SF_TMP/group.release"
}

daemon_case daemon 5510 reaped
daemon_case zombie 5511 unreaped
group_case 5512

kill -INT "$TOP" 2>/dev/null
wait "$TOP"
rc=$?
sf_check "$T/exit" "synfin top exited $rc: $(tail -c 300 "$SF_TMP/top.err")" [ "$rc" = 0 ]
sf_done
