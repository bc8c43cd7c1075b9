/* SPDX-License-Identifier: GPL-2.0-or-later */
/* session.c - connection and message stages: envelope, headers, body spool */

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <mavis/alloc.h>
#include <mavis/log.h>
#include <mavis/text.h>

#include "pipeline_int.h"

static atomic_ulong session_serial;

/* The connection's banks on the pinned config, in a new view. */
static int
session_view_build(struct mavis_session *s, struct mavis_error *err)
{
	struct mavis_conn_facts facts = { s->daemon_name, s->client_addr };

	mavis_view_free(&s->view);
	s->view = mavis_view_new(s->st->cfg);
	return mavis_view_select_conn(s->view, &facts, s->conn_arena, err);
}

int
mavis_session_new(struct mavis_engine *engine, const struct mavis_session_info *info,
		  struct mavis_session **out, struct mavis_error *err)
{
	struct mavis_session *s = mavis_xcalloc(1, sizeof(*s));
	int rc;

	s->engine = engine;
	s->st = engine_state_pin(engine);
	s->conn_arena = mavis_arena_new(2048);
	s->client_addr = info->client_addr ? mavis_arena_strdup(s->conn_arena, info->client_addr) : "";
	s->client_name = info->client_name ? mavis_arena_strdup(s->conn_arena, info->client_name) : "";
	s->daemon_name = info->daemon_name ? mavis_arena_strdup(s->conn_arena, info->daemon_name) : "";
	s->helo = "";
	s->non_smtpd = info->non_smtpd;
	snprintf(s->log_id, sizeof(s->log_id), "%ld-%lu", (long)getpid(),
		 atomic_fetch_add(&session_serial, 1) + 1);
	stats_count_session();
	s->slot = mavis_stats_slot_claim(s->client_addr, s->client_name);
	rc = session_view_build(s, err);
	if (rc < 0) {
		mavis_session_free(&s);
		return rc;
	}
	/* log_level 4: the envelope as it arrives (amavisd logs its SMTP
	   dialogue about there). */
	mavis_log_ll(4, s->log_id, "connect from [%s] (%s)%s%s", *s->client_addr ? s->client_addr : "unknown",
		     *s->client_name ? s->client_name : "unknown", *s->daemon_name ? ", daemon " : "",
		     s->daemon_name);
	mavis_stats_slot_bank_path(s->slot, mavis_view_path(s->view));
	*out = s;
	return 0;
}

void
mavis_session_free(struct mavis_session **ps)
{
	struct mavis_session *s = *ps;

	if (s == NULL)
		return;
	*ps = NULL;
	mavis_session_reset(s);
	mavis_view_free(&s->view);
	engine_state_unpin(&s->st);
	mavis_arena_free(&s->conn_arena);
	mavis_stats_slot_release(&s->slot);
	free(s);
}

const struct mavis_view *
mavis_session_view(const struct mavis_session *s)
{
	return s->view;
}

void
mavis_session_helo(struct mavis_session *s, const char *helo)
{
	s->helo = mavis_arena_strdup(s->conn_arena, helo ? helo : "");
	mavis_log_ll(4, mavis_session_log_id(s), "HELO %s", s->helo);
	mavis_stats_slot_stage(s->slot, "helo");
}

void
mavis_session_set_non_smtpd(struct mavis_session *s, bool non_smtpd)
{
	s->non_smtpd = non_smtpd;
}

void
mavis_session_set_queue_id(struct mavis_session *s, const char *qid)
{
	if (qid && *qid && strlen(qid) < sizeof(s->queue_id) && strcmp(qid, s->queue_id) != 0) {
		strcpy(s->queue_id, qid);
		mavis_stats_slot_queue_id(s->slot, qid);
	}
}

/* SPF at MAIL FROM (auth_int.h says why there): for mail that is not
   originating (amavisd does not check its own users) from an SMTP client
   with an address. */
