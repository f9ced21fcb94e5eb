/* SPDX-License-Identifier: Apache-2.0 */
/* A tiny unit-test harness: each test prints PASS/FAIL <file>:<name>; tests/run.sh counts
 * those lines. A failed assertion prints file:line and the expression, then ends the test. */
#ifndef T_H
#define T_H

#include <stdio.h>
#include <string.h>

static int t_failed, t_total_failed;

#define T_ASSERT(e)                                                                        \
	do {                                                                               \
		if (!(e)) {                                                                \
			printf("  %s:%d: assertion failed: %s\n", __FILE__, __LINE__, #e); \
			t_failed = 1;                                                      \
			return;                                                            \
		}                                                                          \
	} while (0)

#define T_EQ(a, b)                                                                              \
	do {                                                                                    \
		long long t_a_ = (long long)(a), t_b_ = (long long)(b);                         \
		if (t_a_ != t_b_) {                                                             \
			printf("  %s:%d: %s == %s: %lld != %lld\n", __FILE__, __LINE__, #a, #b, \
			       t_a_, t_b_);                                                     \
			t_failed = 1;                                                           \
			return;                                                                 \
		}                                                                               \
	} while (0)

#define T_STREQ(a, b)                                                                           \
	do {                                                                                    \
		const char *t_a_ = (a), *t_b_ = (b);                                            \
		if (!t_a_ || !t_b_ || strcmp(t_a_, t_b_)) {                                     \
			printf("  %s:%d: %s == %s: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a, \
			       #b, t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)");             \
			t_failed = 1;                                                           \
			return;                                                                 \
		}                                                                               \
	} while (0)

#define T_RUN(fn)                                                              \
	do {                                                                   \
		t_failed = 0;                                                  \
		fn();                                                          \
		printf("%s %s:%s\n", t_failed ? "FAIL" : "PASS", T_NAME, #fn); \
		fflush(stdout);                                                \
		t_total_failed += t_failed;                                    \
	} while (0)

#define T_EXIT() (t_total_failed ? 1 : 0)

#endif
