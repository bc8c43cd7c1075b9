/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_sa_received.c - Received parsing and trust against SpamAssassin's own output */

/*
 * Each t/data/sa/received/NAME.eml has NAME.expect: what
 * t/sa/received-oracle.pl (SpamAssassin's Received.pm) prints for it with
 * trusted/internal networks unset and set. The test builds the relays with
 * sa_received and prints the same lines. When perl and SpamAssassin are
 * installed the oracle runs live as well. MAVIS_SA_DUMP=FILE prints ours.
 */

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <mavis/arena.h>

#include "harness.h"
#include "sa/sa_parse_int.h"
#include "sa/sa_received.h"

#define TRUSTED "203.0.113.0/24 10.0.0.0/8"
#define INTERNAL "10.0.0.0/8"

/* received - the unfolded Received values of a message, top first */
static size_t
received(const char *msg, struct mavis_arena *a, const char ***out)
{
	struct sa_vec v = { 0 };
	const char *p = msg;

	while (*p && *p != '\n') {
		const char *e = p;
		struct sa_sb val = { 0 };
		bool is_rcvd = strncasecmp(p, "Received:", 9) == 0;

		/* the field runs to a line that does not start with white space */
		for (;;) {
			const char *nl = strchr(e, '\n');

			if (!nl) {
				e += strlen(e);
				break;
			}
			e = nl + 1;
			if (*e != ' ' && *e != '\t')
				break;
		}
		if (is_rcvd) {
			for (const char *q = p + 9; q < e; q++)
				if (*q != '\n')
					sa_sb_addc(&val, a, *q);
			sa_sb_add(&val, a, "", 0);
			sa_vec_push(&v, a, val.p);
		}
		p = e;
	}
	*out = (const char **)v.v;
	return v.n;
}

static struct sa_netset *
netset(const char *list)
{
	struct sa_netset *s = NULL;
	char buf[256], *tok, *save;
	struct mavis_error err;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		CHECK_INT(sa_netset_add(&s, tok, &err), 0);
	return s;
}

static const char *
dump(const char *msg, struct mavis_arena *a)
{
	static const char *const keys[] = { "trusted", "untrusted", "internal", "external" };
	static const char *const names[] = { "X-Spam-Relays-Trusted", "X-Spam-Relays-Untrusted",
					     "X-Spam-Relays-Internal", "X-Spam-Relays-External" };
	struct sa_sb b = { 0 };
	const char **vals;
	size_t n = received(msg, a, &vals);
	struct sa_netset *t = netset(TRUSTED), *in = netset(INTERNAL);

	for (int mode = 0; mode < 2; mode++) {
		struct sa_relays *r;

		CHECK_INT(sa_relays_build(vals, n, NULL, mode ? t : NULL, mode ? in : NULL, a, &r), 0);
		sa_sb_add(&b, a, mode ? "mode=configured\n" : "mode=unset\n", mode ? 16 : 11);
		for (int k = 0; k < 4; k++) {
			const char *s = sa_relays_pseudo(r, names[k]);

			sa_sb_add(&b, a, keys[k], strlen(keys[k]));
			sa_sb_addc(&b, a, '=');
			sa_sb_add(&b, a, s, strlen(s));
			sa_sb_addc(&b, a, '\n');
		}
		sa_sb_add(&b, a, "unparseable=", 12);
		{
			char u[32];

			snprintf(u, sizeof(u), "%zu\n", sa_relays_unparseable(r));
			sa_sb_add(&b, a, u, strlen(u));
		}
	}
	sa_netset_free(&t);
	sa_netset_free(&in);
	return b.p;
}

static int
same(const char *name, const char *want, const char *got, const char *what)
{
	while (*want || *got) {
		size_t wl = strcspn(want, "\n"), gl = strcspn(got, "\n");

		if (wl != gl || memcmp(want, got, wl) != 0) {
			test_fail(__FILE__, __LINE__, "%s (%s):\n  want %.*s\n  got  %.*s", name, what,
				  (int)(wl > 600 ? 600 : wl), want, (int)(gl > 600 ? 600 : gl), got);
			return 0;
		}
		want += wl + (want[wl] == '\n');
		got += gl + (got[gl] == '\n');
	}
	return 1;
}

