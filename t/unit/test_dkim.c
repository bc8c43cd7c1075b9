/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_dkim.c - the authserv-id parser, signing options, key choice and loading, the resolver's bounds */

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <opendkim/dkim.h>

#include <mavis/arena.h>
#include <mavis/config.h>
#include <mavis/dkim.h>

#include "dkim/dkim_int.h"
#include "harness.h"

static void
test_servid(void)
{
	static const struct {
		const char *in, *want;	/* want NULL: MAVIS_ERR_PARSE */
	} cases[] = {
		{ "mx.example.com; dkim=pass", "mx.example.com" },
		{ " mx.example.com (mavis);\r\n dkim=pass", "mx.example.com" },
		{ "(comment (nested) here) mx.example.com; none", "mx.example.com" },
		{ "\"quoted\\\"id\"; none", "quoted\"id" },
		{ "mx.example.com", "mx.example.com" },
		{ "  ; dkim=pass", NULL },
		{ "", NULL },
		{ "(open comment mx.example.com", NULL },
		{ "\"unterminated", NULL },
		{ "\"ctl\001char\"", NULL },
	};
	char buf[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = mavis_authres_servid(cases[i].in, strlen(cases[i].in), buf, sizeof(buf));

		if (cases[i].want == NULL) {
			CHECK_INT(rc, MAVIS_ERR_PARSE);
		} else {
			CHECK_INT(rc, 0);
			CHECK_STR(buf, cases[i].want);
		}
	}
	/* bounded by the output size, not by a NUL in the input */
	CHECK_INT(mavis_authres_servid("a-much-longer-id-than-fits", 26, buf, 8), MAVIS_ERR_PARSE);
	CHECK_INT(mavis_authres_servid("mx.example.com; x", 2, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "mx");
}

static void
test_opts(void)
{
	struct mavis_arena *a = mavis_arena_new(1024);
	struct mavis_error err = { 0 };
	struct dkim_sign_opts o;

	CHECK_INT(dkim_sign_opts_parse(NULL, &o, a, &err), 0);
	CHECK_INT(o.hdr_canon, DKIM_CANON_RELAXED);	/* amavisd's c=relaxed/simple */
	CHECK_INT(o.body_canon, DKIM_CANON_SIMPLE);
	CHECK_INT(dkim_sign_opts_parse("c=simple/relaxed; ttl=7d; h=From:To ; d=example.net; i=@example.net",
				       &o, a, &err), 0);
	CHECK_INT(o.hdr_canon, DKIM_CANON_SIMPLE);
	CHECK_INT(o.body_canon, DKIM_CANON_RELAXED);
	CHECK_INT(o.ttl, 7 * 86400);
	CHECK_STR(o.h, "From:To");
	CHECK_STR(o.d, "example.net");
	CHECK_STR(o.i, "@example.net");
	/* later tags replace earlier ones: the map's value after the default */
	CHECK_INT(dkim_sign_opts_parse("c=relaxed/simple; c=relaxed/relaxed", &o, a, &err), 0);
	CHECK_INT(o.body_canon, DKIM_CANON_RELAXED);
	CHECK_INT(dkim_sign_opts_parse("c=relaxed", &o, a, &err), 0);
	CHECK_INT(o.body_canon, DKIM_CANON_SIMPLE);
	static const char *const bad[] = { "c=nowsp", "ttl=5y", "x=", "a=rsa-sha1", "q=dns", "junk" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mavis_error_clear(&err);
		CHECK_INT(dkim_sign_opts_parse(bad[i], &o, a, &err), MAVIS_ERR_CONFIG);
		CHECK(err.text[0] != '\0');
	}
	mavis_arena_free(&a);
}

/* Keys made by mavis_dkim_genkey, loaded back from the config; the choice
   of key by domain; the TXT comparison; the load-time refusals. */
static void
test_keys(void)
{
	struct mavis_arena *a = mavis_arena_new(4096);
	struct mavis_error err = { 0 };
	struct mavis_config *cfg = NULL;
	struct mavis_dkim_keys *ks = NULL;
	const char *dir = test_tmpdir(), *txt_rsa, *txt_ed;
	char rsa[512], ed[512], conf[2048];
	struct stat st;

	snprintf(rsa, sizeof(rsa), "%s/rsa.pem", dir);
	snprintf(ed, sizeof(ed), "%s/ed.pem", dir);
	CHECK_INT(mavis_dkim_genkey(rsa, MAVIS_DKIM_RSA_SHA256, 1024, a, &txt_rsa, &err), 0);
	CHECK_INT(mavis_dkim_genkey(ed, MAVIS_DKIM_ED25519_SHA256, 0, a, &txt_ed, &err), 0);
	CHECK(strncmp(txt_rsa, "v=DKIM1; k=rsa; p=MIG", 21) == 0);
	CHECK(strncmp(txt_ed, "v=DKIM1; k=ed25519; p=", 22) == 0 && strlen(txt_ed) == 22 + 44);
	CHECK_INT(stat(rsa, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0640);
	/* never over an existing key */
	CHECK_INT(mavis_dkim_genkey(rsa, MAVIS_DKIM_RSA_SHA256, 1024, a, &txt_rsa, &err), MAVIS_ERR_IO);
	CHECK_INT(mavis_dkim_genkey("/x", MAVIS_DKIM_RSA_SHA256, 512, a, &txt_rsa, &err), MAVIS_ERR_CONFIG);

	snprintf(conf, sizeof(conf), "dkim_key = example.com s1 %s\ndkim_key = .example.org s2 %s\n", rsa, ed);
	CHECK_INT(mavis_config_load_string(conf, "t", dir, &cfg, &err), 0);
	CHECK_INT(mavis_dkim_keys_load(cfg, &ks, &err), 0);
	CHECK_INT(mavis_dkim_keys_count(ks), 2);
	CHECK_INT(mavis_dkim_key_at(ks, 0)->bits, 1024);
	CHECK_INT(mavis_dkim_key_at(ks, 1)->alg, MAVIS_DKIM_ED25519_SHA256);
	CHECK_STR(mavis_dkim_key_at(ks, 0)->txt, txt_rsa);
	CHECK_STR(mavis_dkim_key_at(ks, 1)->txt, txt_ed);
	CHECK(dkim_key_for(ks, "example.com") == &ks->v[0]);
	CHECK(dkim_key_for(ks, "EXAMPLE.COM") == &ks->v[0]);
	CHECK(dkim_key_for(ks, "sub.example.com") == NULL);	/* no "." entry */
	CHECK(dkim_key_for(ks, "example.org") == &ks->v[1]);
	CHECK(dkim_key_for(ks, "a.b.example.org") == &ks->v[1]);
	CHECK(dkim_key_for(ks, "badexample.org") == NULL);
	CHECK(dkim_key_for(ks, "") == NULL);
	CHECK_INT(mavis_dkim_txt_matches(mavis_dkim_key_at(ks, 0), txt_rsa, &err), 1);
	CHECK_INT(mavis_dkim_txt_matches(mavis_dkim_key_at(ks, 0), txt_ed, &err), 0);
	CHECK_INT(mavis_dkim_txt_matches(mavis_dkim_key_at(ks, 0), "v=DKIM1; k=rsa; p=", &err), 0);
	CHECK(strstr(err.text, "revoked") != NULL);
	CHECK_INT(mavis_dkim_txt_matches(mavis_dkim_key_at(ks, 0), "v=spf1 -all", &err), MAVIS_ERR_PARSE);
	CHECK_INT(mavis_dkim_check_config(cfg, &err), 0);
	mavis_dkim_keys_free(&ks);
	mavis_config_unref(&cfg);

	/* refused: ed25519 with simple headers, a missing file, a triple short */
	static const struct {
		const char *head, *tail;	/* around the ed25519 key's path */
	} bad[] = {
		{ "dkim_key = example.org s2 ", "\ndkim_signature_options = c=simple/relaxed\n" },
		{ "dkim_key = example.org s2 ", ".missing\n" },
		{ "dkim_key = example.org ", "\n" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(conf, sizeof(conf), "%s%s%s", bad[i].head, ed, bad[i].tail);
		CHECK_INT(mavis_config_load_string(conf, "t", dir, &cfg, &err), 0);
		mavis_error_clear(&err);
		CHECK(mavis_dkim_check_config(cfg, &err) < 0);
		CHECK(err.text[0] != '\0');
		mavis_config_unref(&cfg);
	}
	/* a file that is no key */
	const char *junk = test_write_file("junk.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
	snprintf(conf, sizeof(conf), "dkim_key = example.org s %s\n", junk);
	CHECK_INT(mavis_config_load_string(conf, "t", dir, &cfg, &err), 0);
	CHECK_INT(mavis_dkim_keys_load(cfg, &ks, &err), MAVIS_ERR_CONFIG);
	CHECK(ks == NULL);
	mavis_config_unref(&cfg);
	mavis_arena_free(&a);
}

/* The resolver's input bounds; a server that does not answer is an error
   (temperror for the signature), never "no record". */
static void
test_dns(void)
{
	struct mavis_dns *d = NULL;
	struct mavis_error err = { 0 };
	const char *one[] = { "127.0.0.1:9" };
	const char *bad[] = { "localhost", "127.0.0.1:0", "127.0.0.1:99999", "::1" };
	const char *four[] = { "127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1" };
	char buf[256], name[400];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(mavis_dns_new(&bad[i], 1, 1, 10, &d, &err), MAVIS_ERR_CONFIG);
	CHECK_INT(mavis_dns_new(four, 4, 1, 10, &d, &err), MAVIS_ERR_CONFIG);
	CHECK_INT(mavis_dns_new(one, 1, 1, 10, &d, &err), 0);
	CHECK(mavis_dns_txt(d, "sel._domainkey.example.com", buf, sizeof(buf), &err) < 0);
	CHECK(mavis_dns_txt(d, "sel._domainkey.example.com", buf, sizeof(buf), &err) < 0);
	unsigned long hits, misses;
	mavis_dns_stats(d, &hits, &misses);
	CHECK_INT(hits, 0);	/* failures are not cached */
	CHECK_INT(misses, 2);
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	CHECK_INT(mavis_dns_txt(d, name, buf, sizeof(buf), &err), MAVIS_ERR_LIMIT);
	mavis_dns_free(&d);
	mavis_dns_free(&d);
}

int
main(void)
{
	TEST_RUN(test_servid);
	TEST_RUN(test_opts);
	TEST_RUN(test_keys);
	TEST_RUN(test_dns);
	return test_exit();
}
