/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_av.c - virus scanning: engine, test DB, clamav-testfiles, clamd, failover, reload */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>

#include <mavis/av.h>
#include <mavis/buf.h>

#include "harness.h"

#define TESTFILES_DIR "/usr/share/clamav-testfiles"

/* Built at run time so that neither this source nor the binary holds the
   EICAR string in one piece (desktop scanners would flag them). */
static char eicar[69];
static const char clean_text[] = "Hello,\r\nthis part is perfectly harmless.\r\n";
static const char custom_text[] = "header\nMAVIS-TEST-VIRUS-STRING\ntrailer\n";
static char dbdir[512];

static void
eicar_init(void)
{
	snprintf(eicar, sizeof(eicar), "%s%s%s", "X5O!P%@AP[4\\PZX54(P^)7CC)7}$",
		 "EICAR-STANDARD-ANTIVIRUS-", "TEST-FILE!$H+H*");
}

static long
rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
run(const char *cmd)
{
	if (system(cmd) != 0) {
		fprintf(stderr, "command failed: %s\n", cmd);
		exit(2);
	}
}

/* A fresh copy of the test DB in tmpdir/name; returns its path. */
static const char *
db_copy(const char *name)
{
	static char bufs[4][512];
	static int next;
	char *p = bufs[next++ % 4];
	char cmd[2600];

	snprintf(p, 512, "%s/%s", test_tmpdir(), name);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s' && cp '%s'/*.?db '%s'/", p, p,
		 dbdir, p);
	run(cmd);
	return p;
}

