#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A tw sock's reset while its connection's record waits in the spill map.
# synfin is stopped and its 1 MiB ring filled by a churn; then N servers'
# ends close at once (their orphans wait as tw socks in FIN-WAIT-2) and
# their clients send data: each tw sock answers with a reset and dies. The
# connection's record, the reset's note and the tw sock's end all wait in
# the spill map, and come out of it in no order. Each server's record must
# say close.how rst_sent, and its time_wait record killed_by rst_sent.
# Before, the note went only to the ring, and the full ring lost it: 0 of
# 40 named, their records saying close.how fin and killed_by null. With the
# note spilled, one that came before its record was dropped (nothing to
# name yet): 23 of 40 named.
# An end closed, or a reset sent, in a softirq on PID 1's threads is seen
# by no BPF program (the witness names them): its record, or its note, is
# not asked for.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=tw_reset_spill
N=40
PORT=5830
sf_setup_churn "$T"

sf_start "$T" --netns "$SF_NETNS_S" --ringbuf-mb 1 --no-alerts -v
kill -STOP "$SF_SYNFIN_PID"
# the ring fills (about 3,300 connection records): what follows spills
if ! sf_in "$SF_NS_S" "$CHURN" --duration 0.3 --conns-parallel 1 >"$SF_TMP/churn" \
	2>"$SF_TMP/churn.err"; then
	kill -CONT "$SF_SYNFIN_PID"
	sf_fail "$T/churn" "churn failed: $(head -c 300 "$SF_TMP/churn.err")"
	sf_done
fi
sf_witness_start "$PORT" "$PORT"
witness_add_resets
sf_bg "$SF_TMP/srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$PORT" --accept "$N" \
	--close-first --comm sfspr --ready-file "$SF_TMP/srv.ready" --timeout-ms 30000
SRV=$SF_LAST_PID
sf_wait_file "$SF_TMP/srv.ready" ||
	{ kill -CONT "$SF_SYNFIN_PID"; sf_fail "$T/server" "server did not listen"; sf_done; }
clis=()
for i in $(seq "$N"); do
	sf_bg "$SF_TMP/cli$i" "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$PORT" \
		--send-after-file "$SF_TMP/send" --send 100 --wait-eof --timeout-ms 30000
	clis+=("$SF_LAST_PID")
done
sf_wait_pid "$SRV" 20
# every server end closed: its orphan is a tw sock in FIN-WAIT-2
sf_wait_count "$N" ip netns exec "$SF_NS_S" ss -Htan state fin-wait-2 src "$SF_S4:$PORT"
fw2=$(sf_ss_count "$SF_NS_S" fin-wait-2 src "$SF_S4:$PORT")
sf_check "$T/orphans" "$fw2 server ends in FIN-WAIT-2 (want $N)" [ "$fw2" = "$N" ]
rsts=$(sf_nstat "$SF_NS_S" TcpOutRsts)
touch "$SF_TMP/send"
for pid in "${clis[@]}"; do sf_wait_pid "$pid" 10; done
# a tw sock that answers data with a reset dies: none is left, not even
# in TIME-WAIT (where a FIN would have moved it)
for _ in $(seq 20); do
	left=$(ip netns exec "$SF_NS_S" ss -Htan src "$SF_S4:$PORT" 2>/dev/null)
	[ -z "$left" ] && break
	sleep 0.1
done
rsts=$(( $(sf_nstat "$SF_NS_S" TcpOutRsts) - rsts ))
sf_witness_stop resets
blind_close=$(awk -v p="$PORT" '$1 == p && $3 == "TCP_CLOSE"' "$SF_TMP/resets.blind" | grep -c .)
blind_rst=$(grep -cx reset_sent "$SF_TMP/resets.blind")
[ "$SF_BLIND" = 0 ] || echo "  unseen: $blind_close server ends' ->CLOSE, $blind_rst resets sent"
echo "  the server namespace sent $rsts resets; $(grep -c . <<<"$left") of its sockets on" \
	"port $PORT left"
nleft=$(grep -c . <<<"$left")
sf_check "$T/resets" "$rsts resets sent (want $N or more); left: $(tr -s ' ' <<<"$left" |
	tr '\n' ';')" [ $((rsts >= N && nleft == 0)) = 1 ]
kill -CONT "$SF_SYNFIN_PID"
sleep 1.5	# the ring, then the spill map
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"

SPILLED=$(sf_summary "$SF_ERR" spilled)
sel='select(.type == "conn" and .role == "server" and .lport == $p)'
recs=$(jq -c --argjson p "$PORT" "$sel" "$SF_OUT" | grep -c .)
rst=$(jq -c --argjson p "$PORT" "$sel"' | select(.close.how == "rst_sent")' "$SF_OUT" | grep -c .)
ids=$(jq -r --argjson p "$PORT" "$sel | .id" "$SF_OUT")
killed=$(jq -c --argjson p "$PORT" --argjson ids "$(jq -s . <<<"$ids")" \
	'select(.type == "time_wait" and (.id as $i | $ids | index($i)) and
		.killed_by == "rst_sent")' "$SF_OUT" | grep -c .)
echo "  $(grep '^synfin: tw reset notes before' "$SF_ERR")"
echo "  spilled=$SPILLED; $recs server records, $rst with close.how rst_sent," \
	"$killed time_wait records killed_by rst_sent"
sf_check "$T/spilled" "spilled='$SPILLED': the records did not wait in the spill map" \
	[ "${SPILLED:-0}" -gt 0 ]
sf_check "$T/records" "$recs server records (want $N less $blind_close closed unseen)" \
	[ "$recs" = $((N - blind_close)) ]
sf_check "$T/close_how" "$rst of $recs server records say close.how rst_sent ($blind_rst resets sent unseen): $(jq -c \
	--argjson p "$PORT" "$sel"' | select(.close.how != "rst_sent") | [.id, .close.how]' \
	"$SF_OUT" | head -n 3 | tr '\n' ' ')" [ "$rst" -ge $((recs - blind_rst)) ]
sf_check "$T/killed_by" "$killed of $recs time_wait records say killed_by rst_sent ($blind_rst resets sent unseen)" \
	[ "$killed" -ge $((recs - blind_rst)) ]
sf_done
