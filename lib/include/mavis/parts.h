/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_PARTS_H
#define MAVIS_PARTS_H

#include <mavis/api.h>

/*
 * Message decoding: MIME tree, transfer encodings, uuencode, nested messages
 * and archives, all in memory, into a flat list of parts with amavisd-new's
 * attributes (amavisd-new's decoding). The result feeds the banned
 * check (mavis/banned.h) and the virus scanners.
 *
 * Model (amavisd's decompose_mail, read from Amavis/Unpackers*.pm):
 *  - Decoding runs in tiers. Tier 1 is the MIME tree of the message itself:
 *    every entity (multipart containers included) is a part of level 1.
 *    Decoding a part of level L (an archive, a compressed file, a nested
 *    message/rfc822, a text/plain body holding uuencoded files) produces
 *    children of level L+1, except uuencoded files, which MIME::Parser
 *    extracts during the MIME parse and which therefore stay at level L.
 *  - Part numbers follow amavisd's issue order: within one MIME parse the
 *    entities that hold a body come first (in document order), then
 *    containers and preamble/epilogue pseudo parts (tree order); tier by tier
 *    after that. parts[i]->id == i + 1.
 *  - Preambles and epilogues become pseudo parts named "preamble"/"epilogue"
 *    (siblings of their multipart) when they have more than 5 lines or
 *    characters outside [A-Za-z0-9/@:;,. \t\n_-], as amavisd does; otherwise
 *    they are dropped.
 *  - Limits as amavisd: a part that would sit deeper than max_levels stops
 *    decoding with hold "Maximum decoding depth (14) exceeded"; more than
 *    max_files parts on one level gives "Maximum number of files (1500)
 *    exceeded"; decoded bytes beyond the expansion quota give "Exceeded
 *    storage quota N bytes by do_unzip; last chunk M bytes". Any hold stops
 *    all further decoding at once and sets unchecked minor 2. Archive members
 *    are read in chunks of at most 64 KiB, each no larger than what is left
 *    of the quota, and charged before it is written; a full quota is probed
 *    with one small read on the stack. A decompression bomb therefore costs
 *    the quota plus a small constant, never a copy of it.
 *
 * Nothing touches the file system: decoded bytes live in the caller's arena.
 *
 * Threads: mavis_decode_message() may run in any number of threads at once,
 * each with its own arena. g_mime_init() runs once (pthread_once, or
 * mavis_decode_init() at start-up); GMime objects are per call; libmagic
 * handles come from the pool in the limits (filetype.h), made at start-up
 * and reload; compiled pcre2 tables are shared read-only.
 * GMime's g_warning/g_critical output (log domain "gmime") goes to mavis_log
 * at debug level instead of stderr. GLib aborts only on out-of-memory, the
 * same policy as mavis_xmalloc().
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mavis/arena.h>
#include <mavis/error.h>

struct mavis_filetype_pool;

struct mavis_decode_limits {
	unsigned max_levels;		/* $MAXLEVELS (Debian 14); 0 = cap 64 */
	unsigned max_files;		/* $MAXFILES per level (Debian 1500); 0 = cap 100000 */
	uint64_t min_expansion_quota;	/* $MIN_EXPANSION_QUOTA, 100 KiB */
	uint64_t max_expansion_quota;	/* $MAX_EXPANSION_QUOTA, 300 MiB */
	unsigned min_expansion_factor;	/* $MIN_EXPANSION_FACTOR, 5 */
	unsigned max_expansion_factor;	/* $MAX_EXPANSION_FACTOR, 500 */
	/* Process-wide bound on decoding memory in flight (decode_memory_limit,
	   512 MiB): bytes of every call still alive, in all threads, counted in
	   one atomic counter. 0 = count but do not limit. */
	uint64_t memory_limit;
	/* libmagic handles (filetype.h), borrowed for the call; NULL = the
	   process-wide default pool. Not a limit, but set up with them. */
	struct mavis_filetype_pool *filetypes;
};

/* Hard caps that hold whatever the limits say (a 0 limit means "the cap"). */
#define MAVIS_DECODE_LEVELS_CAP 64u
#define MAVIS_DECODE_FILES_CAP 100000u

/* Fill lim with the Debian amavisd-new defaults listed above. */
MAVIS_API void mavis_decode_limits_default(struct mavis_decode_limits *lim);

/* The storage quota for a message of msg_size bytes:
   max(min_quota, size*min_factor, min(max_quota, size*max_factor)),
   saturating instead of overflowing. */
MAVIS_API uint64_t mavis_decode_quota(const struct mavis_decode_limits *lim, uint64_t msg_size);

/* Part attributes, amavisd letters in comments. */
enum mavis_part_attr {
	MAVIS_PART_UNDECIPHERABLE = 1,	/* U: decoder failure, encrypted member */
	MAVIS_PART_ENCRYPTED = 2,	/* C: zip/7z/rar password, pgp.enc, "x/...encrypted" types */
	MAVIS_PART_AMBIGUOUS = 4,	/* B: several boundary= (CVE-2024-28054) */
	MAVIS_PART_DIR = 8,		/* D: archive directory entry */
	MAVIS_PART_SYMLINK = 16,	/* L: archive symbolic or hard link */
	MAVIS_PART_SPECIAL = 32,	/* S: device, fifo, socket entry */
};

