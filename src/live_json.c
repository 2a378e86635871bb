// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Alerts and stats as JSON fields and as text. Both forms read the same
 * struct live_alert / live_stats, so a text line and a JSON record of one
 * verdict cannot disagree.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "clock.h"
#include "engine.h"
#include "filter.h"
#include "live_json.h"
#include "output.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NSEC_PER_SEC 1e9

const char *alert_kind_name(enum alert_kind k)
{
	static const char *const names[ALERT_KIND_MAX] = {
		[ALERT_SYN_FLOOD] = "syn_flood",
		[ALERT_TIMEWAIT_BUILDUP] = "timewait_buildup",
		[ALERT_CLOSE_WAIT_LEAK] = "close_wait_leak",
	};

	return (unsigned int)k < ARRAY_SIZE(names) ? names[k] : "unknown";
}

const char *tw_side_name(enum tw_side s)
{
	static const char *const names[] = { "client", "server" };

	return (unsigned int)s < ARRAY_SIZE(names) ? names[s] : "unknown";
}

/* ---- shared pieces ---- */

/* A bounded appender that keeps counting past the end, so callers get
 * snprintf's "length it would have taken". */
struct tbuf {
	char *buf;
	size_t len;
	size_t n;
};

static void tb_init(struct tbuf *b, char *buf, size_t len)
{
	b->buf = buf;
	b->len = len;
	b->n = 0;
	if (len)
		buf[0] = '\0';
}

__attribute__((format(printf, 2, 3)))
static void tb_printf(struct tbuf *b, const char *fmt, ...)
{
	size_t room = b->n < b->len ? b->len - b->n : 0;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(room ? b->buf + b->n : NULL, room, fmt, ap);
	va_end(ap);
	if (r > 0)
		b->n += r;
}

/* "*" for a wildcard bind, as ss prints it. */
static void ep_addr(const struct live_endpoint *ep, char *buf, size_t len)
{
	if (addr_is_unspecified(ep->family, ep->addr))
		snprintf(buf, len, "*");
	else
		format_addr(ep->family, ep->addr, buf, len);
}

int live_format_endpoint(char *buf, size_t len, const struct live_endpoint *ep)
{
	char addr[INET6_ADDRSTRLEN];

	ep_addr(ep, addr, sizeof(addr));
	/* brackets keep an IPv6 address's colons apart from the port's */
	if (ep->family == SYNFIN_AF_INET6 && strcmp(addr, "*"))
		return snprintf(buf, len, "[%s]:%u", addr, ep->port);
	return snprintf(buf, len, "%s:%u", addr, ep->port);
}

int live_format_comm(char *buf, size_t len, const char *comm)
{
	if (!len)
		return 0;
	return (int)format_safe_comm(comm, strnlen(comm, SYNFIN_COMM_LEN + 1), buf, len - 1);
}

/* Figure names are matched with '-' and '_' equal, so a threshold spelt
 * as a flag still finds a figure spelt as a JSON key. */
static bool name_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a == '-' ? '_' : *a, y = *b == '-' ? '_' : *b;

		if (x != y)
			return false;
	}
	return *a == *b;
}

/* The detectors name a threshold after its flag (detect.c); this is the
 * figure each one judges, and how many decimal places the figure's unit
 * is from the limit's (tw-ports is a percentage, port_use a fraction). A
 * threshold not listed here judges the figure of its own name. */
static const struct {
	const char *threshold;
	const char *figure;
	int shift;
} judged[] = {
	{ "syn-unanswered", "unanswered_per_s", 0 },
	{ "syn-ratio", "completion_ratio", 0 },
	{ "tw-ports", "port_use", 2 },
	{ "tw-count", "count", 0 },
	{ "cw-age", "oldest_s", 0 },
	{ "cw-count", "old", 0 },
};

static const struct live_figure *find_figure(const struct live_alert *a,
					     const char *name)
{
	for (uint32_t i = 0; i < a->nfigures && i < LIVE_MAX_FIGURES; i++)
		if (a->figures[i].name && name_eq(a->figures[i].name, name))
			return &a->figures[i];
	return NULL;
}

