// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* floor: attaches bench/floor.bpf.c's do-nothing programs and waits for
 * SIGINT, so bench/run.sh can measure what the hooks alone cost the load.
 *   floor state    inet_sock_set_state only
 *   floor synfin   every hook synfin's default mode attaches
 *   floor A,B,...  the programs so named (to see what each hook costs)
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "floor.skel.h"

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

/* The word after the one at p in a comma-separated list, NULL after the
 * last. */
static const char *next_word(const char *p)
{
	const char *comma = strchr(p, ',');

	return comma ? comma + 1 : NULL;
}

/* name is one of the comma-separated words of list */
static bool listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p; p = next_word(p))
		if (!strncmp(p, name, n) && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

/* every word of list names a program of obj; else says which does not */
static bool known_names(struct bpf_object *obj, const char *list)
{
	char word[64];

	for (const char *p = list; p; p = next_word(p)) {
		size_t n = strcspn(p, ",");

		snprintf(word, sizeof(word), "%.*s", (int)n, p);
		if (!bpf_object__find_program_by_name(obj, word)) {
			fprintf(stderr, "floor: no program named '%s'\n", word);
			return false;
		}
	}
	return true;
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, args) : 0;
}

int main(int argc, char **argv)
{
	struct floor_bpf *skel = NULL;
	const char *set = argc == 2 ? argv[1] : "";
	struct bpf_program *prog;
	int err, n = 0;

	if (argc != 2 || !*set) {
		fprintf(stderr, "usage: floor state|synfin|PROG,PROG...\n");
		return 2;
	}
	libbpf_set_print(quiet);
	skel = floor_bpf__open();
	if (!skel) {
		err = -errno;
		fprintf(stderr, "floor: failed to open the BPF object: %s\n", strerror(-err));
		goto cleanup;
	}
	if (strcmp(set, "synfin") && !known_names(skel->obj, set)) {
		floor_bpf__destroy(skel);
		return 2;
	}
	bpf_object__for_each_program(prog, skel->obj) {
		if (strcmp(set, "synfin") && !listed(set, bpf_program__name(prog)))
			bpf_program__set_autoload(prog, false);
		else
			n++;
	}
	err = floor_bpf__load(skel);
	if (err) {
		fprintf(stderr, "floor: failed to load the BPF programs: %s\n", strerror(-err));
		goto cleanup;
	}
	err = floor_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "floor: failed to attach: %s\n", strerror(-err));
		goto cleanup;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	fprintf(stderr, "floor: ready (%d programs)\n", n);
	while (!stopping)
		pause();
cleanup:
	floor_bpf__destroy(skel);
	return err ? 1 : 0;
}
