/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_ALLOC_H
#define MAVIS_ALLOC_H

#include <mavis/api.h>

/*
 * Allocation wrappers. They never return NULL: on exhaustion they log one line
 * and abort(), so that the MTA's milter_default_action (tempfail) keeps the mail.
 * Checking NULL at every call site would hide the one real failure.
 */

#include <stddef.h>

MAVIS_API void *mavis_xmalloc(size_t size);
MAVIS_API void *mavis_xcalloc(size_t n, size_t size);
MAVIS_API void *mavis_xrealloc(void *ptr, size_t size);
MAVIS_API char *mavis_xstrdup(const char *s);
MAVIS_API char *mavis_xstrndup(const char *s, size_t n);

/* free(*p) and set *p to NULL; no-op when *p is NULL. */
MAVIS_API void mavis_xfree(void *pp);

#endif
