/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The live records as output: the fields of {"type":"alert"} and
 * {"type":"stats"} objects (docs/schema.md), the one-line text form of an
 * alert, and the terminal-safe text pieces that `synfin top` shares with it.
 */
#ifndef SYNFIN_LIVE_JSON_H
#define SYNFIN_LIVE_JSON_H

#include <stddef.h>
#include <stdint.h>
#include "json_writer.h"
#include "live.h"

/* The fields of an alert, into an object the caller opened (and gave its
 * "type"). mono_to_real_ns turns the CLOCK_MONOTONIC stamps into UTC. */
void live_json_alert_fields(struct json_writer *w, const struct live_alert *a,
			    int64_t mono_to_real_ns);

/* The fields of a {"type":"stats"} record, the same way. */
void live_json_stats_fields(struct json_writer *w, const struct live_stats *s,
			    int64_t mono_to_real_ns);

/* One text line, no newline, printable ASCII only:
 * "ALERT syn_flood START listener 10.0.0.2:5100 (netns 1) pid 7 srv: ...".
 * Returns the length the whole line needs, like snprintf. */
int live_format_alert(char *buf, size_t len, const struct live_alert *a,
		      int64_t mono_to_real_ns);

/* "syn-unanswered 1980.0 >= 100": a threshold beside the figure it judges,
 * in the limit's unit; "<" for a ratio (it fires below its limit), ">="
 * for the rest; "name >= limit" alone when the alert lacks that figure.
 * Like snprintf. */
int live_format_threshold(char *buf, size_t len, const struct live_alert *a,
			  const struct live_threshold *t);

/* "10.0.0.2:80", "[fd00::1]:80", "*:80" (all-zero address). Like snprintf. */
int live_format_endpoint(char *buf, size_t len, const struct live_endpoint *ep);

/* comm up to its NUL with "\" as "\\" and every byte outside printable
 * ASCII as "\xNN", so it can neither break a line nor drive a terminal
 * (format_safe_comm). Returns the length written; cut to fit len, never
 * inside an escape. */
int live_format_comm(char *buf, size_t len, const char *comm);

#endif /* SYNFIN_LIVE_JSON_H */
