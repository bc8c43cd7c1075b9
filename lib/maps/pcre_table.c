/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pcre_table.c - pcre: tables of "/regex/flags value" lines, first match wins */

#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/alloc.h>
#include <mavis/log.h>

#include "maps_int.h"

/* $1..$9 need ten ovector pairs; more captures are matched but not kept. */
#define PCRE_OVEC_PAIRS 10
/* Bounds on backtracking, so that a bad pattern costs a lookup error, not a
   stuck milter thread. Generous for the anchored patterns tables hold. */
#define PCRE_MATCH_LIMIT 1000000
#define PCRE_DEPTH_LIMIT 10000

struct pcre_rule {
	pcre2_code *code;
	const char *value;
	bool expand;		/* value holds $N */
	unsigned long lineno;
};

struct map_pcre {
	const char *path;
	size_t n;
	struct pcre_rule *rule;
	pcre2_match_context *mctx;
};

/* One match data block per thread, reused by every lookup of every table:
   no allocation on the hot path and no lock. The key's destructor frees it
   when a (libmilter) thread ends. */
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static pthread_key_t md_key;
static bool md_key_ok;

static void
md_destroy(void *md)
{
	pcre2_match_data_free(md);
}

static void
md_key_init(void)
{
	md_key_ok = pthread_key_create(&md_key, md_destroy) == 0;
}

static pcre2_match_data *
thread_match_data(void)
{
	pcre2_match_data *md;

	pthread_once(&md_once, md_key_init);
	if (!md_key_ok)
		return NULL;
	md = pthread_getspecific(md_key);
	if (md == NULL) {
		md = pcre2_match_data_create(PCRE_OVEC_PAIRS, NULL);
		if (md == NULL)
			mavis_panic(__FILE__, __LINE__, "out of memory for pcre2 match data");
		if (pthread_setspecific(md_key, md) != 0) {
			pcre2_match_data_free(md);
			return NULL;
		}
	}
	return md;
}

static int
line_error(struct mavis_error *err, const char *path, unsigned long lineno, const char *what,
	   const char *detail)
{
	return mavis_error_set(err, MAVIS_ERR_CONFIG, "%s:%lu: %s%s", path, lineno, what,
			       detail);
}

/* Compile one non-blank, non-comment line into r. */
static int
parse_rule(const char *line, size_t len, const struct map_lines *it, enum mavis_mapval kind,
	   struct mavis_arena *a, struct pcre_rule *r, struct mavis_error *err)
{
	uint32_t opts = 0, ncap = 0;
	size_t i = 1, pend, vlen;
	const char *v;
	int errcode, maxref;
	PCRE2_SIZE erroff;

	if (line[0] != '/')
		return line_error(err, it->path, it->lineno, "expected /regex/", "");
	for (; i < len && line[i] != '/'; i++)
		if (line[i] == '\\')
			i++;
	if (i >= len)
		return line_error(err, it->path, it->lineno, "unterminated /regex/", "");
	pend = i++;
	for (; i < len && line[i] != ' ' && line[i] != '\t'; i++) {
		switch (line[i]) {
		case 'i': opts |= PCRE2_CASELESS; break;
		case 'm': opts |= PCRE2_MULTILINE; break;
		case 's': opts |= PCRE2_DOTALL; break;
		case 'x': opts |= PCRE2_EXTENDED; break;
		default:
			return mavis_error_set(err, MAVIS_ERR_CONFIG, "%s:%lu: unknown regex flag '%c'",
					       it->path, it->lineno, line[i]);
		}
	}
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	vlen = len - i;
	v = line + i;
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	r->value = vlen > 0 ? mavis_map_unquote(a, v, vlen) : "1";
	r->lineno = it->lineno;
	/* No PCRE2_UTF: keys are raw SMTP bytes and need not be valid UTF-8. */
	r->code = pcre2_compile((PCRE2_SPTR)(line + 1), pend - 1, opts, &errcode, &erroff, NULL);
	if (r->code == NULL) {
		PCRE2_UCHAR msg[256];

		if (pcre2_get_error_message(errcode, msg, sizeof(msg)) < 0)
			strcpy((char *)msg, "unknown error");
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "%s:%lu: regex error at offset %zu: %s",
				       it->path, it->lineno, (size_t)erroff, (const char *)msg);
	}
	/* Without JIT (unsupported CPU, no executable memory) the interpreter
	   gives the same results, only slower. */
	(void)pcre2_jit_compile(r->code, PCRE2_JIT_COMPLETE);
	pcre2_pattern_info(r->code, PCRE2_INFO_CAPTURECOUNT, &ncap);
	maxref = mavis_map_expand_max_ref(r->value);
	if (maxref < 0 || maxref > PCRE_OVEC_PAIRS - 1)
		return line_error(err, it->path, it->lineno,
				  "only $1 to $9 can be used in a value", "");
	if ((uint32_t)maxref > ncap)
		return mavis_error_set(err, MAVIS_ERR_CONFIG,
				       "%s:%lu: $%d but the regex has %u capture group(s)",
				       it->path, it->lineno, maxref, ncap);
	r->expand = maxref > 0;
	/* A value built from captures is only known at lookup time. */
	if (!r->expand && mavis_map_value_check(kind, r->value, err) < 0) {
		mavis_error_prefix(err, "%s:%lu: ", it->path, it->lineno);
		return err != NULL ? err->status : MAVIS_ERR_CONFIG;
	}
	return 0;
}