static void
msg_spf_check(struct mavis_session *s, struct msg *m)
{
	struct auth_spf *r;

	if (s->st->auth == NULL || !mavis_view_bool(s->view, MAVIS_KEY_ENABLE_SPF) ||
	    mavis_view_originating(s->view) || *s->client_addr == '\0')
		return;
	r = mavis_arena_calloc(m->arena, 1, sizeof(*r));
	if (auth_spf_check(s->st->auth, s->client_addr, s->helo, m->sender, m->arena, r) < 0) {
		mavis_log_info(mavis_session_log_id(s), "spf: client address %s is no IP address: not checked",
			       mavis_text_clean(m->arena, s->client_addr));
		return;
	}
	m->spf = r;
	mavis_log_info(mavis_session_log_id(s), "spf: helo=%s (%s), mailfrom=%s (%s)%s%s",
		       auth_spf_result_name(r->helo),
		       r->helo_domain ? mavis_text_clean(m->arena, r->helo_domain) : "-",
		       auth_spf_result_name(r->mfrom),
		       r->mfrom_domain ? mavis_text_clean(m->arena, r->mfrom_domain) : "-",
		       r->reason ? ": " : "", r->reason ? mavis_text_clean(m->arena, r->reason) : "");
}

int
mavis_session_mail(struct mavis_session *s, const char *sender, const char *auth_authen,
		   struct mavis_error *err)
{
	struct engine_state *st;
	struct msg *m;

	mavis_session_reset(s);
	/* Each message on the config current now: a reload reaches a long
	   SMTP session at its next MAIL FROM. */
	st = engine_state_pin(s->engine);
	if (st != s->st) {
		struct engine_state *old = s->st;

		s->st = st;
		if (session_view_build(s, err) < 0) {
			/* Keep the connection on the config it had. */
			struct mavis_error again = { 0 };

			s->st = old;
			engine_state_unpin(&st);
			session_view_build(s, &again);
			return err ? err->status : MAVIS_ERR_CONFIG;
		}
		engine_state_unpin(&old);
	} else {
		engine_state_unpin(&st);
	}
	m = mavis_xcalloc(1, sizeof(*m));
	m->arena = mavis_arena_new(16384);
	m->sender = mavis_arena_strdup(m->arena, sender ? sender : "");
	m->authenticated = auth_authen && *auth_authen;
	m->auth_user = m->authenticated ? mavis_arena_strdup(m->arena, auth_authen) : NULL;
	m->bank_depth = mavis_view_depth(s->view);
	clock_gettime(CLOCK_MONOTONIC, &m->start);
	mavis_mail_id_new(m->mail_id, m->secret_id);
	/* The SASL bank is per message: it goes again at reset. */
	mavis_view_select_sender(s->view, auth_authen);
	mavis_stats_slot_message(s->slot, true);
	mavis_stats_slot_bank_path(s->slot, mavis_view_path(s->view));
	m->spool = mavis_spool_new(mavis_view_str(s->view, MAVIS_KEY_TMP_DIR),
				   (size_t)mavis_view_int(s->view, MAVIS_KEY_BODY_MEMORY_LIMIT));
	struct mavis_headers_limits hl = {
		.max_fields = (size_t)mavis_view_int(s->view, MAVIS_KEY_MAX_HEADER_COUNT),
		.max_bytes = (size_t)mavis_view_int(s->view, MAVIS_KEY_MAX_HEADER_SIZE),
	};
	m->headers = mavis_headers_new(m->arena, &hl);
	if (mavis_view_bool(s->view, MAVIS_KEY_ENABLE_DKIM_VERIFICATION) && s->st->dkim)
		m->dkim = dkim_verify_new(s->st->dkim, mavis_session_log_id(s),
					  (unsigned)mavis_view_int(s->view, MAVIS_KEY_DKIM_MAX_SIGNATURES),
					  m->arena);
	msg_spf_check(s, m);
	const struct mavis_value *tests = mavis_view_get(s->view, MAVIS_KEY_ALLOWED_HEADER_TESTS);
	for (size_t i = 0; i < tests->u.list.n; i++)
		m->badh_allowed |= mavis_badh_test_bit(tests->u.list.v[i]);
	s->msg = m;
	m->rx_time = (int64_t)time(NULL);
	mavis_log_ll(4, mavis_session_log_id(s), "MAIL FROM <%s>%s%s, bank path %s", m->sender,
		     m->authenticated ? ", authenticated as " : "", m->authenticated ? m->auth_user : "",
		     *mavis_view_path(s->view) ? mavis_view_path(s->view) : "-");
	return 0;
}

/* Bool map lookup for a recipient; a lookup failure is a message failure. */
static bool
rcpt_bool(struct mavis_session *s, enum mavis_key key, const char *addr, int *failed,
	  struct mavis_error *err)
{
	struct mavis_map_result res;
	int rc = mavis_view_lookup(s->view, key, addr, s->msg->arena, &res, err);

