/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_sa_evals.c - native SpamAssassin rules: the local evals of sa_eval_local.c */

#include <stdlib.h>
#include <string.h>

#include <mavis/arena.h>
#include <mavis/sa.h>

#include "harness.h"
#include "sa/sa_int.h"

static const char rules_text[] =
	"util_rb_tld com org net\n"
	"header SUBJ_CAPS eval:subject_is_all_caps()\n"
	"header GATED eval:gated_through_received_hdr_remover()\n"
	"header RP_RCVD eval:check_mailfrom_matches_rcvd()\n"
	"header YAHOO eval:check_for_forged_yahoo_received_headers()\n"
	"header HOTMAIL_FORGED eval:check_for_forged_hotmail_received_headers()\n"
	"header HOTMAIL_NONE eval:check_for_no_hotmail_received_headers()\n"
	"header DOTCOM_HELO eval:check_for_no_rdns_dotcom_helo()\n"
	"header SIMILAR eval:similar_recipients('0.65','undef')\n"
	"header FM_REPLYTO eval:check_freemail_replyto('replyto')\n"
	"full DKIM_DEP eval:check_dkim_dependable()\n"
	"freemail_domains gmail.com yahoo.com\n"
	"score SIMILAR 1\nscore FM_REPLYTO 1\nscore DKIM_DEP 1\n"
	"header SUBJ_ILLEGAL eval:check_illegal_chars('Subject','0.00','2')\n"
	"body VERTICAL eval:tvd_vertical_words('50','100')\n"
	"body MADIFF eval:multipart_alternative_difference('99', '100')\n"
	"score SUBJ_ILLEGAL 1\nscore VERTICAL 1\nscore MADIFF 1\n"
	"body UPPER eval:check_for_uppercase('75', '100')\n"
	"body SHORT eval:check_body_length('0')\n"
	"header TEMPLATE eval:check_unresolved_template()\n"
	"score UPPER 1\nscore SHORT 1\nscore TEMPLATE 1\n"
	"header TO_SUBJ eval:check_for_to_in_subject('user')\n"
	"header RATWARE eval:check_ratware_envelope_from()\n"
	"score TO_SUBJ 1\nscore RATWARE 1\n"
	"score SUBJ_CAPS 1\nscore GATED 1\nscore RP_RCVD 1\nscore YAHOO 1\n"
	"score HOTMAIL_FORGED 1\nscore HOTMAIL_NONE 1\nscore DOTCOM_HELO 1\n";

/* Which of the rules hit on msg? A bit set in rule order above. */
static unsigned
hits(const struct mavis_sa_rules *r, const char *msg)
{
	static const char *const names[] = { "SUBJ_CAPS", "GATED", "RP_RCVD", "YAHOO",
					     "HOTMAIL_FORGED", "HOTMAIL_NONE", "DOTCOM_HELO", "SIMILAR",
					     "FM_REPLYTO", "DKIM_DEP", "SUBJ_ILLEGAL", "VERTICAL",
					     "MADIFF", "UPPER", "SHORT", "TEMPLATE", "TO_SUBJ", "RATWARE",
					     NULL };
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_error err = { 0 };
	struct mavis_spam_result res;
	unsigned v = 0;

	CHECK_INT(mavis_sa_check(r, msg, strlen(msg), a, &res, &err), 0);
	for (size_t i = 0; i < res.n_tests; i++)
		for (int k = 0; names[k]; k++)
			if (strcmp(res.tests[i].name, names[k]) == 0)
				v |= 1u << k;
	mavis_arena_free(&a);
	return v;
}

#define RCVD "Received: from mx.example.com (mx.example.com [203.0.113.7]) by mail.example.org " \
	     "(Postfix) with ESMTP id 1; Thu, 3 Dec 2026 10:00:00 +0000\n"

