/* SPDX-License-Identifier: GPL-2.0-or-later */
/* check_dkim.c - DKIM, SPF and DMARC results at end of message: the log, Authentication-Results */

#include <stdio.h>
#include <stdlib.h>
#include <mavis/buf.h>
#include <mavis/sa.h>
#include <string.h>
#include <strings.h>

#include <mavis/dkim.h>
#include <mavis/headers.h>
#include <mavis/log.h>
#include <mavis/text.h>

#include "auth/auth_int.h"
#include "checks/check.h"
#include "dkim/dkim_int.h"

/* DMARC for this message: configured, and not our own users' mail */
static bool
dmarc_on(const struct mavis_check_ctx *cx)
{
	return cx->auth != NULL && mavis_view_bool(cx->view, MAVIS_KEY_ENABLE_DMARC) &&
	       !mavis_view_originating(cx->view);
}

static bool
dkim_wanted(const struct mavis_check_ctx *cx, const struct mavis_rcpt *r)
{
	(void)r;
	return cx->dkim_verify != NULL || cx->spf != NULL || dmarc_on(cx);
}

/* Queue the deletion of every arriving Authentication-Results field that
   claims to be ours (or has no authserv-id at all: amavisd deletes those
   too), highest occurrence first so that the indices stay right. */
static void
delete_forged(struct mavis_check_ctx *cx, struct mavis_rcpt *r, const char *servid)
{
	size_t n = mavis_headers_count_name(cx->headers, "Authentication-Results");

	for (size_t occ = n; occ >= 1; occ--) {
		size_t idx;
		char id[256];

		if (mavis_headers_find(cx->headers, "Authentication-Results", occ, &idx) < 0)
			continue;
		const struct mavis_header_field *f = mavis_headers_nth(cx->headers, idx);
		if (mavis_authres_servid(f->value, f->valuelen, id, sizeof(id)) == 0 &&
		    strcasecmp(id, servid) != 0)
			continue;
		mavis_rcpt_delete_header(r, cx->arena, "Authentication-Results", (int)occ);
	}
}

/* A valid signature strong enough for banks and reputation (amavisd's
   $dkim_minimum_key_bits; Ed25519 keys read as 0 bits in libopendkim). */
static bool
trusted(const struct mavis_check_ctx *cx, const struct dkim_sig_result *s)
{
	if (s->result != DKIM_R_PASS || s->domain == NULL)
		return false;
	if (s->alg && strcmp(s->alg, "ed25519-sha256") == 0)
		return true;
	return s->bits >= (unsigned)mavis_view_int(cx->view, MAVIS_KEY_DKIM_MINIMUM_KEY_BITS);
}

/* Does the signing domain d cover the author's domain ad (the same or a
   parent)? */
static bool
author_domain(const char *ad, const char *d)
{
	size_t al = strlen(ad), dl = strlen(d);

	return strcasecmp(ad, d) == 0 ||
	       (al > dl && ad[al - dl - 1] == '.' && strcasecmp(ad + al - dl, d) == 0);
}

/* author_to_policy_bank_maps and signer_reputation_maps. A lookup failure
   is the check's failure (the mail is not judged on half its settings). */
static int
apply_signers(struct mavis_check_ctx *cx, const struct dkim_verify_result *res)
{
	struct mavis_error err = { 0 };
	struct mavis_address *al = NULL;
	size_t na = 0;

	mavis_headers_addresses(cx->headers, "From", cx->arena, &al, &na);
	for (size_t i = 0; i < res->n; i++) {
		const struct dkim_sig_result *s = &res->sigs[i];
		struct mavis_map_result mr;
		bool seen = false;
		int rc;

		if (!trusted(cx, s))
			continue;
		for (size_t j = 0; j < i; j++)
			if (trusted(cx, &res->sigs[j]) && strcasecmp(res->sigs[j].domain, s->domain) == 0)
				seen = true;
		const char *key = mavis_arena_printf(cx->arena, "@%s", s->domain);
		rc = seen ? 0 : mavis_view_lookup(cx->view, MAVIS_KEY_SIGNER_REPUTATION_MAPS, key,
						  cx->arena, &mr, &err);
		if (rc < 0)
			goto failed;
		if (rc > 0 && mr.value) {
			double score = strtod(mr.value, NULL);

			cx->dkim_boost += score;
			mavis_log_info(cx->log_id, "dkim: signer reputation of d=%s: %s",
				       mavis_text_clean(cx->arena, s->domain), mr.value);
		}
		for (size_t a = 0; a < na; a++) {
			const char *at = strrchr(al[a].addr, '@');

			if (at == NULL || !author_domain(at + 1, s->domain))
				continue;
			rc = mavis_view_lookup(cx->view, MAVIS_KEY_AUTHOR_TO_POLICY_BANK_MAPS, al[a].addr,
					       cx->arena, &mr, &err);
			if (rc < 0)
				goto failed;
			if (rc == 0 || mr.value == NULL)
				continue;
			/* one or more bank names, comma or space separated */
			char *names = mavis_arena_strdup(cx->arena, mr.value), *save = NULL;
			for (char *n = strtok_r(names, ", \t", &save); n; n = strtok_r(NULL, ", \t", &save))
				if (cx->bank_view && mavis_view_load_bank(cx->bank_view, n) == 1)
					mavis_log_info(cx->log_id,
						       "dkim: author signature by d=%s for <%s>: bank %s",
						       mavis_text_clean(cx->arena, s->domain),
						       mavis_text_clean(cx->arena, al[a].addr), n);
		}
	}
	return 0;
failed:
	snprintf(cx->fail_text, sizeof(cx->fail_text), "dkim signer maps: %s", err.text);
	return err.status;
}

