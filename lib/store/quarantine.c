/* SPDX-License-Identifier: GPL-2.0-or-later */
/* quarantine.c - quarantine files: atomic store (plain or gzip), find, read back */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include <mavis/alloc.h>
#include <mavis/buf.h>
#include <mavis/quarantine.h>

#include "store_int.h"

/* Bytes handed to write(2) or deflate at a time. */
#define IO_CHUNK (256u * 1024)

/* write(2) all of it; EINTR is not an error. */
static int
write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len > IO_CHUNK ? IO_CHUNK : len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Deflate len bytes (flush = Z_FINISH for the last piece) and write the output. */
static int
deflate_write(z_stream *zs, int fd, const void *data, size_t len, int flush,
	      struct mavis_error *err)
{
	unsigned char out[64 * 1024];
	const unsigned char *p = data;

	do {
		/* avail_in is a uInt: feed large inputs in pieces. */
		size_t piece = len > IO_CHUNK ? IO_CHUNK : len;
		int f = piece == len ? flush : Z_NO_FLUSH;

		zs->next_in = (Bytef *)(uintptr_t)p;
		zs->avail_in = (uInt)piece;
		do {
			zs->next_out = out;
			zs->avail_out = sizeof(out);
			int zrc = deflate(zs, f);
			if (zrc == Z_STREAM_ERROR)
				return mavis_error_set(err, MAVIS_ERR_INTERNAL, "deflate: %s",
						       zs->msg ? zs->msg : "stream error");
			size_t have = sizeof(out) - zs->avail_out;
			if (have > 0 && write_all(fd, out, have) < 0)
				return mavis_error_set(err, MAVIS_ERR_IO, "write: %s", strerror(errno));
		} while (zs->avail_out == 0 || (f == Z_FINISH && zs->avail_in > 0));
		p += piece;
		len -= piece;
	} while (len > 0);
	return 0;
}

/* Write the prefix and the message to fd, gzip'ed or not. */
static int
write_content(int fd, bool gzip, const struct mavis_buf *prefix, const void *msg, size_t msg_len,
	      struct mavis_error *err)
{
	z_stream zs;
	int rc;

	if (!gzip) {
		if (write_all(fd, prefix->data, prefix->len) < 0 ||
		    (msg_len > 0 && write_all(fd, msg, msg_len) < 0))
			return mavis_error_set(err, MAVIS_ERR_IO, "write: %s", strerror(errno));
		return 0;
	}
	memset(&zs, 0, sizeof(zs));
	/* windowBits 15 + 16: a gzip header and trailer (RFC 1952), as zcat and
	   amavisd (Compress::Zlib gzopen) expect. */
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "deflateInit2 failed");
	rc = deflate_write(&zs, fd, prefix->data, prefix->len, Z_NO_FLUSH, err);
	if (rc == 0)
		rc = deflate_write(&zs, fd, msg_len ? msg : "", msg_len, Z_FINISH, err);
	deflateEnd(&zs);
	return rc;
}

/* fsync a directory, so that a name created in it survives a crash. */
static int
sync_dir(int dfd, const char *path, struct mavis_error *err)
{
	if (fsync(dfd) < 0 && errno != EINVAL)
		return mavis_error_set(err, MAVIS_ERR_IO, "fsync %s: %s", path, strerror(errno));
	return 0;
}

/* Open dir (mkdir'ing the one-character subdirectory when asked). */
static int
open_target_dir(const char *dir, const char *sub, char *path, size_t path_size,
		struct mavis_error *err)
{
	int n = snprintf(path, path_size, "%s%s%s", dir, sub[0] ? "/" : "", sub);

	if (n < 0 || (size_t)n >= path_size)
		return mavis_error_set(err, MAVIS_ERR_LIMIT, "quarantine path too long");
	if (sub[0]) {
		/* amavisd pre-creates A-Z a-z 0-9 - _; creating on demand gives the
		   same tree and works on an empty quarantine_dir. */
		if (mkdir(path, 0750) == 0) {
			int pfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			if (pfd < 0)
				return mavis_error_set(err, MAVIS_ERR_IO, "open %s: %s", dir,
						       strerror(errno));
			int rc = sync_dir(pfd, dir, err);
			close(pfd);
			if (rc < 0)
				return rc;
		} else if (errno != EEXIST) {
			return mavis_error_set(err, MAVIS_ERR_IO, "mkdir %s: %s", path, strerror(errno));
		}
	}
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return mavis_error_set(err, MAVIS_ERR_IO, "open %s: %s", path, strerror(errno));
	return dfd;
}

/* Create a new temporary file in dfd: ".mavis-MAILID-RANDOM.tmp". The leading
   dot keeps it out of find and list; the random part out of a racing writer's way. */
