/* SPDX-License-Identifier: GPL-2.0-or-later */
/* buf.c - growable NUL-terminated byte buffer */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/alloc.h>
#include <mavis/buf.h>
#include <mavis/log.h>

static void
buf_reserve(struct mavis_buf *b, size_t more)
{
	size_t need;

	if (more > SIZE_MAX - b->len - 1)
		mavis_panic(__FILE__, __LINE__, "buffer size overflow");
	need = b->len + more + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	b->data = mavis_xrealloc(b->data, cap);
	b->cap = cap;
}

void
mavis_buf_append(struct mavis_buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
mavis_buf_puts(struct mavis_buf *b, const char *s)
{
	mavis_buf_append(b, s, strlen(s));
}

void
mavis_buf_putc(struct mavis_buf *b, char c)
{
	mavis_buf_append(b, &c, 1);
}

void
mavis_buf_vprintf(struct mavis_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n <= 0)
		return;
	buf_reserve(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void
mavis_buf_printf(struct mavis_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mavis_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void
mavis_buf_json_str(struct mavis_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	mavis_buf_putc(b, '"');
	for (; *p; p++) {
		switch (*p) {
		case '"': mavis_buf_puts(b, "\\\""); break;
		case '\\': mavis_buf_puts(b, "\\\\"); break;
		case '\n': mavis_buf_puts(b, "\\n"); break;
		case '\r': mavis_buf_puts(b, "\\r"); break;
		case '\t': mavis_buf_puts(b, "\\t"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				mavis_buf_printf(b, "\\u%04x", *p);
			else
				mavis_buf_putc(b, (char)*p);
		}
	}
	mavis_buf_putc(b, '"');
}

void
mavis_buf_reset(struct mavis_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void
mavis_buf_free(struct mavis_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

const char *
mavis_buf_str(const struct mavis_buf *b)
{
	return b->data ? b->data : "";
}
