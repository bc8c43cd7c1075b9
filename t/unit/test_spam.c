/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_spam.c - spam scanner clients (against fake servers), levels and X-Spam-* texts */

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mavis/buf.h>
#include <mavis/config.h>
#include <mavis/spam.h>

#include "harness.h"
#include "spam/spam_int.h"

/*
 * Expected texts below were produced by amavisd-new 2.13's own code
 * (Amavis::Out::EditHeader::hdr for the folding, Perl's 0+sprintf("%.3f")
 * for the numbers), run on the same inputs.
 */

static struct mavis_arena *A;

/* ---- number formatting ---- */

static void
test_fmt(void)
{
	static const struct {
		double x;
		const char *want;
	} cases[] = {
		{ 7.2, "7.2" }, { 7, "7" }, { -0.0004, "0" }, { 0, "0" }, { -0.0, "0" },
		{ 1000, "1000" }, { 2.0005, "2.001" }, { 6.31, "6.31" }, { -1.9, "-1.9" },
		{ 123456.7891, "123456.789" }, { 0.1 + 0.2, "0.3" }, { -12.3456, "-12.346" },
		{ 1e-7, "0" }, { 99.9999, "100" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_STR(mavis_spam_fmt_score(A, cases[i].x), cases[i].want);
	CHECK_STR(mavis_spam_fmt_num(A, 2.0), "2");
	CHECK_STR(mavis_spam_fmt_num(A, -999), "-999");
	CHECK_STR(mavis_spam_fmt_num(A, 6.31), "6.31");
	CHECK_STR(mavis_spam_fmt_num(A, 0.1), "0.1");
	CHECK_STR(mavis_spam_fmt_num(A, -0.0), "0");
}

/* ---- folding ---- */

static void
test_fold(void)
{
	static const struct {
		const char *body, *want;
	} cases[] = {
		{ "No,\n score=-1.9\n tagged_above=2\n required=6.31\n tests=[BAYES_00=-1.9]\n "
		  "autolearn=ham autolearn_force=no",
		  "No, score=-1.9 tagged_above=2 required=6.31\n tests=[BAYES_00=-1.9] "
		  "autolearn=ham autolearn_force=no" },
		{ "Yes,\n score=1006.5\n tagged_above=-999\n required=6.31\n tests=[DKIM_SIGNED=0.1,\n"
		  " DKIM_VALID=-0.1,\n GTUBE=1000,\n HTML_MESSAGE=0.001,\n MIME_HTML_ONLY=0.723,\n"
		  " RDNS_NONE=0.793,\n SPF_HELO_NONE=0.001,\n T_SCC_BODY_TEXT_LINE=-0.01,\n"
		  " URIBL_BLOCKED=0.001]\n autolearn=no autolearn_force=no",
		  "Yes, score=1006.5 tagged_above=-999 required=6.31\n tests=[DKIM_SIGNED=0.1, "
		  "DKIM_VALID=-0.1, GTUBE=1000, HTML_MESSAGE=0.001,\n MIME_HTML_ONLY=0.723, "
		  "RDNS_NONE=0.793, SPF_HELO_NONE=0.001,\n T_SCC_BODY_TEXT_LINE=-0.01, "
		  "URIBL_BLOCKED=0.001]\n autolearn=no autolearn_force=no" },
		{ "Yes,\n score=64\n tagged_above=2\n required=6.31\n BLACKLISTED\n tests=[AM.WBL=3,\n"
		  " A_VERY_LONG_RULE_NAME_THAT_GOES_ON_AND_ON_AND_ON_AND_ON_AND_ON_AND_ON_AND_ON=1.5,\n"
		  " B=2]\n autolearn=unavailable",
		  "Yes, score=64 tagged_above=2 required=6.31 BLACKLISTED\n tests=[AM.WBL=3,\n"
		  " A_VERY_LONG_RULE_NAME_THAT_GOES_ON_AND_ON_AND_ON_AND_ON_AND_ON_AND_ON_AND_ON=1.5,\n"
		  " B=2] autolearn=unavailable" },
		{ "No,\n score=x\n tagged_above=2\n required=6.31\n WHITELISTED\n tests=[]\n "
		  "autolearn=unavailable",
		  "No, score=x tagged_above=2 required=6.31 WHITELISTED tests=[]\n"
		  " autolearn=unavailable" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_STR(mavis_spam_fold(A, "X-Spam-Status", cases[i].body), cases[i].want);

	/* every line of a long list stays within 78 columns */
	char body[4096] = "Yes,\n score=99\n tests=[";
	for (int i = 0; i < 60; i++)
		snprintf(body + strlen(body), sizeof(body) - strlen(body), "%sRULE_%02d=1.%d",
			 i ? ",\n " : "", i, i % 10);
	strcat(body, "]\n autolearn=unavailable");
	const char *f = mavis_spam_fold(A, "X-Spam-Status", body);
	size_t col = strlen("X-Spam-Status: ");
	for (const char *p = f; *p; p++) {
		col = *p == '\n' ? 0 : col + 1;
		CHECK(col <= 78);
	}
}

/* ---- levels, categories and fields ---- */

static struct mavis_spam_test t_gtube[] = {
	{ "GTUBE", 1000, "1000" }, { "NO_RECEIVED", -0.0, "-0.0" },
};
static struct mavis_spam_test t_two[] = {
	{ "RULE1", 1.1, "1.1" }, { "RULE2", 2.2, "2.2" },
};

static struct mavis_spam_result
scan_ok(double score, struct mavis_spam_test *t, size_t n, const char *report)
{
	return (struct mavis_spam_result){ .status = MAVIS_SPAM_OK, .scanner = "spamd:x",
					   .score = score, .threshold = 5, .tests = t,
					   .n_tests = n, .report = report };
}

/* Debian amavisd defaults: tag 2, tag2 6.31, tag3 undef, kill 6.31,
   dsn_cutoff 10, quarantine_cutoff undef. */
static struct mavis_spam_levels
deb_levels(void)
{
	return (struct mavis_spam_levels){ 2.0, 6.31, NAN, 6.31, 10, NAN };
}

struct want_fields {
	const char *flag, *score, *level, *status, *report;
};

static void
check_fields(const struct mavis_spam_eval *e, const struct want_fields *w, int line)
{
	const char *names[] = { "X-Spam-Flag", "X-Spam-Score", "X-Spam-Level", "X-Spam-Status",
				"X-Spam-Report" };
	const char *vals[] = { w->flag, w->score, w->level, w->status, w->report };
	size_t k = 0;

	for (size_t i = 0; i < 5; i++) {
		if (vals[i] == NULL)
			continue;
		if (k >= e->n_fields) {
			test_fail(__FILE__, line, "missing field %s", names[i]);
			return;
		}
		if (strcmp(e->fields[k].name, names[i]) != 0 ||
		    strcmp(e->fields[k].value, vals[i]) != 0)
			test_fail(__FILE__, line, "field %zu: %s: \"%s\", want %s: \"%s\"", k,
				  e->fields[k].name, e->fields[k].value, names[i], vals[i]);
		k++;
	}
	if (k != e->n_fields)
		test_fail(__FILE__, line, "%zu fields, want %zu", e->n_fields, k);
}

static void
test_eval(void)
{
	struct mavis_spam_result gtube = scan_ok(1000, t_gtube, 2, NULL);
	struct mavis_spam_result spam72 = scan_ok(7.2, t_two, 2, NULL);
	struct mavis_spam_result ham = scan_ok(-1.9, NULL, 0, NULL);
	struct mavis_spam_result low = scan_ok(1, t_two, 2, NULL);
	struct mavis_spam_result failed = { .status = MAVIS_SPAM_FAILED, .error = "down" };
	struct mavis_spam_result none = scan_ok(0, NULL, 0, NULL);
	struct mavis_spam_hdr_opts o = { .hostname = "mx.example.org" };
	struct {
		int line;
		struct mavis_spam_rcpt r;
		enum mavis_spam_ccat ccat;
		bool tag, tag2, kill, dsn, quar;
		const char *subject;
		struct want_fields f;
	} cases[] = {
		{ __LINE__, { .scan = &spam72, .local = true, .levels = deb_levels(),
			      .subject_tag2 = "***SPAM*** " },
		  MAVIS_SPAM_CC_SPAM, true, true, true, false, false, "***SPAM*** ",
		  { "YES", "7.2", "*******",
		    "Yes, score=7.2 tagged_above=2 required=6.31 tests=[RULE1=1.1,\n"
		    " RULE2=2.2] autolearn=unavailable" , NULL } },
		{ __LINE__, { .scan = &gtube, .local = true, .levels = deb_levels(),
			      .subject_tag2 = "***SPAM*** ", .autolearn = "no autolearn_force=no" },
		  MAVIS_SPAM_CC_SPAM, true, true, true, true, false, "***SPAM*** ",
		  { "YES", "1000",
		    "****************************************************************",
		    "Yes, score=1000 tagged_above=2 required=6.31 tests=[GTUBE=1000,\n"
		    " NO_RECEIVED=-0.0] autolearn=no autolearn_force=no" , NULL } },
		/* ham below tag: no fields at all */
		{ __LINE__, { .scan = &ham, .local = true, .levels = deb_levels() },
		  MAVIS_SPAM_CC_CLEAN, false, false, false, false, false, NULL, { 0 } },
		/* tag level -999: ham is tagged, an empty X-Spam-Level */
		{ __LINE__, { .scan = &ham, .local = true,
			      .levels = { -999, 6.31, NAN, 6.31, 10, NAN } },
		  MAVIS_SPAM_CC_TAGGED, true, false, false, false, false, NULL,
		  { "NO", "-1.9", "",
		    "No, score=-1.9 tagged_above=-999 required=6.31 tests=[]\n"
		    " autolearn=unavailable" , NULL } },
		/* blacklisted: score at least 64, full bar, kill */
		{ __LINE__, { .scan = &low, .local = true, .blacklisted = true,
			      .levels = deb_levels() },
		  MAVIS_SPAM_CC_SPAM, true, true, true, true, false, NULL,
		  { "YES", "64", "****************************************************************",
		    "Yes, score=1 tagged_above=2 required=6.31 BLACKLISTED\n"
		    " tests=[RULE1=1.1, RULE2=2.2] autolearn=unavailable" , NULL } },
		/* whitelisted: tagged only 10 points above the tag level, never spam */
		{ __LINE__, { .scan = &gtube, .local = true, .whitelisted = true,
			      .levels = deb_levels() },
		  MAVIS_SPAM_CC_TAGGED, true, false, false, true, false, NULL,
		  { "NO", "0", "",
		    "No, score=1000 tagged_above=2 required=6.31 WHITELISTED\n"
		    " tests=[GTUBE=1000, NO_RECEIVED=-0.0] autolearn=unavailable" , NULL } },
		{ __LINE__, { .scan = &spam72, .local = true, .whitelisted = true,
			      .levels = deb_levels() },
		  MAVIS_SPAM_CC_CLEAN, false, false, false, false, false, NULL, { 0 } },
		/* bypassed: nothing */
		{ __LINE__, { .scan = &gtube, .local = true, .bypassed = true,
			      .levels = deb_levels(), .subject_tag2 = "***SPAM*** " },
		  MAVIS_SPAM_CC_CLEAN, false, false, false, true, false, NULL, { 0 } },
		/* not local: the category, no fields, no subject */
		{ __LINE__, { .scan = &gtube, .levels = deb_levels(), .subject_tag2 = "x" },
		  MAVIS_SPAM_CC_SPAM, true, true, true, true, false, NULL, { 0 } },
		/* scanners failed, tag level undefined: score=x, score 0 */
		{ __LINE__, { .scan = &failed, .local = true,
			      .levels = { NAN, 6.31, NAN, 6.31, NAN, NAN } },
		  MAVIS_SPAM_CC_TAGGED, true, false, false, false, false, NULL,
		  { "NO", "0", "",
		    "No, score=x required=6.31 tests=[] autolearn=unavailable" , NULL } },
		/* a sender boost without scanner tests: amavisd's trailing comma */
		{ __LINE__, { .scan = &none, .local = true, .boost = 3, .levels = deb_levels() },
		  MAVIS_SPAM_CC_TAGGED, true, false, false, false, false, NULL,
		  { "NO", "3", "***",
		    "No, score=3 tagged_above=2 required=6.31 tests=[AM.WBL=3, ]\n"
		    " autolearn=unavailable" , NULL } },
		/* kill below tag2: SPAM without the tag2 subject or Flag YES */
		{ __LINE__, { .scan = &low, .local = true, .boost = 4,
			      .levels = { 2, 6.31, NAN, 4, NAN, 3 },
			      .subject_tag = "[tag] ", .subject_tag2 = "[tag2] " },
		  MAVIS_SPAM_CC_SPAM, true, false, true, false, true, "[tag] ",
		  { "NO", "5", "*****",
		    "No, score=5 tagged_above=2 required=6.31 tests=[AM.WBL=4,\n"
		    " RULE1=1.1, RULE2=2.2] autolearn=unavailable" , NULL } },
		/* tag3 subject with macros */
		{ __LINE__, { .scan = &spam72, .local = true,
			      .levels = { 2, 6.31, 7, 20, NAN, NAN },
			      .subject_tag2 = "***SPAM*** ",
			      .subject_tag3 = "[_SCORE_/_REQD_ _YESNOCAPS_ _YESNO_ _HOSTNAME_ _X_ _U_] " },
		  MAVIS_SPAM_CC_SPAMMY3, true, true, false, false, false,
		  "[7.2/6.31 YES Yes mx.example.org _X_ ] ",
		  { "YES", "7.2", "*******",
		    "Yes, score=7.2 tagged_above=2 required=6.31 tests=[RULE1=1.1,\n"
		    " RULE2=2.2] autolearn=unavailable" , NULL } },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mavis_spam_eval e;
		int line = cases[i].line;

		if (mavis_spam_rcpt_eval(&cases[i].r, &o, A, &e) != 0) {
			test_fail(__FILE__, line, "eval failed");
			continue;
		}
		if (e.ccat != cases[i].ccat || e.tag != cases[i].tag || e.tag2 != cases[i].tag2 ||
		    e.kill != cases[i].kill || e.dsn_suppress != cases[i].dsn ||
		    e.quarantine_suppress != cases[i].quar)
			test_fail(__FILE__, line, "ccat %d tag %d tag2 %d kill %d dsn %d quar %d",
				  e.ccat, e.tag, e.tag2, e.kill, e.dsn_suppress,
				  e.quarantine_suppress);
		if ((e.subject_tag == NULL) != (cases[i].subject == NULL) ||
		    (e.subject_tag && strcmp(e.subject_tag, cases[i].subject) != 0))
			test_fail(__FILE__, line, "subject \"%s\", want \"%s\"",
				  e.subject_tag ? e.subject_tag : "(null)",
				  cases[i].subject ? cases[i].subject : "(null)");
		check_fields(&e, &cases[i].f, line);
	}

	/* level char: none, and a two-character bar that no longer fits */
	struct mavis_spam_result forty = scan_ok(40, NULL, 0, NULL);
	struct mavis_spam_rcpt r = { .scan = &forty, .local = true, .levels = deb_levels() };
	struct mavis_spam_hdr_opts o2 = { .level_char = "" };
	struct mavis_spam_eval e;

	CHECK_INT(mavis_spam_rcpt_eval(&r, &o2, A, &e), 0);
	CHECK_INT(e.n_fields, 3);
	o2.level_char = "**";
	CHECK_INT(mavis_spam_rcpt_eval(&r, &o2, A, &e), 0);
	CHECK_STR(e.fields[2].name, "X-Spam-Level");
	CHECK_STR(e.fields[2].value, "\n ********************************************************"
				     "************************");

	/* X-Spam-Report: sanitised, blank lines dropped, folds get a space */
	struct mavis_spam_result rep = scan_ok(
		1000, t_gtube, 2,
		"\nContent analysis details:   (1000.0 points, 5.0 required)\n\n"
		" pts rule name              description\n"
		"---- ---------------------- --------------------------------------------------\n"
		"-0.0 NO_RECEIVED            Informational: message has no Received headers\n"
		"1000 GTUBE                  BODY: Generic Test\t for Unsolicited Bulk Email\n  \n");
	r.scan = &rep;
	o2.level_char = NULL;
	o2.report_field = true;
	CHECK_INT(mavis_spam_rcpt_eval(&r, &o2, A, &e), 0);
	CHECK_INT(e.n_fields, 5);
	CHECK_STR(e.fields[4].name, "X-Spam-Report");
	CHECK_STR(e.fields[4].value,
		  "\n Content analysis details:   (1000.0 points, 5.0 required)\n"
		  " pts rule name              description\n"
		  " ---- ---------------------- --------------------------------------------------\n"
		  " -0.0 NO_RECEIVED            Informational: message has no Received headers\n"
		  " 1000 GTUBE                  BODY: Generic Test\\t for Unsolicited Bulk Email  ");
	CHECK_STR(e.tests, "GTUBE=1000,NO_RECEIVED=-0.0");

	CHECK(mavis_spam_is_spam_header("x-spam-status", 13));
	CHECK(mavis_spam_is_spam_header("X-Spam-Tests", 12));
	CHECK(!mavis_spam_is_spam_header("X-Spam-Statu", 12));
	CHECK(!mavis_spam_is_spam_header("X-Virus-Scanned", 15));
}

/* ---- per-recipient settings from the view ---- */

static void
test_lookup(void)
{
	struct mavis_config *cfg = NULL;
	struct mavis_error err = { 0 };
	const char *text =
		"mydomain = example.org\n"
		"spam_tag2_level_maps = inline:{vip@example.org=20}, 6.31\n"
		"spam_subject_tag3_maps = inline:{vip@example.org=[3]}\n"
		"bypass_spam_checks_maps = nospam@example.org\n"
		"whitelist_sender_maps = friend@example.com\n"
		"blacklist_sender_maps = .spammer.test\n"
		"score_sender_maps = inline:{boost@example.com=3.5, .example.net=-1}\n"
		"spam_level_char = #\n"
		"remove_existing_spam_headers = no\n";

	CHECK_INT(mavis_config_load_string(text, "spam.conf", NULL, &cfg, &err), 0);
	if (cfg == NULL) {
		fprintf(stderr, "%s\n", err.text);
		return;
	}
	struct mavis_view *v = mavis_view_new(cfg);
	static const struct {
		const char *rcpt;
		const char *senders[2];
		double tag2, boost;
		bool local, bypassed, wl, bl;
		const char *subj2, *subj3;
	} cases[] = {
		{ "bob@example.org", { "x@example.com", NULL }, 6.31, 0, true, false, false, false,
		  "***SPAM*** ", NULL },
		{ "vip@example.org", { "friend@example.com", NULL }, 20, 0, true, false, true, false,
		  "***SPAM*** ", "[3]" },
		{ "odd@example.org", { "a@mx.spammer.test", "boost@example.com" }, 6.31, 3.5, true,
		  false, false, true, "***SPAM*** ", NULL },
		{ "nospam@example.org", { "a@b.example.net", "c@example.net" }, 6.31, -2, true, true,
		  false, false, "***SPAM*** ", NULL },
		{ "remote@elsewhere.test", { "", NULL }, 6.31, 0, false, false, false, false,
		  "***SPAM*** ", NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mavis_spam_rcpt r = { 0 };
		size_t ns = cases[i].senders[1] ? 2 : 1;

		CHECK_INT(mavis_spam_rcpt_lookup(v, cases[i].rcpt, cases[i].senders, ns, A, &r, &err),
			  0);
		bool tag2_ok = isnan(cases[i].tag2) ? isnan(r.levels.tag2)
						    : r.levels.tag2 == cases[i].tag2;
		if (!tag2_ok || r.boost != cases[i].boost || r.local != cases[i].local ||
		    r.bypassed != cases[i].bypassed || r.whitelisted != cases[i].wl ||
		    r.blacklisted != cases[i].bl || r.remove_existing_headers ||
		    r.levels.tag != 2 || r.levels.kill != 6.31 || r.levels.dsn_cutoff != 10 ||
		    !isnan(r.levels.tag3) || !isnan(r.levels.quarantine_cutoff))
			test_fail(__FILE__, __LINE__, "%s: tag2 %g boost %g local %d bypass %d wl %d bl %d",
				  cases[i].rcpt, r.levels.tag2, r.boost, r.local, r.bypassed,
				  r.whitelisted, r.blacklisted);
		CHECK_STR(r.subject_tag2, cases[i].subj2);
		if (cases[i].subj3)
			CHECK_STR(r.subject_tag3, cases[i].subj3);
		else
			CHECK(r.subject_tag3 == NULL);
	}
	struct mavis_spam_hdr_opts o;
	mavis_spam_hdr_opts_from_view(v, &o);
	CHECK_STR(o.level_char, "#");
	CHECK(!o.report_field);
	mavis_view_free(&v);
	mavis_config_unref(&cfg);
}

/* ---- protocol parsers ---- */

static const char gtube_reply[] =
	"SPAMD/1.1 0 EX_OK\r\nContent-length: 510\r\nSpam: True ; 1000.0 / 5.0\r\n\r\n"
	"Spam detection software, running on the system \"vm\",\nhas identified this incoming "
	"email as possible spam.\n\nContent preview:  Hello XJS*C4JDBQADN1.NSBN3*2IDNEN\n   \n\n"
	"Content analysis details:   (1000.0 points, 5.0 required)\n\n"
	" pts rule name              description\n"
	"---- ---------------------- --------------------------------------------------\n"
	"-0.0 NO_RECEIVED            Informational: message has no Received headers\n"
	" 0.0 MSGID_SHORT            Message-ID is unusually short\n"
	"1000 GTUBE                  BODY: Generic Test for Unsolicited Bulk Email\n"
	"                            [2 lines of continuation that look like a rule]\n"
	" 1.5 A_RULE_NAME_LONGER_THAN_22_CHARS Its description\n"
	" 1.0 B_ONE                  amavisd shows it as 1\n\n";

static void
test_spamd_parse(void)
{
	struct mavis_spam_result r;
	struct mavis_error err;
	static const struct {
		const char *reply, *err;
	} bad[] = {
		{ "", "empty reply" },
		{ "HTTP/1.0 200 OK\r\n\r\n", "not a spamd reply" },
		{ "garbage\x01\x02", "not a spamd reply" },
		{ "SPAMD/1.0 76 Bad header line: (Content-Length mismatch)\r\n",
		  "spamd error: \"SPAMD/1.0 76 Bad header line" },
		{ "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 7 / 5\r\n", "reply header incomplete" },
		{ "SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\n\r\n", "reply without a Spam: header" },
		{ "SPAMD/1.1 0 EX_OK\r\nSpam: maybe\r\n\r\n", "bad Spam: header" },
		{ "SPAMD/1.1 0 EX_OK\r\nSpam: True ; lots / 5\r\n\r\n", "bad Spam: header" },
		{ "SPAMD/1.1 0 EX_OK\r\nSpam: True ; nan / 5\r\n\r\n", "bad Spam: header" },
		{ "SPAMD/1.1 0 EX_OK\r\nContent-length: 100\r\nSpam: True ; 7 / 5\r\n\r\nshort",
		  "reply truncated" },
		{ "SPAMD/1.1 x EX_OK\r\n\r\n", "bad status line" },
	};

	memset(&r, 0, sizeof(r));
	size_t len = strlen(gtube_reply);
	/* the Content-length above counts the body: fix it up here */
	char *buf = mavis_arena_strdup(A, gtube_reply);
	char *body = strstr(buf, "\r\n\r\n") + 4;
	char cl[32];
	snprintf(cl, sizeof(cl), "%3zu", strlen(body) % 1000);
	memcpy(strstr(buf, "510"), cl, 3);
	CHECK_INT(spamd_parse_reply(buf, len, A, &r, &err), 0);
	CHECK(r.score == 1000 && r.threshold == 5);
	CHECK_INT(r.n_tests, 5);
	if (r.n_tests == 5) {
		CHECK_STR(r.tests[0].name, "A_RULE_NAME_LONGER_THAN_22_CHARS");
		CHECK_STR(r.tests[0].score_text, "1.5");
		CHECK_STR(r.tests[1].name, "B_ONE");
		CHECK_STR(r.tests[1].score_text, "1");	/* as amavisd prints SA's 1.0 */
		CHECK_STR(r.tests[2].name, "GTUBE");
		CHECK(r.tests[2].score == 1000);
		CHECK_STR(r.tests[2].score_text, "1000");
		CHECK_STR(r.tests[3].name, "MSGID_SHORT");
		CHECK_STR(r.tests[3].score_text, "0.0");	/* rounded, not 0 */
		CHECK_STR(r.tests[4].score_text, "-0.0");
	}
	CHECK(r.report != NULL && strstr(r.report, "Content analysis") != NULL);

	/* a template without the table: the score, no tests */
	const char *plain = "SPAMD/1.1 0 EX_OK\r\nSpam: False ; -1.2 / 5.0\r\n\r\nall fine\n";
	memset(&r, 0, sizeof(r));
	CHECK_INT(spamd_parse_reply(plain, strlen(plain), A, &r, &err), 0);
	CHECK(r.score == -1.2 && r.n_tests == 0);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&r, 0, sizeof(r));
		mavis_error_clear(&err);
		int rc = spamd_parse_reply(bad[i].reply, strlen(bad[i].reply), A, &r, &err);
		if (rc != MAVIS_ERR_SCANNER || strstr(err.text, bad[i].err) == NULL)
			test_fail(__FILE__, __LINE__, "case %zu: rc %d \"%s\", want \"%s\"", i, rc,
				  err.text, bad[i].err);
	}
}

static void
test_rspamd_parse(void)
{
	struct mavis_spam_result r;
	struct mavis_error err;
	const char *ok = "{\"is_skipped\":false,\"score\":7.5,\"required_score\":15.0,"
			 "\"action\":\"add header\",\"symbols\":{"
			 "\"R_B\":{\"name\":\"R_B\",\"score\":2.5,\"metric_score\":2.5},"
			 "\"A=X,Y\":{\"name\":\"A=X,Y\",\"score\":5,\"options\":[\"x\"]},"
			 "\"ZERO\":{\"name\":\"ZERO\",\"score\":-0.0},"
			 "\"NOSCORE\":{\"name\":\"NOSCORE\"}},\"messages\":{}}\n";
	static const struct {
		const char *reply, *err;
	} bad[] = {
		{ "", "empty reply" },
		{ "garbage", "not JSON" },
		{ "{\"score\":1.0", "truncated" },
		{ "{\"score\":1.0} trailing", "bytes after" },
		{ "[1,2]", "not a JSON object" },
		{ "{\"action\":\"reject\"}", "without a numeric score" },
		{ "{\"score\":\"7\"}", "without a numeric score" },
		{ "{\"score\":1,\"symbols\":{\"X\":{\"score\":\"big\"}}}", "not a number" },
		{ "{\"error\":\"bad request\"}", "rspamd error: bad request" },
		{ "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],\"score\":1}",
		  "not JSON" },
	};

	memset(&r, 0, sizeof(r));
	CHECK_INT(rspamd_parse_reply(ok, strlen(ok), A, &r, &err), 0);
	CHECK(r.score == 7.5 && r.threshold == 15);
	CHECK_INT(r.n_tests, 4);
	if (r.n_tests == 4) {
		CHECK_STR(r.tests[0].name, "A_X_Y");
		CHECK_STR(r.tests[0].score_text, "5");
		CHECK_STR(r.tests[1].name, "NOSCORE");
		CHECK_STR(r.tests[1].score_text, "0");
		CHECK_STR(r.tests[2].name, "R_B");
		CHECK_STR(r.tests[2].score_text, "2.5");
		CHECK_STR(r.tests[3].score_text, "0");
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&r, 0, sizeof(r));
		mavis_error_clear(&err);
		int rc = rspamd_parse_reply(bad[i].reply, strlen(bad[i].reply), A, &r, &err);
		if (rc != MAVIS_ERR_SCANNER || strstr(err.text, bad[i].err) == NULL)
			test_fail(__FILE__, __LINE__, "case %zu: rc %d \"%s\", want \"%s\"", i, rc,
				  err.text, bad[i].err);
	}
}

/* ---- specs ---- */

static void
test_specs(void)
{
	static const struct {
		const char *spec, *err;	/* err NULL = accepted */
	} cases[] = {
		{ "spamd:inet:127.0.0.1:783", NULL },
		{ "spamd:inet:[::1]:783", NULL },
		{ "spamd:inet:localhost:783", NULL },
		{ "spamd:unix:/run/spamd.sock", NULL },
		{ "rspamd:http://127.0.0.1:11333", NULL },
		{ "rspamd:https://rspamd.example/checkv2", NULL },
		{ "native", NULL },
		{ "spamassassin", "unknown spam scanner" },
		{ "spamd:127.0.0.1:783", "want spamd:inet:HOST:PORT" },
		{ "spamd:inet:127.0.0.1", "want inet:HOST:PORT" },
		{ "spamd:inet:127.0.0.1:99999", "bad host or port" },
		{ "spamd:unix:relative.sock", "bad unix socket path" },
		{ "rspamd:ftp://x", "want rspamd:http" },
		{ "rspamd:http://", "bad rspamd URL" },
		{ "rspamd:http://x/?a=b", "bad rspamd URL" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *list[] = { cases[i].spec, NULL };
		struct mavis_spam_settings set;
		struct mavis_spam_scanners *s = NULL;
		struct mavis_error err = { 0 };
		int rc;

		mavis_spam_settings_init(&set);
		set.scanners = list;
		rc = mavis_spam_scanners_new(&set, &s, &err);
		if (cases[i].err == NULL) {
			if (rc != 0)
				test_fail(__FILE__, __LINE__, "%s: %s", cases[i].spec, err.text);
			else
				CHECK_STR(mavis_spam_scanner_spec(s, 0), cases[i].spec);
		} else if (rc != MAVIS_ERR_CONFIG || strstr(err.text, cases[i].err) == NULL) {
			test_fail(__FILE__, __LINE__, "%s: rc %d \"%s\", want \"%s\"",
				  cases[i].spec, rc, err.text, cases[i].err);
		}
		mavis_spam_scanners_free(&s);
		CHECK(s == NULL);
	}

	/* from a config snapshot */
	struct mavis_config *cfg = NULL;
	struct mavis_spam_scanners *s = NULL;
	struct mavis_error err = { 0 };

	CHECK_INT(mavis_config_load_string("spam_scanners = spamd:inet:127.0.0.1:783, "
					   "rspamd:http://127.0.0.1:11333\n"
					   "spam_scanner_timeout = 5s\n",
					   "spam.conf", NULL, &cfg, &err), 0);
	if (cfg != NULL) {
		CHECK_INT(mavis_spam_scanners_from_config(cfg, &s, &err), 0);
		CHECK_INT(mavis_spam_scanners_count(s), 2);
		mavis_spam_scanners_free(&s);
		mavis_config_unref(&cfg);
	}
	CHECK_INT(mavis_config_load_string("spam_scanners = native\n"
					   "spamassassin_rules_dirs = /nonexistent/sa-rules\n",
					   "spam.conf", NULL, &cfg, &err), 0);
	if (cfg != NULL) {
		CHECK_INT(mavis_spam_scanners_from_config(cfg, &s, &err), MAVIS_ERR_IO);
		CHECK(strstr(err.text, "spam_scanners: native spam scanner: /nonexistent/sa-rules: "
				       "cannot read directory") == err.text);
		mavis_config_unref(&cfg);
	}
	CHECK_INT(mavis_config_load_string("", "spam.conf", NULL, &cfg, &err), 0);
	if (cfg != NULL) {
		const struct mavis_value *v = mavis_config_get(cfg, MAVIS_KEY_SPAM_CHECK_SIZE_LIMIT);
		CHECK_INT(v->u.i, 512 * 1024);
		CHECK_STR(mavis_config_get(cfg, MAVIS_KEY_ON_SPAM_SCANNER_FAILURE)->text, "pass");
		CHECK_STR(mavis_config_get(cfg, MAVIS_KEY_SPAM_LEVEL_CHAR)->u.s, "*");
		CHECK(mavis_config_get(cfg, MAVIS_KEY_REMOVE_EXISTING_SPAM_HEADERS)->u.b);
		mavis_config_unref(&cfg);
	}
}

/* ---- fake servers ---- */

enum fake_mode {
	FAKE_REPLY,	/* read a request, answer with reply, keep the connection */
	FAKE_REPLY_CLOSE,	/* ... and close */
	FAKE_HANG,	/* accept, read, never answer */
	FAKE_FLOOD,	/* answer with endless bytes */
	FAKE_CLOSE,	/* accept and close at once */
};

struct fake {
	int lfd, port;
	enum fake_mode mode;
	const char *reply;
	pthread_t thr;
	atomic_int accepts, requests, stop;
	char last_req[4096];
};

/* Read one request: header up to the blank line, then Content-length bytes.
   Returns 1 for a request, 0 at EOF or stop. */
static int
fake_read_request(struct fake *f, int fd, char *keep, size_t cap)
{
	char buf[65536];
	size_t have = 0;
	long want = -1;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (atomic_load(&f->stop))
			return 0;
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = recv(fd, buf + have, sizeof(buf) - have - 1, 0);
		if (n <= 0)
			return 0;
		have += (size_t)n;
		buf[have] = '\0';
		char *he = strstr(buf, "\r\n\r\n");
		if (he != NULL && want < 0) {
			char *cl = strcasestr(buf, "Content-length:");
			want = cl && cl < he ? strtol(cl + 15, NULL, 10) : 0;
			want += (he + 4) - buf;
			snprintf(keep, cap, "%.*s", (int)(he - buf), buf);
		}
		if (want >= 0 && (long)have >= want)
			return 1;
		if (have >= sizeof(buf) - 1)
			have = 0;	/* a large body: only the header matters here */
	}
}

static void *
fake_main(void *arg)
{
	struct fake *f = arg;

	while (!atomic_load(&f->stop)) {
		struct pollfd p = { .fd = f->lfd, .events = POLLIN };
		if (poll(&p, 1, 100) <= 0)
			continue;
		int fd = accept(f->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		atomic_fetch_add(&f->accepts, 1);
		if (f->mode == FAKE_CLOSE) {
			close(fd);
			continue;
		}
		while (fake_read_request(f, fd, f->last_req, sizeof(f->last_req))) {
			atomic_fetch_add(&f->requests, 1);
			if (f->mode == FAKE_HANG) {
				while (!atomic_load(&f->stop))
					usleep(20000);
				break;
			}
			if (f->mode == FAKE_FLOOD) {
				char junk[8192];
				memset(junk, 'x', sizeof(junk));
				while (!atomic_load(&f->stop) &&
				       send(fd, junk, sizeof(junk), MSG_NOSIGNAL) > 0)
					;
				break;
			}
			send(fd, f->reply, strlen(f->reply), MSG_NOSIGNAL);
			if (f->mode == FAKE_REPLY_CLOSE)
				break;
		}
		close(fd);
	}
	return NULL;
}

static struct fake *
fake_start(enum fake_mode mode, const char *reply)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);

	f->mode = mode;
	f->reply = reply;
	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(f->lfd, 16) < 0 || getsockname(f->lfd, (struct sockaddr *)&sin, &sl) < 0) {
		perror("fake server");
		exit(2);
	}
	f->port = ntohs(sin.sin_port);
	pthread_create(&f->thr, NULL, fake_main, f);
	return f;
}

