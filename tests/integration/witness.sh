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
WITNESS_EVENT=sock/inet_sock_set_state

# witness_open NAME EVENT FILTER: the instance NAME recording EVENT where
# FILTER holds, on a thread PID 1 has now; nothing without tracefs
witness_open()
{
	local t=/sys/kernel/tracing tids
	[ -d "$t/instances" ] || t=/sys/kernel/debug/tracing
	[ -d "$t/instances" ] || return 0
	tids=$(cd /proc/1/task 2>/dev/null && printf 'common_pid == %s || ' * | sed 's/ || $//')
	[ -n "$tids" ] || return 0
	WITNESS=$t/instances/$1
	WITNESS_EVENT=$2
	mkdir -p "$WITNESS" 2>/dev/null || { WITNESS=; return 0; }
	if ! echo "($tids) && $3" >"$WITNESS/events/$WITNESS_EVENT/filter"; then
		witness_remove
		return 0
	fi
	echo 1 >"$WITNESS/events/$WITNESS_EVENT/enable"
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
	fn=$(awk '$3 == "tw_timer_handler" { print $1; exit }' /proc/kallsyms 2>/dev/null)
	# none, or hidden from us (all zeros)
	[ -n "$fn" ] && [ -n "${fn//0/}" ] || return 0
	witness_open "$1" timer/timer_start "function == 0x$fn"
}

# witness_stop FILE: stop recording; FILE gets one line per event recorded,
# "sport dport newstate" (newstate as TCP_X) for a transition and
# "tw_timer_start" for a timer, and is empty without a witness
witness_stop()
{
	: >"$1"
	[ -n "$WITNESS" ] || return 0
	echo 0 >"$WITNESS/events/$WITNESS_EVENT/enable"
	if [ "$WITNESS_EVENT" = timer/timer_start ]; then
		sed -n 's/.* timer_start: .*/tw_timer_start/p' "$WITNESS/trace" >"$1"
	else
		sed -n 's/.* sport=\([0-9]*\) dport=\([0-9]*\) .*newstate=\([A-Z_0-9]*\).*/\1 \2 \3/p' \
			"$WITNESS/trace" >"$1"
	fi
	witness_remove
}

# witness_remove: take the instance away, recorded or not (at exit)
witness_remove()
{
	[ -n "$WITNESS" ] || return 0
	echo 0 >"$WITNESS/events/$WITNESS_EVENT/enable" 2>/dev/null
	rmdir "$WITNESS" 2>/dev/null
	WITNESS=
}
