// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* syscost: the time of one trivial system call, to show what a tracer costs
 * processes it does not trace. While any syscall tracepoint has a program
 * attached, the kernel sends every system call of every task down its
 * tracing path; getppid() does almost nothing else, so the difference
 * shows whole.
 *   syscost [CALLS]   (default 5,000,000) prints {"calls":N,"ns_per_call":X}
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long calls = 5000000;
	double start, took;
	char *end;

	if (argc > 2) {
		fprintf(stderr, "usage: syscost [CALLS]\n");
		return 2;
	}
	if (argc == 2) {
		errno = 0;
		calls = strtol(argv[1], &end, 10);
		if (errno || *end || end == argv[1] || calls < 1 || calls > 1000000000L) {
			fprintf(stderr, "syscost: bad number of calls '%s' (1 to 1000000000)\n",
				argv[1]);
			return 2;
		}
	}
	start = now_s();
	/* syscall(), not getppid(): nothing in libc may answer it from a cache */
	for (long i = 0; i < calls; i++)
		syscall(SYS_getppid);
	took = now_s() - start;
	printf("{\"calls\":%ld,\"ns_per_call\":%.1f}\n", calls, took / (double)calls * 1e9);
	return 0;
}
