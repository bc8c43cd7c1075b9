/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spf.c - the HELO and MAIL FROM identities of a transaction (RFC 7208) with libspf2 */

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "auth_engine.h"

#define SPF_TIME_BUDGET 20	/* seconds for all lookups of a transaction */

const char *
auth_spf_result_name(enum auth_spf_result r)
{
	switch (r) {
	case AUTH_SPF_NONE: return "none";
	case AUTH_SPF_PASS: return "pass";
	case AUTH_SPF_FAIL: return "fail";
	case AUTH_SPF_SOFTFAIL: return "softfail";
	case AUTH_SPF_NEUTRAL: return "neutral";
	case AUTH_SPF_TEMPERROR: return "temperror";
	case AUTH_SPF_PERMERROR: return "permerror";
	}
	return "permerror";
}

static enum auth_spf_result
from_libspf2(SPF_result_t r)
{
	switch (r) {
	case SPF_RESULT_PASS: return AUTH_SPF_PASS;
	case SPF_RESULT_FAIL: return AUTH_SPF_FAIL;
	case SPF_RESULT_SOFTFAIL: return AUTH_SPF_SOFTFAIL;
	case SPF_RESULT_NEUTRAL: return AUTH_SPF_NEUTRAL;
	case SPF_RESULT_NONE: return AUTH_SPF_NONE;
	case SPF_RESULT_TEMPERROR: return AUTH_SPF_TEMPERROR;
	default: return AUTH_SPF_PERMERROR;
	}
}

/* A name libspf2 can check: a domain, not an address literal nor a bare
   label (RFC 7208 2.3: a HELO that is no FQDN gives none). */
static bool
checkable(const char *d)
{
	size_t n = strlen(d);

	if (n == 0 || n > 253 || d[0] == '[' || d[0] == '.' || strchr(d, '.') == NULL)
		return false;
	for (const char *p = d; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '.' || *p == '_'))
			return false;
	return true;
}

/* One query: the sender's domain (or postmaster@helo when sender is ""). */
static enum auth_spf_result
query(struct auth_engine *e, const struct in_addr *v4, const struct in6_addr *v6,
      const char *helo, const char *sender, struct mavis_arena *a, const char **reason)
{
	SPF_request_t *rq = SPF_request_new(e->spf);
	SPF_response_t *rs = NULL;
	enum auth_spf_result r = AUTH_SPF_PERMERROR;

	*reason = NULL;
	if (rq == NULL)
		return AUTH_SPF_TEMPERROR;
	if (v4)
		SPF_request_set_ipv4(rq, *v4);
	else
		SPF_request_set_ipv6(rq, *v6);
	if (helo && *helo)
		SPF_request_set_helo_dom(rq, helo);
	if (SPF_request_set_env_from(rq, sender) != 0) {
		SPF_request_free(rq);
		return AUTH_SPF_NONE;
	}
	SPF_errcode_t st = SPF_request_query_mailfrom(rq, &rs);
	if (rs != NULL) {
		const char *c = SPF_response_get_header_comment(rs);

		r = from_libspf2(SPF_response_result(rs));
		/* Debian's libspf2 1.2.10 leaves the result unset when the
		   record's lookup failed for now (SPF_E_DNS_ERROR) and when the
		   record does not compile (SPF_E_NOT_SPF, after "unknown
		   mechanism" and the like): temperror and permerror */
		if (SPF_response_result(rs) == SPF_RESULT_INVALID)
			r = st == SPF_E_DNS_ERROR ? AUTH_SPF_TEMPERROR : AUTH_SPF_PERMERROR;
		if (c != NULL)
			*reason = mavis_arena_strdup(a, c);
		SPF_response_free(rs);
	}
	SPF_request_free(rq);
	return r;
}

int
auth_spf_check(struct auth_engine *e, const char *ip, const char *helo, const char *sender,
	       struct mavis_arena *a, struct auth_spf *out)
{
	struct in_addr v4;
	struct in6_addr v6;
	bool is4;
	const char *reason = NULL;

	memset(out, 0, sizeof(*out));
	if (ip == NULL)
		return MAVIS_ERR_PARSE;
	if (strncasecmp(ip, "IPv6:", 5) == 0)
		ip += 5;
	is4 = inet_pton(AF_INET, ip, &v4) == 1;
	if (!is4 && inet_pton(AF_INET6, ip, &v6) != 1)
		return MAVIS_ERR_PARSE;
	if (helo == NULL || !checkable(helo))
		helo = NULL;
	/* Both identities in SPF_TIME_BUDGET: a record with ten includes
	   whose servers time out must not hold the transaction past the
	   MTA's milter timeout (Postfix: 30 s per command) */
	auth_spf_deadline_set(SPF_TIME_BUDGET);
	if (sender == NULL)
		sender = "";
	out->helo_domain = helo ? mavis_arena_strdup(a, helo) : NULL;
	out->helo = AUTH_SPF_NONE;
	if (helo) {
		/* the HELO identity: postmaster@helo */
		out->helo = query(e, is4 ? &v4 : NULL, is4 ? NULL : &v6, helo, "", a, &reason);
		out->reason = reason;
	}
	const char *at = strrchr(sender, '@');
	if (*sender == '\0' || at == NULL || at[1] == '\0') {
		/* the null sender (or one without a domain): the HELO identity
		   is the MAIL FROM identity too */
		out->helo_decided = true;
		out->mfrom = out->helo;
		out->mfrom_domain = out->helo_domain;
		return 0;
	}
	out->mfrom_domain = mavis_arena_strdup(a, at + 1);
	if (!checkable(at + 1)) {
		out->mfrom = AUTH_SPF_NONE;
		out->reason = "sender domain is no domain name";
		return 0;
	}
	out->mfrom = query(e, is4 ? &v4 : NULL, is4 ? NULL : &v6, helo, sender, a, &reason);
	out->reason = reason;
	return 0;
}
