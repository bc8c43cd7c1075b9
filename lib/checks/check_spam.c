/* SPDX-License-Identifier: GPL-2.0-or-later */
/* check_spam.c - the spam stage: one scan per message, amavisd's levels per recipient */

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <mavis/log.h>

#include "checks/check.h"

#define SPAM_MAX_SENDERS 8

/* amavisd skips the spam check for recipients whose mail is blocked
   already (virus, banned, ...) and for bypass_spam_checks_maps. */
static bool
spam_wanted(const struct mavis_check_ctx *cx, const struct mavis_rcpt *r)
{
	return cx->spam != NULL && !r->bypass_spam && !mavis_rcpt_blocked_now(cx->view, r);
}

static enum mavis_fail_policy
spam_fail_policy(const struct mavis_view *view)
{
	return mavis_view_get(view, MAVIS_KEY_ON_SPAM_SCANNER_FAILURE)->u.e ==
		       MAVIS_ON_SPAM_SCANNER_FAILURE_TEMPFAIL
	       ? MAVIS_FAIL_TEMPFAIL : MAVIS_FAIL_PASS;
}

/* The addresses of the From: fields (amavisd checks the white and black
   lists against the envelope sender and each of them): the text inside
   <...>, or the whole trimmed value when there is none. */
static size_t
from_addresses(const struct mavis_check_ctx *cx, const char **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < mavis_headers_count(cx->headers) && n < max; i++) {
		const struct mavis_header_field *f = mavis_headers_nth(cx->headers, i);
		const char *v = f->value, *end = f->value + f->valuelen, *lt, *gt;

		if (f->namelen != 4 || strncasecmp(f->name, "From", 4) != 0)
			continue;
		while (v < end && n < max && (lt = memchr(v, '<', (size_t)(end - v))) != NULL &&
		       (gt = memchr(lt, '>', (size_t)(end - lt))) != NULL) {
			out[n++] = mavis_arena_strndup(cx->arena, lt + 1, (size_t)(gt - lt - 1));
			v = gt + 1;
		}
		if (v == f->value && n < max) {
			while (v < end && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n'))
				v++;
			while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' ||
					   end[-1] == '\n'))
				end--;
			if (end > v)
				out[n++] = mavis_arena_strndup(cx->arena, v, (size_t)(end - v));
		}
	}
	return n;
}

/* remove_existing_spam_headers: every X-Spam-* field from outside goes,
   the last occurrence of a name first so that the indexes stay right. */
static void
delete_spam_fields(struct mavis_check_ctx *cx, struct mavis_rcpt *r)
{
	size_t n = mavis_headers_count(cx->headers);

	for (size_t i = 0; i < n; i++) {
		const struct mavis_header_field *f = mavis_headers_nth(cx->headers, i);
		bool first = true;
		int count = 0;

		if (!mavis_spam_is_spam_header(f->name, f->namelen))
			continue;
		for (size_t j = 0; j < n; j++) {
			const struct mavis_header_field *g = mavis_headers_nth(cx->headers, j);

			if (g->namelen == f->namelen && strncasecmp(g->name, f->name, f->namelen) == 0) {
				if (j < i)
					first = false;
				count++;
			}
		}
		if (!first)
			continue;	/* this name was done at its first field */
		const char *name = mavis_arena_strndup(cx->arena, f->name, f->namelen);
		for (int k = count; k >= 1; k--)
			mavis_rcpt_delete_header(r, cx->arena, name, k);
	}
}

static struct mavis_finding
spam_finding(const struct mavis_spam_eval *ev)
{
	struct mavis_finding f = { .subject_tag = ev->subject_tag };

	switch (ev->ccat) {
	case MAVIS_SPAM_CC_SPAM:
		f.major = MAVIS_CC_SPAM;
		f.reason = "spam";
		break;
	case MAVIS_SPAM_CC_SPAMMY3:
		f.major = MAVIS_CC_SPAMMY;
		f.minor = 1;
		f.reason = "spammy (tag3)";
		break;
	case MAVIS_SPAM_CC_SPAMMY:
		f.major = MAVIS_CC_SPAMMY;
		f.reason = "spammy";
		break;
	case MAVIS_SPAM_CC_TAGGED:
		f.major = MAVIS_CC_CLEAN;
		f.minor = 1;
		f.reason = "CLEAN";
		break;
	case MAVIS_SPAM_CC_CLEAN:
		f.major = MAVIS_CC_CLEAN;
		f.reason = "CLEAN";
		break;
	}
	return f;
}

/* A header value safe inside the synthesised field: controls and what
   would end a comment or the field become '?'; at most 255 bytes. */
