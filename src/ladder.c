// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* --ladder: a finished connection as a two-column ladder diagram. Each record
 * becomes a list of events (segments sent or received, states entered,
 * notes); one record alone is drawn with the far side inferred, a record and
 * its mirror are merged on their shared CLOCK_MONOTONIC time base.
 */
#include <errno.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "addr.h"
#include "clock.h"
#include "ladder.h"
#include "output.h"

#define NSEC_PER_MSEC ((uint64_t)1000000)
#define NSEC_PER_SEC  ((uint64_t)1000000000)

/* The row layout, in columns (80 in all):
 *   time(10) sp left-state(10) sp | middle(43) | sp right-state(12)
 * The left column is always a measured record, so its state names need no
 * parentheses; the right one may be inferred: "(FIN-WAIT-1)" is 12. */
#define LINE_W   80
#define TIME_W   10
#define LSTATE_W 10
#define MID_W    43
#define RSTATE_W 12
#define TEXT_W   (MID_W - 3)  /* an arrow's label: two of shaft, one head */
#define NOTE_W   (MID_W - 2)  /* a note: one space either side */

_Static_assert(TIME_W + 1 + LSTATE_W + 1 + 1 + MID_W + 1 + 1 + RSTATE_W == LINE_W,
	       "ladder rows must be exactly 80 columns wide");

struct glyphs {
	const char *shaft, *line, *rhead, *lhead, *approx, *times;
};

/* U+2500 U+2502 U+25B6 U+25C0 U+2248 U+00D7, each one column wide */
static const struct glyphs utf8_glyphs = {
	"\xe2\x94\x80", "\xe2\x94\x82", "\xe2\x96\xb6", "\xe2\x97\x80",
	"\xe2\x89\x88", "\xc3\x97",
};
static const struct glyphs ascii_glyphs = { "-", "|", ">", "<", "~", "x" };

/* ---- events: what one record says happened, from its own end ---- */

enum ev_kind { EV_SEG, EV_STATE, EV_NOTE };

enum seg { SEG_NONE, SEG_SYN, SEG_SYNACK, SEG_ACK, SEG_FIN, SEG_FINACK, SEG_RST };

struct ev {
	enum ev_kind kind;
	uint64_t t;            /* CLOCK_MONOTONIC ns; 0: not known */
	bool approx;           /* derived from another value, not measured */
	enum seg seg;
	bool ours;             /* sent by this record's end */
	const char *state;     /* state this end entered here, or NULL */
	const char *peer;      /* far end's state, inferred: drawn only alone */
	bool neutral;          /* a note about both ends: drawn once in a pair */
	char text[160];        /* arrow label, or the note / plain row text */
};

#define MAX_EV 48

struct view {
	const struct conn_record *r;
	const struct glyphs *g;
	uint64_t base;         /* the ladder's time zero, for notes */
	struct ev ev[MAX_EV];
	int n;
	int data_note;         /* index of the data-phase note, -1 if none */
	uint64_t wave_t;       /* when this end's wave (or end) began */
	/* In a pair, a server's derived SYN time lies between its client's
	 * SYN and the SYN-ACK's arrival there (0: no bound). */
	uint64_t syn_lo, syn_hi;
};

static uint64_t when(const struct conn_record *r, int state)
{
	return r->span[state].enter_ns;
}

