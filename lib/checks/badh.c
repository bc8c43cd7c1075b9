/* SPDX-License-Identifier: GPL-2.0-or-later */
/* badh.c - amavisd-new bad-header checks (CC_BADH minors 1-8) */

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <mavis/badh.h>
#include <mavis/buf.h>
#include <mavis/log.h>

/* Section-level fields, in amavisd's order (RFC 5322, RFC 2045, RFC 2183).
   The first two are also the required ones. */
static const char *const single_fields[] = {
	"Date", "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Subject",
	"Message-ID", "References", "In-Reply-To", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding", "Content-ID", "Content-Description",
	"Content-Disposition", "Auto-Submitted",
};
#define N_SINGLE (sizeof(single_fields) / sizeof(single_fields[0]))
#define N_REQUIRED 2

/* Room for every finding the algorithm can produce. */
#define MAX_ALL (MAVIS_BADH_MAX_FINDINGS + N_SINGLE + 1)

/* Longest excerpt kept in a text. amavisd keeps whole fields for syntax
   errors; its header writer cuts lines at 998 anyway, so nothing useful is
   lost and a 10 MB field does not become a 10 MB finding. */
#define EXCERPT_MAX 998

struct mavis_badh_result {
	struct mavis_arena *arena;
	struct mavis_badh_finding v[MAX_ALL];
	size_t n;
	enum mavis_badh_minor header_minor;
	bool mime;
	bool mime_done;
	const char *alert;
};

static const struct {
	const char *key;
	unsigned bit;
} test_keys[] = {
	{"other", MAVIS_BADH_T_OTHER}, {"mime", MAVIS_BADH_T_MIME},
	{"8bit", MAVIS_BADH_T_8BIT}, {"control", MAVIS_BADH_T_CONTROL},
	{"empty", MAVIS_BADH_T_EMPTY}, {"long", MAVIS_BADH_T_LONG},
	{"syntax", MAVIS_BADH_T_SYNTAX}, {"missing", MAVIS_BADH_T_MISSING},
	{"multiple", MAVIS_BADH_T_MULTIPLE}, {"utf8", MAVIS_BADH_T_UTF8},
};

static unsigned char
ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

static bool
ieq(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);

	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i]))
			return false;
	return true;
}

unsigned
mavis_badh_test_bit(const char *key)
{
	for (size_t i = 0; i < sizeof(test_keys) / sizeof(test_keys[0]); i++)
		if (ieq(key, strlen(key), test_keys[i].key))
			return test_keys[i].bit;
	return 0;
}

/* is_valid_utf8 - RFC 3629 strict, as amavisd's is_valid_utf_8 */
static bool
is_valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t tail;
		unsigned char lo = 0x80, hi = 0xBF;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			tail = 1;
		} else if (c == 0xE0) {
			tail = 2;
			lo = 0xA0;
		} else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
			tail = 2;
		} else if (c == 0xED) {
			tail = 2;
			hi = 0x9F;	/* no UTF-16 surrogates */
		} else if (c == 0xF0) {
			tail = 3;
			lo = 0x90;
		} else if (c >= 0xF1 && c <= 0xF3) {
			tail = 3;
		} else if (c == 0xF4) {
			tail = 3;
			hi = 0x8F;
		} else {
			return false;
		}
		if (n - i - 1 < tail)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k <= tail; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xBF)
				return false;
		i += tail + 1;
	}
	return true;
}

/* truncate_utf8 - amavisd's truncate_utf_8: cut to max bytes, then drop
   one trailing partial character */
static size_t
truncate_utf8(const unsigned char *s, size_t len, size_t max)
{
	size_t n = len > max ? max : len;
	size_t k = 0;
	bool nonascii = false;

	for (size_t i = 0; i < n; i++)
		if (s[i] >= 0x80)
			nonascii = true;
	if (!nonascii || n == 0)
		return n;
	/* Count trailing continuation bytes, then look at the lead byte; the
	   alternatives are tried in amavisd's order, only the first applies. */
	while (k < n && k < 5 && s[n - 1 - k] >= 0x80 && s[n - 1 - k] <= 0xBF)
		k++;
	if (k < n) {
		unsigned char lead = s[n - 1 - k];

		if (lead >= 0xC0 && lead <= 0xDF && k == 0)
			return n - 1;
		if (lead >= 0xE0 && lead <= 0xEF && k <= 1)
			return n - 1 - k;
		if (lead >= 0xF0 && lead <= 0xF7 && k <= 2)
			return n - 1 - k;
		if (lead >= 0xF8 && lead <= 0xFB && k <= 3)
			return n - 1 - k;
		if (lead >= 0xFC && lead <= 0xFD && k <= 4)
			return n - 1 - k;
		if (lead == 0xFE && k <= 5)
			return n - 1 - k;
	}
	return n;
}

