#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Test runner: every unit binary in build/tests/ and every integration script
# in tests/integration/, their PASS/FAIL/SKIP lines, then "N passed, N failed".
# With SYNFIN_REQUIRE_BPF=1 a SKIP counts as a failure.
# An integration test that fails while TCP work ran where no BPF program
# runs (witness.sh: softirq work on PID 1's threads, which no BPF tracer
# sees and no counter counts; on the VM synfin was written on PID 1 has no
# TCP sockets, so that work is the tests' traffic) is run once more, said
# on a RERUN line, and the second run's result counts.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
IT_DIR=${IT_DIR:-$ROOT/tests/integration}
UNIT_TIMEOUT=${UNIT_TIMEOUT:-60}
IT_TIMEOUT=${IT_TIMEOUT:-120}

passed=0
failed=0
skipped=0
# shellcheck source=tests/integration/witness.sh
. "$ROOT/tests/integration/witness.sh"

out=$(mktemp /tmp/synfin-run.XXXXXX) || exit 1
blind=$(mktemp /tmp/synfin-run.XXXXXX) || { rm -f "$out"; exit 1; }
trap 'rm -f "$out" "$blind"; witness_remove' EXIT

# run_one NAME TIMEOUT CMD...: run with its stdout shown live; its counts
# in run_p, run_f and run_s, for tally to add
run_one()
{
	local name=$1 limit=$2 rc
	shift 2
	timeout -k 5 "$limit" "$@" </dev/null | tee "$out"
	rc=${PIPESTATUS[0]}
	run_p=$(grep -c '^PASS ' "$out")
	run_f=$(grep -c '^FAIL ' "$out")
	run_s=$(grep -c '^SKIP ' "$out")
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "FAIL $name: timed out after ${limit}s"
		run_f=$((run_f + 1))
	elif [ "$rc" != 0 ] && [ "$run_f" = 0 ]; then
		# a crash or a non-zero exit without a FAIL line is one failure
		echo "FAIL $name: exited with status $rc and no FAIL line"
		run_f=1
	elif [ "$rc" = 0 ] && [ $((run_p + run_f + run_s)) = 0 ]; then
		echo "FAIL $name: reported nothing"
		run_f=1
	fi
	if [ "${SYNFIN_REQUIRE_BPF:-0}" = 1 ]; then
		run_f=$((run_f + run_s))
		run_s=0
	fi
}

tally()
{
	passed=$((passed + run_p))
	failed=$((failed + run_f))
	skipped=$((skipped + run_s))
}

# watch_start: record every TCP transition, retransmitted buffer or
# SYN-ACK, reset and tw sock's expiry run on PID 1's threads
# (WITNESS_PID's, to test this) while one integration test runs; nothing
# without tracefs
watch_start()
{
	witness_open "synfin-run-$$" sock/inet_sock_set_state "protocol == 6"
	witness_add_retransmits 0 65535
	witness_add_resets
	witness_add_tw_expiry
}

# watch_stop: stop recording; blind_seen is what it recorded, one item a
# line (witness_stop's), at most 5 of them
watch_stop()
{
	witness_stop "$blind"
	blind_n=$(wc -l <"$blind")
	blind_seen=$(head -n 5 "$blind" | paste -sd ',' -)
}

# run_it NAME TIMEOUT CMD...: run_one, watched
run_it()
{
	watch_start
	run_one "$@"
	watch_stop
}

shopt -s nullglob
for t in "$BUILD"/tests/test_*; do
	if [ ! -f "$t" ] || [ ! -x "$t" ]; then continue; fi
	case $t in *.d | *.o) continue ;; esac
	run_one "unit/$(basename "$t")" "$UNIT_TIMEOUT" "$t"
	tally
done
# the same, built with AddressSanitizer and UBSan (make unit-tests): a
# report ends the test with status 99, a failure
for t in "$BUILD"/san/tests/test_*; do
	if [ ! -f "$t" ] || [ ! -x "$t" ]; then continue; fi
	case $t in *.d | *.o) continue ;; esac
	run_one "unit-san/$(basename "$t")" "$UNIT_TIMEOUT" \
		env ASAN_OPTIONS=exitcode=99 UBSAN_OPTIONS=print_stacktrace=1 "$t"
	tally
done
# and the plain build under valgrind: glibc is not built with the
# sanitizers, so a use of memory it freed itself (a FILE after fclose)
# shows only here; an error ends the test with status 98. Not the
# sanitized binaries (make test-sanitizers points BUILD at them): valgrind
# cannot run those, and the sanitizers do that run.
for t in "$BUILD"/tests/test_*; do
	if [ ! -f "$t" ] || [ ! -x "$t" ]; then continue; fi
	case $t in *.d | *.o) continue ;; esac
	grep -qa __asan_init "$t" && continue
	run_one "unit-valgrind/$(basename "$t")" "$UNIT_TIMEOUT" \
		valgrind -q --error-exitcode=98 --leak-check=no "$t"
	tally
done
for t in "$IT_DIR"/test_*.sh; do
	name=integration/$(basename "$t" .sh)
	# a test that needs longer says so in a "# timeout: SECONDS" line
	limit=$(sed -n 's/^# timeout: *\([0-9][0-9]*\)$/\1/p' "$t" | head -n 1)
	[ "$IT_TIMEOUT" -gt "${limit:-0}" ] && limit=$IT_TIMEOUT
	run_it "$name" "$limit" bash "$t"
	# Not a retry of any failure: only of one that met work no BPF
	# program saw, which no check of synfin's can allow for by itself.
	if [ "$run_f" -gt 0 ] && [ "$blind_n" -gt 0 ]; then
		echo "RERUN $name: it failed while $blind_n TCP event(s) ran on PID 1's threads, where no BPF program runs ($blind_seen); the second run counts"
		run_it "$name" "$limit" bash "$t"
		if [ "$run_f" -gt 0 ] && [ "$blind_n" -gt 0 ]; then
			echo "  (the second run met $blind_n such event(s) too: $blind_seen)"
		fi
	fi
	tally
done

summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
[ "$failed" = 0 ]
