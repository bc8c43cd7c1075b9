/* SPDX-License-Identifier: GPL-2.0-or-later */
/* verify.c - DKIM verification fed as the message streams in; the A-R value */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mavis/alloc.h>
#include <mavis/buf.h>
#include <mavis/log.h>

#include "dkim_engine.h"

struct dkim_verify {
	struct dkim_engine *e;
	DKIM *dkim;		/* NULL once there is nothing more to verify */
	struct mavis_arena *arena;
	const char *log_id;
	unsigned max_sigs, nsigs;
	size_t ignored;
	bool failed;		/* libopendkim refused the input: no results */
	bool keyfail;		/* a key lookup failed for now (DNS) */
	struct mavis_buf line;
	struct dkim_verify_result res;
	bool finished;
};

const char *
dkim_result_name(enum dkim_result r)
{
	switch (r) {
	case DKIM_R_PASS: return "pass";
	case DKIM_R_FAIL: return "fail";
	case DKIM_R_NEUTRAL: return "neutral";
	case DKIM_R_TEMPERROR: return "temperror";
	case DKIM_R_PERMERROR: return "permerror";
	}
	return "permerror";
}

struct dkim_verify *
dkim_verify_new(struct dkim_engine *e, const char *log_id, unsigned max_sigs,
		struct mavis_arena *arena)
{
	struct dkim_verify *v = mavis_xcalloc(1, sizeof(*v));
	DKIM_STAT st = DKIM_STAT_OK;

	v->e = e;
	v->arena = arena;
	v->log_id = mavis_arena_strdup(arena, log_id ? log_id : "-");
	v->max_sigs = max_sigs;
	v->dkim = dkim_verify(e->verify_lib, (const unsigned char *)v->log_id, NULL, &st);
	if (v->dkim == NULL) {
		mavis_log_warn(log_id, "dkim: cannot start verification: %s", dkim_getresultstr(st));
		v->failed = true;
	} else {
		dkim_set_user_context(v->dkim, e);
	}
	return v;
}

void
dkim_verify_free(struct dkim_verify **pv)
{
	struct dkim_verify *v = *pv;

	if (v == NULL)
		return;
	*pv = NULL;
	if (v->dkim)
		dkim_free(v->dkim);
	mavis_buf_free(&v->line);
	free(v);
}

/* Stop feeding: libopendkim has no more use for the message (what it
   read of the signatures is still reported at the end). */
static void
verify_stop(struct dkim_verify *v, DKIM_STAT st, const char *where)
{
	if (st != DKIM_STAT_NOSIG)
		mavis_log_info(v->log_id, "dkim: %s: %s", where, dkim_getresultstr(st));
	v->finished = true;
}

void
dkim_verify_header(struct dkim_verify *v, const char *name, size_t nlen, const char *value,
		   size_t vlen)
{
	DKIM_STAT st;

	if (v == NULL || v->dkim == NULL || v->finished)
		return;
	/* libopendkim reads fields as C strings in places (a NUL in one
	   overruns its buffers, found by fuzz/fuzz_dkim.c): such a message is
	   not verified at all. A milter never hands over a NUL; a raw file can. */
	if (memchr(name, '\0', nlen) != NULL || memchr(value, '\0', vlen) != NULL) {
		mavis_log_info(v->log_id, "dkim: NUL byte in a header field: not verified");
		v->failed = true;
		v->finished = true;
		return;
	}
	if (nlen == 14 && strncasecmp(name, "DKIM-Signature", 14) == 0) {
		/* dkim_max_signatures: the ones past it are not looked at (no
		   key lookups for a message that carries hundreds) */
		if (v->nsigs >= v->max_sigs) {
			v->ignored++;
			return;
		}
		v->nsigs++;
	}
	mavis_buf_reset(&v->line);
	mavis_buf_append(&v->line, name, nlen);
	mavis_buf_putc(&v->line, ':');
	/* Postfix hands folded values over with LF alone; on the wire (and in
	   every signer's canonical form) the line ends are CRLF */
	for (size_t i = 0; i < vlen; i++) {
		if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r'))
			mavis_buf_putc(&v->line, '\r');
		mavis_buf_putc(&v->line, value[i]);
	}
	st = dkim_header(v->dkim, (u_char *)v->line.data, v->line.len);
	if (st != DKIM_STAT_OK)
		verify_stop(v, st, "header");
}