/* sanitize - amavisd's final pass over each text, plus C-string safety */
static const char *
sanitize(struct mavis_arena *a, const struct mavis_buf *t)
{
	const unsigned char *s = (const unsigned char *)mavis_buf_str(t);
	bool nonascii = false;
	struct mavis_buf out = {0};
	const char *r;

	for (size_t i = 0; i < t->len; i++)
		if (s[i] >= 0x80)
			nonascii = true;
	for (size_t i = 0; i < t->len; i++) {
		unsigned char c = s[i];
		bool esc;

		if (nonascii)
			/* amavisd: s{([^\x20-\x7E] | \\(?=x\{))}{\x{%02X}} */
			esc = c < 0x20 || c > 0x7E ||
			      (c == '\\' && i + 2 < t->len && s[i + 1] == 'x' &&
			       s[i + 2] == '{');
		else
			/* amavisd leaves all-ASCII texts alone; NUL and CR
			   must not reach a C string, a log line or a header. */
			esc = (c < 0x20 && c != '\t' && c != '\n') || c == 0x7F;
		if (esc)
			mavis_buf_printf(&out, "\\x{%02X}", c);
		else
			mavis_buf_putc(&out, (char)c);
	}
	r = mavis_arena_memdup(a, mavis_buf_str(&out), out.len);
	mavis_buf_free(&out);
	return r;
}

static void
push(struct mavis_badh_result *r, enum mavis_badh_minor minor,
     const struct mavis_buf *text, long index)
{
	struct mavis_badh_finding *f;

	MAVIS_ASSERT(r->n < MAX_ALL);
	f = &r->v[r->n++];
	f->minor = minor;
	f->text = sanitize(r->arena, text);
	f->header_index = index;
}

/* append_cut - append an excerpt, cut like amavisd cuts (15 bytes +
   "[...]") when it is longer than max */
static void
append_cut(struct mavis_buf *b, const char *p, size_t len, size_t over, size_t keep)
{
	if (len > over) {
		mavis_buf_append(b, p, truncate_utf8((const unsigned char *)p, len, keep));
		mavis_buf_puts(b, "[...]");
	} else {
		mavis_buf_append(b, p, len);
	}
}

/*
 * excerpt_text - "<msg1>[ (char XX hex)]: <pre><mid><post>" exactly as the
 * tail of amavisd's per-field loop builds it: mid is the offending bytes
 * ending at pos, post is cut to 15 bytes, and a long pre is replaced by
 * "<name>: ..." plus its last 45-len(post) bytes.
 */
static void
excerpt_text(struct mavis_buf *out, const char *msg1, const char *s, size_t slen,
	     const char *fname, size_t fnlen, size_t pos, size_t midlen)
{
	struct mavis_buf mid = {0}, post = {0}, msg2 = {0};
	size_t prelen = pos - midlen;
	size_t postlen = slen - pos;
	long lpre, lpost;

	if (postlen > 0 && s[pos + postlen - 1] == '\n')
		postlen--;	/* chomp */
	append_cut(&mid, s + prelen, midlen, 20, 15);
	append_cut(&post, s + pos, postlen, 20, 15);
	lpre = (long)prelen;
	lpost = (long)post.len;
	if (lpre - (long)fnlen - 2 > 50 - lpost) {
		size_t tail = (size_t)(45 - lpost);

		mavis_buf_append(&msg2, fname, fnlen);
		mavis_buf_puts(&msg2, ": ...");
		mavis_buf_append(&msg2, s + prelen - tail, tail);
	} else {
		mavis_buf_append(&msg2, s, prelen);
	}
	mavis_buf_append(&msg2, mid.data ? mid.data : "", mid.len);
	mavis_buf_append(&msg2, post.data ? post.data : "", post.len);

	mavis_buf_puts(out, msg1);
	if (mid.len > 0 && mid.len <= 4) {
		mavis_buf_puts(out, " (char ");
		for (size_t i = 0; i < mid.len; i++)
			mavis_buf_printf(out, "%s%02X", i ? " " : "",
					 (unsigned char)mid.data[i]);
		mavis_buf_puts(out, " hex)");
	}
	mavis_buf_puts(out, ": ");
	append_cut(out, mavis_buf_str(&msg2), msg2.len, EXCERPT_MAX, EXCERPT_MAX - 5);
	mavis_buf_free(&mid);
	mavis_buf_free(&post);
	mavis_buf_free(&msg2);
}

