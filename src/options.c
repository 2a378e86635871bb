// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Command-line parsing. getopt_long rather than argp: argp's error path
 * prints two lines ("...\nTry `--help'"), and synfin promises operators one
 * line naming the problem and exit code 2.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include "netns_cookie.h"
#include "sockdiag.h"
#include "options.h"

#define CGROUP2_SUPER_MAGIC 0x63677270
#define PID_MAX_LIMIT 4194304

const char *synfin_version = "0.1.0";

static const char usage_text[] =
"Usage: synfin [OPTION...]\n"
"       synfin top [OPTION...]\n"
"Follow every TCP connection on this host from SYN to FIN.\n"
"\n"
"By default synfin prints one row per finished connection: who opened it,\n"
"how the handshake went, who closed it and how, bytes and duration.\n"
"\n"
"  -j, --json             JSON Lines output (one object per line)\n"
"  -e, --events           print every state transition, retransmit and reset\n"
"  -p, --pid PID          only sockets owned by process PID\n"
"  -c, --comm NAME        only sockets owned by a process named NAME (its\n"
"                         COMM, exactly; a longer NAME is cut to the 15\n"
"                         bytes the kernel keeps of a process name)\n"
"  -L, --lport PORTS      only these local ports (e.g. 80,443,8000-8080)\n"
"  -D, --rport PORTS      only these remote ports\n"
"      --laddr ADDRS      only these local addresses or prefixes, IPv4 or\n"
"                         IPv6 (e.g. 10.0.0.0/8,2001:db8::/32,192.0.2.7); an\n"
"                         IPv4 prefix also matches IPv4-mapped IPv6 addresses\n"
"      --raddr ADDRS      only these remote addresses or prefixes\n"
"  -4, --ipv4             only IPv4 sockets (as ss -4)\n"
"  -6, --ipv6             only IPv6 sockets, dual-stack ones' IPv4\n"
"                         connections (::ffff:a.b.c.d) too\n"
"      --netns NS         only network namespace NS (inode or path, e.g.\n"
"                         /run/netns/NAME or /proc/PID/ns/net)\n"
"      --cgroup CG        only cgroup CG (cgroup v2 id or directory path)\n"
"                         and the cgroups below it\n"
"  -u, --uid USER         only sockets of user USER (a uid or a name): the\n"
"                         user that made the socket, or its listener\n"
"  -F, --failed           only connections that failed: handshake refused,\n"
"                         timed out, reset or aborted, or ended by a reset,\n"
"                         a timeout or another error (judged at the close;\n"
"                         the kernel sends no record of an orderly one)\n"
"  -w, --wide             wide text columns (full IPv6 addresses, times)\n"
"  -T, --timestamp        add a time column to the text table\n"
"      --ladder           draw each finished connection as a ladder diagram:\n"
"                         SYN/SYN-ACK/ACK and FIN/ACK with real sequence\n"
"                         numbers, each side's states, with times\n"
"      --ascii            ladders in plain ASCII instead of UTF-8 (ASCII\n"
"                         anyway where the locale is not UTF-8)\n"
"  -o, --output FILE      append the records to FILE instead of standard\n"
"                         output; SIGHUP reopens it (log rotation)\n"
"  -d, --duration SECS    stop after SECS seconds\n"
"      --ringbuf-mb MB    ring buffer size in MiB, a power of 2 (default 4,\n"
"                         8 with --events)\n"
"      --max-conns N      connections tracked at once (default 262144);\n"
"                         at it, a record still goes out; what is lost, and\n"
"                         counted (table_full), is following it further\n"
"      --spill N          connection and TIME_WAIT records kept in kernel\n"
"                         memory while the ring buffer is full, for a burst\n"
"                         of closes or of TIME_WAIT ends (default\n"
"                         131072; 4096 before Linux 6.1, where they are\n"
"                         preallocated; 0 to count them as lost at once)\n"
"      --drain-ms MS      drain the ring buffer every MS ms (default 10); while\n"
"                         nothing comes, less often, down to every 100 ms\n"
"      --priority-boost N lower the reader's nice value by N (default 4, 0 to\n"
"                         leave it): a reader starved of CPU by the load it\n"
"                         watches falls behind and the ring buffer overflows\n"
"      --classic          use classic tracepoints even where tp_btf works\n"
"      --no-timewait      do not follow TIME_WAIT socks to their end: no timer\n"
"                         hooks and no table of them (less CPU a connection,\n"
"                         less memory); TIME_WAIT is then inferred at the\n"
"                         close, and with alerts on the census counts it by\n"
"                         a walk every interval once there are enough tw\n"
"                         socks to alert (up to 2% of a core), which at a\n"
"                         steady rate can cost more than it saves\n"
"      --no-accept-hook   do not hook accept(): a syscall tracepoint makes\n"
"                         every system call on the host take the tracing\n"
"                         path (about 50 ns each here); an accepted socket\n"
"                         is then named after the process that closes it\n"
"\n"
"Alerts (on by default; raised when a condition starts and when it ends):\n"
"      --no-alerts        do not run the detectors\n"
"      --interval SECS    how often listeners, queues and TIME_WAIT are\n"
"                         counted and judged, and `top` redraws (default 1)\n"
"      --census-budget PCT\n"
"                         the census's CPU, % of one core (default 5): the\n"
"                         walks of a host of many namespaces that would take\n"
"                         more are spaced out past --interval, and synfin\n"
"                         says so on stderr\n"
"      --syn-unanswered N syn_flood: unanswered SYNs per second on one\n"
"                         listener (default 100) ...\n"
"      --syn-ratio R      ... while fewer than R of its SYNs complete a\n"
"                         handshake (default 0.5)\n"
"      --tw-ports PCT     timewait_buildup: % of the ephemeral port range in\n"
"                         TIME_WAIT toward one destination (default 50)\n"
"      --tw-count N       timewait_buildup: TIME_WAIT socks for one\n"
"                         destination or listener (default 8192, or half of\n"
"                         net.ipv4.tcp_max_tw_buckets if lower)\n"
"      --cw-age SECS      close_wait_leak: a CLOSE_WAIT this old is stale\n"
"                         (default 60) ...\n"
"      --cw-count N       ... and a process holding N stale ones leaks\n"
"                         (default 8)\n"
"\n"
"  -v, --verbose          figures at exit (per kind, spill, TIME_WAIT follow-up)\n"
"                         and libbpf's diagnostics; -vv: libbpf's debug too\n"
"  -h, --help             this help\n"
"  -V, --version          print the version\n"
"\n"
"Examples:\n"
"  synfin                       table of finished connections\n"
"  synfin -j > conns.ndjson     the same as JSON Lines\n"
"  synfin -e -L 443             every transition of local port 443\n"
"  synfin -p 1234 -6            connections of process 1234 over IPv6\n"
"  synfin -c nginx -L 443       connections of every nginx on port 443\n"
"  synfin --raddr 10.1.2.0/24 -D 5432   connections to the databases there\n"
"  synfin -F -j                 only the refused, timed-out and reset ones\n"
"  synfin --ladder -L 8080      every handshake and wave on port 8080, drawn\n"
"  synfin top                   the host's connection life, live\n"
"  synfin top -j                the same figures as {\"type\":\"stats\"} records\n"
"  synfin --netns /run/netns/blue -j\n";

