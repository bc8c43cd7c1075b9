/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_SA_BAYES_H
#define MAVIS_SA_BAYES_H

/*
 * Internals of Bayes (Plugin/Bayes.pm, Bayes/CombineChi.pm,
 * BayesStore/PgSQL.pm), shared by lib/sa, the unit tests and the fuzz
 * target. The public side is mavis/sa_bayes.h.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mavis/arena.h>

#include "sa_int.h"

/* Bayes.pm's constants */
#define SA_BAYES_MAX_TOKEN_LENGTH 15
#define SA_BAYES_N_SIGNIFICANT 150
#define SA_BAYES_FW_X 0.538
#define SA_BAYES_FW_S 0.030
#define SA_BAYES_MIN_PROB_STRENGTH 0.346
#define SA_BAYES_MIN_NUM 200	/* bayes_min_spam_num, bayes_min_ham_num */
/* Bounds from tokenize(): tokens per source, checked after each line */
#define SA_BAYES_MAX_BODY_TOKENS 50000
#define SA_BAYES_MAX_URI_TOKENS 10000
#define SA_BAYES_MAX_HDR_TOKENS 10000

/* A token as stored: the low 5 bytes of SHA1(text). */
struct sa_btok {
	unsigned char id[5];
	const char *text;	/* the token (arena), for debugging and tests */
};

/* The unique tokens of one message. */
struct sa_btoks {
	struct sa_btok *v;
	size_t n;
	size_t raw;		/* tokens produced before making them unique */
};

/* The compiled patterns the tokenizer needs (stop words, pre-chew
   expressions) and the rules' bayes_ignore_header list; built once per
   rule set, immutable. From r: bayes_stopword_en (none when NULL). */
struct sa_bayes_tokenizer;

int sa_bayes_tokenizer_new(const struct mavis_sa_rules *r, struct sa_bayes_tokenizer **out,
			   struct mavis_error *err);
void sa_bayes_tokenizer_free(struct sa_bayes_tokenizer **t);

/* tokenize() of Bayes.pm over the message model m (visible and invisible
   rendered text, URIs, header fields and X-Spam-Relays-*). Memory from a;
   bounded by the limits above. */
void sa_bayes_tokenize(const struct sa_bayes_tokenizer *t, const struct sa_msg *m,
		       struct mavis_arena *a, struct sa_btoks *out);

/* _tokenize_line: the tokens of one line for region 0 (header), 1 (body)
   or 2 (URI), each with prefix; appended through add(ctx, token, len). */
void sa_bayes_tokenize_line(const struct sa_bayes_tokenizer *t, const char *line, size_t len,
			    const char *prefix, int region, struct mavis_arena *a,
			    void (*add)(void *ctx, const char *tok, size_t len), void *ctx);

/* The 5-byte id SpamAssassin stores for a token. */
void sa_bayes_token_id(const char *tok, size_t len, unsigned char id[5]);

/* Generated msgid as Message::generate_msgid: sha1_hex(To \0 Date \0
   sha1_hex(body)) "@sa_generated", from the raw message. Arena string. */
const char *sa_bayes_msgid(const struct sa_msg *m, const char *raw, size_t len,
			   struct mavis_arena *a);

/* The probability of a token seen s times in spam and n in ham of ns/nn
   learned messages (Robinson's f(x)); negative when it has none. */
double sa_bayes_token_prob(unsigned s, unsigned n, unsigned ns, unsigned nn);
/* Combine::combine (chi-square) of probabilities p[0..np); negative when
   there is nothing to combine. p need not be sorted. */
double sa_bayes_combine(unsigned ns, unsigned nn, const double *p, size_t np);
/* The whole of scan() after the lookup: counts of the message's tokens
   (s[i], n[i]; both 0 = unknown) -> the score, or negative (no usable
   token). *sig gets the indices of the tokens used (for atime), *nsig
   their count; sig has room for np entries. */
double sa_bayes_score(unsigned ns, unsigned nn, const unsigned *s, const unsigned *n, size_t np,
		      size_t *sig, size_t *nsig, struct mavis_arena *a);

#endif
