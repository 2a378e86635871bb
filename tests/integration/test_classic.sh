#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The classic-tracepoint fallback (--classic): the client-closes-first
# scenario gives the same records as with tp_btf, with synthetic ids from
# 2^63 up; -v names the hooks in use (tp_btf by default, classic if asked).
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=classic
sf_setup "$T" --classic -v

if grep -q '^synfin: classic hooks' "$SF_ERR"; then
	sf_pass "$T/verbose-classic"
else
	sf_fail "$T/verbose-classic" "--classic -v did not say 'classic hooks': $(head -c 300 "$SF_ERR")"
fi

sf_pair "$T" "$SF_S4" 5011 --wait-eof --send 3000 --comm sfsrv11 -- \
	--send 1000 --recv 3000 --close-first --comm sfcli11

sf_wait_records 5 "$CT" "$ST"
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"

# shellcheck disable=SC2086
CREC=$(sf_records $CT)
# shellcheck disable=SC2086
SREC=$(sf_records $ST)
SF_JQ_ARGS=(--argjson cpid "$CPID" --argjson spid "$SPID")
# jq reads ids as doubles; 2^63 is exact in a double, so >= is sound here
# (the exact digits are checked below)
sf_expect "$T/client" "$CREC" \
	'.family == "ipv4"' '.role == "client"' '.seeded == false' \
	'.handshake.result == "established"' '(.handshake.ms | type) == "number"' \
	'.close.initiator == "local"' '.close.how == "fin"' '.close.err == 0' \
	'.last_state == "FIN-WAIT-2"' \
	'.bytes_sent == 1000' '.bytes_received == 3000' \
	'.pid == $cpid' '.comm == "sfcli11"' '.id >= 9223372036854775808'
sf_expect "$T/server" "$SREC" \
	'.family == "ipv4"' '.role == "server"' '.seeded == false' \
	'.handshake.result == "established"' '(.handshake.ms | type) == "number"' \
	'.close.initiator == "remote"' '.close.how == "fin"' '.close.err == 0' \
	'.last_state == "LAST-ACK"' \
	'.bytes_sent == 3000' '.bytes_received == 1000' \
	'.pid == $spid' '.comm == "sfsrv11"' '.id >= 9223372036854775808'

# The id as printed, digit for digit (jq -c above rewrote it as a double):
# from 9223372036854775808 (2^63) to 18446744073709551615 (2^64 - 1), and
# the two ends have different ids. raw_id NETNS LPORT RPORT
raw_id()
{
	grep -F '"type":"conn"' "$SF_OUT" | grep -F "\"netns\":$1," |
		grep -F "\"lport\":$2," | grep -F "\"rport\":$3," |
		sed -n 's/.*"id":\([0-9]*\)[,}].*/\1/p'
}
# (digit strings of one length sort like the numbers; sort -C: in order)
big_id()
{
	[[ $1 =~ ^[0-9]+$ ]] || return 1
	case ${#1} in
	19) printf '%s\n' 9223372036854775808 "$1" | LC_ALL=C sort -C ;;
	20) printf '%s\n' "$1" 18446744073709551615 | LC_ALL=C sort -C ;;
	*) return 1 ;;
	esac
}
CID=$(raw_id "$SF_NETNS_C" "$CP" 5011)
SID=$(raw_id "$SF_NETNS_S" 5011 "$CP")
if big_id "$CID" && big_id "$SID" && [ "$CID" != "$SID" ]; then
	sf_pass "$T/synthetic-ids"
else
	sf_fail "$T/synthetic-ids" "want two distinct ids >= 2^63, got client '$CID' server '$SID'"
fi

# Without --classic, the default path is tp_btf.
if "$SYNFIN" -v -j -d 1 >"$SF_TMP/btf.out" 2>"$SF_TMP/btf.err" </dev/null &&
	grep -q '^synfin: tp_btf hooks' "$SF_TMP/btf.err"; then
	sf_pass "$T/verbose-tp_btf"
else
	sf_fail "$T/verbose-tp_btf" "-v -j did not say 'tp_btf hooks': $(head -c 300 "$SF_TMP/btf.err")"
fi
sf_done
