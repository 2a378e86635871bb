#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Connect to a port with no listener: the server's kernel answers the SYN
# with a RST, connect() fails with ECONNREFUSED.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=connect_refused
sf_setup_ns "$T"
# only the client's record matters: trace the client namespace alone
sf_start "$T" --netns "$SF_NETNS_C"

sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port 5004 --comm sfcli4 \
	--timeout-ms 10000 >"$SF_TMP/cli" 2>"$SF_TMP/cli.err"
[ "$(sf_field "$SF_TMP/cli" result)" = refused ] ||
	{ sf_fail "$T" "client did not see refused: $(cat "$SF_TMP/cli" "$SF_TMP/cli.err")"; sf_done; }
# connect() bound the ephemeral port before the SYN; getsockname keeps it
CP=$(sf_field "$SF_TMP/cli" lport)
CPID=$(sf_field "$SF_TMP/cli" pid)
[ "$CP" -gt 0 ] 2>/dev/null || { sf_fail "$T" "client reported no local port"; sf_done; }

CT="$SF_NETNS_C $SF_C4 $CP $SF_S4 5004"
sf_wait_records 5 "$CT"
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"

SF_JQ_ARGS=(--argjson cpid "$CPID")
# shellcheck disable=SC2086
sf_expect "$T/client" "$(sf_records $CT)" \
	'.family == "ipv4"' '.role == "client"' '.seeded == false' \
	'.handshake.result == "refused"' '.handshake.ms == null' \
	'.close.initiator == "none"' '.close.err == 111' \
	'.bytes_sent == 0' '.bytes_received == 0' \
	'.pid == $cpid' '.comm == "sfcli4"'
sf_done
