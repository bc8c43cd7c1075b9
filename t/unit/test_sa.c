/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_sa.c - native SpamAssassin rules: rule-file parser, meta semantics, checks on messages */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/arena.h>
#include <mavis/sa.h>

#include "harness.h"
#include "sa/sa_int.h"

/* ---- meta expressions: Perl's values ---- */

static const char *const meta_names[] = { "A", "B", "C", "__D", "U", NULL };

static int
meta_resolve_test(void *ctx, const char *name, size_t len)
{
	(void)ctx;
	for (int i = 0; meta_names[i]; i++)
		if (strlen(meta_names[i]) == len && strncmp(meta_names[i], name, len) == 0)
			return i;
	return -1;
}

static void
test_meta(void)
{
	/* hits: A=2 B=0 C=1 __D=3 */
	static const unsigned hits[] = { 2, 0, 1, 3 };
	static const struct {
		const char *expr;
		double want;
	} cases[] = {
		{ "A", 2 },
		{ "A && B", 0 },
		{ "A && C", 1 },		/* && gives the right operand */
		{ "A || B", 2 },		/* || gives the left operand when true */
		{ "B || C", 1 },
		{ "B || B", 0 },
		{ "!B", 1 },
		{ "!A", 0 },
		{ "!A + 1", 1 },		/* ! binds tighter than + */
		{ "A + C + __D", 6 },
		{ "A + C + __D > 5", 1 },
		{ "(A + B + C) >= 3", 1 },
		{ "A + B * 4", 2 },
		{ "(A + B) * 4", 8 },
		{ "__D / A", 1.5 },
		{ "A / B", 0 },			/* Perl dies: no hit */
		{ "A - C == 1", 1 },
		{ "A != 2", 0 },
		{ "A || B && C", 2 },		/* && before || */
		{ "B && UNDEFINED_RULE || C", 1 },
		{ "UNDEFINED_RULE", 0 },	/* an undefined rule is 0 */
		{ "-A + 3", 1 },
		{ "A<3", 1 },
		{ "A <= 1", 0 },
		{ "((A))", 2 },
		{ "1", 1 },
		{ "0.5 * A", 1 },
	};
	struct mavis_arena *a = mavis_arena_new(0);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sa_meta m;
		struct mavis_error err = { 0 };

		if (sa_meta_compile(cases[i].expr, meta_resolve_test, NULL, a, &m, &err) < 0) {
			test_fail(__FILE__, __LINE__, "%s: %s", cases[i].expr, err.text);
			continue;
		}
		double v = sa_meta_eval(&m, hits);

		if (fabs(v - cases[i].want) > 1e-9)
			test_fail(__FILE__, __LINE__, "%s = %g, want %g", cases[i].expr, v, cases[i].want);
	}
	/* U is a rule SpamAssassin runs and we cannot: 0 or 1 */
	static const double lo[] = { 2, 0, 1, 3, 0 }, hi[] = { 2, 0, 1, 3, 1 };
	static const struct {
		const char *expr;
		int want;	/* 1 certain hit, 0 certain miss, -1 unknown */
	} ivc[] = {
		{ "!U", -1 }, { "U", -1 }, { "A || U", 1 }, { "U || A", 1 }, { "B && U", 0 },
		{ "U && B", 0 }, { "U && A", -1 }, { "A + U >= 2", 1 }, { "A + U > 2", -1 },
		{ "U > 1", 0 }, { "!U && A", -1 }, { "!(U || A)", 0 }, { "U * 0", 0 },
		{ "C - U >= 0", 1 }, { "A / U", -1 }, { "U == 2", 0 }, { "U != 2", 1 },
	};

	for (size_t i = 0; i < sizeof(ivc) / sizeof(ivc[0]); i++) {
		struct sa_meta m;
		struct mavis_error err = { 0 };
		double rlo, rhi;

		if (sa_meta_compile(ivc[i].expr, meta_resolve_test, NULL, a, &m, &err) < 0) {
			test_fail(__FILE__, __LINE__, "%s: %s", ivc[i].expr, err.text);
			continue;
		}
		int v = sa_meta_eval_iv(&m, lo, hi, &rlo, &rhi);

		if (v != ivc[i].want)
			test_fail(__FILE__, __LINE__, "%s: %d, want %d", ivc[i].expr, v, ivc[i].want);
	}
	static const char *const bad[] = { "", "A &&", "(A", "A )", "A B", "&& A", "A + + ", "A ? B : C",
					   "A =~ B", "((((" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sa_meta m;
		struct mavis_error err = { 0 };

		if (sa_meta_compile(bad[i], meta_resolve_test, NULL, a, &m, &err) == 0)
			test_fail(__FILE__, __LINE__, "\"%s\" compiled", bad[i]);
		else
			CHECK_INT(err.status, MAVIS_ERR_PARSE);
	}
	mavis_arena_free(&a);
}

