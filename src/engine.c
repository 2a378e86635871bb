// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Reconstruction: a bounded table of live connections keyed by socket
 * cookie, updated by each event, turned into one conn_record when the
 * socket reaches CLOSE (or is destroyed without a CLOSE synfin saw).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine.h"
#include "idtable.h"
#include "pool.h"
#include "twcount.h"

#define ECONNRESET_ 104
#define ECONNREFUSED_ 111
#define ETIMEDOUT_ 110
#define EPIPE_ 32
#define ECONNABORTED_ 103
#define EACCES_ 13
#define ENONET_ 64
#define ENOPROTOOPT_ 92
#define ENETUNREACH_ 101
#define EHOSTDOWN_ 112
#define EHOSTUNREACH_ 113

#define TIMEWAIT_LEN_NS (60ULL * 1000000000ULL) /* TCP_TIMEWAIT_LEN */
/* A tw timer cancel followed this soon by a start is a re-arm, not a death. */
#define TW_REARM_WINDOW_NS (50ULL * 1000000ULL)
/* A tw sock whose end we never saw (lost record) is given up this long
 * after its expiry. */
#define TW_GRACE_NS (10ULL * 1000000000ULL)

/* The tick looks at this share of the followed tw socks' slots for one
 * whose end never came (at least TW_SCAN_MIN_SLOTS, so a small table is
 * looked at whole): its cost follows the work it finds, not the size of
 * the tables, on the thread that reads the ring. Each tw sock is looked
 * at within TW_SCAN_SHARE ticks, well inside TW_GRACE_NS. */
#define TW_SCAN_SHARE 10
#define TW_SCAN_MIN_SLOTS 4096

#define DEFAULT_MAX_CONNS 262144
#define MIN_SLOTS 1024
/* Cookies of connections open before synfin started that the table
 * refused, remembered so that each is counted once (first_refusal) */
#define REFUSED_SLOTS 4096

/* tw records held by cookie in fixed slots until their connection's
 * summary comes (cookie 0: empty) */
struct parked {
	struct synfin_event slot[ENGINE_PARKED_SLOTS];
	/* which slots hold one: a lookup reads a bit of a hot line, not a
	 * cold 176-byte slot */
	uint64_t taken[ENGINE_PARKED_SLOTS / 64];
};
/* slots of the table of ends waiting for spilled summaries, when empty */
#define SPILL_ENDS_SLOTS 64
/* tw follows a pool block holds: 1024 of 144 bytes, 36 pages */
#define TW_POOL_BLOCK 1024

/* A tw sock's timer as its records tell it, in whatever order they come:
 * a burst drained from the spill map hands them over in none. A re-arm
 * (the FIN_WAIT2 substate getting the peer's FIN, a retransmitted FIN) is
 * a cancel and then a start, so only a cancel later than the latest start
 * can be the tw sock's death, and a start undoes only a cancel before it.
 * Taken in arrival order instead, a re-arm's start coming after the kill
 * undid the kill, and that tw sock was followed to no end. */
struct tw_timer {
	uint64_t armed_ns;         /* the latest start (or FIN: the tw sock lived then) */
	uint64_t cancel_ns;        /* a later cancel: its death, unless a later start comes */
	uint64_t cancel_drain;     /* engine.drains when that cancel came */
};

struct conn {
	uint64_t id;               /* 0: empty slot */
	struct conn_record rec;
	uint8_t state;             /* last state seen */
	bool listener;
	bool established;          /* reached ESTABLISHED */
	bool rst_sent;
	bool rst_received;
	bool accepted;             /* owner learned at accept() */
	bool in_tw;                /* closed; waiting for its tw sock to go */
	bool deferred;             /* ... and not reported yet: its wave goes on there */
	struct tw_timer tw_timer;
	uint32_t syn_retrans_events;
	/* a server's start moved back to the SYN's arrival (on_established):
	 * the kernel's start_ns, the child's birth at the final ACK, must not
	 * take its place again (in the hole before wave_reset_ns) */
	bool start_at_syn;
	/* -F: when a reset ended the wave after the ->CLOSE (the kernel held
	 * the summary of this orphan until then: story.after_close); how, in
	 * rec.tw.killed_by */
	uint64_t wave_reset_ns;
};

/* A reported connection whose tw sock is still followed: what its
 * time_wait record needs, a fifth of a struct conn. At full churn these
 * are most of the table (one per tw sock, for 60 s). */
struct tw_follow {
	uint64_t id;
	uint64_t end_ns;
	uint64_t start_ns;         /* the tw sock's birth */
	uint64_t tw_enter_ns;      /* when it reached TIME_WAIT proper (0: still FIN_WAIT2) */
	uint64_t expire_ns;
	struct tw_timer timer;
	uint64_t cgroup_id;
	uint32_t pid;
	uint32_t netns;
	uint32_t uid;
	uint16_t lport, rport;
	uint8_t family;
	uint8_t role;              /* enum conn_role */
	uint8_t kind;              /* enum tw_kind */
	uint8_t uid_known;
	uint8_t laddr[SYNFIN_ADDR_LEN];
	uint8_t raddr[SYNFIN_ADDR_LEN];
	char comm[SYNFIN_COMM_LEN + 1];
	uint8_t killed_by;         /* enum close_how: a reset that killed it */
};

struct engine {
	struct engine_opts opts;
	struct idtable conns;      /* struct conn: open, or closed and deferred */
	struct idtable tws;        /* struct tw_follow, from tw_pool */
	struct pool tw_pool;
	/* What the tick settles, so that it need not look at every entry
	 * of conns and tws each second: the conns entries kept only to
	 * follow a tw sock (in_tw), and the followed tw socks whose cancel
	 * awaits its verdict (their timer not tw_timer_counted()). The
	 * rest of tws it looks at a share at a time (TW_SCAN_SHARE), from
	 * tw_scan_at, for an end that never came. Looking at every entry,
	 * the tick took 40 ms a second with 142,000 connections seeded at
	 * the start and a churn beside them. */
	struct idtable in_tw;
	struct idtable tw_cancelled;
	uint32_t tw_scan_at;
	/* The conns entries that may be in CLOSE_WAIT (set_state), for the
	 * monitor's tally, which looked at all of them every interval: 12-47
	 * ms with 200,000 connections seeded at the start. An entry can stay
	 * a little past its CLOSE_WAIT (conn_init), never past its erase. If
	 * one could not be added (no memory), the tally looks at all again. */
	struct idtable close_waits;
	bool close_waits_partial;
	/* Those tw socks (followed, and in_tw), counted per namespace and
	 * per TIME_WAIT group for the monitor (twcount.h) */
	struct twcount *twc;
	uint64_t lost[LOSS_MAX];
	/* Connections open before synfin started that the table refused
	 * (cookie 0: empty), in slots by cookie: see first_refusal */
	uint64_t refused[REFUSED_SLOTS];
	/* Summary mode: a connection not in the table is rebuilt here and
	 * enters the table only if its tw sock is to be followed. */
	struct conn scratch;
	/* A tw sock's timer starts just before its socket's ->CLOSE, so its
	 * record comes just before the summary that carries that ->CLOSE:
	 * held here by cookie until then (0: empty). */
	struct parked pending_tw;
	/* A tw sock's end can come before the summary that starts it: the
	 * summary waited in the spill map while the ring took the end. Held
	 * here by cookie until the summary comes (0: empty). */
	struct parked pending_tw_end;
	/* ... and so can the peer's FIN reaching it (held likewise) */
	struct parked pending_tw_fin;
	/* While records wait in the spill map, which can hold far more of
	 * them than there are slots above, an end or a FIN that comes for a
	 * socket the engine does not know waits here instead (struct
	 * early_tw), up to the spill map's size each: in slots, one would
	 * push another out by the thousand in a burst, and that connection's
	 * time_wait record would say its exit went unseen, or its record
	 * would miss the peer's FIN. Its summary may be in the spill map, or
	 * on the ring behind it when it came from the spill map: two full
	 * drains of both (engine__spill_drained) hand it over, or it never
	 * comes. */
	struct idtable spill_ends;
	struct idtable spill_fins;
	/* ... and a reset's note, the cause of a tw sock's kill (its own
	 * table: the end that follows would take its place in spill_ends) */
	struct idtable spill_notes;
	/* ... and a summary (struct awaiting_birth) whose tw sock's birth
	 * went apart (SYNFIN_STORY_TW_APART) waits here for the birth's own
	 * record. A record about another tw sock that runs on the CPU
	 * between a birth and its socket's ->CLOSE (a softirq as close()
	 * lets bottom halves run) sends the birth apart; with the ring full
	 * it went to the spill map, and came after the summary (the summary
	 * on the ring, or first out of the map). Taken as it came, that tw
	 * sock was not followed, and its end was dropped unclaimed. */
	struct idtable awaiting_birth;
	uint32_t spill_ends_cap;   /* of each table */
	uint64_t drains;           /* engine__spill_drained calls */
	uint64_t ends_dropped;     /* ... dropped by them: no record claimed the end */
	uint64_t fins_dropped;     /* ... or the FIN */
	uint64_t notes_dropped;    /* ... or the reset's note, or no room to wait */
	uint64_t ends_pushed_out;  /* ends a later one pushed out of its slot */
	uint64_t starts_pushed_out; /* ... and tw timer starts (pending_tw) */
	uint64_t fins_pushed_out;  /* ... and FINs reaching tw socks (pending_tw_fin) */
	uint64_t births_apart;     /* summaries whose tw sock's birth went apart */
	uint64_t births_came;      /* ... that waited in awaiting_birth, and it came */
	uint64_t births_unseen;    /* ... and those two drains brought none */
};

/* Whether the ring and then the spill map were drained to empty twice
 * since engine.drains read `drain`: a record that came then from either
 * one has had anything before it in the other handed over too. */
static bool drained_twice_since(const struct engine *eng, uint64_t drain)
{
	return eng->drains - drain >= 2;
}

/* The timer armed at ts (a start, or a FIN the tw sock took: it was
 * alive then); true if that is the latest arming, whose expiry stands. */
static bool tw_timer_armed(struct tw_timer *t, uint64_t ts)
{
	if (t->cancel_ns && t->cancel_ns <= ts)
		t->cancel_ns = 0;  /* that cancel was a re-arm's */
	if (ts < t->armed_ns)
		return false;      /* an older start, come late */
	t->armed_ns = ts;
	return true;
}

/* A cancel at ts that was not the expiry. */
static void tw_timer_cancelled(const struct engine *eng, struct tw_timer *t, uint64_t ts)
{
	/* not after the latest start: a re-arm's, come after its start */
	if (ts <= t->armed_ns || ts <= t->cancel_ns)
		return;
	t->cancel_ns = ts;
	t->cancel_drain = eng->drains;
}

/* The tw sock died at its cancel: no start came within the re-arm window,
 * and the ring and the spill map were drained twice since the cancel came
 * (a start from the spill map can come after a cancel from the ring, or
 * sit on the ring behind a cancel from the spill map), so none waits. */
static bool tw_timer_dead(const struct engine *eng, const struct tw_timer *t, uint64_t now_ns)
{
	return t->cancel_ns && now_ns - t->cancel_ns > TW_REARM_WINDOW_NS &&
	       drained_twice_since(eng, t->cancel_drain);
}

/* Whether a tw sock is in the TIME_WAIT counts (twcount): not while a
 * cancel awaits its verdict. The kernel's count drops at the kill, and
 * the verdict (a start: a re-arm; none: killed) waits for a tick and two
 * drains, a second or two: where tw_reuse recycles thousands of tw socks
 * a second, counted until then they put synfin's count thousands over the
 * kernel's, and the census walked TIME_WAIT again. */
static bool tw_timer_counted(const struct tw_timer *t)
{
	return !t->cancel_ns;
}

/* A tw sock's end or FIN, as much of it as applying it needs. */
struct early_tw {
	uint64_t ts_ns;
	uint64_t drain;            /* engine.drains when it came */
	uint32_t value;            /* an end's reason (SYNFIN_TW_*), a FIN's seq */
	uint8_t substate;          /* the tw sock's, as the record gave it */
	uint8_t tcp_flags;         /* a FIN's segment's */
};

