#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A process name with a quote, a backslash and control bytes (0x01, 0x1b,
# 0x7f): every output line must still be one valid JSON object, and the
# record's comm must decode to exactly those bytes.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=hostile_comm
sf_setup "$T"

sf_bg "$SF_TMP/srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port 5009 --accept 1 \
	--wait-eof --send 100 --comm sfsrv9 --ready-file "$SF_TMP/srv.ready" --timeout-ms 15000
SRV=$SF_LAST_PID
sf_wait_file "$SF_TMP/srv.ready" || { sf_fail "$T" "server did not listen"; sf_done; }
# tcpdrive decodes \\ and \xNN: the name is  a " b \ c 0x01 0x1b 0x7f
sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port 5009 --send 100 --recv 100 \
	--close-first --comm 'a"b\\c\x01\x1b\x7f' --timeout-ms 15000 >"$SF_TMP/cli" 2>"$SF_TMP/cli.err"
sf_wait_pid "$SRV" 15
sf_client_lport CP "$SF_TMP/cli" "$T"

CT="$SF_NETNS_C $SF_C4 $CP $SF_S4 5009"
sf_wait_records 5 "$CT"
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"

# Every line on its own is a JSON object (jq alone would accept an object
# split across lines, and replaces invalid UTF-8 silently, hence the greps).
badline=0 n=0
while IFS= read -r line; do
	n=$((n + 1))
	printf '%s\n' "$line" | jq -e 'type == "object"' >/dev/null 2>&1 || { badline=$n; break; }
done <"$SF_OUT"
if [ "$badline" != 0 ]; then
	sf_fail "$T/json_lines" "line $badline is not a JSON object: $(sed -n "${badline}p" "$SF_OUT" | od -c | head -5 | tr '\n' ' ')"
elif LC_ALL=C grep -q "$(printf '[\001-\037\177]')" "$SF_OUT"; then
	sf_fail "$T/json_lines" "raw control bytes in the output"
elif ! iconv -f UTF-8 -t UTF-8 "$SF_OUT" >/dev/null 2>&1; then
	sf_fail "$T/json_lines" "output is not valid UTF-8"
elif [ "$n" = 0 ]; then
	sf_fail "$T/json_lines" "no output at all"
else
	sf_pass "$T/json_lines"
fi

# shellcheck disable=SC2086
sf_expect "$T/comm" "$(sf_records $CT)" \
	'.role == "client"' \
	'.comm == "a\"b\\c\u0001\u001b\u007f"' \
	'(.comm | explode) == [97, 34, 98, 92, 99, 1, 27, 127]'
sf_done
