/* SPDX-License-Identifier: GPL-2.0-or-later */
/* headers.c - byte-exact header section model and address-list parser */

#include <stdint.h>
#include <string.h>

#include <mavis/buf.h>
#include <mavis/headers.h>
#include <mavis/log.h>

struct mavis_headers {
	struct mavis_arena *arena;
	struct mavis_header_field *fields;
	size_t n;
	size_t cap;
	size_t bytes;	/* raw bytes plus line ends accounted so far */
	size_t max_fields;
	size_t max_bytes;
	bool truncated;
};

static const char empty_str[] = "";

static int
is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static unsigned char
ascii_lower(unsigned char c)
{
	/* Not tolower(): header names compare the same in every locale. */
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

static bool
name_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i]))
			return false;
	return true;
}

struct mavis_headers *
mavis_headers_new(struct mavis_arena *a, const struct mavis_headers_limits *limits)
{
	struct mavis_headers *h = mavis_arena_alloc(a, sizeof(*h));

	h->arena = a;
	h->max_fields = MAVIS_HEADERS_DEFAULT_MAX_FIELDS;
	h->max_bytes = MAVIS_HEADERS_DEFAULT_MAX_BYTES;
	if (limits != NULL) {
		if (limits->max_fields != 0)
			h->max_fields = limits->max_fields;
		if (limits->max_bytes != 0)
			h->max_bytes = limits->max_bytes;
	}
	return h;
}

/* reserve_field - account for one more field of size bytes, or refuse it */
static int
reserve_field(struct mavis_headers *h, size_t size)
{
	if (h->truncated)
		return MAVIS_ERR_LIMIT;
	if (h->n >= h->max_fields || size > h->max_bytes - h->bytes) {
		/* Sticky, so the stored fields stay a prefix of the section. */
		h->truncated = true;
		return MAVIS_ERR_LIMIT;
	}
	if (h->n == h->cap) {
		/* The arena cannot realloc: copy into a doubled array. The
		   abandoned copies add up to less than the final array. */
		size_t ncap = h->cap ? h->cap * 2 : 16;
		struct mavis_header_field *nf;

		if (ncap > h->max_fields)
			ncap = h->max_fields;
		nf = mavis_arena_calloc(h->arena, ncap, sizeof(*nf));
		if (h->n)
			memcpy(nf, h->fields, h->n * sizeof(*nf));
		h->fields = nf;
		h->cap = ncap;
	}
	h->bytes += size;
	return 0;
}

int
mavis_headers_add(struct mavis_headers *h, const char *name, size_t namelen,
		  const char *value, size_t valuelen)
{
	struct mavis_header_field *f;
	char *raw;
	int rc;

	MAVIS_ASSERT(h != NULL);
	MAVIS_ASSERT(name != NULL || namelen == 0);
	MAVIS_ASSERT(value != NULL || valuelen == 0);
	/* Compare before adding so that huge lengths cannot wrap around. */
	if (namelen > h->max_bytes || valuelen > h->max_bytes - namelen) {
		h->truncated = true;
		return MAVIS_ERR_LIMIT;
	}
	rc = reserve_field(h, namelen + 1 + valuelen);
	if (rc != 0)
		return rc;
	/* One contiguous copy "name:value" so that the checks see the field
	   the way a raw message shows it, and value points into it. */
	raw = mavis_arena_alloc(h->arena, namelen + 1 + valuelen + 1);
	if (namelen)
		memcpy(raw, name, namelen);
	raw[namelen] = ':';
	if (valuelen)
		memcpy(raw + namelen + 1, value, valuelen);
	f = &h->fields[h->n++];
	f->name = mavis_arena_memdup(h->arena, name ? name : "", namelen);
	f->namelen = namelen;
	f->value = raw + namelen + 1;
	f->valuelen = valuelen;
	f->raw = raw;
	f->rawlen = namelen + 1 + valuelen;
	f->eol = empty_str;
	f->flags = 0;
	return 0;
}

