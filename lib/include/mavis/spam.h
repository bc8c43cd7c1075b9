/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_SPAM_H
#define MAVIS_SPAM_H

/*
 * Spam scoring (amavisd-reference.md §4, §7): clients for external spam
 * scanners, and amavisd-new 2.13's per-recipient level logic and X-Spam-*
 * header texts. Nothing here touches the message pipeline; the pipeline
 * calls mavis_spam_scan() once per message at end of message and
 * mavis_spam_rcpt_eval() once per recipient.
 *
 * Scanner specs (config key spam_scanners, tried in order, the first one
 * that answers wins, the next is tried only when one fails):
 *
 *   spamd:inet:HOST:PORT   SpamAssassin spamd over TCP (HOST may be [v6])
 *   spamd:unix:/path       spamd on a unix socket
 *   rspamd:http://HOST:PORT[/path]   rspamd's normal worker; the path
 *                          defaults to /checkv2 (https:// works as well)
 *   native                 SpamAssassin's rule files evaluated in-process
 *                          (sa.h): the rules are loaded and compiled when the
 *                          list is made (start, reload), from sa_rules_dirs;
 *                          a rule directory that cannot be read fails the list
 *
 * spamd gets "REPORT SPAMC/1.5" with Content-length (and User: when the
 * request names one); the score comes from the reply's "Spam:" header, the
 * tests and their scores from the report's "pts rule name" table (spamd
 * prints those scores with one decimal; a report template without that
 * table gives the score and no tests). rspamd gets POST /checkv2 with the
 * envelope as IP, Helo, Hostname, From, Rcpt (one per recipient), Queue-Id,
 * User and Settings-ID headers; its JSON "score" and "symbols" are used,
 * "action" is ignored.
 *
 * The one rule of this module: a scanner that fails never yields a score.
 * Connect refused, a timeout, an oversized or malformed reply or a spamd
 * error code make that scanner FAILED with a cause; when every scanner
 * failed mavis_spam_scan() returns MAVIS_ERR_SCANNER and the caller applies
 * on_spam_scanner_failure (pass unscored, or tempfail).
 *
 * The library does not log. Messages are sent as given: the caller decides
 * about spam_check_size_limit (amavisd scans no larger mail at all).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mavis/api.h>
#include <mavis/arena.h>
#include <mavis/config.h>
#include <mavis/error.h>

/* ---- scanners ---------------------------------------------------------- */

/* Plain values; the strings are copied by mavis_spam_scanners_new(). Start
   from mavis_spam_settings_init(). */
struct mavis_spam_settings {
	const char *const *scanners;	/* NULL-terminated specs; NULL = none */
	unsigned timeout_ms;		/* one scanner's whole exchange: connect,
					   send, answer (30000; 0 = that) */
	unsigned connect_timeout_ms;	/* at most this for the connect (10000;
					   0 = that; never above timeout_ms) */
	size_t max_reply;		/* reply bytes accepted (1 MiB; 0 = that);
					   a larger reply FAILS the scanner */
	const char *const *sa_rules_dirs;	/* native: NULL-terminated rule
					   directories; NULL or empty = SpamAssassin's */
	const char *bayes_dsn;		/* native: Bayes database; NULL/"" = none */
	const char *bayes_username;	/* native: bayes_vars.username; NULL = SA's */
	unsigned bayes_timeout_ms;	/* native: 0 = 2000 */
};

MAVIS_API void mavis_spam_settings_init(struct mavis_spam_settings *s);

struct mavis_spam_scanners;

/*
 * Parse the specs and resolve spamd addresses (numeric or via the resolver,
 * once, here: a scan never waits for DNS). Call at config load or engine
 * build, never per message. Returns 0 and *out (an empty list is valid:
 * mavis_spam_scan() then fails with "no spam scanners configured"), or
 * MAVIS_ERR_CONFIG with err naming the bad spec.
 */
MAVIS_API int mavis_spam_scanners_new(const struct mavis_spam_settings *s,
			    struct mavis_spam_scanners **out, struct mavis_error *err);

/* Same, from a config snapshot's spam_scanners, spam_scanner_timeout and
   spamassassin_rules_dirs. */
MAVIS_API int mavis_spam_scanners_from_config(const struct mavis_config *cfg,
				    struct mavis_spam_scanners **out,
				    struct mavis_error *err);

/* Free the list, its idle connections and copies; *s = NULL. NULL-safe.
   No scan may be running on it. */
MAVIS_API void mavis_spam_scanners_free(struct mavis_spam_scanners **s);

MAVIS_API size_t mavis_spam_scanners_count(const struct mavis_spam_scanners *s);
/* Spec of scanner i as written, for logs. */
MAVIS_API const char *mavis_spam_scanner_spec(const struct mavis_spam_scanners *s, size_t i);

