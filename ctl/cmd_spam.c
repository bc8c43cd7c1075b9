/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_spam.c - mavisctl spam: the native scanner's rule set, and scoring files with it */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mavis/alloc.h>
#include <mavis/arena.h>
#include <mavis/config.h>
#include <mavis/sa.h>

#include "ctl.h"

#define SPAM_FILE_MAX (64u * 1024u * 1024u)
#define SPAM_MAX_DIRS 32

static int
spam_usage(void)
{
	fprintf(stderr, "usage: mavisctl spam [-c FILE | -r DIR...] rules [--unsupported]\n"
			"       mavisctl spam [-c FILE | -r DIR...] score FILE.eml...\n");
	return 2;
}

static int
load_rules(const char *cfgfile, const char **dirs, struct mavis_sa_rules **rules)
{
	struct mavis_error err = { 0 };
	struct mavis_config *cfg = NULL;
	const char *list[SPAM_MAX_DIRS + 1] = { 0 };
	int rc;

	if (cfgfile != NULL) {
		if (mavis_config_load(cfgfile, &cfg, &err) < 0) {
			fprintf(stderr, "mavisctl: %s\n", err.text);
			return 1;
		}
		const struct mavis_value *v = mavis_config_get(cfg, MAVIS_KEY_SPAMASSASSIN_RULES_DIRS);

		for (size_t i = 0; i < v->u.list.n && i < SPAM_MAX_DIRS; i++)
			list[i] = v->u.list.v[i];
		dirs = list;
	}
	rc = mavis_sa_rules_load(dirs, rules, &err);
	mavis_config_unref(&cfg);
	if (rc < 0) {
		fprintf(stderr, "mavisctl: %s\n", err.text);
		return 1;
	}
	return 0;
}

/* rules: NAME TYPE SCORE STATUS, then counts; --unsupported: only those,
   with the reason, and the count per reason on stderr. */
static int
cmd_rules(const struct mavis_sa_rules *r, bool only_unsupported)
{
	struct mavis_sa_rule_info ri;
	size_t n = mavis_sa_rules_count(r), unsup = 0, unsup_scored = 0, run = 0;
	const char *reasons[256];
	size_t counts[256], nr = 0;

	for (size_t i = 0; mavis_sa_rule_get(r, i, &ri); i++) {
		if (ri.unsupported != NULL) {
			unsup++;
			if (ri.score != 0 && strncmp(ri.name, "__", 2) != 0)
				unsup_scored++;
			/* group "eval f() not implemented" and regex errors by their text */
			size_t k;

			for (k = 0; k < nr; k++)
				if (strcmp(reasons[k], ri.unsupported) == 0)
					break;
			if (k == nr && nr < 256) {
				reasons[nr] = ri.unsupported;
				counts[nr++] = 0;
			}
			if (k < nr)
				counts[k]++;
		} else if (ri.score != 0) {
			run++;
		}
		if (only_unsupported && ri.unsupported == NULL)
			continue;
		printf("%s\t%s\t%g\t%s\n", ri.name, ri.type, ri.score,
		       ri.unsupported ? ri.unsupported : ri.score != 0 ? "runs" : "score 0: not run");
	}
	if (only_unsupported)
		for (size_t k = 0; k < nr; k++)
			fprintf(stderr, "%6zu  %s\n", counts[k], reasons[k]);
	fprintf(stderr, "%zu rules: %zu run, %zu unsupported (%zu of them scored, not sub-rules)\n",
		n, run, unsup, unsup_scored);
	return 0;
}

static int
cmd_score(const struct mavis_sa_rules *r, int argc, char **argv)
{
	struct mavis_arena *a = mavis_arena_new(1 << 20);
	char *buf = mavis_xmalloc(SPAM_FILE_MAX);
	int status = 0;

	for (int i = 0; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		struct mavis_spam_result res;
		struct mavis_error err = { 0 };
		size_t len;

		if (f == NULL) {
			perror(argv[i]);
			status = 1;
			continue;
		}
		len = fread(buf, 1, SPAM_FILE_MAX, f);
		fclose(f);
		mavis_arena_reset(a);
		if (mavis_sa_check(r, buf, len, a, &res, &err) < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], err.text);
			status = 1;
			continue;
		}
		printf("%s\t%.3f\t", argv[i], res.score);
		for (size_t k = 0; k < res.n_tests; k++)
			printf("%s%s=%s", k ? "," : "", res.tests[k].name, res.tests[k].score_text);
		printf("\n");
	}
	mavis_xfree(&buf);
	mavis_arena_free(&a);
	return status;
}

int
ctl_cmd_spam(int argc, char **argv)
{
	const char *cfgfile = NULL;
	const char *dirs[SPAM_MAX_DIRS + 1] = { 0 };
	size_t nd = 0;
	struct mavis_sa_rules *rules = NULL;
	int c, rc;
	static const struct option opts[] = {
		{ "unsupported", no_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	bool unsupported = false;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+c:r:", opts, NULL)) != -1) {
		if (c == 'c')
			cfgfile = optarg;
		else if (c == 'r' && nd < SPAM_MAX_DIRS)
			dirs[nd++] = optarg;
		else
			return spam_usage();
	}
	if (optind >= argc)
		return spam_usage();
	const char *sub = argv[optind++];

	/* options after the subcommand too */
	while ((c = getopt_long(argc, argv, "c:r:", opts, NULL)) != -1) {
		if (c == 'u')
			unsupported = true;
		else if (c == 'c')
			cfgfile = optarg;
		else if (c == 'r' && nd < SPAM_MAX_DIRS)
			dirs[nd++] = optarg;
		else
			return spam_usage();
	}
	if (strcmp(sub, "rules") != 0 && strcmp(sub, "score") != 0)
		return spam_usage();
	if (strcmp(sub, "score") == 0 && optind >= argc)
		return spam_usage();
	if (load_rules(cfgfile, nd ? dirs : NULL, &rules) != 0)
		return 1;
	if (strcmp(sub, "rules") == 0)
		rc = cmd_rules(rules, unsupported);
	else
		rc = cmd_score(rules, argc - optind, argv + optind);
	mavis_sa_rules_free(&rules);
	return rc;
}
