#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# /proc/kallsyms with its addresses hidden (kernel.kptr_restrict 2 hides
# them from root too; 1 from a process without CAP_SYSLOG). The loader
# asks it whether symbols exist (PREEMPT_RT's rt_spin_lock, KASAN's
# kasan_report: the stack size its nesting levels are read by) and for
# tw_timer_handler's address. It took a hidden address, 0, for a symbol
# missing: on a PREEMPT_RT or KASAN kernel the levels came out wrong, and
# -v said there was no tw_timer_handler. The symbols are now found by
# name; -v says the handler's address is hidden, and synfin runs on
# without the TIME_WAIT timers, inferring TIME_WAIT as it does without
# them.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=kallsyms_hidden
PORT=5744
sf_setup_ns "$T"
KPTR=/proc/sys/kernel/kptr_restrict
OLD_KPTR=$(cat "$KPTR") || { sf_fail "$T" "cannot read $KPTR"; sf_done; }
trap 'echo "$OLD_KPTR" >"$KPTR"; sf_cleanup' EXIT
echo 2 >"$KPTR" || { sf_fail "$T" "cannot set $KPTR"; sf_done; }
shown=$(awk '$3 == "tw_timer_handler" { print $1; exit }' /proc/kallsyms)
if [ -z "$shown" ] || [ -n "${shown//0/}" ]; then
	sf_fail "$T" "kptr_restrict 2 does not hide tw_timer_handler's address: '$shown'"
	sf_done
fi

sf_start "$T" -v --no-alerts --netns "$SF_NETNS_C"
sf_check "$T/said" "-v does not say the address is hidden: $(grep 'TIME_WAIT' "$SF_ERR" | head -n 2)" \
	grep -q "TIME_WAIT exits not measured (tw_timer_handler's address hidden in /proc/kallsyms" "$SF_ERR"
# the rest still works: the client's end goes to TIME_WAIT, inferred
sf_pair "$T" "$SF_S4" "$PORT" -- --close-first
sf_wait_records 5 "$CT"
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"
# shellcheck disable=SC2086
sf_expect "$T/inferred" "$(sf_records $CT)" \
	'.close.initiator == "local"' '.time_wait.source == "inferred"'
echo "$OLD_KPTR" >"$KPTR"
sf_check "$T/restored" "kptr_restrict is $(cat "$KPTR"), not $OLD_KPTR again" \
	[ "$(cat "$KPTR")" = "$OLD_KPTR" ]
sf_done