/* The figure threshold t judges, or NULL; *shift as in judged[]. */
static const struct live_figure *judged_figure(const struct live_alert *a,
					       const struct live_threshold *t,
					       int *shift)
{
	for (size_t i = 0; i < ARRAY_SIZE(judged); i++) {
		if (strcmp(t->name, judged[i].threshold))
			continue;
		*shift = judged[i].shift;
		return find_figure(a, judged[i].figure);
	}
	*shift = 0;
	return find_figure(a, t->name);
}

/* A ratio threshold fires when the figure drops below it; every other
 * threshold fires at or above it. */
static bool fires_below(const char *name)
{
	size_t n = strlen(name);

	return n >= 5 && !strcmp(name + n - 5, "ratio");
}

/* The fewest decimals (at most 6) that show v as set: limits are round
 * numbers chosen by hand and should read 100 and 0.5, not 100.000000. */
static int limit_prec(double v)
{
	double a = v < 0 ? -v : v, d;
	int p;

	if (!(a < 1e12))
		return 0;
	for (p = 0; p < 6; p++, a *= 10) {
		d = a - (double)(uint64_t)(a + 0.5);
		if (d < 1e-6 && d > -1e-6)
			return p;
	}
	return 6;
}

/* printf's "%.*f" takes a negative precision as 6: keep to jsonw's 0..9 */
static int fig_prec(const struct live_figure *f)
{
	return f->prec < 0 ? 0 : f->prec > 9 ? 9 : f->prec;
}

static uint32_t nthresholds(const struct live_alert *a)
{
	return a->nthresholds < LIVE_MAX_THRESHOLDS ? a->nthresholds :
						      LIVE_MAX_THRESHOLDS;
}

static uint32_t nfigures(const struct live_alert *a)
{
	return a->nfigures < LIVE_MAX_FIGURES ? a->nfigures : LIVE_MAX_FIGURES;
}

static double alert_duration_s(const struct live_alert *a)
{
	return a->ts_ns > a->since_ns ? (double)(a->ts_ns - a->since_ns) / NSEC_PER_SEC : 0;
}

/* ---- JSON ---- */

static void json_time(struct json_writer *w, const char *name, uint64_t mono_ns,
		      int64_t mono_to_real_ns)
{
	char buf[64];

	format_rfc3339_ns(mono_to_real(mono_ns, mono_to_real_ns), buf, sizeof(buf));
	jsonw_string_field(w, name, buf);
}

static void json_addr_port(struct json_writer *w, const struct live_endpoint *ep)
{
	char addr[INET6_ADDRSTRLEN];

	ep_addr(ep, addr, sizeof(addr));
	jsonw_string_field(w, "addr", addr);
	jsonw_u64_field(w, "port", ep->port);
}

static void json_endpoint(struct json_writer *w, const char *name,
			  const struct live_endpoint *ep)
{
	jsonw_name(w, name);
	jsonw_start_object(w);
	json_addr_port(w, ep);
	jsonw_end_object(w);
}

/* pid 0 means nobody was found: null rather than a pid that looks real. */
static void json_owner(struct json_writer *w, const struct live_owner *o)
{
	size_t n = strnlen(o->comm, sizeof(o->comm));

	if (o->pid)
		jsonw_u64_field(w, "pid", o->pid);
	else
		jsonw_null_field(w, "pid");
	jsonw_name(w, "comm");
	if (!o->pid && !n)
		jsonw_null(w);
	else
		jsonw_string_len(w, o->comm, n);
}

/* Another process holding a leak's sockets: {"pid","comm"}, or null. */
static void json_also(struct json_writer *w, const struct live_owner *also)
{
	jsonw_name(w, "also_held_by");
	if (!also->pid) {
		jsonw_null(w);
		return;
	}
	jsonw_start_object(w);
	json_owner(w, also);
	jsonw_end_object(w);
}

