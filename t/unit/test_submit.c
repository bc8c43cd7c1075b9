/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_submit.c - re-submission: method strings, SMTP against a scripted server, sendmail(1) */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mavis/arena.h>
#include <mavis/buf.h>
#include <mavis/submit.h>

#include "harness.h"

static void
test_parse(void)
{
	static const struct {
		const char *spec;
		int ok;
		int kind;
		const char *host, *port, *argv0;
		size_t argc;
	} cases[] = {
		{ "smtp:[127.0.0.1]:10025", 1, MAVIS_SUBMIT_SMTP, "127.0.0.1", "10025", NULL, 0 },
		{ "  smtp:[::1]:25  ", 1, MAVIS_SUBMIT_SMTP, "::1", "25", NULL, 0 },
		{ "smtp:[mx.example.org]", 1, MAVIS_SUBMIT_SMTP, "mx.example.org", "25", NULL, 0 },
		{ "smtp:localhost:587", 1, MAVIS_SUBMIT_SMTP, "localhost", "587", NULL, 0 },
		{ "smtp:localhost", 1, MAVIS_SUBMIT_SMTP, "localhost", "25", NULL, 0 },
		{ "sendmail:/usr/sbin/sendmail", 1, MAVIS_SUBMIT_SENDMAIL, NULL, NULL, "/usr/sbin/sendmail", 1 },
		{ "sendmail:/usr/sbin/sendmail  -C /etc/postfix-out\t-oi", 1, MAVIS_SUBMIT_SENDMAIL, NULL,
		  NULL, "/usr/sbin/sendmail", 4 },
		{ "sendmail:sendmail", 0, 0, NULL, NULL, NULL, 0 },
		{ "sendmail:", 0, 0, NULL, NULL, NULL, 0 },
		{ "smtp:", 0, 0, NULL, NULL, NULL, 0 },
		{ "smtp:[127.0.0.1", 0, 0, NULL, NULL, NULL, 0 },
		{ "smtp:[127.0.0.1]x", 0, 0, NULL, NULL, NULL, 0 },
		{ "smtp:[127.0.0.1]:0", 0, 0, NULL, NULL, NULL, 0 },
		{ "smtp:[127.0.0.1]:65536", 0, 0, NULL, NULL, NULL, 0 },
		{ "smtp:[127.0.0.1]:25x", 0, 0, NULL, NULL, NULL, 0 },
		{ "smtp:::1:25", 0, 0, NULL, NULL, NULL, 0 },
		{ "smtp:[]:25", 0, 0, NULL, NULL, NULL, 0 },
		{ "lmtp:[127.0.0.1]:24", 0, 0, NULL, NULL, NULL, 0 },
		{ "", 0, 0, NULL, NULL, NULL, 0 },
		{ "smtp:[127.0.0.1]:25\n", 0, 0, NULL, NULL, NULL, 0 },
		{ "smtp:[127.0.0.1]:2\r5", 0, 0, NULL, NULL, NULL, 0 },
	};
	struct mavis_arena *a = mavis_arena_new(0);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mavis_submit_method m;
		struct mavis_error err = { 0 };
		int rc = mavis_submit_parse(cases[i].spec, a, &m, &err);

		if ((rc == 0) != cases[i].ok) {
			test_fail(__FILE__, __LINE__, "case %zu \"%s\": rc %d (%s)", i, cases[i].spec, rc,
				  err.text);
			continue;
		}
		if (rc != 0) {
			CHECK_INT(rc, MAVIS_ERR_CONFIG);
			CHECK(err.text[0] != '\0');
			continue;
		}
		CHECK_INT(m.kind, cases[i].kind);
		if (cases[i].host) {
			CHECK_STR(m.host, cases[i].host);
			CHECK_STR(m.port, cases[i].port);
		}
		if (cases[i].argv0) {
			CHECK_STR(m.argv[0], cases[i].argv0);
			CHECK_INT(m.argc, cases[i].argc);
			CHECK(m.argv[m.argc] == NULL);
		}
	}
	mavis_arena_free(&a);
}

/* ---- a scripted SMTP server on 127.0.0.1 ---- */

struct fake {
	int lfd;
	int port;
	const char *greeting;	/* NULL: say nothing (the client times out) */
	int refuse_data;	/* answer DATA with 451 */
	char helo[2048];
	char mail[2048];
	struct mavis_buf data;	/* what came after DATA, dot-stuffed as sent */
	pthread_t th;
};

