/* SPDX-License-Identifier: GPL-2.0-or-later */
/* map_file.c - bounded reading of table files, their lines, quoting and "key value" lines */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mavis/alloc.h>

#include "maps_int.h"

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int
mavis_map_file_read(const char *path, struct map_file *f, struct mavis_error *err)
{
	struct stat st;
	size_t cap, len = 0;
	char *buf, *nul;
	int fd;

	memset(f, 0, sizeof(*f));
	f->path = path;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return mavis_error_set(err, MAVIS_ERR_IO, "cannot open %s: %s", path,
				       strerror(errno));
	/* A FIFO or device could block or never end; tables are plain files. */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return mavis_error_set(err, MAVIS_ERR_IO, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > MAP_FILE_MAX) {
		close(fd);
		return mavis_error_set(err, MAVIS_ERR_LIMIT, "%s: larger than %zu bytes", path,
				       MAP_FILE_MAX);
	}
	/* st_size is only a hint: the file may grow while we read it. */
	cap = (size_t)st.st_size + 1;
	buf = mavis_xmalloc(cap + 1);
	for (;;) {
		ssize_t r;

		if (len == cap) {
			if (cap > MAP_FILE_MAX) {
				free(buf);
				close(fd);
				return mavis_error_set(err, MAVIS_ERR_LIMIT,
						       "%s: larger than %zu bytes", path,
						       MAP_FILE_MAX);
			}
			cap *= 2;
			buf = mavis_xrealloc(buf, cap + 1);
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			free(buf);
			close(fd);
			return mavis_error_set(err, MAVIS_ERR_IO, "read %s: %s", path,
					       strerror(e));
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (len > MAP_FILE_MAX) {
		free(buf);
		return mavis_error_set(err, MAVIS_ERR_LIMIT, "%s: larger than %zu bytes", path,
				       MAP_FILE_MAX);
	}
	buf[len] = '\0';
	/* Everything downstream works on C strings: a NUL would cut an entry. */
	nul = memchr(buf, '\0', len);
	if (nul != NULL) {
		unsigned long line = 1;

		for (const char *p = buf; p < nul; p++)
			line += *p == '\n';
		free(buf);
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "%s:%lu: NUL byte in line", path,
				       line);
	}
	f->data = buf;
	f->len = len;
	return 0;
}

void
mavis_map_file_release(struct map_file *f)
{
	free(f->data);
	f->data = NULL;
	f->len = 0;
}

void
mavis_map_lines_init(struct map_lines *it, const struct map_file *f)
{
	it->p = f->data;
	it->end = f->data + f->len;
	it->path = f->path;
	it->lineno = 0;
}

int
mavis_map_lines_next(struct map_lines *it, const char **line, size_t *len,
		     struct mavis_error *err)
{
	const char *nl;
	size_t n;

	if (it->p >= it->end)
		return 0;
	nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
	n = nl != NULL ? (size_t)(nl - it->p) : (size_t)(it->end - it->p);
	*line = it->p;
	it->p += n + (nl != NULL);
	it->lineno++;
	if (n > 0 && (*line)[n - 1] == '\r')
		n--;
	if (n > MAP_LINE_MAX)
		return mavis_error_set(err, MAVIS_ERR_LIMIT, "%s:%lu: line longer than %zu bytes",
				       it->path, it->lineno, MAP_LINE_MAX);
	*len = n;
	return 1;
}

size_t
mavis_map_quoted_len(const char *s, size_t len)
{
	size_t i = 1;

	while (i < len) {
		if (s[i] == '\\') {
			i += 2;
			continue;
		}
		if (s[i] == '"')
			return i + 1;
		i++;
	}
	return 0;
}

bool
mavis_map_is_quoted(const char *s, size_t len)
{
	return len >= 2 && s[0] == '"' && mavis_map_quoted_len(s, len) == len;
}

char *
mavis_map_unquote(struct mavis_arena *a, const char *s, size_t len)
{
	char *out, *o;

	if (!mavis_map_is_quoted(s, len))
		return mavis_arena_strndup(a, s, len);
	out = o = mavis_arena_alloc(a, len);
	for (size_t i = 1; i + 1 < len; i++) {
		if (s[i] == '\\' && i + 2 < len)
			i++;
		*o++ = s[i];
	}
	*o = '\0';
	return out;
}

void
mavis_map_lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

int
mavis_map_split_kv(struct mavis_arena *a, const char *line, size_t len,
		   const struct map_lines *where, char **key, char **value,
		   struct mavis_error *err)
{
	size_t i = 0, j, k, end = len;

	*key = NULL;
	*value = NULL;
	while (i < len && is_blank(line[i]))
		i++;
	if (i == len || line[i] == '#')
		return 0;
	/* '#' outside quotes starts a comment anywhere, as in amavisd read_hash;
	   a value that needs '#' is written in quotes. */
	for (j = i; j < len && !is_blank(line[j]) && line[j] != '#';) {
		if (line[j] == '"') {
			size_t q = mavis_map_quoted_len(line + j, len - j);

			if (q == 0)
				goto unterminated;
			j += q;
			continue;
		}
		j++;
	}
	for (k = j; k < len;) {
		if (line[k] == '"') {
			size_t q = mavis_map_quoted_len(line + k, len - k);

			if (q == 0)
				goto unterminated;
			k += q;
			continue;
		}
		if (line[k] == '#') {
			end = k;
			break;
		}
		k++;
	}
	*key = mavis_arena_strndup(a, line + i, j - i);
	while (j < end && is_blank(line[j]))
		j++;
	while (end > j && is_blank(line[end - 1]))
		end--;
	if (end > j)
		*value = mavis_map_unquote(a, line + j, end - j);
	return 0;
unterminated:
	return mavis_error_set(err, MAVIS_ERR_CONFIG, "%s:%lu: unterminated quote", where->path,
			       where->lineno);
}

const char *
mavis_map_label(struct mavis_arena *a, const char *s, size_t len)
{
	enum { LABEL_MAX = 72 };
	size_t n = len > LABEL_MAX ? LABEL_MAX - 3 : len;
	char *out = mavis_arena_alloc(a, n + 4);

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		out[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (n < len)
		memcpy(out + n, "...", 4);
	return out;
}