	if (rc < 0) {
		*failed = rc;
		return false;
	}
	return rc > 0 && mavis_map_value_bool(res.value);
}

/* The settings of r (and the spam maps' values for it) that decide what
   is added to its copy or what becomes of it, as one comparable string. */
static const char *
rcpt_signature(struct mavis_session *s, const struct mavis_rcpt *r, int *failed,
	       struct mavis_error *err)
{
	static const enum mavis_key spam_keys[] = {
		MAVIS_KEY_SPAM_TAG_LEVEL_MAPS,	 MAVIS_KEY_SPAM_TAG2_LEVEL_MAPS,
		MAVIS_KEY_SPAM_TAG3_LEVEL_MAPS,	 MAVIS_KEY_SPAM_KILL_LEVEL_MAPS,
		MAVIS_KEY_SPAM_SUBJECT_TAG_MAPS, MAVIS_KEY_SPAM_SUBJECT_TAG2_MAPS,
		MAVIS_KEY_SPAM_SUBJECT_TAG3_MAPS,
	};
	struct mavis_arena *a = s->msg->arena;
	struct mavis_buf b = { 0 };
	const char *sig;

	mavis_buf_printf(&b, "%d%d%d%d%d|", r->local, r->bypass_virus, r->bypass_spam,
			 r->bypass_banned, r->bypass_header);
	for (int c = 0; c < MAVIS_CC_COUNT; c++)
		mavis_buf_putc(&b, r->lover[c] ? '1' : '0');
	mavis_buf_printf(&b, "|%llu|%s", r->has_size_limit ? (unsigned long long)r->size_limit : 0ULL,
			 r->banned_rulesets ? r->banned_rulesets : "");
	for (size_t k = 0; k < sizeof(spam_keys) / sizeof(spam_keys[0]); k++) {
		struct mavis_map_result res;
		int rc = mavis_view_lookup(s->view, spam_keys[k], r->addr, a, &res, err);

		if (rc < 0)
			*failed = rc;
		mavis_buf_printf(&b, "|%s", rc > 0 && res.value ? res.value : "");
	}
	sig = mavis_arena_strdup(a, mavis_buf_str(&b));
	mavis_buf_free(&b);
	return sig;
}

int
mavis_session_rcpt(struct mavis_session *s, const char *rcpt, struct mavis_reply *reply,
		   struct mavis_error *err)
{
	struct msg *m = s->msg;
	struct mavis_rcpt *r;
	struct mavis_map_result res;
	int failed = 0, rc;

