/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sa_bayes.c - Bayes probability (CombineChi.pm) and SpamAssassin's PostgreSQL store (BayesStore/PgSQL.pm) */

#include <math.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include <mavis/alloc.h>
#include <mavis/buf.h>
#include <mavis/sa_bayes.h>
#include <mavis/sql.h>

#include "sa_bayes.h"
#include "sql/sql_int.h"

#define BAYES_TIMEOUT_DEFAULT 2000u
#define TOUCH_BATCH 20000	/* pending atime updates flushed at this many */
#define TOUCH_MAX 200000	/* more pending are dropped (counted) */
#define TOUCH_PERIOD_S 30

/* ---- the numbers ------------------------------------------------------------- */

double
sa_bayes_token_prob(unsigned s, unsigned n, unsigned ns, unsigned nn)
{
	if (ns == 0 || nn == 0 || (s == 0 && n == 0))
		return -1;
	/* _compute_prob_for_all_tokens, Robinson's f(x) for low counts */
	double prob = ((double)s * nn) / ((double)n * ns + (double)s * nn);
	double robn = (double)s + n;

	return (SA_BAYES_FW_S * SA_BAYES_FW_X + robn * prob) / (SA_BAYES_FW_S + robn);
}

static double
chi2q(double x2, double halfv)
{
	double m = x2 / 2.0;
	double sum, term;

	sum = term = exp(0 - m);
	for (double i = 1; i < halfv; i++) {
		term *= m / i;
		sum += term;
	}
	return sum < 1.0 ? sum : 1.0;
}

double
sa_bayes_combine(unsigned ns, unsigned nn, const double *p, size_t np)
{
	double S, H;
	int Sexp = 0, Hexp = 0;

	if (np == 0 || ns + nn == 0)
		return -1;
	S = (double)ns / ((double)ns + nn);
	H = (double)nn / ((double)ns + nn);
	for (size_t i = 0; i < np; i++) {
		S *= 1.0 - p[i];
		H *= p[i];
		/* keep the products from underflowing (POSIX frexp, as Perl) */
		if (S < 1e-200) {
			int e;

			S = frexp(S, &e);
			Sexp += e;
		}
		if (H < 1e-200) {
			int e;

			H = frexp(H, &e);
			Hexp += e;
		}
	}
	S = log(S) + Sexp * M_LN2;
	H = log(H) + Hexp * M_LN2;
	S = 1.0 - chi2q(-2.0 * S, (double)np);
	H = 1.0 - chi2q(-2.0 * H, (double)np);
	return ((S - H) + 1.0) / 2.0;
}

struct strength {
	size_t i;
	double p, st;
};

static int
by_strength(const void *a, const void *b)
{
	const struct strength *x = a, *y = b;

	if (x->st != y->st)
		return x->st < y->st ? 1 : -1;
	return x->i < y->i ? -1 : x->i > y->i;
}

double
sa_bayes_score(unsigned ns, unsigned nn, const unsigned *s, const unsigned *n, size_t np,
	       size_t *sig, size_t *nsig, struct mavis_arena *a)
{
	struct strength *v = mavis_arena_calloc(a, np ? np : 1, sizeof(*v));
	double *probs = mavis_arena_calloc(a, np ? np : 1, sizeof(*probs));
	size_t k = 0, used = 0;

	*nsig = 0;
	for (size_t i = 0; i < np; i++) {
		double p = sa_bayes_token_prob(s[i], n[i], ns, nn);

		if (p < 0)
			continue;
		v[k].i = i;
		v[k].p = p;
		v[k].st = fabs(p - 0.5);
		k++;
	}
	if (k == 0)
		return -1;
	/* the 150 strongest; among equals Perl's sort order is that of a hash,
	   so any choice is SpamAssassin's on some run */
	qsort(v, k, sizeof(*v), by_strength);
	if (k > SA_BAYES_N_SIGNIFICANT)
		k = SA_BAYES_N_SIGNIFICANT;
	for (size_t i = 0; i < k; i++) {
		if (v[i].st < SA_BAYES_MIN_PROB_STRENGTH)
			continue;
		probs[used++] = v[i].p;
		if (sig != NULL)
			sig[(*nsig)++] = v[i].i;
	}
	if (used == 0)
		return -1;
	return sa_bayes_combine(ns, nn, probs, used);
}

