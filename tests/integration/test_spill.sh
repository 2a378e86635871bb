#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A burst of closes larger than the ring buffer: a stopped synfin with a
# 1 MiB ring (about 3,300 connection records) while K held connections and
# a short churn close in one namespace, both ends of each traced. The
# namespace's own counters say how many socket ends there were
# (TcpActiveOpens + TcpPassiveOpens). Ends closed where no BPF program
# runs (sf_witness_start) are named and taken out of each count.
#  absorbed: the connection records the full ring cannot take wait in the
#     kernel's spill map, and every one comes out once synfin runs again.
#  overflow: a spill map too small for the rest: what neither holds is
#     counted as lost, and received + lost add up to the ends.
# And a burst of TIME_WAIT ends, as the timer wheel makes one (the tw
# socks born within one of its 2-4 s steps expire in one jiffy): a churn
# leaves its client ends in TIME_WAIT (tw_reuse off, so none ends early),
# and with synfin stopped `ss -K` kills them all at once.
#  tw/absorbed: every tw sock's end comes out as a time_wait record.
#  tw/overflow: with --spill 2000, received + lost (tw_end) add up (to
#     within the tw socks born unseen, whose ends may be among the lost).
#  tw/early: synfin stopped through the churn too, so the connection
#     records spill and the ends of their tw socks come from the spill
#     map with them, in no order: each end waits for its own record, and
#     every time_wait record says "killed", and every tw sock synfin saw
#     born has one (a re-armed tw sock's records in any order included),
#     but those killed unseen during the churn (the witness counts them).
#     A synfin --events runs beside it, unstopped, to say on a failure
#     which of that tw sock's records any BPF program saw.
# About 70 s here, more on a loaded VM:
# timeout: 240
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=spill
K=8000
sf_setup_churn "$T"

opens()
{
	echo $(( $(sf_nstat "$SF_NS_S" TcpActiveOpens) + $(sf_nstat "$SF_NS_S" TcpPassiveOpens) ))
}

# lost_kind KIND: the records of KIND the full ring cost, from synfin's
# "ringbuf_full by kind" line (0 when it printed none)
lost_kind()
{
	local n
	n=$(grep '^synfin: ringbuf_full by kind:' "$SF_ERR" | sed -n "s/.* $1=\([0-9]*\).*/\1/p")
	echo "${n:-0}"
}

# burst_stop NAME: let the stopped synfin drain, stop it, and keep its
# output as NAME.out and NAME.err (the next burst reuses the files: these
# are for a failure's post-mortem)
burst_stop()
{
	kill -CONT "$SF_SYNFIN_PID"
	sleep 1.2	# drains, and an in-band loss report
	sf_synfin_stop || sf_fail "$T/$1/stop" "synfin did not exit 0 on SIGINT"
	cp "$SF_OUT" "$SF_TMP/$1.out"
	cp "$SF_ERR" "$SF_TMP/$1.err"
}

# burst NAME [SYNFIN-ARGS...]: run the stopped-synfin burst; sets ENDS,
# RECS (conn records printed), SPILLED, LOST
# (ringbuf_full) and LOST_CONN (its conn kind) from the summary, BLIND
# (ends no BPF program saw) and BLIND_HELD (those of held connections)
burst()
{
	local name=$1 opened before
	shift
	sf_start "$T/$name" --netns "$SF_NETNS_S" --ringbuf-mb 1 --no-alerts "$@"
	before=$(opens)
	sf_witness_start 1000 1099
	# stopped, synfin cannot drain: the ring fills and the rest must spill
	kill -STOP "$SF_SYNFIN_PID"
	if ! sf_in "$SF_NS_S" "$CHURN" --hold "$K" --duration 0.2 --conns-parallel 1 \
		>"$SF_TMP/$name.churn" 2>"$SF_TMP/$name.churn.err"; then
		kill -CONT "$SF_SYNFIN_PID"
		sf_fail "$T/$name" "churn failed: $(head -c 300 "$SF_TMP/$name.churn.err")"
		sf_done
	fi
	sf_wait_closed "$SF_NS_S"
	ENDS=$(( $(opens) - before ))
	sf_witness_stop "$name"
	BLIND=$SF_BLIND
	BLIND_HELD=$(awk '($1 > 1000 && $1 < 1100) || ($2 > 1000 && $2 < 1100)' \
		"$SF_TMP/$name.blind" | grep -c .)
	burst_stop "$name"
	opened=$(jq .hold_opened "$SF_TMP/$name.churn")
	[ "$opened" = "$K" ] || { sf_fail "$T/$name" "churn held $opened connections, not $K"; sf_done; }
	RECS=$(jq -c 'select(.type == "conn")' "$SF_OUT" | grep -c .)
	SPILLED=$(sf_summary "$SF_ERR" spilled)
	LOST=$(sf_summary "$SF_ERR" ringbuf_full)
	LOST_CONN=$(lost_kind conn)
	echo "  $name: $ENDS socket ends, $RECS conn records, spilled=$SPILLED" \
		"ringbuf_full=$LOST (conn $LOST_CONN)"
	[ "$BLIND" = 0 ] || echo "  $name: $BLIND ends ($BLIND_HELD held) closed in softirq on" \
		"PID 1's threads, where no BPF program runs: not counted"
}