void
dkim_verify_eoh(struct dkim_verify *v)
{
	DKIM_STAT st;

	if (v == NULL || v->dkim == NULL || v->finished)
		return;
	/* the key lookups happen here */
	st = dkim_eoh(v->dkim);
	if (st == DKIM_STAT_KEYFAIL || st == DKIM_STAT_CBTRYAGAIN)
		v->keyfail = true;
	if (st == DKIM_STAT_NOSIG) {
		verify_stop(v, st, "eoh");
	} else if (st != DKIM_STAT_OK && st != DKIM_STAT_CANTVRFY && st != DKIM_STAT_BADSIG) {
		verify_stop(v, st, "eoh");
	}
}

void
dkim_verify_body(struct dkim_verify *v, const void *data, size_t len)
{
	DKIM_STAT st;

	if (v == NULL || v->dkim == NULL || v->finished || len == 0)
		return;
	st = dkim_body(v->dkim, (u_char *)(uintptr_t)data, len);
	if (st != DKIM_STAT_OK)
		verify_stop(v, st, "body");
}

static enum dkim_result
sig_result(DKIM_SIGINFO *sig, bool keyfail, const char **reason)
{
	int e = dkim_sig_geterror(sig);
	bool processed = (dkim_sig_getflags(sig) & DKIM_SIGFLAG_PROCESSED) != 0;

	/* libopendkim stops at a key lookup that failed for now: the
	   signatures it did not get to are temporary errors too */
	if (keyfail && (e == DKIM_SIGERROR_UNKNOWN || e == DKIM_SIGERROR_KEYFAIL ||
			(e == DKIM_SIGERROR_OK && !processed))) {
		*reason = "key lookup failed";
		return DKIM_R_TEMPERROR;
	}

	*reason = NULL;
	if ((dkim_sig_getflags(sig) & DKIM_SIGFLAG_PASSED) != 0 &&
	    dkim_sig_getbh(sig) == DKIM_SIGBH_MATCH)
		return DKIM_R_PASS;
	if (e == DKIM_SIGERROR_OK && dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH) {
		*reason = "body hash mismatch";
		return DKIM_R_FAIL;
	}
	*reason = e != DKIM_SIGERROR_OK ? dkim_sig_geterrorstr(e) : "not verified";
	if (*reason == NULL)
		*reason = "not verified";
	switch (e) {
	case DKIM_SIGERROR_BADSIG:
		return DKIM_R_FAIL;
	case DKIM_SIGERROR_KEYFAIL:
		return DKIM_R_TEMPERROR;
	case DKIM_SIGERROR_EXPIRED:
	case DKIM_SIGERROR_FUTURE:
		return DKIM_R_NEUTRAL;
	case DKIM_SIGERROR_OK:
		/* processed without a verdict: never a pass */
		return processed ? DKIM_R_FAIL : DKIM_R_TEMPERROR;
	default:
		return DKIM_R_PERMERROR;
	}
}

static const char *
alg_name(DKIM_SIGINFO *sig)
{
	dkim_alg_t alg = DKIM_SIGN_UNKNOWN;

	dkim_sig_getsignalg(sig, &alg);
	switch (alg) {
	case DKIM_SIGN_RSASHA1: return "rsa-sha1";
	case DKIM_SIGN_RSASHA256: return "rsa-sha256";
	case DKIM_SIGN_ED25519SHA256: return "ed25519-sha256";
	default: return NULL;
	}
}

/* A tag value copied without white space (b= is folded). */
static const char *
tag_copy(struct mavis_arena *a, DKIM_SIGINFO *sig, const char *tag)
{
	const u_char *t = dkim_sig_gettagvalue(sig, false, (u_char *)(uintptr_t)tag);
	size_t n, o = 0;
	char *out;

	if (t == NULL)
		return NULL;
	n = strlen((const char *)t);
	out = mavis_arena_alloc(a, n + 1);
	for (size_t i = 0; i < n; i++)
		if (t[i] != ' ' && t[i] != '\t' && t[i] != '\r' && t[i] != '\n')
			out[o++] = (char)t[i];
	out[o] = '\0';
	return out;
}

