#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The tests' witness of transitions no BPF program sees, checked on a
# process of our own. On the VM synfin was written on, softirq work run on
# PID 1's threads is invisible to BPF (witness.sh); a SYN's timeout runs in
# the retransmit timer's softirq, so now and then a timed-out client's
# ->CLOSE is unseen, and test_syn_timeout then checks the destroy record
# that stands in for it. That branch cannot be forced on PID 1. Here a busy
# loop pinned to CPU 0 plays PID 1 (WITNESS_PID): the timer of a client
# pinned there fires in the loop's context, and SYNFIN_TEST_LOSE_CLOSE
# makes synfin lose every ->CLOSE record, as BPF would there. The timer
# may fire in another task's context (synfin's, say): then the witness saw
# nothing and the run is tried again, at most three times.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

T=witness
sf_require "$T"
command -v taskset >/dev/null || { sf_skip "$T" "no taskset"; sf_done; }
[ -d /sys/kernel/tracing/instances ] || [ -d /sys/kernel/debug/tracing/instances ] ||
	{ sf_skip "$T" "no tracefs instances"; sf_done; }

taskset -c 0 sh -c 'while :; do :; done' &
BUSY=$!
SF_PIDS+=("$BUSY")

seen=0
for try in 1 2 3; do
	WITNESS_PID=$BUSY SYNFIN_TEST_LOSE_CLOSE=1 taskset -c 0 \
		bash "$SF_ROOT/tests/integration/test_syn_timeout.sh" >"$SF_TMP/run.$try" 2>&1
	if grep -q "its ->CLOSE ran on PID 1's threads" "$SF_TMP/run.$try"; then
		seen=$try
		break
	fi
done
kill "$BUSY"

if [ "$seen" = 0 ]; then
	sf_fail "$T/syn_timeout" "the witness saw no ->CLOSE in the busy loop's context in 3 tries: $(
		grep -h '^FAIL' "$SF_TMP"/run.* | head -n 1)"
elif grep -qx "PASS syn_timeout/client" "$SF_TMP/run.$seen" &&
	! grep -q '^FAIL' "$SF_TMP/run.$seen"; then
	echo "  the witness named the ->CLOSE on try $seen of 3"
	sf_pass "$T/syn_timeout"
else
	sf_fail "$T/syn_timeout" "the destroy record's checks failed (try $seen): $(
		tr '\n' ' ' <"$SF_TMP/run.$seen")"
fi
sf_done
