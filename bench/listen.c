// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* listen: hold N listening TCP sockets on consecutive ports of one address
 * for the census benchmark (bench/listeners.sh): a host of many listeners
 * is what makes the census's matching of sockets to listeners cost. More
 * listeners than one process may hold descriptors are spread over several
 * processes (raising the hard limit needs CAP_SYS_RESOURCE, which a
 * container's root often lacks). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* descriptors a holder keeps free of listeners: stdio, the pipe */
#define SPARE_FDS 16
#define MAX_HOLDERS 1024

static void usage(void)
{
	fprintf(stderr, "usage: listen --addr A --port P --count N --seconds S [--ready-file F]\n");
	exit(2);
}

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

/* A holder: listeners on ports [first, first + n) of the count from port
 * base, then one byte to ready_fd, then wait for the parent's SIGKILL (or
 * its death). */
static void hold(struct sockaddr_in sin, long base, long first, long n, long count, int ready_fd)
{
	for (long i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		sin.sin_port = htons((uint16_t)(first + i));
		if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(fd, 8)) {
			fprintf(stderr, "listen: listener %ld of %ld (port %ld): %s\n",
				first - base + i + 1, count, first + i, strerror(errno));
			_exit(1);
		}
	}
	if (write(ready_fd, "", 1) != 1)
		_exit(1);
	close(ready_fd);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	const char *addr = NULL, *ready = NULL;
	long port = 0, count = 0, seconds = 0, per_holder, holders, started = 0, readies = 0;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	pid_t pids[MAX_HOLDERS], parent = getpid();
	int pipe_fds[2] = { -1, -1 }, err = 1;
	struct rlimit rl;
	char byte;
	FILE *f;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--addr"))
			addr = argv[i + 1];
		else if (!strcmp(argv[i], "--port"))
			port = strtol(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--count"))
			count = strtol(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--seconds"))
			seconds = strtol(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--ready-file"))
			ready = argv[i + 1];
		else
			usage();
	}
	if (!addr || port < 1 || count < 1 || port + count > 65536 || seconds < 1 ||
	    seconds > 3600 || inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		usage();
	/* one descriptor per listener: the soft limit raised to the hard one,
	 * and as many holders as that takes */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1048576)
		rl.rlim_cur = 1048576;
	per_holder = (long)rl.rlim_cur > 2 * SPARE_FDS ? (long)rl.rlim_cur - SPARE_FDS : SPARE_FDS;
	holders = (count + per_holder - 1) / per_holder;
	if (holders > MAX_HOLDERS) {
		fprintf(stderr, "listen: %ld listeners need %ld processes (at most %d)\n", count,
			holders, MAX_HOLDERS);
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if (pipe(pipe_fds)) {
		fprintf(stderr, "listen: pipe: %s\n", strerror(errno));
		return 1;
	}
	for (; started < holders; started++) {
		long first = port + started * per_holder;
		long n = count - started * per_holder < per_holder ? count - started * per_holder :
								    per_holder;
		pid_t pid = fork();

		if (pid < 0) {
			fprintf(stderr, "listen: fork: %s\n", strerror(errno));
			goto cleanup;
		}
		if (pid == 0) {
			/* gone with the parent, however it ends */
			if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
				_exit(1);
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			close(pipe_fds[0]);
			hold(sin, port, first, n, count, pipe_fds[1]);
		}
		pids[started] = pid;
	}
	close(pipe_fds[1]);
	pipe_fds[1] = -1;
	/* a byte from each holder, or end of file when one died first */
	while (readies < holders && read(pipe_fds[0], &byte, 1) == 1)
		readies++;
	if (readies < holders) {
		fprintf(stderr, "listen: %ld of %ld holders did not get their listeners\n",
			holders - readies, holders);
		goto cleanup;
	}
	if (ready) {
		f = fopen(ready, "w");
		if (!f || fclose(f)) {
			fprintf(stderr, "listen: %s: %s\n", ready, strerror(errno));
			goto cleanup;
		}
	}
	/* SIGTERM and SIGINT end the wait early: the holders still go, and
	 * their listeners with them, before this exits */
	for (unsigned int left = (unsigned int)seconds; left && !stopping;)
		left = sleep(left);
	err = 0;
cleanup:
	for (long i = 0; i < started; i++)
		kill(pids[i], SIGKILL);
	for (long i = 0; i < started; i++)
		waitpid(pids[i], NULL, 0);
	if (pipe_fds[0] >= 0)
		close(pipe_fds[0]);
	if (pipe_fds[1] >= 0)
		close(pipe_fds[1]);
	return err;
}
