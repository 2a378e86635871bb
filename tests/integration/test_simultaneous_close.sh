#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Simultaneous close: both ends call close() at the same instant
# (tcpdrive --close-at-ns, a shared CLOCK_REALTIME deadline).
#
# On a veth a FIN reaches the peer within microseconds, so a shared deadline
# alone is a race. To make the FINs cross every time (as in KERNEL-NOTES 1(c),
# "first FIN dropped in each direction"), each namespace gets a blackhole
# route to the other's address just before the deadline: both FINs fail to
# route and stay queued, both sockets sit in FIN-WAIT-1; the routes are then
# removed and the FINs go out on the probe timer (~200 ms). The first FIN to
# arrive finds its receiver in FIN-WAIT-1 -> CLOSING. If the other FIN only
# arrives after its receiver saw the ACK of its own FIN, that end looks like
# a plain local close (FIN-WAIT-2). So the kernel guarantees: at least one
# end went through CLOSING (initiator "both"), and neither end is "remote".
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=simultaneous_close
sf_setup "$T"

# No payload: nothing but the FINs is in flight when the routes go away.
DEADLINE=$(( $(sf_now_ns) + 2000000000 ))
sf_bg "$SF_TMP/srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port 5003 --accept 1 \
	--close-first --close-at-ns "$DEADLINE" --comm sfsrv3 --ready-file "$SF_TMP/srv.ready" \
	--timeout-ms 15000
SRV=$SF_LAST_PID
sf_wait_file "$SF_TMP/srv.ready" || { sf_fail "$T" "server did not listen"; sf_done; }
sf_bg "$SF_TMP/cli" "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port 5003 \
	--close-first --close-at-ns "$DEADLINE" --comm sfcli3 --ready-file "$SF_TMP/cli.ready" \
	--timeout-ms 15000
CLI=$SF_LAST_PID
sf_wait_file "$SF_TMP/cli.ready" || { sf_fail "$T" "client did not connect"; sf_done; }
# the client's connect() returned: its final ACK has already been delivered
if ! ip -n "$SF_NS_C" route add blackhole "$SF_S4/32" ||
	! ip -n "$SF_NS_S" route add blackhole "$SF_C4/32"; then
	sf_fail "$T" "cannot add blackhole routes"
	sf_done
fi
[ "$(sf_now_ns)" -lt "$DEADLINE" ] || { sf_fail "$T" "setup overran the close deadline"; sf_done; }
sf_wait_pid "$CLI" 10
sf_wait_pid "$SRV" 10
ip -n "$SF_NS_C" route del blackhole "$SF_S4/32"
ip -n "$SF_NS_S" route del blackhole "$SF_C4/32"

sf_client_lport CP "$SF_TMP/cli" "$T"

CT="$SF_NETNS_C $SF_C4 $CP $SF_S4 5003"
ST="$SF_NETNS_S $SF_S4 5003 $SF_C4 $CP"
sf_wait_records 8 "$CT" "$ST"
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"

# shellcheck disable=SC2086
C=$(sf_records $CT)
# shellcheck disable=SC2086
S=$(sf_records $ST)
sf_expect "$T/client" "$C" \
	'.role == "client"' '.handshake.result == "established"' \
	'.close.initiator == "both" or .close.initiator == "local"' \
	'.close.how == "fin"' '.close.err == 0'
sf_expect "$T/server" "$S" \
	'.role == "server"' '.handshake.result == "established"' \
	'.close.initiator == "both" or .close.initiator == "local"' \
	'.close.how == "fin"' '.close.err == 0'
if [ -n "$C" ] && [ -n "$S" ]; then
	if printf '%s\n%s\n' "$C" "$S" | jq -se 'map(.close.initiator) | index("both") != null' >/dev/null; then
		sf_pass "$T/one_end_both"
	else
		sf_fail "$T/one_end_both" "no end has initiator both -- client: $C server: $S"
	fi
else
	sf_fail "$T/one_end_both" "records missing"
fi
sf_done
