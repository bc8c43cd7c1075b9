/* SPDX-License-Identifier: GPL-2.0-or-later */
/* supervise.c - the launcher's loop: signal forwarding, filter restarts */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "../sigmask.h"
#include "launcher.h"

/*
 * Why a parent process: libmilter's own signal thread treats SIGHUP as "stop"
 * and would race any sigwait of ours for the same signal. The parent owns
 * the admin-facing signals; the filter process only ever sees SIGUSR1
 * (reload) and SIGUSR2 (graceful stop: finish the sessions in flight) from
 * it. A SIGTERM sent to the filter process directly stays libmilter's
 * immediate stop (run under systemd with KillMode=mixed).
 */

static pid_t
start_child(const struct launch *l)
{
	pid_t pid = fork();

	if (pid == 0) {
		sigset_t filter;

		/* Straight from the parent's mask (which blocks all of these)
		   to the filter's, kept across exec: a reload or stop sent
		   right after the fork waits for the filter's reload thread
		   instead of killing it by its default action. SIGCHLD goes
		   back to normal: the filter reaps its own children. */
		mavisd_filter_sigmask(&filter);
		sigprocmask(SIG_SETMASK, &filter, NULL);
		execv(l->filter_path, l->filter_argv);
		launch_log(LOG_ERR, "cannot run the filter process %s: %s", l->filter_path, strerror(errno));
		_exit(LAUNCH_EX_CONFIG);
	}
	if (pid < 0)
		launch_log(LOG_ERR, "cannot fork the filter process: %s", strerror(errno));
	return pid;
}

int
launch_supervise(const struct launch *l)
{
	/* The filter drains for up to shutdown_timeout, then libmilter's
	   listener takes up to 5 s more to notice the stop. */
	long long stop_wait = l->shutdown_timeout + 10;
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
	sigprocmask(SIG_BLOCK, &set, NULL);
	/* Blocked, not waited for: the parent itself never gets SIGUSR2. */
	sigset_t usr2;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	sigprocmask(SIG_BLOCK, &usr2, NULL);
	/* As root, before any child runs: the parent never drops privileges. */
	launch_write_pid_file(l->pid_file);

	started = time(NULL);
	child = start_child(l);
	if (child < 0)
		return 1;
	for (;;) {
		struct timespec tmo = { 1, 0 };
		siginfo_t info;
		int sig = sigtimedwait(&set, &info, &tmo);

		if (sig == SIGHUP || sig == SIGUSR1) {
			launch_log(LOG_INFO, "reload requested (signal %d)", sig);
			if (child > 0)
				kill(child, SIGUSR1);
		} else if (sig == SIGTERM || sig == SIGINT) {
			if (!stopping) {
				launch_log(LOG_NOTICE, "stopping (signal %d)", sig);
				launch_notify("STOPPING=1");
				stopping = true;
				stop_deadline = time(NULL) + stop_wait;
				if (child > 0)
					kill(child, SIGUSR2);
			}
		}
		if (stopping && child > 0 && time(NULL) > stop_deadline) {
			launch_log(LOG_WARNING, "filter process %ld did not stop in time, killing it",
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
		if (WIFEXITED(status) && WEXITSTATUS(status) == LAUNCH_EX_CONFIG &&
		    time(NULL) - started < 10) {
			launch_log(LOG_ERR, "filter process could not start; giving up");
			return LAUNCH_EX_CONFIG;
		}
		/* Postfix's milter_default_action covers the gap (tempfail). */
		launch_log(LOG_ERR, "filter process ended unexpectedly (%s %d); restarting in %ds",
			   WIFSIGNALED(status) ? "signal" : "status",
			   WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), backoff);
		sleep((unsigned)backoff);
		if (time(NULL) - started > 60)
			backoff = 1;
		else if (backoff < 30)
			backoff *= 2;
		started = time(NULL);
		child = start_child(l);
		if (child < 0)
			return 1;
	}
}
