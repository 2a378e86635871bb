/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The host's connection life at one moment: what the detectors judge, what
 * `synfin top` draws and what {"type":"stats"} and {"type":"alert"} records
 * carry. Plain data, filled by census.c (sock_diag, MIB counters) and
 * activity.c (events), judged by detect.c, printed by top.c and output.c.
 */
#ifndef SYNFIN_LIVE_H
#define SYNFIN_LIVE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "synfin/event.h"

#define LIVE_TOP_N 8        /* rows per table in a stats record and on screen */
#define LIVE_MAX_FIGURES 12
#define LIVE_MAX_THRESHOLDS 4
#define LIVE_MAX_ALERTS 16  /* active alerts listed in a stats record */

/* An endpoint an alert or a table row is about. */
struct live_endpoint {
	uint32_t netns;
	uint8_t family;                  /* SYNFIN_AF_*; 0: none */
	uint8_t addr[SYNFIN_ADDR_LEN];   /* network byte order; all zero: wildcard */
	uint16_t port;                   /* host byte order */
};

/* Field by field: the padding byte after addr is not set. */
static inline bool live_endpoint_equal(const struct live_endpoint *x,
				       const struct live_endpoint *y)
{
	return x->netns == y->netns && x->family == y->family && x->port == y->port &&
	       !memcmp(x->addr, y->addr, SYNFIN_ADDR_LEN);
}

/* A process named by a verdict: pid 0 when no process could be found. */
struct live_owner {
	uint32_t pid;
	char comm[SYNFIN_COMM_LEN + 1];  /* raw bytes, NUL terminated */
};

/* One listening socket and what is happening to it. Rates are per second
 * over the last interval. */
struct live_listener {
	struct live_endpoint ep;
	struct live_owner owner;
	uint32_t sockets;                /* listening sockets: a SO_REUSEPORT group's, or 1 */
	uint32_t accept_queue;           /* children waiting for accept(), all sockets */
	uint32_t accept_queue_max;       /* ... on the socket with the most */
	uint32_t backlog;                /* the listen() backlogs (sk_max_ack_backlog), summed */
	uint32_t half_open;              /* request socks (SYN_RECV) right now */
	uint32_t sources;                /* distinct remote addresses among the
					  * half-open and the SYN-ACK retransmits */
	double syn_per_s;                /* SYNs this listener answered or dropped (estimate) */
	double completed_per_s;          /* handshakes completed */
	double unanswered_per_s;         /* SYNs whose SYN-ACK got no ACK, or that were dropped */
	double cookies_per_s;            /* SYN cookies sent (netns counter, attributed) */
	double drops_per_s;              /* SYNs dropped: request queue full, no cookies */
	double synack_retrans_per_s;     /* SYN-ACK retransmits (tcp_retransmit_synack) */
	double completion_ratio;         /* completed / syn; 1 when nothing arrived */
};

enum tw_side {
	TW_SIDE_CLIENT = 0,   /* this host connected out and closed first: key is the destination */
	TW_SIDE_SERVER,       /* this host's server closed first: key is the listening address */
};

/* TIME_WAIT socks grouped by destination (client side) or by listening
 * address (server side). */
struct live_tw_group {
	enum tw_side side;
	struct live_endpoint ep;         /* client: remote addr:port; server: local addr:port */
	struct live_owner owner;         /* the process whose connections left most of them */
	uint32_t count;                  /* standing TIME_WAIT socks (sock_diag) */
	double entries_per_s;            /* connections synfin saw leave one, per second */
	uint32_t port_range;             /* client: size of ip_local_port_range; else 0 */
	double port_use;                 /* client: local ports in use toward ep / port_range */
	uint32_t max_tw_buckets;         /* the netns's net.ipv4.tcp_max_tw_buckets */
};

