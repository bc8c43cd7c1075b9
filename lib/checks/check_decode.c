/* SPDX-License-Identifier: GPL-2.0-or-later */
/* check_decode.c - decode the message into parts for the checks that read them */

#include <stdio.h>

#include <mavis/log.h>
#include <mavis/stats.h>

#include "checks/check.h"

/* Decoding serves the checks that read parts: wanted where one of them is. */
static bool
decode_wanted(const struct mavis_check_ctx *cx, const struct mavis_rcpt *r)
{
	for (size_t i = 0; mavis_checks[i] != NULL; i++)
		if (mavis_checks[i]->needs_parts && mavis_checks[i]->wanted(cx, r))
			return true;
	return false;
}

static void
decode_limits(const struct mavis_view *v, struct mavis_decode_limits *lim)
{
	mavis_decode_limits_default(lim);
	lim->max_levels = (unsigned)mavis_view_int(v, MAVIS_KEY_MAX_LEVELS);
	lim->max_files = (unsigned)mavis_view_int(v, MAVIS_KEY_MAX_FILES);
	lim->min_expansion_quota = (uint64_t)mavis_view_int(v, MAVIS_KEY_MIN_EXPANSION_QUOTA);
	lim->max_expansion_quota = (uint64_t)mavis_view_int(v, MAVIS_KEY_MAX_EXPANSION_QUOTA);
	lim->min_expansion_factor = (unsigned)mavis_view_int(v, MAVIS_KEY_MIN_EXPANSION_FACTOR);
	lim->max_expansion_factor = (unsigned)mavis_view_int(v, MAVIS_KEY_MAX_EXPANSION_FACTOR);
	lim->memory_limit = (uint64_t)mavis_view_int(v, MAVIS_KEY_DECODE_MEMORY_LIMIT);
}

static const char *
unchecked_reason(int minor)
{
	switch (minor) {
	case MAVIS_UNCHECKED_ENCRYPTED: return "UNCHECKED: encrypted";
	case MAVIS_UNCHECKED_OVER_LIMITS: return "UNCHECKED: over limits";
	case MAVIS_UNCHECKED_AMBIGUOUS: return "UNCHECKED: ambiguous content";
	}
	return "UNCHECKED";
}

static int
decode_run(struct mavis_check_ctx *cx)
{
	struct mavis_decode_limits lim;
	struct mavis_error err = { 0 };
	struct mavis_decoded *d;

	decode_limits(cx->view, &lim);
	lim.filetypes = cx->filetypes;
	if (mavis_decode_message(cx->raw, cx->rawlen, &lim, cx->arena, &d, &err) < 0) {
		snprintf(cx->fail_text, sizeof(cx->fail_text), "decoding failed: %s", err.text);
		return err.status;
	}
	cx->decoded = d;
	if (d->hold)
		mavis_log_notice(cx->log_id, "NOTICE: HOLD reason: %s", d->hold);
	if (d->mime_error && cx->badh != NULL)
		mavis_badh_add_mime_error(cx->badh, cx->badh_allowed, d->mime_error);
	if (d->unchecked_minor < 0)
		return 0;
	if (d->unchecked_minor == MAVIS_UNCHECKED_OVER_LIMITS)
		mavis_stats_count(MAVIS_STATS_DECODE_LIMIT);
	struct mavis_finding f = { .major = MAVIS_CC_UNCHECKED, .minor = d->unchecked_minor,
				   .reason = unchecked_reason(d->unchecked_minor) };
	struct mavis_finding f0 = { .major = MAVIS_CC_UNCHECKED, .reason = "UNCHECKED" };
	for (size_t i = 0; i < cx->nrcpts; i++) {
		/* Ambiguous content is for everyone; the other minors are
		   virus-check concerns, skipped for bypass_virus (amavisd). */
		if (d->unchecked_minor != MAVIS_UNCHECKED_AMBIGUOUS && cx->rcpts[i].bypass_virus)
			continue;
		mavis_rcpt_add_finding(&cx->rcpts[i], &f);
		mavis_rcpt_add_finding(&cx->rcpts[i], &f0);
	}
	return 0;
}

const struct mavis_check mavis_check_decode = {
	.name = "mime_decode",
	.wanted = decode_wanted,
	.run = decode_run,
	.needs_body = true,
};
