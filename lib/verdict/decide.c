/* SPDX-License-Identifier: GPL-2.0-or-later */
/* decide.c - per-recipient content categories, destinies, one reply, deliveries, edits */

#include <string.h>

#include <mavis/text.h>

#include "decide.h"

/* %final_destiny_maps_by_ccat; MTA and CATCHALL are fixed. */
static int
destiny_of(const struct mavis_view *view, int major)
{
	switch (major) {
	case MAVIS_CC_VIRUS: return mavis_view_get(view, MAVIS_KEY_FINAL_VIRUS_DESTINY)->u.e;
	case MAVIS_CC_BANNED: return mavis_view_get(view, MAVIS_KEY_FINAL_BANNED_DESTINY)->u.e;
	case MAVIS_CC_UNCHECKED: return mavis_view_get(view, MAVIS_KEY_FINAL_UNCHECKED_DESTINY)->u.e;
	case MAVIS_CC_SPAM: return mavis_view_get(view, MAVIS_KEY_FINAL_SPAM_DESTINY)->u.e;
	case MAVIS_CC_BADH: return mavis_view_get(view, MAVIS_KEY_FINAL_BAD_HEADER_DESTINY)->u.e;
	case MAVIS_CC_OVERSIZED: return mavis_view_get(view, MAVIS_KEY_FINAL_OVERSIZED_DESTINY)->u.e;
	case MAVIS_CC_MTA: return MAVIS_D_TEMPFAIL;
	}
	return MAVIS_D_PASS;
}

/* amavisd's status of a blocked recipient by ccat. */
static void
status_of(struct mavis_ccat_pair c, const char **rcode, const char **xcode)
{
	switch (c.major) {
	case MAVIS_CC_BADH:
		*rcode = "554";
		*xcode = c.minor == 2 ? "5.6.3" : "5.6.0";
		return;
	case MAVIS_CC_OVERSIZED:
		*rcode = "552";
		*xcode = "5.3.4";
		return;
	case MAVIS_CC_MTA:
		*rcode = "550";
		*xcode = "5.3.5";
		return;
	}
	*rcode = "554";
	*xcode = "5.7.0";
}

static const struct mavis_finding clean_finding = { .major = MAVIS_CC_CLEAN, .reason = "CLEAN" };

/* The recipient's findings, most important first, with CLEAN at the end
   (amavisd always has CC_CLEAN in the list). */
static const struct mavis_finding *
finding_at(const struct mavis_rcpt *r, size_t i)
{
	return i < r->nfindings ? &r->findings[i] : i == r->nfindings ? &clean_finding : NULL;
}

/* The amavisd blocking loop: most important ccat first; PASS or a lover
   continues; the first other destiny blocks. Returns the blocking finding
   or NULL. */
static const struct mavis_finding *
block_rcpt(const struct decide_msg *m, const struct mavis_rcpt *r, int *destiny)
{
	const struct mavis_finding *f;
	int last_major = -1;

	*destiny = MAVIS_D_PASS;
	for (size_t i = 0; (f = finding_at(r, i)) != NULL; i++) {
		int d;

		if (f->major == last_major)	/* "maj,min" then "maj": one decision */
			continue;
		last_major = f->major;
		d = destiny_of(m->view, f->major);
		if (d == MAVIS_D_PASS || r->lover[f->major])
			continue;
		if (d == MAVIS_D_BOUNCE && f->major == MAVIS_CC_BADH && (m->sender[0] == '\0' || m->bulk))
			continue;
		*destiny = d;
		return f;
	}
	return NULL;
}

bool
mavis_rcpt_blocked_now(const struct mavis_view *view, const struct mavis_rcpt *r)
{
	struct decide_msg m = { .view = view, .sender = "-" };
	int destiny;

	return block_rcpt(&m, r, &destiny) != NULL;
}

/* A growing edit list in arena memory. */
struct edits {
	struct mavis_edit *v;
	size_t n, cap;
};

/* clean: the value is new text (sanitised and folded here); false for an
   edit copied from another list, which already was. */
