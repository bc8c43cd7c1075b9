/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_pipeline.c - whole messages through sessions: verdicts, replies, edits */

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mavis/buf.h>
#include <mavis/config.h>
#include <mavis/log.h>
#include <mavis/session.h>
#include <mavis/text.h>

#include "harness.h"
#include "testmsg.h"

static const char eicar[] =
	"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

struct rcpt_want {
	const char *addr;
	const char *ccat;	/* short name */
	const char *destiny;
};

/* Feed the message as non-SMTP mail (pickup/sendmail) when set. */
static bool scan_non_smtpd;

struct scan {
	const struct mavis_verdict *v;
	struct mavis_session *s;
	struct mavis_engine *e;
	struct mavis_config *cfg;
	struct mavis_buf json;
};

static const char *
base_conf(void)
{
	static char buf[2048];

	snprintf(buf, sizeof(buf),
		 "myhostname = mx.example.com\n"
		 "local_domains_maps = .example.com\n"
		 "recipient_bucketing = no\n"
		 "tmp_dir = %s\n"
		 "clamav_database_dir = %s\n"
		 "banned_rules_file = %s/etc/banned-rules.conf\n",
		 test_tmpdir(), test_data_path("clamav"),
		 getenv("MAVIS_SOURCE_DIR") ? getenv("MAVIS_SOURCE_DIR") : ".");
	return buf;
}

/* Run msg through a fresh engine built from base_conf + extra, recipients
   rcpts (NULL-terminated). The scan struct owns everything; scan_done frees. */
static int
scan_msg(struct scan *sc, const char *extra, const char *const *rcpts, const char *msg, size_t len)
{
	struct mavis_error err = { 0 };
	struct mavis_buf conf = { 0 };
	struct mavis_reply reply;
	struct mavis_session_info info = { .client_addr = "203.0.113.7", .daemon_name = "mx" };

	memset(sc, 0, sizeof(*sc));
	mavis_buf_puts(&conf, base_conf());
	mavis_buf_puts(&conf, extra ? extra : "");
	if (mavis_config_load_string(mavis_buf_str(&conf), "pipeline.conf", NULL, &sc->cfg, &err) < 0 ||
	    mavis_engine_new(sc->cfg, &sc->e, &err) < 0 ||
	    mavis_session_new(sc->e, &info, &sc->s, &err) < 0 ||
	    mavis_session_mail(sc->s, "sender@example.net", NULL, &err) < 0) {
		test_fail(__FILE__, __LINE__, "setup: %s", err.text);
		mavis_buf_free(&conf);
		return -1;
	}
	mavis_buf_free(&conf);
	mavis_session_set_non_smtpd(sc->s, scan_non_smtpd);
	for (size_t i = 0; rcpts[i]; i++)
		if (mavis_session_rcpt(sc->s, rcpts[i], &reply, &err) != 0)
			test_fail(__FILE__, __LINE__, "rcpt %s refused", rcpts[i]);
	mavis_session_raw_message(sc->s, msg, len);
	sc->v = mavis_session_eom(sc->s);
	mavis_verdict_to_json(sc->v, &sc->json);
	return 0;
}

static void
scan_done(struct scan *sc)
{
	mavis_buf_free(&sc->json);
	mavis_session_free(&sc->s);
	mavis_engine_free(&sc->e);
	mavis_config_unref(&sc->cfg);
}

/* scan_msg with the log captured: stderr is an ordinary variable in glibc,
   so a memory stream stands in for it meanwhile. *log is heap, caller frees. */
static int
scan_msg_log_at(struct scan *sc, const char *extra, const char *const *rcpts, const char *msg,
		size_t len, char **log, int log_level)
{
	FILE *real_stderr = stderr, *logf;
	int was = mavis_log_verbosity();
	size_t loglen;
	int rc;

	*log = NULL;
	logf = open_memstream(log, &loglen);
	if (logf == NULL)
		abort();
	stderr = logf;
	mavis_log_set_verbosity(log_level);
	rc = scan_msg(sc, extra, rcpts, msg, len);
	/* The caller logs the verdict (mavisd after applying it, mavisctl scan). */
	if (rc == 0)
		mavis_session_log_verdict(sc->s, sc->v);
	mavis_log_set_verbosity(was);
	stderr = real_stderr;
	fclose(logf);
	return rc;
}

static int
scan_msg_log(struct scan *sc, const char *extra, const char *const *rcpts, const char *msg,
	     size_t len, char **log)
{
	return scan_msg_log_at(sc, extra, rcpts, msg, len, log, 0);
}

static const struct mavis_edit *
find_edit(const struct mavis_verdict *v, enum mavis_edit_op op, const char *name_or_rcpt)
{
	for (size_t i = 0; i < v->nedits; i++) {
		const struct mavis_edit *e = &v->edits[i];
		const char *k = e->name ? e->name : e->rcpt;

		if (e->op == op && k && strcmp(k, name_or_rcpt) == 0)
			return e;
	}
	return NULL;
}

static void
check_rcpts(const struct scan *sc, const struct rcpt_want *w, size_t n, int line)
{
	if (sc->v->nrcpts != n) {
		test_fail(__FILE__, line, "%zu recipients, want %zu: %s", sc->v->nrcpts, n,
			  mavis_buf_str(&sc->json));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct mavis_rcpt_verdict *r = &sc->v->rcpts[i];
		const char *ccat = mavis_ccat_short_name(r->ccat.major, r->ccat.minor);

		if (strcmp(r->address, w[i].addr) || strcmp(ccat, w[i].ccat) ||
		    strcmp(mavis_destiny_name(r->destiny), w[i].destiny))
			test_fail(__FILE__, line, "rcpt %s: %s/%s, want %s/%s/%s", r->address, ccat,
				  mavis_destiny_name(r->destiny), w[i].addr, w[i].ccat, w[i].destiny);
	}
}

static void
check_reply(const struct scan *sc, enum mavis_action action, const char *rcode,
	    const char *xcode, const char *text_part, int line)
{
	if (sc->v->action != action || strcmp(sc->v->rcode, rcode) || strcmp(sc->v->xcode, xcode) ||
	    (text_part && !strstr(sc->v->text, text_part)))
		test_fail(__FILE__, line, "reply %s %s %s %s, want %s %s %s ...%s...: %s",
			  mavis_action_name(sc->v->action), sc->v->rcode, sc->v->xcode, sc->v->text,
			  mavis_action_name(action), rcode, xcode, text_part ? text_part : "",
			  mavis_buf_str(&sc->json));
}

static const char clean_msg[] =
	"From: Sender <sender@example.net>\r\n"
	"To: bob@example.com\r\n"
	"Subject: lunch\r\n"
	"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
	"Message-ID: <lunch@example.net>\r\n"
	"\r\n"
	"Noon?\r\n";

static void
test_clean(void)
{
	static const char *const rc[] = { "bob@example.com", NULL };
	static const struct rcpt_want w[] = { { "bob@example.com", "CLEAN", "pass" } };
	struct scan sc;

	if (scan_msg(&sc, NULL, rc, clean_msg, sizeof(clean_msg) - 1) == 0) {
		check_reply(&sc, MAVIS_ACTION_ACCEPT, "250", "2.0.0", NULL, __LINE__);
		check_rcpts(&sc, w, 1, __LINE__);
		/* Mail mavisd does not touch gets no edits at all. */
		CHECK_INT(sc.v->nedits, 0);
		CHECK(!sc.v->virus_scanned);
		CHECK_INT(strlen(sc.v->mail_id), 12);
	}
	scan_done(&sc);

	/* With the virus scanner on, the X-Virus-Scanned field is the only edit. */
	if (scan_msg(&sc, "av_scanners = clamav\n", rc, clean_msg, sizeof(clean_msg) - 1) == 0) {
		const struct mavis_edit *e = find_edit(sc.v, MAVIS_EDIT_INSERT_HEADER, "X-Virus-Scanned");

		CHECK(sc.v->virus_scanned);
		CHECK(e != NULL && strcmp(e->value, " mavis at mx.example.com") == 0);
		CHECK_INT(sc.v->nedits, 1);
	}
	scan_done(&sc);
}

/* log_timing = yes: one TIMING line after the main line, in amavisd's shape,
   one entry per stage the verdict timed; off (the default): none. */
