// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The periodic census (census.h): one sock_diag walk over every network
 * namespace per interval, in a thread of its own.
 */
#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "addr.h"
#include "census.h"
#include "clock.h"
#include "filter.h"
#include "grow.h"
#include "lower_bound.h"
#include "owner_cache.h"
#include "readfile.h"

#define NETSTAT_MAX (64 * 1024)
/* CPU budget of the walks (census_opts.budget_pct, 5% of a core by
 * default): the interval is at least the last walk's CPU time over it.
 * The TIME_WAIT part's is this share of it (2% of a core by default). */
#define TW_BUDGET_SHARE 0.4
/* ... and each of the scans of every process's fds, for listeners' owners
 * and CLOSE_WAIT sockets' holders, this share (1% of a core) */
#define OWNER_BUDGET_SHARE 0.2
/* How long a closed listener still claims the tw socks on its port: their
 * 60 s (TCP_TIMEWAIT_LEN), and the walks' spacing past it */
#define GONE_LISTENER_NS (65ULL * 1000000000ULL)

static const char *const mib_names[MIB_MAX] = {
	[MIB_SYNCOOKIES_SENT] = "SyncookiesSent",
	[MIB_SYNCOOKIES_RECV] = "SyncookiesRecv",
	[MIB_SYNCOOKIES_FAILED] = "SyncookiesFailed",
	[MIB_LISTEN_OVERFLOWS] = "ListenOverflows",
	[MIB_LISTEN_DROPS] = "ListenDrops",
	[MIB_REQQ_FULL_DO_COOKIES] = "TCPReqQFullDoCookies",
	[MIB_REQQ_FULL_DROP] = "TCPReqQFullDrop",
	[MIB_TW_OVERFLOW] = "TCPTimeWaitOverflow",
	[MIB_SYN_RETRANS] = "TCPSynRetrans",
};

/* A request or tw sock kept until its namespace's listeners are all known:
 * a dual-stack listener arrives with the IPv6 dump, after the IPv4 socks
 * it covers. */
struct pending {
	uint8_t family;
	uint8_t laddr[SYNFIN_ADDR_LEN];
	uint8_t raddr[SYNFIN_ADDR_LEN];
	uint16_t lport, rport;
	uint32_t listener;            /* half-open: index into listeners, after matching */
};

struct walk_ctx {
	const struct census_opts *opts;
	struct census *c;
	uint64_t start_ns;            /* when the walk began */
	size_t listeners_cap, tw_cap, netns_cap;
	size_t first_listener;        /* this netns's first listener */
	size_t first_close_wait;      /* ... and first CLOSE_WAIT socket */
	size_t first_wanted;          /* ... and first of census_opts.cw_wants */
	size_t close_waits_cap, wanted_cap;
	uint32_t netns;               /* the one being walked */
	uint32_t states_before[SYNFIN_TCP_MAX_STATES]; /* to undo a failed netns */
	char *buf;                    /* NETSTAT_MAX, for the /proc reads */
	bool tw_skipped;              /* its tw socks, read at its start, too few to ask */
	bool syn_recv_asked;          /* its request socks are in this walk's dump */
	struct pending *reqs, *tws;
	size_t nreqs, reqs_cap, ntws, tws_cap;
	int err;                      /* ENOMEM seen: the census is not trusted */
	const struct census_netns *prev; /* the one being walked, the last walk */
};

int census_parse_netstat(const char *text, uint64_t mib[MIB_MAX])
{
	const char *names = NULL, *line = text, *values;
	bool found = false;

	memset(mib, 0, sizeof(uint64_t) * MIB_MAX);
	/* Pairs of lines: "TcpExt: Name1 Name2 ...", "TcpExt: 1 2 ...". */
	while (line && *line) {
		const char *next = strchr(line, '\n');

		if (!strncmp(line, "TcpExt:", 7)) {
			if (!names) {
				names = line + 7;
			} else {
				const char *n = names;

				values = line + 7;
				found = true;
				for (;;) {
					size_t nlen, i;
					char *end;
					unsigned long long v;

					while (*n == ' ')
						n++;
					while (*values == ' ')
						values++;
					if (*n == '\n' || !*n || *values == '\n' || !*values)
						break;
					nlen = strcspn(n, " \n");
					v = strtoull(values, &end, 10);
					if (end == values)
						break;
					for (i = 0; i < MIB_MAX; i++)
						if (strlen(mib_names[i]) == nlen &&
						    !strncmp(n, mib_names[i], nlen))
							mib[i] = v;
					n += nlen;
					values = end;
				}
				names = NULL;
			}
		}
		line = next ? next + 1 : NULL;
	}
	return found ? 0 : -EINVAL;
}

static int netns_cmp(const void *key, const void *elem)
{
	uint32_t a = *(const uint32_t *)key, b = ((const struct census_netns *)elem)->netns;

	return a < b ? -1 : a > b;
}

static int netns_sort_cmp(const void *a, const void *b)
{
	return netns_cmp(&((const struct census_netns *)a)->netns, b);
}

/* The sysctls of the namespace the thread is in now (/proc/sys/net
 * follows the calling thread), or, on a host of many namespaces and while
 * they are fresh, the previous walk's. Opening them is not cheap there:
 * /proc/sys's lookup compares the name against an entry per namespace,
 * so opening both in every namespace every walk was quadratic (150 ms a
 * walk at 1,000 namespaces, a third of its cost; under 1 ms at 64). There
 * they are read again after census_sysctl_refresh_ns(), which differs by
 * namespace so that not all come due in one walk; below it, every walk,
 * so that a changed port range counts at once. */
static void read_netns_sysctls(struct walk_ctx *w, struct census_netns *ns,
			       const struct census_netns *prev)
{
	unsigned int lo, hi, tw;
	bool ok = true;

	if (prev && prev->sysctl_ns && w->opts->nprev_netns >= CENSUS_SYSCTL_CARRY_MIN_NETNS &&
	    w->start_ns - prev->sysctl_ns < census_sysctl_refresh_ns(ns->netns)) {
		ns->port_lo = prev->port_lo;
		ns->port_hi = prev->port_hi;
		ns->max_tw_buckets = prev->max_tw_buckets;
		ns->sysctl_ns = prev->sysctl_ns;
		return;
	}
	w->c->sysctl_reads++;
	if (!read_small_file("/proc/sys/net/ipv4/ip_local_port_range", w->buf, 64) &&
	    sscanf(w->buf, "%u %u", &lo, &hi) == 2 && lo <= hi) {
		ns->port_lo = lo;
		ns->port_hi = hi;
	} else {
		ok = false;
	}
	if (!read_small_file("/proc/sys/net/ipv4/tcp_max_tw_buckets", w->buf, 64) &&
	    sscanf(w->buf, "%u", &tw) == 1)
		ns->max_tw_buckets = tw;
	else
		ok = false;
	/* one that could not be read is tried again next walk */
	ns->sysctl_ns = ok ? w->start_ns : 0;
}

