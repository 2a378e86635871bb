// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* listen: hold N listening TCP sockets on consecutive ports of one address
 * for the census benchmark (bench/listeners.sh): a host of many listeners
 * is what makes the census's matching of sockets to listeners cost. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: listen --addr A --port P --count N --seconds S [--ready-file F]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *addr = NULL, *ready = NULL;
	long port = 0, count = 0, seconds = 0;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct rlimit rl;
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
	/* one descriptor per listener: up to the hard limit */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (long i = 0; i < count; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		sin.sin_port = htons((uint16_t)(port + i));
		if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(fd, 8)) {
			fprintf(stderr, "listen: listener %ld of %ld (port %ld): %s\n", i + 1, count,
				port + i, strerror(errno));
			return 1;
		}
	}
	if (ready) {
		f = fopen(ready, "w");
		if (!f || fclose(f)) {
			fprintf(stderr, "listen: %s: %s\n", ready, strerror(errno));
			return 1;
		}
	}
	sleep((unsigned int)seconds);
	return 0;
}