static void
test_evals(void)
{
	static const struct {
		const char *msg;
		unsigned want;
	} cases[] = {
		{ RCVD "Subject: BUY NOW AND SAVE\n\nx\n", 1 },
		{ RCVD "Subject: Re: FREE MONEY TODAY\n\nx\n", 1 },
		{ RCVD "Subject: Buy now and save\n\nx\n", 0 },
		{ RCVD "Subject: ONEWORDONLYHERE\n\nx\n", 0 },	/* one word */
		{ RCVD "Subject: SHORT ONE\n\nx\n", 0 },		/* under 10 */
		{ RCVD "Subject: =?koi8-r?B?8NLJ18XU?= HELLO THERE\n\nx\n", 0 },
		{ "Subject: hello there\n\nx\n", 2 },			/* no Received at all */
		{ RCVD "Received: from groups.msn.com (tkmsftngxs01.msn.com [1.2.3.4]) by x\n"
		       "Subject: hi\n\nx\n", 2 },
		/* the envelope sender's domain against the relay's rDNS */
		{ "Return-Path: <bounce@lists.example.com>\n" RCVD "Subject: hi\n\nx\n", 4 },
		{ "Return-Path: <bounce@other.example.net>\n" RCVD "Subject: hi\n\nx\n", 0 },
		/* From @yahoo.com without Yahoo's lines; with them */
		{ RCVD "From: a@yahoo.com\nSubject: hi\n\nx\n", 8 },
		{ "Received: from [1.2.3.4] by web1.mail.mud.yahoo.com via HTTP; Thu, 3 Dec 2026\n"
		  RCVD "From: a@yahoo.com\nSubject: hi\n\nx\n", 0 },
		/* From @hotmail.com: no Hotmail lines; a hotmail HELO that is not Hotmail */
		{ RCVD "From: a@hotmail.com\nSubject: hi\n\nx\n", 32 },
		{ "Received: from hotmail.com (spam.example.net [198.51.100.4]) by mail.example.org "
		  "(Postfix) with SMTP id 2\n" RCVD "From: a@hotmail.com\nSubject: hi\n\nx\n", 16 },
		{ "Received: from hotmail.com (f1.law8.hotmail.com [216.33.241.135]) by x.example.org "
		  "(Postfix) with SMTP id 3\nX-Originating-Ip: [192.0.2.9]\n"
		  "From: a@hotmail.com\nSubject: hi\n\nx\n", 0 },
		/* HELO aol.com, no rDNS (sendmail looked it up) */
		{ "Received: from mx.aol.com ([198.51.100.8]) by mail.example.org (8.12.6/8.12.6) "
		  "with ESMTP id g1; Thu, 3 Dec 2026 10:00:00 +0000\nSubject: hi\n\nx\n", 64 },
		/* five recipients alike in their first two bytes */
		{ RCVD "To: aa1@example.com, aa2@example.com, aa3@example.com\n"
		       "Cc: aa4@example.com, aa5@example.com\nSubject: hi\n\nx\n", 128 },
		{ RCVD "To: ann@example.com, bob@example.net, cy@example.org, dan@foo.example, "
		       "eve@bar.example\nSubject: hi\n\nx\n", 0 },
		/* From and Reply-To two different freemail addresses */
		{ RCVD "From: a@gmail.com\nReply-To: b@yahoo.com\nSubject: hi\n\nx\n", 256 },
		{ RCVD "From: a@gmail.com\nReply-To: a@gmail.com\nSubject: hi\n\nx\n", 0 },
		/* a freemail Reply-To and another freemail address in the body */
		{ RCVD "From: a@example.com\nReply-To: b@yahoo.com\nSubject: hi\n\n"
		       "write to c@gmail.com now\n", 256 },
		/* 8-bit bytes in Subject that are no UTF-8; valid UTF-8 is legal */
		{ RCVD "Subject: caf\xe9 cr\xe8me\n\nx\n", 1024 },
		{ RCVD "Subject: caf\xc3\xa9 cr\xc3\xa8me\n\nx\n", 0 },
		/* a body of 200 bytes and more, shouting */
		{ RCVD "Subject: hi\n\nTHIS IS A VERY LOUD MESSAGE WRITTEN ALL IN CAPITALS SO THAT "
		       "EVERYONE CAN HEAR IT FROM FAR AWAY. BUY NOW, BUY TODAY, BUY TOMORROW, "
		       "THE OFFER ENDS SOON AND YOU WILL BE SORRY IF YOU MISS IT. ACT NOW! ACT NOW! ACT NOW!\n", 8192 },
		/* an empty body; a %TEMPLATE left in a field */
		{ RCVD "Subject: hi\n\n", 16384 },
		{ RCVD "X-Campaign: %CAMPAIGN_ID\nSubject: hi\n\nxyzzy\n", 32768 },
		/* the recipient's local part as the Subject; not inside a sentence */
		{ RCVD "To: john@example.com\nSubject: john, read this\n\nxyzzy\n", 65536 },
		{ RCVD "To: john@example.com\nSubject: Re: hello John\n\nxyzzy\n", 65536 },
		{ RCVD "To: john@example.com\nSubject: a note for john today\n\nxyzzy\n", 0 },
		/* an envelope sender made of the recipient's domain and user */
		{ "Return-Path: <example.com-john@spam.example.net>\n" RCVD
		  "To: john@example.com\nSubject: hi\n\nxyzzy\n", 131072 },
		/* v e r t i c a l   w o r d s */
		{ RCVD "Subject: hi\n\nb u y   n o w   c h e a p\n", 2048 },
		/* the HTML part's words are not in the text part */
		{ RCVD "Subject: hi\nMIME-Version: 1.0\n"
		       "Content-Type: multipart/alternative; boundary=\"b\"\n\n"
		       "--b\nContent-Type: text/plain\n\nhello there\n"
		       "--b\nContent-Type: text/html\n\n<p>totally other words</p>\n--b--\n", 4096 },
		{ RCVD "Subject: hi\nMIME-Version: 1.0\n"
		       "Content-Type: multipart/alternative; boundary=\"b\"\n\n"
		       "--b\nContent-Type: text/plain\n\nsame words here\n"
		       "--b\nContent-Type: text/html\n\n<p>same words here</p>\n--b--\n", 0 },
	};
	struct mavis_sa_rules *r = NULL;
	struct mavis_error err = { 0 };

	CHECK_INT(mavis_sa_rules_from_text(rules_text, strlen(rules_text), &r, &err), 0);
	if (r == NULL) {
		test_fail(__FILE__, __LINE__, "%s", err.text);
		return;
	}
	CHECK_INT(r->n_unsupported, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned got = hits(r, cases[i].msg);

		if (got != cases[i].want)
			test_fail(__FILE__, __LINE__, "case %zu: hits %#x, want %#x", i, got,
				  cases[i].want);
	}
	mavis_sa_rules_free(&r);
}