	if (m == NULL)
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "RCPT without MAIL");
	mavis_stats_slot_stage(s->slot, "rcpt");
	if (m->nrcpts >= (size_t)mavis_view_int(s->view, MAVIS_KEY_MAX_RECIPIENTS)) {
		reply->rcode = "452";
		reply->xcode = "4.5.3";
		reply->text = "Too many recipients";
		if (!s->non_smtpd)
			return 1;
		/* Non-SMTP mail cannot be refused per recipient: keep it whole. */
	}
	if (m->nrcpts == m->caprcpts) {
		size_t cap = m->caprcpts ? m->caprcpts * 2 : 8;
		struct mavis_rcpt *nr = mavis_arena_calloc(m->arena, cap, sizeof(*nr));

		if (m->nrcpts)
			memcpy(nr, m->rcpts, m->nrcpts * sizeof(*nr));
		m->rcpts = nr;
		m->caprcpts = cap;
	}
	r = &m->rcpts[m->nrcpts];
	memset(r, 0, sizeof(*r));
	r->addr = mavis_arena_strdup(m->arena, rcpt);
	r->local = rcpt_bool(s, MAVIS_KEY_LOCAL_DOMAINS_MAPS, rcpt, &failed, err);
	r->lover[MAVIS_CC_VIRUS] = rcpt_bool(s, MAVIS_KEY_VIRUS_LOVERS_MAPS, rcpt, &failed, err);
	r->lover[MAVIS_CC_BANNED] = rcpt_bool(s, MAVIS_KEY_BANNED_FILES_LOVERS_MAPS, rcpt, &failed, err);
	r->lover[MAVIS_CC_UNCHECKED] = rcpt_bool(s, MAVIS_KEY_UNCHECKED_LOVERS_MAPS, rcpt, &failed, err);
	r->lover[MAVIS_CC_SPAM] = rcpt_bool(s, MAVIS_KEY_SPAM_LOVERS_MAPS, rcpt, &failed, err);
	r->lover[MAVIS_CC_SPAMMY] = r->lover[MAVIS_CC_SPAM];
	r->lover[MAVIS_CC_BADH] = rcpt_bool(s, MAVIS_KEY_BAD_HEADER_LOVERS_MAPS, rcpt, &failed, err);
	r->bypass_virus = rcpt_bool(s, MAVIS_KEY_BYPASS_VIRUS_CHECKS_MAPS, rcpt, &failed, err);
	r->bypass_spam = rcpt_bool(s, MAVIS_KEY_BYPASS_SPAM_CHECKS_MAPS, rcpt, &failed, err);
	r->bypass_banned = rcpt_bool(s, MAVIS_KEY_BYPASS_BANNED_CHECKS_MAPS, rcpt, &failed, err);
	r->bypass_header = rcpt_bool(s, MAVIS_KEY_BYPASS_HEADER_CHECKS_MAPS, rcpt, &failed, err);
	rc = mavis_view_lookup(s->view, MAVIS_KEY_MESSAGE_SIZE_LIMIT_MAPS, rcpt, m->arena, &res, err);
	if (rc < 0)
		failed = rc;
	else if (rc > 0 && mavis_map_value_size(res.value, &r->size_limit) == 0 && r->size_limit > 0)
		r->has_size_limit = true;
	rc = mavis_view_lookup(s->view, MAVIS_KEY_BANNED_FILENAME_MAPS, rcpt, m->arena, &res, err);
	if (rc < 0)
		failed = rc;
	else if (rc > 0)
		r->banned_rulesets = res.value;
	static const struct {
		int ccat;
		enum mavis_key key;
	} qto[] = {
		{ MAVIS_CC_VIRUS, MAVIS_KEY_VIRUS_QUARANTINE_TO_MAPS },
		{ MAVIS_CC_BANNED, MAVIS_KEY_BANNED_QUARANTINE_TO_MAPS },
		{ MAVIS_CC_UNCHECKED, MAVIS_KEY_UNCHECKED_QUARANTINE_TO_MAPS },
		{ MAVIS_CC_SPAM, MAVIS_KEY_SPAM_QUARANTINE_TO_MAPS },
		{ MAVIS_CC_BADH, MAVIS_KEY_BAD_HEADER_QUARANTINE_TO_MAPS },
	};
	for (size_t q = 0; q < sizeof(qto) / sizeof(qto[0]); q++) {
		rc = mavis_view_lookup(s->view, qto[q].key, rcpt, m->arena, &res, err);
		if (rc < 0)
			failed = rc;
		r->quarantine_to[qto[q].ccat] = rc > 0 ? res.value : "";
	}
	r->quarantine_to[MAVIS_CC_SPAMMY] = r->quarantine_to[MAVIS_CC_SPAM];
	r->signature = rcpt_signature(s, r, &failed, err);
	msg_log_sql_passed(s, m, mavis_arena_printf(m->arena, "RCPT <%s>", r->addr));
	if (failed < 0)
		return failed;
	if (m->nrcpts > 0 && strcmp(r->signature, m->rcpts[0].signature) != 0) {
		if (!s->non_smtpd && mavis_view_bool(s->view, MAVIS_KEY_RECIPIENT_BUCKETING)) {
			/* The milter protocol gives one header set per
			   transaction: the client sends this one in its own. */
			reply->rcode = "452";
			reply->xcode = "4.5.3";
			reply->text = "Recipient policy differs, try again";
			mavis_log_ll(1, mavis_session_log_id(s), "RCPT <%s>: policy differs from <%s>: 452",
				       r->addr, m->rcpts[0].addr);
			return 1;
		}
		mavis_log_ll(1, mavis_session_log_id(s),
			       "RCPT <%s>: policy differs from <%s>, same transaction%s", r->addr,
			       m->rcpts[0].addr, s->non_smtpd ? " (non-SMTP mail cannot be split)" : "");
	}
	m->nrcpts++;
	mavis_log_ll(4, mavis_session_log_id(s), "RCPT TO <%s>%s", r->addr, r->local ? " (local)" : "");
	return 0;
}

/* Store a header field and its bytes in the spool, within the bounds. The
   lengths are explicit: a raw message may hold NUL bytes in a field. */
