/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_iplist.c - IP lists: parsing networks, matching IPv4/IPv6, negation, bad input */

#include <string.h>

#include <mavis/arena.h>
#include <mavis/maps.h>

#include "harness.h"

/* amavisd's default @mynetworks. */
#define MYNETWORKS                                                                 \
	"127.0.0.0/8 [::1] 169.254.0.0/16 [fe80::]/10 10.0.0.0/8 172.16.0.0/12 " \
	"192.168.0.0/16 [fc00::]/7"

struct match_case {
	const char *spec;
	const char *ip;
	int want;
};

static const struct match_case match_cases[] = {
	{ MYNETWORKS, "127.0.0.1", 1 },
	{ MYNETWORKS, "127.255.255.255", 1 },
	{ MYNETWORKS, "128.0.0.1", 0 },
	{ MYNETWORKS, "::1", 1 },
	{ MYNETWORKS, "[::1]", 1 },
	{ MYNETWORKS, "IPv6:::1", 1 },
	{ MYNETWORKS, "::2", 0 },
	{ MYNETWORKS, "169.254.3.4", 1 },
	{ MYNETWORKS, "169.255.0.1", 0 },
	{ MYNETWORKS, "fe80::1", 1 },
	{ MYNETWORKS, "fe80::1%eth0", 1 },
	{ MYNETWORKS, "febf:ffff::1", 1 },
	{ MYNETWORKS, "fec0::1", 0 },
	{ MYNETWORKS, "10.1.2.3", 1 },
	{ MYNETWORKS, "11.1.2.3", 0 },
	{ MYNETWORKS, "172.16.0.1", 1 },
	{ MYNETWORKS, "172.31.255.255", 1 },
	{ MYNETWORKS, "172.32.0.1", 0 },
	{ MYNETWORKS, "172.15.255.255", 0 },
	{ MYNETWORKS, "192.168.1.1", 1 },
	{ MYNETWORKS, "192.169.0.1", 0 },
	{ MYNETWORKS, "fc00::1", 1 },
	{ MYNETWORKS, "fdff:ffff::1", 1 },
	{ MYNETWORKS, "fe00::1", 0 },
	{ MYNETWORKS, "::ffff:10.1.2.3", 1 },	/* v4-mapped is IPv4 */
	{ MYNETWORKS, "::ffff:8.8.8.8", 0 },
	{ MYNETWORKS, "8.8.8.8", 0 },
	{ MYNETWORKS, "2001:db8::1", 0 },
	/* First match wins, a negated match is a "no". */
	{ "!10.1.2.3 10.0.0.0/8", "10.1.2.3", 0 },
	{ "!10.1.2.3 10.0.0.0/8", "10.1.2.4", 1 },
	{ "10.0.0.0/8 !10.1.2.3", "10.1.2.3", 1 },
	{ "!!10.1.2.3", "10.1.2.3", 1 },
	{ "!![::1]", "::1", 1 },
	{ "![::1], ::/0", "::1", 0 },
	/* 0/0 is IPv4 only, ::/0 everything. */
	{ "0/0", "1.2.3.4", 1 },
	{ "0/0", "::ffff:1.2.3.4", 1 },
	{ "0/0", "::1", 0 },
	{ "0.0.0.0/0", "2001:db8::1", 0 },
	{ "::/0", "1.2.3.4", 1 },
	{ "::/0", "2001:db8::1", 1 },
	{ "[::]/0", "::", 1 },
	{ "::ffff:0:0/96", "192.0.2.1", 1 },
	/* Short IPv4 forms. */
	{ "10/8", "10.9.9.9", 1 },
	{ "10/8", "11.0.0.0", 0 },
	{ "192.168/16", "192.168.200.1", 1 },
	{ "192.168/16", "192.167.0.1", 0 },
	{ "10", "10.200.0.1", 1 },		/* classful */
	{ "192.168", "192.168.3.3", 1 },
	{ "127.1", "127.1.2.3", 1 },
	{ "127.1", "127.0.0.1", 0 },
	{ "10.1.2", "10.1.2.255", 1 },
	{ "10.1.2", "10.1.3.0", 0 },
	/* Host routes. */
	{ "1.2.3.4", "1.2.3.4", 1 },
	{ "1.2.3.4", "1.2.3.5", 0 },
	{ "[1.2.3.4]", "1.2.3.4", 1 },
	{ "2001:db8::5", "2001:db8::5", 1 },
	{ "2001:db8::5", "2001:db8::6", 0 },
	/* Masks, and host bits in the network. */
	{ "10.0.0.0/255.0.0.0", "10.7.7.7", 1 },
	{ "10.0.0.0/255.255.255.254", "10.0.0.1", 1 },
	{ "10.0.0.0/255.255.255.254", "10.0.0.2", 0 },
	{ "10.1.2.3/8", "10.200.0.1", 1 },
	{ "10.0.0.0/31", "10.0.0.1", 1 },
	{ "10.0.0.0/31", "10.0.0.2", 0 },
	{ "[2001:db8::]/32", "2001:db8:ffff::1", 1 },
	{ "2001:db8::/32", "2001:db9::1", 0 },
	{ "2001:db8::/33", "2001:db8:7fff::1", 1 },
	{ "2001:db8::/33", "2001:db8:8000::1", 0 },
	{ "::/128", "::", 1 },
	{ "1.2.3.4/32, 5.6.7.8", "5.6.7.8", 1 },
	{ "", "1.2.3.4", 0 },
	{ " , ", "::1", 0 },
};

