#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The handshake/wave story against the wire: four closes (client first,
# server first, simultaneous, SO_LINGER {1, 0}) captured with tshark on the
# server's veth, and both ends' conn records held against the capture (ISNs,
# FIN sequence numbers, payload bytes, RSTs) and against each other
# (ISNs, bytes, initiator, conn_state, history); and a refused connect(),
# whose record has its SYN's sequence number and no peer's.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=story_capture
sf_setup_ns "$T"
command -v tshark >/dev/null || { sf_skip "$T" "tshark not installed"; sf_done; }
sf_start "$T"

PCAP=$SF_TMP/story.pcap
sf_capture_start "$SF_NS_S" vs "tcp portrange 5601-5605" "$PCAP" 45 ||
	{ sf_fail "$T" "tshark did not start capturing"; sf_done; }

# 1. client closes first (as test_client_close.sh)
sf_bg "$SF_TMP/srv1" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port 5601 --accept 1 \
	--wait-eof --send 3000 --ready-file "$SF_TMP/srv1.ready" --timeout-ms 15000
SRV=$SF_LAST_PID
sf_wait_file "$SF_TMP/srv1.ready" || { sf_fail "$T/client_first" "server did not listen"; sf_done; }
sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port 5601 --send 1000 --recv 3000 \
	--close-first --timeout-ms 15000 >"$SF_TMP/cli1" 2>"$SF_TMP/cli1.err"
sf_wait_pid "$SRV" 15
sf_client_lport CP1 "$SF_TMP/cli1" "$T/client_first"

# 2. server closes first (as test_server_close.sh)
sf_bg "$SF_TMP/srv2" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port 5602 --accept 1 \
	--close-first --recv 1000 --send 3000 --ready-file "$SF_TMP/srv2.ready" --timeout-ms 15000
SRV=$SF_LAST_PID
sf_wait_file "$SF_TMP/srv2.ready" || { sf_fail "$T/server_first" "server did not listen"; sf_done; }
sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port 5602 --send 1000 --wait-eof \
	--timeout-ms 15000 >"$SF_TMP/cli2" 2>"$SF_TMP/cli2.err"
sf_wait_pid "$SRV" 15
sf_client_lport CP2 "$SF_TMP/cli2" "$T/server_first"

# 3. simultaneous close (the approach of test_simultaneous_close.sh): a
# shared close deadline, and blackhole routes both ways over it: both FINs
# fail to route and stay queued (both ends in FIN-WAIT-1) before either end
# hears from the other; the probe timer sends them once a route is back.
# The routes go one at a time, which makes the outcome deterministic
# instead of a race between the two ends' retransmit timers:
#   - the client's route first: its queued FIN reaches the server, still in
#     FIN-WAIT-1, which goes to CLOSING (its ACK is blackholed);
#   - then the server's: its queued FIN, which also ACKs the client's, takes
#     the client FIN-WAIT-1 -> FIN-WAIT-2 -> TIME-WAIT in one segment.
# Both ends had sent (queued) their FIN before they had the peer's; the server
# is "both" (CLOSING), the client "local". (Removing both routes at once
# sometimes leaves one end an orphan in FIN-WAIT-2 whose full socket is gone
# before the peer's FIN arrives; test_phases.sh covers that case.)
DEADLINE=$(( $(sf_now_ns) + 2000000000 ))
sf_bg "$SF_TMP/srv3" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port 5603 --accept 1 \
	--close-first --close-at-ns "$DEADLINE" --ready-file "$SF_TMP/srv3.ready" --timeout-ms 15000
SRV=$SF_LAST_PID
sf_wait_file "$SF_TMP/srv3.ready" || { sf_fail "$T/simultaneous" "server did not listen"; sf_done; }
sf_bg "$SF_TMP/cli3" "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port 5603 \
	--close-first --close-at-ns "$DEADLINE" --ready-file "$SF_TMP/cli3.ready" --timeout-ms 15000
CLI=$SF_LAST_PID
sf_wait_file "$SF_TMP/cli3.ready" || { sf_fail "$T/simultaneous" "client did not connect"; sf_done; }
if ! ip -n "$SF_NS_C" route add blackhole "$SF_S4/32" ||
	! ip -n "$SF_NS_S" route add blackhole "$SF_C4/32"; then
	sf_fail "$T/simultaneous" "cannot add blackhole routes"
	sf_done