/* field_name_len - amavisd's /^([!-9;-\x7E\x80-\xFF]+)[ \t]*:/; 0 = none */
static size_t
field_name_len(const unsigned char *s, size_t n)
{
	size_t i = 0, j;

	while (i < n && ((s[i] >= '!' && s[i] <= '9') || (s[i] >= ';' && s[i] <= 0x7E) ||
			 s[i] >= 0x80))
		i++;
	if (i == 0)
		return 0;
	j = i;
	while (j < n && (s[j] == ' ' || s[j] == '\t'))
		j++;
	return (j < n && s[j] == ':') ? i : 0;
}

/* find_blank_line - first continuation line made of SP/TAB only
   (/^([ \t]+)(?=\n|\z)/m); sets *pos to its end and *len to its length */
static bool
find_blank_line(const char *s, size_t n, size_t *pos, size_t *len)
{
	size_t ls = 0;

	while (ls < n) {
		size_t j = ls;
		const char *nl;

		while (j < n && (s[j] == ' ' || s[j] == '\t'))
			j++;
		if (j > ls && (j == n || s[j] == '\n')) {
			*pos = j;
			*len = j - ls;
			return true;
		}
		nl = memchr(s + j, '\n', n - j);
		if (nl == NULL)
			break;
		ls = (size_t)(nl - s) + 1;
	}
	return false;
}

/* find_long_line - first line of 999 or more bytes (/^([^\n]{999,})/m) */
static bool
find_long_line(const char *s, size_t n, size_t *start, size_t *len)
{
	size_t ls = 0;

	while (ls < n) {
		const char *nl = memchr(s + ls, '\n', n - ls);
		size_t le = nl ? (size_t)(nl - s) : n;

		if (le - ls >= 999) {
			*start = ls;
			*len = le - ls;
			return true;
		}
		ls = le + 1;
	}
	return false;
}

/* find_byte - first byte for which pred holds; n when none */
static size_t
find_byte(const unsigned char *s, size_t n, bool (*pred)(unsigned char))
{
	for (size_t i = 0; i < n; i++)
		if (pred(s[i]))
			return i;
	return n;
}

static bool
is_nul_or_cr(unsigned char c)
{
	return c == 0 || c == '\r';
}

static bool
is_nonascii(unsigned char c)
{
	return c >= 0x80;
}

static bool
is_c0(unsigned char c)
{
	return c <= 0x08 || (c >= 0x0B && c <= 0x1F) || c == 0x7F;
}

/* find_c1 - first UTF-8 encoded C1 control, amavisd's pattern
   (?: \xC2 | \xE0 \x82 | \xF0 \x80 \x82 ) [\x80-\x9F] */
static bool
find_c1(const unsigned char *s, size_t n, size_t *pos, size_t *len)
{
	for (size_t i = 0; i < n; i++) {
		size_t k;

		if (s[i] == 0xC2)
			k = 1;
		else if (s[i] == 0xE0 && i + 1 < n && s[i + 1] == 0x82)
			k = 2;
		else if (s[i] == 0xF0 && i + 2 < n && s[i + 1] == 0x80 && s[i + 2] == 0x82)
			k = 3;
		else
			continue;
		if (i + k < n && s[i + k] >= 0x80 && s[i + k] <= 0x9F) {
			*pos = i + k + 1;
			*len = k + 1;
			return true;
		}
	}
	return false;
}

