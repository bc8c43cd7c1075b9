/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_auth.c - DMARC alignment and organisational domains (libpsl), record choice, the A-R parts, SPF's bounds and time budget */

#include <arpa/nameser.h>
#include <stdio.h>
#include <string.h>

#include <mavis/arena.h>
#include <mavis/buf.h>
#include <mavis/dkim.h>

#include <netdb.h>

#include "auth/auth_engine.h"
#include "dkim/dkim_int.h"
#include "harness.h"

#define PSL "/usr/share/publicsuffix/public_suffix_list.dafsa"

static struct mavis_dns *dns;
static struct auth_engine *eng;

/* RFC 7489 3.2 with the public suffix list: the suffix plus one label */
static void
test_org_domain(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "example.com", "example.com" },
		{ "mail.example.com", "example.com" },
		{ "a.b.c.example.com", "example.com" },
		{ "EXAMPLE.Com.", "example.com" },
		{ "www.example.co.uk", "example.co.uk" },
		{ "example.co.uk", "example.co.uk" },
		/* a wildcard rule (*.ck) and its exception (!www.ck) */
		{ "a.b.foo.ck", "b.foo.ck" },
		{ "www.ck", "www.ck" },
		/* a public suffix is its own */
		{ "co.uk", "co.uk" },
		{ "com", "com" },
		/* a suffix the list does not have: the implicit "*" rule */
		{ "a.b.example.zzzz", "example.zzzz" },
		{ "localdomain", "localdomain" },
	};
	char buf[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = auth_org_domain(eng, cases[i].in, buf, sizeof(buf));

		CHECK(got != NULL);
		if (got)
			CHECK_STR(got, cases[i].want);
	}
	/* bounds: an empty name, one longer than a domain can be, a small buffer */
	char long_name[400];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	CHECK(auth_org_domain(eng, "", buf, sizeof(buf)) == NULL);
	CHECK(auth_org_domain(eng, long_name, buf, sizeof(buf)) == NULL);
	CHECK(auth_org_domain(eng, "mail.example.com", buf, 5) == NULL);
}

