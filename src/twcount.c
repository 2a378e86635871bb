// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* TIME_WAIT socks counted per namespace and per group (twcount.h). The
 * groups sit in one dense array, so the monitor reads them in one pass,
 * with an id table from each key's hash to its place (a group's hash is
 * its key's, computed again where needed).
 */
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "grow.h"
#include "idtable.h"
#include "twcount.h"

#define NETNS_SLOTS 16
#define GROUP_SLOTS 64
/* A namespace's count may differ from the kernel's by the tw socks born
 * or gone between the census's read and the monitor's look (the ring's
 * lag, the rest of the walk): 16, plus 1/32 of them. At the kernel's cap
 * of 131,072, with tw_reuse recycling about 10,000 a second, the two
 * stayed within 30 of each other; in a namespace's first second, when
 * the count grows by thousands between the two looks, they may not. */
#define AGREE_SLACK_FIXED 16
#define AGREE_SLACK_SHIFT 5

struct twns {
	uint32_t total;               /* tw socks, any substate */
	uint32_t grouped;             /* ... of them in a group */
	uint32_t port_lo, port_hi;
	uint64_t range_gen;           /* the prune round port_range last named it in */
};

/* A group's key as hashed: no padding, so equal keys are equal bytes. */
struct group_key {
	uint32_t netns;
	uint16_t port;
	uint8_t side;
	uint8_t family;
	uint8_t addr[SYNFIN_ADDR_LEN];
};

struct twcount {
	struct idtable netns;         /* netns -> struct twns */
	struct idtable index;         /* key hash -> place in groups + 1 */
	struct census_tw *groups;
	size_t ngroups, groups_cap;
	uint64_t gen;                 /* prune rounds */
	bool broken;
};

struct twcount *twcount__new(void)
{
	struct twcount *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	if (idtable_init(&t->netns, NETNS_SLOTS) || idtable_init(&t->index, GROUP_SLOTS)) {
		twcount__free(t);
		return NULL;
	}
	return t;
}

void twcount__free(struct twcount *t)
{
	if (!t)
		return;
	idtable_free_all(&t->netns);
	idtable_free(&t->index);
	free(t->groups);
	free(t);
}

bool twcount__ok(const struct twcount *t)
{
	return !t->broken;
}

/* netns 0 is no namespace inode: kept apart so the table's id stays non-zero */
static uint64_t netns_id(uint32_t netns)
{
	return (uint64_t)netns + 1;
}

static struct twns *netns_get(struct twcount *t, uint32_t netns, bool create)
{
	struct twns *n = idtable_get(&t->netns, netns_id(netns));

	if (n || !create)
		return n;
	n = calloc(1, sizeof(*n));
	if (!n || idtable_put(&t->netns, netns_id(netns), n)) {
		free(n);
		t->broken = true;
		return NULL;
	}
	n->port_lo = TWCOUNT_DEFAULT_PORT_LO;
	n->port_hi = TWCOUNT_DEFAULT_PORT_HI;
	return n;
}

void twcount__sock(struct twcount *t, const struct twcount_sock *s, int delta)
{
	struct twns *n = netns_get(t, s->netns, delta > 0);

	if (!n) {
		t->broken = true;  /* out of memory, or a sock taken from nowhere */
		return;
	}
	if (delta < 0 && !n->total) {
		t->broken = true;
		return;
	}
	n->total += delta;
}

/* The side and endpoint the census would give s (settle_time_wait). */
static void key_of(const struct twcount_sock *s, struct group_key *k)
{
	memset(k, 0, sizeof(*k));
	k->netns = s->netns;
	k->family = conn_addr_key(s->family, s->laddr, s->raddr, s->server ? s->laddr : s->raddr,
				  k->addr);
	k->side = s->server ? TW_SIDE_SERVER : TW_SIDE_CLIENT;
	k->port = s->server ? s->lport : s->rport;
}

/* FNV-1a over the key; never 0, which the id table keeps for empty */
static uint64_t key_hash(const struct group_key *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < sizeof(*k); i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h ? h : 1;
}

static void key_of_group(const struct census_tw *g, struct group_key *k)
{
	memset(k, 0, sizeof(*k));
	k->netns = g->ep.netns;
	k->family = g->ep.family;
	k->side = g->side;
	k->port = g->ep.port;
	memcpy(k->addr, g->ep.addr, SYNFIN_ADDR_LEN);
}

static uint64_t group_hash(const struct census_tw *g)
{
	struct group_key k;

	key_of_group(g, &k);
	return key_hash(&k);
}

static bool key_is(const struct census_tw *g, const struct group_key *k)
{
	struct group_key gk;

	key_of_group(g, &gk);
	return !memcmp(&gk, k, sizeof(gk));
}

static bool in_range(const struct twns *n, const struct twcount_sock *s)
{
	return !s->server && s->lport >= n->port_lo && s->lport <= n->port_hi;
}

/* The group at place i (its key's hash: hash) goes; the last one takes
 * its place. */
