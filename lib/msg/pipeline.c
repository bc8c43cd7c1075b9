/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pipeline.c - end of message: run the checks in amavisd's order, decide */

#include <stdatomic.h>
#include <string.h>
#include <strings.h>

#include <mavis/log.h>

#include "msg_int.h"

atomic_ulong mavis_stat_messages;

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
