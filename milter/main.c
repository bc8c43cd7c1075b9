/* SPDX-License-Identifier: GPL-2.0-or-later */
/* main.c - mavisd-filter: options, start-up order, the filter process */

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mavis/config.h>
#include <mavis/log.h>
#include <mavis/sql.h>

#include "mavisd.h"

static void
usage(void)
{
	fprintf(stderr, "usage: mavisd-filter -n [-c CONFIG] [-s SOCKET] [-S FD]\n"
			"       mavisd-filter -F [-c CONFIG] [-s SOCKET] [-f]\n"
			"  the filter process of mavisd, started by mavisd(8): run that instead\n"
			"  -n     check the configuration and exit (-S FD: also write the\n"
			"         launcher's settings to descriptor FD)\n"
			"  -F     run as the filter process (-f: log to stderr)\n"
			"  default CONFIG: %s\n",
		MAVISD_DEFAULT_CONFIG);
	exit(2);
}

static int
load_config(const char *path, struct mavis_config **cfg)
{
	struct mavis_error err = { 0 };

	if (mavis_config_load(path, cfg, &err) < 0) {
		mavis_log_err(NULL, "configuration error: %s", err.text);
		return -1;
	}
	for (const char *const *w = mavis_config_warnings(*cfg); *w; w++)
		mavis_log_warn(NULL, "configuration: %s", *w);
	return 0;
}

static const char *
socket_of(const struct mavisd_opts *opts, const struct mavis_config *cfg)
{
	return opts->socket ? opts->socket : mavis_config_get(cfg, MAVIS_KEY_MILTER_SOCKET)->u.s;
}

/* Wait for sessions in flight after smfi_main returned, bounded. */
static void
drain_sessions(const struct mavis_config *cfg)
{
	long long limit = mavis_config_get(cfg, MAVIS_KEY_SHUTDOWN_TIMEOUT)->u.i;
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	long long waited_ms = 0;

	/* A graceful stop (reload.c) has waited for the sessions already. */
	if (mavisd_callbacks_draining())
		return;
	while (mavisd_sessions_active() > 0 && waited_ms < limit * 1000) {
		nanosleep(&tick, NULL);
		waited_ms += 100;
	}
	if (mavisd_sessions_active() > 0)
		mavis_log_warn(NULL, "stopping with %d session(s) still open after %llds",
			       mavisd_sessions_active(), limit);
}

/*
 * glibc gives each thread that meets a busy arena a new one, up to 8 per
 * CPU, and every arena keeps the top of its heap (up to twice the largest
 * buffer freed, once the dynamic mmap threshold has grown) after the buffers
 * are freed; malloc_trim cannot return that top. With libmilter's pool
 * threads and message buffers of a few MB, mavisd then held ~40 MB at rest
 * after 64 concurrent sessions (bench/README). As many arenas as CPUs keep
 * the lock contention of the busy threads low (threads beyond the CPUs do not
 * run at once anyway) and halve the resident size; throughput was the same
 * in the benchmark. Fixed mmap/trim thresholds were tried too: they cost 20%
 * throughput (a page fault per 4 KB of every large buffer, munmap shootdowns).
 */
static void
tune_malloc(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	mallopt(M_ARENA_MAX, cpus < 2 ? 2 : (int)cpus);
}

