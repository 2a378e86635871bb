/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The printers: one decoded record in, a text row or a JSON Lines object
 * (docs/schema.md) out. No libbpf here.
 */
#ifndef SYNFIN_OUTPUT_H
#define SYNFIN_OUTPUT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "engine.h"
#include "live.h"

struct output_opts {
	bool json;        /* -j: JSON Lines, else human text */
	bool wide;        /* -w: wide text columns (IPv6) */
	bool timestamps;  /* -T: TIME column in narrow text */
	bool follow_tw;   /* time_wait records follow conn records (tw timers on) */
	bool events;      /* --events mode: the text header is the event header */
	FILE *out;        /* stdout normally (NULL: stdout) */
	int64_t mono_to_real_ns; /* add to a CLOCK_MONOTONIC ns value to get CLOCK_REALTIME ns */
};

struct output;

/* NULL with errno set on failure. */
struct output *output__new(const struct output_opts *opts);
void output__free(struct output *o);
/* Write out the lines held so far (main calls it after each drain): 0, or
 * minus the errno of the first write that failed. From then on nothing is
 * written and every line is counted as lost. */
int output__flush(struct output *o);

/* From now on write to fd (-o's file, and the file reopened on SIGHUP):
 * what is held goes to the old descriptor first, and a text table's
 * header comes again at the next row if the file is empty. Returns the
 * old descriptor, for the caller to close. */
int output__set_fd(struct output *o, int fd);
/* The descriptor written to is empty (or not a regular file): nothing
 * written there yet to go on from */
bool output__new_file(const struct output *o);

/* Once *stop is set (synfin's stop flag, from SIGINT or SIGTERM), writes
 * that wait for the reader give up after 2 s without progress, with the
 * lines left counted as lost and the error ETIMEDOUT: a reader that
 * stopped reading must not keep synfin from stopping. At 2 (asked again)
 * they give up at once, with ECANCELED. */
void output__set_stop(struct output *o, const volatile sig_atomic_t *stop);

struct output_write_error {
	int err;        /* the errno of the first write that failed; ETIMEDOUT:
			 * the reader did not read within the stop's grace */
	uint64_t lost;  /* lines not written (or in part) since: one a record, */
	bool lines;     /* ... unless output__stream had some (ladders) */
	bool cut;       /* one went out in part: the output ends in a cut line */
};

/* true once stdout is a pipe whose reader has gone (checked without a
 * write): from then on it is as if a write had failed with EPIPE */
bool output__reader_gone(struct output *o);
/* false if every write went well */
bool output__write_error(const struct output *o, struct output_write_error *we);
/* JSON records not written because formatting them ran out of memory */
uint64_t output__unformatted(const struct output *o);
/* A stream of whole lines that go out with the records, through the same
 * buffer and the same write(), counted alike if it fails (the ladder's).
 * NULL with errno set on failure; output__free closes it. */
FILE *output__stream(struct output *o);
void output__set_follow_tw(struct output *o, bool follow);
/* Text: the column header, once (rows print it themselves if not yet done).
 * JSON: nothing. */
void output__header(struct output *o);
void output__conn(struct output *o, const struct conn_record *rec);   /* type "conn" */
/* type "time_wait": the tw sock a reported connection left has gone */
void output__time_wait(struct output *o, const struct conn_record *rec);
/* type state/retransmit/synack_retransmit/reset; unknown kinds are skipped */
void output__event(struct output *o, const struct synfin_event *ev);
/* type "lost"; ts_ns is CLOCK_MONOTONIC. Text: one line starting "LOST". */
void output__lost(struct output *o, uint64_t ts_ns, const char *reason,
		  uint64_t count, uint64_t total);

/* type "alert" (a detector's start or end); text: one "ALERT ..." line */
void output__alert(struct output *o, const struct live_alert *a);
/* type "stats" (JSON only: the text form is the top screen) */
void output__stats(struct output *o, const struct live_stats *s);

/* CLOCK_REALTIME - CLOCK_MONOTONIC now, in ns */
int64_t output__clock_offset(void);
/* Records' times from now on with this offset (main reads it each second
 * and sets it when the wall clock was stepped, by NTP after boot or on
 * resume) */
void output__set_clock_offset(struct output *o, int64_t mono_to_real_ns);
/* "2026-11-21T19:05:01.123456789Z"; len >= 31. Returns the length. */
size_t format_rfc3339_ns(int64_t real_ns, char *buf, size_t len);
/* inet_ntop; "" for an unknown family. len >= 46 (INET6_ADDRSTRLEN).
 * Returns the length. */
size_t format_addr(uint8_t family, const uint8_t *addr, char *buf, size_t len);
/* comm made safe for a terminal: printable ASCII as is, '\' doubled, any
 * other byte \xNN (escape sequences, C1 controls and invalid UTF-8 never
 * reach the tty raw). At most width bytes, cut without splitting an
 * escape, NUL terminated (out holds width + 1). Returns the length. */
size_t format_safe_comm(const char *comm, size_t len, char *out, size_t width);
/* "SYN", "FIN|ACK", ... from TCP header flag bits; "" for none. len >= 32 */
void format_tcp_flags(uint8_t flags, char *buf, size_t len);

#endif /* SYNFIN_OUTPUT_H */