/* ---- if expressions ---- */

static void
test_if(void)
{
	struct sa_conf c;
	static const struct {
		const char *expr;
		int want;
	} cases[] = {
		{ "(version >= 3.004000)", 1 },
		{ "(version >= 4.000002)", 0 },
		{ "version > 4", 1 },
		{ "can(Mail::SpamAssassin::Conf::feature_bug6558_free)", 1 },
		{ "!can(Mail::SpamAssassin::Conf::feature_bug6558_free)", 0 },
		{ "!(can(Mail::SpamAssassin::Conf::feature_nonexistent))", 1 },
		{ "plugin(Mail::SpamAssassin::Plugin::HeaderEval)", 1 },
		{ "!plugin(Mail::SpamAssassin::Plugin::Razor2)", 1 },
		{ "can(Mail::SpamAssassin::Plugin::HeaderEval::has_anything)", 1 },
		{ "can(Mail::SpamAssassin::Plugin::ASN::has_check_asn)", 0 },
		{ "plugin(Mail::SpamAssassin::Plugin::HeaderEval) && version >= 4.0", 1 },
		{ "plugin(Mail::SpamAssassin::Plugin::Razor2) || version < 3", 0 },
		{ "local_tests_only", 1 },
		{ "(version >= ", -1 },
		{ "some perl code", -1 },
	};

	sa_conf_init(&c);
	sa_conf_parse(&c, "loadplugin Mail::SpamAssassin::Plugin::HeaderEval\n", 51);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int v = sa_conf_if_eval(&c, cases[i].expr);

		if (v != cases[i].want)
			test_fail(__FILE__, __LINE__, "if %s = %d, want %d", cases[i].expr, v, cases[i].want);
	}
	sa_conf_fini(&c);
}

/* ---- rule files ---- */

static const char rules_text[] =
	"# a comment\n"
	"loadplugin Mail::SpamAssassin::Plugin::HeaderEval\n"
	"loadplugin Mail::SpamAssassin::Plugin::ReplaceTags\n"
	"required_score 6.5\n"
	"header SUBJ_FOO   Subject =~ /\\bfoo\\b/i\n"
	"score SUBJ_FOO 1.5 1.6 1.7 1.8\n"
	"header __FROM_ADDR From:addr =~ /^joe\\@example\\.com$/\n"
	"header FROM_NAME  From:name =~ /^Joe Bloggs$/\n"
	"score FROM_NAME 0.25\n"
	"header HAS_XM     exists:X-Mailer\n"
	"score HAS_XM 0.5\n"
	"header NO_XFOO    X-Foo !~ /./\n"
	"score NO_XFOO 0.125\n"
	"header UNSET      X-Bar =~ /^dflt$/ [if-unset: dflt]\n"
	"score UNSET 0.0625\n"
	"header ENC_SUBJ   Subject =~ /caf\\xc3\\xa9/\n"
	"score ENC_SUBJ 2\n"
	"header RAW_SUBJ   Subject:raw =~ /=\\?utf-8\\?/i\n"
	"score RAW_SUBJ 0.001\n"
	"body   BODY_WORD  /\\bwidget\\b/\n"
	"score BODY_WORD 1\n"
	"body   BODY_MULTI /\\bwidget\\b/\n"
	"tflags BODY_MULTI multiple maxhits=3\n"
	"score BODY_MULTI 0.01\n"
	"body   SUBJ_IN_BODY /^Hello caf/\n"
	"score SUBJ_IN_BODY 0.002\n"
	"rawbody RAW_QP    /=3D/\n"
	"score RAW_QP 3\n"
	"rawbody RAW_DEC   /a=b/\n"
	"score RAW_DEC 0.003\n"
	"full   FULL_HDR   /^X-Mailer: test/m\n"
	"score FULL_HDR 0.004\n"
	"body   __SUB1     /widget/\n"
	"body   __SUB2     /gadget/\n"
	"meta   META_BOTH  __SUB1 && __SUB2\n"
	"score META_BOTH 4\n"
	"meta   META_COUNT (__SUB1 + __SUB2 + __NONE) >= 2\n"
	"score META_COUNT 0.005\n"
	"body   ZERO_RULE  /widget/\n"
	"score ZERO_RULE 0\n"
	"meta   META_ZERO  ZERO_RULE\n"
	"score META_ZERO 9\n"
	"meta   META_META  META_BOTH && !META_ZERO\n"
	"score META_META 0.006\n"
	"header EVAL_TO    eval:check_for_missing_to_header()\n"
	"score EVAL_TO 0.007\n"
	"header EVAL_X     eval:no_such_function()\n"
	"score EVAL_X 5\n"
	"header NET_RULE   eval:check_rbl('x', 'zen.example.')\n"
	"tflags NET_RULE   net\n"
	/* Check.pm skips only net evals: a regex rule or meta with tflags net runs */
	"header NET_RE     Subject =~ /foo/\n"
	"tflags NET_RE     net\n"
	"score NET_RE      0.0003\n"
	"body   BAD_RE     /(unclosed/\n"
	"ifplugin Mail::SpamAssassin::Plugin::Razor2\n"
	"body   IN_RAZOR   /widget/\n"
	"endif\n"
	"if (version >= 3.004000)\n"
	"body   IN_VERSION /gadget/\n"
	"score  IN_VERSION 0.008\n"
	"else\n"
	"body   IN_ELSE    /gadget/\n"
	"endif\n"
	"replace_tag    W  [wW]\n"
	"replace_inter  SEP  \\W?\n"
	"body   FUZZY_W    /<inter SEP><W><W>/\n"
	"replace_rules FUZZY_W\n"
	"score FUZZY_W 0.009\n"
	"body   REDEF      /nomatch/\n"
	"body   REDEF      /gadget/\n"
	"score REDEF 0.0001\n"
	"body   ESC_HASH   /\\#tag/ # comment after\n"
	"score ESC_HASH 0.0002\n"
	"body   NO_SCORE   /gadget/\n";

