/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dkim_int.h - DKIM internals shared by lib/dkim, lib/checks and lib/pipeline */
#ifndef MAVIS_DKIM_INT_H
#define MAVIS_DKIM_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <mavis/arena.h>
#include <mavis/config.h>
#include <mavis/dkim.h>
#include <mavis/headers.h>

struct dkim_key {
	struct mavis_dkim_key_info info;
	char *pem;		/* the file's text, for libopendkim */
	size_t pemlen;
	char *txt;
};

struct mavis_dkim_keys {
	struct dkim_key *v;
	size_t n;
};

/* The key for signing mail of domain (the domain or a parent's
   ".domain" entry), or NULL. */
const struct dkim_key *dkim_key_for(const struct mavis_dkim_keys *ks, const char *domain);

/* dns.c: the records of type in the answer section of the DNS message
   ans (anslen bytes), at most DNS_RRS_MAX, their data in a: addresses as
   their bytes, names uncompressed, TXT strings joined (a NUL inside
   becomes a space: the users read C strings). Returns the count (with
   *ttl the smallest TTL), or MAVIS_ERR_PARSE. rrs has DNS_RRS_MAX slots. */
#define DNS_RRS_MAX 64
int dns_answer_parse(const unsigned char *ans, int anslen, int type, struct mavis_arena *a,
		     struct mavis_dns_rr *rrs, unsigned *ttl);

/* Process-wide DKIM state of one engine state: the verifying library
   handle, the resolver, the keys, the signing library handles by option
   set. Thread-safe; built at start and reload. */
struct dkim_engine;

/* Build from cfg (dns_servers, dns_timeout, dns_cache_size,
   dkim_max_signatures, dkim_key). */
int dkim_engine_new(const struct mavis_config *cfg, struct dkim_engine **out,
		    struct mavis_error *err);
void dkim_engine_free(struct dkim_engine **e);
const struct mavis_dkim_keys *dkim_engine_keys(const struct dkim_engine *e);
struct mavis_dns *dkim_engine_dns(struct dkim_engine *e);

/* One signature's result. */
enum dkim_result { DKIM_R_PASS, DKIM_R_FAIL, DKIM_R_NEUTRAL, DKIM_R_TEMPERROR, DKIM_R_PERMERROR };
const char *dkim_result_name(enum dkim_result r);

struct dkim_sig_result {
	enum dkim_result result;
	const char *domain;	/* d= */
	const char *selector;	/* s= */
	const char *identity;	/* i=, or NULL */
	const char *alg;	/* "rsa-sha256", "ed25519-sha256", "rsa-sha1" */
	const char *b;		/* b= without white space, or "" */
	const char *reason;	/* why not pass, or NULL */
	unsigned bits;		/* key size, 0 unknown */
};

struct dkim_verify_result {
	struct dkim_sig_result *sigs;
	size_t n;
	size_t ignored;		/* signatures past dkim_max_signatures */
};

/* A verification fed as the message streams in: every header field as
   received, then the end of the header section (the key lookups happen
   there), then the body chunks. Memory of results from arena. */
struct dkim_verify;

struct dkim_verify *dkim_verify_new(struct dkim_engine *e, const char *log_id, unsigned max_sigs,
				    struct mavis_arena *arena);
void dkim_verify_header(struct dkim_verify *v, const char *name, size_t nlen, const char *value,
			size_t vlen);
void dkim_verify_eoh(struct dkim_verify *v);
void dkim_verify_body(struct dkim_verify *v, const void *data, size_t len);
/* End of message: the results (NULL when the message had no signature
   the library could read). */
const struct dkim_verify_result *dkim_verify_finish(struct dkim_verify *v);
void dkim_verify_free(struct dkim_verify **v);

/* The Authentication-Results value (leading space included) for the
   results, authserv-id first; NULL when there is no result. */
const char *dkim_authres_value(const struct dkim_verify_result *r, const char *servid,
			       struct mavis_arena *a);

/* Signing options of a message (dkim_signature_options_maps). */
struct dkim_sign_opts {
	int hdr_canon, body_canon;	/* DKIM_CANON_* */
	const char *h;		/* colon list of fields to sign, NULL = default */
	const char *oversign;	/* colon list signed once more than present, NULL = default */
	long ttl;		/* x= t + ttl, 0 = no x= */
	const char *d;		/* signing domain override, NULL = the key's */
	const char *i;		/* i=, NULL = none */
};

/* Parse an options value "c=relaxed/simple; h=From:To; ttl=30d; ...".
   Returns 0 or MAVIS_ERR_CONFIG (text in err). */
int dkim_sign_opts_parse(const char *s, struct dkim_sign_opts *o, struct mavis_arena *a,
			 struct mavis_error *err);

/* Sign the message made of the fields (name, value as they will be
   delivered; value with its leading space) and body, with key k for
   domain d. *value_out gets the DKIM-Signature value (leading space, folded
   with CRLF TAB). Returns 0 or a negative status. */
struct dkim_field {
	const char *name, *value;
};
int dkim_sign_message(struct dkim_engine *e, const struct dkim_key *k, const char *domain,
		      const struct dkim_sign_opts *o, const struct dkim_field *fields,
		      size_t nfields, const void *body, size_t bodylen, const char *log_id,
		      struct mavis_arena *a, const char **value_out, struct mavis_error *err);

#endif
