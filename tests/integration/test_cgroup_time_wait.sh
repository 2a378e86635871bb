#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# --cgroup follows a TIME_WAIT sock to its end like any other filter. A tw
# sock belongs to no cgroup, so the kernel cannot judge it by one: it must
# let it pass, and user space keeps the tw records of the connections it
# reported. A server in the test's cgroup closes first and holds the
# TIME_WAIT sock; a second client from the same port kills it early. The
# first connection's server record must say its TIME_WAIT was measured and
# will be followed, and its time_wait record must come, with exit "killed".
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=cgroup_time_wait
sf_setup_ns "$T"
sf_cgroup_new || { sf_skip "$T" "no writable cgroup v2 mount"; sf_done; }
sf_start "$T" --cgroup "$SF_CGROUP"

sf_bg_cgroup "$SF_TMP/srv" "$SF_NS_S" "$SF_CGROUP" "$TCPDRIVE" server --bind "$SF_S4" \
	--port 5721 --accept 2 --close-first --comm sfcgsrv --ready-file "$SF_TMP/srv.ready" \
	--timeout-ms 15000
SRV=$SF_LAST_PID
sf_wait_file "$SF_TMP/srv.ready" || { sf_fail "$T" "server did not listen"; sf_done; }
sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port 5721 --wait-eof \
	--timeout-ms 15000 >"$SF_TMP/cli1" 2>"$SF_TMP/cli1.err"
sf_client_lport CP "$SF_TMP/cli1" "$T" "client 1"
ST="$SF_NETNS_S $SF_S4 5721 $SF_C4 $CP"
CT="$SF_NETNS_C $SF_C4 $CP $SF_S4 5721"
sf_wait_records 5 "$ST"
# shellcheck disable=SC2086
S1=$(sf_records $ST)
sf_expect "$T/server" "$S1" '.comm == "sfcgsrv"' \
	'.close.initiator == "local"' '.time_wait.state == "time_wait"' \
	'.time_wait.source == "measured"' '.time_wait.exit_followed == true'
# the client is in no cgroup of ours
# shellcheck disable=SC2086
sf_check "$T/client-filtered" "a record for the client end: $(sf_records $CT)" \
	[ -z "$(sf_records $CT)" ]
S1_ID=$(jq -r '.id' <<<"$S1" | head -n 1)
if [ -z "$S1_ID" ] || [ "$S1_ID" = null ]; then
	sf_fail "$T" "no id for the server's record"
	sf_done
fi

# the same client port again: the SYN kills the server's tw sock
sf_reconnect_same_port "$T" 5721 "$CP" "$SRV"
sf_wait_tw_record 5 "$S1_ID"
sf_expect "$T/tw-killed" "$(sf_tw_records "$S1_ID")" \
	'.type == "time_wait"' '.role == "server"' '.comm == "sfcgsrv"' \
	'.exit == "killed"'
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"
sf_done
