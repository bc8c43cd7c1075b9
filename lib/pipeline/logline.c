/* SPDX-License-Identifier: GPL-2.0-or-later */
/* logline.c - the main log line per message, in amavisd's shape */

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <mavis/buf.h>
#include <mavis/log.h>
#include <mavis/templ.h>

#include "pipeline_int.h"


static const char *
action_word(const struct mavis_verdict *v, bool some_blocked)
{
	switch (v->action) {
	case MAVIS_ACTION_REJECT: return "Blocked";
	case MAVIS_ACTION_TEMPFAIL: return "Blocked";
	case MAVIS_ACTION_DISCARD: return "Blocked";
	case MAVIS_ACTION_HOLD: return "Held";
	case MAVIS_ACTION_ACCEPT: return some_blocked ? "Passed/Blocked" : "Passed";
	}
	return "?";
}

/* amavisd's recip_tagged: the copy a recipient gets carries an edit that
   marks it (X-Spam-Flag YES, a subject tag, an INFECTED or BANNED alert;
   not a bad-header alert, "mostly harmless" to amavisd). */
static bool
delivery_tagged(const struct mavis_verdict *v, int delivery)
{
	const struct mavis_delivery *d;

	if (delivery < 0 || (size_t)delivery >= v->ndeliveries)
		return false;
	d = &v->deliveries[delivery];
	for (size_t i = 0; i < d->nedits; i++) {
		const struct mavis_edit *e = &d->edits[i];
		const char *val = e->value ? e->value : "";

		if (e->name == NULL || e->op == MAVIS_EDIT_DELETE_HEADER)
			continue;
		while (*val == ' ' || *val == '\t')
			val++;
		if (strcasecmp(e->name, "Subject") == 0 ||
		    (strcasecmp(e->name, "X-Spam-Flag") == 0 && strncasecmp(val, "YES", 3) == 0) ||
		    (strcasecmp(e->name, "X-Amavis-Alert") == 0 &&
		     (strncmp(val, "INFECTED", 8) == 0 || strncmp(val, "BANNED", 6) == 0)))
			return true;
	}
	return false;
}

static const char *
blocked_word(enum mavis_action action, int destiny)
{
	if (action == MAVIS_ACTION_TEMPFAIL || (action == MAVIS_ACTION_ACCEPT && destiny == MAVIS_D_TEMPFAIL))
		return "TempFailed";
	if (action == MAVIS_ACTION_DISCARD || (action == MAVIS_ACTION_ACCEPT && destiny == MAVIS_D_DISCARD))
		return "Discarded";
	if (action == MAVIS_ACTION_HOLD)
		return "Held";
	return "Rejected";
}

/*
 * amavisd's actions_performed: per recipient its outcome (Relayed,
 * RelayedTagged, Rejected, Discarded, TempFailed) and direction (Inbound:
 * to a local recipient from outside, OpenRelay: to a foreign one from
 * outside, Internal / Outbound: from our own users to a local / foreign
 * one), each combination once in sorted order, then Quarantined when a copy
 * was kept: "{RelayedTaggedInbound,Quarantined}".
 */
static void
actions_performed(const struct mavis_verdict *v, bool originating, bool quarantined,
		  struct mavis_buf *out)
{
	const char *seen[16][2];
	size_t n = 0;

	for (size_t i = 0; i < v->nrcpts; i++) {
		const struct mavis_rcpt_verdict *r = &v->rcpts[i];
		const char *what, *dir;
		size_t k;

		if (v->action != MAVIS_ACTION_ACCEPT || r->blocking.major >= 0)
			what = blocked_word(v->action, r->destiny);
		else
			what = delivery_tagged(v, r->delivery) ? "RelayedTagged" : "Relayed";
		dir = originating ? (r->local ? "Internal" : "Outbound") : (r->local ? "Inbound" : "OpenRelay");
		for (k = 0; k < n; k++)
			if (strcmp(seen[k][0], what) == 0 && strcmp(seen[k][1], dir) == 0)
				break;
		if (k == n && n < sizeof(seen) / sizeof(seen[0])) {
			/* insertion in sort order of the joined name */
			size_t at = n;

			while (at > 0) {
				char a[48], b[48];

				snprintf(a, sizeof(a), "%s%s", seen[at - 1][0], seen[at - 1][1]);
				snprintf(b, sizeof(b), "%s%s", what, dir);
				if (strcmp(a, b) <= 0)
					break;
				seen[at][0] = seen[at - 1][0];
				seen[at][1] = seen[at - 1][1];
				at--;
			}
			seen[at][0] = what;
			seen[at][1] = dir;
			n++;
		}
	}
	if (n == 0) {	/* no recipient: the message's action alone */
		seen[0][0] = v->action == MAVIS_ACTION_ACCEPT ? "Relayed" : blocked_word(v->action, MAVIS_D_PASS);
		seen[0][1] = originating ? "Outbound" : "Inbound";
		n = 1;
	}
	for (size_t k = 0; k < n; k++)
		mavis_buf_printf(out, "%s%s%s", k ? "," : "", seen[k][0], seen[k][1]);
	if (quarantined)
		mavis_buf_puts(out, ",Quarantined");
}

