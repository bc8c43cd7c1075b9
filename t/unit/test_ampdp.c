/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_ampdp.c - AM.PDP requests: parser, answers, secret_id check */

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <mavis/ampdp.h>
#include <mavis/arena.h>
#include <mavis/buf.h>
#include <mavis/config.h>
#include <mavis/release.h>

#include "harness.h"
#include "msg/mail_id.h"

static void
test_parse_ok(void)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_error err = { 0 };
	struct mavis_ampdp_req r;
	/* What MailZu sends (LF lines), with %XX and the "name: value" form. */
	const char *q = "request=release\n"
			"mail_id=AbCdEfGh-_12\n"
			"secret_id=xyz\r\n"
			"quar_type=Z\n"
			"mail_file=spam/A/spam-AbCdEfGh-_12.gz\n"
			"recipient=<a%40example.com>\n"
			"recipient: b@example.net\n"
			"requested_by=<admin@example.org>\n"
			"policy_bank=X\n"
			"sender=<>";

	CHECK_INT(mavis_ampdp_parse(q, strlen(q), a, &r, &err), 0);
	CHECK_INT(r.request, MAVIS_AMPDP_RELEASE);
	CHECK_STR(r.mail_id, "AbCdEfGh-_12");
	CHECK_STR(r.secret_id, "xyz");
	CHECK_INT(r.quar_type, 'Z');
	CHECK_STR(r.mail_file, "spam/A/spam-AbCdEfGh-_12.gz");
	CHECK_INT(r.nrcpts, 2);
	CHECK_STR(r.rcpts[0], "a@example.com");
	CHECK_STR(r.rcpts[1], "b@example.net");
	CHECK_STR(r.requested_by, "admin@example.org");
	CHECK_STR(r.sender, "");
	CHECK_INT(r.nunknown, 1);
	CHECK(r.partition_tag == NULL);

	q = "request=REQUEUE\nmail_id=old+style==\n";
	CHECK_INT(mavis_ampdp_parse(q, strlen(q), a, &r, &err), 0);
	CHECK_INT(r.request, MAVIS_AMPDP_REQUEUE);
	CHECK_STR(r.mail_id, "old+style==");
	CHECK_INT(r.quar_type, 0);
	CHECK_INT(r.nrcpts, 0);
	mavis_arena_free(&a);
}

static void
test_parse_bad(void)
{
	static const struct {
		const char *q;
		int status;
		const char *text;
	} cases[] = {
		{ "", MAVIS_ERR_PARSE, "Missing 'request'" },
		{ "mail_id=abcdefabcdef\n", MAVIS_ERR_PARSE, "Missing 'request'" },
		{ "request=AM.PDP\nmail_id=abcdefabcdef\n", MAVIS_ERR_PARSE, "unsupported request" },
		{ "request=release\n", MAVIS_ERR_PARSE, "Missing 'mail_id'" },
		{ "request=release\nmail_id=-abcdefabcde\n", MAVIS_ERR_PARSE, "Invalid mail_id" },
		{ "request=release\nmail_id=../../etc/pass\n", MAVIS_ERR_PARSE, "Invalid mail_id" },
		{ "request=release\nmail_id=a=b\n", MAVIS_ERR_PARSE, "Invalid mail_id" },
		{ "request=release\nmail_id=abcdefabcdef\nquar_type=B\n", MAVIS_ERR_PARSE,
		  "quar_type" },
		{ "request=release\nmail_id=abcdefabcdef\nquar_type=FZ\n", MAVIS_ERR_PARSE,
		  "quar_type" },
		{ "request=release\nrequest=release\nmail_id=abcdefabcdef\n", MAVIS_ERR_PARSE,
		  "twice" },
		{ "request=release\nmail_id=abcdefabcdef\nno separator\n", MAVIS_ERR_PARSE,
		  "line 3" },
		{ "request=release\nmail_id=abc%00defabcdef\n", MAVIS_ERR_PARSE, "NUL" },
		{ "request=release\nmail_id=abcdefabcdef%4\n", MAVIS_ERR_PARSE, "escape" },
		{ "request=release\nmail_id=abcdefabcdef%zz\n", MAVIS_ERR_PARSE, "escape" },
		{ "request=release\nmail_id=abcdefabcdef\n\nrequest=x\n", MAVIS_ERR_PARSE,
		  "empty line" },
		{ "request=release\nmail_id=abcdefabcdef\nrecipient=<a%0d%0ab@x>\n", MAVIS_ERR_PARSE,
		  "recipient" },
		{ "request=release\nmail_id=abcdefabcdef\nrecipient=<>\n", MAVIS_ERR_PARSE,
		  "recipient" },
		{ "request=release\nmail_id=abcdefabcdef\nrequested_by=a<b>@x\n", MAVIS_ERR_PARSE,
		  "requested_by" },
	};
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_ampdp_req r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mavis_error err = { 0 };
		int rc = mavis_ampdp_parse(cases[i].q, strlen(cases[i].q), a, &r, &err);

		if (rc != cases[i].status || strstr(err.text, cases[i].text) == NULL)
			test_fail(__FILE__, __LINE__, "case %zu: rc %d \"%s\", want %d \"%s\"", i, rc,
				  err.text, cases[i].status, cases[i].text);
	}
	/* Bounds: too many recipients, too many lines, a value too long. */
	struct mavis_buf b = { 0 };
	struct mavis_error err = { 0 };

	mavis_buf_puts(&b, "request=release\nmail_id=abcdefabcdef\n");
	for (int i = 0; i <= MAVIS_AMPDP_RCPTS_MAX; i++)
		mavis_buf_printf(&b, "recipient=r%d@example.com\n", i);
	CHECK_INT(mavis_ampdp_parse(b.data, b.len, a, &r, &err), MAVIS_ERR_LIMIT);
	mavis_buf_reset(&b);
	mavis_buf_puts(&b, "request=release\nmail_id=abcdefabcdef\n");
	for (int i = 0; i <= MAVIS_AMPDP_LINES_MAX; i++)
		mavis_buf_puts(&b, "x=y\n");
	CHECK_INT(mavis_ampdp_parse(b.data, b.len, a, &r, &err), MAVIS_ERR_LIMIT);
	mavis_buf_reset(&b);
	mavis_buf_puts(&b, "request=release\nmail_id=abcdefabcdef\nsecret_id=");
	for (int i = 0; i <= MAVIS_AMPDP_VALUE_MAX; i++)
		mavis_buf_putc(&b, 'x');
	CHECK_INT(mavis_ampdp_parse(b.data, b.len, a, &r, &err), MAVIS_ERR_LIMIT);
	mavis_buf_free(&b);
	mavis_arena_free(&a);
}

