#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Every record the kernel makes while synfin is attached is read, also
# when synfin stops while a churn goes on, and while signals keep cutting
# its waits short. -v says how many records the kernel put on the ring and
# in the spill map, and how many synfin read from each; they must agree.
#  stop: synfin stopped (SIGSTOP) while a churn fills its 1 MiB ring and
#     spill map, then let go and stopped at once (SIGCONT, SIGINT) with
#     the churn still running: the kernel spills until synfin detaches.
#     Once the ring's last records were read and the spill map was left
#     unread, so the records spilled after the loop's last drain were
#     neither written nor counted.
#  hup: `-o FILE` and a SIGHUP every 2 ms through a churn: nothing is
#     left behind at the stop.
#  hup_quiet: the same storm and a few connections: their records are
#     in the file while the storm goes on. A wait cut short by a signal
#     drains the ring all the same; once the ring was read only when the
#     kernel woke synfin, which it does when the ring fills.
#  grace: a program run already under way when its link goes still
#     finishes, and may still make a record. synfin waits such runs out
#     (a global membarrier, which waits an RCU grace period) after the
#     last link is closed, so its last drain comes after every record.
#     Once the drain followed the closes at once (microseconds too soon
#     at worst, so the stop case could only catch it by luck); strace
#     shows the order.
# timeout: 120
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

T=exit_drain
sf_setup_churn "$T"

# counts NAME: sets RING_READ, RING_PUT, SPILL_READ, SPILL_PUT from -v's
# "records read" line, and CONNS (conn records written)
counts()
{
	local line
	line=$(grep '^synfin: records read: ' "$SF_ERR")
	RING_READ=$(sed -n 's/.*read: \([0-9]*\) from the ring.*/\1/p' <<<"$line")
	RING_PUT=$(sed -n 's/.* of the \([0-9]*\) the kernel put there, .*/\1/p' <<<"$line")
	SPILL_READ=$(sed -n 's/.*, \([0-9]*\) from the spill map.*/\1/p' <<<"$line")
	SPILL_PUT=$(sed -n 's/.*spill map of the \([0-9]*\) it put there$/\1/p' <<<"$line")
	CONNS=$(jq -c 'select(.type == "conn")' "$1" | grep -c .)
	echo "  $2: ring ${RING_READ:-?} read of ${RING_PUT:-?}, spill map ${SPILL_READ:-?} read" \
		"of ${SPILL_PUT:-?}; $CONNS conn records; $(grep -o 'lost: ringbuf_full=[0-9]*' "$SF_ERR")"
	if [ -z "$RING_READ" ] || [ -z "$RING_PUT" ] || [ -z "$SPILL_READ" ] || [ -z "$SPILL_PUT" ]; then
		sf_fail "$T/$2/counts" "no records-read line under -v: $(tail -c 300 "$SF_ERR")"
		sf_done
	fi
}

# ---- stop ---------------------------------------------------------------------
sf_start "$T/stop" --netns "$SF_NETNS_S" --ringbuf-mb 1 --no-alerts -v
kill -STOP "$SF_SYNFIN_PID"
# The churn is long enough to outlast synfin's stop however slow (under
# the sanitizers draining what it holds took more than 2 s), and is
# ended once synfin has gone (timeout passes the SIGINT on)
sf_bg "$SF_TMP/stop.churn" "$SF_NS_S" timeout 20 "$CHURN" --duration 12 --conns-parallel 2
CHURN_PID=$SF_LAST_PID
sleep 2		# the 1 MiB ring fills within a second, then the spill map takes the rest
kill -CONT "$SF_SYNFIN_PID"
sf_synfin_stop || sf_fail "$T/stop/exit" "synfin did not exit 0 on SIGINT"
sf_check "$T/stop/churn_ran" "the churn ended before synfin: $(cat "$SF_TMP/stop.churn")" \
	kill -0 "$CHURN_PID"
kill -INT "$CHURN_PID" 2>/dev/null
sf_wait_pid "$CHURN_PID" 20
counts "$SF_OUT" stop
sf_check "$T/stop/spilled" "the kernel spilled nothing ($SPILL_PUT): the case did not happen" \
	[ "$SPILL_PUT" -gt 0 ]
sf_check "$T/stop/spill_read" "$SPILL_READ records read from the spill map, $SPILL_PUT put there" \
	[ "$SPILL_READ" = "$SPILL_PUT" ]
sf_check "$T/stop/ring_read" "$RING_READ records read from the ring, $RING_PUT put there" \
	[ "$RING_READ" = "$RING_PUT" ]

