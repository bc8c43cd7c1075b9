/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_quarantine.c - quarantine files: store (plain, gzip, subdirs), no overwrite, find, read back */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include <mavis/arena.h>
#include <mavis/buf.h>
#include <mavis/quarantine.h>

#include "harness.h"

#define MSG_CRLF                                                               \
	"Received: from a.example.org\r\n\tby b.example.com; Mon, 1 Jan 2024\r\n" \
	"From: <s@example.org>\r\nSubject: test\r\n\r\nbody line 1\r\n.dot\r\n"  \
	"\r\nbinary \001\377 tail"
#define MSG_LF "From: <s@example.org>\nSubject: lf\n\nbody\n"

/* A fresh directory under the test's tmpdir. */
static const char *
new_dir(const char *name)
{
	static char bufs[8][512];
	static int next;
	char *p = bufs[next++ % 8];

	snprintf(p, 512, "%s/%s", test_tmpdir(), name);
	if (mkdir(p, 0755) < 0 && errno != EEXIST) {
		perror(p);
		exit(2);
	}
	return p;
}

/* The whole file, gunzipped when gz (zlib's gzread passes plain files through). */
static bool
slurp(const char *path, struct mavis_buf *b)
{
	gzFile g = gzopen(path, "rb");
	char chunk[4096];
	int n;

	mavis_buf_reset(b);
	if (g == NULL)
		return false;
	while ((n = gzread(g, chunk, sizeof(chunk))) > 0)
		mavis_buf_append(b, chunk, (size_t)n);
	gzclose(g);
	return n == 0;
}

