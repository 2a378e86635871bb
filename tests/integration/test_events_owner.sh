#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# --events under -p: a transition whose owner is not known (connections
# opened before synfin started, closing in softirq before anything named
# their owner) is not the asked-for process's, as a finished connection
# whose owner was never learned is not (README). Three connections held
# from before the start are closed by their clients:
# - `--events -p 1` (init owns none of them) prints no state record;
# - `--events -p <server>` prints the server's, every one naming it.
# The old build printed pid-0 transitions under both.
# And a tw sock's end, after its connection was reported and only the tw
# sock followed: a client closes first, and `ss -K` kills its tw sock a
# second later. Its tw_end names the client, with its uid, both in
# `--events` and under `--events -p <client>` (the old build said pid 0,
# uid null, and left it out under -p).
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=events_owner
PORT=5741
sf_setup_ns "$T"

sf_bg "$SF_TMP/srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$PORT" --accept 3 \
	--wait-eof --ready-file "$SF_TMP/srv.ready" --timeout-ms 30000
SRV=$SF_LAST_PID
sf_wait_file "$SF_TMP/srv.ready" || { sf_fail "$T" "server did not listen"; sf_done; }
for i in 1 2 3; do
	sf_bg "$SF_TMP/cli$i" "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$PORT" \
		--close-first --ready-file "$SF_TMP/cli$i.ready" --hold-until-file "$SF_TMP/go" \
		--timeout-ms 30000
done
for i in 1 2 3; do
	sf_wait_file "$SF_TMP/cli$i.ready" || { sf_fail "$T" "client $i did not connect"; sf_done; }
done

sf_start_as init --events --no-alerts --netns "$SF_NETNS_S" -p 1
sf_start_as server --events --no-alerts --netns "$SF_NETNS_S" -p "$SRV"
touch "$SF_TMP/go"
sf_wait_pid "$SRV" 15
sf_wait_closed "$SF_NS_S"
sleep 0.3
sf_synfin_stop_as init || sf_fail "$T/stop" "synfin -p 1 did not exit 0"
sf_synfin_stop_as server || sf_fail "$T/stop" "synfin -p server did not exit 0"

n=$(jq -c 'select(.type == "state")' "$SF_TMP/init.out" | grep -c .)
sf_check "$T/none" "$n state records under -p 1: $(jq -c 'select(.type == "state") | [.pid, .old_state, .new_state]' "$SF_TMP/init.out" | head -n 4 | tr '\n' ' ')" \
	[ "$n" = 0 ]
mine=$(jq -c --argjson p "$SRV" 'select(.type == "state" and .pid == $p)' "$SF_TMP/server.out" | grep -c .)
other=$(jq -c --argjson p "$SRV" 'select(.type == "state" and .pid != $p)' "$SF_TMP/server.out")
if [ "$mine" -ge 3 ] && [ -z "$other" ]; then
	sf_pass "$T/server"
else
	sf_fail "$T/server" "$mine state records naming the server (want 3 or more), others: $(head -n 3 <<<"$other" | tr '\n' ' ')"
fi
echo "  server's records: $(jq -r --argjson p "$SRV" 'select(.type == "state") | "\(.old_state)->\(.new_state)"' "$SF_TMP/server.out" | sort | uniq -c | tr -s ' ' | tr '\n' ',')"

PORT=5742
rm -f "$SF_TMP/go"
sf_bg "$SF_TMP/srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$PORT" --accept 1 \
	--wait-eof --ready-file "$SF_TMP/srv2.ready" --timeout-ms 30000
SRV=$SF_LAST_PID
sf_wait_file "$SF_TMP/srv2.ready" || { sf_fail "$T/tw" "server did not listen"; sf_done; }
# waits for go before it connects (the same process: sh execs it), so
# that -p can name it
sf_bg "$SF_TMP/cli" "$SF_NS_C" sh -c 'n=300; while [ ! -e "$1" ] && [ $n -gt 0 ]; do
	sleep 0.05; n=$((n - 1)); done; shift; exec "$@"' sh "$SF_TMP/go" \
	"$TCPDRIVE" client --connect "$SF_S4" --port "$PORT" --close-first --timeout-ms 30000
CLI=$SF_LAST_PID
sf_start_as all --events --no-alerts --netns "$SF_NETNS_C"
sf_start_as client --events --no-alerts --netns "$SF_NETNS_C" -p "$CLI"
touch "$SF_TMP/go"
sf_wait_pid "$CLI" 15
sf_wait_pid "$SRV" 15
sleep 1	# the peer's FIN reached the tw sock, the record is out: only it is followed
sf_in "$SF_NS_C" ss -K -tan state time-wait dport = :"$PORT" >/dev/null 2>&1
sleep 0.5
sf_synfin_stop_as all || sf_fail "$T/tw/stop" "synfin --events did not exit 0"
sf_synfin_stop_as client || sf_fail "$T/tw/stop" "synfin -p client did not exit 0"
CLI_PID=$(sf_field "$SF_TMP/cli" pid)
[ "$CLI_PID" = "$CLI" ] || sf_fail "$T/tw" "the client ran as $CLI_PID, not $CLI"
for who in all client; do
	ends=$(jq -c 'select(.type == "tw_end") | [.pid, .comm, .uid, .reason]' "$SF_TMP/$who.out")
	sf_check "$T/tw/$who" "tw_end records (want one, naming $CLI_PID with uid 0): $(tr '\n' ' ' <<<"$ends")" \
		[ "$ends" = "[$CLI_PID,\"tcpdrive\",0,\"cancelled\"]" ]
done
sf_done
