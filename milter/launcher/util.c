/* SPDX-License-Identifier: GPL-2.0-or-later */
/* util.c - the launcher's log lines, systemd notification and pid file */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "launcher.h"

static char log_ident[64] = "mavisd";
static bool log_stderr = true;

void
launch_log_open(const char *ident, bool to_stderr)
{
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
	log_stderr = to_stderr;
	if (!to_stderr)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

static const char *
level_name(int priority)
{
	switch (priority) {
	case LOG_ERR: return "error";
	case LOG_WARNING: return "warning";
	case LOG_NOTICE: return "notice";
	case LOG_INFO: return "info";
	default: return "debug";
	}
}

void
launch_log(int priority, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* Paths from the settings could carry a CR: keep it one line. */
	for (char *p = line; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	if (log_stderr)
		fprintf(stderr, "%s[%ld]: %s: %s\n", log_ident, (long)getpid(), level_name(priority), line);
	else
		syslog(priority, "%s", line);
}

void
launch_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return;
	len = strlen(path);
	if (len >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';	/* abstract namespace */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	(void)sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	close(fd);
}

int
launch_write_pid_file(const char *path)
{
	struct stat st;
	char line[32];
	int fd, n;

	if (*path == '\0')
		return 0;
	/* Written as root: a symbolic link planted at the path must not make
	   us truncate its target, nor a fifo block us. */
	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
	if (fd < 0 || fstat(fd, &st) < 0) {
		launch_log(LOG_WARNING, "cannot write pid file %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || ftruncate(fd, 0) < 0) {
		launch_log(LOG_WARNING, "cannot write pid file %s: %s", path,
			   S_ISREG(st.st_mode) ? strerror(errno) : "not a regular file");
		close(fd);
		return -1;
	}
	if (fchmod(fd, 0644) < 0)
		launch_log(LOG_WARNING, "cannot chmod pid file %s: %s", path, strerror(errno));
	n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if (write(fd, line, (size_t)n) != n || close(fd) != 0) {
		launch_log(LOG_WARNING, "cannot write pid file %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}
