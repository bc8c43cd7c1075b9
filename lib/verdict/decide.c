/* SPDX-License-Identifier: GPL-2.0-or-later */
/* decide.c - per-recipient content categories, destinies, one reply, edits */

#include <string.h>

#include "decide.h"

#define MAX_CCATS 8

struct rcpt_work {
	struct mavis_ccat_pair ccats[MAX_CCATS];	/* descending */
	size_t n;
};

static void
add_ccat(struct rcpt_work *w, int major, int minor)
{
	size_t i;

	if (w->n >= MAX_CCATS)
		return;
	/* Keep descending order by (major, minor). */
	for (i = 0; i < w->n; i++)
		if (w->ccats[i].major < major ||
		    (w->ccats[i].major == major && w->ccats[i].minor < minor))
			break;
	memmove(&w->ccats[i + 1], &w->ccats[i], (w->n - i) * sizeof(w->ccats[0]));
	w->ccats[i].major = major;
	w->ccats[i].minor = minor;
	w->n++;
}

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

static const char *
badh_reason(int minor)
{
	static const char *const t[] = {
		"BAD HEADER", "BAD HEADER: MIME error", "BAD HEADER: nonencoded 8-bit character",
		"BAD HEADER: contains invalid control character",
		"BAD HEADER: line made up entirely of whitespace",
		"BAD HEADER: line longer than RFC 5322 limit", "BAD HEADER: syntax error",
		"BAD HEADER: missing required header field", "BAD HEADER: duplicate header field",
	};

	return (minor >= 0 && minor <= 8) ? t[minor] : t[0];
}

/* %smtp_reason_by_ccat */
static const char *
reason_of(const struct decide_msg *m, const struct decide_rcpt *r, struct mavis_ccat_pair c,
	  struct mavis_arena *a)
{
	switch (c.major) {
	case MAVIS_CC_VIRUS: return mavis_arena_printf(a, "INFECTED: %s", m->virus_names);
	case MAVIS_CC_BANNED: return mavis_arena_printf(a, "BANNED: %s", r->banned_reason);
	case MAVIS_CC_UNCHECKED:
		switch (c.minor) {
		case MAVIS_UNCHECKED_ENCRYPTED: return "UNCHECKED: encrypted";
		case MAVIS_UNCHECKED_OVER_LIMITS: return "UNCHECKED: over limits";
		case MAVIS_UNCHECKED_AMBIGUOUS: return "UNCHECKED: ambiguous content";
		default: return "UNCHECKED";
		}
	case MAVIS_CC_SPAM: return "spam";
	case MAVIS_CC_SPAMMY: return c.minor ? "spammy (tag3)" : "spammy";
	case MAVIS_CC_BADH:
		/* amavisd's generic text per minor; a section over our own bounds
		   has no amavisd minor of its own and says so instead. */
		if (m->badh_reason != NULL)
			return m->badh_reason;
		return badh_reason(c.minor);
	case MAVIS_CC_OVERSIZED: return "Message size exceeds recipient's size limit";
	case MAVIS_CC_CLEAN: return "CLEAN";
	}
	return "OTHER";
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

static void
collect_ccats(const struct decide_msg *m, const struct decide_rcpt *r, struct rcpt_work *w)
{
	add_ccat(w, MAVIS_CC_CLEAN, 0);
	if (m->virus_names && !r->bypass_virus)
		add_ccat(w, MAVIS_CC_VIRUS, 0);
	if (r->banned_reason && !r->bypass_banned)
		add_ccat(w, MAVIS_CC_BANNED, 0);
	/* Ambiguous content is for everyone; the other minors are virus-check
	   concerns, skipped for bypass_virus recipients (amavisd). */
	if (m->unchecked_minor == MAVIS_UNCHECKED_AMBIGUOUS ||
	    (m->unchecked_minor >= 0 && !r->bypass_virus)) {
		int minor = m->unchecked_minor == MAVIS_UNCHECKED_SCANNER_FAILED ? 0 : m->unchecked_minor;

		add_ccat(w, MAVIS_CC_UNCHECKED, minor);
		if (minor)
			add_ccat(w, MAVIS_CC_UNCHECKED, 0);
	}
	if (m->badh_minor >= 0 && !r->bypass_header) {
		add_ccat(w, MAVIS_CC_BADH, m->badh_minor);
		if (m->badh_minor)
			add_ccat(w, MAVIS_CC_BADH, 0);
	}
	if (r->oversized || m->oversized_all)
		add_ccat(w, MAVIS_CC_OVERSIZED, 0);
}

/* The amavisd blocking loop: most important ccat first; PASS or a lover
   continues; the first other destiny blocks. */
static void
block_rcpt(const struct decide_msg *m, const struct decide_rcpt *r, const struct rcpt_work *w,
	   struct mavis_rcpt_verdict *out)
{
	int last_major = -1;