static bool
fake_line(int fd, char *buf, size_t n)
{
	size_t k = 0;

	while (k + 1 < n) {
		ssize_t r = recv(fd, buf + k, 1, 0);

		if (r <= 0)
			return false;
		if (buf[k++] == '\n')
			break;
	}
	buf[k] = '\0';
	return true;
}

static void
say(int fd, const char *s)
{
	if (send(fd, s, strlen(s), MSG_NOSIGNAL) < 0) {
		/* the client went away: the test checks what it saw */
	}
}

static void *
fake_main(void *arg)
{
	struct fake *f = arg;
	char line[2048];
	int fd = accept(f->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	if (f->greeting == NULL) {
		while (fake_line(fd, line, sizeof(line)))
			;
		close(fd);
		return NULL;
	}
	say(fd, f->greeting);
	while (fake_line(fd, line, sizeof(line))) {
		if (strncmp(line, "EHLO ", 5) == 0) {
			snprintf(f->helo, sizeof(f->helo), "%s", line);
			say(fd, "250-fake.example\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n");
		} else if (strncmp(line, "MAIL FROM:", 10) == 0) {
			snprintf(f->mail, sizeof(f->mail), "%s", line);
			say(fd, "250 2.1.0 Ok\r\n");
		} else if (strncmp(line, "RCPT TO:<bad", 12) == 0) {
			say(fd, "550 5.1.1 <bad@example.com>: Recipient address rejected\r\n");
		} else if (strncmp(line, "RCPT TO:", 8) == 0) {
			say(fd, "250 2.1.5 Ok\r\n");
		} else if (strcmp(line, "DATA\r\n") == 0) {
			if (f->refuse_data) {
				say(fd, "451 4.3.0 Not now\r\n");
				continue;
			}
			say(fd, "354 End data with <CR><LF>.<CR><LF>\r\n");
			while (fake_line(fd, line, sizeof(line)) && strcmp(line, ".\r\n") != 0)
				mavis_buf_puts(&f->data, line);
			say(fd, "250 2.0.0 Ok: queued as FAKE1\r\n");
		} else if (strcmp(line, "QUIT\r\n") == 0) {
			say(fd, "221 2.0.0 Bye\r\n");
			break;
		} else {
			say(fd, "502 5.5.2 What?\r\n");
		}
	}
	close(fd);
	return NULL;
}

static void
fake_start(struct fake *f, const char *greeting)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);

	memset(f, 0, sizeof(*f));
	f->greeting = greeting;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(f->lfd, 1) < 0 || getsockname(f->lfd, (struct sockaddr *)&sin, &sl) < 0) {
		perror("fake server");
		exit(2);
	}
	f->port = ntohs(sin.sin_port);
}

static void
fake_run(struct fake *f)
{
	pthread_create(&f->th, NULL, fake_main, f);
}

static void
fake_stop(struct fake *f)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
}

static void
smtp_method(struct mavis_arena *a, struct mavis_submit_method *m, int port)
{
	char spec[64];
	struct mavis_error err = { 0 };

	snprintf(spec, sizeof(spec), "smtp:[127.0.0.1]:%d", port);
	if (mavis_submit_parse(spec, a, m, &err) < 0)
		test_fail(__FILE__, __LINE__, "%s", err.text);
}

