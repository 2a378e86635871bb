// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The live records and screen: alert and stats JSON (exact strings plus a
 * strict grammar check), the one-line text alert, hostile comm bytes, and
 * `synfin top` (width, height, tests/golden/top_basic.txt, a pipe, a pty).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "golden.h"
#include "unit.h"
#include "json_writer.h"
#include "live_json.h"
#include "top.h"

#define SEC 1000000000ULL
#define REAL0 1795287900000000000LL         /* 2026-11-21T19:05:00Z at mono 0 */

/* ---- a strict JSON checker ---- */

/* RFC 8259's grammar, with two extra rules that the writer promises: no raw
 * control byte or DEL in a string, and (these fixtures being ASCII) no byte
 * above 0x7f either. NULL when the text is not one valid value. */
static const char *jvalue(const char *p, int depth);

static const char *jws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static const char *jstring(const char *p)
{
	if (*p++ != '"')
		return NULL;
	while (*p != '"') {
		unsigned char c = *p;

		if (c < 0x20 || c >= 0x7f)
			return NULL;
		if (c == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!p[i] || !strchr("0123456789abcdefABCDEF", p[i]))
						return NULL;
				p += 4;
			} else if (!*p || !strchr("\"\\/bfnrt", *p)) {
				return NULL;
			}
		}
		p++;
	}
	return p + 1;
}

static const char *jnumber(const char *p)
{
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return NULL;
	if (*p == '.') {
		if (!(*++p >= '0' && *p <= '9'))
			return NULL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return p;
}

static const char *jcontainer(const char *p, int depth)
{
	char close = *p == '{' ? '}' : ']';

	p = jws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (close == '}') {
			p = jstring(jws(p));
			if (!p)
				return NULL;
			p = jws(p);
			if (*p++ != ':')
				return NULL;
		}
		p = jvalue(p, depth + 1);
		if (!p)
			return NULL;
		p = jws(p);
		if (*p == ',') {
			p++;
			continue;
		}
		return *p == close ? p + 1 : NULL;
	}
}

static const char *jvalue(const char *p, int depth)
{
	if (depth > 32)
		return NULL;
	p = jws(p);
	if (*p == '{' || *p == '[')
		return jcontainer(p, depth);
	if (*p == '"')
		return jstring(p);
	if (!strncmp(p, "true", 4) || !strncmp(p, "null", 4))
		return p + 4;
	if (!strncmp(p, "false", 5))
		return p + 5;
	return jnumber(p);
}

static bool json_valid(const char *s)
{
	const char *end = jvalue(s, 0);

	return end && *jws(end) == '\0';
}

/* ---- fixtures ---- */

static void ep4(struct live_endpoint *ep, uint32_t netns, uint8_t a, uint8_t b,
		uint8_t c, uint8_t d, uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->netns = netns;
	ep->family = SYNFIN_AF_INET;
	ep->addr[0] = a, ep->addr[1] = b, ep->addr[2] = c, ep->addr[3] = d;
	ep->port = port;
}

static void owner(struct live_owner *o, uint32_t pid, const char *comm)
{
	memset(o, 0, sizeof(*o));
	o->pid = pid;
	snprintf(o->comm, sizeof(o->comm), "%s", comm);
}

static void figure(struct live_alert *a, const char *name, double v, int prec)
{
	a->figures[a->nfigures++] = (struct live_figure){ name, v, prec };
}

static void threshold(struct live_alert *a, const char *name, double limit,
		      bool fired)
{
	a->thresholds[a->nthresholds++] = (struct live_threshold){ name, limit, fired };
}

/* The syn flood of the issue: 10.213.0.2:5100, nothing completes. */
static void syn_flood(struct live_alert *a, bool ended)
{
	memset(a, 0, sizeof(*a));
	a->kind = ALERT_SYN_FLOOD;
	a->ended = ended;
	a->since_ns = 100 * SEC;
	a->ts_ns = ended ? 112 * SEC + 300000000ULL : 100 * SEC;
	ep4(&a->ep, 4026532101u, 10, 213, 0, 2, 5100);
	owner(&a->owner, 1234, "srv");
	figure(a, "unanswered_per_s", 1980, 0);
	figure(a, "completion_ratio", 0, 2);
	figure(a, "half_open", 9, 0);
	figure(a, "backlog", 8, 0);
	figure(a, "sources", 9, 0);
	figure(a, "cookies_per_s", 1980, 0);
	threshold(a, "syn-unanswered", 100, !ended);
	threshold(a, "syn-ratio", 0.5, !ended);
}

static void tw_client(struct live_alert *a)
{
	memset(a, 0, sizeof(*a));
	a->kind = ALERT_TIMEWAIT_BUILDUP;
	a->side = TW_SIDE_CLIENT;
	a->since_ns = a->ts_ns = 50 * SEC;
	ep4(&a->ep, 1, 10, 0, 0, 9, 80);
	owner(&a->owner, 4242, "curl");
	figure(a, "count", 28000, 0);
	figure(a, "entries_per_s", 500, 1);
	figure(a, "port_use", 0.992, 3);
	threshold(a, "tw-ports", 50, true);
	threshold(a, "tw-count", 8192, true);
}

/* server side, wildcard listener, nobody found to blame */
static void tw_server(struct live_alert *a)
{
	memset(a, 0, sizeof(*a));
	a->kind = ALERT_TIMEWAIT_BUILDUP;
	a->side = TW_SIDE_SERVER;
	a->since_ns = 50 * SEC;
	a->ts_ns = 110 * SEC;
	a->ended = true;
	ep4(&a->ep, 1, 0, 0, 0, 0, 8080);
	figure(a, "count", 900, 0);
	threshold(a, "tw-count", 8192, false);
}

