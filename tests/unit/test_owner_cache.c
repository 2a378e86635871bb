// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The owner cache (owner_cache.h) with a scan of our own making: when it
 * scans, what it asks, what a scan's answer and the cache's each decide,
 * and the spacing of scans by their CPU time. A cached owner must be a
 * live process, so the live ones here are this process and the dead one a
 * child already reaped. */
#include <sys/wait.h>
#include <unistd.h>
#include "unit.h"
#include "clock.h"
#include "owner_cache.h"

#define SEC 1000000000ULL

/* What the fake scan knows: the holder of each inode, 0 for none, a
 * second process holding it, 0 for none, and how many besides the first
 * hold it (0: one when there is a second). */
static struct {
	uint32_t inode, pid, also_pid, others;
	const char *comm, *also_comm;
} holders[16];
static unsigned int nscans, last_asked;
static uint64_t burn_ns;  /* thread CPU each scan spends */

static int fake_scan(struct synfin_seed *cands, size_t n)
{
	uint64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);

	nscans++;
	last_asked = (unsigned int)n;
	for (size_t i = 0; i < n; i++) {
		for (size_t h = 0; h < sizeof(holders) / sizeof(holders[0]); h++) {
			if (holders[h].inode != cands[i].inode || !holders[h].pid)
				continue;
			cands[i].pid = holders[h].pid;
			strncpy(cands[i].comm, holders[h].comm, SYNFIN_COMM_LEN);
			if (!holders[h].also_pid)
				continue;
			cands[i].also_pid = holders[h].also_pid;
			strncpy(cands[i].also_comm, holders[h].also_comm, SYNFIN_COMM_LEN);
			cands[i].others = holders[h].others ? holders[h].others : 1;
		}
	}
	while (clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0 < burn_ns)
		;
	return 0;
}

static uint32_t dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return (uint32_t)pid;
}

/* A child that has exited and is not reaped yet; the caller reaps it. */
static uint32_t zombie_pid(void)
{
	char path[32], buf[256];
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (int i = 0; i < 1000; i++) {   /* bounded: up to 1 s */
		FILE *f = fopen(path, "r");
		char *paren = NULL;

		if (f && fgets(buf, sizeof(buf), f))
			paren = strrchr(buf, ')');
		if (f)
			fclose(f);
		if (paren && paren[1] == ' ' && paren[2] == 'Z')
			break;
		usleep(1000);
	}
	return (uint32_t)pid;
}

static void set_holder(int h, uint32_t inode, uint32_t pid, const char *comm)
{
	holders[h].inode = inode;
	holders[h].pid = pid;
	holders[h].comm = comm;
}

/* inode held by pid ("parent") and also_pid ("child") */
static void set_pair(int h, uint32_t inode, uint32_t pid, uint32_t also_pid)
{
	set_holder(h, inode, pid, "parent");
	holders[h].also_pid = also_pid;
	holders[h].also_comm = "child";
}

static void reset(void)
{
	memset(holders, 0, sizeof(holders));
	nscans = last_asked = 0;
	burn_ns = 0;
}

/* one socket asked about, with recorded as what stands when nobody is found */
static bool ask_one(struct owner_cache *oc, uint32_t inode, uint32_t recorded, uint64_t now,
		    struct live_owner *out)
{
	struct owner_want w = { .inode = inode, .owner = out };

	memset(out, 0, sizeof(*out));
	out->pid = recorded;
	owner_cache__resolve(oc, &w, 1, now);
	return w.found;
}

static void test_cache_and_scans(void)
{
	struct owner_cache oc = { .scan = fake_scan };
	uint32_t self = (uint32_t)getpid(), gone = dead_pid();
	struct live_owner o;
	uint64_t t = 100 * SEC;

	reset();
	set_holder(0, 7, self, "holder");
	/* new: scanned, found */
	CHECK(ask_one(&oc, 7, 0, t, &o));
	CHECK_EQ_INT(o.pid, self);
	CHECK_EQ_STR(o.comm, "holder");
	CHECK_EQ_INT(nscans, 1);
	/* known and alive: the cache answers, no scan */
	holders[0].comm = "renamed";
	CHECK(ask_one(&oc, 7, 0, t + SEC, &o));
	CHECK_EQ_STR(o.comm, "holder");
	CHECK_EQ_INT(nscans, 1);
	CHECK_EQ_INT(oc.n, 1);

	/* no holder: the recorded owner stands, and a socket missed is not
	 * asked about again before OWNER_RETRY_NS */
	CHECK(!ask_one(&oc, 9, 42, t + 2 * SEC, &o));
	CHECK_EQ_INT(o.pid, 42);
	CHECK_EQ_INT(nscans, 2);
	CHECK(!ask_one(&oc, 9, 42, t + 3 * SEC, &o));
	CHECK_EQ_INT(nscans, 2);
	CHECK(!ask_one(&oc, 9, 42, t + 2 * SEC + OWNER_RETRY_NS, &o));
	CHECK_EQ_INT(nscans, 3);
	/* the cache keeps only what was asked last: 7 is gone from it */
	CHECK_EQ_INT(oc.n, 0);

	/* a cached holder that died is asked about at once */
	set_holder(1, 11, gone, "parent");
	CHECK(ask_one(&oc, 11, 0, t + 20 * SEC, &o));
	CHECK_EQ_INT(o.pid, gone);
	CHECK_EQ_INT(nscans, 4);
	set_holder(1, 11, self, "child");
	CHECK(ask_one(&oc, 11, 0, t + 21 * SEC, &o));
	CHECK_EQ_INT(nscans, 5);
	CHECK_EQ_INT(o.pid, self);
	CHECK_EQ_STR(o.comm, "child");
	owner_cache__free(&oc);
}