/* ---- the handle ------------------------------------------------------------- */

struct mavis_sa_bayes {
	struct mavis_sql *sql;
	struct sa_bayes_tokenizer *tok;
	char *username;
	unsigned min_spam, min_ham;
	bool no_touch;
	atomic_uint_least64_t scans, scan_failures, learned, touched;
	/* atime updates waiting for the toucher thread */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool thread_on, stop;
	unsigned char (*pending)[5];
	size_t n_pending, cap_pending;
	long pending_atime;
};

static void *toucher(void *arg);

int
mavis_sa_bayes_new(const struct mavis_sa_rules *r, const struct mavis_sa_bayes_opts *o,
		   struct mavis_sa_bayes **out, struct mavis_error *err)
{
	struct mavis_sa_bayes *b;
	unsigned to;

	if (o == NULL || o->dsn == NULL || o->dsn[0] == '\0')
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "bayes: no database (spam_bayes_dsn)");
	b = mavis_xcalloc(1, sizeof(*b));
	to = o->timeout_ms ? o->timeout_ms : BAYES_TIMEOUT_DEFAULT;
	struct mavis_sql_opts so = {
		.dsn = o->dsn, .pool_size = 4, .timeout_ms = to, .wait_ms = to,
		.connect_timeout_s = to / 1000 ? to / 1000 : 1,
	};
	int rc = mavis_sql_new(&so, &b->sql, err);

	if (rc == 0)
		rc = sa_bayes_tokenizer_new(r, &b->tok, err);
	if (rc < 0) {
		mavis_error_prefix(err, "bayes: ");
		mavis_sql_free(&b->sql);
		free(b);
		return rc;
	}
	if (o->username != NULL && o->username[0] != '\0') {
		b->username = mavis_xstrdup(o->username);
	} else {
		/* SpamAssassin: the user the process runs as */
		struct passwd pw, *res = NULL;
		char buf[1024];

		if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
			b->username = mavis_xstrdup(res->pw_name);
		else
			b->username = mavis_xstrdup("mavis");
	}
	b->min_spam = o->min_spam ? o->min_spam : SA_BAYES_MIN_NUM;
	b->min_ham = o->min_ham ? o->min_ham : SA_BAYES_MIN_NUM;
	b->no_touch = o->no_touch;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	if (!b->no_touch && pthread_create(&b->thread, NULL, toucher, b) == 0)
		b->thread_on = true;
	*out = b;
	return 0;
}

void
mavis_sa_bayes_free(struct mavis_sa_bayes **bp)
{
	struct mavis_sa_bayes *b = bp ? *bp : NULL;

	if (b == NULL)
		return;
	if (b->thread_on) {
		pthread_mutex_lock(&b->mu);
		b->stop = true;
		pthread_cond_signal(&b->cv);
		pthread_mutex_unlock(&b->mu);
		pthread_join(b->thread, NULL);
	}
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cv);
	free(b->pending);
	sa_bayes_tokenizer_free(&b->tok);
	mavis_sql_free(&b->sql);
	free(b->username);
	free(b);
	*bp = NULL;
}

void
mavis_sa_bayes_get_stats(const struct mavis_sa_bayes *b, struct mavis_sa_bayes_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (b == NULL)
		return;
	out->scans = atomic_load(&b->scans);
	out->scan_failures = atomic_load(&b->scan_failures);
	out->learned = atomic_load(&b->learned);
	out->touched = atomic_load(&b->touched);
}

/* ---- SQL -------------------------------------------------------------------- */

