/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_badh.c - bad-header checks against amavisd-new 2.13 Validity.pm */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mavis/arena.h>
#include <mavis/badh.h>
#include <mavis/buf.h>
#include <mavis/headers.h>

#include "harness.h"

#define L(s) (s), (sizeof(s) - 1)
#define OK_HDRS "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nFrom: a@example.com\r\n"
#define DEF MAVIS_BADH_TESTS_DEFAULT

static struct mavis_badh_result *
run(struct mavis_arena *a, const char *block, size_t len, unsigned allowed,
    bool smtputf8, const char *mime)
{
	struct mavis_headers_limits lim = {.max_bytes = 64u * 1024u * 1024u};
	struct mavis_headers *h = mavis_headers_new(a, &lim);

	CHECK_INT(mavis_headers_parse_block(h, block, len, NULL), 0);
	return mavis_badh_check(h, allowed, smtputf8, mime, a);
}

/* One row: a header block, the switches, and what amavisd would report. */
struct badh_case {
	const char *name;
	const char *block;
	size_t len;
	unsigned allowed;
	bool smtputf8;
	const char *mime;
	int minor;
	size_t count;
	const char *first;	/* NULL: no finding */
	long first_index;
};

static const struct badh_case cases[] = {
	{"clean", L(OK_HDRS "Subject: hi\r\n\r\nbody"), DEF, false, NULL, 0, 0, NULL, 0},
	{"clean folded crlf", L(OK_HDRS "Subject: a\r\n b\r\n\tc\r\n\r\n"), DEF, false, NULL,
	 0, 0, NULL, 0},

	/* 7 missing */
	{"missing date", L("From: a@b\r\n"), DEF, false, NULL, 7, 1,
	 "Missing required header field: \"Date\"", -1},
	{"missing both", L("Subject: x\r\n"), DEF, false, NULL, 7, 2,
	 "Missing required header field: \"Date\"", -1},
	{"missing off", L("Subject: x\r\n"), DEF & ~MAVIS_BADH_T_MISSING, false, NULL, 0, 0,
	 NULL, 0},
	{"empty section", "", 0, DEF, false, NULL, 7, 2,
	 "Missing required header field: \"Date\"", -1},

	/* 8 multiple */
	{"duplicate subject", L(OK_HDRS "Subject: a\r\nsubject: b\r\n"), DEF, false, NULL, 8,
	 1, "Duplicate header field: \"Subject\"", -1},
	{"triple to", L(OK_HDRS "To: a\r\nTo: b\r\nTO: c\r\n"), DEF, false, NULL, 8, 1,
	 "Header field occurs more than once: \"To\" occurs 3 times", -1},
	{"duplicate with obs space", L(OK_HDRS "Subject : a\r\nSubject: b\r\n"), DEF, false,
	 NULL, 8, 1, "Duplicate header field: \"Subject\"", -1},
	{"duplicate received is fine", L(OK_HDRS "Received: a\r\nReceived: b\r\n"), DEF,
	 false, NULL, 0, 0, NULL, 0},
	{"multiple off", L(OK_HDRS "Subject: a\r\nSubject: b\r\n"),
	 DEF & ~MAVIS_BADH_T_MULTIPLE, false, NULL, 0, 0, NULL, 0},

	/* 6 syntax */
	{"no colon", L(OK_HDRS "Garbage line\r\n"), DEF, false, NULL, 6, 1,
	 "Invalid header field syntax: Garbage line\n", 2},
	{"dash dash name", L(OK_HDRS "--boundary: x\r\n"), DEF, false, NULL, 6, 1,
	 "Invalid header field syntax: --boundary: x\n", 2},
	{"space in name", L(OK_HDRS "Foo Bar: x\r\n"), DEF, false, NULL, 6, 1,
	 "Invalid header field syntax: Foo Bar: x\n", 2},
	{"empty name", L(OK_HDRS ": x\r\n"), DEF, false, NULL, 6, 1,
	 "Invalid header field syntax: : x\n", 2},
	{"leading wsp first line", L(" x: y\r\n" OK_HDRS), DEF, false, NULL, 6, 1,
	 "Invalid header field syntax:  x: y\n", 0},
	{"non-ascii name", L(OK_HDRS "F\xc3\xb6o: x\r\n"), DEF, false, NULL, 6, 1,
	 "Invalid header field name, contains non-ASCII char (char C3 hex): "
	 "F\\x{C3}\\x{B6}o: x", 2},
	{"invalid utf8 name", L(OK_HDRS "\xff\xfe: x\r\n"), DEF, false, NULL, 6, 1,
	 "Invalid header field name, contains non-ASCII char (char FF hex): "
	 "\\x{FF}\\x{FE}: x", 2},
	{"nul in name", L(OK_HDRS "X-\0: x\r\n"), DEF, false, NULL, 6, 1,
	 "Invalid header field syntax: X-\\x{00}: x\n", 2},
	{"syntax with 8bit sanitized", L(OK_HDRS "Gr\xfc\xdf\r\n"), DEF, false, NULL, 6, 1,
	 "Invalid header field syntax: Gr\\x{FC}\\x{DF}\\x{0A}", 2},
	/* amavisd skips every other test of a field without a name, even when
	   the syntax test is off. */
	{"syntax off hides the field", L(OK_HDRS "Garbage\0\xff\r\n"),
	 DEF & ~MAVIS_BADH_T_SYNTAX, false, NULL, 0, 0, NULL, 0},
	{"non-ascii name with syntax off is 8bit", L(OK_HDRS "F\xe9o: x\r\n"),
	 DEF & ~MAVIS_BADH_T_SYNTAX, false, NULL, 2, 1,
	 "Non-encoded non-ASCII data (and not UTF-8) (char E9 hex): F\\x{E9}o: x", 2},

	/* 4 empty */
	{"whitespace line", L(OK_HDRS "Subject: a\r\n \r\n b\r\n"), DEF, false, NULL, 4, 1,
	 "Improper folded header field made up entirely of whitespace (char 20 hex): "
	 "Subject: a\n \n b", 2},
	{"whitespace line tabs", L(OK_HDRS "Subject: a\r\n\t \t\r\n b\r\n"), DEF, false,
	 NULL, 4, 1,
	 "Improper folded header field made up entirely of whitespace (char 09 20 09 hex): "
	 "Subject: a\n\t \t\n b", 2},
	{"whitespace line last", L(OK_HDRS "Subject: a\n  \n"), DEF, false, NULL, 4, 1,
	 "Improper folded header field made up entirely of whitespace (char 20 20 hex): "
	 "Subject: a\n  ", 2},
	{"empty off", L(OK_HDRS "Subject: a\r\n \r\n b\r\n"), DEF & ~MAVIS_BADH_T_EMPTY,
	 false, NULL, 0, 0, NULL, 0},
	/* The shape of a real X-Amavis-Alert seen on a list archive. */
	{"sa report", L(OK_HDRS "X-Spam_report: Spam detection software, running on the "
			"system, has NOT identified this incoming email as spam. Contact "
			"t@localhost for details.\r\n \r\n Content preview: hello world\r\n"),
	 DEF, false, NULL, 4, 1,
	 "Improper folded header field made up entirely of whitespace (char 20 hex): "
	 "X-Spam_report: ...t@localhost for details.\n \n Content previ[...]", 2},

	/* 3 control */
	{"nul", L(OK_HDRS "Subject: a\0b\r\n"), DEF, false, NULL, 3, 1,
	 "Improper use of control character (char 00 hex): Subject: a\\x{00}b", 2},
	{"bare cr", L(OK_HDRS "Subject: a\rb\r\n"), DEF, false, NULL, 3, 1,
	 "Improper use of control character (char 0D hex): Subject: a\\x{0D}b", 2},
	{"cr before crlf", L(OK_HDRS "Subject: ab\r\r\n"), DEF, false, NULL, 3, 1,
	 "Improper use of control character (char 0D hex): Subject: ab\\x{0D}", 2},
	{"control off", L(OK_HDRS "Subject: a\0b\r\n"), DEF & ~MAVIS_BADH_T_CONTROL, false,
	 NULL, 0, 0, NULL, 0},
	{"long excerpt", L(OK_HDRS "Subject: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\0"
			   "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\r\n"),
	 DEF, false, NULL, 3, 1,
	 "Improper use of control character (char 00 hex): Subject: ..."
	 "aaaaaaaaaaaaaaaaaaaaaaaaa\\x{00}bbbbbbbbbbbbbbb[...]", 2},

	/* 2 8bit */
	{"latin1", L(OK_HDRS "Subject: caf\xe9\r\n"), DEF, false, NULL, 2, 1,
	 "Non-encoded non-ASCII data (and not UTF-8) (char E9 hex): Subject: caf\\x{E9}", 2},
	{"utf8 default ok", L(OK_HDRS "Subject: caf\xc3\xa9\r\n"), DEF, false, NULL, 0, 0,
	 NULL, 0},
	{"utf8 test on", L(OK_HDRS "Subject: caf\xc3\xa9 x\r\n"), MAVIS_BADH_T_ALL, false,
	 NULL, 2, 1,
	 "Non-encoded UTF-8 string in non-EAI mail (char C3 A9 hex): "
	 "Subject: caf\\x{C3}\\x{A9} x", 2},
	{"utf8 test on, smtputf8", L(OK_HDRS "Subject: caf\xc3\xa9\r\n"), MAVIS_BADH_T_ALL,
	 true, NULL, 0, 0, NULL, 0},
	{"c1 control", L(OK_HDRS "Subject: a\xc2\x85z\r\n"), DEF, true, NULL, 2, 1,
	 "UTF-8 string contains C1 Controls (char C2 85 hex): Subject: a\\x{C2}\\x{85}z", 2},
	{"c0 control in utf8", L(OK_HDRS "Subject: \xc3\xa9\x01z\r\n"), DEF, true, NULL, 2, 1,
	 "UTF-8 string contains C0 Controls (char 01 hex): Subject: \\x{C3}\\x{A9}\\x{01}z",
	 2},
	{"surrogate is not utf8", L(OK_HDRS "Subject: \xed\xa0\x80\r\n"), DEF, false, NULL,
	 2, 1, "Non-encoded non-ASCII data (and not UTF-8) (char ED hex): "
	 "Subject: \\x{ED}\\x{A0}\\x{80}", 2},
	{"8bit off", L(OK_HDRS "Subject: caf\xe9\r\n"), DEF & ~MAVIS_BADH_T_8BIT, false,
	 NULL, 0, 0, NULL, 0},
	{"backslash x brace escaped with 8bit", L(OK_HDRS "Subject: \\x{41}\xe9\r\n"), DEF,
	 false, NULL, 2, 1,
	 "Non-encoded non-ASCII data (and not UTF-8) (char E9 hex): "
	 "Subject: \\x{5C}x{41}\\x{E9}", 2},

	/* First failing test per field, in amavisd's order. */
	{"control before 8bit", L(OK_HDRS "Subject: \xe9\0\r\n"), DEF, false, NULL, 3, 1,
	 "Improper use of control character (char 00 hex): Subject: \\x{E9}\\x{00}", 2},
	{"empty before control", L(OK_HDRS "Subject: \0\r\n \r\n"), DEF, false, NULL, 4, 1,
	 "Improper folded header field made up entirely of whitespace (char 20 hex): "
	 "Subject: \\x{00}\n ", 2},
	{"syntax before all", L(OK_HDRS "--\0\xe9: \r\n \r\n"), DEF, false, NULL, 6, 1,
	 "Invalid header field syntax: --\\x{00}\\x{E9}: \\x{0A} \\x{0A}", 2},

	/* Several findings: the minor is the maximum, the first text stays. */
	{"max minor", L("Subject: a\0\r\nSubject: b\r\nX: caf\xe9\r\n"), DEF, false, NULL, 8,
	 5, "Improper use of control character (char 00 hex): Subject: a\\x{00}", 0},

	/* 1 mime */
	{"mime only", L(OK_HDRS), DEF, false, "Multipart boundary syntax invalid", 1, 1,
	 "MIME error: Multipart boundary syntax invalid", -1},
	{"mime after headers", L("From: x\r\n"), DEF, false, "bad", 7, 2,
	 "Missing required header field: \"Date\"", -1},
	{"mime off", L(OK_HDRS), DEF & ~MAVIS_BADH_T_MIME, false, "bad", 0, 0, NULL, 0},
	{"mime empty", L(OK_HDRS), DEF, false, "", 0, 0, NULL, 0},

	{"nothing allowed", L("Garbage\0\r\n \r\n"), 0, false, "bad", 0, 0, NULL, 0},
};

