#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The census reads both families in one sock_diag dump where the kernel
# takes it (TCPDIAG_GETSOCK, AF_UNSPEC), else one family at a time. Both
# ways must count the same sockets. The server namespace holds, per
# family, a listener with held connections (3 over IPv4, 2 over IPv6) and
# a listener whose connections the server closed first (TIME_WAIT: 12 and
# 7). `synfin top -j --netns` runs once each way (SYNFIN_DIAG_BY_FAMILY=1
# forces the second); in its last stats record:
#  <way>/method     -v names the way the dumps went;
#  <way>/states     ESTAB, LISTEN and TIME-WAIT equal what ss counts there;
#  <way>/listeners  the IPv4 and the IPv6 listeners are both rows;
#  <way>/tw-groups  each family's TIME_WAIT group holds that family's count.
# First, only-tw: a namespace that holds nothing but tw socks is dumped
# (the census skips a namespace only when its counters show no socket).
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=census_dump
P_HOLD=5520
P_TW=5522
P_ONLY_TW=5524
sf_setup_ns "$T"
command -v ss >/dev/null || { sf_skip "$T" "ss not installed"; sf_done; }

# family ADDR HELD TW: a held listener with HELD connections on P_HOLD and
# TW connections the server closes first on P_TW, all on ADDR
family()
{
	local addr=$1 held=$2 tw=$3 tag=$4 i
	sf_bg "$SF_TMP/hold$tag" "$SF_NS_S" "$TCPDRIVE" server --bind "$addr" --port "$P_HOLD" \
		--accept "$held" --no-close --close-first --comm "sfcdh$tag" \
		--hold-listener-file "$SF_TMP/release" --ready-file "$SF_TMP/hold$tag.ready" \
		--timeout-ms 60000
	sf_bg "$SF_TMP/tw$tag" "$SF_NS_S" "$TCPDRIVE" server --bind "$addr" --port "$P_TW" \
		--accept "$tw" --close-first --comm "sfcdt$tag" \
		--hold-listener-file "$SF_TMP/release" --ready-file "$SF_TMP/tw$tag.ready" \
		--timeout-ms 60000
	if ! sf_wait_file "$SF_TMP/hold$tag.ready" || ! sf_wait_file "$SF_TMP/tw$tag.ready"; then
		sf_fail "$T/traffic" "IPv$tag servers did not listen"
		sf_done
	fi
	for i in $(seq "$held"); do
		sf_bg "$SF_TMP/hcli$tag.$i" "$SF_NS_C" "$TCPDRIVE" client --connect "$addr" \
			--port "$P_HOLD" --close-first --comm "sfcdc$tag" \
			--ready-file "$SF_TMP/hcli$tag.$i.ready" \
			--hold-until-file "$SF_TMP/release" --timeout-ms 60000
	done
	sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$addr" --port "$P_TW" --repeat "$tw" \
		--wait-eof --comm "sfcdr$tag" --timeout-ms 20000 >"$SF_TMP/rcli$tag" 2>&1
	grep -q "^result=done count=$tw connected=$tw " "$SF_TMP/rcli$tag" ||
		{ sf_fail "$T/traffic" "IPv$tag churn: $(tail -n 2 "$SF_TMP/rcli$tag")"; sf_done; }
	for i in $(seq "$held"); do
		sf_wait_file "$SF_TMP/hcli$tag.$i.ready" ||
			{ sf_fail "$T/traffic" "IPv$tag client $i did not connect"; sf_done; }
	done
}
# --- a namespace with nothing but tw socks --------------------------------------
# A namespace whose counters show no socket is not dumped at all (each dump
# walks every socket of the host). One holding only tw socks must still be:
# the client namespace, before anything else runs there, after 5
# connections it closed first.
sf_bg "$SF_TMP/only_tw" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$P_ONLY_TW" \
	--accept 5 --wait-eof --comm sfcdo --ready-file "$SF_TMP/only_tw.ready" --timeout-ms 30000
sf_wait_file "$SF_TMP/only_tw.ready" || { sf_fail "$T/only-tw" "server did not listen"; sf_done; }
sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$P_ONLY_TW" --repeat 5 \
	--close-first --comm sfcdo --timeout-ms 20000 >"$SF_TMP/only_tw.cli" 2>&1
# once 4 of 5 were seen, with no fifth socket: a client still connecting
# when a 5 s wait ran out, under the load of a sanitized run
sf_wait_pid "$SF_LAST_PID" 20
cli_rc=$?
# The client exits once it has closed: its last socket waits in FIN-WAIT-2
# until the server has read the EOF and closed too
for _ in $(seq 50); do
	ctw=$(sf_ss_count "$SF_NS_C" time-wait)
	call=$(ip netns exec "$SF_NS_C" ss -Htan 2>/dev/null | grep -c .)
	[ "$ctw" = 5 ] && [ "$call" = 5 ] && break
	sleep 0.1
