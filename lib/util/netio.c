/* SPDX-License-Identifier: GPL-2.0-or-later */
/* netio.c - stream sockets against a deadline: wait, connect, send */

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/netio.h"

uint64_t
mavis_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int
mavis_net_wait(int fd, short events, uint64_t deadline, const char *what, int status,
	       struct mavis_error *err)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	for (;;) {
		uint64_t now = mavis_now_ms();
		int rc;

		if (now >= deadline)
			return mavis_error_set(err, status, "timed out %s", what);
		/* Slices of at most a minute: the clock is checked again. */
		rc = poll(&pfd, 1, (int)(deadline - now > 60000 ? 60000 : deadline - now));
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return mavis_error_set(err, status, "poll %s: %s", what, strerror(errno));
	}
}

int
mavis_net_connect(const struct sockaddr *sa, socklen_t salen, uint64_t deadline, int status,
		  struct mavis_error *err)
{
	int fd, soerr = 0;
	socklen_t len = sizeof(soerr);

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return mavis_error_set(err, status, "socket: %s", strerror(errno));
	if (connect(fd, sa, salen) == 0)
		return fd;
	/* A unix socket whose backlog is full says EAGAIN: wait as for TCP. */
	if (errno != EINPROGRESS && errno != EAGAIN) {
		mavis_error_set(err, status, "connect: %s", strerror(errno));
		close(fd);
		return status;
	}
	if (mavis_net_wait(fd, POLLOUT, deadline, "connecting", status, err) < 0) {
		close(fd);
		return status;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr != 0) {
		mavis_error_set(err, status, "connect: %s", strerror(soerr ? soerr : errno));
		close(fd);
		return status;
	}
	return fd;
}

int
mavis_net_send_all(int fd, const void *p, size_t len, uint64_t deadline, const char *what,
		   int status, struct mavis_error *err)
{
	const char *s = p;

	while (len > 0) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n > 0) {
			s += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (mavis_net_wait(fd, POLLOUT, deadline, what, status, err) < 0)
				return status;
			continue;
		}
		return mavis_error_set(err, status, "send: %s", n < 0 ? strerror(errno) : "nothing written");
	}
	return 0;
}