/* A summary waiting for its tw sock's birth (engine.awaiting_birth). */
struct awaiting_birth {
	uint64_t drain;            /* engine.drains when it came */
	struct synfin_conn_event ce;
};

struct engine *engine__new(const struct engine_opts *opts)
{
	struct engine *eng = calloc(1, sizeof(*eng));

	if (!eng)
		return NULL;
	eng->opts = *opts;
	if (!eng->opts.max_conns)
		eng->opts.max_conns = DEFAULT_MAX_CONNS;
	eng->twc = twcount__new();
	pool_init(&eng->tw_pool, sizeof(struct tw_follow), TW_POOL_BLOCK);
	if (!eng->twc || idtable_init(&eng->conns, MIN_SLOTS) ||
	    idtable_init(&eng->tws, MIN_SLOTS) ||
	    idtable_init(&eng->in_tw, MIN_SLOTS) ||
	    idtable_init(&eng->tw_cancelled, MIN_SLOTS) ||
	    idtable_init(&eng->close_waits, MIN_SLOTS) ||
	    idtable_init(&eng->spill_ends, SPILL_ENDS_SLOTS) ||
	    idtable_init(&eng->spill_fins, SPILL_ENDS_SLOTS) ||
	    idtable_init(&eng->spill_notes, SPILL_ENDS_SLOTS) ||
	    idtable_init(&eng->awaiting_birth, SPILL_ENDS_SLOTS)) {
		/* calloc'd: what was not set up is empty */
		engine__free(eng);
		return NULL;
	}
	return eng;
}

void engine__free(struct engine *eng)
{
	if (!eng)
		return;
	idtable_free_all(&eng->conns);
	idtable_free(&eng->tws);
	pool_free(&eng->tw_pool);
	/* their entries are conns' and tws' own */
	idtable_free(&eng->in_tw);
	idtable_free(&eng->tw_cancelled);
	idtable_free(&eng->close_waits);
	idtable_free_all(&eng->spill_ends);
	idtable_free_all(&eng->spill_fins);
	idtable_free_all(&eng->spill_notes);
	idtable_free_all(&eng->awaiting_birth);
	twcount__free(eng->twc);
	free(eng);
}

void engine__set_spill(struct engine *eng, uint32_t capacity)
{
	eng->spill_ends_cap = capacity;
}

/* An emptied table of what waits for a spill back to its small size: a
 * burst's worth of slots is not kept. */
static void shrink_if_empty(struct idtable *t)
{
	struct idtable empty;

	if (!t->count && t->nslots > SPILL_ENDS_SLOTS && !idtable_init(&empty, SPILL_ENDS_SLOTS)) {
		idtable_free(t);
		*t = empty;
	}
}

/* Drop what waited in t through two drains: no summary claimed it. One
 * whose summary waits for its birth waits with it. */
static void drop_unclaimed(struct engine *eng, struct idtable *t, uint64_t *dropped)
{
	if (!t->count)
		return;
	/* a removal shifts a later entry into this slot: look again */
	for (uint32_t i = 0; i < t->nslots; i++) {
		struct early_tw *e = t->vals[i];

		if (!e || !drained_twice_since(eng, e->drain) ||
		    (eng->awaiting_birth.count && idtable_get(&eng->awaiting_birth, t->ids[i])))
			continue;
		(*dropped)++;
		idtable_del(t, t->ids[i]);
		free(e);
		i--;
	}
	shrink_if_empty(t);
}

static void summary_apply(struct engine *eng, const struct synfin_conn_event *ce,
			  const struct synfin_event *birth);

/* The summaries whose birth two drains did not bring: it went where no
 * BPF program runs, or the ring and the map had no room for it. Their
 * record says TIME_WAIT as the ->CLOSE tells it (inferred). */
static void release_unborn(struct engine *eng)
{
	struct idtable *t = &eng->awaiting_birth;

	if (!t->count)
		return;
	for (uint32_t i = 0; i < t->nslots; i++) {
		struct awaiting_birth *a = t->vals[i];

		if (!a || !drained_twice_since(eng, a->drain))
			continue;
		idtable_del(t, t->ids[i]);
		eng->births_unseen++;
		summary_apply(eng, &a->ce, NULL);
		free(a);
		i--;
	}
	shrink_if_empty(t);
}

void engine__spill_drained(struct engine *eng)
{
	eng->drains++;
	/* first: they take the ends and FINs that wait for them */
	release_unborn(eng);
	drop_unclaimed(eng, &eng->spill_ends, &eng->ends_dropped);
	drop_unclaimed(eng, &eng->spill_fins, &eng->fins_dropped);
	drop_unclaimed(eng, &eng->spill_notes, &eng->notes_dropped);
}

void engine__last_drain(struct engine *eng)
{
	engine__spill_drained(eng);
	engine__spill_drained(eng);
}

void engine__set_tw(struct engine *eng, bool follow, bool fin_visible)
{
	eng->opts.follow_tw = follow;
	eng->opts.tw_fin_visible = fin_visible;
}

uint32_t engine__max_conns(const struct engine *eng)
{
	return eng->opts.max_conns;
}

uint32_t engine__live(const struct engine *eng)
{
	return eng->conns.count - eng->in_tw.count;
}

void engine__foreach_close_wait(const struct engine *eng, engine_visit_fn fn, void *ctx)
{
	const struct idtable *t = eng->close_waits_partial ? &eng->conns : &eng->close_waits;

	for (uint32_t i = 0; i < t->nslots; i++) {
		const struct conn *c = t->vals[i];

		if (c && c->state == SYNFIN_TCP_CLOSE_WAIT && !c->in_tw && !c->listener)
			fn(&c->rec, ctx);
	}
}

/* Every change of a table entry's state goes through here, so that
 * close_waits holds every entry in CLOSE_WAIT. */
static void set_state(struct engine *eng, struct conn *c, uint8_t state)
{
	bool was = c->state == SYNFIN_TCP_CLOSE_WAIT, is = state == SYNFIN_TCP_CLOSE_WAIT;

	c->state = state;
	if (c == &eng->scratch || was == is)
		return;
	if (!is)
		idtable_del(&eng->close_waits, c->id);
	else if (!idtable_get(&eng->close_waits, c->id) &&
		 idtable_put(&eng->close_waits, c->id, c))
		eng->close_waits_partial = true;
}

uint32_t engine__time_wait(const struct engine *eng)
{
	return eng->in_tw.count + eng->tws.count;
}

/* How many wait in table's slots and in t: outside a spill nothing drops
 * those in the slots. */
static uint64_t early_waiting(const struct parked *table, const struct idtable *t)
{
	uint64_t n = t->count;

	for (uint32_t i = 0; i < ENGINE_PARKED_SLOTS / 64; i++)
		n += (uint64_t)__builtin_popcountll(table->taken[i]);
	return n;
}

void engine__early_ends(const struct engine *eng, struct engine_early *ends)
{
	ends->waiting = early_waiting(&eng->pending_tw_end, &eng->spill_ends);
	ends->dropped = eng->ends_dropped;
	ends->pushed_out = eng->ends_pushed_out;
}

void engine__early_fins(const struct engine *eng, struct engine_early *fins)
{
	fins->waiting = early_waiting(&eng->pending_tw_fin, &eng->spill_fins);
	fins->dropped = eng->fins_dropped;
	fins->pushed_out = eng->fins_pushed_out;
}

void engine__early_notes(const struct engine *eng, struct engine_early *notes)
{
	notes->waiting = eng->spill_notes.count;
	notes->dropped = eng->notes_dropped;
	notes->pushed_out = 0;  /* they wait in no slot */
}

uint64_t engine__early_starts_pushed_out(const struct engine *eng)
{
	return eng->starts_pushed_out;
}

void engine__late_births(const struct engine *eng, struct engine_late_births *births)
{
	births->apart = eng->births_apart;
	births->waiting = eng->awaiting_birth.count;
	births->came = eng->births_came;
	births->unseen = eng->births_unseen;
}

uint64_t engine__lost(const struct engine *eng, enum engine_loss why)
{
	return why < LOSS_MAX ? eng->lost[why] : 0;
}

static struct conn *find(struct engine *eng, uint64_t id)
{
	return idtable_get(&eng->conns, id);
}

const struct conn_record *engine__known_owner(struct engine *eng, uint64_t cookie)
{
	const struct conn *c = find(eng, cookie);

	return c && !c->in_tw && c->rec.pid ? &c->rec : NULL;
}

static void conn_init(struct conn *c, uint64_t id)
{
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->rec.id = id;
	c->rec.handshake.ms = -1;
}

/* Both tables count against max_conns: memory is bounded by it. */
static bool at_cap(const struct engine *eng)
{
	return eng->conns.count + eng->tws.count >= eng->opts.max_conns;
}

/* A new entry for id; NULL when the table has no room for it (at the
 * cap, or no memory), uncounted. */
static struct conn *new_entry(struct engine *eng, uint64_t id)
{
	struct conn *c;

	/* id 0: a classic-mode socket the kernel had no room to record
	 * (storage_full, counted there): its records go out, unfollowed */
	if (!id)
		return NULL;
	if (at_cap(eng) || !(c = malloc(sizeof(*c))))
		return NULL;
	conn_init(c, id);
	if (idtable_put(&eng->conns, id, c)) {
		free(c);
		return NULL;
	}
	return c;
}

/* ... counted when refused: for a caller that asks once a connection */
static struct conn *insert(struct engine *eng, uint64_t id)
{
	struct conn *c = new_entry(eng, id);

	if (!c && id)
		eng->lost[LOSS_TABLE_FULL]++;
	return c;
}

static uint64_t *refused_slot(struct engine *eng, uint64_t cookie)
{
	return &eng->refused[idtable_hash(cookie) & (REFUSED_SLOTS - 1)];
}

/* Whether the table's refusal of ev's connection is the first, the one
 * to count: every event of a connection the table has no room for finds
 * it so, and table_full counts connections, not events. Counted at the
 * event that would have made its entry:
 * - its birth (CLOSE->SYN_SENT, CLOSE->LISTEN, LISTEN->SYN_RECV);
 * - not a later event of a socket the kernel saw born (it gives those
 *   a start_ns): its birth was refused and counted, or lost on the ring
 *   and counted there;
 * - for a socket open before synfin started (no start_ns: one seeded,
 *   refused and counted at engine__seed, or one no seed covered), its
 *   first event refused. No event says it is the first, so the cookie
 *   is remembered until its ->CLOSE, in fixed slots rather than an entry
 *   a connection (at the cap there can be more of these than the table
 *   holds): one pushed out of its slot by another refused meanwhile is
 *   counted again at its next event, an error up, and only with many
 *   such connections closing at once. */
static bool first_refusal(struct engine *eng, const struct synfin_event *ev)
{
	uint64_t *slot;

	if (ev->old_state == SYNFIN_TCP_CLOSE || ev->old_state == SYNFIN_TCP_LISTEN)
		return true;
	if (ev->start_ns)
		return false;
	slot = refused_slot(eng, ev->cookie);
	if (*slot == ev->cookie)
		return false;
	*slot = ev->cookie;
	return true;
}

/* A state event of a connection the table does not hold: its entry if
 * there is room, else the refusal counted (first_refusal). Its ->CLOSE
 * makes none, and frees its remembered cookie's slot. */
static struct conn *insert_for(struct engine *eng, const struct synfin_event *ev)
{
	struct conn *c;
	uint64_t *slot;

	if (!ev->cookie)
		return NULL;  /* as new_entry() */
	if (ev->new_state == SYNFIN_TCP_CLOSE) {
		slot = refused_slot(eng, ev->cookie);
		if (*slot == ev->cookie)
			*slot = 0;
		return NULL;
	}
	c = new_entry(eng, ev->cookie);
	if (!c && first_refusal(eng, ev))
		eng->lost[LOSS_TABLE_FULL]++;
	return c;
}

static void count_conn_tw(struct engine *eng, const struct conn *c, int delta);

static void erase(struct engine *eng, struct conn *c)
{
	idtable_del(&eng->conns, c->id);
	idtable_del(&eng->close_waits, c->id);  /* whatever its state says now */
	if (c->in_tw) {
		idtable_del(&eng->in_tw, c->id);
		if (tw_timer_counted(&c->tw_timer))
			count_conn_tw(eng, c, -1);
	}
	free(c);
}

