// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Detector rules and the start/end state machine (detect.h). How the
 * default thresholds were chosen is in docs/detectors.md.
 */
#include <stdlib.h>
#include <string.h>
#include "detect.h"

void detect_config_defaults(struct detect_config *cfg)
{
	cfg->syn_unanswered = DETECT_DEFAULT_SYN_UNANSWERED;
	cfg->syn_ratio = DETECT_DEFAULT_SYN_RATIO;
	cfg->tw_ports_pct = DETECT_DEFAULT_TW_PORTS_PCT;
	cfg->tw_count = DETECT_DEFAULT_TW_COUNT;
	cfg->cw_age_s = DETECT_DEFAULT_CW_AGE_S;
	cfg->cw_count = DETECT_DEFAULT_CW_COUNT;
	cfg->hold_on = DETECT_DEFAULT_HOLD_ON;
	cfg->hold_off = DETECT_DEFAULT_HOLD_OFF;
}

static void figure(struct live_alert *a, const char *name, double v, int prec)
{
	if (a->nfigures < LIVE_MAX_FIGURES)
		a->figures[a->nfigures++] = (struct live_figure){ name, v, prec };
}

static bool threshold(struct live_alert *a, const char *name, double limit, bool fired)
{
	if (a->nthresholds < LIVE_MAX_THRESHOLDS)
		a->thresholds[a->nthresholds++] = (struct live_threshold){ name, limit, fired };
	return fired;
}

static void start_alert(struct live_alert *a, enum alert_kind kind)
{
	memset(a, 0, sizeof(*a));
	a->kind = kind;
}

/* A flood is many SYNs that never complete: unanswered SYNs per second
 * (cookies never returned, SYNs dropped on a full request queue, requests
 * still unanswered after the initial RTO) above a rate, AND most SYNs not
 * completing. The ratio is what keeps a legitimate burst, however fast,
 * from firing: its handshakes complete. */
bool detect_syn_flood(const struct detect_config *cfg, const struct live_listener *l,
		      struct live_alert *out)
{
	bool rate, ratio;

	start_alert(out, ALERT_SYN_FLOOD);
	out->ep = l->ep;
	out->owner = l->owner;
	figure(out, "unanswered_per_s", l->unanswered_per_s, 1);
	figure(out, "completed_per_s", l->completed_per_s, 1);
	figure(out, "completion_ratio", l->completion_ratio, 3);
	figure(out, "syn_per_s", l->syn_per_s, 1);
	figure(out, "half_open", l->half_open, 0);
	figure(out, "backlog", l->backlog, 0);
	figure(out, "accept_queue", l->accept_queue, 0);
	figure(out, "sockets", l->sockets, 0);
	figure(out, "sources", l->sources, 0);
	figure(out, "cookies_per_s", l->cookies_per_s, 1);
	figure(out, "drops_per_s", l->drops_per_s, 1);
	figure(out, "synack_retrans_per_s", l->synack_retrans_per_s, 1);
	rate = threshold(out, "syn-unanswered", cfg->syn_unanswered,
			 l->unanswered_per_s >= cfg->syn_unanswered);
	ratio = threshold(out, "syn-ratio", cfg->syn_ratio,
			  l->completion_ratio < cfg->syn_ratio);
	return rate && ratio;
}

/* tw-count, or half the namespace's tcp_max_tw_buckets if lower; at
 * least 1 (a limit of 0 would fire for every group, empty or not) */
static uint32_t tw_count_limit(const struct detect_config *cfg, uint32_t max_tw_buckets)
{
	if (max_tw_buckets && max_tw_buckets / 2 < cfg->tw_count)
		return max_tw_buckets > 1 ? max_tw_buckets / 2 : 1;
	return cfg->tw_count;
}

uint32_t detect_timewait_floor(const struct detect_config *cfg, uint32_t max_tw_buckets,
			       uint32_t port_range)
{
	uint32_t floor = tw_count_limit(cfg, max_tw_buckets);
	double ports;

	if (!port_range)
		return floor;
	/* one less than the share's count: whatever the rounding of
	 * port_use * 100 against the percentage, a group below it cannot fire */
	ports = cfg->tw_ports_pct * port_range / 100.0 - 1;
	if (ports < 0)
		return 0;
	return ports < floor ? (uint32_t)ports : floor;
}

