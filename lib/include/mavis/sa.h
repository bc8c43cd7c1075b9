/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_SA_H
#define MAVIS_SA_H

/*
 * The native SpamAssassin-rule engine (spam scanner "native"): SpamAssassin's
 * own rule files loaded once into an immutable rule set, and messages scored
 * with it in-process.
 *
 * Loading reads the *.pre files (loadplugin), then the *.cf files of each
 * directory in order, each directory's files sorted by name, as SpamAssassin
 * does. Definitions later in that order replace earlier ones (a score in
 * local.cf overrides the shipped one). Score set 0 is used (no network tests,
 * no Bayes). Rules whose type, header modifier or eval function the engine
 * does not implement are kept in the set as unsupported, with the reason,
 * and never hit; a meta rule sees them as 0, as SpamAssassin sees an
 * undefined rule.
 *
 * A rule set is immutable after loading and may be used by any number of
 * threads at once; per-message memory comes from the caller's arena.
 */

#include <stdbool.h>
#include <stddef.h>

#include <mavis/api.h>
#include <mavis/arena.h>
#include <mavis/error.h>
#include <mavis/spam.h>

struct mavis_sa_rules;

/* The default directory list: the sa-update directory
   (/var/lib/spamassassin/<version>/updates_spamassassin_org) when it holds
   *.cf files, else /usr/share/spamassassin; then /etc/spamassassin.
   NULL-terminated, static. */
MAVIS_API const char *const *mavis_sa_default_dirs(void);

/*
 * Load and compile the rules of dirs (NULL-terminated; NULL = the default
 * list). Returns 0 and *out, or MAVIS_ERR_IO (a directory cannot be read),
 * MAVIS_ERR_CONFIG (no rule at all) with err set. A single rule that does
 * not parse or compile is not an error: it is unsupported.
 */
MAVIS_API int mavis_sa_rules_load(const char *const *dirs, struct mavis_sa_rules **out,
				  struct mavis_error *err);

/* Same from text (tests, fuzzing): one rule file's contents. */
MAVIS_API int mavis_sa_rules_from_text(const char *text, size_t len, struct mavis_sa_rules **out,
				       struct mavis_error *err);

/* Free; *r = NULL. NULL-safe. No check may be running on it. */
MAVIS_API void mavis_sa_rules_free(struct mavis_sa_rules **r);

/* One rule as loaded, for mavisctl spam rules. Strings live as long as r. */
struct mavis_sa_rule_info {
	const char *name;
	const char *type;	/* "header", "body", "rawbody", "uri", "full",
				   "mimeheader", "meta"; eval rules "header eval", ... */
	double score;		/* score set 0; 0 = not run */
	const char *unsupported;	/* why it cannot run; NULL = supported */
};

MAVIS_API size_t mavis_sa_rules_count(const struct mavis_sa_rules *r);
/* Rule i (0 <= i < count) in evaluation order; false when out of range. */
MAVIS_API bool mavis_sa_rule_get(const struct mavis_sa_rules *r, size_t i,
				 struct mavis_sa_rule_info *out);
/* required_score of the rule files (5.0 when they set none). */
MAVIS_API double mavis_sa_required_score(const struct mavis_sa_rules *r);

/*
 * Score one message (header section and body as received). Fills out as a
 * spam scanner does: status OK, score, threshold = required_score, the hit
 * rules with a nonzero score sorted by name. Returns 0, or a negative status
 * with err set (MAVIS_ERR_PARSE when the message cannot be read at all,
 * MAVIS_ERR_RESOURCE when memory is short); never a score on failure.
 */
MAVIS_API int mavis_sa_check(const struct mavis_sa_rules *r, const void *msg, size_t len,
			     struct mavis_arena *a, struct mavis_spam_result *out,
			     struct mavis_error *err);

/*
 * What the filter's own DKIM, SPF and DMARC checks found, for the eval
 * rules of SpamAssassin's DKIM, SPF and DMARC plugins (DKIM_VALID,
 * SPF_PASS, DMARC_REJECT, ...), as amavisd hands its DKIM results to
 * SpamAssassin. A part whose check did not run leaves its rules without a
 * hit, as SpamAssassin without network tests.
 */
enum mavis_sa_spf {
	MAVIS_SA_SPF_NONE, MAVIS_SA_SPF_PASS, MAVIS_SA_SPF_FAIL, MAVIS_SA_SPF_SOFTFAIL,
	MAVIS_SA_SPF_NEUTRAL, MAVIS_SA_SPF_TEMPERROR, MAVIS_SA_SPF_PERMERROR
};
enum mavis_sa_dmarc {
	MAVIS_SA_DMARC_MISSING,		/* no policy for the From domain */
	MAVIS_SA_DMARC_PASS,
	MAVIS_SA_DMARC_REJECT,		/* fail, policy reject */
	MAVIS_SA_DMARC_QUARANTINE,	/* fail, policy quarantine */
	MAVIS_SA_DMARC_NONE,		/* fail, policy none */
	MAVIS_SA_DMARC_ERROR,		/* temperror, permerror: no rule hits */
};
struct mavis_sa_dkim_sig {
	const char *sdid;	/* the domain of i=, else d= (lower case) */
	bool valid;		/* pass, with a key as strong as dkim_minimum_key_bits */
};
struct mavis_sa_auth {
	bool dkim_checked;
	const struct mavis_sa_dkim_sig *sigs;
	size_t n_sigs;
	bool spf_checked;
	enum mavis_sa_spf spf, spf_helo;
	bool dmarc_checked;
	enum mavis_sa_dmarc dmarc;
	const char *envelope_from_domain;	/* for DKIM_VALID_EF; NULL = none */
};

/* mavis_sa_check() with the results of our own checks (auth may be NULL:
   as mavis_sa_check). */
MAVIS_API int mavis_sa_check_auth(const struct mavis_sa_rules *r, const void *msg, size_t len,
				  const struct mavis_sa_auth *auth, struct mavis_arena *a,
				  struct mavis_spam_result *out, struct mavis_error *err);

#endif
