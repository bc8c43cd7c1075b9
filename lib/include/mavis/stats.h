/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_STATS_H
#define MAVIS_STATS_H

#include <mavis/api.h>

/*
 * Process-wide counters since start (amavisd-agent's job) and the registry of
 * sessions in flight (amavisd-nanny's). Counting is lock-free: every counter
 * is a C11 atomic bumped with a relaxed add where the event happens; readers
 * (the control socket, the metrics endpoint) take a snapshot that is
 * consistent per counter, not across counters. Histograms have fixed
 * buckets (MAVIS_STATS_BUCKETS, upper bounds in seconds) and keep counts per
 * bucket; the formatters make them cumulative.
 *
 * The registry is a fixed table of slots: a session claims one at start
 * (compare-and-swap, no lock), updates its stage with an atomic store and its
 * texts (queue id, bank path) under a per-slot sequence number, and frees it
 * at the end. A reader copies a slot and retries while the sequence number
 * is odd or changed. When every slot is taken the session runs unlisted
 * (counted as such), never waits.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <mavis/buf.h>

/* Histogram bucket upper bounds, seconds; the last bucket is +Inf. */
#define MAVIS_STATS_BUCKETS 14
MAVIS_API extern const double mavis_stats_bucket_le[MAVIS_STATS_BUCKETS];

/* Scanner label slots (virus and spam scanners, named as configured). */
#define MAVIS_STATS_SCANNERS_MAX 32

/* Sessions the registry shows at most (more run unlisted). */
#define MAVIS_STATS_SLOTS 1024

/* ---- counting (the message path) ---- */

/* A slot for scanner name (kind is "virus" or "spam"), found or made; the
   same name gives the same slot. Called when scanners are built (start,
   reload), not per message. Returns the slot, or -1 when the table is full
   (the calls then count in no scanner series). */
MAVIS_API int mavis_stats_scanner_slot(const char *kind, const char *name);
/* One call of a scanner slot: ok = it answered; usec = its time. */
MAVIS_API void mavis_stats_scanner_call(int slot, bool ok, unsigned long usec);

enum mavis_stats_event {
	MAVIS_STATS_RELOAD_OK,
	MAVIS_STATS_RELOAD_FAILED,
	MAVIS_STATS_DECODE_LIMIT,	/* decoding stopped at a bound: UNCHECKED over limits */
	MAVIS_STATS_HEADER_LIMIT,	/* header section over max_header_count/size */
	MAVIS_STATS_QUARANTINE_WRITE,	/* a quarantine copy stored */
	MAVIS_STATS_QUARANTINE_FAILED,	/* a quarantine copy that could not be stored */
	MAVIS_STATS_SQL_ERROR,	/* a failed SQL query or connection */
	MAVIS_STATS_SQL_PASSED,	/* a failed SQL lookup taken as "not found" (on_sql_failure = pass) */
	MAVIS_STATS_EVENT_COUNT
};
MAVIS_API void mavis_stats_count(enum mavis_stats_event ev);

/* The wall-clock time of the virus signatures in use (ClamAV's database
   build time), 0 = unknown; and the time the running config was loaded. */
MAVIS_API void mavis_stats_set_signature_time(time_t t);
MAVIS_API void mavis_stats_set_config_time(time_t t);

/* ---- the session registry ---- */

/* Claim a slot for a new session; -1 when all are taken. Stage "connect". */
MAVIS_API int mavis_stats_slot_claim(const char *client_addr, const char *client_name);
MAVIS_API void mavis_stats_slot_release(int *slot);
/* The stage (a static string: "helo", "mail", "rcpt", "header", "body",
   a check name, "quarantine", "idle"); a no-op for slot -1. */
MAVIS_API void mavis_stats_slot_stage(int slot, const char *stage);
/* A message starts (stage "mail", its age starts now) or ends ("idle"). */
MAVIS_API void mavis_stats_slot_message(int slot, bool started);
MAVIS_API void mavis_stats_slot_queue_id(int slot, const char *queue_id);
MAVIS_API void mavis_stats_slot_bank_path(int slot, const char *path);

/* ---- reading ---- */

/* "mavis_*" metrics in the Prometheus text exposition format 0.0.4
   (HELP and TYPE lines, labels escaped, cumulative buckets with +Inf, _sum
   and _count), appended to out. version goes into mavis_build_info. */
MAVIS_API void mavis_stats_format_prometheus(struct mavis_buf *out, const char *version);
/* The counters as one JSON object (keys documented in the README), or as
   amavisd-agent-like "name value" lines. */
MAVIS_API void mavis_stats_format_json(struct mavis_buf *out);
MAVIS_API void mavis_stats_format_text(struct mavis_buf *out);
/* The sessions in flight, one line each (amavisd-nanny): slot, age of the
   session and of its message, stage, queue id, client, bank path. */
MAVIS_API void mavis_stats_format_status(struct mavis_buf *out);
/* Sessions in flight (claimed slots plus unlisted ones). */
MAVIS_API unsigned long mavis_stats_sessions_in_flight(void);

/* Clear every counter and slot (unit tests only). */
MAVIS_API void mavis_stats_reset_for_tests(void);

#endif