static int
pg_fail(struct mavis_error *err, const char *what, PGconn *pg, PGresult *r, bool *broken)
{
	mavis_error_set(err, MAVIS_ERR_SQL, "bayes %s: %s", what, PQerrorMessage(pg));
	PQclear(r);
	*broken = PQstatus(pg) != CONNECTION_OK;
	return MAVIS_ERR_SQL;
}

/* A bytea[] literal of the ids: {"\\x0102030405",...} */
static char *
id_array(const struct sa_btok *v, size_t n, const size_t *pick, struct mavis_arena *a)
{
	char *s = mavis_arena_alloc_uninit(a, n * 17 + 3);
	size_t o = 0;

	s[o++] = '{';
	for (size_t k = 0; k < n; k++) {
		const unsigned char *id = v[pick ? pick[k] : k].id;

		if (k)
			s[o++] = ',';
		o += (size_t)snprintf(s + o, 17, "\"\\\\x%02x%02x%02x%02x%02x\"", id[0], id[1], id[2],
				      id[3], id[4]);
	}
	s[o++] = '}';
	s[o] = '\0';
	return s;
}

static int
hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* bytea in text output ("\x0102030405") -> 5 bytes; false when not so */
static bool
parse_id(const char *s, unsigned char id[5])
{
	if (strlen(s) != 12 || s[0] != '\\' || s[1] != 'x')
		return false;
	for (int i = 0; i < 5; i++) {
		int h = hexval(s[2 + 2 * i]), l = hexval(s[3 + 2 * i]);

		if (h < 0 || l < 0)
			return false;
		id[i] = (unsigned char)(h << 4 | l);
	}
	return true;
}

/* ---- scan -------------------------------------------------------------------- */

struct scan_job {
	struct mavis_sa_bayes *b;
	const struct sa_btoks *t;
	struct mavis_arena *a;
	bool have_user;
	unsigned ns, nn;
	unsigned *s, *n;	/* per token of t */
	size_t known;
};

struct idx {
	unsigned char id[5];
	size_t i;
};

static int
cmp_idx(const void *a, const void *b)
{
	return memcmp(((const struct idx *)a)->id, ((const struct idx *)b)->id, 5);
}

/* One round trip: the user's message counts and the counts of the
   message's tokens (tok_get_all and nspam_nham_get in one statement). */
static int
scan_fn(struct mavis_sql *sql, struct sql_conn *c, void *ctx, bool *broken,
	struct mavis_error *err)
{
	static const char q[] =
		"WITH u AS (SELECT id, spam_count, ham_count FROM bayes_vars WHERE username = $1) "
		"SELECT NULL::bytea, spam_count, ham_count FROM u UNION ALL "
		"SELECT t.token, t.spam_count, t.ham_count FROM bayes_token t, u "
		"WHERE t.id = u.id AND t.token = ANY ($2::bytea[])";
	struct scan_job *j = ctx;
	PGconn *pg = sql_conn_pg(c);
	const char *vals[2] = { j->b->username, id_array(j->t->v, j->t->n, NULL, j->a) };
	PGresult *r;

