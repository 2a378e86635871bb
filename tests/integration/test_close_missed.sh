#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A ->CLOSE whose record the ring had no room for: the socket's destroy
# record stands in for it, and the connection's record says so
# (close.missed). A full ring cannot be timed to one transition, so
# SYNFIN_TEST_LOSE_CLOSE makes the kernel take every ->CLOSE record as
# lost to a full ring, counted as such. After a failed connect() the kernel
# has wiped the socket's addresses and remote port (tcp_disconnect): the
# record must still name the connection, from what synfin kept at
# connect(). Under --events the destroy's state record says destroy.
# Cases:
#   refused   connect() to a port with no listener (RST)
#   timeout   a SYN never answered (a blackhole route in the server
#             namespace, tcp_syn_retries 1 in the client's: ~3 s)
#   closed    an established connection the client closes
# and without the knob a record says close.missed false.
# Under -D (and the address filters) the destroy of a socket the kernel
# wiped is judged by the tuple kept at connect(), which its record names:
# a third synfin with -D 5004 must show the refused client. (It was judged
# by the wiped tuple, remote port 0, and dropped.)
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=close_missed
sf_setup_ns "$T"
sf_in "$SF_NS_C" sh -c 'echo 1 > /proc/sys/net/ipv4/tcp_syn_retries' ||
	{ sf_fail "$T" "cannot set tcp_syn_retries in the client namespace"; sf_done; }

# one synfin per mode; the single-instance helpers are pointed at each
# in turn (SF_OUT, SF_ERR, SF_SYNFIN_PID)
export SYNFIN_TEST_LOSE_CLOSE=1
sf_start_as events --netns "$SF_NETNS_C" --events
sf_start_as summary --netns "$SF_NETNS_C"
sf_start_as rport --netns "$SF_NETNS_C" -D 5004
unset SYNFIN_TEST_LOSE_CLOSE
EV_PID=${SF_SYNFIN_PIDS[events]} EV_OUT=$SF_TMP/events.out EV_ERR=$SF_TMP/events.err
SUM_PID=${SF_SYNFIN_PIDS[summary]} SUM_OUT=$SF_TMP/summary.out SUM_ERR=$SF_TMP/summary.err
SF_OUT=$SUM_OUT SF_ERR=$SUM_ERR SF_SYNFIN_PID=$SUM_PID

# client NAME PORT WANT: one tcpdrive client; FAIL + exit unless its result
# is WANT. Sets its tuple in the variable NAME.
client()
{
	local out=$SF_TMP/cli.$1 port
	sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$2" --comm "sfmiss$1" \
		--timeout-ms 20000 >"$out" 2>"$out.err"
	[ "$(sf_field "$out" result)" = "$3" ] ||
		{ sf_fail "$T/$1" "client did not see $3: $(cat "$out" "$out.err")"; sf_done; }
	port=$(sf_field "$out" lport)
	[ "$port" -gt 0 ] 2>/dev/null || { sf_fail "$T/$1" "client reported no local port"; sf_done; }
	printf -v "$1" '%s' "$SF_NETNS_C $SF_C4 $port $SF_S4 $2"
	printf -v "$1_pid" '%s' "$(sf_field "$out" pid)"
}

client refused 5004 refused
sf_pair "$T" "$SF_S4" 5010 --wait-eof -- --comm sfmissclosed
closed=$CT closed_pid=$CPID
ip -n "$SF_NS_S" route add blackhole "$SF_C4/32" ||
	{ sf_fail "$T" "cannot add the blackhole route"; sf_done; }
client timeout 5005 timeout

# has FILE JQ-EXPR [JQ-ARGS...]: some record of FILE makes JQ-EXPR true
# shellcheck disable=SC2317 # called through sf_check
has()
{
	local file=$1 expr=$2
	shift 2
	jq -n -e "$@" "any(inputs; $expr)" "$file" >/dev/null
}

# lport TUPLE: its local port
lport() { cut -d' ' -f3 <<<"$1"; }

