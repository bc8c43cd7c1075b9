/* SPDX-License-Identifier: GPL-2.0-or-later */
/* reload.c - the filter process's reload thread (SIGUSR1) */

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

/* Seconds between signature checks, from the current config (0 = never). */
static long long
check_interval(struct mavis_engine *engine)
{
	struct mavis_config *cfg = mavis_engine_config(engine);
	long long secs = mavis_config_get(cfg, MAVIS_KEY_CLAMAV_RELOAD_CHECK_INTERVAL)->u.i;

	mavis_config_unref(&cfg);
	return secs;
}

static void *
reload_main(void *arg)
{
	struct reload_arg *ra = arg;
	struct mavis_error err = { 0 };
	time_t next_check = time(NULL) + check_interval(ra->engine);
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	for (;;) {
		struct timespec tmo = { 1, 0 };
		int sig = sigtimedwait(&set, NULL, &tmo);

		if (sig == SIGUSR1) {
			reload_once(ra);
			mavis_engine_check_signatures(ra->engine, true, &err);
		} else if (time(NULL) >= next_check) {
			long long iv = check_interval(ra->engine);

			if (iv > 0)
				mavis_engine_check_signatures(ra->engine, false, &err);
			next_check = time(NULL) + (iv > 0 ? iv : 60);
		}
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
