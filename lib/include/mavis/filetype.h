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
 * Thread-safe: libmagic handles are per thread, the compiled table is shared.
 */

#include <stddef.h>

#include <mavis/arena.h>
#include <mavis/error.h>

#define MAVIS_FILETYPE_MAX_SHORT 4

/* Compile the short-type table and check that libmagic opens and loads its
   database in this thread. Runs once per process (later calls return the
   first result, except that each thread opens its own libmagic handle
   lazily). Returns 0, or a negative status with err set. */
MAVIS_API int mavis_filetype_init(struct mavis_error *err);

/* Close the calling thread's libmagic handle (reopened on next use). */
MAVIS_API void mavis_filetype_thread_done(void);

/* Map a libmagic description to short types ("exe","exe-ms"). Writes up to
   MAVIS_FILETYPE_MAX_SHORT static strings to out and returns their number
   (at least 1: the catch-all is "dat"). */
MAVIS_API unsigned mavis_filetype_short(const char *full_type,
			      const char *out[MAVIS_FILETYPE_MAX_SHORT]);

/* Describe len bytes with libmagic (the first MiB is examined). *full_out is
   an arena copy of the description ("empty" for len 0). Returns 0, or
   MAVIS_ERR_INTERNAL with err set when libmagic cannot be opened or loaded;
   a buffer libmagic fails on is described as "data". */
MAVIS_API int mavis_filetype_describe(const void *data, size_t len, struct mavis_arena *arena,
			    const char **full_out, struct mavis_error *err);

#endif
