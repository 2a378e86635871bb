/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* BPF-only helpers that read a socket's identity (tuple, netns, cgroup)
 * and its tcp_sock figures into a synfin_event, with CO-RE relocations so
 * one object runs on every kernel >= 5.8 with BTF.
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

/* Every reader below takes `direct`, a compile-time constant in each
 * program, so each program gets its own specialised code:
 * - direct (tp_btf): the pointer is BTF-typed, so a field is a plain load.
 *   The verifier turns it into a fault-safe PROBE_MEM load, and CO-RE
 *   still relocates its offset (vmlinux.h types preserve access index).
 *   It costs a few ns, against tens of ns for each bpf_probe_read_kernel
 *   call that BPF_CORE_READ makes, and a state event reads ~30 fields.
 * - not direct (classic tracepoints): the pointer is a plain number the
 *   verifier knows nothing about, so every field is a probe read.
 * Pointers loaded from a BTF-typed one are BTF-typed too (PTR_TO_BTF_ID),
 * so chains such as sk->sk_cgrp_data.cgroup->kn->id stay direct. */
#define SF_READ(direct, p, field) ((direct) ? (p)->field : BPF_CORE_READ(p, field))

/* An IPv6 address by direct loads, word by word: each load stays inside
 * one scalar member, as the verifier requires of a BTF-typed pointer. */
static __always_inline void copy_in6(__u8 *dst, const struct in6_addr *a)
{
	__u32 w[4];

	w[0] = a->in6_u.u6_addr32[0];
	w[1] = a->in6_u.u6_addr32[1];
	w[2] = a->in6_u.u6_addr32[2];
	w[3] = a->in6_u.u6_addr32[3];
	__builtin_memcpy(dst, w, 16);
}

/* Read the addresses from a sock_common: full, request and TIME_WAIT
 * socks all start with one. The local port comes from skc_num, which is
 * right for request and TIME_WAIT socks; full socks use sock_local_port()
 * because skc_num is zeroed by inet_put_port before the ->CLOSE event. */
/* The local and remote addresses into laddr and raddr (either may be
 * NULL: a constant in every caller, so that half is compiled out); the
 * family says how many bytes. */
static __always_inline void read_addr_pair(const struct sock_common *skc, __u8 family,
					   __u8 *laddr, __u8 *raddr, const bool direct)
{
	if (direct) {
		if (family == AF_INET) {
			__u32 l = skc->skc_rcv_saddr, r = skc->skc_daddr;

			if (laddr)
				__builtin_memcpy(laddr, &l, 4);
			if (raddr)
				__builtin_memcpy(raddr, &r, 4);
		} else if (family == AF_INET6) {
			if (laddr)
				copy_in6(laddr, &skc->skc_v6_rcv_saddr);
			if (raddr)
				copy_in6(raddr, &skc->skc_v6_daddr);
		}
		return;
	}
	/* explicit sizes: BPF_CORE_READ_INTO on an array copies one element */
	if (family == AF_INET) {
		if (laddr)
			bpf_core_read(laddr, 4, &skc->skc_rcv_saddr);
		if (raddr)
			bpf_core_read(raddr, 4, &skc->skc_daddr);
	} else if (family == AF_INET6) {
		if (laddr)
			bpf_core_read(laddr, 16, &skc->skc_v6_rcv_saddr);
		if (raddr)
			bpf_core_read(raddr, 16, &skc->skc_v6_daddr);
	}
}

static __always_inline void read_common_addrs(const struct sock_common *skc,
					      struct synfin_event *e, const bool direct)
{
	e->family = SF_READ(direct, skc, skc_family);
	e->rport = bpf_ntohs(SF_READ(direct, skc, skc_dport));
	read_addr_pair(skc, e->family, e->laddr, e->raddr, direct);
}

/* inet_sport lives past struct sock, so a direct read needs the socket
 * typed as what it is: tp from bpf_skc_to_tcp_sock (the verifier checks
 * a typed load against the pointer's own type). */
static __always_inline __u16 sock_local_port(const struct tcp_sock *tp, const bool direct)
{
	if (direct)
		return bpf_ntohs(tp->inet_conn.icsk_inet.inet_sport);
	return bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)tp, inet_sport));
}

/* --netns: the namespace's inode and, given as a path, its cookie (0 if
 * unknown): the inode number is handed to the next namespace made once
 * this one has gone, the cookie never. */
const volatile __u32 filter_netns = 0;
const volatile __u64 filter_netns_cookie = 0;

/* The netns inode each CPU looked up last, under the low half of that
 * netns's cookie: one word, so a program nesting on this CPU can only
 * replace the pair, never tear it. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} netns_memo SEC(".maps");

/* A netns's inode number. ns.inum shares a cache line with the netns's
 * refcount, which every socket's creation and release writes, so with
 * two CPUs churning sockets nearly every read of it was a cache miss: a
 * third of tp_state's time under --netns (perf, per source line).
 * net_cookie sits in a line that is only read, and a cookie is never
 * reused, so a per-CPU memo keyed by it skips the inum read while the
 * namespace stays the same. Cookies count up from 1: two live namespaces
 * whose cookies differ by a multiple of 2^32 would share a memo entry,
 * which takes four billion namespaces created in between. Kernels whose
 * net_cookie is not a plain u64 (before 5.14) or is still 0 read ns.inum. */
