// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* churn: the benchmark's TCP connection-churn load generator. An epoll server
 * and N blocking connector threads open and close connections as fast as they
 * can for a fixed time; optionally K idle connections are held open meanwhile.
 * Prints one JSON line. Every phase is bounded in time (and a hard alarm).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTORS	1024
#define MAX_SERVERS	64
#define MAX_ADDRS	256
#define MAX_PAYLOAD	(16 << 20)
#define MAX_HOLD	1000000L
#define MAX_HOLDERS	256
#define HOLDER_MAX_CONNS 50000L	/* per holder process, even with a huge fd limit */
#define LISTEN_BACKLOG	4096
#define HOLD_BUDGET_S	180	/* opening the held connections */
#define DRAIN_BUDGET_S	30	/* closing what is left */

enum mode { CLIENT_FIRST, SERVER_FIRST, RESET };
enum role { ROLE_BOTH, ROLE_CLIENT, ROLE_SERVER };

static const char *const mode_names[] = { "client-first", "server-first", "reset" };
static const char *const role_names[] = { "both", "client", "server" };

static struct cfg {
	enum mode mode;
	enum role role;
	int nconn;
	double duration_s;
	long payload;
	long hold;
	struct in_addr addr;
	int naddrs;
	int port;
	int nserv;
	long max_inflight;
	const char *ready_file;
	double settle_s;
	long rate;	/* connections a second, all connectors together; 0: as fast as they can */
} cfg = {
	.mode = CLIENT_FIRST,
	.role = ROLE_BOTH,
	.nconn = 4,
	.duration_s = 10,
	.naddrs = -1,
	.port = 1000,
	.max_inflight = 1024,
};

/* Counters shared by the threads. "connected" counts the successful
 * connect()s of churn connections (each then has a full lifecycle, which is
 * what a tracer must account for); "completed" those that also ended without
 * an error on the client side. */
static atomic_long connected, completed, errors;
static atomic_long srv_accepted, srv_closed;
static atomic_int stop_clients, stop_servers;
static volatile sig_atomic_t interrupted;

static char *payload_buf;
static struct sockaddr_in dsts[MAX_ADDRS];
static uint32_t *srv_got;	/* bytes read so far, by server fd (server-first mode) */
static long srv_got_len;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void on_alarm(int sig)
{
	static const char msg[] = "churn: hard time limit reached, giving up\n";

	(void)sig;
	/* async-signal-safe: write(2) and _exit(2) only */
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing left to do */
	}
	_exit(3);
}

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: churn [--mode client-first|server-first|reset] [--conns-parallel N]\n"
		"             [--duration S] [--payload BYTES] [--hold K] [--addr A] [--addrs M]\n"
		"             [--port P] [--server-threads T] [--max-inflight N]\n"
		"             [--role both|client|server] [--rate R]\n"
		"\n"
		"Opens and closes TCP connections for S seconds with N connector threads\n"
		"and an epoll server, then prints one JSON line:\n"
		"  {\"conns\":...,\"conns_per_s\":...,\"errors\":...,\"duration_s\":...,...}\n"
		"\n"
		"  --mode M        who closes first: the client (default), the server, or\n"
		"                  the client with a reset (SO_LINGER 0)\n"
		"  --conns-parallel N  connector threads (default 4)\n"
		"  --duration S    seconds of churn (default 10; fractions allowed)\n"
		"  --payload B     bytes the client sends on each connection (default 0)\n"
		"  --hold K        first open K idle connections and keep them open during\n"
		"                  the churn (in helper processes, on ports P+1...; each holds\n"
		"                  both ends, so the fd limit is per process); closed\n"
		"                  client-first at the end\n"
		"  --addr A        server address (default 127.77.0.1); with a 127/8 address\n"
		"  --addrs M       M consecutive addresses from A are used in turn (default 16\n"
		"                  on loopback, else 1) to spread the 4-tuples\n"
		"  --port P        churn port (default 1000)\n"
		"  --server-threads T  epoll server threads (default: online CPUs)\n"
		"  --max-inflight N    connections the server has not closed yet before the\n"
		"                  connectors pause (default 1024: keeps the accept queue short)\n"
		"  --ready-file F  create F once the held connections are open, before the churn\n"
		"  --settle S      then wait S seconds (lets a tracer settle; default 0)\n"
		"  --rate R        open R connections a second in all, evenly paced, instead\n"
		"                  of as many as the connectors can (a host's steady load)\n"
		"  --role R        both (default), or split over two namespaces (e.g. a veth\n"
		"                  pair): server (listens on 0.0.0.0:P until SIGINT/SIGTERM or\n"
		"                  --duration) and client (--addr the server)\n"
		"\n"
		"Run it in a fresh network namespace with net.ipv4.tcp_tw_reuse=1 and a wide\n"
		"net.ipv4.ip_local_port_range above P: client-first closes leave TIME_WAIT.\n"
		"Counts: conns = connections completed; connected = connect()s that succeeded\n"
		"(each a full lifecycle); errors = failed connects, reads or writes.\n");
}