static const char *
rcv_word(struct mavis_arena *a, const char *s, const char *dflt)
{
	char *o;
	size_t n;

	if (s == NULL || *s == '\0')
		return dflt;
	n = strnlen(s, 255);
	o = mavis_arena_alloc(a, n + 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		o[i] = (c < 0x21 || c == 0x7f || c == '(' || c == ')' || c == ';') ? '?' : (char)c;
	}
	o[n] = '\0';
	return o;
}

/*
 * The message as amavisd hands it to SpamAssassin: with the MTA's own
 * Received field on top. Postfix does not pass that field to a milter, so
 * without it SpamAssassin's first relay is the previous hop: ALL_TRUSTED,
 * NO_RELAYS, RDNS_NONE and the other relay rules would judge the wrong
 * hop. When the top Received field already names this transaction's queue
 * id (Sendmail passes its own), the message goes as it is. Returns the
 * bytes to scan (a copy from the arena, bounded by spam_check_size_limit)
 * or the message itself.
 */
static const void *
with_own_received(struct mavis_check_ctx *cx, size_t *len)
{
	const struct mavis_header_field *top = NULL;
	char date[64], *buf;
	const char *host, *rcpt;
	struct tm tm;
	time_t now = time(NULL);
	size_t n;
	int hl;

	*len = cx->rawlen;
	for (size_t i = 0; i < mavis_headers_count(cx->headers); i++) {
		const struct mavis_header_field *f = mavis_headers_nth(cx->headers, i);

		if (f->namelen == 8 && strncasecmp(f->name, "Received", 8) == 0) {
			top = f;
			break;
		}
	}
	if (top != NULL && cx->queue_id != NULL && *cx->queue_id != '\0' &&
	    memmem(top->value, top->valuelen, cx->queue_id, strlen(cx->queue_id)) != NULL)
		return cx->raw;
	if (cx->client_addr == NULL || *cx->client_addr == '\0')
		return cx->raw;	/* nothing to say about the hop */
	host = rcv_word(cx->arena, mavis_view_str(cx->view, MAVIS_KEY_MYHOSTNAME), "localhost");
	rcpt = cx->nrcpts == 1 ? rcv_word(cx->arena, cx->rcpts[0].addr, NULL) : NULL;
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	/* Postfix's own form (smtpd's Received), which SpamAssassin parses:
	   "unknown" without reverse DNS, ESMTPA when the client logged in. */
	const char *ip = rcv_word(cx->arena, cx->client_addr, "unknown");
	char *field = mavis_arena_printf(cx->arena,
		"Received: from %s (%s [%s%s])\r\n\tby %s with %s id %s%s%s%s; %s\r\n",
		rcv_word(cx->arena, cx->helo, "unknown"), rcv_word(cx->arena, cx->client_name, "unknown"),
		strchr(ip, ':') != NULL && strncasecmp(ip, "IPv6:", 5) != 0 ? "IPv6:" : "", ip, host,
		cx->auth_user != NULL && *cx->auth_user != '\0' ? "ESMTPA" : "ESMTP",
		rcv_word(cx->arena, cx->queue_id, "unknown"),
		rcpt ? "\r\n\tfor <" : "", rcpt ? rcpt : "", rcpt ? ">" : "", date);
	hl = (int)strlen(field);
	n = (size_t)hl + cx->rawlen;
	buf = mavis_arena_try_alloc_uninit(cx->arena, n);
	if (buf == NULL)
		return cx->raw;
	memcpy(buf, field, (size_t)hl);
	memcpy(buf + hl, cx->raw, cx->rawlen);
	*len = n;
	return buf;
}

