/* SPDX-License-Identifier: GPL-2.0-or-later */
/* av_clamav.c - the in-process libclamav engine: load, share, scan from memory */

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <clamav.h>

#include <mavis/alloc.h>
#include <mavis/av.h>
#include <mavis/log.h>
#include <mavis/stats.h>

#include "av_internal.h"

struct mavis_av_engine {
	atomic_uint refs;
	struct cl_engine *cl;
	struct cl_scan_options opts;
	unsigned signatures;
	unsigned load_ms;
	char *dir;
	/* What the engine was built with, so a new mavis_av can share it. */
	struct mavis_av_limits limits;
	char *tmpdir;
	bool heuristic_alerts, alert_exceeds_max, all_match;
};

/* ---- process-wide libclamav state ---- */

static pthread_once_t cl_once = PTHREAD_ONCE_INIT;
static cl_error_t cl_init_status = CL_ERROR;

/*
 * libclamav prints its warnings and errors to stderr unless given a
 * callback. We turn them into debug lines, and while this thread loads a
 * database we keep the last error: "cli_loadndb: Malformed pattern" is the
 * cause an admin needs in the load error, not just "Malformed database".
 */
static _Thread_local char *load_capture;

static void
cl_msg_cb(enum cl_msg severity, const char *fullmsg, const char *msg, void *context)
{
	size_t len;

	(void)context;
	if (msg == NULL)
		return;
	len = strlen(msg);
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		len--;
	if (load_capture != NULL && severity >= CL_MSG_WARN) {
		/* libclamav says it in steps ("Problem parsing database at line
		   1", "Can't load x.ndb: Malformed database"): keep them all. */
		size_t used = strlen(load_capture);

		if (used + 3 < MAVIS_ERROR_MAX)
			snprintf(load_capture + used, MAVIS_ERROR_MAX - used, "%s%.*s",
				 used ? "; " : "", (int)len, msg);
	}
	mavis_log_ll(5, NULL, "libclamav: %.*s", (int)len, msg);
}

static void
cl_init_once(void)
{
	/* Must precede any other thread using libclamav (clamav.h). */
	cl_set_clcb_msg(cl_msg_cb);
	cl_init_status = cl_init(CL_INIT_DEFAULT);
}

static int
av_cl_init(struct mavis_error *err)
{
	pthread_once(&cl_once, cl_init_once);
	if (cl_init_status != CL_SUCCESS)
		return mavis_error_set(err, MAVIS_ERR_SCANNER, "libclamav cl_init: %s",
				       cl_strerror(cl_init_status));
	return 0;
}

/* ---- names list shared by all scanners ---- */

void
av_names_add(struct av_names *l, struct mavis_arena *a, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], name) == 0)
			return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		const char **v = mavis_arena_calloc(a, cap, sizeof(*v));

		if (l->n)
			memcpy(v, l->v, l->n * sizeof(*v));
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = mavis_arena_strdup(a, name);
}

#define LIMIT_PREFIX "Heuristics.Limits.Exceeded."

int
av_limit_policy(struct av_names *l, size_t from, bool alert, struct mavis_error *err)
{
	const char *limit = NULL;
	size_t keep = from;

	for (size_t i = from; i < l->n; i++)
		if (strncmp(l->v[i], LIMIT_PREFIX, sizeof(LIMIT_PREFIX) - 1) == 0 && !alert) {
			if (limit == NULL)
				limit = l->v[i];
		} else {
			l->v[keep++] = l->v[i];
		}
	l->n = keep;
	if (l->n > from)
		return 1;	/* a real name: the limit no longer matters */
	return mavis_error_set(err, MAVIS_ERR_SCANNER,
			       "scan limit exceeded (%s): not fully checked",
			       limit != NULL ? limit : "?");
}

/* ---- load ---- */

const char *
av_db_dir(const struct mavis_av_settings *s)
{
	return s->database_dir != NULL && *s->database_dir ? s->database_dir : cl_retdbdir();
}

