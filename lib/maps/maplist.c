/* SPDX-License-Identifier: GPL-2.0-or-later */
/* maplist.c - map lists: a spec becomes a list of tables; lookups take the first defined answer */

#include <string.h>

#include "maps_int.h"

enum table_kind { T_STATIC, T_HASH, T_PCRE, T_IP, T_ACL, T_EXT };

struct map_table {
	enum table_kind kind;
	const char *spec;	/* for results and logs */
	union {
		const char *value;
		struct map_hash *hash;
		struct map_pcre *pcre;
		struct mavis_iplist *ip;
		struct map_acl *acl;
		struct {
			const struct mavis_map_type *type;
			void *state;
		} ext;
	} u;
};

struct mavis_maplist {
	enum mavis_mapval kind;
	enum mavis_mapkey keytype;
	size_t n;
	struct map_table *t;
};

struct parse_ctx {
	enum mavis_mapval kind;
	enum mavis_mapkey keytype;
	const char *basedir;
	struct mavis_arena *a;
	struct mavis_error *err;
};

/* Names of back ends that may be registered at run time: no hint to quote. */
static const char *const db_types[] = { "pgsql", "mysql", "sqlite", "ldap", "redis" };

/* Length of a "name:" type prefix of tok, 0 when there is none. */
static size_t
type_prefix(const struct spec_tok *tok)
{
	size_t i = 0;

	if (!(tok->raw[0] >= 'a' && tok->raw[0] <= 'z'))
		return 0;
	while (i < tok->len && ((tok->raw[i] >= 'a' && tok->raw[i] <= 'z') ||
				(tok->raw[i] >= '0' && tok->raw[i] <= '9') || tok->raw[i] == '_'))
		i++;
	return i < tok->len && tok->raw[i] == ':' ? i : 0;
}

static bool
is_typed(const struct parse_ctx *c, const struct spec_tok *tok)
{
	struct ip_net net;

	if (type_prefix(tok) == 0)
		return false;
	/* "fe80::/10" in an IP list is a network, not a type called fe80. */
	if (c->keytype == MAVIS_MAPKEY_IP && mavis_ip_parse_net(tok->raw, tok->len, &net, NULL) == 0)
		return false;
	return true;
}

static const char *
resolve_path(const struct parse_ctx *c, const char *path)
{
	if (path[0] == '/' || c->basedir == NULL || c->basedir[0] == '\0')
		return path;
	return mavis_arena_printf(c->a, "%s/%s", c->basedir, path);
}

static int
check_values(const struct parse_ctx *c, const struct map_kv_vec *kv, const char *path)
{
	for (size_t i = 0; i < kv->n; i++) {
		if (kv->v[i].value == NULL ||
		    mavis_map_value_check(c->kind, kv->v[i].value, c->err) == 0)
			continue;
		if (path != NULL)
			mavis_error_prefix(c->err, "%s:%lu: ", path, kv->v[i].lineno);
		return c->err != NULL ? c->err->status : MAVIS_ERR_CONFIG;
	}
	return 0;
}

/* hash:, and inline: (body != NULL): a string table, or CIDRs for IP keys. */
static int
open_hash(const struct parse_ctx *c, const char *path, const char *body, size_t blen,
	  struct map_table *t)
{
	struct map_kv_vec kv = { 0 };
	int r;

	if (body != NULL)
		r = mavis_map_inline_parse(body, blen, c->a, &kv, c->err);
	else if (c->keytype == MAVIS_MAPKEY_IP)
		r = mavis_cidr_table_load(path, c->kind, c->a, &t->u.ip, c->err);
	else
		r = mavis_map_kv_load(path, c->a, &kv, c->err);
	if (r == 0 && c->keytype == MAVIS_MAPKEY_IP) {
		t->kind = T_IP;
		if (body != NULL)
			r = mavis_iplist_from_kv(&kv, NULL, c->kind, c->a, &t->u.ip, c->err);
	} else if (r == 0) {
		t->kind = T_HASH;
		r = check_values(c, &kv, path);
		if (r == 0)
			t->u.hash = mavis_map_hash_build(c->a, &kv);
	}
	mavis_map_kv_release(&kv);
	return r;
}

