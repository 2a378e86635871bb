// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The pure parts of the sock_diag seeding: inet_diag_msg decoding, the
 * "socket:[N]" fd link parser, and the role decision against listeners.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>

#include "unit.h"
#include "sockdiag.h"

/* A message as the kernel lays it out: header, inet_diag_msg, then an
 * INET_DIAG_PAD so the u64 cgroup id lands 8-byte aligned, then the id. */
struct diag_buf {
	union {
		struct nlmsghdr nlh;
		char raw[512];
	};
};

static size_t build_msg(struct diag_buf *b, uint8_t family, uint8_t state,
			uint8_t timer, const void *src, const void *dst,
			size_t alen, uint16_t sport, uint16_t dport,
			uint64_t cookie, uint64_t cgroup_id, int with_cgroup)
{
	struct inet_diag_msg *m;
	struct rtattr *rta;
	size_t len;

	memset(b, 0, sizeof(*b));
	m = NLMSG_DATA(&b->nlh);
	m->idiag_family = family;
	m->idiag_state = state;
	m->idiag_timer = timer;
	m->id.idiag_sport = htons(sport);
	m->id.idiag_dport = htons(dport);
	memcpy(m->id.idiag_src, src, alen);
	memcpy(m->id.idiag_dst, dst, alen);
	m->id.idiag_cookie[0] = (uint32_t)cookie;
	m->id.idiag_cookie[1] = (uint32_t)(cookie >> 32);
	m->idiag_uid = 1000;
	m->idiag_inode = 424242;
	len = NLMSG_LENGTH(sizeof(*m));
	if (with_cgroup) {
		rta = (struct rtattr *)(b->raw + NLMSG_ALIGN(len));
		rta->rta_type = INET_DIAG_PAD;
		rta->rta_len = RTA_LENGTH(0);
		len = NLMSG_ALIGN(len) + RTA_ALIGN(rta->rta_len);
		rta = (struct rtattr *)(b->raw + len);
		rta->rta_type = INET_DIAG_CGROUP_ID;
		rta->rta_len = RTA_LENGTH(sizeof(uint64_t));
		memcpy(RTA_DATA(rta), &cgroup_id, sizeof(cgroup_id));
		len += RTA_ALIGN(rta->rta_len);
	}
	b->nlh.nlmsg_len = (uint32_t)len;
	b->nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	return len;
}

static void test_parse_v4(void)
{
	uint8_t src[4] = { 10, 201, 0, 2 }, dst[4] = { 10, 201, 0, 1 };
	struct sockdiag_sock s;
	struct diag_buf b;

	build_msg(&b, AF_INET, SYNFIN_TCP_ESTABLISHED, 0, src, dst, 4, 9090,
		  58060, 0x123456789abcULL, 4242, 1);
	CHECK_EQ_INT(sockdiag_parse_msg(&b.nlh, &s), 0);
	CHECK_EQ_INT(s.family, SYNFIN_AF_INET);
	CHECK_EQ_INT(s.state, SYNFIN_TCP_ESTABLISHED);
	CHECK_EQ_INT(s.lport, 9090);
	CHECK_EQ_INT(s.rport, 58060);
	CHECK(memcmp(s.laddr, src, 4) == 0);
	CHECK(memcmp(s.raddr, dst, 4) == 0);
	/* IPv4 uses the first 4 bytes only; the rest must be clean. */
	CHECK(s.laddr[4] == 0 && s.laddr[15] == 0);
	CHECK_EQ_INT(s.cookie, 0x123456789abcULL);
	CHECK_EQ_INT(s.cgroup_id, 4242);
	CHECK_EQ_INT(s.inode, 424242);
	CHECK_EQ_INT(s.uid, 1000);
}

static void test_parse_v6_no_attrs(void)
{
	struct in6_addr src, dst;
	struct sockdiag_sock s;
	struct diag_buf b;

	inet_pton(AF_INET6, "2001:db8::1", &src);
	inet_pton(AF_INET6, "2001:db8::2", &dst);
	build_msg(&b, AF_INET6, SYNFIN_TCP_SYN_SENT, 1, &src, &dst, 16, 40000,
		  443, 7, 0, 0);
	CHECK_EQ_INT(sockdiag_parse_msg(&b.nlh, &s), 0);
	CHECK_EQ_INT(s.family, SYNFIN_AF_INET6);
	CHECK(memcmp(s.laddr, &src, 16) == 0);
	CHECK(memcmp(s.raddr, &dst, 16) == 0);
	CHECK_EQ_INT(s.cookie, 7);
	CHECK_EQ_INT(s.cgroup_id, 0);
	CHECK_EQ_INT(s.timer, 1);
}

