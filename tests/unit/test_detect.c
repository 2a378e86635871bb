// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The detectors' rules and their start/end machine, the activity tallies
 * they read, and the netstat parser, on made-up figures.
 */
#include <arpa/inet.h>
#include <math.h>
#include "activity.h"
#include "census.h"
#include "detect.h"
#include "unit.h"

#define SEC 1000000000ULL

static struct detect_config cfg(void)
{
	struct detect_config c;

	detect_config_defaults(&c);
	return c;
}

static struct live_listener flood_listener(void)
{
	struct live_listener l = {
		.ep = { .netns = 42, .family = SYNFIN_AF_INET, .port = 5100 },
		.owner = { .pid = 77, .comm = "srv" },
		.backlog = 8, .half_open = 9, .sources = 9,
		.cookies_per_s = 1000, .unanswered_per_s = 1000,
		.syn_per_s = 1000, .completion_ratio = 0,
	};

	inet_pton(AF_INET, "10.213.0.2", l.ep.addr);
	return l;
}

static const struct live_figure *fig(const struct live_alert *a, const char *name)
{
	for (uint32_t i = 0; i < a->nfigures; i++)
		if (!strcmp(a->figures[i].name, name))
			return &a->figures[i];
	return NULL;
}

static void test_syn_flood_rule(void)
{
	struct detect_config c = cfg();
	struct live_listener l = flood_listener();
	struct live_alert a;

	CHECK(detect_syn_flood(&c, &l, &a));
	CHECK_EQ_INT(a.kind, ALERT_SYN_FLOOD);
	CHECK_EQ_INT(a.ep.port, 5100);
	CHECK_EQ_INT(a.owner.pid, 77);
	CHECK(fig(&a, "unanswered_per_s") && fig(&a, "unanswered_per_s")->value == 1000);
	CHECK(fig(&a, "half_open") && fig(&a, "half_open")->value == 9);
	CHECK_EQ_INT(a.nthresholds, 2);
	CHECK(a.thresholds[0].fired && a.thresholds[1].fired);

	/* a legitimate burst: as many SYNs, all completing */
	l.unanswered_per_s = 3;
	l.completed_per_s = 1000;
	l.syn_per_s = 1003;
	l.completion_ratio = 1000.0 / 1003;
	CHECK(!detect_syn_flood(&c, &l, &a));
	CHECK(!a.thresholds[0].fired && !a.thresholds[1].fired);

	/* many unanswered but most complete: a lossy network, not a flood */
	l.unanswered_per_s = 400;
	l.completed_per_s = 1000;
	l.syn_per_s = 1400;
	l.completion_ratio = 1000.0 / 1400;
	CHECK(!detect_syn_flood(&c, &l, &a));
	CHECK(a.thresholds[0].fired && !a.thresholds[1].fired);

	/* a trickle of unanswered SYNs to an idle listener (a scanner) */
	l.unanswered_per_s = 20;
	l.completed_per_s = 0;
	l.completion_ratio = 0;
	CHECK(!detect_syn_flood(&c, &l, &a));
}

static void test_timewait_rule(void)
{
	struct detect_config c = cfg();
	struct live_tw_group g = {
		.side = TW_SIDE_CLIENT,
		.ep = { .netns = 1, .family = SYNFIN_AF_INET, .port = 80 },
		.count = 600, .port_range = 1000, .port_use = 0.6,
		.max_tw_buckets = 262144, .entries_per_s = 100,
	};
	struct live_alert a;

	CHECK(detect_timewait(&c, &g, &a));
	CHECK_EQ_INT(a.side, TW_SIDE_CLIENT);
	CHECK(fig(&a, "port_use") && fig(&a, "projected_use"));
	g.port_use = 0.4;
	g.count = 400;
	CHECK(!detect_timewait(&c, &g, &a));

	/* server side: only the count counts, capped by half the buckets */
	g.side = TW_SIDE_SERVER;
	g.port_range = 0;
	g.port_use = 0;
	g.count = 9000;
	CHECK(detect_timewait(&c, &g, &a));
	CHECK(!fig(&a, "port_use"));
	g.count = 600;
	CHECK(!detect_timewait(&c, &g, &a));
	g.max_tw_buckets = 1000;   /* half: 500 */
	CHECK(detect_timewait(&c, &g, &a));
	CHECK_EQ_INT((int)a.thresholds[a.nthresholds - 1].limit, 500);
}