static void
test_table(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct badh_case *c = &cases[i];
		struct mavis_arena *a = mavis_arena_new(0);
		struct mavis_badh_result *r;

		test_current = c->name;
		r = run(a, c->block, c->len, c->allowed, c->smtputf8, c->mime);
		CHECK_INT(mavis_badh_minor(r), c->minor);
		CHECK_INT(mavis_badh_count(r), c->count);
		if (c->first == NULL) {
			CHECK(mavis_badh_first(r) == NULL);
			CHECK(mavis_badh_alert(r) == NULL);
		} else {
			CHECK_STR(mavis_badh_first(r), c->first);
			CHECK_INT(mavis_badh_nth(r, 0)->header_index, c->first_index);
			CHECK(strncmp(mavis_badh_alert(r), "BAD HEADER SECTION, ", 20) == 0);
		}
		for (size_t k = 0; k < mavis_badh_count(r); k++) {
			const char *t = mavis_badh_nth(r, k)->text;

			CHECK(t != NULL);
			/* Safe for a C string, a log line and a header. */
			for (; t && *t; t++)
				CHECK(*t == '\t' || *t == '\n' || (*t >= 0x20 && *t < 0x7f));
		}
		CHECK(mavis_badh_nth(r, mavis_badh_count(r)) == NULL);
		mavis_arena_free(&a);
	}
	test_current = "test_table";
}

