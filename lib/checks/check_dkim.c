/* SPDX-License-Identifier: GPL-2.0-or-later */
/* check_dkim.c - DKIM results at end of message: the log, Authentication-Results */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mavis/dkim.h>
#include <mavis/headers.h>
#include <mavis/log.h>
#include <mavis/text.h>

#include "checks/check.h"
#include "dkim/dkim_int.h"

static bool
dkim_wanted(const struct mavis_check_ctx *cx, const struct mavis_rcpt *r)
{
	(void)r;
	return cx->dkim_verify != NULL;
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

static int
dkim_run(struct mavis_check_ctx *cx)
{
	const struct dkim_verify_result *res = dkim_verify_finish(cx->dkim_verify);
	const char *servid = mavis_view_str(cx->view, MAVIS_KEY_MYAUTHSERVID);
	const char *ar;

	cx->dkim_result = res;
	if (res == NULL)
		return 0;
	for (size_t i = 0; i < res->n; i++) {
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
	if (res->ignored)
		mavis_log_info(cx->log_id, "dkim: %zu signatures over dkim_max_signatures not verified",
			       res->ignored);
	int rc = apply_signers(cx, res);
	if (rc < 0)
		return rc;
	ar = dkim_authres_value(res, servid, cx->arena);
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
