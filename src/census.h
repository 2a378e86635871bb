/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The census: what the tracepoints cannot see, counted every interval from
 * sock_diag and the kernel's counters in every network namespace. Listeners
 * with their queues and request socks (half-open connections never reach
 * inet_sock_set_state), TIME_WAIT socks grouped by destination or by
 * listener, per-state counts, and the TcpExt SYN-cookie / drop counters.
 * A thread of its own does the dumps, so a slow dump never delays the ring
 * buffer; the main thread takes the newest census when it wants one.
 */
#ifndef SYNFIN_CENSUS_H
#define SYNFIN_CENSUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "detect.h"
#include "live.h"
#include "sockdiag.h"

/* The TcpExt counters the SYN-flood detector reads (/proc/net/netstat). */
enum census_mib {
	MIB_SYNCOOKIES_SENT = 0,
	MIB_SYNCOOKIES_RECV,
	MIB_SYNCOOKIES_FAILED,
	MIB_LISTEN_OVERFLOWS,
	MIB_LISTEN_DROPS,
	MIB_REQQ_FULL_DO_COOKIES,
	MIB_REQQ_FULL_DROP,
	MIB_TW_OVERFLOW,
	MIB_SYN_RETRANS,              /* SYNs and SYN-ACKs retransmitted */
	MIB_MAX,
};

struct census_netns {
	uint32_t netns;
	bool mib_ok;
	uint64_t mib[MIB_MAX];
	uint32_t port_lo, port_hi;    /* net.ipv4.ip_local_port_range */
	uint32_t max_tw_buckets;      /* net.ipv4.tcp_max_tw_buckets */
	/* tw socks, every substate, by the kernel's own count (sockstat), read
	 * as the walk left the namespace (at its start, when the walk left its
	 * TIME_WAIT out as too few to alert) */
	uint32_t tw_socks;
	bool tw_socks_ok;
	uint64_t syn_recv_ns;         /* when its request socks were last dumped (0: never) */
	bool syn_recv_found;          /* ... and that dump found some */
	uint64_t sysctl_ns;           /* when port_lo..max_tw_buckets were read (0: not all) */
};

/* The size of its ephemeral port range; 0 when it could not be read. */
static inline uint32_t census_port_range(const struct census_netns *ns)
{
	return ns->port_hi ? ns->port_hi - ns->port_lo + 1 : 0;
}

struct census_listener {
	struct live_endpoint ep;
	uint32_t inode;
	struct live_owner owner;
	uint32_t accept_queue;
	uint32_t backlog;
	uint32_t half_open;
	uint32_t sources;             /* distinct remote addresses among half_open */
};

struct census_gone_listener {
	struct live_endpoint ep;
	uint64_t gone_ns;             /* the first walk without it */
};

struct census_tw {
	enum tw_side side;
	struct live_endpoint ep;      /* client: remote; server: local */
	uint32_t count;
	uint32_t in_range;            /* client: those whose local port is ephemeral */
};

/* A socket in CLOSE_WAIT that synfin saw enter it (census_opts.close_waits):
 * its mark and owner come from synfin's storage on the socket. Or one the
 * engine follows or the classic map lists (census__want_holders), found by
 * its tuple: then since_ns and the recorded owner are the asker's. */
struct census_close_wait {
	uint64_t since_ns;            /* CLOCK_MONOTONIC, when it entered CLOSE_WAIT */
	uint64_t cookie;              /* the socket's cookie */
	uint32_t netns;
	uint32_t inode;
	/* a process seen holding it, else the kernel's record of its
	 * owner; pid 0: neither known */
	struct live_owner owner;
	/* another process seen holding it too (a parent and the child it
	 * forked, say); pid 0: none */
	struct live_owner also;
	uint32_t others;              /* how many besides owner hold it, also one of them */
	uint16_t lport, rport;
	uint8_t family;
	uint8_t raddr[SYNFIN_ADDR_LEN];
};