static void
fake_stop(struct fake **fp)
{
	struct fake *f = *fp;

	atomic_store(&f->stop, 1);
	pthread_join(f->thr, NULL);
	close(f->lfd);
	free(f);
	*fp = NULL;
}

/* A port nothing listens on (bound, then closed). */
static int
dead_port(void)
{
	struct fake *f = fake_start(FAKE_CLOSE, NULL);
	int port = f->port;

	fake_stop(&f);
	return port;
}

static struct mavis_spam_scanners *
scanners(unsigned timeout_ms, size_t max_reply, const char *s1, const char *s2)
{
	const char *list[] = { s1, s2, NULL };
	struct mavis_spam_settings set;
	struct mavis_spam_scanners *s = NULL;
	struct mavis_error err = { 0 };

	mavis_spam_settings_init(&set);
	set.scanners = list;
	set.timeout_ms = timeout_ms;
	set.max_reply = max_reply;
	if (mavis_spam_scanners_new(&set, &s, &err) < 0) {
		fprintf(stderr, "scanners: %s\n", err.text);
		exit(2);
	}
	return s;
}

static const char msg[] = "From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nHello\r\n";
static const char *const rcpts[] = { "b@example.org", "c@example.org" };

static struct mavis_spam_request
request(void)
{
	return (struct mavis_spam_request){
		.msg = msg, .len = sizeof(msg) - 1, .client_ip = "192.0.2.1",
		.helo = "client.example\r\nInjected: yes", .sender = "a@example.com",
		.rcpts = rcpts, .n_rcpts = 2, .queue_id = "4ABCDEF", .settings_id = "inbound",
		.spamd_user = "mavis",
	};
}

