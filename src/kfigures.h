/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The live figures the kernel keeps in maps in summary mode (handshake
 * times, completions per listener, sockets in CLOSE_WAIT), read once per
 * interval. The map layouts are in include/synfin/event.h.
 */
#ifndef SYNFIN_KFIGURES_H
#define SYNFIN_KFIGURES_H

#include <stdint.h>
#include "synfin/event.h"

struct kfigures_fds {
	int handshakes;       /* per-CPU array of struct synfin_hs_hist, one per side */
	/* two hashes: struct synfin_listener_key -> __u64; the programs add
	 * to the one *listener_gen names (its low bit) */
	int listener_opens[2];
	uint32_t *listener_gen;
	int close_waits;      /* classic: hash id -> struct synfin_close_wait; else -1 */
	int sk_owners;        /* tp_btf: sk storage of struct synfin_sk_owner; else -1 */
	int ncpus;            /* possible CPUs: the per-CPU value count */
};

struct kfigures;

/* NULL with errno. */
struct kfigures *kfigures__new(const struct kfigures_fds *fds);
void kfigures__free(struct kfigures *k);

/* Adds the handshakes since the last call, per bucket, to client[] and
 * server[] (SYNFIN_HS_BUCKETS each). 0 or -errno. */
int kfigures__handshakes(struct kfigures *k, uint64_t *client, uint64_t *server);

/* Takes every listener's count out (so each interval starts from zero
 * and gone listeners do not stay) and hands it to fn: flips the programs
 * to the other map, waits out the runs that may still add to this one
 * (bpf_runs_wait: milliseconds), and empties it. Returns the number of
 * listeners, or -errno. */
typedef void (*kfigures_listener_fn)(const struct synfin_listener_key *key, uint64_t n,
				     void *ctx);
int kfigures__take_listeners(struct kfigures *k, kfigures_listener_fn fn, void *ctx);

/* Classic mode: hands every socket now in CLOSE_WAIT to fn. Returns their
 * number, or -errno. 0 without the map (tp_btf: the census lists them). */
typedef void (*kfigures_close_wait_fn)(const struct synfin_close_wait *cw, void *ctx);
int kfigures__close_waits(struct kfigures *k, kfigures_close_wait_fn fn, void *ctx);

#endif /* SYNFIN_KFIGURES_H */
