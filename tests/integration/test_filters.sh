#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# In-kernel filters: -L, -D, -4, -6, --laddr and --raddr (hosts and
# prefixes of both families, tp_btf and classic), --netns (path and inode),
# -p, -c and --cgroup (path and id; a cgroup and those below it, tp_btf and
# classic) each select exactly the right ends of three connections, and with
# --events the kernel emits only the selected events.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=filters
sf_setup_ns "$T"
CG_CHILD=
if ! sf_cgroup_new; then
	sf_skip "$T/cgroup" "no writable cgroup v2 mount"
	SF_CGROUP=
else
	# server B's cgroup, below server A's
	sf_cgroup_child child || { sf_fail "$T/cgroup" "cannot make $SF_CGROUP_CHILD"; sf_done; }
	CG_CHILD=$SF_CGROUP_CHILD
	CG_CHILD_ID=$SF_CGROUP_CHILD_ID
fi

# Three connections, client ns -> server ns, so every filter has something
# to keep and something to drop that differs from it in one dimension:
#   A: IPv4 to port 5101 (server A, in its own cgroup when there is one)
#   B: IPv4 to port 5102 (server B, in a cgroup below A's)
#   C: IPv6 to port 5102 (server C)
#
# Every synfin instance is started before the traffic, most of them before
# the servers too; only -p has to wait for server A's pid.
sf_start_as lport -L 5101
sf_start_as rport -D 5101
sf_start_as ipv4 -4
sf_start_as ipv6 -6
sf_start_as nspath --netns "/run/netns/$SF_NS_S"
sf_start_as nsinode --netns "$SF_NETNS_C"
sf_start_as events --events --netns "$SF_NETNS_S" -L 5101
sf_start_as raddr4 --raddr "$SF_S4"
sf_start_as raddr4classic --classic --raddr "$SF_S4"
sf_start_as laddrboth --laddr "$SF_S4,$SF_S6"
sf_start_as raddr6pfx --raddr fd00:213::/64
sf_start_as laddrport --laddr "$SF_C4" -D 5102
sf_start_as addrevents --events --raddr "$SF_C4/32" -L 5101
sf_start_as comm -c sfsrvB
sf_start_as commclassic --classic --comm sfcliC
if [ -n "$SF_CGROUP" ]; then
	sf_start_as cgpath --cgroup "$SF_CGROUP"
	sf_start_as cgid --cgroup "$SF_CGROUP_ID"
	sf_start_as cgclassic --classic --cgroup "$SF_CGROUP"
	sf_start_as cgchild --cgroup "$CG_CHILD"
fi

SRV_ARGS=(--accept 1 --wait-eof --send 300 --timeout-ms 20000)
# (each in no cgroup of ours when there is none)
sf_bg_cgroup "$SF_TMP/srvA" "$SF_NS_S" "$SF_CGROUP" "$TCPDRIVE" server --bind "$SF_S4" \
	--port 5101 "${SRV_ARGS[@]}" --comm sfsrvA --ready-file "$SF_TMP/srvA.ready"
SRVA=$SF_LAST_PID
sf_bg_cgroup "$SF_TMP/srvB" "$SF_NS_S" "$CG_CHILD" "$TCPDRIVE" server --bind "$SF_S4" \
	--port 5102 "${SRV_ARGS[@]}" --comm sfsrvB --ready-file "$SF_TMP/srvB.ready"
SRVB=$SF_LAST_PID
sf_bg "$SF_TMP/srvC" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S6" --port 5102 \
	"${SRV_ARGS[@]}" --comm sfsrvC --ready-file "$SF_TMP/srvC.ready"
SRVC=$SF_LAST_PID
for s in A B C; do
	sf_wait_file "$SF_TMP/srv$s.ready" || { sf_fail "$T" "server $s did not listen"; sf_done; }
done
# the socket owner the kernel compares -p with: the listener's process
sf_start_as pid -p "$SRVA"