void live_json_alert_fields(struct json_writer *w, const struct live_alert *a,
			    int64_t mono_to_real_ns)
{
	uint32_t i;

	jsonw_string_field(w, "kind", alert_kind_name(a->kind));
	jsonw_string_field(w, "state", a->ended ? "end" : "start");
	json_time(w, "ts", a->ts_ns, mono_to_real_ns);
	json_time(w, "since", a->since_ns, mono_to_real_ns);
	if (a->ended)
		jsonw_double_field(w, "duration_s", alert_duration_s(a), 1);
	jsonw_u64_field(w, "netns", a->ep.netns);

	switch (a->kind) {
	case ALERT_SYN_FLOOD:
		/* a namespace's flood no listener can be blamed for */
		if (a->ep.family)
			json_endpoint(w, "listener", &a->ep);
		else
			jsonw_null_field(w, "listener");
		break;
	case ALERT_TIMEWAIT_BUILDUP:
		jsonw_string_field(w, "side", tw_side_name(a->side));
		json_endpoint(w, a->side == TW_SIDE_CLIENT ? "destination" : "listener",
			      &a->ep);
		break;
	default:
		/* a leak is about a process; its oldest peer when known */
		if (a->ep.family)
			json_endpoint(w, "peer", &a->ep);
		break;
	}
	json_owner(w, &a->owner);
	if (a->kind == ALERT_CLOSE_WAIT_LEAK)
		json_also(w, &a->also);

	jsonw_name(w, "figures");
	jsonw_start_object(w);
	for (i = 0; i < nfigures(a); i++)
		if (a->figures[i].name)
			jsonw_double_field(w, a->figures[i].name, a->figures[i].value,
					   a->figures[i].prec);
	jsonw_end_object(w);

	jsonw_name(w, "thresholds");
	jsonw_start_object(w);
	for (i = 0; i < nthresholds(a); i++)
		if (a->thresholds[i].name)
			jsonw_double_field(w, a->thresholds[i].name, a->thresholds[i].limit,
					   limit_prec(a->thresholds[i].limit));
	jsonw_end_object(w);

	jsonw_name(w, "fired");
	jsonw_start_array(w);
	for (i = 0; i < nthresholds(a); i++)
		if (a->thresholds[i].name && a->thresholds[i].fired)
			jsonw_string(w, a->thresholds[i].name);
	jsonw_end_array(w);
}

static void json_handshakes(struct json_writer *w, const char *name,
			    const struct live_handshakes *h)
{
	jsonw_name(w, name);
	jsonw_start_object(w);
	jsonw_u64_field(w, "samples", h->samples);
	if (h->samples) {
		jsonw_double_field(w, "p50", h->p50_ms, 3);
		jsonw_double_field(w, "p90", h->p90_ms, 3);
		jsonw_double_field(w, "p99", h->p99_ms, 3);
		jsonw_double_field(w, "max", h->max_ms, 3);
	} else {
		/* no handshake: no time, rather than a time of zero */
		jsonw_null_field(w, "p50");
		jsonw_null_field(w, "p90");
		jsonw_null_field(w, "p99");
		jsonw_null_field(w, "max");
	}
	jsonw_end_object(w);
}

static void json_listener(struct json_writer *w, const struct live_listener *l)
{
	jsonw_start_object(w);
	jsonw_u64_field(w, "netns", l->ep.netns);
	json_addr_port(w, &l->ep);
	json_owner(w, &l->owner);
	jsonw_u64_field(w, "sockets", l->sockets);
	jsonw_u64_field(w, "accept_queue", l->accept_queue);
	jsonw_u64_field(w, "accept_queue_max", l->accept_queue_max);
	jsonw_u64_field(w, "backlog", l->backlog);
	jsonw_u64_field(w, "half_open", l->half_open);
	jsonw_u64_field(w, "sources", l->sources);
	jsonw_double_field(w, "syn_per_s", l->syn_per_s, 1);
	jsonw_double_field(w, "completed_per_s", l->completed_per_s, 1);
	jsonw_double_field(w, "unanswered_per_s", l->unanswered_per_s, 1);
	jsonw_double_field(w, "cookies_per_s", l->cookies_per_s, 1);
	jsonw_double_field(w, "drops_per_s", l->drops_per_s, 1);
	jsonw_double_field(w, "synack_retrans_per_s", l->synack_retrans_per_s, 1);
	jsonw_double_field(w, "completion_ratio", l->completion_ratio, 2);
	jsonw_end_object(w);
}

static void json_tw_group(struct json_writer *w, const struct live_tw_group *g)
{
	jsonw_start_object(w);
	jsonw_string_field(w, "side", tw_side_name(g->side));
	jsonw_u64_field(w, "netns", g->ep.netns);
	json_addr_port(w, &g->ep);
	jsonw_u64_field(w, "count", g->count);
	jsonw_double_field(w, "entries_per_s", g->entries_per_s, 1);
	/* local ports only run out on the side that connect()s */
	if (g->side == TW_SIDE_CLIENT) {
		jsonw_u64_field(w, "port_range", g->port_range);
		jsonw_double_field(w, "port_use", g->port_use, 3);
	} else {
		jsonw_null_field(w, "port_range");
		jsonw_null_field(w, "port_use");
	}
	jsonw_u64_field(w, "max_tw_buckets", g->max_tw_buckets);
	json_owner(w, &g->owner);
	jsonw_end_object(w);
}

