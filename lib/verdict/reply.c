/* SPDX-License-Identifier: GPL-2.0-or-later */
/* reply.c - the one mapping from failure statuses to policies and replies */

#include <mavis/error.h>

#include "decide.h"

enum mavis_fail_policy
mavis_fail_policy(const struct mavis_view *view, int status)
{
	switch (status) {
	case MAVIS_ERR_RESOURCE:
		/* Out of a shared budget: passing would let load switch the
		   checks off, rejecting would bounce good mail. */
		return MAVIS_FAIL_TEMPFAIL;
	case MAVIS_ERR_SCANNER:
		return mavis_view_get(view, MAVIS_KEY_ON_SCANNER_FAILURE)->u.e ==
			       MAVIS_ON_SCANNER_FAILURE_PASS
		       ? MAVIS_FAIL_PASS : MAVIS_FAIL_TEMPFAIL;
	case MAVIS_ERR_SQL:
		return mavis_view_get(view, MAVIS_KEY_ON_SQL_FAILURE)->u.e == MAVIS_ON_SQL_FAILURE_PASS
		       ? MAVIS_FAIL_PASS : MAVIS_FAIL_TEMPFAIL;
	}
	switch (mavis_view_get(view, MAVIS_KEY_ON_INTERNAL_ERROR)->u.e) {
	case MAVIS_ON_INTERNAL_ERROR_PASS: return MAVIS_FAIL_PASS;
	case MAVIS_ON_INTERNAL_ERROR_REJECT: return MAVIS_FAIL_REJECT;
	}
	return MAVIS_FAIL_TEMPFAIL;
}

const char *
mavis_fail_what(int status)
{
	switch (status) {
	case MAVIS_ERR_SCANNER: return "virus scanning failed";
	case MAVIS_ERR_SQL: return "database lookup failed";
	}
	return "error in processing";
}

struct mavis_verdict *
mavis_verdict_failure(enum mavis_fail_policy policy, int status, const char *log_id,
		      const char *mail_id, struct mavis_rcpt *r, size_t nrcpts,
		      struct mavis_arena *a)
{
	struct mavis_verdict *v = mavis_arena_calloc(a, 1, sizeof(*v));
	const char *what = mavis_fail_what(status);

	v->mail_id = mail_id ? mail_id : "";
	v->internal_error = true;
	/* The SMTP client gets a generic text; the log line has the cause. */
	if (policy == MAVIS_FAIL_REJECT) {
		v->action = MAVIS_ACTION_REJECT;
		v->rcode = "554";
		v->xcode = "5.7.0";
		v->text = mavis_arena_printf(a, "Reject, id=%s - %s", log_id, what);
	} else {
		v->action = MAVIS_ACTION_TEMPFAIL;
		v->rcode = "451";
		v->xcode = "4.7.1";
		v->text = mavis_arena_printf(a, "Temporary failure, id=%s - %s, try again later",
					     log_id, what);
	}
	v->reason = what;
	/* Every recipient shares the message's answer. */
	v->nrcpts = nrcpts;
	v->rcpts = mavis_arena_calloc(a, nrcpts ? nrcpts : 1, sizeof(*v->rcpts));
	for (size_t i = 0; i < nrcpts; i++) {
		struct mavis_rcpt_verdict *rv = &v->rcpts[i];

		rv->address = r[i].addr;
		rv->local = r[i].local;
		rv->ccat = (struct mavis_ccat_pair){ MAVIS_CC_UNCHECKED, 0 };
		rv->blocking = rv->ccat;
		rv->destiny = policy == MAVIS_FAIL_REJECT ? MAVIS_D_REJECT : MAVIS_D_TEMPFAIL;
		rv->reply = (struct mavis_reply){ v->rcode, v->xcode, v->text };
		rv->delivery = -1;
		r[i].verdict = rv;
	}
	return v;
}

void
mavis_reply_format(const struct mavis_reply *r, struct mavis_buf *out)
{
	if (r->rcode != NULL)
		mavis_buf_printf(out, "%s %s %s", r->rcode, r->xcode, r->text);
}
