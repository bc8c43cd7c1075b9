/* SPDX-License-Identifier: GPL-2.0-or-later */
/* engine.c - process-wide state: config snapshot and shared scanners, swapped whole */

#include <stdlib.h>
#include <string.h>

#include <mavis/alloc.h>
#include <mavis/log.h>
#include <mavis/sql.h>

#include "pipeline_int.h"

/* A config LIST as the NULL-terminated array av.h wants. */
/* Debian's publicsuffix package, in libpsl's compact form */
#define MAVIS_PUBLIC_SUFFIX_LIST "/usr/share/publicsuffix/public_suffix_list.dafsa"

/* Is a BANK bool key on globally or in some bank? (the SPF and DMARC
   engine is built only then) */
static bool
key_on_anywhere(const struct mavis_config *cfg, enum mavis_key key)
{
	if (mavis_config_get(cfg, key)->u.b)
		return true;
	for (size_t i = 0; i < mavis_config_bank_count(cfg); i++) {
		const struct mavis_value *v =
			mavis_config_bank_get(cfg, mavis_config_bank_name(cfg, i), key);

		if (v != NULL && v->u.b)
			return true;
	}
	return false;
}

static const char *const *
list_of(struct mavis_arena *a, const struct mavis_config *cfg, enum mavis_key key)
{
	const struct mavis_value *v = mavis_config_get(cfg, key);
	const char **out = mavis_arena_calloc(a, v->u.list.n + 1, sizeof(*out));

	for (size_t i = 0; i < v->u.list.n; i++)
		out[i] = v->u.list.v[i];
	return out;
}

static void
av_settings_from(struct mavis_av_settings *st, struct mavis_arena *a,
		 const struct mavis_config *cfg)
{
	mavis_av_settings_init(st);
	st->database_dir = mavis_config_get(cfg, MAVIS_KEY_CLAMAV_DATABASE_DIR)->u.s;
	st->tmpdir = mavis_config_get(cfg, MAVIS_KEY_TMP_DIR)->u.s;
	st->scanners = list_of(a, cfg, MAVIS_KEY_AV_SCANNERS);
	st->scanners_backup = list_of(a, cfg, MAVIS_KEY_AV_SCANNERS_BACKUP);
	st->clamd_sockets = list_of(a, cfg, MAVIS_KEY_CLAMD_SOCKETS);
	st->timeout_ms = (unsigned)mavis_config_get(cfg, MAVIS_KEY_CLAMD_TIMEOUT)->u.i * 1000;
	st->clamd_stream_max = (uint64_t)mavis_config_get(cfg, MAVIS_KEY_CLAMD_STREAM_MAX_LENGTH)->u.i;
	st->concurrent_reload = mavis_config_get(cfg, MAVIS_KEY_CLAMAV_CONCURRENT_RELOAD)->u.b;
}

static bool
av_configured(const struct mavis_config *cfg)
{
	return mavis_config_get(cfg, MAVIS_KEY_AV_SCANNERS)->u.list.n > 0 ||
	       mavis_config_get(cfg, MAVIS_KEY_AV_SCANNERS_BACKUP)->u.list.n > 0;
}

/* Build a state for cfg. prev (may be NULL) lends its ClamAV engine when the
   settings match, so a config reload does not load the signatures again. */
static int
state_new(struct mavis_config *cfg, struct engine_state *prev, struct engine_state **out,
	  struct mavis_error *err)
{
	struct engine_state *st = mavis_xcalloc(1, sizeof(*st));
	int rc;

