/* SPDX-License-Identifier: GPL-2.0-or-later */
/* av_clamd.c - clamd client: IDSESSION + INSTREAM from memory, socket failover */

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <mavis/alloc.h>
#include <mavis/av.h>
#include <mavis/buf.h>

#include "av_internal.h"

/* Data bytes per INSTREAM chunk; amavisd uses 32764, any size up to
   StreamMaxLength is accepted by clamd. */
#define CLAMD_CHUNK 32768
/* A clamd reply is one short line; anything longer is not clamd. */
#define CLAMD_REPLY_MAX 1024

/* ---- socket specs ---- */

static int
addr_unix(const char *path, struct av_clamd_addr *a, struct mavis_error *err)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&a->sa;
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(sun->sun_path))
		return mavis_error_set(err, MAVIS_ERR_CONFIG,
				       "clamd socket \"%s\": bad unix socket path", a->spec);
	memset(&a->sa, 0, sizeof(a->sa));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, len + 1);
	a->salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	return 0;
}

static int
addr_inet(const char *host, const char *port, int family, struct av_clamd_addr *a,
	  struct mavis_error *err)
{
	struct addrinfo hints, *res = NULL;
	char *end;
	long p;
	int rc;

	p = strtol(port, &end, 10);
	if (*host == '\0' || *port == '\0' || *end != '\0' || p <= 0 || p > 65535)
		return mavis_error_set(err, MAVIS_ERR_CONFIG,
				       "clamd socket \"%s\": want host:port, [ipv6]:port, "
				       "inet:port@host or /path", a->spec);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	/* Resolved once here, so that a scan never waits for DNS. */
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0 || res == NULL)
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "clamd socket \"%s\": %s",
				       a->spec, gai_strerror(rc));
	if (res->ai_addrlen > sizeof(a->sa)) {
		freeaddrinfo(res);
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "clamd socket \"%s\": address too long",
				       a->spec);
	}
	memcpy(&a->sa, res->ai_addr, res->ai_addrlen);
	a->salen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int
av_clamd_addr_parse(const char *spec, struct av_clamd_addr *a, struct mavis_error *err)
{
	char *tmp, *host, *port;
	int rc, family = AF_UNSPEC;

	memset(a, 0, sizeof(*a));
	a->spec = mavis_xstrdup(spec);
	if (*spec == '\0')
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "empty clamd socket");
	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0)
		return addr_unix(strchr(spec, ':') + 1, a, err);
	if (spec[0] == '/')
		return addr_unix(spec, a, err);

	tmp = mavis_xstrdup(spec);
	if (strncmp(tmp, "inet:", 5) == 0 || strncmp(tmp, "inet6:", 6) == 0) {
		/* Milter style inet:port@host. */
		family = tmp[4] == '6' ? AF_INET6 : AF_INET;
		port = strchr(tmp, ':') + 1;
		host = strchr(port, '@');
		if (host != NULL)
			*host++ = '\0';
		else
			host = port + strlen(port);
		if (*host == '[' && host[strlen(host) - 1] == ']') {
			host[strlen(host) - 1] = '\0';
			host++;
		}
	} else if (tmp[0] == '[') {
		host = tmp + 1;
		port = strchr(host, ']');
		if (port == NULL || port[1] != ':') {
			free(tmp);
			return mavis_error_set(err, MAVIS_ERR_CONFIG,
					       "clamd socket \"%s\": want [ipv6]:port", spec);
		}
		*port = '\0';
		port += 2;
		family = AF_INET6;
	} else {
		host = tmp;
		port = strrchr(tmp, ':');
		if (port == NULL || strchr(tmp, ':') != port) {
			free(tmp);
			return mavis_error_set(err, MAVIS_ERR_CONFIG,
					       "clamd socket \"%s\": want host:port, "
					       "[ipv6]:port, inet:port@host or /path", spec);
		}
		*port++ = '\0';
	}
	rc = addr_inet(host, port, family, a, err);
	free(tmp);
	return rc;
}

