/* SPDX-License-Identifier: GPL-2.0-or-later */
/* reply.c - the one mapping from failure statuses to SMTP replies */

#include <string.h>

#include "decide.h"

struct mavis_verdict *
mavis_reply_for_failure(const struct mavis_view *view, int status, const char *log_id,
			const char *mail_id, struct mavis_arena *arena)
{
	struct mavis_verdict *v;
	enum mavis_key key;
	const char *what;
	int choice;

	switch (status) {
	case MAVIS_ERR_SCANNER:
		key = MAVIS_KEY_ON_SCANNER_FAILURE;
		what = "virus scanning failed";
		break;
	case MAVIS_ERR_SQL:
		key = MAVIS_KEY_ON_SQL_FAILURE;
		what = "database lookup failed";
		break;
	default:
		key = MAVIS_KEY_ON_INTERNAL_ERROR;
		what = "error in processing";
		break;
	}
	/* Choices are "tempfail|..." in every one of these keys: index 0 is
	   tempfail; the others are named. */
	choice = mavis_view_get(view, key)->u.e;
	const char *name = mavis_key_info(key)->choices;
	const char *chosen = "tempfail";
	for (int i = 0; name && i <= choice; i++) {
		const char *bar = strchr(name, '|');
		size_t n = bar ? (size_t)(bar - name) : strlen(name);

		if (i == choice)
			chosen = mavis_arena_strndup(arena, name, n);
		name = bar ? bar + 1 : NULL;
	}
	if (strcmp(chosen, "pass") == 0)
		return NULL;
	v = mavis_arena_alloc(arena, sizeof(*v));
	v->mail_id = mail_id ? mail_id : "";
	v->internal_error = true;
	/* The SMTP client gets a generic text; the log line has the cause. */
	if (strcmp(chosen, "reject") == 0) {
		v->action = MAVIS_ACTION_REJECT;
		v->rcode = "554";
		v->xcode = "5.7.0";
		v->text = mavis_arena_printf(arena, "Reject, id=%s - %s", log_id, what);
	} else {
		v->action = MAVIS_ACTION_TEMPFAIL;
		v->rcode = "451";
		v->xcode = "4.7.1";
		v->text = mavis_arena_printf(arena, "Temporary failure, id=%s - %s, try again later",
					     log_id, what);
	}
	v->reason = what;
	return v;
}
