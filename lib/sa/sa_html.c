/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sa_html.c - HTML tokenizer and renderer with SpamAssassin's semantics */

/*
 * Two layers, as in SA: a tokenizer that reports the events HTML::Parser 3
 * reports (start tag with attributes, end tag, text with entities decoded,
 * comment, declaration), and handlers that do what Mail::SpamAssassin::HTML
 * does with them. The behaviour was learnt from HTML.pm and from running it
 * on test inputs (t/sa/html-oracle.pl); where the two differ on input no
 * mail carries, the comment says so.
 */

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "sa/sa_html.h"
#include "sa/sa_parse_int.h"

/* SA truncates longer URIs (Constants.pm MAX_URI_LENGTH). */
#define SA_MAX_URI_LENGTH 8192

struct entity {
	const char *name;
	unsigned cp;
	int need_semicolon;
};

static const struct entity entities[] = {
#include "sa/sa_html_entities.h"
};

struct color_name {
	const char *name;
	unsigned rgb;
};

static const struct color_name color_names[] = {
#include "sa/sa_html_colors.h"
};

/* HTML.pm's tag classes, sorted for bsearch. */
static const char *const elements[] = {
	"a", "abbr", "acronym", "address", "applet", "area", "b", "base", "basefont",
	"bdo", "big", "blockquote", "body", "br", "button", "caption", "center", "cite",
	"code", "col", "colgroup", "dd", "del", "dfn", "dir", "div", "dl", "dt", "em",
	"fieldset", "font", "form", "frame", "frameset", "h1", "h2", "h3", "h4", "h5",
	"h6", "head", "hr", "html", "i", "iframe", "img", "input", "ins", "isindex",
	"kbd", "label", "legend", "li", "link", "map", "menu", "meta", "nobr",
	"noframes", "noscript", "object", "ol", "optgroup", "option", "p", "param",
	"pre", "q", "s", "samp", "script", "select", "small", "span", "strike",
	"strong", "style", "sub", "sup", "table", "tbody", "td", "textarea", "tfoot",
	"th", "thead", "title", "tr", "tt", "u", "ul", "var", "x-sigsep", "x-tab",
};
static const char *const tricks[] = { "bgsound", "embed", "listing", "plaintext", "xmp" };
static const char *const text_style_tags[] = {
	"a", "basefont", "big", "body", "div", "font", "marquee", "p", "small", "span",
	"table", "td", "th", "tr",
};
static const char *const uri_tags[] = {
	"a", "area", "base", "bgsound", "body", "embed", "form", "frame", "iframe",
	"img", "link", "meta", "script", "table", "td", "tr",
};

enum { WS_NONE, WS_LINE, WS_SPACE, WS_PARA };

/* One text_style entry (HTML.pm's %new). */
struct style {
	const char *tag;	/* interned: one of text_style_tags, or "default" */
	const char *fg, *bg;	/* "#rrggbb", "invalid" or "transparent" */
	double size;
	const char *display, *visibility;	/* style_display, style_visibility */
};

struct chunk {
	char *p;
	size_t len;
	bool ws, inv;
};

struct inside {
	const char *name;
	long count;
};

struct attr {
	const char *name;
	const char *value;
};

struct sa_html {
	struct mavis_arena *a;

	/* renderer state */
	struct sa_vec chunks;		/* struct chunk * */
	struct style *stack;
	size_t depth, stack_cap;
	size_t style_count[sizeof(text_style_tags) / sizeof(text_style_tags[0]) + 1];
	double basefont;
	struct inside *ins;		/* open addressing, cap a power of 2 */
	size_t ins_n, ins_cap;
	const char *anchor_last;
	char *base_href;

	/* facts */
	size_t length;
	long tags, elements, tags_seen, elements_seen, closed_extra, obfuscation;
	double image_area, min_size, max_size;
	uint64_t backhair;	/* bit (start-1)*7+(len-1) */
	bool font_low_contrast, font_invalid_color, font_face_bad, form_action_mailto;
	bool embeds, uri_truncated, iframe_src, has_title, has_comment, has_script, has_anchor;
	struct sa_vec title, comment, script, anchor;	/* struct sa_sb * */
	struct sa_vec uris;	/* const char * */
	struct sa_strset uri_set;
	struct sa_sb charsets;
	bool has_charsets;

	/* results */
	struct sa_sb visible, invisible, rendered;
	double html_length, non_space_len, ratio;
	bool has_ratio;
};

/* bsearch over a sorted table of strings */
static int
cmp_str(const void *k, const void *e)
{
	return strcmp(k, *(const char *const *)e);
}

static const char *
in_set(const char *tag, const char *const *set, size_t n)
{
	const char *const *hit = bsearch(tag, set, n, sizeof(*set), cmp_str);

	return hit ? *hit : NULL;
}

#define IN_SET(tag, set) in_set((tag), (set), sizeof(set) / sizeof((set)[0]))

/* --- the {inside} hash: tag name -> open count ------------------------------- */

