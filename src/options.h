/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Command-line options: what the user asked synfin to do and show. */
#ifndef SYNFIN_OPTIONS_H
#define SYNFIN_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include "detect.h"
#include "filter.h"

struct synfin_options {
	bool json;
	bool events;        /* every transition instead of one record per connection */
	bool wide;
	bool timestamps;    /* -T: time column in the text table */
	bool ladder;        /* draw each finished connection as a ladder */
	bool ascii;         /* ladders in plain ASCII */
	bool force_classic; /* use classic tracepoints even where tp_btf works */
	bool no_timewait;   /* do not hook the TIME_WAIT timers */
	bool no_accept_hook; /* do not hook accept(): owners named at close() */
	bool only_failed;   /* -F: only connections that failed (conn_failed) */
	int verbose;
	uint32_t ringbuf_mb;
	uint32_t max_conns;
	uint32_t spill;         /* connection records kept in kernel memory when the ring is full */
	bool spill_set;         /* --spill given: no smaller default where maps are preallocated */
	uint32_t duration_s;    /* 0: until SIGINT/SIGTERM */
	uint32_t drain_ms;      /* how often the ring buffer is drained */
	uint32_t priority_boost; /* nice steps the reader thread goes below its start */
	bool top;               /* `synfin top`: the live screen (or stats records with -j) */
	bool no_alerts;         /* --no-alerts: no detectors */
	uint32_t interval_s;    /* census, detectors and screen refresh */
	double census_budget_pct; /* the census's CPU, % of one core */
	struct detect_config detect;
	struct synfin_filter filter;
	const char *output;     /* -o: the records go to this file, reopened on SIGHUP */
	int output_fd;          /* its descriptor, opened by options_parse (main keeps it
				 * the one written to after a SIGHUP); -1 without -o */
};

/* Parse argv into opts. Returns 0 to run, 1 when --help/--version was
 * printed (exit 0), or -EINVAL after printing one line naming the problem
 * to stderr (exit 2). */
int options_parse(int argc, char **argv, struct synfin_options *opts);

/* Open path for -o: created if missing, appended to; not a FIFO or a
 * socket (-ESPIPE). The descriptor, or -errno. */
int output_file_open(const char *path);

/* Parse helpers, exposed for unit tests. Each returns 0 or -EINVAL and
 * writes a reason into err. */
int parse_u32(const char *arg, uint32_t min, uint32_t max, uint32_t *out,
	      char *err, size_t errlen);
/* A decimal number in (min, max] (or [min, max] when min_inclusive). */
int parse_number(const char *arg, double min, bool min_inclusive, double max,
		 double *out, char *err, size_t errlen);
int parse_netns(const char *arg, uint32_t *inode, uint64_t *cookie, char *err, size_t errlen);
int parse_cgroup(const char *arg, uint64_t *id, char *err, size_t errlen);
/* A uid, or a user name from the password database. */
int parse_uid(const char *arg, uint32_t *uid, char *err, size_t errlen);

#endif /* SYNFIN_OPTIONS_H */
