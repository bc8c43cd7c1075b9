/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_sa_urirules.c - native SpamAssassin rules: the message's URI list and uri rules */

#include <stdlib.h>
#include <string.h>

#include <mavis/arena.h>
#include <mavis/sa.h>

#include "harness.h"
#include "sa/sa_int.h"

static bool
hit(const struct mavis_spam_result *res, const char *name)
{
	for (size_t i = 0; i < res->n_tests; i++)
		if (strcmp(res->tests[i].name, name) == 0)
			return true;
	return false;
}

static bool
has_uri(const struct sa_msg *m, const char *u)
{
	for (size_t i = 0; i < m->n_uris; i++)
		if (strcmp(m->uris[i], u) == 0)
			return true;
	return false;
}

static const char rules_text[] =
	"util_rb_tld com org net\n"
	"util_rb_2tld co.uk\n"
	"redirector_pattern m'^https?://r\\.example\\.com/go\\?.*(?<=[?&])to=(.*?)(?:$|[&\\#])'i\n"
	"uri URI_IP m{^https?://\\d+\\.\\d+\\.\\d+\\.\\d+\\b}i\n"
	"score URI_IP 1\n"
	"uri URI_HTML_HREF m{^http://html\\.example\\.org/}\n"
	"score URI_HTML_HREF 1\n"
	"uri URI_SCHEMELESS m{^http://bare\\.example\\.net/path}\n"
	"score URI_SCHEMELESS 1\n"
	"uri URI_BAD_TLD m{example\\.zz}\n"
	"score URI_BAD_TLD 1\n"
	"uri URI_MAIL m{^mailto:someone\\@example\\.com$}\n"
	"score URI_MAIL 1\n"
	"uri URI_REDIR_TARGET m{^http://target\\.example\\.org/}\n"
	"score URI_REDIR_TARGET 1\n"
	"uri URI_DECODED m{^http://www\\.example\\.com/}\n"
	"score URI_DECODED 1\n"
	"uri URI_NONE m{nowhere\\.example}\n"
	"score URI_NONE 1\n"
	"body URI_TRUNC eval:check_uri_truncated()\n"
	"score URI_TRUNC 1\n";

static const char msg_text[] =
	"From: a@example.com\nTo: b@example.org\nSubject: links\n"
	"MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"b\"\n\n"
	"--b\nContent-Type: text/plain\n\n"
	"see http://203.0.113.9/x and bare.example.net/path and nope.example.zz/x\n"
	"write to someone@example.com or go http://r.example.com/go?a=1&to=http://target.example.org/p&b=2\n"
	"encoded http://%77%77%77.example.com/x\n"
	"--b\nContent-Type: text/html\n\n"
	"<html><body><a href=\"http://html.example.org/a\">here</a></body></html>\n"
	"--b--\n";

static void
test_uri_rules(void)
{
	struct mavis_sa_rules *r = NULL;
	struct mavis_error err = { 0 };
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_spam_result res;
	struct sa_msg m;

	CHECK_INT(mavis_sa_rules_from_text(rules_text, strlen(rules_text), &r, &err), 0);
	if (r == NULL) {
		test_fail(__FILE__, __LINE__, "%s", err.text);
		mavis_arena_free(&a);
		return;
	}
	CHECK(r->want_uris);
	CHECK_INT(r->n_redirs, 1);
	CHECK_INT(r->n_unsupported, 0);
	CHECK_INT(mavis_sa_check(r, msg_text, strlen(msg_text), a, &res, &err), 0);
	static const char *const want_hit[] = {
		"URI_IP", "URI_HTML_HREF", "URI_SCHEMELESS", "URI_MAIL", "URI_REDIR_TARGET",
		"URI_DECODED", NULL
	};
	static const char *const want_miss[] = { "URI_BAD_TLD", "URI_NONE", "URI_TRUNC", NULL };

	for (int i = 0; want_hit[i]; i++)
		if (!hit(&res, want_hit[i]))
			test_fail(__FILE__, __LINE__, "%s did not hit", want_hit[i]);
	for (int i = 0; want_miss[i]; i++)
		if (hit(&res, want_miss[i]))
			test_fail(__FILE__, __LINE__, "%s hit", want_miss[i]);

	/* the list itself: raw and canonical forms, each once */
	mavis_arena_reset(a);
	CHECK_INT(sa_msg_build(msg_text, strlen(msg_text), r, a, &m, &err), 0);
	sa_uris_build(r, &m, a);
	CHECK(has_uri(&m, "http://203.0.113.9/x"));
	CHECK(has_uri(&m, "http://%77%77%77.example.com/x"));
	CHECK(has_uri(&m, "http://www.example.com/x"));
	CHECK(has_uri(&m, "http://target.example.org/p"));
	CHECK(!has_uri(&m, "http://nope.example.zz/x"));
	for (size_t i = 0; i < m.n_uris; i++)
		for (size_t j = i + 1; j < m.n_uris; j++)
			CHECK(strcmp(m.uris[i], m.uris[j]) != 0);

	/* an HTML URI longer than MAX_URI_LENGTH is cut and flagged */
	{
		size_t n = SA_MAX_URI_LENGTH + 100;
		char *big = malloc(n + 200);
		int o = snprintf(big, 200, "Subject: x\nContent-Type: text/html\n\n"
				 "<a href=\"http://long.example.com/");

		/* in text a URI ends at 2,048 bytes (the line split and
		   the pattern's {1,2048}); in HTML it does not */
		memset(big + o, 'a', n);
		strcpy(big + o + n, "\">x</a>\n");
		mavis_arena_reset(a);
		CHECK_INT(mavis_sa_check(r, big, strlen(big), a, &res, &err), 0);
		CHECK(hit(&res, "URI_TRUNC"));
		free(big);
	}
	/* no URIs at all, and junk: an empty list */
	mavis_arena_reset(a);
	CHECK_INT(sa_msg_build("", 0, r, a, &m, &err), 0);
	sa_uris_build(r, &m, a);
	CHECK_INT(m.n_uris, 0);
	mavis_sa_rules_free(&r);
	mavis_arena_free(&a);
}

