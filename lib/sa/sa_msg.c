/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sa_msg.c - the message as SpamAssassin sees it: header values, rendered body lines, rawbody, full */

#include <ctype.h>
#include <string.h>

#include <gmime/gmime.h>

#include <mavis/buf.h>

#include "decode/decode_int.h"
#include "sa_html.h"
#include "sa_int.h"
#include "sa_received.h"

#define SA_MAX_HEADERS 1000	/* fields kept per header section */
#define SA_MAX_PARTS 1000	/* MIME parts walked */
#define SA_MAX_LINES 100000	/* body/rawbody array entries */

/* ---- header fields ------------------------------------------------------ */

static const char *
with_nl(struct mavis_arena *a, const char *s, size_t n)
{
	char *o = mavis_arena_alloc_uninit(a, n + 2);

	memcpy(o, s, n);
	if (n == 0 || s[n - 1] != '\n')
		o[n++] = '\n';
	o[n] = '\0';
	return o;
}

/* Unfold and decode MIME words, as Node.pm's header(): the value ends in "\n". */
static const char *
hdr_decode(struct mavis_arena *a, const char *raw)
{
	size_t n = strlen(raw);
	char *u = mavis_arena_alloc_uninit(a, n + 1), *d;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (raw[i] == '\r' && raw[i + 1] == '\n')
			continue;
		if (raw[i] == '\n' && (raw[i + 1] == ' ' || raw[i + 1] == '\t'))
			continue;
		u[o++] = raw[i];
	}
	while (o > 0 && (u[o - 1] == '\n' || u[o - 1] == '\r'))
		o--;
	u[o] = '\0';
	if (strstr(u, "=?") == NULL)
		return with_nl(a, u, o);
	d = g_mime_utils_header_decode_text(NULL, u);
	if (d == NULL)
		return with_nl(a, u, o);
	const char *r = with_nl(a, d, strlen(d));

	g_free(d);
	return r;
}

/* Split a header section [p, end) into fields. */
static size_t
parse_fields(const char *p, const char *end, struct mavis_arena *a, struct sa_hdr **out)
{
	size_t cap = 32, n = 0;
	struct sa_hdr *h = mavis_arena_calloc(a, cap, sizeof(*h));

	while (p < end && n < SA_MAX_HEADERS) {
		const char *ls = p, *le;

		/* one field: this line and its continuation lines */
		do {
			const char *nl = memchr(p, '\n', (size_t)(end - p));

			p = nl ? nl + 1 : end;
		} while (p < end && (*p == ' ' || *p == '\t'));
		le = p;
		const char *colon = memchr(ls, ':', (size_t)(le - ls));

		if (colon == NULL || colon == ls)
			continue;
		const char *ne = colon;

		while (ne > ls && (ne[-1] == ' ' || ne[-1] == '\t'))
			ne--;
		if (memchr(ls, '\n', (size_t)(ne - ls)) != NULL)
			continue;
		if (n == cap) {
			struct sa_hdr *nh = mavis_arena_calloc(a, cap * 2, sizeof(*nh));

			memcpy(nh, h, n * sizeof(*h));
			h = nh;
			cap *= 2;
		}
		const char *vs = colon + 1;

		while (vs < le && (*vs == ' ' || *vs == '\t'))
			vs++;
		/* raw: CRLF -> LF, folds kept */
		char *raw = mavis_arena_alloc_uninit(a, (size_t)(le - vs) + 2);
		size_t o = 0;

		for (const char *q = vs; q < le; q++)
			if (!(*q == '\r' && q + 1 < le && q[1] == '\n') && *q != '\0')
				raw[o++] = *q;
		if (o == 0 || raw[o - 1] != '\n')
			raw[o++] = '\n';
		raw[o] = '\0';
		h[n].name = mavis_arena_strndup(a, ls, (size_t)(ne - ls));
		h[n].raw = raw;
		h[n].dec = hdr_decode(a, raw);
		n++;
	}
	*out = h;
	return n;
}

/* ---- body ----------------------------------------------------------------- */

