// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Per-interval tallies of the event stream (activity.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "activity.h"
#include "addr.h"

/* Slots for ACTIVITY_MAX_KEYS listener keys plus as many tw keys, kept
 * under half full. */
#define NSLOTS (4 * 2 * ACTIVITY_MAX_KEYS)
#define SLOT_EMPTY 0u
/* slot values: index + 1, tw keys with this bit */
#define SLOT_TW 0x80000000u

struct activity *activity__new(void)
{
	struct activity *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->hs_client = calloc(SYNFIN_HS_BUCKETS, sizeof(*a->hs_client));
	a->hs_server = calloc(SYNFIN_HS_BUCKETS, sizeof(*a->hs_server));
	a->listeners = calloc(ACTIVITY_MAX_KEYS, sizeof(*a->listeners));
	a->tw = calloc(ACTIVITY_MAX_KEYS, sizeof(*a->tw));
	a->nslots = NSLOTS;
	a->slots = calloc(a->nslots, sizeof(*a->slots));
	if (!a->hs_client || !a->hs_server || !a->listeners || !a->tw || !a->slots) {
		activity__free(a);
		return NULL;
	}
	return a;
}

void activity__free(struct activity *a)
{
	if (!a)
		return;
	free(a->hs_client);
	free(a->hs_server);
	free(a->listeners);
	free(a->tw);
	free(a->slots);
	free(a);
}

static uint32_t *lookup(struct activity *a, bool tw, enum tw_side side,
			const struct live_endpoint *ep);

/* Newest connection first. */
static int tw_newer_first(const void *x, const void *y)
{
	const struct activity_tw *a = x, *b = y;

	return a->last_ns < b->last_ns ? 1 : a->last_ns > b->last_ns ? -1 : 0;
}

void activity__reset(struct activity *a, uint64_t now_ns)
{
	double decay = 1.0;
	uint32_t i, n = 0;

	a->opens_active = a->opens_passive = a->closes = a->failed_opens = 0;
	a->resets_sent = a->resets_received = a->retransmits = a->synack_retrans = 0;
	memset(a->hs_client, 0, SYNFIN_HS_BUCKETS * sizeof(*a->hs_client));
	memset(a->hs_server, 0, SYNFIN_HS_BUCKETS * sizeof(*a->hs_server));
	a->nlisteners = 0;
	memset(a->slots, 0, a->nslots * sizeof(*a->slots));
	if (a->reset_ns && now_ns > a->reset_ns)
		decay = exp2(-(double)(now_ns - a->reset_ns) / ACTIVITY_OWNER_HALF_LIFE_NS);
	a->reset_ns = now_ns;
	for (i = 0; i < a->ntw; i++) {
		struct activity_tw *t = &a->tw[i];

		if (t->last_ns + ACTIVITY_TW_KEEP_NS < now_ns)
			continue;
		t->entries = 0;
		for (int k = 0; k < ACTIVITY_OWNERS; k++)
			t->owners[k].n *= decay;
		a->tw[n++] = *t;
	}
	/* A host that talks to more destinations than the table holds in
	 * the keep time would fill it with groups gone quiet, and a new hot
	 * one would find no room: the least recently active go first,
	 * counted as keys missed. */
	if (n > ACTIVITY_TW_KEEP_MAX) {
		qsort(a->tw, n, sizeof(*a->tw), tw_newer_first);
		a->keys_missed += n - ACTIVITY_TW_KEEP_MAX;
		n = ACTIVITY_TW_KEEP_MAX;
	}
	for (i = 0; i < n; i++)
		*lookup(a, true, a->tw[i].side, &a->tw[i].ep) = (i + 1) | SLOT_TW;
	a->ntw = n;
}

static uint32_t hash_key(uint32_t side, const struct live_endpoint *ep)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const uint8_t *p = ep->addr;

	h = (h ^ ep->netns) * 0x100000001b3ULL;
	h = (h ^ ((uint32_t)ep->family << 16 | ep->port)) * 0x100000001b3ULL;
	h = (h ^ side) * 0x100000001b3ULL;
	for (int i = 0; i < SYNFIN_ADDR_LEN; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return (uint32_t)(h ^ h >> 32);
}

