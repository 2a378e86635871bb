// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Which listener takes a connection (census_find_listener), now a search
 * in listeners sorted by census_sort_listeners: against the plain rule it
 * replaced, a scan of every listener where a specific address wins over a
 * wildcard, on listeners and connections drawn from a few namespaces,
 * ports and addresses so that they collide (dual-stack wildcards,
 * IPv4-mapped addresses, SO_REUSEPORT twins). */
#include <stdbool.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "unit.h"
#include "census.h"
#include "clock.h"
#include "sockdiag.h"

/* the rule as a scan, as census.c had it before the search */
static int scan_for_listener(const struct census *c, const struct live_endpoint *e)
{
	int wildcard = -1;

	for (size_t i = 0; i < c->nlisteners; i++) {
		const struct live_endpoint *l = &c->listeners[i].ep;
		static const uint8_t zero[SYNFIN_ADDR_LEN];

		if (l->netns != e->netns || l->port != e->port ||
		    !sockdiag_listener_covers(l->family, l->addr, e->family, e->addr))
			continue;
		if (memcmp(l->addr, zero, SYNFIN_ADDR_LEN))
			return (int)i;
		if (wildcard < 0)
			wildcard = (int)i;
	}
	return wildcard;
}

/* one of four addresses of each family, or the wildcard */
static void draw_endpoint(uint64_t *rng, struct live_endpoint *e, bool may_wildcard)
{
	uint64_t r = unit_xorshift(rng);
	unsigned int which = (unsigned int)(r >> 8) % (may_wildcard ? 5 : 4);

	memset(e, 0, sizeof(*e));
	e->netns = 4026531840u + (uint32_t)(r % 3);
	e->port = (uint16_t)(80 + (r >> 4) % 6);
	e->family = (r >> 20) & 1 ? AF_INET6 : AF_INET;
	if (which == 4)
		return; /* the wildcard of its family */
	if (e->family == AF_INET) {
		e->addr[0] = 10;
		e->addr[3] = (uint8_t)(1 + which);
	} else if (which < 2) {
		/* IPv4-mapped: the same hosts as the IPv4 ones */
		e->addr[10] = 0xff;
		e->addr[11] = 0xff;
		e->addr[12] = 10;
		e->addr[15] = (uint8_t)(1 + which);
	} else {
		e->addr[0] = 0xfd;
		e->addr[15] = (uint8_t)which;
	}
}

static void test_search_matches_scan(void)
{
	uint64_t rng = 0x5eed5eedULL;
	int found = 0, none = 0, wildcards = 0;

	for (int round = 0; round < 200; round++) {
		struct census c = {};
		size_t n = 1 + unit_xorshift(&rng) % 40;

		c.listeners = calloc(n, sizeof(*c.listeners));
		CHECK(c.listeners);
		if (!c.listeners)
			return;
		c.nlisteners = n;
		for (size_t i = 0; i < n; i++) {
			draw_endpoint(&rng, &c.listeners[i].ep, true);
			c.listeners[i].inode = (uint32_t)i + 1;
		}
		census_sort_listeners(&c);
		for (size_t i = 1; i < n; i++) {
			const struct live_endpoint *a = &c.listeners[i - 1].ep, *b = &c.listeners[i].ep;

			CHECK(a->netns < b->netns || (a->netns == b->netns && a->port <= b->port));
		}
		for (int q = 0; q < 100; q++) {
			struct live_endpoint e;
			int want, got;

			draw_endpoint(&rng, &e, false);
			want = scan_for_listener(&c, &e);
			got = census_find_listener(&c, 0, &e);
			/* twins (SO_REUSEPORT) are alike: any one of them will do */
			CHECK((want < 0) == (got < 0));
			if (want < 0 || got < 0) {
				none++;
				continue;
			}
			CHECK(live_endpoint_equal(&c.listeners[want].ep, &c.listeners[got].ep));
			found++;
			wildcards += c.listeners[got].ep.addr[0] == 0 &&
				     c.listeners[got].ep.addr[12] == 0 && c.listeners[got].ep.addr[15] == 0;
		}
		/* from an index on: only the listeners past it */
		if (n > 2) {
			size_t first = n / 2;
			struct census rest = { .listeners = c.listeners + first,
					       .nlisteners = n - first };

			for (int q = 0; q < 50; q++) {
				struct live_endpoint e;
				int want, got;

				draw_endpoint(&rng, &e, false);
				want = scan_for_listener(&rest, &e);
				got = census_find_listener(&c, first, &e);
				CHECK((want < 0) == (got < 0));
				if (want >= 0 && got >= 0)
					CHECK(live_endpoint_equal(&rest.listeners[want].ep,
								  &c.listeners[got].ep));
			}
		}
		CHECK_EQ_INT(census_find_listener(&c, n, &c.listeners[0].ep), -1);
		free(c.listeners);
	}
	/* the draw reaches every case */
	CHECK(found > 1000);
	CHECK(none > 1000);
	CHECK(wildcards > 100);
}

