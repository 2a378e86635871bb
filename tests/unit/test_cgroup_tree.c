// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The ids of a cgroup's tree, as --cgroup judges the connections open at
 * start: walked on a directory tree of our own (a cgroup v2 directory's
 * inode number is its id, and the walk reads nothing but directories and
 * their inode numbers), so no privilege or cgroup mount is needed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "unit.h"
#include "cgroup_tree.h"
#include "filter.h"

static char base[64];

static uint64_t make_dir(const char *rel)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	if (mkdir(path, 0700) || stat(path, &st))
		return 0;
	return st.st_ino;
}

static void remove_tree(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd))
		fprintf(stderr, "  could not remove %s\n", base);
}

/* root/{svc/{worker1/inner, worker2, cgroup.procs}, other} */
static void test_tree_collect(void)
{
	uint64_t svc, w1, inner, w2, other, *ids;
	char path[256];
	struct synfin_filter f = {};
	struct stat st;
	size_t n;
	FILE *file;

	snprintf(base, sizeof(base), "/tmp/synfin-cgtree-%d", (int)getpid());
	CHECK(!mkdir(base, 0700) && !stat(base, &st));
	svc = make_dir("svc");
	w1 = make_dir("svc/worker1");
	inner = make_dir("svc/worker1/inner");
	w2 = make_dir("svc/worker2");
	other = make_dir("other");
	CHECK(svc && w1 && inner && w2 && other);
	/* a cgroup's files (cgroup.procs and the like) are no cgroups */
	snprintf(path, sizeof(path), "%s/svc/cgroup.procs", base);
	file = fopen(path, "w");
	CHECK(file != NULL);
	if (file)
		fclose(file);

	/* from the top of the mount, the tree of svc: itself and below */
	CHECK_EQ_INT(cgroup_tree_collect(base, svc, &ids, &n), 0);
	CHECK_EQ_INT(n, 4);
	CHECK(cgroup_tree_has(ids, n, svc) && cgroup_tree_has(ids, n, w1) &&
	      cgroup_tree_has(ids, n, inner) && cgroup_tree_has(ids, n, w2));
	CHECK(!cgroup_tree_has(ids, n, other) && !cgroup_tree_has(ids, n, st.st_ino));
	for (size_t i = 1; i < n; i++)
		CHECK(ids[i - 1] < ids[i]);

	/* filter_match takes the tree, and the named cgroup without one */
	f.cgroup_id = svc;
	CHECK(filter_match(&f, 0, NULL, 0, NULL, 0, 0, svc, 0));
	CHECK(!filter_match(&f, 0, NULL, 0, NULL, 0, 0, inner, 0));
	f.cgroup_tree = ids;
	f.ncgroup_tree = n;
	CHECK(filter_match(&f, 0, NULL, 0, NULL, 0, 0, inner, 0));
	CHECK(filter_match(&f, 0, NULL, 0, NULL, 0, 0, w2, 0));
	CHECK(!filter_match(&f, 0, NULL, 0, NULL, 0, 0, other, 0));
	free(ids);

	/* a leaf: itself alone; the top: everything */
	CHECK_EQ_INT(cgroup_tree_collect(base, inner, &ids, &n), 0);
	CHECK(n == 1 && ids[0] == inner);
	free(ids);
	CHECK_EQ_INT(cgroup_tree_collect(base, st.st_ino, &ids, &n), 0);
	CHECK_EQ_INT(n, 6);
	free(ids);

	/* not there: nothing, and no error */
	CHECK_EQ_INT(cgroup_tree_collect(base, 1, &ids, &n), 0);
	CHECK(n == 0 && !ids);
	CHECK(!cgroup_tree_has(ids, n, 1));
	CHECK(cgroup_tree_collect("/nonexistent-synfin", svc, &ids, &n) < 0);
	remove_tree();
}

/* A chain base/c1/c2/.../c40 walked from base, as from the mount: the
 * kernel matches a named cgroup at level 31 or less with its descendants
 * at any depth, and one deeper than 31 with nothing. */
static void test_tree_deep(void)
{
	uint64_t chain[41] = {}, *ids;
	char rel[41 * 4] = "";
	struct stat st;
	size_t n, len = 0;

	snprintf(base, sizeof(base), "/tmp/synfin-cgdeep-%d", (int)getpid());
	CHECK(!mkdir(base, 0700) && !stat(base, &st));
	for (int i = 1; i <= 40; i++) {
		len += (size_t)snprintf(rel + len, sizeof(rel) - len, "%sc%d", i > 1 ? "/" : "", i);
		chain[i] = make_dir(rel);
		CHECK(chain[i] != 0);
	}
	/* level 1: all forty, the deepest 39 levels below it */
	CHECK_EQ_INT(cgroup_tree_collect(base, chain[1], &ids, &n), 0);
	CHECK_EQ_INT(n, 40);
	CHECK(cgroup_tree_has(ids, n, chain[40]) && cgroup_tree_has(ids, n, chain[33]));
	free(ids);
	/* level 31, the deepest the kernel can match: itself and the nine below */
	CHECK_EQ_INT(cgroup_tree_collect(base, chain[31], &ids, &n), 0);
	CHECK_EQ_INT(n, 10);
	free(ids);
	/* level 32: the kernel matches nothing, nor does the walk */
	CHECK_EQ_INT(cgroup_tree_collect(base, chain[32], &ids, &n), 0);
	CHECK(n == 0 && !ids);
	remove_tree();
}

/* The mount's line as the kernel writes it: a space in the path comes
 * as \040, a backslash as \134. */
static void test_mount_line(void)
{
	static const char mounts[] =
		"proc /proc proc rw,nosuid 0 0\n"
		"cgroup /sys/fs/cgroup/v1 cgroup rw 0 0\n"
		"cgroup2 /run/my\\040cg\\134x cgroup2 rw,nosuid 0 0\n"
		"cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n";
	char buf[64], tiny[8];
	FILE *f = fmemopen((void *)mounts, sizeof(mounts) - 1, "r");

	CHECK(f != NULL);
	CHECK_EQ_INT(cgroup_tree_mount_in(f, buf, sizeof(buf)), 0);
	CHECK_EQ_STR(buf, "/run/my cg\\x");
	fclose(f);
	f = fmemopen((void *)mounts, sizeof(mounts) - 1, "r");
	CHECK_EQ_INT(cgroup_tree_mount_in(f, tiny, sizeof(tiny)), -ENAMETOOLONG);
	fclose(f);
	f = fmemopen((void *)mounts, strlen("proc /proc proc rw,nosuid 0 0\n"), "r");
	CHECK_EQ_INT(cgroup_tree_mount_in(f, buf, sizeof(buf)), -ENOENT);
	fclose(f);
}

static const struct unit_case cases[] = {
	{ "cgroup tree: a cgroup's ids and those below it", test_tree_collect },
	{ "cgroup tree: as deep as the kernel matches", test_tree_deep },
	{ "cgroup tree: the mount's escaped path", test_mount_line },
};

UNIT_MAIN(cases)
