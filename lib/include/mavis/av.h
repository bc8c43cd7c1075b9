/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_AV_H
#define MAVIS_AV_H

#include <mavis/api.h>

/*
 * Virus scanning: an ordered list of primary
 * scanners, a backup list tried only when no primary gave an answer, and two
 * scanner kinds:
 *
 *   "clamav"          the in-process libclamav engine (one per process,
 *                     shared by all threads, replaced whole on reload)
 *   "clamd"           clamd over INSTREAM, sockets from clamd_sockets, tried
 *                     in order (failover)
 *   "clamd:SOCKET"    clamd on one socket. SOCKET is "/path", "unix:/path",
 *                     "host:port", "[ipv6]:port" or "inet:port@host"
 *                     (also "inet6:port@host")
 *
 * The one rule this module exists for: a scanner that fails NEVER yields
 * CLEAN. A failed scanner is FAILED with its cause; when every scanner failed
 * the result is MAVIS_AV_FAILED "ALL VIRUS SCANNERS FAILED" (or "NO VIRUS
 * SCANNERS AVAILABLE" for empty lists) and the caller must treat the mail as
 * UNCHECKED (tempfail by default).
 *
 * The library does not log (except debug traces): mavis_av_scan() returns
 * the log lines amavisd would write, with their level, for the caller to log
 * with the queue id.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mavis/arena.h>
#include <mavis/error.h>
#include <mavis/log.h>

/* libclamav limits; 0 keeps libclamav's default (noted per field). */
struct mavis_av_limits {
	uint64_t max_scansize;		/* bytes scanned per buffer (400M) */
	uint64_t max_filesize;		/* largest file/member scanned (100M) */
	uint32_t max_recursion;		/* archive nesting (17) */
	uint32_t max_files;		/* files per archive (10000) */
	uint32_t max_scantime_ms;	/* per buffer (120000) */
};
/* A buffer that hits a limit was not fully checked. libclamav would call it
   clean; here it is a Heuristics.Limits.Exceeded.* virus name with
   alert_exceeds_max, else a FAILED scanner. For the same with clamd, set
   "AlertExceedsMax yes" in clamd.conf: without it clamd says OK. */

/*
 * Plain values, filled by the config module; strings and lists are borrowed
 * and copied by mavis_av_new() / mavis_av_engine_load(), so the caller may
 * free them afterwards. Start from mavis_av_settings_init().
 */
struct mavis_av_settings {
	const char *database_dir;	/* NULL: libclamav's (/var/lib/clamav) */
	const char *tmpdir;		/* libclamav temp files; NULL: $TMPDIR */
	/* NULL-terminated scanner specs (see above). NULL = empty list. */
	const char *const *scanners;		/* amavisd @av_scanners */
	const char *const *scanners_backup;	/* amavisd @av_scanners_backup */
	const char *const *clamd_sockets;	/* for the bare "clamd" scanner */
	unsigned connect_timeout_ms;	/* per clamd connect (10000; 0 = that) */
	unsigned timeout_ms;		/* per scanner (0 = the default), whole
					   clamd exchange including failover;
					   also the longest wait for an engine
					   during a non-concurrent reload (60000) */
	uint64_t clamd_stream_max;	/* clamd_stream_max_length (25 MiB here,
					   clamd's StreamMaxLength default; the
					   config's default is message_size_limit):
					   a larger buffer FAILS that scanner
					   unsent (0: no check, clamd decides).
					   clamd's own refusal FAILS it with
					   "INSTREAM size limit exceeded" named */
	struct mavis_av_limits limits;
	bool heuristic_alerts;		/* CL_SCAN_GENERAL_HEURISTICS (true) */
	bool alert_exceeds_max;		/* a limit hit is INFECTED (true) or
					   FAILED (false, default) */
	bool all_match;			/* report every name, scan every buffer
					   (false: stop at the first virus) */
	bool first_infected_stops_scan;	/* amavisd name: skip the remaining
					   scanners after an INFECTED (false) */
	bool concurrent_reload;		/* build the new engine beside the old
					   one (true); false: see mavis_av_reload */
};

