#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A listener's owner follows the process that holds it: a server that
# listens and then daemonizes (nginx opens its listeners before it forks)
# leaves its listener to a child, and the parent /proc showed at first is
# gone. `synfin top -j`'s listener rows (and so a syn_flood alert's owner)
# must name the child once the parent has gone, not the dead parent.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=listener_owner
PORT=5510
sf_setup_ns "$T"

sf_bg "$SF_TMP/srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$PORT" --no-accept \
	--comm sfdpar --daemonize-on-file "$SF_TMP/daemonize" --daemon-comm sfdkid \
	--hold-listener-file "$SF_TMP/release" --ready-file "$SF_TMP/srv.ready" --timeout-ms 30000
PARENT=$SF_LAST_PID
sf_wait_file "$SF_TMP/srv.ready" || { sf_fail "$T" "server did not listen"; sf_done; }

"$SYNFIN" top -j -d 12 --netns "$SF_NETNS_S" >"$SF_TMP/top.out" 2>"$SF_TMP/top.err" </dev/null &
TOP=$!
SF_PIDS+=("$TOP")

# listener_row: the newest stats record's row for our listener, or nothing
listener_row()
{
	jq -c --argjson port "$PORT" 'select(.type == "stats") | .listeners[] |
		select(.port == $port)' "$SF_TMP/top.out" 2>/dev/null | tail -n 1
}
wait_row()
{
	local comm=$1 n=100
	while [ "$n" -gt 0 ]; do
		[ "$(listener_row | jq -r .comm 2>/dev/null)" = "$comm" ] && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

if wait_row sfdpar; then
	sf_check "$T/parent" "row: $(listener_row)" \
		[ "$(listener_row | jq -r .pid)" = "$PARENT" ]
else
	sf_fail "$T/parent" "no row naming the listening parent: $(listener_row) $(head -c 300 "$SF_TMP/top.err")"
fi
touch "$SF_TMP/daemonize"
sf_wait_pid "$PARENT" 5 || sf_fail "$T/daemonize" "the parent did not exit"
CHILD=$(ip netns exec "$SF_NS_S" ss -Htlnp "( sport = :$PORT )" | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2)
echo "  parent $PARENT exited; ss shows the listener held by pid ${CHILD:-none}"
if wait_row sfdkid; then
	sf_check "$T/child" "row: $(listener_row), ss: pid $CHILD" \
		[ -n "$CHILD" ] && [ "$(listener_row | jq -r .pid)" = "$CHILD" ]
else
	sf_fail "$T/child" "still no row naming the child 10 s after the parent left: $(listener_row)"
fi
touch "$SF_TMP/release"
kill -INT "$TOP" 2>/dev/null
wait "$TOP"
rc=$?
sf_check "$T/exit" "synfin top exited $rc: $(tail -c 300 "$SF_TMP/top.err")" [ "$rc" = 0 ]
sf_done