/* find_utf8_char - first multi-byte character, amavisd's loose pattern */
static bool
find_utf8_char(const unsigned char *s, size_t n, size_t *pos, size_t *len)
{
	for (size_t i = 0; i < n; i++) {
		size_t k;

		if (s[i] >= 0xC0 && s[i] <= 0xDF)
			k = 1;
		else if (s[i] >= 0xE0 && s[i] <= 0xEF)
			k = 2;
		else if (s[i] >= 0xF0 && s[i] <= 0xF4)
			k = 3;
		else
			continue;
		if (n - i - 1 < k)
			continue;
		size_t m = 1;

		while (m <= k && s[i + m] >= 0x80 && s[i + m] <= 0xBF)
			m++;
		if (m > k) {
			*pos = i + k + 1;
			*len = k + 1;
			return true;
		}
	}
	return false;
}

/* lf_form - the field as amavisd holds it: CRLF line ends as LF, and a
   final LF */
static void
lf_form(struct mavis_buf *b, const struct mavis_header_field *f)
{
	const char *p = f->raw;
	size_t n = f->rawlen, run = 0;

	mavis_buf_reset(b);
	for (size_t i = 0; i + 1 < n; i++) {
		if (p[i] == '\r' && p[i + 1] == '\n') {
			mavis_buf_append(b, p + run, i - run);
			run = i + 1;
		}
	}
	mavis_buf_append(b, p + run, n - run);
	mavis_buf_putc(b, '\n');
}

/* check_field - amavisd's tests on one field; true if it produced a finding */
static bool
check_field(struct mavis_badh_result *r, const struct mavis_buf *lf, unsigned allowed,
	    bool smtputf8, long index, size_t *counts)
{
	const char *s = mavis_buf_str(lf);
	const unsigned char *u = (const unsigned char *)s;
	size_t n = lf->len;
	size_t fnlen = field_name_len(u, n);
	const char *msg1 = NULL;
	enum mavis_badh_minor minor = MAVIS_BADH_NONE;
	size_t pos = 0, midlen = 0, i;
	struct mavis_buf text = {0};

	if (fnlen > 0)
		for (i = 0; i < N_SINGLE; i++)
			if (ieq(s, fnlen, single_fields[i]))
				counts[i]++;
	if (fnlen == 0 || (fnlen >= 2 && s[0] == '-' && s[1] == '-')) {
		/* amavisd stops here even when the syntax test is off. */
		if (!(allowed & MAVIS_BADH_T_SYNTAX))
			return false;
		mavis_buf_puts(&text, "Invalid header field syntax: ");
		append_cut(&text, s, n, EXCERPT_MAX, EXCERPT_MAX - 5);
		push(r, MAVIS_BADH_SYNTAX, &text, index);
		mavis_buf_free(&text);
		if (r->header_minor < MAVIS_BADH_SYNTAX)
			r->header_minor = MAVIS_BADH_SYNTAX;
		return true;
	}
	if ((allowed & MAVIS_BADH_T_SYNTAX) &&
	    (i = find_byte(u, fnlen, is_nonascii)) < fnlen) {
		/* amavisd takes pos() of the wrong string here and garbles the
		   excerpt; this points at the byte it names. */
		msg1 = "Invalid header field name, contains non-ASCII char";
		minor = MAVIS_BADH_SYNTAX;
		pos = i + 1;
		midlen = 1;
	} else if ((allowed & MAVIS_BADH_T_EMPTY) && find_blank_line(s, n, &pos, &midlen)) {
		msg1 = "Improper folded header field made up entirely of whitespace";
		minor = MAVIS_BADH_EMPTY;
	} else if ((allowed & MAVIS_BADH_T_LONG) && find_long_line(s, n, &pos, &midlen)) {
		/* The whole line is the excerpt: 50 bytes and "[...]". */
		mavis_buf_puts(&text, "Header line longer than 998 characters: ");
		mavis_buf_append(&text, s + pos, 50);
		mavis_buf_puts(&text, "[...]");
		push(r, MAVIS_BADH_LONG, &text, index);
		mavis_buf_free(&text);
		if (r->header_minor < MAVIS_BADH_LONG)
			r->header_minor = MAVIS_BADH_LONG;
		return true;
	} else if ((allowed & MAVIS_BADH_T_CONTROL) &&
		   (i = find_byte(u, n, is_nul_or_cr)) < n) {
		msg1 = "Improper use of control character";
		minor = MAVIS_BADH_CONTROL;
		pos = i + 1;
		midlen = 1;
	} else if ((allowed & MAVIS_BADH_T_8BIT) && (i = find_byte(u, n, is_nonascii)) < n) {
		size_t p2, l2;

		pos = i + 1;
		midlen = 1;
		if (!is_valid_utf8(u, n)) {
			msg1 = "Non-encoded non-ASCII data (and not UTF-8)";
		} else if ((i = find_byte(u, n, is_c0)) < n) {
			/* TAB and LF are allowed. amavisd anchors this test at
			   the string start after a /g match, so it never fires
			   there; this is the test as its comment means it. */
			msg1 = "UTF-8 string contains C0 Controls";
			pos = i + 1;
			midlen = 1;
		} else if (find_c1(u, n, &p2, &l2)) {
			/* RFC 5198 prohibits C1 controls in Net-Unicode. */
			msg1 = "UTF-8 string contains C1 Controls";
			pos = p2;
			midlen = l2;
		} else if (smtputf8) {
			/* UTF-8 field bodies are valid with SMTPUTF8. */
		} else if (allowed & MAVIS_BADH_T_UTF8) {
			msg1 = "Non-encoded UTF-8 string in non-EAI mail";
			if (find_utf8_char(u, n, &p2, &l2)) {
				pos = p2;
				midlen = l2;
			}
		}
		if (msg1 != NULL)
			minor = MAVIS_BADH_8BIT;
	}
	if (msg1 == NULL)
		return false;
	excerpt_text(&text, msg1, s, n, s, fnlen, pos, midlen);
	push(r, minor, &text, index);
	mavis_buf_free(&text);
	if (r->header_minor < minor)
		r->header_minor = minor;
	return true;
}

