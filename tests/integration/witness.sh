# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash
# A witness of the TCP transitions no BPF program sees. On the VM synfin was
# written on, the sandbox agent (threads of PID 1) runs softirq work in
# which no BPF program runs at all, and the kernel counts no recursion miss
# for it: a transition there is invisible to synfin and to any BPF tracer
# (docs/performance.md, "The silent loss was not synfin's"). ftrace sees it.
# The witness records exactly those, filtered in the kernel, so that an
# exact count can take them out by name. On a host without such a thread it
# records nothing. Sourced by tests/integration/lib.sh and bench/run.sh.

WITNESS=
WITNESS_EVENTS=
WITNESS_TIDS=		# the filter for PID 1's threads, as the instance was opened
WITNESS_TW_KILL=0

# witness_pid1_threads: a filter for the threads PID 1 has now (or
# WITNESS_PID, to check the witness on a process of one's own)
witness_pid1_threads()
{
	(cd "/proc/${WITNESS_PID:-1}/task" 2>/dev/null && printf 'common_pid == %s || ' *) | sed 's/ || $//'
}

# witness_event EVENT FILTER: record EVENT where FILTER holds, in the
# instance open now
witness_event()
{
	[ -n "$WITNESS" ] || return 0
	if ! echo "$2" >"$WITNESS/events/$1/filter"; then
		witness_remove
		return 0
	fi
	WITNESS_EVENTS="$WITNESS_EVENTS $1"
	echo 1 >"$WITNESS/events/$1/enable"
}

# witness_open NAME EVENT FILTER: the instance NAME recording EVENT where
# FILTER holds, on a thread PID 1 has now; nothing without tracefs
witness_open()
{
	local t=/sys/kernel/tracing tids
	[ -d "$t/instances" ] || t=/sys/kernel/debug/tracing
	[ -d "$t/instances" ] || return 0
	tids=$(witness_pid1_threads)
	[ -n "$tids" ] || return 0
	WITNESS=$t/instances/$1
	WITNESS_EVENTS=
	WITNESS_TIDS=$tids
	WITNESS_TW_KILL=0
	mkdir -p "$WITNESS" 2>/dev/null || { WITNESS=; return 0; }
	witness_event "$2" "($tids) && $3"
}

# witness_tw_timer_fn: the address of tw_timer_handler as a filter takes
# it; nothing if it is not there or hidden from us (all zeros)
witness_tw_timer_fn()
{
	local fn
	fn=$(awk '$3 == "tw_timer_handler" { print $1; exit }' /proc/kallsyms 2>/dev/null)
	if [ -n "$fn" ] && [ -n "${fn//0/}" ]; then
		echo "0x$fn"
	fi
}

# witness_start NAME LO HI [all]: record every TCP ->CLOSE (with "all",
# every transition) with a port in [LO, HI] at either end
witness_start()
{
	local which="newstate == 7 && "
	[ "${4:-}" = all ] && which=
	witness_open "$1" sock/inet_sock_set_state \
		"${which}protocol == 6 && ((sport >= $2 && sport <= $3) || (dport >= $2 && dport <= $3))"
}

# witness_start_tw NAME: record every start of a tw sock's timer: its
# birth (or, rarely, a re-arm when a FIN comes again)
witness_start_tw()
{
	local fn
	fn=$(witness_tw_timer_fn)
	[ -n "$fn" ] || return 0
	witness_open "$1" timer/timer_start "function == $fn"
}

# witness_add_tw_kill: to the instance open now, add the tw socks killed
# on PID 1's threads (by a reset, in a softirq there), whose end no BPF
# program sees. A kill shows only as a cancel of the tw sock's timer,
# and a cancel names no function, so the starts of every tw sock's timer
# are recorded too (on every thread) to tell which timers are tw socks'.
witness_add_tw_kill()
{
	local fn
	[ -n "$WITNESS" ] || return 0
	fn=$(witness_tw_timer_fn)
	[ -n "$fn" ] || return 0
	# a start per tw sock, tens of thousands in a burst: 16 MiB a CPU
	echo 16384 >"$WITNESS/buffer_size_kb" 2>/dev/null
	WITNESS_TW_KILL=1
	witness_event timer/timer_start "function == $fn"
	witness_event timer/timer_cancel "$WITNESS_TIDS"
}

# witness_add_retransmits LO HI: to the instance open now, add the buffers
# and the SYN-ACKs of request socks retransmitted on PID 1's threads (a
# retransmit timer's softirq there) with a port in [LO, HI] at either end
witness_add_retransmits()
{
	local ports="((sport >= $1 && sport <= $2) || (dport >= $1 && dport <= $2))"
	[ -n "$WITNESS" ] || return 0
	witness_event tcp/tcp_retransmit_skb "($WITNESS_TIDS) && $ports"
	witness_event tcp/tcp_retransmit_synack "($WITNESS_TIDS) && $ports"
}

