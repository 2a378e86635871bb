// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* tcpdrive: a deterministic TCP client/server for the integration tests.
 * Every run is bounded by a hard alarm(); the outcome is printed as one
 * "key=value ..." line per connection on stdout so a test can learn ports
 * (with client --repeat N, one per connection and a "result=done" summary).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

#define MAX_BYTES (64u << 20) /* bounded traffic: at most 64 MiB per direction */

enum close_mode {
	CLOSE_FIRST,	/* close once our bytes are out and --recv bytes are in */
	WAIT_EOF,	/* read until the peer's FIN (or RST), then close */
};

struct opts {
	int is_server;
	const char *addr;	/* --bind (server) / --connect (client) */
	const char *src;	/* client --bind */
	int port;
	int lport;		/* client --lport */
	int accept_n;
	int repeat;		/* client: sequential connections */
	long rate;		/* client --repeat: connections per second, 0 = flat out */
	int backlog;		/* server: listen() backlog */
	int no_accept;		/* server: listen, never accept */
	const char *hold_listener_file;	/* server: keep the listener until this exists */
	const char *hold_exit_file;	/* client: after the last connection, wait for this */
	enum close_mode mode;
	int shutdown_wr;
	long long send_bytes;
	long long recv_bytes;
	int linger0;
	int no_close;
	long delay_close_ms;
	long long close_at_ns;
	const char *comm;
	const char *worker_comm;	/* server: accept in a child of this name */
	const char *handoff_comm;	/* server: after the accepts, a child of this name keeps all */
	const char *share_comm;		/* server: after the accepts, a child of this name keeps copies */
	int share_count;		/* ... this many such children */
	int reuseport;			/* server: listen on this many SO_REUSEPORT sockets */
	int dual_stack;			/* server, IPv6: IPv4 clients too (IPV6_V6ONLY off) */
	const char *fork_each_comm;	/* server: after each accept, a child of this name keeps a copy */
	const char *daemonize_file;	/* server: once it exists, fork; the parent exits */
	const char *daemon_comm;	/* ... and the child, which keeps the listener, is named so */
	const char *ready_file;
	const char *hold_file;
	const char *send_after_file;	/* client: connected, wait for this, then send */
	long user_timeout_ms;		/* client: TCP_USER_TIMEOUT, 0 = the kernel's */
	int fastopen;			/* TCP Fast Open: server accepts it, client sends in the SYN */
	int cork;			/* client: TCP_CORK before sending: the data waits for close */
	long timeout_ms;
};

static struct opts o = {
	.accept_n = 1,
	.share_count = 1,
	.reuseport = 1,
	.repeat = 1,
	.backlog = 16,
	.mode = CLOSE_FIRST,
	.timeout_ms = 20000,
};

