#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# -F/--failed: of two orderly connections (client closes first, server
# closes first), an abortive one (SO_LINGER 0) and a refused connect, only
# the ends that failed are printed, with tp_btf and classic tracepoints.
# The kernel keeps the orderly ends' records back (counted as filtered),
# no TIME_WAIT is followed, and an instance without -F sees all thirteen
# ends, so the traffic the filter left out did happen.
# Two waves a reset ends after one end's close() (its orphan's tw sock
# waits in FIN-WAIT-2): E, the peer resets it (SO_LINGER 0 after the
# EOF); F, the peer sends on after the close and the tw sock resets it.
# The orphan's end looks orderly at its ->CLOSE; with tp_btf the kernel
# holds its record until the reset and then shows it (rst_received,
# rst_sent after_close). Classic mode cannot (no socket in kfree_skb's
# tracepoint there): it shows the other ends only, and says so under -v.
# G: an orphan whose peer does not close before tcp_fin_timeout is held,
# then let go once its tw sock's time is out (the peer's late FIN then
# finds no socket and is reset: that end failed); and A's, whose FIN
# came, is not held at the end.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=failed
sf_setup_ns "$T"

sf_start_as all --netns "$SF_NETNS_C"
sf_start_as allsrv --netns "$SF_NETNS_S"
sf_start_as btf -F -v
sf_start_as classic -F --classic -v

# A: the client closes first; B: the server does; C: the client aborts
# (SO_LINGER 0: it sends a RST, the server's socket is reset); D: refused.
sf_pair "$T/A" "$SF_S4" 5301 --wait-eof --send 300 --comm sfsrvA -- \
	--send 100 --recv 300 --close-first --comm sfcliA
PA=$CP
sf_pair "$T/B" "$SF_S4" 5302 --close-first --send 300 --recv 100 --comm sfsrvB -- \
	--send 100 --recv 300 --wait-eof --comm sfcliB
PB=$CP
sf_pair "$T/C" "$SF_S4" 5303 --wait-eof --send 3000 --comm sfsrvC -- \
	--send 1000 --recv 3000 --close-first --linger0 --comm sfcliC
PC=$CP
[ "$(sf_field "$SF_TMP/srv" result)" = reset ] ||
	{ sf_fail "$T/C" "server was not reset: $(cat "$SF_TMP/srv" "$SF_TMP/srv.err")"; sf_done; }
sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port 5309 --comm sfcliD \
	--timeout-ms 10000 >"$SF_TMP/cliD" 2>"$SF_TMP/cliD.err"
[ "$(sf_field "$SF_TMP/cliD" result)" = refused ] ||
	{ sf_fail "$T/D" "client was not refused: $(cat "$SF_TMP/cliD" "$SF_TMP/cliD.err")"; sf_done; }
PD=$(sf_field "$SF_TMP/cliD" lport)
SF_PAIR_RESULTS="connected reset" sf_pair "$T/E" "$SF_S4" 5304 --wait-eof --linger0 \
	--delay-close-ms 300 --comm sfsrvE -- --close-first --comm sfcliE
PE=$CP
sf_touch_later "$SF_TMP/sendF" 5305 &
toucher=$!
SF_PAIR_RESULTS="connected reset" sf_pair "$T/F" "$SF_S4" 5305 --close-first --comm sfsrvF -- \
	--send-after-file "$SF_TMP/sendF" --send 100 --wait-eof --comm sfcliF
PF=$CP
wait "$toucher"
# G: the client namespace's tcp_fin_timeout (gone with the namespace) is
# 2 s; the server closes after 5.5 s, when no tw sock is left to answer
sf_in "$SF_NS_C" sysctl -qw net.ipv4.tcp_fin_timeout=2
sf_bg "$SF_TMP/srvG" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port 5306 --accept 1 \
	--wait-eof --delay-close-ms 5500 --ready-file "$SF_TMP/srvG.ready" --timeout-ms 15000
srvG=$SF_LAST_PID
sf_wait_file "$SF_TMP/srvG.ready" || { sf_fail "$T/G" "server did not listen"; sf_done; }
sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port 5306 --close-first \
	--timeout-ms 10000 >"$SF_TMP/cliG" 2>"$SF_TMP/cliG.err"
sleep 1
h=$(sf_fw2_held 65536)
sf_check "$T/G/held" "orphans held 1 s after the close: '$h', want 1" [ "$h" = 1 ]
# fin_time 2 s, and the sweep's slack (2/8 + 1 s), at a sweep a second
sleep 4
h=$(sf_fw2_held 65536)
sf_check "$T/G/let_go" "orphans held 5 s after the close: '$h', want 0" [ "$h" = 0 ]
sf_wait_pid "$srvG" 10
PG=$(sf_field "$SF_TMP/cliG" lport)

C=$SF_NETNS_C
S=$SF_NETNS_S
# one key per connection end: netns lport rport role
ALL_ENDS=$(printf '%s\n' "$C $PA 5301 client" "$S 5301 $PA server" \
	"$C $PB 5302 client" "$S 5302 $PB server" "$C $PC 5303 client" "$S 5303 $PC server" \
	"$C $PD 5309 client" "$C $PE 5304 client" "$S 5304 $PE server" \
	"$C $PF 5305 client" "$S 5305 $PF server" "$C $PG 5306 client" "$S 5306 $PG server" | sort)
# the resets' ends, and the orphans' ends only with tp_btf
CLASSIC_ENDS=$(printf '%s\n' "$C $PC 5303 client" "$S 5303 $PC server" \
	"$C $PD 5309 client" "$S 5304 $PE server" "$C $PF 5305 client" "$S 5306 $PG server" | sort)
