#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# synfin's stdout is a non-blocking pipe (as some supervisors hand their
# children) whose reader stalls while K connections come and go: synfin's
# write() meets EAGAIN. It must wait for the reader, as a blocking write
# would, and lose nothing: the reader then gets all K records, whole, and
# synfin exits 0. (It used to stop on EAGAIN as on a failed write.) Only
# the server's namespace is traced: one record a connection.
# Then a reader that never reads again, on a non-blocking pipe and on a
# blocking one: asked to stop, synfin must not wait for it for ever. It
# gives the output 2 s, then stops, exits 1 and says on one line that the
# reader did not take the rest and how much was not written. (A blocked
# write() used to restart after SIGINT, and synfin hung until killed.)
# And a reader that reads slowly from the stop on gets it all, unless the
# stop is asked for twice.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

T=output_stall
K=2000
PORT=5711
NBREADER=$SF_ROOT/build/tools/nbreader
sf_setup_ns "$T"
[ -x "$NBREADER" ] || { sf_fail "$T" "no $NBREADER (make tools)"; sf_done; }

# nb_start NAME STALL-FILE OUT NB-OUT: synfin under nbreader, which reads
# nothing until STALL-FILE exists, then copies to OUT; nbreader's result
# line in NB-OUT; stderr in $ERR; the pids in NB and SYN
nb_start()
{
	"$NBREADER" --stall-until-file "$2" --out "$3" --timeout-s 60 -- \
		"$SYNFIN" -j --no-timewait --no-alerts --netns "$SF_NETNS_S" >"$4" 2>"$ERR" &
	NB=$!
	SF_PIDS+=("$NB")
	sf_wait_ready "$NB" "$ERR" synfin || { sf_fail "$1" "synfin did not start"; sf_done; }
	SYN=$(pgrep -P "$NB" -x synfin)
	[ -n "$SYN" ] || { sf_fail "$1" "no synfin under the reader"; sf_done; }
}

ERR=$SF_TMP/synfin.err
nb_start "$T" "$SF_TMP/go" "$SF_TMP/out" "$SF_TMP/nb"

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

# stuck_case NAME PORT: synfin ($SYN, stderr in $ERR) writes to a reader
# that reads nothing; K more connections fill the pipe, then SIGINT. Its
# exit status comes from stuck_status.
stuck_case()
{
	local t=$T/$1 port=$2 t0 t1 ms rc
	sf_repeat "$t" "$port" "$K"
	sleep 1
	t0=$(sf_now_ns)
	kill -INT "$SYN" 2>/dev/null
	# gone, or a zombie its parent has not reaped yet
	for _ in $(seq 200); do
		[ "$(sf_proc_state "$SYN")" = Z ] || ! kill -0 "$SYN" 2>/dev/null && break
		sleep 0.05
	done
	t1=$(sf_now_ns)
	ms=$(( (t1 - t0) / 1000000 ))
	rc=$(stuck_status)
	echo "  stopped in $ms ms, status ${rc:-none}: $(tail -n 1 "$ERR")"
	sf_check "$t/status" "synfin exited ${rc:-none} (want 1; 124: it had to be killed)" \
		[ "$rc" = 1 ]
	sf_check "$t/time" "it took $ms ms to stop (want under 6 s)" [ "$ms" -lt 6000 ]
	if grep -qE "^synfin: the output's reader took nothing for 2 s after the stop; stopped, [1-9][0-9]* records not written" "$ERR"; then
		sf_pass "$t/said"
	else
		sf_fail "$t/said" "$(tail -n 3 "$ERR")"
	fi
}

# fifo_synfin NAME FIFO [ARGS...]: synfin writing to FIFO (a blocking
# pipe whose reader the caller started), stderr in $ERR, its pid in SYN
fifo_synfin()
{
	local name=$1 fifo=$2
	shift 2
	"$SYNFIN" -j --no-timewait --no-alerts --netns "$SF_NETNS_S" "$@" 2>"$ERR" >"$fifo" &
	SYN=$!
	SF_PIDS+=("$SYN")
	sf_wait_ready "$SYN" "$ERR" synfin || { sf_fail "$name" "synfin did not start"; sf_done; }
}

# non-blocking: nbreader's pipe, its file made only after the stop
ERR=$SF_TMP/stuck_nb.err
nb_start "$T/stuck_nonblocking" "$SF_TMP/never" "$SF_TMP/out_nb" "$SF_TMP/nb2"
# not our child: nbreader's line gives its status, once it reads (it
# reaps synfin after the end of the pipe)
stuck_status()
{
	[ "$(sf_proc_state "$SYN")" = Z ] || ! kill -0 "$SYN" 2>/dev/null || { echo 124; return; }
	touch "$SF_TMP/never"
	sf_wait_pid "$NB" 10 >/dev/null
	sf_field "$SF_TMP/nb2" status
}
stuck_case stuck_nonblocking 5712

# late_reader NAME: on the FIFO $SF_TMP/NAME.fifo, a reader that takes
# nothing until NAME.go exists (a bounded wait), then reads to the end;
# its pid in READER, waited for, so it cannot outlive the test holding the
# runner's output
late_reader()
{
	mkfifo "$SF_TMP/$1.fifo"
	(for _ in $(seq 600); do [ -e "$SF_TMP/$1.go" ] && break; sleep 0.1; done
		cat >/dev/null) <"$SF_TMP/$1.fifo" &
	READER=$!
	SF_PIDS+=("$READER")
}