/* The one From domain of the message: NULL when there is no From
   address; *several when the addresses have different domains. */
static const char *
from_domain(struct mavis_check_ctx *cx, bool *several)
{
	struct mavis_address *al = NULL;
	size_t na = 0;
	const char *d = NULL;

	*several = false;
	mavis_headers_addresses(cx->headers, "From", cx->arena, &al, &na);
	for (size_t i = 0; i < na; i++) {
		const char *at = strrchr(al[i].addr, '@');

		if (at == NULL || at[1] == '\0')
			continue;
		if (d != NULL && strcasecmp(d, at + 1) != 0)
			*several = true;
		d = at + 1;
	}
	return d;
}

/* SpamAssassin's network scores (set 1) of DMARC_REJECT, DMARC_QUAR and
   DMARC_NONE: the soft score of a failure under dmarc_reject_policy tag */
#define DMARC_SCORE_REJECT 1.797
#define DMARC_SCORE_QUARANTINE 1.198
#define DMARC_SCORE_NONE 0.898

static void
dmarc_run(struct mavis_check_ctx *cx, const struct dkim_verify_result *res)
{
	struct auth_dmarc *dm = mavis_arena_calloc(cx->arena, 1, sizeof(*dm));
	bool several;
	const char *fd = from_domain(cx, &several);
	long pol = mavis_view_get(cx->view, MAVIS_KEY_DMARC_REJECT_POLICY)->u.e;

	if (fd == NULL)
		return;	/* nothing to evaluate: no dmarc= result */
	if (several) {
		/* RFC 7489 6.6.1: no single Author Domain */
		dm->result = AUTH_DMARC_PERMERROR;
		dm->from_domain = mavis_arena_strdup(cx->arena, fd);
		dm->reason = "From addresses of several domains";
	} else {
		auth_dmarc_check(cx->auth, fd, cx->spf, res, arc4random_uniform(100), cx->arena, dm);
	}
	cx->dmarc = dm;
	mavis_log_info(cx->log_id, "dmarc: %s header.from=%s%s%s%s%s", auth_dmarc_result_name(dm->result),
		       mavis_text_clean(cx->arena, dm->from_domain ? dm->from_domain : "-"),
		       dm->result == AUTH_DMARC_FAIL ? ", policy " : "",
		       dm->result == AUTH_DMARC_FAIL ? (dm->policy == 'r'   ? "reject"
							: dm->policy == 'q' ? "quarantine"
									    : "none")
						     : "",
		       dm->reason ? ": " : "", dm->reason ? mavis_text_clean(cx->arena, dm->reason) : "");
	if (dm->result != AUTH_DMARC_FAIL || pol == MAVIS_DMARC_REJECT_POLICY_IGNORE)
		return;
	if (dm->policy == 'r' && pol == MAVIS_DMARC_REJECT_POLICY_HONOUR) {
		cx->dmarc_reject = true;
		return;
	}
	/* tag (and honour for quarantine and none: no quarantine of ours) */
	cx->dmarc_boost += dm->policy == 'r' ? DMARC_SCORE_REJECT
			   : dm->policy == 'q' ? DMARC_SCORE_QUARANTINE
					       : DMARC_SCORE_NONE;
}

static enum mavis_sa_spf
sa_spf(enum auth_spf_result r)
{
	switch (r) {
	case AUTH_SPF_PASS: return MAVIS_SA_SPF_PASS;
	case AUTH_SPF_FAIL: return MAVIS_SA_SPF_FAIL;
	case AUTH_SPF_SOFTFAIL: return MAVIS_SA_SPF_SOFTFAIL;
	case AUTH_SPF_NEUTRAL: return MAVIS_SA_SPF_NEUTRAL;
	case AUTH_SPF_TEMPERROR: return MAVIS_SA_SPF_TEMPERROR;
	case AUTH_SPF_PERMERROR: return MAVIS_SA_SPF_PERMERROR;
	default: return MAVIS_SA_SPF_NONE;
	}
}

