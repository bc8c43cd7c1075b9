/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sa_eval_local.c - more local eval functions: URIEval, HeaderEval, WLBLEval */

/*
 * Kept apart from sa_eval.c: sa_eval_lookup() asks sa_evx_lookup() for the
 * names it does not know, and sa_eval_run() hands ids from SA_EVX_BASE on
 * to sa_evx_run(). Each function follows the plugin's Perl (named in its
 * comment); fixed patterns are compiled once with the rule set.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sa_html.h"
#include "sa_int.h"
#include "sa_received.h"

enum {
	X_URI_TRUNCATED = SA_EVX_BASE, X_HTTP_REDIRECTOR, X_SUBJ_ALL_CAPS, X_GATED_RCVD_REMOVER,
	X_MAILFROM_MATCHES_RCVD, X_FORGED_YAHOO, X_FORGED_HOTMAIL, X_NO_HOTMAIL, X_NO_RDNS_DOTCOM_HELO,
	X_MIME, X_MIME_B, X_ASCII_TEXT_ILLEGAL, X_UNICODE_RATIO, X_MULTIPART_RATIO, X_QP_RATIO,
	X_BASE64_LENGTH, X_PARSE_FLAGS, X_PARSE_FLAGS_H, X_SIMILAR_RECIPS, X_SORTED_RECIPS,
	X_DKIM_DEPENDABLE, X_FREEMAIL_REPLYTO, X_ILLEGAL_CHARS, X_VERTICAL_WORDS, X_MADIFF,
	X_MADIFF_COUNT, X_UPPERCASE, X_BODY_LENGTH, X_UNRESOLVED_TEMPLATE, X_FARAWAY, X_FARAWAY_H,
	X_TO_IN_SUBJECT, X_RATWARE_EFROM, X_END
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
	[X_FORGED_YAHOO - SA_EVX_BASE] = { "check_for_forged_yahoo_received_headers", SA_T_HEADER, 0, 0 },
	[X_FORGED_HOTMAIL - SA_EVX_BASE] = { "check_for_forged_hotmail_received_headers", SA_T_HEADER, 0, 0 },
	[X_NO_HOTMAIL - SA_EVX_BASE] = { "check_for_no_hotmail_received_headers", SA_T_HEADER, 0, 0 },
	[X_NO_RDNS_DOTCOM_HELO - SA_EVX_BASE] = { "check_for_no_rdns_dotcom_helo", SA_T_HEADER, 0, 0 },
	/* MIMEEval, over sa_mime.c's facts */
	[X_MIME - SA_EVX_BASE] = { "check_for_mime", SA_T_RAWBODY, 1, 1 },
	[X_MIME_B - SA_EVX_BASE] = { "check_for_mime", SA_T_BODY, 1, 1 },
	[X_ASCII_TEXT_ILLEGAL - SA_EVX_BASE] = { "check_for_ascii_text_illegal", SA_T_BODY, 0, 0 },
	[X_UNICODE_RATIO - SA_EVX_BASE] = { "check_abundant_unicode_ratio", SA_T_BODY, 1, 1 },
	[X_MULTIPART_RATIO - SA_EVX_BASE] = { "check_mime_multipart_ratio", SA_T_BODY, 2, 2 },
	[X_QP_RATIO - SA_EVX_BASE] = { "check_qp_ratio", SA_T_BODY, 1, 1 },
	[X_BASE64_LENGTH - SA_EVX_BASE] = { "check_base64_length", SA_T_BODY, 1, 2 },
	[X_PARSE_FLAGS - SA_EVX_BASE] = { "check_msg_parse_flags", SA_T_BODY, 1, 1 },
	[X_PARSE_FLAGS_H - SA_EVX_BASE] = { "check_msg_parse_flags", SA_T_HEADER, 1, 1 },
	[X_SIMILAR_RECIPS - SA_EVX_BASE] = { "similar_recipients", SA_T_HEADER, 2, 2 },
	[X_SORTED_RECIPS - SA_EVX_BASE] = { "sorted_recipients", SA_T_HEADER, 0, 0 },
	[X_DKIM_DEPENDABLE - SA_EVX_BASE] = { "check_dkim_dependable", SA_T_FULL, 0, 0 },
	[X_FREEMAIL_REPLYTO - SA_EVX_BASE] = { "check_freemail_replyto", SA_T_HEADER, 0, 1 },
	[X_ILLEGAL_CHARS - SA_EVX_BASE] = { "check_illegal_chars", SA_T_HEADER, 3, 3 },
	[X_VERTICAL_WORDS - SA_EVX_BASE] = { "tvd_vertical_words", SA_T_BODY, 2, 2 },
	[X_MADIFF - SA_EVX_BASE] = { "multipart_alternative_difference", SA_T_BODY, 2, 2 },
	[X_MADIFF_COUNT - SA_EVX_BASE] = { "multipart_alternative_difference_count", SA_T_BODY, 2, 2 },
	[X_UPPERCASE - SA_EVX_BASE] = { "check_for_uppercase", SA_T_BODY, 2, 2 },
	[X_BODY_LENGTH - SA_EVX_BASE] = { "check_body_length", SA_T_BODY, 1, 1 },
	[X_UNRESOLVED_TEMPLATE - SA_EVX_BASE] = { "check_unresolved_template", SA_T_HEADER, 0, 0 },
	/* with ok_locales "all" (the default) no charset is far away */
	[X_FARAWAY - SA_EVX_BASE] = { "check_for_faraway_charset", SA_T_BODY, 0, 0 },
	[X_FARAWAY_H - SA_EVX_BASE] = { "check_for_faraway_charset_in_headers", SA_T_HEADER, 0, 0 },
	[X_TO_IN_SUBJECT - SA_EVX_BASE] = { "check_for_to_in_subject", SA_T_HEADER, 1, 1 },
	[X_RATWARE_EFROM - SA_EVX_BASE] = { "check_ratware_envelope_from", SA_T_HEADER, 0, 0 },
};