static const char msg_text[] =
	"From: Joe Bloggs <joe@example.com>\r\n"
	"Subject: Hello =?utf-8?q?caf=C3=A9?= foo\r\n"
	"X-Mailer: test\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"A widget and a widget, widget widget gadget ww w-w #tag\r\n"
	"a=3Db\r\n";

static const struct sa_rule *
rule(const struct mavis_sa_rules *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->rules[i].name, name) == 0)
			return &r->rules[i];
	return NULL;
}

static bool
hit(const struct mavis_spam_result *res, const char *name)
{
	for (size_t i = 0; i < res->n_tests; i++)
		if (strcmp(res->tests[i].name, name) == 0)
			return true;
	return false;
}

static void
test_rules(void)
{
	struct mavis_sa_rules *r = NULL;
	struct mavis_error err = { 0 };
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_spam_result res;

	CHECK_INT(mavis_sa_rules_from_text(rules_text, strlen(rules_text), &r, &err), 0);
	if (r == NULL) {
		test_fail(__FILE__, __LINE__, "%s", err.text);
		mavis_arena_free(&a);
		return;
	}
	CHECK(mavis_sa_required_score(r) == 6.5);
	CHECK(rule(r, "SUBJ_FOO") && rule(r, "SUBJ_FOO")->score == 1.5);	/* set 0 */
	CHECK(rule(r, "NO_SCORE") && rule(r, "NO_SCORE")->score == 1.0);
	CHECK(rule(r, "IN_RAZOR") == NULL);	/* plugin not loaded */
	CHECK(rule(r, "IN_ELSE") == NULL);
	CHECK(rule(r, "IN_VERSION") != NULL);
	CHECK(rule(r, "EVAL_X") && rule(r, "EVAL_X")->unsupported != NULL &&
	      strstr(rule(r, "EVAL_X")->unsupported, "no_such_function") != NULL);
	CHECK(rule(r, "NET_RULE") && rule(r, "NET_RULE")->unsupported != NULL);
	CHECK(rule(r, "BAD_RE") && rule(r, "BAD_RE")->unsupported != NULL);
	CHECK(rule(r, "ZERO_RULE") && !rule(r, "ZERO_RULE")->run);
	CHECK(rule(r, "EVAL_TO") && rule(r, "EVAL_TO")->unsupported == NULL);
	/* the info view as mavisctl prints it */
	struct mavis_sa_rule_info ri;
	size_t unsup = 0;

	for (size_t i = 0; mavis_sa_rule_get(r, i, &ri); i++)
		unsup += ri.unsupported != NULL;
	CHECK_INT(unsup, r->n_unsupported);
	CHECK_INT(unsup, 3);
	CHECK(!mavis_sa_rule_get(r, r->n, &ri));

	CHECK_INT(mavis_sa_check(r, msg_text, strlen(msg_text), a, &res, &err), 0);
	CHECK_INT(res.status, MAVIS_SPAM_OK);
	CHECK(res.threshold == 6.5);
	static const char *const want_hit[] = {
		"SUBJ_FOO", "FROM_NAME", "HAS_XM", "NO_XFOO", "UNSET", "ENC_SUBJ", "RAW_SUBJ",
		"BODY_WORD", "BODY_MULTI", "SUBJ_IN_BODY", "RAW_DEC", "FULL_HDR", "META_BOTH",
		"META_COUNT", "META_META", "EVAL_TO", "IN_VERSION", "FUZZY_W", "REDEF", "ESC_HASH",
		"NO_SCORE", "NET_RE", NULL
	};
	static const char *const want_miss[] = {
		"RAW_QP", "ZERO_RULE", "META_ZERO", "EVAL_X", "NET_RULE", "__SUB1", "__FROM_ADDR",
		NULL
	};

	for (int i = 0; want_hit[i]; i++)
		if (!hit(&res, want_hit[i]))
			test_fail(__FILE__, __LINE__, "%s did not hit", want_hit[i]);
	for (int i = 0; want_miss[i]; i++)
		if (hit(&res, want_miss[i]))
			test_fail(__FILE__, __LINE__, "%s hit", want_miss[i]);
	/* BODY_MULTI: 4 matches, maxhits=3 -> 3 x 0.01; rawbody is decoded
	   (quoted-printable gone) but not rendered */
	double want = 1.5 + 0.25 + 0.5 + 0.125 + 0.0625 + 2 + 0.001 + 1 + 0.03 + 0.002 + 0.003 + 0.004 +
		      4 + 0.005 + 0.006 + 0.007 + 0.008 + 0.009 + 0.0001 + 0.0002 + 1 + 0.0003;

	if (fabs(res.score - round(want * 1000) / 1000) > 1e-9)
		test_fail(__FILE__, __LINE__, "score %.4f, want %.4f", res.score, want);
	for (size_t i = 1; i < res.n_tests; i++)
		CHECK(strcmp(res.tests[i - 1].name, res.tests[i].name) < 0);

	/* an empty message and bytes that are no mail: scored, never a crash */
	mavis_arena_reset(a);
	CHECK_INT(mavis_sa_check(r, "", 0, a, &res, &err), 0);
	CHECK(hit(&res, "EVAL_TO"));
	CHECK(!hit(&res, "BODY_WORD"));
	mavis_arena_reset(a);
	CHECK_INT(mavis_sa_check(r, "\0\0\xff\n\n--", 7, a, &res, &err), 0);
	mavis_sa_rules_free(&r);
	CHECK(r == NULL);
	mavis_sa_rules_free(&r);
	mavis_arena_free(&a);
}

