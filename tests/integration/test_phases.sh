#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# How long each end spent in each phase of the handshake and the wave, and
# Zeek's conn_state/history for the connections that never got going:
#  - the server closes 300 ms after the client's FIN: its CLOSE-WAIT lasts
#    ~300 ms, its LAST-ACK a moment; the client waits in FIN-WAIT-2 for the
#    server's FIN. Twice: the client half-closes (shutdown(SHUT_WR), so its
#    full socket itself waits in FIN-WAIT-2), and the client close()s, so the
#    wait happens in an orphan (the kernel hands the FIN-WAIT-2 over to a
#    timewait sock at once, KERNEL-NOTES 1(a));
#  - a SYN that is never answered: S0, history "S...";
#  - a refused connect: REJ, history "Sr".
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=phases
sf_setup "$T"

# wave PORT NAME CLIENT-ARGS...: server --wait-eof --delay-close-ms 300;
# sf_pair's CT/ST, their records waited for
wave()
{
	local port=$1 name=$2
	shift 2
	sf_pair "$T/$name" "$SF_S4" "$port" --wait-eof --delay-close-ms 300 -- "$@"
	sf_wait_records 5 "$CT" "$ST"
}

# the server's end is the same in both runs
SERVER=('.role == "server"' '.handshake.result == "established"'
	'(.handshake.ms | type) == "number" and .handshake.ms >= 0'
	'.handshake.ms_source == "synack_rtt"'
	'.close.initiator == "remote"' '.last_state == "LAST-ACK"'
	'.wave.close_wait_ms >= 280 and .wave.close_wait_ms <= 1000'
	'(.wave.last_ack_ms | type) == "number" and .wave.last_ack_ms >= 0 and .wave.last_ack_ms < 100'
	'.wave.fin_wait1_ms == null and .wave.fin_wait2_ms == null and .wave.closing_ms == null'
	'.conn_state == "SF"')
CLIENT=('.role == "client"' '.handshake.result == "established"'
	'(.handshake.ms | type) == "number" and .handshake.ms >= 0'
	'.handshake.ms_source == "connect"'
	'.close.initiator == "local"' '.close.how == "fin"'
	'(.wave.fin_wait1_ms | type) == "number" and .wave.fin_wait1_ms >= 0'
	'.wave.close_wait_ms == null and .wave.last_ack_ms == null'
	'.wave.fin_wait1_ms + .wave.fin_wait2_ms <= 1000')

# 1. half-close: the client's socket stays open in FIN-WAIT-2 until the
# server's FIN, then goes to TIME-WAIT
wave 5801 half_close --shutdown-wr --wait-eof
# shellcheck disable=SC2086
sf_expect "$T/half_close/client" "$(sf_records $CT)" "${CLIENT[@]}" \
	'.wave.fin_wait2_ms >= 250' '.last_state == "FIN-WAIT-2"' \
	'.time_wait.state == "time_wait"' '.conn_state == "SF"' '.history == "ShAFf"'
# shellcheck disable=SC2086
sf_expect "$T/half_close/server" "$(sf_records $ST)" "${SERVER[@]}" '.history == "ShAFf"'

# 2. close(): the same wave from the peer's and the wire's point of view;
# this end waited in FIN-WAIT-2 (as an orphan) until the server's FIN came
wave 5802 orphan --close-first
# shellcheck disable=SC2086
S=$(sf_records $ST)
SF_JQ_ARGS=(--argjson peer "$( [ "$(grep -c . <<<"$S")" = 1 ] && echo "$S" || echo '{}')")
# shellcheck disable=SC2086
sf_expect "$T/orphan/client" "$(sf_records $CT)" "${CLIENT[@]}" \
	'.wave.fin_wait2_ms >= 250' \
	'.wave.fin_seq_remote == $peer.wave.fin_seq_local'
SF_JQ_ARGS=()
sf_expect "$T/orphan/server" "$S" "${SERVER[@]}" '.history == "ShAFf"'

# 3. refused: no listener on the port, the server's kernel answers with RST
sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port 5803 --timeout-ms 10000 \
	>"$SF_TMP/cli5803" 2>"$SF_TMP/cli5803.err"
if [ "$(sf_field "$SF_TMP/cli5803" result)" = refused ]; then
	CP=$(sf_field "$SF_TMP/cli5803" lport)
	CT="$SF_NETNS_C $SF_C4 $CP $SF_S4 5803"
	sf_wait_records 5 "$CT"
	# shellcheck disable=SC2086
	sf_expect "$T/refused" "$(sf_records $CT)" \
		'.handshake.result == "refused"' '.handshake.ms == null' \
		'.conn_state == "REJ"' '.history == "Sr"'
else
	sf_fail "$T/refused" "client did not see refused: $(cat "$SF_TMP/cli5803" "$SF_TMP/cli5803.err")"
fi

# 4. SYN timeout (as test_syn_timeout.sh): the server namespace cannot route
# anything back to the client, and the client gives up after ~3 s
# (tcp_syn_retries=1 in its namespace). Last: the blackhole stays.
if ip -n "$SF_NS_S" route add blackhole "$SF_C4/32" &&
	sf_in "$SF_NS_C" sh -c 'echo 1 > /proc/sys/net/ipv4/tcp_syn_retries'; then
	sf_timer_witness_start 5804
	sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port 5804 --timeout-ms 20000 \
		>"$SF_TMP/cli5804" 2>"$SF_TMP/cli5804.err"
	if [ "$(sf_field "$SF_TMP/cli5804" result)" = timeout ]; then
		CP=$(sf_field "$SF_TMP/cli5804" lport)
		CT="$SF_NETNS_C $SF_C4 $CP $SF_S4 5804"
		sf_wait_records 5 "$CT"
		sf_syn_timeout_checks syn_timeout "$CP" 5804
		# shellcheck disable=SC2086
		sf_expect "$T/syn_timeout" "$(sf_records $CT)" \
			"${SF_SYN_CHECKS[@]}" '.handshake.ms == null' \
			'.conn_state == "S0"' '.history | startswith("S")'
	else
		sf_witness_stop syn_timeout
		sf_fail "$T/syn_timeout" "client did not time out: $(cat "$SF_TMP/cli5804" "$SF_TMP/cli5804.err")"
	fi
else
	sf_fail "$T/syn_timeout" "cannot set up the blackhole route or tcp_syn_retries"
fi
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"
sf_done
