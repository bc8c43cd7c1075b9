/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sa_eval.c - the eval functions the engine implements (HeaderEval, FreeMail, ...) */

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "sa_html.h"
#include "sa_int.h"
#include "sa_received.h"

enum {
	EV_MISSING_TO, EV_OUTLOOK_MSGID, EV_EQUAL_FROM_DOMAINS, EV_SHIFTED_DATE, EV_FREEMAIL_FROM,
	EV_FREEMAIL_HEADER, EV_HTML, EV_RELAY, EV_MIME_HTML_ONLY, EV_MIME_HTML, EV_BAYES, EV_N,
	EV_AUTH_BASE = 100	/* + sa_auth_eval_lookup()'s id: sa_eval_auth.c */
};

/* RelayEval functions sa_relay_eval() answers */
static const char *const relay_fns[] = {
	"check_all_trusted", "check_no_relays", "check_relays_unparseable", "helo_ip_mismatch",
	"check_for_numeric_helo", NULL
};

static const struct {
	const char *fn;
	enum sa_type type;
	size_t min_args, max_args;
} evals[EV_N] = {
	[EV_MISSING_TO] = { "check_for_missing_to_header", SA_T_HEADER, 0, 0 },
	[EV_OUTLOOK_MSGID] = { "check_outlook_message_id", SA_T_HEADER, 0, 0 },
	[EV_EQUAL_FROM_DOMAINS] = { "check_equal_from_domains", SA_T_HEADER, 0, 0 },
	[EV_SHIFTED_DATE] = { "check_for_shifted_date", SA_T_HEADER, 2, 2 },
	[EV_FREEMAIL_FROM] = { "check_freemail_from", SA_T_HEADER, 0, 1 },
	[EV_FREEMAIL_HEADER] = { "check_freemail_header", SA_T_HEADER, 1, 2 },
	[EV_HTML] = { "html_*", SA_T_BODY, 0, 8 },
	[EV_MIME_HTML_ONLY] = { "check_for_mime_html_only", SA_T_BODY, 0, 0 },
	[EV_MIME_HTML] = { "check_for_mime_html", SA_T_BODY, 0, 0 },	/* HTMLEval: sa_html_eval() */
	[EV_RELAY] = { "relay", SA_T_HEADER, 0, 8 },	/* RelayEval: sa_relay_eval() */
	[EV_BAYES] = { "check_bayes", SA_T_BODY, 2, 2 },	/* Plugin/Bayes.pm */
};

enum { AUX_OUTLOOK_RCVD, AUX_RCVD_DATE, AUX_LOCAL, AUX_QMAIL_LOCAL, AUX_FETCHMAIL, AUX_N };

static const char *const aux_patterns[AUX_N] = {
	[AUX_OUTLOOK_RCVD] = "(\\s.?\\d+ \\S\\S\\S \\d+ \\d+:\\d+:\\d+ \\S+).*?$",
	[AUX_RCVD_DATE] = "(\\s.?\\d+ \\S\\S\\S \\d+ \\d+:\\d+:\\d+ \\S+)",
	[AUX_LOCAL] = "\\bfrom (?:localhost\\s|(?:\\S+ ){1,2}\\S*\\b127\\.0\\.0\\.1\\b)",
	[AUX_QMAIL_LOCAL] = "qmail \\d+ invoked by uid \\d+",
	[AUX_FETCHMAIL] = "\\bby localhost with \\w+ \\(fetchmail-[\\d.]+",
};

int
sa_eval_init(struct mavis_sa_rules *r, struct mavis_error *err)
{
	for (int i = 0; i < AUX_N; i++) {
		r->aux[i] = sa_regex_compile(aux_patterns[i], "", err);
		if (r->aux[i] == NULL)
			return -1;
	}
	return 0;
}

void
sa_eval_fini(struct mavis_sa_rules *r)
{
	for (int i = 0; i < AUX_N; i++) {
		pcre2_code_free(r->aux[i]);
		r->aux[i] = NULL;
	}
}

/* Match re against s; *cap = group 1 (from a) when asked. */
static bool
re_find(const pcre2_code *re, const char *s, struct mavis_arena *a, const char **cap)
{
	pcre2_match_data *md = pcre2_match_data_create(4, NULL);
	bool ok = false;

	if (md && pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL) >= 0) {
		ok = true;
		if (cap != NULL) {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);

			*cap = ov[2] == PCRE2_UNSET ? NULL : mavis_arena_strndup(a, s + ov[2], ov[3] - ov[2]);
		}
	}
	pcre2_match_data_free(md);
	return ok;
}

