// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Startup snapshot of open TCP connections: sock_diag dump in every network
 * namespace (tracepoints are global, sock_diag is per netns), owners from
 * /proc/[pid]/fd, then engine__seed() for each connected socket. The same
 * walk serves the periodic census (census.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>

#include "addr.h"
#include "lower_bound.h"
#include "sockdiag.h"
#include "grow.h"
#include "netns_cookie.h"
#include "readfile.h"

/* The kernel sizes dump skbs up to 32 KiB after the reader's buffer; more
 * than that here means MSG_TRUNC can never fire on a sane kernel. */
#define SOCKDIAG_BUF_LEN (64 * 1024)

/* idiag_timer value used only by inet_twsk_diag_fill(). */
#define SOCKDIAG_TIMER_TW 3

/* Other processes kept for a namespace no name holds: the one that named
 * it may exit before the walk comes to it (a container's short-lived
 * exec, while its init stays), and it is entered through the next. */
#define NS_MORE_PIDS 4

/* A namespace to visit. path NULL and pid 0: the caller's own (orig_fd). */
struct ns_ent {
	uint32_t ino;
	uint32_t order;           /* insertion order: /run/netns names win over pids */
	int pid;
	char *path;
	int more[NS_MORE_PIDS];   /* other processes in it, 0 past the last */
};

struct seed_ctx {
	const struct synfin_filter *f;
	uint32_t netns;
	size_t first;             /* this netns's first candidate */
	struct synfin_seed *cands;
	size_t ncands, cands_cap;
	/* the engine's table holds no more (--max-conns): memory for the
	 * candidates is bounded by it, not by the host's connections */
	size_t max_cands;
	uint32_t passed_over;     /* candidates past max_cands, not seeded */
	uint32_t first_passed_over; /* ... at this netns's start */
	struct sockdiag_listener *ls;
	size_t nls, ls_cap;
};

/* INET_DIAG_SK_BPF_STORAGES: a nest of SK_DIAG_BPF_STORAGE nests, one per
 * map asked for, each holding the map's id and the value. One map is asked
 * for, so the first value is the one. */
static void parse_storages(const struct rtattr *stgs, struct sockdiag_sock *out)
{
	const struct rtattr *stg, *a;
	int len = (int)RTA_PAYLOAD(stgs), inner;

	for (stg = RTA_DATA(stgs); RTA_OK(stg, len); stg = RTA_NEXT(stg, len)) {
		if ((stg->rta_type & NLA_TYPE_MASK) != SK_DIAG_BPF_STORAGE)
			continue;
		inner = (int)RTA_PAYLOAD(stg);
		for (a = RTA_DATA(stg); RTA_OK(a, inner); a = RTA_NEXT(a, inner)) {
			if ((a->rta_type & NLA_TYPE_MASK) != SK_DIAG_BPF_STORAGE_MAP_VALUE)
				continue;
			out->storage = RTA_DATA(a);
			out->storage_len = RTA_PAYLOAD(a);
			return;
		}
	}
}

int sockdiag_parse_msg(const struct nlmsghdr *nlh, struct sockdiag_sock *out)
{
	const struct inet_diag_msg *m;
	const struct rtattr *rta;
	int len;

	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return -EBADMSG;
	m = NLMSG_DATA(nlh);
	if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6)
		return -EBADMSG;

	memset(out, 0, sizeof(*out));
	out->family = m->idiag_family;
	out->state = m->idiag_state;
	out->timer = m->idiag_timer;
	out->lport = ntohs(m->id.idiag_sport);
	out->rport = ntohs(m->id.idiag_dport);
	if (m->idiag_family == AF_INET) {
		memcpy(out->laddr, m->id.idiag_src, 4);
		memcpy(out->raddr, m->id.idiag_dst, 4);
	} else {
		memcpy(out->laddr, m->id.idiag_src, SYNFIN_ADDR_LEN);
		memcpy(out->raddr, m->id.idiag_dst, SYNFIN_ADDR_LEN);
	}
	out->inode = m->idiag_inode;
	out->uid = m->idiag_uid;
	out->rqueue = m->idiag_rqueue;
	out->wqueue = m->idiag_wqueue;
	out->cookie = (uint64_t)m->id.idiag_cookie[0] |
		      (uint64_t)m->id.idiag_cookie[1] << 32;

	/* Attributes follow the aligned header. A full socket's shutdown
	 * and cgroup id (CONFIG_SOCK_CGROUP_DATA) come without being asked
	 * for; the id may be unaligned. */
	len = (int)(nlh->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
	rta = (const struct rtattr *)((const char *)m + NLMSG_ALIGN(sizeof(*m)));
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		switch (rta->rta_type & NLA_TYPE_MASK) {
		case INET_DIAG_SHUTDOWN:
			out->full = true;
			break;
		case INET_DIAG_CGROUP_ID:
			if (RTA_PAYLOAD(rta) >= sizeof(uint64_t))
				memcpy(&out->cgroup_id, RTA_DATA(rta), sizeof(uint64_t));
			break;
		case INET_DIAG_SK_BPF_STORAGES:
			parse_storages(rta, out);
			break;
		}
	}
	return 0;
}