enum {
	OPT_NETNS = 0x100,
	OPT_CGROUP,
	OPT_RINGBUF_MB,
	OPT_MAX_CONNS,
	OPT_SPILL,
	OPT_DRAIN_MS,
	OPT_PRIORITY_BOOST,
	OPT_CLASSIC,
	OPT_NO_TIMEWAIT,
	OPT_NO_ACCEPT_HOOK,
	OPT_LADDER,
	OPT_ASCII,
	OPT_NO_ALERTS,
	OPT_INTERVAL,
	OPT_SYN_UNANSWERED,
	OPT_SYN_RATIO,
	OPT_TW_PORTS,
	OPT_TW_COUNT,
	OPT_CW_AGE,
	OPT_CW_COUNT,
	OPT_CENSUS_BUDGET,
	OPT_LADDR,
	OPT_RADDR,
};

static const struct option long_opts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "events", no_argument, NULL, 'e' },
	{ "pid", required_argument, NULL, 'p' },
	{ "comm", required_argument, NULL, 'c' },
	{ "lport", required_argument, NULL, 'L' },
	{ "rport", required_argument, NULL, 'D' },
	{ "laddr", required_argument, NULL, OPT_LADDR },
	{ "raddr", required_argument, NULL, OPT_RADDR },
	{ "ipv4", no_argument, NULL, '4' },
	{ "ipv6", no_argument, NULL, '6' },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "failed", no_argument, NULL, 'F' },
	{ "uid", required_argument, NULL, 'u' },
	{ "wide", no_argument, NULL, 'w' },
	{ "timestamp", no_argument, NULL, 'T' },
	{ "output", required_argument, NULL, 'o' },
	{ "duration", required_argument, NULL, 'd' },
	{ "ringbuf-mb", required_argument, NULL, OPT_RINGBUF_MB },
	{ "max-conns", required_argument, NULL, OPT_MAX_CONNS },
	{ "spill", required_argument, NULL, OPT_SPILL },
	{ "drain-ms", required_argument, NULL, OPT_DRAIN_MS },
	{ "priority-boost", required_argument, NULL, OPT_PRIORITY_BOOST },
	{ "classic", no_argument, NULL, OPT_CLASSIC },
	{ "no-timewait", no_argument, NULL, OPT_NO_TIMEWAIT },
	{ "no-accept-hook", no_argument, NULL, OPT_NO_ACCEPT_HOOK },
	{ "ladder", no_argument, NULL, OPT_LADDER },
	{ "ascii", no_argument, NULL, OPT_ASCII },
	{ "no-alerts", no_argument, NULL, OPT_NO_ALERTS },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "census-budget", required_argument, NULL, OPT_CENSUS_BUDGET },
	{ "syn-unanswered", required_argument, NULL, OPT_SYN_UNANSWERED },
	{ "syn-ratio", required_argument, NULL, OPT_SYN_RATIO },
	{ "tw-ports", required_argument, NULL, OPT_TW_PORTS },
	{ "tw-count", required_argument, NULL, OPT_TW_COUNT },
	{ "cw-age", required_argument, NULL, OPT_CW_AGE },
	{ "cw-count", required_argument, NULL, OPT_CW_COUNT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{},
};

/* An argument as an error line shows it: whole, or its first bytes and
 * "...", so that a long one (a list of thousands of ports, a path) leaves
 * room for the problem after it. */
#define SHOWN_MAX 48
struct shown {
	char buf[SHOWN_MAX + 1];
};

static const char *shown(const char *arg, struct shown *sh)
{
	if (!arg)
		return "";
	if (strlen(arg) <= SHOWN_MAX)
		return arg;
	snprintf(sh->buf, sizeof(sh->buf), "%.*s...", SHOWN_MAX - 3, arg);
	return sh->buf;
}

