// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* synfin top: each frame is built in memory from a struct live_stats and
 * put on the terminal with one write(): cursor home, every line followed by
 * "erase to end of line", "erase below" at the end. Nothing is cleared
 * first, so the screen never flashes blank between frames.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "engine.h"
#include "live_json.h"
#include "top.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define TOP_LINE_MAX 512        /* widest frame drawn; wider terminals get this */
#define TOP_LABEL_W 10          /* the summary lines' label column */
#define TOP_NOTTY_HEIGHT 10000  /* a pipe has no height: every row */
#define NSEC_PER_SEC 1000000000LL

/* Escapes, by their VT100/xterm names */
#define CSI "\033["
#define ALT_SCREEN_ON CSI "?1049h"
#define ALT_SCREEN_OFF CSI "?1049l"
#define CURSOR_HIDE CSI "?25l"
#define CURSOR_SHOW CSI "?25h"
#define CURSOR_HOME CSI "H"
#define ERASE_EOL CSI "K"
#define ERASE_BELOW CSI "J"

struct top_screen {
	int fd;                  /* frames go here */
	int key_fd;              /* keys come from here; -1: none */
	int term_fd;             /* the terminal whose termios we changed */
	bool tty;                /* fd is a terminal: escapes and alt screen */
	bool raw;                /* saved holds the termios to put back */
	struct termios saved;
	char *frame;             /* top__render's text */
	size_t frame_cap;
	char *out;               /* the same with the escapes, for one write() */
	size_t out_cap;
	int write_err;           /* the first failed write's errno: no more frames */
};

/* ---- the frame as text ---- */

/* Lines are cut at width and stop at height; the length keeps counting
 * past len so the caller learns what it would need, like snprintf. */
struct screen {
	char *buf;
	size_t len;
	size_t n;
	int width;
	int height;
	int lines;
};

static void put_bytes(struct screen *sc, const char *s, size_t n)
{
	size_t room, c;

	if (sc->n < sc->len) {
		room = sc->len - sc->n - 1;   /* one byte stays for the NUL */
		c = n < room ? n : room;
		memcpy(sc->buf + sc->n, s, c);
		sc->buf[sc->n + c] = '\0';
	}
	sc->n += n;
}

static void put_line(struct screen *sc, const char *s)
{
	size_t n = strlen(s);

	if (sc->lines >= sc->height)
		return;
	if (n > (size_t)sc->width)
		n = sc->width;
	/* no trailing blanks: ERASE_EOL does that job on screen */
	while (n && s[n - 1] == ' ')
		n--;
	put_bytes(sc, s, n);
	put_bytes(sc, "\n", 1);
	sc->lines++;
}

