// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The address filters (--laddr/--raddr): what the parser accepts and
 * refuses, and which addresses the prefixes it makes take in, for both
 * families and for IPv4-mapped IPv6 addresses. The kernel's copy of the
 * match (bpf/synfin.bpf.c) is the same compare on the same words; the
 * integration test test_filters drives it with real connections.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include "unit.h"
#include "filter.h"
#include "options.h"

/* An address in synfin_event layout (IPv4 in the first 4 bytes). */
static uint8_t addr_of(const char *text, uint8_t out[SYNFIN_ADDR_LEN])
{
	memset(out, 0, SYNFIN_ADDR_LEN);
	if (inet_pton(AF_INET, text, out) == 1)
		return SYNFIN_AF_INET;
	if (inet_pton(AF_INET6, text, out) == 1)
		return SYNFIN_AF_INET6;
	fprintf(stderr, "  test address %s does not parse\n", text);
	unit_case_failed = 1;
	return 0;
}

struct prefixes {
	struct synfin_addr_prefix p[SYNFIN_ADDR_PREFIXES_MAX];
	uint8_t n;
	char err[256];
};

static int parse(struct prefixes *ps, const char *arg)
{
	ps->err[0] = '\0';
	return filter_parse_addrs(arg, ps->p, &ps->n, ps->err, sizeof(ps->err));
}

static bool takes(const struct prefixes *ps, const char *addr)
{
	uint8_t a[SYNFIN_ADDR_LEN];
	uint8_t family = addr_of(addr, a);

	return addr_passes(ps->p, ps->n, family, a);
}

static void test_ipv4_prefixes(void)
{
	struct prefixes ps = {};

	CHECK_EQ_INT(parse(&ps, "10.0.0.0/8,192.0.2.7"), 0);
	CHECK_EQ_INT(ps.n, 2);
	CHECK(takes(&ps, "10.0.0.0"));
	CHECK(takes(&ps, "10.255.255.255"));
	CHECK(!takes(&ps, "11.0.0.0"));
	CHECK(!takes(&ps, "9.255.255.255"));
	CHECK(takes(&ps, "192.0.2.7"));
	CHECK(!takes(&ps, "192.0.2.6"));
	CHECK(!takes(&ps, "192.0.2.8"));
	/* a dual-stack socket's IPv4 peer */
	CHECK(takes(&ps, "::ffff:10.1.2.3"));
	CHECK(takes(&ps, "::ffff:192.0.2.7"));
	CHECK(!takes(&ps, "::ffff:192.0.2.6"));
	/* the same 32 bits anywhere else in an IPv6 address are not it */
	CHECK(!takes(&ps, "::10.1.2.3"));
	CHECK(!takes(&ps, "2001:db8::a01:203"));
}