/* A whole decimal number in [min, max], as parse_u32 takes one. */
static int parse_u64(const char *arg, uint64_t min, uint64_t max, uint64_t *out,
		     char *err, size_t errlen)
{
	unsigned long long val;
	struct shown sh;
	char *end;

	/* a negative number is a number, only not one in range; "-0" is
	 * none the less a sign where none is taken */
	if (arg && arg[0] == '-' && arg[1] >= '0' && arg[1] <= '9') {
		double neg = strtod(arg, &end);

		if (!*end && neg < 0)
			goto out_of_range;
		if (!*end) {
			snprintf(err, errlen, "'%s' takes no sign", shown(arg, &sh));
			return -EINVAL;
		}
	}
	/* strtoull accepts a sign and leading blanks; a number here must not */
	if (!arg || *arg < '0' || *arg > '9') {
		snprintf(err, errlen, "'%s' is not a number", shown(arg, &sh));
		return -EINVAL;
	}
	errno = 0;
	val = strtoull(arg, &end, 10);
	if (errno == ERANGE && !*end)
		goto out_of_range;
	if (*end == '.') {
		/* "0.5" where only whole numbers do */
		strtod(arg, &end);
		if (!*end) {
			snprintf(err, errlen, "'%s' is not a whole number", shown(arg, &sh));
			return -EINVAL;
		}
	}
	if (errno || *end) {
		snprintf(err, errlen, "'%s' is not a number", shown(arg, &sh));
		return -EINVAL;
	}
	if (val < min || val > max)
		goto out_of_range;
	*out = val;
	return 0;

out_of_range:
	snprintf(err, errlen, "%s is out of range %" PRIu64 "-%" PRIu64, shown(arg, &sh), min, max);
	return -EINVAL;
}

int parse_u32(const char *arg, uint32_t min, uint32_t max, uint32_t *out,
	      char *err, size_t errlen)
{
	uint64_t val;

	if (parse_u64(arg, min, max, &val, err, errlen))
		return -EINVAL;
	*out = (uint32_t)val;
	return 0;
}

/* The least an alert's decimal limit may be: alerts show their limits
 * to 6 decimals (live_json.c), and a smaller one would read as 0. */
#define LIMIT_MIN 0.000001

int parse_number(const char *arg, double min, bool min_inclusive, double max,
		 double *out, char *err, size_t errlen)
{
	struct shown sh;
	bool overflow;
	double val;
	char *end;

	/* a leading '-' is let through so that "-1" is out of range, not text */
	if (!arg || !((*arg >= '0' && *arg <= '9') || *arg == '.' ||
		      (*arg == '-' && ((arg[1] >= '0' && arg[1] <= '9') || arg[1] == '.')))) {
		snprintf(err, errlen, "'%s' is not a number", shown(arg, &sh));
		return -EINVAL;
	}
	/* decimal only: strtod would also take hex ("0x10", "0x1p-1") */
	if (arg[strspn(arg, "0123456789.eE+-")]) {
		snprintf(err, errlen, "'%s' is not a decimal number", shown(arg, &sh));
		return -EINVAL;
	}
	errno = 0;
	val = strtod(arg, &end);
	/* "1e309" and "1e-400" are numbers, only not ones in range */
	overflow = errno == ERANGE && !*end;
	if (!overflow && (errno || *end || val != val)) {
		snprintf(err, errlen, "'%s' is not a number", shown(arg, &sh));
		return -EINVAL;
	}
	if (overflow || val > max || val < min || (!min_inclusive && val == min)) {
		snprintf(err, errlen, "%s is out of range %s%g, %g]", shown(arg, &sh),
			 min_inclusive ? "[" : "(", min, max);
		return -EINVAL;
	}
	*out = val;
	return 0;
}

int filter_parse_ports(const char *arg, uint8_t *bitmap, char *err, size_t errlen)
{
	char *buf = NULL, *tok, *save = NULL, why[160];
	size_t len = strlen(arg);
	struct shown sh;
	int ret = -EINVAL;

	if (len == 0) {
		snprintf(err, errlen, "the port list is empty");
		return -EINVAL;
	}
	/* "80," or ",80" leave an empty token strtok skips: reject them too */
	if (arg[0] == ',' || arg[len - 1] == ',' || strstr(arg, ",,")) {
		snprintf(err, errlen, "port list '%s' has an empty entry", shown(arg, &sh));
		return -EINVAL;
	}
	/* as long as it is: the ports go into a bitmap of them all */
	buf = strdup(arg);
	if (!buf) {
		snprintf(err, errlen, "no memory for the port list");
		return -ENOMEM;
	}
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(tok, '-');
		uint32_t lo, hi;

		if (dash)
			*dash = '\0';
		if (parse_u32(tok, 1, 65535, &lo, err, errlen))
			goto bad_port;
		hi = lo;
		if (dash && parse_u32(dash + 1, 1, 65535, &hi, err, errlen))
			goto bad_port;
		if (hi < lo) {
			snprintf(err, errlen, "port range %u-%u is reversed", lo, hi);
			goto cleanup;
		}
		for (uint32_t p = lo; p <= hi; p++)
			port_bit_set(bitmap, (uint16_t)p);
	}
	ret = 0;
	goto cleanup;
bad_port:
	snprintf(why, sizeof(why), "%s", err);
	snprintf(err, errlen, "bad port in '%s': %s", shown(arg, &sh), why);
cleanup:
	free(buf);
	return ret;
}

/* One "ADDR" or "ADDR/LEN" into p. A prefix with bits set past its length
 * is refused rather than masked: 10.1.2.3/8 is more likely a typo for a
 * host or for 10.0.0.0/8 than a wish for either, and `ip route` refuses it
 * the same way. */
