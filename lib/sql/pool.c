/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pool.c - the process's PostgreSQL connections: borrow, prepare once, back off */

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <mavis/alloc.h>
#include <mavis/stats.h>

#include "sql_int.h"

/* The statement texts (amavisd-new 2.13's default clauses, Amavis/Conf.pm,
   in libpq's $N syntax). The two lookup selects are built from their
   clauses (sql_select_policy, sql_select_white_black_list) when the pool is
   made: see clause_compile. */
static const struct {
	const char *name;
	const char *text;
} stmts[SQL_ST_COUNT] = {
	[SQL_ST_SEL_POLICY] = { "mavis_sel_policy", NULL },
	[SQL_ST_SEL_WBLIST] = { "mavis_sel_wblist", NULL },
	[SQL_ST_INS_QUAR] = { "mavis_ins_quar",
		"INSERT INTO quarantine (partition_tag, mail_id, chunk_ind, mail_text) "
		"VALUES ($1, $2, $3, $4)" },
	[SQL_ST_SEL_QUAR] = { "mavis_sel_quar",
		"SELECT mail_text FROM quarantine WHERE partition_tag=$1 AND mail_id=$2 "
		"ORDER BY chunk_ind" },
	[SQL_ST_SEL_MSGS] = { "mavis_sel_msgs",
		"SELECT msgs.partition_tag, msgs.mail_id, msgs.secret_id, msgs.am_id, "
		"msgs.time_num, msgs.content, msgs.quar_type, msgs.quar_loc, msgs.host, "
		"maddr.email, msgs.spam_level, msgs.size FROM msgs LEFT JOIN maddr "
		"ON msgs.sid=maddr.id WHERE msgs.mail_id=$1 AND "
		"($2::integer < 0 OR msgs.partition_tag=$2::integer) "
		"ORDER BY msgs.partition_tag DESC LIMIT 16" },
	[SQL_ST_SEL_ADR] = { "mavis_sel_adr",
		"SELECT id FROM maddr WHERE partition_tag=$1 AND email=$2" },
	/* ON CONFLICT: another host may add the same address meanwhile. */
	[SQL_ST_INS_ADR] = { "mavis_ins_adr",
		"INSERT INTO maddr (partition_tag, email, domain) VALUES ($1, $2, $3) "
		"ON CONFLICT DO NOTHING RETURNING id" },
	[SQL_ST_INS_MSG] = { "mavis_ins_msg",
		"INSERT INTO msgs (partition_tag, mail_id, secret_id, am_id, time_num, time_iso, "
		"sid, policy, client_addr, size, host) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
		"$9, $10, $11)" },
	[SQL_ST_UPD_MSG] = { "mavis_upd_msg",
		"UPDATE msgs SET content=$1, quar_type=$2, quar_loc=$3, dsn_sent=$4, "
		"spam_level=$5, message_id=$6, from_addr=$7, subject=$8, client_addr=$9, "
		"originating=$10 WHERE partition_tag=$11 AND mail_id=$12" },
	[SQL_ST_INS_RCP] = { "mavis_ins_rcp",
		"INSERT INTO msgrcpt (partition_tag, mail_id, rseqnum, rid, is_local, content, "
		"ds, rs, bl, wl, bspam_level, smtp_resp) VALUES ($1, $2, $3, $4, $5, $6, $7, "
		"$8, $9, $10, $11, $12)" },
};

struct sql_server {
	char *conninfo;
	struct timespec retry_at;	/* no new connection before (monotonic) */
	unsigned backoff_ms;		/* 0: healthy */
};

/* What a reload may change: the servers, the timeouts, the clauses. A
   connection keeps the generation it was opened with until it is closed,
   so a lookup in flight on a reload finishes with the server and the
   statements it started with; the next borrower of that connection closes
   it and connects with the new generation. Freed with its last user. */