BTF_ENDS=$(printf '%s\n' "$CLASSIC_ENDS" "$C $PE 5304 client" "$S 5305 $PF server" | sort)

# keys FILE...: the conn records of our two namespaces in FILEs, sorted
keys()
{
	jq -r --argjson c "$C" --argjson s "$S" \
		'select(.type == "conn" and (.netns == $c or .netns == $s)) |
		 "\(.netns) \(.lport) \(.rport) \(.role)"' "$@" 2>/dev/null | sort
}

sf_wait_count 13 keys "$SF_TMP/all.out" "$SF_TMP/allsrv.out"
sf_wait_count 8 keys "$SF_TMP/btf.out"
sf_wait_count 6 keys "$SF_TMP/classic.out"

# the orderly ends' records would have had time to come too
sleep 0.3
for name in all allsrv btf classic; do
	sf_synfin_stop_as "$name" || sf_fail "$T/$name/stop" "synfin did not exit 0 on SIGINT"
done

got=$(keys "$SF_TMP/all.out" "$SF_TMP/allsrv.out")
if [ "$got" = "$ALL_ENDS" ]; then
	sf_pass "$T/unfiltered"
else
	sf_fail "$T/unfiltered" "want [$(sf_oneline "$ALL_ENDS")], got [$(sf_oneline "$got")]"
fi

# shellcheck disable=SC2016
IS_FAILED='(.handshake.result | IN("refused", "timeout", "reset", "aborted")) or
	(.close.how | IN("rst_sent", "rst_received", "timeout")) or .close.err != 0'
for name in btf classic; do
	out=$SF_TMP/$name.out
	got=$(keys "$out")
	want=$BTF_ENDS
	[ "$name" = btf ] || want=$CLASSIC_ENDS
	if [ "$got" = "$want" ]; then
		sf_pass "$T/$name/ends"
	else
		sf_fail "$T/$name/ends" "want [$(sf_oneline "$want")], got [$(sf_oneline "$got")]"
	fi
	# host-wide: whatever else ran meanwhile must have failed too
	orderly=$(jq -c "select(.type == \"conn\" and (($IS_FAILED) | not))" "$out" 2>/dev/null)
	sf_check "$T/$name/only_failed" "records that did not fail: $orderly" [ -z "$orderly" ]
	tw=$(jq -c 'select(.type == "time_wait")' "$out" 2>/dev/null)
	sf_check "$T/$name/no_time_wait" "time_wait records: $tw" [ -z "$tw" ]
	# the four orderly ends at least, kept back in the kernel
	filtered=$(sf_summary "$SF_TMP/$name.err" filtered)
	sf_check "$T/$name/kept_back" "filtered in the kernel: '$filtered', want >= 4" \
		[ "${filtered:-0}" -ge 4 ]
	shown=$(sed -n 's/^synfin: --failed: failed connections shown: \([0-9]*\);.*/\1/p' \
		"$SF_TMP/$name.err")
	sf_check "$T/$name/summary" "--failed summary: '$shown', want >= 3" [ "${shown:-0}" -ge 3 ]
done

SF_JQ_ARGS=(--argjson ns "$C" --argjson lp "$PC")
rec=$(jq -c --argjson ns "$C" --argjson lp "$PC" \
	'select(.type == "conn" and .netns == $ns and .lport == $lp)' "$SF_TMP/btf.out")
sf_expect "$T/btf/abort" "$rec" '.close.how == "rst_sent"' '.close.rst_cause == "linger0"' \
	'.comm == "sfcliC"'
sf_check "$T/btf/tw_off" "no 'TIME_WAIT exits not measured (--failed)' in -v output" \
	grep -q 'TIME_WAIT exits not measured (--failed)' "$SF_TMP/btf.err"
sf_check "$T/btf/tp_btf" "btf's instance fell back to classic tracepoints" \
	grep -q '^synfin: tp_btf hooks' "$SF_TMP/btf.err"

# conn NETNS LPORT: that end's record in btf's output
conn()
{
	jq -c --argjson ns "$1" --argjson lp "$2" \
		'select(.type == "conn" and .netns == $ns and .lport == $lp)' "$SF_TMP/btf.out"
}
sf_expect "$T/btf/E" "$(conn "$C" "$PE")" '.comm == "sfcliE"' '.last_state == "FIN-WAIT-2"' \
	'.close.initiator == "local"' '.close.how == "rst_received"' '.close.rst_cause == null' \
	'.conn_state == "RSTR"' '.history == "ShAFr"' '.wave.fin_wait2_ms >= 250' \
	'.time_wait.state == "fin_wait2"' '.time_wait.exit_followed == false'
sf_expect "$T/btf/F" "$(conn "$S" 5305)" '.comm == "sfsrvF"' '.last_state == "FIN-WAIT-2"' \
	'.close.initiator == "local"' '.close.how == "rst_sent"' \
	'.close.rst_cause == "after_close"' '.conn_state == "RSTR"' '.history == "ShAfr"'
# G's orphan was let go, and A's was dropped at its peer's FIN
h=$(sed -n 's/^synfin: --failed: orphans held in FIN-WAIT-2 .*: \([0-9]*\) at the last sweep.*/\1/p' \
	"$SF_TMP/btf.err")
sf_check "$T/btf/none_held" "orphans held at the last sweep: '$h', want 0" [ "$h" = 0 ]
sf_check "$T/classic/unwatched" "no 'a reset that ends an orphan's wave ... is not seen' under -v" \
	grep -q "orphan's wave after its close is not seen (classic tracepoints)" "$SF_TMP/classic.err"
sf_done