static int
spam_run(struct mavis_check_ctx *cx)
{
	const char *senders[SPAM_MAX_SENDERS + 1];
	struct mavis_spam_rcpt *sr = mavis_arena_calloc(cx->arena, cx->nrcpts, sizeof(*sr));
	struct mavis_spam_result *res = NULL;
	struct mavis_spam_hdr_opts o;
	struct mavis_error err = { 0 };
	size_t nsenders = 0;
	bool need_scan = false;
	uint64_t limit = (uint64_t)mavis_view_int(cx->view, MAVIS_KEY_SPAM_CHECK_SIZE_LIMIT);

	senders[nsenders++] = cx->sender;
	nsenders += from_addresses(cx, senders + nsenders, SPAM_MAX_SENDERS);
	for (size_t i = 0; i < cx->nrcpts; i++) {
		if (!spam_wanted(cx, &cx->rcpts[i]))
			continue;
		if (mavis_spam_rcpt_lookup(cx->view, cx->rcpts[i].addr, senders, nsenders, cx->arena,
					   &sr[i], &err) < 0) {
			snprintf(cx->fail_text, sizeof(cx->fail_text), "spam settings of <%s>: %s",
				 cx->rcpts[i].addr, err.text);
			return err.status;
		}
		/* signer_reputation_maps, as a sender boost (the dkim check) */
		sr[i].boost += cx->dkim_boost;
		/* a DMARC failure under dmarc_reject_policy tag (the dkim check) */
		sr[i].boost += cx->dmarc_boost;
		cx->rcpts[i].whitelisted = sr[i].whitelisted;
		cx->rcpts[i].blacklisted = sr[i].blacklisted;
		/* Whitelisted or blacklisted recipients decide without a score. */
		if (!sr[i].whitelisted && !sr[i].blacklisted)
			need_scan = true;
	}
	if (need_scan && cx->rawlen > limit) {
		mavis_log_info(cx->log_id, "spam check skipped: message size %zu B over "
			       "spam_check_size_limit %llu B", cx->rawlen, (unsigned long long)limit);
		return 0;
	}
	if (need_scan) {
		const char **rcpts = mavis_arena_calloc(cx->arena, cx->nrcpts + 1, sizeof(*rcpts));
		size_t scan_len;
		const void *scan_msg = with_own_received(cx, &scan_len);
		struct mavis_spam_request req = {
			.msg = scan_msg,
			.len = scan_len,
			.client_ip = cx->client_addr,
			.client_name = cx->client_name,
			.helo = cx->helo,
			.sender = cx->sender,
			.rcpts = rcpts,
			.n_rcpts = cx->nrcpts,
			.queue_id = cx->queue_id,
			.auth_user = cx->auth_user,
			.settings_id = mavis_view_str(cx->view, MAVIS_KEY_RSPAMD_SETTINGS_ID),
			.sa_auth = cx->sa_auth,
		};

		for (size_t i = 0; i < cx->nrcpts; i++)
			rcpts[i] = cx->rcpts[i].addr;
		res = mavis_arena_calloc(cx->arena, 1, sizeof(*res));
		if (mavis_spam_scan(cx->spam, &req, cx->arena, res, &err) < 0) {
			mavis_log_warn(cx->log_id, "spam check failed: %s", res->error ? res->error : err.text);
			if (spam_fail_policy(cx->view) != MAVIS_FAIL_PASS) {
				snprintf(cx->fail_text, sizeof(cx->fail_text), "spam check failed: %s",
					 err.text);
				return MAVIS_ERR_SCANNER;
			}
			/* As amavisd: logged, no X-Spam fields; local recipients
			   see why. */
			for (size_t i = 0; i < cx->nrcpts; i++)
				if (spam_wanted(cx, &cx->rcpts[i]) && cx->rcpts[i].local)
					mavis_rcpt_add_header(&cx->rcpts[i], cx->arena, "X-Mavis-Alert",
							      " spam check failed");
			return 0;
		}
		cx->spam_result = res;
	}
	mavis_spam_hdr_opts_from_view(cx->view, &o);
	o.hostname = mavis_view_str(cx->view, MAVIS_KEY_MYHOSTNAME);
	o.log_id = cx->log_id;
	o.mail_id = cx->mail_id;
	for (size_t i = 0; i < cx->nrcpts; i++) {
		struct mavis_rcpt *r = &cx->rcpts[i];
		struct mavis_spam_eval ev;

		if (!spam_wanted(cx, r))
			continue;
		sr[i].scan = res;
		if (mavis_spam_rcpt_eval(&sr[i], &o, cx->arena, &ev) < 0)
			continue;
		r->spam_scored = ev.scored;
		r->spam_level = ev.level;
		r->spam_quarantine_suppress = ev.quarantine_suppress;
		struct mavis_finding f = spam_finding(&ev);
		mavis_rcpt_add_finding(r, &f);
		if (ev.remove_headers)
			delete_spam_fields(cx, r);
		/* Inserted at the top one after the other: the last one ends
		   up first, so the fields go in from the bottom. The space
		   after the colon is amavisd's: none before an empty value
		   ("X-Spam-Level:" for a level below 1) or a fold. */
		for (size_t k = ev.n_fields; k-- > 0;) {
			const char *v = ev.fields[k].value;

			mavis_rcpt_add_header(r, cx->arena, ev.fields[k].name,
					      *v == '\0' || *v == '\n' ? v
					      : mavis_arena_printf(cx->arena, " %s", v));
		}
		if (ev.ccat >= MAVIS_SPAM_CC_SPAMMY)
			mavis_log_ll(2, cx->log_id, "spam-tag, <%s> -> <%s>, Yes, score=%s tests=[%s]",
				       cx->sender, r->addr, mavis_spam_fmt_score(cx->arena, ev.level),
				       ev.tests ? ev.tests : "");
	}
	return 0;
}

const struct mavis_check mavis_check_spam = {
	.name = "spam",
	.wanted = spam_wanted,
	.run = spam_run,
	.fail_policy = spam_fail_policy,
	.needs_body = true,
};
