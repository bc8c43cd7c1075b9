/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_sa_uri.c - URI finding and canonicalisation against SpamAssassin's own output */

/*
 * t/data/sa/uri/canon.txt (one URI a line) and find.txt (a text body) have
 * .expect files printed by t/sa/uri-oracle.pl (SpamAssassin's
 * uri_list_canonicalize and text URI parser). The test compares sets; with
 * perl and SpamAssassin installed the oracle also runs live.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mavis/arena.h>

#include "harness.h"
#include "sa/sa_parse_int.h"
#include "sa/sa_uri.h"

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

static int
cmp_strp(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static void
esc(struct sa_sb *b, struct mavis_arena *a, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c > 0x7e) {
			char t[8];

			snprintf(t, sizeof(t), "\\x%02x", c);
			sa_sb_add(b, a, t, 4);
		} else {
			sa_sb_addc(b, a, (char)c);
		}
	}
}

static const char *
canon_dump(const char *text, struct mavis_arena *a)
{
	struct sa_sb b = { 0 };
	char *copy = mavis_arena_strdup(a, text), *save, *line;

	sa_sb_add(&b, a, "", 0);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char **v;
		size_t n = sa_uri_canonicalize(line, a, &v);

		if (n)
			qsort(v, n, sizeof(*v), cmp_strp);
		esc(&b, a, line);
		sa_sb_addc(&b, a, '\t');
		for (size_t i = 0; i < n; i++) {
			if (i)
				esc(&b, a, "\x01");
			esc(&b, a, v[i]);
		}
		sa_sb_addc(&b, a, '\n');
	}
	return b.p;
}

static const char *
find_dump(const char *text, size_t len, struct mavis_arena *a)
{
	struct sa_sb b = { 0 };
	const char **v;
	size_t n = sa_uri_find(text, len, a, &v);

	if (n)
		qsort(v, n, sizeof(*v), cmp_strp);
	sa_sb_add(&b, a, "", 0);
	for (size_t i = 0; i < n; i++) {
		esc(&b, a, v[i]);
		sa_sb_addc(&b, a, '\n');
	}
	return b.p;
}

/* line by line; the .expect escapes \x01 as the text "\x01" */
static void
same(const char *name, const char *want, const char *got)
{
	while (*want || *got) {
		size_t wl = strcspn(want, "\n"), gl = strcspn(got, "\n");

		if (wl != gl || memcmp(want, got, wl) != 0) {
			test_fail(__FILE__, __LINE__, "%s:\n  want %.*s\n  got  %.*s", name, (int)wl, want,
				  (int)gl, got);
			return;
		}
		want += wl + (want[wl] == '\n');
		got += gl + (got[gl] == '\n');
	}
}

static void
test_against(const char *mode)
{
	char path[4096], epath[4096], cmd[9000];
	const char *src = getenv("MAVIS_SOURCE_DIR") ? getenv("MAVIS_SOURCE_DIR") : ".";
	size_t tl, el;
	char *text, *expect;
	struct mavis_arena *a = mavis_arena_new(0);
	const char *got;

	snprintf(path, sizeof(path), "%s", test_data_path(mode[0] == 'c' ? "sa/uri/canon.txt"
								    : "sa/uri/find.txt"));
	snprintf(epath, sizeof(epath), "%.*s.expect", (int)(strlen(path) - 4), path);
	text = test_slurp(path, &tl);
	expect = test_slurp(epath, &el);
	CHECK(text && expect);
	if (text && expect) {
		got = mode[0] == 'c' ? canon_dump(text, a) : find_dump(text, tl, a);
		same(mode, expect, got);
		if (system("perl -MMail::SpamAssassin -e 1 >/dev/null 2>&1") == 0) {
			char *live;

			snprintf(cmd, sizeof(cmd), "perl '%s/t/sa/uri-oracle.pl' %s '%s' 2>/dev/null", src,
				 mode, path);
			live = run(cmd);
			CHECK(live != NULL);
			if (live)
				same("the .expect against SpamAssassin now", live, expect);
			free(live);
		}
	}
	free(text);
	free(expect);
	mavis_arena_free(&a);
}

static void
test_canon(void)
{
	test_against("canon");
}

static void
test_find(void)
{
	test_against("find");
}

/* linear on hostile text: long runs without delimiters, many '@' and dots */
static void
test_hostile(void)
{
	static const char *const pieces[] = { "a", "a@", "a.", "http://x", "www.", "@.", "(" };

	for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
		struct mavis_arena *a = mavis_arena_new(0);
		struct sa_sb in = { 0 };
		const char **v;
		struct timespec t0, t1;
		double ms;
		size_t n;

		while (in.len < 128 * 1024)
			sa_sb_add(&in, a, pieces[k], strlen(pieces[k]));
		clock_gettime(CLOCK_MONOTONIC, &t0);
		n = sa_uri_find(in.p, in.len, a, &v);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
		printf("hostile \"%s\" x %zu: %zu URIs in %.1f ms\n", pieces[k], in.len / strlen(pieces[k]),
		       n, ms);
		CHECK(ms < 20000);
		mavis_arena_free(&a);
	}
	{
		struct mavis_arena *a = mavis_arena_new(0);
		struct sa_sb u = { 0 };
		const char **v;

		sa_sb_add(&u, a, "http://r.example/", 17);
		for (int i = 0; i < 200; i++)
			sa_sb_add(&u, a, "?u=http://r.example/", 20);
		CHECK(sa_uri_canonicalize(u.p, a, &v) <= 64);
		mavis_arena_free(&a);
	}
	{
		/* five numeric-looking chunks are no IPv4 host; the fourth chunk
		   longer than the fifth once read past the host (fuzz_sa_uri) */
		struct mavis_arena *a = mavis_arena_new(0);
		const char **v;
		size_t n = sa_uri_canonicalize("http://1.2.3.4444.5/x", a, &v);

		for (size_t i = 0; i < n; i++)
			CHECK(strncmp(v[i], "http://1.2.3.4444.5", 19) == 0);
		static const char crash[] = "w.w--.www.w----\377\377\377\377\377\377\377\377\377"
					    "\377\377\377\377\377\377\377\377\377\377\377\377\377"
					    "\377\377\377\377\377\377--&nbsp;JJ\376\377\377\3621%2e40";
		const char **u;
		size_t k = sa_uri_find(crash, sizeof(crash) - 1, a, &u);

		for (size_t i = 0; i < k; i++)
			CHECK(sa_uri_canonicalize(u[i], a, &v) <= 64);
		mavis_arena_free(&a);
	}
}

int
main(void)
{
	TEST_RUN(test_canon);
	TEST_RUN(test_find);
	TEST_RUN(test_hostile);
	return test_exit();
}
