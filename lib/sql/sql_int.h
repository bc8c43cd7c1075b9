/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sql_int.h - internals shared by the files of lib/sql */
#ifndef MAVIS_SQL_INT_H
#define MAVIS_SQL_INT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include <mavis/arena.h>
#include <mavis/buf.h>
#include <mavis/error.h>
#include <mavis/sql.h>

#if defined(__GNUC__)
#define SQL_INTERNAL __attribute__((visibility("hidden")))
#else
#define SQL_INTERNAL
#endif

/* The statements, each prepared once per connection under its name. The
   texts are amavisd-new's default clauses (Amavis/Conf.pm) in libpq's $N
   syntax; the policy and wblist selects take a fixed number of key slots
   (unused ones get a key that matches nothing), so one prepared statement
   serves every address. */
enum sql_stmt {
	SQL_ST_SEL_POLICY,
	SQL_ST_SEL_WBLIST,
	SQL_ST_INS_QUAR,
	SQL_ST_SEL_QUAR,
	SQL_ST_SEL_MSGS,
	SQL_ST_SEL_ADR,
	SQL_ST_INS_ADR,
	SQL_ST_INS_MSG,
	SQL_ST_UPD_MSG,
	SQL_ST_INS_RCP,
	SQL_ST_COUNT
};

/* Key slots of the lookup statements: the address forms plus 20 domain
   suffixes plus "@." (amavisd's make_query_keys bound). */
#define SQL_KEYS_MAX 26

/* amavisd's lookup clause placeholders (Amavis/Lookup/SQL.pm lookup_sql):
   %k the key list, %a the address as given, %l its localpart, %u the
   user (lowercased localpart without extension), %e the extension, %d the
   domain, %L 1/0 for local, ? the next extra argument (sel_wblist: the
   recipient's users.id). */
enum sql_arg {
	SQL_ARG_KEY, SQL_ARG_ADDR, SQL_ARG_LOCALPART, SQL_ARG_USER, SQL_ARG_EXT,
	SQL_ARG_DOMAIN, SQL_ARG_IS_LOCAL, SQL_ARG_EXTRA
};
#define SQL_CLAUSE_KEYLISTS_MAX 4
#define SQL_CLAUSE_PARAMS_MAX (SQL_CLAUSE_KEYLISTS_MAX * SQL_KEYS_MAX + 32)
#define SQL_CLAUSE_TEXT_MAX 4096

/* A lookup clause turned into a statement with $1..$n. */
struct sql_clause {
	char text[SQL_CLAUSE_TEXT_MAX + SQL_CLAUSE_PARAMS_MAX * 5];
	unsigned nparams;
	unsigned char arg[SQL_CLAUSE_PARAMS_MAX];	/* enum sql_arg of $i+1 */
	unsigned char slot[SQL_CLAUSE_PARAMS_MAX];	/* SQL_ARG_KEY: which key */
};

/* Compile amavisd clause src of config key keyname: each %k becomes
   SQL_KEYS_MAX parameters (unused ones repeat the first key), every other
   placeholder one. nextra = how many ? the caller binds (amavisd hands
   the rest undef). 0, or MAVIS_ERR_CONFIG: empty, longer than
   SQL_CLAUSE_TEXT_MAX, not a SELECT, no %k, more than
   SQL_CLAUSE_KEYLISTS_MAX %k or SQL_CLAUSE_PARAMS_MAX parameters, more ?
   than nextra. */
SQL_INTERNAL int sql_clause_compile(const char *src, const char *keyname, unsigned nextra,
				    struct sql_clause *out, struct mavis_error *err);

/* The values of cl's parameters: keys[0..nkeys) for %k, rhs (the five
   strings of mavis_addr_rhs, domain in its A-label form) for %a %l %u %e %d,
   is_local for %L, extra for ?. Address values are bytea-binary (users.email
   is bytea; a varchar column takes the same bytes), %L and ? text. */
SQL_INTERNAL void sql_clause_bind(const struct sql_clause *cl, const char *const *keys,
				  size_t nkeys, const char *const rhs[5], bool is_local,
				  const char *extra, const char **v, int *l, int *f);

/* The compiled lookup clause (SQL_ST_SEL_POLICY, _WBLIST) of the settings
   the borrowed connection c was opened with (a reload may have changed the
   pool's since). */
