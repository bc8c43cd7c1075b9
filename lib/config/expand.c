/* SPDX-License-Identifier: GPL-2.0-or-later */
/* expand.c - $name, ${name}, $(name) expansion of config values */

#include <ctype.h>
#include <string.h>

#include <mavis/buf.h>

#include "config_int.h"

#define EXPAND_MAX_DEPTH 20
#define EXPAND_MAX_LEN (1024 * 1024)

static int expand_rec(const struct mavis_config *cfg, const char *text, struct mavis_buf *out,
		      int depth, struct mavis_error *err);

/* The raw (unexpanded) text a reference resolves to: the file's setting or the
   table default. myhostname/mydomain are resolved before expansion starts. */
static const char *
raw_of(const struct mavis_config *cfg, int key)
{
	if (cfg->raw[key].text != NULL)
		return cfg->raw[key].text;
	return mavis_key_info(key)->def;
}

static int
expand_rec(const struct mavis_config *cfg, const char *text, struct mavis_buf *out, int depth,
	   struct mavis_error *err)
{
	const char *p = text;

	if (depth > EXPAND_MAX_DEPTH)
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "recursive $parameter expansion");
	while (*p) {
		const char *dollar = strchr(p, '$');
		char name[128];
		size_t n = 0;
		const char *after;
		int key;

		if (dollar == NULL) {
			mavis_buf_puts(out, p);
			break;
		}
		mavis_buf_append(out, p, (size_t)(dollar - p));
		p = dollar + 1;
		if (*p == '$') {
			mavis_buf_putc(out, '$');
			p++;
			continue;
		}
		if (*p == '{' || *p == '(') {
			char close = (*p == '{') ? '}' : ')';
			const char *end = strchr(p + 1, close);

			if (end == NULL)
				return mavis_error_set(err, MAVIS_ERR_CONFIG,
						       "unbalanced '%c' after '$'", *p);
			n = (size_t)(end - p - 1);
			if (n >= sizeof(name))
				return mavis_error_set(err, MAVIS_ERR_CONFIG,
						       "parameter name too long after '$'");
			memcpy(name, p + 1, n);
			after = end + 1;
		} else {
			while ((isalnum((unsigned char)p[n]) || p[n] == '_') && n < sizeof(name) - 1)
				n++;
			if (n == 0) {
				/* A lone '$' (end of a regex, "$/") stays literal. */
				mavis_buf_putc(out, '$');
				continue;
			}
			memcpy(name, p, n);
			after = p + n;
		}
		name[n] = '\0';
		key = mavis_key_find(name);
		if (key < 0)
			return mavis_error_set(err, MAVIS_ERR_CONFIG, "undefined parameter $%s",
					       name);
		int rc = expand_rec(cfg, raw_of(cfg, key), out, depth + 1, err);
		if (rc < 0)
			return rc;
		if (out->len > EXPAND_MAX_LEN)
			return mavis_error_set(err, MAVIS_ERR_LIMIT, "expansion too long");
		p = after;
	}
	return 0;
}

int
cfg_expand(const struct mavis_config *cfg, const char *text, struct mavis_arena *arena,
	   const char **out, struct mavis_error *err)
{
	struct mavis_buf b = { 0 };
	int rc;

	if (strchr(text, '$') == NULL) {
		*out = text;
		return 0;
	}
	rc = expand_rec(cfg, text, &b, 0, err);
	if (rc == 0)
		*out = mavis_arena_strdup(arena, mavis_buf_str(&b));
	mavis_buf_free(&b);
	return rc;
}
