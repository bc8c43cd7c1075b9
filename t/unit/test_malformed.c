/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_malformed.c - hostile messages through the whole pipeline: verdict, time, memory */

/*
 * Each case is a message generated in memory (nothing big in git) and run
 * through a session (mavis_session_raw_message + mavis_session_eom) twice:
 *
 *   "debian": the shipped limits, which are Debian amavisd-new's
 *             (max_levels 14, max_files 1500, expansion quota 100K..300M,
 *             factors 5 and 500), the shipped destinies and banned rules
 *             (etc/banned-rules.conf), and the in-process ClamAV engine on
 *             t/data/clamav;
 *   "tiny":   the same with body_memory_limit 64K (the spool goes to a file
 *             in tmp_dir) and max_header_count 50.
 *
 * Per run it checks the amavisd-equivalent verdict: the recipient's main
 * content category, the reply, the HOLD reason amavisd would log ("NOTICE:
 * HOLD reason: ...", then "NOTICE: Virus scanning skipped: ..."), and the
 * further log lines that show what else was found. Where mavis knowingly
 * differs from amavisd the case says so. Then the cost:
 *
 *   time:   wall clock of the whole transaction (clock_gettime), CPU too;
 *   memory: peak resident set during the run (VmHWM, reset through
 *           /proc/self/clear_refs, Linux >= 4.0) above the resident set at
 *           its start; without clear_refs, growth of ru_maxrss. The
 *           second run of a message reuses memory that the first freed and
 *           the allocators kept (glib's slice allocator keeps GMime's
 *           objects, ASan keeps its chunks), so it can read lower: the
 *           first run's number is the one to quote.
 *
 * Memory bounds come from what the pipeline keeps: the message (spool, and
 * GMime's copy of what it parses), decoded parts (at most the storage
 * quota, max(100K, 5 x size, min(300M, 500 x size)), beyond the top-level
 * MIME decode), plus a fixed 48 MiB for the allocators, GMime, libmagic and
 * libclamav. Each case names the multiples it needs. Under ASan the message
 * and quota terms double: its realloc always copies, so a buffer that grows
 * exists twice for a moment.
 *
 * Every run prints one line to stderr (for the release notes):
 *   malformed: CASE CONFIG SIZE CATEGORY WALL (cpu CPU) +PEAK KiB (bounds)
 * MALFORMED_LOG=1 also prints the log of each run;
 * test_malformed CASE runs one case; test_malformed --write-seeds DIR MAX
 * writes the messages of at most MAX bytes (fuzz/seeds/fuzz_scan).
 */

#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <mavis/alloc.h>
#include <mavis/arena.h>
#include <mavis/buf.h>
#include <mavis/config.h>
#include <mavis/log.h>
#include <mavis/parts.h>
#include <mavis/session.h>

#include "harness.h"
#include "testmsg.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
/* ASan keeps freed blocks in a 256 MiB quarantine by default: they stay
   resident and would count as the next run's growth. 16 MiB still catches
   use-after-free of recently freed memory; ASAN_OPTIONS overrides it. */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "quarantine_size_mb=16";
}
#else
#define UNDER_ASAN 0
#endif

/* Append a string literal that may hold NUL bytes. */
#define PUTLIT(m, lit) mavis_buf_append((m), (lit), sizeof(lit) - 1)

/* ---- configs and engines ---- */

enum { CFG_DEBIAN, CFG_TINY, NCFG };
static const char *const cfg_names[NCFG] = { "debian", "tiny" };
static struct mavis_engine *engines[NCFG];
static struct mavis_config *configs[NCFG];

static int
engines_new(void)
{
	const char *src = getenv("MAVIS_SOURCE_DIR") ? getenv("MAVIS_SOURCE_DIR") : ".";

	for (int i = 0; i < NCFG; i++) {
		struct mavis_buf conf = { 0 };
		struct mavis_error err = { 0 };

		mavis_buf_printf(&conf,
				 "myhostname = mx.example.com\n"
				 "local_domains_maps = .example.com\n"
				 "tmp_dir = %s\n"
				 "banned_rules_file = %s/etc/banned-rules.conf\n"
				 "max_levels = 14\n"
				 "max_files = 1500\n"
				 "av_scanners = clamav\n"
				 "clamav_database_dir = %s\n",
				 test_tmpdir(), src, test_data_path("clamav"));
		if (i == CFG_TINY)
			mavis_buf_puts(&conf, "body_memory_limit = 64K\nmax_header_count = 50\n");
		if (mavis_config_load_string(mavis_buf_str(&conf), cfg_names[i], NULL, &configs[i],
					     &err) < 0 ||
		    mavis_engine_new(configs[i], &engines[i], &err) < 0) {
			test_fail(__FILE__, __LINE__, "%s config: %s", cfg_names[i], err.text);
			mavis_buf_free(&conf);
			return -1;
		}
		mavis_buf_free(&conf);
	}
	return 0;
}

static void
engines_free(void)
{
	for (int i = 0; i < NCFG; i++) {
		mavis_engine_free(&engines[i]);
		mavis_config_unref(&configs[i]);
	}
}

/* ---- measuring ---- */