static const char spamd_ok[] =
	"SPAMD/1.1 0 EX_OK\r\nContent-length: 128\r\nSpam: True ; 7.2 / 5.0\r\n\r\n"
	" pts rule name              description\n"
	"---- ---------------------- --------------------------------------------------\n"
	" 7.2 SOME_RULE              yes\n\n";

static const char http_ok[] =
	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 63\r\n\r\n"
	"{\"score\":3.5,\"required_score\":15,\"symbols\":{\"X\":{\"score\":3.5}}}";

static void
scan_expect_fail(struct mavis_spam_scanners *s, const char *want, unsigned max_ms, int line)
{
	struct mavis_spam_request req = request();
	struct mavis_spam_result r;
	struct mavis_error err = { 0 };
	int rc = mavis_spam_scan(s, &req, A, &r, &err);

	if (rc != MAVIS_ERR_SCANNER || r.status != MAVIS_SPAM_FAILED || r.error == NULL ||
	    strstr(r.error, want) == NULL || r.n_tests != 0 || r.score != 0)
		test_fail(__FILE__, line, "rc %d status %d error \"%s\", want \"%s\"", rc,
			  r.status, r.error ? r.error : "(null)", want);
	if (strstr(err.text, "all spam scanners failed: ") != err.text)
		test_fail(__FILE__, line, "err \"%s\"", err.text);
	if (r.elapsed_ms > max_ms)
		test_fail(__FILE__, line, "took %u ms, want at most %u", r.elapsed_ms, max_ms);
}

