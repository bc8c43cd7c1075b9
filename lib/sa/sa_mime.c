/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sa_mime.c - MIMEEval's facts about the MIME structure (_check_attachments) */

#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "sa_html.h"
#include "sa_int.h"

#define SA_MIME_SCAN_MAX (4u << 20)	/* raw bytes read per part */

struct mscan {
	struct sa_mime *f;
	struct mavis_arena *a;
	size_t parts, leaves;
	double qp_bytes, qp_count, normal_chars, unicode_chars;
	/* the last text/plain and text/html leaves' bytes (multipart ratio) */
	double text_bytes, html_bytes;
	bool have_text, have_html;
	size_t n_ma;	/* multipart/alternative parts seen */
};

static char *
lower_dup(struct mavis_arena *a, const char *s)
{
	char *d = mavis_arena_strdup(a, s ? s : "");

	for (char *p = d; *p; p++)
		*p = (char)sa_lower((unsigned char)*p);
	/* chomp */
	size_t n = strlen(d);

	while (n > 0 && (d[n - 1] == '\n' || d[n - 1] == '\r'))
		d[--n] = '\0';
	return d;
}

static bool
ascii_charset(const char *cs)
{
	static const char *const names[] = { "us-ascii", "ansi_x3.4-1968", "iso-ir-6",
					     "ansi_x3.4-1986", "iso_646.irv:1991", "ascii",
					     "iso646-us", "us", "ibm367", "cp367", "csascii", NULL };

	/* the Perl pattern is unanchored: any of these inside the name */
	for (int i = 0; names[i]; i++)
		if (strstr(cs, names[i]) != NULL)
			return true;
	return false;
}

/* _check_mime_header */
static void
mime_header(struct mscan *s, const char *ctype, const char *cte, const char *cd, const char *cs)
{
	struct sa_mime *f = s->f;

	if (strcmp(ctype, "text/html") == 0)
		f->body_html_count++;
	else if (strncasecmp(ctype, "text", 4) == 0)
		f->body_text_count++;
	if (strstr(cte, "base64") != NULL)
		f->base64_count++;
	else if (strstr(cte, "quoted-printable") != NULL)
		f->qp_count++;
	if (*cd && strstr(cd, "attachment") != NULL)
		f->attachment++;
	if (strncmp(ctype, "text", 4) == 0 && strstr(cte, "base64") != NULL &&
	    (!*cs || ascii_charset(cs)) &&
	    !(*cd && (strncmp(cd, "attachment", 10) == 0 || strncmp(cd, "inline", 6) == 0)))
		f->base64_encoded_text = true;
	/* /iso-\S+-\S+\b/i && !/iso-(?:8859-\d{1,2}|2022-(?:jp|kr))\b/ */
	const char *iso = strstr(cs, "iso-");

	if (iso != NULL && strchr(iso + 4, '-') != NULL && strncmp(iso, "iso-8859-", 9) != 0 &&
	    strncmp(iso, "iso-2022-jp", 11) != 0 && strncmp(iso, "iso-2022-kr", 11) != 0)
		f->bad_iso_charset = true;
	bool letter = false;

	for (const char *p = cs; *p; p++)
		letter |= sa_isalpha((unsigned char)*p) != 0;
	if (letter)
		f->charsets = f->charsets ? mavis_arena_printf(s->a, "%s %s", f->charsets, cs)
					  : mavis_arena_strdup(s->a, cs);
}

/* QP bytes that need not be encoded: =(?:09|3[0-9ABCEF]|[2456][0-9A-F]|7[0-9A-E]) */
static size_t
qp_excess(const char *l, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i + 2 < n; i++) {
		if (l[i] != '=')
			continue;
		char h = l[i + 1], lo = l[i + 2];
		bool dig = lo >= '0' && lo <= '9', hexu = dig || (lo >= 'A' && lo <= 'F');

		if ((h == '0' && lo == '9') ||
		    (h == '3' && (dig || lo == 'A' || lo == 'B' || lo == 'C' || lo == 'E' || lo == 'F')) ||
		    ((h == '2' || h == '4' || h == '5' || h == '6') && hexu) ||
		    (h == '7' && (dig || (lo >= 'A' && lo <= 'E')))) {
			c++;
			i += 2;
		}
	}
	return c;
}

