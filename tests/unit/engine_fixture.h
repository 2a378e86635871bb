/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Shared fixture for the engine tests: sockets as the kernel side
 * describes them, event builders, and a collector of finished records. */
#ifndef SYNFIN_ENGINE_FIXTURE_H
#define SYNFIN_ENGINE_FIXTURE_H

#include "unit.h"
#include "engine.h"

#define MS 1000000ULL

static struct conn_record got[8];
static struct conn_record got_tw[8];
static int ngot_tw;
static int ngot;

static inline void collect(const struct conn_record *rec, void *ctx)
{
	(void)ctx;
	if (ngot < 8)
		got[ngot] = *rec;
	ngot++;
}

static inline void collect_tw(const struct conn_record *rec, void *ctx)
{
	(void)ctx;
	if (ngot_tw < 8)
		got_tw[ngot_tw] = *rec;
	ngot_tw++;
}

static inline struct engine *fresh(uint32_t max_conns, uint32_t filter_pid)
{
	static struct synfin_filter pid_filter; /* outlives the engine */
	struct engine_opts o = { .max_conns = max_conns, .on_conn = collect,
				 .on_time_wait = collect_tw, .follow_tw = true,
				 .filter = filter_pid ? &pid_filter : NULL };

	pid_filter.pid = filter_pid;

	ngot = ngot_tw = 0;
	memset(got, 0, sizeof(got));
	memset(got_tw, 0, sizeof(got_tw));
	return engine__new(&o);
}

/* The namespace of every event ev_of makes. */
#define FIXTURE_NETNS 4026532177u

/* A socket as the kernel side describes it. */
struct sk {
	uint64_t cookie;
	uint64_t start_ns;
	uint16_t lport, rport;
	uint16_t owner_flags;
	uint32_t pid;
	const char *comm;
};

static inline struct synfin_event ev_of(const struct sk *s, uint8_t kind, uint64_t ts,
				 uint8_t old, uint8_t new)
{
	struct synfin_event e = { 0 };

	e.kind = kind;
	e.ts_ns = ts;
	e.cookie = s->cookie;
	e.start_ns = s->start_ns;
	e.family = SYNFIN_AF_INET;
	e.laddr[0] = 10; e.laddr[3] = 1;
	e.raddr[0] = 10; e.raddr[3] = 2;
	e.lport = s->lport;
	e.rport = s->rport;
	e.old_state = old;
	e.new_state = new;
	e.netns = FIXTURE_NETNS;
	e.flags = s->owner_flags;
	if (s->owner_flags & SYNFIN_F_OWNER_KNOWN) {
		e.pid = s->pid;
		memcpy(e.comm, s->comm, strnlen(s->comm, sizeof(e.comm)));
	}
	return e;
}

/* A tw sock's record (start, end, FIN) as the kernel sends it: seq is the
 * ms left on a start's timer or a FIN's sequence number. */
static inline struct synfin_event tw_rec(const struct sk *s, uint8_t kind, uint64_t ts,
					 uint8_t substate, uint32_t seq, uint32_t reason)
{
	struct synfin_event e = ev_of(s, kind, ts, substate, substate);

	e.flags = SYNFIN_F_TW_SK;
	e.seq = seq;
	e.reason = reason;
	return e;
}

/* The n-th (0 to k! - 1) of the orders of k things, into order[]: records
 * drained from the spill map come in any of them. */
static inline void nth_order(int n, int k, int *order)
{
	int left[8];

	for (int i = 0; i < k; i++)
		left[i] = i;
	for (int i = 0; i < k; i++) {
		int fact = 1, pick;

		for (int j = 2; j < k - i; j++)
			fact *= j;
		pick = n / fact;
		n %= fact;
		order[i] = left[pick];
		for (int j = pick; j < k - i - 1; j++)
			left[j] = left[j + 1];
	}
}

static inline void state(struct engine *eng, const struct sk *s, uint64_t ts, uint8_t old,
		  uint8_t new, int err, uint16_t extra_flags, uint64_t acked,
		  uint64_t received)
{
	struct synfin_event e = ev_of(s, SYNFIN_EV_STATE, ts, old, new);

	e.err = err;
	e.flags |= extra_flags;
	e.bytes_acked = acked;
	e.bytes_received = received;
	engine__handle(eng, &e);
}

static const struct sk client = {
	.cookie = 1001, .start_ns = 100 * MS, .lport = 40000, .rport = 5000,
	.owner_flags = SYNFIN_F_OWNER_KNOWN | SYNFIN_F_ACTIVE, .pid = 111, .comm = "cli",
};

static const struct sk server = {
	.cookie = 2002, .start_ns = 101 * MS, .lport = 5000, .rport = 40000,
	.owner_flags = SYNFIN_F_OWNER_KNOWN | SYNFIN_F_PASSIVE | SYNFIN_F_OWNER_ACCEPT,
	.pid = 222, .comm = "srv",
};


/* The opening every story shares: a client's connect() at 100 ms answered
 * at 101 ms, or a server child born and established at 101 ms. */
static inline void client_opens(struct engine *eng, const struct sk *s)
{
	state(eng, s, 100 * MS, SYNFIN_TCP_CLOSE, SYNFIN_TCP_SYN_SENT, 0, 0, 0, 0);
	state(eng, s, 101 * MS, SYNFIN_TCP_SYN_SENT, SYNFIN_TCP_ESTABLISHED, 0, 0, 1, 0);
}

static inline void server_opens(struct engine *eng, const struct sk *s)
{
	state(eng, s, 101 * MS, SYNFIN_TCP_LISTEN, SYNFIN_TCP_SYN_RECV, 0, 0, 0, 0);
	state(eng, s, 101 * MS, SYNFIN_TCP_SYN_RECV, SYNFIN_TCP_ESTABLISHED, 0, 0, 0, 0);
}

#endif /* SYNFIN_ENGINE_FIXTURE_H */