void
av_clamd_free(struct av_clamd *c)
{
	for (size_t i = 0; i < c->n_addrs; i++)
		free(c->addrs[i].spec);
	free(c->addrs);
	memset(c, 0, sizeof(*c));
}

/* ---- I/O with a deadline ---- */

static int
wait_fd(int fd, short events, uint64_t deadline, const char *what, struct mavis_error *err)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	for (;;) {
		uint64_t now = av_now_ms();
		int rc;

		if (now >= deadline)
			return mavis_error_set(err, MAVIS_ERR_SCANNER, "timed out %s", what);
		rc = poll(&pfd, 1, (int)(deadline - now > 60000 ? 60000 : deadline - now));
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return mavis_error_set(err, MAVIS_ERR_SCANNER, "poll %s: %s", what,
					       strerror(errno));
	}
}

static int
clamd_connect(const struct av_clamd_addr *a, uint64_t deadline, struct mavis_error *err)
{
	int fd, soerr = 0;
	socklen_t len = sizeof(soerr);

	fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return mavis_error_set(err, MAVIS_ERR_SCANNER, "socket: %s", strerror(errno));
	if (connect(fd, (const struct sockaddr *)&a->sa, a->salen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		mavis_error_set(err, MAVIS_ERR_SCANNER, "connect: %s", strerror(errno));
		close(fd);
		return MAVIS_ERR_SCANNER;
	}
	if (wait_fd(fd, POLLOUT, deadline, "connecting", err) < 0) {
		close(fd);
		return MAVIS_ERR_SCANNER;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr != 0) {
		mavis_error_set(err, MAVIS_ERR_SCANNER, "connect: %s",
				strerror(soerr ? soerr : errno));
		close(fd);
		return MAVIS_ERR_SCANNER;
	}
	return fd;
}

static int
send_all(int fd, const void *p, size_t len, uint64_t deadline, struct mavis_error *err)
{
	const char *s = p;

	while (len > 0) {
		/* MSG_NOSIGNAL: a clamd that hangs up must not kill the daemon. */
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n > 0) {
			s += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(fd, POLLOUT, deadline, "sending to clamd", err) < 0)
				return MAVIS_ERR_SCANNER;
			continue;
		}
		return mavis_error_set(err, MAVIS_ERR_SCANNER, "send: %s",
				       n < 0 ? strerror(errno) : "nothing written");
	}
	return 0;
}

/* Replies are NUL-terminated ('z' commands). With one request outstanding at
   a time nothing follows the NUL, but bytes that do are kept. */
struct reader {
	char buf[CLAMD_REPLY_MAX];
	size_t len;
};

static int
read_reply(int fd, struct reader *r, uint64_t deadline, char *out, size_t outsz,
	   struct mavis_error *err)
{
	for (;;) {
		char *nul = memchr(r->buf, '\0', r->len);
		ssize_t n;

		if (nul != NULL) {
			size_t l = (size_t)(nul - r->buf);

			snprintf(out, outsz, "%s", r->buf);
			r->len -= l + 1;
			memmove(r->buf, nul + 1, r->len);
			return 0;
		}
		if (r->len == sizeof(r->buf))
			return mavis_error_set(err, MAVIS_ERR_SCANNER,
					       "reply longer than %d bytes", CLAMD_REPLY_MAX);
		n = recv(fd, r->buf + r->len, sizeof(r->buf) - r->len, 0);
		if (n > 0) {
			r->len += (size_t)n;
			continue;
		}
		if (n == 0) {
			/* clamd closes after some errors; what it said is the cause. */
			if (r->len > 0) {
				snprintf(out, outsz, "%.*s", (int)r->len, r->buf);
				r->len = 0;
				return 0;
			}
			return mavis_error_set(err, MAVIS_ERR_SCANNER,
					       "connection closed by clamd");
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return mavis_error_set(err, MAVIS_ERR_SCANNER, "recv: %s",
					       strerror(errno));
		if (wait_fd(fd, POLLIN, deadline, "waiting for the clamd reply", err) < 0)
			return MAVIS_ERR_SCANNER;
	}
}

static bool
ends_with(const char *s, size_t len, const char *suffix, size_t *stem)
{
	size_t sl = strlen(suffix);

	if (len < sl || memcmp(s + len - sl, suffix, sl) != 0)
		return false;
	*stem = len - sl;
	return true;
}

/* "<id>: stream: OK" / "<id>: stream: NAME FOUND" / "... ERROR". */
static int
parse_reply(char *reply, unsigned id, struct mavis_arena *arena, struct av_names *names,
	    struct mavis_error *err)
{
	size_t len = strlen(reply), stem;
	char *p = reply, *end;
	unsigned long got;