static void
test_timing_line(void)
{
	static const char *const rc[] = { "bob@example.com", NULL };
	static const char shape[] =
		"TIMING \\[total [0-9]+ ms\\] - "
		"[a-z_]+: [0-9]+(\\.[0-9])? \\([0-9]+%\\)[0-9]+"
		"(, [a-z_]+: [0-9]+(\\.[0-9])? \\([0-9]+%\\)[0-9]+)*$";
	struct scan sc;
	regex_t re;
	char *log;

	CHECK_INT(regcomp(&re, shape, REG_EXTENDED | REG_NEWLINE), 0);
	if (scan_msg_log(&sc, "log_timing = yes\nav_scanners = clamav\n", rc, clean_msg,
			 sizeof(clean_msg) - 1, &log) == 0) {
		const char *main_line = strstr(log, "Passed CLEAN");
		const char *t = strstr(log, "TIMING [");
		regmatch_t mt;

		CHECK(main_line != NULL);
		CHECK(t != NULL && main_line != NULL && t > main_line);
		CHECK(sc.v->ntiming > 0);
		if (t != NULL) {
			const char *eol = strchr(t, '\n');
			size_t entries = 1;

			if (regexec(&re, t, 1, &mt, 0) != 0 || mt.rm_so != 0)
				test_fail(__FILE__, __LINE__, "TIMING line shape: %s", t);
			for (const char *p = t; eol && p < eol; p++)
				entries += *p == ',';
			CHECK_INT(entries, sc.v->ntiming);
			/* Every stage the verdict timed is named, in run order. */
			for (size_t i = 0; i < sc.v->ntiming; i++) {
				char name[64];

				snprintf(name, sizeof(name), " %s: ", sc.v->timing[i].stage);
				CHECK(strstr(t, name) != NULL && strstr(t, name) < eol);
			}
			CHECK(strstr(t, " virus: ") != NULL);
		}
	}
	scan_done(&sc);
	free(log);

	if (scan_msg_log(&sc, NULL, rc, clean_msg, sizeof(clean_msg) - 1, &log) == 0) {
		CHECK(strstr(log, "Passed CLEAN") != NULL);
		CHECK(strstr(log, "TIMING") == NULL);
	}
	scan_done(&sc);
	free(log);
	regfree(&re);
}

static void
test_virus(void)
{
	static const char *const rc[] = { "bob@example.com", NULL };
	static const char *const rc2[] = { "bob@example.com", "lover@example.com", NULL };
	struct mavis_buf m = { 0 }, zi = { 0 }, zo = { 0 };
	struct scan sc;

	test_mail_attachment(&m, "application/octet-stream", "eicar.txt", eicar, sizeof(eicar) - 1);
	if (scan_msg(&sc, "av_scanners = clamav\n", rc, m.data, m.len) == 0) {
		static const struct rcpt_want w[] = { { "bob@example.com", "VIRUS", "reject" } };

		check_reply(&sc, MAVIS_ACTION_REJECT, "554", "5.7.0", "INFECTED: Eicar", __LINE__);
		check_rcpts(&sc, w, 1, __LINE__);
	}
	scan_done(&sc);

	/* One virus lover, one not: accept, delete bob, alert for the lover. */
	if (scan_msg(&sc, "av_scanners = clamav\nvirus_lovers_maps = lover@example.com\n", rc2,
		     m.data, m.len) == 0) {
		static const struct rcpt_want w[] = { { "bob@example.com", "VIRUS", "reject" },
						      { "lover@example.com", "VIRUS", "pass" } };

		check_reply(&sc, MAVIS_ACTION_ACCEPT, "250", "2.0.0", NULL, __LINE__);
		check_rcpts(&sc, w, 2, __LINE__);
		CHECK(find_edit(sc.v, MAVIS_EDIT_DELETE_RCPT, "bob@example.com") != NULL);
		CHECK(find_edit(sc.v, MAVIS_EDIT_DELETE_RCPT, "lover@example.com") == NULL);
		const struct mavis_edit *a = find_edit(sc.v, MAVIS_EDIT_INSERT_HEADER, "X-Mavis-Alert");
		CHECK(a != NULL && strstr(a->value, "INFECTED, message contains virus: Eicar"));
		/* local recipient: ***INFECTED*** subject tag */
		const struct mavis_edit *s = find_edit(sc.v, MAVIS_EDIT_CHANGE_HEADER, "Subject");
		CHECK(s != NULL && strcmp(s->value, " ***INFECTED*** test") == 0);
	}
	scan_done(&sc);
	mavis_buf_free(&m);

	/* amavisd: a virus lover is still blocked by a lower ccat (here BANNED:
	   the name ends in .com) - "blocking ccat differs from ccat_maj". */
	test_mail_attachment(&m, "application/octet-stream", "eicar.com", eicar, sizeof(eicar) - 1);
	if (scan_msg(&sc, "av_scanners = clamav\nvirus_lovers_maps = lover@example.com\n", rc2,
		     m.data, m.len) == 0) {
		CHECK_INT(sc.v->rcpts[1].ccat.major, MAVIS_CC_VIRUS);
		CHECK_INT(sc.v->rcpts[1].blocking.major, MAVIS_CC_BANNED);
		check_reply(&sc, MAVIS_ACTION_REJECT, "554", "5.7.0", "INFECTED", __LINE__);
	}
	scan_done(&sc);
	mavis_buf_free(&m);

	/* EICAR inside a zip inside a zip. */
	struct test_entry e1 = { "eicar.txt", eicar, sizeof(eicar) - 1, 0, 0 };
	CHECK_INT(test_archive("zip", NULL, NULL, NULL, &e1, 1, &zi), 0);
	struct test_entry e2 = { "inner.zip", zi.data, zi.len, 0, 0 };
	CHECK_INT(test_archive("zip", NULL, NULL, NULL, &e2, 1, &zo), 0);
	test_mail_attachment(&m, "application/zip", "outer.zip", zo.data, zo.len);
	if (scan_msg(&sc, "av_scanners = clamav\nfinal_virus_destiny = discard\n", rc, m.data, m.len) == 0)
		check_reply(&sc, MAVIS_ACTION_DISCARD, "250", "2.7.0", "Ok, discarded", __LINE__);
	scan_done(&sc);
	if (scan_msg(&sc, "av_scanners = clamav\nfinal_virus_destiny = tempfail\n", rc, m.data, m.len) == 0)
		check_reply(&sc, MAVIS_ACTION_TEMPFAIL, "450", "4.7.0", "INFECTED", __LINE__);
	scan_done(&sc);
	if (scan_msg(&sc, "av_scanners = clamav\nsoft_bounce = yes\n", rc, m.data, m.len) == 0)
		check_reply(&sc, MAVIS_ACTION_TEMPFAIL, "450", "4.7.0", "(soft_bounce)", __LINE__);
	scan_done(&sc);
	/* bypass_virus_checks: no scan, clean for that recipient */
	if (scan_msg(&sc, "av_scanners = clamav\nbypass_virus_checks_maps = .example.com\n", rc, m.data, m.len) == 0) {
		check_reply(&sc, MAVIS_ACTION_ACCEPT, "250", "2.0.0", NULL, __LINE__);
		CHECK(!sc.v->virus_scanned);
	}
	scan_done(&sc);
	mavis_buf_free(&m);
	mavis_buf_free(&zi);
	mavis_buf_free(&zo);
}

/* A scanner that fails never yields CLEAN. */
/* A message that would take the process past decode_memory_limit is
   tempfailed with the reason logged, even where on_internal_error = pass:
   load must not switch the checks off. */
static void
test_decode_budget(void)
{
	static unsigned char blob[256 * 1024];
	const char *const rcpts[] = { "bob@example.com", NULL };
	struct mavis_buf m;
	struct scan sc;

	memset(blob, 'x', sizeof(blob));
	test_mail_attachment(&m, "application/octet-stream", "blob.bin", blob, sizeof(blob));
	if (scan_msg(&sc, "decode_memory_limit = 64K\non_internal_error = pass\n", rcpts,
		     mavis_buf_str(&m), m.len) == 0) {
		check_reply(&sc, MAVIS_ACTION_TEMPFAIL, "451", "4.7.1", "try again later", __LINE__);
		scan_done(&sc);
	}
	/* the default budget takes it */
	if (scan_msg(&sc, NULL, rcpts, mavis_buf_str(&m), m.len) == 0) {
		CHECK(sc.v->action != MAVIS_ACTION_TEMPFAIL);
		scan_done(&sc);
	}
	mavis_buf_free(&m);
}