static void
edits_push(struct edits *l, struct mavis_arena *a, const struct mavis_edit *e, bool clean)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct mavis_edit *ne = mavis_arena_calloc(a, cap, sizeof(*ne));

		if (l->n)
			memcpy(ne, l->v, l->n * sizeof(*ne));
		l->v = ne;
		l->cap = cap;
	}
	l->v[l->n] = *e;
	if (clean && e->name != NULL && e->value != NULL)
		l->v[l->n].value = mavis_text_header_value(a, e->name, e->value);
	l->n++;
}

static void
edits_add(struct edits *l, struct mavis_arena *a, const struct mavis_edit *e)
{
	edits_push(l, a, e, true);
}

void
mavis_verdict_add_edit(struct mavis_verdict *v, struct mavis_arena *a, const struct mavis_edit *e)
{
	struct edits l = { v->edits, v->nedits, v->nedits };

	edits_add(&l, a, e);
	v->edits = l.v;
	v->nedits = l.n;
}

/* Subject tag by ccat (%subject_tag_maps_by_ccat), for local recipients. */
static const char *
subject_tag_of(const struct decide_msg *m, const struct mavis_rcpt *r)
{
	for (size_t i = 0; i < r->nfindings; i++) {
		const char *tag = r->findings[i].subject_tag;

		switch (tag ? -1 : r->findings[i].major) {
		case MAVIS_CC_VIRUS:
			tag = mavis_view_str(m->view, MAVIS_KEY_VIRUS_SUBJECT_TAG);
			break;
		case MAVIS_CC_UNCHECKED:
			tag = mavis_view_str(m->view, MAVIS_KEY_UNDECIPHERABLE_SUBJECT_TAG);
			break;
		}
		if (tag && *tag)
			return tag;
	}
	return NULL;
}

/* A field value as one line: the line breaks of its folding removed (the
   white space after them stays), so that the writer can fold it anew. */
static const char *
unfold(struct mavis_arena *a, const char *s)
{
	size_t n = strlen(s), o = 0;
	char *u = mavis_arena_alloc(a, n + 1);

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r' && s[i + 1] == '\n' && (s[i + 2] == ' ' || s[i + 2] == '\t')) {
			i++;
			continue;
		}
		if (s[i] == '\n' && (s[i + 1] == ' ' || s[i + 1] == '\t'))
			continue;
		u[o++] = s[i];
	}
	u[o] = '\0';
	return u;
}

/* The header edits of a passed recipient's copy: the alert of its main
   ccat, the fields its checks added, the subject tag. Inserted at the
   top, like amavisd's prepended fields. */
static void
rcpt_header_edits(const struct decide_msg *m, const struct mavis_rcpt *r, struct edits *l,
		  struct mavis_arena *a)
{
	const struct mavis_finding *main = finding_at(r, 0);
	const char *tag;

	if (main->alert != NULL)
		edits_add(l, a, &(struct mavis_edit){ MAVIS_EDIT_INSERT_HEADER, "X-Mavis-Alert",
						      mavis_arena_printf(a, " %s", main->alert), 0,
						      NULL });
	for (size_t i = 0; i < r->nheaders; i++)
		edits_add(l, a, &(struct mavis_edit){ r->headers[i].op, r->headers[i].name,
						      r->headers[i].value, r->headers[i].index, NULL });
	tag = r->local ? subject_tag_of(m, r) : NULL;
	if (tag == NULL)
		return;
	if (m->has_subject) {
		const char *old = unfold(a, m->subject ? m->subject : "");

		if (*old == ' ')
			old++;
		edits_add(l, a, &(struct mavis_edit){ MAVIS_EDIT_CHANGE_HEADER, "Subject",
						      mavis_arena_printf(a, " %s%s", tag, old), 1, NULL });
	} else if (!m->headers_partial) {
		edits_add(l, a, &(struct mavis_edit){ MAVIS_EDIT_ADD_HEADER, "Subject",
						      mavis_arena_printf(a, " %s", tag), -1, NULL });
	}
}

static bool
same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool
same_edits(const struct edits *x, const struct edits *y)
{
	if (x->n != y->n)
		return false;
	for (size_t i = 0; i < x->n; i++)
		if (x->v[i].op != y->v[i].op || x->v[i].index != y->v[i].index ||
		    !same_str(x->v[i].name, y->v[i].name) || !same_str(x->v[i].value, y->v[i].value))
			return false;
	return true;
}

/* Group the passed recipients by their header edits, in order of first
   appearance: delivery 0 belongs to the first passed recipient. */
