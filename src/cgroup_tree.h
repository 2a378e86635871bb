/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The cgroups at and below one cgroup, by id, for what user space judges
 * against --cgroup (the sockets open at start, from sock_diag); the
 * kernel judges the rest by the socket's ancestors. */
#ifndef SYNFIN_CGROUP_TREE_H
#define SYNFIN_CGROUP_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The kernel matches a socket by its cgroup's ancestors at levels 0-31
 * (SYNFIN_CGROUP_LEVELS): a named cgroup deeper than level 31 matches
 * nothing there, so the walk from the mount looks for it no deeper. */
#define CGROUP_TREE_LEVELS 32
/* Below the named cgroup the kernel matches at any depth: the walk goes
 * this far below the mount, a bound on the directories it holds open
 * (one a level) far past any real hierarchy's. */
#define CGROUP_TREE_MAX_DEPTH 256

/* The ids (a cgroup v2 directory's inode number is its cgroup id) of the
 * directory whose id is top and of every directory below it, found by
 * walking from dir (top itself, or a directory above it: the cgroup v2
 * mount, whose depths below it are cgroup levels), sorted. *ids is the
 * caller's to free; *n 0 when top was not found. Returns 0 or -errno. */
int cgroup_tree_collect(const char *dir, uint64_t top, uint64_t **ids, size_t *n);

/* Whether id is one of n sorted ids. */
bool cgroup_tree_has(const uint64_t *ids, size_t n, uint64_t id);

/* The first cgroup v2 mount in /proc/self/mounts, into buf; -ENOENT
 * when there is none. */
int cgroup_tree_mount(char *buf, size_t len);
/* ... in a file of that format. */
int cgroup_tree_mount_in(FILE *mounts, char *buf, size_t len);

#endif /* SYNFIN_CGROUP_TREE_H */
