/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Loading synfin's BPF programs: feature choice (tp_btf, else classic
 * tracepoints), filters into .rodata, attach, and the kernel's counters. */
#ifndef SYNFIN_LOADER_H
#define SYNFIN_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kfigures.h"
#include "options.h"

struct loader;

/* Returns 0 or -errno (after printing one line saying what failed). */
int loader__open(const struct synfin_options *opts, struct loader **out);
void loader__free(struct loader *ld);
int loader__ringbuf_fd(const struct loader *ld);
/* "tp_btf" or "classic": which hooks are attached. */
const char *loader__mode(const struct loader *ld);
/* Whether TIME_WAIT sockets' exits are measured (timer hooks attached). */
bool loader__timewait(const struct loader *ld);
/* Whether the peer's FIN reaching a tw sock is seen (kfree_skb with rx_sk). */
bool loader__tw_fin(const struct loader *ld);
/* The ring buffer's callback type: each spilled record goes to it. */
typedef int (*loader_record_fn)(void *ctx, void *data, size_t len);
/* Hand every connection record waiting in the spill map (the ring was
 * full when it was written) to fn, if any is waiting: a read of a counter
 * otherwise. 0 or -errno. */
int loader__drain_spill(struct loader *ld, loader_record_fn fn, void *ctx);
/* -F: drops the orphans held in the kernel whose tw socks have gone (see
 * fw2_hold in bpf/synfin.bpf.c); held: how many are left. */
int loader__fw2_sweep(struct loader *ld, uint64_t now_ns, uint32_t *held);
/* How many records the spill map holds (0: it is off). */
uint32_t loader__spill_capacity(const struct loader *ld);
/* Whether records went into the spill map that no drain has taken yet. */
bool loader__spill_waiting(const struct loader *ld);
/* Records the drains took from the spill map, and the kernel put in it. */
void loader__spill_counts(const struct loader *ld, uint64_t *taken, uint64_t *stored);
/* Detaches every program and waits out the runs in flight: no record is
 * made after it, so a drain then takes the last of them. The maps stay. */
void loader__detach(struct loader *ld);
/* The generation the kernel counts new CLOSE_WAIT marks under (struct
 * cw_marks). */
void loader__set_cw_gen(struct loader *ld, uint32_t gen);
/* Sum the per-CPU counters (SYNFIN_CNT_*). */
int loader__read_counters(const struct loader *ld, uint64_t out[SYNFIN_CNT_MAX]);
/* Summary mode with the detectors or top: the maps of the live figures
 * the kernel keeps. false when it keeps none (records carry them). */
bool loader__live_fds(const struct loader *ld, struct kfigures_fds *fds);
/* Program runs the kernel skipped (a program already running on that CPU)
 * that nothing made up for: a loss. */
uint64_t loader__recursion_misses(const struct loader *ld);
/* The raw figures behind it, read together. */
struct loader_recursion {
	uint64_t first_copies; /* runs the kernel skipped of tp_state and tp_destroy */
	uint64_t others;       /* ... of the programs without a second copy */
	uint64_t caught;       /* runs their second copies made up for */
	uint64_t lost;         /* what loader__recursion_misses returns */
};
void loader__recursion(const struct loader *ld, struct loader_recursion *r);

#endif /* SYNFIN_LOADER_H */
