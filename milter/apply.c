/* SPDX-License-Identifier: GPL-2.0-or-later */
/* apply.c - carry out a verdict with smfi_* calls at end of message */

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <mavis/config.h>
#include <mavis/log.h>

#include "mavisd.h"

#define UNCONST(s) ((char *)(uintptr_t)(s))

int
mavisd_setreply(SMFICTX *ctx, const char *rcode, const char *xcode, const char *text)
{
	char buf[1024];
	size_t o = 0;

	/* libmilter treats '%' as a format character in reply text. */
	for (const char *p = text ? text : ""; *p && o + 2 < sizeof(buf); p++) {
		if (*p == '%')
			buf[o++] = '%';
		buf[o++] = (*p == '\r' || *p == '\n') ? ' ' : *p;
	}
	buf[o] = '\0';
	return smfi_setreply(ctx, UNCONST(rcode), UNCONST(xcode), buf);
}

static int
apply_edit(SMFICTX *ctx, const struct mavis_edit *e, bool leadspc)
{
	char rcpt[1100];
	const char *value = e->value;

	/* Verdict values carry the space after the colon; without HDR_LEADSPC
	   the MTA adds its own. */
	if (!leadspc && value != NULL && *value == ' ')
		value++;

	switch (e->op) {
	case MAVIS_EDIT_ADD_HEADER:
		return smfi_addheader(ctx, UNCONST(e->name), UNCONST(value));
	case MAVIS_EDIT_INSERT_HEADER:
		return smfi_insheader(ctx, e->index < 0 ? 0 : e->index, UNCONST(e->name),
				      UNCONST(value));
	case MAVIS_EDIT_CHANGE_HEADER:
		return smfi_chgheader(ctx, UNCONST(e->name), e->index, UNCONST(value));
	case MAVIS_EDIT_DELETE_HEADER:
		return smfi_chgheader(ctx, UNCONST(e->name), e->index, NULL);
	case MAVIS_EDIT_DELETE_RCPT:
		snprintf(rcpt, sizeof(rcpt), "<%s>", e->rcpt);
		return smfi_delrcpt(ctx, rcpt);
	case MAVIS_EDIT_ADD_RCPT:
		snprintf(rcpt, sizeof(rcpt), "<%s>", e->rcpt);
		return smfi_addrcpt(ctx, rcpt);
	case MAVIS_EDIT_QUARANTINE:
		return MI_SUCCESS;	/* our own quarantine; nothing for the MTA */
	}
	return MI_FAILURE;
}

sfsistat
mavisd_apply_verdict(SMFICTX *ctx, const struct mavis_verdict *v, bool leadspc,
		     const char *log_id)
{
	switch (v->action) {
	case MAVIS_ACTION_REJECT:
		mavisd_setreply(ctx, v->rcode, v->xcode, v->text);
		return SMFIS_REJECT;
	case MAVIS_ACTION_TEMPFAIL:
		mavisd_setreply(ctx, v->rcode, v->xcode, v->text);
		return SMFIS_TEMPFAIL;
	case MAVIS_ACTION_DISCARD:
		return SMFIS_DISCARD;
	case MAVIS_ACTION_HOLD:
		if (smfi_quarantine(ctx, UNCONST(v->text)) == MI_SUCCESS) {
			mavis_log_notice(log_id, "non-SMTP mail put on hold: %s", v->text);
			return SMFIS_ACCEPT;
		}
		mavis_log_err(log_id, "cannot put non-SMTP mail on hold; tempfail");
		mavisd_setreply(ctx, "451", "4.7.1", "Service temporarily unavailable, try again later");
		return SMFIS_TEMPFAIL;
	case MAVIS_ACTION_ACCEPT:
		break;
	}
	for (size_t i = 0; i < v->nedits; i++) {
		if (apply_edit(ctx, &v->edits[i], leadspc) != MI_SUCCESS) {
			/* A half-applied verdict must not be delivered. */
			mavis_log_err(log_id, "MTA refused edit %s %s: tempfail",
				      mavis_edit_op_name(v->edits[i].op),
				      v->edits[i].name ? v->edits[i].name : v->edits[i].rcpt);
			mavisd_setreply(ctx, "451", "4.7.1", "Service temporarily unavailable, try again later");
			return SMFIS_TEMPFAIL;
		}
	}
	return SMFIS_CONTINUE;
}
