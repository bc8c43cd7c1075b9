/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_VERDICT_H
#define MAVIS_VERDICT_H

#include <mavis/api.h>

/*
 * The verdict as data: what each recipient's content category and destiny
 * is, the one reply for the SMTP client, and the ordered list of edits the
 * milter applies with smfi_* (or mavisctl scan prints).
 */

#include <stdbool.h>
#include <stddef.h>

#include <mavis/buf.h>

/* Content categories, in increasing importance (amavisd CC_*). */
enum mavis_ccat {
	MAVIS_CC_CATCHALL = 0,
	MAVIS_CC_CLEAN = 1,
	MAVIS_CC_MTA = 2,
	MAVIS_CC_OVERSIZED = 3,
	MAVIS_CC_BADH = 4,
	MAVIS_CC_SPAMMY = 5,
	MAVIS_CC_SPAM = 6,
	MAVIS_CC_UNCHECKED = 7,
	MAVIS_CC_BANNED = 8,
	MAVIS_CC_VIRUS = 9,
};
#define MAVIS_CC_COUNT 10

/* Minors of UNCHECKED (amavisd 7,N) and of UNCHECKED caused by a scanner failure. */
enum {
	MAVIS_UNCHECKED_OTHER = 0,
	MAVIS_UNCHECKED_ENCRYPTED = 1,
	MAVIS_UNCHECKED_OVER_LIMITS = 2,
	MAVIS_UNCHECKED_AMBIGUOUS = 3,
	MAVIS_UNCHECKED_SCANNER_FAILED = 9,	/* ours: all virus scanners failed */
};

/* "maj,min" pairs; minor 0 when the category has no minor. */
struct mavis_ccat_pair {
	int major;
	int minor;
};

/* Display name as amavisd %ccat_display_names ("Clean", "BadHdrLong", ...). */
MAVIS_API const char *mavis_ccat_display_name(int major, int minor);
/* Log word as amavisd log lines ("CLEAN", "BAD-HEADER-5", "INFECTED", ...). */
MAVIS_API const char *mavis_ccat_log_name(int major, int minor);
/* JSON/short name: "CLEAN", "CLEAN+tag", "SPAMMY", "SPAM", "UNCHECKED",
   "BANNED", "VIRUS", "BADH", "OVERSIZED", "MTA". */
MAVIS_API const char *mavis_ccat_short_name(int major, int minor);

enum mavis_action {
	MAVIS_ACTION_ACCEPT,	/* continue delivery (with the edits) */
	MAVIS_ACTION_REJECT,	/* 5xx for the whole message */
	MAVIS_ACTION_TEMPFAIL,	/* 4xx for the whole message */
	MAVIS_ACTION_DISCARD,	/* accept and drop */
	MAVIS_ACTION_HOLD,	/* accept into the MTA's hold queue, reason = reply text
				   (non-SMTP mail with non_smtpd_reject_action = hold) */
};
MAVIS_API const char *mavis_action_name(enum mavis_action action);

enum mavis_edit_op {
	MAVIS_EDIT_ADD_HEADER,	/* append a field (name, value) */
	MAVIS_EDIT_INSERT_HEADER,	/* insert at index (0 = top) */
	MAVIS_EDIT_CHANGE_HEADER,	/* change occurrence index of name (1-based) */
	MAVIS_EDIT_DELETE_HEADER,	/* delete occurrence index of name (1-based) */
	MAVIS_EDIT_DELETE_RCPT,	/* remove rcpt from the envelope */
	MAVIS_EDIT_ADD_RCPT,	/* add rcpt to the envelope */
	MAVIS_EDIT_QUARANTINE,	/* the message was quarantined as value (mail_id) */
};
MAVIS_API const char *mavis_edit_op_name(enum mavis_edit_op op);

struct mavis_edit {
	enum mavis_edit_op op;
	const char *name;	/* header name, or NULL */
	const char *value;	/* header value (leading space included), or NULL */
	int index;		/* see op; -1 when unused */
	const char *rcpt;	/* for rcpt ops, or NULL */
};

/* An SMTP reply as fields; formatted only where it leaves the library
   (milter reply, JSON, log line). Texts are sanitised single lines. */
struct mavis_reply {
	const char *rcode;	/* "250", "554", "451", ...; NULL = no reply */
	const char *xcode;	/* "2.0.0", "5.7.0", ... */
	const char *text;	/* after the codes */
};

struct mavis_rcpt_verdict {
	const char *address;
	struct mavis_ccat_pair ccat;	/* main (highest) category */
	struct mavis_ccat_pair blocking;	/* blocking category, major -1 when passed */
	int destiny;		/* enum mavis_destiny of the blocking ccat, or PASS */
	bool local;
	struct mavis_reply reply;	/* blocked: "554" "5.7.0" "Reject, id=... - BANNED: ...";
					   passed: rcode NULL */
	int delivery;		/* index into deliveries, -1 when blocked */
	bool spam_scored;	/* spam_level is set */
	double spam_level;	/* scanner score + score_sender_maps boost */
};

/* One spam rule or symbol that hit. */
struct mavis_spam_hit {
	const char *name;
	double score;
};

/* One copy of the message: the recipients that get it and the header edits
   that make it theirs. Delivery 0 is the one applied in place. */
struct mavis_delivery {
	const size_t *rcpts;	/* indices into mavis_verdict.rcpts */
	size_t nrcpts;
	const struct mavis_edit *edits;	/* header edits only */
	size_t nedits;
};

/* Time spent in one end-of-message stage (a check, quarantine). */
struct mavis_stage_time {
	const char *stage;	/* "mime_decode", "banned", "virus", ... */
	unsigned long usec;
};

struct mavis_verdict {
	enum mavis_action action;	/* final: non-SMTP policy already applied */
	const char *rcode;	/* "250", "554", "451", ... */
	const char *xcode;	/* "2.0.0", "5.7.0", ... */
	const char *text;	/* reply text after the codes */
	const char *mail_id;	/* amavisd-style 12-char id */
	const char *reason;	/* main reason for logs: "INFECTED (Eicar...)", "CLEAN" */
	struct mavis_rcpt_verdict *rcpts;
	size_t nrcpts;
	struct mavis_delivery *deliveries;	/* passed recipients by their edits */
	size_t ndeliveries;
	/* What the milter does in place: delivery 0's header edits, then the
	   envelope edits (blocked recipients removed) and quarantine marks.
	   Passed recipients of deliveries 1.. get delivery 0's copy too
	   (merged_deliveries): one milter transaction has one header set. */
	struct mavis_edit *edits;
	size_t nedits;
	bool merged_deliveries;
	bool virus_scanned;	/* some scanner ran on the message */
	bool spam_scored;	/* a spam scanner answered */
	double spam_score;
	const char *spam_scanner;	/* which one, as configured */
	const struct mavis_spam_hit *spam_tests;
	size_t n_spam_tests;
	bool internal_error;	/* the verdict comes from a failure, not content */
	const struct mavis_stage_time *timing;	/* per stage, in run order */
	size_t ntiming;
};

/* Append "rcode xcode text" to out. */
MAVIS_API void mavis_reply_format(const struct mavis_reply *r, struct mavis_buf *out);

/* Append the verdict as one JSON object (action, smtp_reply, recipients[],
   edits[], mail_id, ...). */
MAVIS_API void mavis_verdict_to_json(const struct mavis_verdict *v, struct mavis_buf *out);
/* Append a human-readable multi-line summary. */
MAVIS_API void mavis_verdict_to_text(const struct mavis_verdict *v, struct mavis_buf *out);

#endif
