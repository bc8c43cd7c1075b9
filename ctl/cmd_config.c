/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_config.c - mavisctl config / check: print or validate the configuration */

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <mavis/config.h>

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
	mavis_config_unref(&cfg);
	return 0;
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
	while ((c = getopt(argc, argv, "c:dab:r")) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'd': flags = MAVIS_PRINT_DEFAULTS; break;
		case 'a': flags = MAVIS_PRINT_ALL; break;
		case 'r': flags = MAVIS_PRINT_REFERENCE; break;
		case 'b': bank = optarg; break;
		default:
			fprintf(stderr, "usage: mavisctl config [-c FILE] [-d | -a | -r] [-b BANK] [check]\n");
			return 2;
		}
	}
	if (optind < argc && strcmp(argv[optind], "check") == 0) {
		if (load(path, &cfg) < 0)
			return 1;
		mavis_config_unref(&cfg);
		return 0;
	}
	if (optind < argc) {
		fprintf(stderr, "mavisctl config: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if ((flags == MAVIS_PRINT_DEFAULTS || flags == MAVIS_PRINT_REFERENCE) && bank == NULL) {
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
