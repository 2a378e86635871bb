// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The --ladder drawing: hand-built records rendered in UTF-8 and ASCII and
 * compared with tests/golden/ladder_*.txt (SYNFIN_UPDATE_GOLDEN=1 rewrites
 * them), the 80-column and character-set rules, and mirror pairing.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include "addr_fixture.h"
#include "golden.h"
#include "unit.h"
#include "ladder.h"

#define T0 5000000000ULL                    /* CLOCK_MONOTONIC of the first SYN */
#define US(u) (T0 + (uint64_t)(u) * 1000ULL) /* microseconds after it */
#define SEC 1000000000ULL
#define REAL0 1795287900000000000LL         /* 2026-11-21T19:05:00Z at mono 0 */

/* ---- records ---- */

static void base_rec(struct conn_record *r, uint16_t lport, uint16_t rport)
{
	memset(r, 0, sizeof(*r));
	r->family = SYNFIN_AF_INET;
	memcpy(r->laddr, "\x0a\xc8\x00\x01", 4);  /* 10.200.0.1 */
	memcpy(r->raddr, "\x0a\xc8\x00\x02", 4);  /* 10.200.0.2 */
	r->lport = lport;
	r->rport = rport;
	r->role = ROLE_CLIENT;
	r->pid = 4242;
	strcpy(r->comm, "curl");
	r->netns = 4026532177u;
	r->handshake.ms = -1;
}

static void span(struct conn_record *r, int st, uint64_t enter, uint64_t leave)
{
	r->span[st].enter_ns = enter;
	r->span[st].leave_ns = leave;
}

/* An established client: SYN at +0, SYN-ACK at +0.066 ms. */
static void client_open(struct conn_record *r, uint16_t lport, uint16_t rport)
{
	base_rec(r, lport, rport);
	r->id = 1000 + lport;
	r->start_ns = US(0);
	r->handshake.result = HS_ESTABLISHED;
	r->handshake.ms = 0.066;
	r->handshake.isn_local_known = true;
	r->handshake.isn_remote_known = true;
	r->handshake.isn_local = 1513407164u;
	r->handshake.isn_remote = 3830284518u;
	span(r, SYNFIN_TCP_SYN_SENT, US(0), US(66));
	span(r, SYNFIN_TCP_ESTABLISHED, US(66), 0);
	r->bytes_known = true;
	r->srtt_us = 70;
}

/* curl closes first: FIN at +12.345 ms, TIME-WAIT from +13.050 ms. */
static void client_close(struct conn_record *r)
{
	client_open(r, 43210, 5004);
	r->bytes_sent = 517;
	r->bytes_received = 3000000;
	r->span[SYNFIN_TCP_ESTABLISHED].leave_ns = US(12345);
	span(r, SYNFIN_TCP_FIN_WAIT1, US(12345), US(12430));
	span(r, SYNFIN_TCP_FIN_WAIT2, US(12430), US(13050));
	span(r, SYNFIN_TCP_TIME_WAIT, US(13050), 0);
	span(r, SYNFIN_TCP_CLOSE, US(13050), 0);
	r->end_ns = US(13050);
	r->wave.local_fin = true;
	r->wave.local_fin_seq = 1513407164u + 1 + 517;
	r->wave.remote_fin = true;
	r->wave.remote_fin_seq = 3830284518u + 1 + 3000000;
	r->tw.kind = TW_KIND_TIME_WAIT;
	r->tw.measured = true;
	r->tw.start_ns = US(13050);
	r->tw.expire_ns = US(13050) + 60 * SEC;
	r->close.initiator = CLOSE_BY_LOCAL;
	r->close.how = HOW_FIN;
	r->last_state = SYNFIN_TCP_FIN_WAIT2;
}

/* The same connection from nginx's end, in another netns: its SYN came at
 * about +0.031 ms (ACK at +0.098 minus the 0.067 ms SYN-ACK RTT). */
static void server_close(struct conn_record *r)
{
	base_rec(r, 5004, 43210);
	memcpy(r->laddr, "\x0a\xc8\x00\x02", 4);
	memcpy(r->raddr, "\x0a\xc8\x00\x01", 4);
	r->id = 2002;
	r->role = ROLE_SERVER;
	r->pid = 4300;
	strcpy(r->comm, "nginx");
	r->netns = 4026532301u;
	r->start_ns = US(31);
	r->end_ns = US(13090);
	r->bytes_known = true;
	r->bytes_sent = 3000000;
	r->bytes_received = 517;
	r->handshake.result = HS_ESTABLISHED;
	r->handshake.ms = 0.067;
	r->handshake.isn_local_known = true;
	r->handshake.isn_remote_known = true;
	r->handshake.isn_local = 3830284518u;
	r->handshake.isn_remote = 1513407164u;
	span(r, SYNFIN_TCP_SYN_RECV, US(98), US(98));
	span(r, SYNFIN_TCP_ESTABLISHED, US(98), US(12391));
	span(r, SYNFIN_TCP_CLOSE_WAIT, US(12391), US(13002));
	span(r, SYNFIN_TCP_LAST_ACK, US(13002), US(13090));
	span(r, SYNFIN_TCP_CLOSE, US(13090), 0);
	r->wave.remote_fin = true;
	r->wave.remote_fin_seq = 1513407164u + 1 + 517;
	r->wave.local_fin = true;
	r->wave.local_fin_seq = 3830284518u + 1 + 3000000;
	r->close.initiator = CLOSE_BY_REMOTE;
	r->close.how = HOW_FIN;
	r->last_state = SYNFIN_TCP_LAST_ACK;
}

/* Nothing listens on 5005: RST after 0.051 ms. ESTABLISHED was never
 * reached: the engine read this end's ISN at the ->CLOSE (snd_una), and
 * never heard the peer's. */
