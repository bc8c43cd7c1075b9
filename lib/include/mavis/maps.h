/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_MAPS_H
#define MAVIS_MAPS_H

#include <mavis/api.h>

/*
 * Lookup maps with amavisd-new semantics.
 *
 * A map list is a comma/space separated list of tables, tried in order; the
 * first table that gives a defined result wins, a table without a match falls
 * through to the next one. Table specs:
 *
 *   hash:/path      text file of "key value" lines (value defaults to "1"),
 *                   keys lowercased at load; looked up with the amavisd key
 *                   list (mavis_addr_keys) - for IP-keyed lists the file
 *                   holds CIDR keys as in cidr:. '#' outside "..." starts a
 *                   comment; a value in "..." is unquoted; a repeated key
 *                   takes the later value (amavisd read_hash). In address
 *                   lists $1..$5 in a value become the full address,
 *                   localpart, user, +extension, domain (amavisd lookup_hash).
 *   pcre:/path      "/regex/flags value" lines (pcre2, JIT), matched against
 *                   the raw key, first match wins, $1..$9 expanded in value
 *   cidr:/path      "network/len value" lines, IPv4 and IPv6, ! negation; a
 *                   negated line takes no value and answers "0"
 *   inline:{k=v, k2=v2}   a hash table written in place; also "k" alone
 *                   (value "1"), "{ k = v with spaces }", k="a, b"
 *   static:VALUE    a constant: matches every key
 *   pgsql:NAME      registered at run time (mavis_map_register_type); any
 *                   other unregistered "name:" is a MAVIS_ERR_CONFIG
 *   anything else   a bare token: for MAVIS_MAPVAL_BOOL lists, consecutive
 *                   bare tokens form one amavisd ACL ("example.com,
 *                   .example.org, !bad.example.com, ."), except a lone
 *                   yes/no/true/false/1/0 which is a static constant (such a
 *                   word inside a longer run is an error: write static:0);
 *                   for IP-keyed lists bare tokens form an IP ACL
 *                   ("10.0.0.0/8 !10.1.2.3 [::1]"); for every other kind one
 *                   bare token is a static constant ("6.31").
 *                   A token in "..." is always bare, never "type:arg", so a
 *                   value with a colon can be written "smtp:[::1]:10025".
 * In lists keyed by MAVIS_MAPKEY_STRING, ACL entries and hash keys compare
 * with the whole key, case-insensitively. Static values and table values of
 * BOOL, FLOAT and SIZE lists are checked at parse time (BOOL accepts
 * ""/0/1/no/yes/false/true/off/on/n/y/f/t); pcre values built from $N are not.
 *
 * Lists are immutable after mavis_maplist_parse() and safe to share between
 * threads (pcre2 match data is per call or per thread).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mavis/arena.h>
#include <mavis/error.h>

/* What the values of a list mean (drives bare-token parsing and checks). */
enum mavis_mapval {
	MAVIS_MAPVAL_BOOL,
	MAVIS_MAPVAL_FLOAT,
	MAVIS_MAPVAL_SIZE,
	MAVIS_MAPVAL_STRING,
};

/* What the lookup key is. */
enum mavis_mapkey {
	MAVIS_MAPKEY_ADDR,	/* e-mail address, amavisd key order */
	MAVIS_MAPKEY_IP,	/* IPv4/IPv6 client address */
	MAVIS_MAPKEY_STRING,	/* opaque string (virus name, file type): exact/pcre */
};

struct mavis_maplist;

/* Options that shape address keys; from the effective config view. */
struct mavis_map_opts {
	const char *recipient_delimiter;	/* "" or NULL: no extension split */
	bool localpart_is_case_sensitive;
	/* on_sql_failure = pass: a database table (pgsql:) whose query failed
	   answers "not found" (the next table decides) and records the failure
	   for the caller's log (mavis_sql_passed_failures); false: the lookup
	   returns MAVIS_ERR_SQL. */
	bool sql_failure_pass;
	/* Skip the database tables (type: registered at run time): what
	   amavisd consults to know whether an address is local before it makes
	   the SQL keys (no SQL or LDAP, to avoid the recursion). */
	bool memory_only;
	/* The view's local_domains_maps, for database tables that make
	   amavisd's bare-user keys for local addresses only; may be NULL. */
	const struct mavis_maplist *local_domains;
};

struct mavis_map_result {
	const char *value;	/* raw value string; valid while the list lives
				   (or in the scratch arena for pcre $N and SQL) */
	const char *table;	/* spec of the table that answered, for logs */
	const char *key;	/* the key that matched (or "" for static) */
};

/* Parse spec into a list. Files are read and compiled now; errors name the
   table and the file:line inside it. basedir (may be NULL) resolves relative
   paths. Memory comes from arena, except resources that need a destructor,
   released by mavis_maplist_free(). An empty or whitespace spec gives an empty
   list (never matches). Returns 0 or a negative status with err set. */
MAVIS_API int mavis_maplist_parse(const char *spec, enum mavis_mapval kind,
			enum mavis_mapkey keytype, const char *basedir,
			struct mavis_arena *arena, struct mavis_maplist **out,
			struct mavis_error *err);