/* check_for_mime's keys that _check_attachments sets; the others are
   left unsupported */
static const char *const mime_keys[] = {
	"mime_base64_count", "mime_qp_count", "mime_base64_encoded_text", "mime_qp_long_line",
	"mime_faraway_charset", "mime_bad_iso_charset", "mime_attachment", NULL
};

static int
mime_key(const char *k)
{
	for (int i = 0; mime_keys[i]; i++)
		if (strcmp(k, mime_keys[i]) == 0)
			return i;
	return -1;
}

bool
sa_evx_args_ok(int id, const char *const *args, size_t nargs)
{
	switch (id) {
	case X_MIME:
	case X_MIME_B:
		return nargs == 1 && mime_key(args[0]) >= 0;
	case X_PARSE_FLAGS:
	case X_PARSE_FLAGS_H:
		/* the parser flags sa_mime.c knows */
		return nargs == 1 && strcmp(args[0], "mime_epilogue_exists") == 0;
	case X_FREEMAIL_REPLYTO:
		return nargs == 0 || strcmp(args[0], "replyto") == 0 || strcmp(args[0], "reply") == 0;
	case X_TO_IN_SUBJECT:
		return nargs == 1 && (strcmp(args[0], "user") == 0 || strcmp(args[0], "address") == 0);
	default:
		return true;
	}
}

enum {
	XR_EZMLM, XR_EZMLM_DLTO, XR_EZMLM_QMAIL, XR_MSN_GROUPS, XR_CAPS_CHARSET, XR_YAHOO,
	XR_YAHOO_OK, XR_YAHOO_BULK, XR_HOTMAIL_PICKUP, XR_HOTMAIL_IP, XR_HOTMAIL_ORIG, XR_HOTMAIL_OK_IP,
	XR_HOTMAIL_OK_ORIG, XR_HOTMAIL_HELO, XR_DOTCOM_HELO, XR_BULK_ENVFROM, XR_FM_EMAIL,
	XR_FM_URL_AT, XR_FM_QUOTED, XR_CAPS_FP_CHARSET, XR_TEMPLATE, XR_TEMPLATE_OK, XR_N
};

/* Constants.pm IP_ADDRESS, loosely: IPv4 dotted quads and IPv6 forms */
#define IPRE "(?:\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}|[0-9a-fA-F]*:[0-9a-fA-F:.]+)"

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
	/* HeaderEval check_for_forged_yahoo_received_headers */
	[XR_YAHOO] = { "\\byahoo\\.com$", "i" },
	[XR_YAHOO_OK] = { "by web\\S+\\.mail\\S*\\.yahoo\\.com via HTTP|"
			  "by sonic\\S+\\.consmr\\.mail\\S*\\.yahoo\\.com with HTTP|"
			  "by smtp\\S+\\.yahoo\\.com with SMTP|"
			  "from \\[" IPRE "\\] by \\S+\\.(?:groups|scd|dcn)\\.yahoo\\.com with NNFMP|"
			  "by \\w+\\.\\w+\\.yahoo\\.com \\(\\d+\\.\\d+\\.\\d+/\\d+\\.\\d+\\.\\d+\\)"
			  "(?: with ESMTP)? id \\w+", "" },
	[XR_YAHOO_BULK] = { "\\bmailer\\d+\\.bulk\\.scd\\.yahoo\\.com\\b", "" },
	/* _check_for_forged_hotmail_received_headers */
	[XR_HOTMAIL_PICKUP] = { "from mail pickup service by hotmail\\.com with Microsoft SMTPSVC;", "" },
	[XR_HOTMAIL_IP] = { IPRE, "" },
	[XR_HOTMAIL_ORIG] = { "hotmail\\.com|msonline\\-outlook", "" },
	[XR_HOTMAIL_OK_IP] = { "from (?:\\S*\\.)?hotmail.com \\(\\S+\\.hotmail(?:\\.msn)?\\.com[ \\)]|"
			       "from \\S*\\.hotmail.com \\(\\[" IPRE "\\][ \\):]|"
			       "from \\S+ by \\S+\\.hotmail(?:\\.msn)?\\.com with HTTP\\;|"
			       "from \\[66\\.218.\\S+\\] by \\S+\\.yahoo\\.com", "" },
	[XR_HOTMAIL_OK_ORIG] = { "from \\S*\\.outbound\\.protection\\.outlook\\.com "
				 "\\(\\S+\\.outbound\\.protection\\.outlook\\.com[ \\)]|"
				 "from \\S*\\.(?:eur|nam)prd\\d+\\.prod\\.outlook\\.com \\(" IPRE "\\)", "" },
	[XR_HOTMAIL_HELO] = { "(?:from |HELO |helo=)\\S*hotmail\\.com\\b", "" },
	/* RelayEval _check_received_helos */
	[XR_DOTCOM_HELO] = { "(?:\\.|^)(lycos\\.com|lycos\\.co\\.uk|hotmail\\.com|localhost\\.com|"
			     "excite\\.com|caramail\\.com|cs\\.com|aol\\.com|msn\\.com|yahoo\\.com|"
			     "drizzle\\.com)$", "i" },
	/* FreeMail $skip_replyto_envfrom */
	[XR_BULK_ENVFROM] = { "(?:^(?:post|host|domain)master|^double-bounce|"
			      "^(?:sentto|owner|return|(?:gr)?bounced?)-.+|-(?:request|bounces?|admin|owner)|"
			      "\\b(?:do[._-t]?)?no[._-t]?repl(?:y|ies)|.+=.+)\\@", "i" },
	/* FreeMail email_regex without the TLD list: the TLD is checked after */
	[XR_FM_EMAIL] = { "(?=.{0,64}\\@)(?<![a-z0-9!#$%&'*+/=?^_`{|}~-])([a-z0-9!#$%&'*+/=?^_`{|}~-]+"
			  "(?:\\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*\\@(?:[a-z0-9](?:[a-z0-9-]{0,59}[a-z0-9])?\\.){1,4}"
			  "([a-z]{2,63}))(?![a-z0-9])", "i" },
	[XR_FM_URL_AT] = { "<?https?://\\S{0,255}(?:\\@|%40)\\S{0,255}", "i" },
	[XR_FM_QUOTED] = { "<?(?<!mailto:)(?=.{0,64}\\@)(?<![a-z0-9!#$%&'*+/=?^_`{|}~-])"
			   "[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*\\@"
			   "(?:[a-z0-9](?:[a-z0-9-]{0,59}[a-z0-9])?\\.){1,4}[a-z]{2,63}"
			   "(?:>|\\s{1,10}(?!(?:fa(?:x|csi)|tel|phone|e?-?mail))[a-z]{2,11}:)", "i" },
	/* ^CHARSETS_LIKELY_TO_FP_AS_CAPS$ */
	[XR_CAPS_FP_CHARSET] = { "^[-_a-z0-9]*(?:koi|jp|jis|euc|gb|big5|isoir|cp1251|windows-1251|"
				 "georgianps|pt154|tis)[-_a-z0-9]*$", "i" },
	/* HeaderEval check_unresolved_template */
	[XR_TEMPLATE] = { "%[A-Z][A-Z_-]", "" },
	[XR_TEMPLATE_OK] = { "^(?:X-VMS-To|X-UIDL|X-Face|To|Cc|From|Subject|References|In-Reply-To|"
			     "(?:X-|Resent-|X-Original-)?Message-Id):", "i" },
};

