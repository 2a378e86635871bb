#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# synfin's stdout is a non-blocking pipe (as some supervisors hand their
# children) whose reader stalls while K connections come and go: synfin's
# write() meets EAGAIN. It must wait for the reader, as a blocking write
# would, and lose nothing: the reader then gets all K records, whole, and
# synfin exits 0. (It used to stop on EAGAIN as on a failed write.) Only
# the server's namespace is traced: one record a connection.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

T=output_stall
K=2000
PORT=5711
NBREADER=$SF_ROOT/build/tools/nbreader
sf_setup_ns "$T"
[ -x "$NBREADER" ] || { sf_fail "$T" "no $NBREADER (make tools)"; sf_done; }

ERR=$SF_TMP/synfin.err
"$NBREADER" --stall-until-file "$SF_TMP/go" --out "$SF_TMP/out" --timeout-s 60 -- \
	"$SYNFIN" -j --no-timewait --no-alerts --netns "$SF_NETNS_S" >"$SF_TMP/nb" 2>"$ERR" &
NB=$!
SF_PIDS+=("$NB")
sf_wait_ready "$NB" "$ERR" synfin || { sf_fail "$T" "synfin did not start"; sf_done; }
SYN=$(pgrep -P "$NB" -x synfin)
[ -n "$SYN" ] || { sf_fail "$T" "no synfin under the reader"; sf_done; }

sf_repeat "$T" "$PORT" "$K"
# the pipe (64 KiB) held a fraction of the records: synfin is waiting
sleep 1
touch "$SF_TMP/go"
# a bounded wait for every record (the reader made the file at its start),
# then the stop
sf_wait_count "$K" cat "$SF_TMP/out"
kill -INT "$SYN" 2>/dev/null
sf_wait_pid "$NB" 15

sf_check "$T/status" "synfin: $(cat "$SF_TMP/nb"); $(tail -c 400 "$ERR")" \
	[ "$(sf_field "$SF_TMP/nb" status)" = 0 ]
if grep -q 'writing the output failed' "$ERR"; then
	sf_fail "$T/said" "$(grep 'writing the output failed' "$ERR")"
else
	sf_pass "$T/said"
fi
GOOD=$(jq -c --argjson p "$PORT" 'select(.type == "conn" and .lport == $p and .role == "server")' \
	"$SF_TMP/out" 2>/dev/null | grep -c .)
LINES=$(grep -c . "$SF_TMP/out")
if [ "$GOOD" = "$K" ] && [ "$LINES" = "$K" ]; then
	sf_pass "$T/all_records"
else
	sf_fail "$T/all_records" "$GOOD records of this churn in $LINES lines, want $K"
fi
sf_done