/* RegistryBoundaries::uri_to_domain */
static void
test_uri_to_domain(void)
{
	static const char rules[] = "util_rb_tld com org uk\nutil_rb_2tld co.uk\n"
				    "body X /x/\n";
	static const struct {
		const char *uri, *domain;
	} cases[] = {
		{ "http://www.Example.COM/x?y", "example.com" },
		{ "https://user:pw@a.b.example.org:8080/", "example.org" },
		{ "http://shop.example.co.uk/", "example.co.uk" },
		{ "http://203.0.113.9/", "203.0.113.9" },
		{ "mailto:x@mail.example.com?subject=hi", "example.com" },
		{ "mailto:x@y@example.com", NULL },
		{ "http://example.zz/", NULL },
		{ "http://exa_mple.com/", NULL },	/* '_' not in the first two levels */
		{ "http://a_b.example.com/", "example.com" },
		{ "http://%77ww.example.com/", NULL },	/* the decoded variant counts */
		{ "javascript:alert(1)", NULL },
		{ "http://localhost/", NULL },
	};
	struct mavis_sa_rules *r = NULL;
	struct mavis_error err = { 0 };
	struct mavis_arena *a = mavis_arena_new(0);

	CHECK_INT(mavis_sa_rules_from_text(rules, strlen(rules), &r, &err), 0);
	if (r == NULL) {
		mavis_arena_free(&a);
		return;
	}
	CHECK(!r->want_uris);	/* no uri rule: no list built */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *d = sa_uri_to_domain(r, cases[i].uri, a, NULL);

		if ((d == NULL) != (cases[i].domain == NULL) ||
		    (d != NULL && strcmp(d, cases[i].domain) != 0))
			test_fail(__FILE__, __LINE__, "%s: %s, want %s", cases[i].uri, d ? d : "(none)",
				  cases[i].domain ? cases[i].domain : "(none)");
	}
	mavis_sa_rules_free(&r);
	mavis_arena_free(&a);
}

/* The shipped rules: a URI host that is a public IPv4 address */
static void
test_shipped_uri(void)
{
	struct mavis_sa_rules *r = NULL;
	struct mavis_error err = { 0 };
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_spam_result res;
	struct mavis_sa_rule_info ri;
	size_t uri_unsup = 0;
	static const char msg[] =
		"From: a@example.com\nTo: b@example.org\nSubject: offer\n"
		"Message-ID: <1@example.com>\nDate: Thu, 03 Dec 2026 10:00:00 +0000\n\n"
		"Order now at http://198.51.100.23/cgi-bin/click?id=5 today\n";

	CHECK_INT(mavis_sa_rules_load(NULL, &r, &err), 0);
	if (r == NULL) {
		test_fail(__FILE__, __LINE__, "%s", err.text);
		mavis_arena_free(&a);
		return;
	}
	for (size_t i = 0; mavis_sa_rule_get(r, i, &ri); i++)
		if (strcmp(ri.type, "uri") == 0 && ri.unsupported != NULL)
			uri_unsup++;
	CHECK_INT(uri_unsup, 0);
	CHECK(r->n_redirs >= 10);
	CHECK(sa_rules_is_tld(r, "com", 3) && sa_rules_is_tld(r, "DE", 2) && !sa_rules_is_tld(r, "zz", 2));
	CHECK_INT(mavis_sa_check(r, msg, strlen(msg), a, &res, &err), 0);
	CHECK(hit(&res, "NORMAL_HTTP_TO_IP"));
	CHECK(hit(&res, "IP_LINK_PLUS"));
	mavis_sa_rules_free(&r);
	mavis_arena_free(&a);
}

int
main(void)
{
	TEST_RUN(test_uri_rules);
	TEST_RUN(test_uri_to_domain);
	TEST_RUN(test_shipped_uri);
	return test_exit();
}
