// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Fixed-size objects from blocks (pool.h). */
#include <stdlib.h>
#include "grow.h"
#include "pool.h"

void pool_init(struct pool *p, size_t size, uint32_t per_block)
{
	p->size = size < sizeof(void *) ? sizeof(void *) : (size + 7) & ~(size_t)7;
	p->per_block = per_block ? per_block : 1;
	p->free = NULL;
	p->blocks = NULL;
	p->nblocks = p->cap = 0;
}

/* One more block, all of it onto the free list. */
static int pool_grow(struct pool *p)
{
	void **blocks = grow_array(p->blocks, &p->cap, p->nblocks + 1, sizeof(*blocks));
	char *b;

	if (!blocks)
		return -1;
	p->blocks = blocks;
	b = malloc(p->size * p->per_block);
	if (!b)
		return -1;
	p->blocks[p->nblocks++] = b;
	for (uint32_t i = p->per_block; i-- > 0;)
		pool_put(p, b + i * p->size);
	return 0;
}

void *pool_get(struct pool *p)
{
	void *obj;

	if (!p->free && pool_grow(p))
		return NULL;
	obj = p->free;
	p->free = *(void **)obj;
	return obj;
}

void pool_put(struct pool *p, void *obj)
{
	if (!obj)
		return;
	*(void **)obj = p->free;
	p->free = obj;
}

void pool_free(struct pool *p)
{
	for (size_t i = 0; i < p->nblocks; i++)
		free(p->blocks[i]);
	free(p->blocks);
	p->blocks = NULL;
	p->free = NULL;
	p->nblocks = p->cap = 0;
}

size_t pool_bytes(const struct pool *p)
{
	return p->nblocks * p->size * p->per_block;
}