/* Physical line length, CRLF excluded: 998 is fine, 999 is not. */
static void
test_long(void)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_buf b = {0};
	struct mavis_badh_result *r;
	char want[128];

	mavis_buf_puts(&b, OK_HDRS "Subject: ");
	for (int i = 0; i < 998 - 9; i++)
		mavis_buf_putc(&b, 'x');
	mavis_buf_puts(&b, "\r\n");
	r = run(a, b.data, b.len, DEF, false, NULL);
	CHECK_INT(mavis_badh_count(r), 0);

	mavis_buf_reset(&b);
	mavis_buf_puts(&b, OK_HDRS "Subject: ");
	for (int i = 0; i < 999 - 9; i++)
		mavis_buf_putc(&b, 'x');
	mavis_buf_puts(&b, "\r\n");
	r = run(a, b.data, b.len, DEF, false, NULL);
	CHECK_INT(mavis_badh_minor(r), MAVIS_BADH_LONG);
	snprintf(want, sizeof(want), "Header line longer than 998 characters: Subject: %.41s[...]",
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	CHECK_STR(mavis_badh_first(r), want);

	/* A long continuation line; folds keep lines short otherwise. */
	mavis_buf_reset(&b);
	mavis_buf_puts(&b, OK_HDRS "References: <a@b>\r\n ");
	for (int i = 0; i < 1200; i++)
		mavis_buf_putc(&b, i % 10 == 0 ? '<' : 'y');
	mavis_buf_puts(&b, "\r\n");
	r = run(a, b.data, b.len, DEF, false, NULL);
	CHECK_INT(mavis_badh_minor(r), MAVIS_BADH_LONG);
	CHECK_STR(mavis_badh_first(r), "Header line longer than 998 characters:  <yyyyyyyyy"
		  "<yyyyyyyyy<yyyyyyyyy<yyyyyyyyy<yyyyyyyy[...]");

	mavis_buf_reset(&b);
	mavis_buf_puts(&b, OK_HDRS "References: ");
	for (int i = 0; i < 3000; i++)
		mavis_buf_puts(&b, i % 50 == 49 ? "x\r\n " : "x");
	mavis_buf_puts(&b, "end\r\n");
	r = run(a, b.data, b.len, DEF, false, NULL);
	CHECK_INT(mavis_badh_count(r), 0);

	/* long off, control on: the excerpt must stay bounded. */
	mavis_buf_reset(&b);
	mavis_buf_puts(&b, OK_HDRS "Subject: ");
	for (int i = 0; i < 5000; i++)
		mavis_buf_putc(&b, 'x');
	mavis_buf_puts(&b, "\r\r\n");
	r = run(a, b.data, b.len, DEF & ~MAVIS_BADH_T_LONG, false, NULL);
	CHECK_INT(mavis_badh_minor(r), MAVIS_BADH_CONTROL);
	CHECK(strlen(mavis_badh_first(r)) < 200);
	mavis_buf_free(&b);
	mavis_arena_free(&a);
}

