#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A listener's completed handshakes are counted in two kernel maps: each
# interval synfin flips the programs to the other one, waits out the runs
# still adding to the first, and takes its counts out (kfigures.c). Taken
# from a map still added to, an add that came between a run's lookup and
# its increment was lost, uncounted. Under top -j --interval 1 on the
# server's namespace, three bursts of connections across several
# intervals, to a listener that stands through all of them:
#  sum      the listener's rows add up to every connection accepted
#           (completed_per_s x interval_s, to the rounding of the record);
#  flips    in more than one interval, so both maps counted some.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

T=listener_counts
PORT=5790
BURST=200
sf_setup_ns "$T"
want=$((3 * BURST))
sf_bg "$SF_TMP/srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$PORT" \
	--accept $((want + 1)) --backlog 128 --ready-file "$SF_TMP/srv.ready" --timeout-ms 30000
srv=$SF_LAST_PID
sf_wait_file "$SF_TMP/srv.ready" || { sf_fail "$T/server" "server did not listen"; sf_done; }
"$SYNFIN" top -j --interval 1 -d 7 --netns "$SF_NETNS_S" >"$SF_TMP/top.out" 2>"$SF_TMP/top.err" </dev/null &
top_pid=$!
SF_PIDS+=("$top_pid")
# the first interval sets the counters' base: traffic starts after it
sf_wait_output 5 grep -m 1 '"type":"stats"' "$SF_TMP/top.out"
grep -q '"type":"stats"' "$SF_TMP/top.out" ||
	{ sf_fail "$T/start" "no stats record: $(tail -c 300 "$SF_TMP/top.err")"; sf_done; }
for i in 1 2 3; do
	sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$PORT" --repeat "$BURST" \
		--timeout-ms 10000 >"$SF_TMP/cli$i" 2>&1
	sleep 0.7
done
sf_wait_pid "$top_pid" 15
rc=$?
# it waits for one more than came: the listener stands through every interval
kill "$srv" 2>/dev/null
sf_check "$T/exit" "synfin top -j exited $rc: $(tail -c 300 "$SF_TMP/top.err")" [ "$rc" = 0 ]
# per record and port: completed_per_s x interval_s
counts=$(jq -r 'select(.type == "stats") | .interval_s as $s | .listeners[]? |
	select(.port == '"$PORT"') | .completed_per_s * $s' "$SF_TMP/top.out")
sum=$(awk '{ s += $1 } END { printf "%.2f", s }' <<<"$counts")
nonzero=$(awk '$1 >= 0.5' <<<"$counts" | grep -c .)
echo "  completions by record: $(awk '{ printf "%.1f ", $1 }' <<<"$counts")"
sf_check "$T/sum" "the listener rows add up to $sum completions (want $want)" \
	awk -v s="$sum" -v w="$want" 'BEGIN { exit !(s > w - 1 && s < w + 1) }'
sf_check "$T/flips" "completions in $nonzero records (want 2 or more)" [ "$nonzero" -ge 2 ]
sf_done
