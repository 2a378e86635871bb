// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A network namespace's cookie (netns_cookie.h). */
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>
#include "netns_cookie.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

uint64_t netns_cookie_here(void)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	/* any socket is made in the thread's namespace; a unix one is the
	 * cheapest and exists in every namespace */
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) || len != sizeof(cookie))
		cookie = 0;
	close(fd);
	return cookie;
}

uint64_t netns_cookie_of(int nsfd)
{
	uint64_t cookie = 0;
	int home;

	home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home < 0)
		return 0;
	if (setns(nsfd, CLONE_NEWNET))
		goto cleanup;
	cookie = netns_cookie_here();
	if (setns(home, CLONE_NEWNET))
		cookie = UINT64_MAX;
cleanup:
	close(home);
	return cookie;
}