/* parse_long: errno-checked strtol with an end-pointer and range check */
static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "conns-parallel", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'd' },
		{ "payload", required_argument, NULL, 'b' },
		{ "hold", required_argument, NULL, 'k' },
		{ "addr", required_argument, NULL, 'a' },
		{ "addrs", required_argument, NULL, 'A' },
		{ "port", required_argument, NULL, 'p' },
		{ "server-threads", required_argument, NULL, 's' },
		{ "max-inflight", required_argument, NULL, 'i' },
		{ "role", required_argument, NULL, 'r' },
		{ "ready-file", required_argument, NULL, 'R' },
		{ "settle", required_argument, NULL, 'S' },
		{ "rate", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c, i, li = -1;
	long v;

	while ((c = getopt_long(argc, argv, "h", longopts, &li)) != -1) {
		switch (c) {
		case 'm':
			for (i = 0; i < 3 && strcmp(optarg, mode_names[i]); i++)
				;
			if (i == 3)
				goto bad;
			cfg.mode = i;
			break;
		case 'r':
			for (i = 0; i < 3 && strcmp(optarg, role_names[i]); i++)
				;
			if (i == 3)
				goto bad;
			cfg.role = i;
			break;
		case 'n':
			if (parse_long(optarg, 1, MAX_CONNECTORS, &v))
				goto bad;
			cfg.nconn = v;
			break;
		case 'd': {
			char *end;

			errno = 0;
			cfg.duration_s = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(cfg.duration_s > 0) ||
			    cfg.duration_s > 86400)
				goto bad;
			break;
		}
		case 'b':
			if (parse_long(optarg, 0, MAX_PAYLOAD, &cfg.payload))
				goto bad;
			break;
		case 'k':
			if (parse_long(optarg, 0, MAX_HOLD, &cfg.hold))
				goto bad;
			break;
		case 'a':
			if (inet_pton(AF_INET, optarg, &cfg.addr) != 1)
				goto bad;
			break;
		case 'A':
			if (parse_long(optarg, 1, MAX_ADDRS, &v))
				goto bad;
			cfg.naddrs = v;
			break;
		case 'p':
			/* P+1... carry the held connections */
			if (parse_long(optarg, 1, 65535 - MAX_HOLDERS, &v))
				goto bad;
			cfg.port = v;
			break;
		case 's':
			if (parse_long(optarg, 1, MAX_SERVERS, &v))
				goto bad;
			cfg.nserv = v;
			break;
		case 'i':
			if (parse_long(optarg, 1, 1 << 20, &cfg.max_inflight))
				goto bad;
			break;
		case 'R':
			cfg.ready_file = optarg;
			break;
		case 't':
			if (parse_long(optarg, 1, 10000000, &cfg.rate))
				goto bad;
			break;
		case 'S': {
			char *end;

			errno = 0;
			cfg.settle_s = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(cfg.settle_s >= 0) || cfg.settle_s > 600)
				goto bad;
			break;
		}
		case 'h':
			usage(stdout);
			exit(0);
		default:
			fprintf(stderr, "churn: unknown option (see --help)\n");
			exit(2);
		}
		li = -1;
	}
	if (optind != argc) {
		fprintf(stderr, "churn: unexpected argument '%s'\n", argv[optind]);
		exit(2);
	}
	if (cfg.hold && cfg.role != ROLE_BOTH) {
		fprintf(stderr, "churn: --hold needs --role both\n");
		exit(2);
	}
	return;