int
sa_eval_prepare(struct sa_rule *x)
{
	struct mavis_error e = { 0 };
	const char *pat = NULL;

	if (x->eval_id == EV_FREEMAIL_FROM && x->nargs == 1)
		pat = x->args[0];
	else if (x->eval_id == EV_FREEMAIL_HEADER && x->nargs == 2)
		pat = x->args[1];
	if (pat == NULL)
		return 0;
	x->arg_re = sa_regex_compile(pat, "", &e);
	if (x->arg_re == NULL) {
		x->eval_id = -1;
		x->unsupported = "eval regex argument does not compile";
		return -1;
	}
	return 0;
}

bool
sa_eval_args_ok(int id, const char *fn, const char *const *args, size_t nargs)
{
	if (id >= SA_EVX_BASE)
		return sa_evx_args_ok(id, args, nargs);	/* sa_eval_local.c */
	if (id == EV_HTML)
		return sa_html_eval(NULL, 0, NULL, fn, args, nargs) >= 0;
	if (id == EV_RELAY) {
		struct mavis_arena *a = mavis_arena_new(1024);
		struct sa_relays *r = NULL;
		bool ok = sa_relays_build(NULL, 0, NULL, NULL, NULL, a, &r) == 0 &&
			  sa_relay_eval(r, fn, args, nargs) >= 0;

		mavis_arena_free(&a);
		return ok;
	}
	return true;
}

int
sa_eval_lookup(enum sa_type type, const char *fn, size_t nargs)
{
	if ((type == SA_T_BODY || type == SA_T_RAWBODY) &&
	    (strncmp(fn, "html_", 5) == 0 || strcmp(fn, "check_iframe_src") == 0))
		return EV_HTML;
	for (int i = 0; relay_fns[i]; i++)
		if (strcmp(fn, relay_fns[i]) == 0)
			return EV_RELAY;
	int auth = sa_auth_eval_lookup(type, fn);
	if (auth >= 0)
		return EV_AUTH_BASE + auth;
	for (int i = 0; i < EV_N; i++)
		if (evals[i].type == type && strcmp(evals[i].fn, fn) == 0 &&
		    nargs >= evals[i].min_args && nargs <= evals[i].max_args)
			return i;
	return sa_evx_lookup(type, fn, nargs);	/* sa_eval_local.c */
}

/* Util::parse_rfc822_date; 0 = unparsable */
static double
parse_date(const char *s)
{
	double t = 0;

	/* sa_date.c: SpamAssassin's own leniency (years forced into range, ...) */
	if (s == NULL || *s == '\0' || !sa_parse_rfc822_date(s, &t))
		return 0;
	return t;
}

static bool
empty(const char *s)
{
	return s == NULL || *s == '\0' || strcmp(s, "\n") == 0;
}

static int
ev_outlook_msgid(const struct mavis_sa_rules *rs, const struct sa_msg *m, struct mavis_arena *a)
{
	const char *id = sa_msg_get(m, a, "MESSAGEID", 0);
	char hexs[9];
	const double x = 0.0023283064365387, y = 27111902.8329849;
	const double fudge = 250;

	/* ^<[0-9a-f]{4}([0-9a-f]{8})\$[0-9a-f]{8}\$[0-9a-f]{8}\@ */
	if (id == NULL || id[0] != '<')
		return 0;
	for (int i = 1; i <= 12; i++)
		if (!isxdigit((unsigned char)id[i]) || isupper((unsigned char)id[i]))
			return 0;
	if (id[13] != '$')
		return 0;
	for (int i = 14; i < 22; i++)
		if (!isxdigit((unsigned char)id[i]) || isupper((unsigned char)id[i]))
			return 0;
	if (id[22] != '$')
		return 0;
	for (int i = 23; i < 31; i++)
		if (!isxdigit((unsigned char)id[i]) || isupper((unsigned char)id[i]))
			return 0;
	if (id[31] != '@')
		return 0;
	memcpy(hexs, id + 5, 8);
	hexs[8] = '\0';
	double token = (double)strtoul(hexs, NULL, 16);
	const char *d = sa_msg_get(m, a, "Date", 0);
	double expected = floor(parse_date(d) * x + y);

	if (fabs(token - expected) < fudge)
		return 0;
	/* the first Received's date: /(\s.?\d+ \S\S\S \d+ \d+:\d+:\d+ \S+).*?$/ */
	const char *r = sa_msg_get(m, a, "Received", 0);
	double rt = 0;

	if (r != NULL) {
		const char *d2 = NULL;

		if (re_find(rs->aux[AUX_OUTLOOK_RCVD], r, a, &d2) && d2 != NULL)
			rt = parse_date(d2);
	}
	expected = floor(rt * x + y);
	return fabs(token - expected) >= fudge;
}