/* refresh_ns: a cached holder that lives but no longer holds the socket
 * (a parent that closed its copy after a fork) is replaced within
 * refresh_ns, and every socket is asked about, not only the new ones */
static void test_refresh(void)
{
	struct owner_cache oc = { .scan = fake_scan, .refresh_ns = 10 * SEC };
	uint32_t self = (uint32_t)getpid(), parent = (uint32_t)getppid();
	struct live_owner o[2];
	struct owner_want w[2] = { { .inode = 5, .owner = &o[0] }, { .inode = 6, .owner = &o[1] } };
	uint64_t t = 100 * SEC;

	reset();
	set_holder(0, 5, parent, "parent");
	set_holder(1, 6, parent, "parent");
	memset(o, 0, sizeof(o));
	owner_cache__resolve(&oc, w, 2, t);
	CHECK(w[0].found && w[1].found && o[0].pid == parent);
	CHECK_EQ_INT(nscans, 1);
	set_holder(0, 5, self, "child");
	set_holder(1, 6, 0, NULL);   /* nobody holds it now */
	memset(o, 0, sizeof(o));
	o[1].pid = 42;        /* the kernel's record */
	owner_cache__resolve(&oc, w, 2, t + 9 * SEC);
	CHECK_EQ_INT(nscans, 1);
	CHECK_EQ_INT(o[0].pid, parent);
	memset(o, 0, sizeof(o));
	o[1].pid = 42;
	owner_cache__resolve(&oc, w, 2, t + 10 * SEC);
	CHECK_EQ_INT(nscans, 2);
	CHECK_EQ_INT(last_asked, 2);
	CHECK(w[0].found && o[0].pid == self);
	CHECK_EQ_STR(o[0].comm, "child");
	/* the cached answer was disproved: the record stands */
	CHECK(!w[1].found);
	CHECK_EQ_INT(o[1].pid, 42);
	CHECK_EQ_INT(oc.n, 1);
	owner_cache__free(&oc);
}

/* A scan of 2 ms of CPU at 1% of a core: the next one waits 200 ms, and
 * meanwhile a new socket keeps what stands and the cache still answers */
static void test_budget(void)
{
	struct owner_cache oc = { .scan = fake_scan, .budget_pct = 1 };
	uint32_t self = (uint32_t)getpid();
	struct live_owner o;
	uint64_t t = 100 * SEC;

	reset();
	burn_ns = 2000000;
	set_holder(0, 3, self, "one");
	set_holder(1, 4, self, "two");
	CHECK(ask_one(&oc, 3, 0, t, &o));
	CHECK_EQ_INT(nscans, 1);
	CHECK(oc.next_scan_ns >= t + 200000000ULL);
	CHECK(oc.next_scan_ns < t + 2 * SEC);   /* 20 ms of CPU would be a slow CI */
	CHECK(!ask_one(&oc, 4, 42, t + 100000000ULL, &o));
	CHECK_EQ_INT(nscans, 1);
	CHECK_EQ_INT(o.pid, 42);
	CHECK(ask_one(&oc, 4, 42, oc.next_scan_ns, &o));
	CHECK_EQ_INT(nscans, 2);
	CHECK_EQ_STR(o.comm, "two");
	owner_cache__free(&oc);
}

/* A second holder (a parent and the child it forked) comes with the
 * first, and the count of all past the first, from the scan and from the
 * cache; one that died since the scan is dropped from the cache's
 * answer, its count with it, and a socket not found has none. */