/* Defaults as noted above; scanners = {"clamav"}, no backups,
   clamd_sockets = {"/run/clamav/clamd.ctl"}. */
MAVIS_API void mavis_av_settings_init(struct mavis_av_settings *s);

/* One thing to scan: a decoded MIME part or the raw message. data may hold
   NULs; name is for logs and libclamav (may be NULL). Empty buffers are
   skipped: nothing in them can be a virus. supplementary: a second look
   at content whose every piece is among the other buffers (the raw
   message after our decoder took all of it apart): a libclamav scan
   limit (Heuristics.Limits.Exceeded.*) on it without alert_exceeds_max
   does not fail the scan of the in-process engine but is said in the
   result's log (a clamd scanner answers for all buffers at once: there a
   limit still fails). */
struct mavis_av_buf {
	const void *data;
	size_t len;
	const char *name;
	bool supplementary;
};

/* ---- The in-process libclamav engine ---------------------------------- */

struct mavis_av_engine;

/*
 * Load every signature file in s->database_dir into a new engine (cl_init
 * once per process, cl_engine_new, limits, cl_load(CL_DB_STDOPT),
 * cl_engine_compile). Returns 0 with *out holding one reference, or
 * MAVIS_ERR_SCANNER with err naming the directory and libclamav's cause;
 * a directory without signatures is an error ("no ClamAV signatures in DIR").
 * Blocking (tens of seconds with the full ClamAV database).
 */
MAVIS_API int mavis_av_engine_load(const struct mavis_av_settings *s,
			 struct mavis_av_engine **out, struct mavis_error *err);

/* Take another reference (thread-safe); returns e. */
MAVIS_API struct mavis_av_engine *mavis_av_engine_ref(struct mavis_av_engine *e);

/* Drop a reference; the last one frees the libclamav engine. Sets *e = NULL;
   NULL-safe. Thread-safe. */
MAVIS_API void mavis_av_engine_unref(struct mavis_av_engine **e);

/* Signatures loaded, load+compile time in ms, database directory. */
MAVIS_API unsigned mavis_av_engine_signatures(const struct mavis_av_engine *e);
MAVIS_API unsigned mavis_av_engine_load_ms(const struct mavis_av_engine *e);
MAVIS_API const char *mavis_av_engine_dir(const struct mavis_av_engine *e);

/*
 * Scan one buffer from memory (cl_fmap_open_memory + cl_scanmap_callback).
 * Thread-safe: any number of threads may scan with one engine.
 * Returns 0 clean, 1 infected (names and n_names get the unique virus
 * names, from arena, as libclamav reports them, for example
 * "Eicar-Signature.UNOFFICIAL"),
 * or MAVIS_ERR_SCANNER with err set (libclamav error, a scan limit or
 * max_scantime hit without alert_exceeds_max): never 0 on a failure;
 * 2 instead of that error for a scan limit on a supplementary buffer
 * (err says which limit). names and n_names may be NULL.
 */
MAVIS_API int mavis_av_engine_scan(struct mavis_av_engine *e, const struct mavis_av_buf *buf,
			 struct mavis_arena *arena, const char *const **names,
			 size_t *n_names, struct mavis_error *err);

/* ---- The scanner lists ------------------------------------------------- */

struct mavis_av;

/*
 * Parse the scanner lists and resolve clamd sockets, and load the engine when
 * a list names "clamav". prev (may be NULL) is the object being replaced on a
 * config reload: when it holds an engine for the same database directory and
 * limits, that engine is shared instead of loaded again (one engine per
 * process). That holds also when the signature files changed since prev's
 * engine was loaded: the next mavis_av_reload() on the new object sees the
 * change and loads them (keeping the engine if they do not load, honouring
 * concurrent_reload), so a config reload neither loads a second engine beside
 * the old one nor fails on a broken database. Returns 0 and *out, or a
 * negative status with err set (bad spec: MAVIS_ERR_CONFIG; engine load:
 * MAVIS_ERR_SCANNER). Clamd is not contacted here: a clamd that is down shows
 * up per scan, as FAILED.
 */
MAVIS_API int mavis_av_new(const struct mavis_av_settings *s, struct mavis_av *prev,
		 struct mavis_av **out, struct mavis_error *err);

