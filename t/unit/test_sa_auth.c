/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_sa_auth.c - the DKIM, SPF and DMARC plugins' evals of the native engine on our results */

#include <string.h>

#include <mavis/arena.h>
#include <mavis/sa.h>
#include <mavis/spam.h>

#include "harness.h"
#include "sa/sa_int.h"

/* The plugins' rules as SpamAssassin ships them (tflags net), a score
   each so that every one runs, plus argument forms and one eval we do not
   implement. */
static const char rules[] =
	"full DKIM_SIGNED eval:check_dkim_signed()\ntflags DKIM_SIGNED net\nscore DKIM_SIGNED 1\n"
	"full DKIM_VALID eval:check_dkim_valid()\ntflags DKIM_VALID net nice\nscore DKIM_VALID 1\n"
	"full DKIM_VALID_AU eval:check_dkim_valid_author_sig()\ntflags DKIM_VALID_AU net\nscore DKIM_VALID_AU 1\n"
	"full DKIM_VALID_EF eval:check_dkim_valid_envelopefrom()\ntflags DKIM_VALID_EF net\nscore DKIM_VALID_EF 1\n"
	"meta DKIM_INVALID DKIM_SIGNED && !DKIM_VALID\nscore DKIM_INVALID 1\n"
	"full RESIGNER eval:check_dkim_valid('.lists.example', 'other.example')\ntflags RESIGNER net\nscore RESIGNER 1\n"
	"header SPF_PASS eval:check_for_spf_pass()\ntflags SPF_PASS net\nscore SPF_PASS 1\n"
	"header SPF_SOFTFAIL eval:check_for_spf_softfail()\ntflags SPF_SOFTFAIL net\nscore SPF_SOFTFAIL 1\n"
	"header SPF_HELO_NONE eval:check_for_spf_helo_none()\ntflags SPF_HELO_NONE net\nscore SPF_HELO_NONE 1\n"
	"header SPF_HELO_TEMP eval:check_for_spf_helo_temperror()\ntflags SPF_HELO_TEMP net\nscore SPF_HELO_TEMP 1\n"
	"header DMARC_PASS eval:check_dmarc_pass()\ntflags DMARC_PASS net\nscore DMARC_PASS 1\n"
	"header DMARC_QUAR eval:check_dmarc_quarantine()\ntflags DMARC_QUAR net\nscore DMARC_QUAR 1\n"
	"header DMARC_MISSING eval:check_dmarc_missing()\ntflags DMARC_MISSING net\nscore DMARC_MISSING 1\n"
	"header DKIM_ADSP_ALL eval:check_dkim_adsp('A')\ntflags DKIM_ADSP_ALL net\nscore DKIM_ADSP_ALL 1\n";

static const char msg[] = "From: Alice <alice@example.org>\r\nTo: bob@example.net\r\n"
			  "Subject: hi\r\n\r\nHello.\r\n";

/* the names of the rules that hit, space separated */
static const char *
hits(const struct mavis_sa_rules *r, const struct mavis_sa_auth *au, struct mavis_arena *a)
{
	struct mavis_spam_result res;
	struct mavis_error err = { 0 };
	char *out = mavis_arena_calloc(a, 1, 512);

	if (mavis_sa_check_auth(r, msg, strlen(msg), au, a, &res, &err) < 0)
		return "error";
	for (size_t i = 0; i < res.n_tests; i++) {
		if (i)
			strcat(out, " ");
		strcat(out, res.tests[i].name);
	}
	return out;
}

static void
test_evals(void)
{
	struct mavis_sa_rules *r = NULL;
	struct mavis_error err = { 0 };
	struct mavis_arena *a = mavis_arena_new(4096);
	struct mavis_sa_rule_info info;

	CHECK_INT(mavis_sa_rules_from_text(rules, strlen(rules), &r, &err), 0);
	if (r == NULL)
		return;
	/* ours run; the ADSP eval stays a network test SpamAssassin skips too */
	for (size_t i = 0; mavis_sa_rule_get(r, i, &info); i++) {
		if (strcmp(info.name, "DKIM_ADSP_ALL") == 0)
			CHECK_STR(info.unsupported ? info.unsupported : "(null)", "network test");
		else
			CHECK(info.unsupported == NULL);
	}
	/* no results at all, or checks that did not run: nothing hits */
	CHECK_STR(hits(r, NULL, a), "");
	struct mavis_sa_auth none = { 0 };
	CHECK_STR(hits(r, &none, a), "");

	/* an invalid signature by the author's domain: signed, not valid */
	struct mavis_sa_dkim_sig bad[] = { { "example.org", false } };
	struct mavis_sa_auth au = { .dkim_checked = true, .sigs = bad, .n_sigs = 1 };
	CHECK_STR(hits(r, &au, a), "DKIM_INVALID DKIM_SIGNED");
	/* valid, by the author's domain and the envelope sender's */
	struct mavis_sa_dkim_sig good[] = { { "example.org", true } };
	au.sigs = good;
	au.envelope_from_domain = "example.org";
	CHECK_STR(hits(r, &au, a), "DKIM_SIGNED DKIM_VALID DKIM_VALID_AU DKIM_VALID_EF");
	/* valid by a list's subdomain: not the author's; the domain argument */
	struct mavis_sa_dkim_sig list[] = { { "bounce.lists.example", true } };
	au.sigs = list;
	CHECK_STR(hits(r, &au, a), "DKIM_SIGNED DKIM_VALID RESIGNER");
	/* no signature at all */
	au.n_sigs = 0;
	CHECK_STR(hits(r, &au, a), "");

	/* SPF, both identities */
	struct mavis_sa_auth sp = { .spf_checked = true, .spf = MAVIS_SA_SPF_PASS,
				    .spf_helo = MAVIS_SA_SPF_NONE };
	CHECK_STR(hits(r, &sp, a), "SPF_HELO_NONE SPF_PASS");
	sp.spf = MAVIS_SA_SPF_SOFTFAIL;
	sp.spf_helo = MAVIS_SA_SPF_TEMPERROR;
	CHECK_STR(hits(r, &sp, a), "SPF_HELO_TEMP SPF_SOFTFAIL");

	/* DMARC */
	struct mavis_sa_auth dm = { .dmarc_checked = true, .dmarc = MAVIS_SA_DMARC_PASS };
	CHECK_STR(hits(r, &dm, a), "DMARC_PASS");
	dm.dmarc = MAVIS_SA_DMARC_QUARANTINE;
	CHECK_STR(hits(r, &dm, a), "DMARC_QUAR");
	dm.dmarc = MAVIS_SA_DMARC_MISSING;
	CHECK_STR(hits(r, &dm, a), "DMARC_MISSING");
	dm.dmarc = MAVIS_SA_DMARC_ERROR;
	CHECK_STR(hits(r, &dm, a), "");
	mavis_sa_rules_free(&r);
	mavis_arena_free(&a);
}

int
main(void)
{
	TEST_RUN(test_evals);
	return test_exit();
}
