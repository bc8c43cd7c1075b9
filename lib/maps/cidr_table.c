/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cidr_table.c - "network value" tables: cidr: files, and hash:/inline: in IP-keyed lists */

#include <string.h>

#include "maps_int.h"

int
mavis_iplist_from_kv(const struct map_kv_vec *kv, const char *where, enum mavis_mapval kind,
		     struct mavis_arena *a, struct mavis_iplist **out, struct mavis_error *err)
{
	struct mavis_iplist *l = mavis_arena_alloc(a, sizeof(*l));
	int r = 0;

	l->e = mavis_arena_calloc(a, kv->n ? kv->n : 1, sizeof(*l->e));
	for (size_t i = 0; i < kv->n; i++) {
		const struct map_kv *p = &kv->v[i];
		struct ip_entry *e = &l->e[i];

		r = mavis_ip_parse_net(p->key, strlen(p->key), &e->net, err);
		if (r == 0 && e->net.neg && p->value != NULL)
			/* A negated entry answers the defined false "0"; a value
			   next to it would suggest otherwise. */
			r = mavis_error_set(err, MAVIS_ERR_CONFIG,
					    "negated entry '%s' takes no value", p->key);
		if (r == 0 && p->value != NULL)
			r = mavis_map_value_check(kind, p->value, err);
		if (r < 0) {
			if (where != NULL)
				mavis_error_prefix(err, "%s:%lu: ", where, p->lineno);
			return r;
		}
		e->value = p->value != NULL ? p->value : "1";
		e->text = p->key;
	}
	l->n = kv->n;
	*out = l;
	return 0;
}

int
mavis_cidr_table_load(const char *path, enum mavis_mapval kind, struct mavis_arena *a,
		      struct mavis_iplist **out, struct mavis_error *err)
{
	struct map_kv_vec kv = { 0 };
	int r;

	r = mavis_map_kv_load(path, a, &kv, err);
	if (r == 0)
		r = mavis_iplist_from_kv(&kv, path, kind, a, out, err);
	mavis_map_kv_release(&kv);
	return r;
}
