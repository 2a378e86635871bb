// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Reconstruction tests: event sequences as KERNEL-NOTES recorded them on
 * this kernel, fed to the engine, and the conn_record it must produce. */
#include "engine_fixture.h"

/* KERNEL-NOTES 1(a): the client closes first, the server 300 ms later. */
static void test_client_closes_first(void)
{
	struct engine *eng = fresh(0, 0);
	struct sk c = client;

	c.lport = 0; /* no local port before connect() picks one */
	state(eng, &c, 100 * MS, SYNFIN_TCP_CLOSE, SYNFIN_TCP_SYN_SENT, 0, 0, 0, 0);
	c.lport = 40000;
	state(eng, &c, 101 * MS, SYNFIN_TCP_SYN_SENT, SYNFIN_TCP_ESTABLISHED, 0, 0, 1, 0);
	state(eng, &c, 200 * MS, SYNFIN_TCP_ESTABLISHED, SYNFIN_TCP_FIN_WAIT1, 0,
	      SYNFIN_F_PROC_CTX, 1001, 3000);
	state(eng, &c, 242 * MS, SYNFIN_TCP_FIN_WAIT1, SYNFIN_TCP_FIN_WAIT2, 0, 0, 1002, 3000);
	/* orphan handed to a FIN_WAIT2 tw: peer FIN not here (done=0) */
	state(eng, &c, 242 * MS, SYNFIN_TCP_FIN_WAIT2, SYNFIN_TCP_CLOSE, 0,
	      SYNFIN_F_DEAD | SYNFIN_F_ORPHAN, 1002, 3000);
	CHECK_EQ_INT(ngot, 1);
	CHECK_EQ_INT(got[0].role, ROLE_CLIENT);
	CHECK_EQ_INT(got[0].lport, 40000);
	CHECK_EQ_INT(got[0].pid, 111);
	CHECK_EQ_STR(got[0].comm, "cli");
	CHECK_EQ_INT(got[0].handshake.result, HS_ESTABLISHED);
	CHECK(got[0].handshake.ms > 0.999 && got[0].handshake.ms < 1.001);
	CHECK_EQ_INT(got[0].close.initiator, CLOSE_BY_LOCAL);
	CHECK_EQ_INT(got[0].close.how, HOW_FIN);
	CHECK_EQ_INT(got[0].bytes_sent, 1000);
	CHECK_EQ_INT(got[0].bytes_received, 3000);
	CHECK_EQ_INT(got[0].last_state, SYNFIN_TCP_FIN_WAIT2);
	CHECK_EQ_INT(got[0].start_ns, 100 * MS);
	CHECK_EQ_INT(got[0].end_ns, 242 * MS);
	CHECK_EQ_INT(engine__live(eng), 0);
	CHECK(!conn_failed(&got[0]));
	engine__free(eng);
}

/* The server's side of 1(a): passive close through CLOSE_WAIT, LAST_ACK. */
static void test_server_passive_close(void)
{
	struct engine *eng = fresh(0, 0);
	struct sk s = server;
	struct synfin_event e;

	/* before accept(): the provisional owner is the listener's */
	s.owner_flags = SYNFIN_F_OWNER_KNOWN | SYNFIN_F_PASSIVE;
	s.pid = 220;
	s.comm = "listener";
	state(eng, &s, 101 * MS, SYNFIN_TCP_LISTEN, SYNFIN_TCP_SYN_RECV, 0, 0, 0, 0);
	e = ev_of(&s, SYNFIN_EV_STATE, 101 * MS, SYNFIN_TCP_SYN_RECV, SYNFIN_TCP_ESTABLISHED);
	e.srtt_us = 86;
	e.total_retrans = 0;
	engine__handle(eng, &e);
	s = server; /* accept() named the real owner */
	state(eng, &s, 200 * MS, SYNFIN_TCP_ESTABLISHED, SYNFIN_TCP_CLOSE_WAIT, 0,
	      SYNFIN_F_DONE, 3000, 1001);
	state(eng, &s, 500 * MS, SYNFIN_TCP_CLOSE_WAIT, SYNFIN_TCP_LAST_ACK, 0,
	      SYNFIN_F_DONE | SYNFIN_F_PROC_CTX, 3000, 1001);
	state(eng, &s, 501 * MS, SYNFIN_TCP_LAST_ACK, SYNFIN_TCP_CLOSE, 0,
	      SYNFIN_F_DONE | SYNFIN_F_DEAD, 3001, 1001);
	CHECK_EQ_INT(ngot, 1);
	CHECK_EQ_INT(got[0].role, ROLE_SERVER);
	CHECK_EQ_INT(got[0].pid, 222);
	CHECK_EQ_STR(got[0].comm, "srv");
	CHECK_EQ_INT(got[0].handshake.result, HS_ESTABLISHED);
	CHECK(got[0].handshake.ms > 0.085 && got[0].handshake.ms < 0.087);
	CHECK_EQ_INT(got[0].close.initiator, CLOSE_BY_REMOTE);
	CHECK_EQ_INT(got[0].close.how, HOW_FIN);
	CHECK_EQ_INT(got[0].bytes_sent, 3000);
	CHECK_EQ_INT(got[0].bytes_received, 1000);
	CHECK(!conn_failed(&got[0]));
	engine__free(eng);
}

/* A server's start is the SYN's arrival: the child is born at the final
 * ACK, a SYN-ACK RTT later. The events after ESTABLISHED carry the
 * child's birth as their start_ns and must not undo that. */