static void json_close_wait(struct json_writer *w, const struct live_close_wait *c)
{
	jsonw_start_object(w);
	jsonw_u64_field(w, "netns", c->netns);
	json_owner(w, &c->owner);
	jsonw_u64_field(w, "count", c->count);
	jsonw_u64_field(w, "old", c->old);
	jsonw_double_field(w, "oldest_s", c->oldest_s, 1);
	if (c->peer.family)
		json_endpoint(w, "peer", &c->peer);
	else
		jsonw_null_field(w, "peer");
	jsonw_u64_field(w, "shared", c->shared);
	json_also(w, &c->also);
	jsonw_u64_field(w, "other_holders", c->others);
	jsonw_end_object(w);
}

static uint32_t clamp_rows(uint32_t n, uint32_t max)
{
	return n < max ? n : max;
}

void live_json_stats_fields(struct json_writer *w, const struct live_stats *s,
			    int64_t mono_to_real_ns)
{
	uint32_t i, n;

	json_time(w, "ts", s->ts_ns, mono_to_real_ns);
	jsonw_double_field(w, "interval_s", s->interval_s, 3);

	/* ss's states, ESTABLISHED through CLOSING; the kernel's NEW_SYN_RECV
	 * request socks are counted as SYN-RECV, as ss shows them */
	jsonw_name(w, "states");
	if (s->states_known) {
		jsonw_start_object(w);
		for (i = SYNFIN_TCP_ESTABLISHED; i <= SYNFIN_TCP_CLOSING; i++)
			jsonw_u64_field(w, tcp_state_name(i), s->states[i]);
		jsonw_end_object(w);
	} else {
		jsonw_null(w);
	}
	jsonw_u64_field(w, "netns_counted", s->netns);
	jsonw_u64_field(w, "netns_failed", s->netns_failed);
	jsonw_u64_field(w, "procs_unreadable", s->procs_unreadable);

	jsonw_name(w, "rates");
	jsonw_start_object(w);
	jsonw_double_field(w, "opens_active", s->opens_active_per_s, 1);
	jsonw_double_field(w, "opens_passive", s->opens_passive_per_s, 1);
	jsonw_double_field(w, "closes", s->closes_per_s, 1);
	jsonw_double_field(w, "resets_sent", s->resets_sent_per_s, 1);
	jsonw_double_field(w, "resets_received", s->resets_received_per_s, 1);
	jsonw_double_field(w, "retransmits", s->retransmits_per_s, 1);
	jsonw_double_field(w, "synack_retransmits", s->synack_retrans_per_s, 1);
	jsonw_double_field(w, "failed_opens", s->failed_opens_per_s, 1);
	jsonw_end_object(w);

	jsonw_name(w, "handshake_ms");
	jsonw_start_object(w);
	json_handshakes(w, "client", &s->hs_client);
	json_handshakes(w, "server", &s->hs_server);
	jsonw_end_object(w);

	jsonw_u64_field(w, "listeners_total", s->listeners_total);
	jsonw_name(w, "listeners");
	jsonw_start_array(w);
	n = clamp_rows(s->nlisteners, LIVE_TOP_N);
	for (i = 0; i < n; i++)
		json_listener(w, &s->listeners[i]);
	jsonw_end_array(w);

	jsonw_name(w, "time_wait");
	jsonw_start_array(w);
	n = clamp_rows(s->ntw, LIVE_TOP_N);
	for (i = 0; i < n; i++)
		json_tw_group(w, &s->tw[i]);
	jsonw_end_array(w);

	jsonw_name(w, "close_wait");
	jsonw_start_array(w);
	n = clamp_rows(s->nclose_wait, LIVE_TOP_N);
	for (i = 0; i < n; i++)
		json_close_wait(w, &s->close_wait[i]);
	jsonw_end_array(w);

	jsonw_name(w, "alerts");
	jsonw_start_array(w);
	n = clamp_rows(s->nalerts, LIVE_MAX_ALERTS);
	for (i = 0; i < n; i++) {
		jsonw_start_object(w);
		live_json_alert_fields(w, &s->alerts[i], mono_to_real_ns);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);

	jsonw_u64_field(w, "lost_total", s->lost_total);
}