static void
write_to(const char *dir, const char *name, const char *contents)
{
	char path[700];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f == NULL || fputs(contents, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

static bool
has_name(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

static bool
log_has(const struct mavis_av_result *r, const char *needle)
{
	for (size_t i = 0; i < r->n_log; i++)
		if (strstr(r->log[i].text, needle) != NULL)
			return true;
	return false;
}

static void
log_dump(const struct mavis_av_result *r)
{
	for (size_t i = 0; i < r->n_log; i++)
		fprintf(stderr, "    log[%d]: %s\n", r->log[i].level, r->log[i].text);
}

static const char *const SCAN_CLAMAV[] = { "clamav", NULL };

static void
settings(struct mavis_av_settings *s, const char *db, const char *const *primary,
	 const char *const *backup)
{
	mavis_av_settings_init(s);
	s->database_dir = db;
	s->scanners = primary;
	s->scanners_backup = backup;
	s->tmpdir = test_tmpdir();
}

static struct mavis_av_buf
mkbuf(const void *p, size_t len, const char *name)
{
	struct mavis_av_buf b = { p, len, name, false };

	return b;
}

static struct mavis_av_buf
strbuf(const char *s, const char *name)
{
	return mkbuf(s, strlen(s), name);
}

/* ---- engine ---- */

static void
test_engine_load_and_scan(void)
{
	struct mavis_av_settings s;
	struct mavis_av_engine *e = NULL, *e2;
	struct mavis_error err;
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_av_buf b;
	const char *const *names;
	size_t n;
	long rss0 = rss_kb(), rss1;
	char big[4096];
	int rc;

	settings(&s, dbdir, SCAN_CLAMAV, NULL);
	rc = mavis_av_engine_load(&s, &e, &err);
	CHECK_INT(rc, 0);
	if (e == NULL) {
		fprintf(stderr, "load: %s\n", err.text);
		mavis_arena_free(&a);
		return;
	}
	rss1 = rss_kb();
	printf("engine: %u signatures from %s in %u ms, RSS %ld kB -> %ld kB (+%ld kB)\n",
	       mavis_av_engine_signatures(e), mavis_av_engine_dir(e),
	       mavis_av_engine_load_ms(e), rss0, rss1, rss1 - rss0);
	CHECK_INT(mavis_av_engine_signatures(e), 5);

	/* EICAR alone: both the hdb (MD5) and the ndb signature match it. */
	b = strbuf(eicar, "eicar.com");
	CHECK_INT(mavis_av_engine_scan(e, &b, a, &names, &n, &err), 1);
	CHECK(n >= 1);
	CHECK(n >= 1 && (strcmp(names[0], "Eicar-Signature.UNOFFICIAL") == 0 ||
			 strcmp(names[0], "Win.Test.EICAR_HDB-1.UNOFFICIAL") == 0));
	/* EICAR inside a bigger text: only the body signature can see it. */
	memset(big, 'a', sizeof(big));
	memcpy(big + 1000, eicar, strlen(eicar));
	b = mkbuf(big, sizeof(big), "big.txt");
	CHECK_INT(mavis_av_engine_scan(e, &b, a, &names, &n, &err), 1);
	CHECK(n == 1 && strcmp(names[0], "Eicar-Signature.UNOFFICIAL") == 0);
	b = strbuf(custom_text, "custom.txt");
	CHECK_INT(mavis_av_engine_scan(e, &b, a, &names, &n, &err), 1);
	CHECK(n == 1 && strcmp(names[0], "Mavis.Test.String-1.UNOFFICIAL") == 0);
	b = strbuf(clean_text, "clean.txt");
	CHECK_INT(mavis_av_engine_scan(e, &b, a, &names, &n, &err), 0);
	CHECK_INT(n, 0);

	/* References: the engine lives until the last one goes. */
	e2 = mavis_av_engine_ref(e);
	mavis_av_engine_unref(&e);
	CHECK(e == NULL);
	b = strbuf(eicar, "eicar.com");
	CHECK_INT(mavis_av_engine_scan(e2, &b, a, NULL, NULL, &err), 1);
	mavis_av_engine_unref(&e2);
	mavis_av_engine_unref(&e2);	/* NULL-safe */
	mavis_arena_free(&a);
}

static void
test_engine_load_errors(void)
{
	struct mavis_av_settings s;
	struct mavis_av_engine *e = NULL;
	struct mavis_av *av = NULL;
	struct mavis_error err;
	char empty[600], missing[600];
	const char *bad;
	int rc;

	snprintf(empty, sizeof(empty), "%s/empty-db", test_tmpdir());
	mkdir(empty, 0700);
	settings(&s, empty, SCAN_CLAMAV, NULL);
	rc = mavis_av_engine_load(&s, &e, &err);
	CHECK_INT(rc, MAVIS_ERR_SCANNER);
	CHECK(e == NULL);
	CHECK(strstr(err.text, "no ClamAV signatures in") != NULL);
	CHECK(strstr(err.text, empty) != NULL);
	printf("empty DB: %s\n", err.text);
	/* Startup with no usable database fails, with the same words. */
	rc = mavis_av_new(&s, NULL, &av, &err);
	CHECK_INT(rc, MAVIS_ERR_SCANNER);
	CHECK(av == NULL);
	CHECK(strstr(err.text, "no ClamAV signatures in") != NULL);

	snprintf(missing, sizeof(missing), "%s/no-such-dir", test_tmpdir());
	s.database_dir = missing;
	CHECK_INT(mavis_av_engine_load(&s, &e, &err), MAVIS_ERR_SCANNER);
	CHECK(strstr(err.text, missing) != NULL);
	printf("missing DB: %s\n", err.text);

	bad = db_copy("corrupt-db");
	write_to(bad, "broken.ndb", "this is not a signature\n");
	s.database_dir = bad;
	CHECK_INT(mavis_av_engine_load(&s, &e, &err), MAVIS_ERR_SCANNER);
	CHECK(e == NULL);
	CHECK(strstr(err.text, "Malformed database") != NULL);
	CHECK(strstr(err.text, "broken.ndb") != NULL);
	printf("corrupt DB: %s\n", err.text);
}

/* ---- clamav-testfiles: libclamav's own unpackers on ClamAV's samples ---- */

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_testfiles(void)
{
	struct mavis_av_settings s;
	struct mavis_av *av = NULL;
	struct mavis_error err;
	struct mavis_buf found = { 0 };
	char *files[256];
	size_t nfiles = 0, ninfected = 0;
	struct dirent *de;
	DIR *d = opendir(TESTFILES_DIR);

	if (d == NULL) {
		/* contrib/install-deps installs clamav-testfiles. */
		test_fail(__FILE__, __LINE__, "%s missing: install clamav-testfiles",
			  TESTFILES_DIR);
		return;
	}
	while ((de = readdir(d)) != NULL && nfiles < 256)
		if (de->d_name[0] != '.')
			files[nfiles++] = strdup(de->d_name);
	closedir(d);
	qsort(files, nfiles, sizeof(files[0]), name_cmp);

	settings(&s, dbdir, SCAN_CLAMAV, NULL);
	CHECK_INT(mavis_av_new(&s, NULL, &av, &err), 0);
	for (size_t i = 0; av != NULL && i < nfiles; i++) {
		char path[600];
		struct mavis_arena *a = mavis_arena_new(0);
		struct mavis_av_result r;
		struct mavis_av_buf b;
		size_t len = 0;
		char *data;

		snprintf(path, sizeof(path), "%s/%s", TESTFILES_DIR, files[i]);
		data = test_slurp(path, &len);
		CHECK(data != NULL);
		if (data != NULL) {
			b = mkbuf(data, len, files[i]);
			mavis_av_scan(av, &b, 1, a, &r);
			if (r.status == MAVIS_AV_INFECTED) {
				ninfected++;
				mavis_buf_printf(&found, " %s", files[i]);
			} else {
				test_fail(__FILE__, __LINE__, "%s: status %d (%s), want INFECTED",
					  files[i], r.status, r.text);
				log_dump(&r);
			}
		}
		free(data);
		mavis_arena_free(&a);
	}
	printf("clamav-testfiles: %zu of %zu detected:%s\n", ninfected, nfiles,
	       mavis_buf_str(&found));
	CHECK(nfiles >= 20);
	CHECK_INT(ninfected, nfiles);
	mavis_buf_free(&found);
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
	mavis_av_free(&av);
}

/* ---- mavis_av_scan with the in-process engine ---- */

static void
test_scan_clamav(void)
{
	struct mavis_av_settings s;
	struct mavis_av *av = NULL;
	struct mavis_error err;
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_av_result r;
	struct mavis_av_buf bufs[4];

	settings(&s, dbdir, SCAN_CLAMAV, NULL);
	CHECK_INT(mavis_av_new(&s, NULL, &av, &err), 0);
	if (av == NULL) {
		mavis_arena_free(&a);
		return;
	}
	bufs[0] = strbuf(clean_text, "p001");
	bufs[1] = mkbuf("", 0, "p002");	/* empty parts are skipped */
	bufs[2] = strbuf(clean_text, "raw");
	CHECK_INT(mavis_av_scan(av, bufs, 3, a, &r), 0);
	CHECK_INT(r.status, MAVIS_AV_CLEAN);
	CHECK_STR(r.scanners, "clamav");
	CHECK(log_has(&r, "clamav av-scanner: CLEAN"));

	bufs[1] = strbuf(eicar, "p002");
	CHECK_INT(mavis_av_scan(av, bufs, 3, a, &r), 0);
	CHECK_INT(r.status, MAVIS_AV_INFECTED);
	CHECK(r.n_names >= 1);
	CHECK(log_has(&r, "virus_scan: ("));
	CHECK(log_has(&r, "detected by 1 scanners: clamav"));

	/* all_match: every buffer, every name. */
	mavis_av_free(&av);
	s.all_match = true;
	CHECK_INT(mavis_av_new(&s, NULL, &av, &err), 0);
	bufs[2] = strbuf(custom_text, "p003");
	bufs[3] = strbuf(clean_text, "raw");
	CHECK_INT(mavis_av_scan(av, bufs, 4, a, &r), 0);
	CHECK_INT(r.status, MAVIS_AV_INFECTED);
	CHECK(has_name(r.names, r.n_names, "Mavis.Test.String-1.UNOFFICIAL"));
	CHECK(has_name(r.names, r.n_names, "Eicar-Signature.UNOFFICIAL"));
	CHECK(has_name(r.names, r.n_names, "Win.Test.EICAR_HDB-1.UNOFFICIAL"));
	printf("all_match names: %s\n", r.text);
	/* The same virus in a part and in the raw message: one name each. */
	bufs[0] = strbuf(custom_text, "p001");
	bufs[1] = strbuf(custom_text, "raw");
	CHECK_INT(mavis_av_scan(av, bufs, 2, a, &r), 0);
	CHECK_INT(r.status, MAVIS_AV_INFECTED);
	CHECK_STR(r.text, "Mavis.Test.String-1.UNOFFICIAL");

	/* Nothing given is not "clean". */
	CHECK_INT(mavis_av_scan(av, bufs, 0, a, &r), MAVIS_ERR_SCANNER);
	CHECK_INT(r.status, MAVIS_AV_FAILED);
	bufs[0] = mkbuf(NULL, 10, "null");
	CHECK_INT(mavis_av_scan(av, bufs, 1, a, &r), MAVIS_ERR_SCANNER);
	CHECK_INT(r.status, MAVIS_AV_FAILED);
	mavis_av_free(&av);
	mavis_av_free(&av);	/* NULL-safe */
	mavis_arena_free(&a);
}

/* A limit hit is never clean: libclamav alone would say CL_CLEAN here. */
static void
test_limits(void)
{
	static const struct {
		const char *file;
		const char *limit;
		struct mavis_av_limits limits;
	} cases[] = {
		{ "clam.zip", "MaxRecursion", { .max_recursion = 1 } },
		{ "clam.tar.gz", "MaxFiles", { .max_files = 1 } },
		{ "clam.zip", "MaxFileSize", { .max_filesize = 100 } },
		{ "clam.tar.gz", "MaxScanSize", { .max_scansize = 100 } },
		{ "clam_IScab_ext.exe", "MaxScanTime", { .max_scantime_ms = 1 } },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[600], want[128];
		size_t len = 0;
		char *data;

		snprintf(path, sizeof(path), "%s/%s", TESTFILES_DIR, cases[i].file);
		snprintf(want, sizeof(want), "Heuristics.Limits.Exceeded.%s", cases[i].limit);
		data = test_slurp(path, &len);
		if (data == NULL) {
			test_fail(__FILE__, __LINE__, "cannot read %s", path);
			continue;
		}
		for (int alert = 0; alert <= 1; alert++) {
			struct mavis_av_settings s;
			struct mavis_av *av = NULL;
			struct mavis_error err;
			struct mavis_arena *a = mavis_arena_new(0);
			struct mavis_av_result r;
			struct mavis_av_buf b = mkbuf(data, len, cases[i].file);

			settings(&s, dbdir, SCAN_CLAMAV, NULL);
			s.limits = cases[i].limits;
			s.alert_exceeds_max = alert;
			CHECK_INT(mavis_av_new(&s, NULL, &av, &err), 0);
			if (av == NULL) {
				mavis_arena_free(&a);
				continue;
			}
			mavis_av_scan(av, &b, 1, a, &r);
			if (alert && (r.status != MAVIS_AV_INFECTED || strcmp(r.text, want) != 0)) {
				test_fail(__FILE__, __LINE__, "%s %s alert: %d \"%s\", want %s",
					  cases[i].file, cases[i].limit, r.status, r.text, want);
				log_dump(&r);
			}
			if (!alert && (r.status != MAVIS_AV_FAILED || !log_has(&r, want) ||
				       !log_has(&r, "scan limit exceeded"))) {
				test_fail(__FILE__, __LINE__, "%s %s: status %d, want FAILED",
					  cases[i].file, cases[i].limit, r.status);
				log_dump(&r);
			}
			mavis_av_free(&av);
			mavis_arena_free(&a);
		}
		free(data);
	}
}

/* A limit on a supplementary buffer (the raw message, every part of which
   is scanned on its own) is said, not a failure; on any other buffer it
   still fails, and with alert_exceeds_max it is still the alert. */
static void
test_limit_supplementary(void)
{
	char path[600];
	size_t len = 0;
	char *data;

	snprintf(path, sizeof(path), "%s/clam.zip", TESTFILES_DIR);
	data = test_slurp(path, &len);
	if (data == NULL) {
		test_fail(__FILE__, __LINE__, "cannot read %s", path);
		return;
	}
	for (int alert = 0; alert <= 1; alert++) {
		struct mavis_av_settings s;
		struct mavis_av *av = NULL;
		struct mavis_error err;
		struct mavis_arena *a = mavis_arena_new(0);
		struct mavis_av_result r;
		struct mavis_av_buf b[2] = { strbuf(clean_text, "p001"), mkbuf(data, len, "MAIL") };

		b[1].supplementary = true;
		settings(&s, dbdir, SCAN_CLAMAV, NULL);
		s.limits.max_recursion = 1;
		s.alert_exceeds_max = alert;
		CHECK_INT(mavis_av_new(&s, NULL, &av, &err), 0);
		if (av == NULL) {
			mavis_arena_free(&a);
			continue;
		}
		mavis_av_scan(av, b, 2, a, &r);
		if (alert) {
			CHECK_INT(r.status, MAVIS_AV_INFECTED);
			CHECK_STR(r.text, "Heuristics.Limits.Exceeded.MaxRecursion");
		} else {
			CHECK_INT(r.status, MAVIS_AV_CLEAN);
			CHECK(log_has(&r, "MAIL: scan limit exceeded (Heuristics.Limits.Exceeded.MaxRecursion)"));
			CHECK(log_has(&r, "every decoded part was scanned on its own"));
		}
		/* the engine call: 2, with the limit in err */
		if (!alert) {
			struct mavis_av_engine *e = mavis_av_engine_get(av);

			CHECK(e != NULL);
			if (e != NULL) {
				CHECK_INT(mavis_av_engine_scan(e, &b[1], a, NULL, NULL, &err), 2);
				CHECK(strstr(err.text, "MaxRecursion") != NULL);
				b[1].supplementary = false;
				CHECK_INT(mavis_av_engine_scan(e, &b[1], a, NULL, NULL, &err),
					  MAVIS_ERR_SCANNER);
				mavis_av_engine_unref(&e);
			}
		}
		mavis_av_free(&av);
		mavis_arena_free(&a);
	}
	free(data);
}

static void
test_bad_specs(void)
{
	static const struct {
		const char *spec;
		const char *want;
	} cases[] = {
		{ "sophos", "unknown virus scanner" },
		{ "clamd:", "empty clamd socket" },
		{ "clamd:unix:", "bad unix socket path" },
		{ "clamd:localhost", "want host:port" },
		{ "clamd:127.0.0.1:99999", "want host:port" },
		{ "clamd:[::1]3310", "want [ipv6]:port" },
		{ "clamd:no.such.host.invalid:3310", "clamd socket" },
		{ "clamd:/x/" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bad unix socket path" },
	};
	static const char *const good[] = { "clamd:/run/x.sock", "clamd:unix:/run/x.sock",
					    "clamd:127.0.0.1:3310", "clamd:[::1]:3310",
					    "clamd:inet:3310@127.0.0.1", "CLAMD:localhost:3310",
					    NULL };
	struct mavis_av_settings s;
	struct mavis_av *av = NULL;
	struct mavis_error err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *list[] = { cases[i].spec, NULL };

		settings(&s, dbdir, list, NULL);
		CHECK_INT(mavis_av_new(&s, NULL, &av, &err), MAVIS_ERR_CONFIG);
		CHECK(av == NULL);
		if (strstr(err.text, cases[i].want) == NULL)
			test_fail(__FILE__, __LINE__, "%s: \"%s\", want \"%s\"", cases[i].spec,
				  err.text, cases[i].want);
	}
	/* Backup list errors are named as such. */
	settings(&s, dbdir, NULL, (const char *const[]){ "nope", NULL });
	CHECK_INT(mavis_av_new(&s, NULL, &av, &err), MAVIS_ERR_CONFIG);
	CHECK(strncmp(err.text, "av_scanners_backup: ", 20) == 0);
	/* Bare "clamd" without sockets. */
	settings(&s, dbdir, (const char *const[]){ "clamd", NULL }, NULL);
	s.clamd_sockets = NULL;
	CHECK_INT(mavis_av_new(&s, NULL, &av, &err), MAVIS_ERR_CONFIG);
	CHECK(strstr(err.text, "clamd_sockets") != NULL);
	/* Valid specs: no engine needed, clamd not contacted. */
	settings(&s, dbdir, good, NULL);
	CHECK_INT(mavis_av_new(&s, NULL, &av, &err), 0);
	if (av == NULL)
		fprintf(stderr, "good specs: %s\n", err.text);
	CHECK(av != NULL && mavis_av_engine_get(av) == NULL);
	mavis_av_free(&av);
}

/* ---- a scripted fake clamd, for failure modes a real one will not show ---- */

enum fake_mode {
	FAKE_REPLY,	/* read each INSTREAM, answer with the script */
	FAKE_SILENT,	/* read everything, never answer */
	FAKE_NOREAD,	/* accept, never read */
	FAKE_CLOSE,	/* read the stream, hang up */
};

struct fake {
	char path[600];
	int lfd;
	enum fake_mode mode;
	const char *reply;	/* one reply for every stream, with its NUL */
	size_t reply_len;
	atomic_bool stop;
	atomic_int streams;	/* INSTREAMs seen */
	pthread_t th;
};

/* Read exactly n bytes unless stopped; false on EOF/stop. */
static bool
fake_read(struct fake *f, int fd, void *p, size_t n)
{
	char *s = p;

	while (n > 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (atomic_load(&f->stop))
			return false;
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		r = recv(fd, s, n, 0);
		if (r <= 0)
			return false;
		s += r;
		n -= (size_t)r;
	}
	return true;
}

static void
fake_serve(struct fake *f, int fd)
{
	char cmd[16];
	unsigned char len[4];
	static char sink[65536];

	if (f->mode == FAKE_NOREAD) {
		while (!atomic_load(&f->stop))
			usleep(20000);
		return;
	}
	if (!fake_read(f, fd, cmd, 11) || memcmp(cmd, "zIDSESSION", 11) != 0)
		return;
	for (;;) {
		if (!fake_read(f, fd, cmd, 5))
			return;
		if (memcmp(cmd, "zEND", 5) == 0)
			return;
		if (!fake_read(f, fd, cmd + 5, 5) || memcmp(cmd, "zINSTREAM", 10) != 0)
			return;
		for (;;) {
			uint32_t n;

			if (!fake_read(f, fd, len, 4))
				return;
			n = (uint32_t)len[0] << 24 | (uint32_t)len[1] << 16 |
			    (uint32_t)len[2] << 8 | len[3];
			if (n == 0)
				break;
			while (n > 0) {
				size_t k = n < sizeof(sink) ? n : sizeof(sink);

				if (!fake_read(f, fd, sink, k))
					return;
				n -= (uint32_t)k;
			}
		}
		atomic_fetch_add(&f->streams, 1);
		if (f->mode == FAKE_CLOSE)
			return;
		if (f->mode == FAKE_SILENT) {
			while (fake_read(f, fd, cmd, 1))
				;
			return;
		}
		if (send(fd, f->reply, f->reply_len, MSG_NOSIGNAL) < 0)
			return;
	}
}

static void *
fake_main(void *arg)
{
	struct fake *f = arg;

	while (!atomic_load(&f->stop)) {
		struct pollfd pfd = { .fd = f->lfd, .events = POLLIN };
		int fd;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		fd = accept(f->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		fake_serve(f, fd);
		close(fd);
	}
	return NULL;
}

static void
set_sun(struct sockaddr_un *sun, const char *path)
{
	size_t len = strlen(path);

	if (len >= sizeof(sun->sun_path)) {
		fprintf(stderr, "socket path too long: %s\n", path);
		exit(2);
	}
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, len + 1);
}

static int
unix_listen(const char *path, bool do_listen)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	unlink(path);
	set_sun(&sun, path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    (do_listen && listen(fd, 8) < 0)) {
		perror(path);
		exit(2);
	}
	return fd;
}

static void
fake_start(struct fake *f, const char *name, enum fake_mode mode, const char *reply,
	   size_t reply_len)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "%s/%s", test_tmpdir(), name);
	f->lfd = unix_listen(f->path, true);
	f->mode = mode;
	f->reply = reply;
	f->reply_len = reply_len;
	atomic_init(&f->stop, false);
	atomic_init(&f->streams, 0);
	pthread_create(&f->th, NULL, fake_main, f);
}

