/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* tw_timer_handler's address where /proc/kallsyms hides it
 * (kernel.kptr_restrict 2), learned from a tw sock of synfin's own on
 * the loopback (bpf/tw_learn.bpf.c). The programs that follow tw
 * socks know their timers by that address. */
#ifndef SYNFIN_TW_LEARN_H
#define SYNFIN_TW_LEARN_H

#include <stdbool.h>
#include <stdint.h>

/* Returns 0 with *addr set, or -errno with *why naming the step that
 * failed. Makes up to three loopback connections in this process's
 * network namespace, each ended by a reset that kills its client's tw
 * sock once the program has seen it; a try whose tw sock was not seen by
 * then ends with a FIN, and its client's end stays its 60 s in TIME_WAIT
 * (*tw_left). A few milliseconds where the loopback works (the server
 * delays its ack of the client's FIN); where it does not answer, 200 ms
 * for the failed step; where no timer is seen, 400 ms a try. libbpf's
 * own messages are kept back unless verbose. */
int tw_learn_handler(uint64_t *addr, bool *tw_left, const char **why, bool verbose);

#endif /* SYNFIN_TW_LEARN_H */
