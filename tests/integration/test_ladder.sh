#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# --ladder on a real connection whose two ends are both on this host: one
# ladder, both sides measured, the sequence numbers the JSON records carry,
# 80 columns, and --ascii that is ASCII only, as are the ladders of a user
# whose locale is not UTF-8. And a dual-stack server's IPv4 connection,
# whose ends are of two families, is one ladder too.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=ladder
SPORT=5009
CPORT=45009	# fixed, so -L selects both ends of this connection and nothing else
sf_setup_ns "$T"
sf_start_as json -L "$SPORT,$CPORT"

# the ladder instances print text: start them by hand (sf_synfin_start_as adds -j)
start_ladder()
{
	local name=$1 locale=$2
	shift 2
	LC_ALL=$locale "$SYNFIN" --ladder "$@" -L "$SPORT,$CPORT" >"$SF_TMP/$name.out" \
		2>"$SF_TMP/$name.err" &
	SF_PIDS+=("$!")
	eval "PID_$name=$!"
	sf_wait_ready "$!" "$SF_TMP/$name.err" "synfin --ladder ($name)"
}
start_ladder utf8 C.UTF-8 || { sf_fail "$T" "synfin --ladder did not start"; sf_done; }
start_ladder ascii C.UTF-8 --ascii || { sf_fail "$T" "synfin --ladder --ascii did not start"; sf_done; }
start_ladder clocale C || { sf_fail "$T" "synfin --ladder (LC_ALL=C) did not start"; sf_done; }

sf_bg "$SF_TMP/srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$SPORT" --accept 1 \
	--wait-eof --send 3000 --comm sflads --ready-file "$SF_TMP/srv.ready" --timeout-ms 15000
SRV=$SF_LAST_PID
sf_wait_file "$SF_TMP/srv.ready" || { sf_fail "$T" "server did not listen"; sf_done; }
sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$SPORT" --lport "$CPORT" \
	--send 1000 --recv 3000 --close-first --comm sfladc --timeout-ms 15000 \
	>"$SF_TMP/cli" 2>"$SF_TMP/cli.err"
sf_wait_pid "$SRV" 15 || { sf_fail "$T" "server did not finish"; sf_done; }
[ "$(sf_field "$SF_TMP/cli" result)" = connected ] ||
	{ sf_fail "$T" "client: $(cat "$SF_TMP/cli" "$SF_TMP/cli.err")"; sf_done; }

# the ladders are drawn once the pair is matched (or the hold expires)
sleep 1.5
sf_synfin_stop_as json || sf_fail "$T/stop" "synfin -j did not exit 0"
for name in utf8 ascii clocale; do
	pid=$(eval echo "\$PID_$name")
	kill -INT "$pid" 2>/dev/null
	wait "$pid" || sf_fail "$T/$name/stop" "synfin --ladder did not exit 0"
done

CREC=$(jq -c "select(.type == \"conn\" and .lport == $CPORT)" "$SF_TMP/json.out")
SREC=$(jq -c "select(.type == \"conn\" and .lport == $SPORT)" "$SF_TMP/json.out")
if [ -z "$CREC" ] || [ -z "$SREC" ]; then
	sf_fail "$T" "no JSON records for both ends"
	sf_done
fi
CISN=$(jq '.handshake.isn_local' <<<"$CREC")
SISN=$(jq '.handshake.isn_local' <<<"$SREC")
CFIN=$(jq '.wave.fin_seq_local' <<<"$CREC")
SFIN=$(jq '.wave.fin_seq_local' <<<"$SREC")