static void
make_deliveries(const struct decide_msg *m, struct mavis_rcpt *r, size_t nrcpts,
		struct mavis_verdict *v, struct mavis_arena *a)
{
	struct edits *per = mavis_arena_calloc(a, nrcpts ? nrcpts : 1, sizeof(*per));
	size_t *owner = mavis_arena_calloc(a, nrcpts ? nrcpts : 1, sizeof(*owner));
	size_t *members = mavis_arena_calloc(a, nrcpts ? nrcpts : 1, sizeof(*members));
	size_t nd = 0;

	/* One index array for all deliveries: each takes its slice in order
	   of first appearance, filled in a second pass. */
	v->deliveries = mavis_arena_calloc(a, nrcpts ? nrcpts : 1, sizeof(*v->deliveries));
	for (size_t i = 0; i < nrcpts; i++) {
		struct mavis_rcpt_verdict *rv = &v->rcpts[i];
		size_t d;

		if (rv->blocking.major >= 0)
			continue;
		rcpt_header_edits(m, &r[i], &per[i], a);
		for (d = 0; d < nd; d++)
			if (same_edits(&per[owner[d]], &per[i]))
				break;
		if (d == nd) {
			owner[nd++] = i;
			v->deliveries[d].edits = per[i].v;
			v->deliveries[d].nedits = per[i].n;
		}
		v->deliveries[d].nrcpts++;
		rv->delivery = (int)d;
	}
	size_t off = 0;
	for (size_t d = 0; d < nd; d++) {
		size_t k = 0;

		for (size_t i = 0; i < nrcpts; i++)
			if (v->rcpts[i].delivery == (int)d)
				members[off + k++] = i;
		v->deliveries[d].rcpts = &members[off];
		off += k;
	}
	v->ndeliveries = nd;
	v->merged_deliveries = nd > 1;
}

/* The reply of a blocked recipient, as fields. */
static void
rcpt_reply(const struct decide_msg *m, const struct mavis_finding *f, int destiny, bool soft,
	   struct mavis_reply *out, struct mavis_arena *a)
{
	const char *rcode, *xcode, *verb = "Reject";

	status_of((struct mavis_ccat_pair){ f->major, f->minor }, &rcode, &xcode);
	if (destiny == MAVIS_D_TEMPFAIL || soft) {
		rcode = "450";
		xcode = mavis_arena_printf(a, "4%s", xcode + 1);
		verb = soft ? "Temporary failure (soft_bounce)" : "Temporary failure";
	} else if (destiny == MAVIS_D_DISCARD) {
		rcode = "250";
		xcode = mavis_arena_printf(a, "2%s", xcode + 1);
		verb = "Ok, discarded";
	}
	out->rcode = rcode;
	out->xcode = xcode;
	out->text = mavis_text_clean(a, mavis_arena_printf(a, "%s, id=%s - %s", verb, m->log_id,
							   f->reason ? f->reason : "OTHER"));
}

struct mavis_verdict *
mavis_decide(const struct decide_msg *m, struct mavis_rcpt *r, size_t nrcpts,
	     struct mavis_arena *a)
{
	struct mavis_verdict *v = mavis_arena_calloc(a, 1, sizeof(*v));
	bool soft = mavis_view_bool(m->view, MAVIS_KEY_SOFT_BOUNCE);
	size_t npass = 0, nreject = 0, ndiscard = 0, ntempfail = 0;
	const struct mavis_rcpt_verdict *first_reject = NULL, *first_block = NULL;
	const struct mavis_finding *max = &clean_finding;

