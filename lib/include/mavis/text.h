/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_TEXT_H
#define MAVIS_TEXT_H

#include <mavis/api.h>

/*
 * The one sanitiser for text that comes from mail (file names, virus names,
 * header excerpts, addresses) on its way into a header field we add, an
 * SMTP reply or a log line: no byte of it may end a line, start a new field
 * or hide itself on a terminal.
 */

#include <stddef.h>

#include <mavis/arena.h>

/* Replace every C0 control (CR, LF and TAB included) and DEL in s[0..len)
   with '?', in place. */
MAVIS_API void mavis_text_scrub(char *s, size_t len);

/* An arena copy of s scrubbed as above; NULL stays NULL. */
MAVIS_API const char *mavis_text_clean(struct mavis_arena *a, const char *s);

/* A header field value for a field called name: scrubbed (a TAB, and an
   LF that starts a continuation line with a blank, are kept: folds made
   by the writer), then folded (LF before a blank) so that no line of
   "name:value" is longer than MAVIS_TEXT_FOLD_AT octets where white space
   allows; a run without white space longer than MAVIS_TEXT_LINE_MAX is cut
   there with "[...]". The leading space of value, if any, is kept. */
#define MAVIS_TEXT_FOLD_AT 78
#define MAVIS_TEXT_LINE_MAX 998
MAVIS_API const char *mavis_text_header_value(struct mavis_arena *a, const char *name,
				    const char *value);

#endif
