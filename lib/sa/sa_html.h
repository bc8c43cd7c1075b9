/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_SA_HTML_H
#define MAVIS_SA_HTML_H

/*
 * HTML as SpamAssassin 4.0 sees it (Mail::SpamAssassin::HTML on top of
 * HTML::Parser 3): the tokenizer (tags, attributes, comments, declarations,
 * marked sections, entities, literal elements such as script, style, title,
 * textarea, xmp, iframe, plaintext), the rendered text split into visible and
 * invisible parts (colour contrast, tiny fonts, display:none,
 * visibility:hidden), whitespace collapse and line breaks of block tags, and
 * the facts the HTMLEval plugin reads (tag counts, ratios, image area, title,
 * comments, anchors, charsets).
 *
 * The input is octets (the decoded part; UTF-8 when the part was UTF-8); SA
 * with a part it has decoded to Perl characters counts lengths in
 * characters, this module in octets. Everything lives in the arena passed
 * in; time and memory are linear in the input (no recursion: nesting depth
 * costs one stack entry per open tag). Reentrant: no global mutable state.
 */

#include <stddef.h>

#include <mavis/arena.h>

struct sa_html;

/* Parse and render len octets of html (need not be NUL-terminated) into a
   new object from arena a. Never fails on bad input (HTML has no errors);
   returns 0 and sets *out. */
int sa_html_parse(const char *html, size_t len, struct mavis_arena *a, struct sa_html **out);

/* The rendered text as SA's visible_rendered / invisible_rendered, with its
   length in *len (may be NULL). NUL-terminated, owned by the arena. */
const char *sa_html_visible(const struct sa_html *h, size_t *len);
const char *sa_html_invisible(const struct sa_html *h, size_t *len);
/* Visible and invisible text together (SA's "rendered"). */
const char *sa_html_rendered(const struct sa_html *h, size_t *len);

/* The URIs of the part as the keys of HTML.pm's uri hash (what
   PerMsgStatus takes from HTML): href/src/action/background/... values
   trimmed, resolved against <base href>, plus each <a href> as written;
   unique, non-empty, in the order first seen (SA uses hash order). Sets
   *uris to an array owned by the arena; returns its length. */
size_t sa_html_uris(const struct sa_html *h, const char *const **uris);

/* Every tag name seen with its {inside} count (arrays in the arena, in no
   particular order); returns the number of names. */
size_t sa_html_inside_all(const struct sa_html *h, const char *const **tags, const long **counts);

/* The charsets of <meta http-equiv=Content-Type> tags, space-separated,
   NULL when there were none. */
const char *sa_html_charsets(const struct sa_html *h);

/* Lists HTMLEval's html_text_match reads: name is "title", "comment",
   "anchor" or "script". Returns the count and sets *list (NULL and 0 when
   the part has none or the name is unknown). */
size_t sa_html_text_list(const struct sa_html *h, const char *name, const char *const **list);

/* A numeric fact by HTML.pm/Node.pm name ("length", "max_size",
   "bad_tag_ratio", "image_area", "html_length", "non_space_len",
   "font_low_contrast", ...). Returns 1 and sets *v when SA would have the
   key defined, else 0. */
int sa_html_fact(const struct sa_html *h, const char *name, double *v);

/* Count of open minus closed tags of that name as HTML.pm's {inside}{tag};
   returns 1 when the tag was seen at all (then *v is set), else 0. */
int sa_html_inside(const struct sa_html *h, const char *tag, long *v);

/*
 * One HTMLEval eval over the message's HTML parts (parts[0..n-1]); fn is the
 * function name, args the rule's arguments as strings (quotes removed).
 * subject is the Subject header (decoded, may be NULL) for
 * html_title_subject_ratio. Supported: html_test, html_eval, html_range,
 * html_tag_exists, html_tag_balance, html_image_only, html_image_ratio,
 * html_title_subject_ratio, html_text_match, html_text_not_match,
 * html_charset_faraway (ok_locales "all", SA's default: never hits),
 * check_iframe_src. html_text_match compiles its pattern on each call:
 * a rule engine that runs it per message should compile once and use
 * sa_html_text_list(). Returns 1 hit, 0 no hit, -1 unknown function or
 * bad arguments.
 */
int sa_html_eval(const struct sa_html *const *parts, size_t n, const char *subject,
		 const char *fn, const char *const *args, size_t nargs);

#endif
