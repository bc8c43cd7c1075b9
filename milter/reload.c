/* SPDX-License-Identifier: GPL-2.0-or-later */
/* reload.c - the filter process's signal thread: reload (SIGUSR1), graceful stop (SIGUSR2) */

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mavis/config.h>
#include <mavis/log.h>
#include <mavis/stats.h>

#include "mavisd.h"

struct reload_arg {
	struct mavis_engine *engine;
	const char *path;
};

/* SIGUSR1 and the control socket's reload may come at once, and both, like
   the periodic signature check, swap engine state: one at a time. */
static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;

/* Build the new snapshot off to the side; any error keeps the old one. */
static int
reload_once(struct mavis_engine *engine, const char *path, char *why, size_t whysize)
{
	struct mavis_config *cfg = NULL;
	struct mavis_error err = { 0 };
	int rc = 0;

	if (mavis_config_load(path, &cfg, &err) < 0) {
		mavis_log_err(NULL, "reload failed, keeping the running configuration: %s", err.text);
		snprintf(why, whysize, "%s", err.text);
		return -1;
	}
	for (const char *const *w = mavis_config_warnings(cfg); *w; w++)
		mavis_log_warn(NULL, "configuration: %s", *w);
	if (mavis_engine_reload(engine, cfg, &err) < 0) {
		mavis_log_err(NULL, "reload failed, keeping the running configuration: %s", err.text);
		snprintf(why, whysize, "%s", err.text);
		rc = -1;
	} else {
		mavis_log_set_verbosity((int)mavis_config_get(cfg, MAVIS_KEY_LOG_LEVEL)->u.i);
		mavis_log_notice(NULL, "configuration reloaded from %s", path);
	}
	mavis_config_unref(&cfg);
	return rc;
}

int
mavisd_reload(struct mavis_engine *engine, const char *path, char *why, size_t whysize)
{
	struct mavis_error err = { 0 };
	int rc;

	pthread_mutex_lock(&reload_lock);
	mavisd_notify_reloading();
	rc = reload_once(engine, path, why, whysize);
	mavis_engine_check_signatures(engine, true, &err);
	mavis_stats_count(rc == 0 ? MAVIS_STATS_RELOAD_OK : MAVIS_STATS_RELOAD_FAILED);
	/* READY=1 also after a failed reload: the old configuration keeps
	   serving. */
	mavisd_notify("READY=1");
	pthread_mutex_unlock(&reload_lock);
	return rc;
}

/* Seconds between signature checks, from the current config (0 = never). */
static long long
check_interval(struct mavis_engine *engine)
{
	struct mavis_config *cfg = mavis_engine_config(engine);
	long long secs = mavis_config_get(cfg, MAVIS_KEY_CLAMAV_RELOAD_CHECK_INTERVAL)->u.i;

	mavis_config_unref(&cfg);
	return secs;
}

/*
 * Graceful stop. libmilter's own stop (smfi_stop, or SIGTERM reaching its
 * signal thread) abandons every open session at once: its worker pool stops
 * serving them and closes their sockets without xxfi_close, so a message in
 * flight gets the MTA's milter_default_action. So first refuse new sessions
 * and let the open ones finish, bounded by shutdown_timeout, then stop
 * libmilter (its listener notices within 5 s).
 */
static void
stop_gracefully(struct reload_arg *ra)
{
	struct mavis_config *cfg = mavis_engine_config(ra->engine);
	long long limit_ms = mavis_config_get(cfg, MAVIS_KEY_SHUTDOWN_TIMEOUT)->u.i * 1000;
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	long long waited_ms = 0;

	mavis_config_unref(&cfg);
	mavisd_callbacks_drain();
	mavis_log_notice(NULL, "stopping: %d session(s) in flight, waiting up to %llds",
			 mavisd_sessions_active(), limit_ms / 1000);
	while (mavisd_sessions_active() > 0 && waited_ms < limit_ms) {
		nanosleep(&tick, NULL);
		waited_ms += 100;
	}
	if (mavisd_sessions_active() > 0)
		mavis_log_warn(NULL, "stopping with %d session(s) still open after %llds",
			       mavisd_sessions_active(), limit_ms / 1000);
	smfi_stop();
}

/*
 * Why trim: libmilter runs each session on a pool thread, and glibc gives
 * busy threads their own malloc arenas. Message buffers of a few MB freed
 * there stay in the arenas (glibc raises its mmap threshold to the largest
 * freed mapping, so later big buffers come from the heap too): after a burst
 * of 64 sessions with 2 MB messages mavisd kept ~47 MB RSS while idle
 * (bench/README). malloc_trim(0) returns the free pages of every arena. It is
 * done here, off the message path, once per idle period: no session open now
 * and at the previous tick, and some session closed since the last trim.
 */
static void
trim_when_idle(unsigned long *last_closed, bool *was_idle)
{
	unsigned long closed = mavisd_sessions_closed();
	bool idle = mavisd_sessions_active() == 0;

	if (idle && *was_idle && closed != *last_closed) {
		malloc_trim(0);
		*last_closed = closed;
	}
	*was_idle = idle;
}

static void *
reload_main(void *arg)
{
	struct reload_arg *ra = arg;
	struct mavis_error err = { 0 };
	time_t next_check = time(NULL) + check_interval(ra->engine);
	unsigned long last_closed = 0;
	bool was_idle = true;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	for (;;) {
		struct timespec tmo = { 1, 0 };
		int sig = sigtimedwait(&set, NULL, &tmo);

		if (sig == SIGUSR1) {
			char why[512];

			mavisd_reload(ra->engine, ra->path, why, sizeof(why));
		} else if (sig == SIGUSR2) {
			if (!mavisd_callbacks_draining())
				stop_gracefully(ra);
		} else {
			if (time(NULL) >= next_check) {
				long long iv = check_interval(ra->engine);

				/* Under the reload lock: a reload from the control
				   socket checks the signatures too, on its thread. */
				if (iv > 0) {
					pthread_mutex_lock(&reload_lock);
					mavis_engine_check_signatures(ra->engine, false, &err);
					pthread_mutex_unlock(&reload_lock);
				}
				next_check = time(NULL) + (iv > 0 ? iv : 60);
			}
			trim_when_idle(&last_closed, &was_idle);
		}
		mavisd_notify_tick();
	}
	return NULL;
}

int
mavisd_reload_thread_start(struct mavis_engine *engine, const char *config_path)
{
	static struct reload_arg ra;
	pthread_t tid;
	int rc;

	ra.engine = engine;
	ra.path = config_path;
	rc = pthread_create(&tid, NULL, reload_main, &ra);
	if (rc != 0) {
		mavis_log_err(NULL, "cannot start the reload thread: %s", strerror(rc));
		return -1;
	}
	pthread_detach(tid);
	return 0;
}
