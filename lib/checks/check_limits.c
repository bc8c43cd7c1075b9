/* SPDX-License-Identifier: GPL-2.0-or-later */
/* check_limits.c - sizes and header bounds: OVERSIZED, and UNCHECKED for what was not kept */

#include <mavis/log.h>

#include "checks/check.h"

static bool
limits_wanted(const struct mavis_check_ctx *cx, const struct mavis_rcpt *r)
{
	(void)r;
	(void)cx;
	return true;
}

static int
limits_run(struct mavis_check_ctx *cx)
{
	static const struct mavis_finding oversized = {
		.major = MAVIS_CC_OVERSIZED, .reason = "Message size exceeds recipient's size limit",
	};
	/* What was not looked at is never CLEAN. */
	static const struct mavis_finding over_limits = {
		.major = MAVIS_CC_UNCHECKED, .minor = MAVIS_UNCHECKED_OVER_LIMITS,
		.reason = "UNCHECKED: over limits",
	};
	static const struct mavis_finding unchecked = {
		.major = MAVIS_CC_UNCHECKED, .reason = "UNCHECKED",
	};
	/* The header section is the reason: say so in the alert, as the
	   bad-header finding beside it would. */
	static const struct mavis_finding header_over_limits = {
		.major = MAVIS_CC_UNCHECKED, .minor = MAVIS_UNCHECKED_OVER_LIMITS,
		.reason = "UNCHECKED: over limits",
		.alert = "BAD HEADER SECTION, Header section over limits",
	};

	for (size_t i = 0; i < cx->nrcpts; i++) {
		struct mavis_rcpt *r = &cx->rcpts[i];

		if (cx->oversized || cx->header_overflow) {
			mavis_rcpt_add_finding(r, cx->oversized ? &over_limits : &header_over_limits);
			mavis_rcpt_add_finding(r, &unchecked);
		}
		if (cx->oversized) {
			/* Over message_size_limit: the body was not kept, the
			   content checks do not run on a prefix. */
			mavis_rcpt_add_finding(r, &oversized);
		} else if (r->has_size_limit && cx->size > r->size_limit) {
			mavis_log_info(cx->log_id, "OVERSIZED from <%s> to <%s>: size %llu B, limit %llu B",
				       cx->sender, r->addr, (unsigned long long)cx->size,
				       (unsigned long long)r->size_limit);
			mavis_rcpt_add_finding(r, &oversized);
		}
	}
	return 0;
}

const struct mavis_check mavis_check_limits = {
	.name = "limits",
	.wanted = limits_wanted,
	.run = limits_run,
};
