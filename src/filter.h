/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The connection filter as the user gave it. The kernel gets the same
 * values as .rodata before load; user space applies it again to what the
 * kernel could not decide (sock_diag seeds, owners learned after the fact).
 */
#ifndef SYNFIN_FILTER_H
#define SYNFIN_FILTER_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "synfin/event.h"
#include "cgroup_tree.h"

struct synfin_filter {
	uint32_t pid;            /* 0: any */
	bool have_comm;
	char comm[SYNFIN_COMM_LEN]; /* with have_comm: the owner's name, NUL-padded */
	uint8_t family;          /* 0: any, else SYNFIN_AF_* */
	uint32_t netns;          /* 0: any */
	uint64_t netns_cookie;   /* with netns given as a path: its cookie, 0 if unknown */
	uint64_t cgroup_id;      /* 0: any; else it and the cgroups below it */
	/* The ids of cgroup_id's tree, sorted (cgroup_tree_collect), for
	 * the sockets user space judges; none: cgroup_id alone */
	const uint64_t *cgroup_tree;
	size_t ncgroup_tree;
	bool have_uid;
	uint32_t uid;            /* with have_uid: only sockets of this sk_uid */
	bool have_lports;
	bool have_rports;
	uint8_t lports[SYNFIN_PORT_BITMAP_BYTES]; /* bit per port */
	uint8_t rports[SYNFIN_PORT_BITMAP_BYTES];
	uint8_t nladdrs;         /* 0: any local address */
	uint8_t nraddrs;
	struct synfin_addr_prefix laddrs[SYNFIN_ADDR_PREFIXES_MAX];
	struct synfin_addr_prefix raddrs[SYNFIN_ADDR_PREFIXES_MAX];
};

static inline bool port_bit_test(const uint8_t *bitmap, uint16_t port)
{
	return bitmap[port >> 3] & (1u << (port & 7));
}

static inline void port_bit_set(uint8_t *bitmap, uint16_t port)
{
	bitmap[port >> 3] |= (uint8_t)(1u << (port & 7));
}

/* An address as the prefixes hold it (struct synfin_addr_prefix): IPv6 as
 * it is, IPv4 (in the first 4 bytes) as ::ffff:a.b.c.d. */
static inline void addr_words(uint8_t family, const uint8_t *addr, uint32_t w[4])
{
	if (family == SYNFIN_AF_INET) {
		w[0] = w[1] = 0;
		w[2] = htonl(0xffff);
		memcpy(&w[3], addr, 4);
	} else {
		memcpy(w, addr, 16);
	}
}

static inline bool addr_is_unspecified(uint8_t family, const uint8_t *addr)
{
	static const uint8_t zero[SYNFIN_ADDR_LEN];

	return !memcmp(addr, zero, family == SYNFIN_AF_INET ? 4 : 16);
}

/* True when there are no prefixes or addr lies in one of them. */
static inline bool addr_passes(const struct synfin_addr_prefix *p, unsigned int n,
			       uint8_t family, const uint8_t *addr)
{
	uint32_t w[4];

	if (!n)
		return true;
	addr_words(family, addr, w);
	for (unsigned int i = 0; i < n; i++)
		if (SYNFIN_PREFIX_TAKES(p[i], w))
			return true;
	return false;
}

/* -c: an owner's name (NUL-terminated within SYNFIN_COMM_LEN + 1 bytes),
 * compared as the kernel keeps it: at most 15 bytes */
static inline bool filter_comm_passes(const struct synfin_filter *f, const char *comm)
{
	return !f->have_comm || !strncmp(comm, f->comm, SYNFIN_COMM_LEN);
}

/* -p and -c where the owner is final (a finished connection, a row, a
 * seed after the /proc scan): one still unknown (pid 0) is not the one
 * asked for. NULL: no filter. */
static inline bool filter_owner_passes(const struct synfin_filter *f, uint32_t pid,
				       const char *comm)
{
	if (!f)
		return true;
	if (f->pid && pid != f->pid)
		return false;
	return !f->have_comm || (pid && filter_comm_passes(f, comm));
}

/* -u: a socket whose uid is known (sock_diag gives every full socket's) */
static inline bool filter_uid_passes(const struct synfin_filter *f, uint32_t uid)
{
	return !f->have_uid || uid == f->uid;
}

/* A filter the kernel cannot apply to a tw sock, which has no owner,
 * cgroup or uid: the kernel drops only the records of tw socks whose
 * connections it dropped at their start (-u, --cgroup: no cookie) or
 * close (-p, -c: tw_unfollowed, while the entry stands), and lets the
 * rest past; only those of connections followed in user space are the
 * filter's. */