struct lines {
	const char **v;
	size_t n, cap;
};

static void
lines_push(struct lines *l, struct mavis_arena *a, const char *s, size_t n)
{
	if (l->n >= SA_MAX_LINES)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		const char **v = mavis_arena_calloc(a, cap, sizeof(*v));

		if (l->n)
			memcpy(v, l->v, l->n * sizeof(*v));
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = mavis_arena_strndup(a, s, n);
}

static const char *
find_from(const char *s, size_t len, size_t from, char c)
{
	return from < len ? memchr(s + from, c, len - from) : NULL;
}

/* Message.pm split_into_array_of_short_paragraphs (rawbody) */
static void
short_paragraphs(struct lines *l, struct mavis_arena *a, const char *s, size_t len)
{
	const size_t M = SA_MAX_BODY_LINE;
	size_t ofs = 0;

	if (len <= M) {
		lines_push(l, a, s, len);
		return;
	}
	for (; len - ofs > 2 * M;) {
		const char *j = find_from(s, len, ofs + M, '\n');

		if (j == NULL || (size_t)(j - s) - ofs + 1 > 2 * M) {
			j = find_from(s, len, ofs + M, '>');
			if (j == NULL || (size_t)(j - s) - ofs + 1 > 2 * M) {
				j = find_from(s, len, ofs + M, ' ');
				if (j == NULL || (size_t)(j - s) - ofs + 1 > 2 * M)
					j = s + ofs + M;
			}
		}
		size_t jj = (size_t)(j - s);

		lines_push(l, a, s + ofs, jj - ofs + 1);
		ofs = jj + 1;
	}
	if (ofs < len)
		lines_push(l, a, s + ofs, len - ofs);
}

/* Message.pm split_into_array_of_short_lines (rendered body) */
static void
short_lines(struct lines *l, struct mavis_arena *a, const char *s, size_t len)
{
	const size_t M = SA_MAX_BODY_LINE;
	size_t p = 0;

	while (p < len) {
		const char *nl = memchr(s + p, '\n', len - p);
		size_t e = nl ? (size_t)(nl - s) + 1 : len;

		while (e - p > M) {
			/* rindex($line, ' ', M) + 1, or M */
			size_t k = 0;

			for (size_t i = p + M + 1; i-- > p;)
				if (i < e && s[i] == ' ') {
					k = i - p + 1;
					break;
				}
			if (k == 0)
				k = M;
			lines_push(l, a, s + p, k);
			p += k;
		}
		lines_push(l, a, s + p, e - p);
		p = e;
	}
}

/* Cut a part's text at scansize as Message.pm does: at a newline (or a
   space) up to 1 KiB further, else hard. */
static size_t
scan_cut(const char *s, size_t len, size_t scansize, bool try_gt)
{
	if (len <= scansize)
		return len;
	const char *j = find_from(s, len, scansize, '\n');

	if (j && (size_t)(j - s) - scansize <= 1024)
		return (size_t)(j - s) + 1;
	if (try_gt) {
		j = find_from(s, len, scansize, '>');
		if (j && (size_t)(j - s) - scansize <= 1024)
			return (size_t)(j - s) + 1;
	}
	j = find_from(s, len, scansize, ' ');
	if (j && (size_t)(j - s) - scansize <= 1024)
		return (size_t)(j - s) + 1;
	return scansize;
}

static bool
is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

struct walkst {
	struct mavis_arena *a;
	struct sa_msg *m;
	struct mavis_buf text;	/* rendered parts joined by "\n" */
	struct mavis_buf vis;	/* the same with HTML's visible text only (Bayes) */
	struct lines raw;
	struct sa_part_hdrs *parts;
	size_t n_parts, cap_parts;
	bool any_part;
	const struct sa_html **html;
	size_t n_html, cap_html;
};