# shellcheck disable=SC2154,SC2086
{
	SF_OUT=$SUM_OUT SF_ERR=$SUM_ERR SF_SYNFIN_PID=$SUM_PID
	sf_wait_records 5 "$refused" "$timeout" "$closed"
	sf_synfin_stop || sf_fail "$T/summary/stop" "synfin did not exit 0 on SIGINT"
	# the reset the kernel folded into the story still tells a refusal
	SF_JQ_ARGS=(--argjson cpid "$refused_pid")
	sf_expect "$T/summary/refused" "$(sf_records $refused)" \
		'.close.missed == true' '.role == "client"' '.pid == $cpid' \
		'.comm == "sfmissrefused"' '.handshake.result == "refused"' \
		'.handshake.isn_local == null' '.close.err == 0' '.last_state == "SYN-SENT"' \
		'.bytes_sent == null' '.bytes_received == null'
	SF_JQ_ARGS=(--argjson cpid "$timeout_pid")
	sf_expect "$T/summary/timeout" "$(sf_records $timeout)" \
		'.close.missed == true' '.role == "client"' '.pid == $cpid' \
		'.comm == "sfmisstimeout"' '.handshake.result == "aborted"' \
		'.handshake.syn_retrans >= 1' '.close.err == 0' '.last_state == "SYN-SENT"'
	SF_JQ_ARGS=(--argjson cpid "$closed_pid")
	sf_expect "$T/summary/closed" "$(sf_records $closed)" \
		'.close.missed == true' '.role == "client"' '.pid == $cpid' \
		'.comm == "sfmissclosed"' '.handshake.result == "established"' \
		'.close.initiator == "local"'
}

# -D: the refused client's destroy judged by its kept tuple
# shellcheck disable=SC2154,SC2086
{
	SF_OUT=$SF_TMP/rport.out SF_ERR=$SF_TMP/rport.err SF_SYNFIN_PID=${SF_SYNFIN_PIDS[rport]}
	sf_wait_records 5 "$refused"
	sf_synfin_stop || sf_fail "$T/rport/stop" "synfin -D did not exit 0 on SIGINT"
	sf_expect "$T/rport/refused" "$(sf_records $refused)" \
		'.close.missed == true' '.handshake.result == "refused"' '.rport == 5004'
}

# --events: the destroy that stood in for each, as a state record marked so
SF_OUT=$EV_OUT SF_ERR=$EV_ERR SF_SYNFIN_PID=$EV_PID
sf_wait_count 3 grep -F '"destroy":true' "$SF_OUT"
# shellcheck disable=SC2154
for c in refused timeout closed; do
	sf_check "$T/events/$c" "no destroy state record for the $c client: $(grep -c . "$SF_OUT") lines" \
		has "$SF_OUT" '.type == "state" and .lport == $lp and .destroy == true and
			.new_state == "CLOSE"' --argjson lp "$(lport "${!c}")"
done
sf_synfin_stop || sf_fail "$T/events/stop" "synfin did not exit 0 on SIGINT"

# each ->CLOSE counted lost, in the exit summary and in-band
for mode in summary events; do
	if [ "$mode" = summary ]; then out=$SUM_OUT err=$SUM_ERR; else out=$EV_OUT err=$EV_ERR; fi
	n=$(sf_summary "$err" ringbuf_full)
	sf_check "$T/$mode/counted" "ringbuf_full=$n, want >= 3" [ "${n:-0}" -ge 3 ]
	sf_check "$T/$mode/lost-record" "no lost record for ringbuf_full in $out" \
		has "$out" '.type == "lost" and .reason == "ringbuf_full"'
done

# without the knob the ->CLOSE is seen
sf_start "$T" --netns "$SF_NETNS_C"
ip -n "$SF_NS_S" route del blackhole "$SF_C4/32"
client plain 5004 refused
# shellcheck disable=SC2154
sf_wait_records 5 "$plain"
sf_synfin_stop || sf_fail "$T/plain/stop" "synfin did not exit 0 on SIGINT"
# shellcheck disable=SC2086
sf_expect "$T/plain" "$(sf_records $plain)" \
	'.close.missed == false' '.handshake.result == "refused"' '.close.err == 111'
sf_done
