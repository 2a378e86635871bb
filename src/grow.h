/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Growable arrays: the one helper every dump and tally shares. */
#ifndef SYNFIN_GROW_H
#define SYNFIN_GROW_H

#include <stdlib.h>

/* Room for need elements of elsz bytes: returns the (maybe moved) array,
 * or NULL when out of memory (arr is then still valid and owned by the
 * caller). Capacity doubles from 32. need 0 with no array yet gives a
 * NULL that is not an error: callers ask for at least one. */
static inline void *grow_array(void *arr, size_t *cap, size_t need, size_t elsz)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return arr;
	ncap = *cap ? *cap * 2 : 32;
	while (ncap < need)
		ncap *= 2;
	p = reallocarray(arr, ncap, elsz);
	if (!p)
		return NULL;
	*cap = ncap;
	return p;
}

#endif /* SYNFIN_GROW_H */