# held connections are on ports 1001 and up (the churn's on 1000), each
# with a server and a client end
held_ends()
{
	jq -c 'select(.type == "conn" and ((.role == "server" and .lport > 1000) or
		(.role == "client" and .rport > 1000)))' "$SF_OUT" | grep -c .
}

burst absorbed
sf_check "$T/absorbed/spilled" "spilled='$SPILLED' with a 1 MiB ring and $ENDS ends" \
	[ "${SPILLED:-0}" -gt 0 ]
sf_check "$T/absorbed/no-conn-lost" "$LOST_CONN conn records lost (want 0)" [ "$LOST_CONN" = 0 ]
ends=$(held_ends)
sf_check "$T/absorbed/held" \
	"$ends ends of $K held connections reported (want $((2 * K)) less $BLIND_HELD unseen)" \
	[ "$ends" = $((2 * K - BLIND_HELD)) ]
sf_check "$T/absorbed/all" "$RECS conn records for $ENDS socket ends ($BLIND unseen)" \
	[ "$RECS" = $((ENDS - BLIND)) ]

burst overflow --spill 2000
sf_check "$T/overflow/spill-full" "spilled='$SPILLED' (want the whole 2000-record map)" \
	[ "$SPILLED" = 2000 ]
sf_check "$T/overflow/adds-up" \
	"$RECS received + $LOST_CONN lost conn records != $ENDS ends - $BLIND unseen" \
	[ $((RECS + LOST_CONN)) = $((ENDS - BLIND)) ]
lost_inband=$(jq -s '[.[] | select(.type == "lost" and .reason == "ringbuf_full")] | last.total // 0' "$SF_OUT")
sf_check "$T/overflow/in-band" "in-band ringbuf_full total $lost_inband, summary $LOST" \
	[ $((lost_inband == LOST && LOST > 0)) = 1 ]

# events_witness_start NAME: a second synfin, --events and never stopped,
# beside a burst: what a rare failure of tw/early/ended needs next is
# whether the kernel sent that tw sock's records at all (not seen by any
# BPF program: the default synfin could not follow it either), or sent
# them and the stopped synfin's engine lost them. Its ring takes a
# churn's every record (about 12 a connection). Its records are in
# $EV_OUT, its stderr in $EV_ERR.
events_witness_start()
{
	EV_NAME=$1-events
	EV_OUT=$SF_TMP/$EV_NAME.out
	EV_ERR=$SF_TMP/$EV_NAME.err
	sf_synfin_start_as "$EV_NAME" --events --netns "$SF_NETNS_S" --no-alerts --ringbuf-mb 64 ||
		{ sf_fail "$T/$1/events" "the --events synfin beside it did not start"; sf_done; }
}

# events_witness_stop: stop it (after the stopped synfin drained)
events_witness_stop()
{
	sf_synfin_stop_as "$EV_NAME" ||
		sf_fail "$T/events" "the --events synfin did not exit 0: $(tail -c 300 "$EV_ERR")"
}