static int
create_temp(int dfd, const char *mail_id, char *name, size_t name_size, struct mavis_error *err)
{
	for (int tries = 0; tries < 16; tries++) {
		unsigned char rnd[6];

		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return mavis_error_set(err, MAVIS_ERR_IO, "getrandom: %s", strerror(errno));
		snprintf(name, name_size, ".mavis-%s-%02x%02x%02x%02x%02x%02x.tmp", mail_id, rnd[0],
			 rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
		int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
		if (fd >= 0) {
			/* The mode must not depend on the daemon's umask. */
			if (fchmod(fd, 0640) < 0) {
				int e = errno;

				close(fd);
				unlinkat(dfd, name, 0);
				return mavis_error_set(err, MAVIS_ERR_IO, "chmod %s: %s", name, strerror(e));
			}
			return fd;
		}
		if (errno != EEXIST)
			return mavis_error_set(err, MAVIS_ERR_IO, "create %s: %s", name, strerror(errno));
	}
	return mavis_error_set(err, MAVIS_ERR_IO, "create temporary file: too many collisions");
}

/* Give tmp its final name without ever replacing an existing file. */
static int
publish(int dfd, const char *tmp, const char *final, bool *tmp_gone)
{
	if (linkat(dfd, tmp, dfd, final, 0) == 0)
		return 0;
	if (errno == EEXIST)
		return -1;
	/* File systems without hard links: a rename that refuses to replace
	   gives the same guarantee. */
	if (errno == EPERM || errno == EOPNOTSUPP || errno == ENOSYS || errno == EMLINK) {
		int e = errno;

		if (renameat2(dfd, tmp, dfd, final, RENAME_NOREPLACE) == 0) {
			*tmp_gone = true;
			return 0;
		}
		if (errno == EINVAL || errno == ENOSYS)
			errno = e;
	}
	return -1;
}

int
mavis_quarantine_store(const struct mavis_quarantine_in *in, struct mavis_quarantine_out *out,
		       struct mavis_error *err)
{
	struct mavis_buf prefix = { 0 };
	char sub[2] = "", dirpath[PATH_MAX], tmp[MAVIS_QUARANTINE_ID_MAX + 32];
	/* "CATEGORY-MAIL_ID.gz": its size keeps "C/" + name within rel_path. */
	char name[MAVIS_QUARANTINE_CATEGORY_MAX + MAVIS_QUARANTINE_ID_MAX + 8];
	int dfd = -1, fd = -1, rc;
	bool tmp_made = false, tmp_gone = false;
	struct stat st;

	memset(out, 0, sizeof(*out));
	if (in->dir == NULL || in->dir[0] == '\0')
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "no quarantine directory");
	if (in->subdir_levels != 0 && in->subdir_levels != 1)
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "quarantine_subdir_levels %d (0 or 1)",
				       in->subdir_levels);
	if (!store_valid_category(in->category))
		return mavis_error_set(err, MAVIS_ERR_PARSE, "invalid quarantine category");
	if (in->msg == NULL && in->msg_len > 0)
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "no message bytes");
	rc = store_prefix_build(in, store_msg_eol(in->msg, in->msg_len), &prefix, err);
	if (rc < 0)
		goto out;
	if (in->subdir_levels == 1)
		sub[0] = in->mail_id[0];
	snprintf(name, sizeof(name), "%s-%s%s", in->category, in->mail_id, in->gzip ? ".gz" : "");
	dfd = rc = open_target_dir(in->dir, sub, dirpath, sizeof(dirpath), err);
	if (rc < 0)
		goto out;
	fd = rc = create_temp(dfd, in->mail_id, tmp, sizeof(tmp), err);
	if (rc < 0)
		goto out;
	tmp_made = true;
	rc = write_content(fd, in->gzip, &prefix, in->msg, in->msg_len, err);
	if (rc < 0)
		goto fail_name;
	/* On disk before the name appears, so a crash leaves no empty file
	   behind a name the log reports as quarantined. */
	if (fsync(fd) < 0 || fstat(fd, &st) < 0) {
		rc = mavis_error_set(err, MAVIS_ERR_IO, "fsync: %s", strerror(errno));
		goto fail_name;
	}
	int cfd = fd;
	fd = -1;
	if (close(cfd) < 0) {
		rc = mavis_error_set(err, MAVIS_ERR_IO, "close: %s", strerror(errno));
		goto fail_name;
	}
	if (publish(dfd, tmp, name, &tmp_gone) < 0) {
		rc = mavis_error_set(err, MAVIS_ERR_IO, "%s/%s: %s", dirpath, name,
				     errno == EEXIST ? "already exists, not overwritten"
						     : strerror(errno));
		goto out;
	}
	if (!tmp_gone && unlinkat(dfd, tmp, 0) == 0)
		tmp_gone = true;
	rc = sync_dir(dfd, dirpath, err);
	if (rc < 0) {
		/* The name may not survive a crash: take it back and let the
		   caller tempfail, rather than report a copy that may vanish. */
		unlinkat(dfd, name, 0);
		goto out;
	}
	snprintf(out->rel_path, sizeof(out->rel_path), "%s%s%s", sub, sub[0] ? "/" : "", name);
	out->quar_type = in->gzip ? 'Z' : 'F';
	out->file_size = (uint64_t)st.st_size;
	rc = 0;
	goto out;