static size_t
hash_str(const char *s)
{
	size_t h = 5381;

	for (; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h;
}

/* inside_get - the entry for name, created (count 0) when create is set */
static struct inside *
inside_get(struct sa_html *h, const char *name, bool create)
{
	size_t i;

	if (h->ins_cap) {
		for (i = hash_str(name) & (h->ins_cap - 1); h->ins[i].name;
		     i = (i + 1) & (h->ins_cap - 1))
			if (strcmp(h->ins[i].name, name) == 0)
				return &h->ins[i];
	}
	if (!create)
		return NULL;
	if ((h->ins_n + 1) * 2 > h->ins_cap) {
		size_t cap = h->ins_cap ? h->ins_cap * 2 : 64;
		struct inside *n = mavis_arena_calloc(h->a, cap, sizeof(*n));

		for (size_t j = 0; j < h->ins_cap; j++) {
			if (!h->ins[j].name)
				continue;
			for (i = hash_str(h->ins[j].name) & (cap - 1); n[i].name; i = (i + 1) & (cap - 1))
				;
			n[i] = h->ins[j];
		}
		h->ins = n;
		h->ins_cap = cap;
	}
	for (i = hash_str(name) & (h->ins_cap - 1); h->ins[i].name; i = (i + 1) & (h->ins_cap - 1))
		;
	h->ins[i].name = mavis_arena_strdup(h->a, name);
	h->ins[i].count = 0;
	h->ins_n++;
	return &h->ins[i];
}

static long
inside_count(struct sa_html *h, const char *name)
{
	struct inside *e = inside_get(h, name, false);

	return e ? e->count : 0;
}

/* --- entities --------------------------------------------------------------- */

static int
cmp_entity(const void *k, const void *e)
{
	return strcmp(k, ((const struct entity *)e)->name);
}

static void
put_utf8(struct sa_sb *b, struct mavis_arena *a, unsigned cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	sa_sb_add(b, a, u, n);
}

/*
 * entity_at - decode the entity at s[0] == '&' into b; returns the bytes
 * consumed, 0 when it is no entity (the '&' stays). As HTML::Parser in
 * utf8_mode: numeric references 1..0x10FFFF as UTF-8; named ones by the HTML
 * 4 table, the Latin-1 names also without ';' and as the longest prefix of
 * a longer name ("&ampx" is "&x").
 */
static size_t
entity_at(const char *s, size_t n, struct sa_sb *b, struct mavis_arena *a)
{
	char name[16];
	size_t i = 1, k;

	if (n < 2)
		return 0;
	if (s[1] == '#') {
		unsigned long cp = 0;
		bool hex = i + 1 < n && (s[2] == 'x' || s[2] == 'X');
		size_t start;

		i = hex ? 3 : 2;
		start = i;
		for (; i < n; i++) {
			int c = (unsigned char)s[i], d;

			if (sa_isdigit(c))
				d = c - '0';
			else if (hex && c >= 'a' && c <= 'f')
				d = c - 'a' + 10;
			else if (hex && c >= 'A' && c <= 'F')
				d = c - 'A' + 10;
			else
				break;
			if (cp <= 0x10ffff)
				cp = cp * (hex ? 16 : 10) + (unsigned long)d;
		}
		if (i == start || cp == 0 || cp > 0x10ffff)
			return 0;
		if (i < n && s[i] == ';')
			i++;
		put_utf8(b, a, (unsigned)cp);
		return i;
	}
	for (k = 0; i < n && sa_isalnum((unsigned char)s[i]) && k < sizeof(name) - 1; i++)
		name[k++] = s[i];
	if (k == 0)
		return 0;
	name[k] = '\0';
	if (i < n && s[i] == ';') {
		const struct entity *e = bsearch(name, entities, sizeof(entities) / sizeof(entities[0]),
						 sizeof(entities[0]), cmp_entity);
		if (e) {
			put_utf8(b, a, e->cp);
			return i + 1;
		}
	}
	/* without ';': the longest prefix that is a Latin-1 name */
	for (; k > 0; k--) {
		const struct entity *e;

		name[k] = '\0';
		e = bsearch(name, entities, sizeof(entities) / sizeof(entities[0]), sizeof(entities[0]),
			    cmp_entity);
		if (e && !e->need_semicolon) {
			put_utf8(b, a, e->cp);
			return 1 + k;
		}
	}
	return 0;
}

/* decode - s[0..n) with entities decoded, NUL-terminated, in the arena */
static char *
decode(struct sa_html *h, const char *s, size_t n, size_t *outlen)
{
	struct sa_sb b = { 0 };
	size_t i = 0, run = 0;

	sa_sb_add(&b, h->a, "", 0);
	while (i < n) {
		const char *amp = memchr(s + i, '&', n - i);
		size_t used;

		if (!amp) {
			sa_sb_add(&b, h->a, s + i, n - i);
			break;
		}
		run = (size_t)(amp - (s + i));
		sa_sb_add(&b, h->a, s + i, run);
		i += run;
		used = entity_at(s + i, n - i, &b, h->a);
		if (used == 0) {
			sa_sb_addc(&b, h->a, '&');
			used = 1;
		}
		i += used;
	}
	*outlen = b.len;
	return b.p;
}

/* --- colours ---------------------------------------------------------------- */

static int
cmp_color(const void *k, const void *e)
{
	return strcmp(k, ((const struct color_name *)e)->name);
}

/* dec2hex - HTML.pm's: at least two hex digits, more when above 255 */
static void
dec2hex(struct sa_sb *b, struct mavis_arena *a, unsigned long v)
{
	char t[24];
	int n = snprintf(t, sizeof(t), "%s%lx", v < 16 ? "0" : "", v);

	sa_sb_add(b, a, t, (size_t)n);
}

/* rgb_triplet - parse "D,\s*D,\s*D\s*)" (pct: "D%,\s*D%,...") after "rgb(" */
static bool
rgb_triplet(const char *s, bool pct, unsigned long v[3])
{
	for (int k = 0; k < 3; k++) {
		const char *d = s;

		v[k] = 0;
		while (sa_isdigit((unsigned char)*s)) {
			if (v[k] < 100000000UL)
				v[k] = v[k] * 10 + (unsigned long)(*s - '0');
			s++;
		}
		if (s == d)
			return false;
		if (pct && *s++ != '%')
			return false;
		if (k < 2) {
			if (*s++ != ',')
				return false;
			while (sa_isspace((unsigned char)*s))
				s++;
		}
	}
	while (sa_isspace((unsigned char)*s))
		s++;
	return *s == ')';
}

/* name_to_rgb - HTML.pm's name_to_rgb: "#rrggbb" or "invalid" */
static const char *
name_to_rgb(struct sa_html *h, const char *in)
{
	struct sa_sb b = { 0 };
	const struct color_name *cn;
	char *c, *e;
	size_t len;
	bool hexish = true;
	const char *r;

	while (sa_isspace((unsigned char)*in))
		in++;
	c = mavis_arena_strdup(h->a, in);
	for (e = c; *e; e++)
		*e = (char)sa_lower((unsigned char)*e);
	while (e > c && sa_isspace((unsigned char)e[-1]))
		*--e = '\0';
	cn = bsearch(c, color_names, sizeof(color_names) / sizeof(color_names[0]),
		     sizeof(color_names[0]), cmp_color);
	if (cn)
		return mavis_arena_printf(h->a, "#%06x", cn->rgb);
	for (e = c; *e; e++)
		if (!(*e == '#' || sa_isdigit((unsigned char)*e) || (*e >= 'a' && *e <= 'f')))
			hexish = false;
	/* rgb\([\d%, ]*\) anywhere */
	r = c;
	if (!hexish) {
		bool found = false;

		while ((r = strstr(r, "rgb(")) != NULL) {
			const char *q = r + 4;

			while (sa_isdigit((unsigned char)*q) || *q == '%' || *q == ',' || *q == ' ')
				q++;
			if (*q == ')') {
				found = true;
				break;
			}
			r += 4;
		}
		if (!found)
			return "invalid";
	}
	for (r = strstr(c, "rgb("); r; r = strstr(r + 1, "rgb(")) {
		unsigned long v[3];

		if (rgb_triplet(r + 4, true, v)) {
			sa_sb_addc(&b, h->a, '#');
			for (int k = 0; k < 3; k++)
				dec2hex(&b, h->a, (unsigned long)((double)v[k] / 100 * 255));
			c = b.p;
			b = (struct sa_sb){ 0 };
			break;
		}
	}
	for (r = strstr(c, "rgb("); r; r = strstr(r + 1, "rgb(")) {
		unsigned long v[3];

		if (rgb_triplet(r + 4, false, v)) {
			sa_sb_addc(&b, h->a, '#');
			for (int k = 0; k < 3; k++)
				dec2hex(&b, h->a, v[k]);
			c = b.p;
			b = (struct sa_sb){ 0 };
			break;
		}
	}
	if (c[0] != '#')
		return "invalid";
	/* keep hex digits only, at most six, then 3 or 6 */
	for (e = c + 1; *e; e++)
		if (sa_isdigit((unsigned char)*e) || (*e >= 'a' && *e <= 'f'))
			sa_sb_addc(&b, h->a, *e);
	len = b.len;
	if (len > 6)
		len = 6;
	if (len > 3 && len < 6)
		len = 3;
	{
		char hx[8] = { 0 };

		memcpy(hx, sa_sb_str(&b), len);
		/* len is 0, 1, 2, 3 or 6 here: pad a short one to three */
		if (len < 3) {
			memset(hx + len, '0', 3 - len);
			len = 3;
		}
		if (len == 3)
			return mavis_arena_printf(h->a, "#%c%c%c%c%c%c", hx[0], hx[0], hx[1], hx[1],
						  hx[2], hx[2]);
		return mavis_arena_printf(h->a, "#%s", hx);
	}
}

/* --- rendering (HTML.pm's display_text and html_text) ----------------------- */

static struct chunk *
last_chunk(struct sa_html *h)
{
	return h->chunks.n ? h->chunks.v[h->chunks.n - 1] : NULL;
}

static void
display_text(struct sa_html *h, const char *text, size_t len, int ws, bool inv)
{
	struct chunk *last = last_chunk(h), *c;
	struct sa_sb b = { 0 };

	c = mavis_arena_alloc(h->a, sizeof(*c));
	if (ws) {
		if (last && !last->ws && !last->inv && last->len && last->p[last->len - 1] == ' ')
			last->p[--last->len] = '\0';
		c->p = mavis_arena_strndup(h->a, text, len);
		c->len = len;
	} else {
		/* s/[ \t\n\r\f\x0b]+|\xc2\xa0/ /g */
		sa_sb_add(&b, h->a, "", 0);
		for (size_t i = 0; i < len;) {
			unsigned char ch = (unsigned char)text[i];

			if (sa_isspace(ch)) {
				while (i < len && sa_isspace((unsigned char)text[i]))
					i++;
				sa_sb_addc(&b, h->a, ' ');
			} else if (ch == 0xc2 && i + 1 < len && (unsigned char)text[i + 1] == 0xa0) {
				i += 2;
				sa_sb_addc(&b, h->a, ' ');
			} else {
				size_t j = i + 1;

				while (j < len && !sa_isspace((unsigned char)text[j]) &&
				       (unsigned char)text[j] != 0xc2)
					j++;
				sa_sb_add(&b, h->a, text + i, j - i);
				i = j;
			}
		}
		c->p = b.p;
		c->len = b.len;
		if (last && !inv && last->ws && c->len && c->p[0] == ' ') {
			c->p++;
			c->len--;
		}
	}
	c->ws = ws != 0;
	c->inv = inv;
	sa_vec_push(&h->chunks, h->a, c);
}

/* the class [^\s\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e] of HTML.pm's obfuscation tests */
static bool
is_alnumish(unsigned char c)
{
	if (sa_isspace(c))
		return false;
	return !((c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) || (c >= 0x5b && c <= 0x60) ||
		 (c >= 0x7b && c <= 0x7e));
}

/* \b at position i of s[0..n) */
static bool
word_boundary(const char *s, size_t n, size_t i)
{
	bool before = i > 0 && sa_isword((unsigned char)s[i - 1]);
	bool after = i < n && sa_isword((unsigned char)s[i]);

	return before != after;
}

static void
backhair(struct sa_html *h, const struct chunk *last, const char *text, size_t len)
{
	size_t run = 0, start = 0, l;

	/* /\b([class]{1,7})\z/ on the last chunk: the leftmost start wins */
	while (run < last->len && run < 7 && is_alnumish((unsigned char)last->p[last->len - 1 - run]))
		run++;
	for (size_t s = last->len - run; s < last->len; s++) {
		if (word_boundary(last->p, last->len, s)) {
			start = last->len - s;
			break;
		}
	}
	if (!start)
		return;
	/* /^([class]{1,7})\b/ on the new text: the longest that ends at \b */
	for (run = 0; run < len && run < 7 && is_alnumish((unsigned char)text[run]); run++)
		;
	for (l = run; l > 0; l--)
		if (word_boundary(text, len, l))
			break;
	if (l)
		h->backhair |= (uint64_t)1 << ((start - 1) * 7 + (l - 1));
}

static const struct style *
top_style(const struct sa_html *h)
{
	return &h->stack[h->depth - 1];
}

/* html_font_invisible - HTML.pm's test, with its side effects on the facts */
static bool
font_invisible(struct sa_html *h)
{
	const struct style *st = top_style(h);
	const char *fg = st->fg, *bg = st->bg;
	size_t fl = strlen(fg), bl = strlen(bg);
	unsigned r1, g1, b1, r2, g2, b2;

	if (strcmp(fg + (fl > 6 ? fl - 6 : 0), bg + (bl > 6 ? bl - 6 : 0)) == 0) {
		h->font_low_contrast = true;
		return true;
	}
	if (((fl == 7 && fg[0] == '#') || fl == 6) &&
	    sscanf(fg + fl - 6, "%2x%2x%2x", &r1, &g1, &b1) == 3 &&
	    strspn(fg + fl - 6, "0123456789abcdef") == 6 &&
	    ((bl == 7 && bg[0] == '#') || bl == 6) &&
	    sscanf(bg + bl - 6, "%2x%2x%2x", &r2, &g2, &b2) == 3 &&
	    strspn(bg + bl - 6, "0123456789abcdef") == 6) {
		double r = (double)r1 - r2, g = (double)g1 - g2, b = (double)b1 - b2;
		double d = sqrt(pow(0.2126 * r, 2) + pow(0.7152 * g, 2) + pow(0.0722 * b, 2));

		if (d < 12) {
			h->font_low_contrast = true;
			return true;
		}
	}
	if (strcmp(fg, "invalid") == 0 || strcmp(bg, "invalid") == 0) {
		h->font_invalid_color = true;
		return true;
	}
	if (st->size <= 1)
		return true;
	if (st->display && strcasecmp(st->display, "none") == 0)
		return true;
	if (st->visibility && strcasecmp(st->visibility, "hidden") == 0)
		return true;
	return false;
}

static void
html_text(struct sa_html *h, const char *text, size_t len)
{
	struct chunk *last;
	bool inv = false, nonspace = false;

	if (inside_count(h, "script") > 0) {
		struct sa_sb *s = mavis_arena_alloc(h->a, sizeof(*s));

		sa_sb_add(s, h->a, text, len);
		sa_vec_push(&h->script, h->a, s);
		h->has_script = true;
		return;
	}
	if (inside_count(h, "style") > 0)
		return;
	if (inside_count(h, "a") > 0 && h->anchor.n)
		sa_sb_add(h->anchor.v[h->anchor.n - 1], h->a, text, len);
	if (inside_count(h, "title") > 0 && h->title.n)
		sa_sb_add(h->title.v[h->title.n - 1], h->a, text, len);
	for (size_t i = 0; i < len && !nonspace; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == 0xc2 && i + 1 < len && (unsigned char)text[i + 1] == 0xa0)
			i++;
		else if (!sa_isspace(c))
			nonspace = true;
	}
	if (nonspace)
		inv = font_invisible(h);
	last = last_chunk(h);
	if (last) {
		if (len && is_alnumish((unsigned char)text[0]) && last->len &&
		    is_alnumish((unsigned char)last->p[last->len - 1]))
			h->obfuscation++;
		backhair(h, last, text, len);
	}
	display_text(h, text, len, WS_NONE, inv);
}

