/* SPDX-License-Identifier: GPL-2.0-or-later */
/* acl.c - amavisd lookup_acl: address ACLs written as bare tokens, first match wins */

#include <string.h>
#include <strings.h>

#include "maps_int.h"

struct acl_entry {
	const char *text;	/* as written, "!" included */
	const char *pat;	/* after the "!"s */
	size_t plen;
	bool neg;
};

struct map_acl {
	size_t n;
	struct acl_entry *e;
};

int
mavis_map_acl_build(const char *const *entries, size_t n, struct mavis_arena *a,
		    struct map_acl **out, struct mavis_error *err)
{
	struct map_acl *acl = mavis_arena_alloc(a, sizeof(*acl));

	acl->e = mavis_arena_calloc(a, n ? n : 1, sizeof(*acl->e));
	for (size_t i = 0; i < n; i++) {
		struct acl_entry *e = &acl->e[i];
		const char *p = entries[i];

		e->text = entries[i];
		/* An odd number of '!' negates, as in amavisd. */
		for (; *p == '!'; p++)
			e->neg = !e->neg;
		if (*p == '\0')
			return mavis_error_set(err, MAVIS_ERR_CONFIG, "empty ACL entry '%s'",
					       entries[i]);
		e->pat = p;
		e->plen = strlen(p);
	}
	acl->n = n;
	*out = acl;
	return 0;
}

static bool
eq_ci(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && strncasecmp(a, b, alen) == 0;
}

static bool
entry_matches(const struct acl_entry *e, const char *lp, size_t llen, const char *dom,
	      size_t dlen, bool lp_case)
{
	const char *at;

	if (e->plen == 1 && e->pat[0] == '.')
		return true;
	at = strrchr(e->pat, '@');
	if (at != NULL) {
		/* user@dom: the whole address; the ACL knows no extensions. */
		size_t elen = (size_t)(at - e->pat);

		if (elen != llen || !eq_ci(at + 1, e->plen - elen - 1, dom, dlen))
			return false;
		return lp_case ? memcmp(e->pat, lp, llen) == 0 : strncasecmp(e->pat, lp, llen) == 0;
	}
	if (e->pat[0] == '.') {
		/* .dom: the domain itself and everything below it. */
		if (eq_ci(e->pat + 1, e->plen - 1, dom, dlen))
			return true;
		return dlen > e->plen && eq_ci(e->pat, e->plen, dom + dlen - e->plen, e->plen);
	}
	return eq_ci(e->pat, e->plen, dom, dlen);
}

int
mavis_map_acl_lookup(const struct map_acl *acl, const char *key, enum mavis_mapkey keytype,
		     const struct mavis_map_opts *opts, const char **value,
		     const char **matched)
{
	const char *at = strrchr(key, '@');
	const char *lp = key, *dom = "";
	size_t llen = strlen(key), dlen = 0;
	bool lp_case = opts != NULL && opts->localpart_is_case_sensitive;

	if (keytype == MAVIS_MAPKEY_ADDR && at != NULL) {
		llen = (size_t)(at - key);
		dom = at + 1;
		dlen = strlen(dom);
		while (dlen > 0 && dom[dlen - 1] == '.')
			dlen--;
	}
	for (size_t i = 0; i < acl->n; i++) {
		const struct acl_entry *e = &acl->e[i];
		bool hit;

		/* A string key (virus name, file type) is one opaque word. */
		if (keytype != MAVIS_MAPKEY_ADDR)
			hit = (e->plen == 1 && e->pat[0] == '.') ||
			      eq_ci(e->pat, e->plen, key, llen);
		else
			hit = entry_matches(e, lp, llen, dom, dlen, lp_case);
		if (hit) {
			/* "!." is amavisd's defined false: it stops later tables. */
			*value = e->neg ? "0" : "1";
			*matched = e->text;
			return 1;
		}
	}
	return 0;
}