static void
fake_stop(struct fake *f)
{
	atomic_store(&f->stop, true);
	pthread_join(f->th, NULL);
	close(f->lfd);
	unlink(f->path);
}

/* Scan bufs with primary/backup lists; returns the status. */
static enum mavis_av_status
scan_with(const char *const *primary, const char *const *backup, unsigned timeout_ms,
	  const struct mavis_av_buf *bufs, size_t n, struct mavis_arena *a,
	  struct mavis_av_result *r)
{
	struct mavis_av_settings s;
	struct mavis_av *av = NULL;
	struct mavis_error err;

	settings(&s, dbdir, primary, backup);
	if (timeout_ms)
		s.timeout_ms = timeout_ms;
	s.connect_timeout_ms = 1000;
	if (mavis_av_new(&s, NULL, &av, &err) < 0) {
		test_fail(__FILE__, __LINE__, "mavis_av_new: %s", err.text);
		memset(r, 0, sizeof(*r));
		r->status = MAVIS_AV_FAILED;
		return MAVIS_AV_FAILED;
	}
	mavis_av_scan(av, bufs, n, a, r);
	mavis_av_free(&av);
	return r->status;
}

static void
test_fake_replies(void)
{
#define R(s) s, sizeof(s)	/* with the NUL */
	static const struct {
		const char *reply;
		size_t len;
		enum mavis_av_status want;
		const char *want_text;	/* name for INFECTED, cause for FAILED */
	} cases[] = {
		{ R("1: stream: OK"), MAVIS_AV_CLEAN, "" },
		{ R("1: stream: Fake.Virus-1 FOUND"), MAVIS_AV_INFECTED, "Fake.Virus-1" },
		{ R("stream: Old.Style FOUND"), MAVIS_AV_INFECTED, "Old.Style" },
		{ R("1: stream: Can't allocate memory ERROR"), MAVIS_AV_FAILED,
		  "clamd said \"stream: Can't allocate memory ERROR\"" },
		{ R("1: INSTREAM size limit exceeded. ERROR"), MAVIS_AV_FAILED,
		  "size limit exceeded" },
		{ R("UNKNOWN COMMAND"), MAVIS_AV_FAILED, "clamd said \"UNKNOWN COMMAND\"" },
		{ R("2: stream: OK"), MAVIS_AV_FAILED, "reply for request 2, expected 1" },
		{ R("1: stream: FOUND"), MAVIS_AV_FAILED, "unexpected clamd reply" },
		{ R("1: stream: what"), MAVIS_AV_FAILED, "unexpected clamd reply" },
		{ "", 0, MAVIS_AV_FAILED, "connection closed by clamd" },
	};
#undef R
	struct mavis_av_buf b = strbuf(clean_text, "p001");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mavis_arena *a = mavis_arena_new(0);
		struct mavis_av_result r;
		struct fake f;
		char spec[700];
		const char *list[] = { spec, NULL };

		/* An empty reply: the fake hangs up instead of answering. */
		fake_start(&f, "fake.sock", cases[i].len ? FAKE_REPLY : FAKE_CLOSE,
			   cases[i].reply, cases[i].len);
		snprintf(spec, sizeof(spec), "clamd:%s", f.path);
		scan_with(list, NULL, 3000, &b, 1, a, &r);
		fake_stop(&f);
		if (r.status != cases[i].want) {
			test_fail(__FILE__, __LINE__, "reply \"%s\": status %d, want %d",
				  cases[i].reply, r.status, cases[i].want);
			log_dump(&r);
		} else if (r.status == MAVIS_AV_INFECTED) {
			CHECK_STR(r.text, cases[i].want_text);
		} else if (r.status == MAVIS_AV_FAILED) {
			CHECK_STR(r.text, "ALL VIRUS SCANNERS FAILED");
			if (!log_has(&r, cases[i].want_text)) {
				test_fail(__FILE__, __LINE__, "reply \"%s\": no \"%s\" in log",
					  cases[i].reply, cases[i].want_text);
				log_dump(&r);
			}
		}
		mavis_arena_free(&a);
	}
}

