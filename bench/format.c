// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* format: what synfin's process pays to write one JSON record, per kind.
 * At full churn the consumer writes three records per connection (a conn
 * record for each end and the client's time_wait record), and formatting
 * them was half of its CPU. Prints one JSON line; bench/run.sh runs it.
 *   format [N]    N records of each kind (default 1,000,000) to /dev/null
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "output.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A client's end as the bench's churn leaves it: loopback, a FIN each
 * way, TIME_WAIT measured. */
static void typical_conn(struct conn_record *r)
{
	static const uint8_t laddr[4] = { 127, 0, 0, 1 }, raddr[4] = { 127, 77, 0, 3 };

	memset(r, 0, sizeof(*r));
	r->id = 309607467;
	r->start_ns = 1000000000ULL;
	r->end_ns = r->start_ns + 58000;
	r->family = SYNFIN_AF_INET;
	memcpy(r->laddr, laddr, sizeof(laddr));
	memcpy(r->raddr, raddr, sizeof(raddr));
	r->lport = 60114;
	r->rport = 1000;
	r->role = ROLE_CLIENT;
	r->pid = 5392;
	strcpy(r->comm, "churn");
	r->netns = 4026532177u;
	r->cgroup_id = 1;
	r->bytes_known = true;
	r->handshake.result = HS_ESTABLISHED;
	r->handshake.ms = 0.006;
	r->handshake.isn_local_known = true;
	r->handshake.isn_remote_known = true;
	r->handshake.isn_local = 3325594840u;
	r->handshake.isn_remote = 1350391210u;
	r->span[SYNFIN_TCP_FIN_WAIT1].enter_ns = r->start_ns + 10000;
	r->span[SYNFIN_TCP_FIN_WAIT1].leave_ns = r->start_ns + 22000;
	r->span[SYNFIN_TCP_FIN_WAIT2].enter_ns = r->start_ns + 22000;
	r->span[SYNFIN_TCP_FIN_WAIT2].leave_ns = r->start_ns + 26000;
	r->wave.local_fin = true;
	r->wave.local_fin_seq = 3325594841u;
	r->wave.remote_fin = true;
	r->wave.remote_fin_seq = 1350391211u;
	r->tw.kind = TW_KIND_TIME_WAIT;
	r->tw.measured = true;
	r->tw.start_ns = r->end_ns - 1000;
	r->tw.expire_ns = r->tw.start_ns + 60000000000ULL;
	r->close.initiator = CLOSE_BY_LOCAL;
	r->close.how = HOW_FIN;
	strcpy(r->conn_state, "SF");
	strcpy(r->history, "ShAFf");
	r->srtt_us = 3;
	r->last_state = SYNFIN_TCP_FIN_WAIT2;
}

typedef void (*emit_fn)(struct output *o, void *arg, long i);

/* Seconds to write n records with emit, flushed every 1024 records as the
 * reader does after each drain. */
static double time_records(struct output *o, long n, emit_fn emit, void *arg)
{
	double t0 = now_s();

	for (long i = 0; i < n; i++) {
		emit(o, arg, i);
		if (!(i & 1023))
			output__flush(o);
	}
	output__flush(o);
	return now_s() - t0;
}

static void emit_conn(struct output *o, void *arg, long i)
{
	struct conn_record *r = arg;

	(void)i;
	r->id++;
	r->end_ns += 1000;
	output__conn(o, r);
}

static void emit_time_wait(struct output *o, void *arg, long i)
{
	struct conn_record *r = arg;

	r->id++;
	r->tw.exit_ns = r->tw.expire_ns + (uint64_t)i;
	output__time_wait(o, r);
}

static void emit_state(struct output *o, void *arg, long i)
{
	struct synfin_event *ev = arg;

	ev->cookie = (uint64_t)i + 1;
	ev->ts_ns = 1000000000ULL + (uint64_t)i * 1000;
	output__event(o, ev);
}

int main(int argc, char **argv)
{
	struct output_opts opts = { .json = true, .follow_tw = true };
	struct output *o = NULL;
	struct synfin_event ev = {};
	struct conn_record rec;
	double t_conn, t_tw, t_state;
	long n = 1000000;
	char *end;
	int err = 0;

	if (argc > 2 || (argc == 2 && ((n = strtol(argv[1], &end, 10)) <= 0 || *end))) {
		fprintf(stderr, "usage: format [N]  (N > 0 records of each kind)\n");
		return 2;
	}
	opts.out = fopen("/dev/null", "w");
	if (!opts.out) {
		err = -errno;
		fprintf(stderr, "format: /dev/null: %s\n", strerror(-err));
		goto cleanup;
	}
	opts.mono_to_real_ns = output__clock_offset();
	o = output__new(&opts);
	if (!o) {
		err = -errno;
		fprintf(stderr, "format: %s\n", strerror(-err));
		goto cleanup;
	}
	typical_conn(&rec);
	t_conn = time_records(o, n, emit_conn, &rec);

	rec.tw.exit = TW_EXIT_EXPIRED;
	t_tw = time_records(o, n, emit_time_wait, &rec);

	/* an --events state record */
	ev.kind = SYNFIN_EV_STATE;
	ev.family = rec.family;
	memcpy(ev.laddr, rec.laddr, sizeof(ev.laddr));
	memcpy(ev.raddr, rec.raddr, sizeof(ev.raddr));
	ev.lport = rec.lport;
	ev.rport = rec.rport;
	ev.pid = rec.pid;
	ev.flags = SYNFIN_F_OWNER_KNOWN;
	memcpy(ev.comm, "churn", 6);
	ev.netns = rec.netns;
	ev.cgroup_id = 1;
	ev.old_state = SYNFIN_TCP_ESTABLISHED;
	ev.new_state = SYNFIN_TCP_FIN_WAIT1;
	ev.srtt_us = 3;
	t_state = time_records(o, n, emit_state, &ev);

	printf("{\"records_per_kind\":%ld,\"ns_per_record\":{\"conn\":%.0f,\"time_wait\":%.0f,"
	       "\"state\":%.0f}}\n", n, t_conn / (double)n * 1e9, t_tw / (double)n * 1e9,
	       t_state / (double)n * 1e9);
cleanup:
	output__free(o);
	if (opts.out)
		fclose(opts.out);
	return err ? 1 : 0;
}