static int parse_prefix(char *tok, struct synfin_addr_prefix *p, char *err, size_t errlen)
{
	struct shown sh;
	char *slash = strchr(tok, '/');
	uint8_t bytes[16] = {};
	uint32_t len, max, words[4];
	bool v4;

	if (slash)
		*slash = '\0';
	v4 = inet_pton(AF_INET, tok, bytes) == 1;
	if (!v4 && inet_pton(AF_INET6, tok, bytes) != 1) {
		snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", shown(tok, &sh));
		return -EINVAL;
	}
	max = v4 ? 32 : 128;
	len = max;
	if (slash && parse_u32(slash + 1, 0, max, &len, err, errlen)) {
		char why[160];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "bad prefix length after %s: %s", tok, why);
		return -EINVAL;
	}
	addr_words(v4 ? SYNFIN_AF_INET : SYNFIN_AF_INET6, bytes, words);
	if (v4)
		len += 96;
	for (int i = 0; i < 4; i++) {
		uint32_t bits = len > 32u * i ? len - 32u * i : 0;
		uint32_t mask = bits >= 32 ? 0xffffffffu : bits ? ~(0xffffffffu >> bits) : 0;

		p->mask[i] = htonl(mask);
		p->addr[i] = words[i] & p->mask[i];
		if (p->addr[i] != words[i]) {
			snprintf(err, errlen, "%s/%u has bits set past the prefix length",
				 tok, v4 ? len - 96 : len);
			return -EINVAL;
		}
	}
	return 0;
}

int filter_parse_addrs(const char *arg, struct synfin_addr_prefix *p, uint8_t *n,
		       char *err, size_t errlen)
{
	char buf[1024], *tok, *save = NULL;
	size_t len = strlen(arg);
	struct shown sh;

	if (len == 0) {
		snprintf(err, errlen, "the address list is empty");
		return -EINVAL;
	}
	if (len >= sizeof(buf)) {
		snprintf(err, errlen, "address list '%s' is too long: %zu bytes, at most %zu",
			 shown(arg, &sh), len, sizeof(buf) - 1);
		return -EINVAL;
	}
	if (arg[0] == ',' || arg[len - 1] == ',' || strstr(arg, ",,")) {
		snprintf(err, errlen, "address list '%s' has an empty entry", shown(arg, &sh));
		return -EINVAL;
	}
	memcpy(buf, arg, len + 1);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (*n >= SYNFIN_ADDR_PREFIXES_MAX) {
			snprintf(err, errlen, "more than %d addresses or prefixes",
				 SYNFIN_ADDR_PREFIXES_MAX);
			return -EINVAL;
		}
		if (parse_prefix(tok, &p[*n], err, errlen))
			return -EINVAL;
		(*n)++;
	}
	return 0;
}

/* -p names a process that exists now, by its process id: a pid that does
 * not exist (a typo, a process already gone) or a thread's id would make a
 * filter that matches nothing, since the kernel side compares the owner's
 * process id (tgid). kill(0) says whether any task has the id (EPERM: one
 * does); where /proc cannot say whose thread it is (hidepid), it is taken. */
static int check_pid(uint32_t pid, char *err, size_t errlen)
{
	char path[64], line[128];
	unsigned long tgid = 0;
	bool found = false;
	FILE *f;

	if (kill((pid_t)pid, 0) && errno == ESRCH) {
		snprintf(err, errlen, "no process %u", pid);
		return -ESRCH;
	}
	snprintf(path, sizeof(path), "/proc/%u/status", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Tgid: %lu", &tgid) == 1) {
			found = true;
			break;
		}
	}
	fclose(f);
	if (found && tgid != pid) {
		snprintf(err, errlen, "%u is a thread of process %lu; give the process id", pid,
			 tgid);
		return -EINVAL;
	}
	return 0;
}

/* Digits and nothing else: an id, where a name or a path may stand too. */
static bool all_digits(const char *s)
{
	return *s && !s[strspn(s, "0123456789")];
}

/* An id given as a number, or the inode of a path: one with a digit
 * first is a path too (1234/ns/net, relative to /proc). */
static int inode_of(const char *what, const char *arg, uint64_t *out,
		    char *err, size_t errlen)
{
	struct shown sh;
	struct stat st;
	uint32_t num;

	if (all_digits(arg)) {
		if (parse_u32(arg, 1, UINT32_MAX, &num, err, errlen))
			return -EINVAL;
		*out = num;
		return 0;
	}
	if (stat(arg, &st)) {
		snprintf(err, errlen, "cannot use %s '%s': %s", what, shown(arg, &sh),
			 strerror(errno));
		return -EINVAL;
	}
	*out = st.st_ino;
	return 0;
}

/* A path must name a network namespace (nsfs says which kind a file is):
 * any other file's inode would make a filter that silently matches
 * nothing. Its cookie pins the namespace meant (netns_cookie.h). */
static bool netns_file_cookie(const char *path, uint64_t *cookie)
{
	struct stat st;
	bool yes;
	int fd;

	/* nsfs files are regular: a FIFO's open would wait for a writer,
	 * and a device's could act on the device */
	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return false;
	yes = ioctl(fd, NS_GET_NSTYPE) == CLONE_NEWNET;
	*cookie = yes ? netns_cookie_of(fd) : 0;
	close(fd);
	return yes;
}

/* A namespace given by its inode number is looked for among those synfin
 * can name (/run/netns, every process's): found, it is pinned by its
 * cookie as a path is. Not found, it is most likely a mistake, but one
 * reachable only through its sockets (no process in it, no name), or held
 * only by processes synfin may not read, still has the number, and the
 * kernel side still sees its connections: so a warning, not a refusal.
 * Only root can look (the privilege check follows the options). */
