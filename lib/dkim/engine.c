/* SPDX-License-Identifier: GPL-2.0-or-later */
/* engine.c - the process-wide libopendkim handles, the resolver and the keys */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <opendkim/dkim.h>

#include <mavis/alloc.h>

#include "dkim_engine.h"

/* Signing libraries by option set: libopendkim takes the signed header
   list, the oversigned list and the signature lifetime per library
   handle, not per message. A few distinct sets are expected. */
#define SIGN_LIBS_MAX 16

/* libopendkim asks us for each signature's key record: our resolver, our
   timeout and cache. TRYAGAIN makes the signature a temperror. */
static DKIM_CBSTAT
key_lookup(DKIM *dkim, DKIM_SIGINFO *sig, u_char *buf, size_t buflen)
{
	struct dkim_engine *e = dkim_get_user_context(dkim);
	const char *sel = (const char *)dkim_sig_getselector(sig);
	const char *dom = (const char *)dkim_sig_getdomain(sig);
	struct mavis_error err = { 0 };
	char name[300];
	int rc;

	if (e == NULL || sel == NULL || dom == NULL ||
	    (size_t)snprintf(name, sizeof(name), "%s._domainkey.%s", sel, dom) >= sizeof(name))
		return DKIM_CBSTAT_NOTFOUND;
	rc = mavis_dns_txt(e->dns, name, (char *)buf, buflen, &err);
	if (rc == 1)
		return DKIM_CBSTAT_CONTINUE;
	if (rc == 0)
		return DKIM_CBSTAT_NOTFOUND;
	if (rc == MAVIS_ERR_LIMIT)
		return DKIM_CBSTAT_ERROR;
	return DKIM_CBSTAT_TRYAGAIN;
}

static DKIM_LIB *
lib_new(void)
{
	DKIM_LIB *lib = dkim_init(NULL, NULL);
	unsigned flags = DKIM_LIBFLAGS_FIXCRLF;

	if (lib == NULL)
		return NULL;
	dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof(flags));
	return lib;
}

/* Debian 12's libopendkim makes invalid ed25519 signatures with simple
   header canonicalisation: refuse the combination at load rather than
   send mail that fails everywhere. */
static int
keys_check(const struct mavis_config *cfg, const struct mavis_dkim_keys *ks,
	   struct mavis_error *err)
{
	struct mavis_arena *a;
	struct dkim_sign_opts o;
	int rc;

	if (ks == NULL)
		return 0;
	a = mavis_arena_new(512);
	rc = dkim_sign_opts_parse(mavis_config_get(cfg, MAVIS_KEY_DKIM_SIGNATURE_OPTIONS)->u.s, &o, a,
				  err);
	if (rc < 0)
		mavis_error_prefix(err, "dkim_signature_options: ");
	for (size_t i = 0; rc == 0 && i < ks->n; i++)
		if (ks->v[i].info.alg == MAVIS_DKIM_ED25519_SHA256 && o.hdr_canon == DKIM_CANON_SIMPLE)
			rc = mavis_error_set(err, MAVIS_ERR_CONFIG,
					     "dkim_key %s: ed25519 needs relaxed header canonicalisation "
					     "(dkim_signature_options c=relaxed/...): libopendkim signs "
					     "c=simple/* wrongly",
					     ks->v[i].info.path);
	mavis_arena_free(&a);
	return rc;
}

int
mavis_dkim_check_config(const struct mavis_config *cfg, struct mavis_error *err)
{
	struct mavis_dkim_keys *ks = NULL;
	int rc = mavis_dkim_keys_load(cfg, &ks, err);

	if (rc == 0)
		rc = keys_check(cfg, ks, err);
	mavis_dkim_keys_free(&ks);
	return rc;
}

