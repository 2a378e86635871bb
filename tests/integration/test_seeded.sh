#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A connection opened before synfin started: it is seeded from sock_diag,
# so the handshake is not_seen; the server end shares the listener's port
# and must be role=server; the close is observed live. A listener that
# listened before synfin started and closes while it runs is no connection:
# no record names it. One that listens and closes while synfin runs costs
# the ring nothing in the default mode. With a cgroup of our own, the
# server is in a cgroup below it, and a second synfin under --cgroup (that
# cgroup) seeds the server's end and not the client's: user space judges a
# seed by the cgroup's tree, as the kernel judges the rest.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=seeded
sf_setup_ns "$T"
CG_CHILD=
if sf_cgroup_new; then
	sf_cgroup_child child || { sf_fail "$T/cgroup" "cannot make $SF_CGROUP_CHILD"; sf_done; }
	CG_CHILD=$SF_CGROUP_CHILD
else
	sf_skip "$T/cgroup" "no writable cgroup v2 mount"
fi

SRV_ARGS=(server --bind "$SF_S4" --port 5008 --accept 1 --wait-eof --send 3000 --comm sfsrv8
	--ready-file "$SF_TMP/srv.ready" --timeout-ms 60000)
sf_bg_cgroup "$SF_TMP/srv" "$SF_NS_S" "$CG_CHILD" "$TCPDRIVE" "${SRV_ARGS[@]}"
SRV=$SF_LAST_PID
sf_wait_file "$SF_TMP/srv.ready" || { sf_fail "$T" "server did not listen"; sf_done; }
sf_bg "$SF_TMP/cli" "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port 5008 --send 1000 \
	--recv 3000 --close-first --comm sfcli8 --ready-file "$SF_TMP/cli.ready" \
	--hold-until-file "$SF_TMP/release" --timeout-ms 60000
CLI=$SF_LAST_PID
# the ready file is written once the data exchange is over
sf_wait_file "$SF_TMP/cli.ready" || { sf_fail "$T" "client did not connect"; sf_done; }

sf_bg "$SF_TMP/lsn" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port 5009 --no-accept \
	--hold-listener-file "$SF_TMP/lsn.release" --ready-file "$SF_TMP/lsn.ready" --timeout-ms 60000
LSN=$SF_LAST_PID
sf_wait_file "$SF_TMP/lsn.ready" || { sf_fail "$T" "the second server did not listen"; sf_done; }

sf_start "$T"
[ -z "$CG_CHILD" ] || sf_start_as cg --cgroup "$SF_CGROUP"
touch "$SF_TMP/lsn.release"
sf_wait_pid "$LSN" 10
[ "$(sf_field "$SF_TMP/lsn" result)" = listened ] ||
	sf_fail "$T/listener" "the listener did not close: $(cat "$SF_TMP/lsn" "$SF_TMP/lsn.err")"
touch "$SF_TMP/release"
sf_wait_pid "$CLI" 10
sf_wait_pid "$SRV" 10

sf_client_lport CP "$SF_TMP/cli" "$T"

CT="$SF_NETNS_C $SF_C4 $CP $SF_S4 5008"
ST="$SF_NETNS_S $SF_S4 5008 $SF_C4 $CP"
sf_wait_records 5 "$CT" "$ST"
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"
if [ -n "$CG_CHILD" ]; then
	sf_synfin_stop_as cg || sf_fail "$T/cgroup/stop" "synfin --cgroup did not exit 0 on SIGINT"
	# shellcheck disable=SC2086
	sf_expect "$T/cgroup/server" "$(SF_OUT=$SF_TMP/cg.out sf_records $ST)" \
		'.seeded == true' '.role == "server"' ".cgroup_id == $SF_CGROUP_CHILD_ID"
	# shellcheck disable=SC2086
	sf_check "$T/cgroup/client" "a record for the client end: $(SF_OUT=$SF_TMP/cg.out sf_records $CT)" \
		[ -z "$(SF_OUT=$SF_TMP/cg.out sf_records $CT)" ]
fi

# shellcheck disable=SC2086
sf_expect "$T/client" "$(sf_records $CT)" \
	'.seeded == true' '.handshake.result == "not_seen"' '.handshake.ms == null' \
	'.role != "server"' \
	'.close.initiator == "local"' '.close.how == "fin"' '.close.err == 0' \
	'.bytes_sent == 1000' '.bytes_received == 3000' \
	'.conn_state == "OTH"' '.history == "DdFf"'
# shellcheck disable=SC2086
sf_expect "$T/server" "$(sf_records $ST)" \
	'.seeded == true' '.handshake.result == "not_seen"' '.handshake.ms == null' \
	'.role == "server"' \
	'.close.initiator == "remote"' '.close.how == "fin"' '.close.err == 0' \
	'.bytes_sent == 3000' '.bytes_received == 1000' \
	'.conn_state == "OTH"' '.history == "DdFf"'
# the listener's LISTEN->CLOSE came after the start: no record for port 5009
n=$(jq -c 'select(.lport == 5009 or .rport == 5009)' "$SF_OUT" | grep -c .)
if [ "$n" = 0 ]; then
	sf_pass "$T/listener"
else
	sf_fail "$T/listener" "$n records name the listener: $(jq -c 'select(.lport == 5009)' "$SF_OUT" | head -c 400)"
fi

# A listener's whole life while synfin runs: in the default mode the
# kernel puts nothing on the ring for it (its close's summary was shipped,
# then dropped in user space); --events shows both its transitions, so it
# was traced and not filtered out.
for mode in default events; do
	args=(--no-alerts --netns "$SF_NETNS_S" -L 5019)
	want=0
	[ "$mode" = events ] && { args+=(--events); want=2; }
	sf_synfin_start "${args[@]}" || { sf_fail "$T/listener_ring/$mode" "synfin did not start"; continue; }
	sf_bg "$SF_TMP/lsn2" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port 5019 --no-accept \
		--hold-listener-file "$SF_TMP/lsn2.release" --ready-file "$SF_TMP/lsn2.ready" \
		--timeout-ms 20000
	sf_wait_file "$SF_TMP/lsn2.ready" && touch "$SF_TMP/lsn2.release"
	sf_wait_pid "$SF_LAST_PID" 10
	rm -f "$SF_TMP/lsn2.ready" "$SF_TMP/lsn2.release"
	sleep 0.3
	sf_synfin_stop || sf_fail "$T/listener_ring/$mode" "synfin did not exit 0 on SIGINT"
	n=$(sf_summary "$SF_ERR" events)
	if [ "$n" = "$want" ]; then
		sf_pass "$T/listener_ring/$mode"
	else
		sf_fail "$T/listener_ring/$mode" "$n records on the ring, want $want: $(head -c 300 "$SF_OUT")"
	fi
done
sf_done
