/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sign.c - signing options and the signature of a finished message */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mavis/buf.h>

#include "dkim_engine.h"

/* RFC 6376 section 5.4.1's fields, without Sender, To and Cc (as amavisd:
   mailing lists and forwarders rewrite them), with the MIME fields; From,
   Subject, Date, Content-Type and the MIME version oversigned, so that a
   copy with another one added does not verify. */
#define DEFAULT_H "From:Reply-To:Subject:Date:Message-ID:In-Reply-To:References:" \
	"MIME-Version:Content-Type:Content-Transfer-Encoding:Content-ID:Content-Description:" \
	"Resent-Date:Resent-From:Resent-Sender:Resent-Message-ID:List-Id:List-Help:" \
	"List-Unsubscribe:List-Subscribe:List-Post:List-Owner:List-Archive"
#define DEFAULT_OVERSIGN "From:Subject:Date:MIME-Version:Content-Type"

/* "30d", "12h", "600" -> seconds; -1 when malformed. */
static long
parse_ttl(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || v < 0)
		return -1;
	switch (*end) {
	case '\0': case 's': break;
	case 'm': v *= 60; break;
	case 'h': v *= 3600; break;
	case 'd': v *= 86400; break;
	case 'w': v *= 7 * 86400; break;
	default: return -1;
	}
	if (*end && end[1])
		return -1;
	return v;
}

static int
parse_canon(const char *s, size_t n, int *c)
{
	if (n == 6 && strncasecmp(s, "simple", 6) == 0)
		*c = DKIM_CANON_SIMPLE;
	else if (n == 7 && strncasecmp(s, "relaxed", 7) == 0)
		*c = DKIM_CANON_RELAXED;
	else
		return -1;
	return 0;
}

int
dkim_sign_opts_parse(const char *s, struct dkim_sign_opts *o, struct mavis_arena *a,
		     struct mavis_error *err)
{
	o->hdr_canon = DKIM_CANON_RELAXED;
	o->body_canon = DKIM_CANON_SIMPLE;
	o->h = o->oversign = o->d = o->i = NULL;
	o->ttl = 0;
	for (const char *p = s ? s : ""; *p;) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		if (*p == '\0')
			break;
		const char *semi = strchr(p, ';');
		size_t len = semi ? (size_t)(semi - p) : strlen(p);
		char *item = mavis_arena_strndup(a, p, len), *eq = strchr(item, '=');
		p += len;
		if (eq == NULL)
			return mavis_error_set(err, MAVIS_ERR_CONFIG, "signing option \"%s\": want tag=value",
					       item);
		*eq = '\0';
		char *name = item, *val = eq + 1;
		for (char *q = eq - 1; q >= name && (*q == ' ' || *q == '\t'); q--)
			*q = '\0';
		while (*val == ' ' || *val == '\t')
			val++;
		for (char *q = val + strlen(val); q > val && (q[-1] == ' ' || q[-1] == '\t');)
			*--q = '\0';
		if (strcasecmp(name, "c") == 0) {
			const char *slash = strchr(val, '/');
			size_t hl = slash ? (size_t)(slash - val) : strlen(val);

			if (parse_canon(val, hl, &o->hdr_canon) < 0 ||
			    (slash ? parse_canon(slash + 1, strlen(slash + 1), &o->body_canon) < 0
				   : (o->body_canon = DKIM_CANON_SIMPLE, 0)))
				return mavis_error_set(err, MAVIS_ERR_CONFIG,
						       "signing option c=%s: want simple|relaxed[/simple|relaxed]", val);
		} else if (strcasecmp(name, "h") == 0) {
			o->h = val;
		} else if (strcasecmp(name, "oversign") == 0) {
			o->oversign = val;
		} else if (strcasecmp(name, "ttl") == 0 || strcasecmp(name, "x") == 0) {
			o->ttl = parse_ttl(val);
			if (o->ttl < 0)
				return mavis_error_set(err, MAVIS_ERR_CONFIG,
						       "signing option %s=%s: want a time (30d)", name, val);
		} else if (strcasecmp(name, "d") == 0) {
			o->d = val;
		} else if (strcasecmp(name, "i") == 0) {
			o->i = val;
		} else if (strcasecmp(name, "a") == 0) {
			/* the key's type decides; a= is accepted when it agrees */
			if (strcasecmp(val, "rsa-sha256") != 0 && strcasecmp(val, "ed25519-sha256") != 0)
				return mavis_error_set(err, MAVIS_ERR_CONFIG,
						       "signing option a=%s: rsa-sha256 or ed25519-sha256", val);
		} else {
			return mavis_error_set(err, MAVIS_ERR_CONFIG,
					       "signing option %s: unknown (c, h, oversign, ttl, d, i, a)", name);
		}
	}
	return 0;
}

/* Is name in colon list l (case-insensitive)? */
static bool
in_list(const char *l, const char *name, size_t nl)
{
	for (const char *p = l; *p;) {
		const char *c = strchr(p, ':');
		size_t n = c ? (size_t)(c - p) : strlen(p);

		if (n == nl && strncasecmp(p, name, n) == 0)
			return true;
		p += n + (c != NULL);
	}
	return false;
}

/* h with every oversigned name added: libopendkim hashes an oversigned
   name that is not also in the signed list as absent, while a verifier
   hashes the field that is there, and the signature fails. */
