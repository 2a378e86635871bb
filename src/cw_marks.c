// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "cw_marks.h"

#define SLOT_MASK (SYNFIN_CW_SLOTS - 1)

void cw_marks__init(struct cw_marks *m, uint64_t now_ns)
{
	m->gen = 0;
	for (uint32_t i = 0; i < SYNFIN_CW_SLOTS; i++)
		m->opened_ns[i] = now_ns;
	m->earliest_ns = now_ns;
}

/* Marks of slot s standing. The counts are per-CPU sums read one CPU at
 * a time, so a mark made on one CPU after it was read and cleared on
 * another can show as a clear without its mark: only exactly none counts
 * as none. A slot behind gen's takes no new marks but a late one (a
 * program that read gen just before it changed), so its reading errs
 * towards more standing, never fewer. */
static bool standing(const uint64_t *cnt, uint32_t s)
{
	return cnt[SYNFIN_CNT_CW_MARKED + s] != cnt[SYNFIN_CNT_CW_UNMARKED + s];
}

bool cw_marks__tick(struct cw_marks *m, const uint64_t *cnt, uint64_t now_ns)
{
	uint32_t next = (m->gen + 1) & SLOT_MASK;
	bool advanced = false;

	/* The next slot is the oldest: it was gen's SYNFIN_CW_SLOTS - 1
	 * advances ago, long before any program that read gen then could
	 * still be running. With none of its marks standing it starts
	 * afresh; a mark it still holds keeps gen where it is, and every
	 * mark from now on is counted under gen's slot, as young as its
	 * opening says at most. */
	if (!standing(cnt, next)) {
		m->gen++;
		m->opened_ns[next] = now_ns;
		advanced = true;
	}
	/* the oldest slot, in order of opening, with a mark standing; gen's
	 * own if none (a mark made since its opening may stand unread) */
	m->earliest_ns = m->opened_ns[m->gen & SLOT_MASK];
	for (uint32_t back = SYNFIN_CW_SLOTS - 1; back > 0; back--) {
		uint32_t s = (m->gen - back) & SLOT_MASK;

		if (standing(cnt, s)) {
			m->earliest_ns = m->opened_ns[s];
			break;
		}
	}
	return advanced;
}
