/* SPDX-License-Identifier: GPL-2.0-or-later */
/* archive.c - archives and compressed files unpacked in memory (libarchive) */

/*
 * amavisd runs external unpackers (7z, unrar, cabextract, ...) on files in a
 * temp directory. Here libarchive reads the part's bytes from memory and
 * every member goes straight into the arena: no files, no path traversal, no
 * child processes. Formats are enabled per short type, never "all": that
 * would bring in mtree (which reads files named in the archive) and filters
 * that run external programs (lzop, lrzip, grzip).
 *
 * Bounds: members are read in chunks of at most CHUNK bytes, never more
 * than what is left of the storage quota, into a block reserved from the
 * decoding memory budget before it is allocated, so an expansion bomb stops
 * at the quota with no copy of it; member and level counts are checked before a
 * member is read (mavis_dec_part_new).
 */

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mavis/alloc.h>
#include <mavis/log.h>

#include "decode/decode_int.h"

#define CHUNK (64 * 1024)
#define MAX_FAILED 16	/* unreadable entry headers before giving up */

/* How a decoder sets up a libarchive reader. */
enum setup {
	SETUP_ZIP,		/* seekable zip (reads the central directory) */
	SETUP_ZIP_STREAM,	/* local headers only: truncated zips */
	SETUP_7Z,
	SETUP_RAR,
	SETUP_TAR,
	SETUP_CPIO,
	SETUP_ISO,
	SETUP_CAB,
	SETUP_LHA,
	SETUP_AR,
	SETUP_RPM,
	SETUP_SFX,		/* self-extracting executables */
	SETUP_GZ,		/* single-file compressors: filter + raw */
	SETUP_BZ2,
	SETUP_XZ,
	SETUP_LZMA,
	SETUP_Z,
	SETUP_LZ4,
	SETUP_ZST,
};

struct decoder {
	const char *types[3];	/* short types it takes (amavisd @decoders) */
	enum setup setup;
	const char *whom;	/* amavisd's decoder name, for the quota hold text */
	const char *suffix;	/* raw: name suffix to strip ("gz") */
};

/* In amavisd's @decoders order; the first decoder taking any of a part's
   short types wins. */
static const struct decoder decoders[] = {
	{ { "Z" }, SETUP_Z, "do_uncompress", "Z" },
	{ { "gz" }, SETUP_GZ, "do_gunzip", "gz" },
	{ { "bz2" }, SETUP_BZ2, "do_uncompress", "bz2" },
	{ { "xz" }, SETUP_XZ, "do_uncompress", "xz" },
	{ { "lzma" }, SETUP_LZMA, "do_uncompress", "lzma" },
	{ { "lz4" }, SETUP_LZ4, "do_uncompress", "lz4" },
	{ { "rpm" }, SETUP_RPM, "do_pax_cpio", NULL },
	{ { "cpio" }, SETUP_CPIO, "do_pax_cpio", NULL },
	{ { "tar" }, SETUP_TAR, "do_pax_cpio", NULL },
	{ { "deb", "a" }, SETUP_AR, "do_ar", NULL },
	{ { "rar" }, SETUP_RAR, "do_unrar", NULL },
	{ { "cab" }, SETUP_CAB, "do_cabextract", NULL },
	{ { "zip", "kmz" }, SETUP_ZIP, "do_unzip", NULL },
	{ { "7z" }, SETUP_7Z, "do_7zip", NULL },
	{ { "iso" }, SETUP_ISO, "do_7zip", NULL },
	{ { "lha" }, SETUP_LHA, "do_7zip", NULL },
	{ { "exe" }, SETUP_SFX, "do_executable", NULL },
	{ { "zst" }, SETUP_ZST, "do_uncompress", "zst" },
};

static bool
is_raw(enum setup s)
{
	return s >= SETUP_GZ;
}

