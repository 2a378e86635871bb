#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# SYN flood detector: 3000 spoofed SYNs at 1000/s (random sources in
# 198.18.0.0/15) against a listener that never accepts, once with
# tcp_syncookies=1 (the request queue fills, then cookies) and once with =0
# (the request queue fills, then drops). Each time synfin (default
# thresholds) must start a syn_flood alert for that listener (address, port,
# netns, owner) within a few seconds, with figures that show the flood, and
# end it once the flood is over.
#
# The server namespace routes 198.18.0.0/15 back over the veth; the client
# namespace does not forward, so every SYN-ACK dies there (IpInAddrErrors)
# and no handshake ever completes. tcp_synack_retries=1 lets the half-open
# entries expire ~3 s after their SYN.
# A third time against a SO_REUSEPORT group of two listeners (one endpoint,
# as a multi-worker server has): the same one alert, for the group, its
# sockets counted. (The group's sockets were once separate rows of one
# alert key, and the quiet one cleared the alert every interval.)
# Twice more with tcp_syncookies=2, where every SYN gets a cookie and no
# request sock: nothing on a listener shows the flood, only the namespace's
# cookie counter. With one listener in the namespace the alert names it;
# with a quiet second one beside it, the alert is the namespace's, its
# listener null (synfin was once silent both times).
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=syn_flood
COUNT=3000
RATE=1000
sf_setup_ns "$T"
sf_require_tool "$T" "$SYNFLOOD"
command -v nstat >/dev/null || { sf_skip "$T" "nstat not installed"; sf_done; }

sf_spoofed_syns_setup "$T" 1
sf_start_grep "$T" '"type":"alert"'

# listen MODE PORT [SERVER-ARGS...]: a listener that never accepts, held
# until $SF_TMP/stop_MODE appears; its pid in SF_LAST_PID
listen()
{
	local mode=$1 port=$2

	shift 2
	sf_bg "$SF_TMP/srv_$mode" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$port" \
		--no-accept --backlog 8 --comm "sfsyn${mode:0:6}" --hold-listener-file "$SF_TMP/stop_$mode" \
		--ready-file "$SF_TMP/srv_$mode.ready" --timeout-ms 60000 "$@"
	sf_wait_file "$SF_TMP/srv_$mode.ready"
}

