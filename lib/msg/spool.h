/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spool.h - message bytes in memory up to a bound, then in an unlinked temp file */
#ifndef MAVIS_SPOOL_H
#define MAVIS_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include <mavis/error.h>

struct mavis_spool;

/* New spool: up to mem_limit bytes in memory, the rest moves to a file
   created in tmp_dir (unlinked at once, so nothing is left behind). */
struct mavis_spool *mavis_spool_new(const char *tmp_dir, size_t mem_limit);
/* Append bytes. Returns 0 or MAVIS_ERR_IO (err says why: disk full...). */
int mavis_spool_write(struct mavis_spool *sp, const void *data, size_t len,
		      struct mavis_error *err);
uint64_t mavis_spool_size(const struct mavis_spool *sp);
/* A contiguous read-only view of everything written (memory or mmap). Valid
   until the next write or free. Returns 0 or MAVIS_ERR_IO. */
int mavis_spool_view(struct mavis_spool *sp, const void **data, size_t *len,
		     struct mavis_error *err);
/* True when the bytes spilled to a file. */
int mavis_spool_on_disk(const struct mavis_spool *sp);
void mavis_spool_free(struct mavis_spool **sp);

#endif
