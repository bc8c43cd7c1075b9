/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sa_uri.c - URIs from text and their canonical forms, as SpamAssassin */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sa/sa_parse_int.h"
#include "sa/sa_uri.h"

#define SA_URI_MAX_WORK 16
#define SA_URI_MAX_VARIANTS 64
#define SA_URI_MAX_LEN 2048

/* --- canonicalisation (Util::uri_list_canonicalize) ------------------------ */

struct out {
	struct sa_vec v;
	struct sa_strset set;
	struct mavis_arena *a;
	sa_uri_redir_fn redir;	/* redirector_pattern matcher, or NULL */
	void *redir_ctx;
};

static void
out_add(struct out *o, char *s)
{
	if (o->v.n < SA_URI_MAX_VARIANTS && sa_strset_add(&o->set, o->a, s))
		sa_vec_push(&o->v, o->a, s);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* url_encode: decode %XX of printable 0x21-0x7e, encode unsafe octets */
static char *
url_encode(struct mavis_arena *a, const char *s)
{
	struct sa_sb b = { 0 };

	sa_sb_add(&b, a, "", 0);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '%' && hexval((unsigned char)s[1]) >= 0 && hexval((unsigned char)s[2]) >= 0) {
			int hi = hexval((unsigned char)s[1]), v = hi * 16 + hexval((unsigned char)s[2]);

			if (hi >= 2 && hi <= 7 && v != 0x20 && v != 0x7f)
				sa_sb_addc(&b, a, (char)v);
			else
				sa_sb_add(&b, a, s, 3);
			s += 2;
		} else if (c <= 0x20 || c >= 0x7f || c == '"' || c == '%' || c == '<' || c == '>') {
			char t[4];

			snprintf(t, sizeof(t), "%%%02x", c);
			sa_sb_add(&b, a, t, 3);
		} else {
			sa_sb_addc(&b, a, (char)c);
		}
	}
	return b.p;
}

/* &#NN; / &#xHH; of printable ASCII, and the entity spellings of a dot */
static char *
decode_char_refs(struct mavis_arena *a, const char *s)
{
	static const char *const dots[] = { "x2e;", "12290;", "x3002;", "65294;", "xff0e;",
					    "65377;", "xff61;" };
	struct sa_sb b = { 0 };

	sa_sb_add(&b, a, "", 0);
	while (*s) {
		if (s[0] == '&' && s[1] == '#') {
			const char *p = s + 2;
			bool hex = *p == 'x' || *p == 'X', done = false;
			unsigned long v = 0;
			const char *d;

			for (size_t k = 0; k < sizeof(dots) / sizeof(dots[0]); k++) {
				size_t n = strlen(dots[k]);

				if (!strncasecmp(p, dots[k], n)) {
					sa_sb_addc(&b, a, '.');
					s = p + n;
					done = true;
					break;
				}
			}
			if (done)
				continue;
			/* SA's: &#x0*HH; (lowercase x) and &#0*NN; */
			if (*p == 'x')
				p++;
			else if (hex)
				goto plain;
			d = p;
			while (*p && (hex ? hexval((unsigned char)*p) >= 0 : sa_isdigit((unsigned char)*p))) {
				if (v < 100000)
					v = v * (hex ? 16 : 10) + (unsigned long)hexval((unsigned char)*p);
				p++;
			}
			if (p > d && *p == ';' && v >= 0x21 && v <= 0x7e) {
				/* the leading-zero strip must leave the exact digit forms SA allows */
				sa_sb_addc(&b, a, (char)v);
				s = p + 1;
				continue;
			}
		}
plain:
		sa_sb_addc(&b, a, *s++);
	}
	return b.p;
}

/* decode_ulong_to_ip: the first four bytes of sprintf("%08lx") */
static char *
ulong_to_ip(struct mavis_arena *a, unsigned long long v)
{
	char hx[32];
	unsigned o[4];

	snprintf(hx, sizeof(hx), "%08llx", v);
	for (int k = 0; k < 4; k++)
		o[k] = (unsigned)(hexval((unsigned char)hx[2 * k]) * 16 + hexval((unsigned char)hx[2 * k + 1]));
	return mavis_arena_printf(a, "%u.%u.%u.%u", o[0], o[1], o[2], o[3]);
}

