/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_dkim.c - libFuzzer target: A-R authserv-ids, signing options, DKIM verification */

/*
 * One input is used three ways: as an Authentication-Results value for
 * mavis_authres_servid, as a signing options string, and as a message
 * whose header section (with its DKIM-Signature fields) and body go
 * through the streaming verifier and the A-R writer. Key lookups go to a
 * port where nothing listens (an immediate temperror), so that the
 * signature parsing and the result mapping are what is fuzzed.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/arena.h>
#include <mavis/config.h>
#include <mavis/dkim.h>

#include "dkim/dkim_int.h"

#define FUZZ_MAX 16384

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dkim_engine *engine;

static void
init(void)
{
	struct mavis_config *cfg = NULL;
	struct mavis_error err = { 0 };

	if (mavis_config_load_string("dns_servers = 127.0.0.1:9\ndns_timeout = 1s\n", "fuzz", "/tmp", &cfg,
				     &err) < 0 ||
	    dkim_engine_new(cfg, &engine, &err) < 0)
		abort();
	mavis_config_unref(&cfg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mavis_arena *a;
	char id[256];
	struct mavis_error err = { 0 };
	struct dkim_sign_opts o;

	if (size > FUZZ_MAX)
		return 0;
	if (engine == NULL)
		init();
	a = mavis_arena_new(4096);
	char *s = mavis_arena_strndup(a, (const char *)data, size);
	if (mavis_authres_servid((const char *)data, size, id, sizeof(id)) == 0 &&
	    (id[0] == '\0' || strlen(id) >= sizeof(id)))
		abort();
	(void)dkim_sign_opts_parse(s, &o, a, &err);

	/* header fields up to an empty line, continuation lines joined */
	struct dkim_verify *v = dkim_verify_new(engine, "fuzz", 3, a);
	const char *p = (const char *)data, *end = p + size;
	while (p < end) {
		const char *start = p, *colon = NULL;

		if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')) {
			p += *p == '\r' ? 2 : 1;
			break;
		}
		do {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			p = nl ? nl + 1 : end;
		} while (p < end && (*p == ' ' || *p == '\t'));
		colon = memchr(start, ':', (size_t)(p - start));
		if (colon == NULL)
			continue;
		const char *vend = p;
		while (vend > colon + 1 && (vend[-1] == '\n' || vend[-1] == '\r'))
			vend--;
		dkim_verify_header(v, start, (size_t)(colon - start), colon + 1,
				   (size_t)(vend - colon - 1));
	}
	dkim_verify_eoh(v);
	dkim_verify_body(v, p, (size_t)(end - p));
	const struct dkim_verify_result *r = dkim_verify_finish(v);
	const char *ar = dkim_authres_value(r, "fuzz.example", a);
	if (r != NULL) {
		for (size_t i = 0; i < r->n; i++)
			if (r->sigs[i].result == DKIM_R_PASS)
				abort();	/* no key can be found: never a pass */
		if (ar == NULL || strchr(ar, '\r') != NULL)
			abort();
	}
	dkim_verify_free(&v);
	mavis_arena_free(&a);
	return 0;
}