static char netns_warning[512];  /* said once the options are all good */

static void netns_number_cookie(uint32_t ino, const char *arg, uint64_t *cookie)
{
	char path[PATH_MAX];
	struct stat st;
	int found;

	if (geteuid() != 0)
		return;
	found = sockdiag_netns_path(ino, path, sizeof(path));
	if (found > 0) {
		/* a pid's path may name another namespace by now */
		if (!netns_file_cookie(path, cookie) || stat(path, &st) || st.st_ino != ino)
			*cookie = 0;
		return;
	}
	snprintf(netns_warning, sizeof(netns_warning), "synfin: --netns %s: no network "
		 "namespace synfin can %s has that inode; the filter matches one only if it "
		 "is reachable otherwise (through its sockets)\n", arg,
		 found == -EACCES ? "read" : "find");
}

int parse_netns(const char *arg, uint32_t *inode, uint64_t *cookie, char *err, size_t errlen)
{
	struct shown sh;
	uint64_t ino;

	*cookie = 0;
	if (inode_of("network namespace", arg, &ino, err, errlen))
		return -EINVAL;
	if (all_digits(arg)) {
		netns_number_cookie((uint32_t)ino, arg, cookie);
	} else if (!netns_file_cookie(arg, cookie)) {
		snprintf(err, errlen, "'%s' is not a network namespace", shown(arg, &sh));
		return -EINVAL;
	}
	if (*cookie == UINT64_MAX) {
		snprintf(err, errlen, "entered '%s' to read its cookie and could not come back",
			 shown(arg, &sh));
		return -EINVAL;
	}
	*inode = (uint32_t)ino;
	return 0;
}

int parse_cgroup(const char *arg, uint64_t *id, char *err, size_t errlen)
{
	struct statfs sfs;
	struct shown sh;
	struct stat st;

	/* digits alone are an id (64 bits: the cgroup's kernfs node id);
	 * anything else is a path, relative ones too */
	if (all_digits(arg))
		return parse_u64(arg, 1, UINT64_MAX, id, err, errlen);
	if (statfs(arg, &sfs) || stat(arg, &st)) {
		snprintf(err, errlen, "cannot use cgroup '%s': %s", shown(arg, &sh),
			 strerror(errno));
		return -EINVAL;
	}
	/* any other file's inode would make a filter that matches nothing */
	if (sfs.f_type != CGROUP2_SUPER_MAGIC || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "'%s' is not a cgroup v2 directory", shown(arg, &sh));
		return -EINVAL;
	}
	*id = st.st_ino;
	return 0;
}

int parse_uid(const char *arg, uint32_t *uid, char *err, size_t errlen)
{
	const struct passwd *pw;
	struct shown sh;

	/* a user of that name first, then a number as a uid, as chown
	 * takes them; (uid_t)-1 is no one's */
	pw = *arg ? getpwnam(arg) : NULL;
	if (!pw && all_digits(arg))
		return parse_u32(arg, 0, UINT32_MAX - 1, uid, err, errlen);
	if (!pw) {
		snprintf(err, errlen, "no user named '%s'", shown(arg, &sh));
		return -EINVAL;
	}
	*uid = pw->pw_uid;
	return 0;
}

/* The length of the UTF-8 character at p that a terminal shows as it
 * is; 0 for a byte to mask: an ASCII control, a byte of no valid UTF-8
 * sequence, a C1 control (U+0080-U+009F: 0x9b is CSI, as ESC [ is), or a
 * direction override (U+202A-U+202E, U+2066-U+2069), which would turn
 * the rest of the line around. */
