/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* `synfin top`: one struct live_stats drawn as a full-screen table that
 * redraws in place. top__render() is the plain text, top__draw() puts it on
 * the terminal (or appends it to a pipe or file).
 */
#ifndef SYNFIN_TOP_H
#define SYNFIN_TOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "live.h"

struct top_screen;

/* Draw on tty_fd. On a terminal: keys unbuffered and unechoed (Ctrl-C still
 * raises SIGINT), the alternate screen, no cursor. Anything else gets plain
 * frames one after another. NULL with errno ENOMEM. */
struct top_screen *top__open(int tty_fd);
/* Put the terminal back as it was and free t (NULL is fine). Call it once,
 * also on the way out after SIGINT/SIGTERM. */
void top__close(struct top_screen *t);
/* Ctrl-Z: the terminal put back as top__close leaves it, for the shell,
 * before synfin stops; and taken again when it continues (the next frame
 * redraws the screen). */
void top__suspend(struct top_screen *t);
void top__resume(struct top_screen *t);
/* Consume pending keys without blocking: true once 'q' or 'Q' was pressed. */
bool top__quit_requested(struct top_screen *t);
/* 0, or the errno of the first frame that could not be written (a full
 * disk, a reader gone with SIGPIPE ignored): no frame is drawn after it. */
int top__write_error(const struct top_screen *t);
/* The fd to poll for keys, or -1. It can turn -1 when the terminal hangs
 * up, so ask again before each poll. */
int top__fd(const struct top_screen *t);
/* One frame, written with one write(): in place on a terminal (no clear,
 * so no flicker), else appended with a blank line after it. */
void top__draw(struct top_screen *t, const struct live_stats *s,
	       int64_t mono_to_real_ns);

/* The frame as plain printable ASCII, every line ending in '\n', at most
 * width columns and height lines (tables are cut to fit; the summary at the
 * top goes last). Returns the length it needs, like snprintf. */
int top__render(char *buf, size_t len, const struct live_stats *s,
		int64_t mono_to_real_ns, int width, int height);

#endif /* SYNFIN_TOP_H */
