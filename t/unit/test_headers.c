/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_headers.c - header section model: add, parse, lookups, unfold, addresses */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mavis/arena.h>
#include <mavis/buf.h>
#include <mavis/headers.h>

#include "harness.h"

#define L(s) (s), (sizeof(s) - 1)

static bool
mem_is(const char *p, size_t n, const char *want, size_t wantlen)
{
	return n == wantlen && memcmp(p, want, n) == 0;
}

static void
test_add(void)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_headers *h = mavis_headers_new(a, NULL);
	const struct mavis_header_field *f;

	CHECK_INT(mavis_headers_add(h, L("Subject"), L(" hello\r\n\tworld")), 0);
	CHECK_INT(mavis_headers_add(h, L("X-Nul"), L(" a\0b")), 0);
	CHECK_INT(mavis_headers_add(h, NULL, 0, NULL, 0), 0);
	CHECK_INT(mavis_headers_count(h), 3);
	f = mavis_headers_nth(h, 0);
	CHECK_STR(f->name, "Subject");
	CHECK(mem_is(f->value, f->valuelen, L(" hello\r\n\tworld")));
	CHECK(mem_is(f->raw, f->rawlen, L("Subject: hello\r\n\tworld")));
	CHECK_STR(f->eol, "");
	CHECK_INT(f->flags, 0);
	f = mavis_headers_nth(h, 1);
	CHECK(mem_is(f->value, f->valuelen, L(" a\0b")));
	CHECK_INT(f->value[f->valuelen], '\0');
	f = mavis_headers_nth(h, 2);
	CHECK(mem_is(f->raw, f->rawlen, L(":")));
	CHECK(mavis_headers_nth(h, 3) == NULL);
	CHECK(!mavis_headers_truncated(h));
	mavis_arena_free(&a);
}

static void
test_limits(void)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_headers_limits lim = {.max_fields = 3, .max_bytes = 0};
	struct mavis_headers *h = mavis_headers_new(a, &lim);
	size_t off = 0;

	for (int i = 0; i < 3; i++)
		CHECK_INT(mavis_headers_add(h, L("A"), L(" b")), 0);
	CHECK_INT(mavis_headers_add(h, L("A"), L(" b")), MAVIS_ERR_LIMIT);
	CHECK(mavis_headers_truncated(h));
	CHECK_INT(mavis_headers_count(h), 3);

	/* Byte limit; sticky afterwards even for a field that would fit. */
	lim.max_fields = 0;
	lim.max_bytes = 20;
	h = mavis_headers_new(a, &lim);
	CHECK_INT(mavis_headers_add(h, L("Subject"), L(" 1234567")), 0);	/* 16 */
	CHECK_INT(mavis_headers_add(h, L("Subject"), L(" 1234567")), MAVIS_ERR_LIMIT);
	CHECK_INT(mavis_headers_add(h, L("A"), L("")), MAVIS_ERR_LIMIT);
	CHECK_INT(mavis_headers_count(h), 1);
	/* Huge lengths must not wrap the accounting. */
	h = mavis_headers_new(a, &lim);
	CHECK_INT(mavis_headers_add(h, "x", SIZE_MAX, "y", SIZE_MAX), MAVIS_ERR_LIMIT);

	/* parse_block over the limit still finds the body. */
	lim.max_fields = 2;
	lim.max_bytes = 0;
	h = mavis_headers_new(a, &lim);
	CHECK_INT(mavis_headers_parse_block(h, L("A: 1\nB: 2\nC: 3\nD: 4\n\nbody"), &off),
		  MAVIS_ERR_LIMIT);
	CHECK_INT(off, 21);
	CHECK_INT(mavis_headers_count(h), 2);
	CHECK_STR(mavis_headers_nth(h, 1)->name, "B");
	mavis_arena_free(&a);
}