struct census {
	uint64_t ts_ns;               /* CLOCK_MONOTONIC when the walk ended */
	bool all_states;              /* states[] counts every state */
	uint32_t states[SYNFIN_TCP_MAX_STATES];
	struct census_netns *netns;   /* sorted by netns */
	size_t nnetns;
	struct census_listener *listeners;
	size_t nlisteners;
	struct census_tw *tw;
	size_t ntw;
	uint64_t tw_ts_ns;            /* when the TIME_WAIT socks were counted */
	uint32_t tw_asked;            /* namespaces asked for their TIME_WAIT socks */
	uint32_t tw_too_few;          /* ... and not, as too few to alert (tw_alerts) */
	uint32_t sysctl_reads;        /* namespaces whose sysctls were read, not carried */
	/* the runner's: the walk's CPU time, and how long after its start
	 * the next one comes (the interval, or longer: the budget) */
	uint64_t walk_cpu_ns;
	uint64_t spacing_ns;
	struct census_close_wait *close_waits;
	size_t nclose_waits;
	uint64_t close_waits_dropped; /* past census_opts.max_close_waits */
	uint64_t close_waits_young;   /* left out: younger than close_wait_min_age_ns */
	/* held by a process other than the one the kernel recorded */
	uint64_t close_waits_held_elsewhere;
	/* census_opts.cw_wants found in the walk, sorted by their tuple
	 * (census__holder), each with its holder; up to max_close_waits,
	 * the rest counted in close_waits_dropped */
	struct census_close_wait *wanted;
	size_t nwanted;
	struct sockdiag_stats diag;
	int err;                      /* the walk's error, 0 if it went well */
};

struct census_opts {
	uint32_t interval_ms;
	double budget_pct;            /* CPU, % of a core: walks are spaced to keep within it */
	bool all_states;              /* top: count every state, not only the ones detectors need */
	uint32_t only_netns;          /* --netns */
	uint64_t only_netns_cookie;   /* its cookie, 0 if unknown */
	bool skip_time_wait;          /* census__collect: leave TIME_WAIT out */
	/* The last walk's namespaces, sorted by netns: their sysctls are
	 * taken while fresh (census_sysctl_refresh_ns), and outside top one
	 * whose counters show no sign of SYN trouble since is not asked for
	 * its request socks (census_syn_recv_needed). NULL: every namespace
	 * is read and asked. */
	const struct census_netns *prev_netns;
	size_t nprev_netns;
	/* Summary mode: list the sockets in CLOSE_WAIT that carry synfin's
	 * mark (struct synfin_sk_owner) in the sk storage map sk_owners_fd,
	 * up to max_close_waits of them. */
	bool close_waits;
	int sk_owners_fd;
	uint32_t max_close_waits;
	/* ... and only when a mark may be this old: the tally leaves younger
	 * ones out (census__set_close_wait_marks) */
	uint64_t close_wait_min_age_ns;
	/* Sockets in CLOSE_WAIT known by their tuple (census__want_holders),
	 * sorted by census_close_wait_cmp: the walk dumps CLOSE_WAIT for them
	 * and lists in census.wanted those it finds. */
	const struct census_close_wait *cw_wants;
	size_t ncw_wants;
	/* When the TIME_WAIT groups serve only the timewait_buildup detector
	 * (not top): its thresholds. A namespace whose own count of tw socks
	 * is below what could raise it (detect_timewait_floor) is not asked
	 * for them, since a dump that names TIME_WAIT walks the kernel's whole
	 * established hash. NULL: every namespace is. */
	const struct detect_config *tw_alerts;
	/* The address and port filters: a client's tw sock outside them is
	 * in no group (its group is keyed by destination, and the row can
	 * judge only that). NULL: none. */
	const struct synfin_filter *tw_filter;
	/* Listeners the walks saw close within a tw sock's lifetime: a tw
	 * sock on one's address and port was still left by that server (as
	 * synfin's own count has it). Else a restart's listener, gone,
	 * turned its server-side group into client-side ones of one, and
	 * its alert ended and started again from synfin's count. */
	const struct census_gone_listener *gone_listeners;
	size_t ngone_listeners;
};

struct census_runner;

/* Starts the thread; the first census is taken at once. A walk costs CPU
 * in proportion to the sockets: the thread keeps the walks under 5% of a
 * core, and the TIME_WAIT part (often the bulk) under 2%, by stretching
 * their intervals; a census between two TIME_WAIT counts repeats the last
 * one (see tw_ts_ns). NULL with errno. */
struct census_runner *census__start(const struct census_opts *opts);
void census__stop(struct census_runner *r);
/* No socket carrying synfin's CLOSE_WAIT mark (close_waits in census_opts)
 * was marked before since_ns; 0 at start: any may have been. While no mark
 * can be close_wait_min_age_ns old, walks do not dump the sockets in
 * CLOSE_WAIT: that dump walks the kernel's whole established hash, and on
 * a busy server a mark stands at almost any moment, each for microseconds. */
void census__set_close_wait_marks(struct census_runner *r, uint64_t since_ns);
/* The sockets in CLOSE_WAIT the engine follows (--events, seeds) or the
 * classic map lists, n of them: since_ns, the recorded owner and the tuple
 * (netns, family, raddr, rport, lport). Each replaces the last call's.
 * The walks look each up by its tuple once it may be old enough for the
 * tally the walk serves, and find the process holding it, as they do for
 * a marked one (census__holder). The caller keeps n within
 * max_close_waits and counts the rest (monitor.c), as the walks count
 * the marked ones past it. */
