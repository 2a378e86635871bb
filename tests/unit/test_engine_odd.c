// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The engine against records the kernel side should not send, or sends
 * only where something else was lost: a cookie of 0 (classic mode's socket
 * with no room in its map), a story step to CLOSE, a second close of a
 * connection whose record waits for its tw sock. Each once freed an entry
 * still in use, looped for ever, or counted a connection twice; the
 * sanitized run of this test shows the first two. */
#include <errno.h>
#include "engine_fixture.h"
#include "idtable.h"

static struct engine *fresh_waiting(void)
{
	struct engine_opts o = { .max_conns = 64, .on_conn = collect, .on_time_wait = collect_tw,
				 .follow_tw = true, .tw_fin_visible = true };

	ngot = ngot_tw = 0;
	return engine__new(&o);
}

/* an orphan closed in FIN_WAIT2, its tw sock followed: its record waits
 * for the peer's FIN */
static struct synfin_conn_event orphan_summary(uint64_t cookie)
{
	struct sk s = { .cookie = cookie, .lport = 40000, .rport = 80 };
	struct synfin_conn_event ce = { 0 };
	const uint8_t from[] = { SYNFIN_TCP_CLOSE, SYNFIN_TCP_SYN_SENT, SYNFIN_TCP_ESTABLISHED,
				 SYNFIN_TCP_FIN_WAIT1 };
	const uint8_t to[] = { SYNFIN_TCP_SYN_SENT, SYNFIN_TCP_ESTABLISHED, SYNFIN_TCP_FIN_WAIT1,
			       SYNFIN_TCP_FIN_WAIT2 };

	ce.close = ev_of(&s, SYNFIN_EV_CONN, 5 * MS, SYNFIN_TCP_FIN_WAIT2, SYNFIN_TCP_CLOSE);
	ce.close.flags = SYNFIN_F_ORPHAN;
	for (int i = 0; i < 4; i++) {
		ce.story.step_old[i] = from[i];
		ce.story.step_new[i] = to[i];
		ce.story.step_ns[i] = (uint64_t)(i + 1) * MS;
	}
	ce.story.nsteps = 4;
	ce.story.flags = SYNFIN_STORY_TW;
	ce.story.tw_state = SYNFIN_TCP_FIN_WAIT2;
	ce.story.tw_start_ns = 5 * MS - 1000;
	ce.story.tw_left = 60000;
	return ce;
}

/* The table never takes id 0 (its empty slot's mark) nor an id twice. */
static void test_idtable_refuses(void)
{
	struct idtable t;
	int a, b;

	CHECK_EQ_INT(idtable_init(&t, 8), 0);
	CHECK_EQ_INT(idtable_put(&t, 0, &a), -EINVAL);
	CHECK_EQ_INT(idtable_put(&t, 5, &a), 0);
	CHECK_EQ_INT(idtable_put(&t, 5, &b), -EEXIST);
	CHECK_EQ_INT(t.count, 1);
	CHECK(idtable_get(&t, 5) == &a);
	CHECK(idtable_get(&t, 0) == NULL);
	idtable_free(&t);
}

/* Cookie 0: the records go out, unfollowed, and nothing is kept under it
 * (a close, then a new socket of cookie 0, once read a freed entry). */
static void test_cookie_zero(void)
{
	struct engine *eng = fresh(64, 0);
	struct sk s = { .cookie = 0, .lport = 40000, .rport = 80 };
	struct synfin_event e;

	e = ev_of(&s, SYNFIN_EV_STATE, 1 * MS, SYNFIN_TCP_CLOSE, SYNFIN_TCP_SYN_SENT);
	engine__handle(eng, &e);
	e = ev_of(&s, SYNFIN_EV_STATE, 2 * MS, SYNFIN_TCP_SYN_SENT, SYNFIN_TCP_CLOSE);
	engine__handle(eng, &e);
	e = ev_of(&s, SYNFIN_EV_STATE, 3 * MS, SYNFIN_TCP_CLOSE, SYNFIN_TCP_SYN_SENT);
	engine__handle(eng, &e);
	CHECK_EQ_INT(engine__live(eng), 0);
	CHECK_EQ_INT(engine__lost(eng, LOSS_TABLE_FULL), 0);  /* counted by the kernel */
	engine__free(eng);
}

