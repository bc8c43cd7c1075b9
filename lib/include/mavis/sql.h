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
};

/*
 * Make a pool. No connection is opened here (the database may be down at
 * start: the first call that needs one connects). Returns 0 with *out, or
 * MAVIS_ERR_CONFIG when the DSN list is empty, too long (MAVIS_SQL_DSN_MAX
 * bytes, MAVIS_SQL_DSNS_MAX entries) or not valid conninfo syntax.
 */
MAVIS_API int mavis_sql_new(const struct mavis_sql_opts *opts, struct mavis_sql **out,
			    struct mavis_error *err);

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

/* Counters since the pool was made (atomics; for the log and tests). */
struct mavis_sql_stats {
	uint64_t queries;	/* statements run */
	uint64_t failures;	/* calls that returned MAVIS_ERR_SQL */
	uint64_t connects;	/* connections opened */
	uint64_t connect_failures;
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

#endif
