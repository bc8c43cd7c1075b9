/* SPDX-License-Identifier: GPL-2.0-or-later */
/* store_int.h - helpers shared by the files of lib/store */
#ifndef MAVIS_STORE_INT_H
#define MAVIS_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <mavis/arena.h>
#include <mavis/buf.h>
#include <mavis/error.h>
#include <mavis/quarantine.h>
#include <mavis/submit.h>

/* qformat.c: the envelope prefix of a quarantine file. */

/* Line end of the message's first line: "\r\n" or "\n" (also for no line). */
const char *store_msg_eol(const void *msg, size_t len);
/* True for a category word [a-z0-9_-]{1,MAVIS_QUARANTINE_CATEGORY_MAX}. */
bool store_valid_category(const char *category);
/* Check every field of in and append the prefix (up to and including the
   extra fields) to out, lines ending in eol. 0 or a negative status. */
int store_prefix_build(const struct mavis_quarantine_in *in, const char *eol,
		       struct mavis_buf *out, struct mavis_error *err);
/* Parse the prefix of data[0..len) into e (mail_id, sender, rcpts, blocked,
   prefix_len, message, message_len); strings are copied into arena, message
   points into data. 0 or a negative status. */
int store_prefix_parse(const char *data, size_t len, struct mavis_arena *arena,
		       struct mavis_quarantine_entry *e, struct mavis_error *err);

/* submit.c: the message as the MTA wants it. */

enum store_enc {
	STORE_ENC_SMTP,	/* CRLF line ends, dot-stuffing, final ".\r\n" */
	STORE_ENC_LF,	/* LF line ends (sendmail -i reads text as is) */
};
typedef int (*store_sink_fn)(void *ctx, const char *data, size_t len, struct mavis_error *err);
/* Re-encode the parts, in pieces of bounded size, into sink. The last line
   gets a line end when it has none. 0 or the sink's negative status. */
int store_encode(const struct mavis_submit_part *parts, size_t nparts, enum store_enc enc,
		 store_sink_fn sink, void *ctx, struct mavis_error *err);
/* Set code and reply of the recipients that have no verdict yet (code 0),
   of those with a 2xx (accepted so far), or of all. */
enum store_which { STORE_RCPT_UNSET, STORE_RCPT_ACCEPTED, STORE_RCPT_ALL };
void store_rcpt_verdict(struct mavis_submit_rcpt *r, size_t n, enum store_which which, int code,
			const char *reply);

/* smtp_client.c: the SMTP side of mavis_submit; returns the accepted count. */
int store_smtp_submit(const struct mavis_submit_method *m, const struct mavis_submit_opts *o,
		      const char *sender, struct mavis_submit_rcpt *r, size_t n,
		      const struct mavis_submit_part *parts, size_t nparts, int eightbit, int utf8);

#endif
