/* SPDX-License-Identifier: GPL-2.0-or-later */
/* filetype.c - libmagic descriptions and amavisd short types */

#include <magic.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fcntl.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <mavis/alloc.h>
#include <mavis/filetype.h>
#include <mavis/log.h>

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

/* Short types that only binary signatures give: a part whose bytes no binary
   test recognises cannot get them, so describing text without libmagic's
   text tests never adds or removes one. Everything else in the table counts
   as text-derived (mavis_filetype_text_derived). "image" is not here: SVG is
   text. "exe" is not here: the catch-all "\bexecutable\b" can match a text
   test's words. */
static const char *const binary_only[] = {
	"exe-ms", "exe-unix", "exe-vms", "dll", "so", "o",
	"zip", "7z", "rar", "lha", "arc", "arj", "ace", "zoo", "tar", "cpio", "sit",
	"deb", "a", "rpm", "tnef", "cab", "installshield", "iso", "kmz",
	"F", "gz", "bz", "bz2", "xz", "lzma", "lrz", "lzo", "lz4", "Z", "zst",
	"jpg", "gif", "png", "tif", "pcx", "bmp",
	"audio", "mpa", "mp2", "mp3", "3gpp", "m4a", "m4b", "flac", "oga", "ogg", "wav",
	"movie", "mpv", "mpg", "mkv", "wmv", "avi", "ani",
	"swf", "pdf", "doc", "cdf-ms", "wmf", "dvi", "java",
};

static pcre2_code *short_code[NRULES];
static const char *all_short[NRULES * MAVIS_FILETYPE_MAX_SHORT + 3];
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_status;
static char init_text[MAVIS_ERROR_MAX];

static void
add_short(size_t *n, const char *t)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(all_short[i], t) == 0)
			return;
	all_short[(*n)++] = t;
}

static void
init_tables(void)
{
	size_t nshort = 0;

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
		for (size_t k = 0; k < MAVIS_FILETYPE_MAX_SHORT && short_rules[i].types[k]; k++)
			add_short(&nshort, short_rules[i].types[k]);
	}
	add_short(&nshort, "dat");
	all_short[nshort] = NULL;
}

int
mavis_filetype_init(struct mavis_error *err)
{
	pthread_once(&init_once, init_tables);
	if (init_status < 0)
		return mavis_error_set(err, init_status, "%s", init_text);
	return 0;
}

bool
mavis_filetype_text_derived(const char *t)
{
	for (size_t i = 0; i < sizeof(binary_only) / sizeof(binary_only[0]); i++)
		if (strcmp(t, binary_only[i]) == 0)
			return false;
	return true;
}

const char *const *
mavis_filetype_all_short(void)
{
	pthread_once(&init_once, init_tables);
	return all_short;
}

/* ---- the handle pool ---- */

/* One handle per cache line: busy flags of neighbouring slots are written
   by different CPUs. */
struct slot {
	_Alignas(64) atomic_bool busy;
	magic_t m;
	int flags;	/* last magic_setflags value */
};

/* At most this many compiled database files on libmagic's path. */
#define DB_FILES_MAX 8

struct mavis_filetype_pool {
	unsigned n;
	unsigned flags;		/* enum mavis_filetype_flags */
	/* The compiled databases, mapped once and handed to every handle
	   (magic_load_buffers uses them in place): with magic_load each
	   handle maps the file itself, and each scan reads all of it, so
	   every handle added ~8 MB to the RSS. n_db == 0: magic_load. */
	void *db[DB_FILES_MAX];
	size_t db_len[DB_FILES_MAX];
	size_t n_db;
	atomic_uint waiters;
	pthread_mutex_t lock;	/* only for waiting when every slot is busy */
	pthread_cond_t freed;
	struct slot *slots;
};

/* The tests no banned rule or decoder needs and that we switch off: none of
   libmagic's built-in tests (tar, CDF, ELF details, JSON, CSV, ...) costs
   enough to matter (bench/PROFILE.md), and its text tests are skipped per
   call instead (TEXT_DETAIL). */
#define MAGIC_BASE_FLAGS MAGIC_NONE

static void
close_slots(struct mavis_filetype_pool *p)
{
	for (unsigned i = 0; i < p->n; i++)
		if (p->slots[i].m != NULL)
			magic_close(p->slots[i].m);
}

static void
unmap_db(struct mavis_filetype_pool *p)
{
	for (size_t i = 0; i < p->n_db; i++)
		munmap(p->db[i], p->db_len[i]);
	p->n_db = 0;
}

/* A magic source file that defines nothing (Debian's /etc/magic is
   comments only): loading it adds no test, so the compiled files alone
   give the same database. */
static bool
magic_source_empty(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512];
	bool empty = true;

	if (f == NULL)
		return false;
	while (empty && fgets(line, sizeof(line), f) != NULL) {
		const char *c = line + strspn(line, " \t\r\n");

		if (*c != '\0' && *c != '#')
			empty = false;
	}
	fclose(f);
	return empty;
}