static bool
all_digits(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!sa_isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool
hex_token(const char *s, size_t n)
{
	if (n < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return false;
	for (size_t i = 2; i < n; i++)
		if (hexval((unsigned char)s[i]) < 0)
			return false;
	return true;
}

/* one octet chunk ("012." or "0x1f") as SA rewrites it */
static void
octet(struct sa_sb *b, struct mavis_arena *a, const char *s, size_t n, bool dot)
{
	char buf[64];
	size_t len;

	if (hex_token(s, n)) {
		unsigned long long v = 0;

		for (size_t i = 2; i < n; i++)
			v = v < (1ULL << 56) ? v * 16 + (unsigned)hexval((unsigned char)s[i]) : v;
		snprintf(buf, sizeof(buf), "%llu", v);
	} else {
		size_t z = 0, k;

		while (z < n && s[z] == '0')
			z++;
		/* ^0+([1-3][0-7]{0,2}|[4-7][0-7]?)\b : octal */
		k = z;
		if (z > 0 && k < n && s[k] >= '1' && s[k] <= '3') {
			k++;
			for (int i = 0; i < 2 && k < n && s[k] >= '0' && s[k] <= '7'; i++)
				k++;
		} else if (z > 0 && k < n && s[k] >= '4' && s[k] <= '7') {
			k++;
			if (k < n && s[k] >= '0' && s[k] <= '7')
				k++;
		}
		if (k > z && k == n) {
			unsigned v = 0;

			for (size_t i = z; i < k; i++)
				v = v * 8 + (unsigned)(s[i] - '0');
			snprintf(buf, sizeof(buf), "%u", v);
		} else {
			len = n - z < sizeof(buf) - 1 ? n - z : sizeof(buf) - 1;
			memcpy(buf, s + z, len);
			buf[len] = '\0';
		}
	}
	/* s/^0+// */
	len = strspn(buf, "0");
	sa_sb_add(b, a, buf + len, strlen(buf + len));
	if (dot)
		sa_sb_addc(b, a, '.');
}

/* mailto forms: the address variants SA adds */
static void
canon_mail(struct out *o, const char *u)
{
	struct mavis_arena *a = o->a;
	const char *at = strchr(u, '@'), *q;

	if (at && at > u) {
		q = strchr(at + 1, '?');
		if (q && q > at + 1)
			out_add(o, mavis_arena_strndup(a, u, (size_t)(q - u)));
		q = at + 1 + strcspn(at + 1, "?&");
		if (*q == '&' && q > at + 1)
			out_add(o, mavis_arena_strndup(a, u, (size_t)(q - u)));
	}
	if (strstr(u, "%20")) {
		const char *p = u, *at2;

		if (!strncmp(p, "mailto:", 7))
			p += 7;
		while (!strncmp(p, "%20", 3))
			p += 3;
		at2 = strchr(p, '@');
		if (at2 && at2 > p) {
			size_t n = strcspn(at2 + 1, "?&%");

			if (n)
				out_add(o, mavis_arena_printf(a, "mailto:%.*s", (int)(at2 + 1 + n - p), p));
		}
	}
	{
		/* ^[^?&]*<([^@>]+@[^>]+)> : the last '<' that works */
		size_t pre = strcspn(u, "?&");

		for (size_t i = pre; i-- > 0;) {
			const char *l = u + i + 1, *x, *gt;

			if (u[i] != '<')
				continue;
			x = l + strcspn(l, "@>");
			if (*x != '@' || x == l)
				continue;
			gt = strchr(x + 1, '>');
			if (!gt || gt == x + 1)
				continue;
			out_add(o, mavis_arena_printf(a, "mailto:%.*s", (int)(gt - l), l));
			break;
		}
	}
}

static void
canon_one(struct out *o, struct sa_vec *work, const char *in)
{
	struct mavis_arena *a = o->a;
	struct sa_sb b = { 0 };
	char *uri, *nuri, *t;
	const char *s, *e;
	size_t n;

	/* s/\n//g; trim \s; s/\r//g */
	for (s = in; sa_isspace((unsigned char)*s); s++)
		;
	e = s + strlen(s);
	while (e > s && sa_isspace((unsigned char)e[-1]))
		e--;
	sa_sb_add(&b, a, "", 0);
	for (const char *p = s; p < e; p++)
		if (*p != '\n' && *p != '\r')
			sa_sb_addc(&b, a, *p);
	uri = b.p;
	n = b.len;
	/* the (trimmed) original stays in SA's list even when it goes no further */
	out_add(o, uri);
	if (n <= 1 || uri[0] == '#' || uri[0] == '?' || uri[0] == '&' ||
	    (uri[0] == '/' && uri[1] != '/'))
		return;
	if (!strncasecmp(uri, "mailto:", 7) || (strchr(uri, '@') && strcspn(uri, ":") > (size_t)(strchr(uri, '@') - uri))) {
		canon_mail(o, uri);
		return;
	}
	nuri = mavis_arena_strdup(a, uri);
	for (t = nuri; *t; t++)
		if (*t == '\\')
			*t = '/';
	if (!strncasecmp(nuri, "http:", 5) || !strncasecmp(nuri, "https:", 6)) {
		size_t sl = nuri[4] == ':' ? 5 : 6, k = sl;

		while (k < sl + 2 && nuri[k] == '/')
			k++;
		nuri = mavis_arena_printf(a, "%.*s//%s", (int)sl, nuri, nuri + k);
	}
	for (t = nuri; (t = strchr(t, '%')) != NULL; t++) {
		if (hexval((unsigned char)t[1]) >= 0 && hexval((unsigned char)t[2]) >= 0) {
			nuri = url_encode(a, nuri);
			break;
		}
	}
	{
		/* ^[-_a-z0-9]+: */
		size_t k = 0;

		while (sa_isalnum((unsigned char)nuri[k]) || nuri[k] == '-' || nuri[k] == '_')
			k++;
		if (!(k > 0 && nuri[k] == ':'))
			nuri = mavis_arena_printf(a, "%s%s", !strncmp(nuri, "ftp.", 4) ? "ftp://" : "http://",
						  nuri);
	}
	if (!strncasecmp(nuri, "http://", 7) || !strncasecmp(nuri, "https://", 8)) {
		size_t sl = nuri[4] == ':' ? 7 : 8, h = strcspn(nuri + sl, "/?#");

		if (h && (nuri[sl + h] == '?' || nuri[sl + h] == '#'))
			nuri = mavis_arena_printf(a, "%.*s/%s", (int)(sl + h), nuri, nuri + sl + h);
	}
	nuri = decode_char_refs(a, nuri);
	if (strcmp(nuri, uri) != 0)
		out_add(o, nuri);

	if (!strncasecmp(nuri, "http://", 7) || !strncasecmp(nuri, "https://", 8)) {
		size_t pl = nuri[4] == ':' ? 7 : 8, hl, ul;
		char *proto = mavis_arena_strndup(a, nuri, pl), *host, *rest, *nhost;
		const char *p = nuri + pl, *rn = NULL;
		bool has_auth = false, plain_http = strcmp(proto, "http://") == 0;
		const char *port;
		size_t port_len = 0;

		/* ([^@/?#]*@)? */
		ul = strcspn(p, "@/?#");
		if (p[ul] == '@') {
			has_auth = true;
			p += ul + 1;
		}
		hl = strcspn(p, "/?#:");
		if (!hl)
			return;
		host = mavis_arena_strndup(a, p, hl);
		rest = mavis_arena_strdup(a, p + hl);
		port = rest[0] == ':' ? rest + 1 : NULL;
		if (port)
			while (sa_isdigit((unsigned char)port[port_len]))
				port_len++;
		if (!port || port_len == 0) {
			port = plain_http ? "80" : "443";
			port_len = 2 + !plain_http;
		} else {
			const char *want = plain_http ? ":80" : ":443";
			size_t wl = strlen(want);

			if (!strncmp(rest, want, wl) && !sa_isword((unsigned char)rest[wl])) {
				rn = rest + wl;
				out_add(o, mavis_arena_printf(a, "%s%s%s", proto, host, rn));
			}
		}
		nhost = mavis_arena_strdup(a, host);
		for (t = nhost; *t; t++)
			*t = (char)sa_lower((unsigned char)*t);
		{
			/* tr/\x00-\x20//d */
			char *w = host;
			bool changed = false;

			for (t = host; *t; t++) {
				if ((unsigned char)*t <= 0x20)
					changed = true;
				else
					*w++ = *t;
			}
			*w = '\0';
			if (changed)
				out_add(o, mavis_arena_printf(a, "%s%s%s", proto, host, rest));
		}
		char *target = NULL;

		/* Bug 7278: the rules' redirector_pattern first (group 1, with a
		   dot), the hard-coded pattern only when none matched */
		if (o->redir != NULL) {
			target = o->redir(mavis_arena_printf(a, "%s%s%s", proto, host, rest), o->redir_ctx,
					  a);
			if (target != NULL && strchr(target, '.') == NULL)
				target = NULL;
			if (target != NULL && work->n < SA_URI_MAX_WORK)
				sa_vec_push(work, a, target);
		}
		if (target == NULL) {
			/* the hard-coded redirector: https?:/{0,2}[^&#]+ in the rest, with a dot */
			for (const char *r = rest; *r; r++) {
				if (!strncasecmp(r, "http:", 5) || !strncasecmp(r, "https:", 6)) {
					size_t k = (r[4] == ':' ? 5 : 6), m;

					for (int i = 0; i < 2 && r[k] == '/'; i++)
						k++;
					m = strcspn(r + k, "&#");
					if (m == 0)
						continue;
					if (memchr(r, '.', k + m) && work->n < SA_URI_MAX_WORK)
						sa_vec_push(work, a, mavis_arena_strndup(a, r, k + m));
					break;
				}
			}
		}
		if ((t = strchr(host, '@')) != NULL && t > host) {
			host = t + 1;
			out_add(o, mavis_arena_printf(a, "%s%s%s", proto, host, rest));
		}
		{
			size_t k = strlen(host);

			if (k && !sa_isalnum((unsigned char)host[k - 1])) {
				while (k && !sa_isalnum((unsigned char)host[k - 1]))
					k--;
				host[k] = '\0';
				out_add(o, mavis_arena_printf(a, "%s%s%s", proto, host, rest));
			}
		}
		{
			/* four numeric chunks, each decimal or 0x hex */
			const char *c[4];
			size_t cl[4];
			int k = 0;
			const char *q = host;

			while (k < 4) {
				size_t m = strcspn(q, ".");

				c[k] = q;
				cl[k] = m;
				k++;
				if (!q[m])
					break;
				q += m + 1;
			}
			/* exactly four: the fourth chunk ends the host (q has moved
			   past it when a fifth follows) */
			if (k == 4 && c[3][cl[3]] == '\0') {
				bool ok = true;

				for (int i = 0; i < 4; i++)
					if (!(all_digits(c[i], cl[i]) || hex_token(c[i], cl[i])))
						ok = false;
				if (ok) {
					struct sa_sb ip = { 0 };

					sa_sb_add(&ip, a, proto, strlen(proto));
					for (int i = 0; i < 4; i++)
						octet(&ip, a, c[i], cl[i], i < 3);
					sa_sb_add(&ip, a, rest, strlen(rest));
					out_add(o, ip.p);
					return;
				}
			}
		}
		hl = strlen(host);
		if (hex_token(host, hl)) {
			unsigned long long v = 0;
			size_t st = hl > 10 ? hl - 8 : 2;

			for (size_t i = st; i < hl; i++)
				v = v * 16 + (unsigned)hexval((unsigned char)host[i]);
			out_add(o, mavis_arena_printf(a, "%s%s%s", proto, ulong_to_ip(a, v), rest));
		} else if (all_digits(host, hl)) {
			unsigned long long v = 0;

			for (size_t i = 0; i < hl; i++)
				v = v > (UINT64_MAX - 9) / 10 ? UINT64_MAX : v * 10 + (unsigned)(host[i] - '0');
			out_add(o, mavis_arena_printf(a, "%s%s%s", proto, ulong_to_ip(a, v), rest));
		} else if (plain_http && !has_auth && strcmp(nhost, "localhost") != 0 && port_len == 2 &&
			   !strncmp(port, "80", 2)) {
			const char *lab = !strncmp(nhost, "www.", 4) ? nhost + 4 : nhost;

			if (*lab && !strchr(lab, '.'))
				out_add(o, mavis_arena_printf(a, "%swww.%s.com%s", proto, lab, rest));
		}
	}
}

size_t
sa_uri_canonicalize(const char *uri, struct mavis_arena *a, const char ***variants)
{
	return sa_uri_canonicalize_redir(uri, NULL, NULL, a, variants);
}

size_t
sa_uri_canonicalize_redir(const char *uri, sa_uri_redir_fn redir, void *ctx, struct mavis_arena *a,
			  const char ***variants)
{
	struct out o = { .a = a, .redir = redir, .redir_ctx = ctx };
	struct sa_vec work = { 0 };

	sa_vec_push(&work, a, mavis_arena_strdup(a, uri));
	for (size_t i = 0; i < work.n; i++)
		canon_one(&o, &work, work.v[i]);
	/* redirect targets are URIs of their own */
	for (size_t i = 1; i < work.n; i++)
		out_add(&o, work.v[i]);
	*variants = sa_vec_strings(&o.v, a);
	return o.v.n;
}

/* --- URIs in text (PerMsgStatus's Thunderbird-like pattern) ---------------- */

static bool
in_set(int c, const char *set)
{
	return c && strchr(set, c) != NULL;
}

/* delimiters: the end of a URI (plus NBSP and ESC; high octets for mail) */
static bool
end_delim(int c)
{
	return c == 0 || in_set(c, "><\"`}]{[| \t\n\r\f\v\x1b") || c == 0xa0;
}

static bool
end_delim_email(int c)
{
	return end_delim(c) || in_set(c, ",('") || c >= 0x80;
}

static bool
start_delim(int c)
{
	return in_set(c, "><\"'`,{[(| \t\n\r\f\v\x1b") || c == 0xa0;
}

static bool
sc_start_delim(int c)
{
	return in_set(c, "!\"#$&'()*+,/:;<=>?@[\\]^`{|}~ \t\n\r\f\v\x1b") || c == 0xa0;
}

static const char *const gtlds[] = {
	"aero", "app", "asia", "biz", "cat", "club", "co", "com", "coop", "dev", "edu", "email",
	"gov", "info", "int", "io", "jobs", "live", "me", "mil", "mobi", "museum", "name", "net",
	"online", "org", "pro", "shop", "site", "store", "tech", "tel", "top", "travel", "xyz",
};

static bool
builtin_tld(const char *t, size_t n, void *ctx)
{
	(void)ctx;
	if (n == 2)
		return sa_isalpha((unsigned char)t[0]) && sa_isalpha((unsigned char)t[1]);
	for (size_t i = 0; i < sizeof(gtlds) / sizeof(gtlds[0]); i++)
		if (strlen(gtlds[i]) == n && !strncasecmp(gtlds[i], t, n))
			return true;
	return false;
}

/* length of a known-scheme URI at s ("http://", "https://", "ftp://", "wwwN.", "ftp.") */
static size_t
known_scheme(const char *s, size_t left)
{
	size_t k = 0, run;

	if (left >= 7 && !strncasecmp(s, "http://", 7))
		k = 7;
	else if (left >= 8 && !strncasecmp(s, "https://", 8))
		k = 8;
	else if (left >= 6 && !strncasecmp(s, "ftp://", 6))
		k = 6;
	else if (left >= 4 && !strncasecmp(s, "ftp.", 4))
		k = 4;
	else if (left >= 4 && !strncasecmp(s, "www", 3)) {
		k = 3;
		while (k < 5 && k < left && sa_isdigit((unsigned char)s[k]))
			k++;
		if (k >= left || s[k] != '.')
			return 0;
		k++;
	} else {
		return 0;
	}
	for (run = 0; k + run < left && run <= SA_URI_MAX_LEN && !end_delim((unsigned char)s[k + run]);
	     run++)
		;
	if (run < 1 || run > SA_URI_MAX_LEN)
		return 0;
	return k + run;
}

/* mailto:... or local@domain at s */
static size_t
mail_at(const char *s, size_t left)
{
	size_t i = 0, l, d;

	if (left >= 7 && !strncasecmp(s, "mailto:", 7)) {
		for (i = 7; i < left && !end_delim_email((unsigned char)s[i]); i++)
			;
		return i > 7 && i - 7 <= SA_URI_MAX_LEN ? i : 0;
	}
	for (l = 0; l < left && l <= 251 && !end_delim_email((unsigned char)s[l]) && s[l] != '@'; l++)
		;
	if (l < 1 || l > 251 || l >= left || s[l] != '@')
		return 0;
	for (d = l + 1; d < left && d - l <= 252 && !end_delim_email((unsigned char)s[d]); d++)
		;
	if (d == l + 1 || d - l - 1 > 251)
		return 0;
	return d;
}

/* a schemeless host with a known TLD, optional :port and /path */
static size_t
schemeless(const char *s, size_t left, bool (*is_tld)(const char *, size_t, void *), void *ctx)
{
	size_t h = 0, best = 0, i;

	if (!sa_isalnum((unsigned char)s[0]))
		return 0;
	while (h < left && h < 252 && (sa_isalnum((unsigned char)s[h]) || in_set(s[h], "._-")))
		h++;
	/* the longest prefix that ends in ".tld" with a word boundary after it */
	for (i = h; i > 1; i--) {
		size_t dot = i, t;

		/* a TLD ends where the host or a [._-] does: others cannot */
		if (i < h && !in_set(s[i], "._-"))
			continue;
		while (dot > 0 && sa_isalpha((unsigned char)s[dot - 1]))
			dot--;
		if (dot == 0 || s[dot - 1] != '.')
			continue;
		if (dot < 2)
			continue;
		t = i - dot;
		if (t >= 2 && t < 64 && is_tld(s + dot, t, ctx) &&
		    (i >= left || !sa_isalnum((unsigned char)s[i]))) {
			bool alpha = true;

			for (size_t k = dot; k < i; k++)
				if (!sa_isalpha((unsigned char)s[k]))
					alpha = false;
			if (alpha) {
				best = i;
				break;
			}
		}
	}
	if (!best)
		return 0;
	i = best;
	if (i < left && s[i] == '.')
		i++;
	if (i < left && s[i] == ':' && i + 1 < left && sa_isdigit((unsigned char)s[i + 1])) {
		size_t k = i + 1;

		while (k < left && k - i <= 5 && sa_isdigit((unsigned char)s[k]))
			k++;
		i = k;
	}
	if (i < left && s[i] == '/') {
		size_t k = i + 1;

		while (k < left && k - i <= SA_URI_MAX_LEN && !end_delim((unsigned char)s[k]))
			k++;
		if (k > i + 1)
			i = k;
	}
	if (i < left && !end_delim((unsigned char)s[i]))
		return 0;
	return i;
}

/* SA's clean-up of a raw match, then the scheme it gets; NULL to drop it */
static char *
clean_raw(struct mavis_arena *a, const char *s, size_t n, int kind)
{
	char *u = mavis_arena_strndup(a, s, n), *p;
	size_t l;

	/* s/(^[^(]*)\).*$/$1/: a ')' before any '(' ends it */
	p = u + strcspn(u, "()");
	if (*p == ')')
		*p = '\0';
	l = strlen(u);
	while (l && in_set(u[l - 1], "-~!@#^&*()_+=:;'?,."))
		u[--l] = '\0';
	(void)kind;
	return l ? u : NULL;
}

size_t
sa_uri_find_tld(const char *text, size_t len, bool (*is_tld)(const char *, size_t, void *),
		void *ctx, struct mavis_arena *a, const char ***out)
{
	struct sa_vec v = { 0 };
	struct sa_strset seen = { 0 }, done = { 0 };
	size_t i = 0;

	while (i < len) {
		unsigned char prev = i ? (unsigned char)text[i - 1] : 0;
		bool bound = i == 0 || start_delim(prev) ||
			     (sa_isword((unsigned char)text[i]) != sa_isword(prev)) ||
			     (i >= 3 && text[i - 3] == 0x1b && text[i - 2] == '(');
		size_t m = 0;
		int kind = 0;
		char *raw, *uri;

		if (!bound) {
			i++;
			continue;
		}
		if ((m = known_scheme(text + i, len - i)) != 0)
			kind = 1;
		else if ((m = mail_at(text + i, len - i)) != 0)
			kind = 2;
		else if ((i == 0 || sc_start_delim(prev)) && (m = schemeless(text + i, len - i, is_tld, ctx)) != 0)
			kind = 3;
		if (!m) {
			i++;
			continue;
		}
		raw = clean_raw(a, text + i, m, kind);
		i += m;
		if (!raw || !sa_strset_add(&seen, a, raw))
			continue;
		if (kind == 2 && !strchr(raw, '@'))
			continue;
		if (!strncasecmp(raw, "cid:", 4) || !strncasecmp(raw, "mid:", 4))
			continue;
		{
			/* ^\w+:/{0,2}$ */
			size_t k = 0;

			while (sa_isword((unsigned char)raw[k]))
				k++;
			if (k && raw[k] == ':' && strspn(raw + k + 1, "/") == strlen(raw + k + 1) &&
			    strlen(raw + k + 1) <= 2)
				continue;
		}
		uri = raw;
		if (!(!strncasecmp(uri, "http:", 5) || !strncasecmp(uri, "https:", 6) ||
		      !strncasecmp(uri, "ftp:", 4) || !strncasecmp(uri, "mailto:", 7))) {
			const char *at = strchr(uri, '@'), *sl = strchr(uri, '/');

			if (!strncasecmp(uri, "ftp.", 4)) {
				uri = mavis_arena_printf(a, "ftp://%s", uri);
			} else if (!strncasecmp(uri, "www", 3) && (uri[3] == '.' ||
				   (sa_isdigit((unsigned char)uri[3]) &&
				    (uri[4] == '.' || (sa_isdigit((unsigned char)uri[4]) && uri[5] == '.'))))) {
				uri = mavis_arena_printf(a, "http://%s", uri);
			} else if (sl && at && at > sl + 1) {
				uri = mavis_arena_printf(a, "http://%s", uri);
			} else if (at) {
				const char *dot = strchr(at + 2, '.');
				char *x = uri;

				if (!at[1] || !dot || strstr(uri, "&nbsp;"))
					continue;
				/* s/^(?:skype|e?-?mail)?:+//i */
				if (!strncasecmp(x, "skype", 5) && x[5] == ':')
					x += 5;
				else if (!strncasecmp(x, "e-mail", 6) && x[6] == ':')
					x += 6;
				else if (!strncasecmp(x, "email", 5) && x[5] == ':')
					x += 5;
				else if (!strncasecmp(x, "-mail", 5) && x[5] == ':')
					x += 5;
				else if (!strncasecmp(x, "mail", 4) && x[4] == ':')
					x += 4;
				while (*x == ':')
					x++;
				uri = mavis_arena_printf(a, "mailto:%s", x);
			} else {
				if (!strchr(uri, '.'))
					continue;
				uri = mavis_arena_printf(a, "http://%s", uri);
			}
		}
		if (!strncasecmp(uri, "mailto:", 7)) {
			const char *at;
			size_t hl;

			for (const char *q = uri; (q = strchr(q, '%')) != NULL; q++)
				if (hexval((unsigned char)q[1]) >= 0 && hexval((unsigned char)q[2]) >= 0) {
					uri = url_encode(a, uri);
					break;
				}
			at = strchr(uri, '@');
			if (!at)
				continue;
			hl = strcspn(at + 1, "?&>");
			while (hl >= 3 && !strncmp(at + 1 + hl - 3, "%20", 3))
				hl -= 3;
			/* a domain SA's registry would accept: a dot and letters at the end */
			if (!memchr(at + 1, '.', hl) || !sa_isalpha((unsigned char)at[hl]))
				continue;
		}
		if (sa_strset_add(&done, a, uri))
			sa_vec_push(&v, a, uri);
	}
	*out = sa_vec_strings(&v, a);
	return v.n;
}

size_t
sa_uri_find(const char *text, size_t len, struct mavis_arena *a, const char ***out)
{
	return sa_uri_find_tld(text, len, builtin_tld, NULL, a, out);
}