static bool
is_db_type(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(db_types) / sizeof(db_types[0]); i++)
		if (strlen(db_types[i]) == len && memcmp(db_types[i], name, len) == 0)
			return true;
	return false;
}

static int
parse_typed(const struct parse_ctx *c, const struct spec_tok *tok, struct map_table *t)
{
	size_t nlen = type_prefix(tok);
	const char *name = tok->raw, *arg = tok->raw + nlen + 1;
	size_t alen = tok->len - nlen - 1;
	const struct mavis_map_type *ext;
	const char *path;
	int r;

	t->spec = mavis_arena_strndup(c->a, tok->raw, tok->len);
#define IS(s) (nlen == sizeof(s) - 1 && memcmp(name, s, nlen) == 0)
	if (IS("static")) {
		t->kind = T_STATIC;
		t->u.value = mavis_map_unquote(c->a, arg, alen);
		return mavis_map_value_check(c->kind, t->u.value, c->err);
	}
	if (IS("inline")) {
		/* The braces must enclose the whole argument: "inline:{a}{b}" is
		   a typo, not two tables. */
		size_t depth = 0, i = 0;

		if (alen >= 2 && arg[0] == '{') {
			for (; i < alen; i++) {
				size_t q;

				if (arg[i] == '"' && (q = mavis_map_quoted_len(arg + i, alen - i)) > 0) {
					i += q - 1;
					continue;
				}
				depth += arg[i] == '{';
				depth -= arg[i] == '}';
				if (depth == 0)
					break;
			}
		}
		if (alen < 2 || arg[0] != '{' || i != alen - 1)
			return mavis_error_set(c->err, MAVIS_ERR_CONFIG,
					       "inline: wants {key=value, ...}");
		return open_hash(c, NULL, arg + 1, alen - 2, t);
	}
	if (IS("hash") || IS("cidr") || IS("pcre")) {
		path = mavis_map_unquote(c->a, arg, alen);
		if (path[0] == '\0')
			return mavis_error_set(c->err, MAVIS_ERR_CONFIG, "missing file name");
		path = resolve_path(c, path);
		if (IS("hash"))
			return open_hash(c, path, NULL, 0, t);
		if (IS("cidr")) {
			t->kind = T_IP;
			return mavis_cidr_table_load(path, c->kind, c->a, &t->u.ip, c->err);
		}
		t->kind = T_PCRE;
		return mavis_map_pcre_load(path, c->kind, c->a, &t->u.pcre, c->err);
	}
#undef IS
	ext = mavis_map_type_find(name, nlen);
	if (ext == NULL)
		return mavis_error_set(c->err, MAVIS_ERR_CONFIG, "map type %.*s: not available%s",
				       (int)nlen, name,
				       is_db_type(name, nlen) ? "" :
				       " (quote a value that holds a colon, or use static:)");
	r = ext->open(mavis_map_unquote(c->a, arg, alen), c->kind, c->keytype, c->a,
		      &t->u.ext.state, c->err);
	if (r < 0)
		return r;
	t->kind = T_EXT;
	t->u.ext.type = ext;
	return 0;
}

static const char *
join_tokens(struct mavis_arena *a, const struct spec_tok *tok, size_t n)
{
	size_t len = 0;
	char *out, *o;

	for (size_t i = 0; i < n; i++)
		len += tok[i].len + 2;
	out = o = mavis_arena_alloc(a, len + 1);
	for (size_t i = 0; i < n; i++) {
		if (i > 0) {
			memcpy(o, ", ", 2);
			o += 2;
		}
		memcpy(o, tok[i].raw, tok[i].len);
		o += tok[i].len;
	}
	return out;
}

/* Consecutive bare tokens: one ACL, one IP ACL, or static constants. */
static int
parse_bare(const struct parse_ctx *c, const struct spec_tok *tok, size_t n,
	   struct mavis_maplist *ml)
{
	const char **text = mavis_arena_calloc(c->a, n, sizeof(*text));
	size_t *len = mavis_arena_calloc(c->a, n, sizeof(*len));
	struct map_table *t = &ml->t[ml->n];
	bool group = c->kind == MAVIS_MAPVAL_BOOL || c->keytype == MAVIS_MAPKEY_IP;
	int r;