bool sockdiag_is_seedable(const struct sockdiag_sock *s)
{
	/* A tw sock reports its substate, FIN_WAIT2 included: only idiag_timer
	 * tells it from a full FIN_WAIT2 socket. */
	if (s->timer == SOCKDIAG_TIMER_TW)
		return false;
	/* SYN_RECV in a dump is a request sock: the state tracepoint never
	 * reports its end, so a seed would stay in the table for good. Its
	 * child shows up at the final ACK like any new connection. */
	switch (s->state) {
	case SYNFIN_TCP_ESTABLISHED:
	case SYNFIN_TCP_SYN_SENT:
	case SYNFIN_TCP_FIN_WAIT1:
	case SYNFIN_TCP_FIN_WAIT2:
	case SYNFIN_TCP_CLOSE_WAIT:
	case SYNFIN_TCP_LAST_ACK:
	case SYNFIN_TCP_CLOSING:
		return true;
	default:
		return false;
	}
}

int sockdiag_parse_socket_link(const char *link, uint32_t *inode)
{
	static const char prefix[] = "socket:[";
	unsigned long long v = 0;
	const char *p;

	if (strncmp(link, prefix, sizeof(prefix) - 1) != 0)
		return -EINVAL;
	p = link + sizeof(prefix) - 1;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned long long)(*p - '0');
		if (v > UINT32_MAX)
			return -EINVAL;
	}
	if (p[0] != ']' || p[1] != '\0')
		return -EINVAL;
	*inode = (uint32_t)v;
	return 0;
}

static int listener_cmp(const void *a, const void *b)
{
	const struct sockdiag_listener *x = a, *y = b;

	if (x->netns != y->netns)
		return x->netns < y->netns ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return 0;
}

void sockdiag_sort_listeners(struct sockdiag_listener *ls, size_t n)
{
	if (n > 1)
		qsort(ls, n, sizeof(*ls), listener_cmp);
}

/* Points *v4 at the IPv4 bytes when the address is IPv4 or IPv4-mapped. */
static bool addr_v4(uint8_t family, const uint8_t *a, const uint8_t **v4)
{
	if (family == AF_INET) {
		*v4 = a;
		return true;
	}
	if (addr_is_v4_mapped(a)) {
		*v4 = a + 12;
		return true;
	}
	return false;
}

bool sockdiag_listener_covers(uint8_t lfamily, const uint8_t *laddr_l, uint8_t family,
			      const uint8_t *laddr)
{
	static const uint8_t zero[SYNFIN_ADDR_LEN];
	const uint8_t *lv4, *sv4;
	bool l_is_v4, s_is_v4;

	if (lfamily == AF_INET6 && memcmp(laddr_l, zero, SYNFIN_ADDR_LEN) == 0)
		return true;
	l_is_v4 = addr_v4(lfamily, laddr_l, &lv4);
	s_is_v4 = addr_v4(family, laddr, &sv4);
	if (l_is_v4 != s_is_v4)
		return false;
	if (l_is_v4)
		return memcmp(lv4, zero, 4) == 0 || memcmp(lv4, sv4, 4) == 0;
	return memcmp(laddr_l, laddr, SYNFIN_ADDR_LEN) == 0;
}

enum conn_role sockdiag_role(const struct sockdiag_listener *ls, size_t n,
			     uint32_t netns, uint8_t family,
			     const uint8_t *laddr, uint16_t lport)
{
	struct sockdiag_listener key = { .netns = netns, .port = lport };
	size_t lo = lower_bound(&key, ls, n, sizeof(*ls), listener_cmp);

	/* every listener sharing (netns, port) */
	for (; lo < n && listener_cmp(&ls[lo], &key) == 0; lo++) {
		if (sockdiag_listener_covers(ls[lo].family, ls[lo].addr, family, laddr))
			return ROLE_SERVER;
	}
	return ROLE_UNKNOWN;
}

void sockdiag_fill_seed(const struct sockdiag_sock *s, uint32_t netns,
			struct synfin_seed *seed)
{
	memset(seed, 0, sizeof(*seed));
	seed->cookie = s->cookie;
	seed->family = s->family;
	seed->state = s->state;
	memcpy(seed->laddr, s->laddr, SYNFIN_ADDR_LEN);
	memcpy(seed->raddr, s->raddr, SYNFIN_ADDR_LEN);
	seed->lport = s->lport;
	seed->rport = s->rport;
	seed->netns = netns;
	seed->inode = s->inode;
	seed->uid = s->uid;
	seed->role = ROLE_UNKNOWN;
}

