// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Streaming JSON writer: it tracks nesting so callers never place a comma,
 * and escapes strings byte by byte as docs/schema.md promises.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json_writer.h"

/* Append n bytes, growing the buffer: every write that did not fit the
 * inline fast path in json_writer.h comes here. */
static void put(struct json_writer *w, const char *s, size_t n)
{
	size_t cap;
	char *nb;

	if (w->err)
		return;
	if (w->len + n >= w->cap) {
		cap = w->cap ? w->cap : 4096;
		while (cap <= w->len + n)
			cap *= 2;
		nb = realloc(w->buf, cap);
		if (!nb) {
			w->err = -ENOMEM;
			return;
		}
		w->buf = nb;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void put_str(struct json_writer *w, const char *s)
{
	put(w, s, strlen(s));
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlongs,
 * no surrogates, nothing above U+10FFFF), 0 if s[0] does not start one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 1;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (n <= need || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i <= need; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return need + 1;
}

/* Runs of safe bytes are copied in one put(); everything else becomes an
 * escape, each invalid byte on its own so the bytes stay recoverable. */
static void put_escaped(struct json_writer *w, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	char esc[7] = "\\u00";
	size_t i = 0, run = 0, n;
	const char *rep;

	while (i < len) {
		/* printable ASCII but '"' and '\\' needs nothing: skip runs */
		while (i < len && p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\')
			i++;
		if (i >= len)
			break;
		n = 1;
		rep = NULL;
		if (p[i] == '"') {
			rep = "\\\"";
		} else if (p[i] == '\\') {
			rep = "\\\\";
		} else if (p[i] < 0x20 || p[i] == 0x7f ||
			   (p[i] >= 0x80 && !(n = utf8_len(p + i, len - i)))) {
			esc[4] = hex[p[i] >> 4];
			esc[5] = hex[p[i] & 0xf];
			esc[6] = '\0';
			rep = esc;
			n = 1;
		}
		if (rep) {
			put(w, s + run, i - run);
			put_str(w, rep);
			run = i + n;
		}
		i += n;
	}
	put(w, s + run, len - run);
}

/* Every value and name goes through here: the comma logic lives only here. */
static void sep(struct json_writer *w)
{
	if (w->after_name) {
		w->after_name = false;
		return;
	}
	if (w->depth > 0 && w->has_items[w->depth])
		put(w, ",", 1);
	w->has_items[w->depth] = true;
}

struct json_writer *jsonw_new(void)
{
	return calloc(1, sizeof(struct json_writer));
}

void jsonw_free(struct json_writer *w)
{
	if (!w)
		return;
	free(w->buf);
	free(w);
}

int jsonw_err(const struct json_writer *w)
{
	return w->err;
}

const char *jsonw_buf(const struct json_writer *w, size_t *len)
{
	if (len)
		*len = w->len;
	return w->buf ? w->buf : "";
}

void jsonw_reset(struct json_writer *w)
{
	w->len = 0;
	if (w->buf)
		w->buf[0] = '\0';
	w->err = 0;
	w->depth = 0;
	w->after_name = false;
	w->has_items[0] = false;
}

static void start(struct json_writer *w, char open, char close)
{
	sep(w);
	if (w->depth == JSONW_MAX_DEPTH) {
		w->err = w->err ?: -EINVAL;
		return;
	}
	put(w, &open, 1);
	w->depth++;
	w->has_items[w->depth] = false;
	w->closer[w->depth] = close;
}

static void end(struct json_writer *w, char close)
{
	if (!w->depth || w->closer[w->depth] != close || w->after_name) {
		w->err = w->err ?: -EINVAL;
		return;
	}
	put(w, &close, 1);
	w->depth--;
}

void jsonw_start_object(struct json_writer *w)
{
	start(w, '{', '}');
}

void jsonw_end_object(struct json_writer *w)
{
	end(w, '}');
}

void jsonw_start_array(struct json_writer *w)
{
	start(w, '[', ']');
}

void jsonw_end_array(struct json_writer *w)
{
	end(w, ']');
}

void jsonw__name_slow(struct json_writer *w, const char *name, size_t len)
{
	if (!w->depth || w->closer[w->depth] != '}' || w->after_name) {
		w->err = w->err ?: -EINVAL;
		return;
	}
	sep(w);
	w->after_name = true;
	put(w, "\"", 1);
	put(w, name, len);
	put(w, "\":", 2);
}

void jsonw__string_slow(struct json_writer *w, const char *s, size_t len)
{
	sep(w);
	put(w, "\"", 1);
	put_escaped(w, s, len);
	put(w, "\"", 1);
}

void jsonw__lit_slow(struct json_writer *w, const char *s, size_t len)
{
	sep(w);
	put(w, s, len);
}

void jsonw__u64_slow(struct json_writer *w, uint64_t v)
{
	char b[24], *p = jsonw__digits(b + sizeof(b), v);

	sep(w);
	put(w, p, (size_t)(b + sizeof(b) - p));
}

void jsonw__ms_slow(struct json_writer *w, uint64_t us)
{
	char b[32], *p = jsonw__ms_digits(b + sizeof(b), us);

	sep(w);
	put(w, p, (size_t)(b + sizeof(b) - p));
}

void jsonw_s64(struct json_writer *w, int64_t v)
{
	char b[24], *p;

	p = jsonw__digits(b + sizeof(b), v < 0 ? -(uint64_t)v : (uint64_t)v);
	if (v < 0)
		*--p = '-';
	sep(w);
	put(w, p, (size_t)(b + sizeof(b) - p));
}

void jsonw_double(struct json_writer *w, double v, int prec)
{
	static const uint64_t pow10[] = {
		1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
		100000000, 1000000000,
	};
	double a = v < 0 ? -v : v;
	char b[330]; /* %.0f of DBL_MAX is 309 digits */
	uint64_t q, scale;
	int n;

	/* NaN fails both comparisons; inf fails the second */
	if (!(a == a) || a > 1.7976931348623157e308) {
		jsonw_null(w);
		return;
	}
	prec = prec < 0 ? 0 : prec > 9 ? 9 : prec;
	scale = pow10[prec];
	sep(w);
	/* Fixed point by hand: printf's %f follows LC_NUMERIC and could write
	 * a decimal comma, which is not JSON. */
	if (a * (double)scale < 9.0e18) {
		char *end = b + sizeof(b), *p = end;

		q = (uint64_t)(a * (double)scale + 0.5);
		if (prec) {
			uint64_t frac = q % scale;

			for (int i = 0; i < prec; i++) {
				*--p = (char)('0' + frac % 10);
				frac /= 10;
			}
			*--p = '.';
		}
		p = jsonw__digits(p, q / scale);
		if (v < 0 && q)
			*--p = '-';
		put(w, p, (size_t)(end - p));
		return;
	}
	/* beyond 2^63 a double has no fraction left to print */
	n = snprintf(b, sizeof(b), "%.0f", v);
	put(w, b, n > 0 ? (size_t)n : 0);
}