/* store_raw - keep one field cut out of a raw header block */
static int
store_raw(struct mavis_headers *h, const char *src, size_t len, const char *eol)
{
	struct mavis_header_field *f;
	const char *raw, *nl, *colon;
	size_t eollen = strlen(eol);
	int rc;

	if (len > h->max_bytes || eollen > h->max_bytes - len) {
		h->truncated = true;
		return MAVIS_ERR_LIMIT;
	}
	rc = reserve_field(h, len + eollen);
	if (rc != 0)
		return rc;
	raw = mavis_arena_memdup(h->arena, src, len);
	f = &h->fields[h->n++];
	f->raw = raw;
	f->rawlen = len;
	f->eol = eol;
	/* The name ends at the first colon, which must sit on the first line
	   (a field name cannot be folded). */
	nl = memchr(raw, '\n', len);
	colon = memchr(raw, ':', nl ? (size_t)(nl - raw) : len);
	if (colon == NULL) {
		f->name = empty_str;
		f->namelen = 0;
		f->value = raw;
		f->valuelen = len;
		f->flags = MAVIS_HEADER_F_NOCOLON;
	} else {
		size_t nlen = (size_t)(colon - raw);

		/* Obsolete RFC 822 syntax allowed WSP before the colon. */
		while (nlen > 0 && is_wsp((unsigned char)raw[nlen - 1]))
			nlen--;
		f->name = mavis_arena_memdup(h->arena, raw, nlen);
		f->namelen = nlen;
		f->value = colon + 1;
		f->valuelen = len - (size_t)(colon + 1 - raw);
		f->flags = 0;
	}
	return 0;
}

int
mavis_headers_split_next(const char *block, size_t len, size_t *pos, bool mta_rules,
			 struct mavis_header_span *out)
{
	size_t p = *pos;
	bool have = false;

	while (p < len) {
		const char *nl = memchr(block + p, '\n', len - p);
		size_t end = nl ? (size_t)(nl - block) : len;
		size_t next = nl ? end + 1 : len;
		const char *eol = nl ? "\n" : "";

		/* Only a CR right before the LF belongs to the line end; a
		   bare CR elsewhere is content for the control-char check. */
		if (nl && end > p && block[end - 1] == '\r') {
			end--;
			eol = "\r\n";
		}
		if (have) {
			if (!is_wsp((unsigned char)block[p]) || end == p)
				break;	/* the next field, or the blank line */
			/* Continuation: the field grows over the old line end. */
			out->end = end;
			out->eol = eol;
			p = next;
			continue;
		}
		if (end == p && nl) {
			/* Blank line: end of the header section. */
			*pos = next;
			return 0;
		}
		if (mta_rules && (is_wsp((unsigned char)block[p]) ||
				  memchr(block + p, ':', end - p) == NULL)) {
			/* The MTA ends the header section at a line that is no
			   field: it is the first line of the body. */
			*pos = p;
			return 0;
		}
		/* A leading WSP line with nothing to continue starts a field of
		   its own; the syntax check reports it. */
		have = true;
		out->start = p;
		out->end = end;
		out->eol = eol;
		p = next;
	}
	*pos = p;
	return have ? 1 : 0;
}

int
mavis_headers_parse_block(struct mavis_headers *h, const char *block, size_t len,
			  size_t *body_offset)
{
	struct mavis_header_span f;
	size_t pos = 0;
	int status = 0;

	MAVIS_ASSERT(h != NULL);
	MAVIS_ASSERT(block != NULL || len == 0);
	while (mavis_headers_split_next(block, len, &pos, false, &f) == 1)
		if (store_raw(h, block + f.start, f.end - f.start, f.eol) != 0)
			status = MAVIS_ERR_LIMIT;
	if (body_offset != NULL)
		*body_offset = pos;
	return status;
}

size_t
mavis_headers_count(const struct mavis_headers *h)
{
	return h->n;
}

const struct mavis_header_field *
mavis_headers_nth(const struct mavis_headers *h, size_t i)
{
	return i < h->n ? &h->fields[i] : NULL;
}

bool
mavis_headers_truncated(const struct mavis_headers *h)
{
	return h->truncated;
}

int
mavis_headers_find(const struct mavis_headers *h, const char *name,
		   size_t occurrence, size_t *index_r)
{
	size_t nlen = strlen(name), seen = 0;

	for (size_t i = 0; i < h->n; i++) {
		const struct mavis_header_field *f = &h->fields[i];

		if (name_eq(f->name, f->namelen, name, nlen) && ++seen == occurrence) {
			if (index_r != NULL)
				*index_r = i;
			return 0;
		}
	}
	return MAVIS_ERR_NOTFOUND;
}

