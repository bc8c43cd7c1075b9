/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dkim-cost.c - microseconds per message to sign and to verify, per dkim_key; SPF and DMARC */

/*
 * Not built by default. From the top of the tree, after a release build of
 * the static library:
 *
 *   cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release && cmake --build build-rel --target mavis_static
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Ilib/include -Ilib bench/dkim-cost.c build-rel/lib/libmavis_static.a \
 *      $(pkg-config --libs gmime-3.0 libpcre2-8 libpq libclamav opendkim libarchive zlib libcurl json-c libcrypto) \
 *      -lspf2 -lopendmarc -lpsl -lmagic -lresolv -lm -lpthread -o build-rel/dkim-cost
 *   build-rel/dkim-cost CONFIG [iterations] [body KB] [CLIENT-IP HELO SENDER FROM-DOMAIN]
 *
 * CONFIG names the keys (dkim_key) and a DNS server that publishes them
 * (dns_servers; e.g. dnsmasq --txt-record with the records of mavisctl dkim
 * showkeys). For each key: the signature of a message with a 7-field header
 * and a body of KB kilobytes (default 10), then the verification of the
 * signed message as mavisd does it (fields, end of header, body, end of
 * message; the key record from the resolver's cache after the first one).
 * Reported: the median of the iterations.
 *
 * With the last four arguments also the SPF check of both identities of
 * a transaction (CLIENT-IP, HELO, SENDER) and the DMARC check of
 * FROM-DOMAIN against that SPF result (and the last key's signature), as
 * mavisd does them, with the resolver's cache warm (one run first fills
 * it): that is the cost per message without DNS round trips.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mavis/arena.h>
#include <mavis/config.h>
#include <mavis/dkim.h>

#include "auth/auth_int.h"
#include "dkim/dkim_int.h"

static double
now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	struct mavis_config *cfg = NULL;
	struct mavis_error err = { 0 };
	struct dkim_engine *e = NULL;
	int iters = argc > 2 ? atoi(argv[2]) : 500;
	size_t kb = argc > 3 ? (size_t)atoi(argv[3]) : 10;

	if (argc < 2 || iters < 1 || mavis_config_load(argv[1], &cfg, &err) < 0 ||
	    dkim_engine_new(cfg, &e, &err) < 0) {
		fprintf(stderr, "usage: dkim-cost CONFIG [iterations] [body KB] (%s)\n", err.text);
		return 2;
	}
	struct dkim_field f[] = {
		{ "From", " Alice <alice@%s>" }, { "To", " bob@example.net" },
		{ "Subject", " a message of some length" },
		{ "Date", " Thu, 03 Dec 2026 14:00:00 +0000" }, { "Message-ID", " <1@bench>" },
		{ "MIME-Version", " 1.0" }, { "Content-Type", " text/plain; charset=us-ascii" },
	};
	size_t nf = sizeof(f) / sizeof(f[0]);
	size_t blen = kb * 1024;
	char *body = malloc(blen + 1);
	for (size_t i = 0; i < blen; i++)
		body[i] = (i % 72 == 70) ? '\r' : (i % 72 == 71) ? '\n' : (char)('a' + i % 26);
	double *t = calloc((size_t)iters, sizeof(*t)), *u = calloc((size_t)iters, sizeof(*u));
	const struct mavis_dkim_keys *ks = dkim_engine_keys(e);

	for (size_t k = 0; k < mavis_dkim_keys_count(ks); k++) {
		const struct dkim_key *key = &ks->v[k];
		const char *d = key->info.domain[0] == '.' ? key->info.domain + 1 : key->info.domain;
		struct dkim_sign_opts o;
		int passes = 0;

		struct mavis_arena *a0 = mavis_arena_new(4096);
		dkim_sign_opts_parse("c=relaxed/relaxed", &o, a0, &err);
		for (int i = 0; i < iters; i++) {
			struct mavis_arena *a = mavis_arena_new(8192);
			const char *sig;
			double t0 = now_us();

			if (dkim_sign_message(e, key, d, &o, f, nf, body, blen, "bench", a, &sig, &err) < 0) {
				fprintf(stderr, "sign: %s\n", err.text);
				return 1;
			}
			t[i] = now_us() - t0;
			t0 = now_us();
			struct dkim_verify *v = dkim_verify_new(e, "bench", 10, a);
			dkim_verify_header(v, "DKIM-Signature", 14, sig, strlen(sig));
			for (size_t j = 0; j < nf; j++)
				dkim_verify_header(v, f[j].name, strlen(f[j].name), f[j].value,
						   strlen(f[j].value));
			dkim_verify_eoh(v);
			for (size_t off = 0; off < blen; off += 65535)
				dkim_verify_body(v, body + off, blen - off < 65535 ? blen - off : 65535);
			const struct dkim_verify_result *r = dkim_verify_finish(v);
			u[i] = now_us() - t0;
			passes += r && r->n == 1 && r->sigs[0].result == DKIM_R_PASS;
			dkim_verify_free(&v);
			mavis_arena_free(&a);
		}
		mavis_arena_free(&a0);
		qsort(t, (size_t)iters, sizeof(*t), cmp);
		qsort(u, (size_t)iters, sizeof(*u), cmp);
		printf("%s %u bits d=%s s=%s, %zu KB body: sign %.0f us, verify %.0f us (median of %d; %d passed)\n",
		       key->info.alg == MAVIS_DKIM_ED25519_SHA256 ? "ed25519-sha256" : "rsa-sha256",
		       key->info.bits, d, key->info.selector, kb, t[iters / 2], u[iters / 2], iters,
		       passes);
	}
	if (argc > 7) {
		struct auth_engine *ae = NULL;
		struct auth_spf spf;
		struct auth_dmarc dm;
		int pass = 0;

		if (auth_engine_new(dkim_engine_dns(e), "/usr/share/publicsuffix/public_suffix_list.dafsa",
				    &ae, &err) < 0) {
			fprintf(stderr, "%s\n", err.text);
			return 1;
		}
		struct mavis_arena *a = mavis_arena_new(8192);
		/* warm the cache */
		auth_spf_check(ae, argv[4], argv[5], argv[6], a, &spf);
		auth_dmarc_check(ae, argv[7], &spf, NULL, 0, a, &dm);
		for (int i = 0; i < iters; i++) {
			double t0 = now_us();

			mavis_arena_reset(a);
			auth_spf_check(ae, argv[4], argv[5], argv[6], a, &spf);
			t[i] = now_us() - t0;
			t0 = now_us();
			auth_dmarc_check(ae, argv[7], &spf, NULL, (unsigned)i % 100, a, &dm);
			u[i] = now_us() - t0;
			pass += dm.result == AUTH_DMARC_PASS;
		}
		qsort(t, (size_t)iters, sizeof(*t), cmp);
		qsort(u, (size_t)iters, sizeof(*u), cmp);
		printf("spf helo=%s mailfrom=%s (%s, %s), warm cache: %.0f us; dmarc %s header.from=%s: "
		       "%.0f us (median of %d; %d passed)\n",
		       auth_spf_result_name(spf.helo), auth_spf_result_name(spf.mfrom), argv[5], argv[6],
		       t[iters / 2], auth_dmarc_result_name(dm.result), argv[7], u[iters / 2], iters, pass);
		mavis_arena_free(&a);
		auth_engine_free(&ae);
	}
	free(t);
	free(u);
	free(body);
	dkim_engine_free(&e);
	mavis_config_unref(&cfg);
	return 0;
}
