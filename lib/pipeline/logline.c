/* SPDX-License-Identifier: GPL-2.0-or-later */
/* logline.c - the main log line per message, in amavisd's shape */

#include <stdatomic.h>
#include <time.h>

#include <mavis/buf.h>
#include <mavis/log.h>

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

static const char *
action_tag(const struct mavis_verdict *v, bool originating)
{
	switch (v->action) {
	case MAVIS_ACTION_REJECT: return originating ? "RejectedOutbound" : "RejectedInbound";
	case MAVIS_ACTION_TEMPFAIL: return originating ? "TempFailedOutbound" : "TempFailedInbound";
	case MAVIS_ACTION_DISCARD: return originating ? "DiscardedOutbound" : "DiscardedInbound";
	case MAVIS_ACTION_HOLD: return originating ? "HeldOutbound" : "HeldInbound";
	case MAVIS_ACTION_ACCEPT: break;
	}
	return originating ? "RelayedOutbound" : "RelayedInbound";
}

/* amavisd's TIMING line (Amavis::Timing::report): each stage's time in ms,
   its share of the total and the running share so far, as
   "name: ms (pct%)cumulative". Times under 5 ms keep one decimal there, so
   we do the same: log parsers written for amavisd read this line as is.
   Our stages are measured spans, not amavisd's back-to-back sections, so
   the shares need not add up to 100: the rest is SMTP time before eom. */
static void
log_timing(struct mavis_session *s, const struct mavis_verdict *v, unsigned long long total_us)
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
	mavis_log(MAVIS_LOG_NOTICE, mavis_session_log_id(s), "%s", mavis_buf_str(&line));
	mavis_buf_free(&line);
}

void
mavis_session_log_verdict(struct mavis_session *s, const struct mavis_verdict *v)
{
	struct msg *m = s->msg;
	struct mavis_buf line = { 0 };
	struct timespec now;
	bool some_blocked = false;
	long ms = 0;
	long long us;

	if (m == NULL || v == NULL)
		return;
	for (size_t i = 0; i < v->nrcpts; i++)
		if (v->rcpts[i].blocking.major >= 0)
			some_blocked = true;
	clock_gettime(CLOCK_MONOTONIC, &now);
	us = (long long)(now.tv_sec - m->start.tv_sec) * 1000000 + (now.tv_nsec - m->start.tv_nsec) / 1000;
	if (us < 0)
		us = 0;
	ms = (long)(us / 1000);
	mavis_buf_printf(&line, "%s %s {%s}, ", action_word(v, some_blocked), v->reason,
			 action_tag(v, mavis_view_originating(s->view)));
	if (*mavis_view_path(s->view))
		mavis_buf_printf(&line, "%s ", mavis_view_path(s->view));
	mavis_buf_printf(&line, "[%s] <%s> ->", *s->client_addr ? s->client_addr : "unknown", m->sender);
	for (size_t i = 0; i < m->nrcpts; i++)
		mavis_buf_printf(&line, "%s <%s>", i ? "," : "", m->rcpts[i].addr);
	const char *midv = msg_header_value(m, "Message-ID", 1);
	if (midv == NULL)
		midv = "-";
	while (*midv == ' ' || *midv == '\t')
		midv++;
	/* amavisd's Hits: the spam score, "-" when no scanner gave one. */
	mavis_buf_printf(&line, ", Queue-ID: %s, Message-ID: %s, mail_id: %s, Hits: %s, size: %llu, %ld ms",
			 s->queue_id[0] ? s->queue_id : "-", midv, m->mail_id,
			 v->spam_scored ? mavis_spam_fmt_score(m->arena, v->spam_score) : "-",
			 (unsigned long long)(m->size + m->header_bytes), ms);
	if (v->internal_error)
		mavis_buf_printf(&line, ", reply: %s %s %s", v->rcode, v->xcode, v->text);
	mavis_log(v->internal_error ? MAVIS_LOG_WARNING : MAVIS_LOG_NOTICE, mavis_session_log_id(s),
		  "%s", mavis_buf_str(&line));
	mavis_buf_free(&line);
	if (mavis_view_bool(s->view, MAVIS_KEY_LOG_TIMING))
		log_timing(s, v, (unsigned long long)us);
	msg_sql_log_end(s, m, v);
}
