/* SPDX-License-Identifier: GPL-2.0-or-later */
/* engine.c - the process-wide libspf2 server on our resolver; the public suffix list (libpsl) */

#include <arpa/nameser.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mavis/alloc.h>

#include "auth_engine.h"

/*
 * libspf2 asks its DNS layer for TXT, A, AAAA, MX and PTR records; ours
 * answers from lib/dkim/dns.c, so that SPF uses dns_servers, dns_timeout
 * and the cache like DKIM does. A failed lookup is TRY_AGAIN, which
 * libspf2 turns into temperror. Type SPF (99) is obsolete (RFC 7208 3.1):
 * never asked of the servers.
 */
/* The end of the current SPF check's time (auth_spf_deadline_set); the
   libspf2 callback has no per-request context, and a check runs on one
   thread from start to end. */
static _Thread_local struct timespec spf_deadline;

void
auth_spf_deadline_set(unsigned seconds)
{
	clock_gettime(CLOCK_MONOTONIC, &spf_deadline);
	spf_deadline.tv_sec += seconds;
}

static bool
spf_deadline_passed(void)
{
	struct timespec now;

	if (spf_deadline.tv_sec == 0)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > spf_deadline.tv_sec ||
	       (now.tv_sec == spf_deadline.tv_sec && now.tv_nsec >= spf_deadline.tv_nsec);
}

static SPF_dns_rr_t *
spf_dns_lookup(SPF_dns_server_t *srv, const char *domain, ns_type type, int should_cache)
{
	struct mavis_dns *dns = srv->hook;
	struct mavis_error err = { 0 };
	struct mavis_arena *a;
	struct mavis_dns_rr *rrs;
	SPF_dns_rr_t *rr;
	size_t n = 0;
	int rc;

	(void)should_cache;
	if (type == ns_t_spf)
		return SPF_dns_rr_new_init(srv, domain, type, 0, NO_DATA);
	/* out of time: every further lookup fails for now (temperror) */
	if (spf_deadline_passed())
		return SPF_dns_rr_new_init(srv, domain, type, 0, TRY_AGAIN);
	a = mavis_arena_new(2048);
	rc = mavis_dns_query(dns, domain, (int)type, a, &rrs, &n, &err);
	rr = SPF_dns_rr_new_init(srv, domain, type, 0,
				 rc == 1 ? NETDB_SUCCESS : rc == 0 ? NO_DATA : TRY_AGAIN);
	if (rr == NULL || rc != 1) {
		mavis_arena_free(&a);
		return rr;
	}
	for (size_t i = 0; i < n; i++) {
		size_t need = rrs[i].len + 1;

		if (type == ns_t_a)
			need = sizeof(struct in_addr);
		else if (type == ns_t_aaaa)
			need = sizeof(struct in6_addr);
		if (SPF_dns_rr_buf_realloc(rr, (int)i, need) != SPF_E_SUCCESS) {
			/* out of memory: a failure for now */
			rr->herrno = TRY_AGAIN;
			rr->num_rr = 0;
			break;
		}
		if (type == ns_t_a || type == ns_t_aaaa)
			memcpy(rr->rr[i], rrs[i].data, need);
		else
			memcpy(rr->rr[i], rrs[i].data, rrs[i].len + 1);
		rr->num_rr = (int)i + 1;
	}
	mavis_arena_free(&a);
	return rr;
}

static void
spf_dns_destroy(SPF_dns_server_t *srv)
{
	free(srv);
}

int
auth_engine_new(struct mavis_dns *dns, const char *psl_path, struct auth_engine **out,
		struct mavis_error *err)
{
	struct auth_engine *e;

	psl_ctx_t *psl = NULL;

	if (psl_path != NULL && *psl_path != '\0') {
		psl = psl_load_file(psl_path);
		if (psl == NULL)
			return mavis_error_set(err, MAVIS_ERR_CONFIG,
					       "public suffix list %s cannot be read (Debian package publicsuffix)",
					       psl_path);
	}
	/* libspf2 prints its warnings on stderr: the reasons that matter
	   come back in the responses */
	SPF_warning_handler = NULL;
	SPF_info_handler = NULL;
	SPF_debug_handler = NULL;
	e = mavis_xcalloc(1, sizeof(*e));
	e->dns = dns;
	e->psl = psl;
	e->spf_dns = mavis_xcalloc(1, sizeof(*e->spf_dns));
	e->spf_dns->destroy = spf_dns_destroy;
	e->spf_dns->lookup = spf_dns_lookup;
	e->spf_dns->name = "mavis";
	e->spf_dns->hook = dns;
	e->spf = SPF_server_new_dns(e->spf_dns, 0);
	if (e->spf == NULL) {
		auth_engine_free(&e);
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "libspf2 initialisation failed");
	}
	*out = e;
	return 0;
}

void
auth_engine_free(struct auth_engine **pe)
{
	struct auth_engine *e = *pe;

	if (e == NULL)
		return;
	*pe = NULL;
	if (e->spf)
		SPF_server_free(e->spf);
	if (e->spf_dns)
		SPF_dns_free(e->spf_dns);
	if (e->psl)
		psl_free(e->psl);
	free(e);
}
