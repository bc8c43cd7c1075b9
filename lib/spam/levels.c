/* SPDX-License-Identifier: GPL-2.0-or-later */
/* levels.c - amavisd's spam levels, categories and X-Spam-* field texts */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mavis/buf.h>

#include "spam_int.h"

/* amavisd add_forwarding_header_edits_per_recip: @headers_to_be_removed */
const char *const mavis_spam_header_names[] = {
	"X-Spam-Status", "X-Spam-Level", "X-Spam-Flag", "X-Spam-Score",
	"X-Spam-Report", "X-Spam-Checker-Version", "X-Spam-Tests", NULL,
};

bool
mavis_spam_is_spam_header(const char *name, size_t len)
{
	for (size_t i = 0; mavis_spam_header_names[i] != NULL; i++)
		if (strlen(mavis_spam_header_names[i]) == len &&
		    strncasecmp(mavis_spam_header_names[i], name, len) == 0)
			return true;
	return false;
}

/* Perl prints a number with %.15g; a negative zero comes out as "0" from
   the numified strings amavisd formats. */
const char *
mavis_spam_fmt_num(struct mavis_arena *a, double x)
{
	if (x == 0 || !isfinite(x))
		return mavis_arena_strdup(a, x == 0 ? "0" : isnan(x) ? "NaN" : x > 0 ? "Inf" : "-Inf");
	return mavis_arena_printf(a, "%.15g", x);
}

/* 0+sprintf("%.3f", x): round to three decimals, then print as a number. */
const char *
mavis_spam_fmt_score(struct mavis_arena *a, double x)
{
	char tmp[400];

	if (!isfinite(x))
		return mavis_spam_fmt_num(a, x);
	snprintf(tmp, sizeof(tmp), "%.3f", x);
	return mavis_spam_fmt_num(a, strtod(tmp, NULL));
}

/* ---- header folding: Amavis::Out::EditHeader::hdr + wrap_string ---- */

#define FOLD_WIDTH 78
#define LINE_MAX_OCTETS 998

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static bool
all_white(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_wsp(s[i]))
			return false;
	return true;
}

/* Display column after s starting at column ind (tabs to multiples of 8). */
static size_t
disp_len(const char *s, size_t n, size_t ind)
{
	for (size_t i = 0; i < n; i++)
		ind += s[i] == '\t' ? 8 - ind % 8 : 1;
	return ind;
}

struct chunk {
	const char *p;
	size_t n;
};

/*
 * Join chunks greedily into lines of at most FOLD_WIDTH columns. A chunk
 * that does not fit goes to a new line with its own leading white space
 * (amavisd passes no indent for these fields); its trailing white space
 * stays on the old line as far as it fits.
 */
static void
wrap_chunks(struct chunk *c, size_t n, struct mavis_buf *out, struct mavis_arena *a)
{
	struct mavis_buf s = { 0 };
	size_t sind = 0;
	bool contin = false;

	for (size_t i = 0; i < n;) {
		struct chunk ch = c[i++];
		size_t l = disp_len(ch.p, ch.n, sind);

		if (l <= FOLD_WIDTH || (i == n && all_white(s.data, s.len))) {
			mavis_buf_append(&s, ch.p, ch.n);
			sind = l;
			continue;
		}
		size_t solid = ch.n;
		while (solid > 0 && is_wsp(ch.p[solid - 1]))
			solid--;
		size_t minl = disp_len(ch.p, solid, sind);
		if (i < n && (minl <= FOLD_WIDTH || all_white(s.data, s.len))) {
			size_t w = solid;

			mavis_buf_append(&s, ch.p, solid);
			sind = minl;
			while (w < ch.n && disp_len(ch.p + w, 1, sind) <= FOLD_WIDTH) {
				sind = disp_len(ch.p + w, 1, sind);
				mavis_buf_append(&s, ch.p + w, 1);
				w++;
			}
			if (w < ch.n) {
				/* the rest of the white space leads the next chunk */
				size_t nn = ch.n - w + c[i].n;
				char *j = mavis_arena_alloc(a, nn + 1);

				memcpy(j, ch.p + w, ch.n - w);
				memcpy(j + ch.n - w, c[i].p, c[i].n);
				c[i].p = j;
				c[i].n = nn;
			}
		} else {
			if (contin)
				mavis_buf_putc(out, '\n');
			contin = true;
			mavis_buf_append(out, s.data ? s.data : "", s.len);
			mavis_buf_reset(&s);
			sind = 0;
			c[--i] = ch;	/* this chunk again, on the new line */
		}
	}
	if (!all_white(s.data, s.len)) {
		if (contin)
			mavis_buf_putc(out, '\n');
		mavis_buf_append(out, s.data, s.len);
	}
	mavis_buf_free(&s);
}