# blocking: a late reader, its file made only after the stop
ERR=$SF_TMP/stuck_b.err
late_reader stuck
fifo_synfin "$T/stuck_blocking" "$SF_TMP/stuck.fifo"
stuck_status()
{
	sf_wait_pid "$SYN" 1
	echo $?
}
stuck_case stuck_blocking 5713
touch "$SF_TMP/stuck.go"
sf_wait_pid "$READER" 10 >/dev/null

# -d's end is a stop too: a reader that never reads holds synfin 2 s past
# it, then synfin exits 1 and says so. (It used to wait on it for ever:
# only a signal started the grace.)
ERR=$SF_TMP/stuck_d.err
late_reader stuck_d
t0=$(sf_now_ns)
fifo_synfin "$T/stuck_d" "$SF_TMP/stuck_d.fifo" -d 6
sf_repeat "$T/stuck_d" 5716 "$K"
sf_wait_pid "$SYN" 20
rc=$?
ms=$(( ($(sf_now_ns) - t0) / 1000000 ))
touch "$SF_TMP/stuck_d.go"
sf_wait_pid "$READER" 10 >/dev/null
echo "  -d 6 with a stalled reader: exit $rc after $ms ms: $(tail -n 1 "$ERR")"
sf_check "$T/stuck_d/status" "synfin exited $rc (want 1; 124: it had to be killed)" [ "$rc" = 1 ]
sf_check "$T/stuck_d/time" "it took $ms ms from its start (want under 12 s)" [ "$ms" -lt 12000 ]
sf_check "$T/stuck_d/said" "$(tail -n 2 "$ERR")" \
	grep -qE "^synfin: the output's reader took nothing for 2 s after the stop; stopped, [1-9][0-9]* records not written" "$ERR"

# slow_reader NAME: on the FIFO $SF_TMP/NAME.fifo, once NAME.go exists,
# a reader taking 64 KiB every 0.2 s into NAME.out; its pid in READER
slow_reader()
{
	mkfifo "$SF_TMP/$1.fifo"
	(for _ in $(seq 600); do [ -e "$SF_TMP/$1.go" ] && break; sleep 0.1; done
		for _ in $(seq 600); do
			n=$(dd bs=65536 count=1 iflag=fullblock status=none |
				tee -a "$SF_TMP/$1.out" | wc -c)
			[ "$n" -gt 0 ] || break
			sleep 0.2
		done) <"$SF_TMP/$1.fifo" &
	READER=$!
	SF_PIDS+=("$READER")
}

# slow_case NAME PORT [again]: the slow reader from the stop on, K
# records behind it; with "again", the stop asked for a second time 1 s
# later. Sets rc, ms (from the stop) and GOOD (records of the churn read).
slow_case()
{
	ERR=$SF_TMP/$1.err
	slow_reader "$1"
	fifo_synfin "$T/$1" "$SF_TMP/$1.fifo"
	sf_repeat "$T/$1" "$2" "$K"
	sleep 1
	t0=$(sf_now_ns)
	kill -INT "$SYN" 2>/dev/null
	touch "$SF_TMP/$1.go"
	if [ "${3:-}" = again ]; then
		sleep 1
		kill -INT "$SYN" 2>/dev/null
	fi
	sf_wait_pid "$SYN" 30
	rc=$?
	ms=$(( ($(sf_now_ns) - t0) / 1000000 ))
	sf_wait_pid "$READER" 10 >/dev/null
	GOOD=$(jq -c --argjson p "$2" 'select(.type == "conn" and .lport == $p and
		.role == "server")' "$SF_TMP/$1.out" 2>/dev/null | grep -c .)
}

# slow: a reader that starts at the stop and reads slowly but steadily,
# 64 KiB every 0.2 s (the K records take about 5 s). The grace is for a
# reader that takes nothing: this one gets every record and synfin exits
# 0. (The grace used to count from the stop, and cut a slow reader, or a
# long drain of a burst's backlog, at 2 s.)
slow_case slow 5714
echo "  slow reader: synfin stopped in $ms ms, status $rc; $(wc -c <"$SF_TMP/slow.out") bytes read"
sf_check "$T/slow/status" "synfin exited $rc (want 0): $(tail -n 2 "$ERR")" [ "$rc" = 0 ]
sf_check "$T/slow/all_records" "$GOOD records of this churn, want $K" [ "$GOOD" = "$K" ]
sf_check "$T/slow/took_long" "the reader took $ms ms: under the 2 s this case is about" \
	[ "$ms" -gt 2500 ]

# again: the same slow reader, and the stop asked for twice (Ctrl-C
# twice), 1 s apart: synfin stops waiting for the reader at the second,
# exits 1, and says how many records it did not write; with those it
# wrote, they make the K.
slow_case again 5715 again
said=$(grep -E "^synfin: asked to stop again while the output's reader was behind; stopped, [0-9]+ records not written" "$ERR")
lost=$(sed -E 's/.* stopped, ([0-9]+) records.*/\1/' <<<"$said")
echo "  stopped twice: exit $rc after $ms ms; $GOOD records read, ${lost:-?} not written"
sf_check "$T/again/status" "synfin exited $rc (want 1): $(tail -n 2 "$ERR")" [ "$rc" = 1 ]
sf_check "$T/again/time" "it took $ms ms to stop (want under 2.5 s)" [ "$ms" -lt 2500 ]
sf_check "$T/again/said" "no line saying so: $(tail -n 2 "$ERR")" [ -n "$said" ]
sf_check "$T/again/adds_up" "$GOOD read + ${lost:-?} not written, want $K" \
	[ "$((GOOD + ${lost:-0}))" = "$K" ]
sf_done