static void usage(void)
{
	fprintf(stderr,
		"usage: tcpdrive server --bind ADDR --port P [--accept N] [--close-first|--wait-eof]\n"
		"                [--send BYTES] [--recv BYTES] [--linger0] [--no-close] [--delay-close-ms N]\n"
		"                [--close-at-ns T] [--comm NAME] [--ready-file F] [--hold-until-file F]\n"
		"                [--timeout-ms N] [--backlog N] [--no-accept] [--hold-listener-file F]\n"
"                [--worker-comm NAME] [--daemonize-on-file F --daemon-comm NAME]\n"
"                [--handoff-comm NAME] [--share-comm NAME [--share-count K]]\n"
"                [--fork-each-comm NAME] [--reuseport N] [--dual-stack]\n"
		"       tcpdrive client --connect ADDR --port P [--bind ADDR] [--lport P] [--send BYTES]\n"
		"                [--recv BYTES] [--close-first|--wait-eof] [--shutdown-wr] [--linger0]\n"
		"                [--no-close] [--delay-close-ms N] [--close-at-ns T] [--comm NAME]\n"
		"                [--ready-file F] [--hold-until-file F] [--timeout-ms N] [--repeat N]\n"
		"                [--rate N] [--hold-exit-file F] [--send-after-file F]\n"
		"                [--user-timeout-ms N] [--fastopen] [--cork]\n"
		"--repeat N: N connections one after another, each closed before the next;\n"
		"    one result line each, then \"result=done count=N connected=K failed=F\".\n"
		"--rate N: with --repeat, start at most N connections per second.\n"
		"--hold-exit-file F: client: after the last connection, wait for F to exist\n"
		"    before exiting (the process outlives its connections).\n"
		"--send-after-file F: client: once connected, wait for F before the exchange.\n"
		"--user-timeout-ms N: client: TCP_USER_TIMEOUT (unacked data for N ms ends\n"
		"    the connection with ETIMEDOUT).\n"
		"--cork: client: TCP_CORK before sending: less than a segment of data waits\n"
		"    in the queue, and close() sends it with the FIN, one segment.\n"
		"--fastopen: server: TCP_FASTOPEN on the listener; client: connect by\n"
		"    sendto(MSG_FASTOPEN) with up to 1000 of the --send bytes (in the SYN\n"
		"    once the kernel holds the server's cookie; the namespace's\n"
		"    net.ipv4.tcp_fastopen must allow it).\n"
		"--backlog N: the listen() backlog (default 16).\n"
		"--daemonize-on-file F: server: once listening, wait for F, then fork: the\n"
		"    parent exits at once, the child (--daemon-comm NAME) keeps the listener\n"
		"    and goes on, as a server that listens and then daemonizes.\n"
		"--no-accept: listen and never accept; with --hold-listener-file, close the\n"
		"    listener once F exists and print \"result=listened\"; without, hold it\n"
		"    until --timeout-ms (\"result=alarm\").\n"
		"--hold-listener-file F: after the last accept (at once with --no-accept),\n"
		"    keep the listener and every --no-close socket until F exists.\n"
		"--close-first: send, read --recv bytes, close; --wait-eof: send, read to EOF, close.\n"
		"--ready-file: server: written (\"lport=N\") once listening; client: once the\n"
		"    data exchange is over, before --hold-until-file / --close-at-ns.\n"
		"--no-close: leave the socket to exit(); --linger0: SO_LINGER {1, 0} (close sends RST).\n"
		"--close-at-ns: close at this CLOCK_REALTIME instant (ns since the epoch).\n"
		"--comm: process name; \\xNN and \\\\ escapes are decoded.\n"
"--worker-comm NAME: server: listen, then accept and serve in a forked child\n"
"    of this name (a pre-fork server's worker); the parent waits for it.\n"
"--handoff-comm NAME: server: after the last accept, fork: the parent exits at\n"
"    once, and the child, so named, keeps every socket (with --no-close, the\n"
"    accepted ones) and prints \"result=handoff pid=N\".\n"
"--share-comm NAME: server: after the last accept, fork a child of this name\n"
"    that holds copies of every socket as the parent goes on holding them (a\n"
"    server that forks after accepting); it prints \"result=shared pid=N\".\n"
"    The parent never reaps it. --share-count K forks K such children (workers\n"
"    that each inherit every socket), each printing its line.\n"
"--reuseport N: server, with --no-accept: listen on N sockets of one address\n"
"    and port (SO_REUSEPORT), as a multi-worker server does.\n"
"--dual-stack: server, on an IPv6 address: take IPv4 clients too, as\n"
"    ::ffff:a.b.c.d (IPV6_V6ONLY off, as most servers bound to [::] do).\n"
"--fork-each-comm NAME: server: after each accept, fork a child of this name\n"
"    that holds a copy of that socket alone, as the parent goes on holding it\n"
"    (a forking server that never closes its copies); each prints\n"
"    \"result=forked pid=N\" and holds it until --hold-listener-file's file\n"
"    exists, or the timeout. The parent never reaps them.\n");
	exit(2);
}

