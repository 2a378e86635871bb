/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The reconstruction engine: synfin_event records in, one conn_record per
 * finished connection out. Pure C, no libbpf, so unit tests can feed it
 * recorded event sequences.
 */
#ifndef SYNFIN_ENGINE_H
#define SYNFIN_ENGINE_H

#include <stdint.h>
#include <stdbool.h>
#include "synfin/event.h"
#include "filter.h"

enum conn_role {
	ROLE_UNKNOWN = 0,
	ROLE_CLIENT,   /* active open: connect() */
	ROLE_SERVER,   /* passive open: born from a listener */
};

enum handshake_result {
	HS_NOT_SEEN = 0,   /* open before synfin started, or its start was lost */
	HS_ESTABLISHED,
	HS_REFUSED,        /* client: answered by RST (ECONNREFUSED) */
	HS_TIMEOUT,        /* client: no SYN-ACK before the SYN retries ran out */
	HS_RESET,          /* reset while in SYN_RECV (server) or after a SYN-ACK (client) */
	HS_ABORTED,        /* closed locally before the handshake completed */
	HS_UNREACHABLE,    /* client: an ICMP error ended it (no route, host
			    * unreachable, prohibited: EHOSTUNREACH, ...) */
};

enum close_initiator {
	CLOSE_BY_NONE = 0, /* not closed by a FIN or RST seen here */
	CLOSE_BY_LOCAL,
	CLOSE_BY_REMOTE,
	CLOSE_BY_BOTH,     /* simultaneous close (CLOSING) */
};

enum close_how {
	HOW_NONE = 0,      /* never established, or the close was not seen */
	HOW_FIN,           /* orderly four-way wave */
	HOW_RST_SENT,      /* this host reset it (abort, SO_LINGER 0, unread data) */
	HOW_RST_RECEIVED,  /* the peer reset it */
	HOW_TIMEOUT,       /* retransmissions or keepalives timed out */
	HOW_UNKNOWN,       /* the socket went away without a close synfin could read */
};

enum rst_cause {
	RST_CAUSE_NONE = 0,
	RST_CAUSE_LINGER0,          /* SO_LINGER with a zero timeout */
	RST_CAUSE_UNREAD_DATA,      /* close() with data the application never read */
	RST_CAUSE_LISTENER_CLOSED,  /* a child never accept()ed when its listener closed */
	RST_CAUSE_KILLED,           /* destroyed from outside (ss -K: ECONNABORTED) */
	RST_CAUSE_AFTER_CLOSE,      /* the tw sock this end's close() left got data (or a
				     * SYN) from the peer */
};

/* What the connection left behind at CLOSE (KERNEL-NOTES §2). */
enum tw_kind {
	TW_KIND_NONE = 0,           /* no TIME_WAIT sock: passive close, reset, timeout */
	TW_KIND_TIME_WAIT,          /* both FINs exchanged, this end closed first: 2MSL wait */
	TW_KIND_FIN_WAIT2,          /* orphan handed to a tw sock still waiting for the
				     * peer's FIN, for tcp_fin_timeout (may turn into
				     * TIME_WAIT without any event) */
};

enum tw_exit {
	TW_EXIT_NONE = 0,           /* still waiting, or not followed */
	TW_EXIT_EXPIRED,            /* the timer ran out */
	TW_EXIT_KILLED,             /* ended early: reused by a new connection, or reset */
};

/* Time a connection entered and left one state (CLOCK_MONOTONIC ns, 0: never). */
struct state_span {
	uint64_t enter_ns;
	uint64_t leave_ns;
};

/* One finished connection as synfin reconstructed it. Times are
 * CLOCK_MONOTONIC ns; printers convert with their own clock offset. */
