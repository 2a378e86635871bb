/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Waiting out the BPF program runs in flight: the stop's last drain and
 * the listener counts' flip (kfigures.c) need every run that began before
 * a point to have finished. */
#ifndef SYNFIN_BPF_RUNS_H
#define SYNFIN_BPF_RUNS_H

#include <stdbool.h>

/* Returns once every BPF program run begun before the call has finished:
 * true. A run is an RCU read-side section, and a global membarrier waits
 * for a grace period (synchronize_rcu: some milliseconds). false at once
 * where the kernel refuses it (nohz_full, or no membarrier). */
bool bpf_runs_wait(void);

#endif /* SYNFIN_BPF_RUNS_H */
