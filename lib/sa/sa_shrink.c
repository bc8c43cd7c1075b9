/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sa_shrink.c - bounded repeats of big groups as subroutine calls, for PCRE2's size limit */

/*
 * PCRE2 (LINK_SIZE 2, as Debian builds it) compiles a bounded repeat such
 * as (?:X){1,3} by copying X three times, and a compiled pattern cannot
 * exceed 64 KiB; ReplaceTags rules nest such repeats (FF_ALL inside
 * {1,3}), which Perl compiles without copying. Rewriting
 *   (?:X){m,n}  as  (?:(?<_sN>X)(?&_sN){m-1,n-1})      (m >= 1)
 *   (?:X){0,n}  as  (?:(?<_sN>X)(?&_sN){0,n-1})?
 * keeps X once. Since PCRE2 10.30 a subroutine call backtracks like any
 * group, so the language matched is the same; only the numbering of
 * capture groups changes, so patterns with back references or recursion
 * are left alone, as are repeats inside lookbehinds, possessive repeats
 * and extended-mode patterns.
 */

#include <stdlib.h>
#include <string.h>

#include <mavis/buf.h>

#include "sa_int.h"

#define SHRINK_MIN 64	/* bodies shorter than this are cheap to copy */

struct shr {
	const char *p;
	bool bad;		/* give up: back reference, recursion, x mode, ... */
	unsigned names;
	unsigned behind;	/* inside a lookbehind */
};

static void seq(struct shr *s, struct mavis_buf *out, int depth);

static bool
isdig(char c)
{
	return c >= '0' && c <= '9';
}

static long
num(const char **q)
{
	long v = 0;

	while (isdig(**q)) {
		if (v < 100000)
			v = v * 10 + (**q - '0');
		(*q)++;
	}
	return v;
}

/* {m}, {m,}, {m,n} at p: lengths and bounds (n = -1: unbounded) */
static size_t
quant(const char *p, long *m, long *n)
{
	const char *q = p + 1;

	if (*p != '{' || !isdig(*q))
		return 0;
	*m = num(&q);
	*n = *m;
	if (*q == ',') {
		q++;
		*n = isdig(*q) ? num(&q) : -1;
	}
	if (*q != '}')
		return 0;
	return (size_t)(q + 1 - p);
}

static void
copy_class(struct shr *s, struct mavis_buf *out)
{
	const char *p = s->p;

	mavis_buf_putc(out, *p++);	/* [ */
	if (*p == '^')
		mavis_buf_putc(out, *p++);
	if (*p == ']')
		mavis_buf_putc(out, *p++);
	while (*p && *p != ']') {
		if (*p == '\\' && p[1]) {
			mavis_buf_append(out, p, 2);
			p += 2;
		} else if (*p == '[' && p[1] == ':') {
			const char *e = strstr(p + 2, ":]");

			if (e == NULL) {
				mavis_buf_putc(out, *p++);
				continue;
			}
			mavis_buf_append(out, p, (size_t)(e + 2 - p));
			p = e + 2;
		} else {
			mavis_buf_putc(out, *p++);
		}
	}
	if (*p == ']')
		mavis_buf_putc(out, *p++);
	else
		s->bad = true;
	s->p = p;
}