static void test_parse_bad(void)
{
	uint8_t a[4] = { 0 };
	struct sockdiag_sock s;
	struct diag_buf b;

	build_msg(&b, AF_INET, SYNFIN_TCP_ESTABLISHED, 0, a, a, 4, 1, 2, 1, 0, 0);
	b.nlh.nlmsg_len = NLMSG_LENGTH(sizeof(struct inet_diag_msg) - 1);
	CHECK_EQ_INT(sockdiag_parse_msg(&b.nlh, &s), -EBADMSG);

	build_msg(&b, AF_UNIX, SYNFIN_TCP_ESTABLISHED, 0, a, a, 4, 1, 2, 1, 0, 0);
	CHECK_EQ_INT(sockdiag_parse_msg(&b.nlh, &s), -EBADMSG);

	/* A cgroup attribute cut short is ignored, not read past. */
	build_msg(&b, AF_INET, SYNFIN_TCP_ESTABLISHED, 0, a, a, 4, 1, 2, 1, 99, 1);
	b.nlh.nlmsg_len -= 4;
	CHECK_EQ_INT(sockdiag_parse_msg(&b.nlh, &s), 0);
	CHECK_EQ_INT(s.cgroup_id, 0);
}

/* Append an attribute at *len; nests are closed by put_end. */
static struct rtattr *put_attr(struct diag_buf *b, size_t *len, uint16_t type,
			       const void *data, size_t n)
{
	struct rtattr *rta = (struct rtattr *)(b->raw + *len);

	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(n);
	if (n)
		memcpy(RTA_DATA(rta), data, n);
	*len += RTA_ALIGN(rta->rta_len);
	return rta;
}

static void put_end(struct diag_buf *b, struct rtattr *nest, size_t len)
{
	nest->rta_len = (unsigned short)(b->raw + len - (char *)nest);
}

/* What the kernel sends for a socket with a value in the one sk storage
 * map asked for: nested, the flag set on the nests, the value padded to 8. */
static size_t build_storage_msg(struct diag_buf *b, const void *val, size_t n)
{
	uint8_t a[4] = { 10, 0, 0, 1 };
	uint32_t map_id = 77;
	struct rtattr *stgs, *stg;
	size_t len;

	len = build_msg(b, AF_INET, SYNFIN_TCP_CLOSE_WAIT, 0, a, a, 4, 80, 40000, 5, 99, 1);
	stgs = put_attr(b, &len, NLA_F_NESTED | INET_DIAG_SK_BPF_STORAGES, NULL, 0);
	stg = put_attr(b, &len, NLA_F_NESTED | SK_DIAG_BPF_STORAGE, NULL, 0);
	put_attr(b, &len, SK_DIAG_BPF_STORAGE_MAP_ID, &map_id, sizeof(map_id));
	put_attr(b, &len, SK_DIAG_BPF_STORAGE_PAD, NULL, 0);
	put_attr(b, &len, SK_DIAG_BPF_STORAGE_MAP_VALUE, val, n);
	put_end(b, stg, len);
	put_end(b, stgs, len);
	b->nlh.nlmsg_len = (uint32_t)len;
	return len;
}

static void test_parse_storage(void)
{
	uint8_t val[40];
	struct sockdiag_sock s;
	struct diag_buf b;

	for (size_t i = 0; i < sizeof(val); i++)
		val[i] = (uint8_t)(i * 7 + 1);
	build_storage_msg(&b, val, sizeof(val));
	CHECK_EQ_INT(sockdiag_parse_msg(&b.nlh, &s), 0);
	CHECK_EQ_INT(s.state, SYNFIN_TCP_CLOSE_WAIT);
	CHECK_EQ_INT(s.cgroup_id, 99);
	CHECK(s.storage != NULL);
	CHECK_EQ_INT(s.storage_len, sizeof(val));
	CHECK(s.storage && memcmp(s.storage, val, sizeof(val)) == 0);

	/* a message cut inside the value: no value, nothing read past it */
	build_storage_msg(&b, val, sizeof(val));
	b.nlh.nlmsg_len -= 8;
	CHECK_EQ_INT(sockdiag_parse_msg(&b.nlh, &s), 0);
	CHECK(s.storage == NULL);
	CHECK_EQ_INT(s.cgroup_id, 99);

	/* none asked for: none found */
	build_msg(&b, AF_INET, SYNFIN_TCP_CLOSE_WAIT, 0, val, val, 4, 80, 40000, 5, 0, 0);
	CHECK_EQ_INT(sockdiag_parse_msg(&b.nlh, &s), 0);
	CHECK(s.storage == NULL);
}

