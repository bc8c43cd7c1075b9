/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_SA_BAYES_PUB_H
#define MAVIS_SA_BAYES_PUB_H

/*
 * Bayes for the native SpamAssassin engine, in SpamAssassin's own
 * PostgreSQL schema (bayes_pg.sql: bayes_vars, bayes_token, bayes_seen and
 * the put_tokens() function), so that a database trained by sa-learn with
 * BayesStore::PgSQL is used as it is, and what mavis learns sa-learn sees.
 *
 * Tokens are Plugin/Bayes.pm's (the same tokenizer, the low 5 bytes of
 * SHA1 as the stored id); the probability is its chi-square combining.
 * Scanning costs one SQL round trip per message; it never writes on the
 * reply path (the atime of the tokens used is written by a thread of its
 * own, in batches).
 *
 * A handle is thread-safe; it holds its own libpq pool. Nothing here logs:
 * failures come back as MAVIS_ERR_SQL with the cause in err.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mavis/api.h>
#include <mavis/arena.h>
#include <mavis/error.h>
#include <mavis/sa.h>
#include <mavis/spam.h>

struct mavis_sa_bayes;

struct mavis_sa_bayes_opts {
	const char *dsn;	/* libpq conninfo of the Bayes database; required */
	const char *username;	/* bayes_vars.username; NULL or "" = the
				   effective user's name, as SpamAssassin */
	unsigned timeout_ms;	/* statement_timeout and pool wait; 0 = 2000 */
	unsigned min_spam, min_ham;	/* bayes_min_spam_num/ham_num; 0 = 200 */
	bool no_touch;		/* do not update token atimes (tests) */
};

/*
 * Make a handle for rules r (its bayes_stopword_en). No connection is
 * opened here. Returns 0 and *out, or MAVIS_ERR_CONFIG (empty or invalid
 * DSN) with err set.
 */
MAVIS_API int mavis_sa_bayes_new(const struct mavis_sa_rules *r,
				 const struct mavis_sa_bayes_opts *opts,
				 struct mavis_sa_bayes **out, struct mavis_error *err);
/* Flush pending atime updates (bounded by the timeout), close, free;
   *b = NULL. NULL-safe. No call may be running on it. */
MAVIS_API void mavis_sa_bayes_free(struct mavis_sa_bayes **b);

enum mavis_sa_learn {
	MAVIS_SA_LEARN_SPAM,
	MAVIS_SA_LEARN_HAM,
	MAVIS_SA_LEARN_FORGET
};

struct mavis_sa_learn_result {
	bool changed;		/* false: already learned so (or, forget: not learned) */
	bool relearned;		/* it was learned as the other class and was forgotten first */
	size_t tokens;		/* unique tokens of the message */
	const char *msgid;	/* the bayes_seen key (arena) */
};

/*
 * Learn (or forget) one message as sa-learn does: bayes_seen keyed by
 * Message::generate_msgid (then the Message-Id) makes it idempotent; a
 * message learned as the other class is forgotten first. One transaction.
 * The bayes_vars row of the user is made when missing. Returns 0, or
 * MAVIS_ERR_SQL / MAVIS_ERR_PARSE with err set.
 */
MAVIS_API int mavis_sa_bayes_learn(struct mavis_sa_bayes *b, const struct mavis_sa_rules *r,
				   const void *msg, size_t len, enum mavis_sa_learn what,
				   struct mavis_arena *a, struct mavis_sa_learn_result *out,
				   struct mavis_error *err);

/* What a scan found (for logs, tests and mavisctl). */
struct mavis_sa_bayes_scan {
	bool available;		/* enough learned messages: score set 2 applies */
	bool have_prob;		/* a probability came out */
	double prob;
	unsigned nspam, nham;	/* learned messages */
	size_t tokens, known, used;	/* tokens of the message, found in the db, combined */
	unsigned lookup_us;	/* the SQL round trip */
};

/*
 * Score msg with the rules and Bayes: score set 2 and the BAYES_* rules
 * when the database holds at least min_spam spam and min_ham ham, else
 * score set 0 as mavis_sa_check(). When the Bayes lookup fails the
 * message is scored without Bayes (score set 0), *bayes_err gets the
 * cause and scan->available is false: a Bayes failure is never a failed
 * check. b NULL = mavis_sa_check(). scan and bayes_err may be NULL.
 */
MAVIS_API int mavis_sa_check_bayes(const struct mavis_sa_rules *r, struct mavis_sa_bayes *b,
				   const void *msg, size_t len, const struct mavis_sa_auth *auth,
				   struct mavis_arena *a,
				   struct mavis_spam_result *out, struct mavis_sa_bayes_scan *scan,
				   struct mavis_error *bayes_err, struct mavis_error *err);

/* Counters since the handle was made. */
struct mavis_sa_bayes_stats {
	uint64_t scans, scan_failures, learned, touched;
};
MAVIS_API void mavis_sa_bayes_get_stats(const struct mavis_sa_bayes *b,
					struct mavis_sa_bayes_stats *out);

#endif