static void
add_part_headers(struct walkst *w, GMimeObject *obj)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
	int n = hl ? g_mime_header_list_get_count(hl) : 0;
	struct sa_part_hdrs *ph;

	if (w->n_parts >= SA_MAX_PARTS)
		return;
	if (w->n_parts == w->cap_parts) {
		size_t cap = w->cap_parts ? w->cap_parts * 2 : 16;
		struct sa_part_hdrs *v = mavis_arena_calloc(w->a, cap, sizeof(*v));

		if (w->n_parts)
			memcpy(v, w->parts, w->n_parts * sizeof(*v));
		w->parts = v;
		w->cap_parts = cap;
	}
	ph = &w->parts[w->n_parts++];
	ph->h = mavis_arena_calloc(w->a, n > 0 ? (size_t)n : 1, sizeof(*ph->h));
	for (int i = 0; i < n && i < SA_MAX_HEADERS; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *rv = g_mime_header_get_raw_value(h);

		if (rv == NULL)
			continue;
		while (*rv == ' ' || *rv == '\t')
			rv++;
		ph->h[ph->n].name = mavis_arena_strdup(w->a, g_mime_header_get_name(h));
		ph->h[ph->n].raw = with_nl(w->a, rv, strlen(rv));
		ph->h[ph->n].dec = hdr_decode(w->a, ph->h[ph->n].raw);
		ph->n++;
	}
}

static void
walk(struct walkst *w, GMimeObject *obj, unsigned depth)
{
	if (obj == NULL || depth > 30 || w->n_parts >= SA_MAX_PARTS)
		return;
	add_part_headers(w, obj);
	if (GMIME_IS_MULTIPART(obj)) {
		int n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));

		for (int i = 0; i < n; i++)
			walk(w, g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), depth + 1);
		return;
	}
	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

		if (inner != NULL)
			walk(w, g_mime_message_get_mime_part(inner), depth + 1);
		return;
	}
	if (!GMIME_IS_PART(obj))
		return;
	w->m->n_mime_leaves++;
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	const char *type = ct ? g_mime_content_type_get_media_type(ct) : "text";
	const char *sub = ct ? g_mime_content_type_get_media_subtype(ct) : "plain";

	if (type == NULL || sub == NULL)
		type = "text", sub = "plain";
	bool text = strcasecmp(type, "text") == 0 || strcasecmp(type, "message") == 0;
	bool plain = strcasecmp(type, "text") == 0 && strcasecmp(sub, "plain") == 0;
	bool html = strcasecmp(type, "text") == 0 && strcasecmp(sub, "html") == 0;

	if (html)
		w->m->n_html_leaves++;
	else if (strcasecmp(type, "text") == 0)
		w->m->n_text_leaves++;
	if (!text || (strcasecmp(type, "text") == 0 && strcasecmp(sub, "calendar") == 0))
		return;
	GMimeDataWrapper *wr = g_mime_part_get_content(GMIME_PART(obj));

	if (wr == NULL)
		return;
	GMimeStream *mem = g_mime_stream_mem_new();

	(void)g_mime_data_wrapper_write_to_stream(wr, mem);
	GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	const char *d = (const char *)ba->data;
	size_t dl = ba->len;

	short_paragraphs(&w->raw, w->a, d, scan_cut(d, dl, SA_RAWBODY_PART_SCAN_SIZE, true));
	if (html)
		w->m->has_html = true;
	if (plain) {
		if (w->any_part)
			mavis_buf_putc(&w->text, '\n'), mavis_buf_putc(&w->vis, '\n');
		w->any_part = true;
		mavis_buf_append(&w->text, d, scan_cut(d, dl, SA_BODY_PART_SCAN_SIZE, false));
		mavis_buf_append(&w->vis, d, scan_cut(d, dl, SA_BODY_PART_SCAN_SIZE, false));
	} else if (html) {
		struct sa_html *h = NULL;

		if (w->any_part)
			mavis_buf_putc(&w->text, '\n'), mavis_buf_putc(&w->vis, '\n');
		w->any_part = true;
		/* Node.pm: the HTML part's rendered text (visible and invisible);
		   the cut is made on the rendered text */
		if (sa_html_parse(d, dl, w->a, &h) == 0 && h != NULL) {
			size_t rl = 0, vl = 0;
			const char *rt = sa_html_rendered(h, &rl);
			const char *vt = sa_html_visible(h, &vl);

			mavis_buf_append(&w->text, rt, scan_cut(rt, rl, SA_BODY_PART_SCAN_SIZE, false));
			if (vt != NULL)
				mavis_buf_append(&w->vis, vt, scan_cut(vt, vl, SA_BODY_PART_SCAN_SIZE, false));
			if (w->n_html == w->cap_html) {
				size_t cap = w->cap_html ? w->cap_html * 2 : 4;
				const struct sa_html **v = mavis_arena_calloc(w->a, cap, sizeof(*v));

				if (w->n_html)
					memcpy(v, w->html, w->n_html * sizeof(*v));
				w->html = v;
				w->cap_html = cap;
			}
			w->html[w->n_html++] = h;
		}
	}
	g_object_unref(mem);
}