size_t
mavis_headers_count_name(const struct mavis_headers *h, const char *name)
{
	size_t nlen = strlen(name), n = 0;

	for (size_t i = 0; i < h->n; i++)
		if (name_eq(h->fields[i].name, h->fields[i].namelen, name, nlen))
			n++;
	return n;
}

size_t
mavis_headers_index_of(const struct mavis_headers *h, size_t i)
{
	size_t n = 0;

	if (i >= h->n)
		return 0;
	for (size_t j = 0; j <= i; j++)
		if (name_eq(h->fields[j].name, h->fields[j].namelen,
			    h->fields[i].name, h->fields[i].namelen))
			n++;
	return n;
}

char *
mavis_headers_unfold(struct mavis_arena *a, const char *value, size_t len,
		     size_t *outlen)
{
	char *out = mavis_arena_alloc(a, len + 1);
	size_t o = 0, start = 0;

	MAVIS_ASSERT(value != NULL || len == 0);
	for (size_t i = 0; i < len; i++) {
		char c = value[i];

		if (c == '\n' || c == '\0')
			continue;
		if (c == '\r' && i + 1 < len && value[i + 1] == '\n')
			continue;
		out[o++] = c;
	}
	while (start < o && is_wsp((unsigned char)out[start]))
		start++;
	while (o > start && is_wsp((unsigned char)out[o - 1]))
		o--;
	out[o] = '\0';
	if (outlen != NULL)
		*outlen = o - start;
	return out + start;
}

/*
 * Address-list parsing. One pass over the bytes with a small state per list
 * item; comments are skipped with a depth counter, not recursion, so nesting
 * costs nothing and hostile input stays linear.
 */

struct addr_list {
	struct mavis_arena *arena;
	struct mavis_address *v;
	size_t n;
	size_t cap;
	bool full;
};

struct addr_item {
	struct mavis_buf phrase;	/* display words, single-spaced */
	struct mavis_buf spec;		/* addr-spec outside angle brackets:
					   the current blank-separated run */
	struct mavis_buf best;		/* first earlier run holding an '@' */
	struct mavis_buf angle;		/* inside <...> */
	struct mavis_buf comment;	/* first comment of the item */
	struct mavis_buf group;		/* current group name */
	size_t route_end;		/* angle bytes before the last route ':' */
	bool in_angle;
	bool angle_seen;
	bool have_comment;
	bool space_pending;
	bool multiword;			/* spec came from several words */
	bool last_at;			/* the last token was '@' */
	bool in_group;
};

static bool
addr_push(struct addr_list *l, const char *addr, size_t alen, const char *display,
	  const char *group)
{
	struct mavis_address *e;

	if (l->n >= MAVIS_HEADERS_MAX_ADDRESSES) {
		l->full = true;
		return false;
	}
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 8;
		struct mavis_address *nv;

		if (ncap > MAVIS_HEADERS_MAX_ADDRESSES)
			ncap = MAVIS_HEADERS_MAX_ADDRESSES;
		nv = mavis_arena_calloc(l->arena, ncap, sizeof(*nv));
		if (l->n)
			memcpy(nv, l->v, l->n * sizeof(*nv));
		l->v = nv;
		l->cap = ncap;
	}
	e = &l->v[l->n++];
	e->addr = mavis_arena_memdup(l->arena, addr, alen);
	e->display = display;
	e->group = group;
	return true;
}

static void
item_reset(struct addr_item *it)
{
	mavis_buf_reset(&it->phrase);
	mavis_buf_reset(&it->spec);
	mavis_buf_reset(&it->best);
	mavis_buf_reset(&it->angle);
	mavis_buf_reset(&it->comment);
	it->route_end = 0;
	it->in_angle = false;
	it->angle_seen = false;
	it->have_comment = false;
	it->space_pending = false;
	it->multiword = false;
	it->last_at = false;
}

static const char *
arena_copy_buf(struct mavis_arena *a, const struct mavis_buf *b)
{
	return b->len ? mavis_arena_memdup(a, b->data, b->len) : NULL;
}