static void
test_clamd_failures(void)
{
	struct mavis_av_buf b = strbuf(eicar, "p001");
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_av_result r;
	char dead[700], refused[700], spec[700];
	const char *l_dead[] = { dead, NULL }, *l_refused[] = { refused, NULL };
	const char *l_spec[] = { spec, NULL };
	struct fake f;
	uint64_t t0;
	char *bigbuf;
	int fd;

	/* Nothing at the path. */
	snprintf(dead, sizeof(dead), "clamd:%s/nothing-here.sock", test_tmpdir());
	CHECK_INT(scan_with(l_dead, NULL, 0, &b, 1, a, &r), MAVIS_AV_FAILED);
	CHECK_STR(r.text, "ALL VIRUS SCANNERS FAILED");
	CHECK(log_has(&r, "av-scanner FAILED: "));
	CHECK(log_has(&r, "connect: No such file or directory"));
	CHECK(log_has(&r, "AV: ALL VIRUS SCANNERS FAILED"));
	CHECK_INT(r.n_names, 0);

	/* A socket file nobody listens on. */
	snprintf(refused, sizeof(refused), "clamd:%s/refused.sock", test_tmpdir());
	fd = unix_listen(refused + 6, false);
	CHECK_INT(scan_with(l_refused, NULL, 0, &b, 1, a, &r), MAVIS_AV_FAILED);
	CHECK(log_has(&r, "connect: Connection refused"));
	close(fd);

	/* Accepts, reads, never answers: FAILED by the scanner timeout. */
	fake_start(&f, "silent.sock", FAKE_SILENT, NULL, 0);
	snprintf(spec, sizeof(spec), "clamd:%s", f.path);
	t0 = now_ms();
	CHECK_INT(scan_with(l_spec, NULL, 700, &b, 1, a, &r), MAVIS_AV_FAILED);
	t0 = now_ms() - t0;
	fake_stop(&f);
	printf("silent clamd: FAILED after %llu ms (timeout 700 ms)\n", (unsigned long long)t0);
	CHECK(t0 >= 650 && t0 < 2000);
	CHECK(log_has(&r, "timed out waiting for the clamd reply"));

	/* Accepts, never reads: the send side times out on a big buffer. */
	fake_start(&f, "noread.sock", FAKE_NOREAD, NULL, 0);
	snprintf(spec, sizeof(spec), "clamd:%s", f.path);
	bigbuf = calloc(1, 8u << 20);
	b = mkbuf(bigbuf, 8u << 20, "big");
	t0 = now_ms();
	CHECK_INT(scan_with(l_spec, NULL, 700, &b, 1, a, &r), MAVIS_AV_FAILED);
	t0 = now_ms() - t0;
	fake_stop(&f);
	CHECK(t0 >= 650 && t0 < 2000);
	CHECK(log_has(&r, "timed out sending to clamd"));

	/* Larger than clamd_stream_max: not sent at all. */
	CHECK_INT(scan_with(l_dead, NULL, 0, &b, 1, a, &r), MAVIS_AV_FAILED);
	free(bigbuf);
	mavis_arena_free(&a);
}

