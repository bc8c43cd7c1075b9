/* SPDX-License-Identifier: GPL-2.0-or-later */
/* banned_rules.c - load and compile banned rule sets (format in banned.h) */

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/alloc.h>
#include <mavis/buf.h>
#include <mavis/filetype.h>

#include "checks/banned_int.h"

struct loader {
	struct mavis_banned_rules *r;
	const char *origin;
	unsigned line;
	struct mavis_banned_set *cur;
	struct mavis_error *err;
};

static int
load_error(struct loader *L, const char *fmt, ...) MAVIS_PRINTF(2, 3);

static int
load_error(struct loader *L, const char *fmt, ...)
{
	char text[MAVIS_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return mavis_error_set(L->err, MAVIS_ERR_CONFIG, "%s:%u: %s", L->origin, L->line, text);
}

static struct mavis_banned_set *
find_set(const struct mavis_banned_rules *r, const char *name, size_t len)
{
	for (size_t i = 0; i < r->nsets; i++)
		if (strlen(r->sets[i].name) == len && strncmp(r->sets[i].name, name, len) == 0)
			return &r->sets[i];
	return NULL;
}

static int
use_set(struct loader *L, const char *name, size_t len)
{
	struct mavis_banned_rules *r = L->r;
	struct mavis_banned_set *s = find_set(r, name, len);

	if (s == NULL) {
		if (r->nsets >= MAVIS_BANNED_SETS_MAX)
			return load_error(L, "more than %d rule sets", MAVIS_BANNED_SETS_MAX);
		if (r->nsets == r->cap) {
			size_t ncap = r->cap ? r->cap * 2 : 8;
			struct mavis_banned_set *ns = mavis_arena_calloc(r->arena, ncap, sizeof(*ns));

			if (r->nsets)
				memcpy(ns, r->sets, r->nsets * sizeof(*ns));
			r->sets = ns;
			r->cap = ncap;
		}
		s = &r->sets[r->nsets++];
		s->name = mavis_arena_strndup(r->arena, name, len);
	}
	L->cur = s;	/* valid until the next new set moves the array */
	return 0;
}

static bool
set_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-' || c == '+' ||
	       c == '@';
}

/* "(?#text)" groups of a regex, joined by spaces (amavisd's rule comment). */
static const char *
regex_comments(struct mavis_arena *a, const char *re)
{
	struct mavis_buf b = { 0 };
	const char *s = re, *c;
	char *out = NULL;

	while ((c = strstr(s, "(?#")) != NULL) {
		const char *e = strchr(c + 3, ')');
		const char *t = c + 3;

		if (e == NULL)
			break;
		while (t < e && isspace((unsigned char)*t))
			t++;
		size_t n = (size_t)(e - t);

		while (n > 0 && isspace((unsigned char)t[n - 1]))
			n--;
		if (n > 0) {
			if (b.len)
				mavis_buf_putc(&b, ' ');
			mavis_buf_append(&b, t, n);
		}
		s = e + 1;
	}
	if (b.len)
		out = mavis_arena_strdup(a, b.data);
	mavis_buf_free(&b);
	return out;
}

static int
add_rule(struct loader *L, const char *re, size_t re_len, uint32_t opts, const char *src,
	 const char *value)
{
	struct mavis_banned_rules *r = L->r;
	struct mavis_banned_set *s;
	struct mavis_banned_rule *rule;
	char *pattern;
	int ec;
	PCRE2_SIZE eo;

	if (r->total_rules >= MAVIS_BANNED_RULES_MAX)
		return load_error(L, "more than %d rules", MAVIS_BANNED_RULES_MAX);
	if (L->cur == NULL) {
		int rc = use_set(L, "DEFAULT", 7);

		if (rc < 0)
			return rc;
	}
	s = L->cur;
	pattern = mavis_arena_strndup(r->arena, re, re_len);
	if (s->nrules == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 16;
		struct mavis_banned_rule *nr = mavis_arena_calloc(r->arena, ncap, sizeof(*nr));

		if (s->nrules)
			memcpy(nr, s->rules, s->nrules * sizeof(*nr));
		s->rules = nr;
		s->cap = ncap;
	}
	rule = &s->rules[s->nrules];
	/* Keys are UTF-8 (names were made so) and matched as such; invalid
	   sequences cannot make a match fail with an error. */
	rule->code = pcre2_compile((PCRE2_SPTR)pattern, re_len,
				   opts | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ec, &eo, NULL);
	if (rule->code == NULL) {
		PCRE2_UCHAR msg[160];

		pcre2_get_error_message(ec, msg, sizeof(msg));
		return load_error(L, "regex %s: %s at offset %zu", src, (const char *)msg,
				  (size_t)eo);
	}
	(void)pcre2_jit_compile(rule->code, PCRE2_JIT_COMPLETE);
	rule->src = src;
	rule->value = value;
	rule->comment = regex_comments(r->arena, pattern);
	rule->line = L->line;
	s->nrules++;
	r->total_rules++;
	return 0;
}

