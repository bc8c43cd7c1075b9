/* SPDX-License-Identifier: GPL-2.0-or-later */
/* main.c - mavisd: options, the configuration check, the filter process */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "launcher.h"

/*
 * mavisd is the small root process that systemd (or an admin) starts; the
 * work happens in mavisd-filter, which it executes. The split keeps the
 * process that stays root for the whole run free of the filter's sixty-odd
 * shared libraries (libclamav, GMime, libpq, ...): it maps libc only and
 * holds ~1 MB instead of ~15 MB, and none of that code runs as root for
 * longer than the filter's start-up. What the launcher must know from the
 * configuration, the filter's check run tells it (settings_read).
 */

#define SETTINGS_MAX 8192

static void
usage(void)
{
	fprintf(stderr, "usage: mavisd [-c CONFIG] [-s SOCKET] [-f] [-n]\n"
			"  -c CONFIG  configuration file (default %s)\n"
			"  -s SOCKET  milter socket, overrides milter_socket (unix:/path, inet:PORT@HOST)\n"
			"  -f         stay in the foreground, log to stderr\n"
			"  -n         check the configuration and exit\n",
		MAVIS_SYSCONFDIR "/mavisd.conf");
	exit(LAUNCH_EX_USAGE);
}

static bool
executable(const char *path)
{
	return access(path, X_OK) == 0;
}

/* The filter executable: next to this one (the build tree), at the same
   relative place as after "cmake --install" (an unpacked package or another
   prefix), or where this build installs it. */
static char *
find_filter(void)
{
	static char buf[PATH_MAX];
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		char *slash;

		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash != NULL) {
			*slash = '\0';
			if ((size_t)snprintf(buf, sizeof(buf), "%s/mavisd-filter", self) < sizeof(buf) &&
			    executable(buf))
				return buf;
			if ((size_t)snprintf(buf, sizeof(buf), "%s/%s/mavis/mavisd-filter", self,
					     MAVISD_SBIN_TO_LIBEXEC) < sizeof(buf) &&
			    executable(buf))
				return buf;
		}
	}
	snprintf(buf, sizeof(buf), "%s", MAVISD_FILTER_PATH);
	return buf;
}

static void
settings_set(struct launch *l, const char *key, const char *val)
{
	if (strcmp(key, "pid_file") == 0)
		snprintf(l->pid_file, sizeof(l->pid_file), "%s", val);
	else if (strcmp(key, "syslog_ident") == 0)
		snprintf(l->syslog_ident, sizeof(l->syslog_ident), "%s", val);
	else if (strcmp(key, "shutdown_timeout") == 0)
		l->shutdown_timeout = strtoll(val, NULL, 10);
	/* Unknown keys: a newer filter; ignored. */
}

/* Run "mavisd-filter -n -S 3" with the caller's stderr (a bad configuration
   is reported in the admin's terminal, and nothing forks), and read the
   settings it writes. Returns its exit status. */
static int
check_config(struct launch *l, char *conf, char *sock)
{
	char buf[SETTINGS_MAX];
	size_t len = 0;
	int fds[2], status;
	pid_t pid;

	if (pipe(fds) < 0) {
		launch_log(LOG_ERR, "cannot make a pipe: %s", strerror(errno));
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		launch_log(LOG_ERR, "cannot fork: %s", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		char *argv[] = { l->filter_path, "-n", "-c", conf, "-S", "3", sock ? "-s" : NULL, sock, NULL };

		close(fds[0]);
		if (fds[1] != 3) {
			if (dup2(fds[1], 3) < 0)
				_exit(1);
			close(fds[1]);
		}
		execv(l->filter_path, argv);
		launch_log(LOG_ERR, "cannot run %s: %s", l->filter_path, strerror(errno));
		_exit(LAUNCH_EX_CONFIG);
	}
	close(fds[1]);
	for (;;) {
		ssize_t n = read(fds[0], buf + len, sizeof(buf) - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf) - 1)
			break;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	if (!WIFEXITED(status))
		return 1;
	if (WEXITSTATUS(status) != 0)
		return WEXITSTATUS(status);
	buf[len] = '\0';
	for (char *line = buf, *next; *line; line = next) {
		char *eq;

		next = strchr(line, '\n');
		if (next == NULL)
			break;	/* a cut line: not trusted */
		*next++ = '\0';
		eq = strchr(line, '=');
		if (eq != NULL) {
			*eq = '\0';
			settings_set(l, line, eq + 1);
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct launch l = { .shutdown_timeout = 30 };
	char *conf = MAVIS_SYSCONFDIR "/mavisd.conf";
	char *sock = NULL;
	bool check_only = false;
	char conf_abs[PATH_MAX];
	char *fargv[9];
	int c, n = 0, rc;

	while ((c = getopt(argc, argv, "c:s:fnh")) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 's': sock = optarg; break;
		case 'f': l.foreground = true; break;
		case 'n': check_only = true; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	l.filter_path = find_filter();
	if (check_only) {
		char *argv_n[] = { l.filter_path, "-n", "-c", conf, sock ? "-s" : NULL, sock, NULL };

		execv(l.filter_path, argv_n);
		launch_log(LOG_ERR, "cannot run %s: %s", l.filter_path, strerror(errno));
		return LAUNCH_EX_CONFIG;
	}
	/* daemon() moves to /: reloads and restarts must find the file. */
	if (realpath(conf, conf_abs) != NULL)
		conf = conf_abs;
	snprintf(l.syslog_ident, sizeof(l.syslog_ident), "mavisd");
	rc = check_config(&l, conf, sock);
	if (rc != 0)
		return rc;
	fargv[n++] = l.filter_path;
	fargv[n++] = "-F";
	fargv[n++] = "-c";
	fargv[n++] = conf;
	if (sock != NULL) {
		fargv[n++] = "-s";
		fargv[n++] = sock;
	}
	if (l.foreground)
		fargv[n++] = "-f";
	fargv[n] = NULL;
	l.filter_argv = fargv;
	if (!l.foreground) {
		launch_log_open(l.syslog_ident, false);
		if (daemon(0, 0) < 0) {
			launch_log(LOG_ERR, "cannot daemonize: %s", strerror(errno));
			return 1;
		}
	}
	return launch_supervise(&l);
}
