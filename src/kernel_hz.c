// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* HZ from two timed readings of /proc/timer_list's jiffies. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "clock.h"
#include "kernel_hz.h"

/* A reading timed closer than this is one instant, for kernel_hz_from's
 * two milliseconds of slack; a slower one (a busy host, a long list of
 * timers before the line) is tried again. */
#define READ_SPAN_MAX_NS 1000000ULL
#define READ_TRIES 3

int timer_list_jiffies(FILE *f, uint64_t *jiffies)
{
	static const char key[] = "jiffies: ";
	char line[256], *end;

	while (fgets(line, sizeof(line), f)) {
		/* not the ".idle_jiffies   : N" lines before it */
		if (strncmp(line, key, sizeof(key) - 1))
			continue;
		errno = 0;
		*jiffies = strtoull(line + sizeof(key) - 1, &end, 10);
		if (errno || end == line + sizeof(key) - 1 || (*end && *end != '\n'))
			return -ENODATA;
		return 0;
	}
	return -ENODATA;
}

unsigned int kernel_hz_from(uint64_t d_jiffies, uint64_t d_ns)
{
	static const unsigned int values[] = { 100, 200, 250, 300, 500, 1000 };
	unsigned int found = 0;
	double rate, off;

	if (!d_ns)
		return 0;
	rate = (double)d_jiffies * 1e9 / (double)d_ns;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		off = rate > values[i] ? rate - values[i] : values[i] - rate;
		/* a reading's jiffies can be a tick behind its clock, and its
		 * time is known to READ_SPAN_MAX_NS: two readings'
		 * difference is out by two jiffies and two milliseconds'
		 * worth at most */
		if (off * (double)d_ns / 1e9 > 2.0 + 0.002 * values[i])
			continue;
		if (found)	/* too short a window: not one value */
			return 0;
		found = values[i];
	}
	return found;
}

/* The file's jiffies, and the middle of the time it took to read them. */
static int timed_jiffies(const char *path, uint64_t *jiffies, uint64_t *at_ns)
{
	int err = -EAGAIN;

	for (int i = 0; i < READ_TRIES && err == -EAGAIN; i++) {
		uint64_t start = now_mono_ns(), span;
		FILE *f = fopen(path, "re");

		if (!f)
			return -errno;
		err = timer_list_jiffies(f, jiffies);
		span = now_mono_ns() - start;
		fclose(f);
		*at_ns = start + span / 2;
		if (!err && span > READ_SPAN_MAX_NS)
			err = -EAGAIN;
	}
	return err;
}

int kernel_hz_measure(const char *path, unsigned int window_ms, unsigned int *hz)
{
	struct timespec pause = { .tv_sec = window_ms / 1000,
				  .tv_nsec = (long)(window_ms % 1000) * 1000000L };
	uint64_t t0, j0, t1, j1;
	int err;

	*hz = 0;
	err = timed_jiffies(path, &j0, &t0);
	if (err)
		return err;
	while (nanosleep(&pause, &pause) && errno == EINTR)
		;
	err = timed_jiffies(path, &j1, &t1);
	if (err)
		return err;
	if (t1 <= t0 || j1 < j0)
		return -ERANGE;
	*hz = kernel_hz_from(j1 - j0, t1 - t0);
	return *hz ? 0 : -ERANGE;
}

const char *kernel_hz_strerror(int err)
{
	switch (err) {
	case -ENODATA:
		return "no jiffies line in it";
	case -EAGAIN:
		return "every reading too slow to time";
	case -ERANGE:
		return "no HZ Linux offers fits its jiffies";
	default:
		return strerror(-err);
	}
}
