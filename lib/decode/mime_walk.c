/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mime_walk.c - GMime tree to part records, amavisd mime_decode order */

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include <mavis/alloc.h>
#include <mavis/log.h>

#include "decode/decode_int.h"

/* One MIME parse being turned into parts. */
struct walk {
	struct mavis_dec *d;
	const char *src;		/* the bytes GMime parsed (header offsets) */
	size_t srclen;
	unsigned level;
	bool top;			/* the message itself: MIME errors count */
	bool exquota;			/* charge without the quota check */
	struct mavis_dec_part **leaves;	/* pass 1 records, NULL if not made */
	size_t nleaves, cap, next;
	bool too_deep;
};

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void
gmime_log(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data)
{
	(void)level;
	(void)data;
	mavis_log_ll(5, NULL, "%s: %s", domain ? domain : "glib", message);
}

static void
gmime_once_init(void)
{
	g_mime_init();
	g_log_set_handler("gmime", (GLogLevelFlags)(G_LOG_LEVEL_MASK & ~G_LOG_LEVEL_ERROR),
			  gmime_log, NULL);
}

void
mavis_dec_gmime_init(void)
{
	pthread_once(&gmime_once, gmime_once_init);
}

void
mavis_dec_unref_all(struct mavis_dec *d)
{
	/* Newest first: nested messages before the streams they came from. */
	while (d->ngobjs > 0)
		g_object_unref(d->gobjs[--d->ngobjs]);
}

/* A printable, bounded copy of a parser item for an error text. */
static void
error_item(char *out, size_t size, const char *item)
{
	size_t o = 0;

	for (; item && *item && o + 1 < size; item++)
		out[o++] = isprint((unsigned char)*item) ? *item : '?';
	out[o] = '\0';
}

/* GMime parser issues that MIME::Parser reports as errors (its texts). */
static void
parser_warning(gint64 offset, GMimeParserWarning code, const gchar *item, gpointer data)
{
	struct mavis_dec *d = data;
	char buf[80];

	(void)offset;
	switch (code) {
	case GMIME_WARN_TRUNCATED_MESSAGE:
		if (!d->mime_cut)	/* our cut, not the sender's */
			mavis_dec_mime_error(d, "unexpected end of parts before epilogue");
		break;
	case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
		mavis_dec_mime_error(d, "multipart boundary is missing, or contains CR or LF");
		break;
	case GMIME_CRIT_INVALID_HEADER_NAME: {
		char text[120];

		error_item(buf, sizeof(buf), item);
		snprintf(text, sizeof(text), "couldn't parse head; error near: %s", buf);
		mavis_dec_mime_error(d, text);
		break;
	}
	case GMIME_CRIT_NESTING_OVERFLOW:
		mavis_dec_mime_error(d, "MIME nesting too deep");
		break;
	default:
		/* Duplicates, 8-bit headers, bad RFC 2047 words: header checks. */
		break;
	}
}

static const char *
lower_type(struct mavis_dec *d, GMimeObject *obj)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	const char *t, *s;
	char *r;

	if (ct == NULL)
		return NULL;
	t = g_mime_content_type_get_media_type(ct);
	s = g_mime_content_type_get_media_subtype(ct);
	r = mavis_arena_printf(d->arena, "%s/%s", t ? t : "", s ? s : "");
	for (char *c = r; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return r;
}

/* Trimmed, lowercased copy of a raw header value for comparisons. */
static char *
norm_value(const char *raw)
{
	size_t len;
	char *s;

	while (*raw == ' ' || *raw == '\t' || *raw == '\r' || *raw == '\n')
		raw++;
	s = mavis_xstrdup(raw);
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' ||
			   s[len - 1] == '\n'))
		s[--len] = '\0';
	for (char *c = s; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return s;
}

/*
 * CVE-2024-28054 (README.CVE-2024-28054): parsers disagree on which of
 * several boundary= parameters counts, so the content one MUA shows is not
 * what a filter checked. amavisd-new 2.13 flags a multipart entity whose
 * first Content-Type field has more than one boundary parameter as its
 * MIME-tools < 5.514 code path reads them (mavis_dec_boundary_count).
 * Repeated Content-Type fields are not ambiguous content there: they are
 * a duplicate header field (BAD-HEADER-8) of the header check.
 */
