/* SPDX-License-Identifier: GPL-2.0-or-later */
/* banned_check.c - banned names and types over the decoded part tree */

#include <stdlib.h>
#include <string.h>

#include <mavis/alloc.h>
#include <mavis/buf.h>

#include "checks/banned_int.h"

#define MAX_TABLES 64		/* set names in one banned_rulenames list */
#define MATCH_LIMIT 1000000	/* PCRE2 backtracking bound per key */
#define HEAP_LIMIT_KIB 20480
#define SMTP_TEXT_MAX 400	/* keep the SMTP reply line well under 512 */

struct keylist {
	const char **k;
	size_t n, cap;
};

static void
key_add(struct keylist *kl, const char *k)
{
	if (kl->n == kl->cap) {
		kl->cap = kl->cap ? kl->cap * 2 : 32;
		kl->k = mavis_xrealloc(kl->k, kl->cap * sizeof(*kl->k));
	}
	kl->k[kl->n++] = k;
}

/* amavisd's traditional keys of one part: M..., .T..., N..., UNDECIPHERABLE.
   The ".T" strings are built in the arena. */
static void
part_keys(struct mavis_arena *a, const struct mavis_part *p, struct keylist *kl)
{
	if (p->mime_type != NULL && *p->mime_type)
		key_add(kl, p->mime_type);
	if (p->mime_type_eff != NULL && *p->mime_type_eff)
		key_add(kl, p->mime_type_eff);
	for (unsigned i = 0; i < p->nshort_types; i++)
		key_add(kl, mavis_arena_printf(a, ".%s", p->short_types[i]));
	for (unsigned i = 0; i < p->nnames; i++)
		key_add(kl, p->names[i]);
	if (p->attrs & MAVIS_PART_UNDECIPHERABLE)
		key_add(kl, "UNDECIPHERABLE");
}

static void
put_flat(struct mavis_buf *b, const char *s)
{
	/* amavisd: s/[\t\n]/ /g in the log form */
	for (; *s; s++)
		mavis_buf_putc(b, *s == '\t' || *s == '\n' ? ' ' : *s);
}

/* "P=p003,L=1/2,M=...,T=...,N=...,A=U" of one part. */
static void
part_attr_form(struct mavis_buf *b, const struct mavis_part *p)
{
	char at[7];

	mavis_buf_printf(b, "P=p%03u", p->id);
	if (p->placement && *p->placement) {
		mavis_buf_puts(b, ",L=");
		put_flat(b, p->placement);
	}
	if (p->mime_type && *p->mime_type) {
		mavis_buf_puts(b, ",M=");
		put_flat(b, p->mime_type);
	}
	if (p->mime_type_eff && *p->mime_type_eff) {
		mavis_buf_puts(b, ",M=");
		put_flat(b, p->mime_type_eff);
	}
	for (unsigned i = 0; i < p->nshort_types; i++) {
		mavis_buf_puts(b, ",T=");
		put_flat(b, p->short_types[i]);
	}
	for (unsigned i = 0; i < p->nnames; i++) {
		mavis_buf_puts(b, ",N=");
		put_flat(b, p->names[i]);
	}
	mavis_part_attr_letters(p->attrs, at);
	for (const char *c = at; *c; c++)
		mavis_buf_printf(b, ",A=%c", *c);
}

/* amavisd compacts runs of 6+ blanks in the reason to " ... ". */
static void
put_compact(struct mavis_buf *b, const char *s)
{
	while (*s) {
		size_t n = strspn(s, " \t");

		if (n >= 6) {
			mavis_buf_puts(b, " ... ");
			s += n;
		} else if (n > 0) {
			mavis_buf_append(b, s, n);
			s += n;
		} else {
			mavis_buf_putc(b, *s++);
		}
	}
}

/* Replace $1..$9 and ${1}..${9} in value with captures of the match. */
static const char *
expand_value(struct mavis_arena *a, const char *value, const char *subject,
	     pcre2_match_data *md, int rc)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	struct mavis_buf b = { 0 };
	const char *out;

	if (strchr(value, '$') == NULL)
		return value;
	for (const char *v = value; *v; v++) {
		int n = -1;
		const char *after = v;

		if (v[0] == '$' && v[1] >= '1' && v[1] <= '9')
			n = v[1] - '0', after = v + 2;
		else if (v[0] == '$' && v[1] == '{' && v[2] >= '1' && v[2] <= '9' && v[3] == '}')
			n = v[2] - '0', after = v + 4;
		if (n < 0) {
			mavis_buf_putc(&b, *v);
			continue;
		}
		if (n < rc && ov[2 * n] != PCRE2_UNSET)
			mavis_buf_append(&b, subject + ov[2 * n], ov[2 * n + 1] - ov[2 * n]);
		v = after - 1;
	}
	out = mavis_arena_strdup(a, mavis_buf_str(&b));
	mavis_buf_free(&b);
	return out;
}