static void test_specific_wins(void)
{
	struct census_listener ls[3] = {};
	struct census c = { .listeners = ls, .nlisteners = 3 };
	struct live_endpoint e = { .netns = 7, .family = AF_INET, .port = 443 };
	int i;

	/* a dual-stack wildcard, an IPv4 wildcard, a specific address */
	ls[0].ep = (struct live_endpoint){ .netns = 7, .family = AF_INET6, .port = 443 };
	ls[1].ep = (struct live_endpoint){ .netns = 7, .family = AF_INET, .port = 443 };
	ls[2].ep = (struct live_endpoint){ .netns = 7, .family = AF_INET, .port = 443 };
	memcpy(ls[2].ep.addr, "\x0a\x00\x00\x01", 4);
	census_sort_listeners(&c);
	memcpy(e.addr, "\x0a\x00\x00\x01", 4);
	i = census_find_listener(&c, 0, &e);
	CHECK(i >= 0 && !memcmp(c.listeners[i].ep.addr, "\x0a\x00\x00\x01", 4));
	/* another address: a wildcard */
	e.addr[3] = 2;
	i = census_find_listener(&c, 0, &e);
	CHECK(i >= 0 && c.listeners[i].ep.addr[0] == 0);
	/* another namespace or port: none */
	e.netns = 8;
	CHECK_EQ_INT(census_find_listener(&c, 0, &e), -1);
	e.netns = 7;
	e.port = 444;
	CHECK_EQ_INT(census_find_listener(&c, 0, &e), -1);
	/* none at all */
	c.nlisteners = 0;
	CHECK_EQ_INT(census_find_listener(&c, 0, &e), -1);
}

/* The namespaces (sorted by census__collect) and each one's listeners
 * are found by search, against a scan, at every size from none to 64
 * namespaces, some without listeners. */
static void test_netns_search_matches_scan(void)
{
	uint64_t rnd = 0x5eed5eedULL;

	for (size_t n = 0; n <= 64; n++) {
		struct census_netns nets[64] = {};
		struct census_listener ls[256] = {};
		struct census c = { .netns = nets, .nnetns = n, .listeners = ls };
		uint32_t id = 4026531840u;

		for (size_t i = 0; i < n; i++) {
			id += 1 + (uint32_t)(unit_xorshift(&rnd) % 5);
			nets[i].netns = id;
			for (uint64_t k = unit_xorshift(&rnd) % 4; k-- > 0 && c.nlisteners < 256;) {
				struct census_listener *l = &ls[c.nlisteners++];

				l->ep.netns = id;
				l->ep.family = AF_INET;
				l->ep.port = (uint16_t)(unit_xorshift(&rnd) % 3 + 80);
			}
		}
		census_sort_listeners(&c);
		for (uint32_t q = 4026531840u; q <= id + 1; q++) {
			const struct census_netns *want = NULL;
			size_t first = c.nlisteners, got;

			for (size_t i = 0; i < n; i++)
				if (nets[i].netns == q)
					want = &nets[i];
			for (size_t i = c.nlisteners; i-- > 0;)
				if (ls[i].ep.netns >= q)
					first = i;
			CHECK(census_netns_of(&c, q) == want);
			got = census_first_listener_in(&c, q);
			CHECK_EQ_INT(got, first);
			if (got < c.nlisteners && ls[got].ep.netns == q)
				CHECK(!got || ls[got - 1].ep.netns < q);
		}
	}
}

/* Spacing is news at twice the interval, and again only each time it
 * doubles past what was told: a line per doubling, not per walk. */
static void test_pace_news(void)
{
	const uint64_t s = 1000000000ULL;
	uint64_t told = 0;

	CHECK(!census_pace_news(s, s, &told));          /* on time */
	CHECK(!census_pace_news(s, 2 * s - 1, &told));  /* a little late */
	CHECK_EQ_INT(told, 0);
	CHECK(census_pace_news(s, 2 * s, &told));
	CHECK_EQ_INT(told, 2 * s);
	CHECK(!census_pace_news(s, 3 * s, &told));      /* no more than before */
	CHECK(!census_pace_news(s, s, &told));          /* back on time: nothing */
	CHECK(census_pace_news(s, 5 * s, &told));
	CHECK_EQ_INT(told, 5 * s);
	told = 0;
	CHECK(!census_pace_news(10 * s, 15 * s, &told)); /* a long interval */
	CHECK(census_pace_news(10 * s, 20 * s, &told));
}

