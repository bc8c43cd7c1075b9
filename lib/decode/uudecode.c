/* SPDX-License-Identifier: GPL-2.0-or-later */
/* uudecode.c - uuencoded blocks inside text bodies */

/*
 * MIME::Parser (extract_uuencode, used by amavisd) looks for a line matching
 * /^begin [0-7]{3}/ in text/plain bodies and decodes what follows up to
 * "end". This is the same, bounded: a block without "end" runs to the end of
 * the text, and a line never yields more bytes than its characters encode,
 * so the output is never larger than the input whatever the length byte of
 * a line claims.
 */

#include <string.h>

#include "decode/decode_int.h"

/* End of the line starting at i (index of '\n' or len). */
static size_t
line_end(const unsigned char *s, size_t len, size_t i)
{
	const unsigned char *nl = memchr(s + i, '\n', len - i);

	return nl ? (size_t)(nl - s) : len;
}

/* Line [i, e) without a trailing CR. */
static size_t
trim_cr(const unsigned char *s, size_t i, size_t e)
{
	return e > i && s[e - 1] == '\r' ? e - 1 : e;
}

static bool
is_end_line(const unsigned char *s, size_t i, size_t e)
{
	e = trim_cr(s, i, e);
	while (e > i && (s[e - 1] == ' ' || s[e - 1] == '\t'))
		e--;
	return e - i == 3 && memcmp(s + i, "end", 3) == 0;
}

bool
mavis_uu_next(const unsigned char *s, size_t len, size_t *pos, struct mavis_uu_block *blk)
{
	for (size_t i = *pos; i < len;) {
		size_t e = line_end(s, len, i), te = trim_cr(s, i, e), j;

		if (te - i >= 10 && memcmp(s + i, "begin ", 6) == 0 &&
		    s[i + 6] >= '0' && s[i + 6] <= '7' && s[i + 7] >= '0' && s[i + 7] <= '7' &&
		    s[i + 8] >= '0' && s[i + 8] <= '7') {
			j = i + 9;
			if (j < te && s[j] >= '0' && s[j] <= '7')
				j++;	/* four-digit modes exist */
			if (j < te && s[j] == ' ') {
				blk->name_off = j + 1;
				blk->name_len = te - (j + 1);
				blk->body_off = e < len ? e + 1 : len;
				blk->end_off = len;
				for (size_t k = blk->body_off; k < len;) {
					size_t ke = line_end(s, len, k);

					if (is_end_line(s, k, ke)) {
						blk->end_off = ke < len ? ke + 1 : len;
						break;
					}
					k = ke < len ? ke + 1 : len;
				}
				*pos = blk->end_off;
				return true;
			}
		}
		i = e < len ? e + 1 : len;
	}
	*pos = len;
	return false;
}

static unsigned
uuval(unsigned char c)
{
	return (unsigned)(c - ' ') & 63;
}

size_t
mavis_uu_decode(const unsigned char *s, const struct mavis_uu_block *blk, unsigned char *out)
{
	size_t o = 0;

	for (size_t i = blk->body_off; i < blk->end_off;) {
		size_t e = line_end(s, blk->end_off, i), te = trim_cr(s, i, e);
		size_t want, have, chars;
		const unsigned char *l = s + i + 1;

		if (is_end_line(s, i, e) || te == i) {
			i = e < blk->end_off ? e + 1 : blk->end_off;
			continue;
		}
		want = uuval(s[i]);
		chars = te - i - 1;
		/* Bytes the characters present can carry: 3 per 4, and 1 or 2
		   from a final group of 2 or 3. */
		have = chars / 4 * 3 + (chars % 4 > 1 ? chars % 4 - 1 : 0);
		if (want > have)
			want = have;
		for (size_t g = 0, n = 0; n < want; g += 4) {
			unsigned c0 = uuval(l[g]);
			unsigned c1 = g + 1 < chars ? uuval(l[g + 1]) : 0;
			unsigned c2 = g + 2 < chars ? uuval(l[g + 2]) : 0;
			unsigned c3 = g + 3 < chars ? uuval(l[g + 3]) : 0;
			unsigned char b[3];

			b[0] = (unsigned char)(c0 << 2 | c1 >> 4);
			b[1] = (unsigned char)(c1 << 4 | c2 >> 2);
			b[2] = (unsigned char)(c2 << 6 | c3);
			for (int k = 0; k < 3 && n < want; k++, n++)
				out[o++] = b[k];
		}
		i = e < blk->end_off ? e + 1 : blk->end_off;
	}
	return o;
}
