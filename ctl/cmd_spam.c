/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_spam.c - mavisctl spam: the native scanner's rule set, and scoring files with it */

#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mavis/alloc.h>
#include <mavis/arena.h>
#include <mavis/config.h>
#include <mavis/sa.h>
#include <mavis/sa_bayes.h>

#include "ctl.h"

#define SPAM_FILE_MAX (64u * 1024u * 1024u)
#define SPAM_MAX_DIRS 32

static int
spam_usage(void)
{
	fprintf(stderr, "usage: mavisctl spam [-c FILE | -r DIR...] rules [--unsupported]\n"
			"       mavisctl spam [-c FILE | -r DIR...] [--dsn DSN] [--username U] score FILE.eml...\n"
			"       mavisctl spam [-c FILE | -r DIR...] [--dsn DSN] [--username U]\n"
			"                     learn --spam|--ham|--forget FILE|DIR...\n"
			"Bayes (score, learn) uses spam_bayes_dsn and spam_bayes_username of -c FILE,\n"
			"or --dsn and --username.\n");
	return 2;
}

struct bayes_cfg {
	char *dsn, *username;
	unsigned timeout_ms;
};

static int
load_rules(const char *cfgfile, const char **dirs, struct mavis_sa_rules **rules,
	   struct bayes_cfg *bc)
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
		if (bc->dsn == NULL)
			bc->dsn = mavis_xstrdup(mavis_config_get(cfg, MAVIS_KEY_SPAM_BAYES_DSN)->u.s);
		if (bc->username == NULL)
			bc->username =
				mavis_xstrdup(mavis_config_get(cfg, MAVIS_KEY_SPAM_BAYES_USERNAME)->u.s);
		bc->timeout_ms =
			(unsigned)mavis_config_get(cfg, MAVIS_KEY_SPAM_BAYES_TIMEOUT)->u.i * 1000u;
	}
	rc = mavis_sa_rules_load(dirs, rules, &err);
	if (rc < 0 && cfgfile != NULL)
		mavis_error_prefix(&err, "%s: ", cfgfile);
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
cmd_score(const struct mavis_sa_rules *r, struct mavis_sa_bayes *bayes, int argc, char **argv)
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
		struct mavis_sa_bayes_scan bs;
		struct mavis_error be = { 0 };

		if (mavis_sa_check_bayes(r, bayes, buf, len, NULL, a, &res, &bs, &be, &err) < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], err.text);
			status = 1;
			continue;
		}
		if (be.status != 0)
			fprintf(stderr, "%s: bayes: %s (scored without Bayes)\n", argv[i], be.text);
		printf("%s\t%.3f\t", argv[i], res.score);
		for (size_t k = 0; k < res.n_tests; k++)
			printf("%s%s=%s", k ? "," : "", res.tests[k].name, res.tests[k].score_text);
		if (bayes != NULL) {
			printf("\tbayes=");
			if (bs.have_prob)
				printf("%.4f", bs.prob);
			else
				printf("%s", bs.available ? "none" : "unavailable");
			printf(" tokens=%zu known=%zu used=%zu nspam=%u nham=%u lookup_us=%u", bs.tokens,
			       bs.known, bs.used, bs.nspam, bs.nham, bs.lookup_us);
		}
		printf("\n");
	}
	mavis_xfree(&buf);
	mavis_arena_free(&a);
	return status;
}

struct learn_st {
	struct mavis_sa_bayes *b;
	const struct mavis_sa_rules *r;
	enum mavis_sa_learn what;
	struct mavis_arena *a;
	char *buf;
	size_t files, changed, relearned, unchanged, failed, tokens;
};

static void
learn_file(struct learn_st *st, const char *path)
{
	FILE *f = fopen(path, "rb");
	struct mavis_sa_learn_result res;
	struct mavis_error err = { 0 };
	size_t len;

	if (f == NULL) {
		perror(path);
		st->failed++;
		return;
	}
	len = fread(st->buf, 1, SPAM_FILE_MAX, f);
	fclose(f);
	mavis_arena_reset(st->a);
	st->files++;
	if (mavis_sa_bayes_learn(st->b, st->r, st->buf, len, st->what, st->a, &res, &err) < 0) {
		fprintf(stderr, "%s: %s\n", path, err.text);
		st->failed++;
		return;
	}
	st->tokens += res.tokens;
	if (res.relearned)
		st->relearned++;
	if (res.changed)
		st->changed++;
	else
		st->unchanged++;
}

static int
cmp_name(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* a file, or a directory's regular files (not recursive), by name */
static void
learn_path(struct learn_st *st, const char *path)
{
	struct stat sb;

	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *de;
		char **names = NULL;
		size_t n = 0, cap = 0;

		if (d == NULL) {
			perror(path);
			st->failed++;
			return;
		}
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				names = mavis_xrealloc(names, cap * sizeof(*names));
			}
			size_t pl = strlen(path) + strlen(de->d_name) + 2;

			names[n] = mavis_xmalloc(pl);
			snprintf(names[n++], pl, "%s/%s", path, de->d_name);
		}
		closedir(d);
		qsort(names, n, sizeof(*names), cmp_name);
		for (size_t i = 0; i < n; i++) {
			if (stat(names[i], &sb) == 0 && S_ISREG(sb.st_mode))
				learn_file(st, names[i]);
			free(names[i]);
		}
		free(names);
		return;
	}
	learn_file(st, path);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* learn: sa-learn's summary line, plus the rate */