static int
set_num(struct cl_engine *cl, enum cl_engine_field f, long long v, const char *what,
	struct mavis_error *err)
{
	cl_error_t rc;

	if (v == 0)
		return 0;	/* keep libclamav's default */
	rc = cl_engine_set_num(cl, f, v);
	if (rc != CL_SUCCESS)
		return mavis_error_set(err, MAVIS_ERR_SCANNER, "libclamav: setting %s: %s",
				       what, cl_strerror(rc));
	return 0;
}

static int
apply_settings(struct cl_engine *cl, const struct mavis_av_settings *s,
	       struct mavis_error *err)
{
	const struct mavis_av_limits *l = &s->limits;
	cl_error_t rc;

	if (set_num(cl, CL_ENGINE_MAX_SCANSIZE, (long long)l->max_scansize,
		    "max_scansize", err) < 0 ||
	    set_num(cl, CL_ENGINE_MAX_FILESIZE, (long long)l->max_filesize,
		    "max_filesize", err) < 0 ||
	    set_num(cl, CL_ENGINE_MAX_RECURSION, l->max_recursion, "max_recursion",
		    err) < 0 ||
	    set_num(cl, CL_ENGINE_MAX_FILES, l->max_files, "max_files", err) < 0 ||
	    set_num(cl, CL_ENGINE_MAX_SCANTIME, l->max_scantime_ms, "max_scantime",
		    err) < 0)
		return MAVIS_ERR_SCANNER;
	if (s->tmpdir != NULL && *s->tmpdir) {
		rc = cl_engine_set_str(cl, CL_ENGINE_TMPDIR, s->tmpdir);
		if (rc != CL_SUCCESS)
			return mavis_error_set(err, MAVIS_ERR_SCANNER,
					       "libclamav: setting tmpdir %s: %s",
					       s->tmpdir, cl_strerror(rc));
	}
	return 0;
}

/* Per-scan context given to cl_scanmap_callback, seen by the callbacks. */
struct scan_ctx {
	struct av_names *names;
	struct mavis_arena *arena;
};

static void
virus_found_cb(int fd, const char *virname, void *context)
{
	struct scan_ctx *ctx = context;

	(void)fd;

	if (ctx != NULL && virname != NULL)
		av_names_add(ctx->names, ctx->arena, virname);
}

static void
engine_destroy(struct mavis_av_engine *e)
{
	if (e->cl != NULL)
		cl_engine_free(e->cl);
	free(e->dir);
	free(e->tmpdir);
	free(e);
}

int
mavis_av_engine_load(const struct mavis_av_settings *s, struct mavis_av_engine **out,
		     struct mavis_error *err)
{
	char cause[MAVIS_ERROR_MAX] = "";
	const char *dir = av_db_dir(s);
	struct mavis_av_engine *e;
	unsigned sigs = 0;
	uint64_t t0 = av_now_ms();
	cl_error_t rc;

	*out = NULL;
	/* Also catches the empty directory with a clear message, where cl_load
	   only says "Can't open file or directory". */
	if (av_engine_precheck(dir, err) < 0)
		return MAVIS_ERR_SCANNER;
	e = mavis_xcalloc(1, sizeof(*e));
	atomic_init(&e->refs, 1);
	e->dir = mavis_xstrdup(dir);
	e->tmpdir = s->tmpdir != NULL ? mavis_xstrdup(s->tmpdir) : NULL;
	e->limits = s->limits;
	e->heuristic_alerts = s->heuristic_alerts;
	e->alert_exceeds_max = s->alert_exceeds_max;
	e->all_match = s->all_match;

	e->cl = cl_engine_new();
	if (e->cl == NULL) {
		engine_destroy(e);
		return mavis_error_set(err, MAVIS_ERR_SCANNER,
				       "libclamav: cl_engine_new failed (out of memory)");
	}
	if (apply_settings(e->cl, s, err) < 0) {
		engine_destroy(e);
		return MAVIS_ERR_SCANNER;
	}
	/* Callbacks may only be set while nobody scans with the engine. */
	cl_engine_set_clcb_virus_found(e->cl, virus_found_cb);

