/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * milterload.c - load generator for the benchmarks: sends messages to a
 * filter the way an MTA does, over C threads, and reports throughput and
 * per-message latency.
 *
 *   milterload -p milter -s inet:PORT@HOST|unix:PATH  ...   milter protocol v6
 *   milterload -p smtp   -s HOST:PORT                 ...   plain SMTP
 *
 *   -l LIST    file with one message path per line (required)
 *   -c N       concurrent sessions (threads), default 1
 *   -n N       messages to send (default: each message of LIST once)
 *   -t SECS    send for SECS seconds instead of -n, cycling through LIST
 *   -S N       start at message N of LIST (mod its length), so that short
 *              runs one after the other cover the whole list
 *   -f ADDR    envelope sender (default bench@example.org)
 *   -r ADDR    envelope recipient (default user@example.com)
 *   -o FILE    one line per message: "idx start_ns end_ns result code"
 *              (start/end in CLOCK_REALTIME ns, to match sink file times)
 *   -i TAG     SMTP: prepend "X-Bench-Id: TAG-IDX" so the sink copy can be matched
 *
 * Milter mode speaks the protocol itself: option negotiation (offering what
 * Postfix 3.7 offers), macros like Postfix sends them, connect, helo, mail,
 * rcpt, data, headers, eoh, body chunks of at most 65535 bytes, eom; it
 * honours the filter's SMFIP_NO* / SMFIP_NR_* flags and SMFIR_SKIP, reads the
 * edits and the final reply, then quits. One milter connection per message,
 * like Postfix does for one message per SMTP session.
 *
 * Output on stdout, one line of JSON:
 *   {"msgs":N,"secs":S,"rate":R,"p50_ms":..,"p90_ms":..,"p99_ms":..,"max_ms":..,
 *    "accept":N,"reject":N,"tempfail":N,"discard":N,"error":N,"edits":N,"bytes":N}
 * Exit 0 when every message got an answer (accept, reject or discard), 1 when
 * any ended in tempfail or a protocol/connection error, 2 on usage errors.
 *
 * Build: cc -O2 -pthread -o milterload milterload.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Milter protocol constants (libmilter mfdef.h, protocol version 6). */
#define SMFIC_ABORT 'A'
#define SMFIC_BODY 'B'
#define SMFIC_CONNECT 'C'
#define SMFIC_MACRO 'D'
#define SMFIC_BODYEOB 'E'
#define SMFIC_HELO 'H'
#define SMFIC_HEADER 'L'
#define SMFIC_MAIL 'M'
#define SMFIC_EOH 'N'
#define SMFIC_OPTNEG 'O'
#define SMFIC_QUIT 'Q'
#define SMFIC_RCPT 'R'
#define SMFIC_DATA 'T'

#define SMFIP_NOCONNECT 0x00000001UL
#define SMFIP_NOHELO 0x00000002UL
#define SMFIP_NOMAIL 0x00000004UL
#define SMFIP_NORCPT 0x00000008UL
#define SMFIP_NOBODY 0x00000010UL
#define SMFIP_NOHDRS 0x00000020UL
#define SMFIP_NOEOH 0x00000040UL
#define SMFIP_NR_HDR 0x00000080UL
#define SMFIP_NOUNKNOWN 0x00000100UL
#define SMFIP_NODATA 0x00000200UL
#define SMFIP_SKIP 0x00000400UL
#define SMFIP_RCPT_REJ 0x00000800UL
#define SMFIP_NR_CONN 0x00001000UL
#define SMFIP_NR_HELO 0x00002000UL
#define SMFIP_NR_MAIL 0x00004000UL
#define SMFIP_NR_RCPT 0x00008000UL
#define SMFIP_NR_DATA 0x00010000UL
#define SMFIP_NR_UNKN 0x00020000UL
#define SMFIP_NR_EOH 0x00040000UL
#define SMFIP_NR_BODY 0x00080000UL
#define SMFIP_HDR_LEADSPC 0x00100000UL

