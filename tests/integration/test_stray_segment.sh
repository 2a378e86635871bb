#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Resets the server's kernel sends for segments of no connection, traced
# with --netns of the server namespace, with --events (tp_btf, and classic
# tracepoints); by default they only count in the live rates:
#  a. an ACK to a listening port (as when a peer's duplicate final ACK
#     arrives after the server's socket is gone): the listener answers with
#     a reset. The record is a `reset` of state LISTEN that names the peer
#     it reset (the segment's tuple) and the listener's owner. (By default
#     it used to be folded into the listener's story, which no record shows.)
#  b. a SYN to a port with no listener: reset with no socket at all. It
#     has no socket to name a namespace by, yet --netns must see it.
#  c. a dual-stack listener ([::], IPV6_V6ONLY off) resetting an IPv4
#     peer's ACK: its reset is AF_INET6 with ::ffff:a.b.c.d, as that
#     listener's connections are, so -6 shows it and -4 leaves it out, as
#     they do its connections. (It used to take the segment's family:
#     shown under -4, left out under -6.)
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=stray_segment
PL=5310   # listening
PC=5311   # closed
HPING=$(command -v hping3)
sf_setup_ns "$T"
[ -n "$HPING" ] || { sf_skip "$T" "no hping3 (make deps)"; sf_done; }

# listen NAME [BIND-ARGS...]: a listener on PL in the server namespace
# (pid SPID), on $SF_S4 unless told, held until $SF_TMP/stop.NAME exists
listen()
{
	local name=$1 bind=(--bind "$SF_S4")
	shift
	[ $# -gt 0 ] && bind=("$@")
	sf_bg "$SF_TMP/srv.$name" "$SF_NS_S" "$TCPDRIVE" server "${bind[@]}" --port "$PL" \
		--no-accept --hold-listener-file "$SF_TMP/stop.$name" --comm sfstraysrv \
		--ready-file "$SF_TMP/srv.$name.ready" --timeout-ms 60000
	SPID=$SF_LAST_PID
	sf_wait_file "$SF_TMP/srv.$name.ready" || { sf_fail "$T/$name" "server did not listen"; sf_done; }
}

# one bare segment from the client namespace, from source port SPORT
send()
{
	local flag=$1 port=$2 sport=$3
	sf_in "$SF_NS_C" timeout 10 "$HPING" "$flag" -p "$port" -s "$sport" -k -c 1 -q "$SF_S4" \
		>"$SF_TMP/hping.$sport" 2>&1
}

# reset_record SPORT [RADDR]: the server namespace's reset records toward
# the peer ($SF_C4 unless told)
reset_record()
{
	jq -c --argjson ns "$SF_NETNS_S" --arg ra "${2:-$SF_C4}" --argjson rp "$1" \
		'select(.type == "reset" and .netns == $ns and .raddr == $ra and .rport == $rp)' \
		"$SF_OUT" 2>/dev/null
}

run()
{
	local name=$1 sa=$2 sb=$3
	shift 3
	sf_start "$T/$name" --netns "$SF_NETNS_S" --no-alerts "$@"
	# the listener is born under synfin, which learns its owner then
	listen "$name"
	send -A "$PL" "$sa"
	send -S "$PC" "$sb"
	sf_wait_output 5 reset_record "$sa"
	sf_wait_output 5 reset_record "$sb"
	touch "$SF_TMP/stop.$name"
	sf_wait_pid "$SPID" 5
	sf_synfin_stop || sf_fail "$T/$name/stop" "synfin did not exit 0 on SIGINT"

	SF_JQ_ARGS=(--arg la "$SF_S4" --argjson lp "$PL" --argjson spid "$SPID")
	sf_expect "$T/$name/listener" "$(reset_record "$sa")" \
		'.direction == "sent"' '.state == "LISTEN"' '.reason == "TCP_FLAGS"' \
		'.family == "ipv4"' '.laddr == $la' '.lport == $lp' \
		'.pid == $spid' '.comm == "sfstraysrv"'
	SF_JQ_ARGS=(--arg la "$SF_S4" --argjson lp "$PC")
	sf_expect "$T/$name/no-socket" "$(reset_record "$sb")" \
		'.direction == "sent"' '.state == "NONE"' '.reason == "NO_SOCKET"' \
		'.laddr == $la' '.lport == $lp' '.pid == 0'
	SF_JQ_ARGS=()
}

run events 40123 40124 --events
run classic-events 40125 40126 --classic --events

# c. dual_stack NAME FAMILY SPORT MARK [SYNFIN-ARGS...]: synfin under -FAMILY,
# the dual-stack listener's reset of an ACK from SPORT, then (-4) a SYN
# from MARK to the closed port, whose reset (AF_INET, no socket) passes -4
# and says the ACK's came before it, or not at all
dual_stack()
{
	local name=$1 fam=$2 sa=$3 sb=$4
	shift 4
	sf_start "$T/$name" --netns "$SF_NETNS_S" --no-alerts --events "-$fam" "$@"
	listen "$name" --bind :: --dual-stack
	send -A "$PL" "$sa"
	if [ "$fam" = 6 ]; then
		sf_wait_output 5 reset_record "$sa" "::ffff:$SF_C4"
	else
		send -S "$PC" "$sb"
		sf_wait_output 5 reset_record "$sb"
	fi
	touch "$SF_TMP/stop.$name"
	sf_wait_pid "$SPID" 5
	sf_synfin_stop || sf_fail "$T/$name/stop" "synfin did not exit 0 on SIGINT"
	if [ "$fam" = 6 ]; then
		SF_JQ_ARGS=(--arg la "::ffff:$SF_S4" --argjson lp "$PL" --argjson spid "$SPID")
		sf_expect "$T/$name/listener" "$(reset_record "$sa" "::ffff:$SF_C4")" \
			'.direction == "sent"' '.state == "LISTEN"' '.family == "ipv6"' \
			'.laddr == $la' '.lport == $lp' '.pid == $spid'
		SF_JQ_ARGS=()
	else
		sf_check "$T/$name/marker" "no reset for the SYN to the closed port under -4" \
			[ -n "$(reset_record "$sb")" ]
		sf_check "$T/$name/left-out" "the dual-stack listener's reset shown under -4: $(reset_record "$sa" | head -n 1)" \
			[ -z "$(reset_record "$sa")" ]
	fi
}
dual_stack dual6 6 40130 0
dual_stack dual4 4 40131 40132
dual_stack classic-dual6 6 40133 0 --classic

# By default no reset record is shipped, yet each one counts in the live
# rates of `synfin top -j`: the two of the server namespace, and not the
# one the client namespace sends for a SYN to its own closed port.
sf_start "$T/top" top --netns "$SF_NETNS_S" --interval 1
listen top
send -A "$PL" 40127
send -S "$PC" 40128
sf_in "$SF_NS_S" timeout 10 "$HPING" -S -p "$PC" -s 40129 -k -c 1 -q "$SF_C4" >/dev/null 2>&1
sleep 2.2	# two intervals close after the last segment
# stopped while the listener lives: its own record would count as shipped
sf_synfin_stop || sf_fail "$T/top/stop" "synfin top did not exit 0 on SIGINT"
touch "$SF_TMP/stop.top"
sf_wait_pid "$SPID" 5
sent=$(sf_rate_sum "$SF_OUT" resets_sent)
sf_check "$T/top/counted" "top counted $sent resets sent in the server namespace (want 2)" [ "$sent" = 2 ]
shipped=$(sf_summary "$SF_ERR" events)
sf_check "$T/top/not-shipped" "$shipped records shipped for no connection (want 0)" [ "$shipped" = 0 ]
sf_done