/* RFC 7489 3.1: strict = the same name, relaxed = the same organisational domain */
static void
test_aligned(void)
{
	static const struct {
		const char *a, *b;
		bool strict, want;
	} cases[] = {
		{ "example.com", "example.com", true, true },
		{ "Example.COM", "example.com.", true, true },
		{ "mail.example.com", "example.com", false, true },
		{ "mail.example.com", "example.com", true, false },
		/* a parent is no strict match (libopendmarc's check says it is) */
		{ "example.com", "news.example.com", true, false },
		{ "a.example.com", "b.example.com", false, true },
		{ "a.example.com", "b.example.com", true, false },
		{ "example.com", "example.net", false, false },
		{ "example.co.uk", "other.co.uk", false, false },
		{ "www.example.co.uk", "mail.example.co.uk", false, true },
		{ "evil-example.com", "example.com", false, false },
		{ "com", "example.com", false, false },
		{ "", "example.com", false, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (auth_aligned(eng, cases[i].a, cases[i].b, cases[i].strict) != cases[i].want)
			test_fail(__FILE__, __LINE__, "aligned(%s, %s, %s) != %d", cases[i].a, cases[i].b,
				  cases[i].strict ? "strict" : "relaxed", cases[i].want);
	CHECK(!auth_aligned(eng, NULL, "example.com", false));
	CHECK(!auth_aligned(eng, "example.com", NULL, true));
}

/* RFC 7489 6.6.3: the one record that starts with v=DMARC1 */
static void
test_pick(void)
{
	struct mavis_dns_rr r[3] = { 0 };
#define RR(i, s) (r[i].data = (const unsigned char *)(s), r[i].len = strlen(s))

	RR(0, "v=spf1 -all");
	RR(1, "v=DMARC1; p=reject");
	CHECK_STR(auth_dmarc_pick(r, 2), "v=DMARC1; p=reject");
	RR(2, "v=DMARC1;p=none");
	CHECK(auth_dmarc_pick(r, 3) == NULL);	/* two: none */
	RR(1, "v=DMARC10; p=reject");
	CHECK_STR(auth_dmarc_pick(r, 3), "v=DMARC1;p=none");
	RR(2, " v=dmarc1");
	CHECK_STR(auth_dmarc_pick(r, 3), "v=dmarc1");
	RR(2, "p=reject; v=DMARC1");
	CHECK(auth_dmarc_pick(r, 3) == NULL);
	CHECK(auth_dmarc_pick(r, 0) == NULL);
#undef RR
}

static void
test_authres(void)
{
	struct mavis_buf b = { 0 };
	struct auth_spf spf = { .mfrom = AUTH_SPF_SOFTFAIL, .mfrom_domain = "example.org",
				.helo = AUTH_SPF_PASS, .helo_domain = "mx.example.org" };
	struct auth_dmarc dm = { .result = AUTH_DMARC_FAIL, .from_domain = "news.example.org",
				 .policy = 'r', .sp = 'r' };

	dm.policy_domain = "example.org";
	auth_authres_append(&b, &spf, &dm);
	CHECK_STR(mavis_buf_str(&b), ";\n spf=softfail smtp.mailfrom=example.org;\n"
				     " dmarc=fail (p=reject sp) header.from=news.example.org");
	mavis_buf_reset(&b);
	spf.helo_decided = true;
	dm.result = AUTH_DMARC_PASS;
	dm.policy_domain = dm.from_domain;
	auth_authres_append(&b, &spf, &dm);
	CHECK_STR(mavis_buf_str(&b), ";\n spf=pass smtp.helo=mx.example.org;\n dmarc=pass header.from=news.example.org");
	/* text from the mail cannot break out of the property value */
	mavis_buf_reset(&b);
	spf.helo_decided = false;
	spf.mfrom_domain = "evil; dkim=pass (x) \r\n";
	auth_authres_append(&b, &spf, NULL);
	CHECK_STR(mavis_buf_str(&b), ";\n spf=softfail smtp.mailfrom=evildkimpassx");
	mavis_buf_free(&b);
}

/* SPF input bounds; DNS failures are temperror for SPF and DMARC alike */
static void
test_dns_failures(void)
{
	struct mavis_arena *a = mavis_arena_new(1024);
	struct auth_spf spf;
	struct auth_dmarc dm;
	struct dkim_sig_result sig = { .result = DKIM_R_PASS, .domain = "example.com" };
	struct dkim_verify_result dk = { .sigs = &sig, .n = 1 };

	CHECK_INT(auth_spf_check(eng, "not-an-ip", "mx.example.com", "a@example.com", a, &spf),
		  MAVIS_ERR_PARSE);
	CHECK_INT(auth_spf_check(eng, NULL, "mx.example.com", "a@example.com", a, &spf), MAVIS_ERR_PARSE);
	/* a sender or HELO that is no domain name is not looked up: none */
	CHECK_INT(auth_spf_check(eng, "192.0.2.1", "[192.0.2.1]", "a@[192.0.2.9]", a, &spf), 0);
	CHECK_INT(spf.helo, AUTH_SPF_NONE);
	CHECK(spf.helo_domain == NULL);
	CHECK_INT(spf.mfrom, AUTH_SPF_NONE);
	CHECK_INT(auth_spf_check(eng, "IPv6:2001:db8::1", "localhost", "", a, &spf), 0);
	CHECK(spf.helo_decided);
	CHECK_INT(spf.mfrom, AUTH_SPF_NONE);
	/* the server does not answer: temperror, never pass */
	CHECK_INT(auth_spf_check(eng, "192.0.2.1", "mx.example.com", "a@example.com", a, &spf), 0);
	CHECK_INT(spf.helo, AUTH_SPF_TEMPERROR);
	CHECK_INT(spf.mfrom, AUTH_SPF_TEMPERROR);
	auth_dmarc_check(eng, "example.com", &spf, &dk, 0, a, &dm);
	CHECK_INT(dm.result, AUTH_DMARC_TEMPERROR);
	auth_dmarc_check(eng, NULL, &spf, &dk, 0, a, &dm);
	CHECK_INT(dm.result, AUTH_DMARC_NONE);
	CHECK(dm.from_domain == NULL);
	mavis_arena_free(&a);
}

/* Past the transaction's SPF time budget no lookup reaches the servers:
   the DNS layer answers "try again" itself (temperror). */
static void
test_spf_budget(void)
{
	unsigned long hits0, misses0, hits1, misses1;
	SPF_dns_rr_t *rr;

	mavis_dns_stats(dns, &hits0, &misses0);
	auth_spf_deadline_set(30);
	rr = SPF_dns_lookup(eng->spf_dns, "example.com", ns_t_txt, 1);
	CHECK(rr != NULL && rr->herrno == TRY_AGAIN);
	SPF_dns_rr_free(rr);
	mavis_dns_stats(dns, &hits1, &misses1);
	CHECK(misses1 == misses0 + 1);	/* asked the (dead) server */
	auth_spf_deadline_set(0);
	rr = SPF_dns_lookup(eng->spf_dns, "example.com", ns_t_txt, 1);
	CHECK(rr != NULL && rr->herrno == TRY_AGAIN);
	SPF_dns_rr_free(rr);
	mavis_dns_stats(dns, &hits0, &misses0);
	CHECK(misses0 == misses1);	/* did not */
}

int
main(void)
{
	/* port 9 on loopback: nothing listens, every lookup fails at once */
	const char *const servers[] = { "127.0.0.1:9" };
	struct mavis_error err = { 0 };

	if (mavis_dns_new(servers, 1, 1, 0, &dns, &err) < 0 ||
	    auth_engine_new(dns, PSL, &eng, &err) < 0) {
		fprintf(stderr, "test_auth: %s\n", err.text);
		return 1;
	}
	TEST_RUN(test_org_domain);
	TEST_RUN(test_aligned);
	TEST_RUN(test_pick);
	TEST_RUN(test_authres);
	TEST_RUN(test_dns_failures);
	TEST_RUN(test_spf_budget);
	auth_engine_free(&eng);
	mavis_dns_free(&dns);
	return test_exit();
}