fail_name:
	mavis_error_prefix(err, "%s/%s: ", dirpath, tmp);
out:
	if (fd >= 0)
		close(fd);
	if (tmp_made && !tmp_gone)
		unlinkat(dfd, tmp, 0);
	if (dfd >= 0)
		close(dfd);
	mavis_buf_free(&prefix);
	return rc;
}

/* ---- find ---- */

/* Rank of a category for find: lower wins. */
static int
category_rank(const char *name, size_t len)
{
	static const char *const order[] = { "virus", "banned", "spam", "badh", "unchecked",
					     "clean", "archive" };

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (strlen(order[i]) == len && strncmp(name, order[i], len) == 0)
			return (int)i;
	return (int)(sizeof(order) / sizeof(order[0]));
}

/* If name is [CATEGORY-]MAIL_ID[.gz], its rank (a bare id ranks like an
   unknown category), else -1. */
static int
match_name(const char *name, const char *mail_id)
{
	size_t n = strlen(name), idl = strlen(mail_id);

	if (name[0] == '.')
		return -1;	/* our temporary files, editor droppings */
	if (n > 3 && strcmp(name + n - 3, ".gz") == 0)
		n -= 3;
	if (n < idl || strncmp(name + n - idl, mail_id, idl) != 0)
		return -1;
	if (n == idl)
		return category_rank("", 0);
	if (name[n - idl - 1] != '-')
		return -1;
	size_t cl = n - idl - 1;
	if (cl == 0)
		return -1;
	for (size_t i = 0; i < cl; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') &&
		    c != '_' && c != '-')
			return -1;
	}
	return category_rank(name, cl);
}

/* Search one directory; keeps the best match in best/best_rank. 0 = searched
   (a missing directory is "nothing here"), negative on error. */
static int
search_dir(const char *path, const char *mail_id, struct mavis_buf *best, int *best_rank,
	   struct mavis_error *err)
{
	DIR *d = opendir(path);
	struct dirent *de;

	if (d == NULL) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return mavis_error_set(err, MAVIS_ERR_IO, "opendir %s: %s", path, strerror(errno));
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		int rank = match_name(de->d_name, mail_id);
		struct stat st;

		if (rank < 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		/* Same rank: the smaller name, so the answer does not depend on
		   readdir order. */
		if (*best_rank < 0 || rank < *best_rank ||
		    (rank == *best_rank && strcmp(de->d_name, strrchr(best->data, '/') + 1) < 0)) {
			mavis_buf_reset(best);
			mavis_buf_printf(best, "%s/%s", path, de->d_name);
			*best_rank = rank;
		}
	}
	int e = errno;
	closedir(d);
	if (e != 0)
		return mavis_error_set(err, MAVIS_ERR_IO, "readdir %s: %s", path, strerror(e));
	return 0;
}

int
mavis_quarantine_find(const char *dir, int subdir_levels, const char *mail_id,
		      struct mavis_arena *arena, const char **path_r, struct mavis_error *err)
{
	struct mavis_buf best = { 0 }, sub = { 0 };
	int best_rank = -1, rc = 0;
	struct stat st;

	*path_r = NULL;
	if (!mavis_quarantine_valid_id(mail_id))
		return mavis_error_set(err, MAVIS_ERR_PARSE, "invalid mail_id");
	if (dir == NULL || dir[0] == '\0')
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "no quarantine directory");
	if (stat(dir, &st) < 0)
		return mavis_error_set(err, MAVIS_ERR_IO, "quarantine directory %s: %s", dir,
				       strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return mavis_error_set(err, MAVIS_ERR_IO, "quarantine directory %s: not a directory",
				       dir);
	mavis_buf_printf(&sub, "%s/%c", dir, mail_id[0]);
	/* The configured layout first; the other one only when that has nothing. */
	for (int pass = 0; pass < 2 && rc == 0 && best_rank < 0; pass++) {
		bool use_sub = (pass == 0) == (subdir_levels >= 1);

		rc = search_dir(use_sub ? mavis_buf_str(&sub) : dir, mail_id, &best, &best_rank, err);
	}
	if (rc == 0 && best_rank < 0)
		rc = mavis_error_set(err, MAVIS_ERR_NOTFOUND, "no quarantined message %s in %s",
				     mail_id, dir);
	if (rc == 0)
		*path_r = mavis_arena_strdup(arena, best.data);
	mavis_buf_free(&best);
	mavis_buf_free(&sub);
	return rc;
}