/* get_body_text_array_common: paragraphs, white space collapsed, Subject first */
static void
render_lines(struct walkst *w, const struct mavis_buf *text, const char *subject,
	     const char ***lines, size_t *nlines)
{
	const char *t = text->len ? mavis_buf_str(text) : "";
	size_t n = text->len, o = 0;
	char *r = mavis_arena_alloc_uninit(w->a, n + strlen(subject) + 1);
	size_t sl = strlen(subject);
	struct lines l = { 0 };

	memcpy(r, subject, sl);
	o = sl;
	for (size_t i = 0; i < n;) {
		if (is_ws((unsigned char)t[i])) {
			/* a run of white space: with two newlines (\n+\s*\n+) it is a
			   paragraph break, else one space */
			size_t j = i, nls = 0;
			bool para = false;

			while (j < n && is_ws((unsigned char)t[j])) {
				if (t[j] == '\n')
					nls++;
				j++;
			}
			if (nls >= 2) {
				/* \n+\s*\n+ needs the run to hold two newlines; white
				   space before the first and after the last one then
				   becomes a single space around the break */
				size_t f = i, l2 = j;

				while (t[f] != '\n')
					f++;
				while (t[l2 - 1] != '\n')
					l2--;
				if (f > i)
					r[o++] = ' ';
				r[o++] = '\n';
				if (j > l2)
					r[o++] = ' ';
				para = true;
			}
			if (!para)
				r[o++] = ' ';
			i = j;
			continue;
		}
		r[o++] = t[i++];
	}
	r[o] = '\0';
	short_lines(&l, w->a, r, o);
	*lines = l.v;
	*nlines = l.n;
}

int
sa_msg_build(const void *msg, size_t len, const struct mavis_sa_rules *rs, struct mavis_arena *a,
	     struct sa_msg *out, struct mavis_error *err)
{
	const char *s = msg, *end = s + len, *hend = NULL;
	struct walkst w = { .a = a, .m = out };

	(void)err;
	memset(out, 0, sizeof(*out));
	mavis_dec_gmime_init();	/* before any decoding: header words too */
	/* header section: up to the first empty line */
	for (const char *p = s; p < end;) {
		if (*p == '\n') {
			hend = p;
			break;
		}
		if (*p == '\r' && p + 1 < end && p[1] == '\n') {
			hend = p;
			break;
		}
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		p = nl ? nl + 1 : end;
	}
	if (hend == NULL)
		hend = end;
	/* the body starts after the empty line */
	{
		const char *b = hend;

		if (b < end && *b == '\r')
			b++;
		if (b < end && *b == '\n')
			b++;
		out->body_len = (size_t)(end - b);
	}
	out->n_h = parse_fields(s, hend, a, &out->h);
	{
		struct mavis_buf all = { 0 };

		for (size_t i = 0; i < out->n_h; i++)
			mavis_buf_printf(&all, "%s: %s", out->h[i].name, out->h[i].dec);
		out->all_headers = mavis_arena_strdup(a, all.len ? mavis_buf_str(&all) : "");
		mavis_buf_free(&all);
	}
	out->full = s;
	out->full_len = len;
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(s, len);
	GMimeParser *pa = g_mime_parser_new_with_stream(st);
	GMimeMessage *gm;