# tw_burst NAME [SYNFIN-ARGS...]: sets TW (tw socks killed), TW_RECS
# (time_wait records), KILLED (those that say so), UNENDED (connections
# whose tw sock has no time_wait record), BLIND (client ends
# closed unseen: no record of their tw sock can follow), BLIND_KILLS (tw
# socks killed unseen, by a reset in a softirq on PID 1's threads: no
# record of their end can come), BLIND_REARMS (tw socks re-armed there: a
# FIN reaching one unseen), NO_FIN (client records whose tw sock was
# followed and that lack the peer's FIN), SPILLED, LOST_TW (tw_end records
# lost).
# With TW_STOPPED_CHURN=1 synfin is stopped before the churn, not after it.
tw_burst()
{
	local name=$1 left t_kill
	shift
	# none left from the bursts before: this synfin never saw them born
	sf_in "$SF_NS_S" ss -K -tan state time-wait >/dev/null 2>&1
	sf_in "$SF_NS_S" sysctl -qw net.ipv4.tcp_tw_reuse=0
	sf_start "$T/$name" --netns "$SF_NETNS_S" --ringbuf-mb 1 --no-alerts -v "$@"
	sf_witness_start 1000 1000
	witness_add_tw_kill
	if [ "${TW_STOPPED_CHURN:-0}" = 1 ]; then
		events_witness_start "$name"
		kill -STOP "$SF_SYNFIN_PID"
	fi
	if ! sf_in "$SF_NS_S" "$CHURN" --duration 1 --conns-parallel 2 >"$SF_TMP/$name.churn" \
		2>"$SF_TMP/$name.churn.err"; then
		kill -CONT "$SF_SYNFIN_PID"
		sf_fail "$T/$name" "churn failed: $(head -c 300 "$SF_TMP/$name.churn.err")"
		sf_done
	fi
	sf_wait_closed "$SF_NS_S"
	sf_witness_stop "$name"
	# a client end's ->CLOSE (dport 1000) is its tw sock's birth
	BLIND=$(awk '$2 == 1000 && $3 == "TCP_CLOSE"' "$SF_TMP/$name.blind" | grep -c .)
	BLIND_KILLS=$(grep -c '^tw_kill$' "$SF_TMP/$name.blind")
	BLIND_REARMS=$(grep -c '^tw_rearm$' "$SF_TMP/$name.blind")
	if [ "${TW_STOPPED_CHURN:-0}" != 1 ]; then
		sleep 1	# the churn's records drained
		kill -STOP "$SF_SYNFIN_PID"
	fi
	t_kill=$(sf_now_s)
	TW=$(sf_ss_count "$SF_NS_S" time-wait)
	sf_in "$SF_NS_S" ss -K -tan state time-wait >/dev/null 2>&1
	left=$(sf_ss_count "$SF_NS_S" time-wait)
	burst_stop "$name"
	[ "${TW_STOPPED_CHURN:-0}" = 1 ] && events_witness_stop
	# sock_diag's destroy of a tw sock is not in every kernel synfin runs
	# on: without it there is no burst to test (a FAIL under CI's
	# SYNFIN_REQUIRE_BPF=1 all the same)
	if [ "$left" = "$TW" ]; then
		sf_skip "$T/$name" "ss -K destroyed none of $TW tw socks (kernel without it?)"
		sf_done
	fi
	[ "$left" = 0 ] || { sf_fail "$T/$name" "ss -K left $left of $TW tw socks"; sf_done; }
	# not those a reset killed during the churn: a final ACK sent twice
	# reaches a listener after its socket went, and the listener resets
	TW_RECS=$(jq -c --argjson t "$t_kill" "$SF_JQ_TS"' select(.type == "time_wait" and
		(.ts | sf_ts) >= $t)' "$SF_OUT" | grep -c .)
	KILLED=$(jq -c --argjson t "$t_kill" "$SF_JQ_TS"' select(.type == "time_wait" and
		(.ts | sf_ts) >= $t and .exit == "killed")' "$SF_OUT" | grep -c .)
	# connections whose tw sock synfin saw born but not end
	UNENDED_IDS=$(comm -23 \
		<(jq -r 'select(.type == "conn" and .time_wait.source == "measured") | .id' "$SF_OUT" | sort) \
		<(jq -r 'select(.type == "time_wait") | .id' "$SF_OUT" | sort))
	UNENDED=$(grep -c . <<<"$UNENDED_IDS")
	# every server closes, so every client's tw sock gets the peer's FIN
	NO_FIN=$(jq -c 'select(.type == "conn" and .role == "client" and
		.time_wait.source == "measured" and .wave.fin_seq_remote == null)' "$SF_OUT" | grep -c .)
	# what the next look at a rare failure of tw/early/ended needs, as CI
	# keeps no files: the first few such connections, and their place in
	# the output (tw-overflow loses ends by design)
	[ "${TW_STOPPED_CHURN:-0}" = 1 ] || UNENDED_IDS=
	for id in $(head -n 3 <<<"$UNENDED_IDS"); do
		echo "  $name: not ended: line $(grep -n "\"id\":$id," "$SF_OUT" | head -n 1 |
			cut -d: -f1) of $(wc -l <"$SF_OUT"): $(grep "\"id\":$id," "$SF_OUT" | head -n 1 |
			jq -c '[.lport, .raddr, .start, .ts, .wave.fin_wait1_ms, .wave.fin_wait2_ms, .last_state,
				.time_wait.state, .wave.fin_seq_remote]')"
		echo "  $name: its tw sock's records in --events: $(grep "\"id\":$id," "$EV_OUT" |
			jq -c 'select(.type | startswith("tw_")) | [.type, .ts, .reason]' | tr '\n' ' ')" \
			"(that synfin's $(sed -n 's/.*), \(lost: [^;]*\);.*/\1/p' "$EV_ERR"))"
	done
	SPILLED=$(sf_summary "$SF_ERR" spilled)
	LOST_TW=$(lost_kind tw_end)
	echo "  $name: $(grep '^synfin: tw ends before' "$SF_ERR")"
	echo "  $name: $(grep '^synfin: tw births sent apart' "$SF_ERR")"
	echo "  $name: $TW tw socks killed at once, $TW_RECS time_wait records," \
		"($KILLED killed), $UNENDED not ended, spilled=$SPILLED tw_end lost=$LOST_TW," \
		"$BLIND born unseen, $BLIND_KILLS killed unseen, $NO_FIN without the peer's FIN" \
		"($BLIND_REARMS re-armed unseen)"
}

