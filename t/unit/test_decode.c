/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_decode.c - MIME and archive decoding, limits, amavisd attributes */

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mavis/arena.h>
#include <mavis/filetype.h>
#include <mavis/parts.h>

#include "decode/decode_int.h"
#include "harness.h"

#if defined(__SANITIZE_ADDRESS__)
/* ASan's shadow and redzones roughly double what the decoder's buffers
   cost; its quarantine of freed blocks (256 MiB by default) would count as
   growth: 16 MiB still catches use-after-free of recent blocks. */
#define RSS_FACTOR 2
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "quarantine_size_mb=16";
}
#else
#define RSS_FACTOR 1
#endif
#include "testmsg.h"

static struct mavis_arena *arena;

static const struct mavis_decoded *
decode_lim(const void *msg, size_t len, const struct mavis_decode_limits *lim)
{
	struct mavis_decoded *d = NULL;
	struct mavis_error err;
	int rc = mavis_decode_message(msg, len, lim, arena, &d, &err);

	if (rc != 0) {
		test_fail(__FILE__, __LINE__, "decode failed: %s", err.text);
		return NULL;
	}
	return d;
}

static const struct mavis_decoded *
decode(const char *msg)
{
	return decode_lim(msg, strlen(msg), NULL);
}

/* The part whose first name is name, or NULL. */
static const struct mavis_part *
by_name(const struct mavis_decoded *d, const char *name)
{
	for (size_t i = 0; d && i < d->nparts; i++)
		for (unsigned k = 0; k < d->parts[i]->nnames; k++)
			if (strcmp(d->parts[i]->names[k], name) == 0)
				return d->parts[i];
	return NULL;
}

static bool
has_name(const struct mavis_part *p, const char *name)
{
	for (unsigned k = 0; p && k < p->nnames; k++)
		if (strcmp(p->names[k], name) == 0)
			return true;
	return false;
}

static const char *
types(const struct mavis_part *p)
{
	static char buf[128];
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned i = 0; p && i < p->nshort_types; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", i ? "," : "",
				      p->short_types[i]);
	return buf;
}

static void
test_limits_and_quota(void)
{
	struct mavis_decode_limits lim;

	mavis_decode_limits_default(&lim);
	CHECK_INT(lim.max_levels, 14);
	CHECK_INT(lim.max_files, 1500);
	CHECK_INT(lim.min_expansion_quota, 100 * 1024);
	CHECK_INT(lim.max_expansion_quota, 300 * 1024 * 1024);
	CHECK_INT(lim.min_expansion_factor, 5);
	CHECK_INT(lim.max_expansion_factor, 500);
	/* max(100 KiB, 5*size, min(300 MiB, 500*size)) */
	CHECK_INT(mavis_decode_quota(&lim, 0), 100 * 1024);
	CHECK_INT(mavis_decode_quota(&lim, 100), 100 * 1024);
	CHECK_INT(mavis_decode_quota(&lim, 1000), 500 * 1000);
	CHECK_INT(mavis_decode_quota(&lim, 10 * 1024 * 1024), 300 * 1024 * 1024);
	CHECK_INT(mavis_decode_quota(&lim, 100ull * 1024 * 1024), 500ull * 1024 * 1024);
	CHECK(mavis_decode_quota(&lim, UINT64_MAX / 2) == UINT64_MAX);
}

