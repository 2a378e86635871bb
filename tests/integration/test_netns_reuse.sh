#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# --netns on a namespace that goes away while synfin runs. The kernel hands
# a freed namespace's inode number to the next namespace made (the lowest
# free one first), so a filter on the number alone slid onto a newcomer and
# showed another tenant's connections. Given as a path, or as a number
# that names a namespace at the start, --netns pins the namespace's
# cookie too, which is never reused:
# - a connection in the watched namespace is recorded (the filter works);
# - the namespace is deleted and a new one made that has its inode number
#   (tried a few times, as something else on the host may take the number);
# - a connection in the newcomer is not recorded, by the kernel side, nor
#   does the newcomer's listener show in `top -j`'s rows.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=netns_reuse
PORT=5540
sf_require "$T"
OLD="${SF_PREFIX}o"
NEW="${SF_PREFIX}n"

# loopback_conn NS COMM: one connection over the namespace's loopback
loopback_conn()
{
	local ns=$1 comm=$2
	# a second attempt must not find the first one's files: it would
	# connect before its server listens, and release it at once
	rm -f "$SF_TMP/srv.$comm.ready" "$SF_TMP/release.$comm"
	sf_bg "$SF_TMP/srv.$comm" "$ns" "$TCPDRIVE" server --bind 127.0.0.1 --port "$PORT" \
		--accept 1 --wait-eof --comm "$comm" --ready-file "$SF_TMP/srv.$comm.ready" \
		--hold-listener-file "$SF_TMP/release.$comm" --timeout-ms 20000
	sf_wait_file "$SF_TMP/srv.$comm.ready" || return 1
	sf_in "$ns" "$TCPDRIVE" client --connect 127.0.0.1 --port "$PORT" --close-first \
		--comm "$comm" --timeout-ms 10000 >"$SF_TMP/cli.$comm" 2>&1
}

reused=
for attempt in 1 2 3 4 5; do
	ip netns add "$OLD" || { sf_fail "$T" "cannot add a namespace"; sf_done; }
	SF_NSES+=("$OLD")
	ip -n "$OLD" link set lo up
	INO=$(stat -L -c %i "/run/netns/$OLD")
	sf_start_as json --netns "/run/netns/$OLD"
	sf_start_as num --netns "$INO"
	"$SYNFIN" top -j --netns "/run/netns/$OLD" >"$SF_TMP/top.out" 2>"$SF_TMP/top.err" </dev/null &
	TOP=$!
	SF_PIDS+=("$TOP")
	loopback_conn "$OLD" sfold || { sf_fail "$T" "no connection in the first namespace"; sf_done; }
	touch "$SF_TMP/release.sfold"
	ip netns del "$OLD"
	# the namespace is freed (and its number with it) by a worker, soon after
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		sleep 0.2
		ip netns add "$NEW" || { sf_fail "$T" "cannot add a namespace"; sf_done; }
		SF_NSES+=("$NEW")
		if [ "$(stat -L -c %i "/run/netns/$NEW")" = "$INO" ]; then
			reused=1
			break
		fi
		ip netns del "$NEW"
	done
	[ -n "$reused" ] && break
	echo "  attempt $attempt: no new namespace got inode $INO; again"
	kill -INT "$TOP" 2>/dev/null
	wait "$TOP"
	sf_synfin_stop_as json
	sf_synfin_stop_as num
done
[ -n "$reused" ] || { sf_fail "$T" "inode $INO was never handed out again in 5 attempts"; sf_done; }
echo "  the new namespace has the old one's inode $INO"
ip -n "$NEW" link set lo up
loopback_conn "$NEW" sfnew || sf_fail "$T/newcomer" "no connection in the new namespace"
# a listener for top to see (or not) for two intervals
sleep 2.5
touch "$SF_TMP/release.sfnew"
kill -INT "$TOP" 2>/dev/null
wait "$TOP"
sf_synfin_stop_as json || sf_fail "$T/stop" "synfin did not exit 0"
sf_synfin_stop_as num || sf_fail "$T/num/stop" "synfin --netns $INO did not exit 0"

old=$(jq -c 'select(.type == "conn" and .comm == "sfold")' "$SF_TMP/json.out" | grep -c .)
new=$(jq -c 'select(.comm == "sfnew")' "$SF_TMP/json.out" | grep -c .)
sf_check "$T/watched" "$old records of the watched namespace's connection (want 2)" [ "$old" = 2 ]
sf_check "$T/newcomer" "$new records of the newcomer's connection (want 0): $(grep sfnew "$SF_TMP/json.out" | head -c 400)" [ "$new" = 0 ]
# the same, the namespace given by its number
old=$(jq -c 'select(.type == "conn" and .comm == "sfold")' "$SF_TMP/num.out" | grep -c .)
new=$(jq -c 'select(.comm == "sfnew")' "$SF_TMP/num.out" | grep -c .)
sf_check "$T/num/watched" "$old records of the watched namespace's connection (want 2)" [ "$old" = 2 ]
sf_check "$T/num/newcomer" "$new records of the newcomer's connection (want 0): $(grep sfnew "$SF_TMP/num.out" | head -c 400)" [ "$new" = 0 ]
sf_check "$T/num/found" "a warning that inode $INO names no namespace: $(head -n 2 "$SF_TMP/num.err" | tr '\n' ' ')" \
	sh -c "! grep -q 'no network namespace' '$SF_TMP/num.err'"
rows=$(jq -c --argjson port "$PORT" 'select(.type == "stats") | .listeners[] |
	select(.port == $port and .comm == "sfnew")' "$SF_TMP/top.out" 2>/dev/null | grep -c .)
sf_check "$T/top" "$rows top rows of the newcomer's listener (want 0)" [ "$rows" = 0 ]

# a number no namespace has: most likely a mistake, said at the start, but
# not refused (a namespace reachable only through its sockets has one too)
timeout -k 2 20 "$SYNFIN" -j -d 1 --netns 1 >/dev/null 2>"$SF_TMP/none.err" </dev/null
rc=$?
sf_check "$T/no_such" "exit $rc; $(head -n 1 "$SF_TMP/none.err")" sh -c "[ $rc = 0 ] &&
	grep -Eq '^synfin: --netns 1: no network namespace synfin can (read|find) has that inode' '$SF_TMP/none.err'"
sf_done
