// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* synflood: a bounded raw-socket SYN sender for the SYN-flood tests. Each SYN
 * comes from a random address of a test-only source net (198.18.0.0/15 or
 * 10.0.0.0/8) and a random port, paced at --rate, --count of them at most,
 * under a hard alarm(). Prints one "key=value ..." result line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

#define MAX_COUNT	1000000L
#define MAX_RATE	100000L
#define MAX_TIMEOUT_S	120L

/* The only nets this tool will put in a source or destination address:
 * 198.18.0.0/15 (RFC 2544 benchmarking) and 10.0.0.0/8. */
static const struct {
	uint32_t net;
	int len;
} allowed[] = {
	{ 0xc6120000u, 15 },	/* 198.18.0.0/15 */
	{ 0x0a000000u, 8 },	/* 10.0.0.0/8 */
};

static uint32_t mask_of(int len)
{
	return len ? ~0u << (32 - len) : 0;
}

/* Is net/len (host order) wholly inside one of the allowed nets? */
static int net_allowed(uint32_t net, int len)
{
	size_t i;

	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (len >= allowed[i].len &&
		    (net & mask_of(allowed[i].len)) == allowed[i].net)
			return 1;
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: synflood --dst ADDR --port P --count N --rate PPS --src-net NET/LEN\n"
		"                [--timeout-s S] [--seed N]\n"
		"Sends N TCP SYNs to ADDR:P at PPS per second, each from a random address\n"
		"of NET/LEN and a random port, through a raw socket (needs CAP_NET_RAW).\n"
		"NET/LEN and ADDR must lie in 198.18.0.0/15 or 10.0.0.0/8.\n"
		"--timeout-s: hard bound on the run (default: N/PPS + 5 s, at most %ld).\n"
		"Prints \"result=done sent=N errors=E elapsed_ms=T rate=R pid=P\".\n",
		MAX_TIMEOUT_S);
	exit(2);
}

static long long parse_num(const char *name, const char *s, long long min, long long max)
{
	return tool_parse_num("synflood", name, s, min, max);
}

static void parse_net(const char *s, uint32_t *net, int *len)
{
	char buf[64], *slash;
	struct in_addr a;

	if (strlen(s) >= sizeof(buf)) {
		fprintf(stderr, "synflood: invalid --src-net: '%s'\n", s);
		exit(2);
	}
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash) {
		fprintf(stderr, "synflood: invalid --src-net: '%s' (want NET/LEN)\n", s);
		exit(2);
	}
	*slash = '\0';
	*len = (int)parse_num("--src-net prefix length", slash + 1, 0, 32);
	if (inet_pton(AF_INET, buf, &a) != 1) {
		fprintf(stderr, "synflood: invalid --src-net: '%s'\n", s);
		exit(2);
	}
	*net = ntohl(a.s_addr) & mask_of(*len);
}

/* xorshift64*: fast, and good enough to spread addresses and ports */
static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

/* IPv4 header + TCP header with one option (MSS 1460): 20 + 24 bytes. The
 * kernel fills in the IP total length and checksum (IP_HDRINCL, raw(7)). */
struct syn_pkt {
	uint8_t ver_ihl, tos;
	uint16_t tot_len, id, frag_off;
	uint8_t ttl, proto;
	uint16_t ip_csum;
	uint32_t saddr, daddr;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t doff, flags;
	uint16_t window, tcp_csum, urg;
	uint8_t opt[4];
} __attribute__((packed));

_Static_assert(sizeof(struct syn_pkt) == 44, "syn_pkt layout");