/* A process holding connections its peers have closed. */
struct live_close_wait {
	struct live_owner owner;
	uint32_t netns;
	uint32_t count;                  /* its sockets in CLOSE_WAIT */
	uint32_t old;                    /* ... of which older than the leak age */
	double oldest_s;                 /* age of its oldest CLOSE_WAIT */
	struct live_endpoint peer;       /* the peer of its oldest one */
	uint32_t shared;                 /* ... of which another process holds too */
	struct live_owner also;          /* the lowest pid among those others; pid 0: none */
	uint32_t others;                 /* how many such others ("other_holders"):
					  * the distinct pids named, or the most
					  * any one socket has, whichever is more */
	uint32_t others_one;             /* the most any one socket has */
};

enum alert_kind {
	ALERT_SYN_FLOOD = 0,
	ALERT_TIMEWAIT_BUILDUP,
	ALERT_CLOSE_WAIT_LEAK,
	ALERT_KIND_MAX,
};

/* One named number behind a verdict, e.g. {"unanswered_per_s", 1980}. */
struct live_figure {
	const char *name;                /* static string */
	double value;
	int prec;                        /* decimals when printed */
};

/* One threshold: its name, its value and whether it fired this time. */
struct live_threshold {
	const char *name;                /* static string, the flag's name without "--" */
	double limit;
	bool fired;
};

/* An alert as it starts ("start") or ends ("end"). */
struct live_alert {
	enum alert_kind kind;
	bool ended;                      /* false: start (or still active in a stats record) */
	uint64_t since_ns;               /* CLOCK_MONOTONIC when it started */
	uint64_t ts_ns;                  /* CLOCK_MONOTONIC of this record */
	struct live_endpoint ep;         /* listener, destination or (leak) none */
	enum tw_side side;               /* timewait_buildup only */
	struct live_owner owner;
	struct live_owner also;          /* close_wait_leak: another holder; pid 0: none */
	struct live_figure figures[LIVE_MAX_FIGURES];
	uint32_t nfigures;
	struct live_threshold thresholds[LIVE_MAX_THRESHOLDS];
	uint32_t nthresholds;
};

/* Handshake-time distribution over the last interval. */
struct live_handshakes {
	uint32_t samples;
	double p50_ms, p90_ms, p99_ms, max_ms;
};

/* What one refresh shows. Tables hold at most LIVE_TOP_N rows, busiest
 * first. */
struct live_stats {
	uint64_t ts_ns;                  /* CLOCK_MONOTONIC */
	double interval_s;               /* the rates below are over this */
	bool states_known;               /* census ran: state counts are real */
	uint32_t states[SYNFIN_TCP_MAX_STATES]; /* sockets per state, SYN_RECV = request socks */
	uint32_t netns;                  /* namespaces counted */
	uint32_t netns_failed;           /* namespaces found but not read */
	uint32_t procs_unreadable;       /* processes whose namespace could not be named */
	double opens_active_per_s;       /* connect()s that reached ESTABLISHED */
	double opens_passive_per_s;      /* accepted handshakes */
	double closes_per_s;             /* sockets reaching CLOSE */
	double resets_sent_per_s;
	double resets_received_per_s;
	double retransmits_per_s;        /* data, SYN and FIN retransmits */
	double synack_retrans_per_s;
	double failed_opens_per_s;       /* refused, timed out or reset handshakes */
	struct live_handshakes hs_client, hs_server;
	struct live_listener listeners[LIVE_TOP_N];
	uint32_t nlisteners;             /* rows filled */
	uint32_t listeners_total;
	struct live_tw_group tw[LIVE_TOP_N];
	uint32_t ntw;
	struct live_close_wait close_wait[LIVE_TOP_N];
	uint32_t nclose_wait;
	struct live_alert alerts[LIVE_MAX_ALERTS];
	uint32_t nalerts;
	uint64_t lost_total;             /* every loss synfin counted so far */
};

const char *alert_kind_name(enum alert_kind k);   /* "syn_flood", ... */
const char *tw_side_name(enum tw_side s);          /* "client", "server" */

#endif /* SYNFIN_LIVE_H */