/* Write the attribute letters of attrs ("UC", "B", ...) into out, which must
   hold 7 bytes; returns out. */
MAVIS_API char *mavis_part_attr_letters(unsigned attrs, char out[7]);

struct mavis_part {
	unsigned id;			/* 1..; "p%03u" in logs (amavisd base_name) */
	unsigned level;			/* decoding tier, 1 = the message's MIME tree */
	const struct mavis_part *parent;	/* NULL for top-level entities */
	struct mavis_part **children;	/* in document/archive order */
	size_t nchildren;
	const char *placement;		/* amavisd mime_placement: "1", "1/2", "1/2/3" */
	/* Declared file names, UTF-8: Content-Disposition filename and
	   Content-Type name (RFC 2231/2047 decoded, and the raw values when they
	   differ, as amavisd keeps both), an archive member path, a name derived
	   from a compressed file's name, a uuencode "begin" name, or
	   "preamble"/"epilogue". Bytes that are not UTF-8 are read as Latin-1. */
	const char *const *names;
	unsigned nnames;
	const char *name;		/* names[0], or NULL when there is none */
	const char *mime_type;		/* declared type, lowercased; NULL for
					   archive members and pseudo parts */
	const char *mime_type_eff;	/* MIME::Parser's effective type when it
					   differs (unknown transfer encoding:
					   application/octet-stream), else NULL */
	/* amavisd short types from libmagic, e.g. {"exe","exe-ms"}, {"zip"},
	   {"image","png"}, {"empty"}; none for containers and D/L/S entries. */
	const char *const *short_types;
	unsigned nshort_types;
	const char *short_type;		/* short_types[0] or NULL */
	const char *full_type;		/* libmagic text, NULL when not typed */
	const unsigned char *data;	/* decoded bytes in the arena (NUL after
					   len); NULL for containers */
	size_t len;
	unsigned attrs;			/* enum mavis_part_attr bits */
	bool is_leaf;			/* no children: the banned check's leaves */
	bool scan;			/* data should go to virus scanners: every
					   part with data that was not fully
					   replaced by its children (amavisd keeps
					   the original when unpacking failed or
					   was partial, and for text with uuencode) */
};

/* Bits of mavis_decoded.unchecked: CC_UNCHECKED minors present. */
#define MAVIS_UNCHECKED_BIT(minor) (1u << (minor))

struct mavis_decoded {
	struct mavis_part **parts;	/* parts[i]->id == i + 1 */
	size_t nparts;
	/* NULL, or amavisd's hold text: decoding stopped at a limit and the
	   virus scan must be skipped ("NOTICE: Virus scanning skipped: ..."). */
	const char *hold;
	/* CC_UNCHECKED minors: bit 0 undecipherable (set whenever any other is),
	   1 encrypted, 2 over limits (hold), 3 ambiguous content. */
	unsigned unchecked;
	/* The most important minor present (the highest), or -1 for none. */
	int unchecked_minor;
	/* NULL, or the MIME parse problems joined by "; " (at most 250 bytes plus
	   "[...]"), for "BAD HEADER: MIME error: ..." (CC_BADH,1). */
	const char *mime_error;
	uint64_t total_bytes;		/* decoded bytes kept, all parts */
	uint64_t quota;			/* the storage quota that applied */
};

/*
 * Decode a whole message (header and body, CRLF or LF line ends, any bytes)
 * into parts. All results, including *out, are allocated from arena and stay
 * valid until it is reset or freed. lim may be NULL for the defaults.
 * A message that GMime cannot parse at all becomes one part holding every
 * byte (and mime_error is set); an empty message is one "empty" part.
 * Hostile input never makes this fail: limits end in a hold, damaged data in
 * U attributes. Returns 0, or a negative status with err set when the
 * environment is broken (libmagic database missing, GMime unusable), or
 * MAVIS_ERR_RESOURCE when the call would take the process past
 * lim->memory_limit or malloc refuses a size that came from the message
 * (nothing aborts on such sizes): the message is to be tempfailed. On any
 * failure the call's reservations are returned when the arena is reset.
 */
MAVIS_API int mavis_decode_message(const void *msg, size_t len,
			 const struct mavis_decode_limits *lim,
			 struct mavis_arena *arena, struct mavis_decoded **out,
			 struct mavis_error *err);

/* Decoding memory reserved now by all calls in the process: decoded data
   is reserved before it is allocated or written and returned when the arena
   it lives in is reset or freed (the end of the message); scratch memory of
   a call is returned when the call ends. For tests and status output. */
MAVIS_API uint64_t mavis_decode_memory_in_use(void);

/* Optional start-up call (before threads): initialise GMime, compile the
   short-type table and check that libmagic loads. mavis_decode_message()
   does the same lazily. Returns 0 or a negative status with err set. */
MAVIS_API int mavis_decode_init(struct mavis_error *err);

/* Free the process-wide default libmagic pool (mavis_filetype_default_free):
   for exit paths, so that leak checkers stay quiet. No decode may be
   running. */
MAVIS_API void mavis_decode_thread_done(void);

#endif