static void
spec_for(char *buf, size_t cap, int kind, int port)
{
	if (kind == 0)
		snprintf(buf, cap, "spamd:inet:127.0.0.1:%d", port);
	else
		snprintf(buf, cap, "rspamd:http://127.0.0.1:%d", port);
}

static void
test_clients(void)
{
	char s1[128], s2[128];
	struct mavis_spam_request req = request();
	struct mavis_spam_result r;
	struct mavis_error err = { 0 };
	struct mavis_spam_scanners *s;
	struct fake *f;

	/* spamd answering */
	f = fake_start(FAKE_REPLY_CLOSE, spamd_ok);
	snprintf(s1, sizeof(s1), "spamd:inet:127.0.0.1:%d", f->port);
	s = scanners(2000, 0, s1, NULL);
	CHECK_INT(mavis_spam_scan(s, &req, A, &r, &err), 0);
	CHECK(r.status == MAVIS_SPAM_OK && r.score == 7.2 && r.n_tests == 1 && r.error == NULL);
	CHECK_STR(r.scanner, s1);
	CHECK(strstr(f->last_req, "REPORT SPAMC/1.5\r\n") == f->last_req);
	CHECK(strstr(f->last_req, "\r\nUser: mavis") != NULL);
	char cl[64];
	snprintf(cl, sizeof(cl), "Content-length: %zu\r\n",
		 sizeof(msg) - 1 + strlen("Return-Path: <a@example.com>\r\n"
					  "X-Envelope-To: <b@example.org>,\r\n <c@example.org>\r\n"));
	CHECK(strstr(f->last_req, cl) != NULL);
	mavis_spam_scanners_free(&s);
	fake_stop(&f);

	/* rspamd answering, twice over one kept-alive connection */
	f = fake_start(FAKE_REPLY, http_ok);
	snprintf(s1, sizeof(s1), "rspamd:http://127.0.0.1:%d", f->port);
	s = scanners(2000, 0, s1, NULL);
	for (int i = 0; i < 2; i++) {
		CHECK_INT(mavis_spam_scan(s, &req, A, &r, &err), 0);
		CHECK(r.status == MAVIS_SPAM_OK && r.score == 3.5 && r.n_tests == 1);
		if (r.status != MAVIS_SPAM_OK)
			fprintf(stderr, "rspamd scan: %s\n", r.error);
	}
	CHECK_INT(atomic_load(&f->requests), 2);
	CHECK_INT(atomic_load(&f->accepts), 1);
	CHECK(strstr(f->last_req, "POST /checkv2 HTTP/1.1\r\n") == f->last_req);
	CHECK(strstr(f->last_req, "\r\nRcpt: <b@example.org>\r\nRcpt: <c@example.org>\r\n"));
	CHECK(strstr(f->last_req, "\r\nFrom: <a@example.com>\r\n"));
	CHECK(strstr(f->last_req, "\r\nIP: 192.0.2.1\r\n"));
	CHECK(strstr(f->last_req, "\r\nQueue-Id: 4ABCDEF\r\n"));
	CHECK(strstr(f->last_req, "\r\nSettings-ID: inbound\r\n"));
	/* a CR LF from the client's HELO never starts a header line of ours */
	CHECK(strstr(f->last_req, "\r\nHelo: client.example??Injected: yes\r\n"));
	CHECK(strstr(f->last_req, "\r\nInjected:") == NULL);
	mavis_spam_scanners_free(&s);
	fake_stop(&f);

	/* connection refused, both kinds; the causes of both in the error */
	int dp = dead_port();
	snprintf(s1, sizeof(s1), "spamd:inet:127.0.0.1:%d", dp);
	snprintf(s2, sizeof(s2), "rspamd:http://127.0.0.1:%d", dp);
	s = scanners(2000, 0, s1, s2);
	scan_expect_fail(s, "Connection refused", 1000, __LINE__);
	CHECK_INT(mavis_spam_scan(s, &req, A, &r, &err), MAVIS_ERR_SCANNER);
	CHECK(strstr(r.error, s1) == r.error && strstr(r.error, s2) != NULL);
	mavis_spam_scanners_free(&s);

	/* failover: the dead one first, then one that answers */
	f = fake_start(FAKE_REPLY_CLOSE, spamd_ok);
	snprintf(s2, sizeof(s2), "spamd:inet:127.0.0.1:%d", f->port);
	s = scanners(2000, 0, s1, s2);
	CHECK_INT(mavis_spam_scan(s, &req, A, &r, &err), 0);
	CHECK(r.status == MAVIS_SPAM_OK && r.score == 7.2);
	CHECK_STR(r.scanner, s2);
	mavis_spam_scanners_free(&s);
	fake_stop(&f);

	/* hanging: accepts, never answers -> a timeout within the bound */
	for (int k = 0; k < 2; k++) {
		f = fake_start(FAKE_HANG, NULL);
		spec_for(s1, sizeof(s1), k, f->port);
		s = scanners(300, 0, s1, NULL);
		scan_expect_fail(s, k == 0 ? "timed out waiting for the reply" : "timed out", 1500,
				 __LINE__);
		mavis_spam_scanners_free(&s);
		fake_stop(&f);
	}

	/* garbage answers */
	static const struct {
		int kind;
		const char *reply, *want;
	} garbage[] = {
		{ 0, "hello world\r\n", "not a spamd reply" },
		{ 0, "SPAMD/1.1 0 EX_OK\r\nSpam: perhaps\r\n\r\n", "bad Spam: header" },
		{ 0, "SPAMD/1.0 65 EX_DATAERR\r\n", "spamd error" },
		{ 1, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "not JSON" },
		{ 1, "HTTP/1.1 500 Internal\r\nContent-Length: 4\r\n\r\noops", "HTTP status 500" },
		{ 1, "this is not http\r\n\r\n", "" },
	};
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		f = fake_start(FAKE_REPLY_CLOSE, garbage[i].reply);
		spec_for(s1, sizeof(s1), garbage[i].kind, f->port);
		s = scanners(1000, 0, s1, NULL);
		scan_expect_fail(s, garbage[i].want, 1500, __LINE__);
		mavis_spam_scanners_free(&s);
		fake_stop(&f);
	}

	/* closed at once, and a flood beyond max_reply */
	for (int k = 0; k < 2; k++) {
		f = fake_start(FAKE_CLOSE, NULL);
		spec_for(s1, sizeof(s1), k, f->port);
		s = scanners(1000, 0, s1, NULL);
		scan_expect_fail(s, "", 1500, __LINE__);
		mavis_spam_scanners_free(&s);
		fake_stop(&f);

		f = fake_start(FAKE_FLOOD, NULL);
		spec_for(s1, sizeof(s1), k, f->port);
		s = scanners(2000, 64 * 1024, s1, NULL);
		scan_expect_fail(s, k == 0 ? "reply larger than 65536 bytes" : "", 2500, __LINE__);
		mavis_spam_scanners_free(&s);
		fake_stop(&f);
	}

	/* an empty list */
	s = scanners(1000, 0, NULL, NULL);
	scan_expect_fail(s, "no spam scanners configured", 100, __LINE__);
	mavis_spam_scanners_free(&s);
}