/* ---- text ---- */

static void text_owner(struct tbuf *b, const struct live_owner *o)
{
	char comm[4 * SYNFIN_COMM_LEN + 1];

	if (o->pid)
		tb_printf(b, " pid %u", o->pid);
	if (live_format_comm(comm, sizeof(comm), o->comm) > 0)
		tb_printf(b, " %s", comm);
}

static void text_where(struct tbuf *b, const struct live_alert *a)
{
	char ep[INET6_ADDRSTRLEN + 16];

	live_format_endpoint(ep, sizeof(ep), &a->ep);
	switch (a->kind) {
	case ALERT_SYN_FLOOD:
		tb_printf(b, " listener %s", a->ep.family ? ep : "unknown");
		break;
	case ALERT_TIMEWAIT_BUILDUP:
		tb_printf(b, " %s side %s %s", tw_side_name(a->side),
			  a->side == TW_SIDE_CLIENT ? "destination" : "listener", ep);
		break;
	default:
		if (a->ep.family)
			tb_printf(b, " peer %s", ep);
		break;
	}
	tb_printf(b, " (netns %u)", a->ep.netns);
}

int live_format_threshold(char *buf, size_t len, const struct live_alert *a,
			  const struct live_threshold *t)
{
	const char *name = t->name ? t->name : "?";
	const char *op = fires_below(name) ? "<" : ">=";
	int prec = limit_prec(t->limit), vprec, shift;
	const struct live_figure *f = t->name ? judged_figure(a, t, &shift) : NULL;
	double v;

	if (!f)
		return snprintf(buf, len, "%s %s %.*f", name, op, prec, t->limit);
	/* the value in the limit's unit, with the figure's own precision */
	v = f->value;
	vprec = fig_prec(f);
	for (int i = 0; i < shift; i++) {
		v *= 10;
		vprec = vprec ? vprec - 1 : 0;
	}
	if (vprec > prec)
		prec = vprec;
	return snprintf(buf, len, "%s %.*f %s %.*f", name, vprec, v, op, prec,
			t->limit);
}

/* Was this figure already shown beside a fired threshold? */
static bool figure_shown(const struct live_alert *a, const struct live_figure *f)
{
	int shift;

	if (a->ended)
		return false;
	for (uint32_t i = 0; i < nthresholds(a); i++)
		if (a->thresholds[i].name && a->thresholds[i].fired &&
		    judged_figure(a, &a->thresholds[i], &shift) == f)
			return true;
	return false;
}

int live_format_alert(char *buf, size_t len, const struct live_alert *a,
		      int64_t mono_to_real_ns)
{
	char th[128];
	const char *sep;
	struct tbuf b;
	uint32_t i;

	/* no time in the line, as text rows carry none without -T; the clock
	 * offset keeps this call shaped like its JSON twin */
	(void)mono_to_real_ns;
	tb_init(&b, buf, len);
	tb_printf(&b, "ALERT %s %s", alert_kind_name(a->kind),
		  a->ended ? "END" : "START");
	text_where(&b, a);
	text_owner(&b, &a->owner);
	if (a->kind == ALERT_CLOSE_WAIT_LEAK && a->also.pid) {
		tb_printf(&b, " (also held by");
		text_owner(&b, &a->also);
		tb_printf(&b, ")");
	}
	if (a->ended) {
		tb_printf(&b, " after %.1f s", alert_duration_s(a));
	} else {
		sep = ": ";
		for (i = 0; i < nthresholds(a); i++) {
			if (!a->thresholds[i].name || !a->thresholds[i].fired)
				continue;
			live_format_threshold(th, sizeof(th), a, &a->thresholds[i]);
			tb_printf(&b, "%s%s", sep, th);
			sep = ", ";
		}
	}
	sep = " | ";
	for (i = 0; i < nfigures(a); i++) {
		const struct live_figure *f = &a->figures[i];

		if (!f->name || figure_shown(a, f))
			continue;
		tb_printf(&b, "%s%s %.*f", sep, f->name, fig_prec(f), f->value);
		sep = ", ";
	}
	return (int)b.n;
}
