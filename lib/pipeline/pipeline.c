/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pipeline.c - end of message: run the checks in amavisd's order, decide */

#include <stdatomic.h>
#include <string.h>
#include <strings.h>

#include <mavis/log.h>

#include "pipeline_int.h"

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

/* Virus scan of the raw message (and, with decoding, every part). Returns
   NULL to continue, or a verdict when a scanner failure must end the
   message (on_scanner_failure = tempfail). */
static struct mavis_verdict *
virus_scan(struct mavis_session *s, struct msg *m, const void *raw, size_t rawlen,
	   const struct mavis_decoded *d, struct decide_msg *dm)
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
	if (d != NULL && d->hold != NULL) {
		/* amavisd: a decoder limit makes the mail UNCHECKED, no scan. */
		mavis_log_notice(lid, "NOTICE: Virus scanning skipped: %s", d->hold);
		return NULL;
	}
	if (s->st->av == NULL) {
		mavis_log_err(lid, "AV: ALL VIRUS SCANNERS FAILED: %s", s->st->av_error);
		res.status = MAVIS_AV_FAILED;
	} else {
		size_t nparts = d ? d->nparts : 0, n = 0;
		struct mavis_av_buf *bufs = mavis_arena_calloc(m->arena, nparts + 1, sizeof(*bufs));

		/* The decoded parts, and the raw message so that libclamav's own
		   parsers see what ours may have missed. */
		for (size_t i = 0; i < nparts; i++) {
			const struct mavis_part *p = d->parts[i];

			if (p->scan && p->data != NULL && p->len > 0)
				bufs[n++] = (struct mavis_av_buf){ p->data, p->len,
					mavis_arena_printf(m->arena, "p%03u", p->id) };
		}
		bufs[n++] = (struct mavis_av_buf){ raw, rawlen, "MAIL" };
		mavis_av_scan(s->st->av, bufs, n, m->arena, &res);
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

static bool
need_decoding(struct mavis_session *s, const struct msg *m)
{
	bool av = av_wanted(s->st), banned = s->st->banned != NULL;

	for (size_t i = 0; i < m->nrcpts; i++)
		if ((av && !m->rcpts[i].bypass_virus) || (banned && !m->rcpts[i].bypass_banned))
			return true;
	return false;
}

static void
decode_limits(const struct mavis_view *v, struct mavis_decode_limits *lim)
{
	mavis_decode_limits_default(lim);
	lim->max_levels = (unsigned)mavis_view_int(v, MAVIS_KEY_MAX_LEVELS);
	lim->max_files = (unsigned)mavis_view_int(v, MAVIS_KEY_MAX_FILES);
	lim->min_expansion_quota = (uint64_t)mavis_view_int(v, MAVIS_KEY_MIN_EXPANSION_QUOTA);
	lim->max_expansion_quota = (uint64_t)mavis_view_int(v, MAVIS_KEY_MAX_EXPANSION_QUOTA);
	lim->min_expansion_factor = (unsigned)mavis_view_int(v, MAVIS_KEY_MIN_EXPANSION_FACTOR);
	lim->max_expansion_factor = (unsigned)mavis_view_int(v, MAVIS_KEY_MAX_EXPANSION_FACTOR);
}

/* Banned parts per recipient: each one's rule sets (banned_filename_maps);
   recipients with the same sets share one check. */
static struct mavis_verdict *
banned_check(struct mavis_session *s, struct msg *m, const struct mavis_decoded *d,
	     struct decide_rcpt *dr)
{
	const char *lid = mavis_session_log_id(s);
	const char *last_sets = NULL, *last_reason = NULL;
	struct mavis_error err = { 0 };

	if (s->st->banned == NULL || d == NULL)
		return NULL;
	for (size_t i = 0; i < m->nrcpts; i++) {
		const struct msg_rcpt *r = &m->rcpts[i];
		const char *sets = r->banned_rulesets ? r->banned_rulesets : "DEFAULT";
		struct mavis_banned_result res;

		if (r->bypass_banned)
			continue;
		if (last_sets != NULL && strcmp(sets, last_sets) == 0) {
			dr[i].banned_reason = last_reason;
			continue;
		}
		if (mavis_banned_check(s->st->banned, sets, d, m->arena, &res, &err) < 0) {
			msg_fail(s, m, err.status, "banned check failed: %s", err.text);
			return mavis_reply_for_failure(s->view, err.status, lid, m->mail_id, m->arena);
		}
		if (res.unknown_set)
			mavis_log_info(lid, "banned_filename_maps names an unknown rule set %s",
				       res.unknown_set);
		last_sets = sets;
		last_reason = res.banned ? res.reason : NULL;
		dr[i].banned_reason = last_reason;
		if (res.banned)
			mavis_log_info(lid, "p.path BANNED:1 %s: \"%s\"", r->addr, res.path);
	}
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
	const char *subj;

	if (m->fail_status)
		return mavis_reply_for_failure(s->view, m->fail_status, lid, m->mail_id, m->arena);
	dm.bulk = is_bulk(m);
	subj = msg_header_value(m, "Subject", 1);
	dm.has_subject = subj != NULL;
	dm.subject = subj;
	dm.oversized_all = m->oversized;
	if (m->header_overflow) {
		dm.badh_minor = MAVIS_BADH_LONG;
		dm.badh_text = "Header section over limits";
		dm.badh_reason = "BAD HEADER: Header section over limits";
	}
	const void *raw = "";
	size_t rawlen = 0;
	struct mavis_error err = { 0 };
	if (mavis_spool_view(m->spool, &raw, &rawlen, &err) < 0)
		return mavis_reply_for_failure(s->view, err.status, lid, m->mail_id, m->arena);
	struct mavis_decoded *d = NULL;
	if (need_decoding(s, m)) {
		struct mavis_decode_limits lim;

		decode_limits(s->view, &lim);
		lim.filetypes = s->st->filetypes;
		if (mavis_decode_message(raw, rawlen, &lim, m->arena, &d, &err) < 0) {
			msg_fail(s, m, err.status, "decoding failed: %s", err.text);
			return mavis_reply_for_failure(s->view, err.status, lid, m->mail_id, m->arena);
		}
		if (d->hold)
			mavis_log_notice(lid, "NOTICE: HOLD reason: %s", d->hold);
		if (d->unchecked_minor >= 0)
			dm.unchecked_minor = d->unchecked_minor;
		if (d->mime_error && m->badh != NULL)
			mavis_badh_add_mime_error(m->badh, m->badh_allowed, d->mime_error);
	}
	if (m->badh != NULL && mavis_badh_minor(m->badh) > 0 &&
	    (int)mavis_badh_minor(m->badh) > dm.badh_minor) {
		dm.badh_minor = (int)mavis_badh_minor(m->badh);
		dm.badh_text = mavis_badh_first(m->badh);
		dm.badh_alert = mavis_badh_alert(m->badh);
		dm.badh_reason = NULL;
		mavis_log_info(lid, "bad header: %s", dm.badh_text);
	}
	struct mavis_verdict *early = virus_scan(s, m, raw, rawlen, d, &dm);
	if (early != NULL)
		return early;

	dr = mavis_arena_calloc(m->arena, m->nrcpts ? m->nrcpts : 1, sizeof(*dr));
	early = banned_check(s, m, d, dr);
	if (early != NULL)
		return early;
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
	struct mavis_verdict *v = mavis_decide(&dm, dr, m->nrcpts, m->arena);
	struct mavis_verdict *qfail = msg_quarantine(s, m, v, raw, rawlen);
	return qfail ? qfail : v;
}