/* amavisd's TIMING line (Amavis::Timing::report): each stage's time in ms,
   its share of the total and the running share so far, as
   "name: ms (pct%)cumulative". Times under 5 ms keep one decimal there, so
   we do the same: log parsers written for amavisd read this line as is.
   Our stages are measured spans, not amavisd's back-to-back sections, so
   the shares need not add up to 100: the rest is SMTP time before eom. */
static void
log_timing_at(struct mavis_session *s, const struct mavis_verdict *v, unsigned long long total_us,
	      int level)
{
	struct mavis_buf line = { 0 };
	unsigned long long done_us = 0;

	/* A zero total would make every share a division by zero; amavisd
	   clamps it to a tenth of a microsecond for the same reason. */
	if (total_us == 0)
		total_us = 1;
	mavis_buf_printf(&line, "TIMING [total %.0f ms] -", (double)total_us / 1000.0);
	for (size_t i = 0; i < v->ntiming; i++) {
		unsigned long us = v->timing[i].usec;
		double ms = (double)us / 1000.0;
		double pct = us >= total_us ? 100.0 : (double)us * 100.0 / (double)total_us;
		double cum;

		done_us += us;
		cum = done_us >= total_us ? 100.0 : (double)done_us * 100.0 / (double)total_us;
		mavis_buf_printf(&line, ms >= 5.0 ? "%s %s: %.0f (%.0f%%)%.0f" : "%s %s: %.1f (%.0f%%)%.0f",
				 i ? "," : "", v->timing[i].stage, ms, pct, cum);
	}
	mavis_log_ll(level, mavis_session_log_id(s), "%s", mavis_buf_str(&line));
	mavis_buf_free(&line);
}

static void
log_timing(struct mavis_session *s, const struct mavis_verdict *v, unsigned long long total_us)
{
	log_timing_at(s, v, total_us, 0);
}

/* What the log_templ macros see of one message. */
struct logctx {
	struct mavis_session *s;
	const struct mavis_verdict *v;
	const struct msg *m;
	bool some_blocked;
	long ms;
};

static void
macro_value(void *ctx, enum mavis_templ_macro mac, struct mavis_buf *out)
{
	const struct logctx *c = ctx;
	const struct mavis_session *s = c->s;
	const struct msg *m = c->m;
	const struct mavis_verdict *v = c->v;

	switch (mac) {
	case MAVIS_TM_LOG_ID: mavis_buf_puts(out, mavis_session_log_id(s)); break;
	case MAVIS_TM_MAIL_ID: mavis_buf_puts(out, m->mail_id); break;
	case MAVIS_TM_SENDER: mavis_buf_printf(out, "<%s>", m->sender); break;
	case MAVIS_TM_RCPTS:
		for (size_t i = 0; i < m->nrcpts; i++)
			mavis_buf_printf(out, "%s<%s>", i ? ", " : "", m->rcpts[i].addr);
		break;
	case MAVIS_TM_BANK_PATH: mavis_buf_puts(out, mavis_view_path(s->view)); break;
	case MAVIS_TM_CLIENT_ADDR: mavis_buf_puts(out, s->client_addr); break;
	case MAVIS_TM_LOCAL:
		if (mavis_view_originating(s->view))
			mavis_buf_putc(out, 'Y');
		break;
	case MAVIS_TM_QUEUE_ID: mavis_buf_puts(out, s->queue_id); break;
	case MAVIS_TM_MESSAGE_ID: {
		const char *mid = msg_header_value(m, "Message-ID", 1);

		if (mid != NULL) {
			while (*mid == ' ' || *mid == '\t')
				mid++;
			mavis_buf_puts(out, mid);
		}
		break;
	}
	case MAVIS_TM_SIZE:
		mavis_buf_printf(out, "%llu", (unsigned long long)(m->size + m->header_bytes));
		break;
	case MAVIS_TM_ELAPSED: mavis_buf_printf(out, "%ld", c->ms); break;
	case MAVIS_TM_SCORE:
		if (v->spam_scored)
			mavis_buf_puts(out, mavis_spam_fmt_score(m->arena, v->spam_score));
		break;
	case MAVIS_TM_MYHOSTNAME: mavis_buf_puts(out, mavis_view_str(s->view, MAVIS_KEY_MYHOSTNAME)); break;
	case MAVIS_TM_ACTIONS:
		actions_performed(v, mavis_view_originating(s->view), m->quar_type != 0, out);
		break;
	case MAVIS_TM_CCAT: mavis_buf_puts(out, v->reason); break;
	case MAVIS_TM_STATUS: mavis_buf_puts(out, action_word(v, c->some_blocked)); break;
	case MAVIS_TM_INTERNAL_ERROR:
		if (v->internal_error)
			mavis_buf_putc(out, 'Y');
		break;
	case MAVIS_TM_REPLY: mavis_buf_printf(out, "%s %s %s", v->rcode, v->xcode, v->text); break;
	case MAVIS_TM_COUNT: break;
	}
}