__attribute__((format(printf, 2, 3)))
static void line(struct screen *sc, const char *fmt, ...)
{
	char buf[TOP_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	put_line(sc, buf);
}

/* A labelled summary line whose items wrap onto indented lines, so no
 * item is cut off at a line's end; one item wider than the terminal
 * less the label (under about 40 columns) is cut like any line. */
struct flow {
	struct screen *sc;
	char buf[TOP_LINE_MAX];
	int len;
	bool items;              /* the current line holds an item */
};

static void flow_start(struct flow *f, struct screen *sc, const char *label)
{
	f->sc = sc;
	f->len = snprintf(f->buf, sizeof(f->buf), "%-*s", TOP_LABEL_W, label);
	f->items = false;
}

__attribute__((format(printf, 2, 3)))
static void flow_item(struct flow *f, const char *fmt, ...)
{
	char item[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(item, sizeof(item), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n >= (int)sizeof(item))
		n = sizeof(item) - 1;
	if (f->items && f->len + 2 + n > f->sc->width) {
		put_line(f->sc, f->buf);
		f->len = snprintf(f->buf, sizeof(f->buf), "%*s", TOP_LABEL_W, "");
		f->items = false;
	}
	f->len += snprintf(f->buf + f->len, sizeof(f->buf) - f->len, "%s%s",
			   f->items ? "  " : "", item);
	if (f->len >= (int)sizeof(f->buf))
		f->len = sizeof(f->buf) - 1;
	f->items = true;
}

static void flow_end(struct flow *f)
{
	put_line(f->sc, f->buf);
}

/* snprintf for screen text: whatever does not fit is cut, as the screen
 * edge would cut it anyway (and this keeps -Wformat-truncation quiet about
 * the cut being deliberate) */
__attribute__((format(printf, 3, 4)))
static void fmt_cut(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* At most 5 characters for rates up to 99.9M/s: 0.5 123 9999 12.3k 1.2M */
static const char *fmt_rate(char *buf, size_t len, double v)
{
	if (!(v >= 0))
		fmt_cut(buf, len, "-");
	else if (v < 9.95)
		fmt_cut(buf, len, "%.1f", v);
	else if (v < 9999.5)
		fmt_cut(buf, len, "%.0f", v);
	else if (v < 99950)
		fmt_cut(buf, len, "%.1fk", v / 1e3);
	else if (v < 999500)
		fmt_cut(buf, len, "%.0fk", v / 1e3);
	else if (v < 99.95e6)
		fmt_cut(buf, len, "%.1fM", v / 1e6);
	else
		fmt_cut(buf, len, "%.0fM", v / 1e6);
	return buf;
}

/* 12.3s 5m02s 2h03m 4d07h */
static const char *fmt_age(char *buf, size_t len, double s)
{
	unsigned long t;

	if (!(s >= 0))
		s = 0;
	if (s < 59.95) {
		fmt_cut(buf, len, "%.1fs", s);
		return buf;
	}
	t = s < 4e9 ? (unsigned long)(s + 0.5) : 4000000000UL;
	if (t < 3600)
		fmt_cut(buf, len, "%lum%02lus", t / 60, t % 60);
	else if (t < 86400)
		fmt_cut(buf, len, "%luh%02lum", t / 3600, t / 60 % 60);
	else
		fmt_cut(buf, len, "%lud%02luh", t / 86400, t / 3600 % 24);
	return buf;
}

/* "1234 nginx", "nginx", "-" */
static const char *fmt_owner(char *buf, size_t len, const struct live_owner *o)
{
	char comm[4 * SYNFIN_COMM_LEN + 1];
	int n = live_format_comm(comm, sizeof(comm), o->comm);

	if (o->pid)
		fmt_cut(buf, len, "%u%s%s", o->pid, n > 0 ? " " : "", comm);
	else
		fmt_cut(buf, len, "%s", n > 0 ? comm : "-");
	return buf;
}

static void render_summary(struct screen *sc, const struct live_stats *s,
			   int64_t mono_to_real_ns)
{
	/* ss -s's order, open to closed; CLOSE is left out: those sockets
	 * are merely unconnected */
	static const unsigned int states[] = {
		SYNFIN_TCP_ESTABLISHED, SYNFIN_TCP_SYN_SENT, SYNFIN_TCP_SYN_RECV,
		SYNFIN_TCP_FIN_WAIT1, SYNFIN_TCP_FIN_WAIT2, SYNFIN_TCP_TIME_WAIT,
		SYNFIN_TCP_CLOSE_WAIT, SYNFIN_TCP_LAST_ACK, SYNFIN_TCP_CLOSING,
		SYNFIN_TCP_LISTEN,
	};
	int64_t real = mono_to_real(s->ts_ns, mono_to_real_ns);
	time_t sec = real / NSEC_PER_SEC;
	const struct live_handshakes *hs[2] = { &s->hs_client, &s->hs_server };
	const char *side[2] = { "client", "server" };
	char when[16] = "-", nsbuf[32];
	struct flow f;
	struct tm tm;

	/* the operator's wall clock, as top shows it */
	if (localtime_r(&sec, &tm))
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	/* namespaces found but not read, only when there are some (the
	 * processes whose namespace is unknown are in the JSON only: where
	 * even CAP_SYS_PTRACE is refused, as for a sandbox's init, they
	 * would take a line for good) */
	if (s->netns_failed)
		snprintf(nsbuf, sizeof(nsbuf), "%u (%u not read)", s->netns, s->netns_failed);
	else
		snprintf(nsbuf, sizeof(nsbuf), "%u", s->netns);
	line(sc, "synfin top  %s  interval %.1fs  netns %s  lost %llu", when,
	     s->interval_s, nsbuf, (unsigned long long)s->lost_total);

	flow_start(&f, sc, "states");
	if (s->states_known)
		for (size_t i = 0; i < ARRAY_SIZE(states); i++)
			flow_item(&f, "%s %u", tcp_state_name(states[i]),
				  s->states[states[i]]);
	else
		flow_item(&f, "not counted yet");
	flow_end(&f);

	flow_start(&f, sc, "per sec");
	flow_item(&f, "active-open %.1f", s->opens_active_per_s);
	flow_item(&f, "passive-open %.1f", s->opens_passive_per_s);
	flow_item(&f, "close %.1f", s->closes_per_s);
	flow_item(&f, "rst-sent %.1f", s->resets_sent_per_s);
	flow_item(&f, "rst-recv %.1f", s->resets_received_per_s);
	flow_item(&f, "retrans %.1f", s->retransmits_per_s);
	flow_item(&f, "synack-retrans %.1f", s->synack_retrans_per_s);
	flow_item(&f, "failed-open %.1f", s->failed_opens_per_s);
	flow_end(&f);

	flow_start(&f, sc, "handshake");
	for (int i = 0; i < 2; i++) {
		if (hs[i]->samples)
			flow_item(&f, "%s n=%u p50 %.3f p90 %.3f p99 %.3f ms", side[i],
				  hs[i]->samples, hs[i]->p50_ms, hs[i]->p90_ms,
				  hs[i]->p99_ms);
		else
			flow_item(&f, "%s n=0", side[i]);
	}
	flow_end(&f);
}

/* ---- the tables ---- */

enum { T_LISTEN, T_TW, T_CW, T_ALERT, T_N };

/* Address columns widen for IPv6 rather than cut an address short. */
#define ADDR_W 21               /* "255.255.255.255:65535" */
#define KEY_W 24

struct tables {
	const struct live_stats *s;
	uint32_t rows[T_N];       /* rows there are */
	uint32_t shown[T_N];      /* rows that fit */
	bool titled[T_N];
	bool blank;               /* room for a blank line before each table */
	int addr_w[T_N];          /* the address (alerts: key) column */
};

static void alert_key(const struct live_alert *a, char *buf, size_t len)
{
	char ep[INET6_ADDRSTRLEN + 16];

	live_format_endpoint(ep, sizeof(ep), &a->ep);
	if (a->kind == ALERT_SYN_FLOOD)
		fmt_cut(buf, len, "%s", a->ep.family ? ep : "listener unknown");
	else if (a->kind == ALERT_TIMEWAIT_BUILDUP)
		fmt_cut(buf, len, "%s %s", tw_side_name(a->side), ep);
	else
		fmt_owner(buf, len, &a->owner);
}

/* Why it fired: the first fired threshold beside its figure, or else the
 * first figure. */
static void alert_figure(const struct live_alert *a, char *buf, size_t len)
{
	uint32_t nt = a->nthresholds < LIVE_MAX_THRESHOLDS ? a->nthresholds :
							     LIVE_MAX_THRESHOLDS;
	const struct live_figure *f = &a->figures[0];

	for (uint32_t i = 0; i < nt; i++) {
		if (a->thresholds[i].fired && a->thresholds[i].name) {
			live_format_threshold(buf, len, a, &a->thresholds[i]);
			return;
		}
	}
	if (a->nfigures && f->name)
		fmt_cut(buf, len, "%s %.*f", f->name,
			f->prec < 0 ? 0 : f->prec > 9 ? 9 : f->prec, f->value);
	else
		fmt_cut(buf, len, "-");
}

static int widest(int min, int n)
{
	return n > min ? n : min;
}

/* A SO_REUSEPORT group's row says how many sockets it stands for. */
static int listener_endpoint(char *buf, size_t len, const struct live_listener *l)
{
	int n = live_format_endpoint(buf, len, &l->ep);

	if (l->sockets > 1 && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, " x%u", l->sockets);
	return n;
}

static void measure(struct tables *t)
{
	const struct live_stats *s = t->s;
	char buf[TOP_LINE_MAX];

	t->addr_w[T_LISTEN] = ADDR_W;
	for (uint32_t i = 0; i < t->rows[T_LISTEN]; i++)
		t->addr_w[T_LISTEN] = widest(t->addr_w[T_LISTEN],
			listener_endpoint(buf, sizeof(buf), &s->listeners[i]));
	t->addr_w[T_TW] = ADDR_W;
	for (uint32_t i = 0; i < t->rows[T_TW]; i++)
		t->addr_w[T_TW] = widest(t->addr_w[T_TW],
			live_format_endpoint(buf, sizeof(buf), &s->tw[i].ep));
	t->addr_w[T_ALERT] = KEY_W;
	for (uint32_t i = 0; i < t->rows[T_ALERT]; i++) {
		alert_key(&s->alerts[i], buf, sizeof(buf));
		t->addr_w[T_ALERT] = widest(t->addr_w[T_ALERT], strlen(buf));
	}
}

static void table_title(const struct tables *t, int k, char *buf, size_t len)
{
	static const char *const names[T_N] = {
		[T_LISTEN] = "Listeners", [T_TW] = "TIME_WAIT",
		[T_CW] = "CLOSE_WAIT", [T_ALERT] = "Alerts",
	};
	uint32_t total = t->rows[k];

	/* the census counts every listener; the table holds the busiest */
	if (k == T_LISTEN && t->s->listeners_total > total)
		total = t->s->listeners_total;
	if (!total)
		fmt_cut(buf, len, "%s: none", names[k]);
	else if (t->shown[k] < total)
		fmt_cut(buf, len, "%s (%u of %u shown)", names[k], t->shown[k], total);
	else
		fmt_cut(buf, len, "%s (%u)", names[k], total);
}

static void table_header(const struct tables *t, int k, char *buf, size_t len)
{
	int w = t->addr_w[k];

	switch (k) {
	case T_LISTEN:
		fmt_cut(buf, len, "%-*s %-13s %9s %5s %6s %6s %6s %6s", w, "ADDR:PORT",
			 "PID COMM", "ACCQ/BLOG", "HALF", "SYN/s", "DONE/s", "COOK/s",
			 "DROP/s");
		break;
	case T_TW:
		fmt_cut(buf, len, "%-6s %-*s %7s %6s %6s  %s", "SIDE", w, "ADDR:PORT",
			 "COUNT", "NEW/s", "PORTS", "PID COMM");
		break;
	case T_CW:
		fmt_cut(buf, len, "%-20s %6s %6s %7s  %s", "PID COMM", "COUNT", "OLD",
			 "OLDEST", "PEER");
		break;
	default:
		fmt_cut(buf, len, "%-16s %-*s %6s  %s", "KIND", w, "KEY", "SINCE",
			 "FIGURE");
		break;
	}
}

static void listener_row(const struct tables *t, const struct live_listener *l,
			 char *buf, size_t len)
{
	char ep[INET6_ADDRSTRLEN + 32], own[96], q[24];
	char syn[16], done[16], cook[16], drop[16];

	listener_endpoint(ep, sizeof(ep), l);
	fmt_owner(own, sizeof(own), &l->owner);
	snprintf(q, sizeof(q), "%u/%u", l->accept_queue, l->backlog);
	fmt_cut(buf, len, "%-*s %-13.13s %9s %5u %6s %6s %6s %6s",
		 t->addr_w[T_LISTEN], ep, own, q, l->half_open,
		 fmt_rate(syn, sizeof(syn), l->syn_per_s),
		 fmt_rate(done, sizeof(done), l->completed_per_s),
		 fmt_rate(cook, sizeof(cook), l->cookies_per_s),
		 fmt_rate(drop, sizeof(drop), l->drops_per_s));
}

static void tw_row(const struct tables *t, const struct live_tw_group *g,
		   char *buf, size_t len)
{
	char ep[INET6_ADDRSTRLEN + 16], own[96], rate[16], use[16] = "-";

	live_format_endpoint(ep, sizeof(ep), &g->ep);
	fmt_owner(own, sizeof(own), &g->owner);
	/* only the connecting side runs out of local ports */
	if (g->side == TW_SIDE_CLIENT && g->port_range)
		snprintf(use, sizeof(use), "%.1f%%", g->port_use * 100);
	fmt_cut(buf, len, "%-6s %-*s %7u %6s %6s  %s", tw_side_name(g->side),
		 t->addr_w[T_TW], ep, g->count,
		 fmt_rate(rate, sizeof(rate), g->entries_per_s), use, own);
}

static void cw_row(const struct live_close_wait *c, char *buf, size_t len)
{
	char own[96], also[128] = "", age[16], peer[INET6_ADDRSTRLEN + 16] = "-";

	fmt_owner(own, sizeof(own), &c->owner);
	if (c->peer.family)
		live_format_endpoint(peer, sizeof(peer), &c->peer);
	/* ss -p would list every holder: one other here, and how many more
	 * (how many of the sockets they share is in -j's row) */
	if (c->shared) {
		char other[96], more[16] = "";

		fmt_owner(other, sizeof(other), &c->also);
		if (c->others > 1)
			snprintf(more, sizeof(more), " +%u", c->others - 1);
		snprintf(also, sizeof(also), "  also %s%s", other, more);
	}
	fmt_cut(buf, len, "%-20.20s %6u %6u %7s  %s%s", own, c->count, c->old,
		 fmt_age(age, sizeof(age), c->oldest_s), peer, also);
}

static void alert_row(const struct tables *t, const struct live_alert *a,
		      char *buf, size_t len)
{
	char key[TOP_LINE_MAX], age[16], fig[128];
	double since = t->s->ts_ns > a->since_ns ?
		       (double)(t->s->ts_ns - a->since_ns) / 1e9 : 0;

	alert_key(a, key, sizeof(key));
	alert_figure(a, fig, sizeof(fig));
	fmt_cut(buf, len, "%-16s %-*s %6s  %s", alert_kind_name(a->kind),
		 t->addr_w[T_ALERT], key, fmt_age(age, sizeof(age), since), fig);
}

static void table_row(const struct tables *t, int k, uint32_t i, char *buf,
		      size_t len)
{
	switch (k) {
	case T_LISTEN:
		listener_row(t, &t->s->listeners[i], buf, len);
		break;
	case T_TW:
		tw_row(t, &t->s->tw[i], buf, len);
		break;
	case T_CW:
		cw_row(&t->s->close_wait[i], buf, len);
		break;
	default:
		alert_row(t, &t->s->alerts[i], buf, len);
		break;
	}
}

/* Share the lines left among the tables. Everything fits: blank lines
 * between them too. Otherwise every table keeps its title, alerts first,
 * and rows are dealt out one at a time (a table's first row brings its
 * column header) so no table starves the others. */
static void allot(struct tables *t, int budget)
{
	static const int priority[T_N] = { T_ALERT, T_LISTEN, T_TW, T_CW };
	int full = 0, k, cost;
	bool progress;

	for (k = 0; k < T_N; k++)
		full += 1 + (t->rows[k] ? 1 + (int)t->rows[k] : 0);
	if (full <= budget) {
		for (k = 0; k < T_N; k++) {
			t->titled[k] = true;
			t->shown[k] = t->rows[k];
		}
		t->blank = full + T_N <= budget;
		return;
	}
	for (int p = 0; p < T_N && budget > 0; p++, budget--)
		t->titled[priority[p]] = true;
	do {
		progress = false;
		for (int p = 0; p < T_N; p++) {
			k = priority[p];
			if (!t->titled[k] || t->shown[k] >= t->rows[k])
				continue;
			cost = t->shown[k] ? 1 : 2;
			if (cost > budget)
				continue;
			t->shown[k]++;
			budget -= cost;
			progress = true;
		}
	} while (progress);
}

static void render_tables(struct screen *sc, const struct live_stats *s)
{
	struct tables t = { .s = s };
	char buf[TOP_LINE_MAX];

	t.rows[T_LISTEN] = s->nlisteners < LIVE_TOP_N ? s->nlisteners : LIVE_TOP_N;
	t.rows[T_TW] = s->ntw < LIVE_TOP_N ? s->ntw : LIVE_TOP_N;
	t.rows[T_CW] = s->nclose_wait < LIVE_TOP_N ? s->nclose_wait : LIVE_TOP_N;
	t.rows[T_ALERT] = s->nalerts < LIVE_MAX_ALERTS ? s->nalerts : LIVE_MAX_ALERTS;
	measure(&t);
	allot(&t, sc->height - sc->lines);

	for (int k = 0; k < T_N; k++) {
		if (!t.titled[k])
			continue;
		if (t.blank)
			put_line(sc, "");
		table_title(&t, k, buf, sizeof(buf));
		put_line(sc, buf);
		if (!t.shown[k])
			continue;
		table_header(&t, k, buf, sizeof(buf));
		put_line(sc, buf);
		for (uint32_t i = 0; i < t.shown[k]; i++) {
			table_row(&t, k, i, buf, sizeof(buf));
			put_line(sc, buf);
		}
	}
}

int top__render(char *buf, size_t len, const struct live_stats *s,
		int64_t mono_to_real_ns, int width, int height)
{
	struct screen sc = {
		.buf = buf,
		.len = len,
		.width = width < 1 ? 1 : width > TOP_LINE_MAX - 1 ? TOP_LINE_MAX - 1 : width,
		.height = height,
	};

	if (len)
		buf[0] = '\0';
	if (height <= 0)
		return 0;
	render_summary(&sc, s, mono_to_real_ns);
	render_tables(&sc, s);
	return (int)sc.n;
}

/* ---- the terminal ---- */

/* All of it, through EINTR (a signal only sets a flag) and short writes:
 * 0, or the errno of a write that failed. A frame a non-blocking fd has
 * no room for within a second is dropped (a terminal stopped by ^S), and
 * that is no failure: the next one draws the whole screen again. */
static int write_all(int fd, const char *p, size_t n)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	ssize_t w;

	while (n) {
		w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				int ready = poll(&pfd, 1, 1000);

				if (ready > 0 || (ready < 0 && errno == EINTR))
					continue;
				return 0;
			}
			return errno;
		}
		if (w == 0)
			return EIO;
		p += w;
		n -= w;
	}
	return 0;
}