bad:
	fprintf(stderr, "churn: bad value for --%s: '%s'\n", li >= 0 ? longopts[li].name : "?",
		optarg);
	exit(2);
}

/* raise_nofile: the soft fd limit up to the hard one (raising the hard limit
 * needs CAP_SYS_RESOURCE, which containers often lack: the held connections
 * are spread over processes instead). Returns the limit now in force. */
static long raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1UL << 30) ? 1L << 30 :
										  (long)rl.rlim_cur;
}

static int make_listener(int port, int reuseport, int nonblock)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd, one = 1, err;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return -errno;
	/* 0.0.0.0: every address of the namespace, so --addrs can spread */
	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one))) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, LISTEN_BACKLOG)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* ---- server ---------------------------------------------------------------- */

#define TAG_LISTEN	1ULL
#define TAG_CONN	2ULL

struct server {
	pthread_t thr;
	int ep;
	int lfd;	/* this thread's own SO_REUSEPORT listener */
};

static struct server servers[MAX_SERVERS];

static int ep_add(int ep, int fd, uint64_t tag)
{
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLRDHUP,
		.data.u64 = (tag << 32) | (uint32_t)fd,
	};

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static void srv_close(int fd)
{
	close(fd);
	atomic_fetch_add_explicit(&srv_closed, 1, memory_order_relaxed);
}

/* srv_io: read what there is; returns 1 once the connection is closed. The
 * server closes on EOF or error (a reset), and in server-first mode as soon
 * as the client's payload is in (closing with unread data would send a RST). */
static int srv_io(int fd, char *buf, size_t len)
{
	int count = cfg.mode == SERVER_FIRST && fd < srv_got_len;

	for (;;) {
		ssize_t n;

		if (count && srv_got[fd] >= cfg.payload) {
			srv_close(fd);
			return 1;
		}
		n = read(fd, buf, len);
		if (n > 0) {
			if (count)
				srv_got[fd] += n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		srv_close(fd);
		return 1;
	}
}

static void *server_main(void *arg)
{
	static __thread char buf[65536];
	struct server *s = arg;
	struct epoll_event evs[256];

	while (!atomic_load(&stop_servers)) {
		int n = epoll_wait(s->ep, evs, 256, 50);

		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64 >> 32;
			int fd = (int)(uint32_t)evs[i].data.u64, c;

			if (tag != TAG_LISTEN) {
				srv_io(fd, buf, sizeof(buf));
				continue;
			}
			while ((c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
				atomic_fetch_add_explicit(&srv_accepted, 1, memory_order_relaxed);
				if (c < srv_got_len)
					srv_got[c] = 0;
				/* the client's FIN (and payload) is often in
				 * already: try before paying for epoll_ctl */
				if (srv_io(c, buf, sizeof(buf)))
					continue;
				if (ep_add(s->ep, c, TAG_CONN)) {
					atomic_fetch_add(&errors, 1);
					srv_close(c);
				}
			}
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
				/* EMFILE and the like: back off, do not spin */
				atomic_fetch_add(&errors, 1);
				sleep_ms(1);
			}
		}
	}
	return NULL;
}

static int start_servers(void)
{
	int err;

	for (int i = 0; i < cfg.nserv; i++) {
		struct server *s = &servers[i];

		s->ep = epoll_create1(EPOLL_CLOEXEC);
		if (s->ep < 0)
			return -errno;
		s->lfd = make_listener(cfg.port, 1, 1);
		if (s->lfd < 0) {
			fprintf(stderr, "churn: failed to listen on port %d: %s\n", cfg.port,
				strerror(-s->lfd));
			return s->lfd;
		}
		err = ep_add(s->ep, s->lfd, TAG_LISTEN);
		if (err)
			return err;
		err = pthread_create(&s->thr, NULL, server_main, s);
		if (err)
			return -err;
	}
	return 0;
}

static void stop_all_servers(void)
{
	atomic_store(&stop_servers, 1);
	for (int i = 0; i < cfg.nserv; i++) {
		pthread_join(servers[i].thr, NULL);
		close(servers[i].lfd);
		close(servers[i].ep);
	}
}