static void test_server_start_at_syn(void)
{
	struct engine *eng = fresh(0, 0);
	struct synfin_event e;

	state(eng, &server, 101 * MS, SYNFIN_TCP_LISTEN, SYNFIN_TCP_SYN_RECV, 0, 0, 0, 0);
	e = ev_of(&server, SYNFIN_EV_STATE, 101 * MS, SYNFIN_TCP_SYN_RECV,
		  SYNFIN_TCP_ESTABLISHED);
	e.srtt_us = 50000;
	engine__handle(eng, &e);
	state(eng, &server, 200 * MS, SYNFIN_TCP_ESTABLISHED, SYNFIN_TCP_CLOSE_WAIT, 0,
	      SYNFIN_F_DONE, 0, 1);
	state(eng, &server, 300 * MS, SYNFIN_TCP_CLOSE_WAIT, SYNFIN_TCP_LAST_ACK, 0, 0, 0, 1);
	state(eng, &server, 301 * MS, SYNFIN_TCP_LAST_ACK, SYNFIN_TCP_CLOSE, 0, 0, 1, 1);
	CHECK_EQ_INT(ngot, 1);
	CHECK_EQ_INT(got[0].role, ROLE_SERVER);
	CHECK(got[0].handshake.ms > 49.999 && got[0].handshake.ms < 50.001);
	CHECK_EQ_INT(got[0].start_ns, 51 * MS);
	CHECK_EQ_INT(got[0].end_ns, 301 * MS);
	engine__free(eng);
}

/* Variant a0: FIN and ACK together, the peer's FIN is in (done=1). */
static void test_fin_wait2_with_peer_fin(void)
{
	struct engine *eng = fresh(0, 0);

	client_opens(eng, &client);
	state(eng, &client, 150 * MS, SYNFIN_TCP_ESTABLISHED, SYNFIN_TCP_FIN_WAIT1, 0, 0, 11, 20);
	state(eng, &client, 151 * MS, SYNFIN_TCP_FIN_WAIT1, SYNFIN_TCP_FIN_WAIT2, 0, 0, 12, 21);
	state(eng, &client, 151 * MS, SYNFIN_TCP_FIN_WAIT2, SYNFIN_TCP_CLOSE, 0,
	      SYNFIN_F_DONE | SYNFIN_F_DEAD, 12, 21);
	CHECK_EQ_INT(ngot, 1);
	CHECK_EQ_INT(got[0].bytes_sent, 10);
	CHECK_EQ_INT(got[0].bytes_received, 20);
	CHECK_EQ_INT(got[0].close.how, HOW_FIN);
	engine__free(eng);
}

/* 1(c): both FINs cross; this end goes through CLOSING. */
static void test_simultaneous_close(void)
{
	struct engine *eng = fresh(0, 0);

	client_opens(eng, &client);
	state(eng, &client, 200 * MS, SYNFIN_TCP_ESTABLISHED, SYNFIN_TCP_FIN_WAIT1, 0, 0, 1, 0);
	state(eng, &client, 201 * MS, SYNFIN_TCP_FIN_WAIT1, SYNFIN_TCP_CLOSING, 0,
	      SYNFIN_F_DONE, 1, 1);
	state(eng, &client, 414 * MS, SYNFIN_TCP_CLOSING, SYNFIN_TCP_CLOSE, 0,
	      SYNFIN_F_DONE | SYNFIN_F_DEAD, 2, 1);
	CHECK_EQ_INT(ngot, 1);
	CHECK_EQ_INT(got[0].close.initiator, CLOSE_BY_BOTH);
	CHECK_EQ_INT(got[0].close.how, HOW_FIN);
	CHECK_EQ_INT(got[0].bytes_sent, 0);
	CHECK_EQ_INT(got[0].bytes_received, 0);
	CHECK(!conn_failed(&got[0]));
	engine__free(eng);
}

/* 1(d): connect to a closed port; the tuple is wiped after the CLOSE. */
static void test_refused(void)
{
	struct engine *eng = fresh(0, 0);
	struct synfin_event e = ev_of(&client, SYNFIN_EV_RESET_RECEIVED, 100 * MS,
				      SYNFIN_TCP_SYN_SENT, SYNFIN_TCP_SYN_SENT);

	state(eng, &client, 100 * MS, SYNFIN_TCP_CLOSE, SYNFIN_TCP_SYN_SENT, 0, 0, 0, 0);
	engine__handle(eng, &e);
	state(eng, &client, 100 * MS, SYNFIN_TCP_SYN_SENT, SYNFIN_TCP_CLOSE, 111, 0, 0, 0);
	/* the socket's send_reset after the fact must not resurrect it */
	e = ev_of(&client, SYNFIN_EV_RESET_SENT, 101 * MS, SYNFIN_TCP_CLOSE, SYNFIN_TCP_CLOSE);
	engine__handle(eng, &e);
	CHECK_EQ_INT(ngot, 1);
	CHECK_EQ_INT(got[0].handshake.result, HS_REFUSED);
	CHECK(got[0].handshake.ms < 0);
	CHECK_EQ_INT(got[0].close.initiator, CLOSE_BY_NONE);
	CHECK_EQ_INT(got[0].close.err, 111);
	CHECK(conn_failed(&got[0]));
	CHECK_EQ_INT(engine__live(eng), 0);
	engine__free(eng);
}

/* 1(e): SYNs unanswered, two retransmits, ETIMEDOUT from the timer. */
static void test_syn_timeout(void)
{
	struct engine *eng = fresh(0, 0);
	struct synfin_event e;

	state(eng, &client, 100 * MS, SYNFIN_TCP_CLOSE, SYNFIN_TCP_SYN_SENT, 0, 0, 0, 0);
	for (int i = 1; i <= 2; i++) {
		e = ev_of(&client, SYNFIN_EV_RETRANSMIT, (100 + 1000 * i) * MS,
			  SYNFIN_TCP_SYN_SENT, SYNFIN_TCP_SYN_SENT);
		e.tcp_flags = 0x02;
		engine__handle(eng, &e);
	}
	e = ev_of(&client, SYNFIN_EV_STATE, 3180 * MS, SYNFIN_TCP_SYN_SENT, SYNFIN_TCP_CLOSE);
	e.err = 110;
	e.total_retrans = 2;
	engine__handle(eng, &e);
	CHECK_EQ_INT(ngot, 1);
	CHECK_EQ_INT(got[0].handshake.result, HS_TIMEOUT);
	CHECK_EQ_INT(got[0].handshake.syn_retrans, 2);
	CHECK(got[0].handshake.ms < 0);
	CHECK_EQ_INT(got[0].close.err, 110);
	CHECK(conn_failed(&got[0]));
	engine__free(eng);
}

