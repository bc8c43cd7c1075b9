/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_SA_INT_H
#define MAVIS_SA_INT_H

/* Internals of the native SpamAssassin-rule engine, shared by lib/sa/ and
   the unit tests and fuzz targets. */

#include <stdbool.h>
#include <stddef.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <mavis/arena.h>
#include <mavis/error.h>
#include <mavis/sa.h>

#include "sa_parse_int.h"

/* SpamAssassin's version as "if version" compares it (4.0.1). */
#define SA_VERSION 4.000001
#define SA_MAX_BODY_LINE 2048	/* Message.pm MAX_BODY_LINE_LENGTH */
#define SA_BODY_PART_SCAN_SIZE 50000
#define SA_RAWBODY_PART_SCAN_SIZE 500000
#define SA_EVX_BASE 1000	/* sa_eval_local.c's eval ids */
#define SA_EVX_RE_MAX 32	/* its fixed patterns */

enum sa_type {
	SA_T_HEADER, SA_T_BODY, SA_T_RAWBODY, SA_T_URI, SA_T_FULL, SA_T_MIMEHEADER, SA_T_META,
	SA_T_N
};

/* ---- sa_conf.c: rule files -> definitions --------------------------------- */

/* One rule as the files define it (the last definition wins). */
struct sa_def {
	char *name;
	enum sa_type type;
	char *text;		/* the definition after the name */
	double score[4];
	bool has_score;
	char *tflags;		/* NULL = none */
	int priority;
	bool replace;		/* named by replace_rules */
	unsigned order;		/* definition order, for stable sorting */
	int idx;		/* index in the rule set being built */
};

struct sa_tag {
	char *name;		/* replace_tag NAME, or "pre NAME" / "post NAME" / "inter NAME" */
	char *value;
};

struct sa_conf {
	struct mavis_arena *a;
	struct sa_def **defs;	/* by definition order */
	size_t n_defs, cap_defs;
	struct sa_def **hash;	/* open addressing on name, size hash_cap */
	size_t hash_cap;
	struct sa_tag *tags;
	size_t n_tags, cap_tags;
	char **plugins;		/* loadplugin names */
	size_t n_plugins, cap_plugins;
	char **freemail;	/* freemail_domains entries (lower case, may hold '*') */
	size_t n_freemail, cap_freemail;
	char **tlds[3];		/* util_rb_tld, util_rb_2tld, util_rb_3tld (lower case) */
	size_t n_tlds[3], cap_tlds[3];
	char **redirs;		/* redirector_pattern values, as written */
	size_t n_redirs, cap_redirs;
	double required_score;
	const char *bayes_stopword;	/* bayes_stopword_en (the last expression) */
	bool bayes_stopword_off;	/* bayes_stopword_languages without en */
	char **bayes_ignore;	/* bayes_ignore_header names */
	size_t n_bayes_ignore, cap_bayes_ignore;
	struct sa_netset *trusted, *internal;	/* handed to the rule set */
	/* if/ifplugin nesting while one file is read */
	unsigned char cond[64];
	size_t n_cond;
	unsigned n_order;
	size_t lines, ignored;	/* statistics */
};

void sa_conf_init(struct sa_conf *c);
void sa_conf_fini(struct sa_conf *c);
/* Parse one file's text (fname only for messages). Never fails on a bad
   line: such lines are counted in c->ignored. */
void sa_conf_parse(struct sa_conf *c, const char *text, size_t len);
struct sa_def *sa_conf_find(const struct sa_conf *c, const char *name);
bool sa_conf_has_plugin(const struct sa_conf *c, const char *name);
/* Evaluate the expression of an "if" line: 1 true, 0 false, -1 unparsable. */
int sa_conf_if_eval(const struct sa_conf *c, const char *expr);

/* ---- sa_meta.c: meta expressions ------------------------------------------ */

enum sa_meta_op {
	SA_M_NUM, SA_M_RULE, SA_M_NOT, SA_M_NEG, SA_M_AND, SA_M_OR, SA_M_ADD, SA_M_SUB, SA_M_MUL,
	SA_M_DIV, SA_M_LT, SA_M_GT, SA_M_LE, SA_M_GE, SA_M_EQ, SA_M_NE
};

struct sa_meta_ins {
	enum sa_meta_op op;
	double num;		/* SA_M_NUM */
	unsigned rule;		/* SA_M_RULE: index into the caller's name table */
};

struct sa_meta {
	struct sa_meta_ins *prog;	/* postfix order */
	size_t n;
};

/* Resolve a rule name to an index; -1 = no such rule (evaluates as 0). */
typedef int (*sa_meta_resolve_fn)(void *ctx, const char *name, size_t len);