static void
group(struct shr *s, struct mavis_buf *out, int depth)
{
	const char *p = s->p;	/* at '(' */
	bool plain = false, lookbehind = false;
	size_t open = 1;

	if (p[1] == '?') {
		if (p[2] == ':') {
			plain = true;
			open = 3;
		} else if (p[2] == '#') {
			const char *e = strchr(p, ')');

			if (e == NULL) {
				s->bad = true;
				return;
			}
			mavis_buf_append(out, p, (size_t)(e + 1 - p));
			s->p = e + 1;
			return;
		} else if (p[2] == '<' && (p[3] == '=' || p[3] == '!')) {
			lookbehind = true;
			open = 4;
		} else if (p[2] == '=' || p[2] == '!' || p[2] == '>' || p[2] == '|') {
			open = 3;
		} else if (p[2] == 'P' || p[2] == 'R' || p[2] == '&' || isdig(p[2]) || p[2] == '+' ||
			   p[2] == '(' || p[2] == '<' || p[2] == '\'') {
			s->bad = true;	/* named groups, recursion, conditions */
			return;
		} else {
			/* (?flags) or (?flags:...) */
			const char *q = p + 2;

			while (*q && *q != ')' && *q != ':')
				q++;
			if (*q == '\0') {
				s->bad = true;
				return;
			}
			if (*q == ')') {
				/* an option setting; x mode makes white space and # special */
				for (const char *f = p + 2; f < q; f++)
					if (*f == 'x')
						s->bad = true;
				mavis_buf_append(out, p, (size_t)(q + 1 - p));
				s->p = q + 1;
				return;
			}
			for (const char *f = p + 2; f < q; f++)
				if (*f == 'x')
					s->bad = true;
			open = (size_t)(q + 1 - p);
		}
	}
	struct mavis_buf inner = { 0 };

	s->p = p + open;
	if (lookbehind)
		s->behind++;
	seq(s, &inner, depth + 1);
	if (lookbehind)
		s->behind--;
	if (*s->p != ')') {
		s->bad = true;
		mavis_buf_free(&inner);
		return;
	}
	s->p++;
	long m = 0, n = 0;
	size_t ql = quant(s->p, &m, &n);
	const char *body = inner.len ? mavis_buf_str(&inner) : "";
	bool big = inner.len >= SHRINK_MIN || strstr(body, "(?<_s") != NULL;

	if (plain && ql && s->p[ql] != '+' && !s->behind && (n < 0 || n > 1) && big) {
		bool lazy = s->p[ql] == '?';
		unsigned id = s->names++;

		mavis_buf_printf(out, "(?:(?<_s%u>%s)", id, body);
		long m1 = m >= 1 ? m - 1 : 0, n1 = n < 0 ? -1 : n - 1;

		if (n1 < 0)
			mavis_buf_printf(out, "(?&_s%u){%ld,}", id, m1);
		else if (n1 > 0)
			mavis_buf_printf(out, "(?&_s%u){%ld,%ld}", id, m1, n1);
		if (lazy && n1 != 0)
			mavis_buf_putc(out, '?');
		mavis_buf_putc(out, ')');
		if (m == 0)
			mavis_buf_puts(out, lazy ? "??" : "?");
		s->p += ql + (lazy ? 1 : 0);
	} else {
		mavis_buf_append(out, p, open);
		mavis_buf_puts(out, body);
		mavis_buf_putc(out, ')');
	}
	mavis_buf_free(&inner);
}

static void
seq(struct shr *s, struct mavis_buf *out, int depth)
{
	if (depth > 200) {
		s->bad = true;
		return;
	}
	while (*s->p && !s->bad) {
		const char *p = s->p;

		if (*p == ')')
			return;
		if (*p == '\\') {
			if (p[1] == '\0') {
				s->bad = true;
				return;
			}
			/* back references (\1, \g, \k) pin the group numbers */
			if ((p[1] >= '1' && p[1] <= '9') || p[1] == 'g' || p[1] == 'k') {
				s->bad = true;
				return;
			}
			if (p[1] == 'Q') {
				const char *e = strstr(p + 2, "\\E");
				size_t n = e ? (size_t)(e + 2 - p) : strlen(p);

				mavis_buf_append(out, p, n);
				s->p = p + n;
				continue;
			}
			mavis_buf_append(out, p, 2);
			s->p = p + 2;
		} else if (*p == '[') {
			copy_class(s, out);
		} else if (*p == '(') {
			group(s, out, depth);
		} else {
			mavis_buf_putc(out, *p);
			s->p = p + 1;
		}
	}
}

char *
sa_regex_shrink(const char *pat, const char *flags)
{
	struct shr s = { .p = pat };
	struct mavis_buf out = { 0 };
	char *r = NULL;

	if (strchr(flags, 'x') != NULL)
		return NULL;
	seq(&s, &out, 0);
	if (!s.bad && *s.p == '\0' && s.names > 0)
		r = strdup(out.len ? mavis_buf_str(&out) : "");
	mavis_buf_free(&out);
	return r;
}
