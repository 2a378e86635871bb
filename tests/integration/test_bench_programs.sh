#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The benchmark's own programs that no other test drives still do their one
# job, briefly (`make bench` runs them for minutes; churn and floor are
# driven by the churn and bpf_object tests). Once, a change to the engine's
# record left bench/format not compiling for a day: `make test` now builds
# every bench program, and this runs them.
#   format    formats N records of each kind: a JSON line with a positive
#             cost per record for each
#   syscost   a JSON line with a positive cost per system call
#   listen    holds N listeners, also more than one process may hold
#             descriptors (it spreads them over processes): run under a
#             limit of 256 with 600 listeners, every one of them listening
#             in its namespace
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

T=bench_programs
BENCH=${BENCH:-$SF_ROOT/build/bench}
LISTENERS=600

for b in format syscost listen; do
	sf_require_tool "$T/$b" "$BENCH/$b"
done

# one_json NAME FILE JQ: FILE is one JSON object, and JQ holds of it
one_json()
{
	local name=$1 file=$2 filter=$3
	if [ "$(grep -c . "$file")" != 1 ] || ! jq -e "$filter" "$file" >/dev/null 2>&1; then
		sf_fail "$T/$name" "expected one JSON line where $filter; got: $(head -c 300 "$file")"
	else
		sf_pass "$T/$name"
	fi
}

timeout 60 "$BENCH/format" 200 >"$SF_TMP/format.out" 2>"$SF_TMP/format.err"
rc=$?
sf_check "$T/format/exit" "format exited $rc: $(head -c 300 "$SF_TMP/format.err")" [ "$rc" = 0 ]
one_json format/result "$SF_TMP/format.out" \
	'.records_per_kind == 200 and (.ns_per_record | keys) == ["conn", "state", "time_wait"] and
	 all(.ns_per_record[]; type == "number" and . > 0)'
timeout 5 "$BENCH/format" 0 >/dev/null 2>&1
rc=$?
sf_check "$T/format/bad-count" "format 0 exited $rc, not 2" [ "$rc" = 2 ]

timeout 60 "$BENCH/syscost" 10000 >"$SF_TMP/syscost.out" 2>"$SF_TMP/syscost.err"
rc=$?
sf_check "$T/syscost/exit" "syscost exited $rc: $(head -c 300 "$SF_TMP/syscost.err")" [ "$rc" = 0 ]
one_json syscost/result "$SF_TMP/syscost.out" \
	'.calls == 10000 and (.ns_per_call | type == "number" and . > 0)'

if [ "$(id -u)" != 0 ]; then
	sf_skip "$T/listen" "not root: cannot make a namespace"
	sf_done
fi
NS=${SF_PREFIX}l
if ! ip netns add "$NS"; then
	sf_fail "$T/listen" "cannot make namespace $NS"
	sf_done
fi
SF_NSES+=("$NS")
ip -n "$NS" link set lo up
# the descriptors are limited to 256 before listen starts; it holds the
# listeners 10 s or until killed
sf_bg "$SF_TMP/listen.out" "$NS" prlimit --nofile=256:256 "$BENCH/listen" --addr 127.0.0.1 \
	--port 20000 --count "$LISTENERS" --seconds 10 --ready-file "$SF_TMP/listen.ready"
LISTEN_PID=$SF_LAST_PID
if sf_wait_file "$SF_TMP/listen.ready"; then
	n=$(sf_in "$NS" ss -Hltn 'sport >= :20000' | grep -c .)
	sf_check "$T/listen/count" "$n listeners of $LISTENERS in the namespace" [ "$n" = "$LISTENERS" ]
else
	sf_fail "$T/listen/count" "not ready: $(head -c 300 "$SF_TMP/listen.out.err")"
fi
kill "$LISTEN_PID" 2>/dev/null
sf_wait_pid "$LISTEN_PID" 5
sf_done
