/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Golden files for the unit tests: tests/golden/FILE compared with what a
 * printer made; SYNFIN_UPDATE_GOLDEN=1 rewrites them. Included by the test
 * files that draw (ladders, the top screen).
 */
#ifndef SYNFIN_UNIT_GOLDEN_H
#define SYNFIN_UNIT_GOLDEN_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "unit.h"

static const char *golden_dir(bool create)
{
	static const char *const dirs[] = { "tests/golden", "../tests/golden" };
	static const char *const parents[] = { "tests", "../tests" };
	struct stat st;

	for (int i = 0; i < 2; i++)
		if (!stat(dirs[i], &st) && S_ISDIR(st.st_mode))
			return dirs[i];
	for (int i = 0; create && i < 2; i++)
		if (!stat(parents[i], &st) && S_ISDIR(st.st_mode) &&
		    !mkdir(dirs[i], 0755))
			return dirs[i];
	return NULL;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, n;
	char chunk[4096];
	FILE *m;

	if (!f)
		return NULL;
	m = open_memstream(&buf, &len);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(f);
	fclose(m);
	return buf;
}

/* Compare got with tests/golden/FILE, or write it there under
 * SYNFIN_UPDATE_GOLDEN=1 (review the diff before committing). */
static void golden_check(const char *file, const char *got)
{
	const char *update = getenv("SYNFIN_UPDATE_GOLDEN");
	bool write = update && !strcmp(update, "1");
	const char *dir = golden_dir(write);
	char path[512];
	char *want;

	CHECK(dir);
	if (!dir) {
		fprintf(stderr, "  no tests/golden (run from the repository root)\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (write) {
		FILE *f = fopen(path, "w");

		CHECK(f);
		if (!f)
			return;
		fputs(got, f);
		CHECK(fclose(f) == 0);
		fprintf(stderr, "  SYNFIN_UPDATE_GOLDEN=1: wrote %s\n", path);
		return;
	}
	want = slurp(path);
	if (!want) {
		fprintf(stderr, "  %s: %s (SYNFIN_UPDATE_GOLDEN=1 writes it)\n", path,
			strerror(errno));
		CHECK(want);
		return;
	}
	if (strcmp(want, got)) {
		const char *a = want, *b = got;
		int line = 1;

		while (*a && *a == *b) {
			if (*a == '\n')
				line++;
			a++, b++;
		}
		while (a > want && a[-1] != '\n')
			a--, b--;
		fprintf(stderr, "  %s differs at line %d:\n  want: %.*s\n  got:  %.*s\n"
			"  (SYNFIN_UPDATE_GOLDEN=1 rewrites it after review)\n", path, line,
			(int)strcspn(a, "\n"), a, (int)strcspn(b, "\n"), b);
		CHECK(!strcmp(want, got));
	}
	free(want);
}

#endif /* SYNFIN_UNIT_GOLDEN_H */