/* A 10 MB single field: a finding with a bounded text, in linear time. */
static void
test_huge(void)
{
	size_t big = 10u * 1024u * 1024u;
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_headers_limits lim = {.max_bytes = 64u * 1024u * 1024u};
	struct mavis_headers *h = mavis_headers_new(a, &lim);
	struct mavis_badh_result *r;
	char *v = malloc(big);
	clock_t t0 = clock();

	memset(v, 'x', big);
	v[big / 2] = '\0';
	CHECK_INT(mavis_headers_add(h, L("Date"), L(" x")), 0);
	CHECK_INT(mavis_headers_add(h, L("From"), L(" x")), 0);
	CHECK_INT(mavis_headers_add(h, "Subject", 7, v, big), 0);
	CHECK_INT(mavis_headers_add(h, "Garbage", 7, v, big), 0);
	v[0] = '\n';	/* "Garbage\n..." has no colon on its first line */
	CHECK_INT(mavis_headers_add(h, "X", 1, v, big), 0);
	r = mavis_badh_check(h, DEF, false, NULL, a);
	CHECK_INT(mavis_badh_minor(r), MAVIS_BADH_LONG);
	CHECK_INT(mavis_badh_count(r), 3);
	for (size_t i = 0; i < mavis_badh_count(r); i++)
		CHECK(strlen(mavis_badh_nth(r, i)->text) < 1100);
	r = mavis_badh_check(h, DEF & ~MAVIS_BADH_T_LONG, false, NULL, a);
	CHECK_INT(mavis_badh_minor(r), MAVIS_BADH_CONTROL);
	for (size_t i = 0; i < mavis_badh_count(r); i++)
		CHECK(strlen(mavis_badh_nth(r, i)->text) < 1100);

	/* The default byte limit stops such a field at the door. */
	h = mavis_headers_new(a, NULL);
	CHECK_INT(mavis_headers_add(h, "Subject", 7, v, big), MAVIS_ERR_LIMIT);
	CHECK((clock() - t0) / CLOCKS_PER_SEC < 20);
	free(v);
	mavis_arena_free(&a);
}

