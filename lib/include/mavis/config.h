/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_CONFIG_H
#define MAVIS_CONFIG_H

#include <mavis/api.h>

/*
 * Configuration: Postfix-style "name = value" files (continuation lines start
 * with white space, '#' comment lines, $name / ${name} expansion, $$ = '$'),
 * "[bank NAME]" sections for policy banks, and a policy_directory of
 * per-domain files. Every key is defined once in config_keys.def.
 *
 * A loaded configuration is an immutable snapshot, reference counted: a
 * session pins the snapshot current at connect; a reload builds a new one off
 * to the side and swaps it; the last reference frees the old one. Nothing is
 * half-loaded: any error gives no snapshot at all.
 *
 * A view is what one connection/message sees: the base values with zero or
 * more policy banks stacked on top (amavisd policy bank loading). Views are
 * owned by one thread at a time.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <mavis/arena.h>
#include <mavis/error.h>
#include <mavis/maps.h>

enum mavis_key {
#define MAVIS_KEY(id, name, type, scope, def, min, max, doc) MAVIS_KEY_##id,
#define MAVIS_CHOICE(id, c, word)
#include <mavis/config_keys.def>
#undef MAVIS_KEY
#undef MAVIS_CHOICE
	MAVIS_KEY_COUNT
};

/* Rows of the choice table (keys.c): each key row, then its choices. */
enum mavis_choice_row {
#define MAVIS_KEY(id, name, type, scope, def, min, max, doc) MAVIS_CROW_KEY_##id,
#define MAVIS_CHOICE(id, c, word) MAVIS_CROW_##id##_##c,
#include <mavis/config_keys.def>
#undef MAVIS_KEY
#undef MAVIS_CHOICE
	MAVIS_CROW_COUNT
};

/* The value (u.e) of each choice of an ENUM key: MAVIS_<KEY>_<CHOICE>,
   e.g. MAVIS_ON_INTERNAL_ERROR_PASS, MAVIS_NON_SMTPD_REJECT_ACTION_HOLD. */
enum {
#define MAVIS_KEY(id, name, type, scope, def, min, max, doc)
#define MAVIS_CHOICE(id, c, word) MAVIS_##id##_##c = MAVIS_CROW_##id##_##c - MAVIS_CROW_KEY_##id - 1,
#include <mavis/config_keys.def>
#undef MAVIS_KEY
#undef MAVIS_CHOICE
};

enum mavis_type {
	MAVIS_T_BOOL,		/* yes|no|true|false|on|off|1|0 */
	MAVIS_T_INT,		/* decimal integer */
	MAVIS_T_SIZE,		/* bytes, with K M G suffixes (1024-based) */
	MAVIS_T_TIME,		/* seconds, with s m h d suffixes */
	MAVIS_T_FLOAT,
	MAVIS_T_STRING,		/* "double quotes" keep outer white space */
	MAVIS_T_ENUM,		/* one of the key's choices */
	MAVIS_T_DESTINY,	/* pass|discard|reject|tempfail (bounce = reject) */
	MAVIS_T_LIST,		/* comma/space separated words */
	MAVIS_T_IPLIST,		/* CIDR list (maps.h mavis_iplist) */
	MAVIS_T_MAPS_BOOL,	/* address-keyed map lists (maps.h) by value kind */
	MAVIS_T_MAPS_FLOAT,
	MAVIS_T_MAPS_SIZE,
	MAVIS_T_MAPS_STRING,
	MAVIS_T_IPMAPS,		/* client-address-keyed map list of strings */
};

enum mavis_scope { MAVIS_SCOPE_GLOBAL, MAVIS_SCOPE_BANK, MAVIS_SCOPE_RCPT };

/* amavisd destiny constants keep their values (D_PASS=1 ... D_TEMPFAIL=-4). */
enum mavis_destiny {
	MAVIS_D_PASS = 1,
	MAVIS_D_DISCARD = 0,
	MAVIS_D_BOUNCE = -2,
	MAVIS_D_REJECT = -3,
	MAVIS_D_TEMPFAIL = -4,
};