static void
test_match(void)
{
	for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		const struct match_case *c = &match_cases[i];
		struct mavis_arena *a = mavis_arena_new(0);
		struct mavis_iplist *l = NULL;
		struct mavis_error err = { 0 };
		int r;

		r = mavis_iplist_parse(c->spec, a, &l, &err);
		if (r != 0) {
			test_fail(__FILE__, __LINE__, "case %zu: parse \"%s\": %s", i, c->spec,
				  err.text);
		} else {
			r = mavis_iplist_match(l, c->ip);
			if (r != c->want)
				test_fail(__FILE__, __LINE__, "case %zu: \"%s\" in \"%s\" = %d, want %d",
					  i, c->ip, c->spec, r, c->want);
		}
		mavis_arena_free(&a);
	}
}

static const char *const bad_specs[] = {
	"10.0.0.0/33",
	"1.2.3.4/",
	"256.0.0.0",
	"1.2.3.256/32",
	"[::1",
	"[::1]x",
	"[::1]/",
	"::1/129",
	"fe80::/-1",
	"1.2.3.4.5",
	"10.0.0.0/255.0.255.0",
	"10.0.0.0/1.2.3",
	"!",
	"!!",
	"abc",
	"1..2",
	"1.2.3.4/8/8",
	"::g",
	"10/8x",
	"1234",
	"1.2.3.4/0008",
	"[]",
	"10.0.0.0/8 good.example",
};

static void
test_bad_specs(void)
{
	for (size_t i = 0; i < sizeof(bad_specs) / sizeof(bad_specs[0]); i++) {
		struct mavis_arena *a = mavis_arena_new(0);
		struct mavis_iplist *l = NULL;
		struct mavis_error err = { 0 };
		int r = mavis_iplist_parse(bad_specs[i], a, &l, &err);

		if (r != MAVIS_ERR_CONFIG || strstr(err.text, "bad IP network") == NULL)
			test_fail(__FILE__, __LINE__, "\"%s\": r=%d err=\"%s\"", bad_specs[i], r,
				  err.text);
		CHECK(l == NULL);
		mavis_arena_free(&a);
	}
}

static const char *const bad_addrs[] = {
	"", "not-an-ip", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4/32", "::g", "[1.2.3.4",
	"1.2.3.-4", " 1.2.3.4", "0x7f.0.0.1",
	"1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd:eeee:ffff:0000",
};

static void
test_bad_addrs(void)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_iplist *l = NULL;

	CHECK_INT(mavis_iplist_parse(MYNETWORKS, a, &l, NULL), 0);
	for (size_t i = 0; i < sizeof(bad_addrs) / sizeof(bad_addrs[0]); i++)
		if (mavis_iplist_match(l, bad_addrs[i]) != MAVIS_ERR_PARSE)
			test_fail(__FILE__, __LINE__, "\"%s\" accepted as an address", bad_addrs[i]);
	CHECK_INT(mavis_iplist_match(l, NULL), MAVIS_ERR_PARSE);
	CHECK_INT(mavis_iplist_match(NULL, "1.2.3.4"), 0);
	mavis_arena_free(&a);
}

static void
test_limits(void)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_iplist *l = NULL;
	struct mavis_error err = { 0 };
	size_t n = 70 * 1024;
	char *big = mavis_arena_alloc(a, n + 1);

	memset(big, ' ', n);
	CHECK_INT(mavis_iplist_parse(big, a, &l, &err), MAVIS_ERR_LIMIT);
	CHECK(strstr(err.text, "longer than") != NULL);
	CHECK_INT(mavis_iplist_parse(NULL, a, &l, &err), 0);
	CHECK_INT(mavis_iplist_match(l, "1.2.3.4"), 0);
	mavis_arena_free(&a);
}

int
main(void)
{
	TEST_RUN(test_match);
	TEST_RUN(test_bad_specs);
	TEST_RUN(test_bad_addrs);
	TEST_RUN(test_limits);
	return test_exit();
}
