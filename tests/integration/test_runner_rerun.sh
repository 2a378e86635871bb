#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# tests/run.sh runs an integration test once more when it failed while TCP
# work of the test ran where no BPF program runs (PID 1's threads on the VM
# synfin was written on: witness.sh), and only then. Checked on a runner
# of three stand-in tests, with a helper process of ours playing PID 1
# (WITNESS_PID) that makes one connection while the second test runs:
#   test_always  fails every time: counted once as failed, not run again
#   test_flaky   fails its first run, during which the helper connects
#                to a closed port: run again (a RERUN line naming the
#                helper's transitions and the refusal's reset, sent and
#                received in its context), and its second run's PASS counts
#   test_lone    fails its first run with nothing run on the helper: not
#                run again, though a second run would pass
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

T=runner_rerun
[ "$(id -u)" = 0 ] || { sf_skip "$T" "not root"; sf_done; }
[ -d /sys/kernel/tracing/instances ] || [ -d /sys/kernel/debug/tracing/instances ] ||
	{ sf_skip "$T" "no tracefs instances"; sf_done; }

IT=$SF_TMP/it
mkdir -p "$IT" "$SF_TMP/nobuild"
# standin NAME BODY: a stand-in test; BODY runs on its first run, which
# then fails; a later run passes
standin()
{
	cat >"$IT/test_$1.sh" <<-STANDIN
		if [ -e "\$RR_DIR/$1.ran" ]; then echo "PASS $1"; exit 0; fi
		: >"\$RR_DIR/$1.ran"
		$2
		echo "FAIL $1: its first run"
		exit 1
	STANDIN
}
cat >"$IT/test_always.sh" <<'STANDIN'
echo "FAIL always: every run"
exit 1
STANDIN
# the helper connects and says so; the test waits up to 5 s for it
# shellcheck disable=SC2016 # expanded in the stand-in
standin flaky ': >"$RR_DIR/go"; for _ in $(seq 100); do [ -e "$RR_DIR/done" ] && break; sleep 0.05; done'
standin lone ':'

# the helper: waits for the go, then one connection to a closed port on
# loopback, made in its own context (bash's /dev/tcp: no new process)
(
	while [ ! -e "$SF_TMP/go" ]; do sleep 0.02; done
	: 2>/dev/null 3<>/dev/tcp/127.0.0.1/9
	: >"$SF_TMP/done"
) &
HELPER=$!
SF_PIDS+=("$HELPER")

RR_DIR=$SF_TMP WITNESS_PID=$HELPER BUILD=$SF_TMP/nobuild IT_DIR=$IT \
	bash "$SF_ROOT/tests/run.sh" >"$SF_TMP/run.out" 2>&1
echo "$?" >"$SF_TMP/run.rc"

out=$(tr '\n' '|' <"$SF_TMP/run.out")
if [ ! -e "$SF_TMP/done" ]; then
	sf_fail "$T/helper" "the helper never connected: $out"
elif [ "$(tail -n 1 "$SF_TMP/run.out")" != "1 passed, 2 failed" ] ||
	[ "$(cat "$SF_TMP/run.rc")" = 0 ]; then
	sf_fail "$T/counts" "want 1 passed, 2 failed and a non-zero exit: $out"
elif [ "$(grep -c '^RERUN ' "$SF_TMP/run.out")" != 1 ] ||
	! grep -q '^RERUN integration/test_flaky: .*SYN_SENT.*reset_sent.*reset_received' "$SF_TMP/run.out"; then
	sf_fail "$T/rerun" "want one RERUN line, test_flaky's, naming its SYN-SENT and the refusal's reset sent and received: $out"
elif [ "$(grep -c '^PASS flaky$' "$SF_TMP/run.out")" != 1 ] ||
	grep -q '^PASS lone' "$SF_TMP/run.out" ||
	[ "$(grep -c '^FAIL always' "$SF_TMP/run.out")" != 1 ]; then
	sf_fail "$T/runs" "want flaky passed once, lone and always run once: $out"
else
	sf_pass "$T"
fi
sf_done