static long long parse_num(const char *name, const char *s, long long min, long long max)
{
	return tool_parse_num("tcpdrive", name, s, min, max);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode \xNN and \\ so a test can name a process with any bytes but NUL. */
static void set_comm(const char *in)
{
	char name[16] = {0};
	size_t n = 0;

	while (*in && n < sizeof(name) - 1) {
		if (in[0] == '\\' && in[1] == '\\') {
			name[n++] = '\\';
			in += 2;
		} else if (in[0] == '\\' && in[1] == 'x' && hexval(in[2]) >= 0 &&
			   hexval(in[3]) >= 0) {
			name[n++] = (char)(hexval(in[2]) << 4 | hexval(in[3]));
			in += 4;
		} else {
			name[n++] = *in++;
		}
	}
	if (prctl(PR_SET_NAME, name, 0, 0, 0)) {
		fprintf(stderr, "tcpdrive: prctl(PR_SET_NAME): %s\n", strerror(errno));
		exit(1);
	}
}

static int parse_addr(const char *s, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
		return AF_INET6;
	}
	fprintf(stderr, "tcpdrive: invalid address: '%s'\n", s);
	exit(2);
}

static void fmt_addr(const struct sockaddr_storage *ss, char *buf, size_t len, int *port)
{
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const void *)ss;

		inet_ntop(AF_INET6, &a6->sin6_addr, buf, len);
		*port = ntohs(a6->sin6_port);
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a4 = (const void *)ss;

		inet_ntop(AF_INET, &a4->sin_addr, buf, len);
		*port = ntohs(a4->sin_port);
	} else {
		snprintf(buf, len, "-");
		*port = 0;
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static long long now_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Sleep to 2 ms before the deadline, then spin: both peers run on their
 * own CPU, so their close() calls land within a few microseconds. */
static void wait_until_ns(long long t)
{
	long long left = t - now_realtime_ns();

	if (left > 2000000LL) {
		struct timespec ts;
		long long wake = t - 2000000LL;

		ts.tv_sec = wake / 1000000000LL;
		ts.tv_nsec = wake % 1000000000LL;
		while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
	}
	while (now_realtime_ns() < t)
		;
}

static void wait_for_file(const char *path)
{
	struct stat st;

	while (stat(path, &st) != 0)
		sleep_ms(10);	/* bounded by the alarm */
}

static void write_file(const char *path, const char *text)
{
	char tmp[4096];
	FILE *f;

	/* write then rename, so a waiter never sees a half-written file */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
		fprintf(stderr, "tcpdrive: cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

struct xfer {
	long long sent;
	long long received;
	int err;	/* errno of the first failed read/write, 0 if none */
	int eof;
};

/* Send o.send_bytes while reading: until --recv bytes (close-first) or EOF
 * (wait-eof / shutdown-wr) have arrived. poll() keeps both directions moving
 * so large transfers cannot deadlock. */
static void exchange(int fd, struct xfer *x)
{
	static char buf[65536];
	int want_eof = o.mode == WAIT_EOF || o.shutdown_wr;
	int shut_done = 0;

	memset(buf, 'x', sizeof(buf));
	for (;;) {
		int need_send = x->sent < o.send_bytes;
		int need_recv = want_eof ? !x->eof : x->received < o.recv_bytes;
		struct pollfd p = { .fd = fd };
		ssize_t n;

		if (!need_send && o.shutdown_wr && !shut_done) {
			if (shutdown(fd, SHUT_WR)) {
				x->err = errno;
				return;
			}
			shut_done = 1;
		}
		if (x->eof)
			need_recv = 0;	/* the peer is done sending; we may still send */
		if (!need_send && !need_recv)
			return;
		p.events = (need_send ? POLLOUT : 0) | (need_recv ? POLLIN : 0);
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			x->err = errno;
			return;
		}
		if (need_recv && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
			size_t cap = sizeof(buf);

			/* close-first: never read past --recv */
			if (!want_eof && (long long)cap > o.recv_bytes - x->received)
				cap = (size_t)(o.recv_bytes - x->received);
			n = recv(fd, buf, cap, MSG_DONTWAIT);
			if (n > 0)
				x->received += n;
			else if (n == 0)
				x->eof = 1;
			else if (errno != EAGAIN && errno != EINTR) {
				x->err = errno;
				return;
			}
		}
		if (need_send && (p.revents & (POLLOUT | POLLHUP | POLLERR))) {
			size_t cap = sizeof(buf);

			if ((long long)cap > o.send_bytes - x->sent)
				cap = (size_t)(o.send_bytes - x->sent);
			n = send(fd, buf, cap, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0)
				x->sent += n;
			else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				x->err = errno;
				return;
			}
		}
	}
}

static void set_linger0(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l))) {
		fprintf(stderr, "tcpdrive: SO_LINGER: %s\n", strerror(errno));
		exit(1);
	}
}

