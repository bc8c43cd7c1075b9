/* SPDX-License-Identifier: GPL-2.0-or-later */
/* registry.c - the end-of-message checks and their order (amavisd's) */

#include "checks/check.h"

extern const struct mavis_check mavis_check_dkim, mavis_check_limits, mavis_check_decode, mavis_check_badh,
	mavis_check_virus, mavis_check_banned, mavis_check_spam;

const struct mavis_check *const mavis_checks[] = {
	&mavis_check_dkim,	/* the results first: the checks below may use them */
	&mavis_check_limits,	/* sizes and header bounds: no content needed */
	&mavis_check_decode,	/* parts for the checks below; MIME errors for badh */
	&mavis_check_badh,	/* header findings of EOH, plus the MIME error */
	&mavis_check_virus,
	&mavis_check_banned,
	&mavis_check_spam,	/* after the others: not for mail already blocked */
	NULL,
};

bool
mavis_check_wanted_any(const struct mavis_check *c, const struct mavis_check_ctx *cx)
{
	for (size_t i = 0; i < cx->nrcpts; i++)
		if (c->wanted(cx, &cx->rcpts[i]))
			return true;
	return false;
}
