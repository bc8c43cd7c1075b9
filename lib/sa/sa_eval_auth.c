/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sa_eval_auth.c - the DKIM, SPF and DMARC plugins' eval functions, on our own results */

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "sa_int.h"

/*
 * SpamAssassin's plugins do their own lookups; amavisd hands its DKIM
 * signatures over instead (suppl_attrib), and so do we, with SPF and
 * DMARC too (struct mavis_sa_auth). The semantics follow the plugins
 * (Plugin/DKIM.pm, SPF.pm, DMARC.pm of SpamAssassin 4.0): an author
 * signature is a valid one whose signing domain (of i=, else d=) is a
 * From domain; DKIM_VALID_EF's is the envelope sender's domain; a domain
 * argument ".dom" or "*.dom" also takes its subdomains.
 */

enum {
	A_DKIM_SIGNED, A_DKIM_VALID, A_DKIM_VALID_AU, A_DKIM_VALID_EF, A_DKIM_DEPENDABLE,
	A_SPF_PASS, A_SPF_NEUTRAL, A_SPF_FAIL, A_SPF_SOFTFAIL, A_SPF_NONE, A_SPF_PERMERROR,
	A_SPF_TEMPERROR,
	A_HELO_PASS, A_HELO_NEUTRAL, A_HELO_FAIL, A_HELO_SOFTFAIL, A_HELO_NONE, A_HELO_PERMERROR,
	A_HELO_TEMPERROR,
	A_DMARC_PASS, A_DMARC_REJECT, A_DMARC_QUARANTINE, A_DMARC_NONE, A_DMARC_MISSING,
	A_N
};

static const char *const fns[A_N] = {
	[A_DKIM_SIGNED] = "check_dkim_signed",
	[A_DKIM_VALID] = "check_dkim_valid",
	[A_DKIM_VALID_AU] = "check_dkim_valid_author_sig",
	[A_DKIM_VALID_EF] = "check_dkim_valid_envelopefrom",
	[A_DKIM_DEPENDABLE] = "check_dkim_dependable",
	[A_SPF_PASS] = "check_for_spf_pass",
	[A_SPF_NEUTRAL] = "check_for_spf_neutral",
	[A_SPF_FAIL] = "check_for_spf_fail",
	[A_SPF_SOFTFAIL] = "check_for_spf_softfail",
	[A_SPF_NONE] = "check_for_spf_none",
	[A_SPF_PERMERROR] = "check_for_spf_permerror",
	[A_SPF_TEMPERROR] = "check_for_spf_temperror",
	[A_HELO_PASS] = "check_for_spf_helo_pass",
	[A_HELO_NEUTRAL] = "check_for_spf_helo_neutral",
	[A_HELO_FAIL] = "check_for_spf_helo_fail",
	[A_HELO_SOFTFAIL] = "check_for_spf_helo_softfail",
	[A_HELO_NONE] = "check_for_spf_helo_none",
	[A_HELO_PERMERROR] = "check_for_spf_helo_permerror",
	[A_HELO_TEMPERROR] = "check_for_spf_helo_temperror",
	[A_DMARC_PASS] = "check_dmarc_pass",
	[A_DMARC_REJECT] = "check_dmarc_reject",
	[A_DMARC_QUARANTINE] = "check_dmarc_quarantine",
	[A_DMARC_NONE] = "check_dmarc_none",
	[A_DMARC_MISSING] = "check_dmarc_missing",
};

/* check_dkim_verified is the old name of check_dkim_valid */
int
sa_auth_eval_lookup(enum sa_type type, const char *fn)
{
	(void)type;	/* the plugins register them for header and full rules alike */
	if (strcmp(fn, "check_dkim_verified") == 0)
		return A_DKIM_VALID;
	for (int i = 0; i < A_N; i++)
		if (strcmp(fns[i], fn) == 0)
			return i;
	return -1;
}

bool
sa_auth_eval_known(const char *text)
{
	const char *open;
	char fn[64];

	if (text == NULL || strncmp(text, "eval:", 5) != 0 || (open = strchr(text + 5, '(')) == NULL ||
	    (size_t)(open - text - 5) >= sizeof(fn))
		return false;
	memcpy(fn, text + 5, (size_t)(open - text - 5));
	fn[open - text - 5] = '\0';
	return sa_auth_eval_lookup(SA_T_HEADER, fn) >= 0;
}