static void
free_rules(struct pcre_rule *rule, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pcre2_code_free(rule[i].code);
}

int
mavis_map_pcre_load(const char *path, enum mavis_mapval kind, struct mavis_arena *a,
		    struct map_pcre **out, struct mavis_error *err)
{
	struct pcre_rule *rule = NULL;
	size_t n = 0, cap = 0;
	struct map_file f;
	struct map_lines it;
	struct map_pcre *t;
	const char *line;
	size_t len;
	int r;

	r = mavis_map_file_read(path, &f, err);
	if (r < 0)
		return r;
	mavis_map_lines_init(&it, &f);
	while ((r = mavis_map_lines_next(&it, &line, &len, err)) > 0) {
		while (len > 0 && (*line == ' ' || *line == '\t')) {
			line++;
			len--;
		}
		if (len == 0 || *line == '#')
			continue;
		if (n >= MAP_ENTRIES_MAX) {
			r = mavis_error_set(err, MAVIS_ERR_LIMIT, "%s:%lu: more than %zu entries",
					    path, it.lineno, MAP_ENTRIES_MAX);
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			rule = mavis_xrealloc(rule, cap * sizeof(*rule));
		}
		memset(&rule[n], 0, sizeof(rule[n]));
		r = parse_rule(line, len, &it, kind, a, &rule[n], err);
		if (rule[n].code != NULL)
			n++;
		if (r < 0)
			break;
	}
	mavis_map_file_release(&f);
	if (r < 0) {
		free_rules(rule, n);
		free(rule);
		return r;
	}
	t = mavis_arena_alloc(a, sizeof(*t));
	t->path = mavis_arena_strdup(a, path);
	t->n = n;
	t->rule = mavis_arena_memdup(a, rule, n * sizeof(*rule));
	free(rule);
	t->mctx = pcre2_match_context_create(NULL);
	if (t->mctx == NULL)
		mavis_panic(__FILE__, __LINE__, "out of memory for a pcre2 match context");
	pcre2_set_match_limit(t->mctx, PCRE_MATCH_LIMIT);
	pcre2_set_depth_limit(t->mctx, PCRE_DEPTH_LIMIT);
	*out = t;
	return 0;
}

int
mavis_map_pcre_lookup(const struct map_pcre *t, const char *key, struct mavis_arena *scratch,
		      const char **value, struct mavis_error *err)
{
	pcre2_match_data *md = thread_match_data();
	pcre2_match_data *own = NULL;
	size_t klen = strlen(key);
	int rc = PCRE2_ERROR_NOMATCH, ret = 0;
	size_t i;

	/* Only if the thread key could not be made: correct, if slower. */
	if (md == NULL)
		md = own = pcre2_match_data_create(PCRE_OVEC_PAIRS, NULL);
	if (md == NULL)
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "no memory for pcre2 match data");
	for (i = 0; i < t->n; i++) {
		rc = pcre2_match(t->rule[i].code, (PCRE2_SPTR)key, klen, 0, 0, md, t->mctx);
		if (rc != PCRE2_ERROR_NOMATCH)
			break;
	}
	if (i == t->n) {
		ret = 0;
	} else if (rc < 0) {
		PCRE2_UCHAR msg[128];

		if (pcre2_get_error_message(rc, msg, sizeof(msg)) < 0)
			strcpy((char *)msg, "unknown error");
		ret = mavis_error_set(err, rc == PCRE2_ERROR_MATCHLIMIT ||
					   rc == PCRE2_ERROR_DEPTHLIMIT ||
					   rc == PCRE2_ERROR_JIT_STACKLIMIT ?
					   MAVIS_ERR_LIMIT : MAVIS_ERR_INTERNAL,
				      "%s:%lu: regex match failed: %s", t->path,
				      t->rule[i].lineno, (const char *)msg);
	} else if (!t->rule[i].expand) {
		*value = t->rule[i].value;
		ret = 1;
	} else if (scratch == NULL) {
		ret = mavis_error_set(err, MAVIS_ERR_INTERNAL,
				      "pcre lookup with $N needs a scratch arena");
	} else {
		/* rc == 0: more groups than ovector pairs; all pairs are valid. */
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		uint32_t pairs = rc == 0 ? PCRE_OVEC_PAIRS : (uint32_t)rc;
		const char *sub[PCRE_OVEC_PAIRS - 1] = { NULL };
		size_t sublen[PCRE_OVEC_PAIRS - 1] = { 0 };

		for (uint32_t g = 1; g < pairs && g < PCRE_OVEC_PAIRS; g++) {
			if (ov[2 * g] == PCRE2_UNSET)
				continue;
			sub[g - 1] = key + ov[2 * g];
			sublen[g - 1] = ov[2 * g + 1] - ov[2 * g];
		}
		*value = mavis_map_expand(t->rule[i].value, sub, sublen, PCRE_OVEC_PAIRS - 1,
					  scratch);
		ret = 1;
	}
	if (own != NULL)
		pcre2_match_data_free(own);
	return ret;
}

void
mavis_map_pcre_free(struct map_pcre *t)
{
	if (t == NULL)
		return;
	free_rules(t->rule, t->n);
	t->n = 0;
	pcre2_match_context_free(t->mctx);
	t->mctx = NULL;
}
