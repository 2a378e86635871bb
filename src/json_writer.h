/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A small streaming JSON writer that owns the commas (after bpftool's
 * json_writer), writing into a growable buffer. Strings always come out as
 * valid UTF-8 JSON, whatever bytes go in.
 *
 * The calls a record is made of are inline: at full churn synfin writes
 * ~80,000 records of ~60 fields a second, and a function call, a strlen()
 * and a memcpy() of unknown length per name and value were half of the
 * consumer's time. Inline, a literal name's length is known when compiling
 * and its copy is a few stores. Anything unusual (no room, an error, a
 * string that needs escaping, a call out of place) takes the out-of-line
 * path, which does the checks and the growing.
 */
#ifndef SYNFIN_JSON_WRITER_H
#define SYNFIN_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define JSONW_MAX_DEPTH 16

/* The fields are the writer's own: they are here only for the inline
 * calls below. */
struct json_writer {
	char *buf;
	size_t len, cap;  /* cap 0 until the first record grows it */
	int err;
	int depth;
	bool after_name;  /* a name was written: its value takes no comma */
	bool has_items[JSONW_MAX_DEPTH + 1];
	char closer[JSONW_MAX_DEPTH + 1];
};

struct json_writer *jsonw_new(void);
void jsonw_free(struct json_writer *w);
/* 0, or the first error: -ENOMEM, or -EINVAL (a call out of place). */
int jsonw_err(const struct json_writer *w);
/* The text so far (NUL terminated) and its length. */
const char *jsonw_buf(const struct json_writer *w, size_t *len);
/* Forget the text, the nesting and any error: ready for the next record. */
void jsonw_reset(struct json_writer *w);

void jsonw_start_object(struct json_writer *w);
void jsonw_end_object(struct json_writer *w);
void jsonw_start_array(struct json_writer *w);
void jsonw_end_array(struct json_writer *w);

/* The out-of-line halves of the calls below. */
void jsonw__name_slow(struct json_writer *w, const char *name, size_t len);
void jsonw__string_slow(struct json_writer *w, const char *s, size_t len);
void jsonw__u64_slow(struct json_writer *w, uint64_t v);
void jsonw__lit_slow(struct json_writer *w, const char *s, size_t len);
void jsonw__ms_slow(struct json_writer *w, uint64_t us);

/* Room for n more bytes and the NUL, and no error so far. */
static inline bool jsonw__room(const struct json_writer *w, size_t n)
{
	return w->len + n < w->cap && !w->err;
}

/* A value's comma: none right after its name, else one between items. */
static inline bool jsonw__value_fast(struct json_writer *w, size_t n)
{
	if (__builtin_expect(!w->after_name || !jsonw__room(w, n), 0))
		return false;
	w->after_name = false;
	return true;
}

/* name is written as it is: a literal of printable ASCII, no '"' or '\\'. */
static inline void jsonw_name_len(struct json_writer *w, const char *name, size_t len)
{
	char *p;

	if (__builtin_expect(!w->depth || w->closer[w->depth] != '}' || w->after_name ||
			     !jsonw__room(w, len + 4), 0)) {
		jsonw__name_slow(w, name, len);
		return;
	}
	p = w->buf + w->len;
	if (w->has_items[w->depth])
		*p++ = ',';
	w->has_items[w->depth] = true;
	*p++ = '"';
	memcpy(p, name, len);
	p += len;
	*p++ = '"';
	*p++ = ':';
	*p = '\0';
	w->len = (size_t)(p - w->buf);
	w->after_name = true;
}

static inline void jsonw_name(struct json_writer *w, const char *name)
{
	jsonw_name_len(w, name, __builtin_strlen(name));
}

/* len bytes synfin made itself, which need no escape: names from its own
 * tables, and the numbers, times and addresses it formats (printable
 * ASCII, no '"' or '\\'). Nothing a process or a peer chose goes here:
 * comm takes jsonw_string_len. No scan of the bytes. */
static inline void jsonw_ascii_len(struct json_writer *w, const char *s, size_t len)
{
	char *p;

	if (!jsonw__value_fast(w, len + 2)) {
		jsonw__string_slow(w, s, len);
		return;
	}
	p = w->buf + w->len;
	*p++ = '"';
	memcpy(p, s, len);
	p += len;
	*p++ = '"';
	*p = '\0';
	w->len = (size_t)(p - w->buf);
}

/* Exactly len bytes, NULs included: for fixed buffers such as comm. Bytes
 * that need no escape (the usual comm) go out as jsonw_ascii_len writes
 * them; anything else takes the escaping path. */
