#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A wave that ends in a reset after one end has closed: the socket is gone
# (a tw sock holds the rest), so no state event tells it.
#  a. the client close()s (its orphan waits in FIN-WAIT-2, as a tw sock);
#     the server reads the EOF and closes with SO_LINGER 0: its reset kills
#     the client's tw sock. The client's record: close.how rst_received
#     (it used to say fin), RSTR, its time_wait record killed_by the same;
#  b. the server close()s at once; the client sends data after that: the
#     server's tw sock answers with a reset and dies. The server's record:
#     close.how rst_sent, rst_cause after_close;
#  c. TIME_WAIT assassination: a normal wave, the client's tw sock in
#     TIME_WAIT; an in-window reset (hping3, as from the server) kills it.
#     The record went out at the close (a FIN wave); the time_wait record
#     says killed_by rst_received.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=tw_reset
HPING=$(command -v hping3)
sf_setup "$T"
[ -n "$HPING" ] || { sf_skip "$T" "no hping3 (make deps)"; sf_done; }

# pair PORT NAME SERVER-ARGS -- CLIENT-ARGS: one connection; sets CP, CT, ST
pair()
{
	local port=$1 name=$2 srv srv_args=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do srv_args+=("$1"); shift; done
	shift
	sf_bg "$SF_TMP/srv$port" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$port" \
		--accept 1 "${srv_args[@]}" --ready-file "$SF_TMP/srv$port.ready" --timeout-ms 15000
	srv=$SF_LAST_PID
	sf_wait_file "$SF_TMP/srv$port.ready" || { sf_fail "$T/$name" "server did not listen"; sf_done; }
	sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$port" "$@" \
		--timeout-ms 15000 >"$SF_TMP/cli$port" 2>"$SF_TMP/cli$port.err"
	sf_wait_pid "$srv" 15
	CP=$(sf_field "$SF_TMP/cli$port" lport)
	[ "${CP:-0}" -gt 0 ] 2>/dev/null ||
		{ sf_fail "$T/$name" "client: $(cat "$SF_TMP/cli$port" "$SF_TMP/cli$port.err")"; sf_done; }
	CT="$SF_NETNS_C $SF_C4 $CP $SF_S4 $port"
	ST="$SF_NETNS_S $SF_S4 $port $SF_C4 $CP"
}

# tw_of RECORD: its time_wait record, waited for (up to 5 s)
tw_of()
{
	local id
	id=$(jq -r '.id' <<<"$1" 2>/dev/null)
	if [ -z "$id" ] || [ "$id" = null ]; then
		echo '{}'
		return
	fi
	sf_wait_tw_record 5 "$id"
	sf_tw_records "$id"
}

# a. the server's reset kills the client's FIN-WAIT-2 tw sock
pair 5821 a --wait-eof --linger0 --delay-close-ms 300 -- --close-first
sf_wait_records 5 "$CT" "$ST"
# shellcheck disable=SC2086
C=$(sf_records $CT)
sf_expect "$T/a/client" "$C" '.role == "client"' '.last_state == "FIN-WAIT-2"' \
	'.close.initiator == "local"' '.close.how == "rst_received"' \
	'.close.rst_cause == null' '.conn_state == "RSTR"' '.history == "ShAFr"' \
	'.wave.fin_wait2_ms >= 250' '.time_wait.exit_followed == true'
sf_expect "$T/a/time_wait" "$(tw_of "$C")" '.state == "fin_wait2"' \
	'.exit == "killed"' '.killed_by == "rst_received"' '.duration_ms >= 250'
# shellcheck disable=SC2086
sf_expect "$T/a/server" "$(sf_records $ST)" '.close.how == "rst_sent"' \
	'.close.rst_cause == "linger0"'

# b. data after the server's close: its tw sock resets the client (the
# reset is a note on a tw_end record in the kernel's record stream)
touch_after() { sleep 0.5; touch "$1"; }
after_close()
{
	local port=$1 name=$2 toucher
	touch_after "$SF_TMP/send$port" &
	toucher=$!
	pair "$port" "$name" --close-first -- --send-after-file "$SF_TMP/send$port" --send 100 \
		--wait-eof
	wait "$toucher"
	sf_wait_records 5 "$CT" "$ST"
	# shellcheck disable=SC2086
	S=$(sf_records $ST)
	sf_expect "$T/$name/server" "$S" '.role == "server"' '.last_state == "FIN-WAIT-2"' \
		'.close.initiator == "local"' '.close.how == "rst_sent"' \
		'.close.rst_cause == "after_close"' '.conn_state == "RSTR"' '.history == "ShAfr"'
	sf_expect "$T/$name/time_wait" "$(tw_of "$S")" '.state == "fin_wait2"' \
		'.exit == "killed"' '.killed_by == "rst_sent"'
	# shellcheck disable=SC2086
	sf_expect "$T/$name/client" "$(sf_records $CT)" '.close.how == "rst_received"'
}
after_close 5822 b

# c. TIME_WAIT assassination: the reset's sequence number is the client's
# rcv_nxt, one past the server's FIN
pair 5823 c --wait-eof -- --close-first
sf_wait_records 5 "$CT" "$ST"
# shellcheck disable=SC2086
C=$(sf_records $CT)
# shellcheck disable=SC2086
SEQ=$(sf_records $ST | jq -r '.wave.fin_seq_local + 1' 2>/dev/null)
sf_expect "$T/c/client" "$C" '.close.how == "fin"' '.time_wait.state == "time_wait"' \
	'.conn_state == "SF"'
if [ -n "$SEQ" ] && [ "$SEQ" != null ]; then
	sf_in "$SF_NS_S" timeout 10 "$HPING" -R -p "$CP" -s 5823 -k -M "$((SEQ % 4294967296))" \
		-c 1 -q "$SF_C4" >"$SF_TMP/hping" 2>&1
	sf_expect "$T/c/time_wait" "$(tw_of "$C")" '.state == "time_wait"' \
		'.exit == "killed"' '.killed_by == "rst_received"' '.duration_ms < 30000'
else
	sf_fail "$T/c/time_wait" "no server record to take the FIN's sequence number from"
fi

sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"
sf_done
