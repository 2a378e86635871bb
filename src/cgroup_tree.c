// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cgroup_tree.h"
#include "grow.h"

struct tree_walk {
	uint64_t top;
	uint64_t *ids;
	size_t n, cap;
	int err;
};

static int add_id(struct tree_walk *w, uint64_t id)
{
	uint64_t *p = grow_array(w->ids, &w->cap, w->n + 1, sizeof(*w->ids));

	if (!p)
		return -ENOMEM;
	w->ids = p;
	w->ids[w->n++] = id;
	return 0;
}

/* Walks the directory open at fd (closed here), whose id is id: inside
 * says whether top is it or above it. */
static void walk(struct tree_walk *w, int fd, uint64_t id, bool inside, int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *d;

	inside = inside || id == w->top;
	if (inside && (w->err = add_id(w, id))) {
		close(fd);
		return;
	}
	if (depth >= (inside ? CGROUP_TREE_MAX_DEPTH : CGROUP_TREE_LEVELS - 1) ||
	    !(d = fdopendir(fd))) {
		close(fd);
		return;
	}
	while (!w->err && (de = readdir(d))) {
		int sub;

		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue;  /* gone meanwhile, or not a directory */
		if (fstat(sub, &st)) {
			close(sub);
			continue;
		}
		walk(w, sub, st.st_ino, inside, depth + 1);
	}
	closedir(d);
}

static int id_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int cgroup_tree_collect(const char *dir, uint64_t top, uint64_t **ids, size_t *n)
{
	struct tree_walk w = { .top = top };
	struct stat st;
	int fd;

	*ids = NULL;
	*n = 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		int err = -errno;

		close(fd);
		return err;
	}
	walk(&w, fd, st.st_ino, false, 0);
	if (w.err) {
		free(w.ids);
		return w.err;
	}
	if (w.n > 1)
		qsort(w.ids, w.n, sizeof(*w.ids), id_cmp);
	*ids = w.ids;
	*n = w.n;
	return 0;
}

bool cgroup_tree_has(const uint64_t *ids, size_t n, uint64_t id)
{
	return n && bsearch(&id, ids, n, sizeof(*ids), id_cmp);
}

/* The kernel writes a mount point's space, tab, newline and backslash
 * as \040, \011, \012 and \134 (octal): undone in place. */
static void unescape_octal(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

int cgroup_tree_mount_in(FILE *mounts, char *buf, size_t len)
{
	char dev[256], dir[4096], type[64];

	while (fscanf(mounts, "%255s %4095s %63s %*[^\n]", dev, dir, type) == 3) {
		if (strcmp(type, "cgroup2"))
			continue;
		unescape_octal(dir);
		return (size_t)snprintf(buf, len, "%s", dir) < len ? 0 : -ENAMETOOLONG;
	}
	return -ENOENT;
}

int cgroup_tree_mount(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/mounts", "re");
	int ret;

	if (!f)
		return -errno;
	ret = cgroup_tree_mount_in(f, buf, len);
	fclose(f);
	return ret;
}