static bool
ambiguous(GMimeObject *obj)
{
	GMimeHeaderList *hl;
	int n;

	if (!GMIME_IS_MULTIPART(obj))
		return false;
	hl = g_mime_object_get_header_list(obj);
	n = hl ? g_mime_header_list_get_count(hl) : 0;
	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *hn = h ? g_mime_header_get_name(h) : NULL;
		const char *raw = h ? g_mime_header_get_raw_value(h) : NULL;

		if (hn == NULL || g_ascii_strcasecmp(hn, "Content-Type") != 0)
			continue;
		/* the first Content-Type field only: MIME::Head's get() */
		return raw != NULL && mavis_dec_boundary_count(raw, strlen(raw)) > 1;
	}
	return false;
}

/*
 * The value of header field h as it is in the parsed bytes. GMime keeps
 * header values as C strings, so a NUL cuts them short: in
 * 'filename="set<NUL>up.exe"' it sees "set", while amavisd (and a MUA that
 * skips the NUL) sees a name ending in .exe. The field starts at its
 * offset: the name, optional WSP, ':', then lines up to one that is not
 * followed by WSP. NULL when the offset does not lead to the field.
 */
static const char *
source_value(const struct walk *w, GMimeHeader *h, const char *name, size_t *len)
{
	gint64 off = g_mime_header_get_offset(h);
	size_t nl = strlen(name);
	const char *s, *v, *end;

	if (w->src == NULL || off < 0 || (guint64)off >= w->srclen)
		return NULL;
	s = w->src + off;
	end = w->src + w->srclen;
	if ((size_t)(end - s) <= nl || g_ascii_strncasecmp(s, name, nl) != 0)
		return NULL;
	v = s + nl;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	if (v == end || *v != ':')
		return NULL;
	v++;
	for (const char *e = v; e < end; e++) {
		e = memchr(e, '\n', (size_t)(end - e));
		if (e == NULL)
			break;
		if (e + 1 == end || (e[1] != ' ' && e[1] != '\t')) {
			*len = (size_t)(e - v) - (e > v && e[-1] == '\r');
			return v;
		}
	}
	*len = (size_t)(end - v);
	return v;
}

/* Declared names in amavisd's order: Content-Disposition filename, then
   Content-Type name; GMime's decoded value, then every raw occurrence. */
static void
add_names(const struct walk *w, struct mavis_dec_part *p, GMimeObject *obj)
{
	struct mavis_dec *d = w->d;
	static const struct {
		const char *header, *param;
	} src[] = { { "Content-Disposition", "filename" }, { "Content-Type", "name" } };
	GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
	int n = hl ? g_mime_header_list_get_count(hl) : 0;

	for (size_t s = 0; s < 2; s++) {
		const char *v = NULL;

		if (s == 0) {
			GMimeContentDisposition *cd = g_mime_object_get_content_disposition(obj);

			if (cd)
				v = g_mime_content_disposition_get_parameter(cd, "filename");
		} else {
			GMimeContentType *ct = g_mime_object_get_content_type(obj);

			if (ct)
				v = g_mime_content_type_get_parameter(ct, "name");
		}
		if (v)
			mavis_dec_add_name(d, p, v, strlen(v));
		for (int i = 0; i < n; i++) {
			GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
			const char *hn = h ? g_mime_header_get_name(h) : NULL;
			const char *raw = h ? g_mime_header_get_raw_value(h) : NULL;

			const char *sv;
			size_t sl;

			if (hn == NULL || raw == NULL || g_ascii_strcasecmp(hn, src[s].header) != 0)
				continue;
			sv = source_value(w, h, hn, &sl);
			if (sv != NULL && memchr(sv, '\0', sl) != NULL)
				mavis_dec_param_names(d, p, sv, sl, src[s].param);
			else
				mavis_dec_param_names(d, p, raw, strlen(raw), src[s].param);
		}
	}
}