/* Each namespace's sysctls are read again 30 to 45 s after the last
 * read, by namespace: not all of them in one walk. */
static void test_sysctl_refresh_spread(void)
{
	uint64_t lo = UINT64_MAX, hi = 0;

	for (uint32_t ns = 4026531840u; ns < 4026531840u + 64; ns++) {
		uint64_t r = census_sysctl_refresh_ns(ns);

		lo = r < lo ? r : lo;
		hi = r > hi ? r : hi;
	}
	CHECK_EQ_INT(lo, CENSUS_SYSCTL_REFRESH_NS);
	CHECK_EQ_INT(hi, CENSUS_SYSCTL_REFRESH_NS + 15 * 1000000000ULL);
}

static struct census_counts counts_of(struct census_runner *r)
{
	struct census_counts counts;

	census__counts(r, &counts);
	return counts;
}

/* Waits until the runner, on its own thread, has walked at least want
 * times; false after 30 s without. */
static bool wait_walks(struct census_runner *r, uint64_t want)
{
	for (int i = 0; i < 30000; i++) {
		if (counts_of(r).walks >= want)
			return true;
		usleep(1000);
	}
	return false;
}

/* Notes CENSUS_SERVER_NOTES + extra distinct servers, one round's: no
 * namespace has these numbers, so nothing listens there and no walk
 * takes them back. */
static void note_servers(struct census_runner *r, uint32_t round, uint32_t extra)
{
	struct live_endpoint ep;

	for (uint32_t i = 0; i < CENSUS_SERVER_NOTES + extra; i++) {
		memset(&ep, 0, sizeof(ep));
		ep.netns = 7u + round;
		ep.family = AF_INET;
		ep.addr[0] = 10;
		ep.addr[1] = (uint8_t)(i >> 8);
		ep.addr[3] = (uint8_t)i;
		ep.port = (uint16_t)(1024 + i);
		census__note_server(r, &ep, now_mono_ns());
	}
}

/* Servers noted past the bounds are counted, not kept: past
 * CENSUS_SERVER_NOTES between two walks, and, once the endpoints kept for
 * a tw sock's lifetime reach CENSUS_GONE_MAX, the notes a walk takes
 * after. Needs no privilege: a walk takes the notes whether or not it
 * could read a namespace. */
static void test_server_notes_bounded(void)
{
	struct census_opts opts = { .interval_ms = 60000 };
	const uint32_t rounds_to_fill = CENSUS_GONE_MAX / CENSUS_SERVER_NOTES;
	struct census_runner *r;
	uint64_t walks;

	/* one walk a minute: the first is done, the next far off */
	r = census__start(&opts);
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK(wait_walks(r, 1));
	note_servers(r, 0, 3);
	CHECK_EQ_INT(counts_of(r).server_notes_dropped, 3);
	census__stop(r);

	/* walks as often as the budget lets; a round's notes are taken by
	 * the second walk after them at the latest. The listeners a walk
	 * saw close join the same list: on a quiet host none, so the 16 of
	 * slack is for a listener closing meanwhile. */
	opts.interval_ms = 1;
	r = census__start(&opts);
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK(wait_walks(r, 1));
	for (uint32_t round = 0; round < rounds_to_fill; round++) {
		walks = counts_of(r).walks;
		note_servers(r, round, 0);
		CHECK(wait_walks(r, walks + 2));
	}
	CHECK(counts_of(r).server_notes_dropped <= 16);
	walks = counts_of(r).walks;
	note_servers(r, rounds_to_fill, 0);
	CHECK(wait_walks(r, walks + 2));
	CHECK(counts_of(r).server_notes_dropped >= CENSUS_SERVER_NOTES);
	CHECK(counts_of(r).server_notes_dropped <= CENSUS_SERVER_NOTES + 16);
	census__stop(r);
}

/* A socket in CLOSE_WAIT known by its tuple, as the engine and the
 * classic map know one: netns, family, lport, rport, raddr (IPv4 in the
 * first four bytes). */
static struct census_close_wait tuple(uint32_t netns, uint16_t lport, uint16_t rport,
				      uint8_t host, uint32_t pid)
{
	struct census_close_wait cw = {
		.netns = netns, .family = AF_INET, .lport = lport, .rport = rport,
		.owner.pid = pid,
	};

	cw.raddr[0] = 10;
	cw.raddr[3] = host;
	return cw;
}

