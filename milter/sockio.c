/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sockio.c - the MTA connections libmilter accepts: TCP options, buffered reads */

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "mavisd.h"

/*
 * Why this exists. An MTA sends the milter several packets in a row without
 * waiting for an answer: Sendmail writes each macro packet and the command
 * after it as two writes, and with SMFIP_NR_HDR every header as one write.
 * Linux on the milter's side delays the ACK of a small segment (up to 40 ms)
 * while the connection looks interactive, and Nagle's algorithm on the MTA's
 * side holds the next small write until that ACK arrives. Over an inet:
 * socket Sendmail lost ~40 ms at connect, at MAIL FROM and at the first
 * header of every message (tcpdump of the milter port: a bare ACK 40 ms
 * after the macro packet, then the command). The MTA's socket is not ours,
 * so mavisd acknowledges at once whenever it is about to wait for the MTA
 * with data read since its last write: TCP_QUICKACK then sends the pending
 * ACK (value 2: and keeps delaying later ones, which a reply carries anyway).
 * TCP_NODELAY does the same for mavisd's own packets in a row (the edits at
 * end of message, then the reply), which the MTA would otherwise ACK late.
 *
 * Reads are buffered: libmilter reads every packet with a poll and a read
 * for the 5-byte header and another pair for the payload, four system calls
 * per packet where one read usually gets all the packets the MTA sent
 * together (Postfix's header section, body and end of message arrive in
 * one segment). The buffer is also what makes the ACK cheap: a quick ACK
 * costs a system call only when libmilter really has to wait.
 *
 * libmilter owns the sockets and the system calls, so mavisd links it
 * statically and the linker routes its accept/read/writev/poll/close here
 * (ld --wrap, milter/CMakeLists.txt). Other descriptors pass straight
 * through. Without the static library none of this is compiled in.
 *
 * Threads: libmilter gives a session to one thread at a time (a worker while
 * it runs, the pool controller while it waits), handing it over through its
 * own locks, so a connection's state needs no lock of its own; the fields
 * the controller's poll looks at are atomics all the same.
 */
#ifdef MAVISD_WRAP_SOCKIO

int __real_accept(int fd, struct sockaddr *addr, socklen_t *len);
ssize_t __real_read(int fd, void *buf, size_t n);
ssize_t __real_writev(int fd, const struct iovec *iov, int iovcnt);
int __real_poll(struct pollfd *fds, nfds_t nfds, int timeout);
int __real_close(int fd);
int __wrap_accept(int fd, struct sockaddr *addr, socklen_t *len);
ssize_t __wrap_read(int fd, void *buf, size_t n);
ssize_t __wrap_writev(int fd, const struct iovec *iov, int iovcnt);
int __wrap_poll(struct pollfd *fds, nfds_t nfds, int timeout);
int __wrap_close(int fd);

/* Descriptors from here on are left alone: correct, only slower. */
#define SOCKIO_MAX_FD 16384
/* Reads at least this big go straight into libmilter's buffer (body chunks). */
#define SOCKIO_BUF_SIZE 16384

struct conn_io {
	atomic_size_t have;	/* bytes buffered, not yet read by libmilter */
	size_t off;		/* where they start in buf */
	atomic_bool unacked;	/* data read since mavisd last wrote */
	char buf[SOCKIO_BUF_SIZE];
};

static struct conn_io *_Atomic conns[SOCKIO_MAX_FD];

static struct conn_io *
conn_io(int fd)
{
	if (fd < 0 || fd >= SOCKIO_MAX_FD)
		return NULL;
	return atomic_load_explicit(&conns[fd], memory_order_acquire);
}

int
__wrap_accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	int conn = __real_accept(fd, addr, len);
	int saved = errno;
	int one = 1;
	struct conn_io *io;

	/* Only TCP takes the option: unix socket connections pass through. */
	if (conn >= 0 && conn < SOCKIO_MAX_FD &&
	    setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0 &&
	    (io = malloc(sizeof(*io))) != NULL) {
		atomic_init(&io->have, 0);
		io->off = 0;
		atomic_init(&io->unacked, false);
		atomic_store_explicit(&conns[conn], io, memory_order_release);
	}
	errno = saved;
	return conn;
}