static void
add_header(struct mavis_session *s, struct msg *m, const char *name, size_t nlen,
	   const char *value, size_t vlen)
{
	struct mavis_error err = { 0 };
	uint64_t n = nlen + vlen + 3;

	/* the verifier sees every field, stored or not */
	dkim_verify_header(m->dkim, name, nlen, value, vlen);
	m->header_bytes += n;
	if (!m->header_overflow &&
	    mavis_headers_add(m->headers, name, nlen, value, vlen) == MAVIS_ERR_LIMIT) {
		/* Fields past the bound are not parsed: the section is a bad
		   header and UNCHECKED (over limits). Their bytes still go to the
		   spool, so that what is scanned is what the MTA delivers. */
		mavis_log_warn(mavis_session_log_id(s),
			       "header section over limits (%zu fields, %llu bytes)",
			       mavis_headers_count(m->headers), (unsigned long long)m->header_bytes);
		m->header_overflow = true;
		mavis_stats_count(MAVIS_STATS_HEADER_LIMIT);
	}
	if (m->oversized || m->fail_status)
		return;
	if (mavis_spool_size(m->spool) + n >
	    (uint64_t)mavis_view_int(s->view, MAVIS_KEY_MESSAGE_SIZE_LIMIT)) {
		m->oversized = true;
		return;
	}
	if (mavis_spool_write(m->spool, name, nlen, &err) < 0 ||
	    mavis_spool_write(m->spool, ":", 1, &err) < 0 ||
	    mavis_spool_write(m->spool, value, vlen, &err) < 0 ||
	    mavis_spool_write(m->spool, "\r\n", 2, &err) < 0)
		msg_fail(s, m, err.status, "spool: %s", err.text);
}

void
mavis_session_header(struct mavis_session *s, const char *name, const char *value)
{
	if (s->msg == NULL || s->msg->eoh_done)
		return;
	name = name ? name : "";
	value = value ? value : "";
	mavis_stats_slot_stage(s->slot, "header");
	add_header(s, s->msg, name, strlen(name), value, strlen(value));
}

void
mavis_session_eoh(struct mavis_session *s)
{
	struct msg *m = s->msg;
	struct mavis_error err = { 0 };

	if (m == NULL || m->eoh_done)
		return;
	m->eoh_done = true;
	dkim_verify_eoh(m->dkim);
	if (mavis_spool_write(m->spool, "\r\n", 2, &err) < 0)
		msg_fail(s, m, err.status, "spool: %s", err.text);
	/* Header checks need no body: done here, at the earliest stage. */
	bool wanted = false;
	for (size_t i = 0; i < m->nrcpts; i++)
		if (!m->rcpts[i].bypass_header)
			wanted = true;
	if (wanted || m->nrcpts == 0)
		m->badh = mavis_badh_check(m->headers, m->badh_allowed, false, NULL, m->arena);
	mavis_log_ll(5, mavis_session_log_id(s), "end of header: %zu fields, %llu bytes",
		     mavis_headers_count(m->headers), (unsigned long long)m->header_bytes);
}

void
mavis_session_body(struct mavis_session *s, const void *data, size_t len)
{
	struct msg *m = s->msg;
	struct mavis_error err = { 0 };

	if (m == NULL)
		return;
	if (!m->eoh_done)
		mavis_session_eoh(s);
	mavis_stats_slot_stage(s->slot, "body");
	m->size += len;
	/* the body hashes are computed as it arrives, whether the spool
	   keeps it or not: no second pass */
	dkim_verify_body(m->dkim, data, len);
	if (m->oversized || m->fail_status)
		return;
	/* Past message_size_limit nothing more is stored: the verdict is
	   OVERSIZED whatever the rest says, and memory stays bounded. */
	if (mavis_spool_size(m->spool) + len >
	    (uint64_t)mavis_view_int(s->view, MAVIS_KEY_MESSAGE_SIZE_LIMIT)) {
		m->oversized = true;
		return;
	}
	if (mavis_spool_write(m->spool, data, len, &err) < 0)
		msg_fail(s, m, err.status, "spool: %s", err.text);
}

/* Split a raw message the way the MTA hands it over: fields (with their
   continuation lines) up to the first empty line, then the body. */
