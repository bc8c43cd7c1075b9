/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pipeline.c - end of message: run the registered checks in order, decide, quarantine */

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <mavis/log.h>
#include <mavis/text.h>

#include "pipeline_int.h"

/* Stages timed per message: every check, plus quarantine. */
#define STAGES_MAX 16

/* amavisd collect_some_info: list, bulk and auto mail (used by the bad-header
   bounce rule). */
static bool
is_bulk(const struct msg *m)
{
	static const char *const list_fields[] = { "List-Id", "List-Post", "List-Unsubscribe",
						   "Mailing-List", NULL };
	const char *h;

	for (int i = 0; list_fields[i]; i++)
		if (msg_header_value(m, list_fields[i], 1))
			return true;
	h = msg_header_value(m, "Precedence", 1);
	if (h && (strcasestr(h, "list") || strcasestr(h, "bulk") || strcasestr(h, "junk") ||
		  strcasestr(h, "auto_reply")))
		return true;
	h = msg_header_value(m, "Auto-Submitted", 1);
	if (h && !strcasestr(h, "no"))
		return true;
	return m->sender[0] == '\0';
}

static unsigned long
usec_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (unsigned long)((now.tv_sec - t0->tv_sec) * 1000000L +
			       (now.tv_nsec - t0->tv_nsec) / 1000);
}

/* A failure whose policy is pass: every recipient concerned is UNCHECKED,
   with the alert that says why (the one mark that reaches non-local
   recipients too; the subject tag is for local ones). */
static void
mark_unchecked(struct mavis_check_ctx *cx, const struct mavis_check *c, const char *alert)
{
	struct mavis_finding f = { .major = MAVIS_CC_UNCHECKED, .reason = "UNCHECKED", .alert = alert };

	for (size_t i = 0; i < cx->nrcpts; i++)
		if (c == NULL || c->wanted(cx, &cx->rcpts[i]))
			mavis_rcpt_add_finding(&cx->rcpts[i], &f);
}

/* dmarc_reject_policy = honour and a p=reject failure: the message is
   refused as opendmarc refuses it (mail we would have passed; a verdict
   that blocks for its content stays as it is). Never for non-SMTP mail,
   which cannot be refused; soft_bounce makes it a 450. */
static void
dmarc_reject(struct mavis_session *s, struct msg *m, struct mavis_verdict *v,
	     const struct mavis_check_ctx *cx)
{
	const char *dom = cx->dmarc && cx->dmarc->from_domain ? cx->dmarc->from_domain : "";
	bool soft = mavis_view_bool(s->view, MAVIS_KEY_SOFT_BOUNCE);

	if (v->action != MAVIS_ACTION_ACCEPT || s->non_smtpd)
		return;
	v->action = soft ? MAVIS_ACTION_TEMPFAIL : MAVIS_ACTION_REJECT;
	v->rcode = soft ? "450" : "550";
	v->xcode = soft ? "4.7.1" : "5.7.1";
	v->text = mavis_arena_printf(m->arena, "rejected by DMARC policy for %s",
				     mavis_text_clean(m->arena, dom));
	v->reason = "DMARC-REJECT";
	for (size_t i = 0; i < v->nrcpts; i++) {
		struct mavis_rcpt_verdict *rv = &v->rcpts[i];

		rv->destiny = soft ? MAVIS_D_TEMPFAIL : MAVIS_D_REJECT;
		rv->reply = (struct mavis_reply){ v->rcode, v->xcode, v->text };
		rv->delivery = -1;
	}
	v->ndeliveries = 0;
	v->nedits = 0;
	mavis_log_info(mavis_session_log_id(s), "dmarc: p=reject failure of %s: %s %s %s",
		       mavis_text_clean(m->arena, dom), v->rcode, v->xcode, v->text);
}