/* length of the run of =09/=20 before trailing white space at the end */
static size_t
qp_trailing(const char *l, size_t n)
{
	size_t e = n;

	while (e > 0 && sa_isspace((unsigned char)l[e - 1]))
		e--;
	size_t s = e;

	while (s >= 3 && l[s - 3] == '=' && ((l[s - 2] == '0' && l[s - 1] == '9') ||
					     (l[s - 2] == '2' && l[s - 1] == '0')))
		s -= 3;
	return e - s;
}

/* one raw line (len includes the "\n" when there is one) of a leaf */
static void
raw_line(struct mscan *s, const char *l, size_t n, const char *ctype, const char *cte,
	 const char *cd, const char *cs, double *part_bytes, bool b64)
{
	struct sa_mime *f = s->f;

	if (b64 && n > f->base64_length)
		f->base64_length = n;
	if (f->multipart_alternative && part_bytes != NULL &&
	    (strcmp(ctype, "text/plain") == 0 || strcmp(ctype, "text/html") == 0))
		*part_bytes += (double)n;
	(void)cd;
	if (strcmp(cte, "quoted-printable") == 0 && !(n >= 6 && strncmp(l, "SPAM: ", 6) == 0)) {
		if (n > 78 + 1)
			f->qp_long_line = true;
		s->qp_bytes += (double)n;
		if (memchr(l, '=', n) != NULL) {
			size_t q = qp_excess(l, n);

			if (q) {
				s->qp_count += (double)q;
				s->qp_count -= (double)qp_trailing(l, n) / 3;
			}
		}
	}
	if (strcmp(ctype, "text/plain") == 0 && (!*cs || strcmp(cs, "us-ascii") == 0)) {
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)l[i];

			if (c == 0 || c == 0x0d || c >= 0x80) {
				f->ascii_text_illegal++;
				break;
			}
		}
	}
	if (strcmp(ctype, "text/plain") == 0 &&
	    (!*cte || strcmp(cte, "7bit") == 0 || strcmp(cte, "8bit") == 0)) {
		/* s/&#x[0-9A-F]{4};//g */
		size_t subs = 0;

		for (size_t i = 0; i + 8 <= n; i++) {
			if (l[i] != '&' || l[i + 1] != '#' || l[i + 2] != 'x' || l[i + 7] != ';')
				continue;
			bool ok = true;

			for (int k = 3; k < 7; k++) {
				char c = l[i + k];

				ok &= (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
			}
			if (ok) {
				subs++;
				i += 7;
			}
		}
		s->normal_chars += (double)(n - subs * 8);
		s->unicode_chars += (double)subs;
	}
}

static void
scan_leaf_raw(struct mscan *s, GMimePart *part, const char *ctype, const char *cte, const char *cd,
	      const char *cs, double *part_bytes)
{
	GMimeDataWrapper *wr = g_mime_part_get_content(part);
	GMimeStream *st = wr ? g_mime_data_wrapper_get_stream(wr) : NULL;

	if (st == NULL)
		return;
	GMimeStream *mem = g_mime_stream_mem_new();

	g_mime_stream_reset(st);
	(void)g_mime_stream_write_to_stream(st, mem);
	g_mime_stream_reset(st);
	GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	const char *d = (const char *)ba->data;
	size_t len = ba->len < SA_MIME_SCAN_MAX ? ba->len : SA_MIME_SCAN_MAX;
	bool b64 = strcmp(cte, "base64") == 0 && strcmp(ctype, "application/ics") != 0;

	for (size_t p = 0; p < len;) {
		const char *nl = memchr(d + p, '\n', len - p);
		size_t e = nl ? (size_t)(nl - d) + 1 : len;

		/* Message.pm splits lines over MAX_BODY_LINE_LENGTH: 2,048 bytes and "\n" */
		while (e - p > SA_MAX_BODY_LINE + 1) {
			raw_line(s, d + p, SA_MAX_BODY_LINE + 1, ctype, cte, cd, cs, part_bytes, b64);
			p += SA_MAX_BODY_LINE;
		}
		raw_line(s, d + p, e - p, ctype, cte, cd, cs, part_bytes, b64);
		p = e;
	}
	g_object_unref(mem);
}

/* whitespace-separated words that hold a word character, counted: an
   open-addressing table in the arena (at most 20,000 distinct words) */
struct words {
	const char **w;
	size_t *wl;
	unsigned *c;
	size_t n, cap;
};

static size_t
whash(const char *t, size_t n)
{
	size_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)t[i]) * 1099511628211ULL;
	return h;
}

