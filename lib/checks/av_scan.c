/* SPDX-License-Identifier: GPL-2.0-or-later */
/* av_scan.c - scanner lists, amavisd primary/backup order, and the result */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mavis/alloc.h>
#include <mavis/av.h>
#include <mavis/buf.h>
#include <mavis/stats.h>

#include "av_internal.h"

static const char *const default_scanners[] = { "clamav", NULL };
static const char *const default_clamd_sockets[] = { "/run/clamav/clamd.ctl", NULL };

void
mavis_av_settings_init(struct mavis_av_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->scanners = default_scanners;
	s->clamd_sockets = default_clamd_sockets;
	s->connect_timeout_ms = 10000;	/* amavisd's connect timeout */
	s->timeout_ms = 60000;
	s->clamd_stream_max = 25u * 1024 * 1024;	/* Debian clamd.conf */
	s->heuristic_alerts = true;
	s->concurrent_reload = true;
}

/* ---- building the lists ---- */

static int
clamd_add(struct av_clamd *c, const char *spec, struct mavis_error *err)
{
	struct av_clamd_addr a;

	if (av_clamd_addr_parse(spec, &a, err) < 0) {
		free(a.spec);
		return MAVIS_ERR_CONFIG;
	}
	c->addrs = mavis_xrealloc(c->addrs, (c->n_addrs + 1) * sizeof(*c->addrs));
	c->addrs[c->n_addrs++] = a;
	return 0;
}

static int
scanner_parse(const char *spec, const struct mavis_av_settings *s, struct av_scanner *sc,
	      struct mavis_error *err)
{
	memset(sc, 0, sizeof(*sc));
	sc->name = mavis_xstrdup(spec);
	sc->clamd.connect_timeout_ms = s->connect_timeout_ms ? s->connect_timeout_ms : 10000;
	sc->clamd.stream_max = s->clamd_stream_max;
	sc->clamd.all_match = s->all_match;
	if (strcasecmp(spec, "clamav") == 0) {
		sc->kind = AV_KIND_CLAMAV;
		return 0;
	}
	sc->kind = AV_KIND_CLAMD;
	if (strcasecmp(spec, "clamd") == 0) {
		for (size_t i = 0; s->clamd_sockets != NULL && s->clamd_sockets[i] != NULL; i++)
			if (clamd_add(&sc->clamd, s->clamd_sockets[i], err) < 0)
				return MAVIS_ERR_CONFIG;
		if (sc->clamd.n_addrs == 0)
			return mavis_error_set(err, MAVIS_ERR_CONFIG,
					       "virus scanner \"clamd\" needs clamd_sockets");
		return 0;
	}
	if (strncasecmp(spec, "clamd:", 6) == 0)
		return clamd_add(&sc->clamd, spec + 6, err);
	return mavis_error_set(err, MAVIS_ERR_CONFIG,
			       "unknown virus scanner \"%s\" (want clamav, clamd or "
			       "clamd:SOCKET)", spec);
}

static void
scanners_free(struct av_scanner *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		av_clamd_free(&v[i].clamd);
	}
	free(v);
}

static int
list_parse(const char *const *specs, const struct mavis_av_settings *s, const char *what,
	   struct av_scanner **out, size_t *n_out, bool *want_engine, struct mavis_error *err)
{
	size_t n = 0;

	while (specs != NULL && specs[n] != NULL)
		n++;
	*out = n ? mavis_xcalloc(n, sizeof(**out)) : NULL;
	*n_out = 0;
	for (size_t i = 0; i < n; i++) {
		int rc = scanner_parse(specs[i], s, &(*out)[i], err);

		(*n_out)++;	/* so that scanners_free sees this one too */
		if (rc < 0) {
			mavis_error_prefix(err, "%s: ", what);
			return rc;
		}
		/* Only a valid spec gets a series: a typo in a failed reload
			   must not leave a label behind for good. */
		(*out)[i].stats_slot = mavis_stats_scanner_slot("virus", specs[i]);
		if ((*out)[i].kind == AV_KIND_CLAMAV)
			*want_engine = true;
	}
	return 0;
}

