/* SPDX-License-Identifier: GPL-2.0-or-later */
/* arena.c - bump allocator for per-message and per-snapshot memory */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/alloc.h>
#include <mavis/arena.h>
#include <mavis/log.h>

#define ARENA_ALIGN 16
#define ARENA_DEFAULT_BLOCK 4096

struct arena_block {
	struct arena_block *next;
	size_t size;	/* usable bytes after the header */
	size_t used;
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

/* A heap block adopted by the arena (the node itself is arena memory). */
struct arena_adopted {
	struct arena_adopted *next;
	void *heap;
};

/* A function run at reset or free (the node itself is arena memory). */
struct arena_cleanup {
	struct arena_cleanup *next;
	void (*fn)(void *);
	void *arg;
};

struct mavis_arena {
	struct arena_block *head;	/* current block; older blocks follow */
	struct arena_block *first;	/* kept across resets */
	struct arena_adopted *adopted;	/* freed before the blocks */
	struct arena_cleanup *cleanups;	/* run before anything is freed */
	size_t total_used;
};

/* try: return NULL instead of aborting when malloc fails (sizes that come
   from mail must not kill the process). */
static struct arena_block *
block_get(size_t size, bool try)
{
	struct arena_block *b;

	if (size > SIZE_MAX - sizeof(*b)) {
		if (try)
			return NULL;
		mavis_panic(__FILE__, __LINE__, "arena block size overflow");
	}
	if (try) {
		b = malloc(sizeof(*b) + size);
		if (b == NULL)
			return NULL;
	} else {
		b = mavis_xmalloc(sizeof(*b) + size);
	}
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

static struct arena_block *
block_new(size_t size)
{
	return block_get(size, false);
}

struct mavis_arena *
mavis_arena_new(size_t first_block)
{
	struct mavis_arena *a = mavis_xcalloc(1, sizeof(*a));

	a->first = block_new(first_block ? first_block : ARENA_DEFAULT_BLOCK);
	a->head = a->first;
	return a;
}

static void
run_cleanups(struct mavis_arena *a)
{
	struct arena_cleanup *n = a->cleanups;

	/* Unlinked first: a cleanup that allocates from the arena must not
	   see itself again. */
	a->cleanups = NULL;
	for (; n != NULL; n = n->next)
		n->fn(n->arg);
}

static void
free_adopted(struct mavis_arena *a)
{
	for (struct arena_adopted *n = a->adopted; n != NULL; n = n->next)
		free(n->heap);
	a->adopted = NULL;
}

static void
free_blocks_until(struct arena_block *b, const struct arena_block *stop)
{
	while (b != NULL && b != stop) {
		struct arena_block *next = b->next;

		free(b);
		b = next;
	}
}

void
mavis_arena_free(struct mavis_arena **ap)
{
	struct mavis_arena *a = *ap;

	if (a == NULL)
		return;
	*ap = NULL;
	run_cleanups(a);
	free_adopted(a);
	free_blocks_until(a->head, NULL);
	free(a);
}

void
mavis_arena_reset(struct mavis_arena *a)
{
	run_cleanups(a);
	free_adopted(a);
	free_blocks_until(a->head, a->first);
	/* Big allocations are linked behind the block that was the head then;
	   when that was the first block they sit behind it: free those too. */
	free_blocks_until(a->first->next, NULL);
	a->first->next = NULL;
	a->first->used = 0;
	a->head = a->first;
	a->total_used = 0;
}

static void *arena_get(struct mavis_arena *a, size_t size, int zero, bool try);

void *
mavis_arena_alloc(struct mavis_arena *a, size_t size)
{
	return arena_get(a, size, 1, false);
}

void *
mavis_arena_alloc_uninit(struct mavis_arena *a, size_t size)
{
	return arena_get(a, size, 0, false);
}

void *
mavis_arena_try_alloc_uninit(struct mavis_arena *a, size_t size)
{
	return arena_get(a, size, 0, true);
}

static void *
arena_get(struct mavis_arena *a, size_t size, int zero, bool try)
{
	struct arena_block *b = a->head;
	size_t need;
	void *p;

	if (size > SIZE_MAX / 2) {
		if (try)
			return NULL;
		mavis_panic(__FILE__, __LINE__, "arena allocation too large");
	}
	need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (need == 0)
		need = ARENA_ALIGN;
	if (b->size - b->used < need) {
		size_t bsize = b->size * 2;

		if (bsize < need)
			bsize = need;
		/* Big requests get their own block behind the head, so the
		   remaining room of the current block is not wasted. */
		if (need > ARENA_DEFAULT_BLOCK * 4) {
			struct arena_block *big = block_get(need, try);

			if (big == NULL)
				return NULL;
			big->next = b->next;
			b->next = big;
			big->used = need;
			a->total_used += size;
			if (zero)
				memset(big->data, 0, need);
			return big->data;
		}
		if (bsize > 1024 * 1024)
			bsize = need > 1024 * 1024 ? need : 1024 * 1024;
		b = block_get(bsize, try);
		if (b == NULL)
			return NULL;
		b->next = a->head;
		a->head = b;
	}
	p = b->data + b->used;
	b->used += need;
	a->total_used += size;
	if (zero)
		memset(p, 0, need);
	return p;
}

void *
mavis_arena_calloc(struct mavis_arena *a, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		mavis_panic(__FILE__, __LINE__, "arena calloc overflow");
	return mavis_arena_alloc(a, n * size);
}

char *
mavis_arena_strndup(struct mavis_arena *a, const char *s, size_t n)
{
	/* An empty piece may come as (NULL, 0): a substring of nothing. */
	size_t len = s != NULL ? strnlen(s, n) : 0;
	char *p = mavis_arena_alloc(a, len + 1);

	if (len > 0)
		memcpy(p, s, len);
	return p;
}

char *
mavis_arena_strdup(struct mavis_arena *a, const char *s)
{
	return mavis_arena_strndup(a, s, strlen(s));
}

void *
mavis_arena_memdup(struct mavis_arena *a, const void *src, size_t n)
{
	char *p = mavis_arena_alloc(a, n + 1);

	if (n)
		memcpy(p, src, n);
	return p;
}

char *
mavis_arena_vprintf(struct mavis_arena *a, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;
	char *p;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		n = 0;
	p = mavis_arena_alloc(a, (size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *
mavis_arena_printf(struct mavis_arena *a, const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = mavis_arena_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}

void
mavis_arena_adopt(struct mavis_arena *a, void *heap, size_t size)
{
	struct arena_adopted *n = mavis_arena_alloc(a, sizeof(*n));

	n->heap = heap;
	n->next = a->adopted;
	a->adopted = n;
	a->total_used += size;
}

void
mavis_arena_on_reset(struct mavis_arena *a, void (*fn)(void *), void *arg)
{
	struct arena_cleanup *n = mavis_arena_alloc(a, sizeof(*n));

	n->fn = fn;
	n->arg = arg;
	n->next = a->cleanups;
	a->cleanups = n;
}

size_t
mavis_arena_used(const struct mavis_arena *a)
{
	return a->total_used;
}