/* Parse the value after "=>": a "quoted string" or a bare word. */
static int
parse_value(struct loader *L, const char **pp, const char *end, const char **out)
{
	const char *p = *pp;
	struct mavis_buf b = { 0 };

	if (p < end && *p == '"') {
		for (p++; p < end && *p != '"'; p++) {
			if (*p == '\\' && p + 1 < end)
				p++;
			mavis_buf_putc(&b, *p);
		}
		if (p >= end) {
			mavis_buf_free(&b);
			return load_error(L, "unterminated quoted value");
		}
		p++;
	} else {
		const char *s = p;

		while (p < end && !isspace((unsigned char)*p) && *p != '#')
			p++;
		if (p == s)
			return load_error(L, "missing value after =>");
		mavis_buf_append(&b, s, (size_t)(p - s));
	}
	*out = mavis_arena_strdup(L->r->arena, mavis_buf_str(&b));
	mavis_buf_free(&b);
	*pp = p;
	return 0;
}

static int
parse_line(struct loader *L, const char *p, const char *end)
{
	char delim;
	const char *re;
	size_t re_len;
	uint32_t opts = 0;
	const char *value = "1", *src;

	while (p < end && isspace((unsigned char)*p))
		p++;
	if (p == end || *p == '#')
		return 0;
	if (*p == '[') {
		const char *n = ++p;

		while (p < end && set_name_char(*p))
			p++;
		if (p == n || p >= end || *p != ']')
			return load_error(L, "bad set heading (want [NAME], NAME of A-Z a-z 0-9 _ . - + @)");
		int rc = use_set(L, n, (size_t)(p - n));

		if (rc < 0)
			return rc;
		for (p++; p < end && isspace((unsigned char)*p); p++)
			;
		if (p < end && *p != '#')
			return load_error(L, "text after set heading");
		return 0;
	}
	if (*p != '/' && *p != '\'')
		return load_error(L, "a rule starts with / or ' (got '%c')", *p);
	delim = *p++;
	re = p;
	while (p < end && *p != delim) {
		if (*p == '\\' && p + 1 < end)
			p++;
		p++;
	}
	if (p >= end)
		return load_error(L, "regex without closing %c", delim);
	re_len = (size_t)(p - re);
	for (p++; p < end && isalpha((unsigned char)*p); p++) {
		switch (*p) {
		case 'i': opts |= PCRE2_CASELESS; break;
		case 'x': opts |= PCRE2_EXTENDED; break;
		case 's': opts |= PCRE2_DOTALL; break;
		case 'm': opts |= PCRE2_MULTILINE; break;
		default: return load_error(L, "unknown regex flag '%c'", *p);
		}
	}
	src = mavis_arena_strndup(L->r->arena, re - 1, (size_t)(p - (re - 1)));
	while (p < end && isspace((unsigned char)*p))
		p++;
	if (p + 1 < end && p[0] == '=' && p[1] == '>') {
		int rc;

		for (p += 2; p < end && isspace((unsigned char)*p); p++)
			;
		rc = parse_value(L, &p, end, &value);
		if (rc < 0)
			return rc;
		while (p < end && isspace((unsigned char)*p))
			p++;
	}
	if (p < end && *p != '#')
		return load_error(L, "unexpected text after the rule");
	return add_rule(L, re, re_len, opts, src, value);
}