#define MTA_ACTIONS 0x000001FFUL	/* every action, as Postfix offers */
#define MTA_PROTOCOL 0x001FFFFFUL	/* every step/NR/skip flag Postfix 3.7 offers */
#define CHUNK 65535
#define MAX_PKT (64 * 1024 * 1024)

enum result { R_ACCEPT, R_REJECT, R_TEMPFAIL, R_DISCARD, R_ERROR, R_NRESULTS };
static const char *const result_name[] = { "accept", "reject", "tempfail", "discard", "error" };

struct header {
	char *name, *value;	/* value without the leading space */
};

struct message {
	char *path;
	struct header *hdr;
	size_t nhdr;
	char *body;		/* CRLF line ends */
	size_t bodylen;
	char *smtp;		/* whole message, CRLF, dot-stuffed, without the final dot */
	size_t smtplen;
};

struct record {
	long idx;
	int64_t start_ns, end_ns;	/* CLOCK_REALTIME */
	double ms;
	int result;
	int code;
};

static struct {
	int smtp;
	const char *sockspec;
	const char *from, *rcpt;
	int conc;
	long count;
	long start;
	double secs;
	const char *bench_id;
	const char *outfile;
	struct sockaddr_storage addr;
	socklen_t addrlen;
} opt = { .from = "bench@example.org", .rcpt = "user@example.com", .conc = 1 };

static struct message *msgs;
static size_t nmsgs;
static atomic_long next_idx;
static atomic_long edits_total;
static atomic_llong bytes_total;
static struct record *recs;
static long nrecs_cap;
static atomic_long nrecs;
static double deadline;	/* monotonic seconds; 0 = count mode */
static atomic_int errors_shown;

static double
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t
now_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL) {
		perror("malloc");
		exit(2);
	}
	return p;
}

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL) {
		perror("realloc");
		exit(2);
	}
	return p;
}

static char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* ------------------------------------------------------------ messages */

struct buf {
	char *d;
	size_t len, cap;
};

static void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < b->len + n)
			cap *= 2;
		b->d = xrealloc(b->d, cap);
		b->cap = cap;
	}
	memcpy(b->d + b->len, p, n);
	b->len += n;
}