static void
setup_reader(struct archive *a, enum setup s)
{
	switch (s) {
	case SETUP_ZIP: archive_read_support_format_zip_seekable(a); break;
	case SETUP_ZIP_STREAM: archive_read_support_format_zip_streamable(a); break;
	case SETUP_7Z: archive_read_support_format_7zip(a); break;
	case SETUP_RAR:
		archive_read_support_format_rar(a);
		archive_read_support_format_rar5(a);
		break;
	case SETUP_TAR: archive_read_support_format_tar(a); break;
	case SETUP_CPIO: archive_read_support_format_cpio(a); break;
	case SETUP_ISO: archive_read_support_format_iso9660(a); break;
	case SETUP_CAB: archive_read_support_format_cab(a); break;
	case SETUP_LHA: archive_read_support_format_lha(a); break;
	case SETUP_AR: archive_read_support_format_ar(a); break;
	case SETUP_RPM:
		archive_read_support_filter_rpm(a);
		archive_read_support_format_cpio(a);
		break;
	case SETUP_SFX:
		archive_read_support_format_zip_seekable(a);
		archive_read_support_format_7zip(a);
		archive_read_support_format_rar(a);
		archive_read_support_format_rar5(a);
		archive_read_support_format_cab(a);
		archive_read_support_format_lha(a);
		break;
	case SETUP_GZ: archive_read_support_filter_gzip(a); break;
	case SETUP_BZ2: archive_read_support_filter_bzip2(a); break;
	case SETUP_XZ: archive_read_support_filter_xz(a); break;
	case SETUP_LZMA: archive_read_support_filter_lzma(a); break;
	case SETUP_Z: archive_read_support_filter_compress(a); break;
	case SETUP_LZ4: archive_read_support_filter_lz4(a); break;
	case SETUP_ZST: archive_read_support_filter_zstd(a); break;
	}
	if (is_raw(s))
		archive_read_support_format_raw(a);
}

static const struct decoder *
find_decoder(const struct mavis_dec_part *p)
{
	for (size_t i = 0; i < sizeof(decoders) / sizeof(decoders[0]); i++)
		for (size_t k = 0; k < 3 && decoders[i].types[k]; k++)
			for (unsigned t = 0; t < p->pub.nshort_types; t++)
				if (strcmp(p->types[t], decoders[i].types[k]) == 0)
					return &decoders[i];
	return NULL;
}

/* Member names come out of libarchive in the thread's locale; mavisd may run
   in "C", where every non-ASCII name would be lost. C.UTF-8 is set for this
   thread only while an archive is read (uselocale, not setlocale). */
static locale_t utf8_locale;
static pthread_once_t locale_once = PTHREAD_ONCE_INIT;