/* log_level 3: each recipient's outcome, after the main line. */
static void
log_recipients(struct mavis_session *s, const struct mavis_verdict *v)
{
	for (size_t i = 0; i < v->nrcpts; i++) {
		const struct mavis_rcpt_verdict *r = &v->rcpts[i];

		if (r->blocking.major >= 0)
			mavis_log_ll(3, mavis_session_log_id(s), "recipient <%s>: %s, blocked (%s): %s %s %s",
				     r->address, mavis_ccat_log_name(r->ccat.major, r->ccat.minor),
				     mavis_destiny_name(r->destiny), r->reply.rcode ? r->reply.rcode : "",
				     r->reply.xcode ? r->reply.xcode : "", r->reply.text ? r->reply.text : "");
		else
			mavis_log_ll(3, mavis_session_log_id(s), "recipient <%s>: %s, passed%s",
				     r->address, mavis_ccat_log_name(r->ccat.major, r->ccat.minor),
				     r->local ? " (local)" : "");
	}
}

/* A bound on the expansion (a template of %R with 1100 recipients is
   long); above log.c's record size, so that the record is cut where it
   always was. */
#define LOGLINE_MAX 4096

void
mavis_session_log_verdict(struct mavis_session *s, const struct mavis_verdict *v)
{
	struct msg *m = s->msg;
	struct mavis_buf line = { 0 };
	struct timespec now;
	struct logctx c = { .s = s, .v = v, .m = m };
	long long us;

	if (m == NULL || v == NULL)
		return;
	for (size_t i = 0; i < v->nrcpts; i++)
		if (v->rcpts[i].blocking.major >= 0)
			c.some_blocked = true;
	clock_gettime(CLOCK_MONOTONIC, &now);
	us = (long long)(now.tv_sec - m->start.tv_sec) * 1000000 + (now.tv_nsec - m->start.tv_nsec) / 1000;
	if (us < 0)
		us = 0;
	c.ms = (long)(us / 1000);
	/* The template passed mavis_templ_check when the config loaded. */
	mavis_templ_expand(mavis_view_str(s->view, MAVIS_KEY_LOG_TEMPL), macro_value, &c, LOGLINE_MAX,
			   &line);
	/* An empty template switches the line off, as in amavisd - except
	   for a failure: its cause and reply are always said. */
	if (line.len > 0)
		mavis_log(v->internal_error ? MAVIS_LOG_WARNING : MAVIS_LOG_NOTICE,
			  mavis_session_log_id(s), "%s", mavis_buf_str(&line));
	else if (v->internal_error)
		mavis_log(MAVIS_LOG_WARNING, mavis_session_log_id(s), "%s %s, mail_id: %s, reply: %s %s %s",
			  action_word(v, c.some_blocked), v->reason, m->mail_id, v->rcode, v->xcode, v->text);
	mavis_buf_free(&line);
	if (mavis_log_wants(3))
		log_recipients(s, v);
	if (mavis_view_bool(s->view, MAVIS_KEY_LOG_TIMING))
		log_timing(s, v, (unsigned long long)us);
	else if (mavis_log_wants(2))
		/* amavisd logs TIMING at level 2; log_timing says it at 0. */
		log_timing_at(s, v, (unsigned long long)us, 2);
	msg_sql_log_end(s, m, v);
}