uint64_t census_sysctl_refresh_ns(uint32_t netns)
{
	return CENSUS_SYSCTL_REFRESH_NS + (uint64_t)(netns % 16) * 1000000000ULL;
}

/* The kernel's count of the namespace's tw socks, both families' (one
 * tcp_death_row), read as its walk ends: the nearest moment to the
 * monitor's look at the engine's count (census_netns.tw_socks). */
static void read_tw_socks(struct census_netns *ns, char *buf)
{
	struct sockdiag_tcp_count socks;

	if (!read_small_file("/proc/thread-self/net/sockstat", buf, NETSTAT_MAX) &&
	    !sockdiag_parse_sockstat(buf, NULL, &socks)) {
		ns->tw_socks = socks.tw;
		ns->tw_socks_ok = true;
	}
}

static int census_netns_begin(void *ctx, uint32_t netns)
{
	struct walk_ctx *w = ctx;
	struct census *c = w->c;
	struct census_netns *ns;

	/* first, so a failure below is undone to here */
	memcpy(w->states_before, c->states, sizeof(c->states));
	w->tw_skipped = false;
	w->first_listener = c->nlisteners;
	w->first_close_wait = c->nclose_waits;
	w->first_wanted = c->nwanted;
	ns = grow_array(c->netns, &w->netns_cap, c->nnetns + 1, sizeof(*c->netns));
	if (!ns)
		return -ENOMEM;
	c->netns = ns;
	ns = &c->netns[c->nnetns++];
	memset(ns, 0, sizeof(*ns));
	ns->netns = netns;
	/* the counters: /proc/thread-self/net follows the calling thread */
	if (!read_small_file("/proc/thread-self/net/netstat", w->buf, NETSTAT_MAX))
		ns->mib_ok = !census_parse_netstat(w->buf, ns->mib);
	w->prev = census_netns_find(w->opts->prev_netns, w->opts->nprev_netns, netns);
	read_netns_sysctls(w, ns, w->prev);
	w->netns = netns;
	w->nreqs = 0;
	w->ntws = 0;
	w->syn_recv_asked = false;
	return 0;
}

bool census_syn_recv_needed(const struct census_netns *now, const struct census_netns *prev,
			    uint64_t now_ns)
{
	static const enum census_mib trouble[] = {
		MIB_SYN_RETRANS, MIB_SYNCOOKIES_SENT, MIB_LISTEN_OVERFLOWS, MIB_LISTEN_DROPS,
		MIB_REQQ_FULL_DO_COOKIES, MIB_REQQ_FULL_DROP,
	};

	if (!prev || !prev->syn_recv_ns || !now->mib_ok || !prev->mib_ok ||
	    now_ns - prev->syn_recv_ns >= (prev->syn_recv_found ? CENSUS_SYN_RECV_REFRESH_NS :
					   CENSUS_SYN_RECV_QUIET_REFRESH_NS))
		return true;
	for (size_t i = 0; i < sizeof(trouble) / sizeof(trouble[0]); i++)
		if (now->mib[trouble[i]] != prev->mib[trouble[i]])
			return true;
	return false;
}

/* Whether the namespace just begun holds too few tw socks, by the kernel's
 * own count, for any group of them to raise timewait_buildup. */
static bool tw_too_few_to_alert(struct walk_ctx *w, struct census_netns *ns)
{
	read_tw_socks(ns, w->buf);
	return ns->tw_socks_ok &&
	       ns->tw_socks < detect_timewait_floor(w->opts->tw_alerts, ns->max_tw_buckets,
						    census_port_range(ns));
}

/* The states to dump in the namespace just begun: its request socks only
 * when census_syn_recv_needed says so, its TIME_WAIT socks only when they
 * could raise an alert (census_opts.tw_alerts). */
static uint32_t census_netns_states(void *ctx, uint32_t netns, uint32_t states)
{
	struct walk_ctx *w = ctx;
	struct census_netns *ns = &w->c->netns[w->c->nnetns - 1];
	const struct census_netns *prev;

	(void)netns; /* the one just begun: w->prev is its last walk's */
	if (states & (1u << SYNFIN_TCP_TIME_WAIT)) {
		if (w->opts->tw_alerts && tw_too_few_to_alert(w, ns)) {
			states &= ~(1u << SYNFIN_TCP_TIME_WAIT);
			w->c->tw_too_few++;
			w->tw_skipped = true;
		} else {
			w->c->tw_asked++;
		}
	}
	if (!(states & (1u << SYNFIN_TCP_SYN_RECV)))
		return states;
	/* top counts every state, every walk */
	prev = w->opts->all_states ? NULL : w->prev;
	if (census_syn_recv_needed(ns, prev, w->start_ns)) {
		ns->syn_recv_ns = w->start_ns;
		w->syn_recv_asked = true;
		return states;
	}
	ns->syn_recv_ns = prev->syn_recv_ns;
	ns->syn_recv_found = prev->syn_recv_found;
	return states & ~(1u << SYNFIN_TCP_SYN_RECV);
}

static int add_pending(struct pending **arr, size_t *n, size_t *cap,
		       const struct sockdiag_sock *s)
{
	struct pending *p = grow_array(*arr, cap, *n + 1, sizeof(**arr));

	if (!p)
		return -ENOMEM;
	*arr = p;
	p = &(*arr)[(*n)++];
	p->family = s->family;
	memcpy(p->laddr, s->laddr, SYNFIN_ADDR_LEN);
	memcpy(p->raddr, s->raddr, SYNFIN_ADDR_LEN);
	p->lport = s->lport;
	p->rport = s->rport;
	p->listener = UINT32_MAX;
	return 0;
}

/* cw anew: the socket's tuple, the rest zero */
static void close_wait_tuple(struct census_close_wait *cw, uint32_t netns,
			     const struct sockdiag_sock *s)
{
	memset(cw, 0, sizeof(*cw));
	cw->cookie = s->cookie;
	cw->inode = s->inode;
	cw->netns = netns;
	cw->family = s->family;
	cw->lport = s->lport;
	cw->rport = s->rport;
	memcpy(cw->raddr, s->raddr, SYNFIN_ADDR_LEN);
}

int census_close_wait_cmp(const void *a, const void *b)
{
	const struct census_close_wait *x = a, *y = b;

	if (x->netns != y->netns)
		return x->netns < y->netns ? -1 : 1;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->lport != y->lport)
		return x->lport < y->lport ? -1 : 1;
	if (x->rport != y->rport)
		return x->rport < y->rport ? -1 : 1;
	return memcmp(x->raddr, y->raddr, SYNFIN_ADDR_LEN);
}