struct mavis_key_info {
	const char *name;
	enum mavis_type type;
	enum mavis_scope scope;
	const char *def;
	long long min, max;	/* 0,0 = unbounded */
	const char *const *choices;	/* ENUM: the words, NULL-terminated; else NULL */
	const char *doc;
};

/* A parsed value. text is the expanded value as written (for printing). */
struct mavis_value {
	const char *text;
	union {
		bool b;
		long long i;	/* INT, SIZE (bytes), TIME (seconds) */
		double f;
		const char *s;
		int e;		/* ENUM index into choices; DESTINY value */
		const struct mavis_maplist *maps;
		const struct mavis_iplist *ips;
		struct {
			const char *const *v;
			size_t n;
		} list;
	} u;
};

/* Key table access. mavis_key_find returns the key or -1 for an unknown name. */
MAVIS_API const struct mavis_key_info *mavis_key_info(enum mavis_key key);
/* The choices of an ENUM key joined with sep into buf ("tempfail|pass");
   "" for other keys. Returns buf. */
MAVIS_API const char *mavis_key_choices(const struct mavis_key_info *ki, char sep, char *buf, size_t size);
MAVIS_API int mavis_key_find(const char *name);
MAVIS_API const char *mavis_type_name(enum mavis_type type);
MAVIS_API const char *mavis_destiny_name(int destiny);

struct mavis_config;

/* Load a configuration file (and its policy_directory). On success *out holds
   a snapshot with one reference. On failure returns a negative status, err
   names file:line and the key, and *out is untouched. */
MAVIS_API int mavis_config_load(const char *path, struct mavis_config **out,
		      struct mavis_error *err);
/* Same from a string; name is used in error messages; basedir resolves
   relative map paths (may be NULL). */
MAVIS_API int mavis_config_load_string(const char *text, const char *name,
			     const char *basedir, struct mavis_config **out,
			     struct mavis_error *err);

MAVIS_API struct mavis_config *mavis_config_ref(struct mavis_config *cfg);
/* Drop one reference; frees at zero; sets *cfg to NULL. NULL-safe. */
MAVIS_API void mavis_config_unref(struct mavis_config **cfg);

MAVIS_API const char *mavis_config_path(const struct mavis_config *cfg);
/* Base value of key (no bank applied). Never NULL. */
MAVIS_API const struct mavis_value *mavis_config_get(const struct mavis_config *cfg,
					   enum mavis_key key);
/* True if the key was set in the file (not the table default). */
MAVIS_API bool mavis_config_is_set(const struct mavis_config *cfg, enum mavis_key key);
/* Warnings collected while loading (deprecated aliases...); NULL-terminated. */
MAVIS_API const char *const *mavis_config_warnings(const struct mavis_config *cfg);

MAVIS_API size_t mavis_config_bank_count(const struct mavis_config *cfg);
MAVIS_API const char *mavis_config_bank_name(const struct mavis_config *cfg, size_t i);
MAVIS_API bool mavis_config_has_bank(const struct mavis_config *cfg, const char *name);
/* Value a bank sets for key, or NULL when the bank does not set it. */
MAVIS_API const struct mavis_value *mavis_config_bank_get(const struct mavis_config *cfg,
						const char *bank, enum mavis_key key);
/* Number of per-domain policy files loaded. */
MAVIS_API size_t mavis_config_domain_count(const struct mavis_config *cfg);

/* Print like postconf: flags select what. cfg may be NULL with
   MAVIS_PRINT_DEFAULTS and MAVIS_PRINT_REFERENCE (the table needs no file). Returns 0, or
   MAVIS_ERR_NOTFOUND when bank is not NULL and no such bank exists. */