ssize_t
__wrap_read(int fd, void *buf, size_t n)
{
	struct conn_io *io = conn_io(fd);
	size_t have;
	ssize_t got;

	if (io == NULL || n == 0)
		return __real_read(fd, buf, n);
	have = atomic_load_explicit(&io->have, memory_order_relaxed);
	if (have == 0) {
		if (n >= SOCKIO_BUF_SIZE) {
			got = __real_read(fd, buf, n);
			if (got > 0)
				atomic_store_explicit(&io->unacked, true, memory_order_relaxed);
			return got;
		}
		got = __real_read(fd, io->buf, SOCKIO_BUF_SIZE);
		if (got <= 0)
			return got;
		atomic_store_explicit(&io->unacked, true, memory_order_relaxed);
		io->off = 0;
		have = (size_t)got;
	}
	if (n > have)
		n = have;
	memcpy(buf, io->buf + io->off, n);
	io->off += n;
	atomic_store_explicit(&io->have, have - n, memory_order_relaxed);
	return (ssize_t)n;
}

ssize_t
__wrap_writev(int fd, const struct iovec *iov, int iovcnt)
{
	struct conn_io *io = conn_io(fd);
	ssize_t put = __real_writev(fd, iov, iovcnt);

	/* Whatever mavisd sends carries the ACK. */
	if (io != NULL && put > 0)
		atomic_store_explicit(&io->unacked, false, memory_order_relaxed);
	return put;
}

/* The poll is about to wait: acknowledge what was read and not answered. */
static void
ack_before_wait(struct pollfd *fds, nfds_t nfds)
{
	int saved = errno;
	int two = 2;

	for (nfds_t i = 0; i < nfds; i++) {
		struct conn_io *io = conn_io(fds[i].fd);

		if (io != NULL && (fds[i].events & POLLIN) &&
		    atomic_exchange_explicit(&io->unacked, false, memory_order_relaxed))
			(void)setsockopt(fds[i].fd, IPPROTO_TCP, TCP_QUICKACK, &two, sizeof(two));
	}
	errno = saved;
}

int
__wrap_poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	int ready = 0;

	/* Buffered bytes are ready input the kernel no longer knows about. */
	for (nfds_t i = 0; i < nfds; i++) {
		struct conn_io *io = conn_io(fds[i].fd);

		if (io != NULL && (fds[i].events & (POLLIN | POLLRDNORM)) &&
		    atomic_load_explicit(&io->have, memory_order_relaxed) > 0)
			ready++;
	}
	if (ready == 0) {
		if (timeout != 0)
			ack_before_wait(fds, nfds);
		return __real_poll(fds, nfds, timeout);
	}
	/* Some input is buffered: report it with whatever else is ready now,
	   without waiting (and without asking the kernel when every
	   descriptor asked about has buffered input: the usual case, one
	   session's poll before its next read). */
	if ((nfds_t)ready == nfds) {
		for (nfds_t i = 0; i < nfds; i++)
			fds[i].revents = fds[i].events & (POLLIN | POLLRDNORM);
		return ready;
	}
	if (__real_poll(fds, nfds, 0) < 0)
		return -1;
	ready = 0;
	for (nfds_t i = 0; i < nfds; i++) {
		struct conn_io *io = conn_io(fds[i].fd);

		if (io != NULL && atomic_load_explicit(&io->have, memory_order_relaxed) > 0)
			fds[i].revents |= fds[i].events & (POLLIN | POLLRDNORM);
		if (fds[i].revents != 0)
			ready++;
	}
	return ready;
}

int
__wrap_close(int fd)
{
	if (fd >= 0 && fd < SOCKIO_MAX_FD)
		free(atomic_exchange_explicit(&conns[fd], NULL, memory_order_acq_rel));
	return __real_close(fd);
}

bool
mavisd_sockio_active(void)
{
	return true;
}

#else

bool
mavisd_sockio_active(void)
{
	return false;
}

#endif