	g_object_unref(st);
	gm = g_mime_parser_construct_message(pa, g_mime_parser_options_get_default());
	g_object_unref(pa);
	if (gm != NULL) {
		walk(&w, g_mime_message_get_mime_part(gm), 0);
		sa_mime_scan(g_mime_message_get_mime_part(gm), a, &out->mime);
		g_object_unref(gm);
	} else {
		sa_mime_scan(NULL, a, &out->mime);
	}
	out->parts = w.parts;
	out->n_parts = w.n_parts;
	out->html = w.html;
	out->n_html = w.n_html;
	{
		/* Received values, top first, for the relays (Received.pm) */
		size_t nr = 0;
		const char **rv;

		for (size_t i = 0; i < out->n_h; i++)
			nr += strcasecmp(out->h[i].name, "Received") == 0;
		rv = mavis_arena_calloc(a, nr ? nr : 1, sizeof(*rv));
		nr = 0;
		for (size_t i = 0; i < out->n_h; i++)
			if (strcasecmp(out->h[i].name, "Received") == 0)
				rv[nr++] = out->h[i].dec;
		sa_relays_build(rv, nr, NULL, rs ? rs->trusted : NULL, rs ? rs->internal : NULL, a,
				&out->relays);
	}
	out->rawbody = w.raw.v;
	out->n_rawbody = w.raw.n;
	const char *subj = sa_msg_get(out, a, "Subject", 0);

	render_lines(&w, &w.text, subj ? subj : "\n", &out->body, &out->n_body);
	out->body_visible = out->body;
	out->n_body_visible = out->n_body;
	if (w.n_html > 0)
		render_lines(&w, &w.vis, subj ? subj : "\n", &out->body_visible,
			     &out->n_body_visible);
	mavis_buf_free(&w.text);
	mavis_buf_free(&w.vis);
	return 0;
}

/* ---- $pms->get() -------------------------------------------------------- */

/* Addresses or display names of one header value (Email::Address::XS's
   view, simplified): mailboxes split at commas outside quotes and <>. */
static void
addr_parts(const char *v, bool want_name, struct mavis_buf *b)
{
	const char *p = v;

	while (*p) {
		const char *s = p;
		int inq = 0, ang = 0, par = 0;

		for (; *p; p++) {
			if (*p == '\\' && p[1]) {
				p++;
				continue;
			}
			if (*p == '"' && !par)
				inq = !inq;
			else if (!inq && *p == '(')
				par++;
			else if (!inq && *p == ')' && par)
				par--;
			else if (!inq && !par && *p == '<')
				ang = 1;
			else if (!inq && !par && *p == '>')
				ang = 0;
			else if (!inq && !par && !ang && *p == ',')
				break;
		}
		const char *e = p;

		if (*p == ',')
			p++;
		/* one mailbox [s, e) */
		const char *lt = memchr(s, '<', (size_t)(e - s));
		const char *gt = lt ? memchr(lt, '>', (size_t)(e - lt)) : NULL;
		char tmp[1024];
		size_t o = 0;

		if (!want_name) {
			const char *as = lt && gt ? lt + 1 : s, *ae = lt && gt ? gt : e;
			int pr = 0;

			for (const char *q = as; q < ae && o + 1 < sizeof(tmp); q++) {
				if (*q == '(')
					pr++;
				else if (*q == ')' && pr)
					pr--;
				else if (!pr && !is_ws((unsigned char)*q) && *q != '"')
					tmp[o++] = *q;
			}
		} else {
			const char *ns = s, *ne = lt && gt ? lt : s;

			if (!(lt && gt)) {
				/* addr (Name) */
				const char *op = memchr(s, '(', (size_t)(e - s));
				const char *cp = op ? memchr(op, ')', (size_t)(e - op)) : NULL;

				if (op && cp)
					ns = op + 1, ne = cp;
			}
			while (ns < ne && is_ws((unsigned char)*ns))
				ns++;
			while (ne > ns && is_ws((unsigned char)ne[-1]))
				ne--;
			if (ne - ns >= 2 && *ns == '"' && ne[-1] == '"')
				ns++, ne--;
			for (const char *q = ns; q < ne && o + 1 < sizeof(tmp); q++)
				tmp[o++] = *q;
		}
		if (o > 0 || want_name) {
			if (b->len)
				mavis_buf_putc(b, '\n');
			mavis_buf_append(b, tmp, o);
		}
	}
}

