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

# witness_start NAME LO HI [all]: record every TCP ->CLOSE (with "all",
# every transition) with a port in [LO, HI] at either end, run on a thread
# PID 1 has now, in the ftrace instance NAME; nothing without tracefs
witness_start()
{
	local t=/sys/kernel/tracing which="newstate == 7 && " tids
	[ "${4:-}" = all ] && which=
	[ -d "$t/instances" ] || t=/sys/kernel/debug/tracing
	[ -d "$t/instances" ] || return 0
	tids=$(cd /proc/1/task 2>/dev/null && printf 'common_pid == %s || ' * | sed 's/ || $//')
	[ -n "$tids" ] || return 0
	WITNESS=$t/instances/$1
	mkdir -p "$WITNESS" 2>/dev/null || { WITNESS=; return 0; }
	if ! echo "${which}protocol == 6 && ($tids) &&" \
		"((sport >= $2 && sport <= $3) || (dport >= $2 && dport <= $3))" \
		>"$WITNESS/events/sock/inet_sock_set_state/filter"; then
		witness_remove
		return 0
	fi
	echo 1 >"$WITNESS/events/sock/inet_sock_set_state/enable"
}

# witness_stop FILE: stop recording; FILE gets one line "sport dport
# newstate" (newstate as TCP_X) per transition recorded, and is empty
# without a witness
witness_stop()
{
	: >"$1"
	[ -n "$WITNESS" ] || return 0
	echo 0 >"$WITNESS/events/sock/inet_sock_set_state/enable"
	sed -n 's/.* sport=\([0-9]*\) dport=\([0-9]*\) .*newstate=\([A-Z_0-9]*\).*/\1 \2 \3/p' \
		"$WITNESS/trace" >"$1"
	witness_remove
}

# witness_remove: take the instance away, recorded or not (at exit)
witness_remove()
{
	[ -n "$WITNESS" ] || return 0
	echo 0 >"$WITNESS/events/sock/inet_sock_set_state/enable" 2>/dev/null
	rmdir "$WITNESS" 2>/dev/null
	WITNESS=
}
