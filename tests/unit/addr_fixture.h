/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A connection's addresses as a dual-stack (AF_INET6) socket has them
 * for an IPv4 peer: the unit tests' records and socks made so. */
#ifndef SYNFIN_ADDR_FIXTURE_H
#define SYNFIN_ADDR_FIXTURE_H

#include <stdint.h>
#include <string.h>
#include "synfin/event.h"

/* IPv4 addresses (in the first 4 bytes) to ::ffff:a.b.c.d, the family
 * to AF_INET6. */
static inline void fixture_v4_mapped(uint8_t *family, uint8_t *laddr, uint8_t *raddr)
{
	uint8_t *addrs[2] = { laddr, raddr };

	for (int i = 0; i < 2; i++) {
		uint8_t v4[4];

		memcpy(v4, addrs[i], 4);
		memset(addrs[i], 0, SYNFIN_ADDR_LEN);
		addrs[i][10] = addrs[i][11] = 0xff;
		memcpy(addrs[i] + 12, v4, 4);
	}
	*family = SYNFIN_AF_INET6;
}

#endif /* SYNFIN_ADDR_FIXTURE_H */
