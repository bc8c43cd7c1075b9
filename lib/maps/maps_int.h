/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_MAPS_INT_H
#define MAVIS_MAPS_INT_H

/*
 * Internals of the maps module, shared by the files in lib/maps only. The
 * functions are hidden from the shared library's ABI: tests and other modules
 * go through <mavis/maps.h>.
 *
 * Conventions: int-returning functions give 0 (or 1 = found for lookups) and
 * a negative enum mavis_status with err filled. Errors from file loaders read
 * "path:line: what"; mavis_maplist_parse() prefixes them with the table spec.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mavis/arena.h>
#include <mavis/error.h>
#include <mavis/maps.h>

#if defined(__GNUC__)
#define MAP_INTERNAL __attribute__((visibility("hidden")))
#else
#define MAP_INTERNAL
#endif

/* Input bounds: a config line, a table file, a table. */
#define MAP_LINE_MAX ((size_t)64 * 1024)
#define MAP_FILE_MAX ((size_t)64 * 1024 * 1024)
#define MAP_ENTRIES_MAX ((size_t)1024 * 1024)
#define MAP_SPEC_MAX MAP_LINE_MAX

/* amavisd keeps at most this many ".sub.dom" suffix keys (the last ones). */
#define MAP_DOMAIN_KEYS_MAX 20
/* Upper bound on the keys mavis_addr_keys() can return. */
#define MAP_ADDR_KEYS_MAX (5 + 1 + MAP_DOMAIN_KEYS_MAX)

/* ---- map_file.c: bounded file reading and line handling ---- */

struct map_file {
	char *data;	/* heap, NUL-terminated, no NUL inside */
	size_t len;
	const char *path;
};

struct map_lines {
	const char *p;
	const char *end;
	const char *path;
	unsigned long lineno;	/* of the line last returned */
};

/* Read the whole of path (at most MAP_FILE_MAX bytes, no NUL bytes). */
MAP_INTERNAL int mavis_map_file_read(const char *path, struct map_file *f,
				     struct mavis_error *err);
MAP_INTERNAL void mavis_map_file_release(struct map_file *f);
MAP_INTERNAL void mavis_map_lines_init(struct map_lines *it, const struct map_file *f);
/* Next line without its CR/LF: 1 = got one, 0 = end, <0 = over MAP_LINE_MAX. */
MAP_INTERNAL int mavis_map_lines_next(struct map_lines *it, const char **line,
				      size_t *len, struct mavis_error *err);

/* Length of the "..." string at s (quotes included, backslash escapes), or 0
   when it is not terminated within len. s[0] must be '"'. */
MAP_INTERNAL size_t mavis_map_quoted_len(const char *s, size_t len);
/* True when s[0..len) is exactly one "..." string. */
MAP_INTERNAL bool mavis_map_is_quoted(const char *s, size_t len);
/* Arena copy of s[0..len): a whole "..." string loses its quotes and escapes,
   anything else is copied as is. */
MAP_INTERNAL char *mavis_map_unquote(struct mavis_arena *a, const char *s, size_t len);

/* Split a "key value # comment" line of a hash or cidr file. Quoted sections
   are kept verbatim in the key; '#' outside quotes starts a comment (amavisd
   read_hash); the value is trimmed and unquoted, NULL when absent. *key is
   NULL for a blank or comment line. Both are arena copies. */
MAP_INTERNAL int mavis_map_split_kv(struct mavis_arena *a, const char *line, size_t len,
				    const struct map_lines *where, char **key,
				    char **value, struct mavis_error *err);

MAP_INTERNAL void mavis_map_lower(char *s);	/* ASCII only, in place */

/* ---- key/value collection (hash_table.c) ---- */

struct map_kv {
	char *key;
	const char *value;	/* NULL when not written: "1" */
	unsigned long lineno;	/* 0 for inline tables */
};

struct map_kv_vec {
	struct map_kv *v;	/* heap */
	size_t n;
	size_t cap;
};

MAP_INTERNAL int mavis_map_kv_push(struct map_kv_vec *vec, char *key, const char *value,
				   unsigned long lineno, struct mavis_error *err);
MAP_INTERNAL void mavis_map_kv_release(struct map_kv_vec *vec);

/* Parse "{k=v, k2=v2, {k3 = v 3}, k4}" (body without the outer braces) into
   pairs; a key alone has no value. Keys and values are arena copies. */
MAP_INTERNAL int mavis_map_inline_parse(const char *body, size_t len, struct mavis_arena *a,
					struct map_kv_vec *out, struct mavis_error *err);

/* Read "key value" lines of path into pairs (keys not yet lowercased). */
MAP_INTERNAL int mavis_map_kv_load(const char *path, struct mavis_arena *a,
				   struct map_kv_vec *out, struct mavis_error *err);

/* ---- hash_table.c: open-addressing string table ---- */

struct map_hash;

/* Build from pairs (keys lowercased here; a later duplicate replaces an
   earlier one, like a Perl hash assignment in amavisd read_hash). */
MAP_INTERNAL struct map_hash *mavis_map_hash_build(struct mavis_arena *a,
						   const struct map_kv_vec *kv);
/* Value for key, or NULL. casefold compares ASCII case-insensitively. */
MAP_INTERNAL const char *mavis_map_hash_get(const struct map_hash *h, const char *key,
					    bool casefold);
MAP_INTERNAL size_t mavis_map_hash_count(const struct map_hash *h);

/* ---- map_value.c ---- */

/* 0 when value is acceptable for a list of this kind, else MAVIS_ERR_CONFIG
   with a reason ("not a number") in err. */
