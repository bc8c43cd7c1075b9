/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_AMPDP_H
#define MAVIS_AMPDP_H

#include <mavis/api.h>

/*
 * amavisd's AM.PDP release protocol (README.protocol, Amavis/In/AMPDP.pm),
 * the part that panels and amavisd-release speak: a request is lines
 * "name=value" (or "name: value"), each ending in LF or CRLF, name and value
 * %XX-encoded, and ends with an empty line; a connection may carry several
 * requests. The answer is lines of the same form, CRLF, then an empty line:
 *
 *   setreply=250 2.0.0 Ok,%20id=rel-...        one per recipient
 *   setreply=450 4.5.0 Failure:%20...          plus return_value=tempfail
 *                                              and exit_code=75 on failure
 *
 * Pure functions: no I/O, no state, thread-safe.
 */

#include <stdbool.h>
#include <stddef.h>

#include <mavis/arena.h>
#include <mavis/buf.h>
#include <mavis/error.h>

#define MAVIS_AMPDP_VALUE_MAX 4096	/* one decoded value */
#define MAVIS_AMPDP_RCPTS_MAX 1000	/* recipient= lines in one request */
#define MAVIS_AMPDP_LINES_MAX 2000	/* lines in one request */

enum mavis_ampdp_request {
	MAVIS_AMPDP_RELEASE,
	MAVIS_AMPDP_REQUEUE,
	MAVIS_AMPDP_REPORT,
};

/* One parsed request. Strings are decoded, NUL-free, in the arena; a field
   that was not sent is NULL. Addresses have their <> removed. */
struct mavis_ampdp_req {
	enum mavis_ampdp_request request;
	const char *mail_id;	/* required; amavisd's form [A-Za-z0-9][A-Za-z0-9_+-]*={0,2} */
	const char *secret_id;	/* NULL or "" = none */
	const char *partition_tag;
	char quar_type;		/* 'F', 'Z', 'Q'; 0 = not given */
	const char *mail_file;
	const char *requested_by;
	const char *sender;
	const char **rcpts;
	size_t nrcpts;
	size_t nunknown;	/* attributes this module does not use (ignored, as amavisd
				   does; policy-query fields such as client_address) */
};

/*
 * Parse one request: data[0..len) holds its lines without the empty line
 * that ends it (the last line may lack its line end). Returns 0 with *out,
 * or MAVIS_ERR_PARSE with err saying which line or field is wrong: a line
 * without '=' or ':', a NUL or bad %XX-escape, a name repeated that is not
 * recipient, a request word other than release|requeue|report (AM.PDP's
 * content checks are not served), a missing or malformed mail_id, a
 * quar_type other than F/Z/Q, an address that quarantine.h's check refuses;
 * MAVIS_ERR_LIMIT for more than the bounds above. Never reads outside data.
 */
MAVIS_API int mavis_ampdp_parse(const char *data, size_t len, struct mavis_arena *arena,
				struct mavis_ampdp_req *out, struct mavis_error *err);

/*
 * The secret check of amavisd 2.7+: mail_id is the first 12 characters of
 * base64url(md5(secret)) where secret_id = base64url(secret); ids from
 * amavisd before 2.7 (md5 of the secret_id text itself, "+" and "-" as the
 * last base64 digits) are accepted too. The quarantined copy needs no stored
 * secret for this: whoever holds a secret_id that hashes to the mail_id got
 * it from the message's log record (SQL msgs.secret_id) or notification.
 * True when secret_id authorizes mail_id.
 */
MAVIS_API bool mavis_ampdp_secret_ok(const char *mail_id, const char *secret_id);

/* Append "name=value\r\n" to b with amavisd's encoding: in the name every
   character but [0-9A-Za-z._+-], in the value '%' and every byte outside
   0x21-0x7e (space included), as %XX. */
MAVIS_API void mavis_ampdp_put(struct mavis_buf *b, const char *name, const char *value);

/* Append "setreply=CODE XCODE TEXT\r\n", each part encoded as a value
   ("Ok,%20id=rel-..."), as amavisd answers per recipient. */
MAVIS_API void mavis_ampdp_put_reply(struct mavis_buf *b, int code, const char *xcode,
				     const char *text);

/* Append a failure answer as amavisd sends it, including the empty line:
   setreply=450 4.5.0 Failure: TEXT, return_value=tempfail, exit_code=75. */
MAVIS_API void mavis_ampdp_put_failure(struct mavis_buf *b, const char *text);

#endif
