#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Where the TIME_WAIT counts come from: the tw socks synfin follows, when
# they are every tw sock the kernel holds, else the census's walk of them.
#  a. 100 client TIME_WAIT socks exist before synfin starts (client
#     namespace), 200 more come after: only the walk sees all 300. With
#     --tw-count 250 timewait_buildup must start (the followed 200 alone
#     would not reach it), and no interval may take the followed count.
#  b. A namespace with no tw sock at start (the server's), 250 server
#     closes: the followed socks are all there are, their count stands in
#     for the walk, and timewait_buildup starts on the listener with no
#     more TIME_WAIT than there were connections.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=tw_counted
PA=5310
PB=5311
sf_setup_ns "$T"
# A client's final ACK sent twice reaches the server after its socket has
# gone; the reset that answers it would kill the client's tw sock (see
# test_tw_buildup). RFC 1337 behaviour keeps them all.
sf_in "$SF_NS_C" sysctl -qw net.ipv4.tcp_rfc1337=1 ||
	{ sf_fail "$T" "cannot set tcp_rfc1337"; sf_done; }

# expect_start NAME WHAT COND EXPR...: wait (10 s at most) for the first
# alert start for which jq COND holds, and judge every EXPR on it (jq's
# variables from SF_JQ_ARGS)
expect_start()
{
	local name=$1 what=$2 cond="$3 and .state == \"start\"" rec
	shift 3
	sf_wait_alert 10 "$SF_OUT" "$cond" "${SF_JQ_ARGS[@]}"
	rec=$(sf_alerts "$SF_OUT" "$cond" "${SF_JQ_ARGS[@]}")
	sf_expect_first "$name" "$what" "$rec" "$@"
	[ -n "$rec" ] && echo "  start: $(head -n 1 <<<"$rec")"
}

# intervals: "K N" from synfin's -v line (K of N intervals took the
# followed tw socks' count)
intervals()
{
	sed -n 's/.*followed tw socks in \([0-9]*\) of \([0-9]*\) intervals.*/\1 \2/p' \
		"$SF_ERR"
}

# --- a. tw socks from before synfin ----------------------------------------------
sf_conns a0 "$PA" 100 --wait-eof --close-first sfcnta0
sf_conns_release a0	# a's server listens on the same port
sf_start_grep "$T/a" '"type":"alert"' -v --netns "$SF_NETNS_C" --tw-count 250
sf_conns a "$PA" 200 --wait-eof --close-first sfcnta
twa=$(sf_ss_count "$SF_NS_C" time-wait "( dport = :$PA )")
echo "  a: client ns TIME-WAIT to :$PA: $twa (ss)"
sf_check "$T/a/traffic" "only $twa TIME-WAIT socks toward :$PA (want 300)" [ "$twa" -ge 290 ]
# no more than the connections made: ss, read at another moment, may
# already miss one a reset killed since
SF_JQ_ARGS=(--argjson port "$PA" --argjson made 300)
expect_start "$T/a/walked" "timewait_buildup start toward :$PA (--tw-count 250, 200 followed)" \
	'.kind == "timewait_buildup" and .side == "client" and .destination.port == $port' \
	'.figures.count >= 250' '.figures.count <= $made'
SF_JQ_ARGS=()
sf_synfin_stop || sf_fail "$T/a/stop" "synfin did not exit 0 on SIGINT"
read -r k n <<<"$(intervals)"
echo "  a: TIME_WAIT from the followed socks in ${k:-?} of ${n:-?} intervals"
ok=false
[ -n "$n" ] && [ "$n" -ge 1 ] && [ "$k" = 0 ] && ok=true
sf_check "$T/a/no-followed-count" "the followed count stood in for the walk (${k:-?} of ${n:-?})" \
	"$ok"
sf_conns_release a

# --- b. every tw sock followed ----------------------------------------------------
twb0=$(sf_ss_count "$SF_NS_S" time-wait)
sf_check "$T/b/none-before" "$twb0 TIME-WAIT socks in the server namespace before b" [ "$twb0" = 0 ]
sf_start_grep "$T/b" '"type":"alert"' -v --netns "$SF_NETNS_S" --tw-count 230
sf_conns b "$PB" 250 --close-first --wait-eof sfcntb
twb=$(sf_ss_count "$SF_NS_S" time-wait "( sport = :$PB )")
echo "  b: server ns TIME-WAIT from :$PB: $twb (ss)"
sf_check "$T/b/traffic" "only $twb TIME-WAIT socks from :$PB (want 250)" [ "$twb" -ge 240 ]
SF_JQ_ARGS=(--argjson port "$PB" --argjson made 250 --arg addr "$SF_S4")
expect_start "$T/b/followed" "timewait_buildup start on $SF_S4:$PB (--tw-count 230)" \
	'.kind == "timewait_buildup" and .side == "server" and .listener.port == $port' \
	'.listener.addr == $addr' '.figures.count >= 230' '.figures.count <= $made'
SF_JQ_ARGS=()
sleep 2	# intervals with the churn over
sf_synfin_stop || sf_fail "$T/b/stop" "synfin did not exit 0 on SIGINT"
read -r k n <<<"$(intervals)"
echo "  b: TIME_WAIT from the followed socks in ${k:-?} of ${n:-?} intervals"
# each interval but one during the churn at most (a count read mid-burst
# may differ by more than the slack)
ok=false
[ -n "$n" ] && [ "$n" -ge 2 ] && [ "$k" -ge $((n - 1)) ] && ok=true
sf_check "$T/b/followed-count" "the followed count stood in for the walk in ${k:-?} of ${n:-?}" \
	"$ok"
sf_conns_release b
sf_done