static void
test_no_rules(void)
{
	struct mavis_sa_rules *r = NULL;
	struct mavis_error err = { 0 };
	const char *dirs[] = { "/nonexistent/sa", NULL };

	CHECK_INT(mavis_sa_rules_from_text("# nothing\nscore X 1\n", 20, &r, &err), MAVIS_ERR_CONFIG);
	CHECK(r == NULL);
	CHECK_INT(mavis_sa_rules_load(dirs, &r, &err), MAVIS_ERR_IO);
	CHECK(strstr(err.text, "/nonexistent/sa") != NULL);
	CHECK(r == NULL);
}

/* The shipped rules (Debian's spamassassin package): GTUBE is spam. */
static void
test_shipped_rules(void)
{
	struct mavis_sa_rules *r = NULL;
	struct mavis_error err = { 0 };
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_spam_result res;
	static const char gtube[] =
		"From: a@example.com\nTo: b@example.org\nSubject: test\n"
		"Message-ID: <1@example.com>\nDate: Thu, 03 Dec 2026 10:00:00 +0000\n\n"
		"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\n";

	CHECK_INT(mavis_sa_rules_load(NULL, &r, &err), 0);
	if (r == NULL) {
		test_fail(__FILE__, __LINE__, "%s", err.text);
		mavis_arena_free(&a);
		return;
	}
	CHECK(mavis_sa_rules_count(r) > 2000);
	CHECK(mavis_sa_required_score(r) == 5.0);
	CHECK_INT(mavis_sa_check(r, gtube, strlen(gtube), a, &res, &err), 0);
	CHECK(hit(&res, "GTUBE"));
	CHECK(res.score > 999);	/* NO_RECEIVED, NO_RELAYS: -0.001 each */
	mavis_sa_rules_free(&r);
	mavis_arena_free(&a);
}

int
main(void)
{
	TEST_RUN(test_meta);
	TEST_RUN(test_if);
	TEST_RUN(test_rules);
	TEST_RUN(test_no_rules);
	TEST_RUN(test_shipped_rules);
	return test_exit();
}