/* 1(f): SO_LINGER{1,0}: the client aborts, the server gets the RST. */
/* A SYN answered by an ICMP error (a firewall's reject, no route):
 * tcp_v4_err ends connect() with EHOSTUNREACH. No one here closed it. */
static void test_syn_unreachable(void)
{
	struct engine *eng = fresh(0, 0);

	state(eng, &client, 100 * MS, SYNFIN_TCP_CLOSE, SYNFIN_TCP_SYN_SENT, 0, 0, 0, 0);
	state(eng, &client, 101 * MS, SYNFIN_TCP_SYN_SENT, SYNFIN_TCP_CLOSE, 113, 0, 0, 0);
	CHECK_EQ_INT(ngot, 1);
	CHECK_EQ_INT(got[0].handshake.result, HS_UNREACHABLE);
	CHECK(strcmp(handshake_name(got[0].handshake.result), "unreachable") == 0);
	CHECK_EQ_INT(got[0].close.how, HOW_NONE);
	CHECK_EQ_INT(got[0].close.err, 113);
	CHECK(conn_failed(&got[0]));
	engine__free(eng);
}

/* Retransmissions that ran out after an ICMP error: tcp_write_err()
 * closes with the soft error (sk_err_soft), not ETIMEDOUT. */
static void test_timeout_with_soft_error(void)
{
	struct engine *eng = fresh(0, 0);

	client_opens(eng, &client);
	state(eng, &client, 9000 * MS, SYNFIN_TCP_ESTABLISHED, SYNFIN_TCP_CLOSE, 113, 0, 1, 0);
	CHECK_EQ_INT(ngot, 1);
	CHECK_EQ_INT(got[0].handshake.result, HS_ESTABLISHED);
	CHECK_EQ_INT(got[0].close.how, HOW_TIMEOUT);
	CHECK_EQ_INT(got[0].close.initiator, CLOSE_BY_NONE);
	CHECK(conn_failed(&got[0]));
	engine__free(eng);
}

/* shutdown(SHUT_WR), the FIN acked, then close() with SO_LINGER 0:
 * tcp_disconnect() takes FIN-WAIT-2 to CLOSE and only then resets. The
 * same FIN-WAIT-2 ended by the peer's FIN (DONE) or orphaned by a plain
 * close() is an orderly wave. */
static void test_linger0_from_fin_wait2(void)
{
	static const uint16_t ends[] = { SYNFIN_F_LINGER0, SYNFIN_F_DONE, SYNFIN_F_ORPHAN | SYNFIN_F_DEAD };
	static const enum close_how want[] = { HOW_RST_SENT, HOW_FIN, HOW_FIN };

	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		struct engine *eng = fresh(0, 0);

		client_opens(eng, &client);
		state(eng, &client, 200 * MS, SYNFIN_TCP_ESTABLISHED, SYNFIN_TCP_FIN_WAIT1, 0, 0, 1, 0);
		state(eng, &client, 201 * MS, SYNFIN_TCP_FIN_WAIT1, SYNFIN_TCP_FIN_WAIT2, 0, 0, 2, 0);
		state(eng, &client, 300 * MS, SYNFIN_TCP_FIN_WAIT2, SYNFIN_TCP_CLOSE, 0, ends[i], 2, 0);
		CHECK_EQ_INT(ngot, 1);
		CHECK_EQ_INT(got[0].close.how, want[i]);
		CHECK_EQ_INT(got[0].close.initiator, CLOSE_BY_LOCAL);
		if (want[i] == HOW_RST_SENT)
			CHECK_EQ_INT(got[0].close.rst_cause, RST_CAUSE_LINGER0);
		CHECK_EQ_INT(conn_failed(&got[0]), want[i] == HOW_RST_SENT);
		engine__free(eng);
	}
}

static void test_linger0_abort(void)
{
	struct engine *eng = fresh(0, 0);
	struct synfin_event e;

	client_opens(eng, &client);
	server_opens(eng, &server);
	state(eng, &client, 200 * MS, SYNFIN_TCP_ESTABLISHED, SYNFIN_TCP_CLOSE, 0, 0, 1, 0);
	e = ev_of(&server, SYNFIN_EV_RESET_RECEIVED, 200 * MS, SYNFIN_TCP_ESTABLISHED,
		  SYNFIN_TCP_ESTABLISHED);
	engine__handle(eng, &e);
	state(eng, &server, 200 * MS, SYNFIN_TCP_ESTABLISHED, SYNFIN_TCP_CLOSE, 104, 0, 0, 0);
	CHECK_EQ_INT(ngot, 2);
	CHECK_EQ_INT(got[0].role, ROLE_CLIENT);
	CHECK_EQ_INT(got[0].close.how, HOW_RST_SENT);
	CHECK_EQ_INT(got[0].close.initiator, CLOSE_BY_LOCAL);
	CHECK_EQ_INT(got[1].role, ROLE_SERVER);
	CHECK_EQ_INT(got[1].close.how, HOW_RST_RECEIVED);
	CHECK_EQ_INT(got[1].close.initiator, CLOSE_BY_REMOTE);
	CHECK_EQ_INT(got[1].close.err, 104);
	CHECK(conn_failed(&got[0]));
	CHECK(conn_failed(&got[1]));
	engine__free(eng);
}

/* RST received in CLOSE_WAIT gives EPIPE (KERNEL-NOTES 1, other transitions). */
static void test_rst_in_close_wait(void)
{
	struct engine *eng = fresh(0, 0);

	server_opens(eng, &server);
	state(eng, &server, 150 * MS, SYNFIN_TCP_ESTABLISHED, SYNFIN_TCP_CLOSE_WAIT, 0,
	      SYNFIN_F_DONE, 0, 1);
	state(eng, &server, 900 * MS, SYNFIN_TCP_CLOSE_WAIT, SYNFIN_TCP_CLOSE, 32,
	      SYNFIN_F_DONE, 0, 1);
	CHECK_EQ_INT(ngot, 1);
	CHECK_EQ_INT(got[0].close.initiator, CLOSE_BY_REMOTE);
	CHECK_EQ_INT(got[0].close.how, HOW_RST_RECEIVED);
	CHECK_EQ_INT(got[0].close.err, 32);
	CHECK(conn_failed(&got[0]));
	engine__free(eng);
}