client()
{
	sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$1" --port "$2" --send 100 --recv 300 \
		--close-first --comm "$3" --timeout-ms 20000 >"$SF_TMP/$3" 2>"$SF_TMP/$3.err"
	[ "$(sf_field "$SF_TMP/$3" result)" = connected ] ||
		{ sf_fail "$T" "client $3: $(cat "$SF_TMP/$3" "$SF_TMP/$3.err")"; sf_done; }
}
client "$SF_S4" 5101 sfcliA
client "$SF_S4" 5102 sfcliB
client "$SF_S6" 5102 sfcliC
for p in "$SRVA" "$SRVB" "$SRVC"; do
	sf_wait_pid "$p" 15 || { sf_fail "$T" "a server failed: $(cat "$SF_TMP"/srv?{,.err})"; sf_done; }
done
PA=$(sf_field "$SF_TMP/sfcliA" lport)
PB=$(sf_field "$SF_TMP/sfcliB" lport)
PC=$(sf_field "$SF_TMP/sfcliC" lport)
SPID_A=$(sf_field "$SF_TMP/srvA" pid)

# One key per connection end: netns family lport rport role
C=$SF_NETNS_C
S=$SF_NETNS_S
A_CLI="$C ipv4 $PA 5101 client"
A_SRV="$S ipv4 5101 $PA server"
B_CLI="$C ipv4 $PB 5102 client"
B_SRV="$S ipv4 5102 $PB server"
C_CLI="$C ipv6 $PC 5102 client"
C_SRV="$S ipv6 5102 $PC server"

# keys NAME: the conn records of instance NAME in our two namespaces, sorted
keys()
{
	jq -r --argjson c "$C" --argjson s "$S" \
		'select(.type == "conn" and (.netns == $c or .netns == $s)) |
		 "\(.netns) \(.family) \(.lport) \(.rport) \(.role)"' \
		"$SF_TMP/$1.out" 2>/dev/null | sort
}

# Each instance: its expected ends, and a jq predicate every conn record it
# printed must satisfy (the filters are host-wide, so other traffic that
# got through would show up here too).
declare -A WANT PRED
WANT[lport]="$A_SRV"
PRED[lport]='.lport == 5101'
WANT[rport]="$A_CLI"
PRED[rport]='.rport == 5101'
WANT[ipv4]="$A_CLI|$A_SRV|$B_CLI|$B_SRV"
PRED[ipv4]='.family == "ipv4"'
WANT[ipv6]="$C_CLI|$C_SRV"
PRED[ipv6]='.family == "ipv6"'
WANT[nspath]="$A_SRV|$B_SRV|$C_SRV"
PRED[nspath]=".netns == $S"
WANT[nsinode]="$A_CLI|$B_CLI|$C_CLI"
PRED[nsinode]=".netns == $C"
WANT[pid]="$A_SRV"
PRED[pid]=".pid == $SPID_A and .comm == \"sfsrvA\""
WANT[raddr4]="$A_CLI|$B_CLI"
PRED[raddr4]=".raddr == \"$SF_S4\""
WANT[raddr4classic]="$A_CLI|$B_CLI"
PRED[raddr4classic]=".raddr == \"$SF_S4\""
WANT[laddrboth]="$A_SRV|$B_SRV|$C_SRV"
PRED[laddrboth]=".laddr == \"$SF_S4\" or .laddr == \"$SF_S6\""
WANT[raddr6pfx]="$C_CLI|$C_SRV"
PRED[raddr6pfx]='.raddr | startswith("fd00:213::")'
WANT[laddrport]="$B_CLI"
PRED[laddrport]=".laddr == \"$SF_C4\" and .rport == 5102"
WANT[comm]="$B_SRV"
PRED[comm]='.comm == "sfsrvB"'
WANT[commclassic]="$C_CLI"
PRED[commclassic]='.comm == "sfcliC"'
NAMES=(lport rport ipv4 ipv6 nspath nsinode pid raddr4 raddr4classic laddrboth raddr6pfx laddrport
	comm commclassic)
if [ -n "$SF_CGROUP" ]; then
	for n in cgpath cgid cgclassic; do
		WANT[$n]="$A_SRV|$B_SRV"
		PRED[$n]=".cgroup_id == $SF_CGROUP_ID or .cgroup_id == $CG_CHILD_ID"
	done
	WANT[cgchild]="$B_SRV"
	PRED[cgchild]=".cgroup_id == $CG_CHILD_ID"
	NAMES+=(cgpath cgid cgclassic cgchild)