static void
test_short_types(void)
{
	static const struct {
		const char *full, *want;
	} cases[] = {
		{ "PE32 executable (GUI) Intel 80386, for MS Windows", "exe,exe-ms" },
		{ "PE32+ executable (console) x86-64, for MS Windows", "exe,exe-ms" },
		{ "PE32 executable (DLL) (GUI) Intel 80386, for MS Windows", "exe,exe-ms,dll" },
		{ "MS-DOS executable, MZ for MS-DOS", "exe,exe-ms" },
		{ "DOS executable (COM)", "asc" },
		{ "MS-DOS executable PE  for MS Windows (DLL) (GUI) Intel 80386 32-bit", "exe,dll" },
		{ "ELF 64-bit LSB pie executable, x86-64", "exe,exe-unix" },
		{ "ELF 64-bit LSB shared object, x86-64", "so" },
		{ "Zip archive data, at least v2.0 to extract", "zip" },
		{ "7-zip archive data, version 0.4", "7z" },
		{ "RAR archive data, v5", "rar" },
		{ "gzip compressed data, was \"x\"", "gz" },
		{ "XZ compressed data, checksum CRC64", "xz" },
		{ "POSIX tar archive (GNU)", "tar" },
		{ "ASCII cpio archive (SVR4 with no CRC)", "cpio" },
		{ "PDF document, version 1.4", "pdf" },
		{ "PNG image data, 1 x 1, 8-bit/color RGBA", "image,png" },
		{ "HTML document, ASCII text", "html" },
		{ "ASCII text", "asc" },
		{ "Unicode text, UTF-8 text", "txt" },
		{ "ISO-8859 text", "txt" },
		{ "PGP message Public-Key Encrypted Session Key", "pgp,pgp.enc" },
		{ "uuencoded or xxencoded text, file name \"x\"", "uue" },
		{ "Composite Document File V2 Document, Little Endian", "cdf-ms" },
		{ "Microsoft Cabinet archive data, many", "cab" },
		{ "ISO 9660 CD-ROM filesystem data 'CDROM'", "iso" },
		{ "empty", "empty" },
		{ "data", "dat" },
		{ "something nobody knows", "dat" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *out[MAVIS_FILETYPE_MAX_SHORT];
		unsigned n = mavis_filetype_short(cases[i].full, out);
		char buf[128];
		size_t o = 0;

		buf[0] = '\0';
		for (unsigned k = 0; k < n; k++)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", k ? "," : "", out[k]);
		CHECK_STR(buf, cases[i].want);
	}
}

/* Short types of one buffer described through pool. */
static void
describe_short(struct mavis_filetype_pool *pool, const void *data, size_t len, char *buf,
	       size_t size)
{
	struct mavis_arena *a = mavis_arena_new(4096);
	struct mavis_error err = { 0 };
	const char *full = NULL, *out[MAVIS_FILETYPE_MAX_SHORT];
	size_t o = 0;
	unsigned n;

	CHECK_INT(mavis_filetype_describe(pool, data, len, a, &full, &err), 0);
	n = mavis_filetype_short(full, out);
	buf[0] = '\0';
	for (unsigned k = 0; k < n; k++)
		o += (size_t)snprintf(buf + o, size - o, "%s%s", k ? "," : "", out[k]);
	mavis_arena_free(&a);
}

struct pool_worker {
	struct mavis_filetype_pool *pool;
	const unsigned char *pe;
	size_t pelen;
	int wrong;
};

static void *
pool_worker_run(void *arg)
{
	struct pool_worker *w = arg;
	static const char text[] = "Dear colleague,\nplease find the report below.\n";
	char buf[128];

	for (int i = 0; i < 200; i++) {
		describe_short(w->pool, w->pe, w->pelen, buf, sizeof(buf));
		w->wrong += strcmp(buf, "exe,exe-ms") != 0;
		describe_short(w->pool, text, sizeof(text) - 1, buf, sizeof(buf));
		w->wrong += strcmp(buf, "asc") != 0;
	}
	return NULL;
}

/* More threads than handles: every call gets a handle of its own (a shared
   one would garble descriptions or crash libmagic). */
static void
test_filetype_pool(void)
{
	unsigned char pe[1024];
	struct mavis_filetype_pool *pool = NULL;
	struct mavis_error err = { 0 };
	struct pool_worker w[8];
	pthread_t th[8];

	CHECK_INT(mavis_filetype_pool_new(2, MAVIS_FILETYPE_TEXT_DETAIL, &pool, &err), 0);
	CHECK_INT((int)mavis_filetype_pool_size(pool), 2);
	for (int i = 0; i < 8; i++) {
		w[i] = (struct pool_worker){ .pool = pool, .pe = pe,
					     .pelen = test_pe(pe, sizeof(pe), 0) };
		CHECK_INT(pthread_create(&th[i], NULL, pool_worker_run, &w[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT(w[i].wrong, 0);
	}
	mavis_filetype_pool_free(&pool);
	CHECK(pool == NULL);
	mavis_filetype_pool_free(&pool);
	CHECK_INT(mavis_filetype_pool_new(0, 0, &pool, &err), 0);
	CHECK(mavis_filetype_pool_size(pool) >= 1);
	mavis_filetype_pool_free(&pool);
}

/* Without text detail, every type that a binary signature gives is the
   same as with it, text or not (a PDF header on printable bytes is still a
   pdf); armored PGP still gets pgp.enc; only text-derived types differ. */
static void
test_filetype_text_fast(void)
{
	static const struct {
		const char *data;
		const char *full, *fast;	/* fast NULL: same as full */
	} cases[] = {
		{ "MZ this looks like text but starts like a DOS program\n", NULL, NULL },
		{ "-----BEGIN PGP MESSAGE-----\n\nhQEMA5yX1b2Y3TZQAQf/abc\n-----END PGP MESSAGE-----\n",
		  "pgp,pgp.enc", NULL },
		{ "070707000001000002000003000004000005000006000007000010000011000012name\n",
		  NULL, NULL },
		{ "!<arch>\nevil.exe/       0           0     0     644     6         `\nhello\n",
		  NULL, NULL },
		{ "%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "pdf", NULL },
		{ "<html><head><title>x</title></head><body><p>hello</p></body></html>\n",
		  "html", "asc" },
		{ "Just a few words of plain text.\n", "asc", NULL },
	};
	struct mavis_filetype_pool *full = NULL, *fast = NULL;
	struct mavis_error err = { 0 };

	CHECK_INT(mavis_filetype_pool_new(1, MAVIS_FILETYPE_TEXT_DETAIL, &full, &err), 0);
	CHECK_INT(mavis_filetype_pool_new(1, 0, &fast, &err), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char a[128], b[128];
		size_t len = strlen(cases[i].data);

		describe_short(full, cases[i].data, len, a, sizeof(a));
		describe_short(fast, cases[i].data, len, b, sizeof(b));
		if (cases[i].full != NULL)
			CHECK_STR(a, cases[i].full);
		CHECK_STR(b, cases[i].fast ? cases[i].fast : a);
	}
	CHECK(!mavis_filetype_text_derived("exe-ms"));
	CHECK(!mavis_filetype_text_derived("zip"));
	CHECK(mavis_filetype_text_derived("html"));
	CHECK(mavis_filetype_text_derived("dat"));
	CHECK(mavis_filetype_text_derived("image"));
	mavis_filetype_pool_free(&full);
	mavis_filetype_pool_free(&fast);
}

static void
test_base64_qp_attachments(void)
{
	unsigned char pe[1024];
	size_t pelen = test_pe(pe, sizeof(pe), 0);
	struct mavis_buf m;
	const struct mavis_decoded *d;
	const struct mavis_part *p;

	test_mail_attachment(&m, "application/octet-stream", "setup.exe", pe, pelen);
	d = decode(m.data);
	mavis_buf_free(&m);
	if (d == NULL)
		return;
	/* amavisd numbering: bodies in document order, then the container */
	CHECK_INT(d->nparts, 3);
	CHECK_STR(d->parts[0]->mime_type, "text/plain");
	CHECK_STR(d->parts[0]->placement, "1/1");
	CHECK_STR(d->parts[1]->placement, "1/2");
	CHECK_STR(d->parts[2]->mime_type, "multipart/mixed");
	CHECK_STR(d->parts[2]->placement, "1");
	CHECK(d->parts[2]->parent == NULL && !d->parts[2]->is_leaf && !d->parts[2]->scan);
	p = d->parts[1];
	CHECK(p->parent == d->parts[2]);
	CHECK_INT(p->len, pelen);
	CHECK(p->data && memcmp(p->data, pe, pelen) == 0);
	CHECK_STR(p->name, "setup.exe");
	CHECK_STR(types(p), "exe,exe-ms");
	CHECK_STR(p->full_type, "PE32 executable (GUI) Intel 80386, for MS Windows");
	CHECK(p->is_leaf && p->scan);
	CHECK_INT(p->level, 1);
	CHECK(d->hold == NULL && d->unchecked == 0 && d->unchecked_minor == -1);
	CHECK(d->mime_error == NULL);

	d = decode("From: a@b\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
		   "Content-Transfer-Encoding: quoted-printable\n"
		   "Content-Disposition: attachment; filename=\"q.txt\"\n\n"
		   "caf=C3=A9 =3D soft=\nbreak\n");
	if (d == NULL)
		return;
	CHECK_INT(d->nparts, 1);
	CHECK_STR((const char *)d->parts[0]->data, "caf\xc3\xa9 = softbreak\n");
	CHECK_STR(d->parts[0]->name, "q.txt");
	CHECK_STR(d->parts[0]->placement, "1");
}

static void
test_uuencode(void)
{
	static const char *msg =
		"From: a@b\nSubject: uu\n\nHello,\nbegin 644 hello.exe\n"
		"%2&5L;&\\*\n`\nend\nbye\nbegin 0644 second.png\n#86)C\n`\nend\n";
	const struct mavis_decoded *d = decode(msg);
	const struct mavis_part *t, *f;

	if (d == NULL)
		return;
	CHECK_INT(d->nparts, 3);
	t = d->parts[0];
	CHECK_STR(t->mime_type, "text/plain");
	CHECK(!t->is_leaf && t->scan);	/* kept for scanners, like amavisd */
	CHECK_INT(t->nchildren, 2);
	f = by_name(d, "hello.exe");
	CHECK(f != NULL && f->parent == t);
	if (f) {
		CHECK_INT(f->len, 5);
		CHECK(memcmp(f->data, "Hello", 5) == 0);
		CHECK_STR(f->mime_type, "application/octet-stream");
		CHECK_STR(f->placement, "1/1");
		CHECK_INT(f->level, 1);
	}
	f = by_name(d, "second.png");
	CHECK(f != NULL);
	if (f) {
		CHECK_STR(f->mime_type, "image/png");
		CHECK_INT(f->len, 3);
		CHECK(memcmp(f->data, "abc", 3) == 0);
	}

	/* Content-Transfer-Encoding x-uuencode is decoded by GMime */
	d = decode("From: a@b\nContent-Type: application/octet-stream; name=\"x.bin\"\n"
		   "Content-Transfer-Encoding: x-uuencode\n\nbegin 644 x.bin\n%2&5L;&\\*\n`\nend\n");
	if (d) {
		CHECK_INT(d->nparts, 1);
		CHECK_INT(d->parts[0]->len, 5);
		CHECK(d->parts[0]->data && memcmp(d->parts[0]->data, "Hello", 5) == 0);
	}

	/* A length byte that promises more than the line holds is cut. */
	d = decode("From: a@b\n\nbegin 644 lie.bin\nM86)C\nend\n");
	if (d && (f = by_name(d, "lie.bin")) != NULL)
		CHECK_INT(f->len, 3);
}

static void
test_nested_rfc822(void)
{
	static const char *inner =
		"From: c@d\nSubject: inner\nMIME-Version: 1.0\n"
		"Content-Type: application/octet-stream; name=\"in.bin\"\n"
		"Content-Transfer-Encoding: base64\n\naGVsbG8=\n";
	struct mavis_buf m = { 0 };
	const struct mavis_decoded *d;
	const struct mavis_part *a, *b;

	mavis_buf_puts(&m, "From: a@b\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=zz\n\n"
			   "--zz\nContent-Type: message/rfc822\n\n");
	mavis_buf_puts(&m, inner);
	mavis_buf_puts(&m, "--zz\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n");
	test_base64(&m, inner, strlen(inner));
	mavis_buf_puts(&m, "--zz--\n");
	d = decode(m.data);
	mavis_buf_free(&m);
	if (d == NULL)
		return;
	CHECK_INT(d->nparts, 5);
	/* p001 parsed inline by GMime, p002 encoded; p003 the multipart */
	CHECK_STR(d->parts[0]->mime_type, "message/rfc822");
	CHECK_STR(d->parts[1]->mime_type, "message/rfc822");
	CHECK_STR(d->parts[2]->mime_type, "multipart/mixed");
	a = d->parts[3];
	b = d->parts[4];
	CHECK_INT(a->level, 2);
	CHECK_INT(b->level, 2);
	CHECK(a->parent == d->parts[0]);
	CHECK(b->parent == d->parts[1]);
	CHECK_STR(a->placement, "1/1/1");
	CHECK_STR(b->placement, "1/2/1");
	CHECK_STR(a->name, "in.bin");
	CHECK_STR(b->name, "in.bin");
	CHECK(a->len == 5 && memcmp(a->data, "hello", 5) == 0);
	CHECK(b->len == 5 && memcmp(b->data, "hello", 5) == 0);
	CHECK(!d->parts[0]->scan && !d->parts[1]->scan);
}

static void
test_zip_in_zip(void)
{
	unsigned char pe[1024];
	size_t pelen = test_pe(pe, sizeof(pe), 0);
	struct test_entry in[] = {
		{ "dir/", NULL, 0, AE_IFDIR, 0 },
		{ "dir/evil.exe", pe, pelen, 0, 0 },
		{ "readme.txt", "read me\n", 8, 0, 0 },
		{ "empty.txt", "", 0, 0, 0 },
	};
	struct mavis_buf inner, outer, m;
	const struct mavis_decoded *d;
	const struct mavis_part *z1, *z2, *x;

	CHECK(test_archive("zip", NULL, NULL, NULL, in, 4, &inner) == 0);
	struct test_entry out[] = { { "inner.zip", inner.data, inner.len, 0, 0 } };
	CHECK(test_archive("zip", NULL, NULL, NULL, out, 1, &outer) == 0);
	test_mail_attachment(&m, "application/zip", "outer.zip", outer.data, outer.len);
	d = decode(m.data);
	mavis_buf_free(&m);
	mavis_buf_free(&outer);
	mavis_buf_free(&inner);
	if (d == NULL)
		return;
	z1 = by_name(d, "outer.zip");
	z2 = by_name(d, "inner.zip");
	x = by_name(d, "dir/evil.exe");
	CHECK(z1 && z2 && x);
	if (!z1 || !z2 || !x)
		return;
	CHECK_STR(types(z1), "zip");
	CHECK(!z1->is_leaf && !z1->scan);
	CHECK_INT(z2->level, 2);
	CHECK_STR(z2->placement, "1/2/1");
	CHECK(z2->mime_type == NULL);
	CHECK_INT(x->level, 3);
	CHECK(x->parent == z2 && z2->parent == z1);
	CHECK_STR(x->placement, "1/2/1/2");
	CHECK_STR(types(x), "exe,exe-ms");
	CHECK(x->len == pelen && memcmp(x->data, pe, pelen) == 0);
	CHECK(by_name(d, "dir/")->attrs == MAVIS_PART_DIR);
	CHECK_STR(types(by_name(d, "empty.txt")), "empty");
	/* amavisd keeps an archive with empty members for the scanners */
	CHECK(z2->scan);
	CHECK(d->hold == NULL && d->unchecked == 0);
}

static void
test_tar_gz_7z(void)
{
	struct test_entry in[] = {
		{ "a.txt", "alpha\n", 6, 0, 0 },
		{ "link", NULL, 0, AE_IFLNK, 0 },
	};
	struct mavis_buf tgz, sz, m;
	const struct mavis_decoded *d;
	const struct mavis_part *p;

	CHECK(test_archive("ustar", "gzip", NULL, NULL, in, 2, &tgz) == 0);
	test_mail_attachment(&m, "application/gzip", "pack.tgz", tgz.data, tgz.len);
	d = decode(m.data);
	mavis_buf_free(&m);
	mavis_buf_free(&tgz);
	if (d) {
		/* gz (level 1) -> tar (level 2, named like amavisd) -> members */
		p = by_name(d, "pack.tar");
		CHECK(p != NULL);
		if (p) {
			CHECK_STR(types(p), "tar");
			CHECK_INT(p->level, 2);
		}
		p = by_name(d, "a.txt");
		CHECK(p && p->level == 3 && p->len == 6);
		p = by_name(d, "link");
		CHECK(p && p->attrs == MAVIS_PART_SYMLINK);
	}

	CHECK(test_archive("7zip", NULL, NULL, NULL, in, 1, &sz) == 0);
	test_mail_attachment(&m, "application/x-7z-compressed", "s.7z", sz.data, sz.len);
	d = decode(m.data);
	mavis_buf_free(&m);
	mavis_buf_free(&sz);
	if (d) {
		CHECK_STR(types(by_name(d, "s.7z")), "7z");
		p = by_name(d, "a.txt");
		CHECK(p && p->level == 2 && p->len == 6 && memcmp(p->data, "alpha\n", 6) == 0);
	}
}

static void
test_encrypted_zip(void)
{
	unsigned char pe[1024];
	size_t pelen = test_pe(pe, sizeof(pe), 0);
	struct test_entry in[] = { { "secret.exe", pe, pelen, 0, 0 } };
	struct mavis_buf z, m;
	const struct mavis_decoded *d;
	const struct mavis_part *p;

	if (test_archive("zip", NULL, "zip:encryption=zipcrypt", "pw", in, 1, &z) != 0) {
		test_fail(__FILE__, __LINE__, "libarchive cannot write zipcrypt");
		return;
	}
	test_mail_attachment(&m, "application/zip", "locked.zip", z.data, z.len);
	d = decode(m.data);
	mavis_buf_free(&m);
	mavis_buf_free(&z);
	if (d == NULL)
		return;
	p = by_name(d, "secret.exe");
	CHECK(p != NULL);
	if (p) {
		CHECK_INT(p->attrs, MAVIS_PART_UNDECIPHERABLE | MAVIS_PART_ENCRYPTED);
		CHECK(p->data == NULL && !p->scan);
	}
	CHECK(by_name(d, "locked.zip")->scan);	/* archive retained */
	CHECK_INT(d->unchecked, MAVIS_UNCHECKED_BIT(0) | MAVIS_UNCHECKED_BIT(1));
	CHECK_INT(d->unchecked_minor, 1);
	CHECK(d->hold == NULL);
}

/* Read t/data/decode/<name> into b (heap); false when missing. */
static bool
read_data(const char *name, struct mavis_buf *b)
{
	FILE *f = fopen(test_data_path(name), "rb");
	char chunk[4096];
	size_t k;

	memset(b, 0, sizeof(*b));
	if (f == NULL) {
		test_fail(__FILE__, __LINE__, "cannot open %s", test_data_path(name));
		return false;
	}
	while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0)
		mavis_buf_append(b, chunk, k);
	fclose(f);
	return true;
}

/* 7z with a password (t/data/make-archives.sh): data only, or headers too. */
static void
test_encrypted_7z(void)
{
	struct mavis_buf z, m;
	const struct mavis_decoded *d;
	const struct mavis_part *p;

	if (read_data("decode/enc-data.7z", &z)) {
		test_mail_attachment(&m, "application/x-7z-compressed", "d.7z", z.data, z.len);
		d = decode(m.data);
		if (d && (p = by_name(d, "payload.exe")) != NULL) {
			CHECK_INT(p->attrs, MAVIS_PART_UNDECIPHERABLE | MAVIS_PART_ENCRYPTED);
			CHECK_INT(d->unchecked_minor, 1);
		} else {
			test_fail(__FILE__, __LINE__, "no payload.exe member");
		}
		mavis_buf_free(&m);
		mavis_buf_free(&z);
	}
	if (read_data("decode/enc-headers.7z", &z)) {
		test_mail_attachment(&m, "application/x-7z-compressed", "h.7z", z.data, z.len);
		d = decode(m.data);
		if (d && (p = by_name(d, "h.7z")) != NULL) {
			/* amavisd do_7zip: the archive itself gets U and C */
			CHECK_INT(p->attrs, MAVIS_PART_UNDECIPHERABLE | MAVIS_PART_ENCRYPTED);
			CHECK(p->is_leaf && p->scan);
			CHECK_INT(d->unchecked, MAVIS_UNCHECKED_BIT(0) | MAVIS_UNCHECKED_BIT(1));
		}
		mavis_buf_free(&m);
		mavis_buf_free(&z);
	}
}

/* A message whose attachment is levels-deep nested zips, innermost a.txt. */
static void
nested_zips(unsigned levels, struct mavis_buf *m)
{
	struct mavis_buf cur = { 0 }, next;

	mavis_buf_puts(&cur, "x");
	for (unsigned i = 0; i < levels; i++) {
		char name[32];
		struct test_entry e = { name, cur.data, cur.len, 0, 0 };

		snprintf(name, sizeof(name), i == 0 ? "a.txt" : "z%u.zip", i);
		CHECK(test_archive("zip", NULL, NULL, NULL, &e, 1, &next) == 0);
		mavis_buf_free(&cur);
		cur = next;
	}
	test_mail_attachment(m, "application/zip", "top.zip", cur.data, cur.len);
	mavis_buf_free(&cur);
}

static void
test_max_levels(void)
{
	struct mavis_buf m;
	const struct mavis_decoded *d;

	/* 13 zips: a.txt sits at level 14 = $MAXLEVELS, fine */
	nested_zips(13, &m);
	d = decode(m.data);
	mavis_buf_free(&m);
	if (d) {
		CHECK(d->hold == NULL);
		CHECK(by_name(d, "a.txt") && by_name(d, "a.txt")->level == 14);
	}
	/* 14 zips: a.txt would be at level 15 */
	nested_zips(14, &m);
	d = decode(m.data);
	mavis_buf_free(&m);
	if (d) {
		CHECK_STR(d->hold, "Maximum decoding depth (14) exceeded");
		CHECK(by_name(d, "a.txt") == NULL);
		CHECK_INT(d->unchecked, MAVIS_UNCHECKED_BIT(0) | MAVIS_UNCHECKED_BIT(2));
		CHECK_INT(d->unchecked_minor, 2);
	}
}

static void
test_many_entries(void)
{
	enum { N = 100000 };
	struct test_entry *e = mavis_xcalloc(N, sizeof(*e));
	char (*names)[16] = mavis_xcalloc(N, 16);
	struct mavis_buf z, m;
	const struct mavis_decoded *d;
	struct timespec t0, t1;
	double secs;

	for (size_t i = 0; i < N; i++) {
		snprintf(names[i], 16, "f%zu.txt", i);
		e[i].name = names[i];
		e[i].data = "y";
		e[i].len = 1;
	}
	CHECK(test_archive("zip", NULL, NULL, NULL, e, N, &z) == 0);
	free(e);
	free(names);
	test_mail_attachment(&m, "application/zip", "many.zip", z.data, z.len);
	mavis_buf_free(&z);
	/* CPU time: wall time on a loaded test machine says little */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	d = decode_lim(m.data, m.len, NULL);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	mavis_buf_free(&m);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (d) {
		CHECK_STR(d->hold, "Maximum number of files (1500) exceeded");
		/* 2 MIME parts + the zip's container... + 1500 members */
		CHECK_INT(d->nparts, 3 + 1500);
		CHECK_INT(d->unchecked_minor, 2);
	}
	/* libarchive reads the whole central directory first: ~1 s in a
	   release build, a few in the Sanitize build */
	CHECK(secs < 15.0);
	printf("100k-entry zip: %.3f s CPU\n", secs);
}

static long
maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* 42.zip style: 16 zips of 16 files of 4 MiB zeros = 1 GiB, in ~100 KB. */
static void
test_expansion_bomb(void)
{
	static unsigned char zeros[1024 * 1024];
	struct test_entry leaf[16], mid[16];
	char names[32][24];
	struct mavis_buf l1, l2, m;
	struct mavis_decode_limits lim;
	const struct mavis_decoded *d;
	long before, after;

	for (int i = 0; i < 16; i++) {
		snprintf(names[i], sizeof(names[i]), "zero%02d.bin", i);
		leaf[i] = (struct test_entry){ names[i], zeros, sizeof(zeros), 0, 4 };
	}
	CHECK(test_archive("zip", NULL, NULL, NULL, leaf, 16, &l1) == 0);
	for (int i = 0; i < 16; i++) {
		snprintf(names[16 + i], sizeof(names[16 + i]), "l1-%02d.zip", i);
		mid[i] = (struct test_entry){ names[16 + i], l1.data, l1.len, 0, 0 };
	}
	CHECK(test_archive("zip", NULL, NULL, NULL, mid, 16, &l2) == 0);
	mavis_buf_free(&l1);
	test_mail_attachment(&m, "application/zip", "42.zip", l2.data, l2.len);
	mavis_buf_free(&l2);

	/* Debian limits except a 32 MiB quota, so that the test is quick. */
	mavis_decode_limits_default(&lim);
	lim.max_expansion_quota = 32 * 1024 * 1024;
	lim.max_expansion_factor = 100000;
	before = maxrss_kib();
	d = decode_lim(m.data, m.len, &lim);
	after = maxrss_kib();
	if (d) {
		char want[160];

		CHECK_INT(d->quota, 32 * 1024 * 1024);
		/* amavisd: "...; last chunk N bytes", N the read that crossed */
		snprintf(want, sizeof(want),
			 "Exceeded storage quota %d bytes by do_unzip; last chunk ",
			 32 * 1024 * 1024);
		CHECK(d->hold != NULL && strncmp(d->hold, want, strlen(want)) == 0);
		CHECK(d->total_bytes <= d->quota);
		CHECK_INT(d->unchecked_minor, 2);
	}
	/* 1 GiB of zeros behind it; memory stays near the quota: the arena,
	   one member's heap copy, libarchive (and ASan's quarantine) */
	printf("bomb: message %zu bytes, maxrss +%ld KiB\n", m.len, after - before);
	CHECK(after - before < RSS_FACTOR * (2 * 32 * 1024 + 48 * 1024));
	mavis_buf_free(&m);
}

/* One zip member of 256 MiB zeros (its size declared) in a ~256 KB mail,
   against a 64 MiB quota. The member used to fill the quota in the arena,
   then a probe read moved it to a heap buffer twice its size: peak twice
   the quota. Measured in a child, whose maxrss starts afresh. */
static void
test_single_member_bomb(void)
{
	static unsigned char zeros[1024 * 1024];
	const uint64_t quota = 64 * 1024 * 1024;
	struct test_entry e = { "zeros.bin", zeros, sizeof(zeros), 0, 256 };
	struct mavis_buf z, m;
	int fds[2], status = 0;
	long peak_kib = -1;
	uint64_t held = 0, after_reset = 1;
	pid_t pid;

	CHECK(test_archive("zip", NULL, NULL, NULL, &e, 1, &z) == 0);
	test_mail_attachment(&m, "application/zip", "bomb.zip", z.data, z.len);
	mavis_buf_free(&z);
	CHECK(pipe(fds) == 0);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct mavis_decode_limits lim;
		struct mavis_decoded *d = NULL;
		struct mavis_error err;
		struct mavis_arena *a = mavis_arena_new(0);
		long before = maxrss_kib(), out[3];
		int rc;

		mavis_decode_limits_default(&lim);
		lim.max_expansion_quota = quota;
		lim.max_expansion_factor = 100000;
		rc = mavis_decode_message(m.data, m.len, &lim, a, &d, &err);
		out[0] = rc == 0 && d->hold != NULL && d->total_bytes <= quota ? maxrss_kib() - before
									       : -1;
		out[1] = (long)mavis_decode_memory_in_use();
		mavis_arena_free(&a);
		out[2] = (long)mavis_decode_memory_in_use();
		if (write(fds[1], out, sizeof(out)) != (ssize_t)sizeof(out))
			_exit(2);
		_exit(0);
	}
	close(fds[1]);
	if (pid > 0) {
		long in[3];

		if (read(fds[0], in, sizeof(in)) == (ssize_t)sizeof(in)) {
			peak_kib = in[0];
			held = (uint64_t)in[1];
			after_reset = (uint64_t)in[2];
		}
		waitpid(pid, &status, 0);
	}
	close(fds[0]);
	mavis_buf_free(&m);
	printf("single-member bomb: quota %llu KiB, maxrss +%ld KiB, budget held %llu KiB\n",
	       (unsigned long long)(quota / 1024), peak_kib, (unsigned long long)(held / 1024));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(peak_kib > 0);
	/* the quota, plus libmagic, GMime's copy of the mail, libarchive */
	CHECK(peak_kib < RSS_FACTOR * ((long)(quota / 1024) + 24 * 1024));
	/* the budget counts what is kept, and all of it goes with the arena */
	CHECK(held >= quota && held <= quota + 2 * 1024 * 1024);
	CHECK_INT(after_reset, 0);
}

/* decode_memory_limit is shared: a message still held in one arena leaves
   less for the next, which fails with MAVIS_ERR_RESOURCE (a tempfail), and
   succeeds once the first message's arena is gone. */
static void
test_memory_budget(void)
{
	static unsigned char noise[3 * 1024 * 1024];
	struct mavis_decode_limits lim;
	struct mavis_arena *a1 = mavis_arena_new(0), *a2 = mavis_arena_new(0);
	struct mavis_decoded *d1 = NULL, *d2 = NULL;
	struct mavis_error err = { 0 };
	struct mavis_buf m;
	uint32_t x = 12345;
	int rc;

	for (size_t i = 0; i < sizeof(noise); i++) {
		x = x * 1103515245u + 12345u;
		noise[i] = (unsigned char)(x >> 24);
	}
	test_mail_attachment(&m, "application/octet-stream", "noise.bin", noise, sizeof(noise));
	mavis_decode_limits_default(&lim);
	/* One message needs its encoded size (~4 MB) while it decodes and
	   keeps the 3 MB it decoded: one fits, a second beside it does not. */
	lim.memory_limit = 6 * 1024 * 1024;
	CHECK_INT(mavis_decode_memory_in_use(), 0);
	rc = mavis_decode_message(m.data, m.len, &lim, a1, &d1, &err);
	CHECK_INT(rc, 0);
	/* the decoded attachment stays reserved while its arena lives */
	CHECK(mavis_decode_memory_in_use() >= sizeof(noise));
	rc = mavis_decode_message(m.data, m.len, &lim, a2, &d2, &err);
	CHECK_INT(rc, MAVIS_ERR_RESOURCE);
	CHECK(d2 == NULL);
	CHECK(strstr(err.text, "decode_memory_limit") != NULL);
	mavis_arena_reset(a2);
	/* the failed call kept nothing */
	CHECK(mavis_decode_memory_in_use() >= sizeof(noise) &&
	      mavis_decode_memory_in_use() < 2 * sizeof(noise));
	mavis_arena_reset(a1);
	CHECK_INT(mavis_decode_memory_in_use(), 0);
	rc = mavis_decode_message(m.data, m.len, &lim, a2, &d2, &err);
	CHECK_INT(rc, 0);
	CHECK(d2 != NULL && d2->nparts >= 3);
	/* a limit below one message's needs fails it alone, every time */
	mavis_arena_reset(a2);
	lim.memory_limit = 1024 * 1024;
	CHECK_INT(mavis_decode_message(m.data, m.len, &lim, a2, &d2, &err), MAVIS_ERR_RESOURCE);
	mavis_arena_free(&a1);
	mavis_arena_free(&a2);
	CHECK_INT(mavis_decode_memory_in_use(), 0);
	mavis_buf_free(&m);
}

/* amavisd-new 2.13's ambiguous_content (Debian 12: MIME-tools 5.510, so
   its own regex path) on the same values: each expected count is what that
   Perl code gives for the field (m{^multipart/\w+(.+)}, then the \G loop),
   run on these strings with MIME::Parser; > 1 is ambiguous. */
static void
test_boundary_count(void)
{
	static const struct {
		const char *value;
		unsigned want;
	} c[] = {
		{ " multipart/mixed; boundary=\"AAA\"; boundary=\"BBB\"", 2 },
		{ " multipart/mixed; boundary=\"AAA\";\n boundary=\"BBB\"", 1 },	/* folded */
		{ " multipart/mixed;boundary=\"AAA\"; boundary=\"BBB\"", 0 },	/* no blank */
		{ " Multipart/Mixed; boundary=\"AAA\"; boundary=\"BBB\"", 0 },	/* case */
		{ " multipart/mixed;\n boundary=\"AAA\"; boundary=\"BBB\"", 0 },
		{ "\n multipart/mixed; boundary=\"AAA\"; boundary=\"BBB\"", 2 },
		{ " multipart/mixed; boundary=AAA; boundary=BBB", 2 },
		{ " multipart/mixed; boundary=A-A; boundary=BBB", 1 },		/* '-' stops */
		{ " multipart/mixed; charset=x; boundary=AAA; BOUNDARY=BBB", 2 },
		{ " multipart/mixed; boundary=\"A\\\"A\"; boundary=\"BBB\"", 2 },
		{ " multipart/mixed; boundary=\"A\\\\\"; boundary=\"BBB\"", 2 },
		{ " multipart/mixed; boundary=\"AAA\" ; boundary=\"BBB\"", 1 },
		{ " multipart/mixed;  boundary=\"AAA\";\tboundary=\"BBB\"", 2 },
		{ " multipart/mixed; boundary=\"AAA\"; x-y=1; boundary=\"BBB\"", 1 },
		{ " multipart/mixed; boundary=\"AAA\"; boundary*=\"BBB\"", 1 },
		{ " multipart/mixed; boundary=\"AAA\"", 1 },
		{ " multipart/mixed", 0 },
		{ " multipart/; boundary=\"AAA\"; boundary=\"BBB\"", 0 },
		{ " multipart/mixed; boundary=\"AAA\"; boundary=\"BBB\"; boundary=CCC", 3 },
		{ " multipart/mixed; boundary=\"\"; boundary=\"\"", 2 },
		{ " text/plain; boundary=\"AAA\"; boundary=\"BBB\"", 0 },
		{ " multipart/mixed; boundary=\"AAA\"; boundary=\"BBB\r\n", 1 },	/* unclosed */
		{ " multipart/mixed; boundary=\"AAA\"; boundary=\"B\\", 1 },
		{ "", 0 },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		test_current = c[i].value;
		CHECK_INT(mavis_dec_boundary_count(c[i].value, strlen(c[i].value)), c[i].want);
	}
	test_current = "boundary_count";
}

static void
test_ambiguous_boundary(void)
{
	const struct mavis_decoded *d = decode(
		"From: a@b\nMIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=\"AAA\"; boundary=\"BBB\"\n\n"
		"--AAA\nContent-Type: text/plain\n\nfirst\n--BBB\nContent-Type: text/plain\n\n"
		"second\n--BBB--\n--AAA--\n");

	if (d == NULL)
		return;
	CHECK_INT(d->parts[d->nparts - 1]->attrs, MAVIS_PART_AMBIGUOUS);
	CHECK_INT(d->unchecked, MAVIS_UNCHECKED_BIT(0) | MAVIS_UNCHECKED_BIT(3));
	CHECK_INT(d->unchecked_minor, 3);
	CHECK(d->hold == NULL);

	/* the second boundary on a continuation line: amavisd's regex reads
	   the first line only, so not ambiguous there */
	d = decode("From: a@b\nMIME-Version: 1.0\n"
		   "Content-Type: multipart/mixed; boundary=\"AAA\";\n boundary=\"BBB\"\n\n"
		   "--AAA\nContent-Type: text/plain\n\nfirst\n--AAA--\n");
	if (d)
		CHECK_INT(d->unchecked, 0);

	/* one boundary, RFC 2231 continuation: not ambiguous */
	d = decode("From: a@b\nContent-Type: multipart/mixed; boundary*0=\"A\"; boundary*1=\"A\"\n\n"
		   "--AA\nContent-Type: text/plain\n\nx\n--AA--\n");
	if (d)
		CHECK_INT(d->unchecked, 0);

	/* two Content-Type fields, two Content-Transfer-Encoding fields that
	   disagree: duplicate header fields (BAD-HEADER-8), not ambiguous
	   content, for amavisd */
	d = decode("From: a@b\nContent-Type: text/plain\nContent-Type: text/html\n\nx\n");
	if (d)
		CHECK_INT(d->unchecked, 0);
	d = decode("From: a@b\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n"
		   "Content-Transfer-Encoding: 7bit\n\naGVsbG8=\n");
	if (d)
		CHECK_INT(d->unchecked, 0);

	/* a leaf part with two boundary parameters: only multiparts count */
	d = decode("From: a@b\nContent-Type: text/plain; boundary=\"A\"; boundary=\"B\"\n\nx\n");
	if (d)
		CHECK_INT(d->unchecked, 0);

	/* a nested multipart is checked too */
	d = decode("From: a@b\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"O\"\n\n"
		   "--O\nContent-Type: multipart/alternative; boundary=\"I\"; boundary=\"J\"\n\n"
		   "--I\nContent-Type: text/plain\n\nx\n--I--\n--O--\n");
	if (d)
		CHECK_INT(d->unchecked_minor, 3);
}

static void
test_names(void)
{
	const struct mavis_decoded *d;
	const struct mavis_part *p;
	struct test_entry e[] = { { "bad\xff\xfe.exe", "x", 1, 0, 0 } };
	struct mavis_buf z, m;

	/* raw Latin-1 in a filename: read as Latin-1, like amavisd */
	d = decode("From: a@b\nContent-Type: application/octet-stream\n"
		   "Content-Disposition: attachment; filename=\"caf\xe9.exe\"\n\nxx\n");
	if (d) {
		p = d->parts[0];
		CHECK(has_name(p, "caf\xc3\xa9.exe"));
	}
	/* RFC 2231 and a conflicting plain filename: both are kept */
	d = decode("From: a@b\nContent-Type: application/octet-stream\n"
		   "Content-Disposition: attachment; filename=\"harmless.txt\";\n"
		   " filename*=utf-8''evil%2Eexe\n\nxx\n");
	if (d) {
		p = d->parts[0];
		CHECK(has_name(p, "harmless.txt"));
		CHECK(has_name(p, "evil.exe"));
	}
	/* RFC 2047 in a quoted name: decoded, and the raw form as amavisd keeps */
	d = decode("From: a@b\nContent-Type: application/octet-stream;\n"
		   " name=\"=?utf-8?B?w6l2aWwuZXhl?=\"\n\nxx\n");
	if (d) {
		p = d->parts[0];
		CHECK(has_name(p, "\xc3\xa9vil.exe"));
		CHECK(has_name(p, "=?utf-8?B?w6l2aWwuZXhl?="));
	}
	/* a zip member name that is not UTF-8 */
	CHECK(test_archive("zip", NULL, NULL, NULL, e, 1, &z) == 0);
	test_mail_attachment(&m, "application/zip", "n.zip", z.data, z.len);
	d = decode(m.data);
	mavis_buf_free(&m);
	mavis_buf_free(&z);
	if (d)
		CHECK(by_name(d, "bad\xc3\xbf\xc3\xbe.exe") != NULL);
}

static void
test_damaged_input(void)
{
	static const char msg_nul[] = "From: a@b\nSubj\0ect: x\nContent-Type: text/plain\n\nbody\0with nul\n";
	const struct mavis_decoded *d;
	struct mavis_buf m = { 0 }, z;
	struct test_entry e[] = { { "t.txt", "0123456789abcdef", 16, 0, 200 } };

	/* truncated base64: what decodes is kept, no error */
	d = decode("From: a@b\nContent-Type: application/octet-stream; name=t.bin\n"
		   "Content-Transfer-Encoding: base64\n\naGVsbG8gd29ybG");
	if (d) {
		CHECK_INT(d->nparts, 1);
		CHECK(d->parts[0]->len >= 8 && memcmp(d->parts[0]->data, "hello wo", 8) == 0);
	}
	/* NUL bytes in header and body */
	d = decode_lim(msg_nul, sizeof(msg_nul) - 1, NULL);
	if (d)
		CHECK(d->nparts >= 1);
	/* empty message: one empty part */
	d = decode_lim("", 0, NULL);
	if (d) {
		CHECK_INT(d->nparts, 1);
		CHECK_STR(d->parts[0]->short_type, "empty");
	}
	/* no header at all: one part with every byte, and a MIME error */
	d = decode("just text\nno header\n");
	if (d) {
		CHECK_INT(d->nparts, 1);
		CHECK_INT(d->parts[0]->len, 20);
		CHECK(d->mime_error != NULL);
	}
	/* missing closing boundary: MIME::Parser's error text */
	d = decode("From: a@b\nContent-Type: multipart/mixed; boundary=q\n\n--q\n\nx\n");
	if (d)
		CHECK_STR(d->mime_error, "unexpected end of parts before epilogue");
	/* a chopped-off zip: the members before the cut are found */
	CHECK(test_archive("zip", NULL, NULL, NULL, e, 1, &z) == 0);
	test_mail_attachment(&m, "application/zip", "cut.zip", z.data, z.len - 60);
	mavis_buf_free(&z);
	d = decode(m.data);
	mavis_buf_free(&m);
	if (d) {
		const struct mavis_part *p = by_name(d, "t.txt");

		CHECK(p != NULL);
		CHECK(by_name(d, "cut.zip")->scan);
	}
	/* A gzip that is not one: amavisd's unpacker fails and decompose_part
	   leaves the part as it is ("Decoding of p001 (gzip compressed data,
	   ...) failed, leaving it unpacked"): scanned, not undecipherable. */
	d = decode("From: a@b\nContent-Type: application/gzip; name=x.gz\n"
		   "Content-Transfer-Encoding: base64\n\nH4sIAAAAAAAAA////w==\n");
	if (d) {
		CHECK_INT(d->parts[0]->attrs & MAVIS_PART_UNDECIPHERABLE, 0);
		CHECK_INT(d->unchecked, 0);
		CHECK(d->parts[0]->scan);
	}
	/* the damaged archives amavisd-new 2.13 (7z 16.02, Debian 12) passed
	   CLEAN in bench/ccat-agree: a 7z signature and a zip cut in a member
	   (the member read fails) */
	{
		static const char *const kind[] = { "7z", "zip" };
		unsigned char junk[3000];
		unsigned x = 7;

		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (unsigned char)((x = x * 1103515245u + 12345u) >> 16);
		for (size_t k = 0; k < 2; k++) {
			struct mavis_buf a = { 0 };

			if (k == 0) {
				mavis_buf_append(&a, "7z\xbc\xaf\x27\x1c\x00\x04", 8);
				mavis_buf_append(&a, junk, sizeof(junk));
			} else {
				struct test_entry big[] = { { "t.txt", junk, sizeof(junk), 0, 4 } };

				CHECK(test_archive("zip", NULL, NULL, NULL, big, 1, &a) == 0);
				a.len /= 2;
			}
			test_mail_attachment(&m, k == 0 ? "application/x-7z-compressed" : "application/zip",
					     k == 0 ? "x.7z" : "x.zip", a.data, a.len);
			mavis_buf_free(&a);
			d = decode(m.data);
			mavis_buf_free(&m);
			test_current = kind[k];
			if (d) {
				CHECK_INT(d->unchecked, 0);
				for (size_t i = 0; i < d->nparts; i++)
					CHECK_INT(d->parts[i]->attrs & MAVIS_PART_UNDECIPHERABLE, 0);
			}
		}
		test_current = "damaged_input";
	}
}

static void
test_crlf_and_preamble(void)
{
	const char *lf = "From: a@b\nContent-Type: multipart/mixed; boundary=b\n\n"
			 "This is a multi-part message in MIME format.\n\n"
			 "--b\nContent-Type: text/plain\n\nx\n--b--\n";
	const char *crlf = "From: a@b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
			   "This is a multi-part message in MIME format.\r\n\r\n"
			   "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n";
	const char *odd = "From: a@b\nContent-Type: multipart/mixed; boundary=b\n\n"
			  "<script>alert(1)</script>\n"
			  "--b\nContent-Type: text/plain\n\nx\n--b--\n1\n2\n3\n4\n5\n6\n";
	const struct mavis_decoded *d;

	d = decode(lf);
	if (d)
		CHECK_INT(d->nparts, 2);	/* a plain preamble is dropped */
	d = decode(crlf);
	if (d) {
		CHECK_INT(d->nparts, 2);
		CHECK_STR(d->parts[1]->mime_type, "multipart/mixed");
	}
	d = decode(odd);
	if (d) {
		const struct mavis_part *pre = by_name(d, "preamble");
		const struct mavis_part *epi = by_name(d, "epilogue");

		CHECK(pre != NULL && epi != NULL);
		if (pre && epi) {
			/* siblings of the multipart, numbered before it */
			CHECK(pre->parent == NULL && pre->mime_type == NULL);
			CHECK_STR(pre->placement, "1");
			CHECK(pre->id == 2 && d->parts[2]->mime_type &&
			      strcmp(d->parts[2]->mime_type, "multipart/mixed") == 0 && epi->id == 4);
		}
	}
}

/* Inputs the fuzzer found once: they must decode without trouble. */
static void
test_fuzz_regressions(void)
{
	const char *dir = test_data_path("decode");
	DIR *dh = opendir(dir);
	struct dirent *de;
	unsigned n = 0;

	if (dh == NULL) {
		test_fail(__FILE__, __LINE__, "no %s", dir);
		return;
	}
	while ((de = readdir(dh)) != NULL) {
		char path[1024];
		FILE *f;
		struct mavis_buf b = { 0 };
		char chunk[4096];
		size_t k;
		struct mavis_decode_limits lim;

		if (strncmp(de->d_name, "fuzz-", 5) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "rb");
		if (f == NULL)
			continue;
		while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0)
			mavis_buf_append(&b, chunk, k);
		fclose(f);
		/* the fuzzer's limits */
		mavis_decode_limits_default(&lim);
		lim.max_levels = 6;
		lim.max_files = 64;
		lim.max_expansion_quota = 4 * 1024 * 1024;
		test_current = de->d_name;
		CHECK(decode_lim(b.data ? b.data : "", b.len, &lim) != NULL);
		mavis_buf_free(&b);
		n++;
	}
	closedir(dh);
	test_current = "test_fuzz_regressions";
	printf("fuzz regressions: %u inputs\n", n);
}

int
main(void)
{
	arena = mavis_arena_new(0);
	/* first, so that the peak RSS it measures is its own */
	TEST_RUN(test_expansion_bomb);
	mavis_arena_reset(arena);
	TEST_RUN(test_single_member_bomb);
	TEST_RUN(test_memory_budget);
	TEST_RUN(test_limits_and_quota);
	TEST_RUN(test_short_types);
	TEST_RUN(test_filetype_pool);
	TEST_RUN(test_filetype_text_fast);
	TEST_RUN(test_base64_qp_attachments);
	TEST_RUN(test_uuencode);
	TEST_RUN(test_nested_rfc822);
	TEST_RUN(test_zip_in_zip);
	TEST_RUN(test_tar_gz_7z);
	TEST_RUN(test_encrypted_zip);
	TEST_RUN(test_encrypted_7z);
	TEST_RUN(test_max_levels);
	mavis_arena_reset(arena);
	TEST_RUN(test_many_entries);
	mavis_arena_reset(arena);
	TEST_RUN(test_boundary_count);
	TEST_RUN(test_ambiguous_boundary);
	TEST_RUN(test_names);
	TEST_RUN(test_damaged_input);
	TEST_RUN(test_crlf_and_preamble);
	TEST_RUN(test_fuzz_regressions);
	mavis_arena_free(&arena);
	/* every reservation went back with its arena */
	test_current = "budget_balance";
	CHECK_INT(mavis_decode_memory_in_use(), 0);
	mavis_decode_thread_done();
	return test_exit();
}
