/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Names of kernel enum values read from vmlinux BTF, so they follow the
 * running kernel rather than a table copied from one version of it.
 */
#ifndef SYNFIN_BTF_NAMES_H
#define SYNFIN_BTF_NAMES_H

#include <stdint.h>

/* enum sk_rst_reason value -> "NO_SOCKET", "TCP_STATE", ...; "" when the
 * kernel has no such enum or value. Loads BTF on first use (not thread safe). */
const char *rst_reason_name(uint32_t v);
/* Drop the cache (for leak checkers; the next lookup reloads). */
void btf_names__free(void);

#endif /* SYNFIN_BTF_NAMES_H */