/* One message. Every string may be NULL (= not sent). Text from the SMTP
   client is sent with control characters replaced by '?', and cut at 1000
   bytes, so that it can never end a protocol header line. */
struct mavis_sa_auth;

struct mavis_spam_request {
	const void *msg;		/* the message: header section and body */
	size_t len;
	const char *client_ip;		/* rspamd IP */
	const char *client_name;	/* rspamd Hostname (reverse DNS name) */
	const char *helo;		/* rspamd Helo */
	const char *sender;		/* envelope sender without <>; "" = null
					   sender: rspamd From, spamd Return-Path */
	const char *const *rcpts;	/* envelope recipients without <>: rspamd
					   Rcpt, spamd X-Envelope-To */
	size_t n_rcpts;
	const char *queue_id;		/* rspamd Queue-Id */
	const char *auth_user;		/* SASL login: rspamd User */
	const char *spamd_user;		/* spamd User: (per-user preferences) */
	const char *settings_id;	/* rspamd Settings-ID (rspamd_settings_id) */
	const struct mavis_sa_auth *sa_auth;	/* native: our DKIM/SPF/DMARC results
					   for the plugins' evals (sa.h), or NULL */
};

/* One rule or symbol that hit. */
struct mavis_spam_test {
	const char *name;	/* '=' and ',' replaced by '_', as amavisd does */
	double score;
	const char *score_text;	/* as a Perl number prints (amavisd's tests=):
				   "1.1", "1000"; a zero spamd rounded stays as
				   spamd wrote it: "-0.0" */
};

enum mavis_spam_status {
	MAVIS_SPAM_OK = 0,
	MAVIS_SPAM_FAILED = 1,
};

struct mavis_spam_result {
	enum mavis_spam_status status;
	const char *scanner;	/* spec that answered, or the last one tried */
	double score;		/* OK only */
	double threshold;	/* the scanner's own required score; NAN if none */
	const struct mavis_spam_test *tests;	/* sorted by name */
	size_t n_tests;
	const char *report;	/* spamd's report text (NUL-terminated, may be
				   long); NULL for rspamd */
	const char *error;	/* FAILED: "SPEC: cause; SPEC2: cause" for
				   every scanner tried; NULL when OK */
	unsigned elapsed_ms;	/* whole call */
};

/*
 * Scan req->msg with the scanners in order until one answers. Thread-safe:
 * any number of threads may scan with one list. All result memory comes
 * from a. Returns 0 with out->status OK, or MAVIS_ERR_SCANNER with
 * out->status FAILED, out->error and err set ("all spam scanners failed:
 * ..."); never a score on failure. Other negative codes only for a NULL
 * argument (MAVIS_ERR_INTERNAL).
 */
MAVIS_API int mavis_spam_scan(const struct mavis_spam_scanners *s, const struct mavis_spam_request *req,
		    struct mavis_arena *a, struct mavis_spam_result *out,
		    struct mavis_error *err);

/* ---- levels and header fields ------------------------------------------ */

/* A recipient's levels; NAN = undefined (amavisd undef, or an empty map
   value). amavisd compares with >=. */
struct mavis_spam_levels {
	double tag, tag2, tag3, kill, dsn_cutoff, quarantine_cutoff;
};

/* Everything known about one recipient. */
struct mavis_spam_rcpt {
	const struct mavis_spam_result *scan;	/* NULL or FAILED: unscored
						   ("score=x", level 0) */
	double boost;		/* score_sender_maps sum; nonzero adds the
				   AM.WBL test and is added to the level */
	bool whitelisted;	/* whitelist_sender_maps matched */
	bool blacklisted;	/* blacklist_sender_maps matched */
	bool bypassed;		/* bypass_spam_checks_maps */
	bool local;		/* local_domains_maps: header fields and subject
				   tags only for local recipients */
	struct mavis_spam_levels levels;
	/* The recipient's spam_subject_tag{,2,3}_maps values; NULL or "" = none. */
	const char *subject_tag, *subject_tag2, *subject_tag3;
	bool remove_existing_headers;	/* remove_existing_spam_headers */
	const char *autolearn;	/* NULL = "unavailable" (spamd, rspamd) */
};

/* Message-wide inputs of the field texts. NULL strings expand to "". */
struct mavis_spam_hdr_opts {
	const char *level_char;	/* spam_level_char; NULL = "*", "" = no
				   X-Spam-Level field */
	bool report_field;	/* add X-Spam-Report at tag2 (amavisd: off) */
	/* subject tag macros _HOSTNAME_ _LOGID_ _MAILID_ _DATE_ _U_ _SUBJPREFIX_ */
	const char *hostname, *log_id, *mail_id, *date_rfc2822, *date_iso8601,
		*subjprefix;
};