void census__want_holders(struct census_runner *r, const struct census_close_wait *w, size_t n);
/* The order of census__want_holders' sockets: by (netns, family, lport,
 * rport, raddr). */
int census_close_wait_cmp(const void *a, const void *b);
/* The socket the walk found with want's tuple, its owner the process
 * holding it (and its also another): NULL if the walk did not find it,
 * found no process holding it, or found two sockets of that tuple held
 * by different processes. */
const struct census_close_wait *census__holder(const struct census *c,
					       const struct census_close_wait *want);
/* Whether the TIME_WAIT socks are counted elsewhere (the engine's
 * followed ones, when they are all of them: monitor.c): walks then dump
 * none, and keep no last count to repeat. A census in between says so
 * with tw_ts_ns 0. */
void census__set_tw_elsewhere(struct census_runner *r, bool elsewhere);
/* A server end at ep (its local address and port) left a TIME_WAIT sock
 * at ended_ns (CLOCK_MONOTONIC): for a tw sock's lifetime from then, the
 * walks take tw socks at ep as that server's, as they take those of a
 * listener they saw close. A listener that lived between two walks (a
 * one-shot server, a passive FTP data port) was never seen; its tw socks
 * were grouped as clients' of their peers, one group each. Up to
 * CENSUS_SERVER_NOTES a walk; more are counted (server_notes_dropped) and
 * their tw socks grouped as before. */
void census__note_server(struct census_runner *r, const struct live_endpoint *ep,
			 uint64_t ended_ns);
/* Its bounds: the notes one walk takes (a server's
 * consecutive repeats are folded before they come), and the endpoints
 * kept for a tw sock's lifetime, listeners gone and servers noted (32
 * bytes each: 2 MiB) */
#define CENSUS_SERVER_NOTES 4096
#define CENSUS_GONE_MAX 65536
/* What the walks so far did, for -v: the walks, those that counted
 * TIME_WAIT, the dumps among them that walked the kernel's whole
 * established hash (what a walk's cost mostly is), and the CLOSE_WAIT
 * sockets they listed and left out. */
struct census_counts {
	uint64_t walks;
	uint64_t tw_walks;
	uint64_t hash_walks;
	uint64_t close_waits;         /* marked CLOSE_WAIT sockets listed */
	uint64_t close_waits_young;   /* ... and left out, too young for the tally */
	uint64_t close_waits_by_tuple; /* census__want_holders' found */
	uint64_t close_waits_held_elsewhere; /* ... held by another process than recorded */
	uint64_t owner_scans;         /* scans of every process's fds */
	uint64_t tw_too_few;          /* namespaces not asked for TIME_WAIT: too few to alert */
	uint64_t sysctl_reads;        /* namespaces' sysctls read (the rest carried over) */
	uint64_t netns_walked;        /* namespaces walked, all walks together */
	uint64_t max_spacing_ns;      /* the longest time from one walk to the next */
	/* census__note_server's, and listeners gone, past CENSUS_GONE_MAX
	 * (or CENSUS_SERVER_NOTES a walk) */
	uint64_t server_notes_dropped;
};
void census__counts(struct census_runner *r, struct census_counts *counts);
/* The newest census not yet taken (the caller owns it, census__free it),
 * or NULL when none is new. */
struct census *census__take(struct census_runner *r);
void census__free(struct census *c);

/* One census, in the calling thread (tests, and the runner). */
struct census *census__collect(const struct census_opts *opts);

/* The figures for namespace netns in n of them sorted by netns (a
 * census's, or a copy of one), NULL if none is its. */
const struct census_netns *census_netns_find(const struct census_netns *arr, size_t n,
					     uint32_t netns);
/* A copy of c's namespaces, in its order (free() it), for the next walk
 * to compare with; NULL out of memory. */
struct census_netns *census_netns_copy(const struct census *c);
/* c's figures for namespace netns, NULL if the walk did not count it. */
const struct census_netns *census_netns_of(const struct census *c, uint32_t netns);
/* The index of c's first listener in namespace netns (its listeners
 * follow it, in census_sort_listeners' order); c->nlisteners, or a
 * listener of another namespace, if it has none. */
size_t census_first_listener_in(const struct census *c, uint32_t netns);

