/* SPDX-License-Identifier: GPL-2.0-or-later */
/* filetype.c - libmagic descriptions and amavisd short types */

#include <magic.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <mavis/filetype.h>
#include <mavis/log.h>

/* libmagic looks at most this far into a buffer: archives and executables
   are recognised from their first KiBs, and the cap bounds the time spent
   on hostile data. */
#define MAGIC_BYTES_MAX (1024 * 1024)

/*
 * amavisd-new 2.13 $map_full_type_to_short_type_re (Amavis/Conf.pm), in its
 * order, first match wins. Lines marked "libmagic 5.4x" are added because
 * today's libmagic words some types differently from the file(1) versions
 * the table was written for (amavisd would map them to "asc" or "dat").
 */
struct short_rule {
	const char *re;
	bool caseless;
	const char *types[MAVIS_FILETYPE_MAX_SHORT];
};

static const struct short_rule short_rules[] = {
	{ "^empty\\z", false, { "empty" } },
	{ "^directory\\z", false, { "dir" } },
	{ "^can't (stat|read)\\b", false, { "dat" } },
	{ "^cannot open\\b", false, { "dat" } },
	{ "^ERROR:", false, { "dat" } },
	{ "can't read magic file|couldn't find any magic files", false, { "dat" } },
	{ "^data\\z", false, { "dat" } },

	{ "^ISO-8859.*\\btext\\b", false, { "txt" } },
	{ "^Non-ISO.*ASCII\\b.*\\btext\\b", false, { "txt" } },
	{ "^Unicode\\b.*\\btext\\b", true, { "txt" } },
	{ "^UTF.* Unicode text\\b", true, { "txt" } },
	{ "^'diff' output text\\b", false, { "txt" } },
	{ "^GNU message catalog\\b", false, { "mo" } },

	{ "^PGP message [Ss]ignature\\b", false, { "pgp", "pgp.asc" } },
	{ "^PGP message.*[Ee]ncrypted\\b", false, { "pgp", "pgp.enc" } },
	{ "^PGP message\\z", false, { "pgp", "pgp.enc" } },
	{ "^(?:PGP|GPG) encrypted data\\b", false, { "pgp", "pgp.enc" } },
	{ "^PGP public key\\b", false, { "pgp", "pgp.asc" } },
	{ "^PGP armored data( signed)? message\\b", false, { "pgp", "pgp.asc" } },
	{ "^PGP armored\\b", false, { "pgp", "pgp.asc" } },
	{ "^PGP\\b", false, { "pgp" } },

	{ "^(ASCII|smtp|RFC 822) mail text\\b", false, { "txt" } },

	{ "^JPEG image data\\b", false, { "image", "jpg" } },
	{ "^GIF image data\\b", false, { "image", "gif" } },
	{ "^PNG image data\\b", false, { "image", "png" } },
	{ "^TIFF image data\\b", false, { "image", "tif" } },
	{ "^PCX\\b.*\\bimage data\\b", false, { "image", "pcx" } },
	{ "^PC bitmap data\\b", false, { "image", "bmp" } },
	{ "^SVG Scalable Vector Graphics image\\b", false, { "image", "svg" } },

	{ "^MP2\\b", false, { "audio", "mpa", "mp2" } },
	{ "^MP3\\b", false, { "audio", "mpa", "mp3" } },
	{ "\\bMPEG ADTS, layer III\\b", false, { "audio", "mpa", "mp3" } },
	{ "^ISO Media, MPEG v4 system, 3GPP\\b", false, { "audio", "mpa", "3gpp" } },
	{ "^ISO Media, MPEG v4 system\\b", false, { "audio", "mpa", "m4a", "m4b" } },
	{ "^FLAC audio bitstream data\\b", false, { "audio", "flac" } },
	{ "^Ogg data, FLAC audio\\b", false, { "audio", "oga" } },
	{ "^Ogg data\\b", false, { "audio", "ogg" } },

	{ "^MPEG video stream data\\b", false, { "movie", "mpv" } },
	{ "^MPEG system stream data\\b", false, { "movie", "mpg" } },
	{ "^MPEG\\b", false, { "movie", "mpg" } },
	{ "^Matroska data\\b", false, { "movie", "mkv" } },
	{ "^Microsoft ASF\\b", false, { "movie", "wmv" } },
	{ "^RIFF\\b.*\\bAVI\\b", false, { "movie", "avi" } },
	{ "^RIFF\\b.*\\banimated cursor\\b", false, { "movie", "ani" } },
	{ "^RIFF\\b.*\\bWAVE audio\\b", false, { "audio", "wav" } },

	{ "^Macromedia Flash data\\b", false, { "swf" } },
	{ "^HTML document text\\b", false, { "html" } },
	{ "^HTML document\\b", false, { "html" } },	/* libmagic 5.4x */
	{ "^XML document text\\b", false, { "xml" } },
	{ "^XML\\b.*\\bdocument\\b", false, { "xml" } },	/* libmagic 5.4x */
	{ "^exported SGML document text\\b", false, { "sgml" } },
	{ "^PostScript document text\\b", false, { "ps" } },
	{ "^PDF document\\b", false, { "pdf" } },
	{ "^Rich Text Format data\\b", false, { "rtf" } },
	{ "^Microsoft Office Document\\b", true, { "doc" } },
	{ "^Microsoft Word\\b", true, { "doc" } },
	{ "^Microsoft Installer\\b", true, { "doc" } },
	{ "^Composite Document File V2 Document\\b", true, { "cdf-ms" } },
	{ "^ms-windows meta(file|font)\\b", true, { "wmf" } },
	{ "^LaTeX\\b.*\\bdocument text\\b", false, { "lat" } },
	{ "^TeX DVI file\\b", false, { "dvi" } },
	{ "\\bdocument text\\b", false, { "txt" } },
	{ "^compiled Java class data\\b", false, { "java" } },
	{ "^MS Windows 95 Internet shortcut text\\b", false, { "url" } },
	{ "^Compressed Google KML Document\\b", false, { "kmz" } },

	{ "^frozen\\b", false, { "F" } },
	{ "^gzip compressed\\b", false, { "gz" } },
	{ "^bzip compressed\\b", false, { "bz" } },
	{ "^bzip2 compressed\\b", false, { "bz2" } },
	{ "^xz compressed\\b", false, { "xz" } },
	{ "^XZ compressed\\b", false, { "xz" } },	/* libmagic 5.4x */
	{ "^lzma compressed\\b", false, { "lzma" } },
	{ "^LZMA compressed\\b", false, { "lzma" } },	/* libmagic 5.4x */
	{ "^lrz compressed\\b", false, { "lrz" } },
	{ "^lzop compressed\\b", false, { "lzo" } },
	{ "^LZ4 compressed\\b", false, { "lz4" } },
	{ "^compress'd", false, { "Z" } },
	{ "^Zip archive\\b", true, { "zip" } },
	{ "^7-zip archive\\b", true, { "7z" } },
	{ "^RAR archive\\b", true, { "rar" } },
	{ "^LHa.*\\barchive\\b", true, { "lha" } },
	{ "^ARC archive\\b", true, { "arc" } },
	{ "^ARJ archive\\b", true, { "arj" } },
	{ "^ACE archive\\b", true, { "ace" } },
	{ "^Zoo archive\\b", true, { "zoo" } },
	{ "^(\\S+\\s+)?tar archive\\b", true, { "tar" } },
	{ "^(\\S+\\s+)?cpio archive\\b", true, { "cpio" } },
	{ "^StuffIt Archive\\b", true, { "sit" } },
	{ "^Debian binary package\\b", true, { "deb" } },
	{ "^current ar archive\\b", true, { "a" } },
	{ "^RPM\\b", false, { "rpm" } },
	{ "^(Transport Neutral Encapsulation Format|TNEF)\\b", true, { "tnef" } },
	{ "^Microsoft Cabinet (file|archive)\\b", true, { "cab" } },
	{ "^InstallShield Cabinet file\\b", false, { "installshield" } },
	{ "^ISO 9660 CD-ROM filesystem\\b", true, { "iso" } },

	{ "^(uuencoded|xxencoded)\\b", true, { "uue" } },
	{ "^binhex\\b", true, { "hqx" } },
	{ "^(ASCII|text)\\b", true, { "asc" } },
	{ "^Emacs.*byte-compiled Lisp data", true, { "asc" } },
	{ "\\bscript\\b.* text executable\\b", false, { "txt" } },

	{ "^MS Windows\\b.*\\bDLL\\b", false, { "exe", "dll" } },
	{ "\\bexecutable for MS Windows\\b.*\\bDLL\\b", false, { "exe", "dll" } },
	/* libmagic 5.4x: "PE32 executable (DLL) (GUI) Intel 80386, for MS
	   Windows". amavisd with this libmagic calls it exe-ms (next rules); we
	   keep exe-ms, so Debian's ^\.(exe-ms)$ ban still applies, and add dll. */
	{ "\\bexecutable\\b.*\\(DLL\\).*\\bfor MS Windows\\b", false, { "exe", "exe-ms", "dll" } },
	{ "^MS-DOS executable \\(built-in\\)", false, { "asc" } },
	{ "^(MS-)?DOS executable\\b.*\\bDLL\\b", false, { "exe", "dll" } },
	{ "^MS Windows\\b.*\\bexecutable\\b", false, { "exe", "exe-ms" } },
	{ "\\bexecutable\\b.*\\bfor MS Windows\\b", false, { "exe", "exe-ms" } },
	{ "^COM executable for DOS\\b", false, { "asc" } },
	{ "^DOS executable \\(COM\\)", false, { "asc" } },
	{ "^(MS-)?DOS executable\\b(?!.*\\(COM\\))", false, { "exe", "exe-ms" } },
	{ "^PA-RISC.*\\bexecutable\\b", false, { "exe", "exe-unix" } },
	{ "^ELF .*\\bexecutable\\b", false, { "exe", "exe-unix" } },
	{ "^COFF format .*\\bexecutable\\b", false, { "exe", "exe-unix" } },
	{ "^executable \\(RISC System\\b", false, { "exe", "exe-unix" } },
	{ "^VMS\\b.*\\bexecutable\\b", false, { "exe", "exe-vms" } },
	{ "\\bexecutable\\b", true, { "exe" } },

	{ "\\bshared object, ", true, { "so" } },
	{ "\\brelocatable, ", true, { "o" } },
	{ "\\btext\\b", true, { "asc" } },
	{ "^Zstandard compressed\\b", false, { "zst" } },
	/* the catch-all "^" => "dat" is the fallback in mavis_filetype_short() */
};

