#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A handshake that never completes leaves no conn record: its request sock
# never becomes a socket. Its SYN-ACK retransmits are where its sequence
# numbers show (--events): each synack_retransmit record's seq and ack must
# be the captured SYN-ACKs' (seq the server's ISN, ack the SYN's seq + 1),
# and there must be one record per SYN-ACK sent again, numbered 1 and 2
# (as a SYN's retransmits are), not by the request sock's count before
# it. Both of the
# kernel side's paths: tp_btf, and --classic's tracepoint.
#
# Two spoofed SYNs from 198.18.0.0/15 to a listener: the server namespace
# routes their SYN-ACKs back over the veth, where the client namespace,
# which does not forward, drops them. tcp_synack_retries=2 sends each
# SYN-ACK twice more (after about 1 s and 3 s). A retransmit run where no
# BPF program runs (witness.sh) may be missing from synfin's records, and
# only such a one.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=synack_isn
PORT=5620
SYNS=2
sf_setup_ns "$T"
sf_require_tool "$T" "$SYNFLOOD"
command -v tshark >/dev/null || { sf_skip "$T" "tshark not installed"; sf_done; }

sf_spoofed_syns_setup "$T" 2
sf_start_as btf --events --no-alerts --netns "$SF_NETNS_S"
sf_start_as classic --events --classic --no-alerts --netns "$SF_NETNS_S"

PCAP=$SF_TMP/synack.pcap
sf_capture_start "$SF_NS_S" vs "tcp port $PORT" "$PCAP" 30 ||
	{ sf_fail "$T" "tshark did not start capturing"; sf_done; }
sf_bg "$SF_TMP/srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$PORT" --no-accept \
	--hold-listener-file "$SF_TMP/stop" --ready-file "$SF_TMP/srv.ready" --timeout-ms 30000
SRV=$SF_LAST_PID
sf_wait_file "$SF_TMP/srv.ready" || { sf_fail "$T" "server did not listen"; sf_done; }

witness_open "synfin-it-$$" tcp/tcp_retransmit_synack "(sport == $PORT || dport == $PORT)"
sf_in "$SF_NS_C" "$SYNFLOOD" --dst "$SF_S4" --port "$PORT" --count "$SYNS" --rate 10 \
	--src-net 198.18.0.0/15 --timeout-s 5 >"$SF_TMP/flood" 2>&1 ||
	{ sf_fail "$T" "synflood failed: $(cat "$SF_TMP/flood")"; sf_done; }
# bounded wait for the last retransmits (about 3 s after their SYNs)
n=100
until [ "$(sf_nstat "$SF_NS_S" TcpExtTCPSynRetrans)" -ge $((SYNS * 2)) ] || [ "$n" -le 0 ]; do
	sleep 0.1
	n=$((n - 1))
done
witness_stop "$SF_TMP/blind"
BLIND=$(grep -c '^synack_retransmit$' "$SF_TMP/blind")
touch "$SF_TMP/stop"
sf_wait_pid "$SRV" 10
sleep 0.5
sf_capture_stop "$PCAP" || sf_fail "$T/capture" "tshark did not stop cleanly: $(tail -c 300 "$PCAP.err")"
sf_synfin_stop_as btf || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"
sf_synfin_stop_as classic || sf_fail "$T/stop" "synfin --classic did not exit 0 on SIGINT"

# the capture: per spoofed source, its SYN's seq and every SYN-ACK's seq
# and ack ("src sport seq" and "dst dport seq ack" lines)
sf_capture_segments "$PCAP" >"$SF_TMP/segments"
wire=$(awk -v s="$SF_S4" -v p="$PORT" '
	$3 == s && $4 == p && $5 == 1 && $6 == 0 { print "syn", $1, $2, $9 }
	$1 == s && $2 == p && $5 == 1 && $6 == 1 { print "synack", $3, $4, $9, $10 }
' "$SF_TMP/segments" | jq -nRc '[inputs | split(" ")] |
	{syns: [.[] | select(.[0] == "syn") | {addr: .[1], port: (.[2] | tonumber), seq: (.[3] | tonumber)}],
	 synacks: [.[] | select(.[0] == "synack") | {addr: .[1], port: (.[2] | tonumber),
		seq: (.[3] | tonumber), ack: (.[4] | tonumber)}]}')
echo "  wire: $wire; $BLIND SYN-ACKs retransmitted where no BPF program runs"

# holds JQ-ARGS...: jq -e, quietly (sf_check prints the verdict)
# shellcheck disable=SC2317 # called through sf_check
holds() { jq -e "$@" >/dev/null; }

# the wire: each SYN answered, then sent again twice with the same numbers
sf_check "$T/wire" "want $SYNS SYNs, each with 3 SYN-ACKs of one seq, acking it: $wire" \
	holds --argjson n "$SYNS" '.synacks as $a | (.syns | length) == $n and
		all(.syns[]; . as $s | [$a[] | select(.addr == $s.addr and .port == $s.port)] |
			length == 3 and (map(.seq) | unique | length) == 1 and
			all(.[]; .ack == ($s.seq + 1) % 4294967296))' <<<"$wire"
# synfin: a record per SYN-ACK sent again (less the unseen), each with
# the numbers the wire carried
for inst in btf classic; do
	recs=$(jq -sc --argjson port "$PORT" \
		'[.[] | select(.type == "synack_retransmit" and .lport == $port)]' "$SF_TMP/$inst.out")
	echo "  $inst: $(jq -c 'map({raddr, rport, seq, ack, retrans})' <<<"$recs")"
	sf_check "$T/$inst/count" "$(jq length <<<"$recs") synack_retransmit records, want $((SYNS * 2)) less up to $BLIND unseen" \
		holds --argjson n $((SYNS * 2)) --argjson blind "$BLIND" \
			'length <= $n and length >= $n - $blind' <<<"$recs"
	sf_check "$T/$inst/numbers" "records whose seq or ack the wire's SYN-ACKs did not carry: $(
		jq -c --argjson w "$wire" '[.[] | . as $r | select([$w.synacks[] |
			select(.addr == $r.raddr and .port == $r.rport and .seq == $r.seq and .ack == $r.ack)] |
			length == 0)]' <<<"$recs")" \
		holds --argjson w "$wire" 'length > 0 and all(.[]; . as $r | any($w.synacks[];
			.addr == $r.raddr and .port == $r.rport and .seq == $r.seq and .ack == $r.ack))' <<<"$recs"
	sf_check "$T/$inst/ordinal" "retrans per source: $(jq -c 'group_by(.raddr) | map(map(.retrans))' <<<"$recs")" \
		holds --argjson blind "$BLIND" '$blind > 0 or
			(group_by(.raddr) | map(map(.retrans) | sort) | all(. == [1, 2]))' <<<"$recs"
done
sf_done
