/* SPDX-License-Identifier: GPL-2.0-or-later */
/* snapshot.c - build, share and free immutable configuration snapshots */

#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mavis/alloc.h>
#include <mavis/log.h>
#include <mavis/sql.h>

#include "config_int.h"

static void
config_destroy(struct mavis_config *cfg)
{
	for (size_t i = 0; i < cfg->nmaplists; i++)
		mavis_maplist_free(&cfg->maplists[i]);
	free(cfg->maplists);
	mavis_arena_free(&cfg->arena);
	free(cfg);
}

/* myhostname and mydomain default to what the system says, like Postfix. */
static void
resolve_identity(struct mavis_config *cfg)
{
	const char *host = cfg->raw[MAVIS_KEY_MYHOSTNAME].text;

	if (host == NULL || *host == '\0') {
		char buf[256] = "localhost";

		if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0')
			strcpy(buf, "localhost");
		buf[sizeof(buf) - 1] = '\0';
		cfg->raw[MAVIS_KEY_MYHOSTNAME].text = mavis_arena_strdup(cfg->arena, buf);
		cfg->raw[MAVIS_KEY_MYHOSTNAME].file = "(system)";
	}
	const char *dom = cfg->raw[MAVIS_KEY_MYDOMAIN].text;
	if (dom == NULL || *dom == '\0') {
		const char *h = cfg->raw[MAVIS_KEY_MYHOSTNAME].text;
		const char *dot = strchr(h, '.');

		/* Unexpanded myhostname may hold $refs: keep the reference then. */
		cfg->raw[MAVIS_KEY_MYDOMAIN].text = (dot && dot[1] && !strchr(h, '$'))
			? mavis_arena_strdup(cfg->arena, dot + 1)
			: (dot ? "$myhostname" : mavis_arena_strdup(cfg->arena, h));
		cfg->raw[MAVIS_KEY_MYDOMAIN].file = "(system)";
	}
}

static int
build_snapshot(struct mavis_config *cfg, struct mavis_error *err)
{
	int rc;

	resolve_identity(cfg);
	if (cfg->raw[MAVIS_KEY_CONFIG_DIRECTORY].text == NULL && cfg->basedir != NULL) {
		/* Like Postfix's config_directory: files next to the config
		   can be named $config_directory/... */
		cfg->raw[MAVIS_KEY_CONFIG_DIRECTORY].text = cfg->basedir;
		cfg->raw[MAVIS_KEY_CONFIG_DIRECTORY].file = "(system)";
	}
	for (int k = 0; k < MAVIS_KEY_COUNT; k++) {
		const struct cfg_raw *raw = cfg->raw[k].text ? &cfg->raw[k] : NULL;

		rc = cfg_build_value(cfg, k, raw, &cfg->base[k], err);
		if (rc < 0)
			return rc;
	}
	for (size_t b = 0; b < cfg->nbanks; b++) {
		struct cfg_bank *bank = &cfg->banks[b];

		for (int k = 0; k < MAVIS_KEY_COUNT; k++) {
			if (!bank->set[k])
				continue;
			rc = cfg_build_value(cfg, k, &bank->raw[k], &bank->vals[k], err);
			if (rc < 0) {
				mavis_error_prefix(err, "bank %s: ", bank->name);
				return rc;
			}
		}
	}
	const char *pdir = cfg->base[MAVIS_KEY_POLICY_DIRECTORY].u.s;
	if (pdir != NULL && *pdir != '\0')
		return cfg_load_policy_dir(cfg, pdir, err);
	return 0;
}

static struct mavis_config *
config_new(const char *name, const char *basedir)
{
	struct mavis_config *cfg = mavis_xcalloc(1, sizeof(*cfg));

	/* pgsql: tables must be known before a file names one. */
	(void)mavis_sql_register_maps();
	atomic_init(&cfg->refs, 1);
	cfg->arena = mavis_arena_new(64 * 1024);
	cfg->path = mavis_arena_strdup(cfg->arena, name);
	cfg->basedir = basedir ? mavis_arena_strdup(cfg->arena, basedir) : NULL;
	return cfg;
}

int
mavis_config_load_string(const char *text, const char *name, const char *basedir,
			 struct mavis_config **out, struct mavis_error *err)
{
	struct mavis_config *cfg = config_new(name, basedir);
	int rc;

	rc = cfg_parse_text(cfg, text, cfg->path, err);
	if (rc == 0)
		rc = build_snapshot(cfg, err);
	if (rc < 0) {
		config_destroy(cfg);
		return rc;
	}
	*out = cfg;
	return 0;
}

int
mavis_config_load(const char *path, struct mavis_config **out, struct mavis_error *err)
{
	struct mavis_arena *tmp = mavis_arena_new(0);
	char *text, *dircopy;
	size_t len;
	int rc;

	rc = cfg_read_file(path, tmp, &text, &len, err);
	if (rc == 0) {
		char abs[PATH_MAX];

		dircopy = mavis_arena_strdup(tmp, path);
		/* Absolute, so $config_directory and relative map paths keep
		   working after a chdir. */
		const char *dir = dirname(dircopy);
		if (realpath(dir, abs) != NULL)
			dir = abs;
		rc = mavis_config_load_string(text, path, dir, out, err);
	}
	mavis_arena_free(&tmp);
	return rc;
}

struct mavis_config *
mavis_config_ref(struct mavis_config *cfg)
{
	atomic_fetch_add(&cfg->refs, 1);
	return cfg;
}

void
mavis_config_unref(struct mavis_config **pcfg)
{
	struct mavis_config *cfg = *pcfg;

	if (cfg == NULL)
		return;
	*pcfg = NULL;
	if (atomic_fetch_sub(&cfg->refs, 1) == 1)
		config_destroy(cfg);
}

const char *
mavis_config_path(const struct mavis_config *cfg)
{
	return cfg->path;
}

const struct mavis_value *
mavis_config_get(const struct mavis_config *cfg, enum mavis_key key)
{
	if ((unsigned)key >= MAVIS_KEY_COUNT)
		mavis_panic(__FILE__, __LINE__, "config key out of range");
	return &cfg->base[key];
}

bool
mavis_config_is_set(const struct mavis_config *cfg, enum mavis_key key)
{
	return (unsigned)key < MAVIS_KEY_COUNT && cfg->set[key];
}

const char *const *
mavis_config_warnings(const struct mavis_config *cfg)
{
	static const char *const none[] = { NULL };

	return cfg->warnings ? cfg->warnings : none;
}

size_t
mavis_config_bank_count(const struct mavis_config *cfg)
{
	return cfg->nbanks;
}

const char *
mavis_config_bank_name(const struct mavis_config *cfg, size_t i)
{
	return i < cfg->nbanks ? cfg->banks[i].name : NULL;
}

const struct cfg_bank *
cfg_find_bank(const struct mavis_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nbanks; i++)
		if (strcmp(cfg->banks[i].name, name) == 0)
			return &cfg->banks[i];
	return NULL;
}

bool
mavis_config_has_bank(const struct mavis_config *cfg, const char *name)
{
	return cfg_find_bank(cfg, name) != NULL;
}

const struct mavis_value *
mavis_config_bank_get(const struct mavis_config *cfg, const char *bank, enum mavis_key key)
{
	const struct cfg_bank *b = cfg_find_bank(cfg, bank);

	if (b == NULL || (unsigned)key >= MAVIS_KEY_COUNT || !b->set[key])
		return NULL;
	return &b->vals[key];
}

size_t
mavis_config_domain_count(const struct mavis_config *cfg)
{
	return cfg->ndomains;
}
