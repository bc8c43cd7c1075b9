/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sa_check.c - score one message with a rule set (Plugin/Check.pm's job) */

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sa_int.h"

#define SA_JIT_STACK_MAX (1024u * 1024u)

struct run {
	const struct mavis_sa_rules *rs;
	const struct sa_msg *m;
	struct mavis_arena *a;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	unsigned *hits;
};

/* Matches of r's regex in s, counted up to the rule's limit: 1 unless
   tflags multiple. A match that runs out of its limits counts as none. */
static unsigned
count_matches(const struct run *x, const struct sa_rule *r, const char *s, size_t len,
	      unsigned have)
{
	unsigned n = 0;
	PCRE2_SIZE off = 0;

	for (;;) {
		int rc = pcre2_match(r->re, (PCRE2_SPTR)s, len, off, 0, x->md, x->mctx);

		if (rc < 0)
			break;
		n++;
		if (r->maxhits == 1 || (r->maxhits != 0 && have + n >= r->maxhits))
			break;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(x->md);

		off = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
		if (off > len)
			break;
	}
	return n;
}

static unsigned
run_lines(const struct run *x, const struct sa_rule *r, const char *const *lines, size_t n)
{
	unsigned hits = 0;

	for (size_t i = 0; i < n; i++) {
		hits += count_matches(x, r, lines[i], strlen(lines[i]), hits);
		if (hits > 0 && (r->maxhits == 1 || (r->maxhits != 0 && hits >= r->maxhits)))
			break;
	}
	return hits;
}

static unsigned
run_header(const struct run *x, const struct sa_rule *r)
{
	const char *v = sa_msg_get(x->m, x->a, r->hdr, r->hdr_mod);

	if (r->exists)
		return v != NULL;
	if (v == NULL)
		v = r->if_unset ? r->if_unset : "";
	if (r->negate)
		return count_matches(x, r, v, strlen(v), 0) == 0;
	return count_matches(x, r, v, strlen(v), 0);
}

/* MIMEHeader.pm: any part's field of that name (the root included) */
static unsigned
run_mimeheader(const struct run *x, const struct sa_rule *r)
{
	unsigned hits = 0;

	for (size_t p = 0; p < x->m->n_parts; p++) {
		const struct sa_part_hdrs *ph = &x->m->parts[p];

		for (size_t i = 0; i < ph->n; i++) {
			if (strcasecmp(ph->h[i].name, r->hdr) != 0)
				continue;
			const char *v = (r->hdr_mod & SA_H_RAW) ? ph->h[i].raw : ph->h[i].dec;
			unsigned k = count_matches(x, r, v, strlen(v), hits);

			if (r->negate ? k == 0 : k > 0)
				hits += r->negate ? 1 : k;
			if (hits > 0 && r->maxhits == 1)
				return hits;
		}
	}
	return hits;
}

static unsigned
run_rule(const struct run *x, const struct sa_rule *r)
{
	if (r->is_eval)
		return sa_eval_run(r, x->rs, x->m, x->a) > 0;
	switch (r->type) {
	case SA_T_HEADER:
		return run_header(x, r);
	case SA_T_MIMEHEADER:
		return run_mimeheader(x, r);
	case SA_T_BODY:
		return run_lines(x, r, x->m->body, x->m->n_body);
	case SA_T_RAWBODY:
		return run_lines(x, r, x->m->rawbody, x->m->n_rawbody);
	case SA_T_FULL:
		return count_matches(x, r, x->m->full, x->m->full_len, 0);
	case SA_T_URI:
		/* Check.pm do_uri_tests: each URI of get_uri_list as a line */
		return run_lines(x, r, x->m->uris, x->m->n_uris);
	default:
		return 0;
	}
}

static int
test_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mavis_spam_test *)a)->name,
		      ((const struct mavis_spam_test *)b)->name);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int
mavis_sa_check(const struct mavis_sa_rules *rs, const void *msg, size_t len, struct mavis_arena *a,
	       struct mavis_spam_result *out, struct mavis_error *err)
{
	return sa_check_with(rs, msg, len, NULL, a, out, NULL, NULL, err);
}

int
mavis_sa_check_auth(const struct mavis_sa_rules *rs, const void *msg, size_t len,
		    const struct mavis_sa_auth *auth, struct mavis_arena *a,
		    struct mavis_spam_result *out, struct mavis_error *err)
{
	return sa_check_with(rs, msg, len, auth, a, out, NULL, NULL, err);
}