static void count_visit(const struct conn_record *rec, void *ctx)
{
	(void)rec;
	(*(int *)ctx)++;
}

static int close_waits_visited(const struct engine *eng)
{
	int n = 0;

	engine__foreach_close_wait(eng, count_visit, &n);
	return n;
}

/* The monitor's CLOSE_WAIT tally visits the open connections in
 * CLOSE_WAIT, seeded or followed, as they come and go, and no other. */
static void test_close_wait_visits(void)
{
	struct engine *eng = fresh(0, 0);
	struct synfin_seed seed = { .cookie = 5005, .family = SYNFIN_AF_INET,
				    .state = SYNFIN_TCP_CLOSE_WAIT, .lport = 80, .rport = 50000 };

	engine__seed(eng, &seed, 50 * MS);
	seed.cookie = 5006;
	seed.state = SYNFIN_TCP_ESTABLISHED;
	engine__seed(eng, &seed, 50 * MS);
	CHECK_EQ_INT(close_waits_visited(eng), 1);
	server_opens(eng, &server);
	CHECK_EQ_INT(close_waits_visited(eng), 1);
	state(eng, &server, 150 * MS, SYNFIN_TCP_ESTABLISHED, SYNFIN_TCP_CLOSE_WAIT, 0,
	      SYNFIN_F_DONE, 0, 1);
	CHECK_EQ_INT(close_waits_visited(eng), 2);
	state(eng, &server, 500 * MS, SYNFIN_TCP_CLOSE_WAIT, SYNFIN_TCP_LAST_ACK, 0,
	      SYNFIN_F_DONE, 1, 1);
	CHECK_EQ_INT(close_waits_visited(eng), 1);
	state(eng, &server, 600 * MS, SYNFIN_TCP_LAST_ACK, SYNFIN_TCP_CLOSE, 0,
	      SYNFIN_F_DONE, 1, 1);
	CHECK_EQ_INT(close_waits_visited(eng), 1);
	engine__free(eng);
}

/* A reset while the child is in SYN_RECV. */
static void test_reset_in_syn_recv(void)
{
	struct engine *eng = fresh(0, 0);
	struct synfin_event e;

	state(eng, &server, 101 * MS, SYNFIN_TCP_LISTEN, SYNFIN_TCP_SYN_RECV, 0, 0, 0, 0);
	e = ev_of(&server, SYNFIN_EV_RESET_RECEIVED, 102 * MS, SYNFIN_TCP_SYN_RECV,
		  SYNFIN_TCP_SYN_RECV);
	engine__handle(eng, &e);
	state(eng, &server, 102 * MS, SYNFIN_TCP_SYN_RECV, SYNFIN_TCP_CLOSE, 104, 0, 0, 0);
	CHECK_EQ_INT(ngot, 1);
	CHECK_EQ_INT(got[0].handshake.result, HS_RESET);
	CHECK_EQ_INT(got[0].close.initiator, CLOSE_BY_NONE);
	CHECK(conn_failed(&got[0]));
	engine__free(eng);
}

/* A Fast Open child reset in SYN_RECV after two SYN-ACK retransmits
 * (tcp_rtx_synack counts them in its total_retrans): a server's are
 * SYN-ACKs, not SYNs, and its history has no T. */
static void test_synack_retrans_in_syn_recv(void)
{
	struct engine *eng = fresh(0, 0);
	struct synfin_event e;

	state(eng, &server, 101 * MS, SYNFIN_TCP_LISTEN, SYNFIN_TCP_SYN_RECV, 0, 0, 0, 0);
	e = ev_of(&server, SYNFIN_EV_STATE, 3101 * MS, SYNFIN_TCP_SYN_RECV, SYNFIN_TCP_CLOSE);
	e.err = 104;
	e.total_retrans = 2;
	engine__handle(eng, &e);
	CHECK_EQ_INT(ngot, 1);
	CHECK_EQ_INT(got[0].role, ROLE_SERVER);
	CHECK_EQ_INT(got[0].handshake.result, HS_RESET);
	CHECK_EQ_INT(got[0].handshake.synack_retrans, 2);
	CHECK_EQ_INT(got[0].handshake.syn_retrans, 0);
	CHECK_EQ_STR(got[0].history, "Shr");
	CHECK_EQ_STR(got[0].conn_state, "RSTR");
	engine__free(eng);
}