/* ---- live scanners (t/e2e/test_spam_scanners.sh starts them) ---- */

static const char *
env_or_null(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* GTUBE, put together at run time like the EICAR string in test_av.c. */
static char *
gtube_msg(void)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf),
		"Received: from client.example (client.example [93.184.216.34])\r\n"
		"\tby mx.example.org (Postfix) with ESMTP id 4ABCDEF\r\n"
		"\tfor <b@example.org>; Mon, 1 Dec 2025 10:00:00 +0000 (UTC)\r\n"
		"From: Spammer <a@example.com>\r\nTo: b@example.org\r\n"
		"Subject: Buy now\r\nDate: Mon, 1 Dec 2025 10:00:00 +0000\r\n"
		"Message-ID: <gtube-1@example.com>\r\n\r\n"
		"This is the GTUBE, the\r\n\tGeneric\r\n\tTest for\r\n\tUnsolicited\r\n"
		"\tBulk\r\n\tEmail\r\n\r\n%s%s\r\n",
		"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-",
		"ANTI-UBE-TEST-EMAIL*C.34X");
	return buf;
}

static const char ham_msg[] =
	"Received: from client.example (client.example [93.184.216.34])\r\n"
	"\tby mx.example.org (Postfix) with ESMTP id 4ABCDF0\r\n"
	"\tfor <bob@example.org>; Mon, 1 Dec 2025 10:00:00 +0000 (UTC)\r\n"
	"From: Alice Example <alice@example.com>\r\n"
	"To: Bob Example <bob@example.org>\r\n"
	"Subject: Minutes of Tuesday's meeting\r\n"
	"Date: Mon, 1 Dec 2025 09:59:58 +0000\r\n"
	"Message-ID: <20251201095958.12345@client.example>\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
	"Hi Bob,\r\n\r\n"
	"here are the notes from Tuesday. We agreed to move the release to the\r\n"
	"second week of January, after the test machines are back from repair.\r\n"
	"Carol will update the schedule and send it around on Thursday.\r\n\r\n"
	"Could you check whether the build scripts still work with the new\r\n"
	"compiler version? Last time the warnings flag broke two of them.\r\n\r\n"
	"Thanks,\r\nAlice\r\n";

