/* SPDX-License-Identifier: GPL-2.0-or-later */
/* config_int.h - configuration internals shared by the files of lib/config */
#ifndef MAVIS_CONFIG_INT_H
#define MAVIS_CONFIG_INT_H

#include <stdatomic.h>

#include <mavis/config.h>

#define CFG_MAX_FILE (16 * 1024 * 1024)	/* a config file larger than this is a mistake */
#define CFG_MAX_LINE (1024 * 1024)	/* one logical line */
#define CFG_MAX_BANKS 256
#define CFG_MAX_DOMAINS 100000

/* Where a raw setting came from, for file:line errors. */
struct cfg_raw {
	const char *text;	/* unexpanded value, NULL when not set */
	const char *file;
	int line;
};

struct cfg_bank {
	const char *name;
	struct cfg_raw raw[MAVIS_KEY_COUNT];
	bool set[MAVIS_KEY_COUNT];
	struct mavis_value vals[MAVIS_KEY_COUNT];
};

/* A per-domain policy file: a few RCPT-scope map keys, stored sparsely. */
struct cfg_domain {
	const char *domain;	/* "example.com" or ".example.com" */
	size_t n;
	enum mavis_key *keys;
	struct mavis_value *vals;
};

struct mavis_config {
	atomic_int refs;
	struct mavis_arena *arena;
	const char *path;
	const char *basedir;
	struct cfg_raw raw[MAVIS_KEY_COUNT];
	bool set[MAVIS_KEY_COUNT];
	struct mavis_value base[MAVIS_KEY_COUNT];
	struct cfg_bank *banks;
	size_t nbanks;
	struct cfg_domain *domains;	/* sorted by domain */
	size_t ndomains;
	struct mavis_maplist **maplists;	/* to free with the snapshot */
	size_t nmaplists, capmaplists;
	const char **warnings;	/* NULL-terminated */
	size_t nwarnings, capwarnings;
};

/* Read path (bounded) into a NUL-terminated arena buffer. */
int cfg_read_file(const char *path, struct mavis_arena *arena, char **text_out,
		  size_t *len_out, struct mavis_error *err);

/* Parse "name = value" text into cfg->raw and banks. file names errors. */
int cfg_parse_text(struct mavis_config *cfg, const char *text, const char *file,
		   struct mavis_error *err);

/* Expand $name references in text against cfg's base raw values. */
int cfg_expand(const struct mavis_config *cfg, const char *text, struct mavis_arena *arena,
	       const char **out, struct mavis_error *err);

/* Parse expanded text as key's type into val. */
int cfg_parse_value(struct mavis_config *cfg, enum mavis_key key, const char *text,
		    struct mavis_value *val, struct mavis_error *err);

/* Turn a raw setting into a value: expand, parse, and prefix errors with
   file:line and the key. */
int cfg_build_value(struct mavis_config *cfg, enum mavis_key key, const struct cfg_raw *raw,
		    struct mavis_value *val, struct mavis_error *err);

/* Load policy_directory files into cfg->domains. */
int cfg_load_policy_dir(struct mavis_config *cfg, const char *dir, struct mavis_error *err);

void cfg_add_warning(struct mavis_config *cfg, const char *fmt, ...) MAVIS_PRINTF(2, 3);
void cfg_track_maplist(struct mavis_config *cfg, struct mavis_maplist *ml);

/* Find a bank by name or NULL. */
const struct cfg_bank *cfg_find_bank(const struct mavis_config *cfg, const char *name);
/* Find the policy for domain key ("example.com" / ".example.com") or NULL. */
const struct cfg_domain *cfg_find_domain(const struct mavis_config *cfg, const char *domain);

/* Trim white space in place; returns the trimmed start. */
char *cfg_trim(char *s);

#endif
