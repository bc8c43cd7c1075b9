/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_sa_bayes.c - Bayes tokens and combining against SpamAssassin's own Perl */

/*
 * t/data/sa/bayes/NAME.eml have NAME.expect files printed by
 * t/sa/bayes_tokens.pl (Plugin/Bayes.pm's tokenize() on the message: the
 * 5-byte id in hex and the token). The test wants the same set of ids and
 * the generated msgid; with perl and SpamAssassin installed the oracle
 * also runs live on each file. The probabilities and chi-square values
 * are SpamAssassin's, printed by the same script (--prob, --combine).
 *
 *   test_sa_bayes --dump FILE...   print our tokens of FILE as the oracle does
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/arena.h>
#include <mavis/buf.h>
#include <mavis/error.h>
#include <mavis/sa.h>

#include "harness.h"
#include "sa/sa_bayes.h"

static struct mavis_sa_rules *rules;
static struct sa_bayes_tokenizer *tok;

static int
cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static char *
esc(const char *s, struct mavis_arena *a)
{
	char *o = mavis_arena_alloc(a, strlen(s) * 4 + 1), *p = o;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c == '\\' || c >= 0x7f)
			p += sprintf(p, "\\x%02x", c);
		else
			*p++ = (char)c;
	}
	*p = '\0';
	return o;
}

/* Our tokens of the message, sorted lines "hexid\ttoken", then "#msgid\t..." */
static char *
dump(const char *msg, size_t len, struct mavis_arena *a)
{
	struct mavis_error err = { 0 };
	struct sa_msg m;
	struct sa_btoks t;

	if (sa_msg_build(msg, len, rules, a, &m, &err) < 0)
		return NULL;
	sa_bayes_tokenize(tok, &m, a, &t);
	const char **lines = mavis_arena_calloc(a, t.n + 1, sizeof(*lines));
	size_t total = 64;

	for (size_t i = 0; i < t.n; i++) {
		const unsigned char *id = t.v[i].id;

		lines[i] = mavis_arena_printf(a, "%02x%02x%02x%02x%02x\t%s\n", id[0], id[1], id[2],
					      id[3], id[4], esc(t.v[i].text, a));
		total += strlen(lines[i]);
	}
	qsort(lines, t.n, sizeof(*lines), cmp_str);
	const char *mid = sa_bayes_msgid(&m, msg, len, a);
	char *o = mavis_arena_alloc(a, total + strlen(mid) + 16), *p = o;

	for (size_t i = 0; i < t.n; i++)
		p = stpcpy(p, lines[i]);
	p += sprintf(p, "#msgid\t%s\n", mid);
	return o;
}

static char *
run(const char *cmd)
{
	char buf[4096], *out = NULL;
	size_t ol = 0, r;
	FILE *p = popen(cmd, "r");

	if (!p)
		return NULL;
	while ((r = fread(buf, 1, sizeof(buf), p)) > 0) {
		out = realloc(out, ol + r + 1);
		memcpy(out + ol, buf, r);
		ol += r;
		out[ol] = '\0';
	}
	pclose(p);
	return out;
}

/* The ids of a dump (first column of each line), compared as sets; the
   differences are printed with their tokens. */
static void
same_ids(const char *what, const char *got, const char *want)
{
	if (got == NULL || want == NULL) {
		test_fail(__FILE__, __LINE__, "%s: no output", what);
		return;
	}
	if (strcmp(got, want) == 0)
		return;
	/* show the lines of one side only */
	char *g = strdup(got), *w = strdup(want);
	size_t ng = 0, nw = 0;
	char *gl[20000], *wl[20000];

	for (char *s = strtok(g, "\n"); s && ng < 20000; s = strtok(NULL, "\n"))
		gl[ng++] = s;
	for (char *s = strtok(w, "\n"); s && nw < 20000; s = strtok(NULL, "\n"))
		wl[nw++] = s;
	size_t i = 0, j = 0, shown = 0;

	while ((i < ng || j < nw) && shown < 40) {
		int c = i >= ng ? 1 : j >= nw ? -1 : strcmp(gl[i], wl[j]);

		if (c == 0) {
			i++, j++;
			continue;
		}
		fprintf(stderr, "  %s %s\n", c < 0 ? "mavis only:" : "SA only:   ",
			c < 0 ? gl[i] : wl[j]);
		if (c < 0)
			i++;
		else
			j++;
		shown++;
	}
	test_fail(__FILE__, __LINE__, "%s: token sets differ", what);
	free(g);
	free(w);
}