/* A namespace holding fewer tw socks than the floor has no group that
 * fires, on either side; and the floor is no more than two below the
 * least group that does (so the census still walks when it could). */
static void test_timewait_floor(void)
{
	static const struct {
		double pct;
		uint32_t count, buckets, range;
	} cases[] = {
		{ 50, 8192, 262144, 28232 },  /* the defaults: tw-count is lower */
		{ 50, 8192, 1000, 28232 },    /* half the buckets is lower */
		{ 50, 8192, 0, 0 },           /* neither range nor buckets known */
		{ 0.5, 8192, 262144, 28232 }, /* the share is lower */
		{ 100, 100, 262144, 63488 },
		{ 33.3, 8192, 262144, 999 },  /* a share that is no whole count */
		{ 0, 8192, 262144, 28232 },   /* every group fires: no floor */
		{ 50, 8192, 1, 28232 },       /* one bucket: 1, not half of it, 0 */
	};
	struct live_alert a;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct detect_config c = cfg();
		struct live_tw_group g = { .ep = { .netns = 1, .family = SYNFIN_AF_INET } };
		uint32_t f, n;
		bool fired = false;

		c.tw_ports_pct = cases[i].pct;
		c.tw_count = cases[i].count;
		f = detect_timewait_floor(&c, cases[i].buckets, cases[i].range);
		g.max_tw_buckets = cases[i].buckets;
		if (f > 0) {
			g.side = TW_SIDE_CLIENT;
			g.count = f - 1;
			g.port_range = cases[i].range;
			g.port_use = cases[i].range ? (double)(f - 1) / cases[i].range : 0;
			CHECK(!detect_timewait(&c, &g, &a));
			g.side = TW_SIDE_SERVER;
			g.port_range = 0;
			g.port_use = 0;
			CHECK(!detect_timewait(&c, &g, &a));
		}
		for (n = f; n <= f + 2 && !fired; n++) {
			g.side = TW_SIDE_CLIENT;
			g.count = n;
			g.port_range = cases[i].range;
			g.port_use = cases[i].range ? (double)n / cases[i].range : 0;
			fired = detect_timewait(&c, &g, &a);
		}
		CHECK(fired);
		/* only the share may fire for a group of none */
		if (cases[i].pct) {
			g.count = 0;
			g.port_use = 0;
			CHECK(!detect_timewait(&c, &g, &a));
		}
	}
}

static void test_close_wait_rule(void)
{
	struct detect_config c = cfg();
	struct live_close_wait cw = {
		.owner = { .pid = 9, .comm = "leaky" }, .netns = 3,
		.count = 20, .old = 8, .oldest_s = 120,
	};
	struct live_alert a;

	CHECK(detect_close_wait(&c, &cw, &a));
	CHECK_EQ_INT(a.owner.pid, 9);
	CHECK_EQ_INT(a.also.pid, 0);
	/* a child it forked holds them too: named beside it, and counted */
	cw.shared = 20;
	cw.also = (struct live_owner){ .pid = 10, .comm = "child" };
	cw.others = 3;
	CHECK(detect_close_wait(&c, &cw, &a));
	CHECK_EQ_INT(a.owner.pid, 9);
	CHECK_EQ_INT(a.also.pid, 10);
	CHECK_EQ_STR(a.also.comm, "child");
	CHECK(a.nfigures == 5 && !strcmp(a.figures[3].name, "shared") &&
	      a.figures[3].value == 20);
	/* and how many processes, the one named among them */
	CHECK(!strcmp(a.figures[4].name, "other_holders") && a.figures[4].value == 3);
	cw.old = 7;
	CHECK(!detect_close_wait(&c, &cw, &a));
}

struct sink {
	struct live_alert got[8];
	int n;
};

static void collect(const struct live_alert *a, void *ctx)
{
	struct sink *s = ctx;

	if (s->n < 8)
		s->got[s->n++] = *a;
}

