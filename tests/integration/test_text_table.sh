#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The text table as an operator reads it, from real connections: the
# default 80-column rows, -w (full addresses, exact numbers, a time
# column) and --events -T. Each end's row names its own process, its role,
# who closed and how; a refused connect shows "ref".
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=text_table
sf_setup_ns "$T"
# The TIME column is local time. A zone with a half-hour offset from UTC
# and no daylight saving (POSIX form, no tzdata needed): a column in UTC
# would be off by 5:30, and no clock change can fall inside the test.
export TZ=UTC-05:30

# text_start NAME ARGS...: a text-mode synfin (no -j) on this test's
# addresses alone; bounded wait for ready
text_start()
{
	local name=$1 pid
	shift
	"$SYNFIN" --laddr "$SF_C4,$SF_S4" "$@" >"$SF_TMP/$name.out" 2>"$SF_TMP/$name.err" &
	pid=$!
	SF_PIDS+=("$pid")
	SF_SYNFIN_PIDS[$name]=$pid
	sf_wait_ready "$pid" "$SF_TMP/$name.err" "synfin $name" ||
		{ sf_fail "$T/$name/start" "$(head -n 3 "$SF_TMP/$name.err" | tr '\n' ' ')"; sf_done; }
}

text_start narrow
text_start wide -w
text_start events --events -T

sf_pair "$T" "$SF_S4" 5093 --wait-eof --send 3000 --comm sftxsrv -- \
	--send 1000 --recv 3000 --close-first --comm sftxcli
sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port 5094 --comm sftxref \
	--timeout-ms 10000 >"$SF_TMP/ref" 2>"$SF_TMP/ref.err"
RPID=$(sf_field "$SF_TMP/ref" pid)
RP=$(sf_field "$SF_TMP/ref" lport)
[ "$(sf_field "$SF_TMP/ref" result)" = refused ] ||
	{ sf_fail "$T" "client was not refused: $(cat "$SF_TMP/ref" "$SF_TMP/ref.err")"; sf_done; }
NOW=$(date +%s)

# wait (bounded) for the three rows in each table
for name in narrow wide; do
	for _ in $(seq 50); do
		[ "$(grep -cE 'sftx(cli|srv|ref)' "$SF_TMP/$name.out")" -ge 3 ] && break
		sleep 0.1
	done
done
for _ in $(seq 50); do
	grep -q 'sftxref.*SYN-SENT -> CLOSE err=111' "$SF_TMP/events.out" && break
	sleep 0.1
done
for name in narrow wide events; do
	sf_synfin_stop_as "$name" || sf_fail "$T/$name/stop" "synfin $name did not exit 0 on SIGINT"
done

# one_row FILE COMM: the one row of COMM in ROW; FAIL unless exactly one
one_row()
{
	local rows
	rows=$(grep -E " $2( |\$)" "$1")
	ROW=$rows
	[ "$(printf '%s\n' "$rows" | grep -c .)" = 1 ] && return 0
	sf_fail "$T/$(basename "$1" .out)/$2" "want one row of $2, have: $(printf '%s' "$rows" | tr '\n' '|')"
	return 1
}

# fields_are NAME ROW WANT...: the row's whitespace-split fields, exactly
fields_are()
{
	local name=$1 row=$2 got
	shift 2
	got=$(printf '%s' "$row" | awk '{$1 = $1; print}')
	sf_check "$name" "row '$row' is not '$*'" test "$got" = "$*"
}

# the default: 80 columns, a header once, then one row per end
N=$SF_TMP/narrow.out
sf_check "$T/narrow/header" "header: $(head -n 1 "$N")" \
	test "$(head -n 1 "$N" | awk '{$1 = $1; print}')" = \
	"PID COMM LPORT RADDR:RPORT ROLE HS_MS CLOSE TX RX DUR_MS"
sf_check "$T/narrow/one-header" "$(grep -c RADDR "$N") header lines" \
	test "$(grep -c RADDR "$N")" = 1
width=$(awk '{ if (length($0) > w) w = length($0) } END { print w + 0 }' "$N")
sf_check "$T/narrow/80-columns" "widest line is $width columns" test "$width" -le 80
if one_row "$N" sftxcli; then
	# shellcheck disable=SC2086
	set -- $ROW
	fields_are "$T/narrow/client" "$ROW" "$CPID sftxcli $CP $SF_S4:5093 cli $6 L:fin 1.0K 2.9K ${10}"
	sf_check "$T/narrow/client/hs-ms" "HS_MS $6 is not a time" \
		grep -qE '^[0-9]+(\.[0-9]+)?$' <<<"$6"