static struct mavis_spam_scanners *
live_list(const char *s1, const char *s2, unsigned timeout_ms)
{
	return scanners(timeout_ms, 0, s1, s2);
}

static int
live_scan(struct mavis_spam_scanners *s, const char *m, size_t len, struct mavis_spam_result *r)
{
	struct mavis_spam_request req = request();
	struct mavis_error err = { 0 };

	req.msg = m;
	req.len = len;
	req.helo = "client.example";
	req.spamd_user = NULL;
	req.settings_id = NULL;
	return mavis_spam_scan(s, &req, A, r, &err);
}

static void
live_verdict(const char *which, const struct mavis_spam_result *r, bool want_spam)
{
	struct mavis_spam_rcpt rc = { .scan = r, .local = true, .levels = deb_levels(),
				      .subject_tag2 = "***SPAM*** " };
	struct mavis_spam_eval e;

	CHECK_INT(mavis_spam_rcpt_eval(&rc, NULL, A, &e), 0);
	printf("%s: %s score=%g (%u ms) tests=%s\n", which, r->scanner, r->score, r->elapsed_ms,
	       e.tests);
	for (size_t i = 0; i < e.n_fields; i++)
		printf("  %s: %s\n", e.fields[i].name, e.fields[i].value);
	if (want_spam && (e.ccat != MAVIS_SPAM_CC_SPAM || r->score < 6.31))
		test_fail(__FILE__, __LINE__, "%s: not spam (score %g)", which, r->score);
	if (!want_spam && (e.kill || e.tag2))
		test_fail(__FILE__, __LINE__, "%s: ham called spam (score %g)", which, r->score);
}