/* MIMEEval's facts (sa_mime.c) */
static void
test_mime(void)
{
	static const char msg[] =
		"Subject: m\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n"
		"--b\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\naGVsbG8K\n"
		"--b\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n"
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
		"=41=42 \xe9t\xe9\n"
		"--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment\n\nx\n"
		"--b--\nepilogue text\n";
	struct mavis_sa_rules *r = NULL;
	struct mavis_error err = { 0 };
	struct mavis_arena *a = mavis_arena_new(0);
	struct sa_msg m;
	static const char rules[] = "body X /x/\n";

	CHECK_INT(mavis_sa_rules_from_text(rules, strlen(rules), &r, &err), 0);
	if (r == NULL) {
		mavis_arena_free(&a);
		return;
	}
	CHECK_INT(sa_msg_build(msg, strlen(msg), r, a, &m, &err), 0);
	CHECK_INT(m.mime.base64_count, 1);
	CHECK_INT(m.mime.qp_count, 1);
	CHECK_INT(m.mime.attachment, 1);
	CHECK(m.mime.base64_encoded_text);
	CHECK(m.mime.qp_long_line);
	CHECK_INT(m.mime.ascii_text_illegal, 1);	/* the QP part's raw 8-bit line */
	CHECK(m.mime.has_qp_ratio && m.mime.qp_ratio > 0);	/* =41=42 need no encoding */
	CHECK(m.mime.epilogue_exists);
	CHECK_INT(m.mime.base64_length, 8);	/* the newline before a boundary is the boundary's */
	CHECK(!m.mime.multipart_alternative);
	mavis_arena_reset(a);
	CHECK_INT(sa_msg_build("Subject: plain\n\nhi\n", 18, r, a, &m, &err), 0);
	CHECK(!m.mime.epilogue_exists && m.mime.base64_count == 0 && m.mime.multipart_ratio == 1.0);
	mavis_sa_rules_free(&r);
	mavis_arena_free(&a);
}

/* ALL-TRUSTED / ALL-EXTERNAL: the fields the trusted (internal) hops
   could have added, up to and with the last such Received */