static void
test_scanner_failure(void)
{
	static const char *const rc[] = { "bob@example.com", NULL };
	struct scan sc;

	if (scan_msg(&sc, "av_scanners = clamd:/nonexistent/clamd.sock\n", rc, clean_msg,
		     sizeof(clean_msg) - 1) == 0) {
		check_reply(&sc, MAVIS_ACTION_TEMPFAIL, "451", "4.7.1", "virus scanning failed", __LINE__);
		CHECK(sc.v->internal_error);
	}
	scan_done(&sc);
	/* primary fails, backup works: clean and scanned */
	if (scan_msg(&sc, "av_scanners = clamd:/nonexistent/clamd.sock\nav_scanners_backup = clamav\n",
		     rc, clean_msg, sizeof(clean_msg) - 1) == 0) {
		check_reply(&sc, MAVIS_ACTION_ACCEPT, "250", "2.0.0", NULL, __LINE__);
		CHECK(sc.v->virus_scanned);
	}
	scan_done(&sc);
	/* on_scanner_failure = pass: UNCHECKED, delivered with the tag */
	if (scan_msg(&sc, "av_scanners = clamd:/nonexistent/clamd.sock\non_scanner_failure = pass\n",
		     rc, clean_msg, sizeof(clean_msg) - 1) == 0) {
		static const struct rcpt_want w[] = { { "bob@example.com", "UNCHECKED", "pass" } };

		check_reply(&sc, MAVIS_ACTION_ACCEPT, "250", "2.0.0", NULL, __LINE__);
		check_rcpts(&sc, w, 1, __LINE__);
		const struct mavis_edit *s = find_edit(sc.v, MAVIS_EDIT_CHANGE_HEADER, "Subject");
		CHECK(s != NULL && strcmp(s->value, " ***UNCHECKED*** lunch") == 0);
		CHECK(find_edit(sc.v, MAVIS_EDIT_INSERT_HEADER, "X-Virus-Scanned") == NULL);
		const struct mavis_edit *al = find_edit(sc.v, MAVIS_EDIT_INSERT_HEADER, "X-Mavis-Alert");
		CHECK(al != NULL && strstr(al->value, "virus scanning failed") != NULL);
	}
	scan_done(&sc);
	/* missing database with degraded start: the engine starts, mail tempfails */
	if (scan_msg(&sc, "av_scanners = clamav\nclamav_database_dir = /nonexistent\nav_degraded_start = yes\n",
		     rc, clean_msg, sizeof(clean_msg) - 1) == 0)
		check_reply(&sc, MAVIS_ACTION_TEMPFAIL, "451", "4.7.1", NULL, __LINE__);
	scan_done(&sc);
	/* ... and without it, the engine refuses to start */
	struct mavis_config *cfg = NULL;
	struct mavis_engine *e = NULL;
	struct mavis_error err = { 0 };
	CHECK_INT(mavis_config_load_string("av_scanners = clamav\nclamav_database_dir = /nonexistent\n",
					   "x", NULL, &cfg, &err), 0);
	CHECK(cfg != NULL && mavis_engine_new(cfg, &e, &err) < 0);
	CHECK(e == NULL);
	mavis_config_unref(&cfg);
}

static void
test_banned(void)
{
	static const char *const rc[] = { "bob@example.com", NULL };
	static const char *const rc2[] = { "bob@example.com", "arch@example.com", NULL };
	unsigned char pe[1024];
	size_t pelen = test_pe(pe, sizeof(pe), 0);
	struct mavis_buf m = { 0 }, zi = { 0 };
	struct scan sc;

	struct test_entry e1 = { "invoice.pdf.exe", pe, pelen, 0, 0 };
	CHECK_INT(test_archive("zip", NULL, NULL, NULL, &e1, 1, &zi), 0);
	test_mail_attachment(&m, "application/zip", "invoice.zip", zi.data, zi.len);
	if (scan_msg(&sc, NULL, rc, m.data, m.len) == 0) {
		static const struct rcpt_want w[] = { { "bob@example.com", "BANNED", "reject" } };

		check_reply(&sc, MAVIS_ACTION_REJECT, "554", "5.7.0", "BANNED:", __LINE__);
		check_rcpts(&sc, w, 1, __LINE__);
	}
	scan_done(&sc);
	/* No file named: the built-in Debian set bans it just the same; only
	   "none" turns the check off. */
	if (scan_msg(&sc, "banned_rules_file =\n", rc, m.data, m.len) == 0) {
		static const struct rcpt_want w[] = { { "bob@example.com", "BANNED", "reject" } };

		check_reply(&sc, MAVIS_ACTION_REJECT, "554", "5.7.0", "BANNED:", __LINE__);
		check_rcpts(&sc, w, 1, __LINE__);
	}
	scan_done(&sc);
	if (scan_msg(&sc, "banned_rules_file = none\n", rc, m.data, m.len) == 0)
		check_reply(&sc, MAVIS_ACTION_ACCEPT, "250", "2.0.0", NULL, __LINE__);
	scan_done(&sc);
	/* one recipient bypasses banned checks: mixed -> accept, delete bob */
	if (scan_msg(&sc, "bypass_banned_checks_maps = arch@example.com\n", rc2, m.data, m.len) == 0) {
		static const struct rcpt_want w[] = { { "bob@example.com", "BANNED", "reject" },
						      { "arch@example.com", "BADH", "pass" } };	/* no Date: BadHdrMissing */

		check_reply(&sc, MAVIS_ACTION_ACCEPT, "250", "2.0.0", NULL, __LINE__);
		check_rcpts(&sc, w, 2, __LINE__);
		CHECK(find_edit(sc.v, MAVIS_EDIT_DELETE_RCPT, "bob@example.com") != NULL);
	}
	scan_done(&sc);
	/* banned files lover gets it with an alert */
	if (scan_msg(&sc, "banned_files_lovers_maps = bob@example.com\n", rc, m.data, m.len) == 0) {
		const struct mavis_edit *a = find_edit(sc.v, MAVIS_EDIT_INSERT_HEADER, "X-Mavis-Alert");

		check_reply(&sc, MAVIS_ACTION_ACCEPT, "250", "2.0.0", NULL, __LINE__);
		CHECK(a != NULL && strstr(a->value, " BANNED, message contains ") == a->value);
	}
	scan_done(&sc);
	mavis_buf_free(&m);
	mavis_buf_free(&zi);
}

static void
test_unchecked(void)
{
	static const char *const rc[] = { "bob@example.com", NULL };
	struct mavis_buf m = { 0 }, z = { 0 };
	struct scan sc;

	struct test_entry e1 = { "secret.txt", "top secret", 10, 0, 0 };
	CHECK_INT(test_archive("zip", NULL, "zip:encryption=zipcrypt", "pw", &e1, 1, &z), 0);
	test_mail_attachment(&m, "application/zip", "secret.zip", z.data, z.len);
	if (scan_msg(&sc, NULL, rc, m.data, m.len) == 0) {
		static const struct rcpt_want w[] = { { "bob@example.com", "UNCHECKED", "pass" } };

		check_reply(&sc, MAVIS_ACTION_ACCEPT, "250", "2.0.0", NULL, __LINE__);
		check_rcpts(&sc, w, 1, __LINE__);
		CHECK_INT(sc.v->rcpts[0].ccat.minor, 1);
		CHECK(find_edit(sc.v, MAVIS_EDIT_CHANGE_HEADER, "Subject") != NULL);
	}
	scan_done(&sc);
	if (scan_msg(&sc, "final_unchecked_destiny = reject\n", rc, m.data, m.len) == 0)
		check_reply(&sc, MAVIS_ACTION_REJECT, "554", "5.7.0", "UNCHECKED: encrypted", __LINE__);
	scan_done(&sc);
	mavis_buf_free(&m);
	mavis_buf_free(&z);

	/* CVE-2024-28054: two boundary= parameters: ambiguous, for everyone */
	static const char amb[] =
		"From: a@example.net\nTo: bob@example.com\nSubject: amb\n"
		"Date: Mon, 1 Jan 2024 10:00:00 +0000\nMIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=\"a\"; boundary=\"b\"\n\n"
		"--a\nContent-Type: text/plain\n\none\n--b\nContent-Type: text/plain\n\ntwo\n--a--\n";
	if (scan_msg(&sc, "final_unchecked_destiny = reject\nbypass_virus_checks_maps = .\n", rc,
		     amb, sizeof(amb) - 1) == 0)
		check_reply(&sc, MAVIS_ACTION_REJECT, "554", "5.7.0", "UNCHECKED: ambiguous content", __LINE__);
	scan_done(&sc);
}