static int reserve(char **buf, size_t *cap, size_t need)
{
	char *nb;

	if (need <= *cap)
		return 0;
	nb = realloc(*buf, need);
	if (!nb)
		return -ENOMEM;
	*buf = nb;
	*cap = need;
	return 0;
}

/* Keys without Enter and without echo, on the alternate screen with the
 * cursor hidden. ISIG stays, so Ctrl-C still raises SIGINT and the
 * caller's handler ends the loop, and Ctrl-Z SIGTSTP (top__suspend);
 * VMIN = VTIME = 0 makes read() return at once, leaving the fd's flags
 * (shared with the shell) alone. The terminal's settings are read anew
 * each time: the shell may have changed them while synfin was stopped. */
static void screen_enter(struct top_screen *t)
{
	struct termios raw;

	if (t->tty && t->key_fd >= 0 && !tcgetattr(t->key_fd, &t->saved)) {
		raw = t->saved;
		raw.c_lflag &= ~(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		if (!tcsetattr(t->key_fd, TCSANOW, &raw)) {
			t->raw = true;
			t->term_fd = t->key_fd;
		}
	}
	if (t->tty && !t->write_err)
		t->write_err = write_all(t->fd, ALT_SCREEN_ON CURSOR_HIDE,
					 sizeof(ALT_SCREEN_ON CURSOR_HIDE) - 1);
}

/* The terminal as it was: the main screen, the cursor, its settings. */
static void screen_leave(struct top_screen *t)
{
	if (t->tty && !t->write_err)
		write_all(t->fd, CURSOR_SHOW ALT_SCREEN_OFF,
			  sizeof(CURSOR_SHOW ALT_SCREEN_OFF) - 1);
	/* TCSANOW: TCSADRAIN could wait forever on a terminal stopped by ^S */
	if (t->raw)
		tcsetattr(t->term_fd, TCSANOW, &t->saved);
	t->raw = false;
}

struct top_screen *top__open(int tty_fd)
{
	struct top_screen *t = calloc(1, sizeof(*t));
	int mode;

	if (!t) {
		errno = ENOMEM;
		return NULL;
	}
	t->fd = tty_fd;
	t->key_fd = -1;
	t->term_fd = -1;
	t->tty = tty_fd >= 0 && isatty(tty_fd);
	/* keys come from the terminal we draw on when it was opened for
	 * reading too (a login's fds are), else from a terminal on stdin */
	if (t->tty) {
		mode = fcntl(tty_fd, F_GETFL);
		if (mode >= 0 && (mode & O_ACCMODE) != O_WRONLY)
			t->key_fd = tty_fd;
	}
	if (t->key_fd < 0 && isatty(STDIN_FILENO))
		t->key_fd = STDIN_FILENO;

	screen_enter(t);
	return t;
}

void top__close(struct top_screen *t)
{
	if (!t)
		return;
	screen_leave(t);
	free(t->frame);
	free(t->out);
	free(t);
}

void top__suspend(struct top_screen *t)
{
	if (t)
		screen_leave(t);
}

void top__resume(struct top_screen *t)
{
	if (t)
		screen_enter(t);
}

int top__write_error(const struct top_screen *t)
{
	return t ? t->write_err : 0;
}

int top__fd(const struct top_screen *t)
{
	return t ? t->key_fd : -1;
}

bool top__quit_requested(struct top_screen *t)
{
	struct pollfd pfd;
	char keys[64];
	bool quit = false;
	ssize_t n;

	if (!t || t->key_fd < 0)
		return false;
	pfd.fd = t->key_fd;
	pfd.events = POLLIN;
	while (!quit && poll(&pfd, 1, 0) > 0) {
		/* a hung-up terminal stays "readable" forever: stop asking it */
		if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)) {
			t->key_fd = -1;
			break;
		}
		n = read(t->key_fd, keys, sizeof(keys));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* EOF (^D on a line-mode stdin) or an error */
			if (n == 0 || errno != EAGAIN)
				t->key_fd = -1;
			break;
		}
		for (ssize_t i = 0; i < n; i++)
			if (keys[i] == 'q' || keys[i] == 'Q')
				quit = true;
	}
	return quit;
}

