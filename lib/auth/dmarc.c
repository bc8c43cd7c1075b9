/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dmarc.c - DMARC (RFC 7489): policy lookup through our resolver, alignment, p= sp= pct= */

#include <arpa/nameser.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <opendmarc/dmarc.h>

#include <mavis/buf.h>

#include "auth_engine.h"
#include "dkim/dkim_int.h"

/*
 * libopendmarc parses the record (opendmarc_policy_store_dmarc); the
 * lookups are ours (the library's own go to /etc/resolv.conf), and so is
 * the alignment: libopendmarc's check counts a parent's organisational
 * domain as a strict match, which RFC 7489 3.1.1 does not, and its suffix
 * list reads a wildcard rule "*.ck" as "ck". libpsl has the list's whole
 * algorithm (wildcards, exceptions, the implicit "*").
 */

const char *
auth_dmarc_result_name(enum auth_dmarc_result r)
{
	switch (r) {
	case AUTH_DMARC_NONE: return "none";
	case AUTH_DMARC_PASS: return "pass";
	case AUTH_DMARC_FAIL: return "fail";
	case AUTH_DMARC_TEMPERROR: return "temperror";
	case AUTH_DMARC_PERMERROR: return "permerror";
	}
	return "permerror";
}

/* domain lower case without a trailing dot into buf; false when it does
   not fit or is empty */
static bool
normalise(const char *d, char *buf, size_t size)
{
	size_t n = strlen(d);

	while (n > 0 && d[n - 1] == '.')
		n--;
	if (n == 0 || n >= size)
		return false;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)tolower((unsigned char)d[i]);
	buf[n] = '\0';
	return true;
}

const char *
auth_org_domain(const struct auth_engine *e, const char *domain, char *buf, size_t size)
{
	char d[DMARC_MAXHOSTNAMELEN];
	const char *org = NULL;

	if (!normalise(domain, d, sizeof(d)) || strlen(d) >= size)
		return NULL;
	if (e != NULL && e->psl != NULL) {
		/* NULL: d is a public suffix itself, its own organisational domain */
		org = psl_registrable_domain(e->psl, d);
		if (org == NULL)
			org = d;
	} else {
		/* the implicit "*" rule: the last label is the suffix */
		org = strrchr(d, '.');
		if (org != NULL) {
			while (org > d && org[-1] != '.')
				org--;
		} else {
			org = d;
		}
	}
	strcpy(buf, org);
	return buf;
}

bool
auth_aligned(const struct auth_engine *e, const char *a, const char *b, bool strict)
{
	char na[DMARC_MAXHOSTNAMELEN], nb[DMARC_MAXHOSTNAMELEN];
	char oa[DMARC_MAXHOSTNAMELEN], ob[DMARC_MAXHOSTNAMELEN];

	if (a == NULL || b == NULL || !normalise(a, na, sizeof(na)) || !normalise(b, nb, sizeof(nb)))
		return false;
	if (strcmp(na, nb) == 0)
		return true;
	if (strict)
		return false;
	return auth_org_domain(e, na, oa, sizeof(oa)) && auth_org_domain(e, nb, ob, sizeof(ob)) &&
	       strcmp(oa, ob) == 0;
}

const char *
auth_dmarc_pick(const struct mavis_dns_rr *rrs, size_t n)
{
	const char *found = NULL;

	for (size_t i = 0; i < n; i++) {
		const char *t = (const char *)rrs[i].data;

		while (*t == ' ' || *t == '\t')
			t++;
		if (strncasecmp(t, "v=DMARC1", 8) != 0 ||
		    (t[8] != '\0' && t[8] != ';' && t[8] != ' ' && t[8] != '\t'))
			continue;
		if (found != NULL)
			return NULL;	/* more than one: as if none (6.6.3) */
		found = t;
	}
	return found;
}

/* The record of _dmarc.domain: 1 found (*rec), 0 none, <0 DNS failure. */
static int
lookup(struct auth_engine *e, const char *domain, struct mavis_arena *a, const char **rec,
       const char **why)
{
	struct mavis_error err = { 0 };
	struct mavis_dns_rr *rrs;
	size_t n;
	const char *name = mavis_arena_printf(a, "_dmarc.%s", domain);
	int rc = mavis_dns_query(e->dns, name, ns_t_txt, a, &rrs, &n, &err);

	if (rc < 0) {
		*why = mavis_arena_strdup(a, err.text);
		return rc;
	}
	*rec = rc == 1 ? auth_dmarc_pick(rrs, n) : NULL;
	return *rec != NULL;
}

/* One step milder (RFC 7489 6.6.4: a message pct= leaves out). */
static char
milder(char p)
{
	return p == 'r' ? 'q' : 'n';
}

static char
policy_char(int v)
{
	switch (v) {
	case DMARC_RECORD_P_REJECT: return 'r';
	case DMARC_RECORD_P_QUARANTINE: return 'q';
	case DMARC_RECORD_P_NONE: return 'n';
	default: return 0;
	}
}

void
auth_dmarc_check(struct auth_engine *e, const char *from_domain, const struct auth_spf *spf,
		 const struct dkim_verify_result *dkim, unsigned rnd, struct mavis_arena *a,
		 struct auth_dmarc *out)
{
	char from[DMARC_MAXHOSTNAMELEN], org[DMARC_MAXHOSTNAMELEN];
	const char *rec = NULL, *where;
	int rc;

