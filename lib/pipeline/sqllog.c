/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sqllog.c - what amavisd writes to msgs and msgrcpt, from the session and
   its verdict, handed to the SQL log writer (lib/sql/log.c) */

#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mavis/buf.h>
#include <mavis/sql.h>

#include "pipeline_int.h"

void
msg_log_sql_passed(struct mavis_session *s, struct msg *m, const char *what)
{
	const char *why[8];
	size_t n = mavis_sql_passed_failures(m->arena, why, 8);

	for (size_t i = 0; i < n; i++)
		mavis_log_warn(mavis_session_log_id(s),
			       "%s: on_sql_failure = pass, looked up as not found "
			       "(the next table or the default decides): %s", what, why[i]);
}

/* amavisd's %ccat_short_name as written to SQL. */
static char
ccat_code(struct mavis_ccat_pair c)
{
	switch (c.major) {
	case MAVIS_CC_VIRUS: return 'V';
	case MAVIS_CC_BANNED: return 'B';
	case MAVIS_CC_UNCHECKED: return 'U';
	case MAVIS_CC_SPAM: return 'S';
	case MAVIS_CC_SPAMMY: return 'Y';
	case MAVIS_CC_BADH: return c.minor == 2 ? 'M' : 'H';
	case MAVIS_CC_OVERSIZED: return 'O';
	case MAVIS_CC_MTA: return 'T';
	case MAVIS_CC_CLEAN: return 'C';
	}
	return '?';
}

/* msgs.size as amavisd writes it: the RFC 1870 size (CRLF line ends, the
   empty line between header and body, no dot stuffing), which is what its
   SMTP input counts. The milter has the fields (each "Name: value" CRLF)
   and the body, not the empty line between them. */
static int64_t
log_size(const struct msg *m)
{
	return (int64_t)(m->size + m->header_bytes + 2);
}

void
msg_sql_log_begin(struct mavis_session *s, struct msg *m)
{
	struct mavis_sql_log *l = mavis_sql_log_global();

	if (l == NULL || !mavis_config_get(s->st->cfg, MAVIS_KEY_SQL_LOG)->u.b)
		return;
	struct mavis_sql_log_begin b = {
		.partition_tag = (int)mavis_view_int(s->view, MAVIS_KEY_PARTITION_TAG),
		.mail_id = m->mail_id,
		.secret_id = m->secret_id,
		.am_id = mavis_session_log_id(s),
		.rx_time = m->rx_time,
		.sender = m->sender,
		.policy = mavis_view_path(s->view),
		.client_addr = s->client_addr,
		.size = (uint64_t)log_size(m),
		.host = mavis_config_get(s->st->cfg, MAVIS_KEY_MYHOSTNAME)->u.s,
	};

	/* A full queue is counted and logged by the writer; the mail goes on. */
	(void)mavis_sql_log_begin(l, &b);
}

/* A header field as amavisd logs it: unfolded, trimmed, MIME-decoded. */
static const char *
field_text(struct mavis_arena *a, const struct msg *m, const char *name)
{
	const char *v = msg_header_value(m, name, 1);

	if (v == NULL)
		return "";
	char *u = mavis_headers_unfold(a, v, strlen(v), NULL);

	while (*u == ' ' || *u == '\t')
		u++;
	size_t n = strlen(u);

	while (n > 0 && (u[n - 1] == ' ' || u[n - 1] == '\t' || u[n - 1] == '\r' || u[n - 1] == '\n'))
		u[--n] = '\0';
	char *dec = g_mime_utils_header_decode_text(NULL, u);

	if (dec == NULL)
		return u;
	const char *out = mavis_arena_strdup(a, dec);

	g_free(dec);
	return out;
}

void
msg_sql_log_end(struct mavis_session *s, struct msg *m, const struct mavis_verdict *v)
{
	struct mavis_sql_log *l = mavis_sql_log_global();

	if (l == NULL || !mavis_config_get(s->st->cfg, MAVIS_KEY_SQL_LOG)->u.b)
		return;
	struct mavis_arena *a = m->arena;
	struct mavis_sql_log_rcpt *rc = mavis_arena_calloc(a, v->nrcpts ? v->nrcpts : 1, sizeof(*rc));
	struct mavis_ccat_pair top = { MAVIS_CC_CLEAN, 0 };
	bool have_level = false;
	double min_level = 0;
	struct mavis_buf b = { 0 };

	for (size_t i = 0; i < v->nrcpts; i++) {
		const struct mavis_rcpt_verdict *rv = &v->rcpts[i];
		const struct mavis_rcpt *r = i < m->nrcpts ? &m->rcpts[i] : NULL;

		rc[i].addr = rv->address;
		rc[i].local = rv->local;
		rc[i].content = ccat_code(rv->ccat);
		if (rv->ccat.major > top.major ||
		    (rv->ccat.major == top.major && rv->ccat.minor > top.minor))
			top = rv->ccat;
		/* ds: what became of it (amavisd P R B D T) */
		if (v->action == MAVIS_ACTION_TEMPFAIL)
			rc[i].ds = 'T';
		else if (rv->blocking.major < 0)
			rc[i].ds = 'P';
		else
			rc[i].ds = rv->destiny == MAVIS_D_DISCARD ? 'D' :
				   rv->destiny == MAVIS_D_TEMPFAIL ? 'T' :
				   rv->destiny == MAVIS_D_BOUNCE ? 'B' : 'R';
		rc[i].blacklisted = r && r->blacklisted;
		rc[i].whitelisted = r && r->whitelisted;
		rc[i].has_level = rv->spam_scored;
		rc[i].level = rv->spam_level;
		if (rv->spam_scored && (!have_level || rv->spam_level < min_level)) {
			min_level = rv->spam_level;
			have_level = true;
		}
		mavis_buf_reset(&b);
		if (rv->reply.rcode != NULL && v->action != MAVIS_ACTION_TEMPFAIL) {
			mavis_reply_format(&rv->reply, &b);
		} else {
			struct mavis_reply all = { v->rcode, v->xcode, v->text };

			if (all.rcode != NULL)
				mavis_reply_format(&all, &b);
			else
				mavis_buf_printf(&b, "250 2.0.0 Ok, id=%s", mavis_session_log_id(s));
		}
		rc[i].smtp_resp = mavis_arena_strdup(a, mavis_buf_str(&b));
	}
	mavis_buf_free(&b);
	struct mavis_sql_log_end e = {
		.partition_tag = (int)mavis_view_int(s->view, MAVIS_KEY_PARTITION_TAG),
		.mail_id = m->mail_id,
		.content = ccat_code(top),
		.quar_type = m->quar_type ? m->quar_type : ' ',
		.quar_loc = m->quar_loc ? m->quar_loc : "",
		.dsn_sent = 'N',
		.has_spam_level = have_level,
		.spam_level = min_level,
		.message_id = field_text(a, m, "Message-ID"),
		.from_addr = field_text(a, m, "From"),
		.subject = field_text(a, m, "Subject"),
		.client_addr = s->client_addr,
		.originating = mavis_view_originating(s->view),
		.rcpts = rc,
		.nrcpts = v->nrcpts,
	};

	(void)mavis_sql_log_end(l, &e);
}