/* set_alert - "BAD HEADER SECTION, <first>", unfolded as amavisd's
   wrap_string does before it folds again */
static void
set_alert(struct mavis_badh_result *r)
{
	struct mavis_buf b = {0};
	const char *t;
	size_t n;

	if (r->n == 0 || r->alert != NULL)
		return;
	t = r->v[0].text;
	n = strlen(t);
	mavis_buf_puts(&b, "BAD HEADER SECTION, ");
	for (size_t i = 0; i < n; i++) {
		if (t[i] != '\n')
			mavis_buf_putc(&b, t[i]);
		else if (i + 1 < n && (t[i + 1] == ' ' || t[i + 1] == '\t'))
			continue;	/* a fold: the WSP after it stays */
		else
			mavis_buf_putc(&b, ' ');
	}
	while (b.len > 0 && (b.data[b.len - 1] == ' ' || b.data[b.len - 1] == '\t'))
		b.data[--b.len] = '\0';
	r->alert = mavis_arena_memdup(r->arena, b.data, b.len);
	mavis_buf_free(&b);
}

struct mavis_badh_result *
mavis_badh_check(const struct mavis_headers *h, unsigned allowed, bool smtputf8,
		 const char *mime_error, struct mavis_arena *a)
{
	struct mavis_badh_result *r = mavis_arena_alloc(a, sizeof(*r));
	size_t counts[N_SINGLE] = {0};
	size_t nfield = 0, nh = mavis_headers_count(h);
	struct mavis_buf lf = {0};
	struct mavis_buf text = {0};

	r->arena = a;
	for (size_t i = 0; i < nh; i++) {
		const struct mavis_header_field *f = mavis_headers_nth(h, i);

		if (nfield >= MAVIS_BADH_MAX_FINDINGS) {
			/* amavisd leaves its loop here and so also stops
			   counting names, which reports fields further down as
			   missing; keep counting, test no more. The name sits
			   on the first line, so the raw bytes do. */
			size_t fnlen = field_name_len((const unsigned char *)f->raw,
						      f->rawlen);

			for (size_t k = 0; fnlen > 0 && k < N_SINGLE; k++)
				if (ieq(f->raw, fnlen, single_fields[k]))
					counts[k]++;
			continue;
		}
		lf_form(&lf, f);
		if (check_field(r, &lf, allowed, smtputf8, (long)i, counts))
			nfield++;
	}
	mavis_buf_free(&lf);
	for (size_t k = 0; k < N_SINGLE; k++) {
		enum mavis_badh_minor minor;

		mavis_buf_reset(&text);
		if (counts[k] == 0 && (allowed & MAVIS_BADH_T_MISSING) && k < N_REQUIRED) {
			mavis_buf_printf(&text, "Missing required header field: \"%s\"",
					 single_fields[k]);
			minor = MAVIS_BADH_MISSING;
		} else if (counts[k] > 1 && (allowed & MAVIS_BADH_T_MULTIPLE)) {
			if (counts[k] == 2)
				mavis_buf_printf(&text, "Duplicate header field: \"%s\"",
						 single_fields[k]);
			else
				mavis_buf_printf(&text, "Header field occurs more than once: "
						 "\"%s\" occurs %zu times",
						 single_fields[k], counts[k]);
			minor = MAVIS_BADH_MULTIPLE;
		} else {
			continue;
		}
		push(r, minor, &text, -1);
		if (r->header_minor < minor)
			r->header_minor = minor;
	}
	mavis_buf_free(&text);
	mavis_badh_add_mime_error(r, allowed, mime_error);
	set_alert(r);
	return r;
}

