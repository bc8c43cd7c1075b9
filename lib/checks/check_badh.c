/* SPDX-License-Identifier: GPL-2.0-or-later */
/* check_badh.c - the bad-header findings (the header checks ran at EOH) */

#include <mavis/log.h>

#include "checks/check.h"

static bool
badh_wanted(const struct mavis_check_ctx *cx, const struct mavis_rcpt *r)
{
	return !r->bypass_header && (cx->badh != NULL || cx->header_overflow);
}

static int
badh_run(struct mavis_check_ctx *cx)
{
	enum mavis_badh_minor minor = MAVIS_BADH_NONE;
	const char *text = NULL, *alert = NULL, *reason = NULL;

	if (cx->header_overflow) {
		/* A section past our own bounds has no amavisd minor of its own. */
		minor = MAVIS_BADH_LONG;
		text = "Header section over limits";
		reason = "BAD HEADER: Header section over limits";
	}
	if (cx->badh != NULL && mavis_badh_minor(cx->badh) > minor) {
		minor = mavis_badh_minor(cx->badh);
		text = mavis_badh_first(cx->badh);
		alert = mavis_badh_alert(cx->badh);
		reason = NULL;
	}
	if (text == NULL)
		return 0;
	if (cx->badh != NULL && alert != NULL)
		mavis_log_ll(2, cx->log_id, "bad header: %s", text);
	struct mavis_finding f = {
		.major = MAVIS_CC_BADH,
		.minor = (int)minor,
		.reason = reason ? reason : mavis_badh_reason(minor),
		.alert = alert ? alert : mavis_arena_printf(cx->arena, "BAD HEADER SECTION, %s", text),
	};
	struct mavis_finding f0 = f;
	f0.minor = 0;
	for (size_t i = 0; i < cx->nrcpts; i++) {
		if (!badh_wanted(cx, &cx->rcpts[i]))
			continue;
		mavis_rcpt_add_finding(&cx->rcpts[i], &f);
		mavis_rcpt_add_finding(&cx->rcpts[i], &f0);
	}
	return 0;
}

const struct mavis_check mavis_check_badh = {
	.name = "bad_header",
	.wanted = badh_wanted,
	.run = badh_run,
};