/* Client side: the ports toward one destination run out (connect() then
 * fails with EADDRNOTAVAIL), so the share of the ephemeral range counts.
 * Either side: a standing population above tw-count, or past half of the
 * netns's tcp_max_tw_buckets (beyond which the kernel destroys TIME_WAIT
 * socks early and says only "TCP: time wait bucket table overflow"). */
bool detect_timewait(const struct detect_config *cfg, const struct live_tw_group *g,
		     struct live_alert *out)
{
	uint32_t count_limit = tw_count_limit(cfg, g->max_tw_buckets);
	bool fired = false;

	start_alert(out, ALERT_TIMEWAIT_BUILDUP);
	out->ep = g->ep;
	out->side = g->side;
	out->owner = g->owner;
	figure(out, "count", g->count, 0);
	figure(out, "entries_per_s", g->entries_per_s, 1);
	if (g->side == TW_SIDE_CLIENT) {
		figure(out, "port_use", g->port_use, 3);
		figure(out, "port_range", g->port_range, 0);
		/* how long until the range is gone at this rate, if ever */
		if (g->entries_per_s > 0 && g->port_range)
			figure(out, "projected_use", g->entries_per_s * 60.0 / g->port_range, 3);
		fired |= threshold(out, "tw-ports", cfg->tw_ports_pct,
				   g->port_range && g->port_use * 100.0 >= cfg->tw_ports_pct);
	}
	figure(out, "max_tw_buckets", g->max_tw_buckets, 0);
	fired |= threshold(out, "tw-count", count_limit, g->count >= count_limit);
	return fired;
}

/* A process holding many sockets its peers closed long ago: it stopped
 * calling close(). One long CLOSE_WAIT can be a deliberate half-close; a
 * pile of old ones is a leak. */
bool detect_close_wait(const struct detect_config *cfg, const struct live_close_wait *cw,
		       struct live_alert *out)
{
	bool fired;

	start_alert(out, ALERT_CLOSE_WAIT_LEAK);
	out->owner = cw->owner;
	out->also = cw->also;
	if (cw->peer.family)
		out->ep = cw->peer;
	out->ep.netns = cw->netns;
	figure(out, "count", cw->count, 0);
	figure(out, "old", cw->old, 0);
	figure(out, "oldest_s", cw->oldest_s, 1);
	figure(out, "shared", cw->shared, 0);
	figure(out, "other_holders", cw->others, 0);
	threshold(out, "cw-age", cfg->cw_age_s, cw->oldest_s >= cfg->cw_age_s);
	fired = threshold(out, "cw-count", cfg->cw_count, cw->old >= cfg->cw_count);
	return fired;
}

/* ---- start/end ------------------------------------------------------------ */

struct tracker {
	struct live_alert last;       /* the newest observation (figures) */
	bool active;
	bool seen;                    /* observed this interval */
	bool firing;
	uint32_t on, off;             /* streaks */
	uint64_t first_on_ns;         /* the first interval of the current firing streak */
	uint64_t since_ns;
};

struct detector {
	struct detect_config cfg;
	struct tracker *t;
	uint32_t n;
	uint64_t missed;
	uint64_t last_tick_ns;        /* the figures in the trackers are from then */
};

struct detector *detect__new(const struct detect_config *cfg)
{
	struct detector *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->cfg = *cfg;
	if (!d->cfg.hold_on)
		d->cfg.hold_on = 1;
	if (!d->cfg.hold_off)
		d->cfg.hold_off = 1;
	d->t = calloc(DETECT_MAX_TRACKED, sizeof(*d->t));
	if (!d->t) {
		free(d);
		return NULL;
	}
	return d;
}

void detect__free(struct detector *d)
{
	if (!d)
		return;
	free(d->t);
	free(d);
}

/* Same alert key: the kind, and what it is about. A leak is about a
 * process, the others about an endpoint. */
