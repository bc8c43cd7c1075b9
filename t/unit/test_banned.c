/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_banned.c - banned rule files and the check over decoded parts */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/arena.h>
#include <mavis/banned.h>
#include <mavis/parts.h>

#include "harness.h"
#include "testmsg.h"

static struct mavis_arena *arena;
static struct mavis_banned_rules *deb;	/* etc/banned-rules.conf */

static const struct mavis_decoded *
decode(const char *msg, size_t len)
{
	struct mavis_decoded *d = NULL;
	struct mavis_error err;

	if (mavis_decode_message(msg, len, NULL, arena, &d, &err) != 0) {
		test_fail(__FILE__, __LINE__, "decode: %s", err.text);
		return NULL;
	}
	return d;
}

static struct mavis_banned_rules *
rules(const char *text)
{
	struct mavis_banned_rules *r = NULL;
	struct mavis_error err;

	if (mavis_banned_load_text(text, strlen(text), "test", &r, &err) != 0)
		test_fail(__FILE__, __LINE__, "load: %s", err.text);
	return r;
}

/* Decode a message with one attachment and check it against r. */
static int
check_attachment(const struct mavis_banned_rules *r, const char *sets, const char *ctype,
		 const char *name, const void *data, size_t len, struct mavis_banned_result *res)
{
	struct mavis_buf m;
	const struct mavis_decoded *d;
	struct mavis_error err;
	int rc;

	test_mail_attachment(&m, ctype, name, data, len);
	d = decode(m.data, m.len);
	mavis_buf_free(&m);
	if (d == NULL)
		return -100;
	rc = mavis_banned_check(r, sets, d, arena, res, &err);
	if (rc < 0)
		printf("check: %s\n", err.text);
	return rc;
}

static void
test_load_default_file(void)
{
	char path[1024];
	struct mavis_error err;
	const char *src = getenv("MAVIS_SOURCE_DIR");

	snprintf(path, sizeof(path), "%s/etc/banned-rules.conf", src ? src : ".");
	CHECK_INT(mavis_banned_load_file(path, &deb, &err), 0);
	if (deb == NULL) {
		printf("load %s: %s\n", path, err.text);
		return;
	}
	CHECK(mavis_banned_has_set(deb, "DEFAULT"));
	CHECK(!mavis_banned_has_set(deb, "OTHER"));
	CHECK_INT(mavis_banned_set_size(deb, "DEFAULT"), 7);
}

/* The built-in rules are the shipped file, compiled in. */
static void
test_builtin_default(void)
{
	struct mavis_banned_rules *r = NULL;
	struct mavis_error err = { 0 };

	CHECK_INT(mavis_banned_load_default(&r, &err), 0);
	if (r == NULL) {
		printf("built-in: %s\n", err.text);
		return;
	}
	CHECK(mavis_banned_has_set(r, "DEFAULT"));
	CHECK_INT(mavis_banned_set_size(r, "DEFAULT"), mavis_banned_set_size(deb, "DEFAULT"));
	mavis_banned_free(&r);
}

static void
test_load_errors(void)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "/a(/", "test:1: regex /a(/: missing closing parenthesis at offset 2" },
		{ "\n/abc/q\n", "test:2: unknown regex flag 'q'" },
		{ "[bad name]\n", "test:1: bad set heading" },
		{ "/abc\n", "test:1: regex without closing /" },
		{ "/x/ => \"open\n", "test:1: unterminated quoted value" },
		{ "/x/ => 1 junk\n", "test:1: unexpected text after the rule" },
		{ "/x/ =>\n", "test:1: missing value after =>" },
		{ "abc\n", "test:1: a rule starts with / or ' (got 'a')" },
		{ "[A] x\n", "test:1: text after set heading" },
	};
	struct mavis_banned_rules *r;
	struct mavis_error err;
	char big[5000];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = NULL;
		CHECK_INT(mavis_banned_load_text(cases[i].text, strlen(cases[i].text), "test", &r,
						 &err),
			  MAVIS_ERR_CONFIG);
		CHECK(r == NULL);
		if (strncmp(err.text, cases[i].want, strlen(cases[i].want)) != 0)
			test_fail(__FILE__, __LINE__, "error \"%s\", want \"%s...\"", err.text,
				  cases[i].want);
	}
	memset(big, 'a', sizeof(big));
	big[0] = '/';
	CHECK_INT(mavis_banned_load_text(big, sizeof(big), "test", &r, &err), MAVIS_ERR_CONFIG);
	CHECK_INT(mavis_banned_load_file("/nonexistent/banned.conf", &r, &err), MAVIS_ERR_IO);

	/* comments, blank lines, CRLF, headings, both delimiters */
	r = rules("# c\r\n\r\n/a\\/b/i => 0 # allowed\r\n[X]\r\n'it\\'s'\r\n[DEFAULT]\r\n/c/\r\n");
	if (r) {
		CHECK_INT(mavis_banned_set_size(r, "DEFAULT"), 2);
		CHECK_INT(mavis_banned_set_size(r, "X"), 1);
		mavis_banned_free(&r);
		CHECK(r == NULL);
	}
	mavis_banned_free(&r);	/* NULL-safe */
}

