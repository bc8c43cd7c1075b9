/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spool.c - message bytes in memory up to a bound, then in an unlinked temp file */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mavis/alloc.h>

#include "spool.h"

struct mavis_spool {
	char *mem;
	size_t len, cap;
	size_t limit;
	int fd;		/* -1 while in memory */
	uint64_t size;
	const char *tmp_dir;
	void *map;
	size_t maplen;
};

struct mavis_spool *
mavis_spool_new(const char *tmp_dir, size_t mem_limit)
{
	struct mavis_spool *sp = mavis_xcalloc(1, sizeof(*sp));

	sp->fd = -1;
	sp->limit = mem_limit;
	sp->tmp_dir = tmp_dir;
	return sp;
}

static int
write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
unmap(struct mavis_spool *sp)
{
	if (sp->map != NULL) {
		munmap(sp->map, sp->maplen);
		sp->map = NULL;
	}
}

/* Move the in-memory bytes to a file: O_TMPFILE leaves no name behind even
   if the process dies. */
static int
spill(struct mavis_spool *sp, struct mavis_error *err)
{
	sp->fd = open(sp->tmp_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (sp->fd < 0) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/mavis-XXXXXX", sp->tmp_dir);
		sp->fd = mkostemp(path, O_CLOEXEC);
		if (sp->fd >= 0)
			unlink(path);
	}
	if (sp->fd < 0)
		return mavis_error_set(err, MAVIS_ERR_IO, "cannot create spool file in %s: %s",
				       sp->tmp_dir, strerror(errno));
	if (write_all(sp->fd, sp->mem, sp->len) < 0)
		return mavis_error_set(err, MAVIS_ERR_IO, "spool write in %s: %s", sp->tmp_dir,
				       strerror(errno));
	free(sp->mem);
	sp->mem = NULL;
	sp->len = sp->cap = 0;
	return 0;
}

int
mavis_spool_write(struct mavis_spool *sp, const void *data, size_t len, struct mavis_error *err)
{
	if (len == 0)
		return 0;
	unmap(sp);
	if (sp->fd < 0 && sp->len + len > sp->limit) {
		int rc = spill(sp, err);

		if (rc < 0)
			return rc;
	}
	if (sp->fd >= 0) {
		if (write_all(sp->fd, data, len) < 0)
			return mavis_error_set(err, MAVIS_ERR_IO, "spool write in %s: %s",
					       sp->tmp_dir, strerror(errno));
	} else {
		if (sp->len + len > sp->cap) {
			size_t cap = sp->cap ? sp->cap : 16384;

			while (cap < sp->len + len)
				cap *= 2;
			if (cap > sp->limit)
				cap = sp->limit;
			sp->mem = mavis_xrealloc(sp->mem, cap);
			sp->cap = cap;
		}
		memcpy(sp->mem + sp->len, data, len);
		sp->len += len;
	}
	sp->size += len;
	return 0;
}

uint64_t
mavis_spool_size(const struct mavis_spool *sp)
{
	return sp->size;
}

int
mavis_spool_on_disk(const struct mavis_spool *sp)
{
	return sp->fd >= 0;
}

int
mavis_spool_view(struct mavis_spool *sp, const void **data, size_t *len, struct mavis_error *err)
{
	static const char empty[1];

	if (sp->fd < 0) {
		*data = sp->mem ? sp->mem : empty;
		*len = sp->len;
		return 0;
	}
	if (sp->map == NULL) {
		if (sp->size > SIZE_MAX)
			return mavis_error_set(err, MAVIS_ERR_LIMIT, "spool too large to map");
		sp->maplen = (size_t)sp->size;
		sp->map = mmap(NULL, sp->maplen, PROT_READ, MAP_PRIVATE, sp->fd, 0);
		if (sp->map == MAP_FAILED) {
			sp->map = NULL;
			return mavis_error_set(err, MAVIS_ERR_IO, "cannot map spool file: %s",
					       strerror(errno));
		}
	}
	*data = sp->map;
	*len = sp->maplen;
	return 0;
}

void
mavis_spool_free(struct mavis_spool **psp)
{
	struct mavis_spool *sp = *psp;

	if (sp == NULL)
		return;
	*psp = NULL;
	unmap(sp);
	if (sp->fd >= 0)
		close(sp->fd);
	free(sp->mem);
	free(sp);
}
