#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The live view:
#  a. `synfin top -j -d 4` prints at least 3 {"type":"stats"} records, each
#     with the documented fields; the state counts agree with ss: 10 held
#     connections (20 ESTAB sockets in our two namespaces) and their listener
#     are in every record's counts.
#  b. `synfin top` on a pseudo-terminal (script(1)) draws in the alternate
#     screen, quits on 'q' within 2 s with exit status 0, and leaves the
#     terminal as it found it: termios unchanged, and the output ends by
#     leaving the alternate screen (ESC [?1049l).
#  b3. a failure that ends the run (the ring's read) is said after the
#      screen is put back, on the terminal, and synfin exits 1.
#  c. `synfin top >/dev/full` stops at its first frame, says why, exits 1.
#  d. (run after a.) opens land in the record of their handshake times.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=top
PORT=5500
PAIRS=10
sf_setup_ns "$T"
for t in ss script stty; do
	command -v "$t" >/dev/null || { sf_skip "$T" "$t not installed"; sf_done; }
done

# --- a. top -j ------------------------------------------------------------------
sf_bg "$SF_TMP/srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$PORT" --accept "$PAIRS" \
	--no-close --close-first --comm sftopsrv --hold-listener-file "$SF_TMP/release" \
	--ready-file "$SF_TMP/srv.ready" --timeout-ms 60000
sf_wait_file "$SF_TMP/srv.ready" || { sf_fail "$T" "server did not listen"; sf_done; }
for i in $(seq "$PAIRS"); do
	sf_bg "$SF_TMP/cli$i" "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$PORT" \
		--close-first --comm sftopcli --ready-file "$SF_TMP/cli$i.ready" \
		--hold-until-file "$SF_TMP/release" --timeout-ms 60000
done
for i in $(seq "$PAIRS"); do
	sf_wait_file "$SF_TMP/cli$i.ready" || { sf_fail "$T" "client $i did not connect"; sf_done; }
done
sf_wait_accepted "$SF_TMP/srv" "$PAIRS"
ec=$(sf_ss_count "$SF_NS_C" established)
es=$(sf_ss_count "$SF_NS_S" established)
eh=$(ss -Htan state established 2>/dev/null | grep -c .)
echo "  ss: ESTAB client ns $ec, server ns $es, host ns $eh"
if [ "$ec" = "$PAIRS" ] && [ "$es" = "$PAIRS" ]; then
	sf_pass "$T/traffic"
else
	sf_fail "$T/traffic" "ss shows $ec + $es ESTAB sockets in our namespaces (want $PAIRS + $PAIRS)"
fi

timeout -k 2 20 "$SYNFIN" top -j -d 4 >"$SF_TMP/top.out" 2>"$SF_TMP/top.err" </dev/null
rc=$?
sf_check "$T/j/exit" "synfin top -j -d 4 exited $rc: $(tail -c 300 "$SF_TMP/top.err")" [ "$rc" = 0 ]
sf_check "$T/j/json-lines" "not JSON Lines: $(head -c 300 "$SF_TMP/top.out")" sf_json_lines "$SF_TMP/top.out"
stats=$(jq -c 'select(.type == "stats")' "$SF_TMP/top.out" 2>/dev/null)
nstats=$(grep -c . <<<"$stats")
sf_check "$T/j/count" "$nstats stats records in 4 s (want >= 3)" [ "$nstats" -ge 3 ]
# every record has every documented field, of the right type
shape='(.ts | type) == "string" and (.interval_s | type) == "number" and .interval_s > 0 and
	(.states | type) == "object" and
	([.states["ESTAB", "TIME-WAIT", "SYN-RECV", "CLOSE-WAIT", "LISTEN"] | type] | unique) == ["number"] and
	(.rates | type) == "object" and (.handshake_ms | type) == "object" and
	(.listeners | type) == "array" and (.time_wait | type) == "array" and
	(.close_wait | type) == "array" and (.alerts | type) == "array" and
	(.lost_total | type) == "number"'
badrec=$(jq -c "select(($shape) | not)" <<<"$stats" 2>&1 | head -n 1)
if [ -n "$stats" ] && [ -z "$badrec" ]; then
	sf_pass "$T/j/fields"
else
	sf_fail "$T/j/fields" "no stats record, or one lacks a field: $(head -c 600 <<<"$badrec")"