static void
load_message(struct message *m, const char *path)
{
	FILE *f = fopen(path, "rb");
	struct buf raw = { 0 }, body = { 0 }, smtp = { 0 };
	char tmp[65536];
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "milterload: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_add(&raw, tmp, n);
	fclose(f);
	m->path = strdup(path);

	/* Lines, without their line end, CRLF or LF. */
	const char *p = raw.d ? raw.d : "", *end = p + raw.len;
	int in_header = 1;
	struct buf val = { 0 };
	char *name = NULL;
	size_t caphdr = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		size_t ln = (size_t)(eol - p);

		if (ln > 0 && p[ln - 1] == '\r')
			ln--;
		/* SMTP copy: every line, CRLF, dot-stuffed. */
		if (ln > 0 && p[0] == '.')
			buf_add(&smtp, ".", 1);
		buf_add(&smtp, p, ln);
		buf_add(&smtp, "\r\n", 2);
		if (in_header) {
			const char *colon = memchr(p, ':', ln);

			if (ln > 0 && (p[0] == ' ' || p[0] == '\t') && name != NULL) {
				buf_add(&val, "\r\n", 2);
				buf_add(&val, p, ln);
			} else if (ln == 0 || colon == NULL) {
				in_header = 0;
				if (ln != 0) {	/* not a header line: it starts the body */
					buf_add(&body, p, ln);
					buf_add(&body, "\r\n", 2);
				}
			} else {
				if (name != NULL) {
					if (m->nhdr == caphdr) {
						caphdr = caphdr ? caphdr * 2 : 32;
						m->hdr = xrealloc(m->hdr, caphdr * sizeof(*m->hdr));
					}
					m->hdr[m->nhdr].name = name;
					m->hdr[m->nhdr].value = xstrndup(val.d ? val.d : "", val.len);
					m->nhdr++;
				}
				name = xstrndup(p, (size_t)(colon - p));
				val.len = 0;
				const char *v = colon + 1;
				while (v < p + ln && (*v == ' ' || *v == '\t'))
					v++;
				buf_add(&val, v, (size_t)(p + ln - v));
			}
			if (!in_header && name != NULL) {
				if (m->nhdr == caphdr) {
					caphdr = caphdr ? caphdr * 2 : 32;
					m->hdr = xrealloc(m->hdr, caphdr * sizeof(*m->hdr));
				}
				m->hdr[m->nhdr].name = name;
				m->hdr[m->nhdr].value = xstrndup(val.d ? val.d : "", val.len);
				m->nhdr++;
				name = NULL;
			}
		} else {
			buf_add(&body, p, ln);
			buf_add(&body, "\r\n", 2);
		}
		p = nl ? nl + 1 : end;
	}
	if (name != NULL) {	/* header only, no body */
		m->hdr = xrealloc(m->hdr, (m->nhdr + 1) * sizeof(*m->hdr));
		m->hdr[m->nhdr].name = name;
		m->hdr[m->nhdr].value = xstrndup(val.d ? val.d : "", val.len);
		m->nhdr++;
	}
	free(val.d);
	free(raw.d);
	m->body = body.d ? body.d : xstrndup("", 0);
	m->bodylen = body.len;
	m->smtp = smtp.d ? smtp.d : xstrndup("", 0);
	m->smtplen = smtp.len;
}

static void
load_list(const char *listfile)
{
	FILE *f = fopen(listfile, "r");
	char line[4096];
	size_t cap = 0;

	if (f == NULL) {
		fprintf(stderr, "milterload: %s: %s\n", listfile, strerror(errno));
		exit(2);
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (nmsgs == cap) {
			cap = cap ? cap * 2 : 256;
			msgs = xrealloc(msgs, cap * sizeof(*msgs));
		}
		memset(&msgs[nmsgs], 0, sizeof(msgs[nmsgs]));
		load_message(&msgs[nmsgs], line);
		nmsgs++;
	}
	fclose(f);
	if (nmsgs == 0) {
		fprintf(stderr, "milterload: no messages in %s\n", listfile);
		exit(2);
	}
}

/* ------------------------------------------------------------ sockets */

static int
parse_sockspec(void)
{
	const char *s = opt.sockspec;
	char host[256], port[32];

	memset(&opt.addr, 0, sizeof(opt.addr));
	if (strncmp(s, "unix:", 5) == 0 || strncmp(s, "local:", 6) == 0) {
		struct sockaddr_un *un = (struct sockaddr_un *)&opt.addr;
		const char *path = strchr(s, ':') + 1;

		if (strlen(path) >= sizeof(un->sun_path))
			return -1;
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, path);
		opt.addrlen = sizeof(*un);
		return 0;
	}
	if (strncmp(s, "inet:", 5) == 0) {	/* inet:PORT@HOST (libmilter) */
		const char *at = strchr(s + 5, '@');

		if (at == NULL || (size_t)(at - s - 5) >= sizeof(port))
			return -1;
		memcpy(port, s + 5, (size_t)(at - s - 5));
		port[at - s - 5] = '\0';
		snprintf(host, sizeof(host), "%s", at + 1);
	} else {		/* HOST:PORT */
		const char *colon = strrchr(s, ':');

		if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
			return -1;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		snprintf(port, sizeof(port), "%s", colon + 1);
	}
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;

	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return -1;
	memcpy(&opt.addr, ai->ai_addr, ai->ai_addrlen);
	opt.addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static int