/* The recipient's spam content category (amavisd ccat), highest first. */
enum mavis_spam_ccat {
	MAVIS_SPAM_CC_CLEAN = 0,	/* CC_CLEAN   below tag */
	MAVIS_SPAM_CC_TAGGED,		/* CC_CLEAN,1 at tag */
	MAVIS_SPAM_CC_SPAMMY,		/* CC_SPAMMY  at tag2 */
	MAVIS_SPAM_CC_SPAMMY3,		/* CC_SPAMMY,1 at tag3 */
	MAVIS_SPAM_CC_SPAM,		/* CC_SPAM    at kill */
};

/* One header field to insert at the top of the header section. value is
   the body without the space after the colon and without the final line
   end; folds are "\n" followed by a space or tab (X-Spam-Status, Report).
   Order in the array = order from the top. */
struct mavis_spam_field {
	const char *name;
	const char *value;
};

#define MAVIS_SPAM_MAX_FIELDS 5

struct mavis_spam_eval {
	bool scored;		/* the scan gave a score */
	double level;		/* score + boost; 0 when unscored */
	bool tag, tag2, tag3, kill;	/* amavisd do_tag, do_tag2, ... */
	enum mavis_spam_ccat ccat;	/* highest; CLEAN when bypassed */
	bool dsn_suppress;	/* level >= dsn_cutoff, or blacklisted (and not
				   whitelisted) with a cutoff defined */
	bool quarantine_suppress;	/* same with quarantine_cutoff */
	const char *tests;	/* "AM.WBL=-10,A=1.1,B=2.2" (for the log) */
	const char *subject_tag;	/* expanded tag to prepend, NULL = none */
	bool remove_headers;	/* delete every existing field named in
				   mavis_spam_header_names (before adding) */
	struct mavis_spam_field fields[MAVIS_SPAM_MAX_FIELDS];
	size_t n_fields;
};

/*
 * amavisd decide_mail_destiny and add_forwarding_header_edits_per_recip for
 * the spam part: levels -> category -> X-Spam-Flag, X-Spam-Score,
 * X-Spam-Level, X-Spam-Status (and X-Spam-Report) texts, byte for byte, plus
 * the subject tag. Pure: no I/O; strings come from a. Returns 0, or
 * MAVIS_ERR_INTERNAL on a NULL argument.
 */
MAVIS_API int mavis_spam_rcpt_eval(const struct mavis_spam_rcpt *r, const struct mavis_spam_hdr_opts *o,
			 struct mavis_arena *a, struct mavis_spam_eval *out);

/*
 * Fill r's settings from a message's view (everything but scan and
 * autolearn): the level and subject tag maps, bypass_spam_checks_maps and
 * local_domains_maps keyed by rcpt, remove_existing_spam_headers; for each
 * of the n senders (amavisd checks the envelope sender and every From:
 * address; "" is the null sender) whitelist_sender_maps and
 * blacklist_sender_maps (any match counts) and score_sender_maps (the first
 * match per sender, summed over the senders). A map value that is empty or
 * not a number leaves a level undefined. Strings come from scratch.
 * Returns 0, or a negative status when a lookup fails (SQL down; err set).
 */
MAVIS_API int mavis_spam_rcpt_lookup(const struct mavis_view *view, const char *rcpt,
			   const char *const *senders, size_t n_senders,
			   struct mavis_arena *scratch, struct mavis_spam_rcpt *r,
			   struct mavis_error *err);

/* spam_level_char and spam_report_header of a view (the macro strings stay NULL). */
MAVIS_API void mavis_spam_hdr_opts_from_view(const struct mavis_view *view, struct mavis_spam_hdr_opts *o);

/* The fields remove_existing_spam_headers deletes (NULL-terminated), and a
   case-insensitive test of one name against them. */
MAVIS_API extern const char *const mavis_spam_header_names[];
MAVIS_API bool mavis_spam_is_spam_header(const char *name, size_t len);

/* amavisd's 0+sprintf("%.3f", x): at most three decimals, no trailing
   zeros, "-0" printed as "0" (Perl's number formatting). From a. */
MAVIS_API const char *mavis_spam_fmt_score(struct mavis_arena *a, double x);
/* A Perl number as it prints (%.15g, "-0" -> "0"): levels in X-Spam-Status. */
MAVIS_API const char *mavis_spam_fmt_num(struct mavis_arena *a, double x);

/*
 * amavisd's header conditioning (Amavis::Out::EditHeader::hdr) of a field
 * whose body has "\n" at the only places it may be folded (structured = 1):
 * pieces are joined while the line stays within 78 columns (counting
 * "Name: "), a piece that does not fit starts a continuation line with its
 * own leading space; lines over 998 bytes end in "...". Returns the body
 * without the space after the colon and without the final line end.
 */
MAVIS_API const char *mavis_spam_fold(struct mavis_arena *a, const char *name, const char *body);

#endif