static void build_syn(struct syn_pkt *p, uint32_t saddr, uint32_t daddr, uint16_t sport,
		      uint16_t dport)
{
	uint32_t sum;
	uint8_t pseudo[12];
	const size_t tcp_len = sizeof(*p) - 20;

	memset(p, 0, sizeof(*p));
	p->ver_ihl = 0x45;
	p->tot_len = htons(sizeof(*p));
	p->id = htons((uint16_t)rnd());
	p->frag_off = htons(0x4000);	/* DF */
	p->ttl = 64;
	p->proto = IPPROTO_TCP;
	p->saddr = htonl(saddr);
	p->daddr = htonl(daddr);
	p->sport = htons(sport);
	p->dport = htons(dport);
	p->seq = htonl(rnd());
	p->doff = (uint8_t)((tcp_len / 4) << 4);
	p->flags = 0x02;	/* SYN */
	p->window = htons(64240);
	p->opt[0] = 2;		/* MSS */
	p->opt[1] = 4;
	p->opt[2] = 1460 >> 8;
	p->opt[3] = 1460 & 0xff;

	memcpy(pseudo, &p->saddr, 4);
	memcpy(pseudo + 4, &p->daddr, 4);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_TCP;
	pseudo[10] = (uint8_t)(tcp_len >> 8);
	pseudo[11] = (uint8_t)tcp_len;
	sum = csum_add(0, pseudo, sizeof(pseudo));
	sum = csum_add(sum, &p->sport, tcp_len);
	p->tcp_csum = htons(csum_fold(sum));
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_until_ns(long long t)
{
	struct timespec ts = { (time_t)(t / 1000000000LL), (long)(t % 1000000000LL) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

int main(int argc, char **argv)
{
	enum { O_DST = 256, O_PORT, O_COUNT, O_RATE, O_SRC_NET, O_TIMEOUT, O_SEED };
	static const struct option lo[] = {
		{ "dst", required_argument, 0, O_DST },
		{ "port", required_argument, 0, O_PORT },
		{ "count", required_argument, 0, O_COUNT },
		{ "rate", required_argument, 0, O_RATE },
		{ "src-net", required_argument, 0, O_SRC_NET },
		{ "timeout-s", required_argument, 0, O_TIMEOUT },
		{ "seed", required_argument, 0, O_SEED },
		{ 0 },
	};
	const char *dst = NULL, *src_net = NULL;
	long long count = 0, rate = 0, timeout_s = 0, seed = -1, i, t0, sent = 0, errors = 0;
	int port = -1, len, fd, c, first_err = 0;
	uint32_t net, daddr, host_mask;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct in_addr a;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case O_DST: dst = optarg; break;
		case O_PORT: port = (int)parse_num("--port", optarg, 1, 65535); break;
		case O_COUNT: count = parse_num("--count", optarg, 1, MAX_COUNT); break;
		case O_RATE: rate = parse_num("--rate", optarg, 1, MAX_RATE); break;
		case O_SRC_NET: src_net = optarg; break;
		case O_TIMEOUT: timeout_s = parse_num("--timeout-s", optarg, 1, MAX_TIMEOUT_S); break;
		case O_SEED: seed = parse_num("--seed", optarg, 0, INT64_MAX); break;
		default: usage();
		}
	}
	if (optind != argc || !dst || port < 0 || !count || !rate || !src_net)
		usage();
	parse_net(src_net, &net, &len);
	if (!net_allowed(net, len)) {
		fprintf(stderr, "synflood: refusing source net %s: not inside 198.18.0.0/15 or 10.0.0.0/8\n",
			src_net);
		return 2;
	}
	if (inet_pton(AF_INET, dst, &a) != 1) {
		fprintf(stderr, "synflood: invalid --dst: '%s'\n", dst);
		return 2;
	}
	daddr = ntohl(a.s_addr);
	if (!net_allowed(daddr, 32)) {
		fprintf(stderr, "synflood: refusing destination %s: not inside 198.18.0.0/15 or 10.0.0.0/8\n",
			dst);
		return 2;
	}
	if (!timeout_s) {
		timeout_s = count / rate + 5;
		if (timeout_s > MAX_TIMEOUT_S)
			timeout_s = MAX_TIMEOUT_S;
	}
	if (count / rate > timeout_s) {
		fprintf(stderr, "synflood: %lld SYNs at %lld/s cannot finish within %lld s\n",
			count, rate, timeout_s);
		return 2;
	}

	/* The hard bound on everything this process does. */
	signal(SIGALRM, tool_on_alarm);
	alarm((unsigned)timeout_s);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (seed < 0 && getrandom(&rng_state, sizeof(rng_state), 0) != sizeof(rng_state))
		rng_state = (uint64_t)now_ns();
	else if (seed >= 0)
		rng_state = (uint64_t)seed * 0x9e3779b97f4a7c15ULL;
	rng_state |= 1;

	/* IPPROTO_RAW implies IP_HDRINCL: we write the IP header ourselves */
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0) {
		fprintf(stderr, "synflood: raw socket: %s (needs CAP_NET_RAW)\n", strerror(errno));
		return 1;
	}
	sa.sin_addr = a;
	host_mask = ~mask_of(len);

	t0 = now_ns();
	for (i = 0; i < count; i++) {
		struct syn_pkt p;
		uint32_t saddr;
		uint16_t sport;
		long long due = t0 + i * 1000000000LL / rate;

		if (now_ns() < due)
			sleep_until_ns(due);
		do
			saddr = net | (rnd() & host_mask);
		while (saddr == daddr && host_mask);
		sport = (uint16_t)(1024 + rnd() % (65536 - 1024));
		build_syn(&p, saddr, daddr, sport, (uint16_t)port);
		if (sendto(fd, &p, sizeof(p), 0, (struct sockaddr *)&sa, sizeof(sa)) == sizeof(p)) {
			sent++;
		} else {
			if (!first_err)
				first_err = errno;
			errors++;
		}
	}
	t0 = now_ns() - t0;
	close(fd);
	printf("result=done sent=%lld errors=%lld errno=%d elapsed_ms=%lld rate=%lld pid=%d\n",
	       sent, errors, first_err, t0 / 1000000LL,
	       t0 > 0 ? sent * 1000000000LL / t0 : 0, (int)getpid());
	return sent ? 0 : 1;
}