static bool
map_one_db(struct mavis_filetype_pool *p, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	void *m;

	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 || p->n_db == DB_FILES_MAX) {
		close(fd);
		return false;
	}
	/* Private and writable: should libmagic ever fix up a buffer in
	   place (byte order), the page is copied for us, never written back;
	   pages it only reads stay shared by every handle. */
	m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return false;
	p->db[p->n_db] = m;
	p->db_len[p->n_db] = (size_t)st.st_size;
	p->n_db++;
	return true;
}

/*
 * Map the compiled files of libmagic's own search path (magic_getpath:
 * the MAGIC variable or the built-in list) the way magic_load finds them:
 * each entry as NAME.mgc, else NAME compiled. Any entry we cannot take
 * that way (a source file with tests in it, a directory) leaves n_db = 0
 * so that every handle uses magic_load and sees exactly what file(1) sees.
 */
static void
map_db(struct mavis_filetype_pool *p)
{
	const char *path = magic_getpath(NULL, 0);
	char buf[4096], name[4096 + 8];

	if (path == NULL || strlen(path) >= sizeof(buf))
		return;
	memcpy(buf, path, strlen(path) + 1);
	for (char *save = NULL, *e = strtok_r(buf, ":", &save); e != NULL; e = strtok_r(NULL, ":", &save)) {
		struct stat st;

		snprintf(name, sizeof(name), "%s.mgc", e);
		if (stat(name, &st) == 0 && S_ISREG(st.st_mode)) {
			if (!map_one_db(p, name))
				goto fallback;
			continue;
		}
		if (stat(e, &st) < 0)
			continue;	/* magic_load skips a missing entry too */
		if (S_ISREG(st.st_mode) && magic_source_empty(e))
			continue;
		goto fallback;
	}
	return;
fallback:
	unmap_db(p);
}

int
mavis_filetype_pool_new(unsigned size, unsigned flags, struct mavis_filetype_pool **out,
			struct mavis_error *err)
{
	struct mavis_filetype_pool *p;
	size_t bytes_max = MAVIS_FILETYPE_BYTES_MAX;
	int rc;

	*out = NULL;
	rc = mavis_filetype_init(err);
	if (rc < 0)
		return rc;
	if (size == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		size = cpus > 0 ? (unsigned)cpus : 1;
	}
	if (size > MAVIS_FILETYPE_POOL_MAX)
		size = MAVIS_FILETYPE_POOL_MAX;
	p = mavis_xcalloc(1, sizeof(*p));
	p->n = size;
	p->flags = flags;
	atomic_init(&p->waiters, 0);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->freed, NULL);
	/* The slots' own alignment (a cache line each): calloc gives 16. */
	void *mem = NULL;
	if (posix_memalign(&mem, _Alignof(struct slot), size * sizeof(*p->slots)) != 0) {
		mavis_error_set(err, MAVIS_ERR_INTERNAL, "filetype pool: out of memory");
		pthread_cond_destroy(&p->freed);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return MAVIS_ERR_INTERNAL;
	}
	memset(mem, 0, size * sizeof(*p->slots));
	p->slots = mem;
	map_db(p);
	for (unsigned i = 0; i < size; i++) {
		magic_t m = magic_open(MAGIC_BASE_FLAGS);

		atomic_init(&p->slots[i].busy, false);
		if (m == NULL) {
			mavis_error_set(err, MAVIS_ERR_INTERNAL, "libmagic: magic_open failed");
			goto fail;
		}
		p->slots[i].m = m;
		p->slots[i].flags = MAGIC_BASE_FLAGS;
		if (p->n_db > 0 ? magic_load_buffers(m, p->db, p->db_len, p->n_db) != 0
				: magic_load(m, NULL) != 0) {
			mavis_error_set(err, MAVIS_ERR_INTERNAL, "libmagic: cannot load the database: %s",
					magic_error(m) ? magic_error(m) : "?");
			goto fail;
		}
		(void)magic_setparam(m, MAGIC_PARAM_BYTES_MAX, &bytes_max);
	}
	mavis_log_info(NULL, "file types: %u libmagic handles (%s), text tests %s", size,
		       p->n_db > 0 ? "one shared database mapping" : "each loads its database",
		       (flags & MAVIS_FILETYPE_TEXT_DETAIL) ? "on" : "off (no banned rule sees text types)");
	*out = p;
	return 0;
fail:
	mavis_filetype_pool_free(&p);
	return MAVIS_ERR_INTERNAL;
}

void
mavis_filetype_pool_free(struct mavis_filetype_pool **pp)
{
	struct mavis_filetype_pool *p = pp ? *pp : NULL;

	if (p == NULL)
		return;
	*pp = NULL;
	close_slots(p);
	unmap_db(p);	/* after the handles: they read it in place */
	pthread_cond_destroy(&p->freed);
	pthread_mutex_destroy(&p->lock);
	free(p->slots);
	free(p);
}