fi
if one_row "$N" sftxsrv; then
	# shellcheck disable=SC2086
	set -- $ROW
	fields_are "$T/narrow/server" "$ROW" "$SPID sftxsrv 5093 $SF_C4:$CP srv $6 R:fin 2.9K 1.0K ${10}"
fi
if one_row "$N" sftxref; then
	# shellcheck disable=SC2086
	set -- $ROW
	fields_are "$T/narrow/refused" "$ROW" "$RPID sftxref $RP $SF_S4:5094 cli ref - 0 0 ${10}"
fi

# -w: a time column, both full addresses, exact bytes and times
W=$SF_TMP/wide.out
sf_check "$T/wide/header" "header: $(head -n 1 "$W")" \
	test "$(head -n 1 "$W" | awk '{$1 = $1; print}')" = \
	"TIME PID COMM LADDR:LPORT RADDR:RPORT ROLE HS HS_MS CLOSE TX RX DUR_MS"
# seconds_of_day HH:MM:SS
# shellcheck disable=SC2317 # called by near_now
seconds_of_day()
{
	local h m s
	IFS=: read -r h m s <<<"$1"
	echo $(( 10#$h * 3600 + 10#$m * 60 + 10#$s ))
}
# near_now HH:MM:SS: within a minute of when the connections were made, on
# the local wall clock (TZ) as the column is (across midnight too)
# shellcheck disable=SC2317 # called through sf_check
near_now()
{
	local d
	d=$(( ($(seconds_of_day "$1") - $(seconds_of_day "$(date -d "@$NOW" +%T)") + 86400) % 86400 ))
	[ "$d" -le 60 ] || [ "$d" -ge $(( 86400 - 60 )) ]
}
if one_row "$W" sftxcli; then
	# shellcheck disable=SC2086
	set -- $ROW
	fields_are "$T/wide/client" "$ROW" \
		"$1 $CPID sftxcli $SF_C4:$CP $SF_S4:5093 cli est $8 L:fin 1000 3000 ${12}"
	sf_check "$T/wide/client/time" "TIME $1 is not within a minute of $(date -d "@$NOW" +%T)" \
		near_now "$1"
	sf_check "$T/wide/client/ms" "HS_MS $8 and DUR_MS ${12} are not exact to the microsecond" \
		grep -qE '^[0-9]+\.[0-9]{3} [0-9]+\.[0-9]{3}$' <<<"$8 ${12}"
fi
if one_row "$W" sftxsrv; then
	# shellcheck disable=SC2086
	set -- $ROW
	fields_are "$T/wide/server" "$ROW" \
		"$1 $SPID sftxsrv $SF_S4:5093 $SF_C4:$CP srv est $8 R:fin 3000 1000 ${12}"
fi
if one_row "$W" sftxref; then
	# shellcheck disable=SC2086
	set -- $ROW
	fields_are "$T/wide/refused" "$ROW" \
		"$1 $RPID sftxref $SF_C4:$RP $SF_S4:5094 cli ref - - 0 0 ${12}"
fi

# --events -T: each transition as it happened, with its time
E=$SF_TMP/events.out
sf_check "$T/events/header" "header: $(head -n 1 "$E")" \
	test "$(head -n 1 "$E" | awk '{$1 = $1; print}')" = \
	"TIME PID COMM LPORT RADDR:RPORT EVENT"
width=$(awk '{ if (length($0) > w) w = length($0) } END { print w + 0 }' "$E")
# 80 columns and -T's 9: the tw sock's lines were 90 and more
sf_check "$T/events/89-columns" "widest line is $width columns" test "$width" -le 89
sf_check "$T/events/client-open" "no 'SYN-SENT -> ESTAB' row of the client: $(grep sftxcli "$E" | tr '\n' '|')" \
	grep -qE "^[0-9]{2}:[0-9]{2}:[0-9]{2} +$CPID sftxcli +$CP $SF_S4:5093 +SYN-SENT -> ESTAB\$" "$E"
sf_check "$T/events/refused" "no 'SYN-SENT -> CLOSE' row of the refused client: $(grep sftxref "$E" | tr '\n' '|')" \
	grep -qE "^[0-9]{2}:[0-9]{2}:[0-9]{2} +$RPID sftxref +$RP $SF_S4:5094 +SYN-SENT -> CLOSE err=111\$" "$E"
sf_check "$T/events/tw" "no tw row of the client (it closed first): $(grep sftxcli "$E" | tr '\n' '|')" \
	grep -qE "^[0-9]{2}:[0-9]{2}:[0-9]{2} +$CPID sftxcli +$CP $SF_S4:5093 +tw (TIME|FIN)-WAIT(-2)? timer [0-9]+ (ms|jiffies)\$" "$E"
sf_done