static int seed_sock(void *ctx, uint32_t netns, const struct sockdiag_sock *s)
{
	struct seed_ctx *c = ctx;
	struct sockdiag_listener *l;
	void *p;

	c->netns = netns;
	if (s->state == SYNFIN_TCP_LISTEN) {
		p = grow_array(c->ls, &c->ls_cap, c->nls + 1, sizeof(*c->ls));
		if (!p)
			return -ENOMEM;
		c->ls = p;
		l = &c->ls[c->nls++];
		l->netns = c->netns;
		l->port = s->lport;
		l->family = s->family;
		memcpy(l->addr, s->laddr, SYNFIN_ADDR_LEN);
		return 0;
	}
	if (!sockdiag_is_seedable(s))
		return 0;
	/* pid 0 here: the owner is not known until the /proc scan, which
	 * applies the pid filter. */
	if (c->f && (!filter_match(c->f, s->family, s->laddr, s->lport, s->raddr, s->rport,
				   c->netns, s->cgroup_id, 0) ||
		     !filter_uid_passes(c->f, s->uid)))
		return 0;
	if (c->ncands >= c->max_cands) {
		c->passed_over++;
		return 0;
	}
	p = grow_array(c->cands, &c->cands_cap, c->ncands + 1, sizeof(*c->cands));
	if (!p)
		return -ENOMEM;
	c->cands = p;
	sockdiag_fill_seed(s, c->netns, &c->cands[c->ncands++]);
	return 0;
}

static int seed_netns_begin(void *ctx, uint32_t netns)
{
	struct seed_ctx *c = ctx;

	c->netns = netns;
	c->nls = 0;
	c->first = c->ncands;
	c->first_passed_over = c->passed_over;
	return 0;
}

/* Roles only once both families are in: a dual-stack listener comes from
 * the IPv6 dump but covers IPv4-mapped sockets. */
static void seed_netns_end(void *ctx, uint32_t netns, int err)
{
	struct seed_ctx *c = ctx;
	size_t i;

	if (err) {
		/* half a dump is not seeded, nor counted as passed over */
		c->ncands = c->first;
		c->passed_over = c->first_passed_over;
		return;
	}
	sockdiag_sort_listeners(c->ls, c->nls);
	for (i = c->first; i < c->ncands; i++) {
		struct synfin_seed *sd = &c->cands[i];

		sd->role = sockdiag_role(c->ls, c->nls, netns, sd->family,
					 sd->laddr, sd->lport);
	}
}

size_t sockdiag_build_request(void *buf, uint8_t family, uint32_t states, int storage_fd,
			      uint32_t seq)
{
	struct nlmsghdr *nlh = buf;
	size_t body = family == AF_UNSPEC ? sizeof(struct inet_diag_req) :
					    sizeof(struct inet_diag_req_v2);
	size_t len = NLMSG_LENGTH(body);
	struct nlattr *stgs, *map_fd;

	memset(buf, 0, SOCKDIAG_REQ_MAX);
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	if (family == AF_UNSPEC) {
		struct inet_diag_req *r = NLMSG_DATA(nlh);

		/* the type names the protocol; the dump takes every family */
		nlh->nlmsg_type = TCPDIAG_GETSOCK;
		r->idiag_family = AF_UNSPEC;
		r->idiag_states = states;
	} else {
		struct inet_diag_req_v2 *r = NLMSG_DATA(nlh);

		nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
		r->sdiag_family = family;
		r->sdiag_protocol = IPPROTO_TCP;
		r->idiag_states = states;
	}
	if (storage_fd >= 0) {
		/* INET_DIAG_REQ_SK_BPF_STORAGES holding one map fd */
		stgs = (struct nlattr *)((char *)buf + NLMSG_ALIGN(len));
		stgs->nla_len = NLA_HDRLEN + NLA_HDRLEN + sizeof(uint32_t);
		stgs->nla_type = NLA_F_NESTED | INET_DIAG_REQ_SK_BPF_STORAGES;
		map_fd = (struct nlattr *)((char *)stgs + NLA_HDRLEN);
		map_fd->nla_len = NLA_HDRLEN + sizeof(uint32_t);
		map_fd->nla_type = SK_DIAG_BPF_STORAGE_REQ_MAP_FD;
		memcpy((char *)map_fd + NLA_HDRLEN, &(uint32_t){ (uint32_t)storage_fd },
		       sizeof(uint32_t));
		len = NLMSG_ALIGN(len) + stgs->nla_len;
	}
	nlh->nlmsg_len = (uint32_t)len;
	return len;
}

/* One namespace's dumps: its socket, the read buffer, and what the
 * walker wants. */
struct ns_dump {
	int fd;
	char *buf;
	const struct sockdiag_walker *wk;
	uint32_t netns;
	uint32_t states;              /* to dump in this namespace */
	uint32_t seq;
	struct sockdiag_stats *st;
};

int sockdiag_socket(void)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };  /* nl_pid 0 */
	int fd, err;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&kernel, sizeof(kernel))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* One NLM_F_DUMP request for the sockets of family (AF_UNSPEC: both) in
 * states, every record to wk->sock; with the storage map's values when
 * with_storage. */