/* Reassemble the parsed fields; must equal the header part of the input. */
static void
check_roundtrip(const char *block, size_t len, size_t want_fields, size_t want_off)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_headers *h = mavis_headers_new(a, NULL);
	struct mavis_buf b = {0};
	size_t off = 12345;

	CHECK_INT(mavis_headers_parse_block(h, block, len, &off), 0);
	CHECK_INT(mavis_headers_count(h), want_fields);
	CHECK_INT(off, want_off);
	for (size_t i = 0; i < mavis_headers_count(h); i++) {
		const struct mavis_header_field *f = mavis_headers_nth(h, i);

		mavis_buf_append(&b, f->raw, f->rawlen);
		mavis_buf_puts(&b, f->eol);
	}
	/* The separator line itself is not part of any field. */
	CHECK(b.len <= off);
	CHECK(b.len == 0 || memcmp(b.data, block, b.len) == 0);
	CHECK(off - b.len <= 2);
	mavis_buf_free(&b);
	mavis_arena_free(&a);
}

static void
test_parse_block(void)
{
	static const struct {
		const char *name;
		const char *block;
		size_t len;
		size_t fields;
		size_t off;
	} cases[] = {
		{"crlf", L("From: a@b\r\nSubject: x\r\n\r\nbody\r\n"), 2, 25},
		{"lf", L("From: a@b\nSubject: x\n\nbody\n"), 2, 22},
		{"mixed", L("From: a@b\r\nSubject: x\n\r\nbody"), 2, 24},
		{"folded crlf", L("Subject: a\r\n b\r\n\tc\r\nTo: x\r\n\r\n"), 2, 29},
		{"no blank line", L("From: a@b\r\nSubject: x"), 2, 21},
		{"no blank line, final crlf", L("From: a@b\r\n"), 1, 11},
		{"empty", "", 0, 0, 0},
		{"only separator", L("\r\nbody"), 0, 2},
		{"only lf separator", L("\nbody"), 0, 1},
		{"leading wsp line", L(" cont: x\nA: b\n\n"), 2, 15},
		{"no colon", L("From: a\nGarbage line\nTo: b\n\n"), 3, 28},
		{"bare cr kept", L("Subject: a\rb\r\n\r\n"), 1, 16},
		{"nul kept", L("Subject: a\0b\n\n"), 1, 14},
		{"blank with spaces is a fold", L("A: b\n  \nC: d\n\n"), 2, 14},
		{"cr cr lf", L("A: b\r\r\n\r\n"), 1, 9},
		{"lone cr at end", L("A: b\r"), 1, 5},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		test_current = cases[i].name;
		check_roundtrip(cases[i].block, cases[i].len, cases[i].fields, cases[i].off);
	}
	test_current = "test_parse_block";
}

static void
test_parse_fields(void)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_headers *h = mavis_headers_new(a, NULL);
	const struct mavis_header_field *f;
	size_t off;

	CHECK_INT(mavis_headers_parse_block(h, L("Subject : x\r\n y\r\nGarbage\r\n"
						 "X-N\0ul: v\nA: b\r\r\n\n"), &off), 0);
	CHECK_INT(mavis_headers_count(h), 4);
	f = mavis_headers_nth(h, 0);
	CHECK_STR(f->name, "Subject");
	CHECK(mem_is(f->value, f->valuelen, L(" x\r\n y")));
	CHECK(mem_is(f->raw, f->rawlen, L("Subject : x\r\n y")));
	CHECK_STR(f->eol, "\r\n");
	f = mavis_headers_nth(h, 1);
	CHECK_INT(f->flags, MAVIS_HEADER_F_NOCOLON);
	CHECK_STR(f->name, "");
	CHECK(mem_is(f->value, f->valuelen, L("Garbage")));
	f = mavis_headers_nth(h, 2);
	CHECK(mem_is(f->name, f->namelen, L("X-N\0ul")));
	CHECK_STR(f->eol, "\n");
	f = mavis_headers_nth(h, 3);
	CHECK(mem_is(f->value, f->valuelen, L(" b\r")));
	CHECK_STR(f->eol, "\r\n");

	/* A colon on a continuation line does not make a name. */
	h = mavis_headers_new(a, NULL);
	CHECK_INT(mavis_headers_parse_block(h, L("NoColon\r\n x: y\r\n"), NULL), 0);
	CHECK_INT(mavis_headers_nth(h, 0)->flags, MAVIS_HEADER_F_NOCOLON);
	mavis_arena_free(&a);
}

