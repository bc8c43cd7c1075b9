/* SPDX-License-Identifier: GPL-2.0-or-later */
/* auth_int.h - SPF (libspf2) and DMARC (libopendmarc) over our resolver (libmavis internal) */
#ifndef MAVIS_AUTH_INT_H
#define MAVIS_AUTH_INT_H

/*
 * SPF (RFC 7208) is evaluated once per transaction, at MAIL FROM: the
 * client address comes with the connection, the HELO name with HELO and
 * the sender with MAIL, so every identity is known there, and the
 * lookups are done before the content arrives (the end-of-message reply,
 * which waits for every other check, does not wait for them too). DMARC
 * (RFC 7489) needs the From field and the DKIM results: it is evaluated at
 * end of message. Both look names up through lib/dkim/dns.c (dns_servers,
 * dns_timeout, dns_cache_size): one resolver, one cache, one timeout for
 * DKIM keys, SPF records and DMARC policies. A DNS failure is a
 * temperror, never a pass.
 */

#include <stdbool.h>
#include <stddef.h>

#include <mavis/arena.h>
#include <mavis/config.h>
#include <mavis/dkim.h>
#include <mavis/error.h>

struct dkim_verify_result;

/* ---- SPF ---- */
enum auth_spf_result {
	AUTH_SPF_NONE, AUTH_SPF_PASS, AUTH_SPF_FAIL, AUTH_SPF_SOFTFAIL, AUTH_SPF_NEUTRAL,
	AUTH_SPF_TEMPERROR, AUTH_SPF_PERMERROR
};
const char *auth_spf_result_name(enum auth_spf_result r);

/* The SPF results of one transaction. */
struct auth_spf {
	enum auth_spf_result helo;	/* the HELO identity (none without a HELO name) */
	const char *helo_domain;	/* NULL: no HELO name */
	enum auth_spf_result mfrom;	/* the MAIL FROM identity: postmaster@HELO
					   for the null sender (RFC 7208 2.4) */
	const char *mfrom_domain;	/* the sender's domain, or the HELO name */
	bool helo_decided;		/* null sender: the HELO identity is the result */
	const char *reason;		/* libspf2's comment on the deciding result, or NULL */
};

/* Process-wide SPF and DMARC state: a libspf2 server whose DNS layer is
   our resolver, and the public suffix list (libpsl). Thread-safe; built
   at start and reload. */
struct auth_engine;

/* Build on dns (borrowed: it must outlive the engine). The public suffix
   list is read from psl_path (NULL: none, for SPF only); a list that
   cannot be read fails the build. */
int auth_engine_new(struct mavis_dns *dns, const char *psl_path, struct auth_engine **out,
		    struct mavis_error *err);
void auth_engine_free(struct auth_engine **e);

/* Check the HELO and MAIL FROM identities of a transaction from client
   address ip (IPv4 or IPv6 text, "IPv6:" prefix allowed). helo may be
   NULL or empty, sender "" is the null sender. Results in *out, strings
   from a. Returns 0, or MAVIS_ERR_PARSE when ip is no address (nothing
   checked). */
int auth_spf_check(struct auth_engine *e, const char *ip, const char *helo, const char *sender,
		   struct mavis_arena *a, struct auth_spf *out);

/* ---- DMARC ---- */
enum auth_dmarc_result {
	AUTH_DMARC_NONE, AUTH_DMARC_PASS, AUTH_DMARC_FAIL, AUTH_DMARC_TEMPERROR,
	AUTH_DMARC_PERMERROR
};
const char *auth_dmarc_result_name(enum auth_dmarc_result r);

struct auth_dmarc {
	enum auth_dmarc_result result;
	const char *from_domain;	/* header.from, or NULL */
	const char *policy_domain;	/* where the record was found, or NULL */
	char p, sp;			/* the record's policies: 'n' 'q' 'r', 0 unset */
	int pct;			/* 0..100 */
	bool strict_dkim, strict_spf;	/* adkim=s, aspf=s */
	char policy;			/* on fail: the one that applies ('n' 'q' 'r'),
					   after sp= and pct= */
	bool sampled_out;		/* pct= made the policy one step milder */
	bool dkim_aligned, spf_aligned;
	const char *reason;		/* why not pass, or NULL */
};

/* The organisational domain of domain (RFC 7489 3.2: the public suffix
   plus one label, lower case; a public suffix itself is its own) into
   buf. Returns buf, or NULL when domain is empty or does not fit. Without
   a list the last two labels (the list's implicit "*" rule). */
const char *auth_org_domain(const struct auth_engine *e, const char *domain, char *buf,
			    size_t size);
/* Are domains a and b aligned (RFC 7489 3.1): strict, the same name;
   relaxed, the same organisational domain. Case-insensitive; a trailing
   dot is ignored. */
bool auth_aligned(const struct auth_engine *e, const char *a, const char *b, bool strict);

/* Evaluate DMARC for the From domain from_domain (NULL or "": no
   evaluation, result none) with the SPF results (NULL: SPF did not run)
   and the DKIM results (NULL: none). rnd is a number in 0..99 for pct=
   sampling. Result in *out, strings from a; never fails (DNS failures
   are temperror, bad records permerror). */
void auth_dmarc_check(struct auth_engine *e, const char *from_domain, const struct auth_spf *spf,
		      const struct dkim_verify_result *dkim, unsigned rnd, struct mavis_arena *a,
		      struct auth_dmarc *out);

/* The part of auth_dmarc_check after the lookup: record rec (found at
   where: from itself, or its organisational domain when it is another
   string) against the results. from must be normalised (lower case, no
   trailing dot). */
void auth_dmarc_eval(const struct auth_engine *e, const char *rec, const char *from,
		     const char *where,
		     const struct auth_spf *spf, const struct dkim_verify_result *dkim, unsigned rnd,
		     struct mavis_arena *a, struct auth_dmarc *out);

/* The record selection of RFC 7489 6.6.3 over the TXT records of a
   _dmarc name: the one that starts with "v=DMARC1" (case-insensitive,
   followed by ';', space or the end), NULL when there is none or more than one. */
const char *auth_dmarc_pick(const struct mavis_dns_rr *rrs, size_t n);

/* The Authentication-Results parts for SPF and DMARC ("spf=pass
   smtp.mailfrom=example.org", "dmarc=fail (p=reject) header.from=..."),
   each with a leading ";\n ", appended to b. Either may be NULL. */
struct mavis_buf;
void auth_authres_append(struct mavis_buf *b, const struct auth_spf *spf,
			 const struct auth_dmarc *dmarc);

#endif
