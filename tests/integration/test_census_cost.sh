#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The census's dumps walk the kernel's whole established hash unless they
# ask for listeners alone, so it asks a namespace only for what its
# figures need (synfin -v counts the walks and the dumps that walked the
# hash). The server namespace holds a listener with 3 connections open.
#  quiet:      nothing in TIME_WAIT, CLOSE_WAIT or SYN trouble: after the
#              first walk or two (a new namespace; CLOSE_WAIT until the
#              first count of marked sockets), listener dumps only.
#  churn:      a client in the other namespace opens and closes
#              connections as fast as it can, closing first, so the
#              server's sockets pass through CLOSE_WAIT all the time and a
#              mark stands at almost any moment, each for microseconds:
#              no mark lives to the tally's least age (3 s at the default
#              --cw-age), so listener dumps only again.
#  close-wait: 4 sockets synfin saw enter CLOSE_WAIT: every walk from the
#              next one on dumps them (and the alert still fires).
#  tw-few:     4 tw socks in the server namespace and --no-timewait, so
#              the census must count TIME_WAIT by walking it: 4 are far
#              below what could raise timewait_buildup (--tw-count 8192),
#              so no walk asks for them.
#  tw-alert:   the same with --tw-count 2: every walk asks for them, and
#              the alert fires.
# A build that dumped every interval fails quiet; one that dumped whenever
# a mark stood fails churn; one that never dumped CLOSE_WAIT fails
# close-wait; one that asks for TIME_WAIT whatever its count fails tw-few,
# one that never does fails tw-alert.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=census_cost
P_HOLD=5530
P_CW=5532
P_CHURN=5534
P_TW=5536
sf_setup_ns "$T"

# counts NAME: WALKS and HASH from synfin's -v line, after it stopped
counts()
{
	local line
	line=$(grep '^synfin: census:' "$SF_ERR")
	WALKS=$(sed -n 's/^synfin: census: \([0-9]*\) walks.*/\1/p' <<<"$line")
	TWWALKS=$(sed -n 's/.* walks (\([0-9]*\) of them walked TIME_WAIT).*/\1/p' <<<"$line")
	HASH=$(sed -n 's/.*walked TIME_WAIT), \([0-9]*\) dumps.*/\1/p' <<<"$line")
	LISTED=$(sed -n 's/.*passed over); \([0-9]*\) CLOSE_WAIT sockets listed.*/\1/p' <<<"$line")
	YOUNG=$(sed -n 's/.*listed, \([0-9]*\) left out as too young.*/\1/p' <<<"$line")
	TOOFEW=$(sed -n 's/.*; \([0-9]*\) namespaces not asked for TIME_WAIT.*/\1/p' <<<"$line")
	echo "  $1: ${WALKS:-?} walks (${TWWALKS:-?} walked TIME_WAIT), ${HASH:-?} of their dumps" \
		"walked the established hash;" \
		"${LISTED:-?} CLOSE_WAIT sockets listed, ${YOUNG:-?} left out as too young;" \
		"${TOOFEW:-?} namespaces not asked for TIME_WAIT"
	if [ -z "$WALKS" ] || [ -z "$TWWALKS" ] || [ -z "$HASH" ] || [ -z "$LISTED" ] ||
		[ -z "$YOUNG" ] || [ -z "$TOOFEW" ]; then
		sf_fail "$T/$1" "no census line from synfin -v: $(tail -c 300 "$SF_ERR")"
		sf_done
	fi
}

sf_bg "$SF_TMP/hold" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$P_HOLD" \
	--accept 3 --no-close --close-first --comm sfcch \
	--hold-listener-file "$SF_TMP/release" --ready-file "$SF_TMP/hold.ready" --timeout-ms 60000
sf_wait_file "$SF_TMP/hold.ready" || { sf_fail "$T/traffic" "server did not listen"; sf_done; }
for i in 1 2 3; do
	sf_bg "$SF_TMP/hcli.$i" "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$P_HOLD" \
		--close-first --comm sfccc --ready-file "$SF_TMP/hcli.$i.ready" \
		--hold-until-file "$SF_TMP/release" --timeout-ms 60000
	sf_wait_file "$SF_TMP/hcli.$i.ready" || { sf_fail "$T/traffic" "client $i did not connect"; sf_done; }
done

# --- quiet ----------------------------------------------------------------------
sf_start "$T/quiet" -v --netns "$SF_NETNS_S" --interval 1
sleep 7
sf_synfin_stop || sf_fail "$T/quiet/stop" "synfin did not exit 0 on SIGINT"
counts quiet
sf_check "$T/quiet/walked" "$WALKS walks in 7 s at --interval 1 (want 5 or more)" [ "$WALKS" -ge 5 ]
sf_check "$T/quiet/listeners-only" "$HASH of $WALKS walks' dumps walked the established hash (want 3 at most)" \
	[ "$HASH" -le 3 ]

# --- churn ----------------------------------------------------------------------
CHURN=${CHURN:-$SF_ROOT/build/bench/churn}
[ -x "$CHURN" ] || { sf_fail "$T/churn" "no churn generator at $CHURN (make tools)"; sf_done; }
# the client's TIME_WAIT ports come back at once (its namespace only)
sf_in "$SF_NS_C" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="2048 65535"
sf_start "$T/churn" -v --netns "$SF_NETNS_S" --interval 1
sf_bg "$SF_TMP/churn.srv" "$SF_NS_S" "$CHURN" --role server --port "$P_CHURN" --duration 12
n=100
while ! ip netns exec "$SF_NS_S" ss -Hltn "sport = :$P_CHURN" | grep -q . && [ "$n" -gt 0 ]; do
	sleep 0.05
	n=$((n - 1))
