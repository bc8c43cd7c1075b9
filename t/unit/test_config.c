/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_config.c - config parser, types, expansion, banks, views, policy files */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mavis/config.h>

#include "harness.h"

static struct mavis_config *
load_ok(const char *text)
{
	struct mavis_config *cfg = NULL;
	struct mavis_error err = { 0 };

	if (mavis_config_load_string(text, "test.conf", test_tmpdir(), &cfg, &err) < 0) {
		test_fail(__FILE__, __LINE__, "load failed: %s\n---\n%s", err.text, text);
		return NULL;
	}
	return cfg;
}

/* Bad configurations: each must fail, and the error must contain a text. */
static void
test_errors(void)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{ "no_such_key = 1\n", "test.conf:1: no_such_key: unknown parameter" },
		{ "\n\n# c\nfinal_spam_destiny = explode\n", "test.conf:4: final_spam_destiny: bad destiny" },
		{ "originating = maybe\n", "test.conf:1: originating: bad boolean" },
		{ "max_levels = 0\n", "out of range" },
		{ "max_levels = 1000\n", "out of range" },
		{ "max_levels = ten\n", "bad int" },
		{ "body_memory_limit = 10X\n", "bad size" },
		{ "shutdown_timeout = 5y\n", "bad time" },
		{ "just some words\n", "test.conf:1: missing '='" },
		{ "  indented = 1\n", "continuation line without a parameter" },
		{ "[section x]\n", "unknown section" },
		{ "[bank bad/name]\n", "bad bank name" },
		{ "[bank X]\nmilter_socket = inet:1@localhost\n", "cannot be set in bank X" },
		{ "x_header_line = $nosuchthing\n", "undefined parameter $nosuchthing" },
		{ "x_header_tag = $x_header_line\nx_header_line = $x_header_tag\n", "recursive" },
		{ "on_internal_error = sometimes\n", "want tempfail|reject|pass" },
		{ "mynetworks = 10.0.0.0/33\n", "mynetworks" },
		{ "local_domains_maps = hash:/nonexistent/file\n", "local_domains_maps" },
		{ "spam_kill_level_maps = static:abc\n", "spam_kill_level_maps" },
		{ "x_header_line = \"a\"b\"\n", "x_header_line" },
		{ "policy_directory = /nonexistent/dir\n", "policy_directory" },
		{ "[bank A]\nfinal_spam_destiny = nope\n", "bank A: test.conf:2: final_spam_destiny" },
		{ "bad-name = 1\n", "bad parameter name" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mavis_config *cfg = NULL;
		struct mavis_error err = { 0 };
		int rc = mavis_config_load_string(cases[i].text, "test.conf", NULL, &cfg, &err);

		if (rc >= 0) {
			test_fail(__FILE__, __LINE__, "case %zu loaded but should fail: %s", i,
				  cases[i].text);
			mavis_config_unref(&cfg);
			continue;
		}
		CHECK(cfg == NULL);
		if (strstr(err.text, cases[i].want) == NULL)
			test_fail(__FILE__, __LINE__, "case %zu: error \"%s\" lacks \"%s\"", i, err.text,
				  cases[i].want);
	}
}