/* ---- clients --------------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* one_conn: a whole client-side lifecycle; 0 when it completed */
static int one_conn(const struct sockaddr_in *dst)
{
	/* bounded connect and read: a dropped SYN must not hang the run */
	struct timeval tmo = { .tv_sec = 2 };
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	char buf[4096];
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo))) {
		err = -errno;
		close(fd);
		return err;
	}
	if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst))) {
		err = -errno;
		close(fd);
		return err;
	}
	atomic_fetch_add_explicit(&connected, 1, memory_order_relaxed);
	if (cfg.payload)
		err = write_all(fd, payload_buf, cfg.payload);
	if (!err && cfg.mode == SERVER_FIRST) {
		/* wait for the server's FIN, then close second */
		if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo)))
			err = -errno;
		while (!err) {
			ssize_t n = read(fd, buf, sizeof(buf));

			if (n == 0)
				break;
			if (n < 0 && errno != EINTR)
				err = -errno;
		}
	}
	if (cfg.mode == RESET && setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) && !err)
		err = -errno;
	close(fd);
	return err;
}

struct connector {
	pthread_t thr;
	int idx;
};

static struct connector connectors[MAX_CONNECTORS];

/* pace: with --rate, wait for this connector's next slot. The connectors'
 * slots interleave, so the load is even rather than in bursts; a connector
 * that fell more than a second behind starts afresh instead of catching up
 * in a burst. */
static void pace(struct timespec *next, long interval_ns)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec > next->tv_sec + 1)
		*next = now;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL) == EINTR &&
	       !atomic_load_explicit(&stop_clients, memory_order_relaxed))
		;
	next->tv_nsec += interval_ns;
	next->tv_sec += next->tv_nsec / 1000000000L;
	next->tv_nsec %= 1000000000L;
}

static void *connector_main(void *arg)
{
	struct connector *c = arg;
	unsigned int k = c->idx;
	long interval_ns = cfg.rate ? (long)(1e9 * cfg.nconn / cfg.rate) : 0;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	next.tv_nsec += interval_ns / cfg.nconn * c->idx;
	next.tv_sec += next.tv_nsec / 1000000000L;
	next.tv_nsec %= 1000000000L;
	while (!atomic_load_explicit(&stop_clients, memory_order_relaxed)) {
		int err;

		if (interval_ns)
			pace(&next, interval_ns);

		/* open loop with a cap: if the server falls behind, wait
		 * rather than overflow its accept queue (a dropped SYN costs
		 * a 1 s retransmit timeout and would dominate the rate) */
		while (cfg.role == ROLE_BOTH &&
		       atomic_load_explicit(&connected, memory_order_relaxed) -
				       atomic_load_explicit(&srv_closed, memory_order_relaxed) >
			       cfg.max_inflight &&
		       !atomic_load_explicit(&stop_clients, memory_order_relaxed)) {
			struct timespec ts = { 0, 100000 };

			nanosleep(&ts, NULL);
		}
		err = one_conn(&dsts[k % cfg.naddrs]);
		k += cfg.nconn;
		if (err) {
			atomic_fetch_add_explicit(&errors, 1, memory_order_relaxed);
			if (err == -EADDRNOTAVAIL || err == -ECONNREFUSED)
				sleep_ms(1); /* out of ports, or no server: do not spin */
		} else {
			atomic_fetch_add_explicit(&completed, 1, memory_order_relaxed);
		}
	}
	return NULL;
}

/* ---- held connections ---------------------------------------------------------
 * Each holder is a child process with its own listener on port P+1+i that
 * holds both ends of up to HOLDER_MAX_CONNS idle connections: one process's
 * fd limit (2 per connection) is not enough for 100k of them. */

struct hold_report {
	long opened;
	long errors;
	long closed;
};

struct holder {
	pid_t pid;
	int ctl;	/* write end: closing it tells the holder to close all */
	int rep;	/* read end of its reports */
	struct hold_report r;
};

static struct holder holders[MAX_HOLDERS];
static int nholders;

static int write_report(int fd, const struct hold_report *r)
{
	return write(fd, r, sizeof(*r)) == (ssize_t)sizeof(*r) ? 0 : -EIO;
}

