/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sa_compile.c - rule definitions -> the immutable rule set: regexes, header specs, evals, metas */

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/alloc.h>
#include <mavis/buf.h>

#include "sa_int.h"
#include "sa_parse_int.h"
#include "sa_received.h"

#define SA_MATCH_LIMIT 1000000u	/* backtracking bound of one match */
#define SA_DEPTH_LIMIT 10000u

static const char *const type_names[SA_T_N] = {
	"header", "body", "rawbody", "uri", "full", "mimeheader", "meta"
};

pcre2_code *
sa_regex_compile(const char *pat, const char *flags, struct mavis_error *err)
{
	uint32_t opt = 0;
	int ec;
	PCRE2_SIZE eo;
	pcre2_code *re;

	for (const char *f = flags; *f; f++) {
		switch (*f) {
		case 'i': opt |= PCRE2_CASELESS; break;
		case 'm': opt |= PCRE2_MULTILINE; break;
		case 's': opt |= PCRE2_DOTALL; break;
		case 'x': opt |= PCRE2_EXTENDED; break;
		case 'g': case 'o': case 'a': case 'u': case 'l': case 'd': case 'p': break;
		default:
			mavis_error_set(err, MAVIS_ERR_PARSE, "regex flag '%c'", *f);
			return NULL;
		}
	}
	/* Perl's qr// on bytes: no UTF, ASCII classes; \d \s \w are ASCII in
	   PCRE2's 8-bit library without PCRE2_UCP, as under SpamAssassin's /aa. */
	re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, opt, &ec, &eo, NULL);
	if (re == NULL && ec == PCRE2_ERROR_PATTERN_TOO_LARGE) {
		/* Perl has no such limit: the same pattern without copies */
		char *small = sa_regex_shrink(pat, flags);

		if (small != NULL) {
			int ec2;
			PCRE2_SIZE eo2;

			re = pcre2_compile((PCRE2_SPTR)small, PCRE2_ZERO_TERMINATED, opt, &ec2, &eo2, NULL);
			free(small);
		}
	}
	if (re == NULL) {
		PCRE2_UCHAR msg[160];

		pcre2_get_error_message(ec, msg, sizeof(msg));
		mavis_error_set(err, MAVIS_ERR_PARSE, "regex: %s at %zu", (char *)msg, (size_t)eo);
		return NULL;
	}
	(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);	/* interpreter if no JIT */
	return re;
}

static char
closing(char c)
{
	switch (c) {
	case '{': return '}';
	case '(': return ')';
	case '[': return ']';
	case '<': return '>';
	default: return c;
	}
}

int
sa_regex_split(const char *s, struct mavis_arena *a, const char **pat, const char **flags,
	       const char **end)
{
	char open, close;
	const char *p, *start;
	int depth = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == 'm' && s[1] != '\0' && !isalnum((unsigned char)s[1]) && !isspace((unsigned char)s[1]))
		s++;
	else if (*s != '/')
		return -1;
	open = *s;
	close = closing(open);
	start = p = s + 1;
	for (; *p; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++;
			continue;
		}
		if (open != close && *p == open)
			depth++;
		else if (*p == close) {
			if (depth == 0)
				break;
			depth--;
		}
	}
	if (*p != close)
		return -1;
	*pat = mavis_arena_strndup(a, start, (size_t)(p - start));
	p++;
	start = p;
	while (isalpha((unsigned char)*p))
		p++;
	*flags = mavis_arena_strndup(a, start, (size_t)(p - start));
	*end = p;
	return 0;
}

/* ---- replace_tags (Plugin/ReplaceTags.pm) -------------------------------- */

static const char *
tag_value(const struct sa_conf *c, const char *kind, const char *name, size_t n)
{
	size_t kl = strlen(kind);
	const char *v = NULL;

	/* the last definition wins */
	for (size_t i = 0; i < c->n_tags; i++) {
		const char *t = c->tags[i].name;

		if (strncmp(t, kind, kl) == 0 && t[kl] == ' ' && strlen(t + kl + 1) == n &&
		    strncmp(t + kl + 1, name, n) == 0)
			v = c->tags[i].value;
	}
	return v;
}