/* census__holder: the one found by its whole tuple, with the second
 * process holding it, and none where two sockets of the tuple (different
 * local addresses) have two holders. */
static void test_holder_lookup(void)
{
	struct census_close_wait wanted[] = {
		tuple(7, 80, 40000, 1, 100),
		tuple(7, 80, 40000, 2, 0),      /* found, no process holds it */
		tuple(7, 80, 40001, 1, 200),    /* two of one tuple, two holders */
		tuple(7, 80, 40001, 1, 201),
		tuple(7, 80, 40002, 1, 300),    /* two of one tuple, one holder */
		tuple(7, 80, 40002, 1, 300),
		tuple(8, 80, 40000, 1, 400),
	};
	struct census c = { .wanted = wanted, .nwanted = 7 };
	struct census_close_wait key;
	const struct census_close_wait *o;

	wanted[6].also.pid = 401;  /* a child it forked holds it too */
	memcpy(wanted[6].also.comm, "child", 6);
	qsort(wanted, 7, sizeof(*wanted), census_close_wait_cmp);
	key = tuple(7, 80, 40000, 1, 0);
	o = census__holder(&c, &key);
	CHECK(o && o->owner.pid == 100 && !o->also.pid);
	key = tuple(8, 80, 40000, 1, 0);
	o = census__holder(&c, &key);
	CHECK(o && o->owner.pid == 400 && o->also.pid == 401 && !strcmp(o->also.comm, "child"));
	key = tuple(7, 80, 40002, 1, 0);
	o = census__holder(&c, &key);
	CHECK(o && o->owner.pid == 300);
	key = tuple(7, 80, 40000, 2, 0);
	CHECK(census__holder(&c, &key) == NULL);
	key = tuple(7, 80, 40001, 1, 0);
	CHECK(census__holder(&c, &key) == NULL);
	key = tuple(7, 81, 40000, 1, 0);  /* another local port */
	CHECK(census__holder(&c, &key) == NULL);
	key = tuple(9, 80, 40000, 1, 0);
	CHECK(census__holder(&c, &key) == NULL);
	c.nwanted = 0;
	c.wanted = NULL;
	key = tuple(7, 80, 40000, 1, 0);
	CHECK(census__holder(&c, &key) == NULL);
}

static uint32_t own_netns(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) ? 0 : (uint32_t)st.st_ino;
}

/* A walk finds a socket asked for by its tuple in this process's own
 * namespace (no privilege needed), with its inode, and only that one: a
 * loopback connection whose client closed, its server end in CLOSE_WAIT. */
static void test_wanted_found_by_tuple(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int lfd = -1, cfd = -1, sfd = -1;
	struct census_close_wait wants[2];
	struct census_opts opts = { .max_close_waits = 16 };
	struct sockaddr_in peer;
	struct census *c = NULL;
	struct stat st;
	uint16_t lport;

	opts.only_netns = own_netns();
	CHECK(opts.only_netns != 0);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || cfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 4) ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) ||
	    connect(cfd, (struct sockaddr *)&a, sizeof(a))) {
		CHECK(!"a loopback connection");
		goto cleanup;
	}
	sfd = accept(lfd, NULL, NULL);
	alen = sizeof(peer);
	if (sfd < 0 || getsockname(cfd, (struct sockaddr *)&peer, &alen) || fstat(sfd, &st)) {
		CHECK(!"its server end");
		goto cleanup;
	}
	close(cfd);
	cfd = -1;
	usleep(50000);  /* the FIN, over loopback */
	lport = ntohs(a.sin_port);
	wants[0] = tuple(opts.only_netns, lport, ntohs(peer.sin_port), 0, 4242);
	memset(wants[0].raddr, 0, SYNFIN_ADDR_LEN);
	memcpy(wants[0].raddr, &peer.sin_addr, 4);
	wants[0].since_ns = 12345;
	wants[1] = wants[0];
	wants[1].rport++;          /* no such socket */
	qsort(wants, 2, sizeof(*wants), census_close_wait_cmp);
	opts.cw_wants = wants;
	opts.ncw_wants = 2;
	c = census__collect(&opts);
	CHECK(c != NULL);
	if (!c)
		goto cleanup;
	CHECK_EQ_INT(c->err, 0);
	CHECK_EQ_INT(c->nwanted, 1);
	CHECK_EQ_INT(c->nclose_waits, 0);
	if (c->nwanted == 1) {
		CHECK_EQ_INT(c->wanted[0].inode, st.st_ino);
		CHECK_EQ_INT(c->wanted[0].lport, lport);
		CHECK_EQ_INT(c->wanted[0].since_ns, 12345);
		CHECK_EQ_INT(c->wanted[0].owner.pid, 4242);  /* the asker's, until resolved */
		CHECK(c->wanted[0].cookie != 0);
	}
	/* past the bound: counted, not listed */
	census__free(c);
	opts.max_close_waits = 0;
	c = census__collect(&opts);
	CHECK(c && c->nwanted == 0 && c->close_waits_dropped == 1);
