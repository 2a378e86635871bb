// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Census + activity + open connections -> live_stats and alerts
 * (monitor.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "activity.h"
#include "census.h"
#include "grow.h"
#include "kfigures.h"
#include "monitor.h"
#include "twcount.h"

#define MAX_CW_OWNERS 1024   /* CLOSE_WAIT tallies per interval; more are counted missed */
/* The CLOSE_WAIT tallies count the sockets in it this long or more (the
 * leak age if that is less). A server's CLOSE_WAIT lasts until it calls
 * close(), microseconds on a healthy one, so younger ones are no sign of a
 * leak, and leaving them out spares the census a walk of the established
 * hash per interval on a busy server (struct cw_marks). Three seconds is
 * more than the one-second advance of the marks' generation plus a late
 * tick. */
#define CW_TALLY_MIN_AGE_S 3

/* Raw per-listener counts of the interval, before they become rates. */
struct listener_raw {
	uint32_t completed, synack, synack_first, sources;
};

struct monitor {
	struct monitor_opts opts;
	struct census_runner *census;
	struct activity *act;
	struct detector *det;
	struct kfigures *kf;         /* summary mode: the kernel's live figures */
	struct census_netns *prev;   /* the last census's namespaces, for the MIB deltas */
	size_t nprev;
	uint64_t last_ns;            /* start of the activity interval */
	struct monitor_census_pace pace; /* the last census's */
	uint64_t missed;
	struct live_stats *stats;
	/* scratch, grown as needed */
	struct live_listener *ls;
	struct listener_raw *raw;
	size_t ls_cap, raw_cap;
	/* namespaces whose cookies and drops no listener can be blamed for
	 * (attribute_netns): one row each, its listener unknown */
	struct live_listener *ns_ls;
	size_t nns_ls, ns_ls_cap;
	struct live_tw_group *tw;
	size_t tw_cap;
	struct live_close_wait *cw;
	uint32_t ncw;
	uint64_t cw_age_ns, cw_min_age_ns, now_ns;
	/* the CLOSE_WAIT sockets known by their tuple (the engine's, the
	 * classic map's), whose holders the next walks look up, and the
	 * census the tally reads this walk's holders from */
	struct census_close_wait *wants;
	size_t nwants, wants_cap;
	/* a shared socket's row and other holder, for the count of the
	 * distinct others each row shows (count_other_holders) */
	struct row_holder *holders;
	size_t nholders, holders_cap;
	const struct census *tally_census;
	uint64_t intervals;          /* judged */
	uint64_t tw_engine_intervals; /* ... with the engine's TIME_WAIT counts */
	/* the last server end noted to the census (census__note_server):
	 * its repeats within a second are not noted again */
	struct live_endpoint last_server;
	uint64_t last_server_ns;
	bool tw_agreed_last;         /* the engine's count agreed at the last look */
	uint64_t tw_apart_passed;    /* looks apart that stood, right after one that agreed */
};

static uint64_t cw_min_age_ns(const struct detect_config *cfg)
{
	uint32_t s = cfg->cw_age_s < CW_TALLY_MIN_AGE_S ? cfg->cw_age_s : CW_TALLY_MIN_AGE_S;

	return (uint64_t)s * 1000000000ULL;
}

struct monitor *monitor__new(const struct monitor_opts *opts)
{
	struct census_opts co = {
		.interval_ms = opts->interval_ms,
		.budget_pct = opts->census_budget_pct,
		.all_states = opts->all_states,
		.only_netns = opts->filter ? opts->filter->netns : 0,
		.only_netns_cookie = opts->filter ? opts->filter->netns_cookie : 0,
		/* tp_btf summary mode: the kernel marks a socket's storage at
		 * ->CLOSE_WAIT, and the census reads the marks back */
		.close_waits = opts->kfigures && opts->kfigures->sk_owners >= 0,
		.sk_owners_fd = opts->kfigures ? opts->kfigures->sk_owners : -1,
		.max_close_waits = opts->max_close_waits,
		.close_wait_min_age_ns = cw_min_age_ns(&opts->detect),
		.tw_filter = opts->filter,
	};
	struct monitor *m = calloc(1, sizeof(*m));
	int err = ENOMEM;

	if (!m)
		return NULL;
	m->opts = *opts;
	/* outside top, the TIME_WAIT groups serve only the detector */
	if (opts->alerts && !opts->all_states && !opts->on_stats)
		co.tw_alerts = &m->opts.detect;
	m->cw_age_ns = (uint64_t)opts->detect.cw_age_s * 1000000000ULL;
	m->cw_min_age_ns = co.close_wait_min_age_ns;
	m->act = activity__new();
	m->det = detect__new(&opts->detect);
	m->stats = calloc(1, sizeof(*m->stats));
	m->cw = calloc(MAX_CW_OWNERS, sizeof(*m->cw));
	if (!m->act || !m->det || !m->stats || !m->cw)
		goto fail;
	if (opts->kfigures) {
		m->kf = kfigures__new(opts->kfigures);
		if (!m->kf)
			goto fail;
	}
	m->census = census__start(&co);
	if (!m->census) {
		err = errno;  /* pthread_create's EAGAIN, say: not kept by the frees */
		goto fail;
	}
	return m;
fail:
	kfigures__free(m->kf);
	activity__free(m->act);
	detect__free(m->det);
	free(m->stats);
	free(m->cw);
	free(m);
	errno = err;
	return NULL;
}

void monitor__free(struct monitor *m, uint64_t now_ns)
{
	if (!m)
		return;
	census__stop(m->census);
	if (m->opts.alerts)
		detect__flush(m->det, now_ns, m->opts.on_alert, m->opts.ctx);
	kfigures__free(m->kf);
	activity__free(m->act);
	detect__free(m->det);
	free(m->prev);
	free(m->stats);
	free(m->ls);
	free(m->raw);
	free(m->ns_ls);
	free(m->tw);
	free(m->cw);
	free(m->wants);
	free(m->holders);
	free(m);
}

void monitor__event(struct monitor *m, const struct synfin_event *ev)
{
	activity__event(m->act, ev);
}

/* A server end that left a tw sock tells the census its address and
 * port were a listener's, which the walks may never have seen. */
static void note_server(struct monitor *m, const struct conn_record *rec)
{
	struct live_endpoint ep = { .netns = rec->netns, .family = rec->family,
				    .port = rec->lport };

	if (rec->role != ROLE_SERVER || rec->tw.kind == TW_KIND_NONE)
		return;
	memcpy(ep.addr, rec->laddr, SYNFIN_ADDR_LEN);
	if (live_endpoint_equal(&ep, &m->last_server) &&
	    rec->end_ns - m->last_server_ns < 1000000000ULL)
		return;
	m->last_server = ep;
	m->last_server_ns = rec->end_ns;
	census__note_server(m->census, &ep, rec->end_ns);
}

void monitor__conn(struct monitor *m, const struct conn_record *rec)
{
	activity__conn(m->act, rec);
	note_server(m, rec);
}

void monitor__folded(struct monitor *m, const struct monitor_folded *f)
{
	m->act->retransmits += f->retransmits;
	m->act->resets_sent += f->resets_sent;
	m->act->resets_received += f->resets_received;
	m->act->opens_active += f->opens_active;
	m->act->opens_passive += f->opens_passive;
	/* no mark old enough to tally: the census need not look for one */
	census__set_close_wait_marks(m->census, f->close_wait_marks_since_ns);
}

static void on_kernel_listener(const struct synfin_listener_key *key, uint64_t n, void *ctx)
{
	struct live_endpoint ep = { .netns = key->netns, .family = key->family, .port = key->port };

	memcpy(ep.addr, key->addr, SYNFIN_ADDR_LEN);
	activity__completed(ctx, &ep, n);
}

/* The figures the kernel kept since the last poll join the activity. */
static void take_kernel_figures(struct monitor *m)
{
	if (!m->kf)
		return;
	if (kfigures__handshakes(m->kf, m->act->hs_client, m->act->hs_server))
		m->missed++;
	if (kfigures__take_listeners(m->kf, on_kernel_listener, m->act) < 0)
		m->missed++;
}

void monitor__tw_counts(const struct monitor *m, struct monitor_tw_counts *counts)
{
	counts->intervals = m->intervals;
	counts->from_engine = m->tw_engine_intervals;
	counts->apart_passed = m->tw_apart_passed;
}

void monitor__census_counts(struct monitor *m, struct census_counts *counts)
{
	census__counts(m->census, counts);
}

void monitor__census_pace(const struct monitor *m, struct monitor_census_pace *pace)
{
	*pace = m->pace;
}

uint64_t monitor__missed(const struct monitor *m)
{
	return m->missed + m->act->keys_missed + detect__missed(m->det);
}

static uint64_t delta(const struct census_netns *ns, const struct census_netns *p, int i)
{
	if (!p || !ns->mib_ok || !p->mib_ok || ns->mib[i] < p->mib[i])
		return 0;
	return ns->mib[i] - p->mib[i];
}

static void save_prev(struct monitor *m, const struct census *c)
{
	struct census_netns *p = census_netns_copy(c);

	if (!p)
		return;  /* the old ones stay: deltas come out a bit large once */
	free(m->prev);
	m->prev = p;
	m->nprev = c->nnetns;
}

/* Which of a namespace's listeners share its cookie and drop counters. */
enum share_rule {
	SHARE_FULL,   /* the ones whose request queue is full */
	SHARE_BUSY,   /* the ones with half-open requests or SYN-ACK retransmits */
	SHARE_ALL,    /* all: the namespace has one listening endpoint */
};

static bool takes_share(const struct monitor *m, const struct census_listener *l,
			size_t i, enum share_rule rule)
{
	switch (rule) {
	case SHARE_FULL:
		return l->backlog && l->half_open >= l->backlog;
	case SHARE_BUSY:
		return l->half_open || m->raw[i].synack;
	default:
		return true;
	}
}

/* A row's share of its namespace's cookies and drops, per second. A
 * cookie that came back is a completed handshake, already counted by its
 * child's transition; the rest, and the drops, went unanswered. */
static void take_counter_share(struct live_listener *row, double cookies, double back,
			       double drops)
{
	row->cookies_per_s = cookies;
	row->drops_per_s = drops;
	row->unanswered_per_s += (cookies > back ? cookies - back : 0) + drops;
}

/* SYNs seen and the share completed, from a row's finished rates. */
static void set_syn_rates(struct live_listener *row)
{
	row->syn_per_s = row->unanswered_per_s + row->completed_per_s;
	row->completion_ratio = row->syn_per_s > 0 ? row->completed_per_s / row->syn_per_s : 1.0;
}

/* A namespace row for cookies and drops no listener can be blamed for:
 * the listener unknown (family 0), its figures those of all the
 * namespace's listeners, listeners [first, end). It stands for them
 * under the filters when one of them passes. */
static void add_netns_row(struct monitor *m, const struct census *c, size_t first,
			  size_t end, double cookies_per_s, double back_per_s,
			  double drops_per_s, double interval_s)
{
	struct live_listener row = { .ep.netns = c->listeners[first].ep.netns }, *rows;
	bool passes = false;

	for (size_t i = first; i < end; i++) {
		const struct census_listener *l = &c->listeners[i];

		passes |= filter_row_passes(m->opts.filter, l->ep.family, l->ep.addr, l->ep.port,
					    NULL, 0, l->ep.netns, l->owner.pid, l->owner.comm);
		row.sockets++;
		row.accept_queue += l->accept_queue;
		if (l->accept_queue > row.accept_queue_max)
			row.accept_queue_max = l->accept_queue;
		row.backlog += l->backlog;
		row.completed_per_s += m->raw[i].completed / interval_s;
	}
	if (!passes)
		return;
	rows = grow_array(m->ns_ls, &m->ns_ls_cap, m->nns_ls + 1, sizeof(*rows));
	if (!rows) {
		m->missed++;
		return;
	}
	m->ns_ls = rows;
	take_counter_share(&row, cookies_per_s, back_per_s, drops_per_s);
	set_syn_rates(&row);
	m->ns_ls[m->nns_ls++] = row;
}

/* The netns's SYN cookie and drop counters belong to the listeners whose
 * request queue overflowed: cookies are sent and SYNs dropped only when it
 * is full. Failing that (the census saw it drained), to the ones with
 * half-open requests or SYN-ACK retransmits. Shared equally.
 * Failing both, every SYN got a cookie without a request sock
 * (tcp_syncookies=2, or listen() with a backlog of 0 before 6.13): the
 * kernel counts them per namespace only, and nothing on a listener shows
 * which one they went to. A namespace with one listening endpoint (a
 * container's one service) can only mean it; with more, blaming all would
 * name quiet ones, so the namespace gets a row of its own (add_netns_row). */
static void attribute_netns(struct monitor *m, const struct census *c,
			    const struct census_netns *ns, double interval_s)
{
	const struct census_netns *p = census_netns_find(m->prev, m->nprev, ns->netns);
	uint64_t cookies = delta(ns, p, MIB_SYNCOOKIES_SENT);
	uint64_t cookies_back = delta(ns, p, MIB_SYNCOOKIES_RECV);
	uint64_t drops = delta(ns, p, MIB_REQQ_FULL_DROP);
	uint64_t listen_drops = delta(ns, p, MIB_LISTEN_DROPS);
	uint64_t overflows = delta(ns, p, MIB_LISTEN_OVERFLOWS);
	size_t first = census_first_listener_in(c, ns->netns), end, i;
	uint32_t nfull = 0, nbusy = 0, nshare, endpoints = 0;
	enum share_rule rule;
	double share;

	/* ListenDrops also counts accept-queue overflows (a slow application,
	 * not a flood) and drops near tcp_max_syn_backlog without cookies */
	if (listen_drops > overflows && listen_drops - overflows > drops)
		drops = listen_drops - overflows;
	if (!cookies && !drops)
		return;
	/* its listeners only: they are together, sorted by netns, and a
	 * SO_REUSEPORT group's sockets are next to each other */
	for (end = first; end < c->nlisteners && c->listeners[end].ep.netns == ns->netns; end++) {
		const struct census_listener *l = &c->listeners[end];

		nfull += takes_share(m, l, end, SHARE_FULL);
		nbusy += takes_share(m, l, end, SHARE_BUSY);
		endpoints += end == first || !live_endpoint_equal(&c->listeners[end - 1].ep, &l->ep);
	}
	if (nfull) {
		rule = SHARE_FULL;
		nshare = nfull;
	} else if (nbusy) {
		rule = SHARE_BUSY;
		nshare = nbusy;
	} else if (endpoints == 1) {
		rule = SHARE_ALL;
		nshare = (uint32_t)(end - first);
	} else {
		if (endpoints)
			add_netns_row(m, c, first, end, cookies / interval_s,
				      cookies_back / interval_s, drops / interval_s, interval_s);
		return;
	}
	share = 1.0 / nshare / interval_s;
	for (i = first; i < end; i++) {
		if (takes_share(m, &c->listeners[i], i, rule))
			take_counter_share(&m->ls[i], (double)cookies * share,
					   (double)cookies_back * share, (double)drops * share);
	}
}

/* The sockets of a SO_REUSEPORT group are one endpoint: one row, as
 * the kernel spreads the endpoint's SYNs over them. Queues and rates add
 * up; the census and the kernel's completions credit the endpoint's
 * requests and handshakes to its first socket, whose owner names the
 * row. accept_queue_max keeps one worker's full queue in sight. */
static void join_group(struct live_listener *row, const struct live_listener *sib)
{
	row->sockets += sib->sockets;
	row->accept_queue += sib->accept_queue;
	if (sib->accept_queue_max > row->accept_queue_max)
		row->accept_queue_max = sib->accept_queue_max;
	row->backlog += sib->backlog;
	row->half_open += sib->half_open;
	if (sib->sources > row->sources)
		row->sources = sib->sources;
	row->completed_per_s += sib->completed_per_s;
	row->unanswered_per_s += sib->unanswered_per_s;
	row->cookies_per_s += sib->cookies_per_s;
	row->drops_per_s += sib->drops_per_s;
	row->synack_retrans_per_s += sib->synack_retrans_per_s;
}

/* Listener rows: queues from the census, handshakes and SYN-ACK
 * retransmits from the events, cookies and drops from the counters. */
static size_t build_listeners(struct monitor *m, const struct census *c, double interval_s)
{
	struct activity *a = m->act;
	struct live_listener *ls;
	struct listener_raw *raw;
	size_t i, n;

	m->nns_ls = 0;
	if (!c->nlisteners)
		return 0;
	ls = grow_array(m->ls, &m->ls_cap, c->nlisteners, sizeof(*m->ls));
	if (!ls)
		return 0;
	m->ls = ls;
	raw = grow_array(m->raw, &m->raw_cap, c->nlisteners, sizeof(*m->raw));
	if (!raw)
		return 0;
	m->raw = raw;
	memset(raw, 0, c->nlisteners * sizeof(*raw));
	for (uint32_t k = 0; k < a->nlisteners; k++) {
		const struct activity_listener *al = &a->listeners[k];
		int idx = census_find_listener(c, 0, &al->ep);

		if (idx < 0)
			continue;
		raw[idx].completed += al->completed;
		raw[idx].synack += al->synack_retrans;
		raw[idx].synack_first += al->synack_first;
		raw[idx].sources += al->nsources;
	}
	for (i = 0; i < c->nlisteners; i++) {
		const struct census_listener *cl = &c->listeners[i];
		struct live_listener *row = &ls[i];

		memset(row, 0, sizeof(*row));
		row->ep = cl->ep;
		row->owner = cl->owner;
		row->sockets = 1;
		row->accept_queue = cl->accept_queue;
		row->accept_queue_max = cl->accept_queue;
		row->backlog = cl->backlog;
		row->half_open = cl->half_open;
		row->sources = cl->sources > raw[i].sources ? cl->sources : raw[i].sources;
		row->completed_per_s = raw[i].completed / interval_s;
		row->synack_retrans_per_s = raw[i].synack / interval_s;
		/* a first SYN-ACK retransmit is a request unanswered for the
		 * whole initial RTO */
		row->unanswered_per_s = raw[i].synack_first / interval_s;
	}
	for (i = 0; i < c->nnetns; i++)
		attribute_netns(m, c, &c->netns[i], interval_s);
	/* rows outside the filters go only now: their requests and SYN-ACK
	 * retransmits still decided who shares the namespace's counters */
	for (i = 0, n = 0; i < c->nlisteners; i++) {
		struct live_listener *row = &ls[i];

		if (!filter_row_passes(m->opts.filter, row->ep.family, row->ep.addr,
				       row->ep.port, NULL, 0, row->ep.netns, row->owner.pid,
				       row->owner.comm))
			continue;
		if (n && live_endpoint_equal(&ls[n - 1].ep, &row->ep)) {
			join_group(&ls[n - 1], row);
			continue;
		}
		ls[n++] = *row;
	}
	for (i = 0; i < n; i++)
		set_syn_rates(&ls[i]);
	return n;
}

/* TIME_WAIT groups: the standing population from the census's walk or
 * the engine's count (groups), the rate and the process from the
 * connections that left them. */
static size_t build_tw(struct monitor *m, const struct census *c,
		       const struct census_tw *groups, size_t ngroups, double interval_s)
{
	const struct synfin_filter *f = m->opts.filter;
	struct live_tw_group *tw;
	size_t i, n = 0;

	if (!ngroups)
		return 0;
	tw = grow_array(m->tw, &m->tw_cap, ngroups, sizeof(*m->tw));
	if (!tw)
		return 0;
	m->tw = tw;
	for (i = 0; i < ngroups; i++) {
		const struct census_tw *t = &groups[i];
		const struct census_netns *ns = census_netns_of(c, t->ep.netns);
		const struct activity_tw *at = activity__find_tw(m->act, t->side, &t->ep);
		struct live_tw_group *g = &tw[n];

		memset(g, 0, sizeof(*g));
		g->side = t->side;
		g->ep = t->ep;
		g->count = t->count;
		if (at) {
			const struct activity_owner *best = &at->owners[0];

			for (int k = 1; k < ACTIVITY_OWNERS; k++)
				if (at->owners[k].n > best->n)
					best = &at->owners[k];
			g->owner = best->owner;
			g->entries_per_s = at->entries / interval_s;
		}
		if (ns) {
			g->max_tw_buckets = ns->max_tw_buckets;
			if (t->side == TW_SIDE_CLIENT)
				g->port_range = census_port_range(ns);
			if (g->port_range)
				g->port_use = (double)t->in_range / g->port_range;
		}
		/* the family was judged on each sock as the sock had it: a
		 * group of dual-stack socks' IPv4 connections is IPv4 */
		if (f && (!filter_netns_passes(f, g->ep.netns) ||
			  !filter_owner_passes(f, g->owner.pid, g->owner.comm) ||
			  !filter_row_ends_pass(f, g->ep.family,
						g->side == TW_SIDE_SERVER ? g->ep.addr : NULL,
						g->side == TW_SIDE_SERVER ? g->ep.port : 0,
						g->side == TW_SIDE_CLIENT ? g->ep.addr : NULL,
						g->side == TW_SIDE_CLIENT ? g->ep.port : 0)))
			continue;
		n++;
	}
	return n;
}

/* A row of the CLOSE_WAIT tally and another process holding one of its
 * sockets. */
struct row_holder {
	uint32_t row, pid;
};

/* One socket in CLOSE_WAIT since `since`, wherever it was learned. */
struct cw_sock {
	uint64_t since;
	uint32_t pid, netns;
	const char *comm;     /* SYNFIN_COMM_LEN bytes */
	const struct live_owner *also;  /* another process holding it; NULL: none known */
	uint32_t others;      /* how many besides pid hold it, also one of them */
	uint8_t family;
	const uint8_t *raddr;
	uint16_t rport, lport;
};

static void tally_close_wait(struct monitor *m, const struct cw_sock *s)
{
	struct live_close_wait *cw = NULL;
	uint64_t age_ns;
	double age;
	uint32_t i;

	if (!filter_row_passes(m->opts.filter, s->family, NULL, 0, NULL, 0, s->netns, s->pid,
			       s->comm))
		return;
	/* one that entered CLOSE_WAIT after now was read (the kernel's map
	 * is read live) is 0 s old */
	age_ns = m->now_ns > s->since ? m->now_ns - s->since : 0;
	if (age_ns < m->cw_min_age_ns)
		return;
	age = (double)age_ns / 1e9;
	for (i = 0; i < m->ncw; i++) {
		if (m->cw[i].owner.pid == s->pid && m->cw[i].netns == s->netns &&
		    (s->pid || !strncmp(m->cw[i].owner.comm, s->comm, SYNFIN_COMM_LEN))) {
			cw = &m->cw[i];
			break;
		}
	}
	if (!cw) {
		if (m->ncw >= MAX_CW_OWNERS) {
			m->missed++;
			return;
		}
		cw = &m->cw[m->ncw++];
		memset(cw, 0, sizeof(*cw));
		cw->owner.pid = s->pid;
		memcpy(cw->owner.comm, s->comm, SYNFIN_COMM_LEN);
		cw->netns = s->netns;
	}
	cw->count++;
	if (age_ns >= m->cw_age_ns)
		cw->old++;
	if (s->also && s->also->pid && s->also->pid != s->pid) {
		struct row_holder *h;

		cw->shared++;
		/* the lowest pid: the same name from one interval to the next */
		if (!cw->also.pid || s->also->pid < cw->also.pid)
			cw->also = *s->also;
		if (s->others > cw->others_one)
			cw->others_one = s->others;
		h = grow_array(m->holders, &m->holders_cap, m->nholders + 1, sizeof(*h));
		if (h) {
			m->holders = h;
			h[m->nholders++] = (struct row_holder){ .row = (uint32_t)(cw - m->cw),
								 .pid = s->also->pid };
		}
	}
	if (age >= cw->oldest_s) {
		cw->oldest_s = age;
		cw->peer.netns = s->netns;
		cw->peer.family = s->family;
		memcpy(cw->peer.addr, s->raddr, SYNFIN_ADDR_LEN);
		cw->peer.port = s->rport;
	}
}

/* A socket known by its tuple: named by the process the census found
 * holding it (census__holder), as a marked one is, else by the record;
 * and asked about in the next walks (census__want_holders). */
static void tally_tuple_close_wait(struct monitor *m, struct cw_sock *s)
{
	struct census_close_wait *want = NULL;
	const struct census_close_wait *holder;

	/* as many as the census lists of marked ones (the one bound on the
	 * wants); the rest keep the recorded owner, counted as the census
	 * counts its own */
	if (m->nwants < m->opts.max_close_waits)
		want = grow_array(m->wants, &m->wants_cap, m->nwants + 1, sizeof(*m->wants));
	else
		m->missed++;
	if (want) {
		m->wants = want;
		want = &m->wants[m->nwants++];
		memset(want, 0, sizeof(*want));
		want->since_ns = s->since;
		want->owner.pid = s->pid;
		memcpy(want->owner.comm, s->comm, SYNFIN_COMM_LEN);
		want->netns = s->netns;
		want->family = s->family;
		want->lport = s->lport;
		want->rport = s->rport;
		memcpy(want->raddr, s->raddr, SYNFIN_ADDR_LEN);
		holder = census__holder(m->tally_census, want);
		if (holder) {
			s->pid = holder->owner.pid;
			s->comm = holder->owner.comm;
			s->also = &holder->also;
			s->others = holder->others;
		}
	}
	tally_close_wait(m, s);
}

static int row_holder_cmp(const void *a, const void *b)
{
	const struct row_holder *x = a, *y = b;

	if (x->row != y->row)
		return x->row < y->row ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* Each row's other holders: the distinct ones named, one a socket (a
 * server that forks a child per connection and keeps its copies shows
 * one other per child), or the most any one socket has (workers that
 * each inherited every socket), whichever is more. A pair the tally had
 * no memory for leaves a shared row at least its one named. */
static void count_other_holders(struct monitor *m)
{
	size_t i;

	if (m->nholders)  /* no array at all until a socket is shared */
		qsort(m->holders, m->nholders, sizeof(*m->holders), row_holder_cmp);
	for (i = 0; i < m->nholders; i++) {
		if (i == 0 || m->holders[i].row != m->holders[i - 1].row ||
		    m->holders[i].pid != m->holders[i - 1].pid)
			m->cw[m->holders[i].row].others++;
	}
	for (i = 0; i < m->ncw; i++) {
		if (m->cw[i].shared && !m->cw[i].others)
			m->cw[i].others = 1;
		if (m->cw[i].others_one > m->cw[i].others)
			m->cw[i].others = m->cw[i].others_one;
	}
}

/* Connections the engine follows: --events, and seeded ones. */
static void tally_open_close_wait(const struct conn_record *rec, void *ctx)
{
	struct cw_sock s = {
		.since = rec->span[SYNFIN_TCP_CLOSE_WAIT].enter_ns,
		.pid = rec->pid, .netns = rec->netns, .comm = rec->comm,
		.family = rec->family, .raddr = rec->raddr, .rport = rec->rport,
		.lport = rec->lport,
	};

	if (!s.since)
		s.since = rec->start_ns;  /* seeded: in CLOSE_WAIT at least since then */
	tally_tuple_close_wait(ctx, &s);
}

/* Summary mode, tp_btf: the sockets the census found in CLOSE_WAIT with
 * synfin's mark, each named by the process holding it (else the one the
 * kernel recorded). One open before synfin started that no scan has seen
 * held yet has no owner in its storage; the engine's seed of it has, from
 * /proc. */
static void tally_census_close_waits(struct monitor *m, struct engine *eng,
				     const struct census *c)
{
	for (size_t i = 0; i < c->nclose_waits; i++) {
		const struct census_close_wait *cw = &c->close_waits[i];
		struct cw_sock s = {
			.since = cw->since_ns, .pid = cw->owner.pid, .netns = cw->netns,
			.comm = cw->owner.comm, .also = &cw->also, .others = cw->others,
			.family = cw->family,
			.raddr = cw->raddr, .rport = cw->rport,
		};
		const struct conn_record *seed;

		if (!s.pid && (seed = engine__known_owner(eng, cw->cookie))) {
			s.pid = seed->pid;
			s.comm = seed->comm;
		}
		tally_close_wait(m, &s);
	}
	m->missed += c->close_waits_dropped;
}

/* Summary mode, classic: the sockets the kernel's map has in CLOSE_WAIT. */
static void tally_kernel_close_wait(const struct synfin_close_wait *cw, void *ctx)
{
	struct cw_sock s = {
		.since = cw->enter_ns, .netns = cw->netns, .comm = cw->comm,
		.family = cw->family, .raddr = cw->raddr, .rport = cw->rport,
		.lport = cw->lport,
	};

	if (cw->flags & SYNFIN_F_OWNER_KNOWN)
		s.pid = cw->pid;
	tally_tuple_close_wait(ctx, &s);
}

static void judge(struct monitor *m, size_t nls, size_t ntw, uint64_t now_ns)
{
	struct live_alert a;
	size_t i;

	for (i = 0; i < nls; i++)
		detect__observe(m->det, &a, detect_syn_flood(&m->opts.detect, &m->ls[i], &a));
	for (i = 0; i < m->nns_ls; i++)
		detect__observe(m->det, &a, detect_syn_flood(&m->opts.detect, &m->ns_ls[i], &a));
	for (i = 0; i < ntw; i++)
		detect__observe(m->det, &a, detect_timewait(&m->opts.detect, &m->tw[i], &a));
	for (i = 0; i < m->ncw; i++)
		detect__observe(m->det, &a, detect_close_wait(&m->opts.detect, &m->cw[i], &a));
	detect__tick(m->det, now_ns, m->opts.on_alert, m->opts.ctx);
}

static double listener_weight(const struct live_listener *l)
{
	return l->syn_per_s + l->half_open + l->accept_queue;
}

static int cmp_listener(const void *x, const void *y)
{
	double a = listener_weight(x), b = listener_weight(y);

	return a > b ? -1 : a < b;
}

static int cmp_tw(const void *x, const void *y)
{
	const struct live_tw_group *a = x, *b = y;

	return a->count > b->count ? -1 : a->count < b->count;
}

static int cmp_cw(const void *x, const void *y)
{
	const struct live_close_wait *a = x, *b = y;

	if (a->old != b->old)
		return a->old > b->old ? -1 : 1;
	return a->oldest_s > b->oldest_s ? -1 : a->oldest_s < b->oldest_s;
}

/* The first LIVE_TOP_N rows of arr (n of size bytes) by cmp, into out;
 * their count. qsort and memcpy want a real array even for none. */
static uint32_t top_rows(void *out, void *arr, size_t n, size_t size,
			 int (*cmp)(const void *, const void *))
{
	size_t k = n < LIVE_TOP_N ? n : LIVE_TOP_N;

	if (n > 1)
		qsort(arr, n, size, cmp);
	if (k)
		memcpy(out, arr, k * size);
	return (uint32_t)k;
}

/* Listening endpoints: a SO_REUSEPORT group's sockets are together in
 * the census's order and count once, as they make one row. */
static uint32_t count_endpoints(const struct census *c)
{
	uint32_t n = 0;

	for (size_t i = 0; i < c->nlisteners; i++)
		n += !i || !live_endpoint_equal(&c->listeners[i - 1].ep, &c->listeners[i].ep);
	return n;
}

static void build_stats(struct monitor *m, const struct census *c, size_t nls, size_t ntw,
			double interval_s, uint64_t now_ns, uint64_t lost_total)
{
	struct live_stats *s = m->stats;
	struct activity *a = m->act;

	memset(s, 0, sizeof(*s));
	s->ts_ns = now_ns;
	s->interval_s = interval_s;
	s->states_known = c->all_states && !c->err;
	memcpy(s->states, c->states, sizeof(s->states));
	s->netns = c->diag.netns_visited;
	s->netns_failed = c->diag.netns_failed;
	s->procs_unreadable = c->diag.procs_unreadable;
	s->opens_active_per_s = a->opens_active / interval_s;
	s->opens_passive_per_s = a->opens_passive / interval_s;
	s->closes_per_s = a->closes / interval_s;
	s->resets_sent_per_s = a->resets_sent / interval_s;
	s->resets_received_per_s = a->resets_received / interval_s;
	s->retransmits_per_s = a->retransmits / interval_s;
	s->synack_retrans_per_s = a->synack_retrans / interval_s;
	s->failed_opens_per_s = a->failed_opens / interval_s;
	activity_handshakes(a->hs_client, &s->hs_client);
	activity_handshakes(a->hs_server, &s->hs_server);

	s->nlisteners = top_rows(s->listeners, m->ls, nls, sizeof(*m->ls), cmp_listener);
	s->listeners_total = count_endpoints(c);
	s->ntw = top_rows(s->tw, m->tw, ntw, sizeof(*m->tw), cmp_tw);
	s->nclose_wait = top_rows(s->close_wait, m->cw, m->ncw, sizeof(*m->cw), cmp_cw);
	s->nalerts = detect__active(m->det, s->alerts, LIVE_MAX_ALERTS);
	s->lost_total = lost_total;
}

/* The engine's TIME_WAIT count (NULL: the census's stands): when it has
 * every tw sock, or when it is all there is (the census, told it need not
 * count them, has not yet counted them again since they disagreed). top
 * counts every state, TIME_WAIT with them, in its own walk. */
static const struct twcount *tw_from_engine(struct monitor *m, struct engine *eng,
					    const struct census *c)
{
	const struct twcount *tc = NULL;
	bool every = false, agrees;

	if (!m->opts.all_states && engine__twcount(eng)) {
		for (size_t i = 0; i < c->nnetns; i++)
			if (c->netns[i].port_hi)
				engine__tw_port_range(eng, c->netns[i].netns,
						      c->netns[i].port_lo, c->netns[i].port_hi);
		engine__tw_prune(eng);
		tc = engine__twcount(eng);  /* NULL if a regroup failed */
		agrees = tc && twcount__agrees(tc, c);
		every = twcount__stands(agrees, &m->tw_agreed_last) && tc;
		m->tw_apart_passed += every && !agrees;
	}
	census__set_tw_elsewhere(m->census, every);
	return every || (tc && !c->tw_ts_ns) ? tc : NULL;
}

void monitor__poll(struct monitor *m, struct engine *eng, uint64_t now_ns, uint64_t lost_total)
{
	struct census *c = census__take(m->census);
	const struct census_tw *groups;
	const struct twcount *tc;
	double interval_s;
	size_t nls, ntw;

	if (!c)
		return;
	m->pace = (struct monitor_census_pace){
		.nnetns = c->nnetns, .walk_cpu_ns = c->walk_cpu_ns, .spacing_ns = c->spacing_ns,
	};
	if (c->err) {
		/* no namespace could be read: judge nothing rather than call
		 * every alert over; the events keep adding up meanwhile */
		census__free(c);
		return;
	}
	if (m->opts.on_interval_end)
		m->opts.on_interval_end(m->opts.ctx);
	take_kernel_figures(m);
	tc = tw_from_engine(m, eng, c);
	if (!m->last_ns) {
		/* the first census only sets the counters' base */
		m->last_ns = now_ns;
		save_prev(m, c);
		activity__reset(m->act, now_ns);
		census__free(c);
		return;
	}
	interval_s = (double)(now_ns - m->last_ns) / 1e9;
	if (interval_s < 0.001)
		interval_s = 0.001;
	nls = build_listeners(m, c, interval_s);
	if (tc) {
		groups = twcount__groups(tc, &ntw);
	} else {
		groups = c->tw;
		ntw = c->ntw;
	}
	m->intervals++;
	m->tw_engine_intervals += tc != NULL;
	ntw = build_tw(m, c, groups, ntw, interval_s);
	m->ncw = 0;
	m->now_ns = now_ns;
	m->nwants = 0;
	m->nholders = 0;
	m->tally_census = c;
	engine__foreach_close_wait(eng, tally_open_close_wait, m);
	tally_census_close_waits(m, eng, c);
	if (m->kf && kfigures__close_waits(m->kf, tally_kernel_close_wait, m) < 0)
		m->missed++;
	m->tally_census = NULL;
	count_other_holders(m);
	census__want_holders(m->census, m->wants, m->nwants);
	if (m->opts.alerts)
		judge(m, nls, ntw, now_ns);
	if (m->opts.on_stats) {
		build_stats(m, c, nls, ntw, interval_s, now_ns, lost_total);
		m->opts.on_stats(m->stats, m->opts.ctx);
	}
	save_prev(m, c);
	activity__reset(m->act, now_ns);
	m->last_ns = now_ns;
	census__free(c);
}
