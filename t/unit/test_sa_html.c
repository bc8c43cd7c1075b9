/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_sa_html.c - the SpamAssassin HTML renderer against SpamAssassin's own output */

/*
 * Each t/data/sa/html/NAME.html has NAME.expect: what t/sa/html-oracle.pl
 * (Mail::SpamAssassin::HTML itself) prints for it. The test renders the file
 * with sa_html and prints the same lines; every line must match. When perl
 * and SpamAssassin are installed the oracle also runs live, so a .expect
 * that no longer matches SpamAssassin fails too. With MAVIS_SA_DUMP=FILE the
 * program only prints its own lines for FILE (to compare by hand).
 */

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mavis/arena.h>

#include "harness.h"
#include "sa/sa_html.h"
#include "sa/sa_parse_int.h"

static void
esc(struct sa_sb *b, struct mavis_arena *a, const char *s, size_t n)
{
	char t[8];

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\')
			sa_sb_add(b, a, "\\\\", 2);
		else if (c == '\n')
			sa_sb_add(b, a, "\\n", 2);
		else if (c == '\t')
			sa_sb_add(b, a, "\\t", 2);
		else if (c < 0x20 || c > 0x7e) {
			snprintf(t, sizeof(t), "\\x%02x", c);
			sa_sb_add(b, a, t, 4);
		} else
			sa_sb_addc(b, a, (char)c);
	}
}

static void
line(struct sa_sb *b, struct mavis_arena *a, const char *key, const char *val, size_t n)
{
	sa_sb_add(b, a, key, strlen(key));
	sa_sb_addc(b, a, '=');
	esc(b, a, val, n);
	sa_sb_addc(b, a, '\n');
}