static void
test_sizes(void)
{
	static const char *const rc[] = { "small@example.com", "big@example.com", NULL };
	static const char *const rc1[] = { "small@example.com", NULL };
	struct scan sc;

	if (scan_msg(&sc, "message_size_limit_maps = inline:{small@example.com=100}\n", rc, clean_msg,
		     sizeof(clean_msg) - 1) == 0) {
		static const struct rcpt_want w[] = { { "small@example.com", "OVERSIZED", "reject" },
						      { "big@example.com", "CLEAN", "pass" } };

		check_reply(&sc, MAVIS_ACTION_ACCEPT, "250", "2.0.0", NULL, __LINE__);
		check_rcpts(&sc, w, 2, __LINE__);
	}
	scan_done(&sc);
	if (scan_msg(&sc, "message_size_limit_maps = inline:{small@example.com=100}\n", rc1, clean_msg,
		     sizeof(clean_msg) - 1) == 0)
		check_reply(&sc, MAVIS_ACTION_REJECT, "552", "5.3.4",
			    "Message size exceeds recipient's size limit", __LINE__);
	scan_done(&sc);

	/* A body larger than body_memory_limit spills to tmp_dir; same verdict. */
	struct mavis_buf big = { 0 };
	mavis_buf_puts(&big, "From: a@example.net\nTo: b@example.com\nSubject: big\n\n");
	for (int i = 0; i < 4000; i++)
		mavis_buf_puts(&big, "0123456789012345678901234567890123456789012345678901234567890123456789\n");
	if (scan_msg(&sc, "body_memory_limit = 64K\n", rc1, big.data, big.len) == 0)
		check_reply(&sc, MAVIS_ACTION_ACCEPT, "250", "2.0.0", NULL, __LINE__);
	scan_done(&sc);
	/* ... and if tmp_dir is unusable, the message tempfails: never lost */
	if (scan_msg(&sc, "body_memory_limit = 64K\ntmp_dir = /nonexistent/dir\n", rc1, big.data, big.len) == 0) {
		check_reply(&sc, MAVIS_ACTION_TEMPFAIL, "451", "4.7.1", NULL, __LINE__);
		CHECK(sc.v->internal_error);
	}
	scan_done(&sc);
	/* over message_size_limit: OVERSIZED for everyone, memory bounded */
	if (scan_msg(&sc, "message_size_limit = 64K\n", rc, big.data, big.len) == 0)
		check_reply(&sc, MAVIS_ACTION_REJECT, "552", "5.3.4", NULL, __LINE__);
	scan_done(&sc);
	mavis_buf_free(&big);
}

/* Several messages on one session; each reset frees the message. */
static void
test_session_reuse(void)
{
	struct mavis_config *cfg = NULL;
	struct mavis_engine *e = NULL;
	struct mavis_session *s = NULL;
	struct mavis_error err = { 0 };
	struct mavis_reply reply;
	struct mavis_session_info info = { .client_addr = "10.0.0.1" };
	char ids[3][16];

	CHECK_INT(mavis_config_load_string(base_conf(), "x", NULL, &cfg, &err), 0);
	CHECK_INT(mavis_engine_new(cfg, &e, &err), 0);
	CHECK_INT(mavis_session_new(e, &info, &s, &err), 0);
	for (int i = 0; i < 3; i++) {
		CHECK_INT(mavis_session_mail(s, "a@example.net", i == 1 ? "alice" : NULL, &err), 0);
		CHECK_INT(mavis_session_rcpt(s, "b@example.com", &reply, &err), 0);
		if (i == 2) {	/* RSET in the middle of the body */
			mavis_session_header(s, "Subject", " x");
			mavis_session_body(s, "part", 4);
			mavis_session_reset(s);
			continue;
		}
		mavis_session_raw_message(s, clean_msg, sizeof(clean_msg) - 1);
		const struct mavis_verdict *v = mavis_session_eom(s);
		CHECK_INT(v->action, MAVIS_ACTION_ACCEPT);
		snprintf(ids[i], sizeof(ids[i]), "%s", v->mail_id);
		mavis_session_reset(s);
	}
	CHECK(strcmp(ids[0], ids[1]) != 0);
	mavis_session_free(&s);
	mavis_engine_free(&e);
	mavis_config_unref(&cfg);
}

/* The bad-header minors through the whole pipeline (amavisd §5). */
static void
test_bad_headers(void)
{
	static const char *const rc[] = { "bob@example.com", NULL };
	static const struct {
		const char *head;	/* fields after From/To/Date */
		int minor;
		const char *reply;
	} cases[] = {
		{ "Subject: a\nSubject: b\n", 8, "554 5.6.0 BAD HEADER: duplicate header field" },
		{ "Subject: caf\xe9\n", 2, "554 5.6.3 BAD HEADER: nonencoded 8-bit character" },
		{ "Subject: a\n\t   \n", 4, "554 5.6.0 BAD HEADER: line made up entirely of whitespace" },
		{ "X-Long: LONG\n", 5, "554 5.6.0 BAD HEADER: line longer than RFC 5322 limit" },
		{ "Bad Name: x\n", 6, "554 5.6.0 BAD HEADER: syntax error" },
		{ "Subject: ok\n", 0, NULL },
	};
	char longline[1200];

	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mavis_buf m = { 0 };
		struct scan sc;
		const char *h = cases[i].head;

		mavis_buf_puts(&m, "From: a@example.net\nTo: bob@example.com\n"
				   "Date: Mon, 1 Jan 2024 10:00:00 +0000\n");
		if (strstr(h, "LONG")) {
			mavis_buf_puts(&m, "X-Long: ");
			mavis_buf_puts(&m, longline);
			mavis_buf_puts(&m, "\n");
		} else {
			mavis_buf_puts(&m, h);
		}
		mavis_buf_puts(&m, "\nbody\n");
		if (scan_msg(&sc, "final_bad_header_destiny = reject\n", rc, m.data, m.len) == 0) {
			if (cases[i].minor == 0) {
				check_reply(&sc, MAVIS_ACTION_ACCEPT, "250", "2.0.0", NULL, __LINE__);
			} else {
				char want[200];
				struct mavis_buf got = { 0 };

				CHECK_INT(sc.v->rcpts[0].ccat.major, MAVIS_CC_BADH);
				CHECK_INT(sc.v->rcpts[0].ccat.minor, cases[i].minor);
				snprintf(want, sizeof(want), "%.9s Reject, id=", cases[i].reply);
				mavis_reply_format(&sc.v->rcpts[0].reply, &got);
				CHECK(strncmp(mavis_buf_str(&got), want, strlen(want)) == 0);
				CHECK(strstr(mavis_buf_str(&got), cases[i].reply + 10) != NULL);
				mavis_buf_free(&got);
			}
		}
		scan_done(&sc);
		/* passed (the default): delivered with the alert field */
		if (cases[i].minor && scan_msg(&sc, NULL, rc, m.data, m.len) == 0) {
			const struct mavis_edit *a = find_edit(sc.v, MAVIS_EDIT_INSERT_HEADER, "X-Mavis-Alert");

			check_reply(&sc, MAVIS_ACTION_ACCEPT, "250", "2.0.0", NULL, __LINE__);
			CHECK(a != NULL && strncmp(a->value, " BAD HEADER SECTION, ", 21) == 0);
		}
		if (cases[i].minor)
			scan_done(&sc);
		mavis_buf_free(&m);
	}
	/* missing From and Date: minor 7; bypass_header_checks: clean */
	static const char nofrom[] = "To: bob@example.com\nSubject: x\n\nbody\n";
	struct scan sc;
	if (scan_msg(&sc, NULL, rc, nofrom, sizeof(nofrom) - 1) == 0)
		CHECK_INT(sc.v->rcpts[0].ccat.minor, 7);
	scan_done(&sc);
	if (scan_msg(&sc, "bypass_header_checks_maps = .example.com\n", rc, nofrom, sizeof(nofrom) - 1) == 0)
		CHECK_INT(sc.v->rcpts[0].ccat.major, MAVIS_CC_CLEAN);
	scan_done(&sc);
	/* allowed_header_tests without "missing" */
	if (scan_msg(&sc, "allowed_header_tests = mime syntax\n", rc, nofrom, sizeof(nofrom) - 1) == 0)
		CHECK_INT(sc.v->rcpts[0].ccat.major, MAVIS_CC_CLEAN);
	scan_done(&sc);
}