/* Free the object (drops its engine reference; scans that still hold the
   engine finish on it). Must not race with mavis_av_scan() or
   mavis_av_reload() on the same object. Sets *av = NULL; NULL-safe. */
MAVIS_API void mavis_av_free(struct mavis_av **av);

/* A reference to the current engine (NULL when no "clamav" scanner or no
   engine loaded); release with mavis_av_engine_unref(). */
MAVIS_API struct mavis_av_engine *mavis_av_engine_get(struct mavis_av *av);

enum mavis_av_status {
	MAVIS_AV_CLEAN = 0,	/* at least one scanner scanned it all: clean */
	MAVIS_AV_INFECTED = 1,	/* some scanner found names */
	MAVIS_AV_FAILED = 2,	/* no scanner could tell: UNCHECKED */
};

/* A line the caller should log (amavisd wording), with its syslog level. */
struct mavis_av_logline {
	enum mavis_log_level level;
	const char *text;
};

struct mavis_av_result {
	enum mavis_av_status status;
	/* INFECTED: unique names, in the order found; else empty. */
	const char *const *names;
	size_t n_names;
	/* CLEAN: "" ; INFECTED: names joined with ", ";
	   FAILED: "ALL VIRUS SCANNERS FAILED" or "NO VIRUS SCANNERS AVAILABLE"
	   (or the cause when no data was given). */
	const char *text;
	/* Scanners that gave the status, ", "-joined ("" when FAILED). */
	const char *scanners;
	const struct mavis_av_logline *log;
	size_t n_log;
	unsigned elapsed_ms;
};

/*
 * Scan the buffers (decoded parts + raw message) with the scanner lists,
 * amavisd order: every primary in order (a failing one logs "<name>
 * av-scanner FAILED: <cause>" at warning); if no primary gave a status,
 * "WARN: all primary virus scanners failed, considering backups" and every
 * backup; if none gave a status, FAILED. INFECTED wins over CLEAN. n == 0 is
 * FAILED (a caller that passes nothing has not had its mail checked).
 * Everything in *res is allocated from arena (the message arena). Thread-safe
 * (many threads may scan with one av). Always fills *res; returns 0, or
 * MAVIS_ERR_SCANNER when res->status is FAILED.
 */
MAVIS_API int mavis_av_scan(struct mavis_av *av, const struct mavis_av_buf *bufs, size_t n,
		  struct mavis_arena *arena, struct mavis_av_result *res);

/* ---- Signature reload -------------------------------------------------- */

struct mavis_av_reload_report {
	bool reloaded;		/* a new engine is active */
	bool changed;		/* the database directory changed (or force) */
	unsigned signatures;	/* of the new engine (0 when not reloaded) */
	unsigned load_ms;	/* load + compile time of the new engine */
	unsigned old_signatures;
	unsigned waited_ms;	/* non-concurrent: time spent draining scans */
};

/*
 * Reload the signatures if the database directory changed since the last load
 * (cl_statchkdir), or always with force. The daemon calls it periodically
 * (force=false) and on SIGUSR1 (force=true); reloads are serialized, scans
 * never block on a concurrent reload.
 *
 * concurrent_reload=true: the new engine is built while scans continue on the
 * old one, then swapped in; the old one is freed when its last scan ends. A
 * failed load keeps the old engine and returns the error.
 *
 * concurrent_reload=false (half the peak memory): the directory is checked
 * first (cl_countsigs; an empty or unreadable one keeps the old engine and
 * returns the error); then new scans wait (up to timeout_ms, then that
 * scanner FAILS) while in-flight scans drain by reference count, the old
 * engine is freed and the new one loaded. If that load fails there is no
 * engine: the "clamav" scanner FAILS (backups take over) and every later
 * call retries the load even without a change.
 *
 * Returns 0 (nothing to do, or reloaded; see rep, may be NULL) or
 * MAVIS_ERR_SCANNER with err set. No-op when no list names "clamav".
 */
MAVIS_API int mavis_av_reload(struct mavis_av *av, bool force,
		    struct mavis_av_reload_report *rep, struct mavis_error *err);

#endif