void
mavis_session_raw_message(struct mavis_session *s, const void *data, size_t len)
{
	const char *p = data, *end = p + len;
	struct mavis_buf value = { 0 };
	struct mavis_header_span f;
	size_t pos = 0;

	if (s->msg == NULL)
		return;
	/* The MTA's rules: a line that is no field starts the body. */
	while (mavis_headers_split_next(data, len, &pos, true, &f) == 1) {
		const char *raw = p + f.start, *colon = memchr(raw, ':', f.end - f.start);
		size_t nlen = (size_t)(colon - raw);

		/* The value as the MTA hands it over: continuation lines joined
		   with CRLF whatever line ends the file had. */
		mavis_buf_reset(&value);
		for (const char *q = colon + 1; q < p + f.end; q++) {
			if (*q == '\n' && (q == colon + 1 || q[-1] != '\r'))
				mavis_buf_putc(&value, '\r');
			mavis_buf_putc(&value, *q);
		}
		/* Not mavis_session_header(): a NUL would cut the field short and
		   hide it from the bad-header check (amavisd: BadHdrChar). */
		if (!s->msg->eoh_done)
			add_header(s, s->msg, raw, nlen, mavis_buf_str(&value), value.len);
	}
	p += pos;
	mavis_buf_free(&value);
	mavis_session_eoh(s);
	/* The MTA hands the body over with CRLF line ends. */
	const char *q = p;
	struct mavis_buf chunk = { 0 };
	while (q < end) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));
		const char *eol = nl ? nl : end;
		size_t n = (size_t)(eol - q);

		if (n > 0 && q[n - 1] == '\r')
			n--;
		mavis_buf_append(&chunk, q, n);
		if (nl)
			mavis_buf_append(&chunk, "\r\n", 2);
		q = nl ? nl + 1 : end;
		if (chunk.len >= 65536) {
			mavis_session_body(s, chunk.data, chunk.len);
			mavis_buf_reset(&chunk);
		}
	}
	if (chunk.len)
		mavis_session_body(s, chunk.data, chunk.len);
	mavis_buf_free(&chunk);
}

/* amavisd's "Checking:" line (log_level 1): what is about to be checked. */
static void
log_checking(struct mavis_session *s, const struct msg *m)
{
	struct mavis_buf line = { 0 };

	const char *path = mavis_view_path(s->view);

	mavis_buf_printf(&line, "Checking: %s %s%s[%s] <%s> ->", m->mail_id, path, *path ? " " : "",
			 *s->client_addr ? s->client_addr : "unknown", m->sender);
	for (size_t i = 0; i < m->nrcpts; i++)
		mavis_buf_printf(&line, "%s <%s>", i ? "," : "", m->rcpts[i].addr);
	mavis_log_ll(1, mavis_session_log_id(s), "%s", mavis_buf_str(&line));
	mavis_log_ll(5, mavis_session_log_id(s), "end of message: %llu body bytes",
		     (unsigned long long)m->size);
	mavis_buf_free(&line);
}

const struct mavis_verdict *
mavis_session_eom(struct mavis_session *s)
{
	struct msg *m = s->msg;

	if (m == NULL) {
		/* A caller bug, but still an answer that keeps the mail. */
		mavis_session_mail(s, "", NULL, NULL);
		m = s->msg;
		msg_fail(s, m, MAVIS_ERR_INTERNAL, "end of message without a message");
	}
	if (!m->eoh_done)
		mavis_session_eoh(s);
	if (m->verdict == NULL) {
		if (mavis_log_wants(1))
			log_checking(s, m);
		struct timespec t0, t1;

		/* amavisd writes the msgs row when the message is in and
		   its mail_id made, size known (save_info_preliminary), not at
		   MAIL FROM: a transaction that ends before DATA leaves none. */
		msg_sql_log_begin(s, m);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		m->verdict = msg_run_checks(s, m);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		stats_count_verdict(m->verdict, (unsigned long)((t1.tv_sec - t0.tv_sec) * 1000000L +
								 (t1.tv_nsec - t0.tv_nsec) / 1000));
		mavis_stats_slot_stage(s->slot, "reply");
	}
	return m->verdict;
}

void
mavis_session_reset(struct mavis_session *s)
{
	struct msg *m = s->msg;

	if (m == NULL)
		return;
	s->msg = NULL;
	mavis_view_truncate(s->view, m->bank_depth);
	dkim_verify_free(&m->dkim);
	mavis_spool_free(&m->spool);
	mavis_arena_free(&m->arena);
	free(m);
	s->queue_id[0] = '\0';
	mavis_stats_slot_message(s->slot, false);
}
