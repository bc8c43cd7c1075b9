/* SPDX-License-Identifier: GPL-2.0-or-later */
/* decide.h - from the recipients' findings to the verdict (libmavis internal) */
#ifndef MAVIS_DECIDE_H
#define MAVIS_DECIDE_H

#include <mavis/arena.h>
#include <mavis/config.h>
#include <mavis/spam.h>
#include <mavis/verdict.h>

#include "verdict/rcpt.h"

/* What the verdict needs to know of the message besides the findings. */
struct decide_msg {
	const struct mavis_view *view;
	const char *log_id;		/* %n in reply texts */
	const char *mail_id;
	const char *sender;		/* "" = null sender */
	bool bulk;			/* list/bulk/auto mail (BADH bounce rule) */
	bool non_smtpd;			/* pickup/sendmail: non_smtpd_reject_action */
	bool virus_scanned;		/* a virus scan gave a status */
	bool has_subject;		/* message has a Subject field */
	const char *subject;		/* its value (leading space kept), or NULL */
	bool headers_partial;		/* fields past the parsed list: a Subject may
					   be among them, so none is added */
	const struct mavis_spam_result *spam;	/* the spam scan, or NULL */
};

/* Build the verdict and point every r[i].verdict at its part of it. Per
   recipient: its findings (CLEAN implied), the amavisd blocking loop (most
   important ccat first, PASS or a lover continues, the first other destiny
   blocks), the reply; then one answer for all (milter: all block ->
   reject/discard/tempfail, some -> delete those recipients), the
   non-SMTP reject action, the deliveries (passed recipients grouped by
   their header edits) and the edits applied in place. Memory from arena.
   Never fails, never NULL. */
struct mavis_verdict *mavis_decide(const struct decide_msg *m, struct mavis_rcpt *r,
				   size_t nrcpts, struct mavis_arena *arena);

/* True when a finding of r so far blocks its mail (amavisd skips the spam
   check for such recipients): the blocking loop without the bad-header
   bounce exemption, which needs the whole message. */
bool mavis_rcpt_blocked_now(const struct mavis_view *view, const struct mavis_rcpt *r);

/* Append an edit to the in-place list of v (arena memory); header values
   go through mavis_text_header_value. */
void mavis_verdict_add_edit(struct mavis_verdict *v, struct mavis_arena *arena,
			    const struct mavis_edit *e);

/* What a failure of a given status does, by config: on_internal_error
   (MAVIS_ERR_INTERNAL, _IO, _LIMIT, _PARSE, _NOMEM, ...), on_scanner_failure
   (MAVIS_ERR_SCANNER), on_sql_failure (MAVIS_ERR_SQL). */
enum mavis_fail_policy { MAVIS_FAIL_TEMPFAIL, MAVIS_FAIL_REJECT, MAVIS_FAIL_PASS };
enum mavis_fail_policy mavis_fail_policy(const struct mavis_view *view, int status);

/* The reason word of a failure status for replies, logs and the alert:
   "virus scanning failed", "database lookup failed", "error in processing". */
const char *mavis_fail_what(int status);

/* The verdict of a failure whose policy is tempfail (451 4.7.1) or reject
   (554 5.7.0): the client gets a generic text, the log line the cause.
   policy must not be MAVIS_FAIL_PASS (the caller marks the recipients
   UNCHECKED and decides instead). Never NULL. */
struct mavis_verdict *mavis_verdict_failure(enum mavis_fail_policy policy, int status,
					    const char *log_id, const char *mail_id,
					    struct mavis_rcpt *r, size_t nrcpts,
					    struct mavis_arena *arena);

#endif