enum {
	MAVIS_PRINT_NONDEFAULT = 0,	/* keys whose value differs from the default */
	MAVIS_PRINT_DEFAULTS = 1,	/* every key with its table default */
	MAVIS_PRINT_ALL = 2,		/* every key with its effective value */
	MAVIS_PRINT_REFERENCE = 3,	/* Markdown reference of the key table (cfg NULL) */
};
MAVIS_API int mavis_config_print(const struct mavis_config *cfg, const char *bank, int flags,
		       FILE *out);

/* ---- views: base + stacked policy banks ---- */

struct mavis_view;

/* New view on cfg (takes a reference, released by mavis_view_free). */
MAVIS_API struct mavis_view *mavis_view_new(struct mavis_config *cfg);
MAVIS_API void mavis_view_free(struct mavis_view **view);
MAVIS_API const struct mavis_config *mavis_view_config(const struct mavis_view *view);

/* Stack bank name on top. Returns 1 when loaded, 0 when there is no such bank
   or it is already in the path (amavisd ignores both). */
MAVIS_API int mavis_view_load_bank(struct mavis_view *view, const char *name);
/* "MYNETS/ORIGINATING", "" when no bank is loaded. */
MAVIS_API const char *mavis_view_path(const struct mavis_view *view);
/* Number of banks loaded, and dropping back to an earlier depth (the
   per-message banks go at the end of each message, connection banks stay). */
MAVIS_API size_t mavis_view_depth(const struct mavis_view *view);
MAVIS_API void mavis_view_truncate(struct mavis_view *view, size_t depth);

/* The facts a milter knows about a connection and a message. */
struct mavis_conn_facts {
	const char *daemon_name;	/* {daemon_name}, may be NULL */
	const char *client_addr;	/* IPv4/IPv6 text, may be NULL */
};

/*
 * Bank selection, in this documented order (amavisd README.protocol order,
 * with milter inputs in place of ports):
 *   1. at connect: the bank named like {daemon_name} (daemon_name_banks);
 *   2. at connect: mynets_bank (MYNETS) when client_addr is in mynetworks;
 *   3. at connect: banks named by client_ipaddr_policy for client_addr
 *      (comma-separated names, in order);
 *   4. at MAIL FROM: sasl_auth_bank (ORIGINATING) when {auth_authen} is set.
 * Nonexistent banks are ignored. Loading MYNETS implies originating = yes.
 * Returns 0 or a negative status (a failing client_ipaddr_policy table).
 */
MAVIS_API int mavis_view_select_conn(struct mavis_view *view, const struct mavis_conn_facts *facts,
			   struct mavis_arena *scratch, struct mavis_error *err);
MAVIS_API int mavis_view_select_sender(struct mavis_view *view, const char *auth_authen);

/* Effective value of key in this view. Never NULL. */
MAVIS_API const struct mavis_value *mavis_view_get(const struct mavis_view *view, enum mavis_key key);
MAVIS_API bool mavis_view_bool(const struct mavis_view *view, enum mavis_key key);
MAVIS_API long long mavis_view_int(const struct mavis_view *view, enum mavis_key key);
MAVIS_API double mavis_view_float(const struct mavis_view *view, enum mavis_key key);
MAVIS_API const char *mavis_view_str(const struct mavis_view *view, enum mavis_key key);
/* Map options (recipient_delimiter, case sensitivity) of this view. */
MAVIS_API void mavis_view_map_opts(const struct mavis_view *view, struct mavis_map_opts *opts);
/* True when originating (the key, or MYNETS loaded). */
MAVIS_API bool mavis_view_originating(const struct mavis_view *view);

/*
 * Per-recipient lookup of a map key (RCPT scope, or any address-keyed maps
 * key): the per-domain policy file for addr's domain (tried as "sub.dom",
 * ".sub.dom", ".dom", ".tld") comes first, then the view's map list.
 * Returns 1 found (res filled), 0 not found, negative on failure (err set).
 */
MAVIS_API int mavis_view_lookup(const struct mavis_view *view, enum mavis_key key, const char *addr,
		      struct mavis_arena *scratch, struct mavis_map_result *res,
		      struct mavis_error *err);

#endif