/* A full socket's reply carries INET_DIAG_SHUTDOWN unasked; a request
 * sock's (inet_req_diag_fill) carries no attribute but the mark. A Fast
 * Open child in SYN_RECV not yet accepted has no inode either: only this
 * tells it from a request sock. */
static void test_parse_full(void)
{
	uint8_t a[4] = { 10, 0, 0, 1 }, shutdown = 0;
	uint32_t mark = 7;
	struct sockdiag_sock s;
	struct diag_buf b;
	size_t len;

	len = build_msg(&b, AF_INET, SYNFIN_TCP_SYN_RECV, 1, a, a, 4, 80, 40000, 5, 0, 0);
	put_attr(&b, &len, INET_DIAG_MARK, &mark, sizeof(mark));
	b.nlh.nlmsg_len = (uint32_t)len;
	CHECK_EQ_INT(sockdiag_parse_msg(&b.nlh, &s), 0);
	CHECK(!s.full);

	len = build_msg(&b, AF_INET, SYNFIN_TCP_SYN_RECV, 1, a, a, 4, 80, 40000, 5, 99, 1);
	put_attr(&b, &len, INET_DIAG_SHUTDOWN, &shutdown, sizeof(shutdown));
	b.nlh.nlmsg_len = (uint32_t)len;
	CHECK_EQ_INT(sockdiag_parse_msg(&b.nlh, &s), 0);
	CHECK(s.full);
	CHECK_EQ_INT(s.cgroup_id, 99);
}

/* Only a refusal turns every later dump into one per family: a walk that
 * failed otherwise leaves the next one to try both at once again. */
static void test_refuses_both_families(void)
{
	CHECK(sockdiag_refuses_both_families(-EOPNOTSUPP));
	CHECK(sockdiag_refuses_both_families(-EINVAL));
	CHECK(sockdiag_refuses_both_families(-ENOENT));
	CHECK(!sockdiag_refuses_both_families(-ENOBUFS));
	CHECK(!sockdiag_refuses_both_families(-EMSGSIZE));
	CHECK(!sockdiag_refuses_both_families(-EPROTO));
	CHECK(!sockdiag_refuses_both_families(-ENOMEM));
	CHECK(!sockdiag_refuses_both_families(0));
}

static void test_seedable(void)
{
	struct sockdiag_sock s = { 0 };
	unsigned int st;

	for (st = 0; st < SYNFIN_TCP_MAX_STATES + 2; st++) {
		int want = st == SYNFIN_TCP_ESTABLISHED || st == SYNFIN_TCP_SYN_SENT ||
			   st == SYNFIN_TCP_FIN_WAIT1 ||
			   st == SYNFIN_TCP_FIN_WAIT2 || st == SYNFIN_TCP_CLOSE_WAIT ||
			   st == SYNFIN_TCP_LAST_ACK || st == SYNFIN_TCP_CLOSING;

		s.state = (uint8_t)st;
		s.timer = 0;
		CHECK_EQ_INT(sockdiag_is_seedable(&s), want);
	}
	/* A tw in substate FIN_WAIT2 looks like FIN_WAIT2 but for its timer. */
	s.state = SYNFIN_TCP_FIN_WAIT2;
	s.timer = 3;
	CHECK(!sockdiag_is_seedable(&s));
	/* A full orphaned FIN_WAIT2 (keepalive timer) is still a socket. */
	s.timer = 2;
	CHECK(sockdiag_is_seedable(&s));
}