static void
test_debian_names(void)
{
	static const struct {
		const char *name, *ctype;
		bool banned;
	} cases[] = {
		{ "invoice.pdf.exe", "application/octet-stream", true },
		{ "report.doc.scr", "application/octet-stream", true },
		{ "library.txt.dll.", "application/octet-stream", true },
		{ "readme.txt", "text/plain", false },
		{ "SETUP.EXE", "application/octet-stream", true },
		{ "script.vbs", "text/plain", true },
		{ "notes.exe.txt", "text/plain", false },
		{ "x{12345678-1234-1234-1234-123456789abc}", "text/plain", true },
		{ "data.bin", "application/x-msdownload", true },
		{ "data.bin", "Application/X-MSDOS-Program", true },
		{ "page.hta", "application/hta", true },
		{ ".exe", "text/plain", false },	/* "." needs a character before it */
	};

	if (deb == NULL)
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mavis_banned_result res;

		test_current = cases[i].name;
		CHECK_INT(check_attachment(deb, NULL, cases[i].ctype, cases[i].name, "text\n", 5,
					   &res),
			  0);
		CHECK_INT(res.banned, cases[i].banned);
	}
	test_current = "test_debian_names";
}

static void
test_debian_types(void)
{
	unsigned char pe[1024];
	size_t pelen = test_pe(pe, sizeof(pe), 0);
	struct mavis_banned_result res;

	if (deb == NULL)
		return;
	/* an executable under a harmless name: banned by its file(1) type */
	CHECK_INT(check_attachment(deb, NULL, "application/octet-stream", "photo.jpg", pe, pelen,
				   &res),
		  0);
	CHECK(res.banned);
	CHECK_STR(res.rule, "'^\\.(exe-ms)$'");
	CHECK_STR(res.key, ".exe-ms");
	CHECK_INT(res.rule_line, 38);
	CHECK_STR(res.reason, "application/octet-stream,.exe,.exe-ms,photo.jpg");
	CHECK_STR(res.smtp_text, "BANNED: application/octet-stream,.exe,.exe-ms,photo.jpg");
	CHECK_STR(res.path, "P=p003,L=1,M=multipart/mixed | "
			    "P=p002,L=1/2,M=application/octet-stream,T=exe,T=exe-ms,N=photo.jpg");
	CHECK_STR(res.path_keys, "multipart/mixed | application/octet-stream,.exe,.exe-ms,photo.jpg");
	CHECK_STR(res.set, "DEFAULT");
	CHECK_STR(res.value, "1");
	CHECK(!res.discard);
	CHECK_INT(res.nbanned, 1);
	CHECK(res.part && res.part->id == 2);

	/* a DLL keeps exe-ms (what amavisd sees with today's libmagic) */
	pelen = test_pe(pe, sizeof(pe), 1);
	CHECK_INT(check_attachment(deb, NULL, "application/octet-stream", "lib.bin", pe, pelen,
				   &res),
		  0);
	CHECK(res.banned);
	CHECK_STR(res.reason, "application/octet-stream,.exe,.exe-ms,.dll,lib.bin");
}

static void
zip_in_zip(struct mavis_buf *outer)
{
	unsigned char pe[1024];
	size_t pelen = test_pe(pe, sizeof(pe), 0);
	struct test_entry in[] = { { "readme.txt", "hi\n", 3, 0, 0 },
				   { "tool.exe", pe, pelen, 0, 0 } };
	struct mavis_buf inner;

	CHECK(test_archive("zip", NULL, NULL, NULL, in, 2, &inner) == 0);
	struct test_entry out[] = { { "inner.zip", inner.data, inner.len, 0, 0 } };
	CHECK(test_archive("zip", NULL, NULL, NULL, out, 1, outer) == 0);
	mavis_buf_free(&inner);
}