fi

for n in "${NAMES[@]}"; do
	sf_wait_count "$(tr '|' '\n' <<<"${WANT[$n]}" | grep -c .)" keys "$n"
done
for n in "${NAMES[@]}" events addrevents; do
	sf_synfin_stop_as "$n" || sf_fail "$T/$n/stop" "synfin did not exit 0 on SIGINT"
done

# Instances whose filter selects only this test's sockets must end with an
# empty table: a socket whose first event passed and whose later ones did
# not (a client's port-0 SYN-SENT under -L, an owner learned late under -p)
# would otherwise stay in it for good. -4/-6 see the whole host.
for n in "${NAMES[@]}"; do
	case $n in ipv4 | ipv6) continue ;; esac
	open=$(sed -n 's/.*; \([0-9]*\) connections still open.*/\1/p' "$SF_TMP/$n.err" | tail -n 1)
	if [ "$open" = 0 ]; then
		sf_pass "$T/$n/table-drained"
	else
		sf_fail "$T/$n/table-drained" "${open:-no summary} connections still open at exit"
	fi
done

for n in "${NAMES[@]}"; do
	want=$(tr '|' '\n' <<<"${WANT[$n]}" | sort)
	got=$(keys "$n")
	if [ "$got" = "$want" ]; then
		sf_pass "$T/$n/selects"
	else
		sf_fail "$T/$n/selects" "want [$(tr '\n' ';' <<<"$want")] got [$(tr '\n' ';' <<<"$got")]"
	fi
	extra=$(jq -c "select(.type == \"conn\" and (${PRED[$n]} | not))" "$SF_TMP/$n.out" 2>&1 | head -n 3)
	if [ -z "$extra" ]; then
		sf_pass "$T/$n/nothing-else"
	else
		sf_fail "$T/$n/nothing-else" "records outside the filter: $extra"
	fi
done

# -c in the kernel, not only at the report: the other ends' transitions
# (of A and C both ends, of B the client: at least 4 each) were dropped
# there, so the kernel counted at least 20 filtered
for n in comm commclassic; do
	filtered=$(sf_summary "$SF_TMP/$n.err" filtered)
	sf_check "$T/$n/in-kernel" "filtered in the kernel: '$filtered', want >= 20" \
		[ "${filtered:-0}" -ge 20 ]
done

# In the kernel, not in user space: --events --netns <server ns> -L 5101
# leaves exactly the server side of port 5101, and the kernel's count of
# records it put on the ring equals what was printed. Server A's sockets make
# exactly 7 transitions:
#   listener: CLOSE->LISTEN (listen()), and LISTEN->CLOSE (close at exit)
#   child:    LISTEN->SYN-RECV (cloned on the SYN), SYN-RECV->ESTAB (final
#             ACK), ESTAB->CLOSE-WAIT (client's FIN), CLOSE-WAIT->LAST-ACK
#             (server's close()), LAST-ACK->CLOSE (client's ACK of our FIN)
# The passive closer never enters TIME-WAIT, and servers B and C, the
# clients (another netns) and the rest of the host are dropped in the
# kernel, so they add to "filtered" and never to "events".
EV=$SF_TMP/events.out
want_tr=$(printf '%s\n' CLOSE-LISTEN LISTEN-SYN-RECV SYN-RECV-ESTAB ESTAB-CLOSE-WAIT \
	CLOSE-WAIT-LAST-ACK LAST-ACK-CLOSE LISTEN-CLOSE | sort)
got_tr=$(jq -r 'select(.type == "state") | "\(.old_state)-\(.new_state)"' "$EV" | sort)
nstate=$(jq -r 'select(.type == "state")' "$EV" | grep -c '^{')
nall=$(grep -c . "$EV")
emitted=$(sf_summary "$SF_TMP/events.err" events)
filtered=$(sf_summary "$SF_TMP/events.err" filtered)
if [ "$got_tr" = "$want_tr" ]; then
	sf_pass "$T/events/transitions"