/* Lines over 998 octets end in "..." at 998 (only when the whole is longer). */
static void
cut_long_lines(struct mavis_buf *b)
{
	struct mavis_buf o = { 0 };
	const char *p = b->data ? b->data : "", *end = p + b->len;

	if (b->len <= LINE_MAX_OCTETS)
		return;
	while (p <= end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);

		if (n > LINE_MAX_OCTETS) {
			mavis_buf_append(&o, p, LINE_MAX_OCTETS - 3);
			mavis_buf_puts(&o, "...");
		} else {
			mavis_buf_append(&o, p, n);
		}
		if (nl == NULL)
			break;
		mavis_buf_putc(&o, '\n');
		p = nl + 1;
	}
	mavis_buf_free(b);
	*b = o;
}

/* The body of "Name:..." as a milter passes it: after the colon and its
   white space, without the final line ends. */
static const char *
field_value(struct mavis_arena *a, const struct mavis_buf *b)
{
	const char *p = memchr(b->data, ':', b->len), *end = b->data + b->len;

	p = p ? p + 1 : end;
	while (p < end && is_wsp(*p))
		p++;
	while (end > p && end[-1] == '\n')
		end--;
	return mavis_arena_strndup(a, p, (size_t)(end - p));
}

/* Insert a space after each "\n" that is not followed by white space, and
   drop a "\n" that only leads to a blank line (or the end). */
static void
normalise_folds(struct mavis_buf *b)
{
	struct mavis_buf o = { 0 };

	for (size_t i = 0; i < b->len; i++) {
		char ch = b->data[i];

		if (ch == '\n') {
			size_t j = i + 1;

			while (j < b->len && is_wsp(b->data[j]))
				j++;
			if (j == b->len || b->data[j] == '\n')
				continue;
			mavis_buf_putc(&o, '\n');
			if (!is_wsp(b->data[i + 1]))
				mavis_buf_putc(&o, ' ');
			continue;
		}
		mavis_buf_putc(&o, ch);
	}
	mavis_buf_free(b);
	*b = o;
}

/* hdr(name, body, structured): 0 = fold at white space if over 78 columns,
   1 = fold only at the "\n" in body, 2 = keep body's own folds. */
static const char *
hdr(struct mavis_arena *a, const char *name, const char *body, int structured)
{
	struct mavis_buf s = { 0 }, w = { 0 };
	const char *v;

	mavis_buf_printf(&s, "%s:", name);
	if (body[0] != '\0' && !is_wsp(body[0]) && body[0] != '\n')
		mavis_buf_putc(&s, ' ');
	mavis_buf_puts(&s, body);
	if (structured == 2) {
		normalise_folds(&s);
	} else if (structured == 1 || s.len > FOLD_WIDTH) {
		size_t n = 0, cap = 8;
		struct chunk *c = mavis_arena_calloc(a, cap, sizeof(*c));

		if (structured == 1) {
			normalise_folds(&s);
			for (size_t i = 0, st = 0; i <= s.len; i++) {
				if (i < s.len && s.data[i] != '\n')
					continue;
				if (n == cap) {
					struct chunk *nc = mavis_arena_calloc(a, cap * 2, sizeof(*nc));
					memcpy(nc, c, n * sizeof(*c));
					c = nc;
					cap *= 2;
				}
				c[n++] = (struct chunk){ s.data + st, i - st };
				st = i + 1;
			}
		} else {
			/* unfold, then pieces that start with one white space
			   character followed by a non-white one */
			struct mavis_buf u = { 0 };

			normalise_folds(&s);
			for (size_t i = 0; i < s.len; i++)
				if (s.data[i] != '\n')
					mavis_buf_putc(&u, s.data[i]);
			mavis_buf_free(&s);
			s = u;
			for (size_t i = 0, st = 0; i <= s.len; i++) {
				bool cut = i == s.len ||
					   (i > 0 && is_wsp(s.data[i]) && i + 1 < s.len &&
					    !is_wsp(s.data[i + 1]) && !all_white(s.data + st, i - st));
				if (!cut)
					continue;
				if (n == cap) {
					struct chunk *nc = mavis_arena_calloc(a, cap * 2, sizeof(*nc));
					memcpy(nc, c, n * sizeof(*c));
					c = nc;
					cap *= 2;
				}
				c[n++] = (struct chunk){ s.data + st, i - st };
				st = i;
			}
		}
		wrap_chunks(c, n, &w, a);
		mavis_buf_free(&s);
		s = w;
	}
	cut_long_lines(&s);
	v = field_value(a, &s);
	mavis_buf_free(&s);
	return v;
}

