/* SPDX-License-Identifier: GPL-2.0-or-later */
/* check.h - the interface of an end-of-message check (libmavis internal) */
#ifndef MAVIS_CHECK_H
#define MAVIS_CHECK_H

/*
 * A check is a module with a struct mavis_check and one line in
 * checks/registry.c, which also fixes the order (amavisd's). The pipeline
 * runs each check whose wanted() holds for some recipient, once per
 * message, times it, and maps a failure status to on_*_failure: tempfail
 * or reject end the message; pass gives every recipient the check wanted
 * an UNCHECKED finding with failed_alert. A check reports what it found
 * as findings (and header fields) on the recipient records (verdict/rcpt.h);
 * mavis_decide() turns those into the verdict.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mavis/arena.h>
#include <mavis/av.h>
#include <mavis/badh.h>
#include <mavis/banned.h>
#include <mavis/config.h>
#include <mavis/headers.h>
#include <mavis/parts.h>
#include <mavis/spam.h>

struct dkim_verify;
struct dkim_verify_result;
struct auth_spf;
struct auth_engine;
struct auth_dmarc;
struct mavis_sa_auth;

#include "verdict/decide.h"
#include "verdict/rcpt.h"

/* The message as the checks see it; filled by the pipeline. */
struct mavis_check_ctx {
	const struct mavis_view *view;	/* effective settings (banks applied) */
	const char *log_id;
	struct mavis_arena *arena;	/* per message */
	bool oversized;			/* over message_size_limit: body cut */
	const void *raw;		/* the message as the MTA delivers it */
	size_t rawlen;
	uint64_t size;			/* its size (header section included) */
	const char *sender;
	const struct mavis_headers *headers;
	struct mavis_badh_result *badh;	/* header checks done at EOH, or NULL */
	unsigned badh_allowed;
	bool header_overflow;		/* more fields than the parsed list holds */
	struct mavis_rcpt *rcpts;
	size_t nrcpts;
	/* process-wide scanners of the pinned engine state */
	struct mavis_av *av;		/* NULL: none, or degraded */
	const char *av_error;		/* why av is NULL while scanners are set */
	bool av_configured;
	struct mavis_banned_rules *banned;	/* NULL: banned checks off */
	struct mavis_filetype_pool *filetypes;	/* libmagic handles; NULL = default pool */
	struct mavis_spam_scanners *spam;	/* NULL: no spam scanners */
	/* the envelope and connection, for the scanners that want them */
	const char *client_addr, *client_name, *helo, *queue_id, *auth_user, *mail_id;
	/* results shared between checks */
	struct mavis_decoded *decoded;	/* by the decode check, or NULL */
	bool virus_scanned;		/* by the virus check */
	const struct mavis_spam_result *spam_result;	/* by the spam check, or NULL */
	struct dkim_verify *dkim_verify;	/* the message's verification, or NULL */
	const struct dkim_verify_result *dkim_result;	/* by the dkim check, or NULL */
	/* the view itself, for the banks the dkim check loads by author
	   (author_to_policy_bank_maps): the checks after it see them */
	struct mavis_view *bank_view;
	double dkim_boost;		/* signer_reputation_maps sum, by the dkim check */
	/* SPF (at MAIL FROM) and DMARC (by the dkim check) */
	const struct auth_spf *spf;	/* NULL: SPF not checked */
	struct auth_engine *auth;	/* NULL: neither SPF nor DMARC configured */
	const struct auth_dmarc *dmarc;	/* NULL: DMARC not checked */
	double dmarc_boost;		/* soft score of a DMARC failure (tag) */
	bool dmarc_reject;		/* honour and a p=reject failure: 550 5.7.1 */
	const struct mavis_sa_auth *sa_auth;	/* the above for the native rules, or NULL */
	char fail_text[640];		/* a failing run's cause, for the log */
};

struct mavis_check {
	const char *name;	/* stage name in logs and timings: "virus" */
	/* Does the check concern recipient r (no bypass, something to check
	   with)? The check runs when it does for at least one. */
	bool (*wanted)(const struct mavis_check_ctx *cx, const struct mavis_rcpt *r);
	/* Run once; add findings to cx->rcpts. Returns 0 or a negative
	   MAVIS_ERR_* status (cause in cx->fail_text). */
	int (*run)(struct mavis_check_ctx *cx);
	/* X-Mavis-Alert text when the run failed and the policy passes it. */
	const char *failed_alert;
	/* The policy for a failed run when the check has a key of its own
	   (on_spam_scanner_failure); NULL = by status (mavis_fail_policy). */
	enum mavis_fail_policy (*fail_policy)(const struct mavis_view *view);
	/* Looks at the body: skipped for mail over message_size_limit, whose
	   body was not kept whole. */
	bool needs_body;
	/* Reads the decoded parts: the decode check runs for it. */
	bool needs_parts;
};

/* The checks in run order, NULL-terminated (registry.c). */
extern const struct mavis_check *const mavis_checks[];

/* True when check c is wanted for some recipient of cx. */
bool mavis_check_wanted_any(const struct mavis_check *c, const struct mavis_check_ctx *cx);

#endif
