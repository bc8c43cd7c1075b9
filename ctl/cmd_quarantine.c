/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_quarantine.c - mavisctl quarantine list: what the local quarantine holds */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <mavis/config.h>
#include <mavis/quarantine.h>

#include "ctl.h"

/* amavisd 2.7+ mail_id length: names are CATEGORY-<12 characters>[.gz]. */
#define LIST_ID_LEN 12

static int
quarantine_usage(void)
{
	fprintf(stderr, "usage: mavisctl quarantine list [-c FILE]\n");
	return 2;
}

/* One line per file: MAIL_ID CATEGORY TYPE SIZE MTIME PATH (tab-separated).
   Names are split by their shape only; the files are not opened, so a large
   quarantine lists quickly. */
static void
list_entry(const char *rel, const char *name, const struct stat *st)
{
	char base[256], mtime[32], cat[64] = "-", id[MAVIS_QUARANTINE_ID_MAX + 1] = "?";
	size_t n = strlen(name);
	bool gz = n > 3 && strcmp(name + n - 3, ".gz") == 0;
	struct tm tm;

	if (gz)
		n -= 3;
	if (n >= sizeof(base))
		n = sizeof(base) - 1;
	memcpy(base, name, n);
	base[n] = '\0';
	if (n > LIST_ID_LEN && base[n - LIST_ID_LEN - 1] == '-' &&
	    mavis_quarantine_valid_id(base + n - LIST_ID_LEN) && n - LIST_ID_LEN - 1 < sizeof(cat)) {
		memcpy(id, base + n - LIST_ID_LEN, LIST_ID_LEN + 1);
		memcpy(cat, base, n - LIST_ID_LEN - 1);
		cat[n - LIST_ID_LEN - 1] = '\0';
	} else if (mavis_quarantine_valid_id(base)) {
		memcpy(id, base, n + 1);	/* valid ids fit: MAVIS_QUARANTINE_ID_MAX */
	}
	localtime_r(&st->st_mtime, &tm);
	strftime(mtime, sizeof(mtime), "%Y-%m-%dT%H:%M:%S%z", &tm);
	printf("%s\t%s\t%c\t%lld\t%s\t%s\n", id, cat, gz ? 'Z' : 'F', (long long)st->st_size, mtime,
	       rel);
}

/* List the files of dir (sub = "" or the one-character subdirectory). */
static int
list_dir(const char *top, const char *sub, int depth)
{
	char path[4096], rel[512];
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "%s%s%s", top, sub[0] ? "/" : "", sub);
	d = opendir(path);
	if (d == NULL) {
		fprintf(stderr, "mavisctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;	/* ".", "..", our temporary files */
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		snprintf(rel, sizeof(rel), "%s%s%s", sub, sub[0] ? "/" : "", de->d_name);
		if (S_ISREG(st.st_mode))
			list_entry(rel, de->d_name, &st);
		else if (S_ISDIR(st.st_mode) && depth == 0 && strlen(de->d_name) == 1)
			list_dir(top, de->d_name, 1);	/* quarantine_subdir_levels = 1 */
	}
	closedir(d);
	return 0;
}

int
ctl_cmd_quarantine(int argc, char **argv)
{
	const char *path = CTL_DEFAULT_CONFIG;
	struct mavis_config *cfg = NULL;
	struct mavis_error err = { 0 };
	int c, rc = 1;

	optind = 1;
	while ((c = getopt(argc, argv, "c:")) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		default: return quarantine_usage();
		}
	}
	if (optind + 1 != argc || strcmp(argv[optind], "list") != 0)
		return quarantine_usage();
	if (mavis_config_load(path, &cfg, &err) < 0) {
		fprintf(stderr, "mavisctl: %s\n", err.text);
		return 1;
	}
	const char *dir = mavis_config_get(cfg, MAVIS_KEY_QUARANTINE_DIR)->u.s;
	if (dir == NULL || dir[0] == '\0')
		fprintf(stderr, "mavisctl: quarantine_dir is not set in %s\n", path);
	else if (list_dir(dir, "", 0) == 0)
		rc = 0;
	mavis_config_unref(&cfg);
	return rc;
}