/* --- text_style ------------------------------------------------------------- */

static size_t
style_index(const char *tag)
{
	const char *t = IN_SET(tag, text_style_tags);

	return t ? (size_t)((const char *const *)bsearch(tag, text_style_tags,
			sizeof(text_style_tags) / sizeof(text_style_tags[0]),
			sizeof(text_style_tags[0]), cmp_str) - text_style_tags)
		 : sizeof(text_style_tags) / sizeof(text_style_tags[0]);
}

static void
style_push(struct sa_html *h, const struct style *st)
{
	if (h->depth == h->stack_cap) {
		size_t cap = h->stack_cap ? h->stack_cap * 2 : 16;
		struct style *n = mavis_arena_calloc(h->a, cap, sizeof(*n));

		if (h->depth)
			memcpy(n, h->stack, h->depth * sizeof(*n));
		h->stack = n;
		h->stack_cap = cap;
	}
	h->stack[h->depth++] = *st;
	h->style_count[style_index(st->tag)]++;
}

static void
style_pop(struct sa_html *h)
{
	h->style_count[style_index(h->stack[h->depth - 1].tag)]--;
	h->depth--;
}

static bool
style_has(const struct sa_html *h, const char *tag)
{
	return h->style_count[style_index(tag)] > 0;
}

/* close_table_tag: a new td/tr closes the open font/td (and tr) entries */
static void
close_table_tag(struct sa_html *h, const char *tag)
{
	if (!style_has(h, tag))
		return;
	while (h->depth > 0) {
		const char *top = h->stack[h->depth - 1].tag;

		if ((strcmp(tag, "td") == 0 && (strcmp(top, "font") == 0 || strcmp(top, "td") == 0)) ||
		    (strcmp(tag, "tr") == 0 &&
		     (strcmp(top, "font") == 0 || strcmp(top, "td") == 0 || strcmp(top, "tr") == 0)))
			style_pop(h);
		else
			break;
	}
}

static void
close_tag(struct sa_html *h, const char *tag)
{
	if (!style_has(h, tag))
		return;
	while (h->depth > 0) {
		bool found = strcmp(h->stack[h->depth - 1].tag, tag) == 0;

		style_pop(h);
		if (found)
			break;
	}
}

static bool
ok_attribute(const char *tag, const char *name)
{
	static const struct {
		const char *tag, *attrs;
	} ok[] = {
		{ "a", " style " }, { "basefont", " color face size " },
		{ "body", " text bgcolor link alink vlink background " },
		{ "div", " style " }, { "font", " color face size " },
		{ "marquee", " bgcolor background " }, { "p", " style " },
		{ "span", " style " }, { "table", " bgcolor style " },
		{ "td", " bgcolor style " }, { "th", " bgcolor style " },
		{ "tr", " bgcolor style " },
	};
	char key[32];

	if (strlen(name) > sizeof(key) - 3)
		return false;
	snprintf(key, sizeof(key), " %s ", name);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(ok[i].tag, tag) == 0)
			return strstr(ok[i].attrs, key) != NULL;
	return false;
}

/* leading_number - Perl's /^\s*([+-]?\d+)/ (sign only when signed) */
static bool
leading_number(const char *s, bool signed_only, double *v)
{
	double x = 0;
	int sign = 1;
	const char *d;

	while (sa_isspace((unsigned char)*s))
		s++;
	if (*s == '+' || *s == '-') {
		sign = *s == '-' ? -1 : 1;
		s++;
	} else if (signed_only) {
		return false;
	}
	d = s;
	while (sa_isdigit((unsigned char)*s))
		x = x * 10 + (*s++ - '0');
	if (s == d)
		return false;
	*v = sign * x;
	return true;
}

/* parse_css_background - the colour of the last layer of a CSS background */
static const char *
css_background_color(struct sa_html *h, const char *v)
{
	/* tokens split at spaces and layers at commas, outside (), "" and '' */
	struct sa_vec tokens = { 0 };
	struct sa_sb tok = { 0 };
	int stack[64], sp = 0, state = 0;

	for (const char *p = v; *p; p++) {
		char ch = *p;

		if (state == 0 && (ch == ' ' || ch == ',')) {
			if (tok.len)
				sa_vec_push(&tokens, h->a, tok.p);
			tok = (struct sa_sb){ 0 };
			if (ch == ',')
				tokens.n = 0;	/* a new layer */
			continue;
		}
		sa_sb_addc(&tok, h->a, ch);
		if (state == 0 || state == 1) {
			int next = ch == '(' && state == 0 ? 1 : ch == '"' ? 2 : ch == '\'' ? 3 : -1;

			if (next > 0 && sp < (int)(sizeof(stack) / sizeof(stack[0]))) {
				stack[sp++] = state;
				state = next;
			} else if (state == 1 && ch == ')') {
				sa_vec_push(&tokens, h->a, tok.p);
				tok = (struct sa_sb){ 0 };
				state = sp ? stack[--sp] : 0;
			}
		} else if ((state == 2 && ch == '"') || (state == 3 && ch == '\'')) {
			state = sp ? stack[--sp] : 0;
		}
	}
	if (tok.len)
		sa_vec_push(&tokens, h->a, tok.p);
	for (size_t i = 0; i < tokens.n; i++) {
		const char *c = name_to_rgb(h, tokens.v[i]);

		if (strcmp(c, "invalid") != 0)
			return c;
	}
	return NULL;
}

/* style_attr - one inline style="..." into st (HTML.pm's split /;/) */
static void
style_attr(struct sa_html *h, struct style *st, const char *style)
{
	const char *p = style;

	for (;;) {
		const char *semi = strchr(p, ';');
		size_t n = semi ? (size_t)(semi - p) : strlen(p);
		char *part = mavis_arena_strndup(h->a, p, n), *s = part, *e, *val;

		while (sa_isspace((unsigned char)*s))
			s++;
		e = s + strlen(s);
		while (e > s && sa_isspace((unsigned char)e[-1]))
			*--e = '\0';
		val = NULL;
		if (strncasecmp(s, "color:", 6) == 0 || strncasecmp(s, "background-color:", 17) == 0) {
			bool bgc = sa_lower((unsigned char)s[0]) == 'b';

			val = s + (bgc ? 17 : 6);
			while (sa_isspace((unsigned char)*val))
				val++;
			if (*val && !strchr(val, '\n')) {
				char *v = mavis_arena_strdup(h->a, val), *q;
				const char **slot = bgc ? &st->bg : &st->fg;

				for (q = v; *q; q++)
					*q = (char)sa_lower((unsigned char)*q);
				/* s/\s*!\s*important$// */
				q = v + strlen(v);
				if (q - v >= 9 && strcmp(q - 9, "important") == 0) {
					char *x = q - 9;

					while (x > v && sa_isspace((unsigned char)x[-1]))
						x--;
					if (x > v && x[-1] == '!') {
						x--;
						while (x > v && sa_isspace((unsigned char)x[-1]))
							x--;
						*x = '\0';
					}
				}
				if (strstr(v, "rgb")) {
					double c[3] = { 0, 0, 0 };
					int k = 0;
					const char *r = v;

					/* tr/0-9,//cd; split /,/; first three */
					while (*r && k < 3) {
						if (sa_isdigit((unsigned char)*r)) {
							if (c[k] < 1000)
								c[k] = c[k] * 10 + (*r - '0');
						} else if (*r == ',') {
							k++;
						}
						r++;
					}
					*slot = mavis_arena_printf(h->a, "#%02x%02x%02x",
								   (unsigned)(c[0] > 255 ? 255 : c[0]),
								   (unsigned)(c[1] > 255 ? 255 : c[1]),
								   (unsigned)(c[2] > 255 ? 255 : c[2]));
				} else if (strcmp(v, "inherit") == 0) {
					/* keep the parent's */
				} else if (strcmp(v, "transparent") == 0) {
					*slot = "transparent";
				} else {
					*slot = name_to_rgb(h, v);
				}
			}
		} else if (strncmp(s, "background:", 11) == 0) {
			char *v = s + 11, *q;
			const char *c;

			while (sa_isspace((unsigned char)*v))
				v++;
			if (*v && !strchr(v, '\n')) {
				v = mavis_arena_strdup(h->a, v);
				for (q = v; *q; q++)
					*q = (char)sa_lower((unsigned char)*q);
				c = css_background_color(h, v);
				if (c)
					st->bg = c;
			}
		} else {
			/* ^\s*([a-z_-]+)\s*:\s*(\S.*?)\s*$: only display and visibility matter */
			const char *k = s;

			while (sa_isalpha((unsigned char)*k) || *k == '_' || *k == '-')
				k++;
			if (k > s) {
				const char *c = k;

				while (sa_isspace((unsigned char)*c))
					c++;
				if (*c == ':') {
					c++;
					while (sa_isspace((unsigned char)*c))
						c++;
					if (*c && !strchr(c, '\n')) {
						if (k - s == 7 && strncmp(s, "display", 7) == 0)
							st->display = mavis_arena_strdup(h->a, c);
						else if (k - s == 10 && strncmp(s, "visibility", 10) == 0)
							st->visibility = mavis_arena_strdup(h->a, c);
					}
				}
			}
		}
		if (!semi)
			break;
		p = semi + 1;
	}
}

