#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The live rates of `synfin top` (summary mode) under filters count what
# the filters keep, as --events ships only their records. Summary mode
# folds a socket's retransmits and resets into its story, whose record
# the filters judge at its close; the old build counted every fold for the
# rates, so `top -c NAME` showed the host's reset and retransmit rates
# beside that process's opens. Two clients of each kind, named sfrateA and
# sfrateB, with a `top` of the whole namespace beside each filtered one:
#  owner   -c sfrateA: A's reset (a SYN to a closed port) counts, B's not;
#  rport   -D of A's port, in the server namespace: the reset each server
#          child gets from its client's SO_LINGER 0 close. B's child is
#          dropped at its birth, but it has storage (its listener's,
#          cloned, which -D keeps for the children it decides);
#  retrans -c sfrateA: SYNs lost to a blackhole route and retransmitted
#          (tcp_syn_retries 1 in the client namespace): A's count, as its
#          record says them (a third synfin's), B's not; and no more in
#          all than the kernel's TcpRetransSegs grew by.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=filtered_rates
PORT=5757     # the listener of the rport case
CLOSED=5758   # nothing listens: a SYN gets a reset
LOST=5759     # the SYNs of the retrans case
PA=40201      # client A's port in the rport case
PB=40202
sf_setup_ns "$T"

# counting NAME...: wait until each `top` has written a stats record, or
# FAIL + exit. Its first census sets the counters' base, a moment after
# it says ready: what comes before that is in no rate.
counting()
{
	local name
	for name in "$@"; do
		sf_wait_output 5 jq -c 'select(.type == "stats")' "$SF_TMP/$name.out"
		[ -n "$(jq -c 'select(.type == "stats")' "$SF_TMP/$name.out")" ] ||
			{ sf_fail "$T/$name" "no stats record within 5 s"; sf_done; }
	done
}

# client NAME COMM PORT [ARGS...]: one tcpdrive client from the client
# namespace to $SF_S4:PORT, its result line in $SF_TMP/cli.NAME
client()
{
	local name=$1 comm=$2 port=$3
	shift 3
	sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$port" --comm "$comm" \
		--timeout-ms 10000 "$@" >"$SF_TMP/cli.$name" 2>"$SF_TMP/cli.$name.err"
}

# stop_pair FILTERED WHOLE: stop both instances two intervals after the
# last segment
stop_pair()
{
	sleep 2.2
	sf_synfin_stop_as "$1" || sf_fail "$T/$1/stop" "synfin did not exit 0 on SIGINT"
	sf_synfin_stop_as "$2" || sf_fail "$T/$2/stop" "synfin did not exit 0 on SIGINT"
}

# owner: resets received in SYN-SENT
sf_start_as owner top --netns "$SF_NETNS_C" --interval 1 -c sfrateA
sf_start_as owner_all top --netns "$SF_NETNS_C" --interval 1
counting owner owner_all
client ownA sfrateA "$CLOSED"
client ownB sfrateB "$CLOSED"
stop_pair owner owner_all
for n in ownA ownB; do
	sf_check "$T/owner/$n" "client $n was not refused: $(cat "$SF_TMP/cli.$n" "$SF_TMP/cli.$n.err")" \
		[ "$(sf_field "$SF_TMP/cli.$n" result)" = refused ]
done
all=$(sf_rate_sum "$SF_TMP/owner_all.out" resets_received)
kept=$(sf_rate_sum "$SF_TMP/owner.out" resets_received)
echo "  owner: resets received $kept under -c sfrateA, $all in the namespace"
sf_check "$T/owner/scenario" "$all resets received in the client namespace (want 2)" [ "$all" = 2 ]
sf_check "$T/owner/kept" "$kept resets received under -c sfrateA (want 1: A's)" [ "$kept" = 1 ]

# rport: a server child's reset received, its client picked by -D
sf_start_as rport top --netns "$SF_NETNS_S" --interval 1 -D "$PA"
sf_start_as rport_all top --netns "$SF_NETNS_S" --interval 1
counting rport rport_all
sf_bg "$SF_TMP/srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$PORT" --accept 2 \
	--wait-eof --ready-file "$SF_TMP/srv.ready" --timeout-ms 20000
SPID=$SF_LAST_PID
sf_wait_file "$SF_TMP/srv.ready" || { sf_fail "$T/rport" "server did not listen"; sf_done; }
client rpA sfrateA "$PORT" --lport "$PA" --linger0 --close-first
client rpB sfrateB "$PORT" --lport "$PB" --linger0 --close-first
sf_wait_pid "$SPID" 10
stop_pair rport rport_all
all=$(sf_rate_sum "$SF_TMP/rport_all.out" resets_received)
kept=$(sf_rate_sum "$SF_TMP/rport.out" resets_received)
echo "  rport: resets received $kept under -D $PA, $all in the namespace"
sf_check "$T/rport/scenario" "$all resets received in the server namespace (want 2)" [ "$all" = 2 ]
sf_check "$T/rport/kept" "$kept resets received under -D $PA (want 1: A's child's)" [ "$kept" = 1 ]

# retrans: SYN retransmits, nothing answers
ip -n "$SF_NS_S" route add blackhole "$SF_C4/32" ||
	{ sf_fail "$T/retrans" "cannot add the blackhole route"; sf_done; }
sf_in "$SF_NS_C" sh -c 'echo 1 > /proc/sys/net/ipv4/tcp_syn_retries' ||
	{ sf_fail "$T/retrans" "cannot set tcp_syn_retries in the client namespace"; sf_done; }
sf_start_as retrans top --netns "$SF_NETNS_C" --interval 1 -c sfrateA
sf_start_as retrans_all top --netns "$SF_NETNS_C" --interval 1
# each client's own count, from its record
sf_start_as retrans_conns --no-alerts --netns "$SF_NETNS_C"
counting retrans retrans_all
before=$(sf_nstat "$SF_NS_C" TcpRetransSegs)
client lostA sfrateA "$LOST" &
ca=$!
client lostB sfrateB "$LOST" &
cb=$!
wait "$ca" "$cb"
grown=$(( $(sf_nstat "$SF_NS_C" TcpRetransSegs) - before ))
stop_pair retrans retrans_all
sf_synfin_stop_as retrans_conns || sf_fail "$T/retrans_conns/stop" "synfin did not exit 0 on SIGINT"
# syn_retrans of the record of COMM's connection
syn_retrans()
{
	jq -s --arg c "$1" '[.[] | select(.type == "conn" and .comm == $c) | .handshake.syn_retrans] |
		add // -1' "$SF_TMP/retrans_conns.out"
}
ra=$(syn_retrans sfrateA)
rb=$(syn_retrans sfrateB)
all=$(sf_rate_sum "$SF_TMP/retrans_all.out" retransmits)
kept=$(sf_rate_sum "$SF_TMP/retrans.out" retransmits)
echo "  retrans: $kept under -c sfrateA, $all in the namespace; the records say A $ra," \
	"B $rb; TcpRetransSegs grew by $grown"
sf_check "$T/retrans/scenario" "retransmitted SYNs: A $ra, B $rb (want each >= 1)" \
	[ $((ra >= 1 && rb >= 1)) = 1 ]
sf_check "$T/retrans/all" "$all retransmits in the namespace, the records say $ra + $rb" \
	[ "$all" = $((ra + rb)) ]
sf_check "$T/retrans/kernel" "$all retransmits in the namespace, TcpRetransSegs grew by $grown" \
	[ "$all" -le "$grown" ]
sf_check "$T/retrans/kept" "$kept retransmits under -c sfrateA (want A's $ra)" [ "$kept" = "$ra" ]
sf_done
