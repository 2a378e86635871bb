/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The search the sorted listener lists share (sockdiag's seeds, the
 * census's listeners): bsearch finds one match, this the first. */
#ifndef SYNFIN_LOWER_BOUND_H
#define SYNFIN_LOWER_BOUND_H

#include <stddef.h>

/* The first of n elements of size bytes at base, sorted by cmp, that is not
 * below key (cmp(elem, key) < 0: elem is below): where key's run begins, or
 * n when none is. */
static inline size_t lower_bound(const void *key, const void *base, size_t n, size_t size,
				 int (*cmp)(const void *elem, const void *key))
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp((const char *)base + mid * size, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

#endif /* SYNFIN_LOWER_BOUND_H */
