/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The kernel's HZ where no kernel config says it (a container without the
 * host's /boot, a kernel without IKCONFIG_PROC): measured from the jiffies
 * /proc/timer_list shows against this process's clock. The tw socks'
 * timers count in jiffies; without HZ their expiry is unknown. */
#ifndef SYNFIN_KERNEL_HZ_H
#define SYNFIN_KERNEL_HZ_H

#include <stdint.h>
#include <stdio.h>

#define SYNFIN_TIMER_LIST "/proc/timer_list"

/* The jiffies of a /proc/timer_list: its first "jiffies: J" line, which
 * ends the first CPU's section (a kernel without CONFIG_TICK_ONESHOT
 * prints none). Returns 0, or -ENODATA when there is none. */
int timer_list_jiffies(FILE *f, uint64_t *jiffies);

/* The HZ of jiffies that went up by d_jiffies in d_ns: the value among
 * those Linux offers (100, 200, 250, 300, 500, 1000) that explains it to
 * within two jiffies and two milliseconds, or 0 when none or more than
 * one does. A window of 100 ms or more tells each from its neighbours. */
unsigned int kernel_hz_from(uint64_t d_jiffies, uint64_t d_ns);

/* *hz from two readings of path (/proc/timer_list) window_ms apart.
 * Returns 0, or -errno: the file's (it is root's only; a container may
 * mask it), -ENODATA (no jiffies in it), -EAGAIN (each try took too long
 * to read to be timed), -ERANGE (no HZ Linux offers fits). */
int kernel_hz_measure(const char *path, unsigned int window_ms, unsigned int *hz);

/* What kernel_hz_measure's error says, in words. */
const char *kernel_hz_strerror(int err);

#endif /* SYNFIN_KERNEL_HZ_H */
