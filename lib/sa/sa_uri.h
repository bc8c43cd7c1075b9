/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_SA_URI_H
#define MAVIS_SA_URI_H

/*
 * URIs as SpamAssassin 4.0 takes them from text (PerMsgStatus's
 * _process_text_uri_list, the Thunderbird-like pattern) and canonicalises
 * them (Util::uri_list_canonicalize). Pure functions over the arena; a
 * scanner, not a regex, so time is linear in the text.
 *
 * Schemeless hosts ("example.com/x") need a known top-level domain: SA takes
 * the list from 20_aux_tlds.cf; sa_uri_find accepts every two-letter
 * country code and the common generic ones built in, and
 * sa_uri_find_tld() takes the caller's test (the rule engine's loaded list).
 */

#include <stdbool.h>
#include <stddef.h>

#include <mavis/arena.h>

/* URIs in text[0..len) as SA turns them into uri_detail_list keys:
   "http://" added to www./bare hosts, "mailto:" to addresses, trailing
   punctuation removed, unique, in order. *out is an arena array; returns
   the count. */
size_t sa_uri_find(const char *text, size_t len, struct mavis_arena *a, const char ***out);

/* The same with is_tld(tld, n, ctx) deciding which top-level domains are real. */
size_t sa_uri_find_tld(const char *text, size_t len, bool (*is_tld)(const char *, size_t, void *),
		       void *ctx, struct mavis_arena *a, const char ***out);

/* uri and its canonical variants as uri_list_canonicalize: %XX decoding of
   safe characters, "http:/x" fixed, scheme added, &#NN; decoded, :80/:443
   dropped, userinfo dropped, trailing junk in the host dropped, decimal/
   hex/octal IPs as dotted quads, "http://foo/" as "http://www.foo.com/",
   targets of redirects (an http(s):// URI inside the path or query) with
   their own variants. The original (trimmed) is always included; a URI
   of one byte or a relative "#", "?", "&", "/x" gets no variants. Redirect
   patterns from the rules (redirector_pattern) are not applied here. At
   most 64 variants, 16 redirect hops. Returns
   the count; *variants is an arena array. */
size_t sa_uri_canonicalize(const char *uri, struct mavis_arena *a, const char ***variants);

/* The rules' redirector_pattern list: the first pattern matching uri gives
   its group 1 (in a), NULL when none matches or group 1 is unset. */
typedef char *(*sa_uri_redir_fn)(const char *uri, void *ctx, struct mavis_arena *a);

/* sa_uri_canonicalize with redirector patterns: where redir gives a target
   with a dot, that target is followed instead of the built-in "an http(s)
   URI inside the path" (Util.pm, bug 7278). redir NULL = the plain call. */
size_t sa_uri_canonicalize_redir(const char *uri, sa_uri_redir_fn redir, void *ctx,
				 struct mavis_arena *a, const char ***variants);

#endif
