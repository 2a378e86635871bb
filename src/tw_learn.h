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
 * network namespace, each ended by a reset that kills its tw sock; where
 * the client's end became a tw sock only at the server's FIN, that one
 * is left for its 60 s of TIME_WAIT (*tw_left). Well under a millisecond
 * where the loopback works, but for the server's ack of the client's FIN
 * (delayed up to the kernel's 40 ms or so); where the loopback does not
 * answer, 200 ms for the failed step; where no timer is seen, 400 ms a
 * try. libbpf's own messages are kept back unless verbose. */
int tw_learn_handler(uint64_t *addr, bool *tw_left, const char **why, bool verbose);

#endif /* SYNFIN_TW_LEARN_H */
