/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mavisctl.c - the mavis admin tool: dispatch to subcommands */

#include <stdio.h>
#include <string.h>

#include <mavis/log.h>

#include "ctl.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} commands[] = {
	{ "config", ctl_cmd_config, "config [-c FILE] [-d | -a] [-b BANK] [check]  print or check the configuration" },
	{ "check", ctl_cmd_check, "check [-c FILE]  validate the configuration (exit 0 or 1)" },
	{ "scan", ctl_cmd_scan, "scan [-c FILE] [--sender A] [--rcpt A]... [--json] FILE.eml  scan a message file" },
	{ "release", ctl_cmd_release, "release [-c FILE] [--rcpt A]... [--requested-by A] [--dry-run] MAIL_ID  re-send a quarantined message" },
	{ "dkim", ctl_cmd_dkim, "dkim genkey -d DOMAIN -s SEL [-t rsa|ed25519] [-b BITS] | showkeys | testkey [-c FILE]  signing keys and their DNS records" },
	{ "sql", ctl_cmd_sql, "sql check [-c FILE] [-d DSN]  report what the database of sql_dsn lacks (exit 0 complete, 1 not)" },
	{ "status", ctl_cmd_status, "status [-s unix:SOCKET] [-c FILE]  the sessions mavisd has in flight" },
	{ "stats", ctl_cmd_stats, "stats [--json] [-s unix:SOCKET] [-c FILE]  mavisd's counters since start" },
	{ "reload", ctl_cmd_reload, "reload [-s unix:SOCKET] [-c FILE]  reload mavisd's configuration; prints ok or the error" },
	{ "quarantine", ctl_cmd_quarantine, "quarantine [-c FILE] list  list quarantined files: MAIL_ID CATEGORY TYPE SIZE MTIME PATH" },
	{ "spam", ctl_cmd_spam, "spam [-c FILE | -r DIR...] rules [--unsupported] | score FILE.eml...  the native SpamAssassin rule set" },
};

static int
usage(FILE *f)
{
	fprintf(f, "usage: mavisctl COMMAND [options]\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  mavisctl %s\n", commands[i].help);
	return f == stderr ? 2 : 0;
}

int
main(int argc, char **argv)
{
	mavis_log_open("mavisctl", MAVIS_LOG_STDERR);
	if (argc < 2)
		return usage(stderr);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0)
		return usage(stdout);
	if (strcmp(argv[1], "--version") == 0) {
		printf("mavisctl %s\n", MAVIS_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "mavisctl: unknown command \"%s\"\n", argv[1]);
	return usage(stderr);
}