/* Opened before synfin started: seeded from sock_diag, closed later. */
static void test_seeded(void)
{
	struct engine *eng = fresh(0, 0);
	struct synfin_seed seed = { .cookie = 3003, .family = SYNFIN_AF_INET,
				    .state = SYNFIN_TCP_ESTABLISHED, .lport = 5000,
				    .rport = 41000, .pid = 333, .role = ROLE_SERVER };
	struct sk s = { .cookie = 3003, .lport = 5000, .rport = 41000 };

	strcpy(seed.comm, "old");
	seed.uid = 33;
	engine__seed(eng, &seed, 50 * MS);
	engine__seed(eng, &seed, 51 * MS); /* seen twice: kept once */
	CHECK_EQ_INT(engine__live(eng), 1);
	/* storage created late: no owner, no start in the events */
	state(eng, &s, 300 * MS, SYNFIN_TCP_ESTABLISHED, SYNFIN_TCP_FIN_WAIT1, 0, 0, 5, 7);
	state(eng, &s, 301 * MS, SYNFIN_TCP_FIN_WAIT1, SYNFIN_TCP_FIN_WAIT2, 0, 0, 6, 7);
	state(eng, &s, 302 * MS, SYNFIN_TCP_FIN_WAIT2, SYNFIN_TCP_CLOSE, 0, SYNFIN_F_DONE, 6, 8);
	CHECK_EQ_INT(ngot, 1);
	CHECK(got[0].seeded);
	CHECK_EQ_INT(got[0].handshake.result, HS_NOT_SEEN);
	CHECK_EQ_INT(got[0].role, ROLE_SERVER);
	CHECK_EQ_INT(got[0].pid, 333);
	CHECK_EQ_STR(got[0].comm, "old");
	CHECK(got[0].uid_known); /* sock_diag's, as no event carried one */
	CHECK_EQ_INT(got[0].uid, 33);
	CHECK_EQ_INT(got[0].start_ns, 50 * MS);
	CHECK_EQ_INT(got[0].close.initiator, CLOSE_BY_LOCAL);
	CHECK_EQ_INT(got[0].close.how, HOW_FIN);
	CHECK_EQ_INT(got[0].bytes_sent, 5); /* server: no SYN in bytes_acked */
	CHECK_EQ_INT(got[0].bytes_received, 7);
	CHECK(!conn_failed(&got[0])); /* no handshake seen is no failure */
	engine__free(eng);
}

/* A seed past the peer's FIN (CLOSE_WAIT, LAST_ACK, CLOSING): sock_diag
 * does not say the FIN's number, so it is not known until a state record
 * since, whose rcv_nxt is one past it; a destroy's is not read. */
static void test_seeded_past_peer_fin(void)
{
	struct engine *eng = fresh(0, 0);
	struct synfin_seed seed = { .cookie = 3003, .family = SYNFIN_AF_INET,
				    .state = SYNFIN_TCP_CLOSE_WAIT, .lport = 5000,
				    .rport = 41000, .pid = 333, .role = ROLE_SERVER };
	struct sk s = { .cookie = 3003, .lport = 5000, .rport = 41000 };
	struct synfin_event e;

	engine__seed(eng, &seed, 50 * MS);
	e = ev_of(&s, SYNFIN_EV_STATE, 300 * MS, SYNFIN_TCP_CLOSE_WAIT, SYNFIN_TCP_LAST_ACK);
	e.rcv_nxt = 777001;
	e.write_seq = 888000;
	engine__handle(eng, &e);
	e = ev_of(&s, SYNFIN_EV_STATE, 301 * MS, SYNFIN_TCP_LAST_ACK, SYNFIN_TCP_CLOSE);
	e.rcv_nxt = 777001;
	engine__handle(eng, &e);
	CHECK_EQ_INT(ngot, 1);
	CHECK(got[0].wave.remote_fin);
	CHECK(remote_fin_seq_known(&got[0]));
	CHECK_EQ_INT(got[0].wave.remote_fin_seq, 777000);
	CHECK_EQ_INT(got[0].wave.local_fin_seq, 888000);
	engine__free(eng);

	/* in LAST_ACK, and only its destroy seen */
	eng = fresh(0, 0);
	seed.state = SYNFIN_TCP_LAST_ACK;
	engine__seed(eng, &seed, 50 * MS);
	e = ev_of(&s, SYNFIN_EV_DESTROY, 301 * MS, SYNFIN_TCP_CLOSE, SYNFIN_TCP_CLOSE);
	e.rcv_nxt = 777001;
	engine__handle(eng, &e);
	CHECK_EQ_INT(ngot, 1);
	CHECK(got[0].wave.remote_fin);
	CHECK(!remote_fin_seq_known(&got[0]));
	engine__free(eng);
}

/* First seen past the handshake without a seed (its storage came late). */
static void test_first_seen_established(void)
{
	struct engine *eng = fresh(0, 0);
	struct sk s = { .cookie = 4004, .lport = 6000, .rport = 42000 };

	state(eng, &s, 300 * MS, SYNFIN_TCP_ESTABLISHED, SYNFIN_TCP_CLOSE_WAIT, 0,
	      SYNFIN_F_DONE, 0, 1);
	state(eng, &s, 301 * MS, SYNFIN_TCP_CLOSE_WAIT, SYNFIN_TCP_LAST_ACK, 0, 0, 0, 1);
	state(eng, &s, 302 * MS, SYNFIN_TCP_LAST_ACK, SYNFIN_TCP_CLOSE, 0, 0, 1, 1);
	CHECK_EQ_INT(ngot, 1);
	CHECK_EQ_INT(got[0].handshake.result, HS_NOT_SEEN);
	CHECK_EQ_INT(got[0].close.initiator, CLOSE_BY_REMOTE);
	CHECK_EQ_INT(got[0].close.how, HOW_FIN);
	CHECK(!conn_failed(&got[0]));
	engine__free(eng);
}

/* The ->CLOSE was lost; tcp_destroy_sock finishes the connection. */
static void test_destroy_without_close(void)
{
	struct engine *eng = fresh(0, 0);
	struct synfin_event e;

	client_opens(eng, &client);
	state(eng, &client, 200 * MS, SYNFIN_TCP_ESTABLISHED, SYNFIN_TCP_FIN_WAIT1, 0, 0, 1, 0);
	state(eng, &client, 201 * MS, SYNFIN_TCP_FIN_WAIT1, SYNFIN_TCP_FIN_WAIT2, 0, 0, 2, 0);
	e = ev_of(&client, SYNFIN_EV_DESTROY, 202 * MS, SYNFIN_TCP_CLOSE, SYNFIN_TCP_CLOSE);
	e.bytes_acked = 2;
	e.bytes_received = 1;
	e.flags |= SYNFIN_F_DONE;
	engine__handle(eng, &e);
	CHECK_EQ_INT(ngot, 1);
	CHECK_EQ_INT(got[0].last_state, SYNFIN_TCP_FIN_WAIT2);
	CHECK_EQ_INT(got[0].close.initiator, CLOSE_BY_LOCAL);
	CHECK_EQ_INT(got[0].close.how, HOW_FIN);
	CHECK_EQ_INT(engine__live(eng), 0);
	engine__free(eng);
}

