/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_addr_keys.c - amavisd make_query_keys order and mavis_addr_split */

#include <stdio.h>
#include <string.h>

#include <mavis/arena.h>
#include <mavis/maps.h>

#include "harness.h"

#define MAXK 32

struct keys_case {
	const char *addr;
	const char *delim;
	bool case_sensitive;
	bool bare;
	const char *want[MAXK];	/* NULL-terminated */
};

static const struct keys_case keys_cases[] = {
	/* The reference's own example (amavisd-new's key order). */
	{ "User+Foo@Sub.Example.COM", "+", false, true,
	  { "User+Foo@Sub.Example.COM", "user+foo@sub.example.com", "user@sub.example.com",
	    "user+foo@", "user@", "sub.example.com", ".sub.example.com", ".example.com", ".com",
	    ".", NULL } },
	{ "User+Foo@Sub.Example.COM", "+", false, false,
	  { "user+foo@sub.example.com", "user@sub.example.com", "sub.example.com",
	    ".sub.example.com", ".example.com", ".com", ".", NULL } },
	/* No delimiter: the extension stays in the localpart. */
	{ "User+Foo@Sub.Example.COM", NULL, false, true,
	  { "User+Foo@Sub.Example.COM", "user+foo@sub.example.com", "user+foo@",
	    "sub.example.com", ".sub.example.com", ".example.com", ".com", ".", NULL } },
	{ "User+Foo@Sub.Example.COM", "", false, false,
	  { "user+foo@sub.example.com", "sub.example.com", ".sub.example.com", ".example.com",
	    ".com", ".", NULL } },
	{ "User+Foo@Example.COM", "+", true, true,
	  { "User+Foo@Example.COM", "User+Foo@example.com", "User@example.com", "User+Foo@",
	    "User@", "example.com", ".example.com", ".com", ".", NULL } },
	/* The null sender. */
	{ "", "+", false, true, { "", "@", ".", NULL } },
	{ "", "+", false, false, { "@", "", ".", NULL } },
	/* Address literals are not split into suffixes. */
	{ "user@[1.2.3.4]", "+", false, true,
	  { "user@[1.2.3.4]", "user@", "[1.2.3.4]", ".", NULL } },
	{ "User@[IPv6:2001:DB8::1]", NULL, false, false,
	  { "user@[ipv6:2001:db8::1]", "[ipv6:2001:db8::1]", ".", NULL } },
	/* A leading delimiter is not split off (the user part would be empty)... */
	{ "+foo@x.org", "+", false, true,
	  { "+foo@x.org", "+foo@", "x.org", ".x.org", ".org", ".", NULL } },
	{ "+@x.org", "+", false, false, { "+@x.org", "x.org", ".x.org", ".org", ".", NULL } },
	/* ...but amavisd's /^(.+?)([delim].*)/ does split at a later one. */
	{ "+a+b@x.org", "+", false, false,
	  { "+a+b@x.org", "+a@x.org", "x.org", ".x.org", ".org", ".", NULL } },
	/* The first delimiter wins; the extension keeps its delimiter. */
	{ "a+b+c@x", "+", false, true, { "a+b+c@x", "a@x", "a+b+c@", "a@", "x", ".x", ".", NULL } },
	{ "a-b+c@x", "+-", false, false, { "a-b+c@x", "a@x", "x", ".x", ".", NULL } },
	{ "a+b@x", "+", false, true, { "a+b@x", "a@x", "a+b@", "a@", "x", ".x", ".", NULL } },
	/* Names amavisd never splits. */
	{ "mailer-daemon@x.org", "-", false, false,
	  { "mailer-daemon@x.org", "x.org", ".x.org", ".org", ".", NULL } },
	{ "owner-list@x.org", "-", false, false,
	  { "owner-list@x.org", "x.org", ".x.org", ".org", ".", NULL } },
	{ "list-request@x.org", "-", false, false,
	  { "list-request@x.org", "x.org", ".x.org", ".org", ".", NULL } },
	{ "list-foo@x.org", "-", false, false,
	  { "list-foo@x.org", "list@x.org", "x.org", ".x.org", ".org", ".", NULL } },
	/* Trailing dots of the domain go. */
	{ "u@Example.COM..", NULL, false, false,
	  { "u@example.com", "example.com", ".example.com", ".com", ".", NULL } },
	{ "u@...", NULL, false, true, { "u@...", "u@", "", ".", NULL } },
	/* Empty labels are kept, as amavisd's regex does. */
	{ "u@a..b", NULL, false, false, { "u@a..b", "a..b", ".a..b", "..b", ".b", ".", NULL } },
	/* No '@' at all: all localpart. */
	{ "localonly", NULL, false, true, { "localonly", "localonly@", "", ".", NULL } },
	/* A quoted localpart is plain text. */
	{ "\"A B\"@x.com", "+", false, true,
	  { "\"A B\"@x.com", "\"a b\"@x.com", "\"a b\"@", "x.com", ".x.com", ".com", ".",
	    NULL } },
	/* The last '@' separates the domain. */
	{ "\"a@b\"@X.com", NULL, false, false,
	  { "\"a@b\"@x.com", "x.com", ".x.com", ".com", ".", NULL } },
};