/* Number of entries whose name starts with prefix in dir. */
static int
count_entries(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

static const char *const rcpts2[] = { "a@example.com", "b@example.net" };
static const char *const blocked1[] = { "b@example.net" };

static struct mavis_quarantine_in
base_in(const char *dir, int levels, const char *cat, bool gz, const char *id, const char *msg)
{
	struct mavis_quarantine_in in = {
		.dir = dir,
		.subdir_levels = levels,
		.category = cat,
		.gzip = gz,
		.mail_id = id,
		.secret_id = "SeCrEtSeCrEt",
		.sender = "s@example.org",
		.rcpts = rcpts2,
		.nrcpts = 2,
		.blocked = blocked1,
		.nblocked = 1,
		.msg = msg,
		.msg_len = strlen(msg),
	};
	return in;
}

struct store_case {
	int levels;
	bool gzip;
	const char *cat;
	const char *id;
	const char *msg;
	const char *rel;	/* expected rel_path */
	char type;
	const char *prefix;	/* expected file start */
};

static const struct store_case store_cases[] = {
	{ 0, false, "spam", "AbCdEfGhIjKl", MSG_CRLF, "spam-AbCdEfGhIjKl", 'F',
	  "X-Envelope-From: <s@example.org>\r\n"
	  "X-Envelope-To: <a@example.com>,\r\n\t<b@example.net>\r\n"
	  "X-Envelope-To-Blocked: <b@example.net>\r\n"
	  "X-Quarantine-ID: <AbCdEfGhIjKl>\r\n" },
	{ 1, false, "virus", "Zz-_09abcdef", MSG_CRLF, "Z/virus-Zz-_09abcdef", 'F',
	  "X-Envelope-From: <s@example.org>\r\n" },
	{ 0, true, "banned", "gz0000000000", MSG_CRLF, "banned-gz0000000000.gz", 'Z',
	  "X-Envelope-From: <s@example.org>\r\n" },
	{ 1, true, "badh", "-startsdash0", MSG_LF, "-/badh--startsdash0.gz", 'Z',
	  "X-Envelope-From: <s@example.org>\n"
	  "X-Envelope-To: <a@example.com>,\n\t<b@example.net>\n"
	  "X-Envelope-To-Blocked: <b@example.net>\n"
	  "X-Quarantine-ID: <-startsdash0>\n" },
	{ 1, false, "archive", "_underscore_", "", "_/archive-_underscore_", 'F',
	  "X-Envelope-From: <s@example.org>\n" },
};

static void
test_store(void)
{
	struct mavis_buf b = { 0 };

	for (size_t i = 0; i < sizeof(store_cases) / sizeof(store_cases[0]); i++) {
		const struct store_case *c = &store_cases[i];
		char dname[32], path[1024];
		const char *dir;
		struct mavis_quarantine_in in;
		struct mavis_quarantine_out out;
		struct mavis_error err = { 0 };
		struct stat st;

		snprintf(dname, sizeof(dname), "store%zu", i);
		dir = new_dir(dname);
		in = base_in(dir, c->levels, c->cat, c->gzip, c->id, c->msg);
		int rc = mavis_quarantine_store(&in, &out, &err);
		if (rc != 0)
			test_fail(__FILE__, __LINE__, "case %zu: %s", i, err.text);
		CHECK_STR(out.rel_path, c->rel);
		CHECK_INT(out.quar_type, c->type);
		snprintf(path, sizeof(path), "%s/%s", dir, c->rel);
		CHECK(stat(path, &st) == 0);
		CHECK_INT(st.st_mode & 07777, 0640);
		CHECK_INT(out.file_size, st.st_size);
		CHECK(slurp(path, &b));
		/* The prefix, then the message byte for byte. */
		CHECK(b.len > strlen(c->prefix));
		CHECK(strncmp(b.data, c->prefix, strlen(c->prefix)) == 0);
		CHECK(b.len >= strlen(c->msg));
		CHECK(memcmp(b.data + b.len - strlen(c->msg), c->msg, strlen(c->msg)) == 0);
		/* Exactly four prefix fields, nothing else before the message. */
		const char *qid = strstr(b.data, "X-Quarantine-ID: <");
		CHECK(qid != NULL);
		if (qid != NULL) {
			const char *eol = strchr(qid, '\n');
			CHECK(eol != NULL && (size_t)(eol + 1 - b.data) == b.len - strlen(c->msg));
		}
		/* The secret never reaches the file. */
		CHECK(strstr(b.data, "SeCrEt") == NULL);
		if (c->gzip) {
			unsigned char magic[2] = { 0, 0 };
			FILE *f = fopen(path, "rb");
			CHECK(f != NULL && fread(magic, 1, 2, f) == 2);
			if (f)
				fclose(f);
			CHECK(magic[0] == 0x1f && magic[1] == 0x8b);
		}
		/* No temporary file is left behind. */
		snprintf(path, sizeof(path), "%s%s%.1s", dir, c->levels ? "/" : "",
			 c->levels ? c->id : "");
		CHECK_INT(count_entries(path, ".mavis-"), 0);
	}
	mavis_buf_free(&b);
}

/* An existing file is never replaced, whatever the caller asks. */
static void
test_no_overwrite(void)
{
	const char *dir = new_dir("noover");
	struct mavis_quarantine_in in = base_in(dir, 1, "spam", false, "Dup000000000", MSG_CRLF);
	struct mavis_quarantine_out out;
	struct mavis_error err = { 0 };
	struct mavis_buf b = { 0 };
	char path[1024], sub[1024];

	CHECK_INT(mavis_quarantine_store(&in, &out, &err), 0);
	in.msg = "Subject: other\r\n\r\nother\r\n";
	in.msg_len = strlen(in.msg);
	CHECK_INT(mavis_quarantine_store(&in, &out, &err), MAVIS_ERR_IO);
	CHECK(strstr(err.text, "already exists") != NULL);
	CHECK(strstr(err.text, "spam-Dup000000000") != NULL);
	CHECK_STR(out.rel_path, "");
	snprintf(path, sizeof(path), "%s/D/spam-Dup000000000", dir);
	CHECK(slurp(path, &b));
	CHECK(strstr(b.data, "Subject: test") != NULL);
	CHECK(strstr(b.data, "other") == NULL);
	snprintf(sub, sizeof(sub), "%s/D", dir);
	CHECK_INT(count_entries(sub, ".mavis-"), 0);
	CHECK_INT(count_entries(sub, "spam-"), 1);
	/* The same id in another category or compressed is another file. */
	in.gzip = true;
	CHECK_INT(mavis_quarantine_store(&in, &out, &err), 0);
	CHECK_STR(out.rel_path, "D/spam-Dup000000000.gz");
	mavis_buf_free(&b);
}

/* Failures: a negative status and a reason, never a file. Root ignores
   permissions, so a regular file in the path stands for an unwritable dir. */
static void
test_store_errors(void)
{
	const char *dir = new_dir("errs");
	const char *file = test_write_file("errs/plainfile", "x");
	char under[1024];
	struct mavis_quarantine_in in;
	struct mavis_quarantine_out out;
	struct mavis_error err = { 0 };
	static const char *const bad_rcpt[] = { "a@example.com", "evil@example.com\r\nX-Bad: 1" };
	static const char *const angle_rcpt[] = { "a>b@example.com" };
	static const char *const empty_rcpt[] = { "" };

	snprintf(under, sizeof(under), "%s/q", file);
	in = base_in(under, 0, "spam", false, "Err000000000", MSG_CRLF);
	CHECK_INT(mavis_quarantine_store(&in, &out, &err), MAVIS_ERR_IO);
	CHECK(strstr(err.text, "Not a directory") != NULL);
	/* The quarantine "dir" is a file: levels 0 (open) and 1 (mkdir). */
	in = base_in(file, 0, "spam", false, "Err000000000", MSG_CRLF);
	CHECK_INT(mavis_quarantine_store(&in, &out, &err), MAVIS_ERR_IO);
	CHECK(strstr(err.text, "Not a directory") != NULL);
	in.subdir_levels = 1;
	CHECK_INT(mavis_quarantine_store(&in, &out, &err), MAVIS_ERR_IO);
	CHECK(strstr(err.text, "mkdir") != NULL);
	snprintf(under, sizeof(under), "%s/missing", dir);
	in = base_in(under, 0, "spam", false, "Err000000000", MSG_CRLF);
	CHECK_INT(mavis_quarantine_store(&in, &out, &err), MAVIS_ERR_IO);

	struct {
		int levels;
		const char *dir, *cat, *id, *sender;
		const char *const *rcpts;
		size_t nrcpts;
		int want;
	} bad[] = {
		{ 2, dir, "spam", "Err000000000", "s@x", rcpts2, 2, MAVIS_ERR_CONFIG },
		{ 0, "", "spam", "Err000000000", "s@x", rcpts2, 2, MAVIS_ERR_CONFIG },
		{ 0, dir, "Spam", "Err000000000", "s@x", rcpts2, 2, MAVIS_ERR_PARSE },
		{ 0, dir, "../x", "Err000000000", "s@x", rcpts2, 2, MAVIS_ERR_PARSE },
		{ 0, dir, "", "Err000000000", "s@x", rcpts2, 2, MAVIS_ERR_PARSE },
		{ 0, dir, "spam", "../etc/passwd", "s@x", rcpts2, 2, MAVIS_ERR_PARSE },
		{ 0, dir, "spam", ".hidden", "s@x", rcpts2, 2, MAVIS_ERR_PARSE },
		{ 0, dir, "spam", "", "s@x", rcpts2, 2, MAVIS_ERR_PARSE },
		{ 0, dir, "spam", "Err000000000", "s@x\n", rcpts2, 2, MAVIS_ERR_PARSE },
		{ 0, dir, "spam", "Err000000000", "s@x", bad_rcpt, 2, MAVIS_ERR_PARSE },
		{ 0, dir, "spam", "Err000000000", "s@x", angle_rcpt, 1, MAVIS_ERR_PARSE },
		{ 0, dir, "spam", "Err000000000", "s@x", empty_rcpt, 1, MAVIS_ERR_PARSE },
		{ 0, dir, "spam", "Err000000000", "\"open@x", rcpts2, 2, MAVIS_ERR_PARSE },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		in = base_in(bad[i].dir, bad[i].levels, bad[i].cat, false, bad[i].id, MSG_CRLF);
		in.sender = bad[i].sender;
		in.rcpts = bad[i].rcpts;
		in.nrcpts = bad[i].nrcpts;
		mavis_error_clear(&err);
		int rc = mavis_quarantine_store(&in, &out, &err);
		if (rc != bad[i].want)
			test_fail(__FILE__, __LINE__, "bad case %zu: rc %d (%s), want %d", i, rc,
				  err.text, bad[i].want);
		CHECK(err.text[0] != '\0');
	}
	/* An over-long address. */
	char *longaddr = malloc(MAVIS_QUARANTINE_ADDR_MAX + 16);
	memset(longaddr, 'a', MAVIS_QUARANTINE_ADDR_MAX + 10);
	memcpy(longaddr + MAVIS_QUARANTINE_ADDR_MAX, "@x.example", 11);
	in = base_in(dir, 0, "spam", false, "Err000000000", MSG_CRLF);
	in.sender = longaddr;
	CHECK_INT(mavis_quarantine_store(&in, &out, &err), MAVIS_ERR_LIMIT);
	free(longaddr);
	/* Nothing was written by any of them. */
	CHECK_INT(count_entries(dir, "spam-"), 0);
	CHECK_INT(count_entries(dir, ".mavis-"), 0);
}

static void
check_entry(const struct mavis_quarantine_entry *e, const char *id, const char *msg, char type)
{
	CHECK_STR(e->mail_id, id);
	CHECK_STR(e->sender, "s@example.org");
	CHECK_INT(e->nrcpts, 2);
	if (e->nrcpts == 2) {
		CHECK_STR(e->rcpts[0], "a@example.com");
		CHECK_STR(e->rcpts[1], "b@example.net");
	}
	CHECK(e->has_blocked);
	CHECK_INT(e->nblocked, 1);
	if (e->nblocked == 1)
		CHECK_STR(e->blocked[0], "b@example.net");
	CHECK_INT(e->message_len, strlen(msg));
	CHECK(e->message_len == strlen(msg) && memcmp(e->message, msg, e->message_len) == 0);
	CHECK_INT(e->quar_type, type);
}

static void
test_find_read(void)
{
	const char *dir = new_dir("findread");
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_quarantine_in in;
	struct mavis_quarantine_out out;
	struct mavis_quarantine_entry e;
	struct mavis_error err = { 0 };
	const char *path;
	char want[1024];

	struct {
		int levels;
		bool gz;
		const char *cat, *id, *msg;
	} cases[] = {
		{ 1, false, "spam", "RtPlain00001", MSG_CRLF },
		{ 1, true, "virus", "RtGzip000001", MSG_CRLF },
		{ 0, true, "banned", "RtFlatGz0001", MSG_LF },
		{ 0, false, "clean", "RtEmpty00001", "" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		in = base_in(dir, cases[i].levels, cases[i].cat, cases[i].gz, cases[i].id,
			     cases[i].msg);
		CHECK_INT(mavis_quarantine_store(&in, &out, &err), 0);
		/* Found whichever layout the caller believes in. */
		for (int lv = 0; lv < 2; lv++) {
			int rc = mavis_quarantine_find(dir, lv, cases[i].id, a, &path, &err);
			if (rc != 0)
				test_fail(__FILE__, __LINE__, "find %s: %s", cases[i].id, err.text);
			snprintf(want, sizeof(want), "%s/%s", dir, out.rel_path);
			CHECK_STR(path, want);
		}
		int rc = mavis_quarantine_read(path, 0, a, &e, &err);
		if (rc != 0)
			test_fail(__FILE__, __LINE__, "read %s: %s", cases[i].id, err.text);
		check_entry(&e, cases[i].id, cases[i].msg, cases[i].gz ? 'Z' : 'F');
	}

	/* Two copies of one message: the blocking category wins over the archive. */
	in = base_in(dir, 1, "archive", false, "TwoCopies001", MSG_CRLF);
	CHECK_INT(mavis_quarantine_store(&in, &out, &err), 0);
	in.category = "spam";
	in.gzip = true;
	CHECK_INT(mavis_quarantine_store(&in, &out, &err), 0);
	CHECK_INT(mavis_quarantine_find(dir, 1, "TwoCopies001", a, &path, &err), 0);
	snprintf(want, sizeof(want), "%s/T/spam-TwoCopies001.gz", dir);
	CHECK_STR(path, want);
	/* A longer id that ends in the wanted one, and a temp file, do not match. */
	test_write_file("findread/x-XTwoCopies00", "X-Quarantine-ID: <XTwoCopies00>\n");
	test_write_file("findread/.mavis-Only00000000-1.tmp", "partial");
	CHECK_INT(mavis_quarantine_find(dir, 0, "Only00000000", a, &path, &err), MAVIS_ERR_NOTFOUND);
	CHECK_INT(mavis_quarantine_find(dir, 0, "TwoCopies00", a, &path, &err), MAVIS_ERR_NOTFOUND);
	CHECK(path == NULL);
	CHECK_INT(mavis_quarantine_find(dir, 1, "Missing00000", a, &path, &err), MAVIS_ERR_NOTFOUND);
	CHECK_INT(mavis_quarantine_find(dir, 1, "../findread", a, &path, &err), MAVIS_ERR_PARSE);
	CHECK_INT(mavis_quarantine_find("/nonexistent/q", 1, "Missing00000", a, &path, &err),
		  MAVIS_ERR_IO);
	/* A bare MAIL_ID file (amavisd's guess for old files) is found too. */
	test_write_file("findread/BareId000001", "x");
	CHECK_INT(mavis_quarantine_find(dir, 1, "BareId000001", a, &path, &err), 0);

	/* max_bytes bounds what is read, compressed or not. */
	CHECK_INT(mavis_quarantine_find(dir, 1, "RtGzip000001", a, &path, &err), 0);
	CHECK_INT(mavis_quarantine_read(path, 100, a, &e, &err), MAVIS_ERR_LIMIT);
	CHECK_INT(mavis_quarantine_find(dir, 1, "RtPlain00001", a, &path, &err), 0);
	CHECK_INT(mavis_quarantine_read(path, 100, a, &e, &err), MAVIS_ERR_LIMIT);
	mavis_arena_free(&a);
}

/* Files that are not ours, or damaged, are refused with a reason. */
static void
test_read_bad(void)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_quarantine_entry e;
	struct mavis_error err = { 0 };
	static const struct {
		const char *content;
		int want;
		const char *why;	/* in err.text */
	} cases[] = {
		{ "From: a@example.org\nSubject: plain mail\n\nbody\n", MAVIS_ERR_PARSE, "not a quarantine" },
		{ "", MAVIS_ERR_PARSE, "not a quarantine" },
		{ "X-Envelope-From: <s@x>\nX-Envelope-To: <r@x>\n\nbody\n", MAVIS_ERR_PARSE,
		  "X-Quarantine-ID" },
		{ "X-Envelope-From: <s@x>\nX-Envelope-To: <r@x>\nX-Quarantine-ID: <AAAA>\n"
		  "X-Quarantine-ID: <BBBB>\n\nbody\n", MAVIS_ERR_PARSE, "more than once" },
		{ "X-Envelope-From: <s@x>\nX-Envelope-To: <r@x\nX-Quarantine-ID: <AAAA>\n\n",
		  MAVIS_ERR_PARSE, "'>'" },
		{ "X-Envelope-From: <s@x>, <t@x>\nX-Envelope-To: <r@x>\nX-Quarantine-ID: <AAAA>\n\n",
		  MAVIS_ERR_PARSE, "want one" },
		{ "X-Envelope-From: <s@x>\nX-Envelope-To: <r@x>\nX-Quarantine-ID: <../../x>\n\n",
		  MAVIS_ERR_PARSE, "mail_id" },
		{ "X-Envelope-From: <s@x>\nX-Envelope-To: <r@x>, <>\nX-Quarantine-ID: <AAAA>\n\n",
		  MAVIS_ERR_PARSE, "empty address" },
		{ "X-Envelope-From: <s@x>\nX-Envelope-To: <r@x>\nX-Quarantine-ID: <AAAA>",
		  MAVIS_ERR_PARSE, "no line end" },
	};
	char name[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(name, sizeof(name), "bad%zu", i);
		const char *p = test_write_file(name, cases[i].content);
		mavis_error_clear(&err);
		int rc = mavis_quarantine_read(p, 0, a, &e, &err);
		if (rc != cases[i].want || strstr(err.text, cases[i].why) == NULL)
			test_fail(__FILE__, __LINE__, "bad file %zu: rc %d \"%s\", want %d \"%s\"", i,
				  rc, err.text, cases[i].want, cases[i].why);
	}
	/* A truncated gzip file. */
	const char *dir = new_dir("badgz");
	struct mavis_quarantine_in in = base_in(dir, 0, "spam", true, "Trunc0000001", MSG_CRLF);
	struct mavis_quarantine_out out;
	char path[1024];
	CHECK_INT(mavis_quarantine_store(&in, &out, &err), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, out.rel_path);
	CHECK(truncate(path, (off_t)out.file_size - 6) == 0);
	CHECK_INT(mavis_quarantine_read(path, 0, a, &e, &err), MAVIS_ERR_IO);
	CHECK(strstr(err.text, "gzip") != NULL);
	/* Garbage with a gzip magic. */
	const char *g = test_write_file("garbage.gz", "\037\213garbage garbage garbage");
	CHECK_INT(mavis_quarantine_read(g, 0, a, &e, &err), MAVIS_ERR_IO);
	/* Not there, or a directory. */
	CHECK_INT(mavis_quarantine_read("/nonexistent/file", 0, a, &e, &err), MAVIS_ERR_IO);
	CHECK_INT(mavis_quarantine_read(dir, 0, a, &e, &err), MAVIS_ERR_IO);
	mavis_arena_free(&a);
}

/* What amavisd writes reads too: LF lines, space folding, no To-Blocked
   (older versions), its own fields after the prefix, a quoted local part. */
static void
test_read_amavisd(void)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_quarantine_entry e;
	struct mavis_error err = { 0 };
	const char *p = test_write_file(
		"amavisd-file",
		"X-Envelope-From: <>\n"
		"x-envelope-to: <\"odd>local, part\"@example.com>,\n <plain@example.com>\n"
		"X-Quarantine-ID: <nq6ekd4wtXZg>\n"
		"X-Spam-Flag: YES\n"
		"X-Spam-Status: Yes, score=1000.985 tag=2 tag2=6.31 kill=6.31\n"
		"    tests=[GTUBE=1000]\n"
		"Received: from demo.example.org ([127.0.0.1])\n"
		"Subject: spam\n\nbody\n");

	int rc = mavis_quarantine_read(p, 0, a, &e, &err);
	if (rc != 0)
		test_fail(__FILE__, __LINE__, "amavisd file: %s", err.text);
	CHECK_STR(e.sender, "");
	CHECK_STR(e.mail_id, "nq6ekd4wtXZg");
	CHECK_INT(e.nrcpts, 2);
	if (e.nrcpts == 2) {
		CHECK_STR(e.rcpts[0], "\"odd>local, part\"@example.com");
		CHECK_STR(e.rcpts[1], "plain@example.com");
	}
	CHECK(!e.has_blocked);
	CHECK_INT(e.nblocked, 0);
	CHECK(e.blocked != NULL);
	CHECK(strncmp(e.message, "X-Spam-Flag: YES\n", 17) == 0);
	CHECK_INT(e.quar_type, 'F');
	mavis_arena_free(&a);
}

