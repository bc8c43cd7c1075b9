/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_sql.c - mavisctl sql check: what the database of sql_dsn lacks */

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <mavis/buf.h>
#include <mavis/config.h>
#include <mavis/sql.h>

#include "ctl.h"

static int
sql_usage(void)
{
	fprintf(stderr, "usage: mavisctl sql check [-c FILE] [-d DSN]\n");
	return 2;
}

int
ctl_cmd_sql(int argc, char **argv)
{
	const char *path = CTL_DEFAULT_CONFIG, *dsn = NULL;
	struct mavis_config *cfg = NULL;
	struct mavis_error err = { 0 };
	int c;

	optind = 1;
	while ((c = getopt(argc, argv, "c:d:")) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'd': dsn = optarg; break;
		default: return sql_usage();
		}
	}
	if (optind != argc - 1 || strcmp(argv[optind], "check") != 0)
		return sql_usage();
	if (dsn == NULL) {
		if (mavis_config_load(path, &cfg, &err) < 0) {
			fprintf(stderr, "mavisctl: %s\n", err.text);
			return 1;
		}
		dsn = mavis_config_get(cfg, MAVIS_KEY_SQL_DSN)->u.s;
	}
	if (dsn == NULL || *dsn == '\0') {
		fprintf(stderr, "mavisctl: no sql_dsn in %s\n", path);
		mavis_config_unref(&cfg);
		return 1;
	}
	struct mavis_sql_opts o = { .dsn = dsn, .pool_size = 1 };

	if (cfg != NULL) {
		o.select_policy = mavis_config_get(cfg, MAVIS_KEY_SQL_SELECT_POLICY)->u.s;
		o.select_wblist = mavis_config_get(cfg, MAVIS_KEY_SQL_SELECT_WHITE_BLACK_LIST)->u.s;
	}
	struct mavis_sql *sql = NULL;
	struct mavis_buf report = { 0 };
	int rc = mavis_sql_new(&o, &sql, &err);

	if (rc == 0)
		rc = mavis_sql_check(sql, &report, &err);
	if (rc < 0)
		fprintf(stderr, "mavisctl: sql check: %s\n", err.text);
	else
		fputs(mavis_buf_str(&report), stdout);
	mavis_buf_free(&report);
	mavis_sql_free(&sql);
	mavis_config_unref(&cfg);
	return rc == 0 ? 0 : 1;
}