static void
copy_engine_settings(struct mavis_av *av, const struct mavis_av_settings *s)
{
	av->es = *s;
	/* Only the engine fields are used later; the borrowed lists are not. */
	av->es.scanners = av->es.scanners_backup = av->es.clamd_sockets = NULL;
	av->database_dir = s->database_dir ? mavis_xstrdup(s->database_dir) : NULL;
	av->tmpdir = s->tmpdir ? mavis_xstrdup(s->tmpdir) : NULL;
	av->es.database_dir = av->database_dir;
	av->es.tmpdir = av->tmpdir;
}

/*
 * The engine of prev, if it can serve s (same directory, same limits). A
 * config reload shares it even when the signature files changed since it
 * was loaded: loading them is the signature check's job (mavis_av_reload),
 * which keeps the old engine when the new files do not load and honours
 * concurrent_reload = no. *stale: they changed, the next check must load.
 */
static struct mavis_av_engine *
engine_from_prev(struct mavis_av *prev, const struct mavis_av_settings *s, bool *stale)
{
	struct mavis_av_engine *e;

	*stale = false;
	if (prev == NULL || (e = mavis_av_engine_get(prev)) == NULL)
		return NULL;
	if (!av_engine_matches(e, s)) {
		mavis_av_engine_unref(&e);
		return NULL;
	}
	pthread_mutex_lock(&prev->reload_lock);
	*stale = av_dbdir_changed(prev);
	pthread_mutex_unlock(&prev->reload_lock);
	return e;
}

int
mavis_av_new(const struct mavis_av_settings *s, struct mavis_av *prev, struct mavis_av **out,
	     struct mavis_error *err)
{
	struct mavis_av *av = mavis_xcalloc(1, sizeof(*av));
	int rc;

	*out = NULL;
	av_reload_init(av);
	copy_engine_settings(av, s);
	av->timeout_ms = s->timeout_ms ? s->timeout_ms : 60000;
	av->first_infected_stops_scan = s->first_infected_stops_scan;
	av->all_match = s->all_match;

	rc = list_parse(s->scanners, s, "av_scanners", &av->primary, &av->n_primary,
			&av->want_engine, err);
	if (rc == 0)
		rc = list_parse(s->scanners_backup, s, "av_scanners_backup", &av->backup,
				&av->n_backup, &av->want_engine, err);
	if (rc == 0 && av->want_engine) {
		bool stale;

		av_dbstat_reset(av);
		av->engine = engine_from_prev(prev, s, &stale);
		if (av->engine == NULL) {
			rc = mavis_av_engine_load(&av->es, &av->engine, err);
		} else if (stale && av->have_dbstat) {
			/* The snapshot just taken is newer than the shared engine:
			   drop it, so that the next check sees a change. */
			cl_statfree(&av->dbstat);
			av->have_dbstat = false;
		}
	}
	if (rc < 0) {
		mavis_av_free(&av);
		return rc;
	}
	*out = av;
	return 0;
}

void
mavis_av_free(struct mavis_av **avp)
{
	struct mavis_av *av = *avp;

	if (av == NULL)
		return;
	*avp = NULL;
	scanners_free(av->primary, av->n_primary);
	scanners_free(av->backup, av->n_backup);
	mavis_av_engine_unref(&av->engine);
	av_reload_fini(av);
	free(av->database_dir);
	free(av->tmpdir);
	free(av);
}

/* ---- scanning ---- */

struct loglist {
	struct mavis_av_logline *v;
	size_t n, cap;
};

static void
log_add(struct loglist *l, struct mavis_arena *a, enum mavis_log_level level,
	const char *fmt, ...) MAVIS_PRINTF(4, 5);

