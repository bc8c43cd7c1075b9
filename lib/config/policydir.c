/* SPDX-License-Identifier: GPL-2.0-or-later */
/* policydir.c - per-domain policy files: one file per recipient domain */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/alloc.h>

#include "config_int.h"

/* "example.com" or ".example.com" (subdomains); other names (README,
   foo.conf~, .dpkg-old files) are not policy files and are skipped. */
static bool
domain_file_name(const char *name)
{
	const char *p = name;
	bool dot = false;

	if (*p == '.')
		p++;
	if (*p == '\0' || strlen(name) > 253)
		return false;
	for (; *p; p++) {
		if (*p == '.') {
			if (p[1] == '.' || p[1] == '\0')
				return false;
			dot = true;
		} else if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-')) {
			return false;
		}
	}
	return dot;
}

static int
cmp_domain(const void *a, const void *b)
{
	return strcmp(((const struct cfg_domain *)a)->domain,
		      ((const struct cfg_domain *)b)->domain);
}

static int
load_one(struct mavis_config *cfg, const char *dir, const char *name, struct cfg_domain *dom,
	 struct mavis_error *err)
{
	struct mavis_config *tmp = mavis_xcalloc(1, sizeof(*tmp));
	char *path = mavis_arena_printf(cfg->arena, "%s/%s", dir, name);
	char *text;
	size_t len;
	int rc;

	tmp->arena = cfg->arena;	/* raw texts outlive tmp: keep them in cfg */
	rc = cfg_read_file(path, cfg->arena, &text, &len, err);
	if (rc == 0)
		rc = cfg_parse_text(tmp, text, path, err);
	if (rc == 0 && tmp->nbanks > 0)
		rc = mavis_error_set(err, MAVIS_ERR_CONFIG,
				     "%s: [bank] sections are not allowed in a policy file", path);
	dom->domain = mavis_arena_strdup(cfg->arena, name);
	for (int k = 0; rc == 0 && k < MAVIS_KEY_COUNT; k++) {
		if (tmp->set[k] && mavis_key_info(k)->scope != MAVIS_SCOPE_RCPT)
			rc = mavis_error_set(err, MAVIS_ERR_CONFIG,
					     "%s:%d: %s: not a per-recipient parameter", path,
					     tmp->raw[k].line, mavis_key_info(k)->name);
		else if (tmp->set[k])
			dom->n++;
	}
	if (rc == 0) {
		dom->keys = mavis_arena_calloc(cfg->arena, dom->n + 1, sizeof(*dom->keys));
		dom->vals = mavis_arena_calloc(cfg->arena, dom->n + 1, sizeof(*dom->vals));
		size_t i = 0;
		for (int k = 0; rc == 0 && k < MAVIS_KEY_COUNT; k++) {
			if (!tmp->set[k])
				continue;
			dom->keys[i] = k;
			/* Expansion uses the main file's values ($mydomain ...). */
			rc = cfg_build_value(cfg, k, &tmp->raw[k], &dom->vals[i], err);
			i++;
		}
	}
	free(tmp);
	return rc;
}

int
cfg_load_policy_dir(struct mavis_config *cfg, const char *dir, struct mavis_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t cap = 0;
	int rc = 0;

	if (d == NULL)
		return mavis_error_set(err, MAVIS_ERR_IO, "policy_directory %s: %s", dir,
				       strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (!domain_file_name(de->d_name)) {
			cfg_add_warning(cfg, "policy_directory %s: skipping %s (not a domain name)",
					dir, de->d_name);
			continue;
		}
		if (cfg->ndomains >= CFG_MAX_DOMAINS) {
			rc = mavis_error_set(err, MAVIS_ERR_LIMIT, "policy_directory %s: more than %d files",
					     dir, CFG_MAX_DOMAINS);
			break;
		}
		if (cfg->ndomains == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct cfg_domain *nd = mavis_arena_calloc(cfg->arena, ncap, sizeof(*nd));

			if (cfg->ndomains)
				memcpy(nd, cfg->domains, cfg->ndomains * sizeof(*nd));
			cfg->domains = nd;
			cap = ncap;
		}
		rc = load_one(cfg, dir, de->d_name, &cfg->domains[cfg->ndomains], err);
		if (rc < 0)
			break;
		cfg->ndomains++;
	}
	closedir(d);
	if (rc == 0 && cfg->ndomains > 1)
		qsort(cfg->domains, cfg->ndomains, sizeof(*cfg->domains), cmp_domain);
	return rc;
}

const struct cfg_domain *
cfg_find_domain(const struct mavis_config *cfg, const char *domain)
{
	struct cfg_domain key = { .domain = domain };

	if (cfg->ndomains == 0)
		return NULL;
	return bsearch(&key, cfg->domains, cfg->ndomains, sizeof(*cfg->domains), cmp_domain);
}
