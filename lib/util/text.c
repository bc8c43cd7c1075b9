/* SPDX-License-Identifier: GPL-2.0-or-later */
/* text.c - the one sanitiser for text from mail: scrub, clean, fold */

#include <string.h>

#include <mavis/buf.h>
#include <mavis/text.h>

const char *
mavis_text_clean(struct mavis_arena *a, const char *s)
{
	char *c;
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	c = mavis_arena_alloc(a, n + 1);
	memcpy(c, s, n + 1);
	mavis_text_scrub(c, n);
	return c;
}

/* Fold one line of a value (no line break inside) into out; col is the
   column it starts at. */
static void
fold_line(struct mavis_buf *out, const char *v, size_t vlen, size_t col)
{
	size_t i = 0;

	/* Fold before the last blank that keeps the line within the limit;
	   the blank starts the continuation line, so unfolding gives the value
	   back unchanged. */
	while (i < vlen) {
		size_t room = col < MAVIS_TEXT_FOLD_AT ? MAVIS_TEXT_FOLD_AT - col : 0;
		size_t brk = 0;

		if (vlen - i <= room)
			break;
		for (size_t j = i + 1; j <= i + room && j < vlen; j++)
			if (v[j] == ' ' || v[j] == '\t')
				brk = j;
		if (brk == 0) {
			/* No blank in reach: the next blank at all, within the
			   hard line limit. */
			size_t limit = col < MAVIS_TEXT_LINE_MAX - 5 ? MAVIS_TEXT_LINE_MAX - 5 - col : 0;

			for (size_t j = i + 1; j < vlen && j - i <= limit; j++)
				if (v[j] == ' ' || v[j] == '\t') {
					brk = j;
					break;
				}
			if (brk == 0) {
				if (vlen - i <= limit)
					break;
				mavis_buf_append(out, v + i, limit);
				mavis_buf_puts(out, "[...]");
				return;
			}
		}
		mavis_buf_append(out, v + i, brk - i);
		mavis_buf_putc(out, '\n');
		col = 0;
		i = brk;
	}
	if (i < vlen)
		mavis_buf_append(out, v + i, vlen - i);
}

const char *
mavis_text_header_value(struct mavis_arena *a, const char *name, const char *value)
{
	struct mavis_buf out = { 0 };
	size_t vlen, col, start = 0;
	const char *res;
	char *v;

	if (value == NULL)
		return NULL;
	vlen = strlen(value);
	v = mavis_arena_alloc(a, vlen + 1);
	memcpy(v, value, vlen + 1);
	/* A fold the writer made already (LF before a blank) stays; every
	   other control goes. */
	for (size_t i = 0; i < vlen; i++)
		if (((unsigned char)v[i] < 0x20 || v[i] == 0x7f) &&
		    !(v[i] == '\n' && i > 0 && (v[i + 1] == ' ' || v[i + 1] == '\t')) &&
		    !(v[i] == '\t' && i > 0))
			v[i] = '?';
	col = strlen(name) + 1;
	for (size_t i = 0; i <= vlen; i++) {
		if (i < vlen && v[i] != '\n')
			continue;
		if (start > 0)
			mavis_buf_putc(&out, '\n');
		fold_line(&out, v + start, i - start, col);
		col = 0;
		start = i + 1;
	}
	res = mavis_arena_strdup(a, mavis_buf_str(&out));
	mavis_buf_free(&out);
	return res;
}
