/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sa_conf.c - SpamAssassin rule files -> rule definitions (Conf/Parser.pm's job) */

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/alloc.h>

#include "sa_int.h"
#include "sa_received.h"

#define SA_LINE_MAX 65536	/* longer lines are not rules anyone writes */

void
sa_conf_init(struct sa_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->a = mavis_arena_new(1 << 16);
	c->required_score = 5.0;
}

void
sa_conf_fini(struct sa_conf *c)
{
	mavis_xfree(&c->defs);
	mavis_xfree(&c->hash);
	mavis_xfree(&c->tags);
	mavis_xfree(&c->plugins);
	mavis_xfree(&c->freemail);
	mavis_xfree(&c->bayes_ignore);
	for (int i = 0; i < 3; i++)
		mavis_xfree(&c->tlds[i]);
	mavis_xfree(&c->redirs);
	sa_netset_free(&c->trusted);
	sa_netset_free(&c->internal);
	mavis_arena_free(&c->a);
}

static uint64_t
name_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static struct sa_def **
hash_slot(struct sa_def **tab, size_t cap, const char *name, size_t n)
{
	size_t i = (size_t)name_hash(name, n) & (cap - 1);

	while (tab[i] != NULL && !(strlen(tab[i]->name) == n && memcmp(tab[i]->name, name, n) == 0))
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

struct sa_def *
sa_conf_find(const struct sa_conf *c, const char *name)
{
	if (c->hash_cap == 0)
		return NULL;
	return *hash_slot(c->hash, c->hash_cap, name, strlen(name));
}

/* The definition record of name, made on first mention: score, tflags and
   priority lines may come before the rule itself. */
static struct sa_def *
def_get(struct sa_conf *c, const char *name, size_t n)
{
	struct sa_def **slot;

	if (c->n_defs * 2 >= c->hash_cap) {
		size_t cap = c->hash_cap ? c->hash_cap * 2 : 4096;
		struct sa_def **tab = mavis_xcalloc(cap, sizeof(*tab));

		for (size_t i = 0; i < c->n_defs; i++)
			*hash_slot(tab, cap, c->defs[i]->name, strlen(c->defs[i]->name)) = c->defs[i];
		mavis_xfree(&c->hash);
		c->hash = tab;
		c->hash_cap = cap;
	}
	slot = hash_slot(c->hash, c->hash_cap, name, n);
	if (*slot != NULL)
		return *slot;
	if (c->n_defs == c->cap_defs) {
		c->cap_defs = c->cap_defs ? c->cap_defs * 2 : 1024;
		c->defs = mavis_xrealloc(c->defs, c->cap_defs * sizeof(*c->defs));
	}
	struct sa_def *d = mavis_arena_alloc(c->a, sizeof(*d));

	d->name = mavis_arena_strndup(c->a, name, n);
	d->type = SA_T_N;	/* not defined (yet) */
	c->defs[c->n_defs++] = d;
	*slot = d;
	return d;
}

bool
sa_conf_has_plugin(const struct sa_conf *c, const char *name)
{
	for (size_t i = 0; i < c->n_plugins; i++)
		if (strcmp(c->plugins[i], name) == 0)
			return true;
	return false;
}

static void
push_str(struct mavis_arena *a, char ***v, size_t *n, size_t *cap, const char *s, size_t len)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*v = mavis_xrealloc(*v, *cap * sizeof(**v));
	}
	(*v)[(*n)++] = mavis_arena_strndup(a, s, len);
}

/* ---- if expressions ----------------------------------------------------- */

/* Features SpamAssassin 4.0.1's Conf.pm answers to can() with true. */
static const char *const sa_features[] = {
	"feature_originating_ip_headers", "feature_dns_local_ports_permit_avoid",
	"feature_bayes_auto_learn_on_error", "feature_uri_host_listed", "feature_yesno_takes_args",
	"feature_bug6558_free", "feature_edns", "feature_dns_query_restriction",
	"feature_registryboundaries", "feature_geodb", "feature_dns_block_rule",
	"feature_compile_regexp", "feature_meta_rules_matching", "feature_subjprefix",
	"feature_bayes_stopwords", "feature_get_host", "feature_blocklist_welcomelist",
	"feature_welcomelist_blocklist", "feature_header_address_parser",
	"feature_local_tests_only", "feature_header_first_last", "feature_header_match_many",
	"feature_capture_rules", "has_tflags_nosubject", "has_tflags_nolog",
	"perl_min_version_5010000",
	/* init.pre's "enable_compat welcomelist_blocklist" */
	"compat_welcomelist_blocklist",
	NULL
};

struct ifx {
	const struct sa_conf *c;
	const char *p;
	bool bad;
};

