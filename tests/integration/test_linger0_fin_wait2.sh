#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shutdown(SHUT_WR), the peer acks the FIN (FIN-WAIT-2), then the socket
# is closed with SO_LINGER 0: tcp_disconnect() sets CLOSE first and sends
# the reset after. The old build took FIN-WAIT-2 -> CLOSE with no error
# for an orderly wave: "fin", and -F (which the kernel lets through)
# dropped it in user space. The client here waits for an EOF the server
# never sends, and its alarm ends it: exit() closes the socket.
#  client     how "rst_sent", initiator "local", rst_cause "linger0";
#  failed     synfin -F shows the client's record;
#  server     the reset reached it in CLOSE-WAIT: "rst_received".
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=linger0_fin_wait2
PORT=5753
sf_setup_ns "$T"
sf_start "$T" --no-alerts --raddr "$SF_C4,$SF_S4"
sf_start_as failed -F --no-alerts -D "$PORT"

sf_bg "$SF_TMP/srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$PORT" --accept 1 \
	--wait-eof --hold-until-file "$SF_TMP/release" --ready-file "$SF_TMP/srv.ready" \
	--timeout-ms 20000
sf_wait_file "$SF_TMP/srv.ready" || { sf_fail "$T" "server did not listen"; sf_done; }
sf_bg "$SF_TMP/cli" "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$PORT" \
	--send 100 --shutdown-wr --linger0 --comm sfl0fw2 --timeout-ms 1000
CLI=$SF_LAST_PID
# its FIN acked, the client sits in FIN-WAIT-2 until the alarm
for _ in $(seq 30); do
	[ "$(sf_ss_count "$SF_NS_C" fin-wait-2 "( dport = :$PORT )")" = 1 ] && break
	sleep 0.05
done
fw2=$(sf_ss_count "$SF_NS_C" fin-wait-2 "( dport = :$PORT )")
sf_check "$T/fin-wait-2" "the client's socket is not in FIN-WAIT-2 ($fw2)" [ "$fw2" = 1 ]
CP=$(ip netns exec "$SF_NS_C" ss -Htan state fin-wait-2 "( dport = :$PORT )" |
	awk '{ n = split($3, a, ":"); print a[n]; exit }')
sf_wait_pid "$CLI" 5
touch "$SF_TMP/release"
[ "${CP:-0}" -gt 0 ] 2>/dev/null || { sf_fail "$T" "no client port"; sf_done; }

CT="$SF_NETNS_C $SF_C4 $CP $SF_S4 $PORT"
ST="$SF_NETNS_S $SF_S4 $PORT $SF_C4 $CP"
sf_wait_records 5 "$CT" "$ST"
sleep 0.3
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"
sf_synfin_stop_as failed || sf_fail "$T/stop" "synfin -F did not exit 0 on SIGINT"

# shellcheck disable=SC2086
sf_expect "$T/client" "$(sf_records $CT)" '.comm == "sfl0fw2"' \
	'.close.how == "rst_sent"' '.close.initiator == "local"' '.close.rst_cause == "linger0"' \
	'.time_wait.state == "none"'
# shellcheck disable=SC2086
sf_expect "$T/server" "$(sf_records $ST)" '.close.how == "rst_received"'
SF_OUT_SAVED=$SF_OUT
SF_OUT=$SF_TMP/failed.out
# shellcheck disable=SC2086
sf_expect "$T/failed" "$(sf_records $CT)" '.close.how == "rst_sent"'
SF_OUT=$SF_OUT_SAVED
sf_done
