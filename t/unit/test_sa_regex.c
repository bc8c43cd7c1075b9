/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_sa_regex.c - native SpamAssassin rules: ReplaceTags expansion, big repeats under PCRE2 */

#include <stdlib.h>
#include <string.h>

#include <mavis/arena.h>
#include <mavis/buf.h>
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

/* Tags inside tag values are expanded over further passes; inter goes
   between adjacent tags (and, as SA's split leaves an empty first piece,
   before a rule that starts with a tag); pre and post around each tag of
   the first pass. */
static void
test_replace_tags(void)
{
	static const char rules[] =
		"replace_tag  ANDOR  (?:\\s(?:and|or)\\s)\n"
		"replace_tag  PAIR   (?:cat<ANDOR>dog)\n"
		"replace_tag  A      a\n"
		"replace_tag  B      b\n"
		"replace_inter SP    [-_]\n"
		"replace_post P2     {2}\n"
		"body NESTED  /<PAIR>/\n"
		"body INTER   /x<inter SP><A><B>y/\n"
		"body POST    /q<post P2><A>z/\n"
		"body UNKNOWN /<NO_SUCH_TAG>/\n"
		"replace_rules NESTED INTER POST UNKNOWN\n"
		"score NESTED 1\nscore INTER 1\nscore POST 1\nscore UNKNOWN 1\n";
	static const char msg[] = "Subject: t\n\nI have a cat and dog, x-a-by and qaaz here.\n"
				  "A <NO_SUCH_TAG> stays as written.\n";
	struct mavis_sa_rules *r = NULL;
	struct mavis_error err = { 0 };
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_spam_result res;

	CHECK_INT(mavis_sa_rules_from_text(rules, strlen(rules), &r, &err), 0);
	if (r == NULL) {
		mavis_arena_free(&a);
		return;
	}
	CHECK_INT(r->n_unsupported, 0);
	CHECK_INT(mavis_sa_check(r, msg, strlen(msg), a, &res, &err), 0);
	CHECK(hit(&res, "NESTED"));
	/* x, then a, inter, b: "x" is text, so inter only between the tags */
	CHECK(!hit(&res, "INTER"));
	CHECK(hit(&res, "POST"));
	CHECK(hit(&res, "UNKNOWN"));
	mavis_arena_reset(a);
	CHECK_INT(mavis_sa_check(r, "Subject: t\n\nxa-by\n", 18, a, &res, &err), 0);
	CHECK(hit(&res, "INTER"));
	mavis_sa_rules_free(&r);
	mavis_arena_free(&a);
}

/* A pattern PCRE2 finds too large as written still compiles and matches
   the same strings */
static void
test_shrink(void)
{
	struct mavis_error err = { 0 };
	struct mavis_buf big = { 0 };

	/* (?:(?:w1|...|w400)\s?){1,3}(?:...){1,3} copies each alternation 3x */
	mavis_buf_puts(&big, "^(?:(?:(?:");
	for (int i = 0; i < 2500; i++)
		mavis_buf_printf(&big, "%sword%d", i ? "|" : "", i);
	mavis_buf_puts(&big, ")[,\\s]?){1,3}){2,4}end$");
	{
		/* as written it is over PCRE2's limit: the test needs that */
		int ec;
		PCRE2_SIZE eo;
		pcre2_code *raw = pcre2_compile((PCRE2_SPTR)mavis_buf_str(&big), PCRE2_ZERO_TERMINATED,
						PCRE2_CASELESS, &ec, &eo, NULL);

		CHECK(raw == NULL && ec == PCRE2_ERROR_PATTERN_TOO_LARGE);
		pcre2_code_free(raw);
	}
	pcre2_code *re = sa_regex_compile(mavis_buf_str(&big), "i", &err);

	CHECK(re != NULL);
	if (re != NULL) {
		static const struct {
			const char *s;
			int want;
		} cases[] = {
			{ "word1 word2end", 1 },
			{ "WORD1,word7 word2499 word3end", 1 },
			{ "word1end", 0 },	/* {2,4}: at least two */
			{ "word1 word2 word3 word4 word5 word6 word7 word8 word9 word10 word11 "
			  "word12 word13end", 0 },	/* at most 12 */
			{ "word1 nope end", 0 },
		};
		pcre2_match_data *md = pcre2_match_data_create(4, NULL);

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			int rc = pcre2_match(re, (PCRE2_SPTR)cases[i].s, strlen(cases[i].s), 0, 0, md, NULL);

			if ((rc >= 0) != cases[i].want)
				test_fail(__FILE__, __LINE__, "%s: %d", cases[i].s, rc);
		}
		pcre2_match_data_free(md);
		pcre2_code_free(re);
	}
	/* what is left alone */
	char *s = sa_regex_shrink("(a)(?:b){2}\\1", "");

	CHECK(s == NULL);	/* a back reference */
	s = sa_regex_shrink("(?:abc){2}", "x");
	CHECK(s == NULL);	/* extended mode */
	s = sa_regex_shrink("(?:abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnop){0,3}?z", "");
	CHECK(s != NULL && strstr(s, "(?&_s0){0,2}?)??z") != NULL);
	free(s);
	mavis_buf_free(&big);
}

int
main(void)
{
	TEST_RUN(test_replace_tags);
	TEST_RUN(test_shrink);
	return test_exit();
}