fi
[ "$(sf_now_ns)" -lt "$DEADLINE" ] ||
	{ sf_fail "$T/simultaneous" "setup overran the close deadline"; sf_done; }
sf_wait_pid "$CLI" 10
sf_wait_pid "$SRV" 10
ip -n "$SF_NS_C" route del blackhole "$SF_S4/32"
# bounded wait for the server's CLOSING (the client's FIN RTO, ~200 ms)
n=100
until sf_in "$SF_NS_S" ss -Htan state closing "( sport = :5603 )" | grep -q . || [ "$n" -le 0 ]; do
	sleep 0.05
	n=$((n - 1))
done
[ "$n" -gt 0 ] || sf_fail "$T/simultaneous" "the server never reached CLOSING"
ip -n "$SF_NS_S" route del blackhole "$SF_C4/32"
sf_client_lport CP3 "$SF_TMP/cli3" "$T/simultaneous"

# 4. abortive close: the client sets SO_LINGER {1, 0} and closes (as test_abort.sh)
sf_bg "$SF_TMP/srv4" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port 5604 --accept 1 \
	--wait-eof --send 3000 --ready-file "$SF_TMP/srv4.ready" --timeout-ms 15000
SRV=$SF_LAST_PID
sf_wait_file "$SF_TMP/srv4.ready" || { sf_fail "$T/linger0" "server did not listen"; sf_done; }
sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port 5604 --send 1000 --recv 3000 \
	--close-first --linger0 --timeout-ms 15000 >"$SF_TMP/cli4" 2>"$SF_TMP/cli4.err"
sf_wait_pid "$SRV" 15
[ "$(sf_field "$SF_TMP/srv4" result)" = reset ] ||
	{ sf_fail "$T/linger0" "server was not reset: $(cat "$SF_TMP/srv4" "$SF_TMP/srv4.err")"; sf_done; }
sf_client_lport CP4 "$SF_TMP/cli4" "$T/linger0"

# 5. refused: nothing listens on 5605, the server's kernel answers the SYN
# with a RST
sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port 5605 --timeout-ms 5000 \
	>"$SF_TMP/cli5" 2>"$SF_TMP/cli5.err"
[ "$(sf_field "$SF_TMP/cli5" result)" = refused ] ||
	{ sf_fail "$T/refused" "client: $(cat "$SF_TMP/cli5" "$SF_TMP/cli5.err")"; sf_done; }
CP5=$(sf_field "$SF_TMP/cli5" lport)

sf_wait_records 10 "$SF_NETNS_C $SF_C4 $CP5 $SF_S4 5605" \
	"$SF_NETNS_C $SF_C4 $CP1 $SF_S4 5601" "$SF_NETNS_S $SF_S4 5601 $SF_C4 $CP1" \
	"$SF_NETNS_C $SF_C4 $CP2 $SF_S4 5602" "$SF_NETNS_S $SF_S4 5602 $SF_C4 $CP2" \
	"$SF_NETNS_C $SF_C4 $CP3 $SF_S4 5603" "$SF_NETNS_S $SF_S4 5603 $SF_C4 $CP3" \
	"$SF_NETNS_C $SF_C4 $CP4 $SF_S4 5604" "$SF_NETNS_S $SF_S4 5604 $SF_C4 $CP4"
sf_capture_stop "$PCAP" || sf_fail "$T/capture" "tshark did not stop cleanly: $(tail -c 300 "$PCAP.err")"
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"
sf_capture_segments "$PCAP" >"$SF_TMP/segments"