/* Compile expr into a postfix program in a. Returns 0, or MAVIS_ERR_PARSE
   with err set. Rule names that do not resolve become the number 0. */
int sa_meta_compile(const char *expr, sa_meta_resolve_fn resolve, void *ctx,
		    struct mavis_arena *a, struct sa_meta *out, struct mavis_error *err);
/* Evaluate with hits[i] = hit count of rule i: Perl's value of the
   expression (&& and || return an operand, ! gives 1 or 0). A division by
   zero gives 0 (SpamAssassin's eval of the rule dies: no hit). */
double sa_meta_eval(const struct sa_meta *m, const unsigned *hits);
/* The same over intervals: rule i is somewhere in [lo[i], hi[i]] (an
   unsupported rule SpamAssassin would run is [0, 1]). Returns 1 when the
   value is certainly true (nonzero), 0 when certainly false, -1 when it
   depends on rules we cannot run; *rlo, *rhi bound the value. */
int sa_meta_eval_iv(const struct sa_meta *m, const double *lo, const double *hi, double *rlo,
		    double *rhi);

/* ---- sa_compile.c: definitions -> rule set --------------------------------- */

enum sa_hdr_mod {
	SA_H_RAW = 1, SA_H_ADDR = 2, SA_H_NAME = 4, SA_H_FIRST = 8, SA_H_LAST = 16
};

struct sa_rule {
	const char *name;
	enum sa_type type;
	bool is_eval;
	double score;		/* score set 0 */
	double score_bayes;	/* score set 2 (Bayes on, network off) */
	bool run_bayes, unknown_bayes;	/* run and unknown under score set 2 */
	int priority;
	unsigned maxhits;	/* tflags multiple: 0 = no limit; 1 otherwise */
	const char *unsupported;	/* NULL = runs (when score != 0) */
	bool run;
	bool unknown;		/* SpamAssassin runs it, we cannot: metas see "0 or 1" */
	bool no_sa_run;		/* SpamAssassin without network and Bayes skips it too */
	/* regex rules */
	pcre2_code *re;
	bool negate;		/* header X !~ /re/ */
	/* header rules */
	const char *hdr;	/* field name or pseudo-header */
	unsigned hdr_mod;
	const char *if_unset;
	bool exists;
	/* eval rules */
	const char *fn;
	const char **args;
	size_t nargs;
	int eval_id;		/* sa_eval.c's function, -1 = unknown */
	pcre2_code *arg_re;	/* an eval's regex argument, compiled once */
	/* meta rules */
	struct sa_meta meta;
};

struct mavis_sa_rules {
	struct mavis_arena *a;
	struct sa_rule *rules;	/* evaluation order: non-meta by type and
				   priority, then meta in dependency order */
	size_t n;
	size_t n_unsupported;
	unsigned *meta_order;	/* indices of the meta rules, dependencies first */
	size_t n_meta;
	pcre2_match_context *mctx;	/* match limits: bounded time per rule */
	pcre2_code *aux[8];	/* sa_eval.c's fixed patterns */
	pcre2_code *evx[SA_EVX_RE_MAX];	/* sa_eval_local.c's */
	double required_score;
	const char *bayes_stopword;	/* NULL = none */
	char **bayes_ignore;	/* bayes_ignore_header names */
	size_t n_bayes_ignore;
	char **freemail;
	size_t n_freemail;
	struct sa_netset *trusted, *internal;	/* trusted_networks, internal_networks */
	/* RegistryBoundaries: valid_tlds, two_level_domains, three_level_domains */
	struct sa_strset tlds[3];
	pcre2_code **redirs;	/* redirector_pattern, compiled */
	size_t n_redirs;
	bool want_uris;		/* a uri rule or URI eval runs: build the URI list */
};

/* Build the rule set from parsed definitions (takes nothing from c). */
int sa_rules_build(struct sa_conf *c, struct mavis_sa_rules **out, struct mavis_error *err);

/* Perl pattern and flags -> pcre2 code (8-bit, no UTF, JIT). NULL with err
   set when PCRE2 refuses it. */
pcre2_code *sa_regex_compile(const char *pat, const char *flags, struct mavis_error *err);
/* The same pattern with big bounded repeats as subroutine calls
   (sa_shrink.c), for one that is too large for PCRE2 as written; malloc'd,
   NULL when it cannot be rewritten. */
char *sa_regex_shrink(const char *pat, const char *flags);
/* Parse "/re/flags" or "m{re}flags" at s: pattern and flags in a; *end
   after the flags. Returns 0 or -1. */