tw_burst tw-absorbed
sf_check "$T/tw/absorbed/size" "only $TW tw socks (want more than the 1 MiB ring's ~5,900)" \
	[ "$TW" -gt 8000 ]
sf_check "$T/tw/absorbed/spilled" "spilled='$SPILLED' for a burst of $TW tw ends" \
	[ "${SPILLED:-0}" -gt 0 ]
sf_check "$T/tw/absorbed/all" "$TW_RECS time_wait records for $TW tw socks ($BLIND born unseen), $LOST_TW lost" \
	[ $((TW_RECS == TW - BLIND && LOST_TW == 0)) = 1 ]
# fins_check NAME: the peer's FIN reached each client's tw sock of the
# last burst, all but those that PID 1's threads handled. A re-arm there is
# witnessed only if it moves the timer to another bucket of the timer
# wheel (else mod_timer just sets the expiry, with no trace), so the
# births unseen stand in for how much of the burst those threads handled:
# with none, the check is exact.
fins_check()
{
	sf_check "$T/tw/$1/fins" \
		"$NO_FIN client records without the peer's FIN ($BLIND_REARMS re-armed unseen, $BLIND born unseen)" \
		[ "$NO_FIN" -le $((BLIND_REARMS + BLIND)) ]
}
# (Before a birth read in TIME_WAIT from a socket the FIN had not reached
# was taken for a FIN_WAIT2 one, 0-2 a burst went out without it: the FIN
# had reached the tw sock on another CPU as it was born.)
fins_check absorbed

# the churn's records and its tw socks' ends all fit in the spill map:
# about 3.5 per tw sock (both ends' records, the end), 160,000 for the
# 45,000 of the fastest churn seen here; allocated only as used
TW_STOPPED_CHURN=1 tw_burst tw-early --spill 524288
sf_check "$T/tw/early/spilled" "spilled='$SPILLED' for $TW tw socks' records and ends" \
	[ $((SPILLED > TW && LOST_TW == 0)) = 1 ]
# Before the ends waited for their records, 46% were followed to no end;
# before a re-armed tw sock's records were judged by their times, a few
# per thousand in a quarter of the runs (its start after its kill undid
# the kill).
# A tw sock killed where no BPF program runs (BLIND_KILLS) is followed to no
# end if synfin saw it born: at most BLIND_KILLS, and at least those less
# the births unseen.
sf_check "$T/tw/early/ended" \
	"$UNENDED connections' tw socks were followed to no end (want 0 of $TW, less $BLIND_KILLS killed unseen of which up to $BLIND born unseen); $KILLED of $TW_RECS killed" \
	[ $((UNENDED <= BLIND_KILLS && UNENDED >= BLIND_KILLS - BLIND && KILLED == TW_RECS)) = 1 ]
# Before a tw sock's re-arm was told from a birth by its cookie, 1-3 in
# most bursts: a tw sock killed early, and the next one born on its CPU in
# its memory (same timer address) taken for its re-arm, whose birth then
# went out apart and could come after its connection's record, unclaimed.
# (A tw sock born unseen may also die unseen before the kill: then it is
# not among the TW, though among the BLIND.)
sf_check "$T/tw/early/all" "$TW_RECS time_wait records for $TW tw socks ($BLIND born unseen)" \
	[ $((TW_RECS >= TW - BLIND && TW_RECS <= TW)) = 1 ]
# Before FINs waited for their spilled records by cookie, as ends do, 4,000
# to 5,000 of ~25,000 records per burst lacked the peer's FIN (pushed out of
# 1,024 slots).
fins_check early

tw_burst tw-overflow --spill 2000
# A tw sock born unseen makes no record, but its end may be among the
# lost ones: the loss counter cannot tell whose records it lost.
sf_check "$T/tw/overflow/adds-up" \
	"$TW_RECS received + $LOST_TW lost tw_end records, for $TW tw socks ($BLIND born unseen)" \
	[ $((LOST_TW > 0 && TW_RECS + LOST_TW >= TW - BLIND && TW_RECS + LOST_TW <= TW)) = 1 ]
sf_done