static const char *
signed_list(const char *h, const char *over, struct mavis_arena *a)
{
	struct mavis_buf b = { 0 };
	const char *out;

	mavis_buf_puts(&b, h);
	for (const char *p = over; *p;) {
		const char *c = strchr(p, ':');
		size_t n = c ? (size_t)(c - p) : strlen(p);

		if (n && !in_list(h, p, n)) {
			if (b.len)
				mavis_buf_putc(&b, ':');
			mavis_buf_append(&b, p, n);
		}
		p += n + (c != NULL);
	}
	out = mavis_arena_strdup(a, mavis_buf_str(&b));
	mavis_buf_free(&b);
	return out;
}

int
dkim_sign_message(struct dkim_engine *e, const struct dkim_key *k, const char *domain,
		  const struct dkim_sign_opts *o, const struct dkim_field *fields, size_t nfields,
		  const void *body, size_t bodylen, const char *log_id, struct mavis_arena *a,
		  const char **value_out, struct mavis_error *err)
{
	const char *over = o->oversign ? o->oversign : DEFAULT_OVERSIGN;
	DKIM_LIB *lib = dkim_engine_sign_lib(e, signed_list(o->h ? o->h : DEFAULT_H, over, a), over,
					     o->ttl);
	DKIM_STAT st = DKIM_STAT_OK;
	struct mavis_buf line = { 0 };
	unsigned char *sig = NULL;
	size_t siglen = 0;
	DKIM *d;
	int rc = 0;

	if (lib == NULL)
		return mavis_error_set(err, MAVIS_ERR_RESOURCE, "dkim: no signing library");
	if (k->info.alg == MAVIS_DKIM_ED25519_SHA256 && o->hdr_canon == DKIM_CANON_SIMPLE)
		/* Debian 12's libopendkim makes invalid ed25519 signatures with
		   simple header canonicalisation (amavisd-sql-dkim.md) */
		return mavis_error_set(err, MAVIS_ERR_CONFIG,
				       "dkim: ed25519 needs relaxed header canonicalisation");
	d = dkim_sign(lib, (const unsigned char *)(log_id ? log_id : "-"), NULL,
		      (dkim_sigkey_t)k->pem, (const unsigned char *)k->info.selector,
		      (const unsigned char *)domain, o->hdr_canon, o->body_canon,
		      k->info.alg == MAVIS_DKIM_ED25519_SHA256 ? DKIM_SIGN_ED25519SHA256
							      : DKIM_SIGN_RSASHA256,
		      -1, &st);
	if (d == NULL)
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "dkim: cannot sign: %s",
				       dkim_getresultstr(st));
	if (o->i && dkim_set_signer(d, (const unsigned char *)o->i) != DKIM_STAT_OK)
		rc = mavis_error_set(err, MAVIS_ERR_CONFIG, "dkim: bad i=%s", o->i);
	for (size_t i = 0; rc == 0 && i < nfields; i++) {
		mavis_buf_reset(&line);
		mavis_buf_puts(&line, fields[i].name);
		mavis_buf_putc(&line, ':');
		/* the MTA writes folds as CRLF */
		for (const char *p = fields[i].value; *p; p++) {
			if (*p == '\n' && (p == fields[i].value || p[-1] != '\r'))
				mavis_buf_putc(&line, '\r');
			mavis_buf_putc(&line, *p);
		}
		st = dkim_header(d, (u_char *)line.data, line.len);
		if (st != DKIM_STAT_OK)
			rc = mavis_error_set(err, MAVIS_ERR_INTERNAL, "dkim: header %s: %s", fields[i].name,
					     dkim_getresultstr(st));
	}
	if (rc == 0 && (st = dkim_eoh(d)) != DKIM_STAT_OK)
		rc = mavis_error_set(err, MAVIS_ERR_INTERNAL, "dkim: eoh: %s", dkim_getresultstr(st));
	if (rc == 0 && bodylen > 0 &&
	    (st = dkim_body(d, (u_char *)(uintptr_t)body, bodylen)) != DKIM_STAT_OK)
		rc = mavis_error_set(err, MAVIS_ERR_INTERNAL, "dkim: body: %s", dkim_getresultstr(st));
	if (rc == 0 && (st = dkim_eom(d, NULL)) != DKIM_STAT_OK)
		rc = mavis_error_set(err, MAVIS_ERR_INTERNAL, "dkim: eom: %s (%s)", dkim_getresultstr(st),
				     dkim_geterror(d) ? dkim_geterror(d) : "");
	if (rc == 0 &&
	    (st = dkim_getsighdr_d(d, strlen("DKIM-Signature: "), &sig, &siglen)) != DKIM_STAT_OK)
		rc = mavis_error_set(err, MAVIS_ERR_INTERNAL, "dkim: signature: %s",
				     dkim_getresultstr(st));
	if (rc == 0) {
		/* folds as LF + TAB, as the other fields we add (the milter
		   hands them to the MTA like that) */
		mavis_buf_reset(&line);
		mavis_buf_putc(&line, ' ');
		for (size_t i = 0; i < siglen; i++)
			if (sig[i] != '\r')
				mavis_buf_putc(&line, (char)sig[i]);
		*value_out = mavis_arena_strdup(a, mavis_buf_str(&line));
	}
	mavis_buf_free(&line);
	dkim_free(d);
	return rc;
}