static void cw_leak(struct live_alert *a, bool peer)
{
	memset(a, 0, sizeof(*a));
	a->kind = ALERT_CLOSE_WAIT_LEAK;
	a->since_ns = a->ts_ns = 60 * SEC;
	a->ep.netns = 4026531840u;
	if (peer) {
		a->ep.family = SYNFIN_AF_INET6;
		a->ep.addr[0] = 0xfd, a->ep.addr[15] = 2;
		a->ep.port = 5432;
	}
	owner(&a->owner, 5150, "leaky");
	figure(a, "count", 45, 0);
	figure(a, "old", 40, 0);
	figure(a, "oldest_s", 300, 1);
	if (peer) {
		/* a child it forked holds them too */
		owner(&a->also, 5151, "worker");
		figure(a, "shared", 45, 0);
		figure(a, "other_holders", 2, 0);
	}
	threshold(a, "cw-age", 60, true);
	threshold(a, "cw-count", 8, true);
}

/* A busy host: every table has rows, one IPv6 listener. */
static void full_stats(struct live_stats *s)
{
	struct live_listener *l;
	struct live_tw_group *g;
	struct live_close_wait *c;

	memset(s, 0, sizeof(*s));
	s->ts_ns = 1000 * SEC;
	s->interval_s = 1.0;
	s->states_known = true;
	s->states[SYNFIN_TCP_ESTABLISHED] = 1234;
	s->states[SYNFIN_TCP_SYN_SENT] = 3;
	s->states[SYNFIN_TCP_SYN_RECV] = 9;
	s->states[SYNFIN_TCP_FIN_WAIT1] = 2;
	s->states[SYNFIN_TCP_FIN_WAIT2] = 1;
	s->states[SYNFIN_TCP_TIME_WAIT] = 30421;
	s->states[SYNFIN_TCP_CLOSE] = 5;
	s->states[SYNFIN_TCP_CLOSE_WAIT] = 48;
	s->states[SYNFIN_TCP_LISTEN] = 12;
	s->netns = 3;
	s->opens_active_per_s = 12;
	s->opens_passive_per_s = 30;
	s->closes_per_s = 41;
	s->resets_sent_per_s = 1;
	s->retransmits_per_s = 3.25;
	s->synack_retrans_per_s = 27.5;
	s->failed_opens_per_s = 0.5;
	s->hs_client = (struct live_handshakes){ 120, 0.091, 0.21, 1.02, 3.1 };

	l = &s->listeners[s->nlisteners++];
	ep4(&l->ep, 4026532101u, 10, 213, 0, 2, 5100);
	owner(&l->owner, 1234, "srv");
	l->sockets = 1;
	l->backlog = 8;
	l->half_open = 9;
	l->sources = 9;
	l->syn_per_s = l->unanswered_per_s = l->cookies_per_s = 1980;
	l->synack_retrans_per_s = 27.5;
	l->completion_ratio = 0;
	l = &s->listeners[s->nlisteners++];
	l->ep.family = SYNFIN_AF_INET6;
	l->ep.addr[0] = 0xfd, l->ep.addr[15] = 1;
	l->ep.port = 443;
	l->ep.netns = 4026531840u;
	owner(&l->owner, 4321, "nginx");
	l->sockets = 4;  /* a SO_REUSEPORT group: one row */
	l->accept_queue = 3;
	l->accept_queue_max = 2;
	l->backlog = 2044;
	l->half_open = 1;
	l->sources = 1;
	l->syn_per_s = 250;
	l->completed_per_s = 249;
	l->completion_ratio = 0.996;
	l = &s->listeners[s->nlisteners++];
	ep4(&l->ep, 4026531840u, 0, 0, 0, 0, 22);
	owner(&l->owner, 800, "sshd");
	l->sockets = 1;
	l->backlog = 128;
	l->syn_per_s = l->completed_per_s = 0.2;
	l->completion_ratio = 1;
	s->listeners_total = 12;

	g = &s->tw[s->ntw++];
	g->side = TW_SIDE_CLIENT;
	ep4(&g->ep, 4026531840u, 10, 0, 0, 9, 80);
	owner(&g->owner, 4242, "curl");
	g->count = 28000;
	g->entries_per_s = 500;
	g->port_range = 28232;
	g->port_use = 0.9918;
	g->max_tw_buckets = 262144;
	g = &s->tw[s->ntw++];
	g->side = TW_SIDE_SERVER;
	ep4(&g->ep, 4026531840u, 0, 0, 0, 0, 8080);
	g->count = 120;
	g->entries_per_s = 2;
	g->max_tw_buckets = 262144;

	c = &s->close_wait[s->nclose_wait++];
	owner(&c->owner, 5150, "leaky");
	c->netns = 4026531840u;
	c->count = 45;
	c->old = 40;
	c->oldest_s = 330;
	ep4(&c->peer, 4026531840u, 10, 0, 0, 7, 5432);
	c->shared = 12;
	owner(&c->also, 5151, "worker");
	c->others = 2;
	c = &s->close_wait[s->nclose_wait++];
	owner(&c->owner, 77, "java");
	c->netns = 4026531840u;
	c->count = 3;
	c->oldest_s = 4.5; /* tallied from 3 s on */

	syn_flood(&s->alerts[s->nalerts], false);
	s->alerts[s->nalerts].since_ns = 987 * SEC + 700000000ULL;
	s->alerts[s->nalerts++].ts_ns = s->ts_ns;
	cw_leak(&s->alerts[s->nalerts], true);
	s->alerts[s->nalerts].since_ns = 670 * SEC;
	s->alerts[s->nalerts++].ts_ns = s->ts_ns;
	s->lost_total = 7;
}

