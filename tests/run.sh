#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Test runner: every unit binary in build/tests/ and every integration script
# in tests/integration/, their PASS/FAIL/SKIP lines, then "N passed, N failed".
# With SYNFIN_REQUIRE_BPF=1 a SKIP counts as a failure.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
UNIT_TIMEOUT=${UNIT_TIMEOUT:-60}
IT_TIMEOUT=${IT_TIMEOUT:-120}

passed=0
failed=0
skipped=0
out=$(mktemp /tmp/synfin-run.XXXXXX) || exit 1
trap 'rm -f "$out"' EXIT

# run_one NAME TIMEOUT CMD...: run with its stdout shown live and counted.
run_one()
{
	local name=$1 limit=$2 rc p f s
	shift 2
	timeout -k 5 "$limit" "$@" </dev/null | tee "$out"
	rc=${PIPESTATUS[0]}
	p=$(grep -c '^PASS ' "$out")
	f=$(grep -c '^FAIL ' "$out")
	s=$(grep -c '^SKIP ' "$out")
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "FAIL $name: timed out after ${limit}s"
		f=$((f + 1))
	elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		# a crash or a non-zero exit without a FAIL line is one failure
		echo "FAIL $name: exited with status $rc and no FAIL line"
		f=1
	elif [ "$rc" = 0 ] && [ $((p + f + s)) = 0 ]; then
		echo "FAIL $name: reported nothing"
		f=1
	fi
	if [ "${SYNFIN_REQUIRE_BPF:-0}" = 1 ]; then
		f=$((f + s))
		s=0
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
}

shopt -s nullglob
for t in "$BUILD"/tests/test_*; do
	if [ ! -f "$t" ] || [ ! -x "$t" ]; then continue; fi
	case $t in *.d | *.o) continue ;; esac
	run_one "unit/$(basename "$t")" "$UNIT_TIMEOUT" "$t"
done
# the same, built with AddressSanitizer and UBSan (make unit-tests): a
# report ends the test with status 99, a failure
for t in "$BUILD"/san/tests/test_*; do
	if [ ! -f "$t" ] || [ ! -x "$t" ]; then continue; fi
	case $t in *.d | *.o) continue ;; esac
	run_one "unit-san/$(basename "$t")" "$UNIT_TIMEOUT" \
		env ASAN_OPTIONS=exitcode=99 UBSAN_OPTIONS=print_stacktrace=1 "$t"
done
for t in "$ROOT"/tests/integration/test_*.sh; do
	# a test that needs longer says so in a "# timeout: SECONDS" line
	limit=$(sed -n 's/^# timeout: *\([0-9][0-9]*\)$/\1/p' "$t" | head -n 1)
	[ "$IT_TIMEOUT" -gt "${limit:-0}" ] && limit=$IT_TIMEOUT
	run_one "integration/$(basename "$t" .sh)" "$limit" bash "$t"
done

summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
[ "$failed" = 0 ]
