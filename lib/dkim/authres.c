/* SPDX-License-Identifier: GPL-2.0-or-later */
/* authres.c - the authserv-id of an Authentication-Results field (RFC 8601) */

#include <string.h>

#include <mavis/dkim.h>

/* Skip CFWS: white space, line breaks and (nested) comments. A comment
   left open runs to the end. */
static size_t
skip_cfws(const char *v, size_t i, size_t len)
{
	int depth = 0;

	while (i < len) {
		char c = v[i];

		if (depth > 0 && c == '\\' && i + 1 < len) {
			i += 2;
			continue;
		}
		if (c == '(') {
			if (depth < 64)
				depth++;
		} else if (c == ')' && depth > 0) {
			depth--;
		} else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			break;
		}
		i++;
	}
	return i;
}

int
mavis_authres_servid(const char *v, size_t len, char *buf, size_t size)
{
	size_t i = skip_cfws(v, 0, len), o = 0;

	if (size == 0)
		return MAVIS_ERR_PARSE;
	if (i < len && v[i] == '"') {
		/* quoted-string: backslash quotes the next character */
		for (i++; i < len && v[i] != '"'; i++) {
			if (v[i] == '\\' && i + 1 < len)
				i++;
			if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f || o + 1 >= size)
				return MAVIS_ERR_PARSE;
			buf[o++] = v[i];
		}
		if (i >= len)
			return MAVIS_ERR_PARSE;
	} else {
		/* a value token ends at white space, ';' or a comment */
		for (; i < len; i++) {
			char c = v[i];

			if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '(' ||
			    c == '"' || (unsigned char)c < 0x21 || c == 0x7f)
				break;
			if (o + 1 >= size)
				return MAVIS_ERR_PARSE;
			buf[o++] = c;
		}
	}
	buf[o] = '\0';
	return o > 0 ? 0 : MAVIS_ERR_PARSE;
}
