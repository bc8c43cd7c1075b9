/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lookup.c - a recipient's spam settings from the config view */

#include <math.h>
#include <string.h>

#include "spam_int.h"

static int
lookup_level(const struct mavis_view *v, enum mavis_key key, const char *rcpt,
	     struct mavis_arena *a, double *out, struct mavis_error *err)
{
	struct mavis_map_result res;
	int rc = mavis_view_lookup(v, key, rcpt, a, &res, err);

	*out = NAN;
	if (rc < 0)
		return rc;
	/* amavisd: an empty value is as good as undefined */
	if (rc == 1 && res.value != NULL && *res.value != '\0' &&
	    mavis_map_value_float(res.value, out) < 0)
		*out = NAN;
	return 0;
}

static int
lookup_str(const struct mavis_view *v, enum mavis_key key, const char *rcpt,
	   struct mavis_arena *a, const char **out, struct mavis_error *err)
{
	struct mavis_map_result res;
	int rc = mavis_view_lookup(v, key, rcpt, a, &res, err);

	*out = rc == 1 ? res.value : NULL;
	return rc < 0 ? rc : 0;
}

static int
lookup_bool(const struct mavis_view *v, enum mavis_key key, const char *addr,
	    struct mavis_arena *a, bool *out, struct mavis_error *err)
{
	struct mavis_map_result res;
	int rc = mavis_view_lookup(v, key, addr, a, &res, err);

	if (rc < 0)
		return rc;
	*out = rc == 1 && mavis_map_value_bool(res.value);
	return 0;
}

int
mavis_spam_rcpt_lookup(const struct mavis_view *v, const char *rcpt, const char *const *senders,
		       size_t n_senders, struct mavis_arena *a, struct mavis_spam_rcpt *r,
		       struct mavis_error *err)
{
	struct mavis_spam_levels *lv = &r->levels;
	int rc = 0;

	if (v == NULL || rcpt == NULL || a == NULL || r == NULL)
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "mavis_spam_rcpt_lookup: NULL");
	r->boost = 0;
	r->whitelisted = r->blacklisted = false;
	r->remove_existing_headers = mavis_view_bool(v, MAVIS_KEY_REMOVE_EXISTING_SPAM_HEADERS);
	if (rc == 0)
		rc = lookup_level(v, MAVIS_KEY_SPAM_TAG_LEVEL_MAPS, rcpt, a, &lv->tag, err);
	if (rc == 0)
		rc = lookup_level(v, MAVIS_KEY_SPAM_TAG2_LEVEL_MAPS, rcpt, a, &lv->tag2, err);
	if (rc == 0)
		rc = lookup_level(v, MAVIS_KEY_SPAM_TAG3_LEVEL_MAPS, rcpt, a, &lv->tag3, err);
	if (rc == 0)
		rc = lookup_level(v, MAVIS_KEY_SPAM_KILL_LEVEL_MAPS, rcpt, a, &lv->kill, err);
	if (rc == 0)
		rc = lookup_level(v, MAVIS_KEY_SPAM_DSN_CUTOFF_LEVEL_MAPS, rcpt, a,
				  &lv->dsn_cutoff, err);
	if (rc == 0)
		rc = lookup_level(v, MAVIS_KEY_SPAM_QUARANTINE_CUTOFF_LEVEL_MAPS, rcpt, a,
				  &lv->quarantine_cutoff, err);
	if (rc == 0)
		rc = lookup_str(v, MAVIS_KEY_SPAM_SUBJECT_TAG_MAPS, rcpt, a, &r->subject_tag, err);
	if (rc == 0)
		rc = lookup_str(v, MAVIS_KEY_SPAM_SUBJECT_TAG2_MAPS, rcpt, a, &r->subject_tag2, err);
	if (rc == 0)
		rc = lookup_str(v, MAVIS_KEY_SPAM_SUBJECT_TAG3_MAPS, rcpt, a, &r->subject_tag3, err);
	if (rc == 0)
		rc = lookup_bool(v, MAVIS_KEY_BYPASS_SPAM_CHECKS_MAPS, rcpt, a, &r->bypassed, err);
	if (rc == 0)
		rc = lookup_bool(v, MAVIS_KEY_LOCAL_DOMAINS_MAPS, rcpt, a, &r->local, err);
	/* Per-recipient sender tables (pgsql:wblist) need to know whose list. */
	mavis_map_set_recipient(rcpt);
	for (size_t i = 0; rc == 0 && i < n_senders; i++) {
		const char *snd = senders[i] ? senders[i] : "";
		bool hit = false;
		double boost;

		rc = lookup_bool(v, MAVIS_KEY_BLACKLIST_SENDER_MAPS, snd, a, &hit, err);
		r->blacklisted = r->blacklisted || hit;
		if (rc == 0)
			rc = lookup_bool(v, MAVIS_KEY_WHITELIST_SENDER_MAPS, snd, a, &hit, err);
		r->whitelisted = r->whitelisted || hit;
		if (rc == 0)
			rc = lookup_level(v, MAVIS_KEY_SCORE_SENDER_MAPS, snd, a, &boost, err);
		if (rc == 0 && !isnan(boost))
			r->boost += boost;
	}
	mavis_map_set_recipient(NULL);
	return rc;
}

void
mavis_spam_hdr_opts_from_view(const struct mavis_view *v, struct mavis_spam_hdr_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->level_char = mavis_view_str(v, MAVIS_KEY_SPAM_LEVEL_CHAR);
	o->report_field = mavis_view_bool(v, MAVIS_KEY_SPAM_REPORT_HEADER);
}