/* At the cap, new connections are counted as lost, not silently dropped,
 * and the table keeps working after it drains. */
static void test_table_cap(void)
{
	struct engine *eng = fresh(16, 0);
	struct sk s = client;

	for (int i = 0; i < 20; i++) {
		s.cookie = 5000 + i;
		state(eng, &s, 100 * MS, SYNFIN_TCP_CLOSE, SYNFIN_TCP_SYN_SENT, 0, 0, 0, 0);
	}
	CHECK_EQ_INT(engine__live(eng), 16);
	CHECK_EQ_INT(engine__lost(eng, LOSS_TABLE_FULL), 4);
	for (int i = 0; i < 20; i++) {
		s.cookie = 5000 + i;
		state(eng, &s, 200 * MS, SYNFIN_TCP_SYN_SENT, SYNFIN_TCP_CLOSE, 111, 0, 0, 0);
	}
	CHECK_EQ_INT(ngot, 16);
	CHECK_EQ_INT(engine__live(eng), 0);
	engine__free(eng);
}

/* table_full counts connections the table had no room for, not their
 * events: one refused at its birth, a seed refused, and one first seen
 * mid-life (open before synfin, not seeded), each through its close. */
static void test_table_full_once_a_connection(void)
{
	struct engine *eng = fresh(1, 0);
	struct synfin_seed seed = { .cookie = 7007, .family = SYNFIN_AF_INET,
				    .state = SYNFIN_TCP_ESTABLISHED, .lport = 5000,
				    .rport = 41000 };
	struct sk b = client, seeded = { .cookie = 7007, .lport = 5000, .rport = 41000 };
	struct sk mid = { .cookie = 8008, .lport = 6000, .rport = 42000 };
	struct sk s = server;

	client_opens(eng, &client);  /* fills the table */
	b.cookie = 9009;
	client_opens(eng, &b);
	state(eng, &b, 200 * MS, SYNFIN_TCP_ESTABLISHED, SYNFIN_TCP_FIN_WAIT1, 0, 0, 1, 0);
	state(eng, &b, 201 * MS, SYNFIN_TCP_FIN_WAIT1, SYNFIN_TCP_FIN_WAIT2, 0, 0, 2, 0);
	state(eng, &b, 202 * MS, SYNFIN_TCP_FIN_WAIT2, SYNFIN_TCP_CLOSE, 0, SYNFIN_F_DONE, 2, 1);
	CHECK_EQ_INT(engine__lost(eng, LOSS_TABLE_FULL), 1);
	engine__seed(eng, &seed, 210 * MS);
	state(eng, &seeded, 300 * MS, SYNFIN_TCP_ESTABLISHED, SYNFIN_TCP_FIN_WAIT1, 0, 0, 5, 7);
	state(eng, &seeded, 301 * MS, SYNFIN_TCP_FIN_WAIT1, SYNFIN_TCP_FIN_WAIT2, 0, 0, 6, 7);
	state(eng, &seeded, 302 * MS, SYNFIN_TCP_FIN_WAIT2, SYNFIN_TCP_CLOSE, 0, SYNFIN_F_DONE,
	      6, 8);
	CHECK_EQ_INT(engine__lost(eng, LOSS_TABLE_FULL), 2);
	state(eng, &mid, 400 * MS, SYNFIN_TCP_ESTABLISHED, SYNFIN_TCP_CLOSE_WAIT, 0,
	      SYNFIN_F_DONE, 0, 1);
	state(eng, &mid, 401 * MS, SYNFIN_TCP_CLOSE_WAIT, SYNFIN_TCP_LAST_ACK, 0, 0, 0, 1);
	state(eng, &mid, 402 * MS, SYNFIN_TCP_LAST_ACK, SYNFIN_TCP_CLOSE, 0, 0, 1, 1);
	CHECK_EQ_INT(engine__lost(eng, LOSS_TABLE_FULL), 3);
	s.cookie = 9010;
	server_opens(eng, &s);
	state(eng, &s, 500 * MS, SYNFIN_TCP_ESTABLISHED, SYNFIN_TCP_CLOSE_WAIT, 0,
	      SYNFIN_F_DONE, 0, 1);
	state(eng, &s, 501 * MS, SYNFIN_TCP_CLOSE_WAIT, SYNFIN_TCP_LAST_ACK, 0, 0, 0, 1);
	state(eng, &s, 502 * MS, SYNFIN_TCP_LAST_ACK, SYNFIN_TCP_CLOSE, 0, 0, 1, 1);
	CHECK_EQ_INT(engine__lost(eng, LOSS_TABLE_FULL), 4);
	CHECK_EQ_INT(ngot, 0);
	CHECK_EQ_INT(engine__live(eng), 1);
	engine__free(eng);
}

/* Many live connections with deletions in between: the open-addressing
 * table must find every one (exercises growth and backward-shift). */
static void test_table_churn(void)
{
	struct engine *eng = fresh(100000, 0);
	struct sk s = client;
	int closed = 0;

	for (int i = 1; i <= 5000; i++) {
		s.cookie = (uint64_t)i * 7919;
		state(eng, &s, 100 * MS, SYNFIN_TCP_CLOSE, SYNFIN_TCP_SYN_SENT, 0, 0, 0, 0);
		if (i % 3 == 0) {
			s.cookie = (uint64_t)(i / 3) * 7919;
			state(eng, &s, 200 * MS, SYNFIN_TCP_SYN_SENT, SYNFIN_TCP_CLOSE, 111, 0, 0, 0);
			closed++;
		}
	}
	CHECK_EQ_INT(engine__live(eng), 5000 - closed);
	for (int i = 1; i <= 5000; i++) {
		s.cookie = (uint64_t)i * 7919;
		state(eng, &s, 300 * MS, SYNFIN_TCP_SYN_SENT, SYNFIN_TCP_CLOSE, 111, 0, 0, 0);
	}
	CHECK_EQ_INT(ngot, 5000);
	CHECK_EQ_INT(engine__live(eng), 0);
	CHECK_EQ_INT(engine__lost(eng, LOSS_TABLE_FULL), 0);
	engine__free(eng);
}

