/* SPDX-License-Identifier: GPL-2.0-or-later */
/* check_dkim.c - DKIM results at end of message: the log, Authentication-Results */

#include <string.h>
#include <strings.h>

#include <mavis/dkim.h>
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
