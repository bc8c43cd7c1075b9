/* SPDX-License-Identifier: GPL-2.0-or-later */
/* addr_keys.c - amavisd make_query_keys: the lookup keys of an address, in order */

#include <string.h>
#include <strings.h>

#include "maps_int.h"

/* An address taken apart the way make_query_keys does it. */
struct addr_parts {
	const char *local;	/* as given */
	size_t llen;
	char *lc;		/* localpart, lowercased unless case-sensitive */
	size_t ulen;		/* lc[0..ulen) is the user, the rest the extension */
	char *domain;		/* lowercased, trailing dots gone */
	size_t dlen;
};

static bool
reserved_local(const char *lp, size_t len)
{
	static const char *const names[] = { "postmaster", "mailer-daemon", "double-bounce" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && strncasecmp(lp, names[i], len) == 0)
			return true;
	return false;
}

/* amavisd split_localpart: /^(.+?)([delims].*)\z/s, so the user part is never
   empty, except for the names amavisd never splits. */
static size_t
user_len(const char *lp, size_t len, const char *delim)
{
	if (delim == NULL || *delim == '\0' || reserved_local(lp, len))
		return len;
	if (strcmp(delim, "-") == 0 &&
	    ((len > 6 && strncasecmp(lp, "owner-", 6) == 0) ||
	     (len > 8 && strncasecmp(lp + len - 8, "-request", 8) == 0)))
		return len;
	for (size_t i = 1; i < len; i++)
		if (lp[i] != '\0' && strchr(delim, lp[i]) != NULL)
			return i;
	return len;
}

static void
addr_parse(const char *addr, const struct mavis_map_opts *opts, struct mavis_arena *a,
	   struct addr_parts *p)
{
	/* amavisd split_address also keeps an '@' inside a [literal] in the
	   domain; an address like that is broken anyway, the last '@' will do. */
	const char *at = strrchr(addr, '@');
	const char *dom = at != NULL ? at + 1 : "";
	size_t dlen = strlen(dom);

	p->local = addr;
	p->llen = at != NULL ? (size_t)(at - addr) : strlen(addr);
	p->lc = mavis_arena_strndup(a, addr, p->llen);
	if (opts == NULL || !opts->localpart_is_case_sensitive)
		mavis_map_lower(p->lc);
	p->ulen = user_len(p->lc, p->llen, opts != NULL ? opts->recipient_delimiter : NULL);
	while (dlen > 0 && dom[dlen - 1] == '.')
		dlen--;
	p->domain = mavis_arena_strndup(a, dom, dlen);
	mavis_map_lower(p->domain);
	p->dlen = dlen;
}

/* s1 s2 s3 as one arena string. */
static char *
join(struct mavis_arena *a, const char *s1, size_t n1, const char *s2, size_t n2,
     const char *s3, size_t n3)
{
	char *p = mavis_arena_alloc(a, n1 + n2 + n3 + 1);

	memcpy(p, s1, n1);
	memcpy(p + n1, s2, n2);
	memcpy(p + n1 + n2, s3, n3);
	return p;
}

static void
add_key(const char **keys, size_t *n, const char *k)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(keys[i], k) == 0)
			return;
	keys[(*n)++] = k;
}

size_t
mavis_addr_keys(const char *addr, const struct mavis_map_opts *opts, bool include_bare_user,
		struct mavis_arena *arena, const char ***keys_out)
{
	const char **keys = mavis_arena_calloc(arena, MAP_ADDR_KEYS_MAX, sizeof(*keys));
	struct addr_parts p;
	size_t n = 0, ndots = 0, total, skip, idx = 0;
	bool has_ext;
	char *dotdom;

