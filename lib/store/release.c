/* SPDX-License-Identifier: GPL-2.0-or-later */
/* release.c - re-send a quarantined message with Resent- fields (mavisctl release, AM.PDP) */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <mavis/buf.h>
#include <mavis/release.h>
#include <mavis/sql.h>

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

/* amavisd's test for an AM.PDP mail_file: a relative name of safe
   characters with no ".." component, so it cannot leave the directory. */
static bool
safe_rel_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= 1024 || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					    "0123456789") == 0)
		return false;
	if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_.+-") != n)
		return false;
	for (const char *p = s; (p = strstr(p, "..")) != NULL; p++)
		if ((p == s || p[-1] == '/') && (p[2] == '/' || p[2] == '\0'))
			return false;
	return true;
}

/* The largest message mavisd takes, plus the envelope prefix. */
static size_t
read_limit(const struct mavis_config *cfg)
{
	uint64_t limit = (uint64_t)mavis_config_get(cfg, MAVIS_KEY_MESSAGE_SIZE_LIMIT)->u.i +
			 MAVIS_QUARANTINE_PREFIX_MAX;

	return limit > SIZE_MAX - 1 ? SIZE_MAX - 1 : (size_t)limit;
}

int
mavis_release_load_file(const struct mavis_config *cfg, const char *mail_id, const char *mail_file,
			struct mavis_arena *a, struct mavis_quarantine_entry *e, const char **path_r,
			struct mavis_error *err)
{
	const char *qdir = mavis_config_get(cfg, MAVIS_KEY_QUARANTINE_DIR)->u.s;
	const char *qpath;
	int rc;

	if (!mavis_quarantine_valid_id(mail_id))
		return mavis_error_set(err, MAVIS_ERR_PARSE, "\"%s\" is not a mail_id", mail_id);
	if (qdir == NULL || qdir[0] == '\0')
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "quarantine_dir is not set");
	qpath = NULL;
	if (mail_file != NULL && mail_file[0] != '\0') {
		if (!safe_rel_name(mail_file))
			return mavis_error_set(err, MAVIS_ERR_PARSE, "Unsafe filename \"%s\"",
					       mail_file);
		/* amavisd-release sends what the admin typed ("spam-ID", or the
		   bare ID): a name that is not there is a hint only, the id
		   then finds the file. */
		qpath = mavis_arena_printf(a, "%s/%s", qdir, mail_file);
		if (access(qpath, F_OK) < 0)
			qpath = NULL;
	}
	if (qpath == NULL) {
		rc = mavis_quarantine_find(
			qdir, (int)mavis_config_get(cfg, MAVIS_KEY_QUARANTINE_SUBDIR_LEVELS)->u.i,
			mail_id, a, &qpath, err);
		if (rc < 0)
			return rc;
	}
	rc = mavis_quarantine_read(qpath, read_limit(cfg), a, e, err);
	if (rc < 0)
		return rc;
	/* A file renamed or copied under another id must not be released as
	   this one (amavisd checks the same). */
	if (strcmp(e->mail_id, mail_id) != 0)
		return mavis_error_set(err, MAVIS_ERR_PARSE,
				       "%s: X-Quarantine-ID <%s> does not match %s", qpath,
				       e->mail_id, mail_id);
	*path_r = qpath;
	return 0;
}

int
mavis_release_load_sql(const struct mavis_config *cfg, struct mavis_sql *sql, const char *mail_id,
		       const char *partition_tag, struct mavis_arena *a,
		       struct mavis_quarantine_entry *e, const char **loc_r,
		       struct mavis_error *err)
{
	long ptag = 0;
	int rc;

	if (!mavis_quarantine_valid_id(mail_id))
		return mavis_error_set(err, MAVIS_ERR_PARSE, "\"%s\" is not a mail_id", mail_id);
	if (sql == NULL)
		return mavis_error_set(err, MAVIS_ERR_CONFIG,
				       "SQL quarantine is not enabled (sql_dsn is empty)");
	if (partition_tag != NULL && partition_tag[0] != '\0') {
		char *end;

		errno = 0;
		ptag = strtol(partition_tag, &end, 10);
		if (errno != 0 || *end != '\0' || ptag < 0 || ptag > 2147483647L)
			return mavis_error_set(err, MAVIS_ERR_PARSE, "Invalid partition_tag '%s'",
					       partition_tag);
	} else {
		/* As amavisd: find the partition from msgs; several are
		   ambiguous; with none (no SQL log, or its row is missing)
		   read this host's partition_tag anyway. */
		struct mavis_sql_msg *rows = NULL;
		int n = mavis_sql_msgs_lookup(sql, mail_id, NULL, -1, a, &rows, err);

		if (n < 0)
			return n;
		if (n > 1)
			return mavis_error_set(err, MAVIS_ERR_PARSE,
					       "Multiple (%d) records with same mail_id exist, "
					       "specify a partition_tag in the AM.PDP request", n);
		if (n == 1)
			ptag = rows[0].partition_tag;
		else
			ptag = mavis_config_get(cfg, MAVIS_KEY_PARTITION_TAG)->u.i;
	}
	rc = mavis_sql_quarantine_read(sql, (int)ptag, mail_id, read_limit(cfg), a, e, err);
	if (rc < 0)
		return rc;
	if (strcmp(e->mail_id, mail_id) != 0)
		return mavis_error_set(err, MAVIS_ERR_PARSE,
				       "sql:%s[%ld]: X-Quarantine-ID <%s> does not match", mail_id, ptag,
				       e->mail_id);
	*loc_r = mavis_arena_printf(a, "sql:%s[%ld]", mail_id, ptag);
	return 0;
}