struct matcher {
	const struct mavis_banned_set *tables[MAX_TABLES];
	size_t ntables;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
};

/* First rule (over all tables, in order) matching any key. Returns 1 with
   *rule, *key, *value set; 0 for none; MAVIS_ERR_LIMIT on a match limit. */
static int
match_keys(struct matcher *m, struct mavis_arena *a, const struct keylist *kl,
	   const struct mavis_banned_set **set, const struct mavis_banned_rule **rule,
	   const char **key, const char **value, struct mavis_error *err)
{
	for (size_t t = 0; t < m->ntables; t++) {
		const struct mavis_banned_set *s = m->tables[t];

		for (size_t r = 0; r < s->nrules; r++) {
			for (size_t k = 0; k < kl->n; k++) {
				int rc = pcre2_match(s->rules[r].code, (PCRE2_SPTR)kl->k[k],
						     strlen(kl->k[k]), 0, 0, m->md, m->mctx);

				if (rc == PCRE2_ERROR_NOMATCH)
					continue;
				if (rc < 0)
					return mavis_error_set(err, MAVIS_ERR_LIMIT,
							       "banned rule %s (%s line %u): pcre2 error %d on key",
							       s->rules[r].src, s->name,
							       s->rules[r].line, rc);
				*set = s;
				*rule = &s->rules[r];
				*key = kl->k[k];
				*value = expand_value(a, s->rules[r].value, kl->k[k], m->md,
						      rc == 0 ? 10 : rc);
				return 1;
			}
		}
	}
	return 0;
}

/* The parts from the outermost ancestor down to leaf, into *arr (heap,
   grown as needed); returns their number. */
static size_t
collect_path(const struct mavis_part *leaf, const struct mavis_part ***arr, size_t *cap)
{
	size_t depth = 0;

	for (const struct mavis_part *p = leaf; p != NULL; p = p->parent) {
		if (depth == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			*arr = mavis_xrealloc(*arr, *cap * sizeof(**arr));
		}
		(*arr)[depth++] = p;
	}
	for (size_t i = 0; i < depth / 2; i++) {
		const struct mavis_part *t = (*arr)[i];

		(*arr)[i] = (*arr)[depth - 1 - i];
		(*arr)[depth - 1 - i] = t;
	}
	return depth;
}

static bool
truthy(const char *v)
{
	return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}

/* Split "A, B C" into known sets; returns the first unknown name. */
static const char *
pick_tables(const struct mavis_banned_rules *rules, const char *names, struct matcher *m,
	    struct mavis_arena *a)
{
	const char *unknown = NULL;
	const char *p = names ? names : "DEFAULT";

	while (*p && m->ntables < MAX_TABLES) {
		size_t n;

		p += strspn(p, ", \t");
		n = strcspn(p, ", \t");
		if (n == 0)
			break;
		{
			const struct mavis_banned_set *s = NULL;

			for (size_t i = 0; rules && i < rules->nsets; i++)
				if (strlen(rules->sets[i].name) == n &&
				    strncmp(rules->sets[i].name, p, n) == 0)
					s = &rules->sets[i];
			if (s != NULL)
				m->tables[m->ntables++] = s;
			else if (unknown == NULL)
				unknown = mavis_arena_strndup(a, p, n);
		}
		p += n;
	}
	return unknown;
}

