// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The object pool (src/pool.c): objects of its size, none handed out
 * twice, freed ones reused before a new block is taken. */
#include "unit.h"
#include "pool.h"

#define N 2500

static void test_objects_distinct_and_reused(void)
{
	static unsigned char *objs[N];
	struct pool p;

	pool_init(&p, 141, 1000);
	CHECK_EQ_INT(p.size, 144);
	for (int i = 0; i < N; i++) {
		objs[i] = pool_get(&p);
		CHECK(objs[i] != NULL);
		if (!objs[i])
			return;
		CHECK_EQ_INT((uintptr_t)objs[i] % 8, 0);
		memset(objs[i], i & 0xff, p.size);
	}
	CHECK_EQ_INT(p.nblocks, 3);
	CHECK_EQ_INT(pool_bytes(&p), 3 * 1000 * 144);
	/* writing one object touched no other */
	for (int i = 0; i < N; i++)
		for (size_t b = 0; b < p.size; b++)
			if (objs[i][b] != (i & 0xff)) {
				CHECK(!"objects overlap");
				i = N;
				break;
			}
	/* half of them back, and as many out again: no new block */
	for (int i = 0; i < N; i += 2)
		pool_put(&p, objs[i]);
	for (int i = 0; i < N; i += 2)
		CHECK(pool_get(&p) != NULL);
	CHECK_EQ_INT(p.nblocks, 3);
	pool_put(&p, NULL); /* a no-op, as free(NULL) */
	pool_free(&p);
	CHECK_EQ_INT(p.nblocks, 0);
	CHECK_EQ_INT(pool_bytes(&p), 0);
}

static void test_tiny_objects(void)
{
	struct pool p;
	void *a, *b;

	pool_init(&p, 1, 0);
	CHECK_EQ_INT(p.size, sizeof(void *));
	a = pool_get(&p);
	b = pool_get(&p);
	CHECK(a && b && a != b);
	pool_free(&p);
}

static const struct unit_case cases[] = {
	{ "pool: objects distinct, reused before a new block", test_objects_distinct_and_reused },
	{ "pool: objects smaller than a pointer", test_tiny_objects },
};

UNIT_MAIN(cases)