int
dkim_engine_new(const struct mavis_config *cfg, struct dkim_engine **out, struct mavis_error *err)
{
	const struct mavis_value *srv = mavis_config_get(cfg, MAVIS_KEY_DNS_SERVERS);
	struct dkim_engine *e = mavis_xcalloc(1, sizeof(*e));
	int rc;

	pthread_mutex_init(&e->lock, NULL);
	rc = mavis_dns_new((const char *const *)srv->u.list.v, srv->u.list.n,
			   (unsigned)mavis_config_get(cfg, MAVIS_KEY_DNS_TIMEOUT)->u.i,
			   (size_t)mavis_config_get(cfg, MAVIS_KEY_DNS_CACHE_SIZE)->u.i, &e->dns, err);
	if (rc == 0)
		rc = mavis_dkim_keys_load(cfg, &e->keys, err);
	if (rc == 0)
		rc = keys_check(cfg, e->keys, err);
	if (rc < 0) {
		dkim_engine_free(&e);
		return rc;
	}
	e->verify_lib = lib_new();
	if (e->verify_lib == NULL) {
		dkim_engine_free(&e);
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "libopendkim initialisation failed");
	}
	dkim_set_key_lookup(e->verify_lib, key_lookup);
	*out = e;
	return 0;
}

void
dkim_engine_free(struct dkim_engine **pe)
{
	struct dkim_engine *e = *pe;

	if (e == NULL)
		return;
	*pe = NULL;
	if (e->verify_lib)
		dkim_close(e->verify_lib);
	for (size_t i = 0; i < e->nsign; i++) {
		dkim_close(e->sign[i].lib);
		free(e->sign[i].key);
		mavis_arena_free(&e->sign[i].arena);
	}
	free(e->sign);
	mavis_dkim_keys_free(&e->keys);
	mavis_dns_free(&e->dns);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

const struct mavis_dkim_keys *
dkim_engine_keys(const struct dkim_engine *e)
{
	return e ? e->keys : NULL;
}

struct mavis_dns *
dkim_engine_dns(struct dkim_engine *e)
{
	return e->dns;
}

/* A colon list as the NULL-terminated array libopendkim wants (in a and
   the words in a too). */
static const char **
colon_list(const char *s, struct mavis_arena *a)
{
	size_t n = 1;

	for (const char *p = s; *p; p++)
		n += *p == ':';
	const char **v = mavis_arena_calloc(a, n + 1, sizeof(*v));
	size_t k = 0;
	for (const char *p = s; *p;) {
		const char *c = strchr(p, ':');
		size_t l = c ? (size_t)(c - p) : strlen(p);

		if (l)
			v[k++] = mavis_arena_strndup(a, p, l);
		p += l + (c != NULL);
	}
	v[k] = NULL;
	return v;
}

DKIM_LIB *
dkim_engine_sign_lib(struct dkim_engine *e, const char *h, const char *oversign, long ttl)
{
	char *key;
	DKIM_LIB *lib = NULL;
	size_t kl = strlen(h) + strlen(oversign) + 32;

	key = mavis_xcalloc(1, kl);
	snprintf(key, kl, "%s|%s|%ld", h, oversign, ttl);
	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < e->nsign; i++)
		if (strcmp(e->sign[i].key, key) == 0) {
			lib = e->sign[i].lib;
			break;
		}
	if (lib == NULL && e->nsign < SIGN_LIBS_MAX) {
		struct mavis_arena *a = mavis_arena_new(1024);

		lib = lib_new();
		if (lib != NULL) {
			const char **hv = colon_list(h, a), **ov = colon_list(oversign, a);
			uint64_t t = (uint64_t)ttl;

			if (*h)
				dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, hv, sizeof(hv));
			if (*oversign)
				dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS, ov, sizeof(ov));
			if (ttl > 0)
				dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNATURETTL, &t, sizeof(t));
			if (e->nsign == 0)
				e->sign = mavis_xcalloc(SIGN_LIBS_MAX, sizeof(*e->sign));
			e->sign[e->nsign].lib = lib;
			e->sign[e->nsign].key = key;
			/* the lists stay for the library's life */
			e->sign[e->nsign].arena = a;
			a = NULL;
			key = NULL;
			e->nsign++;
		}
		mavis_arena_free(&a);
	}
	pthread_mutex_unlock(&e->lock);
	free(key);
	return lib;
}
