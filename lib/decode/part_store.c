/* SPDX-License-Identifier: GPL-2.0-or-later */
/* part_store.c - the decoder's part records: names, data, quota, holds */

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/alloc.h>
#include <mavis/log.h>

#include "decode/decode_int.h"

char *
mavis_part_attr_letters(unsigned attrs, char out[7])
{
	static const struct {
		unsigned bit;
		char letter;
	} map[] = {
		{ MAVIS_PART_UNDECIPHERABLE, 'U' }, { MAVIS_PART_ENCRYPTED, 'C' },
		{ MAVIS_PART_AMBIGUOUS, 'B' },	    { MAVIS_PART_DIR, 'D' },
		{ MAVIS_PART_SYMLINK, 'L' },	    { MAVIS_PART_SPECIAL, 'S' },
	};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (attrs & map[i].bit)
			out[n++] = map[i].letter;
	out[n] = '\0';
	return out;
}

int
mavis_dec_fail(struct mavis_dec *d, int status, const char *fmt, ...)
{
	va_list ap;
	char text[MAVIS_ERROR_MAX];

	if (d->fatal == 0) {
		va_start(ap, fmt);
		vsnprintf(text, sizeof(text), fmt, ap);
		va_end(ap);
		d->fatal = status;
		mavis_error_set(d->err, status, "%s", text);
	}
	d->stopped = true;
	return status;
}

/* Decoding memory of every call in the process. One counter, no lock:
   reservations race only for the last bytes below the limit, and the
   compare-and-swap loop gives them to one caller. */
static _Atomic uint64_t budget_used;

struct mavis_dec_resv {
	uint64_t bytes;
};

uint64_t
mavis_decode_memory_in_use(void)
{
	return atomic_load(&budget_used);
}

/* Arena cleanup: the message's decoded data goes with its arena. */
static void
resv_release(void *arg)
{
	struct mavis_dec_resv *r = arg;

	atomic_fetch_sub(&budget_used, r->bytes);
	r->bytes = 0;
}

int
mavis_dec_reserve(struct mavis_dec *d, uint64_t n)
{
	uint64_t lim = d->lim.memory_limit;
	uint64_t cur;

	if (d->fatal < 0)
		return d->fatal;
	if (d->resv == NULL) {
		d->resv = mavis_arena_alloc(d->arena, sizeof(*d->resv));
		mavis_arena_on_reset(d->arena, resv_release, d->resv);
	}
	cur = atomic_load(&budget_used);
	do {
		if (lim != 0 && (n > lim || cur > lim - n))
			return mavis_dec_fail(d, MAVIS_ERR_RESOURCE,
					      "decode_memory_limit (%llu bytes) reached: "
					      "%llu in use by all messages, %llu more wanted",
					      (unsigned long long)lim, (unsigned long long)cur,
					      (unsigned long long)n);
	} while (!atomic_compare_exchange_weak(&budget_used, &cur, cur + n));
	d->resv->bytes += n;
	return 0;
}

void
mavis_dec_unreserve(struct mavis_dec *d, uint64_t n)
{
	if (d->resv == NULL || n == 0)
		return;
	if (n > d->resv->bytes)
		n = d->resv->bytes;
	d->resv->bytes -= n;
	atomic_fetch_sub(&budget_used, n);
}

unsigned char *
mavis_dec_heap(struct mavis_dec *d, size_t n)
{
	unsigned char *p;

	if (mavis_dec_reserve(d, n) < 0)
		return NULL;
	p = malloc(n ? n : 1);
	if (p == NULL) {
		mavis_dec_unreserve(d, n);
		mavis_dec_fail(d, MAVIS_ERR_RESOURCE, "out of memory decoding (%zu bytes)", n);
	}
	return p;
}

unsigned char *
mavis_dec_heap_grow(struct mavis_dec *d, unsigned char *p, size_t n)
{
	unsigned char *np = realloc(p, n);

	if (np == NULL)
		mavis_dec_fail(d, MAVIS_ERR_RESOURCE, "out of memory decoding (%zu bytes)", n);
	return np;
}

void
mavis_dec_hold(struct mavis_dec *d, const char *fmt, ...)
{
	va_list ap;

	if (d->out->hold == NULL) {
		va_start(ap, fmt);
		d->out->hold = mavis_arena_vprintf(d->arena, fmt, ap);
		va_end(ap);
	}
	d->stopped = true;
}

