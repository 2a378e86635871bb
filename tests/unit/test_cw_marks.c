// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* How old a CLOSE_WAIT mark standing can be (struct cw_marks), against a
 * model of the kernel's side: marks counted under the slot of the
 * generation user space hands it, and cleared under the slot they were
 * made under. The promise: no mark standing was made before earliest_ns,
 * and on a busy server whose sockets leave CLOSE_WAIT at once earliest_ns
 * stays within about one tick of now, so the census need not dump. */
#include <stdbool.h>
#include <stdint.h>
#include "unit.h"
#include "cw_marks.h"
#include "synfin/event.h"

#define SEC 1000000000ULL
#define T0 (1000 * SEC)
#define NSOCK 64

struct kmodel {
	uint64_t cnt[SYNFIN_CNT_MAX];
	uint32_t gen;                  /* what the kernel reads */
	bool marked[NSOCK];
	uint32_t slot[NSOCK];
	uint64_t made_ns[NSOCK];
};

static void mark(struct kmodel *k, int i, uint32_t gen, uint64_t now)
{
	k->marked[i] = true;
	k->slot[i] = gen & (SYNFIN_CW_SLOTS - 1);
	k->made_ns[i] = now;
	k->cnt[SYNFIN_CNT_CW_MARKED + k->slot[i]]++;
}

static void unmark(struct kmodel *k, int i)
{
	k->marked[i] = false;
	k->cnt[SYNFIN_CNT_CW_UNMARKED + k->slot[i]]++;
}

static void tick(struct kmodel *k, struct cw_marks *m, uint64_t now)
{
	if (cw_marks__tick(m, k->cnt, now))
		k->gen = m->gen;
}

/* the promise, for every mark standing */
static bool bound_holds(const struct kmodel *k, const struct cw_marks *m)
{
	for (int i = 0; i < NSOCK; i++)
		if (k->marked[i] && k->made_ns[i] < m->earliest_ns)
			return false;
	return true;
}

/* A busy server: a mark or two stand at every tick, each cleared
 * microseconds after it was made. The bound never falls more than a
 * tick behind, so a 3 s least age never asks for a dump. */
static void test_churn_stays_young(void)
{
	struct kmodel k = {};
	struct cw_marks m;
	uint64_t now = T0, worst = 0;

	cw_marks__init(&m, now);
	for (int s = 0; s < 60; s++) {
		for (int j = 0; j < 1000; j++) {
			int i = j % NSOCK;

			now += SEC / 1000;
			if (k.marked[i])
				unmark(&k, i);
			mark(&k, i, k.gen, now);
			if (i != 5) /* socket 5 stands for 64 ms each time */
				unmark(&k, i);
		}
		tick(&k, &m, now);
		CHECK(bound_holds(&k, &m));
		if (now - m.earliest_ns > worst)
			worst = now - m.earliest_ns;
	}
	CHECK(worst <= SEC + SEC / 100);
	CHECK_EQ_INT(m.gen, 60);
}

/* A server slow to close now and then: every second a socket whose
 * close() waits 1.8 s, so two stand at most ticks. With two slots (a
 * parity) the older never emptied, the generation stopped, and the bound
 * fell behind without end: a dump every interval. With eight, the bound
 * stays within the oldest such socket's age and a tick, under the 3 s
 * least age of the tally. */
static void test_slow_closes_stay_young(void)
{
	struct kmodel k = {};
	struct cw_marks m;
	uint64_t now = T0, worst = 0, slow_until[2] = {};

	cw_marks__init(&m, now);
	for (int s = 0; s < 60; s++) {
		for (int j = 0; j < 1000; j++) {
			int i = j % (NSOCK - 2);

			now += SEC / 1000;
			if (k.marked[i])
				unmark(&k, i);
			mark(&k, i, k.gen, now);
			unmark(&k, i);
			for (int w = 0; w < 2; w++) {
				int slow = NSOCK - 2 + w;

				if (k.marked[slow] && now >= slow_until[w])
					unmark(&k, slow);
			}
			/* a slow one made 300 ms into each second, in turn */
			if (j == 300) {
				int w = s & 1, slow = NSOCK - 2 + w;

				if (!k.marked[slow]) {
					mark(&k, slow, k.gen, now);
					slow_until[w] = now + 1800 * (SEC / 1000);
				}
			}
		}
		tick(&k, &m, now);
		CHECK(bound_holds(&k, &m));
		if (now - m.earliest_ns > worst)
			worst = now - m.earliest_ns;
	}
	CHECK(worst < 3 * SEC);
	CHECK(m.gen >= 50);
}