/* ---- helpers ---- */

static char *alert_json(const struct live_alert *a)
{
	static char out[4096];
	struct json_writer *w = jsonw_new();

	jsonw_start_object(w);
	jsonw_string_field(w, "type", "alert");
	live_json_alert_fields(w, a, REAL0);
	jsonw_end_object(w);
	CHECK_EQ_INT(jsonw_err(w), 0);
	snprintf(out, sizeof(out), "%s", jsonw_buf(w, NULL));
	jsonw_free(w);
	if (!json_valid(out))
		fprintf(stderr, "  invalid JSON: %s\n", out);
	CHECK(json_valid(out));
	return out;
}

static char *stats_json(const struct live_stats *s)
{
	struct json_writer *w = jsonw_new();
	char *out;

	jsonw_start_object(w);
	jsonw_string_field(w, "type", "stats");
	live_json_stats_fields(w, s, REAL0);
	jsonw_end_object(w);
	CHECK_EQ_INT(jsonw_err(w), 0);
	out = strdup(jsonw_buf(w, NULL));
	jsonw_free(w);
	if (!json_valid(out))
		fprintf(stderr, "  invalid JSON: %s\n", out);
	CHECK(json_valid(out));
	return out;
}

static char *alert_text(const struct live_alert *a)
{
	static char out[1024];
	int n = live_format_alert(out, sizeof(out), a, REAL0);

	CHECK_EQ_INT(n, strlen(out));
	/* one alert, one line of printable ASCII */
	for (const char *p = out; *p; p++)
		CHECK(*p >= 0x20 && *p < 0x7f);
	return out;
}

#define CHECK_HAS(hay, needle)                                                 \
	do {                                                                   \
		if (!strstr((hay), (needle)))                                  \
			fprintf(stderr, "  %s:%d: no %s\n", __FILE__, __LINE__, \
				(needle));                                     \
		CHECK(strstr((hay), (needle)));                                \
	} while (0)

/* Every line ends in '\n', fits width, is printable ASCII; returns lines. */
static int check_screen(const char *buf, int width)
{
	const char *p = buf, *nl;
	int lines = 0;

	for (; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		CHECK(nl);
		if (!nl)
			break;
		if (nl - p > width)
			fprintf(stderr, "  %d columns > %d: %.*s\n", (int)(nl - p), width,
				(int)(nl - p), p);
		CHECK(nl - p <= width);
		for (const char *q = p; q < nl; q++)
			CHECK(*q >= 0x20 && *q < 0x7f);
		lines++;
	}
	return lines;
}

static char *render(const struct live_stats *s, int width, int height)
{
	int n = top__render(NULL, 0, s, REAL0, width, height);
	char *buf = malloc(n + 1);

	CHECK(buf);
	if (!buf)
		return NULL;
	CHECK_EQ_INT(top__render(buf, n + 1, s, REAL0, width, height), n);
	CHECK_EQ_INT(strlen(buf), n);
	return buf;
}

/* Compare with tests/golden/top_<name>.txt; SYNFIN_UPDATE_GOLDEN=1 writes
 * it instead (review the diff before committing). */
static void golden(const char *name, const char *got)
{
	char file[256];

	snprintf(file, sizeof(file), "top_%s.txt", name);
	golden_check(file, got);
}

/* The screen shows local time: pin it so the golden is the same anywhere. */
static void utc(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
}

/* ---- cases: names ---- */

static void test_names(void)
{
	CHECK_EQ_STR(alert_kind_name(ALERT_SYN_FLOOD), "syn_flood");
	CHECK_EQ_STR(alert_kind_name(ALERT_TIMEWAIT_BUILDUP), "timewait_buildup");
	CHECK_EQ_STR(alert_kind_name(ALERT_CLOSE_WAIT_LEAK), "close_wait_leak");
	CHECK_EQ_STR(alert_kind_name(ALERT_KIND_MAX), "unknown");
	CHECK_EQ_STR(alert_kind_name((enum alert_kind)-1), "unknown");
	CHECK_EQ_STR(tw_side_name(TW_SIDE_CLIENT), "client");
	CHECK_EQ_STR(tw_side_name(TW_SIDE_SERVER), "server");
	CHECK_EQ_STR(tw_side_name((enum tw_side)7), "unknown");
}

static void test_endpoint_text(void)
{
	struct live_endpoint ep;
	char buf[64];

	ep4(&ep, 1, 10, 213, 0, 2, 5100);
	CHECK_EQ_INT(live_format_endpoint(buf, sizeof(buf), &ep), 15);
	CHECK_EQ_STR(buf, "10.213.0.2:5100");
	ep4(&ep, 1, 0, 0, 0, 0, 22);
	live_format_endpoint(buf, sizeof(buf), &ep);
	CHECK_EQ_STR(buf, "*:22");
	ep.family = SYNFIN_AF_INET6;
	live_format_endpoint(buf, sizeof(buf), &ep);
	CHECK_EQ_STR(buf, "*:22");
	ep.addr[0] = 0xfd, ep.addr[15] = 1;
	live_format_endpoint(buf, sizeof(buf), &ep);
	CHECK_EQ_STR(buf, "[fd00::1]:22");
	/* like snprintf: cut, terminated, full length returned */
	CHECK_EQ_INT(live_format_endpoint(buf, 4, &ep), 12);
	CHECK_EQ_STR(buf, "[fd");
}

/* ---- cases: alert JSON ---- */