/* The filter process: engine, socket, privileges, libmilter. */
static int
run_filter(const struct mavisd_opts *opts)
{
	struct mavis_config *cfg = NULL;
	struct mavis_engine *engine = NULL;
	struct mavis_error err = { 0 };
	const char *sock;
	sigset_t set;
	int rc;

	/* Every thread inherits this mask: USR1 and USR2 go to the reload
	   thread only; libmilter's own thread waits for HUP, TERM and INT.
	   (It starts with it already: the launcher sets it before exec.) */
	mavisd_filter_sigmask(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	tune_malloc();

	if (load_config(opts->config_path, &cfg) < 0)
		return MAVISD_EX_CONFIG;
	if (!opts->foreground) {
		/* openlog keeps the pointer: a copy that outlives reloads. */
		static char ident[64];

		snprintf(ident, sizeof(ident), "%s", mavis_config_get(cfg, MAVIS_KEY_SYSLOG_IDENT)->u.s);
		mavis_log_open(ident, MAVIS_LOG_SYSLOG);
	}
	mavis_log_set_verbosity((int)mavis_config_get(cfg, MAVIS_KEY_LOG_LEVEL)->u.i);
	if (mavisd_prepare_dirs(cfg) < 0) {
		mavis_config_unref(&cfg);
		return MAVISD_EX_CONFIG;
	}
	/* Scanners and rules load as root, before the privilege drop. */
	if (mavis_engine_new(cfg, &engine, &err) < 0) {
		mavis_log_err(NULL, "cannot start: %s", err.text);
		mavis_config_unref(&cfg);
		return MAVISD_EX_CONFIG;
	}
	sock = socket_of(opts, cfg);
	mavisd_callbacks_init(engine);
	if (smfi_register(mavisd_filter) == MI_FAILURE || smfi_setconn((char *)(uintptr_t)sock) == MI_FAILURE ||
	    smfi_setbacklog((int)mavis_config_get(cfg, MAVIS_KEY_MILTER_BACKLOG)->u.i) == MI_FAILURE) {
		mavis_log_err(NULL, "cannot register with libmilter on %s", sock);
		rc = MAVISD_EX_CONFIG;
		goto out;
	}
	struct mavisd_socket_ids ids;
	if (mavisd_socket_begin(cfg, sock, &ids) < 0) {
		rc = MAVISD_EX_CONFIG;
		goto out;
	}
	/* true: remove a stale unix socket left by a crash. */
	int opened = smfi_opensocket(true);
	mavisd_socket_end(&ids);
	if (opened == MI_FAILURE) {
		mavis_log_err(NULL, "cannot open milter socket %s%s", sock,
			      ids.ids_changed ? " (as daemon_user: is its directory writable?)" : "");
		rc = MAVISD_EX_CONFIG;
		goto out;
	}
	/* As root, before the drop: the control socket is root's file
	   (group daemon_user's), and the release and metrics ports may be
	   below 1024. */
	if (mavisd_release_open(cfg) < 0 || mavisd_control_open(cfg) < 0 ||
	    mavisd_metrics_open(cfg) < 0) {
		rc = MAVISD_EX_CONFIG;
		goto out;
	}
	if (mavisd_drop_privileges(cfg) < 0) {
		rc = MAVISD_EX_CONFIG;
		goto out;
	}
	if (mavisd_reload_thread_start(engine, opts->config_path) < 0) {
		rc = 1;
		goto out;
	}
	if (mavisd_release_start(engine) < 0) {
		rc = 1;
		goto out;
	}
	mavisd_control_start(engine, opts->config_path);
	mavisd_metrics_start();
	mavis_log_notice(NULL, "mavisd %s starting on %s (config %s)", MAVIS_VERSION, sock,
			 opts->config_path);
	/* smfi_opensocket has bound and listened: the MTA can connect now,
	   and libmilter accepts once smfi_main runs. */
	mavisd_notify("READY=1\nSTATUS=0 sessions, 0 messages");
	if (strncmp(sock, "inet", 4) == 0 && !mavisd_sockio_active())
		mavis_log_warn(NULL, "built with the shared libmilter: no quick ACKs on %s, Sendmail "
				     "may wait ~40 ms per message (a unix: socket has no such delay)", sock);
	rc = smfi_main() == MI_SUCCESS ? 0 : 1;
	drain_sessions(cfg);
	mavisd_metrics_stop();
	mavisd_control_close();
	mavisd_release_stop((int)mavis_config_get(cfg, MAVIS_KEY_SHUTDOWN_TIMEOUT)->u.i);
	/* The SQL log rows still queued: a few seconds to write them. */
	struct mavis_sql_log *sql_log = mavis_sql_log_global();

	mavis_sql_log_free(&sql_log, 5000);
	mavis_log_notice(NULL, "mavisd stopped");
out:
	mavis_config_unref(&cfg);
	/* The engine stays: sessions that outlived the drain may still use it,
	   and the process exits now anyway. */
	return rc;
}

/* What the launcher needs and cannot read itself (it has no config
   parser): one "key=value" line each, values without newlines. */
static int
write_settings(int fd, const struct mavis_config *cfg)
{
	char buf[4096];
	int n = snprintf(buf, sizeof(buf), "pid_file=%s\nshutdown_timeout=%lld\nsyslog_ident=%s\n",
			 mavis_config_get(cfg, MAVIS_KEY_PID_FILE)->u.s,
			 mavis_config_get(cfg, MAVIS_KEY_SHUTDOWN_TIMEOUT)->u.i,
			 mavis_config_get(cfg, MAVIS_KEY_SYSLOG_IDENT)->u.s);

	if (n < 0 || (size_t)n >= sizeof(buf) || strpbrk(mavis_config_get(cfg, MAVIS_KEY_PID_FILE)->u.s, "\n") ||
	    strpbrk(mavis_config_get(cfg, MAVIS_KEY_SYSLOG_IDENT)->u.s, "\n")) {
		mavis_log_err(NULL, "pid_file or syslog_ident too long or with a newline");
		return -1;
	}
	if (write(fd, buf, (size_t)n) != n) {
		mavis_log_err(NULL, "cannot hand the settings to mavisd: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * mavisd (milter/launcher/) is a small program without libmavis: it checks
 * the configuration with "mavisd-filter -n -S", daemonizes, writes the pid
 * file and supervises "mavisd-filter -F", the process that does the work.
 * A separate executable keeps the supervising root process small: this one
 * links some sixty shared libraries, and the dynamic loader alone makes a
 * process of it hold ~15 MB resident.
 */
int
main(int argc, char **argv)
{
	struct mavisd_opts opts = { .config_path = MAVISD_DEFAULT_CONFIG, .settings_fd = -1 };
	struct mavis_config *cfg = NULL;
	bool filter = false;
	char *end;
	int c;

	while ((c = getopt(argc, argv, "c:s:fnFS:h")) != -1) {
		switch (c) {
		case 'c': opts.config_path = optarg; break;
		case 's': opts.socket = optarg; break;
		case 'f': opts.foreground = true; break;
		case 'n': opts.check_only = true; break;
		case 'F': filter = true; break;
		case 'S': {
			long fd;

			errno = 0;
			fd = strtol(optarg, &end, 10);
			if (errno || *end || fd < 3 || fd > 1024)
				usage();
			opts.settings_fd = (int)fd;
			break;
		}
		default: usage();
		}
	}
	if (optind != argc || filter == opts.check_only)
		usage();
	mavis_log_open("mavisd", (opts.foreground || opts.check_only) ? MAVIS_LOG_STDERR : MAVIS_LOG_SYSLOG);
	if (filter)
		return run_filter(&opts);
	if (load_config(opts.config_path, &cfg) < 0)
		return MAVISD_EX_CONFIG;
	mavis_log_set_verbosity((int)mavis_config_get(cfg, MAVIS_KEY_LOG_LEVEL)->u.i);
	int rc = mavisd_check_root(cfg) < 0 ? MAVISD_EX_CONFIG : 0;

	if (rc == 0 && opts.settings_fd >= 0 && write_settings(opts.settings_fd, cfg) < 0)
		rc = MAVISD_EX_CONFIG;
	mavis_config_unref(&cfg);
	return rc;
}
