#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# -F/--failed: of two orderly connections (client closes first, server
# closes first), an abortive one (SO_LINGER 0) and a refused connect, only
# the ends that failed are printed, with tp_btf and classic tracepoints.
# The kernel keeps the orderly ends' records back (counted as filtered),
# no TIME_WAIT is followed, and an instance without -F sees all seven ends,
# so the traffic the filter left out did happen.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=failed
sf_setup_ns "$T"

start()
{
	sf_synfin_start_as "$@" ||
		{ sf_fail "$T/$1" "synfin did not start: $(head -n 3 "$SF_TMP/$1.err" | tr '\n' ' ')"; sf_done; }
}
start all --netns "$SF_NETNS_C"
start allsrv --netns "$SF_NETNS_S"
start btf -F -v
start classic -F --classic

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

C=$SF_NETNS_C
S=$SF_NETNS_S
# one key per connection end: netns lport rport role
ALL_ENDS=$(printf '%s\n' "$C $PA 5301 client" "$S 5301 $PA server" \
	"$C $PB 5302 client" "$S 5302 $PB server" "$C $PC 5303 client" "$S 5303 $PC server" \
	"$C $PD 5309 client" | sort)
FAILED_ENDS=$(printf '%s\n' "$C $PC 5303 client" "$S 5303 $PC server" \
	"$C $PD 5309 client" | sort)

# keys FILE...: the conn records of our two namespaces in FILEs, sorted
keys()
{
	jq -r --argjson c "$C" --argjson s "$S" \
		'select(.type == "conn" and (.netns == $c or .netns == $s)) |
		 "\(.netns) \(.lport) \(.rport) \(.role)"' "$@" 2>/dev/null | sort
}

sf_wait_count 7 keys "$SF_TMP/all.out" "$SF_TMP/allsrv.out"
for name in btf classic; do
	sf_wait_count 3 keys "$SF_TMP/$name.out"
done
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
	if [ "$got" = "$FAILED_ENDS" ]; then
		sf_pass "$T/$name/ends"
	else
		sf_fail "$T/$name/ends" "want [$(sf_oneline "$FAILED_ENDS")], got [$(sf_oneline "$got")]"
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
sf_done
