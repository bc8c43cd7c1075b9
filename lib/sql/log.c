/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.c - amavisd's SQL log (maddr, msgs, msgrcpt), written off the reply
   path by one thread from a bounded queue */

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mavis/alloc.h>
#include <mavis/arena.h>
#include <mavis/log.h>

#include "sql_int.h"

enum rec_kind { REC_BEGIN, REC_END };

struct rec {
	struct rec *next;
	enum rec_kind kind;
	struct mavis_arena *a;	/* the record and its strings */
	struct mavis_sql_log_begin b;
	struct mavis_sql_log_end e;
};

/* Addresses already in maddr: most senders and recipients repeat, and each
   hit saves a round trip. Direct-mapped; cleared on any failed batch (its
   new rows were rolled back) and every few minutes (housekeeping may have
   purged rows). */
#define ADDR_CACHE 1024
#define ADDR_CACHE_TTL 300

struct addr_slot {
	char *email;	/* heap; NULL = empty */
	int ptag;
	long long id;
};

struct mavis_sql_log {
	struct mavis_sql *sql;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	struct rec *head, *tail;
	unsigned n, max, batch_max;
	bool stop;
	struct timespec drain_until;	/* with stop: give up after this */
	struct addr_slot cache[ADDR_CACHE];
	time_t cache_born;
	time_t last_full_log;
	uint64_t full_since_log;
	_Atomic uint64_t queued, written, dropped_full, dropped_bad, batches, db_failures;
};

static struct mavis_sql_log *_Atomic global_log;

void
mavis_sql_log_set_global(struct mavis_sql_log *l)
{
	atomic_store(&global_log, l);
}

struct mavis_sql_log *
mavis_sql_log_global(void)
{
	return atomic_load(&global_log);
}

/* ---- values as amavisd writes them ---- */

/* Cut s to at most max characters of UTF-8 (bytes when it is not UTF-8),
   never inside a sequence. */
const char *
sql_cut_utf8(struct mavis_arena *a, const char *s, size_t max)
{
	size_t i = 0, chars = 0;

	while (s[i] != '\0' && chars < max) {
		unsigned char c = (unsigned char)s[i];
		size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;

		for (size_t k = 1; k < n; k++)
			if (((unsigned char)s[i + k] & 0xC0) != 0x80)
				n = 1;
		i += n;
		chars++;
	}
	return s[i] == '\0' ? s : mavis_arena_strndup(a, s, i);
}

/* 7-bit printable only, at most 255 characters: message_id, quar_loc,
   smtp_resp, policy, client_addr (amavisd s/[^\040-\176]/?/g). */
