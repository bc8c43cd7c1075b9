/* SPDX-License-Identifier: GPL-2.0-or-later */
/* netio.h - stream sockets against a deadline, for the scanner clients (libmavis internal) */
#ifndef MAVIS_UTIL_NETIO_H
#define MAVIS_UTIL_NETIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <mavis/error.h>

/* Monotonic milliseconds; deadlines below are in this clock. */
uint64_t mavis_now_ms(void);

/* Wait until fd is ready for events (POLLIN/POLLOUT) or the deadline
   passes. Returns 0, or status with err set ("timed out WHAT", "poll
   WHAT: ..."). */
int mavis_net_wait(int fd, short events, uint64_t deadline, const char *what, int status,
		   struct mavis_error *err);

/* A non-blocking, close-on-exec stream socket connected to sa within the
   deadline. Returns the fd, or status with err set. */
int mavis_net_connect(const struct sockaddr *sa, socklen_t salen, uint64_t deadline, int status,
		      struct mavis_error *err);

/* Send all len bytes (MSG_NOSIGNAL: a peer that hangs up must not kill the
   daemon) within the deadline. Returns 0, or status with err set (err may
   be NULL). */
int mavis_net_send_all(int fd, const void *p, size_t len, uint64_t deadline, const char *what,
		       int status, struct mavis_error *err);

#endif