/* item_finish - emit the address of the current item, if it has one */
static bool
item_finish(struct addr_list *l, struct addr_item *it)
{
	const char *display = NULL, *group = NULL;
	const char *addr;
	size_t alen;
	bool ok = true;

	if (it->angle_seen) {
		addr = mavis_buf_str(&it->angle) + it->route_end;
		alen = it->angle.len - it->route_end;
		display = arena_copy_buf(l->arena, &it->phrase);
	} else if (it->best.len > 0) {
		/* "a@b junk": keep the first run that looks like an address. */
		addr = it->best.data;
		alen = it->best.len;
	} else {
		addr = mavis_buf_str(&it->spec);
		alen = it->spec.len;
		/* Several bare words and no '@' is a phrase that lost its
		   address ("To: undisclosed recipients"), not an address. */
		if (it->multiword && memchr(addr, '@', alen) == NULL)
			alen = 0;
	}
	if (display == NULL && it->have_comment)
		display = arena_copy_buf(l->arena, &it->comment);
	if (it->in_group)
		group = arena_copy_buf(l->arena, &it->group);
	if (alen > 0)
		ok = addr_push(l, addr, alen, display, group);
	item_reset(it);
	return ok;
}

/* append_clean - append bytes without line breaks and NULs (unfolding) */
static void
append_clean(struct mavis_buf *b, const char *p, size_t n)
{
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0') {
			if (i > run)
				mavis_buf_append(b, p + run, i - run);
			run = i + 1;
		}
	}
	if (n > run)
		mavis_buf_append(b, p + run, n - run);
}

/* item_word - one atom, quoted string or domain literal */
static void
item_word(struct addr_item *it, const char *raw, size_t rawlen, const char *text,
	  size_t textlen)
{
	if (it->in_angle) {
		append_clean(&it->angle, raw, rawlen);
	} else if (!it->angle_seen) {
		/* A blank between two words starts a new run, except around
		   '@' and '.' where RFC 5322's obsolete syntax allows CFWS
		   ("john @ example.com", "john. smith@x"). The runs without
		   '@' are display words ("John Smith john@x"). */
		if (it->spec.len > 0 && it->space_pending && !it->last_at &&
		    it->spec.data[it->spec.len - 1] != '.' && raw[0] != '.') {
			it->multiword = true;
			if (it->best.len == 0 && memchr(it->spec.data, '@', it->spec.len))
				mavis_buf_append(&it->best, it->spec.data, it->spec.len);
			mavis_buf_reset(&it->spec);
		}
		append_clean(&it->spec, raw, rawlen);
		if (it->phrase.len > 0 && it->space_pending)
			mavis_buf_putc(&it->phrase, ' ');
		append_clean(&it->phrase, text, textlen);
	}
	/* Words after a closed <...> are ignored, as RFC 5322 allows only
	   CFWS there. */
	it->space_pending = false;
	it->last_at = false;
}

static int
is_addr_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0';
}

static int
is_atom_stop(unsigned char c)
{
	return is_addr_space(c) || c == '(' || c == ')' || c == '<' || c == '>' ||
	       c == '@' || c == ',' || c == ';' || c == ':' || c == '"' ||
	       c == '[' || c == ']';
}

/* next_nonspace - first byte at or after i that is not whitespace, or 0 */
static unsigned char
next_nonspace(const char *p, size_t len, size_t i)
{
	while (i < len && is_addr_space((unsigned char)p[i]))
		i++;
	return i < len ? (unsigned char)p[i] : 0;
}

