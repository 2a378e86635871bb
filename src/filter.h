/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The connection filter as the user gave it. The kernel gets the same
 * values as .rodata before load; user space applies it again to what the
 * kernel could not decide (sock_diag seeds, owners learned after the fact).
 */
#ifndef SYNFIN_FILTER_H
#define SYNFIN_FILTER_H

#include <stdbool.h>
#include <stdint.h>
#include "synfin/event.h"

struct synfin_filter {
	uint32_t pid;            /* 0: any */
	uint8_t family;          /* 0: any, else SYNFIN_AF_* */
	uint32_t netns;          /* 0: any */
	uint64_t cgroup_id;      /* 0: any */
	bool have_lports;
	bool have_rports;
	uint8_t lports[SYNFIN_PORT_BITMAP_BYTES]; /* bit per port */
	uint8_t rports[SYNFIN_PORT_BITMAP_BYTES];
};

static inline bool port_bit_test(const uint8_t *bitmap, uint16_t port)
{
	return bitmap[port >> 3] & (1u << (port & 7));
}

static inline void port_bit_set(uint8_t *bitmap, uint16_t port)
{
	bitmap[port >> 3] |= (uint8_t)(1u << (port & 7));
}

/* pid == 0 means the owner is not known yet: it passes, like in the kernel. */
static inline bool filter_match(const struct synfin_filter *f, uint8_t family,
				uint16_t lport, uint16_t rport, uint32_t netns,
				uint64_t cgroup_id, uint32_t pid)
{
	if (f->family && family != f->family)
		return false;
	if (f->netns && netns != f->netns)
		return false;
	if (f->cgroup_id && cgroup_id != f->cgroup_id)
		return false;
	if (f->pid && pid && pid != f->pid)
		return false;
	if (f->have_lports && !port_bit_test(f->lports, lport))
		return false;
	if (f->have_rports && !port_bit_test(f->rports, rport))
		return false;
	return true;
}

/* Parse "80,443,8000-8080" into bitmap. Returns 0, or -EINVAL with a
 * one-line reason in err. Port 0 and ports above 65535 are rejected. */
int filter_parse_ports(const char *arg, uint8_t *bitmap, char *err, size_t errlen);

#endif /* SYNFIN_FILTER_H */