const char *
sql_printable(struct mavis_arena *a, const char *s, size_t max)
{
	size_t len = strlen(s);
	char *d = mavis_arena_strndup(a, s, len < max ? len : max);

	for (char *p = d; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	return d;
}

/* maddr.email: localpart lowercased, domain lowercased without trailing
   dots, at most 255 bytes; *domain_r the labels reversed ("com.example"). */
const char *
sql_norm_addr(struct mavis_arena *a, const char *addr, const char **domain_r)
{
	const char *at = strrchr(addr, '@');

	*domain_r = "";
	if (*addr == '\0')
		return "";
	char *e = mavis_arena_strdup(a, addr);

	for (char *p = e; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (at != NULL) {
		size_t ll = (size_t)(at - addr);
		char *dom = e + ll + 1;
		size_t dl = strlen(dom);

		while (dl > 0 && dom[dl - 1] == '.')
			dom[--dl] = '\0';
		/* amavisd find_or_save_addr: the domain in its A-label form */
		const char *ace = sql_domain_ascii(a, dom);

		if (ace != dom) {
			e = mavis_arena_printf(a, "%.*s@%s", (int)ll, e, ace);
			dom = e + ll + 1;
			dl = strlen(dom);
		}
		char *rev = mavis_arena_alloc(a, dl + 1);
		size_t o = 0;

		for (size_t end = dl; end > 0;) {
			size_t start = end;

			while (start > 0 && dom[start - 1] != '.')
				start--;
			if (o > 0)
				rev[o++] = '.';
			memcpy(rev + o, dom + start, end - start);
			o += end - start;
			end = start > 0 ? start - 1 : 0;
			if (start == 0)
				break;
		}
		rev[o] = '\0';
		*domain_r = o > 255 ? mavis_arena_strndup(a, rev, 255) : rev;
	}
	if (strlen(e) > 255)
		e[255] = '\0';
	return e;
}

static void
iso8601(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y%m%dT%H%M%SZ", &tm);
}

/* ---- writing ---- */

static unsigned
addr_hash(int ptag, const char *s)
{
	unsigned h = 2166136261u ^ (unsigned)ptag;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % ADDR_CACHE;
}

static void
cache_clear(struct mavis_sql_log *l)
{
	for (size_t i = 0; i < ADDR_CACHE; i++) {
		free(l->cache[i].email);
		l->cache[i].email = NULL;
	}
	l->cache_born = time(NULL);
}

/* amavisd's find_or_save_addr: the maddr id of addr, made when new. */
static int
addr_id(struct mavis_sql_log *l, struct sql_conn *c, struct mavis_arena *a, int ptag,
	const char *addr, long long *id, bool *broken, struct mavis_error *err)
{
	const char *domain, *email = sql_norm_addr(a, addr, &domain);
	struct addr_slot *slot = &l->cache[addr_hash(ptag, email)];
	char pt[16];

	if (slot->email != NULL && slot->ptag == ptag && strcmp(slot->email, email) == 0) {
		*id = slot->id;
		return 0;
	}
	snprintf(pt, sizeof(pt), "%d", ptag);
	const char *v[3] = { pt, email, domain };
	int len[3] = { 0, (int)strlen(email), (int)strlen(domain) };
	int f[3] = { 0, 1, 1 };
	*id = -1;
	for (int attempt = 0; attempt < 2 && *id < 0; attempt++) {
		PGresult *r = sql_exec(l->sql, c, SQL_ST_SEL_ADR, 2, v, len, f, 0, broken, err);

		if (r == NULL)
			return MAVIS_ERR_SQL;
		if (PQntuples(r) > 0) {
			*id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
			PQclear(r);
			break;
		}
		PQclear(r);
		r = sql_exec(l->sql, c, SQL_ST_INS_ADR, 3, v, len, f, 0, broken, err);
		if (r == NULL)
			return MAVIS_ERR_SQL;
		if (PQntuples(r) > 0)
			*id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
	}
	if (*id < 0)
		return mavis_error_set(err, MAVIS_ERR_SQL, "maddr: no id for <%s>", email);
	free(slot->email);
	slot->email = mavis_xstrdup(email);
	slot->ptag = ptag;
	slot->id = *id;
	return 0;
}

static int
write_begin(struct mavis_sql_log *l, struct sql_conn *c, struct rec *r, bool *broken,
	    struct mavis_error *err)
{
	const struct mavis_sql_log_begin *b = &r->b;
	long long sid;
	int rc = addr_id(l, c, r->a, b->partition_tag, b->sender, &sid, broken, err);

	if (rc < 0)
		return rc;
	char pt[16], tn[24], iso[32], sids[24], size[24];

	snprintf(pt, sizeof(pt), "%d", b->partition_tag);
	snprintf(tn, sizeof(tn), "%lld", (long long)b->rx_time);
	iso8601(b->rx_time, iso);
	snprintf(sids, sizeof(sids), "%lld", sid);
	snprintf(size, sizeof(size), "%llu", (unsigned long long)b->size);
	const char *v[11] = { pt, b->mail_id, b->secret_id, sql_printable(r->a, b->am_id, 20), tn, iso,
			      sids, sql_printable(r->a, b->policy, 255),
			      sql_printable(r->a, b->client_addr, 255), size,
			      sql_printable(r->a, b->host, 255) };
	int len[11] = { 0, (int)strlen(b->mail_id), (int)strlen(b->secret_id) };
	int f[11] = { 0, 1, 1 };
	PGresult *res = sql_exec(l->sql, c, SQL_ST_INS_MSG, 11, v, len, f, 0, broken, err);

	if (res == NULL)
		return MAVIS_ERR_SQL;
	PQclear(res);
	return 0;
}

static int
write_end(struct mavis_sql_log *l, struct sql_conn *c, struct rec *r, bool *broken,
	  struct mavis_error *err)
{
	const struct mavis_sql_log_end *e = &r->e;
	char pt[16];
	int rc;

	snprintf(pt, sizeof(pt), "%d", e->partition_tag);
	for (size_t i = 0; i < e->nrcpts; i++) {
		const struct mavis_sql_log_rcpt *rc_ = &e->rcpts[i];
		long long rid;
		char seq[24], rids[24], lvl[32];
		char loc[2] = { rc_->local ? 'Y' : 'N', 0 }, ct[2] = { rc_->content ? rc_->content : ' ', 0 };
		char ds[2] = { rc_->ds ? rc_->ds : 'P', 0 };
		char bl[2] = { rc_->blacklisted ? 'Y' : 'N', 0 }, wl[2] = { rc_->whitelisted ? 'Y' : 'N', 0 };

		/* A null recipient does not exist; amavisd skips what has no maddr id. */
		if (*rc_->addr == '\0')
			continue;
		rc = addr_id(l, c, r->a, e->partition_tag, rc_->addr, &rid, broken, err);
		if (rc < 0)
			return rc;
		snprintf(seq, sizeof(seq), "%zu", i + 1);
		snprintf(rids, sizeof(rids), "%lld", rid);
		snprintf(lvl, sizeof(lvl), "%.3f", rc_->has_level ? rc_->level : 0.0);
		const char *v[12] = { pt, e->mail_id, seq, rids, loc, ct, ds, " ", bl, wl, lvl,
				      sql_printable(r->a, rc_->smtp_resp, 255) };
		int len[12] = { 0, (int)strlen(e->mail_id) };
		int f[12] = { 0, 1 };
		PGresult *res = sql_exec(l->sql, c, SQL_ST_INS_RCP, 12, v, len, f, 0, broken, err);

		if (res == NULL)
			return MAVIS_ERR_SQL;
		PQclear(res);
	}
	char ct[2] = { e->content ? e->content : ' ', 0 }, qt[2] = { e->quar_type ? e->quar_type : ' ', 0 };
	char dsn[2] = { e->dsn_sent ? e->dsn_sent : 'N', 0 }, lvl[32];
	char orig[2] = { e->originating ? 'Y' : 'N', 0 };

	snprintf(lvl, sizeof(lvl), "%.3f", e->has_spam_level ? e->spam_level : 0.0);
	const char *from = sql_cut_utf8(r->a, e->from_addr, 255), *subj = sql_cut_utf8(r->a, e->subject, 255);
	const char *v[12] = { ct, qt, sql_printable(r->a, e->quar_loc, 255), dsn, lvl,
			      sql_printable(r->a, e->message_id, 255), from, subj,
			      sql_printable(r->a, e->client_addr, 255), orig, pt, e->mail_id };
	/* from_addr and subject are bytea in iRedMail's schema, varchar in
	   amavisd's: binary parameters fit both. */
	int len[12] = { [6] = (int)strlen(from), [7] = (int)strlen(subj),
			[11] = (int)strlen(e->mail_id) };
	int f[12] = { [6] = 1, [7] = 1, [11] = 1 };
	PGresult *res = sql_exec(l->sql, c, SQL_ST_UPD_MSG, 12, v, len, f, 0, broken, err);

	if (res == NULL)
		return MAVIS_ERR_SQL;
	PQclear(res);
	return 0;
}

struct batch {
	struct mavis_sql_log *l;
	struct rec *first;
	unsigned n;
	bool ran;	/* a connection was had (else the database is away) */
	bool broken;	/* and it broke under the batch */
};

static int
batch_job(struct mavis_sql *sql, struct sql_conn *c, void *ctx, bool *broken,
	  struct mavis_error *err)
{
	struct batch *b = ctx;
	struct rec *r = b->first;
	int rc = sql_command(sql, c, "BEGIN", broken, err);

	b->ran = true;
	/* r->next of the last one is the producers' (the queue's tail): not
	   read. */
	for (unsigned i = 0; rc == 0 && i < b->n; i++) {
		rc = r->kind == REC_BEGIN ? write_begin(b->l, c, r, broken, err) :
					    write_end(b->l, c, r, broken, err);
		if (i + 1 < b->n)
			r = r->next;
	}
	if (rc == 0)
		rc = sql_command(sql, c, "COMMIT", broken, err);
	if (rc < 0 && !*broken) {
		struct mavis_error ignored = { 0 };

		sql_command(sql, c, "ROLLBACK", broken, &ignored);
	}
	if (rc < 0)
		cache_clear(b->l);
	b->broken = *broken;
	return rc;
}

static void
rec_free(struct rec *r)
{
	struct mavis_arena *a = r->a;

	mavis_arena_free(&a);	/* r lives in it */
}

static bool
past(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

static void *
writer(void *arg)
{
	struct mavis_sql_log *l = arg;
	unsigned backoff_ms = 0;
	bool down = false;

	for (;;) {
		pthread_mutex_lock(&l->mu);
		while (!l->stop && l->head == NULL)
			pthread_cond_wait(&l->cv, &l->mu);
		if (l->head == NULL || (l->stop && past(&l->drain_until))) {
			pthread_mutex_unlock(&l->mu);
			break;
		}
		struct batch b = { l, l->head, 0, false, false };
		struct rec *r = l->head;

		while (r != NULL && b.n < l->batch_max) {
			b.n++;
			r = r->next;
		}
		pthread_mutex_unlock(&l->mu);
		if (time(NULL) - l->cache_born > ADDR_CACHE_TTL)
			cache_clear(l);

		struct mavis_error err = { 0 };
		int rc = sql_run(l->sql, batch_job, &b, &err);
		unsigned done = 0;

		if (rc == 0) {
			done = b.n;
			atomic_fetch_add(&l->written, b.n);
			atomic_fetch_add(&l->batches, 1);
			if (down)
				mavis_log_notice(NULL, "sql_log: database back, writing the queue (%u records)",
						 l->n);
			down = false;
			backoff_ms = 0;
		} else if (b.ran && !b.broken) {
			/* A statement failed on a good connection: find the bad
			   record(s) by writing them one by one. */
			struct rec *one = b.first;
			unsigned i;

			for (i = 0; i < b.n; i++, one = i < b.n ? one->next : NULL) {
				struct batch single = { l, one, 1, false, false };
				struct mavis_error e1 = err;

				if (b.n > 1) {
					e1 = (struct mavis_error){ 0 };
					if (sql_run(l->sql, batch_job, &single, &e1) == 0) {
						atomic_fetch_add(&l->written, 1);
						continue;
					}
					if (!single.ran || single.broken)
						break;	/* away after all: keep the rest */
				}
				atomic_fetch_add(&l->dropped_bad, 1);
				mavis_log_warn(NULL, "sql_log: record of %s dropped: %s",
					       one->kind == REC_BEGIN ? one->b.mail_id : one->e.mail_id,
					       e1.text);
			}
			done = i;
		} else {
			/* The database is away: keep the queue, wait, retry. */
			atomic_fetch_add(&l->db_failures, 1);
			if (!down)
				mavis_log_warn(NULL, "sql_log: database unavailable, queuing (%u records): %s",
					       l->n, err.text);
			down = true;
			backoff_ms = backoff_ms ? backoff_ms * 2 : 200;
			if (backoff_ms > 5000)
				backoff_ms = 5000;
		}
		pthread_mutex_lock(&l->mu);
		for (unsigned i = 0; i < done; i++) {
			struct rec *x = l->head;

			l->head = x->next;
			if (l->head == NULL)
				l->tail = NULL;
			l->n--;
			rec_free(x);
		}
		if (backoff_ms > 0 && done == 0) {
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += backoff_ms / 1000;
			until.tv_nsec += (long)(backoff_ms % 1000) * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			if (!l->stop)
				pthread_cond_timedwait(&l->cv, &l->mu, &until);
		}
		pthread_mutex_unlock(&l->mu);
		if (l->stop && done == 0 && past(&l->drain_until))
			break;
	}
	return NULL;
}

int
mavis_sql_log_new(struct mavis_sql *sql, const struct mavis_sql_log_opts *o,
		  struct mavis_sql_log **out, struct mavis_error *err)
{
	*out = NULL;
	if (sql == NULL)
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "sql_log: no sql_dsn configured");
	struct mavis_sql_log *l = mavis_xcalloc(1, sizeof(*l));

	l->sql = sql;
	l->max = o && o->queue_max ? o->queue_max : 10000;
	l->batch_max = o && o->batch_max ? o->batch_max : 64;
	l->cache_born = time(NULL);
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	int rc = pthread_create(&l->thread, NULL, writer, l);

	if (rc != 0) {
		pthread_cond_destroy(&l->cv);
		pthread_mutex_destroy(&l->mu);
		free(l);
		return mavis_error_set(err, MAVIS_ERR_RESOURCE, "sql_log: cannot start the writer: %s",
				       strerror(rc));
	}
	*out = l;
	return 0;
}

void
mavis_sql_log_free(struct mavis_sql_log **lp, unsigned drain_ms)
{
	struct mavis_sql_log *l = lp ? *lp : NULL;

	if (l == NULL)
		return;
	if (atomic_load(&global_log) == l)
		atomic_store(&global_log, NULL);
	pthread_mutex_lock(&l->mu);
	clock_gettime(CLOCK_MONOTONIC, &l->drain_until);
	l->drain_until.tv_sec += drain_ms / 1000;
	l->drain_until.tv_nsec += (long)(drain_ms % 1000) * 1000000L;
	if (l->drain_until.tv_nsec >= 1000000000L) {
		l->drain_until.tv_sec++;
		l->drain_until.tv_nsec -= 1000000000L;
	}
	l->stop = true;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->thread, NULL);
	if (l->n > 0)
		mavis_log_warn(NULL, "sql_log: %u records not written at stop", l->n);
	while (l->head != NULL) {
		struct rec *x = l->head;

		l->head = x->next;
		rec_free(x);
	}
	cache_clear(l);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l);
	*lp = NULL;
}

