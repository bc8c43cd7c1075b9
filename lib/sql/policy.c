/* SPDX-License-Identifier: GPL-2.0-or-later */
/* policy.c - the pgsql: map type: amavisd's sql_select_policy and
   sql_select_white_black_list, one query per recipient per message */

#include <ctype.h>
#include <idn2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/maps.h>
#include <mavis/stats.h>

#include "../maps/maps_int.h"
#include "sql_int.h"

/*
 * pgsql:policy          the column named after the config key holding it
 *                       (spam_tag2_level_maps -> spam_tag2_level, ...)
 * pgsql:policy/COLUMN   that column of the users+policy row
 * pgsql:wblist          in whitelist_sender_maps, blacklist_sender_maps and
 *                       score_sender_maps: the recipient's wblist entry for
 *                       the sender (W/Y/T.. white, B/N/F black, a number =
 *                       a score, ' ' neutral)
 *
 * A recipient's row is fetched once per message (the scratch arena, which is
 * the message's), all columns at once, and every pgsql:policy table of every
 * key answers from it: one round trip per recipient.
 */

enum pg_what { PG_POLICY, PG_WB_WHITE, PG_WB_BLACK, PG_WB_SCORE };

struct pg_map {
	enum pg_what what;
	enum mavis_mapval kind;
	char column[64];
};

/* amavisd's policy column for each *_maps key whose name is not simply the
   column plus "_maps". */
static const struct {
	const char *key;
	const char *column;
} columns[] = {
	{ "local_domains_maps", "local" },
	{ "virus_lovers_maps", "virus_lover" },
	{ "spam_lovers_maps", "spam_lover" },
	{ "banned_files_lovers_maps", "banned_files_lover" },
	{ "bad_header_lovers_maps", "bad_header_lover" },
	{ "unchecked_lovers_maps", "unchecked_lover" },
	{ "banned_filename_maps", "banned_rulenames" },
};

static bool
valid_column(const char *s)
{
	if (*s == '\0' || strlen(s) >= 64)
		return false;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_'))
			return false;
	return true;
}

static int
pg_open(const char *arg, enum mavis_mapval kind, enum mavis_mapkey keytype,
	struct mavis_arena *arena, void **state, struct mavis_error *err)
{
	const char *key = mavis_map_context();
	struct pg_map *m = mavis_arena_alloc(arena, sizeof(*m));

	m->kind = kind;
	if (keytype != MAVIS_MAPKEY_ADDR)
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "pgsql: only for address lookups");
	if (strcmp(arg, "wblist") == 0) {
		if (key != NULL && strcmp(key, "whitelist_sender_maps") == 0)
			m->what = PG_WB_WHITE;
		else if (key != NULL && strcmp(key, "blacklist_sender_maps") == 0)
			m->what = PG_WB_BLACK;
		else if (key != NULL && strcmp(key, "score_sender_maps") == 0)
			m->what = PG_WB_SCORE;
		else
			return mavis_error_set(err, MAVIS_ERR_CONFIG,
					       "pgsql:wblist: only in whitelist_sender_maps, "
					       "blacklist_sender_maps or score_sender_maps");
		*state = m;
		return 0;
	}
	m->what = PG_POLICY;
	if (strncmp(arg, "policy/", 7) == 0) {
		snprintf(m->column, sizeof(m->column), "%s", arg + 7);
	} else if (strcmp(arg, "policy") == 0) {
		size_t klen = key ? strlen(key) : 0;

		if (klen <= 5 || strcmp(key + klen - 5, "_maps") != 0)
			return mavis_error_set(err, MAVIS_ERR_CONFIG,
					       "pgsql:policy: say which column (pgsql:policy/COLUMN)");
		snprintf(m->column, sizeof(m->column), "%.*s", (int)(klen - 5), key);
		for (size_t i = 0; i < sizeof(columns) / sizeof(columns[0]); i++)
			if (strcmp(columns[i].key, key) == 0)
				snprintf(m->column, sizeof(m->column), "%s", columns[i].column);
	} else {
		return mavis_error_set(err, MAVIS_ERR_CONFIG,
				       "pgsql:%s: want pgsql:policy, pgsql:policy/COLUMN or pgsql:wblist",
				       arg);
	}
	if (!valid_column(m->column))
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "pgsql:%s: bad column name", arg);
	*state = m;
	return 0;
}