/* Long recipient lists: one address per line, all read back. Also the null
   sender, quoted local parts and extra fields. */
static void
test_folding_and_extras(void)
{
	const char *dir = new_dir("fold");
	struct mavis_arena *a = mavis_arena_new(0);
	enum { N = 500 };
	const char **rcpts = mavis_arena_calloc(a, N, sizeof(*rcpts));
	struct mavis_quarantine_in in = base_in(dir, 1, "spam", true, "Folded000001", MSG_CRLF);
	struct mavis_quarantine_out out;
	struct mavis_quarantine_entry e;
	struct mavis_error err = { 0 };
	struct mavis_buf b = { 0 };
	char path[1024];
	static const char *const extras[] = {
		"X-Spam-Status: Yes, score=9.1\n tag=2 tag2=6.2\r\n\ttests=[A=1]",
		"X-Amavis-Alert: BANNED, message contains text.exe",
	};

	for (int i = 0; i < N; i++)
		rcpts[i] = mavis_arena_printf(a, "user%03d@%s.example.com", i, i % 2 ? "odd" : "even");
	rcpts[7] = "\"quoted, local>part\"@example.com";
	in.rcpts = rcpts;
	in.nrcpts = N;
	in.blocked = rcpts;
	in.nblocked = N;
	in.sender = "";
	in.extra_fields = extras;
	in.nextra = 2;
	CHECK_INT(mavis_quarantine_store(&in, &out, &err), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, out.rel_path);
	CHECK(slurp(path, &b));
	static const char head[] = "X-Envelope-From: <>\r\nX-Envelope-To: <user000@even.example.com>,\r\n"
				   "\t<user001@odd.example.com>,\r\n\t<user002@even.example.com>,\r\n";
	CHECK(strncmp(b.data, head, sizeof(head) - 1) == 0);
	/* Every line of the prefix is short, whatever the number of recipients. */
	size_t prefix_len = b.len - strlen(MSG_CRLF), longest = 0, start = 0;
	for (size_t i = 0; i < prefix_len; i++) {
		if (b.data[i] == '\n') {
			if (i - start > longest)
				longest = i - start;
			start = i + 1;
		}
	}
	CHECK(longest < 80);
	CHECK(strstr(b.data, "X-Quarantine-ID: <Folded000001>\r\n"
			     "X-Spam-Status: Yes, score=9.1\r\n tag=2 tag2=6.2\r\n\ttests=[A=1]\r\n"
			     "X-Amavis-Alert: BANNED, message contains text.exe\r\nReceived: ") != NULL);
	CHECK_INT(mavis_quarantine_read(path, 0, a, &e, &err), 0);
	CHECK_STR(e.sender, "");
	CHECK_INT(e.nrcpts, N);
	CHECK_INT(e.nblocked, N);
	for (size_t i = 0; i < e.nrcpts && i < N; i++)
		if (strcmp(e.rcpts[i], rcpts[i]) != 0 || strcmp(e.blocked[i], rcpts[i]) != 0)
			test_fail(__FILE__, __LINE__, "recipient %zu: %s", i, e.rcpts[i]);
	/* The extra fields belong to the message as released (amavisd too). */
	CHECK(strncmp(e.message, "X-Spam-Status: Yes", 18) == 0);

	/* Extra fields that would break the file are refused. */
	static const char *const bad_extras[][1] = {
		{ "no colon here" }, { ": no name" }, { "X-A: v\nX-Injected: 1" },
		{ "X-A: bare\rCR" }, { "X-Quarantine-ID: <other>" }, { "x-envelope-to: <r@x>" },
		{ "X-A: trailing\n" }, { "Bad Name: v" },
	};
	for (size_t i = 0; i < sizeof(bad_extras) / sizeof(bad_extras[0]); i++) {
		in = base_in(dir, 0, "spam", false, "BadExtra0001", MSG_CRLF);
		in.extra_fields = bad_extras[i];
		in.nextra = 1;
		int rc = mavis_quarantine_store(&in, &out, &err);
		if (rc != MAVIS_ERR_PARSE)
			test_fail(__FILE__, __LINE__, "bad extra %zu: rc %d", i, rc);
	}
	CHECK_INT(count_entries(dir, "spam-BadExtra"), 0);
	mavis_buf_free(&b);
	mavis_arena_free(&a);
}