static const char *
tag_delim(const struct sa_conf *c, const char *which, const char *dflt)
{
	const char *v = dflt;

	for (size_t i = 0; i < c->n_tags; i++)
		if (strcmp(c->tags[i].name, which) == 0)
			v = c->tags[i].value;
	return v;
}

/* Remove the first START kind NAME END from *re (ReplaceTags.pm's
   s/${start}pre (.+?)${end}//); the name is returned, or NULL. */
static char *
take_decl(char **re, const char *st, const char *en, const char *kind, struct mavis_arena *a)
{
	char *key = mavis_arena_printf(a, "%s%s ", st, kind);
	char *p = strstr(*re, key);

	if (p == NULL)
		return NULL;
	const char *nm = p + strlen(key);
	/* .+? : at least one character, then the first END */
	const char *e = nm[0] ? strstr(nm + 1, en) : NULL;

	if (e == NULL)
		return NULL;
	char *name = mavis_arena_strndup(a, nm, (size_t)(e - nm));
	*re = mavis_arena_printf(a, "%.*s%s", (int)(p - *re), *re, e + strlen(en));
	return name;
}

/* Perl's split(/(<[^<>]+>)/, $re): text and tag pieces in turn, the
   leading empty text kept, trailing empty ones dropped */
static size_t
split_tags(const char *re, struct mavis_arena *a, char ***out)
{
	size_t cap = 16, n = 0;
	char **v = mavis_arena_calloc(a, cap, sizeof(*v));
	const char *p = re, *t = re;

	for (;;) {
		const char *lt = strchr(p, '<');
		const char *gt = NULL;

		if (lt != NULL) {
			const char *q = lt + 1;

			while (*q && *q != '<' && *q != '>')
				q++;
			if (*q == '>' && q > lt + 1)
				gt = q;
		}
		if (n + 2 >= cap) {
			char **nv = mavis_arena_calloc(a, cap * 2, sizeof(*nv));

			memcpy(nv, v, n * sizeof(*v));
			v = nv;
			cap *= 2;
		}
		if (lt == NULL) {
			v[n++] = mavis_arena_strdup(a, t);
			break;
		}
		if (gt == NULL) {
			/* no tag starts here: go on after this '<' (or at the next one) */
			p = lt + 1;
			continue;
		}
		v[n++] = mavis_arena_strndup(a, t, (size_t)(lt - t));
		v[n++] = mavis_arena_strndup(a, lt, (size_t)(gt + 1 - lt));
		p = t = gt + 1;
	}
	while (n > 0 && v[n - 1][0] == '\0')
		n--;
	*out = v;
	return n;
}

/* s{(START.+?END)}{...} on one piece: where the first tag of s starts and
   ends, or false */
static bool
find_tag(const char *s, const char *st, const char *en, const char **b, const char **e)
{
	const char *p = strstr(s, st);

	if (p == NULL || p[strlen(st)] == '\0')
		return false;
	const char *q = strstr(p + strlen(st) + 1, en);

	if (q == NULL)
		return false;
	*b = p;
	*e = q + strlen(en);
	return true;
}

/* Plugin/ReplaceTags.pm finish_parsing_end: up to six passes; in each the
   first <pre X>, <post X>, <inter X> are taken out, the rule is split into
   text and <tag> pieces, pre goes before the first tag of each piece, post
   after every tag, inter into every empty piece (so also before a rule
   that starts with a tag), and each tag piece gets replace_tag's value. A
   value holding tags asks for another pass. */