static void
test_secret(void)
{
	char mail_id[MAVIS_MAIL_ID_LEN + 1], secret[MAVIS_MAIL_ID_LEN + 1];

	/* Pairs as mavisd (and amavisd 2.7+) make them. */
	for (int i = 0; i < 2000; i++) {
		mavis_mail_id_new(mail_id, secret);
		/* amavisd's form, which its AM.PDP and amavisd-release expect. */
		if (!isalnum((unsigned char)mail_id[0]) || !isalnum((unsigned char)mail_id[11]))
			test_fail(__FILE__, __LINE__, "mail_id %s: not alphanumeric at an end", mail_id);
		if (!mavis_ampdp_secret_ok(mail_id, secret))
			test_fail(__FILE__, __LINE__, "secret %s refused for %s", secret, mail_id);
		secret[0] = secret[0] == 'A' ? 'B' : 'A';
		if (mavis_ampdp_secret_ok(mail_id, secret))
			test_fail(__FILE__, __LINE__, "changed secret %s taken for %s", secret, mail_id);
	}
	/* Known values: secret bytes 00..08 -> AAECAwQFBgcI; md5 of them
	   (base64 "pufTtG/frwveKh+DKgDS3g==") -> mail_id. */
	CHECK(mavis_ampdp_secret_ok("pufTtG_frwve", "AAECAwQFBgcI"));
	CHECK(!mavis_ampdp_secret_ok("pufTtG_frwve", "AAECAwQFBgcJ"));
	CHECK(!mavis_ampdp_secret_ok("pufTtG_frwve", ""));
	CHECK(!mavis_ampdp_secret_ok("pufTtG_frwve", NULL));
	CHECK(!mavis_ampdp_secret_ok("pufTtG_frwve", "not base64!"));
	/* Before 2.7: md5 of the secret text ("abc": kAFQmDzST7DWlj99KOF/cg==). */
	CHECK(mavis_ampdp_secret_ok("kAFQmDzST7DW", "abc"));
}

static void
test_answers(void)
{
	struct mavis_buf b = { 0 };

	mavis_ampdp_put_reply(&b, 250, "2.0.0", "Ok, id=rel-X, from MTA(smtp:[::1]:25): 250 100%");
	mavis_ampdp_put(&b, "odd name", "a b\r\n");
	CHECK_STR(mavis_buf_str(&b), "setreply=250 2.0.0 Ok,%20id=rel-X,%20from%20MTA(smtp:[::1]:25):"
				     "%20250%20100%25\r\nodd%20name=a%20b%0d%0a\r\n");
	mavis_buf_reset(&b);
	mavis_ampdp_put_failure(&b, "Secret_id is required, but missing");
	CHECK_STR(mavis_buf_str(&b), "setreply=450 4.5.0 Failure:%20Secret_id%20is%20required,%20but"
				     "%20missing\r\nreturn_value=tempfail\r\nexit_code=75\r\n\r\n");
	mavis_buf_free(&b);
}

/* mavis_release_load_file: mail_file as a hint inside quarantine_dir only,
   the id check, and a dry run of the release that AM.PDP asks for. */
