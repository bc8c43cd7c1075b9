/* SPDX-License-Identifier: GPL-2.0-or-later */
/* control.c - the control socket: mavisctl status, stats and reload */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <mavis/buf.h>
#include <mavis/control.h>
#include <mavis/log.h>
#include <mavis/stats.h>

#include "mavisd.h"

/*
 * One thread serves one client at a time: the requests are tiny and answered
 * from memory (a reload takes as long as it takes, as with SIGUSR1). The
 * listen backlog bounds the clients that wait; each has CONTROL_READ_MS to
 * send its line and CONTROL_WRITE_MS to take the reply, so a client that
 * stalls costs the others seconds, never the mail.
 */
#define CONTROL_BACKLOG 8
#define CONTROL_READ_MS 2000
#define CONTROL_WRITE_MS 5000

static int listen_fd = -1;
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

/* Is something listening on path? (Then another mavisd owns it.) */
static bool
socket_alive(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0)
		return false;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	alive = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return alive;
}

int
mavisd_control_open(const struct mavis_config *cfg)
{
	const char *spec = mavis_config_get(cfg, MAVIS_KEY_CONTROL_SOCKET)->u.s;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat stt;
	uid_t uid;
	gid_t gid;
	mode_t old_umask;
	int fd, rc;

	if (spec == NULL || *spec == '\0')
		return 0;
	if (strncmp(spec, "unix:", 5) != 0 || spec[5] != '/') {
		mavis_log_err(NULL, "control_socket %s: want unix:/absolute/path", spec);
		return -1;
	}
	if (strlen(spec + 5) >= sizeof(sun.sun_path)) {
		mavis_log_err(NULL, "control_socket %s: path too long", spec);
		return -1;
	}
	strcpy(sock_path, spec + 5);
	memcpy(sun.sun_path, sock_path, strlen(sock_path) + 1);
	if (mavisd_daemon_ids(cfg, &uid, &gid) < 0)
		return -1;
	/* A status tool must not stop the filter: every failure from here on
	   leaves mavisd without a control socket, and says so. */
	if (lstat(sock_path, &stt) == 0) {
		if (!S_ISSOCK(stt.st_mode)) {
			mavis_log_warn(NULL, "control_socket %s exists and is no socket: no control socket",
				       sock_path);
			return 0;
		}
		if (socket_alive(sock_path)) {
			mavis_log_warn(NULL, "control_socket %s is in use by another process: no control socket",
				       sock_path);
			return 0;
		}
		unlink(sock_path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		mavis_log_warn(NULL, "control_socket %s: socket: %s", sock_path, strerror(errno));
		return 0;
	}
	/* Created as root before the privilege drop, 0660 from the start (no
	   window with a wider mode), then given the daemon user's group: root
	   and that group's members may ask; the mail-parsing process cannot
	   replace the file after the drop. */
	old_umask = umask(0117);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_umask);
	if (rc < 0 || listen(fd, CONTROL_BACKLOG) < 0) {
		mavis_log_warn(NULL, "control_socket %s: %s: no control socket", sock_path, strerror(errno));
		close(fd);
		return 0;
	}
	if (gid != (gid_t)-1 && geteuid() == 0 && chown(sock_path, 0, gid) < 0)
		mavis_log_warn(NULL, "control_socket %s: chown: %s", sock_path, strerror(errno));
	listen_fd = fd;
	return 0;
}

/* Write all of buf within the deadline; false when the client is gone or slow. */
static bool
write_all(int fd, const char *buf, size_t len, long long deadline_ms)
{
	while (len > 0) {
		struct timespec now;
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		long long left;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = deadline_ms - ((long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return false;
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return false;
		}
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

static long long
mono_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Read the request line within CONTROL_READ_MS. Returns 1 with *cmd, or
   -1 with why set ("" when the client just went away). */
static int
read_request(int fd, enum mavis_control_cmd *cmd, char *why, size_t whysize)
{
	char buf[MAVIS_CONTROL_REQUEST_MAX];
	size_t len = 0;
	long long deadline = mono_ms() + CONTROL_READ_MS;
	struct mavis_error err = { 0 };

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = deadline - mono_ms();
		ssize_t n;
		int rc;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			snprintf(why, whysize, "timeout reading the request");
			return -1;
		}
		n = recv(fd, buf + len, sizeof(buf) - len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			why[0] = '\0';
			return -1;
		}
		len += (size_t)n;
		rc = mavis_control_parse(buf, len, cmd, &err);
		if (rc == 1)
			return 1;
		if (rc < 0) {
			snprintf(why, whysize, "%s", err.text);
			return -1;
		}
	}
}

static void
serve_client(int fd, struct mavis_engine *engine, const char *config_path)
{
	enum mavis_control_cmd cmd;
	struct mavis_buf out = { 0 };
	char why[512];

	if (read_request(fd, &cmd, why, sizeof(why)) < 0) {
		if (why[0]) {
			mavis_log_warn(NULL, "control socket: bad request: %s", why);
			mavis_buf_printf(&out, "-ERR %s\n", why);
		}
	} else {
		switch (cmd) {
		case MAVIS_CONTROL_STATUS:
			mavis_buf_puts(&out, "+OK\n");
			mavis_stats_format_status(&out);
			break;
		case MAVIS_CONTROL_STATS:
			mavis_buf_puts(&out, "+OK\n");
			mavis_stats_format_text(&out);
			break;
		case MAVIS_CONTROL_STATS_JSON:
			mavis_buf_puts(&out, "+OK\n");
			mavis_stats_format_json(&out);
			break;
		case MAVIS_CONTROL_RELOAD:
			mavis_log_notice(NULL, "reload requested on the control socket");
			if (mavisd_reload(engine, config_path, why, sizeof(why)) == 0)
				mavis_buf_puts(&out, "+OK\nok\n");
			else
				mavis_buf_printf(&out, "-ERR %s\n", why);
			break;
		}
	}
	if (out.len)
		(void)write_all(fd, out.data, out.len, mono_ms() + CONTROL_WRITE_MS);
	mavis_buf_free(&out);
}

struct control_arg {
	struct mavis_engine *engine;
	const char *config_path;
};

static void *
control_main(void *arg)
{
	struct control_arg *ca = arg;

	for (;;) {
		struct pollfd p = { .fd = listen_fd, .events = POLLIN };

		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			mavis_log_err(NULL, "control socket: poll: %s", strerror(errno));
			return NULL;
		}
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0)
			continue;
		serve_client(fd, ca->engine, ca->config_path);
		close(fd);
	}
	return NULL;
}

int
mavisd_control_start(struct mavis_engine *engine, const char *config_path)
{
	static struct control_arg ca;
	pthread_t tid;
	int rc;

	if (listen_fd < 0)
		return 0;
	ca.engine = engine;
	ca.config_path = config_path;
	rc = pthread_create(&tid, NULL, control_main, &ca);
	if (rc != 0) {
		mavis_log_warn(NULL, "cannot start the control socket thread: %s", strerror(rc));
		return 0;
	}
	pthread_detach(tid);
	mavis_log_info(NULL, "control socket on %s", sock_path);
	return 0;
}

void
mavisd_control_close(void)
{
	/* Only the file: the thread goes with the process. */
	if (listen_fd >= 0 && sock_path[0])
		unlink(sock_path);
}
