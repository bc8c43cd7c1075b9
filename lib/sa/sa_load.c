/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sa_load.c - which rule files, in which order: SpamAssassin's sa-update, default and site directories */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mavis/alloc.h>

#include "sa_int.h"

#define SA_FILE_MAX (16u * 1024u * 1024u)	/* 72_active.cf is ~1 MB */
#define SA_UPDATE_DIR "/var/lib/spamassassin/4.000001/updates_spamassassin_org"

static int
has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n > m && strcmp(s + n - m, suf) == 0;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names in dir ending in suf, sorted as Perl's sort does (bytes).
   Returns the count (0 when the directory cannot be read: *ok = 0). */
static size_t
list_dir(const char *dir, const char *suf, char ***out, int *ok)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	size_t n = 0, cap = 0;

	*ok = d != NULL;
	*out = NULL;
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || !has_suffix(e->d_name, suf))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = mavis_xrealloc(v, cap * sizeof(*v));
		}
		v[n++] = mavis_xstrdup(e->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), str_cmp);
	*out = v;
	return n;
}

static int
read_file(const char *path, char **buf, size_t *len, struct mavis_error *err)
{
	FILE *f = fopen(path, "rb");
	struct stat st;

	if (f == NULL)
		return mavis_error_set(err, MAVIS_ERR_IO, "%s: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) < 0 || st.st_size < 0 || (uint64_t)st.st_size > SA_FILE_MAX) {
		fclose(f);
		return mavis_error_set(err, MAVIS_ERR_LIMIT, "%s: not a rule file of at most %u bytes",
				       path, SA_FILE_MAX);
	}
	*buf = mavis_xmalloc((size_t)st.st_size + 1);
	*len = fread(*buf, 1, (size_t)st.st_size, f);
	(*buf)[*len] = '\0';
	if (ferror(f)) {
		fclose(f);
		mavis_xfree(buf);
		return mavis_error_set(err, MAVIS_ERR_IO, "%s: read error", path);
	}
	fclose(f);
	return 0;
}

static int
load_suffix(struct sa_conf *c, const char *dir, const char *suf, struct mavis_error *err)
{
	char **names;
	int ok, rc = 0;
	size_t n = list_dir(dir, suf, &names, &ok);

	for (size_t i = 0; i < n; i++) {
		char *path = NULL, *buf = NULL;
		size_t len = 0;

		if (rc == 0) {
			size_t pl = strlen(dir) + strlen(names[i]) + 2;

			path = mavis_xmalloc(pl);
			snprintf(path, pl, "%s/%s", dir, names[i]);
			rc = read_file(path, &buf, &len, err);
			if (rc == 0)
				sa_conf_parse(c, buf, len);
			mavis_xfree(&buf);
			mavis_xfree(&path);
		}
		mavis_xfree(&names[i]);
	}
	mavis_xfree(&names);
	if (!ok && rc == 0)
		rc = mavis_error_set(err, MAVIS_ERR_IO, "%s: cannot read directory: %s", dir,
				     strerror(errno));
	return rc;
}

const char *const *
mavis_sa_default_dirs(void)
{
	static const char *const updated[] = { SA_UPDATE_DIR, "/etc/spamassassin", NULL };
	static const char *const shipped[] = { "/usr/share/spamassassin", "/etc/spamassassin", NULL };
	char **names;
	int ok;
	size_t n = list_dir(SA_UPDATE_DIR, ".cf", &names, &ok);

	for (size_t i = 0; i < n; i++)
		mavis_xfree(&names[i]);
	mavis_xfree(&names);
	return n > 0 ? updated : shipped;
}

int
mavis_sa_rules_load(const char *const *dirs, struct mavis_sa_rules **out, struct mavis_error *err)
{
	struct sa_conf c;
	int rc = 0;

	if (out == NULL)
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "mavis_sa_rules_load: NULL");
	if (dirs == NULL || dirs[0] == NULL)
		dirs = mavis_sa_default_dirs();
	sa_conf_init(&c);
	/* Mail::SpamAssassin::read_pre: the plugins first, from every
	   directory, so that ifplugin sees them all */
	for (size_t i = 0; rc == 0 && dirs[i] != NULL; i++)
		rc = load_suffix(&c, dirs[i], ".pre", err);
	for (size_t i = 0; rc == 0 && dirs[i] != NULL; i++)
		rc = load_suffix(&c, dirs[i], ".cf", err);
	if (rc == 0)
		rc = sa_rules_build(&c, out, err);
	sa_conf_fini(&c);
	return rc;
}

int
mavis_sa_rules_from_text(const char *text, size_t len, struct mavis_sa_rules **out,
			 struct mavis_error *err)
{
	struct sa_conf c;
	int rc;

	if (out == NULL || (text == NULL && len > 0))
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "mavis_sa_rules_from_text: NULL");
	sa_conf_init(&c);
	sa_conf_parse(&c, text ? text : "", len);
	rc = sa_rules_build(&c, out, err);
	sa_conf_fini(&c);
	return rc;
}