static void
ifx_ws(struct ifx *x)
{
	while (*x->p == ' ' || *x->p == '\t')
		x->p++;
}

static bool
ifx_eat(struct ifx *x, const char *tok)
{
	size_t n = strlen(tok);

	ifx_ws(x);
	if (strncmp(x->p, tok, n) != 0)
		return false;
	x->p += n;
	return true;
}

/* can(Mail::SpamAssassin::Conf::X) and can(Mail::SpamAssassin::Plugin::P::has_x):
   the second is true when P is loaded (every has_ the shipped rules ask of a
   loaded plugin exists in 4.0.1). */
static double
ifx_can(struct ifx *x, const char *arg, size_t n)
{
	static const char conf[] = "Mail::SpamAssassin::Conf::";
	char buf[256];

	if (n >= sizeof(buf))
		return 0;
	memcpy(buf, arg, n);
	buf[n] = '\0';
	if (strncmp(buf, conf, sizeof(conf) - 1) == 0) {
		for (size_t i = 0; sa_features[i] != NULL; i++)
			if (strcmp(buf + sizeof(conf) - 1, sa_features[i]) == 0)
				return 1;
		return 0;
	}
	char *last = strrchr(buf, ':');

	if (last == NULL || last - buf < 2)
		return 0;
	last[-1] = '\0';
	return sa_conf_has_plugin(x->c, buf) ? 1 : 0;
}

static double ifx_or(struct ifx *x);