/* The raw Content-Transfer-Encoding (first field), lowercased, or NULL. */
static char *
raw_cte(GMimeObject *obj)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
	int n = hl ? g_mime_header_list_get_count(hl) : 0;

	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *hn = h ? g_mime_header_get_name(h) : NULL;
		const char *raw = h ? g_mime_header_get_raw_value(h) : NULL;

		if (hn && raw && g_ascii_strcasecmp(hn, "Content-Transfer-Encoding") == 0)
			return norm_value(raw);
	}
	return NULL;
}

/* Attributes and declared data every entity gets (amavisd mime_traverse). */
static void
describe(struct walk *w, struct mavis_dec_part *p, GMimeObject *obj)
{
	const char *mt = lower_type(w->d, obj);
	const char *slash = mt ? strchr(mt, '/') : NULL;

	p->pub.mime_type = mt;
	if (slash && strstr(slash, "encrypted") != NULL)
		p->pub.attrs |= MAVIS_PART_UNDECIPHERABLE | MAVIS_PART_ENCRYPTED;
	if (ambiguous(obj))
		p->pub.attrs |= MAVIS_PART_AMBIGUOUS;
	add_names(w, p, obj);
}

#define READ_CHUNK (64 * 1024)

/* Fallback: GMime's own decoder into a memory stream, then a copy. */
static int
body_via_stream(struct walk *w, struct mavis_dec_part *p, GMimeDataWrapper *wrapper)
{
	GMimeStream *mem = g_mime_stream_mem_new();
	GByteArray *ba;
	int rc = 0;

	/* A decoding error leaves what was decoded so far: the data MUAs see. */
	(void)g_mime_data_wrapper_write_to_stream(wrapper, mem);
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	if (mavis_dec_charge(w->d, ba->len, w->exquota, "mime_decode") == 0)
		rc = mavis_dec_set_data(w->d, p, ba->data, ba->len);
	g_object_unref(mem);
	return rc;
}

/*
 * Body bytes of a part, transfer encoding removed, decoded straight into the
 * arena: base64, quoted-printable and the identity encodings never produce
 * more bytes than they read, so one block of the encoded size (plus GMime's
 * per-step slack) holds the result and nothing is copied twice. Other
 * encodings (x-uuencode) go through GMime's filter stream.
 */
static int
body_data(struct walk *w, struct mavis_dec_part *p, GMimePart *part)
{
	GMimeDataWrapper *wrapper = g_mime_part_get_content(part);
	GMimeContentEncoding enc;
	GMimeStream *raw;
	GMimeEncoding state;
	gint64 rawlen;
	size_t cap, len = 0;
	unsigned char *buf;
	bool decode;
	char *chunk;

	if (wrapper == NULL)
		return mavis_dec_set_data(w->d, p, "", 0);
	enc = g_mime_data_wrapper_get_encoding(wrapper);
	raw = g_mime_data_wrapper_get_stream(wrapper);
	decode = enc == GMIME_CONTENT_ENCODING_BASE64 ||
		 enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
	if (raw == NULL || (!decode && enc != GMIME_CONTENT_ENCODING_DEFAULT &&
			    enc != GMIME_CONTENT_ENCODING_7BIT &&
			    enc != GMIME_CONTENT_ENCODING_8BIT &&
			    enc != GMIME_CONTENT_ENCODING_BINARY))
		return body_via_stream(w, p, wrapper);
	rawlen = g_mime_stream_length(raw);
	if (rawlen < 0 || (uint64_t)rawlen > SIZE_MAX / 2 || g_mime_stream_reset(raw) < 0)
		return body_via_stream(w, p, wrapper);
	cap = (size_t)rawlen + ((size_t)rawlen / READ_CHUNK + 2) * 16 + 1;
	if (mavis_dec_reserve(w->d, cap) < 0)
		return w->d->fatal;
	buf = mavis_arena_try_alloc_uninit(w->d->arena, cap);
	if (buf == NULL)
		return mavis_dec_fail(w->d, MAVIS_ERR_RESOURCE,
				      "out of memory decoding (%zu bytes)", cap);
	chunk = mavis_xmalloc(READ_CHUNK);
	if (decode)
		g_mime_encoding_init_decode(&state, enc);
	for (;;) {
		ssize_t n = g_mime_stream_read(raw, chunk, READ_CHUNK);

		if (n <= 0)
			break;	/* an error keeps what was decoded so far */
		if (!decode) {
			if ((size_t)n > cap - 1 - len)
				n = (ssize_t)(cap - 1 - len);	/* the stream grew?! */
			memcpy(buf + len, chunk, (size_t)n);
			len += (size_t)n;
		} else if (g_mime_encoding_outlen(&state, (size_t)n) <= cap - 1 - len) {
			len += g_mime_encoding_step(&state, chunk, (size_t)n, (char *)buf + len);
		} else {
			break;	/* cannot happen for these encodings; stay bounded */
		}
	}
	if (decode && g_mime_encoding_outlen(&state, 0) <= cap - 1 - len)
		len += g_mime_encoding_flush(&state, NULL, 0, (char *)buf + len);
	free(chunk);
	/* The tail of the block was never written, so it is not resident. */
	mavis_dec_unreserve(w->d, cap - 1 - len);
	if (mavis_dec_charge(w->d, len, w->exquota, "mime_decode") < 0)
		return 0;
	return mavis_dec_keep_data(w->d, p, buf, len);
}

