/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rcpt.h - the one recipient record (libmavis internal) */
#ifndef MAVIS_VERDICT_RCPT_H
#define MAVIS_VERDICT_RCPT_H

/*
 * A recipient exists once per message: its settings are resolved at RCPT
 * (lib/pipeline/session.c), the checks add their findings to it at end of
 * message (lib/checks), mavis_decide() reads both and points it at its
 * verdict, and quarantine, logging and SQL read it from there. Memory from
 * the message arena.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mavis/arena.h>
#include <mavis/verdict.h>

#define MAVIS_RCPT_MAX_FINDINGS 12

/* What one check found for one recipient: a content category and the
   texts that go with it. The texts come from mail where they name a part
   or a virus: they are sanitised where they leave (mavis_text_clean). */
struct mavis_finding {
	int major, minor;	/* MAVIS_CC_*, its minor */
	const char *reason;	/* %smtp_reason_by_ccat: "BANNED: .exe", "UNCHECKED" */
	const char *alert;	/* X-Mavis-Alert value when this is the main
				   ccat of a passed recipient, or NULL */
	const char *log_text;	/* main reason in the log line, NULL = the
				   ccat's log name ("INFECTED (Eicar)") */
	const char *subject_tag;	/* Subject prefix for a local recipient,
					   NULL = the ccat's (virus_subject_tag,
					   undecipherable_subject_tag) */
};

/* A header edit a check makes to the copy of a passed recipient:
   X-Virus-Scanned, X-Spam-* inserted (op INSERT_HEADER, index 0: each one
   above the ones before), or an existing field deleted (DELETE_HEADER,
   index = its occurrence). Applied in the order added. */
struct mavis_rcpt_header {
	enum mavis_edit_op op;
	const char *name;
	const char *value;	/* leading space included; NULL for a delete */
	int index;
};

struct mavis_rcpt {
	/* settings, resolved once at RCPT */
	const char *addr;
	bool local;
	bool lover[MAVIS_CC_COUNT];
	bool bypass_virus, bypass_spam, bypass_banned, bypass_header;
	bool has_size_limit;
	uint64_t size_limit;
	const char *banned_rulesets;	/* banned_filename_maps value, NULL = DEFAULT */
	const char *quarantine_to[MAVIS_CC_COUNT];	/* *_quarantine_to_maps, "" = none */
	/* Every setting that changes what is added to this recipient's copy or
	   its fate, as one string: recipients with equal signatures can share
	   one transaction (recipient bucketing). */
	const char *signature;

	/* findings, descending by (major, minor); CLEAN is implied */
	struct mavis_finding findings[MAVIS_RCPT_MAX_FINDINGS];
	size_t nfindings;
	struct mavis_rcpt_header *headers;
	size_t nheaders, capheaders;

	/* spam stage results (check_spam.c) */
	bool spam_scored;		/* a spam level was computed */
	double spam_level;		/* score + score_sender_maps boost */
	bool spam_quarantine_suppress;	/* at spam_quarantine_cutoff_level */
	bool whitelisted, blacklisted;	/* by *_sender_maps (msgrcpt.wl/bl) */

	/* the verdict, set by mavis_decide() */
	const struct mavis_rcpt_verdict *verdict;
};

/* Add a finding in order. A duplicate (major, minor) keeps the first one's
   texts; past MAVIS_RCPT_MAX_FINDINGS the least important is dropped. */
void mavis_rcpt_add_finding(struct mavis_rcpt *r, const struct mavis_finding *f);

/* The finding of (major, minor), or NULL. */
const struct mavis_finding *mavis_rcpt_finding(const struct mavis_rcpt *r, int major,
					       int minor);

/* Queue a field to insert at the top of this recipient's copy (name and
   value are kept, not copied: arena memory). */
void mavis_rcpt_add_header(struct mavis_rcpt *r, struct mavis_arena *a, const char *name,
			   const char *value);
/* Queue the deletion of occurrence index (1-based) of field name. */
void mavis_rcpt_delete_header(struct mavis_rcpt *r, struct mavis_arena *a, const char *name,
			      int index);

#endif