static int
check_addr(const char *what, const char *addr, bool empty_ok, struct mavis_error *err)
{
	if (addr[0] == '\0' && !empty_ok)
		return mavis_error_set(err, MAVIS_ERR_PARSE, "%s: empty address", what);
	if (mavis_quarantine_check_addr(addr, err) < 0) {
		mavis_error_prefix(err, "%s \"%s\": ", what, addr);
		return MAVIS_ERR_PARSE;
	}
	return 0;
}

int
mavis_release_send(const struct mavis_config *cfg, const struct mavis_quarantine_entry *e,
		   const struct mavis_release_opts *o, struct mavis_arena *a,
		   struct mavis_release_result *res, struct mavis_error *err)
{
	struct mavis_submit_method method;
	struct mavis_buf head = { 0 };
	const char *const *rcpts;
	size_t nrcpts;
	const char *host, *sender;
	int rc;

	memset(res, 0, sizeof(*res));
	for (size_t i = 0; i < o->nrcpts; i++)
		if ((rc = check_addr("recipient", o->rcpts[i], false, err)) < 0)
			return rc;
	if (o->requested_by != NULL && (rc = check_addr("requested_by", o->requested_by, false, err)) < 0)
		return rc;
	if (o->sender != NULL && (rc = check_addr("sender", o->sender, true, err)) < 0)
		return rc;
	enum mavis_key mkey = o->requeue ? MAVIS_KEY_REQUEUE_METHOD : MAVIS_KEY_RELEASE_METHOD;
	rc = mavis_submit_parse(mavis_config_get(cfg, mkey)->u.s, a, &method, err);
	if (rc < 0) {
		mavis_error_prefix(err, "%s: ", mavis_key_info(mkey)->name);
		return rc;
	}
	/* Recipients: as asked; else those it was blocked for; else, for
	   files without that field (or an archive copy), every original
	   recipient. A requeue too (amavisd: only the method differs). */
	if (o->nrcpts > 0) {
		rcpts = o->rcpts;
		nrcpts = o->nrcpts;
	} else if (e->nblocked > 0) {
		rcpts = e->blocked;
		nrcpts = e->nblocked;
	} else {
		rcpts = e->rcpts;
		nrcpts = e->nrcpts;
	}
	if (nrcpts == 0)
		return mavis_error_set(err, MAVIS_ERR_NOTFOUND, "no recipients");
	if (release_id(res->rel_id) < 0)
		return mavis_error_set(err, MAVIS_ERR_IO, "getrandom failed");
	host = my_hostname(cfg, a);
	sender = o->sender != NULL ? o->sender : e->sender;

	/* amavisd release_format 'resend': Resent- fields on top of the
	   original message. Resent-From names who resends: the requester when
	   known (then Resent-Sender is us), else us. */
	const char *nl = memchr(e->message, '\n', e->message_len);
	const char *eol = nl && nl > e->message && nl[-1] == '\r' ? "\r\n" : "\n";
	const char *self = mavis_arena_printf(a, "\"Content-filter at %s\" <postmaster@%s>", host, host);
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	if (o->requested_by != NULL)
		mavis_buf_printf(&head, "Resent-From: <%s>%sResent-Sender: %s%s", o->requested_by, eol,
				 self, eol);
	else
		mavis_buf_printf(&head, "Resent-From: %s%s", self, eol);
	/* As amavisd: the one recipient, or none named when there are more,
	   so that a release to several does not show each the others (a Bcc
	   recipient among them). */
	if (nrcpts == 1)
		mavis_buf_printf(&head, "Resent-To: <%s>%s", rcpts[0], eol);
	else
		mavis_buf_printf(&head, "Resent-To: undisclosed-recipients:;%s", eol);
	mavis_buf_printf(&head, "Resent-Date: %s%s", date, eol);
	mavis_buf_printf(&head, "Resent-Message-ID: <%s-rel-%s@%s>%s", e->mail_id, res->rel_id, host,
			 eol);

	res->method_spec = method.spec;
	res->method_label = method_label(&method, a);
	res->sender = sender;
	res->header = mavis_arena_strndup(a, head.data ? head.data : "", head.len);
	res->nrcpts = nrcpts;
	res->rcpts = mavis_arena_calloc(a, nrcpts, sizeof(*res->rcpts));
	for (size_t i = 0; i < nrcpts; i++)
		res->rcpts[i].addr = rcpts[i];
	if (o->dry_run) {
		mavis_buf_free(&head);
		return 0;
	}

	struct mavis_submit_rcpt *sr = mavis_arena_calloc(a, nrcpts, sizeof(*sr));
	for (size_t i = 0; i < nrcpts; i++)
		sr[i].addr = rcpts[i];
	struct mavis_submit_opts sopts = { .helo_name = host };
	struct mavis_submit_part parts[2] = {
		{ head.data, head.len },
		{ e->message, e->message_len },
	};
	int accepted = mavis_submit(&method, &sopts, sender, sr, nrcpts, parts, 2, err);
	mavis_buf_free(&head);
	if (accepted < 0)
		return accepted;
	res->accepted = (size_t)accepted;
	for (size_t i = 0; i < nrcpts; i++) {
		struct mavis_release_rcpt *r = &res->rcpts[i];
		bool ok = sr[i].code >= 200 && sr[i].code <= 299;

		r->code = sr[i].code;
		reply_xcode(sr[i].code, sr[i].reply, r->xcode, sizeof(r->xcode));
		r->text = mavis_arena_printf(a, "%s, id=rel-%s, from MTA(%s): %s", ok ? "Ok" : "Failed",
					     res->rel_id, res->method_label, sr[i].reply);
	}
	return 0;
}