static void test_alert_json_syn_flood(void)
{
	struct live_alert a;

	syn_flood(&a, false);
	CHECK_EQ_STR(alert_json(&a),
		"{\"type\":\"alert\",\"kind\":\"syn_flood\",\"state\":\"start\","
		"\"ts\":\"2026-11-21T19:06:40.000000000Z\","
		"\"since\":\"2026-11-21T19:06:40.000000000Z\",\"netns\":4026532101,"
		"\"listener\":{\"addr\":\"10.213.0.2\",\"port\":5100},"
		"\"pid\":1234,\"comm\":\"srv\","
		"\"figures\":{\"unanswered_per_s\":1980,\"completion_ratio\":0.00,"
		"\"half_open\":9,\"backlog\":8,\"sources\":9,\"cookies_per_s\":1980},"
		"\"thresholds\":{\"syn-unanswered\":100,\"syn-ratio\":0.5},"
		"\"fired\":[\"syn-unanswered\",\"syn-ratio\"]}");

	syn_flood(&a, true);
	CHECK_EQ_STR(alert_json(&a),
		"{\"type\":\"alert\",\"kind\":\"syn_flood\",\"state\":\"end\","
		"\"ts\":\"2026-11-21T19:06:52.300000000Z\","
		"\"since\":\"2026-11-21T19:06:40.000000000Z\",\"duration_s\":12.3,"
		"\"netns\":4026532101,"
		"\"listener\":{\"addr\":\"10.213.0.2\",\"port\":5100},"
		"\"pid\":1234,\"comm\":\"srv\","
		"\"figures\":{\"unanswered_per_s\":1980,\"completion_ratio\":0.00,"
		"\"half_open\":9,\"backlog\":8,\"sources\":9,\"cookies_per_s\":1980},"
		"\"thresholds\":{\"syn-unanswered\":100,\"syn-ratio\":0.5},"
		"\"fired\":[]}");
}

/* A namespace's flood no listener can be blamed for (every SYN got a
 * cookie): no listener object, no owner. */
static void test_alert_listener_unknown(void)
{
	struct live_alert a;

	syn_flood(&a, false);
	memset(&a.ep, 0, sizeof(a.ep));
	a.ep.netns = 4026532101u;
	memset(&a.owner, 0, sizeof(a.owner));
	CHECK_HAS(alert_json(&a), "\"netns\":4026532101,\"listener\":null,"
		  "\"pid\":null,\"comm\":null,");
	CHECK_HAS(alert_text(&a), "ALERT syn_flood START listener unknown (netns 4026532101):"
		  " syn-unanswered 1980 >= 100");
}

static void test_alert_json_timewait(void)
{
	struct live_alert a;

	tw_client(&a);
	CHECK_EQ_STR(alert_json(&a),
		"{\"type\":\"alert\",\"kind\":\"timewait_buildup\",\"state\":\"start\","
		"\"ts\":\"2026-11-21T19:05:50.000000000Z\","
		"\"since\":\"2026-11-21T19:05:50.000000000Z\",\"netns\":1,"
		"\"side\":\"client\",\"destination\":{\"addr\":\"10.0.0.9\",\"port\":80},"
		"\"pid\":4242,\"comm\":\"curl\","
		"\"figures\":{\"count\":28000,\"entries_per_s\":500.0,\"port_use\":0.992},"
		"\"thresholds\":{\"tw-ports\":50,\"tw-count\":8192},"
		"\"fired\":[\"tw-ports\",\"tw-count\"]}");

	tw_server(&a);
	CHECK_EQ_STR(alert_json(&a),
		"{\"type\":\"alert\",\"kind\":\"timewait_buildup\",\"state\":\"end\","
		"\"ts\":\"2026-11-21T19:06:50.000000000Z\","
		"\"since\":\"2026-11-21T19:05:50.000000000Z\",\"duration_s\":60.0,"
		"\"netns\":1,\"side\":\"server\",\"listener\":{\"addr\":\"*\",\"port\":8080},"
		"\"pid\":null,\"comm\":null,"
		"\"figures\":{\"count\":900},\"thresholds\":{\"tw-count\":8192},"
		"\"fired\":[]}");
}

static void test_alert_json_close_wait(void)
{
	struct live_alert a;

	cw_leak(&a, false);
	CHECK_EQ_STR(alert_json(&a),
		"{\"type\":\"alert\",\"kind\":\"close_wait_leak\",\"state\":\"start\","
		"\"ts\":\"2026-11-21T19:06:00.000000000Z\","
		"\"since\":\"2026-11-21T19:06:00.000000000Z\",\"netns\":4026531840,"
		"\"pid\":5150,\"comm\":\"leaky\",\"also_held_by\":null,"
		"\"figures\":{\"count\":45,\"old\":40,\"oldest_s\":300.0},"
		"\"thresholds\":{\"cw-age\":60,\"cw-count\":8},"
		"\"fired\":[\"cw-age\",\"cw-count\"]}");

	cw_leak(&a, true);
	a.ended = true;
	a.ts_ns = a.since_ns + 5 * SEC + 40000000ULL;
	CHECK_EQ_STR(alert_json(&a),
		"{\"type\":\"alert\",\"kind\":\"close_wait_leak\",\"state\":\"end\","
		"\"ts\":\"2026-11-21T19:06:05.040000000Z\","
		"\"since\":\"2026-11-21T19:06:00.000000000Z\",\"duration_s\":5.0,"
		"\"netns\":4026531840,\"peer\":{\"addr\":\"fd00::2\",\"port\":5432},"
		"\"pid\":5150,\"comm\":\"leaky\","
		"\"also_held_by\":{\"pid\":5151,\"comm\":\"worker\"},"
		"\"figures\":{\"count\":45,\"old\":40,\"oldest_s\":300.0,\"shared\":45,"
		"\"other_holders\":2},"
		"\"thresholds\":{\"cw-age\":60,\"cw-count\":8},"
		"\"fired\":[\"cw-age\",\"cw-count\"]}");

	/* a comm with no pid is still shown; an empty one with a pid is "" */
	owner(&a.owner, 0, "kworker");
	CHECK_HAS(alert_json(&a), "\"pid\":null,\"comm\":\"kworker\",");
	owner(&a.owner, 9, "");
	CHECK_HAS(alert_json(&a), "\"pid\":9,\"comm\":\"\",");
}

