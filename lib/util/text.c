/* SPDX-License-Identifier: GPL-2.0-or-later */
/* text.c - the one sanitiser for text from mail: scrub, clean, fold */

#include <string.h>

#include <mavis/buf.h>
#include <mavis/text.h>

void
mavis_text_scrub(char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			s[i] = '?';
}

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

const char *
mavis_text_header_value(struct mavis_arena *a, const char *name, const char *value)
{
	struct mavis_buf out = { 0 };
	size_t vlen, col, i = 0;
	const char *res;
	char *v;

	if (value == NULL)
		return NULL;
	vlen = strlen(value);
	v = mavis_arena_alloc(a, vlen + 1);
	memcpy(v, value, vlen + 1);
	mavis_text_scrub(v, vlen);
	col = strlen(name) + 1;
	/* Fold before the last blank that keeps the line within the limit;
	   the blank starts the continuation line, so unfolding gives the value
	   back unchanged. */
	while (i < vlen) {
		size_t room = col < MAVIS_TEXT_FOLD_AT ? MAVIS_TEXT_FOLD_AT - col : 0;
		size_t brk = 0;

		if (vlen - i <= room)
			break;
		for (size_t j = i + 1; j <= i + room && j < vlen; j++)
			if (v[j] == ' ')
				brk = j;
		if (brk == 0) {
			/* No blank in reach: the next blank at all, within the
			   hard line limit. */
			size_t limit = col < MAVIS_TEXT_LINE_MAX - 5 ? MAVIS_TEXT_LINE_MAX - 5 - col : 0;

			for (size_t j = i + 1; j < vlen && j - i <= limit; j++)
				if (v[j] == ' ') {
					brk = j;
					break;
				}
			if (brk == 0) {
				if (vlen - i <= limit)
					break;
				mavis_buf_append(&out, v + i, limit);
				mavis_buf_puts(&out, "[...]");
				i = vlen;
				break;
			}
		}
		mavis_buf_append(&out, v + i, brk - i);
		mavis_buf_putc(&out, '\n');
		col = 0;
		i = brk;
	}
	if (i < vlen)
		mavis_buf_append(&out, v + i, vlen - i);
	res = mavis_arena_strdup(a, mavis_buf_str(&out));
	mavis_buf_free(&out);
	return res;
}
