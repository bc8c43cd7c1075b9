/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_AV_INTERNAL_H
#define MAVIS_AV_INTERNAL_H

/*
 * Private to lib/checks/av_*.c: the scanner object, the clamd client and the
 * engine swap protocol. Not installed, not for other modules.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <clamav.h>

#include "util/netio.h"
#include <mavis/av.h>

/* Monotonic milliseconds, for deadlines. */
static inline uint64_t
av_now_ms(void)
{
	return mavis_now_ms();
}

/* A growing list of unique names in an arena (virus names, scanner names). */
struct av_names {
	const char **v;
	size_t n, cap;
};
/* Append a copy of name unless already present. */
void av_names_add(struct av_names *l, struct mavis_arena *a, const char *name);

/*
 * Scan limits. libclamav (with CL_SCAN_HEURISTIC_EXCEEDS_MAX) and clamd (with
 * AlertExceedsMax) report a limit hit as a "Heuristics.Limits.Exceeded.*"
 * name. Among the names l got from index from: with alert they stay virus
 * names (returns 1); without, they are dropped, and if nothing else was found
 * the scan was incomplete: MAVIS_ERR_SCANNER, never clean.
 */
int av_limit_policy(struct av_names *l, size_t from, bool alert, struct mavis_error *err);

/* ---- clamd client (av_clamd.c) ---- */

struct av_clamd_addr {
	char *spec;			/* as written, for logs */
	struct sockaddr_storage sa;
	socklen_t salen;
};

struct av_clamd {
	struct av_clamd_addr *addrs;	/* failover order */
	size_t n_addrs;
	unsigned connect_timeout_ms;
	uint64_t stream_max;
	bool all_match;
};

/* Parse and resolve one socket spec into *addr (heap strings). */
int av_clamd_addr_parse(const char *spec, struct av_clamd_addr *addr,
			struct mavis_error *err);
void av_clamd_free(struct av_clamd *c);

/* Scan the buffers in one IDSESSION, failing over across the sockets until
   deadline (monotonic ms). Returns 0 clean, 1 infected (names added; also
   when a later buffer failed: a virus found stays found), or
   MAVIS_ERR_SCANNER with err holding every socket's cause. On success after
   a failover, *notes (may be NULL) gets the causes of the sockets that
   failed first (arena string), else stays untouched. */
int av_clamd_scan(const struct av_clamd *c, const struct mavis_av_buf *bufs, size_t n,
		  uint64_t deadline, struct mavis_arena *arena, struct av_names *names,
		  const char **notes, struct mavis_error *err);

/* ---- engine internals (av_clamav.c) ---- */

/* Whether e was loaded from the same directory with the same options as s
   would produce (so a new mavis_av may share it). */
bool av_engine_matches(const struct mavis_av_engine *e, const struct mavis_av_settings *s);

/* The database directory s names (libclamav's default when unset). */
const char *av_db_dir(const struct mavis_av_settings *s);

/* Count signatures in dir without loading them (cl_countsigs); 0 or error. */
int av_engine_precheck(const char *dir, struct mavis_error *err);

/* Scan with an engine, adding names to l; like mavis_av_engine_scan,
   except that a scan limit on a supplementary buffer returns 2 (clean,
   not fully checked) with err holding the limit's text. */
int av_engine_scan_into(struct mavis_av_engine *e, const struct mavis_av_buf *buf,
			struct mavis_arena *arena, struct av_names *l,
			struct mavis_error *err);

/* ---- the scanner object (av_scan.c, av_reload.c) ---- */

enum av_kind { AV_KIND_CLAMAV, AV_KIND_CLAMD };

struct av_scanner {
	char *name;			/* the spec, used in log lines */
	int stats_slot;			/* mavis_stats_scanner_slot */
	enum av_kind kind;
	struct av_clamd clamd;
};

struct mavis_av {
	struct av_scanner *primary, *backup;
	size_t n_primary, n_backup;
	bool want_engine;		/* some list names "clamav" */
	unsigned timeout_ms;
	bool first_infected_stops_scan;
	bool all_match;

	/* Engine settings, copied: reloads build with these. */
	struct mavis_av_settings es;
	char *database_dir, *tmpdir;

	/* The swap protocol (av_reload.c). lock guards engine, reloading,
	   inflight, load_error; cond (CLOCK_MONOTONIC) wakes scans waiting for
	   an engine and a reload draining the old one. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct mavis_av_engine *engine;
	bool reloading;			/* non-concurrent reload: no engine yet */
	unsigned inflight;		/* scans holding an engine from us */
	char load_error[MAVIS_ERROR_MAX];

	pthread_mutex_t reload_lock;	/* one reload at a time */
	struct cl_stat dbstat;
	bool have_dbstat;
};

/* Set up / tear down the swap state (mavis_av_new, mavis_av_free). */
void av_reload_init(struct mavis_av *av);
void av_reload_fini(struct mavis_av *av);

/* Get a reference to the current engine for one scan, waiting (until
   deadline) while a non-concurrent reload has none. 0 or MAVIS_ERR_SCANNER. */
int av_engine_acquire(struct mavis_av *av, uint64_t deadline,
		      struct mavis_av_engine **e, struct mavis_error *err);
/* Give it back (wakes a draining reload). */
void av_engine_release(struct mavis_av *av, struct mavis_av_engine **e);
/* Start watching the database directory, before a load, so that a change
   made during the load triggers the next reload. Caller holds reload_lock
   or owns av alone. */
void av_dbstat_reset(struct mavis_av *av);
/* The database directory differs from the last av_dbstat_reset snapshot
   (or there is none). Caller holds reload_lock or owns av alone. */
bool av_dbdir_changed(struct mavis_av *av);

#endif