int sa_regex_split(const char *s, struct mavis_arena *a, const char **pat, const char **flags,
		   const char **end);

/* ---- sa_msg.c: the message as SpamAssassin sees it ------------------------- */

struct sa_html;
struct sa_relays;
struct sa_netset;

struct sa_hdr {
	const char *name;	/* as written */
	const char *raw;	/* value as in the message (folds kept, leading
				   white space dropped), ends in "\n" */
	const char *dec;	/* unfolded, MIME words decoded, ends in "\n" */
};

/* MIMEEval's facts (_check_attachments, _check_base64_length) and the
   parser's mime_epilogue_exists, from sa_mime.c */
struct sa_mime {
	unsigned base64_count, qp_count, attachment, ascii_text_illegal;
	unsigned body_html_count, body_text_count;
	bool base64_encoded_text, bad_iso_charset, qp_long_line, multipart_alternative;
	bool epilogue_exists;
	bool has_qp_ratio;
	double multipart_ratio, qp_ratio, text_unicode_ratio;
	size_t base64_length;	/* the longest raw line of a base64 part */
	double madiff;		/* BodyEval multipart_alternative_difference */
	double madiff_html, madiff_text;	/* its word counts (the last part) */
	const char *charsets;	/* mime_html_charsets: every part's, space-separated */
};

struct sa_part_hdrs {
	struct sa_hdr *h;
	size_t n;
};

struct sa_msg {
	struct sa_hdr *h;	/* top-level header fields in order */
	size_t n_h;
	struct sa_part_hdrs *parts;	/* each MIME part's own header fields */
	size_t n_parts;
	const char **body;	/* rendered body lines (Subject first) */
	size_t n_body;
	const char **body_visible;	/* the same without HTML's invisible text */
	size_t n_body_visible;
	const char **rawbody;
	size_t n_rawbody;
	const char *full;
	size_t full_len;
	const char *all_headers;	/* "Name: value\n" decoded, for ALL */
	bool has_html;
	const struct sa_html **html;	/* the text/html leaves, parsed */
	size_t n_html;
	struct sa_relays *relays;	/* Received lines parsed, trust applied */
	size_t n_mime_leaves;
	size_t n_html_leaves, n_text_leaves;	/* text/html, other text parts (MIMEEval) */
	bool mime_version;
	const char *content_type;	/* top-level, lower case */
	bool bayes_have;	/* Bayes gave a probability (check_bayes) */
	double bayes_prob;
	const struct mavis_sa_auth *auth;	/* our DKIM/SPF/DMARC results, or NULL */
	/* PerMsgStatus::get_uri_list: every canonical variant of the URIs of
	   the text and HTML parts, unique (sa_urilist.c) */
	const char **uris;
	size_t n_uris;
	bool uri_truncated;	/* a URI cut at MAX_URI_LENGTH, here or in HTML.pm */
	struct sa_mime mime;
	size_t body_len;	/* pristine_body_length: bytes after the header section */
};

int sa_msg_build(const void *msg, size_t len, const struct mavis_sa_rules *rs,
		 struct mavis_arena *a, struct sa_msg *out, struct mavis_error *err);
/* SpamAssassin's $pms->get(name[:mods]): the values of the field joined, or
   NULL when the message has none. */
const char *sa_msg_get(const struct sa_msg *m, struct mavis_arena *a, const char *name,
		       unsigned mods);

/* ---- sa_check.c ------------------------------------------------------------ */

/* Called once the message model is built, before any rule runs (Bayes sets
   m->bayes_*): > 0 = score set 2, else set 0. */
typedef int (*sa_check_pre_fn)(void *ctx, struct sa_msg *m, const void *msg, size_t len);
/* mavis_sa_check() with a pre hook (NULL = none). */
int sa_check_with(const struct mavis_sa_rules *rs, const void *msg, size_t len,
		  const struct mavis_sa_auth *auth, struct mavis_arena *a, struct mavis_spam_result *out, sa_check_pre_fn pre,
		  void *pre_ctx, struct mavis_error *err);
/* ---- sa_date.c --------------------------------------------------------- */

/* Util::parse_rfc822_date: seconds since the epoch in *out, or false when
   SpamAssassin finds no date in it. */
bool sa_parse_rfc822_date(const char *date, double *out);

/* ---- sa_mime.c --------------------------------------------------------- */

/* Fill f from the MIME tree under root (a GMimeObject *): every part in
   order, containers first, the raw (undecoded) lines of each leaf. At most
   1,000 parts, 4 MiB of each leaf. */
