/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sign.c - the DKIM signature of originating mail, over the message as delivered */

#include <string.h>
#include <strings.h>

#include <mavis/headers.h>
#include <mavis/log.h>
#include <mavis/text.h>

#include "pipeline_int.h"

struct field_list {
	struct dkim_field *v;
	size_t n, cap;
};

static void
fl_insert(struct field_list *l, struct mavis_arena *a, size_t at, const char *name,
	  const char *value)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct dkim_field *nv = mavis_arena_calloc(a, cap, sizeof(*nv));

		if (l->n)
			memcpy(nv, l->v, l->n * sizeof(*nv));
		l->v = nv;
		l->cap = cap;
	}
	if (at > l->n)
		at = l->n;
	memmove(&l->v[at + 1], &l->v[at], (l->n - at) * sizeof(*l->v));
	l->v[at] = (struct dkim_field){ name, value };
	l->n++;
}

/* Position of the occ-th (1-based) field named name, or l->n. */
static size_t
fl_find(const struct field_list *l, const char *name, int occ)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcasecmp(l->v[i].name, name) == 0 && --occ == 0)
			return i;
	return l->n;
}

/* The header section as it will be delivered: the fields as received,
   then every header edit of the verdict in its order, as the MTA applies
   them. */
static void
delivered_fields(const struct msg *m, const struct mavis_verdict *v, struct field_list *l)
{
	for (size_t i = 0; i < mavis_headers_count(m->headers); i++) {
		const struct mavis_header_field *f = mavis_headers_nth(m->headers, i);

		fl_insert(l, m->arena, l->n, mavis_arena_strndup(m->arena, f->name, f->namelen),
			  mavis_arena_strndup(m->arena, f->value, f->valuelen));
	}
	for (size_t i = 0; i < v->nedits; i++) {
		const struct mavis_edit *e = &v->edits[i];
		size_t at;

		switch (e->op) {
		case MAVIS_EDIT_ADD_HEADER:
			fl_insert(l, m->arena, l->n, e->name, e->value);
			break;
		case MAVIS_EDIT_INSERT_HEADER:
			fl_insert(l, m->arena, e->index < 0 ? 0 : (size_t)e->index, e->name, e->value);
			break;
		case MAVIS_EDIT_CHANGE_HEADER:
			at = fl_find(l, e->name, e->index);
			if (at < l->n)
				l->v[at].value = e->value;
			else
				fl_insert(l, m->arena, l->n, e->name, e->value);
			break;
		case MAVIS_EDIT_DELETE_HEADER:
			at = fl_find(l, e->name, e->index);
			if (at < l->n) {
				memmove(&l->v[at], &l->v[at + 1], (l->n - at - 1) * sizeof(*l->v));
				l->n--;
			}
			break;
		default:
			break;
		}
	}
}

/* amavisd: no signature on what we call virus or spam. */
static bool
signable(const struct mavis_verdict *v)
{
	for (size_t i = 0; i < v->nrcpts; i++) {
		int c = v->rcpts[i].ccat.major;

		if (v->rcpts[i].blocking.major < 0 &&
		    (c == MAVIS_CC_VIRUS || c == MAVIS_CC_SPAM || c == MAVIS_CC_SPAMMY))
			return false;
	}
	return true;
}

/* The candidate signing addresses in amavisd's order: From, Sender, the
   envelope sender. */
static size_t
candidates(const struct msg *m, const char **out, size_t max)
{
	static const char *const fields[] = { "From", "Sender" };
	size_t n = 0;

	for (size_t f = 0; f < 2; f++) {
		struct mavis_address *al;
		size_t na = 0;

		mavis_headers_addresses(m->headers, fields[f], m->arena, &al, &na);
		for (size_t i = 0; i < na && n < max; i++)
			out[n++] = al[i].addr;
	}
	if (m->sender[0] && n < max)
		out[n++] = m->sender;
	return n;
}

void
msg_dkim_sign(struct mavis_session *s, struct msg *m, struct mavis_verdict *v, const void *raw,
	      size_t rawlen)
{
	const char *lid = mavis_session_log_id(s);
	const struct mavis_dkim_keys *keys = dkim_engine_keys(s->st->dkim);
	const char *cand[16];
	size_t nc;
	struct mavis_error err = { 0 };

	if (keys == NULL || !signable(v))
		return;
	nc = candidates(m, cand, 16);
	for (size_t c = 0; c < nc; c++) {
		const char *addr = cand[c], *at = strrchr(addr, '@');
		const char *opts = mavis_view_str(s->view, MAVIS_KEY_DKIM_SIGNATURE_OPTIONS);
		const char *domain = at ? at + 1 : NULL;
		struct mavis_map_result res;
		struct dkim_sign_opts o;

		if (mavis_view_lookup(s->view, MAVIS_KEY_DKIM_SIGNATURE_OPTIONS_MAPS, addr, m->arena,
				      &res, &err) > 0 && res.value)
			opts = mavis_arena_printf(m->arena, "%s; %s", opts, res.value);
		if (dkim_sign_opts_parse(opts, &o, m->arena, &err) < 0) {
			mavis_log_err(lid, "dkim: not signed: <%s>: %s", addr, err.text);
			return;
		}
		if (mavis_view_lookup(s->view, MAVIS_KEY_DKIM_SIGN_SENDER_MAPS, addr, m->arena, &res,
				      &err) > 0 && res.value && *res.value)
			domain = res.value;
		if (o.d)
			domain = o.d;
		const struct dkim_key *k = dkim_key_for(keys, domain);
		if (k == NULL)
			continue;
		/* the key's domain is d=: the author's domain or its parent */
		const char *d = k->info.domain[0] == '.' ? k->info.domain + 1 : k->info.domain;
		struct field_list fl = { 0 };
		size_t body_at = (size_t)m->header_bytes + 2;
		const char *sig;

		delivered_fields(m, v, &fl);
		if (body_at > rawlen)
			body_at = rawlen;
		if (dkim_sign_message(s->st->dkim, k, d, &o, fl.v, fl.n, (const char *)raw + body_at,
				      rawlen - body_at, lid, m->arena, &sig, &err) < 0) {
			mavis_log_err(lid, "dkim: not signed: %s", err.text);
			return;
		}
		/* appended as it is: its folding is part of what was signed */
		struct mavis_edit *ne = mavis_arena_calloc(m->arena, v->nedits + 1, sizeof(*ne));
		if (v->nedits)
			memcpy(ne, v->edits, v->nedits * sizeof(*ne));
		ne[v->nedits] = (struct mavis_edit){ MAVIS_EDIT_INSERT_HEADER, "DKIM-Signature", sig, 0,
						     NULL };
		v->edits = ne;
		v->nedits++;
		mavis_log_info(lid, "dkim: signing d=%s s=%s (%s), From: <%s>", d, k->info.selector,
			       k->info.alg == MAVIS_DKIM_ED25519_SHA256 ? "ed25519-sha256" : "rsa-sha256",
			       mavis_text_clean(m->arena, addr));
		return;
	}
}