# ---- hup ----------------------------------------------------------------------
OUT=$SF_TMP/hup.json
sf_start "$T/hup" --netns "$SF_NETNS_S" --no-alerts -v -o "$OUT"
sf_bg "$SF_TMP/hup.churn" "$SF_NS_S" timeout 20 "$CHURN" --duration 3 --conns-parallel 2
CHURN_PID=$SF_LAST_PID
hups=0
while kill -0 "$CHURN_PID" 2>/dev/null && [ "$hups" -lt 5000 ]; do
	kill -HUP "$SF_SYNFIN_PID"
	hups=$((hups + 1))
	sleep 0.002
done
sf_synfin_stop || sf_fail "$T/hup/exit" "synfin did not exit 0 on SIGINT after $hups SIGHUPs"
counts "$OUT" hup
echo "  hup: $hups SIGHUPs"
sf_check "$T/hup/storm" "only $hups SIGHUPs were sent" [ "$hups" -ge 200 ]
sf_check "$T/hup/spill_read" "$SPILL_READ records read from the spill map, $SPILL_PUT put there" \
	[ "$SPILL_READ" = "$SPILL_PUT" ]
sf_check "$T/hup/ring_read" "$RING_READ records read from the ring, $RING_PUT put there" \
	[ "$RING_READ" = "$RING_PUT" ]
sf_check "$T/hup/json" "a line of $OUT is not one JSON object" sf_json_lines "$OUT"

# ---- hup_quiet ----------------------------------------------------------------
OUT=$SF_TMP/quiet.json
sf_start "$T/hup_quiet" --netns "$SF_NETNS_S" --no-alerts -v -o "$OUT"
# the churn starts once the storm has, and ends long before it does
for i in $(seq 500); do
	kill -HUP "$SF_SYNFIN_PID"
	[ "$i" = 50 ] && sf_bg "$SF_TMP/quiet.churn" "$SF_NS_S" timeout 10 "$CHURN" --duration 0.05 \
		--conns-parallel 1
	sleep 0.002
done
during=$(jq -c 'select(.type == "conn")' "$OUT" | grep -c .)
sf_synfin_stop || sf_fail "$T/hup_quiet/exit" "synfin did not exit 0 on SIGINT"
counts "$OUT" hup_quiet
sf_check "$T/hup_quiet/some" "the churn made no conn record" [ "$CONNS" -gt 0 ]
sf_check "$T/hup_quiet/written" "$during conn records in the file during the storm, $CONNS at the stop" \
	[ "$during" = "$CONNS" ]

# ---- grace --------------------------------------------------------------------
TRACE=$SF_TMP/grace.trace
if ! command -v strace >/dev/null; then
	sf_fail "$T/grace/strace" "strace is not installed (make deps installs it)"
else
	# a sanitized synfin's leak check cannot run under ptrace, and fails
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		strace -f -qq -e trace=bpf,perf_event_open,close,membarrier -o "$TRACE" \
		timeout --preserve-status -s INT 3 "$SYNFIN" --netns "$SF_NETNS_S" -j --no-alerts \
		>/dev/null 2>"$SF_TMP/grace.err"
	rc=$?
	sf_check "$T/grace/exit" "synfin under strace exited $rc: $(tail -c 300 "$SF_TMP/grace.err")" \
		[ "$rc" = 0 ]
	# the links are the fds of raw tracepoint opens, link creates and perf
	# events; prints: links made, line of the last one's close, line of the
	# last global membarrier that succeeded
	read -r links closed waited < <(awk '
		/bpf\(BPF_(RAW_TRACEPOINT_OPEN|LINK_CREATE)/ || /perf_event_open\(/ {
			if (match($0, /= [0-9]+$/)) { link[substr($0, RSTART + 2)] = 1; made++ }
		}
		/ close\([0-9]+\)/ {
			fd = $0; sub(/.*close\(/, "", fd); sub(/\).*/, "", fd)
			if (fd in link) { last_close = NR; delete link[fd] }
		}
		/membarrier\(MEMBARRIER_CMD_GLOBAL, 0\) = 0$/ { waited = NR }
		END { print made + 0, last_close + 0, waited + 0 }' "$TRACE")
	echo "  grace: $links links made, the last closed at line $closed, membarrier at line $waited"
	sf_check "$T/grace/links" "strace saw no link made: $(head -c 300 "$TRACE")" [ "$links" -gt 0 ]
	sf_check "$T/grace/closed" "strace saw no link closed" [ "$closed" -gt 0 ]
	sf_check "$T/grace/waited" "no global membarrier after the last link's close (line $closed)" \
		[ "$waited" -gt "$closed" ]
fi
sf_done