# wire PORT CPORT: jq arguments describing one connection as the capture saw
# it. Segment fields: src sport dst dport syn ack fin rst seq ack len.
wire()
{
	local sp=$1 cp=$2
	awk -v c="$SF_C4" -v cp="$cp" -v s="$SF_S4" -v sp="$sp" '
		$1 == c && $2 == cp && $3 == s && $4 == sp { $0 = "C " $0; print; next }
		$1 == s && $2 == sp && $3 == c && $4 == cp { $0 = "S " $0; print }
	' "$SF_TMP/segments" >"$SF_TMP/wire.$sp"
	# one JSON object: the SYN's and SYN-ACK's seq, the SYN-ACK's and the
	# final ACK's ack, the distinct FIN seqs of each end, the client's RSTs,
	# payload bytes per direction (distinct seq ranges: a retransmission
	# counts once)
	jq -nR '[inputs | split(" ") | {dir: .[0], syn: .[5], ack: .[6], fin: .[7],
			rst: .[8], seq: (.[9] | tonumber), ackno: (.[10] | tonumber),
			len: (.[11] | tonumber)}] as $s |
		{csyn: ([$s[] | select(.dir == "C" and .syn == "1" and .ack == "0") | .seq] | first),
		 ssyn: ([$s[] | select(.dir == "S" and .syn == "1" and .ack == "1") | .seq] | first),
		 synack_ack: ([$s[] | select(.dir == "S" and .syn == "1" and .ack == "1") | .ackno] | first),
		 final_ack: ([$s[] | select(.dir == "C" and .syn == "0" and .ack == "1") | .ackno] | first),
		 cfin: ([$s[] | select(.dir == "C" and .fin == "1") | .seq] | unique),
		 sfin: ([$s[] | select(.dir == "S" and .fin == "1") | .seq] | unique),
		 cfin_n: ([$s[] | select(.dir == "C" and .fin == "1")] | length),
		 sfin_n: ([$s[] | select(.dir == "S" and .fin == "1")] | length),
		 crst: ([$s[] | select(.dir == "C" and .rst == "1")] | length),
		 srst: ([$s[] | select(.dir == "S" and .rst == "1")] | length),
		 cbytes: ([$s[] | select(.dir == "C" and .len > 0) | [.seq, .len]] | unique | map(.[1]) | add // 0),
		 sbytes: ([$s[] | select(.dir == "S" and .len > 0) | [.seq, .len]] | unique | map(.[1]) | add // 0)}' \
		"$SF_TMP/wire.$sp"
}

# story NAME PORT CPORT CLIENT-EXPR... -- SERVER-EXPR...: the common checks
# on both records (the wire's ISNs, the two ends agreeing on ISNs and bytes,
# the wire's payload bytes), plus the scenario's own expressions. In the
# expressions, $w is the wire summary and $peer the other end's record.
story()
{
	local name=$1 sp=$2 cp=$3 c s w ce=() se=()
	shift 3
	while [ $# -gt 0 ] && [ "$1" != -- ]; do ce+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	se=("$@")
	# shellcheck disable=SC2086
	c=$(sf_records $SF_NETNS_C $SF_C4 $cp $SF_S4 $sp)
	# shellcheck disable=SC2086
	s=$(sf_records $SF_NETNS_S $SF_S4 $sp $SF_C4 $cp)
	w=$(wire "$sp" "$cp")
	if [ "$(jq -r '.csyn != null and .ssyn != null and .final_ack != null' <<<"$w")" != true ]; then
		sf_fail "$T/$name/wire" "handshake not in the capture: $w -- $(head -n 5 "$SF_TMP/wire.$sp" | tr '\n' ';')"
		return
	fi
	sf_pass "$T/$name/wire"
	# the peer's record, or an empty object (sf_expect reports it missing)
	SF_JQ_ARGS=(--argjson w "$w" --argjson peer "$( [ "$(grep -c . <<<"$s")" = 1 ] && echo "$s" || echo '{}')")
	sf_expect "$T/$name/client" "$c" \
		'.role == "client"' '.handshake.result == "established"' \
		'.handshake.isn_local == $w.csyn' '.handshake.isn_remote == $w.ssyn' \
		'(.handshake.isn_local + 1) % 4294967296 == $w.synack_ack' \
		'.bytes_sent == $w.cbytes' '.bytes_received == $w.sbytes' \
		'.handshake.isn_local == $peer.handshake.isn_remote' \
		'.handshake.isn_remote == $peer.handshake.isn_local' \
		'.bytes_sent == $peer.bytes_received' '.bytes_received == $peer.bytes_sent' \
		"${ce[@]}"
	SF_JQ_ARGS=(--argjson w "$w" --argjson peer "$( [ "$(grep -c . <<<"$c")" = 1 ] && echo "$c" || echo '{}')")
	sf_expect "$T/$name/server" "$s" \
		'.role == "server"' '.handshake.result == "established"' \
		'.handshake.isn_local == $w.ssyn' '.handshake.isn_remote == $w.csyn' \
		'(.handshake.isn_local + 1) % 4294967296 == $w.final_ack' \
		'.bytes_sent == $w.sbytes' '.bytes_received == $w.cbytes' \
		'.handshake.isn_local == $peer.handshake.isn_remote' \
		'.handshake.isn_remote == $peer.handshake.isn_local' \
		"${se[@]}"
	SF_JQ_ARGS=()
}

# A FIN close: every FIN segment of an end carries that end's
# fin_seq_local, which is the peer's fin_seq_remote; every FIN segment after
# the first is one of the end's fin_retrans; no RST.
FIN_C=('$w.cfin == [.wave.fin_seq_local]' '$w.sfin == [.wave.fin_seq_remote]'
	'.wave.fin_retrans == $w.cfin_n - 1'
	'$w.crst == 0 and $w.srst == 0' '.close.how == "fin"' '.close.err == 0'
	'.conn_state == "SF"' '.wave.fin_seq_local == $peer.wave.fin_seq_remote'
	'.wave.fin_seq_remote == $peer.wave.fin_seq_local')
FIN_S=('$w.sfin == [.wave.fin_seq_local]' '$w.cfin == [.wave.fin_seq_remote]'
	'.wave.fin_retrans == $w.sfin_n - 1'
	'.close.how == "fin"' '.close.err == 0' '.conn_state == "SF"')

# Zeek's letters are absolute (originator upper case), and both ends saw the
# same things in the same order: their history strings are equal.
story client_first 5601 "$CP1" "${FIN_C[@]}" \
	'.close.initiator == "local"' '$peer.close.initiator == "remote"' \
	'.history == "ShADdFf"' '.history == $peer.history' \
	-- "${FIN_S[@]}" '.close.initiator == "remote"'
story server_first 5602 "$CP2" "${FIN_C[@]}" \
	'.close.initiator == "remote"' '$peer.close.initiator == "local"' \
	'.history == "ShADdfF"' '.history == $peer.history' \
	-- "${FIN_S[@]}" '.close.initiator == "local"'
# Simultaneous close (KERNEL-NOTES 1(c)), made deterministic above: the
# server went through CLOSING ("both"), the client's FIN was acked together
# with the server's FIN ("local"); neither is "remote". Each end sent its FIN
# before the peer's arrived, so each history has its own FIN first: the
# client's "ShAFf" and the server's "ShAfF" legitimately differ (a tap in
# the middle would order them by where it sits).
story simultaneous 5603 "$CP3" "${FIN_C[@]}" \
	'.close.initiator == "local"' '$peer.close.initiator == "both"' \
	'.history == "ShAFf"' \
	-- "${FIN_S[@]}" '.close.initiator == "both"' '.last_state == "CLOSING"' \
	'.history == "ShAfF"'
# SO_LINGER {1, 0}: the client's RST on the wire, no FIN either way; the
# originator reset it (RSTO) and both ends say so.
story linger0 5604 "$CP4" \
	'$w.crst >= 1' '$w.cfin == [] and $w.sfin == []' \
	'.wave.fin_seq_local == null and .wave.fin_seq_remote == null' \
	'.close.initiator == "local"' '.close.how == "rst_sent"' \
	'.close.rst_cause == "linger0"' '.conn_state == "RSTO"' \
	'.history == "ShADdR"' '.history == $peer.history' \
	-- '.close.initiator == "remote"' '.close.how == "rst_received"' '.close.err == 104' \
	'.conn_state == "RSTO"' '.wave.fin_seq_local == null and .wave.fin_seq_remote == null'

# The refused connect(): the SYN's seq on the wire is the record's
# isn_local (read from snd_una at the ->CLOSE), the RST acks it, and the
# peer's ISN was never heard.
W5=$(wire 5605 "$CP5")
RST5=$(awk '$1 == "S" && $9 == "1" { print $11; exit }' "$SF_TMP/wire.5605")
# shellcheck disable=SC2086
R5=$(sf_records $SF_NETNS_C $SF_C4 $CP5 $SF_S4 5605)
SF_JQ_ARGS=(--argjson w "$W5" --argjson rst_ack "${RST5:-null}")
sf_expect "$T/refused" "$R5" \
	'$w.csyn != null' '$w.srst == 1' \
	'.handshake.result == "refused"' '.conn_state == "REJ"' \
	'.handshake.isn_local == $w.csyn' '.handshake.isn_remote == null' \
	'(.handshake.isn_local + 1) % 4294967296 == $rst_ack'
SF_JQ_ARGS=()
sf_done
