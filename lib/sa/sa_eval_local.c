/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sa_eval_local.c - more local eval functions: URIEval, HeaderEval, WLBLEval */

/*
 * Kept apart from sa_eval.c: sa_eval_lookup() asks sa_evx_lookup() for the
 * names it does not know, and sa_eval_run() hands ids from SA_EVX_BASE on
 * to sa_evx_run(). Each function follows the plugin's Perl (named in its
 * comment); fixed patterns are compiled once with the rule set.
 */

#include <string.h>
#include <strings.h>

#include "sa_int.h"
#include "sa_received.h"

enum {
	X_URI_TRUNCATED = SA_EVX_BASE, X_HTTP_REDIRECTOR, X_SUBJ_ALL_CAPS, X_GATED_RCVD_REMOVER,
	X_MAILFROM_MATCHES_RCVD, X_END
};

static const struct {
	const char *fn;
	enum sa_type type;
	size_t min_args, max_args;
} xevals[X_END - SA_EVX_BASE] = {
	[X_URI_TRUNCATED - SA_EVX_BASE] = { "check_uri_truncated", SA_T_BODY, 0, 0 },
	[X_HTTP_REDIRECTOR - SA_EVX_BASE] = { "check_for_http_redirector", SA_T_BODY, 0, 0 },
	[X_SUBJ_ALL_CAPS - SA_EVX_BASE] = { "subject_is_all_caps", SA_T_HEADER, 0, 0 },
	[X_GATED_RCVD_REMOVER - SA_EVX_BASE] = { "gated_through_received_hdr_remover", SA_T_HEADER, 0, 0 },
	[X_MAILFROM_MATCHES_RCVD - SA_EVX_BASE] = { "check_mailfrom_matches_rcvd", SA_T_HEADER, 0, 0 },
};

enum { XR_EZMLM, XR_EZMLM_DLTO, XR_EZMLM_QMAIL, XR_MSN_GROUPS, XR_CAPS_CHARSET, XR_N };

static const struct {
	const char *pat, *flags;
} xre[XR_N] = {
	[XR_EZMLM] = { "^contact \\S+\\@\\S+\\; run by ezmlm$", "m" },
	[XR_EZMLM_DLTO] = { "^mailing list \\S+\\@\\S+", "m" },
	[XR_EZMLM_QMAIL] = { "qmail \\d+ invoked (?:from network|by .{3,20})\\); \\d+ ... \\d+", "" },
	[XR_MSN_GROUPS] = { "from groups\\.msn\\.com \\(\\S+\\.msn\\.com ", "" },
	/* Constants.pm CHARSETS_LIKELY_TO_FP_AS_CAPS inside =?...? */
	[XR_CAPS_CHARSET] = { "=\\?[-_a-z0-9]*(?:koi|jp|jis|euc|gb|big5|isoir|cp1251|windows-1251|"
			      "georgianps|pt154|tis)[-_a-z0-9]*\\?", "i" },
};

int
sa_evx_init(struct mavis_sa_rules *r, struct mavis_error *err)
{
	for (int i = 0; i < XR_N; i++) {
		r->evx[i] = sa_regex_compile(xre[i].pat, xre[i].flags, err);
		if (r->evx[i] == NULL)
			return -1;
	}
	return 0;
}

void
sa_evx_fini(struct mavis_sa_rules *r)
{
	for (int i = 0; i < SA_EVX_RE_MAX; i++) {
		pcre2_code_free(r->evx[i]);
		r->evx[i] = NULL;
	}
}

int
sa_evx_lookup(enum sa_type type, const char *fn, size_t nargs)
{
	for (int i = 0; i < X_END - SA_EVX_BASE; i++)
		if (xevals[i].type == type && strcmp(xevals[i].fn, fn) == 0 &&
		    nargs >= xevals[i].min_args && nargs <= xevals[i].max_args)
			return SA_EVX_BASE + i;
	return -1;
}

bool
sa_eval_wants_uris(int id)
{
	return id == X_URI_TRUNCATED || id == X_HTTP_REDIRECTOR;
}