static void
log_add(struct loglist *l, struct mavis_arena *a, enum mavis_log_level level,
	const char *fmt, ...)
{
	va_list ap;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct mavis_av_logline *v = mavis_arena_calloc(a, cap, sizeof(*v));

		if (l->n)
			memcpy(v, l->v, l->n * sizeof(*v));
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].level = level;
	va_start(ap, fmt);
	l->v[l->n].text = mavis_arena_vprintf(a, fmt, ap);
	va_end(ap);
	l->n++;
}

static const char *
join(struct mavis_arena *a, const char *const *v, size_t n)
{
	struct mavis_buf b = { 0 };
	const char *s;

	for (size_t i = 0; i < n; i++)
		mavis_buf_printf(&b, "%s%s", i ? ", " : "", v[i]);
	s = mavis_arena_strdup(a, mavis_buf_str(&b));
	mavis_buf_free(&b);
	return s;
}

/* note_r: set (from arena) when a supplementary buffer hit a scan limit. */
static int
run_clamav(struct mavis_av *av, const struct mavis_av_buf *bufs, size_t n, uint64_t deadline,
	   struct mavis_arena *arena, struct av_names *names, const char **note_r,
	   struct mavis_error *err)
{
	struct mavis_av_engine *e = NULL;
	bool infected = false;
	int rc = 0;

	if (av_engine_acquire(av, deadline, &e, err) < 0)
		return MAVIS_ERR_SCANNER;
	for (size_t i = 0; i < n; i++) {
		if (bufs[i].len == 0)
			continue;
		rc = av_engine_scan_into(e, &bufs[i], arena, names, err);
		if (rc == 2) {
			*note_r = mavis_arena_strdup(arena, err->text);
			mavis_error_clear(err);
			rc = 0;
		}
		if (rc == 1)
			infected = true;
		if (rc < 0 || (rc == 1 && !av->all_match))
			break;
		/* libclamav cannot be interrupted; between buffers we can stop. */
		if (i + 1 < n && av_now_ms() >= deadline) {
			rc = mavis_error_set(err, MAVIS_ERR_SCANNER,
					     "timed out after %u ms (%zu of %zu buffers scanned)",
					     av->timeout_ms, i + 1, n);
			break;
		}
	}
	av_engine_release(av, &e);
	/* A virus found before a later buffer failed is still a virus. */
	if (infected)
		return 1;
	return rc < 0 ? MAVIS_ERR_SCANNER : 0;
}

struct scan_state {
	struct av_names names;		/* all virus names */
	struct av_names infected_by;	/* scanners that found something */
	struct av_names clean_by;	/* scanners that said clean */
	struct loglist log;
	unsigned done;			/* scanners that gave a status */
	bool infected;
};

static void
run_list(struct mavis_av *av, const struct av_scanner *list, size_t count,
	 const struct mavis_av_buf *bufs, size_t n, struct mavis_arena *arena,
	 struct scan_state *st)
{
	for (size_t i = 0; i < count; i++) {
		const struct av_scanner *sc = &list[i];
		uint64_t t0 = av_now_ms(), deadline = t0 + av->timeout_ms;
		struct av_names found = { 0 };
		struct mavis_error err;
		const char *notes = NULL;
		int rc;

		mavis_error_clear(&err);
		if (sc->kind == AV_KIND_CLAMAV)
			rc = run_clamav(av, bufs, n, deadline, arena, &found, &notes, &err);
		else
			rc = av_clamd_scan(&sc->clamd, bufs, n, deadline, arena, &found,
					   &notes, &err);
		if (rc == 1 && sc->kind == AV_KIND_CLAMD)
			rc = av_limit_policy(&found, 0, av->es.alert_exceeds_max, &err);
		mavis_stats_scanner_call(sc->stats_slot, rc >= 0, (unsigned long)(av_now_ms() - t0) * 1000);
		if (notes != NULL && sc->kind == AV_KIND_CLAMAV)
			log_add(&st->log, arena, MAVIS_LOG_NOTICE,
				"%s av-scanner: %s; every decoded part was scanned on its own",
				sc->name, notes);
		else if (notes != NULL)
			log_add(&st->log, arena, MAVIS_LOG_WARNING,
				"%s av-scanner: failed over after: %s", sc->name, notes);
		if (rc < 0) {
			/* The amavisd line; the cause is what the admin needs. */
			log_add(&st->log, arena, MAVIS_LOG_WARNING, "%s av-scanner FAILED: %s",
				sc->name, err.text[0] ? err.text : "unknown error");
			continue;
		}
		st->done++;
		if (rc == 0) {
			av_names_add(&st->clean_by, arena, sc->name);
			log_add(&st->log, arena, MAVIS_LOG_INFO, "%s av-scanner: CLEAN (%u ms)",
				sc->name, (unsigned)(av_now_ms() - t0));
			continue;
		}
		st->infected = true;
		av_names_add(&st->infected_by, arena, sc->name);
		for (size_t k = 0; k < found.n; k++)
			av_names_add(&st->names, arena, found.v[k]);
		log_add(&st->log, arena, MAVIS_LOG_INFO, "%s av-scanner: INFECTED: %s (%u ms)",
			sc->name, join(arena, found.v, found.n),
			(unsigned)(av_now_ms() - t0));
		if (av->first_infected_stops_scan)
			break;
	}
}