_Static_assert(XR_N <= SA_EVX_RE_MAX, "raise SA_EVX_RE_MAX");

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
		struct sa_relay_info ri;

		if (!sa_relays_get(m->relays, untrusted, i, &ri) || *ri.rdns == '\0')
			continue;
		char *l = mavis_arena_strdup(a, ri.rdns);

		for (char *p = l; *p; p++)
			*p = (char)sa_lower((unsigned char)*p);
		if (strcmp(ad, sa_trim_domain(r, l, a)) == 0)
			return 1;
	}
	return 0;
}

/* a header's value with runs of white space as one space; "" when none */
static const char *
hdr_ws(const struct sa_msg *m, struct mavis_arena *a, const char *name)
{
	const char *v = sa_msg_get(m, a, name, 0);
	struct sa_sb b = { 0 };

	sa_sb_add(&b, a, "", 0);
	for (const char *p = v ? v : ""; *p; p++) {
		if (sa_isspace((unsigned char)*p)) {
			if (b.len == 0 || b.p[b.len - 1] != ' ')
				sa_sb_addc(&b, a, ' ');
		} else {
			sa_sb_addc(&b, a, *p);
		}
	}
	return sa_sb_str(&b);
}

/* $pms->get('X:addr') in scalar context: the first address */
static const char *
first_addr(const struct sa_msg *m, struct mavis_arena *a, const char *name)
{
	const char *v = sa_msg_get(m, a, name, SA_H_ADDR);

	return v ? mavis_arena_strndup(a, v, strcspn(v, "\n")) : "";
}

static bool
nonempty(const char *v)
{
	return v != NULL && *v != '\0' && strcmp(v, "\n") != 0;
}

/* HeaderEval check_for_forged_yahoo_received_headers: From @yahoo.com
   without the Received lines Yahoo writes */
static int
ev_forged_yahoo(const struct mavis_sa_rules *r, const struct sa_msg *m, struct mavis_arena *a)
{
	const char *from = first_addr(m, a, "From");

	if (!re_hit(r->evx[XR_YAHOO], from))
		return 0;
	const char *rcvd = hdr_ws(m, a, "Received");

	if (nonempty(sa_msg_get(m, a, "Resent-From", 0)) && nonempty(sa_msg_get(m, a, "Resent-To", 0))) {
		const char *x = hdr_ws(m, a, "X-Received");

		if (*x)
			rcvd = x;
	}
	if (ev_gated_rcvd_remover(r, m, a))
		return 0;
	/* bug 3740: a Yahoo! bounce, when the rDNS shows it */
	const char *ts = sa_msg_get(m, a, "X-Spam-Relays-Trusted", 0);
	const char *us = sa_msg_get(m, a, "X-Spam-Relays-Untrusted", 0);

	if (ts != NULL) {
		for (const char *p = ts; (p = strstr(p, " rdns=")) != NULL; p++) {
			size_t n = strcspn(p + 6, " ");

			if (n > 10 && p[6 + n] == ' ' && strncasecmp(p + 6 + n - 10, ".yahoo.com", 10) == 0)
				return 0;
		}
	}
	if (us != NULL) {
		/* ^[^\]]+ rdns=\S+\.yahoo\.com : in the first relay */
		const char *end = strchr(us, ']'), *p = strstr(us, " rdns=");

		if (p != NULL && (end == NULL || p < end)) {
			size_t n = strcspn(p + 6, " ]");

			if (n > 10 && p[6 + n] == ' ' && strncasecmp(p + 6 + n - 10, ".yahoo.com", 10) == 0)
				return 0;
		}
	}
	if (re_hit(r->evx[XR_YAHOO_OK], rcvd))
		return 0;
	if (re_hit(r->evx[XR_YAHOO_BULK], rcvd)) {
		size_t n = strlen(from);

		if (n >= 16 && strcasecmp(from + n - 16, "@reply.yahoo.com") == 0)
			return 0;
	}
	return 1;
}

