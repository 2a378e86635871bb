// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The tw sock counts (twcount.h): groups as the census's walk makes them
 * (client side by destination, server side by listening address, with the
 * ephemeral ports among the client's), namespace totals, what makes the
 * counts untrustworthy, and many random comings and goings against a
 * recount from a plain list.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "unit.h"
#include "addr_fixture.h"
#include "twcount.h"

static struct twcount_sock sock4(uint32_t netns, bool server, uint8_t laddr, uint16_t lport,
				 uint8_t raddr, uint16_t rport)
{
	struct twcount_sock s = { .netns = netns, .family = SYNFIN_AF_INET, .server = server,
				  .lport = lport, .rport = rport };

	s.laddr[0] = 10;
	s.laddr[3] = laddr;
	s.raddr[0] = 10;
	s.raddr[3] = raddr;
	return s;
}

static const struct census_tw *find_group(const struct twcount *t, enum tw_side side,
					  uint32_t netns, uint8_t addr, uint16_t port)
{
	const struct census_tw *g;
	size_t n;

	g = twcount__groups(t, &n);
	for (size_t i = 0; i < n; i++)
		if (g[i].side == side && g[i].ep.netns == netns && g[i].ep.port == port &&
		    g[i].ep.addr[0] == 10 && g[i].ep.addr[3] == addr)
			return &g[i];
	return NULL;
}

/* Clients toward two destinations and a server's listener, one client
 * from a port outside the ephemeral range: the groups and their counts,
 * and a group gone with its last sock. */
static void test_groups_as_the_census(void)
{
	struct twcount *t = twcount__new();
	struct twcount_sock s;
	const struct census_tw *g;
	size_t n;

	for (int i = 0; i < 3; i++) {
		s = sock4(7, false, 1, (uint16_t)(40000 + i), 2, 80);
		twcount__sock(t, &s, 1);
		twcount__grouped(t, &s, 1);
	}
	s = sock4(7, false, 1, 1000, 2, 80);  /* bound below the range */
	twcount__sock(t, &s, 1);
	twcount__grouped(t, &s, 1);
	s = sock4(7, false, 1, 40010, 3, 443);
	twcount__sock(t, &s, 1);
	twcount__grouped(t, &s, 1);
	for (int i = 0; i < 2; i++) {
		s = sock4(7, true, 1, 8080, (uint8_t)(20 + i), 50000);
		twcount__sock(t, &s, 1);
		twcount__grouped(t, &s, 1);
	}
	/* a FIN_WAIT2 tw sock: in the namespace's total, in no group */
	s = sock4(7, false, 1, 40020, 4, 25);
	twcount__sock(t, &s, 1);

	CHECK(twcount__ok(t));
	CHECK_EQ_INT(twcount__netns_total(t, 7), 8);
	CHECK_EQ_INT(twcount__netns_total(t, 8), 0);
	twcount__groups(t, &n);
	CHECK_EQ_INT(n, 3);
	g = find_group(t, TW_SIDE_CLIENT, 7, 2, 80);
	CHECK(g && g->count == 4 && g->in_range == 3);
	g = find_group(t, TW_SIDE_CLIENT, 7, 3, 443);
	CHECK(g && g->count == 1 && g->in_range == 1);
	g = find_group(t, TW_SIDE_SERVER, 7, 1, 8080);
	CHECK(g && g->count == 2 && g->in_range == 0);

	s = sock4(7, false, 1, 40010, 3, 443);
	twcount__grouped(t, &s, -1);
	twcount__sock(t, &s, -1);
	CHECK(!find_group(t, TW_SIDE_CLIENT, 7, 3, 443));
	CHECK(find_group(t, TW_SIDE_SERVER, 7, 1, 8080));
	twcount__groups(t, &n);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(twcount__netns_total(t, 7), 7);
	CHECK(twcount__ok(t));
	twcount__free(t);
}

/* The sock as a dual-stack (AF_INET6) socket has it: ::ffff:10.0.0.x. */
static struct twcount_sock mapped(struct twcount_sock s)
{
	fixture_v4_mapped(&s.family, s.laddr, s.raddr);
	return s;
}

/* A JVM's dual-stack sockets and curl's AF_INET ones toward one IPv4
 * destination share its ports: one group, keyed as IPv4. And a dual-
 * stack server's tw socks join its AF_INET ones' group. */
static void test_groups_dual_stack(void)
{
	struct twcount *t = twcount__new();
	struct twcount_sock s;
	const struct census_tw *g;
	size_t n;

	for (int i = 0; i < 4; i++) {
		s = sock4(7, false, 1, (uint16_t)(40000 + i), 2, 80);
		if (i % 2)
			s = mapped(s);
		twcount__sock(t, &s, 1);
		twcount__grouped(t, &s, 1);
	}
	s = mapped(sock4(7, true, 1, 8080, 20, 50000));
	twcount__sock(t, &s, 1);
	twcount__grouped(t, &s, 1);
	s = sock4(7, true, 1, 8080, 21, 50000);
	twcount__sock(t, &s, 1);
	twcount__grouped(t, &s, 1);
	twcount__groups(t, &n);
	CHECK_EQ_INT(n, 2);
	g = find_group(t, TW_SIDE_CLIENT, 7, 2, 80);
	CHECK(g && g->count == 4 && g->in_range == 4 && g->ep.family == SYNFIN_AF_INET);
	g = find_group(t, TW_SIDE_SERVER, 7, 1, 8080);
	CHECK(g && g->count == 2 && g->ep.family == SYNFIN_AF_INET);
	/* one gone of each kind: the group stays, two fewer */
	s = mapped(sock4(7, false, 1, 40001, 2, 80));
	twcount__grouped(t, &s, -1);
	twcount__sock(t, &s, -1);
	s = sock4(7, false, 1, 40000, 2, 80);
	twcount__grouped(t, &s, -1);
	twcount__sock(t, &s, -1);
	g = find_group(t, TW_SIDE_CLIENT, 7, 2, 80);
	CHECK(g && g->count == 2);
	CHECK(twcount__ok(t));
	twcount__free(t);
}

/* A range named after socks were grouped against the default: it says
 * so, and grouping them again counts them against the new one. The same
 * range again says nothing. */
static void test_port_range_regroup(void)
{
	struct twcount *t = twcount__new();
	struct twcount_sock s[2] = {
		sock4(9, false, 1, 2048, 2, 80),    /* in "2048 65535", not in the default */
		sock4(9, false, 1, 40000, 2, 80),   /* in both */
	};
	const struct census_tw *g;

	for (int i = 0; i < 2; i++) {
		twcount__sock(t, &s[i], 1);
		twcount__grouped(t, &s[i], 1);
	}
	g = find_group(t, TW_SIDE_CLIENT, 9, 2, 80);
	CHECK(g && g->in_range == 1);
	CHECK(twcount__port_range(t, 9, 2048, 65535));
	twcount__clear_groups(t);
	CHECK(!find_group(t, TW_SIDE_CLIENT, 9, 2, 80));
	for (int i = 0; i < 2; i++)
		twcount__grouped(t, &s[i], 1);
	g = find_group(t, TW_SIDE_CLIENT, 9, 2, 80);
	CHECK(g && g->count == 2 && g->in_range == 2);
	CHECK(!twcount__port_range(t, 9, 2048, 65535));
	/* a namespace with nothing grouped needs no regroup */
	CHECK(!twcount__port_range(t, 10, 1024, 2000));
	/* the range holds for socks grouped later */
	s[0].netns = 10;
	twcount__sock(t, &s[0], 1);
	twcount__grouped(t, &s[0], 1);
	g = find_group(t, TW_SIDE_CLIENT, 10, 2, 80);
	CHECK(g && g->in_range == 0);
	for (int i = 0; i < 2; i++) {
		twcount__grouped(t, &s[i], -1);
		twcount__sock(t, &s[i], -1);
	}
	CHECK(twcount__ok(t));
	twcount__free(t);
}

/* A namespace without socks goes at the prune after port_range stops
 * naming it, its range with it; one named, or holding socks, stays. A
 * sock taken away that was never counted, or from a group it is not in,
 * breaks the counts. */
static void test_prune_and_broken(void)
{
	struct twcount *t = twcount__new();
	struct twcount_sock s = sock4(11, false, 1, 40000, 2, 80);
	struct twcount_sock low = sock4(12, false, 1, 2000, 2, 80);
	const struct census_tw *g;

	twcount__port_range(t, 12, 1024, 65535);
	twcount__sock(t, &s, 1);
	twcount__prune(t);     /* 12 named since the last prune, 11 holds a sock */
	twcount__sock(t, &low, 1);
	twcount__grouped(t, &low, 1);
	g = find_group(t, TW_SIDE_CLIENT, 12, 2, 80);
	CHECK(g && g->in_range == 1);   /* 12's own range stood */
	twcount__grouped(t, &low, -1);
	twcount__sock(t, &low, -1);
	twcount__prune(t);     /* 12 not named since: it goes, range and all */
	twcount__sock(t, &low, 1);
	twcount__grouped(t, &low, 1);
	g = find_group(t, TW_SIDE_CLIENT, 12, 2, 80);
	CHECK(g && g->in_range == 0);   /* the default range again */
	twcount__grouped(t, &low, -1);
	twcount__sock(t, &low, -1);
	CHECK_EQ_INT(twcount__netns_total(t, 11), 1);
	twcount__sock(t, &s, -1);
	CHECK_EQ_INT(twcount__netns_total(t, 11), 0);
	CHECK(twcount__ok(t));
	twcount__sock(t, &s, -1);
	CHECK(!twcount__ok(t));
	twcount__free(t);

	t = twcount__new();
	twcount__sock(t, &s, 1);
	twcount__grouped(t, &s, -1);
	CHECK(!twcount__ok(t));
	twcount__free(t);

	/* from a namespace never counted */
	t = twcount__new();
	twcount__sock(t, &s, -1);
	CHECK(!twcount__ok(t));
	twcount__free(t);
	t = twcount__new();
	twcount__grouped(t, &s, -1);
	CHECK(!twcount__ok(t));
	twcount__free(t);
}

/* The engine's counts against the census's reading of the kernel's:
 * within 16 plus 1/32 they agree; a namespace the census could not count,
 * or one it did not walk that holds more than 16 counted socks, does not. */
static void test_agrees_with_census(void)
{
	struct census_netns nets[2] = {
		{ .netns = 7, .tw_socks = 1000, .tw_socks_ok = true },
		{ .netns = 8, .tw_socks = 0, .tw_socks_ok = true },
	};
	struct census c = { .netns = nets, .nnetns = 2 };
	struct twcount *t = twcount__new();
	struct twcount_sock s = sock4(7, false, 1, 40000, 2, 80);
	struct twcount_sock other = sock4(9, false, 1, 40000, 2, 80);
	int i;

	CHECK(!twcount__agrees(t, &c));          /* 0 of 1000 */
	for (i = 0; i < 1000 - 16 - 1000 / 32; i++)
		twcount__sock(t, &s, 1);
	CHECK(twcount__agrees(t, &c));           /* short by 47: the slack */
	twcount__sock(t, &s, -1);
	CHECK(!twcount__agrees(t, &c));          /* short by 48 */
	for (i = 0; i < 48 + 47; i++)
		twcount__sock(t, &s, 1);
	CHECK(twcount__agrees(t, &c));           /* over by 47 */
	twcount__sock(t, &s, 1);
	CHECK(!twcount__agrees(t, &c));          /* over by 48 */
	twcount__sock(t, &s, -1);
	for (i = 0; i < 16; i++)
		twcount__sock(t, &other, 1);
	CHECK(twcount__agrees(t, &c));           /* 16 where the census was not */
	twcount__sock(t, &other, 1);
	CHECK(!twcount__agrees(t, &c));
	nets[1].netns = 9;
	nets[1].tw_socks = 17;
	CHECK(twcount__agrees(t, &c));           /* ... until it walks there */
	nets[1].tw_socks_ok = false;
	CHECK(!twcount__agrees(t, &c));          /* its count unread */
	twcount__free(t);
}

/* A burst of ends in flight: the census read the kernel's count after
 * 30,000 tw socks ended in one jiffy, before the engine had their records.
 * One look apart after agreeing passes; the second in a row, or a first
 * look apart (socks from before synfin started), does not. */
static void test_stands_through_a_burst(void)
{
	struct census_netns net = { .netns = 7, .tw_socks = 60000, .tw_socks_ok = true };
	struct census c = { .netns = &net, .nnetns = 1 };
	struct twcount *t = twcount__new();
	struct twcount_sock s = sock4(7, false, 1, 40000, 2, 80);
	bool agreed_last = false;
	int i;

	CHECK(!twcount__stands(twcount__agrees(t, &c), &agreed_last)); /* at start */
	for (i = 0; i < 60000; i++)
		twcount__sock(t, &s, 1);
	CHECK(twcount__stands(twcount__agrees(t, &c), &agreed_last));
	net.tw_socks = 30000;                    /* the burst, not yet drained */
	CHECK(!twcount__agrees(t, &c));
	CHECK(twcount__stands(twcount__agrees(t, &c), &agreed_last));
	for (i = 0; i < 30000; i++)              /* the drain brings them */
		twcount__sock(t, &s, -1);
	CHECK(twcount__stands(twcount__agrees(t, &c), &agreed_last));
	net.tw_socks = 31000;                    /* 1,000 synfin never saw */
	CHECK(twcount__stands(twcount__agrees(t, &c), &agreed_last));
	CHECK(!twcount__stands(twcount__agrees(t, &c), &agreed_last));
	CHECK(!twcount__stands(twcount__agrees(t, &c), &agreed_last));
	net.tw_socks = 30000;                    /* they ended */
	CHECK(twcount__stands(twcount__agrees(t, &c), &agreed_last));
	twcount__free(t);
}

#define NSOCKS 3000

struct recount {
	uint32_t count, in_range;
};

/* 3,000 socks over three namespaces (one with a range of its own), a few
 * destinations and listeners, put, grouped (some only later, as a FIN
 * takes them to TIME_WAIT) and taken away at random: every group and
 * total against a recount of the list. */
static void test_random_against_recount(void)
{
	static struct twcount_sock socks[NSOCKS];
	static bool present[NSOCKS], grouped[NSOCKS];
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	struct twcount *t = twcount__new();
	uint32_t want_totals[4];
	const struct census_tw *g;
	size_t n, want_groups;

	for (int i = 0; i < NSOCKS; i++) {
		uint64_t r = unit_xorshift(&rng);

		socks[i] = sock4((uint32_t)(1 + r % 3), r >> 8 & 1, (uint8_t)(1 + (r >> 9) % 2),
				 (uint16_t)(1024 + (r >> 12) % 60000), (uint8_t)(2 + (r >> 30) % 5),
				 (uint16_t)(80 + (r >> 40) % 3));
		if (socks[i].server)
			socks[i].lport = (uint16_t)(8000 + (r >> 12) % 2);
	}
	twcount__port_range(t, 3, 1024, 30000);
	for (int step = 0; step < 100000; step++) {
		int i = (int)(unit_xorshift(&rng) % NSOCKS);
		uint64_t what = unit_xorshift(&rng) % 4;

		if (!present[i]) {
			twcount__sock(t, &socks[i], 1);
			present[i] = true;
			grouped[i] = what != 0;
			if (grouped[i])
				twcount__grouped(t, &socks[i], 1);
		} else if (!grouped[i] && what == 0) {
			twcount__grouped(t, &socks[i], 1);
			grouped[i] = true;
		} else {
			if (grouped[i])
				twcount__grouped(t, &socks[i], -1);
			twcount__sock(t, &socks[i], -1);
			present[i] = grouped[i] = false;
		}
	}
	CHECK(twcount__ok(t));

	memset(want_totals, 0, sizeof(want_totals));
	for (int i = 0; i < NSOCKS; i++)
		want_totals[socks[i].netns] += present[i];
	for (uint32_t ns = 1; ns <= 3; ns++)
		CHECK_EQ_INT(twcount__netns_total(t, ns), want_totals[ns]);

	/* every group: its count and in_range from the list */
	g = twcount__groups(t, &n);
	want_groups = 0;
	for (size_t k = 0; k < n; k++) {
		struct recount want = { 0, 0 };

		for (int i = 0; i < NSOCKS; i++) {
			const struct twcount_sock *s = &socks[i];
			uint32_t lo = s->netns == 3 ? 1024 : TWCOUNT_DEFAULT_PORT_LO;
			uint32_t hi = s->netns == 3 ? 30000 : TWCOUNT_DEFAULT_PORT_HI;

			if (!grouped[i] || s->netns != g[k].ep.netns ||
			    (s->server ? TW_SIDE_SERVER : TW_SIDE_CLIENT) != g[k].side ||
			    g[k].ep.port != (s->server ? s->lport : s->rport) ||
			    memcmp(g[k].ep.addr, s->server ? s->laddr : s->raddr, SYNFIN_ADDR_LEN))
				continue;
			want.count++;
			want.in_range += !s->server && s->lport >= lo && s->lport <= hi;
		}
		CHECK(want.count > 0);
		CHECK_EQ_INT(g[k].count, want.count);
		CHECK_EQ_INT(g[k].in_range, want.in_range);
		want_groups += want.count;
	}
	/* and no grouped sock outside the groups */
	for (int i = 0; i < NSOCKS; i++)
		want_groups -= grouped[i];
	CHECK_EQ_INT(want_groups, 0);
	twcount__free(t);
}

static const struct unit_case cases[] = {
	{ "twcount_groups_as_the_census", test_groups_as_the_census },
	{ "twcount_groups_dual_stack", test_groups_dual_stack },
	{ "twcount_port_range_regroup", test_port_range_regroup },
	{ "twcount_prune_and_broken", test_prune_and_broken },
	{ "twcount_agrees_with_census", test_agrees_with_census },
	{ "twcount_stands_through_a_burst", test_stands_through_a_burst },
	{ "twcount_random_against_recount", test_random_against_recount },
};

UNIT_MAIN(cases)