static const char *const messages[] = { "plain", "html", "utf8", "headers", NULL };

static void
test_tokens(void)
{
	const char *src = getenv("MAVIS_SOURCE_DIR") ? getenv("MAVIS_SOURCE_DIR") : ".";
	bool live = system("perl -MMail::SpamAssassin -e 1 >/dev/null 2>&1") == 0;

	for (int k = 0; messages[k]; k++) {
		struct mavis_arena *a = mavis_arena_new(0);
		char rel[256], path[4096], epath[4096], cmd[9000];
		size_t len, el;

		snprintf(rel, sizeof(rel), "sa/bayes/%s.eml", messages[k]);
		snprintf(path, sizeof(path), "%s", test_data_path(rel));
		snprintf(epath, sizeof(epath), "%.*s.expect", (int)(strlen(path) - 4), path);
		char *msg = test_slurp(path, &len), *expect = test_slurp(epath, &el);

		CHECK(msg != NULL && expect != NULL);
		if (msg && expect) {
			same_ids(messages[k], dump(msg, len, a), expect);
			if (live) {
				snprintf(cmd, sizeof(cmd), "perl '%s/t/sa/bayes_tokens.pl' '%s' 2>/dev/null",
					 src, path);
				char *now = run(cmd);

				same_ids("the .expect against SpamAssassin now", now, expect);
				free(now);
			}
		}
		free(msg);
		free(expect);
		mavis_arena_free(&a);
	}
}

/* _tokenize_line pieces, region by region (expected from Bayes.pm's rules) */
struct line_case {
	const char *line, *prefix;
	int region;
	const char *want;	/* tokens joined by '|' in order */
};

static void
collect(void *ctx, const char *t, size_t n)
{
	char *b = ctx;

	if (*b)
		strcat(b, "|");
	strncat(b, t, n);
}