	(void)sql;
	*broken = false;
	r = PQexecParams(pg, q, 2, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return pg_fail(err, "token lookup", pg, r, broken);
	/* the ids sorted, to find each row's token */
	struct idx *v = mavis_arena_calloc(j->a, j->t->n ? j->t->n : 1, sizeof(*v));

	for (size_t i = 0; i < j->t->n; i++) {
		memcpy(v[i].id, j->t->v[i].id, 5);
		v[i].i = i;
	}
	qsort(v, j->t->n, sizeof(*v), cmp_idx);
	for (int row = 0; row < PQntuples(r); row++) {
		unsigned sc = (unsigned)strtoul(PQgetvalue(r, row, 1), NULL, 10);
		unsigned hc = (unsigned)strtoul(PQgetvalue(r, row, 2), NULL, 10);
		unsigned char id[5];

		if (PQgetisnull(r, row, 0)) {
			j->have_user = true;
			j->ns = sc;
			j->nn = hc;
			continue;
		}
		if (!parse_id(PQgetvalue(r, row, 0), id))
			continue;
		struct idx key, *hit;

		memcpy(key.id, id, 5);
		hit = bsearch(&key, v, j->t->n, sizeof(*v), cmp_idx);
		if (hit == NULL)
			continue;
		size_t k = hit->i;

		j->s[k] = sc;
		j->n[k] = hc;
		j->known++;
	}
	PQclear(r);
	return 0;
}

/* ---- atime updates, off the reply path ------------------------------------- */

static void
touch_queue(struct mavis_sa_bayes *b, const struct sa_btoks *t, const size_t *sig, size_t n)
{
	if (b->no_touch || !b->thread_on || n == 0)
		return;
	pthread_mutex_lock(&b->mu);
	if (b->n_pending + n <= TOUCH_MAX) {
		if (b->n_pending + n > b->cap_pending) {
			size_t nc = b->cap_pending ? b->cap_pending * 2 : 4096;

			while (nc < b->n_pending + n)
				nc *= 2;
			b->pending = mavis_xrealloc(b->pending, nc * sizeof(*b->pending));
			b->cap_pending = nc;
		}
		for (size_t i = 0; i < n; i++)
			memcpy(b->pending[b->n_pending++], t->v[sig[i]].id, 5);
		b->pending_atime = (long)time(NULL);
		if (b->n_pending >= TOUCH_BATCH)
			pthread_cond_signal(&b->cv);
	}
	pthread_mutex_unlock(&b->mu);
}

struct touch_job {
	struct mavis_sa_bayes *b;
	const char *ids;
	long atime;
};

/* tok_touch_all: atime of the used tokens, newest_token_age with it */
static int
touch_fn(struct mavis_sql *sql, struct sql_conn *c, void *ctx, bool *broken,
	 struct mavis_error *err)
{
	static const char q[] =
		"WITH u AS (SELECT id FROM bayes_vars WHERE username = $1), "
		"t AS (UPDATE bayes_token SET atime = $3 FROM u WHERE bayes_token.id = u.id "
		"AND token = ANY ($2::bytea[]) AND atime < $3 RETURNING 1) "
		"UPDATE bayes_vars SET newest_token_age = $3 FROM u WHERE bayes_vars.id = u.id "
		"AND newest_token_age < $3 AND EXISTS (SELECT 1 FROM t)";
	struct touch_job *j = ctx;
	PGconn *pg = sql_conn_pg(c);
	char at[24];
	const char *vals[3] = { j->b->username, j->ids, at };
	PGresult *r;