static void
test_all_pseudo(void)
{
	static const char rules[] = "body X /x/\n";
	static const char msg[] =
		"Received: from localhost (localhost [127.0.0.1]) by mx.example.org (Postfix) "
		"with ESMTP id 1\n"
		"X-Top: 1\n"
		"Received: from out.example.net (out.example.net [203.0.113.9]) by "
		"mx.example.org (Postfix) with ESMTP id 2\n"
		"X-Mid: 2\n"
		"Received: from pc (pc.example.net [198.51.100.2]) by out.example.net "
		"(Postfix) with ESMTP id 3\n"
		"Subject: s\n\nx\n";
	struct mavis_sa_rules *r = NULL;
	struct mavis_error err = { 0 };
	struct mavis_arena *a = mavis_arena_new(0);
	struct sa_msg m;

	CHECK_INT(mavis_sa_rules_from_text(rules, strlen(rules), &r, &err), 0);
	if (r == NULL) {
		mavis_arena_free(&a);
		return;
	}
	CHECK_INT(sa_msg_build(msg, strlen(msg), r, a, &m, &err), 0);
	/* the localhost hop is trusted, the public one is not: trusted up to
	   Received #1 (index 0 + 1), external from there on */
	const char *t = sa_msg_get(&m, a, "ALL-TRUSTED", 0);
	const char *e = sa_msg_get(&m, a, "ALL-EXTERNAL", 0);

	CHECK(t != NULL && strstr(t, "X-Top: 1") != NULL && strstr(t, "id 2") != NULL &&
	      strstr(t, "X-Mid") == NULL);
	CHECK(e != NULL && strncmp(e, "Received: from out.example.net", 30) == 0 &&
	      strstr(e, "X-Mid: 2") != NULL && strstr(e, "Subject: s") != NULL &&
	      strstr(e, "X-Top") == NULL);
	CHECK(sa_msg_get(&m, a, "ALL-BOGUS", 0) == NULL);
	/* EnvelopeFrom: a Return-Path after a Received makes every one
	   untrustworthy; the relay's envelope-from comes first */
	static const char rp[] = "Return-Path: <a@one.example>\n"
				 "Received: from x (x [192.0.2.1]) by y (Postfix) with SMTP id 1\n"
				 "Return-Path: <b@two.example>\nSubject: s\n\nx\n";
	static const char ef[] = "Return-Path: <a@one.example>\n"
				 "Received: from x (x [192.0.2.1]) by y (8.12.6/8.12.6) with SMTP id 1 "
				 "(envelope-from c@three.example)\nSubject: s\n\nx\n";

	mavis_arena_reset(a);
	CHECK_INT(sa_msg_build(rp, strlen(rp), r, a, &m, &err), 0);
	CHECK(sa_msg_get(&m, a, "EnvelopeFrom", SA_H_ADDR) == NULL);
	mavis_arena_reset(a);
	CHECK_INT(sa_msg_build(ef, strlen(ef), r, a, &m, &err), 0);
	const char *e2 = sa_msg_get(&m, a, "EnvelopeFrom", SA_H_ADDR);

	CHECK(e2 != NULL && strcmp(e2, "c@three.example") == 0);
	mavis_sa_rules_free(&r);
	mavis_arena_free(&a);
}

/* Util::parse_rfc822_date, values from the Perl */
static void
test_dates(void)
{
	static const struct {
		const char *date;
		int ok;
		double t;
	} cases[] = {
		{ "Wed, 18 Sep 0102 23:32:17 +0500", 1, 22530737 },	/* year forced to 1970 */
		{ " 19 Sep 2002 11:15:11 +0100", 1, 1032430511 },
		{ "Thu, 19 Sep 2002 00:54:38 -0400 (EDT)", 1, 1032411278 },
		{ "Sep, 16 2002 11:14:53 AM +0600", 0, 0 },
		{ "Mon Sep 16 10:05:58 2002", 1, 1032134400 },	/* the time is taken with the date */
		{ "32 Feb 02 25:61:61 PST", 1, 1015055999 },	/* every field forced into range */
		{ "1 Jan 2099 00:00:00 +0000", 1, 2114380800 },	/* 2037 */
		{ "garbage", 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double t = -1;
		bool ok = sa_parse_rfc822_date(cases[i].date, &t);

		if (ok != (cases[i].ok != 0) || (ok && t != cases[i].t))
			test_fail(__FILE__, __LINE__, "%s: %d %.0f, want %d %.0f", cases[i].date, ok, t,
				  cases[i].ok, cases[i].t);
	}
}

int
main(void)
{
	TEST_RUN(test_dates);
	TEST_RUN(test_all_pseudo);
	TEST_RUN(test_evals);
	TEST_RUN(test_mime);
	return test_exit();
}