static void
test_lines(void)
{
	/* want: t/sa/bayes_tokens.pl --line REGION PREFIX TEXT */
	static const struct line_case cases[] = {
		/* short tokens dropped, trimming, stop words (en) */
		{ "a an the \"quoted\" ...dots", "", 1, "quoted|dots" },
		/* Title Case at line start lowered; decomposition of punctuation */
		{ "Hello World!", "", 1, "hello|World|world!|world|World!" },
		/* long words: sk: with seven characters */
		{ "abcdefghijklmnopqrstuvwxyz", "", 1, "sk:abcdefg" },
		/* URIs: the punctuation splits, UD: domains, long tokens kept */
		{ "http://www.example.com/abcdefghijklmnop", "", 2,
		  "UD:www.example.com|UD:example.com|UD:com|wwwexamplecom|www.example.com|"
		  "abcdefghijklmnop" },
		/* mail addresses in the body; "mail" is a stop word */
		{ "mail joe@mail.example.org", "", 1,
		  "U*joe|D*mail.example.org|D*example.org|D*org|sk:joemai|sk:joe@mai" },
		/* headers: no decomposition, prefix kept */
		{ "Foo-Bar baz!", "HX-Test:", 0, "HX-Test:Foo-Bar|HX-Test:baz!" },
		/* the separators split words ("now" is a stop word) */
		{ "free--money...now", "", 1, "free|money" },
		/* invisible text prefix */
		{ "hidden words", "I*:", 1, "I*:hidden|I*:words" },
		/* 8-bit: UTF-8 sequences kept whole, long runs as u8: */
		{ "\xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad", "", 1,
		  NULL },
		{ "caf\xe9 na\xefve \x80\x81x", "", 1, NULL },
		{ NULL, NULL, 0, NULL },
	};

	const char *src = getenv("MAVIS_SOURCE_DIR") ? getenv("MAVIS_SOURCE_DIR") : ".";
	bool live = system("perl -MMail::SpamAssassin -e 1 >/dev/null 2>&1") == 0;
	/* the cases go to the oracle in one file: one perl run for all */
	const char *path = test_write_file("lines.txt", "");
	FILE *f = fopen(path, "w");
	char *got_all[64] = { 0 };
	int n = 0;

	CHECK(f != NULL);
	if (f == NULL)
		return;
	for (int i = 0; cases[i].line; i++, n++) {
		struct mavis_arena *a = mavis_arena_new(0);
		char got[4096] = "";

		sa_bayes_tokenize_line(tok, cases[i].line, strlen(cases[i].line), cases[i].prefix,
				       cases[i].region, a, collect, got);
		if (cases[i].want != NULL)
			CHECK_STR(got, cases[i].want);
		if (live) {
			fprintf(f, "%d\t%s\t", cases[i].region, cases[i].prefix);
			for (const char *p = cases[i].line; *p; p++)
				fprintf(f, (unsigned char)*p >= 0x80 ? "\\x%02x" : "%c", (unsigned char)*p);
			fputc('\n', f);
		}
		got_all[i] = strdup(got);
		mavis_arena_free(&a);
	}
	fclose(f);
	if (live) {
		char cmd[8192];

		snprintf(cmd, sizeof(cmd), "perl '%s/t/sa/bayes_tokens.pl' --lines '%s' 2>/dev/null", src,
			 path);
		char *sa = run(cmd), *save = NULL, *l = sa ? strtok_r(sa, "\n", &save) : NULL;

		CHECK(sa != NULL);
		for (int i = 0; i < n; i++) {
			/* an empty answer is an empty line, which strtok skips: only
			   the cases here all give tokens */
			CHECK(l != NULL);
			if (l == NULL)
				break;
			CHECK_STR(got_all[i], l);
			l = strtok_r(NULL, "\n", &save);
		}
		free(sa);
	}
	for (int i = 0; i < n; i++)
		free(got_all[i]);
}

/* The values of Plugin/Bayes.pm and Combine::combine, printed by
   t/sa/bayes_tokens.pl --prob/--combine (%.17g). */