static void
text_style(struct sa_html *h, const char *tag, const struct attr *attrs, size_t nattr, int num)
{
	struct style st;

	if (strcmp(tag, "th") == 0)
		tag = "td";
	if (num != 1) {
		if (strcmp(tag, "body") != 0)
			close_tag(h, tag);
		return;
	}
	if (strcmp(tag, "basefont") == 0) {
		for (size_t i = 0; i < nattr; i++) {
			double v;

			if (strcmp(attrs[i].name, "size") == 0 &&
			    leading_number(attrs[i].value, false, &v) && v >= 0) {
				h->basefont = v;
				return;
			}
		}
	}
	if (strcmp(tag, "td") == 0 || strcmp(tag, "tr") == 0)
		close_table_tag(h, tag);
	st = *top_style(h);
	st.tag = IN_SET(tag, text_style_tags);
	if (strcmp(tag, "big") == 0 || strcmp(tag, "small") == 0) {
		st.size += tag[0] == 'b' ? 1 : -1;
		style_push(h, &st);
		return;
	}
	for (size_t i = 0; i < nattr; i++) {
		const char *name = attrs[i].name, *val = attrs[i].value;

		if (!ok_attribute(tag, name))
			continue;
		if (strcmp(name, "text") == 0 || strcmp(name, "color") == 0) {
			st.fg = name_to_rgb(h, val);
		} else if (strcmp(name, "size") == 0) {
			double v;

			if (leading_number(val, true, &v))
				st.size = h->basefont + v;
			else if (leading_number(val, false, &v))
				st.size = v;
		} else if (strcmp(name, "style") == 0) {
			style_attr(h, &st, val);
			if (strcmp(st.bg, "transparent") == 0)
				st.bg = top_style(h)->bg;
			if (strcmp(st.fg, "transparent") == 0)
				st.fg = st.bg;
		}
		/* bgcolor only rewrites the attribute in HTML.pm: no effect */
		if (st.size > h->max_size)
			h->max_size = st.size;
		else if (st.size < h->min_size)
			h->min_size = st.size;
	}
	style_push(h, &st);
}

/* --- URIs ------------------------------------------------------------------- */

/* canon_uri - strip leading/trailing whitespace and NBSP octets, bound the length */
static char *
canon_uri(struct sa_html *h, const char *u)
{
	size_t n;

	while (sa_isspace((unsigned char)*u) || (unsigned char)*u == 0xa0)
		u++;
	n = strlen(u);
	while (n && (sa_isspace((unsigned char)u[n - 1]) || (unsigned char)u[n - 1] == 0xa0))
		n--;
	if (n > SA_MAX_URI_LENGTH) {
		h->uri_truncated = true;
		n = SA_MAX_URI_LENGTH;
	}
	return mavis_arena_strndup(h->a, u, n);
}

struct uparts {
	const char *scheme, *auth, *path, *query, *frag;	/* NULL when absent */
};

/* _parse_uri: m|^(?:([^:/?#]+):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?| */
static void
parse_uri(struct sa_html *h, const char *u, struct uparts *p)
{
	size_t n;

	memset(p, 0, sizeof(*p));
	n = strcspn(u, ":/?#");
	if (n > 0 && u[n] == ':') {
		p->scheme = mavis_arena_strndup(h->a, u, n);
		u += n + 1;
	}
	if (u[0] == '/' && u[1] == '/') {
		n = strcspn(u + 2, "/?#");
		p->auth = mavis_arena_strndup(h->a, u + 2, n);
		u += 2 + n;
	}
	n = strcspn(u, "?#");
	p->path = mavis_arena_strndup(h->a, u, n);
	u += n;
	if (*u == '?') {
		n = strcspn(u + 1, "#");
		p->query = mavis_arena_strndup(h->a, u + 1, n);
		u += 1 + n;
	}
	if (*u == '#')
		p->frag = mavis_arena_strdup(h->a, u + 1);
}

/* _remove_dot_segments (RFC 3986 5.2.4, as HTML.pm writes it) */
static char *
remove_dots(struct sa_html *h, const char *in)
{
	struct sa_sb out = { 0 };
	char *buf = mavis_arena_printf(h->a, "/%s", in), *s = buf + 1;

	/* s@^(?:\.\.?/)@/@: the copy has a spare byte in front for the "/" */
	if (strncmp(s, "./", 2) == 0)
		s += 1;
	else if (strncmp(s, "../", 3) == 0)
		s += 2;
	sa_sb_add(&out, h->a, "", 0);
	while (*s && !(s[0] == '0' && s[1] == '\0')) {
		if (s[0] == '/' && s[1] == '.' && (s[2] == '\0' || s[2] == '/')) {
			s += s[2] ? 2 : 1;
			*s = '/';
		} else if (s[0] == '/' && s[1] == '.' && s[2] == '.' && (s[3] == '\0' || s[3] == '/')) {
			char *slash;

			s += s[3] ? 3 : 2;
			*s = '/';
			/* $output =~ s@/?[^/]*$@@ */
			slash = strrchr(out.p, '/');
			out.len = slash ? (size_t)(slash - out.p) : 0;
			out.p[out.len] = '\0';
		} else {
			size_t n = (*s == '/') + strcspn(s + (*s == '/'), "/");

			sa_sb_add(&out, h->a, s, n);
			s += n;
		}
	}
	return out.p;
}

static char *
merge_path(struct sa_html *h, const char *bauth, const char *bpath, const char *rpath)
{
	const char *slash;

	if (bauth && (!bpath || !*bpath || strcmp(bpath, "0") == 0))
		return mavis_arena_printf(h->a, "/%s", rpath);
	slash = bpath ? strrchr(bpath, '/') : NULL;
	if (!slash)
		return mavis_arena_strdup(h->a, rpath);
	return mavis_arena_printf(h->a, "%.*s%s", (int)(slash - bpath + 1), bpath, rpath);
}

/* target_uri - resolve r against base as HTML.pm does (not strictly RFC 3986) */
static char *
target_uri(struct sa_html *h, const char *base, const char *r)
{
	struct uparts R, B, T;
	struct sa_sb out = { 0 };

	parse_uri(h, r, &R);
	parse_uri(h, base, &B);
	memset(&T, 0, sizeof(T));
	if (R.scheme && B.scheme && strcmp(R.scheme, B.scheme) == 0)
		R.scheme = NULL;
	if (R.scheme) {
		T.scheme = R.scheme;
		T.auth = R.auth;
		T.path = remove_dots(h, R.path);
		T.query = R.query;
	} else {
		if (R.auth) {
			T.auth = R.auth;
			T.path = remove_dots(h, R.path);
			T.query = R.query;
		} else {
			if (!*R.path) {
				T.path = B.path;
				T.query = R.query ? R.query : B.query;
			} else {
				if (R.path[0] == '/')
					T.path = remove_dots(h, R.path);
				else
					T.path = remove_dots(h, merge_path(h, B.auth, B.path, R.path));
				T.query = R.query;
			}
			T.auth = B.auth;
		}
		T.scheme = B.scheme;
	}
	T.frag = R.frag;
	sa_sb_add(&out, h->a, "", 0);
	if (T.scheme && *T.scheme && strcmp(T.scheme, "0") != 0) {
		sa_sb_add(&out, h->a, T.scheme, strlen(T.scheme));
		sa_sb_addc(&out, h->a, ':');
	} else if (T.auth) {
		const char *x = T.auth;
		bool www = strncasecmp(x, "www", 3) == 0, ftp = strncasecmp(x, "ftp", 3) == 0;

		if (www || ftp) {
			x += 3;
			while (sa_isdigit((unsigned char)*x))
				x++;
			if (*x == '.')
				sa_sb_add(&out, h->a, www ? "http:" : "ftp:", www ? 5 : 4);
		}
	}
	if (T.auth) {
		sa_sb_add(&out, h->a, "//", 2);
		sa_sb_add(&out, h->a, T.auth, strlen(T.auth));
	}
	if (T.path)
		sa_sb_add(&out, h->a, T.path, strlen(T.path));
	if (T.query) {
		sa_sb_addc(&out, h->a, '?');
		sa_sb_add(&out, h->a, T.query, strlen(T.query));
	}
	if (T.frag) {
		sa_sb_addc(&out, h->a, '#');
		sa_sb_add(&out, h->a, T.frag, strlen(T.frag));
	}
	return out.p;
}

