#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A listener's half-open count is its request socks. A Fast Open child is
# a full socket born in SYN_RECV and queued for accept() at once; until
# accepted it has no inode, like a request sock, and sock_diag reports it
# in SYN_RECV too. It belongs to the accept queue, where the listener's
# accept_queue already counts it; the old build counted it half-open as
# well.
#
# The server accepts one connection (its client fetches the Fast Open
# cookie), then holds the listener without accepting. Its replies to the
# client are then lost: a permanent neighbour entry sends them to a MAC
# nobody has, which the client's veth drops as another host's. A second
# client's Fast Open SYN makes the child (its SYN-ACK lost, it stays in
# SYN_RECV), a third's plain SYN a request sock. ss must show both in
# SYN-RECV and one socket in the accept queue; `synfin top -j` must count
# accept_queue 1 and half_open 1. Fast Open is on in the two namespaces
# only.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=census_fast_open
PORT=5751
sf_setup_ns "$T"
command -v ss >/dev/null || { sf_skip "$T" "ss not installed"; sf_done; }
sf_fast_open_on "$T"

sf_bg "$SF_TMP/srv" "$SF_NS_S" "$TCPDRIVE" server --bind "$SF_S4" --port "$PORT" --accept 1 \
	--fastopen --wait-eof --hold-listener-file "$SF_TMP/release" \
	--ready-file "$SF_TMP/srv.ready" --timeout-ms 30000
sf_wait_file "$SF_TMP/srv.ready" || { sf_fail "$T" "server did not listen"; sf_done; }
sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$PORT" --fastopen \
	--send 100 --close-first --timeout-ms 10000 >"$SF_TMP/cli1" 2>&1 ||
	{ sf_fail "$T" "first client: $(tail -n 2 "$SF_TMP/cli1" | tr '\n' ' ')"; sf_done; }

ip -n "$SF_NS_S" neigh replace "$SF_C4" lladdr 02:00:00:00:21:99 dev vs nud permanent ||
	{ sf_fail "$T" "cannot add the neighbour entry"; sf_done; }
sf_bg "$SF_TMP/cli2" "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$PORT" \
	--fastopen --send 100 --close-first --timeout-ms 20000
sf_bg "$SF_TMP/cli3" "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$PORT" \
	--send 100 --close-first --timeout-ms 20000

syn_recv=0 queued=
for _ in $(seq 50); do
	syn_recv=$(sf_ss_count "$SF_NS_S" syn-recv "( sport = :$PORT )")
	queued=$(ip netns exec "$SF_NS_S" ss -Hltn "sport = :$PORT" 2>/dev/null | awk '{ print $2; exit }')
	[ "$syn_recv" = 2 ] && [ "$queued" = 1 ] && break
	sleep 0.1
done
echo "  ss, server namespace: $syn_recv in SYN-RECV, $queued in the accept queue"
if [ "$syn_recv" != 2 ] || [ "$queued" != 1 ]; then
	sf_fail "$T/setup" "want 2 in SYN-RECV and 1 queued (a Fast Open child): $(ip netns exec "$SF_NS_S" ss -tan 2>&1 | tr -s ' ' | tr '\n' ';')"
	sf_done
fi
sf_pass "$T/setup"

timeout -k 2 20 "$SYNFIN" top -j -d 3 --netns "$SF_NETNS_S" >"$SF_TMP/top.out" \
	2>"$SF_TMP/top.err" </dev/null
rc=$?
sf_check "$T/exit" "synfin top exited $rc: $(tail -c 300 "$SF_TMP/top.err")" [ "$rc" = 0 ]
rec=$(jq -c 'select(.type == "stats")' "$SF_TMP/top.out" 2>/dev/null | tail -n 1)
echo "  listener: $(jq -c --argjson p "$PORT" '[.listeners[] | select(.port == $p)
	| {accept_queue, half_open}]' <<<"$rec" 2>&1)"
SF_JQ_ARGS=(--argjson p "$PORT")
sf_expect "$T/counts" "$rec" '[.listeners[] | select(.port == $p)] | length == 1' \
	'[.listeners[] | select(.port == $p) | .accept_queue] == [1]' \
	'[.listeners[] | select(.port == $p) | .half_open] == [1]'
SF_JQ_ARGS=()
touch "$SF_TMP/release"
sf_done
