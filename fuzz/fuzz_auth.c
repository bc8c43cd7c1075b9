/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_auth.c - libFuzzer target: DNS answers, DMARC records and policy, SPF identities, the A-R parts */

/*
 * One input is used three ways: as a DNS message whose answer section is
 * read for each record type SPF and DMARC ask for; as lines (a DMARC
 * record, a From domain, the domain the record came from, a DKIM d=, an
 * SPF MAIL FROM domain) through the record choice, libopendmarc's parser,
 * our alignment and policy logic and the A-R writer; and as a HELO name
 * and sender through the SPF check (lookups go to a port where nothing
 * listens: an immediate temperror, so that the identity handling is what
 * is fuzzed).
 */

#include <arpa/nameser.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/arena.h>
#include <mavis/buf.h>
#include <mavis/dkim.h>

#include "auth/auth_int.h"
#include "dkim/dkim_int.h"

#define FUZZ_MAX 8192
#define PSL "/usr/share/publicsuffix/public_suffix_list.dafsa"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mavis_dns *dns;
static struct auth_engine *engine;

static void
init(void)
{
	const char *const servers[] = { "127.0.0.1:9" };
	struct mavis_error err = { 0 };

	if (mavis_dns_new(servers, 1, 1, 0, &dns, &err) < 0 ||
	    auth_engine_new(dns, PSL, &engine, &err) < 0)
		abort();
}

/* line i of s (NUL-free copy), "" when there are fewer */
static const char *
line(struct mavis_arena *a, const char *s, size_t len, int i)
{
	const char *p = s, *end = s + len;

	for (; i > 0 && p < end; i--) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		p = nl ? nl + 1 : end;
	}
	if (p >= end)
		return "";
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	char *out = mavis_arena_strndup(a, p, (size_t)((nl ? nl : end) - p));
	for (char *q = out; *q; q++)
		if (*q == '\r')
			*q = ' ';
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int types[] = { ns_t_a, ns_t_aaaa, ns_t_mx, ns_t_ptr, ns_t_txt, ns_t_cname };
	struct mavis_arena *a;
	struct mavis_dns_rr rrs[DNS_RRS_MAX];
	unsigned ttl = 0;

	if (size > FUZZ_MAX)
		return 0;
	if (engine == NULL)
		init();
	a = mavis_arena_new(4096);
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
		dns_answer_parse(data, (int)size, types[t], a, rrs, &ttl);

	/* the text: NUL bytes cut a C string where the library would */
	char *text = mavis_arena_strndup(a, (const char *)data, size);
	size_t tl = strlen(text);
	const char *rec = line(a, text, tl, 0), *from = line(a, text, tl, 1);
	const char *where = line(a, text, tl, 2), *d = line(a, text, tl, 3);
	const char *mfrom = line(a, text, tl, 4);
	struct mavis_dns_rr one = { .type = ns_t_txt, .data = (const unsigned char *)rec,
				    .len = strlen(rec) };
	const char *picked = auth_dmarc_pick(&one, 1);
	char org[256];

	auth_org_domain(engine, from, org, sizeof(org));
	(void)auth_aligned(engine, from, d, false);
	(void)auth_aligned(engine, from, d, true);
	if (picked != NULL && *from != '\0') {
		struct dkim_sig_result sig = { .result = DKIM_R_PASS, .domain = d };
		struct dkim_verify_result dk = { .sigs = &sig, .n = 1 };
		struct auth_spf spf = { .mfrom = AUTH_SPF_PASS, .mfrom_domain = mfrom,
					.helo = AUTH_SPF_NONE };
		struct auth_dmarc dm = { 0 };
		struct mavis_buf b = { 0 };

		auth_dmarc_eval(engine, picked, from, *where ? where : from, &spf, &dk, (unsigned)size % 100, a,
				&dm);
		auth_authres_append(&b, &spf, &dm);
		mavis_buf_free(&b);
	}
	/* the SPF identities (a DNS failure at once for whatever is looked up) */
	if (size < 512) {
		struct auth_spf spf;

		auth_spf_check(engine, "192.0.2.1", where, mfrom, a, &spf);
	}
	mavis_arena_free(&a);
	return 0;
}
