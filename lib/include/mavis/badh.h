/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_BADH_H
#define MAVIS_BADH_H

#include <mavis/api.h>

/*
 * Bad-header checks (CC_BADH), after amavisd-new 2.13
 * Amavis::Unpackers::Validity::check_header_validity.
 *
 * Per header field the tests run in amavisd's order and the first one that
 * fails gives that field's finding: syntax (6), empty (4), long (5),
 * control (3), 8bit (2). Then, for the whole section, missing (7: Date or
 * From absent) and multiple (8: duplicates of Date From Sender Reply-To To
 * Cc Bcc Subject Message-ID References In-Reply-To MIME-Version Content-Type
 * Content-Transfer-Encoding Content-ID Content-Description Content-Disposition
 * Auto-Submitted). The MIME parser's error (1) is appended last, as amavisd
 * does. The per-field loop stops after MAVIS_BADH_MAX_FINDINGS findings, so
 * the list holds at most that many field findings plus at most 18
 * section-level ones and one MIME error.
 *
 * The checks need no body: run them at end of headers and add the MIME error
 * at end of message with mavis_badh_add_mime_error.
 *
 * Finding texts are amavisd's ("Improper use of control character (char 0D
 * hex): Subject: ..."), with amavisd's excerpt rules and its \x{XX}
 * escaping of texts that hold non-ASCII. Unlike amavisd, NUL, CR and the
 * other C0 controls except TAB and LF are always escaped, so a text is a
 * safe C string; LF and TAB from folded fields stay as amavisd keeps them.
 */

#include <stdbool.h>
#include <stddef.h>

#include <mavis/arena.h>
#include <mavis/headers.h>

/* Minor content categories of CC_BADH (amavisd-new's CC_BADH minors). */
enum mavis_badh_minor {
	MAVIS_BADH_NONE = 0,
	MAVIS_BADH_MIME = 1,
	MAVIS_BADH_8BIT = 2,
	MAVIS_BADH_CONTROL = 3,
	MAVIS_BADH_EMPTY = 4,
	MAVIS_BADH_LONG = 5,
	MAVIS_BADH_SYNTAX = 6,
	MAVIS_BADH_MISSING = 7,
	MAVIS_BADH_MULTIPLE = 8,
};

/* %allowed_header_tests as a bit set. */
#define MAVIS_BADH_T_OTHER 0x001u	/* accepted for compatibility; amavisd
					   has no test behind it */
#define MAVIS_BADH_T_MIME 0x002u
#define MAVIS_BADH_T_8BIT 0x004u
#define MAVIS_BADH_T_CONTROL 0x008u
#define MAVIS_BADH_T_EMPTY 0x010u
#define MAVIS_BADH_T_LONG 0x020u
#define MAVIS_BADH_T_SYNTAX 0x040u
#define MAVIS_BADH_T_MISSING 0x080u
#define MAVIS_BADH_T_MULTIPLE 0x100u
#define MAVIS_BADH_T_UTF8 0x200u	/* valid UTF-8 in non-SMTPUTF8 mail */
#define MAVIS_BADH_T_ALL 0x3ffu
/* amavisd's default: everything but utf8. */
#define MAVIS_BADH_TESTS_DEFAULT (MAVIS_BADH_T_ALL & ~MAVIS_BADH_T_UTF8)

/* Field findings kept before the per-field loop stops (amavisd's limit). */
#define MAVIS_BADH_MAX_FINDINGS 100

/* The bit of an %allowed_header_tests key ("syntax", "8bit", ...; ASCII
   case-insensitive), or 0 for an unknown key. */
MAVIS_API unsigned mavis_badh_test_bit(const char *key);

struct mavis_badh_finding {
	enum mavis_badh_minor minor;
	const char *text;	/* amavisd's text, never NULL */
	long header_index;	/* 0-based field in the headers, or -1 for the
				   section-level and MIME findings */
};

struct mavis_badh_result;

/*
 * Check every field of h. allowed is a MAVIS_BADH_T_* set; smtputf8 says
 * the transaction used SMTPUTF8 (UTF-8 field bodies are then fine);
 * mime_error (may be NULL or "") is the MIME parser's error text, used only
 * if MAVIS_BADH_T_MIME is allowed. The result and its texts come from
 * arena a. Linear in the size of the header section. Never NULL.
 */
MAVIS_API struct mavis_badh_result *mavis_badh_check(const struct mavis_headers *h,
					   unsigned allowed, bool smtputf8,
					   const char *mime_error,
					   struct mavis_arena *a);

/*
 * Add the MIME parser's error later (end of message): appends "MIME error:
 * <text>" with minor 1 when MAVIS_BADH_T_MIME is in allowed and text is not
 * empty. Call at most once per result; a second call is ignored.
 */
MAVIS_API void mavis_badh_add_mime_error(struct mavis_badh_result *r, unsigned allowed,
			       const char *mime_error);

/* Number of findings and finding i (NULL when out of range). */
MAVIS_API size_t mavis_badh_count(const struct mavis_badh_result *r);
MAVIS_API const struct mavis_badh_finding *mavis_badh_nth(const struct mavis_badh_result *r,
						size_t i);

/* The maximum minor over all findings, MIME error included; 0 if clean. */
MAVIS_API enum mavis_badh_minor mavis_badh_minor(const struct mavis_badh_result *r);

/*
 * amavisd adds two content categories: CC_BADH,<header minor> (the maximum
 * over the header findings; 0 when there are none) and, separately,
 * CC_BADH,1 for a MIME error. These give both parts.
 */
MAVIS_API enum mavis_badh_minor mavis_badh_header_minor(const struct mavis_badh_result *r);
MAVIS_API bool mavis_badh_has_mime_error(const struct mavis_badh_result *r);

/* The first finding's text, or NULL when there is none. */
MAVIS_API const char *mavis_badh_first(const struct mavis_badh_result *r);

/*
 * The X-Amavis-Alert value "BAD HEADER SECTION, <first problem>" with the
 * line breaks of the text unfolded the way amavisd's header writer does
 * (LF + WSP -> WSP, other LF -> SP), still to be folded by the writer.
 * NULL when there is no finding. From the result's arena.
 */
MAVIS_API const char *mavis_badh_alert(const struct mavis_badh_result *r);

/*
 * The SMTP reason of %smtp_reason_by_ccat without the "id=%n - " prefix,
 * e.g. "BAD HEADER: duplicate header field"; "BAD HEADER" for minor 0 or an
 * unknown minor. Static string.
 */
MAVIS_API const char *mavis_badh_reason(enum mavis_badh_minor minor);

/* The SMTP status of a blocked recipient: "554 5.6.3" for minor 2 (8bit),
   "554 5.6.0" otherwise. Static string. */
MAVIS_API const char *mavis_badh_smtp_status(enum mavis_badh_minor minor);

#endif
