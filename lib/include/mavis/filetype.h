/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_FILETYPE_H
#define MAVIS_FILETYPE_H

#include <mavis/api.h>

/*
 * File types: libmagic's description of a buffer, and amavisd-new's short
 * types for it ($map_full_type_to_short_type_re: an ordered regex table,
 * first match wins). The table is amavisd 2.13's, with entries added for the
 * texts that libmagic 5.4x prints today ("PE32 executable (DLL) ... for MS
 * Windows", "HTML document, ASCII text", ...); see lib/decode/filetype.c.
 *
 * Threads: libmagic handles are not thread-safe, and loading one costs a
 * database load and a few MB, so they live in a pool made at start-up (and
 * again at reload), never per thread or per connection. A describe call
 * checks a handle out for the length of one libmagic call: lock-free while
 * a handle is free, a short wait on a condition variable when every handle
 * is busy. The compiled short-type table is shared read-only.
 */

#include <stdbool.h>
#include <stddef.h>

#include <mavis/arena.h>
#include <mavis/error.h>

#define MAVIS_FILETYPE_MAX_SHORT 4

/* Handles in one pool, at most (filetype_pool_size's bound). */
#define MAVIS_FILETYPE_POOL_MAX 256

/* libmagic examines at most this many leading bytes of a part; describe
   hands it no more than that. */
#define MAVIS_FILETYPE_BYTES_MAX (1024 * 1024)

struct mavis_filetype_pool;

enum mavis_filetype_flags {
	/* Describe text in full: run libmagic's text tests (HTML, XML,
	   scripts, mail, ...), which cost about as much as all the others
	   together. Without this flag a part that no binary test recognises
	   and that libmagic's encoding check calls text is described by the
	   encoding check alone ("ASCII text", "ISO-8859 text"), unless it
	   holds an armored PGP block (its "pgp.enc" type marks the part
	   encrypted). Short types that only text tests give (html, xml, ps,
	   lat, url, ...) are then not seen: leave the flag off only when no
	   banned rule looks at them (mavis_filetype_text_types_matter). */
	MAVIS_FILETYPE_TEXT_DETAIL = 1,
};

/* Compile the short-type table (once per process). Returns 0, or a negative
   status with err set. */
MAVIS_API int mavis_filetype_init(struct mavis_error *err);

/* A pool of size libmagic handles (0 = one per online CPU; capped at
   MAVIS_FILETYPE_POOL_MAX), each with the database loaded. flags are
   enum mavis_filetype_flags. Returns 0 with *out set, or a negative status
   with err set (libmagic cannot open or load its database). */
MAVIS_API int mavis_filetype_pool_new(unsigned size, unsigned flags, struct mavis_filetype_pool **out,
			    struct mavis_error *err);

/* Close every handle and free the pool; no describe call may be using it.
   NULL and *pool == NULL are no-ops; *pool is set to NULL. */
MAVIS_API void mavis_filetype_pool_free(struct mavis_filetype_pool **pool);

/* Number of handles in pool. */
MAVIS_API unsigned mavis_filetype_pool_size(const struct mavis_filetype_pool *pool);

/* Free the process-wide default pool (used by describe calls given no
   pool), if one was made. For exit paths and leak checkers: no describe
   call may be running. */
MAVIS_API void mavis_filetype_default_free(void);

/* Map a libmagic description to short types ("exe","exe-ms"). Writes up to
   MAVIS_FILETYPE_MAX_SHORT static strings to out and returns their number
   (at least 1: the catch-all is "dat"). */
MAVIS_API unsigned mavis_filetype_short(const char *full_type,
			      const char *out[MAVIS_FILETYPE_MAX_SHORT]);

/* Could the short type t come from libmagic's text tests, i.e. might it be
   missing, or be another type, when MAVIS_FILETYPE_TEXT_DETAIL is off?
   Conservative: true for every type that some text can be given ("txt",
   "asc", "html", "image" (svg), "dat", ...), false only for types that
   come from binary signatures ("exe-ms", "zip", "gz", ...). */
MAVIS_API bool mavis_filetype_text_derived(const char *t);

/* Every short type the table can give, "dat" and "empty" included, as a
   NULL-terminated static array (for rule analysis). */
MAVIS_API const char *const *mavis_filetype_all_short(void);

/* Describe len bytes with libmagic (the first MAVIS_FILETYPE_BYTES_MAX are
   examined) using a handle of pool, or of the process-wide default pool
   (one handle per CPU, text in full, made on first use) when pool is NULL.
   *full_out is an arena copy of the description ("empty" for len 0).
   Returns 0, or MAVIS_ERR_INTERNAL with err set when libmagic cannot be
   opened or loaded; a buffer libmagic fails on is described as "data". */
MAVIS_API int mavis_filetype_describe(struct mavis_filetype_pool *pool, const void *data, size_t len,
			    struct mavis_arena *arena, const char **full_out,
			    struct mavis_error *err);

#endif