static void
test_types(void)
{
	struct mavis_config *cfg = load_ok(
		"# comment\n"
		"myhostname = mx1.example.net\n"
		"originating = yes\n"
		"log_level = 3\n"
		"body_memory_limit = 2M\n"
		"message_size_limit = 512k\n"
		"shutdown_timeout = 2m\n"
		"x_header_line = \"  spaced out  \"\n"
		"on_internal_error = reject\n"
		"final_virus_destiny = D_DISCARD\n"
		"final_banned_destiny = bounce\n"
		"allowed_header_tests = mime, syntax\n"
		"   empty long\n"
		"\n"
		"av_scanners = clamav clamd:/run/clamav/clamd.ctl\n");

	if (cfg == NULL)
		return;
	CHECK_STR(mavis_config_get(cfg, MAVIS_KEY_MYHOSTNAME)->u.s, "mx1.example.net");
	CHECK_STR(mavis_config_get(cfg, MAVIS_KEY_MYDOMAIN)->u.s, "example.net");
	CHECK(mavis_config_get(cfg, MAVIS_KEY_ORIGINATING)->u.b);
	CHECK_INT(mavis_config_get(cfg, MAVIS_KEY_LOG_LEVEL)->u.i, 3);
	CHECK_INT(mavis_config_get(cfg, MAVIS_KEY_BODY_MEMORY_LIMIT)->u.i, 2 * 1024 * 1024);
	CHECK_INT(mavis_config_get(cfg, MAVIS_KEY_MESSAGE_SIZE_LIMIT)->u.i, 512 * 1024);
	CHECK_INT(mavis_config_get(cfg, MAVIS_KEY_SHUTDOWN_TIMEOUT)->u.i, 120);
	CHECK_STR(mavis_config_get(cfg, MAVIS_KEY_X_HEADER_LINE)->u.s, "  spaced out  ");
	CHECK_INT(mavis_config_get(cfg, MAVIS_KEY_ON_INTERNAL_ERROR)->u.e, 1);
	CHECK_INT(mavis_config_get(cfg, MAVIS_KEY_FINAL_VIRUS_DESTINY)->u.e, MAVIS_D_DISCARD);
	/* bounce is accepted as reject in milter mode, with a warning */
	CHECK_INT(mavis_config_get(cfg, MAVIS_KEY_FINAL_BANNED_DESTINY)->u.e, MAVIS_D_REJECT);
	CHECK(mavis_config_warnings(cfg)[0] != NULL &&
	      strstr(mavis_config_warnings(cfg)[0], "final_banned_destiny") != NULL);
	const struct mavis_value *l = mavis_config_get(cfg, MAVIS_KEY_ALLOWED_HEADER_TESTS);
	CHECK_INT(l->u.list.n, 4);
	if (l->u.list.n == 4) {
		CHECK_STR(l->u.list.v[0], "mime");
		CHECK_STR(l->u.list.v[3], "long");
	}
	CHECK_INT(mavis_config_get(cfg, MAVIS_KEY_AV_SCANNERS)->u.list.n, 2);
	CHECK(mavis_config_is_set(cfg, MAVIS_KEY_ORIGINATING));
	CHECK(!mavis_config_is_set(cfg, MAVIS_KEY_MAX_LEVELS));
	/* defaults */
	CHECK_INT(mavis_config_get(cfg, MAVIS_KEY_MAX_LEVELS)->u.i, 14);
	CHECK_INT(mavis_config_get(cfg, MAVIS_KEY_FINAL_SPAM_DESTINY)->u.e, MAVIS_D_PASS);
	CHECK_INT(mavis_config_get(cfg, MAVIS_KEY_ON_SCANNER_FAILURE)->u.e, 0);
	mavis_config_unref(&cfg);
	CHECK(cfg == NULL);
}

static void
test_expansion(void)
{
	struct mavis_config *cfg = load_ok(
		"myhostname = host.example.org\n"
		"x_header_line = scanned by $myhostname (${mydomain}) $(syslog_ident) $$5\n"
		"local_domains_maps = $mydomain, .sub.$mydomain\n");

	if (cfg == NULL)
		return;
	CHECK_STR(mavis_config_get(cfg, MAVIS_KEY_X_HEADER_LINE)->u.s,
		  "scanned by host.example.org (example.org) mavisd $5");
	CHECK_STR(mavis_config_get(cfg, MAVIS_KEY_LOCAL_DOMAINS_MAPS)->text,
		  "example.org, .sub.example.org");
	mavis_config_unref(&cfg);
}

/* clamd_stream_max_length follows message_size_limit unless set: mail the
   MTA takes is never refused for its size before clamd is asked. */
