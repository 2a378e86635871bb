#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A SYN answered by an ICMP error, as a firewall's reject or a router
# with no route answers it: the kernel ends connect() at once with the
# error (tcp_v4_err, tcp_v6_err). The old build called it "aborted",
# which says this end closed it. The server namespace routes for the
# client (forwarding on, in that namespace only) to nets it prohibits:
# IPv4 answers ICMP "packet filtered" (EHOSTUNREACH, 113), IPv6
# "administratively prohibited" (EACCES, 13). Each client's record must
# say "unreachable" with that error, and the table "unr".
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=unreachable
PORT=5752
GONE4=10.213.9.5
GONE6=fd00:213:9::5
sf_setup_ns "$T"
if ! sf_in "$SF_NS_S" sysctl -qw net.ipv4.ip_forward=1 ||
	! sf_in "$SF_NS_S" sysctl -qw net.ipv6.conf.all.forwarding=1 ||
	! ip -n "$SF_NS_S" route add prohibit 10.213.9.0/24 ||
	! ip -n "$SF_NS_S" -6 route add prohibit fd00:213:9::/64 ||
	! ip -n "$SF_NS_C" route add 10.213.9.0/24 via "$SF_S4" ||
	! ip -n "$SF_NS_C" -6 route add fd00:213:9::/64 via "$SF_S6"; then
	sf_fail "$T" "cannot set up the routes"
	sf_done
fi
sf_start "$T" --netns "$SF_NETNS_C"
TABLE_ERR=$SF_TMP/table.err
"$SYNFIN" --no-alerts --netns "$SF_NETNS_C" -D "$PORT" >"$SF_TMP/table.out" 2>"$TABLE_ERR" &
TABLE=$!
SF_PIDS+=("$TABLE")
sf_wait_ready "$TABLE" "$TABLE_ERR" "synfin (table)" || { sf_fail "$T" "synfin (table) did not start"; sf_done; }

# one IPv4 and one IPv6 client: FAMILY ADDR ERRNO
tuples=()
declare -A want_err
for c in "4 $GONE4 113 $SF_C4" "6 $GONE6 13 $SF_C6"; do
	read -r fam addr err caddr <<<"$c"
	sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$addr" --port "$PORT" --comm "sfunr$fam" \
		--timeout-ms 10000 >"$SF_TMP/cli$fam" 2>"$SF_TMP/cli$fam.err"
	echo "  IPv$fam client: $(head -n 1 "$SF_TMP/cli$fam")"
	sf_client_lport CP "$SF_TMP/cli$fam" "$T/ipv$fam" "IPv$fam client" "unreachable error"
	[ "$(sf_field "$SF_TMP/cli$fam" errno)" = "$err" ] ||
		{ sf_fail "$T/ipv$fam" "connect() failed with errno $(sf_field "$SF_TMP/cli$fam" errno), not $err"; continue; }
	tuples+=("$SF_NETNS_C $caddr $CP $addr $PORT")
	want_err["${#tuples[@]}"]=$err
done
[ "${#tuples[@]}" = 2 ] || sf_done
sf_wait_records 5 "${tuples[@]}"
sleep 0.3
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"
kill -INT "$TABLE" 2>/dev/null
sf_wait_pid "$TABLE" 10

for i in 1 2; do
	SF_JQ_ARGS=(--argjson err "${want_err[$i]}")
	# shellcheck disable=SC2086
	sf_expect "$T/record$i" "$(sf_records ${tuples[$((i - 1))]})" \
		'.role == "client"' '.handshake.result == "unreachable"' '.close.err == $err' \
		'.close.how == "none"' '.close.initiator == "none"'
done
SF_JQ_ARGS=()
n=$(grep -c " unr " "$SF_TMP/table.out")
sf_check "$T/table" "want 2 table rows with unr, got $n: $(cat "$SF_TMP/table.out")" [ "$n" = 2 ]
sf_done