	(void)sql;
	snprintf(at, sizeof(at), "%ld", j->atime);
	r = PQexecParams(pg, q, 3, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return pg_fail(err, "atime update", pg, r, broken);
	PQclear(r);
	return 0;
}

static void
touch_flush(struct mavis_sa_bayes *b, unsigned char (*ids)[5], size_t n, long atime)
{
	struct mavis_arena *a = mavis_arena_new(n * 20 + 64);
	struct sa_btok *v = mavis_arena_calloc(a, n ? n : 1, sizeof(*v));
	struct mavis_error e = { 0 };

	for (size_t i = 0; i < n; i++)
		memcpy(v[i].id, ids[i], 5);
	struct touch_job j = { .b = b, .ids = id_array(v, n, NULL, a), .atime = atime };

	if (sql_run(b->sql, touch_fn, &j, &e) == 0)
		atomic_fetch_add(&b->touched, n);
	mavis_arena_free(&a);
}

static void *
toucher(void *arg)
{
	struct mavis_sa_bayes *b = arg;

	pthread_mutex_lock(&b->mu);
	for (;;) {
		if (b->n_pending < TOUCH_BATCH && !b->stop) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += TOUCH_PERIOD_S;
			pthread_cond_timedwait(&b->cv, &b->mu, &ts);
		}
		if (b->n_pending > 0) {
			unsigned char (*ids)[5] = b->pending;
			size_t n = b->n_pending;
			long at = b->pending_atime;

			b->pending = NULL;
			b->n_pending = b->cap_pending = 0;
			pthread_mutex_unlock(&b->mu);
			touch_flush(b, ids, n, at);
			free(ids);
			pthread_mutex_lock(&b->mu);
		}
		if (b->stop)
			break;
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

/* ---- scoring ------------------------------------------------------------------ */

struct check_ctx {
	struct mavis_sa_bayes *b;
	const struct mavis_sa_rules *r;
	struct mavis_arena *a;
	struct mavis_sa_bayes_scan *scan;
	struct mavis_error *berr;
};

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int
check_pre(void *ctx, struct sa_msg *m, const void *msg, size_t len)
{
	struct check_ctx *x = ctx;
	struct sa_btoks t;
	uint64_t t0;

	(void)msg;
	(void)len;
	sa_bayes_tokenize(x->b->tok, m, x->a, &t);
	x->scan->tokens = t.n;
	if (t.n == 0)
		return 0;
	struct scan_job j = {
		.b = x->b, .t = &t, .a = x->a,
		.s = mavis_arena_calloc(x->a, t.n, sizeof(unsigned)),
		.n = mavis_arena_calloc(x->a, t.n, sizeof(unsigned)),
	};

	atomic_fetch_add(&x->b->scans, 1);
	t0 = now_us();
	if (sql_run(x->b->sql, scan_fn, &j, x->berr) < 0) {
		atomic_fetch_add(&x->b->scan_failures, 1);
		return 0;
	}
	x->scan->lookup_us = (unsigned)(now_us() - t0);
	x->scan->nspam = j.ns;
	x->scan->nham = j.nn;
	x->scan->known = j.known;
	/* learner_is_scan_available: enough of both, else score set 0 */
	if (!j.have_user || j.ns < x->b->min_spam || j.nn < x->b->min_ham)
		return 0;
	x->scan->available = true;
	size_t *sig = mavis_arena_calloc(x->a, t.n, sizeof(*sig)), nsig = 0;
	double p = sa_bayes_score(j.ns, j.nn, j.s, j.n, t.n, sig, &nsig, x->a);

	if (p >= 0) {
		m->bayes_have = true;
		m->bayes_prob = p;
		x->scan->have_prob = true;
		x->scan->prob = p;
		x->scan->used = nsig;
		touch_queue(x->b, &t, sig, nsig);
	}
	return 1;
}

int
mavis_sa_check_bayes(const struct mavis_sa_rules *r, struct mavis_sa_bayes *b, const void *msg,
		     size_t len, const struct mavis_sa_auth *auth, struct mavis_arena *a, struct mavis_spam_result *out,
		     struct mavis_sa_bayes_scan *scan, struct mavis_error *bayes_err,
		     struct mavis_error *err)
{
	struct mavis_sa_bayes_scan dummy;
	struct mavis_error be = { 0 };
	struct check_ctx x = { .b = b, .r = r, .a = a, .scan = scan ? scan : &dummy,
			       .berr = bayes_err ? bayes_err : &be };

	memset(x.scan, 0, sizeof(*x.scan));
	if (b == NULL)
		return mavis_sa_check_auth(r, msg, len, auth, a, out, err);
	return sa_check_with(r, msg, len, auth, a, out, check_pre, &x, err);
}

/* ---- learning ------------------------------------------------------------------ */

struct learn_job {
	struct mavis_sa_bayes *b;
	const struct sa_btoks *t;
	const char *ids;
	const char *msgids[2];	/* generated, Message-Id (may be NULL) */
	enum mavis_sa_learn what;
	long atime;
	struct mavis_sa_learn_result *res;
};

static PGresult *
exec(PGconn *pg, const char *q, int n, const char *const *v)
{
	return PQexecParams(pg, q, n, NULL, v, NULL, NULL, 0);
}

static int
cmd_ok(PGconn *pg, const char *what, PGresult *r, bool *broken, struct mavis_error *err)
{
	ExecStatusType st = PQresultStatus(r);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pg_fail(err, what, pg, r, broken);
		PGresult *rb = PQexec(pg, "ROLLBACK");

		PQclear(rb);
		return MAVIS_ERR_SQL;
	}
	return 0;
}

/* the counts of one class changed by delta, tokens and messages */
static int
count_change(PGconn *pg, const char *uid, const struct learn_job *j, bool spam, int delta,
	     bool *broken, struct mavis_error *err)
{
	char d[8], z[2] = "0", at[24];
	const char *v[5] = { uid, j->ids, spam ? d : z, spam ? z : d, at };
	PGresult *r;

	snprintf(d, sizeof(d), "%d", delta);
	snprintf(at, sizeof(at), "%ld", delta > 0 ? j->atime : 0L);
	if (j->t->n > 0) {
		r = exec(pg, "SELECT put_tokens($1, $2::bytea[], $3, $4, $5)", 5, v);
		if (cmd_ok(pg, "put_tokens", r, broken, err) < 0)
			return MAVIS_ERR_SQL;
		PQclear(r);
	}
	const char *v2[2] = { uid, d };

	r = exec(pg, spam ? "UPDATE bayes_vars SET spam_count = spam_count + $2 WHERE id = $1"
			  : "UPDATE bayes_vars SET ham_count = ham_count + $2 WHERE id = $1",
		 2, v2);
	if (cmd_ok(pg, "nspam_nham_change", r, broken, err) < 0)
		return MAVIS_ERR_SQL;
	PQclear(r);
	return 0;
}

static int
learn_fn(struct mavis_sql *sql, struct sql_conn *c, void *ctx, bool *broken,
	 struct mavis_error *err)
{
	struct learn_job *j = ctx;
	PGconn *pg = sql_conn_pg(c);
	const char *user[1] = { j->b->username };
	char uid[24];
	char seen = 0;
	const char *seen_id = NULL;
	PGresult *r;

