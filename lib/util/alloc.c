/* SPDX-License-Identifier: GPL-2.0-or-later */
/* alloc.c - allocation wrappers that never return NULL */

#include <stdlib.h>
#include <string.h>

#include <mavis/alloc.h>
#include <mavis/log.h>

static void
oom(size_t size)
{
	/* Dying here is deliberate: the MTA's milter_default_action keeps the mail. */
	mavis_log_err(NULL, "out of memory allocating %zu bytes", size);
	abort();
}

void *
mavis_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		oom(size);
	return p;
}

void *
mavis_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		oom(n * size);
	return p;
}

void *
mavis_xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (p == NULL)
		oom(size);
	return p;
}

char *
mavis_xstrdup(const char *s)
{
	return mavis_xstrndup(s, strlen(s));
}

char *
mavis_xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = mavis_xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void
mavis_xfree(void *pp)
{
	void **p = pp;

	free(*p);
	*p = NULL;
}