static void test_socket_link(void)
{
	uint32_t ino = 0;

	CHECK_EQ_INT(sockdiag_parse_socket_link("socket:[8299]", &ino), 0);
	CHECK_EQ_INT(ino, 8299);
	CHECK_EQ_INT(sockdiag_parse_socket_link("socket:[4294967295]", &ino), 0);
	CHECK_EQ_INT(ino, 4294967295u);
	CHECK_EQ_INT(sockdiag_parse_socket_link("socket:[4294967296]", &ino), -EINVAL);
	CHECK_EQ_INT(sockdiag_parse_socket_link("socket:[99999999999999999999999]", &ino),
		     -EINVAL);
	CHECK_EQ_INT(sockdiag_parse_socket_link("socket:[]", &ino), -EINVAL);
	CHECK_EQ_INT(sockdiag_parse_socket_link("socket:[12a]", &ino), -EINVAL);
	CHECK_EQ_INT(sockdiag_parse_socket_link("socket:[12]x", &ino), -EINVAL);
	CHECK_EQ_INT(sockdiag_parse_socket_link("socket:[-1]", &ino), -EINVAL);
	CHECK_EQ_INT(sockdiag_parse_socket_link("socket:12", &ino), -EINVAL);
	CHECK_EQ_INT(sockdiag_parse_socket_link("pipe:[12]", &ino), -EINVAL);
	CHECK_EQ_INT(sockdiag_parse_socket_link("/dev/null", &ino), -EINVAL);
	CHECK_EQ_INT(sockdiag_parse_socket_link("", &ino), -EINVAL);
	CHECK_EQ_INT(ino, 4294967295u); /* untouched by failures */
}

static void set_addr(uint8_t *dst, int family, const char *s)
{
	memset(dst, 0, SYNFIN_ADDR_LEN);
	CHECK_EQ_INT(inet_pton(family, s, dst), 1);
}

static void add_listener(struct sockdiag_listener *l, uint32_t netns,
			 int family, const char *addr, uint16_t port)
{
	l->netns = netns;
	l->family = (uint8_t)family;
	l->port = port;
	set_addr(l->addr, family, addr);
}

static void test_role(void)
{
	struct sockdiag_listener ls[6];
	uint8_t a[SYNFIN_ADDR_LEN];
	size_t n = 0;

	/* Deliberately unsorted. */
	add_listener(&ls[n++], 200, AF_INET6, "::", 8080);        /* dual stack */
	add_listener(&ls[n++], 200, AF_INET, "10.201.0.2", 9090);
	add_listener(&ls[n++], 100, AF_INET, "0.0.0.0", 22);
	add_listener(&ls[n++], 100, AF_INET6, "2001:db8::1", 443);
	add_listener(&ls[n++], 100, AF_INET, "127.0.0.1", 5432);
	add_listener(&ls[n++], 300, AF_INET, "10.0.0.1", 80);
	sockdiag_sort_listeners(ls, n);

	set_addr(a, AF_INET, "10.201.0.2");
	CHECK_EQ_INT(sockdiag_role(ls, n, 200, AF_INET, a, 9090), ROLE_SERVER);
	/* Same port, other netns: a client there, not a server. */
	CHECK_EQ_INT(sockdiag_role(ls, n, 100, AF_INET, a, 9090), ROLE_UNKNOWN);
	/* Listener bound to another address on the same port. */
	set_addr(a, AF_INET, "10.201.0.3");
	CHECK_EQ_INT(sockdiag_role(ls, n, 200, AF_INET, a, 9090), ROLE_UNKNOWN);
	/* An ephemeral client port. */
	CHECK_EQ_INT(sockdiag_role(ls, n, 200, AF_INET, a, 38480), ROLE_UNKNOWN);

	/* "::" covers IPv4-mapped children and native IPv6 alike. */
	set_addr(a, AF_INET6, "::ffff:10.201.0.2");
	CHECK_EQ_INT(sockdiag_role(ls, n, 200, AF_INET6, a, 8080), ROLE_SERVER);
	set_addr(a, AF_INET6, "2001:db8::9");
	CHECK_EQ_INT(sockdiag_role(ls, n, 200, AF_INET6, a, 8080), ROLE_SERVER);

	/* "0.0.0.0" covers IPv4 and mapped, not native IPv6. */
	set_addr(a, AF_INET, "192.0.2.7");
	CHECK_EQ_INT(sockdiag_role(ls, n, 100, AF_INET, a, 22), ROLE_SERVER);
	set_addr(a, AF_INET6, "::ffff:192.0.2.7");
	CHECK_EQ_INT(sockdiag_role(ls, n, 100, AF_INET6, a, 22), ROLE_SERVER);
	set_addr(a, AF_INET6, "2001:db8::7");
	CHECK_EQ_INT(sockdiag_role(ls, n, 100, AF_INET6, a, 22), ROLE_UNKNOWN);

	/* A specific IPv4 listener matches its mapped form too. */
	set_addr(a, AF_INET6, "::ffff:127.0.0.1");
	CHECK_EQ_INT(sockdiag_role(ls, n, 100, AF_INET6, a, 5432), ROLE_SERVER);

	/* Specific IPv6. */
	set_addr(a, AF_INET6, "2001:db8::1");
	CHECK_EQ_INT(sockdiag_role(ls, n, 100, AF_INET6, a, 443), ROLE_SERVER);
	set_addr(a, AF_INET6, "2001:db8::2");
	CHECK_EQ_INT(sockdiag_role(ls, n, 100, AF_INET6, a, 443), ROLE_UNKNOWN);

	set_addr(a, AF_INET, "10.0.0.1");
	CHECK_EQ_INT(sockdiag_role(ls, n, 300, AF_INET, a, 80), ROLE_SERVER);
	CHECK_EQ_INT(sockdiag_role(ls, 0, 300, AF_INET, a, 80), ROLE_UNKNOWN);
}