	(void)sql;
	*broken = false;
	j->res->changed = j->res->relearned = false;
	r = PQexec(pg, "BEGIN");
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return pg_fail(err, "BEGIN", pg, r, broken);
	PQclear(r);
	/* _initialize_db(1): the user's row, made when missing */
	r = exec(pg, "INSERT INTO bayes_vars (username) SELECT $1::varchar WHERE NOT EXISTS "
		     "(SELECT 1 FROM bayes_vars WHERE username = $1::varchar)", 1, user);
	if (cmd_ok(pg, "bayes_vars", r, broken, err) < 0)
		return MAVIS_ERR_SQL;
	PQclear(r);
	r = exec(pg, "SELECT id FROM bayes_vars WHERE username = $1 FOR UPDATE", 1, user);
	if (cmd_ok(pg, "bayes_vars", r, broken, err) < 0)
		return MAVIS_ERR_SQL;
	if (PQntuples(r) != 1) {
		PQclear(r);
		r = PQexec(pg, "ROLLBACK");
		PQclear(r);
		return mavis_error_set(err, MAVIS_ERR_SQL, "bayes: no bayes_vars row for %s",
				       j->b->username);
	}
	snprintf(uid, sizeof(uid), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	for (int k = 0; k < 2 && !seen; k++) {
		if (j->msgids[k] == NULL)
			continue;
		const char *v[2] = { uid, j->msgids[k] };

		r = exec(pg, "SELECT flag FROM bayes_seen WHERE id = $1 AND msgid = $2", 2, v);
		if (cmd_ok(pg, "seen_get", r, broken, err) < 0)
			return MAVIS_ERR_SQL;
		if (PQntuples(r) > 0) {
			seen = PQgetvalue(r, 0, 0)[0];
			seen_id = j->msgids[k];
		}
		PQclear(r);
	}
	bool want_spam = j->what == MAVIS_SA_LEARN_SPAM;

	if (j->what == MAVIS_SA_LEARN_FORGET || (seen && (seen == 's') != want_spam)) {
		if (seen == 's' || seen == 'h') {
			if (count_change(pg, uid, j, seen == 's', -1, broken, err) < 0)
				return MAVIS_ERR_SQL;
			const char *v[2] = { uid, seen_id };

			r = exec(pg, "DELETE FROM bayes_seen WHERE id = $1 AND msgid = $2", 2, v);
			if (cmd_ok(pg, "seen_delete", r, broken, err) < 0)
				return MAVIS_ERR_SQL;
			PQclear(r);
			/* the counts may have reached 0: cleanup() */
			const char *vu[1] = { uid };

			r = exec(pg, "DELETE FROM bayes_token WHERE id = $1 AND spam_count <= 0 "
				     "AND ham_count <= 0", 1, vu);
			if (cmd_ok(pg, "cleanup", r, broken, err) < 0)
				return MAVIS_ERR_SQL;
			PQclear(r);
			if (j->what == MAVIS_SA_LEARN_FORGET)
				j->res->changed = true;
			else
				j->res->relearned = true;
		}
		seen = 0;
	}
	if (j->what != MAVIS_SA_LEARN_FORGET && !seen) {
		if (count_change(pg, uid, j, want_spam, 1, broken, err) < 0)
			return MAVIS_ERR_SQL;
		const char *v[3] = { uid, j->msgids[0], want_spam ? "s" : "h" };

		r = exec(pg, "INSERT INTO bayes_seen (id, msgid, flag) VALUES ($1, $2, $3)", 3, v);
		if (cmd_ok(pg, "seen_put", r, broken, err) < 0)
			return MAVIS_ERR_SQL;
		PQclear(r);
		j->res->changed = true;
	}
	r = PQexec(pg, "COMMIT");
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return pg_fail(err, "COMMIT", pg, r, broken);
	PQclear(r);
	return 0;
}

/* Message::get_msgid: the Message-Id inside <>, or NULL */
static const char *
header_msgid(const struct sa_msg *m, struct mavis_arena *a)
{
	const char *v = sa_msg_get(m, a, "Message-Id", 0);

	if (v == NULL)
		return NULL;
	while (*v == ' ' || *v == '\t' || *v == '\n')
		v++;
	const char *e = v + strlen(v);

	while (e > v && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n'))
		e--;
	if (e - v < 3 || *v != '<' || e[-1] != '>')
		return NULL;
	return mavis_arena_strndup(a, v + 1, (size_t)(e - v - 2));
}

int
mavis_sa_bayes_learn(struct mavis_sa_bayes *b, const struct mavis_sa_rules *r, const void *msg,
		     size_t len, enum mavis_sa_learn what, struct mavis_arena *a,
		     struct mavis_sa_learn_result *out, struct mavis_error *err)
{
	struct sa_msg m;
	struct sa_btoks t;
	int rc;

	if (b == NULL || r == NULL || a == NULL || out == NULL || (msg == NULL && len > 0))
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "mavis_sa_bayes_learn: NULL argument");
	memset(out, 0, sizeof(*out));
	rc = sa_msg_build(msg ? msg : "", len, r, a, &m, err);
	if (rc < 0)
		return rc;
	sa_bayes_tokenize(b->tok, &m, a, &t);
	struct learn_job j = {
		.b = b, .t = &t, .ids = id_array(t.v, t.n, NULL, a), .what = what,
		.atime = (long)time(NULL), .res = out,
	};

	j.msgids[0] = sa_bayes_msgid(&m, msg ? msg : "", len, a);
	j.msgids[1] = header_msgid(&m, a);
	if (j.msgids[1] != NULL && strlen(j.msgids[1]) > 200)	/* bayes_seen.msgid varchar(200) */
		j.msgids[1] = NULL;
	out->tokens = t.n;
	out->msgid = j.msgids[0];
	rc = sql_run(b->sql, learn_fn, &j, err);
	if (rc == 0 && out->changed)
		atomic_fetch_add(&b->learned, 1);
	return rc;
}
