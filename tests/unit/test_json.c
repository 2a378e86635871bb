// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* JSON writer escaping, the conn/event/lost JSON objects (parsed back by a
 * strict checker below) and the text rows' width and terminal safety.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "unit.h"
#include "btf_names.h"
#include "json_writer.h"
#include "output.h"

/* The test links with -Wl,--wrap=realloc (Makefile): synfin's code calls
 * this, which fails while fail_realloc is set, as on a host out of memory. */
void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);
static bool fail_realloc;

void *__wrap_realloc(void *p, size_t n)
{
	if (fail_realloc)
		return NULL;
	return __real_realloc(p, n);
}

/* ---- a strict JSON checker ---- */

/* RFC 8259 grammar; strings must be valid UTF-8 without raw control bytes.
 * It also records the raw text of the value at one dotted path. */
struct jcheck {
	const char *p;
	const char *want;
	const char *vbeg, *vend;
};

static void skip_ws(struct jcheck *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

/* Decode rather than mirror the writer's table, so the two can disagree. */
static int utf8_ok(const unsigned char *s)
{
	uint32_t cp, min;
	int n, i;

	if ((s[0] & 0xe0) == 0xc0) {
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static int parse_string(struct jcheck *j, char *out, size_t outlen)
{
	const unsigned char *s;
	size_t n = 0;
	int k;

	if (*j->p++ != '"')
		return 0;
	for (;;) {
		s = (const unsigned char *)j->p;
		if (*s == '"')
			break;
		if (*s < 0x20)
			return 0;
		if (*s == '\\') {
			if (s[1] == 'u') {
				for (k = 2; k < 6; k++)
					if (!strchr("0123456789abcdefABCDEF", s[k]) || !s[k])
						return 0;
				j->p += 6;
			} else if (s[1] && strchr("\"\\/bfnrt", s[1])) {
				j->p += 2;
			} else {
				return 0;
			}
			continue;
		}
		k = *s < 0x80 ? 1 : utf8_ok(s);
		if (!k)
			return 0;
		if (out && n + k < outlen) {
			memcpy(out + n, s, k);
			n += k;
		}
		j->p += k;
	}
	j->p++;
	if (out)
		out[n] = '\0';
	return 1;
}

static int parse_number(struct jcheck *j)
{
	const char *p = j->p;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return 0;
	if (*p == '.') {
		if (!(*++p >= '0' && *p <= '9'))
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	j->p = p;
	return 1;
}

static int parse_value(struct jcheck *j, const char *path)
{
	char key[64], child[256];
	const char *beg;
	int ok = 1;

	skip_ws(j);
	beg = j->p;
	if (*j->p == '{' || *j->p == '[') {
		char close = *j->p == '{' ? '}' : ']';

		j->p++;
		skip_ws(j);
		if (*j->p == close) {
			j->p++;
			goto done;
		}
		for (;;) {
			if (close == '}') {
				skip_ws(j);
				if (!parse_string(j, key, sizeof(key)))
					return 0;
				snprintf(child, sizeof(child), "%s%s%s", path,
					 path[0] ? "." : "", key);
				skip_ws(j);
				if (*j->p++ != ':')
					return 0;
			} else {
				snprintf(child, sizeof(child), "%s[]", path);
			}
			if (!parse_value(j, child))
				return 0;
			skip_ws(j);
			if (*j->p == ',') {
				j->p++;
				continue;
			}
			if (*j->p++ != close)
				return 0;
			break;
		}
	} else if (*j->p == '"') {
		ok = parse_string(j, NULL, 0);
	} else if (!strncmp(j->p, "true", 4) || !strncmp(j->p, "null", 4)) {
		j->p += 4;
	} else if (!strncmp(j->p, "false", 5)) {
		j->p += 5;
	} else {
		ok = parse_number(j);
	}
done:
	if (ok && j->want && !strcmp(path, j->want)) {
		j->vbeg = beg;
		j->vend = j->p;
	}
	return ok;
}

/* One JSON Lines line: exactly one value, then "\n" or the end. */
static int json_valid(const char *line)
{
	struct jcheck j = { .p = line };

	if (!parse_value(&j, ""))
		return 0;
	skip_ws(&j);
	return *j.p == '\0';
}

/* The raw text of the value at path ("\"conn\"", "1.500", "null"), or NULL
 * when the line is not valid JSON or has no such field. */
static const char *field(const char *line, const char *path)
{
	static char val[256];
	struct jcheck j = { .p = line, .want = path };
	size_t n;

	if (!parse_value(&j, "") || !j.vbeg)
		return NULL;
	n = j.vend - j.vbeg;
	if (n >= sizeof(val))
		n = sizeof(val) - 1;
	memcpy(val, j.vbeg, n);
	val[n] = '\0';
	return val;
}

/* ---- helpers ---- */

static char *esc(const char *s, size_t len)
{
	static char out[512];
	struct json_writer *w = jsonw_new();

	jsonw_string_len(w, s, len);
	snprintf(out, sizeof(out), "%s", jsonw_buf(w, NULL));
	CHECK_EQ_INT(jsonw_err(w), 0);
	CHECK(json_valid(out));
	jsonw_free(w);
	return out;
}

#define ESC(lit) esc(lit, sizeof(lit) - 1)

/* 2026-11-21T19:05:00Z as CLOCK_REALTIME - CLOCK_MONOTONIC when mono is 0 */
#define REAL0 1795287900000000000LL

struct capture {
	char *buf;
	size_t len;
	FILE *f;
	struct output *o;
};

static void cap_open(struct capture *c, bool json, bool wide, bool events)
{
	struct output_opts opts = {
		.json = json, .wide = wide, .events = events,
		.mono_to_real_ns = REAL0,
	};

	memset(c, 0, sizeof(*c));
	c->f = open_memstream(&c->buf, &c->len);
	opts.out = c->f;
	c->o = output__new(&opts);
	CHECK(c->f && c->o);
}

static char *cap_close(struct capture *c)
{
	output__free(c->o);
	fclose(c->f);
	return c->buf;
}

static void conn_fill(struct conn_record *r)
{
	memset(r, 0, sizeof(*r));
	r->id = 12345678901234ULL;
	r->start_ns = 1000000000ULL;             /* 19:05:01 */
	r->end_ns = 1000000000ULL + 1234567890ULL; /* +1.234567890 s */
	r->family = SYNFIN_AF_INET;
	r->laddr[0] = 10, r->laddr[1] = 200, r->laddr[3] = 1;
	r->raddr[0] = 10, r->raddr[1] = 200, r->raddr[3] = 2;
	r->lport = 43210;
	r->rport = 5004;
	r->role = ROLE_CLIENT;
	r->pid = 4242;
	strcpy(r->comm, "cu\"rl");
	r->netns = 4026532177u;
	r->cgroup_id = 9876;
	r->uid = 0;  /* root: a known 0 is a number, not null */
	r->uid_known = true;
	r->bytes_sent = 517;
	r->bytes_received = 3000000;
	r->bytes_known = true;
	r->handshake.result = HS_ESTABLISHED;
	r->handshake.ms = 0.25;
	r->handshake.syn_retrans = 1;
	r->close.initiator = CLOSE_BY_LOCAL;
	r->close.how = HOW_FIN;
	r->total_retrans = 3;
	r->srtt_us = 87;
	r->last_state = SYNFIN_TCP_TIME_WAIT;
}

static void event_fill(struct synfin_event *e, uint8_t kind)
{
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->ts_ns = 1000000000ULL + 123456789ULL;
	e->cookie = 77;
	e->family = SYNFIN_AF_INET6;
	e->laddr[0] = 0xfd, e->laddr[15] = 1;
	e->raddr[0] = 0xfd, e->raddr[15] = 2;
	e->lport = 443;
	e->rport = 50000;
	e->pid = 99;
	e->flags = SYNFIN_F_OWNER_KNOWN;
	memcpy(e->comm, "nginx", 6);
	e->netns = 1;
	e->cgroup_id = 2;
}

/* End the line at s and return the next one ("" when there is none). */
static char *cut_line(char *s)
{
	char *nl = strchr(s, '\n');

	CHECK(nl);
	if (!nl)
		return s + strlen(s);
	*nl = '\0';
	return nl + 1;
}

/* Every line at most max columns, printable ASCII only. */
static void check_text(const char *buf, size_t max, int want_lines)
{
	const char *p = buf, *nl;
	int lines = 0;

	for (; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		CHECK(nl);
		if (!nl)
			return;
		if ((size_t)(nl - p) > max)
			fprintf(stderr, "  %zu columns: %.*s\n", (size_t)(nl - p),
				(int)(nl - p), p);
		CHECK((size_t)(nl - p) <= max);
		for (const char *q = p; q < nl; q++)
			CHECK(*q >= 0x20 && *q < 0x7f);
		lines++;
	}
	CHECK_EQ_INT(lines, want_lines);
}

/* ---- cases ---- */

static void test_escape_quotes(void)
{
	CHECK_EQ_STR(ESC("a\"b\\c/d"), "\"a\\\"b\\\\c/d\"");
	CHECK_EQ_STR(ESC(""), "\"\"");
}

static void test_escape_control(void)
{
	CHECK_EQ_STR(ESC("\x01\n\t\x1f"), "\"\\u0001\\u000a\\u0009\\u001f\"");
	CHECK_EQ_STR(ESC("a\x7f" "b"), "\"a\\u007fb\"");
	CHECK_EQ_STR(ESC("a\0b"), "\"a\\u0000b\"");
	CHECK_EQ_STR(ESC("\x1b[31m"), "\"\\u001b[31m\"");
}

static void test_escape_invalid_utf8(void)
{
	CHECK_EQ_STR(ESC("\xff"), "\"\\u00ff\"");
	CHECK_EQ_STR(ESC("\xfe\xff"), "\"\\u00fe\\u00ff\"");
	CHECK_EQ_STR(ESC("\x80"), "\"\\u0080\"");                 /* lone continuation */
	CHECK_EQ_STR(ESC("ab\xc3"), "\"ab\\u00c3\"");             /* truncated at the end */
	CHECK_EQ_STR(ESC("\xe2\x82" "a"), "\"\\u00e2\\u0082a\""); /* truncated 3-byte */
	CHECK_EQ_STR(ESC("\xf0\x9f\x98" "x"), "\"\\u00f0\\u009f\\u0098x\"");
	CHECK_EQ_STR(ESC("\xc0\xaf"), "\"\\u00c0\\u00af\"");       /* overlong '/' */
	CHECK_EQ_STR(ESC("\xe0\x80\xaf"), "\"\\u00e0\\u0080\\u00af\"");
	CHECK_EQ_STR(ESC("\xed\xa0\x80"), "\"\\u00ed\\u00a0\\u0080\""); /* surrogate */
	CHECK_EQ_STR(ESC("\xf4\x90\x80\x80"),
		     "\"\\u00f4\\u0090\\u0080\\u0080\"");           /* > U+10FFFF */
	CHECK_EQ_STR(ESC("\xc3\xa9\xff\xc3\xa9"), "\"\xc3\xa9\\u00ff\xc3\xa9\"");
}

static void test_escape_valid_utf8(void)
{
	/* é, €, U+1F600, U+0080, U+10FFFF */
	CHECK_EQ_STR(ESC("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"),
		     "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
	CHECK_EQ_STR(ESC("\xc2\x80\xf4\x8f\xbf\xbf"), "\"\xc2\x80\xf4\x8f\xbf\xbf\"");
}

static void test_comm_no_nul(void)
{
	struct synfin_event ev;
	struct capture c;
	char *out;

	/* comm fills all 16 bytes and the bytes after it are not NUL either */
	event_fill(&ev, SYNFIN_EV_STATE);
	memset(ev.comm, 'A', sizeof(ev.comm));
	ev.write_seq = 0x41414141;
	CHECK_EQ_STR(esc(ev.comm, strnlen(ev.comm, sizeof(ev.comm))),
		     "\"AAAAAAAAAAAAAAAA\"");
	cap_open(&c, true, false, true);
	output__event(c.o, &ev);
	out = cap_close(&c);
	CHECK(json_valid(out));
	CHECK_EQ_STR(field(out, "comm"), "\"AAAAAAAAAAAAAAAA\"");
	free(out);

	/* a hostile comm still gives one valid line */
	memcpy(ev.comm, "\x1b[2J\n\"\\\xff\xc3\x7f\x01zzzzzz", 16);
	cap_open(&c, true, false, true);
	output__event(c.o, &ev);
	out = cap_close(&c);
	CHECK(json_valid(out));
	CHECK_EQ_INT(strchr(out, '\n') - out, (long long)strlen(out) - 1);
	CHECK_EQ_STR(field(out, "comm"),
		     "\"\\u001b[2J\\u000a\\\"\\\\\\u00ff\\u00c3\\u007f\\u0001zzzzz\"");
	free(out);
}

static void test_writer_nesting(void)
{
	struct json_writer *w = jsonw_new();

	jsonw_start_object(w);
	jsonw_u64_field(w, "a", 1);
	jsonw_name(w, "b");
	jsonw_start_array(w);
	jsonw_bool(w, true);
	jsonw_null(w);
	jsonw_start_object(w);
	jsonw_end_object(w);
	jsonw_end_array(w);
	jsonw_name(w, "c");
	jsonw_start_object(w);
	jsonw_s64_field(w, "d", INT64_MIN);
	jsonw_u64_field(w, "e", UINT64_MAX);
	jsonw_end_object(w);
	jsonw_end_object(w);
	CHECK_EQ_INT(jsonw_err(w), 0);
	CHECK_EQ_STR(jsonw_buf(w, NULL),
		     "{\"a\":1,\"b\":[true,null,{}],\"c\":{\"d\":-9223372036854775808,"
		     "\"e\":18446744073709551615}}");
	CHECK(json_valid(jsonw_buf(w, NULL)));

	/* misuse is reported, not written silently */
	jsonw_reset(w);
	jsonw_end_object(w);
	CHECK_EQ_INT(jsonw_err(w), -EINVAL);
	jsonw_reset(w);
	jsonw_start_array(w);
	jsonw_name(w, "x");
	CHECK_EQ_INT(jsonw_err(w), -EINVAL);
	jsonw_free(w);
}

/* The inline fast paths and the out-of-line growing path must write the
 * same bytes wherever the buffer's end falls: a fresh writer per step puts
 * the first growth at a different place within the fields each time. */
static void test_writer_buffer_edges(void)
{
	static const char tail[] =
		",\"u0\":0,\"u9\":9,\"u10\":10,\"umax\":18446744073709551615,"
		"\"t\":true,\"f\":false,\"n\":null,\"esc\":\"a\\\"b\","
		"\"nul\":\"x\\u0000y\",\"arr\":[1,\"s\",null],\"last\":\"\"}";
	char fill[4200];

	memset(fill, 'f', sizeof(fill));
	for (size_t k = 4000; k < 4120; k++) {
		struct json_writer *w = jsonw_new();
		const char *out;
		size_t len;

		jsonw_start_object(w);
		jsonw_name(w, "fill");
		jsonw_string_len(w, fill, k);
		jsonw_u64_field(w, "u0", 0);
		jsonw_u64_field(w, "u9", 9);
		jsonw_u64_field(w, "u10", 10);
		jsonw_u64_field(w, "umax", UINT64_MAX);
		jsonw_bool_field(w, "t", true);
		jsonw_bool_field(w, "f", false);
		jsonw_null_field(w, "n");
		jsonw_string_field(w, "esc", "a\"b");
		jsonw_name(w, "nul");
		jsonw_string_len(w, "x\0y", 3);
		jsonw_name(w, "arr");
		jsonw_start_array(w);
		jsonw_u64(w, 1);
		jsonw_string(w, "s");
		jsonw_null(w);
		jsonw_end_array(w);
		jsonw_string_field(w, "last", "");
		jsonw_end_object(w);
		CHECK_EQ_INT(jsonw_err(w), 0);
		out = jsonw_buf(w, &len);
		CHECK_EQ_INT(len, strlen(out));
		CHECK_EQ_INT(len, 10 + k + sizeof(tail) - 1);
		CHECK(!strncmp(out, "{\"fill\":\"", 9) && out[9 + k] == '"');
		CHECK_EQ_STR(out + 10 + k, tail);
		jsonw_free(w);
	}
}

static void test_double(void)
{
	struct json_writer *w = jsonw_new();

	jsonw_start_array(w);
	jsonw_double(w, 1.5, 3);
	jsonw_double(w, NAN, 3);
	jsonw_double(w, INFINITY, 3);
	jsonw_double(w, -INFINITY, 3);
	jsonw_double(w, -0.0004, 3);
	jsonw_double(w, -2.25, 1);
	jsonw_double(w, 0.1 + 0.2, 3);
	jsonw_double(w, 42, 0);
	jsonw_double(w, 1e20, 3);
	jsonw_end_array(w);
	CHECK_EQ_STR(jsonw_buf(w, NULL),
		     "[1.500,null,null,null,0.000,-2.3,0.300,42,100000000000000000000]");
	CHECK(json_valid(jsonw_buf(w, NULL)));
	jsonw_free(w);
}

/* The writer's numbers (two digits per division) and the timestamps'
 * nanoseconds against snprintf, at every width and both ends of each. */
static void test_digits_against_printf(void)
{
	struct json_writer *w = jsonw_new();
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	char want[64], buf[64];
	int bad = 0;

	for (int i = 0; i < 20000 && bad < 3; i++) {
		uint64_t v, us, t_ns, p10 = 1;
		struct tm tm;
		time_t ts;
		size_t n;

		/* 0..199, then 10^k - 1, 10^k, 10^k + 1, then anything */
		if (i < 200) {
			v = (uint64_t)i;
		} else if (i < 260) {
			for (int k = 0; k < (i - 200) / 3; k++)
				p10 *= 10;
			v = p10 + (uint64_t)((i - 200) % 3) - 1;
		} else {
			unit_xorshift(&x);
			v = x >> (x % 64);
		}
		jsonw_reset(w);
		jsonw_u64(w, v);
		snprintf(want, sizeof(want), "%" PRIu64, v);
		if (strcmp(jsonw_buf(w, NULL), want)) {
			CHECK_EQ_STR(jsonw_buf(w, NULL), want);
			bad++;
		}
		/* ns as ms with three decimals, rounded half up */
		us = (v >> 4) / 1000 + ((v >> 4) % 1000 >= 500);
		jsonw_reset(w);
		jsonw_ms_from_ns(w, v >> 4);
		snprintf(want, sizeof(want), "%" PRIu64 ".%03" PRIu64, us / 1000, us % 1000);
		if (strcmp(jsonw_buf(w, NULL), want)) {
			CHECK_EQ_STR(jsonw_buf(w, NULL), want);
			bad++;
		}
		/* the time of day and its nine nanosecond digits, and the length */
		t_ns = v % (4000000000ULL * 1000000000ULL);
		n = format_rfc3339_ns((int64_t)t_ns, buf, sizeof(buf));
		ts = (time_t)(t_ns / 1000000000ULL);
		gmtime_r(&ts, &tm);
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%09" PRIu64 "Z",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, (uint64_t)(t_ns % 1000000000ULL));
		if (strcmp(buf, want) || n != strlen(want)) {
			CHECK_EQ_STR(buf, want);
			CHECK_EQ_INT((int)n, (int)strlen(want));
			bad++;
		}
	}
	CHECK_EQ_INT(bad, 0);
	jsonw_free(w);
}

static void test_formats(void)
{
	char buf[64];

	format_rfc3339_ns(0, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "1970-01-01T00:00:00.000000000Z");
	format_rfc3339_ns(1795287901123456789LL, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "2026-11-21T19:05:01.123456789Z");
	format_rfc3339_ns(-1, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "1969-12-31T23:59:59.999999999Z");

	/* the cached date must not outlive its day: walk across midnights,
	 * back and forth (a record's TIME_WAIT end is ahead of its ts), and
	 * compare with gmtime_r each time */
	for (int64_t i = 0, sec = 1795219200LL - 3; i < 4000; i++) {
		int64_t t = sec + (i % 3 == 2 ? 60 : 0) + (i * 7919) % 5 - 2;
		struct tm tm;
		time_t ts = (time_t)t;
		char want[64];

		sec += 43;
		gmtime_r(&ts, &tm);
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.000000042Z",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec);
		format_rfc3339_ns(t * 1000000000LL + 42, buf, sizeof(buf));
		if (strcmp(buf, want)) {
			CHECK_EQ_STR(buf, want);
			break;
		}
	}
	format_rfc3339_ns(-86400LL * 1000000000LL - 1, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "1969-12-30T23:59:59.999999999Z");
	format_rfc3339_ns(-86400LL * 1000000000LL, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "1969-12-31T00:00:00.000000000Z");

	format_tcp_flags(0x02, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "SYN");
	format_tcp_flags(0x11, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "FIN|ACK");
	format_tcp_flags(0xff, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "FIN|SYN|RST|PSH|ACK|URG|ECE|CWR");
	format_tcp_flags(0, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "");

	CHECK_EQ_INT((int)format_addr(SYNFIN_AF_INET, (const uint8_t *)"\x7f\0\0\x01", buf,
				      sizeof(buf)), 9);
	CHECK_EQ_STR(buf, "127.0.0.1");
	CHECK_EQ_INT((int)format_addr(SYNFIN_AF_INET, (const uint8_t *)"\xff\x0a\x00\xc8", buf,
				      sizeof(buf)), 12);
	CHECK_EQ_STR(buf, "255.10.0.200");
	CHECK_EQ_INT((int)format_addr(SYNFIN_AF_INET6, (const uint8_t *)
				      "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", buf,
				      sizeof(buf)), 11);
	CHECK_EQ_STR(buf, "2001:db8::1");
	format_addr(0, (const uint8_t *)"\x7f\0\0\x01", buf, sizeof(buf));
	CHECK_EQ_STR(buf, "");
	CHECK(output__clock_offset() > 1600000000LL * 1000000000LL);
}

static void test_conn_json(void)
{
	struct conn_record r;
	struct capture c;
	char *out;

	conn_fill(&r);
	cap_open(&c, true, false, false);
	output__header(c.o);  /* no-op in JSON */
	output__conn(c.o, &r);
	out = cap_close(&c);
	CHECK(json_valid(out));
	CHECK_EQ_INT(strlen(out) > 0 && out[strlen(out) - 1] == '\n', 1);
	CHECK_EQ_STR(field(out, "type"), "\"conn\"");
	CHECK_EQ_STR(field(out, "ts"), "\"2026-11-21T19:05:02.234567890Z\"");
	CHECK_EQ_STR(field(out, "start"), "\"2026-11-21T19:05:01.000000000Z\"");
	CHECK_EQ_STR(field(out, "id"), "12345678901234");
	CHECK_EQ_STR(field(out, "family"), "\"ipv4\"");
	CHECK_EQ_STR(field(out, "laddr"), "\"10.200.0.1\"");
	CHECK_EQ_STR(field(out, "lport"), "43210");
	CHECK_EQ_STR(field(out, "raddr"), "\"10.200.0.2\"");
	CHECK_EQ_STR(field(out, "rport"), "5004");
	CHECK_EQ_STR(field(out, "pid"), "4242");
	CHECK_EQ_STR(field(out, "comm"), "\"cu\\\"rl\"");
	CHECK_EQ_STR(field(out, "netns"), "4026532177");
	CHECK_EQ_STR(field(out, "cgroup_id"), "9876");
	CHECK_EQ_STR(field(out, "uid"), "0");
	CHECK_EQ_STR(field(out, "duration_ms"), "1234.568");
	CHECK_EQ_STR(field(out, "role"), "\"client\"");
	CHECK_EQ_STR(field(out, "bytes_sent"), "517");
	CHECK_EQ_STR(field(out, "bytes_received"), "3000000");
	CHECK_EQ_STR(field(out, "handshake.result"), "\"established\"");
	CHECK_EQ_STR(field(out, "handshake.ms"), "0.250");
	CHECK_EQ_STR(field(out, "handshake.syn_retrans"), "1");
	CHECK_EQ_STR(field(out, "handshake.synack_retrans"), "0");
	CHECK_EQ_STR(field(out, "close.initiator"), "\"local\"");
	CHECK_EQ_STR(field(out, "close.how"), "\"fin\"");
	CHECK_EQ_STR(field(out, "close.err"), "0");
	CHECK_EQ_STR(field(out, "close.missed"), "false");
	CHECK_EQ_STR(field(out, "last_state"), "\"TIME-WAIT\"");
	CHECK_EQ_STR(field(out, "total_retrans"), "3");
	CHECK_EQ_STR(field(out, "srtt_us"), "87");
	CHECK_EQ_STR(field(out, "seeded"), "false");
	CHECK_EQ_STR(field(out, "wave.fin_ack_merged"), "null");
	free(out);

	/* the kernel's summary said whether the second FIN took the ACK */
	r.wave.fin_ack_known = true;
	for (int merged = 0; merged < 2; merged++) {
		r.wave.fin_ack_merged = merged;
		cap_open(&c, true, false, false);
		output__conn(c.o, &r);
		out = cap_close(&c);
		CHECK_EQ_STR(field(out, "wave.fin_ack_merged"), merged ? "true" : "false");
		free(out);
	}
	r.wave.fin_ack_known = r.wave.fin_ack_merged = false;

	/* refused: no handshake time, even if one was passed in */
	r.handshake.result = HS_REFUSED;
	r.close.initiator = CLOSE_BY_NONE;
	r.close.how = HOW_RST_RECEIVED;
	r.close.err = 111;
	r.seeded = true;
	r.close_missed = true;
	r.bytes_known = false;  /* wiped before its destroy record */
	r.uid = 4294967294u;
	cap_open(&c, true, false, false);
	output__conn(c.o, &r);
	out = cap_close(&c);
	CHECK_EQ_STR(field(out, "uid"), "4294967294");
	CHECK_EQ_STR(field(out, "handshake.ms"), "null");
	CHECK_EQ_STR(field(out, "handshake.result"), "\"refused\"");
	CHECK_EQ_STR(field(out, "close.how"), "\"rst_received\"");
	CHECK_EQ_STR(field(out, "close.err"), "111");
	CHECK_EQ_STR(field(out, "close.missed"), "true");
	CHECK_EQ_STR(field(out, "seeded"), "true");
	CHECK_EQ_STR(field(out, "bytes_sent"), "null");
	CHECK_EQ_STR(field(out, "bytes_received"), "null");
	free(out);
}

static void test_state_json(void)
{
	struct synfin_event ev;
	struct capture c;
	char *out;

	event_fill(&ev, SYNFIN_EV_STATE);
	ev.old_state = SYNFIN_TCP_ESTABLISHED;
	ev.new_state = SYNFIN_TCP_CLOSE_WAIT;
	ev.flags |= SYNFIN_F_DONE;
	ev.srtt_us = 12;
	ev.flags |= SYNFIN_F_UID;
	ev.uid = 33;
	ev.bytes_acked = 1;
	ev.bytes_received = 101;
	cap_open(&c, true, false, true);
	output__event(c.o, &ev);
	out = cap_close(&c);
	CHECK(json_valid(out));
	CHECK_EQ_STR(field(out, "type"), "\"state\"");
	CHECK_EQ_STR(field(out, "ts"), "\"2026-11-21T19:05:01.123456789Z\"");
	CHECK_EQ_STR(field(out, "id"), "77");
	CHECK_EQ_STR(field(out, "family"), "\"ipv6\"");
	CHECK_EQ_STR(field(out, "laddr"), "\"fd00::1\"");
	CHECK_EQ_STR(field(out, "raddr"), "\"fd00::2\"");
	CHECK_EQ_STR(field(out, "lport"), "443");
	CHECK_EQ_STR(field(out, "pid"), "99");
	CHECK_EQ_STR(field(out, "comm"), "\"nginx\"");
	CHECK_EQ_STR(field(out, "uid"), "33");
	CHECK_EQ_STR(field(out, "old_state"), "\"ESTAB\"");
	CHECK_EQ_STR(field(out, "new_state"), "\"CLOSE-WAIT\"");
	CHECK_EQ_STR(field(out, "err"), "0");
	CHECK_EQ_STR(field(out, "peer_fin"), "true");
	CHECK_EQ_STR(field(out, "orphan"), "false");
	CHECK_EQ_STR(field(out, "srtt_us"), "12");
	CHECK_EQ_STR(field(out, "bytes_received"), "101");
	CHECK(!field(out, "destroy"));
	free(out);

	/* destroy: a missed ->CLOSE; softirq pid/comm must not show */
	ev.kind = SYNFIN_EV_DESTROY;
	ev.old_state = 0;
	ev.new_state = SYNFIN_TCP_FIN_WAIT1;
	ev.flags = SYNFIN_F_ORPHAN;
	ev.pid = 0;
	cap_open(&c, true, false, true);
	output__event(c.o, &ev);
	out = cap_close(&c);
	CHECK_EQ_STR(field(out, "type"), "\"state\"");
	CHECK_EQ_STR(field(out, "old_state"), "\"FIN-WAIT-1\"");
	CHECK_EQ_STR(field(out, "new_state"), "\"CLOSE\"");
	CHECK_EQ_STR(field(out, "destroy"), "true");
	CHECK_EQ_STR(field(out, "orphan"), "true");
	CHECK_EQ_STR(field(out, "pid"), "0");
	CHECK_EQ_STR(field(out, "comm"), "\"\"");
	CHECK_EQ_STR(field(out, "uid"), "null"); /* no SYNFIN_F_UID: not known */
	free(out);
}

static void test_retransmit_reset_json(void)
{
	struct synfin_event ev[4];
	struct stat st;
	struct capture c;
	char *out, *l2, *l3, *l4;

	event_fill(&ev[0], SYNFIN_EV_RETRANSMIT);
	ev[0].new_state = SYNFIN_TCP_FIN_WAIT1;
	ev[0].tcp_flags = 0x11;
	ev[0].seq = 4000000000u;
	ev[0].end_seq = 4000000001u;
	ev[0].retransmits = 2;
	ev[0].reason = 3;  /* segments: a TSO buffer */
	event_fill(&ev[1], SYNFIN_EV_SYNACK_RETRANSMIT);
	ev[1].new_state = SYNFIN_TCP_NEW_SYN_RECV;
	ev[1].retransmits = 1;  /* num_retrans: one went before this one */
	ev[1].seq = 3000000000u;
	ev[1].rcv_nxt = 17;
	event_fill(&ev[2], SYNFIN_EV_RESET_SENT);
	ev[2].flags = SYNFIN_F_NO_SK;
	ev[2].pid = 0;
	ev[2].reason = 1; /* SK_RST_REASON_NO_SOCKET */
	event_fill(&ev[3], SYNFIN_EV_RESET_RECEIVED);
	ev[3].new_state = SYNFIN_TCP_SYN_SENT;
	ev[3].reason = 1;

	cap_open(&c, true, false, true);
	for (int i = 0; i < 4; i++)
		output__event(c.o, &ev[i]);
	out = cap_close(&c);
	l2 = cut_line(out);
	l3 = cut_line(l2);
	l4 = cut_line(l3);
	CHECK(json_valid(out) && json_valid(l2) && json_valid(l3) && json_valid(l4));

	CHECK_EQ_STR(field(out, "type"), "\"retransmit\"");
	CHECK_EQ_STR(field(out, "state"), "\"FIN-WAIT-1\"");
	CHECK_EQ_STR(field(out, "tcp_flags"), "\"FIN|ACK\"");
	CHECK_EQ_STR(field(out, "seq"), "4000000000");
	CHECK_EQ_STR(field(out, "end_seq"), "4000000001");
	CHECK_EQ_STR(field(out, "retrans"), "2");
	CHECK_EQ_STR(field(out, "segments"), "3");

	CHECK_EQ_STR(field(l2, "type"), "\"synack_retransmit\"");
	CHECK_EQ_STR(field(l2, "state"), "\"NEW-SYN-RECV\"");
	CHECK_EQ_STR(field(l2, "retrans"), "2");
	CHECK_EQ_STR(field(l2, "seq"), "3000000000");
	CHECK_EQ_STR(field(l2, "ack"), "17");
	CHECK(!field(l2, "tcp_flags"));
	CHECK(!field(l2, "end_seq"));

	CHECK_EQ_STR(field(l3, "type"), "\"reset\"");
	CHECK_EQ_STR(field(l3, "direction"), "\"sent\"");
	CHECK_EQ_STR(field(l3, "state"), "\"NONE\"");
	/* the name comes from this kernel's BTF; without BTF it is "" */
	if (stat("/sys/kernel/btf/vmlinux", &st) == 0)
		CHECK_EQ_STR(field(l3, "reason"), "\"NO_SOCKET\"");
	else
		CHECK_EQ_STR(field(l3, "reason"), "\"\"");

	CHECK_EQ_STR(field(l4, "direction"), "\"received\"");
	CHECK_EQ_STR(field(l4, "state"), "\"SYN-SENT\"");
	CHECK_EQ_STR(field(l4, "reason"), "\"\"");
	CHECK_EQ_STR(l4 + strlen(l4), "");
	free(out);
}

static void test_lost(void)
{
	struct capture c;
	char *out;

	cap_open(&c, true, false, false);
	output__lost(c.o, 1000000000ULL, "ringbuf_full", 12, 40);
	out = cap_close(&c);
	CHECK(json_valid(out));
	CHECK_EQ_STR(field(out, "type"), "\"lost\"");
	CHECK_EQ_STR(field(out, "ts"), "\"2026-11-21T19:05:01.000000000Z\"");
	CHECK_EQ_STR(field(out, "reason"), "\"ringbuf_full\"");
	CHECK_EQ_STR(field(out, "count"), "12");
	CHECK_EQ_STR(field(out, "total"), "40");
	free(out);

	/* text mode: a diagnostic on stderr, nothing on the data stream */
	cap_open(&c, false, false, false);
	output__lost(c.o, 1000000000ULL, "ringbuf_full", 12, 40);
	out = cap_close(&c);
	CHECK_EQ_STR(out, "");
	free(out);
}

/* A record the writer cannot grow its buffer for is not written, and it
 * is counted (main reports the count as a loss, "unformatted"); the next
 * one, with memory again, goes out whole. */
static void test_unformatted(void)
{
	struct conn_record r;
	struct capture c;
	char *out;

	conn_fill(&r);
	cap_open(&c, true, false, false);
	CHECK_EQ_INT(output__unformatted(c.o), 0);
	fail_realloc = true;
	output__conn(c.o, &r);
	output__lost(c.o, 1000000000ULL, "ringbuf_full", 12, 40);
	fail_realloc = false;
	CHECK_EQ_INT(output__unformatted(c.o), 2);
	output__conn(c.o, &r);
	CHECK_EQ_INT(output__unformatted(c.o), 2);
	out = cap_close(&c);
	CHECK(json_valid(out));
	CHECK(strchr(out, '\n') == strrchr(out, '\n')); /* the one record */
	CHECK_EQ_STR(field(out, "type"), "\"conn\"");
	CHECK_EQ_INT(output__unformatted(NULL), 0);
	free(out);
}

/* A stamp past what the wall clock's sum holds stays at the end of the
 * range (2262): it used to overflow, undefined, and read as 1680. */
static void test_time_far_future(void)
{
	struct capture c;
	struct conn_record r;
	char *out;

	conn_fill(&r);
	r.end_ns = 7500000000000000000ULL;
	cap_open(&c, true, false, false);
	output__set_clock_offset(c.o, 1795287900000000000LL);
	output__conn(c.o, &r);
	out = cap_close(&c);
	CHECK(out && strstr(out, "\"ts\":\"2262-"));
	CHECK(out && !strstr(out, "\"ts\":\"1680-"));
	free(out);
}

/* A write that fails (/dev/full: ENOSPC, every byte): flush says so, and
 * every line from then on is counted as lost, records or a picture's. */
static void test_write_error(void)
{
	struct output_opts opts = { .json = true, .mono_to_real_ns = REAL0 };
	struct output_write_error we;
	struct output *o;
	FILE *pic;

	opts.out = fopen("/dev/full", "w");
	CHECK(opts.out);
	if (!opts.out)
		return;
	o = output__new(&opts);
	CHECK(!output__write_error(o, &we));
	CHECK_EQ_INT(output__flush(o), 0); /* nothing to write yet */
	for (int i = 0; i < 3; i++)
		output__lost(o, 1000000000ULL, "ringbuf_full", 12, 40);
	CHECK_EQ_INT(output__flush(o), -ENOSPC);
	CHECK(output__write_error(o, &we));
	CHECK_EQ_INT(we.err, ENOSPC);
	CHECK_EQ_INT(we.lost, 3);
	CHECK(!we.cut);
	CHECK(!we.lines);
	/* after it nothing is written, all is counted */
	output__lost(o, 1000000000ULL, "ringbuf_full", 12, 40);
	pic = output__stream(o);
	CHECK(pic);
	fputs("+0.000 is now\nleft\nright\n", pic);
	CHECK_EQ_INT(output__flush(o), -ENOSPC);
	CHECK(output__write_error(o, &we));
	CHECK_EQ_INT(we.lost, 7);
	CHECK(we.lines);
	output__free(o);
	fclose(opts.out);
}

/* The text table's header is no record: a table to /dev/full counts
 * the records it could not write, not the header with them. */
static void test_write_error_header(void)
{
	struct output_opts opts = { .mono_to_real_ns = REAL0 };
	struct output_write_error we;
	struct conn_record r;
	struct output *o;

	opts.out = fopen("/dev/full", "w");
	CHECK(opts.out);
	if (!opts.out)
		return;
	o = output__new(&opts);
	output__header(o);
	conn_fill(&r);
	for (int i = 0; i < 3; i++)
		output__conn(o, &r);
	CHECK_EQ_INT(output__flush(o), -ENOSPC);
	CHECK(output__write_error(o, &we));
	CHECK_EQ_INT(we.lost, 3);
	output__free(o);
	fclose(opts.out);
}

/* A picture's stream can leave the buffer's write ending mid-line; the
 * next write failing outright (here the file size limit) leaves that
 * line cut, and says so. In a child: the limit is the process's. */
static void test_write_error_cut_stream(void)
{
	char path[] = "/tmp/synfin-cut-XXXXXX";
	int fd = mkstemp(path), status = -1;
	pid_t pid;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	pid = fork();
	if (pid == 0) {
		struct output_opts opts = { .json = true, .mono_to_real_ns = REAL0 };
		struct output_write_error we = {};
		char line[101];
		struct rlimit rl;
		struct output *o;
		struct stat st;
		FILE *s;

		opts.out = fdopen(fd, "w");
		o = output__new(&opts);
		s = output__stream(o);
		memset(line, 'x', 99);
		line[99] = '\n';
		line[100] = '\0';
		do {  /* 100-byte lines until the buffer's first write */
			fputs(line, s);
			fstat(fd, &st);
		} while (st.st_size == 0);
		for (int i = 0; i < 50; i++)
			fputs(line, s);
		signal(SIGXFSZ, SIG_IGN);
		rl.rlim_cur = rl.rlim_max = (rlim_t)st.st_size;
		setrlimit(RLIMIT_FSIZE, &rl);
		output__flush(o);
		output__write_error(o, &we);
		/* 0: as it should be; 2: the first write ended on a line's
		 * end, so there was nothing to show */
		_exit(st.st_size % 100 == 0 ? 2 : we.err == EFBIG && we.cut ? 0 : 1);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	close(fd);
	unlink(path);
	CHECK(WIFEXITED(status));
	CHECK_EQ_INT(WEXITSTATUS(status), 0);
}

static void test_text_conn_width(void)
{
	struct conn_record r;
	struct capture c;
	char *out;

	conn_fill(&r);
	memcpy(r.comm, "\x1b]0;pwned\x07\xff" "abcdef", 16);
	r.pid = 4194304;
	r.bytes_sent = 5000000000000ULL;
	r.bytes_received = UINT64_MAX;
	r.end_ns = r.start_ns + 86400ULL * 1000000000ULL * 30;
	r.handshake.ms = 3000.5;
	r.close.initiator = CLOSE_BY_REMOTE;
	r.close.how = HOW_FIN;
	cap_open(&c, false, false, false);
	output__conn(c.o, &r);
	r.role = ROLE_SERVER;
	r.handshake.result = HS_TIMEOUT;
	r.bytes_known = false;
	output__conn(c.o, &r);
	out = cap_close(&c);
	check_text(out, 80, 3); /* header once, then two rows */
	CHECK(strstr(out, "PID") && !strstr(out, "TIME"));
	CHECK(strstr(out, "\\x1b]0;pwn "));
	CHECK(strstr(out, "R:fin"));
	CHECK(strstr(out, "10.200.0.2:5004"));
	CHECK(strstr(out, " tmo "));
	free(out);

	/* made at the socket's destroy: the inferred verdict is marked */
	cap_open(&c, false, false, false);
	conn_fill(&r);
	r.bytes_sent = r.bytes_received = UINT64_MAX;
	r.end_ns = r.start_ns + 86400ULL * 1000000000ULL * 30;
	r.close_missed = true;
	output__conn(c.o, &r);
	r.handshake.result = HS_ABORTED;
	r.close.initiator = CLOSE_BY_NONE;
	r.close.how = HOW_NONE;
	output__conn(c.o, &r);
	out = cap_close(&c);
	check_text(out, 80, 3);
	CHECK(strstr(out, " L:fin? "));
	CHECK(strstr(out, " abt? - "));
	free(out);
	cap_open(&c, false, true, false);
	output__conn(c.o, &r);
	out = cap_close(&c);
	check_text(out, 200, 2);
	CHECK(strstr(out, " abt? "));
	free(out);

	/* wide: the full tuple and exact byte counts */
	cap_open(&c, false, true, false);
	conn_fill(&r);
	output__conn(c.o, &r);
	out = cap_close(&c);
	check_text(out, 200, 2);
	CHECK(strstr(out, "10.200.0.1:43210") && strstr(out, "3000000"));
	free(out);
}

static void test_text_events(void)
{
	struct synfin_event ev;
	struct capture c;
	char *out;

	cap_open(&c, false, false, true);
	output__header(c.o);
	event_fill(&ev, SYNFIN_EV_STATE);
	ev.family = SYNFIN_AF_INET;
	memcpy(ev.laddr, "\x0a\xc8\x00\x01", 4);
	memcpy(ev.raddr, "\x0a\xc8\x00\x02", 4);
	memcpy(ev.comm, "\x01verylongcommnam", 16);
	ev.pid = 4194304;
	ev.old_state = SYNFIN_TCP_SYN_SENT;
	ev.new_state = SYNFIN_TCP_ESTABLISHED;
	output__event(c.o, &ev);
	ev.kind = SYNFIN_EV_RESET_RECEIVED;
	ev.new_state = SYNFIN_TCP_ESTABLISHED;
	output__event(c.o, &ev);
	/* a client's first event: no port chosen yet, "-" rather than 0 */
	ev.kind = SYNFIN_EV_STATE;
	ev.old_state = SYNFIN_TCP_CLOSE;
	ev.new_state = SYNFIN_TCP_SYN_SENT;
	ev.lport = 0;
	output__event(c.o, &ev);
	out = cap_close(&c);
	check_text(out, 80, 4);
	CHECK(strstr(out, "SYN-SENT -> ESTAB"));
	CHECK(strstr(out, "     - 10.200.0.2:50000      CLOSE -> SYN-SENT\n"));
	CHECK(strstr(out, "RST received (ESTAB)"));
	CHECK(strstr(out, "\\x01"));
	free(out);

	cap_open(&c, false, true, true);
	event_fill(&ev, SYNFIN_EV_RETRANSMIT);
	ev.new_state = SYNFIN_TCP_SYN_SENT;
	ev.tcp_flags = 0x02;
	ev.retransmits = 1;
	output__event(c.o, &ev);
	out = cap_close(&c);
	check_text(out, 200, 2);
	CHECK(strstr(out, "[fd00::1]:443") && strstr(out, "retrans SYN (SYN-SENT) #1"));
	CHECK(!strstr(out, "segments"));
	free(out);

	cap_open(&c, false, true, true);
	ev.new_state = SYNFIN_TCP_ESTABLISHED;
	ev.tcp_flags = 0x18;
	ev.reason = 4;
	output__event(c.o, &ev);
	out = cap_close(&c);
	CHECK(strstr(out, "retrans PSH|ACK (ESTAB) #1, 4 segments"));
	free(out);

	cap_open(&c, false, true, true);
	event_fill(&ev, SYNFIN_EV_STATE);
	ev.old_state = SYNFIN_TCP_CLOSE;
	ev.new_state = SYNFIN_TCP_SYN_SENT;
	ev.lport = 0;
	output__event(c.o, &ev);
	out = cap_close(&c);
	CHECK(strstr(out, "[fd00::1]:- ") && strstr(out, "[fd00::2]:50000"));
	free(out);
}

/* The tw sock's events come with every active close: at their longest
 * (the widest IPv4 tuple, a 7-digit pid, FIN-WAIT-2, a 10-digit sequence)
 * an IPv4 row still keeps to 80 columns. */
static void test_text_tw_events(void)
{
	static const uint8_t kinds[] = {
		SYNFIN_EV_TW_START, SYNFIN_EV_TW_FIN, SYNFIN_EV_TW_END, SYNFIN_EV_TW_START,
	};
	struct synfin_event ev;
	struct capture c;
	char *out;

	cap_open(&c, false, false, true);
	for (size_t i = 0; i < sizeof(kinds); i++) {
		event_fill(&ev, kinds[i]);
		ev.family = SYNFIN_AF_INET;
		memcpy(ev.laddr, "\xff\xff\xff\xfe", 4);
		memcpy(ev.raddr, "\xff\xff\xff\xff", 4);
		ev.lport = 65535;
		ev.rport = 65535;
		ev.pid = 4194304;
		memcpy(ev.comm, "fifteen-bytes-x", 16);
		ev.new_state = SYNFIN_TCP_FIN_WAIT2;
		ev.seq = i == 1 ? 4294967295u : 60000;
		ev.reason = SYNFIN_TW_KILLED;
		if (i == 3)
			ev.flags |= SYNFIN_F_HZ_UNKNOWN;
		output__event(c.o, &ev);
	}
	out = cap_close(&c);
	check_text(out, 80, 5); /* the header, then the four */
	CHECK(strstr(out, "tw FIN-WAIT-2 timer 60000 ms\n"));
	CHECK(strstr(out, "tw FIN-WAIT-2 got FIN 4294967295\n"));
	CHECK(strstr(out, "tw FIN-WAIT-2 cancelled\n"));
	CHECK(strstr(out, "tw FIN-WAIT-2 timer 60000 jiffies\n"));
	free(out);
}

static void test_rst_reason_name(void)
{
	struct stat st;

	if (stat("/sys/kernel/btf/vmlinux", &st) == 0) {
		CHECK_EQ_STR(rst_reason_name(0), "NOT_SPECIFIED");
		CHECK_EQ_STR(rst_reason_name(1), "NO_SOCKET");
	}
	CHECK_EQ_STR(rst_reason_name(0xfffffff0u), "");
	btf_names__free();
}

static const struct unit_case cases[] = {
	{ "time_far_future", test_time_far_future },
	{ "escape_quotes", test_escape_quotes },
	{ "escape_control", test_escape_control },
	{ "escape_invalid_utf8", test_escape_invalid_utf8 },
	{ "escape_valid_utf8", test_escape_valid_utf8 },
	{ "comm_no_nul", test_comm_no_nul },
	{ "writer_nesting", test_writer_nesting },
	{ "writer_buffer_edges", test_writer_buffer_edges },
	{ "double", test_double },
	{ "formats", test_formats },
	{ "digits_against_printf", test_digits_against_printf },
	{ "conn_json", test_conn_json },
	{ "state_json", test_state_json },
	{ "retransmit_reset_json", test_retransmit_reset_json },
	{ "lost", test_lost },
	{ "unformatted", test_unformatted },
	{ "write_error", test_write_error },
	{ "write_error_header", test_write_error_header },
	{ "write_error_cut_stream", test_write_error_cut_stream },
	{ "text_conn_width", test_text_conn_width },
	{ "text_events", test_text_events },
	{ "text_tw_events", test_text_tw_events },
	{ "rst_reason_name", test_rst_reason_name },
};

UNIT_MAIN(cases)
