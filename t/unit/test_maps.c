/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_maps.c - map lists: specs, table kinds, amavisd lookup semantics, failure paths */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mavis/arena.h>
#include <mavis/maps.h>

#include "harness.h"

struct lookup_case {
	const char *key;
	int want;		/* 1 found, 0 not found, <0 error status */
	const char *value;	/* when found */
	const char *matched;	/* when found and not NULL: res.key */
	const char *table;	/* when found and not NULL: res.table */
};

#define N(arr) (sizeof(arr) / sizeof((arr)[0]))

static struct mavis_maplist *
parse_ok(const char *spec, enum mavis_mapval kind, enum mavis_mapkey keytype,
	 struct mavis_arena *a, int line)
{
	struct mavis_maplist *ml = NULL;
	struct mavis_error err = { 0 };
	int r = mavis_maplist_parse(spec, kind, keytype, test_tmpdir(), a, &ml, &err);

	if (r != 0 || ml == NULL)
		test_fail(__FILE__, line, "parse \"%s\": %d %s", spec, r, err.text);
	return ml;
}

static void
run_lookups(const struct mavis_maplist *ml, const struct mavis_map_opts *opts,
	    const struct lookup_case *c, size_t n, int line)
{
	struct mavis_arena *scratch = mavis_arena_new(0);

	for (size_t i = 0; i < n; i++) {
		struct mavis_map_result res;
		struct mavis_error err = { 0 };
		int r = mavis_maplist_lookup(ml, c[i].key, opts, scratch, &res, &err);

		if (r != c[i].want) {
			test_fail(__FILE__, line, "lookup \"%s\" = %d (%s), want %d", c[i].key, r,
				  r == 1 ? res.value : err.text, c[i].want);
			continue;
		}
		if (r != 1)
			continue;
		if (c[i].value != NULL && strcmp(res.value, c[i].value) != 0)
			test_fail(__FILE__, line, "lookup \"%s\": value \"%s\", want \"%s\"",
				  c[i].key, res.value, c[i].value);
		if (c[i].matched != NULL && strcmp(res.key, c[i].matched) != 0)
			test_fail(__FILE__, line, "lookup \"%s\": key \"%s\", want \"%s\"", c[i].key,
				  res.key, c[i].matched);
		if (c[i].table != NULL && strcmp(res.table, c[i].table) != 0)
			test_fail(__FILE__, line, "lookup \"%s\": table \"%s\", want \"%s\"",
				  c[i].key, res.table, c[i].table);
	}
	mavis_arena_free(&scratch);
}

/* ---- value conversions ---- */