struct sql_gen {
	unsigned refs;		/* the pool's while current, one per open connection; under mu */
	char *dsn;		/* as configured: a reload with the same settings is a no-op */
	struct sql_server servers[MAVIS_SQL_DSNS_MAX];
	size_t nservers;
	size_t current;		/* the server new connections try first */
	unsigned timeout_ms, connect_timeout_s;
	struct sql_clause sel_policy, sel_wblist;
};

struct sql_conn {
	PGconn *pg;
	struct sql_gen *gen;	/* while pg is open */
	bool busy;
	bool fresh;		/* opened by the current borrower */
	unsigned prepared;	/* bit per enum sql_stmt */
};

struct mavis_sql {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct sql_gen *gen;	/* current */
	struct sql_conn *conns;
	unsigned nconns;
	_Atomic unsigned wait_ms;
	unsigned backoff_max_ms;
	_Atomic uint64_t queries, failures, connects, connect_failures, reloads;
};

/* ---- lookup clauses ---- */

int
sql_clause_compile(const char *src, const char *keyname, unsigned nextra, struct sql_clause *out,
		   struct mavis_error *err)
{
	size_t o = 0, srclen = strlen(src);
	unsigned nkeylists = 0, nq = 0;

	memset(out, 0, sizeof(*out));
	if (srclen > SQL_CLAUSE_TEXT_MAX)
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "%s: longer than %d bytes", keyname,
				       SQL_CLAUSE_TEXT_MAX);
	const char *p = src + strspn(src, " \t\r\n(");

	/* It runs for every recipient, with the lookup's permissions: only
	   a query (the server refuses several statements in one prepare). */
	if (strncasecmp(p, "select", 6) != 0 || !(isspace((unsigned char)p[6]) || p[6] == '*'))
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "%s: not a SELECT: \"%.40s\"", keyname,
				       src);
	for (p = src; *p; p++) {
		int arg = -1;

		if (*p == '?')
			arg = SQL_ARG_EXTRA;
		else if (*p == '%' && p[1] != '\0' && strchr("kaluedL", p[1]) != NULL)
			arg = p[1] == 'k' ? SQL_ARG_KEY : p[1] == 'a' ? SQL_ARG_ADDR
			      : p[1] == 'l' ? SQL_ARG_LOCALPART : p[1] == 'u' ? SQL_ARG_USER
			      : p[1] == 'e' ? SQL_ARG_EXT : p[1] == 'd' ? SQL_ARG_DOMAIN
			      : SQL_ARG_IS_LOCAL;
		if (arg < 0) {
			out->text[o++] = *p;
			continue;
		}
		unsigned n = arg == SQL_ARG_KEY ? SQL_KEYS_MAX : 1;

		if (arg == SQL_ARG_KEY && ++nkeylists > SQL_CLAUSE_KEYLISTS_MAX)
			return mavis_error_set(err, MAVIS_ERR_CONFIG, "%s: more than %d %%k", keyname,
					       SQL_CLAUSE_KEYLISTS_MAX);
		if (arg == SQL_ARG_EXTRA && ++nq > nextra)
			return mavis_error_set(err, MAVIS_ERR_CONFIG,
					       nextra == 0 ? "%s: '?' has no value here"
							   : "%s: more than one '?' (the users.id)",
					       keyname);
		if (out->nparams + n > SQL_CLAUSE_PARAMS_MAX)
			return mavis_error_set(err, MAVIS_ERR_CONFIG, "%s: more than %d parameters",
					       keyname, SQL_CLAUSE_PARAMS_MAX);
		for (unsigned i = 0; i < n; i++) {
			out->arg[out->nparams] = (unsigned char)arg;
			out->slot[out->nparams] = (unsigned char)i;
			out->nparams++;
			o += (size_t)snprintf(out->text + o, sizeof(out->text) - o, "%s$%u",
					      i ? "," : "", out->nparams);
		}
		if (arg != SQL_ARG_EXTRA)
			p++;
	}
	out->text[o] = '\0';
	if (nkeylists == 0)
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "%s: no %%k (the lookup keys)", keyname);
	return 0;
}