static void test_ipv6_prefixes(void)
{
	struct prefixes ps = {};

	CHECK_EQ_INT(parse(&ps, "2001:db8::/32"), 0);
	CHECK_EQ_INT(parse(&ps, "fe80::1"), 0);
	CHECK_EQ_INT(ps.n, 2);
	CHECK(takes(&ps, "2001:db8::1"));
	CHECK(takes(&ps, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
	CHECK(!takes(&ps, "2001:db9::"));
	CHECK(takes(&ps, "fe80::1"));
	CHECK(!takes(&ps, "fe80::2"));
	CHECK(!takes(&ps, "10.0.0.1"));
}

/* Lengths that are not a multiple of 8, and the edges 0 and the full one. */
static void test_lengths(void)
{
	struct prefixes ps = {};

	CHECK_EQ_INT(parse(&ps, "198.18.0.0/15"), 0);
	CHECK(takes(&ps, "198.18.0.1"));
	CHECK(takes(&ps, "198.19.255.255"));
	CHECK(!takes(&ps, "198.20.0.0"));
	CHECK(!takes(&ps, "198.17.255.255"));

	ps.n = 0;
	CHECK_EQ_INT(parse(&ps, "0.0.0.0/0"), 0);
	CHECK(takes(&ps, "1.2.3.4"));
	CHECK(takes(&ps, "::ffff:1.2.3.4"));
	CHECK(!takes(&ps, "2001:db8::1"));

	ps.n = 0;
	CHECK_EQ_INT(parse(&ps, "2001:db8::/33"), 0);
	CHECK(takes(&ps, "2001:db8:7fff::1"));
	CHECK(!takes(&ps, "2001:db8:8000::1"));

	ps.n = 0;
	CHECK_EQ_INT(parse(&ps, "::/0"), 0);
	CHECK(takes(&ps, "2001:db8::1"));
	CHECK(takes(&ps, "10.0.0.1"));

	ps.n = 0;
	CHECK_EQ_INT(parse(&ps, "2001:db8::1/128,10.9.8.7/32"), 0);
	CHECK(takes(&ps, "2001:db8::1"));
	CHECK(!takes(&ps, "2001:db8::"));
	CHECK(takes(&ps, "10.9.8.7"));
	CHECK(!takes(&ps, "10.9.8.6"));
}

static void test_no_prefixes_take_all(void)
{
	struct prefixes ps = {};

	CHECK(takes(&ps, "10.0.0.1"));
	CHECK(takes(&ps, "2001:db8::1"));
}

/* refused, with a reason that names the culprit */
static void check_refused(const char *arg, const char *names)
{
	struct prefixes ps = {};

	CHECK_EQ_INT(parse(&ps, arg), -EINVAL);
	if (!strstr(ps.err, names)) {
		fprintf(stderr, "  '%s': reason '%s' does not name '%s'\n", arg, ps.err, names);
		unit_case_failed = 1;
	}
	if (strchr(ps.err, '\n')) {
		fprintf(stderr, "  '%s': reason is more than one line\n", arg);
		unit_case_failed = 1;
	}
}

static void test_refused(void)
{
	struct prefixes ps = {};
	char many[256] = "";

	check_refused("", "empty");
	check_refused("10.0.0.1,", "empty entry");
	check_refused(",10.0.0.1", "empty entry");
	check_refused("10.0.0.1,,10.0.0.2", "empty entry");
	check_refused("example.com", "example.com");
	check_refused("10.0.0", "10.0.0");
	check_refused("10.0.0.256", "10.0.0.256");
	check_refused("10.0.0.0/33", "33");
	check_refused("2001:db8::/129", "129");
	check_refused("10.0.0.0/", "prefix length");
	check_refused("10.0.0.0/x", "'x'");
	check_refused("10.0.0.0/-1", "-1 is out of range");
	check_refused("10.1.2.3/8", "10.1.2.3/8");
	check_refused("2001:db8::1/32", "2001:db8::1/32");
	for (int i = 0; i < SYNFIN_ADDR_PREFIXES_MAX + 1; i++) {
		char one[32];

		snprintf(one, sizeof(one), "%s10.0.0.%d", i ? "," : "", i);
		strcat(many, one);
	}
	check_refused(many, "more than");
	/* the limit counts over repeated options too */
	CHECK_EQ_INT(parse(&ps, "10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.4"), 0);
	CHECK_EQ_INT(parse(&ps, "10.0.0.5,10.0.0.6,10.0.0.7,10.0.0.8"), 0);
	CHECK_EQ_INT(ps.n, SYNFIN_ADDR_PREFIXES_MAX);
	CHECK_EQ_INT(parse(&ps, "10.0.0.9"), -EINVAL);
}

/* filter_match, which judges the connections read at start: both
 * addresses, either list, and a NULL address not judged. */
static void test_filter_match(void)
{
	struct synfin_filter f = {};
	uint8_t l[SYNFIN_ADDR_LEN], r[SYNFIN_ADDR_LEN], fam;
	char err[256];

	CHECK_EQ_INT(filter_parse_addrs("10.1.0.0/16", f.raddrs, &f.nraddrs, err, sizeof(err)), 0);
	fam = addr_of("10.2.0.1", l);
	addr_of("10.1.0.9", r);
	CHECK(filter_match(&f, fam, l, 40000, r, 5000, 1, 1, 0));
	/* the local address is not the remote one */
	CHECK(!filter_match(&f, fam, r, 40000, l, 5000, 1, 1, 0));
	CHECK(filter_match(&f, fam, l, 40000, NULL, 5000, 1, 1, 0));
	CHECK_EQ_INT(filter_parse_addrs("10.3.0.0/16", f.laddrs, &f.nladdrs, err, sizeof(err)), 0);
	CHECK(!filter_match(&f, fam, l, 40000, r, 5000, 1, 1, 0));
	addr_of("10.3.7.7", l);
	CHECK(filter_match(&f, fam, l, 40000, r, 5000, 1, 1, 0));
	/* the other filters still apply */
	f.family = SYNFIN_AF_INET6;
	CHECK(!filter_match(&f, fam, l, 40000, r, 5000, 1, 1, 0));
}

/* Rows of top and the alerts: a listener bound to any address is not
 * judged by address, a bound one is; a row without an address is not. */
static void test_row_passes(void)
{
	struct synfin_filter f = {};
	uint8_t any4[SYNFIN_ADDR_LEN], any6[SYNFIN_ADDR_LEN], a[SYNFIN_ADDR_LEN];
	uint8_t fam4 = addr_of("0.0.0.0", any4), fam6 = addr_of("::", any6), fam;
	char err[256];

	CHECK_EQ_INT(filter_parse_addrs("10.1.0.0/16", f.laddrs, &f.nladdrs, err, sizeof(err)), 0);
	CHECK(filter_row_passes(&f, fam4, any4, 80, NULL, 0, 1, 1, "x"));
	CHECK(filter_row_passes(&f, fam6, any6, 80, NULL, 0, 1, 1, "x"));
	fam = addr_of("10.1.2.3", a);
	CHECK(filter_row_passes(&f, fam, a, 80, NULL, 0, 1, 1, "x"));
	fam = addr_of("10.2.2.3", a);
	CHECK(!filter_row_passes(&f, fam, a, 80, NULL, 0, 1, 1, "x"));
	/* a TIME_WAIT group toward a destination: judged by --raddr only */
	CHECK(filter_row_passes(&f, fam, NULL, 0, a, 5000, 1, 1, "x"));
	CHECK_EQ_INT(filter_parse_addrs("10.1.0.0/16", f.raddrs, &f.nraddrs, err, sizeof(err)), 0);
	CHECK(!filter_row_passes(&f, fam, NULL, 0, a, 5000, 1, 1, "x"));
	fam = addr_of("::ffff:10.1.9.9", a);
	CHECK(filter_row_passes(&f, fam, NULL, 0, a, 5000, 1, 1, "x"));
	/* a process's CLOSE_WAITs: no address to judge */
	CHECK(filter_row_passes(&f, fam, NULL, 0, NULL, 0, 1, 1, "x"));
	CHECK(filter_row_passes(NULL, fam, a, 80, a, 80, 1, 1, "x"));
}

/* -u: a number as it is, a name through the password database (root is
 * 0 on any system), and no one else. */
static void test_uid(void)
{
	struct synfin_filter f = { 0 };
	char err[256];
	uint32_t uid = 7;

	CHECK_EQ_INT(parse_uid("0", &uid, err, sizeof(err)), 0);
	CHECK_EQ_INT(uid, 0);
	CHECK_EQ_INT(parse_uid("4294967294", &uid, err, sizeof(err)), 0);
	CHECK_EQ_INT(uid, 4294967294u);
	uid = 7;
	CHECK_EQ_INT(parse_uid("root", &uid, err, sizeof(err)), 0);
	CHECK_EQ_INT(uid, 0);
	CHECK_EQ_INT(parse_uid("4294967295", &uid, err, sizeof(err)), -EINVAL);
	CHECK_EQ_INT(parse_uid("-1", &uid, err, sizeof(err)), -EINVAL);
	CHECK_EQ_INT(parse_uid("12abc", &uid, err, sizeof(err)), -EINVAL);
	CHECK_EQ_INT(parse_uid("", &uid, err, sizeof(err)), -EINVAL);
	CHECK_EQ_INT(parse_uid("no-such-user-synfin", &uid, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "no user named 'no-such-user-synfin'"));

	CHECK(filter_uid_passes(&f, 1000)); /* no -u: every uid */
	CHECK(filter_comm_passes(&f, "anything")); /* no -c: every name */
	f.have_uid = true;
	f.uid = 0;
	CHECK(filter_uid_passes(&f, 0));
	CHECK(!filter_uid_passes(&f, 1000));
}

/* -c on a name as records hold it, and on the rows of top and the alerts
 * (a row with no owner found does not pass, as under -p) */
static void test_comm(void)
{
	struct synfin_filter f = { .have_comm = true };

	memcpy(f.comm, "nginx", 6);
	CHECK(filter_comm_passes(&f, "nginx"));
	CHECK(!filter_comm_passes(&f, "nginx2"));
	CHECK(!filter_comm_passes(&f, "ngin"));
	CHECK(filter_row_passes(&f, SYNFIN_AF_INET, NULL, 0, NULL, 0, 1, 42, "nginx"));
	CHECK(!filter_row_passes(&f, SYNFIN_AF_INET, NULL, 0, NULL, 0, 1, 42, "sshd"));
	CHECK(!filter_row_passes(&f, SYNFIN_AF_INET, NULL, 0, NULL, 0, 1, 0, ""));
	/* a name of 15 bytes, the most the kernel keeps, against a full comm
	 * field with no NUL inside it */
	memcpy(f.comm, "systemd-resolve", 16);
	CHECK(filter_comm_passes(&f, "systemd-resolve"));
	CHECK(!filter_comm_passes(&f, "systemd-resolv"));
}

static const struct unit_case cases[] = {
	{ "filter_ipv4_prefixes", test_ipv4_prefixes },
	{ "filter_ipv6_prefixes", test_ipv6_prefixes },
	{ "filter_prefix_lengths", test_lengths },
	{ "filter_no_prefixes_take_all", test_no_prefixes_take_all },
	{ "filter_addrs_refused", test_refused },
	{ "filter_match_addresses", test_filter_match },
	{ "filter_row_passes", test_row_passes },
	{ "filter_uid", test_uid },
	{ "filter_comm", test_comm },
};

UNIT_MAIN(cases)