static bool
uu_allowed(const char *cte)
{
	/* MIME::Parser hunts for uuencode only in unencoded bodies. */
	return cte == NULL || strcmp(cte, "7bit") == 0 || strcmp(cte, "8bit") == 0 ||
	       strcmp(cte, "binary") == 0;
}

static bool
known_cte(const char *cte)
{
	static const char *const known[] = {
		"7bit", "8bit", "binary", "none", "base64", "quoted-printable",
		"x-uuencode", "x-uue", "uuencode", "x-uu", "x-gzip64", "binhex",
		"binhex40", "mac-binhex40", "mac-binhex", "base-64",
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(cte, known[i]) == 0)
			return true;
	return false;
}

/* uuencoded files in a text/plain body become parts of the same level
   (MIME::Parser extracts them while parsing); the text stays as well. */
static int
uu_children(struct walk *w, struct mavis_dec_part *text)
{
	const unsigned char *s = text->pub.data;
	size_t len = text->pub.len, pos = 0;
	struct mavis_uu_block blk;

	while (mavis_uu_next(s, len, &pos, &blk)) {
		struct mavis_dec_part *f = mavis_dec_part_new(w->d, w->level, MAVIS_DEC_PSEUDO);
		unsigned char *buf;
		size_t n, want;
		const char *dot;
		int rc;

		if (f == NULL)
			return 0;
		mavis_dec_link(w->d, f, text);
		text->retained = true;
		mavis_dec_add_name(w->d, f, (const char *)s + blk.name_off, blk.name_len);
		/* MIME::Parser's guess from the extension. */
		f->pub.mime_type = "application/octet-stream";
		dot = f->pub.name ? strrchr(f->pub.name, '.') : NULL;
		if (dot) {
			static const char *const img[] = { "gif", "jpeg", "jpg", "xbm", "xpm", "png" };

			for (size_t i = 0; i < sizeof(img) / sizeof(img[0]); i++)
				if (strcasecmp(dot + 1, img[i]) == 0)
					f->pub.mime_type =
						mavis_arena_printf(w->d->arena, "image/%s", img[i]);
		}
		want = blk.end_off - blk.body_off + 1;
		buf = mavis_dec_heap(w->d, want);
		if (buf == NULL)
			return w->d->fatal;
		n = mavis_uu_decode(s, &blk, buf);
		if (mavis_dec_charge(w->d, n, w->exquota, "do_ascii") < 0) {
			free(buf);
			mavis_dec_unreserve(w->d, want);
			return 0;
		}
		rc = mavis_dec_take_data(w->d, f, buf, n, want);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Pass 1: entities with a body, in document order (MIME::Parser's filer
   issues their numbers while parsing). */
static int
pass1(struct walk *w, GMimeObject *obj, unsigned depth)
{
	struct mavis_dec_part *p = NULL;
	int rc = 0;

	if (depth > MAVIS_DEC_MIME_NESTING) {
		w->too_deep = true;
		return 0;
	}
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n = g_mime_multipart_get_count(mp);

		for (int i = 0; i < n && rc >= 0; i++)
			rc = pass1(w, g_mime_multipart_get_part(mp, i), depth + 1);
		return rc;
	}
	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

		p = mavis_dec_part_new(w->d, w->level,
				       m ? MAVIS_DEC_MESSAGE : MAVIS_DEC_CONTAINER);
		if (p) {
			p->gobj = m;
			p->gsrc = w->src;	/* GMime's offsets in m point here */
			p->gsrclen = w->srclen;
			describe(w, p, obj);
		}
	} else if (GMIME_IS_PART(obj)) {
		char *cte = raw_cte(obj);

		p = mavis_dec_part_new(w->d, w->level, MAVIS_DEC_PLAIN);
		if (p) {
			describe(w, p, obj);
			if (cte && !known_cte(cte))
				p->pub.mime_type_eff = "application/octet-stream";
			if (p->pub.mime_type && (strcmp(p->pub.mime_type, "message/rfc822") == 0 ||
						 strcmp(p->pub.mime_type, "message/global") == 0))
				p->kind = MAVIS_DEC_MESSAGE_RAW;
			rc = body_data(w, p, GMIME_PART(obj));
			if (rc >= 0 && p->pub.data && p->pub.mime_type &&
			    strcmp(p->pub.mime_type, "text/plain") == 0 && uu_allowed(cte))
				rc = uu_children(w, p);
		}
		free(cte);
	}
	/* Any other GMimeObject type is ignored; the slot keeps pass 2 aligned. */
	if (w->nleaves == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		w->leaves = mavis_xrealloc(w->leaves, w->cap * sizeof(*w->leaves));
	}
	w->leaves[w->nleaves++] = p;
	return rc;
}

