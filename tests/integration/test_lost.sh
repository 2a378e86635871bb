#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Deliberate overload: a stopped synfin with a 1 MiB ring buffer and N
# connections' worth of events. Every record the full ring cost is counted,
# reported in-band as a "lost" record and on stderr by kind, and the
# records received plus the records lost add up to exactly what happened
# (less the transitions run where no BPF program runs, which ftrace names:
# sf_witness_start).
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=lost
# Each client connection makes exactly 5 transitions (client closes first,
# the server answers with its own FIN): CLOSE->SYN-SENT, SYN-SENT->ESTAB,
# ESTAB->FIN-WAIT-1, FIN-WAIT-1->FIN-WAIT-2, FIN-WAIT-2->CLOSE (the full
# socket leaves for a timewait sock, which makes no transition of its own).
# 1 MiB holds under 6000 records, so 5 * 2000 = 10000 must overflow it.
N=2000
PER_CONN=5

sf_setup_ns "$T"
# only the client namespace: nothing else on the host can add to the counts
sf_start "$T" --events --ringbuf-mb 1 --netns "$SF_NETNS_C"

# The client reads the server's byte before it closes, so at most one
# connection waits in the accept queue: no SYN is ever dropped or retried.
sf_bg "$SF_TMP/srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port 5301 --accept "$N" \
	--wait-eof --send 1 --ready-file "$SF_TMP/srv.ready" --timeout-ms 40000
SRV=$SF_LAST_PID
sf_wait_file "$SF_TMP/srv.ready" || { sf_fail "$T" "server did not listen"; sf_done; }

# stopped, synfin cannot drain: the ring fills up and then overflows
sf_witness_start 5301 5301 all
kill -STOP "$SF_SYNFIN_PID"
sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port 5301 --recv 1 --close-first \
	--repeat "$N" --timeout-ms 40000 >"$SF_TMP/cli" 2>"$SF_TMP/cli.err"
sf_wait_pid "$SRV" 20 || { kill -CONT "$SF_SYNFIN_PID"; sf_fail "$T" "server: $(tail -n 2 "$SF_TMP/srv" "$SF_TMP/srv.err")"; sf_done; }
if [ "$(sf_field "$SF_TMP/cli" connected)" != "$N" ]; then
	kill -CONT "$SF_SYNFIN_PID"
	sf_fail "$T" "client: $(tail -n 2 "$SF_TMP/cli" "$SF_TMP/cli.err")"
	sf_done
fi
# every client socket gone (timewait socks aside), so all N * 5
# transitions have happened before synfin may drain
sf_wait_closed "$SF_NS_C"
sf_witness_stop burst
# the client's transitions (to port 5301) no BPF program saw; of them ->CLOSE
BLIND=$(awk '$2 == 5301' "$SF_TMP/burst.blind" | grep -c .)
BLIND_CLOSE=$(awk '$2 == 5301 && $3 == "TCP_CLOSE"' "$SF_TMP/burst.blind" | grep -c .)
[ "$BLIND" = 0 ] || echo "  $BLIND client transitions ($BLIND_CLOSE ->CLOSE) ran in softirq on" \
	"PID 1's threads, where no BPF program runs: not counted"
kill -CONT "$SF_SYNFIN_PID"
sleep 1.2	# a drain and at least one in-band loss report (once a second)
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"

# (d) every line of stdout is one JSON object
sf_check "$T/json-lines" "stdout has a line that is not a JSON object" sf_json_lines "$SF_OUT"

extra=$(jq -c --argjson c "$SF_NETNS_C" 'select(.type != "lost" and .netns != $c)' "$SF_OUT" | head -n 3)
sf_check "$T/netns-only" "records from another namespace: $extra" [ -z "$extra" ]