/* Everything after the connection exists: exchange, hold, close. */
static void finish_conn(int fd, const struct sockaddr_storage *self, struct xfer *x)
{
	if (o.linger0)
		set_linger0(fd);
	exchange(fd, x);
	/* client: "the exchange is over", with the port a test needs to know */
	if (self && o.ready_file) {
		char text[32];
		int lp;
		char a[INET6_ADDRSTRLEN];

		fmt_addr(self, a, sizeof(a), &lp);
		snprintf(text, sizeof(text), "lport=%d\n", lp);
		write_file(o.ready_file, text);
	}
	if (o.hold_file)
		wait_for_file(o.hold_file);
	if (o.close_at_ns)
		wait_until_ns(o.close_at_ns);
	if (o.delay_close_ms)
		sleep_ms(o.delay_close_ms);
	if (!o.no_close)
		close(fd);
}

static void print_result(const char *result, struct sockaddr_storage *l,
			 struct sockaddr_storage *r, struct xfer *x, int err)
{
	char la[INET6_ADDRSTRLEN] = "-", ra[INET6_ADDRSTRLEN] = "-";
	int lp = 0, rp = 0;

	if (l)
		fmt_addr(l, la, sizeof(la), &lp);
	if (r)
		fmt_addr(r, ra, sizeof(ra), &rp);
	printf("result=%s laddr=%s lport=%d raddr=%s rport=%d sent=%lld received=%lld errno=%d pid=%d\n",
	       result, la, lp, ra, rp, x ? x->sent : 0, x ? x->received : 0, err, (int)getpid());
	fflush(stdout);
}

/* fork() with stdio flushed first (no line printed twice), saying why it
 * failed */
static pid_t fork_flushed(void)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		fprintf(stderr, "tcpdrive: fork: %s\n", strerror(errno));
	return pid;
}

/* The hard bound on everything this process does, and its name comm if
 * given: at the start, and again in each child forked (alarms are not
 * inherited). */
static void bound_and_name(const char *comm)
{
	alarm((unsigned)((o.timeout_ms + 999) / 1000));
	if (comm)
		set_comm(comm);
}

/* Fork; the parent exits at once (its copies of the sockets close, the
 * child's stay) and the child goes on, named comm if given. Returns
 * non-zero only if the fork failed. */
static int leave_to_child(const char *comm)
{
	pid_t pid = fork_flushed();

	if (pid < 0)
		return 1;
	if (pid > 0)
		_exit(0);
	bound_and_name(comm);
	return 0;
}

/* --fork-each-comm: a child named comm keeps fd alone (its copies of the
 * listener and the other accepted sockets closed) until the listener's
 * hold file exists or the alarm; the parent goes on, never reaping it. */
static void hold_in_child(int fd, const char *comm)
{
	pid_t pid = fork_flushed();

	if (pid != 0)
		return;
	for (int k = 3; k < 1024; k++)
		if (k != fd)
			close(k);
	bound_and_name(comm);
	printf("result=forked pid=%d\n", (int)getpid());
	fflush(stdout);
	if (o.hold_listener_file)
		wait_for_file(o.hold_listener_file);	/* bounded by the alarm */
	else
		pause();	/* until the alarm */
	_exit(0);
}