	atomic_init(&st->refs, 1);
	st->cfg = mavis_config_ref(cfg);
	st->arena = mavis_arena_new(1024);
	rc = mavis_decode_init(err);
	if (rc < 0) {
		engine_state_unpin(&st);
		return rc;
	}
	const char *rules = mavis_config_get(cfg, MAVIS_KEY_BANNED_RULES_FILE)->u.s;
	/* Nothing named: Debian amavisd's defaults, as its users expect;
	   "none" is the explicit way to have no banned checks. */
	if (rules == NULL || *rules == '\0')
		rc = mavis_banned_load_default(&st->banned, err);
	else if (strcmp(rules, "none") == 0)
		rc = 0;
	else
		rc = mavis_banned_load_file(rules, &st->banned, err);
	if (rc < 0) {
		mavis_error_prefix(err, "banned_rules_file: ");
		engine_state_unpin(&st);
		return rc;
	}
	if (mavis_config_get(cfg, MAVIS_KEY_SPAM_SCANNERS)->u.list.n > 0) {
		rc = mavis_spam_scanners_from_config(cfg, &st->spam, err);
		if (rc < 0) {
			mavis_error_prefix(err, "spam_scanners: ");
			engine_state_unpin(&st);
			return rc;
		}
	}
	/* Text tests only when a rule can see their types (bench/PROFILE.md:
	   they are half of libmagic's cost on the parts of typical mail). */
	rc = mavis_filetype_pool_new(
		(unsigned)mavis_config_get(cfg, MAVIS_KEY_FILETYPE_POOL_SIZE)->u.i,
		mavis_banned_sees_text_types(st->banned) ? MAVIS_FILETYPE_TEXT_DETAIL : 0,
		&st->filetypes, err);
	if (rc < 0) {
		engine_state_unpin(&st);
		return rc;
	}
	rc = dkim_engine_new(cfg, &st->dkim, err);
	if (rc == 0 && (key_on_anywhere(cfg, MAVIS_KEY_ENABLE_SPF) ||
			key_on_anywhere(cfg, MAVIS_KEY_ENABLE_DMARC)))
		rc = auth_engine_new(dkim_engine_dns(st->dkim),
				     key_on_anywhere(cfg, MAVIS_KEY_ENABLE_DMARC) ? MAVIS_PUBLIC_SUFFIX_LIST
										 : NULL,
				     &st->auth, err);
	if (rc < 0) {
		engine_state_unpin(&st);
		return rc;
	}
	if (av_configured(cfg)) {
		struct mavis_av_settings set;

		av_settings_from(&set, st->arena, cfg);
		rc = mavis_av_new(&set, prev ? prev->av : NULL, &st->av, err);
		if (rc < 0) {
			if (!mavis_config_get(cfg, MAVIS_KEY_AV_DEGRADED_START)->u.b ||
			    rc == MAVIS_ERR_CONFIG) {
				engine_state_unpin(&st);
				return rc;
			}
			/* Degraded: every message gets on_scanner_failure until a
			   later check finds usable signatures. */
			st->av_error = mavis_arena_strdup(st->arena, err->text);
			mavis_log_err(NULL, "virus scanners unavailable, running degraded: %s", err->text);
		} else {
			struct mavis_av_engine *eng = mavis_av_engine_get(st->av);

			if (eng != NULL) {
				mavis_log_notice(NULL, "ClamAV engine: %u signatures from %s, loaded in %u ms",
						 mavis_av_engine_signatures(eng), mavis_av_engine_dir(eng),
						 mavis_av_engine_load_ms(eng));
				mavis_av_engine_unref(&eng);
			}
		}
	}
	*out = st;
	return 0;
}

void
engine_state_unpin(struct engine_state **pst)
{
	struct engine_state *st = *pst;

	if (st == NULL)
		return;
	*pst = NULL;
	if (atomic_fetch_sub(&st->refs, 1) != 1)
		return;
	mavis_av_free(&st->av);
	mavis_banned_free(&st->banned);
	mavis_spam_scanners_free(&st->spam);
	auth_engine_free(&st->auth);	/* before the resolver it borrows */
	dkim_engine_free(&st->dkim);
	mavis_filetype_pool_free(&st->filetypes);
	mavis_config_unref(&st->cfg);
	mavis_arena_free(&st->arena);
	free(st);
}

struct engine_state *
engine_state_pin(struct mavis_engine *e)
{
	struct engine_state *st;

	pthread_mutex_lock(&e->lock);
	st = e->cur;
	atomic_fetch_add(&st->refs, 1);
	pthread_mutex_unlock(&e->lock);
	return st;
}