static char *
replace_tags(const struct sa_conf *c, const char *text, struct mavis_arena *a)
{
	const char *st = tag_delim(c, "replace_start", "<");
	const char *en = tag_delim(c, "replace_end", ">");
	char *re = mavis_arena_strdup(a, text);
	bool again;
	int passes = 0;

	if (*st == '\0' || *en == '\0')	/* an empty delimiter marks no tag */
		return re;
	do {
		char *pre_n = take_decl(&re, st, en, "pre", a);
		char *post_n = take_decl(&re, st, en, "post", a);
		char *inter_n = take_decl(&re, st, en, "inter", a);
		const char *pre = pre_n ? tag_value(c, "pre", pre_n, strlen(pre_n)) : NULL;
		const char *post = post_n ? tag_value(c, "post", post_n, strlen(post_n)) : NULL;
		const char *inter = inter_n ? tag_value(c, "inter", inter_n, strlen(inter_n)) : NULL;
		char **v;
		size_t n = split_tags(re, a, &v);
		struct mavis_buf b = { 0 };
		const char *tb, *te;

		again = false;
		for (size_t i = 0; i < n; i++) {
			if (pre && *pre && find_tag(v[i], st, en, &tb, &te))
				v[i] = mavis_arena_printf(a, "%.*s%s%s", (int)(tb - v[i]), v[i], pre, tb);
			if (post && *post) {
				struct sa_sb o = { 0 };
				const char *p = v[i];

				sa_sb_add(&o, a, "", 0);
				while (find_tag(p, st, en, &tb, &te)) {
					sa_sb_add(&o, a, p, (size_t)(te - p));
					sa_sb_add(&o, a, post, strlen(post));
					p = te;
				}
				sa_sb_add(&o, a, p, strlen(p));
				v[i] = o.p;
			}
			if (inter && *inter && v[i][0] == '\0')
				v[i] = mavis_arena_strdup(a, inter);
			if (find_tag(v[i], st, en, &tb, &te)) {
				size_t sl = strlen(st), el = strlen(en);
				const char *nm = tb + sl;
				size_t nl = (size_t)(te - el - nm);
				const char *val = tag_value(c, "tag", nm, nl);

				if (val != NULL && *val) {
					/* s|START NAME END|value|g over the piece */
					char *whole = mavis_arena_strndup(a, tb, (size_t)(te - tb));
					struct sa_sb o = { 0 };
					const char *p = v[i], *q;

					sa_sb_add(&o, a, "", 0);
					while ((q = strstr(p, whole)) != NULL) {
						sa_sb_add(&o, a, p, (size_t)(q - p));
						sa_sb_add(&o, a, val, strlen(val));
						p = q + strlen(whole);
					}
					sa_sb_add(&o, a, p, strlen(p));
					v[i] = o.p;
					/* /<[^>]+>/ in the value */
					for (const char *x = strchr(val, '<'); x && !again; x = strchr(x + 1, '<'))
						if (x[1] && x[1] != '>' && strchr(x + 1, '>'))
							again = true;
				}
			}
			mavis_buf_puts(&b, v[i]);
		}
		re = mavis_arena_strdup(a, b.len ? mavis_buf_str(&b) : "");
		mavis_buf_free(&b);
		passes++;
	} while (again && passes <= 5);
	return re;
}

/* ---- one rule ------------------------------------------------------------ */

static bool
tflag(const char *tflags, const char *flag, const char **val)
{
	size_t fl = strlen(flag);

	for (const char *p = tflags; p && *p;) {
		while (*p == ' ' || *p == '\t')
			p++;
		const char *s = p;

		while (*p && *p != ' ' && *p != '\t')
			p++;
		if ((size_t)(p - s) >= fl && strncmp(s, flag, fl) == 0 &&
		    ((size_t)(p - s) == fl || s[fl] == '=')) {
			if (val)
				*val = s[fl] == '=' ? s + fl + 1 : NULL;
			return true;
		}
	}
	return false;
}

/* eval:fn(arg, 'arg', "arg") */
static int
parse_eval(struct sa_rule *r, const char *s, struct mavis_arena *a)
{
	const char *p = s + 5, *open = strchr(p, '(');
	size_t cap = 8;

	if (open == NULL || strrchr(open, ')') == NULL)
		return -1;
	const char *close = strrchr(open, ')');

	r->fn = mavis_arena_strndup(a, p, (size_t)(open - p));
	r->args = mavis_arena_calloc(a, cap, sizeof(*r->args));
	p = open + 1;
	while (p < close) {
		while (p < close && (isspace((unsigned char)*p) || *p == ','))
			p++;
		if (p >= close)
			break;
		const char *st, *en;

		if (*p == '\'' || *p == '"') {
			char q = *p++;

			st = p;
			while (p < close && *p != q)
				p++;
			en = p;
			if (p < close)
				p++;
		} else {
			st = p;
			while (p < close && *p != ',')
				p++;
			en = p;
			while (en > st && isspace((unsigned char)en[-1]))
				en--;
		}
		if (r->nargs == cap)
			return -1;
		r->args[r->nargs++] = mavis_arena_strndup(a, st, (size_t)(en - st));
	}
	r->is_eval = true;
	r->eval_id = sa_eval_lookup(r->type, r->fn, r->nargs);
	if (r->eval_id >= 0 && !sa_eval_args_ok(r->eval_id, r->fn, r->args, r->nargs))
		r->eval_id = -1;
	if (r->eval_id < 0)
		r->unsupported = mavis_arena_printf(a, "eval %s() not implemented", r->fn);
	else
		(void)sa_eval_prepare(r);
	return 0;
}

