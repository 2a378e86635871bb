// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* HZ measured where no kernel config says it: a /proc/timer_list read,
 * the value each rate of jiffies stands for, and a file that cannot
 * serve. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "unit.h"
#include "kernel_hz.h"

/* the shape of 6.18's file, cut short: each CPU's section ends with its
 * jiffies, after its timers and its tick's .idle_jiffies and
 * .last_jiffies; the tick devices come after every CPU */
static const char timer_list[] =
	"Timer List Version: v0.10\n"
	"HRTIMER_MAX_CLOCK_BASES: 8\n"
	"now at 1715301795227 nsecs\n"
	"\n"
	"cpu: 0\n"
	" clock 0:\n"
	"  .base:       000000004f865ba5\n"
	" #0: <000000002a22b110>, tick_nohz_handler, S:01\n"
	" # expires at 185528000000-185528000000 nsecs [in 3385667 to 3385667 nsecs]\n"
	"  .idle_jiffies   : 4295321057\n"
	"  .last_jiffies   : 4295321059\n"
	"jiffies: 4295321060\n"
	"\n"
	"cpu: 1\n"
	"  .last_jiffies   : 4295321061\n"
	"jiffies: 4295321061\n"
	"\n"
	"Tick Device: mode:     1\n";

static FILE *open_text(const char *text, size_t len)
{
	FILE *f = fmemopen((void *)text, len, "r");

	CHECK(f != NULL);
	return f;
}

static void test_jiffies(void)
{
	static const char bad[] = "jiffies: 12x\n", empty[] = "jiffies: \n";
	uint64_t jiffies = 0;
	FILE *f;

	f = open_text(timer_list, sizeof(timer_list) - 1);
	if (f) {
		/* the first CPU's, not a .last_jiffies nor a later CPU's */
		CHECK_EQ_INT(timer_list_jiffies(f, &jiffies), 0);
		CHECK_EQ_INT(jiffies, 4295321060ULL);
		fclose(f);
	}
	/* cut before any jiffies line (a kernel without TICK_ONESHOT) */
	f = open_text(timer_list, strstr(timer_list, "jiffies: ") - timer_list);
	if (f) {
		CHECK_EQ_INT(timer_list_jiffies(f, &jiffies), -ENODATA);
		fclose(f);
	}
	f = open_text(bad, sizeof(bad) - 1);
	if (f) {
		CHECK_EQ_INT(timer_list_jiffies(f, &jiffies), -ENODATA);
		fclose(f);
	}
	f = open_text(empty, sizeof(empty) - 1);
	if (f) {
		CHECK_EQ_INT(timer_list_jiffies(f, &jiffies), -ENODATA);
		fclose(f);
	}
}

static void test_rates(void)
{
	static const unsigned int values[] = { 100, 200, 250, 300, 500, 1000 };
	/* 400 ms: a whole number of ticks at each value */
	const uint64_t window = 400000000ULL;

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		uint64_t ticks = values[i] * 2 / 5;

		CHECK_EQ_INT(kernel_hz_from(ticks, window), values[i]);
		/* a tick either way at each end, and a late reading */
		CHECK_EQ_INT(kernel_hz_from(ticks + 2, window), values[i]);
		CHECK_EQ_INT(kernel_hz_from(ticks - 2, window), values[i]);
		CHECK_EQ_INT(kernel_hz_from(ticks, window + 2000000), values[i]);
	}
	/* between two values: none explains it */
	CHECK_EQ_INT(kernel_hz_from(110, window), 0);	/* 275 */
	CHECK_EQ_INT(kernel_hz_from(60, window), 0);	/* 150 */
	CHECK_EQ_INT(kernel_hz_from(1, window), 0);
	CHECK_EQ_INT(kernel_hz_from(100000, window), 0);
	CHECK_EQ_INT(kernel_hz_from(25, 0), 0);
	/* in 10 ms, 3 ticks is within two of every value up to 300: not
	 * one value */
	CHECK_EQ_INT(kernel_hz_from(3, 10000000), 0);
	CHECK_EQ_STR(kernel_hz_strerror(-ERANGE), "no HZ Linux offers fits its jiffies");
	CHECK_EQ_STR(kernel_hz_strerror(-ENOENT), strerror(ENOENT));
}

static void test_measure(void)
{
	char path[] = "/tmp/synfin-timer-list-XXXXXX";
	unsigned int hz = 1;
	int fd;

	CHECK_EQ_INT(kernel_hz_measure("/nonexistent/timer_list", 1, &hz), -ENOENT);
	CHECK_EQ_INT(hz, 0);
	/* a file whose jiffies do not move: no HZ explains them */
	fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_EQ_INT(write(fd, timer_list, sizeof(timer_list) - 1), sizeof(timer_list) - 1);
	close(fd);
	CHECK_EQ_INT(kernel_hz_measure(path, 100, &hz), -ERANGE);
	CHECK_EQ_INT(hz, 0);
	unlink(path);
}

static const struct unit_case cases[] = {
	{ "kernel hz: a timer_list's jiffies", test_jiffies },
	{ "kernel hz: the value a rate stands for", test_rates },
	{ "kernel hz: a file that cannot serve", test_measure },
};

UNIT_MAIN(cases)