static const char *
get_one(const struct sa_msg *m, struct mavis_arena *a, const char *name, unsigned mods)
{
	struct mavis_buf b = { 0 };
	const char *res = NULL;
	size_t first = (size_t)-1, last = 0;
	bool found = false;

	for (size_t i = 0; i < m->n_h; i++)
		if (strcasecmp(m->h[i].name, name) == 0) {
			if (first == (size_t)-1)
				first = i;
			last = i;
			found = true;
		}
	if (!found)
		return NULL;
	for (size_t i = first; i <= last; i++) {
		if (strcasecmp(m->h[i].name, name) != 0)
			continue;
		if ((mods & SA_H_FIRST) && i != first)
			continue;
		if ((mods & SA_H_LAST) && i != last)
			continue;
		const char *v = (mods & SA_H_RAW) ? m->h[i].raw : m->h[i].dec;

		if (mods & (SA_H_ADDR | SA_H_NAME)) {
			struct mavis_buf one = { 0 };

			addr_parts(m->h[i].dec, (mods & SA_H_NAME) != 0, &one);
			if (one.len) {
				if (b.len)
					mavis_buf_putc(&b, '\n');
				mavis_buf_append(&b, one.data, one.len);
			}
			mavis_buf_free(&one);
		} else {
			mavis_buf_puts(&b, v);
		}
	}
	res = mavis_arena_strdup(a, b.len ? mavis_buf_str(&b) : "");
	mavis_buf_free(&b);
	return res;
}

/* Does a Received field come before any field called name? (the Perl:
   ALL =~ /^Received:.*?^Name:/smi) */
static bool
received_before(const struct sa_msg *m, const char *name)
{
	bool rcvd = false;

	for (size_t i = 0; i < m->n_h; i++) {
		if (rcvd && strcasecmp(m->h[i].name, name) == 0)
			return true;
		if (strcasecmp(m->h[i].name, "Received") == 0)
			rcvd = true;
	}
	return false;
}

/* PerMsgStatus::get_envelope_from: the envelope-from the last untrusted
   (else the first trusted) relay's Received line names; then X-Sender with
   a fetchmail hop means unknown; then X-Envelope-From, Envelope-Sender,
   Return-Path, each only when no Received field comes before one of them
   (else a later hop added it). */
static const char *
envelope_from(const struct sa_msg *m, struct mavis_arena *a)
{
	static const char *const hdrs[] = { "X-Envelope-From", "Envelope-Sender", "Return-Path", NULL };
	struct sa_relay_info ri;
	bool have = sa_relays_get(m->relays, 1, 0, &ri);

	if (!have) {
		size_t nt = sa_relays_count(m->relays, 0);

		have = nt > 0 && sa_relays_get(m->relays, 0, nt - 1, &ri);
	}
	if (have && ri.envfrom != NULL) {
		const char *at = strchr(ri.envfrom, '@');

		if (*ri.envfrom == '\0' || (at != NULL && at > ri.envfrom))
			return ri.envfrom;
	}
	const char *xs = get_one(m, a, "X-Sender", SA_H_FIRST | SA_H_ADDR);

	if (xs != NULL && strchr(xs, '@') != NULL) {
		const char *r = get_one(m, a, "Received", 0);

		if (r != NULL && strstr(r, "(fetchmail") != NULL)
			return NULL;
	}
	for (int i = 0; hdrs[i]; i++) {
		const char *v = get_one(m, a, hdrs[i], SA_H_FIRST | SA_H_ADDR);

		if (v == NULL)
			continue;
		if (!received_before(m, hdrs[i]))
			return v;
		/* X-Envelope-From after a Received: unknown; the others: go on */
		if (i == 0)
			return NULL;
	}
	return NULL;
}