static bool
re_hit(const pcre2_code *re, const char *s)
{
	pcre2_match_data *md;
	bool hit;

	if (re == NULL || s == NULL)
		return false;
	md = pcre2_match_data_create(1, NULL);
	hit = md != NULL && pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL) >= 0;
	pcre2_match_data_free(md);
	return hit;
}

/* URIEval check_for_http_redirector: a URI whose path holds another
   http(s) URI of a different domain (each side by uri_to_domain, else as
   written), peeled one redirect at a time. */
static int
ev_http_redirector(const struct mavis_sa_rules *r, const struct sa_msg *m, struct mavis_arena *a)
{
	for (size_t i = 0; i < m->n_uris; i++) {
		const char *u = m->uris[i];

		/* s{^https?://([^/:\?]+).+?(https?:/{0,2}?([^/:\?]+).*)$}{$2}i */
		for (int hops = 0; hops < 16; hops++) {
			size_t sl;

			if (!strncasecmp(u, "http://", 7))
				sl = 7;
			else if (!strncasecmp(u, "https://", 8))
				sl = 8;
			else
				break;
			size_t hl = strcspn(u + sl, "/:?");

			if (hl == 0)
				break;
			if (u[sl + hl] == '\0')
				break;
			const char *redir = mavis_arena_strndup(a, u + sl, hl);
			const char *dest = NULL, *next = NULL;

			/* .+? then the first https?: with a host after it */
			for (const char *p = u + sl + hl + 1; *p; p++) {
				size_t k;

				if (!strncasecmp(p, "http:", 5))
					k = 5;
				else if (!strncasecmp(p, "https:", 6))
					k = 6;
				else
					continue;
				/* /{0,2}? is lazy: the fewest slashes that leave a host */
				size_t j = k, dl = 0;

				for (int sl2 = 0; sl2 <= 2; sl2++) {
					if (sl2 > 0 && p[k + sl2 - 1] != '/')
						break;
					dl = strcspn(p + k + sl2, "/:?");
					if (dl > 0) {
						j = k + (size_t)sl2;
						break;
					}
				}
				if (dl == 0)
					continue;
				dest = mavis_arena_strndup(a, p + j, dl);
				next = p;
				break;
			}
			if (dest == NULL)
				break;
			const char *rd = sa_uri_to_domain(r, redir, a, NULL);
			const char *dd = sa_uri_to_domain(r, dest, a, NULL);

			if (strcmp(rd ? rd : redir, dd ? dd : dest) != 0)
				return 1;
			u = next;
		}
	}
	return 0;
}

/* HeaderEval subject_is_all_caps: a Subject of several words, 10 or more
   characters after Re:/Fwd: prefixes, whose letters are all upper case;
   not when it is encoded in a charset that would look like that */
static int
ev_subject_all_caps(const struct mavis_sa_rules *r, const struct sa_msg *m, struct mavis_arena *a)
{
	const char *v = sa_msg_get(m, a, "Subject", 0);

	if (v == NULL)
		return 0;
	const char *s = v, *e = v + strlen(v);

	while (*s && sa_isspace((unsigned char)*s))
		s++;
	while (e > s && sa_isspace((unsigned char)e[-1]))
		e--;
	/* s/^(?:(?:Re|Fwd|Fw|Aw|Antwort|WG|SV|VB|VS|VL):\s*)+//i */
	for (;;) {
		static const char *const pre[] = { "Re", "Fwd", "Fw", "Aw", "Antwort", "WG", "SV",
						   "VB", "VS", "VL", NULL };
		bool any = false;

		for (int i = 0; pre[i]; i++) {
			size_t n = strlen(pre[i]);

			if ((size_t)(e - s) > n && strncasecmp(s, pre[i], n) == 0 && s[n] == ':') {
				s += n + 1;
				while (s < e && sa_isspace((unsigned char)*s))
					s++;
				any = true;
				break;
			}
		}
		if (!any)
			break;
	}
	bool ws = false;
	size_t letters = 0;

	for (const char *p = s; p < e; p++)
		ws |= sa_isspace((unsigned char)*p) != 0;
	if (!ws || e - s < 10)
		return 0;
	for (const char *p = s; p < e; p++) {
		if (*p >= 'a' && *p <= 'z')
			return 0;
		letters += *p >= 'A' && *p <= 'Z';
	}
	if (re_hit(r->evx[XR_CAPS_CHARSET], sa_msg_get(m, a, "Subject", SA_H_RAW)))
		return 0;
	return letters > 0;
}