fi
# our 20 ESTAB sockets and our listener are in every census
want=$((ec + es))
badrec=$(jq -c --argjson w "$want" 'select(.states.ESTAB < $w or .states.LISTEN < 1) | .states' \
	<<<"$stats" 2>&1 | head -n 1)
echo "  top -j ESTAB per record: $(jq -r '.states.ESTAB' <<<"$stats" | tr '\n' ' ')(ss: $want in our namespaces + $eh in the host's)"
if [ -n "$stats" ] && [ -z "$badrec" ]; then
	sf_pass "$T/j/states"
else
	sf_fail "$T/j/states" "no stats record, or one counts fewer than our $want ESTAB sockets or no listener: $badrec"
fi
touch "$SF_TMP/release"

# --- d. opens in the interval of their handshake times -----------------------------
# Three bursts of 20 connections, 1.5 s apart, under top -j --interval 1 in
# the client's namespace: in each record the client opens (opens_active x
# interval_s) are the client handshake samples, give or take one caught
# between the two reads. They came a record late: samples in one, the
# opens in the next (the kernel's counters were read on their own clock).
# -d leaves about 2 s after the last burst: synfin prints no record for
# the interval a stop cuts short, and with -d 7 a slow run's third burst
# once straddled the last whole interval (57 of 60 samples).
sf_bg "$SF_TMP/d.srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port 5501 --accept 60 \
	--wait-eof --ready-file "$SF_TMP/d.srv.ready" --timeout-ms 30000
sf_wait_file "$SF_TMP/d.srv.ready" || { sf_fail "$T/opens" "server did not listen"; sf_done; }
"$SYNFIN" top -j --interval 1 -d 9 --netns "$SF_NETNS_C" >"$SF_TMP/d.out" 2>"$SF_TMP/d.err" </dev/null &
DTOP=$!
SF_PIDS+=("$DTOP")
sf_wait_ready "$DTOP" "$SF_TMP/d.err" "synfin top" || { sf_fail "$T/opens" "synfin top did not start"; sf_done; }
sleep 1.2
for b in 1 2 3; do
	sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port 5501 --close-first --repeat 20 \
		--timeout-ms 10000 >"$SF_TMP/d.cli$b" 2>&1
	sleep 1.5
done
sf_wait_pid "$DTOP" 15
opens=$(jq -c 'select(.type == "stats") | [(.rates.opens_active * .interval_s | round),
	.handshake_ms.client.samples]' "$SF_TMP/d.out" 2>/dev/null)
echo "  [opens, client samples] per record: $(tr '\n' ' ' <<<"$opens")"
total=$(jq -s 'map(.[1]) | add' <<<"$opens")
apart=$(jq -c 'select((.[0] - .[1]) | fabs > 1)' <<<"$opens" | head -n 1)
if [ "$total" = 60 ] && [ -z "$apart" ]; then
	sf_pass "$T/opens"
else
	sf_fail "$T/opens" "$total client samples in all (want 60); a record apart: ${apart:-none}"
fi

# --- b. top on a terminal ---------------------------------------------------------
# script(1) runs synfin top on a pty; its stdout is what the terminal got.
# The inner shell records the termios before and after, and when synfin
# exited. 'q' goes in through a fifo once the first frame is drawn.
# tty_start X SECS: `synfin top -d SECS` on a pty, its files named with X
# (tty$X.out, stty$X.before, ...); script's pid in SCRIPT, its input on fd 7
tty_start()
{
	local x=$1 d=$2 inner
	mkfifo "$SF_TMP/tty$x.in"
	inner="stty rows 24 cols 80; stty -g >'$SF_TMP/stty$x.before';"
	inner+=" '$SYNFIN' top -d $d 2>'$SF_TMP/tty$x.err'; rc=\$?; date +%s%N >'$SF_TMP/tty$x.exited';"
	inner+=" stty -g >'$SF_TMP/stty$x.after'; exit \$rc"
	timeout -k 2 $((d + 10)) script -qfec "$inner" /dev/null <"$SF_TMP/tty$x.in" \
		>"$SF_TMP/tty$x.out" 2>&1 &
	SCRIPT=$!
	SF_PIDS+=("$SCRIPT")
	exec 7>"$SF_TMP/tty$x.in"
}
tty_start "" 20
n=150
while ! grep -q 'synfin top' "$SF_TMP/tty.out" 2>/dev/null && [ "$n" -gt 0 ] &&
	kill -0 "$SCRIPT" 2>/dev/null; do
	sleep 0.1
	n=$((n - 1))