static inline bool filter_tw_unjudged(const struct synfin_filter *f)
{
	return f && (f->pid || f->have_comm || f->cgroup_id || f->have_uid);
}

/* The netns alone: a TIME_WAIT group's row, whose socks' families were
 * judged one by one (a dual-stack sock's group is keyed as IPv4). */
static inline bool filter_netns_passes(const struct synfin_filter *f, uint32_t netns)
{
	return !f->netns || netns == f->netns;
}

/* Family and netns: what every record and row can be judged by (the
 * programs' pass_family_netns). */
static inline bool filter_family_netns_passes(const struct synfin_filter *f, uint8_t family,
					      uint32_t netns)
{
	return (!f->family || family == f->family) && filter_netns_passes(f, netns);
}

/* The addresses and ports of one socket: a client's tw sock before it is
 * counted into a TIME_WAIT group keyed by its destination alone (the
 * ends a row cannot show), and filter_match's. NULL: no filter; a NULL
 * address: not judged. */
static inline bool filter_ends_pass(const struct synfin_filter *f, uint8_t family,
				    const uint8_t *laddr, uint16_t lport,
				    const uint8_t *raddr, uint16_t rport)
{
	if (!f)
		return true;
	if (f->have_lports && !port_bit_test(f->lports, lport))
		return false;
	if (f->have_rports && !port_bit_test(f->rports, rport))
		return false;
	if (laddr && !addr_passes(f->laddrs, f->nladdrs, family, laddr))
		return false;
	return !raddr || addr_passes(f->raddrs, f->nraddrs, family, raddr);
}

/* pid == 0 means the owner is not known yet: it passes, like in the kernel.
 * laddr and raddr may be NULL where a record has no address to judge. */
static inline bool filter_match(const struct synfin_filter *f, uint8_t family,
				const uint8_t *laddr, uint16_t lport,
				const uint8_t *raddr, uint16_t rport, uint32_t netns,
				uint64_t cgroup_id, uint32_t pid)
{
	if (!filter_family_netns_passes(f, family, netns))
		return false;
	if (f->cgroup_id && cgroup_id != f->cgroup_id &&
	    !cgroup_tree_has(f->cgroup_tree, f->ncgroup_tree, cgroup_id))
		return false;
	if (f->pid && pid && pid != f->pid)
		return false;
	return filter_ends_pass(f, family, laddr, lport, raddr, rport);
}

/* A row's ports and addresses pass: port 0 and a NULL or wildcard
 * address (a listener bound to any address) are not judged. */
static inline bool filter_row_ends_pass(const struct synfin_filter *f, uint8_t family,
					const uint8_t *laddr, uint16_t lport,
					const uint8_t *raddr, uint16_t rport)
{
	if (lport && f->have_lports && !port_bit_test(f->lports, lport))
		return false;
	if (rport && f->have_rports && !port_bit_test(f->rports, rport))
		return false;
	if (laddr && !addr_is_unspecified(family, laddr) &&
	    !addr_passes(f->laddrs, f->nladdrs, family, laddr))
		return false;
	if (raddr && !addr_is_unspecified(family, raddr) &&
	    !addr_passes(f->raddrs, f->nraddrs, family, raddr))
		return false;
	return true;
}

/* A row of top or of an alert (a listener, a TIME_WAIT group, a process's
 * CLOSE_WAITs) passes what it can be judged by: its family, namespace and
 * owner, and its ends as filter_row_ends_pass judges them. */
static inline bool filter_row_passes(const struct synfin_filter *f, uint8_t family,
				     const uint8_t *laddr, uint16_t lport,
				     const uint8_t *raddr, uint16_t rport, uint32_t netns,
				     uint32_t pid, const char *comm)
{
	if (!f)
		return true;
	return filter_family_netns_passes(f, family, netns) && filter_owner_passes(f, pid, comm) &&
	       filter_row_ends_pass(f, family, laddr, lport, raddr, rport);
}

/* Parse "80,443,8000-8080" into bitmap. Returns 0, or -EINVAL with a
 * one-line reason in err. Port 0 and ports above 65535 are rejected. */
int filter_parse_ports(const char *arg, uint8_t *bitmap, char *err, size_t errlen);

/* Parse "10.0.0.0/8,2001:db8::1" and append its prefixes to p, of which *n
 * are in use (at most SYNFIN_ADDR_PREFIXES_MAX). A bare address is a host.
 * Returns 0, or -EINVAL with a one-line reason in err: not an address, a
 * bad length, bits set past the length, or too many prefixes. */
int filter_parse_addrs(const char *arg, struct synfin_addr_prefix *p, uint8_t *n,
		       char *err, size_t errlen);

#endif /* SYNFIN_FILTER_H */