static void
test_keys_table(void)
{
	struct mavis_arena *a = mavis_arena_new(0);

	for (size_t i = 0; i < sizeof(keys_cases) / sizeof(keys_cases[0]); i++) {
		const struct keys_case *c = &keys_cases[i];
		struct mavis_map_opts o = { .recipient_delimiter = c->delim,
					     .localpart_is_case_sensitive = c->case_sensitive };
		const char **keys = NULL;
		size_t n, want = 0;

		while (c->want[want] != NULL)
			want++;
		n = mavis_addr_keys(c->addr, &o, c->bare, a, &keys);
		if (n != want)
			test_fail(__FILE__, __LINE__, "case %zu \"%s\": %zu keys, want %zu", i,
				  c->addr, n, want);
		for (size_t k = 0; k < n && k < want; k++)
			if (strcmp(keys[k], c->want[k]) != 0)
				test_fail(__FILE__, __LINE__, "case %zu \"%s\" key %zu: \"%s\", want \"%s\"",
					  i, c->addr, k, keys[k], c->want[k]);
	}
	mavis_arena_free(&a);
	CHECK(a == NULL);
}

static void
test_keys_null_opts(void)
{
	struct mavis_arena *a = mavis_arena_new(0);
	const char **keys;
	size_t n;

	n = mavis_addr_keys("A+b@X.Y", NULL, false, a, &keys);
	CHECK_INT(n, 5);
	CHECK_STR(keys[0], "a+b@x.y");
	CHECK_STR(keys[1], "x.y");
	CHECK_STR(keys[4], ".");
	n = mavis_addr_keys(NULL, NULL, true, a, &keys);
	CHECK_INT(n, 3);
	CHECK_STR(keys[0], "");
	mavis_arena_free(&a);
}

/* amavisd keeps only the last 20 domain suffix keys ('.' included). */
static void
test_keys_domain_limit(void)
{
	struct mavis_arena *a = mavis_arena_new(0);
	char addr[512] = "u@";
	char want_first[512] = ".";
	const char **keys;
	size_t n;

	for (int i = 1; i <= 30; i++) {
		char label[16];

		snprintf(label, sizeof(label), "d%d.", i);
		strcat(addr, label);
		if (i >= 13)
			strcat(want_first, label);
	}
	strcat(addr, "com");
	strcat(want_first, "com");
	/* 30 dots: 32 suffix keys, the first 12 dropped. */
	n = mavis_addr_keys(addr, NULL, false, a, &keys);
	CHECK_INT(n, 2 + 20);
	CHECK_STR(keys[0], addr);
	CHECK_STR(keys[1], addr + 2);
	CHECK_STR(keys[2], want_first);
	CHECK_STR(keys[n - 2], ".com");
	CHECK_STR(keys[n - 1], ".");

	/* Exactly 20 suffix keys: nothing dropped. */
	n = mavis_addr_keys("u@a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s", NULL, false, a, &keys);
	CHECK_INT(n, 2 + 20);
	CHECK_STR(keys[2], ".a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s");
	mavis_arena_free(&a);
}

struct split_case {
	const char *addr, *local, *domain;
};

static const struct split_case split_cases[] = {
	{ "User@Example.COM.", "User", "example.com" },
	{ "User+Ext@Example.COM", "User+Ext", "example.com" },
	{ "nouser", "nouser", "" },
	{ "a@b@C", "a@b", "c" },
	{ "", "", "" },
	{ "@", "", "" },
	{ "x@[1.2.3.4]", "x", "[1.2.3.4]" },
	{ "x@..", "x", "" },
};

static void
test_split(void)
{
	struct mavis_arena *a = mavis_arena_new(0);

	for (size_t i = 0; i < sizeof(split_cases) / sizeof(split_cases[0]); i++) {
		const char *l = NULL, *d = NULL;

		mavis_addr_split(split_cases[i].addr, a, &l, &d);
		CHECK_STR(l, split_cases[i].local);
		CHECK_STR(d, split_cases[i].domain);
	}
	mavis_arena_free(&a);
}

int
main(void)
{
	TEST_RUN(test_keys_table);
	TEST_RUN(test_keys_null_opts);
	TEST_RUN(test_keys_domain_limit);
	TEST_RUN(test_split);
	return test_exit();
}