/* sdid against the argument list (none: any domain) */
static bool
domain_ok(const char *sdid, const char *const *args, size_t nargs)
{
	if (nargs == 0)
		return true;
	for (size_t i = 0; i < nargs; i++) {
		const char *ad = args[i];

		if (ad[0] == '*' && ad[1] == '.')
			ad++;
		if (ad[0] == '.') {
			size_t dl = strlen(ad + 1), sl = strlen(sdid);

			if (strcasecmp(sdid, ad + 1) == 0 ||
			    (sl > dl && sdid[sl - dl - 1] == '.' && strcasecmp(sdid + sl - dl, ad + 1) == 0))
				return true;
		} else if (strcasecmp(sdid, ad) == 0) {
			return true;
		}
	}
	return false;
}

/* Is d one of the From addresses' domains? */
static bool
author_domain(const struct sa_msg *m, struct mavis_arena *a, const char *d)
{
	const char *from = sa_msg_get(m, a, "From", SA_H_ADDR);

	if (from == NULL)
		return false;
	/* one address per line */
	for (const char *p = from; *p;) {
		const char *nl = strchr(p, '\n'), *e = nl ? nl : p + strlen(p);
		const char *at = NULL;

		for (const char *q = p; q < e; q++)
			if (*q == '@')
				at = q;
		if (at != NULL && (size_t)(e - at - 1) == strlen(d) &&
		    strncasecmp(at + 1, d, (size_t)(e - at - 1)) == 0)
			return true;
		p = nl ? nl + 1 : e;
	}
	return false;
}

static int
dkim_eval(int id, const struct sa_rule *x, const struct sa_msg *m, struct mavis_arena *a)
{
	const struct mavis_sa_auth *au = m->auth;

	if (id == A_DKIM_DEPENDABLE)
		return 1;	/* handed over whole, as amavisd's */
	for (size_t i = 0; i < au->n_sigs; i++) {
		const struct mavis_sa_dkim_sig *s = &au->sigs[i];

		if (s->sdid == NULL || (id != A_DKIM_SIGNED && !s->valid))
			continue;
		if (id == A_DKIM_VALID_EF) {
			if (au->envelope_from_domain != NULL &&
			    strcasecmp(s->sdid, au->envelope_from_domain) == 0)
				return 1;
			continue;
		}
		if (id == A_DKIM_VALID_AU && !author_domain(m, a, s->sdid))
			continue;
		if (domain_ok(s->sdid, x->args, x->nargs))
			return 1;
	}
	return 0;
}

int
sa_auth_eval_run(int id, const struct sa_rule *x, const struct sa_msg *m, struct mavis_arena *a)
{
	const struct mavis_sa_auth *au = m->auth;

	if (au == NULL || id < 0 || id >= A_N)
		return 0;
	if (id <= A_DKIM_DEPENDABLE)
		return au->dkim_checked ? dkim_eval(id, x, m, a) : 0;
	if (id <= A_HELO_TEMPERROR) {
		static const enum mavis_sa_spf want[] = {
			MAVIS_SA_SPF_PASS, MAVIS_SA_SPF_NEUTRAL, MAVIS_SA_SPF_FAIL, MAVIS_SA_SPF_SOFTFAIL,
			MAVIS_SA_SPF_NONE, MAVIS_SA_SPF_PERMERROR, MAVIS_SA_SPF_TEMPERROR,
		};
		bool helo = id >= A_HELO_PASS;

		if (!au->spf_checked)
			return 0;
		return (helo ? au->spf_helo : au->spf) == want[id - (helo ? A_HELO_PASS : A_SPF_PASS)];
	}
	if (!au->dmarc_checked)
		return 0;
	switch (id) {
	case A_DMARC_PASS: return au->dmarc == MAVIS_SA_DMARC_PASS;
	case A_DMARC_REJECT: return au->dmarc == MAVIS_SA_DMARC_REJECT;
	case A_DMARC_QUARANTINE: return au->dmarc == MAVIS_SA_DMARC_QUARANTINE;
	case A_DMARC_NONE: return au->dmarc == MAVIS_SA_DMARC_NONE;
	case A_DMARC_MISSING: return au->dmarc == MAVIS_SA_DMARC_MISSING;
	default: return 0;
	}
}