static void refused(struct conn_record *r)
{
	base_rec(r, 43212, 5005);
	r->id = 1003;
	r->start_ns = US(0);
	r->end_ns = US(51);
	r->handshake.result = HS_REFUSED;
	r->handshake.isn_local_known = true;
	r->handshake.isn_local = 4294967295u; /* its RST's ack wraps to 0 */
	span(r, SYNFIN_TCP_SYN_SENT, US(0), US(51));
	span(r, SYNFIN_TCP_CLOSE, US(51), 0);
	r->close.err = ECONNREFUSED;
	r->last_state = SYNFIN_TCP_SYN_SENT;
}

/* A black hole with tcp_syn_retries=2: SYNs at 0, 1 s and 3 s, gives up at 7 s. */
static void syn_timeout(struct conn_record *r)
{
	base_rec(r, 43214, 443);
	memcpy(r->raddr, "\xc0\x00\x02\x01", 4); /* 192.0.2.1 */
	r->id = 1004;
	r->start_ns = US(0);
	r->end_ns = US(7011420);
	r->handshake.result = HS_TIMEOUT;
	r->handshake.syn_retrans = 2;
	r->handshake.isn_local_known = true;
	r->handshake.isn_local = 2868215843u;
	span(r, SYNFIN_TCP_SYN_SENT, US(0), US(7011420));
	span(r, SYNFIN_TCP_CLOSE, US(7011420), 0);
	r->close.err = ETIMEDOUT;
	r->total_retrans = 2;
	r->last_state = SYNFIN_TCP_SYN_SENT;
}

/* Both ends close() at once: the FINs cross, both go through CLOSING. */
static void simultaneous_close(struct conn_record *r)
{
	client_open(r, 43216, 5006);
	r->bytes_sent = 100;
	r->bytes_received = 200;
	span(r, SYNFIN_TCP_FIN_WAIT1, US(5000), US(5040));
	span(r, SYNFIN_TCP_CLOSING, US(5040), US(5081));
	span(r, SYNFIN_TCP_TIME_WAIT, US(5081), 0);
	span(r, SYNFIN_TCP_CLOSE, US(5081), 0);
	r->end_ns = US(5081);
	r->wave.local_fin = true;
	r->wave.local_fin_seq = 1513407164u + 1 + 100;
	r->wave.remote_fin = true;
	r->wave.remote_fin_seq = 3830284518u + 1 + 200;
	r->tw.kind = TW_KIND_TIME_WAIT;
	r->tw.expire_ns = US(5081) + 60 * SEC;
	r->close.initiator = CLOSE_BY_BOTH;
	r->close.how = HOW_FIN;
	r->last_state = SYNFIN_TCP_CLOSING;
}

/* SO_LINGER {1, 0} then close(): a RST instead of a FIN. */
static void linger0(struct conn_record *r)
{
	client_open(r, 43220, 5008);
	r->bytes_sent = 64;
	r->bytes_received = 0;
	span(r, SYNFIN_TCP_CLOSE, US(2500), 0);
	r->end_ns = US(2500);
	r->close.initiator = CLOSE_BY_LOCAL;
	r->close.how = HOW_RST_SENT;
	r->close.rst_cause = RST_CAUSE_LINGER0;
	r->last_state = SYNFIN_TCP_ESTABLISHED;
}

/* nginx's end as above, but on lport/rport, with these byte counts: the
 * peer's FIN at t_fin, and a reset, not a FIN of its own, at t_close. */
static void server_reset_in_close_wait(struct conn_record *r, uint16_t lport, uint16_t rport,
				       uint64_t sent, uint64_t received, uint64_t t_fin,
				       uint64_t t_close)
{
	server_close(r);
	r->lport = lport;
	r->rport = rport;
	r->bytes_sent = sent;
	r->bytes_received = received;
	memset(r->span, 0, sizeof(r->span));
	span(r, SYNFIN_TCP_SYN_RECV, US(98), US(98));
	span(r, SYNFIN_TCP_ESTABLISHED, US(98), t_fin);
	span(r, SYNFIN_TCP_CLOSE_WAIT, t_fin, t_close);
	span(r, SYNFIN_TCP_CLOSE, t_close, 0);
	r->end_ns = t_close;
	r->wave.local_fin = false;
	r->wave.local_fin_seq = 0;
	r->wave.remote_fin_seq = 1513407164u + 1 + (uint32_t)received;
	r->last_state = SYNFIN_TCP_CLOSE_WAIT;
}

/* A server whose client closed, then wrote to it anyway: the client's
 * socket answers with a RST; CLOSE_WAIT -> CLOSE with EPIPE. */
static void rst_close_wait(struct conn_record *r)
{
	server_reset_in_close_wait(r, 5007, 43218, 42, 1500, US(40000), US(40500));
	r->id = 2005;
	r->pid = 4301;
	strcpy(r->comm, "redis-server");
	r->close.how = HOW_RST_RECEIVED;
	r->close.err = EPIPE;
}

/* close() and the peer never answers with its FIN: the orphan is handed to
 * a tw sock in FIN-WAIT-2 for tcp_fin_timeout. */
static void fin_wait2_orphan(struct conn_record *r)
{
	client_open(r, 43222, 5009);
	r->bytes_sent = 517;
	r->bytes_received = 1024;
	span(r, SYNFIN_TCP_FIN_WAIT1, US(8000), US(8050));
	span(r, SYNFIN_TCP_FIN_WAIT2, US(8050), US(8051));
	span(r, SYNFIN_TCP_CLOSE, US(8051), 0);
	r->end_ns = US(8051);
	r->wave.local_fin = true;
	r->wave.local_fin_seq = 1513407164u + 1 + 517;
	r->tw.kind = TW_KIND_FIN_WAIT2;
	r->tw.measured = true;
	r->tw.start_ns = US(8051);
	r->tw.expire_ns = US(8051) + 60 * SEC;
	r->close.initiator = CLOSE_BY_LOCAL;
	r->close.how = HOW_FIN;
	r->last_state = SYNFIN_TCP_FIN_WAIT2;
}

