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

#endif
