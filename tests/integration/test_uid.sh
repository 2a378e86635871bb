#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The socket's uid: every record names it ("uid", sk_uid: the user that
# made the socket, or for a server's socket the user that made its
# listener), and -u keeps only that user's sockets, in the kernel, by
# number or by name, with tp_btf, classic tracepoints and --events. A
# server run as root serves two clients: A as nobody (65534), B as root.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=uid
sf_setup_ns "$T"
command -v setpriv >/dev/null || { sf_skip "$T" "setpriv not installed"; sf_done; }
NOBODY=65534
NOBODY_NAME=$(id -nu "$NOBODY" 2>/dev/null) ||
	{ sf_skip "$T" "no user with uid $NOBODY"; sf_done; }

sf_start_as allc --netns "$SF_NETNS_C"
sf_start_as alls --netns "$SF_NETNS_S"
sf_start_as byname -u "$NOBODY_NAME"
sf_start_as classic --classic --uid "$NOBODY"
sf_start_as root -u 0 --netns "$SF_NETNS_C"
sf_start_as events --events -u "$NOBODY" --netns "$SF_NETNS_C"

sf_bg "$SF_TMP/srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port 5401 --accept 2 \
	--wait-eof --send 300 --comm sfuidsrv --ready-file "$SF_TMP/srv.ready" --timeout-ms 20000
SRV=$SF_LAST_PID
sf_wait_file "$SF_TMP/srv.ready" || { sf_fail "$T" "server did not listen"; sf_done; }
client()
{
	local name=$1; shift
	sf_in "$SF_NS_C" "$@" "$TCPDRIVE" client --connect "$SF_S4" --port 5401 --send 100 \
		--recv 300 --close-first --comm "$name" --timeout-ms 20000 \
		>"$SF_TMP/$name" 2>"$SF_TMP/$name.err"
	[ "$(sf_field "$SF_TMP/$name" result)" = connected ] ||
		{ sf_fail "$T" "client $name: $(cat "$SF_TMP/$name" "$SF_TMP/$name.err")"; sf_done; }
}
client sfuidA setpriv --reuid="$NOBODY" --regid="$NOBODY" --clear-groups
client sfuidB
sf_wait_pid "$SRV" 15 || { sf_fail "$T" "server: $(cat "$SF_TMP/srv" "$SF_TMP/srv.err")"; sf_done; }
PA=$(sf_field "$SF_TMP/sfuidA" lport)
PB=$(sf_field "$SF_TMP/sfuidB" lport)

C=$SF_NETNS_C
S=$SF_NETNS_S
# keys FILE...: "netns lport rport role uid" of our conn records, sorted
keys()
{
	jq -r --argjson c "$C" --argjson s "$S" \
		'select(.type == "conn" and (.netns == $c or .netns == $s)) |
		 "\(.netns) \(.lport) \(.rport) \(.role) \(.uid)"' "$@" 2>/dev/null | sort
}
# expect NAME WANT FILE...: the keys of FILEs are exactly WANT's lines
expect()
{
	local name=$1 want got
	want=$(sort <<<"$2")
	shift 2
	got=$(keys "$@")
	if [ "$got" = "$want" ]; then
		sf_pass "$T/$name"
	else
		sf_fail "$T/$name" "want [$(sf_oneline "$want")], got [$(sf_oneline "$got")]"
	fi
}

A_CLI="$C $PA 5401 client $NOBODY"
A_SRV="$S 5401 $PA server 0"
B_CLI="$C $PB 5401 client 0"
B_SRV="$S 5401 $PB server 0"
sf_wait_count 4 keys "$SF_TMP/allc.out" "$SF_TMP/alls.out"
for name in byname classic root; do
	sf_wait_count 1 keys "$SF_TMP/$name.out"
done
sleep 0.3
for name in allc alls byname classic root events; do
	sf_synfin_stop_as "$name" || sf_fail "$T/$name/stop" "synfin did not exit 0 on SIGINT"
done

# unfiltered: each end its uid (a server's socket is its listener's user's)
expect unfiltered "$(printf '%s\n' "$A_CLI" "$A_SRV" "$B_CLI" "$B_SRV")" \
	"$SF_TMP/allc.out" "$SF_TMP/alls.out"
expect byname "$A_CLI" "$SF_TMP/byname.out"
expect classic "$A_CLI" "$SF_TMP/classic.out"
expect root "$B_CLI" "$SF_TMP/root.out"
# host-wide instances: nothing of another user got through
for name in byname classic; do
	other=$(jq -c --argjson u "$NOBODY" 'select(.type == "conn" and .uid != $u)' \
		"$SF_TMP/$name.out" 2>/dev/null)
	sf_check "$T/$name/only_uid" "records of another uid: $other" [ -z "$other" ]
done
# --events: client A's transitions, each naming its uid, and no other's
ev_a=$(jq -c --argjson p "$PA" 'select(.type == "state" and .lport == $p)' \
	"$SF_TMP/events.out" 2>/dev/null | grep -c .)
sf_check "$T/events/transitions" "$ev_a state records of client A, want >= 4" [ "$ev_a" -ge 4 ]
other=$(jq -c --argjson u "$NOBODY" 'select(.uid != $u)' "$SF_TMP/events.out" 2>/dev/null)
sf_check "$T/events/only_uid" "records of another uid: $other" [ -z "$other" ]
sf_done
