#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# TCP Fast Open: the client's SYN carries 1000 bytes, which the SYN-ACK
# acks. At ESTABLISHED the client's snd_una and the server's rcv_nxt are
# then 1000 past ISN + 1, yet both records' ISNs must be the SYN's as the
# wire (tshark) carried it, and the ladder must draw that SYN's seq. The
# first connection fetches the server's cookie; the second sends in its
# SYN (checked on the wire, or the test would prove nothing). The old
# build put both ISNs 1000 too high. Fast Open is switched on in the two
# namespaces only.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=fast_open
PORT=5731
sf_setup_ns "$T"
command -v tshark >/dev/null || { sf_skip "$T" "tshark not installed"; sf_done; }
sf_fast_open_on "$T"
PCAP=$SF_TMP/tfo.pcap
sf_capture_start "$SF_NS_S" vs "tcp port $PORT" "$PCAP" 30 ||
	{ sf_fail "$T" "tshark did not start capturing"; sf_done; }
sf_synfin_start --no-alerts --raddr "$SF_C4,$SF_S4" || { sf_fail "$T" "synfin did not start"; sf_done; }
LADDER_ERR=$SF_TMP/ladder.err
"$SYNFIN" --ladder --ascii --no-alerts -L "$PORT" >"$SF_TMP/ladder.out" 2>"$LADDER_ERR" &
LADDER=$!
SF_PIDS+=("$LADDER")
sf_wait_ready "$LADDER" "$LADDER_ERR" "synfin --ladder" || { sf_fail "$T" "synfin --ladder did not start"; sf_done; }

sf_bg "$SF_TMP/srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$PORT" --accept 2 \
	--fastopen --wait-eof --ready-file "$SF_TMP/srv.ready" --timeout-ms 20000
sf_wait_file "$SF_TMP/srv.ready" || { sf_fail "$T" "server did not listen"; sf_done; }
for i in 1 2; do
	sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$PORT" --fastopen \
		--send 1000 --close-first --timeout-ms 10000 >"$SF_TMP/cli$i" 2>&1
done
sf_wait_pid "$SF_LAST_PID" 10
sf_client_lport CP "$SF_TMP/cli2" "$T"
sleep 0.5
sf_capture_stop "$PCAP" || sf_fail "$T/capture" "tshark did not stop cleanly"
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"
kill -INT "$LADDER" 2>/dev/null
sf_wait_pid "$LADDER" 10

# the second connection's SYN on the wire: its seq and payload
read -r CSYN CLEN < <(sf_capture_segments "$PCAP" |
	awk -v cp="$CP" '$2 == cp && $5 == 1 && $6 == 0 { print $9, $11; exit }')
read -r SSYN < <(sf_capture_segments "$PCAP" |
	awk -v cp="$CP" '$4 == cp && $5 == 1 && $6 == 1 { print $9; exit }')
echo "  wire: SYN seq $CSYN with ${CLEN:-?} bytes, SYN-ACK seq $SSYN"
if [ "${CLEN:-0}" != 1000 ] || [ -z "$SSYN" ]; then
	sf_fail "$T/wire" "no 1000-byte SYN (Fast Open) and its SYN-ACK in the capture"
	sf_done
fi
sf_pass "$T/wire"
SF_JQ_ARGS=(--argjson c "$CSYN" --argjson s "$SSYN")
# shellcheck disable=SC2086
sf_expect "$T/client" "$(sf_records $SF_NETNS_C $SF_C4 $CP $SF_S4 $PORT)" \
	'.handshake.isn_local == $c' '.handshake.isn_remote == $s' '.bytes_sent == 1000'
# shellcheck disable=SC2086
sf_expect "$T/server" "$(sf_records $SF_NETNS_S $SF_S4 $PORT $SF_C4 $CP)" \
	'.handshake.isn_local == $s' '.handshake.isn_remote == $c' '.bytes_received == 1000'
SF_JQ_ARGS=()
if grep -q "SYN seq=$CSYN\b" "$SF_TMP/ladder.out"; then
	sf_pass "$T/ladder"
else
	sf_fail "$T/ladder" "no 'SYN seq=$CSYN' in the ladders: $(grep -o 'SYN seq=[0-9]*' "$SF_TMP/ladder.out" | tr '\n' ' ')"
fi
sf_done