	load_capture = cause;
	rc = cl_load(dir, e->cl, &sigs, CL_DB_STDOPT);
	load_capture = NULL;
	if (rc != CL_SUCCESS) {
		mavis_error_set(err, MAVIS_ERR_SCANNER, "loading ClamAV signatures from %s: %s%s%s",
				dir, cl_strerror(rc), cause[0] ? ": " : "", cause);
		engine_destroy(e);
		return MAVIS_ERR_SCANNER;
	}
	if (sigs == 0) {
		engine_destroy(e);
		return mavis_error_set(err, MAVIS_ERR_SCANNER, "no ClamAV signatures in %s "
				       "(run freshclam, or check database_dir)", dir);
	}
	load_capture = cause;
	rc = cl_engine_compile(e->cl);
	load_capture = NULL;
	if (rc != CL_SUCCESS) {
		mavis_error_set(err, MAVIS_ERR_SCANNER, "compiling ClamAV signatures from %s: %s%s%s",
				dir, cl_strerror(rc), cause[0] ? ": " : "", cause);
		engine_destroy(e);
		return MAVIS_ERR_SCANNER;
	}
	e->signatures = sigs;
	e->load_ms = (unsigned)(av_now_ms() - t0);
	/* The build time of the newest database (daily.cvd): the signature
	   age an admin alerts on. */
	int dberr = CL_SUCCESS;
	long long dbtime = cl_engine_get_num(e->cl, CL_ENGINE_DB_TIME, &dberr);
	if (dberr == CL_SUCCESS && dbtime > 0)
		mavis_stats_set_signature_time((time_t)dbtime);

	/* clamd's defaults for mail: every parser, heuristics unless disabled. */
	memset(&e->opts, 0, sizeof(e->opts));
	e->opts.parse = ~0u;
	if (s->heuristic_alerts)
		e->opts.general |= CL_SCAN_GENERAL_HEURISTICS;
	if (s->all_match)
		e->opts.general |= CL_SCAN_GENERAL_ALLMATCHES;
	/* Always: without it libclamav stops at a limit (MaxScanTime,
	   MaxFiles, MaxRecursion, ...) and says CL_CLEAN. av_limit_policy()
	   turns the alert into a virus name or a scanner failure. */
	e->opts.heuristic |= CL_SCAN_HEURISTIC_EXCEEDS_MAX;
	mavis_log_debug(NULL, "ClamAV engine: %u signatures from %s in %u ms", sigs, dir,
			e->load_ms);
	*out = e;
	return 0;
}

int
av_engine_precheck(const char *dir, struct mavis_error *err)
{
	unsigned sigs = 0;
	cl_error_t rc;

	if (av_cl_init(err) < 0)
		return MAVIS_ERR_SCANNER;
	rc = cl_countsigs(dir, CL_COUNTSIGS_ALL, &sigs);
	if (rc != CL_SUCCESS)
		return mavis_error_set(err, MAVIS_ERR_SCANNER,
				       "checking ClamAV signatures in %s: %s", dir,
				       cl_strerror(rc));
	if (sigs == 0)
		return mavis_error_set(err, MAVIS_ERR_SCANNER,
				       "no ClamAV signatures in %s (run freshclam, or "
				       "check database_dir)", dir);
	return 0;
}

/* ---- sharing ---- */

struct mavis_av_engine *
mavis_av_engine_ref(struct mavis_av_engine *e)
{
	atomic_fetch_add(&e->refs, 1);
	return e;
}

void
mavis_av_engine_unref(struct mavis_av_engine **ep)
{
	struct mavis_av_engine *e = *ep;

	if (e == NULL)
		return;
	*ep = NULL;
	/* The thread that drops the last reference pays for cl_engine_free. */
	if (atomic_fetch_sub(&e->refs, 1) == 1)
		engine_destroy(e);
}