static void
locale_init(void)
{
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* Did the last failure come from encryption? opened: a format was chosen
   (archive_read_has_encrypted_entries() calls through the format and
   crashes in libarchive 3.6 when the open failed). */
static bool
encryption_error(struct archive *a, bool opened)
{
	const char *e = archive_error_string(a);

	return (opened && archive_read_has_encrypted_entries(a) > 0) ||
	       (e != NULL && (strcasestr(e, "encrypt") != NULL || strcasestr(e, "passphrase") != NULL ||
			      strcasestr(e, "password") != NULL));
}

/* A zip entry whose name libarchive could not convert (flagged UTF-8 but not
   UTF-8): take the raw name from the local header at the entry's offset. */
static void
zip_raw_name(struct mavis_dec *d, struct mavis_dec_part *m, const struct mavis_dec_part *zip,
	     struct archive *a)
{
	la_int64_t pos = archive_read_header_position(a);
	const unsigned char *s = zip->pub.data;
	size_t len = zip->pub.len, off, nl;

	if (pos < 0 || (uint64_t)pos > len || len - (size_t)pos < 30)
		return;
	off = (size_t)pos;
	if (memcmp(s + off, "PK\003\004", 4) != 0)
		return;
	nl = (size_t)s[off + 26] | (size_t)s[off + 27] << 8;
	if (nl > len - off - 30)
		return;
	mavis_dec_add_name(d, m, (const char *)s + off + 30, nl);
}

/* amavisd do_uncompress: the name libmagic read from a gzip header
   ('was "x.txt"'), then each declared name without the compressor's
   suffix (".tgz" -> ".tar"). */
static void
raw_names(struct mavis_dec *d, struct mavis_dec_part *m, const struct mavis_dec_part *p,
	  const char *suffix)
{
	const char *was = p->pub.full_type ? strstr(p->pub.full_type, ", was \"") : NULL;

	if (was != NULL) {
		const char *q = strchr(was + 7, '"');

		if (q != NULL)
			mavis_dec_add_name(d, m, was + 7, (size_t)(q - (was + 7)));
	}
	for (unsigned i = 0; i < p->pub.nnames; i++) {
		const char *n = p->names[i];
		size_t nl = strlen(n), sl = strlen(suffix);
		char tz[8];

		if (nl > sl + 1 && n[nl - sl - 1] == '.' && strcasecmp(n + nl - sl, suffix) == 0) {
			mavis_dec_add_name(d, m, n, nl - sl - 1);
			continue;
		}
		/* .tgz .tbz .tbz2 .txz .tlz .taz: a tar inside */
		snprintf(tz, sizeof(tz), ".t%s", strcmp(suffix, "lzma") == 0 ? "lz"
						 : strcmp(suffix, "Z") == 0	  ? "az"
						 : suffix);
		if (nl > strlen(tz) && strcasecmp(n + nl - strlen(tz), tz) == 0) {
			char *t = mavis_arena_printf(d->arena, "%.*s.tar",
						     (int)(nl - strlen(tz)), n);

			mavis_dec_add_name(d, m, t, strlen(t));
			continue;
		}
		mavis_dec_add_name(d, m, n, nl);
	}
}

/* Read one member's data, chunk by chunk against the quota. Returns 0 when
   read (or stopped by the quota hold), -1 on a read error (member U),
   negative status on environment failure or a spent memory budget. */
static int
read_member(struct mavis_dec *d, struct archive *a, struct mavis_dec_part *m,
	    la_int64_t declared, const char *whom, bool *fatal_archive)
{
	uint64_t left = d->charged < d->quota ? d->quota - d->charged : 0;
	unsigned char *buf;
	size_t len = 0, cap, reserved;
	int status = 0, rc;

	/* Room for the declared size (zip, 7z, tar...) capped by the quota,
	   else a few chunks, reserved from the budget up front: a member
	   either gets what it may need or fails at once, so that concurrent
	   bombs do not all starve each other halfway. What is not used goes
	   back when the member ends. The block is malloc'd, not arena memory,
	   so that growing it is a realloc (glibc remaps large blocks, no
	   copy) and a size that lies costs address space only. */
	cap = declared >= 0 ? (size_t)((uint64_t)declared < left ? (uint64_t)declared : left)
			    : 4 * CHUNK;
	cap += 1;
	reserved = cap;
	buf = mavis_dec_heap(d, cap);
	if (buf == NULL)
		return d->fatal;
	for (;;) {
		unsigned char probe[4096];
		size_t room = cap - 1 - len, want;
		la_ssize_t n;

		left = d->charged < d->quota ? d->quota - d->charged : 0;
		if (left == 0) {
			/* Quota spent: one small read on the stack tells a
			   member that ends here from one that has more (the
			   hold, with amavisd's "last chunk" text). */
			n = archive_read_data(a, probe, sizeof(probe));
			if (n > 0) {
				mavis_dec_charge(d, (uint64_t)n, false, whom);
				break;	/* hold set: keep what was read before */
			}
		} else {
			if (room == 0) {
				size_t grow = len < 4 * CHUNK ? 4 * CHUNK : len;
				unsigned char *nb;

				if (grow > left)
					grow = (size_t)left;
				if (mavis_dec_reserve(d, grow) < 0) {
					status = d->fatal;
					break;
				}
				reserved += grow;
				nb = mavis_dec_heap_grow(d, buf, len + grow + 1);
				if (nb == NULL) {
					status = d->fatal;
					break;
				}
				buf = nb;
				cap = len + grow + 1;
				room = grow;
			}
			/* No read writes more than the quota has left: the
			   bytes are charged before they exist. */
			want = room < CHUNK ? room : CHUNK;
			if (want > left)
				want = (size_t)left;
			n = archive_read_data(a, buf + len, want);
		}
		if (n == 0)
			break;
		if (n < 0) {
			/* Only a password makes it undecipherable: a damaged
			   member is what amavisd's unpackers leave as it is */
			if (encryption_error(a, true))
				m->pub.attrs |= MAVIS_PART_UNDECIPHERABLE | MAVIS_PART_ENCRYPTED;
			if (n == ARCHIVE_FATAL)
				*fatal_archive = true;
			status = -1;
			break;
		}
		mavis_dec_charge(d, (uint64_t)n, false, whom);	/* n <= left: fits */
		len += (size_t)n;
	}
	if (status < -1) {
		free(buf);
		mavis_dec_unreserve(d, reserved);
		return status;
	}
	rc = mavis_dec_take_data(d, m, buf, len, reserved);
	return rc < 0 ? rc : status;
}

/* One pass over an archive. Returns the number of members made, -1 when the
   archive could not be opened (nothing made), or a negative status below
   -1 on environment failure (from d->fatal). */
static long
unpack(struct mavis_dec *d, struct mavis_dec_part *p, const struct decoder *dec,
       enum setup setup)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	long made = 0;
	unsigned idx = 0, failed = 0;
	bool fatal_archive = false;

	setup_reader(a, setup);
	if (archive_read_open_memory(a, p->pub.data, p->pub.len) != ARCHIVE_OK ||
	    (is_raw(setup) && archive_filter_count(a) < 2)) {
		/* raw accepts anything: require that the filter matched */
		if (setup != SETUP_SFX && encryption_error(a, false))
			p->pub.attrs |= MAVIS_PART_ENCRYPTED;
		archive_read_free(a);
		return -1;
	}
	while (!d->stopped) {
		struct mavis_dec_part *m;
		int rc = archive_read_next_header(a, &e);
		mode_t type;

		if (rc == ARCHIVE_EOF)
			break;
		if (rc == ARCHIVE_FATAL && idx == 0 && !encryption_error(a, true)) {
			archive_read_free(a);
			return -1;	/* not this format after all */
		}
		if (rc == ARCHIVE_FATAL || (rc == ARCHIVE_FAILED && ++failed > MAX_FAILED)) {
			/* amavisd: encrypted headers give the archive U and C;
			   damage ends the listing, the archive stays a part */
			if (encryption_error(a, true))
				p->pub.attrs |= MAVIS_PART_UNDECIPHERABLE | MAVIS_PART_ENCRYPTED;
			p->retained = true;
			break;
		}
		idx++;
		if (rc == ARCHIVE_FAILED) {
			/* This entry is unreadable; the next may be fine. */
			p->retained = true;
			continue;
		}
		m = mavis_dec_part_new(d, p->pub.level + 1, MAVIS_DEC_PSEUDO);
		if (m == NULL)
			break;
		made++;
		mavis_dec_link(d, m, p);
		m->pub.placement = mavis_dec_placement(d, p->pub.placement, idx);
		if (is_raw(setup)) {
			raw_names(d, m, p, dec->suffix);
		} else {
			const char *name = archive_entry_pathname_utf8(e);

			if (name == NULL)
				name = archive_entry_pathname(e);
			if (name != NULL)
				mavis_dec_add_name(d, m, name, strlen(name));
			else if (setup == SETUP_ZIP || setup == SETUP_ZIP_STREAM)
				zip_raw_name(d, m, p, a);
		}
		type = archive_entry_filetype(e);
		if (type == AE_IFDIR) {
			m->pub.attrs |= MAVIS_PART_DIR;
		} else if (type == AE_IFLNK || archive_entry_hardlink(e) != NULL) {
			m->pub.attrs |= MAVIS_PART_SYMLINK;
		} else if (type != AE_IFREG && type != 0) {
			m->pub.attrs |= MAVIS_PART_SPECIAL;
		} else if (archive_entry_is_data_encrypted(e) > 0 ||
			   archive_entry_is_encrypted(e) > 0) {
			/* amavisd do_unzip/do_7zip: member U and C, archive kept */
			m->pub.attrs |= MAVIS_PART_UNDECIPHERABLE | MAVIS_PART_ENCRYPTED;
			p->retained = true;
		} else {
			la_int64_t declared =
				archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
			int r = read_member(d, a, m, declared, dec->whom, &fatal_archive);

			if (r < -1 || d->fatal < 0) {
				archive_read_free(a);
				return d->fatal < 0 ? d->fatal : r;
			}
			/* amavisd keeps the original on errors and, against zip
			   exploits, when a member is empty */
			if (r == -1 || m->pub.len == 0)
				p->retained = true;
			if (fatal_archive)
				break;
		}
	}
	archive_read_free(a);
	return made;
}