static void
test_quarantine(void)
{
	static const char *const rc[] = { "bob@example.com", "lover@example.com", NULL };
	struct mavis_buf m = { 0 }, conf = { 0 };
	struct scan sc;
	char qdir[600], path[800];

	snprintf(qdir, sizeof(qdir), "%s/quarantine", test_tmpdir());
	mkdir(qdir, 0700);
	mavis_buf_printf(&conf, "av_scanners = clamav\nvirus_lovers_maps = lover@example.com\n"
				"quarantine_dir = %s\nquarantine_subdir_levels = 0\n", qdir);
	test_mail_attachment(&m, "application/octet-stream", "eicar.txt", eicar, sizeof(eicar) - 1);
	if (scan_msg(&sc, conf.data, rc, m.data, m.len) == 0) {
		const struct mavis_edit *q = NULL;

		check_reply(&sc, MAVIS_ACTION_ACCEPT, "250", "2.0.0", NULL, __LINE__);
		for (size_t i = 0; i < sc.v->nedits; i++)
			if (sc.v->edits[i].op == MAVIS_EDIT_QUARANTINE)
				q = &sc.v->edits[i];
		CHECK(q != NULL);
		const struct mavis_edit *h = find_edit(sc.v, MAVIS_EDIT_INSERT_HEADER, "X-Quarantine-ID");
		CHECK(h != NULL && strstr(h->value, sc.v->mail_id) != NULL);
		snprintf(path, sizeof(path), "%s/virus-%s", qdir, sc.v->mail_id);
		FILE *f = fopen(path, "r");
		char line[200] = "";
		CHECK(f != NULL);
		if (f) {
			CHECK(fgets(line, sizeof(line), f) != NULL);
			CHECK(strncmp(line, "X-Envelope-From: <sender@example.net>", 37) == 0);
			fclose(f);
		}
	}
	scan_done(&sc);
	/* quarantine_dir that cannot be written: tempfail, never lost */
	mavis_buf_reset(&conf);
	mavis_buf_printf(&conf, "av_scanners = clamav\nquarantine_dir = %s/nonexistent\n", qdir);
	if (scan_msg(&sc, conf.data, rc, m.data, m.len) == 0)
		check_reply(&sc, MAVIS_ACTION_TEMPFAIL, "451", "4.7.1", NULL, __LINE__);
	scan_done(&sc);
	mavis_buf_free(&conf);
	mavis_buf_free(&m);
}

/* SIGUSR1 in mavisd = config reload, then a forced signature check. With a
   database broken since the engine loaded, both keep the working engine,
   also with av_degraded_start (the shipped setting): EICAR is still
   rejected, clean mail still accepted and scanned, never tempfailed. */
static void
test_reload_broken_db(void)
{
	static const char *const rc[] = { "bob@example.com", NULL };
	struct mavis_buf m = { 0 }, conf = { 0 };
	char db[600], bad[700], cmd[2400];

	snprintf(db, sizeof(db), "%s/reload-db", test_tmpdir());
	snprintf(bad, sizeof(bad), "%s/broken.ndb", db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s' && cp '%s'/*.?db '%s'/", db, db,
		 test_data_path("clamav"), db);
	CHECK_INT(system(cmd), 0);
	test_mail_attachment(&m, "application/octet-stream", "eicar.txt", eicar, sizeof(eicar) - 1);
	for (int degraded = 0; degraded <= 1; degraded++) {
		struct mavis_config *cfg = NULL, *cfg2 = NULL;
		struct mavis_engine *e = NULL;
		struct mavis_error err = { 0 };
		FILE *f;

		mavis_buf_reset(&conf);
		mavis_buf_printf(&conf, "%sav_scanners = clamav\nclamav_database_dir = %s\n"
				 "av_degraded_start = %s\n", base_conf(), db, degraded ? "yes" : "no");
		CHECK_INT(mavis_config_load_string(mavis_buf_str(&conf), "x", NULL, &cfg, &err), 0);
		CHECK_INT(mavis_engine_new(cfg, &e, &err), 0);
		if (e == NULL) {
			mavis_config_unref(&cfg);
			continue;
		}
		f = fopen(bad, "w");
		CHECK(f != NULL && fputs("this is not a signature\n", f) >= 0 && fclose(f) == 0);
		CHECK_INT(mavis_config_load_string(mavis_buf_str(&conf), "x", NULL, &cfg2, &err), 0);
		CHECK_INT(mavis_engine_reload(e, cfg2, &err), 0);
		CHECK_INT(mavis_engine_check_signatures(e, true, &err), MAVIS_ERR_SCANNER);
		for (int msg = 0; msg < 2; msg++) {
			struct mavis_session_info info = { .client_addr = "203.0.113.7" };
			struct mavis_session *s = NULL;
			struct mavis_reply reply;
			const struct mavis_verdict *v;

			CHECK_INT(mavis_session_new(e, &info, &s, &err), 0);
			CHECK_INT(mavis_session_mail(s, "sender@example.net", NULL, &err), 0);
			CHECK_INT(mavis_session_rcpt(s, rc[0], &reply, &err), 0);
			if (msg == 0)
				mavis_session_raw_message(s, m.data, m.len);
			else
				mavis_session_raw_message(s, clean_msg, sizeof(clean_msg) - 1);
			v = mavis_session_eom(s);
			if (msg == 0 && (v->action != MAVIS_ACTION_REJECT || !strstr(v->text, "INFECTED")))
				test_fail(__FILE__, __LINE__, "degraded=%d: EICAR after the reload: %s %s %s",
					  degraded, mavis_action_name(v->action), v->rcode, v->text);
			if (msg == 1 && (v->action != MAVIS_ACTION_ACCEPT || !v->virus_scanned))
				test_fail(__FILE__, __LINE__, "degraded=%d: clean after the reload: %s %s %s",
					  degraded, mavis_action_name(v->action), v->rcode, v->text);
			mavis_session_free(&s);
		}
		unlink(bad);
		mavis_engine_free(&e);
		mavis_config_unref(&cfg2);
		mavis_config_unref(&cfg);
	}
	mavis_buf_free(&conf);
	mavis_buf_free(&m);
}

/* No header value we add may hold a line break that does not fold. */
static bool
header_value_safe(const char *v)
{
	for (const char *p = v; *p; p++) {
		if (*p == '\r' || ((unsigned char)*p < 0x20 && *p != '\n') || *p == 0x7f)
			return false;
		if (*p == '\n' && p[1] != ' ' && p[1] != '\t')
			return false;
	}
	return true;
}

/* A message with an EICAR attachment and, after it, raw MIME text. */
static void
eicar_and(struct mavis_buf *m, const char *more_parts)
{
	memset(m, 0, sizeof(*m));
	mavis_buf_puts(m, "From: a@example.org\nTo: bob@example.com\nSubject: two\n"
			  "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"=b=\"\n\n"
			  "--=b=\nContent-Type: application/octet-stream; name=\"e.com\"\n"
			  "Content-Transfer-Encoding: base64\n\n");
	test_base64(m, eicar, sizeof(eicar) - 1);
	mavis_buf_puts(m, more_parts);
	mavis_buf_puts(m, "--=b=--\n");
}

