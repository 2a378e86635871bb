#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A connection opened before synfin started: it is seeded from sock_diag,
# so the handshake is not_seen; the server end shares the listener's port
# and must be role=server; the close is observed live. A listener that
# listened before synfin started and closes while it runs is no connection:
# no record names it.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=seeded
sf_setup_ns "$T"

sf_bg "$SF_TMP/srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port 5008 --accept 1 \
	--wait-eof --send 3000 --comm sfsrv8 --ready-file "$SF_TMP/srv.ready" --timeout-ms 60000
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

# shellcheck disable=SC2086
sf_expect "$T/client" "$(sf_records $CT)" \
	'.seeded == true' '.handshake.result == "not_seen"' '.handshake.ms == null' \
	'.role != "server"' \
	'.close.initiator == "local"' '.close.how == "fin"' '.close.err == 0' \
	'.bytes_sent == 1000' '.bytes_received == 3000'
# shellcheck disable=SC2086
sf_expect "$T/server" "$(sf_records $ST)" \
	'.seeded == true' '.handshake.result == "not_seen"' '.handshake.ms == null' \
	'.role == "server"' \
	'.close.initiator == "remote"' '.close.how == "fin"' '.close.err == 0' \
	'.bytes_sent == 3000' '.bytes_received == 1000'
# the listener's LISTEN->CLOSE came after the start: no record for port 5009
n=$(jq -c 'select(.lport == 5009 or .rport == 5009)' "$SF_OUT" | grep -c .)
if [ "$n" = 0 ]; then
	sf_pass "$T/listener"
else
	sf_fail "$T/listener" "$n records name the listener: $(jq -c 'select(.lport == 5009)' "$SF_OUT" | head -c 400)"
fi
sf_done
