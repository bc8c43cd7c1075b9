/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_release.c - mavisctl release: re-send a quarantined message (amavisd-release) */

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/arena.h>
#include <mavis/config.h>
#include <mavis/quarantine.h>
#include <mavis/release.h>

#include "ctl.h"

#define RELEASE_MAX_RCPTS 1000

static int
release_usage(void)
{
	fprintf(stderr, "usage: mavisctl release [-c FILE] [--rcpt A]... [--requested-by A] [--dry-run]"
			" MAIL_ID\n");
	return 2;
}

int
ctl_cmd_release(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "rcpt", required_argument, NULL, 'r' },
		{ "requested-by", required_argument, NULL, 'R' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CTL_DEFAULT_CONFIG, *requested_by = NULL, *mail_id;
	const char *opt_rcpts[RELEASE_MAX_RCPTS];
	size_t nopt = 0;
	bool dry_run = false;
	struct mavis_config *cfg = NULL;
	struct mavis_arena *a = NULL;
	struct mavis_error err = { 0 };
	struct mavis_quarantine_entry e;
	struct mavis_release_result res;
	const char *qpath;
	int c, rc = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'r':
			if (nopt >= RELEASE_MAX_RCPTS) {
				fprintf(stderr, "mavisctl: at most %d --rcpt\n", RELEASE_MAX_RCPTS);
				return 2;
			}
			opt_rcpts[nopt++] = optarg;
			break;
		case 'R': requested_by = optarg; break;
		case 'n': dry_run = true; break;
		default: return release_usage();
		}
	}
	if (optind + 1 != argc)
		return release_usage();
	mail_id = argv[optind];
	if (!mavis_quarantine_valid_id(mail_id)) {
		fprintf(stderr, "mavisctl: \"%s\" is not a mail_id\n", mail_id);
		return 2;
	}
	for (size_t i = 0; i < nopt; i++) {
		if (mavis_quarantine_check_addr(opt_rcpts[i], &err) < 0 || opt_rcpts[i][0] == '\0') {
			fprintf(stderr, "mavisctl: --rcpt \"%s\": %s\n", opt_rcpts[i],
				opt_rcpts[i][0] ? err.text : "empty address");
			return 2;
		}
	}
	if (requested_by != NULL &&
	    (mavis_quarantine_check_addr(requested_by, &err) < 0 || requested_by[0] == '\0')) {
		fprintf(stderr, "mavisctl: --requested-by \"%s\": %s\n", requested_by,
			requested_by[0] ? err.text : "empty address");
		return 2;
	}
	if (mavis_config_load(path, &cfg, &err) < 0) {
		fprintf(stderr, "mavisctl: %s\n", err.text);
		return 1;
	}
	a = mavis_arena_new(0);
	const char *qdir = mavis_config_get(cfg, MAVIS_KEY_QUARANTINE_DIR)->u.s;
	if (qdir == NULL || qdir[0] == '\0') {
		fprintf(stderr, "mavisctl: quarantine_dir is not set in %s\n", path);
		goto out;
	}
	if (strncmp(mavis_config_get(cfg, MAVIS_KEY_RELEASE_METHOD)->u.s, "sendmail:", 9) == 0)
		/* The MTA's 250 is not the last word there: pickup runs
		   non_smtpd_milters, which may block the copy again and bounce it. */
		fprintf(stderr, "mavisctl: warning: release_method %s goes through pickup: where "
				"non_smtpd_milters include mavisd the copy is filtered again; "
				"use the release port (contrib/postfix/master.cf.release)\n",
			mavis_config_get(cfg, MAVIS_KEY_RELEASE_METHOD)->u.s);
	if (mavis_release_load_file(cfg, mail_id, NULL, a, &e, &qpath, &err) < 0) {
		fprintf(stderr, "mavisctl: %s\n", err.text);
		goto out;
	}
	/* A sendmail that exits early must not kill us: its status says why. */
	signal(SIGPIPE, SIG_IGN);
	struct mavis_release_opts ro = {
		.rcpts = opt_rcpts,
		.nrcpts = nopt,
		.requested_by = requested_by,
		.dry_run = dry_run,
	};
	if (mavis_release_send(cfg, &e, &ro, a, &res, &err) < 0) {
		fprintf(stderr, "mavisctl: %s: %s\n", qpath, err.text);
		goto out;
	}
	if (dry_run) {
		printf("release %s (%c) from <%s> via %s to:\n", qpath, e.quar_type, res.sender,
		       res.method_spec);
		for (size_t i = 0; i < res.nrcpts; i++)
			printf("  <%s>\n", res.rcpts[i].addr);
		printf("with header fields:\n");
		for (const char *p = res.header; *p; p++)
			if (*p != '\r')
				putchar(*p);
		rc = 0;
		goto out;
	}
	for (size_t i = 0; i < res.nrcpts; i++)
		printf("%d %s %s\n", res.rcpts[i].code, res.rcpts[i].xcode, res.rcpts[i].text);
	rc = res.accepted == res.nrcpts ? 0 : 1;
out:
	mavis_arena_free(&a);
	mavis_config_unref(&cfg);
	return rc;
}