/* Inputs that used to get around the scanners: each must be caught. */
static void
test_hostile(void)
{
	static const char *const rc[] = { "bob@example.com", NULL };
	struct mavis_buf m = { 0 }, parts = { 0 }, zip = { 0 };
	struct scan sc;

	/* EICAR plus a zip of 32 MB of zeros (the decoding quota trips):
	   the parts decoded so far and the raw message are still scanned. */
	static unsigned char zeros[65536];
	struct test_entry ze = { "zeros.bin", zeros, sizeof(zeros), 0, 512 };
	CHECK_INT(test_archive("zip", NULL, NULL, NULL, &ze, 1, &zip), 0);
	mavis_buf_puts(&parts, "--=b=\nContent-Type: application/zip; name=\"z.zip\"\n"
			       "Content-Transfer-Encoding: base64\n\n");
	test_base64(&parts, zip.data, zip.len);
	eicar_and(&m, mavis_buf_str(&parts));
	if (scan_msg(&sc, "av_scanners = clamav\n", rc, m.data, m.len) == 0)
		check_reply(&sc, MAVIS_ACTION_REJECT, "554", "5.7.0", "INFECTED: Eicar", __LINE__);
	scan_done(&sc);
	mavis_buf_free(&m);
	mavis_buf_free(&parts);
	mavis_buf_free(&zip);

	/* EICAR plus 1,600 empty parts (max_files trips). */
	for (int i = 0; i < 1600; i++)
		mavis_buf_puts(&parts, "--=b=\nContent-Type: text/plain\n\n\n");
	eicar_and(&m, mavis_buf_str(&parts));
	if (scan_msg(&sc, "av_scanners = clamav\n", rc, m.data, m.len) == 0)
		check_reply(&sc, MAVIS_ACTION_REJECT, "554", "5.7.0", "INFECTED: Eicar", __LINE__);
	scan_done(&sc);
	mavis_buf_free(&m);
	mavis_buf_free(&parts);

	/* 2,000 fields before the MIME ones, setup.exe attached: what the
	   MTA delivers is what is checked. */
	for (int i = 0; i < 2000; i++)
		mavis_buf_printf(&m, "X-Pad-%d: padding\n", i);
	mavis_buf_puts(&m, "From: a@example.org\nSubject: pad\nMIME-Version: 1.0\n"
			   "Content-Type: multipart/mixed; boundary=\"=b=\"\n\n"
			   "--=b=\nContent-Type: text/plain\n\nhi\n"
			   "--=b=\nContent-Type: application/octet-stream; name=\"setup.exe\"\n"
			   "Content-Transfer-Encoding: base64\n\nTVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAA\n"
			   "--=b=--\n");
	if (scan_msg(&sc, NULL, rc, m.data, m.len) == 0) {
		check_reply(&sc, MAVIS_ACTION_REJECT, "554", "5.7.0", "BANNED", __LINE__);
		CHECK_INT(sc.v->rcpts[0].ccat.major, MAVIS_CC_BANNED);
	}
	scan_done(&sc);
	mavis_buf_free(&m);

	/* A file name with CR LF (RFC 2231) and final_banned_destiny = pass:
	   the alert carries no line break of its own. */
	mavis_buf_puts(&m, "From: a@example.org\nSubject: inj\nMIME-Version: 1.0\n"
			   "Content-Type: multipart/mixed; boundary=\"=b=\"\n\n"
			   "--=b=\nContent-Type: application/octet-stream\n"
			   "Content-Disposition: attachment; filename*=utf-8''a%0D%0AX-Injected%3A%20yes%0D%0A.exe\n"
			   "Content-Transfer-Encoding: base64\n\nTVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAA\n"
			   "--=b=--\n");
	if (scan_msg(&sc, "final_banned_destiny = pass\n", rc, m.data, m.len) == 0) {
		const struct mavis_edit *a = find_edit(sc.v, MAVIS_EDIT_INSERT_HEADER, "X-Mavis-Alert");

		check_reply(&sc, MAVIS_ACTION_ACCEPT, "250", "2.0.0", NULL, __LINE__);
		CHECK(a != NULL && strstr(a->value, "BANNED") != NULL);
		CHECK(a != NULL && header_value_safe(a->value));
		for (size_t i = 0; i < sc.v->nedits; i++)
			if (sc.v->edits[i].value != NULL)
				CHECK(header_value_safe(sc.v->edits[i].value));
	}
	scan_done(&sc);
	mavis_buf_free(&m);

	/* on_internal_error = pass and a spool that cannot be written (tmp_dir
	   missing, body over body_memory_limit): a defined verdict, UNCHECKED
	   with the alert. */
	mavis_buf_puts(&m, "From: a@example.org\nSubject: big\n\n");
	for (int i = 0; i < 3000; i++)
		mavis_buf_puts(&m, "0123456789012345678901234567890123456789012345678901234567890123456789\n");
	if (scan_msg(&sc, "on_internal_error = pass\nbody_memory_limit = 64K\n"
			  "tmp_dir = /nonexistent/mavis-test\n", rc, m.data, m.len) == 0) {
		const struct mavis_edit *a = find_edit(sc.v, MAVIS_EDIT_INSERT_HEADER, "X-Mavis-Alert");

		check_reply(&sc, MAVIS_ACTION_ACCEPT, "250", "2.0.0", NULL, __LINE__);
		CHECK_INT(sc.v->rcpts[0].ccat.major, MAVIS_CC_UNCHECKED);
		CHECK(a != NULL && strstr(a->value, "UNCHECKED") != NULL);
		CHECK(!sc.v->virus_scanned);
	}
	scan_done(&sc);

	/* The same with on_internal_error = tempfail: 451 for everyone. */
	if (scan_msg(&sc, "body_memory_limit = 64K\ntmp_dir = /nonexistent/mavis-test\n", rc, m.data,
		     m.len) == 0) {
		check_reply(&sc, MAVIS_ACTION_TEMPFAIL, "451", "4.7.1", "error in processing", __LINE__);
		CHECK_INT(sc.v->nrcpts, 1);
	}
	scan_done(&sc);
	mavis_buf_free(&m);

	/* Over message_size_limit with final_oversized_destiny = pass: the
	   content checks do not run on the stored prefix; OVERSIZED and
	   UNCHECKED, no X-Virus-Scanned, no BANNED from the cut. */
	mavis_buf_puts(&m, "From: a@example.org\nSubject: cut\nMIME-Version: 1.0\n"
			   "Content-Type: multipart/mixed; boundary=\"=b=\"\n\n--=b=\nContent-Type: text/plain\n\n");
	for (int i = 0; i < 40; i++)
		mavis_buf_puts(&m, "filler filler filler filler filler filler filler filler filler\n");
	mavis_buf_puts(&m, "--=b=\nContent-Type: application/octet-stream; name=\"evil.exe\"\n\nMZ\n--=b=--\n");
	if (scan_msg(&sc, "av_scanners = clamav\nmessage_size_limit = 1024\n"
			  "final_oversized_destiny = pass\n", rc, m.data, m.len) == 0) {
		const struct mavis_rcpt_verdict *r = &sc.v->rcpts[0];

		check_reply(&sc, MAVIS_ACTION_ACCEPT, "250", "2.0.0", NULL, __LINE__);
		CHECK_INT(r->ccat.major, MAVIS_CC_UNCHECKED);
		CHECK(!sc.v->virus_scanned);
		CHECK(find_edit(sc.v, MAVIS_EDIT_INSERT_HEADER, "X-Virus-Scanned") == NULL);
		CHECK(strstr(mavis_buf_str(&sc.json), "BANNED") == NULL);
		CHECK(strstr(mavis_buf_str(&sc.json), "BADH") == NULL);
	}
	scan_done(&sc);
	mavis_buf_free(&m);
}

/* Recipient bucketing: a recipient whose settings differ from the first
   one's gets 452 4.5.3 at RCPT (SMTP only); equal ones share the
   transaction. */
static void
test_bucketing(void)
{
	struct mavis_error err = { 0 };
	struct mavis_buf conf = { 0 };
	struct mavis_config *cfg = NULL;
	struct mavis_engine *e = NULL;
	struct mavis_session *s = NULL;
	struct mavis_reply reply;
	struct mavis_session_info info = { .client_addr = "203.0.113.7" };

	mavis_buf_puts(&conf, base_conf());
	mavis_buf_puts(&conf, "recipient_bucketing = yes\n"
			      "spam_tag2_level_maps = inline:{carol@example.com=3}, 6.31\n");
	if (mavis_config_load_string(mavis_buf_str(&conf), "bucket.conf", NULL, &cfg, &err) < 0 ||
	    mavis_engine_new(cfg, &e, &err) < 0 || mavis_session_new(e, &info, &s, &err) < 0) {
		test_fail(__FILE__, __LINE__, "setup: %s", err.text);
		goto out;
	}
	for (int non_smtpd = 0; non_smtpd <= 1; non_smtpd++) {
		CHECK_INT(mavis_session_mail(s, "a@example.net", NULL, &err), 0);
		mavis_session_set_non_smtpd(s, non_smtpd);
		CHECK_INT(mavis_session_rcpt(s, "bob@example.com", &reply, &err), 0);
		CHECK_INT(mavis_session_rcpt(s, "dave@example.com", &reply, &err), 0);
		/* not local: no subject tags or spam fields for it */
		int rc = mavis_session_rcpt(s, "eve@example.org", &reply, &err);
		CHECK_INT(rc, non_smtpd ? 0 : 1);
		if (rc == 1)
			CHECK(strcmp(reply.rcode, "452") == 0 && strcmp(reply.xcode, "4.5.3") == 0);
		/* another tag2 level */
		CHECK_INT(mavis_session_rcpt(s, "carol@example.com", &reply, &err), non_smtpd ? 0 : 1);
		mavis_session_reset(s);
	}
out:
	mavis_buf_free(&conf);
	mavis_session_free(&s);
	mavis_engine_free(&e);
	mavis_config_unref(&cfg);
}

/* The verdict's own shape: deliveries, the final action for non-SMTP
   mail, the text sanitiser, the generated choice constants. */
