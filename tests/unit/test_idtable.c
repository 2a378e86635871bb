// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The id table (idtable.h) against a plain list of what it should hold:
 * when it grows, and that every id put is found and every id deleted is
 * not, through deletions that shift entries back across the table's end. */
#include <stdbool.h>
#include <stdint.h>
#include "unit.h"
#include "idtable.h"

#define NIDS 4096

/* the same sequence every run */
static uint64_t rng_state = 88172645463325252ULL;

/* Grows only past three quarters: 12 of 16 slots fit, the 13th doubles. */
static void test_grows_at_three_quarters(void)
{
	struct idtable t;
	uint64_t id;

	CHECK_EQ_INT(idtable_init(&t, 16), 0);
	for (id = 1; id <= 12; id++)
		CHECK_EQ_INT(idtable_put(&t, id, (void *)(uintptr_t)id), 0);
	CHECK_EQ_INT(t.nslots, 16);
	CHECK_EQ_INT(idtable_put(&t, 13, (void *)(uintptr_t)13), 0);
	CHECK_EQ_INT(t.nslots, 32);
	for (id = 1; id <= 13; id++)
		CHECK(idtable_get(&t, id) == (void *)(uintptr_t)id);
	CHECK(idtable_get(&t, 14) == NULL);
	idtable_free(&t);
}

/* Ids whose probe starts in the last slots of a 64-slot table, so their
 * run wraps to slot 0, interleaved with deletions: backward shifts then
 * move entries across the end. */
static void test_wraps_and_shifts(void)
{
	uint64_t ids[40], id;
	struct idtable t;
	int n = 0;

	for (id = 1; n < 40; id++) {
		if ((idtable_hash(id) & 63) >= 60)
			ids[n++] = id;
	}
	CHECK_EQ_INT(idtable_init(&t, 64), 0);
	for (int i = 0; i < 40; i++)
		CHECK_EQ_INT(idtable_put(&t, ids[i], &ids[i]), 0);
	CHECK_EQ_INT(t.nslots, 64);
	for (int i = 0; i < 40; i += 3)
		idtable_del(&t, ids[i]);
	for (int i = 0; i < 40; i++)
		CHECK(idtable_get(&t, ids[i]) == (i % 3 ? &ids[i] : NULL));
	CHECK_EQ_INT(t.count, 40 - 14);
	idtable_free(&t);
}

/* Random puts and deletes against a list: every present id found with its
 * value, every absent one not, and the load never past three quarters. */
static void test_random_against_list(void)
{
	static uint64_t ids[NIDS];
	static bool present[NIDS];
	struct idtable t;
	uint32_t count = 0;
	bool over = false;

	for (int i = 0; i < NIDS; i++) {
		do
			ids[i] = unit_xorshift(&rng_state);
		while (!ids[i]);
		present[i] = false;
	}
	CHECK_EQ_INT(idtable_init(&t, 8), 0);
	for (int step = 0; step < 200000; step++) {
		int i = (int)(unit_xorshift(&rng_state) % NIDS);

		/* more puts than deletes early, the other way late */
		if (!present[i] && (step < 100000 || unit_xorshift(&rng_state) % 3 == 0)) {
			CHECK_EQ_INT(idtable_put(&t, ids[i], &ids[i]), 0);
			present[i] = true;
			count++;
		} else if (present[i]) {
			idtable_del(&t, ids[i]);
			present[i] = false;
			count--;
		}
		if ((uint64_t)t.count * 4 > (uint64_t)t.nslots * 3)
			over = true;
	}
	CHECK(!over);
	CHECK_EQ_INT(t.count, count);
	for (int i = 0; i < NIDS; i++)
		CHECK(idtable_get(&t, ids[i]) == (present[i] ? &ids[i] : NULL));
	idtable_free(&t);
}

static const struct unit_case cases[] = {
	{ "idtable_grows_at_three_quarters", test_grows_at_three_quarters },
	{ "idtable_wraps_and_shifts", test_wraps_and_shifts },
	{ "idtable_random_against_list", test_random_against_list },
};

UNIT_MAIN(cases)
