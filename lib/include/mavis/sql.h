/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_SQL_H
#define MAVIS_SQL_H

#include <mavis/api.h>

/*
 * PostgreSQL the amavisd-new way: one connection pool per process, shared
 * by every session, over amavisd-new 2.13's schema (contrib/sql/amavisd-pg.sql;
 * iRedMail's variant works too: bytea from_addr/subject, maddr.email_raw).
 *
 * The pool holds at most pool_size connections to the first server of the
 * DSN list that answers (a list is failover: "host=a dbname=x | host=b
 * dbname=x"). A caller borrows one connection per call, waiting at most
 * wait_ms for a free one. Every query runs under statement_timeout
 * (timeout_ms), and the statements are prepared once per connection. A
 * connection that fails is closed; new connections to a server that failed
 * are tried again only after a backoff (doubling from 100 ms up to
 * backoff_max_ms), so an outage costs one quick error per call, not a
 * connect timeout per call.
 *
 * Every function is thread-safe. Failures return MAVIS_ERR_SQL (database
 * down, query failed, timeout, no connection free within wait_ms) with the
 * cause in err; callers apply on_sql_failure (default tempfail) and log err.
 * Nothing here logs.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mavis/arena.h>
#include <mavis/buf.h>
#include <mavis/error.h>
#include <mavis/quarantine.h>

struct mavis_sql;

/* amavisd's $sql_quarantine_chunksize_max: bytes per quarantine row. */
#define MAVIS_SQL_CHUNK 16384
/* Bounds on what is read back (a quarantined message, a DSN list). */
#define MAVIS_SQL_DSN_MAX 4096
#define MAVIS_SQL_DSNS_MAX 8

struct mavis_sql_opts {
	const char *dsn;	/* libpq conninfo strings separated by '|'; required */
	unsigned pool_size;	/* connections at most; 0 = 4 */
	unsigned timeout_ms;	/* statement_timeout per query; 0 = 5000 */
	unsigned connect_timeout_s;	/* libpq connect_timeout; 0 = 5 */
	unsigned wait_ms;	/* wait for a free connection; 0 = timeout_ms */
	unsigned backoff_max_ms;	/* 0 = 10000 */
	/* amavisd's $sql_select_policy and $sql_select_white_black_list
	   (placeholders %k %a %l %u %e %d %L, and ? = users.id in the wblist
	   one); NULL or "" = amavisd's default clause. */
	const char *select_policy, *select_wblist;
};

/* amavisd-new 2.13's default clauses (Amavis/Conf.pm); also the defaults of
   the config keys (t/unit/test_sql.c checks that they agree). */
#define MAVIS_SQL_SELECT_POLICY_DEFAULT                                              \
	"SELECT users.*, policy.*, users.id FROM users LEFT JOIN policy ON "         \
	"users.policy_id=policy.id WHERE users.email IN (%k) ORDER BY users.priority DESC"
#define MAVIS_SQL_SELECT_WBLIST_DEFAULT                                              \
	"SELECT wb FROM wblist JOIN mailaddr ON wblist.sid=mailaddr.id WHERE "       \
	"wblist.rid=? AND mailaddr.email IN (%k) ORDER BY mailaddr.priority DESC"

/*
 * Make a pool. No connection is opened here (the database may be down at
 * start: the first call that needs one connects). Returns 0 with *out, or
 * MAVIS_ERR_CONFIG when the DSN list is empty, too long (MAVIS_SQL_DSN_MAX
 * bytes, MAVIS_SQL_DSNS_MAX entries) or not valid conninfo syntax, or a
 * select clause is not one mavisd can bind (not a SELECT, no %k, a ? in
 * the policy clause, more than one in the wblist clause, over 4096 bytes).
 * Whether a clause prepares is known at the first connection: until it
 * does, every lookup fails with "sql_select_policy does not prepare: ...".
 */
MAVIS_API int mavis_sql_new(const struct mavis_sql_opts *opts, struct mavis_sql **out,
			    struct mavis_error *err);

/*
 * A reload: the settings of o (sql_dsn, the timeouts, the clauses; the
 * pool size and backoff stay as made) replace the pool's, checked first as
 * mavis_sql_new checks them. Calls in flight finish on the connections they
 * have (the old server, the old statements); those connections are closed
 * when given back and idle ones now, so every new call runs with the new
 * settings. *changed tells whether anything differed (the same settings are
 * a no-op). Returns 0, or MAVIS_ERR_CONFIG with the pool unchanged.
 */
MAVIS_API int mavis_sql_reconfigure(struct mavis_sql *sql, const struct mavis_sql_opts *o,
				    bool *changed, struct mavis_error *err);

/* Close every connection and free the pool; *sql = NULL. NULL-safe. No call
   may be running on it. */
MAVIS_API void mavis_sql_free(struct mavis_sql **sql);

/*
 * The process's pool: set once by the daemon (or mavisctl) after the
 * configuration is loaded, from sql_dsn and friends; the pgsql: map type and
 * sql: quarantine use it. NULL when none is set (sql_dsn empty). set does not
 * take ownership away from the caller, who frees it at exit after set(NULL).
 */