struct mavis_dec_part *
mavis_dec_part_new(struct mavis_dec *d, unsigned level, enum mavis_dec_kind kind)
{
	struct mavis_decoded *out = d->out;
	struct mavis_dec_part *p;

	if (d->stopped)
		return NULL;
	/* amavisd: a tier beyond $MAXLEVELS that has parts at all stops
	   everything; the part that would open that tier is not made. */
	if (level > d->lim.max_levels) {
		mavis_dec_hold(d, "Maximum decoding depth (%u) exceeded", d->lim.max_levels);
		return NULL;
	}
	/* amavisd counts issued names per tier (NewFilename parts_list_reset). */
	if (d->level_count[level] >= d->lim.max_files) {
		mavis_dec_hold(d, "Maximum number of files (%u) exceeded", d->lim.max_files);
		return NULL;
	}
	if (out->nparts >= MAVIS_DECODE_FILES_CAP) {
		mavis_dec_hold(d, "Maximum number of files (%u) exceeded",
			       MAVIS_DECODE_FILES_CAP);
		return NULL;
	}
	d->level_count[level]++;
	if (out->nparts == d->parts_cap) {
		/* Doubling inside the arena wastes at most the final array size. */
		size_t ncap = d->parts_cap ? d->parts_cap * 2 : 64;
		struct mavis_part **np = mavis_arena_calloc(d->arena, ncap, sizeof(*np));

		if (out->nparts)
			memcpy(np, out->parts, out->nparts * sizeof(*np));
		out->parts = np;
		d->parts_cap = ncap;
	}
	p = mavis_arena_alloc(d->arena, sizeof(*p));
	p->kind = kind;
	p->pub.id = (unsigned)out->nparts + 1;
	p->pub.level = level;
	p->pub.names = p->names;
	p->pub.short_types = p->types;
	out->parts[out->nparts++] = &p->pub;
	return p;
}

void
mavis_dec_link(struct mavis_dec *d, struct mavis_dec_part *child,
	       struct mavis_dec_part *parent)
{
	child->pub.parent = parent ? &parent->pub : NULL;
	if (parent == NULL)
		return;
	if (parent->pub.nchildren == parent->children_cap) {
		size_t ncap = parent->children_cap ? parent->children_cap * 2 : 4;
		struct mavis_part **nc = mavis_arena_calloc(d->arena, ncap, sizeof(*nc));

		if (parent->pub.nchildren)
			memcpy(nc, parent->pub.children,
			       parent->pub.nchildren * sizeof(*nc));
		parent->pub.children = nc;
		parent->children_cap = ncap;
	}
	parent->pub.children[parent->pub.nchildren++] = &child->pub;
}