static void
test_clamd_stream_default(void)
{
	struct mavis_config *cfg = load_ok("myhostname = h.example.org\n");

	if (cfg != NULL) {
		CHECK_INT(mavis_config_get(cfg, MAVIS_KEY_CLAMD_STREAM_MAX_LENGTH)->u.i,
			  100LL * 1024 * 1024);
		mavis_config_unref(&cfg);
	}
	cfg = load_ok("message_size_limit = 50M\n");
	if (cfg != NULL) {
		CHECK_INT(mavis_config_get(cfg, MAVIS_KEY_CLAMD_STREAM_MAX_LENGTH)->u.i,
			  50LL * 1024 * 1024);
		mavis_config_unref(&cfg);
	}
	cfg = load_ok("clamd_stream_max_length = 25M\n");
	if (cfg != NULL) {
		CHECK_INT(mavis_config_get(cfg, MAVIS_KEY_CLAMD_STREAM_MAX_LENGTH)->u.i,
			  25LL * 1024 * 1024);
		mavis_config_unref(&cfg);
	}
}

static int
lookup_bool(const struct mavis_view *v, enum mavis_key k, const char *addr)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_map_result res;
	struct mavis_error err = { 0 };
	int rc = mavis_view_lookup(v, k, addr, a, &res, &err);
	int out = rc < 0 ? -2 : rc == 0 ? -1 : mavis_map_value_bool(res.value);

	mavis_arena_free(&a);
	return out;
}

static double
lookup_float(const struct mavis_view *v, enum mavis_key k, const char *addr)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_map_result res;
	struct mavis_error err = { 0 };
	double d = -999;
	int rc = mavis_view_lookup(v, k, addr, a, &res, &err);

	if (rc > 0 && mavis_map_value_float(res.value, &d) < 0)
		d = -998;
	mavis_arena_free(&a);
	return d;
}