static bool addr_is_zero(const uint8_t *a)
{
	for (int i = 0; i < SYNFIN_ADDR_LEN; i++)
		if (a[i])
			return false;
	return true;
}

/* The kernel wipes a socket's tuple after a failed connect or an abort,
 * and a client has no local port before connect() picks one: keep the
 * last complete values. */
static void merge_identity(struct conn *c, const struct synfin_event *ev)
{
	struct conn_record *r = &c->rec;

	if (ev->family)
		r->family = ev->family;
	if (!addr_is_zero(ev->laddr))
		memcpy(r->laddr, ev->laddr, sizeof(r->laddr));
	if (ev->rport) {
		memcpy(r->raddr, ev->raddr, sizeof(r->raddr));
		r->rport = ev->rport;
	}
	if (ev->lport)
		r->lport = ev->lport;
	if (ev->netns)
		r->netns = ev->netns;
	if (ev->cgroup_id)
		r->cgroup_id = ev->cgroup_id;
	if (ev->flags & SYNFIN_F_UID) {
		r->uid = ev->uid;
		r->uid_known = true;
	}
	if (ev->flags & SYNFIN_F_OWNER_ACCEPT)
		c->accepted = true;
	if (ev->flags & SYNFIN_F_OWNER_KNOWN) {
		r->pid = ev->pid;
		memcpy(r->comm, ev->comm, SYNFIN_COMM_LEN);
		r->comm[SYNFIN_COMM_LEN] = '\0';
	}
	/* the kernel's first sight, unless synfin's start stands for a seed,
	 * or a server's start was moved back to the SYN */
	if (ev->start_ns && (!r->start_ns || (!r->seeded && !c->start_at_syn)))
		r->start_ns = ev->start_ns;
	if (!r->start_ns)
		r->start_ns = ev->ts_ns;
	if (ev->flags & SYNFIN_F_ACTIVE)
		r->role = ROLE_CLIENT;
	else if (ev->flags & SYNFIN_F_PASSIVE)
		r->role = ROLE_SERVER;
}

/* The owner, uid and cgroup the kernel gave an event none of (a tw sock
 * has none of its own): its connection's. */
static void fill_owner_of(struct synfin_event *ev, uint32_t pid, const char *comm,
			  bool uid_known, uint32_t uid, uint64_t cgroup_id)
{
	if (!(ev->flags & SYNFIN_F_OWNER_KNOWN) && pid) {
		ev->pid = pid;
		memcpy(ev->comm, comm, SYNFIN_COMM_LEN);
		ev->flags |= SYNFIN_F_OWNER_KNOWN;
	}
	if (!(ev->flags & SYNFIN_F_UID) && uid_known) {
		ev->uid = uid;
		ev->flags |= SYNFIN_F_UID;
	}
	if (!ev->cgroup_id)
		ev->cgroup_id = cgroup_id;
}

/* Fill what the kernel could not read into the copy handed to on_event. */
static void complete_event(const struct conn *c, struct synfin_event *ev)
{
	const struct conn_record *r = &c->rec;

	if (!ev->family)
		ev->family = r->family;
	if (addr_is_zero(ev->laddr))
		memcpy(ev->laddr, r->laddr, sizeof(ev->laddr));
	if (!ev->rport) {
		memcpy(ev->raddr, r->raddr, sizeof(ev->raddr));
		ev->rport = r->rport;
	}
	if (!ev->lport)
		ev->lport = r->lport;
	fill_owner_of(ev, r->pid, r->comm, r->uid_known, r->uid, r->cgroup_id);
}

/* ... and a record about a tw sock whose connection is reported and
 * followed (its entry left the table): from the follow, which keeps
 * the owner, so a tw sock's end a minute later names it as its birth
 * did. */
static void complete_tw_event(const struct tw_follow *f, struct synfin_event *ev)
{
	fill_owner_of(ev, f->pid, f->comm, f->uid_known, f->uid, f->cgroup_id);
}

static bool is_tw_record(uint8_t kind)
{
	return kind == SYNFIN_EV_TW_START || kind == SYNFIN_EV_TW_END || kind == SYNFIN_EV_TW_FIN;
}

/* ... or a reset a tw sock sent (--events): about the tw sock, so named
 * after its connection, and under a filter the kernel could not judge it
 * by, kept only for a tw sock synfin follows */
static bool is_tw_sock_record(const struct synfin_event *ev)
{
	return is_tw_record(ev->kind) ||
	       (ev->kind == SYNFIN_EV_RESET_SENT && (ev->flags & SYNFIN_F_TW_SK));
}

/* Before ESTABLISHED every retransmission is a SYN: the kernel's count,
 * or the retransmit records seen if the kernel's was reset or lost. */
static uint32_t syn_retrans(const struct conn *c, const struct synfin_event *ev)
{
	return ev->total_retrans > c->syn_retrans_events ? ev->total_retrans :
							   c->syn_retrans_events;
}

static void on_established(struct conn *c, const struct synfin_event *ev)
{
	struct conn_record *r = &c->rec;

	c->established = true;
	r->handshake.result = HS_ESTABLISHED;
	/* At the moment of ESTABLISHED nothing but the SYNs (and Fast Open
	 * data they carried) has been acked or received, so the ISNs are one
	 * below that (KERNEL-NOTES §3) */
	r->handshake.isn_local_known = true;
	r->handshake.isn_remote_known = true;
	r->handshake.isn_local = synfin_est_isn1_local(ev->snd_una, ev->bytes_acked) - 1;
	r->handshake.isn_remote = synfin_est_isn1_remote(ev->rcv_nxt, ev->bytes_received) - 1;
	if (ev->old_state == SYNFIN_TCP_SYN_SENT) {
		r->role = ROLE_CLIENT;
		r->handshake.syn_retrans = syn_retrans(c, ev);
		if (ev->start_ns && ev->ts_ns >= ev->start_ns)
			r->handshake.ms = (double)(ev->ts_ns - ev->start_ns) / 1e6;
	} else if (ev->old_state == SYNFIN_TCP_SYN_RECV && r->handshake.simultaneous_open) {
		/* both ends sent a SYN: our connect() began it */
		r->handshake.syn_retrans = ev->total_retrans;
		if (ev->start_ns && ev->ts_ns >= ev->start_ns)
			r->handshake.ms = (double)(ev->ts_ns - ev->start_ns) / 1e6;
	} else if (ev->old_state == SYNFIN_TCP_SYN_RECV) {
		r->role = ROLE_SERVER;
		/* The child is born on the final ACK; the request sock that
		 * lived from SYN to ACK is invisible here. The kernel's first
		 * RTT sample is exactly SYN-ACK sent -> final ACK (see
		 * tcp_synack_rtt_meas), and total_retrans counts the SYN-ACK
		 * retransmissions. */
		r->handshake.synack_retrans = ev->total_retrans;
		if (ev->srtt_us) {
			r->handshake.ms = (double)ev->srtt_us / 1e3;
			if (r->start_ns == ev->start_ns &&
			    ev->ts_ns > (uint64_t)ev->srtt_us * 1000) {
				r->start_ns = ev->ts_ns - (uint64_t)ev->srtt_us * 1000;
				c->start_at_syn = true;
			}
		}
	}
}

/* The errors an ICMP destination-unreachable (or ICMPv6's) sets
 * (icmp_err_convert, icmpv6_err_convert), port unreachable aside: it is
 * ECONNREFUSED, as a RST's. */
static bool icmp_error(int err)
{
	switch (err) {
	case ENETUNREACH_:  /* net unreachable or unknown, ICMPv6 no route */
	case EHOSTUNREACH_: /* host unreachable, administratively filtered */
	case EHOSTDOWN_:    /* host unknown */
	case ENONET_:       /* host isolated */
	case EACCES_:       /* ICMPv6 administratively prohibited, policy */
	case ENOPROTOOPT_:  /* protocol unreachable */
		return true;
	default:
		return false;
	}
}

/* How a connection that never got established ended. */
static enum handshake_result failed_handshake(const struct conn *c,
					      const struct synfin_event *ev)
{
	if (ev->old_state == SYNFIN_TCP_SYN_SENT) {
		if (ev->err == ECONNREFUSED_)
			return HS_REFUSED;
		if (ev->err == ETIMEDOUT_)
			return HS_TIMEOUT;
		if (c->rst_received || ev->err == ECONNRESET_)
			return HS_REFUSED;
		/* in SYN-SENT an ICMP error ends connect() at once
		 * (tcp_v4_err, tcp_v6_err): no one here closed it */
		if (icmp_error(ev->err))
			return HS_UNREACHABLE;
		return HS_ABORTED;
	}
	if (c->rst_received || ev->err)
		return HS_RESET;
	return HS_ABORTED;
}

/* Who reset it, when the application did: which of close()'s abortive
 * paths it took (tcp_close: unread data; SO_LINGER 0; a listener closing
 * with children it never accepted; sock_destroy from outside). A child
 * never accepted has no struct socket at its ->CLOSE, and no close() of
 * its own put it in FIN-WAIT-1; an accepted one still has its socket when
 * tcp_close() resets it. That holds where accept() is not hooked too. */
static enum rst_cause local_rst_cause(const struct conn *c, const struct synfin_event *ev,
				      uint8_t old)
{
	if (ev->err == ECONNABORTED_)
		return RST_CAUSE_KILLED;
	if (ev->flags & SYNFIN_F_LINGER0)
		return RST_CAUSE_LINGER0;
	if (c->rec.role == ROLE_SERVER && !c->accepted && !c->rec.seeded &&
	    (ev->flags & SYNFIN_F_ORPHAN) && old != SYNFIN_TCP_FIN_WAIT1)
		return RST_CAUSE_LISTENER_CLOSED;
	return RST_CAUSE_UNREAD_DATA;
}

static void close_verdict(struct conn *c, const struct synfin_event *ev, uint8_t old)
{
	struct conn_record *r = &c->rec;

	r->close.err = ev->err;
	if (!c->established) {
		r->handshake.result = failed_handshake(c, ev);
		/* A connect() whose SYN went out (snd_nxt past snd_una: the
		 * SYN's sequence number, and any Fast Open data) and was never
		 * acked still holds its ISN in snd_una; one that failed before
		 * sending has the two equal. The peer's ISN was never heard.
		 * Not from a destroy record: tcp_disconnect() may have wiped
		 * the socket since its ->CLOSE. */
		if (old == SYNFIN_TCP_SYN_SENT && ev->kind != SYNFIN_EV_DESTROY &&
		    ev->snd_nxt != ev->snd_una) {
			r->handshake.isn_local_known = true;
			r->handshake.isn_local = ev->snd_una;
		}
		/* A server's child retransmits in SYN_RECV its SYN-ACK, not a
		 * SYN: a Fast Open child's count is the kernel's (tcp_rtx_synack),
		 * as at its ESTABLISHED (on_established) */
		if (r->role == ROLE_SERVER)
			r->handshake.synack_retrans = ev->total_retrans;
		else
			r->handshake.syn_retrans = syn_retrans(c, ev);
		r->close.initiator = CLOSE_BY_NONE;
		r->close.how = HOW_NONE;
		return;
	}
	if (c->rst_received || ev->err == ECONNRESET_ || ev->err == EPIPE_) {
		r->close.how = HOW_RST_RECEIVED;
		if (r->close.initiator == CLOSE_BY_NONE)
			r->close.initiator = CLOSE_BY_REMOTE;
		return;
	}
	/* tcp_write_err(): retransmissions or keepalives that ran out end
	 * the connection with the last ICMP error it got (sk_err_soft),
	 * ETIMEDOUT only when none came. Past SYN-SENT an ICMP error closes
	 * nothing by itself. */
	if (ev->err == ETIMEDOUT_ || icmp_error(ev->err)) {
		r->close.how = HOW_TIMEOUT;
		return;
	}
	if (ev->err && ev->err != ECONNABORTED_) {
		r->close.how = HOW_UNKNOWN;
		return;
	}
	switch (ev->err ? 0 : old) {
	case SYNFIN_TCP_FIN_WAIT2:
		/* The socket still the application's and the peer's FIN not
		 * in: only a close() that aborts (SO_LINGER 0, unread data)
		 * ends it, tcp_disconnect() setting CLOSE before the reset
		 * goes. A normal close() orphans it first (a tw sock, or the
		 * FIN-WAIT-2 timer); the peer's FIN makes it DONE. Not a
		 * destroy record's: its flags are of a socket long closed. */
		if (ev->kind != SYNFIN_EV_DESTROY &&
		    !(ev->flags & (SYNFIN_F_DONE | SYNFIN_F_ORPHAN))) {
			r->close.how = HOW_RST_SENT;
			break;
		}
		/* fall through */
	case SYNFIN_TCP_CLOSING:
	case SYNFIN_TCP_LAST_ACK:
	case SYNFIN_TCP_TIME_WAIT:
		r->close.how = c->rst_sent ? HOW_RST_SENT : HOW_FIN;
		break;
	default:
		/* ESTABLISHED, CLOSE_WAIT or FIN_WAIT1 straight to CLOSE with
		 * no error is a local abort: SO_LINGER 0, unread data at
		 * close(), a listener closing with children it never accepted. */
		r->close.how = HOW_RST_SENT;
		if (r->close.initiator == CLOSE_BY_NONE)
			r->close.initiator = CLOSE_BY_LOCAL;
		break;
	}
	if (r->close.how == HOW_RST_SENT)
		r->close.rst_cause = local_rst_cause(c, ev, old);
}