done
sf_in "$SF_NS_C" "$CHURN" --role client --addr "$SF_S4" --port "$P_CHURN" --conns-parallel 2 \
	--duration 7 >"$SF_TMP/churn.cli" 2>"$SF_TMP/churn.cli.err"
sf_synfin_stop || sf_fail "$T/churn/stop" "synfin did not exit 0 on SIGINT"
counts churn
conns=$(jq -r '.conns // 0' "$SF_TMP/churn.cli" 2>/dev/null)
echo "  churn: ${conns:-?} connections, client closing first"
sf_check "$T/churn/traffic" "${conns:-no} connections in 7 s (want 5000 or more): $(tail -c 200 "$SF_TMP/churn.cli.err")" \
	[ "${conns:-0}" -ge 5000 ]
sf_check "$T/churn/walked" "$WALKS walks in 7 s at --interval 1 (want 5 or more)" [ "$WALKS" -ge 5 ]
sf_check "$T/churn/listeners-only" "$HASH of $WALKS walks' dumps walked the established hash (want 3 at most)" \
	[ "$HASH" -le 3 ]

# --- close-wait -----------------------------------------------------------------
sf_start "$T/close-wait" -v --netns "$SF_NETNS_S" --interval 1 --cw-age 1 --cw-count 3
sf_bg "$SF_TMP/cw" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$P_CW" --accept 4 \
	--no-close --close-first --comm sfcccw --hold-listener-file "$SF_TMP/release" \
	--ready-file "$SF_TMP/cw.ready" --timeout-ms 60000
sf_wait_file "$SF_TMP/cw.ready" || { sf_fail "$T/close-wait" "server did not listen"; sf_done; }
sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$P_CW" --repeat 4 --close-first \
	--timeout-ms 15000 >"$SF_TMP/cw.cli" 2>&1
cw=$(ip netns exec "$SF_NS_S" ss -Htn state close-wait | grep -c .)
sleep 7
sf_synfin_stop || sf_fail "$T/close-wait/stop" "synfin did not exit 0 on SIGINT"
counts close-wait
sf_check "$T/close-wait/traffic" "$cw sockets in CLOSE-WAIT (ss; want 4)" [ "$cw" = 4 ]
sf_check "$T/close-wait/dumped" "$HASH of $WALKS walks' dumps walked the established hash (want all but 3 at most)" \
	[ "$HASH" -ge $((WALKS - 3)) ]
# each walk that dumped CLOSE_WAIT once the 4 were a second old listed them
# (the younger ones it leaves out, which the tally would: walks that meet
# the 4 younger are few, as a walk asks for CLOSE_WAIT only once a mark
# may be a second old)
sf_check "$T/close-wait/listed" \
	"$LISTED CLOSE_WAIT sockets listed by $HASH dumps (want 4 or more, and 4 per dump but 3), $YOUNG too young" \
	[ $((LISTED >= 4 && LISTED >= 4 * (HASH - 3))) = 1 ]
rec=$(jq -c 'select(.type == "alert" and .kind == "close_wait_leak" and .state == "start")' "$SF_OUT" | head -n 1)
sf_check "$T/close-wait/alert" "no close_wait_leak start for 4 sockets at --cw-age 1 --cw-count 3" [ -n "$rec" ]

# --- tw-few, tw-alert -------------------------------------------------------------
# the server closes first: its 4 tw socks last 60 s, through both
# scenarios, one group while its listener stays (a client-side group is
# by destination, which is each client's own port here)
sf_bg "$SF_TMP/tw" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$P_TW" --accept 4 \
	--close-first --comm sfcctw --ready-file "$SF_TMP/tw.ready" \
	--hold-listener-file "$SF_TMP/release" --timeout-ms 60000
sf_wait_file "$SF_TMP/tw.ready" || { sf_fail "$T/tw-few" "server did not listen"; sf_done; }
sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$P_TW" --repeat 4 --wait-eof \
	--timeout-ms 15000 >"$SF_TMP/tw.cli" 2>&1
# the last client's FIN takes the server's socket from FIN-WAIT-2 to
# TIME-WAIT a moment after that client has gone: a bounded wait for it
sf_wait_count 4 ip netns exec "$SF_NS_S" ss -Htn state time-wait
tw=$(sf_ss_count "$SF_NS_S" time-wait)
sf_check "$T/tw-few/traffic" "$tw tw socks in the server namespace (ss; want 4)" [ "$tw" = 4 ]
sf_start "$T/tw-few" -v --netns "$SF_NETNS_S" --interval 1 --no-timewait
sleep 6
sf_synfin_stop || sf_fail "$T/tw-few/stop" "synfin did not exit 0 on SIGINT"
counts tw-few
sf_check "$T/tw-few/not-asked" \
	"$TWWALKS of $WALKS walks asked for TIME_WAIT, $TOOFEW times not (want none, and 4 or more not)" \
	[ $((TWWALKS == 0 && TOOFEW >= 4)) = 1 ]
sf_start "$T/tw-alert" -v --netns "$SF_NETNS_S" --interval 1 --no-timewait --tw-count 2
sleep 6
sf_synfin_stop || sf_fail "$T/tw-alert/stop" "synfin did not exit 0 on SIGINT"
counts tw-alert
sf_check "$T/tw-alert/asked" \
	"$TWWALKS of $WALKS walks asked for TIME_WAIT, $TOOFEW times not (want 4 or more, and none not)" \
	[ $((TWWALKS >= 4 && TOOFEW == 0)) = 1 ]
rec=$(jq -c 'select(.type == "alert" and .kind == "timewait_buildup" and .state == "start")' "$SF_OUT" | head -n 1)
sf_check "$T/tw-alert/alert" "no timewait_buildup start for 4 tw socks at --tw-count 2" [ -n "$rec" ]
touch "$SF_TMP/release"
sf_done