/* HeaderEval _check_for_forged_hotmail_received_headers: 1 forged (a
   hotmail.com HELO that is not Hotmail), 2 From @hotmail.com without
   Hotmail's Received lines, 0 neither. MSN Groups' own lines (rare since
   2005) are not recognised. */
static int
hotmail_state(const struct mavis_sa_rules *r, const struct sa_msg *m, struct mavis_arena *a)
{
	const char *rcvd = hdr_ws(m, a, "Received");

	if (re_hit(r->evx[XR_HOTMAIL_PICKUP], rcvd))
		return 0;
	const char *ipv = sa_msg_get(m, a, "X-Originating-Ip", 0);
	const char *orig = sa_msg_get(m, a, "X-OriginatorOrg", 0);
	bool ip = ipv != NULL && re_hit(r->evx[XR_HOTMAIL_IP], ipv);
	bool org = orig != NULL && re_hit(r->evx[XR_HOTMAIL_ORIG], orig);

	if (ev_gated_rcvd_remover(r, m, a))
		return 0;
	if ((ip && re_hit(r->evx[XR_HOTMAIL_OK_IP], rcvd)) ||
	    (org && re_hit(r->evx[XR_HOTMAIL_OK_ORIG], rcvd)))
		return 0;
	if (re_hit(r->evx[XR_HOTMAIL_HELO], rcvd))
		return 1;
	const char *from = first_addr(m, a, "From");
	size_t n = strlen(from);

	/* \bhotmail\.com$ */
	if (n >= 11 && strcasecmp(from + n - 11, "hotmail.com") == 0 &&
	    (n == 11 || !sa_isword((unsigned char)from[n - 12])))
		return 2;
	return 0;
}

/* RelayEval _check_received_helos: a big-dotcom HELO from a host without
   rDNS. As in the Perl, the flag is reset for each untrusted relay with a
   public address, so the last one decides. */
static int
ev_no_rdns_dotcom_helo(const struct mavis_sa_rules *r, const struct sa_msg *m)
{
	struct sa_relay_info ri;
	int hit = 0;

	for (size_t i = 0; sa_relays_get(m->relays, 1, i, &ri); i++) {
		if (ri.ip_private)
			continue;
		hit = re_hit(r->evx[XR_DOTCOM_HELO], ri.helo) && ri.no_rdns;
	}
	return hit;
}

static int
ev_mime(const struct sa_mime *f, const char *key)
{
	switch (mime_key(key)) {
	case 0:
		return f->base64_count > 0;
	case 1:
		return f->qp_count > 0;
	case 2:
		return f->base64_encoded_text;
	case 3:
		return f->qp_long_line;
	case 5:
		return f->bad_iso_charset;
	case 6:
		return f->attachment > 0;
	default:
		/* mime_faraway_charset: ok_locales is "all" (SA's default) */
		return 0;
	}
}

/* the addresses of a header, lower case, one per entry */
static size_t
addr_list(const struct sa_msg *m, struct mavis_arena *a, const char *name, const char **v,
	  size_t cap, size_t n)
{
	const char *s = sa_msg_get(m, a, name, SA_H_ADDR);

	for (const char *p = s; p && *p && n < cap;) {
		size_t l = strcspn(p, "\n");
		char *x = mavis_arena_strndup(a, p, l);

		for (char *q = x; *q; q++)
			*q = (char)sa_lower((unsigned char)*q);
		if (*x)
			v[n++] = x;
		p += l;
		if (*p == '\n')
			p++;
	}
	return n;
}

