/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_dkim.c - mavisctl dkim genkey|showkeys|testkey: the signing keys and their DNS records */

#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mavis/config.h>
#include <mavis/dkim.h>

#include "ctl.h"

static int
dkim_usage(void)
{
	fprintf(stderr,
		"usage: mavisctl dkim genkey -d DOMAIN -s SELECTOR [-t rsa|ed25519] [-b BITS] [-o FILE]\n"
		"                            [-c FILE]\n"
		"       mavisctl dkim showkeys [-c FILE]\n"
		"       mavisctl dkim testkey [-c FILE]\n");
	return 2;
}

/* The record as a zone file line, the value cut in strings of at most 250
   octets (a TXT string holds 255). */
static void
print_record(const char *selector, const char *domain, const char *txt)
{
	size_t n = strlen(txt);

	printf("%s._domainkey.%s.\t3600\tIN\tTXT\t(", selector, domain[0] == '.' ? domain + 1 : domain);
	for (size_t o = 0; o < n; o += 250)
		printf("\n  \"%.*s\"", (int)(n - o < 250 ? n - o : 250), txt + o);
	printf(" )\n");
}

/* The key file belongs to the daemon user's group, so that mavisd reads
   it after dropping privileges (keys are read at start and reload). */
static void
give_to_daemon(const char *path, const struct mavis_config *cfg)
{
	const char *user = cfg ? mavis_config_get(cfg, MAVIS_KEY_DAEMON_USER)->u.s : NULL;
	const char *group = cfg ? mavis_config_get(cfg, MAVIS_KEY_DAEMON_GROUP)->u.s : NULL;
	struct passwd *pw;
	struct group *gr;

	if (geteuid() != 0)
		return;
	pw = getpwnam(user && *user ? user : "mavis");
	gr = group && *group ? getgrnam(group) : NULL;
	if (pw == NULL)
		return;
	if (chown(path, pw->pw_uid, gr ? gr->gr_gid : pw->pw_gid) < 0)
		fprintf(stderr, "mavisctl: %s: cannot give it to %s\n", path, pw->pw_name);
}

static int
cmd_genkey(int argc, char **argv, const char *cfgpath)
{
	const char *domain = NULL, *sel = NULL, *type = "rsa", *out = NULL;
	unsigned bits = 2048;
	struct mavis_error err = { 0 };
	struct mavis_config *cfg = NULL;
	struct mavis_arena *a;
	const char *txt;
	char path[4096];
	int c;

	optind = 1;
	while ((c = getopt(argc, argv, "c:d:s:t:b:o:")) != -1) {
		switch (c) {
		case 'c': cfgpath = optarg; break;
		case 'd': domain = optarg; break;
		case 's': sel = optarg; break;
		case 't': type = optarg; break;
		case 'b': bits = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'o': out = optarg; break;
		default: return dkim_usage();
		}
	}
	if (domain == NULL || sel == NULL || optind != argc ||
	    (strcmp(type, "rsa") != 0 && strcmp(type, "ed25519") != 0))
		return dkim_usage();
	if (strpbrk(domain, "/ \t") || strpbrk(sel, "/ \t") || domain[0] == '\0' || sel[0] == '\0') {
		fprintf(stderr, "mavisctl: bad domain or selector\n");
		return 2;
	}
	if (out == NULL) {
		snprintf(path, sizeof(path), "%s/dkim/%s.%s.pem", MAVIS_SYSCONFDIR, domain, sel);
		out = path;
	}
	/* the config is optional here: it only names the daemon user */
	if (access(cfgpath, R_OK) == 0 && mavis_config_load(cfgpath, &cfg, &err) < 0) {
		fprintf(stderr, "mavisctl: %s\n", err.text);
		return 1;
	}
	a = mavis_arena_new(1024);
	if (mavis_dkim_genkey(out, strcmp(type, "rsa") == 0 ? MAVIS_DKIM_RSA_SHA256
							    : MAVIS_DKIM_ED25519_SHA256,
			      bits, a, &txt, &err) < 0) {
		fprintf(stderr, "mavisctl: %s\n", err.text);
		mavis_arena_free(&a);
		mavis_config_unref(&cfg);
		return 1;
	}
	give_to_daemon(out, cfg);
	printf("# add to mavisd.conf:\n# dkim_key = %s %s %s\n", domain, sel, out);
	print_record(sel, domain, txt);
	mavis_arena_free(&a);
	mavis_config_unref(&cfg);
	return 0;
}