static void
live_fail(const char *which, const char *spec, const char *want, unsigned timeout_ms)
{
	struct mavis_spam_scanners *s = live_list(spec, NULL, timeout_ms);
	struct mavis_spam_result r;
	int rc = live_scan(s, ham_msg, sizeof(ham_msg) - 1, &r);

	printf("%s: rc=%d status=%d %u ms error=%s\n", which, rc, r.status, r.elapsed_ms,
	       r.error ? r.error : "(null)");
	if (rc != MAVIS_ERR_SCANNER || r.status != MAVIS_SPAM_FAILED || r.n_tests != 0 ||
	    r.error == NULL || strstr(r.error, want) == NULL)
		test_fail(__FILE__, __LINE__, "%s: rc %d, error \"%s\", want \"%s\"", which, rc,
			  r.error ? r.error : "(null)", want);
	if (r.elapsed_ms > timeout_ms + 1000)
		test_fail(__FILE__, __LINE__, "%s: %u ms for a %u ms timeout", which,
			  r.elapsed_ms, timeout_ms);
	mavis_spam_scanners_free(&s);
}

struct live_thread {
	struct mavis_spam_scanners *s;
	int n, failed;
	struct mavis_arena *a;
};

static void *
live_thread_main(void *arg)
{
	struct live_thread *t = arg;

	for (int i = 0; i < t->n; i++) {
		struct mavis_spam_request req = request();
		struct mavis_spam_result r;
		struct mavis_error err = { 0 };

		req.msg = ham_msg;
		req.len = sizeof(ham_msg) - 1;
		req.spamd_user = NULL;
		req.settings_id = NULL;
		if (mavis_spam_scan(t->s, &req, t->a, &r, &err) != 0)
			t->failed++;
		mavis_arena_reset(t->a);
	}
	return NULL;
}

/* n threads x per scans of the ham message; prints the rate. */
static void
live_concurrent(const char *which, const char *spec, int n, int per)
{
	struct mavis_spam_scanners *s = live_list(spec, NULL, 30000);
	struct live_thread t[8];
	pthread_t th[8];
	uint64_t t0 = spam_now_ms();
	int failed = 0;

	for (int i = 0; i < n; i++) {
		t[i] = (struct live_thread){ .s = s, .n = per, .a = mavis_arena_new(0) };
		pthread_create(&th[i], NULL, live_thread_main, &t[i]);
	}
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		failed += t[i].failed;
		mavis_arena_free(&t[i].a);
	}
	uint64_t ms = spam_now_ms() - t0;
	printf("%s: %d threads x %d scans in %llu ms (%.1f ms/scan, %d failed)\n", which, n, per,
	       (unsigned long long)ms, (double)ms / (n * per), failed);
	CHECK_INT(failed, 0);
	mavis_spam_scanners_free(&s);
}