struct sql_conn;
SQL_INTERNAL const struct sql_clause *sql_conn_clause(const struct sql_conn *c, enum sql_stmt st);

/* A borrowed connection: see sql_conn_clause above. */

/* Borrow a connected connection (connecting when needed, within the
   backoff rules), or MAVIS_ERR_SQL. */
SQL_INTERNAL int sql_borrow(struct mavis_sql *sql, struct sql_conn **c, struct mavis_error *err);
/* Give it back; broken = close it (the next borrower reconnects). */
SQL_INTERNAL void sql_return(struct mavis_sql *sql, struct sql_conn *c, bool broken);
/* True when c was opened for this borrow (a failure on it is not a stale
   connection that deserves one retry). */
SQL_INTERNAL bool sql_conn_fresh(const struct sql_conn *c);
SQL_INTERNAL PGconn *sql_conn_pg(struct sql_conn *c);

/* Run a prepared statement. Text parameters unless formats says 1 for
   binary (lengths then matter); results in result_format (0 text, 1 binary:
   bytea as its bytes). Returns the result (the
   caller PQclear()s it) or NULL with err set; *broken tells whether the
   connection is unusable now. */
SQL_INTERNAL PGresult *sql_exec(struct mavis_sql *sql, struct sql_conn *c, enum sql_stmt st,
				int nparams, const char *const *values, const int *lengths,
				const int *formats, int result_format, bool *broken,
				struct mavis_error *err);
/* A plain command without parameters (BEGIN, COMMIT, ROLLBACK). */
SQL_INTERNAL int sql_command(struct mavis_sql *sql, struct sql_conn *c, const char *cmd,
			     bool *broken, struct mavis_error *err);
/* A unit of work on one connection: statements, maybe a transaction. It
   sets *broken when the connection failed under it, and must be safe to run
   again from the start. */
typedef int (*sql_job_fn)(struct mavis_sql *sql, struct sql_conn *c, void *ctx, bool *broken,
			  struct mavis_error *err);
/* Borrow, run fn, give back; once more on a new connection when a reused
   one turned out broken (the server restarted since). Counts failures. */
SQL_INTERNAL int sql_run(struct mavis_sql *sql, sql_job_fn fn, void *ctx, struct mavis_error *err);

/* Count a failed call in the pool's stats. */
SQL_INTERNAL void sql_count_failure(struct mavis_sql *sql);

/* ---- values from mail (fuzz/fuzz_sql_values.c) ---- */

struct mavis_map_opts;
/* amavisd's make_query_keys for SQL: addr (as given), user+ext@dom,
   user@dom, for a local address user+ext and user, then @dom, @.dom,
   @.parent, ..., @. (the null address: "", "@", "@."). The localpart is
   lowercased unless opts say it is case sensitive, the domain lowercased
   and, when not ASCII, in its IDNA A-label form (xn--...). At most
   SQL_KEYS_MAX, duplicates removed; arena copies. */
SQL_INTERNAL size_t sql_query_keys(const char *addr, const struct mavis_map_opts *opts,
				   bool is_local, struct mavis_arena *a,
				   const char *keys[SQL_KEYS_MAX]);
/* amavisd's idn_to_ascii: dom as is when all ASCII (the caller lowercased
   it), else its IDNA A-label form lowercased (libidn2, TR46
   non-transitional), or as is when it does not convert. */
SQL_INTERNAL const char *sql_domain_ascii(struct mavis_arena *a, const char *dom);
/* s cut to at most max UTF-8 characters (never inside a sequence). */
SQL_INTERNAL const char *sql_cut_utf8(struct mavis_arena *a, const char *s, size_t max);
/* An arena copy of at most max bytes, every byte outside 0x20..0x7e as '?'. */
SQL_INTERNAL const char *sql_printable(struct mavis_arena *a, const char *s, size_t max);
/* maddr.email (lowercased, no trailing dots, the domain in its A-label
   form as amavisd find_or_save_addr writes it, <= 255 bytes) and in
   *domain_r the domain's labels reversed (<= 255 bytes). */
SQL_INTERNAL const char *sql_norm_addr(struct mavis_arena *a, const char *addr,
				       const char **domain_r);

/* The mail_id check shared with the file quarantine. */
SQL_INTERNAL bool sql_valid_mail_id(const char *id);

#endif
