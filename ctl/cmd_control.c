/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_control.c - mavisctl status, stats and reload: ask the running mavisd on its control socket */

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <mavis/buf.h>
#include <mavis/config.h>
#include <mavis/control.h>

#include "ctl.h"

/* A reload loads the virus signatures again: that can take a minute. */
#define CTL_REPLY_TIMEOUT_MS 120000
/* The largest reply taken: status of every registry slot fits easily. */
#define CTL_REPLY_MAX (4 * 1024 * 1024)

/* The socket to ask: -s, else control_socket of the config file, else the
   built-in default (a config that does not load is no reason not to ask). */
static const char *
socket_of(const char *sock, const char *config, struct mavis_config **cfg)
{
	struct mavis_error err = { 0 };

	if (sock != NULL)
		return sock;
	if (mavis_config_load(config, cfg, &err) == 0)
		return mavis_config_get(*cfg, MAVIS_KEY_CONTROL_SOCKET)->u.s;
	return mavis_key_info(MAVIS_KEY_CONTROL_SOCKET)->def;
}

/* Send request, read the reply whole into out. 0 or -1 (reported). */
static int
ask(const char *spec, const char *request, struct mavis_buf *out)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = strncmp(spec, "unix:", 5) == 0 ? spec + 5 : spec;
	struct timespec t0, now;
	char chunk[8192];
	int fd;

	if (*path == '\0') {
		fprintf(stderr, "mavisctl: no control_socket configured\n");
		return -1;
	}
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "mavisctl: control socket path too long: %s\n", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "mavisctl: cannot connect to %s: %s (is mavisd running?)\n", path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (send(fd, request, strlen(request), MSG_NOSIGNAL) != (ssize_t)strlen(request)) {
		fprintf(stderr, "mavisctl: %s: send: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = CTL_REPLY_TIMEOUT_MS - ((now.tv_sec - t0.tv_sec) * 1000LL +
					       (now.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || poll(&p, 1, (int)left) == 0) {
			fprintf(stderr, "mavisctl: %s: no reply within %d s\n", path,
				CTL_REPLY_TIMEOUT_MS / 1000);
			close(fd);
			return -1;
		}
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "mavisctl: %s: %s\n", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		if (out->len + (size_t)n > CTL_REPLY_MAX) {
			fprintf(stderr, "mavisctl: %s: reply larger than %d bytes\n", path, CTL_REPLY_MAX);
			close(fd);
			return -1;
		}
		mavis_buf_append(out, chunk, (size_t)n);
	}
	close(fd);
	return 0;
}

static int
control_usage(const char *cmd)
{
	fprintf(stderr, "usage: mavisctl %s%s [-s unix:SOCKET] [-c FILE]\n", cmd,
		strcmp(cmd, "stats") == 0 ? " [--json]" : "");
	return 2;
}

/* mavisctl status|stats [--json]|reload: the reply's payload on stdout
   (exit 0) or the server's -ERR text on stderr (exit 1). */
static int
control_cmd(int argc, char **argv, const char *cmd)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL, *config = CTL_DEFAULT_CONFIG;
	struct mavis_config *cfg = NULL;
	struct mavis_buf reply = { 0 };
	bool json = false;
	int c, rc = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:c:", longopts, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'c': config = optarg; break;
		case 'j':
			if (strcmp(cmd, "stats") != 0)
				return control_usage(cmd);
			json = true;
			break;
		default: return control_usage(cmd);
		}
	}
	if (optind != argc)
		return control_usage(cmd);
	const char *spec = socket_of(sock, config, &cfg);
	char request[64];

	snprintf(request, sizeof(request), "%s%s\n", cmd, json ? " json" : "");
	if (ask(spec, request, &reply) == 0) {
		const char *s = mavis_buf_str(&reply);
		const char *nl = strchr(s, '\n');

		if (strncmp(s, "+OK\n", 4) == 0) {
			fputs(s + 4, stdout);
			rc = 0;
		} else if (strncmp(s, "-ERR ", 5) == 0) {
			fprintf(stderr, "mavisctl: %s: %.*s\n", cmd, nl ? (int)(nl - s - 5) : (int)strlen(s + 5),
				s + 5);
		} else {
			fprintf(stderr, "mavisctl: %s: unexpected reply from mavisd\n", cmd);
		}
	}
	mavis_buf_free(&reply);
	mavis_config_unref(&cfg);
	return rc;
}

int
ctl_cmd_status(int argc, char **argv)
{
	return control_cmd(argc, argv, "status");
}

int
ctl_cmd_stats(int argc, char **argv)
{
	return control_cmd(argc, argv, "stats");
}

int
ctl_cmd_reload(int argc, char **argv)
{
	return control_cmd(argc, argv, "reload");
}