int
sa_check_with(const struct mavis_sa_rules *rs, const void *msg, size_t len,
	      const struct mavis_sa_auth *auth, struct mavis_arena *a,
	      struct mavis_spam_result *out, sa_check_pre_fn pre, void *pre_ctx,
	      struct mavis_error *err)
{
	bool set2 = false;
	struct sa_msg m;
	struct run x = { .rs = rs, .m = &m, .a = a };
	pcre2_jit_stack *js;
	uint64_t t0 = now_ms();
	double score = 0;
	size_t nt = 0;
	int rc;

	if (rs == NULL || (msg == NULL && len > 0) || a == NULL || out == NULL)
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "mavis_sa_check: NULL argument");
	memset(out, 0, sizeof(*out));
	out->status = MAVIS_SPAM_FAILED;
	out->threshold = NAN;
	rc = sa_msg_build(msg ? msg : "", len, rs, a, &m, err);
	if (rc < 0)
		return rc;
	if (rs->want_uris)
		sa_uris_build(rs, &m, a);
	if (pre != NULL)
		set2 = pre(pre_ctx, &m, msg ? msg : "", len) > 0;
	m.auth = auth;
	x.hits = mavis_arena_calloc(a, rs->n ? rs->n : 1, sizeof(*x.hits));
	x.md = pcre2_match_data_create(4, NULL);
	x.mctx = pcre2_match_context_copy(rs->mctx);
	js = pcre2_jit_stack_create(32 * 1024, SA_JIT_STACK_MAX, NULL);
	if (x.md == NULL || x.mctx == NULL || js == NULL) {
		pcre2_match_data_free(x.md);
		pcre2_match_context_free(x.mctx);
		pcre2_jit_stack_free(js);
		return mavis_error_set(err, MAVIS_ERR_RESOURCE, "native spam check: out of memory");
	}
	pcre2_jit_stack_assign(x.mctx, NULL, js);
	for (size_t i = 0; i < rs->n; i++) {
		const struct sa_rule *r = &rs->rules[i];

		if ((set2 ? r->run_bayes : r->run) && r->type != SA_T_META)
			x.hits[i] = run_rule(&x, r);
	}
	/* Metas over intervals: a rule SpamAssassin runs and we cannot is
	   "0 or 1", so that !RULE or RULE || X never hit on what we do not
	   know. Rules SpamAssassin does not run either (score 0, network,
	   Bayes) are a certain 0. */
	double *lo = mavis_arena_calloc(a, rs->n ? rs->n : 1, sizeof(*lo));
	double *hi = mavis_arena_calloc(a, rs->n ? rs->n : 1, sizeof(*hi));

	for (size_t i = 0; i < rs->n; i++) {
		const struct sa_rule *r = &rs->rules[i];

		lo[i] = hi[i] = x.hits[i];
		if (set2 ? r->unknown_bayes : r->unknown)
			hi[i] = r->maxhits == 1 ? 1 : 1e6;
	}
	for (size_t k = 0; k < rs->n_meta; k++) {
		unsigned i = rs->meta_order[k];
		const struct sa_rule *r = &rs->rules[i];
		double rlo, rhi;

		if (!(set2 ? r->run_bayes : r->run))
			continue;
		int v = sa_meta_eval_iv(&r->meta, lo, hi, &rlo, &rhi);

		x.hits[i] = v == 1;
		lo[i] = v == 1;
		hi[i] = v != 0;
	}
	pcre2_match_data_free(x.md);
	pcre2_match_context_free(x.mctx);
	pcre2_jit_stack_free(js);
	for (size_t i = 0; i < rs->n; i++)
		if (x.hits[i] && strncmp(rs->rules[i].name, "__", 2) != 0)
			nt++;
	struct mavis_spam_test *t = mavis_arena_calloc(a, nt ? nt : 1, sizeof(*t));

	nt = 0;
	for (size_t i = 0; i < rs->n; i++) {
		const struct sa_rule *r = &rs->rules[i];

		if (!x.hits[i] || strncmp(r->name, "__", 2) == 0)
			continue;
		double sc = set2 ? r->score_bayes : r->score;

		/* Each hit of a "multiple" rule adds its score (got_hit). */
		score += sc * x.hits[i];
		t[nt].name = r->name;
		t[nt].score = sc;
		t[nt].score_text = mavis_spam_fmt_num(a, sc);
		nt++;
	}
	qsort(t, nt, sizeof(*t), test_cmp);
	out->status = MAVIS_SPAM_OK;
	out->scanner = "native";
	out->score = round(score * 1000) / 1000;
	out->threshold = rs->required_score;
	out->tests = t;
	out->n_tests = nt;
	out->elapsed_ms = (unsigned)(now_ms() - t0);
	return 0;
}