/* A field of /proc/self/status ("VmHWM:") in KiB, -1 if unreadable. */
static long
status_kib(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t kl = strlen(key);

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0) {
			v = strtol(line + kl, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* Reset the peak RSS (VmHWM) to the current RSS. */
static bool
reset_hwm(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, "5", 1) == 1;
	close(fd);
	return ok && status_kib("VmHWM:") >= 0;
}

static long
maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static const char *mem_method = "VmHWM, reset per run";

static double
cpu_secs(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double
now_secs(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- messages ---- */

static const char date_from[] =
	"From: Sender <sender@example.net>\r\n"
	"To: bob@example.com\r\n"
	"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n";

/* A complete header section start (no bad-header findings) */
static void
head(struct mavis_buf *m, const char *id)
{
	memset(m, 0, sizeof(*m));
	mavis_buf_puts(m, date_from);
	mavis_buf_printf(m, "Message-ID: <%s@example.net>\r\nSubject: %s\r\n", id, id);
}

/* base64 with CRLF line ends (test_base64 writes LF) */
static void
base64_crlf(struct mavis_buf *m, const void *data, size_t len)
{
	struct mavis_buf b = { 0 };

	test_base64(&b, data, len);
	for (size_t i = 0; i < b.len; i++) {
		if (b.data[i] == '\n')
			mavis_buf_putc(m, '\r');
		mavis_buf_putc(m, b.data[i]);
	}
	mavis_buf_free(&b);
}

/* multipart/mixed with a text part and one base64 attachment */
static void
with_attachment(struct mavis_buf *m, const char *id, const char *ctype, const char *name,
		const void *data, size_t len)
{
	head(m, id);
	mavis_buf_printf(m, "MIME-Version: 1.0\r\n"
			    "Content-Type: multipart/mixed; boundary=\"=b=\"\r\n\r\n"
			    "--=b=\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n"
			    "--=b=\r\nContent-Type: %s; name=\"%s\"\r\n"
			    "Content-Disposition: attachment; filename=\"%s\"\r\n"
			    "Content-Transfer-Encoding: base64\r\n\r\n",
			 ctype, name, name);
	base64_crlf(m, data, len);
	mavis_buf_puts(m, "--=b=--\r\n");
}

/* depth multiparts, each the only child of the one above */
static void
nested_multipart(struct mavis_buf *m, int depth)
{
	head(m, "nested-multipart");
	mavis_buf_puts(m, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n");
	for (int i = 0; i < depth; i++)
		mavis_buf_printf(m, "--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n",
				 i, i + 1);
	mavis_buf_printf(m, "--b%d\r\nContent-Type: text/plain\r\n\r\ndeep\r\n--b%d--\r\n", depth,
			 depth);
	for (int i = depth - 1; i >= 0; i--)
		mavis_buf_printf(m, "--b%d--\r\n", i);
}

static void
build_nested_multipart(struct mavis_buf *m)
{
	nested_multipart(m, 10000);
}

/* 10 000 message/rfc822 parts, each inside the one above. */
/* Deeper than libclamav's MaxRecursion (17), well within ours (128). */
static void
build_nested_multipart_60(struct mavis_buf *m)
{
	nested_multipart(m, 60);
}

static void
build_nested_rfc822(struct mavis_buf *m)
{
	enum { DEPTH = 10000 };

	head(m, "nested-rfc822");
	mavis_buf_puts(m, "MIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\n");
	for (int i = 0; i < DEPTH; i++)
		mavis_buf_printf(m, "Subject: level %d\r\nContent-Type: message/rfc822\r\n\r\n", i + 1);
	mavis_buf_puts(m, "Subject: bottom\r\n\r\nhello\r\n");
}

/* One multipart with n tiny parts (10 bytes each). */
static void
many_parts(struct mavis_buf *m, int n)
{
	head(m, "many-parts");
	mavis_buf_puts(m, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"p\"\r\n\r\n");
	for (int i = 0; i < n; i++)
		mavis_buf_puts(m, "--p\r\n\r\nx\r\n");
	mavis_buf_puts(m, "--p--\r\n");
}

static void
build_many_parts(struct mavis_buf *m)
{
	many_parts(m, 100000);
}

static void
junk_line(struct mavis_buf *m, size_t bytes)
{
	for (size_t i = 0; i < bytes / 50; i++)
		mavis_buf_puts(m, "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwx");
}

/* A 10 MB header line below the required fields. */
static void
build_long_header(struct mavis_buf *m)
{
	head(m, "long-header");
	mavis_buf_puts(m, "X-Junk: ");
	junk_line(m, 10 * 1000 * 1000);
	mavis_buf_puts(m, "\r\n\r\nbody\r\n");
}

/* A long line in the header of a MIME part: 10 MB, but 1 MB under ASan.
   GMime grows its header buffer by exactly what each read adds; glibc's
   realloc moves the pages of a large block (0.3 s for 10 MB), ASan's copies
   every time, which makes 10 MB a matter of minutes there. */
#define PART_LINE (UNDER_ASAN ? 1000 * 1000 : 10 * 1000 * 1000)

static void
build_long_part_header(struct mavis_buf *m)
{
	head(m, "long-part-header");
	mavis_buf_puts(m, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"=b=\"\r\n\r\n"
			  "--=b=\r\nContent-Type: text/plain\r\nContent-Description: ");
	junk_line(m, PART_LINE);
	mavis_buf_puts(m, "\r\n\r\ntext\r\n--=b=--\r\n");
}

/* 100 000 header fields in the message's header section. */
static void
build_many_headers(struct mavis_buf *m)
{
	head(m, "many-headers");
	for (int i = 0; i < 100000; i++)
		mavis_buf_printf(m, "X-H%d: x\r\n", i);
	mavis_buf_puts(m, "\r\nbody\r\n");
}

/* 100 000 header fields in the header of a MIME part. */
static void
build_many_part_headers(struct mavis_buf *m)
{
	head(m, "many-part-headers");
	mavis_buf_puts(m, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"=b=\"\r\n\r\n"
			  "--=b=\r\n");
	for (int i = 0; i < 100000; i++)
		mavis_buf_printf(m, "X-H%d: x\r\n", i);
	mavis_buf_puts(m, "Content-Type: text/plain\r\n\r\ntext\r\n--=b=--\r\n");
}

/* NUL in a header field's value, nothing else wrong. */
static void
build_nul_header(struct mavis_buf *m)
{
	head(m, "nul-header");
	PUTLIT(m, "X-Nul: a\0b\r\n\r\nbody\r\n");
}

/* A bare CR in a header field's value, nothing else wrong. */
static void
build_cr_header(struct mavis_buf *m)
{
	head(m, "cr-header");
	PUTLIT(m, "X-CR: a\rb\r\n\r\nbody\r\n");
}

/* NUL and bare CR in every place but the boundary: header fields,
   preamble, part headers, body text, the file name, between the base64
   characters, the epilogue. The attachment's name ends in .exe. */
static void
build_nul_cr_everywhere(struct mavis_buf *m)
{
	unsigned char pe[1024];
	size_t pelen = test_pe(pe, sizeof(pe), 0);
	struct mavis_buf b = { 0 };

	head(m, "nul-cr-everywhere");
	PUTLIT(m, "X-A: \0\r\0\r\n");
	PUTLIT(m, "X-B: one\rtwo\0three\r\n");
	mavis_buf_puts(m, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"=b=\"\r\n\r\n");
	PUTLIT(m, "pre\0amble\r\r\n");
	PUTLIT(m, "--=b=\r\nContent-Type: text/plain\r\nX-Part: a\0b\rc\r\n\r\n");
	for (int i = 0; i < 100; i++)
		PUTLIT(m, "text\0with\rNUL\0and\rCR\r\n");
	PUTLIT(m, "--=b=\r\nContent-Type: application/octet-stream\r\n"
		  "Content-Disposition: attachment; filename=\"set\0up\r.exe\"\r\n"
		  "Content-Transfer-Encoding: base64\r\n\r\n");
	base64_crlf(&b, pe, pelen);
	/* base64 decoders skip what is not in the alphabet */
	for (size_t i = 0; i < b.len; i++) {
		mavis_buf_putc(m, b.data[i]);
		if (i % 7 == 3)
			mavis_buf_append(m, i % 2 ? "\0" : "\r", 1);
	}
	PUTLIT(m, "--=b=--\r\n\0\r\0\r");
	mavis_buf_free(&b);
}

/* A bare CR inside the boundary parameter and its delimiter lines. */
static void
build_cr_boundary(struct mavis_buf *m)
{
	head(m, "cr-boundary");
	PUTLIT(m, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"=b\r=\"\r\n\r\n"
		  "--=b\r=\r\nContent-Type: text/plain\r\n\r\none\r\n"
		  "--=b\r=\r\nContent-Type: text/plain\r\n\r\ntwo\r\n--=b\r=--\r\n");
}

/* Old Mac line ends: bare CR only, no LF anywhere. */
static void
build_cr_only(struct mavis_buf *m)
{
	memset(m, 0, sizeof(*m));
	mavis_buf_puts(m, "From: Sender <sender@example.net>\rTo: bob@example.com\r"
			  "Date: Mon, 1 Jan 2024 10:00:00 +0000\rSubject: cr only\r\r");
	for (int i = 0; i < 20; i++)
		mavis_buf_puts(m, "a line of text\r");
}

static const char truncated_text[] =
	"The quick brown fox jumps over the lazy dog. 0123456789 "
	"The quick brown fox jumps over the lazy dog. 0123456789\n";
#define TRUNC_B64 (76 + 2 + 24 + 2)	/* base64 bytes kept: a line, CRLF, 26 */
#define TRUNC_BYTES 75			/* 25 whole quanta; 2 characters left */

/* A base64 attachment cut in the middle of a quantum, then the message
   ends: no closing boundary, no final line end (a lost connection). */
static void
build_truncated_base64(struct mavis_buf *m)
{
	struct mavis_buf b = { 0 };

	head(m, "truncated-base64");
	mavis_buf_puts(m, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"=b=\"\r\n\r\n"
			  "--=b=\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n"
			  "--=b=\r\nContent-Type: application/octet-stream; name=\"notes.txt\"\r\n"
			  "Content-Disposition: attachment; filename=\"notes.txt\"\r\n"
			  "Content-Transfer-Encoding: base64\r\n\r\n");
	base64_crlf(&b, truncated_text, sizeof(truncated_text) - 1);
	mavis_buf_append(m, b.data, TRUNC_B64);
	mavis_buf_free(&b);
}

/* A zip of invoice.pdf.exe and a text, its base64 cut after the first
   member: the central directory never arrives. */
static void
build_truncated_zip(struct mavis_buf *m)
{
	unsigned char pe[1024];
	size_t pelen = test_pe(pe, sizeof(pe), 0);
	struct test_entry e[2] = { { "invoice.pdf.exe", pe, pelen, 0, 0 },
				   { "readme.txt", truncated_text, sizeof(truncated_text) - 1, 0, 0 } };
	struct mavis_buf z = { 0 }, b = { 0 };

	CHECK_INT(test_archive("zip", NULL, "zip:compression=store", NULL, e, 2, &z), 0);
	head(m, "truncated-zip");
	mavis_buf_puts(m, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"=b=\"\r\n\r\n"
			  "--=b=\r\nContent-Type: application/zip; name=\"invoice.zip\"\r\n"
			  "Content-Transfer-Encoding: base64\r\n\r\n");
	/* the first member (30-byte local header, 15-byte name, data) and
	   40 bytes of the second, then 3 base64 characters fewer */
	base64_crlf(&b, z.data, 30 + 15 + pelen + 40);
	mavis_buf_append(m, b.data, b.len - 3);
	mavis_buf_free(&b);
	mavis_buf_free(&z);
}

static const unsigned char zeros[64 * 1024];

/* zips of width zips, layers deep, around leaf zips of one file of
   leaf_mib MiB of zeros */
static void
zip_bomb(struct mavis_buf *m, int width, int layers, int leaf_mib)
{
	char names[16][24];
	struct test_entry e[16];
	struct mavis_buf cur = { 0 }, next = { 0 };
	struct test_entry leaf = { "0.dat", zeros, sizeof(zeros), 0, (size_t)leaf_mib * 16 };

	CHECK_INT(test_archive("zip", NULL, NULL, NULL, &leaf, 1, &cur), 0);
	for (int layer = 0; layer < layers; layer++) {
		for (int i = 0; i < width; i++) {
			snprintf(names[i], sizeof(names[i]), "%x.zip", i);
			e[i] = (struct test_entry){ names[i], cur.data, cur.len, 0, 0 };
		}
		CHECK_INT(test_archive("zip", NULL, NULL, NULL, e, (size_t)width, &next), 0);
		mavis_buf_free(&cur);
		cur = next;
		memset(&next, 0, sizeof(next));
	}
	with_attachment(m, "zip-bomb-42", "application/zip", "42.zip", cur.data, cur.len);
	mavis_buf_free(&cur);
}

/* 42.zip's shape: a zip of 16 zips of 16 zips ..., five layers, 16^5 leaf
   zips of one 4 MiB file of zeros: 4 TiB nominal. */
static void
build_zip_bomb_42(struct mavis_buf *m)
{
	zip_bomb(m, 16, 5, 4);
}

/* A zip of 16 zips of 16 files of 16 MiB zeros: 4 GiB, three tiers. */
static void
build_zip_bomb_quota(struct mavis_buf *m)
{
	char names[32][24];
	struct test_entry e[16];
	struct mavis_buf inner = { 0 }, outer = { 0 };

	for (int i = 0; i < 16; i++) {
		snprintf(names[i], sizeof(names[i]), "zero%02d.bin", i);
		e[i] = (struct test_entry){ names[i], zeros, sizeof(zeros), 0, 256 };
	}
	CHECK_INT(test_archive("zip", NULL, NULL, NULL, e, 16, &inner), 0);
	for (int i = 0; i < 16; i++) {
		snprintf(names[16 + i], sizeof(names[16 + i]), "part%02d.zip", i);
		e[i] = (struct test_entry){ names[16 + i], inner.data, inner.len, 0, 0 };
	}
	CHECK_INT(test_archive("zip", NULL, NULL, NULL, e, 16, &outer), 0);
	with_attachment(m, "zip-bomb-quota", "application/zip", "bomb.zip", outer.data, outer.len);
	mavis_buf_free(&inner);
	mavis_buf_free(&outer);
}

/* One gzip member of 512 MiB zeros. The message (about 700 KB) is large
   enough for the largest quota, 300 MiB: the worst a bomb can cost. Under
   ASan 128 MiB (a 180 KB message, quota 89 MB): the same path, but reading
   300 MB twice over there takes 10 s a run. */
#define GZIP_BOMB_MIB (UNDER_ASAN ? 128 : 512)

static void
build_gzip_bomb(struct mavis_buf *m)
{
	struct test_entry e = { "zeros.bin", zeros, sizeof(zeros), 0, GZIP_BOMB_MIB * 16 };
	struct mavis_buf gz = { 0 };

	CHECK_INT(test_archive("raw", "gzip", NULL, NULL, &e, 1, &gz), 0);
	with_attachment(m, "gzip-bomb", "application/gzip", "zeros.bin.gz", gz.data, gz.len);
	mavis_buf_free(&gz);
}

/* A zip with 100 000 one-byte members. */
static void
build_zip_many(struct mavis_buf *m)
{
	enum { N = 100000 };
	struct test_entry *e = mavis_xcalloc(N, sizeof(*e));
	char (*names)[16] = mavis_xcalloc(N, 16);
	struct mavis_buf z = { 0 };

	for (size_t i = 0; i < N; i++) {
		snprintf(names[i], 16, "f%zu.txt", i);
		e[i] = (struct test_entry){ names[i], "y", 1, 0, 0 };
	}
	CHECK_INT(test_archive("zip", NULL, "zip:compression=store", NULL, e, N, &z), 0);
	free(e);
	free(names);
	with_attachment(m, "zip-many", "application/zip", "many.zip", z.data, z.len);
	mavis_buf_free(&z);
}

/* One attachment whose disposition or type header is hdr. */
static void
name_msg(struct mavis_buf *m, const char *id, const char *hdr)
{
	head(m, id);
	mavis_buf_printf(m, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"=b=\"\r\n\r\n"
			    "--=b=\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n--=b=\r\n%s%s\r\n"
			    "Content-Transfer-Encoding: base64\r\n\r\n",
			 strncmp(hdr, "Content-Type", 12) ? "Content-Type: application/octet-stream\r\n" : "",
			 hdr);
	base64_crlf(m, "harmless text\n", 14);
	mavis_buf_puts(m, "--=b=--\r\n");
}

/* raw Latin-1 */
static void
build_name_latin1(struct mavis_buf *m)
{
	name_msg(m, "name-latin1",
		 "Content-Disposition: attachment; filename=\"Rechnung_M\xe4rz.pdf.exe\"");
}

/* stray continuation bytes, an overlong '/' */
static void
build_name_stray(struct mavis_buf *m)
{
	name_msg(m, "name-stray", "Content-Disposition: attachment; filename=\"\x80\xbf\xc0\xaf.scr\"");
}

/* RFC 2231 declaring UTF-8, bytes that are not (a surrogate, 0xFF) */
static void
build_name_rfc2231(struct mavis_buf *m)
{
	name_msg(m, "name-rfc2231", "Content-Disposition: attachment; filename*=utf-8''%ED%A0%80%FF.pif");
}

/* RFC 2047 declaring UTF-8, bytes that are not: ED A0 80 C0 C1 ".bat" */
static void
build_name_rfc2047(struct mavis_buf *m)
{
	name_msg(m, "name-rfc2047", "Content-Type: application/octet-stream; name=\"=?utf-8?B?7aCAwMEuYmF0?=\"");
}

/* a zip member name that is not UTF-8 */
static void
build_name_zip(struct mavis_buf *m)
{
	unsigned char pe[1024];
	size_t pelen = test_pe(pe, sizeof(pe), 0);
	char zname[] = "docs/\xff\xfe\xc3(.com";
	struct test_entry ze = { zname, pe, pelen, 0, 0 };
	struct mavis_buf z = { 0 };

	CHECK_INT(test_archive("zip", NULL, NULL, NULL, &ze, 1, &z), 0);
	with_attachment(m, "name-zip", "application/zip", "docs.zip", z.data, z.len);
	mavis_buf_free(&z);
}

/* not UTF-8 either, but nothing banned about it */
static void
build_name_harmless(struct mavis_buf *m)
{
	name_msg(m, "name-harmless", "Content-Disposition: attachment; filename=\"caf\xe9 \xff.txt\"");
}

/* ---- the checks ---- */

struct mcase;

/* What one run must give. */
struct want {
	int major, minor;		/* the recipient's main content category */
	enum mavis_action action;
	const char *hold;		/* exact HOLD reason; NULL: no hold */
	const char *logs[3];		/* log texts that must appear */
	bool av_fails;			/* libclamav's own limits refuse it: the
					   scanner failure tempfails (a decoding
					   hold no longer skips the scan) */
};

struct mcase {
	const char *name;
	void (*build)(struct mavis_buf *m);
	struct want want;
	const struct want *tiny;	/* when the tiny config differs */
	/* hold text computed from the message (quota holds), or NULL */
	char *(*hold_of)(const struct mavis_buf *m);
	double max_secs;		/* CPU seconds per run (wall clock on a shared
					   machine measures the neighbours) */
	/* memory bound: fixed 48 MiB + per_msg x message size + quota x the
	   message's storage quota (both doubled under ASan) */
	double per_msg, quota;
	void (*check)(const struct mcase *c, const struct mavis_buf *m,
		      const struct mavis_verdict *v, const char *log);
	const char *note;		/* how amavisd differs, or NULL */
};

static uint64_t
quota_of(size_t msg_size)
{
	struct mavis_decode_limits lim;

	mavis_decode_limits_default(&lim);
	return mavis_decode_quota(&lim, msg_size);
}

static char *
quota_hold(const struct mavis_buf *m, const char *whom)
{
	char *s = NULL;

	/* The chunk size is the decoder's read size of the moment (64 KiB, or
	   4 KiB at a member's end): compared as a prefix below. */
	if (asprintf(&s, "Exceeded storage quota %llu bytes by %s; last chunk ",
		     (unsigned long long)quota_of(m->len), whom) < 0)
		abort();
	return s;
}

static char *
unzip_quota_hold(const struct mavis_buf *m)
{
	return quota_hold(m, "do_unzip");
}

static char *
gunzip_quota_hold(const struct mavis_buf *m)
{
	return quota_hold(m, "do_gunzip");
}

static const struct mavis_edit *
find_edit(const struct mavis_verdict *v, enum mavis_edit_op op, const char *name)
{
	for (size_t i = 0; i < v->nedits; i++)
		if (v->edits[i].op == op && v->edits[i].name && strcmp(v->edits[i].name, name) == 0)
			return &v->edits[i];
	return NULL;
}

/* "truncated-base64": the attachment decodes as far as it goes. */
static void
check_truncated(const struct mcase *c, const struct mavis_buf *m, const struct mavis_verdict *v,
		const char *log)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_decoded *d = NULL;
	struct mavis_error err = { 0 };
	const struct mavis_part *p = NULL;

	(void)c, (void)v, (void)log;
	CHECK_INT(mavis_decode_message(m->data, m->len, NULL, a, &d, &err), 0);
	for (size_t i = 0; d && i < d->nparts; i++)
		if (d->parts[i]->name && strcmp(d->parts[i]->name, "notes.txt") == 0)
			p = d->parts[i];
	CHECK(p != NULL);
	if (p != NULL) {
		CHECK_INT(p->len, TRUNC_BYTES);
		CHECK(memcmp(p->data, truncated_text, TRUNC_BYTES) == 0);
		CHECK(p->scan);
	}
	mavis_arena_free(&a);
}

/* "cr-in-boundary": no part boundary is found, which is a MIME error, and
   the body stays whole for the scanners (a preamble part). */
static void
check_cr_boundary(const struct mcase *c, const struct mavis_buf *m,
		  const struct mavis_verdict *v, const char *log)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_decoded *d = NULL;
	struct mavis_error err = { 0 };
	bool body = false;

	(void)c, (void)v, (void)log;
	CHECK_INT(mavis_decode_message(m->data, m->len, NULL, a, &d, &err), 0);
	CHECK(d != NULL && d->mime_error != NULL);
	for (size_t i = 0; d && i < d->nparts; i++)
		if (d->parts[i]->scan && memmem(d->parts[i]->data, d->parts[i]->len, "two", 3))
			body = true;
	CHECK(body);
	mavis_arena_free(&a);
}

/* Per category, the amavisd edits of a passed message and the reply text
   of a blocked one. */
static void
check_edits(const struct mcase *c, int cfg, const struct mavis_verdict *v)
{
	const struct mavis_rcpt_verdict *r = &v->rcpts[0];
	const struct mavis_edit *e;

	switch (r->ccat.major) {
	case MAVIS_CC_UNCHECKED:
		/* ***UNCHECKED*** for local recipients */
		e = find_edit(v, MAVIS_EDIT_CHANGE_HEADER, "Subject");
		if (e == NULL || strncmp(e->value, " ***UNCHECKED*** ", 17) != 0)
			test_fail(__FILE__, __LINE__, "%s/%s: no UNCHECKED subject tag", c->name,
				  cfg_names[cfg]);
		break;
	case MAVIS_CC_BADH:
		e = find_edit(v, MAVIS_EDIT_INSERT_HEADER, "X-Mavis-Alert");
		if (e == NULL || strncmp(e->value, " BAD HEADER SECTION, ", 21) != 0)
			test_fail(__FILE__, __LINE__, "%s/%s: no bad-header alert", c->name,
				  cfg_names[cfg]);
		break;
	case MAVIS_CC_BANNED:
		if (strcmp(v->rcode, "554") || strcmp(v->xcode, "5.7.0") || !strstr(v->text, "BANNED: "))
			test_fail(__FILE__, __LINE__, "%s/%s: reply %s %s %s", c->name, cfg_names[cfg],
				  v->rcode, v->xcode, v->text);
		break;
	}
}

static void
check_want(const struct mcase *c, int cfg, const struct want *w, const char *hold_want,
	   const struct mavis_verdict *v, const char *log)
{
	const struct mavis_rcpt_verdict *r = v->nrcpts == 1 ? &v->rcpts[0] : NULL;
	const char *h = strstr(log, "HOLD reason: ");
	char hold[512] = "";

	if (h != NULL)
		sscanf(h + 13, "%511[^\n]", hold);
	if (w->av_fails) {
		if (!v->internal_error || v->action != MAVIS_ACTION_TEMPFAIL ||
		    strstr(v->text, "virus scanning failed") == NULL)
			test_fail(__FILE__, __LINE__, "%s/%s: %s %s %s, want the scanner failure",
				  c->name, cfg_names[cfg], v->rcode, v->xcode, v->text);
		return;
	}
	if (v->internal_error || r == NULL) {
		test_fail(__FILE__, __LINE__, "%s/%s: %s %s %s (internal error)", c->name,
			  cfg_names[cfg], v->rcode, v->xcode, v->text);
		return;
	}
	if (r->ccat.major != w->major || r->ccat.minor != w->minor || v->action != w->action)
		test_fail(__FILE__, __LINE__, "%s/%s: %s (%d,%d) %s \"%s %s %s\", want (%d,%d) %s",
			  c->name, cfg_names[cfg], mavis_ccat_display_name(r->ccat.major, r->ccat.minor),
			  r->ccat.major, r->ccat.minor, mavis_action_name(v->action), v->rcode, v->xcode,
			  v->text, w->major, w->minor, mavis_action_name(w->action));
	if (hold_want == NULL && h != NULL)
		test_fail(__FILE__, __LINE__, "%s/%s: unexpected hold \"%s\"", c->name,
			  cfg_names[cfg], hold);
	size_t wl = hold_want ? strlen(hold_want) : 0;
	bool prefix = wl > 11 && strcmp(hold_want + wl - 11, "last chunk ") == 0;
	if (hold_want != NULL && (prefix ? strncmp(hold, hold_want, wl) : strcmp(hold, hold_want)) != 0)
		test_fail(__FILE__, __LINE__, "%s/%s: hold \"%s\", want \"%s\"", c->name,
			  cfg_names[cfg], h ? hold : "(none)", hold_want);
	/* amavisd skips the virus scan at a hold; mavis does not, on
	   purpose: the parts decoded so far and the raw message are scanned */
	if (!v->virus_scanned)
		test_fail(__FILE__, __LINE__, "%s/%s: not virus scanned", c->name, cfg_names[cfg]);
	for (size_t i = 0; i < 3 && w->logs[i]; i++)
		if (strstr(log, w->logs[i]) == NULL)
			test_fail(__FILE__, __LINE__, "%s/%s: log lacks \"%s\"", c->name,
				  cfg_names[cfg], w->logs[i]);
	check_edits(c, cfg, v);
}

/* ---- running ---- */

struct run {
	double secs, cpu;
	long grow_kib;		/* peak RSS above the start */
	char *log;		/* the run's log lines (heap) */
	size_t loglen;
};

/* One transaction. The log goes to a memory stream meanwhile (glibc's
   stderr is an ordinary variable); sanitizer reports use fd 2 directly and
   stay visible. */
static const struct mavis_verdict *
run_one(struct mavis_session **sp, int cfg, const struct mavis_buf *msg, struct run *r)
{
	struct mavis_session_info info = { .client_addr = "203.0.113.7", .daemon_name = "mx" };
	struct mavis_error err = { 0 };
	struct mavis_reply reply;
	const struct mavis_verdict *v = NULL;
	FILE *real_stderr = stderr, *logf;
	bool hwm;
	long start;
	double t0, c0;

	malloc_trim(0);
	hwm = reset_hwm();
	if (!hwm)
		mem_method = "ru_maxrss growth (no /proc/self/clear_refs: a lower bound)";
	start = hwm ? status_kib("VmRSS:") : maxrss_kib();
	logf = open_memstream(&r->log, &r->loglen);
	if (logf == NULL)
		abort();
	stderr = logf;
	t0 = now_secs();
	c0 = cpu_secs();
	if (mavis_session_new(engines[cfg], &info, sp, &err) == 0 &&
	    mavis_session_mail(*sp, "sender@example.net", NULL, &err) == 0 &&
	    mavis_session_rcpt(*sp, "bob@example.com", &reply, &err) == 0) {
		mavis_session_raw_message(*sp, msg->data, msg->len);
		v = mavis_session_eom(*sp);
	}
	r->secs = now_secs() - t0;
	r->cpu = cpu_secs() - c0;
	stderr = real_stderr;
	fclose(logf);
	r->grow_kib = (hwm ? status_kib("VmHWM:") : maxrss_kib()) - start;
	if (v == NULL)
		test_fail(__FILE__, __LINE__, "session setup: %s", err.text);
	return v;
}

static void
run_case(const struct mcase *c)
{
	struct mavis_buf msg = { 0 };
	double tb = now_secs();
	char *hold = NULL;
	long bound_kib;
	int asan = UNDER_ASAN ? 2 : 1;

	test_current = c->name;
	c->build(&msg);
	tb = now_secs() - tb;
	bound_kib = 48 * 1024 + (long)(asan * (c->per_msg * (double)msg.len +
					       c->quota * (double)quota_of(msg.len)) / 1024);
	if (c->hold_of != NULL)
		hold = c->hold_of(&msg);
	for (int cfg = 0; cfg < NCFG; cfg++) {
		const struct want *w = (cfg == CFG_TINY && c->tiny) ? c->tiny : &c->want;
		struct mavis_session *s = NULL;
		struct run r = { 0 };
		const struct mavis_verdict *v = run_one(&s, cfg, &msg, &r);
		const struct mavis_rcpt_verdict *rv = v && v->nrcpts ? &v->rcpts[0] : NULL;

		fprintf(stderr,
			"malformed: %-24s %-6s %9zu B  %-20s %7.3f s (cpu %7.3f)  +%7ld KiB"
			"  (bounds %.0f s, %ld MiB; built in %.2f s)\n",
			c->name, cfg_names[cfg], msg.len,
			rv ? mavis_ccat_display_name(rv->ccat.major, rv->ccat.minor) : "-", r.secs,
			r.cpu, r.grow_kib, c->max_secs, bound_kib / 1024, tb);
		if (cfg == 0 && c->note)
			fprintf(stderr, "malformed: %-24s note: %s\n", c->name, c->note);
		if (getenv("MALFORMED_LOG"))
			fprintf(stderr, "%s", r.log);
		if (v != NULL) {
			check_want(c, cfg, w, hold ? hold : w->hold, v, r.log);
			if (c->check)
				c->check(c, &msg, v, r.log);
		}
		if (r.cpu > c->max_secs)
			test_fail(__FILE__, __LINE__, "%s/%s: %.3f s CPU, bound %.0f s", c->name,
				  cfg_names[cfg], r.cpu, c->max_secs);
		if (r.grow_kib > bound_kib)
			test_fail(__FILE__, __LINE__, "%s/%s: peak RSS +%ld KiB, bound %ld KiB",
				  c->name, cfg_names[cfg], r.grow_kib, bound_kib);
		mavis_session_free(&s);
		free(r.log);
	}
	free(hold);
	mavis_buf_free(&msg);
}

/* ---- the table ---- */

#define WANT(maj, min, act, ...) \
	{ .major = MAVIS_CC_##maj, .minor = (min), .action = MAVIS_ACTION_##act, __VA_ARGS__ }
#define FILES_HOLD "Maximum number of files (1500) exceeded"

/* tiny config: max_header_count 50 is below the 100k-field section too */
static const struct want many_headers_tiny = WANT(UNCHECKED, 2, ACCEPT);

static const struct mcase cases[] = {
	/* MIME bombs */
	{ .name = "nested-multipart-10k", .build = build_nested_multipart,
	  .want = WANT(UNCHECKED, 2, ACCEPT, .hold = "MIME nesting deeper than 128 levels",
		       .logs = { "bad header: MIME error: MIME nesting too deep" }, .av_fails = true),
	  .max_secs = 10, .per_msg = 20,
	  /* libclamav parses the raw message too (the hold no longer skips
	     the scan): about 20 x its size under ASan */
	  .note = "amavisd: MIME::Parser stops at max_parts (1500 entities): BADH,1 'Unable to "
		  "parse, perhaps message contains too many parts', no hold" },
	{ .name = "nested-multipart-60", .build = build_nested_multipart_60,
	  .want = WANT(CLEAN, 0, ACCEPT,
		       .logs = { "MAIL: scan limit exceeded (Heuristics.Limits.Exceeded.MaxRecursion)",
				 "every decoded part was scanned on its own" }),
	  .max_secs = 10, .per_msg = 20,
	  .note = "amavisd (Debian: clamd gets the decoded parts): CLEAN; libclamav's "
		  "MaxRecursion on the raw message no longer fails a scan whose parts were all "
		  "decoded and scanned" },
	{ .name = "nested-rfc822-10k", .build = build_nested_rfc822,
	  .want = WANT(UNCHECKED, 2, ACCEPT, .hold = "Maximum decoding depth (14) exceeded",
		       .av_fails = true),
	  .max_secs = 10, .per_msg = 4 },
	{ .name = "parts-100k", .build = build_many_parts,
	  .want = WANT(UNCHECKED, 2, ACCEPT, .hold = FILES_HOLD),
	  .max_secs = 30, .per_msg = 4,
	  .note = "amavisd: BADH,1 'Unable to parse, perhaps message contains too many parts' "
		  "(MIME::Parser max_parts), no hold" },
	/* header sections */
	{ .name = "header-line-10MB", .build = build_long_header,
	  .want = WANT(UNCHECKED, 2, ACCEPT, .logs = { "header section over limits" }),
	  .max_secs = 30, .per_msg = 4,
	  .note = "mavis: max_header_size (1M) leaves the field out of the parsed list (BADH,5 "
		  "'Header section over limits' and UNCHECKED,2; the spool keeps its bytes); "
		  "amavisd: 'Header line longer than 998 characters', BADH,5" },
	{ .name = "part-header-long-line", .build = build_long_part_header,
	  .want = WANT(CLEAN, 0, ACCEPT),
	  .max_secs = 10, .per_msg = 8 },
	{ .name = "header-fields-100k", .build = build_many_headers,
	  .want = WANT(UNCHECKED, 2, ACCEPT, .logs = { "header section over limits (2000 fields" }),
	  .tiny = &many_headers_tiny, .max_secs = 10, .per_msg = 60,
	  .note = "amavisd has no field count limit: CLEAN; mavis: max_header_count, BADH,5 and "
		  "UNCHECKED,2 (GMime parses every field of the spooled section: ~50 x the bytes)" },
	{ .name = "part-header-fields-100k", .build = build_many_part_headers,
	  .want = WANT(CLEAN, 0, ACCEPT),
	  .max_secs = 10, .per_msg = 80,
	  .note = "GMime keeps every field of a part header (about 50 x the bytes); "
		  "MIME::Parser does the same" },
	/* NUL and CR */
	{ .name = "nul-in-header", .build = build_nul_header,
	  .want = WANT(BADH, 3, ACCEPT,
		       .logs = { "bad header: Improper use of control character (char 00 hex)" }),
	  .max_secs = 10 },
	{ .name = "bare-cr-in-header", .build = build_cr_header,
	  .want = WANT(BADH, 3, ACCEPT,
		       .logs = { "bad header: Improper use of control character (char 0D hex)" }),
	  .max_secs = 10 },
	/* the file name keeps the bytes after its NUL (U+FFFD for it), as
	   amavisd keeps them: banned by ".exe" */
	{ .name = "nul-cr-everywhere", .build = build_nul_cr_everywhere,
	  .want = WANT(BANNED, 0, REJECT,
		       .logs = { "bad header: Improper use of control character",
				 "N=set\xef\xbf\xbdup?.exe" }),
	  .max_secs = 10 },
	{ .name = "cr-in-boundary", .build = build_cr_boundary,
	  .want = WANT(BADH, 3, ACCEPT,
		       .logs = { "bad header: Improper use of control character (char 0D hex)" }),
	  .check = check_cr_boundary, .max_secs = 10,
	  .note = "the CR in Content-Type is BADH,3; MIME error BADH,1 besides (amavisd: "
		  "'multipart boundary is missing, or contains CR or LF', body as one part)" },
	{ .name = "cr-only-line-ends", .build = build_cr_only,
	  .want = WANT(BADH, 7, ACCEPT,
		       .logs = { "bad header: Improper use of control character (char 0D hex)" }),
	  .max_secs = 10,
	  .note = "no LF: one header field (control char, BADH,3), Date missing (BADH,7 wins)" },
	/* truncation */
	{ .name = "truncated-base64", .build = build_truncated_base64,
	  .want = WANT(BADH, 1, ACCEPT,
		       .logs = { "bad header: MIME error: unexpected end of parts before epilogue" }),
	  .check = check_truncated, .max_secs = 10 },
	{ .name = "truncated-zip", .build = build_truncated_zip,
	  .want = WANT(BANNED, 0, REJECT, .logs = { "N=invoice.pdf.exe" }),
	  .max_secs = 10,
	  .note = "mavis reads the local headers of a zip without central directory; amavisd "
		  "has 7z try the same" },
	/* archive bombs */
	{ .name = "zip-bomb-42", .build = build_zip_bomb_42,
	  .want = WANT(UNCHECKED, 2, ACCEPT, .hold = FILES_HOLD),
	  .max_secs = 10, .per_msg = 4, .quota = 1 },
	{ .name = "zip-bomb-quota", .build = build_zip_bomb_quota,
	  .want = WANT(UNCHECKED, 2, ACCEPT), .hold_of = unzip_quota_hold,
	  .max_secs = 10, .per_msg = 4, .quota = 1 },
	{ .name = "gzip-bomb", .build = build_gzip_bomb,
	  .want = WANT(UNCHECKED, 2, ACCEPT, .av_fails = true), .hold_of = gunzip_quota_hold,
	  .max_secs = 20, .per_msg = 4, .quota = 1.1 },
	{ .name = "zip-100k-entries", .build = build_zip_many,
	  .want = WANT(UNCHECKED, 2, ACCEPT, .hold = FILES_HOLD, .av_fails = true),
	  .max_secs = 20, .per_msg = 6 },
	/* names that are not UTF-8: the rules see the Latin-1 reading */
	{ .name = "name-latin1", .build = build_name_latin1,
	  .want = WANT(BANNED, 0, REJECT, .logs = { "N=Rechnung_M\xc3\xa4rz.pdf.exe\"" }),
	  .max_secs = 10 },
	{ .name = "name-stray-bytes", .build = build_name_stray,
	  .want = WANT(BANNED, 0, REJECT, .logs = { "N=\xc2\x80\xc2\xbf\xc3\x80\xc2\xaf.scr\"" }),
	  .max_secs = 10 },
	{ .name = "name-rfc2231", .build = build_name_rfc2231,
	  .want = WANT(BANNED, 0, REJECT, .logs = { "N=\xc3\xad\xc2\xa0\xc2\x80\xc3\xbf.pif" }),
	  .max_secs = 10 },
	{ .name = "name-rfc2047", .build = build_name_rfc2047,
	  /* GMime turns the bytes that are not UTF-8 into '?' */
	  .want = WANT(BANNED, 0, REJECT, .logs = { "N=?????.bat," }),
	  .max_secs = 10 },
	{ .name = "name-zip-member", .build = build_name_zip,
	  .want = WANT(BANNED, 0, REJECT, .logs = { "N=docs/\xc3\xbf\xc3\xbe\xc3\x83(.com\"" }),
	  .max_secs = 10 },
	{ .name = "name-harmless", .build = build_name_harmless,
	  .want = WANT(CLEAN, 0, ACCEPT),
	  .max_secs = 10 },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* test_malformed --write-seeds DIR MAX: the messages of at most MAX bytes
   as DIR/malformed-<case>.eml */
static void
seed_nested_multipart(struct mavis_buf *m)
{
	nested_multipart(m, 60);
}

static void
seed_many_parts(struct mavis_buf *m)
{
	many_parts(m, 300);
}

static void
seed_zip_bomb(struct mavis_buf *m)
{
	zip_bomb(m, 4, 4, 1);
}

/* Small versions of the bombs, for the fuzzer's small limits. */
static const struct {
	const char *name;
	void (*build)(struct mavis_buf *m);
} seeds[] = {
	{ "nested-multipart-60", seed_nested_multipart },
	{ "parts-300", seed_many_parts },
	{ "zip-bomb-4x4", seed_zip_bomb },
};

static int
write_seeds(const char *dir, size_t max)
{
	size_t nseeds = sizeof(seeds) / sizeof(seeds[0]);

	for (size_t i = 0; i < NCASES + nseeds; i++) {
		struct mavis_buf m = { 0 };
		const char *name = i < NCASES ? cases[i].name : seeds[i - NCASES].name;
		char path[1024];
		FILE *f;

		if (i < NCASES)
			cases[i].build(&m);
		else
			seeds[i - NCASES].build(&m);
		if (m.len <= max) {
			snprintf(path, sizeof(path), "%s/malformed-%s.eml", dir, name);
			f = fopen(path, "wb");
			if (f == NULL || fwrite(m.data, 1, m.len, f) != m.len || fclose(f) != 0) {
				perror(path);
				return 1;
			}
			printf("%s: %zu bytes\n", path, m.len);
		}
		mavis_buf_free(&m);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	double t0 = now_secs();

	if (argc == 4 && strcmp(argv[1], "--write-seeds") == 0)
		return write_seeds(argv[2], strtoul(argv[3], NULL, 10));
	/* level 2: "bad header: ...", "p.path BANNED:1 ..." */
	mavis_log_set_verbosity(2);
	if (engines_new() == 0)
		for (size_t i = 0; i < NCASES; i++)
			if (argc < 2 || strcmp(argv[1], cases[i].name) == 0)
				run_case(&cases[i]);
	engines_free();
	mavis_decode_thread_done();
	fprintf(stderr, "malformed: %zu cases in %.1f s%s; memory: %s\n", NCASES, now_secs() - t0,
		UNDER_ASAN ? " (ASan)" : "", mem_method);
	return test_exit();
}