static int
cmd_learn(const struct mavis_sa_rules *r, struct mavis_sa_bayes *b, enum mavis_sa_learn what,
	  int argc, char **argv)
{
	struct learn_st st = { .b = b, .r = r, .what = what, .a = mavis_arena_new(1 << 20),
			       .buf = mavis_xmalloc(SPAM_FILE_MAX) };
	double t0 = now_s();

	for (int i = 0; i < argc; i++)
		learn_path(&st, argv[i]);
	double dt = now_s() - t0;

	printf("%s %zu message(s) (%zu examined, %zu already so%s%zu relearned, %zu failed), "
	       "%.1f msgs/s, %.0f tokens/msg\n",
	       what == MAVIS_SA_LEARN_FORGET ? "Forgot" : "Learned tokens from", st.changed, st.files,
	       st.unchanged, what == MAVIS_SA_LEARN_FORGET ? " or not learned, " : ", ", st.relearned,
	       st.failed, dt > 0 ? st.files / dt : 0.0,
	       st.files ? (double)st.tokens / (double)st.files : 0.0);
	mavis_xfree(&st.buf);
	mavis_arena_free(&st.a);
	return st.failed ? 1 : 0;
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
		{ "spam", no_argument, NULL, 'S' },
		{ "ham", no_argument, NULL, 'H' },
		{ "forget", no_argument, NULL, 'F' },
		{ "dsn", required_argument, NULL, 'D' },
		{ "username", required_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	bool unsupported = false;
	int what = -1;
	struct bayes_cfg bc = { 0 };
	struct mavis_sa_bayes *bayes = NULL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+c:r:", opts, NULL)) != -1) {
		if (c == 'c')
			cfgfile = optarg;
		else if (c == 'r' && nd < SPAM_MAX_DIRS)
			dirs[nd++] = optarg;
		else if (c == 'D' && bc.dsn == NULL)
			bc.dsn = mavis_xstrdup(optarg);
		else if (c == 'U' && bc.username == NULL)
			bc.username = mavis_xstrdup(optarg);
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
		else if (c == 'S' || c == 'H' || c == 'F')
			what = c == 'S' ? MAVIS_SA_LEARN_SPAM : c == 'H' ? MAVIS_SA_LEARN_HAM
								: MAVIS_SA_LEARN_FORGET;
		else if (c == 'D' && bc.dsn == NULL)
			bc.dsn = mavis_xstrdup(optarg);
		else if (c == 'U' && bc.username == NULL)
			bc.username = mavis_xstrdup(optarg);
		else
			rc = -1, what = -2;
	}
	rc = 0;
	if (strcmp(sub, "rules") != 0 && strcmp(sub, "score") != 0 && strcmp(sub, "learn") != 0)
		rc = -1;
	if (strcmp(sub, "rules") != 0 && optind >= argc)
		rc = -1;
	if (what == -2 || (strcmp(sub, "learn") == 0 && what < 0))
		rc = -1;
	if (rc == 0 && load_rules(cfgfile, nd ? dirs : NULL, &rules, &bc) != 0)
		rc = 1;
	if (rc == 0 && bc.dsn != NULL && bc.dsn[0] != '\0' && strcmp(sub, "rules") != 0) {
		struct mavis_error err = { 0 };
		struct mavis_sa_bayes_opts bo = { .dsn = bc.dsn, .username = bc.username,
						  .timeout_ms = bc.timeout_ms,
						  /* learning: statements take longer than a lookup */
						  .no_touch = false };

		if (strcmp(sub, "learn") == 0)
			bo.timeout_ms = 60000;
		if (mavis_sa_bayes_new(rules, &bo, &bayes, &err) < 0) {
			fprintf(stderr, "mavisctl: %s\n", err.text);
			rc = 1;
		}
	} else if (rc == 0 && strcmp(sub, "learn") == 0) {
		fprintf(stderr, "mavisctl: spam learn: no Bayes database (spam_bayes_dsn or --dsn)\n");
		rc = 1;
	}
	if (rc == 0) {
		if (strcmp(sub, "rules") == 0)
			rc = cmd_rules(rules, unsupported);
		else if (strcmp(sub, "score") == 0)
			rc = cmd_score(rules, bayes, argc - optind, argv + optind);
		else
			rc = cmd_learn(rules, bayes, (enum mavis_sa_learn)what, argc - optind,
				       argv + optind);
	}
	mavis_sa_bayes_free(&bayes);
	mavis_sa_rules_free(&rules);
	free(bc.dsn);
	free(bc.username);
	return rc < 0 ? spam_usage() : rc;
}