/* uri_key - a key of HTML.pm's uri hash: pushed URIs and anchors' hrefs */
static void
uri_key(struct sa_html *h, char *u)
{
	if (*u && sa_strset_add(&h->uri_set, h->a, u))
		sa_vec_push(&h->uris, h->a, u);
}

static void
push_uri(struct sa_html *h, const char *tag, const char *raw)
{
	char *u = canon_uri(h, raw);
	char *t;

	if (!*u)
		return;
	if (strncasecmp(u, "data:", 5) == 0 || strncasecmp(u, "mailto:", 7) == 0 ||
	    strncasecmp(u, "file:", 5) == 0 || strncasecmp(u, "cid:", 4) == 0 ||
	    strncasecmp(u, "tel:", 4) == 0) {
		t = u;
	} else {
		t = target_uri(h, h->base_href ? h->base_href : "", u);
		if (!*t)
			return;
	}
	if (strcmp(tag, "iframe") == 0)
		h->iframe_src = true;
	uri_key(h, t);
}

static const char *
attr_get(const struct attr *attrs, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(attrs[i].name, name) == 0)
			return attrs[i].value;
	return NULL;
}

/* an attribute name matching /\w{1,8}\/href/ (a namespaced href or src) */
static bool
alias_attr(const char *name, const char *what)
{
	size_t wl = strlen(what);

	for (const char *p = name; (p = strchr(p, '/')) != NULL; p++)
		if (p > name && sa_isword((unsigned char)p[-1]) && strncmp(p + 1, what, wl) == 0)
			return true;
	return false;
}

static void
html_uri(struct sa_html *h, const char *tag, const struct attr *attrs, size_t n)
{
	const char *v;

	if (!strcmp(tag, "body") || !strcmp(tag, "table") || !strcmp(tag, "tr") || !strcmp(tag, "td")) {
		if ((v = attr_get(attrs, n, "background")))
			push_uri(h, tag, v);
	} else if (!strcmp(tag, "a") || !strcmp(tag, "area") || !strcmp(tag, "link")) {
		v = attr_get(attrs, n, "href");
		for (size_t i = 0; i < n; i++)
			if (alias_attr(attrs[i].name, "href"))
				v = attrs[i].value;
		if (v) {
			/* drop UTF-8 BOMs */
			struct sa_sb b = { 0 };

			sa_sb_add(&b, h->a, "", 0);
			for (const char *p = v; *p; p++) {
				/* byte by byte: the value may end within the 3 */
				if (p[0] == '\xef' && p[1] == '\xbb' && p[2] == '\xbf') {
					p += 2;
					continue;
				}
				sa_sb_addc(&b, h->a, *p);
			}
			push_uri(h, tag, b.p);
		}
		if ((v = attr_get(attrs, n, "data-saferedirecturl")))
			push_uri(h, tag, v);
	} else if (!strcmp(tag, "img") || !strcmp(tag, "frame") || !strcmp(tag, "iframe") ||
		   !strcmp(tag, "embed") || !strcmp(tag, "script") || !strcmp(tag, "bgsound")) {
		v = attr_get(attrs, n, "src");
		for (size_t i = 0; i < n; i++)
			if (alias_attr(attrs[i].name, "src"))
				v = attrs[i].value;
		if (v)
			push_uri(h, tag, v);
	} else if (!strcmp(tag, "form")) {
		if ((v = attr_get(attrs, n, "action")))
			push_uri(h, tag, v);
	} else if (!strcmp(tag, "base")) {
		v = attr_get(attrs, n, "href");
		if (v && *v && strcmp(v, "0") != 0) {
			char *u = canon_uri(h, v), *p;
			size_t len;

			push_uri(h, tag, u);
			if (strncasecmp(u, "http:", 5) == 0 || strncasecmp(u, "https:", 6) == 0 ||
			    strncasecmp(u, "ftp:", 4) == 0) {
				/* drop a last path segment that looks like a file name:
				   s@^([a-z]+:/{0,2}[^/]+/.*?)[^/\.]+\.[^/\.]{2,4}$@$1@i */
				char *colon = strchr(u, ':');
				char *hs = colon + 1, *first_slash;

				for (int k = 0; k < 2 && *hs == '/'; k++)
					hs++;
				first_slash = *hs && *hs != '/' ? strchr(hs + 1, '/') : NULL;
				len = strlen(u);
				p = strrchr(u, '/');
				if (first_slash && p && p >= first_slash) {
					char *dot = strrchr(p + 1, '.');

					if (dot && dot > p + 1 && strlen(dot + 1) >= 2 &&
					    strlen(dot + 1) <= 4 && !memchr(p + 1, '.', (size_t)(dot - p - 1)))
						p[1] = '\0';
				}
				len = strlen(u);
				h->base_href = len && u[len - 1] == '/' ? u : mavis_arena_printf(h->a, "%s/", u);
			}
		}
	} else if (!strcmp(tag, "meta")) {
		const char *he = attr_get(attrs, n, "http-equiv"), *c = attr_get(attrs, n, "content");

		if (he && c && strcasestr(he, "refresh")) {
			/* content with \burl\s*=: the text after the last "url=", up to a ";" */
			const char *hit = NULL;

			for (const char *p = c; (p = strcasestr(p, "url")); p++) {
				const char *q = p + 3;

				if (p > c && sa_isword((unsigned char)p[-1]))
					continue;
				while (sa_isspace((unsigned char)*q))
					q++;
				if (*q == '=')
					hit = q + 1;
			}
			if (hit) {
				char *u;
				size_t k;

				while (sa_isspace((unsigned char)*hit))
					hit++;
				u = mavis_arena_strdup(h->a, hit);
				k = strcspn(u, ";");
				if (u[k]) {
					while (k > 0 && sa_isspace((unsigned char)u[k - 1]))
						k--;
					u[k] = '\0';
				}
				push_uri(h, tag, u);
			}
		}
	}
}

/* --- html_tests ------------------------------------------------------------- */

/* a font name of HTML.pm's face test: [a-z][a-z -]*[a-z]\d? (first may be a space) */
static const char *
face_name(const char *s, bool first)
{
	const char *b = s;

	if (!(sa_isalpha((unsigned char)*s) || (first && *s == ' ')))
		return NULL;
	while (sa_isalpha((unsigned char)*s) || *s == ' ' || *s == '-')
		s++;
	if (s - b < 2 || !sa_isalpha((unsigned char)s[-1]))
		return NULL;
	if (sa_isdigit((unsigned char)*s))
		s++;
	return s;
}

static bool
font_face_ok(const char *f)
{
	while (sa_isspace((unsigned char)*f))
		f++;
	if (*f == '"' || *f == '\'' || *f == '.')
		f++;
	if (!(f = face_name(f, true)))
		return false;
	if (*f == '"' || *f == '\'')
		f++;
	while (*f == ',') {
		f++;
		while (sa_isspace((unsigned char)*f))
			f++;
		if (*f == '"' || *f == '\'')
			f++;
		if (!(f = face_name(f, false)))
			return false;
		if (*f == '"' || *f == '\'')
			f++;
	}
	if (*f == ';')
		f++;
	return *f == '\0' || (f[0] == '\n' && f[1] == '\0');
}

/* /^(\d+)(\%)?$/ */
static double
dimension(const char *v, double pct_factor)
{
	double x = 0;
	const char *s = v;

	while (sa_isdigit((unsigned char)*s))
		x = x * 10 + (*s++ - '0');
	if (s == v)
		return 0;
	if (*s == '%') {
		x *= pct_factor;
		s++;
	}
	if (*s == '\n')
		s++;
	return *s ? 0 : x;
}

static struct sa_sb *
new_sb(struct sa_html *h, struct sa_vec *list)
{
	struct sa_sb *s = mavis_arena_alloc(h->a, sizeof(*s));

	sa_sb_add(s, h->a, "", 0);
	sa_vec_push(list, h->a, s);
	return s;
}

static void
html_tests(struct sa_html *h, const char *tag, const struct attr *attrs, size_t n)
{
	const char *v;

	if (!strcmp(tag, "font") && (v = attr_get(attrs, n, "face")) && !font_face_ok(v))
		h->font_face_bad = true;
	if (!strcmp(tag, "img") && inside_count(h, "a") > 0 && h->anchor.n)
		sa_sb_add(h->anchor.v[h->anchor.n - 1], h->a, "<img>\n", 6);
	if (!strcmp(tag, "img") && attr_get(attrs, n, "width") && attr_get(attrs, n, "height")) {
		double w = dimension(attr_get(attrs, n, "width"), 8);
		double ht = dimension(attr_get(attrs, n, "height"), 6);

		if (w <= 0)
			w = 200;
		if (ht <= 0)
			ht = 200;
		h->image_area += w * ht;
	}
	if (!strcmp(tag, "form") && (v = attr_get(attrs, n, "action")) && strcasestr(v, "mailto:"))
		h->form_action_mailto = true;
	if (!strcmp(tag, "object") || !strcmp(tag, "embed"))
		h->embeds = true;
	if (!strcmp(tag, "a")) {
		/* html_uri has already renamed a namespaced href in HTML.pm */
		v = attr_get(attrs, n, "href");
		for (size_t i = 0; i < n; i++)
			if (alias_attr(attrs[i].name, "href"))
				v = attrs[i].value;
		h->anchor_last = v ? canon_uri(h, v) : "";
		if (v)
			uri_key(h, canon_uri(h, v));
		new_sb(h, &h->anchor);
		h->has_anchor = true;
	}
	if (!strcmp(tag, "title")) {
		new_sb(h, &h->title);
		h->has_title = true;
	}
	if (!strcmp(tag, "meta")) {
		const char *he = attr_get(attrs, n, "http-equiv"), *c = attr_get(attrs, n, "content");
		const char *p;

		if (he && c && strcasestr(he, "content-type")) {
			for (p = c; (p = strcasestr(p, "charset")); p++) {
				const char *q = p + 7;
				size_t k;

				if (p > c && sa_isword((unsigned char)p[-1]))
					continue;
				while (sa_isspace((unsigned char)*q))
					q++;
				if (*q != '=')
					continue;
				q++;
				while (sa_isspace((unsigned char)*q))
					q++;
				if (*q == '"' || *q == '\'')
					q++;
				k = strcspn(q, "\"'");
				if (k == 0)
					continue;
				/* HTML.pm's `.= exists ? " $1" : $1` sees the key
				   it is creating: every name gets its space */
				sa_sb_addc(&h->charsets, h->a, ' ');
				sa_sb_add(&h->charsets, h->a, q, k);
				h->has_charsets = true;
				break;
			}
		}
	}
}