static char *
run_oracle(const char *path)
{
	char cmd[9000], buf[4096], *out = NULL;
	size_t ol = 0, r;
	const char *src = getenv("MAVIS_SOURCE_DIR") ? getenv("MAVIS_SOURCE_DIR") : ".";
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "{ echo mode=unset; perl '%s/t/sa/received-oracle.pl' '%s'; echo mode=configured; "
		 "perl '%s/t/sa/received-oracle.pl' -t '" TRUSTED "' -i '" INTERNAL "' '%s'; } 2>/dev/null",
		 src, path, src, path);
	p = popen(cmd, "r");
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

static void
test_corpus(void)
{
	const char *dir = test_data_path("sa/received");
	DIR *d = opendir(dir);
	struct dirent *e;
	int files = 0;
	int live = system("perl -MMail::SpamAssassin -e 1 >/dev/null 2>&1") == 0;

	CHECK(d != NULL);
	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		size_t nl = strlen(e->d_name), ml, el;
		char path[4096], epath[4096], *msg, *expect;
		struct mavis_arena *a;

		if (nl < 5 || strcmp(e->d_name + nl - 4, ".eml") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		snprintf(epath, sizeof(epath), "%s/%.*s.expect", dir, (int)(nl - 4), e->d_name);
		msg = test_slurp(path, &ml);
		expect = test_slurp(epath, &el);
		CHECK(msg && expect);
		if (msg && expect) {
			a = mavis_arena_new(0);
			same(e->d_name, expect, dump(msg, a), "against the .expect");
			if (live) {
				char *o = run_oracle(path);

				CHECK(o != NULL);
				if (o)
					same(e->d_name, o, expect, "the .expect against SpamAssassin now");
				free(o);
			}
			mavis_arena_free(&a);
			files++;
		}
		free(msg);
		free(expect);
	}
	closedir(d);
	CHECK(files >= 6);
}

static void
test_netset(void)
{
	struct {
		const char *net, *ip;
		int want;
	} cases[] = {
		{ "10.0.0.0/8", "10.1.2.3", 1 },   { "10.0.0.0/8", "11.1.2.3", 0 },
		{ "10/8", "10.9.9.9", 1 },	   { "192.168", "192.168.4.4", 1 },
		{ "192.168", "192.169.4.4", 0 },   { "1.2.3.4", "1.2.3.4", 1 },
		{ "1.2.3.4", "1.2.3.5", 0 },	   { "2001:db8::/32", "2001:db8:1::5", 1 },
		{ "2001:db8::/32", "2001:db9::5", 0 }, { "[2001:db8::1]", "2001:db8::1", 1 },
		{ "1.2.3.0/24", "IPv6:::ffff:1.2.3.9", 1 }, { "9.9.9.9", "127.0.0.1", 1 },
		{ "9.9.9.9", "::1", 1 },
	};
	const char *bad[] = { "10.0.0.0/33", "foo", "1.2.3.4/x", "300.1.1.1", "" };
	struct mavis_error err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sa_netset *s = NULL;

		CHECK_INT(sa_netset_add(&s, cases[i].net, &err), 0);
		if (sa_netset_contains(s, cases[i].ip) != cases[i].want)
			test_fail(__FILE__, __LINE__, "%s in %s: want %d", cases[i].ip, cases[i].net,
				  cases[i].want);
		sa_netset_free(&s);
		CHECK(s == NULL);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sa_netset *s = NULL;

		CHECK_INT(sa_netset_add(&s, bad[i], &err), MAVIS_ERR_CONFIG);
		sa_netset_free(&s);
	}
	{
		/* exclusion first wins */
		struct sa_netset *s = NULL;

		CHECK_INT(sa_netset_add(&s, "!10.1.0.0/16", &err), 0);
		CHECK_INT(sa_netset_add(&s, "10.0.0.0/8", &err), 0);
		CHECK_INT(sa_netset_contains(s, "10.1.2.3"), 0);
		CHECK_INT(sa_netset_contains(s, "10.2.2.3"), 1);
		sa_netset_free(&s);
	}
}