static void
test_failover_policy(void)
{
	struct mavis_av_buf bufs[2] = { strbuf(clean_text, "p001"), strbuf(eicar, "p002") };
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_av_result r;
	char dead[700], dead2[700];
	const char *l_dead[] = { dead, NULL }, *l_dead2[] = { dead, dead2, NULL };
	const char *l_clamav_dead[] = { dead, "clamav", NULL };
	struct mavis_av_settings s;
	struct mavis_av *av = NULL;
	struct mavis_error err;

	snprintf(dead, sizeof(dead), "clamd:%s/dead1.sock", test_tmpdir());
	snprintf(dead2, sizeof(dead2), "clamd:%s/dead2.sock", test_tmpdir());

	/* Primary failed, backup answers: the backup's result. */
	CHECK_INT(scan_with(l_dead, SCAN_CLAMAV, 0, bufs, 2, a, &r), MAVIS_AV_INFECTED);
	CHECK(log_has(&r, "av-scanner FAILED"));
	CHECK(log_has(&r, "WARN: all primary virus scanners failed, considering backups"));
	CHECK_STR(r.scanners, "clamav");
	CHECK_INT(scan_with(l_dead, SCAN_CLAMAV, 0, bufs, 1, a, &r), MAVIS_AV_CLEAN);
	CHECK_STR(r.scanners, "clamav");

	/* One primary answers: backups are not needed, the failure is a warning. */
	CHECK_INT(scan_with(l_clamav_dead, l_dead2, 0, bufs, 1, a, &r), MAVIS_AV_CLEAN);
	CHECK(log_has(&r, "av-scanner FAILED"));
	CHECK(!log_has(&r, "considering backups"));

	/* first_infected_stops_scan: the dead second primary is not tried. */
	settings(&s, dbdir, (const char *const[]){ "clamav", dead, NULL }, NULL);
	s.first_infected_stops_scan = true;
	CHECK_INT(mavis_av_new(&s, NULL, &av, &err), 0);
	if (av != NULL) {
		CHECK_INT(mavis_av_scan(av, bufs, 2, a, &r), 0);
		CHECK_INT(r.status, MAVIS_AV_INFECTED);
		CHECK(!log_has(&r, "FAILED"));
		/* ... but a clean verdict still asks every primary. */
		CHECK_INT(mavis_av_scan(av, bufs, 1, a, &r), 0);
		CHECK_INT(r.status, MAVIS_AV_CLEAN);
		CHECK(log_has(&r, "dead1.sock"));
	}
	mavis_av_free(&av);

	/* Every scanner failed: never clean. */
	CHECK_INT(scan_with(l_dead, l_dead2, 0, bufs, 1, a, &r), MAVIS_AV_FAILED);
	CHECK_STR(r.text, "ALL VIRUS SCANNERS FAILED");
	CHECK(log_has(&r, "considering backups"));
	CHECK(log_has(&r, "dead1.sock"));
	CHECK(log_has(&r, "dead2.sock"));
	CHECK_INT(r.n_names, 0);
	CHECK_STR(r.scanners, "");

	/* Empty lists. */
	CHECK_INT(scan_with(NULL, NULL, 0, bufs, 1, a, &r), MAVIS_AV_FAILED);
	CHECK_STR(r.text, "NO VIRUS SCANNERS AVAILABLE");
	CHECK(log_has(&r, "AV: NO VIRUS SCANNERS AVAILABLE"));

	/* "clamd" with a socket list: both dead, both named in the cause. */
	settings(&s, dbdir, (const char *const[]){ "clamd", NULL }, NULL);
	s.clamd_sockets = (const char *const[]){ dead + 6, dead2 + 6, NULL };
	CHECK_INT(mavis_av_new(&s, NULL, &av, &err), 0);
	if (av != NULL) {
		CHECK_INT(mavis_av_scan(av, bufs, 2, a, &r), MAVIS_ERR_SCANNER);
		CHECK(log_has(&r, "dead1.sock: connect"));
		CHECK(log_has(&r, "dead2.sock: connect"));
	}
	mavis_av_free(&av);
	(void)l_dead2;
	mavis_arena_free(&a);
}

/* ---- a real clamd ---- */

struct clamd {
	pid_t pid;
	char sock[600];
	char log[600];
	int port;
};

static int
free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static bool
clamd_start(struct clamd *c)
{
	const char *db = db_copy("clamd-db");
	char conf[600], text[4096];
	uint64_t deadline;

	if (access("/usr/sbin/clamd", X_OK) != 0)
		return false;
	memset(c, 0, sizeof(*c));
	snprintf(c->sock, sizeof(c->sock), "%s/clamd.sock", test_tmpdir());
	snprintf(c->log, sizeof(c->log), "%s/clamd.log", test_tmpdir());
	snprintf(conf, sizeof(conf), "%s/clamd.conf", test_tmpdir());
	c->port = free_port();
	snprintf(text, sizeof(text),
		 "Foreground yes\n"
		 "LocalSocket %s\n"
		 "TCPSocket %d\n"
		 "TCPAddr 127.0.0.1\n"
		 "DatabaseDirectory %s\n"
		 "TemporaryDirectory %s\n"
		 "LogFile %s\n"
		 "StreamMaxLength 1M\n"
		 "MaxThreads 4\n"
		 "%s",
		 c->sock, c->port, db, test_tmpdir(), c->log,
		 geteuid() == 0 ? "User root\n" : "");
	write_to(test_tmpdir(), "clamd.conf", text);

	c->pid = fork();
	if (c->pid < 0)
		return false;
	if (c->pid == 0) {
		char arg[700];
		int out;

		/* Dies with the test even if the test crashes. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		/* Its chatter goes next to its log, not into the test output. */
		snprintf(arg, sizeof(arg), "%s/clamd.out", test_tmpdir());
		out = open(arg, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (out >= 0) {
			dup2(out, 1);
			dup2(out, 2);
			close(out);
		}
		snprintf(arg, sizeof(arg), "--config-file=%s", conf);
		execl("/usr/sbin/clamd", "clamd", "--foreground", arg, (char *)NULL);
		_exit(127);
	}
	deadline = now_ms() + 30000;
	while (now_ms() < deadline) {
		struct sockaddr_un sun;
		int fd = socket(AF_UNIX, SOCK_STREAM, 0), st;

		set_sun(&sun, c->sock);
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(fd);
			return true;
		}
		close(fd);
		if (waitpid(c->pid, &st, WNOHANG) == c->pid) {
			c->pid = 0;
			break;
		}
		usleep(50000);
	}
	snprintf(text, sizeof(text), "cat '%s' >&2", c->log);
	if (system(text) != 0)
		fprintf(stderr, "(no clamd log)\n");
	return false;
}

