// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* nbreader: run a command whose stdout is a non-blocking pipe (as some
 * supervisors hand their children), and read nothing from it until a file
 * exists: the command meets EAGAIN, then a reader that takes it all. Copies
 * what it read to --out and prints "result=done status=N bytes=B" (status
 * the command's exit status, or 128 + its signal). Bounded by --timeout-s.
 *
 *   nbreader --stall-until-file F --out FILE [--timeout-s S] -- CMD [ARGS...]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tool.h"

#define MAX_TIMEOUT_S 120L

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "stall-until-file", required_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'o' },
		{ "timeout-s", required_argument, NULL, 't' },
		{},
	};
	const char *stall = NULL, *out_path = NULL;
	long timeout_s = 60;
	int pipefd[2], status, opt, out_fd;
	long long bytes = 0;
	char buf[65536];
	pid_t pid;
	ssize_t n;

	while ((opt = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f': stall = optarg; break;
		case 'o': out_path = optarg; break;
		case 't': timeout_s = tool_parse_num("nbreader", "--timeout-s", optarg, 1,
						     MAX_TIMEOUT_S); break;
		default: return 2;
		}
	}
	if (!stall || !out_path || optind >= argc) {
		fprintf(stderr, "usage: nbreader --stall-until-file F --out FILE "
			"[--timeout-s S] -- CMD [ARGS...]\n");
		return 2;
	}
	signal(SIGALRM, tool_on_alarm);
	alarm((unsigned int)timeout_s);
	out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out_fd < 0 || pipe(pipefd)) {
		fprintf(stderr, "nbreader: %s\n", strerror(errno));
		return 1;
	}
	/* O_NONBLOCK is on the open file, which the child's stdout shares */
	if (fcntl(pipefd[1], F_SETFL, fcntl(pipefd[1], F_GETFL) | O_NONBLOCK)) {
		fprintf(stderr, "nbreader: fcntl: %s\n", strerror(errno));
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "nbreader: fork: %s\n", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		close(pipefd[0]);
		close(pipefd[1]);
		execvp(argv[optind], argv + optind);
		_exit(127);
	}
	close(pipefd[1]);
	while (access(stall, F_OK))
		usleep(20000);
	while ((n = read(pipefd[0], buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "nbreader: read: %s\n", strerror(errno));
			return 1;
		}
		if (write(out_fd, buf, (size_t)n) != n) {
			fprintf(stderr, "nbreader: write: %s\n", strerror(errno));
			return 1;
		}
		bytes += n;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	printf("result=done status=%d bytes=%lld\n",
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), bytes);
	return 0;
}