/* The results for the native rules' DKIM, SPF and DMARC evals. */
static void
sa_auth_fill(struct mavis_check_ctx *cx, const struct dkim_verify_result *res)
{
	struct mavis_sa_auth *au = mavis_arena_calloc(cx->arena, 1, sizeof(*au));
	const char *at = cx->sender ? strrchr(cx->sender, '@') : NULL;

	au->envelope_from_domain = at && at[1] ? at + 1 : NULL;
	if (cx->dkim_verify != NULL) {
		struct mavis_sa_dkim_sig *v;

		au->dkim_checked = true;
		au->n_sigs = res ? res->n : 0;
		v = mavis_arena_calloc(cx->arena, au->n_sigs ? au->n_sigs : 1, sizeof(*v));
		for (size_t i = 0; i < au->n_sigs; i++) {
			const struct dkim_sig_result *s = &res->sigs[i];
			const char *ia = s->identity ? strrchr(s->identity, '@') : NULL;

			v[i].sdid = ia && ia[1] ? ia + 1 : s->domain;
			v[i].valid = trusted(cx, s);
		}
		au->sigs = v;
	}
	if (cx->spf != NULL) {
		au->spf_checked = true;
		au->spf = sa_spf(cx->spf->mfrom);
		au->spf_helo = sa_spf(cx->spf->helo);
	}
	if (cx->dmarc != NULL) {
		au->dmarc_checked = true;
		switch (cx->dmarc->result) {
		case AUTH_DMARC_NONE: au->dmarc = MAVIS_SA_DMARC_MISSING; break;
		case AUTH_DMARC_PASS: au->dmarc = MAVIS_SA_DMARC_PASS; break;
		case AUTH_DMARC_FAIL:
			au->dmarc = cx->dmarc->policy == 'r'   ? MAVIS_SA_DMARC_REJECT
				    : cx->dmarc->policy == 'q' ? MAVIS_SA_DMARC_QUARANTINE
							       : MAVIS_SA_DMARC_NONE;
			break;
		default: au->dmarc = MAVIS_SA_DMARC_ERROR; break;
		}
	}
	cx->sa_auth = au;
}

static int
dkim_run(struct mavis_check_ctx *cx)
{
	const struct dkim_verify_result *res = dkim_verify_finish(cx->dkim_verify);
	const char *servid = mavis_view_str(cx->view, MAVIS_KEY_MYAUTHSERVID);
	const char *ar;

	cx->dkim_result = res;
	for (size_t i = 0; res != NULL && i < res->n; i++) {
		const struct dkim_sig_result *s = &res->sigs[i];

		mavis_log_info(cx->log_id, "dkim: %s signature by d=%s, a=%s, s=%s, i=%s%s%s",
			       s->result == DKIM_R_PASS ? "VALID" : dkim_result_name(s->result),
			       mavis_text_clean(cx->arena, s->domain ? s->domain : "-"),
			       s->alg ? s->alg : "-",
			       mavis_text_clean(cx->arena, s->selector ? s->selector : "-"),
			       mavis_text_clean(cx->arena, s->identity ? s->identity : "-"),
			       s->reason && s->result != DKIM_R_PASS ? ": " : "",
			       s->reason && s->result != DKIM_R_PASS ? s->reason : "");
	}
	if (res != NULL && res->ignored)
		mavis_log_info(cx->log_id, "dkim: %zu signatures over dkim_max_signatures not verified",
			       res->ignored);
	if (res != NULL) {
		int rc = apply_signers(cx, res);

		if (rc < 0)
			return rc;
	}
	if (dmarc_on(cx))
		dmarc_run(cx, res);
	sa_auth_fill(cx, res);
	/* one field: the DKIM results, then SPF's and DMARC's */
	ar = dkim_authres_value(res, servid, cx->arena);
	if (cx->spf != NULL || (cx->dmarc != NULL && cx->dmarc->from_domain != NULL)) {
		struct mavis_buf b = { 0 };

		size_t start;

		if (ar != NULL)
			mavis_buf_puts(&b, ar);
		else
			mavis_buf_printf(&b, " %s (mavis)", servid);
		start = b.len;
		auth_authres_append(&b, cx->spf, cx->dmarc);
		/* nothing to say (the null sender without a HELO name): no field */
		if (ar != NULL || b.len > start)
			ar = mavis_arena_strdup(cx->arena, mavis_buf_str(&b));
		mavis_buf_free(&b);
	}
	if (ar == NULL)
		return 0;
	/* amavisd: for local recipients; the field goes on top */
	for (size_t i = 0; i < cx->nrcpts; i++) {
		struct mavis_rcpt *r = &cx->rcpts[i];

		if (!r->local)
			continue;
		delete_forged(cx, r, servid);
		mavis_rcpt_add_header(r, cx->arena, "Authentication-Results", ar);
	}
	return 0;
}

const struct mavis_check mavis_check_dkim = {
	.name = "dkim",
	.wanted = dkim_wanted,
	.run = dkim_run,
	.failed_alert = NULL,
};