int
mavis_dec_archive(struct mavis_dec *d, struct mavis_dec_part *p)
{
	const struct decoder *dec = find_decoder(p);
	locale_t old = (locale_t)0;
	long made;

	if (dec == NULL)
		return 0;
	pthread_once(&locale_once, locale_init);
	if (utf8_locale != (locale_t)0)
		old = uselocale(utf8_locale);
	made = unpack(d, p, dec, dec->setup);
	if (made == -1 && dec->setup == SETUP_ZIP && !(p->pub.attrs & MAVIS_PART_ENCRYPTED)) {
		/* No central directory (a chopped-off zip): read the local
		   headers. What was cut off is unknown, so scanners also get
		   the original. */
		made = unpack(d, p, dec, SETUP_ZIP_STREAM);
		if (made >= 0)
			p->retained = true;
	}
	if (old != (locale_t)0)
		uselocale(old);
	if (made < -1)
		return (int)made;
	if (made == -1) {
		/* Not readable as the type libmagic named. amavisd's
		   decompose_part catches the unpacker's failure and logs
		   "Decoding of pNNN (...) failed, leaving it unpacked": the
		   part stays a leaf, scanned and banned-checked as it is, and
		   is not undecipherable (a damaged zip, gzip, 7z or tar is
		   CLEAN there; only a password, above, is UNCHECKED). */
		if (dec->setup != SETUP_SFX)
			p->retained = true;
		if (p->pub.attrs & MAVIS_PART_ENCRYPTED)
			p->pub.attrs |= MAVIS_PART_UNDECIPHERABLE;	/* amavisd: U and C */
		return 0;
	}
	if (dec->setup == SETUP_SFX)
		p->retained = true;	/* the executable itself still matters */
	return 1;
}
