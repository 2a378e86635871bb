/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* --ladder: each finished connection drawn as a two-column ladder diagram
 * (segments with their real sequence numbers, the states each end entered),
 * in UTF-8 or plain ASCII, every line within 80 columns. No libbpf here.
 */
#ifndef SYNFIN_LADDER_H
#define SYNFIN_LADDER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "engine.h"

/* How long a record waits for its mirror when opts.hold_ms is 0. The two
 * ends of a connection on one host usually reach CLOSE within a few ms,
 * but an end whose tw sock a reset killed comes only with the engine's
 * verdict on that kill (a re-arm or not: a tick and two drains, up to a
 * second and a little after the kill), and its peer's record came at the
 * reset. */
#define LADDER_DEFAULT_HOLD_MS 2500
/* Records held at once; past this the oldest is drawn alone at once. */
#define LADDER_MAX_HELD 4096

struct ladder_opts {
	FILE *out;               /* NULL: stdout */
	bool ascii;              /* --ascii: only bytes 0x20-0x7e and '\n' */
	int64_t mono_to_real_ns; /* add to CLOCK_MONOTONIC ns for CLOCK_REALTIME ns */
	uint32_t hold_ms;        /* wait for the mirror record (0: the default) */
};

struct ladder;

/* NULL with errno set on failure. */
struct ladder *ladder__new(const struct ladder_opts *opts);
/* Draws what is still held (each alone), then frees. NULL is fine. */
void ladder__free(struct ladder *l);
/* Pictures drawn from now on with this mono_to_real_ns (NULL is fine). */
void ladder__set_clock_offset(struct ladder *l, int64_t mono_to_real_ns);
/* The output went to a new, empty file (-o reopened): its first ladder
 * has no blank line before it. */
void ladder__new_file(struct ladder *l);
/* Offer a finished connection. It is held up to hold_ms for its mirror
 * record (the same connection seen from the other end on this host: the
 * tuple reversed; the two ends are usually in different netns, so only the
 * tuple, the ISNs and the time spans are compared). With the mirror, both
 * are drawn as one ladder, client on the left, both sides measured; after
 * hold_ms it is drawn alone with the far side inferred. now_ns is
 * CLOCK_MONOTONIC. Expired records are drawn first (ladder__tick). */
void ladder__conn(struct ladder *l, const struct conn_record *rec, uint64_t now_ns);
/* Draw the held records older than hold_ms, oldest first. */
void ladder__tick(struct ladder *l, uint64_t now_ns);
/* Records held right now. */
uint32_t ladder__held(const struct ladder *l);

/* The pure renderer: one ladder for local's connection. peer, if not NULL,
 * is the mirror record (drawn measured on the right; if local is the server
 * and peer the client, the two swap so the client is on the left); NULL
 * draws the far side as inferred. */
void ladder_render(FILE *out, const struct conn_record *local,
		   const struct conn_record *peer, bool ascii);

/* True when the user's locale (LC_ALL, LC_CTYPE, LANG) does not say UTF-8:
 * box-drawing characters would show as garbage on such a terminal, so the
 * ladders fall back to ASCII there without --ascii. Leaves the process's
 * own locale as it is (the output's number formats must not follow it). */
bool ladder_locale_wants_ascii(void);

#endif /* SYNFIN_LADDER_H */
