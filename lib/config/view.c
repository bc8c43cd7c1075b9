/* SPDX-License-Identifier: GPL-2.0-or-later */
/* view.c - effective settings: base values with policy banks stacked on top */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/alloc.h>
#include <mavis/log.h>

#include "config_int.h"

#define VIEW_MAX_BANKS 16
#define VIEW_PATH_MAX 512

struct mavis_view {
	struct mavis_config *cfg;
	const struct mavis_value *v[MAVIS_KEY_COUNT];
	const struct cfg_bank *stack[VIEW_MAX_BANKS];
	size_t depth;
	bool mynets;	/* MYNETS loaded: originating implied */
	char path[VIEW_PATH_MAX];
};

static void
view_rebuild(struct mavis_view *view)
{
	/* Cheap: about a hundred pointers, done only when a bank is loaded. */
	for (int k = 0; k < MAVIS_KEY_COUNT; k++)
		view->v[k] = &view->cfg->base[k];
	view->path[0] = '\0';
	view->mynets = false;
	for (size_t i = 0; i < view->depth; i++) {
		const struct cfg_bank *b = view->stack[i];

		for (int k = 0; k < MAVIS_KEY_COUNT; k++)
			if (b->set[k])
				view->v[k] = &b->vals[k];
		if (i > 0)
			strncat(view->path, "/", sizeof(view->path) - strlen(view->path) - 1);
		strncat(view->path, b->name, sizeof(view->path) - strlen(view->path) - 1);
		if (strcmp(b->name, mavis_config_get(view->cfg, MAVIS_KEY_MYNETS_BANK)->u.s) == 0)
			view->mynets = true;
	}
}

struct mavis_view *
mavis_view_new(struct mavis_config *cfg)
{
	struct mavis_view *view = mavis_xcalloc(1, sizeof(*view));

	view->cfg = mavis_config_ref(cfg);
	view_rebuild(view);
	return view;
}

void
mavis_view_free(struct mavis_view **pview)
{
	struct mavis_view *view = *pview;

	if (view == NULL)
		return;
	*pview = NULL;
	mavis_config_unref(&view->cfg);
	free(view);
}

const struct mavis_config *
mavis_view_config(const struct mavis_view *view)
{
	return view->cfg;
}

int
mavis_view_load_bank(struct mavis_view *view, const char *name)
{
	const struct cfg_bank *b;

	if (name == NULL || *name == '\0')
		return 0;
	b = cfg_find_bank(view->cfg, name);
	if (b == NULL || view->depth >= VIEW_MAX_BANKS)
		return 0;
	for (size_t i = 0; i < view->depth; i++)
		if (view->stack[i] == b)
			return 0;
	view->stack[view->depth++] = b;
	view_rebuild(view);
	return 1;
}

const char *
mavis_view_path(const struct mavis_view *view)
{
	return view->path;
}

size_t
mavis_view_depth(const struct mavis_view *view)
{
	return view->depth;
}

void
mavis_view_truncate(struct mavis_view *view, size_t depth)
{
	if (depth < view->depth) {
		view->depth = depth;
		view_rebuild(view);
	}
}

/* Load each name of a "A, B C" list, in order. */
static void
load_bank_list(struct mavis_view *view, const char *names)
{
	char name[128];
	const char *p = names;

	while (*p) {
		size_t n = 0;

		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		while (p[n] && p[n] != ' ' && p[n] != ',' && p[n] != '\t')
			n++;
		if (n > 0 && n < sizeof(name)) {
			memcpy(name, p, n);
			name[n] = '\0';
			mavis_view_load_bank(view, name);
		}
		p += n;
	}
}

int
mavis_view_select_conn(struct mavis_view *view, const struct mavis_conn_facts *facts,
		       struct mavis_arena *scratch, struct mavis_error *err)
{
	const struct mavis_config *cfg = view->cfg;

	if (facts->daemon_name && *facts->daemon_name &&
	    mavis_config_get(cfg, MAVIS_KEY_DAEMON_NAME_BANKS)->u.b)
		mavis_view_load_bank(view, facts->daemon_name);
	if (facts->client_addr == NULL || *facts->client_addr == '\0')
		return 0;
	/* mynetworks itself may be overridden by the daemon-name bank. */
	if (mavis_iplist_match(mavis_view_get(view, MAVIS_KEY_MYNETWORKS)->u.ips,
			       facts->client_addr) == 1) {
		const char *mynets = mavis_config_get(cfg, MAVIS_KEY_MYNETS_BANK)->u.s;

		if (!mavis_view_load_bank(view, mynets) && mynets && *mynets) {
			/* No [bank MYNETS] section: still originating, as amavisd's
			   implicit MYNETS. Remember it for mavis_view_originating. */
			view->mynets = true;
			if (view->path[0])
				strncat(view->path, "/", sizeof(view->path) - strlen(view->path) - 1);
			strncat(view->path, mynets, sizeof(view->path) - strlen(view->path) - 1);
		}
	}
	const struct mavis_maplist *pol = mavis_config_get(cfg, MAVIS_KEY_CLIENT_IPADDR_POLICY)->u.maps;
	if (pol != NULL && mavis_maplist_count(pol) > 0) {
		struct mavis_map_result res;
		int rc = mavis_maplist_lookup(pol, facts->client_addr, NULL, scratch, &res, err);

		if (rc < 0)
			return rc;
		if (rc > 0)
			load_bank_list(view, res.value);
	}
	return 0;
}

