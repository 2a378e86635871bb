#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Abortive close: the client sets SO_LINGER {1, 0} and closes, which sends a
# RST (ESTABLISHED->CLOSE); the server's socket is reset (err 104).
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=abortive_close
sf_setup "$T"

sf_pair "$T" "$SF_S4" 5007 --wait-eof --send 3000 --comm sfsrv7 -- \
	--send 1000 --recv 3000 --close-first --linger0 --comm sfcli7
[ "$(sf_field "$SF_TMP/srv" result)" = reset ] ||
	{ sf_fail "$T" "server was not reset: $(cat "$SF_TMP/srv" "$SF_TMP/srv.err")"; sf_done; }

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