/* ---- the query keys (amavisd make_query_keys($addr, 0, $is_local):
   $sql_lookups_no_at_means_domain off, so domain keys carry the '@') ---- */

/* amavisd idn_to_ascii: an all-ASCII domain is only lowercased (done by
   mavis_addr_rhs); any other goes through libidn2's idn2_lookup_u8 with
   the flags Net::LibIDN2 uses (0: IDNA2008 with TR46 non-transitional
   mapping) and is lowercased; one that does not convert stays as it is. */
const char *
sql_domain_ascii(struct mavis_arena *a, const char *dom)
{
	const unsigned char *p;
	char *out = NULL;

	for (p = (const unsigned char *)dom; *p && *p < 0x80; p++)
		;
	if (*p == '\0')
		return dom;
	if (strlen(dom) > 1024 ||
	    idn2_lookup_u8((const uint8_t *)dom, (uint8_t **)&out, 0) != IDN2_OK || out == NULL) {
		idn2_free(out);
		return dom;
	}
	char *r = mavis_arena_strdup(a, out);

	idn2_free(out);
	for (char *q = r; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	return r;
}

size_t
sql_query_keys(const char *addr, const struct mavis_map_opts *opts, bool is_local,
	       struct mavis_arena *a, const char *keys[SQL_KEYS_MAX])
{
	size_t n = 0;

#define PUSH(k)                                                       \
	do {                                                          \
		const char *k_ = (k);                                 \
		bool dup_ = false;                                    \
		for (size_t i_ = 0; i_ < n; i_++)                     \
			dup_ = dup_ || strcmp(keys[i_], k_) == 0;     \
		if (!dup_ && n < SQL_KEYS_MAX)                        \
			keys[n++] = k_;                               \
	} while (0)
	if (*addr == '\0') {
		/* The null sender: "", "@", "@." */
		PUSH("");
		PUSH("@");
		PUSH("@.");
		return n;
	}
	const char *rhs[MAP_ADDR_RHS];

	mavis_addr_rhs(addr, opts, a, rhs);
	const char *user = rhs[2], *ext = rhs[3], *dom = sql_domain_ascii(a, rhs[4]);

	PUSH(addr);
	if (*ext)
		PUSH(mavis_arena_printf(a, "%s%s@%s", user, ext, dom));
	PUSH(mavis_arena_printf(a, "%s@%s", user, dom));
	if (is_local) {
		/* amavisd's bare-user keys, for local addresses only */
		if (*ext)
			PUSH(mavis_arena_printf(a, "%s%s", user, ext));
		PUSH(user);
	}
	PUSH(mavis_arena_printf(a, "@%s", dom));
	if (strchr(dom, '[') != NULL) {
		PUSH("@.");
		return n;
	}
	/* "@.sub.dom" ... "@." with at most 20 suffix keys, the last ones. */
	const char *suf[64];
	size_t ns = 0;

	for (const char *d = dom; ns < 63;) {
		suf[ns++] = mavis_arena_printf(a, "@.%s", d);
		if (*d == '\0')
			break;
		const char *dot = strchr(d, '.');

		d = dot ? dot + 1 : "";
	}
	for (size_t i = ns > 20 ? ns - 20 : 0; i < ns; i++)
		PUSH(suf[i]);
#undef PUSH
	return n;
}

/* The %a %l %u %e %d values of amavisd's lookup_sql (make_query_keys's
   $rhs: the domain lowercased and in its A-label form). */
static void
clause_rhs(const char *addr, const struct mavis_map_opts *opts, struct mavis_arena *a,
	   const char *rhs[MAP_ADDR_RHS])
{
	mavis_addr_rhs(addr, opts, a, rhs);
	rhs[4] = sql_domain_ascii(a, rhs[4]);
}

/* amavisd lookup_sql's $is_local: @local_domains_maps without its SQL and
   LDAP tables (they would ask the database what it is about to be asked). */
static bool
addr_is_local(const char *addr, const struct mavis_map_opts *opts, struct mavis_arena *a)
{
	struct mavis_map_opts o = *opts;
	struct mavis_map_result res;

	if (opts->local_domains == NULL)
		return false;
	o.memory_only = true;
	o.local_domains = NULL;
	return mavis_maplist_lookup(opts->local_domains, addr, &o, a, &res, NULL) > 0 &&
	       mavis_map_value_bool(res.value);
}

/* ---- the per-message cache ---- */

/* A failed query: the lookups that need its rows answer from here (no new
   round trip for the same message) and, with on_sql_failure = pass, the
   failure waits for the caller's log. */
struct sql_failure {
	struct sql_failure *next;
	int status;
	const char *text;
	bool passed;		/* counted and queued for the log */
	bool reported;		/* handed out by mavis_sql_passed_failures */
};

struct pol_row {
	struct pol_row *next;
	const char *addr;
	struct sql_failure *failed;	/* the query failed: no rows */
	bool found;		/* some users row matched */
	long long users_id;	/* of the first row; -1 none */
	size_t ncols;
	const char **names;
	const char **values;	/* NULL: no row gave a value */
};

struct wb_row {
	struct wb_row *next;
	const char *rcpt, *sender;
	struct sql_failure *failed;
	const char *wb;		/* NULL: no entry */
};

struct msg_cache {
	struct msg_cache *next;
	struct mavis_arena *arena;
	struct pol_row *rows;
	struct wb_row *wbs;
	struct sql_failure *fails, **fails_tail;
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct msg_cache *caches;

static void
cache_drop(void *arg)
{
	struct msg_cache *mc = arg;

	pthread_mutex_lock(&cache_mu);
	for (struct msg_cache **p = &caches; *p; p = &(*p)->next)
		if (*p == mc) {
			*p = mc->next;
			break;
		}
	pthread_mutex_unlock(&cache_mu);
}

/* The cache of scratch, made on first use and dropped when it is reset. */
static struct msg_cache *
cache_of(struct mavis_arena *scratch)
{
	struct msg_cache *mc;

	pthread_mutex_lock(&cache_mu);
	for (mc = caches; mc != NULL; mc = mc->next)
		if (mc->arena == scratch)
			break;
	if (mc == NULL) {
		mc = mavis_arena_alloc(scratch, sizeof(*mc));
		mc->arena = scratch;
		mc->fails_tail = &mc->fails;
		mc->next = caches;
		caches = mc;
		mavis_arena_on_reset(scratch, cache_drop, mc);
	}
	pthread_mutex_unlock(&cache_mu);
	return mc;
}

/* Remember err as the failure of a query of this message. */
static struct sql_failure *
failure_new(struct mavis_arena *a, const struct mavis_error *err)
{
	struct sql_failure *f = mavis_arena_calloc(a, 1, sizeof(*f));

	f->status = err->status < 0 ? err->status : MAVIS_ERR_SQL;
	f->text = mavis_arena_strdup(a, err->text);
	return f;
}

/* A lookup over a failed query. on_sql_failure = pass: "not found" (0),
   the failure counted and queued for the log once; else the failure. */
static int
failed_lookup(struct msg_cache *mc, struct sql_failure *f, const struct mavis_map_opts *opts,
	      struct mavis_error *err)
{
	if (opts == NULL || !opts->sql_failure_pass)
		return mavis_error_set(err, (enum mavis_status)f->status, "%s", f->text);
	if (!f->passed) {
		f->passed = true;
		pthread_mutex_lock(&cache_mu);
		*mc->fails_tail = f;
		mc->fails_tail = &f->next;
		pthread_mutex_unlock(&cache_mu);
		mavis_stats_count(MAVIS_STATS_SQL_PASSED);
	}
	return 0;
}

size_t
mavis_sql_passed_failures(struct mavis_arena *scratch, const char **texts, size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&cache_mu);
	for (struct msg_cache *mc = caches; mc != NULL; mc = mc->next) {
		if (mc->arena != scratch)
			continue;
		for (struct sql_failure *f = mc->fails; f != NULL && n < max; f = f->next)
			if (!f->reported) {
				f->reported = true;
				texts[n++] = f->text;
			}
		break;
	}
	pthread_mutex_unlock(&cache_mu);
	return n;
}

/* ---- the policy query ---- */

struct pol_job {
	const char *keys[SQL_KEYS_MAX];
	size_t nkeys;
	const char *rhs[MAP_ADDR_RHS];
	bool is_local;
	struct mavis_arena *a;
	struct pol_row *row;
};

static bool
is_null_or_absent(const char *v)
{
	return v == NULL;
}

static int
pol_job(struct mavis_sql *sql, struct sql_conn *c, void *ctx, bool *broken,
	struct mavis_error *err)
{
	struct pol_job *j = ctx;
	const struct sql_clause *cl = sql_conn_clause(c, SQL_ST_SEL_POLICY);
	const char *v[SQL_CLAUSE_PARAMS_MAX];
	int l[SQL_CLAUSE_PARAMS_MAX], f[SQL_CLAUSE_PARAMS_MAX];

	sql_clause_bind(cl, j->keys, j->nkeys, j->rhs, j->is_local, NULL, v, l, f);
	PGresult *r = sql_exec(sql, c, SQL_ST_SEL_POLICY, (int)cl->nparams, v, l, f, 0, broken, err);

	if (r == NULL)
		return MAVIS_ERR_SQL;
	struct pol_row *row = j->row;
	int nf = PQnfields(r), nt = PQntuples(r), email_col = -1, local_col = -1;

	row->found = nt > 0;
	row->users_id = -1;
	row->names = mavis_arena_calloc(j->a, (size_t)nf + 1, sizeof(char *));
	row->values = mavis_arena_calloc(j->a, (size_t)nf + 1, sizeof(char *));
	row->ncols = 0;
	/* One slot per distinct column name; a repeated name (id) is the
	   later column, as in amavisd's hash of the row. */
	int *slot = mavis_arena_calloc(j->a, (size_t)nf, sizeof(int));

	for (int k = 0; k < nf; k++) {
		const char *name = PQfname(r, k);
		size_t s;

		for (s = 0; s < row->ncols; s++)
			if (strcmp(row->names[s], name) == 0)
				break;
		if (s == row->ncols)
			row->names[row->ncols++] = mavis_arena_strdup(j->a, name);
		slot[k] = (int)s;
		if (strcmp(name, "email") == 0 && email_col < 0)
			email_col = k;
		if (strcmp(name, "local") == 0)
			local_col = k;
	}
	size_t local_slot = row->ncols;

	if (local_col < 0)
		row->names[row->ncols++] = "local";
	for (int t = 0; t < nt; t++) {
		const char **rv = mavis_arena_calloc(j->a, row->ncols, sizeof(char *));

		for (int k = 0; k < nf; k++)
			rv[slot[k]] = PQgetisnull(r, t, k) ? NULL : PQgetvalue(r, t, k);
		if (t == 0) {
			for (size_t s = 0; s < row->ncols; s++)
				if (strcmp(row->names[s], "id") == 0 && rv[s] != NULL)
					row->users_id = strtoll(rv[s], NULL, 10);
		}
		if (local_col < 0) {
			/* No users.local column: a matching row makes the
			   address local, except the catch-all "@." row. */
			bool catchall = false;

			if (email_col >= 0 && !PQgetisnull(r, t, email_col)) {
				size_t blen = 0;
				unsigned char *b = PQunescapeBytea(
					(const unsigned char *)PQgetvalue(r, t, email_col), &blen);

				catchall = b != NULL && blen == 2 && memcmp(b, "@.", 2) == 0;
				PQfreemem(b);
			}
			rv[local_slot] = catchall ? NULL : "Y";
		}
		/* Per field, the first row (highest priority) with a value. */
		for (size_t s = 0; s < row->ncols; s++)
			if (is_null_or_absent(row->values[s]) && rv[s] != NULL)
				row->values[s] = mavis_arena_strdup(j->a, rv[s]);
	}
	PQclear(r);
	return 0;
}

static int
policy_row(struct mavis_sql *sql, const char *addr, const struct mavis_map_opts *opts,
	   struct mavis_arena *scratch, struct pol_row **out, struct mavis_error *err)
{
	struct msg_cache *mc = cache_of(scratch);

	for (struct pol_row *p = mc->rows; p; p = p->next)
		if (strcmp(p->addr, addr) == 0) {
			*out = p;
			return 0;
		}
	struct pol_job j = { .a = scratch, .is_local = addr_is_local(addr, opts, scratch) };

	j.nkeys = sql_query_keys(addr, opts, j.is_local, scratch, j.keys);
	clause_rhs(addr, opts, scratch, j.rhs);
	j.row = mavis_arena_alloc(scratch, sizeof(*j.row));
	int rc = sql_run(sql, pol_job, &j, err);

	if (rc < 0) {
		/* Kept: the other keys of this recipient fail the same way
		   without a round trip each (an outage costs one per message). */
		mavis_error_prefix(err, "policy lookup of <%s>: ", addr);
		memset(j.row, 0, sizeof(*j.row));
		j.row->users_id = -1;
		j.row->failed = failure_new(scratch, err);
	}
	j.row->addr = mavis_arena_strdup(scratch, addr);
	j.row->next = mc->rows;
	mc->rows = j.row;
	*out = j.row;
	return 0;
}

/* ---- wblist ---- */

struct wb_job {
	long long rid;
	const char *keys[SQL_KEYS_MAX];
	size_t nkeys;
	const char *rhs[MAP_ADDR_RHS];
	bool is_local;
	struct mavis_arena *a;
	const char *wb;
};

static int
wb_job(struct mavis_sql *sql, struct sql_conn *c, void *ctx, bool *broken,
       struct mavis_error *err)
{
	struct wb_job *j = ctx;
	const struct sql_clause *cl = sql_conn_clause(c, SQL_ST_SEL_WBLIST);
	const char *v[SQL_CLAUSE_PARAMS_MAX];
	int l[SQL_CLAUSE_PARAMS_MAX], f[SQL_CLAUSE_PARAMS_MAX];
	char rid[24];

	snprintf(rid, sizeof(rid), "%lld", j->rid);
	sql_clause_bind(cl, j->keys, j->nkeys, j->rhs, j->is_local, rid, v, l, f);
	PGresult *r = sql_exec(sql, c, SQL_ST_SEL_WBLIST, (int)cl->nparams, v, l, f, 0, broken,
			       err);

	if (r == NULL)
		return MAVIS_ERR_SQL;
	j->wb = NULL;
	if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		j->wb = mavis_arena_strdup(j->a, PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

/* amavisd's Y/N reading of a policy flag: N, n, F, f, space, zeros or NULs
   (then spaces) are false, anything else true. */
static bool
sql_false(const char *v)
{
	size_t i = 0;

	if (v[0] == 'N' || v[0] == 'n' || v[0] == 'F' || v[0] == 'f' || v[0] == ' ')
		i = 1;
	else if (v[0] == '0')
		while (v[i] == '0')
			i++;
	else
		return false;
	while (v[i] == ' ')
		i++;
	return v[i] == '\0';
}

static bool
numeric(const char *s, double *out)
{
	char *end;

	while (*s == ' ')
		s++;
	if (*s == '\0')
		return false;
	*out = strtod(s, &end);
	while (*end == ' ')
		end++;
	return *end == '\0';
}

static int
wb_lookup(struct mavis_sql *sql, const struct pg_map *m, const char *sender,
	  const struct mavis_map_opts *opts, struct mavis_arena *scratch, const char **value,
	  struct mavis_error *err)
{
	const char *rcpt = mavis_map_recipient();

	if (rcpt == NULL)
		return 0;
	struct msg_cache *mc = cache_of(scratch);
	struct wb_row *w;

	for (w = mc->wbs; w; w = w->next)
		if (strcmp(w->rcpt, rcpt) == 0 && strcmp(w->sender, sender) == 0)
			break;
	if (w == NULL) {
		struct pol_row *p;
		int rc = policy_row(sql, rcpt, opts, scratch, &p, err);

		if (rc < 0)
			return rc;
		w = mavis_arena_calloc(scratch, 1, sizeof(*w));
		w->rcpt = mavis_arena_strdup(scratch, rcpt);
		w->sender = mavis_arena_strdup(scratch, sender);
		/* The recipient's row failed: its list is unknown too (one
		   failure, logged once). */
		w->failed = p->failed;
		if (p->failed == NULL && p->users_id >= 0) {
			struct wb_job j = { .rid = p->users_id, .a = scratch,
					    .is_local = addr_is_local(sender, opts, scratch) };

			j.nkeys = sql_query_keys(sender, opts, j.is_local, scratch, j.keys);
			clause_rhs(sender, opts, scratch, j.rhs);
			rc = sql_run(sql, wb_job, &j, err);
			if (rc < 0) {
				mavis_error_prefix(err, "wblist lookup of <%s> for <%s>: ", sender,
						   rcpt);
				w->failed = failure_new(scratch, err);
			}
			w->wb = j.wb;
		}
		w->next = mc->wbs;
		mc->wbs = w;
	}
	if (w->failed != NULL)
		return failed_lookup(mc, w->failed, opts, err);
	if (w->wb == NULL)
		return 0;
	const char *wb = w->wb;
	double score;
	bool num = numeric(wb, &score);
	bool neutral = !num && wb[strspn(wb, " ")] == '\0';
	bool black = !num && !neutral && strchr("BbNnFf", wb[0]) != NULL;

	switch (m->what) {
	case PG_WB_WHITE:
		*value = !num && !neutral && !black ? "1" : "0";
		return 1;
	case PG_WB_BLACK:
		*value = black ? "1" : "0";
		return 1;
	case PG_WB_SCORE:
		if (!num)
			return 0;
		*value = mavis_arena_printf(scratch, "%g", score);
		return 1;
	case PG_POLICY:
		break;
	}
	return 0;
}

static int
pg_lookup(void *state, const char *key, const struct mavis_map_opts *opts,
	  struct mavis_arena *scratch, const char **value, struct mavis_error *err)
{
	const struct pg_map *m = state;
	struct mavis_sql *sql = mavis_sql_global();

	if (sql == NULL)
		return mavis_error_set(err, MAVIS_ERR_SQL, "pgsql: lookup but no sql_dsn configured");
	if (scratch == NULL)
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "pgsql: lookup without an arena");
	if (m->what != PG_POLICY)
		return wb_lookup(sql, m, key, opts, scratch, value, err);
	struct pol_row *p;
	int rc = policy_row(sql, key, opts, scratch, &p, err);

	if (rc < 0)
		return rc;
	if (p->failed != NULL)
		return failed_lookup(cache_of(scratch), p->failed, opts, err);
	if (!p->found)
		return 0;
	for (size_t s = 0; s < p->ncols; s++) {
		if (strcmp(p->names[s], m->column) != 0)
			continue;
		const char *v = p->values[s];

		if (v == NULL)
			return 0;	/* NULL: not defined here, the next table decides */
		if (m->kind == MAVIS_MAPVAL_BOOL)
			v = sql_false(v) ? "0" : "1";
		*value = v;
		return 1;
	}
	return 0;
}

static const struct mavis_map_type pgsql_type = {
	.name = "pgsql",
	.open = pg_open,
	.lookup = pg_lookup,
	.close = NULL,
};

int
mavis_sql_register_maps(void)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static bool done;
	int rc = 0;

	pthread_mutex_lock(&mu);
	if (!done) {
		rc = mavis_map_register_type(&pgsql_type);
		done = rc == 0;
	}
	pthread_mutex_unlock(&mu);
	return rc;
}