/* start after hold_on firing intervals, once; end after hold_off clear ones */
static void test_hysteresis(void)
{
	struct detect_config c = cfg();
	struct detector *d = detect__new(&c);
	struct live_listener l = flood_listener();
	struct sink s = {};
	struct live_alert a, active[4];
	uint64_t t = 100 * SEC;

	CHECK(d != NULL);
	if (!d)
		return;
	detect__observe(d, &a, detect_syn_flood(&c, &l, &a));
	detect__tick(d, t += SEC, collect, &s);
	CHECK_EQ_INT(s.n, 0);               /* one interval is a spike */
	CHECK_EQ_INT(detect__active(d, active, 4), 0);
	for (int i = 0; i < 5; i++) {
		detect__observe(d, &a, detect_syn_flood(&c, &l, &a));
		detect__tick(d, t += SEC, collect, &s);
	}
	CHECK_EQ_INT(s.n, 1);               /* started once, not per interval */
	CHECK(!s.got[0].ended);
	CHECK_EQ_INT(s.got[0].since_ns, 101 * SEC);
	CHECK_EQ_INT(s.got[0].ts_ns, 102 * SEC);
	CHECK_EQ_INT(detect__active(d, active, 4), 1);
	CHECK_EQ_INT(active[0].ts_ns, t);
	CHECK_EQ_INT(active[0].since_ns, 101 * SEC);

	/* the flood stops: clear twice is not enough, the third ends it */
	l.unanswered_per_s = 0;
	l.completion_ratio = 1;
	for (int i = 0; i < 2; i++) {
		detect__observe(d, &a, detect_syn_flood(&c, &l, &a));
		detect__tick(d, t += SEC, collect, &s);
	}
	CHECK_EQ_INT(s.n, 1);
	/* the listener vanishes from the census: not observed counts as clear */
	detect__tick(d, t += SEC, collect, &s);
	CHECK_EQ_INT(s.n, 2);
	CHECK(s.got[1].ended);
	CHECK_EQ_INT(s.got[1].since_ns, 101 * SEC);
	CHECK_EQ_INT(s.got[1].ts_ns, t);
	CHECK_EQ_INT(s.got[1].owner.pid, 77);
	CHECK_EQ_INT(detect__active(d, active, 4), 0);

	/* a flap inside hold_off does not end and restart it */
	l = flood_listener();
	for (int i = 0; i < 2; i++) {
		detect__observe(d, &a, detect_syn_flood(&c, &l, &a));
		detect__tick(d, t += SEC, collect, &s);
	}
	CHECK_EQ_INT(s.n, 3);
	detect__tick(d, t += SEC, collect, &s);   /* one clear interval */
	detect__observe(d, &a, detect_syn_flood(&c, &l, &a));
	detect__tick(d, t += SEC, collect, &s);
	CHECK_EQ_INT(s.n, 3);

	/* at exit every active alert ends */
	detect__flush(d, t += SEC, collect, &s);
	CHECK_EQ_INT(s.n, 4);
	CHECK(s.got[3].ended);
	detect__free(d);
}

/* two listeners are two alerts; a leak is keyed by its process */
static void test_keys(void)
{
	struct detect_config c = cfg();
	struct detector *d;
	struct live_listener l1 = flood_listener(), l2 = flood_listener();
	struct live_close_wait cw = {
		.owner = { .pid = 9, .comm = "leaky" }, .netns = 3,
		.count = 20, .old = 20, .oldest_s = 120,
		.peer = { .netns = 3, .family = SYNFIN_AF_INET, .port = 1111 },
	};
	struct sink s = {};
	struct live_alert a;
	uint64_t t = SEC;

	c.hold_on = 1;
	d = detect__new(&c);
	CHECK(d != NULL);
	if (!d)
		return;
	l2.ep.port = 5101;
	for (int i = 0; i < 3; i++) {
		detect__observe(d, &a, detect_syn_flood(&c, &l1, &a));
		detect__observe(d, &a, detect_syn_flood(&c, &l2, &a));
		/* the oldest peer, and the other holder, change: still the
		 * same leak */
		cw.peer.port = (uint16_t)(1111 + i);
		cw.also.pid = (uint32_t)(10 + i);
		detect__observe(d, &a, detect_close_wait(&c, &cw, &a));
		detect__tick(d, t += SEC, collect, &s);
	}
	CHECK_EQ_INT(s.n, 3);
	detect__free(d);
}