void
mavis_banned_free(struct mavis_banned_rules **rp)
{
	struct mavis_banned_rules *r = *rp;

	if (r == NULL)
		return;
	*rp = NULL;
	for (size_t i = 0; i < r->nsets; i++)
		for (size_t k = 0; k < r->sets[i].nrules; k++)
			pcre2_code_free(r->sets[i].rules[k].code);
	mavis_arena_free(&r->arena);
	free(r);
}

int
mavis_banned_load_text(const char *text, size_t len, const char *origin,
		       struct mavis_banned_rules **out, struct mavis_error *err)
{
	struct loader L = { .origin = origin ? origin : "(text)", .err = err };
	const char *p = text, *end = text + len;
	int rc = 0;

	*out = NULL;
	L.r = mavis_xcalloc(1, sizeof(*L.r));
	L.r->arena = mavis_arena_new(0);
	while (p < end && rc == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		L.line++;
		if (memchr(p, '\0', (size_t)(le - p)) != NULL)
			rc = load_error(&L, "NUL byte in rules text");
		else if ((size_t)(le - p) > MAVIS_BANNED_LINE_MAX)
			rc = load_error(&L, "line longer than %d bytes", MAVIS_BANNED_LINE_MAX);
		else
			rc = parse_line(&L, p, le > p && le[-1] == '\r' ? le - 1 : le);
		p = nl ? nl + 1 : end;
	}
	if (rc < 0) {
		mavis_banned_free(&L.r);
		return rc;
	}
	*out = L.r;
	return 0;
}

int
mavis_banned_load_file(const char *path, struct mavis_banned_rules **out,
		       struct mavis_error *err)
{
	FILE *f = fopen(path, "rb");
	struct mavis_buf b = { 0 };
	char chunk[8192];
	size_t n;
	int rc;

	*out = NULL;
	if (f == NULL)
		return mavis_error_set(err, MAVIS_ERR_IO, "%s: %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b.len + n > MAVIS_BANNED_FILE_MAX) {
			fclose(f);
			mavis_buf_free(&b);
			return mavis_error_set(err, MAVIS_ERR_LIMIT, "%s: larger than %d bytes",
					       path, MAVIS_BANNED_FILE_MAX);
		}
		mavis_buf_append(&b, chunk, n);
	}
	if (ferror(f)) {
		fclose(f);
		mavis_buf_free(&b);
		return mavis_error_set(err, MAVIS_ERR_IO, "%s: read error", path);
	}
	fclose(f);
	rc = mavis_banned_load_text(mavis_buf_str(&b), b.len, path, out, err);
	mavis_buf_free(&b);
	return rc;
}

bool
mavis_banned_has_set(const struct mavis_banned_rules *r, const char *name)
{
	return r != NULL && name != NULL && find_set(r, name, strlen(name)) != NULL;
}

size_t
mavis_banned_set_size(const struct mavis_banned_rules *r, const char *name)
{
	const struct mavis_banned_set *s =
		r != NULL && name != NULL ? find_set(r, name, strlen(name)) : NULL;

	return s ? s->nrules : 0;
}

int
mavis_banned_load_default(struct mavis_banned_rules **out, struct mavis_error *err)
{
	return mavis_banned_load_text((const char *)mavis_banned_default_text,
				      mavis_banned_default_text_len, MAVIS_BANNED_DEFAULT_ORIGIN, out,
				      err);
}

bool
mavis_banned_sees_text_types(const struct mavis_banned_rules *r)
{
	const char *const *types = mavis_filetype_all_short();
	pcre2_match_data *md;
	bool seen = false;

	if (r == NULL)
		return false;
	md = pcre2_match_data_create(1, NULL);
	if (md == NULL)
		return true;
	for (size_t t = 0; types[t] != NULL && !seen; t++) {
		char key[64];

		if (!mavis_filetype_text_derived(types[t]))
			continue;
		snprintf(key, sizeof(key), ".%s", types[t]);
		for (size_t i = 0; i < r->nsets && !seen; i++)
			for (size_t k = 0; k < r->sets[i].nrules && !seen; k++) {
				int rc = pcre2_match(r->sets[i].rules[k].code, (PCRE2_SPTR)key,
						     strlen(key), 0, 0, md, NULL);

				/* A match error (limit) counts as "sees": be safe. */
				seen = rc != PCRE2_ERROR_NOMATCH;
			}
	}
	pcre2_match_data_free(md);
	return seen;
}
