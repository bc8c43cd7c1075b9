/* SPDX-License-Identifier: GPL-2.0-or-later */
/* smtp_client.c - a small SMTP client for re-submission: timeouts, checked replies */

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mavis/buf.h>

#include "store_int.h"

#define LINE_MAX_BYTES 4096	/* one reply line; RFC 5321 says 512 */
#define REPLY_LINES_MAX 1000	/* lines of one multi-line reply */

struct smtp {
	int fd;
	int io_ms;
	char in[LINE_MAX_BYTES + 2];
	size_t inlen;
	char where[300];	/* "[host]:port" for messages */
	char why[400];		/* the last local failure */
	/* EHLO keywords we use. */
	bool ext_8bitmime, ext_smtputf8;
};

/* Connect to host:port within timeout_ms; the socket stays non-blocking. */
static int
smtp_connect(struct smtp *s, const char *host, const char *port, int timeout_ms)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(host, port, &hints, &res);

	if (gai != 0) {
		snprintf(s->why, sizeof(s->why), "cannot resolve %s: %s", host, gai_strerror(gai));
		return -1;
	}
	snprintf(s->why, sizeof(s->why), "no address for %s", host);
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
				ai->ai_protocol);
		int e = 0;

		if (fd < 0) {
			snprintf(s->why, sizeof(s->why), "socket: %s", strerror(errno));
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			e = errno;
			if (e == EINPROGRESS) {
				struct pollfd pfd = { .fd = fd, .events = POLLOUT };
				int pr;
				socklen_t el = sizeof(e);

				do
					pr = poll(&pfd, 1, timeout_ms);
				while (pr < 0 && errno == EINTR);
				if (pr == 0)
					e = ETIMEDOUT;
				else if (pr < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
					e = errno;
			}
		}
		if (e == 0) {
			freeaddrinfo(res);
			s->fd = fd;
			return 0;
		}
		snprintf(s->why, sizeof(s->why), "connect to %s: %s", s->where, strerror(e));
		close(fd);
	}
	freeaddrinfo(res);
	return -1;
}

static int
smtp_write(void *ctx, const char *data, size_t len, struct mavis_error *err)
{
	struct smtp *s = ctx;

	while (len > 0) {
		struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };
		int pr = poll(&pfd, 1, s->io_ms);

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0) {
			snprintf(s->why, sizeof(s->why), "timeout sending to %s", s->where);
			return mavis_error_set(err, MAVIS_ERR_IO, "%s", s->why);
		}
		/* MSG_NOSIGNAL: a peer that hung up is an error here, not a signal. */
		ssize_t n = send(s->fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			snprintf(s->why, sizeof(s->why), "send to %s: %s", s->where, strerror(errno));
			return mavis_error_set(err, MAVIS_ERR_IO, "%s", s->why);
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Note the EHLO keywords we care about from one reply line's text. */
static void
ehlo_keyword(struct smtp *s, const char *text, size_t n)
{
	size_t kl = 0;

	while (kl < n && text[kl] != ' ')
		kl++;
	if (kl == 8 && strncasecmp(text, "8BITMIME", 8) == 0)
		s->ext_8bitmime = true;
	else if (kl == 8 && strncasecmp(text, "SMTPUTF8", 8) == 0)
		s->ext_smtputf8 = true;
}

/* Read one reply, every line of it. *code is its code, reply the last line
   (control characters made '?'). 0, or -1 with s->why set (timeout, closed,
   malformed). */
static int
smtp_reply(struct smtp *s, int *code, char *reply, size_t reply_size, bool ehlo)
{
	for (int lines = 0; lines < REPLY_LINES_MAX; lines++) {
		char *nl;

		while ((nl = memchr(s->in, '\n', s->inlen)) == NULL) {
			struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
			int pr;

			if (s->inlen >= LINE_MAX_BYTES) {
				snprintf(s->why, sizeof(s->why), "reply line over %d bytes from %s",
					 LINE_MAX_BYTES, s->where);
				return -1;
			}
			pr = poll(&pfd, 1, s->io_ms);
			if (pr < 0 && errno == EINTR)
				continue;
			if (pr == 0) {
				snprintf(s->why, sizeof(s->why), "timeout reading from %s", s->where);
				return -1;
			}
			ssize_t n = recv(s->fd, s->in + s->inlen, LINE_MAX_BYTES - s->inlen, 0);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				snprintf(s->why, sizeof(s->why), "%s %s", s->where,
					 n == 0 ? "closed the connection" : strerror(errno));
				return -1;
			}
			s->inlen += (size_t)n;
		}
		size_t len = (size_t)(nl - s->in), used = len + 1;
		if (len > 0 && s->in[len - 1] == '\r')
			len--;
		const char *l = s->in;
		if (len < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' || l[2] < '0' ||
		    l[2] > '9' || (len > 3 && l[3] != ' ' && l[3] != '-')) {
			snprintf(s->why, sizeof(s->why), "malformed reply from %s: \"%.*s\"", s->where,
				 (int)(len < 80 ? len : 80), l);
			return -1;
		}
		*code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
		bool more = len > 3 && l[3] == '-';
		if (ehlo && len > 4)
			ehlo_keyword(s, l + 4, len - 4);
		size_t k = 0;
		for (size_t i = 0; i < len && k + 1 < reply_size; i++)
			reply[k++] = (unsigned char)l[i] < 0x20 || l[i] == 0x7f ? '?' : l[i];
		reply[k] = '\0';
		memmove(s->in, s->in + used, s->inlen - used);
		s->inlen -= used;
		if (!more)
			return 0;
	}
	snprintf(s->why, sizeof(s->why), "reply of more than %d lines from %s", REPLY_LINES_MAX,
		 s->where);
	return -1;
}