	memset(out, 0, sizeof(*out));
	out->result = AUTH_DMARC_NONE;
	if (from_domain == NULL || *from_domain == '\0')
		return;
	if (!normalise(from_domain, from, sizeof(from))) {
		out->result = AUTH_DMARC_PERMERROR;
		out->reason = "From domain too long";
		return;
	}
	out->from_domain = mavis_arena_strdup(a, from);
	/* the From domain's own record, else its organisational domain's */
	where = out->from_domain;
	rc = lookup(e, from, a, &rec, &out->reason);
	if (rc == 0 && auth_org_domain(e, from, org, sizeof(org)) && strcmp(org, from) != 0) {
		where = mavis_arena_strdup(a, org);
		rc = lookup(e, org, a, &rec, &out->reason);
	}
	if (rc < 0) {
		out->result = AUTH_DMARC_TEMPERROR;
		return;
	}
	if (rc == 0)
		return;	/* no policy: none */
	auth_dmarc_eval(e, rec, out->from_domain, where, spf, dkim, rnd, a, out);
}

void
auth_dmarc_eval(const struct auth_engine *e, const char *rec, const char *from, const char *where,
		const struct auth_spf *spf,
		const struct dkim_verify_result *dkim, unsigned rnd, struct mavis_arena *a,
		struct auth_dmarc *out)
{
	DMARC_POLICY_T *pctx;
	int rc, p = 0, sp = 0, pct = 100, adkim = 0, aspf = 0;

	out->result = AUTH_DMARC_NONE;
	out->from_domain = from;
	out->policy_domain = where;
	pctx = opendmarc_policy_connect_init((u_char *)"0.0.0.0", 0);
	if (pctx == NULL) {
		out->result = AUTH_DMARC_TEMPERROR;
		out->reason = "out of memory";
		return;
	}
	/* the library wants a writable record and the From domain; the
	   organisational domain only when the record is the parent's (sp=) */
	rc = opendmarc_policy_store_dmarc(pctx, (u_char *)mavis_arena_strdup(a, rec),
					  (u_char *)mavis_arena_strdup(a, from),
					  strcmp(where, from) == 0 ? NULL
								    : (u_char *)mavis_arena_strdup(a, where));
	if (rc != DMARC_PARSE_OKAY) {
		out->result = AUTH_DMARC_PERMERROR;
		out->reason = mavis_arena_printf(a, "bad record: %s", opendmarc_policy_status_to_str(rc));
		opendmarc_policy_connect_shutdown(pctx);
		return;
	}
	opendmarc_policy_fetch_p(pctx, &p);
	opendmarc_policy_fetch_sp(pctx, &sp);
	opendmarc_policy_fetch_pct(pctx, &pct);
	opendmarc_policy_fetch_adkim(pctx, &adkim);
	opendmarc_policy_fetch_aspf(pctx, &aspf);
	opendmarc_policy_connect_shutdown(pctx);
	out->p = policy_char(p);
	out->sp = policy_char(sp);
	if (out->p == 0) {
		out->result = AUTH_DMARC_PERMERROR;
		out->reason = "record without p=";
		return;
	}
	out->pct = pct < 0 || pct > 100 ? 100 : pct;
	out->strict_dkim = adkim == DMARC_RECORD_A_STRICT;
	out->strict_spf = aspf == DMARC_RECORD_A_STRICT;

	for (size_t i = 0; dkim != NULL && i < dkim->n && !out->dkim_aligned; i++)
		if (dkim->sigs[i].result == DKIM_R_PASS &&
		    auth_aligned(e, dkim->sigs[i].domain, from, out->strict_dkim))
			out->dkim_aligned = true;
	/* RFC 7489 4.1: the MAIL FROM identity (the HELO one for the null sender) */
	if (spf != NULL && spf->mfrom == AUTH_SPF_PASS &&
	    auth_aligned(e, spf->mfrom_domain, from, out->strict_spf))
		out->spf_aligned = true;
	if (out->dkim_aligned || out->spf_aligned) {
		out->result = AUTH_DMARC_PASS;
		return;
	}
	out->result = AUTH_DMARC_FAIL;
	out->reason = "no aligned SPF or DKIM pass";
	/* sp= for a subdomain whose policy is its organisational domain's */
	out->policy = strcmp(where, from) != 0 && out->sp ? out->sp : out->p;
	if (out->policy != 'n' && rnd >= (unsigned)out->pct) {
		out->policy = milder(out->policy);
		out->sampled_out = true;
	}
}

static void
put_domain(struct mavis_buf *b, const char *d)
{
	for (const char *p = d; *p; p++)
		if (isalnum((unsigned char)*p) || *p == '-' || *p == '.' || *p == '_')
			mavis_buf_putc(b, *p);
}

void
auth_authres_append(struct mavis_buf *b, const struct auth_spf *spf, const struct auth_dmarc *dm)
{
	if (spf != NULL) {
		if (spf->helo_decided) {
			if (spf->helo_domain) {
				mavis_buf_printf(b, ";\n spf=%s smtp.helo=", auth_spf_result_name(spf->helo));
				put_domain(b, spf->helo_domain);
			}
		} else if (spf->mfrom_domain) {
			mavis_buf_printf(b, ";\n spf=%s smtp.mailfrom=", auth_spf_result_name(spf->mfrom));
			put_domain(b, spf->mfrom_domain);
		}
	}
	if (dm != NULL && dm->from_domain != NULL) {
		mavis_buf_printf(b, ";\n dmarc=%s", auth_dmarc_result_name(dm->result));
		if (dm->result == AUTH_DMARC_FAIL)
			mavis_buf_printf(b, " (p=%s%s%s)",
					 dm->policy == 'r' ? "reject" : dm->policy == 'q' ? "quarantine" : "none",
					 dm->policy_domain && strcmp(dm->policy_domain, dm->from_domain) != 0 && dm->sp
						 ? " sp"
						 : "",
					 dm->sampled_out ? " pct" : "");
		mavis_buf_puts(b, " header.from=");
		put_domain(b, dm->from_domain);
	}
}
