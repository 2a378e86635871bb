/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A minimal unit-test harness: each TEST() is one case; CHECK failures are
 * printed with file:line and mark the case failed. The test binary prints
 * one "PASS name" / "FAIL name" line per case and exits non-zero on failure.
 */
#ifndef SYNFIN_UNIT_H
#define SYNFIN_UNIT_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

extern int unit_case_failed;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "  %s:%d: CHECK(%s) failed\n",          \
				__FILE__, __LINE__, #cond);                    \
			unit_case_failed = 1;                                  \
		}                                                              \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                     \
	do {                                                                   \
		long long _a = (long long)(a), _b = (long long)(b);            \
		if (_a != _b) {                                                \
			fprintf(stderr, "  %s:%d: %s == %lld, want %s == %lld\n", \
				__FILE__, __LINE__, #a, _a, #b, _b);           \
			unit_case_failed = 1;                                  \
		}                                                              \
	} while (0)

#define CHECK_EQ_STR(a, b)                                                     \
	do {                                                                   \
		const char *_a = (a), *_b = (b);                               \
		if (!_a || !_b || strcmp(_a, _b) != 0) {                       \
			fprintf(stderr, "  %s:%d: %s == \"%s\", want \"%s\"\n",  \
				__FILE__, __LINE__, #a, _a ? _a : "(null)",     \
				_b ? _b : "(null)");                           \
			unit_case_failed = 1;                                  \
		}                                                              \
	} while (0)

/* xorshift64: a fixed pseudo-random sequence from *state (non-zero), the
 * same every run, for tests that feed many shapes of input. */
static inline uint64_t unit_xorshift(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

struct unit_case {
	const char *name;
	void (*fn)(void);
};

/* Each test file defines: static const struct unit_case cases[] = {...};
 * and UNIT_MAIN(cases). */
#define UNIT_MAIN(cases)                                                       \
	int unit_case_failed;                                                  \
	int main(void)                                                         \
	{                                                                      \
		int failed = 0;                                                \
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) { \
			unit_case_failed = 0;                                  \
			cases[i].fn();                                         \
			printf("%s %s\n", unit_case_failed ? "FAIL" : "PASS",  \
			       cases[i].name);                                 \
			failed |= unit_case_failed;                            \
		}                                                              \
		return failed ? 1 : 0;                                         \
	}

#endif /* SYNFIN_UNIT_H */
