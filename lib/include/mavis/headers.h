/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_HEADERS_H
#define MAVIS_HEADERS_H

#include <mavis/api.h>

/*
 * The header section of one message, kept byte-exact.
 *
 * Two ways in, one representation:
 *  - the milter hands fields over one at a time (mavis_headers_add) with the
 *    value as received under SMFIP_HDR_LEADSPC: the leading space and the
 *    folded continuation lines (LF or CRLF + WSP) are kept;
 *  - mavisctl has a raw message (mavis_headers_parse_block), split here into
 *    the same fields. CRLF and LF line ends are both accepted; a bare CR and
 *    NUL are ordinary content bytes; a section without a blank line ends at
 *    the end of the input; a line without a colon is kept as a field with the
 *    MAVIS_HEADER_F_NOCOLON flag (a syntax problem for the bad-header check),
 *    never dropped.
 *
 * Nothing is unfolded or decoded in storage. Each field's raw bytes followed
 * by its eol reproduce the input exactly. All memory comes from the arena
 * given to mavis_headers_new and lives until that arena is reset or freed.
 * Not thread-safe; a message belongs to one thread at a time.
 */

#include <stdbool.h>
#include <stddef.h>

#include <mavis/arena.h>
#include <mavis/error.h>

/* Defaults used when a limit is 0 or the limits pointer is NULL. amavisd
   keeps a 4 MiB sanity limit on the header section; 1000 fields is well
   above any legitimate message (Received chains stop at Postfix's
   hopcount_limit of 50). */
#define MAVIS_HEADERS_DEFAULT_MAX_FIELDS 1000
#define MAVIS_HEADERS_DEFAULT_MAX_BYTES (4u * 1024u * 1024u)
/* At most this many addresses are returned by one address call. */
#define MAVIS_HEADERS_MAX_ADDRESSES 1000

struct mavis_headers_limits {
	size_t max_fields;	/* fields kept; 0 = default */
	size_t max_bytes;	/* sum of raw bytes plus line ends; 0 = default */
};

/* The field had no colon on its first line (name is "", value is the whole
   raw field). */
#define MAVIS_HEADER_F_NOCOLON 0x1u

/* A read-only view of one field. Pointers stay valid as long as the arena. */
struct mavis_header_field {
	const char *name;	/* bytes before the colon, trailing SP/TAB
				   removed; NUL-terminated copy (may hold NUL:
				   use namelen) */
	size_t namelen;
	const char *value;	/* bytes after the colon up to the final line end:
				   leading space and folds kept; NUL-terminated
				   (may hold NUL: use valuelen) */
	size_t valuelen;
	const char *raw;	/* the whole field without its final line end:
				   name [WSP] ':' value; NUL-terminated */
	size_t rawlen;
	const char *eol;	/* the final line end as received: "\r\n", "\n"
				   or "" (milter fields, or end of input) */
	unsigned flags;		/* MAVIS_HEADER_F_* */
};

struct mavis_headers;

/* A new empty header section in arena a. limits may be NULL (defaults). */
MAVIS_API struct mavis_headers *mavis_headers_new(struct mavis_arena *a,
					const struct mavis_headers_limits *limits);

/*
 * Append one field as the milter received it: name (no colon) and value
 * (everything after the colon, without the final CRLF). name and value may
 * be NULL only with length 0. The raw field is stored as name ':' value.
 * Returns 0, or MAVIS_ERR_LIMIT when the field would exceed max_fields or
 * max_bytes: the field is then not stored and the section is marked
 * truncated. Truncation is sticky: every later add and parse also returns
 * MAVIS_ERR_LIMIT without storing, so the stored fields are always a prefix
 * of the real header section.
 */
MAVIS_API int mavis_headers_add(struct mavis_headers *h, const char *name, size_t namelen,
		      const char *value, size_t valuelen);

/*
 * Split the header section at the start of a raw message (block, len bytes,
 * any bytes) and append its fields. *body_offset (may be NULL) is set to the
 * offset of the first body byte: just after the blank line that ends the
 * header section, or len when there is none. Runs in time linear in len.
 * Returns 0, or MAVIS_ERR_LIMIT when fields had to be dropped for the
 * limits; *body_offset is still exact then and the fields that fit are kept.
 */
MAVIS_API int mavis_headers_parse_block(struct mavis_headers *h, const char *block,
			      size_t len, size_t *body_offset);

/* Number of fields stored. */
MAVIS_API size_t mavis_headers_count(const struct mavis_headers *h);

/* Field i (0-based, in message order), or NULL when i is out of range. */
MAVIS_API const struct mavis_header_field *mavis_headers_nth(const struct mavis_headers *h,
						   size_t i);

/* True once a field was dropped because of the limits. */
MAVIS_API bool mavis_headers_truncated(const struct mavis_headers *h);

/*
 * Find the occurrence-th field (1-based, top down) whose name equals name
 * (ASCII case-insensitive). Sets *index_r (may be NULL) to its 0-based
 * position. Returns 0 or MAVIS_ERR_NOTFOUND.
 */
MAVIS_API int mavis_headers_find(const struct mavis_headers *h, const char *name,
		       size_t occurrence, size_t *index_r);

/* Number of fields named name (ASCII case-insensitive). */
MAVIS_API size_t mavis_headers_count_name(const struct mavis_headers *h, const char *name);

/*
 * The 1-based occurrence number of field i among the fields with the same
 * name, the index smfi_chgheader expects. 0 when i is out of range.
 */
MAVIS_API size_t mavis_headers_index_of(const struct mavis_headers *h, size_t i);

/*
 * A display copy of a field value: line breaks of folds removed (the
 * whitespace after them kept, RFC 5322 unfolding), leading and trailing
 * SP/TAB trimmed. NUL bytes are dropped so the result is a proper C string.
 * *outlen (may be NULL) gets its length. Never NULL.
 */
MAVIS_API char *mavis_headers_unfold(struct mavis_arena *a, const char *value, size_t len,
			   size_t *outlen);

/* One address found in an address-list field. */
struct mavis_address {
	const char *addr;	/* addr-spec as written, comments and folding
				   whitespace removed, quoted local parts kept
				   quoted, source route dropped; never empty */
	const char *display;	/* display name (quotes removed, whitespace
				   collapsed; no RFC 2047 decoding) or the first
				   comment when there is no phrase; NULL if none */
	const char *group;	/* name of the enclosing group, or NULL */
};

/*
 * Parse one address-list value (From, Sender, To, Cc, Reply-To ...):
 * display names, quoted strings, nested comments, angle addresses with
 * source routes, groups. Lenient: unbalanced quotes, comments and angle
 * brackets end at the end of the input, empty items are skipped. Linear
 * time, no recursion. Appends to nothing: *list_r is a new arena array of
 * *n_r entries (NULL and 0 when there are none). Returns 0, or
 * MAVIS_ERR_LIMIT when more than MAVIS_HEADERS_MAX_ADDRESSES were present
 * (the first ones are returned).
 */
MAVIS_API int mavis_headers_parse_addresses(struct mavis_arena *a, const char *value,
				  size_t len, struct mavis_address **list_r,
				  size_t *n_r);

/*
 * The addresses of every field named name (ASCII case-insensitive), in
 * message order, as mavis_headers_parse_addresses. Returns 0 (also when no
 * such field exists: *n_r = 0) or MAVIS_ERR_LIMIT.
 */
MAVIS_API int mavis_headers_addresses(const struct mavis_headers *h, const char *name,
			    struct mavis_arena *a, struct mavis_address **list_r,
			    size_t *n_r);

#endif
