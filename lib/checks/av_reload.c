/* SPDX-License-Identifier: GPL-2.0-or-later */
/* av_reload.c - signature reload without downtime: build aside, swap by refcount */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <mavis/av.h>

#include "av_internal.h"

void
av_reload_init(struct mavis_av *av)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&av->lock, NULL);
	pthread_mutex_init(&av->reload_lock, NULL);
	/* Deadlines are monotonic: a clock step must not stretch a wait. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&av->cond, &ca);
	pthread_condattr_destroy(&ca);
}

void
av_reload_fini(struct mavis_av *av)
{
	if (av->have_dbstat)
		cl_statfree(&av->dbstat);
	av->have_dbstat = false;
	pthread_mutex_destroy(&av->lock);
	pthread_cond_destroy(&av->cond);
	pthread_mutex_destroy(&av->reload_lock);
}

void
av_dbstat_reset(struct mavis_av *av)
{
	if (av->have_dbstat)
		cl_statfree(&av->dbstat);
	memset(&av->dbstat, 0, sizeof(av->dbstat));
	/* Failure only costs change detection; the load reports the real error. */
	av->have_dbstat = cl_statinidir(av_db_dir(&av->es), &av->dbstat) == CL_SUCCESS;
}

/* Wait on av->cond until the monotonic deadline; false when it passed. */
static bool
wait_until(struct mavis_av *av, uint64_t deadline)
{
	struct timespec ts;

	if (av_now_ms() >= deadline)
		return false;
	ts.tv_sec = (time_t)(deadline / 1000);
	ts.tv_nsec = (long)(deadline % 1000) * 1000000L;
	return pthread_cond_timedwait(&av->cond, &av->lock, &ts) != ETIMEDOUT ||
	       av_now_ms() < deadline;
}

int
av_engine_acquire(struct mavis_av *av, uint64_t deadline, struct mavis_av_engine **e,
		  struct mavis_error *err)
{
	int rc = 0;

	*e = NULL;
	pthread_mutex_lock(&av->lock);
	while (av->engine == NULL && av->reloading)
		if (!wait_until(av, deadline))
			break;
	if (av->engine != NULL) {
		*e = mavis_av_engine_ref(av->engine);
		av->inflight++;
	} else if (av->reloading) {
		rc = mavis_error_set(err, MAVIS_ERR_SCANNER,
				     "timed out waiting for the ClamAV signature reload");
	} else {
		rc = mavis_error_set(err, MAVIS_ERR_SCANNER, "no ClamAV engine loaded%s%s",
				     av->load_error[0] ? ": " : "", av->load_error);
	}
	pthread_mutex_unlock(&av->lock);
	return rc;
}

void
av_engine_release(struct mavis_av *av, struct mavis_av_engine **e)
{
	if (*e == NULL)
		return;
	pthread_mutex_lock(&av->lock);
	av->inflight--;
	if (av->reloading && av->inflight == 0)
		pthread_cond_broadcast(&av->cond);
	pthread_mutex_unlock(&av->lock);
	/* Outside the lock: the last reference to a swapped-out engine frees
	   it here, which takes a while with a full database. */
	mavis_av_engine_unref(e);
}

struct mavis_av_engine *
mavis_av_engine_get(struct mavis_av *av)
{
	struct mavis_av_engine *e = NULL;

	pthread_mutex_lock(&av->lock);
	if (av->engine != NULL)
		e = mavis_av_engine_ref(av->engine);
	pthread_mutex_unlock(&av->lock);
	return e;
}

/* Build the new engine while scans go on with the old one, then swap. */
static int
reload_concurrent(struct mavis_av *av, struct mavis_av_reload_report *rep,
		  struct mavis_error *err)
{
	struct mavis_av_engine *e = NULL, *old;

	if (mavis_av_engine_load(&av->es, &e, err) < 0)
		return MAVIS_ERR_SCANNER;	/* the old engine stays */
	rep->signatures = mavis_av_engine_signatures(e);
	rep->load_ms = mavis_av_engine_load_ms(e);
	pthread_mutex_lock(&av->lock);
	old = av->engine;
	av->engine = e;
	av->load_error[0] = '\0';
	pthread_mutex_unlock(&av->lock);
	/* Scans still on the old engine keep it alive; the last one frees it. */
	mavis_av_engine_unref(&old);
	rep->reloaded = true;
	return 0;
}