bool conn_failed(const struct conn_record *rec)
{
	switch (rec->handshake.result) {
	case HS_REFUSED:
	case HS_TIMEOUT:
	case HS_RESET:
	case HS_ABORTED:
	case HS_UNREACHABLE:
		return true;
	default:
		break;
	}
	switch (rec->close.how) {
	case HOW_RST_SENT:
	case HOW_RST_RECEIVED:
	case HOW_TIMEOUT:
		return true;
	default:
		return rec->close.err != 0;
	}
}

/* What the connection left behind, when the tw timer did not tell us:
 * SOCK_DONE at ->CLOSE says whether the peer's FIN had arrived. */
static void infer_time_wait(struct conn *c, const struct synfin_event *ev, uint8_t old)
{
	struct conn_record *r = &c->rec;

	if (r->tw.measured || ev->err)
		return;
	if ((old == SYNFIN_TCP_FIN_WAIT2 && (ev->flags & SYNFIN_F_DONE)) ||
	    old == SYNFIN_TCP_CLOSING)
		r->tw.kind = TW_KIND_TIME_WAIT;
	else if (old == SYNFIN_TCP_FIN_WAIT2 && (ev->flags & SYNFIN_F_ORPHAN))
		r->tw.kind = TW_KIND_FIN_WAIT2;
	else
		return;
	/* 2MSL is fixed at 60 s in Linux; a FIN_WAIT2 tw waits
	 * tcp_fin_timeout, 60 s by default, per netns (not read here). */
	r->tw.expire_ns = ev->ts_ns + TIMEWAIT_LEN_NS;
	if (r->tw.kind == TW_KIND_TIME_WAIT && !r->span[SYNFIN_TCP_TIME_WAIT].enter_ns)
		r->span[SYNFIN_TCP_TIME_WAIT].enter_ns = ev->ts_ns;
}

/* Zeek's conn_state and history, from one endpoint's view. Zeek names the
 * originator (the SYN's sender) in upper case and the responder in lower:
 * S, h and A are fixed; who sent data, FINs and RSTs depends on whether
 * this end is the originator (the client) or the responder. */
static void classify_zeek(struct conn *c)
{
	struct conn_record *r = &c->rec;
	bool local_orig = r->role != ROLE_SERVER;
	char local_case = local_orig ? 0 : 0x20, remote_case = local_orig ? 0x20 : 0;
	char *h = r->history;
	size_t n = 0;
	const char *state;
	bool rst_by_orig;
#define PUSH(ch) do { if (n + 1 < sizeof(r->history)) h[n++] = (ch); } while (0)
#define LOCAL(ch) ((char)((ch) | local_case))
#define REMOTE(ch) ((char)((ch) | remote_case))

	/* A connection open before synfin started: Zeek's OTH (midstream),
	 * with the letters of what was seen after the handshake. */
	if (r->handshake.result == HS_NOT_SEEN)
		goto after_handshake;
	PUSH('S');
	if (r->handshake.syn_retrans)
		PUSH('T');
	if (!c->established) {
		if (r->handshake.result == HS_REFUSED) {
			PUSH('r');
			state = "REJ";
		} else if (r->handshake.result == HS_RESET) {
			PUSH('h');
			PUSH(c->rst_received ? REMOTE('R') : LOCAL('R'));
			rst_by_orig = c->rst_received != local_orig;
			state = rst_by_orig ? "RSTO" : "RSTR";
		} else {
			state = "S0";
		}
		goto done;
	}
	PUSH('h');
	PUSH('A');
after_handshake:
	if (r->bytes_known && (local_orig ? r->bytes_sent : r->bytes_received))
		PUSH('D');
	if (r->bytes_known && (local_orig ? r->bytes_received : r->bytes_sent))
		PUSH('d');
	if (r->wave.local_fin && r->wave.remote_fin && r->close.initiator == CLOSE_BY_REMOTE) {
		PUSH(REMOTE('F'));
		PUSH(LOCAL('F'));
	} else {
		if (r->wave.local_fin)
			PUSH(LOCAL('F'));
		if (r->wave.remote_fin)
			PUSH(REMOTE('F'));
	}
	if (r->close.how == HOW_RST_SENT || r->close.how == HOW_RST_RECEIVED) {
		bool local_rst = r->close.how == HOW_RST_SENT;

		PUSH(local_rst ? LOCAL('R') : REMOTE('R'));
		rst_by_orig = local_rst == local_orig;
		state = rst_by_orig ? "RSTO" : "RSTR";
	} else if (r->wave.local_fin && r->wave.remote_fin) {
		state = "SF";
	} else if (r->wave.local_fin || r->wave.remote_fin) {
		/* S2: only the originator's FIN seen; S3: only the responder's */
		state = r->wave.local_fin == local_orig ? "S2" : "S3";
	} else {
		state = "S1";
	}
	if (r->handshake.result == HS_NOT_SEEN)
		state = "OTH";
done:
	h[n] = '\0';
	/* a copy, not snprintf: it ran for every record and showed in the
	 * profile (the states are Zeek's, 6 characters at most) */
	strncpy(r->conn_state, state, sizeof(r->conn_state) - 1);
	r->conn_state[sizeof(r->conn_state) - 1] = '\0';
#undef PUSH
#undef LOCAL
#undef REMOTE
}

/* The peer's FIN is in: rcv_nxt has just moved past it, and stays there
 * (nothing follows a FIN), so any state record since tells its number
 * too. */
static void note_remote_fin(struct conn_record *r, const struct synfin_event *ev)
{
	if (remote_fin_seq_known(r))
		return;
	r->wave.remote_fin = true;
	r->wave.remote_fin_seq_unknown = false;
	r->wave.remote_fin_seq = ev->rcv_nxt - 1;
}