static int
str_cmp(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static bool
pre2eq(const char *x, const char *y)
{
	size_t lx = strlen(x) < 2 ? strlen(x) : 2, ly = strlen(y) < 2 ? strlen(y) : 2;

	return lx == ly && strncmp(x, y, lx) == 0;
}

/* HeaderEval _check_recipients: 0 = tocc_similar, 1 = tocc_sorted */
static double
recipients(const struct sa_msg *m, struct mavis_arena *a, int which)
{
	const char *in[600];
	size_t n = 0;

	/* ToCc:addr, then Bcc:addr when that gave fewer than five */
	n = addr_list(m, a, "To", in, 256, n);
	n = addr_list(m, a, "Cc", in, 512, n);
	if (n < 5)
		n = addr_list(m, a, "Bcc", in, 600, n);
	const char *ad[256];
	size_t na = 0;
	const char *prev = "";

	/* duplicates only when next to each other (the Perl compares lc) */
	for (size_t i = 0; i < n && na < 256; i++)
		if (strcasecmp(in[i], prev) != 0)
			ad[na++] = prev = in[i];
	if (which == 1) {
		if (na < 7)
			return 0;
		const char **s = mavis_arena_calloc(a, na, sizeof(*s));

		memcpy(s, ad, na * sizeof(*s));
		qsort(s, na, sizeof(*s), str_cmp);
		for (size_t i = 0; i < na; i++)
			if (strcmp(s[i], ad[i]) != 0)
				return 0;
		return 1;
	}
	if (na < 5)
		return 0;
	double hits = 0, comb = 0;

	for (size_t i = 0; i < na; i++) {
		const char *fi = strchr(ad[i], '@');

		fi = fi ? fi + 1 : "";
		for (size_t j = i + 1; j < na; j++) {
			const char *fj = strchr(ad[j], '@');

			fj = fj ? fj + 1 : "";
			/* substr($_, 0, 2) of the user and of the host */
			hits += pre2eq(ad[i], ad[j]);
			hits += pre2eq(fi, fj) && strcmp(fi, fj) != 0;
			comb++;
		}
	}
	return hits / comb;
}

/* FreeMail _parse_body: the freemail addresses of the body (HTML mailto:
   links and addresses in the rendered text, quoted or "wrote:" ones left
   out); -1 when there are too many to judge (freemail_max_body_emails 5,
   freemail_max_body_freemails 3) */
static int
body_freemails(const struct mavis_sa_rules *r, const struct sa_msg *m, struct mavis_arena *a,
	       const char ***out)
{
	const char *emails[48];
	size_t n = 0;
	struct sa_strset seen = { 0 };
	pcre2_match_data *md = pcre2_match_data_create(4, NULL);

	if (md == NULL)
		return 0;
	for (size_t h = 0; h < m->n_html && n < 20; h++) {
		const char *const *hu;
		size_t k = sa_html_uris(m->html[h], &hu);

		for (size_t i = 0; i < k && n < 20; i++) {
			if (strncasecmp(hu[i], "mailto:", 7) != 0)
				continue;
			const char *e = hu[i] + 7;

			if (pcre2_match(r->evx[XR_FM_EMAIL], (PCRE2_SPTR)e, strlen(e), 0, PCRE2_ANCHORED, md,
					NULL) < 0)
				continue;
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);

			if (!sa_rules_is_tld(r, e + ov[4], ov[5] - ov[4]))
				continue;
			char *x = mavis_arena_strndup(a, e + ov[2], ov[3] - ov[2]);

			for (char *q = x; *q; q++)
				*q = (char)sa_lower((unsigned char)*q);
			if (sa_strset_add(&seen, a, x))
				emails[n++] = x;
		}
	}
	for (size_t li = 0; li < m->n_body && n < 40; li++) {
		/* blank out URLs holding an @ and quoted or "wrote:" addresses */
		char *l = mavis_arena_strdup(a, m->body[li]);
		size_t ll = strlen(l);

		for (int k = XR_FM_URL_AT; k <= XR_FM_QUOTED; k++) {
			PCRE2_SIZE off = 0;

			while (off <= ll && pcre2_match(r->evx[k], (PCRE2_SPTR)l, ll, off, 0, md, NULL) >= 0) {
				PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);

				for (PCRE2_SIZE q = ov[0]; q < ov[1]; q++)
					l[q] = ' ';
				off = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
			}
		}
		PCRE2_SIZE off = 0;

		while (n < 40 && off <= ll &&
		       pcre2_match(r->evx[XR_FM_EMAIL], (PCRE2_SPTR)l, ll, off, 0, md, NULL) >= 0) {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);

			off = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
			if (!sa_rules_is_tld(r, l + ov[4], ov[5] - ov[4]))
				continue;
			char *x = mavis_arena_strndup(a, l + ov[2], ov[3] - ov[2]);

			for (char *q = x; *q; q++)
				*q = (char)sa_lower((unsigned char)*q);
			if (sa_strset_add(&seen, a, x))
				emails[n++] = x;
		}
	}
	pcre2_match_data_free(md);
	const char **fm = mavis_arena_calloc(a, n + 1, sizeof(*fm));
	size_t nf = 0;

	for (size_t i = 0; i < n; i++) {
		if (i + 1 == 5)
			return -1;	/* freemail_skip_when_over_max */
		if (!sa_eval_is_freemail(r, emails[i]))
			continue;
		if (++nf == 3)
			return -1;
		fm[nf - 1] = emails[i];
	}
	*out = fm;
	return (int)nf;
}

/* FreeMail check_freemail_replyto('replyto' | 'reply') */
static int
ev_freemail_replyto(const struct mavis_sa_rules *r, const struct sa_msg *m, struct mavis_arena *a,
		    const char *what)
{
	bool replyto = what == NULL || strcmp(what, "replyto") == 0;
	const char *ef = sa_msg_get(m, a, "EnvelopeFrom", 0);

	if (ef != NULL && re_hit(r->evx[XR_BULK_ENVFROM], ef))
		return 0;
	const char *from[64], *rt[64];
	size_t nf = addr_list(m, a, "From", from, 64, 0);
	size_t nr = addr_list(m, a, "Reply-To", rt, 64, 0);
	bool from_fm = false, rt_fm = false, from_not_in_rt = true;

	for (size_t i = 0; i < nf; i++)
		from_fm |= sa_eval_is_freemail(r, from[i]);
	for (size_t i = 0; i < nr; i++)
		rt_fm |= sa_eval_is_freemail(r, rt[i]);
	for (size_t i = 0; i < nf; i++)
		for (size_t j = 0; j < nr; j++)
			if (strcmp(from[i], rt[j]) == 0)
				from_not_in_rt = false;
	if (from_fm && rt_fm && from_not_in_rt)
		return 1;
	if (replyto ? !rt_fm : ((nr > 0 && !rt_fm) || (nr == 0 && !from_fm)))
		return 0;
	const char **body;
	int nb = body_freemails(r, m, a, &body);

	if (nb <= 0)
		return 0;
	const char *const *reply = replyto || rt_fm ? rt : from;
	size_t nrep = replyto || rt_fm ? nr : nf;

	for (int b = 0; b < nb; b++)
		for (size_t i = 0; i < nrep; i++)
			if (strcmp(body[b], reply[i]) != 0)
				return 1;
	return 0;
}