/* Send a command line (CRLF added) and read its reply. */
static int
smtp_cmd(struct smtp *s, const char *line, int *code, char *reply, size_t reply_size, bool ehlo)
{
	struct mavis_buf b = { 0 };
	struct mavis_error err = { 0 };
	int rc;

	mavis_buf_puts(&b, line);
	mavis_buf_puts(&b, "\r\n");
	rc = smtp_write(s, b.data, b.len, &err);
	mavis_buf_free(&b);
	if (rc < 0)
		return -1;
	return smtp_reply(s, code, reply, reply_size, ehlo);
}

int
store_smtp_submit(const struct mavis_submit_method *m, const struct mavis_submit_opts *o,
		  const char *sender, struct mavis_submit_rcpt *r, size_t n,
		  const struct mavis_submit_part *parts, size_t nparts, int eightbit, int utf8)
{
	struct smtp s = { .fd = -1, .io_ms = o->io_timeout * 1000 };
	struct mavis_buf cmd = { 0 };
	struct mavis_error err = { 0 };
	char reply[MAVIS_SUBMIT_REPLY_MAX], local[MAVIS_SUBMIT_REPLY_MAX];
	int code = 0, accepted = 0;
	size_t nok = 0;

	snprintf(s.where, sizeof(s.where), "[%s]:%s", m->host, m->port);
	if (smtp_connect(&s, m->host, m->port, o->connect_timeout * 1000) < 0) {
		snprintf(local, sizeof(local), "450 4.4.1 %s", s.why);
		store_rcpt_verdict(r, n, STORE_RCPT_ALL, 450, local);
		return 0;
	}
	if (smtp_reply(&s, &code, reply, sizeof(reply), false) < 0)
		goto io_fail;
	if (code != 220) {
		store_rcpt_verdict(r, n, STORE_RCPT_ALL, code, reply);
		goto quit;
	}
	mavis_buf_printf(&cmd, "EHLO %s", o->helo_name);
	if (smtp_cmd(&s, cmd.data, &code, reply, sizeof(reply), true) < 0)
		goto io_fail;
	if (code != 250) {
		/* An old server: HELO, and no extensions. */
		mavis_buf_reset(&cmd);
		mavis_buf_printf(&cmd, "HELO %s", o->helo_name);
		if (smtp_cmd(&s, cmd.data, &code, reply, sizeof(reply), false) < 0)
			goto io_fail;
		if (code != 250) {
			store_rcpt_verdict(r, n, STORE_RCPT_ALL, code, reply);
			goto quit;
		}
	}
	mavis_buf_reset(&cmd);
	mavis_buf_printf(&cmd, "MAIL FROM:<%s>%s%s", sender,
			 eightbit && s.ext_8bitmime ? " BODY=8BITMIME" : "",
			 utf8 && s.ext_smtputf8 ? " SMTPUTF8" : "");
	if (smtp_cmd(&s, cmd.data, &code, reply, sizeof(reply), false) < 0)
		goto io_fail;
	if (code != 250) {
		store_rcpt_verdict(r, n, STORE_RCPT_ALL, code, reply);
		goto quit;
	}
	for (size_t i = 0; i < n; i++) {
		mavis_buf_reset(&cmd);
		mavis_buf_printf(&cmd, "RCPT TO:<%s>", r[i].addr);
		if (smtp_cmd(&s, cmd.data, &code, reply, sizeof(reply), false) < 0)
			goto io_fail;
		r[i].code = code;
		snprintf(r[i].reply, sizeof(r[i].reply), "%s", reply);
		if (code >= 200 && code <= 299)
			nok++;
	}
	if (nok == 0)
		goto quit;
	if (smtp_cmd(&s, "DATA", &code, reply, sizeof(reply), false) < 0)
		goto io_fail;
	if (code != 354) {
		store_rcpt_verdict(r, n, STORE_RCPT_ACCEPTED, code, reply);
		goto quit;
	}
	if (store_encode(parts, nparts, STORE_ENC_SMTP, smtp_write, &s, &err) < 0 ||
	    smtp_reply(&s, &code, reply, sizeof(reply), false) < 0)
		goto io_fail;
	/* The end-of-data reply is the MTA's verdict for every recipient it
	   took at RCPT. */
	store_rcpt_verdict(r, n, STORE_RCPT_ACCEPTED, code, reply);
	if (code >= 200 && code <= 299)
		accepted = (int)nok;
quit:
	/* Politeness only: the outcome is decided already. */
	if (smtp_cmd(&s, "QUIT", &code, reply, sizeof(reply), false) < 0) {
		/* nothing to do */
	}
	close(s.fd);
	mavis_buf_free(&cmd);
	return accepted;
io_fail:
	/* A recipient accepted at RCPT is not delivered until the final dot was
	   answered: that one fails too. */
	snprintf(local, sizeof(local), "450 4.4.2 %s", s.why);
	store_rcpt_verdict(r, n, STORE_RCPT_UNSET, 450, local);
	store_rcpt_verdict(r, n, STORE_RCPT_ACCEPTED, 450, local);
	close(s.fd);
	mavis_buf_free(&cmd);
	return 0;
}