static void
test_load_file(void)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_error err = { 0 };
	struct mavis_config *cfg = NULL;
	struct mavis_quarantine_entry e;
	struct mavis_release_result res;
	const char *path, *dir = test_tmpdir();
	char text[1024], sub[1024];

	snprintf(sub, sizeof(sub), "%s/p", dir);
	mkdir(sub, 0700);
	test_write_file("p/spam-pufTtG_frwve", "X-Envelope-From: <s@example.org>\n"
					       "X-Envelope-To: <a@example.com>,\n\t<b@example.com>\n"
					       "X-Envelope-To-Blocked: <b@example.com>\n"
					       "X-Quarantine-ID: <pufTtG_frwve>\n"
					       "Subject: x\n\nbody\n");
	test_write_file("other-AAAAAAAAAAAA", "X-Envelope-From: <s@example.org>\n"
					       "X-Envelope-To: <a@example.com>\n"
					       "X-Quarantine-ID: <pufTtG_frwve>\n\nbody\n");
	snprintf(text, sizeof(text), "quarantine_dir = %s\nmyhostname = mx.example\n"
				     "release_method = smtp:[127.0.0.1]:1\n", dir);
	CHECK_INT(mavis_config_load_string(text, "t.conf", NULL, &cfg, &err), 0);
	/* Found by id, by the right mail_file, and by id when mail_file names
	   nothing (amavisd-release sends what the admin typed). */
	CHECK_INT(mavis_release_load_file(cfg, "pufTtG_frwve", NULL, a, &e, &path, &err), 0);
	CHECK(strstr(path, "/p/spam-pufTtG_frwve") != NULL);
	CHECK_INT(mavis_release_load_file(cfg, "pufTtG_frwve", "p/spam-pufTtG_frwve", a, &e, &path,
					  &err), 0);
	CHECK_INT(mavis_release_load_file(cfg, "pufTtG_frwve", "pufTtG_frwve", a, &e, &path, &err),
		  0);
	CHECK(strstr(path, "/p/spam-pufTtG_frwve") != NULL);
	/* Names that could leave the directory are refused, not looked up. */
	static const char *const unsafe[] = { "../p/spam-pufTtG_frwve", "/etc/passwd", "p/../../x",
					      ".hidden", "p/..", "a b", "p//../x/.." };
	for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++) {
		int rc = mavis_release_load_file(cfg, "pufTtG_frwve", unsafe[i], a, &e, &path, &err);

		if (rc != MAVIS_ERR_PARSE || strstr(err.text, "Unsafe filename") == NULL)
			test_fail(__FILE__, __LINE__, "mail_file %s: rc %d %s", unsafe[i], rc, err.text);
	}
	/* A file under another id's name does not release as that id. */
	CHECK_INT(mavis_release_load_file(cfg, "AAAAAAAAAAAA", "other-AAAAAAAAAAAA", a, &e, &path,
					  &err), MAVIS_ERR_PARSE);
	CHECK(strstr(err.text, "does not match") != NULL);
	CHECK_INT(mavis_release_load_file(cfg, "BBBBBBBBBBBB", NULL, a, &e, &path, &err),
		  MAVIS_ERR_NOTFOUND);

	/* Recipients: blocked by default, or as asked. */
	CHECK_INT(mavis_release_load_file(cfg, "pufTtG_frwve", NULL, a, &e, &path, &err), 0);
	struct mavis_release_opts o = { .dry_run = true };
	CHECK_INT(mavis_release_send(cfg, &e, &o, a, &res, &err), 0);
	CHECK_INT(res.nrcpts, 1);
	CHECK_STR(res.rcpts[0].addr, "b@example.com");
	CHECK(strstr(res.header, "Resent-From: \"Content-filter at mx.example\" <postmaster@mx.example>\n") == res.header);
	CHECK_STR(res.method_spec, "smtp:[127.0.0.1]:1");
	/* A requeue: the same recipients, through requeue_method. */
	o.requeue = true;
	CHECK_INT(mavis_release_send(cfg, &e, &o, a, &res, &err), 0);
	CHECK_INT(res.nrcpts, 1);
	CHECK_STR(res.method_spec, "smtp:[127.0.0.1]:25");
	const char *asked[] = { "c@example.net" };
	o.rcpts = asked;
	o.nrcpts = 1;
	o.requested_by = "admin@example.org";
	o.sender = "";
	CHECK_INT(mavis_release_send(cfg, &e, &o, a, &res, &err), 0);
	CHECK_INT(res.nrcpts, 1);
	CHECK_STR(res.rcpts[0].addr, "c@example.net");
	CHECK_STR(res.sender, "");
	CHECK(strstr(res.header, "Resent-From: <admin@example.org>\nResent-Sender: ") == res.header);
	const char *bad[] = { "c@exa\r\nmple.net" };
	o.rcpts = bad;
	CHECK_INT(mavis_release_send(cfg, &e, &o, a, &res, &err), MAVIS_ERR_PARSE);
	mavis_config_unref(&cfg);
	mavis_arena_free(&a);
}

int
main(void)
{
	TEST_RUN(test_parse_ok);
	TEST_RUN(test_parse_bad);
	TEST_RUN(test_secret);
	TEST_RUN(test_answers);
	TEST_RUN(test_load_file);
	return test_exit();
}
