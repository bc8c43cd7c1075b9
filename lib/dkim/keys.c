/* SPDX-License-Identifier: GPL-2.0-or-later */
/* keys.c - the signing keys of dkim_key, their DNS records, new keys */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <mavis/alloc.h>
#include <mavis/buf.h>

#include "dkim_int.h"

#define KEY_FILE_MAX (64 * 1024)

/* "v=DKIM1; k=...; p=..." for pkey: RSA publishes its SubjectPublicKeyInfo,
   Ed25519 the bare 32-byte key (RFC 8463 section 4.2). */
static char *
txt_of(EVP_PKEY *pkey, enum mavis_dkim_alg alg)
{
	unsigned char raw[8192], *p = raw;
	size_t n = sizeof(raw);
	int len;
	char *b64, *out;

	if (alg == MAVIS_DKIM_ED25519_SHA256) {
		if (EVP_PKEY_get_raw_public_key(pkey, raw, &n) != 1)
			return NULL;
	} else {
		len = i2d_PUBKEY(pkey, NULL);
		if (len <= 0 || (size_t)len > sizeof(raw))
			return NULL;
		n = (size_t)i2d_PUBKEY(pkey, &p);
	}
	b64 = mavis_xcalloc(1, 4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)b64, raw, (int)n);
	out = mavis_xcalloc(1, strlen(b64) + 40);
	sprintf(out, "v=DKIM1; k=%s; p=%s", alg == MAVIS_DKIM_ED25519_SHA256 ? "ed25519" : "rsa", b64);
	free(b64);
	return out;
}

/* Read and check one key file. */
static int
key_load(struct dkim_key *k, struct mavis_error *err)
{
	FILE *f = fopen(k->info.path, "r");
	EVP_PKEY *pkey;
	size_t n;

	if (f == NULL)
		return mavis_error_set(err, MAVIS_ERR_IO, "dkim_key %s: %s", k->info.path,
				       strerror(errno));
	k->pem = mavis_xcalloc(1, KEY_FILE_MAX + 1);
	n = fread(k->pem, 1, KEY_FILE_MAX + 1, f);
	fclose(f);
	if (n > KEY_FILE_MAX)
		return mavis_error_set(err, MAVIS_ERR_LIMIT, "dkim_key %s: larger than %d bytes",
				       k->info.path, KEY_FILE_MAX);
	k->pem[n] = '\0';
	k->pemlen = n;
	BIO *bio = BIO_new_mem_buf(k->pem, (int)n);
	pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (pkey == NULL)
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "dkim_key %s: no PEM private key",
				       k->info.path);
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		k->info.alg = MAVIS_DKIM_RSA_SHA256;
		k->info.bits = (unsigned)EVP_PKEY_get_bits(pkey);
		break;
	case EVP_PKEY_ED25519:
		k->info.alg = MAVIS_DKIM_ED25519_SHA256;
		k->info.bits = 256;
		break;
	default:
		EVP_PKEY_free(pkey);
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "dkim_key %s: neither RSA nor Ed25519",
				       k->info.path);
	}
	if (k->info.alg == MAVIS_DKIM_RSA_SHA256 && k->info.bits < 1024) {
		EVP_PKEY_free(pkey);
		return mavis_error_set(err, MAVIS_ERR_CONFIG,
				       "dkim_key %s: %u-bit RSA key, at least 1024 needed", k->info.path,
				       k->info.bits);
	}
	k->txt = txt_of(pkey, k->info.alg);
	k->info.txt = k->txt;
	EVP_PKEY_free(pkey);
	if (k->txt == NULL)
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "dkim_key %s: no public key",
				       k->info.path);
	return 0;
}

int
mavis_dkim_keys_load(const struct mavis_config *cfg, struct mavis_dkim_keys **out,
		     struct mavis_error *err)
{
	const struct mavis_value *v = mavis_config_get(cfg, MAVIS_KEY_DKIM_KEY);
	struct mavis_dkim_keys *ks;

	*out = NULL;
	if (v->u.list.n == 0)
		return 0;
	if (v->u.list.n % 3 != 0)
		return mavis_error_set(err, MAVIS_ERR_CONFIG,
				       "dkim_key: want DOMAIN SELECTOR PEMFILE (three words per key)");
	ks = mavis_xcalloc(1, sizeof(*ks));
	ks->n = v->u.list.n / 3;
	ks->v = mavis_xcalloc(ks->n, sizeof(*ks->v));
	for (size_t i = 0; i < ks->n; i++) {
		struct dkim_key *k = &ks->v[i];
		int rc;

		k->info.domain = v->u.list.v[3 * i];
		k->info.selector = v->u.list.v[3 * i + 1];
		k->info.path = v->u.list.v[3 * i + 2];
		rc = key_load(k, err);
		if (rc < 0) {
			mavis_dkim_keys_free(&ks);
			return rc;
		}
	}
	*out = ks;
	return 0;
}

void
mavis_dkim_keys_free(struct mavis_dkim_keys **pks)
{
	struct mavis_dkim_keys *ks = *pks;

	if (ks == NULL)
		return;
	*pks = NULL;
	for (size_t i = 0; i < ks->n; i++) {
		if (ks->v[i].pem)
			explicit_bzero(ks->v[i].pem, ks->v[i].pemlen);
		free(ks->v[i].pem);
		free(ks->v[i].txt);
	}
	free(ks->v);
	free(ks);
}