struct mavis_verdict *
msg_run_checks(struct mavis_session *s, struct msg *m)
{
	const char *lid = mavis_session_log_id(s);
	struct mavis_stage_time *timing = mavis_arena_calloc(m->arena, STAGES_MAX, sizeof(*timing));
	size_t ntiming = 0;
	struct mavis_error err = { 0 };
	struct mavis_check_ctx cx = {
		.view = s->view,
		.log_id = lid,
		.arena = m->arena,
		.raw = "",
		.size = m->size + m->header_bytes,
		.sender = m->sender,
		.headers = m->headers,
		.badh = m->badh,
		.badh_allowed = m->badh_allowed,
		.header_overflow = m->header_overflow,
		.oversized = m->oversized,
		.rcpts = m->rcpts,
		.nrcpts = m->nrcpts,
		.av = s->st->av,
		.av_error = s->st->av_error,
		.av_configured =
			mavis_config_get(s->st->cfg, MAVIS_KEY_AV_SCANNERS)->u.list.n > 0 ||
			mavis_config_get(s->st->cfg, MAVIS_KEY_AV_SCANNERS_BACKUP)->u.list.n > 0,
		.banned = s->st->banned,
		.spam = s->st->spam,
		.client_addr = s->client_addr,
		.client_name = s->client_name,
		.helo = s->helo,
		.queue_id = s->queue_id[0] ? s->queue_id : NULL,
		.auth_user = m->auth_user,
		.mail_id = m->mail_id,
		.filetypes = s->st->filetypes,
		.dkim_verify = m->dkim,
		.spf = m->spf,
		.auth = s->st->auth,
		.bank_view = s->view,
	};
	int status = m->fail_status;

	if (status == 0 && mavis_spool_view(m->spool, &cx.raw, &cx.rawlen, &err) < 0) {
		msg_fail(s, m, err.status, "spool: %s", err.text);
		status = err.status;
	}
	if (status != 0) {
		/* Receiving the message failed: nothing can be checked. */
		enum mavis_fail_policy pol = mavis_fail_policy(s->view, status);

		if (pol != MAVIS_FAIL_PASS)
			return mavis_verdict_failure(pol, status, lid, m->mail_id, m->rcpts, m->nrcpts,
						     m->arena);
		mark_unchecked(&cx, NULL, mavis_arena_printf(m->arena, "UNCHECKED, %s, message not checked",
							     mavis_fail_what(status)));
	} else {
		for (size_t i = 0; mavis_checks[i] != NULL; i++) {
			const struct mavis_check *c = mavis_checks[i];
			struct timespec t0;
			int rc;

			if ((c->needs_body && cx.oversized) || !mavis_check_wanted_any(c, &cx))
				continue;
			mavis_stats_slot_stage(s->slot, c->name);
			clock_gettime(CLOCK_MONOTONIC, &t0);
			cx.fail_text[0] = '\0';
			rc = c->run(&cx);
			if (ntiming < STAGES_MAX)
				timing[ntiming++] = (struct mavis_stage_time){ c->name, usec_since(&t0) };
			if (rc >= 0)
				continue;
			if (rc != MAVIS_ERR_SCANNER)
				msg_fail(s, m, rc, "%s", cx.fail_text[0] ? cx.fail_text : c->name);
			enum mavis_fail_policy pol = c->fail_policy ? c->fail_policy(s->view)
							 : mavis_fail_policy(s->view, rc);
			if (pol != MAVIS_FAIL_PASS)
				return mavis_verdict_failure(pol, rc, lid, m->mail_id, m->rcpts, m->nrcpts,
							     m->arena);
			/* Never CLEAN: UNCHECKED for whom the check was for. */
			mark_unchecked(&cx, c, c->failed_alert ? c->failed_alert
				       : mavis_arena_printf(m->arena, "UNCHECKED, %s, message not checked",
							    mavis_fail_what(rc)));
		}
	}

	msg_log_sql_passed(s, m, "checks");
	const char *subj = msg_header_value(m, "Subject", 1);
	struct decide_msg dm = {
		.view = s->view,
		.log_id = lid,
		.mail_id = m->mail_id,
		.sender = m->sender,
		.bulk = is_bulk(m),
		.non_smtpd = s->non_smtpd,
		.virus_scanned = cx.virus_scanned,
		.has_subject = subj != NULL,
		.subject = subj,
		.headers_partial = m->header_overflow,
		.spam = cx.spam_result,
	};
	struct mavis_verdict *v = mavis_decide(&dm, m->rcpts, m->nrcpts, m->arena);
	if (cx.dmarc_reject)
		dmarc_reject(s, m, v, &cx);
	struct timespec t0;
	mavis_stats_slot_stage(s->slot, "quarantine");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int qrc = msg_quarantine(s, m, v, cx.raw, cx.rawlen);
	if (ntiming < STAGES_MAX)
		timing[ntiming++] = (struct mavis_stage_time){ "quarantine", usec_since(&t0) };
	if (qrc < 0) {
		/* A copy we promised to keep: the mail stays with the MTA unless
		   the admin said otherwise. */
		enum mavis_fail_policy pol = mavis_fail_policy(s->view, qrc);

		if (pol != MAVIS_FAIL_PASS)
			v = mavis_verdict_failure(pol, qrc, lid, m->mail_id, m->rcpts, m->nrcpts,
						  m->arena);
	}
	/* last: the signature covers the message as it leaves, every edit
	   above applied */
	/* not over a body or header section that was not kept whole */
	if (v->action == MAVIS_ACTION_ACCEPT && !m->oversized && !m->header_overflow &&
	    mavis_view_bool(s->view, MAVIS_KEY_ENABLE_DKIM_SIGNING) && mavis_view_originating(s->view)) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		msg_dkim_sign(s, m, v, cx.raw, cx.rawlen);
		if (ntiming < STAGES_MAX)
			timing[ntiming++] = (struct mavis_stage_time){ "dkim_sign", usec_since(&t0) };
	}
	v->timing = timing;
	v->ntiming = ntiming;
	return v;
}