/* The orphan above, but its peer aborts at +308.051 ms (SO_LINGER 0 after
 * reading the EOF): the reset kills the tw sock. The engine held the
 * record for it; FIN-WAIT-2 ran until the kill. */
static void orphan_reset(struct conn_record *r)
{
	fin_wait2_orphan(r);
	r->span[SYNFIN_TCP_FIN_WAIT2].leave_ns = US(308051);
	r->close.how = HOW_RST_RECEIVED;
	r->close.err = ECONNRESET;
}

/* Its peer: the FIN at +8.030 ms, close() with SO_LINGER 0 at +308.051. */
static void orphan_reset_peer(struct conn_record *r)
{
	server_reset_in_close_wait(r, 5009, 43222, 1024, 517, US(8030), US(308051));
	r->close.how = HOW_RST_SENT;
	r->close.rst_cause = RST_CAUSE_LINGER0;
}

/* Two connect()s to each other's port at once; the peer closes later. */
static void simultaneous_open(struct conn_record *r)
{
	base_rec(r, 6000, 6001);
	r->id = 1006;
	r->start_ns = US(0);
	r->handshake.result = HS_ESTABLISHED;
	r->handshake.ms = 0.080;
	r->handshake.simultaneous_open = true;
	r->handshake.isn_local_known = true;
	r->handshake.isn_remote_known = true;
	r->handshake.isn_local = 1513407164u;
	r->handshake.isn_remote = 3830284518u;
	span(r, SYNFIN_TCP_SYN_SENT, US(0), US(40));
	span(r, SYNFIN_TCP_SYN_RECV, US(40), US(80));
	span(r, SYNFIN_TCP_ESTABLISHED, US(80), US(1000));
	span(r, SYNFIN_TCP_CLOSE_WAIT, US(1000), US(1010));
	span(r, SYNFIN_TCP_LAST_ACK, US(1010), US(1050));
	span(r, SYNFIN_TCP_CLOSE, US(1050), 0);
	r->end_ns = US(1050);
	r->bytes_known = true;
	r->wave.remote_fin = true;
	r->wave.remote_fin_seq = 3830284518u + 1;
	r->wave.local_fin = true;
	r->wave.local_fin_seq = 1513407164u + 1;
	r->close.initiator = CLOSE_BY_REMOTE;
	r->close.how = HOW_FIN;
}

/* ---- checks ---- */

static char *render(const struct conn_record *a, const struct conn_record *b, bool ascii)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK(f);
	if (!f)
		return strdup("");
	ladder_render(f, a, b, ascii);
	fclose(f);
	return buf;
}

/* Every line ends in '\n' and has at most 80 code points. UTF-8 output uses
 * ASCII and the six drawing characters only; ASCII output only 0x0a and
 * 0x20-0x7e. */
static void check_text(const char *buf, bool ascii)
{
	static const char *const allowed[] = {
		"\xe2\x94\x80", "\xe2\x94\x82", "\xe2\x96\xb6", "\xe2\x97\x80",
		"\xe2\x89\x88", "\xc3\x97",
	};
	const char *p = buf, *nl;

	CHECK(*buf);
	for (; *p; p = nl + 1) {
		int cps = 0;

		nl = strchr(p, '\n');
		CHECK(nl);
		if (!nl)
			return;
		for (const char *q = p; q < nl; q++) {
			unsigned char c = (unsigned char)*q;
			size_t k, n;

			if (c >= 0x20 && c < 0x7f) {
				cps++;
				continue;
			}
			CHECK(!ascii);
			for (k = 0; k < sizeof(allowed) / sizeof(allowed[0]); k++) {
				n = strlen(allowed[k]);
				if ((size_t)(nl - q) >= n && !memcmp(q, allowed[k], n))
					break;
			}
			if (k == sizeof(allowed) / sizeof(allowed[0])) {
				fprintf(stderr, "  byte 0x%02x not allowed: %.*s\n", c,
					(int)(nl - p), p);
				CHECK(0);
				break;
			}
			q += strlen(allowed[k]) - 1;
			cps++;
		}
		if (cps > 80)
			fprintf(stderr, "  %d columns: %.*s\n", cps, (int)(nl - p), p);
		CHECK(cps <= 80);
		CHECK(nl == p || nl[-1] != ' '); /* no trailing blanks */
	}
}

