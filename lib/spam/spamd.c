/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spamd.c - SpamAssassin spamd client: SPAMC/1.5 REPORT, score and rule table */

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <mavis/alloc.h>

#include "util/netio.h"
#include "spam_int.h"

/* More tests than this in one report is not SpamAssassin talking. */
#define SPAMD_MAX_TESTS 1000
#define SPAMD_MAX_NAME 128

/* ---- addresses ---- */

int
spamd_client_init(struct spamd_client *c, const char *spec, struct mavis_error *err)
{
	memset(c, 0, sizeof(*c));
	if (strncmp(spec, "unix:", 5) == 0) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&c->sa;
		const char *path = spec + 5;
		size_t len = strlen(path);

		if (len == 0 || path[0] != '/' || len >= sizeof(sun->sun_path))
			return mavis_error_set(err, MAVIS_ERR_CONFIG, "bad unix socket path");
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, path, len + 1);
		c->salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
		return 0;
	}
	if (strncmp(spec, "inet:", 5) != 0)
		return mavis_error_set(err, MAVIS_ERR_CONFIG,
				       "want spamd:inet:HOST:PORT or spamd:unix:/path");

	char *tmp = mavis_xstrdup(spec + 5), *host = tmp, *port;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int rc;

	if (*host == '[') {
		host++;
		port = strchr(host, ']');
		if (port == NULL || port[1] != ':') {
			free(tmp);
			return mavis_error_set(err, MAVIS_ERR_CONFIG, "want inet:[IPV6]:PORT");
		}
		*port = '\0';
		port += 2;
	} else {
		port = strrchr(host, ':');
		if (port == NULL || strchr(host, ':') != port) {
			free(tmp);
			return mavis_error_set(err, MAVIS_ERR_CONFIG,
					       "want inet:HOST:PORT or inet:[IPV6]:PORT");
		}
		*port++ = '\0';
	}
	char *end;
	long p = strtol(port, &end, 10);

	if (*host == '\0' || *port == '\0' || *end != '\0' || p <= 0 || p > 65535) {
		free(tmp);
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "bad host or port");
	}
	/* Resolved once here, so that a scan never waits for DNS. */
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0 || res == NULL || res->ai_addrlen > sizeof(c->sa)) {
		mavis_error_set(err, MAVIS_ERR_CONFIG, "%s: %s", host,
				rc ? gai_strerror(rc) : "no usable address");
		if (res)
			freeaddrinfo(res);
		free(tmp);
		return MAVIS_ERR_CONFIG;
	}
	memcpy(&c->sa, res->ai_addr, res->ai_addrlen);
	c->salen = res->ai_addrlen;
	freeaddrinfo(res);
	free(tmp);
	return 0;
}

/* ---- I/O against a deadline ---- */

static int
spamd_connect(const struct spamd_client *c, const struct spam_limits *lim,
	      struct mavis_error *err)
{
	uint64_t deadline = spam_now_ms() + lim->connect_timeout_ms;

	if (deadline > lim->deadline)
		deadline = lim->deadline;
	return mavis_net_connect((const struct sockaddr *)&c->sa, c->salen, deadline,
				 MAVIS_ERR_SCANNER, err);
}