static int
result_failed(struct mavis_av_result *res, struct scan_state *st, struct mavis_arena *arena,
	      const char *text, uint64_t t0)
{
	log_add(&st->log, arena, MAVIS_LOG_ERR, "AV: %s", text);
	res->status = MAVIS_AV_FAILED;
	res->text = mavis_arena_strdup(arena, text);
	res->log = st->log.v;
	res->n_log = st->log.n;
	res->elapsed_ms = (unsigned)(av_now_ms() - t0);
	return MAVIS_ERR_SCANNER;
}

int
mavis_av_scan(struct mavis_av *av, const struct mavis_av_buf *bufs, size_t n,
	      struct mavis_arena *arena, struct mavis_av_result *res)
{
	struct scan_state st;
	uint64_t t0 = av_now_ms();

	memset(&st, 0, sizeof(st));
	memset(res, 0, sizeof(*res));
	res->text = res->scanners = "";
	res->status = MAVIS_AV_FAILED;
	if (n == 0)
		return result_failed(res, &st, arena, "nothing to scan (no buffers given)", t0);
	for (size_t i = 0; i < n; i++)
		if (bufs[i].len > 0 && bufs[i].data == NULL)
			return result_failed(res, &st, arena, "buffer without data", t0);
	if (av->n_primary + av->n_backup == 0)
		return result_failed(res, &st, arena, "NO VIRUS SCANNERS AVAILABLE", t0);

	run_list(av, av->primary, av->n_primary, bufs, n, arena, &st);
	if (st.done == 0 && av->n_backup > 0) {
		log_add(&st.log, arena, MAVIS_LOG_WARNING,
			"WARN: all primary virus scanners failed, considering backups");
		run_list(av, av->backup, av->n_backup, bufs, n, arena, &st);
	}
	if (st.done == 0)
		return result_failed(res, &st, arena, "ALL VIRUS SCANNERS FAILED", t0);

	if (st.infected) {
		res->status = MAVIS_AV_INFECTED;
		res->names = st.names.v;
		res->n_names = st.names.n;
		res->text = join(arena, st.names.v, st.names.n);
		res->scanners = join(arena, st.infected_by.v, st.infected_by.n);
		log_add(&st.log, arena, MAVIS_LOG_INFO,
			"virus_scan: (%s), detected by %zu scanners: %s", res->text,
			st.infected_by.n, res->scanners);
	} else {
		res->status = MAVIS_AV_CLEAN;
		res->scanners = join(arena, st.clean_by.v, st.clean_by.n);
	}
	res->log = st.log.v;
	res->n_log = st.log.n;
	res->elapsed_ms = (unsigned)(av_now_ms() - t0);
	return 0;
}