	for (size_t i = 0; i < n; i++) {
		text[i] = mavis_map_unquote(c->a, tok[i].raw, tok[i].len);
		len[i] = strlen(text[i]);
	}
	if (!group || (n == 1 && c->kind == MAVIS_MAPVAL_BOOL && mavis_map_is_bool_word(text[0]))) {
		for (size_t i = 0; i < n; i++) {
			t[i].kind = T_STATIC;
			t[i].spec = mavis_arena_strndup(c->a, tok[i].raw, tok[i].len);
			t[i].u.value = text[i];
			r = mavis_map_value_check(c->kind, text[i], c->err);
			if (r < 0)
				return r;
			ml->n++;
		}
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (mavis_map_is_bool_word(text[i]))
			return mavis_error_set(c->err, MAVIS_ERR_CONFIG,
					       "'%s' inside a list of %s: write static:%s for a "
					       "constant", text[i],
					       c->keytype == MAVIS_MAPKEY_IP ? "networks" : "addresses",
					       text[i]);
	t->spec = join_tokens(c->a, tok, n);
	if (c->keytype == MAVIS_MAPKEY_IP) {
		t->kind = T_IP;
		r = mavis_iplist_from_tokens(text, len, n, c->a, &t->u.ip, c->err);
	} else {
		t->kind = T_ACL;
		r = mavis_map_acl_build(text, n, c->a, &t->u.acl, c->err);
	}
	if (r == 0)
		ml->n++;
	return r;
}

int
mavis_maplist_parse(const char *spec, enum mavis_mapval kind, enum mavis_mapkey keytype,
		    const char *basedir, struct mavis_arena *arena, struct mavis_maplist **out,
		    struct mavis_error *err)
{
	struct parse_ctx c = { kind, keytype, basedir, arena, err };
	struct mavis_maplist *ml;
	struct spec_tok *tok;
	size_t ntok, len, i, j;
	int r = 0;

	if (out == NULL || arena == NULL)
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "maplist_parse: no arena or output");
	*out = NULL;
	if ((unsigned)kind > MAVIS_MAPVAL_STRING || (unsigned)keytype > MAVIS_MAPKEY_STRING)
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "maplist_parse: bad kind %d/%d",
				       (int)kind, (int)keytype);
	if (spec == NULL)
		spec = "";
	len = strlen(spec);
	if (len > MAP_SPEC_MAX)
		return mavis_error_set(err, MAVIS_ERR_LIMIT, "map spec longer than %zu bytes",
				       MAP_SPEC_MAX);
	r = mavis_spec_lex(spec, len, arena, &tok, &ntok, err);
	if (r < 0)
		return r;
	ml = mavis_arena_alloc(arena, sizeof(*ml));
	ml->kind = kind;
	ml->keytype = keytype;
	ml->t = mavis_arena_calloc(arena, ntok ? ntok : 1, sizeof(*ml->t));
	for (i = 0; i < ntok && r == 0; i = j) {
		if (is_typed(&c, &tok[i])) {
			j = i + 1;
			r = parse_typed(&c, &tok[i], &ml->t[ml->n]);
			if (r == 0)
				ml->n++;
		} else {
			for (j = i + 1; j < ntok && !is_typed(&c, &tok[j]); j++)
				;
			r = parse_bare(&c, &tok[i], j - i, ml);
		}
		if (r < 0)
			mavis_error_prefix(err, "%s: ",
					   mavis_map_label(arena, tok[i].raw,
							   j - i == 1 ? tok[i].len :
							   (size_t)(tok[j - 1].raw + tok[j - 1].len -
								    tok[i].raw)));
	}
	if (r < 0) {
		mavis_maplist_free(&ml);
		return r;
	}
	*out = ml;
	return 0;
}

