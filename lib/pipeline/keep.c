/* SPDX-License-Identifier: GPL-2.0-or-later */
/* keep.c - which quarantine copies a verdict calls for, and storing them */

#include <string.h>

#include <mavis/log.h>
#include <mavis/quarantine.h>
#include <mavis/sql.h>

#include "pipeline_int.h"

/* %quarantine_method_by_ccat: file name prefix, and gzip for spam. */
static const char *
category_of(int major, bool *gzip)
{
	*gzip = false;
	switch (major) {
	case MAVIS_CC_VIRUS: return "virus";
	case MAVIS_CC_BANNED: return "banned";
	case MAVIS_CC_UNCHECKED: return "unchecked";
	case MAVIS_CC_SPAM:
	case MAVIS_CC_SPAMMY:
		*gzip = true;
		return "spam";
	case MAVIS_CC_BADH: return "badh";
	}
	return NULL;
}

/* *_quarantine_method of a category: 'F' a file (local:), 'Q' SQL (sql:),
   0 none (empty), or -1 for a method we do not have. */
static int
method_of(const struct mavis_view *view, int major)
{
	enum mavis_key key;

	switch (major) {
	case MAVIS_CC_VIRUS: key = MAVIS_KEY_VIRUS_QUARANTINE_METHOD; break;
	case MAVIS_CC_BANNED: key = MAVIS_KEY_BANNED_QUARANTINE_METHOD; break;
	case MAVIS_CC_UNCHECKED: key = MAVIS_KEY_UNCHECKED_QUARANTINE_METHOD; break;
	case MAVIS_CC_SPAM: key = MAVIS_KEY_SPAM_QUARANTINE_METHOD; break;
	case MAVIS_CC_BADH: key = MAVIS_KEY_BAD_HEADER_QUARANTINE_METHOD; break;
	default: return 0;
	}
	const char *m = mavis_view_str(view, key);

	/* amavisd writes 'local:virus-%m': the part after the colon names the
	   file, which quarantine.c does itself. */
	if (*m == '\0')
		return 0;
	if (strncmp(m, "local:", 6) == 0)
		return 'F';
	if (strncmp(m, "sql:", 4) == 0)
		return 'Q';
	return -1;
}

int
msg_quarantine(struct mavis_session *s, struct msg *m, struct mavis_verdict *v, const void *raw,
	       size_t rawlen)
{
	const char *dir = mavis_config_get(s->st->cfg, MAVIS_KEY_QUARANTINE_DIR)->u.s;
	const char *lid = mavis_session_log_id(s);
	const char **all, **blocked;
	bool quarantined = false, local_passed = false;

	if (v->action == MAVIS_ACTION_TEMPFAIL)
		return 0;
	all = mavis_arena_calloc(m->arena, m->nrcpts + 1, sizeof(*all));
	blocked = mavis_arena_calloc(m->arena, m->nrcpts + 1, sizeof(*blocked));
	for (size_t i = 0; i < m->nrcpts; i++)
		all[i] = m->rcpts[i].addr;
	/* One file per category, by the blocking ccat, stored where
	   *_quarantine_to is set. Only what a recipient did not get: a copy of
	   delivered mail would let anyone fill the quarantine disk. */
	for (int major = MAVIS_CC_VIRUS; major >= MAVIS_CC_BADH; major--) {
		size_t nblocked = 0;
		bool gzip;
		const char *cat = category_of(major, &gzip);

		/* SPAMMY shares the spam file: handled with SPAM. */
		if (cat == NULL || major == MAVIS_CC_SPAMMY)
			continue;
		int method = method_of(s->view, major);

		if (method == 'F' && (dir == NULL || *dir == '\0'))
			method = 0;	/* no quarantine_dir: no file quarantine */
		if (method == 0)
			continue;
		for (size_t i = 0; i < m->nrcpts; i++) {
			const struct mavis_rcpt *r = &m->rcpts[i];
			int by = r->verdict->blocking.major;

			if (by == MAVIS_CC_SPAMMY)
				by = MAVIS_CC_SPAM;
			if (by != major || r->quarantine_to[major] == NULL ||
			    r->quarantine_to[major][0] == '\0')
				continue;
			/* spam_quarantine_cutoff_level: too spammy to keep */
			if (major == MAVIS_CC_SPAM && r->spam_quarantine_suppress)
				continue;
			blocked[nblocked++] = r->addr;
		}
		if (nblocked == 0)
			continue;
		if (method < 0) {
			msg_fail(s, m, MAVIS_ERR_CONFIG, "Can't quarantine: unknown %s quarantine method",
				 cat);
			return MAVIS_ERR_CONFIG;
		}
		struct mavis_quarantine_in in = {
			.dir = dir,
			.subdir_levels = (int)mavis_config_get(s->st->cfg, MAVIS_KEY_QUARANTINE_SUBDIR_LEVELS)->u.i,
			.category = cat,
			.gzip = gzip,
			.mail_id = m->mail_id,
			.secret_id = m->secret_id,
			.sender = m->sender,
			.rcpts = all,
			.nrcpts = m->nrcpts,
			.blocked = blocked,
			.nblocked = nblocked,
			.msg = raw,
			.msg_len = rawlen,
		};
		struct mavis_quarantine_out out;
		struct mavis_error err = { 0 };

		if (method == 'Q') {
			/* Committed before the reply that depends on it; on
			   failure the mail is tempfailed (on_sql_failure). */
			int rc = mavis_sql_quarantine_put(mavis_sql_global(),
							  (int)mavis_view_int(s->view, MAVIS_KEY_PARTITION_TAG),
							  &in, &out, &err);

			/* A copy we could not keep is a failure as for files,
			   whatever on_sql_failure says about lookups. */
			if (rc < 0) {
				mavis_stats_count(MAVIS_STATS_QUARANTINE_FAILED);
				msg_fail(s, m, MAVIS_ERR_IO, "Can't quarantine to SQL: %s", err.text);
				return MAVIS_ERR_IO;
			}
		} else if (mavis_quarantine_store(&in, &out, &err) < 0) {
			mavis_stats_count(MAVIS_STATS_QUARANTINE_FAILED);
			msg_fail(s, m, MAVIS_ERR_IO, "Can't quarantine: %s", err.text);
			return MAVIS_ERR_IO;
		}
		mavis_stats_count(MAVIS_STATS_QUARANTINE_WRITE);
		mavis_log_info(lid, "quarantined %s as %s (%c)", m->mail_id, out.rel_path, out.quar_type);
		if (m->quar_type == 0) {
			m->quar_type = out.quar_type;
			m->quar_loc = mavis_arena_strdup(m->arena, out.rel_path);
		}
		struct mavis_edit qe = { MAVIS_EDIT_QUARANTINE, mavis_arena_strdup(m->arena, out.rel_path),
					 m->mail_id, -1, NULL };
		mavis_verdict_add_edit(v, m->arena, &qe);
		quarantined = true;
	}
	for (size_t i = 0; i < v->nrcpts; i++)
		if (v->rcpts[i].blocking.major < 0 && v->rcpts[i].local)
			local_passed = true;
	if (quarantined && v->action == MAVIS_ACTION_ACCEPT && local_passed) {
		struct mavis_edit he = { MAVIS_EDIT_INSERT_HEADER, "X-Quarantine-ID",
					 mavis_arena_printf(m->arena, " <%s>", m->mail_id), 0, NULL };
		mavis_verdict_add_edit(v, m->arena, &he);
	}
	return 0;
}