static void drop_group(struct twcount *t, size_t i, uint64_t hash)
{
	size_t last = t->ngroups - 1;
	uint64_t moved;

	idtable_del(&t->index, hash);
	if (i != last) {
		t->groups[i] = t->groups[last];
		moved = group_hash(&t->groups[i]);
		idtable_del(&t->index, moved);
		/* a delete frees a slot: this put cannot need to grow */
		idtable_put(&t->index, moved, (void *)(uintptr_t)(i + 1));
	}
	t->ngroups--;
}

static struct census_tw *new_group(struct twcount *t, const struct group_key *k,
				       uint64_t hash)
{
	struct census_tw *g = grow_array(t->groups, &t->groups_cap, t->ngroups + 1,
					     sizeof(*t->groups));

	if (!g)
		return NULL;
	t->groups = g;
	if (idtable_put(&t->index, hash, (void *)(uintptr_t)(t->ngroups + 1)))
		return NULL;
	g = &t->groups[t->ngroups];
	memset(g, 0, sizeof(*g));
	g->side = k->side;
	g->ep.netns = k->netns;
	g->ep.family = k->family;
	g->ep.port = k->port;
	memcpy(g->ep.addr, k->addr, SYNFIN_ADDR_LEN);
	t->ngroups++;
	return g;
}

void twcount__grouped(struct twcount *t, const struct twcount_sock *s, int delta)
{
	struct twns *n = netns_get(t, s->netns, delta > 0);
	struct census_tw *g = NULL;
	struct group_key k;
	uintptr_t place;
	uint64_t hash;

	if (!n)
		t->broken = true;
	if (t->broken)
		return;
	key_of(s, &k);
	hash = key_hash(&k);
	place = (uintptr_t)idtable_get(&t->index, hash);
	if (place) {
		g = &t->groups[place - 1];
		if (!key_is(g, &k)) {
			t->broken = true;  /* two keys, one hash: not worth a chain */
			return;
		}
	}
	if (delta > 0) {
		if (!g)
			g = new_group(t, &k, hash);
		if (!g) {
			t->broken = true;
			return;
		}
		g->count++;
		g->in_range += in_range(n, s);
		n->grouped++;
		return;
	}
	if (!g || !n->grouped || (in_range(n, s) && !g->in_range)) {
		t->broken = true;
		return;
	}
	g->in_range -= in_range(n, s);
	n->grouped--;
	if (!--g->count)
		drop_group(t, place - 1, hash);
}

uint32_t twcount__netns_total(const struct twcount *t, uint32_t netns)
{
	const struct twns *n = idtable_get(&t->netns, netns_id(netns));

	return n ? n->total : 0;
}

bool twcount__port_range(struct twcount *t, uint32_t netns, uint32_t lo, uint32_t hi)
{
	struct twns *n = netns_get(t, netns, true);
	bool changed;

	if (!n)
		return false;
	n->range_gen = t->gen;
	changed = n->port_lo != lo || n->port_hi != hi;
	n->port_lo = lo;
	n->port_hi = hi;
	return changed && n->grouped;
}

void twcount__prune(struct twcount *t)
{
	for (uint32_t i = 0; i < t->netns.nslots; i++) {
		struct twns *n = t->netns.vals[i];

		if (!n || n->total || n->range_gen == t->gen)
			continue;
		idtable_del(&t->netns, t->netns.ids[i]);
		free(n);
		i--;  /* a later entry may have moved into this slot */
	}
	t->gen++;
}

void twcount__clear_groups(struct twcount *t)
{
	while (t->ngroups)
		drop_group(t, t->ngroups - 1, group_hash(&t->groups[t->ngroups - 1]));
	for (uint32_t i = 0; i < t->netns.nslots; i++) {
		struct twns *n = t->netns.vals[i];

		if (n)
			n->grouped = 0;
	}
}

bool twcount__stands(bool agrees, bool *agreed_last)
{
	bool stands = agrees || *agreed_last;

	*agreed_last = agrees;
	return stands;
}

const struct census_tw *twcount__groups(const struct twcount *t, size_t *n)
{
	*n = t->ngroups;
	return t->groups;
}

static bool within_slack(uint32_t ours, uint32_t kernel)
{
	uint32_t diff = ours > kernel ? ours - kernel : kernel - ours;

	return diff <= AGREE_SLACK_FIXED + (kernel >> AGREE_SLACK_SHIFT);
}

bool twcount__agrees(const struct twcount *t, const struct census *c)
{
	for (size_t i = 0; i < c->nnetns; i++) {
		const struct census_netns *ns = &c->netns[i];

		if (!ns->tw_socks_ok ||
		    !within_slack(twcount__netns_total(t, ns->netns), ns->tw_socks))
			return false;
	}
	/* socks counted in a namespace the census did not walk (not found,
	 * or gone): only next to none */
	for (uint32_t i = 0; i < t->netns.nslots; i++) {
		const struct twns *n = t->netns.vals[i];

		if (n && !within_slack(n->total, 0) &&
		    !census_netns_of(c, (uint32_t)(t->netns.ids[i] - 1)))
			return false;
	}
	return true;
}