static const char *
dup0(struct mavis_arena *a, const char *s)
{
	return mavis_arena_strdup(a, s ? s : "");
}

static int
enqueue(struct mavis_sql_log *l, struct rec *r)
{
	pthread_mutex_lock(&l->mu);
	if (l->n >= l->max || l->stop) {
		time_t now = time(NULL);
		uint64_t since;

		l->full_since_log++;
		since = l->full_since_log;
		bool say = now - l->last_full_log >= 10;

		if (say) {
			l->last_full_log = now;
			l->full_since_log = 0;
		}
		pthread_mutex_unlock(&l->mu);
		atomic_fetch_add(&l->dropped_full, 1);
		if (say)
			mavis_log_warn(NULL, "sql_log: queue full (%u records), %llu record(s) dropped "
					     "(mail is not affected)", l->max, (unsigned long long)since);
		rec_free(r);
		return MAVIS_ERR_RESOURCE;
	}
	if (l->tail)
		l->tail->next = r;
	else
		l->head = r;
	l->tail = r;
	l->n++;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	atomic_fetch_add(&l->queued, 1);
	return 0;
}

int
mavis_sql_log_begin(struct mavis_sql_log *l, const struct mavis_sql_log_begin *b)
{
	struct mavis_arena *a = mavis_arena_new(1024);
	struct rec *r = mavis_arena_alloc(a, sizeof(*r));

	r->a = a;
	r->kind = REC_BEGIN;
	r->b = *b;
	r->b.mail_id = dup0(a, b->mail_id);
	r->b.secret_id = dup0(a, b->secret_id);
	r->b.am_id = dup0(a, b->am_id);
	r->b.sender = dup0(a, b->sender);
	r->b.policy = dup0(a, b->policy);
	r->b.client_addr = dup0(a, b->client_addr);
	r->b.host = dup0(a, b->host);
	return enqueue(l, r);
}