/* Compare with the golden file, or write it under SYNFIN_UPDATE_GOLDEN=1. */
static void golden(const char *name, bool ascii, const char *got)
{
	char file[256];

	snprintf(file, sizeof(file), "ladder_%s.%s.txt", name, ascii ? "ascii" : "utf8");
	golden_check(file, got);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Render in both charsets, check the rules, compare with the goldens, and
 * look for strings that must be there in both. */
static void scenario(const char *name, const struct conn_record *a,
		     const struct conn_record *b, const char *const *want)
{
	for (int ascii = 0; ascii < 2; ascii++) {
		char *out = render(a, b, ascii);

		check_text(out, ascii);
		golden(name, ascii, out);
		for (const char *const *w = want; *w; w++) {
			if (!strstr(out, *w))
				fprintf(stderr, "  %s (%s): no \"%s\"\n", name,
					ascii ? "ascii" : "utf8", *w);
			CHECK(strstr(out, *w));
		}
		free(out);
	}
}

/* ---- cases ---- */

static void test_client_close(void)
{
	struct conn_record r;
	static const char *const want[] = {
		"seq=1513407164", "seq=3830284518 ack=1513407165", "ack=3830284519",
		"seq=1513407682", "ack=1513407683", "seq=3833284519", "ack=3833284520",
		"FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "(CLOSE-WAIT)", "(LAST-ACK)",
		"leaves at +60.013 s (measured)", "(inferred)", "pid 4242 curl",
		"10.200.0.1:43210", "10.200.0.2:5004", "+0.066", "+13.050", NULL,
	};

	client_close(&r);
	scenario("client_close", &r, NULL, want);
}

static void test_server_close(void)
{
	struct conn_record r;
	static const char *const want[] = {
		"seq=1513407164", "seq=3830284518 ack=1513407165", "ack=3830284519",
		"CLOSE-WAIT", "LAST-ACK", "(FIN-WAIT-1)", "(TIME-WAIT)",
		"+0.067", "+0.000", "(inferred)", "pid 4300 nginx", NULL,
	};

	server_close(&r);
	scenario("server_close", &r, NULL, want);
}

/* The server closes as the client's FIN comes in: its delayed ACK rides
 * on its FIN (the kernel's summary says so at both ends), one segment,
 * so a three-segment wave: FIN, FIN with the ACK, ACK. */
static void merged_wave(struct conn_record *c, struct conn_record *s)
{
	client_close(c);
	c->span[SYNFIN_TCP_FIN_WAIT1].leave_ns = US(12430);
	span(c, SYNFIN_TCP_FIN_WAIT2, US(12430), US(12430));
	span(c, SYNFIN_TCP_TIME_WAIT, US(12430), 0);
	span(c, SYNFIN_TCP_CLOSE, US(12430), 0);
	c->end_ns = US(12430);
	c->tw.start_ns = US(12430);
	c->tw.expire_ns = US(12430) + 60 * SEC;
	c->wave.fin_ack_known = c->wave.fin_ack_merged = true;
	server_close(s);
	s->span[SYNFIN_TCP_CLOSE_WAIT].leave_ns = US(12398);
	span(s, SYNFIN_TCP_LAST_ACK, US(12398), US(12470));
	span(s, SYNFIN_TCP_CLOSE, US(12470), 0);
	s->end_ns = US(12470);
	s->wave.fin_ack_known = s->wave.fin_ack_merged = true;
}

static void test_fin_ack_merged(void)
{
	struct conn_record c, s;
	static const char *const want[] = {
		"seq=3833284519 ack=1513407683", "ack=3833284520", "LAST-ACK", "TIME-WAIT",
		NULL,
	};
	char *out;

	merged_wave(&c, &s);
	scenario("pair_fin_ack", &c, &s, want);
	/* each end alone: the one segment, and no ACK of the client's FIN
	 * on its own */
	for (int end = 0; end < 2; end++) {
		out = render(end ? &s : &c, NULL, true);
		CHECK(strstr(out, "FIN seq=3833284519 ack=1513407683"));
		CHECK(!strstr(out, "ACK ack=1513407683"));
		CHECK_EQ_INT(count(out, "FIN seq="), 2);
		free(out);
	}
	/* one end could not tell: in the pair it takes the other's word,
	 * either way round, and the picture is the one of both knowing */
	for (int end = 0; end < 2; end++) {
		char *both = render(&c, &s, true);

		(end ? &s : &c)->wave.fin_ack_known = false;
		(end ? &s : &c)->wave.fin_ack_merged = false;
		out = render(&c, &s, true);
		CHECK_EQ_STR(out, both);
		CHECK(!strstr(out, "ACK ack=1513407683"));
		free(out);
		free(both);
		merged_wave(&c, &s);
	}
	/* ... but not when both tell and disagree (a lost ACK): each draws
	 * its own */
	s.wave.fin_ack_merged = false;
	out = render(&c, &s, true);
	CHECK(strstr(out, "ACK ack=1513407683"));
	free(out);
	merged_wave(&c, &s);
	/* known apart: four segments, as drawn before */
	c.wave.fin_ack_merged = s.wave.fin_ack_merged = false;
	out = render(&c, &s, true);
	CHECK(strstr(out, "ACK ack=1513407683"));
	CHECK(strstr(out, "FIN seq=3833284519-"));
	free(out);
}

static void test_pair(void)
{
	struct conn_record c, s;
	static const char *const want[] = {
		"seq=1513407164", "seq=3830284518 ack=1513407165", "ack=3830284519",
		"seq=1513407682", "seq=3833284519", "pid 4242 curl", "pid 4300 nginx",
		"CLOSE-WAIT", "LAST-ACK", "TIME-WAIT", "+13.090", NULL,
	};
	char *a, *b;

	client_close(&c);
	server_close(&s);
	scenario("pair", &c, &s, want);

	/* either order: the client is drawn on the left, both measured */
	a = render(&c, &s, true);
	b = render(&s, &c, true);
	CHECK_EQ_STR(a, b);
	CHECK_EQ_INT(count(a, "(measured)\n"), 2);
	CHECK(!strstr(a, "(inferred)") && !strstr(a, "(ESTAB)"));
	CHECK(!strncmp(a, "left   10.200.0.1:43210  client  pid 4242 curl", 46));
	free(a);
	free(b);

	/* The server's RTT sample short of SYN-ACK to final ACK (10 us of
	 * 67): its derived SYN would come at +0.088, after the SYN-ACK
	 * reached the client at +0.066. It is drawn just before that, the
	 * SYN-ACK above the client's ACK. */
	s.handshake.ms = 0.010;
	a = render(&c, &s, true);
	check_text(a, true);
	CHECK(strstr(a, "~+0.065               |<--SYN-ACK"));
	CHECK(strstr(a, "SYN-ACK") < strstr(a, "|--ACK ack=3830284519"));
	CHECK(!strncmp(strstr(a, "ms         client"), "ms         client", 17));
	free(a);
	/* ... and just after the client's SYN, not before it */
	s.handshake.ms = 0.5;
	a = render(&c, &s, true);
	CHECK(strstr(a, "~+0.000               |<--SYN-ACK"));
	CHECK(strstr(a, "|--SYN seq") < strstr(a, "SYN-ACK"));
	free(a);
	s.handshake.ms = 0.067;

	/* ISNs that disagree: drawn from the left record, and said so */
	s.handshake.isn_local = 99;
	a = render(&c, &s, true);
	check_text(a, true);
	CHECK(strstr(a, "ISNs disagree"));
	CHECK(strstr(a, "seq=3830284518 ack=1513407165"));
	CHECK(!strstr(a, "SYN-ACK seq=99"));
	free(a);
}

static void test_refused(void)
{
	struct conn_record r;
	static const char *const want[] = {
		"SYN seq=4294967295", "RST ack=0", "connection refused", "ECONNREFUSED",
		"SYN-SENT", "CLOSE", "+0.051", NULL,
	};
	char *out;

	refused(&r);
	scenario("refused", &r, NULL, want);
	/* a connect() that failed before its SYN went out knows no ISN */
	r.handshake.isn_local_known = false;
	out = render(&r, NULL, false);
	CHECK(strstr(out, "SYN seq=?"));
	CHECK(strstr(out, "RST ack=?"));
	free(out);
}

static void test_syn_timeout(void)
{
	struct conn_record r;
	static const char *const want[] = {
		"seq=2868215843", "SYN sent 3 times (2 retransmits)", "+7011.420",
		"ETIMEDOUT", "timed out", "192.0.2.1:443", NULL,
	};
	char *out;

	syn_timeout(&r);
	scenario("syn_timeout", &r, NULL, want);
	out = render(&r, NULL, false);
	CHECK(strstr(out, "SYN \xc3\x97" "3 seq=2868215843"));
	CHECK(!strstr(out, "unseen"));
	free(out);
	/* its ->CLOSE lost, the record made at the socket's destroy */
	r.close_missed = true;
	out = render(&r, NULL, false);
	CHECK(strstr(out, "->CLOSE unseen: end inferred at destroy"));
	free(out);
	r.close_missed = false;
	out = render(&r, NULL, true);
	CHECK(strstr(out, "SYN x3 seq=2868215843"));
	CHECK(!strstr(out, "SYN-ACK"));
	free(out);
}

static void test_simultaneous_close(void)
{
	struct conn_record r;
	static const char *const want[] = {
		"CLOSING", "simultaneous close", "seq=1513407265", "seq=3830284719",
		"ack=3830284720", "ack=1513407266", "TIME-WAIT", "(inferred)", NULL,
	};

	simultaneous_close(&r);
	scenario("simultaneous_close", &r, NULL, want);
}

static void test_linger0(void)
{
	struct conn_record r;
	static const char *const want[] = {
		"RST (linger0)", "SO_LINGER 0", "+2.500", NULL,
	};
	char *out;

	linger0(&r);
	scenario("linger0", &r, NULL, want);
	out = render(&r, NULL, true);
	CHECK(strstr(out, "|--RST (linger0)---"));
	CHECK(!strstr(out, "FIN"));
	free(out);
}

static void test_rst_close_wait(void)
{
	struct conn_record r;
	static const char *const want[] = {
		"CLOSE-WAIT", "EPIPE", "seq=1513408665", "ack=1513408666", "+40.469",
		"redis-server", NULL,
	};
	char *out;

	rst_close_wait(&r);
	scenario("rst_close_wait", &r, NULL, want);
	out = render(&r, NULL, true);
	CHECK(strstr(out, "|<--RST---"));
	CHECK(!strstr(out, "LAST-ACK"));
	free(out);
}

static void test_fin_wait2_orphan(void)
{
	struct conn_record r;
	static const char *const want[] = {
		"FIN-WAIT-2", "tcp_fin_timeout", "orphan", "+60.008 s (measured)",
		"(CLOSE-WAIT)", NULL,
	};
	char *out;

	fin_wait2_orphan(&r);
	scenario("fin_wait2_orphan", &r, NULL, want);
	out = render(&r, NULL, true);
	CHECK(!strstr(out, "TIME-WAIT"));
	free(out);
}

/* The reset at the kill, not at the orphan's CLOSE (it was drawn there),
 * and no expiry promised; with its peer, one RST, where both put it. */
static void test_orphan_reset(void)
{
	struct conn_record c, s;
	static const char *const want[] = {
		"FIN-WAIT-2", "orphaned: its tw sock waits", "+308.051", "ECONNRESET",
		"(CLOSE-WAIT)", NULL,
	};
	char *out;

	orphan_reset(&c);
	scenario("orphan_reset", &c, NULL, want);
	out = render(&c, NULL, true);
	CHECK(strstr(out, "+308.051   CLOSE      |<--RST---"));
	CHECK(strstr(out, "+8.051     ") < strstr(out, "orphaned"));
	CHECK(!strstr(out, "leaves at") && !strstr(out, "tcp_fin_timeout"));
	free(out);

	orphan_reset_peer(&s);
	out = render(&c, &s, true);
	check_text(out, true);
	CHECK_EQ_INT(count(out, "--RST"), 1);
	CHECK(strstr(out, "+308.051   CLOSE      |<--RST (linger0)---"));
	CHECK(strstr(out, "orphaned") < strstr(out, "--RST"));
	free(out);
}

static void test_simultaneous_open(void)
{
	struct conn_record r;
	static const char *const want[] = {
		"simultaneous open", "SYN seq=1513407164", "SYN seq=3830284518",
		"SYN-ACK seq=1513407164 ack=3830284519",
		"SYN-ACK seq=3830284518 ack=1513407165", "SYN-RECV", NULL,
	};

	simultaneous_open(&r);
	scenario("simultaneous_open", &r, NULL, want);
}

/* Everything at its widest: 80 columns still hold, hostile bytes escaped. */
static void test_extremes(void)
{
	struct conn_record r, p, ext;
	char *out;

	client_close(&r);
	r.family = SYNFIN_AF_INET6;
	memset(r.laddr, 0xfd, 16);
	memset(r.raddr, 0xfe, 16);
	r.lport = 65535;
	r.rport = 65534;
	r.pid = 4294967295u;
	memcpy(r.comm, "\x1b]0;pwned\x07\xff\\\xe2\x94\x82xyz", 16);
	r.handshake.syn_retrans = 150;
	r.handshake.isn_local = 4294967295u;
	r.handshake.isn_remote = 4294967294u;
	r.wave.fin_retrans = 1000;
	r.wave.data_retrans = 4000000000u;
	r.bytes_sent = UINT64_MAX;
	r.bytes_received = UINT64_MAX;
	r.close.err = 9999;
	/* three days in ESTABLISHED */
	r.span[SYNFIN_TCP_FIN_WAIT1].enter_ns += 3 * 86400 * SEC;
	r.span[SYNFIN_TCP_FIN_WAIT2].enter_ns += 3 * 86400 * SEC;
	r.span[SYNFIN_TCP_TIME_WAIT].enter_ns += 3 * 86400 * SEC;
	r.span[SYNFIN_TCP_CLOSE].enter_ns += 3 * 86400 * SEC;
	r.tw.expire_ns += 3 * 86400 * SEC;
	for (int ascii = 0; ascii < 2; ascii++) {
		out = render(&r, NULL, ascii);
		check_text(out, ascii);
		CHECK(strstr(out, "\\x1b]0;pwned\\x07\\xff\\\\\\xe2\\x94\\x82x  (measured)"));
		CHECK(strstr(out, "SYN sent 151 times (150 retransmits)"));
		CHECK(strstr(out, "seq=4294967295"));
		CHECK(strstr(out, "+259200.0s"));
		free(out);
	}

	/* six years in ESTABLISHED: the seconds are too wide for the time
	 * column, and cut they read as ms; hours fit */
	ext = r;
	client_close(&r);
	r.span[SYNFIN_TCP_FIN_WAIT1].enter_ns += 200000000 * SEC;
	r.span[SYNFIN_TCP_FIN_WAIT2].enter_ns += 200000000 * SEC;
	r.span[SYNFIN_TCP_TIME_WAIT].enter_ns += 200000000 * SEC;
	r.span[SYNFIN_TCP_CLOSE].enter_ns += 200000000 * SEC;
	r.tw.expire_ns += 200000000 * SEC;
	out = render(&r, NULL, true);
	check_text(out, true);
	CHECK(strstr(out, "+55555h"));
	CHECK(!strstr(out, "+200000000 "));
	free(out);

	/* the mirror of the extreme one, drawn as a pair */
	r = ext;
	server_close(&p);
	p.family = r.family;
	memcpy(p.laddr, r.raddr, 16);
	memcpy(p.raddr, r.laddr, 16);
	p.lport = r.rport;
	p.rport = r.lport;
	p.handshake.isn_local = r.handshake.isn_remote;
	p.handshake.isn_remote = r.handshake.isn_local;
	p.handshake.synack_retrans = 99;
	memcpy(p.comm, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 16);
	for (int ascii = 0; ascii < 2; ascii++) {
		out = render(&r, &p, ascii);
		check_text(out, ascii);
		CHECK(strstr(out, "SYN-ACK sent 100 times (99 retransmits)"));
		free(out);
	}

	/* a server's RTT sample far past the clock (a bad record): its SYN
	 * is drawn at its ESTABLISHED, and the sanitizers see no overflow */
	server_close(&p);
	p.handshake.ms = 1e30;
	for (int ascii = 0; ascii < 2; ascii++) {
		out = render(&p, NULL, ascii);
		check_text(out, ascii);
		free(out);
	}

	/* an empty record draws something sane */
	memset(&r, 0, sizeof(r));
	for (int ascii = 0; ascii < 2; ascii++) {
		out = render(&r, NULL, ascii);
		check_text(out, ascii);
		free(out);
	}
}

/* Records of any shape (a deterministic pseudo-random stream): no crash,
 * and the 80-column and character rules hold for each, alone and paired. */
static uint64_t rnd_state = 88172645463325252ULL;

static uint64_t rnd(void)
{
	return unit_xorshift(&rnd_state);
}

static void random_rec(struct conn_record *r)
{
	memset(r, 0, sizeof(*r));
	r->family = rnd() % 3 ? SYNFIN_AF_INET : SYNFIN_AF_INET6;
	for (int i = 0; i < SYNFIN_ADDR_LEN; i++) {
		r->laddr[i] = (uint8_t)rnd();
		r->raddr[i] = (uint8_t)rnd();
	}
	r->lport = (uint16_t)rnd();
	r->rport = (uint16_t)rnd();
	r->id = rnd();
	r->role = (enum conn_role)(rnd() % 4);
	r->pid = rnd() % 2 ? (uint32_t)rnd() : 0;
	for (int i = 0; i < SYNFIN_COMM_LEN; i++)
		r->comm[i] = (char)(rnd() % 4 ? rnd() : 0);
	r->bytes_known = rnd() % 2;
	r->bytes_sent = rnd() >> (rnd() % 64);
	r->bytes_received = rnd() >> (rnd() % 64);
	r->handshake.result = (enum handshake_result)(rnd() % 7);
	r->handshake.ms = rnd() % 3 ? (double)(rnd() % 100000000) / 1000 : -1;
	r->handshake.syn_retrans = rnd() % 4 ? rnd() % 3 : (uint32_t)rnd();
	r->handshake.synack_retrans = rnd() % 4 ? rnd() % 3 : (uint32_t)rnd();
	r->handshake.isn_local_known = rnd() % 4;
	r->handshake.isn_remote_known = rnd() % 4;
	r->handshake.isn_local = (uint32_t)rnd();
	r->handshake.isn_remote = (uint32_t)rnd();
	r->handshake.simultaneous_open = rnd() % 8 == 0;
	r->start_ns = rnd() % 4 ? T0 + rnd() % (100 * SEC) : 0;
	for (int i = 0; i < SYNFIN_TCP_MAX_STATES; i++)
		if (rnd() % 2)
			r->span[i].enter_ns = rnd() % 16 ? T0 + (rnd() >> (rnd() % 64)) : 0;
	r->end_ns = rnd() % 2 ? T0 + (rnd() >> (rnd() % 64)) : 0;
	r->wave.local_fin = rnd() % 2;
	r->wave.local_fin_seq = (uint32_t)rnd();
	r->wave.remote_fin = rnd() % 2;
	r->wave.remote_fin_seq = (uint32_t)rnd();
	r->wave.fin_retrans = rnd() % 4 ? rnd() % 3 : (uint32_t)rnd();
	r->wave.data_retrans = rnd() % 4 ? rnd() % 3 : (uint32_t)rnd();
	r->tw.kind = (enum tw_kind)(rnd() % 4);
	r->tw.measured = rnd() % 2;
	r->tw.expire_ns = rnd() % 4 ? T0 + (rnd() >> (rnd() % 64)) : 0;
	r->tw.exit = (enum tw_exit)(rnd() % 4);
	r->tw.exit_ns = rnd() % 2 ? T0 + (rnd() >> (rnd() % 64)) : 0;
	r->close.initiator = (enum close_initiator)(rnd() % 5);
	r->close.how = (enum close_how)(rnd() % 7);
	r->close.err = rnd() % 2 ? (int)(rnd() % 200) : 0;
	r->close.rst_cause = (enum rst_cause)(rnd() % 6);
	r->seeded = rnd() % 8 == 0;
}

static void test_random(void)
{
	struct conn_record a, b;

	for (int i = 0; i < 3000; i++) {
		char *out;

		random_rec(&a);
		random_rec(&b);
		if (rnd() % 2) {
			/* make b a plausible mirror of a */
			memcpy(b.laddr, a.raddr, SYNFIN_ADDR_LEN);
			memcpy(b.raddr, a.laddr, SYNFIN_ADDR_LEN);
			b.family = a.family;
		}
		out = render(&a, i % 2 ? &b : NULL, i % 4 >= 2);
		check_text(out, i % 4 >= 2);
		free(out);
		if (unit_case_failed)
			break;
	}
}

/* ---- holding for the mirror ---- */

struct sink {
	char *buf;
	size_t len;
	FILE *f;
};

static struct ladder *sink_open(struct sink *s, uint32_t hold_ms)
{
	struct ladder_opts o = {
		.ascii = true, .mono_to_real_ns = REAL0, .hold_ms = hold_ms,
	};
	struct ladder *l;

	memset(s, 0, sizeof(*s));
	s->f = open_memstream(&s->buf, &s->len);
	o.out = s->f;
	l = ladder__new(&o);
	CHECK(s->f && l);
	return l;
}

static const char *sink_text(struct sink *s)
{
	fflush(s->f);
	return s->buf ? s->buf : "";
}

static void sink_close(struct sink *s)
{
	fclose(s->f);
	free(s->buf);
}

static void test_pairing(void)
{
	struct conn_record c, sv, other, mapped;
	uint64_t now = 100 * SEC;
	struct ladder *l;
	struct sink s;
	const char *out;

	client_close(&c);
	server_close(&sv);

	/* client first, then its mirror: one ladder, both measured */
	l = sink_open(&s, 500);
	ladder__conn(l, &c, now);
	CHECK_EQ_STR(sink_text(&s), "");
	CHECK_EQ_INT(ladder__held(l), 1);
	ladder__conn(l, &sv, now + 2000000);
	out = sink_text(&s);
	CHECK_EQ_INT(ladder__held(l), 0);
	CHECK_EQ_INT(count(out, "\nleft "), 1);
	CHECK_EQ_INT(count(out, "(measured)\n"), 2);
	CHECK(!strstr(out, "(inferred)"));
	CHECK(strstr(out, "+0.000 is 2026-11-21T19:05:05.000000000Z\n"));
	check_text(out, true);
	ladder__free(l);
	sink_close(&s);

	/* the server first: still one ladder, the client on the left */
	l = sink_open(&s, 500);
	ladder__conn(l, &sv, now);
	ladder__conn(l, &c, now);
	out = sink_text(&s);
	CHECK_EQ_INT(count(out, "(measured)\n"), 2);
	CHECK(strstr(out, "\nleft   10.200.0.1:43210  client"));
	ladder__free(l);
	sink_close(&s);

	/* alone: nothing before hold_ms, then drawn with the far side inferred */
	l = sink_open(&s, 500);
	ladder__conn(l, &c, now);
	ladder__tick(l, now + 499 * 1000000ULL);
	CHECK_EQ_STR(sink_text(&s), "");
	ladder__tick(l, now - SEC); /* a clock that went back draws nothing */
	CHECK_EQ_STR(sink_text(&s), "");
	ladder__tick(l, now + 500 * 1000000ULL);
	out = sink_text(&s);
	CHECK_EQ_INT(count(out, "(measured)\n"), 1);
	CHECK(strstr(out, "right  10.200.0.2:5004   server  (inferred)"));
	CHECK_EQ_INT(ladder__held(l), 0);
	/* a mirror arriving after that is drawn alone too, in its turn */
	ladder__conn(l, &sv, now + SEC);
	CHECK_EQ_INT(ladder__held(l), 1);
	ladder__free(l);
	out = s.buf;
	CHECK_EQ_INT(count(out, "(inferred)\n"), 2);
	sink_close(&s);

	/* same tuple, other ISNs (another netns pair reusing the addresses):
	 * not a mirror; nor is one whose span does not overlap */
	l = sink_open(&s, 500);
	other = sv;
	other.handshake.isn_local = 12345;
	ladder__conn(l, &c, now);
	ladder__conn(l, &other, now);
	CHECK_EQ_INT(ladder__held(l), 2);
	other = sv;
	other.handshake.isn_local_known = false;
	other.handshake.isn_remote_known = false;
	other.start_ns += 100 * SEC;
	other.end_ns += 100 * SEC;
	ladder__conn(l, &other, now);
	CHECK_EQ_INT(ladder__held(l), 3);
	/* the real mirror still finds its client among them */
	ladder__conn(l, &sv, now);
	CHECK_EQ_INT(ladder__held(l), 2);
	out = sink_text(&s);
	CHECK_EQ_INT(count(out, "(measured)\n"), 2);
	ladder__free(l);
	CHECK_EQ_INT(count(s.buf, "+0.000 is "), 3);
	sink_close(&s);

	/* a dual-stack server's end of an IPv4 connection is AF_INET6 with
	 * ::ffff:a.b.c.d at both ends: still the IPv4 client's mirror */
	l = sink_open(&s, 500);
	mapped = sv;
	fixture_v4_mapped(&mapped.family, mapped.laddr, mapped.raddr);
	ladder__conn(l, &c, now);
	ladder__conn(l, &mapped, now);
	CHECK_EQ_INT(ladder__held(l), 0);
	out = sink_text(&s);
	CHECK_EQ_INT(count(out, "(measured)\n"), 2);
	CHECK(!strstr(out, "(inferred)"));
	ladder__free(l);
	sink_close(&s);
	/* ... in either order; an IPv6 end whose addresses are not both
	 * mapped is no IPv4 end's mirror */
	l = sink_open(&s, 500);
	ladder__conn(l, &mapped, now);
	ladder__conn(l, &c, now);
	CHECK_EQ_INT(ladder__held(l), 0);
	mapped.raddr[10] = 0;
	ladder__conn(l, &mapped, now);
	ladder__conn(l, &c, now);
	CHECK_EQ_INT(ladder__held(l), 2);
	ladder__free(l);
	sink_close(&s);
}

static void test_bounded(void)
{
	struct conn_record r;
	struct ladder *l;
	struct sink s;

	l = sink_open(&s, 60000);
	client_close(&r);
	for (int i = 0; i < LADDER_MAX_HELD; i++) {
		r.lport = (uint16_t)(10000 + i);
		ladder__conn(l, &r, SEC);
	}
	CHECK_EQ_INT(ladder__held(l), LADDER_MAX_HELD);
	CHECK_EQ_STR(sink_text(&s), "");
	/* one more: the oldest is drawn alone at once */
	r.lport = 9999;
	ladder__conn(l, &r, SEC);
	CHECK_EQ_INT(ladder__held(l), LADDER_MAX_HELD);
	CHECK_EQ_INT(count(sink_text(&s), "+0.000 is "), 1);
	CHECK(strstr(s.buf, "left   10.200.0.1:10000 "));
	ladder__free(l);
	CHECK_EQ_INT(count(s.buf, "+0.000 is "), LADDER_MAX_HELD + 1);
	sink_close(&s);

	ladder__free(NULL);
	ladder__tick(NULL, 0);
	ladder__conn(NULL, &r, 0);
}

/* The ladders' character set follows the user's locale: UTF-8 only where
 * LC_ALL, LC_CTYPE or LANG (first set wins) says so. */
static bool wants_ascii_with(const char *lc_all, const char *lc_ctype, const char *lang)
{
	const char *names[] = { "LC_ALL", "LC_CTYPE", "LANG" };
	const char *values[] = { lc_all, lc_ctype, lang };

	for (int i = 0; i < 3; i++) {
		if (values[i])
			setenv(names[i], values[i], 1);
		else
			unsetenv(names[i]);
	}
	return ladder_locale_wants_ascii();
}

static void test_locale(void)
{
	char *saved[3] = { NULL, NULL, NULL };
	const char *names[] = { "LC_ALL", "LC_CTYPE", "LANG" };

	for (int i = 0; i < 3; i++)
		saved[i] = getenv(names[i]) ? strdup(getenv(names[i])) : NULL;

	CHECK(!wants_ascii_with("C.UTF-8", NULL, NULL));
	CHECK(!wants_ascii_with(NULL, NULL, "C.UTF-8"));
	CHECK(!wants_ascii_with(NULL, "C.utf8", "C"));
	CHECK(wants_ascii_with("C", NULL, "C.UTF-8"));      /* LC_ALL wins */
	CHECK(wants_ascii_with("POSIX", NULL, NULL));
	CHECK(wants_ascii_with(NULL, NULL, NULL));           /* no locale: C */
	CHECK(wants_ascii_with("", "", ""));
	/* not installed here: judged by the name */
	CHECK(!wants_ascii_with(NULL, NULL, "xx_YY.UTF-8"));
	CHECK(!wants_ascii_with("xx_YY.utf8@euro", NULL, NULL));
	CHECK(wants_ascii_with(NULL, NULL, "xx_YY.ISO-8859-1"));
	CHECK(wants_ascii_with(NULL, NULL, "xx_YY"));

	for (int i = 0; i < 3; i++) {
		if (saved[i])
			setenv(names[i], saved[i], 1);
		else
			unsetenv(names[i]);
		free(saved[i]);
	}
}

static const struct unit_case cases[] = {
	{ "ladder_client_close", test_client_close },
	{ "ladder_server_close", test_server_close },
	{ "ladder_fin_ack_merged", test_fin_ack_merged },
	{ "ladder_pair", test_pair },
	{ "ladder_refused", test_refused },
	{ "ladder_syn_timeout", test_syn_timeout },
	{ "ladder_simultaneous_close", test_simultaneous_close },
	{ "ladder_linger0", test_linger0 },
	{ "ladder_rst_close_wait", test_rst_close_wait },
	{ "ladder_fin_wait2_orphan", test_fin_wait2_orphan },
	{ "ladder_orphan_reset", test_orphan_reset },
	{ "ladder_simultaneous_open", test_simultaneous_open },
	{ "ladder_extremes", test_extremes },
	{ "ladder_random", test_random },
	{ "ladder_pairing", test_pairing },
	{ "ladder_bounded", test_bounded },
	{ "ladder_locale", test_locale },
};

UNIT_MAIN(cases)