static int dump_request(struct ns_dump *d, uint8_t family, uint32_t states, bool with_storage)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char req[SOCKDIAG_REQ_MAX];
	uint32_t seq = ++d->seq;
	size_t req_len = sockdiag_build_request(req, family, states,
						with_storage ? d->wk->storage_map_fd : -1, seq);
	uint16_t reply_type = ((struct nlmsghdr *)req)->nlmsg_type;
	struct sockdiag_sock s;
	struct nlmsghdr *nlh;
	struct iovec iov;
	struct msghdr msg;
	ssize_t n;
	int err, len;

	if (sendto(d->fd, req, req_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	/* inet_diag skips the established hash only for listeners alone */
	if (states & ~(1u << SYNFIN_TCP_LISTEN))
		d->st->hash_walks++;

	for (;;) {
		iov = (struct iovec){ .iov_base = d->buf, .iov_len = SOCKDIAG_BUF_LEN };
		msg = (struct msghdr){
			.msg_name = &sa, .msg_namelen = sizeof(sa),
			.msg_iov = &iov, .msg_iovlen = 1,
		};
		n = recvmsg(d->fd, &msg, 0);
		if (n < 0) {
			err = -errno;
			if (err == -EINTR)
				continue;
			return err;
		}
		if (msg.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		if (n == 0)
			return -EPROTO;

		/* the socket is connected to the kernel (sockdiag_socket),
		 * which makes others' sends fail: this is the second lock */
		if (sa.nl_pid != 0)
			continue;
		len = (int)n;
		for (nlh = (struct nlmsghdr *)d->buf; NLMSG_OK(nlh, len);
		     nlh = NLMSG_NEXT(nlh, len)) {
			if (nlh->nlmsg_seq != seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_DONE) {
				/* A dump that failed midway says so here. */
				if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
					memcpy(&err, NLMSG_DATA(nlh), sizeof(err));
					if (err < 0)
						return err;
				}
				return 0;
			}
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nlh);

				if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EBADMSG;
				/* an errno is negative; 0 is an ack no dump asks for */
				return e->error < 0 ? e->error : -EPROTO;
			}
			if (nlh->nlmsg_type != reply_type)
				continue;
			err = sockdiag_parse_msg(nlh, &s);
			if (err)
				return err;
			d->st->sockets_seen++;
			err = d->wk->sock(d->wk->ctx, d->netns, &s);
			if (err)
				return err;
		}
	}
}

/* States whose sockets bring (almost) no storage into a dump that asks for
 * it: request and tw socks have none, and listeners are few. */
#define STORAGE_LIGHT_STATES ((1u << SYNFIN_TCP_LISTEN) | (1u << SYNFIN_TCP_SYN_RECV) | \
			      (1u << SYNFIN_TCP_TIME_WAIT))

/* One family (or both): the states that carry storage in a dump of their
 * own, unless the others are light. Each dump but one of listeners alone
 * walks the whole established hash, every bucket of it (262,144 on a 24
 * GiB host, shared by all namespaces), so an idle census spent most of
 * its time on the second walk. */
static int dump_states(struct ns_dump *d, uint8_t family)
{
	const struct sockdiag_walker *wk = d->wk;
	uint32_t stored = d->states & wk->storage_states;
	uint32_t plain = d->states & ~stored;
	int err = 0;

	if (stored && !(plain & ~STORAGE_LIGHT_STATES))
		return dump_request(d, family, d->states, true);
	if (plain)
		err = dump_request(d, family, plain, false);
	if (!err && stored)
		err = dump_request(d, family, stored, true);
	return err;
}

/* The line of text that starts with key, or NULL. */
static const char *line_starting(const char *text, const char *key)
{
	const char *l;

	for (l = strstr(text, key); l; l = strstr(l + 1, key))
		if (l == text || l[-1] == '\n')
			return l;
	return NULL;
}

int sockdiag_parse_sockstat(const char *v4, const char *v6, struct sockdiag_tcp_count *out)
{
	const char *l4 = line_starting(v4, "TCP: "), *l6 = v6 ? line_starting(v6, "TCP6: ") : NULL;
	unsigned int in4, orphan, tw, in6 = 0;

	if (v6 && (!l6 || sscanf(l6, "TCP6: inuse %u", &in6) != 1))
		return -EINVAL;
	if (!l4 || sscanf(l4, "TCP: inuse %u orphan %u tw %u", &in4, &orphan, &tw) != 3)
		return -EINVAL;
	out->full = in4 + in6;
	out->tw = tw;
	return 0;
}

uint32_t sockdiag_states_present(uint32_t states, const struct sockdiag_tcp_count *n)
{
	/* a tw sock reports its substate: TIME_WAIT, or FIN_WAIT2 */
	uint32_t tw_states = (1u << SYNFIN_TCP_TIME_WAIT) | (1u << SYNFIN_TCP_FIN_WAIT2);
	uint32_t full_states = ~(1u << SYNFIN_TCP_TIME_WAIT);
	uint32_t present = 0;

	if (n->tw)
		present |= tw_states;
	if (n->full)
		present |= full_states;
	return states & present;
}