/* -p: an owner learned after the kernel let the events through. */
static void test_pid_filter_late_owner(void)
{
	struct engine *eng = fresh(0, 222);

	state(eng, &client, 100 * MS, SYNFIN_TCP_CLOSE, SYNFIN_TCP_SYN_SENT, 0, 0, 0, 0);
	state(eng, &client, 200 * MS, SYNFIN_TCP_SYN_SENT, SYNFIN_TCP_CLOSE, 111, 0, 0, 0);
	state(eng, &server, 101 * MS, SYNFIN_TCP_LISTEN, SYNFIN_TCP_SYN_RECV, 0, 0, 0, 0);
	state(eng, &server, 200 * MS, SYNFIN_TCP_SYN_RECV, SYNFIN_TCP_CLOSE, 104, 0, 0, 0);
	CHECK_EQ_INT(ngot, 1);
	CHECK_EQ_INT(got[0].pid, 222);
	engine__free(eng);
}

/* -F/--failed on records the reconstruction can give: what the scenarios
 * above do not reach (an error with no reset, a close not seen, an abort
 * before the handshake). */
static void test_failed_verdict(void)
{
	static const struct {
		enum handshake_result hs;
		enum close_how how;
		int err;
		bool failed;
	} cases[] = {
		{ HS_ESTABLISHED, HOW_FIN, 0, false },
		{ HS_NOT_SEEN, HOW_FIN, 0, false },     /* open before synfin */
		{ HS_ESTABLISHED, HOW_NONE, 0, false }, /* the close was not seen */
		{ HS_ESTABLISHED, HOW_UNKNOWN, 0, false },
		{ HS_ESTABLISHED, HOW_UNKNOWN, 113, true }, /* EHOSTUNREACH */
		{ HS_ESTABLISHED, HOW_TIMEOUT, 110, true },
		{ HS_ESTABLISHED, HOW_RST_SENT, 0, true },
		{ HS_NOT_SEEN, HOW_RST_RECEIVED, 104, true },
		{ HS_ABORTED, HOW_NONE, 0, true },
		{ HS_REFUSED, HOW_NONE, 111, true },
		{ HS_TIMEOUT, HOW_NONE, 110, true },
		{ HS_UNREACHABLE, HOW_NONE, 113, true },
		{ HS_RESET, HOW_NONE, 104, true },
	};
	struct conn_record r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&r, 0, sizeof(r));
		r.handshake.result = cases[i].hs;
		r.close.how = cases[i].how;
		r.close.err = cases[i].err;
		if (conn_failed(&r) != cases[i].failed) {
			fprintf(stderr, "  case %zu: conn_failed is %d\n", i, !cases[i].failed);
			unit_case_failed = 1;
		}
	}
}

/* -c: the owner's name, as strict at the report as -p: an owner still
 * unknown is not the one asked for, and a longer comm does not match a
 * prefix of it. */
static void test_comm_filter(void)
{
	static struct synfin_filter f = { .have_comm = true };
	struct engine_opts o = { .on_conn = collect, .filter = &f };
	struct sk unknown = client, longer = client;
	struct engine *eng;

	memcpy(f.comm, "srv", 4);
	ngot = 0;
	eng = engine__new(&o);
	state(eng, &client, 100 * MS, SYNFIN_TCP_CLOSE, SYNFIN_TCP_SYN_SENT, 0, 0, 0, 0);
	state(eng, &client, 200 * MS, SYNFIN_TCP_SYN_SENT, SYNFIN_TCP_CLOSE, 111, 0, 0, 0);
	state(eng, &server, 101 * MS, SYNFIN_TCP_LISTEN, SYNFIN_TCP_SYN_RECV, 0, 0, 0, 0);
	state(eng, &server, 200 * MS, SYNFIN_TCP_SYN_RECV, SYNFIN_TCP_CLOSE, 104, 0, 0, 0);
	unknown.cookie = 3003;
	unknown.owner_flags = SYNFIN_F_ACTIVE;
	unknown.pid = 0;
	state(eng, &unknown, 100 * MS, SYNFIN_TCP_CLOSE, SYNFIN_TCP_SYN_SENT, 0, 0, 0, 0);
	state(eng, &unknown, 200 * MS, SYNFIN_TCP_SYN_SENT, SYNFIN_TCP_CLOSE, 111, 0, 0, 0);
	longer.cookie = 4004;
	longer.comm = "srvd";
	state(eng, &longer, 100 * MS, SYNFIN_TCP_CLOSE, SYNFIN_TCP_SYN_SENT, 0, 0, 0, 0);
	state(eng, &longer, 200 * MS, SYNFIN_TCP_SYN_SENT, SYNFIN_TCP_CLOSE, 111, 0, 0, 0);
	CHECK_EQ_INT(ngot, 1);
	CHECK_EQ_STR(got[0].comm, "srv");
	engine__free(eng);
}

static int nevents;
static struct synfin_event last_event;

static void count_event(const struct synfin_event *ev, void *ctx)
{
	(void)ctx;
	nevents++;
	last_event = *ev;
}

/* --events: the client opens and closes first as user uid in cgroup
 * cgroup_id; its tw sock is born in TIME_WAIT (a tw sock's record: no
 * owner, uid or cgroup). Three transitions and the birth: 4 events. */
static struct engine *client_closing_as(const struct engine_opts *o, uint32_t uid,
					uint64_t cgroup_id)
{
	struct engine *eng;
	struct synfin_event e;

	ngot = nevents = 0;
	eng = engine__new(o);
	client_opens(eng, &client);
	e = ev_of(&client, SYNFIN_EV_STATE, 200 * MS, SYNFIN_TCP_ESTABLISHED,
		  SYNFIN_TCP_FIN_WAIT1);
	e.flags |= SYNFIN_F_UID;
	e.uid = uid;
	e.cgroup_id = cgroup_id;
	engine__handle(eng, &e);
	CHECK_EQ_INT(nevents, 3);
	e = tw_rec(&client, SYNFIN_EV_TW_START, 201 * MS, SYNFIN_TCP_TIME_WAIT, 60000, 0);
	e.flags = SYNFIN_F_TW_SK;
	engine__handle(eng, &e);
	return eng;
}