MAP_INTERNAL int mavis_map_value_check(enum mavis_mapval kind, const char *value,
				       struct mavis_error *err);
/* yes/no/true/false/1/0 as a whole word (a lone static token in BOOL lists). */
MAP_INTERNAL bool mavis_map_is_bool_word(const char *s);

/* ---- addr_keys.c ---- */

/* amavisd right-hand side substitutions for hash values: $1 full address,
   $2 localpart as given, $3 user, $4 +extension, $5 domain. */
#define MAP_ADDR_RHS 5
MAP_INTERNAL void mavis_addr_rhs(const char *addr, const struct mavis_map_opts *opts,
				 struct mavis_arena *a, const char *rhs[MAP_ADDR_RHS]);

/* Expand $N, ${N}, $(N) in value; N outside 1..nsub or a NULL entry gives "".
   Returns value itself when it holds no reference. */
MAP_INTERNAL const char *mavis_map_expand(const char *value, const char *const *sub,
					  const size_t *sublen, size_t nsub,
					  struct mavis_arena *a);
/* Highest N referenced by value, 0 if none; -1 when a reference is > 99. */
MAP_INTERNAL int mavis_map_expand_max_ref(const char *value);

/* ---- acl.c: amavisd lookup_acl ---- */

struct map_acl;

/* Entries are the (unquoted) tokens; "!" prefixes negate. */
MAP_INTERNAL int mavis_map_acl_build(const char *const *entries, size_t n,
				     struct mavis_arena *a, struct map_acl **out,
				     struct mavis_error *err);
/* 1 matched (*value "1" or "0" for a negated entry, *matched the entry as
   written), 0 no entry matched. */
MAP_INTERNAL int mavis_map_acl_lookup(const struct map_acl *acl, const char *key,
				      enum mavis_mapkey keytype,
				      const struct mavis_map_opts *opts, const char **value,
				      const char **matched);

/* ---- iplist.c / cidr_table.c ---- */

struct ip_net {
	uint8_t addr[16];	/* IPv4 as ::ffff:a.b.c.d */
	unsigned plen;		/* 0..128; IPv4 networks are 96 + len */
	bool neg;
};

struct ip_entry {
	struct ip_net net;
	const char *value;	/* "1" in ACLs; a negated entry answers "0" */
	const char *text;	/* the entry as written, for results and logs */
};

struct mavis_iplist {
	size_t n;
	struct ip_entry *e;
};

/* A network as written in configs: [!...]a.b.c.d[/len|/mask], short IPv4
   (10/8, 192.168, 10 = classful), IPv6 with or without [], [v6]/len. */
MAP_INTERNAL int mavis_ip_parse_net(const char *s, size_t len, struct ip_net *out,
				    struct mavis_error *err);
/* A client address: a.b.c.d, IPv6, [..], IPv6:..., %scope dropped. 0 or -1. */
MAP_INTERNAL int mavis_ip_parse_addr(const char *s, uint8_t out[16]);
MAP_INTERNAL const struct ip_entry *mavis_iplist_find(const struct mavis_iplist *l,
						      const uint8_t addr[16]);
/* Build an ACL (values "1") from tokens. */
MAP_INTERNAL int mavis_iplist_from_tokens(const char *const *tok, const size_t *toklen,
					  size_t n, struct mavis_arena *a,
					  struct mavis_iplist **out, struct mavis_error *err);
/* Build a CIDR table from pairs whose keys are networks. where (may be NULL)
   names the file for line numbers. */
MAP_INTERNAL int mavis_iplist_from_kv(const struct map_kv_vec *kv, const char *where,
				      enum mavis_mapval kind, struct mavis_arena *a,
				      struct mavis_iplist **out, struct mavis_error *err);
MAP_INTERNAL int mavis_cidr_table_load(const char *path, enum mavis_mapval kind,
				       struct mavis_arena *a, struct mavis_iplist **out,
				       struct mavis_error *err);

/* ---- pcre_table.c ---- */

struct map_pcre;

MAP_INTERNAL int mavis_map_pcre_load(const char *path, enum mavis_mapval kind,
				     struct mavis_arena *a, struct map_pcre **out,
				     struct mavis_error *err);
/* 1 matched (*value may be built in scratch), 0 no match, <0 match failure. */
MAP_INTERNAL int mavis_map_pcre_lookup(const struct map_pcre *t, const char *key,
				       struct mavis_arena *scratch, const char **value,
				       struct mavis_error *err);
MAP_INTERNAL void mavis_map_pcre_free(struct map_pcre *t);

/* ---- map_registry.c ---- */

/* The registered type called name[0..len), or NULL. */
MAP_INTERNAL const struct mavis_map_type *mavis_map_type_find(const char *name, size_t len);
/* True for the names mavis_maplist_parse() handles itself. */
MAP_INTERNAL bool mavis_map_type_is_builtin(const char *name, size_t len);

/* ---- spec_lex.c: map spec tokenizer ---- */

struct spec_tok {
	const char *raw;	/* points into the spec */
	size_t len;
};

/* Split spec at commas and white space outside "..." and {...}. The token
   array comes from arena; *n may be 0. */
MAP_INTERNAL int mavis_spec_lex(const char *spec, size_t len, struct mavis_arena *a,
				struct spec_tok **out, size_t *n, struct mavis_error *err);

/* A short printable form of s[0..len) for error texts (arena copy). */
MAP_INTERNAL const char *mavis_map_label(struct mavis_arena *a, const char *s, size_t len);

#endif