static int run_server(void)
{
	struct sockaddr_storage sa, la;
	socklen_t len, llen = sizeof(la);
	int fam, lfd, one = 1, v6only = !o.dual_stack, i;
	char text[64];

	fam = parse_addr(o.addr, o.port, &sa, &len);
	lfd = socket(fam, SOCK_STREAM, 0);
	if (lfd < 0) {
		fprintf(stderr, "tcpdrive: socket: %s\n", strerror(errno));
		return 1;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fam == AF_INET6)
		setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	if (o.fastopen) {
		int qlen = 16;

		if (setsockopt(lfd, IPPROTO_TCP, TCP_FASTOPEN, &qlen, sizeof(qlen))) {
			fprintf(stderr, "tcpdrive: TCP_FASTOPEN: %s\n", strerror(errno));
			return 1;
		}
	}
	if (o.reuseport > 1)
		setsockopt(lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, len) || listen(lfd, o.backlog)) {
		fprintf(stderr, "tcpdrive: bind/listen %s port %d: %s\n", o.addr, o.port,
			strerror(errno));
		return 1;
	}
	/* the group's other sockets, held open until the process ends */
	for (i = 1; i < o.reuseport; i++) {
		int fd = socket(fam, SOCK_STREAM, 0);

		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
		    (fam == AF_INET6 &&
		     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only))) ||
		    bind(fd, (struct sockaddr *)&sa, len) || listen(fd, o.backlog)) {
			fprintf(stderr, "tcpdrive: SO_REUSEPORT listener %d: %s\n", i + 1,
				strerror(errno));
			return 1;
		}
	}
	getsockname(lfd, (struct sockaddr *)&la, &llen);
	fmt_addr(&la, text, sizeof(text), &i);
	if (o.ready_file) {
		snprintf(text, sizeof(text), "lport=%d\n", i);
		write_file(o.ready_file, text);
	}
	if (o.daemonize_file) {
		wait_for_file(o.daemonize_file);	/* bounded by the alarm */
		if (leave_to_child(o.daemon_comm))
			return 1;
	}
	if (o.worker_comm) {
		pid_t pid = fork_flushed();
		int status;

		if (pid < 0)
			return 1;
		if (pid > 0) {
			/* the master holds the listener until its worker is done */
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			close(lfd);
			return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
		}
		bound_and_name(o.worker_comm);
	}
	for (i = 0; !o.no_accept && i < o.accept_n; i++) {
		struct sockaddr_storage peer, self;
		socklen_t plen = sizeof(peer), slen = sizeof(self);
		struct xfer x = {0};
		int fd;

		fd = accept(lfd, (struct sockaddr *)&peer, &plen);
		if (fd < 0) {
			print_result("error", NULL, NULL, NULL, errno);
			return 1;
		}
		getsockname(fd, (struct sockaddr *)&self, &slen);
		finish_conn(fd, NULL, &x);
		print_result(x.err == ECONNRESET ? "reset" : "accepted", &self, &peer, &x, x.err);
		if (o.fork_each_comm)
			hold_in_child(fd, o.fork_each_comm);
	}
	/* never reaped, as a careless forking server leaves its children:
	 * one that exits stays a zombie while this lives */
	for (i = 0; o.share_comm && i < o.share_count; i++) {
		pid_t pid = fork_flushed();

		if (pid < 0)
			return 1;
		if (pid == 0) {
			bound_and_name(o.share_comm);
			printf("result=shared pid=%d\n", (int)getpid());
			fflush(stdout);
			break;	/* a child forks no more */
		}
	}
	if (o.handoff_comm) {
		if (leave_to_child(o.handoff_comm))
			return 1;
		printf("result=handoff pid=%d\n", (int)getpid());
		fflush(stdout);
	}
	if (o.hold_listener_file)
		wait_for_file(o.hold_listener_file);	/* bounded by the alarm */
	else if (o.no_accept)
		pause();	/* until the alarm */
	close(lfd);
	if (o.no_accept)
		print_result("listened", &la, NULL, NULL, 0);
	return 0;
}