void
sql_clause_bind(const struct sql_clause *cl, const char *const *keys, size_t nkeys,
		const char *const rhs[5], bool is_local, const char *extra, const char **v, int *l,
		int *f)
{
	for (unsigned i = 0; i < cl->nparams; i++) {
		const char *s = NULL;
		bool text = false;

		switch ((enum sql_arg)cl->arg[i]) {
		case SQL_ARG_KEY: s = keys[cl->slot[i] < nkeys ? cl->slot[i] : 0]; break;
		case SQL_ARG_ADDR: s = rhs[0]; break;
		case SQL_ARG_LOCALPART: s = rhs[1]; break;
		case SQL_ARG_USER: s = rhs[2]; break;
		case SQL_ARG_EXT: s = rhs[3]; break;
		case SQL_ARG_DOMAIN: s = rhs[4]; break;
		case SQL_ARG_IS_LOCAL: s = is_local ? "1" : "0"; text = true; break;
		case SQL_ARG_EXTRA: s = extra; text = true; break;
		}
		v[i] = s;
		l[i] = s ? (int)strlen(s) : 0;
		f[i] = text ? 0 : 1;
	}
}

const struct sql_clause *
sql_conn_clause(const struct sql_conn *c, enum sql_stmt st)
{
	return st == SQL_ST_SEL_POLICY ? &c->gen->sel_policy : &c->gen->sel_wblist;
}

static const char *
stmt_text(const struct sql_conn *c, enum sql_stmt st)
{
	if (st == SQL_ST_SEL_POLICY || st == SQL_ST_SEL_WBLIST)
		return sql_conn_clause(c, st)->text;
	return stmts[st].text;
}

/* What a failed prepare is: a clause of the config, or one of ours. */
static const char *
stmt_what(enum sql_stmt st)
{
	return st == SQL_ST_SEL_POLICY	 ? "sql_select_policy does not prepare"
	       : st == SQL_ST_SEL_WBLIST ? "sql_select_white_black_list does not prepare"
					 : stmts[st].name;
}

static struct mavis_sql *_Atomic global_sql;

void
mavis_sql_set_global(struct mavis_sql *sql)
{
	atomic_store(&global_sql, sql);
}

struct mavis_sql *
mavis_sql_global(void)
{
	return atomic_load(&global_sql);
}

static void
now_plus(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static bool
passed(const struct timespec *ts)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > ts->tv_sec || (now.tv_sec == ts->tv_sec && now.tv_nsec >= ts->tv_nsec);
}

