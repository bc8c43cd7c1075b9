/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_SA_PARSE_INT_H
#define MAVIS_SA_PARSE_INT_H

/*
 * Internal helpers shared by sa_html.c, sa_received.c and sa_uri.c: a
 * growable string and a growable pointer array, both in a message arena.
 * Growth doubles and copies, so an arena holds at most twice the final size.
 */

#include <stdbool.h>
#include <stddef.h>

#include <mavis/arena.h>

struct sa_sb {
	char *p;	/* NUL-terminated after len, or NULL when empty */
	size_t len;
	size_t cap;
};

struct sa_vec {
	void **v;
	size_t n;
	size_t cap;
};

/* Append n bytes of s. */
void sa_sb_add(struct sa_sb *b, struct mavis_arena *a, const char *s, size_t n);
void sa_sb_addc(struct sa_sb *b, struct mavis_arena *a, char c);
/* The string, "" when nothing was added. */
const char *sa_sb_str(const struct sa_sb *b);

void sa_vec_push(struct sa_vec *v, struct mavis_arena *a, void *p);
/* The elements as an array of strings (a copy in the arena, NULL-terminated). */
const char **sa_vec_strings(const struct sa_vec *v, struct mavis_arena *a);

/* A set of strings (open addressing), for de-duplicating in linear time. */
struct sa_strset {
	const char **slot;
	size_t n, cap;
};

/* Add s (not copied: it must live as long as the arena); returns 1 when it
   was new, 0 when it was there already. */
int sa_strset_add(struct sa_strset *set, struct mavis_arena *a, const char *s);
/* Is the n bytes at s (need not be NUL-terminated) in the set? Read-only:
   any number of threads may ask at once. */
bool sa_strset_has(const struct sa_strset *set, const char *s, size_t n);

/* ASCII helpers that never depend on the locale. */
static inline int
sa_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static inline int
sa_isalpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline int
sa_isdigit(int c)
{
	return c >= '0' && c <= '9';
}

static inline int
sa_isalnum(int c)
{
	return sa_isalpha(c) || sa_isdigit(c);
}

/* Perl's \s on octets: space, \t, \n, \v, \f, \r. */
static inline int
sa_isspace(int c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Perl's \w on octets (no locale, no unicode_strings). */
static inline int
sa_isword(int c)
{
	return sa_isalnum(c) || c == '_';
}

#endif