struct conn_record {
	uint64_t id;             /* socket cookie */
	uint64_t start_ns;       /* first sight: SYN_SENT, a server's SYN (its child's
				  * birth less the SYN-ACK RTT), or seed/first event */
	uint64_t end_ns;         /* the ->CLOSE (or destroy) event */
	uint8_t family;          /* SYNFIN_AF_INET / SYNFIN_AF_INET6 */
	uint8_t laddr[SYNFIN_ADDR_LEN];
	uint8_t raddr[SYNFIN_ADDR_LEN];
	uint16_t lport, rport;
	enum conn_role role;
	uint32_t pid;            /* owner tgid, 0 if unknown */
	char comm[SYNFIN_COMM_LEN + 1]; /* raw bytes, NUL terminated; may hold anything */
	uint32_t netns;
	uint64_t cgroup_id;
	uint64_t bytes_sent;     /* payload bytes the peer acknowledged */
	uint64_t bytes_received; /* payload bytes received */
	bool bytes_known;        /* false when the close event carried no counters */
	/* here, in the padding before the handshake's double: the table
	 * holds a struct conn per slot, and 8 bytes more cost 2 MiB at size */
	bool uid_known;
	/* the ->CLOSE was not seen (a counted loss): the record was made at
	 * the socket's destruction, when its error and, after a failed
	 * connect(), its ISN were gone */
	bool close_missed;
	uint32_t uid;            /* the socket's sk_uid, when uid_known */
	struct {
		enum handshake_result result;
		double ms;           /* < 0 when there is no handshake time */
		uint32_t syn_retrans;
		uint32_t synack_retrans;
		bool isn_local_known;
		bool isn_remote_known; /* a connect() that failed knows its own only */
		uint32_t isn_local;  /* this end's initial sequence number, as on the wire */
		uint32_t isn_remote;
		bool simultaneous_open; /* SYN_SENT -> SYN_RECV: both ends sent a SYN */
	} handshake;
	/* Each state's span, indexed by SYNFIN_TCP_*: phase durations and the
	 * ladder's times come from here. */
	struct state_span span[SYNFIN_TCP_MAX_STATES];
	struct {
		bool local_fin;      /* this end sent a FIN; its sequence number: */
		uint32_t local_fin_seq;
		bool remote_fin;     /* the peer's FIN arrived; its sequence number: */
		/* ... came before synfin looked (a seed past it): until a
		 * later state record's rcv_nxt tells it, remote_fin_seq is
		 * not known (remote_fin_seq_known) */
		bool remote_fin_seq_unknown;
		uint32_t remote_fin_seq;
		uint32_t fin_retrans; /* FIN segments this end retransmitted */
		uint32_t data_retrans; /* other retransmissions while established */
		/* whether the second FIN carried the ACK of the first, one
		 * segment (a three-segment wave): known from the kernel's
		 * summary of an orderly close only */
		bool fin_ack_known;
		bool fin_ack_merged;
	} wave;
	struct {
		enum tw_kind kind;
		bool measured;       /* seen through the tw sock's timer, else inferred
				      * from SOCK_DONE at ->CLOSE */
		uint64_t start_ns;   /* when the tw sock was born (measured only) */
		uint64_t expire_ns;  /* when it will leave: the timer's expiry when
				      * measured, else 60 s (TCP_TIMEWAIT_LEN) */
		bool unfollowed;     /* measured, but its end cannot be followed: the
				      * table was at its cap (table_full), so no
				      * time_wait record will come */
		enum tw_exit exit;   /* time_wait records only */
		uint64_t exit_ns;
		/* what killed it, if a reset did: HOW_RST_RECEIVED (the
		 * peer's, e.g. an abort after this end closed) or
		 * HOW_RST_SENT (the tw sock answered data or a SYN with
		 * one); HOW_NONE: not known (reuse, ss -K, a lost record) */
		enum close_how killed_by;
	} tw;
	struct {
		enum close_initiator initiator;
		enum close_how how;
		int err;             /* sk_err at close (positive errno), 0 if none */
		enum rst_cause rst_cause; /* with HOW_RST_SENT */
	} close;
	char conn_state[8];      /* Zeek's conn_state: SF, S0, REJ, RSTO, ... */
	char history[24];        /* Zeek's history letters, originator upper case */
	uint32_t total_retrans;
	uint32_t srtt_us;
	uint8_t last_state;      /* the state before CLOSE */
	bool seeded;             /* open before synfin started (from sock_diag) */
};