/* --- html_tag: the start/end handler ---------------------------------------- */

static bool
namespace_tag(const char *tag)
{
	/* ^(?:o|st\d):[\w-]+/?$ */
	const char *s = tag;

	if (s[0] == 'o' && s[1] == ':')
		s += 2;
	else if (s[0] == 's' && s[1] == 't' && sa_isdigit((unsigned char)s[2]) && s[3] == ':')
		s += 4;
	else
		return false;
	if (!(sa_isword((unsigned char)*s) || *s == '-'))
		return false;
	while (sa_isword((unsigned char)*s) || *s == '-')
		s++;
	if (*s == '/')
		s++;
	return *s == '\0';
}

static void
html_whitespace(struct sa_html *h, const char *tag)
{
	static const char *const line[] = { "br", "div" };
	static const char *const space[] = { "dd", "dt", "embed", "li", "td", "th" };
	static const char *const para[] = { "blockquote", "hr", "listing", "p", "plaintext", "pre",
					    "title", "xmp" };

	if (IN_SET(tag, line))
		display_text(h, "\n", 1, WS_LINE, false);
	else if (IN_SET(tag, space) || (tag[0] == 'h' && sa_isdigit((unsigned char)tag[1]) && !tag[2]))
		display_text(h, " ", 1, WS_SPACE, false);
	else if (IN_SET(tag, para))
		display_text(h, "\n\n", 2, WS_PARA, false);
}

static void
html_tag(struct sa_html *h, const char *tag, const struct attr *attrs, size_t n, int num)
{
	bool ns = namespace_tag(tag), el = IN_SET(tag, elements) != NULL;
	struct inside *in = inside_get(h, tag, false);
	bool existed = in != NULL;

	if (el || ns) {
		h->elements++;
		if (!existed)
			h->elements_seen++;
	}
	h->tags++;
	if (!existed)
		h->tags_seen++;
	in = inside_get(h, tag, true);
	in->count += num;
	if (in->count < 0) {
		in->count = 0;
		h->closed_extra++;
	}
	if (ns)
		return;
	if (el || IN_SET(tag, tricks)) {
		if (IN_SET(tag, text_style_tags))
			text_style(h, tag, attrs, n, num);
		if (IN_SET(tag, ((const char *const[]){ "blockquote", "br", "dd", "div", "dt", "embed",
							"h1", "h2", "h3", "h4", "h5", "h6", "hr",
							"li", "listing", "p", "plaintext", "pre",
							"td", "th", "title", "xmp" })))
			html_whitespace(h, tag);
		if (num == 1) {
			if (IN_SET(tag, uri_tags))
				html_uri(h, tag, attrs, n);
			html_tests(h, tag, attrs, n);
		}
	}
}

static void
html_comment(struct sa_html *h, const char *raw, size_t len)
{
	struct sa_sb *s = new_sb(h, &h->comment);

	sa_sb_add(s, h->a, raw, len);
	h->has_comment = true;
}

static void
html_declaration(struct sa_html *h, const char *raw, size_t len)
{
	if (len >= 9 && strncasecmp(raw, "<!doctype", 9) == 0) {
		h->elements++;
		h->tags++;
		inside_get(h, "!doctype", true)->count = 0;
	}
}

/* --- the tokenizer (HTML::Parser 3 in its default, non-strict mode) --------- */

static bool
hname_first(int c)
{
	return sa_isalpha(c) || c == '_' || c == ':';
}

static bool
hname_char(int c)
{
	return sa_isalnum(c) || c == '.' || c == '-' || c == '_' || c == ':';
}

/* elements whose content is text up to their end tag; RCDATA decodes entities */
static bool
literal_elem(const char *tag, bool *rcdata)
{
	*rcdata = !strcmp(tag, "title") || !strcmp(tag, "textarea");
	return *rcdata || !strcmp(tag, "script") || !strcmp(tag, "style") || !strcmp(tag, "xmp") ||
	       !strcmp(tag, "iframe") || !strcmp(tag, "plaintext");
}

static void
emit_text(struct sa_html *h, const char *s, size_t n, bool decode_entities)
{
	if (n == 0)
		return;
	if (decode_entities) {
		size_t len;
		char *d = decode(h, s, n, &len);

		html_text(h, d, len);
	} else {
		/* mail may carry NUL bytes: copy by length, not as a C string */
		char *d = mavis_arena_alloc_uninit(h->a, n + 1);

		memcpy(d, s, n);
		d[n] = '\0';
		html_text(h, d, n);
	}
}

