// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* epollfail: an LD_PRELOAD shim for the tests. Once the file that
 * $EPOLLFAIL_FILE names exists, epoll_wait() fails with EIO: the ring
 * buffer's read (libbpf waits on the ring with epoll) failing under a
 * running synfin, which nothing else on a healthy host can make happen.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
	static int (*real_epoll_wait)(int, struct epoll_event *, int, int);
	const char *path = getenv("EPOLLFAIL_FILE");

	if (path && !access(path, F_OK)) {
		errno = EIO;
		return -1;
	}
	if (!real_epoll_wait)
		real_epoll_wait = (int (*)(int, struct epoll_event *, int, int))
			dlsym(RTLD_NEXT, "epoll_wait");
	return real_epoll_wait(epfd, events, maxevents, timeout);
}