/*
 * One engine at a time: check the directory, stop handing out the old
 * engine, wait for the scans that hold it, free it, load the new one. New
 * scans wait in av_engine_acquire meanwhile.
 */
static int
reload_serial(struct mavis_av *av, struct mavis_av_reload_report *rep,
	      struct mavis_error *err)
{
	struct mavis_av_engine *e = NULL, *old;
	uint64_t t0, drain_deadline;
	int rc;

	/* Cheap check first: with nothing loadable, keep what works. */
	if (av->engine != NULL && av_engine_precheck(av_db_dir(&av->es), err) < 0)
		return MAVIS_ERR_SCANNER;

	pthread_mutex_lock(&av->lock);
	old = av->engine;
	av->engine = NULL;
	av->reloading = true;
	t0 = av_now_ms();
	/* A scan stuck past the scanner timeout must not stall the reload; the
	   old engine is then freed by its last scan instead of here. */
	drain_deadline = t0 + av->timeout_ms;
	while (av->inflight > 0)
		if (!wait_until(av, drain_deadline))
			break;
	pthread_mutex_unlock(&av->lock);
	rep->waited_ms = (unsigned)(av_now_ms() - t0);
	mavis_av_engine_unref(&old);

	rc = mavis_av_engine_load(&av->es, &e, err);
	pthread_mutex_lock(&av->lock);
	av->engine = e;
	av->reloading = false;
	if (rc < 0)
		snprintf(av->load_error, sizeof(av->load_error), "%s", err ? err->text : "");
	else
		av->load_error[0] = '\0';
	pthread_cond_broadcast(&av->cond);
	pthread_mutex_unlock(&av->lock);
	if (rc < 0)
		return MAVIS_ERR_SCANNER;
	rep->signatures = mavis_av_engine_signatures(e);
	rep->load_ms = mavis_av_engine_load_ms(e);
	rep->reloaded = true;
	return 0;
}

/*
 * cl_statchkdir() only looks at the files present now, so a removed database
 * file goes unnoticed; comparing the number of files catches that too.
 */
bool
av_dbdir_changed(struct mavis_av *av)
{
	struct cl_stat now;
	bool changed;

	if (!av->have_dbstat)
		return true;
	if (cl_statchkdir(&av->dbstat) == 1)
		return true;
	memset(&now, 0, sizeof(now));
	if (cl_statinidir(av_db_dir(&av->es), &now) != CL_SUCCESS)
		return true;
	changed = now.entries != av->dbstat.entries;
	cl_statfree(&now);
	return changed;
}

int
mavis_av_reload(struct mavis_av *av, bool force, struct mavis_av_reload_report *rep,
		struct mavis_error *err)
{
	struct mavis_av_reload_report dummy;
	bool have_engine;
	int rc;

	if (rep == NULL)
		rep = &dummy;
	memset(rep, 0, sizeof(*rep));
	if (!av->want_engine)
		return 0;
	pthread_mutex_lock(&av->reload_lock);
	pthread_mutex_lock(&av->lock);
	have_engine = av->engine != NULL;
	if (have_engine)
		rep->old_signatures = mavis_av_engine_signatures(av->engine);
	pthread_mutex_unlock(&av->lock);
	/* Without an engine (a failed serial reload) retry every time. */
	rep->changed = force || !have_engine || av_dbdir_changed(av);
	if (!rep->changed) {
		pthread_mutex_unlock(&av->reload_lock);
		return 0;
	}
	/* Snapshot before loading: an update landing during the load is seen
	   by the next call. A broken update is not retried until it changes. */
	av_dbstat_reset(av);
	if (av->es.concurrent_reload)
		rc = reload_concurrent(av, rep, err);
	else
		rc = reload_serial(av, rep, err);
	pthread_mutex_unlock(&av->reload_lock);
	return rc;
}
