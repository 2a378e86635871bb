#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Whether the wave's second FIN carried the ACK of the first, as the wire
# shows it. Clients close first. A server that closes as soon as it reads
# the EOF (quick) sends its delayed ACK with its FIN, one segment; one that
# closes 300 ms later (slow) has sent the ACK on its own by then. For each
# connection the capture on the server's veth says which happened, and
# both ends' conn records must say the same in wave.fin_ack_merged: the
# server (passive) always, the client (active) unless it could not tell
# (null: its ACK taken from the socket's backlog), which may happen to
# one. Each case must also show the form it is built for at least once,
# or it proves nothing. The clients close() (an orphan's socket goes with
# the ACK of its FIN when no FIN comes with it, and its tw sock takes the
# FIN), or shutdown() and wait for the server's FIN (half: the socket
# takes it). --classic does not see a FIN reach a tw sock, so its slow
# orphans may not tell (null) at all. The old build had no such field.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=wave_ack
N=8
sf_setup_ns "$T"
command -v tshark >/dev/null || { sf_skip "$T" "tshark not installed"; sf_done; }
PCAP=$SF_TMP/wave.pcap
sf_capture_start "$SF_NS_S" vs "tcp portrange 5741-5744" "$PCAP" 60 ||
	{ sf_fail "$T" "tshark did not start capturing"; sf_done; }
# the kernel side's two paths: tp_btf, and --classic's tracepoint
sf_start_as btf --no-alerts --raddr "$SF_C4,$SF_S4"
sf_start_as classic --classic --no-alerts --raddr "$SF_C4,$SF_S4"

# run_case NAME PORT close|half [SERVER-ARGS...]: N connections, the
# client's ports in $SF_TMP/NAME.ports
run_case()
{
	local name=$1 port=$2 how=$3
	local -a cli=(--close-first)
	shift 3
	[ "$how" = half ] && cli=(--shutdown-wr)
	sf_bg "$SF_TMP/$name.srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$port" \
		--accept "$N" --wait-eof "$@" --ready-file "$SF_TMP/$name.ready" --timeout-ms 30000
	sf_wait_file "$SF_TMP/$name.ready" || { sf_fail "$T/$name" "server did not listen"; sf_done; }
	sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$port" --repeat "$N" \
		--send 100 "${cli[@]}" --timeout-ms 20000 >"$SF_TMP/$name.cli" 2>&1
	sf_wait_pid "$SF_LAST_PID" 15
	grep -q "^result=done count=$N connected=$N " "$SF_TMP/$name.cli" ||
		{ sf_fail "$T/$name" "clients: $(tail -n 2 "$SF_TMP/$name.cli")"; sf_done; }
	sed -n 's/^result=[a-z]* .*lport=\([0-9]*\) .*/\1/p' "$SF_TMP/$name.cli" >"$SF_TMP/$name.ports"
}
run_case quick 5741 close
run_case slow 5742 close --delay-close-ms 300
run_case half_quick 5743 half
run_case half_slow 5744 half --delay-close-ms 300
sleep 0.5
sf_capture_stop "$PCAP" || sf_fail "$T/capture" "tshark did not stop cleanly"
for inst in btf classic; do
	sf_synfin_stop_as "$inst" || sf_fail "$T/$inst/stop" "synfin $inst did not exit 0 on SIGINT"
done

# per client port: "true" if the first segment from the server after the
# client's FIN was the server's FIN, "false" if an ACK came first
sf_capture_segments "$PCAP" | awk -v c="$SF_C4" '
	$1 == c && $7 == 1 && !(($2) in finat) { finat[$2] = NR }
	$3 == c && ($4 in finat) && !($4 in first) { first[$4] = ($7 == 1) ? "true" : "false" }
	END { for (p in first) print p, first[p] }' >"$SF_TMP/wire"

# check_case INSTANCE NAME PORT WANT [MAX-NULL]
check_case()
{
	local inst=$1 name=$2 port=$3 want=$4 maxnull=${5:-1} cp wire crec srec cv sv
	local nwant=0 nnull=0 ndiff=0
	local SF_OUT=$SF_TMP/$inst.out
	while read -r cp; do
		wire=$(awk -v p="$cp" '$1 == p { print $2 }' "$SF_TMP/wire")
		# shellcheck disable=SC2086
		crec=$(sf_records $SF_NETNS_C $SF_C4 $cp $SF_S4 $port)
		# shellcheck disable=SC2086
		srec=$(sf_records $SF_NETNS_S $SF_S4 $port $SF_C4 $cp)
		cv=$(jq -r '.wave.fin_ack_merged' <<<"$crec" 2>/dev/null)
		sv=$(jq -r '.wave.fin_ack_merged' <<<"$srec" 2>/dev/null)
		echo "  $inst $name: client port $cp: wire ${wire:-?}, client's record ${cv:-none}, server's ${sv:-none}"
		[ "$wire" = "$want" ] && nwant=$((nwant + 1))
		[ "$cv" = null ] && nnull=$((nnull + 1))
		if [ -z "$wire" ] || [ "$sv" != "$wire" ] || { [ "$cv" != "$wire" ] && [ "$cv" != null ]; }; then
			ndiff=$((ndiff + 1))
		fi
	done <"$SF_TMP/$name.ports"
	sf_check "$T/$inst/$name/agree" "$ndiff of $N connections where a record and the wire differ" [ "$ndiff" = 0 ]
	sf_check "$T/$inst/$name/known" "$nnull of $N client records could not tell (at most $maxnull)" \
		[ "$nnull" -le "$maxnull" ]
	sf_check "$T/$inst/$name/shown" "$nwant of $N waves on the wire were fin_ack_merged=$want (want 1 or more)" \
		[ "$nwant" -ge 1 ]
}
for inst in btf classic; do
	check_case "$inst" quick 5741 true
	if [ "$inst" = classic ]; then
		check_case "$inst" slow 5742 false "$N"
	else
		check_case "$inst" slow 5742 false
	fi
	check_case "$inst" half_quick 5743 true
	check_case "$inst" half_slow 5744 false
done
sf_done