/* A socket in CLOSE_WAIT the engine or the classic map knows
 * (census_opts.cw_wants): listed with its tuple and inode, for its holder. */
static int add_wanted(struct walk_ctx *w, uint32_t netns, const struct sockdiag_sock *s)
{
	struct census *c = w->c;
	const struct census_close_wait *want;
	struct census_close_wait key, *cw;

	if (!w->opts->ncw_wants)
		return 0;
	close_wait_tuple(&key, netns, s);
	want = bsearch(&key, w->opts->cw_wants, w->opts->ncw_wants, sizeof(key),
		       census_close_wait_cmp);
	if (!want)
		return 0;
	if (c->nwanted >= w->opts->max_close_waits) {
		c->close_waits_dropped++;
		return 0;
	}
	cw = grow_array(c->wanted, &w->wanted_cap, c->nwanted + 1, sizeof(*c->wanted));
	if (!cw)
		return -ENOMEM;
	c->wanted = cw;
	cw = &c->wanted[c->nwanted++];
	*cw = key;
	cw->since_ns = want->since_ns;
	cw->owner = want->owner;
	return 0;
}

/* A socket in CLOSE_WAIT: kept when its storage says synfin saw it enter
 * (the rest, from before synfin started, the engine's seeds stand for,
 * and add_wanted lists for their holders). 1: it carried a mark. */
static int add_marked(struct walk_ctx *w, uint32_t netns, const struct sockdiag_sock *s)
{
	struct census *c = w->c;
	struct census_close_wait *cw;
	struct synfin_sk_owner own;

	if (!w->opts->close_waits || !s->storage || s->storage_len < sizeof(own))
		return 0;
	/* a netlink attribute is 4-byte aligned, the struct wants 8: a copy */
	memcpy(&own, s->storage, sizeof(own));
	if (!own.cw_since_ns)
		return 0;
	/* Too young at the walk for the tally, which leaves it out: not
	 * listed. A walk that meets a mass close (100,000 held connections
	 * closing at once) would list every server in CLOSE_WAIT for that
	 * moment, up to max_close_waits of 96 bytes each. */
	if (own.cw_since_ns + w->opts->close_wait_min_age_ns > w->start_ns) {
		c->close_waits_young++;
		return 1;
	}
	if (c->nclose_waits >= w->opts->max_close_waits) {
		c->close_waits_dropped++;
		return 1;
	}
	cw = grow_array(c->close_waits, &w->close_waits_cap, c->nclose_waits + 1,
			sizeof(*c->close_waits));
	if (!cw)
		return -ENOMEM;
	c->close_waits = cw;
	cw = &c->close_waits[c->nclose_waits++];
	close_wait_tuple(cw, netns, s);
	cw->since_ns = own.cw_since_ns;
	if (own.flags & SYNFIN_F_OWNER_KNOWN) {
		cw->owner.pid = own.pid;
		memcpy(cw->owner.comm, own.comm, SYNFIN_COMM_LEN);
	}
	return 1;
}

static int census_sock(void *ctx, uint32_t netns, const struct sockdiag_sock *s)
{
	struct walk_ctx *w = ctx;
	struct census *c = w->c;
	struct census_listener *l;
	int err;

	if (s->state < SYNFIN_TCP_MAX_STATES)
		c->states[s->state]++;
	switch (s->state) {
	case SYNFIN_TCP_LISTEN:
		l = grow_array(c->listeners, &w->listeners_cap, c->nlisteners + 1,
			 sizeof(*c->listeners));
		if (!l)
			return -ENOMEM;
		c->listeners = l;
		l = &c->listeners[c->nlisteners++];
		memset(l, 0, sizeof(*l));
		l->ep.netns = netns;
		l->ep.family = s->family;
		memcpy(l->ep.addr, s->laddr, SYNFIN_ADDR_LEN);
		l->ep.port = s->lport;
		l->inode = s->inode;
		l->accept_queue = s->rqueue;
		l->backlog = s->wqueue;
		return 0;
	case SYNFIN_TCP_SYN_RECV:
		/* Only request socks. A full socket in SYN_RECV is a Fast
		 * Open child (in the accept queue, counted there, no inode
		 * until accepted), a simultaneous open, or an orphan: none
		 * is a half-open entry of the listener's. */
		if (s->inode || s->full)
			return 0;
		return add_pending(&w->reqs, &w->nreqs, &w->reqs_cap, s);
	case SYNFIN_TCP_TIME_WAIT:
		return add_pending(&w->tws, &w->ntws, &w->tws_cap, s);
	case SYNFIN_TCP_CLOSE_WAIT:
		err = add_marked(w, netns, s);
		if (err)
			return err < 0 ? err : 0;
		return add_wanted(w, netns, s);
	default:
		return 0;
	}
}

static bool addr_zero(const uint8_t *a)
{
	static const uint8_t zero[SYNFIN_ADDR_LEN];

	return !memcmp(a, zero, SYNFIN_ADDR_LEN);
}

/* Does the listener at l take connections to e? Same netns and port, and
 * the address rule of the seed's roles. */
static bool listener_takes(const struct live_endpoint *l, const struct live_endpoint *e)
{
	return l->netns == e->netns && l->port == e->port &&
	       sockdiag_listener_covers(l->family, l->addr, e->family, e->addr);
}

/* Listeners, and the endpoints kept of them, are in the order of (netns,
 * port, family, address), so that a socket's listener is a search by
 * (netns, port) and then the few at that port. A walk matched every
 * request and tw sock, and every listener of the last walk, against all
 * of them: 19,000 listeners took a quarter of a core. The arrays hold
 * structs that begin with their endpoint. */
_Static_assert(offsetof(struct census_listener, ep) == 0, "ep first");
_Static_assert(offsetof(struct census_gone_listener, ep) == 0, "ep first");

/* (netns, port) alone: the key of a search */
static int endpoint_port_cmp(const void *a, const void *b)
{
	const struct live_endpoint *x = a, *y = b;

	if (x->netns != y->netns)
		return x->netns < y->netns ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return 0;
}

static int endpoint_order(const struct live_endpoint *x, const struct live_endpoint *y)
{
	int r = endpoint_port_cmp(x, y);

	if (r)
		return r;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->addr, y->addr, SYNFIN_ADDR_LEN);
}

static int endpoint_sort_cmp(const void *a, const void *b)
{
	return endpoint_order(a, b);
}

#define EP_AT(base, size, i) ((const struct live_endpoint *)((const char *)(base) + (i) * (size)))