/* The states of states that some socket in this namespace could be in:
 * its counters in /proc/thread-self/net/sockstat{,6} (sockets hashed, tw
 * socks), read while the thread is inside it. A request sock needs a
 * listener, which is counted. No sockstat6: a kernel without IPv6, so no
 * IPv6 socket. Unreadable counters: all of them. Asking only for what
 * can be there matters beyond an empty namespace: a dump of listeners
 * alone skips the established hash, and one that names TIME_WAIT walks
 * all of it, so a namespace without tw socks is not asked for them. */
static uint32_t netns_states_present(uint32_t states, char *buf)
{
	size_t half = SOCKDIAG_BUF_LEN / 2;
	struct sockdiag_tcp_count n;
	char *v6 = buf + half;
	int err;

	err = read_small_file("/proc/thread-self/net/sockstat6", v6, half);
	if (err == -ENOENT)
		v6 = NULL;
	else if (err)
		return states;
	if (read_small_file("/proc/thread-self/net/sockstat", buf, half) ||
	    sockdiag_parse_sockstat(buf, v6, &n))
		return states;
	return sockdiag_states_present(states, &n);
}

/* Set when the kernel refused a dump of both families at once: from then
 * on each family is dumped apart (SYNFIN_DIAG_BY_FAMILY=1 starts so). */
static int by_family = -1;

bool sockdiag_both_families_at_once(void)
{
	const char *env;

	if (__atomic_load_n(&by_family, __ATOMIC_RELAXED) < 0) {
		env = getenv("SYNFIN_DIAG_BY_FAMILY");
		__atomic_store_n(&by_family, env && *env && strcmp(env, "0"), __ATOMIC_RELAXED);
	}
	return !__atomic_load_n(&by_family, __ATOMIC_RELAXED);
}

bool sockdiag_refuses_both_families(int err)
{
	switch (err) {
	case -EOPNOTSUPP:       /* no inet_diag compat handler */
	case -EINVAL:           /* the request or its attribute not taken */
	case -ENOENT:
	case -EAFNOSUPPORT:
	case -EPROTONOSUPPORT:
		return true;
	default:
		return false;
	}
}

/* Both families of the namespace the thread is in now. Both at once where
 * the kernel takes it: the v4 and the v6 dump each walk the same
 * established hash, every socket of every namespace in it, so a dump of
 * each family cost twice the walk. A kernel that refuses it (the request
 * fails before any socket comes, sockdiag_refuses_both_families) is asked
 * one family at a time. */
static int dump_netns(const struct sockdiag_walker *wk, uint32_t netns, char *buf,
		      struct sockdiag_stats *st)
{
	struct ns_dump d = { .buf = buf, .wk = wk, .netns = netns, .st = st };
	uint32_t seen;
	int err;

	d.fd = sockdiag_socket();
	if (d.fd < 0)
		return d.fd;
	err = wk->netns_begin ? wk->netns_begin(wk->ctx, netns) : 0;
	if (err)
		goto cleanup;
	d.states = wk->netns_states ? wk->netns_states(wk->ctx, netns, wk->states) : wk->states;
	/* A dump walks the whole established hash, whatever the namespace
	 * holds: on a host of many namespaces most have nothing to show,
	 * and each would cost the walk. */
	if (d.states)
		d.states = netns_states_present(d.states, buf);
	if (!d.states)
		goto cleanup;
	if (sockdiag_both_families_at_once()) {
		seen = st->sockets_seen;
		err = dump_states(&d, AF_UNSPEC);
		if (!err || st->sockets_seen != seen || err == -ENOMEM)
			goto cleanup;
		/* this walk goes on a family at a time; later ones too only
		 * when the kernel refused the request */
		if (sockdiag_refuses_both_families(err))
			__atomic_store_n(&by_family, 1, __ATOMIC_RELAXED);
	}
	err = dump_states(&d, AF_INET);
	if (err)
		goto cleanup;
	err = dump_states(&d, AF_INET6);
	/* No IPv6 in this kernel or netns is not a failure. */
	if (err == -ENOENT || err == -EAFNOSUPPORT)
		err = 0;
cleanup:
	if (wk->netns_end)
		wk->netns_end(wk->ctx, netns, err);
	close(d.fd);
	return err;
}

static int ns_add(struct ns_ent **arr, size_t *n, size_t *cap, uint32_t ino,
		  int pid, const char *path)
{
	struct ns_ent *e;
	char *dup = NULL;

	if (path) {
		dup = strdup(path);
		if (!dup)
			return -ENOMEM;
	}
	e = grow_array(*arr, cap, *n + 1, sizeof(**arr));
	if (!e) {
		free(dup);
		return -ENOMEM;
	}
	*arr = e;
	e = &(*arr)[*n];
	e->ino = ino;
	e->order = (uint32_t)*n;
	e->pid = pid;
	e->path = dup;
	memset(e->more, 0, sizeof(e->more));
	(*n)++;
	return 0;
}