/* the evals and our own hop on top */
static void
test_evals(void)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct sa_relays *r;
	const char *own = "from helo.example.com (mail.example.com [203.0.113.5]) by mx.local.test "
			  "(Postfix) with ESMTP id 1";
	const char *vals[] = {
		"from 192.0.2.1 (unknown [198.51.100.3]) by mail.example.com (Postfix) with SMTP id 2",
	};
	const char *local[] = {
		"from localhost (localhost [127.0.0.1]) by mx.local.test (Postfix) with ESMTP id 3",
	};

	CHECK_INT(sa_relays_build(vals, 1, own, NULL, NULL, a, &r), 0);
	CHECK(strstr(sa_relays_pseudo(r, "X-Spam-Relays-Untrusted"), "[ ip=203.0.113.5 ") ==
	      sa_relays_pseudo(r, "X-Spam-Relays-Untrusted"));
	CHECK_INT(sa_relay_eval(r, "helo_ip_mismatch", NULL, 0), 1);
	CHECK_INT(sa_relay_eval(r, "check_for_numeric_helo", NULL, 0), 1);
	CHECK_INT(sa_relay_eval(r, "check_all_trusted", NULL, 0), 0);
	CHECK_INT(sa_relay_eval(r, "check_relays_unparseable", NULL, 0), 0);
	CHECK_INT(sa_relay_eval(r, "no_such_eval", NULL, 0), -1);
	CHECK(sa_relays_pseudo(r, "X-Spam-Relays-Bogus") == NULL);
	CHECK_INT(sa_relays_build(local, 1, NULL, NULL, NULL, a, &r), 0);
	CHECK_INT(sa_relay_eval(r, "check_all_trusted", NULL, 0), 1);
	CHECK_INT(sa_relay_eval(r, "check_no_relays", NULL, 0), 0);
	CHECK_INT(sa_relays_build(NULL, 0, NULL, NULL, NULL, a, &r), 0);
	CHECK_INT(sa_relay_eval(r, "check_no_relays", NULL, 0), 1);
	CHECK_STR(sa_relays_pseudo(r, "X-Spam-Relays-Trusted"), "");
	mavis_arena_free(&a);
}

/* Received.pm's handovers it skips on purpose (return 0): never unparseable;
   and lines it cannot parse (return undef) stay unparseable */
static void
test_ignored(void)
{
	static const struct {
		const char *line;
		int unparseable;
	} cases[] = {
		{ "from phobos [127.0.0.1] by localhost with IMAP (fetchmail-5.9.0) for jm@localhost "
		  "(single-drop); Thu, 29 Aug 2002 11:03:50 +0100 (IST)", 0 },
		{ "(from user@localhost) by host.example.com (8.9.3/8.9.3) id VAA15757; Thu, 29 Aug "
		  "2002 11:03:50 +0100", 0 },
		{ "from mail pickup service by hotmail.com with Microsoft SMTPSVC; Wed, 28 Aug 2002 "
		  "18:19:15 -0700", 0 },
		{ "from raptor.research.att.com (bala@localhost) by raptor.research.att.com "
		  "(SGI-8.9.3/8.8.7) with ESMTP id KAA14788 for <asrg@example.com>; Fri, 7 Mar 2003 "
		  "10:37:56 -0500 (EST)", 0 },
		{ "from DSmith1204@aol.com by imo-m09.mx.aol.com (mail_out_v34.13.) id 7.53.208064a0 "
		  "(4394); Sat, 11 Jan 2003 23:24:31 -0500 (EST)", 0 },
		{ "from CATHY.IJS.SI by CATHY.IJS.SI (PMDF V4.3-10 #8779) id "
		  "<01KTSSR50NSW001MXN@CATHY.IJS.SI>; Fri, 21 Mar 2003 20:50:56 +0100", 0 },
		{ "from mail.payex.com id <B5b8f11e30004>; Wed, 05 Sep 2018 01:14:43 +0200", 0 },
		{ "(from vashugins@juno.com) by m06.lax.untd.com(jqueuemail) id LRVB3JAJ; Fri, 02 Jun "
		  "2006 08:15:21 PDT", 0 },
		/* no IP, no known form: SA returns undef */
		{ "from foo.example.com (1.2.3.4) by bar.example.com", 1 },
		{ "(from someone@example.com) by host.example.com (8.9.3) id X", 1 },
	};
	struct mavis_arena *a = mavis_arena_new(0);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sa_relays *r = NULL;
		const char *v[1] = { cases[i].line };

		CHECK_INT(sa_relays_build(v, 1, NULL, NULL, NULL, a, &r), 0);
		if ((int)sa_relays_unparseable(r) != cases[i].unparseable)
			test_fail(__FILE__, __LINE__, "%s: unparseable %zu, want %d", cases[i].line,
				  sa_relays_unparseable(r), cases[i].unparseable);
		CHECK(sa_relays_line(r, 0) == NULL);
	}
	mavis_arena_free(&a);
}