/* The listeners of a SO_REUSEPORT group share one endpoint, and one alert
 * key; the census gives the group's half-open requests to one of them, so
 * the others are quiet rows of the same key. One firing row starts the
 * alert, before or after its quiet siblings, and keeps it going. */
static void test_reuseport_rows(void)
{
	struct detect_config c = cfg();
	struct detector *d = detect__new(&c);
	struct live_listener busy = flood_listener(), quiet = flood_listener();
	struct sink s = {};
	struct live_alert a;
	uint64_t t = SEC;

	CHECK(d != NULL);
	if (!d)
		return;
	quiet.unanswered_per_s = 0;
	quiet.syn_per_s = 0;
	quiet.completion_ratio = 1;
	for (int i = 0; i < 6; i++) {
		/* the quiet one first, then last, in turn */
		if (i % 2)
			detect__observe(d, &a, detect_syn_flood(&c, &quiet, &a));
		detect__observe(d, &a, detect_syn_flood(&c, &busy, &a));
		detect__observe(d, &a, detect_syn_flood(&c, &quiet, &a));
		detect__tick(d, t += SEC, collect, &s);
	}
	CHECK_EQ_INT(s.n, 1);
	CHECK(!s.got[0].ended);
	CHECK(fig(&s.got[0], "unanswered_per_s") && fig(&s.got[0], "unanswered_per_s")->value > 0);
	detect__free(d);
}

/* The kernel and user space share the handshake buckets (event.h): every
 * value falls inside the bucket it is given, and the buckets tile. */
static void test_hs_buckets(void)
{
	uint64_t v, bad = 0;
	uint32_t i;

	for (v = 0; v < 70000; v++) {
		i = synfin_hs_bucket(v);
		bad += !(i < SYNFIN_HS_BUCKETS && synfin_hs_bucket_low(i) <= v &&
			 v < synfin_hs_bucket_low(i) + synfin_hs_bucket_width(i));
	}
	for (v = 70000; v < (1ULL << 40); v = v * 1.37 + 11) {
		i = synfin_hs_bucket(v);
		bad += !(i < SYNFIN_HS_BUCKETS && synfin_hs_bucket_low(i) <= v &&
			 v < synfin_hs_bucket_low(i) + synfin_hs_bucket_width(i) &&
			 synfin_hs_bucket_width(i) * 16 <= synfin_hs_bucket_low(i));
	}
	CHECK_EQ_INT(bad, 0);
	for (i = 1; i < SYNFIN_HS_BUCKETS; i++)
		bad += synfin_hs_bucket_low(i) != synfin_hs_bucket_low(i - 1) +
						 synfin_hs_bucket_width(i - 1);
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(synfin_hs_bucket((1ULL << 40) - 1), SYNFIN_HS_BUCKETS - 1);
	CHECK_EQ_INT(synfin_hs_bucket(1ULL << 50), SYNFIN_HS_BUCKETS - 1);
}

/* More destinations than the table holds within the keep time: at each
 * interval the least recently active groups make room, counted, so a new
 * hot destination finds an entry. */