static void
sql_opts_of(const struct mavis_config *cfg, struct mavis_sql_opts *o)
{
	unsigned t = (unsigned)mavis_config_get(cfg, MAVIS_KEY_SQL_TIMEOUT)->u.i;

	*o = (struct mavis_sql_opts){
		.dsn = mavis_config_get(cfg, MAVIS_KEY_SQL_DSN)->u.s,
		.pool_size = (unsigned)mavis_config_get(cfg, MAVIS_KEY_SQL_POOL_SIZE)->u.i,
		.timeout_ms = t * 1000,
		.connect_timeout_s = t,
		.wait_ms = t * 1000,
		.select_policy = mavis_config_get(cfg, MAVIS_KEY_SQL_SELECT_POLICY)->u.s,
		.select_wblist = mavis_config_get(cfg, MAVIS_KEY_SQL_SELECT_WHITE_BLACK_LIST)->u.s,
	};
}

/* The process's SQL pool from sql_dsn and the log writer (sql_log), made
   the first time a config has them: they live until exit (sessions of an
   old snapshot may still use them; a reload changes the pool's settings in
   place, sql_reload). No connection is opened here, so a database that is
   down does not stop the start: the lookups then fail with on_sql_failure. */
static int
sql_start(const struct mavis_config *cfg, struct mavis_error *err)
{
	const char *dsn = mavis_config_get(cfg, MAVIS_KEY_SQL_DSN)->u.s;
	struct mavis_sql *sql = mavis_sql_global();
	int rc;

	if (dsn == NULL || *dsn == '\0') {
		if (mavis_config_get(cfg, MAVIS_KEY_SQL_LOG)->u.b)
			return mavis_error_set(err, MAVIS_ERR_CONFIG, "sql_log = yes needs sql_dsn");
		return 0;
	}
	if (sql == NULL) {
		struct mavis_sql_opts o;

		sql_opts_of(cfg, &o);
		rc = mavis_sql_new(&o, &sql, err);
		if (rc < 0)
			return rc;
		mavis_sql_set_global(sql);
	}
	if (mavis_config_get(cfg, MAVIS_KEY_SQL_LOG)->u.b && mavis_sql_log_global() == NULL) {
		struct mavis_sql_log_opts lo = {
			.queue_max = (unsigned)mavis_config_get(cfg, MAVIS_KEY_SQL_LOG_QUEUE_SIZE)->u.i,
		};
		struct mavis_sql_log *l = NULL;

		rc = mavis_sql_log_new(sql, &lo, &l, err);
		if (rc < 0)
			return rc;
		mavis_sql_log_set_global(l);
	}
	return 0;
}

/* A reload's SQL settings: a new sql_dsn (or timeout, or clause) replaces
   the pool's for new connections, lookups in flight finish on theirs
   (mavis_sql_reconfigure); a pool or writer the old config had no use for
   is made now. What cannot change without a restart is said in the log. */
static int
sql_reload(const struct mavis_config *old, const struct mavis_config *cfg,
	   struct mavis_error *err)
{
	struct mavis_sql *sql = mavis_sql_global();
	const char *dsn = mavis_config_get(cfg, MAVIS_KEY_SQL_DSN)->u.s;
	struct mavis_sql_opts o;
	bool changed = false;

	if (sql == NULL || dsn == NULL || *dsn == '\0') {
		if (sql != NULL)
			mavis_log_warn(NULL, "reload: sql_dsn is now empty: the database pool of the "
					     "old one stays open until mavisd restarts");
		return sql_start(cfg, err);
	}
	sql_opts_of(cfg, &o);
	int rc = mavis_sql_reconfigure(sql, &o, &changed, err);

