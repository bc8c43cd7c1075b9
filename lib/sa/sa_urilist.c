/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sa_urilist.c - the message's URI list as PerMsgStatus::get_uri_list builds it */

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "sa_html.h"
#include "sa_int.h"
#include "sa_uri.h"

/* ---- RegistryBoundaries ------------------------------------------------- */

bool
sa_rules_is_tld(const struct mavis_sa_rules *rs, const char *tld, size_t n)
{
	char buf[64];

	if (rs == NULL || n == 0 || n >= sizeof(buf))
		return false;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)sa_lower((unsigned char)tld[i]);
	return sa_strset_has(&rs->tlds[0], buf, n);
}


/* Constants.pm IS_IP_ADDRESS: a whole IPv4 or IPv6 address */
static bool
is_ip(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* Util::is_fqdn_valid of a lower-case ASCII host */
static bool
is_fqdn_valid(const char *host)
{
	size_t n = strlen(host), labels = 1;

	while (n > 0 && host[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++)
		labels += host[i] == '.';
	if (labels < 2)
		return false;
	for (size_t i = 0, left = labels; i < n; left--) {
		size_t e = i;

		while (e < n && host[e] != '.')
			e++;
		size_t l = e - i;

		if (l < 1 || l > 63)
			return false;
		for (size_t k = i; k < e; k++) {
			unsigned char c = (unsigned char)host[k];
			bool mid = k > i && k + 1 < e;

			if (!(sa_isdigit(c) || (c >= 'a' && c <= 'z') || c == '_' || (mid && c == '-')))
				return false;
			/* the first and second level cannot hold '_' */
			if (c == '_' && left <= 2)
				return false;
		}
		i = e + 1;
	}
	return true;
}

/* RegistryBoundaries::is_domain_valid: a dot, and the last label a known TLD */
static bool
is_domain_valid(const struct mavis_sa_rules *rs, const char *d)
{
	const char *dot = strrchr(d, '.');

	if (dot == NULL || dot[1] == '\0' || strpbrk(d, " \t\n\r\f\v") != NULL)
		return false;
	return sa_rules_is_tld(rs, dot + 1, strlen(dot + 1));
}

/* RegistryBoundaries::trim_domain (split_domain without the US-state
   forms): the registered domain of a host; dots doubled, leading or
   trailing are dropped first */
const char *
sa_trim_domain(const struct mavis_sa_rules *rs, const char *host, struct mavis_arena *a)
{
	const char *parts[128];
	size_t np = 0;
	char *d = mavis_arena_strdup(a, host);

	for (char *p = d, *save = NULL, *t = strtok_r(p, ".", &save); t && np < 128;
	     t = strtok_r(NULL, ".", &save))
		parts[np++] = t;
	if (np == 0)
		return "";
	size_t first = 0;

	while (np - first > 1) {
		size_t left = np - first;

		if (left == 2 || left == 3) {
			const char *j = mavis_arena_printf(a, left == 2 ? "%s.%s" : "%s.%s.%s",
							   parts[first], parts[first + 1],
							   left == 3 ? parts[first + 2] : "");

			if (sa_strset_has(&rs->tlds[left - 1], j, strlen(j)))
				break;
		}
		first++;
	}
	if (first > 0)
		first--;
	struct sa_sb b = { 0 };

	for (size_t i = first; i < np; i++) {
		if (i > first)
			sa_sb_addc(&b, a, '.');
		sa_sb_add(&b, a, parts[i], strlen(parts[i]));
	}
	return sa_sb_str(&b);
}

const char *
sa_uri_to_domain(const struct mavis_sa_rules *rs, const char *uri, struct mavis_arena *a,
		 const char **host_r)
{
	char *u = mavis_arena_strdup(a, uri), *p;

	for (p = u; *p; p++)
		*p = (char)sa_lower((unsigned char)*p);
	if (!strncmp(u, "javascript:", 11) || !strncmp(u, "cid:", 4) || !strncmp(u, "file:", 5))
		return NULL;
	if (!strncmp(u, "mailto:", 7)) {
		u += 7;
		u[strcspn(u, "?")] = '\0';
		char *at = strchr(u, '@');

		if (at == NULL || strchr(at + 1, '@') != NULL)
			return NULL;
		u = at + 1;
	} else {
		/* s{^[a-z]+:/{0,2}}{} */
		size_t k = 0;

		while (u[k] >= 'a' && u[k] <= 'z')
			k++;
		if (k > 0 && u[k] == ':') {
			u += k + 1;
			for (int i = 0; i < 2 && *u == '/'; i++)
				u++;
		}
		u[strcspn(u, "/?#")] = '\0';
		char *at = strrchr(u, '@');

		if (at != NULL)
			u = at + 1;
		/* s{:\d*$}{} */
		char *c = strrchr(u, ':');

		if (c != NULL && strspn(c + 1, "0123456789") == strlen(c + 1))
			*c = '\0';
	}
	/* an undecoded %XX of a character that need not be encoded: the
	   decoded variant is in the list too */
	for (p = u; (p = strchr(p, '%')) != NULL; p++) {
		unsigned char h = (unsigned char)p[1], l = (unsigned char)p[2];
		bool lx = sa_isdigit(l) || (l >= 'a' && l <= 'f');

		if ((h == '2' && ((l >= '1' && l <= '9') || (l >= 'a' && l <= 'f'))) ||
		    (h >= '3' && h <= '6' && lx) || (h == '7' && (sa_isdigit(l) || (l >= 'a' && l <= 'e'))))
			return NULL;
	}
	if (host_r != NULL)
		*host_r = u;
	if (is_ip(u))
		return u;
	if (!is_fqdn_valid(u) || !is_domain_valid(rs, u))
		return NULL;
	return sa_trim_domain(rs, u, a);
}

/* ---- the list ------------------------------------------------------------ */

struct ulist {
	const struct mavis_sa_rules *rs;
	struct sa_msg *m;
	struct mavis_arena *a;
	const char **v;		/* the list being built */
	size_t n, cap;
	struct sa_strset set;
	pcre2_match_data *md;
	size_t n_uris;	/* URIs taken (before canonicalisation) */
};

static bool
is_tld_cb(const char *tld, size_t n, void *ctx)
{
	const struct ulist *l = ctx;

	return sa_rules_is_tld(l->rs, tld, n);
}

/* Util.pm: the first redirector_pattern whose group 1 is set and holds a dot */
static char *
redir_match(const char *uri, void *ctx, struct mavis_arena *a)
{
	struct ulist *l = ctx;

	if (l->md == NULL)
		return NULL;
	for (size_t i = 0; i < l->rs->n_redirs; i++) {
		if (pcre2_match(l->rs->redirs[i], (PCRE2_SPTR)uri, strlen(uri), 0, 0, l->md,
				l->rs->mctx) < 2)
			continue;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(l->md);

		if (ov[2] == PCRE2_UNSET || memchr(uri + ov[2], '.', ov[3] - ov[2]) == NULL)
			continue;
		return mavis_arena_strndup(a, uri + ov[2], ov[3] - ov[2]);
	}
	return NULL;
}

/* PerMsgStatus::add_uri_detail_list: the variants of uri into the list;
   with valid_domain only when one of them has a domain. */
static void
add_uri(struct ulist *l, const char *uri, bool valid_domain)
{
	const char **vars;
	size_t n;

	if (l->n_uris >= SA_MAX_URIS)
		return;
	l->n_uris++;
	n = sa_uri_canonicalize_redir(uri, redir_match, l, l->a, &vars);
	for (size_t i = 0; i < n; i++)
		if (strlen(vars[i]) > SA_MAX_URI_LENGTH) {
			l->m->uri_truncated = true;
			vars[i] = mavis_arena_strndup(l->a, vars[i], SA_MAX_URI_LENGTH);
		}
	if (valid_domain) {
		bool any = false;

		for (size_t i = 0; i < n && !any; i++)
			any = sa_uri_to_domain(l->rs, vars[i], l->a, NULL) != NULL;
		if (!any)
			return;
	}
	for (size_t i = 0; i < n && l->n < SA_MAX_URI_LIST; i++) {
		if (!sa_strset_add(&l->set, l->a, vars[i]))
			continue;
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 32;
			const char **nv = mavis_arena_calloc(l->a, cap, sizeof(*nv));

			if (l->n)
				memcpy(nv, l->v, l->n * sizeof(*nv));
			l->v = nv;
			l->cap = cap;
		}
		l->v[l->n++] = vars[i];
	}
}

/* _process_text_uri_list's checks after the pattern: a schemeless host must
   be a valid name, a mailto: domain a known TLD */
static bool
text_uri_ok(const struct mavis_sa_rules *rs, const char *uri, struct mavis_arena *a)
{
	if (!strncasecmp(uri, "mailto:", 7)) {
		const char *at = strchr(uri, '@');

		if (at == NULL)
			return false;
		size_t hl = strcspn(at + 1, "?&>");

		while (hl >= 3 && !strncmp(at + 1 + hl - 3, "%20", 3))
			hl -= 3;
		return is_domain_valid(rs, mavis_arena_strndup(a, at + 1, hl));
	}
	return true;
}

void
sa_uris_build(const struct mavis_sa_rules *rs, struct sa_msg *m, struct mavis_arena *a)
{
	struct ulist l = { .rs = rs, .m = m, .a = a };
	struct sa_strset seen = { 0 };

	l.md = pcre2_match_data_create(4, NULL);
	/* the rendered text, line by line (get_decoded_stripped_body_text_array) */
	for (size_t i = 0; i < m->n_body && l.n_uris < SA_MAX_URIS; i++) {
		const char **found;
		size_t n = sa_uri_find_tld(m->body[i], strlen(m->body[i]), is_tld_cb, &l, a,
					   &found);

		for (size_t k = 0; k < n; k++)
			if (sa_strset_add(&seen, a, found[k]) && text_uri_ok(rs, found[k], a))
				add_uri(&l, found[k], true);
	}
	/* HTML.pm's URIs, any domain */
	for (size_t i = 0; i < m->n_html; i++) {
		const char *const *hu;
		size_t n = sa_html_uris(m->html[i], &hu);
		double t = 0;

		if (sa_html_fact(m->html[i], "uri_truncated", &t) && t != 0)
			m->uri_truncated = true;
		for (size_t k = 0; k < n; k++)
			add_uri(&l, hu[k], false);
	}
	pcre2_match_data_free(l.md);
	m->uris = l.v;
	m->n_uris = l.n;
}