done
if grep -q 'synfin top' "$SF_TMP/tty.out"; then
	sf_pass "$T/tty/draws"
else
	sf_fail "$T/tty/draws" "no frame in 15 s: $(head -c 300 "$SF_TMP/tty.out" | cat -v) $(head -c 300 "$SF_TMP/tty.err")"
fi
q_sent=$(date +%s%N)
printf q >&7
sf_wait_pid "$SCRIPT" 10
rc=$?
exec 7>&-
if [ -s "$SF_TMP/tty.exited" ]; then
	ms=$(( ($(cat "$SF_TMP/tty.exited") - q_sent) / 1000000 ))
else
	ms=none
fi
if [ "$rc" = 0 ] && [ "$ms" != none ] && [ "$ms" -le 2000 ]; then
	sf_pass "$T/tty/quits"
else
	sf_fail "$T/tty/quits" "after 'q': exit status $rc, exited after $ms ms (want 0 within 2000 ms): $(tail -c 300 "$SF_TMP/tty.err")"
fi
echo "  'q' to exit: $ms ms"
sf_check "$T/tty/termios" "termios before and after differ: $(cat "$SF_TMP/stty.before" 2>&1) vs $(cat "$SF_TMP/stty.after" 2>&1)" \
	cmp -s "$SF_TMP/stty.before" "$SF_TMP/stty.after"
tail_bytes=$(tail -c 8 "$SF_TMP/tty.out" | od -An -c | tr -s ' ')
sf_check "$T/tty/alt-screen" "output does not end with ESC [?1049l: ends with$tail_bytes" \
	[ "$(tail -c 8 "$SF_TMP/tty.out")" = $'\e[?1049l' ]
sf_check "$T/tty/alt-screen-entered" "no ESC [?1049h in the output" grep -q $'\e\\[?1049h' "$SF_TMP/tty.out"

# --- b2. Ctrl-Z and Ctrl-\ on a terminal ----------------------------------------
# SIGTSTP: synfin puts the main screen and the terminal's settings back
# before it stops, and takes them again on SIGCONT. SIGQUIT stops it as
# SIGINT does, the terminal put back. (Both used to leave the terminal raw
# and on the alternate screen; SIGQUIT dumped core.) Sent by pid: the
# inner shell, without job control, shares the terminal's process group.
count_seq() { grep -o "$1" "$SF_TMP/tty2.out" 2>/dev/null | grep -c .; }
tty_start 2 30
TOPPID=
for _ in $(seq 150); do
	if grep -q 'synfin top' "$SF_TMP/tty2.out" 2>/dev/null; then
		TOPPID=$(pgrep -n -f -x "$SYNFIN top -d 30")
		break
	fi
	sleep 0.1
done
if [[ "$TOPPID" =~ ^[0-9]+$ ]]; then
	kill -TSTP "$TOPPID"
	for _ in $(seq 50); do [ "$(sf_proc_state "$TOPPID")" = T ] && break; sleep 0.1; done
	sf_check "$T/tty/suspend" "synfin is not stopped after SIGTSTP (state $(sf_proc_state "$TOPPID"))" \
		[ "$(sf_proc_state "$TOPPID")" = T ]
	sf_check "$T/tty/suspend-screen" "no ESC [?1049l before the stop: ends with$(tail -c 8 "$SF_TMP/tty2.out" | od -An -c | tr -s ' ')" \
		[ "$(tail -c 8 "$SF_TMP/tty2.out")" = $'\e[?1049l' ]
	kill -CONT "$TOPPID"
	for _ in $(seq 50); do [ "$(count_seq $'\e\\[?1049h')" -ge 2 ] && break; sleep 0.1; done
	sf_check "$T/tty/resume-screen" "the alternate screen not taken again after SIGCONT ($(count_seq $'\e\\[?1049h') times)" \
		[ "$(count_seq $'\e\\[?1049h')" -ge 2 ]
	kill -QUIT "$TOPPID"
	sf_wait_pid "$SCRIPT" 10
	rc=$?
	sf_check "$T/tty/quit-signal" "after SIGQUIT: exit status $rc (want 0): $(tail -c 300 "$SF_TMP/tty2.err")" [ "$rc" = 0 ]
	sf_check "$T/tty/quit-termios" "termios before and after differ" \
		cmp -s "$SF_TMP/stty2.before" "$SF_TMP/stty2.after"
	sf_check "$T/tty/quit-screen" "output does not end with ESC [?1049l" \
		[ "$(tail -c 8 "$SF_TMP/tty2.out")" = $'\e[?1049l' ]