/* Util::is_valid_utf_8 */
static bool
valid_utf8(const unsigned char *p)
{
	while (*p) {
		unsigned char c = *p;
		size_t n;

		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3;
		else
			return false;
		unsigned char lo = 0x80, hi = 0xbf;

		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
		else if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		if (p[1] < lo || p[1] > hi)
			return false;
		for (size_t k = 2; k <= n; k++)
			if (p[k] < 0x80 || p[k] > 0xbf)
				return false;
		p += n + 1;
	}
	return true;
}

/* HeaderEval check_illegal_chars(header, ratio, count) over the raw value */
static int
ev_illegal_chars(const struct sa_rule *x, const struct sa_msg *m, struct mavis_arena *a)
{
	char name[128];

	snprintf(name, sizeof(name), "%s", x->args[0]);
	char *c = strstr(name, ":raw");

	if (c != NULL && c[4] == '\0')
		*c = '\0';
	const char *v = sa_msg_get(m, a, name, SA_H_RAW);

	if (v == NULL)
		return 0;
	const unsigned char *u = (const unsigned char *)v;
	bool nonspace = false, high = false, ctl = false;
	size_t illegal = 0, exempt = 0, len = strlen(v);

	for (size_t i = 0; i < len; i++) {
		nonspace |= !sa_isspace(u[i]);
		high |= u[i] >= 0x80;
		ctl |= u[i] <= 0x08 || u[i] == 0x0b || u[i] == 0x0c || (u[i] >= 0x0e && u[i] <= 0x1f);
		illegal += u[i] <= 0x08 || u[i] == 0x0b || u[i] == 0x0c ||
			   (u[i] >= 0x0e && u[i] <= 0x1f) || u[i] >= 0x7f;
		exempt += u[i] == 0xa2 || u[i] == 0xa3 || u[i] == 0xae;
	}
	if (!nonspace)
		return 0;
	/* valid UTF-8 without controls is legal */
	if (high && valid_utf8(u) && !ctl)
		return 0;
	if (illegal > 0 && strcasecmp(name, "Subject") == 0 && exempt == 1)
		illegal--;
	if (len == 0)
		return 0;
	return (double)illegal / (double)len >= strtod(x->args[1], NULL) &&
	       (double)illegal >= strtod(x->args[2], NULL);
}

/* BodyEval tvd_vertical_words(min, max): the highest share of spaces to
   other characters in a body line over 5 bytes */
static int
ev_vertical_words(const struct sa_rule *x, const struct sa_msg *m)
{
	double mn = strtod(x->args[0], NULL), mx = strtod(x->args[1], NULL);
	long best = -1;

	if (mx >= 100)
		mx = 101;
	for (size_t i = 0; i < m->n_body; i++) {
		size_t l = strlen(m->body[i]), sp = 0;

		if (l <= 5)
			continue;
		for (size_t k = 0; k < l; k++)
			sp += m->body[i][k] == ' ';
		size_t non = l - sp;
		long pct = sp > non || non == 0 ? 100 : (long)(100 * sp / non);

		if (pct > best)
			best = pct;
	}
	return (double)best >= mn && (double)best < mx;
}

/* MIMEEval get_charset_from_ct_line: the charset parameter, unquoted */
static const char *
ct_charset(const char *ct, struct mavis_arena *a)
{
	const char *p = ct ? strcasestr(ct, "charset") : NULL;

	if (p == NULL)
		return NULL;
	p += 7;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '=')
		return NULL;
	p++;
	while (*p == ' ' || *p == '\t' || *p == '"' || *p == '\'')
		p++;
	size_t n = strcspn(p, "\"'; \t\r\n");

	return mavis_arena_strndup(a, p, n);
}

/* MIMEEval check_for_uppercase(min, max): upper-case share of the letters
   and digits of the body lines with an inner space, 200 bytes at least */
static int
ev_uppercase(const struct sa_rule *x, const struct mavis_sa_rules *r, const struct sa_msg *m,
	     struct mavis_arena *a)
{
	double mn = strtod(x->args[0], NULL), mx = strtod(x->args[1], NULL);
	/* body_charset_is_likely_to_fp */
	const char *cs = ct_charset(sa_msg_get(m, a, "Content-Type", 0), a);

	if (cs != NULL && re_hit(r->evx[XR_CAPS_FP_CHARSET], cs))
		return 0;
	if (m->mime.charsets != NULL) {
		char *all = mavis_arena_strdup(a, m->mime.charsets);

		for (char *save = NULL, *t = strtok_r(all, " ", &save); t; t = strtok_r(NULL, " ", &save))
			if (re_hit(r->evx[XR_CAPS_FP_CHARSET], t))
				return 0;
	}
	double len = 0, lower = 0, upper = 0;