static void
clamd_stop(struct clamd *c)
{
	int st;

	if (c->pid > 0) {
		kill(c->pid, SIGTERM);
		waitpid(c->pid, &st, 0);
		c->pid = 0;
	}
}

static void
test_clamd_real(void)
{
	struct clamd c;
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_av_result r;
	struct mavis_av_buf bufs[3];
	char unix_spec[700], tcp_spec[64], inet_spec[64], dead[700];
	const char *l_unix[] = { unix_spec, NULL }, *l_tcp[] = { tcp_spec, NULL };
	const char *l_inet[] = { inet_spec, NULL };
	struct mavis_av_settings s;
	struct mavis_av *av = NULL;
	struct mavis_error err;
	char *zip, *big;
	size_t ziplen = 0;
	uint64_t t0 = now_ms();

	if (!clamd_start(&c)) {
		clamd_stop(&c);
		test_fail(__FILE__, __LINE__, "could not start clamd (package clamav-daemon)");
		mavis_arena_free(&a);
		return;
	}
	printf("clamd pid %d up in %llu ms\n", (int)c.pid, (unsigned long long)(now_ms() - t0));
	snprintf(unix_spec, sizeof(unix_spec), "clamd:%s", c.sock);
	snprintf(tcp_spec, sizeof(tcp_spec), "clamd:127.0.0.1:%d", c.port);
	snprintf(inet_spec, sizeof(inet_spec), "clamd:inet:%d@127.0.0.1", c.port);

	bufs[0] = strbuf(clean_text, "p001");
	bufs[1] = strbuf(eicar, "p002");
	bufs[2] = strbuf(custom_text, "raw");
	CHECK_INT(scan_with(l_unix, NULL, 0, bufs, 1, a, &r), MAVIS_AV_CLEAN);
	CHECK_STR(r.scanners, unix_spec);
	CHECK_INT(scan_with(l_unix, NULL, 0, bufs, 2, a, &r), MAVIS_AV_INFECTED);
	CHECK(r.n_names == 1 && (strcmp(r.names[0], "Eicar-Signature.UNOFFICIAL") == 0 ||
				 strcmp(r.names[0], "Win.Test.EICAR_HDB-1.UNOFFICIAL") == 0));
	printf("clamd INSTREAM EICAR: %s\n", r.text);
	CHECK_INT(scan_with(l_tcp, NULL, 0, bufs + 2, 1, a, &r), MAVIS_AV_INFECTED);
	CHECK_STR(r.text, "Mavis.Test.String-1.UNOFFICIAL");
	CHECK_INT(scan_with(l_inet, NULL, 0, bufs, 2, a, &r), MAVIS_AV_INFECTED);

	/* all_match over one session: several streams, all names. */
	settings(&s, dbdir, l_unix, NULL);
	s.all_match = true;
	CHECK_INT(mavis_av_new(&s, NULL, &av, &err), 0);
	if (av != NULL) {
		CHECK_INT(mavis_av_scan(av, bufs, 3, a, &r), 0);
		CHECK_INT(r.status, MAVIS_AV_INFECTED);
		CHECK(has_name(r.names, r.n_names, "Mavis.Test.String-1.UNOFFICIAL"));
		CHECK(r.n_names == 2);
	}
	mavis_av_free(&av);

	/* An archive through clamd's unpackers. */
	zip = test_slurp(TESTFILES_DIR "/clam.zip", &ziplen);
	if (zip != NULL) {
		struct mavis_av_buf zb = mkbuf(zip, ziplen, "clam.zip");

		CHECK_INT(scan_with(l_unix, NULL, 0, &zb, 1, a, &r), MAVIS_AV_INFECTED);
		CHECK_STR(r.text, "ClamAV-Test-File.UNOFFICIAL");
		free(zip);
	}

	/* Over clamd's StreamMaxLength (1M here): clamd's ERROR, not clean. */
	big = calloc(1, 3u << 20);
	bufs[0] = mkbuf(big, 3u << 20, "big");
	settings(&s, dbdir, l_unix, NULL);
	s.clamd_stream_max = 100u << 20;	/* let it through to clamd */
	CHECK_INT(mavis_av_new(&s, NULL, &av, &err), 0);
	if (av != NULL) {
		CHECK_INT(mavis_av_scan(av, bufs, 1, a, &r), MAVIS_ERR_SCANNER);
		CHECK_INT(r.status, MAVIS_AV_FAILED);
		CHECK(log_has(&r, "size limit exceeded"));
		/* the cause named for the admin: clamd's own limit */
		CHECK(log_has(&r, "clamd refused a 3145728-byte buffer: INSTREAM size limit exceeded"));
		CHECK(log_has(&r, "StreamMaxLength"));
	}
	mavis_av_free(&av);
	/* Our own bound says it before sending. */
	s.clamd_stream_max = 1u << 20;
	CHECK_INT(mavis_av_new(&s, NULL, &av, &err), 0);
	if (av != NULL) {
		CHECK_INT(mavis_av_scan(av, bufs, 1, a, &r), MAVIS_ERR_SCANNER);
		CHECK(log_has(&r, "exceed clamd_stream_max_length"));
	}
	mavis_av_free(&av);
	free(big);

	/* Socket failover inside one "clamd" scanner: dead first, then clamd. */
	snprintf(dead, sizeof(dead), "%s/dead.sock", test_tmpdir());
	settings(&s, dbdir, (const char *const[]){ "clamd", NULL }, NULL);
	s.clamd_sockets = (const char *const[]){ dead, c.sock, NULL };
	CHECK_INT(mavis_av_new(&s, NULL, &av, &err), 0);
	if (av != NULL) {
		bufs[0] = strbuf(clean_text, "p001");
		CHECK_INT(mavis_av_scan(av, bufs, 2, a, &r), 0);
		CHECK_INT(r.status, MAVIS_AV_INFECTED);
		CHECK(log_has(&r, "failed over after"));
		CHECK(log_has(&r, "dead.sock: connect"));
	}
	mavis_av_free(&av);

	/* Primary clamd dies: the backup (in-process) takes over. */
	clamd_stop(&c);
	bufs[0] = strbuf(clean_text, "p001");
	CHECK_INT(scan_with(l_unix, SCAN_CLAMAV, 0, bufs, 2, a, &r), MAVIS_AV_INFECTED);
	CHECK_STR(r.scanners, "clamav");
	CHECK(log_has(&r, "considering backups"));
	mavis_arena_free(&a);
}