unsigned
mavis_filetype_pool_size(const struct mavis_filetype_pool *p)
{
	return p->n;
}

static struct slot *
try_claim(struct mavis_filetype_pool *p, unsigned start)
{
	for (unsigned k = 0; k < p->n; k++) {
		struct slot *s = &p->slots[(start + k) % p->n];
		bool expect = false;

		if (!atomic_load_explicit(&s->busy, memory_order_relaxed) &&
		    atomic_compare_exchange_strong(&s->busy, &expect, true))
			return s;
	}
	return NULL;
}

static struct slot *
checkout(struct mavis_filetype_pool *p)
{
	/* Start where this thread's hash points, so that threads on different
	   CPUs mostly try different slots first. */
	unsigned start = (unsigned)(((uintptr_t)pthread_self() >> 12) % p->n);
	struct slot *s = try_claim(p, start);

	if (s != NULL)
		return s;
	/* Every handle is busy: more sessions in libmagic than handles, which
	   only happens with more runnable threads than CPUs. The waiter count
	   is raised before the last try, so a release after that try sees it
	   and signals (under the lock, after we wait). */
	pthread_mutex_lock(&p->lock);
	atomic_fetch_add(&p->waiters, 1);
	while ((s = try_claim(p, start)) == NULL)
		pthread_cond_wait(&p->freed, &p->lock);
	atomic_fetch_sub(&p->waiters, 1);
	pthread_mutex_unlock(&p->lock);
	return s;
}

static void
checkin(struct mavis_filetype_pool *p, struct slot *s)
{
	atomic_store(&s->busy, false);
	if (atomic_load(&p->waiters) > 0) {
		pthread_mutex_lock(&p->lock);
		pthread_cond_signal(&p->freed);
		pthread_mutex_unlock(&p->lock);
	}
}

static const char *
run_magic(struct slot *s, int flags, const void *data, size_t len)
{
	if (s->flags != flags) {
		(void)magic_setflags(s->m, flags);
		s->flags = flags;
	}
	return magic_buffer(s->m, data, len);
}

/* Without TEXT_DETAIL: the binary tests first (libmagic's result whenever
   one of them matches, text or not), then, for a part they left as "data",
   the encoding check alone. A part with an armored PGP block gets the full
   run: its type decides the encrypted attribute. */
static const char *
describe_with(struct mavis_filetype_pool *p, struct slot *s, const void *data, size_t len)
{
	const char *desc;

	if (p->flags & MAVIS_FILETYPE_TEXT_DETAIL)
		return run_magic(s, MAGIC_BASE_FLAGS, data, len);
	desc = run_magic(s, MAGIC_BASE_FLAGS | MAGIC_NO_CHECK_TEXT, data, len);
	if (desc != NULL && strcmp(desc, "data") != 0)
		return desc;
	if (memmem(data, len, "BEGIN PGP", 9) != NULL)
		return run_magic(s, MAGIC_BASE_FLAGS, data, len);
	return run_magic(s, MAGIC_BASE_FLAGS | MAGIC_NO_CHECK_SOFT, data, len);
}

static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static struct mavis_filetype_pool *default_pool;
static char default_text[MAVIS_ERROR_MAX];

static void
default_init(void)
{
	struct mavis_error e = { 0 };

	if (mavis_filetype_pool_new(0, MAVIS_FILETYPE_TEXT_DETAIL, &default_pool, &e) < 0)
		snprintf(default_text, sizeof(default_text), "%s", e.text);
}

void
mavis_filetype_default_free(void)
{
	mavis_filetype_pool_free(&default_pool);
}

int
mavis_filetype_describe(struct mavis_filetype_pool *pool, const void *data, size_t len,
			struct mavis_arena *arena, const char **full_out, struct mavis_error *err)
{
	const char *desc;
	struct slot *s;
	int rc = mavis_filetype_init(err);

	if (rc < 0)
		return rc;
	if (len == 0) {
		/* amavisd sets "empty" itself for zero-sized parts. */
		*full_out = "empty";
		return 0;
	}
	if (pool == NULL) {
		pthread_once(&default_once, default_init);
		pool = default_pool;
		if (pool == NULL)
			return mavis_error_set(err, MAVIS_ERR_INTERNAL, "%s", default_text);
	}
	if (len > MAVIS_FILETYPE_BYTES_MAX)
		len = MAVIS_FILETYPE_BYTES_MAX;
	s = checkout(pool);
	desc = describe_with(pool, s, data, len);
	/* A libmagic failure on one buffer is a property of the data (amavisd
	   logs it and goes on with the type unknown): call it "data". The copy
	   is made before the handle goes back: desc lives in the handle. */
	*full_out = mavis_arena_strdup(arena, desc != NULL ? desc : "data");
	checkin(pool, s);
	return 0;
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