static void
test_banks(void)
{
	struct mavis_config *cfg = load_ok(
		"myhostname = mx.example.com\n"
		"mynetworks = 10.0.0.0/8 [::1]\n"
		"client_ipaddr_policy = inline:{192.0.2.0/24=\"PARTNER,TRUSTED\"}\n"
		"final_spam_destiny = reject\n"
		"final_banned_destiny = reject\n"
		"log_level = 1\n"
		"[bank MYNETS]\n"
		"final_banned_destiny = pass\n"
		"[bank ORIGINATING]\n"
		"originating = yes\n"
		"final_spam_destiny = pass\n"
		"log_level = 2\n"
		"[bank submission]\n"
		"log_level = 4\n"
		"[bank PARTNER]\n"
		"spam_kill_level_maps = 20\n"
		"[bank TRUSTED]\n"
		"bypass_spam_checks_maps = yes\n");
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_error err = { 0 };

	if (cfg == NULL)
		return;
	CHECK_INT(mavis_config_bank_count(cfg), 5);
	CHECK(mavis_config_has_bank(cfg, "MYNETS"));
	CHECK(mavis_config_bank_get(cfg, "MYNETS", MAVIS_KEY_FINAL_SPAM_DESTINY) == NULL);

	/* Outside client, no SASL: base values only. */
	struct mavis_view *v = mavis_view_new(cfg);
	struct mavis_conn_facts f1 = { "mx.example.com", "203.0.113.9" };
	CHECK_INT(mavis_view_select_conn(v, &f1, a, &err), 0);
	CHECK_STR(mavis_view_path(v), "");
	CHECK(!mavis_view_originating(v));
	CHECK_INT(mavis_view_get(v, MAVIS_KEY_FINAL_SPAM_DESTINY)->u.e, MAVIS_D_REJECT);
	/* SASL at MAIL: ORIGINATING stacks, and goes again at truncate. */
	size_t depth = mavis_view_depth(v);
	CHECK_INT(mavis_view_select_sender(v, "alice"), 1);
	CHECK_STR(mavis_view_path(v), "ORIGINATING");
	CHECK(mavis_view_originating(v));
	CHECK_INT(mavis_view_get(v, MAVIS_KEY_FINAL_SPAM_DESTINY)->u.e, MAVIS_D_PASS);
	CHECK_INT(mavis_view_int(v, MAVIS_KEY_LOG_LEVEL), 2);
	mavis_view_truncate(v, depth);
	CHECK_STR(mavis_view_path(v), "");
	CHECK_INT(mavis_view_int(v, MAVIS_KEY_LOG_LEVEL), 1);
	mavis_view_free(&v);

	/* Internal client on the submission service with SASL: all stack, in order. */
	v = mavis_view_new(cfg);
	struct mavis_conn_facts f2 = { "submission", "10.1.2.3" };
	CHECK_INT(mavis_view_select_conn(v, &f2, a, &err), 0);
	CHECK_INT(mavis_view_select_sender(v, "bob"), 1);
	CHECK_STR(mavis_view_path(v), "submission/MYNETS/ORIGINATING");
	CHECK_INT(mavis_view_int(v, MAVIS_KEY_LOG_LEVEL), 2);	/* later bank wins */
	CHECK_INT(mavis_view_get(v, MAVIS_KEY_FINAL_BANNED_DESTINY)->u.e, MAVIS_D_PASS);
	CHECK(mavis_view_originating(v));
	/* loading a bank already in the path is ignored */
	CHECK_INT(mavis_view_load_bank(v, "MYNETS"), 0);
	CHECK_INT(mavis_view_load_bank(v, "NOSUCH"), 0);
	mavis_view_free(&v);

	/* client_ipaddr_policy: two banks for one network, in order */
	v = mavis_view_new(cfg);
	struct mavis_conn_facts f3 = { NULL, "192.0.2.77" };
	CHECK_INT(mavis_view_select_conn(v, &f3, a, &err), 0);
	CHECK_STR(mavis_view_path(v), "PARTNER/TRUSTED");
	CHECK(lookup_float(v, MAVIS_KEY_SPAM_KILL_LEVEL_MAPS, "x@example.com") == 20.0);
	CHECK_INT(lookup_bool(v, MAVIS_KEY_BYPASS_SPAM_CHECKS_MAPS, "x@example.com"), 1);
	mavis_view_free(&v);

	/* IPv6 loopback is in mynetworks; MYNETS implies originating */
	v = mavis_view_new(cfg);
	struct mavis_conn_facts f4 = { NULL, "::1" };
	CHECK_INT(mavis_view_select_conn(v, &f4, a, &err), 0);
	CHECK_STR(mavis_view_path(v), "MYNETS");
	CHECK(mavis_view_originating(v));
	mavis_view_free(&v);

	mavis_arena_free(&a);
	mavis_config_unref(&cfg);
}

/* MYNETS without a [bank MYNETS] section still marks originating. */
static void
test_implicit_mynets(void)
{
	struct mavis_config *cfg = load_ok("mynetworks = 127.0.0.0/8\n");
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_error err = { 0 };

	if (cfg == NULL)
		return;
	struct mavis_view *v = mavis_view_new(cfg);
	struct mavis_conn_facts f = { NULL, "127.0.0.1" };
	CHECK_INT(mavis_view_select_conn(v, &f, a, &err), 0);
	CHECK(mavis_view_originating(v));
	CHECK_STR(mavis_view_path(v), "MYNETS");
	mavis_view_free(&v);
	mavis_arena_free(&a);
	mavis_config_unref(&cfg);
}