/* amavisd makes a preamble or epilogue a part when it is more than 5 lines
   or has characters outside [A-Za-z0-9/@:;,. \t\n_-] (CR allowed here:
   amavisd sees LF-only files). */
static int
pre_epi(struct walk *w, const char *text, const char *name, struct mavis_dec_part *parent,
	const char *placement)
{
	size_t len, lines = 0;
	bool odd = false;
	struct mavis_dec_part *p;

	if (text == NULL || *text == '\0')
		return 0;
	len = strlen(text);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '\n' || (i + 1 == len))
			lines++;
		if (!(isalnum(c) || strchr("/@:;,. \t\n\r_-", c) != NULL) || c >= 0x80)
			odd = true;
	}
	if (lines <= 5 && !odd)
		return 0;
	p = mavis_dec_part_new(w->d, w->level, MAVIS_DEC_PSEUDO);
	if (p == NULL)
		return 0;
	mavis_dec_link(w->d, p, parent);
	p->pub.placement = placement;
	mavis_dec_add_name(w->d, p, name, strlen(name));
	if (mavis_dec_charge(w->d, len, w->exquota, "mime_decode") < 0)
		return 0;
	return mavis_dec_set_data(w->d, p, text, len);
}

/* Pass 2: tree order. Links pass 1 records, makes containers and pseudo
   parts (amavisd mime_traverse numbers them in this order). */