dial(void)
{
	int fd = socket(opt.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { 300, 0 };
	int one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (opt.addr.ss_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (int tries = 0;; tries++) {
		if (connect(fd, (struct sockaddr *)&opt.addr, opt.addrlen) == 0)
			return fd;
		/* A full listen queue under load: back off briefly and retry. */
		if ((errno == EAGAIN || errno == ECONNREFUSED) && tries < 50) {
			usleep(20000);
			continue;
		}
		close(fd);
		return -1;
	}
}

static int
write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
read_all(int fd, void *data, size_t len)
{
	char *p = data;

	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ------------------------------------------------------------ milter */

struct mconn {
	int fd;
	unsigned long pflags;	/* what the filter asked for */
	struct buf out;		/* packet under construction */
	char *in;		/* last reply packet */
	size_t incap;
	uint32_t inlen;
	int edits;
	char reply_code[4];
};

static void
pkt_begin(struct mconn *c, char cmd)
{
	c->out.len = 0;
	buf_add(&c->out, "\0\0\0\0", 4);
	buf_add(&c->out, &cmd, 1);
}

static void
pkt_str(struct mconn *c, const char *s)
{
	buf_add(&c->out, s, strlen(s) + 1);
}

static int
pkt_send(struct mconn *c)
{
	uint32_t len = htonl((uint32_t)(c->out.len - 4));

	memcpy(c->out.d, &len, 4);
	return write_all(c->fd, c->out.d, c->out.len);
}

/* Read one reply packet; returns its command byte or -1. */
static int
pkt_read(struct mconn *c)
{
	uint32_t len;

	if (read_all(c->fd, &len, 4) < 0)
		return -1;
	len = ntohl(len);
	if (len < 1 || len > MAX_PKT)
		return -1;
	if (len > c->incap) {
		c->in = xrealloc(c->in, len);
		c->incap = len;
	}
	if (read_all(c->fd, c->in, len) < 0)
		return -1;
	c->inlen = len;
	return (unsigned char)c->in[0];
}

/* Map a final reply to a result; 0 = continue. */
static int
final_of(struct mconn *c, int cmd, enum result *res)
{
	switch (cmd) {
	case 'c':
		return 0;
	case 'a':
		*res = R_ACCEPT;
		return 1;
	case 'r':
		*res = R_REJECT;
		strcpy(c->reply_code, "550");
		return 1;
	case 't':
		*res = R_TEMPFAIL;
		strcpy(c->reply_code, "451");
		return 1;
	case 'd':
		*res = R_DISCARD;
		return 1;
	case 'y':
		if (c->inlen >= 4) {
			memcpy(c->reply_code, c->in + 1, 3);
			c->reply_code[3] = '\0';
		}
		*res = c->in[1] == '4' ? R_TEMPFAIL : c->in[1] == '5' ? R_REJECT : R_ERROR;
		return 1;
	case 'f':
	case '4':
		*res = R_TEMPFAIL;
		return 1;
	default:
		*res = R_ERROR;
		return 1;
	}
}

/* Send the packet in c->out and, unless the filter said it sends none,
   read the reply. Returns 0 to go on, 1 with *res set when the message is
   decided (or failed), 2 when the filter asked to skip (body only). */
static int
step(struct mconn *c, unsigned long nr_flag, enum result *res)
{
	int cmd;

	if (pkt_send(c) < 0) {
		*res = R_ERROR;
		return 1;
	}
	if (nr_flag && (c->pflags & nr_flag))
		return 0;
	for (;;) {
		cmd = pkt_read(c);
		if (cmd < 0) {
			*res = R_ERROR;
			return 1;
		}
		if (cmd == 'p')	/* progress: still working */
			continue;
		if (cmd == 's')
			return 2;
		return final_of(c, cmd, res);
	}
}

static void
macros(struct mconn *c, char stage, const char *const *kv)
{
	pkt_begin(c, SMFIC_MACRO);
	buf_add(&c->out, &stage, 1);
	for (; *kv; kv++)
		pkt_str(c, *kv);
}

static enum result
milter_message(const struct message *m, long idx, char *code)
{
	struct mconn c = { .fd = -1 };
	enum result res = R_ERROR;
	char qid[32];
	uint32_t v[3];
	int rc;

	snprintf(qid, sizeof(qid), "B%010lX", idx);
	c.fd = dial();
	if (c.fd < 0)
		goto out;
	pkt_begin(&c, SMFIC_OPTNEG);
	v[0] = htonl(6);
	v[1] = htonl((uint32_t)MTA_ACTIONS);
	v[2] = htonl((uint32_t)MTA_PROTOCOL);
	buf_add(&c.out, v, sizeof(v));
	if (pkt_send(&c) < 0 || pkt_read(&c) != SMFIC_OPTNEG || c.inlen < 13)
		goto out;
	memcpy(v, c.in + 1, sizeof(v));
	c.pflags = ntohl(v[2]);

	/* CONNECT, with the macros Postfix sends by default plus client ones. */
	{
		static const char *const kv[] = { "j", "mta.bench.test", "{daemon_name}", "mta.bench.test",
						   "{daemon_addr}", "127.0.0.1", "v", "Postfix 3.7",
						   "_", "localhost [127.0.0.1]", "{client_addr}", "127.0.0.1",
						   "{client_name}", "localhost", NULL };
		macros(&c, SMFIC_CONNECT, kv);
		if (pkt_send(&c) < 0)
			goto out;
	}
	if (!(c.pflags & SMFIP_NOCONNECT)) {
		uint16_t port = htons(40000);

		pkt_begin(&c, SMFIC_CONNECT);
		pkt_str(&c, "localhost");
		buf_add(&c.out, "4", 1);
		buf_add(&c.out, &port, 2);
		pkt_str(&c, "127.0.0.1");
		if ((rc = step(&c, SMFIP_NR_CONN, &res)) == 1)
			goto out;
	}
	if (!(c.pflags & SMFIP_NOHELO)) {
		pkt_begin(&c, SMFIC_HELO);
		pkt_str(&c, "client.bench.test");
		if ((rc = step(&c, SMFIP_NR_HELO, &res)) == 1)
			goto out;
	}
	{
		char from[600];
		const char *kv[] = { "i", qid, "{mail_addr}", opt.from, NULL };

		macros(&c, SMFIC_MAIL, kv);
		if (pkt_send(&c) < 0)
			goto out;
		if (!(c.pflags & SMFIP_NOMAIL)) {
			snprintf(from, sizeof(from), "<%s>", opt.from);
			pkt_begin(&c, SMFIC_MAIL);
			pkt_str(&c, from);
			if ((rc = step(&c, SMFIP_NR_MAIL, &res)) == 1)
				goto out;
		}
	}
	{
		char to[600];
		const char *kv[] = { "i", qid, "{rcpt_addr}", opt.rcpt, "{rcpt_host}", "127.0.0.1",
				     "{rcpt_mailer}", "smtp", NULL };

		macros(&c, SMFIC_RCPT, kv);
		if (pkt_send(&c) < 0)
			goto out;
		if (!(c.pflags & SMFIP_NORCPT)) {
			snprintf(to, sizeof(to), "<%s>", opt.rcpt);
			pkt_begin(&c, SMFIC_RCPT);
			pkt_str(&c, to);
			if ((rc = step(&c, SMFIP_NR_RCPT, &res)) == 1)
				goto quit;
		}
	}
	{
		const char *kv[] = { "i", qid, NULL };

		macros(&c, SMFIC_DATA, kv);
		if (pkt_send(&c) < 0)
			goto out;
		if (!(c.pflags & SMFIP_NODATA)) {
			pkt_begin(&c, SMFIC_DATA);
			if ((rc = step(&c, SMFIP_NR_DATA, &res)) == 1)
				goto quit;
		}
	}
	if (!(c.pflags & SMFIP_NOHDRS)) {
		for (size_t i = 0; i < m->nhdr; i++) {
			pkt_begin(&c, SMFIC_HEADER);
			pkt_str(&c, m->hdr[i].name);
			if (c.pflags & SMFIP_HDR_LEADSPC)
				buf_add(&c.out, " ", 1);
			pkt_str(&c, m->hdr[i].value);
			if ((rc = step(&c, SMFIP_NR_HDR, &res)) == 1)
				goto quit;
		}
	}
	{
		const char *kv[] = { "i", qid, NULL };

		macros(&c, SMFIC_EOH, kv);
		if (pkt_send(&c) < 0)
			goto out;
		if (!(c.pflags & SMFIP_NOEOH)) {
			pkt_begin(&c, SMFIC_EOH);
			if ((rc = step(&c, SMFIP_NR_EOH, &res)) == 1)
				goto quit;
		}
	}
	if (!(c.pflags & SMFIP_NOBODY)) {
		for (size_t off = 0; off < m->bodylen;) {
			size_t n = m->bodylen - off > CHUNK ? CHUNK : m->bodylen - off;

			pkt_begin(&c, SMFIC_BODY);
			buf_add(&c.out, m->body + off, n);
			rc = step(&c, SMFIP_NR_BODY, &res);
			if (rc == 1)
				goto quit;
			if (rc == 2)
				break;
			off += n;
		}
	}
	{
		const char *kv[] = { "i", qid, NULL };

		macros(&c, SMFIC_BODYEOB, kv);
		if (pkt_send(&c) < 0)
			goto out;
	}
	pkt_begin(&c, SMFIC_BODYEOB);
	if (pkt_send(&c) < 0)
		goto out;
	/* Edits, then the final answer. */
	for (;;) {
		int cmd = pkt_read(&c);

		if (cmd < 0) {
			res = R_ERROR;
			goto out;
		}
		switch (cmd) {
		case '+': case '-': case '2': case 'b': case 'e': case 'h': case 'i': case 'm': case 'q':
			c.edits++;
			continue;
		case 'p':
			continue;
		case 'c':	/* continue at EOM = accept */
			res = R_ACCEPT;
			break;
		default:
			final_of(&c, cmd, &res);
			break;
		}
		break;
	}
	goto quit;
quit:
	pkt_begin(&c, SMFIC_QUIT);
	pkt_send(&c);
out:
	if (c.fd >= 0)
		close(c.fd);
	free(c.out.d);
	free(c.in);
	atomic_fetch_add(&edits_total, c.edits);
	if (code)
		strcpy(code, c.reply_code[0] ? c.reply_code : (res == R_ACCEPT ? "250" : "000"));
	return res;
}

/* ------------------------------------------------------------ SMTP */

struct sconn {
	int fd;
	char buf[8192];
	size_t have;
};

/* Read one (possibly multi-line) reply; return its code or -1. */
static int
smtp_reply(struct sconn *s)
{
	for (;;) {
		char *nl;

		while ((nl = memchr(s->buf, '\n', s->have)) == NULL) {
			if (s->have == sizeof(s->buf))
				s->have = 0;	/* absurdly long line: drop it */
			ssize_t n = read(s->fd, s->buf + s->have, sizeof(s->buf) - s->have);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return -1;
			s->have += (size_t)n;
		}
		size_t linelen = (size_t)(nl - s->buf) + 1;
		int code = -1, last = 1;

		if (linelen >= 4 && s->buf[0] >= '0' && s->buf[0] <= '9') {
			code = (s->buf[0] - '0') * 100 + (s->buf[1] - '0') * 10 + (s->buf[2] - '0');
			last = s->buf[3] != '-';
		}
		memmove(s->buf, s->buf + linelen, s->have - linelen);
		s->have -= linelen;
		if (last)
			return code;
	}
}

static int
smtp_cmd(struct sconn *s, const char *fmt, const char *arg)
{
	char line[1100];
	int n = snprintf(line, sizeof(line), fmt, arg);

	if (n < 0 || (size_t)n >= sizeof(line) || write_all(s->fd, line, (size_t)n) < 0)
		return -1;
	return smtp_reply(s);
}

static enum result
classify(int code)
{
	if (code >= 200 && code < 300)
		return R_ACCEPT;
	if (code >= 400 && code < 500)
		return R_TEMPFAIL;
	if (code >= 500 && code < 600)
		return R_REJECT;
	return R_ERROR;
}

static enum result
smtp_message(const struct message *m, long idx, char *code)
{
	struct sconn s = { .fd = dial() };
	int c = -1;
	enum result res = R_ERROR;

	if (s.fd < 0)
		goto out;
	if ((c = smtp_reply(&s)) != 220)
		goto done;
	if ((c = smtp_cmd(&s, "EHLO %s\r\n", "client.bench.test")) != 250)
		goto done;
	if ((c = smtp_cmd(&s, "MAIL FROM:<%s>\r\n", opt.from)) != 250)
		goto done;
	if ((c = smtp_cmd(&s, "RCPT TO:<%s>\r\n", opt.rcpt)) / 100 != 2)
		goto done;
	if ((c = smtp_cmd(&s, "DATA\r\n", NULL)) != 354)
		goto done;
	if (opt.bench_id) {
		char id[64];
		int n = snprintf(id, sizeof(id), "X-Bench-Id: %s-%ld\r\n", opt.bench_id, idx);

		if (write_all(s.fd, id, (size_t)n) < 0) {
			c = -1;
			goto done;
		}
	}
	if (write_all(s.fd, m->smtp, m->smtplen) < 0 || write_all(s.fd, ".\r\n", 3) < 0) {
		c = -1;
		goto done;
	}
	c = smtp_reply(&s);
done:
	res = c < 0 ? R_ERROR : classify(c);
	if (c >= 0)
		smtp_cmd(&s, "QUIT\r\n", NULL);
out:
	if (s.fd >= 0)
		close(s.fd);
	snprintf(code, 4, "%03d", c < 0 ? 0 : c % 1000);
	return res;
}

/* ------------------------------------------------------------ driver */

static void *
worker(void *arg)
{
	(void)arg;
	for (;;) {
		long idx = atomic_fetch_add(&next_idx, 1);

		if (deadline > 0) {
			if (now_mono() >= deadline)
				break;
		} else if (idx >= opt.count) {
			break;
		}
		const struct message *m = &msgs[(size_t)(idx + opt.start) % nmsgs];
		char code[4] = "000";
		double t0 = now_mono();
		int64_t r0 = now_real_ns();
		enum result res = opt.smtp ? smtp_message(m, idx, code) : milter_message(m, idx, code);
		double t1 = now_mono();

		if (res == R_ERROR || res == R_TEMPFAIL) {
			if (atomic_fetch_add(&errors_shown, 1) < 5)
				fprintf(stderr, "milterload: %s: %s (code %s)\n", m->path,
					result_name[res], code);
		}
		atomic_fetch_add(&bytes_total, (long long)(opt.smtp ? m->smtplen : m->bodylen));
		long k = atomic_fetch_add(&nrecs, 1);
		if (k < nrecs_cap) {
			recs[k].idx = idx;
			recs[k].start_ns = r0;
			recs[k].end_ns = r0 + (int64_t)((t1 - t0) * 1e9);
			recs[k].ms = (t1 - t0) * 1000.0;
			recs[k].result = res;
			recs[k].code = atoi(code);
		}
	}
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const double *sorted, long n, double p)
{
	if (n == 0)
		return 0;
	long i = (long)(p / 100.0 * (double)n + 0.5) - 1;	/* nearest rank */
	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	return sorted[i];
}

static void
usage(void)
{
	fprintf(stderr, "usage: milterload -p milter|smtp -s SOCKET -l LIST [-c N] [-n N | -t SECS] [-S START]\n"
			"                  [-f FROM] [-r RCPT] [-o RECORDS] [-i TAG]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *list = NULL;
	int ch;

	while ((ch = getopt(argc, argv, "p:s:l:c:n:t:f:r:o:i:S:")) != -1) {
		switch (ch) {
		case 'p':
			if (strcmp(optarg, "smtp") == 0)
				opt.smtp = 1;
			else if (strcmp(optarg, "milter") != 0)
				usage();
			break;
		case 's': opt.sockspec = optarg; break;
		case 'l': list = optarg; break;
		case 'c': opt.conc = atoi(optarg); break;
		case 'n': opt.count = atol(optarg); break;
		case 't': opt.secs = atof(optarg); break;
		case 'S': opt.start = atol(optarg); break;
		case 'f': opt.from = optarg; break;
		case 'r': opt.rcpt = optarg; break;
		case 'o': opt.outfile = optarg; break;
		case 'i': opt.bench_id = optarg; break;
		default: usage();
		}
	}
	if (opt.sockspec == NULL || list == NULL || opt.conc < 1 || opt.conc > 4096)
		usage();
	if (parse_sockspec() < 0) {
		fprintf(stderr, "milterload: bad socket %s\n", opt.sockspec);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	load_list(list);
	if (opt.count <= 0)
		opt.count = (long)nmsgs;
	nrecs_cap = opt.secs > 0 ? 4000000 : opt.count;
	recs = xmalloc((size_t)nrecs_cap * sizeof(*recs));

	pthread_t *th = xmalloc((size_t)opt.conc * sizeof(*th));
	double t0 = now_mono();

	if (opt.secs > 0)
		deadline = t0 + opt.secs;
	for (int i = 0; i < opt.conc; i++) {
		pthread_attr_t at;

		pthread_attr_init(&at);
		pthread_attr_setstacksize(&at, 256 * 1024);
		if (pthread_create(&th[i], &at, worker, NULL) != 0) {
			perror("pthread_create");
			return 2;
		}
		pthread_attr_destroy(&at);
	}
	for (int i = 0; i < opt.conc; i++)
		pthread_join(th[i], NULL);
	double secs = now_mono() - t0;

	long n = atomic_load(&nrecs);
	if (n > nrecs_cap)
		n = nrecs_cap;
	long count[R_NRESULTS] = { 0 };
	double *lat = xmalloc((size_t)(n ? n : 1) * sizeof(*lat));
	FILE *out = NULL;

	if (opt.outfile && (out = fopen(opt.outfile, "w")) == NULL) {
		perror(opt.outfile);
		return 2;
	}
	for (long i = 0; i < n; i++) {
		count[recs[i].result]++;
		lat[i] = recs[i].ms;
		if (out)
			fprintf(out, "%ld %lld %lld %s %03d\n", recs[i].idx, (long long)recs[i].start_ns,
				(long long)recs[i].end_ns, result_name[recs[i].result], recs[i].code);
	}
	if (out)
		fclose(out);
	qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
	printf("{\"msgs\":%ld,\"secs\":%.3f,\"rate\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
	       "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"accept\":%ld,\"reject\":%ld,\"tempfail\":%ld,"
	       "\"discard\":%ld,\"error\":%ld,\"edits\":%ld,\"bytes\":%lld,\"conc\":%d}\n",
	       n, secs, secs > 0 ? (double)n / secs : 0.0, pct(lat, n, 50), pct(lat, n, 90),
	       pct(lat, n, 99), n ? lat[n - 1] : 0.0, count[R_ACCEPT], count[R_REJECT],
	       count[R_TEMPFAIL], count[R_DISCARD], count[R_ERROR], atomic_load(&edits_total),
	       atomic_load(&bytes_total), opt.conc);
	return (count[R_TEMPFAIL] || count[R_ERROR]) ? 1 : 0;
}