MAVIS_API void mavis_sql_set_global(struct mavis_sql *sql);
MAVIS_API struct mavis_sql *mavis_sql_global(void);

/*
 * Register the pgsql: map type (maps.h) so that config files may use
 * pgsql:policy, pgsql:policy/COLUMN and pgsql:wblist; the tables query the
 * global pool. Call before the first config load; calling again is a no-op.
 * Returns 0 or MAVIS_ERR_CONFIG (the map type registry refused it).
 */
MAVIS_API int mavis_sql_register_maps(void);

/*
 * on_sql_failure = pass (mavis_map_opts.sql_failure_pass): a pgsql: lookup
 * whose query failed answers "not found", so the next table of the list (or
 * the default) decides; the failure is counted (mavis_sql_errors_total and
 * mavis_sql_lookups_passed_total) and kept with the message. This hands out
 * the failures of the message whose arena is scratch not handed out before,
 * oldest first, at most max: texts[i] (valid as long as the arena) for the
 * caller's log line. Returns their number. A failed query is not asked again
 * for the same message, whatever the mode.
 */
MAVIS_API size_t mavis_sql_passed_failures(struct mavis_arena *scratch, const char **texts,
					   size_t max);

/* Counters since the pool was made (atomics; for the log and tests). */
struct mavis_sql_stats {
	uint64_t queries;	/* statements run */
	uint64_t failures;	/* calls that returned MAVIS_ERR_SQL */
	uint64_t connects;	/* connections opened */
	uint64_t connect_failures;
	uint64_t reloads;	/* mavis_sql_reconfigure calls that changed something */
};
MAVIS_API void mavis_sql_get_stats(const struct mavis_sql *sql, struct mavis_sql_stats *out);

/* ---- quarantine (table quarantine: partition_tag, mail_id, chunk_ind, mail_text) ---- */

/*
 * Store data[0..len) (the envelope prefix and the message, exactly what a
 * file quarantine holds) as mail_id's rows, chunk_ind 1.., at most
 * MAVIS_SQL_CHUNK bytes each, in one transaction committed before return.
 * The data may come in pieces (parts[i], nparts; e.g. prefix then message).
 * Returns 0, MAVIS_ERR_PARSE (invalid mail_id) or MAVIS_ERR_SQL (nothing stored).
 */
struct mavis_sql_piece {
	const void *data;
	size_t len;
};
MAVIS_API int mavis_sql_quarantine_store(struct mavis_sql *sql, int partition_tag,
					 const char *mail_id, const struct mavis_sql_piece *parts,
					 size_t nparts, struct mavis_error *err);

/*
 * Quarantine one copy in SQL: the envelope prefix a file copy would carry
 * (in->dir, subdir_levels and gzip are ignored) and the message, through
 * mavis_sql_quarantine_store(). out gets rel_path = amavisd's quar_loc
 * (mail_id, or "mail_id[ptag]" when partition_tag is not 0), quar_type 'Q'
 * and file_size = bytes stored. Returns 0 or the statuses of
 * mavis_sql_quarantine_store() and of mavis_quarantine_store()'s checks.
 */
MAVIS_API int mavis_sql_quarantine_put(struct mavis_sql *sql, int partition_tag,
				       const struct mavis_quarantine_in *in,
				       struct mavis_quarantine_out *out, struct mavis_error *err);

/*
 * Read mail_id's quarantined text back: the chunks of (partition_tag,
 * mail_id) in chunk_ind order, joined. At most max_bytes (0 = 256 MiB) are
 * accepted. Returns 0 with *data_r (NUL-terminated, from arena) and *len_r;
 * MAVIS_ERR_NOTFOUND (no row), MAVIS_ERR_LIMIT (over max_bytes),
 * MAVIS_ERR_PARSE (invalid mail_id) or MAVIS_ERR_SQL.
 */
MAVIS_API int mavis_sql_quarantine_fetch(struct mavis_sql *sql, int partition_tag,
					 const char *mail_id, size_t max_bytes,
					 struct mavis_arena *arena, const char **data_r,
					 size_t *len_r, struct mavis_error *err);

/*
 * mavis_sql_quarantine_fetch() and the envelope prefix parsed as
 * mavis_quarantine_read() does for a file (out->quar_type = 'Q'). Returns
 * its statuses, and MAVIS_ERR_PARSE when the text has no valid prefix.
 */
MAVIS_API int mavis_sql_quarantine_read(struct mavis_sql *sql, int partition_tag,
					const char *mail_id, size_t max_bytes,
					struct mavis_arena *arena,
					struct mavis_quarantine_entry *out, struct mavis_error *err);

/* ---- msgs rows (the log; what a release needs to find and authorize) ---- */

struct mavis_sql_msg {
	int partition_tag;
	const char *mail_id;
	const char *secret_id;	/* "" when NULL */
	const char *am_id;
	int64_t time_num;
	char content;		/* V B U S Y M H O T C; 0 while NULL (in progress) */
	char quar_type;		/* Q F Z B M, ' ' none, 0 when NULL */
	const char *quar_loc;	/* "" when NULL */
	const char *host;
	const char *sender;	/* maddr.email of msgs.sid, "" when none */
	bool has_spam_level;
	double spam_level;
	int64_t size;
};

