/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sa_parse_util.c - arena strings and arrays for the SpamAssassin message parsers */

#include <string.h>

#include <mavis/log.h>

#include "sa/sa_parse_int.h"

/* sa_sb_grow - make room for n more bytes and the NUL */
static void
sa_sb_grow(struct sa_sb *b, struct mavis_arena *a, size_t n)
{
	size_t need, cap;
	char *p;

	if (b->len + n + 1 <= b->cap)
		return;
	need = b->len + n + 1;
	if (need < b->len)
		mavis_panic(__FILE__, __LINE__, "string size overflow");
	cap = b->cap ? b->cap : 32;
	while (cap < need)
		cap = cap * 2 > cap ? cap * 2 : need;
	p = mavis_arena_alloc_uninit(a, cap);
	if (b->len)
		memcpy(p, b->p, b->len);
	b->p = p;
	b->cap = cap;
}

void
sa_sb_add(struct sa_sb *b, struct mavis_arena *a, const char *s, size_t n)
{
	sa_sb_grow(b, a, n);
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
sa_sb_addc(struct sa_sb *b, struct mavis_arena *a, char c)
{
	sa_sb_add(b, a, &c, 1);
}

const char *
sa_sb_str(const struct sa_sb *b)
{
	return b->p ? b->p : "";
}

void
sa_vec_push(struct sa_vec *v, struct mavis_arena *a, void *p)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 8;
		void **nv = mavis_arena_calloc(a, cap, sizeof(*nv));

		if (v->n)
			memcpy(nv, v->v, v->n * sizeof(*nv));
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = p;
}

static size_t
strset_hash(const char *s)
{
	size_t h = 14695981039346656037ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

int
sa_strset_add(struct sa_strset *set, struct mavis_arena *a, const char *s)
{
	size_t i;

	if ((set->n + 1) * 2 > set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 32;
		const char **n = mavis_arena_calloc(a, cap, sizeof(*n));

		for (size_t j = 0; j < set->cap; j++) {
			if (!set->slot[j])
				continue;
			for (i = strset_hash(set->slot[j]) & (cap - 1); n[i]; i = (i + 1) & (cap - 1))
				;
			n[i] = set->slot[j];
		}
		set->slot = n;
		set->cap = cap;
	}
	for (i = strset_hash(s) & (set->cap - 1); set->slot[i]; i = (i + 1) & (set->cap - 1))
		if (strcmp(set->slot[i], s) == 0)
			return 0;
	set->slot[i] = s;
	set->n++;
	return 1;
}

bool
sa_strset_has(const struct sa_strset *set, const char *s, size_t n)
{
	size_t h = 14695981039346656037ULL, i;

	if (set->cap == 0)
		return false;
	for (size_t k = 0; k < n; k++)
		h = (h ^ (unsigned char)s[k]) * 1099511628211ULL;
	for (i = h & (set->cap - 1); set->slot[i]; i = (i + 1) & (set->cap - 1))
		if (strncmp(set->slot[i], s, n) == 0 && set->slot[i][n] == '\0')
			return true;
	return false;
}

const char **
sa_vec_strings(const struct sa_vec *v, struct mavis_arena *a)
{
	const char **out = mavis_arena_calloc(a, v->n + 1, sizeof(*out));

	for (size_t i = 0; i < v->n; i++)
		out[i] = v->v[i];
	return out;
}