static int
cmp_strp(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static void
list(struct sa_sb *b, struct mavis_arena *a, const char *key, const char *const *l, size_t n,
     int sorted)
{
	struct sa_sb j = { 0 };
	const char **c = mavis_arena_calloc(a, n + 1, sizeof(*c));

	if (n)
		memcpy(c, l, n * sizeof(*c));
	if (sorted)
		qsort(c, n, sizeof(*c), cmp_strp);
	sa_sb_add(&j, a, "", 0);
	for (size_t i = 0; i < n; i++) {
		if (i)
			sa_sb_addc(&j, a, '\x01');
		sa_sb_add(&j, a, c[i], strlen(c[i]));
	}
	line(b, a, key, j.p, j.len);
}

/* dump - the oracle's lines for one file */
static const char *
dump(const char *path, const char *html, size_t len, struct mavis_arena *a)
{
	static const char *const facts[] = {
		"length", "min_size", "max_size", "closed_extra_ratio", "bad_tag_ratio",
		"non_element_ratio", "obfuscation_ratio", "backhair_count", "image_area",
		"font_low_contrast", "font_invalid_color", "font_face_bad", "form_action_mailto",
		"embeds", "uri_truncated",
	};
	struct sa_html *h;
	struct sa_sb b = { 0 };
	const char *t;
	const char *const *l;
	size_t n;
	char num[64];

	CHECK_INT(sa_html_parse(html, len, a, &h), 0);
	line(&b, a, "file", path, strlen(path));
	t = sa_html_visible(h, &n);
	line(&b, a, "visible", t, n);
	t = sa_html_invisible(h, &n);
	line(&b, a, "invisible", t, n);
	for (size_t i = 0; i < sizeof(facts) / sizeof(facts[0]); i++) {
		double v;

		num[0] = '\0';
		if (sa_html_fact(h, facts[i], &v))
			snprintf(num, sizeof(num), "%.15g", v);
		line(&b, a, facts[i], num, strlen(num));
	}
	{
		/* charsets: one string, as HTML.pm keeps it */
		const char *cs = sa_html_charsets(h);

		line(&b, a, "charsets", cs ? cs : "", cs ? strlen(cs) : 0);
	}
	n = sa_html_text_list(h, "title", &l);
	list(&b, a, "title", l, n, 0);
	n = sa_html_text_list(h, "comment", &l);
	list(&b, a, "comment", l, n, 0);
	n = sa_html_text_list(h, "anchor", &l);
	list(&b, a, "anchor", l, n, 0);
	n = sa_html_uris(h, &l);
	list(&b, a, "uri", l, n, 1);
	{
		struct sa_sb in = { 0 };
		const char *const *tags;
		const long *counts;
		size_t k = sa_html_inside_all(h, &tags, &counts);
		size_t *idx = mavis_arena_calloc(a, k + 1, sizeof(*idx));
		const char **names = mavis_arena_calloc(a, k + 1, sizeof(*names));

		memcpy(names, tags, k * sizeof(*names));
		qsort(names, k, sizeof(*names), cmp_strp);
		(void)idx;
		(void)counts;
		sa_sb_add(&in, a, "inside=", 7);
		for (size_t i = 0; i < k; i++) {
			long v = 0;

			sa_html_inside(h, names[i], &v);
			snprintf(num, sizeof(num), "%s%s:%ld", i ? "," : "", names[i], v);
			sa_sb_add(&in, a, num, strlen(num));
		}
		sa_sb_add(&b, a, in.p, in.len);
		sa_sb_addc(&b, a, '\n');
	}
	sa_sb_add(&b, a, "end\n", 4);
	return b.p;
}

/* compare two dumps line by line, reporting the first difference */
static int
same(const char *name, const char *want, const char *got, const char *what)
{
	while (*want || *got) {
		size_t wl = strcspn(want, "\n"), gl = strcspn(got, "\n");

		if (wl != gl || memcmp(want, got, wl) != 0) {
			test_fail(__FILE__, __LINE__, "%s (%s):\n  want %.*s\n  got  %.*s", name, what,
				  (int)(wl > 400 ? 400 : wl), want, (int)(gl > 400 ? 400 : gl), got);
			return 0;
		}
		want += wl + (want[wl] == '\n');
		got += gl + (got[gl] == '\n');
	}
	return 1;
}

static int
have_oracle(void)
{
	return system("perl -MMail::SpamAssassin::HTML -e 1 >/dev/null 2>&1") == 0;
}

static void
test_corpus(void)
{
	const char *dir = test_data_path("sa/html");
	DIR *d = opendir(dir);
	struct dirent *e;
	int files = 0, live = have_oracle();
	char oracle[4096];

	CHECK(d != NULL);
	if (!d)
		return;
	snprintf(oracle, sizeof(oracle), "%s/t/sa/html-oracle.pl",
		 getenv("MAVIS_SOURCE_DIR") ? getenv("MAVIS_SOURCE_DIR") : ".");
	while ((e = readdir(d)) != NULL) {
		size_t nl = strlen(e->d_name), hl, el;
		char path[4096], epath[4096], *html, *expect;
		const char *got;
		struct mavis_arena *a;

		if (nl < 6 || strcmp(e->d_name + nl - 5, ".html") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		snprintf(epath, sizeof(epath), "%s/%.*s.expect", dir, (int)(nl - 5), e->d_name);
		html = test_slurp(path, &hl);
		expect = test_slurp(epath, &el);
		CHECK(html != NULL);
		CHECK(expect != NULL);
		if (!html || !expect) {
			free(html);
			free(expect);
			continue;
		}
		a = mavis_arena_new(0);
		/* the oracle prints the path it was given: compare from "visible=" on */
		got = dump(e->d_name, html, hl, a);
		same(e->d_name, strstr(expect, "\nvisible=") + 1, strstr(got, "\nvisible=") + 1,
		     "against the .expect");
		if (live) {
			char cmd[9000], *out = NULL;
			size_t ol = 0, cap = 0;
			FILE *p;

			snprintf(cmd, sizeof(cmd), "perl '%s' '%s'", oracle, path);
			p = popen(cmd, "r");
			CHECK(p != NULL);
			if (p) {
				char buf[4096];
				size_t r;

				while ((r = fread(buf, 1, sizeof(buf), p)) > 0) {
					if (ol + r + 1 > cap) {
						cap = (ol + r + 1) * 2;
						out = realloc(out, cap);
					}
					memcpy(out + ol, buf, r);
					ol += r;
				}
				pclose(p);
				if (out) {
					out[ol] = '\0';
					if (strstr(out, "\nvisible="))
						same(e->d_name, strstr(out, "\nvisible=") + 1,
						     strstr(expect, "\nvisible=") + 1,
						     "the .expect against SpamAssassin now");
					else
						CHECK(!"oracle printed nothing");
				}
				free(out);
			}
		}
		files++;
		mavis_arena_free(&a);
		free(html);
		free(expect);
	}
	closedir(d);
	CHECK(files >= 10);
}

/* hostile input: deep nesting, many closes, many distinct tags and URIs,
   a huge attribute. Linear work: each must finish quickly. */
static void
test_hostile(void)
{
	static const char *const pieces[] = {
		"<div><font color=red><span style='color:blue'>",
		"</span>",
		"<x%d>",
		"<a href=http://h/%d>l</a>",
		"<td><tr>",
	};
	for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
		struct mavis_arena *a = mavis_arena_new(0);
		struct sa_sb in = { 0 };
		struct sa_html *h;
		struct timespec t0, t1;
		double ms;
		size_t vl;

		for (int i = 0; in.len < 2 * 1024 * 1024; i++) {
			char buf[128];
			int n;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
			n = snprintf(buf, sizeof(buf), pieces[k], i);
#pragma GCC diagnostic pop

			sa_sb_add(&in, a, buf, (size_t)n);
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		CHECK_INT(sa_html_parse(in.p, in.len, a, &h), 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		sa_html_visible(h, &vl);
		ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
		printf("hostile %zu: %zu bytes in %.1f ms, arena %zu bytes\n", k, in.len, ms,
		       mavis_arena_used(a));
		/* sanitizer builds are slow: the bound catches quadratic work only */
		CHECK(ms < 20000);
		CHECK(mavis_arena_used(a) < 64 * in.len);
		mavis_arena_free(&a);
	}
	{
		/* one 4 MB attribute, unterminated quote */
		struct mavis_arena *a = mavis_arena_new(0);
		size_t n = 4 * 1024 * 1024;
		char *big = malloc(n);
		struct sa_html *h;
		const char *const *l;

		memset(big, 'x', n);
		memcpy(big, "<a href=\"", 9);
		CHECK_INT(sa_html_parse(big, n, a, &h), 0);
		CHECK_INT(sa_html_text_list(h, "comment", &l), 1);
		free(big);
		mavis_arena_free(&a);
	}
}

/* the evals on a known part */
static void
test_evals(void)
{
	static const char html[] =
		"<html><head><title>a title that is long enough</title></head><body>"
		"<img src=a.gif width=10 height=10><font color=white>hidden</font>"
		"<!-- c --><iframe src=x></iframe></body></html>";
	struct mavis_arena *a = mavis_arena_new(0);
	struct sa_html *h;
	const struct sa_html *parts[1];
	struct {
		const char *fn;
		const char *args[3];
		size_t nargs;
		int want;
	} cases[] = {
		{ "html_test", { "html" }, 1, 1 },
		{ "html_test", { "font_low_contrast" }, 1, 1 },
		{ "html_test", { "embeds" }, 1, 0 },
		{ "html_tag_exists", { "iframe" }, 1, 1 },
		{ "html_tag_exists", { "center" }, 1, 0 },
		{ "html_tag_balance", { "body", "== 0" }, 2, 1 },
		{ "html_eval", { "length", "< 512" }, 2, 1 },
		{ "html_eval", { "length", "> 512" }, 2, 0 },
		{ "html_range", { "length", "0", "1024" }, 3, 1 },
		{ "html_range", { "max_size", "6", "inf" }, 3, 0 },
		{ "html_image_only", { "0000", "0400" }, 2, 1 },
		{ "html_image_only", { "0400", "0800" }, 2, 0 },
		{ "html_image_ratio", { "0.000", "0.002" }, 2, 0 },
		{ "html_title_subject_ratio", { "3.5" }, 1, 1 },
		{ "html_text_match", { "comment", "<!.*?>" }, 2, 1 },
		{ "html_text_match", { "title", ".{120}" }, 2, 0 },
		{ "html_text_not_match", { "title", "^a" }, 2, 0 },
		{ "check_iframe_src", { NULL }, 0, 1 },
		{ "html_charset_faraway", { NULL }, 0, 0 },
		{ "html_nosuch", { NULL }, 0, -1 },
		{ "html_test", { NULL }, 0, -1 },
	};

	CHECK_INT(sa_html_parse(html, sizeof(html) - 1, a, &h), 0);
	parts[0] = h;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = sa_html_eval(parts, 1, "subj", cases[i].fn, cases[i].args, cases[i].nargs);

		if (got != cases[i].want)
			test_fail(__FILE__, __LINE__, "case %zu %s: %d, want %d", i, cases[i].fn, got,
				  cases[i].want);
	}
	CHECK_INT(sa_html_eval(parts, 0, "subj", "html_test", cases[0].args, 1), 0);
	{
		/* NUL bytes in literal text and in attribute names stay in place */
		static const char nul[] = "<xmp>a\0b</xmp><p a\0b=1>c\0d";
		struct sa_html *h2;
		size_t vl;
		const char *v;

		CHECK_INT(sa_html_parse(nul, sizeof(nul) - 1, a, &h2), 0);
		v = sa_html_visible(h2, &vl);
		CHECK_INT(vl, 3 + 4 + 2 + 3);
		CHECK(memcmp(v, "\n\na\0b\n\n\n\nc\0d", vl) == 0);
	}
	mavis_arena_free(&a);
}

int
main(void)
{
	const char *one = getenv("MAVIS_SA_DUMP");

	if (one) {
		size_t n;
		char *html = test_slurp(one, &n);
		struct mavis_arena *a = mavis_arena_new(0);

		if (!html)
			return 2;
		fputs(dump(one, html, n, a), stdout);
		mavis_arena_free(&a);
		free(html);
		return 0;
	}
	TEST_RUN(test_corpus);
	TEST_RUN(test_evals);
	TEST_RUN(test_hostile);
	return test_exit();
}