/* ---- reload ---- */

struct scanner_thread {
	struct mavis_av *av;
	atomic_bool *stop;
	const char *marker;
	unsigned scans, wrong, failed;
	pthread_t th;
};

static void *
scan_loop(void *arg)
{
	struct scanner_thread *t = arg;
	struct mavis_av_buf v = strbuf(eicar, "eicar"), c = strbuf(clean_text, "clean");

	while (!atomic_load(t->stop)) {
		struct mavis_arena *a = mavis_arena_new(0);
		struct mavis_av_result r;

		mavis_av_scan(t->av, &v, 1, a, &r);
		t->scans++;
		if (r.status == MAVIS_AV_FAILED)
			t->failed++;
		else if (r.status != MAVIS_AV_INFECTED)
			t->wrong++;
		mavis_av_scan(t->av, &c, 1, a, &r);
		t->scans++;
		if (r.status == MAVIS_AV_FAILED)
			t->failed++;
		else if (r.status != MAVIS_AV_CLEAN)
			t->wrong++;
		mavis_arena_free(&a);
	}
	return NULL;
}

static void
reload_under_load(bool concurrent)
{
	enum { NTHREADS = 4 };
	const char *db = db_copy(concurrent ? "reload-db-c" : "reload-db-s");
	struct scanner_thread th[NTHREADS];
	struct mavis_av_settings s;
	struct mavis_av *av = NULL;
	struct mavis_error err;
	struct mavis_av_reload_report rep;
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_av_result r;
	struct mavis_av_buf m = strbuf("xx MAVIS-RELOAD-MARKER xx", "marker");
	atomic_bool stop;
	unsigned scans = 0, wrong = 0, failed = 0, reloads = 0, max_load = 0;
	const char *mode = concurrent ? "concurrent" : "serial";

	settings(&s, db, SCAN_CLAMAV, NULL);
	s.concurrent_reload = concurrent;
	CHECK_INT(mavis_av_new(&s, NULL, &av, &err), 0);
	if (av == NULL) {
		mavis_arena_free(&a);
		return;
	}
	/* Nothing changed: nothing done. */
	CHECK_INT(mavis_av_reload(av, false, &rep, &err), 0);
	CHECK(!rep.changed && !rep.reloaded);
	CHECK_INT(mavis_av_scan(av, &m, 1, a, &r), 0);
	CHECK_INT(r.status, MAVIS_AV_CLEAN);

	atomic_init(&stop, false);
	for (int i = 0; i < NTHREADS; i++) {
		memset(&th[i], 0, sizeof(th[i]));
		th[i].av = av;
		th[i].stop = &stop;
		pthread_create(&th[i].th, NULL, scan_loop, &th[i]);
	}
	usleep(100000);
	/* A new signature file: detected by the directory check. */
	write_to(db, "mavis-extra.ndb",
		 "Mavis.Test.Reload-1:0:*:4d415649532d52454c4f41442d4d41524b4552\n");
	CHECK_INT(mavis_av_reload(av, false, &rep, &err), 0);
	CHECK(rep.changed && rep.reloaded);
	CHECK_INT(rep.old_signatures, 5);
	CHECK_INT(rep.signatures, 6);
	printf("reload (%s, %d scanning threads): %u -> %u signatures, load %u ms, "
	       "drain %u ms\n", mode, NTHREADS, rep.old_signatures, rep.signatures,
	       rep.load_ms, rep.waited_ms);
	reloads++;
	for (int i = 0; i < 5; i++) {
		usleep(30000);
		CHECK_INT(mavis_av_reload(av, true, &rep, &err), 0);
		CHECK(rep.reloaded);
		if (rep.load_ms > max_load)
			max_load = rep.load_ms;
		reloads++;
	}
	usleep(100000);
	atomic_store(&stop, true);
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i].th, NULL);
		scans += th[i].scans;
		wrong += th[i].wrong;
		failed += th[i].failed;
	}
	printf("reload (%s): %u reloads (max load %u ms) during %u scans: %u wrong, "
	       "%u failed\n", mode, reloads, max_load, scans, wrong, failed);
	CHECK(scans > 0);
	CHECK_INT(wrong, 0);
	CHECK_INT(failed, 0);
	CHECK_INT(mavis_av_scan(av, &m, 1, a, &r), 0);
	CHECK_INT(r.status, MAVIS_AV_INFECTED);
	CHECK_STR(r.text, "Mavis.Test.Reload-1.UNOFFICIAL");
	mavis_av_free(&av);
	mavis_arena_free(&a);
}

static void
test_reload_swap(void)
{
	reload_under_load(true);
	reload_under_load(false);
}

static void
test_reload_failures(void)
{
	const char *db = db_copy("reload-bad-db");
	struct mavis_av_settings s;
	struct mavis_av *av = NULL, *av2 = NULL;
	struct mavis_av_engine *e, *e2;
	struct mavis_error err;
	struct mavis_av_reload_report rep;
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_av_result r;
	struct mavis_av_buf v = strbuf(eicar, "eicar");
	char path[700], cmd[1500];

	settings(&s, db, SCAN_CLAMAV, NULL);
	CHECK_INT(mavis_av_new(&s, NULL, &av, &err), 0);
	if (av == NULL) {
		mavis_arena_free(&a);
		return;
	}
	e = mavis_av_engine_get(av);

	/* Concurrent: a corrupt file fails the load, the old engine stays. */
	write_to(db, "broken.ndb", "this is not a signature\n");
	CHECK_INT(mavis_av_reload(av, false, &rep, &err), MAVIS_ERR_SCANNER);
	CHECK(rep.changed && !rep.reloaded);
	CHECK(strstr(err.text, "broken.ndb") != NULL);
	printf("reload with a corrupt file: %s\n", err.text);
	e2 = mavis_av_engine_get(av);
	CHECK(e2 == e);
	mavis_av_engine_unref(&e2);
	CHECK_INT(mavis_av_scan(av, &v, 1, a, &r), 0);
	CHECK_INT(r.status, MAVIS_AV_INFECTED);
	/* The broken update is not retried until it changes again. */
	CHECK_INT(mavis_av_reload(av, false, &rep, &err), 0);
	CHECK(!rep.changed);

	/* Serial: an empty directory is caught before the old engine goes. */
	mavis_av_free(&av);
	snprintf(path, sizeof(path), "%s/broken.ndb", db);
	unlink(path);
	s.concurrent_reload = false;
	CHECK_INT(mavis_av_new(&s, NULL, &av, &err), 0);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s.keep' && mv '%s'/*.?db '%s.keep'/", db, db, db);
	run(cmd);
	CHECK_INT(mavis_av_reload(av, false, &rep, &err), MAVIS_ERR_SCANNER);
	CHECK(strstr(err.text, "no ClamAV signatures in") != NULL);
	CHECK_INT(mavis_av_scan(av, &v, 1, a, &r), 0);
	CHECK_INT(r.status, MAVIS_AV_INFECTED);
	snprintf(cmd, sizeof(cmd), "mv '%s.keep'/*.?db '%s'/ && rmdir '%s.keep'", db, db, db);
	run(cmd);

	/* Serial: a corrupt file found only by the load leaves no engine: the
	   scanner FAILS (never clean), and every reload retries. */
	write_to(db, "broken.ndb", "this is not a signature\n");
	CHECK_INT(mavis_av_reload(av, true, &rep, &err), MAVIS_ERR_SCANNER);
	CHECK_INT(mavis_av_scan(av, &v, 1, a, &r), MAVIS_ERR_SCANNER);
	CHECK_INT(r.status, MAVIS_AV_FAILED);
	CHECK(log_has(&r, "clamav av-scanner FAILED: no ClamAV engine loaded: "));
	CHECK(log_has(&r, "broken.ndb"));
	CHECK(mavis_av_engine_get(av) == NULL);
	CHECK_INT(mavis_av_reload(av, false, &rep, &err), MAVIS_ERR_SCANNER);
	CHECK(rep.changed);
	unlink(path);
	CHECK_INT(mavis_av_reload(av, false, &rep, &err), 0);
	CHECK(rep.reloaded);
	CHECK_INT(mavis_av_scan(av, &v, 1, a, &r), 0);
	CHECK_INT(r.status, MAVIS_AV_INFECTED);

	/* A config reload shares the engine instead of loading it again. */
	s.concurrent_reload = true;
	e2 = mavis_av_engine_get(av);
	CHECK_INT(mavis_av_new(&s, av, &av2, &err), 0);
	if (av2 != NULL) {
		struct mavis_av_engine *e3 = mavis_av_engine_get(av2);

		CHECK(e3 == e2);
		mavis_av_engine_unref(&e3);
	}
	mavis_av_free(&av2);
	s.limits.max_files = 77;	/* other limits: a new engine */
	CHECK_INT(mavis_av_new(&s, av, &av2, &err), 0);
	if (av2 != NULL) {
		struct mavis_av_engine *e3 = mavis_av_engine_get(av2);

		CHECK(e3 != e2);
		mavis_av_engine_unref(&e3);
	}
	mavis_av_free(&av2);
	mavis_av_engine_unref(&e2);
	mavis_av_engine_unref(&e);
	mavis_av_free(&av);
	mavis_arena_free(&a);
}

