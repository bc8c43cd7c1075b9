/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_BUF_H
#define MAVIS_BUF_H

#include <mavis/api.h>

/*
 * Growable byte buffer, always NUL-terminated after len bytes (data may hold
 * NULs). Heap-backed; free with mavis_buf_free(). A zeroed struct is a valid
 * empty buffer.
 */

#include <stdarg.h>
#include <stddef.h>

#include <mavis/error.h>

struct mavis_buf {
	char *data;	/* NULL or len bytes + NUL */
	size_t len;
	size_t cap;
};

MAVIS_API void mavis_buf_append(struct mavis_buf *b, const void *p, size_t n);
MAVIS_API void mavis_buf_puts(struct mavis_buf *b, const char *s);
MAVIS_API void mavis_buf_putc(struct mavis_buf *b, char c);
MAVIS_API void mavis_buf_printf(struct mavis_buf *b, const char *fmt, ...) MAVIS_PRINTF(2, 3);
MAVIS_API void mavis_buf_vprintf(struct mavis_buf *b, const char *fmt, va_list ap)
	MAVIS_PRINTF(2, 0);
/* Append s as a JSON string literal (quotes included, escapes as needed). */
MAVIS_API void mavis_buf_json_str(struct mavis_buf *b, const char *s);
MAVIS_API void mavis_buf_reset(struct mavis_buf *b);	/* len = 0, keeps memory */
MAVIS_API void mavis_buf_free(struct mavis_buf *b);	/* releases memory, struct zeroed */
/* Returns the data (never NULL: "" when empty). */
MAVIS_API const char *mavis_buf_str(const struct mavis_buf *b);

#endif