static void holder_main(int idx, long n, int ctl, int rep)
{
	struct hold_report r = {};
	struct timeval tmo = { .tv_sec = 2 };
	int port = cfg.port + 1 + idx, lfd;
	int *cfds, *sfds;
	char c;

	alarm(HOLD_BUDGET_S + (unsigned int)(cfg.duration_s + cfg.settle_s) + 2 * DRAIN_BUDGET_S + 60);
	signal(SIGINT, SIG_IGN); /* the parent decides when we close */
	signal(SIGTERM, SIG_DFL);
	cfds = calloc(n, sizeof(*cfds));
	sfds = calloc(n, sizeof(*sfds));
	lfd = make_listener(port, 0, 0);
	if (!cfds || !sfds || lfd < 0) {
		fprintf(stderr, "churn: holder %d: cannot listen on port %d: %s\n", idx, port,
			lfd < 0 ? strerror(-lfd) : "out of memory");
		r.errors = n;
		write_report(rep, &r);
		_exit(1);
	}
	for (long i = 0; i < n; i++) {
		struct sockaddr_in dst = dsts[i % cfg.naddrs];
		int cfd, sfd;

		dst.sin_port = htons(port);
		cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (cfd < 0) {
			r.errors += n - i; /* out of fds: the rest would fail too */
			break;
		}
		setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
		if (connect(cfd, (struct sockaddr *)&dst, sizeof(dst))) {
			r.errors++;
			close(cfd);
			continue;
		}
		/* the connection is in the queue already: accept at once */
		sfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (sfd < 0) {
			r.errors++;
			close(cfd);
			continue;
		}
		/* bounded wait for the client's FIN at the end */
		setsockopt(sfd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
		cfds[r.opened] = cfd;
		sfds[r.opened] = sfd;
		r.opened++;
	}
	write_report(rep, &r);

	/* hold until the parent closes ctl (or dies) */
	while (read(ctl, &c, 1) < 0 && errno == EINTR)
		;
	/* client first, like a churn connection: FIN, ACK, then the
	 * server's side reads EOF and closes */
	for (long i = 0; i < r.opened; i++)
		close(cfds[i]);
	for (long i = 0; i < r.opened; i++) {
		char buf[256];
		ssize_t got;

		while ((got = read(sfds[i], buf, sizeof(buf))) > 0)
			;
		close(sfds[i]);
		r.closed++;
	}
	close(lfd);
	write_report(rep, &r);
	_exit(0);
}

/* read_reports: one report from every holder, within budget_s */
static int read_reports(double budget_s)
{
	double deadline = now_s() + budget_s;
	int missing = 0;

	for (int i = 0; i < nholders; i++) {
		struct holder *h = &holders[i];
		struct pollfd pfd = { .fd = h->rep, .events = POLLIN };
		double left = deadline - now_s();
		int ms = left > 0 ? (int)(left * 1000) : 0;

		if (poll(&pfd, 1, ms) != 1 || read(h->rep, &h->r, sizeof(h->r)) != sizeof(h->r)) {
			missing++;
			h->r.errors = -1;
		}
	}
	return missing ? -ETIMEDOUT : 0;
}

static int start_holders(long nofile)
{
	long per = (nofile - 256) / 2;

	if (per > HOLDER_MAX_CONNS)
		per = HOLDER_MAX_CONNS;
	if (per < 1)
		return -EMFILE;
	nholders = (cfg.hold + per - 1) / per;
	if (nholders > MAX_HOLDERS)
		return -E2BIG;
	/* even shares, so the holders finish together */
	per = (cfg.hold + nholders - 1) / nholders;
	for (int i = 0; i < nholders; i++) {
		long n = cfg.hold - (long)i * per < per ? cfg.hold - (long)i * per : per;
		int ctl[2], rep[2];
		pid_t pid;

		if (pipe2(ctl, O_CLOEXEC) || pipe2(rep, O_CLOEXEC))
			return -errno;
		fflush(NULL);
		pid = fork();
		if (pid < 0)
			return -errno;
		if (pid == 0) {
			/* a holder keeps only its own pipes */
			for (int j = 0; j < i; j++) {
				close(holders[j].ctl);
				close(holders[j].rep);
			}
			close(ctl[1]);
			close(rep[0]);
			holder_main(i, n, ctl[0], rep[1]);
		}
		close(ctl[0]);
		close(rep[1]);
		holders[i] = (struct holder){ .pid = pid, .ctl = ctl[1], .rep = rep[0] };
	}
	return 0;
}

static long holders_sum(size_t off)
{
	long sum = 0;

	for (int i = 0; i < nholders; i++) {
		long v = *(long *)((char *)&holders[i].r + off);

		sum += v > 0 ? v : 0;
	}
	return sum;
}

/* stop_holders: let them close everything, then reap them (bounded) */
static int stop_holders(void)
{
	double deadline;
	int err, left;

	for (int i = 0; i < nholders; i++)
		close(holders[i].ctl);
	err = read_reports(DRAIN_BUDGET_S);
	deadline = now_s() + 5;
	do {
		left = 0;
		for (int i = 0; i < nholders; i++) {
			if (holders[i].pid > 0 && waitpid(holders[i].pid, NULL, WNOHANG) == 0)
				left++;
			else
				holders[i].pid = 0;
		}
		if (left)
			sleep_ms(10);
	} while (left && now_s() < deadline);
	for (int i = 0; i < nholders; i++) {
		if (holders[i].pid > 0) {
			kill(holders[i].pid, SIGKILL);
			waitpid(holders[i].pid, NULL, 0);
		}
		close(holders[i].rep);
	}
	return err;
}

/* ---- main ------------------------------------------------------------------ */

static int wait_counts(atomic_long *a, long target, double budget_s)
{
	double deadline = now_s() + budget_s;

	while (atomic_load(a) < target) {
		if (now_s() > deadline)
			return -ETIMEDOUT;
		sleep_ms(10);
	}
	return 0;
}

static void sleep_until(double t)
{
	while (!interrupted) {
		double left = t - now_s();

		if (left <= 0)
			break;
		sleep_ms(left > 0.01 ? 10 : (long)(left * 1000) + 1);
	}
}

int main(int argc, char **argv)
{
	double t_hold0, t_hold1, t0, t1;
	long nofile, hold_opened = 0, hold_errors = 0, hold_closed = 0;
	int err, drained = 1;

	parse_args(argc, argv);
	if (!cfg.addr.s_addr)
		inet_pton(AF_INET, "127.77.0.1", &cfg.addr);
	if (cfg.naddrs < 0)
		cfg.naddrs = (ntohl(cfg.addr.s_addr) >> 24) == 127 ? 16 : 1;
	if (!cfg.nserv) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		cfg.nserv = n < 1 ? 1 : n > MAX_SERVERS ? MAX_SERVERS : n;
	}
	for (int i = 0; i < cfg.naddrs; i++) {
		dsts[i].sin_family = AF_INET;
		dsts[i].sin_port = htons(cfg.port);
		dsts[i].sin_addr.s_addr = htonl(ntohl(cfg.addr.s_addr) + i);
	}

	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* the hard limit: generous, but a hung run cannot outlive the driver */
	signal(SIGALRM, on_alarm);
	if (cfg.role != ROLE_SERVER)
		alarm((unsigned int)(cfg.duration_s + cfg.settle_s) + HOLD_BUDGET_S + 2 * DRAIN_BUDGET_S + 60);

	nofile = raise_nofile();
	if (nofile < 2 * cfg.max_inflight + cfg.nconn + 256) {
		fprintf(stderr, "churn: the fd limit (%ld) is too low for --max-inflight %ld\n",
			nofile, cfg.max_inflight);
		return 1;
	}
	srv_got_len = nofile < (1L << 22) ? nofile : 1L << 22;
	srv_got = calloc(srv_got_len, sizeof(*srv_got));
	payload_buf = malloc(cfg.payload ? cfg.payload : 1);
	if (!srv_got || !payload_buf) {
		fprintf(stderr, "churn: out of memory\n");
		return 1;
	}
	memset(payload_buf, 'x', cfg.payload ? cfg.payload : 1);

	/* fork the holders first: no threads exist yet */
	t_hold0 = now_s();
	if (cfg.hold) {
		err = start_holders(nofile);
		if (err) {
			fprintf(stderr, "churn: failed to start the holders: %s\n", strerror(-err));
			return 1;
		}
	}
	if (cfg.role != ROLE_CLIENT) {
		err = start_servers();
		if (err) {
			fprintf(stderr, "churn: failed to start the server: %s\n", strerror(-err));
			return 1;
		}
	}
	if (cfg.role == ROLE_SERVER) {
		/* serve until told to stop, or for --duration */
		t0 = now_s();
		sleep_until(t0 + cfg.duration_s);
		stop_all_servers();
		printf("{\"role\":\"server\",\"mode\":\"%s\",\"accepted\":%ld,\"closed\":%ld,"
		       "\"errors\":%ld,\"duration_s\":%.3f}\n",
		       mode_names[cfg.mode], atomic_load(&srv_accepted), atomic_load(&srv_closed),
		       atomic_load(&errors), now_s() - t0);
		return 0;
	}
	if (cfg.hold) {
		if (read_reports(HOLD_BUDGET_S))
			fprintf(stderr, "churn: a holder did not report in time\n");
		hold_opened = holders_sum(offsetof(struct hold_report, opened));
		hold_errors = holders_sum(offsetof(struct hold_report, errors));
		if (hold_errors)
			fprintf(stderr, "churn: %ld held connections failed to open\n", hold_errors);
	}
	t_hold1 = now_s();
	if (cfg.ready_file) {
		int fd = open(cfg.ready_file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		if (fd < 0) {
			fprintf(stderr, "churn: cannot create %s: %s\n", cfg.ready_file, strerror(errno));
			return 1;
		}
		close(fd);
	}
	if (cfg.settle_s > 0)
		sleep_until(now_s() + cfg.settle_s);

	t0 = now_s();
	for (int i = 0; i < cfg.nconn; i++) {
		connectors[i].idx = i;
		err = pthread_create(&connectors[i].thr, NULL, connector_main, &connectors[i]);
		if (err) {
			fprintf(stderr, "churn: failed to start connector %d: %s\n", i, strerror(err));
			cfg.nconn = i;
			break;
		}
	}
	sleep_until(t0 + cfg.duration_s);
	atomic_store(&stop_clients, 1);
	/* each connector finishes the connection in hand: all are counted */
	for (int i = 0; i < cfg.nconn; i++)
		pthread_join(connectors[i].thr, NULL);
	t1 = now_s();

	if (cfg.hold) {
		if (stop_holders()) {
			drained = 0;
			fprintf(stderr, "churn: a holder did not finish closing in time\n");
		}
		hold_closed = holders_sum(offsetof(struct hold_report, closed));
	}
	if (cfg.role == ROLE_BOTH) {
		/* a connection's last transition comes with the server's close:
		 * wait for it, so a tracer can be stopped right after we exit */
		if (wait_counts(&srv_closed, atomic_load(&connected), DRAIN_BUDGET_S)) {
			drained = 0;
			fprintf(stderr, "churn: the server closed %ld of %ld connections\n",
				atomic_load(&srv_closed), atomic_load(&connected));
		}
		stop_all_servers();
	}

	printf("{\"mode\":\"%s\",\"conns_parallel\":%d,\"payload\":%ld,\"hold\":%ld,"
	       "\"hold_opened\":%ld,\"hold_closed\":%ld,\"hold_errors\":%ld,\"hold_setup_s\":%.3f,"
	       "\"hold_processes\":%d,\"conns\":%ld,\"connected\":%ld,\"conns_per_s\":%.1f,"
	       "\"errors\":%ld,\"duration_s\":%.3f,\"server_accepted\":%ld,\"server_closed\":%ld,"
	       "\"listeners\":%d,\"rate\":%ld,\"drained\":%s,\"interrupted\":%s}\n",
	       mode_names[cfg.mode], cfg.nconn, cfg.payload, cfg.hold, hold_opened, hold_closed,
	       hold_errors, t_hold1 - t_hold0, nholders, atomic_load(&completed),
	       atomic_load(&connected), atomic_load(&completed) / (t1 - t0),
	       atomic_load(&errors), t1 - t0, atomic_load(&srv_accepted),
	       atomic_load(&srv_closed), cfg.role == ROLE_BOTH ? cfg.nserv + nholders : 0,
	       cfg.rate, drained ? "true" : "false", interrupted ? "true" : "false");
	fflush(stdout);
	return drained && !interrupted ? 0 : 1;
}