static int ns_cmp(const void *a, const void *b)
{
	const struct ns_ent *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static bool parse_pid(const char *name, int *pid)
{
	long v = 0;

	if (!*name)
		return false;
	for (; *name; name++) {
		if (*name < '0' || *name > '9')
			return false;
		v = v * 10 + (*name - '0');
		if (v > 0x7fffffff)
			return false;
	}
	*pid = (int)v;
	return v > 0;
}

static void ns_list_free(struct ns_ent *ns, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ns[i].path);
	free(ns);
}

/* A path that opens e's namespace: its /run/netns name, its process's,
 * or (path NULL, pid 0) ours */
static void ns_ent_path(const struct ns_ent *e, char *buf, size_t len)
{
	if (e->path)
		snprintf(buf, len, "%s", e->path);
	else if (e->pid)
		snprintf(buf, len, "/proc/%d/ns/net", e->pid);
	else
		snprintf(buf, len, "/proc/self/ns/net");
}

/* The distinct network namespaces: our own first, then /run/netns bind
 * mounts (stable names), then every process's. Sorted, one per inode. */
static int collect_netns(const struct stat *self, struct ns_ent **out, size_t *nout,
			 uint32_t *unreadable)
{
	struct ns_ent *arr = NULL;
	size_t n = 0, cap = 0, i, j, k;
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dir = NULL;
	struct stat st;
	int err, pid;

	err = ns_add(&arr, &n, &cap, (uint32_t)self->st_ino, 0, NULL);
	if (err)
		goto cleanup;

	dir = opendir("/run/netns");
	if (dir) {
		while ((de = readdir(dir))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/run/netns/%s", de->d_name);
			/* An unmounted name is a plain tmpfs file: only nsfs
			 * (same device as our own ns file) counts. */
			if (stat(path, &st) || st.st_dev != self->st_dev)
				continue;
			err = ns_add(&arr, &n, &cap, (uint32_t)st.st_ino, 0, path);
			if (err)
				goto cleanup;
		}
		closedir(dir);
		dir = NULL;
	}

	dir = opendir("/proc");
	if (!dir) {
		err = -errno;
		goto cleanup;
	}
	while ((de = readdir(dir))) {
		if (!parse_pid(de->d_name, &pid))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
		if (stat(path, &st)) {
			/* else gone, or a zombie */
			if (errno == EACCES || errno == EPERM)
				(*unreadable)++;
			continue;
		}
		err = ns_add(&arr, &n, &cap, (uint32_t)st.st_ino, pid, NULL);
		if (err)
			goto cleanup;
	}

	qsort(arr, n, sizeof(*arr), ns_cmp);
	for (i = 0, j = 0, k = 0; i < n; i++) {
		if (j && arr[j - 1].ino == arr[i].ino) {
			if (arr[i].pid && k < NS_MORE_PIDS)
				arr[j - 1].more[k++] = arr[i].pid;
			free(arr[i].path);
			continue;
		}
		arr[j++] = arr[i];
		k = 0;
	}
	n = j;
	err = 0;
cleanup:
	if (dir)
		closedir(dir);
	if (err) {
		ns_list_free(arr, n);
		arr = NULL;
		n = 0;
	}
	*out = arr;
	*nout = n;
	return err;
}

/* SYNFIN_TEST_NS_PIDS_GONE=N: the first N processes kept for a
 * namespace no name holds count as gone by the time the walk enters it,
 * so the tests can show the walk going in through the next, and missing
 * the namespace when none is left. */
static int test_ns_pids_gone(void)
{
	static int gone = -1;

	if (__atomic_load_n(&gone, __ATOMIC_RELAXED) < 0) {
		const char *env = getenv("SYNFIN_TEST_NS_PIDS_GONE");

		__atomic_store_n(&gone, env ? atoi(env) : 0, __ATOMIC_RELAXED);
	}
	return __atomic_load_n(&gone, __ATOMIC_RELAXED);
}

/* Enter e through its name, its process or ours. Returns 0 or -errno. */
static int enter_one(const struct ns_ent *e, int orig_fd, uint32_t orig_ino,
		     uint32_t *cur_ino)
{
	char path[PATH_MAX];
	struct stat st;
	int fd = -1, err;

	if (e->ino == *cur_ino)
		return 0;
	if (e->ino == orig_ino) {
		fd = orig_fd;
	} else {
		ns_ent_path(e, path, sizeof(path));
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		/* The pid may have exited and been reused since the scan. */
		if (fstat(fd, &st)) {
			err = -errno;
			goto cleanup;
		}
		if ((uint32_t)st.st_ino != e->ino) {
			err = -ESRCH;
			goto cleanup;
		}
	}
	if (setns(fd, CLONE_NEWNET)) {
		err = -errno;
		goto cleanup;
	}
	*cur_ino = e->ino;
	err = 0;
cleanup:
	if (fd != orig_fd)
		close(fd);
	return err;
}

