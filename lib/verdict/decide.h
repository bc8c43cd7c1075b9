/* SPDX-License-Identifier: GPL-2.0-or-later */
/* decide.h - from check results to a verdict (libmavis internal) */
#ifndef MAVIS_DECIDE_H
#define MAVIS_DECIDE_H

#include <mavis/arena.h>
#include <mavis/config.h>
#include <mavis/verdict.h>

/* What the checks found for one recipient, plus its resolved settings. */
struct decide_rcpt {
	const char *addr;
	bool local;
	bool lover[MAVIS_CC_COUNT];	/* virus, banned, unchecked, spam(my), badh lovers */
	bool bypass_virus, bypass_banned, bypass_header, bypass_spam;
	bool oversized;			/* over its message_size_limit_maps */
	const char *banned_reason;	/* %F for this recipient's rule sets, or NULL */
};

/* What the checks found for the message. */
struct decide_msg {
	const struct mavis_view *view;
	const char *log_id;		/* %n in reply texts */
	const char *mail_id;
	const char *sender;		/* "" = null sender */
	bool bulk;			/* list/bulk/auto mail (BADH bounce rule) */
	bool av_ran;			/* a virus scan gave a status */
	const char *virus_names;	/* NULL = not infected */
	int unchecked_minor;		/* -1 = none */
	int badh_minor;			/* -1 = none */
	const char *badh_text;		/* first bad-header finding */
	const char *badh_alert;		/* X-Mavis-Alert text (one line), or NULL */
	const char *badh_reason;	/* reply reason overriding the minor's, or NULL */
	bool has_subject;		/* message has a Subject field */
	const char *subject;		/* its value (leading space kept), or NULL */
	bool oversized_all;		/* over message_size_limit: OVERSIZED for all */
};

/* Build the verdict. Per recipient: the ccat list, the amavisd blocking loop
   (first blocking ccat wins, lovers pass), the reply; then one reply for all
   (milter: all block -> reject/discard/tempfail, some -> delrcpt) and the
   header edits. Memory from arena. Never fails. */
struct mavis_verdict *mavis_decide(const struct decide_msg *m, const struct decide_rcpt *r,
				   size_t nrcpts, struct mavis_arena *arena);

/* Append one edit to v (arena memory). */
void mavis_verdict_add_edit(struct mavis_verdict *v, struct mavis_arena *arena,
			    const struct mavis_edit *e);

/* The one function that maps a failure status to a verdict, by config:
   on_internal_error (MAVIS_ERR_INTERNAL, _IO, _LIMIT, _PARSE),
   on_scanner_failure (MAVIS_ERR_SCANNER), on_sql_failure (MAVIS_ERR_SQL).
   tempfail -> 451 4.7.1, reject -> 554 5.7.0 (internal), pass -> NULL (the
   caller continues as if the step had not failed, marked UNCHECKED). */
struct mavis_verdict *mavis_reply_for_failure(const struct mavis_view *view, int status,
					      const char *log_id, const char *mail_id,
					      struct mavis_arena *arena);

#endif