# (a) in-band: at least one ringbuf_full record; their counts add up to the
# last total, which is the kernel's counter in the stderr summary
read -r nlost sum last < <(jq -s -r '[.[] | select(.type == "lost" and .reason == "ringbuf_full")] |
	"\(length) \(map(.count) | add // 0) \(last.total // 0)"' "$SF_OUT")
total=$(sf_summary "$SF_ERR" ringbuf_full)
if [ "$nlost" -ge 1 ] && [ "$sum" = "$last" ] && [ "$last" = "$total" ] && [ "$total" -gt 0 ]; then
	sf_pass "$T/in-band"
else
	sf_fail "$T/in-band" "ringbuf_full records: $nlost, counts sum $sum, last total $last, summary ringbuf_full='$total'"
fi

# (b) the summary by kind, and its kinds add up to the total
S=$(sf_summary_kind "$SF_ERR" state)
D=$(sf_summary_kind "$SF_ERR" destroy)
kinds=$(grep '^synfin: ringbuf_full by kind:' "$SF_ERR" | tail -n 1)
ksum=$(( $(grep -o '=[0-9]*' <<<"$kinds" | tr -d = | paste -sd+ -) + 0 ))
if [ -n "$S" ] && [ -n "$D" ] && [ "$ksum" = "$total" ]; then
	sf_pass "$T/by-kind"
else
	sf_fail "$T/by-kind" "want 'ringbuf_full by kind: state=S ... destroy=D' adding up to $total; got '$kinds'"
fi

# (c) state records received + state records lost = N * 5, exactly: every
# transition in the client namespace is either on the ring or counted as
# lost under its kind. A "destroy" record (type state, "destroy":true)
# stands in for a ->CLOSE that was lost; it is not a transition, so it is
# left out here and checked on its own below.
# A transition the kernel skipped (a recursion miss: it landed while the
# program ran on that CPU) is counted as recursion_miss, not under a kind:
# the sum may fall short of N * 5 by at most those.
got=$(jq -r 'select(.type == "state" and (.destroy | not)) | .new_state' "$SF_OUT" | grep -c .)
want=$((N * PER_CONN - BLIND))
R=$(sf_summary "$SF_ERR" recursion_miss)
if [ -n "$S" ] && [ "$S" -gt 0 ] && [ -n "$R" ] && [ $((got + S)) -le "$want" ] &&
	[ $((got + S + R)) -ge "$want" ]; then
	sf_pass "$T/state-adds-up"
else
	sf_fail "$T/state-adds-up" "state records $got + lost state '${S:-?}' (+ recursion misses '${R:-?}') != $N * $PER_CONN - $BLIND unseen = $want"
fi

# A socket whose ->CLOSE record was lost gets a destroy record instead
# (tcp_destroy_sock, right after): received or itself counted as lost, it
# accounts for each lost ->CLOSE exactly once.
closes=$(jq -r 'select(.type == "state" and (.destroy | not) and .new_state == "CLOSE")' "$SF_OUT" | grep -c '^{')
destroys=$(jq -r 'select(.type == "state" and .destroy == true)' "$SF_OUT" | grep -c '^{')
# (A ->CLOSE no BPF program saw has no destroy record either: the socket
# is destroyed in the same softirq.)
if [ -n "$D" ] && [ $((destroys + D)) = $((N - closes - BLIND_CLOSE)) ]; then
	sf_pass "$T/destroy-adds-up"
else
	sf_fail "$T/destroy-adds-up" "destroy records $destroys + lost destroy '${D:-?}' != $N - $closes ->CLOSE records received - $BLIND_CLOSE unseen"
fi

# and whatever made it onto the ring was printed: the kernel's count of
# records submitted equals the records on stdout (lost reports aside)
emitted=$(sf_summary "$SF_ERR" events)
printed=$(jq -r 'select(.type != "lost") | .type' "$SF_OUT" | grep -c .)
sf_check "$T/ring-all-printed" "kernel submitted '$emitted' records, $printed printed" \
	[ "$emitted" = "$printed" ]
sf_done