static __always_inline __u32 net_netns(struct net *net, const bool direct)
{
	__u64 cookie = 0, *memo;
	__u32 zero = 0, inum;

	if (bpf_core_field_exists(struct net, net_cookie)) {
		if (direct)
			cookie = net->net_cookie;
		else
			cookie = BPF_CORE_READ(net, net_cookie);
	}
	memo = cookie ? bpf_map_lookup_elem(&netns_memo, &zero) : NULL;
	if (memo && *memo >> 32 == (__u32)cookie) {
		inum = (__u32)*memo;
	} else {
		if (direct)
			inum = net->ns.inum;
		else
			inum = BPF_CORE_READ(net, ns.inum);
		if (memo)
			*memo = (cookie << 32) | inum;
	}
	/* a newcomer with the inode of a --netns that has gone: 0, which
	 * no filter passes (no namespace has inode 0) */
	if (filter_netns_cookie && cookie && inum == filter_netns && cookie != filter_netns_cookie)
		return 0;
	return inum;
}

static __always_inline __u32 sock_netns(const struct sock_common *skc, const bool direct)
{
	return net_netns(direct ? skc->skc_net.net : BPF_CORE_READ(skc, skc_net.net), direct);
}

/* sock_cgroup_data before Linux 5.15: the cgroup v2 pointer in val, whose
 * two low bits are flags; set (cgroup v1's net_prio or net_cls data kept
 * there instead), or no pointer, the socket counts as the root's. */
struct sock_cgroup_data___old {
	__u64 val;
} __attribute__((preserve_access_index));

/* The id of cgroup v2's root cgroup (its kernfs node's) */
#define SYNFIN_ROOT_CGROUP_ID 1

/* The socket's cgroup v2 cgroup, NULL for the root; *known false where
 * neither layout is there. */
static __always_inline struct cgroup *sock_cgroup(const struct sock *sk, bool *known)
{
	*known = true;
	if (bpf_core_field_exists(struct sock_cgroup_data, cgroup))
		return BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
	if (bpf_core_field_exists(struct sock_cgroup_data___old, val)) {
		const struct sock_cgroup_data___old *old = (const void *)&sk->sk_cgrp_data;
		__u64 v = BPF_CORE_READ(old, val);

		return (v & 3) ? NULL : (struct cgroup *)v;
	}
	*known = false;
	return NULL;
}

/* The socket's own cgroup: children inherit the listener's. current's
 * cgroup is meaningless in softirq, where most transitions run. */
static __always_inline __u64 sock_cgroup_id(const struct sock *sk, const bool direct)
{
	struct cgroup *cg;
	bool known;

	if (bpf_core_field_exists(struct sock_cgroup_data, cgroup)) {
		if (direct)
			return sk->sk_cgrp_data.cgroup->kn->id;
		return BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id);
	}
	cg = sock_cgroup(sk, &known);
	if (!known)
		return 0;
	return cg ? BPF_CORE_READ(cg, kn, id) : SYNFIN_ROOT_CGROUP_ID;
}

/* Callers have checked sk_protocol == IPPROTO_TCP and that sk is a full
 * socket (bpf_skc_to_tcp_sock in tp_btf), so the cast is sound. */
static __always_inline void read_tcp_figures(const struct tcp_sock *tp,
					     struct synfin_event *e, const bool direct)
{
	e->snd_una = SF_READ(direct, tp, snd_una);
	e->snd_nxt = SF_READ(direct, tp, snd_nxt);
	e->write_seq = SF_READ(direct, tp, write_seq);
	e->rcv_nxt = SF_READ(direct, tp, rcv_nxt);
	e->srtt_us = SF_READ(direct, tp, srtt_us) >> 3;
	e->total_retrans = SF_READ(direct, tp, total_retrans);
	e->bytes_acked = SF_READ(direct, tp, bytes_acked);
	e->bytes_received = SF_READ(direct, tp, bytes_received);
	e->segs_in = SF_READ(direct, tp, segs_in);
	e->segs_out = SF_READ(direct, tp, segs_out);
	/* icsk_retransmits changed width across kernels: size-relocated read. */
	if (direct)
		e->retransmits = BPF_CORE_READ_BITFIELD(&tp->inet_conn, icsk_retransmits);
	else
		e->retransmits = BPF_CORE_READ_BITFIELD_PROBED(&tp->inet_conn, icsk_retransmits);
}

static __always_inline __u16 sock_flags_of(const struct sock *sk, const bool direct)
{
	unsigned long flags = SF_READ(direct, sk, __sk_common.skc_flags);
	__u16 out = 0;

	if (flags & (1UL << SOCK_DONE))
		out |= SYNFIN_F_DONE;
	if (flags & (1UL << SOCK_DEAD))
		out |= SYNFIN_F_DEAD;
	if (!SF_READ(direct, sk, sk_socket))
		out |= SYNFIN_F_ORPHAN;
	if ((flags & (1UL << SOCK_LINGER)) && !SF_READ(direct, sk, sk_lingertime))
		out |= SYNFIN_F_LINGER0;
	return out;
}

#endif /* SYNFIN_SOCK_BPF_H */