/* ---- cases: alert text ---- */

static void test_alert_text(void)
{
	struct live_alert a;
	char small[16];

	syn_flood(&a, false);
	CHECK_EQ_STR(alert_text(&a),
		"ALERT syn_flood START listener 10.213.0.2:5100 (netns 4026532101) "
		"pid 1234 srv: syn-unanswered 1980 >= 100, syn-ratio 0.00 < 0.50"
		" | half_open 9, backlog 8, sources 9, cookies_per_s 1980");
	syn_flood(&a, true);
	CHECK_EQ_STR(alert_text(&a),
		"ALERT syn_flood END listener 10.213.0.2:5100 (netns 4026532101) "
		"pid 1234 srv after 12.3 s | unanswered_per_s 1980, completion_ratio 0.00,"
		" half_open 9, backlog 8, sources 9, cookies_per_s 1980");

	/* tw-ports is a percentage, its figure a fraction */
	tw_client(&a);
	CHECK_EQ_STR(alert_text(&a),
		"ALERT timewait_buildup START client side destination 10.0.0.9:80 "
		"(netns 1) pid 4242 curl: tw-ports 99.2 >= 50.0, tw-count 28000 >= 8192"
		" | entries_per_s 500.0");
	tw_server(&a);
	CHECK_EQ_STR(alert_text(&a),
		"ALERT timewait_buildup END server side listener *:8080 (netns 1)"
		" after 60.0 s | count 900");

	cw_leak(&a, false);
	CHECK_EQ_STR(alert_text(&a),
		"ALERT close_wait_leak START (netns 4026531840) pid 5150 leaky: "
		"cw-age 300.0 >= 60.0, cw-count 40 >= 8 | count 45");
	cw_leak(&a, true);
	a.thresholds[0].fired = false;
	CHECK_EQ_STR(alert_text(&a),
		"ALERT close_wait_leak START peer [fd00::2]:5432 (netns 4026531840) "
		"pid 5150 leaky (also held by pid 5151 worker): cw-count 40 >= 8 | "
		"count 45, oldest_s 300.0, shared 45, other_holders 2");

	/* a threshold named after its figure (either spelling) finds it; one
	 * with no figure shows its limit alone */
	cw_leak(&a, false);
	a.nthresholds = 0;
	threshold(&a, "old", 10, true);
	threshold(&a, "oldest-s", 60, true);
	threshold(&a, "leak-ratio", 0.25, true);
	CHECK_EQ_STR(alert_text(&a),
		"ALERT close_wait_leak START (netns 4026531840) pid 5150 leaky: "
		"old 40 >= 10, oldest-s 300.0 >= 60.0, leak-ratio < 0.25 | count 45");

	/* the least limit the options take (0.000001) reads as set, not 0 */
	syn_flood(&a, false);
	a.thresholds[1].limit = 0.000001;
	CHECK_EQ_STR(alert_text(&a),
		"ALERT syn_flood START listener 10.213.0.2:5100 (netns 4026532101) "
		"pid 1234 srv: syn-unanswered 1980 >= 100, syn-ratio 0.00 < 0.000001"
		" | half_open 9, backlog 8, sources 9, cookies_per_s 1980");
	CHECK(strstr(alert_json(&a), "\"syn-ratio\":0.000001}") != NULL);

	/* snprintf's contract */
	syn_flood(&a, false);
	CHECK_EQ_INT(live_format_alert(small, sizeof(small), &a, REAL0),
		     strlen(alert_text(&a)));
	CHECK_EQ_STR(small, "ALERT syn_flood");
	CHECK_EQ_INT(live_format_alert(NULL, 0, &a, REAL0), strlen(alert_text(&a)));
}

/* ---- cases: hostile comm ---- */

static const char hostile[] = "a\"b\\c\nd\xff\x01\x1b[2J\x7f";

static void test_hostile_comm(void)
{
	struct live_alert a;
	struct live_stats s;
	char *out, *line;
	char buf[128];

	CHECK_EQ_INT(live_format_comm(buf, sizeof(buf), hostile), 30);
	CHECK_EQ_STR(buf, "a\"b\\\\c\\x0ad\\xff\\x01\\x1b[2J\\x7f");

	syn_flood(&a, false);
	memcpy(a.owner.comm, hostile, sizeof(hostile));
	CHECK_HAS(alert_json(&a),
		  "\"comm\":\"a\\\"b\\\\c\\u000ad\\u00ff\\u0001\\u001b[2J\\u007f\",");
	line = alert_text(&a);
	CHECK(!strchr(line, '\n') && !strchr(line, '\033'));
	CHECK_HAS(line, "pid 1234 a\"b\\\\c\\x0ad\\xff\\x01\\x1b[2J\\x7f: ");

	/* all 16 bytes used and no NUL among them: stop at the struct's NUL */
	memset(a.owner.comm, '\xff', SYNFIN_COMM_LEN);
	a.owner.comm[SYNFIN_COMM_LEN] = '\0';
	CHECK_HAS(alert_json(&a), "\"comm\":\"\\u00ff\\u00ff\\u00ff\\u00ff\\u00ff"
		  "\\u00ff\\u00ff\\u00ff\\u00ff\\u00ff\\u00ff\\u00ff\\u00ff\\u00ff"
		  "\\u00ff\\u00ff\",");
	alert_text(&a);

	/* and through the stats record and the screen */
	full_stats(&s);
	memcpy(s.listeners[0].owner.comm, hostile, sizeof(hostile));
	memcpy(s.tw[0].owner.comm, hostile, sizeof(hostile));
	memcpy(s.close_wait[0].owner.comm, hostile, sizeof(hostile));
	memcpy(s.alerts[1].owner.comm, hostile, sizeof(hostile));
	out = stats_json(&s);
	CHECK(!strchr(out, '\n'));
	free(out);
	out = render(&s, 80, 60);
	check_screen(out, 80);
	CHECK(!strchr(out, '\033'));
	free(out);
}

