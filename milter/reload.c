/* SPDX-License-Identifier: GPL-2.0-or-later */
/* reload.c - the filter process's reload thread (SIGUSR1) */

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include <mavis/config.h>
#include <mavis/log.h>

#include "mavisd.h"

struct reload_arg {
	struct mavis_engine *engine;
	const char *path;
};

/* Build the new snapshot off to the side; any error keeps the old one. */
static void
reload_once(struct reload_arg *ra)
{
	struct mavis_config *cfg = NULL;
	struct mavis_error err = { 0 };

	if (mavis_config_load(ra->path, &cfg, &err) < 0) {
		mavis_log_err(NULL, "reload failed, keeping the running configuration: %s", err.text);
		return;
	}
	for (const char *const *w = mavis_config_warnings(cfg); *w; w++)
		mavis_log_warn(NULL, "configuration: %s", *w);
	if (mavis_engine_reload(ra->engine, cfg, &err) < 0)
		mavis_log_err(NULL, "reload failed, keeping the running configuration: %s", err.text);
	else {
		mavis_log_set_level(mavis_log_level_from_amavis(
			mavis_config_get(cfg, MAVIS_KEY_LOG_LEVEL)->u.i));
		mavis_log_notice(NULL, "configuration reloaded from %s", ra->path);
	}
	mavis_config_unref(&cfg);
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
	struct timespec tick = { 1, 0 };
	unsigned long last_closed = 0;
	bool was_idle = true;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	for (;;) {
		int sig = sigtimedwait(&set, NULL, &tick);

		if (sig == SIGUSR1)
			reload_once(ra);
		else
			trim_when_idle(&last_closed, &was_idle);
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