const struct dkim_verify_result *
dkim_verify_finish(struct dkim_verify *v)
{
	DKIM_SIGINFO **sigs = NULL;
	int nsigs = 0;

	if (v == NULL || v->dkim == NULL || v->failed)
		return NULL;
	if (v->nsigs == 0)
		return NULL;
	{
		bool testkey = false;
		DKIM_STAT st = dkim_eom(v->dkim, &testkey);

		if (st != DKIM_STAT_OK && st != DKIM_STAT_BADSIG && st != DKIM_STAT_NOKEY &&
		    st != DKIM_STAT_CANTVRFY && st != DKIM_STAT_NOSIG && st != DKIM_STAT_REVOKED &&
		    st != DKIM_STAT_KEYFAIL)
			mavis_log_info(v->log_id, "dkim: eom: %s", dkim_getresultstr(st));
	}
	if (dkim_getsiglist(v->dkim, &sigs, &nsigs) != DKIM_STAT_OK || nsigs <= 0)
		return NULL;
	v->res.sigs = mavis_arena_calloc(v->arena, (size_t)nsigs, sizeof(*v->res.sigs));
	for (int i = 0; i < nsigs; i++) {
		struct dkim_sig_result *r = &v->res.sigs[v->res.n];
		DKIM_SIGINFO *sig = sigs[i];
		u_char ident[512];
		unsigned bits = 0;
		const char *d = (const char *)dkim_sig_getdomain(sig);
		const char *s = (const char *)dkim_sig_getselector(sig);

		if (dkim_sig_getflags(sig) & DKIM_SIGFLAG_IGNORE)
			continue;
		r->result = sig_result(sig, v->keyfail, &r->reason);
		r->domain = d ? mavis_arena_strdup(v->arena, d) : NULL;
		r->selector = s ? mavis_arena_strdup(v->arena, s) : NULL;
		r->alg = alg_name(sig);
		r->identity = tag_copy(v->arena, sig, "i");
		if (r->identity == NULL && dkim_sig_getidentity(v->dkim, sig, ident, sizeof(ident)) ==
						   DKIM_STAT_OK)
			r->identity = mavis_arena_strdup(v->arena, (const char *)ident);
		r->b = tag_copy(v->arena, sig, "b");
		if (r->b == NULL)
			r->b = "";
		if (dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK)
			r->bits = bits;
		v->res.n++;
	}
	v->res.ignored = v->ignored;
	return v->res.n ? &v->res : NULL;
}

/* An A-R property value: a domain or address as is, anything else as a
   quoted string. */
static void
put_pvalue(struct mavis_buf *b, const char *s)
{
	bool bare = *s != '\0';

	for (const char *p = s; *p && bare; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      strchr("-._@+", *p) != NULL))
			bare = false;
	if (bare) {
		mavis_buf_puts(b, s);
		return;
	}
	mavis_buf_putc(b, '"');
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			continue;
		if (*p == '"' || *p == '\\')
			mavis_buf_putc(b, '\\');
		mavis_buf_putc(b, *p);
	}
	mavis_buf_putc(b, '"');
}

const char *
dkim_authres_value(const struct dkim_verify_result *r, const char *servid, struct mavis_arena *a)
{
	struct mavis_buf b = { 0 };
	const char *out;

	if (r == NULL || r->n == 0)
		return NULL;
	mavis_buf_printf(&b, " %s (mavis)", servid);
	for (size_t i = 0; i < r->n; i++) {
		const struct dkim_sig_result *s = &r->sigs[i];

		mavis_buf_printf(&b, ";\n dkim=%s", dkim_result_name(s->result));
		if (s->bits)
			mavis_buf_printf(&b, " (%u-bit key)", s->bits);
		if (s->reason && s->result != DKIM_R_PASS) {
			mavis_buf_puts(&b, "\n reason=");
			put_pvalue(&b, s->reason);
		}
		if (s->domain) {
			mavis_buf_puts(&b, "\n header.d=");
			put_pvalue(&b, s->domain);
		}
		if (s->identity) {
			mavis_buf_puts(&b, " header.i=");
			put_pvalue(&b, s->identity);
		}
		if (s->selector) {
			mavis_buf_puts(&b, " header.s=");
			put_pvalue(&b, s->selector);
		}
		if (s->alg)
			mavis_buf_printf(&b, " header.a=%s", s->alg);
		/* only a base64 prefix: b= comes from the mail */
		if (strlen(s->b) >= 8 && strspn(s->b, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") >= 8)
			mavis_buf_printf(&b, " header.b=\"%.8s\"", s->b);
	}
	out = mavis_arena_strdup(a, mavis_buf_str(&b));
	mavis_buf_free(&b);
	return out;
}
