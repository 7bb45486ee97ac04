/*
 * A small test harness in the style of libuv's test/task.h: each check
 * prints file, line and both values when it fails; the runner prints
 * "N passed, N failed".
 */

#ifndef __H_TEST_H
#define __H_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

extern int	test_failed;
extern char	unit_tmpdir[];	/* a directory of the run's own */

#define TEST(name)	static void test_##name(void)

#define FAIL(...)	do {						\
	fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);		\
	fprintf(stderr, __VA_ARGS__);					\
	fprintf(stderr, "\n");						\
	test_failed = 1;						\
	return;								\
} while (0)

#define ASSERT(expr)	do {						\
	if (!(expr))							\
		FAIL("assertion failed: %s", #expr);			\
} while (0)

#define ASSERT_INT_EQ(a, b)	do {					\
	int64_t _a = (int64_t)(a), _b = (int64_t)(b);			\
	if (_a != _b)							\
		FAIL("%s == %s: %" PRId64 " != %" PRId64, #a, #b,	\
		    _a, _b);						\
} while (0)

#define ASSERT_STR_EQ(a, b)	do {					\
	const char *_a = (a), *_b = (b);				\
	if (_a == NULL || _b == NULL || strcmp(_a, _b) != 0)		\
		FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b,		\
		    _a ? _a : "(null)", _b ? _b : "(null)");		\
} while (0)

/* Runs TEST(name), counting it in *passed or *failed (int pointers). */
#define RUN(name)	do {						\
	test_failed = 0;						\
	test_##name();							\
	printf("%s %s\n", test_failed ? "FAIL" : "ok  ", #name);	\
	if (test_failed)						\
		(*failed)++;						\
	else								\
		(*passed)++;						\
} while (0)

#endif