int
mavis_view_select_sender(struct mavis_view *view, const char *auth_authen)
{
	if (auth_authen == NULL || *auth_authen == '\0')
		return 0;
	return mavis_view_load_bank(view, mavis_config_get(view->cfg, MAVIS_KEY_SASL_AUTH_BANK)->u.s);
}

const struct mavis_value *
mavis_view_get(const struct mavis_view *view, enum mavis_key key)
{
	if ((unsigned)key >= MAVIS_KEY_COUNT)
		mavis_panic(__FILE__, __LINE__, "config key out of range");
	return view->v[key];
}

bool
mavis_view_bool(const struct mavis_view *view, enum mavis_key key)
{
	return mavis_view_get(view, key)->u.b;
}

long long
mavis_view_int(const struct mavis_view *view, enum mavis_key key)
{
	return mavis_view_get(view, key)->u.i;
}

double
mavis_view_float(const struct mavis_view *view, enum mavis_key key)
{
	return mavis_view_get(view, key)->u.f;
}

const char *
mavis_view_str(const struct mavis_view *view, enum mavis_key key)
{
	const char *s = mavis_view_get(view, key)->u.s;

	return s ? s : "";
}

void
mavis_view_map_opts(const struct mavis_view *view, struct mavis_map_opts *opts)
{
	opts->recipient_delimiter = mavis_view_str(view, MAVIS_KEY_RECIPIENT_DELIMITER);
	opts->localpart_is_case_sensitive = mavis_view_bool(view, MAVIS_KEY_LOCALPART_IS_CASE_SENSITIVE);
	opts->sql_failure_pass =
		mavis_view_get(view, MAVIS_KEY_ON_SQL_FAILURE)->u.e == MAVIS_ON_SQL_FAILURE_PASS;
	opts->memory_only = false;
	opts->local_domains = mavis_view_get(view, MAVIS_KEY_LOCAL_DOMAINS_MAPS)->u.maps;
}

bool
mavis_view_originating(const struct mavis_view *view)
{
	return view->mynets || mavis_view_bool(view, MAVIS_KEY_ORIGINATING);
}

/* Look key up in the policy file of one domain key; 0 when there is none. */
static int
domain_lookup(const struct mavis_config *cfg, const char *domkey, enum mavis_key key,
	      const char *addr, const struct mavis_map_opts *opts, struct mavis_arena *scratch,
	      struct mavis_map_result *res, struct mavis_error *err)
{
	const struct cfg_domain *dom = cfg_find_domain(cfg, domkey);

	if (dom == NULL)
		return 0;
	for (size_t i = 0; i < dom->n; i++)
		if (dom->keys[i] == key)
			return mavis_maplist_lookup(dom->vals[i].u.maps, addr, opts, scratch, res, err);
	return 0;
}

int
mavis_view_lookup(const struct mavis_view *view, enum mavis_key key, const char *addr,
		  struct mavis_arena *scratch, struct mavis_map_result *res, struct mavis_error *err)
{
	const struct mavis_config *cfg = view->cfg;
	struct mavis_map_opts opts;
	int rc;

	mavis_view_map_opts(view, &opts);
	if (cfg->ndomains > 0) {
		const char *local, *domain;
		char dotted[300];

		mavis_addr_split(addr, scratch, &local, &domain);
		/* "sub.dom", then ".sub.dom", ".dom", ".tld": amavisd's domain keys. */
		rc = domain_lookup(cfg, domain, key, addr, &opts, scratch, res, err);
		for (const char *s = domain; rc == 0 && *s != '\0';) {
			const char *next = strchr(s, '.');

			if (snprintf(dotted, sizeof(dotted), ".%s", s) < (int)sizeof(dotted))
				rc = domain_lookup(cfg, dotted, key, addr, &opts, scratch, res, err);
			if (next == NULL)
				break;
			s = next + 1;
		}
		if (rc != 0)
			return rc;
	}
	const struct mavis_value *v = mavis_view_get(view, key);
	if (v->u.maps == NULL)
		return 0;
	return mavis_maplist_lookup(v->u.maps, addr, &opts, scratch, res, err);
}