for name in utf8 ascii clocale; do
	out=$SF_TMP/$name.out
	sf_check "$T/$name/one-ladder" "$(grep -c '^+0.000 is ' "$out") ladders, want 1" \
		test "$(grep -c '^+0.000 is ' "$out")" = 1
	sf_check "$T/$name/both-measured" "$(head -n 4 "$out" | tr '\n' '|')" \
		grep -q "client  pid [0-9]* sfladc  (measured)" "$out"
	sf_check "$T/$name/server-measured" "$(head -n 4 "$out" | tr '\n' '|')" \
		grep -q "server  pid [0-9]* sflads  (measured)" "$out"
	sf_check "$T/$name/syn" "no 'SYN seq=$CISN'" grep -q "SYN seq=$CISN" "$out"
	sf_check "$T/$name/synack" "no 'SYN-ACK seq=$SISN ack=$((CISN + 1))'" \
		grep -q "SYN-ACK seq=$SISN ack=$(((CISN + 1) % 4294967296))" "$out"
	sf_check "$T/$name/fins" "FINs $CFIN/$SFIN not drawn" \
		sh -c "grep -q 'FIN seq=$CFIN' '$out' && grep -q 'FIN seq=$SFIN' '$out'"
	width=$(LC_ALL=C.UTF-8 wc -L <"$out")
	sf_check "$T/$name/80-columns" "widest line is $width columns" test "$width" -le 80
done
sf_check "$T/ascii/only-ascii" "non-ASCII bytes in --ascii output" \
	sh -c "! LC_ALL=C grep -q '[^ -~]' '$SF_TMP/ascii.out'"
sf_check "$T/clocale/only-ascii" "non-ASCII bytes in a C locale's ladder" \
	sh -c "! LC_ALL=C grep -q '[^ -~]' '$SF_TMP/clocale.out'"
sf_check "$T/utf8/arrows" "no UTF-8 arrows" grep -q '▶' "$SF_TMP/utf8.out"

# A server bound to [::] that takes IPv4 clients (IPV6_V6ONLY off, most
# servers' default) has an AF_INET6 end, ::ffff:a.b.c.d, for an IPv4
# client's AF_INET one: the same connection, one ladder.
DPORT=5019
DCPORT=45019
"$SYNFIN" --ladder -L "$DPORT,$DCPORT" >"$SF_TMP/dual.out" 2>"$SF_TMP/dual.err" &
DUAL=$!
SF_PIDS+=("$DUAL")
if sf_wait_ready "$DUAL" "$SF_TMP/dual.err" "synfin --ladder (dual)"; then
	sf_bg "$SF_TMP/dsrv" "$SF_NS_S" "$TCPDRIVE" server --bind :: --dual-stack --port "$DPORT" \
		--accept 1 --wait-eof --send 100 --comm sfladd --ready-file "$SF_TMP/dsrv.ready" \
		--timeout-ms 15000
	DSRV=$SF_LAST_PID
	sf_wait_file "$SF_TMP/dsrv.ready" || sf_fail "$T/dual" "server did not listen"
	sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$DPORT" --lport "$DCPORT" \
		--recv 100 --close-first --comm sfladdc --timeout-ms 15000 >"$SF_TMP/dcli" 2>&1
	sf_wait_pid "$DSRV" 15 || sf_fail "$T/dual" "server did not finish"
	echo "  dual-stack server: $(head -n 1 "$SF_TMP/dsrv" 2>/dev/null)"
	sleep 1.5
	kill -INT "$DUAL" 2>/dev/null
	wait "$DUAL" || sf_fail "$T/dual/stop" "synfin --ladder did not exit 0"
	sf_check "$T/dual/one-ladder" "$(grep -c '^+0.000 is ' "$SF_TMP/dual.out") ladders: $(grep -E '^(left|right) ' "$SF_TMP/dual.out" | tr '\n' '|')" \
		test "$(grep -c '^+0.000 is ' "$SF_TMP/dual.out")" = 1
	sf_check "$T/dual/both-measured" "$(grep -E '^(left|right) ' "$SF_TMP/dual.out" | tr '\n' '|')" \
		sh -c "test \"\$(grep -cE '^(left|right) .*\(measured\)\$' '$SF_TMP/dual.out')\" = 2 &&
			! grep -q '(inferred)' '$SF_TMP/dual.out'"
else
	sf_fail "$T/dual" "synfin --ladder did not start"
fi
sf_done