/* Header names the engine cannot provide yet. */
static const char *
header_unsupported(const char *h)
{
	if (strcasecmp(h, "X-Spam-Relays-Trusted") == 0 || strcasecmp(h, "X-Spam-Relays-Untrusted") == 0 ||
	    strcasecmp(h, "X-Spam-Relays-Internal") == 0 || strcasecmp(h, "X-Spam-Relays-External") == 0)
		return NULL;
	if (strcmp(h, "ALL-TRUSTED") == 0 || strcmp(h, "ALL-INTERNAL") == 0 ||
	    strcmp(h, "ALL-UNTRUSTED") == 0 || strcmp(h, "ALL-EXTERNAL") == 0)
		return NULL;
	if (strncasecmp(h, "X-Spam-Relays-", 14) == 0 || strncasecmp(h, "ALL-", 4) == 0)
		return "pseudo-header not provided";
	if (strcasecmp(h, "X-Spam-DKIM") == 0 || strncasecmp(h, "X-Spam-", 7) == 0)
		return "pseudo-header not provided";
	return NULL;
}

/* "Hdr:mod =~ /re/flags [if-unset: X]", "Hdr !~ ...", "exists:Hdr" */
static void
compile_header(struct sa_rule *r, const char *text, struct mavis_arena *a)
{
	struct mavis_error e = { 0 };
	const char *p = text, *pat, *flags, *end;

	if (strncmp(p, "exists:", 7) == 0) {
		r->exists = true;
		char *h = mavis_arena_strdup(a, p + 7);
		char *sp = strpbrk(h, " \t");

		if (sp)
			*sp = '\0';
		r->hdr = h;
		r->unsupported = header_unsupported(r->hdr);
		return;
	}
	const char *h = p;

	while (*p && !isspace((unsigned char)*p) && *p != '=' && *p != '!')
		p++;
	char *hdr = mavis_arena_strndup(a, h, (size_t)(p - h));

	while (isspace((unsigned char)*p))
		p++;
	if (strncmp(p, "=~", 2) == 0)
		r->negate = false;
	else if (strncmp(p, "!~", 2) == 0)
		r->negate = true;
	else {
		r->unsupported = "header rule without =~ or !~";
		return;
	}
	if (sa_regex_split(p + 2, a, &pat, &flags, &end) < 0) {
		r->unsupported = "header rule without a /regex/";
		return;
	}
	/* modifiers */
	for (char *m = strchr(hdr, ':'); m != NULL;) {
		char *next = strchr(m + 1, ':');

		*m = '\0';
		const char *mod = m + 1;
		size_t ml = next ? (size_t)(next - mod) : strlen(mod);

		if (ml == 3 && strncmp(mod, "raw", 3) == 0)
			r->hdr_mod |= SA_H_RAW;
		else if (ml == 4 && strncmp(mod, "addr", 4) == 0)
			r->hdr_mod |= SA_H_ADDR;
		else if (ml == 4 && strncmp(mod, "name", 4) == 0)
			r->hdr_mod |= SA_H_NAME;
		else if (ml == 5 && strncmp(mod, "first", 5) == 0)
			r->hdr_mod |= SA_H_FIRST;
		else if (ml == 4 && strncmp(mod, "last", 4) == 0)
			r->hdr_mod |= SA_H_LAST;
		else
			r->unsupported = mavis_arena_printf(a, "header modifier :%.*s", (int)ml, mod);
		m = next;
	}
	r->hdr = hdr;
	if (r->unsupported == NULL)
		r->unsupported = header_unsupported(hdr);
	const char *iu = strstr(end, "[if-unset:");

	if (iu != NULL) {
		iu += 10;
		while (*iu == ' ')
			iu++;
		const char *ie = strrchr(iu, ']');

		if (ie != NULL)
			r->if_unset = mavis_arena_strndup(a, iu, (size_t)(ie - iu));
	}
	r->re = sa_regex_compile(pat, flags, &e);
	if (r->re == NULL)
		r->unsupported = mavis_arena_strdup(a, e.text);
}