static void
test_values(void)
{
	static const struct {
		const char *s;
		bool want;
	} bools[] = {
		{ "", false }, { "0", false }, { "no", false }, { "NO", false }, { "false", false },
		{ "False", false }, { "off", false }, { "n", false }, { "F", false }, { " ", false },
		{ " no ", false }, { "1", true }, { "yes", true }, { "true", true }, { "on", true },
		{ "Y", true }, { "0.0", true }, { "2", true }, { "anything", true },
	};
	static const struct {
		const char *s;
		int r;
		double want;
	} floats[] = {
		{ "6.31", 0, 6.31 }, { "-2", 0, -2 }, { " 1e3 ", 0, 1000 }, { "+0.5", 0, 0.5 },
		{ "", MAVIS_ERR_PARSE, 0 }, { "abc", MAVIS_ERR_PARSE, 0 },
		{ "1.2.3", MAVIS_ERR_PARSE, 0 }, { "nan", MAVIS_ERR_PARSE, 0 },
		{ "inf", MAVIS_ERR_PARSE, 0 }, { "0x10", MAVIS_ERR_PARSE, 0 },
		{ "1e999", MAVIS_ERR_PARSE, 0 }, { "5 5", MAVIS_ERR_PARSE, 0 },
	};
	static const struct {
		const char *s;
		int r;
		uint64_t want;
	} sizes[] = {
		{ "0", 0, 0 }, { "65536", 0, 65536 }, { "10K", 0, 10240 }, { "10k", 0, 10240 },
		{ "2M", 0, 2097152 }, { "1G", 0, 1073741824 }, { " 7 ", 0, 7 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", MAVIS_ERR_PARSE, 0 },
		{ "17179869184G", MAVIS_ERR_PARSE, 0 }, { "", MAVIS_ERR_PARSE, 0 },
		{ "K", MAVIS_ERR_PARSE, 0 }, { "-1", MAVIS_ERR_PARSE, 0 },
		{ "1.5M", MAVIS_ERR_PARSE, 0 }, { "10Q", MAVIS_ERR_PARSE, 0 },
	};

	for (size_t i = 0; i < N(bools); i++)
		if (mavis_map_value_bool(bools[i].s) != bools[i].want)
			test_fail(__FILE__, __LINE__, "bool(\"%s\") != %d", bools[i].s,
				  bools[i].want);
	CHECK(!mavis_map_value_bool(NULL));
	for (size_t i = 0; i < N(floats); i++) {
		double d = -1;
		int r = mavis_map_value_float(floats[i].s, &d);

		if (r != floats[i].r || (r == 0 && d != floats[i].want))
			test_fail(__FILE__, __LINE__, "float(\"%s\") = %d %g", floats[i].s, r, d);
	}
	for (size_t i = 0; i < N(sizes); i++) {
		uint64_t u = 1;
		int r = mavis_map_value_size(sizes[i].s, &u);

		if (r != sizes[i].r || (r == 0 && u != sizes[i].want))
			test_fail(__FILE__, __LINE__, "size(\"%s\") = %d %llu", sizes[i].s, r,
				  (unsigned long long)u);
	}
}

/* ---- ACLs (amavisd lookup_acl) ---- */

static void
test_acl(void)
{
	static const struct lookup_case ref[] = {
		{ "user@example.com", 1, "1", "example.com", "example.com, .example.org, !bad.example.com" },
		{ "User@EXAMPLE.COM.", 1, "1", "example.com", NULL },
		{ "user+ext@example.com", 1, "1", NULL, NULL },
		{ "user@sub.example.com", 0, NULL, NULL, NULL },	/* "dom" is exact */
		{ "user@example.org", 1, "1", ".example.org", NULL },
		{ "user@deep.sub.example.org", 1, "1", ".example.org", NULL },
		{ "user@notexample.org", 0, NULL, NULL, NULL },
		{ "user@bad.example.com", 1, "0", "!bad.example.com", NULL },
		{ "user@other.net", 0, NULL, NULL, NULL },
		{ "", 0, NULL, NULL, NULL },
	};
	static const struct lookup_case catchall[] = {
		{ "user@other.net", 1, "1", ".", NULL },
		{ "user@bad.example.com", 1, "0", NULL, NULL },
		{ "", 1, "1", ".", NULL },
	};
	/* "!." is a defined false: it ends the lookup, later tables are not asked. */
	static const struct lookup_case notall[] = {
		{ "user@example.com", 1, "1", "user@example.com", NULL },
		{ "USER@example.com", 1, "1", NULL, NULL },
		{ "user+x@example.com", 1, "0", "!.", NULL },	/* no extensions in ACLs */
		{ "other@example.com", 1, "0", "!.", "user@example.com, !." },
	};
	static const struct lookup_case neg_first[] = {
		{ "u@bad.example.com", 1, "0", NULL, NULL },
		{ "u@good.example.com", 1, "1", ".example.com", NULL },
		{ "u@example.com", 1, "1", ".example.com", NULL },
		{ "u@x.org", 1, "1", "!!x.org", NULL },
		{ "u@y.org", 0, NULL, NULL, NULL },
	};
	static const struct lookup_case cs_default[] = {
		{ "user@example.com", 1, "1", NULL, NULL },
		{ "USER@example.com", 1, "1", NULL, NULL },
	};
	static const struct lookup_case cs_on[] = {
		{ "user@example.com", 0, NULL, NULL, NULL },
		{ "User@EXAMPLE.com", 1, "1", NULL, NULL },
	};
	struct mavis_map_opts cs = { .recipient_delimiter = "+", .localpart_is_case_sensitive = true };
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_maplist *ml;

	ml = parse_ok("example.com, .example.org, !bad.example.com", MAVIS_MAPVAL_BOOL,
		      MAVIS_MAPKEY_ADDR, a, __LINE__);
	CHECK_INT(mavis_maplist_count(ml), 1);
	run_lookups(ml, NULL, ref, N(ref), __LINE__);
	ml = parse_ok("example.com, .example.org, !bad.example.com, .", MAVIS_MAPVAL_BOOL,
		      MAVIS_MAPKEY_ADDR, a, __LINE__);
	run_lookups(ml, NULL, catchall, N(catchall), __LINE__);
	ml = parse_ok("user@example.com, !., static:1", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_ADDR, a,
		      __LINE__);
	CHECK_INT(mavis_maplist_count(ml), 2);
	run_lookups(ml, NULL, notall, N(notall), __LINE__);
	ml = parse_ok("!bad.example.com .example.com !!x.org", MAVIS_MAPVAL_BOOL,
		      MAVIS_MAPKEY_ADDR, a, __LINE__);
	run_lookups(ml, NULL, neg_first, N(neg_first), __LINE__);
	ml = parse_ok("User@example.com", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_ADDR, a, __LINE__);
	run_lookups(ml, NULL, cs_default, N(cs_default), __LINE__);
	run_lookups(ml, &cs, cs_on, N(cs_on), __LINE__);
	mavis_arena_free(&a);
}

/* A BOOL list keyed by strings (virus names): entries are whole words. */
static void
test_acl_string(void)
{
	static const struct lookup_case c[] = {
		{ "eicar-test-signature", 1, "1", "Eicar-Test-Signature", NULL },
		{ "Heuristics.Phishing.Email", 1, "0", NULL, NULL },
		{ "Heuristics", 0, NULL, NULL, NULL },
		{ "example.com", 0, NULL, NULL, NULL },
	};
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_maplist *ml;

	ml = parse_ok("Eicar-Test-Signature !Heuristics.Phishing.Email", MAVIS_MAPVAL_BOOL,
		      MAVIS_MAPKEY_STRING, a, __LINE__);
	run_lookups(ml, NULL, c, N(c), __LINE__);
	mavis_arena_free(&a);
}

/* ---- hash: files ---- */

static void
test_hash_file(void)
{
	static const struct lookup_case c[] = {
		{ "User+Foo@Sub.Example.COM", 1, "1.5", "user+foo@sub.example.com", "hash:h1.txt" },
		{ "User+Bar@Sub.Example.COM", 1, "2.5", "user@", NULL },
		{ "other@sub.example.com", 1, "3.5", "sub.example.com", NULL },
		{ "other@x.example.com", 1, "4.5", ".example.com", NULL },
		{ "other@example.com", 1, "4.5", ".example.com", NULL },
		{ "dup@example.net", 1, "2", NULL, NULL },
		{ "quoted@example.net", 1, "7.5", NULL, NULL },
		{ "bare@example.net", 1, "1", NULL, NULL },
		{ "crlf@example.net", 1, "8.5", NULL, NULL },
		{ "hash@example.net", 1, "-1", NULL, NULL },
		{ "nobody@elsewhere.org", 0, NULL, NULL, NULL },
		{ "", 0, NULL, NULL, NULL },
	};
	struct mavis_map_opts o = { .recipient_delimiter = "+" };
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_maplist *ml;

	test_write_file("h1.txt",
			"# amavisd-style hash file\n"
			"\n"
			"   \t\n"
			"user@                 2.5\n"
			"Sub.Example.COM       3.5   # trailing comment\n"
			".example.com\t4.5\n"
			"user+foo@sub.example.com 1.5\n"
			"dup@example.net 1\n"
			"dup@example.net 2\n"
			"quoted@example.net \"7.5\"\n"
			"bare@example.net\n"
			"crlf@example.net 8.5\r\n"
			"hash@example.net -1#comment\n"
			"  # indented comment\n");
	ml = parse_ok("hash:h1.txt", MAVIS_MAPVAL_FLOAT, MAVIS_MAPKEY_ADDR, a, __LINE__);
	run_lookups(ml, &o, c, N(c), __LINE__);
	mavis_arena_free(&a);
}

/* amavisd lookup_hash substitutes $1..$5 in values. */
static void
test_hash_expand(void)
{
	static const struct lookup_case c[] = {
		{ "User+Foo@Sub.Example.COM", 1, "user+spam@sub.example.com", ".example.com", NULL },
		{ "X+e@Y.org", 1, "X+e@Y.org|X+e|+e|||$x|$", "x@y.org", NULL },
	};
	struct mavis_map_opts o = { .recipient_delimiter = "+" };
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_maplist *ml;

	test_write_file("h2.txt", ".example.com $3+spam@$5\n"
				  "x@y.org ${1}|$(2)|$4|$9|$0|$x|$\n");
	ml = parse_ok("hash:h2.txt", MAVIS_MAPVAL_STRING, MAVIS_MAPKEY_ADDR, a, __LINE__);
	run_lookups(ml, &o, c, N(c), __LINE__);
	mavis_arena_free(&a);
}

static void
test_hash_string_keys(void)
{
	static const struct lookup_case c[] = {
		{ "EICAR-Test-Signature", 1, "0", NULL, NULL },
		{ "eicar-test-signature", 1, "0", NULL, NULL },
		{ "Sanesecurity.Foo", 1, "0.1", "Sanesecurity.Foo", NULL },
		{ "sanesecurity", 0, NULL, NULL, NULL },
	};
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_maplist *ml;

	test_write_file("v.txt", "Eicar-Test-Signature 0\nsanesecurity.foo 0.1\n");
	ml = parse_ok("hash:v.txt", MAVIS_MAPVAL_FLOAT, MAVIS_MAPKEY_STRING, a, __LINE__);
	run_lookups(ml, NULL, c, N(c), __LINE__);
	mavis_arena_free(&a);
}

/* ---- first defined answer wins across tables, with fall-through ---- */

static void
test_first_defined_wins(void)
{
	static const struct lookup_case c[] = {
		{ "user@example.com", 1, "3.0", "user@example.com", "hash:fdw.txt" },
		{ "x@sub.example.net", 1, "4.0", ".example.net", "hash:fdw.txt" },
		{ "spammer@example.net", 1, "4.0", NULL, "hash:fdw.txt" },
		{ "spammer@foo.org", 1, "9.5", "spammer@foo.org", "pcre:fdw.re" },
		{ "x@a.example.org", 1, "2.0", ".example.org", "inline:{.example.org=2.0}" },
		{ "x@other.org", 1, "6.31", "", "6.31" },
		{ "", 1, "6.31", "", NULL },
	};
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_maplist *ml;

	test_write_file("fdw.txt", "user@example.com 3.0\n.example.net 4.0\n");
	test_write_file("fdw.re", "/^spam/ 9.5\n");
	ml = parse_ok("hash:fdw.txt, pcre:fdw.re, inline:{.example.org=2.0}, 6.31",
		      MAVIS_MAPVAL_FLOAT, MAVIS_MAPKEY_ADDR, a, __LINE__);
	CHECK_INT(mavis_maplist_count(ml), 4);
	run_lookups(ml, NULL, c, N(c), __LINE__);
	mavis_maplist_free(&ml);
	CHECK(ml == NULL);
	mavis_arena_free(&a);
}

/* ---- pcre: ---- */

static void
test_pcre(void)
{
	static const struct lookup_case c[] = {
		{ "Bob@EXAMPLE.com", 1, "user-Bob", "Bob@EXAMPLE.com", "pcre:p1.re" },
		{ "a virus here", 1, "has virus", NULL, NULL },
		{ "xa/bx", 1, "slash", NULL, NULL },
		{ "xz", 1, "[]", NULL, NULL },
		{ "xyz", 1, "[y]", NULL, NULL },
		{ "abcdefghijk", 1, "ia$$", NULL, NULL },
		{ "none", 1, "1", NULL, NULL },
		{ "ONE\nTWO", 1, "multi", NULL, NULL },
		{ "nomatch", 0, NULL, NULL, NULL },
		{ "", 0, NULL, NULL, NULL },
	};
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_maplist *ml;

	test_write_file("p1.re",
			"# comment\n"
			"\n"
			"/^(\\w+)@example\\.com$/i  user-$1\n"
			"/virus/   \"has virus\"\n"
			"/a\\/b/    slash\n"
			"/^x(y)?z$/ [$1]\n"
			"/(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)/ $9${1}$$\n"
			"  /^none$/\n"
			"/^two$/mi multi\n"
			"/ v i r u s /x never-reached\n");
	ml = parse_ok("pcre:p1.re", MAVIS_MAPVAL_STRING, MAVIS_MAPKEY_STRING, a, __LINE__);
	run_lookups(ml, NULL, c, N(c), __LINE__);
	mavis_maplist_free(&ml);
	mavis_arena_free(&a);
}

struct err_case {
	const char *file;	/* contents written to the table file, or NULL */
	const char *spec;
	enum mavis_mapval kind;
	enum mavis_mapkey keytype;
	int status;
	const char *want[3];	/* substrings of the error text */
};

static void
run_err_cases(const struct err_case *c, size_t n, int line)
{
	for (size_t i = 0; i < n; i++) {
		struct mavis_arena *a = mavis_arena_new(0);
		struct mavis_maplist *ml = (struct mavis_maplist *)&ml;
		struct mavis_error err = { 0 };
		int r;

		if (c[i].file != NULL)
			test_write_file("err.txt", c[i].file);
		r = mavis_maplist_parse(c[i].spec, c[i].kind, c[i].keytype, test_tmpdir(), a, &ml,
					&err);
		if (r != c[i].status || (r == 0) != (ml != NULL))
			test_fail(__FILE__, line, "case %zu \"%s\": %d (%s), want %d", i, c[i].spec, r,
				  err.text, c[i].status);
		if (r == 0)
			mavis_maplist_free(&ml);
		for (size_t k = 0; k < 3 && c[i].want[k] != NULL; k++)
			if (strstr(err.text, c[i].want[k]) == NULL)
				test_fail(__FILE__, line, "case %zu \"%s\": \"%s\" lacks \"%s\"", i,
					  c[i].spec, err.text, c[i].want[k]);
		if (c[i].status != 0 && err.status != c[i].status)
			test_fail(__FILE__, line, "case %zu: err.status %d", i, (int)err.status);
		mavis_arena_free(&a);
	}
}

static const struct err_case pcre_errors[] = {
	{ "/(unclosed/ 1\n", "pcre:err.txt", MAVIS_MAPVAL_STRING, MAVIS_MAPKEY_STRING,
	  MAVIS_ERR_CONFIG, { "pcre:err.txt: ", "err.txt:1: regex error at offset", NULL } },
	{ "\n# c\n/ok/ 1\n/x/q 1\n", "pcre:err.txt", MAVIS_MAPVAL_STRING, MAVIS_MAPKEY_STRING,
	  MAVIS_ERR_CONFIG, { "err.txt:4: unknown regex flag 'q'", NULL } },
	{ "/(a)/ $2\n", "pcre:err.txt", MAVIS_MAPVAL_STRING, MAVIS_MAPKEY_STRING,
	  MAVIS_ERR_CONFIG, { "err.txt:1: $2 but the regex has 1 capture group(s)", NULL } },
	{ "/(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)/ $10\n", "pcre:err.txt", MAVIS_MAPVAL_STRING,
	  MAVIS_MAPKEY_STRING, MAVIS_ERR_CONFIG, { "only $1 to $9", NULL } },
	{ "noslash 1\n", "pcre:err.txt", MAVIS_MAPVAL_STRING, MAVIS_MAPKEY_STRING,
	  MAVIS_ERR_CONFIG, { "err.txt:1: expected /regex/", NULL } },
	{ "/unterminated\\/ 1\n", "pcre:err.txt", MAVIS_MAPVAL_STRING, MAVIS_MAPKEY_STRING,
	  MAVIS_ERR_CONFIG, { "unterminated /regex/", NULL } },
	{ "/x/ abc\n", "pcre:err.txt", MAVIS_MAPVAL_FLOAT, MAVIS_MAPKEY_ADDR, MAVIS_ERR_CONFIG,
	  { "err.txt:1: 'abc' is not a number", NULL } },
	/* A value made of captures is only checked at lookup time. */
	{ "/(\\d+)/ $1\n", "pcre:err.txt", MAVIS_MAPVAL_FLOAT, MAVIS_MAPKEY_ADDR, 0, { NULL } },
	{ NULL, "pcre:missing.re", MAVIS_MAPVAL_STRING, MAVIS_MAPKEY_STRING, MAVIS_ERR_IO,
	  { "pcre:missing.re: cannot open ", "missing.re", NULL } },
};

static void
test_pcre_errors(void)
{
	run_err_cases(pcre_errors, N(pcre_errors), __LINE__);
}

/* pcre lookups from many threads share the tables, each with its own match data. */
struct thread_arg {
	const struct mavis_maplist *ml;
	int id;
	int failures;
};

static void *
pcre_thread(void *p)
{
	struct thread_arg *t = p;
	struct mavis_arena *scratch = mavis_arena_new(0);

	for (int i = 0; i < 2000; i++) {
		struct mavis_map_result res;
		char key[64], want[64];

		snprintf(key, sizeof(key), "t%d-%d@example.com", t->id, i);
		snprintf(want, sizeof(want), "%d:%d", i, t->id);
		if (mavis_maplist_lookup(t->ml, key, NULL, scratch, &res, NULL) != 1 ||
		    strcmp(res.value, want) != 0)
			t->failures++;
		if (i % 100 == 0)
			mavis_arena_reset(scratch);
	}
	mavis_arena_free(&scratch);
	return NULL;
}

static void
test_pcre_threads(void)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_maplist *ml;
	pthread_t th[4];
	struct thread_arg arg[4];

	test_write_file("thr.re", "/^t(\\d+)-(\\d+)@/ $2:$1\n");
	ml = parse_ok("pcre:thr.re", MAVIS_MAPVAL_STRING, MAVIS_MAPKEY_ADDR, a, __LINE__);
	for (int i = 0; i < 4; i++) {
		arg[i] = (struct thread_arg){ ml, i, 0 };
		CHECK_INT(pthread_create(&th[i], NULL, pcre_thread, &arg[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		CHECK_INT(pthread_join(th[i], NULL), 0);
		CHECK_INT(arg[i].failures, 0);
	}
	mavis_maplist_free(&ml);
	mavis_arena_free(&a);
}

/* ---- cidr: and IP-keyed lists ---- */

static void
test_cidr(void)
{
	static const struct lookup_case c[] = {
		{ "10.1.2.3", 1, "0", "!10.1.2.3", "cidr:c1.txt" },
		{ "10.9.9.9", 1, "internal", "10.0.0.0/8", NULL },
		{ "::1", 1, "loopback", "[::1]", NULL },
		{ "192.168.5.5", 1, "lan net", "192.168/16", NULL },
		{ "2001:db8::7", 1, "docs", NULL, NULL },
		{ "::ffff:10.9.9.9", 1, "internal", NULL, NULL },
		{ "8.8.8.8", 1, "elsewhere", "0/0", NULL },
		{ "2001:db9::1", 0, NULL, NULL, NULL },
		{ "not-an-ip", 0, NULL, NULL, NULL },
	};
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_maplist *ml;

	test_write_file("c1.txt", "# cidr table\n"
				  "!10.1.2.3\n"
				  "10.0.0.0/8 internal\n"
				  "[::1] loopback\n"
				  "192.168/16 \"lan net\"\n"
				  "2001:db8::/32 docs # comment\n"
				  "0/0 elsewhere\n");
	ml = parse_ok("cidr:c1.txt", MAVIS_MAPVAL_STRING, MAVIS_MAPKEY_IP, a, __LINE__);
	run_lookups(ml, NULL, c, N(c), __LINE__);
	mavis_arena_free(&a);
}

static void
test_ip_lists(void)
{
	static const struct lookup_case mynets[] = {
		{ "10.1.2.3", 1, "1", "10.0.0.0/8", NULL },
		{ "[::1]", 1, "1", "[::1]", NULL },
		{ "fe80::1", 1, "1", "[fe80::]/10", NULL },
		{ "8.8.8.8", 0, NULL, NULL, NULL },
		{ "2001:db8::1", 0, NULL, NULL, NULL },
		{ "unknown", 0, NULL, NULL, NULL },
	};
	/* hash: and inline: tables in an IP-keyed list hold networks. */
	static const struct lookup_case tables[] = {
		{ "10.1.2.3", 1, "0", "!10.1.2.3", NULL },
		{ "10.2.2.2", 1, "1", "10/8", NULL },
		{ "192.168.7.7", 1, "1", "192.168", "hash:ip.txt" },
		{ "172.16.0.1", 1, "0", "172.16.0.1", NULL },
		{ "172.16.0.2", 1, "yes", "", "static:yes" },
		{ "fe80::2", 1, "1", "fe80::/10", NULL },
	};
	static const struct lookup_case lone_no[] = {
		{ "10.1.2.3", 1, "no", "", "no" },
	};
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_maplist *ml;

	ml = parse_ok("127.0.0.0/8 [::1] 169.254.0.0/16 [fe80::]/10 10.0.0.0/8 172.16.0.0/12 "
		      "192.168.0.0/16 [fc00::]/7",
		      MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_IP, a, __LINE__);
	CHECK_INT(mavis_maplist_count(ml), 1);
	run_lookups(ml, NULL, mynets, N(mynets), __LINE__);
	test_write_file("ip.txt", "192.168 1\n172.16.0.1 0\n");
	ml = parse_ok("inline:{!10.1.2.3, 10/8}, hash:ip.txt fe80::/10, static:yes",
		      MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_IP, a, __LINE__);
	CHECK_INT(mavis_maplist_count(ml), 4);
	run_lookups(ml, NULL, tables, N(tables), __LINE__);
	ml = parse_ok("no", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_IP, a, __LINE__);
	run_lookups(ml, NULL, lone_no, N(lone_no), __LINE__);
	mavis_arena_free(&a);
}

/* ---- inline: ---- */

static void
test_inline(void)
{
	static const struct lookup_case c[] = {
		{ "user@example.com", 1, "one", "user@example.com", NULL },
		{ "a@b.Example.org", 1, "two words", ".example.org", NULL },
		{ "SRS0=abc@x.net", 1, "three", "srs0=abc@x.net", NULL },
		{ "k4", 1, "1", "k4", NULL },
		{ "k5@x", 1, "1", NULL, NULL },
		{ "q@x.net", 1, "a, b", NULL, NULL },
		{ "other@z", 1, "dflt", "", "static:dflt" },
	};
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_maplist *ml;

	ml = parse_ok("inline:{ user@example.com=one, { .example.org = two words },\n"
		      "\"srs0=abc@x.net\"=three k4 k5@x= \"q@x.net\"=\"a, b\" }, static:dflt",
		      MAVIS_MAPVAL_STRING, MAVIS_MAPKEY_ADDR, a, __LINE__);
	CHECK_INT(mavis_maplist_count(ml), 2);
	run_lookups(ml, NULL, c, N(c), __LINE__);
	mavis_arena_free(&a);
}

/* ---- static constants and bare tokens ---- */

struct static_case {
	const char *spec;
	enum mavis_mapval kind;
	enum mavis_mapkey keytype;
	int status;
	const char *value;	/* of any lookup, when status is 0 */
	const char *err;	/* substring of the error, when status < 0 */
};

static const struct static_case static_cases[] = {
	{ "static:6.31", MAVIS_MAPVAL_FLOAT, MAVIS_MAPKEY_ADDR, 0, "6.31", NULL },
	{ "6.31", MAVIS_MAPVAL_FLOAT, MAVIS_MAPKEY_ADDR, 0, "6.31", NULL },
	{ "-999", MAVIS_MAPVAL_FLOAT, MAVIS_MAPKEY_STRING, 0, "-999", NULL },
	{ "static:abc", MAVIS_MAPVAL_FLOAT, MAVIS_MAPKEY_ADDR, MAVIS_ERR_CONFIG, NULL,
	  "static:abc: 'abc' is not a number" },
	{ "abc", MAVIS_MAPVAL_FLOAT, MAVIS_MAPKEY_ADDR, MAVIS_ERR_CONFIG, NULL,
	  "abc: 'abc' is not a number" },
	{ "10M", MAVIS_MAPVAL_SIZE, MAVIS_MAPKEY_ADDR, 0, "10M", NULL },
	{ "static:10Q", MAVIS_MAPVAL_SIZE, MAVIS_MAPKEY_ADDR, MAVIS_ERR_CONFIG, NULL,
	  "'10Q' is not a size" },
	{ "abc", MAVIS_MAPVAL_STRING, MAVIS_MAPKEY_ADDR, 0, "abc", NULL },
	{ "\"***SPAM*** \"", MAVIS_MAPVAL_STRING, MAVIS_MAPKEY_ADDR, 0, "***SPAM*** ", NULL },
	{ "static:\"a, b\"", MAVIS_MAPVAL_STRING, MAVIS_MAPKEY_ADDR, 0, "a, b", NULL },
	{ "static:", MAVIS_MAPVAL_STRING, MAVIS_MAPKEY_ADDR, 0, "", NULL },
	{ "first second", MAVIS_MAPVAL_STRING, MAVIS_MAPKEY_ADDR, 0, "first", NULL },
	{ "yes", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_ADDR, 0, "yes", NULL },
	{ "0", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_ADDR, 0, "0", NULL },
	{ "FALSE", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_STRING, 0, "FALSE", NULL },
	{ "static:off", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_ADDR, 0, "off", NULL },
	{ "static:REJECT", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_ADDR, MAVIS_ERR_CONFIG, NULL,
	  "'REJECT' is not a boolean" },
	{ "example.com, 1", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_ADDR, MAVIS_ERR_CONFIG, NULL,
	  "'1' inside a list of addresses: write static:1" },
	{ "10/8 no", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_IP, MAVIS_ERR_CONFIG, NULL,
	  "'no' inside a list of networks" },
	/* A colon makes a type prefix; quotes or static: keep a value whole. */
	{ "smtp:[127.0.0.1]:10025", MAVIS_MAPVAL_STRING, MAVIS_MAPKEY_ADDR, MAVIS_ERR_CONFIG,
	  NULL, "map type smtp: not available (quote" },
	{ "\"smtp:[127.0.0.1]:10025\"", MAVIS_MAPVAL_STRING, MAVIS_MAPKEY_ADDR, 0,
	  "smtp:[127.0.0.1]:10025", NULL },
	{ "static:smtp:[127.0.0.1]:10025", MAVIS_MAPVAL_STRING, MAVIS_MAPKEY_ADDR, 0,
	  "smtp:[127.0.0.1]:10025", NULL },
};

static void
test_static(void)
{
	for (size_t i = 0; i < N(static_cases); i++) {
		const struct static_case *c = &static_cases[i];
		struct mavis_arena *a = mavis_arena_new(0);
		struct mavis_maplist *ml = NULL;
		struct mavis_error err = { 0 };
		struct mavis_map_result res;
		int r = mavis_maplist_parse(c->spec, c->kind, c->keytype, NULL, a, &ml, &err);

		if (r != c->status) {
			test_fail(__FILE__, __LINE__, "case %zu \"%s\": %d (%s), want %d", i, c->spec,
				  r, err.text, c->status);
		} else if (r == 0) {
			r = mavis_maplist_lookup(ml, c->keytype == MAVIS_MAPKEY_IP ? "1.2.3.4" :
						 "any@example.com", NULL, a, &res, &err);
			if (r != 1 || strcmp(res.value, c->value) != 0)
				test_fail(__FILE__, __LINE__, "case %zu \"%s\": lookup %d \"%s\"", i,
					  c->spec, r, r == 1 ? res.value : err.text);
		} else if (strstr(err.text, c->err) == NULL) {
			test_fail(__FILE__, __LINE__, "case %zu \"%s\": \"%s\" lacks \"%s\"", i,
				  c->spec, err.text, c->err);
		}
		mavis_arena_free(&a);
	}
}

/* ---- bad specs and bad files ---- */

static const struct err_case spec_errors[] = {
	{ NULL, "pgsql:policy", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_ADDR, MAVIS_ERR_CONFIG,
	  { "pgsql:policy: map type pgsql: not available", NULL } },
	{ NULL, "static:1, pgsql:policy", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_ADDR, MAVIS_ERR_CONFIG,
	  { "map type pgsql: not available", NULL } },
	{ NULL, "hash:/nonexistent/x.txt", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_ADDR, MAVIS_ERR_IO,
	  { "hash:/nonexistent/x.txt: cannot open /nonexistent/x.txt", NULL } },
	{ NULL, "cidr:nonexistent.txt", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_IP, MAVIS_ERR_IO,
	  { "cannot open /", "/nonexistent.txt", NULL } },
	{ NULL, "hash:.", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_ADDR, MAVIS_ERR_IO,
	  { "not a regular file", NULL } },
	{ NULL, "hash:", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_ADDR, MAVIS_ERR_CONFIG,
	  { "hash:: missing file name", NULL } },
	{ NULL, "inline:{a=1", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_ADDR, MAVIS_ERR_CONFIG,
	  { "missing '}'", NULL } },
	{ NULL, "inline:{a=1}{b=2}", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_ADDR, MAVIS_ERR_CONFIG,
	  { "inline: wants {key=value", NULL } },
	{ NULL, "inline:abc", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_ADDR, MAVIS_ERR_CONFIG,
	  { "inline:abc: inline: wants", NULL } },
	{ NULL, "inline:{=1}", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_ADDR, MAVIS_ERR_CONFIG,
	  { "empty key", NULL } },
	{ NULL, "inline:{k = v}", MAVIS_MAPVAL_STRING, MAVIS_MAPKEY_ADDR, MAVIS_ERR_CONFIG,
	  { "empty key", NULL } },
	{ NULL, "inline:{a=abc}", MAVIS_MAPVAL_FLOAT, MAVIS_MAPKEY_ADDR, MAVIS_ERR_CONFIG,
	  { "inline:{a=abc}: 'abc' is not a number", NULL } },
	{ NULL, "inline:{10.0.0.0/33=1}", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_IP, MAVIS_ERR_CONFIG,
	  { "bad IP network '10.0.0.0/33'", NULL } },
	{ NULL, "inline:{!10.0.0.1=1}", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_IP, MAVIS_ERR_CONFIG,
	  { "negated entry '!10.0.0.1' takes no value", NULL } },
	{ NULL, "a}", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_ADDR, MAVIS_ERR_CONFIG,
	  { "unbalanced '}'", NULL } },
	{ NULL, "ok.example \"abc", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_ADDR, MAVIS_ERR_CONFIG,
	  { "unterminated quote", NULL } },
	{ NULL, "example.com, !", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_ADDR, MAVIS_ERR_CONFIG,
	  { "example.com, !: empty ACL entry '!'", NULL } },
	{ NULL, "10.0.0.0/8 [::1 ", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_IP, MAVIS_ERR_CONFIG,
	  { "bad IP network '[::1'", NULL } },
	{ NULL, "example.com", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_IP, MAVIS_ERR_CONFIG,
	  { "bad IP network 'example.com'", NULL } },
	/* Values inside files are checked against the list's kind, with file:line. */
	{ "ok@x 1\nbad@x abc\n", "hash:err.txt", MAVIS_MAPVAL_FLOAT, MAVIS_MAPKEY_ADDR,
	  MAVIS_ERR_CONFIG, { "hash:err.txt: ", "/err.txt:2: 'abc' is not a number", NULL } },
	{ "ok@x yes\nbad@x maybe\n", "hash:err.txt", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_ADDR,
	  MAVIS_ERR_CONFIG, { "err.txt:2: 'maybe' is not a boolean", NULL } },
	{ "a@x \"unterminated\n", "hash:err.txt", MAVIS_MAPVAL_STRING, MAVIS_MAPKEY_ADDR,
	  MAVIS_ERR_CONFIG, { "err.txt:1: unterminated quote", NULL } },
	{ "10.0.0.0/8 1\n\n10.0.0.0/33 1\n", "cidr:err.txt", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_IP,
	  MAVIS_ERR_CONFIG, { "cidr:err.txt: ", "err.txt:3: bad IP network '10.0.0.0/33'", NULL } },
	{ "!10.0.0.1 x\n", "cidr:err.txt", MAVIS_MAPVAL_STRING, MAVIS_MAPKEY_IP,
	  MAVIS_ERR_CONFIG, { "err.txt:1: negated entry", NULL } },
	{ "10.0.0.0/8 abc\n", "hash:err.txt", MAVIS_MAPVAL_SIZE, MAVIS_MAPKEY_IP,
	  MAVIS_ERR_CONFIG, { "err.txt:1: 'abc' is not a size", NULL } },
	{ "10.0.0.1 1\n", "cidr:err.txt, hash:/nonexistent", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_IP,
	  MAVIS_ERR_IO, { "hash:/nonexistent: cannot open", NULL } },
	/* The good pcre table before the bad one is released (LeakSanitizer). */
	{ "/x/ 1\n", "pcre:err.txt, pcre:/nonexistent", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_ADDR,
	  MAVIS_ERR_IO, { "pcre:/nonexistent: cannot open", NULL } },
};

static void
test_spec_errors(void)
{
	run_err_cases(spec_errors, N(spec_errors), __LINE__);
}

static void
write_bytes(const char *name, const char *data, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	CHECK_INT(fwrite(data, 1, len, f), len);
	CHECK_INT(fclose(f), 0);
}

static int
parse_err(const char *spec, enum mavis_mapval kind, struct mavis_error *err)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_maplist *ml = NULL;
	int r = mavis_maplist_parse(spec, kind, MAVIS_MAPKEY_ADDR, test_tmpdir(), a, &ml, err);

	mavis_maplist_free(&ml);
	mavis_arena_free(&a);
	return r;
}

static void
test_limits(void)
{
	struct mavis_error err = { 0 };
	size_t n = 70 * 1024, entries = 1024 * 1024 + 1;
	char *buf = malloc(entries * 2 + n + 16);
	char path[512];

	if (buf == NULL)
		return;
	/* An over-long line, on line 2. */
	memcpy(buf, "a@x 1\nb@x ", 10);
	memset(buf + 10, 'v', n);
	memcpy(buf + 10 + n, "\n", 2);
	write_bytes("long.txt", buf, strlen(buf));
	CHECK_INT(parse_err("hash:long.txt", MAVIS_MAPVAL_STRING, &err), MAVIS_ERR_LIMIT);
	CHECK(strstr(err.text, "long.txt:2: line longer than 65536 bytes") != NULL);
	CHECK(strstr(err.text, "hash:long.txt: ") == err.text);
	memcpy(buf, "/a/ 1\n/b/ ", 10);
	write_bytes("long.re", buf, strlen(buf));
	CHECK_INT(parse_err("pcre:long.re", MAVIS_MAPVAL_STRING, &err), MAVIS_ERR_LIMIT);
	CHECK(strstr(err.text, "long.re:2: line longer than 65536 bytes") != NULL);

	/* A NUL byte would cut an entry short. */
	write_bytes("nul.txt", "a@x 1\n\nb@x 2\0 3\n", 16);
	CHECK_INT(parse_err("hash:nul.txt", MAVIS_MAPVAL_STRING, &err), MAVIS_ERR_CONFIG);
	CHECK(strstr(err.text, "nul.txt:3: NUL byte") != NULL);

	/* More than 1M entries. */
	for (size_t i = 0; i < entries; i++)
		memcpy(buf + 2 * i, "k\n", 2);
	write_bytes("many.txt", buf, entries * 2);
	CHECK_INT(parse_err("hash:many.txt", MAVIS_MAPVAL_STRING, &err), MAVIS_ERR_LIMIT);
	CHECK(strstr(err.text, "many.txt:1048577: more than 1048576 entries") != NULL);
	/* Exactly 1M is fine (duplicates collapse into one key). */
	write_bytes("many.txt", buf, (entries - 1) * 2);
	CHECK_INT(parse_err("hash:many.txt", MAVIS_MAPVAL_STRING, &err), 0);

	/* A file over 64 MiB (sparse, so the test stays cheap). */
	snprintf(path, sizeof(path), "%s", test_write_file("huge.txt", ""));
	CHECK_INT(truncate(path, (off_t)65 * 1024 * 1024), 0);
	CHECK_INT(parse_err("hash:huge.txt", MAVIS_MAPVAL_STRING, &err), MAVIS_ERR_LIMIT);
	CHECK(strstr(err.text, "larger than") != NULL);
	CHECK_INT(parse_err("pcre:huge.txt", MAVIS_MAPVAL_STRING, &err), MAVIS_ERR_LIMIT);
	CHECK_INT(unlink(path), 0);

	/* A spec over 64 KiB. */
	memset(buf, ' ', n);
	buf[n] = '\0';
	CHECK_INT(parse_err(buf, MAVIS_MAPVAL_STRING, &err), MAVIS_ERR_LIMIT);
	CHECK(strstr(err.text, "map spec longer than") != NULL);
	free(buf);
}

static void
test_empty(void)
{
	static const char *const specs[] = { "", "   ", " , ,\t\n", NULL };
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_maplist *ml;
	struct mavis_map_result res = { "x", "y", "z" };

	for (size_t i = 0; i < N(specs); i++) {
		ml = NULL;
		CHECK_INT(mavis_maplist_parse(specs[i], MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_ADDR, NULL,
					      a, &ml, NULL), 0);
		CHECK(ml != NULL);
		CHECK_INT(mavis_maplist_count(ml), 0);
		CHECK_INT(mavis_maplist_lookup(ml, "a@b", NULL, a, &res, NULL), 0);
		CHECK(res.value == NULL && res.table == NULL && res.key == NULL);
		mavis_maplist_free(&ml);
		CHECK(ml == NULL);
	}
	CHECK_INT(mavis_maplist_count(NULL), 0);
	CHECK_INT(mavis_maplist_lookup(NULL, "a@b", NULL, a, &res, NULL), 0);
	mavis_maplist_free(&ml);
	mavis_maplist_free(NULL);
	CHECK_INT(mavis_maplist_parse("1", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_ADDR, NULL, NULL, &ml,
				      NULL), MAVIS_ERR_INTERNAL);
	mavis_arena_free(&a);
}

static void
test_lookup_misuse(void)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_maplist *ml;
	struct mavis_error err = { 0 };
	struct mavis_map_result res;

	ml = parse_ok("inline:{a@b=1}", MAVIS_MAPVAL_BOOL, MAVIS_MAPKEY_ADDR, a, __LINE__);
	/* Address keys are built in the scratch arena; without one, no lookup. */
	CHECK_INT(mavis_maplist_lookup(ml, "a@b", NULL, NULL, &res, &err), MAVIS_ERR_INTERNAL);
	CHECK(strstr(err.text, "scratch") != NULL);
	CHECK_INT(mavis_maplist_lookup(ml, NULL, NULL, a, &res, &err), MAVIS_ERR_INTERNAL);
	/* res may be NULL when only the answer "found" matters. */
	CHECK_INT(mavis_maplist_lookup(ml, "a@b", NULL, a, NULL, NULL), 1);
	mavis_arena_free(&a);
}

/* ---- registered table types ---- */

static int tdb_opens, tdb_closes;

static int
tdb_open(const char *arg, enum mavis_mapval kind, enum mavis_mapkey keytype,
	 struct mavis_arena *arena, void **state, struct mavis_error *err)
{
	if (strcmp(arg, "fail") == 0)
		return mavis_error_set(err, MAVIS_ERR_SQL, "cannot connect");
	*state = mavis_arena_strdup(arena, arg);
	tdb_opens++;
	return 0;
}

static int
tdb_lookup(void *state, const char *key, const struct mavis_map_opts *opts,
	   struct mavis_arena *scratch, const char **value, struct mavis_error *err)
{
	if (strncmp(key, "found@", 6) == 0) {
		*value = mavis_arena_printf(scratch, "%s:%s", (const char *)state, key);
		return 1;
	}
	if (strncmp(key, "down@", 5) == 0)
		return mavis_error_set(err, MAVIS_ERR_SQL, "db down");
	return 0;
}

static void
tdb_close(void *state)
{
	tdb_closes++;
}

static void
test_registry(void)
{
	static const struct mavis_map_type tdb = { "testdb", tdb_open, tdb_lookup, tdb_close };
	static const struct lookup_case c[] = {
		{ "found@x", 1, "policy:found@x", "found@x", "testdb:policy" },
		{ "other@x", 1, "dflt", "", "static:dflt" },
		{ "down@x", MAVIS_ERR_SQL, NULL, NULL, NULL },
	};
	struct mavis_map_type t = tdb;
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_maplist *ml;
	struct mavis_error err = { 0 };
	char name[16];
	int r = 0;

	CHECK_INT(mavis_map_register_type(&tdb), 0);
	ml = parse_ok("testdb:policy, static:dflt", MAVIS_MAPVAL_STRING, MAVIS_MAPKEY_ADDR, a,
		      __LINE__);
	CHECK_INT(tdb_opens, 1);
	run_lookups(ml, NULL, c, N(c), __LINE__);
	CHECK_INT(mavis_maplist_lookup(ml, "down@x", NULL, a, NULL, &err), MAVIS_ERR_SQL);
	CHECK_STR(err.text, "testdb:policy: db down");
	mavis_maplist_free(&ml);
	CHECK_INT(tdb_closes, 1);

	CHECK_INT(mavis_maplist_parse("testdb:fail", MAVIS_MAPVAL_STRING, MAVIS_MAPKEY_ADDR, NULL,
				      a, &ml, &err), MAVIS_ERR_SQL);
	CHECK_STR(err.text, "testdb:fail: cannot connect");
	/* A table opened before a failing one is closed again. */
	CHECK_INT(mavis_maplist_parse("testdb:a, hash:/nonexistent", MAVIS_MAPVAL_STRING,
				      MAVIS_MAPKEY_ADDR, NULL, a, &ml, &err), MAVIS_ERR_IO);
	CHECK_INT(tdb_opens, 2);
	CHECK_INT(tdb_closes, 2);

	CHECK_INT(mavis_map_register_type(&tdb), MAVIS_ERR_CONFIG);	/* taken */
	CHECK_INT(mavis_map_register_type(NULL), MAVIS_ERR_CONFIG);
	t.name = "hash";
	CHECK_INT(mavis_map_register_type(&t), MAVIS_ERR_CONFIG);	/* built in */
	t.name = "Bad-Name";
	CHECK_INT(mavis_map_register_type(&t), MAVIS_ERR_CONFIG);
	t.name = "";
	CHECK_INT(mavis_map_register_type(&t), MAVIS_ERR_CONFIG);
	t.name = "nolookup";
	t.lookup = NULL;
	CHECK_INT(mavis_map_register_type(&t), MAVIS_ERR_CONFIG);
	/* The registry copies the name: a local buffer is fine. */
	t = tdb;
	snprintf(name, sizeof(name), "local");
	t.name = name;
	CHECK_INT(mavis_map_register_type(&t), 0);
	snprintf(name, sizeof(name), "xxxxx");
	ml = parse_ok("local:q", MAVIS_MAPVAL_STRING, MAVIS_MAPKEY_ADDR, a, __LINE__);
	mavis_maplist_free(&ml);
	/* The registry is small and fixed; it ends up full. */
	for (int i = 0; i < 100 && r == 0; i++) {
		snprintf(name, sizeof(name), "db%d", i);
		r = mavis_map_register_type(&t);
	}
	CHECK_INT(r, MAVIS_ERR_CONFIG);
	mavis_arena_free(&a);
}

int
main(void)
{
	TEST_RUN(test_values);
	TEST_RUN(test_acl);
	TEST_RUN(test_acl_string);
	TEST_RUN(test_hash_file);
	TEST_RUN(test_hash_expand);
	TEST_RUN(test_hash_string_keys);
	TEST_RUN(test_first_defined_wins);
	TEST_RUN(test_pcre);
	TEST_RUN(test_pcre_errors);
	TEST_RUN(test_pcre_threads);
	TEST_RUN(test_cidr);
	TEST_RUN(test_ip_lists);
	TEST_RUN(test_inline);
	TEST_RUN(test_static);
	TEST_RUN(test_spec_errors);
	TEST_RUN(test_limits);
	TEST_RUN(test_empty);
	TEST_RUN(test_lookup_misuse);
	TEST_RUN(test_registry);
	return test_exit();
}
