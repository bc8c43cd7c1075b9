/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sockio.c - TCP options of the MTA connections that libmilter accepts */

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mavisd.h"

/*
 * Why this exists: an MTA sends the milter several packets in a row without
 * waiting for an answer - Sendmail writes each macro packet and the command
 * after it as two writes, and with SMFIP_NR_HDR every header as one write.
 * Linux on the milter's side delays the ACK of a small segment (up to 40 ms)
 * while the connection looks interactive, and Nagle's algorithm on the MTA's
 * side holds the next small write until that ACK arrives. Over an inet:
 * socket Sendmail lost ~40 ms at connect, at MAIL FROM and at the first
 * header of every message (tcpdump of the milter port: a bare ACK 40 ms
 * after the macro packet, then the command). The MTA's socket is not ours to
 * change, so mavisd acknowledges at once: TCP_QUICKACK after every read
 * leaves the pending ACK on its way as soon as the receive queue is drained
 * (the kernel sends nothing when no ACK is due or more data is queued).
 * TCP_NODELAY does the same for mavisd's own packets in a row (the edits at
 * end of message, then the reply), which the MTA would otherwise ACK late.
 *
 * libmilter owns the sockets and the reads, so mavisd links it statically
 * and the linker routes its accept/read/close here (ld --wrap, see
 * milter/CMakeLists.txt). Without the static library the build uses the
 * shared one and none of this is compiled in.
 */
#ifdef MAVISD_WRAP_SOCKIO

int __real_accept(int fd, struct sockaddr *addr, socklen_t *len);
ssize_t __real_read(int fd, void *buf, size_t n);
int __real_close(int fd);
int __wrap_accept(int fd, struct sockaddr *addr, socklen_t *len);
ssize_t __wrap_read(int fd, void *buf, size_t n);
int __wrap_close(int fd);

/* Descriptors above this get no quick ACKs, nothing worse. */
#define SOCKIO_MAX_FD 65536

/* Which descriptors are accepted TCP connections. Set in accept before
   libmilter hands the descriptor to a session thread, cleared in close
   before the number can be reused: relaxed atomics are enough. */
static atomic_uchar tcp_conn[SOCKIO_MAX_FD];

int
__wrap_accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	int conn = __real_accept(fd, addr, len);
	int saved = errno;
	int one = 1;

	/* Only TCP takes the option: a unix socket connection stays unmarked. */
	if (conn >= 0 && conn < SOCKIO_MAX_FD &&
	    setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0)
		atomic_store_explicit(&tcp_conn[conn], 1, memory_order_relaxed);
	errno = saved;
	return conn;
}

ssize_t
__wrap_read(int fd, void *buf, size_t n)
{
	ssize_t got = __real_read(fd, buf, n);
	int saved = errno;
	int one = 1;

	if (got > 0 && fd >= 0 && fd < SOCKIO_MAX_FD &&
	    atomic_load_explicit(&tcp_conn[fd], memory_order_relaxed))
		(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
	errno = saved;
	return got;
}

int
__wrap_close(int fd)
{
	if (fd >= 0 && fd < SOCKIO_MAX_FD)
		atomic_store_explicit(&tcp_conn[fd], 0, memory_order_relaxed);
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
