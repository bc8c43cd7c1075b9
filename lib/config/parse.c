/* SPDX-License-Identifier: GPL-2.0-or-later */
/* parse.c - read config files: logical lines, "name = value", [bank NAME] */

#include <ctype.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mavis/alloc.h>

#include "config_int.h"

int
cfg_read_file(const char *path, struct mavis_arena *arena, char **text_out, size_t *len_out,
	      struct mavis_error *err)
{
	struct stat st;
	char *buf;
	size_t off = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mavis_error_set(err, MAVIS_ERR_IO, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return mavis_error_set(err, MAVIS_ERR_IO, "%s: not a regular file", path);
	}
	if (st.st_size > CFG_MAX_FILE) {
		close(fd);
		return mavis_error_set(err, MAVIS_ERR_LIMIT, "%s: larger than %d bytes", path,
				       CFG_MAX_FILE);
	}
	buf = mavis_arena_alloc(arena, (size_t)st.st_size + 1);
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return mavis_error_set(err, MAVIS_ERR_IO, "%s: read error: %s", path,
					       n < 0 ? strerror(errno) : "file shrank");
		}
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	if (memchr(buf, '\0', off) != NULL)
		return mavis_error_set(err, MAVIS_ERR_PARSE, "%s: contains a NUL byte", path);
	*text_out = buf;
	*len_out = off;
	return 0;
}

char *
cfg_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

static bool
valid_name(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

static bool
valid_bank_name(const char *s)
{
	if (*s == '\0' || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && strchr("_.-", *s) == NULL)
			return false;
	return true;
}

static struct cfg_bank *
bank_get(struct mavis_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nbanks; i++)
		if (strcmp(cfg->banks[i].name, name) == 0)
			return &cfg->banks[i];
	if (cfg->nbanks >= CFG_MAX_BANKS)
		return NULL;
	if (cfg->nbanks % 8 == 0) {
		struct cfg_bank *nb = mavis_arena_calloc(cfg->arena, cfg->nbanks + 8, sizeof(*nb));

		if (cfg->nbanks)
			memcpy(nb, cfg->banks, cfg->nbanks * sizeof(*nb));
		cfg->banks = nb;
	}
	struct cfg_bank *b = &cfg->banks[cfg->nbanks++];
	b->name = mavis_arena_strdup(cfg->arena, name);
	return b;
}

/* One logical line: "[bank NAME]" or "name = value". */
static int
parse_logical(struct mavis_config *cfg, char *line, const char *file, int lineno,
	      struct cfg_bank **bank, struct mavis_error *err)
{
	char *eq, *name, *value;
	int key;

	if (line[0] == '[') {
		char *end = strchr(line, ']');
		char *inner;

		if (end == NULL || *cfg_trim(end + 1) != '\0')
			return mavis_error_set(err, MAVIS_ERR_CONFIG,
					       "%s:%d: bad section header (want [bank NAME])", file, lineno);
		*end = '\0';
		inner = cfg_trim(line + 1);
		if (strncmp(inner, "bank", 4) != 0 || (inner[4] != ' ' && inner[4] != '\t'))
			return mavis_error_set(err, MAVIS_ERR_CONFIG,
					       "%s:%d: unknown section [%s] (want [bank NAME])", file,
					       lineno, inner);
		inner = cfg_trim(inner + 4);
		if (!valid_bank_name(inner))
			return mavis_error_set(err, MAVIS_ERR_CONFIG,
					       "%s:%d: bad bank name \"%s\"", file, lineno, inner);
		*bank = bank_get(cfg, inner);
		if (*bank == NULL)
			return mavis_error_set(err, MAVIS_ERR_LIMIT, "%s:%d: more than %d banks",
					       file, lineno, CFG_MAX_BANKS);
		return 0;
	}
	eq = strchr(line, '=');
	if (eq == NULL)
		return mavis_error_set(err, MAVIS_ERR_CONFIG,
				       "%s:%d: missing '=' (want name = value)", file, lineno);
	*eq = '\0';
	name = cfg_trim(line);
	value = cfg_trim(eq + 1);
	if (!valid_name(name))
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "%s:%d: bad parameter name \"%s\"",
				       file, lineno, name);
	key = mavis_key_find(name);
	if (key < 0)
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "%s:%d: %s: unknown parameter", file,
				       lineno, name);
	if (*bank != NULL && mavis_key_info(key)->scope == MAVIS_SCOPE_GLOBAL)
		return mavis_error_set(err, MAVIS_ERR_CONFIG,
				       "%s:%d: %s: a daemon-wide parameter cannot be set in bank %s",
				       file, lineno, name, (*bank)->name);
	struct cfg_raw *raw = *bank ? &(*bank)->raw[key] : &cfg->raw[key];
	/* Postfix semantics: the last setting wins; dkim_key is repeatable
	   (amavisd's dkim_key() calls), each setting adds one. */
	if (key == MAVIS_KEY_DKIM_KEY && raw->text != NULL && *raw->text != '\0')
		raw->text = mavis_arena_printf(cfg->arena, "%s, %s", raw->text, value);
	else
		raw->text = mavis_arena_strdup(cfg->arena, value);
	raw->file = file;
	raw->line = lineno;
	if (*bank)
		(*bank)->set[key] = true;
	else
		cfg->set[key] = true;
	return 0;
}

int
cfg_parse_text(struct mavis_config *cfg, const char *text, const char *file,
	       struct mavis_error *err)
{
	struct cfg_bank *bank = NULL;
	const char *p = text;
	char *logical = NULL;
	size_t llen = 0, lcap = 0;
	int lineno = 0, start_line = 0;
	int rc = 0;

	file = mavis_arena_strdup(cfg->arena, file);
	for (;;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		bool at_end = (*p == '\0');
		const char *q = p;

		if (!at_end)
			lineno++;
		while (q < p + n && (*q == ' ' || *q == '\t' || *q == '\r'))
			q++;
		bool blank = (q == p + n);
		bool comment = !blank && *q == '#';
		bool cont = !at_end && !blank && !comment && (*p == ' ' || *p == '\t');

		if (blank || comment) {
			/* Postfix: blank and comment lines do not end a logical line. */
		} else if (cont) {
			if (logical == NULL) {
				rc = mavis_error_set(err, MAVIS_ERR_CONFIG,
						     "%s:%d: continuation line without a parameter",
						     file, lineno);
				break;
			}
		}
		if (at_end || (!blank && !comment && !cont)) {
			if (logical != NULL) {
				logical[llen] = '\0';
				rc = parse_logical(cfg, logical, file, start_line, &bank, err);
				free(logical);
				logical = NULL;
				llen = lcap = 0;
				if (rc < 0)
					break;
			}
			if (at_end)
				break;
			start_line = lineno;
		}
		if (!blank && !comment) {
			if (llen + n + 2 > CFG_MAX_LINE) {
				rc = mavis_error_set(err, MAVIS_ERR_LIMIT, "%s:%d: line too long",
						     file, lineno);
				break;
			}
			if (llen + n + 2 > lcap) {
				lcap = (llen + n + 2) * 2;
				logical = mavis_xrealloc(logical, lcap);
			}
			if (llen > 0)
				logical[llen++] = ' ';
			memcpy(logical + llen, p, n);
			llen += n;
			logical[llen] = '\0';
		}
		if (nl == NULL)
			p += n;
		else
			p = nl + 1;
	}
	free(logical);
	return rc;
}