	while (len > 0 && (reply[len - 1] == '\n' || reply[len - 1] == '\r'))
		reply[--len] = '\0';
	got = strtoul(p, &end, 10);
	if (end != p && end[0] == ':' && end[1] == ' ') {
		if (got != id)
			return mavis_error_set(err, MAVIS_ERR_SCANNER,
					       "reply for request %lu, expected %u: \"%s\"",
					       got, id, reply);
		p = end + 2;
	}
	len = strlen(p);
	if (strncmp(p, "stream: ", 8) != 0 || ends_with(p, len, " ERROR", &stem))
		return mavis_error_set(err, MAVIS_ERR_SCANNER, "clamd said \"%s\"", p);
	p += 8;
	len -= 8;
	if (strcmp(p, "OK") == 0)
		return 0;
	if (ends_with(p, len, " FOUND", &stem) && stem > 0) {
		p[stem] = '\0';
		av_names_add(names, arena, p);
		return 1;
	}
	return mavis_error_set(err, MAVIS_ERR_SCANNER, "unexpected clamd reply \"%s\"", p);
}

static int
send_stream(int fd, const struct mavis_av_buf *b, unsigned char *chunk, uint64_t deadline,
	    struct mavis_error *err)
{
	static const char cmd[] = "zINSTREAM";	/* sent with its NUL */
	const unsigned char *p = b->data;
	size_t left = b->len;

	if (send_all(fd, cmd, sizeof(cmd), deadline, err) < 0)
		return MAVIS_ERR_SCANNER;
	do {
		size_t n = left < CLAMD_CHUNK ? left : CLAMD_CHUNK;

		/* 4-byte big-endian length, then the data; n == 0 ends it. */
		chunk[0] = (unsigned char)(n >> 24);
		chunk[1] = (unsigned char)(n >> 16);
		chunk[2] = (unsigned char)(n >> 8);
		chunk[3] = (unsigned char)n;
		if (n)
			memcpy(chunk + 4, p, n);
		if (send_all(fd, chunk, n + 4, deadline, err) < 0)
			return MAVIS_ERR_SCANNER;
		p += n;
		left -= n;
		if (n == 0)
			break;
	} while (1);
	return 0;
}

/* One IDSESSION on one socket. 0 clean, 1 infected, <0 failed. */
static int
clamd_session(const struct av_clamd *c, const struct av_clamd_addr *a,
	      const struct mavis_av_buf *bufs, size_t n, uint64_t deadline,
	      struct mavis_arena *arena, struct av_names *names, struct mavis_error *err)
{
	static const char start[] = "zIDSESSION", end[] = "zEND";
	uint64_t cdl = av_now_ms() + c->connect_timeout_ms;
	unsigned char *chunk = NULL;
	struct reader *r = NULL;
	char reply[CLAMD_REPLY_MAX + 1];
	const char *cur = NULL;
	size_t cur_len = 0;
	unsigned id = 0;
	int fd, rc = 0;
	bool infected = false;

