/* SPDX-License-Identifier: GPL-2.0-or-later */
/* check_virus.c - virus scan of the raw message and every decoded part */

#include <stdio.h>

#include <mavis/log.h>

#include "checks/check.h"

static bool
virus_wanted(const struct mavis_check_ctx *cx, const struct mavis_rcpt *r)
{
	return cx->av_configured && !r->bypass_virus;
}

static int
virus_run(struct mavis_check_ctx *cx)
{
	const struct mavis_decoded *d = cx->decoded;
	struct mavis_av_result res;

	if (cx->av == NULL) {
		mavis_log_err(cx->log_id, "AV: ALL VIRUS SCANNERS FAILED: %s", cx->av_error);
		snprintf(cx->fail_text, sizeof(cx->fail_text), "virus scanners unavailable: %s",
			 cx->av_error ? cx->av_error : "?");
		return MAVIS_ERR_SCANNER;
	}
	size_t nparts = d ? d->nparts : 0, n = 0;
	struct mavis_av_buf *bufs = mavis_arena_calloc(cx->arena, nparts + 1, sizeof(*bufs));

	/* The parts decoded (all of them, or those before a decoding limit
	   stopped: a limit never switches scanning off), and the raw message
	   so that libclamav's own parsers see what ours may have missed. */
	for (size_t i = 0; i < nparts; i++) {
		const struct mavis_part *p = d->parts[i];

		if (p->scan && p->data != NULL && p->len > 0)
			bufs[n++] = (struct mavis_av_buf){ p->data, p->len,
							   mavis_arena_printf(cx->arena, "p%03u", p->id),
							   false };
	}
	/* When our decoder took all of it apart (no limit, nothing it could
	   not read), the raw message is a second look: a libclamav limit
	   there (60 nested multiparts pass MaxRecursion) is no reason to
	   call the whole scan failed. amavisd with Debian's settings gives
	   clamd the decoded parts only. */
	bool whole = d != NULL && d->hold == NULL && d->unchecked == 0;
	bufs[n++] = (struct mavis_av_buf){ cx->raw, cx->rawlen, "MAIL", whole };
	mavis_av_scan(cx->av, bufs, n, cx->arena, &res);
	for (size_t i = 0; i < res.n_log; i++)
		mavis_log(res.log[i].level, cx->log_id, "%s", res.log[i].text);
	if (res.status == MAVIS_AV_FAILED) {
		snprintf(cx->fail_text, sizeof(cx->fail_text), "virus scan: %s", res.text);
		return MAVIS_ERR_SCANNER;
	}
	cx->virus_scanned = true;
	const char *xtag = mavis_view_str(cx->view, MAVIS_KEY_X_HEADER_TAG);
	const char *xline = *xtag ? mavis_arena_printf(cx->arena, " %s",
						       mavis_view_str(cx->view, MAVIS_KEY_X_HEADER_LINE))
				  : NULL;
	struct mavis_finding f = { .major = MAVIS_CC_VIRUS };
	if (res.status == MAVIS_AV_INFECTED) {
		mavis_log_ll(2, cx->log_id, "virus_scan: (%s), detected by %s", res.text, res.scanners);
		f.reason = mavis_arena_printf(cx->arena, "INFECTED: %s", res.text);
		f.alert = mavis_arena_printf(cx->arena, "INFECTED, message contains virus: %s", res.text);
		f.log_text = mavis_arena_printf(cx->arena, "INFECTED (%s)", res.text);
	}
	for (size_t i = 0; i < cx->nrcpts; i++) {
		struct mavis_rcpt *r = &cx->rcpts[i];

		if (r->bypass_virus)
			continue;
		if (f.reason != NULL)
			mavis_rcpt_add_finding(r, &f);
		if (xline != NULL)
			mavis_rcpt_add_header(r, cx->arena, xtag, xline);
	}
	return 0;
}

const struct mavis_check mavis_check_virus = {
	.name = "virus",
	.wanted = virus_wanted,
	.run = virus_run,
	.failed_alert = "UNCHECKED, virus scanning failed, message not scanned",
	.needs_body = true,
	.needs_parts = true,
};
