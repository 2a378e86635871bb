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
# The ladders of a and b, both ends measured, draw the orphan waiting as a
# tw sock, then the reset when it came (it was drawn at the orphan's close).
#  b2. b with the client's data and FIN in one segment: refused the same.
#  d. b under -c, a filter a tw sock has no owner to be judged by: its
#     reset still names the killer, for the connection synfin followed.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=tw_reset
HPING=$(command -v hping3)
sf_setup "$T"
[ -n "$HPING" ] || { sf_skip "$T" "no hping3 (make deps)"; sf_done; }
"$SYNFIN" --ladder --ascii --laddr "$SF_C4,$SF_S4" >"$SF_TMP/ladder.out" \
	2>"$SF_TMP/ladder.err" &
LADDER=$!
SF_PIDS+=("$LADDER")
sf_wait_ready "$LADDER" "$SF_TMP/ladder.err" "synfin --ladder" ||
	{ sf_fail "$T/ladder" "synfin --ladder did not start"; sf_done; }

# pair PORT NAME SERVER-ARGS -- CLIENT-ARGS: sf_pair on $SF_S4 (CP, CT, ST);
# the client may be reset, as in b
pair()
{
	local port=$1 name=$2
	shift 2
	SF_PAIR_RESULTS="connected reset" sf_pair "$T/$name" "$SF_S4" "$port" "$@"
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

# late_data_pair PORT NAME [SERVER-ARGS...]: the server closes at once, the
# client sends 100 bytes once that close is acked: the server's tw sock resets it
late_data_pair()
{
	local port=$1 name=$2 toucher
	shift 2
	sf_touch_later "$SF_TMP/send$port" "$port" &
	toucher=$!
	pair "$port" "$name" --close-first "$@" -- --send-after-file "$SF_TMP/send$port" \
		--send 100 --wait-eof
	wait "$toucher"
}

# b. data after the server's close: its tw sock resets the client (the
# reset is a note on a tw_end record in the kernel's record stream)
after_close()
{
	local port=$1 name=$2
	late_data_pair "$port" "$name"
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

# b2. b, the client's data in one segment with its FIN (corked, then
# closed): the server's tw sock, still in FIN-WAIT-2, refuses a FIN with
# data past it and resets the same. The old build took that FIN for the
# wave's end, undid the kill, and said fin.
sf_touch_later "$SF_TMP/send5826" 5826 &
toucher=$!
pair 5826 b2 --close-first -- --send-after-file "$SF_TMP/send5826" --send 100 --cork \
	--close-first
wait "$toucher"
sf_wait_records 5 "$CT" "$ST"
# shellcheck disable=SC2086
S=$(sf_records $ST)
sf_expect "$T/b2/server" "$S" '.close.how == "rst_sent"' '.close.rst_cause == "after_close"' \
	'.time_wait.state == "fin_wait2"'
sf_expect "$T/b2/time_wait" "$(tw_of "$S")" '.exit == "killed"' '.killed_by == "rst_sent"'

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

# ladder_row_ms PORT TEXT: the time (ms) of the first row with TEXT in the
# ladder of the connection to PORT, and its row number
ladder_row_ms()
{
	awk -v p=":$1 " -v text="$2" 'BEGIN { RS = "" }
		index($0, p) {
			n = split($0, row, "\n")
			for (i = 1; i <= n; i++)
				if (index(row[i], text)) {
					t = row[i]; sub(/^[~+]/, "", t); sub(/ .*/, "", t)
					print t, i; exit
				}
		}' "$SF_TMP/ladder.out"
}

# ladder_reset_late NAME PORT RST-LABEL MIN-MS: the orphan's row, then the
# reset's, at least MIN-MS later
ladder_reset_late()
{
	local orphan reset
	orphan=$(ladder_row_ms "$2" "orphaned: its tw sock waits")
	reset=$(ladder_row_ms "$2" "<--$3-")
	if [ -z "$orphan" ] || [ -z "$reset" ]; then
		sf_fail "$T/$1/ladder" "no orphan row or no $3 row: $(sf_oneline "$(cat "$SF_TMP/ladder.out")")"
		return
	fi
	sf_check "$T/$1/ladder" "orphan row (ms, row) $orphan, $3 row $reset" \
		awk -v o="$orphan" -v r="$reset" -v min="$4" \
		'BEGIN { split(o, a, " "); split(r, b, " ")
			exit !(b[2] > a[2] && b[1] - a[1] >= min) }'
}

sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"
kill -INT "$LADDER" 2>/dev/null
sf_wait_pid "$LADDER" 10 || sf_fail "$T/ladder/stop" "synfin --ladder did not exit 0"
# a: the server's reset 300 ms after the EOF; b: whenever the client sent
ladder_reset_late a 5821 "RST (linger0)" 250
ladder_reset_late b 5822 "RST (after_close)" 0

# d. b's reset under an owner filter (-c), which a tw sock cannot be judged
# by: the kernel lets its reset through, and synfin keeps it for the tw
# sock of a connection it followed. By default the server's time_wait
# record says killed_by rst_sent; with --events the reset record is named
# after the connection; under a -c naming another process nothing of the
# connection is printed.
# reset_of PORT: the reset record sent from PORT to the client's port CP
reset_of()
{
	jq -c --argjson p "$1" --argjson cp "$CP" 'select(.type == "reset" and
		.lport == $p and .rport == $cp)' "$SF_OUT" 2>/dev/null
}
# owner_case NAME PORT WANT SYNFIN-ARGS...: WANT is kept or dropped
owner_case()
{
	local name=$1 port=$2 want=$3 rst
	shift 3
	[ -z "$SF_SYNFIN_PID" ] || sf_synfin_stop ||
		sf_fail "$T/$name/stop" "synfin did not exit 0 on SIGINT"
	sf_start "$T/$name" --laddr "$SF_C4,$SF_S4" "$@"
	late_data_pair "$port" "$name" --comm sftwsrv
	if [ "$want" = dropped ]; then
		sleep 1
		rst=$(jq -c --argjson p "$port" 'select(.lport == $p or .rport == $p)' "$SF_OUT" 2>/dev/null)
		sf_check "$T/$name/dropped" "nothing about a connection of another process: $rst" \
			[ -z "$rst" ]
		return
	fi
	if [[ "$*" == *--events* ]]; then
		# no conn or time_wait records: the reset record itself, named
		# after the connection, as the tw sock's other records are
		sf_wait_output 5 reset_of "$port"
		rst=$(reset_of "$port")
		SF_JQ_ARGS=(--argjson pid "$SPID")
		sf_expect "$T/$name/reset" "$rst" '.direction == "sent"' \
			'.state == "TIME-WAIT"' '.comm == "sftwsrv"' '.pid == $pid'
		SF_JQ_ARGS=()
		return
	fi
	sf_wait_records 5 "$ST"
	# shellcheck disable=SC2086
	S=$(sf_records $ST)
	sf_expect "$T/$name/server" "$S" '.comm == "sftwsrv"' '.close.how == "rst_sent"' \
		'.close.rst_cause == "after_close"'
	sf_expect "$T/$name/time_wait" "$(tw_of "$S")" '.state == "fin_wait2"' \
		'.exit == "killed"' '.killed_by == "rst_sent"'
}
owner_case d 5824 kept -c sftwsrv
owner_case d_events 5825 kept --events -c sftwsrv
owner_case d_other 5826 dropped --events -c sfnobody
# the other filters a tw sock has no owner for: its user, its cgroup (the
# tests run as root, under the cgroup v2 root)
owner_case d_uid 5827 kept -u 0
owner_case d_cgroup 5828 kept --cgroup "$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)"
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"
sf_done
