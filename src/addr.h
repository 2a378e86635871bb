/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Addresses as synfin keeps them (SYNFIN_ADDR_LEN bytes: IPv4 in the
 * first 4, IPv6 whole). */
#ifndef SYNFIN_ADDR_H
#define SYNFIN_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* ::ffff:a.b.c.d, the IPv4 address of a dual-stack (AF_INET6) socket's
 * IPv4 connection; a.b.c.d is its last 4 bytes. */
static inline bool addr_is_v4_mapped(const uint8_t *a)
{
	static const uint8_t pfx[12] = { [10] = 0xff, [11] = 0xff };

	return memcmp(a, pfx, sizeof(pfx)) == 0;
}

#endif /* SYNFIN_ADDR_H */