static void test_fill_seed(void)
{
	uint8_t src[4] = { 10, 201, 0, 1 }, dst[4] = { 10, 201, 0, 2 };
	struct synfin_seed seed;
	struct sockdiag_sock s;
	struct diag_buf b;

	build_msg(&b, AF_INET, SYNFIN_TCP_CLOSE_WAIT, 0, src, dst, 4, 38480, 8080,
		  4097, 1, 1);
	CHECK_EQ_INT(sockdiag_parse_msg(&b.nlh, &s), 0);
	memset(&seed, 0xa5, sizeof(seed));
	sockdiag_fill_seed(&s, 4026532177u, &seed);
	CHECK_EQ_INT(seed.cookie, 4097);
	CHECK_EQ_INT(seed.family, SYNFIN_AF_INET);
	CHECK_EQ_INT(seed.state, SYNFIN_TCP_CLOSE_WAIT);
	CHECK_EQ_INT(seed.lport, 38480);
	CHECK_EQ_INT(seed.rport, 8080);
	CHECK(memcmp(seed.laddr, src, 4) == 0 && seed.laddr[4] == 0);
	CHECK(memcmp(seed.raddr, dst, 4) == 0);
	CHECK_EQ_INT(seed.netns, 4026532177u);
	CHECK_EQ_INT(seed.inode, 424242);
	CHECK_EQ_INT(seed.uid, 1000);
	CHECK_EQ_INT(seed.pid, 0);
	CHECK_EQ_INT(seed.comm[0], 0);
	CHECK_EQ_INT(seed.role, ROLE_UNKNOWN);
}

/* The requests as the kernel reads them: the per-family one is
 * SOCK_DIAG_BY_FAMILY with inet_diag_req_v2; the one for both families is
 * TCPDIAG_GETSOCK with the older inet_diag_req (AF_UNSPEC; the type names
 * TCP), whose states sit at another offset. Attributes start at the
 * aligned end of whichever header it is: a storage request placed after
 * the wrong one would be read as garbage. */
