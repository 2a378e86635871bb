#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A tw sock has no owner, uid or cgroup any more, so the timer programs
# judge it by its tuple alone and hold every birth for its socket's
# ->CLOSE, where the summary takes it. Under -c (or -p) the filters then
# drop that ->CLOSE, and the old build left the birth held:
# sent apart at the next one, it took ring room and waited in user space
# for a record that never came, pushing out of their slots births that
# had one. (Under -u and --cgroup the socket got no cookie, and a birth
# of cookie 0 is never sent.) synfin -v -c of a name no process has,
# through 1,500 connections:
#  apart      no tw birth was sent apart from its connection's record;
#  pushed     none pushed out of a slot;
#  records    and no conn record at all;
#  ends       and, with every tw sock then killed (ss -K), no record of
#             any of them reached user space: the kernel keeps the
#             cookies of the tw socks whose connections -c dropped
#             (tw_unfollowed), where the old build sent each end for
#             user space to drop unclaimed.
#  events/ends  the same with --events: no end reaches user space;
#  events/none  nor any birth, nor any record at all: a birth waits for
#             its ->CLOSE under -p/-c with --events too, where the old
#             build sent it before the ->CLOSE was judged (400 of 400);
#  events/kept  and where -c names the connections' process, every tw
#             sock's birth still comes, each before its socket's ->CLOSE.
# Under -u (and --cgroup) such a socket is not even given a cookie, so its
# tw sock has cookie 0, which no record claims: the old build still sent
# its FINs and ends, for user space to drop (uid/none: no record now).
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=tw_filtered_births
PORT=5756
PORT_U=5760
PORT_E=5764
PORT_K=5768
N_K=100
N_E=400
N=1500
# the tw socks of both namespaces [matching an ss FILTER]
count_time_wait()
{
	echo $(($(sf_ss_count "$SF_NS_C" time-wait "$@") + $(sf_ss_count "$SF_NS_S" time-wait "$@")))
}

# every tw sock of both namespaces killed, each its end record's moment
kill_time_wait()
{
	sf_in "$SF_NS_C" ss -K -tan state time-wait >/dev/null 2>&1
	sf_in "$SF_NS_S" ss -K -tan state time-wait >/dev/null 2>&1
}

sf_setup_ns "$T"
sf_start "$T" -v --no-alerts -c sfnobody
sf_repeat "$T" "$PORT" "$N"
tws=$(count_time_wait)
echo "  $tws TIME-WAIT sockets"
# (a client port's reuse kills some)
sf_check "$T/traffic" "only $tws TIME-WAIT sockets after $N connections" [ "$tws" -ge 1000 ]
kill_time_wait
left=$(count_time_wait)
sf_check "$T/killed" "ss -K left $left of $tws TIME-WAIT sockets" [ "$left" = 0 ]
sleep 0.5
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"
events=$(sf_summary "$SF_ERR" events)
echo "  -c: ${events:-?} records sent to user space, $(sf_summary "$SF_ERR" filtered) filtered in the kernel"
sf_check "$T/ends" "-c of a name no process has sent '$events' records (want 0): $(grep 'tw ends' "$SF_ERR")" \
	[ "$events" = 0 ]
apart=$(sed -n 's/.*tw births sent apart from their connection.s record: \([0-9]*\);.*/\1/p' "$SF_ERR")
pushed=$(sed -n 's/.*tw starts before any record of their connection: \([0-9]*\) pushed out.*/\1/p' "$SF_ERR")
echo "  births sent apart: ${apart:-?}, pushed out: ${pushed:-?}"
sf_check "$T/apart" "births sent apart: '${apart}' (want 0): $(grep 'tw ' "$SF_ERR" | tr '\n' ' ')" \
	[ "$apart" = 0 ]
sf_check "$T/pushed" "births pushed out of a slot: '${pushed}' (want 0)" [ "$pushed" = 0 ]
n=$(jq -c 'select(.type == "conn")' "$SF_OUT" 2>/dev/null | grep -c .)
sf_check "$T/records" "$n conn records under -c sfnobody" [ "$n" = 0 ]

# --events holds a birth for its ->CLOSE too, where the filters drop both;
# the ->CLOSE keeps the cookie, and the end is dropped in the kernel
sf_start_as events -v --no-alerts --events -c sfnobody
sf_repeat "$T/events" "$PORT_E" "$N_E"
kill_time_wait
sleep 0.5
sf_synfin_stop_as events || sf_fail "$T/events/stop" "synfin --events did not exit 0 on SIGINT"
ends=$(grep 'tw ends before' "$SF_TMP/events.err")
events=$(sf_summary "$SF_TMP/events.err" events)
echo "  --events: ${events:-?} records sent to user space"
sf_check "$T/events/ends" "--events -c of a name no process has: '$ends' (want 0 0 0)" \
	grep -q ': 0 waiting, 0 dropped unclaimed, 0 pushed out' <<<"$ends"
sf_check "$T/events/none" "--events -c of a name no process has sent '$events' records (want 0)" \
	[ "$events" = 0 ]

# --events -c of the process that made them: the births the kernel holds
# go out, each ahead of the ->CLOSE that released it, as the kernel made them
sf_start_as kept --no-alerts --events -c tcpdrive
sf_repeat "$T/events/kept" "$PORT_K" "$N_K"
tws=$(count_time_wait "( dport = :$PORT_K or sport = :$PORT_K )")
sleep 0.5
sf_synfin_stop_as kept || sf_fail "$T/events/kept/stop" "synfin --events did not exit 0 on SIGINT"
# per tw birth: whether its socket's ->CLOSE came after it
order=$(jq -r --argjson p "$PORT_K" 'select(.lport == $p or .rport == $p) |
	if .type == "tw_start" then "b \(.id)"
	elif .type == "state" and .new_state == "CLOSE" then "c \(.id)" else empty end' \
	"$SF_TMP/kept.out" | awk '$1 == "b" { b[$2] = NR } $1 == "c" && ($2 in b) { after++ }
		END { print length(b), after + 0 }')
read -r births after <<<"$order"
echo "  --events -c tcpdrive: $tws TIME-WAIT sockets; births, ->CLOSEs after them: $order"
# (a client port's reuse may have killed a few of the tw socks born)
[ "${births:-0}" = "${after:-}" ] && [ "$births" -ge "$tws" ] && [ "$tws" -ge $((N_K / 2)) ]
ok=$?
sf_check "$T/events/kept" "births and ->CLOSEs after them: '$order' for $tws TIME-WAIT sockets" \
	[ "$ok" = 0 ]

# -u of a user with no connections, alone (another synfin would ask the
# sockets' cookies): no record at all goes to user space, where the old
# build sent the tw socks' FINs and ends, of cookie 0, to be dropped
sf_start_as uid -v --no-alerts -u 65533
sf_repeat "$T/uid" "$PORT_U" "$N"
sleep 0.5
sf_synfin_stop_as uid || sf_fail "$T/uid/stop" "synfin -u did not exit 0 on SIGINT"
events=$(sf_summary "$SF_TMP/uid.err" events)
echo "  -u: ${events:-?} records sent to user space, $(sf_summary "$SF_TMP/uid.err" filtered) filtered in the kernel"
sf_check "$T/uid/none" "-u of a user with no connections sent '$events' records (want 0)" [ "$events" = 0 ]
sf_done