static void
compile_regex_rule(struct sa_rule *r, const char *text, struct mavis_arena *a)
{
	struct mavis_error e = { 0 };
	const char *pat, *flags, *end;

	if (sa_regex_split(text, a, &pat, &flags, &end) < 0) {
		r->unsupported = "no /regex/";
		return;
	}
	r->re = sa_regex_compile(pat, flags, &e);
	if (r->re == NULL)
		r->unsupported = mavis_arena_strdup(a, e.text);
}

static void
compile_one(struct sa_conf *c, struct sa_def *d, struct sa_rule *r, struct mavis_arena *a)
{
	const char *text = d->replace ? replace_tags(c, d->text, a) : d->text;
	const char *mh = NULL;

	r->name = mavis_arena_strdup(a, d->name);
	r->type = d->type;
	r->priority = d->priority;
	r->eval_id = -1;
	if (d->has_score) {
		r->score = d->score[0];
		r->score_bayes = d->score[2];
	} else {
		/* Parser.pm: 1.0 by default, 0.01 for T_ rules, negative when nice */
		r->score = strncmp(d->name, "T_", 2) == 0 ? 0.01 : 1.0;
		if (tflag(d->tflags, "nice", NULL))
			r->score = -r->score;
		r->score_bayes = r->score;
	}
	r->maxhits = 1;
	if (tflag(d->tflags, "multiple", NULL)) {
		const char *v = NULL;

		r->maxhits = tflag(d->tflags, "maxhits", &v) && v ? (unsigned)atoi(v) : 0;
	}
	if (d->type != SA_T_META && strncmp(text, "eval:", 5) == 0) {
		/* without network and Bayes SpamAssassin does not run these
		   either: Check.pm skips net and learn evals in score set 0; a
		   meta or regex rule with those tflags still runs. The DKIM,
		   SPF and DMARC evals run on our own results, check_bayes when
		   Bayes is on. */
		if (tflag(d->tflags, "net", NULL) && !sa_auth_eval_known(text)) {
			r->unsupported = "network test", r->no_sa_run = true;
			return;
		}
		if (tflag(d->tflags, "learn", NULL) && !sa_eval_is_bayes(text)) {
			r->unsupported = "needs Bayes", r->no_sa_run = true;
			return;
		}
		if (parse_eval(r, text, a) < 0)
			r->unsupported = "malformed eval";
		return;
	}
	switch (d->type) {
	case SA_T_HEADER:
		compile_header(r, text, a);
		break;
	case SA_T_MIMEHEADER:
		compile_header(r, text, a);
		mh = r->hdr;
		if (mh != NULL && header_unsupported(mh) == NULL && r->unsupported &&
		    strncmp(r->unsupported, "pseudo", 6) == 0)
			r->unsupported = NULL;
		break;
	case SA_T_BODY:
	case SA_T_RAWBODY:
	case SA_T_FULL:
		compile_regex_rule(r, text, a);
		break;
	case SA_T_URI:
		/* over the message's URI list (sa_urilist.c), as body rules over lines */
		compile_regex_rule(r, text, a);
		break;
	default:
		break;
	}
}

/* ---- the set ------------------------------------------------------------- */

/* RegistryBoundaries' lists and the redirector patterns, into the set. A
   redirector_pattern PCRE2 refuses is left out (Conf.pm warns and skips). */