/* Enter e (or stay, if already there): through the process that named
 * it, or when that one has gone (or its pid is another's now), through
 * the next of those kept. Returns 0 or -errno. */
static int enter_netns(const struct ns_ent *e, int orig_fd, uint32_t orig_ino,
		       uint32_t *cur_ino)
{
	int gone = !e->path && e->pid ? test_ns_pids_gone() : 0;
	struct ns_ent next = *e;
	int err = gone > 0 ? -ESRCH : enter_one(e, orig_fd, orig_ino, cur_ino);

	next.path = NULL;
	for (int k = 0; (err == -ENOENT || err == -ESRCH) && k < NS_MORE_PIDS && e->more[k]; k++) {
		next.pid = e->more[k];
		err = k + 1 < gone ? -ESRCH : enter_one(&next, orig_fd, orig_ino, cur_ino);
	}
	return err;
}

/* comm of pid without its newline; empty when the process is gone. */
static void read_comm(int pid, char *comm)
{
	char path[64];
	ssize_t n;
	int fd;

	comm[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, comm, SYNFIN_COMM_LEN - 1);
	close(fd);
	if (n <= 0)
		return;
	comm[n] = '\0';
	if (comm[n - 1] == '\n')
		comm[n - 1] = '\0';
}

struct owner_idx {
	uint32_t inode;
	uint32_t cand;
	uint32_t last_pid;  /* the last process counted as holding it */
};

static int owner_cmp(const void *a, const void *b)
{
	const struct owner_idx *x = a, *y = b;

	if (x->inode != y->inode)
		return x->inode < y->inode ? -1 : 1;
	return 0;
}

/* One pass over /proc/[tgid]/fd: the first tgid holding a candidate's
 * socket owns it; with two, a second tgid holding it too is its also_*,
 * and every tgid past the first is counted in its others. Without two
 * the pass ends when every candidate has its owner; with two it reads
 * all of /proc, as any process may hold a copy. The index holds only
 * the candidates, so its size is bounded by them and nothing is capped. */
static int find_holders(struct synfin_seed *cands, size_t ncands, bool two)
{
	struct owner_idx *idx = NULL, key, *hit;
	char path[64], link[64], comm[SYNFIN_COMM_LEN];
	size_t nidx = 0, left, i;
	struct dirent *de, *fde;
	DIR *proc = NULL, *fds = NULL;
	int err, pid, comm_pid;
	uint32_t ino;
	ssize_t n;

	idx = calloc(ncands ? ncands : 1, sizeof(*idx));
	if (!idx) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < ncands; i++) {
		if (!cands[i].inode)
			continue;  /* orphan or request sock: no process holds it */
		idx[nidx].inode = cands[i].inode;
		idx[nidx].cand = (uint32_t)i;
		nidx++;
	}
	left = nidx;
	if (!left) {
		err = 0;
		goto cleanup;
	}
	qsort(idx, nidx, sizeof(*idx), owner_cmp);

	proc = opendir("/proc");
	if (!proc) {
		err = -errno;
		goto cleanup;
	}
	/* readdir of /proc lists thread group leaders only, not tasks. */
	while (left && (de = readdir(proc))) {
		if (!parse_pid(de->d_name, &pid))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd", pid);
		fds = opendir(path);
		if (!fds)
			continue;  /* exited, or a kernel thread */
		comm_pid = 0;
		while (left && (fde = readdir(fds))) {
			if (fde->d_name[0] == '.')
				continue;
			n = readlinkat(dirfd(fds), fde->d_name, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			if (sockdiag_parse_socket_link(link, &ino))
				continue;
			key.inode = ino;
			hit = bsearch(&key, idx, nidx, sizeof(*idx), owner_cmp);
			if (!hit)
				continue;
			/* bsearch lands anywhere in a run of equal inodes. */
			while (hit > idx && hit[-1].inode == ino)
				hit--;
			for (; hit < idx + nidx && hit->inode == ino; hit++) {
				struct synfin_seed *sd = &cands[hit->cand];

				/* a process can hold a socket in several fds,
				 * and /proc lists a process's fds together */
				if (sd->pid == (uint32_t)pid || hit->last_pid == (uint32_t)pid ||
				    (sd->pid && !two))
					continue;
				hit->last_pid = (uint32_t)pid;
				if (sd->pid) {
					sd->others++;
					if (sd->also_pid)
						continue;  /* counted, not named */
				}
				if (comm_pid != pid) {
					read_comm(pid, comm);
					comm_pid = pid;
				}
				if (!sd->pid) {
					sd->pid = (uint32_t)pid;
					memcpy(sd->comm, comm, SYNFIN_COMM_LEN);
					left -= !two;
				} else {
					sd->also_pid = (uint32_t)pid;
					memcpy(sd->also_comm, comm, SYNFIN_COMM_LEN);
				}
			}
		}
		closedir(fds);
		fds = NULL;
	}
	err = 0;
cleanup:
	if (fds)
		closedir(fds);
	if (proc)
		closedir(proc);
	free(idx);
	return err;
}