	for (size_t i = 0; i < m->n_body; i++) {
		const char *l = m->body[i];
		size_t n = strlen(l);
		bool inner = false;

		/* /\S\s+\S/ */
		for (size_t k = 1; k + 1 < n && !inner; k++)
			if (sa_isspace((unsigned char)l[k]) && !sa_isspace((unsigned char)l[k - 1])) {
				size_t e = k;

				while (e < n && sa_isspace((unsigned char)l[e]))
					e++;
				inner = e < n;
			}
		if (!inner)
			continue;
		/* /^(?:[A-Za-z0-9+\/=]{60,76} ){2}/: lingering base64 */
		{
			size_t p = 0;
			int words = 0;

			while (words < 2) {
				size_t k = p;

				while (k < n && (sa_isalnum((unsigned char)l[k]) || l[k] == '+' || l[k] == '/' ||
						 l[k] == '='))
					k++;
				if (k - p < 60 || k - p > 76 || k >= n || l[k] != ' ')
					break;
				p = k + 1;
				words++;
			}
			if (words == 2)
				continue;
		}
		/* the shift-JIS escapes s/\x1b\$B.*\x1b\(B//gs are dropped first */
		const char *js = strstr(l, "\x1b$B");
		const char *je = js ? strstr(js, "\x1b(B") : NULL;
		size_t cut = 0;

		if (js && je) {
			const char *last = je, *q;

			while ((q = strstr(last + 3, "\x1b(B")) != NULL)
				last = q;
			cut = (size_t)(last + 3 - js);
		}
		len += (double)(n - cut);
		for (size_t k = 0; k < n; k++) {
			if (js && je && l + k >= js && l + k < js + cut)
				continue;
			char c = l[k];

			lower += (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
			upper += c >= 'A' && c <= 'Z';
		}
	}
	if (len < 200 || upper + lower == 0)
		return 0 > mn && 0 <= mx;
	double pct = upper / (upper + lower) * 100;

	return pct > mn && pct <= mx;
}

static int
ev_unresolved_template(const struct mavis_sa_rules *r, const struct sa_msg *m,
		       struct mavis_arena *a)
{
	for (size_t i = 0; i < m->n_h; i++) {
		/* each line of "Name: value" (values unfolded) */
		const char *line = mavis_arena_printf(a, "%s: %s", m->h[i].name, m->h[i].dec);

		if (re_hit(r->evx[XR_TEMPLATE], line) && !re_hit(r->evx[XR_TEMPLATE_OK], line))
			return 1;
	}
	return 0;
}

static bool
in_chars(int c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

/* HeaderEval check_for_to_in_subject: the first To address ("address")
   or its local part ("user") in the Subject, in the Perl pattern's four
   forms; string tests, since the pattern is made from the message */
static int
ev_to_in_subject(const struct sa_msg *m, struct mavis_arena *a, const char *test)
{
	const char *to = first_addr(m, a, "To");
	const char *subj = sa_msg_get(m, a, "Subject", 0);

	if (*to == '\0' || subj == NULL)
		return 0;
	/* $ matches at the end or before a final newline */
	size_t sl = strlen(subj);

	if (sl > 0 && subj[sl - 1] == '\n')
		sl--;
	if (strcmp(test, "address") == 0) {
		/* /\bTO\b/i */
		size_t tl = strlen(to);

		for (size_t i = 0; i + tl <= sl; i++) {
			if (strncasecmp(subj + i, to, tl) != 0)
				continue;
			bool b0 = i == 0 || sa_isword((unsigned char)subj[i - 1]) != sa_isword((unsigned char)to[0]);
			bool b1 = i + tl == sl ||
				  sa_isword((unsigned char)subj[i + tl]) != sa_isword((unsigned char)to[tl - 1]);

			if (b0 && b1)
				return 1;
		}
		return 0;
	}
	size_t ul = strcspn(to, "@");
	const char *S = subj;

	/* |\Q$to\E$ : the whole subject */
	if (sl == ul && strncasecmp(S, to, ul) == 0)
		return 1;
	/* |(?-i:\Q$to\E)\s*[,:;!?-](?:$|\s) */
	if (sl >= ul && strncmp(S, to, ul) == 0) {
		size_t i = ul;

		while (i < sl && sa_isspace((unsigned char)S[i]))
			i++;
		if (i < sl && in_chars(S[i], ",:;!?-") && (i + 1 == sl || sa_isspace((unsigned char)S[i + 1])))
			return 1;
	}
	/* (?:re|fw):\s*(?:\w+\s+)?\Q$to\E$ */
	if (sl >= 3 && (strncasecmp(S, "re:", 3) == 0 || strncasecmp(S, "fw:", 3) == 0)) {
		size_t i = 3;

		while (i < sl && sa_isspace((unsigned char)S[i]))
			i++;
		if (sl - i == ul && strncasecmp(S + i, to, ul) == 0)
			return 1;
		size_t w = i;

		while (w < sl && sa_isword((unsigned char)S[w]))
			w++;
		size_t sp = w;

		while (sp < sl && sa_isspace((unsigned char)S[sp]))
			sp++;
		if (w > i && sp > w && sl - sp == ul && strncasecmp(S + sp, to, ul) == 0)
			return 1;
	}
	/* ,\s*\Q$to\E[,:;!?-]$ */
	if (sl >= 1 && S[0] == ',') {
		size_t i = 1;

		while (i < sl && sa_isspace((unsigned char)S[i]))
			i++;
		if (sl - i == ul + 1 && strncasecmp(S + i, to, ul) == 0 && in_chars(S[sl - 1], ",:;!?-"))
			return 1;
	}
	return 0;
}

/* HeaderEval check_ratware_envelope_from: the envelope sender built from
   the recipient's domain and user (/\bDOMAIN.USER@/i) */
static int
ev_ratware_efrom(const struct mavis_sa_rules *r, const struct sa_msg *m, struct mavis_arena *a)
{
	const char *to = first_addr(m, a, "To");
	const char *ef = sa_msg_get(m, a, "EnvelopeFrom", SA_H_ADDR);

	if (ef == NULL || *ef == '\0' || *to == '\0')
		return 0;
	const char *from = mavis_arena_strndup(a, ef, strcspn(ef, "\n"));

	if (strncasecmp(from, "SRS", 3) == 0 && sa_isdigit((unsigned char)from[3]) &&
	    in_chars(from[4], "=+-"))
		return 0;
	const char *at = strchr(to, '@');

	if (at == NULL || at == to || at[1] == '\0')
		return 0;
	char *user = mavis_arena_strndup(a, to, (size_t)(at - to));
	char *dom = mavis_arena_strdup(a, at + 1);

	for (char *p = dom; *p; p++)
		*p = (char)sa_lower((unsigned char)*p);
	const char *td = sa_trim_domain(r, dom, a);
	const char *dot = strrchr(td, '.');

	if (dot == NULL || !sa_rules_is_tld(r, dot + 1, strlen(dot + 1)))
		return 0;
	size_t dl = strlen(td), ul = strlen(user), fl = strlen(from);

	for (size_t i = 0; i + dl + 1 + ul + 1 <= fl; i++) {
		if (i > 0 && sa_isword((unsigned char)from[i - 1]) == sa_isword((unsigned char)td[0]))
			continue;	/* \b */
		if (i == 0 && !sa_isword((unsigned char)td[0]))
			continue;
		if (strncasecmp(from + i, td, dl) == 0 && from[i + dl] != '\n' &&
		    strncasecmp(from + i + dl + 1, user, ul) == 0 && from[i + dl + 1 + ul] == '@')
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
	case X_FORGED_YAHOO:
		return ev_forged_yahoo(r, m, a);
	case X_FORGED_HOTMAIL:
		return hotmail_state(r, m, a) == 1;
	case X_NO_HOTMAIL:
		return hotmail_state(r, m, a) == 2;
	case X_NO_RDNS_DOTCOM_HELO:
		return ev_no_rdns_dotcom_helo(r, m);
	case X_MIME:
	case X_MIME_B:
		return ev_mime(&m->mime, x->args[0]);
	case X_ASCII_TEXT_ILLEGAL:
		return m->mime.ascii_text_illegal > 0;
	case X_UNICODE_RATIO: {
		/* the ratio must look like /^\d{0,3}\.\d{1,3}$/ */
		const char *q = x->args[0], *dot = strchr(q, '.');

		if (dot == NULL || dot - q > 3 || strlen(dot + 1) < 1 || strlen(dot + 1) > 3 ||
		    strspn(q, "0123456789") != (size_t)(dot - q) ||
		    strspn(dot + 1, "0123456789") != strlen(dot + 1))
			return 0;
		return m->mime.text_unicode_ratio >= strtod(q, NULL);
	}
	case X_MULTIPART_RATIO:
		return m->mime.multipart_ratio >= strtod(x->args[0], NULL) &&
		       m->mime.multipart_ratio < strtod(x->args[1], NULL);
	case X_QP_RATIO:
		return m->mime.has_qp_ratio && m->mime.qp_ratio >= strtod(x->args[0], NULL);
	case X_BASE64_LENGTH:
		if (x->nargs == 2 && (double)m->mime.base64_length > strtod(x->args[1], NULL))
			return 0;
		return (double)m->mime.base64_length >= strtod(x->args[0], NULL);
	case X_PARSE_FLAGS:
	case X_PARSE_FLAGS_H:
		return m->mime.epilogue_exists;
	case X_SIMILAR_RECIPS: {
		double v = recipients(m, a, 0);

		return (strcmp(x->args[0], "undef") == 0 || v >= strtod(x->args[0], NULL)) &&
		       (strcmp(x->args[1], "undef") == 0 || v < strtod(x->args[1], NULL));
	}
	case X_SORTED_RECIPS:
		return recipients(m, a, 1) != 0;
	case X_DKIM_DEPENDABLE:
		/* DKIM.pm: signatures count as dependable only once verified,
		   and without DNS (score set 0) nothing is verified */
		return 0;
	case X_FREEMAIL_REPLYTO:
		return ev_freemail_replyto(r, m, a, x->nargs ? x->args[0] : NULL);
	case X_ILLEGAL_CHARS:
		return ev_illegal_chars(x, m, a);
	case X_VERTICAL_WORDS:
		return ev_vertical_words(x, m);
	case X_MADIFF_COUNT:
		if (!(m->mime.madiff_html > strtod(x->args[1], NULL)))
			return 0;
		return m->mime.madiff_text / m->mime.madiff_html > strtod(x->args[0], NULL);
	case X_UPPERCASE:
		return ev_uppercase(x, r, m, a);
	case X_BODY_LENGTH:
		return (double)m->body_len <= strtod(x->args[0], NULL);
	case X_UNRESOLVED_TEMPLATE:
		return ev_unresolved_template(r, m, a);
	case X_FARAWAY:
	case X_FARAWAY_H:
		return 0;
	case X_TO_IN_SUBJECT:
		return ev_to_in_subject(m, a, x->args[0]);
	case X_RATWARE_EFROM:
		return ev_ratware_efrom(r, m, a);
	case X_MADIFF: {
		double mn = strtod(x->args[0], NULL);

		return (mn == 0 || m->mime.madiff > mn) &&
		       (strcmp(x->args[1], "undef") == 0 || m->mime.madiff <= strtod(x->args[1], NULL));
	}
	default:
		return 0;
	}
}
