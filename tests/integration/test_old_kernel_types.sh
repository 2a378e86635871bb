#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Classic tracepoints where the kernel names their contexts as kernels
# before 6.10 and 6.17 did. There tcp_send_reset and tcp_retransmit_skb
# were events of one class, tcp_event_sk_skb, and BTF has no
# trace_event_raw_tcp_send_reset or trace_event_raw_tcp_retransmit_skb.
# synfin read its classic programs' contexts through those types, so on
# such a kernel the classic load failed, and with it the fallback from
# tp_btf (the only mode of 5.8-5.11). This kernel's BTF with the two types
# renamed to the class's stands in for such a kernel: synfin relocates its
# programs against it (SYNFIN_TEST_CORE_BTF) and runs them here, where the
# fields read sit at the same places.
#  a. a SYN to a closed port: the reset the server namespace sends;
#  b. a SYN into a blackhole: the client's SYN retransmit.
# shellcheck source=tests/integration/lib.sh disable=SC2016
. "$(dirname "$0")/lib.sh"

T=old_kernel_types
PR=5741   # refused: nobody listens
PB=5742   # blackholed
RENAME=$SF_ROOT/build/tools/btfrename
sf_setup_ns "$T"
[ -x "$RENAME" ] || { sf_fail "$T" "no $RENAME (make tools)"; sf_done; }
OLD_BTF=$SF_TMP/old.btf
if ! "$RENAME" /sys/kernel/btf/vmlinux "$OLD_BTF" \
	trace_event_raw_tcp_send_reset=trace_event_raw_tcp_event_sk_skb \
	trace_event_raw_tcp_retransmit_skb=trace_event_raw_tcp_event_sk_skb 2>"$SF_TMP/rename.err"; then
	sf_fail "$T" "cannot write the old-named BTF: $(head -c 300 "$SF_TMP/rename.err")"
	sf_done
fi
sf_in "$SF_NS_C" sh -c 'echo 1 > /proc/sys/net/ipv4/tcp_syn_retries' ||
	{ sf_fail "$T" "cannot set tcp_syn_retries in the client namespace"; sf_done; }

export SYNFIN_TEST_CORE_BTF=$OLD_BTF
sf_start "$T" --classic --events --no-alerts
unset SYNFIN_TEST_CORE_BTF

# a. refused: the server namespace's reset, of no socket
sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$PR" --timeout-ms 5000 \
	>"$SF_TMP/cli.r" 2>&1
RP=$(sf_field "$SF_TMP/cli.r" lport)
reset_sent()
{
	jq -c --argjson ns "$SF_NETNS_S" --argjson lp "$PR" --argjson rp "${RP:-0}" \
		'select(.type == "reset" and .direction == "sent" and .netns == $ns and
			.lport == $lp and .rport == $rp)' "$SF_OUT" 2>/dev/null
}
sf_wait_output 5 reset_sent

# b. blackholed: the client retransmits its SYN once, then gives up
ip -n "$SF_NS_S" route add blackhole "$SF_C4/32" ||
	{ sf_fail "$T" "cannot add the blackhole route"; sf_done; }
sf_in "$SF_NS_C" "$TCPDRIVE" client --connect "$SF_S4" --port "$PB" --timeout-ms 20000 \
	>"$SF_TMP/cli.b" 2>&1
BP=$(sf_field "$SF_TMP/cli.b" lport)
syn_retransmit()
{
	jq -c --argjson ns "$SF_NETNS_C" --argjson lp "${BP:-0}" --argjson rp "$PB" \
		'select(.type == "retransmit" and .netns == $ns and .lport == $lp and
			.rport == $rp)' "$SF_OUT" 2>/dev/null
}
sf_wait_output 5 syn_retransmit
sf_synfin_stop || sf_fail "$T/stop" "synfin did not exit 0 on SIGINT"

echo "  client results: $(sf_field "$SF_TMP/cli.r" result), $(sf_field "$SF_TMP/cli.b" result)"
# such a kernel gives no reason (0): named from this kernel's enum here,
# "" where it has none
SF_JQ_ARGS=(--arg la "$SF_S4")
sf_expect "$T/reset" "$(reset_sent | head -n 1)" \
	'.state == "NONE"' '.reason == "NOT_SPECIFIED" or .reason == ""' '.laddr == $la'
SF_JQ_ARGS=()
sf_expect "$T/retransmit" "$(syn_retransmit | head -n 1)" \
	'.state == "SYN-SENT"' '.tcp_flags == "SYN"' '.segments == 1'
sf_done