#define NRULES (sizeof(short_rules) / sizeof(short_rules[0]))

static pcre2_code *short_code[NRULES];
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_status;
static char init_text[MAVIS_ERROR_MAX];
static pthread_key_t magic_key;

static void
magic_destroy(void *m)
{
	magic_close(m);
}

static void
init_tables(void)
{
	for (size_t i = 0; i < NRULES; i++) {
		int ec;
		PCRE2_SIZE eo;
		uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;

		if (short_rules[i].caseless)
			opts |= PCRE2_CASELESS;
		short_code[i] = pcre2_compile((PCRE2_SPTR)short_rules[i].re,
					      PCRE2_ZERO_TERMINATED, opts, &ec, &eo, NULL);
		if (short_code[i] == NULL) {
			/* A bug in the table above, not input. */
			init_status = MAVIS_ERR_INTERNAL;
			snprintf(init_text, sizeof(init_text),
				 "short type table entry %zu does not compile", i);
			return;
		}
		(void)pcre2_jit_compile(short_code[i], PCRE2_JIT_COMPLETE);
	}
	if (pthread_key_create(&magic_key, magic_destroy) != 0) {
		init_status = MAVIS_ERR_INTERNAL;
		snprintf(init_text, sizeof(init_text), "pthread_key_create failed");
	}
}

