/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_BANNED_H
#define MAVIS_BANNED_H

#include <mavis/api.h>

/*
 * Banned file names and types, amavisd-new style (%banned_rules,
 * @banned_filename_maps, check_for_banned_names).
 *
 * Rules file format (etc/banned-rules.conf is the Debian default set):
 *
 *   # comment lines and blank lines are ignored
 *   [DEFAULT]                         a named rule set; rules before any
 *                                     heading belong to DEFAULT. A name used
 *                                     twice continues the same set.
 *   /regex/flags                      a rule with value 1 (banned)
 *   /regex/flags  => 0                allowed: stops the search, not banned
 *   'regex'flags  => DISCARD          any other value bans; a value starting
 *   /regex/       => "some text"      with DISCARD also asks for no DSN
 *
 *   The regex is PCRE2 (Perl syntax) between two '/' or two '\'' characters;
 *   the delimiter may appear inside only as "\/" or "\'". Flags: i (caseless),
 *   x (extended), s (dotall), m (multiline). The text of (?#...) groups in
 *   the regex becomes the rule's comment, shown in the reason as amavisd
 *   does. A value is a bare word or a "quoted string" (\" and \\ escapes);
 *   $1..$9 in it are replaced by the regex captures. "0" and "" mean allowed.
 *   Lines hold at most 4096 bytes; a file at most 10000 rules in 256 sets.
 *
 * Matching (amavisd lookup_re with a list of keys): for every leaf part, in
 * breadth-first tree order, the keys are those of each part on its path from
 * the outermost ancestor to the leaf: declared MIME type(s), "." + each short
 * type (".exe", ".exe-ms"), declared names, and "UNDECIPHERABLE" for a part
 * with attribute U. The rules of the chosen sets are tried in order; a rule
 * matches when it matches any key; the first matching rule decides. So
 * [^\.(zip|rar)$ => 0] listed first allows anything inside a zip.
 */

#include <stdbool.h>
#include <stddef.h>

#include <mavis/arena.h>
#include <mavis/error.h>
#include <mavis/parts.h>

/* Immutable compiled rule sets; share freely between threads. */
struct mavis_banned_rules;

/* Load rules from a file or from text (origin names it in errors). Errors
   carry "origin:line: ...". Returns 0 and *out, or a negative status. */
MAVIS_API int mavis_banned_load_file(const char *path, struct mavis_banned_rules **out,
			   struct mavis_error *err);
MAVIS_API int mavis_banned_load_text(const char *text, size_t len, const char *origin,
			   struct mavis_banned_rules **out, struct mavis_error *err);

/* The built-in rules: etc/banned-rules.conf as shipped (Debian amavisd's
   $banned_filename_re, set DEFAULT), compiled into the library. What
   applies when no banned_rules_file is named. */
MAVIS_API int mavis_banned_load_default(struct mavis_banned_rules **out, struct mavis_error *err);
#define MAVIS_BANNED_DEFAULT_ORIGIN "built-in banned rules (etc/banned-rules.conf)"

/* Free the rules and set *rules to NULL; NULL-safe. */
MAVIS_API void mavis_banned_free(struct mavis_banned_rules **rules);

/* Does a set of this name exist? (config checks) */
MAVIS_API bool mavis_banned_has_set(const struct mavis_banned_rules *rules, const char *name);
/* Number of rules in a set (0 when it does not exist). */
MAVIS_API size_t mavis_banned_set_size(const struct mavis_banned_rules *rules, const char *name);

/* Does any rule of any set match (ban or allow) the ".T" key of a short
   type T that text can be given (mavis_filetype_text_derived: ".txt",
   ".html", ".dat", ...)? When none does, no verdict depends on libmagic's
   text tests and parts can be typed without them (MAVIS_FILETYPE_TEXT_DETAIL
   off). false for NULL rules; true when the check itself fails. */
MAVIS_API bool mavis_banned_sees_text_types(const struct mavis_banned_rules *rules);

struct mavis_banned_result {
	bool banned;			/* some leaf is banned */
	bool discard;			/* the first banning value starts with DISCARD */
	unsigned nbanned;		/* number of banned leaves */
	const struct mavis_part *part;	/* the first banned leaf, else NULL */
	const char *set;		/* set holding the deciding rule */
	unsigned rule_line;		/* its line in the rules text */
	const char *rule;		/* its regex as written, e.g. "/\.exe$/i" */
	const char *value;		/* its value after $N expansion ("1", ...) */
	const char *key;		/* the key the rule matched */
	/* amavisd %F: "<comments>:" + the leaf's keys joined by ",", e.g.
	   "application/octet-stream,.exe,.exe-ms,x.exe" */
	const char *reason;
	/* amavisd's log form of the whole path, e.g. "P=p003,L=1,M=multipart/mixed
	   | P=p002,L=1/2,M=application/zip,T=zip,N=x.zip | P=p004,L=1/2/1,
	   T=exe,T=exe-ms,N=x.exe" (tabs and newlines in values become spaces) */
	const char *path;
	/* the same path as keys ("multipart/mixed | application/zip,.zip,x.zip |
	   .exe,.exe-ms,x.exe"), amavisd's banned_parts entry */
	const char *path_keys;
	/* SMTP reply text without the "id=... - " prefix: "BANNED: <reason>" */
	const char *smtp_text;
	/* First set name that does not exist (amavisd ignores those and logs
	   INFO); NULL when all exist. */
	const char *unknown_set;
};

/*
 * Check every leaf of d against the sets named in set_names (comma or space
 * separated, in order, like amavisd's banned_rulenames; NULL means
 * "DEFAULT"). Unknown names are skipped (see unknown_set). Strings in res come
 * from arena. Returns 0 (res->banned tells the outcome), or MAVIS_ERR_LIMIT
 * with err set when a regex hits the PCRE2 match limit on some key: the caller
 * must not treat that message as clean.
 */
MAVIS_API int mavis_banned_check(const struct mavis_banned_rules *rules, const char *set_names,
		       const struct mavis_decoded *d, struct mavis_arena *arena,
		       struct mavis_banned_result *res, struct mavis_error *err);

#endif
