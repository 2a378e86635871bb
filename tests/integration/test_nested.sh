#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Transitions the kernel skips for tp_state are handled by tp_state_nested.
# The kernel runs a program at most once per CPU at a time, so a transition
# in softirq that lands while tp_state runs in process context (connect(),
# close()) on that CPU is a recursion miss of tp_state. Loopback churn in one
# namespace (the benchmark's generator: 4 connectors, the client closes
# first) makes thousands of them a second here.
#  - caught: every miss of tp_state and tp_destroy, as the kernel counts
#    them, was caught by their second copies, both read by synfin in one
#    moment as it exits (-v; no fewer than bpftool counted before), and
#    there were misses to catch (else up to three rounds, then FAIL: the
#    check would prove nothing);
#  - once: no connection end has two conn records (a run handled by both
#    copies).
# Both ways of telling a softirq from task context are run: from the stack
# a tracepoint runs on (x86_64) and from the softirq tracepoints (elsewhere,
# and here with SYNFIN_LEVEL_FROM_SOFTIRQ set).
# Records are not counted against the generator's connections here: on the
# VMs this runs on, softirq work done on the sandbox agent's thread runs no
# BPF program at all, and the kernel counts no miss for it (ftrace sees those
# transitions; docs/performance.md), so a count would fail by chance.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=nested
sf_setup_churn "$T"

# the recursion misses of tp_state and tp_destroy as the kernel counts them
# (bpftool's JSON names no owning process here, so the test needs the only
# ones loaded)
first_copy_misses()
{
	bpftool prog show -j 2>/dev/null | jq '[.[] | select(.name == "tp_state" or
		.name == "tp_destroy")] | if length == 2 then map(.recursion_misses // 0) | add
		else error("\(length) programs") end'
}

# method NAME WANT: churn under synfin, whose -v line must name WANT as
# the source of the nesting level
method()
{
	local name=$1 want=$2 conns=0 misses=0 round dups ends
	if ! sf_synfin_start -v --netns "$SF_NETNS_S"; then
		sf_fail "$T/$name" "synfin did not start: $(head -n 3 "$SF_ERR" | tr '\n' ' ')"
		return
	fi
	if ! grep -q "^synfin: nesting level from $want\$" "$SF_ERR"; then
		sf_synfin_stop
		sf_fail "$T/$name" "not the level from $want: $(grep nesting "$SF_ERR")"
		return
	fi
	for round in 1 2 3; do
		if ! sf_in "$SF_NS_S" "$CHURN" --mode client-first --conns-parallel 4 --duration 2 \
			>"$SF_TMP/churn$round.json" 2>"$SF_TMP/churn$round.err"; then
			sf_synfin_stop
			sf_fail "$T/$name/churn" "churn failed: $(head -c 300 "$SF_TMP/churn$round.err")"
			return
		fi
		conns=$((conns + $(jq .conns "$SF_TMP/churn$round.json")))
		if ! misses=$(first_copy_misses); then
			sf_synfin_stop
			sf_fail "$T/$name/caught" "not one tp_state and one tp_destroy loaded"
			return
		fi
		echo "  $name round $round: $conns connections, recursion misses of the first copies $misses"
		[ "$misses" -gt 0 ] && break
	done
	# the last connection ends (FIN_WAIT2 -> CLOSE on the client) come with
	# the peer's FIN; let them land
	sleep 1
	misses=$(first_copy_misses)
	sf_synfin_stop || sf_fail "$T/$name/stop" "synfin did not exit cleanly"

	# The misses and the catches as synfin read them in one moment at exit
	# (-v): bpftool's count and synfin's summary are a second apart, and
	# host traffic outside the namespace is missed and caught too.
	local line skipped took
	line=$(grep '^synfin: recursion: ' "$SF_ERR")
	skipped=$(echo "$line" | sed -n 's/.* skipped \([0-9]*\) runs of tp_state.*/\1/p')
	took=$(echo "$line" | sed -n 's/.* second copies took \([0-9]*\);.*/\1/p')
	if [ -n "$skipped" ] && [ "$skipped" -gt 0 ] && [ "$skipped" -ge "$misses" ] &&
		[ "$took" = "$skipped" ]; then
		sf_pass "$T/$name/caught"
	else
		sf_fail "$T/$name/caught" "tp_state and tp_destroy missed '$skipped' runs (bpftool, earlier: $misses), the second copies caught '$took': $line"
	fi

	# a run handled by both copies would write a connection end's record twice
	dups=$(jq -r --argjson ns "$SF_NETNS_S" 'select(.type == "conn" and .netns == $ns) |
		"\(.role) \(.lport) \(.rport) \(.handshake.isn_local)"' "$SF_OUT" | sort | uniq -d | grep -c .)
	ends=$(jq -r --argjson ns "$SF_NETNS_S" 'select(.type == "conn" and .netns == $ns) | .role' \
		"$SF_OUT" | grep -c .)
	if [ "$dups" = 0 ] && [ "$ends" -gt "$conns" ]; then
		sf_pass "$T/$name/once"
	else
		sf_fail "$T/$name/once" "$dups connection ends recorded twice (of $ends records, $conns connections)"
	fi
}

if [ "$(uname -m)" = x86_64 ]; then
	method stack "the stack a tracepoint runs on"
else
	sf_skip "$T/stack" "the level is read from the stack on x86_64 only"
fi
SYNFIN_LEVEL_FROM_SOFTIRQ=1 method softirq "the softirq tracepoints"
sf_done