static bool same_key(const struct live_alert *x, const struct live_alert *y)
{
	if (x->kind != y->kind)
		return false;
	if (x->kind == ALERT_CLOSE_WAIT_LEAK)
		return x->owner.pid == y->owner.pid && x->ep.netns == y->ep.netns &&
		       (x->owner.pid || !strcmp(x->owner.comm, y->owner.comm));
	return x->side == y->side && x->ep.netns == y->ep.netns &&
	       x->ep.family == y->ep.family && x->ep.port == y->ep.port &&
	       !memcmp(x->ep.addr, y->ep.addr, SYNFIN_ADDR_LEN);
}

void detect__observe(struct detector *d, const struct live_alert *obs, bool firing)
{
	struct tracker *t = NULL;
	uint32_t i;

	for (i = 0; i < d->n; i++) {
		if (same_key(&d->t[i].last, obs)) {
			t = &d->t[i];
			break;
		}
	}
	if (!t) {
		if (!firing)
			return;  /* nothing to follow */
		if (d->n >= DETECT_MAX_TRACKED) {
			d->missed++;
			return;
		}
		t = &d->t[d->n++];
		memset(t, 0, sizeof(*t));
	}
	/* Should several rows share a key within an interval (the monitor
	 * makes a SO_REUSEPORT group one row; callers need not), one that
	 * fires is the verdict, whatever order the quiet ones come in. */
	if (t->seen && t->firing && !firing)
		return;
	/* keep the figures of the episode's last firing interval for the end
	 * record only while nothing newer fires */
	if (!obs->owner.pid && t->last.owner.pid) {
		/* the process is known from earlier intervals (a tw group
		 * whose churn stopped): keep naming it */
		struct live_owner keep = t->last.owner;

		t->last = *obs;
		t->last.owner = keep;
	} else {
		t->last = *obs;
	}
	t->seen = true;
	t->firing = firing;
}

static void emit(struct tracker *t, uint64_t now_ns, bool ended,
		 detect_alert_fn fn, void *ctx)
{
	struct live_alert a = t->last;

	a.ended = ended;
	a.since_ns = t->since_ns;
	a.ts_ns = now_ns;
	if (fn)
		fn(&a, ctx);
}

void detect__tick(struct detector *d, uint64_t now_ns, detect_alert_fn fn, void *ctx)
{
	uint32_t i, j;

	d->last_tick_ns = now_ns;
	for (i = 0; i < d->n; i++) {
		struct tracker *t = &d->t[i];
		bool firing = t->seen && t->firing;

		if (firing) {
			if (!t->on++)
				t->first_on_ns = now_ns;
			t->off = 0;
			if (!t->active && t->on >= d->cfg.hold_on) {
				/* since: when the condition began, not when it
				 * had held long enough to be believed */
				t->active = true;
				t->since_ns = t->first_on_ns;
				emit(t, now_ns, false, fn, ctx);
			}
		} else {
			t->off++;
			t->on = 0;
			if (t->active && t->off >= d->cfg.hold_off) {
				t->active = false;
				emit(t, now_ns, true, fn, ctx);
			}
		}
		t->seen = false;
	}
	/* forget keys that are neither active nor building up */
	for (i = 0, j = 0; i < d->n; i++) {
		if (!d->t[i].active && !d->t[i].on)
			continue;
		d->t[j++] = d->t[i];
	}
	d->n = j;
}

void detect__flush(struct detector *d, uint64_t now_ns, detect_alert_fn fn, void *ctx)
{
	for (uint32_t i = 0; i < d->n; i++) {
		if (!d->t[i].active)
			continue;
		d->t[i].active = false;
		emit(&d->t[i], now_ns, true, fn, ctx);
	}
	d->n = 0;
}

uint32_t detect__active(const struct detector *d, struct live_alert *out, uint32_t max)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < d->n && n < max; i++) {
		if (!d->t[i].active)
			continue;
		out[n] = d->t[i].last;
		out[n].since_ns = d->t[i].since_ns;
		out[n].ts_ns = d->last_tick_ns;
		n++;
	}
	return n;
}

uint64_t detect__missed(const struct detector *d)
{
	return d->missed;
}
