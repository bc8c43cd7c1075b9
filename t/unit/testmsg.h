/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_TEST_TESTMSG_H
#define MAVIS_TEST_TESTMSG_H

/*
 * Test data built at run time: MIME messages, base64, and archives written
 * with libarchive's writer into memory. No binary files in git. Header-only
 * (static inline) so that each test program takes what it uses.
 */

#include <archive.h>
#include <archive_entry.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/alloc.h>
#include <mavis/buf.h>

struct test_entry {
	const char *name;
	const void *data;
	size_t len;
	unsigned type;		/* AE_IFREG when 0 */
	size_t repeat;		/* write data this many times (0 = once) */
};

static inline la_ssize_t
test_ar_write_cb(struct archive *a, void *ud, const void *buf, size_t n)
{
	(void)a;
	mavis_buf_append(ud, buf, n);
	return (la_ssize_t)n;
}

/* Write entries as format ("zip", "7zip", "ustar", "cpio", ...), with an
   optional filter ("gzip", NULL) and writer options ("zip:encryption=
   zipcrypt", NULL) and passphrase. The result is in *out (heap buffer). */
static inline int
test_archive(const char *format, const char *filter, const char *options,
	     const char *passphrase, const struct test_entry *ents, size_t n,
	     struct mavis_buf *out)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (archive_write_set_format_by_name(a, format) != ARCHIVE_OK ||
	    (filter && archive_write_add_filter_by_name(a, filter) != ARCHIVE_OK) ||
	    (options && archive_write_set_options(a, options) != ARCHIVE_OK) ||
	    (passphrase && archive_write_set_passphrase(a, passphrase) != ARCHIVE_OK))
		rc = -1;
	/* byte-exact sizes: no block padding for tar */
	archive_write_set_bytes_in_last_block(a, 1);
	if (rc == 0 && archive_write_open(a, out, NULL, test_ar_write_cb, NULL) != ARCHIVE_OK)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		size_t times = ents[i].repeat ? ents[i].repeat : 1;

		archive_entry_clear(e);
		archive_entry_set_pathname(e, ents[i].name);
		archive_entry_set_filetype(e, ents[i].type ? ents[i].type : AE_IFREG);
		archive_entry_set_perm(e, 0644);
		if (ents[i].type == AE_IFLNK)
			archive_entry_set_symlink(e, "target");
		if (!ents[i].type || ents[i].type == AE_IFREG)
			archive_entry_set_size(e, (la_int64_t)(ents[i].len * times));
		if (archive_write_header(a, e) != ARCHIVE_OK)
			rc = -1;
		for (size_t t = 0; rc == 0 && ents[i].len && t < times; t++)
			if (archive_write_data(a, ents[i].data, ents[i].len) < 0)
				rc = -1;
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		rc = -1;
	archive_entry_free(e);
	archive_write_free(a);
	return rc;
}

static inline void
test_base64(struct mavis_buf *b, const void *data, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = data;
	size_t col = 0;

	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)s[i] << 16;
		size_t left = len - i;

		if (left > 1)
			v |= (unsigned)s[i + 1] << 8;
		if (left > 2)
			v |= s[i + 2];
		mavis_buf_putc(b, tab[v >> 18 & 63]);
		mavis_buf_putc(b, tab[v >> 12 & 63]);
		mavis_buf_putc(b, left > 1 ? tab[v >> 6 & 63] : '=');
		mavis_buf_putc(b, left > 2 ? tab[v & 63] : '=');
		if ((col += 4) >= 76) {
			mavis_buf_putc(b, '\n');
			col = 0;
		}
	}
	if (col)
		mavis_buf_putc(b, '\n');
}

/* A message with one base64 attachment of type ctype named name. */
static inline void
test_mail_attachment(struct mavis_buf *m, const char *ctype, const char *name,
		     const void *data, size_t len)
{
	memset(m, 0, sizeof(*m));
	mavis_buf_printf(m,
			 "From: a@example.org\nTo: b@example.org\nSubject: test\n"
			 "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"=b=\"\n\n"
			 "--=b=\nContent-Type: text/plain\n\nsee attachment\n"
			 "--=b=\nContent-Type: %s; name=\"%s\"\n"
			 "Content-Disposition: attachment; filename=\"%s\"\n"
			 "Content-Transfer-Encoding: base64\n\n",
			 ctype, name, name);
	test_base64(m, data, len);
	mavis_buf_puts(m, "--=b=--\n");
}

/* A minimal PE32 GUI executable (dll: a DLL) that libmagic recognises. */
static inline size_t
test_pe(unsigned char *out, size_t size, int dll)
{
	size_t n = 0x40 + 24 + 0xe0 + 40 + 200;

	if (size < n)
		return 0;
	memset(out, 0, n);
	out[0] = 'M', out[1] = 'Z', out[2] = 0x90;
	out[0x3c] = 0x40;
	memcpy(out + 0x40, "PE\0\0", 4);
	out[0x44] = 0x4c, out[0x45] = 0x01;		/* i386 */
	out[0x46] = 1;					/* one section */
	out[0x54] = 0xe0;				/* optional header size */
	out[0x56] = 0x02, out[0x57] = dll ? 0x21 : 0x01;	/* characteristics */
	out[0x58] = 0x0b, out[0x59] = 0x01;		/* PE32 magic */
	out[0x58 + 68] = 2;				/* GUI subsystem */
	memcpy(out + 0x58 + 0xe0, ".text", 5);
	return n;
}

#endif