/*
 * The msgs rows with this mail_id: only partition_tag's when partition_tag
 * >= 0, else every partition's (amavisd: more than one hit without a
 * partition_tag is an error for a release - the caller decides). When
 * secret_id is not NULL only rows with that secret_id count. At most 16
 * rows, newest partition first. Returns the number of rows (0..16) with
 * *rows_r from arena, or MAVIS_ERR_PARSE (invalid mail_id) or MAVIS_ERR_SQL.
 */
#define MAVIS_SQL_MSGS_MAX 16
MAVIS_API int mavis_sql_msgs_lookup(struct mavis_sql *sql, const char *mail_id,
				    const char *secret_id, int partition_tag,
				    struct mavis_arena *arena, struct mavis_sql_msg **rows_r,
				    struct mavis_error *err);

/*
 * What the database lacks for mavisd: every table and column it reads or
 * writes (amavisd-new 2.13's schema, or iRedMail's variant: bytea from_addr
 * and subject, maddr.email_raw, outbound_wblist) and the unique index the
 * log needs on maddr. Appends one line per missing thing and a last line
 * "schema: ...: complete|incomplete" to report. Returns the number missing
 * (0 = usable), or MAVIS_ERR_SQL / MAVIS_ERR_CONFIG with err set.
 */
MAVIS_API int mavis_sql_check(struct mavis_sql *sql, struct mavis_buf *report,
			      struct mavis_error *err);

/* ---- SQL logging (maddr, msgs, msgrcpt as amavisd fills them) ---- */

/*
 * A log writer: a bounded queue and one thread that writes what is queued,
 * in batches of up to batch_max records per transaction. Queuing copies the
 * record and never blocks nor touches the database, so a slow or absent
 * database never delays mail: a full queue drops the record (counted), a
 * failing database keeps the queue and retries with a backoff until it
 * answers, dropping new records once the queue is full.
 */
struct mavis_sql_log;

struct mavis_sql_log_opts {
	unsigned queue_max;	/* records (a message is two); 0 = 10000 */
	unsigned batch_max;	/* records per transaction; 0 = 64 */
};

MAVIS_API int mavis_sql_log_new(struct mavis_sql *sql, const struct mavis_sql_log_opts *opts,
				struct mavis_sql_log **out, struct mavis_error *err);
/* Write what is queued (for at most drain_ms), stop the thread, free; *l =
   NULL. NULL-safe. */
MAVIS_API void mavis_sql_log_free(struct mavis_sql_log **l, unsigned drain_ms);
/* The process's writer (sql_log = yes), like mavis_sql_global(). */
MAVIS_API void mavis_sql_log_set_global(struct mavis_sql_log *l);
MAVIS_API struct mavis_sql_log *mavis_sql_log_global(void);

/* msgs row at mail_id time (content NULL): amavisd's ins_msg, queued when
   the message is in (its size known), before the checks. Strings are
   copied; NULL reads as "". */
struct mavis_sql_log_begin {
	int partition_tag;
	const char *mail_id, *secret_id;
	const char *am_id;	/* the log id */
	int64_t rx_time;	/* Unix time (time_num, time_iso) */
	const char *sender;	/* envelope, without <>; "" null sender */
	const char *policy;	/* policy bank path */
	const char *client_addr;
	uint64_t size;		/* RFC 1870 size: amavisd writes it here, at insert */
	const char *host;	/* myhostname */
};

struct mavis_sql_log_rcpt {
	const char *addr;
	bool local;
	char content;		/* V B U S Y M H O T C */
	char ds;		/* P R B D T */
	bool blacklisted, whitelisted;
	bool has_level;
	double level;		/* bspam_level */
	const char *smtp_resp;
};

/* The rest at the end: amavisd's upd_msg and ins_rcp, one transaction. */
struct mavis_sql_log_end {
	int partition_tag;
	const char *mail_id;
	char content;
	char quar_type;		/* ' ' none */
	const char *quar_loc;
	char dsn_sent;		/* 'N' */
	bool has_spam_level;
	double spam_level;	/* the minimum over the recipients */
	const char *message_id, *from_addr, *subject;	/* decoded, any length */
	const char *client_addr;
	bool originating;
	const struct mavis_sql_log_rcpt *rcpts;
	size_t nrcpts;
};

/* Queue a record. 0, or MAVIS_ERR_RESOURCE when the queue is full (the
   record is dropped and counted). */
MAVIS_API int mavis_sql_log_begin(struct mavis_sql_log *l, const struct mavis_sql_log_begin *b);
MAVIS_API int mavis_sql_log_end(struct mavis_sql_log *l, const struct mavis_sql_log_end *e);

struct mavis_sql_log_stats {
	uint64_t queued, written, dropped_full, dropped_bad, batches, db_failures;
	uint64_t pending;	/* in the queue now */
};
MAVIS_API void mavis_sql_log_get_stats(struct mavis_sql_log *l, struct mavis_sql_log_stats *out);

#endif