/* HeaderEval gated_through_received_hdr_remover: ezmlm lists and MSN
   groups drop Received lines; a message without any is also "gated" */
static int
ev_gated_rcvd_remover(const struct mavis_sa_rules *r, const struct sa_msg *m,
		      struct mavis_arena *a)
{
	const char *ml = sa_msg_get(m, a, "Mailing-List", 0);
	const char *rcvd = sa_msg_get(m, a, "Received", 0);

	if (ml != NULL && re_hit(r->evx[XR_EZMLM], ml) &&
	    re_hit(r->evx[XR_EZMLM_DLTO], sa_msg_get(m, a, "Delivered-To", 0)) &&
	    re_hit(r->evx[XR_EZMLM_QMAIL], rcvd))
		return 1;
	if (rcvd == NULL)
		return 1;
	return re_hit(r->evx[XR_MSN_GROUPS], rcvd);
}

/* WLBLEval check_mailfrom_matches_rcvd (_check_addr_matches_rcvd): the
   envelope sender's registered domain is the one of the first untrusted
   relay's rDNS name (or of any trusted relay's when all are trusted) */
static int
ev_mailfrom_matches_rcvd(const struct mavis_sa_rules *r, const struct sa_msg *m,
			 struct mavis_arena *a)
{
	const char *sender = sa_msg_get(m, a, "EnvelopeFrom", SA_H_ADDR);

	if (sender == NULL || m->relays == NULL)
		return 0;
	size_t sl = strcspn(sender, "\n");
	char *addr = mavis_arena_strndup(a, sender, sl);
	char *at = strrchr(addr, '@');

	/* / \@ ( [^\@]+ \. [^\@]+ ) \z/x */
	if (at == NULL || at[1] == '\0')
		return 0;
	char *dom = at + 1, *dot = strchr(dom + 1, '.');

	if (dot == NULL || dot[1] == '\0')
		return 0;
	for (char *p = dom; *p; p++)
		*p = (char)sa_lower((unsigned char)*p);
	const char *ad = sa_trim_domain(r, dom, a);
	int untrusted = sa_relays_count(m->relays, 1) > 0;
	size_t n = untrusted ? 1 : sa_relays_count(m->relays, 0);

	for (size_t i = 0; i < n; i++) {
		const char *rd = sa_relays_rdns(m->relays, untrusted, i);

		if (rd == NULL || *rd == '\0')
			continue;
		char *l = mavis_arena_strdup(a, rd);

		for (char *p = l; *p; p++)
			*p = (char)sa_lower((unsigned char)*p);
		if (strcmp(ad, sa_trim_domain(r, l, a)) == 0)
			return 1;
	}
	return 0;
}

int
sa_evx_run(const struct sa_rule *x, const struct mavis_sa_rules *r, const struct sa_msg *m,
	   struct mavis_arena *a)
{
	switch (x->eval_id) {
	case X_URI_TRUNCATED:
		return m->uri_truncated;
	case X_HTTP_REDIRECTOR:
		return ev_http_redirector(r, m, a);
	case X_SUBJ_ALL_CAPS:
		return ev_subject_all_caps(r, m, a);
	case X_GATED_RCVD_REMOVER:
		return ev_gated_rcvd_remover(r, m, a);
	case X_MAILFROM_MATCHES_RCVD:
		return ev_mailfrom_matches_rcvd(r, m, a);
	default:
		return 0;
	}
}