static void test_activity_crowded(void)
{
	struct activity *a = activity__new();
	struct conn_record rec = {
		.family = SYNFIN_AF_INET, .netns = 5, .role = ROLE_CLIENT, .rport = 80,
		.tw = { .kind = TW_KIND_TIME_WAIT },
	};
	struct live_endpoint ep = { .netns = 5, .family = SYNFIN_AF_INET, .port = 80 };
	uint64_t missed;

	CHECK(a != NULL);
	if (!a)
		return;
	for (uint32_t i = 0; i < ACTIVITY_MAX_KEYS; i++) {
		uint32_t addr = htonl(0x0a000000u + i);

		memcpy(rec.raddr, &addr, 4);
		rec.end_ns = SEC + i;
		activity__conn(a, &rec);
	}
	CHECK_EQ_INT(a->ntw, ACTIVITY_MAX_KEYS);
	CHECK_EQ_INT(a->keys_missed, 0);
	activity__reset(a, 2 * SEC);
	CHECK_EQ_INT(a->ntw, ACTIVITY_TW_KEEP_MAX);
	missed = ACTIVITY_MAX_KEYS - ACTIVITY_TW_KEEP_MAX;
	CHECK_EQ_INT(a->keys_missed, missed);
	/* the newest kept and found, the oldest gone */
	{
		uint32_t newest = htonl(0x0a000000u + ACTIVITY_MAX_KEYS - 1), oldest = htonl(0x0a000000u);

		memcpy(ep.addr, &newest, 4);
		CHECK(activity__find_tw(a, TW_SIDE_CLIENT, &ep) != NULL);
		memcpy(ep.addr, &oldest, 4);
		CHECK(activity__find_tw(a, TW_SIDE_CLIENT, &ep) == NULL);
	}
	/* a new destination gets an entry */
	{
		uint32_t addr = htonl(0x0b000001u);

		memcpy(rec.raddr, &addr, 4);
		rec.end_ns = 3 * SEC;
		activity__conn(a, &rec);
		memcpy(ep.addr, &addr, 4);
		CHECK(activity__find_tw(a, TW_SIDE_CLIENT, &ep) != NULL);
		CHECK_EQ_INT(a->keys_missed, missed);
	}
	activity__free(a);
}

/* The process whose connections left the tw socks that stand is named,
 * not one that churned long ago: a client restarted (pid 100: 3,000
 * connections in 10 s; pid 200 then 29 a second for 100 s). */
static void test_activity_owner_after_restart(void)
{
	struct activity *a = activity__new();
	struct conn_record rec = {
		.family = SYNFIN_AF_INET, .netns = 5, .role = ROLE_CLIENT, .rport = 5432,
		.tw = { .kind = TW_KIND_TIME_WAIT },
	};
	const struct activity_owner *best;
	uint64_t t = 0;

	CHECK(a != NULL);
	if (!a)
		return;
	inet_pton(AF_INET, "10.0.0.9", rec.raddr);
	for (int s = 0; s < 110; s++) {
		activity__reset(a, t);
		rec.pid = s < 10 ? 100 : 200;
		for (int i = 0; i < (s < 10 ? 300 : 29); i++) {
			rec.end_ns = t;
			activity__conn(a, &rec);
		}
		t += SEC;
	}
	CHECK_EQ_INT(a->ntw, 1);
	best = &a->tw[0].owners[0];
	for (int k = 1; k < ACTIVITY_OWNERS; k++)
		if (a->tw[0].owners[k].n > best->n)
			best = &a->tw[0].owners[k];
	CHECK_EQ_INT(best->owner.pid, 200);
	activity__free(a);
}

