/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_config.c - mavisctl config / check: print or validate the configuration */

#include <dirent.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <mavis/banned.h>
#include <mavis/config.h>
#include <mavis/dkim.h>

#include "ctl.h"

/* Print load warnings; returns the count. */
static int
print_warnings(const struct mavis_config *cfg)
{
	int n = 0;

	for (const char *const *w = mavis_config_warnings(cfg); *w; w++, n++)
		fprintf(stderr, "mavisctl: warning: %s\n", *w);
	return n;
}

static int
load(const char *path, struct mavis_config **cfg)
{
	struct mavis_error err = { 0 };

	if (mavis_config_load(path, cfg, &err) < 0) {
		fprintf(stderr, "mavisctl: %s\n", err.text);
		return -1;
	}
	print_warnings(*cfg);
	return 0;
}

static void warn(int *n, const char *fmt, ...) MAVIS_PRINTF(2, 3);

static void
warn(int *n, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mavisctl: warning: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	(*n)++;
}

/* The first of keys (MAVIS_KEY_COUNT-terminated) set in the file, or NULL. */
static const char *
first_set(const struct mavis_config *cfg, const enum mavis_key *keys)
{
	for (; *keys != MAVIS_KEY_COUNT; keys++)
		if (mavis_config_is_set(cfg, *keys))
			return mavis_key_info(*keys)->name;
	return NULL;
}

static bool
has_scanner(const struct mavis_config *cfg, const char *name)
{
	static const enum mavis_key lists[] = { MAVIS_KEY_AV_SCANNERS, MAVIS_KEY_AV_SCANNERS_BACKUP };

	for (size_t k = 0; k < 2; k++) {
		const struct mavis_value *v = mavis_config_get(cfg, lists[k]);

		for (size_t i = 0; i < v->u.list.n; i++)
			if (strcmp(v->u.list.v[i], name) == 0)
				return true;
	}
	return false;
}

/* Any file libclamav loads signatures from (cvd, cld, ndb, hdb, ...). */
static bool
has_signatures(const char *dir)
{
	static const char *const ext[] = { ".cvd", ".cld", ".cud", ".ndb", ".hdb", ".hsb",
					   ".ldb", ".mdb", ".msb", ".db", ".cdb", ".ign2", NULL };
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	if (d == NULL)
		return false;
	while (!found && (e = readdir(d)) != NULL) {
		const char *dot = strrchr(e->d_name, '.');

		for (size_t i = 0; dot != NULL && ext[i] != NULL; i++)
			if (strcmp(dot, ext[i]) == 0 && strcmp(ext[i], ".ign2") != 0)
				found = true;
	}
	closedir(d);
	return found;
}

/*
 * A check that is switched on with nothing to check with passes every
 * message as if it had been checked: say so. Returns -1 when something
 * mavisd would refuse to start with (a banned rules file that does not
 * load), else the number of warnings.
 */