void sa_mime_scan(void *root, struct mavis_arena *a, struct sa_mime *f);

/* ---- sa_urilist.c: the message's URIs ---------------------------------- */

#define SA_MAX_URI_LENGTH 8192	/* Constants.pm MAX_URI_LENGTH */
#define SA_MAX_URIS 2000	/* URIs taken from one message (text and HTML) */
#define SA_MAX_URI_LIST 20000	/* canonical variants kept in m->uris */

/* Fill m->uris as get_uri_list does, from m->body (the rendered text,
   URIs found as _process_text_uri_list, kept only with a valid domain) and
   m->html (HTML.pm's URIs), each canonicalised with the rules'
   redirector_pattern. Bounded: at most SA_MAX_URIS URIs, SA_MAX_URI_LIST
   variants. */
void sa_uris_build(const struct mavis_sa_rules *rs, struct sa_msg *m, struct mavis_arena *a);
/* RegistryBoundaries::uri_to_domain: the registered domain of uri (an IP
   stays as it is), NULL when the host is not a valid name with a known
   TLD. *host (may be NULL) gets the whole host name. */
const char *sa_uri_to_domain(const struct mavis_sa_rules *rs, const char *uri,
			     struct mavis_arena *a, const char **host);
/* Is tld (n bytes, any case) one of util_rb_tld? */
bool sa_rules_is_tld(const struct mavis_sa_rules *rs, const char *tld, size_t n);

/* ---- sa_eval.c: eval functions --------------------------------------------- */

/* The id of a known eval function for a rule type, or -1. */
int sa_eval_lookup(enum sa_type type, const char *fn, size_t nargs);
/* Run the eval of rule x: 1 hit, 0 no hit. */
int sa_eval_run(const struct sa_rule *x, const struct mavis_sa_rules *r, const struct sa_msg *m,
		struct mavis_arena *a);
/* Compile what an eval of x needs once (a regex argument). 0, or -1 with
   x->unsupported set. */
int sa_eval_prepare(struct sa_rule *x);
/* The fixed patterns the evals use, compiled with the rule set. */
int sa_eval_init(struct mavis_sa_rules *r, struct mavis_error *err);
void sa_eval_fini(struct mavis_sa_rules *r);
/* Rule text "eval:check_bayes(...)": a Bayes rule the engine runs when
   Bayes is on. */
bool sa_eval_is_bayes(const char *text);
/* x is a check_bayes rule: it runs only under score set 2. */
bool sa_eval_bayes_only(const struct sa_rule *x);
/* sa_eval_auth.c: the DKIM, SPF and DMARC plugins' evals, fed from
   m->auth. Is text ("eval:fn(...)") one of them? (They are network tests
   SpamAssassin runs; we run them on our own results.) */
bool sa_auth_eval_known(const char *text);
/* The eval's id for fn (>= 0), or -1. */
int sa_auth_eval_lookup(enum sa_type type, const char *fn);
/* 1 hit, 0 none (also when the check behind it did not run). */
int sa_auth_eval_run(int id, const struct sa_rule *x, const struct sa_msg *m,
		     struct mavis_arena *a);
/* FreeMail's test of one lower-case address (freemail_domains, the
   built-in welcome list) */
bool sa_eval_is_freemail(const struct mavis_sa_rules *r, const char *email);
/* Does eval id read the message's URI list? */
bool sa_eval_wants_uris(int id);

/* ---- sa_eval_local.c: more local evals (URIEval, HeaderEval, WLBLEval,
   MIMEEval parts), ids from SA_EVX_BASE ---------------------------------- */


/* The id (>= SA_EVX_BASE) of an eval this file implements, or -1. */
int sa_evx_lookup(enum sa_type type, const char *fn, size_t nargs);
/* Does it take these arguments (checked at load)? */
bool sa_evx_args_ok(int id, const char *const *args, size_t nargs);
/* Run it: 1 hit, 0 no hit. */
int sa_evx_run(const struct sa_rule *x, const struct mavis_sa_rules *r, const struct sa_msg *m,
	       struct mavis_arena *a);
/* Its fixed patterns, compiled with the rule set; -1 with err set. */
int sa_evx_init(struct mavis_sa_rules *r, struct mavis_error *err);
void sa_evx_fini(struct mavis_sa_rules *r);
/* RegistryBoundaries::trim_domain (sa_urilist.c) */
const char *sa_trim_domain(const struct mavis_sa_rules *rs, const char *host, struct mavis_arena *a);
/* 1 when eval id accepts fn with these arguments (checked at load). */
bool sa_eval_args_ok(int id, const char *fn, const char *const *args, size_t nargs);

#endif