static size_t shown_char_len(const unsigned char *p)
{
	size_t len, i;
	uint32_t cp;

	if (*p >= 0x20 && *p < 0x7f)
		return 1;
	if (*p >= 0xc2 && *p <= 0xdf)
		len = 2, cp = *p & 0x1f;
	else if (*p >= 0xe0 && *p <= 0xef)
		len = 3, cp = *p & 0x0f;
	else if (*p >= 0xf0 && *p <= 0xf4)
		len = 4, cp = *p & 0x07;
	else
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* overlong forms, surrogates and past U+10FFFF are not UTF-8 */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	if (cp <= 0x9f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
		return 0;
	return len;
}

/* One line on stderr naming the problem, whatever the user typed: what a
 * terminal would act on in an argument (a newline, an escape, a C1
 * control, a direction override) or a byte of no character shows as '?'. */
static void print_problem(const char *fmt, ...)
{
	char line[512];
	unsigned char *p;
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (p = (unsigned char *)line; *p; p += n) {
		n = shown_char_len(p);
		if (!n) {
			*p = '?';
			n = 1;
		}
	}
	fprintf(stderr, "synfin: %s\n", line);
}

static void set_defaults(struct synfin_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->ringbuf_mb = 0; /* by mode, once the flags are read */
	opts->max_conns = 262144;
	opts->spill = 131072;
	opts->drain_ms = 10;
	opts->priority_boost = 4;
	opts->interval_s = 1;
	opts->census_budget_pct = 5;
	opts->output_fd = -1;
	detect_config_defaults(&opts->detect);
}

/* -4 leaves only IPv4 sockets, whose addresses the prefixes see as
 * ::ffff:a.b.c.d: a prefix outside ::ffff:0:0/96 can match none of them,
 * and the filter would silently show nothing. NULL, or the first such. */
static const struct synfin_addr_prefix *prefix_past_ipv4(const struct synfin_addr_prefix *p,
							 uint8_t n)
{
	const uint32_t mapped[3] = { 0, 0, htonl(0xffff) };

	for (uint8_t i = 0; i < n; i++)
		for (int w = 0; w < 3; w++)
			if ((p[i].addr[w] ^ mapped[w]) & p[i].mask[w])
				return &p[i];
	return NULL;
}

/* "ADDR/LEN" of a parsed prefix, in its IPv6 form */
static void format_prefix(const struct synfin_addr_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	int bits = 0;

	for (int w = 0; w < 4; w++)
		bits += __builtin_popcount(p->mask[w]);
	inet_ntop(AF_INET6, p->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%d", a, bits);
}

int output_file_open(const char *path)
{
	struct stat st;
	int fd, err;

	/* O_NONBLOCK: opening a FIFO for writing would wait for its reader
	 * (without one it fails ENXIO now, as a socket does) */
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0644);
	if (fd < 0) {
		err = -errno;
		if (err == -ENXIO && !stat(path, &st) &&
		    (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
			err = -ESPIPE;
		return err;
	}
	/* a pipe (one with a reader) is standard output's job; the writes
	 * to anything else block as usual */
	if (fstat(fd, &st))
		err = -errno;
	else if (S_ISFIFO(st.st_mode))
		err = -ESPIPE;
	else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK))
		err = -errno;
	else
		return fd;
	close(fd);
	return err;
}

/* getopt_long's '?' for the word arg: a short option it does not know
 * (in a group, "-xj", optopt says which), a long one that takes no
 * argument ("--json=1", optopt set), one it does not know, or a prefix of
 * several ("--no"). */
static void bad_option(const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg), i, n = 0;
	char names[160] = "";
	struct shown sh;

	if (strncmp(arg, "--", 2)) {
		if (optopt > 0 && optopt < 128)
			print_problem("unknown option '-%c' (see synfin --help)", optopt);
		else
			print_problem("unknown option '%s' (see synfin --help)", shown(arg, &sh));
		return;
	}
	if (eq && optopt) {
		print_problem("option '%.*s' takes no argument", len > 40 ? 40 : (int)len, arg);
		return;
	}
	for (i = 0; len > 2 && long_opts[i].name; i++) {
		if (strncmp(long_opts[i].name, arg + 2, len - 2))
			continue;
		if (n++ < 4)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s--%s",
				 n > 1 ? ", " : "", long_opts[i].name);
	}
	if (n > 1)
		print_problem("option '%.*s' is ambiguous: %s%s", len > 40 ? 40 : (int)len, arg,
			      names, n > 4 ? ", ..." : "");
	else
		print_problem("unknown option '%s' (see synfin --help)", shown(arg, &sh));
}