static char *
lower_dup(struct sa_html *h, const char *s, size_t n)
{
	char *d = mavis_arena_alloc_uninit(h->a, n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	for (size_t i = 0; i < n; i++)
		d[i] = (char)sa_lower((unsigned char)d[i]);
	return d;
}

/*
 * parse_start_tag - s[0] == '<', s[1] a name start. Returns the length of
 * the tag, 0 when it does not end before the input does.
 */
static size_t
parse_start_tag(struct sa_html *h, const char *s, size_t n, char **tagp, struct attr **attrsp,
		size_t *nattrp)
{
	size_t i = 1, nb;
	struct sa_vec attrs = { 0 };
	struct attr *out;

	while (i < n && hname_char((unsigned char)s[i]))
		i++;
	*tagp = lower_dup(h, s + 1, i - 1);
	for (;;) {
		size_t ns;
		char *name;
		const char *val;
		bool dup = false;

		while (i < n && (sa_isspace((unsigned char)s[i]) || s[i] == '/'))
			i++;
		if (i >= n)
			return 0;
		if (s[i] == '>')
			break;
		if (s[i] == '=') {	/* junk */
			i++;
			continue;
		}
		ns = i;
		while (i < n && !sa_isspace((unsigned char)s[i]) && s[i] != '>' && s[i] != '=')
			i++;
		name = lower_dup(h, s + ns, i - ns);
		val = name;
		{
			size_t j = i;

			while (j < n && sa_isspace((unsigned char)s[j]))
				j++;
			if (j < n && s[j] == '=') {
				size_t vs, vlen;

				j++;
				while (j < n && sa_isspace((unsigned char)s[j]))
					j++;
				if (j >= n)
					return 0;
				if (s[j] == '"' || s[j] == '\'') {
					const char *q = memchr(s + j + 1, s[j], n - j - 1);

					if (!q)
						return 0;
					vs = j + 1;
					vlen = (size_t)(q - (s + vs));
					j = (size_t)(q - s) + 1;
				} else {
					vs = j;
					while (j < n && !sa_isspace((unsigned char)s[j]) && s[j] != '>')
						j++;
					vlen = j - vs;
				}
				val = decode(h, s + vs, vlen, &nb);
				i = j;
			}
		}
		for (size_t k = 0; k < attrs.n; k++)
			if (!strcmp(((struct attr *)attrs.v[k])->name, name))
				dup = true;
		if (!dup) {
			struct attr *at = mavis_arena_alloc(h->a, sizeof(*at));

			at->name = name;
			at->value = val;
			sa_vec_push(&attrs, h->a, at);
		}
	}
	out = mavis_arena_calloc(h->a, attrs.n + 1, sizeof(*out));
	for (size_t k = 0; k < attrs.n; k++)
		out[k] = *(struct attr *)attrs.v[k];
	*attrsp = out;
	*nattrp = attrs.n;
	return i + 1;
}

/* find_ci - the first case-insensitive occurrence of "</tag" followed by a non-name char */
static const char *
find_end_tag(const char *s, size_t n, const char *tag)
{
	size_t tl = strlen(tag);

	for (const char *p = s; (p = memchr(p, '<', n - (size_t)(p - s))) != NULL; p++) {
		size_t left = n - (size_t)(p - s);

		if (left >= tl + 2 && p[1] == '/' && strncasecmp(p + 2, tag, tl) == 0 &&
		    (left == tl + 2 || !hname_char((unsigned char)p[tl + 2])))
			return p;
		if (left < 2)
			break;
	}
	return NULL;
}

static const char *
find_mem(const char *s, size_t n, const char *needle)
{
	size_t nl = strlen(needle);

	if (n < nl)
		return NULL;
	for (size_t i = 0; i + nl <= n; i++) {
		const char *p = memchr(s + i, needle[0], n - nl + 1 - i);

		if (!p)
			return NULL;
		if (!memcmp(p, needle, nl))
			return p;
		i = (size_t)(p - s);
	}
	return NULL;
}

static bool
decl_keyword(const char *s, size_t n)
{
	static const char *const kw[] = { "attlist", "doctype", "element", "entity", "linktype",
					  "notation", "shortref", "usemap" };
	char w[12];
	size_t k = 0;

	while (k < n && k < sizeof(w) - 1 && sa_isalpha((unsigned char)s[k])) {
		w[k] = (char)sa_lower((unsigned char)s[k]);
		k++;
	}
	w[k] = '\0';
	return IN_SET(w, kw) != NULL && (k == n || !hname_char((unsigned char)s[k]));
}

static void
tokenize(struct sa_html *h, const char *s, size_t n)
{
	size_t i = 0, text_start = 0;

	while (i < n) {
		const char *lt = memchr(s + i, '<', n - i);
		size_t j, left;
		const char *e;

		if (!lt)
			break;
		i = (size_t)(lt - s);
		left = n - i;
		if (left < 2)
			break;
		if (hname_first((unsigned char)s[i + 1])) {
			char *tag;
			struct attr *attrs;
			size_t nattr, len = parse_start_tag(h, s + i, left, &tag, &attrs, &nattr);
			bool rcdata;

			if (!len)
				goto incomplete;
			emit_text(h, s + text_start, i - text_start, true);
			html_tag(h, tag, attrs, nattr, 1);
			i += len;
			text_start = i;
			if (literal_elem(tag, &rcdata)) {
				const char *end = strcmp(tag, "plaintext") == 0
							  ? NULL
							  : find_end_tag(s + i, n - i, tag);
				size_t stop = end ? (size_t)(end - s) : n;

				emit_text(h, s + i, stop - i, rcdata);
				i = text_start = stop;
			}
			continue;
		}
		if (s[i + 1] == '/') {
			if (left >= 3 && hname_first((unsigned char)s[i + 2])) {
				j = i + 2;
				while (j < n && hname_char((unsigned char)s[j]))
					j++;
				e = memchr(s + j, '>', n - j);
				if (!e)
					goto incomplete;
				emit_text(h, s + text_start, i - text_start, true);
				html_tag(h, lower_dup(h, s + i + 2, j - i - 2), NULL, 0, -1);
				i = text_start = (size_t)(e - s) + 1;
				continue;
			}
			e = memchr(s + i + 2, '>', n - i - 2);
			if (!e)
				goto incomplete;
			emit_text(h, s + text_start, i - text_start, true);
			html_comment(h, s + i, (size_t)(e - (s + i)) + 1);
			i = text_start = (size_t)(e - s) + 1;
			continue;
		}
		if (s[i + 1] == '!') {
			size_t k;

			if (left >= 4 && s[i + 2] == '-' && s[i + 3] == '-') {
				/* ends at "--" + optional whitespace + ">" */
				for (k = i + 4;; k++) {
					const char *dd = find_mem(s + k, n - k, "--");
					size_t q;

					if (!dd)
						goto incomplete;
					k = (size_t)(dd - s);
					q = k + 2;
					while (q < n && sa_isspace((unsigned char)s[q]))
						q++;
					if (q < n && s[q] == '>') {
						emit_text(h, s + text_start, i - text_start, true);
						html_comment(h, s + i, q + 1 - i);
						i = text_start = q + 1;
						break;
					}
				}
				continue;
			}
			if (left >= 9 && memcmp(s + i + 2, "[CDATA[", 7) == 0) {
				e = find_mem(s + i + 9, n - i - 9, "]]>");
				if (!e)
					goto incomplete;
				emit_text(h, s + text_start, i - text_start, true);
				emit_text(h, s + i + 9, (size_t)(e - (s + i + 9)), false);
				i = text_start = (size_t)(e - s) + 3;
				continue;
			}
			if (decl_keyword(s + i + 2, left - 2)) {
				char quote = 0;

				for (k = i + 2; k < n; k++) {
					if (quote) {
						if (s[k] == quote)
							quote = 0;
					} else if (s[k] == '"' || s[k] == '\'') {
						quote = s[k];
					} else if (s[k] == '>') {
						break;
					}
				}
				if (k >= n)
					goto incomplete;
				emit_text(h, s + text_start, i - text_start, true);
				html_declaration(h, s + i, k + 1 - i);
				i = text_start = k + 1;
				continue;
			}
			e = memchr(s + i + 2, '>', n - i - 2);
			if (!e)
				goto incomplete;
			emit_text(h, s + text_start, i - text_start, true);
			html_comment(h, s + i, (size_t)(e - (s + i)) + 1);
			i = text_start = (size_t)(e - s) + 1;
			continue;
		}
		if (s[i + 1] == '?') {
			e = memchr(s + i + 2, '>', n - i - 2);
			if (!e)
				goto incomplete;
			emit_text(h, s + text_start, i - text_start, true);
			i = text_start = (size_t)(e - s) + 1;
			continue;
		}
		i++;	/* a '<' that starts nothing is text */
	}
	emit_text(h, s + text_start, n - text_start, true);
	return;
incomplete:
	/* markup that the input ends inside: HTML::Parser reports it as a comment at eof */
	emit_text(h, s + text_start, i - text_start, true);
	html_comment(h, s + i, n - i);
}

/* --- entry points ----------------------------------------------------------- */

/* preprocess - HTML.pm's substitutions before parsing: &nbsp; to a space,
   <tag/> and <tag /> to <tag>, UTF-8 curly double quotes to '"' */
static char *
preprocess(struct sa_html *h, const char *in, size_t len, size_t *outlen)
{
	struct sa_sb b = { 0 };
	size_t i = 0;

	sa_sb_add(&b, h->a, "", 0);
	while (i < len) {
		unsigned char c = (unsigned char)in[i];

		if (c == '&' && len - i >= 6 && memcmp(in + i, "&nbsp;", 6) == 0) {
			sa_sb_addc(&b, h->a, ' ');
			i += 6;
		} else if (c == 0xe2 && len - i >= 3 && (unsigned char)in[i + 1] == 0x80 &&
			   ((unsigned char)in[i + 2] == 0x9c || (unsigned char)in[i + 2] == 0x9d)) {
			sa_sb_addc(&b, h->a, '"');
			i += 3;
		} else if (c == '<' && i + 1 < len && sa_isword((unsigned char)in[i + 1])) {
			size_t j = i + 1, k;

			while (j < len && sa_isword((unsigned char)in[j]))
				j++;
			k = j;
			while (k < len && sa_isspace((unsigned char)in[k]))
				k++;
			if (k + 1 < len && in[k] == '/' && in[k + 1] == '>') {
				sa_sb_add(&b, h->a, in + i, j - i);
				sa_sb_addc(&b, h->a, '>');
				i = k + 2;
			} else {
				sa_sb_add(&b, h->a, in + i, j - i);
				i = j;
			}
		} else {
			size_t j = i + 1;

			while (j < len && in[j] != '&' && in[j] != '<' && (unsigned char)in[j] != 0xe2)
				j++;
			sa_sb_add(&b, h->a, in + i, j - i);
			i = j;
		}
	}
	*outlen = b.len;
	return b.p;
}

int
sa_html_parse(const char *html, size_t len, struct mavis_arena *a, struct sa_html **out)
{
	struct sa_html *h = mavis_arena_alloc(a, sizeof(*h));
	struct style def = { .tag = "default", .fg = "#000000", .bg = "#ffffff", .size = 3 };
	size_t plen, space = 0;
	char *text;

	h->a = a;
	h->basefont = 3;
	h->min_size = h->max_size = 3;
	h->length = len;
	style_push(h, &def);
	text = preprocess(h, html, len, &plen);
	tokenize(h, text, plen);
	while (inside_count(h, "style") > 0)
		html_tag(h, "style", NULL, 0, -1);
	while (inside_count(h, "script") > 0)
		html_tag(h, "script", NULL, 0, -1);

	sa_sb_add(&h->visible, a, "", 0);
	sa_sb_add(&h->invisible, a, "", 0);
	sa_sb_add(&h->rendered, a, "", 0);
	for (size_t i = 0; i < h->chunks.n; i++) {
		const struct chunk *c = h->chunks.v[i];

		sa_sb_add(c->inv ? &h->invisible : &h->visible, a, c->p, c->len);
		sa_sb_add(&h->rendered, a, c->p, c->len);
	}
	for (size_t i = 0; i < h->rendered.len; i++) {
		char c = h->rendered.p[i];

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v')
			space++;
	}
	h->html_length = (double)h->rendered.len;
	h->non_space_len = h->html_length - (double)space;
	if (len) {
		h->ratio = ((double)len - h->html_length) / (double)len;
		h->has_ratio = true;
	}
	*out = h;
	return 0;
}

const char *
sa_html_visible(const struct sa_html *h, size_t *len)
{
	if (len)
		*len = h->visible.len;
	return sa_sb_str(&h->visible);
}

const char *
sa_html_invisible(const struct sa_html *h, size_t *len)
{
	if (len)
		*len = h->invisible.len;
	return sa_sb_str(&h->invisible);
}

const char *
sa_html_rendered(const struct sa_html *h, size_t *len)
{
	if (len)
		*len = h->rendered.len;
	return sa_sb_str(&h->rendered);
}

size_t
sa_html_uris(const struct sa_html *h, const char *const **uris)
{
	*uris = (const char *const *)h->uris.v;
	return h->uris.n;
}

size_t
sa_html_inside_all(const struct sa_html *h, const char *const **tags, const long **counts)
{
	const char **t = mavis_arena_calloc(h->a, h->ins_n + 1, sizeof(*t));
	long *c = mavis_arena_calloc(h->a, h->ins_n + 1, sizeof(*c));
	size_t k = 0;

	for (size_t i = 0; i < h->ins_cap; i++) {
		if (h->ins[i].name) {
			t[k] = h->ins[i].name;
			c[k++] = h->ins[i].count;
		}
	}
	*tags = t;
	*counts = c;
	return k;
}

const char *
sa_html_charsets(const struct sa_html *h)
{
	return h->has_charsets ? sa_sb_str(&h->charsets) : NULL;
}

size_t
sa_html_text_list(const struct sa_html *h, const char *name, const char *const **list)
{
	const struct sa_vec *v = !strcmp(name, "title")	  ? &h->title
				 : !strcmp(name, "comment") ? &h->comment
				 : !strcmp(name, "anchor")  ? &h->anchor
				 : !strcmp(name, "script")  ? &h->script
							    : NULL;
	const char **out;

	*list = NULL;
	if (!v || !v->n)
		return 0;
	out = mavis_arena_calloc(h->a, v->n, sizeof(*out));
	for (size_t i = 0; i < v->n; i++)
		out[i] = sa_sb_str(v->v[i]);
	*list = out;
	return v->n;
}

int
sa_html_fact(const struct sa_html *h, const char *name, double *v)
{
	struct {
		const char *name;
		bool defined;
		double value;
	} f[] = {
		{ "html", true, 1 },
		{ "length", true, (double)h->length },
		{ "min_size", true, h->min_size },
		{ "max_size", true, h->max_size },
		{ "image_area", true, h->image_area },
		{ "closed_extra_ratio", h->tags > 0, h->tags ? (double)h->closed_extra / h->tags : 0 },
		{ "bad_tag_ratio", h->tags > 0 && h->elements > 0,
		  h->tags ? (double)(h->tags - h->elements) / h->tags : 0 },
		{ "non_element_ratio", h->tags_seen > 0 && h->elements_seen > 0,
		  h->tags_seen ? (double)(h->tags_seen - h->elements_seen) / h->tags_seen : 0 },
		{ "obfuscation_ratio", h->tags > 0 && h->obfuscation > 0,
		  h->tags ? (double)h->obfuscation / h->tags : 0 },
		{ "backhair_count", h->chunks.n > 0 && h->backhair != 0,
		  (double)__builtin_popcountll(h->backhair) },
		{ "font_low_contrast", h->font_low_contrast, 1 },
		{ "font_invalid_color", h->font_invalid_color, 1 },
		{ "font_face_bad", h->font_face_bad, 1 },
		{ "form_action_mailto", h->form_action_mailto, 1 },
		{ "embeds", h->embeds, 1 },
		{ "uri_truncated", h->uri_truncated, 1 },
		{ "html_length", true, h->html_length },
		{ "non_space_len", true, h->non_space_len },
		{ "ratio", h->has_ratio, h->ratio },
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (strcmp(f[i].name, name) == 0) {
			if (!f[i].defined)
				return 0;
			*v = f[i].value;
			return 1;
		}
	}
	return 0;
}

int
sa_html_inside(const struct sa_html *h, const char *tag, long *v)
{
	size_t i;

	if (!h->ins_cap)
		return 0;
	for (i = hash_str(tag) & (h->ins_cap - 1); h->ins[i].name; i = (i + 1) & (h->ins_cap - 1)) {
		if (strcmp(h->ins[i].name, tag) == 0) {
			*v = h->ins[i].count;
			return 1;
		}
	}
	return 0;
}

/* Perl's numeric value of a string argument ("0400", ".05", "inf") */
static double
perl_num(const char *s)
{
	while (sa_isspace((unsigned char)*s))
		s++;
	if (strncasecmp(s, "inf", 3) == 0)
		return INFINITY;
	return strtod(s, NULL);
}

/* compare - "$val $expr" for the expressions HTMLEval allows ([<>=!\-+ 0-9]+) */
static int
compare(double val, const char *expr)
{
	const char *p = expr;
	char op[3] = { 0 };
	size_t k = 0;
	double rhs;
	char *end;

	if (strspn(expr, "<>=!-+ 0123456789") != strlen(expr))
		return -1;
	while (*p == ' ')
		p++;
	while (k < 2 && (*p == '<' || *p == '>' || *p == '=' || *p == '!'))
		op[k++] = *p++;
	rhs = strtod(p, &end);
	if (end == p)
		return 0;
	while (*end == ' ')
		end++;
	if (*end)
		return 0;
	if (!strcmp(op, "<"))
		return val < rhs;
	if (!strcmp(op, "<="))
		return val <= rhs;
	if (!strcmp(op, ">"))
		return val > rhs;
	if (!strcmp(op, ">="))
		return val >= rhs;
	if (!strcmp(op, "=="))
		return val == rhs;
	if (!strcmp(op, "!="))
		return val != rhs;
	return 0;
}

/* html_test's truth of a key: the numeric facts, or the lists being there */
static bool
test_key(const struct sa_html *h, const char *key)
{
	double v;

	if (!strcmp(key, "title"))
		return h->has_title;
	if (!strcmp(key, "comment"))
		return h->has_comment;
	if (!strcmp(key, "script"))
		return h->has_script;
	if (!strcmp(key, "anchor"))
		return h->has_anchor;
	if (!strcmp(key, "inside"))
		return h->ins_n > 0;
	if (!strcmp(key, "uri") || !strcmp(key, "uri_detail"))
		return true;
	if (!strcmp(key, "charsets"))
		return h->has_charsets;
	return sa_html_fact(h, key, &v) && v != 0;
}

static int
text_match(const struct sa_html *const *parts, size_t n, const char *list, const char *re,
	   bool negate)
{
	int errcode, hit = 0;
	PCRE2_SIZE erroff;
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, 0, &errcode, &erroff,
					 NULL);
	pcre2_match_data *md;

	if (!code)
		return 0;	/* SA warns and does not hit */
	md = pcre2_match_data_create_from_pattern(code, NULL);
	for (size_t i = 0; i < n && !hit; i++) {
		const char *const *l;
		size_t k = sa_html_text_list(parts[i], list, &l);

		for (size_t j = 0; j < k && !hit; j++) {
			int rc = pcre2_match(code, (PCRE2_SPTR)l[j], strlen(l[j]), 0, 0, md, NULL);

			if ((rc >= 0) != negate)
				hit = 1;
		}
	}
	pcre2_match_data_free(md);
	pcre2_code_free(code);
	return hit;
}

