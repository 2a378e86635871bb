#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# -o FILE and log rotation. Two instances: J (`-j -o FILE`) and X (the text
# table, `-o FILE`, started with its standard output closed, as a daemon
# may be). Each connection below is one record; after each step it must be
# in the file the step names, and in no other:
#   before     FILE had a line already: it stays (appended, not truncated);
#              nothing goes to standard output
#   rotate     FILE renamed, SIGHUP: the next record goes to a new FILE, and
#              the renamed one ends with whole lines; X's new file starts
#              with the table's header
#   fifo       FILE renamed and a FIFO put in its place, SIGHUP: synfin says
#              it could not reopen, and goes on writing to the renamed one
#   back       the FIFO gone, SIGHUP: a new FILE again
#   truncate   FILE truncated under synfin (logrotate's copytruncate): the
#              next record starts the file, no hole of zero bytes before it
#   reload     SIGHUP with no rotation (a plain reload): X's file goes on,
#              its header not repeated
# A third instance, L (`--ladder -o FILE`), is rotated at "rotate": its new
# file starts with a picture, not with the blank line between pictures.
# And SIGHUPs every 10 ms while an instance loads its BPF programs (which a
# pending signal makes fail) leave it on its tp_btf hooks, ready.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=output_file
sf_setup_ns "$T"
J=$SF_TMP/j.json
X=$SF_TMP/x.txt
L=$SF_TMP/l.txt
FILTER=(--laddr "10.213.0.0/24")
echo '{"type":"marker"}' >"$J"