	if (rc < 0)
		return rc;
	if (changed)
		mavis_log_notice(NULL, "reload: new database settings (sql_dsn, sql_timeout, sql_select_*): "
				       "new lookups use them, those in flight finish on their connections");
	if (old != NULL && mavis_config_get(old, MAVIS_KEY_SQL_POOL_SIZE)->u.i !=
			   mavis_config_get(cfg, MAVIS_KEY_SQL_POOL_SIZE)->u.i)
		mavis_log_warn(NULL, "reload: sql_pool_size changes at the next restart only");
	if (old != NULL && mavis_config_get(old, MAVIS_KEY_SQL_LOG_QUEUE_SIZE)->u.i !=
			   mavis_config_get(cfg, MAVIS_KEY_SQL_LOG_QUEUE_SIZE)->u.i &&
	    mavis_sql_log_global() != NULL)
		mavis_log_warn(NULL, "reload: sql_log_queue_size changes at the next restart only");
	return sql_start(cfg, err);
}

int
mavis_engine_new(struct mavis_config *cfg, struct mavis_engine **out, struct mavis_error *err)
{
	struct mavis_engine *e;
	struct engine_state *st = NULL;
	int rc = sql_start(cfg, err);

	if (rc < 0)
		return rc;
	rc = state_new(cfg, NULL, &st, err);
	if (rc < 0)
		return rc;
	e = mavis_xcalloc(1, sizeof(*e));
	pthread_mutex_init(&e->lock, NULL);
	e->cur = st;
	mavis_stats_set_config_time(time(NULL));
	*out = e;
	return 0;
}

static void
swap_state(struct mavis_engine *e, struct engine_state *st)
{
	struct engine_state *old;

	pthread_mutex_lock(&e->lock);
	old = e->cur;
	e->cur = st;
	pthread_mutex_unlock(&e->lock);
	/* Sessions that pinned the old state keep it alive until they end. */
	engine_state_unpin(&old);
}

int
mavis_engine_reload(struct mavis_engine *e, struct mavis_config *cfg, struct mavis_error *err)
{
	struct engine_state *prev = engine_state_pin(e);
	struct engine_state *st = NULL;
	int rc = state_new(cfg, prev, &st, err);

	/* The new snapshot is whole: now the database settings (a bad one
	   fails the reload, the old config and pool settings stay). */
	if (rc == 0) {
		rc = sql_reload(prev->cfg, cfg, err);
		if (rc < 0)
			engine_state_unpin(&st);
	}
	engine_state_unpin(&prev);
	if (rc < 0)
		return rc;
	swap_state(e, st);
	mavis_stats_set_config_time(time(NULL));
	return 0;
}

int
mavis_engine_check_signatures(struct mavis_engine *e, bool force, struct mavis_error *err)
{
	struct engine_state *st = engine_state_pin(e);
	struct mavis_av_reload_report rep = { 0 };
	int rc = 0;

	if (st->av != NULL) {
		rc = mavis_av_reload(st->av, force, &rep, err);
		if (rc == 0 && rep.reloaded)
			mavis_log_notice(NULL, "ClamAV signatures reloaded: %u -> %u signatures in %u ms",
					 rep.old_signatures, rep.signatures, rep.load_ms);
		else if (rc < 0)
			mavis_log_err(NULL, "ClamAV signature reload failed, keeping the old engine: %s",
				      err->text);
	} else if (st->av_error != NULL) {
		/* Degraded start: try again to build the scanners. */
		struct engine_state *fresh = NULL;

		if (state_new(st->cfg, NULL, &fresh, err) == 0 && fresh->av != NULL) {
			mavis_log_notice(NULL, "virus scanners available again");
			swap_state(e, fresh);
		} else {
			engine_state_unpin(&fresh);
		}
	}
	engine_state_unpin(&st);
	return rc;
}

struct mavis_config *
mavis_engine_config(struct mavis_engine *e)
{
	struct engine_state *st = engine_state_pin(e);
	struct mavis_config *cfg = mavis_config_ref(st->cfg);

	engine_state_unpin(&st);
	return cfg;
}

void
mavis_engine_free(struct mavis_engine **pe)
{
	struct mavis_engine *e = *pe;

	if (e == NULL)
		return;
	*pe = NULL;
	engine_state_unpin(&e->cur);
	pthread_mutex_destroy(&e->lock);
	free(e);
}
