/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_QUARANTINE_H
#define MAVIS_QUARANTINE_H

#include <mavis/api.h>

/*
 * Local file quarantine, in amavisd-new's format, so
 * that amavisd-release, iRedAdmin and friends read our files and we read theirs.
 *
 * One quarantined copy is one file, QUARANTINE_DIR[/C]/CATEGORY-MAIL_ID[.gz]
 * (C = first character of mail_id when subdir_levels is 1), holding:
 *
 *   X-Envelope-From: <sender@example.org>
 *   X-Envelope-To: <a@example.com>,
 *   	<b@example.com>
 *   X-Envelope-To-Blocked: <b@example.com>
 *   X-Quarantine-ID: <MAIL_ID>
 *   (extra fields, e.g. X-Spam-Status, when the caller gives them)
 *   (the message: header section and body exactly as received)
 *
 * The prefix lines end like the message's first line (CRLF or LF), so the
 * file is consistent whichever form the caller holds. gzip files are RFC 1952
 * (zlib gz format), readable with zcat.
 *
 * A file is written to a temporary name in its final directory, fsync'ed and
 * then hard-linked to its final name, so a reader never sees half a file and
 * an existing file is never replaced (amavisd refuses to overwrite, and so do
 * we). Every failure is reported; the caller must turn it into a tempfail,
 * since a quarantine failure must never lose the mail.
 *
 * Nothing here keeps state; all functions are thread-safe.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mavis/arena.h>
#include <mavis/error.h>

/* Bounds. A mail_id is 12 characters (amavisd 2.7+); older ids are accepted
   up to this length, from [A-Za-z0-9+_-] (no '/', no leading '.'). */
#define MAVIS_QUARANTINE_ID_MAX 64
#define MAVIS_QUARANTINE_CATEGORY_MAX 32	/* [a-z0-9_-], e.g. "virus" */
#define MAVIS_QUARANTINE_ADDR_MAX 2048	/* one envelope address, without <> */
#define MAVIS_QUARANTINE_RCPTS_MAX 100000	/* addresses per envelope field */
#define MAVIS_QUARANTINE_PREFIX_MAX (32u * 1024 * 1024)	/* envelope prefix bytes */
#define MAVIS_QUARANTINE_REL_MAX 128	/* "C/CATEGORY-MAIL_ID.gz" + NUL fits */

/* What to store. Every pointer may be NULL only where stated. */
struct mavis_quarantine_in {
	const char *dir;	/* quarantine_dir; must exist */
	int subdir_levels;	/* 0: DIR/NAME; 1: DIR/C/NAME, C created when missing */
	const char *category;	/* "virus", "banned", "spam", "badh", "unchecked",
				   "clean", "archive" (any [a-z0-9_-] word is taken) */
	bool gzip;		/* compress, ".gz" suffix, quar_type 'Z' */
	const char *mail_id;
	const char *secret_id;	/* may be NULL; never written into the file (amavisd
				   keeps it in SQL only: whoever reads the
				   quarantine must not be able to authorize a release) */
	const char *sender;	/* envelope sender without <>, "" = null sender */
	const char *const *rcpts;	/* every envelope recipient (X-Envelope-To); all
					   addresses as mavis_quarantine_check_addr takes them */
	size_t nrcpts;
	const char *const *blocked;	/* recipients it was blocked for; may be NULL if 0 */
	size_t nblocked;
	/* Extra header fields written after X-Quarantine-ID, "Name: value", may be
	   folded with "\n" or "\r\n" followed by a space or tab. May be NULL if 0. */
	const char *const *extra_fields;
	size_t nextra;
	const void *msg;	/* header section + body as received */
	size_t msg_len;
};

struct mavis_quarantine_out {
	char rel_path[MAVIS_QUARANTINE_REL_MAX];	/* amavisd quar_loc, relative to dir */
	char quar_type;		/* 'F' (plain file) or 'Z' (gzip) */
	uint64_t file_size;	/* bytes on disk */
};