/* The one splitter under the MTA's rules (what mavisctl scan feeds the
   session): a line that is no field starts the body. */
static void
test_split_mta(void)
{
	struct mavis_header_span f;
	size_t pos = 0;
	const char block[] = "Subject: a\r\n b\nX: y\nGarbage line\nZ: z\n\nbody";

	CHECK_INT(mavis_headers_split_next(block, sizeof(block) - 1, &pos, true, &f), 1);
	CHECK(f.start == 0 && f.end == strlen("Subject: a\r\n b") && strcmp(f.eol, "\n") == 0);
	CHECK_INT(mavis_headers_split_next(block, sizeof(block) - 1, &pos, true, &f), 1);
	CHECK_INT(mavis_headers_split_next(block, sizeof(block) - 1, &pos, true, &f), 0);
	CHECK(strncmp(block + pos, "Garbage line", 12) == 0);
	/* Without the MTA's rules the garbage line is a field, Z too. */
	pos = 0;
	int n = 0;
	while (mavis_headers_split_next(block, sizeof(block) - 1, &pos, false, &f) == 1)
		n++;
	CHECK_INT(n, 4);
	CHECK(strcmp(block + pos, "body") == 0);
	/* A leading blank line-start is the body at once for the MTA. */
	pos = 0;
	CHECK_INT(mavis_headers_split_next(" x: y\n\n", 7, &pos, true, &f), 0);
	CHECK_INT(pos, 0);
}

static void
test_lookups(void)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_headers *h = mavis_headers_new(a, NULL);
	size_t idx = 99;

	CHECK_INT(mavis_headers_parse_block(h, L("Received: 1\nsubject: a\nRECEIVED: 2\n"
						 "To: x\nreceived: 3\n\n"), NULL), 0);
	CHECK_INT(mavis_headers_count_name(h, "Received"), 3);
	CHECK_INT(mavis_headers_count_name(h, "X-None"), 0);
	CHECK_INT(mavis_headers_find(h, "received", 2, &idx), 0);
	CHECK_INT(idx, 2);
	CHECK_INT(mavis_headers_find(h, "Received", 4, &idx), MAVIS_ERR_NOTFOUND);
	CHECK_INT(mavis_headers_find(h, "Received", 0, NULL), MAVIS_ERR_NOTFOUND);
	CHECK_INT(mavis_headers_find(h, "Subject", 1, NULL), 0);
	CHECK_INT(mavis_headers_index_of(h, 0), 1);
	CHECK_INT(mavis_headers_index_of(h, 1), 1);
	CHECK_INT(mavis_headers_index_of(h, 2), 2);
	CHECK_INT(mavis_headers_index_of(h, 4), 3);
	CHECK_INT(mavis_headers_index_of(h, 5), 0);
	mavis_arena_free(&a);
}

static void
test_unfold(void)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
	} cases[] = {
		{L(" hello\r\n\tworld "), "hello\tworld"},
		{L(" a\n b\r\n  c"), "a b  c"},
		{L("   "), ""},
		{L(""), ""},
		{L(" x\0y"), "xy"},
		{L(" a\rb"), "a\rb"},
		{L("\r\n a"), "a"},
	};
	struct mavis_arena *a = mavis_arena_new(0);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = 99;
		char *s = mavis_headers_unfold(a, cases[i].in, cases[i].len, &n);

		CHECK_STR(s, cases[i].out);
		CHECK_INT(n, strlen(cases[i].out));
	}
	mavis_arena_free(&a);
}

/* A 10 MB header line: rejected by the default byte limit, stored and
   still linear with a raised one. */
