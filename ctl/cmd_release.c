/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_release.c - mavisctl release: re-send a quarantined message (amavisd-release) */

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <mavis/arena.h>
#include <mavis/buf.h>
#include <mavis/config.h>
#include <mavis/quarantine.h>
#include <mavis/submit.h>

#include "ctl.h"

#define RELEASE_MAX_RCPTS 1000

static int
release_usage(void)
{
	fprintf(stderr, "usage: mavisctl release [-c FILE] [--rcpt A]... [--requested-by A] [--dry-run]"
			" MAIL_ID\n");
	return 2;
}

/* This host's name for EHLO and the Resent- fields: myhostname, else the
   system's name. */
static const char *
my_hostname(const struct mavis_config *cfg, struct mavis_arena *a)
{
	const char *h = mavis_config_get(cfg, MAVIS_KEY_MYHOSTNAME)->u.s;
	char buf[256];

	if (h != NULL && h[0] != '\0')
		return h;
	if (gethostname(buf, sizeof(buf)) < 0)
		return "localhost";
	buf[sizeof(buf) - 1] = '\0';
	return mavis_arena_strdup(a, buf);
}

/* A fresh id for this release, in the mail_id alphabet: 9 random bytes as
   12 base64url characters (amavisd's secret_id/mail_id form). */
static int
release_id(char out[MAVIS_QUARANTINE_ID_MAX + 1])
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char r[9];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -1;
	for (int i = 0; i < 3; i++) {
		unsigned long v = (unsigned long)r[3 * i] << 16 | (unsigned long)r[3 * i + 1] << 8 |
				  r[3 * i + 2];

		for (int j = 0; j < 4; j++)
			out[4 * i + j] = b64[(v >> (18 - 6 * j)) & 63];
	}
	out[12] = '\0';
	return 0;
}

/* "Name: <a>,EOL\t<b>EOL", one address per line like the quarantine prefix;
   eol is the message's own line end. */
static void
put_list(struct mavis_buf *b, const char *name, const char *const *addrs, size_t n, const char *eol)
{
	mavis_buf_printf(b, "%s:", name);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			mavis_buf_printf(b, ",%s\t", eol);
		else
			mavis_buf_putc(b, ' ');
		mavis_buf_printf(b, "<%s>", addrs[i]);
	}
	mavis_buf_puts(b, eol);
}

/* The enhanced status code of a reply ("250 2.1.5 Ok" -> "2.1.5"), or the
   class default. */
static void
reply_xcode(int code, const char *reply, char *out, size_t n)
{
	const char *p = strlen(reply) > 4 ? reply + 4 : "";
	size_t l = strspn(p, "0123456789.");

	if (l >= 5 && l < n && p[0] == '0' + code / 100 && p[1] == '.' &&
	    (p[l] == ' ' || p[l] == '\0')) {
		memcpy(out, p, l);
		out[l] = '\0';
		return;
	}
	snprintf(out, n, "%d.0.0", code / 100 >= 2 && code / 100 <= 5 ? code / 100 : 4);
}