int sockdiag_find_owners(struct synfin_seed *cands, size_t ncands)
{
	return find_holders(cands, ncands, false);
}

int sockdiag_find_two_holders(struct synfin_seed *cands, size_t ncands)
{
	return find_holders(cands, ncands, true);
}

int sockdiag_netns_path(uint32_t ino, char *path, size_t len)
{
	uint32_t unreadable = 0;
	struct ns_ent *ns = NULL;
	size_t nns = 0, i;
	struct stat self;
	int err;

	if (stat("/proc/self/ns/net", &self))
		return -errno;
	err = collect_netns(&self, &ns, &nns, &unreadable);
	if (err)
		goto cleanup;
	err = unreadable ? -EACCES : 0;
	for (i = 0; i < nns; i++) {
		if (ns[i].ino != ino)
			continue;
		ns_ent_path(&ns[i], path, len);
		err = 1;
		break;
	}
cleanup:
	ns_list_free(ns, nns);
	return err;
}

int sockdiag_walk(const struct sockdiag_walker *wk, struct sockdiag_stats *stats)
{
	struct sockdiag_stats local_stats;
	struct ns_ent *ns = NULL;
	size_t nns = 0, i;
	uint32_t orig_ino, cur_ino;
	int orig_fd = -1, err, first_err = 0, fatal = 0;
	struct stat self;
	char *buf = NULL;

	if (!stats)
		stats = &local_stats;
	memset(stats, 0, sizeof(*stats));

	/* Opened before any setns: /proc/thread-self/ns/net follows the
	 * thread, and only this thread moves. */
	orig_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (orig_fd < 0) {
		err = -errno;
		goto cleanup;
	}
	if (fstat(orig_fd, &self)) {
		err = -errno;
		goto cleanup;
	}
	orig_ino = cur_ino = (uint32_t)self.st_ino;

	buf = malloc(SOCKDIAG_BUF_LEN);
	if (!buf) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = collect_netns(&self, &ns, &nns, &stats->procs_unreadable);
	if (err)
		goto cleanup;

	for (i = 0; i < nns; i++) {
		if (wk->only_netns && ns[i].ino != wk->only_netns)
			continue;
		err = enter_netns(&ns[i], orig_fd, orig_ino, &cur_ino);
		/* Gone since the list was made: nothing in it to miss, not a
		 * failure to report. (Or every process kept for it is gone,
		 * and others hold it; the census's next walk finds it.) */
		if (err == -ENOENT || err == -ESRCH)
			continue;
		/* the inode of a --netns that has gone, now another's */
		if (!err && wk->only_netns_cookie && netns_cookie_here() != wk->only_netns_cookie)
			continue;
		if (!err)
			err = dump_netns(wk, ns[i].ino, buf, stats);
		if (err == -ENOMEM) {
			fatal = err;
			break;
		}
		if (err) {
			stats->netns_failed++;
			if (!first_err)
				stats->netns_failed_err = first_err = err;
			continue;
		}
		stats->netns_visited++;
	}

	/* Home first, whatever happened above. */
	if (cur_ino != orig_ino && setns(orig_fd, CLONE_NEWNET)) {
		err = -errno;
		goto cleanup;
	}
	err = fatal;
	if (!err && !stats->netns_visited)
		err = first_err;
cleanup:
	ns_list_free(ns, nns);
	free(buf);
	if (orig_fd >= 0)
		close(orig_fd);
	return err;
}

int sockdiag_seed(struct engine *eng, const struct synfin_filter *f,
		  uint64_t now_ns, struct sockdiag_stats *stats)
{
	struct sockdiag_stats local_stats;
	struct seed_ctx c = { .f = f, .max_cands = engine__max_conns(eng) };
	struct sockdiag_walker wk = {
		/* All states but real TIME_WAIT, which can be numerous and is
		 * never seeded. A tw in substate FIN_WAIT2 still comes and is
		 * skipped by its timer. */
		.states = ~0u & ~(1u << SYNFIN_TCP_TIME_WAIT),
		.only_netns = f ? f->netns : 0,
		.only_netns_cookie = f ? f->netns_cookie : 0,
		.netns_begin = seed_netns_begin,
		.sock = seed_sock,
		.netns_end = seed_netns_end,
		.ctx = &c,
	};
	size_t i;
	int err;

	if (!stats)
		stats = &local_stats;
	err = sockdiag_walk(&wk, stats);
	stats->seeds_passed_over = c.passed_over;
	if (err || !c.ncands)
		goto cleanup;

	err = sockdiag_find_owners(c.cands, c.ncands);
	if (err)
		goto cleanup;
	for (i = 0; i < c.ncands; i++) {
		/* the owner is final here: an unowned seed is not the
		 * process asked for */
		if (!filter_owner_passes(f, c.cands[i].pid, c.cands[i].comm))
			continue;
		engine__seed(eng, &c.cands[i], now_ns);
		stats->sockets_seeded++;
	}
cleanup:
	free(c.cands);
	free(c.ls);
	return err;
}