/* The first of n endpoint-led elements of size bytes (in endpoint order)
 * whose (netns, port) is not below (netns, port): the start of its run. */
static size_t first_at_port(const void *base, size_t size, size_t n, uint32_t netns,
			    uint16_t port)
{
	struct live_endpoint key = { .netns = netns, .port = port };

	return lower_bound(&key, base, n, size, endpoint_port_cmp);
}

/* Of those elements, the one that takes a connection to e, or -1: a
 * specific address wins over the wildcard, as in the kernel. */
static ptrdiff_t find_taker(const void *base, size_t size, size_t n,
			    const struct live_endpoint *e)
{
	ptrdiff_t wildcard = -1;

	for (size_t i = first_at_port(base, size, n, e->netns, e->port); i < n; i++) {
		const struct live_endpoint *l = EP_AT(base, size, i);

		if (endpoint_port_cmp(l, e))
			break;
		if (!listener_takes(l, e))
			continue;
		if (!addr_zero(l->addr))
			return (ptrdiff_t)i;
		if (wildcard < 0)
			wildcard = (ptrdiff_t)i;
	}
	return wildcard;
}

static void sort_listeners(struct census_listener *ls, size_t n)
{
	if (n > 1)
		qsort(ls, n, sizeof(*ls), endpoint_sort_cmp);
}

void census_sort_listeners(struct census *c)
{
	sort_listeners(c->listeners, c->nlisteners);
}

int census_find_listener(const struct census *c, size_t first, const struct live_endpoint *e)
{
	ptrdiff_t i;

	if (first >= c->nlisteners)
		return -1;
	i = find_taker(c->listeners + first, sizeof(*c->listeners), c->nlisteners - first, e);
	return i < 0 ? -1 : (int)(first + (size_t)i);
}

/* The listener of this netns (from first on) taking (family, addr, port),
 * or UINT32_MAX. */
static uint32_t find_listener(const struct census *c, size_t first, uint32_t netns,
			      uint8_t family, const uint8_t *addr, uint16_t port)
{
	struct live_endpoint e = { .netns = netns, .family = family, .port = port };
	int i;

	memcpy(e.addr, addr, SYNFIN_ADDR_LEN);
	i = census_find_listener(c, first, &e);
	return i < 0 ? UINT32_MAX : (uint32_t)i;
}

/* A listener of this netns that closed lately takes (family, addr, port). */
static bool gone_listener_takes(const struct census_opts *opts, uint32_t netns, uint8_t family,
				const uint8_t *addr, uint16_t port)
{
	struct live_endpoint e = { .netns = netns, .family = family, .port = port };

	memcpy(e.addr, addr, SYNFIN_ADDR_LEN);
	return find_taker(opts->gone_listeners, sizeof(*opts->gone_listeners),
			  opts->ngone_listeners, &e) >= 0;
}

static int pending_cmp(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;

	if (x->listener != y->listener)
		return x->listener < y->listener ? -1 : 1;
	return memcmp(x->raddr, y->raddr, SYNFIN_ADDR_LEN);
}

/* Request socks to their listeners: half-open count and distinct sources. */
static void settle_half_open(struct walk_ctx *w)
{
	struct census *c = w->c;
	size_t i;

	for (i = 0; i < w->nreqs; i++) {
		struct pending *p = &w->reqs[i];

		p->listener = find_listener(c, w->first_listener, w->netns, p->family,
					    p->laddr, p->lport);
	}
	if (w->nreqs > 1) /* qsort wants an array even for none */
		qsort(w->reqs, w->nreqs, sizeof(*w->reqs), pending_cmp);
	for (i = 0; i < w->nreqs; i++) {
		struct pending *p = &w->reqs[i];
		struct census_listener *l;

		if (p->listener == UINT32_MAX)
			continue;
		l = &c->listeners[p->listener];
		l->half_open++;
		if (!i || pending_cmp(&w->reqs[i - 1], p))
			l->sources++;
	}
}

static int tw_cmp(const void *a, const void *b)
{
	const struct census_tw *x = a, *y = b;
	int r;

	if (x->side != y->side)
		return x->side < y->side ? -1 : 1;
	if (x->ep.family != y->ep.family)
		return x->ep.family < y->ep.family ? -1 : 1;
	if (x->ep.port != y->ep.port)
		return x->ep.port < y->ep.port ? -1 : 1;
	r = memcmp(x->ep.addr, y->ep.addr, SYNFIN_ADDR_LEN);
	return r;
}

/* TIME_WAIT socks to groups: a tw whose local port a listener here takes
 * was left by this host's server; any other by a client of this host,
 * grouped by where it went. Sorted and folded, so memory is one entry per
 * tw sock for the moment of the fold, then one per group. */
static int settle_time_wait(struct walk_ctx *w, const struct census_netns *ns)
{
	struct census *c = w->c;
	size_t first = c->ntw, i, j;
	struct census_tw *t;

	if (!w->ntws)
		return 0;
	t = grow_array(c->tw, &w->tw_cap, c->ntw + w->ntws, sizeof(*c->tw));
	if (!t)
		return -ENOMEM;
	c->tw = t;
	for (i = 0; i < w->ntws; i++) {
		const struct pending *p = &w->tws[i];
		bool server = find_listener(c, w->first_listener, ns->netns, p->family,
					    p->laddr, p->lport) != UINT32_MAX ||
			      gone_listener_takes(w->opts, ns->netns, p->family, p->laddr,
						  p->lport);

		/* the family judged as the sock has it: its group's may be
		 * IPv4 for a dual-stack sock's (conn_addr_key) */
		if ((w->opts->tw_filter &&
		     !filter_family_netns_passes(w->opts->tw_filter, p->family, ns->netns)) ||
		    (!server && !filter_ends_pass(w->opts->tw_filter, p->family, p->laddr,
						  p->lport, p->raddr, p->rport)))
			continue;
		t = &c->tw[c->ntw++];
		memset(t, 0, sizeof(*t));
		t->ep.netns = ns->netns;
		t->count = 1;
		if (server) {
			t->side = TW_SIDE_SERVER;
			t->ep.family = conn_addr_key(p->family, p->laddr, p->raddr, p->laddr,
						     t->ep.addr);
			t->ep.port = p->lport;
		} else {
			t->side = TW_SIDE_CLIENT;
			t->ep.family = conn_addr_key(p->family, p->laddr, p->raddr, p->raddr,
						     t->ep.addr);
			t->ep.port = p->rport;
			t->in_range = ns->port_hi && p->lport >= ns->port_lo &&
				      p->lport <= ns->port_hi;
		}
	}
	qsort(c->tw + first, c->ntw - first, sizeof(*c->tw), tw_cmp);
	for (i = first, j = first; i < c->ntw; i++) {
		if (j > first && !tw_cmp(&c->tw[j - 1], &c->tw[i])) {
			c->tw[j - 1].count += c->tw[i].count;
			c->tw[j - 1].in_range += c->tw[i].in_range;
			continue;
		}
		c->tw[j++] = c->tw[i];
	}
	c->ntw = j;
	return 0;
}