done
echo "  client namespace: $ctw TIME-WAIT of $call sockets (ss)"
if [ "$ctw" = 5 ] && [ "$call" = 5 ]; then
	timeout -k 2 20 "$SYNFIN" top -j -d 3 --netns "$SF_NETNS_C" >"$SF_TMP/only_tw.out" \
		2>"$SF_TMP/only_tw.err" </dev/null
	rec=$(jq -c 'select(.type == "stats")' "$SF_TMP/only_tw.out" 2>/dev/null | tail -n 1)
	echo "  only tw: $(jq -c '[.netns_counted, .states.ESTAB, .states["TIME-WAIT"],
		[.time_wait[] | "\(.side) \(.addr):\(.port)=\(.count)"]]' <<<"$rec" 2>&1)"
	SF_JQ_ARGS=(--arg a "$SF_S4" --argjson p "$P_ONLY_TW")
	sf_expect "$T/only-tw" "$rec" '.netns_counted == 1' '.states["TIME-WAIT"] == 5' \
		'.states.ESTAB == 0' \
		'[.time_wait[] | select(.side == "client" and .addr == $a and .port == $p) | .count] == [5]'
	SF_JQ_ARGS=()
else
	sf_fail "$T/only-tw" "the client namespace holds $call sockets, $ctw in TIME-WAIT (want 5 and 5); client (exit $cli_rc): $(tail -n 3 "$SF_TMP/only_tw.cli" | tr '\n' ' ') server: $(tail -n 3 "$SF_TMP/only_tw" | tr '\n' ' ') ss: $(ip netns exec "$SF_NS_C" ss -Htan 2>&1 | tr -s ' ' | tr '\n' ';')"
fi

family "$SF_S4" 3 12 4
family "$SF_S6" 2 7 6

ss_s() { sf_ss_count "$SF_NS_S" "$@"; }
est=$(ss_s established)
lis=$(ss_s listening)
tw4=$(ss_s time-wait "( sport = :$P_TW )" -4)
tw6=$(ss_s time-wait "( sport = :$P_TW )" -6)
tw=$(ss_s time-wait)
echo "  ss, server namespace: ESTAB $est, LISTEN $lis, TIME-WAIT $tw ($tw4 IPv4, $tw6 IPv6)"
sf_check "$T/traffic" "ss: ESTAB $est LISTEN $lis TIME-WAIT $tw4 + $tw6 (want 5, 4, 12 + 7)" \
	[ "$est/$lis/$tw4/$tw6" = 5/4/12/7 ]

# way NAME ENV-VALUE EXPECTED-VERBOSE-TEXT
way()
{
	local name=$1 env=$2 said=$3 out=$SF_TMP/$1.out err=$SF_TMP/$1.err rec rc
	SYNFIN_DIAG_BY_FAMILY=$env timeout -k 2 20 "$SYNFIN" top -j -v -d 3 \
		--netns "$SF_NETNS_S" >"$out" 2>"$err" </dev/null
	rc=$?
	sf_check "$T/$name/exit" "synfin top exited $rc: $(tail -c 300 "$err")" [ "$rc" = 0 ]
	sf_check "$T/$name/method" "-v does not say \"sock_diag dumps $said\": $(grep -o 'sock_diag dumps.*' "$err")" \
		grep -q "sock_diag dumps $said" "$err"
	rec=$(jq -c 'select(.type == "stats")' "$out" 2>/dev/null | tail -n 1)
	echo "  $name: $(jq -c '[.states.ESTAB, .states.LISTEN, .states["TIME-WAIT"],
		[.listeners[] | "\(.addr):\(.port)"], [.time_wait[] | "\(.addr):\(.port)=\(.count)"]]' \
		<<<"$rec" 2>&1)"
	SF_JQ_ARGS=(--argjson est "$est" --argjson lis "$lis" --argjson tw "$tw"
		--argjson tw4 "$tw4" --argjson tw6 "$tw6" --argjson p "$P_TW"
		--arg a4 "$SF_S4" --arg a6 "$SF_S6")
	sf_expect "$T/$name/states" "$rec" '.states.ESTAB == $est' '.states.LISTEN == $lis' \
		'.states["TIME-WAIT"] == $tw'
	sf_expect "$T/$name/listeners" "$rec" '.listeners_total == $lis' \
		'[.listeners[] | select(.addr == $a4 and .port == $p)] | length == 1' \
		'[.listeners[] | select(.addr == $a6 and .port == $p)] | length == 1'
	sf_expect "$T/$name/tw-groups" "$rec" \
		'[.time_wait[] | select(.side == "server" and .addr == $a4 and .port == $p) | .count] == [$tw4]' \
		'[.time_wait[] | select(.side == "server" and .addr == $a6 and .port == $p) | .count] == [$tw6]'
	SF_JQ_ARGS=()
}
way combined "" "both families at once"
way by_family 1 "one family at a time"

touch "$SF_TMP/release"
sf_done