/* Release non-arena resources (compiled regexes, SQL handles); *ml = NULL. */
MAVIS_API void mavis_maplist_free(struct mavis_maplist **ml);

/* Number of tables in the list (0 for an empty list). */
MAVIS_API size_t mavis_maplist_count(const struct mavis_maplist *ml);

/* Look key up. Returns 1 when a table gave a defined value (res filled),
   0 when no table matched, negative on a lookup failure (SQL down, ...;
   err set). scratch receives any value that must be built (pcre $N) and the
   address keys; it may be NULL only for lists that need neither (else
   MAVIS_ERR_INTERNAL). res may be NULL. In IP tables a key that is not an
   address matches nothing. */
MAVIS_API int mavis_maplist_lookup(const struct mavis_maplist *ml, const char *key,
			 const struct mavis_map_opts *opts,
			 struct mavis_arena *scratch, struct mavis_map_result *res,
			 struct mavis_error *err);

/* Value conversions, amavisd truth rules: "", "0", "no", "false", "off",
   "n", "f" (any case) are false, everything else true. */
MAVIS_API bool mavis_map_value_bool(const char *value);
/* Return 0 and set *out, or MAVIS_ERR_PARSE. Size accepts K/M/G suffixes. */
MAVIS_API int mavis_map_value_float(const char *value, double *out);
MAVIS_API int mavis_map_value_size(const char *value, uint64_t *out);

/*
 * amavisd make_query_keys(addr, at_with_user=1, include_bare_user):
 * "User+Foo@Sub.Example.COM" with delimiter "+" gives
 *   User+Foo@Sub.Example.COM (as is, only with include_bare_user),
 *   user+foo@sub.example.com, user@sub.example.com,
 *   user+foo@, user@ (only with include_bare_user),
 *   sub.example.com, .sub.example.com, .example.com, .com, .
 * Duplicates removed, order kept; address literals ([1.2.3.4]) are not split;
 * at most 20 domain suffix keys. The null address "" gives "", "@", "." (with
 * include_bare_user) or "@", "", ".". Keys are allocated from arena.
 * The extension starts at the first character of the delimiter set after the
 * first character of the localpart (amavisd split_localpart); postmaster,
 * mailer-daemon, double-bounce, and with delimiter "-" owner-x and
 * x-request, are never split. addr and opts may be NULL.
 * Returns the number of keys (>0).
 */
MAVIS_API size_t mavis_addr_keys(const char *addr, const struct mavis_map_opts *opts,
		       bool include_bare_user, struct mavis_arena *arena,
		       const char ***keys_out);

/* Split an address at the last '@' into localpart and domain (arena copies;
   domain lowercased, without a trailing dot). No '@': domain is "". */
MAVIS_API void mavis_addr_split(const char *addr, struct mavis_arena *arena,
		      const char **local_out, const char **domain_out);

/* IP lists (mynetworks): "127.0.0.0/8 [::1] 10/8 !10.1.2.3 ::/0".
   0/0 matches IPv4 only, ::/0 everything. */
struct mavis_iplist;
MAVIS_API int mavis_iplist_parse(const char *spec, struct mavis_arena *arena,
		       struct mavis_iplist **out, struct mavis_error *err);
/* 1 = matched a positive entry, 0 = matched a negated entry or nothing,
   MAVIS_ERR_PARSE = ip is not an address. */
MAVIS_API int mavis_iplist_match(const struct mavis_iplist *list, const char *ip);

/* External table types (pgsql:). Lookup returns 1 found (*value set, may be
   built in scratch), 0 not found, negative on failure with err set. */
struct mavis_map_type {
	const char *name;
	int (*open)(const char *arg, enum mavis_mapval kind, enum mavis_mapkey keytype,
		    struct mavis_arena *arena, void **state, struct mavis_error *err);
	int (*lookup)(void *state, const char *key, const struct mavis_map_opts *opts,
		      struct mavis_arena *scratch, const char **value,
		      struct mavis_error *err);
	void (*close)(void *state);
};

/* Register a table type (the struct and its name are copied; the name is
   [a-z][a-z0-9_]*, under 32 bytes, not a built-in one); returns 0, or
   MAVIS_ERR_CONFIG when the name is bad or taken, open/lookup is NULL, or
   the registry is full. Call before any config load (not thread-safe). */
MAVIS_API int mavis_map_register_type(const struct mavis_map_type *type);

/* The name of the config key whose value is being parsed (e.g.
   "spam_tag2_level_maps"), for table types whose answer depends on it:
   pgsql:policy picks its column by it. The config parser sets it around
   mavis_maplist_parse(); NULL otherwise. Per thread. */
MAVIS_API void mavis_map_set_context(const char *keyname);
MAVIS_API const char *mavis_map_context(void);

/* The recipient whose sender lists (whitelist_sender_maps, ...) are being
   looked up, for per-recipient sender tables (pgsql:wblist); set by the
   caller around those lookups, NULL otherwise. Per thread. */
MAVIS_API void mavis_map_set_recipient(const char *rcpt);
MAVIS_API const char *mavis_map_recipient(void);

#endif