/* ---- cases: stats JSON ---- */

static void test_stats_json_empty(void)
{
	struct live_stats s;
	char *out;

	memset(&s, 0, sizeof(s));
	out = stats_json(&s);
	CHECK_EQ_STR(out,
		"{\"type\":\"stats\",\"ts\":\"2026-11-21T19:05:00.000000000Z\","
		"\"interval_s\":0.000,\"states\":null,\"netns_counted\":0,"
		"\"netns_failed\":0,\"procs_unreadable\":0,"
		"\"rates\":{\"opens_active\":0.0,\"opens_passive\":0.0,\"closes\":0.0,"
		"\"resets_sent\":0.0,\"resets_received\":0.0,\"retransmits\":0.0,"
		"\"synack_retransmits\":0.0,\"failed_opens\":0.0},"
		"\"handshake_ms\":{"
		"\"client\":{\"samples\":0,\"p50\":null,\"p90\":null,\"p99\":null,\"max\":null},"
		"\"server\":{\"samples\":0,\"p50\":null,\"p90\":null,\"p99\":null,\"max\":null}},"
		"\"listeners_total\":0,\"listeners\":[],\"time_wait\":[],\"close_wait\":[],"
		"\"alerts\":[],\"lost_total\":0}");
	free(out);
}

static void test_stats_json_full(void)
{
	struct live_stats s;
	char *out;

	full_stats(&s);
	out = stats_json(&s);
	CHECK_HAS(out, "{\"type\":\"stats\",\"ts\":\"2026-11-21T19:21:40.000000000Z\","
		  "\"interval_s\":1.000,");
	CHECK_HAS(out, "\"states\":{\"ESTAB\":1234,\"SYN-SENT\":3,\"SYN-RECV\":9,"
		  "\"FIN-WAIT-1\":2,\"FIN-WAIT-2\":1,\"TIME-WAIT\":30421,\"CLOSE\":5,"
		  "\"CLOSE-WAIT\":48,\"LAST-ACK\":0,\"LISTEN\":12,\"CLOSING\":0},"
		  "\"netns_counted\":3,");
	CHECK_HAS(out, "\"rates\":{\"opens_active\":12.0,\"opens_passive\":30.0,"
		  "\"closes\":41.0,\"resets_sent\":1.0,\"resets_received\":0.0,"
		  "\"retransmits\":3.3,\"synack_retransmits\":27.5,\"failed_opens\":0.5},");
	CHECK_HAS(out, "\"handshake_ms\":{\"client\":{\"samples\":120,\"p50\":0.091,"
		  "\"p90\":0.210,\"p99\":1.020,\"max\":3.100},\"server\":{\"samples\":0,"
		  "\"p50\":null,\"p90\":null,\"p99\":null,\"max\":null}},");
	CHECK_HAS(out, "\"listeners_total\":12,\"listeners\":[{\"netns\":4026532101,"
		  "\"addr\":\"10.213.0.2\",\"port\":5100,\"pid\":1234,\"comm\":\"srv\","
		  "\"sockets\":1,\"accept_queue\":0,\"accept_queue_max\":0,"
		  "\"backlog\":8,\"half_open\":9,\"sources\":9,"
		  "\"syn_per_s\":1980.0,\"completed_per_s\":0.0,\"unanswered_per_s\":1980.0,"
		  "\"cookies_per_s\":1980.0,\"drops_per_s\":0.0,\"synack_retrans_per_s\":27.5,"
		  "\"completion_ratio\":0.00},");
	CHECK_HAS(out, "{\"netns\":4026531840,\"addr\":\"fd00::1\",\"port\":443,"
		  "\"pid\":4321,\"comm\":\"nginx\",\"sockets\":4,\"accept_queue\":3,"
		  "\"accept_queue_max\":2,\"backlog\":2044,");
	CHECK_HAS(out, "{\"netns\":4026531840,\"addr\":\"*\",\"port\":22,\"pid\":800,");
	CHECK_HAS(out, "\"time_wait\":[{\"side\":\"client\",\"netns\":4026531840,"
		  "\"addr\":\"10.0.0.9\",\"port\":80,\"count\":28000,\"entries_per_s\":500.0,"
		  "\"port_range\":28232,\"port_use\":0.992,\"max_tw_buckets\":262144,"
		  "\"pid\":4242,\"comm\":\"curl\"},{\"side\":\"server\",\"netns\":4026531840,"
		  "\"addr\":\"*\",\"port\":8080,\"count\":120,\"entries_per_s\":2.0,"
		  "\"port_range\":null,\"port_use\":null,\"max_tw_buckets\":262144,"
		  "\"pid\":null,\"comm\":null}],");
	CHECK_HAS(out, "\"close_wait\":[{\"netns\":4026531840,\"pid\":5150,"
		  "\"comm\":\"leaky\",\"count\":45,\"old\":40,\"oldest_s\":330.0,"
		  "\"peer\":{\"addr\":\"10.0.0.7\",\"port\":5432},\"shared\":12,"
		  "\"also_held_by\":{\"pid\":5151,\"comm\":\"worker\"},\"other_holders\":2},"
		  "{\"netns\":4026531840,"
		  "\"pid\":77,\"comm\":\"java\",\"count\":3,\"old\":0,\"oldest_s\":4.5,"
		  "\"peer\":null,\"shared\":0,\"also_held_by\":null,\"other_holders\":0}],");
	CHECK_HAS(out, "\"alerts\":[{\"kind\":\"syn_flood\",\"state\":\"start\","
		  "\"ts\":\"2026-11-21T19:21:40.000000000Z\","
		  "\"since\":\"2026-11-21T19:21:27.700000000Z\",\"netns\":4026532101,");
	CHECK_HAS(out, "},{\"kind\":\"close_wait_leak\",\"state\":\"start\",");
	CHECK_HAS(out, "\"fired\":[\"cw-age\",\"cw-count\"]}],\"lost_total\":7}");
	free(out);

	/* counts beyond the arrays are clamped, never read past them */
	s.nlisteners = 1000;
	s.ntw = 1000;
	s.nclose_wait = 1000;
	s.nalerts = 1000;
	s.alerts[0].nfigures = 1000;
	s.alerts[0].nthresholds = 1000;
	out = stats_json(&s);
	free(out);
}