void
mavis_badh_add_mime_error(struct mavis_badh_result *r, unsigned allowed,
			  const char *mime_error)
{
	struct mavis_buf text = {0};

	if (r->mime_done || !(allowed & MAVIS_BADH_T_MIME) || mime_error == NULL ||
	    mime_error[0] == '\0')
		return;
	r->mime_done = true;
	r->mime = true;
	mavis_buf_puts(&text, "MIME error: ");
	append_cut(&text, mime_error, strlen(mime_error), EXCERPT_MAX, EXCERPT_MAX - 5);
	push(r, MAVIS_BADH_MIME, &text, -1);
	mavis_buf_free(&text);
	set_alert(r);
}

size_t
mavis_badh_count(const struct mavis_badh_result *r)
{
	return r->n;
}

const struct mavis_badh_finding *
mavis_badh_nth(const struct mavis_badh_result *r, size_t i)
{
	return i < r->n ? &r->v[i] : NULL;
}

enum mavis_badh_minor
mavis_badh_minor(const struct mavis_badh_result *r)
{
	if (r->header_minor != MAVIS_BADH_NONE)
		return r->header_minor;
	return r->mime ? MAVIS_BADH_MIME : MAVIS_BADH_NONE;
}

enum mavis_badh_minor
mavis_badh_header_minor(const struct mavis_badh_result *r)
{
	return r->header_minor;
}

bool
mavis_badh_has_mime_error(const struct mavis_badh_result *r)
{
	return r->mime;
}

const char *
mavis_badh_first(const struct mavis_badh_result *r)
{
	return r->n ? r->v[0].text : NULL;
}

const char *
mavis_badh_alert(const struct mavis_badh_result *r)
{
	return r->alert;
}

const char *
mavis_badh_reason(enum mavis_badh_minor minor)
{
	/* %smtp_reason_by_ccat, Conf.pm, CC_BADH,1..8 and CC_BADH. */
	switch (minor) {
	case MAVIS_BADH_MIME: return "BAD HEADER: MIME error";
	case MAVIS_BADH_8BIT: return "BAD HEADER: nonencoded 8-bit character";
	case MAVIS_BADH_CONTROL: return "BAD HEADER: contains invalid control character";
	case MAVIS_BADH_EMPTY: return "BAD HEADER: line made up entirely of whitespace";
	case MAVIS_BADH_LONG: return "BAD HEADER: line longer than RFC 5322 limit";
	case MAVIS_BADH_SYNTAX: return "BAD HEADER: syntax error";
	case MAVIS_BADH_MISSING: return "BAD HEADER: missing required header field";
	case MAVIS_BADH_MULTIPLE: return "BAD HEADER: duplicate header field";
	case MAVIS_BADH_NONE: break;
	}
	return "BAD HEADER";
}

const char *
mavis_badh_smtp_status(enum mavis_badh_minor minor)
{
	return minor == MAVIS_BADH_8BIT ? "554 5.6.3" : "554 5.6.0";
}