static void
test_huge_line(void)
{
	size_t big = 10u * 1024u * 1024u;
	char *block = malloc(big + 16);
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_headers_limits lim = {.max_bytes = 64u * 1024u * 1024u};
	struct mavis_headers *h;
	size_t off = 0;
	clock_t t0 = clock();

	memcpy(block, "Subject: ", 9);
	memset(block + 9, 'x', big - 9);
	memcpy(block + big, "\r\n\r\nbody", 8);
	h = mavis_headers_new(a, NULL);
	CHECK_INT(mavis_headers_parse_block(h, block, big + 8, &off), MAVIS_ERR_LIMIT);
	CHECK_INT(off, big + 4);
	CHECK_INT(mavis_headers_count(h), 0);
	h = mavis_headers_new(a, &lim);
	CHECK_INT(mavis_headers_parse_block(h, block, big + 8, &off), 0);
	CHECK_INT(mavis_headers_nth(h, 0)->rawlen, big);
	/* Without a colon at all. */
	block[7] = 'X';
	h = mavis_headers_new(a, &lim);
	CHECK_INT(mavis_headers_parse_block(h, block, big + 8, &off), 0);
	CHECK_INT(mavis_headers_nth(h, 0)->flags, MAVIS_HEADER_F_NOCOLON);
	CHECK((clock() - t0) / CLOCKS_PER_SEC < 10);
	free(block);
	mavis_arena_free(&a);
}

struct addr_want {
	const char *addr;
	const char *display;
	const char *group;
};

static void
check_addrs(const char *name, const char *value, size_t len, int want_rc, size_t want_n,
	    const struct addr_want *want)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_address *list = NULL;
	size_t n = 99;

	test_current = name;
	CHECK_INT(mavis_headers_parse_addresses(a, value, len, &list, &n), want_rc);
	CHECK_INT(n, want_n);
	for (size_t i = 0; i < n && i < want_n && want != NULL; i++) {
		CHECK_STR(list[i].addr, want[i].addr);
		if (want[i].display == NULL)
			CHECK(list[i].display == NULL);
		else
			CHECK_STR(list[i].display, want[i].display);
		if (want[i].group == NULL)
			CHECK(list[i].group == NULL);
		else
			CHECK_STR(list[i].group, want[i].group);
	}
	if (n == 0)
		CHECK(list == NULL);
	mavis_arena_free(&a);
}

