/* SPDX-License-Identifier: GPL-2.0-or-later */
/* launcher.h - mavisd, the supervising process (no libmavis, libc only) */
#ifndef MAVISD_LAUNCHER_H
#define MAVISD_LAUNCHER_H

#include <stdbool.h>
#include <sys/types.h>

#define LAUNCH_EX_USAGE 2
#define LAUNCH_EX_CONFIG 78	/* the filter's exit status for a bad configuration */

/* What the launcher knows: its options and the settings that
   "mavisd-filter -n -S FD" handed over. */
struct launch {
	char *filter_path;		/* the mavisd-filter executable */
	char *const *filter_argv;	/* its argv for the filter process (-F ...) */
	char pid_file[4096];
	char syslog_ident[64];
	long long shutdown_timeout;
	bool foreground;
};

/* util.c: log lines in the filter's format ("ident[pid]: level: text" on
   stderr in the foreground, syslog facility mail otherwise). */
void launch_log_open(const char *ident, bool to_stderr);
void launch_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The systemd notification (sd_notify's protocol: one datagram to
   $NOTIFY_SOCKET, a path or an abstract "@name"); nothing when unset. */
void launch_notify(const char *state);
/* pid_file (empty = none): O_NOFOLLOW, mode 0644, regular files only.
   0, or -1 with a warning logged. */
int launch_write_pid_file(const char *path);

/* supervise.c: start the filter process (fork and exec), forward SIGHUP
   and SIGUSR1 to it as a reload (SIGUSR1), SIGTERM and SIGINT as a graceful
   stop (SIGUSR2, SIGKILL after shutdown_timeout + 10 s), restart it with a
   backoff when it dies. Returns the exit status for mavisd. */
int launch_supervise(const struct launch *l);

#endif
