/* SPDX-License-Identifier: GPL-2.0-or-later */
/* harness.c - the tiny unit test harness (see harness.h) */

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"

int test_failures;
const char *test_current = "?";
static char tmpdir[256];

void
test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL %s:%d [%s]: ", file, line, test_current);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	test_failures++;
}

int
test_exit(void)
{
	if (tmpdir[0]) {
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "warning: could not remove %s\n", tmpdir);
	}
	if (test_failures) {
		fprintf(stderr, "%d check(s) failed\n", test_failures);
		return 1;
	}
	return 0;
}

const char *
test_data_path(const char *rel)
{
	static char bufs[8][1024];
	static int next;
	const char *base = getenv("MAVIS_TEST_DATA");
	char *b = bufs[next++ % 8];

	snprintf(b, 1024, "%s/%s", base ? base : "t/data", rel);
	return b;
}

const char *
test_tmpdir(void)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/mavis-test-XXXXXX");
		if (mkdtemp(tmpdir) == NULL) {
			perror("mkdtemp");
			exit(2);
		}
	}
	return tmpdir;
}

const char *
test_write_file(const char *name, const char *contents)
{
	static char bufs[8][512];
	static int next;
	char *p = bufs[next++ % 8];
	FILE *f;

	snprintf(p, 512, "%s/%s", test_tmpdir(), name);
	f = fopen(p, "w");
	if (f == NULL || fputs(contents, f) < 0 || fclose(f) != 0) {
		perror(p);
		exit(2);
	}
	return p;
}

char *
test_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}