/* Offset just past the blank line that ends the reply header, or 0. */
static size_t
header_end(const char *b, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (b[i] != '\n')
			continue;
		if (b[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && b[i + 1] == '\r' && b[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* Value of a reply header line "Name: value" inside [b, b+len), or NULL. */
static const char *
reply_header(const char *b, size_t len, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	const char *p = memchr(b, '\n', len);

	/* the first line is the status line */
	while (p != NULL && (size_t)(p - b) + 1 < len) {
		const char *line = p + 1, *eol;
		size_t rest = len - (size_t)(line - b);

		eol = memchr(line, '\n', rest);
		if (eol == NULL)
			eol = b + len;
		if ((size_t)(eol - line) > nl && strncasecmp(line, name, nl) == 0 &&
		    line[nl] == ':') {
			const char *v = line + nl + 1;

			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			const char *e = eol;
			while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
				e--;
			*vlen = (size_t)(e - v);
			return v;
		}
		p = eol < b + len ? eol : NULL;
	}
	return NULL;
}

static bool
parse_num(const char *s, size_t len, double *out)
{
	char tmp[64], *end;

	if (len == 0 || len >= sizeof(tmp))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	*out = strtod(tmp, &end);
	return end != tmp && *end == '\0' && isfinite(*out);
}

/* 1 when buf holds a whole reply (by its Content-length), else 0. */
static int
reply_complete(const char *b, size_t len)
{
	size_t he = header_end(b, len), vl;
	const char *cl;
	double n;

	if (he == 0)
		return 0;
	cl = reply_header(b, he, "Content-length", &vl);
	if (cl == NULL || !parse_num(cl, vl, &n) || n < 0)
		return 0;
	return len - he >= (size_t)n;
}

void
spamd_parse_report(const char *body, size_t len, struct mavis_arena *a,
		   struct mavis_spam_result *out)
{
	const char *p = body, *end = body + len;
	bool in_table = false;
	struct mavis_spam_test *t = NULL;
	size_t n = 0, cap = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end, *q = p;

		while (le > p && le[-1] == '\r')
			le--;
		if (!in_table) {
			/* SpamAssassin's default template: a " pts rule name"
			   caption, then a line of dashes, then the rules. */
			if (le - p >= 4 && memcmp(p, "----", 4) == 0)
				in_table = true;
		} else if (le == p) {
			break;
		} else {
			/* A rule line: the score right-aligned in four columns,
			   the name after it. Indented lines continue a
			   description and are skipped. */
			size_t ind = 0;
			while (q < le && *q == ' ') {
				q++;
				ind++;
			}
			const char *sc = q;
			if (q < le && *q == '-')
				q++;
			while (q < le && isdigit((unsigned char)*q))
				q++;
			if (q < le && *q == '.') {
				q++;
				while (q < le && isdigit((unsigned char)*q))
					q++;
			}
			const char *sce = q, *nm;
			while (q < le && *q == ' ')
				q++;
			nm = q;
			while (q < le && (isalnum((unsigned char)*q) || *q == '_' || *q == '.' ||
					  *q == ':' || *q == '-'))
				q++;
			double v;
			if (ind <= 3 && sce > sc && nm > sce && q > nm && (q == le || *q == ' ') &&
			    (size_t)(q - nm) <= SPAMD_MAX_NAME &&
			    parse_num(sc, (size_t)(sce - sc), &v) && n < SPAMD_MAX_TESTS) {
				if (n == cap) {
					size_t nc = cap ? cap * 2 : 16;
					struct mavis_spam_test *nt =
						mavis_arena_calloc(a, nc, sizeof(*nt));
					if (n)
						memcpy(nt, t, n * sizeof(*nt));
					t = nt;
					cap = nc;
				}
				t[n].name = mavis_arena_strndup(a, nm, (size_t)(q - nm));
				t[n].score = v;
				/* As amavisd shows it (SpamAssassin's TESTSSCORES, a
				   Perl number): "1.0" in the report is 1. A zero there
				   is a small score rounded (a rule scored 0 does not
				   run), so "-0.0" stays as written rather than 0. */
				t[n].score_text = v != 0 ? mavis_spam_fmt_num(a, v)
					: mavis_arena_strndup(a, sc, (size_t)(sce - sc));
				n++;
			}
		}
		p = eol ? eol + 1 : end;
	}
	spam_tests_sort(t, n);
	out->tests = t;
	out->n_tests = n;
}

/* Printable prefix of s for an error text. */
static void
snippet(char *dst, size_t cap, const char *s, size_t len)
{
	size_t j = 0;

	for (size_t i = 0; i < len && j + 1 < cap && s[i] != '\n' && s[i] != '\r'; i++)
		dst[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	dst[j] = '\0';
}

int
spamd_parse_reply(const char *b, size_t len, struct mavis_arena *a,
		  struct mavis_spam_result *out, struct mavis_error *err)
{
	char snip[80];
	const char *eol, *p, *v;
	size_t he, vl;
	double code, score, thr;

	snippet(snip, sizeof(snip), b, len);
	if (len == 0)
		return mavis_error_set(err, MAVIS_ERR_SCANNER, "empty reply");
	if (len < 6 || memcmp(b, "SPAMD/", 6) != 0)
		return mavis_error_set(err, MAVIS_ERR_SCANNER, "not a spamd reply: \"%s\"", snip);
	eol = memchr(b, '\n', len);
	if (eol == NULL)
		return mavis_error_set(err, MAVIS_ERR_SCANNER, "incomplete reply: \"%s\"", snip);
	/* "SPAMD/1.1 0 EX_OK" */
	p = memchr(b, ' ', (size_t)(eol - b));
	if (p == NULL)
		return mavis_error_set(err, MAVIS_ERR_SCANNER, "bad status line: \"%s\"", snip);
	p++;
	const char *ce = p;
	while (ce < eol && isdigit((unsigned char)*ce))
		ce++;
	if (!parse_num(p, (size_t)(ce - p), &code))
		return mavis_error_set(err, MAVIS_ERR_SCANNER, "bad status line: \"%s\"", snip);
	if (code != 0)
		return mavis_error_set(err, MAVIS_ERR_SCANNER, "spamd error: \"%s\"", snip);
	he = header_end(b, len);
	if (he == 0)
		return mavis_error_set(err, MAVIS_ERR_SCANNER, "reply header incomplete");

	/* "Spam: True ; 7.2 / 5.0" */
	v = reply_header(b, he, "Spam", &vl);
	if (v == NULL)
		return mavis_error_set(err, MAVIS_ERR_SCANNER, "reply without a Spam: header");
	const char *semi = memchr(v, ';', vl), *slash;
	if (semi == NULL || (slash = memchr(semi, '/', vl - (size_t)(semi - v))) == NULL)
		return mavis_error_set(err, MAVIS_ERR_SCANNER, "bad Spam: header \"%.*s\"",
				       (int)(vl > 60 ? 60 : vl), v);
	const char *s1 = semi + 1, *s2 = slash;
	while (s1 < s2 && *s1 == ' ')
		s1++;
	while (s2 > s1 && s2[-1] == ' ')
		s2--;
	const char *t1 = slash + 1, *t2 = v + vl;
	while (t1 < t2 && *t1 == ' ')
		t1++;
	if (!parse_num(s1, (size_t)(s2 - s1), &score) || !parse_num(t1, (size_t)(t2 - t1), &thr))
		return mavis_error_set(err, MAVIS_ERR_SCANNER, "bad Spam: header \"%.*s\"",
				       (int)(vl > 60 ? 60 : vl), v);

	size_t body = len - he;
	v = reply_header(b, he, "Content-length", &vl);
	if (v != NULL) {
		double cl;

		if (!parse_num(v, vl, &cl) || cl < 0)
			return mavis_error_set(err, MAVIS_ERR_SCANNER, "bad Content-length");
		if ((double)body < cl)
			return mavis_error_set(err, MAVIS_ERR_SCANNER,
					       "reply truncated: %zu of %.0f body bytes", body, cl);
		body = (size_t)cl;
	}
	out->score = score;
	out->threshold = thr;
	out->report = mavis_arena_strndup(a, b + he, body);
	spamd_parse_report(b + he, body, a, out);
	return 0;
}

/* The envelope as header fields SpamAssassin reads (amavisd prepends the
   same two): Return-Path for the sender, X-Envelope-To for recipients.
   Same line ends as the message's first line. */
static void
pseudo_headers(struct mavis_buf *h, const struct mavis_spam_request *req, struct mavis_arena *a)
{
	const char *nl = memchr(req->msg, '\n', req->len);
	const char *eol = nl && nl > (const char *)req->msg && nl[-1] == '\r' ? "\r\n" : "\n";

	if (req->sender != NULL)
		mavis_buf_printf(h, "Return-Path: <%s>%s", spam_header_safe(a, req->sender), eol);
	for (size_t i = 0; i < req->n_rcpts; i++)
		mavis_buf_printf(h, "%s<%s>%s%s", i ? " " : "X-Envelope-To: ",
				 spam_header_safe(a, req->rcpts[i]),
				 i + 1 < req->n_rcpts ? "," : "", eol);
}

int
spamd_check(const struct spamd_client *c, const struct mavis_spam_request *req,
	    const struct spam_limits *lim, struct mavis_arena *a,
	    struct mavis_spam_result *out, struct mavis_error *err)
{
	struct mavis_buf pre = { 0 }, head = { 0 }, rep = { 0 };
	struct mavis_error serr = { 0 };
	int fd, rc = 0, sent;

	if (req->msg == NULL && req->len > 0)
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "no message bytes");
	if (req->len > 0)
		pseudo_headers(&pre, req, a);
	mavis_buf_printf(&head, "REPORT SPAMC/1.5\r\nContent-length: %zu\r\n", pre.len + req->len);
	if (req->spamd_user != NULL && *req->spamd_user)
		mavis_buf_printf(&head, "User: %s\r\n", spam_header_safe(a, req->spamd_user));
	mavis_buf_puts(&head, "\r\n");

	fd = spamd_connect(c, lim, err);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	sent = mavis_net_send_all(fd, head.data, head.len, lim->deadline, "sending", MAVIS_ERR_SCANNER, &serr);
	if (sent == 0 && pre.len)
		sent = mavis_net_send_all(fd, pre.data, pre.len, lim->deadline, "sending", MAVIS_ERR_SCANNER, &serr);
	if (sent == 0 && req->len)
		sent = mavis_net_send_all(fd, req->msg, req->len, lim->deadline, "sending", MAVIS_ERR_SCANNER, &serr);
	if (sent == 0)
		shutdown(fd, SHUT_WR);

	/* Read even after a failed send: spamd may have answered with an
	   error line and closed, and that line is the better cause. */
	for (;;) {
		char buf[16384];
		ssize_t n;

		if (rep.len && reply_complete(rep.data, rep.len))
			break;
		if (mavis_net_wait(fd, POLLIN, lim->deadline, "waiting for the reply", MAVIS_ERR_SCANNER, err) < 0) {
			rc = MAVIS_ERR_SCANNER;
			break;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n < 0) {
			if (rep.len == 0 && sent < 0) {
				*err = serr;
				rc = serr.status;
			} else {
				rc = mavis_error_set(err, MAVIS_ERR_SCANNER, "recv: %s",
						     strerror(errno));
			}
			break;
		}
		if (n == 0)
			break;
		if (rep.len + (size_t)n > lim->max_reply) {
			rc = mavis_error_set(err, MAVIS_ERR_SCANNER,
					     "reply larger than %zu bytes", lim->max_reply);
			break;
		}
		mavis_buf_append(&rep, buf, (size_t)n);
	}
	close(fd);
	if (rc == 0 && sent < 0 && (rep.len < 6 || memcmp(rep.data, "SPAMD/", 6) != 0)) {
		*err = serr;
		rc = serr.status;
	}
	if (rc == 0) {
		rc = spamd_parse_reply(rep.data ? rep.data : "", rep.len, a, out, err);
		/* an answer to a request that was cut off is not a score */
		if (rc == 0 && sent < 0) {
			*err = serr;
			rc = serr.status;
		}
	}
out:
	mavis_buf_free(&pre);
	mavis_buf_free(&head);
	mavis_buf_free(&rep);
	return rc;
}
