// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* clockshift: an LD_PRELOAD shim for the tests. CLOCK_REALTIME reads are
 * shifted by the whole seconds written in the file $CLOCKSHIFT_FILE names,
 * once that file exists: the wall clock stepped under a running process
 * (NTP's first sync after boot, a resume), without stepping the machine's.
 * The monotonic clocks are left alone, as a step leaves them.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int clock_gettime(clockid_t clk, struct timespec *ts)
{
	static int (*real_clock_gettime)(clockid_t, struct timespec *);
	const char *path;
	long shift = 0;
	FILE *f;
	int rc;

	if (!real_clock_gettime)
		real_clock_gettime = (int (*)(clockid_t, struct timespec *))
			dlsym(RTLD_NEXT, "clock_gettime");
	rc = real_clock_gettime(clk, ts);
	if (rc || (clk != CLOCK_REALTIME && clk != CLOCK_REALTIME_COARSE))
		return rc;
	path = getenv("CLOCKSHIFT_FILE");
	f = path ? fopen(path, "r") : NULL;
	if (f) {
		if (fscanf(f, "%ld", &shift) != 1)
			shift = 0;
		fclose(f);
	}
	ts->tv_sec += shift;
	return rc;
}