int
sa_html_eval(const struct sa_html *const *parts, size_t n, const char *subject, const char *fn,
	     const char *const *args, size_t nargs)
{
	double v;
	long iv;

	if (!strcmp(fn, "html_test")) {
		if (nargs != 1)
			return -1;
		for (size_t i = 0; i < n; i++)
			if (test_key(parts[i], args[0]))
				return 1;
		return 0;
	}
	if (!strcmp(fn, "html_eval")) {
		if (nargs != 2)
			return -1;
		for (size_t i = 0; i < n; i++)
			if (sa_html_fact(parts[i], args[0], &v) && compare(v, args[1]) == 1)
				return 1;
		return 0;
	}
	if (!strcmp(fn, "html_range")) {
		double min, max;

		if (nargs < 2 || nargs > 3)
			return -1;
		min = perl_num(args[1]);
		max = nargs == 3 ? perl_num(args[2]) : INFINITY;
		for (size_t i = 0; i < n; i++) {
			if (!sa_html_fact(parts[i], args[0], &v))
				continue;
			if (isinf(max) ? v > min : (v > min && v <= max))
				return 1;
		}
		return 0;
	}
	if (!strcmp(fn, "html_tag_exists")) {
		if (nargs != 1)
			return -1;
		for (size_t i = 0; i < n; i++)
			if (sa_html_inside(parts[i], args[0], &iv))
				return 1;
		return 0;
	}
	if (!strcmp(fn, "html_tag_balance")) {
		if (nargs != 2)
			return -1;
		for (size_t i = 0; i < n; i++)
			if (sa_html_inside(parts[i], args[0], &iv) && compare((double)iv, args[1]) == 1)
				return 1;
		return 0;
	}
	if (!strcmp(fn, "html_image_only")) {
		double min, max;

		if (nargs != 2)
			return -1;
		min = perl_num(args[0]);
		max = perl_num(args[1]);
		for (size_t i = 0; i < n; i++)
			if (sa_html_inside(parts[i], "img", &iv) && (double)parts[i]->length > min &&
			    (double)parts[i]->length <= max)
				return 1;
		return 0;
	}
	if (!strcmp(fn, "html_image_ratio")) {
		double min, max;

		if (nargs != 2)
			return -1;
		min = perl_num(args[0]);
		max = perl_num(args[1]);
		for (size_t i = 0; i < n; i++) {
			double r;

			if (parts[i]->image_area <= 0)
				continue;
			r = parts[i]->non_space_len / parts[i]->image_area;
			if (r > min && r <= max)
				return 1;
		}
		return 0;
	}
	if (!strcmp(fn, "html_title_subject_ratio")) {
		double ratio;
		size_t sl = subject ? strlen(subject) : 0;

		if (nargs != 1)
			return -1;
		ratio = perl_num(args[0]);
		if (sl == 0)
			return 0;
		for (size_t i = 0; i < n; i++) {
			double max = 0;

			for (size_t j = 0; j < parts[i]->title.n; j++) {
				const struct sa_sb *t = parts[i]->title.v[j];

				/* Perl truth: "" and "0" are false */
				if (t->len && !(t->len == 1 && t->p[0] == '0') &&
				    (double)t->len / (double)sl > max)
					max = (double)t->len / (double)sl;
			}
			if (max > ratio)
				return 1;
		}
		return 0;
	}
	if (!strcmp(fn, "html_text_match") || !strcmp(fn, "html_text_not_match")) {
		if (nargs != 2)
			return -1;
		return text_match(parts, n, args[0], args[1], fn[10] == 'n');
	}
	if (!strcmp(fn, "html_charset_faraway"))
		return 0;
	if (!strcmp(fn, "check_iframe_src")) {
		for (size_t i = 0; i < n; i++)
			if (parts[i]->iframe_src)
				return 1;
		return 0;
	}
	return -1;
}
