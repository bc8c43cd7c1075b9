/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_DECODE_INT_H
#define MAVIS_DECODE_INT_H

/*
 * Internal interface of the decoder (mavis/parts.h). The files of lib/decode
 * stand in layers, each using only those below it:
 *   filetype.c    libmagic classification (knows nothing of parts)
 *   part_store.c  part records: names, data, quota charges, holds
 *   mime_params.c, uudecode.c, mime_walk.c (GMime), archive.c (libarchive):
 *                 the walkers, which make parts in the store
 *   decode.c      the driver: limits, and expanding each part with a walker
 * Not installed; symbols are hidden from the shared library.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mavis/buf.h>
#include <mavis/filetype.h>
#include <mavis/parts.h>

#define MAVIS_DEC_MAX_NAMES 8		/* names kept per part */
#define MAVIS_DEC_NAME_MAX 1024		/* bytes kept of one name */
#define MAVIS_DEC_MIME_NESTING 128	/* multipart nesting walked per message */
#define MAVIS_DEC_MIME_ERROR_MAX 250	/* amavisd truncates its MIME error text */

/* What expanding a part means (decided when the part is made). */
enum mavis_dec_kind {
	MAVIS_DEC_PLAIN = 0,	/* leaf data: maybe an archive (by short type) */
	MAVIS_DEC_CONTAINER,	/* multipart: children made with it */
	MAVIS_DEC_MESSAGE,	/* message/rfc822 parsed by GMime: walk gobj */
	MAVIS_DEC_MESSAGE_RAW,	/* message/rfc822 left encoded: parse data */
	MAVIS_DEC_PSEUDO,	/* preamble, epilogue, archive entry: no MIME */
};

struct mavis_dec_part {
	struct mavis_part pub;		/* first member: casts both ways */
	size_t children_cap;
	const char *names[MAVIS_DEC_MAX_NAMES];
	const char *types[MAVIS_FILETYPE_MAX_SHORT];
	enum mavis_dec_kind kind;
	void *gobj;			/* MESSAGE: the GMimeMessage (borrowed) */
	const char *gsrc;		/* MESSAGE: the bytes gobj was parsed from */
	size_t gsrclen;
	bool retained;			/* decoding was partial: keep scanning data */
};

struct mavis_dec_resv;

struct mavis_dec {
	struct mavis_decode_limits lim;	/* normalised: no zeros */
	struct mavis_arena *arena;
	struct mavis_decoded *out;
	size_t parts_cap;
	uint64_t quota;
	uint64_t charged;		/* bytes charged against quota */
	struct mavis_dec_resv *resv;	/* budget held until the arena resets */
	unsigned *level_count;		/* parts per level, [0..max_levels] */
	bool stopped;			/* a hold was set: no more decoding */
	bool mime_cut;			/* the top-level parse saw only a prefix */
	int fatal;			/* negative status: environment broken */
	struct mavis_error *err;
	struct mavis_buf mime_err;	/* joined MIME error texts (heap) */
	void **gobjs;			/* GObjects to unref at the end (heap) */
	size_t ngobjs, gobjs_cap;
};

static inline struct mavis_dec_part *
mavis_dec_cast(struct mavis_part *p)
{
	return (struct mavis_dec_part *)p;
}

/* part_store.c */

/* A new part record on level, not yet linked to a parent. NULL when a limit
   stops decoding (the hold is set) or decoding had stopped before. */
struct mavis_dec_part *mavis_dec_part_new(struct mavis_dec *d, unsigned level,
					  enum mavis_dec_kind kind);
/* Append child to parent's children (parent NULL: top level). */
void mavis_dec_link(struct mavis_dec *d, struct mavis_dec_part *child,
		    struct mavis_dec_part *parent);
/* Placement "base/n" (or "n" without base), arena copy. */
const char *mavis_dec_placement(struct mavis_dec *d, const char *base, unsigned n);
/* Add a declared name from raw bytes: made UTF-8 (Latin-1 fallback), cut to
   MAVIS_DEC_NAME_MAX at a character boundary, duplicates and empty names
   skipped, at most MAVIS_DEC_MAX_NAMES. */
void mavis_dec_add_name(struct mavis_dec *d, struct mavis_dec_part *p,
			const char *bytes, size_t len);
/* Charge n decoded bytes. With exquota the bytes only count (amavisd lets
   the top-level MIME decode exceed the quota); otherwise a chunk larger than
   what is left sets the quota hold and returns -1. whom names the decoder in
   the hold text ("do_unzip"). */
int mavis_dec_charge(struct mavis_dec *d, uint64_t n, bool exquota, const char *whom);
/* Reserve n bytes of the process-wide decoding budget for this message
   (held until the arena is reset). When that would pass lim.memory_limit,
   records MAVIS_ERR_RESOURCE with mavis_dec_fail() and returns it. */