/* ---- cases: top ---- */

static void test_top_golden(void)
{
	struct live_stats s;
	char *out;

	utc();
	full_stats(&s);
	out = render(&s, 80, 60);
	CHECK_EQ_INT(check_screen(out, 80) < 60, 1);
	golden("basic", out);
	CHECK_HAS(out, "synfin top  19:21:40  interval 1.0s  netns 3  lost 7\n");
	CHECK_HAS(out, "ESTAB 1234");
	CHECK_HAS(out, "TIME-WAIT 30421");
	CHECK_HAS(out, "Listeners (3 of 12 shown)\n");
	CHECK_HAS(out, "10.213.0.2:5100");
	CHECK_HAS(out, "[fd00::1]:443");
	CHECK_HAS(out, "99.2%");
	CHECK_HAS(out, "5150 leaky");
	CHECK_HAS(out, "5m30s");
	CHECK_HAS(out, "syn_flood");
	CHECK_HAS(out, "12.3s");
	CHECK(!strstr(out, " \n"));
	free(out);
}

/* What the census could not read: both figures in JSON, the namespaces
 * not read in top's first line when there are some (top_golden has
 * none). */
static void test_unread_netns(void)
{
	struct live_stats s;
	char *out;

	utc();
	full_stats(&s);
	s.netns_failed = 2;
	s.procs_unreadable = 977;
	out = render(&s, 80, 60);
	CHECK_EQ_INT(check_screen(out, 80) < 60, 1);
	CHECK_HAS(out, "synfin top  19:21:40  interval 1.0s  netns 3 (2 not read)  lost 7\n");
	CHECK(!strstr(out, "977"));
	free(out);
	out = stats_json(&s);
	CHECK_HAS(out, "\"netns_counted\":3,\"netns_failed\":2,\"procs_unreadable\":977,");
	free(out);
}

static void test_top_fits(void)
{
	struct live_stats s;
	char *out;
	int lines;

	utc();
	full_stats(&s);
	for (int width = 1; width <= 200; width += (width < 40 ? 1 : 20)) {
		out = render(&s, width, 100);
		check_screen(out, width);
		free(out);
	}
	/* 80x24: all of it, without the blank lines between tables */
	out = render(&s, 80, 24);
	CHECK_EQ_INT(check_screen(out, 80), 23);
	CHECK(!strstr(out, "\n\n"));
	free(out);
	/* 80x20: every table keeps its title and rows are dealt out in turn,
	 * alerts first */
	out = render(&s, 80, 20);
	CHECK_EQ_INT(check_screen(out, 80), 20);
	CHECK_HAS(out, "\nListeners (2 of 12 shown)\nADDR:PORT");
	CHECK_HAS(out, "\nTIME_WAIT (1 of 2 shown)\nSIDE");
	CHECK_HAS(out, "\nCLOSE_WAIT (1 of 2 shown)\nPID COMM");
	CHECK_HAS(out, "\nAlerts (2)\nKIND");
	CHECK_HAS(out, "close_wait_leak");
	free(out);
	/* 80x8: titles only, alerts first to get one */
	out = render(&s, 80, 8);
	CHECK_EQ_INT(check_screen(out, 80), 8);
	CHECK_HAS(out, "\nListeners (0 of 12 shown)\nAlerts (0 of 2 shown)\n");
	free(out);
	out = render(&s, 80, 7);
	CHECK_HAS(out, "LISTEN 12\n");
	CHECK_HAS(out, "\nAlerts (0 of 2 shown)\n");
	CHECK(!strstr(out, "Listeners"));
	free(out);
	for (int height = 0; height <= 30; height++) {
		out = render(&s, 80, height);
		lines = check_screen(out, 80);
		CHECK(lines <= height);
		if (height >= 1)
			CHECK(!strncmp(out, "synfin top", 10));
		free(out);
	}
	out = render(&s, 80, 0);
	CHECK_EQ_STR(out, "");
	free(out);

	/* nothing yet */
	memset(&s, 0, sizeof(s));
	out = render(&s, 80, 24);
	check_screen(out, 80);
	CHECK_HAS(out, "states    not counted yet\n");
	CHECK_HAS(out, "Listeners: none\n");
	CHECK_HAS(out, "Alerts: none\n");
	CHECK_HAS(out, "handshake client n=0  server n=0\n");
	free(out);
}