/* -p, --cgroup or -u (--events): the kernel lets every tw sock's records
 * past, having no owner, cgroup or uid to judge it by; only those of a
 * socket followed here go out, with its owner and uid filled in. */
static void test_tw_records_of_unfollowed(void)
{
	/* -u: a filter the kernel cannot apply to tw socks, and that user
	 * space does not judge owners by */
	static const struct synfin_filter by_uid = { .have_uid = true, .uid = 65534 };
	struct engine_opts o = { .on_conn = collect, .on_event = count_event,
				 .follow_tw = true, .filter = &by_uid };
	struct sk stranger = client;
	struct synfin_event e;
	struct engine *eng;

	eng = client_closing_as(&o, 65534, 0);
	CHECK_EQ_INT(nevents, 4);
	CHECK_EQ_INT(last_event.pid, 111);
	CHECK(last_event.flags & SYNFIN_F_UID);
	CHECK_EQ_INT(last_event.uid, 65534);
	stranger.cookie = 9009;
	e = tw_rec(&stranger, SYNFIN_EV_TW_START, 202 * MS, SYNFIN_TCP_TIME_WAIT, 60000, 0);
	engine__handle(eng, &e);
	e = tw_rec(&stranger, SYNFIN_EV_TW_END, 203 * MS, SYNFIN_TCP_TIME_WAIT, 0,
		   SYNFIN_TW_KILLED);
	engine__handle(eng, &e);
	CHECK_EQ_INT(nevents, 4);
	engine__free(eng);

	/* without such a filter, a stranger's tw records are the host's */
	o.filter = NULL;
	nevents = 0;
	eng = engine__new(&o);
	engine__handle(eng, &e);
	CHECK_EQ_INT(nevents, 1);
	engine__free(eng);
}

/* --events: a tw sock's records name its connection's owner, uid and
 * cgroup (a tw sock has none of them) also once the connection is
 * reported and only its tw sock followed: the end a minute later, as
 * the birth did. Before, an expired tw_end said pid 0 and uid null. */
static void test_tw_records_of_followed(void)
{
	struct engine_opts o = { .on_conn = collect, .on_event = count_event,
				 .follow_tw = true };
	struct synfin_event e;
	struct engine *eng;

	eng = client_closing_as(&o, 1000, 77);
	e = ev_of(&client, SYNFIN_EV_STATE, 201 * MS, SYNFIN_TCP_FIN_WAIT1, SYNFIN_TCP_CLOSE);
	e.flags |= SYNFIN_F_DEAD | SYNFIN_F_DONE;
	engine__handle(eng, &e);
	CHECK_EQ_INT(ngot, 1);
	CHECK_EQ_INT(engine__time_wait(eng), 1);
	nevents = 0;
	e = tw_rec(&client, SYNFIN_EV_TW_END, 60201 * MS, SYNFIN_TCP_TIME_WAIT, 0,
		   SYNFIN_TW_EXPIRED);
	e.flags = SYNFIN_F_TW_SK;
	engine__handle(eng, &e);
	CHECK_EQ_INT(nevents, 1);
	CHECK(last_event.flags & SYNFIN_F_OWNER_KNOWN);
	CHECK_EQ_INT(last_event.pid, 111);
	CHECK_EQ_STR(last_event.comm, "cli");
	CHECK(last_event.flags & SYNFIN_F_UID);
	CHECK_EQ_INT(last_event.uid, 1000);
	CHECK_EQ_INT(last_event.cgroup_id, 77);
	CHECK_EQ_INT(engine__time_wait(eng), 0);
	engine__free(eng);
}

static const struct unit_case cases[] = {
	{ "engine: client closes first", test_client_closes_first },
	{ "engine: server passive close", test_server_passive_close },
	{ "engine: a server's start is the SYN's arrival", test_server_start_at_syn },
	{ "engine: FIN_WAIT2 with the peer's FIN", test_fin_wait2_with_peer_fin },
	{ "engine: simultaneous close", test_simultaneous_close },
	{ "engine: connect refused", test_refused },
	{ "engine: SYN timeout", test_syn_timeout },
	{ "engine: SO_LINGER 0 abort, both ends", test_linger0_abort },
	{ "engine: SYN answered by an ICMP error", test_syn_unreachable },
	{ "engine: a timeout after an ICMP error", test_timeout_with_soft_error },
	{ "engine: SO_LINGER 0 from FIN_WAIT2", test_linger0_from_fin_wait2 },
	{ "engine: RST in CLOSE_WAIT", test_rst_in_close_wait },
	{ "engine: CLOSE_WAIT visits", test_close_wait_visits },
	{ "engine: reset in SYN_RECV", test_reset_in_syn_recv },
	{ "engine: SYN-ACK retransmits of a child failed in SYN_RECV",
	  test_synack_retrans_in_syn_recv },
	{ "engine: seeded connection", test_seeded },
	{ "engine: a seed past the peer's FIN", test_seeded_past_peer_fin },
	{ "engine: first seen past the handshake", test_first_seen_established },
	{ "engine: destroy without CLOSE", test_destroy_without_close },
	{ "engine: table cap counts losses", test_table_cap },
	{ "engine: table_full counts a connection once", test_table_full_once_a_connection },
	{ "engine: table churn", test_table_churn },
	{ "engine: pid filter with late owner", test_pid_filter_late_owner },
	{ "engine: --failed verdict", test_failed_verdict },
	{ "engine: comm filter", test_comm_filter },
	{ "engine: tw records of sockets not followed", test_tw_records_of_unfollowed },
	{ "engine: a followed tw sock's records name its owner", test_tw_records_of_followed },
};

UNIT_MAIN(cases)