"$SYNFIN" -j "${FILTER[@]}" --no-alerts -o "$J" >"$SF_TMP/j.stdout" 2>"$SF_TMP/j.err" &
JPID=$!
SF_PIDS+=("$JPID")
"$SYNFIN" "${FILTER[@]}" --no-alerts -o "$X" >&- 2>"$SF_TMP/x.err" &
XPID=$!
SF_PIDS+=("$XPID")
"$SYNFIN" "${FILTER[@]}" --no-alerts --ladder --ascii -o "$L" 2>"$SF_TMP/l.err" &
LPID=$!
SF_PIDS+=("$LPID")
# HUPs while the BPF programs load, until ready (30 s at most); from the
# moment its handler is in place (SigCgt's bit 0): a HUP before that,
# while the program is still being started (much longer under the
# sanitizers), ends any process
"$SYNFIN" -v -j "${FILTER[@]}" --no-alerts -o "$SF_TMP/h.json" 2>"$SF_TMP/h.err" &
HPID=$!
SF_PIDS+=("$HPID")
hup_caught()
{
	local mask
	mask=$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)
	[ -n "$mask" ] && (( 16#${mask: -1} & 1 ))
}
for _ in $(seq 1000); do
	hup_caught "$HPID" && break
	kill -0 "$HPID" 2>/dev/null || break
	sleep 0.01
done
for _ in $(seq 3000); do
	grep -q '^synfin: ready' "$SF_TMP/h.err" && break
	kill -HUP "$HPID" 2>/dev/null || break
	sleep 0.01
done
sf_check "$T/load-hup/ready" "not ready: $(grep -v '^[0-9]*: ' "$SF_TMP/h.err" | head -c 300)" \
	grep -q '^synfin: ready' "$SF_TMP/h.err"
sf_check "$T/load-hup/tp_btf" "$(grep -E 'did not load|hooks' "$SF_TMP/h.err" | head -c 300)" \
	grep -q '^synfin: tp_btf hooks' "$SF_TMP/h.err"
kill -INT "$HPID"
sf_wait_pid "$HPID" 10
for i in J X L; do
	pid=${i}PID
	sf_wait_ready "${!pid}" "$SF_TMP/${i,}.err" "synfin $i" ||
		{ sf_fail "$T/start" "synfin $i did not start"; sf_done; }
done

# conn STEP [FILE]: one connection (the client closes); its client port
# in PORT[STEP], its JSON record waited for (10 s) in FILE (J's)
declare -A PORT=()
conn()
{
	sf_pair "$T/$1" "$SF_S4" 5100 --wait-eof -- --close-first
	PORT[$1]=$CP
	SF_OUT=${2:-$J}
	sf_wait_records 10 "$CT" || sf_fail "$T/$1/record" "no record of port $CP in $SF_OUT"
}

# has FILE STEP: FILE holds STEP's connection (J: a conn record of its
# client port; X: a row with it)
has()
{
	if [[ $1 == *.json* ]]; then
		jq -n -e --argjson p "${PORT[$2]}" \
			'any(inputs; .type == "conn" and .lport == $p)' "$1" >/dev/null 2>&1
	else
		grep -q ":${PORT[$2]} " "$1"
	fi
}

# holds NAME FILE STEP...: FILE holds these steps' connections and those of
# no other step so far
holds()
{
	local name=$1 f=$2 s want got=() bad=()
	shift 2
	want=" $* "
	for s in "${!PORT[@]}"; do
		if has "$f" "$s"; then
			got+=("$s")
			[[ $want == *" $s "* ]] || bad+=("$s there")
		else
			[[ $want != *" $s "* ]] || bad+=("$s missing")
		fi
	done
	sf_check "$T/$name" "$(basename "$f") holds: ${got[*]}; ${bad[*]}" [ "${#bad[@]}" = 0 ]
}

# text_whole FILE: it starts with the table's header and ends in a newline
# shellcheck disable=SC2317 # called through sf_check
text_whole()
{
	head -n 1 "$1" | grep -q '^ *PID COMM ' && [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ]
}

# whole NAME FILE: every line of a JSON file is one object; a text file
# is whole (text_whole)
whole()
{
	if [[ $2 == *.json* ]]; then
		sf_check "$T/$1" "$(basename "$2"): a line is not one JSON object" sf_json_lines "$2"
	else
		sf_check "$T/$1" "$(basename "$2") starts: $(head -n 1 "$2")" text_whole "$2"
	fi
}

# wait_row FILE STEP: bounded wait (5 s) for STEP's row in a text FILE
wait_row()
{
	local n=50
	while ! has "$1" "$2" && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
}

# rotate N: both files renamed to FILE.N, SIGHUP to both
rotate()
{
	mv "$J" "$J.$1" && mv "$X" "$X.$1"
	kill -HUP "$JPID" "$XPID"
	# the signal is taken within a drain (100 ms when idle)
	sleep 0.5
}

conn before
holds before/json "$J" before
sf_check "$T/before/kept" "the line the file had is gone: $(head -n 1 "$J")" \
	grep -qx '{"type":"marker"}' "$J"
sf_check "$T/before/stdout" "J wrote to stdout: $(head -c 200 "$SF_TMP/j.stdout")" \
	[ ! -s "$SF_TMP/j.stdout" ]

rotate 1
mv "$L" "$L.1" && kill -HUP "$LPID"
sleep 0.5
conn rotate
wait_row "$L" rotate
holds rotate/ladder-old "$L.1" before
holds rotate/ladder-new "$L" rotate
sf_check "$T/rotate/ladder-first-line" "$(basename "$L") starts with a blank line" \
	[ -n "$(head -n 1 "$L")" ]
wait_row "$X" rotate
holds rotate/json-old "$J.1" before
holds rotate/json-new "$J" rotate
holds rotate/text-old "$X.1" before
holds rotate/text-new "$X" rotate
whole rotate/json-whole "$J.1"
whole rotate/text-header "$X"

mv "$J" "$J.2" && mv "$X" "$X.2" && mkfifo "$J" "$X"
kill -HUP "$JPID" "$XPID"
sleep 0.5
conn fifo "$J.2"
wait_row "$X.2" fifo
for i in J X; do
	err=$SF_TMP/${i,}.err
	sf_check "$T/fifo/said-$i" "no line about the failed reopen: $(tail -n 3 "$err")" \
		grep -q '^synfin: SIGHUP: reopening the output file failed: it is a pipe or socket now; still writing to the one open before$' "$err"
done
holds fifo/json "$J.2" rotate fifo
holds fifo/text "$X.2" rotate fifo
for i in J X; do
	pid=${i}PID
	sf_check "$T/fifo/running-$i" "synfin $i has gone" kill -0 "${!pid}"
done

rm -f "$J" "$X"
kill -HUP "$JPID" "$XPID"
sleep 0.5
conn back
wait_row "$X" back
holds back/json "$J" back
holds back/text "$X" back

truncate -s 0 "$J"
conn truncate
size=$(stat -c %s "$J")
sf_check "$T/truncate/no-hole" "$J: $size bytes, $(tr -d '\0' <"$J" | wc -c) not zero; starts: $(head -c 40 "$J" | od -An -c | head -n 2)" \
	[ "$(tr -d '\0' <"$J" | wc -c)" = "$size" ]
holds truncate/json "$J" truncate
whole truncate/json-whole "$J"

kill -HUP "$XPID"
sleep 0.5
conn reload
wait_row "$X" reload
holds reload/text "$X" back truncate reload
n=$(grep -c 'PID COMM' "$X")
sf_check "$T/reload/one-header" "$(basename "$X") has $n headers" [ "$n" = 1 ]

for i in J X L; do
	pid=${i}PID
	kill -INT "${!pid}"
	sf_wait_pid "${!pid}" 10
	rc=$?
	sf_check "$T/exit/$i" "synfin $i exited $rc: $(tail -c 300 "$SF_TMP/${i,}.err")" [ "$rc" = 0 ]
done
whole end/json-whole "$J"
whole end/text-whole "$X"
sf_done