else
	sf_fail "$T/events/transitions" "want [$(tr '\n' ' ' <<<"$want_tr")] got [$(tr '\n' ' ' <<<"$got_tr")]"
fi
extra=$(jq -c --argjson s "$S" 'select(.netns != $s or .lport != 5101)' "$EV" | head -n 3)
sf_check "$T/events/only-5101" "records outside the filter: $extra" [ -z "$extra" ]
if [ "$nstate" = 7 ] && [ "$nall" = 7 ] && [ "$emitted" = 7 ]; then
	sf_pass "$T/events/in-kernel"
else
	sf_fail "$T/events/in-kernel" "want 7 state records, 7 lines, 7 events emitted by the kernel; got $nstate, $nall, '$emitted' ($(grep events "$SF_TMP/events.err"))"
fi
sf_check "$T/events/filtered" "the kernel filtered nothing ('$filtered')" \
	[ "${filtered:-0}" -gt 0 ]

# The address filters in the kernel: --events --raddr <client> -L 5101
# leaves server A's child, and nothing of its listener, whose remote
# address is none (undecided: it keeps its storage, so the child still
# inherits its owner, and emits nothing). Kernels before about 6.x give the
# child the peer's address only after its birth (LISTEN->SYN-RECV), which
# is then undecided too, and its later transitions carry the story; the
# kernels that address it first (6.18 here) emit the birth as well.
EV=$SF_TMP/addrevents.out
want_tr=$(printf '%s\n' LISTEN-SYN-RECV SYN-RECV-ESTAB ESTAB-CLOSE-WAIT CLOSE-WAIT-LAST-ACK \
	LAST-ACK-CLOSE | sort)
late_tr=$(grep -v LISTEN-SYN-RECV <<<"$want_tr")
got_tr=$(jq -r 'select(.type == "state") | "\(.old_state)-\(.new_state)"' "$EV" | sort)
nall=$(grep -c . "$EV")
emitted=$(sf_summary "$SF_TMP/addrevents.err" events)
if { [ "$got_tr" = "$want_tr" ] && [ "$nall" = 5 ] && [ "$emitted" = 5 ]; } ||
	{ [ "$got_tr" = "$late_tr" ] && [ "$nall" = 4 ] && [ "$emitted" = 4 ]; }; then
	sf_pass "$T/addrevents/in-kernel"
	[ "$nall" = 4 ] && echo "  the child's birth was undecided: this kernel addresses it later"
else
	sf_fail "$T/addrevents/in-kernel" "want [$(tr '\n' ' ' <<<"$want_tr")], 5 lines, 5 emitted (or without the birth, 4); got [$(tr '\n' ' ' <<<"$got_tr")], $nall, '$emitted'"
fi
extra=$(jq -c --arg c "$SF_C4" --argjson s "$S" \
	'select(.netns != $s or .lport != 5101 or .raddr != $c or .pid != '"$SPID_A"')' "$EV" | head -n 3)
sf_check "$T/addrevents/only-selected" "records outside the filter: $extra" [ -z "$extra" ]

# --cgroup with an id no cgroup has (a typo) is said at the start, as an
# unknown --netns number is, not left to look like a quiet host; one that
# exists is not
if [ -n "$SF_CGROUP" ]; then
	for id in 18446744073709551615 "$SF_CGROUP_ID"; do
		timeout -k 2 15 "$SYNFIN" --cgroup "$id" -d 1 -j >/dev/null 2>"$SF_TMP/cg$id.err"
		echo "  --cgroup $id: exit $?, $(grep -c 'no cgroup under' "$SF_TMP/cg$id.err") warning"
	done
	sf_check "$T/cgid/unknown" "no warning for an id no cgroup has: $(head -n 2 "$SF_TMP/cg18446744073709551615.err")" \
		grep -q '^synfin: --cgroup 18446744073709551615: no cgroup under ' \
		"$SF_TMP/cg18446744073709551615.err"
	sf_check "$T/cgid/known" "a warning for this test's own cgroup: $(head -n 2 "$SF_TMP/cg$SF_CGROUP_ID.err")" \
		sh -c "! grep -q 'no cgroup under' '$SF_TMP/cg$SF_CGROUP_ID.err'"
fi
sf_done