void
mavis_maplist_free(struct mavis_maplist **mlp)
{
	struct mavis_maplist *ml;

	if (mlp == NULL || *mlp == NULL)
		return;
	ml = *mlp;
	*mlp = NULL;
	for (size_t i = 0; i < ml->n; i++) {
		struct map_table *t = &ml->t[i];

		if (t->kind == T_PCRE)
			mavis_map_pcre_free(t->u.pcre);
		else if (t->kind == T_EXT && t->u.ext.type->close != NULL)
			t->u.ext.type->close(t->u.ext.state);
	}
	/* The struct stays in the arena: a stale copy of the pointer now sees an
	   empty list instead of freed regexes. */
	ml->n = 0;
}

size_t
mavis_maplist_count(const struct mavis_maplist *ml)
{
	return ml != NULL ? ml->n : 0;
}

static int
need_scratch(struct mavis_error *err)
{
	return mavis_error_set(err, MAVIS_ERR_INTERNAL, "map lookup needs a scratch arena");
}

int
mavis_maplist_lookup(const struct mavis_maplist *ml, const char *key,
		     const struct mavis_map_opts *opts, struct mavis_arena *scratch,
		     struct mavis_map_result *res, struct mavis_error *err)
{
	static const struct mavis_map_opts no_opts;
	const char **keys = NULL;
	size_t nkeys = 0;
	const char *rhs[MAP_ADDR_RHS];
	bool have_rhs = false;
	uint8_t ip[16];
	int ip_state = 0;	/* 0 not parsed yet, 1 an address, -1 not one */

	if (res != NULL)
		memset(res, 0, sizeof(*res));
	if (ml == NULL)
		return 0;
	if (key == NULL)
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "map lookup without a key");
	if (opts == NULL)
		opts = &no_opts;
	for (size_t i = 0; i < ml->n; i++) {
		const struct map_table *t = &ml->t[i];
		const struct ip_entry *e;
		const char *value = NULL, *matched = key;
		int r = 0;

		switch (t->kind) {
		case T_STATIC:
			value = t->u.value;
			matched = "";
			break;
		case T_HASH:
			if (ml->keytype != MAVIS_MAPKEY_ADDR) {
				value = mavis_map_hash_get(t->u.hash, key, true);
				break;
			}
			/* The key list is the same for every hash table of the list. */
			if (keys == NULL) {
				if (scratch == NULL)
					return need_scratch(err);
				nkeys = mavis_addr_keys(key, opts, true, scratch, &keys);
			}
			for (size_t k = 0; k < nkeys && value == NULL; k++) {
				value = mavis_map_hash_get(t->u.hash, keys[k], false);
				matched = keys[k];
			}
			if (value != NULL && strchr(value, '$') != NULL) {
				if (!have_rhs)
					mavis_addr_rhs(key, opts, scratch, rhs);
				have_rhs = true;
				value = mavis_map_expand(value, rhs, NULL, MAP_ADDR_RHS, scratch);
			}
			break;
		case T_PCRE:
			r = mavis_map_pcre_lookup(t->u.pcre, key, scratch, &value, err);
			break;
		case T_IP:
			if (ip_state == 0)
				ip_state = mavis_ip_parse_addr(key, ip) == 0 ? 1 : -1;
			e = ip_state > 0 ? mavis_iplist_find(t->u.ip, ip) : NULL;
			if (e != NULL) {
				value = e->net.neg ? "0" : e->value;
				matched = e->text;
			}
			break;
		case T_ACL:
			mavis_map_acl_lookup(t->u.acl, key, ml->keytype, opts, &value, &matched);
			break;
		case T_EXT:
			if (opts->memory_only)
				break;
			r = t->u.ext.type->lookup(t->u.ext.state, key, opts, scratch, &value, err);
			if (r == 0)
				value = NULL;
			break;
		}
		if (r < 0) {
			mavis_error_prefix(err, "%s: ", t->spec);
			return r;
		}
		if (value != NULL) {
			if (res != NULL) {
				res->value = value;
				res->table = t->spec;
				res->key = matched;
			}
			return 1;
		}
	}
	return 0;
}