/* the domain after the last '@', cut to its last two labels */
static const char *
dom2(const char *addr, struct mavis_arena *a)
{
	if (addr == NULL)
		return "";
	const char *nl = strchr(addr, '\n');
	const char *e = nl ? nl : addr + strlen(addr);
	const char *at = NULL;

	/* :addr gives one address per line; Perl's \z looks at all of them:
	   the value's last '@' with no '@' after it */
	for (const char *p = addr; *p; p++)
		if (*p == '@')
			at = p;
	(void)e;
	if (at == NULL)
		return "";
	const char *d = at + 1;
	size_t n = strlen(d);

	while (n > 0 && d[n - 1] == '\n')
		n--;
	char *s = mavis_arena_strndup(a, d, n);
	/* s/^.+\.([^\.]+\.[^\.]+)$/$1/ */
	char *last = strrchr(s, '.');

	if (last != NULL && last > s) {
		char *p = last - 1;

		while (p > s && *p != '.')
			p--;
		if (*p == '.' && p > s)
			s = p + 1;
	}
	return s;
}

static int
ev_equal_from_domains(const struct sa_msg *m, struct mavis_arena *a)
{
	const char *f = dom2(sa_msg_get(m, a, "From", SA_H_ADDR), a);
	const char *e = dom2(sa_msg_get(m, a, "EnvelopeFrom", SA_H_ADDR), a);

	if (*f == '\0' || *e == '\0')
		return 0;
	return strcasecmp(f, e) != 0;
}

/* HeaderEval _check_date_diff: Date against the Received times, the
   smallest absolute difference. The local hops at the top (a first line
   from localhost, then a fetchmail line) do not count. */
static int
ev_shifted_date(const struct mavis_sa_rules *r, const struct sa_msg *m, const char *const *args,
		struct mavis_arena *a)
{
	double date = 0, best = 0;
	bool have = false;
	double times[64];
	size_t nt = 0;
	const char *rcv[64];
	size_t nr = 0, first = 0;

	for (size_t i = 0; i < m->n_h && date == 0; i++)
		if (strcasecmp(m->h[i].name, "Resent-Date") == 0)
			date = parse_date(m->h[i].dec);
	for (size_t i = 0; i < m->n_h && date == 0; i++)
		if (strcasecmp(m->h[i].name, "Date") == 0)
			date = parse_date(m->h[i].dec);
	for (size_t i = 0; i < m->n_h && nr < 64; i++)
		if (strcasecmp(m->h[i].name, "Received") == 0)
			rcv[nr++] = m->h[i].dec;
	if (date != 0 && nr > 0) {
		bool local0 = re_find(r->aux[AUX_LOCAL], rcv[0], a, NULL) ||
			      re_find(r->aux[AUX_QMAIL_LOCAL], rcv[0], a, NULL);

		if (local0) {
			/* the local line stays unless a fetchmail line follows it */
			if (nr > 1 && re_find(r->aux[AUX_FETCHMAIL], rcv[1], a, NULL))
				first = 2;
		} else if (re_find(r->aux[AUX_FETCHMAIL], rcv[0], a, NULL)) {
			first = 1;
		}
		for (size_t i = first; i < nr && nt < 64; i++) {
			const char *d = NULL;

			if (re_find(r->aux[AUX_RCVD_DATE], rcv[i], a, &d) && d != NULL) {
				double t = parse_date(d);

				if (t != 0)
					times[nt++] = t;
			}
		}
		/* the last (oldest) difference of 0 is dropped when there are others */
		if (nt > 1 && date - times[nt - 1] == 0)
			nt--;
		for (size_t i = 0; i < nt; i++) {
			double d = date - times[i];

			if (!have || fabs(d) < fabs(best))
				best = d, have = true;
		}
	}
	double diff = have ? best : 0;
	bool lo = strcmp(args[0], "undef") == 0 || diff >= 3600 * atof(args[0]);
	bool hi = strcmp(args[1], "undef") == 0 || diff < 3600 * atof(args[1]);

	return lo && hi;
}

/* freemail_domains: exact, or with '*' matching within one label */
static bool
glob_dom(const char *pat, const char *d)
{
	for (; *pat; pat++, d++) {
		if (*pat == '*') {
			for (const char *q = d;; q++) {
				if (glob_dom(pat + 1, q))
					return true;
				if (*q == '\0' || *q == '.')
					return false;
			}
		}
		if (tolower((unsigned char)*pat) != tolower((unsigned char)*d))
			return false;
	}
	return *d == '\0';
}

static bool
is_freemail(const struct mavis_sa_rules *r, const char *email)
{
	const char *at = strrchr(email, '@');

	if (at == NULL || at[1] == '\0')
		return false;
	/* FreeMail.pm's built-in welcome list */
	static const char *const local[] = { "abuse", "support", "sales", "info", "helpdesk",
					     "contact", "kontakt", NULL };
	for (int i = 0; local[i]; i++)
		if (strlen(local[i]) == (size_t)(at - email) &&
		    strncasecmp(email, local[i], (size_t)(at - email)) == 0)
			return false;
	for (size_t i = 0; i < r->n_freemail; i++)
		if (glob_dom(r->freemail[i], at + 1))
			return true;
	return false;
}