static void census_netns_end(void *ctx, uint32_t netns, int err)
{
	struct walk_ctx *w = ctx;
	struct census *c = w->c;

	if (err) {
		/* half a namespace is not counted: its listeners, its state
		 * counts and its figures go */
		c->nlisteners = w->first_listener;
		c->nclose_waits = w->first_close_wait;
		c->nwanted = w->first_wanted;
		memcpy(c->states, w->states_before, sizeof(c->states));
		if (c->nnetns && c->netns[c->nnetns - 1].netns == netns)
			c->nnetns--;
		if (err == -ENOMEM)
			w->err = err;
		return;
	}
	sort_listeners(c->listeners + w->first_listener, c->nlisteners - w->first_listener);
	settle_half_open(w);
	if (w->syn_recv_asked)
		c->netns[c->nnetns - 1].syn_recv_found = w->nreqs > 0;
	if (settle_time_wait(w, &c->netns[c->nnetns - 1]))
		w->err = -ENOMEM;
	/* the kernel's count after the walk; one read at the start did when
	 * the walk left TIME_WAIT out (the dump was short) */
	if (!w->tw_skipped)
		read_tw_socks(&c->netns[c->nnetns - 1], w->buf);
}

struct census *census__collect(const struct census_opts *opts)
{
	struct census *c = calloc(1, sizeof(*c));
	struct walk_ctx w = { .opts = opts, .c = c, .start_ns = now_mono_ns() };
	struct sockdiag_walker wk = {
		.states = (1u << SYNFIN_TCP_LISTEN) | (1u << SYNFIN_TCP_SYN_RECV) |
			  (1u << SYNFIN_TCP_TIME_WAIT),
		.only_netns = opts->only_netns,
		.only_netns_cookie = opts->only_netns_cookie,
		.netns_begin = census_netns_begin,
		.netns_states = census_netns_states,
		.sock = census_sock,
		.netns_end = census_netns_end,
		.ctx = &w,
	};

	if (!c)
		return NULL;
	w.buf = malloc(NETSTAT_MAX);
	if (!w.buf) {
		free(c);
		return NULL;
	}
	if (opts->all_states)
		wk.states = ~0u;
	if (opts->skip_time_wait)
		wk.states &= ~(1u << SYNFIN_TCP_TIME_WAIT);
	if (opts->close_waits) {
		wk.states |= 1u << SYNFIN_TCP_CLOSE_WAIT;
		wk.storage_states = 1u << SYNFIN_TCP_CLOSE_WAIT;
		wk.storage_map_fd = opts->sk_owners_fd;
	}
	if (opts->ncw_wants)
		wk.states |= 1u << SYNFIN_TCP_CLOSE_WAIT;
	c->all_states = opts->all_states;
	c->err = sockdiag_walk(&wk, &c->diag);
	if (!c->err)
		c->err = w.err;
	/* each namespace's run is in order already: this merges them */
	census_sort_listeners(c);
	if (c->nwanted > 1)
		qsort(c->wanted, c->nwanted, sizeof(*c->wanted), census_close_wait_cmp);
	/* census_netns_of searches them: on a container host there are
	 * thousands, looked up per listener and per TIME_WAIT group */
	if (c->nnetns > 1)
		qsort(c->netns, c->nnetns, sizeof(*c->netns), netns_sort_cmp);
	c->ts_ns = now_mono_ns();
	if (!opts->skip_time_wait)
		c->tw_ts_ns = c->ts_ns;
	free(w.reqs);
	free(w.tws);
	free(w.buf);
	return c;
}

const struct census_netns *census_netns_find(const struct census_netns *arr, size_t n,
					     uint32_t netns)
{
	if (!n) /* arr may be NULL then, which bsearch must not see */
		return NULL;
	return bsearch(&netns, arr, n, sizeof(*arr), netns_cmp);
}

struct census_netns *census_netns_copy(const struct census *c)
{
	struct census_netns *copy = malloc((c->nnetns ? c->nnetns : 1) * sizeof(*copy));

	/* c->netns may be NULL when there are none, which memcpy must not see */
	if (copy && c->nnetns)
		memcpy(copy, c->netns, c->nnetns * sizeof(*copy));
	return copy;
}

const struct census_netns *census_netns_of(const struct census *c, uint32_t netns)
{
	return census_netns_find(c->netns, c->nnetns, netns);
}

size_t census_first_listener_in(const struct census *c, uint32_t netns)
{
	return first_at_port(c->listeners, sizeof(*c->listeners), c->nlisteners, netns, 0);
}

void census__free(struct census *c)
{
	if (!c)
		return;
	free(c->netns);
	free(c->listeners);
	free(c->tw);
	free(c->close_waits);
	free(c->wanted);
	free(c);
}

const struct census_close_wait *census__holder(const struct census *c,
					       const struct census_close_wait *want)
{
	const struct census_close_wait *cw, *o, *end;

	if (!c->nwanted)  /* c->wanted may be NULL then */
		return NULL;
	cw = bsearch(want, c->wanted, c->nwanted, sizeof(*want), census_close_wait_cmp);
	if (!cw || !cw->owner.pid)
		return NULL;
	/* The tuple has no local address: two sockets can share one, and
	 * sit side by side in the sorted array. */
	end = c->wanted + c->nwanted;
	for (o = cw + 1; o < end && !census_close_wait_cmp(o, cw); o++)
		if (o->owner.pid != cw->owner.pid)
			return NULL;
	for (o = cw; o > c->wanted && !census_close_wait_cmp(o - 1, cw); o--)
		if (o[-1].owner.pid != cw->owner.pid)
			return NULL;
	return cw;
}

/* ---- the thread ---------------------------------------------------------- */