/* At most 100 field findings, then the section-level ones. */
static void
test_cap(void)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_buf b = {0};
	struct mavis_badh_result *r;

	for (int i = 0; i < 150; i++)
		mavis_buf_printf(&b, "X-%d: a\rb\r\n", i);
	mavis_buf_puts(&b, "Subject: a\r\nSubject: b\r\nDate: x\r\n");
	r = run(a, b.data, b.len, DEF, false, "mime");
	CHECK_INT(mavis_badh_count(r), 100 + 2 + 1);
	CHECK_INT(mavis_badh_nth(r, 99)->header_index, 99);
	CHECK_STR(mavis_badh_nth(r, 100)->text, "Missing required header field: \"From\"");
	CHECK_STR(mavis_badh_nth(r, 101)->text, "Duplicate header field: \"Subject\"");
	CHECK_STR(mavis_badh_nth(r, 102)->text, "MIME error: mime");
	CHECK_INT(mavis_badh_minor(r), MAVIS_BADH_MULTIPLE);
	CHECK_INT(mavis_badh_header_minor(r), MAVIS_BADH_MULTIPLE);
	CHECK(mavis_badh_has_mime_error(r));

	/* Every field bad and every section field duplicated: still bounded. */
	mavis_buf_reset(&b);
	for (int k = 0; k < 3; k++)
		mavis_buf_puts(&b, "Date: a\nFrom: a\nSender: a\nReply-To: a\nTo: a\nCc: a\n"
			       "Bcc: a\nSubject: a\nMessage-ID: a\nReferences: a\n"
			       "In-Reply-To: a\nMIME-Version: a\nContent-Type: a\n"
			       "Content-Transfer-Encoding: a\nContent-ID: a\n"
			       "Content-Description: a\nContent-Disposition: a\n"
			       "Auto-Submitted: a\n");
	for (int i = 0; i < 200; i++)
		mavis_buf_puts(&b, "bad\n");
	r = run(a, b.data, b.len, DEF, false, "m");
	CHECK_INT(mavis_badh_count(r), 100 + 18 + 1);
	mavis_buf_free(&b);
	mavis_arena_free(&a);
}

