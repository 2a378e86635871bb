#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A network namespace no name holds (no /run/netns entry: a container's) is
# entered through a process in it. When the one that named it has exited
# by the time the walk comes to it (a short-lived exec beside the
# container's init), the walk goes in through another process kept for it,
# and the connections open there before synfin started are still seeded.
# SYNFIN_TEST_NS_PIDS_GONE=N makes the first N processes kept count as
# gone. The namespace here has three processes (a sleep that made it, a
# server, a client holding a connection): with N=1 both ends are seeded;
# with N=9, none left to enter through, the walk misses the namespace and
# the ends come out unseeded (the control: the count is what decides).
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=seed_netns_gone
ADDR=127.0.0.1

# one_case GONE WANT: a fresh unnamed namespace and connection, synfin
# started with SYNFIN_TEST_NS_PIDS_GONE=GONE; both ends' seeded must be WANT
one_case()
{
	local gone=$1 want=$2 t=$T/gone$1 holder ns srv cli port=5031 cport
	rm -f "$SF_TMP"/srv* "$SF_TMP"/cli* "$SF_TMP/release"
	unshare --net -- sleep 60 &
	holder=$!
	SF_PIDS+=("$holder")
	# bounded: the sleep is in its own namespace once its ns file differs
	for _ in $(seq 100); do
		[ "$(readlink "/proc/$holder/ns/net" 2>/dev/null)" != "$(readlink /proc/self/ns/net)" ] &&
			break
		sleep 0.05
	done
	ns=$(stat -L -c %i "/proc/$holder/ns/net" 2>/dev/null)
	if [ -z "$ns" ] || [ "$ns" = "$(stat -L -c %i /proc/self/ns/net)" ]; then
		sf_fail "$t/setup" "no namespace of its own for the holder"
		return
	fi
	nsenter --net="/proc/$holder/ns/net" ip link set lo up
	nsenter --net="/proc/$holder/ns/net" "$TCPDRIVE" server --bind "$ADDR" --port "$port" \
		--accept 1 --wait-eof --comm sfgsrv --ready-file "$SF_TMP/srv.ready" \
		--timeout-ms 30000 >"$SF_TMP/srv" 2>"$SF_TMP/srv.err" &
	srv=$!
	SF_PIDS+=("$srv")
	sf_wait_file "$SF_TMP/srv.ready" || { sf_fail "$t/setup" "server did not listen"; return; }
	nsenter --net="/proc/$holder/ns/net" "$TCPDRIVE" client --connect "$ADDR" --port "$port" \
		--send 100 --close-first --comm sfgcli --ready-file "$SF_TMP/cli.ready" \
		--hold-until-file "$SF_TMP/release" --timeout-ms 30000 >"$SF_TMP/cli" 2>"$SF_TMP/cli.err" &
	cli=$!
	SF_PIDS+=("$cli")
	sf_wait_file "$SF_TMP/cli.ready" || { sf_fail "$t/setup" "client did not connect"; return; }
	# the walk keeps the namespace's processes in /proc's order: the
	# sleep first, unless pids wrapped between it and the others
	echo "  namespace $ns (no name) held by $holder, server $srv, client $cli"

	SYNFIN_TEST_NS_PIDS_GONE=$gone sf_synfin_start --no-alerts ||
		{ sf_fail "$t/start" "synfin did not start"; return; }
	touch "$SF_TMP/release"
	sf_wait_pid "$cli" 10
	sf_wait_pid "$srv" 10
	sf_client_lport cport "$SF_TMP/cli" "$t"
	sf_wait_records 5 "$ns $ADDR $cport $ADDR $port" "$ns $ADDR $port $ADDR $cport"
	sf_synfin_stop || sf_fail "$t/stop" "synfin did not exit 0 on SIGINT"
	sf_expect "$t/client" "$(sf_records "$ns" "$ADDR" "$cport" "$ADDR" "$port")" ".seeded == $want"
	sf_expect "$t/server" "$(sf_records "$ns" "$ADDR" "$port" "$ADDR" "$cport")" ".seeded == $want"
	kill -KILL "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
}

one_case 1 true
one_case 9 false
sf_done