int mavis_dec_reserve(struct mavis_dec *d, uint64_t n);
/* Return n reserved bytes early (memory freed before the message ends). */
void mavis_dec_unreserve(struct mavis_dec *d, uint64_t n);
/* n bytes from the heap, reserved first; NULL with MAVIS_ERR_RESOURCE
   recorded when the budget or malloc refuses (sizes from mail must never
   abort the process). */
unsigned char *mavis_dec_heap(struct mavis_dec *d, size_t n);
/* Grow a buffer from mavis_dec_heap to n bytes (address space only: the
   caller reserves what it writes). NULL and the failure recorded when
   realloc refuses; the old block is then still valid. */
unsigned char *mavis_dec_heap_grow(struct mavis_dec *d, unsigned char *p, size_t n);
/* Keep data (copied into the arena, NUL-terminated) as the part's content
   and type it with libmagic. Does not charge the quota; reserves the copy
   (negative status when the budget is spent). */
int mavis_dec_set_data(struct mavis_dec *d, struct mavis_dec_part *p,
		       const void *data, size_t len);
/* Keep data that already lives in the arena (len + 1 bytes; the NUL is
   written here) and type it. */
int mavis_dec_keep_data(struct mavis_dec *d, struct mavis_dec_part *p,
			unsigned char *data, size_t len);
/* Take heap memory (malloc'd, len bytes, at least len+1 allocated, of
   which reserved bytes are reserved) as the part's content, then type it:
   small data is copied into the arena and the block freed, a large block
   is shrunk to len+1 and adopted by the arena (no copy). */
int mavis_dec_take_data(struct mavis_dec *d, struct mavis_dec_part *p,
			unsigned char *heap, size_t len, size_t reserved);
/* Set the hold (the first one wins) and stop decoding. */
void mavis_dec_hold(struct mavis_dec *d, const char *fmt, ...) MAVIS_PRINTF(2, 3);
/* Record a MIME parse problem for mime_error (duplicates dropped). */
void mavis_dec_mime_error(struct mavis_dec *d, const char *text);
/* Keep a GObject alive until the end of the call. */
void mavis_dec_keep_gobject(struct mavis_dec *d, void *gobj);
/* Record an environment failure (first wins); returns the status. */
int mavis_dec_fail(struct mavis_dec *d, int status, const char *fmt, ...) MAVIS_PRINTF(3, 4);

/* mime_walk.c */

/* GMime once per process; the "gmime" log domain goes to mavis_log. */
void mavis_dec_gmime_init(void);
/* Parse len bytes as a message and add its entities on level, below parent
   (NULL: top level) with placements under base ("1" when base is NULL).
   top: collect parse problems into mime_error. Returns 1 when parsed, 0 when
   GMime found no message, negative on environment failure. */
int mavis_dec_mime_parse(struct mavis_dec *d, const void *data, size_t len,
			 struct mavis_dec_part *parent, unsigned level, bool top);
/* Drop the references taken with mavis_dec_keep_gobject(). */
void mavis_dec_unref_all(struct mavis_dec *d);
/* Walk an already parsed GMimeMessage below parent (kind MESSAGE). */
int mavis_dec_mime_walk_message(struct mavis_dec *d, void *gmime_message,
				struct mavis_dec_part *parent, unsigned level);

/* mime_params.c */

/* The boundary= parameters amavisd-new counts in the raw value of a
   multipart entity's first Content-Type field (CVE-2024-28054; more than
   one makes the content ambiguous): only on the value's first line, only
   consecutive "; name=value" parameters with word-character names and
   word or quoted values from the start. 0 when the value does not start
   with "multipart/" (case-sensitive, as amavisd matches it). */
unsigned mavis_dec_boundary_count(const char *raw, size_t len);
/* Add every value of parameter name (plain, quoted, RFC 2231 extended or
   continued, RFC 2047 inside quotes) found in a raw header value to p's
   names, decoded and raw. */
void mavis_dec_param_names(struct mavis_dec *d, struct mavis_dec_part *p,
			   const char *raw, size_t len, const char *name);

/* uudecode.c */

struct mavis_uu_block {
	size_t name_off, name_len;	/* file name in the "begin" line */
	size_t body_off;		/* first line after "begin" */
	size_t end_off;			/* offset after the block ("end" line) */
};
/* Find the next "begin NNN name" line at or after *pos (a line start).
   Returns true and fills blk, setting *pos past the block; false when there
   is none. */
bool mavis_uu_next(const unsigned char *data, size_t len, size_t *pos,
		   struct mavis_uu_block *blk);
/* Decode a block's lines into out, which must hold blk->end_off -
   blk->body_off bytes; returns the number of bytes written. */
size_t mavis_uu_decode(const unsigned char *data, const struct mavis_uu_block *blk,
		       unsigned char *out);

/* archive.c */

/* Unpack p when its short type names a format libarchive reads. Returns 1
   when p was an archive (children added, attributes set), 0 when its type
   is not one, negative on environment failure. */
int mavis_dec_archive(struct mavis_dec *d, struct mavis_dec_part *p);

#endif