cleanup:
	census__free(c);
	if (sfd >= 0)
		close(sfd);
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
}

/* A walk that skips TIME_WAIT repeats the last count, with its groups or
 * with none: a count of 5,000 tw socks that made no group (all outside
 * the filters) is a count all the same, not "no count" (tw_ts_ns 0,
 * which the monitor takes as counted elsewhere). */
static void test_carry_time_wait(void)
{
	struct census_tw_carry keep = { 0 };
	struct census counted = { 0 }, skipped = { 0 }, grouped = { 0 }, next = { 0 };
	struct census_tw g = { .count = 7 };

	/* nothing kept yet: a census that skips stays without a count */
	census_carry_time_wait(&keep, &skipped);
	CHECK_EQ_INT(skipped.tw_ts_ns, 0);

	counted.ts_ns = counted.tw_ts_ns = 1000;
	counted.states[SYNFIN_TCP_TIME_WAIT] = 5000;
	census_carry_time_wait(&keep, &counted);
	skipped.ts_ns = 2000;
	census_carry_time_wait(&keep, &skipped);
	CHECK_EQ_INT(skipped.tw_ts_ns, 1000);
	CHECK_EQ_INT(skipped.states[SYNFIN_TCP_TIME_WAIT], 5000);
	CHECK_EQ_INT(skipped.ntw, 0);

	/* a count with a group: the group comes with it, as a copy */
	grouped.ts_ns = grouped.tw_ts_ns = 3000;
	grouped.states[SYNFIN_TCP_TIME_WAIT] = 7;
	grouped.tw = &g;
	grouped.ntw = 1;
	census_carry_time_wait(&keep, &grouped);
	next.ts_ns = 4000;
	census_carry_time_wait(&keep, &next);
	CHECK_EQ_INT(next.tw_ts_ns, 3000);
	CHECK_EQ_INT(next.ntw, 1);
	CHECK(next.tw && next.tw != &g && next.tw[0].count == 7);
	free(next.tw);

	census_forget_time_wait(&keep);
	CHECK(!keep.tw && !keep.ts_ns);
	free(skipped.tw);
}

/* A SO_REUSEPORT group's sockets gone together, and a server noted again,
 * are one endpoint among the gone ones, with its latest time. */
static void test_gone_merge(void)
{
	struct census_gone_listener g[4] = {
		{ .ep = { .netns = 1, .family = SYNFIN_AF_INET, .port = 80 }, .gone_ns = 5 },
		{ .ep = { .netns = 1, .family = SYNFIN_AF_INET, .port = 443 }, .gone_ns = 6 },
		{ .ep = { .netns = 1, .family = SYNFIN_AF_INET, .port = 80 }, .gone_ns = 9 },
		{ .ep = { .netns = 1, .family = SYNFIN_AF_INET, .port = 80 }, .gone_ns = 7 },
	};
	size_t n = census_gone_merge(g, 4), i;
	bool saw80 = false;

	CHECK_EQ_INT(n, 2);
	for (i = 0; i < n; i++) {
		if (g[i].ep.port == 80) {
			saw80 = true;
			CHECK_EQ_INT(g[i].gone_ns, 9);
		}
	}
	CHECK(saw80);
}

static const struct unit_case cases[] = {
	{ "census: gone listeners merged by endpoint", test_gone_merge },
	{ "census: a skipped TIME_WAIT count repeated, groups or none", test_carry_time_wait },
	{ "census: the listener search agrees with a scan", test_search_matches_scan },
	{ "census: a specific address wins over the wildcards", test_specific_wins },
	{ "census: namespaces and their listeners found by search", test_netns_search_matches_scan },
	{ "census: the walks' spacing told once per doubling", test_pace_news },
	{ "census: sysctls read again 30 to 45 s on, by namespace", test_sysctl_refresh_spread },
	{ "census: servers noted past the bounds are counted", test_server_notes_bounded },
	{ "census: a CLOSE_WAIT holder by its tuple, none if two", test_holder_lookup },
	{ "census: a walk finds a CLOSE_WAIT socket by its tuple", test_wanted_found_by_tuple },
};

UNIT_MAIN(cases)