/* ALL-TRUSTED, ALL-INTERNAL, ALL-UNTRUSTED, ALL-EXTERNAL:
   PerMsgStatus::get_all_hdrs_in_rcvd_index_range over the header fields,
   cut at the Received field of the last trusted (internal) hop + 1 */
static const char *
all_range(const struct sa_msg *m, struct mavis_arena *a, const char *which, bool raw)
{
	bool upto;
	int internal;

	if (strcmp(which, "TRUSTED") == 0)
		upto = true, internal = 0;
	else if (strcmp(which, "INTERNAL") == 0)
		upto = true, internal = 1;
	else if (strcmp(which, "UNTRUSTED") == 0)
		upto = false, internal = 0;
	else if (strcmp(which, "EXTERNAL") == 0)
		upto = false, internal = 1;
	else
		return NULL;
	long edge = sa_relays_last_index(m->relays, internal) + 1, cur = -1;
	struct mavis_buf b = { 0 };

	for (size_t i = 0; i < m->n_h; i++) {
		bool rcvd = strcasecmp(m->h[i].name, "Received") == 0;

		cur += rcvd;
		if (upto ? cur < edge : cur >= edge)
			mavis_buf_printf(&b, "%s: %s", m->h[i].name, raw ? m->h[i].raw : m->h[i].dec);
		else if (upto && cur == edge) {
			mavis_buf_printf(&b, "%s: %s", m->h[i].name, raw ? m->h[i].raw : m->h[i].dec);
			break;
		}
	}
	const char *r = b.len ? mavis_arena_strdup(a, mavis_buf_str(&b)) : NULL;

	mavis_buf_free(&b);
	return r;
}

const char *
sa_msg_get(const struct sa_msg *m, struct mavis_arena *a, const char *name, unsigned mods)
{
	if (strcmp(name, "ALL") == 0) {
		if (!(mods & SA_H_RAW))
			return m->all_headers;
		struct mavis_buf b = { 0 };

		for (size_t i = 0; i < m->n_h; i++)
			mavis_buf_printf(&b, "%s: %s", m->h[i].name, m->h[i].raw);
		const char *r = mavis_arena_strdup(a, b.len ? mavis_buf_str(&b) : "");

		mavis_buf_free(&b);
		return r;
	}
	if (strcmp(name, "ToCc") == 0) {
		const char *to = get_one(m, a, "To", mods), *cc = get_one(m, a, "Cc", mods);

		if (to && cc) {
			size_t tl = strlen(to);

			while (tl > 0 && to[tl - 1] == '\n')
				tl--;
			return mavis_arena_printf(a, "%.*s, %s", (int)tl, to, cc);
		}
		return to ? to : cc;
	}
	if (strcmp(name, "MESSAGEID") == 0) {
		static const char *const ids[] = { "Message-Id", "Resent-Message-Id",
						   "X-Message-Id", NULL };
		struct mavis_buf b = { 0 };

		for (int i = 0; ids[i]; i++) {
			const char *v = get_one(m, a, ids[i], mods);

			if (v)
				mavis_buf_puts(&b, v);
		}
		const char *r = b.len ? mavis_arena_strdup(a, mavis_buf_str(&b)) : NULL;

		mavis_buf_free(&b);
		return r;
	}
	if (strcmp(name, "EnvelopeFrom") == 0)
		return envelope_from(m, a);
	if (strncmp(name, "ALL-", 4) == 0)
		return all_range(m, a, name + 4, (mods & SA_H_RAW) != 0);
	if (strncmp(name, "X-Spam-Relays-", 14) == 0 && m->relays != NULL) {
		const char *v = sa_relays_pseudo(m->relays, name);

		if (v != NULL)
			return v;
	}
	return get_one(m, a, name, mods);
}
