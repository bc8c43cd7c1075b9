/* SPDX-License-Identifier: GPL-2.0-or-later */
/* common.c - what the spamd and rspamd clients share */

#include <stdlib.h>
#include <string.h>

#include <mavis/text.h>

#include "spam/spam_int.h"

static int
test_cmp(const void *x, const void *y)
{
	const struct mavis_spam_test *a = x, *b = y;

	return strcmp(a->name, b->name);
}

void
spam_tests_sort(struct mavis_spam_test *t, size_t n)
{
	if (n > 1)
		qsort(t, n, sizeof(*t), test_cmp);
}

const char *
spam_header_safe(struct mavis_arena *a, const char *s)
{
	size_t n = strlen(s);
	char *c;

	if (n > 1000)
		n = 1000;
	c = mavis_arena_strndup(a, s, n);
	mavis_text_scrub(c, strlen(c));
	return c;
}