static void test_activity(void)
{
	struct activity *a = activity__new();
	struct synfin_event ev = {
		.kind = SYNFIN_EV_STATE, .family = SYNFIN_AF_INET, .netns = 5,
		.lport = 5100, .rport = 40000,
	};
	struct conn_record rec = {
		.family = SYNFIN_AF_INET, .netns = 5, .role = ROLE_CLIENT,
		.rport = 80, .pid = 12, .comm = "cli", .end_ns = 50 * SEC,
		.tw = { .kind = TW_KIND_TIME_WAIT },
	};
	struct live_handshakes hs;

	CHECK(a != NULL);
	if (!a)
		return;
	inet_pton(AF_INET, "10.0.0.2", ev.laddr);
	/* three passive opens, one SYN-ACK retransmit (first), one (second) */
	ev.old_state = SYNFIN_TCP_SYN_RECV;
	ev.new_state = SYNFIN_TCP_ESTABLISHED;
	for (int i = 0; i < 3; i++) {
		ev.srtt_us = 1000u * (i + 1);
		activity__event(a, &ev);
	}
	ev.kind = SYNFIN_EV_SYNACK_RETRANSMIT;
	ev.retransmits = 0;
	activity__event(a, &ev);
	ev.retransmits = 1;
	activity__event(a, &ev);
	CHECK_EQ_INT(a->opens_passive, 3);
	CHECK_EQ_INT(a->nlisteners, 1);
	CHECK_EQ_INT(a->listeners[0].completed, 3);
	CHECK_EQ_INT(a->listeners[0].synack_retrans, 2);
	CHECK_EQ_INT(a->listeners[0].synack_first, 1);
	CHECK_EQ_INT(a->listeners[0].nsources, 1);
	activity_handshakes(a->hs_server, &hs);
	CHECK_EQ_INT(hs.samples, 3);
	/* a histogram's figures: within 1/32 of the samples */
	CHECK(fabs(hs.p50_ms - 2.0) <= 2.0 / 32 && fabs(hs.max_ms - 3.0) <= 3.0 / 32);
	CHECK(hs.p50_ms < hs.max_ms);
	/* the kernel's per-listener counts land on the same listener */
	{
		struct live_endpoint ep = { .netns = 5, .family = SYNFIN_AF_INET, .port = 5100 };

		memcpy(ep.addr, ev.laddr, SYNFIN_ADDR_LEN);
		activity__completed(a, &ep, 7);
		CHECK_EQ_INT(a->nlisteners, 1);
		CHECK_EQ_INT(a->listeners[0].completed, 10);
		ep.port = 5101;
		activity__completed(a, &ep, 2);
		CHECK_EQ_INT(a->nlisteners, 2);
	}

	/* tw tallies by destination, owner most frequent */
	for (int i = 0; i < 5; i++)
		activity__conn(a, &rec);
	rec.tw.kind = TW_KIND_NONE;
	activity__conn(a, &rec);
	CHECK_EQ_INT(a->ntw, 1);
	CHECK_EQ_INT(a->tw[0].entries, 5);
	CHECK_EQ_INT(a->tw[0].owners[0].owner.pid, 12);
	/* a new interval: listeners go, the tw group stays with its owner
	 * while its socks may stand, then goes */
	activity__reset(a, 60 * SEC);
	CHECK_EQ_INT(a->nlisteners, 0);
	CHECK_EQ_INT(a->ntw, 1);
	CHECK_EQ_INT(a->tw[0].entries, 0);
	CHECK_EQ_INT(a->tw[0].owners[0].owner.pid, 12);
	rec.tw.kind = TW_KIND_TIME_WAIT;
	activity__conn(a, &rec);
	CHECK_EQ_INT(a->ntw, 1);          /* found again after the rebuild */
	CHECK_EQ_INT(a->tw[0].entries, 1);
	activity__reset(a, 200 * SEC);
	CHECK_EQ_INT(a->ntw, 0);
	activity__free(a);
}

static void test_netstat(void)
{
	const char *text =
		"TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed EmbryonicRsts "
		"ListenOverflows ListenDrops TCPReqQFullDoCookies TCPReqQFullDrop "
		"TCPSynRetrans\n"
		"TcpExt: 19985 3 0 0 7 19999 19985 12 41\n"
		"IpExt: InNoRoutes InTruncatedPkts\n"
		"IpExt: 0 0\n";
	uint64_t mib[MIB_MAX];

	CHECK_EQ_INT(census_parse_netstat(text, mib), 0);
	CHECK_EQ_INT(mib[MIB_SYNCOOKIES_SENT], 19985);
	CHECK_EQ_INT(mib[MIB_SYNCOOKIES_RECV], 3);
	CHECK_EQ_INT(mib[MIB_LISTEN_OVERFLOWS], 7);
	CHECK_EQ_INT(mib[MIB_LISTEN_DROPS], 19999);
	CHECK_EQ_INT(mib[MIB_REQQ_FULL_DROP], 12);
	CHECK_EQ_INT(mib[MIB_TW_OVERFLOW], 0);
	CHECK_EQ_INT(mib[MIB_SYN_RETRANS], 41);
	CHECK(census_parse_netstat("IpExt: a\nIpExt: 1\n", mib) != 0);
}

/* The census budget's cost of a walk: one walk charged far more than its
 * neighbours does not stretch the interval; a rise seen in every walk
 * does, from the third such walk on. */
