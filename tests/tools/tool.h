/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the test tools share: the hard-bound alarm and strict number
 * parsing. Header-only, since each tool is built from its one .c file.
 */
#ifndef SYNFIN_TEST_TOOL_H
#define SYNFIN_TEST_TOOL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* SIGALRM: the run's hard bound is up. async-signal-safe: write(2) and
 * _exit(2) only. */
static void tool_on_alarm(int sig)
{
	static const char msg[] = "result=alarm errno=62\n";

	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing left to do */
	}
	_exit(3);
}

/* A whole decimal number in [min, max], or "PROG: invalid NAME: 'S'" and
 * exit 2. */
static long long tool_parse_num(const char *prog, const char *name, const char *s,
				long long min, long long max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "%s: invalid %s: '%s'\n", prog, name, s);
		exit(2);
	}
	return v;
}

#endif /* SYNFIN_TEST_TOOL_H */