	if (addr == NULL)
		addr = "";
	addr_parse(addr, opts, arena, &p);
	has_ext = p.ulen < p.llen;
	if (include_bare_user)
		add_key(keys, &n, addr);
	if (has_ext)
		add_key(keys, &n, join(arena, p.lc, p.llen, "@", 1, p.domain, p.dlen));
	add_key(keys, &n, join(arena, p.lc, p.ulen, "@", 1, p.domain, p.dlen));
	if (include_bare_user) {
		if (has_ext)
			add_key(keys, &n, join(arena, p.lc, p.llen, "@", 1, "", 0));
		add_key(keys, &n, join(arena, p.lc, p.ulen, "@", 1, "", 0));
	}
	/* ".domain" once: every ".sub.dom" suffix key is a tail of it. */
	dotdom = join(arena, ".", 1, p.domain, p.dlen, "", 0);
	add_key(keys, &n, dotdom + 1);
	if (strchr(p.domain, '[') != NULL) {
		add_key(keys, &n, ".");
	} else {
		for (const char *d = p.domain; *d; d++)
			ndots += *d == '.';
		total = p.dlen > 0 ? ndots + 2 : 1;
		skip = total > MAP_DOMAIN_KEYS_MAX ? total - MAP_DOMAIN_KEYS_MAX : 0;
		for (const char *d = dotdom; *d; idx++) {
			if (idx >= skip)
				add_key(keys, &n, d);
			d = strchr(d + 1, '.');
			if (d == NULL)
				break;
		}
		add_key(keys, &n, ".");
	}
	*keys_out = keys;
	return n;
}

void
mavis_addr_split(const char *addr, struct mavis_arena *arena, const char **local_out,
		 const char **domain_out)
{
	const char *at = strrchr(addr, '@');
	size_t dlen;
	char *dom;

	if (at == NULL) {
		*local_out = mavis_arena_strdup(arena, addr);
		*domain_out = mavis_arena_strdup(arena, "");
		return;
	}
	*local_out = mavis_arena_strndup(arena, addr, (size_t)(at - addr));
	dlen = strlen(at + 1);
	while (dlen > 0 && at[dlen] == '.')
		dlen--;
	dom = mavis_arena_strndup(arena, at + 1, dlen);
	mavis_map_lower(dom);
	*domain_out = dom;
}

void
mavis_addr_rhs(const char *addr, const struct mavis_map_opts *opts, struct mavis_arena *a,
	       const char *rhs[MAP_ADDR_RHS])
{
	struct addr_parts p;

	addr_parse(addr, opts, a, &p);
	rhs[0] = addr;
	rhs[1] = mavis_arena_strndup(a, p.local, p.llen);
	rhs[2] = mavis_arena_strndup(a, p.lc, p.ulen);
	rhs[3] = p.lc + p.ulen;
	rhs[4] = p.domain;
}

/* A reference at s ("$1", "${12}", "$(3)"): its length, and the number in
   *num (capped, so that a long digit run cannot overflow); 0 if none. */
static size_t
parse_ref(const char *s, unsigned long *num)
{
	size_t i = 1;
	char close = '\0';

	if (s[i] == '{' || s[i] == '(') {
		close = s[i] == '{' ? '}' : ')';
		i++;
	}
	if (s[i] < '0' || s[i] > '9')
		return 0;
	*num = 0;
	for (; s[i] >= '0' && s[i] <= '9'; i++)
		if (*num < 1000)
			*num = *num * 10 + (unsigned long)(s[i] - '0');
	if (close != '\0') {
		if (s[i] != close)
			return 0;
		i++;
	}
	return i;
}

int
mavis_map_expand_max_ref(const char *value)
{
	unsigned long max = 0, num;

	for (const char *p = strchr(value, '$'); p != NULL; p = strchr(p + 1, '$'))
		if (parse_ref(p, &num) > 0 && num > max)
			max = num;
	return max > 99 ? -1 : (int)max;
}

/* Write the expansion to o (when not NULL); returns its length. */
static size_t
expand_into(const char *value, const char *const *sub, const size_t *sublen, size_t nsub,
	    char *o)
{
	size_t len = 0, n;
	unsigned long num;

	for (const char *p = value; *p;) {
		const char *s = p;
		size_t sl = 1;

		if (*p == '$' && (n = parse_ref(p, &num)) > 0) {
			p += n;
			s = "";
			sl = 0;
			if (num >= 1 && num <= nsub && sub[num - 1] != NULL) {
				s = sub[num - 1];
				sl = sublen != NULL ? sublen[num - 1] : strlen(s);
			}
		} else {
			p++;
		}
		if (o != NULL)
			memcpy(o + len, s, sl);
		len += sl;
	}
	return len;
}

const char *
mavis_map_expand(const char *value, const char *const *sub, const size_t *sublen,
		 size_t nsub, struct mavis_arena *a)
{
	size_t len;
	char *out;

	if (strchr(value, '$') == NULL)
		return value;
	len = expand_into(value, sub, sublen, nsub, NULL);
	out = mavis_arena_alloc(a, len + 1);
	expand_into(value, sub, sublen, nsub, out);
	return out;
}