static void
build_registry(struct sa_conf *c, struct mavis_sa_rules *rs)
{
	for (int k = 0; k < 3; k++)
		for (size_t i = 0; i < c->n_tlds[k]; i++)
			(void)sa_strset_add(&rs->tlds[k], rs->a, mavis_arena_strdup(rs->a, c->tlds[k][i]));
	rs->redirs = mavis_arena_calloc(rs->a, c->n_redirs ? c->n_redirs : 1, sizeof(*rs->redirs));
	for (size_t i = 0; i < c->n_redirs; i++) {
		struct mavis_error e = { 0 };
		const char *pat, *flags, *end;
		pcre2_code *re;

		if (sa_regex_split(c->redirs[i], rs->a, &pat, &flags, &end) < 0)
			continue;
		re = sa_regex_compile(pat, flags, &e);
		if (re != NULL)
			rs->redirs[rs->n_redirs++] = re;
	}
}

static int
def_cmp(const void *x, const void *y)
{
	const struct sa_def *a = *(const struct sa_def *const *)x, *b = *(const struct sa_def *const *)y;
	bool am = a->type == SA_T_META, bm = b->type == SA_T_META;

	if (am != bm)
		return am ? 1 : -1;
	if (a->priority != b->priority)
		return a->priority < b->priority ? -1 : 1;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

static int
meta_resolve(void *ctx, const char *name, size_t len)
{
	struct sa_conf *c = ctx;
	char buf[256];

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, name, len);
	buf[len] = '\0';
	struct sa_def *d = sa_conf_find(c, buf);

	return d != NULL && d->type != SA_T_N ? d->idx : -1;
}

/* Depth-first: metas after the metas they read; a cycle makes a rule
   unsupported. state: 0 new, 1 on the path, 2 done. */
static void
meta_visit(struct mavis_sa_rules *rs, unsigned i, unsigned char *state)
{
	struct sa_rule *r = &rs->rules[i];

	if (state[i] == 2)
		return;
	if (state[i] == 1) {
		r->unsupported = "meta dependency loop";
		return;
	}
	state[i] = 1;
	for (size_t k = 0; k < r->meta.n; k++) {
		const struct sa_meta_ins *in = &r->meta.prog[k];

		if (in->op == SA_M_RULE && rs->rules[in->rule].type == SA_T_META)
			meta_visit(rs, in->rule, state);
	}
	state[i] = 2;
	rs->meta_order[rs->n_meta++] = i;
}

