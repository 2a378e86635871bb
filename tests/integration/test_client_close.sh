#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Client closes first (IPv4): both ends' conn records, including pid/comm
# attribution (each record names its own process, never the peer).
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=client_close_first
sf_setup "$T"

sf_pair "$T" "$SF_S4" 5001 --wait-eof --send 3000 --comm sfsrv1 -- \
	--send 1000 --recv 3000 --close-first --comm sfcli1

sf_wait_records 5 "$CT" "$ST"
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"

SF_JQ_ARGS=(--argjson cpid "$CPID" --argjson spid "$SPID")
# shellcheck disable=SC2086
sf_expect "$T/client" "$(sf_records $CT)" \
	'.family == "ipv4"' '.role == "client"' '.seeded == false' \
	'.handshake.result == "established"' '(.handshake.ms | type) == "number"' \
	'.close.initiator == "local"' '.close.how == "fin"' '.close.err == 0' \
	'.last_state == "FIN-WAIT-2"' \
	'.bytes_sent == 1000' '.bytes_received == 3000' \
	'.pid == $cpid' '.comm == "sfcli1"'
# shellcheck disable=SC2086
sf_expect "$T/server" "$(sf_records $ST)" \
	'.family == "ipv4"' '.role == "server"' '.seeded == false' \
	'.handshake.result == "established"' '(.handshake.ms | type) == "number"' \
	'.close.initiator == "remote"' '.close.how == "fin"' '.close.err == 0' \
	'.last_state == "LAST-ACK"' \
	'.bytes_sent == 3000' '.bytes_received == 1000' \
	'.pid == $spid' '.comm == "sfsrv1"'
sf_done
