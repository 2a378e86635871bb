/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A small streaming JSON writer that owns the commas (after bpftool's
 * json_writer), writing to a FILE * or a growable buffer. Strings always come
 * out as valid UTF-8 JSON, whatever bytes go in.
 */
#ifndef SYNFIN_JSON_WRITER_H
#define SYNFIN_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct json_writer;

/* out == NULL: write into an internal buffer, read it with jsonw_buf(). */
struct json_writer *jsonw_new(FILE *out);
void jsonw_free(struct json_writer *w);
/* 0, or the first error: -ENOMEM (buffer), -EIO (FILE), -EINVAL (nesting). */
int jsonw_err(const struct json_writer *w);
/* Buffer mode: the text so far (NUL terminated) and its length. */
const char *jsonw_buf(const struct json_writer *w, size_t *len);
/* Forget the text, the nesting and any error: ready for the next record. */
void jsonw_reset(struct json_writer *w);

void jsonw_start_object(struct json_writer *w);
void jsonw_end_object(struct json_writer *w);
void jsonw_start_array(struct json_writer *w);
void jsonw_end_array(struct json_writer *w);
/* name is written as it is: a literal of printable ASCII, no '"' or '\\'.
 * Inline, so a literal's length is known when compiling: a conn record
 * has ~50 names, and their strlen() was a tenth of the consumer's time. */
void jsonw_name_len(struct json_writer *w, const char *name, size_t len);
static inline void jsonw_name(struct json_writer *w, const char *name)
{
	jsonw_name_len(w, name, __builtin_strlen(name));
}

void jsonw_string(struct json_writer *w, const char *s);
/* Exactly len bytes, NULs included: for fixed buffers such as comm. */
void jsonw_string_len(struct json_writer *w, const char *s, size_t len);
void jsonw_u64(struct json_writer *w, uint64_t v);
void jsonw_s64(struct json_writer *w, int64_t v);
/* prec decimals (0..9), "." whatever the locale; NaN and inf give null. */
void jsonw_double(struct json_writer *w, double v, int prec);
void jsonw_bool(struct json_writer *w, bool v);
void jsonw_null(struct json_writer *w);

/* name + value in one call */
static inline void jsonw_string_field(struct json_writer *w, const char *name, const char *s)
{
	jsonw_name(w, name);
	jsonw_string(w, s);
}

static inline void jsonw_u64_field(struct json_writer *w, const char *name, uint64_t v)
{
	jsonw_name(w, name);
	jsonw_u64(w, v);
}

static inline void jsonw_s64_field(struct json_writer *w, const char *name, int64_t v)
{
	jsonw_name(w, name);
	jsonw_s64(w, v);
}

static inline void jsonw_double_field(struct json_writer *w, const char *name, double v,
				      int prec)
{
	jsonw_name(w, name);
	jsonw_double(w, v, prec);
}

static inline void jsonw_bool_field(struct json_writer *w, const char *name, bool v)
{
	jsonw_name(w, name);
	jsonw_bool(w, v);
}

static inline void jsonw_null_field(struct json_writer *w, const char *name)
{
	jsonw_name(w, name);
	jsonw_null(w);
}

#endif /* SYNFIN_JSON_WRITER_H */