static int
pass2(struct walk *w, GMimeObject *obj, struct mavis_dec_part *parent,
      const char *placement, unsigned depth)
{
	int rc = 0;

	if (depth > MAVIS_DEC_MIME_NESTING)
		return 0;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n = g_mime_multipart_get_count(mp);
		struct mavis_dec_part *c;

		rc = pre_epi(w, g_mime_multipart_get_prologue(mp), "preamble", parent, placement);
		c = mavis_dec_part_new(w->d, w->level, MAVIS_DEC_CONTAINER);
		if (c) {
			mavis_dec_link(w->d, c, parent);
			c->pub.placement = placement;
			describe(w, c, obj);
		}
		if (rc >= 0)
			rc = pre_epi(w, g_mime_multipart_get_epilogue(mp), "epilogue", parent,
				     placement);
		if (n == 0 && w->top)
			mavis_dec_mime_error(w->d, "unexpected end of preamble");
		/* Without the container record (a limit hit) the children still
		   get linked and placed, one level up. */
		for (int i = 0; i < n && rc >= 0; i++)
			rc = pass2(w, g_mime_multipart_get_part(mp, i), c ? c : parent,
				   mavis_dec_placement(w->d, placement, (unsigned)i + 1),
				   depth + 1);
		return rc;
	}
	if (w->next < w->nleaves) {
		struct mavis_dec_part *p = w->leaves[w->next++];

		if (p != NULL) {
			mavis_dec_link(w->d, p, parent);
			p->pub.placement = placement;
			for (size_t i = 0; i < p->pub.nchildren; i++)	/* uuencoded files */
				p->pub.children[i]->placement =
					mavis_dec_placement(w->d, placement, (unsigned)i + 1);
		}
	}
	return rc;
}

static int
walk_object(struct mavis_dec *d, GMimeObject *root, const char *src, size_t srclen,
	    struct mavis_dec_part *parent, unsigned level, bool top)
{
	struct walk w = {
		.d = d, .src = src, .srclen = srclen, .level = level, .top = top, .exquota = top,
	};
	const char *base = parent ? mavis_dec_placement(d, parent->pub.placement, 1) : "1";
	int rc;

	rc = pass1(&w, root, 0);
	if (rc >= 0)
		rc = pass2(&w, root, parent, base, 0);
	if (w.too_deep) {
		if (top)
			mavis_dec_mime_error(d, "MIME nesting too deep");
		mavis_dec_hold(d, "MIME nesting deeper than %u levels", MAVIS_DEC_MIME_NESTING);
	}
	free(w.leaves);
	return rc < 0 ? rc : 1;
}

int
mavis_dec_mime_walk_message(struct mavis_dec *d, void *gmime_message,
			    struct mavis_dec_part *parent, unsigned level)
{
	GMimeObject *root = g_mime_message_get_mime_part(gmime_message);

	if (root == NULL)
		return 0;
	return walk_object(d, root, parent ? parent->gsrc : NULL, parent ? parent->gsrclen : 0,
			   parent, level, false);
}

/* Does the line [s, e) start with field name "name", optional WSP, ':'?
   Returns the value's start or NULL. Case-insensitive, as GMime. */
static const char *
field_value(const char *s, const char *e, const char *name)
{
	size_t nl = strlen(name);

	if ((size_t)(e - s) <= nl || g_ascii_strncasecmp(s, name, nl) != 0)
		return NULL;
	s += nl;
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	return s < e && *s == ':' ? s + 1 : NULL;
}

/*
 * GMime builds every entity of a message before we see any (about 1.3 KB
 * each): 100 000 empty parts in a 1 MB message cost 130 MB, a 10 MB message
 * over a gigabyte. MIME::Parser stops at max_parts ($MAXFILES) entities;
 * here the parser gets only the prefix of the bytes that holds at most
 * max_entities entity starts. Counted as GMime counts them: lines "--"
 * boundary (then only LWSP) for a boundary declared by a Content-Type field
 * earlier in the bytes (parsed by GMime's own parameter parser, so quoting,
 * RFC 2231 and RFC 2047 give the same value); "--" boundary "--" closes and
 * does not count. Lines that merely look like boundaries (text quoting a
 * declared one) only count more, never less. Returns the prefix length:
 * the start of the first line over the count, or len.
 */