static void
test_smtp(void)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_submit_method m;
	struct mavis_submit_opts o = { .helo_name = "mavis.test", .connect_timeout = 5, .io_timeout = 5 };
	struct mavis_submit_rcpt r[3] = { { .addr = "a@example.com" }, { .addr = "bad@example.com" },
					  { .addr = "\"q u\"@example.com" } };
	struct mavis_error err = { 0 };
	struct fake f;
	/* Resent- fields with CRLF, then a message with LF lines, a dot line, a
	   line that is only a dot, 8-bit text and no final line end. */
	static const char head[] = "Resent-From: <x@example.org>\r\n";
	static const char body[] = "Subject: t\n\n.starts with dot\n.\nok caf\xc3\xa9\r\nno end";
	struct mavis_submit_part parts[] = { { head, strlen(head) }, { body, strlen(body) } };

	fake_start(&f, "220 fake ESMTP\r\n");
	fake_run(&f);
	smtp_method(a, &m, f.port);
	int n = mavis_submit(&m, &o, "s@example.org", r, 3, parts, 2, &err);
	fake_stop(&f);
	CHECK_INT(n, 2);
	CHECK_INT(r[0].code, 250);
	CHECK_STR(r[0].reply, "250 2.0.0 Ok: queued as FAKE1");
	CHECK_INT(r[1].code, 550);
	CHECK_STR(r[1].reply, "550 5.1.1 <bad@example.com>: Recipient address rejected");
	CHECK_INT(r[2].code, 250);
	CHECK_STR(f.helo, "EHLO mavis.test\r\n");
	CHECK_STR(f.mail, "MAIL FROM:<s@example.org> BODY=8BITMIME\r\n");
	CHECK_STR(mavis_buf_str(&f.data), "Resent-From: <x@example.org>\r\nSubject: t\r\n\r\n"
					  "..starts with dot\r\n..\r\nok caf\xc3\xa9\r\nno end\r\n");
	mavis_buf_free(&f.data);

	/* Bare CRs end lines in DATA (RFC 5321 2.3.8); the dot after one is
	   stuffed, so "<CR>.<CR>" cannot end the data early anywhere. */
	static const char crbody[] = "Subject: cr\r\n\r\nx\r.\rmore\rend\r\r\n";
	struct mavis_submit_part crparts[] = { { crbody, strlen(crbody) } };
	struct mavis_submit_rcpt one[1] = { { .addr = "a@example.com" } };

	fake_start(&f, "220 fake ESMTP\r\n");
	fake_run(&f);
	smtp_method(a, &m, f.port);
	CHECK_INT(mavis_submit(&m, &o, "s@example.org", one, 1, crparts, 1, &err), 1);
	fake_stop(&f);
	CHECK_STR(mavis_buf_str(&f.data), "Subject: cr\r\n\r\nx\r\n..\r\nmore\r\nend\r\n\r\n");
	CHECK(memchr(f.data.data, '\r', f.data.len) != NULL);
	for (size_t i = 0; i < f.data.len; i++)
		if (((const char *)f.data.data)[i] == '\r' &&
		    (i + 1 == f.data.len || ((const char *)f.data.data)[i + 1] != '\n'))
			test_fail(__FILE__, __LINE__, "bare CR at %zu", i);
	mavis_buf_free(&f.data);

	/* Every recipient refused: no DATA, nothing accepted. */
	struct mavis_submit_rcpt bad[1] = { { .addr = "bad@example.com" } };
	fake_start(&f, "220 fake ESMTP\r\n");
	fake_run(&f);
	smtp_method(a, &m, f.port);
	CHECK_INT(mavis_submit(&m, &o, "", bad, 1, parts, 2, &err), 0);
	fake_stop(&f);
	CHECK(f.data.len == 0);
	CHECK_INT(bad[0].code, 550);
	CHECK_STR(f.mail, "MAIL FROM:<> BODY=8BITMIME\r\n");

	/* DATA refused: the recipients accepted at RCPT get that answer. */
	fake_start(&f, "220 fake ESMTP\r\n");
	f.refuse_data = 1;
	fake_run(&f);
	smtp_method(a, &m, f.port);
	CHECK_INT(mavis_submit(&m, &o, "s@example.org", r, 3, parts, 2, &err), 0);
	fake_stop(&f);
	CHECK_INT(r[0].code, 451);
	CHECK_STR(r[0].reply, "451 4.3.0 Not now");
	CHECK_INT(r[1].code, 550);

	/* A server that never answers: a timeout, reported as 450 4.4.2. */
	o.io_timeout = 1;
	fake_start(&f, NULL);
	fake_run(&f);
	smtp_method(a, &m, f.port);
	CHECK_INT(mavis_submit(&m, &o, "s@example.org", r, 1, parts, 2, &err), 0);
	fake_stop(&f);
	CHECK_INT(r[0].code, 450);
	CHECK(strstr(r[0].reply, "450 4.4.2 timeout") == r[0].reply);

	/* A greeting that is not SMTP. */
	fake_start(&f, "HTTP/1.0 400 Bad request\r\n");
	fake_run(&f);
	smtp_method(a, &m, f.port);
	CHECK_INT(mavis_submit(&m, &o, "s@example.org", r, 1, parts, 2, &err), 0);
	fake_stop(&f);
	CHECK_INT(r[0].code, 450);
	CHECK(strstr(r[0].reply, "malformed reply") != NULL);

	/* A 554 greeting is the MTA's answer for every recipient. */
	fake_start(&f, "554 5.3.2 go away\r\n");
	fake_run(&f);
	smtp_method(a, &m, f.port);
	CHECK_INT(mavis_submit(&m, &o, "s@example.org", r, 2, parts, 2, &err), 0);
	fake_stop(&f);
	CHECK_INT(r[0].code, 554);
	CHECK_STR(r[1].reply, "554 5.3.2 go away");

	/* Nobody listening. */
	fake_start(&f, NULL);
	close(f.lfd);
	smtp_method(a, &m, f.port);
	CHECK_INT(mavis_submit(&m, &o, "s@example.org", r, 1, parts, 2, &err), 0);
	CHECK_INT(r[0].code, 450);
	CHECK(strstr(r[0].reply, "450 4.4.1 connect to [127.0.0.1]:") == r[0].reply);

	/* Addresses that would break a command line are refused up front. */
	struct mavis_submit_rcpt inj[1] = { { .addr = "a@example.com>\r\nRSET" } };
	CHECK_INT(mavis_submit(&m, &o, "s@example.org", inj, 1, parts, 2, &err), MAVIS_ERR_PARSE);
	CHECK_INT(mavis_submit(&m, &o, "s@x\r\nRSET", r, 1, parts, 2, &err), MAVIS_ERR_PARSE);
	CHECK_INT(mavis_submit(&m, &o, "s@example.org", r, 0, parts, 2, &err), MAVIS_ERR_PARSE);
	struct mavis_submit_opts badhelo = { .helo_name = "a b" };
	CHECK_INT(mavis_submit(&m, &badhelo, "s@example.org", r, 1, parts, 2, &err), MAVIS_ERR_PARSE);
	mavis_arena_free(&a);
}