# flood MODE PORT SYNCOOKIES [--quiet PORT | SERVER-ARGS...]
flood()
{
	local mode=$1 port=$2 cookies=$3 name=$T/$1 srv fl t0 t1 cond quiet="" qsrv=""
	local in0 in1 ck0 ck1 dr0 dr1 start end sel sockets who

	sf_in "$SF_NS_S" sysctl -qw "net.ipv4.tcp_syncookies=$cookies" ||
		{ sf_fail "$name" "cannot set tcp_syncookies=$cookies"; return; }
	shift 3
	sockets=1
	[ "${1:-}" = --reuseport ] && sockets=$2
	if [ "${1:-}" = --quiet ]; then
		quiet=$2
		shift 2
		listen "${mode}q" "$quiet" || { sf_fail "$name" "quiet server did not listen"; return; }
		qsrv=$SF_LAST_PID
	fi
	listen "$mode" "$port" "$@" || { sf_fail "$name" "server did not listen"; return; }
	srv=$SF_LAST_PID
	in0=$(sf_nstat "$SF_NS_S" TcpInSegs)
	ck0=$(sf_nstat "$SF_NS_S" TcpExtSyncookiesSent)
	dr0=$(sf_nstat "$SF_NS_S" TcpExtListenDrops)

	t0=$(sf_now_s)
	sf_bg "$SF_TMP/flood_$mode" "$SF_NS_C" "$SYNFLOOD" --dst "$SF_S4" --port "$port" \
		--count "$COUNT" --rate "$RATE" --src-net 198.18.0.0/15
	fl=$SF_LAST_PID
	cond='.kind == "syn_flood" and .netns == $ns and .listener.port == $port'
	# which listener the alert names, or with two: none
	who=('.listener.addr == $addr' '.pid == $pid' '.comm == $comm' '.figures.sockets == $sockets')
	if [ -n "$quiet" ]; then
		cond='.kind == "syn_flood" and .netns == $ns and .listener == null'
		who=('.pid == null' '.comm == null' '.figures.sockets == 2')
	fi
	sel=(--argjson ns "$SF_NETNS_S" --argjson port "$port")
	# the start is expected while the flood still runs (2 intervals of 1 s)
	sf_wait_alert 10 "$SF_OUT" "$cond and .state == \"start\"" "${sel[@]}"
	sf_wait_pid "$fl" 15
	# the flood's last SYN: its start plus the sender's own elapsed time
	t1=$(awk -v a="$t0" -v ms="$(sf_field "$SF_TMP/flood_$mode" elapsed_ms)" \
		'BEGIN { printf "%.3f", a + ms / 1000 }')
	in1=$(sf_nstat "$SF_NS_S" TcpInSegs)
	ck1=$(sf_nstat "$SF_NS_S" TcpExtSyncookiesSent)
	dr1=$(sf_nstat "$SF_NS_S" TcpExtListenDrops)

	# the flood itself, as the server namespace's kernel counted it
	echo "  $mode: $(cat "$SF_TMP/flood_$mode") | server ns: TcpInSegs +$((in1 - in0))" \
		"SyncookiesSent +$((ck1 - ck0)) ListenDrops +$((dr1 - dr0))"
	if [ "$(sf_field "$SF_TMP/flood_$mode" sent)" != "$COUNT" ] ||
		[ $((in1 - in0)) -lt $((COUNT * 95 / 100)) ]; then
		sf_fail "$name/traffic" "flood did not arrive: $(cat "$SF_TMP/flood_$mode"{,.err}) in_segs=+$((in1 - in0))"
	elif [ "$cookies" != 0 ] && [ $((ck1 - ck0)) -lt $((COUNT * 9 / 10)) ]; then
		sf_fail "$name/traffic" "only $((ck1 - ck0)) syncookies sent"
	elif [ "$cookies" = 0 ] && [ $((dr1 - dr0)) -lt $((COUNT * 9 / 10)) ]; then
		sf_fail "$name/traffic" "only $((dr1 - dr0)) listen drops"
	else
		sf_pass "$name/traffic"
	fi

	start=$(sf_alerts "$SF_OUT" "$cond and .state == \"start\"" "${sel[@]}")
	SF_JQ_ARGS=("${sel[@]}" --argjson pid "$srv" --arg comm "sfsyn${mode:0:6}" --arg addr "$SF_S4"
		--argjson t0 "$t0" --argjson t1 "$t1" --argjson sockets "$sockets")
	sf_expect_first "$name/start" "syn_flood start for $SF_S4:$port in netns $SF_NETNS_S" "$start" \
		"${who[@]}" '(.ts | sf_ts) >= $t0 - 0.5 and (.ts | sf_ts) <= $t0 + 6' \
		'.figures.unanswered_per_s >= 100' \
		'(.figures.completion_ratio | type) == "number" and .figures.completion_ratio < 0.5' \
		'(.thresholds | type) == "object"' '(.fired | type) == "array" and (.fired | length) >= 1'
	if [ "$cookies" != 0 ]; then
		sf_expect_first "$name/start-cookies" "syn_flood start" "$start" \
			'.figures.cookies_per_s > 0'
	else
		sf_expect_first "$name/start-drops" "syn_flood start" "$start" \
			'.figures.drops_per_s > 0'
	fi
	[ -n "$start" ] && echo "  $mode start: $(head -n 1 <<<"$start")"

	# the end: no more SYNs; half-open entries expire ~3 s after the last
	sf_wait_alert 15 "$SF_OUT" "$cond and .state == \"end\"" "${sel[@]}"
	end=$(sf_alerts "$SF_OUT" "$cond and .state == \"end\"" "${sel[@]}")
	sf_expect_first "$name/end" "syn_flood end within 15 s of the flood's end" "$end" \
		"${who[0]}" '(.ts | sf_ts) >= $t1 and (.ts | sf_ts) <= $t1 + 15'
	[ -n "$end" ] && echo "  $mode end: $(head -n 1 <<<"$end")"
	# hysteresis: one start and one end, no flapping
	sf_check "$name/once" "start/end records: $(sf_alerts "$SF_OUT" "$cond" "${sel[@]}" |
		jq -r '.state' | tr '\n' ' ')" \
		[ "$(sf_alerts "$SF_OUT" "$cond" "${sel[@]}" | jq -r '.state' | tr '\n' ' ')" = "start end " ]
	touch "$SF_TMP/stop_$mode" "$SF_TMP/stop_${mode}q"
	sf_wait_pid "$srv" 5 >/dev/null
	[ -z "$qsrv" ] || sf_wait_pid "$qsrv" 5 >/dev/null
	SF_JQ_ARGS=()
}

flood cookies 5100 1
flood nocookies 5101 0
flood reuseport 5102 1 --reuseport 2
flood always 5103 2
flood alwaysns 5104 2 --quiet 5105
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"
sf_done