const char *
mavis_spam_fold(struct mavis_arena *a, const char *name, const char *body)
{
	return hdr(a, name, body, 1);
}

/* amavisd sanitize_str($str, 1): controls except LF, DEL and backslash as
   \r \t \\ or \xHH. */
static void
sanitize_keep_eol(struct mavis_buf *o, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '\r')
			mavis_buf_puts(o, "\\r");
		else if (ch == '\t')
			mavis_buf_puts(o, "\\t");
		else if (ch == '\\')
			mavis_buf_puts(o, "\\\\");
		else if ((ch < 0x20 && ch != '\n') || ch == 0x7f)
			mavis_buf_printf(o, "\\x%02X", ch);
		else
			mavis_buf_putc(o, (char)ch);
	}
}

/* ---- subject tag macros ---- */

static const char *
subject_expand(struct mavis_arena *a, const char *tag, const struct mavis_spam_eval *e,
	       const struct mavis_spam_rcpt *r, const struct mavis_spam_hdr_opts *o)
{
	static const char *const names[] = {
		"SCORE", "REQD", "YESNO", "YESNOCAPS", "HOSTNAME", "DATE", "U",
		"LOGID", "MAILID", "SUBJPREFIX", NULL,
	};
	struct mavis_buf b = { 0 };
	const char *res;

	for (const char *p = tag; *p;) {
		int which = -1;
		size_t nl = 0;

		if (*p == '_') {
			for (int k = 0; names[k] != NULL; k++) {
				nl = strlen(names[k]);
				if (strncmp(p + 1, names[k], nl) == 0 && p[1 + nl] == '_') {
					which = k;
					break;
				}
			}
		}
		if (which < 0) {
			mavis_buf_putc(&b, *p++);
			continue;
		}
		const char *v = "";
		switch (which) {
		case 0: v = mavis_spam_fmt_score(a, e->level); break;
		case 1: v = isnan(r->levels.tag2) || r->bypassed ? "-"
						: mavis_spam_fmt_score(a, r->levels.tag2); break;
		case 2: v = e->tag2 ? "Yes" : "No"; break;
		case 3: v = e->tag2 ? "YES" : "NO"; break;
		case 4: v = o->hostname; break;
		case 5: v = o->date_rfc2822; break;
		case 6: v = o->date_iso8601; break;
		case 7: v = o->log_id; break;
		case 8: v = o->mail_id; break;
		case 9: v = o->subjprefix; break;
		}
		mavis_buf_puts(&b, v ? v : "");
		p += nl + 2;
	}
	res = mavis_arena_strdup(a, mavis_buf_str(&b));
	mavis_buf_free(&b);
	return res;
}

/* ---- the evaluation ---- */

static bool
ge(double level, double threshold)
{
	return !isnan(threshold) && level >= threshold;
}

static void
add_field(struct mavis_spam_eval *e, const char *name, const char *value)
{
	if (e->n_fields < MAVIS_SPAM_MAX_FIELDS)
		e->fields[e->n_fields++] = (struct mavis_spam_field){ name, value };
}

int
mavis_spam_rcpt_eval(const struct mavis_spam_rcpt *r, const struct mavis_spam_hdr_opts *o,
		     struct mavis_arena *a, struct mavis_spam_eval *e)
{
	static const struct mavis_spam_hdr_opts no_opts;
	const struct mavis_spam_levels *lv;
	bool bl, wl, has_level;
	struct mavis_buf t = { 0 };

	if (r == NULL || a == NULL || e == NULL)
		return MAVIS_ERR_INTERNAL;
	if (o == NULL)
		o = &no_opts;
	memset(e, 0, sizeof(*e));
	lv = &r->levels;
	bl = r->blacklisted;
	wl = r->whitelisted;
	e->scored = r->scan != NULL && r->scan->status == MAVIS_SPAM_OK;
	/* amavisd adds the sender boost before scanning, so a boost alone
	   defines the level even when the scanners failed */
	has_level = e->scored || r->boost != 0;
	e->level = (e->scored ? r->scan->score : 0) + r->boost;