/* A cookie-0 summary whose tw sock would be followed: not followed, and
 * the tick after its time returns. */
static void test_cookie_zero_tw(void)
{
	struct engine *eng = fresh_waiting();
	struct synfin_conn_event ce = orphan_summary(0);

	ce.story.tw_state = SYNFIN_TCP_TIME_WAIT;
	ce.close.flags = SYNFIN_F_DONE;
	engine__handle_conn(eng, &ce);
	CHECK_EQ_INT(engine__time_wait(eng), 0);
	engine__tick(eng, 5 * MS + 120000 * MS);
	CHECK_EQ_INT(ngot, 1);
	CHECK(ngot_tw <= 1);
	engine__free(eng);
}

/* A story step to CLOSE for a connection the table holds is left to the
 * record's own close. */
static void test_story_step_to_close(void)
{
	struct engine *eng = fresh(64, 0);
	struct sk s = { .cookie = 5, .lport = 40000, .rport = 80 };
	struct synfin_conn_event ce = { 0 };
	struct synfin_event e;

	e = ev_of(&s, SYNFIN_EV_STATE, 1 * MS, SYNFIN_TCP_CLOSE, SYNFIN_TCP_SYN_SENT);
	engine__handle(eng, &e);
	ce.close = ev_of(&s, SYNFIN_EV_CONN, 3 * MS, SYNFIN_TCP_CLOSE, SYNFIN_TCP_CLOSE);
	ce.story.nsteps = 1;
	ce.story.step_old[0] = SYNFIN_TCP_SYN_SENT;
	ce.story.step_new[0] = SYNFIN_TCP_CLOSE;
	ce.story.step_ns[0] = 2 * MS;
	engine__handle_conn(eng, &ce);
	CHECK_EQ_INT(ngot, 1);
	CHECK_EQ_INT(engine__live(eng), 0);
	engine__free(eng);
}

/* A second close of an orphan whose record waits for the peer's FIN (a
 * destroy after it, or the summary again): one record, one open count. */
static void test_second_close(void)
{
	for (int how = 0; how < 2; how++) {
		struct engine *eng = fresh_waiting();
		struct synfin_conn_event ce = orphan_summary(7);
		struct sk s = { .cookie = 7, .lport = 40000, .rport = 80 };
		struct synfin_event e;

		engine__handle_conn(eng, &ce);
		CHECK_EQ_INT(ngot, 0);     /* waits for the FIN */
		CHECK_EQ_INT(engine__live(eng), 0);
		CHECK_EQ_INT(engine__time_wait(eng), 1);
		if (how) {
			engine__handle_conn(eng, &ce);
		} else {
			e = ev_of(&s, SYNFIN_EV_DESTROY, 6 * MS, SYNFIN_TCP_FIN_WAIT2,
				  SYNFIN_TCP_FIN_WAIT2);
			engine__handle(eng, &e);
		}
		CHECK_EQ_INT(engine__live(eng), 0);
		CHECK_EQ_INT(engine__time_wait(eng), 1);
		engine__flush(eng);
		CHECK_EQ_INT(ngot, 1);
		CHECK_EQ_INT(engine__live(eng), 0);
		engine__free(eng);
	}
}

static const struct unit_case cases[] = {
	{ "engine_odd: the id table refuses 0 and an id twice", test_idtable_refuses },
	{ "engine_odd: cookie 0 is followed by nothing", test_cookie_zero },
	{ "engine_odd: cookie 0's tw sock is not followed", test_cookie_zero_tw },
	{ "engine_odd: a story step to CLOSE", test_story_step_to_close },
	{ "engine_odd: a second close of a waiting orphan", test_second_close },
};

UNIT_MAIN(cases)