	out->blocking.major = -1;
	out->blocking.minor = 0;
	out->destiny = MAVIS_D_PASS;
	for (size_t i = 0; i < w->n; i++) {
		struct mavis_ccat_pair c = w->ccats[i];
		int d;

		if (c.major == last_major)	/* "maj,min" then "maj": one decision */
			continue;
		last_major = c.major;
		d = destiny_of(m->view, c.major);
		if (d == MAVIS_D_PASS)
			continue;
		if (r->lover[c.major])
			continue;
		if (d == MAVIS_D_BOUNCE && c.major == MAVIS_CC_BADH && (m->sender[0] == '\0' || m->bulk))
			continue;
		out->blocking = c;
		out->destiny = d;
		return;
	}
}

static void
edit_add(struct mavis_verdict *v, size_t *cap, struct mavis_arena *a, struct mavis_edit e)
{
	if (v->nedits == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct mavis_edit *ne = mavis_arena_calloc(a, ncap, sizeof(*ne));

		if (v->nedits)
			memcpy(ne, v->edits, v->nedits * sizeof(*ne));
		v->edits = ne;
		*cap = ncap;
	}
	v->edits[v->nedits++] = e;
}

void
mavis_verdict_add_edit(struct mavis_verdict *v, struct mavis_arena *a, const struct mavis_edit *e)
{
	struct mavis_edit *ne = mavis_arena_calloc(a, v->nedits + 1, sizeof(*ne));

	/* Rare (quarantine id): a copy is simpler than tracking capacity. */
	if (v->nedits)
		memcpy(ne, v->edits, v->nedits * sizeof(*ne));
	ne[v->nedits] = *e;
	v->edits = ne;
	v->nedits++;
}

/* Subject tag by ccat (%subject_tag_maps_by_ccat), for local recipients. */
static const char *
subject_tag_of(const struct decide_msg *m, const struct rcpt_work *w)
{
	for (size_t i = 0; i < w->n; i++) {
		const char *tag = NULL;

		switch (w->ccats[i].major) {
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

static void
header_edits(const struct decide_msg *m, const struct decide_rcpt *r,
	     const struct rcpt_work *w, const struct mavis_rcpt_verdict *rv,
	     struct mavis_verdict *v, size_t *cap, struct mavis_arena *a)
{
	const char *xtag = mavis_view_str(m->view, MAVIS_KEY_X_HEADER_TAG);
	const char *alert = NULL;

	/* Inserted at the top, like amavisd's prepended fields. Inserting at
	   index 0 in reverse order keeps the listed order. */
	switch (rv->ccat.major) {
	case MAVIS_CC_VIRUS:
		alert = mavis_arena_printf(a, " INFECTED, message contains virus: %s", m->virus_names);
		break;
	case MAVIS_CC_BANNED:
		alert = mavis_arena_printf(a, " BANNED, message contains %s", r->banned_reason);
		break;
	case MAVIS_CC_UNCHECKED:
		/* on_scanner_failure = pass: the one mark that reaches every
		   recipient (the subject tag is for local ones only). */
		if (m->unchecked_minor == MAVIS_UNCHECKED_SCANNER_FAILED)
			alert = " UNCHECKED, virus scanning failed, message not scanned";
		break;
	case MAVIS_CC_BADH:
		alert = m->badh_alert ? mavis_arena_printf(a, " %s", m->badh_alert)
			: mavis_arena_printf(a, " BAD HEADER SECTION, %s",
					     m->badh_text ? m->badh_text : badh_reason(rv->ccat.minor));
		break;
	}
	if (alert)
		edit_add(v, cap, a, (struct mavis_edit){ MAVIS_EDIT_INSERT_HEADER, "X-Mavis-Alert",
							 alert, 0, NULL });
	if (m->av_ran && !r->bypass_virus && *xtag)
		edit_add(v, cap, a, (struct mavis_edit){
			MAVIS_EDIT_INSERT_HEADER, mavis_arena_strdup(a, xtag),
			mavis_arena_printf(a, " %s", mavis_view_str(m->view, MAVIS_KEY_X_HEADER_LINE)),
			0, NULL });
	const char *tag = r->local ? subject_tag_of(m, w) : NULL;
	if (tag != NULL) {
		if (m->has_subject) {
			const char *old = m->subject ? m->subject : "";

			if (*old == ' ')
				old++;
			edit_add(v, cap, a, (struct mavis_edit){
				MAVIS_EDIT_CHANGE_HEADER, "Subject",
				mavis_arena_printf(a, " %s%s", tag, old), 1, NULL });
		} else {
			edit_add(v, cap, a, (struct mavis_edit){ MAVIS_EDIT_ADD_HEADER, "Subject",
								 mavis_arena_printf(a, " %s", tag), -1, NULL });
		}
	}
}

struct mavis_verdict *
mavis_decide(const struct decide_msg *m, const struct decide_rcpt *r, size_t nrcpts,
	     struct mavis_arena *a)
{
	struct mavis_verdict *v = mavis_arena_alloc(a, sizeof(*v));
	struct rcpt_work *w = mavis_arena_calloc(a, nrcpts ? nrcpts : 1, sizeof(*w));
	bool soft = mavis_view_bool(m->view, MAVIS_KEY_SOFT_BOUNCE);
	size_t npass = 0, nreject = 0, ndiscard = 0, ntempfail = 0;
	const struct mavis_rcpt_verdict *first_reject = NULL, *first_block = NULL;
	size_t first_pass = nrcpts, cap = 0;
	int max_major = MAVIS_CC_CLEAN, max_minor = 0;

	v->mail_id = m->mail_id;
	v->virus_scanned = m->av_ran;
	v->nrcpts = nrcpts;
	v->rcpts = mavis_arena_calloc(a, nrcpts ? nrcpts : 1, sizeof(*v->rcpts));
	for (size_t i = 0; i < nrcpts; i++) {
		struct mavis_rcpt_verdict *rv = &v->rcpts[i];

		collect_ccats(m, &r[i], &w[i]);
		rv->address = r[i].addr;
		rv->local = r[i].local;
		rv->ccat = w[i].ccats[0];
		if (rv->ccat.major > max_major ||
		    (rv->ccat.major == max_major && rv->ccat.minor > max_minor)) {
			max_major = rv->ccat.major;
			max_minor = rv->ccat.minor;
		}
		block_rcpt(m, &r[i], &w[i], rv);
		if (rv->blocking.major < 0) {
			npass++;
			if (first_pass == nrcpts)
				first_pass = i;
			continue;
		}
		const char *rcode, *xcode, *verb = "Reject";
		const char *reason = reason_of(m, &r[i], rv->blocking, a);
		status_of(rv->blocking, &rcode, &xcode);
		if (rv->destiny == MAVIS_D_TEMPFAIL || soft) {
			rcode = "450";
			xcode = mavis_arena_printf(a, "4%s", xcode + 1);
			verb = soft ? "Temporary failure (soft_bounce)" : "Temporary failure";
			ntempfail++;
		} else if (rv->destiny == MAVIS_D_DISCARD) {
			rcode = "250";
			xcode = mavis_arena_printf(a, "2%s", xcode + 1);
			verb = "Ok, discarded";
			ndiscard++;
		} else {
			nreject++;
			if (first_reject == NULL)
				first_reject = rv;
		}
		if (first_block == NULL)
			first_block = rv;
		rv->smtp_reply = mavis_arena_printf(a, "%s %s %s, id=%s - %s", rcode, xcode, verb,
						    m->log_id, reason);
	}
	v->reason = mavis_ccat_log_name(max_major, max_minor);
	if (max_major == MAVIS_CC_VIRUS)
		v->reason = mavis_arena_printf(a, "INFECTED (%s)", m->virus_names);
	/* one_response_for_all, milter flavour. */
	const struct mavis_rcpt_verdict *resp = NULL;
	if (nrcpts > 0 && ntempfail > 0) {
		v->action = MAVIS_ACTION_TEMPFAIL;
		for (size_t i = 0; i < nrcpts && !resp; i++)
			if (v->rcpts[i].blocking.major >= 0 && v->rcpts[i].smtp_reply[0] == '4')
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
		/* "554 5.7.0 Reject, id=..." -> codes and text */
		v->rcode = mavis_arena_strndup(a, resp->smtp_reply, 3);
		const char *sp = strchr(resp->smtp_reply + 4, ' ');
		v->xcode = mavis_arena_strndup(a, resp->smtp_reply + 4,
					       sp ? (size_t)(sp - resp->smtp_reply - 4) : 0);
		v->text = sp ? sp + 1 : "";
		return v;
	}
	v->rcode = "250";
	v->xcode = "2.0.0";
	if (nrcpts > npass)
		v->text = mavis_arena_printf(a, "Ok, id=%s, continue delivery, but %zu REJECT and %zu DISCARD",
					     m->log_id, nreject, ndiscard);
	else
		v->text = mavis_arena_printf(a, "Ok, id=%s", m->log_id);
	/* Headers once, chosen for the first delivered recipient (amavisd
	   picks the first cluster); blocked recipients leave the envelope. */
	if (first_pass < nrcpts)
		header_edits(m, &r[first_pass], &w[first_pass], &v->rcpts[first_pass], v, &cap, a);
	for (size_t i = 0; i < nrcpts; i++)
		if (v->rcpts[i].blocking.major >= 0)
			edit_add(v, &cap, a, (struct mavis_edit){ MAVIS_EDIT_DELETE_RCPT, NULL, NULL,
								  -1, v->rcpts[i].address });
	return v;
}