static bool
freemail_in(const struct mavis_sa_rules *r, const char *addrs, const pcre2_code *re,
	    struct mavis_arena *a)
{
	bool hit = false;

	if (addrs == NULL)
		return false;
	char *s = mavis_arena_strdup(a, addrs);

	for (char *save = NULL, *t = strtok_r(s, "\n", &save); t && !hit;
	     t = strtok_r(NULL, "\n", &save)) {
		for (char *q = t; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		if (!is_freemail(r, t))
			continue;
		if (re != NULL) {
			pcre2_match_data *md = pcre2_match_data_create(4, NULL);

			hit = md && pcre2_match(re, (PCRE2_SPTR)t, strlen(t), 0, 0, md, NULL) >= 0;
			pcre2_match_data_free(md);
		} else {
			hit = true;
		}
	}
	return hit;
}

/* Bayes.pm check_bayes(min, max): the message's Bayes probability (from
   sa_bayes_scan, before the rules ran) in (min, max]; min 0 includes 0,
   max "undef" has no upper bound. No probability (Bayes off, too few
   learned messages, lookup failed) is no hit. */
static int
ev_check_bayes(const struct sa_rule *x, const struct sa_msg *m)
{
	double min = strtod(x->args[0], NULL);
	double p = m->bayes_prob;

	if (!m->bayes_have)
		return 0;
	if (!(min == 0 || p > min))
		return 0;
	return strcmp(x->args[1], "undef") == 0 || p <= strtod(x->args[1], NULL);
}

bool
sa_eval_is_bayes(const char *text)
{
	return strncmp(text, "eval:check_bayes(", 17) == 0;
}

bool
sa_eval_bayes_only(const struct sa_rule *x)
{
	return x->is_eval && x->eval_id == EV_BAYES;
}

int
sa_eval_run(const struct sa_rule *x, const struct mavis_sa_rules *r, const struct sa_msg *m,
	    struct mavis_arena *a)
{
	const char *const *args = x->args;

	/* ids EV_AUTH_BASE.. are sa_eval_auth.c's, SA_EVX_BASE.. sa_eval_local.c's */
	if (x->eval_id >= EV_AUTH_BASE && x->eval_id < SA_EVX_BASE)
		return sa_auth_eval_run(x->eval_id - EV_AUTH_BASE, x, m, a);
	switch (x->eval_id) {
	case EV_HTML:
		return sa_html_eval(m->html, m->n_html, sa_msg_get(m, a, "Subject", 0), x->fn, args,
				    x->nargs) == 1;
	case EV_RELAY:
		return m->relays != NULL && sa_relay_eval(m->relays, x->fn, args, x->nargs) == 1;
	case EV_MIME_HTML_ONLY:
	case EV_MIME_HTML: {
		/* MIMEEval: the top Content-Type first, then the parts counted */
		const char *ct = sa_msg_get(m, a, "Content-Type", 0);

		if (ct != NULL && strncasecmp(ct, "text/html", 9) == 0)
			return 1;
		if (x->eval_id == EV_MIME_HTML)
			return m->n_html_leaves > 0;
		return m->n_html_leaves > 0 && m->n_text_leaves == 0;
	}
	case EV_BAYES:
		return ev_check_bayes(x, m);
	case EV_MISSING_TO: {
		const char *to = sa_msg_get(m, a, "To", 0);

		if (empty(to))
			to = sa_msg_get(m, a, "Apparently-To", 0);
		return empty(to);
	}
	case EV_OUTLOOK_MSGID:
		return ev_outlook_msgid(r, m, a);
	case EV_EQUAL_FROM_DOMAINS:
		return ev_equal_from_domains(m, a);
	case EV_SHIFTED_DATE:
		return ev_shifted_date(r, m, args, a);
	case EV_FREEMAIL_FROM:
		/* all_from_addrs: From, Envelope-Sender, Resent-From, ... simplified to From */
		return freemail_in(r, sa_msg_get(m, a, "From", SA_H_ADDR), x->arg_re, a);
	case EV_FREEMAIL_HEADER: {
		char *name = mavis_arena_strdup(a, args[0]);
		char *colon = strchr(name, ':');

		if (colon)
			*colon = '\0';
		return freemail_in(r, sa_msg_get(m, a, name, SA_H_ADDR), x->arg_re, a);
	}
	default:
		return x->eval_id >= SA_EVX_BASE ? sa_evx_run(x, r, m, a) : 0;	/* sa_eval_local.c */
	}
}

/* FreeMail _is_freemail for sa_eval_local.c */
bool
sa_eval_is_freemail(const struct mavis_sa_rules *r, const char *email)
{
	return is_freemail(r, email);
}
