/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* How old the CLOSE_WAIT marks standing in the kernel can be, from its
 * counts of marks by generation slot, so that the census dumps the
 * sockets in CLOSE_WAIT only when one may be old enough to tally. */
#ifndef SYNFIN_CW_MARKS_H
#define SYNFIN_CW_MARKS_H

#include <stdbool.h>
#include <stdint.h>
#include "synfin/event.h"

struct cw_marks {
	uint32_t gen;            /* the kernel counts new marks under gen's slot */
	uint64_t opened_ns[SYNFIN_CW_SLOTS]; /* when each slot last became gen's */
	uint64_t earliest_ns;    /* no mark standing was made before this */
};

void cw_marks__init(struct cw_marks *m, uint64_t now_ns);

/* One look at the kernel's counters (SYNFIN_CNT_MAX of them, summed over
 * CPUs). Advances gen when no mark of the next slot stands, which starts
 * that slot afresh; returns true then, and the caller hands gen to the
 * kernel. */
bool cw_marks__tick(struct cw_marks *m, const uint64_t *cnt, uint64_t now_ns);

#endif /* SYNFIN_CW_MARKS_H */