/* The listener in c (from index first on) that takes a connection whose
 * local endpoint is e: same netns and port, and e's address or the
 * wildcard (a specific address wins, as in the kernel). -1 if none.
 * c->listeners from first on must be in census_sort_listeners' order, as
 * census__collect leaves them. */
int census_find_listener(const struct census *c, size_t first, const struct live_endpoint *e);
/* c->listeners in order of (netns, port, family, address), for
 * census_find_listener's search. */
void census_sort_listeners(struct census *c);

/* Pure parts, exported for unit tests. */

/* The last TIME_WAIT count, for the walks that skip TIME_WAIT (within
 * its budget) to repeat: census_carry_time_wait keeps a census's count,
 * or gives a census that skipped it the last one kept, groups or none
 * (a count whose tw socks are all outside the filters, or in namespaces
 * too few to alert, has none and still counts). census_forget_time_wait
 * drops it. */
struct census_tw_carry {
	struct census_tw *tw;
	size_t ntw;
	uint32_t state;               /* the TIME_WAIT count */
	uint64_t ts_ns;               /* when it was taken; 0: none */
};
void census_carry_time_wait(struct census_tw_carry *keep, struct census *c);
void census_forget_time_wait(struct census_tw_carry *keep);
/* The gone listeners and noted servers sorted, each endpoint once (a
 * SO_REUSEPORT group's sockets, a server noted again) with its latest
 * time: the new count. */
size_t census_gone_merge(struct census_gone_listener *g, size_t n);

/* What a walk of one kind costs, for the budget: the least CPU time of
 * the last CENSUS_COST_WALKS walks, this one's included. */
#define CENSUS_COST_WALKS 3
struct census_walk_costs {
	uint64_t cpu_ns[CENSUS_COST_WALKS];
	unsigned int next;            /* the slot the next walk takes */
	unsigned int n;               /* slots filled */
};
uint64_t census_walk_cost(struct census_walk_costs *w, uint64_t cpu_ns);
/* Whether a namespace's request socks (SYN_RECV) are to be dumped this
 * walk. Their dump walks the kernel's whole established hash, the bulk of
 * a walk's cost on a host of many sockets, and only SYN trouble needs
 * them: they are the half-open counts of the listeners, and they decide
 * which listeners a namespace's SYN cookies and drops belong to. The
 * syn_flood detector's rates come from SYN-ACK retransmits and those
 * counters, not from them. So: when the namespace is new (prev NULL) or
 * its counters unreadable, when SYNs or SYN-ACKs were retransmitted or
 * cookies sent or SYNs dropped since the last walk, and at least every
 * CENSUS_SYN_RECV_REFRESH_NS while the last dump found some, every
 * CENSUS_SYN_RECV_QUIET_REFRESH_NS when it found none: a request sock
 * older than the first SYN-ACK's timeout (1 s) has had it retransmitted,
 * which moves the counters, so what the quiet period can miss is
 * handshakes in flight, a second old at most. Each dump walks the whole
 * host's hash, once per namespace: on a host of a thousand namespaces a
 * refresh every 10 s was half of the census's CPU. now holds this walk's
 * counters. */
#define CENSUS_SYN_RECV_REFRESH_NS (10ULL * 1000000000ULL)
#define CENSUS_SYN_RECV_QUIET_REFRESH_NS (60ULL * 1000000000ULL)
bool census_syn_recv_needed(const struct census_netns *now, const struct census_netns *prev,
			    uint64_t now_ns);
/* On a host of at least CENSUS_SYSCTL_CARRY_MIN_NETNS namespaces (the
 * last walk's), how long a namespace's sysctls (ip_local_port_range,
 * tcp_max_tw_buckets) are taken from the previous walk before they are
 * read again: CENSUS_SYSCTL_REFRESH_NS and up to 15 s more, by namespace.
 * On a smaller one they are read every walk. */
#define CENSUS_SYSCTL_CARRY_MIN_NETNS 64
#define CENSUS_SYSCTL_REFRESH_NS (30ULL * 1000000000ULL)
uint64_t census_sysctl_refresh_ns(uint32_t netns);
/* Whether walks spacing_ns apart, against an interval of interval_ns, are
 * news to the operator: twice the interval or more, and at least twice
 * what was told last (*told_ns, 0 at first; set when true). */
bool census_pace_news(uint64_t interval_ns, uint64_t spacing_ns, uint64_t *told_ns);
/* Parse /proc/net/netstat text: fills mib[] from the TcpExt lines. Returns
 * 0, or -EINVAL when no TcpExt pair is found. */
int census_parse_netstat(const char *text, uint64_t mib[MIB_MAX]);

#endif /* SYNFIN_CENSUS_H */