/* sendmail(1): arguments, LF line ends on stdin, exit status per recipient. */
static void
test_sendmail(void)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_submit_method m;
	struct mavis_error err = { 0 };
	struct mavis_submit_rcpt r[2] = { { .addr = "-a@example.com" }, { .addr = "b@example.com" } };
	static const char msg[] = "Subject: t\r\n\r\n.\r\nline\r\n";
	struct mavis_submit_part parts[] = { { msg, strlen(msg) } };
	char spec[1024], out[1024];
	struct mavis_buf b = { 0 };
	const char *dir = test_tmpdir();
	FILE *fp;
	int c;

	/* The fake sendmail records its arguments and input, then exits with
	   the status given as its first argument. */
	test_write_file("fake-sendmail",
			"st=$1; shift; dir=$1; shift\n"
			"printf '%s|' \"$@\" > \"$dir/args\"\n"
			"cat > \"$dir/input\"\n"
			"exit $st\n");
	signal(SIGPIPE, SIG_IGN);
	static const struct {
		int status;
		int code;
		int accepted;
	} cases[] = { { 0, 250, 2 }, { 75, 450, 0 }, { 67, 550, 0 } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(spec, sizeof(spec), "sendmail:/bin/sh %s/fake-sendmail %d %s", dir,
			 cases[i].status, dir);
		CHECK_INT(mavis_submit_parse(spec, a, &m, &err), 0);
		CHECK_INT(mavis_submit(&m, NULL, "", r, 2, parts, 1, &err), cases[i].accepted);
		CHECK_INT(r[0].code, cases[i].code);
		CHECK_INT(r[1].code, cases[i].code);
	}
	snprintf(out, sizeof(out), "%s/args", dir);
	fp = fopen(out, "r");
	CHECK(fp != NULL);
	while (fp && (c = fgetc(fp)) != EOF)
		mavis_buf_putc(&b, (char)c);
	if (fp)
		fclose(fp);
	CHECK_STR(mavis_buf_str(&b), "-i|-f|<>|--|-a@example.com|b@example.com|");
	mavis_buf_reset(&b);
	snprintf(out, sizeof(out), "%s/input", dir);
	fp = fopen(out, "r");
	CHECK(fp != NULL);
	while (fp && (c = fgetc(fp)) != EOF)
		mavis_buf_putc(&b, (char)c);
	if (fp)
		fclose(fp);
	CHECK_STR(mavis_buf_str(&b), "Subject: t\n\n.\nline\n");

	/* A program that is not there, and one that reads nothing and fails. */
	CHECK_INT(mavis_submit_parse("sendmail:/nonexistent/sendmail", a, &m, &err), 0);
	CHECK_INT(mavis_submit(&m, NULL, "s@example.org", r, 1, parts, 1, &err), 0);
	CHECK_INT(r[0].code, 450);
	CHECK(strstr(r[0].reply, "cannot run") != NULL);
	CHECK_INT(mavis_submit_parse("sendmail:/bin/false", a, &m, &err), 0);
	CHECK_INT(mavis_submit(&m, NULL, "s@example.org", r, 1, parts, 1, &err), 0);
	CHECK_INT(r[0].code, 550);
	mavis_buf_free(&b);
	mavis_arena_free(&a);
}

int
main(void)
{
	TEST_RUN(test_parse);
	TEST_RUN(test_smtp);
	TEST_RUN(test_sendmail);
	return test_exit();
}