else
	sf_fail "$T/tty/suspend" "no synfin top on the terminal: $(head -c 300 "$SF_TMP/tty2.err")"
fi
exec 7>&-

# --- b3. a failure that ends the run, on a terminal ---------------------------
# The ring's read failing (the epollfail shim makes epoll_wait, which
# libbpf waits on the ring with, fail with EIO once a file exists) ends
# the run: the screen is put back, then the one line saying why is
# written to the terminal after it, where it stays, and synfin exits 1.
# (Written while the screen was up, it vanished with it.)
SHIM=$SF_ROOT/build/tools/epollfail.so
if [ -f "$SHIM" ]; then
	mkfifo "$SF_TMP/tty3.in"
	inner="stty rows 24 cols 80; stty -g >'$SF_TMP/stty3.before';"
	inner+=" LD_PRELOAD='$SHIM' EPOLLFAIL_FILE='$SF_TMP/fail' '$SYNFIN' top -d 30; rc=\$?;"
	inner+=" stty -g >'$SF_TMP/stty3.after'; exit \$rc"
	timeout -k 2 40 script -qfec "$inner" /dev/null <"$SF_TMP/tty3.in" >"$SF_TMP/tty3.out" 2>&1 &
	SCRIPT=$!
	SF_PIDS+=("$SCRIPT")
	exec 7>"$SF_TMP/tty3.in"
	for _ in $(seq 150); do
		grep -q 'synfin top' "$SF_TMP/tty3.out" 2>/dev/null && break
		sleep 0.1
	done
	touch "$SF_TMP/fail"
	sf_wait_pid "$SCRIPT" 10
	rc=$?
	exec 7>&-
	out=$(cat "$SF_TMP/tty3.out")
	after=${out##*$'\e[?1049l'}
	before=${out%$'\e[?1049l'*}
	said='synfin: reading the ring buffer failed: Input/output error'
	echo "  after the screen: $(printf '%s' "$after" | tr -d '\r' | head -c 200 | cat -v)"
	sf_check "$T/tty/failed-status" "exit status $rc (want 1)" [ "$rc" = 1 ]
	case $after in
	*"$said"*) sf_pass "$T/tty/failed-said" ;;
	*) sf_fail "$T/tty/failed-said" "the line is not after the screen: $(printf '%s' "$after" | head -c 200 | cat -v)" ;;
	esac
	case $before in
	*"$said"*) sf_fail "$T/tty/failed-not-on-screen" "the line was written on the alternate screen too" ;;
	*) sf_pass "$T/tty/failed-not-on-screen" ;;
	esac
	sf_check "$T/tty/failed-termios" "termios before and after differ" \
		cmp -s "$SF_TMP/stty3.before" "$SF_TMP/stty3.after"
else
	sf_fail "$T/tty/failed" "no $SHIM (make tools)"
fi

# --- c. frames that cannot be written ----------------------------------------
# A full disk: synfin stops at the first frame that fails (within an
# interval, not at its -d), says so in one line, and exits 1. It used to
# draw on into the void until its -d, with exit status 0.
t0=$(date +%s%N)
timeout -k 2 30 "$SYNFIN" top -d 20 --interval 1 >/dev/full 2>"$SF_TMP/full.err" </dev/null
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if [ "$rc" = 1 ] && [ "$ms" -lt 8000 ] &&
	grep -q '^synfin: writing the screen failed: No space left on device; stopped$' "$SF_TMP/full.err"; then
	sf_pass "$T/full"
else
	sf_fail "$T/full" "exit status $rc after $ms ms (want 1 within 8 s, and the line): $(sf_oneline "$(tail -n 3 "$SF_TMP/full.err")")"
fi
sf_done
