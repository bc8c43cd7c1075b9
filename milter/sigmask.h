/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sigmask.h - the signals the filter process keeps blocked (both executables) */
#ifndef MAVISD_SIGMASK_H
#define MAVISD_SIGMASK_H

#include <signal.h>

/*
 * The filter process takes USR1 (reload) and USR2 (graceful stop) in its
 * reload thread and HUP/TERM/INT in libmilter's signal thread, all with
 * sigwait, so every thread keeps them blocked. The launcher sets this mask
 * before it executes the filter: a signal sent in the first moments of the
 * new process then waits instead of killing it by its default action.
 */
static inline void
mavisd_filter_sigmask(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGUSR2);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

#endif
