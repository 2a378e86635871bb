#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# /proc/kallsyms with its addresses hidden (kernel.kptr_restrict 2 hides
# them from root too; 1 from a process without CAP_SYSLOG). The loader
# asks it whether symbols exist (PREEMPT_RT's rt_spin_lock, KASAN's
# kasan_report: the stack size its nesting levels are read by) and for
# tw_timer_handler's address, which the TIME_WAIT timers' programs know
# tw socks' timers by:
#  learned   synfin learns the address from a TIME_WAIT socket of its own
#            on the loopback, and measures TIME_WAIT as with the address
#            shown (an older build ran without the TIME_WAIT timers, and
#            inferred TIME_WAIT); the socket is reset once seen, so none is
#            left in TIME_WAIT in synfin's namespace (the build before left
#            it there its minute, for ss and the census to show);
#  fallback  where the client's orphan stays a full socket instead
#            (tcp_fin_timeout over 60 s), the server closes with a FIN, and
#            the address is learned from the TIME-WAIT socket that leaves
#            for its minute, as -v says;
#  unlearned in a network namespace whose loopback is down it cannot: -v
#            says why, and synfin runs on without the timers, inferring
#            TIME_WAIT.
# (An older build took a hidden address, 0, for a symbol missing: on a
# PREEMPT_RT or KASAN kernel the levels came out wrong, and -v said there
# was no tw_timer_handler. The symbols are found by name since.)
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=kallsyms_hidden
PORT=5744
sf_setup_ns "$T"
command -v unshare >/dev/null || { sf_fail "$T" "no unshare (util-linux)"; sf_done; }
KPTR=/proc/sys/kernel/kptr_restrict
OLD_KPTR=$(cat "$KPTR") || { sf_fail "$T" "cannot read $KPTR"; sf_done; }
trap 'echo "$OLD_KPTR" >"$KPTR"; sf_cleanup' EXIT
echo 2 >"$KPTR" || { sf_fail "$T" "cannot set $KPTR"; sf_done; }
shown=$(awk '$3 == "tw_timer_handler" { print $1; exit }' /proc/kallsyms)
if [ -z "$shown" ] || [ -n "${shown//0/}" ]; then
	sf_fail "$T" "kptr_restrict 2 does not hide tw_timer_handler's address: '$shown'"
	sf_done
fi

# run NAME: synfin -v through one connection whose client closes first
# (its end goes to TIME_WAIT); left: the TIME-WAIT sockets in synfin's
# namespace once it is ready
run()
{
	sf_start "$T/$1" -v --no-alerts --netns "$SF_NETNS_C"
	left=$(nsenter -t "$SF_SYNFIN_PID" -n ss -Htan state time-wait | grep -c .)
	sf_pair "$T" "$SF_S4" "$PORT" --wait-eof -- --close-first
	sf_wait_records 5 "$CT"
	sf_synfin_stop || sf_fail "$T/$1/stop" "synfin did not exit 0 on SIGINT"
}

# in_netns NAME SETUP: SYNFIN becomes a wrapper that runs synfin in a
# network namespace of its own after the shell commands SETUP (each
# ending in &&), and execs all the way down: synfin keeps the pid
# sf_start knows
REAL=$SYNFIN
in_netns()
{
	SYNFIN=$SF_TMP/synfin-$1
	cat >"$SYNFIN" <<WRAP
#!/bin/sh
exec unshare -n sh -c '$2 exec "\$0" "\$@"' "$REAL" "\$@"
WRAP
	chmod +x "$SYNFIN"
}

# loopback up: what synfin's start leaves in TIME_WAIT is all there is
in_netns own-loopback 'ip link set lo up &&'
run learned
sf_check "$T/learned/said" "-v does not say the address was learned: $(grep 'TIME_WAIT\|tw_timer' "$SF_ERR" | head -n 2)" \
	grep -q "tw_timer_handler's address hidden in /proc/kallsyms: learned from a TIME_WAIT socket of synfin's own" "$SF_ERR"
# shellcheck disable=SC2086
sf_expect "$T/learned/measured" "$(sf_records $CT)" \
	'.close.initiator == "local"' '.time_wait.source == "measured"'
sf_check "$T/learned/none_left" "$left TIME_WAIT sockets in synfin's namespace after its start (want 0): $(grep -o 'learned from .*' "$SF_ERR")" \
	[ "$left" = 0 ]

in_netns fin-timeout 'ip link set lo up && sysctl -qw net.ipv4.tcp_fin_timeout=70 &&'
run fallback
sf_check "$T/fallback/said" "-v does not say the TIME_WAIT socket was left: $(grep -o 'learned from .*' "$SF_ERR")" \
	grep -q "learned from a TIME_WAIT socket of synfin's own on the loopback, left for its 60 s" "$SF_ERR"
# shellcheck disable=SC2086
sf_expect "$T/fallback/measured" "$(sf_records $CT)" '.time_wait.source == "measured"'
sf_check "$T/fallback/one_left" "$left TIME_WAIT sockets in synfin's namespace after its start (want 1)" \
	[ "$left" = 1 ]

# loopback down
in_netns no-loopback ''
run unlearned
sf_check "$T/unlearned/said" "-v does not say why the address was not learned: $(grep 'TIME_WAIT' "$SF_ERR" | head -n 2)" \
	grep -q "TIME_WAIT exits not measured (tw_timer_handler's address hidden in /proc/kallsyms, .* and not learned: a loopback \(listener\|connection\): " "$SF_ERR"
# the rest still works: the client's end goes to TIME_WAIT, inferred
# shellcheck disable=SC2086
sf_expect "$T/unlearned/inferred" "$(sf_records $CT)" \
	'.close.initiator == "local"' '.time_wait.source == "inferred"'
echo "$OLD_KPTR" >"$KPTR"
sf_check "$T/restored" "kptr_restrict is $(cat "$KPTR"), not $OLD_KPTR again" \
	[ "$(cat "$KPTR")" = "$OLD_KPTR" ]
sf_done