static void
fill_result(struct mavis_arena *a, struct mavis_banned_result *res,
	    const struct mavis_part *leaf, const struct mavis_banned_set *set,
	    const struct mavis_banned_rule *rule, const char *key, const char *value)
{
	const struct mavis_part **path = NULL;
	size_t cap = 0, depth = collect_path(leaf, &path, &cap);
	struct mavis_buf b = { 0 }, keys = { 0 };
	struct keylist kl = { 0 };

	/* path form and keys form, outermost first */
	for (size_t i = 0; i < depth; i++) {
		if (i > 0) {
			mavis_buf_puts(&b, " | ");
			mavis_buf_puts(&keys, " | ");
		}
		part_attr_form(&b, path[i]);
		kl.n = 0;
		part_keys(a, path[i], &kl);
		for (size_t k = 0; k < kl.n; k++) {
			if (k)
				mavis_buf_putc(&keys, ',');
			mavis_buf_puts(&keys, kl.k[k]);
		}
	}
	free(path);
	res->path = mavis_arena_strdup(a, mavis_buf_str(&b));
	res->path_keys = mavis_arena_strdup(a, mavis_buf_str(&keys));

	/* %F: "<comments>:" + the leaf's own keys */
	mavis_buf_reset(&b);
	if (rule->comment) {
		mavis_buf_puts(&b, rule->comment);
		mavis_buf_putc(&b, ':');
	}
	kl.n = 0;
	part_keys(a, leaf, &kl);
	{
		struct mavis_buf simple = { 0 };

		for (size_t k = 0; k < kl.n; k++) {
			if (k)
				mavis_buf_putc(&simple, ',');
			mavis_buf_puts(&simple, kl.k[k]);
		}
		put_compact(&b, mavis_buf_str(&simple));
		mavis_buf_free(&simple);
	}
	res->reason = mavis_arena_strdup(a, mavis_buf_str(&b));
	if (b.len > SMTP_TEXT_MAX) {
		size_t cut = SMTP_TEXT_MAX;

		while (cut > 0 && ((unsigned char)b.data[cut] & 0xc0) == 0x80)
			cut--;	/* not inside a UTF-8 character */
		res->smtp_text = mavis_arena_printf(a, "BANNED: %.*s...", (int)cut, b.data);
	} else {
		res->smtp_text = mavis_arena_printf(a, "BANNED: %s", b.data);
	}
	res->part = leaf;
	res->set = set->name;
	res->rule_line = rule->line;
	res->rule = rule->src;
	res->value = value;
	res->key = key;
	res->discard = strncmp(value, "DISCARD", 7) == 0;
	mavis_buf_free(&b);
	mavis_buf_free(&keys);
	free(kl.k);
}

int
mavis_banned_check(const struct mavis_banned_rules *rules, const char *set_names,
		   const struct mavis_decoded *d, struct mavis_arena *arena,
		   struct mavis_banned_result *res, struct mavis_error *err)
{
	struct matcher m = { .ntables = 0 };
	const struct mavis_part **queue = NULL;
	struct keylist kl = { 0 };
	const struct mavis_part **path = NULL;
	size_t head = 0, tail = 0, path_cap = 0;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	res->unknown_set = pick_tables(rules, set_names, &m, arena);
	if (m.ntables == 0 || d == NULL || d->nparts == 0)
		return 0;
	m.md = pcre2_match_data_create(10, NULL);
	m.mctx = pcre2_match_context_create(NULL);
	if (m.md == NULL || m.mctx == NULL) {
		rc = mavis_error_set(err, MAVIS_ERR_INTERNAL, "pcre2: out of memory");
		goto out;
	}
	pcre2_set_match_limit(m.mctx, MATCH_LIMIT);
	pcre2_set_heap_limit(m.mctx, HEAP_LIMIT_KIB);

	/* amavisd walks the tree breadth-first from the root's children. */
	queue = mavis_xcalloc(d->nparts, sizeof(*queue));
	for (size_t i = 0; i < d->nparts; i++)
		if (d->parts[i]->parent == NULL)
			queue[tail++] = d->parts[i];
	while (head < tail) {
		const struct mavis_part *p = queue[head++];
		size_t depth;
		const struct mavis_banned_set *set = NULL;
		const struct mavis_banned_rule *rule = NULL;
		const char *key = NULL, *value = NULL;

		for (size_t c = 0; c < p->nchildren && tail < d->nparts; c++)
			queue[tail++] = p->children[c];
		if (!p->is_leaf)
			continue;
		depth = collect_path(p, &path, &path_cap);
		kl.n = 0;
		for (size_t i = 0; i < depth; i++)
			part_keys(arena, path[i], &kl);
		rc = match_keys(&m, arena, &kl, &set, &rule, &key, &value, err);
		if (rc < 0)
			goto out;
		if (rc == 1 && truthy(value)) {
			if (!res->banned)
				fill_result(arena, res, p, set, rule, key, value);
			res->banned = true;
			res->nbanned++;
		}
		rc = 0;
	}
out:
	free(queue);
	free(path);
	free(kl.k);
	pcre2_match_data_free(m.md);
	pcre2_match_context_free(m.mctx);
	return rc;
}