static void test_build_request(void)
{
	union {
		struct nlmsghdr nlh;
		char raw[SOCKDIAG_REQ_MAX];
	} b;
	const struct inet_diag_req_v2 *v2 = NLMSG_DATA(&b.nlh);
	const struct inet_diag_req *both = NLMSG_DATA(&b.nlh);
	const struct nlattr *stgs, *fd_attr;
	uint32_t states = (1u << 10) | (1u << 6);
	size_t len;
	uint32_t fd;

	len = sockdiag_build_request(b.raw, AF_INET6, states, -1, 7);
	CHECK_EQ_INT(len, NLMSG_LENGTH(sizeof(struct inet_diag_req_v2)));
	CHECK_EQ_INT(b.nlh.nlmsg_len, len);
	CHECK_EQ_INT(b.nlh.nlmsg_type, SOCK_DIAG_BY_FAMILY);
	CHECK_EQ_INT(b.nlh.nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
	CHECK_EQ_INT(b.nlh.nlmsg_seq, 7);
	CHECK_EQ_INT(v2->sdiag_family, AF_INET6);
	CHECK_EQ_INT(v2->sdiag_protocol, IPPROTO_TCP);
	CHECK_EQ_INT(v2->idiag_states, states);

	len = sockdiag_build_request(b.raw, AF_UNSPEC, states, -1, 8);
	CHECK_EQ_INT(len, NLMSG_LENGTH(sizeof(struct inet_diag_req)));
	CHECK_EQ_INT(b.nlh.nlmsg_len, len);
	CHECK_EQ_INT(b.nlh.nlmsg_type, TCPDIAG_GETSOCK);
	CHECK_EQ_INT(b.nlh.nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
	CHECK_EQ_INT(both->idiag_family, AF_UNSPEC);
	CHECK_EQ_INT(both->idiag_states, states);

	len = sockdiag_build_request(b.raw, AF_UNSPEC, states, 42, 9);
	stgs = (const struct nlattr *)(b.raw + NLMSG_ALIGN(NLMSG_LENGTH(sizeof(*both))));
	fd_attr = (const struct nlattr *)((const char *)stgs + NLA_HDRLEN);
	memcpy(&fd, (const char *)fd_attr + NLA_HDRLEN, sizeof(fd));
	CHECK_EQ_INT(both->idiag_states, states);
	CHECK_EQ_INT(stgs->nla_type, NLA_F_NESTED | INET_DIAG_REQ_SK_BPF_STORAGES);
	CHECK_EQ_INT(stgs->nla_len, 2 * NLA_HDRLEN + sizeof(uint32_t));
	CHECK_EQ_INT(fd_attr->nla_type, SK_DIAG_BPF_STORAGE_REQ_MAP_FD);
	CHECK_EQ_INT(fd, 42);
	CHECK_EQ_INT(len, (const char *)stgs - b.raw + stgs->nla_len);
	CHECK_EQ_INT(b.nlh.nlmsg_len, len);

	len = sockdiag_build_request(b.raw, AF_INET, states, 42, 10);
	stgs = (const struct nlattr *)(b.raw + NLMSG_ALIGN(NLMSG_LENGTH(sizeof(*v2))));
	CHECK_EQ_INT(stgs->nla_type, NLA_F_NESTED | INET_DIAG_REQ_SK_BPF_STORAGES);
	CHECK_EQ_INT(len, (const char *)stgs - b.raw + stgs->nla_len);
	CHECK_EQ_INT(v2->idiag_states, states);
}

/* A namespace's counters: the TCP line of sockstat (IPv4 sockets and
 * every tw sock) and the TCP6 line of sockstat6. A namespace is dumped
 * only when the states asked for could be there. */
/* The dump socket takes the kernel's replies and nothing else: a reply
 * forged by another socket is refused at its send, and a real dump still
 * comes back (to its end, NLMSG_DONE, with this process's own listener). */
static void test_socket_kernel_only(void)
{
	struct sockaddr_nl self = { 0 }, to = { .nl_family = AF_NETLINK };
	struct sockaddr_in lsa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t slen = sizeof(self), llen = sizeof(lsa);
	char req[SOCKDIAG_REQ_MAX], buf[65536];
	struct nlmsghdr forged = {
		.nlmsg_len = NLMSG_LENGTH(0), .nlmsg_type = NLMSG_DONE, .nlmsg_seq = 7,
	};
	int fd = sockdiag_socket(), other = -1, lfd = -1, done = 0, mine = 0;
	size_t len;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	other = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	CHECK(other >= 0);
	CHECK(!getsockname(fd, (struct sockaddr *)&self, &slen) && self.nl_pid);
	to.nl_pid = self.nl_pid;
	CHECK(sendto(other, &forged, forged.nlmsg_len, 0, (struct sockaddr *)&to, sizeof(to)) < 0);
	CHECK_EQ_INT(errno, ECONNREFUSED);

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(lfd >= 0 && !bind(lfd, (struct sockaddr *)&lsa, sizeof(lsa)) && !listen(lfd, 1) &&
	      !getsockname(lfd, (struct sockaddr *)&lsa, &llen));
	len = sockdiag_build_request(req, SYNFIN_AF_INET, 1u << SYNFIN_TCP_LISTEN, -1, 7);
	CHECK(send(fd, req, len, 0) == (ssize_t)len);
	for (int rounds = 0; !done && rounds < 1000; rounds++) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		int left = (int)n;

		if (n <= 0)
			break;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left);
		     h = NLMSG_NEXT(h, left)) {
			struct sockdiag_sock s;

			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				done = h->nlmsg_type == NLMSG_DONE;
				break;
			}
			if (!sockdiag_parse_msg(h, &s) && s.lport == ntohs(lsa.sin_port))
				mine++;
		}
	}
	CHECK(done);
	CHECK_EQ_INT(mine, 1);
	if (lfd >= 0)
		close(lfd);
	if (other >= 0)
		close(other);
	close(fd);
}