static int client_once(void)
{
	struct sockaddr_storage sa, self, src;
	socklen_t len, slen = sizeof(self);
	struct xfer x = {0};
	int fam, fd, err = 0;

	fam = parse_addr(o.addr, o.port, &sa, &len);
	fd = socket(fam, SOCK_STREAM, 0);
	if (fd < 0) {
		fprintf(stderr, "tcpdrive: socket: %s\n", strerror(errno));
		return 1;
	}
	if (o.src || o.lport) {
		socklen_t srclen;
		int one = 1;

		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (o.src) {
			if (parse_addr(o.src, o.lport, &src, &srclen) != fam) {
				fprintf(stderr, "tcpdrive: --bind and --connect families differ\n");
				close(fd);
				return 2;
			}
		} else {
			memset(&src, 0, sizeof(src));
			src.ss_family = (sa_family_t)fam;
			((struct sockaddr_in *)&src)->sin_port = htons((uint16_t)o.lport);
			srclen = len;
		}
		if (bind(fd, (struct sockaddr *)&src, srclen)) {
			fprintf(stderr, "tcpdrive: bind: %s\n", strerror(errno));
			close(fd);
			return 1;
		}
	}
	/* Blocking connect: the caller's alarm bounds it; the kernel's SYN
	 * retries decide refused/timeout. With --fastopen the first bytes go
	 * with the connect (in the SYN when a cookie is cached). */
	if (o.fastopen) {
		static char first[1000];
		size_t n = o.send_bytes < (long long)sizeof(first) ? (size_t)o.send_bytes :
								      sizeof(first);
		ssize_t w;

		memset(first, 'x', sizeof(first));
		while ((w = sendto(fd, first, n, MSG_FASTOPEN | MSG_NOSIGNAL,
				   (struct sockaddr *)&sa, len)) < 0 && errno == EINTR)
			;
		if (w < 0)
			err = errno;
		else
			x.sent = w;
	} else {
		while (connect(fd, (struct sockaddr *)&sa, len)) {
			if (errno == EINTR)
				continue;
			err = errno;
			break;
		}
	}
	getsockname(fd, (struct sockaddr *)&self, &slen);
	if (err) {
		const char *r = err == ECONNREFUSED ? "refused" :
				err == ETIMEDOUT ? "timeout" :
				err == EHOSTUNREACH || err == ENETUNREACH ? "unreachable" : "error";

		print_result(r, &self, &sa, NULL, err);
		close(fd);
		return 1;
	}
	if (o.user_timeout_ms) {
		unsigned int ms = (unsigned int)o.user_timeout_ms;

		if (setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms))) {
			fprintf(stderr, "tcpdrive: TCP_USER_TIMEOUT: %s\n", strerror(errno));
			close(fd);
			return 1;
		}
	}
	if (o.send_after_file)
		wait_for_file(o.send_after_file);	/* bounded by the alarm */
	if (o.cork && setsockopt(fd, IPPROTO_TCP, TCP_CORK, &(int){ 1 }, sizeof(int))) {
		fprintf(stderr, "tcpdrive: TCP_CORK: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	finish_conn(fd, &self, &x);
	print_result(x.err == ECONNRESET ? "reset" : x.err ? "error" : "connected", &self, &sa,
		     &x, x.err);
	return x.err ? 1 : 0;
}

/* --repeat: every connection is closed (and its result printed) before the
 * next connect(), so the kernel sees N strictly sequential lifecycles. */
static int run_client(void)
{
	struct timespec t0;
	int i, failed = 0;

	if (o.repeat == 1) {
		int rc = client_once();

		if (o.hold_exit_file)
			wait_for_file(o.hold_exit_file);	/* bounded by the alarm */
		return rc;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < o.repeat; i++) {
		if (o.rate) {
			/* connection i starts at t0 + i / rate, never earlier */
			long long due = (long long)t0.tv_sec * 1000000000LL + t0.tv_nsec +
					(long long)i * 1000000000LL / o.rate;
			struct timespec ts = { (time_t)(due / 1000000000LL),
					       (long)(due % 1000000000LL) };

			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
		}
		if (client_once())
			failed++;
	}
	printf("result=done count=%d connected=%d failed=%d pid=%d\n", o.repeat,
	       o.repeat - failed, failed, (int)getpid());
	fflush(stdout);
	if (o.hold_exit_file)
		wait_for_file(o.hold_exit_file);	/* bounded by the alarm */
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	enum {
		O_BIND = 256, O_CONNECT, O_PORT, O_LPORT, O_ACCEPT, O_CLOSE_FIRST,
		O_WAIT_EOF, O_SHUT_WR, O_SEND, O_RECV, O_LINGER0, O_NO_CLOSE,
		O_DELAY, O_CLOSE_AT, O_COMM, O_READY, O_HOLD, O_TIMEOUT, O_REPEAT,
		O_RATE, O_BACKLOG, O_NO_ACCEPT, O_HOLD_LISTENER, O_HOLD_EXIT, O_WORKER_COMM, O_HANDOFF_COMM,
		O_SHARE_COMM, O_SHARE_COUNT, O_FORK_EACH_COMM, O_REUSEPORT, O_DUAL_STACK,
		O_SEND_AFTER, O_USER_TIMEOUT, O_FASTOPEN, O_CORK, O_DAEMONIZE, O_DAEMON_COMM,
	};
	static const struct option lo[] = {
		{ "bind", required_argument, 0, O_BIND },
		{ "connect", required_argument, 0, O_CONNECT },
		{ "port", required_argument, 0, O_PORT },
		{ "lport", required_argument, 0, O_LPORT },
		{ "accept", required_argument, 0, O_ACCEPT },
		{ "close-first", no_argument, 0, O_CLOSE_FIRST },
		{ "wait-eof", no_argument, 0, O_WAIT_EOF },
		{ "shutdown-wr", no_argument, 0, O_SHUT_WR },
		{ "send", required_argument, 0, O_SEND },
		{ "recv", required_argument, 0, O_RECV },
		{ "linger0", no_argument, 0, O_LINGER0 },
		{ "no-close", no_argument, 0, O_NO_CLOSE },
		{ "delay-close-ms", required_argument, 0, O_DELAY },
		{ "close-at-ns", required_argument, 0, O_CLOSE_AT },
		{ "comm", required_argument, 0, O_COMM },
		{ "ready-file", required_argument, 0, O_READY },
		{ "hold-until-file", required_argument, 0, O_HOLD },
		{ "timeout-ms", required_argument, 0, O_TIMEOUT },
		{ "repeat", required_argument, 0, O_REPEAT },
		{ "rate", required_argument, 0, O_RATE },
		{ "backlog", required_argument, 0, O_BACKLOG },
		{ "no-accept", no_argument, 0, O_NO_ACCEPT },
		{ "hold-listener-file", required_argument, 0, O_HOLD_LISTENER },
		{ "hold-exit-file", required_argument, 0, O_HOLD_EXIT },
		{ "worker-comm", required_argument, 0, O_WORKER_COMM },
		{ "handoff-comm", required_argument, 0, O_HANDOFF_COMM },
		{ "share-comm", required_argument, 0, O_SHARE_COMM },
		{ "share-count", required_argument, 0, O_SHARE_COUNT },
		{ "reuseport", required_argument, 0, O_REUSEPORT },
		{ "dual-stack", no_argument, 0, O_DUAL_STACK },
		{ "fork-each-comm", required_argument, 0, O_FORK_EACH_COMM },
		{ "send-after-file", required_argument, 0, O_SEND_AFTER },
		{ "cork", no_argument, 0, O_CORK },
		{ "user-timeout-ms", required_argument, 0, O_USER_TIMEOUT },
		{ "fastopen", no_argument, 0, O_FASTOPEN },
		{ "daemonize-on-file", required_argument, 0, O_DAEMONIZE },
		{ "daemon-comm", required_argument, 0, O_DAEMON_COMM },
		{ 0 },
	};
	int c;

	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "server"))
		o.is_server = 1;
	else if (strcmp(argv[1], "client"))
		usage();
	optind = 2;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case O_BIND:
			if (o.is_server)
				o.addr = optarg;
			else
				o.src = optarg;
			break;
		case O_CONNECT: o.addr = optarg; break;
		case O_PORT: o.port = (int)parse_num("--port", optarg, 0, 65535); break;
		case O_LPORT: o.lport = (int)parse_num("--lport", optarg, 0, 65535); break;
		case O_ACCEPT: o.accept_n = (int)parse_num("--accept", optarg, 0, 100000); break;
		case O_CLOSE_FIRST: o.mode = CLOSE_FIRST; break;
		case O_WAIT_EOF: o.mode = WAIT_EOF; break;
		case O_SHUT_WR: o.shutdown_wr = 1; break;
		case O_SEND: o.send_bytes = parse_num("--send", optarg, 0, MAX_BYTES); break;
		case O_RECV: o.recv_bytes = parse_num("--recv", optarg, 0, MAX_BYTES); break;
		case O_LINGER0: o.linger0 = 1; break;
		case O_NO_CLOSE: o.no_close = 1; break;
		case O_DELAY: o.delay_close_ms = (long)parse_num("--delay-close-ms", optarg, 0, 600000); break;
		case O_CLOSE_AT: o.close_at_ns = parse_num("--close-at-ns", optarg, 1, INT64_MAX); break;
		case O_COMM: o.comm = optarg; break;
		case O_READY: o.ready_file = optarg; break;
		case O_HOLD: o.hold_file = optarg; break;
		case O_TIMEOUT: o.timeout_ms = (long)parse_num("--timeout-ms", optarg, 1, 600000); break;
		case O_REPEAT: o.repeat = (int)parse_num("--repeat", optarg, 1, 100000); break;
		case O_RATE: o.rate = (long)parse_num("--rate", optarg, 1, 1000000); break;
		case O_BACKLOG: o.backlog = (int)parse_num("--backlog", optarg, 0, 65535); break;
		case O_NO_ACCEPT: o.no_accept = 1; break;
		case O_HOLD_LISTENER: o.hold_listener_file = optarg; break;
		case O_HOLD_EXIT: o.hold_exit_file = optarg; break;
		case O_SEND_AFTER: o.send_after_file = optarg; break;
		case O_CORK: o.cork = 1; break;
		case O_FASTOPEN: o.fastopen = 1; break;
		case O_DAEMONIZE: o.daemonize_file = optarg; break;
		case O_DAEMON_COMM: o.daemon_comm = optarg; break;
		case O_USER_TIMEOUT:
			o.user_timeout_ms = parse_num("--user-timeout-ms", optarg, 1, 600000);
			break;
		case O_WORKER_COMM: o.worker_comm = optarg; break;
		case O_HANDOFF_COMM: o.handoff_comm = optarg; break;
		case O_SHARE_COMM: o.share_comm = optarg; break;
		case O_DUAL_STACK: o.dual_stack = 1; break;
		case O_REUSEPORT:
			o.reuseport = (int)parse_num("--reuseport", optarg, 1, 64);
			break;
		case O_SHARE_COUNT:
			o.share_count = (int)parse_num("--share-count", optarg, 1, 64);
			break;
		case O_FORK_EACH_COMM: o.fork_each_comm = optarg; break;
		default: usage();
		}
	}
	if (optind != argc || !o.addr || (!o.is_server && !o.port))
		usage();
	/* a fixed local port cannot be reused while the last one is in
	 * TIME_WAIT, and --no-close would pile up open sockets */
	if (o.repeat > 1 && (o.is_server || o.lport || o.no_close))
		usage();
	/* server-only and repeat-only options */
	if ((o.rate && (o.is_server || o.repeat == 1)) ||
	    (!o.is_server && (o.no_accept || o.hold_listener_file || o.backlog != 16 ||
			      o.worker_comm || o.handoff_comm || o.share_comm ||
			      o.share_count != 1 || o.fork_each_comm)) ||
	    (o.share_count != 1 && !o.share_comm) ||
	    (o.reuseport != 1 && (!o.is_server || !o.no_accept)) ||
	    (o.dual_stack && !o.is_server) ||
	    (o.is_server && o.hold_exit_file))
		usage();

	/* The hard bound on everything this process does. */
	signal(SIGALRM, tool_on_alarm);
	signal(SIGPIPE, SIG_IGN);
	bound_and_name(o.comm);
	setvbuf(stdout, NULL, _IOLBF, 0);
	return o.is_server ? run_server() : run_client();
}
