/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* BPF-only helpers that read a socket's identity (tuple, netns, cgroup)
 * and its tcp_sock figures into a synfin_event, with CO-RE reads so one
 * object runs on every kernel >= 5.8 with BTF.
 */
#ifndef SYNFIN_SOCK_BPF_H
#define SYNFIN_SOCK_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "synfin/event.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif
#ifndef IPPROTO_TCP
#define IPPROTO_TCP 6
#endif
#define S_IFMT   00170000
#define S_IFSOCK 0140000

/* Read the addresses from a sock_common: full, request and TIME_WAIT
 * socks all start with one. The local port comes from skc_num, which is
 * right for request and TIME_WAIT socks; full socks use sock_local_port()
 * because skc_num is zeroed by inet_put_port before the ->CLOSE event. */
static __always_inline void read_common_addrs(const struct sock_common *skc,
					      struct synfin_event *e)
{
	e->family = BPF_CORE_READ(skc, skc_family);
	e->rport = bpf_ntohs(BPF_CORE_READ(skc, skc_dport));
	/* explicit sizes: BPF_CORE_READ_INTO on an array copies one element */
	if (e->family == AF_INET) {
		bpf_core_read(e->laddr, 4, &skc->skc_rcv_saddr);
		bpf_core_read(e->raddr, 4, &skc->skc_daddr);
	} else if (e->family == AF_INET6) {
		bpf_core_read(e->laddr, 16, &skc->skc_v6_rcv_saddr);
		bpf_core_read(e->raddr, 16, &skc->skc_v6_daddr);
	}
}

static __always_inline __u16 sock_local_port(const struct sock *sk)
{
	const struct inet_sock *inet = (const struct inet_sock *)sk;

	return bpf_ntohs(BPF_CORE_READ(inet, inet_sport));
}

static __always_inline __u32 sock_netns(const struct sock_common *skc)
{
	return BPF_CORE_READ(skc, skc_net.net, ns.inum);
}

/* The socket's own cgroup: children inherit the listener's. current's
 * cgroup is meaningless in softirq, where most transitions run. */
static __always_inline __u64 sock_cgroup_id(const struct sock *sk)
{
	if (!bpf_core_field_exists(struct sock_cgroup_data, cgroup))
		return 0;
	return BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id);
}

/* Callers have checked sk_protocol == IPPROTO_TCP and that sk is a full
 * socket, so the cast is sound; CO-RE reads work in tp_btf and classic
 * tracepoints alike (bpf_skc_to_tcp_sock does not exist in the latter). */
static __always_inline void read_tcp_figures(struct sock *sk, struct synfin_event *e)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;

	e->snd_una = BPF_CORE_READ(tp, snd_una);
	e->snd_nxt = BPF_CORE_READ(tp, snd_nxt);
	e->write_seq = BPF_CORE_READ(tp, write_seq);
	e->rcv_nxt = BPF_CORE_READ(tp, rcv_nxt);
	e->srtt_us = BPF_CORE_READ(tp, srtt_us) >> 3;
	e->total_retrans = BPF_CORE_READ(tp, total_retrans);
	e->bytes_acked = BPF_CORE_READ(tp, bytes_acked);
	e->bytes_received = BPF_CORE_READ(tp, bytes_received);
	e->segs_in = BPF_CORE_READ(tp, segs_in);
	e->segs_out = BPF_CORE_READ(tp, segs_out);
	/* icsk_retransmits changed width across kernels: size-relocated read. */
	e->retransmits = BPF_CORE_READ_BITFIELD_PROBED(&tp->inet_conn, icsk_retransmits);
}

static __always_inline __u16 sock_flags_of(const struct sock *sk)
{
	unsigned long flags = BPF_CORE_READ(sk, __sk_common.skc_flags);
	__u16 out = 0;

	if (flags & (1UL << SOCK_DONE))
		out |= SYNFIN_F_DONE;
	if (flags & (1UL << SOCK_DEAD))
		out |= SYNFIN_F_DEAD;
	if (!BPF_CORE_READ(sk, sk_socket))
		out |= SYNFIN_F_ORPHAN;
	if ((flags & (1UL << SOCK_LINGER)) && !BPF_CORE_READ(sk, sk_lingertime))
		out |= SYNFIN_F_LINGER0;
	return out;
}

#endif /* SYNFIN_SOCK_BPF_H */