/* A socket that was already open when synfin started, from sock_diag. */
struct synfin_seed {
	uint64_t cookie;
	uint8_t family;
	uint8_t state;           /* SYNFIN_TCP_* */
	uint8_t laddr[SYNFIN_ADDR_LEN];
	uint8_t raddr[SYNFIN_ADDR_LEN];
	uint16_t lport, rport;
	uint32_t netns;
	uint32_t inode;
	uint32_t uid;
	uint32_t pid;            /* 0 if no process holds it */
	char comm[SYNFIN_COMM_LEN];
	/* another process holding it too (sockdiag_find_two_holders); 0 if
	 * none or not asked */
	uint32_t also_pid;
	char also_comm[SYNFIN_COMM_LEN];
	/* how many processes besides pid hold it, also_pid one of them
	 * (sockdiag_find_two_holders); 0 if none or not asked */
	uint32_t others;
	enum conn_role role;     /* SERVER when it shares a listener's port, else UNKNOWN */
};

/* Why the engine lost track of something; each is counted. */
enum engine_loss {
	LOSS_TABLE_FULL = 0,     /* a new connection found the table full and was not tracked */
	LOSS_MAX,
};

struct engine;

typedef void (*engine_conn_fn)(const struct conn_record *rec, void *ctx);
/* A TIME_WAIT sock a reported connection left behind has gone: rec is that
 * connection's record with tw.exit and tw.exit_ns set. */
typedef void (*engine_tw_fn)(const struct conn_record *rec, void *ctx);
/* Called for every event once the engine has applied it; ev has its tuple
 * completed from the table where the kernel could not read it. */
typedef void (*engine_event_fn)(const struct synfin_event *ev, void *ctx);

struct engine_opts {
	uint32_t max_conns;      /* table capacity (0: default) */
	engine_conn_fn on_conn;
	engine_event_fn on_event;
	engine_tw_fn on_time_wait;
	void *ctx;
	bool follow_tw;          /* keep finished connections until their tw sock goes */
	bool tw_fin_visible;     /* SYNFIN_EV_TW_FIN records come: an orphan's record
				  * waits for the peer's FIN */
	/* The user's filter (NULL: none), outliving the engine. Applied here
	 * again: -p and -c to owners the kernel learned late, and the tw
	 * records the kernel could not judge (filter_tw_unjudged). */
	const struct synfin_filter *filter;
	/* Whether connection records may be waiting in the kernel's spill
	 * map now, not yet handed over (NULL: never). A tw sock's end that
	 * comes then may belong to one of them. */
	bool (*spill_waiting)(void *ctx);
};

struct engine *engine__new(const struct engine_opts *opts);
void engine__free(struct engine *eng);
/* Whether tw timer records will come, and whether a FIN reaching a tw sock
 * is seen (known only once the hooks attach). */
void engine__set_tw(struct engine *eng, bool follow, bool fin_visible);
/* How many tw sock ends may wait for their spilled summaries at once:
 * the spill map's size (0: none beyond the fixed slots). */
void engine__set_spill(struct engine *eng, uint32_t capacity);
/* Both the ring and then the spill map were drained to empty. A tw sock
 * end that has waited through two such drains for its summary will get
 * none (its connection was not followed), and is dropped; a tw timer
 * cancel that two such drains brought no later start for is a death,
 * which the next engine__tick reports. */
void engine__spill_drained(struct engine *eng);
/* The last drain: no record comes after it, so every cancel standing is
 * a death and every early end left will get no summary. */
void engine__last_drain(struct engine *eng);
/* At exit: report connections whose record still waits for their wave. */
void engine__flush(struct engine *eng);
void engine__seed(struct engine *eng, const struct synfin_seed *seed, uint64_t now_ns);
void engine__handle(struct engine *eng, const struct synfin_event *ev);
/* Summary mode: one socket's whole story, at its ->CLOSE. Rebuilt as the
 * same transitions engine__handle would have seen, so both modes give the
 * same record. */
void engine__handle_conn(struct engine *eng, const struct synfin_conn_event *ce);
/* Periodic housekeeping (call about once a second): settles tw timer
 * cancels that were not re-arms. */
void engine__tick(struct engine *eng, uint64_t now_ns);
/* Visit every open connection in CLOSE_WAIT (not a listener, not a
 * closed one kept only to follow its TIME_WAIT sock): its record so far.
 * In time with the connections in CLOSE_WAIT, not with all of them. */
typedef void (*engine_visit_fn)(const struct conn_record *rec, void *ctx);
void engine__foreach_close_wait(const struct engine *eng, engine_visit_fn fn, void *ctx);
/* The owner the engine knows of an open connection by its cookie: a seed's
 * from /proc, where the kernel's storage has none (the socket was made
 * before synfin started). NULL if it knows none. */