static void test_walk_cost(void)
{
	struct census_walk_costs w = {};
	const uint64_t ms = 1000000;

	CHECK_EQ_INT(census_walk_cost(&w, 5 * ms), 5 * ms);
	CHECK_EQ_INT(census_walk_cost(&w, 4 * ms), 4 * ms);
	CHECK_EQ_INT(census_walk_cost(&w, 300 * ms), 4 * ms);
	CHECK_EQ_INT(census_walk_cost(&w, 6 * ms), 4 * ms);
	CHECK_EQ_INT(census_walk_cost(&w, 5 * ms), 5 * ms);
	/* the hash now holds many more sockets: every walk costs 80 ms */
	CHECK_EQ_INT(census_walk_cost(&w, 80 * ms), 5 * ms);
	CHECK_EQ_INT(census_walk_cost(&w, 80 * ms), 5 * ms);
	CHECK_EQ_INT(census_walk_cost(&w, 90 * ms), 80 * ms);
	/* and fewer again: the first cheap walk is believed */
	CHECK_EQ_INT(census_walk_cost(&w, 3 * ms), 3 * ms);
}

/* A namespace's request socks are dumped when it is new, when SYN
 * trouble shows in its counters since the last walk, and every 10 s
 * while the last dump found some (every 60 s when it found none); not
 * when all is quiet, nor for completions alone. */
static void test_syn_recv_needed(void)
{
	struct census_netns prev = { .netns = 7, .mib_ok = true, .syn_recv_ns = 100 * SEC,
				     .syn_recv_found = true };
	struct census_netns now = prev;
	const enum census_mib trouble[] = {
		MIB_SYN_RETRANS, MIB_SYNCOOKIES_SENT, MIB_LISTEN_OVERFLOWS, MIB_LISTEN_DROPS,
		MIB_REQQ_FULL_DO_COOKIES, MIB_REQQ_FULL_DROP,
	};

	now.syn_recv_ns = 0;
	CHECK(census_syn_recv_needed(&now, NULL, 101 * SEC));
	CHECK(!census_syn_recv_needed(&now, &prev, 101 * SEC));
	CHECK(!census_syn_recv_needed(&now, &prev, 109 * SEC));
	CHECK(census_syn_recv_needed(&now, &prev, 110 * SEC));
	prev.syn_recv_found = false;
	CHECK(!census_syn_recv_needed(&now, &prev, 110 * SEC));
	CHECK(!census_syn_recv_needed(&now, &prev, 159 * SEC));
	CHECK(census_syn_recv_needed(&now, &prev, 160 * SEC));
	prev.syn_recv_found = true;
	/* cookies coming back, a failed cookie, TIME_WAIT overflowing: no */
	now.mib[MIB_SYNCOOKIES_RECV] = 5;
	now.mib[MIB_SYNCOOKIES_FAILED] = 2;
	now.mib[MIB_TW_OVERFLOW] = 9;
	CHECK(!census_syn_recv_needed(&now, &prev, 101 * SEC));
	for (size_t i = 0; i < sizeof(trouble) / sizeof(trouble[0]); i++) {
		struct census_netns moved = now;

		moved.mib[trouble[i]]++;
		CHECK(census_syn_recv_needed(&moved, &prev, 101 * SEC));
	}
	now.mib_ok = false;
	CHECK(census_syn_recv_needed(&now, &prev, 101 * SEC));
	now.mib_ok = true;
	prev.syn_recv_ns = 0;
	CHECK(census_syn_recv_needed(&now, &prev, 101 * SEC));
}

static const struct unit_case cases[] = {
	{ "detect_syn_flood_rule", test_syn_flood_rule },
	{ "detect_timewait_rule", test_timewait_rule },
	{ "detect_timewait_floor", test_timewait_floor },
	{ "activity_crowded", test_activity_crowded },
	{ "activity_owner_after_restart", test_activity_owner_after_restart },
	{ "detect_close_wait_rule", test_close_wait_rule },
	{ "detect_hysteresis", test_hysteresis },
	{ "detect_keys", test_keys },
	{ "detect_reuseport_rows", test_reuseport_rows },
	{ "detect_hs_buckets", test_hs_buckets },
	{ "detect_activity", test_activity },
	{ "detect_netstat", test_netstat },
	{ "detect_walk_cost", test_walk_cost },
	{ "detect_syn_recv_needed", test_syn_recv_needed },
};

UNIT_MAIN(cases)