/* This thread's libmagic handle, opened on first use. magic_t is not
   thread-safe, and opening costs a database load, so one per thread. */
static magic_t
thread_magic(struct mavis_error *err)
{
	magic_t m = pthread_getspecific(magic_key);
	size_t bytes_max = MAGIC_BYTES_MAX;

	if (m != NULL)
		return m;
	m = magic_open(MAGIC_NONE);
	if (m == NULL) {
		mavis_error_set(err, MAVIS_ERR_INTERNAL, "libmagic: magic_open failed");
		return NULL;
	}
	if (magic_load(m, NULL) != 0) {
		mavis_error_set(err, MAVIS_ERR_INTERNAL, "libmagic: cannot load the database: %s",
				magic_error(m) ? magic_error(m) : "?");
		magic_close(m);
		return NULL;
	}
	(void)magic_setparam(m, MAGIC_PARAM_BYTES_MAX, &bytes_max);
	if (pthread_setspecific(magic_key, m) != 0) {
		magic_close(m);
		mavis_error_set(err, MAVIS_ERR_INTERNAL, "pthread_setspecific failed");
		return NULL;
	}
	return m;
}

int
mavis_filetype_init(struct mavis_error *err)
{
	pthread_once(&init_once, init_tables);
	if (init_status < 0)
		return mavis_error_set(err, init_status, "%s", init_text);
	return thread_magic(err) != NULL ? 0 : MAVIS_ERR_INTERNAL;
}

