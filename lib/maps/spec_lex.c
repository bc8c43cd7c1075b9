/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spec_lex.c - split a map spec into tokens at commas and blanks outside "..." and {...} */

#include <string.h>

#include "maps_int.h"

static bool
is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	       c == '\v';
}

/* End of the token starting at s[i], or 0 with err set. */
static size_t
token_end(const char *s, size_t len, size_t i, struct mavis_arena *a,
	  struct mavis_error *err)
{
	size_t start = i, depth = 0;

	while (i < len && (depth > 0 || !is_sep(s[i]))) {
		switch (s[i]) {
		case '"': {
			size_t q = mavis_map_quoted_len(s + i, len - i);

			if (q == 0) {
				mavis_error_set(err, MAVIS_ERR_CONFIG, "unterminated quote in '%s'",
						mavis_map_label(a, s + start, len - start));
				return 0;
			}
			i += q;
			continue;
		}
		case '{':
			depth++;
			break;
		case '}':
			if (depth == 0) {
				mavis_error_set(err, MAVIS_ERR_CONFIG, "unbalanced '}' in '%s'",
						mavis_map_label(a, s + start, len - start));
				return 0;
			}
			depth--;
			break;
		default:
			break;
		}
		i++;
	}
	if (depth > 0) {
		mavis_error_set(err, MAVIS_ERR_CONFIG, "missing '}' in '%s'",
				mavis_map_label(a, s + start, len - start));
		return 0;
	}
	return i;
}

int
mavis_spec_lex(const char *spec, size_t len, struct mavis_arena *a, struct spec_tok **out,
	       size_t *n, struct mavis_error *err)
{
	struct spec_tok *tok;
	size_t ntok = 0, max = 0, i;

	/* Tokens are separated, so there are at most len/2 + 1 of them; counting
	   first keeps the array in the arena without regrowing it. */
	for (i = 0; i < len;) {
		size_t e;

		while (i < len && is_sep(spec[i]))
			i++;
		if (i == len)
			break;
		e = token_end(spec, len, i, a, err);
		if (e == 0)
			return err != NULL ? err->status : MAVIS_ERR_CONFIG;
		max++;
		i = e;
	}
	tok = mavis_arena_calloc(a, max ? max : 1, sizeof(*tok));
	for (i = 0; i < len;) {
		size_t e;

		while (i < len && is_sep(spec[i]))
			i++;
		if (i == len)
			break;
		e = token_end(spec, len, i, a, err);
		tok[ntok].raw = spec + i;
		tok[ntok].len = e - i;
		ntok++;
		i = e;
	}
	*out = tok;
	*n = ntok;
	return 0;
}