static void test_top_pipe(void)
{
	struct live_stats s;
	struct top_screen *t;
	char got[16384];
	char *want;
	ssize_t n, total = 0;
	int fds[2];

	utc();
	full_stats(&s);
	CHECK(!pipe(fds));
	t = top__open(fds[1]);
	CHECK(t);
	if (!t)
		return;
	top__draw(t, &s, REAL0);
	top__draw(t, &s, REAL0);
	if (top__fd(t) < 0)
		CHECK(!top__quit_requested(t));
	top__close(t);
	close(fds[1]);
	while ((n = read(fds[0], got + total, sizeof(got) - 1 - total)) > 0)
		total += n;
	close(fds[0]);
	got[total] = '\0';

	/* plain frames, a blank line apart, every row (a pipe has no height) */
	want = render(&s, 80, 10000);
	CHECK(!strchr(got, '\033'));
	CHECK_EQ_INT(total, 2 * (strlen(want) + 1));
	CHECK(!strncmp(got, want, strlen(want)));
	CHECK_EQ_INT(got[strlen(want)], '\n');
	free(want);
}

/* Read the master side until it is quiet for 100 ms. */
static size_t drain(int fd, char *buf, size_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t total = 0;
	ssize_t n;

	while (total + 1 < len && poll(&pfd, 1, 100) > 0) {
		n = read(fd, buf + total, len - 1 - total);
		if (n <= 0)
			break;
		total += n;
	}
	buf[total] = '\0';
	return total;
}

static void test_top_tty(void)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	struct termios before, during, after;
	struct live_stats s;
	struct top_screen *t = NULL;
	static char got[65536];
	char *frame, *p;
	int master, slave = -1;

	utc();
	full_stats(&s);
	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) || unlockpt(master) ||
	    (slave = open(ptsname(master), O_RDWR | O_NOCTTY)) < 0) {
		/* no ptys in this sandbox: the pipe test covers the rest */
		fprintf(stderr, "  no pty (%s): terminal path not tested\n",
			strerror(errno));
		goto cleanup;
	}
	CHECK(!ioctl(slave, TIOCSWINSZ, &ws));
	CHECK(!tcgetattr(slave, &before));

	t = top__open(slave);
	CHECK(t);
	if (!t)
		goto cleanup;
	CHECK_EQ_INT(top__fd(t), slave);
	CHECK(!tcgetattr(slave, &during));
	CHECK(!(during.c_lflag & (ICANON | ECHO)));
	CHECK(during.c_lflag & ISIG);
	drain(master, got, sizeof(got));
	CHECK_EQ_STR(got, "\033[?1049h\033[?25l");

	/* in place: home, erase each line's rest, erase below; never 2J */
	top__draw(t, &s, REAL0);
	drain(master, got, sizeof(got));
	CHECK(!strncmp(got, "\033[H", 3));
	CHECK(!strstr(got, "\033[2J"));
	CHECK(strlen(got) > 6 && !strcmp(got + strlen(got) - 6, "\033[K\033[J"));
	/* the frame drawn is the 79-column render (the last column stays
	 * empty), 24 lines */
	frame = render(&s, 79, 24);
	for (p = got; (p = strstr(p, "\033[K\r")); )
		memmove(p, p + 4, strlen(p + 4) + 1);
	for (p = got; (p = strstr(p, "\r")); )
		memmove(p, p + 1, strlen(p + 1) + 1);
	CHECK(strlen(got) > 9);
	got[strlen(got) - 6] = '\n';
	got[strlen(got) - 5] = '\0';
	CHECK_EQ_STR(got + 3, frame);
	free(frame);

	/* keys: nothing yet, then q */
	CHECK(!top__quit_requested(t));
	CHECK_EQ_INT(write(master, "xq", 2), 2);
	usleep(20000);
	CHECK(top__quit_requested(t));
	CHECK(!top__quit_requested(t));

	top__close(t);
	t = NULL;
	drain(master, got, sizeof(got));
	CHECK_EQ_STR(got, "\033[?25h\033[?1049l");
	CHECK(!tcgetattr(slave, &after));
	CHECK_EQ_INT(after.c_lflag, before.c_lflag);
	CHECK_EQ_INT(after.c_cc[VMIN], before.c_cc[VMIN]);
cleanup:
	top__close(t);
	if (slave >= 0)
		close(slave);
	if (master >= 0)
		close(master);
}

static const struct unit_case cases[] = {
	{ "names", test_names },
	{ "endpoint_text", test_endpoint_text },
	{ "alert_json_syn_flood", test_alert_json_syn_flood },
	{ "alert_listener_unknown", test_alert_listener_unknown },
	{ "alert_json_timewait", test_alert_json_timewait },
	{ "alert_json_close_wait", test_alert_json_close_wait },
	{ "alert_text", test_alert_text },
	{ "hostile_comm", test_hostile_comm },
	{ "stats_json_empty", test_stats_json_empty },
	{ "stats_json_full", test_stats_json_full },
	{ "top_golden", test_top_golden },
	{ "unread_netns", test_unread_netns },
	{ "top_fits", test_top_fits },
	{ "top_pipe", test_top_pipe },
	{ "top_tty", test_top_tty },
};

UNIT_MAIN(cases)