/* ---- read ---- */

/* Read all of fd (a plain file) into b, at most max bytes. */
static int
read_plain(int fd, size_t max, struct mavis_buf *b, struct mavis_error *err)
{
	char chunk[64 * 1024];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return mavis_error_set(err, MAVIS_ERR_IO, "read: %s", strerror(errno));
		if (n == 0)
			return 0;
		if ((size_t)n > max - b->len)
			return mavis_error_set(err, MAVIS_ERR_LIMIT, "more than %zu bytes", max);
		mavis_buf_append(b, chunk, (size_t)n);
	}
}

/* Inflate all of fd (gzip, possibly several members) into b, at most max bytes. */
static int
read_gzip(int fd, size_t max, struct mavis_buf *b, struct mavis_error *err)
{
	unsigned char in[64 * 1024], outb[64 * 1024];
	z_stream zs;
	int zrc = Z_OK, rc = 0;
	bool at_end = false;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "inflateInit2 failed");
	for (;;) {
		if (zs.avail_in == 0) {
			ssize_t n = read(fd, in, sizeof(in));

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				rc = mavis_error_set(err, MAVIS_ERR_IO, "read: %s", strerror(errno));
				break;
			}
			if (n == 0) {
				if (!at_end)
					rc = mavis_error_set(err, MAVIS_ERR_IO, "truncated gzip data");
				break;
			}
			zs.next_in = in;
			zs.avail_in = (uInt)n;
		}
		if (at_end) {
			/* Another member follows (gzip files may be concatenated). */
			if (inflateReset(&zs) != Z_OK) {
				rc = mavis_error_set(err, MAVIS_ERR_INTERNAL, "inflateReset failed");
				break;
			}
			at_end = false;
		}
		zs.next_out = outb;
		zs.avail_out = sizeof(outb);
		zrc = inflate(&zs, Z_NO_FLUSH);
		if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR) {
			rc = mavis_error_set(err, MAVIS_ERR_IO, "corrupt gzip data: %s",
					     zs.msg ? zs.msg : "inflate error");
			break;
		}
		size_t have = sizeof(outb) - zs.avail_out;
		if (have > max - b->len) {
			rc = mavis_error_set(err, MAVIS_ERR_LIMIT, "more than %zu bytes", max);
			break;
		}
		mavis_buf_append(b, outb, have);
		if (zrc == Z_STREAM_END)
			at_end = true;
	}
	inflateEnd(&zs);
	return rc;
}

int
mavis_quarantine_read(const char *path, size_t max_bytes, struct mavis_arena *arena,
		      struct mavis_quarantine_entry *out, struct mavis_error *err)
{
	struct mavis_buf b = { 0 };
	unsigned char magic[2];
	ssize_t n;
	int fd, rc;
	struct stat st;

	memset(out, 0, sizeof(*out));
	if (max_bytes == 0)
		max_bytes = SIZE_MAX - 1;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return mavis_error_set(err, MAVIS_ERR_IO, "open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = mavis_error_set(err, MAVIS_ERR_IO, "%s: not a regular file", path);
		goto out;
	}
	do
		n = pread(fd, magic, sizeof(magic), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		rc = mavis_error_set(err, MAVIS_ERR_IO, "read %s: %s", path, strerror(errno));
		goto out;
	}
	/* By content, not by name: a renamed or hand-made file still reads. */
	out->quar_type = n == 2 && magic[0] == 0x1f && magic[1] == 0x8b ? 'Z' : 'F';
	rc = out->quar_type == 'Z' ? read_gzip(fd, max_bytes, &b, err)
				   : read_plain(fd, max_bytes, &b, err);
	if (rc < 0) {
		mavis_error_prefix(err, "%s: ", path);
		goto out;
	}
	size_t len = b.len;
	char *data = mavis_arena_memdup(arena, len ? b.data : "", len);
	mavis_buf_free(&b);	/* the arena copy is all we keep */
	rc = store_prefix_parse(data, len, arena, out, err);
	if (rc < 0)
		mavis_error_prefix(err, "%s: ", path);
out:
	mavis_buf_free(&b);
	close(fd);
	return rc;
}