const struct conn_record *engine__known_owner(struct engine *eng, uint64_t cookie);
/* Connections open (tracked, not yet closed). */
uint32_t engine__live(const struct engine *eng);
/* The table's capacity (--max-conns, or the default). */
uint32_t engine__max_conns(const struct engine *eng);
/* Closed connections kept until their TIME_WAIT sock goes. */
uint32_t engine__time_wait(const struct engine *eng);
/* The tw socks it follows, counted by namespace and by TIME_WAIT group
 * (twcount.h); NULL where they are not all followed to their end (no
 * timer hooks, or FINs reaching tw socks unseen) or a count failed. */
struct twcount;
const struct twcount *engine__twcount(const struct engine *eng);
/* A namespace's ip_local_port_range, for the groups' in_range. */
void engine__tw_port_range(struct engine *eng, uint32_t netns, uint32_t lo, uint32_t hi);
/* Forget namespaces that hold no followed tw sock and that
 * engine__tw_port_range did not name since the last prune. */
void engine__tw_prune(struct engine *eng);
uint64_t engine__lost(const struct engine *eng, enum engine_loss why);
/* Fixed slots (a power of 2) per kind of tw record (start, FIN, end)
 * that came before its connection's summary, found by cookie. */
#define ENGINE_PARKED_SLOTS 1024
/* tw records that came before any record of their connection: waiting
 * now (for a spilled one, in a table up to --spill of them, or in one of
 * the fixed slots), dropped after two drains with none claiming them, and
 * pushed out of a fixed slot by a later one (-v prints them: most belong
 * to connections synfin never followed, which lose nothing). An end lost
 * so leaves that connection's time_wait exit unknown, a FIN its
 * fin_seq_remote, a start its TIME_WAIT start (then inferred). */
struct engine_early {
	uint64_t waiting, dropped, pushed_out;
};
void engine__early_ends(const struct engine *eng, struct engine_early *ends);
void engine__early_fins(const struct engine *eng, struct engine_early *fins);
/* A tw sock's reset note that came before its connection's record, or a
 * received reset's before the kill it caused (out of the spill map),
 * waits for it too; one dropped leaves that time_wait record's killed_by
 * null. None is pushed out of a slot. */
void engine__early_notes(const struct engine *eng, struct engine_early *notes);
/* Starts wait only in slots: a start comes just before its summary. */
uint64_t engine__early_starts_pushed_out(const struct engine *eng);
/* Summaries whose tw sock's birth the kernel sent apart (another tw
 * record ran on its CPU first); of those that came while records waited
 * in the spill map, where the birth could be behind them: waiting for it
 * now, whose birth came, and those two drains brought none (their
 * TIME_WAIT inferred: the birth was lost to a full ring and map). */
struct engine_late_births {
	uint64_t apart, waiting, came, unseen;
};
void engine__late_births(const struct engine *eng, struct engine_late_births *births);

/* Whether rec->wave.remote_fin_seq holds the peer's FIN's number. */
static inline bool remote_fin_seq_known(const struct conn_record *rec)
{
	return rec->wave.remote_fin && !rec->wave.remote_fin_seq_unknown;
}

/* --failed: the handshake did not complete (refused, timed out, reset,
 * aborted), or a reset, a timeout or another error ended the connection.
 * An orderly wave, or a connection open before synfin that ended in one,
 * is not a failure. */
bool conn_failed(const struct conn_record *rec);

const char *role_name(enum conn_role r);
const char *handshake_name(enum handshake_result r);
const char *initiator_name(enum close_initiator i);
const char *close_how_name(enum close_how h);
const char *rst_cause_name(enum rst_cause c);   /* NULL for RST_CAUSE_NONE */
const char *tw_kind_name(enum tw_kind k);       /* "none", "time_wait", "fin_wait2" */
const char *tw_exit_name(enum tw_exit e);       /* NULL, "expired", "killed" */
/* ss-style state names ("ESTAB", "SYN-SENT", ...), "UNKNOWN" when out of range. */
const char *tcp_state_name(unsigned int state);

#endif /* SYNFIN_ENGINE_H */
