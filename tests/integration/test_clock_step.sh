#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The wall clock is stepped while synfin runs (NTP's first sync after a
# boot that started synfin early, a resume): records must keep to the wall
# clock, not to the offset synfin read at its start. The machine's clock is
# not touched: the clockshift shim (LD_PRELOAD) moves synfin's
# CLOCK_REALTIME reads two hours ahead once a file says so. A record before
# the step has a time within seconds of now, one after it within seconds
# of now + 2 h.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=clock_step
SHIFT=7200
SHIM=$SF_ROOT/build/tools/clockshift.so
sf_setup_ns "$T"
[ -e "$SHIM" ] || { sf_fail "$T" "no $SHIM (make tools)"; sf_done; }

SF_OUT=$SF_TMP/synfin.out
SF_ERR=$SF_TMP/synfin.err
LD_PRELOAD=$SHIM CLOCKSHIFT_FILE=$SF_TMP/shift "$SYNFIN" -j --netns "$SF_NETNS_S" \
	>"$SF_OUT" 2>"$SF_ERR" &
SF_SYNFIN_PID=$!
SF_PIDS+=("$SF_SYNFIN_PID")
sf_wait_ready "$SF_SYNFIN_PID" "$SF_ERR" synfin || { sf_fail "$T" "synfin did not start"; sf_done; }

# record_time PORT: the epoch second of the server's record on PORT
record_time()
{
	jq -r --argjson p "$1" 'select(.type == "conn" and .lport == $p) |
		.ts | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601' "$SF_OUT" | head -n 1
}

# near NAME GOT WANT: GOT within 5 s of WANT
near()
{
	if [ -n "$2" ] && [ $(( $2 - $3 )) -le 5 ] && [ $(( $3 - $2 )) -le 5 ]; then
		sf_pass "$T/$1"
	else
		sf_fail "$T/$1" "record time ${2:-none}, want about $3"
	fi
}

sf_pair "$T/before" "$SF_S4" 5721 -- --timeout-ms 5000
sf_wait_records 5 "$SF_NETNS_S $SF_S4 5721 $SF_C4 $CP"
near before "$(record_time 5721)" "$(date +%s)"

echo "$SHIFT" >"$SF_TMP/shift"
# synfin takes the wall clock's offset again once a second
sleep 1.5
sf_pair "$T/after" "$SF_S4" 5722 -- --timeout-ms 5000
sf_wait_records 5 "$SF_NETNS_S $SF_S4 5722 $SF_C4 $CP"
near after "$(record_time 5722)" "$(( $(date +%s) + SHIFT ))"

sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"
sf_done