int
sa_rules_build(struct sa_conf *c, struct mavis_sa_rules **out, struct mavis_error *err)
{
	struct mavis_sa_rules *rs;
	struct sa_def **v;
	size_t n = 0;

	v = mavis_xcalloc(c->n_defs ? c->n_defs : 1, sizeof(*v));
	for (size_t i = 0; i < c->n_defs; i++)
		if (c->defs[i]->type != SA_T_N && c->defs[i]->text != NULL)
			v[n++] = c->defs[i];
	if (n == 0) {
		mavis_xfree(&v);
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "no SpamAssassin rules found");
	}
	qsort(v, n, sizeof(*v), def_cmp);
	for (size_t i = 0; i < c->n_defs; i++)
		c->defs[i]->idx = -1;
	for (size_t i = 0; i < n; i++)
		v[i]->idx = (int)i;
	rs = mavis_xcalloc(1, sizeof(*rs));
	rs->a = mavis_arena_new(1 << 20);
	rs->rules = mavis_arena_calloc(rs->a, n, sizeof(*rs->rules));
	rs->n = n;
	rs->required_score = c->required_score;
	if (c->bayes_stopword != NULL && !c->bayes_stopword_off)
		rs->bayes_stopword = mavis_arena_strdup(rs->a, c->bayes_stopword);
	rs->bayes_ignore = mavis_arena_calloc(rs->a, c->n_bayes_ignore + 1, sizeof(char *));
	for (size_t i = 0; i < c->n_bayes_ignore; i++)
		rs->bayes_ignore[i] = mavis_arena_strdup(rs->a, c->bayes_ignore[i]);
	rs->n_bayes_ignore = c->n_bayes_ignore;
	rs->freemail = mavis_arena_calloc(rs->a, c->n_freemail + 1, sizeof(char *));
	for (size_t i = 0; i < c->n_freemail; i++)
		rs->freemail[i] = mavis_arena_strdup(rs->a, c->freemail[i]);
	rs->n_freemail = c->n_freemail;
	rs->trusted = c->trusted;
	rs->internal = c->internal;
	build_registry(c, rs);
	c->trusted = c->internal = NULL;
	rs->mctx = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(rs->mctx, SA_MATCH_LIMIT);
	pcre2_set_depth_limit(rs->mctx, SA_DEPTH_LIMIT);
	if (sa_eval_init(rs, err) < 0 || sa_evx_init(rs, err) < 0) {
		mavis_xfree(&v);
		mavis_sa_rules_free(&rs);
		return MAVIS_ERR_INTERNAL;
	}
	for (size_t i = 0; i < n; i++)
		compile_one(c, v[i], &rs->rules[i], rs->a);
	/* metas last: they name rules by index */
	for (size_t i = 0; i < n; i++) {
		struct sa_rule *r = &rs->rules[i];
		struct mavis_error e = { 0 };

		if (r->type != SA_T_META || r->unsupported)
			continue;
		if (sa_meta_compile(v[i]->text, meta_resolve, c, rs->a, &r->meta, &e) < 0)
			r->unsupported = mavis_arena_strdup(rs->a, e.text);
	}
	rs->meta_order = mavis_arena_calloc(rs->a, n, sizeof(*rs->meta_order));
	unsigned char *state = mavis_xcalloc(n, 1);

	for (size_t i = 0; i < n; i++)
		if (rs->rules[i].type == SA_T_META && rs->rules[i].unsupported == NULL)
			meta_visit(rs, (unsigned)i, state);
	mavis_xfree(&state);
	for (size_t i = 0; i < n; i++) {
		struct sa_rule *r = &rs->rules[i];

		/* SpamAssassin runs no rule whose score is 0 (Check.pm) */
		r->run = r->unsupported == NULL && r->score != 0 && !sa_eval_bayes_only(r);
		r->unknown = r->unsupported != NULL && r->score != 0 && !r->no_sa_run;
		r->run_bayes = r->unsupported == NULL && r->score_bayes != 0;
		r->unknown_bayes = r->unsupported != NULL && r->score_bayes != 0 && !r->no_sa_run;
		if (r->unsupported != NULL)
			rs->n_unsupported++;
		if (r->run && (r->type == SA_T_URI || (r->is_eval && sa_eval_wants_uris(r->eval_id))))
			rs->want_uris = true;
	}
	mavis_xfree(&v);
	*out = rs;
	return 0;
}

void
mavis_sa_rules_free(struct mavis_sa_rules **rp)
{
	struct mavis_sa_rules *r = rp ? *rp : NULL;

	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++) {
		pcre2_code_free(r->rules[i].re);
		pcre2_code_free(r->rules[i].arg_re);
	}
	sa_eval_fini(r);
	sa_evx_fini(r);
	for (size_t i = 0; i < r->n_redirs; i++)
		pcre2_code_free(r->redirs[i]);
	pcre2_match_context_free(r->mctx);
	sa_netset_free(&r->trusted);
	sa_netset_free(&r->internal);
	mavis_arena_free(&r->a);
	free(r);
	*rp = NULL;
}

size_t
mavis_sa_rules_count(const struct mavis_sa_rules *r)
{
	return r ? r->n : 0;
}

bool
mavis_sa_rule_get(const struct mavis_sa_rules *r, size_t i, struct mavis_sa_rule_info *out)
{
	static const char *const eval_names[SA_T_N] = {
		"header eval", "body eval", "rawbody eval", "uri eval", "full eval",
		"mimeheader eval", "meta"
	};

	if (r == NULL || i >= r->n)
		return false;
	const struct sa_rule *x = &r->rules[i];

	out->name = x->name;
	out->type = x->is_eval ? eval_names[x->type] : type_names[x->type];
	out->score = x->score;
	out->unsupported = x->unsupported;
	return true;
}

double
mavis_sa_required_score(const struct mavis_sa_rules *r)
{
	return r ? r->required_score : 5.0;
}
