/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_DKIM_H
#define MAVIS_DKIM_H

#include <mavis/api.h>

/*
 * DKIM (RFC 6376, RFC 8463) on libopendkim: a TXT resolver with its own
 * servers, timeout and a bounded cache; the signing keys of the config;
 * verification fed as the message streams in; signing of a finished
 * header section and body. rsa-sha256 and ed25519-sha256 (Debian 12's
 * libopendkim has both; rsa-sha1 is verified but never used to sign).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mavis/arena.h>
#include <mavis/config.h>
#include <mavis/error.h>

/* ---- the resolver ---- */
struct mavis_dns;

#define MAVIS_DNS_MAX_SERVERS 3
#define MAVIS_DNS_TXT_MAX 4096	/* longest TXT answer kept (all strings joined) */

/* servers: "ADDR" or "ADDR:PORT" (IPv4; port 53 by default), n of them
   (at most MAVIS_DNS_MAX_SERVERS; 0 = /etc/resolv.conf). timeout_s is the
   time one lookup may take in all; cache_size entries at most (0 = none).
   Returns 0 or MAVIS_ERR_CONFIG for a bad server. */
MAVIS_API int mavis_dns_new(const char *const *servers, size_t n, unsigned timeout_s,
			    size_t cache_size, struct mavis_dns **out, struct mavis_error *err);
MAVIS_API void mavis_dns_free(struct mavis_dns **dns);
/* The TXT record of name (its strings joined), from the cache or the
   servers. Returns 1 with buf filled (NUL-terminated), 0 when the name or
   its TXT record does not exist, MAVIS_ERR_IO on a timeout or server
   failure (never cached), MAVIS_ERR_LIMIT when the record does not fit. */
MAVIS_API int mavis_dns_txt(struct mavis_dns *dns, const char *name, char *buf, size_t size,
			    struct mavis_error *err);
/* One record of an answer: A and AAAA as their 4 or 16 address bytes, MX
   (the exchange), PTR and CNAME as the name, TXT as its strings joined (a
   NUL byte inside reads as a space). data is NUL-terminated after len. */
struct mavis_dns_rr {
	int type;		/* ns_t_a, ns_t_aaaa, ns_t_mx, ns_t_ptr, ns_t_txt, ns_t_cname */
	const unsigned char *data;
	size_t len;
};
/* The records of type (one of the above) for name, from the cache or the
   servers, in a (at most 64). Returns 1 with *rrs and *n (n > 0), 0 when
   the name or its records of that type do not exist, MAVIS_ERR_IO on a
   timeout, server failure or malformed answer (never cached), MAVIS_ERR_LIMIT
   for a name over 255 bytes. */
MAVIS_API int mavis_dns_query(struct mavis_dns *dns, const char *name, int type,
			      struct mavis_arena *a, struct mavis_dns_rr **rrs, size_t *n,
			      struct mavis_error *err);
/* Lookups answered from the cache and from the servers so far. */
MAVIS_API void mavis_dns_stats(const struct mavis_dns *dns, unsigned long *hits,
			       unsigned long *misses);

/* ---- the authserv-id of an Authentication-Results field (RFC 8601) ---- */
/* The authserv-id of field value v (comments and white space skipped,
   quoted strings undone) into buf. Returns 0, or MAVIS_ERR_PARSE when v has
   none (amavisd deletes such fields too). Bounded by len. */
MAVIS_API int mavis_authres_servid(const char *v, size_t len, char *buf, size_t size);

/* ---- keys ---- */
struct mavis_dkim_keys;

enum mavis_dkim_alg { MAVIS_DKIM_RSA_SHA256, MAVIS_DKIM_ED25519_SHA256 };

struct mavis_dkim_key_info {
	const char *domain;	/* "example.com", ".example.com" also signs its subdomains */
	const char *selector;
	const char *path;
	enum mavis_dkim_alg alg;	/* by the key's type */
	unsigned bits;		/* RSA modulus bits; 256 for ed25519 */
	const char *txt;	/* the DNS TXT record value: "v=DKIM1; k=rsa; p=..." */
};

/* Read the keys of the dkim_key list (DOMAIN SELECTOR PEMFILE triples).
   Returns 0 (*out NULL when the list is empty), or an error naming the
   file (unreadable, no private key, not RSA or Ed25519, RSA under 1024
   bits). */
MAVIS_API int mavis_dkim_keys_load(const struct mavis_config *cfg, struct mavis_dkim_keys **out,
				   struct mavis_error *err);
/* What start and reload refuse in the DKIM settings: keys that do not
   load, bad dkim_signature_options, Ed25519 keys with simple header canonicalisation (see
   README). Returns 0 or the error. */
MAVIS_API int mavis_dkim_check_config(const struct mavis_config *cfg, struct mavis_error *err);
MAVIS_API void mavis_dkim_keys_free(struct mavis_dkim_keys **keys);
MAVIS_API size_t mavis_dkim_keys_count(const struct mavis_dkim_keys *keys);
/* Key i (0-based, in config order), valid as long as keys. */
MAVIS_API const struct mavis_dkim_key_info *mavis_dkim_key_at(const struct mavis_dkim_keys *keys,
							      size_t i);

/* Make a new private key: rsa with bits (1024..8192) or ed25519 (bits
   ignored), written to path (PKCS#8 PEM, mode 0640, not over an existing
   file). *txt_out gets the TXT record value (arena memory). */
MAVIS_API int mavis_dkim_genkey(const char *path, enum mavis_dkim_alg alg, unsigned bits,
				struct mavis_arena *a, const char **txt_out, struct mavis_error *err);
/* Does TXT record value txt publish the public half of key k? 1 yes, 0 no
   (the text says why in err), MAVIS_ERR_PARSE when txt is no key record. */
MAVIS_API int mavis_dkim_txt_matches(const struct mavis_dkim_key_info *k, const char *txt,
				     struct mavis_error *err);

#endif
