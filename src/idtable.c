// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Open addressing over pointers: an empty slot costs 16 bytes, not an
 * entry, and backward-shift deletion needs no tombstones. */
#include <errno.h>
#include <stdlib.h>
#include "idtable.h"

uint32_t idtable_hash(uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return (uint32_t)id;
}

int idtable_init(struct idtable *t, uint32_t nslots)
{
	t->nslots = nslots;
	t->count = 0;
	t->vals = calloc(nslots, sizeof(*t->vals));
	t->ids = calloc(nslots, sizeof(*t->ids));
	if (!t->vals || !t->ids) {
		idtable_free(t);
		return -ENOMEM;
	}
	return 0;
}

void idtable_free(struct idtable *t)
{
	free(t->vals);
	free(t->ids);
	t->vals = NULL;
	t->ids = NULL;
	t->nslots = t->count = 0;
}

void idtable_free_all(struct idtable *t)
{
	for (uint32_t i = 0; i < t->nslots; i++)
		free(t->vals[i]);
	idtable_free(t);
}

/* The slot holding id, or the empty slot where the probe for it ends. */
static uint32_t slot_of(const struct idtable *t, uint64_t id)
{
	uint32_t mask = t->nslots - 1;
	uint32_t i = idtable_hash(id) & mask;

	while (t->ids[i] && t->ids[i] != id)
		i = (i + 1) & mask;
	return i;
}

void *idtable_get(const struct idtable *t, uint64_t id)
{
	/* some tables are empty nearly always: no probe of a cold slot; id
	 * 0 marks an empty slot and names nothing */
	if (!t->count || !id)
		return NULL;
	return t->vals[slot_of(t, id)];
}

static int grow(struct idtable *t)
{
	struct idtable bigger;

	if (idtable_init(&bigger, t->nslots * 2))
		return -ENOMEM;
	for (uint32_t i = 0; i < t->nslots; i++) {
		uint32_t k;

		if (!t->ids[i])
			continue;
		k = slot_of(&bigger, t->ids[i]);
		bigger.vals[k] = t->vals[i];
		bigger.ids[k] = t->ids[i];
	}
	bigger.count = t->count;
	idtable_free(t);
	*t = bigger;
	return 0;
}

int idtable_reserve(struct idtable *t)
{
	/* Three quarters, not half: the followed tw socks of a busy host sit
	 * at its tcp_max_tw_buckets, a power of 2 (131,072 here), and a probe
	 * of a linear table at 3/4 is still one or two cache lines. At half,
	 * the table doubled to 8 MiB as that count was crossed by one, and
	 * held old and new (12 MiB) while it moved. */
	if ((uint64_t)(t->count + 1) * 4 > (uint64_t)t->nslots * 3)
		return grow(t);
	return 0;
}

int idtable_put(struct idtable *t, uint64_t id, void *val)
{
	uint32_t k;

	/* 0 would be taken for an empty slot, and never found again; one
	 * already there would be counted twice */
	if (!id)
		return -EINVAL;
	if (idtable_reserve(t))
		return -ENOMEM;
	k = slot_of(t, id);
	if (t->ids[k] == id)
		return -EEXIST;
	t->vals[k] = val;
	t->ids[k] = id;
	t->count++;
	return 0;
}

void idtable_del(struct idtable *t, uint64_t id)
{
	uint32_t mask = t->nslots - 1;
	uint32_t i = slot_of(t, id);
	uint32_t j = i;

	if (!t->ids[i])
		return;
	for (;;) {
		uint32_t home;

		j = (j + 1) & mask;
		if (!t->ids[j])
			break;
		home = idtable_hash(t->ids[j]) & mask;
		/* move j into the hole at i unless its home lies in (i, j] */
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			t->vals[i] = t->vals[j];
			t->ids[i] = t->ids[j];
			i = j;
		}
	}
	t->vals[i] = NULL;
	t->ids[i] = 0;
	t->count--;
}