	v->mail_id = m->mail_id;
	v->virus_scanned = m->virus_scanned;
	if (m->spam != NULL && m->spam->status == MAVIS_SPAM_OK) {
		struct mavis_spam_hit *h = mavis_arena_calloc(a, m->spam->n_tests + 1, sizeof(*h));

		for (size_t i = 0; i < m->spam->n_tests; i++)
			h[i] = (struct mavis_spam_hit){ m->spam->tests[i].name, m->spam->tests[i].score };
		v->spam_scored = true;
		v->spam_score = m->spam->score;
		v->spam_scanner = m->spam->scanner;
		v->spam_tests = h;
		v->n_spam_tests = m->spam->n_tests;
	}
	v->nrcpts = nrcpts;
	v->rcpts = mavis_arena_calloc(a, nrcpts ? nrcpts : 1, sizeof(*v->rcpts));
	for (size_t i = 0; i < nrcpts; i++) {
		struct mavis_rcpt_verdict *rv = &v->rcpts[i];
		const struct mavis_finding *main = finding_at(&r[i], 0), *blk;

		r[i].verdict = rv;
		rv->address = r[i].addr;
		rv->local = r[i].local;
		rv->ccat = (struct mavis_ccat_pair){ main->major, main->minor };
		rv->delivery = -1;
		rv->spam_scored = r[i].spam_scored;
		rv->spam_level = r[i].spam_level;
		if (main->major > max->major || (main->major == max->major && main->minor > max->minor))
			max = main;
		blk = block_rcpt(m, &r[i], &rv->destiny);
		if (blk == NULL) {
			rv->blocking = (struct mavis_ccat_pair){ -1, 0 };
			npass++;
			continue;
		}
		rv->blocking = (struct mavis_ccat_pair){ blk->major, blk->minor };
		rcpt_reply(m, blk, rv->destiny, soft, &rv->reply, a);
		if (rv->reply.rcode[0] == '4')
			ntempfail++;
		else if (rv->reply.rcode[0] == '2')
			ndiscard++;
		else if (nreject++ == 0)
			first_reject = rv;
		if (first_block == NULL)
			first_block = rv;
	}
	v->reason = max->log_text ? mavis_text_clean(a, max->log_text)
				  : mavis_ccat_log_name(max->major, max->minor);

	/* one_response_for_all, milter flavour. */
	const struct mavis_rcpt_verdict *resp = NULL;
	if (nrcpts > 0 && ntempfail > 0) {
		v->action = MAVIS_ACTION_TEMPFAIL;
		for (size_t i = 0; i < nrcpts && !resp; i++)
			if (v->rcpts[i].blocking.major >= 0 && v->rcpts[i].reply.rcode[0] == '4')
				resp = &v->rcpts[i];
	} else if (nrcpts > 0 && npass == 0 && nreject == 0) {
		v->action = MAVIS_ACTION_DISCARD;
		resp = first_block;
	} else if (nrcpts > 0 && npass == 0) {
		v->action = MAVIS_ACTION_REJECT;
		resp = first_reject;
	} else {
		v->action = MAVIS_ACTION_ACCEPT;
	}
	if (resp != NULL) {
		v->rcode = resp->reply.rcode;
		v->xcode = resp->reply.xcode;
		v->text = resp->reply.text;
		/* Non-SMTP mail cannot be refused to a client: Postfix would bounce
		   it to the (often forged) sender. */
		if (m->non_smtpd && v->action == MAVIS_ACTION_REJECT) {
			switch (mavis_view_get(m->view, MAVIS_KEY_NON_SMTPD_REJECT_ACTION)->u.e) {
			case MAVIS_NON_SMTPD_REJECT_ACTION_DISCARD:
				v->action = MAVIS_ACTION_DISCARD;
				break;
			case MAVIS_NON_SMTPD_REJECT_ACTION_HOLD:
				v->action = MAVIS_ACTION_HOLD;
				break;
			}
		}
		return v;
	}
	v->rcode = "250";
	v->xcode = "2.0.0";
	if (nrcpts > npass)
		v->text = mavis_arena_printf(a, "Ok, id=%s, continue delivery, but %zu REJECT and %zu DISCARD",
					     m->log_id, nreject, ndiscard);
	else
		v->text = mavis_arena_printf(a, "Ok, id=%s", m->log_id);
	make_deliveries(m, r, nrcpts, v, a);
	/* In place: delivery 0's header edits; blocked recipients leave the
	   envelope. */
	struct edits l = { 0 };
	if (v->ndeliveries > 0)
		for (size_t i = 0; i < v->deliveries[0].nedits; i++)
			edits_push(&l, a, &v->deliveries[0].edits[i], false);
	for (size_t i = 0; i < nrcpts; i++)
		if (v->rcpts[i].blocking.major >= 0)
			edits_add(&l, a, &(struct mavis_edit){ MAVIS_EDIT_DELETE_RCPT, NULL, NULL, -1,
							       v->rcpts[i].address });
	v->edits = l.v;
	v->nedits = l.n;
	return v;
}
