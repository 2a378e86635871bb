#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The kernel's per-connection maps take --max-conns. An accepted socket's
# owner waits in a map for the socket's next event, which for an idle
# connection is its close; classic mode keeps every open socket's record in
# a map. Past 16,384 idle accepted connections (65,536 sockets in classic
# mode) the fixed sizes these maps once had were full, and every later
# accept() lost its owner. With the cap they hold all of them, and below
# their contents the cap is reached and counted. Accepts outside the
# filters take no place in them.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=owner_cap
sf_setup_churn "$T"

# hold NAME K KEY OP WANT [SYNFIN-ARGS...]: K idle connections (both ends
# in helper processes that accepted them) held open, then closed; the
# summary's KEY must compare OP WANT (-eq, -gt), and with -eq 0 every
# held connection's server end must name its process.
hold()
{
	local name=$1 k=$2 key=$3 op=$4 want=$5 got opened ends unowned blind
	shift 5
	# a big ring: the mass close at the end must not overflow it, which
	# is not what this test is about
	if ! sf_synfin_start --netns "$SF_NETNS_S" --ringbuf-mb 64 --no-alerts "$@"; then
		sf_fail "$T/$name" "synfin did not start: $(head -n 3 "$SF_ERR" | tr '\n' ' ')"
		return
	fi
	# the held connections' ->CLOSE on PID 1's threads, where no BPF
	# program runs (witness.sh): a server end there has no record
	sf_witness_start 1001 1999
	if ! sf_in "$SF_NS_S" "$CHURN" --hold "$k" --duration 0.2 --conns-parallel 1 \
		>"$SF_TMP/$name.churn" 2>"$SF_TMP/$name.churn.err"; then
		sf_witness_stop "$name"
		sf_synfin_stop
		sf_fail "$T/$name" "churn failed: $(head -c 300 "$SF_TMP/$name.churn.err")"
		return
	fi
	# every held socket closed (their tw socks aside), then a drain
	sf_wait_closed "$SF_NS_S" 10
	sleep 1
	sf_witness_stop "$name"
	# server ends: the local port is the listener's
	blind=$(awk '$1 >= 1001 && $1 <= 1999 && $3 == "TCP_CLOSE"' "$SF_TMP/$name.blind" | grep -c .)
	sf_synfin_stop || sf_fail "$T/$name/stop" "synfin did not exit 0 on SIGINT"
	opened=$(jq .hold_opened "$SF_TMP/$name.churn")
	got=$(sf_summary "$SF_ERR" "$key")
	if [ "$opened" != "$k" ]; then
		sf_fail "$T/$name" "churn held $opened connections, not $k"
		return
	fi
	if ! test "$got" "$op" "$want" 2>/dev/null; then
		sf_fail "$T/$name" "$key=$got with $k held (want $op $want): $(tail -n 2 "$SF_ERR" | tr '\n' ' ')"
		return
	fi
	# under -L the held connections are outside the filter: no records
	if [ "$op" = -eq ] && [ "$want" = 0 ] && [[ " $* " != *" -L "* ]]; then
		# held connections are on ports 1001 and up; the churn's on 1000
		ends=$(jq -c 'select(.type == "conn" and .role == "server" and .lport > 1000)' \
			"$SF_OUT" | grep -c .)
		unowned=$(jq -c 'select(.type == "conn" and .role == "server" and .lport > 1000
			and .pid == 0)' "$SF_OUT" | grep -c .)
		[ "$blind" = 0 ] || echo "  $name: $blind server ends closed on PID 1's threads," \
			"where no BPF program runs"
		if [ $((ends + blind)) != "$k" ] || [ "$unowned" != 0 ]; then
			sf_fail "$T/$name" "$ends server ends of $k held connections ($blind closed where no BPF program runs), $unowned with no process"
			return
		fi
	fi
	sf_pass "$T/$name"
}

hold tp_btf 20000 owner_map_full -eq 0
hold classic 40000 storage_full -eq 0 --classic
# Where tracing programs cannot use maps that grow (before 6.1) these maps
# keep their fixed sizes rather than preallocate --max-conns entries.
if grep -qw bpf_mem_alloc_init /proc/kallsyms; then
	hold tp_btf_capped 2000 owner_map_full -gt 0 --max-conns 1024
	hold classic_capped 2000 storage_full -gt 0 --classic --max-conns 1024
	# accepts the filters drop take no slot: the held connections' ports
	# are outside -L, and their 2000 owners once filled the 1024
	hold tp_btf_filtered 2000 owner_map_full -eq 0 --max-conns 1024 -L 1000
else
	sf_skip "$T/capped" "this kernel's tracing programs need preallocated maps"
fi
sf_done
