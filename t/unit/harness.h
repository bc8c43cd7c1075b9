/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_TEST_HARNESS_H
#define MAVIS_TEST_HARNESS_H

/*
 * Minimal table-driven test harness. Checks never use assert() (Release
 * builds drop it). A test program calls TEST_RUN(fn) for each test function
 * and returns test_exit(). Each failing CHECK prints file:line and the
 * expression; the program exits 1 if anything failed.
 */

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

extern int test_failures;
extern const char *test_current;

void test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int test_exit(void);
/* Path of a file under t/data (from $MAVIS_TEST_DATA); static buffer rotation. */
const char *test_data_path(const char *rel);
/* The whole file at path, NUL-terminated, malloc'd (the caller frees it);
   *len its size. NULL when it cannot be opened or read. */
char *test_slurp(const char *path, size_t *len);
/* Create a temp directory for this test (removed by test_exit); returns its path. */
const char *test_tmpdir(void);
/* Write contents to tmpdir/name, return the full path (static rotation). */
const char *test_write_file(const char *name, const char *contents);

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);     \
	} while (0)
#define CHECK_INT(a, b)                                                        \
	do {                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);            \
		if (a_ != b_)                                                  \
			test_fail(__FILE__, __LINE__, "%s == %lld, want %lld", \
				  #a, a_, b_);                                 \
	} while (0)
#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *a_ = (a), *b_ = (b);                               \
		if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)           \
			test_fail(__FILE__, __LINE__, "%s == \"%s\", want \"%s\"", \
				  #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
	} while (0)
#define TEST_RUN(fn)                                                           \
	do {                                                                   \
		test_current = #fn;                                            \
		fn();                                                          \
	} while (0)

#endif