static size_t
mime_prefix(const char *data, size_t len, size_t max_entities)
{
	GHashTable *bounds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	const char *p = data, *end = data + len;
	struct mavis_buf cand = { 0 };
	size_t count = 0, cut = len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		const char *v;

		if (e - p >= 2 && p[0] == '-' && p[1] == '-' && g_hash_table_size(bounds) > 0) {
			const char *b = p + 2, *be = e;

			while (be > b && (be[-1] == ' ' || be[-1] == '\t' || be[-1] == '\r'))
				be--;
			mavis_buf_reset(&cand);
			mavis_buf_append(&cand, b, (size_t)(be - b));
			if (g_hash_table_contains(bounds, mavis_buf_str(&cand)) && ++count > max_entities) {
				cut = (size_t)(p - data);
				break;
			}
		} else if ((v = field_value(p, e, "Content-Type")) != NULL) {
			/* the value with its continuation lines, as GMime's parser
			   hands it to the Content-Type parser */
			const char *ve = e;
			GMimeContentType *ct;

			while (ve < end && ve + 1 < end && (ve[1] == ' ' || ve[1] == '\t')) {
				const char *n2 = memchr(ve + 1, '\n', (size_t)(end - ve - 1));

				ve = n2 ? n2 : end;
			}
			mavis_buf_reset(&cand);
			mavis_buf_append(&cand, v, (size_t)(ve - v));
			ct = g_mime_content_type_parse(NULL, mavis_buf_str(&cand));
			if (ct != NULL) {
				const char *bd = g_mime_content_type_get_parameter(ct, "boundary");

				if (bd != NULL && *bd != '\0')
					g_hash_table_add(bounds, g_strdup(bd));
				g_object_unref(ct);
			}
			e = ve;
			nl = ve < end ? ve : NULL;
		}
		p = nl ? nl + 1 : end;
	}
	mavis_buf_free(&cand);
	g_hash_table_destroy(bounds);
	return cut;
}

static void
drop_wrapper(gpointer ba)
{
	(void)g_byte_array_free(ba, FALSE);	/* the wrapper only: not our bytes */
}

/*
 * A GMime stream over the caller's bytes without copying them
 * (g_mime_stream_mem_new_with_buffer copies: a second message-sized block
 * per message, grown by doubling). The byte array borrows data, the stream
 * does not own the array, and the array's wrapper is freed when the stream
 * is finalised, after every part's substream has let go of it. GMime's
 * parser only reads its stream, so nothing ever writes to or reallocates
 * data; data must outlive the message object (the spool and the decode
 * arena both do: the objects are unreffed when decoding ends).
 */
static GMimeStream *
borrowed_stream(const void *data, size_t len)
{
	GByteArray *ba = g_byte_array_new_take((guint8 *)(uintptr_t)data, len);
	GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(ba);

	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
	g_object_set_data_full(G_OBJECT(stream), "mavis-borrowed-bytes", ba, drop_wrapper);
	return stream;
}

int
mavis_dec_mime_parse(struct mavis_dec *d, const void *data, size_t len,
		     struct mavis_dec_part *parent, unsigned level, bool top)
{
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeParserOptions *opts;
	GMimeMessage *msg;
	GMimeObject *root;
	size_t whole = len;
	int rc;

	mavis_dec_gmime_init();
	if (len > G_MAXINT)
		return 0;	/* GMime sizes are int; no MTA passes 2 GiB mail */
	/* Twice $MAXFILES: a message that would not hit the limit in any one
	   tier still parses whole; one that is cut hits it for certain. */
	len = mime_prefix(data, len, 2 * (size_t)d->lim.max_files);
	if (top && len < whole)
		d->mime_cut = true;
	stream = borrowed_stream(data, len);
	parser = g_mime_parser_new_with_stream(stream);
	g_object_unref(stream);
	opts = g_mime_parser_options_new();
	if (top)
		g_mime_parser_options_set_warning_callback(opts, parser_warning, d);
	msg = g_mime_parser_construct_message(parser, opts);
	g_mime_parser_options_free(opts);
	g_object_unref(parser);
	if (msg == NULL)
		return 0;
	mavis_dec_keep_gobject(d, msg);
	root = g_mime_message_get_mime_part(msg);
	if (root == NULL)
		return 0;
	rc = walk_object(d, root, data, len, parent, level, top);
	if (len < whole)
		mavis_dec_hold(d, "Maximum number of files (%u) exceeded", d->lim.max_files);
	return rc;
}