static double
ifx_primary(struct ifx *x)
{
	ifx_ws(x);
	if (ifx_eat(x, "!"))
		return ifx_primary(x) != 0 ? 0 : 1;
	if (ifx_eat(x, "(")) {
		double v = ifx_or(x);

		if (!ifx_eat(x, ")"))
			x->bad = true;
		return v;
	}
	bool is_can = ifx_eat(x, "can(");

	if (is_can || ifx_eat(x, "plugin(")) {
		const char *s = x->p;
		const char *e = strchr(s, ')');

		if (e == NULL) {
			x->bad = true;
			return 0;
		}
		x->p = e + 1;
		while (s < e && isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		if (is_can)
			return ifx_can(x, s, (size_t)(e - s));
		char buf[256];

		if ((size_t)(e - s) >= sizeof(buf))
			return 0;
		memcpy(buf, s, (size_t)(e - s));
		buf[e - s] = '\0';
		return sa_conf_has_plugin(x->c, buf) ? 1 : 0;
	}
	if (ifx_eat(x, "version"))
		return SA_VERSION;
	/* local_tests_only: we never run network tests */
	if (ifx_eat(x, "local_tests_only"))
		return 1;
	if (isdigit((unsigned char)*x->p)) {
		char *end;
		double v = strtod(x->p, &end);

		x->p = end;
		return v;
	}
	x->bad = true;
	return 0;
}

static double
ifx_cmp(struct ifx *x)
{
	double l = ifx_primary(x);

	ifx_ws(x);
	if (ifx_eat(x, ">="))
		return l >= ifx_primary(x);
	if (ifx_eat(x, "<="))
		return l <= ifx_primary(x);
	if (ifx_eat(x, "=="))
		return l == ifx_primary(x);
	if (ifx_eat(x, "!="))
		return l != ifx_primary(x);
	if (ifx_eat(x, ">"))
		return l > ifx_primary(x);
	if (ifx_eat(x, "<"))
		return l < ifx_primary(x);
	return l;
}

static double
ifx_and(struct ifx *x)
{
	double l = ifx_cmp(x);

	while (ifx_eat(x, "&&")) {
		double r = ifx_cmp(x);

		l = l != 0 ? r : l;
	}
	return l;
}

static double
ifx_or(struct ifx *x)
{
	double l = ifx_and(x);

	while (ifx_eat(x, "||")) {
		double r = ifx_and(x);

		l = l != 0 ? l : r;
	}
	return l;
}

int
sa_conf_if_eval(const struct sa_conf *c, const char *expr)
{
	struct ifx x = { .c = c, .p = expr };
	double v = ifx_or(&x);

	ifx_ws(&x);
	if (x.bad || *x.p != '\0')
		return -1;
	return v != 0;
}

/* ---- lines -------------------------------------------------------------- */

static bool
cond_active(const struct sa_conf *c)
{
	for (size_t i = 0; i < c->n_cond; i++)
		if (!c->cond[i])
			return false;
	return true;
}

static void
cond_push(struct sa_conf *c, bool v)
{
	if (c->n_cond < sizeof(c->cond))
		c->cond[c->n_cond] = v;
	c->n_cond++;
}

static bool
word_is(const char *w, size_t n, const char *s)
{
	return strlen(s) == n && strncasecmp(w, s, n) == 0;
}

static const char *
next_word(const char *p, const char **w, size_t *n)
{
	while (*p == ' ' || *p == '\t')
		p++;
	*w = p;
	while (*p != '\0' && *p != ' ' && *p != '\t')
		p++;
	*n = (size_t)(p - *w);
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static const struct {
	const char *word;
	enum sa_type type;
} rule_words[] = {
	{ "header", SA_T_HEADER }, { "body", SA_T_BODY }, { "rawbody", SA_T_RAWBODY },
	{ "uri", SA_T_URI }, { "full", SA_T_FULL }, { "mimeheader", SA_T_MIMEHEADER },
	{ "meta", SA_T_META },
};

/* One line without comment and surrounding white space. */
static void
conf_line(struct sa_conf *c, char *line)
{
	const char *w, *name, *rest;
	size_t wn, nn;

	rest = next_word(line, &w, &wn);
	if (wn == 0)
		return;
	if (word_is(w, wn, "endif")) {
		if (c->n_cond > 0)
			c->n_cond--;
		return;
	}
	if (word_is(w, wn, "else")) {
		if (c->n_cond > 0 && c->n_cond <= sizeof(c->cond))
			c->cond[c->n_cond - 1] = !c->cond[c->n_cond - 1];
		return;
	}
	if (word_is(w, wn, "ifplugin")) {
		next_word(rest, &name, &nn);
		char *pn = mavis_arena_strndup(c->a, name, nn);

		cond_push(c, sa_conf_has_plugin(c, pn));
		return;
	}
	if (word_is(w, wn, "if")) {
		/* an unparsable condition is false: its rules are not ours */
		cond_push(c, sa_conf_if_eval(c, rest) == 1);
		return;
	}
	if (!cond_active(c))
		return;
	for (size_t i = 0; i < sizeof(rule_words) / sizeof(rule_words[0]); i++) {
		if (!word_is(w, wn, rule_words[i].word))
			continue;
		rest = next_word(rest, &name, &nn);
		if (nn == 0 || *rest == '\0') {
			c->ignored++;
			return;
		}
		struct sa_def *d = def_get(c, name, nn);

		d->type = rule_words[i].type;
		d->text = mavis_arena_strdup(c->a, rest);
		d->order = c->n_order++;
		return;
	}
	if (word_is(w, wn, "score")) {
		rest = next_word(rest, &name, &nn);
		double s[4];
		int k = 0;

		while (k < 4 && *rest != '\0') {
			char *end;

			s[k] = strtod(rest, &end);
			if (end == rest)
				break;
			k++;
			rest = end;
			while (*rest == ' ' || *rest == '\t')
				rest++;
		}
		if (nn == 0 || (k != 1 && k != 4)) {
			c->ignored++;
			return;
		}
		struct sa_def *d = def_get(c, name, nn);

		for (int j = 0; j < 4; j++)
			d->score[j] = s[k == 1 ? 0 : j];
		d->has_score = true;
		return;
	}
	if (word_is(w, wn, "tflags")) {
		rest = next_word(rest, &name, &nn);
		if (nn == 0) {
			c->ignored++;
			return;
		}
		def_get(c, name, nn)->tflags = mavis_arena_strdup(c->a, rest);
		return;
	}
	if (word_is(w, wn, "priority")) {
		rest = next_word(rest, &name, &nn);
		if (nn == 0) {
			c->ignored++;
			return;
		}
		def_get(c, name, nn)->priority = atoi(rest);
		return;
	}
	if (word_is(w, wn, "replace_rules")) {
		while (*rest != '\0') {
			rest = next_word(rest, &name, &nn);
			if (nn > 0)
				def_get(c, name, nn)->replace = true;
		}
		return;
	}
	if (word_is(w, wn, "replace_tag") || word_is(w, wn, "replace_pre") ||
	    word_is(w, wn, "replace_inter") || word_is(w, wn, "replace_post") ||
	    word_is(w, wn, "replace_start") || word_is(w, wn, "replace_end")) {
		const char *val = next_word(rest, &name, &nn);
		bool single = word_is(w, wn, "replace_start") || word_is(w, wn, "replace_end");

		if (c->n_tags == c->cap_tags) {
			c->cap_tags = c->cap_tags ? c->cap_tags * 2 : 64;
			c->tags = mavis_xrealloc(c->tags, c->cap_tags * sizeof(*c->tags));
		}
		struct sa_tag *t = &c->tags[c->n_tags++];

		/* "tag NAME", "pre NAME", ...; replace_start/end keep their word */
		t->name = single ? mavis_arena_strndup(c->a, w, wn)
				 : mavis_arena_printf(c->a, "%.*s %.*s", (int)(wn - 8), w + 8,
						      (int)nn, name);
		t->value = mavis_arena_strdup(c->a, single ? rest : val);
		return;
	}
	if (word_is(w, wn, "loadplugin")) {
		next_word(rest, &name, &nn);
		if (nn > 0)
			push_str(c->a, &c->plugins, &c->n_plugins, &c->cap_plugins, name, nn);
		return;
	}
	if (word_is(w, wn, "required_score") || word_is(w, wn, "required_hits")) {
		c->required_score = strtod(rest, NULL);
		return;
	}
	if (word_is(w, wn, "trusted_networks") || word_is(w, wn, "internal_networks")) {
		struct sa_netset **set = word_is(w, wn, "trusted_networks") ? &c->trusted : &c->internal;

		while (*rest != '\0') {
			struct mavis_error e = { 0 };

			rest = next_word(rest, &name, &nn);
			if (nn == 0)
				continue;
			if (sa_netset_add(set, mavis_arena_strndup(c->a, name, nn), &e) < 0)
				c->ignored++;
		}
		return;
	}
	if (word_is(w, wn, "clear_trusted_networks")) {
		sa_netset_free(&c->trusted);
		return;
	}
	if (word_is(w, wn, "clear_internal_networks")) {
		sa_netset_free(&c->internal);
		return;
	}
	if (word_is(w, wn, "freemail_domains")) {
		while (*rest != '\0') {
			rest = next_word(rest, &name, &nn);
			if (nn == 0)
				continue;
			char *d = mavis_arena_strndup(c->a, name, nn);

			for (char *q = d; *q; q++)
				*q = (char)tolower((unsigned char)*q);
			push_str(c->a, &c->freemail, &c->n_freemail, &c->cap_freemail, d, nn);
		}
		return;
	}
	if (word_is(w, wn, "bayes_stopword_en")) {
		/* Plugin/Bayes.pm keeps the last of the space-separated
		   expressions */
		while (*rest != '\0') {
			rest = next_word(rest, &name, &nn);
			if (nn > 0)
				c->bayes_stopword = mavis_arena_strndup(c->a, name, nn);
		}
		return;
	}
	if (word_is(w, wn, "bayes_ignore_header")) {
		while (*rest != '\0') {
			rest = next_word(rest, &name, &nn);
			if (nn > 0)
				push_str(c->a, &c->bayes_ignore, &c->n_bayes_ignore,
					 &c->cap_bayes_ignore, name, nn);
		}
		return;
	}
	if (word_is(w, wn, "bayes_stopword_languages")) {
		next_word(rest, &name, &nn);
		c->bayes_stopword_off = !(nn == 2 && strncasecmp(name, "en", 2) == 0);
		return;
	}
	if (word_is(w, wn, "util_rb_tld") || word_is(w, wn, "util_rb_2tld") ||
	    word_is(w, wn, "util_rb_3tld")) {
		int k = word_is(w, wn, "util_rb_tld") ? 0 : word_is(w, wn, "util_rb_2tld") ? 1 : 2;

		while (*rest != '\0') {
			rest = next_word(rest, &name, &nn);
			if (nn == 0)
				continue;
			char *d = mavis_arena_strndup(c->a, name, nn);

			for (char *q = d; *q; q++)
				*q = (char)tolower((unsigned char)*q);
			push_str(c->a, &c->tlds[k], &c->n_tlds[k], &c->cap_tlds[k], d, nn);
		}
		return;
	}
	if (word_is(w, wn, "redirector_pattern")) {
		if (*rest != '\0')
			push_str(c->a, &c->redirs, &c->n_redirs, &c->cap_redirs, rest, strlen(rest));
		return;
	}
	/* describe, lang, report templates, network and Bayes settings, ...:
	   nothing the rules' verdict depends on */
}

void
sa_conf_parse(struct sa_conf *c, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	char *line = mavis_xmalloc(SA_LINE_MAX + 1);

	c->n_cond = 0;	/* an if block never spans files */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		size_t o = 0;

		c->lines++;
		if (n > SA_LINE_MAX) {
			c->ignored++;
			p = nl ? nl + 1 : end;
			continue;
		}
		/* "#" starts a comment unless escaped as "\#" (Parser.pm) */
		for (size_t i = 0; i < n; i++) {
			char ch = p[i];

			if (ch == '\0' || ch == '\r')
				ch = ' ';
			if (ch == '#' && !(i > 0 && p[i - 1] == '\\'))
				break;
			if (ch == '#' && o > 0 && line[o - 1] == '\\')
				o--;
			line[o++] = ch;
		}
		while (o > 0 && (line[o - 1] == ' ' || line[o - 1] == '\t'))
			o--;
		line[o] = '\0';
		conf_line(c, line);
		p = nl ? nl + 1 : end;
	}
	mavis_xfree(&line);
}