int
mavis_sql_log_end(struct mavis_sql_log *l, const struct mavis_sql_log_end *e)
{
	struct mavis_arena *a = mavis_arena_new(2048);
	struct rec *r = mavis_arena_alloc(a, sizeof(*r));
	struct mavis_sql_log_rcpt *rc = mavis_arena_calloc(a, e->nrcpts ? e->nrcpts : 1, sizeof(*rc));

	r->a = a;
	r->kind = REC_END;
	r->e = *e;
	r->e.mail_id = dup0(a, e->mail_id);
	r->e.quar_loc = dup0(a, e->quar_loc);
	r->e.message_id = dup0(a, e->message_id);
	r->e.from_addr = dup0(a, e->from_addr);
	r->e.subject = dup0(a, e->subject);
	r->e.client_addr = dup0(a, e->client_addr);
	for (size_t i = 0; i < e->nrcpts; i++) {
		rc[i] = e->rcpts[i];
		rc[i].addr = dup0(a, e->rcpts[i].addr);
		rc[i].smtp_resp = dup0(a, e->rcpts[i].smtp_resp);
	}
	r->e.rcpts = rc;
	return enqueue(l, r);
}

void
mavis_sql_log_get_stats(struct mavis_sql_log *l, struct mavis_sql_log_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (l == NULL)
		return;
	out->queued = atomic_load(&l->queued);
	out->written = atomic_load(&l->written);
	out->dropped_full = atomic_load(&l->dropped_full);
	out->dropped_bad = atomic_load(&l->dropped_bad);
	out->batches = atomic_load(&l->batches);
	out->db_failures = atomic_load(&l->db_failures);
	pthread_mutex_lock(&l->mu);
	out->pending = l->n;
	pthread_mutex_unlock(&l->mu);
}