const char *
mavis_dec_placement(struct mavis_dec *d, const char *base, unsigned n)
{
	if (base == NULL || *base == '\0')
		return mavis_arena_printf(d->arena, "%u", n);
	return mavis_arena_printf(d->arena, "%s/%u", base, n);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid.
   Overlongs, surrogates and code points above U+10FFFF are invalid. */
static size_t
utf8_seq(const unsigned char *s, size_t len)
{
	unsigned c = s[0];
	size_t n;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* UTF-8 copy of a name. Like amavisd (safe_decode_latin1 for undeclared
   charsets) bytes that are not valid UTF-8 as a whole are read as Latin-1.
   NULs become U+FFFD so that the result is a C string. Cut at max bytes. */
static char *
name_utf8(struct mavis_arena *a, const char *bytes, size_t len, size_t max)
{
	static const unsigned char repl[3] = { 0xef, 0xbf, 0xbd };	/* U+FFFD */
	const unsigned char *s = (const unsigned char *)bytes;
	bool valid = true;
	char *out;
	size_t o = 0;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(s + i, len - i);

		if (n == 0) {
			valid = false;
			break;
		}
		i += n;
	}
	out = mavis_arena_alloc(a, max + 1);
	for (size_t i = 0; i < len;) {
		unsigned char l1[2];
		const unsigned char *src;
		size_t n, used;

		if (s[i] == 0) {
			src = repl, n = 3, used = 1;
		} else if (valid) {
			src = s + i, n = utf8_seq(s + i, len - i), used = n;
		} else if (s[i] < 0x80) {
			src = s + i, n = 1, used = 1;
		} else {
			l1[0] = (unsigned char)(0xc0 | (s[i] >> 6));
			l1[1] = (unsigned char)(0x80 | (s[i] & 0x3f));
			src = l1, n = 2, used = 1;
		}
		if (o + n > max)
			break;
		memcpy(out + o, src, n);
		o += n;
		i += used;
	}
	out[o] = '\0';
	return out;
}

void
mavis_dec_add_name(struct mavis_dec *d, struct mavis_dec_part *p, const char *bytes,
		   size_t len)
{
	char *name;

	if (bytes == NULL || len == 0 || p->pub.nnames >= MAVIS_DEC_MAX_NAMES)
		return;
	name = name_utf8(d->arena, bytes, len, MAVIS_DEC_NAME_MAX);
	if (*name == '\0')
		return;
	for (unsigned i = 0; i < p->pub.nnames; i++)
		if (strcmp(p->names[i], name) == 0)
			return;
	p->names[p->pub.nnames++] = name;
	p->pub.name = p->names[0];
}

int
mavis_dec_charge(struct mavis_dec *d, uint64_t n, bool exquota, const char *whom)
{
	uint64_t left = d->charged < d->quota ? d->quota - d->charged : 0;

	/* amavisd (consumed_bytes) compares each chunk with what is left. Unlike
	   amavisd, a quota already overdrawn by the top-level MIME decode still
	   stops archives: amavisd stops checking once the remainder is negative. */
	if (!exquota && n > left) {
		mavis_dec_hold(d, "Exceeded storage quota %llu bytes by %s; last chunk %llu bytes",
			       (unsigned long long)d->quota, whom, (unsigned long long)n);
		return -1;
	}
	d->charged += n;
	return 0;
}

/* Members up to this size are copied into the arena's blocks (no heap
   block of their own); larger ones are adopted. */
#define TAKE_COPY_MAX (64 * 1024)

static int
type_part(struct mavis_dec *d, struct mavis_dec_part *p)
{
	const char *full = NULL;
	const char *shorts[MAVIS_FILETYPE_MAX_SHORT];
	unsigned n;
	int rc;

	rc = mavis_filetype_describe(d->lim.filetypes, p->pub.data, p->pub.len, d->arena, &full, d->err);
	if (rc < 0)
		return mavis_dec_fail(d, rc, "%s", d->err ? d->err->text : "libmagic failed");
	p->pub.full_type = full;
	n = mavis_filetype_short(full, shorts);
	for (unsigned i = 0; i < n; i++) {
		p->types[i] = shorts[i];
		if (strcmp(shorts[i], "pgp.enc") == 0)
			p->pub.attrs |= MAVIS_PART_ENCRYPTED;	/* amavisd: C only */
	}
	p->pub.nshort_types = n;
	p->pub.short_type = n ? p->types[0] : NULL;
	return 0;
}

int
mavis_dec_keep_data(struct mavis_dec *d, struct mavis_dec_part *p, unsigned char *data,
		    size_t len)
{
	data[len] = '\0';
	p->pub.data = data;
	p->pub.len = len;
	d->out->total_bytes += len;
	return type_part(d, p);
}

int
mavis_dec_set_data(struct mavis_dec *d, struct mavis_dec_part *p, const void *data,
		   size_t len)
{
	unsigned char *copy;

	if (mavis_dec_reserve(d, (uint64_t)len + 1) < 0)
		return d->fatal;
	copy = mavis_arena_try_alloc_uninit(d->arena, len + 1);
	if (copy == NULL)
		return mavis_dec_fail(d, MAVIS_ERR_RESOURCE, "out of memory decoding (%zu bytes)",
				      len + 1);
	if (len)
		memcpy(copy, data, len);
	return mavis_dec_keep_data(d, p, copy, len);
}

int
mavis_dec_take_data(struct mavis_dec *d, struct mavis_dec_part *p, unsigned char *heap,
		    size_t len, size_t reserved)
{
	unsigned char *shrunk;
	int rc;

	if (len <= TAKE_COPY_MAX) {
		/* Given back first: the copy then fits a budget the heap
		   block alone filled. */
		mavis_dec_unreserve(d, reserved);
		rc = mavis_dec_set_data(d, p, heap, len);
		free(heap);
		return rc;
	}
	/* Kept where it was read: a copy would hold a member twice, and a
	   decompression bomb read up to the quota would cost twice the quota.
	   Shrinking returns what the reader reserved beyond len (glibc moves
	   the pages of a large block, it does not copy them); a refused
	   shrink keeps the block as it is. */
	if (reserved > len + 1)
		mavis_dec_unreserve(d, reserved - (len + 1));
	shrunk = realloc(heap, len + 1);
	if (shrunk != NULL)
		heap = shrunk;
	heap[len] = '\0';
	mavis_arena_adopt(d->arena, heap, len + 1);
	p->pub.data = heap;
	p->pub.len = len;
	d->out->total_bytes += len;
	return type_part(d, p);
}

void
mavis_dec_mime_error(struct mavis_dec *d, const char *text)
{
	const char *have = mavis_buf_str(&d->mime_err);
	size_t tl = strlen(text);

	/* Drop repeats ("; text;" anywhere in the joined list). */
	for (const char *s = have; (s = strstr(s, text)) != NULL; s++)
		if ((s == have || (s >= have + 2 && s[-2] == ';')) &&
		    (s[tl] == '\0' || s[tl] == ';'))
			return;
	if (d->mime_err.len > 4 * MAVIS_DEC_MIME_ERROR_MAX)
		return;	/* already more than will be shown */
	if (d->mime_err.len)
		mavis_buf_puts(&d->mime_err, "; ");
	mavis_buf_puts(&d->mime_err, text);
}

void
mavis_dec_keep_gobject(struct mavis_dec *d, void *gobj)
{
	if (d->ngobjs == d->gobjs_cap) {
		d->gobjs_cap = d->gobjs_cap ? d->gobjs_cap * 2 : 8;
		d->gobjs = mavis_xrealloc(d->gobjs, d->gobjs_cap * sizeof(*d->gobjs));
	}
	d->gobjs[d->ngobjs++] = gobj;
}