/* The milter path: values as received, LF or CRLF folds. */
static void
test_milter_fields(void)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_headers *h = mavis_headers_new(a, NULL);
	struct mavis_badh_result *r;

	CHECK_INT(mavis_headers_add(h, L("Date"), L(" Mon, 1 Jan 2024 00:00:00 +0000")), 0);
	CHECK_INT(mavis_headers_add(h, L("From"), L(" a@b")), 0);
	CHECK_INT(mavis_headers_add(h, L("Subject"), L(" a\n b")), 0);
	CHECK_INT(mavis_headers_add(h, L("X-Crlf"), L(" a\r\n b")), 0);
	r = mavis_badh_check(h, DEF, false, NULL, a);
	CHECK_INT(mavis_badh_count(r), 0);
	CHECK_INT(mavis_headers_add(h, L("X-Blank"), L(" a\n \n b")), 0);
	CHECK_INT(mavis_headers_add(h, L("X-Cr"), L(" a\r")), 0);
	r = mavis_badh_check(h, DEF, false, NULL, a);
	CHECK_INT(mavis_badh_count(r), 2);
	CHECK_INT(mavis_badh_nth(r, 0)->header_index, 4);
	CHECK_INT(mavis_badh_nth(r, 0)->minor, MAVIS_BADH_EMPTY);
	CHECK_INT(mavis_badh_nth(r, 1)->header_index, 5);
	CHECK_STR(mavis_badh_nth(r, 1)->text,
		  "Improper use of control character (char 0D hex): X-Cr: a\\x{0D}");
	CHECK_STR(mavis_badh_alert(r), "BAD HEADER SECTION, Improper folded header field "
		  "made up entirely of whitespace (char 20 hex): X-Blank: a  b");
	CHECK_INT(mavis_badh_minor(r), MAVIS_BADH_EMPTY);
	mavis_arena_free(&a);
}

/* Headers at end of headers, MIME error at end of message. */
static void
test_mime_later(void)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_badh_result *r = run(a, L(OK_HDRS), DEF, false, NULL);

	CHECK_INT(mavis_badh_minor(r), 0);
	CHECK(mavis_badh_alert(r) == NULL);
	mavis_badh_add_mime_error(r, DEF & ~MAVIS_BADH_T_MIME, "x");
	CHECK_INT(mavis_badh_count(r), 0);
	mavis_badh_add_mime_error(r, DEF, NULL);
	CHECK_INT(mavis_badh_count(r), 0);
	mavis_badh_add_mime_error(r, DEF, "Unexpected end\0ignored");
	mavis_badh_add_mime_error(r, DEF, "second call ignored");
	CHECK_INT(mavis_badh_count(r), 1);
	CHECK_INT(mavis_badh_minor(r), MAVIS_BADH_MIME);
	CHECK_INT(mavis_badh_header_minor(r), 0);
	CHECK_STR(mavis_badh_alert(r), "BAD HEADER SECTION, MIME error: Unexpected end");

	r = run(a, L("Subject: x\r\n"), DEF, false, NULL);
	mavis_badh_add_mime_error(r, DEF, "ctl\x01");
	CHECK_INT(mavis_badh_count(r), 3);
	CHECK_STR(mavis_badh_nth(r, 2)->text, "MIME error: ctl\\x{01}");
	CHECK_STR(mavis_badh_alert(r),
		  "BAD HEADER SECTION, Missing required header field: \"Date\"");
	mavis_arena_free(&a);
}

static void
test_reasons(void)
{
	static const struct {
		enum mavis_badh_minor minor;
		const char *reason;
		const char *status;
	} want[] = {
		{MAVIS_BADH_NONE, "BAD HEADER", "554 5.6.0"},
		{MAVIS_BADH_MIME, "BAD HEADER: MIME error", "554 5.6.0"},
		{MAVIS_BADH_8BIT, "BAD HEADER: nonencoded 8-bit character", "554 5.6.3"},
		{MAVIS_BADH_CONTROL, "BAD HEADER: contains invalid control character", "554 5.6.0"},
		{MAVIS_BADH_EMPTY, "BAD HEADER: line made up entirely of whitespace", "554 5.6.0"},
		{MAVIS_BADH_LONG, "BAD HEADER: line longer than RFC 5322 limit", "554 5.6.0"},
		{MAVIS_BADH_SYNTAX, "BAD HEADER: syntax error", "554 5.6.0"},
		{MAVIS_BADH_MISSING, "BAD HEADER: missing required header field", "554 5.6.0"},
		{MAVIS_BADH_MULTIPLE, "BAD HEADER: duplicate header field", "554 5.6.0"},
		{(enum mavis_badh_minor)42, "BAD HEADER", "554 5.6.0"},
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		CHECK_STR(mavis_badh_reason(want[i].minor), want[i].reason);
		CHECK_STR(mavis_badh_smtp_status(want[i].minor), want[i].status);
	}
}

