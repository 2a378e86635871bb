/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Addresses as synfin keeps them (SYNFIN_ADDR_LEN bytes: IPv4 in the
 * first 4, IPv6 whole). */
#ifndef SYNFIN_ADDR_H
#define SYNFIN_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "synfin/event.h"

/* ::ffff:a.b.c.d, the IPv4 address of a dual-stack (AF_INET6) socket's
 * IPv4 connection; a.b.c.d is its last 4 bytes. */
static inline bool addr_is_v4_mapped(const uint8_t *a)
{
	static const uint8_t pfx[12] = { [10] = 0xff, [11] = 0xff };

	return memcmp(a, pfx, sizeof(pfx)) == 0;
}

/* Whether a connection of this family and these addresses is a dual-
 * stack socket's IPv4 one: its peer, and the kernel's ports toward that
 * peer, know it as plain IPv4. */
static inline bool conn_is_v4_mapped(uint8_t family, const uint8_t *laddr, const uint8_t *raddr)
{
	return family == SYNFIN_AF_INET6 && addr_is_v4_mapped(laddr) && addr_is_v4_mapped(raddr);
}

/* The family and address (one of the connection's two, end) that group
 * it with the others to or from that address: such a connection's as
 * IPv4, beside the AF_INET sockets that share its ports. */
static inline uint8_t conn_addr_key(uint8_t family, const uint8_t *laddr, const uint8_t *raddr,
				    const uint8_t *end, uint8_t out[SYNFIN_ADDR_LEN])
{
	memset(out, 0, SYNFIN_ADDR_LEN);
	if (conn_is_v4_mapped(family, laddr, raddr)) {
		memcpy(out, end + 12, 4);
		return SYNFIN_AF_INET;
	}
	memcpy(out, end, SYNFIN_ADDR_LEN);
	return family;
}

#endif /* SYNFIN_ADDR_H */