static void
test_verdict_shape(void)
{
	static const char *const rc2[] = { "lover@example.com", "lover@example.net", NULL };
	static const char *const rc1[] = { "bob@example.com", NULL };
	struct mavis_buf m = { 0 };
	struct mavis_arena *a = mavis_arena_new(1024);
	struct scan sc;

	/* Two virus lovers, one local (subject tag) and one not: two
	   deliveries; delivery 0 (the first) is applied in place. */
	test_mail_attachment(&m, "application/octet-stream", "eicar.txt", eicar, sizeof(eicar) - 1);
	if (scan_msg(&sc, "av_scanners = clamav\nvirus_lovers_maps = lover@example.com, lover@example.net\n",
		     rc2, m.data, m.len) == 0) {
		check_reply(&sc, MAVIS_ACTION_ACCEPT, "250", "2.0.0", NULL, __LINE__);
		CHECK_INT(sc.v->ndeliveries, 2);
		CHECK(sc.v->merged_deliveries);
		CHECK_INT(sc.v->rcpts[0].delivery, 0);
		CHECK_INT(sc.v->rcpts[1].delivery, 1);
		if (sc.v->ndeliveries == 2) {
			CHECK_INT(sc.v->deliveries[0].nrcpts, 1);
			CHECK_INT(sc.v->deliveries[0].nedits, sc.v->deliveries[1].nedits + 1);
		}
		CHECK(find_edit(sc.v, MAVIS_EDIT_CHANGE_HEADER, "Subject") != NULL);
		CHECK(sc.v->ntiming >= 3);
	}
	scan_done(&sc);

	/* Non-SMTP mail: the reject becomes what non_smtpd_reject_action says,
	   in the verdict itself. */
	scan_non_smtpd = true;
	if (scan_msg(&sc, "av_scanners = clamav\nnon_smtpd_reject_action = hold\n", rc1, m.data,
		     m.len) == 0)
		check_reply(&sc, MAVIS_ACTION_HOLD, "554", "5.7.0", "INFECTED: Eicar", __LINE__);
	scan_done(&sc);
	if (scan_msg(&sc, "av_scanners = clamav\nnon_smtpd_reject_action = discard\n", rc1, m.data,
		     m.len) == 0)
		CHECK_INT(sc.v->action, MAVIS_ACTION_DISCARD);
	scan_done(&sc);
	if (scan_msg(&sc, "av_scanners = clamav\n", rc1, m.data, m.len) == 0)
		CHECK_INT(sc.v->action, MAVIS_ACTION_REJECT);
	scan_done(&sc);
	scan_non_smtpd = false;
	mavis_buf_free(&m);

	/* The sanitiser: controls become '?', long values fold at blanks and
	   unfold back to the scrubbed text. */
	CHECK_STR(mavis_text_clean(a, "a\r\nb\tc\x7f"), "a??b?c?");
	const char *f = mavis_text_header_value(a, "X-Mavis-Alert",
		" BANNED, message contains application/octet-stream,.exe,a-rather-long-file-name.exe "
		"and another-name-that-goes-on.exe");
	CHECK(f != NULL && strchr(f, '\n') != NULL && header_value_safe(f));
	for (const char *p = f, *nl; p && (nl = strchr(p, '\n')) != NULL; p = nl + 1)
		CHECK(nl - p + (p == f ? 14 : 0) <= MAVIS_TEXT_FOLD_AT);
	CHECK(strstr(f, "\n X-") == NULL);
	char big[3000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	f = mavis_text_header_value(a, "X-Long", big);
	CHECK(f != NULL && strlen(f) < MAVIS_TEXT_LINE_MAX && strstr(f, "[...]") != NULL);

	/* Choice constants follow the words' order in the table. */
	CHECK_INT(MAVIS_ON_INTERNAL_ERROR_TEMPFAIL, 0);
	CHECK_INT(MAVIS_ON_INTERNAL_ERROR_PASS, 2);
	CHECK_INT(MAVIS_ON_SCANNER_FAILURE_PASS, 1);
	CHECK_INT(MAVIS_NON_SMTPD_REJECT_ACTION_HOLD, 2);
	CHECK_STR(mavis_key_info(MAVIS_KEY_NON_SMTPD_REJECT_ACTION)->choices[1], "discard");
	mavis_arena_free(&a);
}

/* The main line (log_templ) of a captured log: from "notice: " to the end
   of its line, in *line (heap); NULL when there is none. */
static char *
main_line_of(const char *log, const char *start)
{
	const char *p = strstr(log, start);
	const char *eol;

	if (p == NULL)
		return NULL;
	eol = strchr(p, '\n');
	return strndup(p, eol ? (size_t)(eol - p) : strlen(p));
}

/* The line the main log line was before log_templ existed, printf by
   printf, from the verdict and what the test fed in: the default template
   must give it byte for byte. size and ms are the caller's (not visible
   from here), taken from the line under test. */
static void
old_main_line(const struct mavis_verdict *v, const char *tag, const char *path, const char *client,
	      const char *sender,
	      const char *const *rcpts, const char *qid, const char *mid, const char *score,
	      unsigned long long size, long ms, struct mavis_buf *out)
{
	bool some_blocked = false;
	const char *word;

	for (size_t i = 0; i < v->nrcpts; i++)
		if (v->rcpts[i].blocking.major >= 0)
			some_blocked = true;
	switch (v->action) {
	case MAVIS_ACTION_ACCEPT:
		word = some_blocked ? "Passed/Blocked" : "Passed";
		break;
	case MAVIS_ACTION_TEMPFAIL:
		word = "Blocked";
		break;
	case MAVIS_ACTION_REJECT:
		word = "Blocked";
		break;
	default:
		word = "?";
	}
	mavis_buf_printf(out, "%s %s {%s}, ", word, v->reason, tag);
	if (path && *path)
		mavis_buf_printf(out, "%s ", path);
	mavis_buf_printf(out, "[%s] <%s> ->", client, sender);
	for (size_t i = 0; rcpts[i]; i++)
		mavis_buf_printf(out, "%s <%s>", i ? "," : "", rcpts[i]);
	mavis_buf_printf(out, ", Queue-ID: %s, Message-ID: %s, mail_id: %s, Hits: %s, size: %llu, %ld ms",
			 qid, mid, v->mail_id, score, size, ms);
	if (v->internal_error)
		mavis_buf_printf(out, ", reply: %s %s %s", v->rcode, v->xcode, v->text);
}

/* Compare the default log_templ line with old_main_line. */
static void
check_default_line(const char *extra, const char *const *rcpts, const char *msg, size_t len,
		   const char *path, const char *start, const char *actions, int line)
{
	struct scan sc;
	char *log, *got;

	if (scan_msg_log(&sc, extra, rcpts, msg, len, &log) != 0)
		return;
	got = main_line_of(log, start);
	if (got == NULL) {
		test_fail(__FILE__, line, "no main line starting %s in: %s", start, log);
	} else {
		const char *sz = strstr(got, ", size: ");
		unsigned long long size = 0;
		long ms = -1;
		struct mavis_buf want = { 0 };

		if (sz == NULL || sscanf(sz, ", size: %llu, %ld ms", &size, &ms) != 2)
			test_fail(__FILE__, line, "no size and ms in: %s", got);
		old_main_line(sc.v, actions, path, "203.0.113.7", "sender@example.net", rcpts, "-",
			      "<lunch@example.net>", "-", size, ms, &want);
		if (strcmp(got, mavis_buf_str(&want)) != 0)
			test_fail(__FILE__, line, "default log_templ\n  got  %s\n  want %s", got,
				  mavis_buf_str(&want));
		mavis_buf_free(&want);
	}
	free(got);
	free(log);
	scan_done(&sc);
}

/* log_templ: the default gives the line as it was, byte for byte (clean,
   several recipients, a bank path, blocked ones, a failure with its reply);
   every macro expands; an empty template is no line; unknown macros and
   broken constructs are refused at load with file:line. */
static void
test_log_templ(void)
{
	static const char *const one[] = { "bob@example.com", NULL };
	static const char *const two[] = { "bob@example.com", "ann@example.org", NULL };
	char virus_msg[512];
	struct scan sc;
	char *log, *got;

	check_default_line(NULL, one, clean_msg, sizeof(clean_msg) - 1, "", "Passed CLEAN", "RelayedInbound",
			   __LINE__);
	/* amavisd's directions: ann@example.org is not local (OpenRelay from
	   outside, Outbound from our own network), bob@example.com is
	   (Inbound, Internal) */
	check_default_line(NULL, two, clean_msg, sizeof(clean_msg) - 1, "", "Passed CLEAN",
			   "RelayedInbound,RelayedOpenRelay", __LINE__);
	check_default_line("mynetworks = 203.0.113.0/24\n", two, clean_msg, sizeof(clean_msg) - 1,
			   "MYNETS", "Passed CLEAN", "RelayedInternal,RelayedOutbound", __LINE__);
	check_default_line("av_scanners = clamd:/nonexistent/clamd.sock\n", one, clean_msg,
			   sizeof(clean_msg) - 1, "", "Blocked virus scanning failed", "TempFailedInbound",
			   __LINE__);
	snprintf(virus_msg, sizeof(virus_msg),
		 "From: <sender@example.net>\r\nMessage-ID: <lunch@example.net>\r\n\r\n%s\r\n", eicar);
	check_default_line("av_scanners = clamav\nvirus_lovers_maps = ann@example.org\n", two, virus_msg,
			   strlen(virus_msg), "", "Passed/Blocked INFECTED", "RejectedInbound,RelayedOpenRelay",
			   __LINE__);
	check_default_line("av_scanners = clamav\n", two, virus_msg, strlen(virus_msg), "",
			   "Blocked INFECTED", "RejectedInbound,RejectedOpenRelay", __LINE__);

	/* Every macro. */
	if (scan_msg_log(&sc, "mynetworks = 203.0.113.0/24\n"
			 "log_templ = T %n|%i|%s|%R|%p|%a|%l|%Q|%m|%c|%h|[:actions_performed]|[:ccat]|"
			 "[:status]|[:internal_error]|[?%Q|noqid|%Q]|[? %l |no|yes|extra]|\\[x\\]\\||100%%|"
			 "[?%z||size]|[?%y||ms]|[?[:internal_error]|ok|bad]|[?%Q|[?%p|no path|%p]|q]\n",
			 two, clean_msg, sizeof(clean_msg) - 1, &log) == 0) {
		char want[512];

		snprintf(want, sizeof(want),
			 "T %s|%s|<sender@example.net>|<bob@example.com>, <ann@example.org>|MYNETS|"
			 "203.0.113.7|Y||<lunch@example.net>||mx.example.com|RelayedInternal,RelayedOutbound|CLEAN|Passed||"
			 "noqid|yes|[x]||100%%|size|ms|ok|MYNETS",
			 mavis_session_log_id(sc.s), sc.v->mail_id);
		got = main_line_of(log, "T ");
		CHECK(got != NULL);
		if (got != NULL && strcmp(got, want) != 0)
			test_fail(__FILE__, __LINE__, "macros\n  got  %s\n  want %s", got, want);
		free(got);
		free(log);
	}
	scan_done(&sc);

	/* Empty: no main line for clean mail; a failure still says why. */
	if (scan_msg_log(&sc, "log_templ = \"\"\n", one, clean_msg, sizeof(clean_msg) - 1, &log) == 0) {
		CHECK(strstr(log, "CLEAN") == NULL);
		free(log);
	}
	scan_done(&sc);
	if (scan_msg_log(&sc, "log_templ = \"\"\nav_scanners = clamd:/nonexistent/clamd.sock\n", one,
			 clean_msg, sizeof(clean_msg) - 1, &log) == 0) {
		CHECK(strstr(log, "reply: 451 4.7.1") != NULL);
		free(log);
	}
	scan_done(&sc);

	/* Refused at load, with file:line and where in the template. */
	static const struct {
		const char *templ, *want;
	} bad[] = {
		{ "Passed %X", "unknown macro %X at character 8" },
		{ "%s [:nosuch] x", "unknown macro [:nosuch] at character 4" },
		{ "[:ccat|major]", "[:name|...] takes no arguments here" },
		{ "[?%p|a", "unterminated [? at character 7" },
		{ "[:ccat", "unterminated [:name]" },
		{ "[~%s|x]", "[ starts [:name] or [?cond|a|b]" },
		{ "[%R|x|,]", "[ starts [:name]" },
		{ "size %", "a % at the end" },
		{ "x \\", "a backslash at the end" },
		{ "[?[?[?[?[?[?[?[?[?[?[?[?[?[?[?[?[?%p]]]]]]]]]]]]]]]]]", "nested too deep" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mavis_config *cfg = NULL;
		struct mavis_error err = { 0 };
		char conf[256];

		snprintf(conf, sizeof(conf), "myhostname = mx.example.com\nlog_templ = %s\n", bad[i].templ);
		if (mavis_config_load_string(conf, "t.conf", NULL, &cfg, &err) == 0) {
			test_fail(__FILE__, __LINE__, "log_templ = %s accepted", bad[i].templ);
			mavis_config_unref(&cfg);
			continue;
		}
		if (strstr(err.text, "t.conf:2: log_templ: ") != err.text || strstr(err.text, bad[i].want) == NULL)
			test_fail(__FILE__, __LINE__, "log_templ = %s: %s (want %s)", bad[i].templ, err.text,
				  bad[i].want);
	}
	/* In a bank too. */
	{
		struct mavis_config *cfg = NULL;
		struct mavis_error err = { 0 };

		CHECK(mavis_config_load_string("[bank B]\nlog_templ = %q\n", "t.conf", NULL, &cfg, &err) < 0);
		CHECK(strstr(err.text, "t.conf:2: log_templ: unknown macro %q") != NULL);
		mavis_config_unref(&cfg);
	}
}

/* log_level 0..5, amavisd's meaning: each level adds its lines and keeps
   those of the levels below; the main line is there at 0. */
static void
test_log_levels(void)
{
	static const char *const two[] = { "bob@example.com", "ann@example.org", NULL };
	static const struct {
		const char *text;
		int level;
	} lines[] = {
		{ "Passed CLEAN {RelayedInbound,RelayedOpenRelay}", 0 },
		{ "Checking: ", 1 },
		{ "TIMING [total ", 2 },
		{ "spam-tag, ", 99 },	/* no spam scanner here: never */
		{ "recipient <bob@example.com>: CLEAN, passed (local)", 3 },
		{ "recipient <ann@example.org>: CLEAN, passed", 3 },
		{ "connect from [203.0.113.7] (unknown), daemon mx", 4 },
		{ "MAIL FROM <sender@example.net>, bank path -", 4 },
		{ "RCPT TO <bob@example.com> (local)", 4 },
		{ "end of header: 5 fields", 5 },
		{ "end of message: ", 5 },
	};

	for (int level = 0; level <= 5; level++) {
		struct scan sc;
		char *log;

		if (scan_msg_log_at(&sc, NULL, two, clean_msg, sizeof(clean_msg) - 1, &log, level) != 0)
			continue;
		for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
			bool want = lines[i].level <= level, have = strstr(log, lines[i].text) != NULL;

			if (want != have)
				test_fail(__FILE__, __LINE__, "log_level %d: \"%s\" %s:\n%s", level, lines[i].text,
					  have ? "logged" : "missing", log);
		}
		/* Syslog priorities as amavisd: 1 info, 2..5 debug. */
		if (level >= 1)
			CHECK(strstr(log, "info: 1") != NULL || strstr(log, "info: 2") != NULL ||
			      strstr(log, "info: 3") != NULL || strstr(log, "info: 4") != NULL ||
			      strstr(log, "info: 5") != NULL || strstr(log, "info: 6") != NULL ||
			      strstr(log, "info: 7") != NULL || strstr(log, "info: 8") != NULL ||
			      strstr(log, "info: 9") != NULL);
		if (level >= 3)
			CHECK(strstr(log, "debug: ") != NULL && strstr(log, "info: ") != NULL);
		free(log);
		scan_done(&sc);
	}
	/* The syslog-level view maps onto the same scale. */
	mavis_log_set_level(MAVIS_LOG_WARNING);
	CHECK_INT(mavis_log_verbosity(), -1);
	mavis_log_set_level(MAVIS_LOG_DEBUG);
	CHECK_INT(mavis_log_verbosity(), 5);
	CHECK(mavis_log_get_level() == MAVIS_LOG_DEBUG);
	mavis_log_set_verbosity(1);
	CHECK(mavis_log_get_level() == MAVIS_LOG_INFO);
	mavis_log_set_verbosity(9);
	CHECK_INT(mavis_log_verbosity(), 5);
	mavis_log_set_level(MAVIS_LOG_ERR);
}

int
main(void)
{
	mavis_log_set_level(MAVIS_LOG_ERR);
	TEST_RUN(test_clean);
	TEST_RUN(test_timing_line);
	TEST_RUN(test_virus);
	TEST_RUN(test_scanner_failure);
	TEST_RUN(test_decode_budget);
	TEST_RUN(test_banned);
	TEST_RUN(test_unchecked);
	TEST_RUN(test_sizes);
	TEST_RUN(test_bad_headers);
	TEST_RUN(test_quarantine);
	TEST_RUN(test_session_reuse);
	TEST_RUN(test_reload_broken_db);
	TEST_RUN(test_hostile);
	TEST_RUN(test_verdict_shape);
	TEST_RUN(test_bucketing);
	TEST_RUN(test_log_templ);
	TEST_RUN(test_log_levels);
	return test_exit();
}
