#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A SYN that is never answered: connect() fails with ETIMEDOUT.
#
# How the SYNs are lost: there is no iptables/nft/netem here, and a TC BPF
# dropper would need an object file the tools build cannot make. Instead the
# server namespace gets a blackhole route for the client's address: the SYN
# arrives, but neither a SYN-ACK nor a RST can be routed back (the route
# lookup fails and the reply is dropped), so the client only ever sees
# silence. tcp_syn_retries is per-netns: lowering it in the client namespace
# ends the attempt in ~3 s (KERNEL-NOTES 1(e)) and dies with the namespace.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=syn_timeout
sf_setup_ns "$T"
ip -n "$SF_NS_S" route add blackhole "$SF_C4/32" ||
	{ sf_fail "$T" "cannot add the blackhole route"; sf_done; }
sf_in "$SF_NS_C" sh -c 'echo 1 > /proc/sys/net/ipv4/tcp_syn_retries' ||
	{ sf_fail "$T" "cannot set tcp_syn_retries in the client namespace"; sf_done; }
sf_start "$T" --netns "$SF_NETNS_C"
sf_timer_witness_start 5005

sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port 5005 --comm sfcli5 \
	--timeout-ms 20000 >"$SF_TMP/cli" 2>"$SF_TMP/cli.err"
[ "$(sf_field "$SF_TMP/cli" result)" = timeout ] ||
	{ sf_fail "$T" "client did not time out: $(cat "$SF_TMP/cli" "$SF_TMP/cli.err")"; sf_done; }
CP=$(sf_field "$SF_TMP/cli" lport)
CPID=$(sf_field "$SF_TMP/cli" pid)
[ "$CP" -gt 0 ] 2>/dev/null || { sf_fail "$T" "client reported no local port"; sf_done; }

CT="$SF_NETNS_C $SF_C4 $CP $SF_S4 5005"
sf_wait_records 5 "$CT"
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"
sf_syn_timeout_checks syn "$CP" 5005

SF_JQ_ARGS=(--argjson cpid "$CPID")
# shellcheck disable=SC2086
sf_expect "$T/client" "$(sf_records $CT)" \
	'.family == "ipv4"' '.role == "client"' '.seeded == false' \
	"${SF_SYN_CHECKS[@]}" '.handshake.ms == null' \
	'.handshake.isn_remote == null' '.close.initiator == "none"' \
	'.bytes_sent == (if .close.missed then null else 0 end)' \
	'.bytes_received == (if .close.missed then null else 0 end)' \
	'.pid == $cpid' '.comm == "sfcli5"'
sf_done
