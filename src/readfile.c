// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Small /proc and /proc/sys files (readfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include "readfile.h"

int read_small_file(const char *path, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (got < len - 1) {
		n = read(fd, buf + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return 0;
}
