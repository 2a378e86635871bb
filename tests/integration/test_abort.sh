#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Abortive close: the client sets SO_LINGER {1, 0} and closes, which sends a
# RST (ESTABLISHED->CLOSE); the server's socket is reset (err 104).
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=abortive_close
sf_setup "$T"

sf_bg "$SF_TMP/srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port 5007 --accept 1 \
	--wait-eof --send 3000 --comm sfsrv7 --ready-file "$SF_TMP/srv.ready" --timeout-ms 15000
SRV=$SF_LAST_PID
sf_wait_file "$SF_TMP/srv.ready" || { sf_fail "$T" "server did not listen"; sf_done; }
sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port 5007 --send 1000 --recv 3000 \
	--close-first --linger0 --comm sfcli7 --timeout-ms 15000 >"$SF_TMP/cli" 2>"$SF_TMP/cli.err"
sf_wait_pid "$SRV" 15
[ "$(sf_field "$SF_TMP/srv" result)" = reset ] ||
	{ sf_fail "$T" "server was not reset: $(cat "$SF_TMP/srv" "$SF_TMP/srv.err")"; sf_done; }
[ "$(sf_field "$SF_TMP/cli" result)" = connected ] ||
	{ sf_fail "$T" "client: $(cat "$SF_TMP/cli" "$SF_TMP/cli.err")"; sf_done; }
CP=$(sf_field "$SF_TMP/cli" lport)
CPID=$(sf_field "$SF_TMP/cli" pid)
SPID=$(sf_field "$SF_TMP/srv" pid)

CT="$SF_NETNS_C $SF_C4 $CP $SF_S4 5007"
ST="$SF_NETNS_S $SF_S4 5007 $SF_C4 $CP"
sf_wait_records 5 "$CT" "$ST"
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"

SF_JQ_ARGS=(--argjson cpid "$CPID" --argjson spid "$SPID")
# shellcheck disable=SC2086
sf_expect "$T/client" "$(sf_records $CT)" \
	'.role == "client"' '.handshake.result == "established"' \
	'.close.initiator == "local"' '.close.how == "rst_sent"' \
	'.last_state == "ESTAB"' \
	'.pid == $cpid' '.comm == "sfcli7"'
# shellcheck disable=SC2086
sf_expect "$T/server" "$(sf_records $ST)" \
	'.role == "server"' '.handshake.result == "established"' \
	'.close.initiator == "remote"' '.close.how == "rst_received"' '.close.err == 104' \
	'.last_state == "ESTAB"' \
	'.pid == $spid' '.comm == "sfsrv7"'
sf_done