	/* decide_mail_destiny; an undefined level compares as 0 */
	if (!r->bypassed) {
		e->tag = bl || isnan(lv->tag) || e->level + (wl ? -10 : 0) >= lv->tag;
		if (!wl) {
			e->tag2 = bl || ge(e->level, lv->tag2);
			e->tag3 = bl || ge(e->level, lv->tag3);
			e->kill = bl || ge(e->level, lv->kill);
		}
		e->tag2 = e->tag2 || e->tag3;
	}
	e->ccat = e->kill ? MAVIS_SPAM_CC_SPAM : e->tag3 ? MAVIS_SPAM_CC_SPAMMY3
		: e->tag2 ? MAVIS_SPAM_CC_SPAMMY : e->tag ? MAVIS_SPAM_CC_TAGGED
		: MAVIS_SPAM_CC_CLEAN;
	e->dsn_suppress = !isnan(lv->dsn_cutoff) &&
			  (e->level >= lv->dsn_cutoff || (bl && !wl));
	e->quarantine_suppress = !isnan(lv->quarantine_cutoff) &&
				 ((bl && !wl) || e->level >= lv->quarantine_cutoff);
	e->remove_headers = r->remove_existing_headers;

	/* spam_tests: the sender boost first, then one entry per scanner
	   run; amavisd joins them with ',' even when an entry is empty */
	if (r->boost != 0)
		mavis_buf_printf(&t, "AM.WBL=%s", mavis_spam_fmt_score(a, r->boost));
	if (r->scan != NULL) {
		if (r->boost != 0)
			mavis_buf_putc(&t, ',');
		for (size_t i = 0; e->scored && i < r->scan->n_tests; i++)
			mavis_buf_printf(&t, "%s%s=%s", i ? "," : "", r->scan->tests[i].name,
					 r->scan->tests[i].score_text);
	}
	e->tests = mavis_arena_strdup(a, mavis_buf_str(&t));
	mavis_buf_free(&t);

	if (!r->local)
		return 0;

	/* subject: the tag of the highest category that has a nonempty one */
	const char *subj = NULL;
	if (e->tag3 && r->subject_tag3 && *r->subject_tag3)
		subj = r->subject_tag3;
	else if (e->tag2 && r->subject_tag2 && *r->subject_tag2)
		subj = r->subject_tag2;
	else if (e->tag && r->subject_tag && *r->subject_tag)
		subj = r->subject_tag;
	if (subj != NULL)
		e->subject_tag = subject_expand(a, subj, e, r, o);

	if (!e->tag && !e->tag2)
		return 0;
	const char *slc = o->level_char ? o->level_char : "*";
	const char *bar = NULL;
	if (*slc) {
		double len = wl || r->bypassed ? 0 : bl ? 64 : !has_level ? 0
			   : e->level > 64 ? 64 : e->level;
		struct mavis_buf b = { 0 };

		for (int i = 0; len >= 1 && i < (int)len; i++)
			mavis_buf_puts(&b, slc);
		bar = mavis_arena_strdup(a, mavis_buf_str(&b));
		mavis_buf_free(&b);
	}

	struct mavis_buf st = { 0 };
	mavis_buf_printf(&st, "%s,\n score=%s\n ", e->tag2 ? "Yes" : "No",
			 has_level ? mavis_spam_fmt_score(a, e->level) : "x");
	if (!isnan(lv->tag))
		mavis_buf_printf(&st, "tagged_above=%s\n ", mavis_spam_fmt_num(a, lv->tag));
	if (!isnan(lv->tag2))
		mavis_buf_printf(&st, "required=%s\n ", mavis_spam_fmt_num(a, lv->tag2));
	if (bl)
		mavis_buf_puts(&st, "BLACKLISTED\n ");
	if (wl)
		mavis_buf_puts(&st, "WHITELISTED\n ");
	mavis_buf_puts(&st, "tests=[");
	for (const char *p = e->tests; *p; p++) {
		if (*p == ',')
			mavis_buf_puts(&st, ",\n ");
		else
			mavis_buf_putc(&st, *p);
	}
	mavis_buf_printf(&st, "]\n autolearn=%s", r->autolearn ? r->autolearn : "unavailable");

	if (e->tag) {
		double sc = e->level;

		if (bl && sc < 64)
			sc = 64;
		if (wl && sc > 0)
			sc = 0;
		add_field(e, "X-Spam-Flag", e->tag2 ? "YES" : "NO");
		add_field(e, "X-Spam-Score", mavis_spam_fmt_score(a, sc));
		if (bar != NULL)
			add_field(e, "X-Spam-Level", hdr(a, "X-Spam-Level", bar, 0));
		add_field(e, "X-Spam-Status", hdr(a, "X-Spam-Status", mavis_buf_str(&st), 1));
	}
	mavis_buf_free(&st);
	if (o->report_field && e->tag2 && e->scored && r->scan->report && *r->scan->report) {
		struct mavis_buf rb = { 0 };

		mavis_buf_putc(&rb, '\n');
		sanitize_keep_eol(&rb, r->scan->report);
		add_field(e, "X-Spam-Report", hdr(a, "X-Spam-Report", mavis_buf_str(&rb), 2));
		mavis_buf_free(&rb);
	}
	return 0;
}