static void
test_numbers(void)
{
	static const struct {
		unsigned s, n, ns, nn;
		double want;
	} probs[] = {
		{ 1, 0, 200, 200, 0.98654368932038838 },
		{ 0, 1, 200, 200, 0.01566990291262136 },
		{ 10, 3, 250, 400, 0.84140509754816817 },
		{ 100, 1, 1000, 200, 0.952257905478335 },
	};
	static const struct {
		unsigned ns, nn;
		double p[6];
		size_t np;
		double want;
	} combs[] = {
		{ 200, 200, { 0.99, 0.98, 0.97 }, 3, 0.9793482224331278 },
		{ 200, 200, { 0.01, 0.02, 0.03 }, 3, 0.020651777566872198 },
		{ 300, 200, { 0.9, 0.1, 0.85, 0.2, 0.95 }, 5, 0.658673753280547 },
		{ 250, 9000, { 0.001, 0.002, 0.003, 0.004, 0.005, 0.006 }, 6, 0.080154693289214207 },
	};
	const char *src = getenv("MAVIS_SOURCE_DIR") ? getenv("MAVIS_SOURCE_DIR") : ".";
	bool live = system("perl -MMail::SpamAssassin -e 1 >/dev/null 2>&1") == 0;

	size_t np = sizeof(probs) / sizeof(probs[0]), nc = sizeof(combs) / sizeof(combs[0]);
	double got[16];
	struct mavis_buf pf = { 0 }, cf = { 0 };

	for (size_t i = 0; i < np; i++) {
		got[i] = sa_bayes_token_prob(probs[i].s, probs[i].n, probs[i].ns, probs[i].nn);
		mavis_buf_printf(&pf, "%u %u %u %u\n", probs[i].ns, probs[i].nn, probs[i].s, probs[i].n);
		if (!(got[i] - probs[i].want < 1e-9 && probs[i].want - got[i] < 1e-9))
			test_fail(__FILE__, __LINE__, "prob %zu: %.17g, want %.17g", i, got[i],
				  probs[i].want);
	}
	for (size_t i = 0; i < nc; i++) {
		got[np + i] = sa_bayes_combine(combs[i].ns, combs[i].nn, combs[i].p, combs[i].np);
		mavis_buf_printf(&cf, "%u %u", combs[i].ns, combs[i].nn);
		for (size_t k = 0; k < combs[i].np; k++)
			mavis_buf_printf(&cf, " %.17g", combs[i].p[k]);
		mavis_buf_putc(&cf, '\n');
		if (!(got[np + i] - combs[i].want < 1e-9 && combs[i].want - got[np + i] < 1e-9))
			test_fail(__FILE__, __LINE__, "combine %zu: %.17g, want %.17g", i, got[np + i],
				  combs[i].want);
	}
	if (live) {
		/* the same cases computed by SpamAssassin now: one perl run each kind */
		char cmd[4096];
		const char *pp = test_write_file("probs.txt", mavis_buf_str(&pf));
		const char *cp = test_write_file("combs.txt", mavis_buf_str(&cf));

		snprintf(cmd, sizeof(cmd),
			 "perl '%s/t/sa/bayes_tokens.pl' --prob-file '%s' && "
			 "perl '%s/t/sa/bayes_tokens.pl' --combine-file '%s'", src, pp, src, cp);
		char *out = run(cmd), *p = out;

		CHECK(out != NULL);
		for (size_t i = 0; out && i < np + nc; i++) {
			char *e;
			double sa = strtod(p, &e);

			if (e == p) {
				test_fail(__FILE__, __LINE__, "oracle gave %zu values, want %zu", i, np + nc);
				break;
			}
			p = e;
			if (!(got[i] - sa < 1e-12 && sa - got[i] < 1e-12))
				test_fail(__FILE__, __LINE__, "%s %zu: %.17g, SpamAssassin %.17g",
					  i < np ? "prob" : "combine", i < np ? i : i - np, got[i], sa);
		}
		free(out);
	}
	mavis_buf_free(&pf);
	mavis_buf_free(&cf);
	/* nothing to combine */
	CHECK(sa_bayes_combine(200, 200, NULL, 0) < 0);
	CHECK(sa_bayes_token_prob(0, 0, 200, 200) < 0);
}

int
main(int argc, char **argv)
{
	struct mavis_error err = { 0 };

	if (mavis_sa_rules_load(NULL, &rules, &err) < 0) {
		fprintf(stderr, "rules: %s\n", err.text);
		return 1;
	}
	if (sa_bayes_tokenizer_new(rules, &tok, &err) < 0) {
		fprintf(stderr, "tokenizer: %s\n", err.text);
		return 1;
	}
	if (argc > 2 && strcmp(argv[1], "--dump") == 0) {
		for (int i = 2; i < argc; i++) {
			struct mavis_arena *a = mavis_arena_new(0);
			size_t len;
			char *msg = test_slurp(argv[i], &len);
			char *d = msg ? dump(msg, len, a) : NULL;

			fputs(d ? d : "(unreadable)\n", stdout);
			free(msg);
			mavis_arena_free(&a);
		}
	} else {
		TEST_RUN(test_lines);
		TEST_RUN(test_numbers);
		TEST_RUN(test_tokens);
	}
	sa_bayes_tokenizer_free(&tok);
	mavis_sa_rules_free(&rules);
	return test_exit();
}