static size_t
wslot(const struct words *ws, const char *t, size_t n)
{
	size_t i = whash(t, n) & (ws->cap - 1);

	while (ws->w[i] != NULL && !(ws->wl[i] == n && memcmp(ws->w[i], t, n) == 0))
		i = (i + 1) & (ws->cap - 1);
	return i;
}

static void
words_grow(struct words *ws, struct mavis_arena *a)
{
	struct words nw = { .cap = ws->cap ? ws->cap * 2 : 256, .n = ws->n };

	nw.w = mavis_arena_calloc(a, nw.cap, sizeof(*nw.w));
	nw.wl = mavis_arena_calloc(a, nw.cap, sizeof(*nw.wl));
	nw.c = mavis_arena_calloc(a, nw.cap, sizeof(*nw.c));
	for (size_t i = 0; i < ws->cap; i++) {
		if (ws->w[i] == NULL)
			continue;
		size_t k = wslot(&nw, ws->w[i], ws->wl[i]);

		nw.w[k] = ws->w[i], nw.wl[k] = ws->wl[i], nw.c[k] = ws->c[i];
	}
	*ws = nw;
}

static unsigned
words_count(const struct words *ws, const char *t, size_t n)
{
	if (ws->cap == 0)
		return 0;
	size_t k = wslot(ws, t, n);

	return ws->w[k] ? ws->c[k] : 0;
}

static void
words_add(struct words *ws, struct mavis_arena *a, const char *t, size_t len)
{
	for (size_t i = 0; i < len;) {
		while (i < len && sa_isspace((unsigned char)t[i]))
			i++;
		size_t st = i;
		bool wc = false;

		while (i < len && !sa_isspace((unsigned char)t[i]))
			wc |= sa_isword((unsigned char)t[i++]) != 0;
		if (i == st || !wc)
			continue;
		if ((ws->n + 1) * 2 > ws->cap) {
			if (ws->n >= 20000)
				continue;
			words_grow(ws, a);
		}
		size_t k = wslot(ws, t + st, i - st);

		if (ws->w[k] == NULL) {
			ws->w[k] = mavis_arena_strndup(a, t + st, i - st);
			ws->wl[k] = i - st;
			ws->n++;
		}
		ws->c[k]++;
	}
}

/* the text leaves under obj, rendered, into html and text words */
static void
madiff_collect(struct mscan *s, GMimeObject *obj, unsigned depth, struct words *html,
	       struct words *text, bool *img)
{
	if (obj == NULL || depth > 30)
		return;
	if (GMIME_IS_MULTIPART(obj)) {
		int n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));

		for (int i = 0; i < n; i++)
			madiff_collect(s, g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), depth + 1,
				       html, text, img);
		return;
	}
	if (!GMIME_IS_PART(obj))
		return;
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	const char *type = ct ? g_mime_content_type_get_media_type(ct) : "text";
	const char *sub = ct ? g_mime_content_type_get_media_subtype(ct) : "plain";

	if (type == NULL || strcasecmp(type, "text") != 0)
		return;
	GMimeDataWrapper *wr = g_mime_part_get_content(GMIME_PART(obj));

	if (wr == NULL)
		return;
	GMimeStream *mem = g_mime_stream_mem_new();

	(void)g_mime_data_wrapper_write_to_stream(wr, mem);
	GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	size_t len = ba->len < SA_MIME_SCAN_MAX ? ba->len : SA_MIME_SCAN_MAX;

	if (sub != NULL && strcasecmp(sub, "html") == 0) {
		struct sa_html *h = NULL;

		if (sa_html_parse((const char *)ba->data, len, s->a, &h) == 0 && h != NULL) {
			size_t rl = 0;
			const char *rt = sa_html_rendered(h, &rl);
			long v;

			words_add(html, s->a, rt, rl);
			if (html->n == 0 && sa_html_inside(h, "img", &v))
				*img = true;
		}
	} else {
		words_add(text, s->a, (const char *)ba->data, len);
	}
	g_object_unref(mem);
}

/* BodyEval _multipart_alternative_difference for one multipart/alternative:
   the share of its HTML words the text part does not have as often */
static void
madiff(struct mscan *s, GMimeObject *obj)
{
	struct words html = { 0 }, text = { 0 };
	bool img = false;

	madiff_collect(s, obj, 0, &html, &text, &img);
	size_t orig = html.n + (html.n == 0 && img);

	if (orig == 0)
		return;
	size_t left = html.n == 0 ? 1 : 0;

	for (size_t i = 0; i < html.cap; i++) {
		if (html.w[i] == NULL)
			continue;
		unsigned tc = words_count(&text, html.w[i], html.wl[i]);

		/* deleted when html - text < 1 */
		if ((long)html.c[i] - (long)tc >= 1)
			left++;
	}
	double diff = (double)left / (double)orig * 100;

	s->f->madiff_html = (double)orig;
	s->f->madiff_text = (double)text.n;
	if (diff > s->f->madiff)
		s->f->madiff = diff;
}

