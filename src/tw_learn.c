// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* One loopback connection whose client end becomes a tw sock, watched by
 * bpf/tw_learn.bpf.c for the function its timer runs, then reset. */
#include <errno.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <bpf/libbpf.h>
#include "clock.h"
#include "tw_learn.h"
#include "tw_learn.skel.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

/* A try is missed where its timer starts with no BPF program running (a
 * softirq on PID 1's threads; tests/integration/witness.sh), or in a
 * recursion miss: another connection then. */
#define LEARN_TRIES 3
/* each step of a try: a loopback that drops SYNs (a firewall rule on lo)
 * must not hold the start for the kernel's two minutes of SYN retries */
#define LEARN_STEP_MS 200

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* accept() on the listener, waiting LEARN_STEP_MS at most: the new fd,
 * or -errno */
static int accept_soon(int lfd)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int n = poll(&p, 1, LEARN_STEP_MS), fd;

	if (n < 0)
		return -errno;
	if (n == 0)
		return -ETIMEDOUT;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* the program's answer, waited for LEARN_STEP_MS at most */
static uint64_t wait_learned(struct tw_learn_bpf *skel)
{
	struct timespec tick = { .tv_nsec = 1000000 };
	uint64_t deadline = now_mono_ns() + LEARN_STEP_MS * 1000000ULL, fn;

	for (;;) {
		fn = __atomic_load_n(&skel->bss->learned_fn, __ATOMIC_ACQUIRE);
		if (fn || now_mono_ns() >= deadline)
			return fn;
		nanosleep(&tick, NULL);
	}
}

/* The server's end of a learned try closes with a reset (SO_LINGER 0):
 * the client's tw sock, still waiting for the server's FIN (FIN-WAIT-2),
 * dies of it at once (RFC 793's FIN-WAIT-2 on a reset), and the server's
 * socket goes from CLOSE-WAIT straight to CLOSE. Nothing of synfin's
 * start stays in TIME_WAIT for others to see (ss, the census). */
static void close_with_reset(int *fd)
{
	struct linger abort = { .l_onoff = 1, .l_linger = 0 };

	/* failing, the close sends a FIN: a tw sock is left, nothing worse */
	(void)setsockopt(*fd, SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
	close_fd(fd);
}

/* One loopback connection whose client closes first: its orphan, once
 * the server acks the FIN, becomes a tw sock in FIN-WAIT-2 whose timer
 * the program sees; then the server's reset kills it. The program is
 * told the client's cookie and ports before the FIN goes out, so before
 * the tw sock exists; a run that reads them half-written (a try's ports,
 * another's cookie) can only miss. Where nothing is seen, the orphan
 * stayed a full socket (a tcp_fin_timeout over 60 s keeps it on its
 * keepalive timer) or its timer started where no program runs: the
 * server closes with a FIN instead, the client's end goes to TIME_WAIT,
 * seen there or not, and stays its minute (*tw_left, for any try). */
static int tw_connection(struct tw_learn_bpf *skel, uint64_t *fn, bool *tw_left,
			 const char **why)
{
	struct sockaddr_in srv = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval step = { .tv_sec = LEARN_STEP_MS / 1000,
				.tv_usec = LEARN_STEP_MS % 1000 * 1000 };
	struct sockaddr_in cli;
	socklen_t srv_len = sizeof(srv), cli_len = sizeof(cli), cookie_len;
	int lfd, cfd = -1, sfd = -1, err = 0;
	uint64_t cookie = 0;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&srv, sizeof(srv)) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&srv, &srv_len)) {
		err = -errno;
		*why = "a loopback listener";
		goto cleanup;
	}
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cookie_len = sizeof(cookie);
	/* connect() gives up after SO_SNDTIMEO, with EINPROGRESS */
	if (cfd < 0 || setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &step, sizeof(step)) ||
	    connect(cfd, (struct sockaddr *)&srv, sizeof(srv)) ||
	    getsockname(cfd, (struct sockaddr *)&cli, &cli_len) ||
	    getsockopt(cfd, SOL_SOCKET, SO_COOKIE, &cookie, &cookie_len)) {
		err = errno == EINPROGRESS ? -ETIMEDOUT : -errno;
		*why = "a loopback connection";
		goto cleanup;
	}
	sfd = accept_soon(lfd);
	if (sfd < 0) {
		err = sfd;
		*why = "a loopback connection";
		goto cleanup;
	}
	skel->bss->learn_lport = ntohs(cli.sin_port);
	skel->bss->learn_rport = srv.sin_port;
	__atomic_store_n(&skel->bss->learn_cookie, cookie, __ATOMIC_RELEASE);
	close_fd(&cfd);
	*fn = wait_learned(skel);
	if (*fn) {
		close_with_reset(&sfd);
		goto cleanup;
	}
	*tw_left = true;
	close_fd(&sfd);
	*fn = wait_learned(skel);
cleanup:
	close_fd(&sfd);
	close_fd(&cfd);
	close_fd(&lfd);
	return err;
}

int tw_learn_handler(uint64_t *addr, bool *tw_left, const char **why, bool verbose)
{
	/* a step synfin goes on without: libbpf's warnings only under -v,
	 * where synfin's own line says which step failed */
	libbpf_print_fn_t print = verbose ? NULL : libbpf_set_print(NULL);
	struct tw_learn_bpf *skel;
	int err;

	*addr = 0;
	*tw_left = false;
	skel = tw_learn_bpf__open_and_load();
	if (!skel) {
		err = errno ? -errno : -EINVAL;
		*why = "loading its program";
		goto restore;
	}
	err = tw_learn_bpf__attach(skel);
	if (err) {
		*why = "attaching its program";
		goto cleanup;
	}
	for (int i = 0; i < LEARN_TRIES && !*addr; i++) {
		err = tw_connection(skel, addr, tw_left, why);
		if (err)
			goto cleanup;
	}
	if (!*addr) {
		err = -ETIMEDOUT;
		*why = "no timer of its TIME_WAIT socket seen";
	}
cleanup:
	tw_learn_bpf__destroy(skel);
restore:
	if (!verbose)
		libbpf_set_print(print);
	return err;
}