/* The slot of (kind, side, ep): its entry, or the empty slot to fill. */
static uint32_t *lookup(struct activity *a, bool tw, enum tw_side side,
			const struct live_endpoint *ep)
{
	uint32_t mask = a->nslots - 1;
	uint32_t i = hash_key(tw ? 2u + side : 0u, ep) & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t v = a->slots[i];

		if (v == SLOT_EMPTY)
			return &a->slots[i];
		if (!!(v & SLOT_TW) != tw)
			continue;
		v = (v & ~SLOT_TW) - 1;
		if (tw ? a->tw[v].side == side && live_endpoint_equal(&a->tw[v].ep, ep) :
			 live_endpoint_equal(&a->listeners[v].ep, ep))
			return &a->slots[i];
	}
}

static struct activity_listener *listener_of(struct activity *a,
					     const struct live_endpoint *ep)
{
	uint32_t *slot = lookup(a, false, 0, ep);
	struct activity_listener *l;

	if (*slot != SLOT_EMPTY)
		return &a->listeners[*slot - 1];
	if (a->nlisteners >= ACTIVITY_MAX_KEYS) {
		a->keys_missed++;
		return NULL;
	}
	l = &a->listeners[a->nlisteners++];
	memset(l, 0, sizeof(*l));
	l->ep = *ep;
	*slot = a->nlisteners;
	return l;
}

static struct activity_tw *tw_of(struct activity *a, enum tw_side side,
				 const struct live_endpoint *ep)
{
	uint32_t *slot = lookup(a, true, side, ep);
	struct activity_tw *t;

	if (*slot != SLOT_EMPTY)
		return &a->tw[(*slot & ~SLOT_TW) - 1];
	if (a->ntw >= ACTIVITY_MAX_KEYS) {
		a->keys_missed++;
		return NULL;
	}
	t = &a->tw[a->ntw++];
	memset(t, 0, sizeof(*t));
	t->side = side;
	t->ep = *ep;
	*slot = a->ntw | SLOT_TW;
	return t;
}

const struct activity_tw *activity__find_tw(struct activity *a, enum tw_side side,
					    const struct live_endpoint *ep)
{
	uint32_t slot = *lookup(a, true, side, ep);

	return slot == SLOT_EMPTY ? NULL : &a->tw[(slot & ~SLOT_TW) - 1];
}

static void local_endpoint(const struct synfin_event *ev, struct live_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->netns = ev->netns;
	ep->family = ev->family;
	memcpy(ep->addr, ev->laddr, SYNFIN_ADDR_LEN);
	ep->port = ev->lport;
}

static void add_source(struct activity_listener *l, const uint8_t *addr)
{
	for (uint32_t i = 0; i < l->nsources; i++)
		if (!memcmp(l->sources[i], addr, SYNFIN_ADDR_LEN))
			return;
	if (l->nsources < ACTIVITY_SOURCES)
		memcpy(l->sources[l->nsources++], addr, SYNFIN_ADDR_LEN);
}

static void add_sample(uint64_t *hist, uint64_t ns)
{
	hist[synfin_hs_bucket(ns)]++;
}

static void on_state(struct activity *a, const struct synfin_event *ev)
{
	struct live_endpoint ep;
	struct activity_listener *l;

	if (ev->new_state == SYNFIN_TCP_ESTABLISHED) {
		if (ev->old_state == SYNFIN_TCP_SYN_SENT) {
			a->opens_active++;
			if (ev->start_ns && ev->ts_ns > ev->start_ns)
				add_sample(a->hs_client, ev->ts_ns - ev->start_ns);
		} else if (ev->old_state == SYNFIN_TCP_SYN_RECV) {
			a->opens_passive++;
			/* the server's handshake: SYN-ACK to ACK, the kernel's
			 * first RTT sample (the request sock is invisible) */
			if (ev->srtt_us)
				add_sample(a->hs_server, (uint64_t)ev->srtt_us * 1000);
			local_endpoint(ev, &ep);
			l = listener_of(a, &ep);
			if (l)
				l->completed++;
		}
		return;
	}
	if (ev->new_state == SYNFIN_TCP_CLOSE) {
		a->closes++;
		if (ev->old_state == SYNFIN_TCP_SYN_SENT || ev->old_state == SYNFIN_TCP_SYN_RECV)
			a->failed_opens++;
	}
}