static inline void jsonw_string_len(struct json_writer *w, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i;

	for (i = 0; i < len; i++)
		if (u[i] < 0x20 || u[i] >= 0x7f || u[i] == '"' || u[i] == '\\')
			break;
	if (i < len) {
		jsonw__string_slow(w, s, len);
		return;
	}
	jsonw_ascii_len(w, s, len);
}

static inline void jsonw_ascii(struct json_writer *w, const char *s)
{
	if (!s)
		s = "";
	jsonw_ascii_len(w, s, __builtin_strlen(s));
}

static inline void jsonw_string(struct json_writer *w, const char *s)
{
	if (!s)
		s = "";
	jsonw_string_len(w, s, __builtin_strlen(s));
}

/* Four digits per division when counting, two per division when writing:
 * a record holds a dozen numbers of up to 20 digits (ids, ISNs, netns,
 * sequence numbers), and one division per digit, twice over, was the
 * largest part of its formatting. */
static inline unsigned int jsonw__ndigits(uint64_t v)
{
	unsigned int n = 1;

	for (;;) {
		if (v < 10)
			return n;
		if (v < 100)
			return n + 1;
		if (v < 1000)
			return n + 2;
		if (v < 10000)
			return n + 3;
		v /= 10000;
		n += 4;
	}
}

static const char jsonw__pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* Digits of v written backwards, ending just before end: the start. */
static inline char *jsonw__digits(char *end, uint64_t v)
{
	while (v >= 100) {
		unsigned int i = (unsigned int)(v % 100) * 2;

		v /= 100;
		end -= 2;
		memcpy(end, jsonw__pairs + i, 2);
	}
	if (v >= 10) {
		end -= 2;
		memcpy(end, jsonw__pairs + v * 2, 2);
	} else {
		*--end = (char)('0' + v);
	}
	return end;
}

static inline void jsonw_u64(struct json_writer *w, uint64_t v)
{
	unsigned int n = jsonw__ndigits(v);

	if (!jsonw__value_fast(w, n)) {
		jsonw__u64_slow(w, v);
		return;
	}
	w->len += n;
	jsonw__digits(w->buf + w->len, v);
	w->buf[w->len] = '\0';
}

/* A fixed bit of JSON (true, false, null) as a value. */
static inline void jsonw__lit(struct json_writer *w, const char *s, size_t len)
{
	if (!jsonw__value_fast(w, len)) {
		jsonw__lit_slow(w, s, len);
		return;
	}
	memcpy(w->buf + w->len, s, len + 1);
	w->len += len;
}

static inline void jsonw_bool(struct json_writer *w, bool v)
{
	if (v)
		jsonw__lit(w, "true", 4);
	else
		jsonw__lit(w, "false", 5);
}

static inline void jsonw_null(struct json_writer *w)
{
	jsonw__lit(w, "null", 4);
}

void jsonw_s64(struct json_writer *w, int64_t v);
/* prec decimals (0..9), "." whatever the locale; NaN and inf give null. */
void jsonw_double(struct json_writer *w, double v, int prec);

/* A span of ns as milliseconds with three decimals, rounded half up: the
 * phase times of every record. Integer arithmetic, exact at any size,
 * and a third of the cost of jsonw_double(). */
/* us as "ms.uuu" written backwards, ending just before end: the start. */
static inline char *jsonw__ms_digits(char *end, uint64_t us)
{
	unsigned int frac = (unsigned int)(us % 1000);

	end -= 2;
	memcpy(end, jsonw__pairs + frac % 100 * 2, 2);
	*--end = (char)('0' + frac / 100);
	*--end = '.';
	return jsonw__digits(end, us / 1000);
}

static inline void jsonw_ms_from_ns(struct json_writer *w, uint64_t ns)
{
	uint64_t us = ns / 1000 + (ns % 1000 >= 500);
	unsigned int n = jsonw__ndigits(us / 1000) + 4;

	if (!jsonw__value_fast(w, n)) {
		jsonw__ms_slow(w, us);
		return;
	}
	w->len += n;
	w->buf[w->len] = '\0';
	jsonw__ms_digits(w->buf + w->len, us);
}

/* name + value in one call */
static inline void jsonw_string_field(struct json_writer *w, const char *name, const char *s)
{
	jsonw_name(w, name);
	jsonw_string(w, s);
}

static inline void jsonw_ascii_field(struct json_writer *w, const char *name, const char *s)
{
	jsonw_name(w, name);
	jsonw_ascii(w, s);
}

static inline void jsonw_ascii_len_field(struct json_writer *w, const char *name,
					 const char *s, size_t len)
{
	jsonw_name(w, name);
	jsonw_ascii_len(w, s, len);
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

static inline void jsonw_ms_from_ns_field(struct json_writer *w, const char *name,
					  uint64_t ns)
{
	jsonw_name(w, name);
	jsonw_ms_from_ns(w, ns);
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