static uint64_t sub_sat(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* bytes_acked counts the SYN of an active open and our acked FIN;
 * bytes_received counts the peer's FIN. Take them out to get payload. */
static void close_bytes(struct conn *c, const struct synfin_event *ev, uint8_t old)
{
	struct conn_record *r = &c->rec;
	bool our_fin_acked = !ev->err && (old == SYNFIN_TCP_FIN_WAIT2 ||
					  old == SYNFIN_TCP_CLOSING ||
					  old == SYNFIN_TCP_LAST_ACK);
	uint64_t syn = (c->established && r->role != ROLE_SERVER) ? 1 : 0;

	if (old == SYNFIN_TCP_FIN_WAIT2 && (ev->flags & SYNFIN_F_DONE))
		note_remote_fin(r, ev);
	if (ev->kind == SYNFIN_EV_DESTROY && !ev->bytes_acked && !ev->bytes_received)
		return; /* a wiped socket: counters unknown */
	r->bytes_sent = sub_sat(ev->bytes_acked, syn + (our_fin_acked ? 1 : 0));
	r->bytes_received = sub_sat(ev->bytes_received, r->wave.remote_fin ? 1 : 0);
	r->bytes_known = true;
}

/* A reset ended the wave of an orphan (its tw sock in FIN_WAIT2) after
 * its ->CLOSE, not a FIN: the peer's (how: HOW_RST_RECEIVED), or the one
 * its tw sock sent the peer's late data (HOW_RST_SENT). */
static void wave_reset_after_close(struct conn_record *r, enum close_how how)
{
	r->close.how = how;
	r->close.rst_cause = how == HOW_RST_SENT ? RST_CAUSE_AFTER_CLOSE : RST_CAUSE_NONE;
}

static bool want_report(const struct engine *eng, const struct conn *c)
{
	return !c->listener && filter_owner_passes(eng->opts.filter, c->rec.pid, c->rec.comm);
}

static void report(struct engine *eng, struct conn *c)
{
	c->deferred = false;
	if (eng->opts.on_conn && want_report(eng, c))
		eng->opts.on_conn(&c->rec, eng->opts.ctx);
}

static void follow_tw(struct engine *eng, struct conn *c, struct tw_follow *f);

/* Room to follow c's tw sock. An entry of its own is freed for it first;
 * a summary with none (one that did not fit at the cap, a seed past
 * --max-conns) finds no room while the table is full. */
static bool tw_room(const struct engine *eng, const struct conn *c)
{
	return c != &eng->scratch || !at_cap(eng);
}

/* What following c's tw sock takes, got before its record goes out: the
 * record must not promise a time_wait record that cannot come (no room
 * at the cap, or no memory for the entry or the table's growth). NULL
 * then, and the record says exit_followed false. */
static struct tw_follow *tw_follow_take(struct engine *eng, struct conn *c)
{
	if (!tw_room(eng, c) || idtable_get(&eng->tws, c->id) || idtable_reserve(&eng->tws))
		return NULL;
	return pool_get(&eng->tw_pool);
}

/* c's record, then its tw sock followed: at its close, or at the FIN an
 * orphan's record waited for. */
static void report_and_follow(struct engine *eng, struct conn *c)
{
	struct tw_follow *f = tw_follow_take(eng, c);

	if (!f)
		c->rec.tw.unfollowed = true;
	report(eng, c);
	follow_tw(eng, c, f);
}

static void finish(struct engine *eng, struct conn *c, const struct synfin_event *ev,
		   uint8_t old)
{
	struct conn_record *r = &c->rec;
	bool follow, defer;

	/* closed already, its record waiting for its tw sock: a second close
	 * (a duplicate, or a destroy after it) would report and count it
	 * twice */
	if (c->in_tw)
		return;
	r->end_ns = ev->ts_ns;
	r->close_missed = ev->kind == SYNFIN_EV_DESTROY;
	r->last_state = old;
	r->total_retrans = ev->total_retrans;
	r->srtt_us = ev->srtt_us;
	close_verdict(c, ev, old);
	close_bytes(c, ev, old);
	/* A FIN that reaches a tw sock born in FIN_WAIT2 at once, on another
	 * CPU, can change its substate before its birth is read (it is
	 * hashed before its timer starts): a birth in TIME_WAIT from a socket
	 * the peer's FIN had not reached. That FIN's own record follows and
	 * tells the wave, as for any birth in FIN_WAIT2; taken as it read,
	 * the record went out at once without the peer's FIN. (Not for a
	 * destroy standing in for a missed close: that one says nothing of
	 * the FIN.) */
	if (eng->opts.tw_fin_visible && r->tw.measured && r->tw.kind == TW_KIND_TIME_WAIT &&
	    old == SYNFIN_TCP_FIN_WAIT2 && !r->wave.remote_fin && ev->kind != SYNFIN_EV_DESTROY) {
		r->tw.kind = TW_KIND_FIN_WAIT2;
		r->span[SYNFIN_TCP_TIME_WAIT].enter_ns = 0;
	}
	infer_time_wait(c, ev, old);
	if (c->wave_reset_ns) {
		/* FIN-WAIT-2 ran until that reset */
		r->span[SYNFIN_TCP_FIN_WAIT2].leave_ns = c->wave_reset_ns;
		wave_reset_after_close(r, r->tw.killed_by);
	}
	classify_zeek(c);
	/* Its tw sock lives on for up to 60 s: keep the entry to report when
	 * it really goes, if the tw timer hooks are watching it. An orphan
	 * that closed in FIN_WAIT2 has not finished its wave: its tw sock
	 * still waits for the peer's FIN. Where that FIN can be seen, the
	 * record waits for it (or for the tw sock's end) and tells the
	 * whole wave. */
	follow = eng->opts.follow_tw && r->tw.measured && r->tw.kind != TW_KIND_NONE;
	defer = follow && eng->opts.tw_fin_visible && r->tw.kind == TW_KIND_FIN_WAIT2;
	if (follow && !defer) {
		report_and_follow(eng, c);
		return;
	}
	/* its record must not promise a time_wait record there is no room for */
	if (defer && !tw_room(eng, c))
		r->tw.unfollowed = true;
	if (!defer)
		report(eng, c);
	if (c == &eng->scratch) {
		/* rebuilt from a summary: kept only while its record waits */
		struct conn *kept = defer ? insert(eng, c->id) : NULL;

		if (!kept) {
			if (defer)
				report(eng, c); /* at the cap: the wave as it stands */
			return;
		}
		*kept = *c;
		c = kept;
	}
	if (defer && idtable_put(&eng->in_tw, c->id, c)) {
		/* no memory to follow it: the wave as it stands, as at the cap */
		c->rec.tw.unfollowed = true;
		report(eng, c);
		eng->lost[LOSS_TABLE_FULL]++;
		defer = false;
	}
	if (defer) {
		c->in_tw = true;
		c->deferred = true;
		if (tw_timer_counted(&c->tw_timer))
			count_conn_tw(eng, c, 1);
		return;
	}
	erase(eng, c);
}

/* The time_wait record: the connection's identity and its tw sock. */
static void tw_record(const struct tw_follow *f, enum tw_exit how, uint64_t ts,
		      struct conn_record *r)
{
	memset(r, 0, sizeof(*r));
	r->id = f->id;
	r->end_ns = f->end_ns;
	r->family = f->family;
	memcpy(r->laddr, f->laddr, sizeof(r->laddr));
	memcpy(r->raddr, f->raddr, sizeof(r->raddr));
	r->lport = f->lport;
	r->rport = f->rport;
	r->role = f->role;
	r->pid = f->pid;
	memcpy(r->comm, f->comm, sizeof(r->comm));
	r->netns = f->netns;
	r->cgroup_id = f->cgroup_id;
	r->uid = f->uid;
	r->uid_known = f->uid_known;
	r->handshake.ms = -1;
	r->tw.kind = f->kind;
	r->tw.measured = true;
	r->tw.start_ns = f->start_ns;
	r->tw.expire_ns = f->expire_ns;
	r->tw.exit = how;
	r->tw.exit_ns = ts;
	if (how == TW_EXIT_KILLED)
		r->tw.killed_by = f->killed_by;
	if (f->kind == TW_KIND_TIME_WAIT) {
		r->span[SYNFIN_TCP_TIME_WAIT].enter_ns = f->tw_enter_ns;
		r->span[SYNFIN_TCP_TIME_WAIT].leave_ns = ts;
	}
}

static void emit_time_wait(struct engine *eng, const struct tw_follow *f, enum tw_exit how,
			   uint64_t ts)
{
	struct conn_record rec;

	if (eng->opts.on_time_wait && filter_owner_passes(eng->opts.filter, f->pid, f->comm)) {
		tw_record(f, how, ts, &rec);
		eng->opts.on_time_wait(&rec, eng->opts.ctx);
	}
}

/* What twcount needs of a tw sock: the same from a followed one's entry
 * and from a connection kept in_tw. */
static void tw_sock_of(struct twcount_sock *s, uint32_t netns, uint8_t family, uint8_t role,
		       const uint8_t *laddr, const uint8_t *raddr, uint16_t lport, uint16_t rport)
{
	s->netns = netns;
	s->family = family;
	s->server = role == ROLE_SERVER;
	memcpy(s->laddr, laddr, SYNFIN_ADDR_LEN);
	memcpy(s->raddr, raddr, SYNFIN_ADDR_LEN);
	s->lport = lport;
	s->rport = rport;
}

/* A connection kept in_tw is a tw sock in FIN_WAIT2: in its namespace's
 * count, in no TIME_WAIT group (tw_fin follows it when the FIN comes). */
static void count_conn_tw(struct engine *eng, const struct conn *c, int delta)
{
	const struct conn_record *r = &c->rec;
	struct twcount_sock s;

	tw_sock_of(&s, r->netns, r->family, r->role, r->laddr, r->raddr, r->lport, r->rport);
	twcount__sock(eng->twc, &s, delta);
}

/* Only for a follow tw_timer_counted() says is counted, or was. */
static void count_follow(struct engine *eng, const struct tw_follow *f, int delta, bool sock)
{
	struct twcount_sock s;

	tw_sock_of(&s, f->netns, f->family, f->role, f->laddr, f->raddr, f->lport, f->rport);
	if (sock)
		twcount__sock(eng->twc, &s, delta);
	if (f->kind == TW_KIND_TIME_WAIT)
		twcount__grouped(eng->twc, &s, delta);
}

/* A follow whose cancel awaits its verdict waits in tw_cancelled for the
 * tick. With no memory for that, the tick's look at a share of tws
 * settles it, a few seconds later. */
static void await_verdict(struct engine *eng, struct tw_follow *f)
{
	(void)idtable_put(&eng->tw_cancelled, f->id, f);
}

/* Every change to a tw sock's timer goes through these four, which keep
 * the counts with it: out at a cancel, back in at the start that makes it
 * a re-arm. */
static bool conn_timer_armed(struct engine *eng, struct conn *c, uint64_t ts)
{
	bool was_counted = tw_timer_counted(&c->tw_timer);
	bool armed = tw_timer_armed(&c->tw_timer, ts);

	if (c->in_tw && tw_timer_counted(&c->tw_timer) != was_counted)
		count_conn_tw(eng, c, 1);
	return armed;
}

static void conn_timer_cancelled(struct engine *eng, struct conn *c, uint64_t ts)
{
	bool was_counted = tw_timer_counted(&c->tw_timer);

	tw_timer_cancelled(eng, &c->tw_timer, ts);
	if (c->in_tw && tw_timer_counted(&c->tw_timer) != was_counted)
		count_conn_tw(eng, c, -1);
}

static bool follow_timer_armed(struct engine *eng, struct tw_follow *f, uint64_t ts)
{
	bool was_counted = tw_timer_counted(&f->timer);
	bool armed = tw_timer_armed(&f->timer, ts);

	if (tw_timer_counted(&f->timer) != was_counted) {
		count_follow(eng, f, 1, true);
		idtable_del(&eng->tw_cancelled, f->id);
	}
	return armed;
}

static void follow_timer_cancelled(struct engine *eng, struct tw_follow *f, uint64_t ts)
{
	bool was_counted = tw_timer_counted(&f->timer);

	tw_timer_cancelled(eng, &f->timer, ts);
	if (tw_timer_counted(&f->timer) != was_counted) {
		count_follow(eng, f, -1, true);
		await_verdict(eng, f);
	}
}

/* A followed FIN_WAIT2 tw sock got the peer's FIN: TIME_WAIT proper now. */
static void follow_enters_time_wait(struct engine *eng, struct tw_follow *f, uint64_t ts)
{
	if (f->kind == TW_KIND_TIME_WAIT)
		return;
	f->kind = TW_KIND_TIME_WAIT;
	f->tw_enter_ns = ts;
	if (tw_timer_counted(&f->timer))
		count_follow(eng, f, 1, false);
}

static void end_follow(struct engine *eng, struct tw_follow *f, enum tw_exit how, uint64_t ts)
{
	emit_time_wait(eng, f, how, ts);
	if (tw_timer_counted(&f->timer))
		count_follow(eng, f, -1, true);
	/* whatever its timer says: f is freed below, and the tick must not
	 * find it in tw_cancelled (a small table, one probe) */
	idtable_del(&eng->tw_cancelled, f->id);
	idtable_del(&eng->tws, f->id);
	pool_put(&eng->tw_pool, f);
}

const struct twcount *engine__twcount(const struct engine *eng)
{
	/* a FIN_WAIT2 tw sock's FIN must be seen for its groups to be right */
	if (!eng->opts.follow_tw || !eng->opts.tw_fin_visible || !twcount__ok(eng->twc))
		return NULL;
	return eng->twc;
}

void engine__tw_port_range(struct engine *eng, uint32_t netns, uint32_t lo, uint32_t hi)
{
	if (!twcount__port_range(eng->twc, netns, lo, hi))
		return;
	/* rare (a range set after its namespace's first tw socks): group
	 * them all again against the new ranges */
	twcount__clear_groups(eng->twc);
	for (uint32_t i = 0; i < eng->tws.nslots; i++) {
		const struct tw_follow *f = eng->tws.vals[i];

		if (f && tw_timer_counted(&f->timer))
			count_follow(eng, f, 1, false);
	}
}

void engine__tw_prune(struct engine *eng)
{
	twcount__prune(eng->twc);
}

static void tw_follow_of(const struct conn *c, struct tw_follow *f)
{
	const struct conn_record *r = &c->rec;

	f->id = c->id;
	f->end_ns = r->end_ns;
	f->start_ns = r->tw.start_ns;
	f->tw_enter_ns = r->span[SYNFIN_TCP_TIME_WAIT].enter_ns;
	f->expire_ns = r->tw.expire_ns;
	f->timer = c->tw_timer;
	f->cgroup_id = r->cgroup_id;
	f->uid = r->uid;
	f->uid_known = r->uid_known;
	f->pid = r->pid;
	f->netns = r->netns;
	f->lport = r->lport;
	f->rport = r->rport;
	f->family = r->family;
	f->role = r->role;
	f->kind = r->tw.kind;
	f->killed_by = (uint8_t)r->tw.killed_by;
	memcpy(f->laddr, r->laddr, sizeof(f->laddr));
	memcpy(f->raddr, r->raddr, sizeof(f->raddr));
	memcpy(f->comm, r->comm, sizeof(f->comm));
}

/* A reported connection's tw sock is followed in f, tw_follow_take()'s
 * compact entry; the connection leaves the table. Without f (at the cap,
 * or out of memory) the follow is what is lost, counted as table_full:
 * its record is out already, saying so. */
static void follow_tw(struct engine *eng, struct conn *c, struct tw_follow *f)
{
	if (f)
		tw_follow_of(c, f);
	if (c != &eng->scratch)
		erase(eng, c);
	if (!f || idtable_put(&eng->tws, f->id, f)) {
		pool_put(&eng->tw_pool, f);
		eng->lost[LOSS_TABLE_FULL]++;
		return;
	}
	if (tw_timer_counted(&f->timer))
		count_follow(eng, f, 1, true);
	else
		await_verdict(eng, f);
}

/* A deferred record's tw sock went before the peer's FIN came: its
 * record, then its time_wait record, and nothing left to follow. */
static void finish_tw(struct engine *eng, struct conn *c, enum tw_exit how, uint64_t ts)
{
	struct conn_record *r = &c->rec;
	struct tw_follow f;

	/* no FIN came: the connection waited in FIN_WAIT2 until here */
	if (ts && r->span[SYNFIN_TCP_FIN_WAIT2].enter_ns)
		r->span[SYNFIN_TCP_FIN_WAIT2].leave_ns = ts;
	/* ... and a reset ended its wave, not a FIN: the peer's, or the one
	 * its tw sock sent the peer's late data */
	if (how == TW_EXIT_KILLED && r->tw.killed_by != HOW_NONE) {
		wave_reset_after_close(r, r->tw.killed_by);
		classify_zeek(c);
	}
	report(eng, c);
	tw_follow_of(c, &f);
	erase(eng, c);
	emit_time_wait(eng, &f, how, ts);
}

/* The peer's FIN reached the tw sock an orphan left in FIN_WAIT2: the
 * wave is complete, the tw sock is now in TIME_WAIT for 2MSL. */
static void tw_fin(struct engine *eng, struct conn *c, const struct synfin_event *ev)
{
	struct conn_record *r = &c->rec;

	if (!c->in_tw)
		return;
	/* a FIN restarts 2MSL (inet_twsk_reschedule()) */
	if (conn_timer_armed(eng, c, ev->ts_ns))
		r->tw.expire_ns = ev->ts_ns + TIMEWAIT_LEN_NS;
	if (r->wave.remote_fin)
		return; /* a duplicate FIN */
	/* The segment that acked our FIN made the tw sock (the kernel keeps
	 * an orphan's socket when that segment has the FIN too): this FIN
	 * came in a segment of its own. */
	r->wave.fin_ack_known = true;
	r->wave.fin_ack_merged = false;
	r->wave.remote_fin = true;
	r->wave.remote_fin_seq = ev->seq;
	if (r->span[SYNFIN_TCP_FIN_WAIT2].enter_ns)
		r->span[SYNFIN_TCP_FIN_WAIT2].leave_ns = ev->ts_ns;
	r->span[SYNFIN_TCP_TIME_WAIT].enter_ns = ev->ts_ns;
	r->tw.kind = TW_KIND_TIME_WAIT;
	classify_zeek(c);
	report_and_follow(eng, c);
}

static void tw_fin_followed(struct engine *eng, struct tw_follow *f,
			    const struct synfin_event *ev)
{
	/* a FIN restarts 2MSL (inet_twsk_reschedule()) */
	if (follow_timer_armed(eng, f, ev->ts_ns))
		f->expire_ns = ev->ts_ns + TIMEWAIT_LEN_NS;
	if (f->kind == TW_KIND_FIN_WAIT2)
		follow_enters_time_wait(eng, f, ev->ts_ns);
}

void engine__flush(struct engine *eng)
{
	for (uint32_t i = 0; i < eng->conns.nslots; i++) {
		struct conn *c = eng->conns.vals[i];

		if (c && c->deferred) {
			c->deferred = false;
			report(eng, c);
		}
	}
}

/* Each state's first entry and first exit, for phase times and the ladder. */
static void note_span(struct conn_record *r, uint8_t old, uint8_t new, uint64_t ts)
{
	/* CLOSE->x is a birth and LISTEN->SYN_RECV a child's: neither is a
	 * state this connection was in */
	if (old < SYNFIN_TCP_MAX_STATES && old != SYNFIN_TCP_CLOSE &&
	    old != SYNFIN_TCP_LISTEN && old != new && !r->span[old].leave_ns)
		r->span[old].leave_ns = ts;
	if (new < SYNFIN_TCP_MAX_STATES && !r->span[new].enter_ns)
		r->span[new].enter_ns = ts;
}

static void apply_state(struct engine *eng, struct conn *c, const struct synfin_event *ev)
{
	struct conn_record *r = &c->rec;
	uint8_t old = ev->old_state, new = ev->new_state;

	note_span(r, old, new, ev->ts_ns);
	/* a seed's peer FIN came before synfin looked: this tells its number */
	if (r->wave.remote_fin_seq_unknown)
		note_remote_fin(r, ev);
	/* A missed transition (recursion miss, lost record) leaves c->state
	 * behind ev->old_state; trust the kernel's old state. A socket first
	 * seen past its handshake was established before we looked. */
	switch (old) {
	case SYNFIN_TCP_ESTABLISHED:
	case SYNFIN_TCP_FIN_WAIT1:
	case SYNFIN_TCP_FIN_WAIT2:
	case SYNFIN_TCP_CLOSE_WAIT:
	case SYNFIN_TCP_LAST_ACK:
	case SYNFIN_TCP_CLOSING:
		c->established = true;
		break;
	case SYNFIN_TCP_LISTEN:
		/* LISTEN->CLOSE is a listener's close, though synfin never
		 * saw it listen (it listened before synfin started); a
		 * child's birth is LISTEN->SYN_RECV */
		if (new == SYNFIN_TCP_CLOSE)
			c->listener = true;
		break;
	default:
		break;
	}
	switch (new) {
	case SYNFIN_TCP_LISTEN:
		c->listener = true;
		break;
	case SYNFIN_TCP_SYN_SENT:
		r->role = ROLE_CLIENT;
		break;
	case SYNFIN_TCP_SYN_RECV:
		if (old == SYNFIN_TCP_LISTEN)
			r->role = ROLE_SERVER;
		else if (old == SYNFIN_TCP_SYN_SENT)
			r->handshake.simultaneous_open = true;
		break;
	case SYNFIN_TCP_ESTABLISHED:
		on_established(c, ev);
		break;
	case SYNFIN_TCP_FIN_WAIT1:
	case SYNFIN_TCP_LAST_ACK:
		if (!c->established && old == SYNFIN_TCP_SYN_RECV)
			c->established = true;
		/* tcp_close_state() runs before tcp_send_fin(): the FIN
		 * takes the sequence number write_seq has now */
		if (!r->wave.local_fin) {
			r->wave.local_fin = true;
			r->wave.local_fin_seq = ev->write_seq;
		}
		if (r->close.initiator == CLOSE_BY_NONE)
			r->close.initiator = new == SYNFIN_TCP_FIN_WAIT1 ? CLOSE_BY_LOCAL :
									  CLOSE_BY_REMOTE;
		break;
	case SYNFIN_TCP_CLOSE_WAIT:
		note_remote_fin(r, ev);
		if (r->close.initiator == CLOSE_BY_NONE)
			r->close.initiator = CLOSE_BY_REMOTE;
		break;
	case SYNFIN_TCP_CLOSING:
		/* both FINs crossed: a simultaneous close */
		note_remote_fin(r, ev);
		r->close.initiator = CLOSE_BY_BOTH;
		break;
	case SYNFIN_TCP_CLOSE:
		set_state(eng, c, new);
		finish(eng, c, ev, old);
		return;
	default:
		break;
	}
	set_state(eng, c, new);
}

/* A tw sock's timer was armed: at birth (just before the full socket's
 * ->CLOSE), or re-armed (FIN_WAIT2 substate receiving the FIN). */
/* When a tw timer just armed runs out: seq holds the ms left, unless the
 * kernel's HZ was unknown (then 2MSL, TCP_TIMEWAIT_LEN, is assumed). */
static uint64_t tw_expiry_ns(const struct synfin_event *ev)
{
	return ev->ts_ns + ((ev->flags & SYNFIN_F_HZ_UNKNOWN) ? TIMEWAIT_LEN_NS :
			    (uint64_t)ev->seq * 1000000ULL);
}

static void tw_started(struct engine *eng, struct conn *c, const struct synfin_event *ev)
{
	struct conn_record *r = &c->rec;

	r->tw.measured = !(ev->flags & SYNFIN_F_HZ_UNKNOWN);
	if (!r->tw.start_ns)
		r->tw.start_ns = ev->ts_ns;
	if (conn_timer_armed(eng, c, ev->ts_ns))
		r->tw.expire_ns = tw_expiry_ns(ev);
	if (ev->new_state == SYNFIN_TCP_TIME_WAIT) {
		r->tw.kind = TW_KIND_TIME_WAIT;
		if (!r->span[SYNFIN_TCP_TIME_WAIT].enter_ns)
			r->span[SYNFIN_TCP_TIME_WAIT].enter_ns = ev->ts_ns;
	} else if (r->tw.kind == TW_KIND_NONE) {
		r->tw.kind = TW_KIND_FIN_WAIT2;
	}
}

/* A followed tw sock's timer re-armed (its FIN_WAIT2 substate got the
 * FIN, or a retransmitted FIN restarted 2MSL). */
static void tw_restarted(struct engine *eng, struct tw_follow *f, const struct synfin_event *ev)
{
	if (follow_timer_armed(eng, f, ev->ts_ns))
		f->expire_ns = tw_expiry_ns(ev);
	if (ev->new_state == SYNFIN_TCP_TIME_WAIT)
		follow_enters_time_wait(eng, f, ev->ts_ns);
}

/* A tw_end that is a reset's note, no end of its own: it names the
 * cause of a kill. */
static bool is_reset_note(const struct synfin_event *ev)
{
	return ev->reason == SYNFIN_TW_RST || ev->reason == SYNFIN_TW_RST_SENT;
}

/* A reset's note: the cause it names, into *by. False if it names none:
 * a received reset is the cause of the cancel before it, and without one
 * it killed nothing, or its cancel is still to come (from the spill map). */
static bool tw_reset_names(const struct tw_timer *t, const struct synfin_event *ev,
			   enum close_how *by)
{
	if (ev->reason == SYNFIN_TW_RST_SENT)
		*by = HOW_RST_SENT;   /* the kernel kills it: its cancel follows */
	else if (t->cancel_ns)
		*by = HOW_RST_RECEIVED;
	else
		return false;
	return true;
}

/* A received reset's note and the cancel it caused come from one
 * segment's processing, microseconds apart. */
#define RST_KILL_WINDOW_NS (1000ULL * 1000ULL)

static void park_note(struct engine *eng, const struct synfin_event *ev);
static bool take_note(struct engine *eng, uint64_t cookie, struct synfin_event *ev);

/* A reset's note (ev) for a tw sock synfin follows (timer t, its killed_by
 * in *by): one that names nothing yet waits for its cancel, which out of
 * the spill map can come after it. */
static void tw_reset_noted(struct engine *eng, const struct tw_timer *t,
			   const struct synfin_event *ev, enum close_how *by)
{
	if (!tw_reset_names(t, ev, by))
		park_note(eng, ev);
}

/* A cancel at cancel_ns (timer t): a reset's note that waited for it
 * (out of the spill map), a received one only if this is the cancel it
 * caused. */
static void tw_cancel_names(struct engine *eng, const struct tw_timer *t, uint64_t cookie,
			    uint64_t cancel_ns, enum close_how *by)
{
	struct synfin_event note;

	if (!take_note(eng, cookie, &note))
		return;
	if (note.reason == SYNFIN_TW_RST &&
	    (note.ts_ns < cancel_ns || note.ts_ns - cancel_ns > RST_KILL_WINDOW_NS))
		return;
	tw_reset_names(t, &note, by);
}

static void tw_ended(struct engine *eng, struct conn *c, const struct synfin_event *ev)
{
	if (!c->in_tw)
		return;
	if (is_reset_note(ev)) {
		tw_reset_noted(eng, &c->tw_timer, ev, &c->rec.tw.killed_by);
		return;
	}
	if (ev->reason == SYNFIN_TW_EXPIRED) {
		finish_tw(eng, c, TW_EXIT_EXPIRED, ev->ts_ns);
	} else {
		conn_timer_cancelled(eng, c, ev->ts_ns); /* settled by a start or tick */
		tw_cancel_names(eng, &c->tw_timer, ev->cookie, ev->ts_ns, &c->rec.tw.killed_by);
	}
}

static void tw_ended_followed(struct engine *eng, struct tw_follow *f,
			      const struct synfin_event *ev)
{
	enum close_how by = f->killed_by;

	if (is_reset_note(ev)) {
		tw_reset_noted(eng, &f->timer, ev, &by);
	} else if (ev->reason == SYNFIN_TW_EXPIRED) {
		end_follow(eng, f, TW_EXIT_EXPIRED, ev->ts_ns);
		return;
	} else {
		follow_timer_cancelled(eng, f, ev->ts_ns); /* settled by a start or tick */
		tw_cancel_names(eng, &f->timer, ev->cookie, ev->ts_ns, &by);
	}
	f->killed_by = (uint8_t)by;
}

/* What a tick makes of a tw sock followed to expire_ns: killed (its
 * cancel stands), given up (its end was not seen by the expiry and the
 * grace after it), or nothing yet (false). A cancel stands at the expiry
 * even without the drains: under overload the ring may not empty for that
 * long. */
static bool tw_settled(const struct engine *eng, const struct tw_timer *t, uint64_t expire_ns,
		       uint64_t now_ns, enum tw_exit *how)
{
	bool overdue = now_ns > expire_ns + TW_GRACE_NS;

	if (tw_timer_dead(eng, t, now_ns) || (overdue && t->cancel_ns))
		*how = TW_EXIT_KILLED;
	else if (overdue)
		*how = TW_EXIT_NONE;
	else
		return false;
	return true;
}

/* Settles the followed tw socks in n slots of t (tws or tw_cancelled)
 * from slot `from` (masked) on; returns the slot after the last. An end
 * shifts a later entry into its slot, which is looked at again. */
static uint32_t settle_follows(struct engine *eng, struct idtable *t, uint32_t from, uint32_t n,
			       uint64_t now_ns)
{
	uint32_t i = from & (t->nslots - 1);
	enum tw_exit how;

	while (n) {
		struct tw_follow *f = t->vals[i];

		if (f && tw_settled(eng, &f->timer, f->expire_ns, now_ns, &how)) {
			end_follow(eng, f, how, how == TW_EXIT_KILLED ? f->timer.cancel_ns : 0);
			continue;
		}
		i = (i + 1) & (t->nslots - 1);
		n--;
	}
	return i;
}

void engine__tick(struct engine *eng, uint64_t now_ns)
{
	uint32_t share;
	enum tw_exit how;

	/* a removal shifts a later entry into this slot: look again */
	for (uint32_t i = 0; i < eng->in_tw.nslots; i++) {
		struct conn *c = eng->in_tw.vals[i];

		if (!c || !tw_settled(eng, &c->tw_timer, c->rec.tw.expire_ns, now_ns, &how))
			continue;
		finish_tw(eng, c, how, how == TW_EXIT_KILLED ? c->tw_timer.cancel_ns : 0);
		i--;
	}
	settle_follows(eng, &eng->tw_cancelled, 0, eng->tw_cancelled.nslots, now_ns);
	share = eng->tws.nslots / TW_SCAN_SHARE;
	if (share < TW_SCAN_MIN_SLOTS)
		share = TW_SCAN_MIN_SLOTS;
	if (share > eng->tws.nslots)
		share = eng->tws.nslots;
	eng->tw_scan_at = settle_follows(eng, &eng->tws, eng->tw_scan_at, share, now_ns);
}

static void emit_event(struct engine *eng, const struct conn *c, const struct synfin_event *ev)
{
	const struct tw_follow *f = NULL;
	struct synfin_event copy;

	if (!eng->opts.on_event)
		return;
	copy = *ev;
	if (c)
		complete_event(c, &copy);
	else if (is_tw_sock_record(ev) && (f = idtable_get(&eng->tws, ev->cookie)))
		complete_tw_event(f, &copy);
	/* -p/-c: the owner is what it is now; one not known (a socket
	 * from before synfin started, before anything named it) is not the
	 * one asked for, as at a connection's report (README) */
	if (!filter_owner_passes(eng->opts.filter, copy.pid, copy.comm))
		return;
	if (!c && !f && is_tw_sock_record(ev) && filter_tw_unjudged(eng->opts.filter))
		return;
	eng->opts.on_event(&copy, eng->opts.ctx);
}

/* The slot of table (pending_tw, pending_tw_end or pending_tw_fin) for cookie. */
static uint32_t parked_index(uint64_t cookie)
{
	return idtable_hash(cookie) & (ENGINE_PARKED_SLOTS - 1);
}

/* A tw record parked by cookie in table until its connection's summary
 * comes; a later one in the slot wins, and of one socket's, the later in
 * time (they come in any order from the spill map). Without a cookie no
 * summary could claim it. True if it pushed out another socket's record. */
static bool park(struct parked *table, const struct synfin_event *ev)
{
	struct synfin_event *slot;
	bool pushed;
	uint32_t i;

	if (!ev->cookie)
		return false;
	i = parked_index(ev->cookie);
	slot = &table->slot[i];
	if (slot->cookie == ev->cookie && slot->ts_ns > ev->ts_ns)
		return false;
	pushed = slot->cookie && slot->cookie != ev->cookie;
	table->taken[i / 64] |= 1ULL << (i % 64);
	*slot = *ev;
	return pushed;
}

/* The record parked under cookie, taken out into *ev; false if none. */
static bool take_parked(struct parked *table, uint64_t cookie, struct synfin_event *ev)
{
	struct synfin_event *slot;
	uint32_t i;

	if (!cookie)
		return false;
	/* mostly empty: no slot's cache line need be touched per summary */
	i = parked_index(cookie);
	if (!(table->taken[i / 64] & (1ULL << (i % 64))))
		return false;
	slot = &table->slot[i];
	if (slot->cookie != cookie)
		return false;
	*ev = *slot;
	slot->cookie = 0;
	table->taken[i / 64] &= ~(1ULL << (i % 64));
	return true;
}

/* Records wait in the spill map, or are being taken out of it, and what
 * comes before its own record may wait for that record by cookie. */
static bool spill_waiting(const struct engine *eng)
{
	return eng->spill_ends_cap && eng->opts.spill_waiting &&
	       eng->opts.spill_waiting(eng->opts.ctx);
}

/* An end, FIN or reset's note (ev) for a socket the engine does not know:
 * if summaries wait in the spill map, its own may be one of them, and it
 * waits in t (spill_ends, spill_fins or spill_notes). false: it does not
 * (no spill waiting, t full, or no memory); the caller parks an end or a
 * FIN in a slot instead. */
static bool park_early(struct engine *eng, struct idtable *t, const struct synfin_event *ev)
{
	struct early_tw *e;

	if (!ev->cookie || !spill_waiting(eng) || t->count >= eng->spill_ends_cap)
		return false;
	e = idtable_get(t, ev->cookie);
	if (e && e->ts_ns > ev->ts_ns)
		return true; /* the later stands, as in a slot */
	if (!e) {
		e = malloc(sizeof(*e));
		if (!e || idtable_put(t, ev->cookie, e)) {
			free(e);
			return false;
		}
	}
	e->ts_ns = ev->ts_ns;
	e->value = ev->kind == SYNFIN_EV_TW_FIN ? ev->seq : ev->reason;
	e->substate = ev->old_state;
	e->tcp_flags = ev->tcp_flags;
	e->drain = eng->drains;
	return true;
}

/* The record of kind parked for cookie in table (NULL: none) or t, taken
 * out into *ev; false if none. */
static bool take_early(struct parked *table, struct idtable *t, uint8_t kind, uint64_t cookie,
		       struct synfin_event *ev)
{
	struct early_tw *e;

	if (table && take_parked(table, cookie, ev))
		return true;
	e = cookie ? idtable_get(t, cookie) : NULL;
	if (!e)
		return false;
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->cookie = cookie;
	ev->ts_ns = e->ts_ns;
	ev->flags = SYNFIN_F_TW_SK;
	ev->old_state = ev->new_state = e->substate;
	if (kind == SYNFIN_EV_TW_FIN) {
		ev->seq = e->value;
		ev->tcp_flags = e->tcp_flags;
	} else {
		ev->reason = e->value;
	}
	idtable_del(t, cookie);
	free(e);
	return true;
}

/* A tw record (ev) for a socket the engine does not know yet, to wait for
 * its summary: by cookie in t while records wait in the spill map (t NULL:
 * never, as a start comes just before its summary), else in table's
 * slots, counting one it pushes out of its slot. */
static void park_tw(struct engine *eng, struct idtable *t, struct parked *table,
		    uint64_t *pushed_out, const struct synfin_event *ev)
{
	if (t && park_early(eng, t, ev))
		return;
	if (park(table, ev))
		(*pushed_out)++;
}

static bool take_end(struct engine *eng, uint64_t cookie, struct synfin_event *ev)
{
	return take_early(&eng->pending_tw_end, &eng->spill_ends, SYNFIN_EV_TW_END, cookie, ev);
}

static bool take_fin(struct engine *eng, uint64_t cookie, struct synfin_event *ev)
{
	return take_early(&eng->pending_tw_fin, &eng->spill_fins, SYNFIN_EV_TW_FIN, cookie, ev);
}

/* Asked at every cancel of a followed tw sock; empty but in a burst. */
static bool take_note(struct engine *eng, uint64_t cookie, struct synfin_event *ev)
{
	return eng->spill_notes.count &&
	       take_early(NULL, &eng->spill_notes, SYNFIN_EV_TW_END, cookie, ev);
}

/* A reset's note (ev) for a tw sock the engine does not know: while
 * records wait in the spill map its summary may be one of them, so it
 * waits for it in spill_notes. Otherwise it is of a tw sock synfin does
 * not follow, and nothing is lost. */
static void park_note(struct engine *eng, const struct synfin_event *ev)
{
	if (!ev->cookie || !spill_waiting(eng))
		return;
	if (!park_early(eng, &eng->spill_notes, ev))
		eng->notes_dropped++;  /* at the table's cap, or no memory */
}

/* A start, FIN or end of the tw sock of a connection synfin knows (c:
 * its table entry, if it has one); false if it knows none by that cookie. */
static bool tw_record_apply(struct engine *eng, struct conn *c, const struct synfin_event *ev)
{
	struct tw_follow *f = c ? NULL : idtable_get(&eng->tws, ev->cookie);

	if (!c && !f)
		return false;
	switch (ev->kind) {
	case SYNFIN_EV_TW_START:
		if (c)
			tw_started(eng, c, ev);
		else
			tw_restarted(eng, f, ev);
		break;
	case SYNFIN_EV_TW_FIN:
		if (c)
			tw_fin(eng, c, ev);
		else
			tw_fin_followed(eng, f, ev);
		break;
	default:
		if (c)
			tw_ended(eng, c, ev);
		else
			tw_ended_followed(eng, f, ev);
		break;
	}
	return true;
}

/* Whether the summary's tw sock's birth went apart (the kernel says so)
 * and has not come, while records wait in the spill map: there it may be.
 * The summary waits for it (a copy, in awaiting_birth), up to the spill
 * map's size. Not every summary without a birth: at the kernel's cap of
 * tw socks (tcp_max_tw_buckets), a churn closes thousands a second into
 * no tw sock, and those waited for nothing. */
static bool await_birth(struct engine *eng, const struct synfin_conn_event *ce)
{
	const struct synfin_event *close = &ce->close;
	struct awaiting_birth *a;

	if (!(ce->story.flags & SYNFIN_STORY_TW_APART))
		return false;
	eng->births_apart++;
	if (!eng->opts.follow_tw || !close->cookie)
		return false;
	if (!spill_waiting(eng) || eng->awaiting_birth.count >= eng->spill_ends_cap ||
	    idtable_get(&eng->awaiting_birth, close->cookie))
		return false;
	a = malloc(sizeof(*a));
	if (!a || idtable_put(&eng->awaiting_birth, close->cookie, a)) {
		free(a);
		return false;
	}
	a->drain = eng->drains;
	a->ce = *ce;
	return true;
}

/* A tw sock's start (ev) no record claimed: if its summary waits for its
 * birth, this is it. */
static bool birth_came(struct engine *eng, const struct synfin_event *ev)
{
	struct awaiting_birth *a;

	if (!eng->awaiting_birth.count)
		return false;
	a = idtable_get(&eng->awaiting_birth, ev->cookie);
	if (!a)
		return false;
	idtable_del(&eng->awaiting_birth, ev->cookie);
	eng->births_came++;
	summary_apply(eng, &a->ce, ev);
	free(a);
	return true;
}

/* A FIN that reached a tw sock before its socket's ->CLOSE was read
 * (tw_fin_before_close) waited for it in pending_tw_fin: now that close's
 * record, waiting for the FIN or followed, takes it. Not one from before
 * the connection's start: a socket that connect()s again keeps its
 * cookie, and that FIN was its earlier tw sock's. */
static void take_fin_before_close(struct engine *eng, uint64_t cookie, uint64_t start_ns)
{
	struct synfin_event fin;

	if (take_fin(eng, cookie, &fin) && fin.ts_ns >= start_ns)
		tw_record_apply(eng, find(eng, cookie), &fin);
}

/* Whether a FIN record for c's tw sock came before c's ->CLOSE: the tw
 * sock is hashed before the full socket's ->CLOSE is written, and a FIN
 * it takes at once on another CPU can put its records (the re-arm, the
 * FIN) on the ring first. Taken then, the FIN was dropped (c not in_tw
 * yet), and the record waited for one that had come. */
static bool tw_fin_before_close(const struct conn *c)
{
	return c && !c->in_tw;
}

void engine__handle(struct engine *eng, const struct synfin_event *ev)
{
	struct conn *c;
	uint64_t start_ns;

	switch (ev->kind) {
	case SYNFIN_EV_STATE:
		c = find(eng, ev->cookie);
		if (!c)
			c = insert_for(eng, ev);
		if (!c) {
			/* an untracked socket closing: nothing to report but
			 * the event itself */
			emit_event(eng, NULL, ev);
			return;
		}
		merge_identity(c, ev);
		emit_event(eng, c, ev);
		start_ns = c->rec.start_ns;  /* c may be gone after its close */
		apply_state(eng, c, ev);
		if (ev->new_state == SYNFIN_TCP_CLOSE)
			take_fin_before_close(eng, ev->cookie, start_ns);
		return;
	case SYNFIN_EV_DESTROY:
		c = find(eng, ev->cookie);
		if (c) {
			struct synfin_event closing = *ev;

			merge_identity(c, ev);
			emit_event(eng, c, ev);
			closing.old_state = c->state;
			start_ns = c->rec.start_ns;
			finish(eng, c, &closing, c->state);
			take_fin_before_close(eng, ev->cookie, start_ns);
		} else {
			emit_event(eng, NULL, ev);
		}
		return;
	case SYNFIN_EV_RETRANSMIT:
		c = find(eng, ev->cookie);
		if (c) {
			struct synfin_retrans_split split =
				synfin_split_retrans(ev->tcp_flags, ev->new_state, ev->reason);

			c->rec.wave.fin_retrans += split.fin;
			c->syn_retrans_events += split.syn;
			c->rec.wave.data_retrans += split.data;
		}
		emit_event(eng, c, ev);
		return;
	case SYNFIN_EV_TW_START:
		c = find(eng, ev->cookie);
		/* its summary comes next, or came and waits for it */
		if (!tw_record_apply(eng, c, ev) && !birth_came(eng, ev))
			park_tw(eng, NULL, &eng->pending_tw, &eng->starts_pushed_out, ev);
		emit_event(eng, c, ev);
		return;
	case SYNFIN_EV_TW_END:
		c = find(eng, ev->cookie);
		emit_event(eng, c, ev);
		if (tw_record_apply(eng, c, ev))
			return;
		/* a reset's note is no end: it names the cause of a kill,
		 * and waits apart from the end for a summary in the spill map */
		if (is_reset_note(ev))
			park_note(eng, ev);
		else
			park_tw(eng, &eng->spill_ends, &eng->pending_tw_end, &eng->ends_pushed_out,
				ev);
		return;
	case SYNFIN_EV_TW_FIN:
		c = find(eng, ev->cookie);
		emit_event(eng, c, ev);
		/* its summary, or its socket's ->CLOSE, may come yet */
		if (tw_fin_before_close(c) || !tw_record_apply(eng, c, ev))
			park_tw(eng, &eng->spill_fins, &eng->pending_tw_fin, &eng->fins_pushed_out,
				ev);
		return;
	case SYNFIN_EV_RESET_SENT:
		if ((ev->flags & SYNFIN_F_TW_SK) && ev->cookie) {
			/* --events: what summary mode's note says (its cancel
			 * follows: the kernel kills a tw sock that resets) */
			struct synfin_event note = *ev;

			note.kind = SYNFIN_EV_TW_END;
			note.reason = SYNFIN_TW_RST_SENT;
			/* a reset note is only noted (tw_reset_noted): c stays */
			c = find(eng, ev->cookie);
			tw_record_apply(eng, c, &note);
			/* the tw sock's, not its connection's own reset */
			emit_event(eng, c, ev);
			return;
		}
		c = (ev->flags & (SYNFIN_F_NO_SK | SYNFIN_F_TW_SK | SYNFIN_F_REQ_SK |
				  SYNFIN_F_LISTENER_SK)) ?
			NULL : find(eng, ev->cookie);
		if (c)
			c->rst_sent = true;
		emit_event(eng, c, ev);
		return;
	case SYNFIN_EV_RESET_RECEIVED:
		c = find(eng, ev->cookie);
		if (c)
			c->rst_received = true;
		emit_event(eng, c, ev);
		return;
	default:
		/* synack retransmits and future kinds: about no tracked socket */
		emit_event(eng, NULL, ev);
		return;
	}
}

/* One step of a story as the state record it stands for, with the figures
 * apply_state reads at that transition. */
static void story_step(const struct synfin_story *st, unsigned int i, struct synfin_event *step)
{
	step->ts_ns = st->step_ns[i];
	step->old_state = st->step_old[i];
	step->new_state = st->step_new[i];
	switch (step->new_state) {
	case SYNFIN_TCP_ESTABLISHED:
		/* the kernel took the SYNs' data out already */
		step->snd_una = st->est_snd_una;
		step->rcv_nxt = st->est_rcv_nxt;
		step->bytes_acked = 0;
		step->bytes_received = 0;
		step->srtt_us = st->est_srtt_us;
		step->total_retrans = st->est_total_retrans;
		break;
	case SYNFIN_TCP_FIN_WAIT1:
	case SYNFIN_TCP_LAST_ACK:
		step->write_seq = st->fin_write_seq;
		break;
	case SYNFIN_TCP_CLOSE_WAIT:
	case SYNFIN_TCP_CLOSING:
		step->rcv_nxt = st->fin_rcv_nxt;
		break;
	default:
		break;
	}
}

static uint32_t max_u32(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

/* One summary, and the start of its tw sock if that came apart (birth;
 * NULL: none came, or the story carries it). */
static void summary_apply(struct engine *eng, const struct synfin_conn_event *ce,
			  const struct synfin_event *birth)
{
	const struct synfin_story *st = &ce->story;
	struct synfin_event close = ce->close, step = ce->close, parked;
	unsigned int n = st->nsteps < SYNFIN_STORY_STEPS ? st->nsteps : SYNFIN_STORY_STEPS;
	struct conn *c = find(eng, close.cookie);

	/* The story is whole: an entry earlier records made is rebuilt
	 * from it. A seeded one keeps what sock_diag told. */
	if (c && !c->rec.seeded && !c->in_tw)
		conn_init(c, c->id);
	if (!c) {
		c = &eng->scratch;
		conn_init(c, close.cookie);
	}
	/* the steps: the close's identity and owner, none of its socket flags */
	step.kind = SYNFIN_EV_STATE;
	step.flags &= SYNFIN_F_OWNER_KNOWN | SYNFIN_F_OWNER_ACCEPT | SYNFIN_F_ACTIVE |
		      SYNFIN_F_PASSIVE;
	step.err = 0;
	/* the counts first: ->ESTABLISHED reads the SYN retransmits */
	if (st->flags & SYNFIN_STORY_RST_SENT)
		c->rst_sent = true;
	if (st->flags & SYNFIN_STORY_RST_RECEIVED)
		c->rst_received = true;
	if (st->after_close != SYNFIN_AFTER_CLOSE_NONE) {
		c->rec.tw.killed_by = st->after_close == SYNFIN_AFTER_CLOSE_RST_SENT ?
					      HOW_RST_SENT : HOW_RST_RECEIVED;
		c->wave_reset_ns = close.ts_ns + st->after_close_us * 1000ULL;
	}
	c->syn_retrans_events = max_u32(c->syn_retrans_events, st->syn_retrans);
	c->rec.wave.fin_retrans = max_u32(c->rec.wave.fin_retrans, st->fin_retrans);
	c->rec.wave.data_retrans = max_u32(c->rec.wave.data_retrans, st->data_retrans);
	for (unsigned int i = 0; i < n; i++) {
		story_step(st, i, &step);
		/* the close is the record's own, below: a step to CLOSE (the
		 * kernel writes none) would free c under this loop */
		if (step.new_state == SYNFIN_TCP_CLOSE)
			continue;
		merge_identity(c, &step);
		apply_state(eng, c, &step);
	}
	if (st->flags & SYNFIN_STORY_TW) {
		/* the tw timer's start, folded in by the kernel */
		struct synfin_event start = close;

		start.kind = SYNFIN_EV_TW_START;
		start.ts_ns = st->tw_start_ns;
		start.old_state = start.new_state = st->tw_state;
		start.seq = st->tw_left;
		start.flags = SYNFIN_F_TW_SK |
			      ((st->flags & SYNFIN_STORY_TW_HZ_UNKNOWN) ? SYNFIN_F_HZ_UNKNOWN : 0);
		tw_started(eng, c, &start);
	} else if (birth) {
		tw_started(eng, c, birth);
	}
	c->rec.wave.fin_ack_known = close.flags & SYNFIN_F_WAVE_KNOWN;
	c->rec.wave.fin_ack_merged = c->rec.wave.fin_ack_known &&
				     (st->flags & SYNFIN_STORY_FIN_ACK);
	merge_identity(c, &close);
	if (st->flags & SYNFIN_STORY_DESTROY) {
		/* the ->CLOSE was missed: as a destroy record would say */
		close.kind = SYNFIN_EV_DESTROY;
		close.old_state = c->state;
		emit_event(eng, c, &close);
		finish(eng, c, &close, c->state);
		return;
	}
	close.kind = SYNFIN_EV_STATE;
	emit_event(eng, c, &close);
	apply_state(eng, c, &close);
	/* Its tw sock's records that came before this summary (from the
	 * spill map they come in any order): the peer's FIN, a re-arm (the
	 * birth is in the story), the end. */
	if (take_fin(eng, close.cookie, &parked))
		tw_record_apply(eng, find(eng, close.cookie), &parked);
	if (take_parked(&eng->pending_tw, close.cookie, &parked))
		tw_record_apply(eng, find(eng, close.cookie), &parked);
	/* the end's cancel takes a reset's note that waited for it
	 * (tw_cancel_names) */
	if (take_end(eng, close.cookie, &parked))
		tw_record_apply(eng, find(eng, close.cookie), &parked);
}

void engine__handle_conn(struct engine *eng, const struct synfin_conn_event *ce)
{
	struct synfin_event birth;

	/* a birth sent apart (see awaiting_birth) that came first */
	if (!(ce->story.flags & SYNFIN_STORY_TW) &&
	    take_parked(&eng->pending_tw, ce->close.cookie, &birth)) {
		summary_apply(eng, ce, &birth);
		return;
	}
	if (!await_birth(eng, ce))
		summary_apply(eng, ce, NULL);
}

void engine__seed(struct engine *eng, const struct synfin_seed *seed, uint64_t now_ns)
{
	struct conn *c;
	struct conn_record *r;

	if (!seed->cookie || find(eng, seed->cookie))
		return;
	c = insert(eng, seed->cookie);
	if (!c) {
		/* counted: not again at its events (first_refusal) */
		*refused_slot(eng, seed->cookie) = seed->cookie;
		return;
	}
	r = &c->rec;
	r->seeded = true;
	r->start_ns = now_ns;
	r->family = seed->family;
	memcpy(r->laddr, seed->laddr, sizeof(r->laddr));
	memcpy(r->raddr, seed->raddr, sizeof(r->raddr));
	r->lport = seed->lport;
	r->rport = seed->rport;
	r->netns = seed->netns;
	r->uid = seed->uid;  /* sock_diag's idiag_uid: the socket's sk_uid */
	r->uid_known = true;
	r->pid = seed->pid;
	memcpy(r->comm, seed->comm, SYNFIN_COMM_LEN);
	r->comm[SYNFIN_COMM_LEN] = '\0';
	r->role = seed->role;
	set_state(eng, c, seed->state);
	/* Past SYN-SENT/SYN-RECV the handshake completed before we looked. */
	c->established = seed->state != SYNFIN_TCP_SYN_SENT &&
			 seed->state != SYNFIN_TCP_SYN_RECV;
	switch (seed->state) {
	case SYNFIN_TCP_FIN_WAIT1:
	case SYNFIN_TCP_FIN_WAIT2:
		r->close.initiator = CLOSE_BY_LOCAL;
		break;
	case SYNFIN_TCP_CLOSE_WAIT:
	case SYNFIN_TCP_LAST_ACK:
		r->close.initiator = CLOSE_BY_REMOTE;
		r->wave.remote_fin = true;
		r->wave.remote_fin_seq_unknown = true;  /* sock_diag does not say */
		break;
	case SYNFIN_TCP_CLOSING:
		r->close.initiator = CLOSE_BY_BOTH;
		r->wave.remote_fin = true;
		r->wave.remote_fin_seq_unknown = true;
		break;
	default:
		break;
	}
}
