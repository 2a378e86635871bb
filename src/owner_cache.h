/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The processes holding sockets, by the sockets' inodes, kept from one
 * census walk to the next: a listener's owner, and the holder of a socket
 * left in CLOSE_WAIT. What the cache does not know, one scan of every
 * process's fds answers (sockdiag_find_owners); such a scan is not free,
 * so scans are spaced by their own CPU time within a budget. */
#ifndef SYNFIN_OWNER_CACHE_H
#define SYNFIN_OWNER_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "engine.h"
#include "live.h"

/* A socket a process holding it no scan showed is asked about again only
 * this often. */
#define OWNER_RETRY_NS (10ULL * 1000000000ULL)

struct owner_cache_ent {
	uint32_t inode;
	struct live_owner owner;
	struct live_owner also;    /* another process holding it; pid 0: none */
	uint32_t others;           /* how many besides owner hold it, also one of them */
};

/* Fills each candidate with an inode and pid 0 with a process holding it
 * (pid, comm); sockdiag_find_owners' contract. One that also fills
 * also_pid and also_comm (sockdiag_find_two_holders) names a second, and
 * counts in others every process past the first. */
typedef int (*owner_scan_fn)(struct synfin_seed *cands, size_t ncands);

struct owner_cache {
	/* set by the user; zero is a listener's cache */
	uint64_t refresh_ns;       /* ask about every socket again this often; 0: only the unknown */
	double budget_pct;         /* the scans' CPU, % of a core; 0: no limit */
	owner_scan_fn scan;        /* NULL: sockdiag_find_owners */
	/* kept by owner_cache__resolve */
	struct owner_cache_ent *ents;  /* the last answers, by inode */
	size_t n;
	uint32_t *missed;          /* inodes the last scan found no process for, sorted */
	size_t nmissed;
	uint64_t last_scan_ns;
	uint64_t last_full_ns;     /* the last scan that asked about every socket */
	uint64_t next_scan_ns;     /* none before: the last one's CPU within budget_pct */
	uint64_t scans;
};

/* One socket asked about. */
struct owner_want {
	uint32_t inode;            /* 0: no process can hold it (orphan, tw, request sock) */
	struct live_owner *owner;  /* in: what stands when no holder is known; out: the holder */
	/* out, unless NULL: another process seen holding it, pid 0 if none
	 * (or the scan does not look for a second) */
	struct live_owner *also;
	/* out, unless NULL: how many processes besides *owner hold it, *also
	 * one of them; 0 with no *also */
	uint32_t *others;
	bool found;                /* out: *owner is a process seen holding the socket */
};

/* Answer n sockets at time now_ns from the cache, and from a scan when one
 * is new (or its cached process has gone, or refresh_ns has passed) and
 * the budget allows. The cache then keeps only these sockets' answers, so
 * it is bounded by what the caller asks. */
void owner_cache__resolve(struct owner_cache *oc, struct owner_want *w, size_t n, uint64_t now_ns);
void owner_cache__free(struct owner_cache *oc);

#endif /* SYNFIN_OWNER_CACHE_H */