static void
parse_list(struct addr_list *l, const char *p, size_t len)
{
	struct addr_item it;
	size_t i = 0;

	memset(&it, 0, sizeof(it));
	while (i < len && !l->full) {
		unsigned char c = (unsigned char)p[i];

		if (is_addr_space(c)) {
			it.space_pending = true;
			i++;
		} else if (c == '(') {
			size_t j = i + 1, depth = 1, start = i + 1, end;

			while (j < len && depth > 0) {
				if (p[j] == '\\' && j + 1 < len) {
					j += 2;
					continue;
				}
				if (p[j] == '(')
					depth++;
				else if (p[j] == ')')
					depth--;
				j++;
			}
			end = depth == 0 ? j - 1 : j;
			if (!it.have_comment) {
				while (start < end && is_wsp((unsigned char)p[start]))
					start++;
				append_clean(&it.comment, p + start, end - start);
				while (it.comment.len > 0 &&
				       is_wsp((unsigned char)it.comment.data[it.comment.len - 1]))
					it.comment.data[--it.comment.len] = '\0';
				it.have_comment = it.comment.len > 0;
			}
			it.space_pending = true;
			i = j;
		} else if (c == '"') {
			struct mavis_buf text = {0};
			size_t j = i + 1;

			while (j < len && p[j] != '"') {
				if (p[j] == '\\' && j + 1 < len) {
					append_clean(&text, p + j + 1, 1);
					j += 2;
					continue;
				}
				append_clean(&text, p + j, 1);
				j++;
			}
			if (j < len)
				j++;	/* closing quote */
			item_word(&it, p + i, j - i, mavis_buf_str(&text), text.len);
			mavis_buf_free(&text);
			i = j;
		} else if (c == '[') {
			size_t j = i + 1;

			while (j < len && p[j] != ']')
				j++;
			if (j < len)
				j++;
			item_word(&it, p + i, j - i, p + i, j - i);
			i = j;
		} else if (c == '<') {
			if (it.in_angle) {
				/* "<<a@b>": a nested bracket carries nothing. */
			} else {
				/* A second <...> in one item: emit the first. */
				if (it.angle_seen && !item_finish(l, &it))
					break;
				it.in_angle = true;
				it.angle_seen = true;
				mavis_buf_reset(&it.angle);
				it.route_end = 0;
			}
			i++;
		} else if (c == '>') {
			it.in_angle = false;
			i++;
		} else if (c == '@') {
			if (it.in_angle) {
				mavis_buf_putc(&it.angle, '@');
			} else if (!it.angle_seen) {
				mavis_buf_putc(&it.spec, '@');
				mavis_buf_putc(&it.phrase, '@');
			}
			it.space_pending = false;
			it.last_at = true;
			i++;
		} else if (c == ':') {
			if (it.in_angle) {
				/* Source route "<@a,@b:user@dom>": keep the tail. */
				mavis_buf_putc(&it.angle, ':');
				it.route_end = it.angle.len;
			} else if (!it.in_group && !it.angle_seen) {
				mavis_buf_reset(&it.group);
				mavis_buf_append(&it.group, it.phrase.data ? it.phrase.data : "",
						 it.phrase.len);
				item_reset(&it);
				it.in_group = true;
			} else if (!it.angle_seen) {
				mavis_buf_putc(&it.spec, ':');
			}
			i++;
		} else if (c == ',') {
			if (it.in_angle && next_nonspace(p, len, i + 1) == '@') {
				mavis_buf_putc(&it.angle, ',');
			} else if (!item_finish(l, &it)) {
				break;
			}
			i++;
		} else if (c == ';') {
			if (!item_finish(l, &it))
				break;
			it.in_group = false;
			mavis_buf_reset(&it.group);
			i++;
		} else if (c == ')' || c == ']') {
			/* Stray closers carry no meaning; skip them. */
			i++;
		} else {
			size_t j = i;

			while (j < len && !is_atom_stop((unsigned char)p[j]))
				j++;
			item_word(&it, p + i, j - i, p + i, j - i);
			i = j;
		}
	}
	if (!l->full)
		item_finish(l, &it);
	mavis_buf_free(&it.phrase);
	mavis_buf_free(&it.spec);
	mavis_buf_free(&it.best);
	mavis_buf_free(&it.angle);
	mavis_buf_free(&it.comment);
	mavis_buf_free(&it.group);
}

int
mavis_headers_parse_addresses(struct mavis_arena *a, const char *value, size_t len,
			      struct mavis_address **list_r, size_t *n_r)
{
	struct addr_list l = {.arena = a};

	MAVIS_ASSERT(value != NULL || len == 0);
	parse_list(&l, value, len);
	*list_r = l.v;
	*n_r = l.n;
	return l.full ? MAVIS_ERR_LIMIT : 0;
}

int
mavis_headers_addresses(const struct mavis_headers *h, const char *name,
			struct mavis_arena *a, struct mavis_address **list_r,
			size_t *n_r)
{
	struct addr_list l = {.arena = a};
	size_t nlen = strlen(name);

	for (size_t i = 0; i < h->n && !l.full; i++) {
		const struct mavis_header_field *f = &h->fields[i];

		if (name_eq(f->name, f->namelen, name, nlen))
			parse_list(&l, f->value, f->valuelen);
	}
	*list_r = l.v;
	*n_r = l.n;
	return l.full ? MAVIS_ERR_LIMIT : 0;
}