/* Up to max messages of a corpus split: every one scored, few misjudged. */
static void
live_corpus(const char *which, const char *spec, const char *dir, const char *split,
	    int max, bool spam)
{
	char path[2200], line[1024];
	struct mavis_spam_scanners *s = live_list(spec, NULL, 30000);
	int n = 0, hits = 0, failed = 0;
	uint64_t t0 = spam_now_ms();
	FILE *l;

	snprintf(path, sizeof(path), "%s/%s.list", dir, split);
	l = fopen(path, "r");
	if (l == NULL) {
		printf("%s: no %s, corpus part skipped\n", which, path);
		mavis_spam_scanners_free(&s);
		return;
	}
	while (n < max && fgets(line, sizeof(line), l)) {
		line[strcspn(line, "\n")] = '\0';
		snprintf(path, sizeof(path), "%s/%s", dir, line);
		FILE *f = fopen(path, "rb");
		if (f == NULL)
			continue;
		char *buf = mavis_arena_alloc(A, 600 * 1024);
		size_t len = fread(buf, 1, 600 * 1024, f);
		fclose(f);
		struct mavis_spam_result r;
		if (live_scan(s, buf, len, &r) != 0) {
			failed++;
			printf("  %s: %s\n", line, r.error);
		} else if ((r.score >= 6.31) == spam) {
			hits++;
		}
		n++;
		mavis_arena_reset(A);
	}
	fclose(l);
	uint64_t ms = spam_now_ms() - t0;
	printf("%s: %s: %d messages, %d judged %s, %d failed, %.1f ms/msg\n", which, split, n,
	       hits, spam ? "spam" : "ham", failed, n ? (double)ms / n : 0.0);
	CHECK_INT(failed, 0);
	/* local tests only: spam detection is weak, but ham must stay ham */
	if (!spam && hits < n - n / 10)
		test_fail(__FILE__, __LINE__, "%s: %d of %d ham messages above kill level", which,
			  n - hits, n);
	mavis_spam_scanners_free(&s);
}

static void
test_live(void)
{
	const char *spamd = env_or_null("SPAM_LIVE_SPAMD");
	const char *rspamd = env_or_null("SPAM_LIVE_RSPAMD");
	const char *dead = env_or_null("SPAM_LIVE_DEAD");
	const char *corpus = env_or_null("SPAM_LIVE_CORPUS");
	const char *specs[] = { spamd, rspamd };
	char *gtube = gtube_msg();

	for (int k = 0; k < 2; k++) {
		struct mavis_spam_scanners *s;
		struct mavis_spam_result r;

		if (specs[k] == NULL)
			continue;
		s = live_list(specs[k], NULL, 30000);
		CHECK_INT(live_scan(s, gtube, strlen(gtube), &r), 0);
		if (r.status == MAVIS_SPAM_OK) {
			live_verdict("GTUBE", &r, true);
			if (k == 0) {
				bool seen = false;
				for (size_t i = 0; i < r.n_tests; i++)
					seen = seen || strcmp(r.tests[i].name, "GTUBE") == 0;
				CHECK(seen);
			}
		} else {
			test_fail(__FILE__, __LINE__, "GTUBE: %s", r.error);
		}
		CHECK_INT(live_scan(s, ham_msg, sizeof(ham_msg) - 1, &r), 0);
		if (r.status == MAVIS_SPAM_OK)
			live_verdict("ham", &r, false);
		else
			test_fail(__FILE__, __LINE__, "ham: %s", r.error);

		/* a larger message (about 300 KB) goes through whole */
		struct mavis_buf big = { 0 };
		mavis_buf_puts(&big, ham_msg);
		for (int i = 0; big.len < 300 * 1024; i++)
			mavis_buf_printf(&big, "line %d of a long but ordinary text body.\r\n", i);
		CHECK_INT(live_scan(s, big.data, big.len, &r), 0);
		printf("300K: %s %s score=%g %u ms\n", r.scanner,
		       r.status == MAVIS_SPAM_OK ? "OK" : r.error, r.score, r.elapsed_ms);
		mavis_buf_free(&big);
		mavis_spam_scanners_free(&s);

		/* failover from a dead scanner */
		if (dead != NULL) {
			s = live_list(dead, specs[k], 30000);
			CHECK_INT(live_scan(s, gtube, strlen(gtube), &r), 0);
			CHECK(r.status == MAVIS_SPAM_OK && r.score >= 6.31);
			CHECK_STR(r.scanner, specs[k]);
			mavis_spam_scanners_free(&s);
		}
		live_concurrent(k == 0 ? "spamd concurrent" : "rspamd concurrent", specs[k], 4,
				k == 0 ? 5 : 50);
		if (corpus != NULL) {
			live_corpus(k == 0 ? "spamd" : "rspamd", specs[k], corpus, "easy-ham-1", 25,
				    false);
			live_corpus(k == 0 ? "spamd" : "rspamd", specs[k], corpus, "spam-1", 25, true);
		}
	}

	static const struct {
		const char *env, *want;
	} faults[] = {
		{ "SPAM_LIVE_DEAD", "Connection refused" },
		{ "SPAM_LIVE_DEAD_RSPAMD", "refused" },
		{ "SPAM_LIVE_HANG_SPAMD", "timed out waiting for the reply" },
		{ "SPAM_LIVE_HANG_RSPAMD", "timed out" },
		{ "SPAM_LIVE_GARBAGE_SPAMD", "not a spamd reply" },
		{ "SPAM_LIVE_GARBAGE_RSPAMD", "" },
		{ "SPAM_LIVE_JUNKJSON_RSPAMD", "not JSON" },
	};
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		const char *spec = env_or_null(faults[i].env);

		if (spec != NULL)
			live_fail(faults[i].env, spec, faults[i].want, 2000);
	}
}

/* ---- oracle mode (t/e2e/test_spam_amavis_format.sh) ----
   stdin lines "F<TAB>body" (body with \n escaped as backslash-n) and
   "N<TAB>number"; prints the folded X-Spam-Status body (escaped the same
   way) or 0+sprintf("%.3f") of the number, one line each. */
static int
oracle(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "N\t", 2) == 0) {
			printf("%s\n", mavis_spam_fmt_score(A, strtod(line + 2, NULL)));
		} else if (strncmp(line, "F\t", 2) == 0) {
			struct mavis_buf b = { 0 };
			for (const char *p = line + 2; *p; p++) {
				if (p[0] == '\\' && p[1] == 'n') {
					mavis_buf_putc(&b, '\n');
					p++;
				} else {
					mavis_buf_putc(&b, *p);
				}
			}
			for (const char *p = mavis_spam_fold(A, "X-Spam-Status", mavis_buf_str(&b)); *p; p++)
				fputs(*p == '\n' ? "\\n" : (char[2]){ *p, 0 }, stdout);
			putchar('\n');
			mavis_buf_free(&b);
		}
		mavis_arena_reset(A);
	}
	free(line);
	return 0;
}

int
main(int argc, char **argv)
{
	A = mavis_arena_new(0);
	if (argc > 1 && strcmp(argv[1], "oracle") == 0) {
		int rc = oracle();
		mavis_arena_free(&A);
		return rc;
	}
	if (argc > 1 && strcmp(argv[1], "live") == 0) {
		TEST_RUN(test_live);
		mavis_arena_free(&A);
		return test_exit();
	}
	TEST_RUN(test_fmt);
	TEST_RUN(test_fold);
	TEST_RUN(test_eval);
	TEST_RUN(test_lookup);
	TEST_RUN(test_spamd_parse);
	TEST_RUN(test_rspamd_parse);
	TEST_RUN(test_specs);
	TEST_RUN(test_clients);
	mavis_arena_free(&A);
	return test_exit();
}