/*
 * Store one quarantined copy. Returns 0 and fills *out, or a negative status
 * with err naming the file and the cause: MAVIS_ERR_CONFIG (dir empty,
 * subdir_levels not 0/1), MAVIS_ERR_PARSE (invalid mail_id, category,
 * address or extra field), MAVIS_ERR_LIMIT (an address or the recipient list
 * over the bounds above), MAVIS_ERR_IO (anything the file system refused,
 * including "already exists"). On failure no file is left behind.
 */
MAVIS_API int mavis_quarantine_store(const struct mavis_quarantine_in *in,
			   struct mavis_quarantine_out *out, struct mavis_error *err);

/*
 * Locate the stored copy of mail_id under dir: any CATEGORY-MAIL_ID or a bare
 * MAIL_ID, plain or .gz, in the subdir_levels layout first and then in the
 * other one (a quarantine that changed layout keeps its old files). When
 * several files carry the id (an archive copy beside a spam copy), the
 * category order virus, banned, spam, badh, unchecked, clean, archive, then
 * any other decides (the smaller name among equals). Returns 0 with
 * *path_r (dir/.../name, allocated from arena); MAVIS_ERR_NOTFOUND;
 * MAVIS_ERR_PARSE (invalid mail_id), MAVIS_ERR_CONFIG (dir empty) or
 * MAVIS_ERR_IO (dir missing or unreadable); err set on every failure.
 */
MAVIS_API int mavis_quarantine_find(const char *dir, int subdir_levels, const char *mail_id,
			  struct mavis_arena *arena, const char **path_r,
			  struct mavis_error *err);

/* A stored copy read back. Everything lives in the arena given to read. */
struct mavis_quarantine_entry {
	const char *mail_id;	/* X-Quarantine-ID without <> */
	const char *sender;	/* X-Envelope-From without <>; "" = null sender */
	const char **rcpts;	/* X-Envelope-To, without <> (external form kept) */
	size_t nrcpts;
	const char **blocked;	/* X-Envelope-To-Blocked, without <> (0 if absent) */
	size_t nblocked;
	bool has_blocked;	/* the X-Envelope-To-Blocked field was there */
	const char *message;	/* the bytes after the envelope prefix, NUL-terminated */
	size_t message_len;
	size_t prefix_len;	/* bytes of the envelope prefix in the file's content */
	char quar_type;		/* 'F' or 'Z', by content (gzip magic), not by name */
};

/*
 * Read a stored copy (plain or gzip, detected by content) of at most
 * max_bytes uncompressed bytes (0 = no bound besides memory) and parse its
 * envelope prefix: the leading X-Envelope-From, X-Envelope-To,
 * X-Envelope-To-Blocked and X-Quarantine-ID fields, in any order, each at most
 * once; the message starts at the first other line. X-Envelope-From,
 * X-Envelope-To and X-Quarantine-ID are required. Returns 0, or
 * MAVIS_ERR_IO (open/read/corrupt gzip), MAVIS_ERR_LIMIT (over max_bytes or
 * the prefix bounds), MAVIS_ERR_PARSE (not a quarantine file, duplicate or
 * malformed field), err set.
 */
MAVIS_API int mavis_quarantine_read(const char *path, size_t max_bytes, struct mavis_arena *arena,
			  struct mavis_quarantine_entry *out, struct mavis_error *err);

/* True when id is a mail_id this module accepts (see MAVIS_QUARANTINE_ID_MAX). */
MAVIS_API bool mavis_quarantine_valid_id(const char *id);

/*
 * Check an envelope address as this module takes it: RFC 5321 external form
 * without the angle brackets, as the MTA hands it to the milter (a local part
 * that needs it is already quoted: "a b"@example.org); "" is the null sender.
 * Refused: control characters (CR, LF, NUL...), '<' or '>' outside a quoted
 * string, an unterminated quoted string (MAVIS_ERR_PARSE), more than
 * MAVIS_QUARANTINE_ADDR_MAX bytes (MAVIS_ERR_LIMIT). Returns 0 or the status.
 */
MAVIS_API int mavis_quarantine_check_addr(const char *addr, struct mavis_error *err);

#endif
