/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hash_table.c - hash: files and inline:{} tables in an open-addressing string table */

#include <stdlib.h>
#include <string.h>

#include <mavis/alloc.h>

#include "maps_int.h"

struct hash_slot {
	const char *key;	/* NULL: empty */
	const char *value;
	uint32_t hash;
};

struct map_hash {
	size_t n;
	size_t mask;	/* capacity - 1, capacity a power of two */
	struct hash_slot *slot;
};

static unsigned char
lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* FNV-1a over the lowercased bytes, so that one hash serves exact and
   case-insensitive probes. The table holds config keys only, so a keyed hash
   against flooding buys nothing: lookups cannot add entries. */
static uint32_t
hash_ci(const char *s)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		h ^= lower(*p);
		h *= 16777619u;
	}
	return h;
}

/* stored is lowercase already. */
static bool
equal_ci(const char *stored, const char *key)
{
	const unsigned char *a = (const unsigned char *)stored;
	const unsigned char *b = (const unsigned char *)key;

	for (; *a && *a == lower(*b); a++, b++)
		;
	return *a == '\0' && *b == '\0';
}

int
mavis_map_kv_push(struct map_kv_vec *vec, char *key, const char *value,
		  unsigned long lineno, struct mavis_error *err)
{
	if (vec->n >= MAP_ENTRIES_MAX)
		return mavis_error_set(err, MAVIS_ERR_LIMIT, "more than %zu entries",
				       MAP_ENTRIES_MAX);
	if (vec->n == vec->cap) {
		vec->cap = vec->cap ? vec->cap * 2 : 64;
		vec->v = mavis_xrealloc(vec->v, vec->cap * sizeof(*vec->v));
	}
	vec->v[vec->n].key = key;
	vec->v[vec->n].value = value;
	vec->v[vec->n].lineno = lineno;
	vec->n++;
	return 0;
}

void
mavis_map_kv_release(struct map_kv_vec *vec)
{
	free(vec->v);
	memset(vec, 0, sizeof(*vec));
}

struct map_hash *
mavis_map_hash_build(struct mavis_arena *a, const struct map_kv_vec *kv)
{
	struct map_hash *h = mavis_arena_alloc(a, sizeof(*h));
	size_t cap = 8;

	/* Load factor at most 1/2 keeps linear probes short. */
	while (cap < kv->n * 2)
		cap *= 2;
	h->slot = mavis_arena_calloc(a, cap, sizeof(*h->slot));
	h->mask = cap - 1;
	for (size_t i = 0; i < kv->n; i++) {
		char *key = kv->v[i].key;
		uint32_t hv;
		size_t j;

		mavis_map_lower(key);
		hv = hash_ci(key);
		for (j = hv & h->mask; h->slot[j].key != NULL; j = (j + 1) & h->mask)
			if (h->slot[j].hash == hv && strcmp(h->slot[j].key, key) == 0)
				break;
		if (h->slot[j].key == NULL) {
			h->slot[j].key = key;
			h->slot[j].hash = hv;
			h->n++;
		}
		h->slot[j].value = kv->v[i].value != NULL ? kv->v[i].value : "1";
	}
	return h;
}

const char *
mavis_map_hash_get(const struct map_hash *h, const char *key, bool casefold)
{
	uint32_t hv;

	if (h->n == 0)
		return NULL;
	hv = hash_ci(key);
	for (size_t j = hv & h->mask; h->slot[j].key != NULL; j = (j + 1) & h->mask) {
		const struct hash_slot *s = &h->slot[j];

		if (s->hash == hv &&
		    (casefold ? equal_ci(s->key, key) : strcmp(s->key, key) == 0))
			return s->value;
	}
	return NULL;
}

size_t
mavis_map_hash_count(const struct map_hash *h)
{
	return h->n;
}

int
mavis_map_kv_load(const char *path, struct mavis_arena *a, struct map_kv_vec *out,
		  struct mavis_error *err)
{
	struct map_file f;
	struct map_lines it;
	const char *line;
	size_t len;
	int r;

	r = mavis_map_file_read(path, &f, err);
	if (r < 0)
		return r;
	mavis_map_lines_init(&it, &f);
	while ((r = mavis_map_lines_next(&it, &line, &len, err)) > 0) {
		char *key, *value;

		r = mavis_map_split_kv(a, line, len, &it, &key, &value, err);
		if (r < 0)
			break;
		if (key == NULL)
			continue;
		r = mavis_map_kv_push(out, key, value, it.lineno, err);
		if (r < 0) {
			mavis_error_prefix(err, "%s:%lu: ", path, it.lineno);
			break;
		}
	}
	mavis_map_file_release(&f);
	return r < 0 ? r : 0;
}

static const char *
trim(const char *s, size_t *len)
{
	while (*len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		(*len)--;
	}
	while (*len > 0 && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
		(*len)--;
	return s;
}

/* Offset of the first '=' outside quotes, or len. */
static size_t
find_eq(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"') {
			size_t q = mavis_map_quoted_len(s + i, len - i);

			if (q == 0)
				return len;
			i += q - 1;
			continue;
		}
		if (s[i] == '=')
			return i;
	}
	return len;
}

static int
inline_element(const char *s, size_t len, struct mavis_arena *a, struct map_kv_vec *out,
	       struct mavis_error *err)
{
	const char *k, *v;
	size_t klen, vlen, eq;
	const char *value = NULL;

	/* Postfix form "{ key = value with spaces }". */
	if (len >= 2 && s[0] == '{' && s[len - 1] == '}') {
		s++;
		len -= 2;
	}
	eq = find_eq(s, len);
	klen = eq;
	k = trim(s, &klen);
	if (klen == 0)
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "empty key in '%s'",
				       mavis_map_label(a, s, len));
	if (eq < len) {
		vlen = len - eq - 1;
		v = trim(s + eq + 1, &vlen);
		/* "k=" gets the default, like a key alone in a hash file. */
		if (vlen > 0)
			value = mavis_map_unquote(a, v, vlen);
	}
	return mavis_map_kv_push(out, mavis_map_is_quoted(k, klen) ?
				 mavis_map_unquote(a, k, klen) :
				 mavis_arena_strndup(a, k, klen),
				 value, 0, err);
}

int
mavis_map_inline_parse(const char *body, size_t len, struct mavis_arena *a,
		       struct map_kv_vec *out, struct mavis_error *err)
{
	struct spec_tok *tok;
	size_t n;
	int r;

	r = mavis_spec_lex(body, len, a, &tok, &n, err);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = inline_element(tok[i].raw, tok[i].len, a, out, err);
	return r;
}