/* The plain frame with the escapes that redraw it in place: home, then
 * each line followed by erase-to-end-of-line, erase-below after the last. */
static size_t decorate(char *out, const char *frame, size_t n)
{
	size_t o = 0, i = 0, e;

	memcpy(out, CURSOR_HOME, sizeof(CURSOR_HOME) - 1);
	o += sizeof(CURSOR_HOME) - 1;
	while (i < n) {
		e = i;
		while (e < n && frame[e] != '\n')
			e++;
		memcpy(out + o, frame + i, e - i);
		o += e - i;
		memcpy(out + o, ERASE_EOL, sizeof(ERASE_EOL) - 1);
		o += sizeof(ERASE_EOL) - 1;
		i = e + 1;
		/* no newline after the last line: on the bottom row it would
		 * scroll the whole screen up */
		if (i < n) {
			memcpy(out + o, "\r\n", 2);
			o += 2;
		}
	}
	memcpy(out + o, ERASE_BELOW, sizeof(ERASE_BELOW) - 1);
	o += sizeof(ERASE_BELOW) - 1;
	return o;
}

void top__draw(struct top_screen *t, const struct live_stats *s,
	       int64_t mono_to_real_ns)
{
	int width = 80, height = TOP_NOTTY_HEIGHT, n;
	size_t lines = 0, need, o;
	struct winsize ws;

	if (!t || t->write_err)
		return;
	if (t->tty) {
		height = 24;
		if (!ioctl(t->fd, TIOCGWINSZ, &ws) && ws.ws_col && ws.ws_row) {
			width = ws.ws_col;
			height = ws.ws_row;
		}
		/* Leave the last column empty: a character there puts xterm in
		 * "pending wrap", and ERASE_EOL would then erase that character. */
		width--;
	}
	n = top__render(t->frame, t->frame_cap, s, mono_to_real_ns, width, height);
	if (n < 0)
		return;
	if ((size_t)n >= t->frame_cap) {
		if (reserve(&t->frame, &t->frame_cap, (size_t)n + 1))
			return;
		n = top__render(t->frame, t->frame_cap, s, mono_to_real_ns, width, height);
	}
	for (int i = 0; i < n; i++)
		lines += t->frame[i] == '\n';
	/* per line: ERASE_EOL and "\r\n"; home and erase-below once */
	need = (size_t)n + lines * (sizeof(ERASE_EOL) + 2) + sizeof(CURSOR_HOME) +
	       sizeof(ERASE_BELOW) + 2;
	if (reserve(&t->out, &t->out_cap, need))
		return;
	if (t->tty) {
		o = decorate(t->out, t->frame, n);
	} else {
		/* a pipe or a file: frames one after another, a blank line apart */
		memcpy(t->out, t->frame, n);
		t->out[n] = '\n';
		o = (size_t)n + 1;
	}
	t->write_err = write_all(t->fd, t->out, o);
}