/* A leak: one socket stays in CLOSE_WAIT. The generation stops once its
 * slot is the next to open, and the bound stays at or before its mark. */
static void test_leak_holds_bound(void)
{
	struct kmodel k = {};
	struct cw_marks m;
	uint64_t now = T0;
	uint32_t gen_at_leak;

	cw_marks__init(&m, now);
	now += SEC;
	tick(&k, &m, now);
	now += SEC / 2;
	mark(&k, 0, k.gen, now);         /* the leak */
	gen_at_leak = k.gen;
	for (int s = 0; s < 30; s++) {
		now += SEC;
		mark(&k, 1, k.gen, now);      /* traffic beside it */
		unmark(&k, 1);
		tick(&k, &m, now);
		CHECK(bound_holds(&k, &m));
		CHECK(m.earliest_ns <= k.made_ns[0]);
	}
	CHECK_EQ_INT(m.gen, gen_at_leak + SYNFIN_CW_SLOTS - 1);
	CHECK(now - m.earliest_ns >= 30 * SEC);
	/* the leak ends: the bound catches up within two ticks */
	unmark(&k, 0);
	now += SEC;
	tick(&k, &m, now);
	now += SEC;
	tick(&k, &m, now);
	CHECK(now - m.earliest_ns <= SEC);
}

/* A program that read gen just before it changed counts its mark under
 * the old slot after the counters were read. That slot is now behind
 * gen's: the bound must not pass its opening while the mark stands. */
static void test_late_mark_under_old_slot(void)
{
	struct kmodel k = {};
	struct cw_marks m;
	uint64_t now = T0;
	uint32_t stale;

	cw_marks__init(&m, now);
	now += SEC;
	stale = k.gen;
	tick(&k, &m, now);               /* advances: the kernel's gen moves on */
	CHECK(k.gen != stale);
	mark(&k, 7, stale, now);         /* ... but this one read it before */
	CHECK(bound_holds(&k, &m));
	for (int s = 0; s < 10; s++) {
		now += SEC;
		tick(&k, &m, now);
		CHECK(bound_holds(&k, &m));
	}
	CHECK(now - m.earliest_ns >= 10 * SEC);
}

/* Random marks and clears, ticks at uneven times, now and then a late
 * mark under the slot before the last change: the bound always holds. */
static void test_random_bound(void)
{
	struct kmodel k = {};
	struct cw_marks m;
	uint64_t now = T0, rnd = 0x9e3779b97f4a7c15ULL;
	uint32_t prev_gen = 0;
	int ticks = 0, advances = 0;

	cw_marks__init(&m, now);
	for (int step = 0; step < 200000; step++) {
		uint32_t r;
		int i;

		r = (uint32_t)(unit_xorshift(&rnd) >> 32);
		i = (int)(r % NSOCK);
		now += 1 + r % (SEC / 500);
		if (r % 997 == 0) {
			prev_gen = k.gen;
			tick(&k, &m, now);
			ticks++;
			advances += k.gen != prev_gen;
			CHECK(bound_holds(&k, &m));
		} else if (!k.marked[i]) {
			/* rarely a program read gen before the last change */
			mark(&k, i, r % 13 == 0 ? prev_gen : k.gen, now);
		} else if (r % 61 != 0) { /* a few stay long */
			unmark(&k, i);
		}
	}
	CHECK(bound_holds(&k, &m));
	CHECK(ticks > 100);
	CHECK(advances > 0);
}

static const struct unit_case cases[] = {
	{ "cw_marks: a busy server's marks stay young", test_churn_stays_young },
	{ "cw_marks: slow closes now and then stay young", test_slow_closes_stay_young },
	{ "cw_marks: a leak holds the bound back", test_leak_holds_bound },
	{ "cw_marks: a late mark under the old slot", test_late_mark_under_old_slot },
	{ "cw_marks: random marks, the bound holds", test_random_bound },
};

UNIT_MAIN(cases)
