#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The output cannot be written (a full disk): synfin says so in one line,
# stops with status 1, and counts the records it could not write. Its
# records go to a 64 KiB tmpfs. It is stopped (SIGSTOP) while K connections
# come and go, so that all K records wait in the ring and come out in one
# drain on SIGCONT: the lines written whole and the count of those not
# written must add up to K exactly, with the cut line (if any) among the
# latter. Only the server's namespace is traced: one record a connection
# (its listener's close is none). Then the same with --ladder, whose
# pictures go out through the same buffer: the count is in lines.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

T=output_full
K=300
PORT=5701
sf_setup_ns "$T"

FULL=$SF_TMP/full
mkdir -p "$FULL"
mount -t tmpfs -o size=64k synfin-it "$FULL" || { sf_fail "$T" "cannot mount a tmpfs"; sf_done; }
trap 'umount "$FULL" 2>/dev/null; sf_cleanup' EXIT

# full_run NAME UNIT ARGS...: synfin ARGS into the full tmpfs; it must stop
# with status 1 and one line naming the error and the UNITs (records or
# lines) not written. Sets OUT and LOST.
full_run()
{
	local name=$1 unit=$2 pid rc line cut err=$SF_TMP/$1.err
	shift 2
	OUT=$FULL/$name
	"$SYNFIN" "$@" --no-timewait --no-alerts --netns "$SF_NETNS_S" >"$OUT" 2>"$err" &
	pid=$!
	SF_PIDS+=("$pid")
	sf_wait_ready "$pid" "$err" synfin || { sf_fail "$T/$name" "synfin did not start"; sf_done; }
	kill -STOP "$pid"
	sf_repeat "$T/$name" "$PORT" "$K"
	kill -CONT "$pid"
	PORT=$((PORT + 1))
	sf_wait_pid "$pid" 15
	rc=$?
	sf_check "$T/$name/status" "synfin exited $rc (want 1): $(tail -c 400 "$err")" [ "$rc" = 1 ]
	line=$(grep 'writing the output failed' "$err")
	LOST=$(sed -n "s/.*No space left on device; stopped, \([0-9]*\) $unit not written.*/\1/p" <<<"$line")
	if [ "$(grep -c . <<<"$line")" = 1 ] && [ -n "$LOST" ] && [ "$LOST" -gt 0 ]; then
		sf_pass "$T/$name/said"
	else
		sf_fail "$T/$name/said" "no one line naming the error and the $unit: $(head -c 600 "$err")"
		sf_done
	fi
	# a cut line is said to be one, and only then
	if [ -s "$OUT" ] && [ "$(tail -c 1 "$OUT" | od -An -c | tr -d ' ')" != '\n' ]; then
		cut=yes
	else
		cut=no
	fi
	if { [ "$cut" = yes ] && grep -q 'in part' <<<"$line"; } ||
		{ [ "$cut" = no ] && ! grep -q 'in part' <<<"$line"; }; then
		sf_pass "$T/$name/cut_line"
	else
		sf_fail "$T/$name/cut_line" "the output ends cut: $cut; synfin said: $line"
	fi
}

full_run json records -j
# the whole lines: valid records of this churn; then the count adds up
WHOLE=$(tr -cd '\n' <"$OUT" | wc -c)
GOOD=$(head -n "$WHOLE" "$OUT" | jq -c --argjson p "$((PORT - 1))" \
	'select(.type == "conn" and .lport == $p and .role == "server")' 2>/dev/null | grep -c .)
if [ "$WHOLE" -gt 0 ] && [ "$GOOD" = "$WHOLE" ]; then
	sf_pass "$T/json/whole_lines"
else
	sf_fail "$T/json/whole_lines" "$GOOD of $WHOLE whole lines are this churn's records"
fi
if [ $((WHOLE + LOST)) = "$K" ]; then
	sf_pass "$T/json/adds_up"
else
	sf_fail "$T/json/adds_up" "$WHOLE written + $LOST not written != $K records"
fi
rm -f "$OUT"

# the pictures: the first is whole, and the lines lost are more than the
# file could hold of the rest (each picture has several)
full_run ladder lines --ladder --ascii
if head -n 1 "$OUT" | grep -q '^+0.000 is ' && grep -q 'server' "$OUT"; then
	sf_pass "$T/ladder/pictures"
else
	sf_fail "$T/ladder/pictures" "the output does not begin with a picture: $(head -c 200 "$OUT")"
fi
sf_check "$T/ladder/lines" "$LOST lines not written, fewer than the $K pictures" \
	[ "$LOST" -gt "$K" ]
sf_done