static void test_sockstat(void)
{
	const char *v4 = "sockets: used 9\nTCP: inuse 3 orphan 1 tw 23201 alloc 40 mem 398\n"
			 "UDP: inuse 0 mem 0\n";
	const char *v6 = "TCP6: inuse 2\nUDP6: inuse 0\n";
	const char *v4_none = "sockets: used 9\nTCP: inuse 0 orphan 0 tw 0 alloc 1 mem 0\n";
	const char *v6_none = "TCP6: inuse 0\n";
	uint32_t listen = 1u << SYNFIN_TCP_LISTEN, syn_recv = 1u << SYNFIN_TCP_SYN_RECV;
	uint32_t tw = 1u << SYNFIN_TCP_TIME_WAIT, fin_wait2 = 1u << SYNFIN_TCP_FIN_WAIT2;
	struct sockdiag_tcp_count n;

	CHECK_EQ_INT(sockdiag_parse_sockstat(v4, v6, &n), 0);
	CHECK_EQ_INT(n.full, 5);
	CHECK_EQ_INT(n.tw, 23201);
	/* no sockstat6: a kernel without IPv6 */
	CHECK_EQ_INT(sockdiag_parse_sockstat(v4, NULL, &n), 0);
	CHECK_EQ_INT(n.full, 3);
	CHECK_EQ_INT(n.tw, 23201);
	CHECK_EQ_INT(sockdiag_parse_sockstat(v4_none, v6_none, &n), 0);
	CHECK_EQ_INT(n.full, 0);
	CHECK_EQ_INT(n.tw, 0);
	/* "UDP: inuse" must not pass for TCP, nor a line cut short */
	CHECK_EQ_INT(sockdiag_parse_sockstat("UDP: inuse 3\n", v6, &n), -EINVAL);
	CHECK_EQ_INT(sockdiag_parse_sockstat("TCP: inuse 3 orphan", v6, &n), -EINVAL);
	CHECK_EQ_INT(sockdiag_parse_sockstat(v4, "UDP6: inuse 2\n", &n), -EINVAL);
	CHECK_EQ_INT(sockdiag_parse_sockstat("xTCP: inuse 3 orphan 1 tw 2\n", v6, &n), -EINVAL);

	n = (struct sockdiag_tcp_count){ .full = 0, .tw = 0 };
	CHECK_EQ_INT(sockdiag_states_present(listen | syn_recv | tw, &n), 0);
	CHECK_EQ_INT(sockdiag_states_present(~0u, &n), 0);
	/* only tw socks: TIME_WAIT, or FIN_WAIT2 (an orphan's tw sock
	 * reports that substate), nothing else */
	n = (struct sockdiag_tcp_count){ .full = 0, .tw = 7 };
	CHECK_EQ_INT(sockdiag_states_present(listen | syn_recv | tw, &n), tw);
	CHECK_EQ_INT(sockdiag_states_present(fin_wait2, &n), fin_wait2);
	CHECK_EQ_INT(sockdiag_states_present(listen | syn_recv, &n), 0);
	/* full sockets and no tw sock: every state a full socket (or a
	 * request sock, which needs a listener) can be in, not TIME_WAIT,
	 * so a dump of listeners need not walk the established hash */
	n = (struct sockdiag_tcp_count){ .full = 1, .tw = 0 };
	CHECK_EQ_INT(sockdiag_states_present(listen | syn_recv, &n), listen | syn_recv);
	CHECK_EQ_INT(sockdiag_states_present(listen | tw, &n), listen);
	CHECK_EQ_INT(sockdiag_states_present(~0u, &n), ~0u & ~tw);
	CHECK_EQ_INT(sockdiag_states_present(tw, &n), 0);
	/* both */
	n = (struct sockdiag_tcp_count){ .full = 1, .tw = 7 };
	CHECK_EQ_INT(sockdiag_states_present(~0u, &n), ~0u);
}