/* How the method shows in the result lines, as amavisd's "from MTA(...)". */
static const char *
method_label(const struct mavis_submit_method *m, struct mavis_arena *a)
{
	if (m->kind == MAVIS_SUBMIT_SMTP)
		return mavis_arena_printf(a, "smtp:[%s]:%s", m->host, m->port);
	return mavis_arena_printf(a, "sendmail:%s", m->argv[0]);
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
	struct mavis_submit_method method;
	struct mavis_quarantine_entry e;
	struct mavis_buf head = { 0 };
	struct mavis_submit_rcpt *res = NULL;
	const char *qpath, *host;
	const char *const *rcpts;
	size_t nrcpts;
	char rel_id[MAVIS_QUARANTINE_ID_MAX + 1];
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
	if (mavis_submit_parse(mavis_config_get(cfg, MAVIS_KEY_RELEASE_METHOD)->u.s, a, &method,
			       &err) < 0) {
		fprintf(stderr, "mavisctl: release_method: %s\n", err.text);
		goto out;
	}
	if (method.kind == MAVIS_SUBMIT_SENDMAIL)
		/* The MTA's 250 is not the last word there: pickup runs
		   non_smtpd_milters, which may block the copy again and bounce it. */
		fprintf(stderr, "mavisctl: warning: release_method %s goes through pickup: where "
				"non_smtpd_milters include mavisd the copy is filtered again; "
				"use the release port (contrib/postfix/master.cf.release)\n",
			method.spec);
	if (mavis_quarantine_find(qdir, (int)mavis_config_get(cfg, MAVIS_KEY_QUARANTINE_SUBDIR_LEVELS)->u.i,
				  mail_id, a, &qpath, &err) < 0) {
		fprintf(stderr, "mavisctl: %s\n", err.text);
		goto out;
	}
	/* The largest message mavisd takes, plus the envelope prefix. */
	uint64_t limit = (uint64_t)mavis_config_get(cfg, MAVIS_KEY_MESSAGE_SIZE_LIMIT)->u.i +
			 MAVIS_QUARANTINE_PREFIX_MAX;
	if (mavis_quarantine_read(qpath, limit > SIZE_MAX - 1 ? SIZE_MAX - 1 : (size_t)limit, a, &e,
				  &err) < 0) {
		fprintf(stderr, "mavisctl: %s\n", err.text);
		goto out;
	}
	/* A file renamed or copied under another id must not be released as
	   this one (amavisd checks the same). */
	if (strcmp(e.mail_id, mail_id) != 0) {
		fprintf(stderr, "mavisctl: %s: X-Quarantine-ID <%s> does not match %s\n", qpath,
			e.mail_id, mail_id);
		goto out;
	}
	/* Recipients: as asked; else those it was blocked for; else, for files
	   without that field (or an archive copy), every original recipient. */
	if (nopt > 0) {
		rcpts = opt_rcpts;
		nrcpts = nopt;
	} else if (e.nblocked > 0) {
		rcpts = e.blocked;
		nrcpts = e.nblocked;
	} else {
		rcpts = e.rcpts;
		nrcpts = e.nrcpts;
	}
	if (nrcpts == 0) {
		fprintf(stderr, "mavisctl: %s: no recipients; give --rcpt\n", qpath);
		goto out;
	}
	if (release_id(rel_id) < 0) {
		fprintf(stderr, "mavisctl: getrandom failed\n");
		goto out;
	}
	host = my_hostname(cfg, a);

	/* amavisd release_format 'resend': Resent- fields on top of the
	   original message. Resent-From names who resends: the requester when
	   known (then Resent-Sender is us), else us. */
	const char *nl = memchr(e.message, '\n', e.message_len);
	const char *eol = nl && nl > e.message && nl[-1] == '\r' ? "\r\n" : "\n";
	const char *self = mavis_arena_printf(a, "\"Content-filter at %s\" <postmaster@%s>", host, host);
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	if (requested_by != NULL)
		mavis_buf_printf(&head, "Resent-From: <%s>%sResent-Sender: %s%s", requested_by, eol, self,
				 eol);
	else
		mavis_buf_printf(&head, "Resent-From: %s%s", self, eol);
	put_list(&head, "Resent-To", rcpts, nrcpts, eol);
	mavis_buf_printf(&head, "Resent-Date: %s%s", date, eol);
	mavis_buf_printf(&head, "Resent-Message-ID: <%s-rel-%s@%s>%s", mail_id, rel_id, host, eol);

	if (dry_run) {
		printf("release %s (%c) from <%s> via %s to:\n", qpath, e.quar_type, e.sender,
		       method.spec);
		for (size_t i = 0; i < nrcpts; i++)
			printf("  <%s>\n", rcpts[i]);
		printf("with header fields:\n");
		for (size_t i = 0; i < head.len; i++)
			if (head.data[i] != '\r')
				putchar(head.data[i]);
		rc = 0;
		goto out;
	}

	/* A sendmail that exits early must not kill us: its status says why. */
	signal(SIGPIPE, SIG_IGN);
	res = mavis_arena_calloc(a, nrcpts, sizeof(*res));
	for (size_t i = 0; i < nrcpts; i++)
		res[i].addr = rcpts[i];
	struct mavis_submit_opts opts = { .helo_name = host };
	struct mavis_submit_part parts[2] = {
		{ head.data, head.len },
		{ e.message, e.message_len },
	};
	int accepted = mavis_submit(&method, &opts, e.sender, res, nrcpts, parts, 2, &err);
	if (accepted < 0) {
		fprintf(stderr, "mavisctl: %s: %s\n", qpath, err.text);
		goto out;
	}
	const char *label = method_label(&method, a);
	for (size_t i = 0; i < nrcpts; i++) {
		char xcode[16];
		bool ok = res[i].code >= 200 && res[i].code <= 299;

		reply_xcode(res[i].code, res[i].reply, xcode, sizeof(xcode));
		printf("%d %s %s, id=rel-%s, from MTA(%s): %s\n", res[i].code, xcode,
		       ok ? "Ok" : "Failed", rel_id, label, res[i].reply);
	}
	rc = (size_t)accepted == nrcpts ? 0 : 1;
out:
	mavis_buf_free(&head);
	mavis_arena_free(&a);
	mavis_config_unref(&cfg);
	return rc;
}