int options_parse(int argc, char **argv, struct synfin_options *opts)
{
	struct synfin_filter *f = &opts->filter;
	char err[256] = "";
	const char *opt_name = NULL;
	/* the first census pacing option and detector threshold given */
	const char *census_opt = NULL, *detect_opt = NULL;
	struct shown sh;
	int c, word;

	set_defaults(opts);
	netns_warning[0] = '\0';  /* this parse's, not an earlier one's */
	opterr = 0; /* we print our own one-line errors */
	optind = 1;
	for (;;) {
		/* the word getopt reads now: past it, optind-1 names it;
		 * within a group of flags ("-xj") optind stays on it */
		word = optind;
		c = getopt_long(argc, argv, ":jep:c:L:D:46Fu:wTo:d:vhV", long_opts, NULL);
		if (c == -1)
			break;
		switch (c) {
		case 'j':
			opts->json = true;
			break;
		case 'e':
			opts->events = true;
			break;
		case 'p':
			opt_name = "-p/--pid";
			if (f->pid)
				goto twice;
			if (parse_u32(optarg, 1, PID_MAX_LIMIT, &f->pid, err, sizeof(err)) ||
			    check_pid(f->pid, err, sizeof(err)))
				goto bad;
			break;
		case 'c':
			opt_name = "-c/--comm";
			if (f->have_comm)
				goto twice;
			if (!*optarg) {
				snprintf(err, sizeof(err), "an empty name matches no process");
				goto bad;
			}
			/* the kernel keeps 15 bytes of a name (TASK_COMM_LEN) */
			memset(f->comm, 0, sizeof(f->comm));
			strncpy(f->comm, optarg, sizeof(f->comm) - 1);
			f->have_comm = true;
			break;
		case 'L':
			opt_name = "-L/--lport";
			if (filter_parse_ports(optarg, f->lports, err, sizeof(err)))
				goto bad;
			f->have_lports = true;
			break;
		case 'D':
			opt_name = "-D/--rport";
			if (filter_parse_ports(optarg, f->rports, err, sizeof(err)))
				goto bad;
			f->have_rports = true;
			break;
		case OPT_LADDR:
			opt_name = "--laddr";
			if (filter_parse_addrs(optarg, f->laddrs, &f->nladdrs, err, sizeof(err)))
				goto bad;
			break;
		case OPT_RADDR:
			opt_name = "--raddr";
			if (filter_parse_addrs(optarg, f->raddrs, &f->nraddrs, err, sizeof(err)))
				goto bad;
			break;
		case '4':
		case '6':
			if (f->family) {
				opt_name = "-4/-6";
				snprintf(err, sizeof(err), "give at most one of -4 and -6");
				goto bad;
			}
			f->family = c == '4' ? SYNFIN_AF_INET : SYNFIN_AF_INET6;
			break;
		case OPT_NETNS:
			opt_name = "--netns";
			if (f->netns)
				goto twice;
			if (parse_netns(optarg, &f->netns, &f->netns_cookie, err, sizeof(err)))
				goto bad;
			break;
		case OPT_CGROUP:
			opt_name = "--cgroup";
			if (f->cgroup_id)
				goto twice;
			if (parse_cgroup(optarg, &f->cgroup_id, err, sizeof(err)))
				goto bad;
			break;
		case 'F':
			opts->only_failed = true;
			break;
		case 'u':
			opt_name = "-u/--uid";
			if (f->have_uid)
				goto twice;
			if (parse_uid(optarg, &f->uid, err, sizeof(err)))
				goto bad;
			f->have_uid = true;
			break;
		case 'w':
			opts->wide = true;
			break;
		case 'T':
			opts->timestamps = true;
			break;
		case 'o':
			opt_name = "-o/--output";
			if (opts->output)
				goto twice;
			if (!*optarg) {
				snprintf(err, sizeof(err), "an empty path");
				goto bad;
			}
			opts->output = optarg;
			break;
		case 'd':
			opt_name = "-d/--duration";
			if (parse_u32(optarg, 1, 31536000, &opts->duration_s, err, sizeof(err)))
				goto bad;
			break;
		case OPT_RINGBUF_MB:
			opt_name = "--ringbuf-mb";
			if (parse_u32(optarg, 1, 1024, &opts->ringbuf_mb, err, sizeof(err)))
				goto bad;
			if (opts->ringbuf_mb & (opts->ringbuf_mb - 1)) {
				snprintf(err, sizeof(err), "%u is not a power of 2", opts->ringbuf_mb);
				goto bad;
			}
			break;
		case OPT_MAX_CONNS:
			opt_name = "--max-conns";
			if (parse_u32(optarg, 16, 16777216, &opts->max_conns, err, sizeof(err)))
				goto bad;
			break;
		case OPT_SPILL:
			opt_name = "--spill";
			if (parse_u32(optarg, 0, 16777216, &opts->spill, err, sizeof(err)))
				goto bad;
			opts->spill_set = true;
			break;
		case OPT_DRAIN_MS:
			opt_name = "--drain-ms";
			if (parse_u32(optarg, 1, 1000, &opts->drain_ms, err, sizeof(err)))
				goto bad;
			break;
		case OPT_PRIORITY_BOOST:
			opt_name = "--priority-boost";
			if (parse_u32(optarg, 0, 39, &opts->priority_boost, err, sizeof(err)))
				goto bad;
			break;
		case OPT_CLASSIC:
			opts->force_classic = true;
			break;
		case OPT_NO_TIMEWAIT:
			opts->no_timewait = true;
			break;
		case OPT_NO_ACCEPT_HOOK:
			opts->no_accept_hook = true;
			break;
		case OPT_LADDER:
			opts->ladder = true;
			break;
		case OPT_ASCII:
			opts->ascii = true;
			break;
		case OPT_NO_ALERTS:
			opts->no_alerts = true;
			break;
		case OPT_INTERVAL:
			opt_name = "--interval";
			if (parse_u32(optarg, 1, 3600, &opts->interval_s, err, sizeof(err)))
				goto bad;
			break;
		case OPT_SYN_UNANSWERED:
			opt_name = "--syn-unanswered";
			if (parse_number(optarg, LIMIT_MIN, true, 1e9, &opts->detect.syn_unanswered,
					 err, sizeof(err)))
				goto bad;
			break;
		case OPT_SYN_RATIO:
			opt_name = "--syn-ratio";
			if (parse_number(optarg, LIMIT_MIN, true, 1, &opts->detect.syn_ratio,
					 err, sizeof(err)))
				goto bad;
			break;
		case OPT_TW_PORTS:
			opt_name = "--tw-ports";
			if (parse_number(optarg, LIMIT_MIN, true, 100, &opts->detect.tw_ports_pct,
					 err, sizeof(err)))
				goto bad;
			break;
		case OPT_TW_COUNT:
			opt_name = "--tw-count";
			if (parse_u32(optarg, 1, 100000000, &opts->detect.tw_count, err, sizeof(err)))
				goto bad;
			break;
		case OPT_CW_AGE:
			opt_name = "--cw-age";
			if (parse_u32(optarg, 1, 31536000, &opts->detect.cw_age_s, err, sizeof(err)))
				goto bad;
			break;
		case OPT_CW_COUNT:
			opt_name = "--cw-count";
			if (parse_u32(optarg, 1, 100000000, &opts->detect.cw_count, err, sizeof(err)))
				goto bad;
			break;
		case OPT_CENSUS_BUDGET:
			opt_name = "--census-budget";
			if (parse_number(optarg, 0.01, true, 100, &opts->census_budget_pct,
					 err, sizeof(err)))
				goto bad;
			break;
		case 'v':
			opts->verbose++;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 1;
		case 'V':
			printf("synfin %s\n", synfin_version);
			return 1;
		case ':':
			/* "-jd": the option is -d, not the word it came in */
			if (strncmp(argv[optind - 1], "--", 2) && optopt > 0 && optopt < 128)
				print_problem("option '-%c' needs an argument", optopt);
			else
				print_problem("option '%s' needs an argument",
					      shown(argv[optind - 1], &sh));
			return -EINVAL;
		default:
			bad_option(word < argc && argv[word][0] == '-' ? argv[word] : argv[optind - 1]);
			return -EINVAL;
		}
		/* the first alert threshold and census pacing option given,
		 * which --no-alerts would leave to nothing (below) */
		if (!detect_opt && (c == OPT_SYN_UNANSWERED || c == OPT_SYN_RATIO ||
				    c == OPT_TW_PORTS || c == OPT_TW_COUNT || c == OPT_CW_AGE ||
				    c == OPT_CW_COUNT))
			detect_opt = opt_name;
		if (!census_opt && (c == OPT_INTERVAL || c == OPT_CENSUS_BUDGET))
			census_opt = opt_name;
	}
	if (f->family == SYNFIN_AF_INET) {
		const struct synfin_addr_prefix *past = prefix_past_ipv4(f->laddrs, f->nladdrs);
		const char *which = "--laddr";
		char text[INET6_ADDRSTRLEN + 16];

		if (!past) {
			past = prefix_past_ipv4(f->raddrs, f->nraddrs);
			which = "--raddr";
		}
		if (past) {
			format_prefix(past, text, sizeof(text));
			fprintf(stderr, "synfin: %s: %s matches no IPv4 socket, and -4 leaves only "
				"those\n", which, text);
			return -EINVAL;
		}
	}
	if (opts->ladder && (opts->json || opts->events)) {
		fprintf(stderr, "synfin: --ladder draws pictures; it does not combine with %s\n",
			opts->json ? "-j/--json" : "-e/--events");
		return -EINVAL;
	}
	if (opts->ascii && !opts->ladder) {
		fprintf(stderr, "synfin: --ascii only applies to --ladder\n");
		return -EINVAL;
	}
	/* a flag that changes nothing would let an operator believe it did */
	if ((opts->wide || opts->timestamps) && (opts->json || opts->ladder)) {
		fprintf(stderr, "synfin: %s shapes the text table; it does not combine with %s\n",
			opts->wide ? "-w/--wide" : "-T/--timestamp",
			opts->json ? "-j/--json" : "--ladder");
		return -EINVAL;
	}
	if (opts->wide && opts->timestamps) {
		fprintf(stderr, "synfin: -T/--timestamp adds the time column -w/--wide "
			"already shows\n");
		return -EINVAL;
	}
	/* getopt_long moved the operands to the end: "top" is the only one */
	if (optind < argc && !strcmp(argv[optind], "top")) {
		opts->top = true;
		optind++;
	}
	if (optind < argc) {
		print_problem("unexpected argument '%s' (see synfin --help)",
			      shown(argv[optind], &sh));
		return -EINVAL;
	}
	if (opts->top && (opts->ladder || opts->events || opts->only_failed ||
			  opts->wide || opts->timestamps)) {
		fprintf(stderr, "synfin: top shows figures; it does not combine with %s\n",
			opts->ladder ? "--ladder" : opts->events ? "-e/--events" :
			opts->only_failed ? "-F/--failed" :
			opts->wide ? "-w/--wide" : "-T/--timestamp");
		return -EINVAL;
	}
	/* --no-alerts stops the census and the detectors, except for top's
	 * figures, which the census still counts */
	if (opts->no_alerts && (detect_opt || (census_opt && !opts->top))) {
		fprintf(stderr, "synfin: %s %s, which --no-alerts turns off%s\n",
			detect_opt ? detect_opt : census_opt,
			detect_opt ? "sets an alert's threshold" : "paces the census",
			detect_opt ? "" : " outside top");
		return -EINVAL;
	}
	/* a transition cannot know yet how its connection will end */
	if (opts->only_failed && opts->events) {
		fprintf(stderr, "synfin: -F/--failed judges finished connections; "
			"it does not combine with -e/--events\n");
		return -EINVAL;
	}
	if (opts->spill_set && opts->events) {
		fprintf(stderr, "synfin: --spill sizes the connection records' spill map; "
			"-e/--events sends transitions and has none\n");
		return -EINVAL;
	}
	if (opts->no_timewait && opts->only_failed) {
		fprintf(stderr, "synfin: -F/--failed already leaves the TIME_WAIT timers "
			"unhooked; --no-timewait changes nothing\n");
		return -EINVAL;
	}
	/* The ring is mapped into synfin twice, and every page is resident
	 * from the start: each MiB is two of RSS. By default the spill map
	 * takes what a full ring cannot, so 4 MiB do; --events has no spill
	 * and a record per transition. */
	if (!opts->ringbuf_mb)
		opts->ringbuf_mb = opts->events ? 8 : 4;
	/* top's screen is drawn on the terminal; its -j records can go */
	if (opts->output && opts->top && !opts->json) {
		fprintf(stderr, "synfin: -o/--output takes records; top draws its screen on the "
			"terminal (with -j its stats records go to the file)\n");
		return -EINVAL;
	}
	/* Opened here, so that a path that cannot be written is bad input,
	 * said before the BPF load. O_APPEND: logrotate's copytruncate and
	 * writers beside synfin leave no hole or overwrite. */
	if (opts->output) {
		opts->output_fd = output_file_open(opts->output);
		if (opts->output_fd < 0) {
			opt_name = "-o/--output";
			snprintf(err, sizeof(err), "'%s': %s", shown(opts->output, &sh),
				 opts->output_fd == -ESPIPE ?
				 "a pipe or socket; pipe standard output instead" :
				 strerror(-opts->output_fd));
			opts->output_fd = -1;
			goto bad;
		}
	}
	/* bad input is one line: a warning waits for the last check */
	fputs(netns_warning, stderr);
	return 0;
twice:
	/* the kernel side holds one value of each: a second would silently
	 * replace the first, or be taken as "either" by one reader and
	 * "both" by another */
	print_problem("%s: given twice; it takes one value", opt_name);
	return -EINVAL;
bad:
	print_problem("%s: %s", opt_name, err);
	return -EINVAL;
}