void
mavis_filetype_thread_done(void)
{
	magic_t m;

	pthread_once(&init_once, init_tables);
	if (init_status < 0)
		return;
	m = pthread_getspecific(magic_key);
	if (m != NULL) {
		pthread_setspecific(magic_key, NULL);
		magic_close(m);
	}
}

unsigned
mavis_filetype_short(const char *full_type, const char *out[MAVIS_FILETYPE_MAX_SHORT])
{
	pcre2_match_data *md;
	unsigned n = 0;

	pthread_once(&init_once, init_tables);
	if (init_status < 0 || full_type == NULL)
		goto catchall;
	md = pcre2_match_data_create(1, NULL);
	if (md == NULL)
		goto catchall;
	for (size_t i = 0; i < NRULES; i++) {
		int rc = pcre2_match(short_code[i], (PCRE2_SPTR)full_type,
				     PCRE2_ZERO_TERMINATED, 0, 0, md, NULL);

		if (rc >= 0) {
			for (; n < MAVIS_FILETYPE_MAX_SHORT && short_rules[i].types[n]; n++)
				out[n] = short_rules[i].types[n];
			break;
		}
	}
	pcre2_match_data_free(md);
	if (n > 0)
		return n;
catchall:
	out[0] = "dat";
	return 1;
}

int
mavis_filetype_describe(const void *data, size_t len, struct mavis_arena *arena,
			const char **full_out, struct mavis_error *err)
{
	const char *desc;
	magic_t m;
	int rc = mavis_filetype_init(err);

	if (rc < 0)
		return rc;
	if (len == 0) {
		/* amavisd sets "empty" itself for zero-sized parts. */
		*full_out = "empty";
		return 0;
	}
	m = thread_magic(err);
	if (m == NULL)
		return MAVIS_ERR_INTERNAL;
	desc = magic_buffer(m, data, len);
	/* A libmagic failure on one buffer is a property of the data (amavisd
	   logs it and goes on with the type unknown): call it "data". */
	*full_out = mavis_arena_strdup(arena, desc != NULL ? desc : "data");
	return 0;
}
