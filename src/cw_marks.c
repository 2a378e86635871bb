// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "cw_marks.h"
#include "synfin/event.h"

void cw_marks__init(struct cw_marks *m, uint64_t now_ns)
{
	m->gen = 0;
	m->opened_ns[0] = m->opened_ns[1] = now_ns;
	m->earliest_ns = now_ns;
}

/* Marks of parity p standing. The counts are per-CPU sums read one CPU
 * at a time, so a mark made on one CPU after it was read and cleared on
 * another can show as a clear without its mark: only exactly none counts
 * as none. The older parity takes no new marks, so its reading errs
 * towards more standing, never fewer. */
static bool standing(const uint64_t *cnt, uint32_t p)
{
	return cnt[SYNFIN_CNT_CW_MARKED + p] != cnt[SYNFIN_CNT_CW_UNMARKED + p];
}

bool cw_marks__tick(struct cw_marks *m, const uint64_t *cnt, uint64_t now_ns)
{
	uint32_t cur = m->gen & 1, older = cur ^ 1;

	if (standing(cnt, older)) {
		/* its marks were made since it was opened: some may be old */
		m->earliest_ns = m->opened_ns[older];
		return false;
	}
	/* the current parity becomes the older: its marks (a program that
	 * read gen just before the change adds one late, made now) are no
	 * older than its opening */
	m->gen++;
	m->opened_ns[older] = now_ns;
	m->earliest_ns = m->opened_ns[cur];
	return true;
}
