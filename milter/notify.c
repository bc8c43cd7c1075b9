/* SPDX-License-Identifier: GPL-2.0-or-later */
/* notify.c - systemd readiness, reload, status and watchdog notifications */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include <mavis/session.h>

#include "mavisd.h"

/*
 * Who sends what: the supervising parent is the unit's main process and sends
 * STOPPING=1 when it is told to stop; the filter process, which owns the
 * milter socket and the sessions, sends READY, RELOADING, STATUS and WATCHDOG
 * (so the unit needs NotifyAccess=all). A watchdog kept alive by the filter
 * process catches a hung filter, which the parent alone could not.
 */

bool
mavisd_notify_enabled(void)
{
	const char *s = getenv("NOTIFY_SOCKET");

	return s != NULL && *s != '\0';
}

void
mavisd_notify(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (!mavisd_notify_enabled())
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Failures are not ours to act on: systemd times the unit out. */
	(void)sd_notify(0, msg);
}

void
mavisd_notify_reloading(void)
{
	struct timespec now;

	/* MONOTONIC_USEC lets a systemd that knows Type=notify-reload match
	   the reload to its request; older ones ignore the field. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	mavisd_notify("RELOADING=1\nMONOTONIC_USEC=%llu",
		      (unsigned long long)now.tv_sec * 1000000ULL +
			      (unsigned long long)now.tv_nsec / 1000ULL);
}

/*
 * WATCHDOG_USEC is read directly, not with sd_watchdog_enabled(): that one
 * also wants WATCHDOG_PID to be our own pid, and systemd sets it to the
 * parent's (the main process), while the keep-alives come from here.
 */
static unsigned long long
watchdog_usec(void)
{
	const char *s = getenv("WATCHDOG_USEC");
	char *end;
	unsigned long long v;

	if (s == NULL || *s == '\0')
		return 0;
	v = strtoull(s, &end, 10);
	return *end == '\0' ? v : 0;
}

void
mavisd_notify_tick(void)
{
	static time_t last_status;
	static struct timespec last_dog;
	unsigned long long dog = watchdog_usec();
	struct timespec now;
	time_t t = time(NULL);

	if (!mavisd_notify_enabled())
		return;
	if (t - last_status >= MAVISD_STATUS_INTERVAL) {
		struct mavis_stats st;

		mavis_stats_get(&st);
		mavisd_notify("STATUS=%d sessions, %lu messages", mavisd_sessions_active(),
			      st.messages);
		last_status = t;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	/* Twice per period, as systemd advises; the tick is about 1 s, so a
	   WatchdogSec under 2 s is kept alive at every tick. */
	if (dog > 0 && (unsigned long long)(now.tv_sec - last_dog.tv_sec) * 1000000ULL +
				       (unsigned long long)(now.tv_nsec - last_dog.tv_nsec) / 1000ULL >=
			       dog / 2) {
		mavisd_notify("WATCHDOG=1");
		last_dog = now;
	}
}
