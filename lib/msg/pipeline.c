/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pipeline.c - end of message: run the checks in amavisd's order, decide */

#include <stdatomic.h>
#include <string.h>
#include <strings.h>

#include <mavis/log.h>

#include "msg_int.h"

atomic_ulong mavis_stat_messages;

static bool
av_wanted(const struct engine_state *st)
{
	return mavis_config_get(st->cfg, MAVIS_KEY_AV_SCANNERS)->u.list.n > 0 ||
	       mavis_config_get(st->cfg, MAVIS_KEY_AV_SCANNERS_BACKUP)->u.list.n > 0;
}

/* amavisd collect_some_info: list, bulk and auto mail (used by the bad-header
   bounce rule). */
static bool
is_bulk(const struct msg *m)
{
	static const char *const list_fields[] = { "List-Id", "List-Post", "List-Unsubscribe",
						   "Mailing-List", NULL };
	const struct msg_header *h;

	for (int i = 0; list_fields[i]; i++)
		if (msg_header_find(m, list_fields[i], 1))
			return true;
	h = msg_header_find(m, "Precedence", 1);
	if (h && (strcasestr(h->value, "list") || strcasestr(h->value, "bulk") ||
		  strcasestr(h->value, "junk") || strcasestr(h->value, "auto_reply")))
		return true;
	h = msg_header_find(m, "Auto-Submitted", 1);
	if (h && !strcasestr(h->value, "no"))
		return true;
	return m->sender[0] == '\0';
}

/* Virus scan of the raw message (and, with decoding, every part). Returns
   NULL to continue, or a verdict when a scanner failure must end the
   message (on_scanner_failure = tempfail). */
static struct mavis_verdict *
virus_scan(struct mavis_session *s, struct msg *m, const void *raw, size_t rawlen,
	   struct decide_msg *dm)
{
	const char *lid = mavis_session_log_id(s);
	struct mavis_av_result res;
	bool needed = false;

	if (!av_wanted(s->st))
		return NULL;
	for (size_t i = 0; i < m->nrcpts; i++)
		if (!m->rcpts[i].bypass_virus)
			needed = true;
	if (!needed)
		return NULL;
	if (s->st->av == NULL) {
		mavis_log_err(lid, "AV: ALL VIRUS SCANNERS FAILED: %s", s->st->av_error);
		res.status = MAVIS_AV_FAILED;
	} else {
		struct mavis_av_buf buf = { raw, rawlen, "MAIL" };

		mavis_av_scan(s->st->av, &buf, 1, m->arena, &res);
		for (size_t i = 0; i < res.n_log; i++)
			mavis_log(res.log[i].level, lid, "%s", res.log[i].text);
	}
	switch (res.status) {
	case MAVIS_AV_CLEAN:
		dm->av_ran = true;
		return NULL;
	case MAVIS_AV_INFECTED:
		dm->av_ran = true;
		dm->virus_names = res.text;
		mavis_log_info(lid, "virus_scan: (%s), detected by %s", res.text, res.scanners);
		return NULL;
	case MAVIS_AV_FAILED:
		break;
	}
	/* Never CLEAN: tempfail by default, or UNCHECKED with the tag. */
	struct mavis_verdict *v = mavis_reply_for_failure(s->view, MAVIS_ERR_SCANNER, lid,
							  m->mail_id, m->arena);
	if (v != NULL)
		return v;
	dm->unchecked_minor = MAVIS_UNCHECKED_SCANNER_FAILED;
	return NULL;
}

struct mavis_verdict *
msg_run_checks(struct mavis_session *s, struct msg *m)
{
	const char *lid = mavis_session_log_id(s);
	struct decide_msg dm = {
		.view = s->view,
		.log_id = lid,
		.mail_id = m->mail_id,
		.sender = m->sender,
		.unchecked_minor = -1,
		.badh_minor = -1,
	};
	struct decide_rcpt *dr;
	const struct msg_header *subj;

	if (m->fail_status)
		return mavis_reply_for_failure(s->view, m->fail_status, lid, m->mail_id, m->arena);
	dm.bulk = is_bulk(m);
	subj = msg_header_find(m, "Subject", 1);
	dm.has_subject = subj != NULL;
	dm.subject = subj ? subj->value : NULL;
	dm.oversized_all = m->oversized;
	if (m->header_overflow) {
		dm.badh_minor = 5;
		dm.badh_text = "Header section over limits";
	}
	const void *raw = "";
	size_t rawlen = 0;
	struct mavis_error err = { 0 };
	if (mavis_spool_view(m->spool, &raw, &rawlen, &err) < 0)
		return mavis_reply_for_failure(s->view, err.status, lid, m->mail_id, m->arena);
	struct mavis_verdict *early = virus_scan(s, m, raw, rawlen, &dm);
	if (early != NULL)
		return early;

	dr = mavis_arena_calloc(m->arena, m->nrcpts ? m->nrcpts : 1, sizeof(*dr));
	for (size_t i = 0; i < m->nrcpts; i++) {
		const struct msg_rcpt *r = &m->rcpts[i];

		dr[i].addr = r->addr;
		dr[i].local = r->local;
		memcpy(dr[i].lover, r->lover, sizeof(dr[i].lover));
		dr[i].bypass_virus = r->bypass_virus;
		dr[i].bypass_banned = r->bypass_banned;
		dr[i].bypass_header = r->bypass_header;
		dr[i].bypass_spam = r->bypass_spam;
		dr[i].oversized = r->has_size_limit && m->size + m->header_bytes > r->size_limit;
		if (dr[i].oversized)
			mavis_log_info(lid, "OVERSIZED from <%s> to <%s>: size %llu B, limit %llu B",
				       m->sender, r->addr,
				       (unsigned long long)(m->size + m->header_bytes),
				       (unsigned long long)r->size_limit);
	}
	return mavis_decide(&dm, dr, m->nrcpts, m->arena);
}