static void
test_addresses(void)
{
	static const struct {
		const char *name;
		const char *value;
		size_t len;
		size_t n;
		struct addr_want want[4];
	} cases[] = {
		{"bare", L(" a@b.example"), 1, {{"a@b.example", NULL, NULL}}},
		{"display", L(" John Doe <john@example.com>"), 1,
		 {{"john@example.com", "John Doe", NULL}}},
		{"quoted display with comma", L(" \"Doe, John\" <j@x.org>, k@y.org"), 2,
		 {{"j@x.org", "Doe, John", NULL}, {"k@y.org", NULL, NULL}}},
		{"comment as display", L(" j@x.org (John (nested) Doe)"), 1,
		 {{"j@x.org", "John (nested) Doe", NULL}}},
		{"comment inside addr", L(" j(c1)@(c2)x.org"), 1, {{"j@x.org", "c1", NULL}}},
		{"empty group", L(" Undisclosed recipients:;"), 0, {{0}}},
		{"group", L(" team: a@x, B <b@y>; c@z"), 3,
		 {{"a@x", NULL, "team"}, {"b@y", "B", "team"}, {"c@z", NULL, NULL}}},
		{"source route", L(" <@r1,@r2:u@d>"), 1, {{"u@d", NULL, NULL}}},
		{"quoted local part", L(" \"quoted local\"@example.com"), 1,
		 {{"\"quoted local\"@example.com", NULL, NULL}}},
		{"folded", L(" A\r\n  B\r\n <a@b>"), 1, {{"a@b", "A B", NULL}}},
		{"unterminated angle", L(" <a@b"), 1, {{"a@b", NULL, NULL}}},
		{"unterminated angle then next", L(" <a@b, c@d"), 2,
		 {{"a@b", NULL, NULL}, {"c@d", NULL, NULL}}},
		{"unterminated comment", L(" (comment a@b"), 0, {{0}}},
		{"phrase with at", L(" a@b <c@d>"), 1, {{"c@d", "a@b", NULL}}},
		{"nested angles", L(" <<a@b>>"), 1, {{"a@b", NULL, NULL}}},
		{"two angles", L(" <a@b> <c@d>"), 2, {{"a@b", NULL, NULL}, {"c@d", NULL, NULL}}},
		{"null address skipped", L(" <>"), 0, {{0}}},
		{"local only", L(" MAILER-DAEMON"), 1, {{"MAILER-DAEMON", NULL, NULL}}},
		{"phrase without address", L(" undisclosed recipients"), 0, {{0}}},
		{"display without angle", L(" John Smith john@example.com"), 1,
		 {{"john@example.com", NULL, NULL}}},
		{"obsolete blanks around at", L(" john @ example.com"), 1,
		 {{"john@example.com", NULL, NULL}}},
		{"obsolete blanks around dot", L(" john. smith@x"), 1, {{"john.smith@x", NULL, NULL}}},
		{"junk after address", L(" a@b trailing junk"), 1, {{"a@b", NULL, NULL}}},
		{"comment blanks trimmed", L(" a@b (  Name  )"), 1, {{"a@b", "Name", NULL}}},
		{"empty items", L(" ,, a@b ,,"), 1, {{"a@b", NULL, NULL}}},
		{"quoted with escapes", L(" \"a \\\"b\\\" c\" <x@y>"), 1,
		 {{"x@y", "a \"b\" c", NULL}}},
		{"domain literal", L(" u@[192.0.2.1]"), 1, {{"u@[192.0.2.1]", NULL, NULL}}},
		{"nul and 8bit", L(" J\xc3\xb6rg <j\0@x>"), 1, {{"j@x", "J\xc3\xb6rg", NULL}}},
		{"empty", L(""), 0, {{0}}},
		{"stray closers", L(" ) ] > a@b"), 1, {{"a@b", NULL, NULL}}},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_addrs(cases[i].name, cases[i].value, cases[i].len, 0, cases[i].n,
			    cases[i].want);
	test_current = "test_addresses";
}

static void
test_address_bounds(void)
{
	struct mavis_buf b = {0};
	char *deep;
	size_t n = 200000;
	clock_t t0 = clock();

	for (int i = 0; i < 1500; i++)
		mavis_buf_puts(&b, "a@b, ");
	check_addrs("too many", b.data, b.len, MAVIS_ERR_LIMIT, MAVIS_HEADERS_MAX_ADDRESSES,
		    NULL);
	mavis_buf_free(&b);
	/* Deep comment and quote nesting must stay linear. */
	deep = malloc(n);
	memset(deep, '(', n);
	check_addrs("deep comments", deep, n, 0, 0, NULL);
	memset(deep, '<', n);
	check_addrs("many angles", deep, n, 0, 0, NULL);
	/* 100000 empty quoted strings make one odd local part, nothing more. */
	memset(deep, '"', n);
	check_addrs("many quotes", deep, n, 0, 1, NULL);
	free(deep);
	CHECK((clock() - t0) / CLOCKS_PER_SEC < 10);
	test_current = "test_address_bounds";
}

static void
test_header_addresses(void)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_headers *h = mavis_headers_new(a, NULL);
	struct mavis_address *list;
	size_t n;

	CHECK_INT(mavis_headers_add(h, L("To"), L(" a@x, B <b@y>")), 0);
	CHECK_INT(mavis_headers_add(h, L("Cc"), L(" c@z")), 0);
	CHECK_INT(mavis_headers_add(h, L("to"), L(" d@w")), 0);
	CHECK_INT(mavis_headers_addresses(h, "To", a, &list, &n), 0);
	CHECK_INT(n, 3);
	CHECK_STR(list[0].addr, "a@x");
	CHECK_STR(list[1].addr, "b@y");
	CHECK_STR(list[2].addr, "d@w");
	CHECK_INT(mavis_headers_addresses(h, "Sender", a, &list, &n), 0);
	CHECK_INT(n, 0);
	mavis_arena_free(&a);
}

int
main(void)
{
	TEST_RUN(test_add);
	TEST_RUN(test_limits);
	TEST_RUN(test_parse_block);
	TEST_RUN(test_parse_fields);
	TEST_RUN(test_split_mta);
	TEST_RUN(test_lookups);
	TEST_RUN(test_unfold);
	TEST_RUN(test_huge_line);
	TEST_RUN(test_addresses);
	TEST_RUN(test_address_bounds);
	TEST_RUN(test_header_addresses);
	return test_exit();
}
