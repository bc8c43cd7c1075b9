/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_ARENA_H
#define MAVIS_ARENA_H

#include <mavis/api.h>

/*
 * Bump allocator. A message, a config snapshot or a test owns one arena and
 * frees everything at once with mavis_arena_free(&a) (or keeps the arena and
 * drops its contents with mavis_arena_reset). Memory is zeroed. Not thread-safe:
 * an arena belongs to one thread at a time. Allocations never return NULL
 * (except mavis_arena_try_alloc_uninit).
 */

#include <stdarg.h>
#include <stddef.h>

#include <mavis/error.h>

struct mavis_arena;

/* Create an arena whose first block holds at least first_block bytes (0 = default). */
MAVIS_API struct mavis_arena *mavis_arena_new(size_t first_block);

/* Free the arena and everything allocated from it; sets *a to NULL. NULL-safe. */
MAVIS_API void mavis_arena_free(struct mavis_arena **a);

/* Drop every allocation but keep the first block for reuse (per-message reset). */
MAVIS_API void mavis_arena_reset(struct mavis_arena *a);

/* Zeroed memory, aligned for any type. size 0 gives a valid unique pointer. */
MAVIS_API void *mavis_arena_alloc(struct mavis_arena *a, size_t size);

/* Like mavis_arena_alloc() but not zeroed: for buffers that are filled at
   once (decoded data), where zeroing would cost a pass over every byte and,
   for large blocks, make untouched pages resident. */
MAVIS_API void *mavis_arena_alloc_uninit(struct mavis_arena *a, size_t size);

/* Like mavis_arena_alloc_uninit() but NULL when memory is short, for sizes
   that come from mail: the caller fails that message instead of the
   process aborting. */
MAVIS_API void *mavis_arena_try_alloc_uninit(struct mavis_arena *a, size_t size);

/* Array allocation with overflow check (aborts on overflow: a caller bug). */
MAVIS_API void *mavis_arena_calloc(struct mavis_arena *a, size_t n, size_t size);

/* Copies; the results are NUL-terminated. strndup copies at most n bytes
   (s may be NULL when n is 0: the result is ""). */
MAVIS_API char *mavis_arena_strdup(struct mavis_arena *a, const char *s);
MAVIS_API char *mavis_arena_strndup(struct mavis_arena *a, const char *s, size_t n);
MAVIS_API void *mavis_arena_memdup(struct mavis_arena *a, const void *p, size_t n);
MAVIS_API char *mavis_arena_printf(struct mavis_arena *a, const char *fmt, ...)
	MAVIS_PRINTF(2, 3);
MAVIS_API char *mavis_arena_vprintf(struct mavis_arena *a, const char *fmt, va_list ap)
	MAVIS_PRINTF(2, 0);

/* Hand over a block from mavis_xmalloc() (size bytes, for the accounting):
   it is freed with the arena's memory, at reset or free. Large data built on
   the heap then needs no copy. */
MAVIS_API void mavis_arena_adopt(struct mavis_arena *a, void *heap, size_t size);

/* Run fn(arg) at the next reset or free, before any memory is freed (arg
   may point into the arena). Cleanups run newest first, once. For
   accounting that lives as long as the arena's data (memory budgets). */
MAVIS_API void mavis_arena_on_reset(struct mavis_arena *a, void (*fn)(void *), void *arg);

/* Bytes handed out since creation or the last reset (for accounting and tests). */
MAVIS_API size_t mavis_arena_used(const struct mavis_arena *a);

#endif