static int
check_checks(const struct mavis_config *cfg)
{
	static const enum mavis_key banned_keys[] = {
		MAVIS_KEY_BANNED_FILENAME_MAPS, MAVIS_KEY_FINAL_BANNED_DESTINY,
		MAVIS_KEY_BANNED_FILES_LOVERS_MAPS, MAVIS_KEY_BYPASS_BANNED_CHECKS_MAPS,
		MAVIS_KEY_BANNED_QUARANTINE_TO_MAPS, MAVIS_KEY_COUNT,
	};
	static const enum mavis_key virus_keys[] = {
		MAVIS_KEY_FINAL_VIRUS_DESTINY, MAVIS_KEY_VIRUS_LOVERS_MAPS,
		MAVIS_KEY_BYPASS_VIRUS_CHECKS_MAPS, MAVIS_KEY_VIRUS_QUARANTINE_TO_MAPS,
		MAVIS_KEY_CLAMD_SOCKETS, MAVIS_KEY_CLAMAV_DATABASE_DIR, MAVIS_KEY_COUNT,
	};
	static const enum mavis_key quarantine_keys[] = {
		MAVIS_KEY_VIRUS_QUARANTINE_TO_MAPS, MAVIS_KEY_BANNED_QUARANTINE_TO_MAPS,
		MAVIS_KEY_UNCHECKED_QUARANTINE_TO_MAPS, MAVIS_KEY_SPAM_QUARANTINE_TO_MAPS,
		MAVIS_KEY_BAD_HEADER_QUARANTINE_TO_MAPS, MAVIS_KEY_COUNT,
	};
	const char *rules = mavis_config_get(cfg, MAVIS_KEY_BANNED_RULES_FILE)->u.s;
	const char *key;
	int n = 0;
	struct mavis_error derr = { 0 };

	/* the keys and signing options mavisd would refuse at start */
	if (mavis_dkim_check_config(cfg, &derr) < 0) {
		fprintf(stderr, "mavisctl: %s\n", derr.text);
		return -1;
	}

	if (rules != NULL && strcmp(rules, "none") == 0) {
		if ((key = first_set(cfg, banned_keys)) != NULL)
			warn(&n, "banned checks are off (banned_rules_file = none), but %s is set", key);
	} else if (rules != NULL && *rules != '\0') {
		struct mavis_banned_rules *r = NULL;
		struct mavis_error err = { 0 };

		if (mavis_banned_load_file(rules, &r, &err) < 0) {
			fprintf(stderr, "mavisctl: banned_rules_file: %s\n", err.text);
			return -1;
		}
		if (mavis_banned_set_size(r, "DEFAULT") == 0 &&
		    !mavis_config_is_set(cfg, MAVIS_KEY_BANNED_FILENAME_MAPS))
			warn(&n, "banned_rules_file %s has no rules in set DEFAULT: nothing is banned",
			     rules);
		mavis_banned_free(&r);
	}
	if (mavis_config_get(cfg, MAVIS_KEY_AV_SCANNERS)->u.list.n == 0 &&
	    mavis_config_get(cfg, MAVIS_KEY_AV_SCANNERS_BACKUP)->u.list.n == 0) {
		if ((key = first_set(cfg, virus_keys)) != NULL)
			warn(&n, "virus checks are off (av_scanners is empty), but %s is set", key);
	}
	if (has_scanner(cfg, "clamav")) {
		const char *dir = mavis_config_get(cfg, MAVIS_KEY_CLAMAV_DATABASE_DIR)->u.s;

		if (!has_signatures(dir))
			warn(&n, "clamav_database_dir %s has no signatures: the clamav scanner "
				 "cannot load (mail gets on_scanner_failure%s)", dir,
			     mavis_config_get(cfg, MAVIS_KEY_AV_DEGRADED_START)->u.b ? "" :
										  ", or mavisd refuses to start");
	}
	if (has_scanner(cfg, "clamd") && mavis_config_get(cfg, MAVIS_KEY_CLAMD_SOCKETS)->u.list.n == 0)
		warn(&n, "av_scanners names clamd, but clamd_sockets is empty");
	{
		const char *qdir = mavis_config_get(cfg, MAVIS_KEY_QUARANTINE_DIR)->u.s;

		if ((qdir == NULL || *qdir == '\0') && (key = first_set(cfg, quarantine_keys)) != NULL)
			warn(&n, "%s is set, but quarantine_dir is empty: nothing is quarantined",
			     key);
	}
	return n;
}

int
ctl_cmd_check(int argc, char **argv)
{
	const char *path = CTL_DEFAULT_CONFIG;
	struct mavis_config *cfg = NULL;
	int c;

	optind = 1;
	while ((c = getopt(argc, argv, "c:")) != -1) {
		if (c == 'c')
			path = optarg;
		else
			return 2;
	}
	if (load(path, &cfg) < 0)
		return 1;
	c = check_checks(cfg);
	mavis_config_unref(&cfg);
	return c < 0 ? 1 : 0;
}

int
ctl_cmd_config(int argc, char **argv)
{
	const char *path = CTL_DEFAULT_CONFIG;
	const char *bank = NULL;
	int flags = MAVIS_PRINT_NONDEFAULT;
	struct mavis_config *cfg = NULL;
	int c, rc;

	optind = 1;
	while ((c = getopt(argc, argv, "c:dab:rm")) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'd': flags = MAVIS_PRINT_DEFAULTS; break;
		case 'a': flags = MAVIS_PRINT_ALL; break;
		case 'r': flags = MAVIS_PRINT_REFERENCE; break;
		case 'm': flags = MAVIS_PRINT_MDOC; break;
		case 'b': bank = optarg; break;
		default:
			fprintf(stderr, "usage: mavisctl config [-c FILE] [-d | -a | -r | -m] [-b BANK] [check]\n");
			return 2;
		}
	}
	if (optind < argc && strcmp(argv[optind], "check") == 0) {
		if (load(path, &cfg) < 0)
			return 1;
		rc = check_checks(cfg);
		mavis_config_unref(&cfg);
		return rc < 0 ? 1 : 0;
	}
	if (optind < argc) {
		fprintf(stderr, "mavisctl config: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if ((flags == MAVIS_PRINT_DEFAULTS || flags == MAVIS_PRINT_REFERENCE ||
	     flags == MAVIS_PRINT_MDOC) && bank == NULL) {
		return mavis_config_print(NULL, NULL, flags, stdout) < 0 ? 1 : 0;
	}
	if (load(path, &cfg) < 0)
		return 1;
	rc = mavis_config_print(cfg, bank, flags, stdout);
	mavis_config_unref(&cfg);
	if (rc < 0) {
		fprintf(stderr, "mavisctl: no bank \"%s\" in %s\n", bank, path);
		return 1;
	}
	return 0;
}
