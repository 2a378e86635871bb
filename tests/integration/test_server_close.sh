#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Server closes first (IPv4): the mirror of test_client_close.sh.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=server_close_first
sf_setup "$T"

# The server reads the client's 1000 bytes before closing (closing with unread
# data would send a RST), sends 3000, closes; the client reads to EOF, closes.
sf_pair "$T" "$SF_S4" 5002 --close-first --recv 1000 --send 3000 --comm sfsrv2 -- \
	--send 1000 --wait-eof --comm sfcli2

sf_wait_records 5 "$CT" "$ST"
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"

SF_JQ_ARGS=(--argjson cpid "$CPID" --argjson spid "$SPID")
# shellcheck disable=SC2086
sf_expect "$T/client" "$(sf_records $CT)" \
	'.family == "ipv4"' '.role == "client"' '.seeded == false' \
	'.handshake.result == "established"' '(.handshake.ms | type) == "number"' \
	'.close.initiator == "remote"' '.close.how == "fin"' '.close.err == 0' \
	'.last_state == "LAST-ACK"' \
	'.bytes_sent == 1000' '.bytes_received == 3000' \
	'.pid == $cpid' '.comm == "sfcli2"'
# shellcheck disable=SC2086
sf_expect "$T/server" "$(sf_records $ST)" \
	'.family == "ipv4"' '.role == "server"' '.seeded == false' \
	'.handshake.result == "established"' '(.handshake.ms | type) == "number"' \
	'.close.initiator == "local"' '.close.how == "fin"' '.close.err == 0' \
	'.last_state == "FIN-WAIT-2"' \
	'.bytes_sent == 3000' '.bytes_received == 1000' \
	'.pid == $spid' '.comm == "sfsrv2"'
sf_done