static void
test_exe_in_zip_in_zip(void)
{
	struct mavis_buf z;
	struct mavis_banned_result res;
	struct mavis_banned_rules *allow;

	if (deb == NULL)
		return;
	zip_in_zip(&z);
	CHECK_INT(check_attachment(deb, NULL, "application/zip", "x.zip", z.data, z.len, &res), 0);
	CHECK(res.banned);
	CHECK_STR(res.key, "tool.exe");
	CHECK_STR(res.reason, ".exe,.exe-ms,tool.exe");
	CHECK_STR(res.path, "P=p003,L=1,M=multipart/mixed | P=p002,L=1/2,M=application/zip,T=zip,N=x.zip"
			    " | P=p004,L=1/2/1,T=zip,N=inner.zip | P=p006,L=1/2/1/2,T=exe,T=exe-ms,N=tool.exe");
	CHECK_STR(res.path_keys, "multipart/mixed | application/zip,.zip,x.zip | .zip,inner.zip | "
				 ".exe,.exe-ms,tool.exe");
	CHECK(res.part && res.part->level == 3);

	/* amavisd: an allow rule listed first matches the zip's own key, so
	   anything inside a zip passes */
	allow = rules("[DEFAULT]\n'^\\.(zip|rar)$' => 0\n'.\\.exe$'i\n'^\\.exe-ms$'\n");
	if (allow) {
		CHECK_INT(check_attachment(allow, NULL, "application/zip", "x.zip", z.data, z.len,
					   &res),
			  0);
		CHECK(!res.banned);
		mavis_banned_free(&allow);
	}
	mavis_buf_free(&z);
}

static void
test_values_comments_sets(void)
{
	struct mavis_banned_rules *r = rules(
		"[DEFAULT]\n"
		"/(?# executable)\\.(exe)$/i => DISCARD\n"
		"[QUOTE]\n"
		"/^(.*)\\.txt$/ => \"text file $1 (${1})\"\n"
		"[ZERO]\n"
		"/./ => 0\n"
		"[UNDEC]\n"
		"/^UNDECIPHERABLE$/\n");
	struct mavis_banned_result res;

	if (r == NULL)
		return;
	CHECK_INT(check_attachment(r, NULL, "text/plain", "a.exe", "x", 1, &res), 0);
	CHECK(res.banned && res.discard);
	CHECK_STR(res.value, "DISCARD");
	CHECK_STR(res.reason, "executable:text/plain,.dat,a.exe");

	CHECK_INT(check_attachment(r, "QUOTE", "text/plain", "notes.txt", "x", 1, &res), 0);
	CHECK(res.banned && !res.discard);
	CHECK_STR(res.value, "text file notes (notes)");

	/* sets are tried in the order named; the first match decides */
	CHECK_INT(check_attachment(r, "ZERO, DEFAULT", "text/plain", "a.exe", "x", 1, &res), 0);
	CHECK(!res.banned);
	CHECK_INT(check_attachment(r, "DEFAULT ZERO", "text/plain", "a.exe", "x", 1, &res), 0);
	CHECK(res.banned);

	/* unknown names are skipped and reported */
	CHECK_INT(check_attachment(r, "NOPE,DEFAULT", "text/plain", "a.exe", "x", 1, &res), 0);
	CHECK(res.banned);
	CHECK_STR(res.unknown_set, "NOPE");
	CHECK_INT(check_attachment(r, "NOPE", "text/plain", "a.exe", "x", 1, &res), 0);
	CHECK(!res.banned);

	/* UNDECIPHERABLE: an encrypted member */
	{
		struct test_entry e[] = { { "a.txt", "x", 1, 0, 0 } };
		struct mavis_buf z;

		CHECK(test_archive("zip", NULL, "zip:encryption=zipcrypt", "pw", e, 1, &z) == 0);
		CHECK_INT(check_attachment(r, "UNDEC", "application/zip", "e.zip", z.data, z.len,
					   &res),
			  0);
		CHECK(res.banned);
		CHECK_STR(res.reason, "a.txt,UNDECIPHERABLE");
		CHECK_STR(res.path, "P=p003,L=1,M=multipart/mixed | "
				    "P=p002,L=1/2,M=application/zip,T=zip,N=e.zip | "
				    "P=p004,L=1/2/1,N=a.txt,A=U,A=C");
		mavis_buf_free(&z);
	}
	mavis_banned_free(&r);
}