static bool
epilogue_text(const char *e)
{
	for (; e && *e; e++)
		if (!sa_isspace((unsigned char)*e) && *e != '.')
			return true;
	return false;
}

static void
scan(struct mscan *s, GMimeObject *obj, unsigned depth)
{
	if (obj == NULL || depth > 30 || s->parts >= 1000)
		return;
	s->parts++;
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	char *mt = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
	const char *ctype = lower_dup(s->a, mt ? mt : "text/plain");
	const char *csv = ct ? g_mime_content_type_get_parameter(ct, "charset") : NULL;
	const char *cs = lower_dup(s->a, csv);
	const char *cte = lower_dup(s->a, g_mime_object_get_header(obj, "Content-Transfer-Encoding"));
	const char *cd = lower_dup(s->a, g_mime_object_get_header(obj, "Content-Disposition"));

	g_free(mt);
	while (*cte == ' ' || *cte == '\t')
		cte++;
	if (strcmp(ctype, "multipart/alternative") == 0) {
		s->f->multipart_alternative = true;
		s->n_ma++;
		if (GMIME_IS_MULTIPART(obj) && s->n_ma <= 8)
			madiff(s, obj);
	}
	mime_header(s, ctype, cte, cd, cs);
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n = g_mime_multipart_get_count(mp);

		if (epilogue_text(g_mime_multipart_get_epilogue(mp)))
			s->f->epilogue_exists = true;
		for (int i = 0; i < n; i++)
			scan(s, g_mime_multipart_get_part(mp, i), depth + 1);
		return;
	}
	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

		if (inner != NULL)
			scan(s, g_mime_message_get_mime_part(inner), depth + 1);
		return;
	}
	if (!GMIME_IS_PART(obj))
		return;
	double bytes = 0;
	bool counted = strstr(cd, "attachment") == NULL;

	scan_leaf_raw(s, GMIME_PART(obj), ctype, cte, cd, cs, counted ? &bytes : NULL);
	/* bug 4207: the sizes of the last text/plain and text/html parts */
	if (counted && strcmp(ctype, "text/html") == 0)
		s->html_bytes = bytes, s->have_html = true;
	else if (counted && strcmp(ctype, "text/plain") == 0)
		s->text_bytes = bytes, s->have_text = true;
}

void
sa_mime_scan(void *root, struct mavis_arena *a, struct sa_mime *f)
{
	struct mscan s = { .f = f, .a = a };

	memset(f, 0, sizeof(*f));
	f->multipart_ratio = 1.0;
	scan(&s, root, 0);
	if (s.qp_bytes > 0) {
		f->qp_ratio = s.qp_count / s.qp_bytes;
		f->has_qp_ratio = true;
	}
	if (s.normal_chars > 0)
		f->text_unicode_ratio = s.unicode_chars / s.normal_chars;
	/* Exchange meeting requests (multipart/alternative of text/html and
	   text/calendar) are left out of the difference */
	if (root != NULL && GMIME_IS_MULTIPART(root) &&
	    g_mime_multipart_get_count(GMIME_MULTIPART(root)) == 2) {
		GMimeObject *p0 = g_mime_multipart_get_part(GMIME_MULTIPART(root), 0);
		GMimeObject *p1 = g_mime_multipart_get_part(GMIME_MULTIPART(root), 1);
		GMimeContentType *c0 = g_mime_object_get_content_type(root);
		GMimeContentType *c1 = p0 ? g_mime_object_get_content_type(p0) : NULL;
		GMimeContentType *c2 = p1 ? g_mime_object_get_content_type(p1) : NULL;

		if (c0 && c1 && c2 && g_mime_content_type_is_type(c0, "multipart", "alternative") &&
		    g_mime_content_type_is_type(c1, "text", "html") &&
		    g_mime_content_type_is_type(c2, "text", "calendar"))
			f->madiff = 0;
	}
	if (f->multipart_alternative && s.have_text && s.have_html && s.html_bytes > 0)
		f->multipart_ratio = s.text_bytes / s.html_bytes;
}
