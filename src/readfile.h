/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Small /proc and /proc/sys files, read whole into a caller's buffer. */
#ifndef SYNFIN_READFILE_H
#define SYNFIN_READFILE_H

#include <stddef.h>

/* Read up to len - 1 bytes of path into buf, NUL-terminated. Returns 0 or
 * -errno when the file cannot be opened. */
int read_small_file(const char *path, char *buf, size_t len);

#endif /* SYNFIN_READFILE_H */