static char *
trim_dup(const char *s, size_t len)
{
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	char *d = mavis_xmalloc(len + 1);

	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

static void
gen_free(struct sql_gen *g)
{
	if (g == NULL)
		return;
	for (size_t i = 0; i < g->nservers; i++)
		free(g->servers[i].conninfo);
	free(g->dsn);
	free(g);
}

/* Drop a reference; the caller holds mu. */
static void
gen_unref_locked(struct sql_gen *g)
{
	if (g != NULL && --g->refs == 0)
		gen_free(g);
}

/* The settings of o, checked: NULL with err (MAVIS_ERR_CONFIG) when not. */
static struct sql_gen *
gen_new(const struct mavis_sql_opts *o, struct mavis_error *err)
{
	if (o == NULL || o->dsn == NULL || o->dsn[strspn(o->dsn, " \t|")] == '\0') {
		mavis_error_set(err, MAVIS_ERR_CONFIG, "sql_dsn is empty");
		return NULL;
	}
	if (strlen(o->dsn) > MAVIS_SQL_DSN_MAX) {
		mavis_error_set(err, MAVIS_ERR_CONFIG, "sql_dsn is longer than %d bytes",
				MAVIS_SQL_DSN_MAX);
		return NULL;
	}
	struct sql_gen *g = mavis_xcalloc(1, sizeof(*g));

	g->refs = 1;
	g->dsn = mavis_xstrdup(o->dsn);
	for (const char *p = o->dsn;;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		char *one = trim_dup(p, len);

		if (*one == '\0') {
			free(one);
		} else if (g->nservers == MAVIS_SQL_DSNS_MAX) {
			free(one);
			gen_free(g);
			mavis_error_set(err, MAVIS_ERR_CONFIG, "sql_dsn: more than %d servers",
					MAVIS_SQL_DSNS_MAX);
			return NULL;
		} else {
			char *perr = NULL;
			PQconninfoOption *opts = PQconninfoParse(one, &perr);

			if (opts == NULL) {
				mavis_error_set(err, MAVIS_ERR_CONFIG, "sql_dsn \"%s\": %s", one,
						perr ? perr : "out of memory");
				PQfreemem(perr);
				free(one);
				gen_free(g);
				return NULL;
			}
			PQconninfoFree(opts);
			g->servers[g->nservers++].conninfo = one;
		}
		if (bar == NULL)
			break;
		p = bar + 1;
	}
	g->timeout_ms = o->timeout_ms ? o->timeout_ms : 5000;
	g->connect_timeout_s = o->connect_timeout_s ? o->connect_timeout_s : 5;
	int rc = sql_clause_compile(o->select_policy && *o->select_policy ? o->select_policy
				    : MAVIS_SQL_SELECT_POLICY_DEFAULT,
				    "sql_select_policy", 0, &g->sel_policy, err);

	if (rc == 0)
		rc = sql_clause_compile(o->select_wblist && *o->select_wblist ? o->select_wblist
					: MAVIS_SQL_SELECT_WBLIST_DEFAULT,
					"sql_select_white_black_list", 1, &g->sel_wblist, err);
	if (rc < 0) {
		gen_free(g);
		return NULL;
	}
	return g;
}

static bool
gen_same(const struct sql_gen *a, const struct sql_gen *b)
{
	return strcmp(a->dsn, b->dsn) == 0 && a->timeout_ms == b->timeout_ms &&
	       a->connect_timeout_s == b->connect_timeout_s &&
	       strcmp(a->sel_policy.text, b->sel_policy.text) == 0 &&
	       strcmp(a->sel_wblist.text, b->sel_wblist.text) == 0;
}

int
mavis_sql_new(const struct mavis_sql_opts *o, struct mavis_sql **out, struct mavis_error *err)
{
	*out = NULL;
	struct sql_gen *g = gen_new(o, err);

	if (g == NULL)
		return MAVIS_ERR_CONFIG;
	struct mavis_sql *sql = mavis_xcalloc(1, sizeof(*sql));

	pthread_mutex_init(&sql->mu, NULL);
	pthread_cond_init(&sql->cv, NULL);
	sql->gen = g;
	sql->nconns = o->pool_size ? o->pool_size : 4;
	sql->wait_ms = o->wait_ms ? o->wait_ms : g->timeout_ms;
	sql->backoff_max_ms = o->backoff_max_ms ? o->backoff_max_ms : 10000;
	sql->conns = mavis_xcalloc(sql->nconns, sizeof(*sql->conns));
	*out = sql;
	return 0;
}

/* Close c's connection (mu held). */
static void
conn_close_locked(struct sql_conn *c)
{
	if (c->pg != NULL)
		PQfinish(c->pg);
	c->pg = NULL;
	gen_unref_locked(c->gen);
	c->gen = NULL;
}

int
mavis_sql_reconfigure(struct mavis_sql *sql, const struct mavis_sql_opts *o, bool *changed,
		      struct mavis_error *err)
{
	*changed = false;
	struct sql_gen *g = gen_new(o, err);

	if (g == NULL)
		return MAVIS_ERR_CONFIG;
	pthread_mutex_lock(&sql->mu);
	if (gen_same(g, sql->gen)) {
		pthread_mutex_unlock(&sql->mu);
		gen_free(g);
		return 0;
	}
	struct sql_gen *old = sql->gen;

	sql->gen = g;
	sql->wait_ms = o->wait_ms ? o->wait_ms : g->timeout_ms;
	/* Idle connections of the old settings go now; busy ones when
	   their borrower gives them back (its call finishes on them). */
	for (unsigned i = 0; i < sql->nconns; i++)
		if (!sql->conns[i].busy && sql->conns[i].gen != NULL && sql->conns[i].gen != g)
			conn_close_locked(&sql->conns[i]);
	gen_unref_locked(old);
	pthread_mutex_unlock(&sql->mu);
	atomic_fetch_add(&sql->reloads, 1);
	*changed = true;
	return 0;
}

void
mavis_sql_free(struct mavis_sql **sqlp)
{
	struct mavis_sql *sql = sqlp ? *sqlp : NULL;

	if (sql == NULL)
		return;
	if (atomic_load(&global_sql) == sql)
		atomic_store(&global_sql, NULL);
	pthread_mutex_lock(&sql->mu);
	for (unsigned i = 0; sql->conns && i < sql->nconns; i++)
		conn_close_locked(&sql->conns[i]);
	gen_unref_locked(sql->gen);
	pthread_mutex_unlock(&sql->mu);
	free(sql->conns);
	pthread_cond_destroy(&sql->cv);
	pthread_mutex_destroy(&sql->mu);
	free(sql);
	*sqlp = NULL;
}

void
mavis_sql_get_stats(const struct mavis_sql *sql, struct mavis_sql_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (sql == NULL)
		return;
	out->queries = atomic_load(&sql->queries);
	out->failures = atomic_load(&sql->failures);
	out->connects = atomic_load(&sql->connects);
	out->connect_failures = atomic_load(&sql->connect_failures);
	out->reloads = atomic_load(&sql->reloads);
}

void
sql_count_failure(struct mavis_sql *sql)
{
	atomic_fetch_add(&sql->failures, 1);
	mavis_stats_count(MAVIS_STATS_SQL_ERROR);	/* mavis_sql_errors_total */
}

/* The message of a libpq error without its trailing newline. */
static void
set_pg_error(struct mavis_error *err, const char *what, const char *msg)
{
	size_t len = msg ? strlen(msg) : 0;

	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
		len--;
	mavis_error_set(err, MAVIS_ERR_SQL, "%s: %.*s", what, (int)len, msg ? msg : "");
}

/* Open a connection to server i of g; NULL with err set on failure. */
static PGconn *
open_one(const struct sql_gen *g, size_t i, struct mavis_error *err)
{
	char ct[16], opt[64];
	const char *keys[] = { "dbname", "connect_timeout", "options", "application_name", NULL };
	const char *vals[] = { g->servers[i].conninfo, ct, opt, "mavisd", NULL };

	snprintf(ct, sizeof(ct), "%u", g->connect_timeout_s);
	/* statement_timeout for every statement of the session, set in the
	   startup packet: no extra round trip per connection or query. */
	snprintf(opt, sizeof(opt), "-c statement_timeout=%u", g->timeout_ms);
	PGconn *pg = PQconnectdbParams(keys, vals, 1);

	if (pg == NULL) {
		mavis_error_set(err, MAVIS_ERR_SQL, "connect: out of memory");
		return NULL;
	}
	if (PQstatus(pg) != CONNECTION_OK) {
		set_pg_error(err, "connect", PQerrorMessage(pg));
		PQfinish(pg);
		return NULL;
	}
	return pg;
}

/* Connect c to the first server of the current generation out of backoff,
   starting at the one that answered last. */
static int
conn_open(struct mavis_sql *sql, struct sql_conn *c, struct mavis_error *err)
{
	struct mavis_error last = { 0 };
	bool tried = false;

	pthread_mutex_lock(&sql->mu);
	struct sql_gen *g = sql->gen;

	g->refs++;	/* held by c when it connects, dropped below if not */
	size_t first = g->current;
	pthread_mutex_unlock(&sql->mu);
	for (size_t k = 0; k < g->nservers; k++) {
		size_t i = (first + k) % g->nservers;
		struct sql_server *s = &g->servers[i];

		pthread_mutex_lock(&sql->mu);
		bool wait = s->backoff_ms > 0 && !passed(&s->retry_at);
		pthread_mutex_unlock(&sql->mu);
		if (wait)
			continue;
		tried = true;
		PGconn *pg = open_one(g, i, &last);

		pthread_mutex_lock(&sql->mu);
		if (pg != NULL) {
			s->backoff_ms = 0;
			g->current = i;
			c->pg = pg;
			c->gen = g;
			pthread_mutex_unlock(&sql->mu);
			atomic_fetch_add(&sql->connects, 1);
			c->prepared = 0;
			c->fresh = true;
			return 0;
		}
		/* 100 ms, doubling up to backoff_max_ms. */
		s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : 100;
		if (s->backoff_ms > sql->backoff_max_ms)
			s->backoff_ms = sql->backoff_max_ms;
		now_plus(&s->retry_at, s->backoff_ms);
		pthread_mutex_unlock(&sql->mu);
		atomic_fetch_add(&sql->connect_failures, 1);
	}
	pthread_mutex_lock(&sql->mu);
	gen_unref_locked(g);
	pthread_mutex_unlock(&sql->mu);
	if (!tried)
		return mavis_error_set(err, MAVIS_ERR_SQL,
				       "no database server reachable (all in reconnect backoff)");
	if (err)
		*err = last;
	return MAVIS_ERR_SQL;
}

int
sql_borrow(struct mavis_sql *sql, struct sql_conn **out, struct mavis_error *err)
{
	struct timespec deadline;
	struct sql_conn *c = NULL;

	*out = NULL;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += sql->wait_ms / 1000;
	deadline.tv_nsec += (long)(sql->wait_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&sql->mu);
	for (;;) {
		/* A connected idle one first, else any idle slot. */
		for (unsigned i = 0; i < sql->nconns && c == NULL; i++)
			if (!sql->conns[i].busy && sql->conns[i].pg != NULL)
				c = &sql->conns[i];
		for (unsigned i = 0; i < sql->nconns && c == NULL; i++)
			if (!sql->conns[i].busy)
				c = &sql->conns[i];
		if (c != NULL)
			break;
		if (pthread_cond_timedwait(&sql->cv, &sql->mu, &deadline) == ETIMEDOUT) {
			pthread_mutex_unlock(&sql->mu);
			sql_count_failure(sql);
			return mavis_error_set(err, MAVIS_ERR_SQL,
					       "no free database connection within %u ms (pool of %u)",
					       sql->wait_ms, sql->nconns);
		}
	}
	c->busy = true;
	c->fresh = false;
	/* Opened before a reload changed the settings, or dead: a new one. */
	if (c->pg != NULL && (c->gen != sql->gen || PQstatus(c->pg) != CONNECTION_OK))
		conn_close_locked(c);
	pthread_mutex_unlock(&sql->mu);
	if (c->pg == NULL) {
		int rc = conn_open(sql, c, err);

		if (rc < 0) {
			sql_return(sql, c, false);
			sql_count_failure(sql);
			return rc;
		}
	}
	*out = c;
	return 0;
}

void
sql_return(struct mavis_sql *sql, struct sql_conn *c, bool broken)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&sql->mu);
	/* broken, or of settings a reload replaced meanwhile: closed now */
	if (c->pg != NULL && (broken || c->gen != sql->gen))
		conn_close_locked(c);
	c->busy = false;
	pthread_cond_signal(&sql->cv);
	pthread_mutex_unlock(&sql->mu);
}

