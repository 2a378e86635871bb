#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The output cannot be written (a full disk): synfin says so in one line,
# stops with status 1, and counts the records it could not write. Its
# records go to a 64 KiB tmpfs. It is stopped (SIGSTOP) while K connections
# come and go, so that all K records wait in the ring and come out in one
# drain on SIGCONT: the lines written whole and the count of those not
# written must add up to K exactly, with the cut line (if any) among the
# latter. Only the server's namespace is traced: one record a connection
# (its listener's close is none).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

T=output_full
K=300
PORT=5701
sf_setup_ns "$T"

FULL=$SF_TMP/full
mkdir -p "$FULL"
mount -t tmpfs -o size=64k synfin-it "$FULL" || { sf_fail "$T" "cannot mount a tmpfs"; sf_done; }
trap 'umount "$FULL" 2>/dev/null; sf_cleanup' EXIT

OUT=$FULL/records
ERR=$SF_TMP/synfin.err
"$SYNFIN" -j --no-timewait --no-alerts --netns "$SF_NETNS_S" >"$OUT" 2>"$ERR" &
PID=$!
SF_PIDS+=("$PID")
sf_wait_ready "$PID" "$ERR" synfin || { sf_fail "$T" "synfin did not start"; sf_done; }
kill -STOP "$PID"

sf_bg "$SF_TMP/srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$PORT" \
	--accept "$K" --backlog 128 --ready-file "$SF_TMP/srv.ready" --timeout-ms 30000
SRV=$SF_LAST_PID
sf_wait_file "$SF_TMP/srv.ready" || { sf_fail "$T" "server did not listen"; sf_done; }
sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$PORT" --repeat "$K" \
	--timeout-ms 30000 >"$SF_TMP/cli" 2>"$SF_TMP/cli.err"
sf_wait_pid "$SRV" 30
[ "$(sf_field "$SF_TMP/cli" connected)" = "$K" ] ||
	{ sf_fail "$T" "the client did not connect $K times: $(tail -n 1 "$SF_TMP/cli")"; sf_done; }
# every server socket closed (none in FIN-WAIT or LAST-ACK) before synfin reads
sf_wait_closed "$SF_NS_S" 10

kill -CONT "$PID"
sf_wait_pid "$PID" 15
RC=$?
[ "$RC" = 1 ] && sf_pass "$T/status" ||
	sf_fail "$T/status" "synfin exited $RC (want 1): $(tail -c 400 "$ERR")"

LINE=$(grep 'writing the output failed' "$ERR")
LOST=$(sed -n 's/.*No space left on device; stopped, \([0-9]*\) records not written.*/\1/p' <<<"$LINE")
if [ "$(grep -c . <<<"$LINE")" = 1 ] && [ -n "$LOST" ]; then
	sf_pass "$T/said"
else
	sf_fail "$T/said" "no one line naming the error and the count: $(head -c 600 "$ERR")"
	sf_done
fi

# the whole lines: valid records of this churn; then the count adds up
WHOLE=$(tr -cd '\n' <"$OUT" | wc -c)
GOOD=$(head -n "$WHOLE" "$OUT" | jq -c --argjson p "$PORT" \
	'select(.type == "conn" and .lport == $p and .role == "server")' 2>/dev/null | grep -c .)
if [ "$WHOLE" -gt 0 ] && [ "$GOOD" = "$WHOLE" ]; then
	sf_pass "$T/whole_lines"
else
	sf_fail "$T/whole_lines" "$GOOD of $WHOLE whole lines are this churn's records"
fi
if [ $((WHOLE + LOST)) = "$K" ]; then
	sf_pass "$T/adds_up"
else
	sf_fail "$T/adds_up" "$WHOLE written + $LOST not written != $K records"
fi
# a cut line is said to be one, and only then
if [ -s "$OUT" ] && [ "$(tail -c 1 "$OUT" | od -An -c | tr -d ' ')" != '\n' ]; then
	CUT=yes
else
	CUT=no
fi
if { [ "$CUT" = yes ] && grep -q 'in part' <<<"$LINE"; } ||
	{ [ "$CUT" = no ] && ! grep -q 'in part' <<<"$LINE"; }; then
	sf_pass "$T/cut_line"
else
	sf_fail "$T/cut_line" "the output ends cut: $CUT; synfin said: $LINE"
fi
sf_done
