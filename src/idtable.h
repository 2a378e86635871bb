/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A table of pointers keyed by a non-zero 64-bit id (a socket cookie):
 * open addressing with linear probing, kept at most three quarters full,
 * ids in their own array so a probe compares without touching the entries. */
#ifndef SYNFIN_IDTABLE_H
#define SYNFIN_IDTABLE_H

#include <stdint.h>

struct idtable {
	void **vals;
	uint64_t *ids;      /* 0: empty slot */
	uint32_t nslots;    /* power of 2 */
	uint32_t count;
};

uint32_t idtable_hash(uint64_t id);
/* 0 or -ENOMEM. */
int idtable_init(struct idtable *t, uint32_t nslots);
/* Frees the table, not the entries. */
void idtable_free(struct idtable *t);
/* Frees the table and, with free(), every entry in it. */
void idtable_free_all(struct idtable *t);
/* NULL for an id not there, and for id 0. */
void *idtable_get(const struct idtable *t, uint64_t id);
/* Room for one more entry: grows the table now if the next put would
 * have to. 0 or -ENOMEM; after 0, the next put cannot fail. */
int idtable_reserve(struct idtable *t);
/* Grows the table first if needed: 0, -ENOMEM, or -EINVAL for id 0 and
 * -EEXIST for an id already there (the table is unchanged then). */
int idtable_put(struct idtable *t, uint64_t id, void *val);
/* Removes id (which must be there). A later entry may move into its slot:
 * a caller walking the slots looks at the same slot again. */
void idtable_del(struct idtable *t, uint64_t id);

#endif /* SYNFIN_IDTABLE_H */
