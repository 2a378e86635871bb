/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A clock's reading in nanoseconds, and what a CPU budget makes of one:
 * the helpers the census thread, the main loop and the owner scans share. */
#ifndef SYNFIN_CLOCK_H
#define SYNFIN_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC: the time base of every stamp synfin keeps */
static inline uint64_t now_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* A CLOCK_MONOTONIC stamp on the wall clock (offset: CLOCK_REALTIME less
 * CLOCK_MONOTONIC). A stamp no kernel makes (past 2^63 ns, or past what
 * the sum holds) stays at the end of the range rather than wrap round to
 * a date centuries back, an overflow C leaves undefined. */
static inline int64_t mono_to_real(uint64_t mono_ns, int64_t offset)
{
	int64_t real;

	if (mono_ns > (uint64_t)INT64_MAX ||
	    __builtin_add_overflow((int64_t)mono_ns, offset, &real))
		return INT64_MAX;  /* a stamp is not negative: only this end */
	return real;
}

/* The time work of cpu_ns CPU must span, waits included, to stay within
 * pct % of a core */
static inline uint64_t within_budget(uint64_t cpu_ns, double pct)
{
	return (uint64_t)((double)cpu_ns * 100.0 / pct);
}

#endif /* SYNFIN_CLOCK_H */
