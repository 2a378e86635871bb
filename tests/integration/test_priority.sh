#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The reader thread runs --priority-boost nice steps below where synfin
# started (default 4), clamped at -20; the census thread keeps the start
# value; --priority-boost 0 leaves both alone. A reader starved by the load
# it watches lets the ring overflow (docs/performance.md).
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=priority
sf_require "$T"

# nice_of PID TID: field 19 of the thread's stat (after the comm, which
# may hold spaces, so counted from the closing parenthesis)
nice_of()
{
	sed 's/.*) //' "/proc/$1/task/$2/stat" 2>/dev/null | awk '{ print $17 }'
}

# check NAME START WANT_READER [ARGS...]: start synfin at nice START
# ($WRAP, if set, runs it: a capability drop)
check()
{
	local name=$1 start=$2 want=$3 pid tid reader=None others='' warned
	shift 3
	SF_OUT=$SF_TMP/$name.out
	SF_ERR=$SF_TMP/$name.err
	# shellcheck disable=SC2086
	$WRAP nice -n "$start" "$SYNFIN" -j --netns "$SF_NETNS_C" "$@" >"$SF_OUT" 2>"$SF_ERR" &
	SF_SYNFIN_PID=$!
	SF_PIDS+=("$SF_SYNFIN_PID")
	if ! sf_wait_ready "$SF_SYNFIN_PID" "$SF_ERR" synfin 2>"$SF_TMP/why"; then
		sf_fail "$T/$name" "$(cat "$SF_TMP/why")"
		return
	fi
	pid=$SF_SYNFIN_PID
	for tid in "/proc/$pid/task"/*; do
		tid=${tid##*/}
		if [ "$tid" = "$pid" ]; then
			reader=$(nice_of "$pid" "$tid")
		else
			others="$others $(nice_of "$pid" "$tid")"
		fi
	done
	sf_synfin_stop || sf_fail "$T/$name/stop" "synfin did not exit 0 on SIGINT"
	if [ "$reader" != "$want" ]; then
		sf_fail "$T/$name" "reader thread at nice $reader, want $want"
	elif [ -z "$others" ]; then
		sf_fail "$T/$name" "no census thread found beside the reader"
	elif echo "$others" | tr ' ' '\n' | grep -v '^$' | grep -qvx -- "$start"; then
		sf_fail "$T/$name" "other threads at nice$others, want $start"
	elif warned=$(grep -c 'cannot raise' "$SF_ERR"); [ "$warned" != "${WANT_WARNINGS:-0}" ]; then
		sf_fail "$T/$name" "$warned 'cannot raise' warnings, want ${WANT_WARNINGS:-0}: $(head -c 300 "$SF_ERR")"
	else
		sf_pass "$T/$name"
	fi
}

sf_setup_ns "$T"
check default 0 -4
check from_nice_5 5 1
check clamped -18 -20
check boost_10 0 -10 --priority-boost 10
check off 3 3 --priority-boost 0
# without CAP_SYS_NICE: one warning, and synfin runs on at its start value
if command -v setpriv >/dev/null; then
	WRAP="setpriv --inh-caps=-sys_nice --bounding-set=-sys_nice" WANT_WARNINGS=1 \
		check no_cap_sys_nice 0 0
else
	sf_skip "$T/no_cap_sys_nice" "setpriv not installed"
fi
sf_done