static void
test_policy_dir(void)
{
	char dir[512], text[1024];

	snprintf(dir, sizeof(dir), "%s/policy.d", test_tmpdir());
	mkdir(dir, 0755);
	test_write_file("policy.d/example.com",
			"# example.com policy\n"
			"spam_kill_level_maps = 12\n"
			"spam_lovers_maps = alice@example.com\n");
	test_write_file("policy.d/.example.org", "spam_kill_level_maps = 15\n");
	test_write_file("policy.d/README", "not a domain\n");
	snprintf(text, sizeof(text),
		 "policy_directory = %s\n"
		 "spam_kill_level_maps = 6.31\n"
		 "spam_lovers_maps = bob@example.net\n", dir);
	struct mavis_config *cfg = load_ok(text);
	if (cfg == NULL)
		return;
	CHECK_INT(mavis_config_domain_count(cfg), 2);
	struct mavis_view *v = mavis_view_new(cfg);
	CHECK(lookup_float(v, MAVIS_KEY_SPAM_KILL_LEVEL_MAPS, "x@example.com") == 12.0);
	CHECK(lookup_float(v, MAVIS_KEY_SPAM_KILL_LEVEL_MAPS, "x@Example.COM") == 12.0);
	CHECK(lookup_float(v, MAVIS_KEY_SPAM_KILL_LEVEL_MAPS, "x@sub.example.com") == 6.31);
	CHECK(lookup_float(v, MAVIS_KEY_SPAM_KILL_LEVEL_MAPS, "x@example.org") == 15.0);
	CHECK(lookup_float(v, MAVIS_KEY_SPAM_KILL_LEVEL_MAPS, "x@a.b.example.org") == 15.0);
	CHECK(lookup_float(v, MAVIS_KEY_SPAM_KILL_LEVEL_MAPS, "x@example.net") == 6.31);
	/* the domain file's ACL has no match for carol: falls through to global */
	CHECK_INT(lookup_bool(v, MAVIS_KEY_SPAM_LOVERS_MAPS, "alice@example.com"), 1);
	CHECK_INT(lookup_bool(v, MAVIS_KEY_SPAM_LOVERS_MAPS, "carol@example.com"), -1);
	CHECK_INT(lookup_bool(v, MAVIS_KEY_SPAM_LOVERS_MAPS, "bob@example.net"), 1);
	mavis_view_free(&v);
	mavis_config_unref(&cfg);

	/* A bad policy file fails the whole load with file:line. */
	test_write_file("policy.d/bad.example", "spam_kill_level_maps = 1\nfinal_spam_destiny = pass\n");
	struct mavis_config *bad = NULL;
	struct mavis_error err = { 0 };
	CHECK(mavis_config_load_string(text, "test.conf", NULL, &bad, &err) < 0);
	CHECK(strstr(err.text, "bad.example:2: final_spam_destiny: not a per-recipient parameter") != NULL);
	CHECK(bad == NULL);
}

static void
test_print(void)
{
	struct mavis_config *cfg = load_ok("log_level = 2\n[bank B]\nlog_level = 5\n");
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (cfg == NULL)
		return;
	f = open_memstream(&buf, &len);
	CHECK_INT(mavis_config_print(cfg, NULL, MAVIS_PRINT_NONDEFAULT, f), 0);
	fclose(f);
	CHECK(strstr(buf, "log_level = 2\n") != NULL);
	CHECK(strstr(buf, "[bank B]\nlog_level = 5\n") != NULL);
	CHECK(strstr(buf, "max_levels") == NULL);
	free(buf);

	f = open_memstream(&buf, &len);
	CHECK_INT(mavis_config_print(cfg, "B", MAVIS_PRINT_NONDEFAULT, f), 0);
	fclose(f);
	CHECK(strstr(buf, "log_level = 5\n") != NULL);
	free(buf);

	f = open_memstream(&buf, &len);
	CHECK_INT(mavis_config_print(cfg, "NOPE", MAVIS_PRINT_NONDEFAULT, f), MAVIS_ERR_NOTFOUND);
	fclose(f);
	free(buf);

	f = open_memstream(&buf, &len);
	CHECK_INT(mavis_config_print(NULL, NULL, MAVIS_PRINT_DEFAULTS, f), 0);
	fclose(f);
	for (int k = 0; k < MAVIS_KEY_COUNT; k++) {
		char want[256];

		snprintf(want, sizeof(want), "%s = ", mavis_key_info(k)->name);
		if (strstr(buf, want) == NULL)
			test_fail(__FILE__, __LINE__, "defaults lack %s", want);
	}
	free(buf);
	mavis_config_unref(&cfg);
}