static uint32_t sock_inode(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : (uint32_t)st.st_ino;
}

/* The scans of /proc, on this process's own sockets: one held here (in
 * two fds) and by two children forked after it was made; one made after
 * the forks, held here only. Any socket's fd reads socket:[inode], so a
 * pair of unix sockets will do, and no root is needed. */
static bool one_of3(uint32_t x, uint32_t a, uint32_t b, uint32_t c)
{
	return x == a || x == b || x == c;
}

static void test_find_holders(void)
{
	uint32_t self = (uint32_t)getpid(), kid[2] = { 0, 0 };
	struct synfin_seed c[2];
	int shared[2], own[2], go[2], copy = -1;
	pid_t pid[2] = { -1, -1 };
	char byte;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, shared) || pipe(go)) {
		CHECK(!"socketpair/pipe");
		return;
	}
	copy = dup(shared[0]);  /* one process, two fds: counted once */
	for (int k = 0; k < 2; k++) {
		pid[k] = fork();
		if (pid[k] == 0) {
			/* hold the copies until the parent is done */
			close(go[1]);
			while (read(go[0], &byte, 1) < 0 && errno == EINTR)
				;
			_exit(0);
		}
		kid[k] = (uint32_t)pid[k];
	}
	close(go[0]);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, own)) {
		CHECK(!"socketpair");
		goto cleanup;
	}

	memset(c, 0, sizeof(c));
	c[0].inode = sock_inode(shared[0]);
	c[1].inode = sock_inode(own[0]);
	CHECK_EQ_INT(sockdiag_find_two_holders(c, 2), 0);
	/* /proc's order names one first, another second, and counts both
	 * past the first */
	CHECK(one_of3(c[0].pid, self, kid[0], kid[1]));
	CHECK(one_of3(c[0].also_pid, self, kid[0], kid[1]) && c[0].also_pid != c[0].pid);
	CHECK(c[0].comm[0] && c[0].also_comm[0]);
	CHECK_EQ_INT(c[0].others, 2);
	CHECK_EQ_INT(c[1].pid, self);
	CHECK_EQ_INT(c[1].also_pid, 0);
	CHECK_EQ_INT(c[1].others, 0);

	/* the first only: no second is looked for, none counted */
	memset(c, 0, sizeof(c));
	c[0].inode = sock_inode(shared[0]);
	CHECK_EQ_INT(sockdiag_find_owners(c, 1), 0);
	CHECK(one_of3(c[0].pid, self, kid[0], kid[1]));
	CHECK_EQ_INT(c[0].also_pid, 0);
	CHECK_EQ_INT(c[0].others, 0);
	close(own[0]);
	close(own[1]);
cleanup:
	close(go[1]);
	for (int k = 0; k < 2; k++)
		if (pid[k] > 0)
			waitpid(pid[k], NULL, 0);
	if (copy >= 0)
		close(copy);
	close(shared[0]);
	close(shared[1]);
}

static const struct unit_case cases[] = {
	{ "sockdiag_parse_v4", test_parse_v4 },
	{ "sockdiag_parse_v6_no_attrs", test_parse_v6_no_attrs },
	{ "sockdiag_parse_bad", test_parse_bad },
	{ "sockdiag_parse_storage", test_parse_storage },
	{ "sockdiag_parse_full", test_parse_full },
	{ "sockdiag_refuses_both_families", test_refuses_both_families },
	{ "sockdiag_seedable", test_seedable },
	{ "sockdiag_socket_link", test_socket_link },
	{ "sockdiag_role", test_role },
	{ "sockdiag_fill_seed", test_fill_seed },
	{ "sockdiag_build_request", test_build_request },
	{ "sockdiag_sockstat", test_sockstat },
	{ "sockdiag_socket_kernel_only", test_socket_kernel_only },
	{ "sockdiag_find_holders", test_find_holders },
};

UNIT_MAIN(cases)
