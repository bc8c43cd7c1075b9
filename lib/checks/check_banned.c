/* SPDX-License-Identifier: GPL-2.0-or-later */
/* check_banned.c - banned parts per recipient, by each one's rule sets */

#include <stdio.h>
#include <string.h>

#include <mavis/log.h>

#include "checks/check.h"

static bool
banned_wanted(const struct mavis_check_ctx *cx, const struct mavis_rcpt *r)
{
	return cx->banned != NULL && !r->bypass_banned;
}

/* Each recipient's rule sets (banned_filename_maps); recipients in a row
   with the same sets share one check. */
static int
banned_run(struct mavis_check_ctx *cx)
{
	const char *last_sets = NULL;
	const struct mavis_finding *last = NULL;
	struct mavis_error err = { 0 };

	if (cx->decoded == NULL)
		return 0;
	for (size_t i = 0; i < cx->nrcpts; i++) {
		struct mavis_rcpt *r = &cx->rcpts[i];
		const char *sets = r->banned_rulesets ? r->banned_rulesets : "DEFAULT";
		struct mavis_banned_result res;

		if (!banned_wanted(cx, r))
			continue;
		if (last_sets == NULL || strcmp(sets, last_sets) != 0) {
			if (mavis_banned_check(cx->banned, sets, cx->decoded, cx->arena, &res, &err) < 0) {
				snprintf(cx->fail_text, sizeof(cx->fail_text), "banned check failed: %s",
					 err.text);
				return err.status;
			}
			if (res.unknown_set)
				mavis_log_info(cx->log_id, "banned_filename_maps names an unknown rule set %s",
					       res.unknown_set);
			last_sets = sets;
			last = NULL;
			if (res.banned) {
				struct mavis_finding *f = mavis_arena_calloc(cx->arena, 1, sizeof(*f));

				f->major = MAVIS_CC_BANNED;
				f->reason = mavis_arena_printf(cx->arena, "BANNED: %s", res.reason);
				f->alert = mavis_arena_printf(cx->arena, "BANNED, message contains %s",
							      res.reason);
				last = f;
				mavis_log_ll(2, cx->log_id, "p.path BANNED:1 %s: \"%s\"", r->addr, res.path);
			}
		}
		if (last != NULL)
			mavis_rcpt_add_finding(r, last);
	}
	return 0;
}

const struct mavis_check mavis_check_banned = {
	.name = "banned",
	.wanted = banned_wanted,
	.run = banned_run,
	.needs_body = true,
	.needs_parts = true,
};
