#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Retransmit attempts that send nothing are no retransmits. Newer kernels
# fire tcp_retransmit_skb for every attempt, with its error; one that fails
# (here: the server's end of the veth is down, so the client's first copy
# of its data still sits in its own host's queue, -EBUSY) puts nothing on
# the wire, and the kernel's own counters (total_retrans, TcpRetransSegs)
# leave it out. A client sends 10 bytes into that dead link with a 2 s
# TCP_USER_TIMEOUT and ends with ETIMEDOUT:
# - default mode: its record's retransmit counts agree with the kernel's
#   (wave.data_retrans = total_retrans = what TcpRetransSegs grew by), and
#   -v's summary counts the attempts that sent nothing (> 0: the scenario
#   did make some, or this test would prove nothing);
# - the same with --classic (the classic tracepoint's record has the error);
# - --events: as many retransmit records as TcpRetransSegs grew by.
# The old build counted every attempt: data_retrans 3, total_retrans 0.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=retransmit_unsent
sf_setup_ns "$T"

# link_up: the server's end of the veth up again, the client's neighbour
# entries gone, and the carrier on both
link_up()
{
	ip -n "$SF_NS_S" link set vs up
	# the last case's failed ARP would refuse the next connect() at once
	ip -n "$SF_NS_C" neigh flush all
	sf_wait_carrier
}

# run_case MODE PORT [SYNFIN ARGS...]: the dead-link client under synfin;
# sets CP (the client's port) and RETRANS (TcpRetransSegs's growth)
run_case()
{
	local mode=$1 port=$2 go=$SF_TMP/$1.go before
	shift 2
	link_up || { sf_fail "$T/$mode" "the veth did not come back up"; return 1; }
	sf_synfin_start --no-alerts -v --netns "$SF_NETNS_C" "$@" ||
		{ sf_fail "$T/$mode" "synfin did not start"; return 1; }
	sf_bg "$SF_TMP/$mode.srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$port" \
		--accept 1 --wait-eof --ready-file "$SF_TMP/$mode.srv.ready" --timeout-ms 20000
	sf_wait_file "$SF_TMP/$mode.srv.ready" || { sf_fail "$T/$mode" "server did not listen"; return 1; }
	sf_bg "$SF_TMP/$mode.cli" "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$port" \
		--send 10 --recv 1 --close-first --user-timeout-ms 2000 --send-after-file "$go" \
		--timeout-ms 20000
	local cli=$SF_LAST_PID n=100
	while [ "$(sf_ss_count "$SF_NS_C" established)" != 1 ] && [ "$n" -gt 0 ]; do
		sleep 0.05
		n=$((n - 1))
	done
	before=$(sf_nstat "$SF_NS_C" TcpRetransSegs)
	sf_timer_witness_start "$port"
	ip -n "$SF_NS_S" link set vs down
	touch "$go"
	sf_wait_pid "$cli" 15
	RETRANS=$(( $(sf_nstat "$SF_NS_C" TcpRetransSegs) - before ))
	CP=$(sf_field "$SF_TMP/$mode.cli" lport)
	sf_timer_witness_stop "$mode" "${CP:-0}" "$port"
	# the retransmits synfin saw: all TcpRetransSegs counted, less any
	# attempts run where no BPF program runs (some may have sent nothing)
	SAW_RETRANS=". >= $((RETRANS - SF_BLIND_RETRANS)) and . <= $RETRANS"
	CLOSE_CHECKS=('.close.missed == false' '.close.err == 110')
	[ "$SF_BLIND_CLOSE" = 0 ] || CLOSE_CHECKS=('.close.missed == true')
	sleep 0.3
	sf_synfin_stop || sf_fail "$T/$mode/stop" "synfin did not exit 0 on SIGINT"
	[ "$(sf_field "$SF_TMP/$mode.cli" errno)" = 110 ] || {
		sf_fail "$T/$mode" "the client did not time out: $(cat "$SF_TMP/$mode.cli")"
		return 1
	}
	UNSENT=$(sed -n 's/^synfin: retransmit attempts that sent nothing.*: \([0-9]*\)$/\1/p' "$SF_ERR")
	return 0
}

if run_case summary 5722; then
	rec=$(jq -c --argjson p "$CP" 'select(.type == "conn" and .lport == $p)' "$SF_OUT")
	echo "  TcpRetransSegs grew by $RETRANS; attempts that sent nothing: ${UNSENT:-none}"
	[ "$SF_BLIND_CLOSE" = 1 ] || CLOSE_CHECKS+=('.close.how == "timeout"')
	sf_expect "$T/summary" "$rec" "${CLOSE_CHECKS[@]}" \
		".total_retrans == $RETRANS" ".wave.data_retrans | $SAW_RETRANS"
	if [ "${UNSENT:-0}" -gt 0 ]; then
		sf_pass "$T/summary/unsent"
	else
		sf_fail "$T/summary/unsent" "no attempt that sent nothing was counted: $(tail -n 5 "$SF_ERR" | tr '\n' '|')"
	fi
fi
# the classic tracepoint reads the error from its record (where it has one)
if run_case classic 5724 --classic; then
	rec=$(jq -c --argjson p "$CP" 'select(.type == "conn" and .lport == $p)' "$SF_OUT")
	sf_expect "$T/classic" "$rec" "${CLOSE_CHECKS[@]}" ".total_retrans == $RETRANS" \
		".wave.data_retrans | $SAW_RETRANS"
	sf_check "$T/classic/unsent" "no attempt that sent nothing was counted" [ "${UNSENT:-0}" -gt 0 ]
fi
if run_case events 5723 --events; then
	n=$(jq -c --argjson p "$CP" 'select(.type == "retransmit" and .lport == $p)' "$SF_OUT" | grep -c .)
	if jq -n -e "$n | $SAW_RETRANS" >/dev/null && [ "${UNSENT:-0}" -gt 0 ]; then
		sf_pass "$T/events"
	else
		sf_fail "$T/events" "$n retransmit records, TcpRetransSegs grew by $RETRANS; ${UNSENT:-no} attempts that sent nothing"
	fi
fi
sf_done