/* A config reload (mavis_av_new with prev) shares prev's engine even when
   the signature files changed: it neither fails on a broken database (in
   mavisd with av_degraded_start, that left the process without scanners)
   nor loads a second engine beside the old one (with concurrent_reload =
   no, too). The signature check that follows it loads the change, with
   the usual rules. */
static void
test_config_reload_shares_engine(void)
{
	const char *db = db_copy("config-reload-db");
	struct mavis_av_settings s;
	struct mavis_av *av = NULL, *av2 = NULL, *av3 = NULL;
	struct mavis_av_engine *e, *e2;
	struct mavis_av_reload_report rep;
	struct mavis_error err;
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_av_result r;
	struct mavis_av_buf v = strbuf(eicar, "eicar");
	struct mavis_av_buf c = strbuf("MAVIS-CONFIG-RELOAD-SIG here", "custom");
	char path[700];

	settings(&s, db, SCAN_CLAMAV, NULL);
	CHECK_INT(mavis_av_new(&s, NULL, &av, &err), 0);
	if (av == NULL) {
		mavis_arena_free(&a);
		return;
	}
	e = mavis_av_engine_get(av);

	/* corrupt file: the config reload keeps the engine; the check that
	   follows fails to load and keeps it too */
	write_to(db, "broken.ndb", "this is not a signature\n");
	CHECK_INT(mavis_av_new(&s, av, &av2, &err), 0);
	if (av2 == NULL)
		goto out;
	e2 = mavis_av_engine_get(av2);
	CHECK(e2 == e);
	mavis_av_engine_unref(&e2);
	CHECK_INT(mavis_av_reload(av2, false, &rep, &err), MAVIS_ERR_SCANNER);
	CHECK(rep.changed && !rep.reloaded);
	CHECK_INT(mavis_av_scan(av2, &v, 1, a, &r), 0);
	CHECK_INT(r.status, MAVIS_AV_INFECTED);

	/* a good new signature file and clamav_concurrent_reload = no: the
	   config reload still shares (no second engine beside the old one),
	   the check sees the change and loads it, the old one freed first */
	s.concurrent_reload = false;
	write_to(db, "extra.ndb", "Mavis.Test.ConfigReload:0:*:4d415649532d434f4e4649472d52454c4f41442d534947\n");
	/* (after the new file: cl_statchkdir compares inodes, and a file
	   created right after an unlink may get the same one and mtime) */
	snprintf(path, sizeof(path), "%s/broken.ndb", db);
	unlink(path);
	mavis_av_free(&av);
	CHECK_INT(mavis_av_new(&s, av2, &av3, &err), 0);
	if (av3 == NULL)
		goto out;
	e2 = mavis_av_engine_get(av3);
	CHECK(e2 == e);
	mavis_av_engine_unref(&e2);
	CHECK_INT(mavis_av_scan(av3, &c, 1, a, &r), 0);
	CHECK_INT(r.status, MAVIS_AV_CLEAN);
	CHECK_INT(mavis_av_reload(av3, false, &rep, &err), 0);
	CHECK(rep.changed && rep.reloaded);
	CHECK(rep.signatures == rep.old_signatures + 1);
	CHECK_INT(mavis_av_scan(av3, &c, 1, a, &r), 0);
	CHECK_INT(r.status, MAVIS_AV_INFECTED);
	mavis_av_free(&av2);

	/* the directory removed: the engine stays; a fresh start fails, and
	   other limits (prev's engine does not fit) fail as well */
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", db);
	run(cmd);
	CHECK_INT(mavis_av_new(&s, av3, &av2, &err), 0);
	if (av2 != NULL) {
		CHECK_INT(mavis_av_scan(av2, &v, 1, a, &r), 0);
		CHECK_INT(r.status, MAVIS_AV_INFECTED);
		CHECK_INT(mavis_av_reload(av2, true, &rep, &err), MAVIS_ERR_SCANNER);
		CHECK_INT(mavis_av_scan(av2, &v, 1, a, &r), 0);
		CHECK_INT(r.status, MAVIS_AV_INFECTED);
		mavis_av_free(&av2);
	}
	CHECK_INT(mavis_av_new(&s, NULL, &av2, &err), MAVIS_ERR_SCANNER);
	CHECK(av2 == NULL);
	s.limits.max_files = 77;
	CHECK_INT(mavis_av_new(&s, av3, &av2, &err), MAVIS_ERR_SCANNER);
	CHECK(av2 == NULL);
out:
	mavis_av_engine_unref(&e);
	mavis_av_free(&av3);
	mavis_av_free(&av2);
	mavis_av_free(&av);
	mavis_arena_free(&a);
}

int
main(void)
{
	uint64_t t0 = now_ms();

	setvbuf(stdout, NULL, _IOLBF, 0);
	eicar_init();
	snprintf(dbdir, sizeof(dbdir), "%s", test_data_path("clamav"));
	TEST_RUN(test_engine_load_and_scan);
	TEST_RUN(test_engine_load_errors);
	TEST_RUN(test_testfiles);
	TEST_RUN(test_scan_clamav);
	TEST_RUN(test_limits);
	TEST_RUN(test_limit_supplementary);
	TEST_RUN(test_bad_specs);
	TEST_RUN(test_fake_replies);
	TEST_RUN(test_clamd_failures);
	TEST_RUN(test_failover_policy);
	TEST_RUN(test_clamd_real);
	TEST_RUN(test_reload_swap);
	TEST_RUN(test_reload_failures);
	TEST_RUN(test_config_reload_shares_engine);
	printf("test_av: %llu ms\n", (unsigned long long)(now_ms() - t0));
	return test_exit();
}
