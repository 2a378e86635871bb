/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Fixed-size objects carved from blocks, for the many small entries that
 * live long on a busy host (one per followed TIME_WAIT sock, up to the
 * table's cap). malloc gives each its own chunk, with a header and a
 * rounding to 16 bytes (a 144-byte entry took 160), and scatters them
 * among the heap's other chunks; here an object costs its size. Blocks go
 * back only at pool_free, so memory stays at its peak, as freed heap
 * chunks mostly did. */
#ifndef SYNFIN_POOL_H
#define SYNFIN_POOL_H

#include <stddef.h>
#include <stdint.h>

struct pool {
	size_t size;          /* of an object: a multiple of 8, at least a pointer */
	uint32_t per_block;
	void *free;           /* free objects, linked through their first word */
	void **blocks;
	size_t nblocks, cap;
};

/* size is rounded up to a multiple of 8. */
void pool_init(struct pool *p, size_t size, uint32_t per_block);
/* An object of p's size (not zeroed), or NULL when out of memory. */
void *pool_get(struct pool *p);
void pool_put(struct pool *p, void *obj);
/* Every block, and with them every object still out. */
void pool_free(struct pool *p);
/* Bytes in blocks. */
size_t pool_bytes(const struct pool *p);

#endif /* SYNFIN_POOL_H */