unsigned
mavis_av_engine_signatures(const struct mavis_av_engine *e)
{
	return e->signatures;
}

unsigned
mavis_av_engine_load_ms(const struct mavis_av_engine *e)
{
	return e->load_ms;
}

const char *
mavis_av_engine_dir(const struct mavis_av_engine *e)
{
	return e->dir;
}

static bool
str_eq(const char *a, const char *b)
{
	if (a == NULL || *a == '\0')
		return b == NULL || *b == '\0';
	return b != NULL && strcmp(a, b) == 0;
}

bool
av_engine_matches(const struct mavis_av_engine *e, const struct mavis_av_settings *s)
{
	const struct mavis_av_limits *a = &e->limits, *b = &s->limits;

	return strcmp(e->dir, av_db_dir(s)) == 0 && str_eq(e->tmpdir, s->tmpdir) &&
	       a->max_scansize == b->max_scansize && a->max_filesize == b->max_filesize &&
	       a->max_recursion == b->max_recursion && a->max_files == b->max_files &&
	       a->max_scantime_ms == b->max_scantime_ms &&
	       e->heuristic_alerts == s->heuristic_alerts &&
	       e->alert_exceeds_max == s->alert_exceeds_max && e->all_match == s->all_match;
}

/* ---- scan ---- */

int
av_engine_scan_into(struct mavis_av_engine *e, const struct mavis_av_buf *buf,
		    struct mavis_arena *arena, struct av_names *l, struct mavis_error *err)
{
	/* This buffer's names apart: l may already hold the same ones from
	   another buffer (the part and the raw message). */
	struct av_names cur = { 0 };
	struct scan_ctx ctx = { &cur, arena };
	struct cl_scan_options opts = e->opts;	/* libclamav wants it non-const */
	const char *name = buf->name != NULL ? buf->name : "buffer";
	const char *virname = NULL;
	unsigned long scanned = 0;
	cl_fmap_t *map;
	cl_error_t rc;

	if (buf->data == NULL)
		return mavis_error_set(err, MAVIS_ERR_SCANNER, "%s: no data", name);
	map = cl_fmap_open_memory(buf->data, buf->len);
	if (map == NULL)
		return mavis_error_set(err, MAVIS_ERR_SCANNER,
				       "%s: cl_fmap_open_memory failed (%zu bytes)", name,
				       buf->len);
	rc = cl_scanmap_callback(map, name, &virname, &scanned, e->cl, &opts, &ctx);
	cl_fmap_close(map);
	switch (rc) {
	case CL_CLEAN:
		return 0;
	case CL_VIRUS:
		/* The callback saw every name; virname is a fallback in case a
		   libclamav path reports without calling it. */
		if (cur.n == 0)
			av_names_add(&cur, arena, virname != NULL ? virname : "Unknown.Virus");
		if (av_limit_policy(&cur, 0, e->alert_exceeds_max, err) < 0) {
			mavis_error_prefix(err, "%s: ", name);
			/* Every piece of it was scanned on its own: amavisd,
			   which hands clamd the decoded parts only, has no
			   more than that either. */
			return buf->supplementary ? 2 : MAVIS_ERR_SCANNER;
		}
		for (size_t i = 0; i < cur.n; i++)
			av_names_add(l, arena, cur.v[i]);
		return 1;
	default:
		/* A broken unpacker, out of memory: not checked, not clean. */
		return mavis_error_set(err, MAVIS_ERR_SCANNER, "%s: libclamav: %s", name,
				       cl_strerror(rc));
	}
}

int
mavis_av_engine_scan(struct mavis_av_engine *e, const struct mavis_av_buf *buf,
		     struct mavis_arena *arena, const char *const **names, size_t *n_names,
		     struct mavis_error *err)
{
	struct av_names l = { 0 };
	int rc = av_engine_scan_into(e, buf, arena, &l, err);

	if (names != NULL)
		*names = l.v;
	if (n_names != NULL)
		*n_names = l.n;
	return rc;
}
