/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mime_params.c - parameters read from raw Content-Type/-Disposition text */

/*
 * GMime gives one value per parameter name. Attacks on filters exploit the
 * cases where parsers disagree (CVE-2024-28054: two boundary= parameters;
 * filename= next to a different filename*=), so these helpers read the raw
 * header text themselves and report every occurrence.
 */

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include <mavis/alloc.h>
#include <mavis/buf.h>

#include "decode/decode_int.h"

#define MAX_SECTIONS 32		/* RFC 2231 continuations kept per name */

struct param {
	const char *name;
	size_t name_len;
	const char *value;	/* raw: inside the quotes when quoted */
	size_t value_len;
	bool quoted;
};

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Skip white space and (nested) comments. */
static size_t
skip_cfws(const char *s, size_t len, size_t i)
{
	while (i < len) {
		if (is_ws(s[i])) {
			i++;
		} else if (s[i] == '(') {
			unsigned depth = 0;

			for (; i < len; i++) {
				if (s[i] == '\\' && i + 1 < len)
					i++;
				else if (s[i] == '(')
					depth++;
				else if (s[i] == ')' && --depth == 0) {
					i++;
					break;
				}
			}
		} else {
			break;
		}
	}
	return i;
}

/* Index of the next ';' outside quotes and comments, or len. */
static size_t
next_semicolon(const char *s, size_t len, size_t i)
{
	bool quoted = false;

	for (; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len)
			i++;
		else if (s[i] == '"')
			quoted = !quoted;
		else if (s[i] == ';' && !quoted)
			return i;
	}
	return len;
}

/* Next parameter at or after *pos (which is 0 or at a ';'). */
static bool
next_param(const char *s, size_t len, size_t *pos, struct param *p)
{
	size_t i = *pos;

	if (i == 0)
		i = next_semicolon(s, len, 0);	/* skip the type/subtype or disposition */
	while (i < len) {
		size_t n0;

		i = skip_cfws(s, len, i + 1);	/* past ';' */
		n0 = i;
		while (i < len && s[i] != '=' && s[i] != ';' && s[i] != '(' && !is_ws(s[i]))
			i++;
		p->name = s + n0;
		p->name_len = i - n0;
		i = skip_cfws(s, len, i);
		if (p->name_len == 0 || i >= len || s[i] != '=') {
			i = next_semicolon(s, len, i);
			continue;
		}
		i = skip_cfws(s, len, i + 1);
		if (i < len && s[i] == '"') {
			size_t v0 = ++i;

			while (i < len && s[i] != '"') {
				if (s[i] == '\\' && i + 1 < len)
					i++;
				i++;
			}
			p->value = s + v0;
			p->value_len = i - v0;
			p->quoted = true;
			if (i < len)
				i++;	/* the closing quote */
		} else {
			size_t v0 = i, end;

			/* Unquoted values with spaces are common in the wild:
			   take everything up to the ';'. */
			i = next_semicolon(s, len, i);
			end = i;
			while (end > v0 && is_ws(s[end - 1]))
				end--;
			p->value = s + v0;
			p->value_len = end - v0;
			p->quoted = false;
		}
		*pos = next_semicolon(s, len, i);
		return true;
	}
	*pos = len;
	return false;
}

/* How the parameter name relates to want: 0 no, 1 plain, 2 extended
   (name*), 3 section (name*N or name*N*), with *section and *ext set. */
static int
name_kind(const struct param *p, const char *want, unsigned *section, bool *ext)
{
	size_t wl = strlen(want);
	const char *r;
	size_t rl;

	if (p->name_len < wl || strncasecmp(p->name, want, wl) != 0)
		return 0;
	r = p->name + wl;
	rl = p->name_len - wl;
	*ext = false;
	if (rl == 0)
		return 1;
	if (r[0] != '*')
		return 0;
	if (rl == 1) {
		*ext = true;
		return 2;
	}
	r++, rl--;
	*section = 0;
	for (; rl > 0 && isdigit((unsigned char)*r); r++, rl--)
		*section = *section > 1000 ? *section : *section * 10 + (unsigned)(*r - '0');
	if (rl == 1 && *r == '*')
		*ext = true;
	else if (rl != 0)
		return 0;
	return 3;
}