# witness_add_resets: to the instance open now, add the resets sent and
# received on PID 1's threads (any port: a reset to a tw sock kills it
# with no transition, and a tracer sees neither end of it there)
witness_add_resets()
{
	[ -n "$WITNESS" ] || return 0
	witness_event tcp/tcp_send_reset "$WITNESS_TIDS"
	witness_event tcp/tcp_receive_reset "$WITNESS_TIDS"
}

# witness_add_tw_expiry: to the instance open now, add the tw socks' timers
# that expired on PID 1's threads (a tw sock's end in its softirq there);
# a timer names no port, so these are any namespace's
witness_add_tw_expiry()
{
	local fn
	[ -n "$WITNESS" ] || return 0
	fn=$(witness_tw_timer_fn)
	[ -n "$fn" ] || return 0
	witness_event timer/timer_expire_entry "($WITNESS_TIDS) && function == $fn"
}

# witness_disable: stop recording every event of the instance
witness_disable()
{
	local ev
	for ev in $WITNESS_EVENTS; do
		echo 0 >"$WITNESS/events/$ev/enable" 2>/dev/null
	done
}

# witness_stop FILE: stop recording; FILE gets one line per event recorded,
# "sport dport newstate" (newstate as TCP_X) for a transition,
# "tw_timer_start" for a timer start (from witness_start_tw), and "tw_kill"
# for a tw sock killed and "tw_rearm" for one re-armed (from
# witness_add_tw_kill), "retransmit" for a retransmitted buffer (an
# instance of tcp/tcp_retransmit_skb) and "synack_retransmit" for a
# request sock's SYN-ACK sent again, "reset_sent" and "reset_received"
# for a reset (from witness_add_resets), "tw_expire" for a tw sock's timer
# run out (from witness_add_tw_expiry), and is empty without a witness. A cancel that a
# start of the same timer follows on the same CPU within 3 us is the
# re-arm of one call (mod_timer), not a kill: a FIN reaching a FIN_WAIT2
# tw sock, or sent again to one in TIME_WAIT.
witness_stop()
{
	: >"$1"
	[ -n "$WITNESS" ] || return 0
	witness_disable
	awk -v tw_kill="$WITNESS_TW_KILL" '
		function flush_cancel(cpu) {
			if (cancel[cpu] != "" && (cancel[cpu] in tw_timer)) {
				print "tw_kill"
				delete tw_timer[cancel[cpu]]
			}
			cancel[cpu] = ""
		}
		/^ *#/ { next }
		{
			cpu = match($0, /\[[0-9]+\]/) ? substr($0, RSTART + 1, RLENGTH - 2) : ""
			ts = $0; sub(/: [a-z_]+: .*$/, "", ts); sub(/^.* /, "", ts)
			timer = $0; sub(/^.* timer=/, "", timer); sub(/ .*$/, "", timer)
		}
		/ inet_sock_set_state: / {
			if (match($0, /sport=[0-9]+ dport=[0-9]+ /) && match($0, /newstate=[A-Z_0-9]+/)) {
				s = $0; sub(/^.* sport=/, "", s); sub(/ .*$/, "", s)
				d = $0; sub(/^.* dport=/, "", d); sub(/ .*$/, "", d)
				n = $0; sub(/^.*newstate=/, "", n); sub(/[^A-Z_0-9].*$/, "", n)
				print s, d, n
			}
			next
		}
		/ tcp_retransmit_skb: / { print "retransmit"; next }
		/ tcp_retransmit_synack: / { print "synack_retransmit"; next }
		/ tcp_send_reset: / { print "reset_sent"; next }
		/ tcp_receive_reset: / { print "reset_received"; next }
		/ timer_expire_entry: / { print "tw_expire"; next }
		/ timer_start: / {
			if (!tw_kill) { print "tw_timer_start"; next }
			if (cancel[cpu] == timer && ts - cancel_ts[cpu] <= 0.000003) {
				print "tw_rearm"	# a FIN reached it, unseen
				cancel[cpu] = ""
			} else
				flush_cancel(cpu)
			tw_timer[timer] = 1
			next
		}
		/ timer_cancel: / {
			flush_cancel(cpu)
			cancel[cpu] = timer
			cancel_ts[cpu] = ts
			next
		}
		END { for (c in cancel) flush_cancel(c) }
	' "$WITNESS/trace" >"$1"
	witness_remove
}

# witness_remove: take the instance away, recorded or not (at exit)
witness_remove()
{
	[ -n "$WITNESS" ] || return 0
	witness_disable
	rmdir "$WITNESS" 2>/dev/null
	WITNESS=
	WITNESS_EVENTS=
	WITNESS_TIDS=
}