bool
sql_conn_fresh(const struct sql_conn *c)
{
	return c->fresh;
}

PGconn *
sql_conn_pg(struct sql_conn *c)
{
	return c->pg;
}

/* After a failed call: is the connection still good for the next one? */
static bool
conn_broken(PGconn *pg)
{
	return PQstatus(pg) != CONNECTION_OK;
}

/* The server's "cached plan must not change result type" (SQLSTATE 0A000). */
static bool
stale_plan(const PGresult *r)
{
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);

	return state != NULL && strcmp(state, "0A000") == 0 && msg != NULL &&
	       strstr(msg, "cached plan") != NULL;
}

PGresult *
sql_exec(struct mavis_sql *sql, struct sql_conn *c, enum sql_stmt st, int nparams,
	 const char *const *values, const int *lengths, const int *formats, int result_format,
	 bool *broken, struct mavis_error *err)
{
	PGresult *r;

	*broken = false;
	if (!(c->prepared & (1u << st))) {
		r = PQprepare(c->pg, stmts[st].name, stmt_text(c, st), 0, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			set_pg_error(err, stmt_what(st), PQerrorMessage(c->pg));
			PQclear(r);
			*broken = conn_broken(c->pg);
			return NULL;
		}
		PQclear(r);
		c->prepared |= 1u << st;
	}
	atomic_fetch_add(&sql->queries, 1);
	r = PQexecPrepared(c->pg, stmts[st].name, nparams, values, lengths, formats,
			   result_format);
	ExecStatusType s = PQresultStatus(r);

	if (s == PGRES_FATAL_ERROR && stale_plan(r)) {
		/* "SELECT users.*" after a column was added or dropped (an admin
		   adding users.local): the server refuses the old plan once.
		   Prepare it anew and run it again. */
		char cmd[80];
		PGresult *d;

		PQclear(r);
		snprintf(cmd, sizeof(cmd), "DEALLOCATE %s", stmts[st].name);
		d = PQexec(c->pg, cmd);
		PQclear(d);
		c->prepared &= ~(1u << st);
		r = PQprepare(c->pg, stmts[st].name, stmt_text(c, st), 0, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			set_pg_error(err, stmt_what(st), PQerrorMessage(c->pg));
			PQclear(r);
			*broken = conn_broken(c->pg);
			return NULL;
		}
		PQclear(r);
		c->prepared |= 1u << st;
		r = PQexecPrepared(c->pg, stmts[st].name, nparams, values, lengths, formats,
				   result_format);
		s = PQresultStatus(r);
	}

	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
		set_pg_error(err, stmts[st].name, PQerrorMessage(c->pg));
		PQclear(r);
		*broken = conn_broken(c->pg);
		return NULL;
	}
	return r;
}

int
sql_command(struct mavis_sql *sql, struct sql_conn *c, const char *cmd, bool *broken,
	    struct mavis_error *err)
{
	PGresult *r = PQexec(c->pg, cmd);

	atomic_fetch_add(&sql->queries, 1);
	*broken = false;
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		set_pg_error(err, cmd, PQerrorMessage(c->pg));
		PQclear(r);
		*broken = conn_broken(c->pg);
		return MAVIS_ERR_SQL;
	}
	PQclear(r);
	return 0;
}

int
sql_run(struct mavis_sql *sql, sql_job_fn fn, void *ctx, struct mavis_error *err)
{
	for (int attempt = 0;; attempt++) {
		struct sql_conn *c;
		bool broken = false;
		int rc = sql_borrow(sql, &c, err);

		if (rc < 0)
			return rc;
		bool fresh = c->fresh;

		rc = fn(sql, c, ctx, &broken, err);
		sql_return(sql, c, broken);
		/* A connection idle since before a server restart fails at its
		   first use: that one is worth a second try on a new one. */
		if (rc < 0 && broken && !fresh && attempt == 0)
			continue;
		if (rc == MAVIS_ERR_SQL)
			sql_count_failure(sql);
		return rc;
	}
}