/* Received.pm's non-standard forms after the sendmail one, in its order */
static void
test_forms(void)
{
	static const struct {
		const char *line, *want;
	} cases[] = {
		{ "from bluemail.dk (IDENT:nobody@[211.57.216.185]) by webnote.net (8.9.3/8.9.3) with "
		  "SMTP id WAA12021; Thu, 29 Aug 2002 22:32:54 +0100",
		  "[ ip=211.57.216.185 rdns= helo=bluemail.dk by=webnote.net ident=IDENT:nobody " },
		{ "from attbi.com (h000502e08144.ne.client2.attbi.com[24.128.27.103]) by "
		  "rwcrmhc53.attbi.com (rwcrmhc53) with SMTP id <20030222193438053008f7tee>",
		  "[ ip=24.128.27.103 rdns=h000502e08144.ne.client2.attbi.com helo=attbi.com " },
		{ "from mail2.detr.gsi.gov.uk ([51.64.35.18] helo=ahvfw.dtlr.gsi.gov.uk) by "
		  "mail4.gsi.gov.uk with smtp id 190K1R-0000me-00 for x@example.com",
		  "[ ip=51.64.35.18 rdns=mail2.detr.gsi.gov.uk helo=ahvfw.dtlr.gsi.gov.uk " },
		{ "from ns.elcanto.co.kr (66.161.246.58 [66.161.246.58]) by mail.ssccbelen.edu.pe with "
		  "SMTP (Microsoft Exchange Internet Mail Service Version 5.5.1960.3) id G69TW478",
		  "[ ip=66.161.246.58 rdns=66.161.246.58 helo=ns.elcanto.co.kr " },
	};
	struct mavis_arena *a = mavis_arena_new(0);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sa_relays *r = NULL;
		const char *v[1] = { cases[i].line };

		CHECK_INT(sa_relays_build(v, 1, NULL, NULL, NULL, a, &r), 0);
		const char *got = sa_relays_line(r, 0);

		if (got == NULL || strncmp(got, cases[i].want, strlen(cases[i].want)) != 0)
			test_fail(__FILE__, __LINE__, "%s:\n  got  %s\n  want %s...", cases[i].line,
				  got ? got : "(none)", cases[i].want);
	}
	mavis_arena_free(&a);
}

/* 5000 long hostile lines: bounded and quick */
static void
test_hostile(void)
{
	struct mavis_arena *a = mavis_arena_new(0);
	const char **vals = mavis_arena_calloc(a, 5000, sizeof(*vals));
	struct sa_relays *r;
	struct timespec t0, t1;
	double ms;

	for (int i = 0; i < 5000; i++) {
		struct sa_sb b = { 0 };

		sa_sb_add(&b, a, "from ", 5);
		for (int k = 0; k < 400; k++)
			sa_sb_add(&b, a, i % 2 ? "x ([1.2.3.4] by " : "(((((([[[[ id ", i % 2 ? 16 : 14);
		vals[i] = b.p;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(sa_relays_build(vals, 5000, NULL, NULL, NULL, a, &r), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("hostile: 5000 lines of ~6 KB in %.1f ms, arena %zu bytes\n", ms, mavis_arena_used(a));
	CHECK(ms < 20000);
	CHECK(sa_relays_unparseable(r) >= 4000);
	mavis_arena_free(&a);
}

int
main(void)
{
	const char *one = getenv("MAVIS_SA_DUMP");

	if (one) {
		size_t n;
		char *msg = test_slurp(one, &n);
		struct mavis_arena *a = mavis_arena_new(0);

		if (!msg)
			return 2;
		fputs(dump(msg, a), stdout);
		mavis_arena_free(&a);
		free(msg);
		return 0;
	}
	TEST_RUN(test_corpus);
	TEST_RUN(test_netset);
	TEST_RUN(test_evals);
	TEST_RUN(test_ignored);
	TEST_RUN(test_forms);
	TEST_RUN(test_hostile);
	return test_exit();
}