static void
test_ids_and_addrs(void)
{
	struct mavis_error err = { 0 };

	CHECK(mavis_quarantine_valid_id("nq6ekd4wtXZg"));
	CHECK(mavis_quarantine_valid_id("a+b-c_d"));
	CHECK(!mavis_quarantine_valid_id(""));
	CHECK(!mavis_quarantine_valid_id(NULL));
	CHECK(!mavis_quarantine_valid_id("a/b"));
	CHECK(!mavis_quarantine_valid_id("a.b"));
	CHECK(!mavis_quarantine_valid_id("0123456789012345678901234567890123456789012345678901234567890123456789"));
	CHECK_INT(mavis_quarantine_check_addr("", &err), 0);
	CHECK_INT(mavis_quarantine_check_addr("\"a b>c\"@example.org", &err), 0);
	CHECK_INT(mavis_quarantine_check_addr("\"a\\\"b\"@example.org", &err), 0);
	CHECK_INT(mavis_quarantine_check_addr("a\r\nb@example.org", &err), MAVIS_ERR_PARSE);
	CHECK_INT(mavis_quarantine_check_addr("a>b@example.org", &err), MAVIS_ERR_PARSE);
	CHECK_INT(mavis_quarantine_check_addr("\"a\\", &err), MAVIS_ERR_PARSE);
	CHECK_INT(mavis_quarantine_check_addr(NULL, &err), MAVIS_ERR_PARSE);
}

int
main(void)
{
	TEST_RUN(test_store);
	TEST_RUN(test_no_overwrite);
	TEST_RUN(test_store_errors);
	TEST_RUN(test_find_read);
	TEST_RUN(test_read_bad);
	TEST_RUN(test_read_amavisd);
	TEST_RUN(test_folding_and_extras);
	TEST_RUN(test_ids_and_addrs);
	return test_exit();
}