void activity__event(struct activity *a, const struct synfin_event *ev)
{
	struct live_endpoint ep;
	struct activity_listener *l;

	switch (ev->kind) {
	case SYNFIN_EV_STATE:
		on_state(a, ev);
		break;
	case SYNFIN_EV_RETRANSMIT:
		a->retransmits += synfin_retrans_segs(ev->reason);
		break;
	case SYNFIN_EV_SYNACK_RETRANSMIT:
		a->synack_retrans++;
		local_endpoint(ev, &ep);
		l = listener_of(a, &ep);
		if (!l)
			break;
		l->synack_retrans++;
		/* num_retrans before this one: 0 means the request went
		 * unanswered for a whole initial RTO (1 s) */
		if (ev->retransmits == 0)
			l->synack_first++;
		add_source(l, ev->raddr);
		break;
	case SYNFIN_EV_RESET_SENT:
		a->resets_sent++;
		break;
	case SYNFIN_EV_RESET_RECEIVED:
		a->resets_received++;
		break;
	default:
		break;
	}
}

void activity__completed(struct activity *a, const struct live_endpoint *ep, uint64_t n)
{
	struct activity_listener *l = listener_of(a, ep);

	if (l)
		l->completed += n;
}

static void tally_owner(struct activity_tw *t, const struct conn_record *rec)
{
	struct activity_owner *least = &t->owners[0];

	for (int i = 0; i < ACTIVITY_OWNERS; i++) {
		struct activity_owner *o = &t->owners[i];

		if (o->n > 0 && o->owner.pid == rec->pid) {
			o->n++;
			return;
		}
		if (o->n < least->n)
			least = o;
	}
	/* space-saving: a newcomer takes the least counted slot */
	least->owner.pid = rec->pid;
	memcpy(least->owner.comm, rec->comm, SYNFIN_COMM_LEN);
	least->owner.comm[SYNFIN_COMM_LEN] = '\0';
	least->n++;
}

void activity__conn(struct activity *a, const struct conn_record *rec)
{
	struct live_endpoint ep = { .netns = rec->netns };
	enum tw_side side;
	struct activity_tw *t;

	if (rec->tw.kind == TW_KIND_NONE)
		return;
	/* keyed as the census and twcount group the tw socks */
	if (rec->role == ROLE_SERVER) {
		side = TW_SIDE_SERVER;
		ep.family = conn_addr_key(rec->family, rec->laddr, rec->raddr, rec->laddr, ep.addr);
		ep.port = rec->lport;
	} else {
		side = TW_SIDE_CLIENT;
		ep.family = conn_addr_key(rec->family, rec->laddr, rec->raddr, rec->raddr, ep.addr);
		ep.port = rec->rport;
	}
	t = tw_of(a, side, &ep);
	if (!t)
		return;
	t->entries++;
	if (rec->end_ns > t->last_ns)
		t->last_ns = rec->end_ns;
	tally_owner(t, rec);
}

/* The middle of bucket i, in ms. */
static double bucket_ms(uint32_t i)
{
	return (synfin_hs_bucket_low(i) + (synfin_hs_bucket_width(i) - 1) / 2.0) / 1e6;
}

/* Nearest rank: the bucket holding the ceil(p * total)-th value. */
static double hist_percentile(const uint64_t *hist, uint64_t total, double p)
{
	uint64_t rank = (uint64_t)(p * total + 0.999999), seen = 0;

	if (rank < 1)
		rank = 1;
	for (uint32_t i = 0; i < SYNFIN_HS_BUCKETS; i++) {
		seen += hist[i];
		if (seen >= rank)
			return bucket_ms(i);
	}
	return bucket_ms(SYNFIN_HS_BUCKETS - 1);
}

void activity_handshakes(const uint64_t *hist, struct live_handshakes *out)
{
	uint64_t total = 0;
	uint32_t last = 0;

	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < SYNFIN_HS_BUCKETS; i++) {
		total += hist[i];
		if (hist[i])
			last = i;
	}
	out->samples = total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
	if (!total)
		return;
	out->p50_ms = hist_percentile(hist, total, 0.50);
	out->p90_ms = hist_percentile(hist, total, 0.90);
	out->p99_ms = hist_percentile(hist, total, 0.99);
	out->max_ms = bucket_ms(last);
}