static void
test_counts_and_limits(void)
{
	struct mavis_banned_rules *r = rules("/\\.bad$/\n/^(a+)+$/\n");
	struct mavis_banned_result res;
	const struct mavis_decoded *d;
	struct mavis_error err;
	char name[1100];
	struct mavis_buf m = { 0 };

	if (r == NULL)
		return;
	/* every banned leaf is counted; the first in tree order is reported */
	static const char three[] = "From: a@b\nContent-Type: multipart/mixed; boundary=b\n\n"
				    "--b\nContent-Type: text/plain; name=one.bad\n\nx\n"
				    "--b\nContent-Type: text/plain; name=ok.txt\n\nx\n"
				    "--b\nContent-Type: text/plain; name=two.bad\n\nx\n--b--\n";

	d = decode(three, sizeof(three) - 1);
	if (d != NULL) {
		CHECK_INT(mavis_banned_check(r, NULL, d, arena, &res, &err), 0);
		CHECK_INT(res.nbanned, 2);
		CHECK_STR(res.key, "one.bad");
	}
	/* catastrophic backtracking is stopped, and the caller is told */
	memset(name, 'a', 1000);
	strcpy(name + 1000, "!");
	mavis_buf_printf(&m, "From: a@b\nContent-Type: text/plain; name=\"%s\"\n\nx\n", name);
	d = decode(m.data, m.len);
	mavis_buf_free(&m);
	if (d != NULL) {
		CHECK_INT(mavis_banned_check(r, NULL, d, arena, &res, &err), MAVIS_ERR_LIMIT);
		CHECK(strstr(err.text, "/^(a+)+$/") != NULL);
	}
	/* long reasons: the SMTP text stays short */
	mavis_banned_free(&r);
	r = rules("/x$/\n");
	memset(name, 'y', 900);
	strcpy(name + 900, "x");
	m = (struct mavis_buf){ 0 };
	mavis_buf_printf(&m, "From: a@b\nContent-Type: text/plain; name=\"%s\"\n\nx\n", name);
	d = decode(m.data, m.len);
	mavis_buf_free(&m);
	if (d != NULL && r != NULL) {
		CHECK_INT(mavis_banned_check(r, NULL, d, arena, &res, &err), 0);
		CHECK(res.banned);
		CHECK(strlen(res.smtp_text) <= 8 + 400 + 3);
		CHECK(strlen(res.reason) > 900);
	}
	/* no rules, no parts: never banned */
	CHECK_INT(mavis_banned_check(NULL, NULL, d, arena, &res, &err), 0);
	CHECK(!res.banned);
	mavis_banned_free(&r);
}

/* Which rule files make the decoder run libmagic's text tests. */
static void
test_sees_text_types(void)
{
	static const struct {
		const char *text;
		bool sees;
	} cases[] = {
		/* etc/banned-rules.conf: only exe-ms, a binary signature */
		{ "[DEFAULT]\n'\\.[^./]*\\.(exe|vbs|pif|scr|bat|cmd|com|cpl|dll)\\.?$'i\n"
		  "'^application/x-msdownload$'i\n'.\\.(exe|vbs|pif|scr|bat|cmd|com|cpl)$'i\n"
		  "'^\\.(exe-ms)$'\n", false },
		{ "'^\\.(exe-ms|dll|zip|rar)$'\n", false },
		{ "'^\\.html$'\n", true },
		{ "'^\\.(asc|txt)$' => 0\n", true },	/* an allow rule decides too */
		{ "'^\\.exe$'\n", true },		/* "exe" can come from text tests */
		{ "[OTHER]\n'^\\.dat$'\n", true },
		{ "'.'\n", true },
		{ "'\\.pdf$'i\n", false },
	};

	CHECK(!mavis_banned_sees_text_types(NULL));
	CHECK(!mavis_banned_sees_text_types(deb));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mavis_banned_rules *r = rules(cases[i].text);

		CHECK(r != NULL);
		CHECK_INT(mavis_banned_sees_text_types(r), cases[i].sees);
		mavis_banned_free(&r);
	}
}

int
main(void)
{
	arena = mavis_arena_new(0);
	TEST_RUN(test_load_default_file);
	TEST_RUN(test_builtin_default);
	TEST_RUN(test_load_errors);
	TEST_RUN(test_debian_names);
	TEST_RUN(test_debian_types);
	TEST_RUN(test_exe_in_zip_in_zip);
	TEST_RUN(test_values_comments_sets);
	TEST_RUN(test_counts_and_limits);
	TEST_RUN(test_sees_text_types);
	mavis_banned_free(&deb);
	mavis_arena_free(&arena);
	mavis_decode_thread_done();
	return test_exit();
}