static int
load_keys(const char *cfgpath, struct mavis_config **cfg, struct mavis_dkim_keys **keys)
{
	struct mavis_error err = { 0 };

	if (mavis_config_load(cfgpath, cfg, &err) < 0 || mavis_dkim_keys_load(*cfg, keys, &err) < 0) {
		fprintf(stderr, "mavisctl: %s\n", err.text);
		mavis_config_unref(cfg);
		return -1;
	}
	if (*keys == NULL)
		fprintf(stderr, "mavisctl: no dkim_key in %s\n", cfgpath);
	return 0;
}

static int
cmd_showkeys(const char *cfgpath)
{
	struct mavis_config *cfg = NULL;
	struct mavis_dkim_keys *keys = NULL;

	if (load_keys(cfgpath, &cfg, &keys) < 0)
		return 1;
	for (size_t i = 0; i < mavis_dkim_keys_count(keys); i++) {
		const struct mavis_dkim_key_info *k = mavis_dkim_key_at(keys, i);

		printf("; key#%zu %s %u bits, d=%s, s=%s, %s\n", i + 1,
		       k->alg == MAVIS_DKIM_RSA_SHA256 ? "rsa" : "ed25519", k->bits, k->domain,
		       k->selector, k->path);
		print_record(k->selector, k->domain, k->txt);
	}
	mavis_dkim_keys_free(&keys);
	mavis_config_unref(&cfg);
	return 0;
}

static int
cmd_testkey(const char *cfgpath)
{
	struct mavis_config *cfg = NULL;
	struct mavis_dkim_keys *keys = NULL;
	struct mavis_dns *dns = NULL;
	struct mavis_error err = { 0 };
	int bad = 0;

	if (load_keys(cfgpath, &cfg, &keys) < 0)
		return 1;
	const struct mavis_value *srv = mavis_config_get(cfg, MAVIS_KEY_DNS_SERVERS);
	if (mavis_dns_new((const char *const *)srv->u.list.v, srv->u.list.n,
			  (unsigned)mavis_config_get(cfg, MAVIS_KEY_DNS_TIMEOUT)->u.i, 0, &dns, &err) < 0) {
		fprintf(stderr, "mavisctl: %s\n", err.text);
		bad = 1;
	}
	for (size_t i = 0; dns && i < mavis_dkim_keys_count(keys); i++) {
		const struct mavis_dkim_key_info *k = mavis_dkim_key_at(keys, i);
		const char *d = k->domain[0] == '.' ? k->domain + 1 : k->domain;
		char name[512], txt[MAVIS_DNS_TXT_MAX];
		int rc;

		snprintf(name, sizeof(name), "%s._domainkey.%s", k->selector, d);
		mavis_error_clear(&err);
		rc = mavis_dns_txt(dns, name, txt, sizeof(txt), &err);
		if (rc == 1)
			rc = mavis_dkim_txt_matches(k, txt, &err);
		else if (rc == 0)
			mavis_error_set(&err, MAVIS_ERR_NOTFOUND, "no TXT record");
		printf("TESTING#%zu %s: %s%s%s\n", i + 1, name, rc == 1 ? "pass" : "fail",
		       rc == 1 ? "" : " (", rc == 1 ? "" : err.text);
		if (rc != 1) {
			printf(")\n");
			bad = 1;
		}
	}
	mavis_dns_free(&dns);
	mavis_dkim_keys_free(&keys);
	mavis_config_unref(&cfg);
	return bad;
}

int
ctl_cmd_dkim(int argc, char **argv)
{
	const char *cfgpath = CTL_DEFAULT_CONFIG;
	int c;

	if (argc < 2)
		return dkim_usage();
	if (strcmp(argv[1], "genkey") == 0)
		return cmd_genkey(argc - 1, argv + 1, cfgpath);
	optind = 1;
	while ((c = getopt(argc - 1, argv + 1, "c:")) != -1) {
		switch (c) {
		case 'c': cfgpath = optarg; break;
		default: return dkim_usage();
		}
	}
	if (optind != argc - 1)
		return dkim_usage();
	if (strcmp(argv[1], "showkeys") == 0)
		return cmd_showkeys(cfgpath);
	if (strcmp(argv[1], "testkey") == 0 || strcmp(argv[1], "testkeys") == 0)
		return cmd_testkey(cfgpath);
	return dkim_usage();
}
