/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the events said over one interval: rates for `synfin top`, handshake
 * times, and per listener / per TIME_WAIT destination tallies for the
 * detectors. Fed by the engine's event and record callbacks in the main
 * thread; emptied each interval. Memory is bounded: past the caps, keys
 * are not added and the misses are counted.
 */
#ifndef SYNFIN_ACTIVITY_H
#define SYNFIN_ACTIVITY_H

#include <stdint.h>
#include "engine.h"
#include "live.h"

#define ACTIVITY_MAX_KEYS 4096        /* listener and tw keys per interval */
#define ACTIVITY_SOURCES 16           /* distinct SYN-ACK retransmit targets kept per listener */
#define ACTIVITY_OWNERS 4             /* owners tallied per tw key */

/* A listening endpoint as the children show it: their concrete local
 * address and port. */
struct activity_listener {
	struct live_endpoint ep;
	uint32_t completed;           /* passive handshakes completed */
	uint32_t synack_retrans;
	uint32_t synack_first;        /* first retransmits: requests unanswered after the initial RTO */
	uint32_t nsources;
	uint8_t sources[ACTIVITY_SOURCES][SYNFIN_ADDR_LEN];
};

struct activity_owner {
	struct live_owner owner;
	/* its connections, each counted less as it ages (half after
	 * ACTIVITY_OWNER_HALF_LIFE_NS): the process named is the one behind
	 * the tw socks that stand, not one that churned long ago */
	double n;
};

/* Connections that left a TIME_WAIT sock behind, per group. */
struct activity_tw {
	enum tw_side side;
	struct live_endpoint ep;
	uint32_t entries;             /* this interval */
	uint64_t last_ns;             /* the newest connection's end */
	struct activity_owner owners[ACTIVITY_OWNERS];
};

struct activity {
	uint64_t opens_active, opens_passive, closes, failed_opens;
	uint64_t resets_sent, resets_received, retransmits, synack_retrans;
	/* handshake times in ns, SYNFIN_HS_BUCKETS buckets each: the same
	 * histogram whether the kernel or the events filled it */
	uint64_t *hs_client, *hs_server;
	struct activity_listener *listeners;
	uint32_t nlisteners;
	struct activity_tw *tw;
	uint32_t ntw;
	uint64_t keys_missed;            /* keys not added: the caps were reached */
	uint64_t reset_ns;               /* the last activity__reset */
	/* open addressing over both key kinds, reset with the interval */
	uint32_t *slots;
	uint32_t nslots;
};

struct activity *activity__new(void);
void activity__free(struct activity *a);
/* Forget the interval (capacity kept). TIME_WAIT groups, with the
 * processes behind them, are kept while a TIME_WAIT sock of theirs may
 * stand (ACTIVITY_TW_KEEP_NS after their last connection), so an alert
 * can name the process after its churn stopped. */
#define ACTIVITY_TW_KEEP_NS (120ULL * 1000000000ULL)
/* ... at most this many of them, the most recently active: room for a
 * quarter of the table's keys of new groups every interval */
#define ACTIVITY_TW_KEEP_MAX (ACTIVITY_MAX_KEYS / 4 * 3)
/* half of TCP_TIMEWAIT_LEN: a connection a minute old has left its tw sock */
#define ACTIVITY_OWNER_HALF_LIFE_NS (30ULL * 1000000000ULL)
void activity__reset(struct activity *a, uint64_t now_ns);
void activity__event(struct activity *a, const struct synfin_event *ev);
void activity__conn(struct activity *a, const struct conn_record *rec);
/* Summary mode: passive handshakes completed at one listening endpoint,
 * as the kernel counted them. */
void activity__completed(struct activity *a, const struct live_endpoint *ep, uint64_t n);
/* The TIME_WAIT group (side, ep), or NULL. */
const struct activity_tw *activity__find_tw(struct activity *a, enum tw_side side,
					    const struct live_endpoint *ep);
/* Fill a live_handshakes from a histogram (SYNFIN_HS_BUCKETS, ns). Each
 * figure is its bucket's middle: within 1/32 of the real value. */
void activity_handshakes(const uint64_t *hist, struct live_handshakes *out);

#endif /* SYNFIN_ACTIVITY_H */