static void test_second_holder(void)
{
	struct owner_cache oc = { .scan = fake_scan };
	uint32_t self = (uint32_t)getpid(), parent = (uint32_t)getppid(), gone = dead_pid();
	struct live_owner o, also;
	uint32_t others;
	struct owner_want w = { .inode = 8, .owner = &o, .also = &also, .others = &others };
	uint64_t t = 100 * SEC;

	reset();
	set_pair(0, 8, self, parent);
	holders[0].others = 3;
	memset(&o, 0, sizeof(o));
	owner_cache__resolve(&oc, &w, 1, t);
	CHECK(w.found && o.pid == self && also.pid == parent);
	CHECK_EQ_STR(also.comm, "child");
	CHECK_EQ_INT(others, 3);
	CHECK_EQ_INT(nscans, 1);
	/* the cache's answer keeps it */
	memset(&also, 0xff, sizeof(also));
	others = 99;
	owner_cache__resolve(&oc, &w, 1, t + SEC);
	CHECK_EQ_INT(nscans, 1);
	CHECK(w.found && also.pid == parent);
	CHECK_EQ_STR(also.comm, "child");
	CHECK_EQ_INT(others, 3);

	/* the second one exits: the cache names the first alone */
	w.inode = 9;
	set_pair(1, 9, self, gone);
	owner_cache__resolve(&oc, &w, 1, t + 2 * SEC);
	CHECK_EQ_INT(nscans, 2);
	CHECK(w.found && also.pid == gone);   /* as the scan said */
	CHECK_EQ_INT(others, 1);
	owner_cache__resolve(&oc, &w, 1, t + 3 * SEC);
	CHECK_EQ_INT(nscans, 2);
	CHECK(w.found && o.pid == self && also.pid == 0);
	CHECK_EQ_INT(others, 0);

	/* nobody holds it: no second either */
	w.inode = 10;
	memset(&also, 0xff, sizeof(also));
	others = 99;
	owner_cache__resolve(&oc, &w, 1, t + 4 * SEC);
	CHECK(!w.found && also.pid == 0);
	CHECK_EQ_INT(others, 0);
	owner_cache__free(&oc);
}

/* A holder that exited and is not reaped (kill(0) still finds it) holds
 * no fds: the second is dropped from the cache's answer, the first asked
 * about again at once. Both caches, the listeners' and the CLOSE_WAIT
 * holders', take it so. */
static void test_zombie_holders(void)
{
	uint32_t self = (uint32_t)getpid(), zombie = zombie_pid();
	struct owner_cache oc = { .scan = fake_scan };
	struct live_owner o, also;
	struct owner_want w = { .inode = 12, .owner = &o, .also = &also };
	uint64_t t = 100 * SEC;

	reset();
	set_pair(0, 12, self, zombie);
	owner_cache__resolve(&oc, &w, 1, t);
	CHECK(w.found && also.pid == zombie);   /* as the scan said */
	owner_cache__resolve(&oc, &w, 1, t + SEC);
	CHECK_EQ_INT(nscans, 1);
	CHECK(w.found && o.pid == self && also.pid == 0);

	/* the first holder a zombie: asked about again at once */
	w.inode = 13;
	set_holder(1, 13, zombie, "parent");
	owner_cache__resolve(&oc, &w, 1, t + 2 * SEC);
	CHECK_EQ_INT(nscans, 2);
	set_holder(1, 13, self, "heir");
	owner_cache__resolve(&oc, &w, 1, t + 3 * SEC);
	CHECK_EQ_INT(nscans, 3);
	CHECK(w.found && o.pid == self);
	CHECK_EQ_STR(o.comm, "heir");
	owner_cache__free(&oc);
	waitpid((pid_t)zombie, NULL, 0);
}

/* Many sockets held by a few processes each: every socket of a live
 * holder is answered from the cache, every one of a gone or zombie holder
 * asked about again, however the holders' pids and the sockets' inodes
 * interleave. */
static void test_many_sockets_few_processes(void)
{
	uint32_t self = (uint32_t)getpid(), zombie = zombie_pid(), gone = dead_pid();
	uint32_t by[3] = { self, zombie, gone };
	struct owner_cache oc = { .scan = fake_scan };
	struct live_owner o[12];
	struct owner_want w[12];
	uint64_t t = 100 * SEC;
	int i;

	reset();
	for (i = 0; i < 12; i++) {
		set_holder(i, 100 + (uint32_t)i, by[i % 3], "holder");
		w[i] = (struct owner_want){ .inode = 100 + (uint32_t)i, .owner = &o[i] };
	}
	/* the first scan names them all, as it was told */
	owner_cache__resolve(&oc, w, 12, t);
	CHECK_EQ_INT(nscans, 1);
	for (i = 0; i < 12; i++)
		CHECK(w[i].found && o[i].pid == by[i % 3]);
	/* now the scan finds none: only the 8 of the zombie and the gone
	 * process are asked about, and the cache keeps the 4 of the live */
	for (i = 0; i < 12; i++)
		holders[i].pid = 0;
	owner_cache__resolve(&oc, w, 12, t + SEC);
	CHECK_EQ_INT(nscans, 2);
	CHECK_EQ_INT(last_asked, 8);
	for (i = 0; i < 12; i++)
		CHECK(w[i].found == (i % 3 == 0));
	owner_cache__free(&oc);
	waitpid((pid_t)zombie, NULL, 0);
}

static const struct unit_case cases[] = {
	{ "owner cache: scans for the new and the gone, the cache for the rest", test_cache_and_scans },
	{ "owner cache: a holder that changed is found within refresh_ns", test_refresh },
	{ "owner cache: scans spaced by their CPU within the budget", test_budget },
	{ "owner cache: a second holder, from the scan and the cache", test_second_holder },
	{ "owner cache: zombie holders taken as gone when asked", test_zombie_holders },
	{ "owner cache: many sockets of a few processes, each process asked once", test_many_sockets_few_processes },
};

UNIT_MAIN(cases)