static bool
perl_word(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static bool
perl_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/*
 * amavisd-new 2.13 with MIME-tools before 5.514 (Debian 12 has 5.510):
 * Amavis::Unpackers::MIME::ambiguous_content matches the first line of
 * the value against m{^multipart/\w+(.+)} and then counts, from the start
 * of what follows the subtype, consecutive m{\G ; \s+ (\w+) = (?: \w+ |
 * "(?:\\.|[^"\\])*" )}gx with a name of "boundary" in any case. The
 * first text that does not fit (no blank after ';', a value with '-' in
 * it, a folded line) ends the count. Mirrored here character for
 * character, because the point is to flag exactly what amavisd flags.
 */
unsigned
mavis_dec_boundary_count(const char *raw, size_t len)
{
	const char *s = raw, *end = raw + len, *eol;
	unsigned n = 0;

	/* Mail::Header's get() drops the blanks before the value */
	while (s < end && perl_space(*s))
		s++;
	eol = memchr(s, '\n', (size_t)(end - s));
	if (eol != NULL)
		end = eol;	/* '.' does not match a newline */
	if ((size_t)(end - s) < 10 || memcmp(s, "multipart/", 10) != 0)
		return 0;
	s += 10;
	if (s == end || !perl_word(*s))
		return 0;
	while (s < end && perl_word(*s))
		s++;
	/* (.+) needs a character: \w+ gives its last one back */
	if (s == end)
		return 0;
	while (s < end && *s == ';') {
		const char *name, *q = s + 1;
		size_t nlen;

		if (q == end || !perl_space(*q))
			break;
		while (q < end && perl_space(*q))
			q++;
		name = q;
		while (q < end && perl_word(*q))
			q++;
		nlen = (size_t)(q - name);
		if (nlen == 0 || q == end || *q != '=')
			break;
		q++;
		if (q < end && perl_word(*q)) {
			while (q < end && perl_word(*q))
				q++;
		} else if (q < end && *q == '"') {
			q++;
			while (q < end && *q != '"') {
				if (*q == '\\' && ++q == end)
					break;	/* a lone backslash closes nothing */
				q++;
			}
			if (q == end)
				break;	/* no closing quote on this line */
			q++;
		} else {
			break;
		}
		if (nlen == 8 && strncasecmp(name, "boundary", 8) == 0)
			n++;
		s = q;
	}
	return n;
}

/* Remove quoted-pair backslashes into b. */
static void
unquote(struct mavis_buf *b, const char *v, size_t len, bool quoted)
{
	for (size_t i = 0; i < len; i++) {
		if (quoted && v[i] == '\\' && i + 1 < len)
			i++;
		mavis_buf_putc(b, v[i]);
	}
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* RFC 2231 %XX decoding (invalid escapes are kept as they are). */
static void
pct_decode(struct mavis_buf *b, const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int h, l;

		if (v[i] == '%' && i + 2 < len && (h = hexval(v[i + 1])) >= 0 &&
		    (l = hexval(v[i + 2])) >= 0) {
			mavis_buf_putc(b, (char)(h * 16 + l));
			i += 2;
		} else {
			mavis_buf_putc(b, v[i]);
		}
	}
}

/* Add bytes in charset (NULL or unknown: taken as they are) as a name. */
static void
add_charset_name(struct mavis_dec *d, struct mavis_dec_part *p, const char *charset,
		 const char *bytes, size_t len)
{
	char *conv = NULL;
	gsize outlen = 0;

	/* Only plausible charset names reach iconv_open(). */
	if (charset != NULL && *charset != '\0' &&
	    strspn(charset, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:") ==
		    strlen(charset) &&
	    g_ascii_strcasecmp(charset, "utf-8") != 0 && g_ascii_strcasecmp(charset, "us-ascii") != 0)
		conv = g_convert(bytes, (gssize)len, "UTF-8", charset, NULL, &outlen, NULL);
	if (conv != NULL) {
		mavis_dec_add_name(d, p, conv, outlen);
		g_free(conv);
	} else {
		mavis_dec_add_name(d, p, bytes, len);
	}
}

/* A plain value: RFC 2047 decoded first when it has encoded words (amavisd
   runs decode_mimewords on every value), then the raw text. */
static void
add_plain(struct mavis_dec *d, struct mavis_dec_part *p, const char *v, size_t len)
{
	if (memmem(v, len, "=?", 2) != NULL) {
		char *tmp = mavis_xstrndup(v, len);
		char *dec = g_mime_utils_header_decode_text(NULL, tmp);

		if (dec != NULL) {
			mavis_dec_add_name(d, p, dec, strlen(dec));
			g_free(dec);
		}
		free(tmp);
	}
	mavis_dec_add_name(d, p, v, len);
}

/* charset'language'%XX... of an extended value: returns the charset (in cs,
   NUL-terminated, empty if none) and the offset of the encoded text. */
static size_t
ext_prefix(const char *v, size_t len, char *cs, size_t cs_size)
{
	const char *q1 = memchr(v, '\'', len);
	const char *q2 = q1 ? memchr(q1 + 1, '\'', len - (size_t)(q1 + 1 - v)) : NULL;
	size_t cl;

	cs[0] = '\0';
	if (q1 == NULL || q2 == NULL)
		return 0;
	cl = (size_t)(q1 - v);
	if (cl < cs_size) {
		memcpy(cs, v, cl);
		cs[cl] = '\0';
	}
	return (size_t)(q2 + 1 - v);
}

void
mavis_dec_param_names(struct mavis_dec *d, struct mavis_dec_part *p, const char *raw,
		      size_t len, const char *name)
{
	struct {
		const char *v;
		size_t len;
		bool ext, quoted;
	} sec[MAX_SECTIONS];
	struct mavis_buf b = { 0 };
	struct param pr;
	size_t pos = 0;
	unsigned nsec = 0;
	char cs[64];

	memset(sec, 0, sizeof(sec));
	while (next_param(raw, len, &pos, &pr)) {
		unsigned section = 0;
		bool ext = false;
		int k = name_kind(&pr, name, &section, &ext);

		if (k == 1) {
			mavis_buf_reset(&b);
			unquote(&b, pr.value, pr.value_len, pr.quoted);
			add_plain(d, p, b.data ? b.data : "", b.len);
		} else if (k == 2) {
			size_t off = ext_prefix(pr.value, pr.value_len, cs, sizeof(cs));

			mavis_buf_reset(&b);
			pct_decode(&b, pr.value + off, pr.value_len - off);
			add_charset_name(d, p, cs, b.data ? b.data : "", b.len);
			mavis_dec_add_name(d, p, pr.value, pr.value_len);
		} else if (k == 3 && section < MAX_SECTIONS && sec[section].v == NULL) {
			sec[section].v = pr.value;
			sec[section].len = pr.value_len;
			sec[section].ext = ext;
			sec[section].quoted = pr.quoted;
			nsec++;
		}
	}
	if (nsec > 0 && sec[0].v != NULL) {
		/* RFC 2231 continuations: sections 0, 1, ... up to the first gap. */
		struct mavis_buf rawcat = { 0 };

		cs[0] = '\0';
		mavis_buf_reset(&b);
		for (unsigned i = 0; i < MAX_SECTIONS && sec[i].v != NULL; i++) {
			size_t off = 0;

			if (i == 0 && sec[0].ext)
				off = ext_prefix(sec[0].v, sec[0].len, cs, sizeof(cs));
			if (sec[i].ext)
				pct_decode(&b, sec[i].v + off, sec[i].len - off);
			else
				unquote(&b, sec[i].v, sec[i].len, sec[i].quoted);
			mavis_buf_append(&rawcat, sec[i].v, sec[i].len);
		}
		add_charset_name(d, p, cs, b.data ? b.data : "", b.len);
		mavis_dec_add_name(d, p, rawcat.data, rawcat.len);
		mavis_buf_free(&rawcat);
	}
	mavis_buf_free(&b);
}