struct census_runner {
	struct census_opts opts;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	struct census *ready;         /* newest, not yet taken */
	/* by inode, kept from one census to the next */
	struct owner_cache listener_owners;
	struct owner_cache cw_holders;
	/* the last TIME_WAIT count, repeated until the next one */
	struct census_tw_carry last_tw;
	uint64_t next_tw_ns;
	uint64_t cw_marks_since_ns;   /* census__set_close_wait_marks */
	/* census__want_holders' sockets, under lock; the walk's own copy
	 * (those old enough, sorted) in want_taken */
	struct census_close_wait *wants, *want_taken;
	size_t nwants, wants_cap, want_taken_cap;
	bool tw_elsewhere;            /* census__set_tw_elsewhere */
	struct census_counts counts;  /* census__counts, under lock */
	/* the last walk's namespaces, sorted: whose request socks to dump */
	struct census_netns *prev_netns;
	size_t nprev_netns;
	/* the last walk's listeners, and those closed since within a tw
	 * sock's lifetime (census_opts.gone_listeners) */
	struct live_endpoint *prev_listeners;
	size_t nprev_listeners;
	struct census_gone_listener *gone;
	size_t ngone, gone_cap;
	/* census__note_server's notes, under lock; taken into the census
	 * thread's own array (taken) before each walk, and into gone */
	struct census_gone_listener *notes, *taken;
	size_t nnotes;
	struct census_walk_costs costs;     /* the walks without TIME_WAIT */
	struct census_walk_costs tw_costs;  /* the walks with it */
};

/* Listener owners, from their cache or a scan: a listener no process
 * showed last time (a kernel socket, say) is asked about again only every
 * OWNER_RETRY_NS. */
static void resolve_listener_owners(struct census_runner *r, struct census *c)
{
	struct owner_want *w = calloc(c->nlisteners ? c->nlisteners : 1, sizeof(*w));

	if (!w)
		return;  /* the cache stays: still right, only stale */
	for (size_t i = 0; i < c->nlisteners; i++) {
		w[i].inode = c->listeners[i].inode;
		w[i].owner = &c->listeners[i].owner;
	}
	owner_cache__resolve(&r->listener_owners, w, c->nlisteners, c->ts_ns);
	free(w);
}

/* A CLOSE_WAIT socket is named by the process holding it now, which
 * the kernel's record (the process that accepted it, or last closed or
 * shut down a copy of it) need not be: a forked child, or a worker it was
 * handed to, holds it after the acceptor exits or closes its copy. A
 * leak is in whoever holds the socket, so the holder wins; the record
 * stands for a socket no scan has seen held yet. */
static void resolve_close_wait_holders(struct census_runner *r, struct census *c)
{
	size_t n = c->nclose_waits + c->nwanted, i;
	struct owner_want *w = calloc(n ? n : 1, sizeof(*w));
	uint32_t *recorded = calloc(n ? n : 1, sizeof(*recorded));
	struct census_close_wait *cw;

	if (!w || !recorded)
		goto cleanup;
	/* the marked ones, then those asked for by their tuple: one scan */
	for (i = 0; i < n; i++) {
		cw = i < c->nclose_waits ? &c->close_waits[i] : &c->wanted[i - c->nclose_waits];
		recorded[i] = cw->owner.pid;
		w[i].inode = cw->inode;
		w[i].owner = &cw->owner;
		w[i].also = &cw->also;
		w[i].others = &cw->others;
	}
	owner_cache__resolve(&r->cw_holders, w, n, c->ts_ns);
	for (i = 0; i < n; i++)
		c->close_waits_held_elsewhere += w[i].found && recorded[i] &&
						 recorded[i] != w[i].owner->pid;
cleanup:
	free(w);
	free(recorded);
}

/* census__want_holders' sockets that may be old enough for the tally
 * this walk serves, sorted for the walk's search. That tally reads their
 * age when the walk is over and the main loop takes it: up to an interval
 * after t0 is room enough. A socket younger waits for a later walk, which
 * comes before the tally it is old enough for. */