	fd = clamd_connect(a, cdl < deadline ? cdl : deadline, err);
	if (fd < 0) {
		mavis_error_prefix(err, "%s: ", a->spec);
		return MAVIS_ERR_SCANNER;
	}
	if (send_all(fd, start, sizeof(start), deadline, err) < 0) {
		mavis_error_prefix(err, "%s: ", a->spec);
		close(fd);
		return MAVIS_ERR_SCANNER;
	}
	chunk = mavis_xmalloc(CLAMD_CHUNK + 4);
	r = mavis_xcalloc(1, sizeof(*r));
	for (size_t i = 0; i < n; i++) {
		const struct mavis_av_buf *b = &bufs[i];

		if (b->len == 0)
			continue;
		cur = b->name != NULL ? b->name : "buffer";
		cur_len = b->len;
		rc = send_stream(fd, b, chunk, deadline, err);
		if (rc < 0) {
			/* clamd may have answered (size limit) and hung up: its
			   words explain the broken pipe better. */
			ssize_t got = recv(fd, r->buf, sizeof(r->buf) - 1, MSG_DONTWAIT);

			if (got > 0) {
				r->buf[got] = '\0';
				mavis_error_prefix(err, "clamd said \"%s\"; ", r->buf);
			}
			break;
		}
		rc = read_reply(fd, r, deadline, reply, sizeof(reply), err);
		if (rc < 0)
			break;
		rc = parse_reply(reply, ++id, arena, names, err);
		if (rc < 0)
			break;
		if (rc == 1) {
			infected = true;
			if (!c->all_match)
				break;
		}
	}
	if (rc >= 0)
		(void)send_all(fd, end, sizeof(end), deadline, NULL);
	if (rc < 0 && strstr(err->text, "INSTREAM size limit exceeded") != NULL)
		/* The admin's fix is in clamd.conf, not here: say so. */
		mavis_error_set(err, MAVIS_ERR_SCANNER,
				"clamd refused a %zu-byte buffer: INSTREAM size limit exceeded "
				"(clamd's StreamMaxLength is below clamd_stream_max_length %llu)",
				cur_len, (unsigned long long)c->stream_max);
	if (rc < 0)
		mavis_error_prefix(err, "%s: %s: ", a->spec, cur != NULL ? cur : "session");
	close(fd);
	free(chunk);
	free(r);
	if (rc < 0)
		return infected ? 1 : MAVIS_ERR_SCANNER;
	return infected ? 1 : 0;
}

int
av_clamd_scan(const struct av_clamd *c, const struct mavis_av_buf *bufs, size_t n,
	      uint64_t deadline, struct mavis_arena *arena, struct av_names *names,
	      const char **notes, struct mavis_error *err)
{
	struct mavis_buf causes = { 0 };
	struct mavis_error e1;
	int rc = MAVIS_ERR_SCANNER;

	/* clamd would answer "INSTREAM size limit exceeded" once stream_max
	   bytes are in, on every socket alike: say it without sending. */
	for (size_t i = 0; c->stream_max > 0 && i < n; i++)
		if (bufs[i].len > c->stream_max)
			return mavis_error_set(err, MAVIS_ERR_SCANNER,
					       "%s: %zu bytes exceed clamd_stream_max_length %llu",
					       bufs[i].name != NULL ? bufs[i].name : "buffer",
					       bufs[i].len,
					       (unsigned long long)c->stream_max);

	/*
	 * Each socket in turn, restarting the session from the first buffer,
	 * while time is left. amavisd retries 2n times with sleeps; inside a
	 * milter callback one pass within the deadline is what we can afford.
	 */
	for (size_t i = 0; i < c->n_addrs; i++) {
		if (av_now_ms() >= deadline) {
			mavis_buf_printf(&causes, "%s%s: not tried, scanner timeout reached",
					 causes.len ? "; " : "", c->addrs[i].spec);
			continue;
		}
		mavis_error_clear(&e1);
		rc = clamd_session(c, &c->addrs[i], bufs, n, deadline, arena, names, &e1);
		if (rc >= 0)
			break;
		mavis_buf_printf(&causes, "%s%s", causes.len ? "; " : "", e1.text);
	}
	if (c->n_addrs == 0)
		mavis_buf_puts(&causes, "no clamd socket configured");
	if (rc < 0)
		mavis_error_set(err, MAVIS_ERR_SCANNER, "%s", mavis_buf_str(&causes));
	else if (causes.len > 0 && notes != NULL)
		*notes = mavis_arena_strdup(arena, mavis_buf_str(&causes));
	mavis_buf_free(&causes);
	return rc;
}
