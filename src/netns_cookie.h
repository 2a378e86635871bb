/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A network namespace's cookie (Linux 5.14+). Unlike its inode number,
 * which the kernel hands to the next namespace made once this one is gone,
 * a cookie is never reused: --netns compares both, so a filter on a
 * namespace that went away does not slide onto a newcomer.
 */
#ifndef SYNFIN_NETNS_COOKIE_H
#define SYNFIN_NETNS_COOKIE_H

#include <stdint.h>

/* The cookie of the namespace the calling thread is in; 0 where the
 * kernel has none. */
uint64_t netns_cookie_here(void);
/* The cookie of the namespace nsfd names: the calling thread goes there
 * and back, so call it before any other thread shares the work. 0 where
 * the kernel has none or the namespace cannot be entered (no privilege);
 * -1 (all ones) if the thread could not get home again. */
uint64_t netns_cookie_of(int nsfd);

#endif /* SYNFIN_NETNS_COOKIE_H */