static size_t take_wants(struct census_runner *r, uint64_t t0, uint64_t interval_ns)
{
	uint64_t lead = interval_ns;
	struct census_close_wait *t;
	size_t i, n = 0;

	pthread_mutex_lock(&r->lock);
	t = grow_array(r->want_taken, &r->want_taken_cap, r->nwants ? r->nwants : 1,
		       sizeof(*t));
	if (t)
		r->want_taken = t;
	for (i = 0; i < r->nwants && n < r->want_taken_cap; i++)
		if (r->wants[i].since_ns + r->opts.close_wait_min_age_ns <= t0 + lead)
			r->want_taken[n++] = r->wants[i];
	pthread_mutex_unlock(&r->lock);
	if (n > 1)
		qsort(r->want_taken, n, sizeof(*r->want_taken), census_close_wait_cmp);
	return n;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* The least of the last few, not the last: a walk's own work follows the
 * sockets and the hash it walks, which change little from one walk to the
 * next. On this VM a walk that usually takes 0.5-5 ms of CPU is now and
 * then charged 10-500 ms (interrupts served in its time, the hypervisor's
 * work on its memory), and budgeting one such walk put the next TIME_WAIT
 * count 25 s off. A real rise shows in every walk and is budgeted within
 * CENSUS_COST_WALKS of them. */
uint64_t census_walk_cost(struct census_walk_costs *w, uint64_t cpu_ns)
{
	uint64_t least = cpu_ns;
	unsigned int i;

	w->cpu_ns[w->next] = cpu_ns;
	w->next = (w->next + 1) % CENSUS_COST_WALKS;
	if (w->n < CENSUS_COST_WALKS)
		w->n++;
	for (i = 0; i < w->n; i++)
		if (w->cpu_ns[i] < least)
			least = w->cpu_ns[i];
	return least;
}

void census_carry_time_wait(struct census_tw_carry *keep, struct census *c)
{
	struct census_tw *copy;

	if (c->tw_ts_ns) {
		copy = c->ntw ? malloc(c->ntw * sizeof(*copy)) : NULL;
		if (c->ntw && !copy)
			return;  /* the older count stays */
		if (copy)
			memcpy(copy, c->tw, c->ntw * sizeof(*copy));
		free(keep->tw);
		keep->tw = copy;
		keep->ntw = c->ntw;
		keep->state = c->states[SYNFIN_TCP_TIME_WAIT];
		keep->ts_ns = c->tw_ts_ns;
		return;
	}
	/* a count was taken, though it may have no groups: every tw sock
	 * outside the filters, or every namespace too few to alert */
	if (!keep->ts_ns)
		return;
	copy = keep->ntw ? malloc(keep->ntw * sizeof(*copy)) : NULL;
	if (keep->ntw && !copy)
		return;
	if (copy)
		memcpy(copy, keep->tw, keep->ntw * sizeof(*copy));
	free(c->tw);
	c->tw = copy;
	c->ntw = keep->ntw;
	c->states[SYNFIN_TCP_TIME_WAIT] = keep->state;
	c->tw_ts_ns = keep->ts_ns;
}

void census_forget_time_wait(struct census_tw_carry *keep)
{
	free(keep->tw);
	memset(keep, 0, sizeof(*keep));
}

/* Keep this walk's namespaces for the next one to compare with. */
static void keep_netns(struct census_runner *r, const struct census *c)
{
	struct census_netns *copy = census_netns_copy(c);

	if (!copy)
		return;  /* the older list stays: the next walk dumps more */
	free(r->prev_netns);
	r->prev_netns = copy;
	r->nprev_netns = c->nnetns;
}

static bool endpoint_listens(const struct census *c, const struct live_endpoint *ep)
{
	for (size_t i = first_at_port(c->listeners, sizeof(*c->listeners), c->nlisteners,
				      ep->netns, ep->port);
	     i < c->nlisteners && !endpoint_port_cmp(&c->listeners[i].ep, ep); i++)
		if (live_endpoint_equal(&c->listeners[i].ep, ep))
			return true;
	return false;
}

size_t census_gone_merge(struct census_gone_listener *g, size_t n)
{
	size_t i, j;

	if (n < 2)
		return n;
	qsort(g, n, sizeof(*g), endpoint_sort_cmp);
	for (i = 0, j = 0; i < n; i++) {
		if (j && live_endpoint_equal(&g[j - 1].ep, &g[i].ep)) {
			if (g[i].gone_ns > g[j - 1].gone_ns)
				g[j - 1].gone_ns = g[i].gone_ns;
			continue;
		}
		g[j++] = g[i];
	}
	return j;
}

static void merge_gone(struct census_runner *r)
{
	r->ngone = census_gone_merge(r->gone, r->ngone);
}

/* The listeners this walk no longer saw join the gone ones, for a tw
 * sock's lifetime (and a margin of the walks' pace); one that listens
 * again, or whose time is up, leaves. Up to CENSUS_GONE_MAX endpoints in
 * all, with the servers noted; those past it are counted (their tw socks
 * are grouped as clients', as before the walks kept any). */
static uint64_t keep_listeners(struct census_runner *r, const struct census *c, uint64_t now_ns)
{
	struct live_endpoint *copy;
	uint64_t dropped = 0;
	size_t i, j;

	for (i = 0, j = 0; i < r->ngone; i++)
		if (now_ns - r->gone[i].gone_ns < GONE_LISTENER_NS &&
		    !endpoint_listens(c, &r->gone[i].ep))
			r->gone[j++] = r->gone[i];
	r->ngone = j;
	for (i = 0; i < r->nprev_listeners; i++) {
		struct census_gone_listener *g;

		if (endpoint_listens(c, &r->prev_listeners[i]))
			continue;
		/* a group's siblings come side by side (the listeners are
		 * sorted): one entry for them */
		if (i && live_endpoint_equal(&r->prev_listeners[i - 1], &r->prev_listeners[i]))
			continue;
		if (r->ngone >= CENSUS_GONE_MAX) {
			dropped++;
			continue;
		}
		g = grow_array(r->gone, &r->gone_cap, r->ngone + 1, sizeof(*r->gone));
		if (!g)
			break;  /* its tw socks are the clients' for the walk, as before */
		r->gone = g;
		g[r->ngone].ep = r->prev_listeners[i];
		g[r->ngone++].gone_ns = now_ns;
	}
	merge_gone(r);
	copy = malloc((c->nlisteners ? c->nlisteners : 1) * sizeof(*copy));
	if (!copy)
		return dropped;
	for (i = 0; i < c->nlisteners; i++)
		copy[i] = c->listeners[i].ep;
	free(r->prev_listeners);
	r->prev_listeners = copy;
	r->nprev_listeners = c->nlisteners;
	return dropped;
}

/* The servers noted since the last walk (n of them, in r->taken) join
 * the gone listeners, each endpoint once, with its latest time. Returns
 * the notes there was no room for. */
static uint64_t take_server_notes(struct census_runner *r, size_t n)
{
	size_t room = r->ngone < CENSUS_GONE_MAX ? CENSUS_GONE_MAX - r->ngone : 0;
	struct census_gone_listener *g;
	uint64_t dropped = 0;

	if (n > room) {
		dropped = n - room;
		n = room;
	}
	if (!n)
		return dropped;
	g = grow_array(r->gone, &r->gone_cap, r->ngone + n, sizeof(*r->gone));
	if (!g)
		return dropped + n;
	r->gone = g;
	memcpy(g + r->ngone, r->taken, n * sizeof(*g));
	r->ngone += n;
	merge_gone(r);
	return dropped;
}

/* census_opts.budget_pct, 5 when not given */
static double budget_pct_of(const struct census_opts *opts)
{
	return opts->budget_pct > 0 ? opts->budget_pct : 5;
}

bool census_pace_news(uint64_t interval_ns, uint64_t spacing_ns, uint64_t *told_ns)
{
	if (spacing_ns < 2 * interval_ns || spacing_ns < 2 * *told_ns)
		return false;
	*told_ns = spacing_ns;
	return true;
}

static void *runner_main(void *arg)
{
	struct census_runner *r = arg;
	uint64_t interval_ns = (uint64_t)r->opts.interval_ms * 1000000ULL;
	double budget = budget_pct_of(&r->opts);
	uint64_t t0, cpu0, took, cpu_took, wait_ns;
	struct census_opts opts;
	struct timespec until;
	struct census *c;
	bool tw_elsewhere;
	uint64_t notes_dropped;
	size_t nnotes;

	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		/* before t0: no note is younger than the walk's time */
		nnotes = r->nnotes;
		memcpy(r->taken, r->notes, nnotes * sizeof(*r->notes));
		r->nnotes = 0;
		pthread_mutex_unlock(&r->lock);
		notes_dropped = take_server_notes(r, nnotes);
		opts = r->opts;
		t0 = now_mono_ns();
		cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		tw_elsewhere = __atomic_load_n(&r->tw_elsewhere, __ATOMIC_RELAXED);
		opts.skip_time_wait = tw_elsewhere || t0 < r->next_tw_ns;
		/* every mark standing is younger than the tally's least age */
		if (__atomic_load_n(&r->cw_marks_since_ns, __ATOMIC_RELAXED) +
		    opts.close_wait_min_age_ns > t0)
			opts.close_waits = false;
		opts.prev_netns = r->prev_netns;
		opts.nprev_netns = r->nprev_netns;
		opts.gone_listeners = r->gone;
		opts.ngone_listeners = r->ngone;
		opts.ncw_wants = take_wants(r, t0, interval_ns);
		opts.cw_wants = r->want_taken;
		c = census__collect(&opts);
		took = now_mono_ns() - t0;
		/* The budget is CPU: on a busy host a walk waits for a CPU
		 * longer than it runs, and budgeting that wait put alerts off
		 * by many seconds just when the host was loaded. The thread's
		 * clock counts the kernel's work in the dump, the bulk of it. */
		cpu_took = census_walk_cost(opts.skip_time_wait ? &r->costs : &r->tw_costs,
					    clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0);
		if (!opts.skip_time_wait)
			r->next_tw_ns = t0 + max_u64(interval_ns, within_budget(cpu_took,
									      budget * TW_BUDGET_SHARE));
		if (c) {
			keep_netns(r, c);
			if (!c->err)
				notes_dropped += keep_listeners(r, c, t0);
			resolve_listener_owners(r, c);
			resolve_close_wait_holders(r, c);
			if (tw_elsewhere)
				census_forget_time_wait(&r->last_tw);
			else if (!c->err)
				census_carry_time_wait(&r->last_tw, c);
		}
		pthread_mutex_lock(&r->lock);
		r->counts.walks++;
		r->counts.owner_scans = r->listener_owners.scans + r->cw_holders.scans;
		r->counts.server_notes_dropped += notes_dropped;
		/* a walk whose every namespace held too few to ask is none */
		r->counts.tw_walks += !opts.skip_time_wait && (!c || c->tw_asked || !c->tw_too_few);
		if (c) {
			r->counts.hash_walks += c->diag.hash_walks;
			r->counts.close_waits += c->nclose_waits;
			r->counts.close_waits_young += c->close_waits_young;
			r->counts.close_waits_by_tuple += c->nwanted;
			r->counts.close_waits_held_elsewhere += c->close_waits_held_elsewhere;
			r->counts.tw_too_few += c->tw_too_few;
			r->counts.sysctl_reads += c->sysctl_reads;
			r->counts.netns_walked += c->nnetns;
			census__free(r->ready);  /* nobody took it: the newer wins */
			r->ready = c;
		}
		/* a walk with TIME_WAIT is paid for by its own, longer
		 * period; only the others stretch the interval */
		wait_ns = opts.skip_time_wait ?
			  max_u64(interval_ns, within_budget(cpu_took, budget)) : interval_ns;
		if (wait_ns > r->counts.max_spacing_ns)
			r->counts.max_spacing_ns = wait_ns;
		if (c) {
			c->walk_cpu_ns = cpu_took;
			c->spacing_ns = wait_ns;
		}
		wait_ns = wait_ns > took ? wait_ns - took : interval_ns / 4;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += (time_t)(wait_ns / 1000000000ULL);
		until.tv_nsec += (long)(wait_ns % 1000000000ULL);
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!r->stop &&
		       pthread_cond_timedwait(&r->cond, &r->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

struct census_runner *census__start(const struct census_opts *opts)
{
	struct census_runner *r = calloc(1, sizeof(*r));
	pthread_condattr_t ca;
	sigset_t all, was;
	double budget;
	int err;

	if (!r)
		return NULL;
	budget = budget_pct_of(opts);
	r->listener_owners.budget_pct = budget * OWNER_BUDGET_SHARE;
	/* a holder can change while its process lives (a parent closes
	 * its copy after a fork): every socket is asked about again */
	r->cw_holders.refresh_ns = OWNER_RETRY_NS;
	/* a leak shared with a forked child is named with it, as ss -p would */
	r->cw_holders.scan = sockdiag_find_two_holders;
	r->cw_holders.budget_pct = budget * OWNER_BUDGET_SHARE;
	/* untouched pages of these cost no memory until notes come */
	r->notes = calloc(CENSUS_SERVER_NOTES, sizeof(*r->notes));
	r->taken = calloc(CENSUS_SERVER_NOTES, sizeof(*r->taken));
	if (!r->notes || !r->taken) {
		free(r->notes);
		free(r->taken);
		free(r);
		errno = ENOMEM;
		return NULL;
	}
	r->opts = *opts;
	if (!r->opts.interval_ms)
		r->opts.interval_ms = 1000;
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cond, &ca);
	pthread_condattr_destroy(&ca);
	/* The thread takes no signal: SIGINT, SIGTERM and a SIGHUP's
	 * rotation go to the main thread, whose wait they cut short so that
	 * it acts at once. Taken here, they waited for its next timeout. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &was);
	err = pthread_create(&r->thread, NULL, runner_main, r);
	pthread_sigmask(SIG_SETMASK, &was, NULL);
	if (err) {
		pthread_cond_destroy(&r->cond);
		pthread_mutex_destroy(&r->lock);
		free(r->notes);
		free(r->taken);
		free(r);
		errno = err;
		return NULL;
	}
	return r;
}

void census__stop(struct census_runner *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	census__free(r->ready);
	owner_cache__free(&r->listener_owners);
	owner_cache__free(&r->cw_holders);
	census_forget_time_wait(&r->last_tw);
	free(r->prev_netns);
	free(r->prev_listeners);
	free(r->gone);
	free(r->notes);
	free(r->taken);
	free(r->wants);
	free(r->want_taken);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

void census__counts(struct census_runner *r, struct census_counts *counts)
{
	pthread_mutex_lock(&r->lock);
	*counts = r->counts;
	pthread_mutex_unlock(&r->lock);
}

void census__set_close_wait_marks(struct census_runner *r, uint64_t since_ns)
{
	__atomic_store_n(&r->cw_marks_since_ns, since_ns, __ATOMIC_RELAXED);
}

void census__want_holders(struct census_runner *r, const struct census_close_wait *w, size_t n)
{
	struct census_close_wait *p;

	pthread_mutex_lock(&r->lock);
	p = grow_array(r->wants, &r->wants_cap, n ? n : 1, sizeof(*p));
	if (p) {
		r->wants = p;
		if (n)
			memcpy(p, w, n * sizeof(*p));
		r->nwants = n;
	} else {
		r->nwants = 0;  /* the walks name the recorded owners meanwhile */
	}
	pthread_mutex_unlock(&r->lock);
}

void census__set_tw_elsewhere(struct census_runner *r, bool elsewhere)
{
	__atomic_store_n(&r->tw_elsewhere, elsewhere, __ATOMIC_RELAXED);
}

void census__note_server(struct census_runner *r, const struct live_endpoint *ep,
			 uint64_t ended_ns)
{
	pthread_mutex_lock(&r->lock);
	if (r->nnotes < CENSUS_SERVER_NOTES) {
		r->notes[r->nnotes].ep = *ep;
		r->notes[r->nnotes++].gone_ns = ended_ns;
	} else {
		r->counts.server_notes_dropped++;
	}
	pthread_mutex_unlock(&r->lock);
}

struct census *census__take(struct census_runner *r)
{
	struct census *c;

	pthread_mutex_lock(&r->lock);
	c = r->ready;
	r->ready = NULL;
	pthread_mutex_unlock(&r->lock);
	return c;
}