/* Display columns of a UTF-8 string: every byte but continuation bytes. */
static int cols(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static struct ev *push(struct view *v, enum ev_kind kind, uint64_t t, bool approx)
{
	static struct ev spill; /* a full list drops the rest; it never fills */
	struct ev *e = v->n < MAX_EV ? &v->ev[v->n++] : &spill;

	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->t = t;
	e->approx = approx;
	return e;
}

/* "seq=1513407164", or "seq=?" when synfin could not read it */
static const char *num(char *buf, size_t len, const char *name, bool known, uint32_t v)
{
	if (known)
		snprintf(buf, len, "%s=%" PRIu32, name, v);
	else
		snprintf(buf, len, "%s=?", name);
	return buf;
}

/* A segment. times > 1 puts "×N" after its name when the label still fits;
 * the note under it says the same in words, so nothing is lost if not. */
static struct ev *seg(struct view *v, uint64_t t, bool approx, enum seg s, bool ours,
		      const char *state, const char *peer, const char *name,
		      uint32_t times, const char *n1, const char *n2)
{
	struct ev *e = push(v, EV_SEG, t, approx);
	char mark[24] = "";

	e->seg = s;
	e->ours = ours;
	e->state = state;
	e->peer = peer;
	if (times > 1)
		snprintf(mark, sizeof(mark), " %s%" PRIu32, v->g->times, times);
	snprintf(e->text, sizeof(e->text), "%s%s%s%s%s%s", name, mark,
		 n1 ? " " : "", n1 ? n1 : "", n2 ? " " : "", n2 ? n2 : "");
	if (cols(e->text) > TEXT_W)
		snprintf(e->text, sizeof(e->text), "%s%s%s%s%s", name,
			 n1 ? " " : "", n1 ? n1 : "", n2 ? " " : "", n2 ? n2 : "");
	return e;
}

static struct ev *state(struct view *v, uint64_t t, const char *st, const char *peer)
{
	struct ev *e = push(v, EV_STATE, t, false);

	e->state = st;
	e->peer = peer;
	return e;
}

/* A note sorts at the time of the event before it (or at t if given). */
__attribute__((format(printf, 4, 5)))
static void note(struct view *v, uint64_t t, bool neutral, const char *fmt, ...)
{
	uint64_t prev = v->n ? v->ev[v->n - 1].t : 0;
	struct ev *e = push(v, EV_NOTE, t ? t : prev, false);
	va_list ap;

	e->neutral = neutral;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
}

/* "+60.013 s" after the ladder's time zero */
static void rel_secs(char *buf, size_t len, uint64_t t, uint64_t base)
{
	uint64_t ms = (t > base ? t - base : base - t) / NSEC_PER_MSEC;

	snprintf(buf, len, "%s%" PRIu64 ".%03" PRIu64 " s", t >= base ? "+" : "-",
		 ms / 1000, ms % 1000);
}

static const char *err_name(int err)
{
	switch (err) {
	case ECONNREFUSED: return "ECONNREFUSED";
	case ECONNRESET:   return "ECONNRESET";
	case ECONNABORTED: return "ECONNABORTED";
	case ETIMEDOUT:    return "ETIMEDOUT";
	case EPIPE:        return "EPIPE";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case ENETUNREACH:  return "ENETUNREACH";
	case EPROTO:       return "EPROTO";
	default:           return NULL;
	}
}

static void err_note(struct view *v)
{
	int err = v->r->close.err;

	if (!err)
		return;
	if (err_name(err))
		note(v, 0, false, "socket error %s", err_name(err));
	else
		note(v, 0, false, "socket error %d", err);
}

static void retrans_note(struct view *v, const char *what, uint32_t retrans)
{
	if (retrans)
		note(v, 0, false, "%s sent %" PRIu32 " times (%" PRIu32 " retransmit%s)",
		     what, retrans + 1, retrans, retrans == 1 ? "" : "s");
}

/* The server's SYN: the request sock that answered it is invisible to
 * synfin, but handshake.ms of a server is the kernel's first RTT sample,
 * SYN-ACK sent to final ACK, and the SYN-ACK left as the SYN came in. */
static uint64_t server_syn_time(const struct conn_record *r, uint64_t lo, uint64_t hi)
{
	uint64_t est = when(r, SYNFIN_TCP_ESTABLISHED);
	uint64_t d, t;

	if (!est || !(r->handshake.ms >= 0))
		return 0;
	/* one longer than the clock has run (a bad record) ends at est, and
	 * its conversion, past 2^64 ns, would be undefined */
	d = r->handshake.ms * 1e6 < (double)est ? (uint64_t)(r->handshake.ms * 1e6 + 0.5) : est;
	t = d < est ? est - d : est;
	/* The RTT sample can fall short of SYN-ACK to final ACK (taken from
	 * a timestamp echo, or rounded) or exceed it: derived, it must not
	 * put the SYN's arrival after the SYN-ACK reached the client, nor
	 * before the client sent it. Strictly between, 1 ns off, so that the
	 * rows keep their causal order where the times would tie. */
	if (hi && t >= hi)
		t = hi - 1;
	if (lo && t <= lo)
		t = lo + 1;
	return t;
}

static enum conn_role eff_role(const struct conn_record *r)
{
	if (r->role != ROLE_UNKNOWN)
		return r->role;
	if (when(r, SYNFIN_TCP_SYN_SENT))
		return ROLE_CLIENT;
	if (when(r, SYNFIN_TCP_SYN_RECV))
		return ROLE_SERVER;
	return ROLE_UNKNOWN;
}

static bool server_open(const struct conn_record *r)
{
	return eff_role(r) == ROLE_SERVER && !r->handshake.simultaneous_open &&
	       r->handshake.result != HS_NOT_SEEN;
}

/* The connection's first instant: the earliest state entry, start_ns, or
 * a server's derived SYN time. 0 if none is known. */
static uint64_t first_instant(const struct conn_record *r, uint64_t syn_lo, uint64_t syn_hi)
{
	uint64_t t = r->start_ns, s;

	for (int i = 0; i < SYNFIN_TCP_MAX_STATES; i++) {
		s = r->span[i].enter_ns;
		if (s && (!t || s < t))
			t = s;
	}
	s = server_open(r) ? server_syn_time(r, syn_lo, syn_hi) : 0;
	if (s && (!t || s < t))
		t = s;
	return t;
}

/* The end: how the connection closed when no orderly wave finished it. */
static void terminal(struct view *v, uint64_t tend)
{
	const struct conn_record *r = v->r;
	const char *cause;
	char buf[40];

	switch (r->close.how) {
	case HOW_RST_SENT:
		cause = rst_cause_name(r->close.rst_cause);
		if (cause)
			snprintf(buf, sizeof(buf), "(%s)", cause);
		seg(v, tend, false, SEG_RST, true, "CLOSE", "CLOSE", "RST", 1,
		    cause ? buf : NULL, NULL);
		switch (r->close.rst_cause) {
		case RST_CAUSE_LINGER0:
			note(v, 0, false, "SO_LINGER 0: close() aborts with a RST");
			break;
		case RST_CAUSE_UNREAD_DATA:
			note(v, 0, false, "close() with unread data: the kernel resets");
			break;
		case RST_CAUSE_LISTENER_CLOSED:
			note(v, 0, false, "never accept()ed: its listener closed");
			break;
		case RST_CAUSE_KILLED:
			note(v, 0, false, "killed from outside (ss -K)");
			break;
		case RST_CAUSE_AFTER_CLOSE:
			note(v, 0, false, "the peer sent on after close(): its tw sock resets");
			break;
		default:
			break;
		}
		break;
	case HOW_RST_RECEIVED:
		seg(v, tend, false, SEG_RST, false, "CLOSE", "CLOSE", "RST", 1, NULL, NULL);
		break;
	case HOW_TIMEOUT:
		snprintf(state(v, tend, "CLOSE", NULL)->text, sizeof(v->ev[0].text),
			 "gave up: retransmissions timed out");
		break;
	case HOW_FIN:
	case HOW_NONE:
		state(v, tend, "CLOSE", NULL);
		break;
	default:
		snprintf(state(v, tend, "CLOSE", NULL)->text, sizeof(v->ev[0].text),
			 "went away; how it closed was not seen");
		break;
	}
	err_note(v);
}

/* A handshake that neither completed nor was refused or timed out: the
 * engine says HS_RESET when a RST (or an error) ended it, which is the
 * peer's doing; HS_ABORTED when this end closed first. */
static void handshake_failed(struct view *v, uint64_t tend)
{
	if (v->r->handshake.result == HS_RESET) {
		seg(v, tend, false, SEG_RST, false, "CLOSE", "CLOSE", "RST", 1, NULL, NULL);
		note(v, 0, false, "reset during the handshake");
		err_note(v);
		return;
	}
	terminal(v, tend);
	note(v, 0, false, "closed before the handshake completed");
}

/* The handshake of connect(). Returns true when it got established. */
static bool client_open(struct view *v, uint64_t tend)
{
	const struct conn_record *r = v->r;
	bool kl = r->handshake.isn_local_known, kr = r->handshake.isn_remote_known;
	uint32_t il = r->handshake.isn_local, ir = r->handshake.isn_remote;
	uint64_t test = when(r, SYNFIN_TCP_ESTABLISHED);
	enum handshake_result res = r->handshake.result;
	char a[24], b[24];

	seg(v, when(r, SYNFIN_TCP_SYN_SENT), false, SEG_SYN, true, "SYN-SENT",
	    res == HS_ESTABLISHED || res == HS_RESET ? "SYN-RECV" : NULL, "SYN",
	    1 + r->handshake.syn_retrans, num(a, sizeof(a), "seq", kl, il), NULL);
	retrans_note(v, "SYN", r->handshake.syn_retrans);
	if (test || res == HS_ESTABLISHED) {
		/* tcp_finish_connect() sets ESTABLISHED, then the ACK goes */
		seg(v, test, false, SEG_SYNACK, false, "ESTAB", NULL, "SYN-ACK", 1,
		    num(a, sizeof(a), "seq", kr, ir), num(b, sizeof(b), "ack", kl, il + 1));
		seg(v, test, false, SEG_ACK, true, NULL, "ESTAB", "ACK", 1,
		    num(a, sizeof(a), "ack", kr, ir + 1), NULL);
	}
	switch (res) {
	case HS_ESTABLISHED:
		return true;
	case HS_REFUSED:
		/* the RST answering a SYN acks it: ack = ISN + 1 */
		seg(v, tend, false, SEG_RST, false, "CLOSE", NULL, "RST", 1,
		    num(a, sizeof(a), "ack", kl, il + 1), NULL);
		if (r->close.err == ECONNREFUSED) {
			note(v, 0, false, "connection refused (ECONNREFUSED)");
		} else {
			note(v, 0, false, "connection refused");
			err_note(v);
		}
		return false;
	case HS_TIMEOUT:
		snprintf(state(v, tend, "CLOSE", NULL)->text, sizeof(v->ev[0].text),
			 "no answer: connect() timed out");
		err_note(v);
		return false;
	case HS_UNREACHABLE:
		snprintf(state(v, tend, "CLOSE", NULL)->text, sizeof(v->ev[0].text),
			 "unreachable: an ICMP error ended connect()");
		err_note(v);
		return false;
	default:
		handshake_failed(v, tend);
		return false;
	}
}

/* The handshake as a listener's child saw it. */
static bool server_open_view(struct view *v, uint64_t tend)
{
	const struct conn_record *r = v->r;
	bool kl = r->handshake.isn_local_known, kr = r->handshake.isn_remote_known;
	uint32_t il = r->handshake.isn_local, ir = r->handshake.isn_remote;
	uint64_t tsyn = server_syn_time(r, v->syn_lo, v->syn_hi);
	bool ok = r->handshake.result == HS_ESTABLISHED;
	char a[24], b[24];

	seg(v, tsyn, true, SEG_SYN, false, "SYN-RECV", "SYN-SENT", "SYN", 1,
	    num(a, sizeof(a), "seq", kr, ir), NULL);
	seg(v, tsyn, true, SEG_SYNACK, true, NULL, ok ? "ESTAB" : NULL, "SYN-ACK",
	    1 + r->handshake.synack_retrans, num(a, sizeof(a), "seq", kl, il),
	    num(b, sizeof(b), "ack", kr, ir + 1));
	retrans_note(v, "SYN-ACK", r->handshake.synack_retrans);
	if (ok) {
		seg(v, when(r, SYNFIN_TCP_ESTABLISHED), false, SEG_ACK, false, "ESTAB",
		    NULL, "ACK", 1, num(a, sizeof(a), "ack", kl, il + 1), NULL);
		return true;
	}
	handshake_failed(v, tend);
	return false;
}

/* Both ends connect()ed to each other: SYN_SENT -> SYN_RECV -> ESTABLISHED. */
static bool simultaneous_open(struct view *v, uint64_t tend)
{
	const struct conn_record *r = v->r;
	bool kl = r->handshake.isn_local_known, kr = r->handshake.isn_remote_known;
	uint32_t il = r->handshake.isn_local, ir = r->handshake.isn_remote;
	uint64_t trecv = when(r, SYNFIN_TCP_SYN_RECV);
	char a[24], b[24];

	seg(v, when(r, SYNFIN_TCP_SYN_SENT), false, SEG_SYN, true, "SYN-SENT", NULL,
	    "SYN", 1 + r->handshake.syn_retrans, num(a, sizeof(a), "seq", kl, il), NULL);
	retrans_note(v, "SYN", r->handshake.syn_retrans);
	seg(v, trecv, false, SEG_SYN, false, "SYN-RECV", "SYN-SENT", "SYN", 1,
	    num(a, sizeof(a), "seq", kr, ir), NULL);
	seg(v, trecv, false, SEG_SYNACK, true, NULL, "SYN-RECV", "SYN-ACK", 1,
	    num(a, sizeof(a), "seq", kl, il), num(b, sizeof(b), "ack", kr, ir + 1));
	note(v, 0, true, "simultaneous open: the two SYNs crossed");
	if (r->handshake.result == HS_ESTABLISHED) {
		seg(v, when(r, SYNFIN_TCP_ESTABLISHED), false, SEG_SYNACK, false, "ESTAB",
		    "ESTAB", "SYN-ACK", 1, num(a, sizeof(a), "seq", kr, ir),
		    num(b, sizeof(b), "ack", kl, il + 1));
		return true;
	}
	handshake_failed(v, tend);
	return false;
}

static void tw_note(struct view *v)
{
	const struct conn_record *r = v->r;
	char at[32], ex[64] = "";

	if (r->tw.kind != TW_KIND_TIME_WAIT)
		return;
	if (r->tw.exit != TW_EXIT_NONE && r->tw.exit_ns) {
		rel_secs(at, sizeof(at), r->tw.exit_ns, v->base);
		note(v, 0, false, "2MSL; left at %s (%s)", at, tw_exit_name(r->tw.exit));
		return;
	}
	if (r->tw.expire_ns) {
		rel_secs(at, sizeof(at), r->tw.expire_ns, v->base);
		snprintf(ex, sizeof(ex), ", leaves at %s", at);
	}
	note(v, 0, false, "2MSL%s (%s)", ex, r->tw.measured ? "measured" : "inferred");
}

/* When a reset ended an orphan's tw sock, after the socket's CLOSE: the
 * engine held the record for that end, and FIN-WAIT-2 ran until it. 0 if
 * no reset did. */
static uint64_t orphan_reset_time(const struct conn_record *r, uint64_t tend)
{
	uint64_t left = r->span[SYNFIN_TCP_FIN_WAIT2].leave_ns;
	bool rst = r->close.how == HOW_RST_SENT || r->close.how == HOW_RST_RECEIVED;

	return rst && r->tw.kind == TW_KIND_FIN_WAIT2 && tend && left > tend ? left : 0;
}

/* reset: a reset ended the tw sock before its expiry, which is not said */
static void orphan_text(struct view *v, struct ev *e, bool reset)
{
	const struct conn_record *r = v->r;
	char at[32] = "";

	if (reset) {
		snprintf(e->text, sizeof(e->text),
			 "orphaned: its tw sock waits in FIN-WAIT-2 for the peer's FIN");
		return;
	}
	if (r->tw.expire_ns)
		rel_secs(at, sizeof(at), r->tw.expire_ns, v->base);
	snprintf(e->text, sizeof(e->text),
		 "orphaned: waits in FIN-WAIT-2 for the peer's FIN up to "
		 "tcp_fin_timeout%s%s (%s)", at[0] ? ", leaves at " : "", at,
		 r->tw.measured ? "measured" : "inferred");
}

/* The peer's FIN arriving in FIN-WAIT-2 (or with the ACK of ours, straight
 * from FIN-WAIT-1): the tw sock is born and we ACK. */
static void peer_fin_last(struct view *v, uint64_t t, const char *ack)
{
	const struct conn_record *r = v->r;
	const char *left = r->tw.kind == TW_KIND_TIME_WAIT ? "TIME-WAIT" : "CLOSE";
	char a[24], b[24];

	seg(v, t, false, SEG_FIN, false, left, "LAST-ACK", "FIN", 1,
	    num(a, sizeof(a), "seq", remote_fin_seq_known(r), r->wave.remote_fin_seq), ack);
	seg(v, t, false, SEG_FINACK, true, NULL, "CLOSE", "ACK", 1,
	    num(b, sizeof(b), "ack", remote_fin_seq_known(r), r->wave.remote_fin_seq + 1),
	    NULL);
	tw_note(v);
}

/* The four-way wave (or what replaced it), from span[] and wave. */
static void wave(struct view *v, uint64_t tend)
{
	const struct conn_record *r = v->r;
	uint64_t fw1 = when(r, SYNFIN_TCP_FIN_WAIT1), fw2 = when(r, SYNFIN_TCP_FIN_WAIT2);
	uint64_t cw = when(r, SYNFIN_TCP_CLOSE_WAIT), la = when(r, SYNFIN_TCP_LAST_ACK);
	uint64_t cl = when(r, SYNFIN_TCP_CLOSING), ttw = when(r, SYNFIN_TCP_TIME_WAIT);
	uint64_t treset = orphan_reset_time(r, tend);
	/* rk: the peer's FIN came; rs: and its number is known */
	bool lk = r->wave.local_fin, rk = r->wave.remote_fin, rs = remote_fin_seq_known(r);
	uint32_t lf = r->wave.local_fin_seq, rf = r->wave.remote_fin_seq;
	bool fin = r->close.how == HOW_FIN;
	char a[24], b[24];

	if (!ttw)
		ttw = tend;
	if (fw1) {
		/* we closed first */
		seg(v, fw1, false, SEG_FIN, true, "FIN-WAIT-1", cl ? "FIN-WAIT-1" : "CLOSE-WAIT",
		    "FIN", 1 + r->wave.fin_retrans, num(a, sizeof(a), "seq", lk, lf), NULL);
		retrans_note(v, "FIN", r->wave.fin_retrans);
		if (cl) {
			seg(v, cl, false, SEG_FIN, false, "CLOSING", "CLOSING", "FIN", 1,
			    num(a, sizeof(a), "seq", rs, rf), NULL);
			seg(v, cl, false, SEG_FINACK, true, NULL, "TIME-WAIT", "ACK", 1,
			    num(a, sizeof(a), "ack", rs, rf + 1), NULL);
			note(v, 0, true, "simultaneous close: the two FINs crossed");
			if (fin) {
				seg(v, ttw, false, SEG_FINACK, false,
				    r->tw.kind == TW_KIND_TIME_WAIT ? "TIME-WAIT" : "CLOSE",
				    NULL, "ACK", 1, num(a, sizeof(a), "ack", lk, lf + 1), NULL);
				tw_note(v);
				return;
			}
		} else if (fw2 && !r->wave.fin_ack_merged) {
			seg(v, fw2, false, SEG_FINACK, false, "FIN-WAIT-2", NULL, "ACK", 1,
			    num(a, sizeof(a), "ack", lk, lf + 1), NULL);
			if (fin && (rk || r->tw.kind == TW_KIND_TIME_WAIT)) {
				/* an orphan's tw sock that got the FIN later */
				if (ttw > tend && tend)
					orphan_text(v, state(v, tend, NULL, NULL), false);
				peer_fin_last(v, ttw, NULL);
				return;
			}
			if (fin && r->tw.kind == TW_KIND_FIN_WAIT2) {
				orphan_text(v, state(v, tend, NULL, "CLOSE-WAIT"), false);
				return;
			}
			if (treset) {
				/* the reset came to (or from) its tw sock later */
				orphan_text(v, state(v, tend, NULL, "CLOSE-WAIT"), true);
				terminal(v, treset);
				return;
			}
		} else if (fin && rk) {
			/* the peer's FIN carried the ACK of ours (FIN-WAIT-2
			 * lasted while the one segment was taken in) */
			peer_fin_last(v, ttw, num(b, sizeof(b), "ack", lk, lf + 1));
			return;
		}
	} else if (cw) {
		/* the peer closed first */
		bool merged = la && r->wave.fin_ack_merged;

		seg(v, cw, false, SEG_FIN, false, "CLOSE-WAIT", "FIN-WAIT-1", "FIN", 1,
		    num(a, sizeof(a), "seq", rs, rf), NULL);
		/* unless our FIN took the ACK along, one segment */
		if (!merged)
			seg(v, cw, false, SEG_FINACK, true, NULL, "FIN-WAIT-2", "ACK", 1,
			    num(a, sizeof(a), "ack", rs, rf + 1), NULL);
		if (la) {
			seg(v, la, false, SEG_FIN, true, "LAST-ACK", "TIME-WAIT", "FIN",
			    1 + r->wave.fin_retrans, num(a, sizeof(a), "seq", lk, lf),
			    merged ? num(b, sizeof(b), "ack", rs, rf + 1) : NULL);
			retrans_note(v, "FIN", r->wave.fin_retrans);
			if (fin) {
				seg(v, tend, false, SEG_FINACK, false, "CLOSE", NULL, "ACK", 1,
				    num(a, sizeof(a), "ack", lk, lf + 1), NULL);
				err_note(v);
				return;
			}
		}
	}
	terminal(v, tend);
}

static void build(struct view *v)
{
	const struct conn_record *r = v->r;
	uint64_t tend = when(r, SYNFIN_TCP_CLOSE);
	uint64_t next;
	bool est;

	if (!tend)
		tend = r->end_ns;
	if (r->handshake.simultaneous_open) {
		est = simultaneous_open(v, tend);
	} else if (r->handshake.result == HS_NOT_SEEN || eff_role(r) == ROLE_UNKNOWN) {
		state(v, when(r, SYNFIN_TCP_ESTABLISHED) ? when(r, SYNFIN_TCP_ESTABLISHED) :
		      r->start_ns, "ESTAB", "ESTAB");
		note(v, 0, false, r->seeded ? "open before synfin started: handshake not seen" :
		     "handshake not seen");
		est = true;
	} else if (eff_role(r) == ROLE_CLIENT) {
		est = client_open(v, tend);
	} else {
		est = server_open_view(v, tend);
	}
	if (!est)
		return;

	/* the data phase in one line, placed just before the wave */
	next = when(r, SYNFIN_TCP_FIN_WAIT1);
	if (!next)
		next = when(r, SYNFIN_TCP_CLOSE_WAIT);
	if (!next)
		next = tend;
	v->wave_t = next;
	v->data_note = v->n;
	if (r->bytes_known && r->wave.data_retrans)
		note(v, next, true, "data: %" PRIu64 " B sent, %" PRIu64 " B received, "
		     "%" PRIu32 " retransmit%s", r->bytes_sent, r->bytes_received,
		     r->wave.data_retrans, r->wave.data_retrans == 1 ? "" : "s");
	else if (r->bytes_known)
		note(v, next, true, "data: %" PRIu64 " B sent, %" PRIu64 " B received",
		     r->bytes_sent, r->bytes_received);
	else if (r->wave.data_retrans)
		note(v, next, true, "data: %" PRIu32 " retransmit%s", r->wave.data_retrans,
		     r->wave.data_retrans == 1 ? "" : "s");
	else
		v->data_note = -1;
	wave(v, tend);
}

/* ---- rows: what is drawn ---- */

struct row {
	uint64_t t;            /* 0: no time shown */
	bool approx;
	const char *lab[2];    /* state entered, left and right */
	bool inferred[2];
	int dir;               /* +1 left to right, -1 right to left, 0 no arrow */
	enum seg seg;          /* with dir: the segment's kind and sender side */
	int from;
	bool sender_text;      /* text came from the sender's record */
	bool note;             /* a note: no time, no states */
	int side;              /* which record a note or plain text is about */
	const char *text;
};

#define MAX_ROWS (2 * MAX_EV + 8)

struct ladder_draw {
	FILE *out;
	const struct glyphs *g;
	uint64_t base;
	struct row row[MAX_ROWS];
	int n;
	bool any_approx, any_inferred;
};

static struct row *add_row(struct ladder_draw *d)
{
	static struct row spill;
	struct row *w = d->n < MAX_ROWS ? &d->row[d->n++] : &spill;

	memset(w, 0, sizeof(*w));
	return w;
}

/* "+0.066" ms after time zero; "≈" first when derived. Past TIME_W
 * columns, tenths of seconds, then seconds, each marked "s", then hours
 * and days (a connection held open for months), so the unit always
 * fits: cut, 200000000s read as ms. */
static void fmt_time(const struct ladder_draw *d, uint64_t t, bool approx,
		     char *buf, size_t len)
{
	const char *mark = approx ? d->g->approx : "";
	const char *sign = t >= d->base ? "+" : "-";
	uint64_t ns = t >= d->base ? t - d->base : d->base - t;
	uint64_t us = ns / 1000;

	buf[0] = '\0';
	if (!t)
		return;
	snprintf(buf, len, "%s%s%" PRIu64 ".%03" PRIu64, mark, sign, us / 1000, us % 1000);
	if (cols(buf) <= TIME_W)
		return;
	snprintf(buf, len, "%s%s%" PRIu64 ".%" PRIu64 "s", mark, sign,
		 ns / NSEC_PER_SEC, ns / (NSEC_PER_SEC / 10) % 10);
	if (cols(buf) <= TIME_W)
		return;
	snprintf(buf, len, "%s%s%" PRIu64 "s", mark, sign, ns / NSEC_PER_SEC);
	if (cols(buf) <= TIME_W)
		return;
	snprintf(buf, len, "%s%s%" PRIu64 "h", mark, sign, ns / NSEC_PER_SEC / 3600);
	if (cols(buf) <= TIME_W)
		return;
	snprintf(buf, len, "%s%s%" PRIu64 "d", mark, sign, ns / NSEC_PER_SEC / 86400);
}

static bool same_time(const struct ladder_draw *d, const struct row *w,
		      uint64_t t, bool approx)
{
	char a[48], b[48];

	fmt_time(d, w->t, w->approx, a, sizeof(a));
	fmt_time(d, t, approx, b, sizeof(b));
	return a[0] && !strcmp(a, b);
}

static void rows_alone(struct ladder_draw *d, const struct view *v)
{
	for (int i = 0; i < v->n; i++) {
		const struct ev *e = &v->ev[i];
		struct row *w = add_row(d);

		w->text = e->text[0] ? e->text : NULL;
		if (e->kind == EV_NOTE) {
			w->note = true;
			continue;
		}
		w->t = e->t;
		w->approx = e->approx;
		w->lab[0] = e->state;
		w->lab[1] = e->peer;
		w->inferred[1] = true;
		if (e->kind == EV_SEG) {
			w->dir = e->ours ? 1 : -1;
			w->seg = e->seg;
		}
	}
}

/* Two records on one time base: each segment is one arrow, drawn when it
 * was sent; the receiver's state goes on that row if it shows the same
 * time, else on a row of its own. Ties go to the left record. */
static void rows_pair(struct ladder_draw *d, const struct view *v[2], bool isn_ok)
{
	uint64_t key[2] = { d->base, d->base };
	int i[2] = { 0, 0 };

	while (i[0] < v[0]->n || i[1] < v[1]->n) {
		int s, k, from;
		const struct ev *e;
		struct row *w;

		/* a record's events are in order; one with no time keeps the
		 * place of the one before it */
		for (s = 0; s < 2; s++)
			if (i[s] < v[s]->n && v[s]->ev[i[s]].t)
				key[s] = v[s]->ev[i[s]].t;
		s = i[1] >= v[1]->n || (i[0] < v[0]->n && key[0] <= key[1]) ? 0 : 1;
		e = &v[s]->ev[i[s]++];

		if (e->kind == EV_NOTE) {
			if (s == 1 && e->neutral)
				continue;
			w = add_row(d);
			w->note = true;
			w->side = s;
			w->text = e->text;
			continue;
		}
		if (e->kind == EV_STATE) {
			w = add_row(d);
			w->t = e->t;
			w->approx = e->approx;
			w->lab[s] = e->state;
			w->side = s;
			w->text = e->text[0] ? e->text : NULL;
			continue;
		}
		from = e->ours ? s : 1 - s;
		for (k = d->n - 1; k >= 0; k--)
			if (d->row[k].dir && d->row[k].seg == e->seg && d->row[k].from == from)
				break;
		if (k < 0) {
			w = add_row(d);
			w->t = e->t;
			w->approx = e->approx;
			w->lab[s] = e->state;
			w->dir = from == 0 ? 1 : -1;
			w->seg = e->seg;
			w->from = from;
			w->text = e->text;
			w->sender_text = e->ours;
			continue;
		}
		/* the other half of a segment already drawn: the sender's label
		 * wins (it has the retransmit mark), ours if the ISNs disagree */
		w = &d->row[k];
		if ((isn_ok && e->ours && !w->sender_text) || (!isn_ok && s == 0)) {
			w->text = e->text;
			w->sender_text = e->ours;
		}
		if (!e->state)
			continue;
		if (!w->lab[s] && same_time(d, w, e->t, e->approx)) {
			w->lab[s] = e->state;
			continue;
		}
		w = add_row(d);
		w->t = e->t;
		w->approx = e->approx;
		w->lab[s] = e->state;
	}

	/* A state on a row of its own goes onto the next row's arrow when
	 * that shows the same time: the state an end entered, then sent from. */
	for (int r = 0; r + 1 < d->n; r++) {
		struct row *w = &d->row[r], *nx = &d->row[r + 1];
		int s = w->lab[0] ? 0 : 1;

		if (w->dir || w->note || w->text || !w->lab[s] || w->lab[1 - s] ||
		    !nx->dir || nx->lab[s] || !same_time(d, nx, w->t, w->approx))
			continue;
		nx->lab[s] = w->lab[s];
		memmove(w, nx, (d->n - r - 1) * sizeof(*w));
		d->n--;
	}
}

/* ---- output ---- */

/* Append s, at most w columns of it, padded with spaces to w if pad. */
static void cell(char *line, size_t *n, size_t cap, const char *s, int w, bool pad)
{
	int c = 0;

	for (; s && *s; s++) {
		bool lead = ((unsigned char)*s & 0xc0) != 0x80;

		if (lead && c == w)
			break;
		if (*n + 1 >= cap)
			break;
		line[(*n)++] = *s;
		c += lead;
	}
	for (; pad && c < w && *n + 1 < cap; c++)
		line[(*n)++] = ' ';
	line[*n] = '\0';
}

static void put_line(FILE *out, char *line, size_t n)
{
	while (n && line[n - 1] == ' ')
		n--;
	line[n++] = '\n';
	fwrite(line, 1, n, out);
}

static void label(char *buf, size_t len, const char *s, bool inferred)
{
	if (!s)
		buf[0] = '\0';
	else
		snprintf(buf, len, inferred ? "(%s)" : "%s", s);
}

/* One row: time, left state, the middle (exactly MID_W columns), right state. */
static void emit(struct ladder_draw *d, const char *time, const char *l,
		 const char *mid, const char *r)
{
	char line[1024];
	size_t n = 0;

	line[0] = '\0';
	cell(line, &n, sizeof(line), time, TIME_W, true);
	cell(line, &n, sizeof(line), " ", 1, true);
	cell(line, &n, sizeof(line), l, LSTATE_W, true);
	cell(line, &n, sizeof(line), " ", 1, true);
	cell(line, &n, sizeof(line), d->g->line, 1, false);
	cell(line, &n, sizeof(line), mid, MID_W, true);
	cell(line, &n, sizeof(line), d->g->line, 1, false);
	if (r && *r) {
		cell(line, &n, sizeof(line), " ", 1, true);
		cell(line, &n, sizeof(line), r, RSTATE_W, false);
	}
	put_line(d->out, line, n);
}

static void repeat(char *buf, size_t len, size_t *n, const char *s, int times)
{
	for (int i = 0; i < times; i++)
		*n += snprintf(buf + *n, *n < len ? len - *n : 0, "%s", s);
}

static void arrow(const struct ladder_draw *d, const struct row *w, char *buf, size_t len)
{
	const struct glyphs *g = d->g;
	char text[TEXT_W * 4 + 1];
	size_t n = 0, tn = 0;
	int fill;

	cell(text, &tn, sizeof(text), w->text, TEXT_W, false);
	fill = MID_W - 3 - cols(text);
	buf[0] = '\0';
	if (w->dir > 0) {
		repeat(buf, len, &n, g->shaft, 2);
		repeat(buf, len, &n, text, 1);
		repeat(buf, len, &n, g->shaft, fill);
		repeat(buf, len, &n, g->rhead, 1);
	} else {
		repeat(buf, len, &n, g->lhead, 1);
		repeat(buf, len, &n, g->shaft, 2);
		repeat(buf, len, &n, text, 1);
		repeat(buf, len, &n, g->shaft, fill);
	}
}

/* Cut s into lines of at most w columns at spaces (mid-word only when a
 * word is longer than a line). Returns the number of lines. */
static int wrap(const char *s, int w, char out[][NOTE_W * 4 + 1], int max)
{
	int lines = 0;

	while (*s == ' ')
		s++;
	while (*s && lines < max) {
		const char *p = s, *cut = NULL;
		int c = 0;
		size_t len;

		for (; *p; p++) {
			bool lead = ((unsigned char)*p & 0xc0) != 0x80;

			if (lead && c == w)
				break;
			if (*p == ' ')
				cut = p;
			c += lead;
		}
		if (!*p || !cut)
			cut = p;
		len = cut - s;
		if (len > NOTE_W * 4)
			len = NOTE_W * 4;
		memcpy(out[lines], s, len);
		out[lines][len] = '\0';
		lines++;
		s = cut;
		while (*s == ' ')
			s++;
	}
	return lines;
}

/* Text in the middle: left-aligned, or right-aligned for the right record. */
static void mid_text(const char *text, int side, char *buf, size_t len)
{
	int pad = side ? MID_W - 1 - cols(text) : 1;
	size_t n = 0;

	buf[0] = '\0';
	cell(buf, &n, len, "", pad > 0 ? pad : 0, true);
	cell(buf, &n, len, text, MID_W, false);
}

static void draw_rows(struct ladder_draw *d)
{
	char time[48], l[48], r[48], mid[MID_W * 4 + 64];
	char lines[8][NOTE_W * 4 + 1];

	for (int i = 0; i < d->n; i++) {
		const struct row *w = &d->row[i];
		int nl = 0;

		d->any_inferred |= (w->lab[0] && w->inferred[0]) || (w->lab[1] && w->inferred[1]);
		if (w->note) {
			nl = wrap(w->text, NOTE_W, lines, 8);
			for (int k = 0; k < nl; k++) {
				mid_text(lines[k], w->side, mid, sizeof(mid));
				emit(d, "", "", mid, "");
			}
			continue;
		}
		fmt_time(d, w->t, w->approx, time, sizeof(time));
		d->any_approx |= w->approx && w->t;
		label(l, sizeof(l), w->lab[0], w->inferred[0]);
		label(r, sizeof(r), w->lab[1], w->inferred[1]);
		if (w->dir) {
			arrow(d, w, mid, sizeof(mid));
		} else if (w->text) {
			nl = wrap(w->text, NOTE_W, lines, 8);
			mid_text(nl ? lines[0] : "", w->side, mid, sizeof(mid));
		} else {
			mid[0] = '\0';
		}
		emit(d, time, l, mid, r);
		for (int k = 1; k < nl; k++) {
			mid_text(lines[k], w->side, mid, sizeof(mid));
			emit(d, "", "", mid, "");
		}
	}
}

static void endpoint(uint8_t family, const uint8_t *addr, uint16_t port,
		     char *buf, size_t len)
{
	char a[64];

	format_addr(family, addr, a, sizeof(a));
	if (!a[0])
		snprintf(buf, len, "?:%u", port);
	else if (family == SYNFIN_AF_INET6)
		snprintf(buf, len, "[%s]:%u", a, port);
	else
		snprintf(buf, len, "%s:%u", a, port);
}

/* "left   10.200.0.1:43210  client  pid 4242 curl  (measured)", with
 * the tail on indented lines when it would pass 80 columns. */
static void side_line(FILE *out, const char *tag, const char *addr, int addr_w,
		      const char *role, int role_w, const char *pid, const char *comm,
		      const char *status)
{
	const char *tok[5] = { addr, role, pid, comm, status };
	const int sep[5] = { 0, 2, 2, 1, 2 };
	char line[512], t[96];
	size_t n = 0;

	snprintf(line, sizeof(line), "%-7s", tag);
	n = strlen(line);
	for (int i = 0; i < 5; i++) {
		int s = sep[i];

		if (!tok[i] || !tok[i][0])
			continue;
		if (i == 3 && (!pid || !pid[0]))
			s = 2;
		if (i == 0)
			snprintf(t, sizeof(t), "%-*s", addr_w, tok[i]);
		else if (i == 1)
			snprintf(t, sizeof(t), "%-*s", role_w, tok[i]);
		else
			snprintf(t, sizeof(t), "%s", tok[i]);
		if (n > 7 && n + s + strlen(t) > LINE_W) {
			put_line(out, line, n);
			n = snprintf(line, sizeof(line), "%7s", "");
			s = 0;
		}
		n += snprintf(line + n, sizeof(line) - n, "%*s%s", s, "", t);
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
	}
	put_line(out, line, n);
}

/* The far end's role when only this end's record is known: a simultaneous
 * open has two clients. */
static enum conn_role far_role(const struct conn_record *r)
{
	enum conn_role er = eff_role(r);

	if (r->handshake.simultaneous_open)
		return er;
	return er == ROLE_CLIENT ? ROLE_SERVER : er == ROLE_SERVER ? ROLE_CLIENT : ROLE_UNKNOWN;
}

static void header(struct ladder_draw *d, const struct conn_record *lr,
		   const struct conn_record *rr)
{
	char la[80], ra[80], pid[2][24] = { "", "" }, comm[2][80] = { "", "" };
	char heading[2][16];
	enum conn_role role[2];
	int aw, rw;

	endpoint(lr->family, lr->laddr, lr->lport, la, sizeof(la));
	endpoint(lr->family, lr->raddr, lr->rport, ra, sizeof(ra));
	aw = cols(la) > cols(ra) ? cols(la) : cols(ra);
	role[0] = eff_role(lr);
	role[1] = rr ? eff_role(rr) : far_role(lr);
	rw = cols(role_name(role[0])) > cols(role_name(role[1])) ?
	     cols(role_name(role[0])) : cols(role_name(role[1]));
	for (int s = 0; s < 2; s++) {
		const struct conn_record *r = s ? rr : lr;

		if (!r)
			continue;
		if (r->pid)
			snprintf(pid[s], sizeof(pid[s]), "pid %" PRIu32, r->pid);
		format_safe_comm(r->comm, strnlen(r->comm, SYNFIN_COMM_LEN), comm[s],
				 sizeof(comm[s]) - 1);
	}
	side_line(d->out, "left", la, aw, role_name(role[0]), rw, pid[0], comm[0],
		  "(measured)");
	side_line(d->out, "right", ra, aw, role_name(role[1]), rw, pid[1], comm[1],
		  rr ? "(measured)" : "(inferred)");

	/* column headings: the roles, or the ports when they do not tell the
	 * two apart */
	for (int s = 0; s < 2; s++) {
		if (role[0] != role[1] && role[s] != ROLE_UNKNOWN)
			snprintf(heading[s], sizeof(heading[s]), "%s", role_name(role[s]));
		else
			snprintf(heading[s], sizeof(heading[s]), ":%u", s ? lr->rport : lr->lport);
	}
	fprintf(d->out, "%-*s %-*s %*s %s\n", TIME_W, "ms", LSTATE_W, heading[0],
		MID_W + 2, "", heading[1]);
}

static void legend(struct ladder_draw *d)
{
	if (d->any_approx && d->any_inferred)
		fprintf(d->out, "%s derived, not measured; (STATE) inferred, not measured\n",
			d->g->approx);
	else if (d->any_approx)
		fprintf(d->out, "%s derived from the handshake time, not measured\n",
			d->g->approx);
	else if (d->any_inferred)
		fprintf(d->out, "(STATE) inferred from this end's record, not measured\n");
}

/* One end's ISN as the other heard it: compared where both know it. */
static bool isn_agrees(bool known, uint32_t isn, bool peer_known, uint32_t peer_heard)
{
	return !known || !peer_known || isn == peer_heard;
}

static bool isns_agree(const struct conn_record *a, const struct conn_record *b)
{
	return isn_agrees(a->handshake.isn_local_known, a->handshake.isn_local,
			  b->handshake.isn_remote_known, b->handshake.isn_remote) &&
	       isn_agrees(b->handshake.isn_local_known, b->handshake.isn_local,
			  a->handshake.isn_remote_known, a->handshake.isn_remote);
}

static bool isns_known(const struct conn_record *r)
{
	return r->handshake.isn_local_known && r->handshake.isn_remote_known;
}

/* Whether the second FIN carried the ACK of the first is one segment's
 * fact, seen from both ends: in a pair, an end that could not tell (its
 * ACK taken from the socket's backlog, say) takes what the other end's
 * record says, or it would draw an ACK its peer says was never sent. Two
 * ends that both tell, and disagree (a lost ACK), keep their own. */
static void share_fin_ack(const struct conn_record **local, const struct conn_record **peer,
			  struct conn_record *lcopy, struct conn_record *pcopy)
{
	struct conn_record *unknown;
	const struct conn_record *known;

	if (!*peer || (*local)->wave.fin_ack_known == (*peer)->wave.fin_ack_known)
		return;
	*lcopy = **local;
	*pcopy = **peer;
	unknown = lcopy->wave.fin_ack_known ? pcopy : lcopy;
	known = lcopy->wave.fin_ack_known ? lcopy : pcopy;
	unknown->wave.fin_ack_known = true;
	unknown->wave.fin_ack_merged = known->wave.fin_ack_merged;
	*local = lcopy;
	*peer = pcopy;
}

static void render(FILE *out, const struct conn_record *local,
		   const struct conn_record *peer, bool ascii, const int64_t *to_real)
{
	struct conn_record lcopy, pcopy;
	const struct view *vp[2];
	struct ladder_draw d;
	struct view v[2];
	char msg[160];
	uint64_t t0, t1;
	bool isn_ok;

	if (!local)
		return;
	share_fin_ack(&local, &peer, &lcopy, &pcopy);
	if (!out)
		out = stdout;
	/* the client on the left, when the roles say who it is */
	if (peer && eff_role(local) == ROLE_SERVER && eff_role(peer) == ROLE_CLIENT) {
		const struct conn_record *t = local;

		local = peer;
		peer = t;
	}
	memset(&d, 0, sizeof(d));
	vp[0] = &v[0];
	vp[1] = &v[1];
	d.out = out;
	d.g = ascii ? &ascii_glyphs : &utf8_glyphs;
	memset(v, 0, sizeof(v));
	if (peer && eff_role(local) == ROLE_CLIENT && eff_role(peer) == ROLE_SERVER) {
		v[1].syn_lo = when(local, SYNFIN_TCP_SYN_SENT);
		v[1].syn_hi = when(local, SYNFIN_TCP_ESTABLISHED);
	}
	t0 = first_instant(local, 0, 0);
	t1 = peer ? first_instant(peer, v[1].syn_lo, v[1].syn_hi) : 0;
	d.base = !t0 ? t1 : !t1 ? t0 : t0 < t1 ? t0 : t1;

	for (int s = 0; s < (peer ? 2 : 1); s++) {
		v[s].r = s ? peer : local;
		v[s].g = d.g;
		v[s].base = d.base;
		v[s].data_note = -1;
		build(&v[s]);
		if (v[s].r->close_missed)
			note(&v[s], 0, false, "->CLOSE unseen: end inferred at destroy");
	}
	/* in a pair the data line goes before whichever end closed first */
	if (peer && v[0].data_note >= 0 && v[0].data_note < v[0].n && v[1].wave_t &&
	    v[1].wave_t < v[0].wave_t)
		v[0].ev[v[0].data_note].t = v[1].wave_t;

	if (to_real && d.base) {
		char ts[40];

		format_rfc3339_ns(mono_to_real(d.base, *to_real), ts, sizeof(ts));
		fprintf(out, "+0.000 is %s\n", ts);
	}
	header(&d, local, peer);
	isn_ok = !peer || isns_agree(local, peer);
	if (!isn_ok) {
		struct row *w = add_row(&d);

		char a[24], b[24];

		snprintf(msg, sizeof(msg), "ISNs disagree: the right record has %s and %s; "
			 "drawn from the left record",
			 num(a, sizeof(a), "seq", peer->handshake.isn_local_known,
			     peer->handshake.isn_local),
			 num(b, sizeof(b), "seq", peer->handshake.isn_remote_known,
			     peer->handshake.isn_remote));
		w->note = true;
		w->text = msg;
	}
	if (peer)
		rows_pair(&d, vp, isn_ok);
	else
		rows_alone(&d, &v[0]);
	draw_rows(&d);
	legend(&d);
}

void ladder_render(FILE *out, const struct conn_record *local,
		   const struct conn_record *peer, bool ascii)
{
	render(out, local, peer, ascii, NULL);
}

/* ---- holding records for their mirror ---- */

#define LADDER_BUCKETS 8192 /* a power of two, twice LADDER_MAX_HELD */

struct held {
	struct conn_record rec;
	uint64_t arrived_ns;
	int32_t prev, next;    /* arrival order, oldest first; next: free list too */
	int32_t chain;         /* hash bucket chain */
	uint32_t hash;
};

struct ladder {
	struct ladder_opts opts;
	uint64_t hold_ns;
	struct held *slot;     /* LADDER_MAX_HELD */
	int32_t *bucket;       /* LADDER_BUCKETS chain heads, -1 empty */
	int32_t oldest, newest, free;
	uint32_t count;
	bool drawn;            /* a blank line goes between ladders */
};

static size_t addr_len(uint8_t family)
{
	return family == SYNFIN_AF_INET ? 4 : SYNFIN_ADDR_LEN;
}

/* A record's addresses as its mirror's may spell them: a dual-stack
 * server's end of an IPv4 connection is AF_INET6 with ::ffff:a.b.c.d at
 * both ends, its client's AF_INET, so such an end is seen as IPv4. */
struct tuple_view {
	uint8_t family;
	const uint8_t *laddr, *raddr;
};

static struct tuple_view tuple_view(const struct conn_record *r)
{
	struct tuple_view v = { r->family, r->laddr, r->raddr };

	if (conn_is_v4_mapped(r->family, r->laddr, r->raddr)) {
		v.family = SYNFIN_AF_INET;
		v.laddr = r->laddr + 12;
		v.raddr = r->raddr + 12;
	}
	return v;
}

/* FNV-1a over (family, a, ap, b, bp): a held record is filed under
 * (remote, local), so its mirror finds it with its own (local, remote). */
static uint32_t tuple_hash(uint8_t family, const uint8_t *a, uint16_t ap,
			   const uint8_t *b, uint16_t bp)
{
	size_t n = addr_len(family);
	uint32_t h = 2166136261u;

#define MIX(x) (h = (h ^ (uint8_t)(x)) * 16777619u)
	MIX(family);
	for (size_t i = 0; i < n; i++)
		MIX(a[i]);
	MIX(ap);
	MIX(ap >> 8);
	for (size_t i = 0; i < n; i++)
		MIX(b[i]);
	MIX(bp);
	MIX(bp >> 8);
#undef MIX
	return h;
}

/* How likely b is a's mirror: 0 not at all, 1 the tuple only (times not
 * known), 2 the time spans overlap, 3 the ISNs agree too. Two namespaces
 * may use the same addresses, so disagreeing ISNs or disjoint spans rule a
 * candidate out. */
static int mirror_score(const struct conn_record *a, const struct conn_record *b)
{
	struct tuple_view va = tuple_view(a), vb = tuple_view(b);
	size_t n = addr_len(va.family);
	bool spans;

	if (va.family != vb.family || a->lport != b->rport || a->rport != b->lport ||
	    memcmp(va.laddr, vb.raddr, n) || memcmp(va.raddr, vb.laddr, n) ||
	    (a->id && a->id == b->id))
		return 0;
	if (!isns_agree(a, b))
		return 0;
	spans = a->start_ns && a->end_ns && b->start_ns && b->end_ns;
	if (spans && (a->start_ns > b->end_ns || b->start_ns > a->end_ns))
		return 0;
	if (isns_known(a) && isns_known(b))
		return 3;
	return spans ? 2 : 1;
}

struct ladder *ladder__new(const struct ladder_opts *opts)
{
	struct ladder *l = calloc(1, sizeof(*l));

	if (!l)
		goto fail;
	if (opts)
		l->opts = *opts;
	if (!l->opts.out)
		l->opts.out = stdout;
	l->hold_ns = (uint64_t)(l->opts.hold_ms ? l->opts.hold_ms : LADDER_DEFAULT_HOLD_MS) *
		     NSEC_PER_MSEC;
	/* calloc'ed pages are only touched as records are held */
	l->slot = calloc(LADDER_MAX_HELD, sizeof(*l->slot));
	l->bucket = malloc(LADDER_BUCKETS * sizeof(*l->bucket));
	if (!l->slot || !l->bucket)
		goto fail;
	for (int i = 0; i < LADDER_BUCKETS; i++)
		l->bucket[i] = -1;
	for (int i = 0; i < LADDER_MAX_HELD; i++)
		l->slot[i].next = i + 1 < LADDER_MAX_HELD ? i + 1 : -1;
	l->free = 0;
	l->oldest = l->newest = -1;
	return l;
fail:
	if (l) {
		free(l->slot);
		free(l->bucket);
		free(l);
	}
	errno = ENOMEM;
	return NULL;
}

void ladder__set_clock_offset(struct ladder *l, int64_t mono_to_real_ns)
{
	if (l)
		l->opts.mono_to_real_ns = mono_to_real_ns;
}

void ladder__new_file(struct ladder *l)
{
	if (l)
		l->drawn = false;
}

static void draw(struct ladder *l, const struct conn_record *a, const struct conn_record *b)
{
	if (l->drawn)
		fputc('\n', l->opts.out);
	l->drawn = true;
	render(l->opts.out, a, b, l->opts.ascii, &l->opts.mono_to_real_ns);
	fflush(l->opts.out);
}

static void unhold(struct ladder *l, int32_t i)
{
	struct held *h = &l->slot[i];
	int32_t *p = &l->bucket[h->hash & (LADDER_BUCKETS - 1)];

	while (*p != i)
		p = &l->slot[*p].chain;
	*p = h->chain;
	if (h->prev >= 0)
		l->slot[h->prev].next = h->next;
	else
		l->oldest = h->next;
	if (h->next >= 0)
		l->slot[h->next].prev = h->prev;
	else
		l->newest = h->prev;
	h->next = l->free;
	l->free = i;
	l->count--;
}

/* Draw the oldest held record alone and let it go. */
static void draw_oldest(struct ladder *l)
{
	int32_t i = l->oldest;

	draw(l, &l->slot[i].rec, NULL);
	unhold(l, i);
}

void ladder__tick(struct ladder *l, uint64_t now_ns)
{
	if (!l)
		return;
	while (l->oldest >= 0 && now_ns >= l->slot[l->oldest].arrived_ns &&
	       now_ns - l->slot[l->oldest].arrived_ns >= l->hold_ns)
		draw_oldest(l);
}

void ladder__conn(struct ladder *l, const struct conn_record *rec, uint64_t now_ns)
{
	struct tuple_view view;
	uint32_t want, h;
	int32_t best = -1, i;
	int best_score = 0;
	struct held *s;

	if (!l || !rec)
		return;
	ladder__tick(l, now_ns);

	view = tuple_view(rec);
	want = tuple_hash(view.family, view.laddr, rec->lport, view.raddr, rec->rport);
	for (i = l->bucket[want & (LADDER_BUCKETS - 1)]; i >= 0; i = l->slot[i].chain) {
		int score;

		if (l->slot[i].hash != want)
			continue;
		score = mirror_score(rec, &l->slot[i].rec);
		if (score > best_score || (score && score == best_score &&
					   l->slot[i].arrived_ns < l->slot[best].arrived_ns)) {
			best = i;
			best_score = score;
		}
	}
	if (best >= 0) {
		draw(l, &l->slot[best].rec, rec);
		unhold(l, best);
		return;
	}

	if (l->count >= LADDER_MAX_HELD)
		draw_oldest(l);
	i = l->free;
	s = &l->slot[i];
	l->free = s->next;
	s->rec = *rec;
	s->arrived_ns = now_ns;
	h = tuple_hash(view.family, view.raddr, rec->rport, view.laddr, rec->lport);
	s->hash = h;
	s->chain = l->bucket[h & (LADDER_BUCKETS - 1)];
	l->bucket[h & (LADDER_BUCKETS - 1)] = i;
	s->prev = l->newest;
	s->next = -1;
	if (l->newest >= 0)
		l->slot[l->newest].next = i;
	else
		l->oldest = i;
	l->newest = i;
	l->count++;
}

uint32_t ladder__held(const struct ladder *l)
{
	return l ? l->count : 0;
}

void ladder__free(struct ladder *l)
{
	if (!l)
		return;
	while (l->oldest >= 0)
		draw_oldest(l);
	free(l->slot);
	free(l->bucket);
	free(l);
}

/* The name a locale variable gives its character set, by the usual
 * spellings: "C.UTF-8", "en_US.utf8", "de_DE.UTF-8@euro". */
static bool names_utf8(const char *name)
{
	const char *dot = name ? strchr(name, '.') : NULL;

	if (!dot)
		return false;
	dot++;
	return !strncasecmp(dot, "UTF-8", 5) || !strncasecmp(dot, "utf8", 4);
}

bool ladder_locale_wants_ascii(void)
{
	static const char *const vars[] = { "LC_ALL", "LC_CTYPE", "LANG" };
	const char *codeset;
	locale_t loc;
	bool utf8;

	/* newlocale reads the environment as setlocale(LC_CTYPE, "") would,
	 * without touching the process's locale */
	loc = newlocale(LC_CTYPE_MASK, "", (locale_t)0);
	if (loc) {
		codeset = nl_langinfo_l(CODESET, loc);
		utf8 = codeset && (!strcasecmp(codeset, "UTF-8") || !strcasecmp(codeset, "utf8"));
		freelocale(loc);
		return !utf8;
	}
	/* a locale this system lacks: judge by its name, first set wins */
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);

		if (v && *v)
			return !names_utf8(v);
	}
	return true;
}
