/* SPDX-License-Identifier: GPL-2.0-or-later */
/* supervise.c - parent process: signal forwarding, filter restarts, pid file */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mavis/log.h>

#include "mavisd.h"

/*
 * Why a parent process: libmilter's own signal thread treats SIGHUP as "stop"
 * and would race any sigwait of ours for the same signal. The parent owns
 * the admin-facing signals; the filter process only ever sees SIGUSR1
 * (reload) and SIGUSR2 (graceful stop: finish the sessions in flight) from
 * it. A SIGTERM sent to the filter process directly stays libmilter's
 * immediate stop (run under systemd with KillMode=mixed).
 */

void
mavisd_filter_sigmask(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGUSR2);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

static pid_t
start_child(const struct mavisd_opts *opts, int (*run_filter)(const struct mavisd_opts *))
{
	pid_t pid = fork();

	if (pid == 0) {
		sigset_t filter;

		/* Straight from the parent's mask (which blocks all of these)
		   to the filter's: a reload or stop sent right after the fork
		   waits for the reload thread instead of killing the child by
		   its default action. Only SIGCHLD is let through. */
		mavisd_filter_sigmask(&filter);
		pthread_sigmask(SIG_SETMASK, &filter, NULL);
		_exit(run_filter(opts));
	}
	if (pid < 0)
		mavis_log_err(NULL, "cannot fork the filter process: %s", strerror(errno));
	return pid;
}

int
mavisd_supervise(const struct mavisd_opts *opts, const struct mavis_config *cfg,
		 int (*run_filter)(const struct mavisd_opts *))
{
	/* The filter drains for up to shutdown_timeout, then libmilter's
	   listener takes up to 5 s more to notice the stop. */
	long long stop_wait = mavis_config_get(cfg, MAVIS_KEY_SHUTDOWN_TIMEOUT)->u.i + 10;
	sigset_t set;
	pid_t child;
	bool stopping = false;
	time_t started, stop_deadline = 0;
	int backoff = 1, status = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* Blocked, not waited for: the child inherits it blocked across fork
	   (the parent itself never gets SIGUSR2). */
	sigset_t usr2;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &usr2, NULL);
	/* As root, before any child runs: the parent never drops privileges. */
	mavisd_write_pid_file(cfg);

	started = time(NULL);
	child = start_child(opts, run_filter);
	if (child < 0)
		return 1;
	for (;;) {
		struct timespec tmo = { 1, 0 };
		siginfo_t info;
		int sig = sigtimedwait(&set, &info, &tmo);

		if (sig == SIGHUP || sig == SIGUSR1) {
			mavis_log_info(NULL, "reload requested (signal %d)", sig);
			if (child > 0)
				kill(child, SIGUSR1);
		} else if (sig == SIGTERM || sig == SIGINT) {
			if (!stopping) {
				mavis_log_notice(NULL, "stopping (signal %d)", sig);
				stopping = true;
				stop_deadline = time(NULL) + stop_wait;
				if (child > 0)
					kill(child, SIGUSR2);
			}
		}
		if (stopping && child > 0 && time(NULL) > stop_deadline) {
			mavis_log_warn(NULL, "filter process %ld did not stop in time, killing it",
				       (long)child);
			kill(child, SIGKILL);
			stop_deadline = time(NULL) + 60;
		}
		/* Reap on every wake-up: SIGCHLD may coalesce. */
		pid_t got = child > 0 ? waitpid(child, &status, WNOHANG) : 0;
		if (got != child || child <= 0)
			continue;
		child = 0;
		if (stopping)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
		if (WIFEXITED(status) && WEXITSTATUS(status) == MAVISD_EX_CONFIG &&
		    time(NULL) - started < 10) {
			mavis_log_err(NULL, "filter process could not start; giving up");
			return MAVISD_EX_CONFIG;
		}
		/* Postfix's milter_default_action covers the gap (tempfail). */
		mavis_log_err(NULL, "filter process ended unexpectedly (%s %d); restarting in %ds",
			      WIFSIGNALED(status) ? "signal" : "status",
			      WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), backoff);
		sleep((unsigned)backoff);
		if (time(NULL) - started > 60)
			backoff = 1;
		else if (backoff < 30)
			backoff *= 2;
		started = time(NULL);
		child = start_child(opts, run_filter);
		if (child < 0)
			return 1;
	}
}