/* Every table default must itself parse (the table is data, test it). */
static void
test_table_defaults(void)
{
	struct mavis_config *cfg = load_ok("");

	CHECK(cfg != NULL);
	for (int k = 0; k < MAVIS_KEY_COUNT; k++) {
		const struct mavis_key_info *ki = mavis_key_info(k);

		CHECK(ki->name != NULL && ki->doc != NULL && ki->def != NULL);
		CHECK_INT(mavis_key_find(ki->name), k);
		if (ki->type == MAVIS_T_ENUM)
			CHECK(ki->choices != NULL);
	}
	CHECK_INT(mavis_key_find("no_such_key"), -1);
	mavis_config_unref(&cfg);
}

/* The shipped etc/mavisd.conf must load with the key table. */
static void
test_shipped_config(void)
{
	char path[1024];
	const char *src = getenv("MAVIS_SOURCE_DIR");
	struct mavis_config *cfg = NULL;
	struct mavis_error err = { 0 };

	snprintf(path, sizeof(path), "%s/etc/mavisd.conf", src ? src : ".");
	if (mavis_config_load(path, &cfg, &err) < 0)
		test_fail(__FILE__, __LINE__, "shipped config: %s", err.text);
	CHECK(cfg == NULL || mavis_config_has_bank(cfg, "ORIGINATING"));
	mavis_config_unref(&cfg);
	snprintf(path, sizeof(path), "%s/etc/policy.d", src ? src : ".");
	char text[1200];
	snprintf(text, sizeof(text), "policy_directory = %s\n", path);
	if (mavis_config_load_string(text, "policy-test", NULL, &cfg, &err) < 0)
		test_fail(__FILE__, __LINE__, "shipped policy.d: %s", err.text);
	mavis_config_unref(&cfg);
}

/* README's parameter reference is generated from the table: check it is current. */
static void
test_readme_reference(void)
{
	char path[1024], *text = NULL;
	const char *src = getenv("MAVIS_SOURCE_DIR");
	FILE *f;
	size_t cap = 0;

	snprintf(path, sizeof(path), "%s/README", src ? src : ".");
	f = fopen(path, "r");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	ssize_t n = getdelim(&text, &cap, '\0', f);
	fclose(f);
	CHECK(n > 0);
	for (int k = 0; n > 0 && k < MAVIS_KEY_COUNT; k++) {
		char want[512];
		const struct mavis_key_info *ki = mavis_key_info(k);

		snprintf(want, sizeof(want), "| `%s` |", ki->name);
		if (strstr(text, want) == NULL)
			test_fail(__FILE__, __LINE__, "README reference lacks %s (run contrib/gen-readme)",
				  ki->name);
		snprintf(want, sizeof(want), "| `%s` | %s", ki->def, ki->doc);
		if (strstr(text, want) == NULL)
			test_fail(__FILE__, __LINE__, "README reference of %s is stale (run contrib/gen-readme)",
				  ki->name);
	}
	free(text);
}

int
main(void)
{
	TEST_RUN(test_errors);
	TEST_RUN(test_types);
	TEST_RUN(test_expansion);
	TEST_RUN(test_clamd_stream_default);
	TEST_RUN(test_banks);
	TEST_RUN(test_implicit_mynets);
	TEST_RUN(test_policy_dir);
	TEST_RUN(test_print);
	TEST_RUN(test_table_defaults);
	TEST_RUN(test_shipped_config);
	TEST_RUN(test_readme_reference);
	return test_exit();
}