size_t
mavis_dkim_keys_count(const struct mavis_dkim_keys *ks)
{
	return ks ? ks->n : 0;
}

const struct mavis_dkim_key_info *
mavis_dkim_key_at(const struct mavis_dkim_keys *ks, size_t i)
{
	return ks && i < ks->n ? &ks->v[i].info : NULL;
}

const struct dkim_key *
dkim_key_for(const struct mavis_dkim_keys *ks, const char *domain)
{
	if (ks == NULL || domain == NULL || *domain == '\0')
		return NULL;
	/* "example.com" for that domain only; ".example.com" for it and every
	   domain below it; the nearest one wins */
	for (const char *d = domain; d != NULL; d = strchr(d + 1, '.')) {
		const char *name = *d == '.' ? d + 1 : d;

		for (size_t i = 0; i < ks->n; i++) {
			const char *kd = ks->v[i].info.domain;

			if (d == domain && strcasecmp(kd, name) == 0)
				return &ks->v[i];
			if (kd[0] == '.' && strcasecmp(kd + 1, name) == 0)
				return &ks->v[i];
		}
	}
	return NULL;
}

int
mavis_dkim_genkey(const char *path, enum mavis_dkim_alg alg, unsigned bits,
		  struct mavis_arena *a, const char **txt_out, struct mavis_error *err)
{
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *ctx;
	int fd, rc = 0;
	FILE *f;
	char *txt;

	if (alg == MAVIS_DKIM_RSA_SHA256 && (bits < 1024 || bits > 8192))
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "RSA key size %u: want 1024 to 8192", bits);
	ctx = EVP_PKEY_CTX_new_id(alg == MAVIS_DKIM_ED25519_SHA256 ? EVP_PKEY_ED25519 : EVP_PKEY_RSA,
				  NULL);
	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 ||
	    (alg == MAVIS_DKIM_RSA_SHA256 && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) != 1) ||
	    EVP_PKEY_keygen(ctx, &pkey) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "key generation failed");
	}
	EVP_PKEY_CTX_free(ctx);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0) {
		EVP_PKEY_free(pkey);
		return mavis_error_set(err, MAVIS_ERR_IO, "%s: %s", path, strerror(errno));
	}
	f = fdopen(fd, "w");
	if (f == NULL || PEM_write_PKCS8PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) != 1)
		rc = mavis_error_set(err, MAVIS_ERR_IO, "%s: cannot write the key", path);
	if (f ? fclose(f) != 0 : close(fd) != 0)
		rc = rc ? rc : mavis_error_set(err, MAVIS_ERR_IO, "%s: %s", path, strerror(errno));
	if (rc < 0) {
		unlink(path);
		EVP_PKEY_free(pkey);
		return rc;
	}
	txt = txt_of(pkey, alg);
	EVP_PKEY_free(pkey);
	if (txt == NULL)
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "no public key");
	*txt_out = mavis_arena_strdup(a, txt);
	free(txt);
	return 0;
}

/* The value of tag name in a tag list "a=b; c=d" (white space removed),
   into buf; NULL when absent. */
static const char *
tag_value(const char *txt, const char *name, char *buf, size_t size)
{
	size_t nl = strlen(name);
	const char *p = txt;

	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		const char *eq = strchr(p, '=');
		const char *semi = strchr(p, ';');

		if (eq == NULL)
			return NULL;
		if (semi && semi < eq) {
			p = semi;
			continue;
		}
		const char *n_end = eq;
		while (n_end > p && (n_end[-1] == ' ' || n_end[-1] == '\t'))
			n_end--;
		const char *vend = semi ? semi : eq + strlen(eq);
		if ((size_t)(n_end - p) == nl && strncasecmp(p, name, nl) == 0) {
			size_t o = 0;

			for (const char *q = eq + 1; q < vend; q++)
				if (*q != ' ' && *q != '\t' && *q != '\r' && *q != '\n' && o + 1 < size)
					buf[o++] = *q;
			buf[o] = '\0';
			return buf;
		}
		p = vend;
	}
	return NULL;
}

int
mavis_dkim_txt_matches(const struct mavis_dkim_key_info *k, const char *txt,
		       struct mavis_error *err)
{
	char want[8192], got[8192], kt[32];

	if (tag_value(txt, "p", got, sizeof(got)) == NULL)
		return mavis_error_set(err, MAVIS_ERR_PARSE, "no p= tag: not a DKIM key record");
	if (tag_value(k->txt, "p", want, sizeof(want)) == NULL)
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "our record has no p=");
	const char *t = tag_value(txt, "k", kt, sizeof(kt));
	const char *wk = k->alg == MAVIS_DKIM_ED25519_SHA256 ? "ed25519" : "rsa";
	if (strcasecmp(t ? t : "rsa", wk) != 0) {
		mavis_error_set(err, MAVIS_ERR_NOTFOUND, "k=%s published, the key is %s", t ? t : "rsa",
				wk);
		return 0;
	}
	if (got[0] == '\0') {
		mavis_error_set(err, MAVIS_ERR_NOTFOUND, "the key is revoked (empty p=)");
		return 0;
	}
	if (strcmp(got, want) != 0) {
		mavis_error_set(err, MAVIS_ERR_NOTFOUND, "p= is another public key");
		return 0;
	}
	return 1;
}