static void
test_keys(void)
{
	CHECK_INT(mavis_badh_test_bit("syntax"), MAVIS_BADH_T_SYNTAX);
	CHECK_INT(mavis_badh_test_bit("8BIT"), MAVIS_BADH_T_8BIT);
	CHECK_INT(mavis_badh_test_bit("utf8"), MAVIS_BADH_T_UTF8);
	CHECK_INT(mavis_badh_test_bit("other"), MAVIS_BADH_T_OTHER);
	CHECK_INT(mavis_badh_test_bit("mime"), MAVIS_BADH_T_MIME);
	CHECK_INT(mavis_badh_test_bit("multiple"), MAVIS_BADH_T_MULTIPLE);
	CHECK_INT(mavis_badh_test_bit("nonsense"), 0);
	CHECK_INT(mavis_badh_test_bit(""), 0);
	CHECK(!(MAVIS_BADH_TESTS_DEFAULT & MAVIS_BADH_T_UTF8));
	CHECK(MAVIS_BADH_TESTS_DEFAULT & MAVIS_BADH_T_SYNTAX);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode hex from p up to a stop byte into b; returns the stop position. */
static const char *
unhex(struct mavis_buf *b, const char *p)
{
	mavis_buf_reset(b);
	while (hexval(p[0]) >= 0 && hexval(p[1]) >= 0) {
		mavis_buf_putc(b, (char)(hexval(p[0]) * 16 + hexval(p[1])));
		p += 2;
	}
	return p;
}

/*
 * Cases whose expected output was produced by amavisd-new 2.13's own
 * check_header_validity (Validity.pm run under perl on random sections).
 */
static void
test_amavisd_golden(void)
{
	FILE *fp = fopen(test_data_path("badh/amavisd-golden.tsv"), "r");
	char line[65536];
	struct mavis_buf block = {0}, text = {0};
	int ncases = 0;

	CHECK(fp != NULL);
	if (fp == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *f[5], *p = line, *save = NULL;
		unsigned allowed = 0;
		struct mavis_arena *a;
		struct mavis_badh_result *r;
		size_t k = 0;
		const char *q;
		int i;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		/* Split on every TAB: the block or the text list may be empty. */
		p[strcspn(p, "\n")] = '\0';
		for (i = 0; i < 5 && p != NULL; i++) {
			f[i] = p;
			p = strchr(p, '\t');
			if (p != NULL)
				*p++ = '\0';
		}
		if (i != 5) {
			CHECK(i == 5);
			continue;
		}
		for (char *t = strtok_r(f[0], ",", &save); t; t = strtok_r(NULL, ",", &save))
			allowed |= mavis_badh_test_bit(t);
		unhex(&block, f[2]);
		a = mavis_arena_new(0);
		r = run(a, block.data ? block.data : "", block.len, allowed, f[1][0] == '1',
			NULL);
		test_current = f[2];
		CHECK_INT(mavis_badh_header_minor(r), atoi(f[3]));
		for (q = f[4]; *q; k++) {
			q = unhex(&text, q);
			if (*q == ',')
				q++;
			CHECK(k < mavis_badh_count(r));
			if (k < mavis_badh_count(r))
				CHECK_STR(mavis_badh_nth(r, k)->text, mavis_buf_str(&text));
		}
		CHECK_INT(mavis_badh_count(r), k);
		mavis_arena_free(&a);
		ncases++;
	}
	fclose(fp);
	test_current = "test_amavisd_golden";
	CHECK(ncases >= 50);
	mavis_buf_free(&block);
	mavis_buf_free(&text);
}

int
main(void)
{
	TEST_RUN(test_table);
	TEST_RUN(test_long);
	TEST_RUN(test_huge);
	TEST_RUN(test_cap);
	TEST_RUN(test_milter_fields);
	TEST_RUN(test_mime_later);
	TEST_RUN(test_reasons);
	TEST_RUN(test_keys);
	TEST_RUN(test_amavisd_golden);
	return test_exit();
}
