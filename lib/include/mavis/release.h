/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_RELEASE_H
#define MAVIS_RELEASE_H

#include <mavis/api.h>

/*
 * Release from quarantine, as amavisd does it (release_format 'resend'):
 * the quarantined message gets Resent-From/Sender, Resent-To, Resent-Date
 * and Resent-Message-ID on top and goes to the MTA through release_method
 * (submit.h), with the original envelope sender. One code path for every
 * front end: `mavisctl release` and mavisd's AM.PDP listener.
 *
 * Thread-safe; nothing is kept between calls.
 */

#include <stdbool.h>
#include <stddef.h>

#include <mavis/arena.h>
#include <mavis/config.h>
#include <mavis/error.h>
#include <mavis/quarantine.h>
#include <mavis/submit.h>

/*
 * Find and read the file copy of mail_id under quarantine_dir (config),
 * bounded by message_size_limit plus the envelope prefix. mail_file, when
 * not NULL, names the file relative to quarantine_dir (amavisd's mail_file
 * of AM.PDP: [A-Za-z0-9][A-Za-z0-9/_.+-]*, no ".." component); when it is
 * NULL or names no file, the file is located as mavis_quarantine_find does. The file's X-Quarantine-ID
 * must equal mail_id (a copy renamed to another id is refused). Returns 0
 * with *e and *path_r (arena), or MAVIS_ERR_CONFIG (no quarantine_dir),
 * MAVIS_ERR_PARSE (bad mail_id or mail_file, id mismatch), MAVIS_ERR_NOTFOUND
 * or the read's status; err set on every failure.
 */
MAVIS_API int mavis_release_load_file(const struct mavis_config *cfg, const char *mail_id,
				      const char *mail_file, struct mavis_arena *arena,
				      struct mavis_quarantine_entry *e, const char **path_r,
				      struct mavis_error *err);

struct mavis_sql;

/*
 * The SQL copy of mail_id (amavisd's quar_type Q: table quarantine, read
 * through sql.h), bounded as mavis_release_load_file. partition_tag: a
 * decimal number, or NULL/"" to look it up in msgs as amavisd does (more
 * than one row with that mail_id is an error: the request must name the
 * partition; none, then the configured partition_tag is read anyway).
 * Returns 0 with *e and
 * *loc_r ("sql:MAIL_ID[PTAG]", arena), or MAVIS_ERR_CONFIG (sql NULL: no
 * sql_dsn), MAVIS_ERR_PARSE (mail_id, partition_tag, several partitions,
 * no valid envelope prefix), MAVIS_ERR_NOTFOUND, MAVIS_ERR_LIMIT or
 * MAVIS_ERR_SQL; err set on every failure.
 */
MAVIS_API int mavis_release_load_sql(const struct mavis_config *cfg, struct mavis_sql *sql,
				     const char *mail_id, const char *partition_tag,
				     struct mavis_arena *arena, struct mavis_quarantine_entry *e,
				     const char **loc_r, struct mavis_error *err);

struct mavis_release_opts {
	const char *const *rcpts;	/* recipients asked for; NULL/0 = the blocked
					   ones, else (no X-Envelope-To-Blocked)
					   every original recipient */
	size_t nrcpts;
	bool requeue;		/* through requeue_method (the MTA's filtered input:
				   checked again) instead of release_method */
	const char *requested_by;	/* Resent-From (then Resent-Sender is us); NULL = us */
	const char *sender;	/* envelope sender instead of the original; NULL = keep */
	bool dry_run;		/* build everything, send nothing */
};

/* The outcome, per recipient in the order sent. */
struct mavis_release_result {
	char rel_id[MAVIS_QUARANTINE_ID_MAX + 1];	/* this release's id, "rel-" + it is
							   amavisd's log id */
	const char *method_label;	/* "smtp:[127.0.0.1]:10026", "sendmail:/usr/sbin/sendmail" */
	const char *method_spec;	/* release_method as configured */
	const char *sender;	/* envelope sender used */
	const char *header;	/* the Resent- block added, LF or CRLF as the message */
	size_t nrcpts;
	struct mavis_release_rcpt {
		const char *addr;
		int code;	/* SMTP code; 2xx = accepted */
		char xcode[16];	/* enhanced status code, "2.0.0" when the MTA gave none */
		const char *text;	/* "Ok, id=rel-ID, from MTA(LABEL): 250 2.0.0 Ok: queued as X"
					   (or "Failed, ..."): what amavisd answers after the codes */
	} *rcpts;
	size_t accepted;
};

/*
 * Re-send the entry e (a message read from any quarantine) as opts say,
 * through release_method (requeue_method for a requeue) and with myhostname (or the system's name) in the
 * Resent- fields and EHLO. Returns 0 when the message was handed over (or,
 * with dry_run, built) and *res is filled, each recipient with its own
 * answer, accepted or not; a negative status with err when nothing could be
 * tried: MAVIS_ERR_CONFIG (the method), MAVIS_ERR_PARSE (a recipient,
 * sender or requested_by that is not an address), MAVIS_ERR_NOTFOUND (no
 * recipient to send to), MAVIS_ERR_IO (no random id). The caller must ignore
 * SIGPIPE (see submit.h).
 */
MAVIS_API int mavis_release_send(const struct mavis_config *cfg,
				 const struct mavis_quarantine_entry *e,
				 const struct mavis_release_opts *opts, struct mavis_arena *arena,
				 struct mavis_release_result *res, struct mavis_error *err);

#endif
