/* SPDX-License-Identifier: GPL-2.0-or-later */
/* scanners.c - the spam scanner list: specs parsed once, failover per message */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/alloc.h>
#include <mavis/buf.h>
#include <mavis/log.h>
#include <mavis/sa.h>
#include <mavis/sa_bayes.h>
#include <mavis/stats.h>

#include "spam_int.h"

#define SPAM_TIMEOUT_DEFAULT 30000u
#define SPAM_CONNECT_DEFAULT 10000u
#define SPAM_REPLY_DEFAULT (1024u * 1024u)

enum scanner_kind { SCANNER_SPAMD, SCANNER_RSPAMD, SCANNER_NATIVE };

struct scanner {
	char *spec;
	int stats_slot;		/* mavis_stats_scanner_slot */
	enum scanner_kind kind;
	union {
		struct spamd_client spamd;
		struct rspamd_client rspamd;
		struct mavis_sa_rules *native;	/* shared by every scan, read-only */
	} u;
	struct mavis_sa_bayes *bayes;	/* native with Bayes; NULL = without */
	int bayes_slot;			/* its series (calls, failures, time) */
};

struct mavis_spam_scanners {
	struct scanner *v;
	size_t n;
	unsigned timeout_ms, connect_timeout_ms;
	size_t max_reply;
};

void
mavis_spam_settings_init(struct mavis_spam_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->timeout_ms = SPAM_TIMEOUT_DEFAULT;
	s->connect_timeout_ms = SPAM_CONNECT_DEFAULT;
	s->max_reply = SPAM_REPLY_DEFAULT;
}

static int
scanner_init(struct scanner *sc, const char *spec, const struct mavis_spam_settings *set,
	     struct mavis_error *err)
{
	int rc;

	sc->spec = mavis_xstrdup(spec);
	if (strcmp(spec, "native") == 0) {
		sc->kind = SCANNER_NATIVE;
		rc = mavis_sa_rules_load(set->sa_rules_dirs, &sc->u.native, err);
		if (rc == 0 && set->bayes_dsn != NULL && set->bayes_dsn[0] != '\0') {
			struct mavis_sa_bayes_opts bo = {
				.dsn = set->bayes_dsn, .username = set->bayes_username,
				.timeout_ms = set->bayes_timeout_ms,
			};

			rc = mavis_sa_bayes_new(sc->u.native, &bo, &sc->bayes, err);
			sc->bayes_slot = rc == 0 ? mavis_stats_scanner_slot("bayes", "native") : -1;
		}
		if (rc < 0)
			mavis_error_prefix(err, "native spam scanner: ");
		return rc;
	}
	if (strncmp(spec, "spamd:", 6) == 0) {
		sc->kind = SCANNER_SPAMD;
		rc = spamd_client_init(&sc->u.spamd, spec + 6, err);
	} else if (strncmp(spec, "rspamd:", 7) == 0) {
		sc->kind = SCANNER_RSPAMD;
		rc = rspamd_client_init(&sc->u.rspamd, spec + 7, err);
	} else {
		return mavis_error_set(err, MAVIS_ERR_CONFIG,
				       "unknown spam scanner \"%s\": want spamd:inet:HOST:PORT, "
				       "spamd:unix:/path, rspamd:http://HOST:PORT or native", spec);
	}
	if (rc < 0)
		mavis_error_prefix(err, "spam scanner \"%s\": ", spec);
	else	/* only a valid spec gets a series (see av_scan.c) */
		sc->stats_slot = mavis_stats_scanner_slot("spam", spec);
	return rc;
}

static void
scanner_fini(struct scanner *sc)
{
	if (sc->kind == SCANNER_RSPAMD && sc->u.rspamd.url != NULL)
		rspamd_client_free(&sc->u.rspamd);
	if (sc->kind == SCANNER_NATIVE) {
		mavis_sa_bayes_free(&sc->bayes);
		mavis_sa_rules_free(&sc->u.native);
	}
	free(sc->spec);
}

int
mavis_spam_scanners_new(const struct mavis_spam_settings *set, struct mavis_spam_scanners **out,
			struct mavis_error *err)
{
	struct mavis_spam_scanners *s;
	size_t n = 0;

	if (set == NULL || out == NULL)
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "mavis_spam_scanners_new: NULL");
	while (set->scanners != NULL && set->scanners[n] != NULL)
		n++;
	s = mavis_xcalloc(1, sizeof(*s));
	s->v = mavis_xcalloc(n ? n : 1, sizeof(*s->v));
	s->timeout_ms = set->timeout_ms ? set->timeout_ms : SPAM_TIMEOUT_DEFAULT;
	s->connect_timeout_ms = set->connect_timeout_ms ? set->connect_timeout_ms
							: SPAM_CONNECT_DEFAULT;
	if (s->connect_timeout_ms > s->timeout_ms)
		s->connect_timeout_ms = s->timeout_ms;
	s->max_reply = set->max_reply ? set->max_reply : SPAM_REPLY_DEFAULT;
	for (size_t i = 0; i < n; i++) {
		int rc = scanner_init(&s->v[i], set->scanners[i], set, err);

		s->n = i + 1;
		if (rc < 0) {
			mavis_spam_scanners_free(&s);
			return rc;
		}
	}
	*out = s;
	return 0;
}

int
mavis_spam_scanners_from_config(const struct mavis_config *cfg, struct mavis_spam_scanners **out,
				struct mavis_error *err)
{
	const struct mavis_value *v = mavis_config_get(cfg, MAVIS_KEY_SPAM_SCANNERS);
	struct mavis_spam_settings set;
	const struct mavis_value *dv = mavis_config_get(cfg, MAVIS_KEY_SPAMASSASSIN_RULES_DIRS);
	const char **specs = mavis_xcalloc(v->u.list.n + 1, sizeof(*specs));
	const char **dirs = mavis_xcalloc(dv->u.list.n + 1, sizeof(*dirs));
	int rc;

	mavis_spam_settings_init(&set);
	for (size_t i = 0; i < v->u.list.n; i++)
		specs[i] = v->u.list.v[i];
	set.scanners = specs;
	for (size_t i = 0; i < dv->u.list.n; i++)
		dirs[i] = dv->u.list.v[i];
	set.sa_rules_dirs = dirs;
	set.timeout_ms = (unsigned)mavis_config_get(cfg, MAVIS_KEY_SPAM_SCANNER_TIMEOUT)->u.i * 1000u;
	set.bayes_dsn = mavis_config_get(cfg, MAVIS_KEY_SPAM_BAYES_DSN)->u.s;
	set.bayes_username = mavis_config_get(cfg, MAVIS_KEY_SPAM_BAYES_USERNAME)->u.s;
	/* SpamAssassin's default is the user it runs as: mavisd's after the
	   privilege drop, not root, who builds the scanners */
	if (set.bayes_username[0] == '\0')
		set.bayes_username = mavis_config_get(cfg, MAVIS_KEY_DAEMON_USER)->u.s;
	set.bayes_timeout_ms =
		(unsigned)mavis_config_get(cfg, MAVIS_KEY_SPAM_BAYES_TIMEOUT)->u.i * 1000u;
	rc = mavis_spam_scanners_new(&set, out, err);
	if (rc < 0)
		mavis_error_prefix(err, "spam_scanners: ");
	free(specs);
	free(dirs);
	return rc;
}

void
mavis_spam_scanners_free(struct mavis_spam_scanners **sp)
{
	struct mavis_spam_scanners *s = sp ? *sp : NULL;

	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		scanner_fini(&s->v[i]);
	free(s->v);
	free(s);
	*sp = NULL;
}

size_t
mavis_spam_scanners_count(const struct mavis_spam_scanners *s)
{
	return s ? s->n : 0;
}

const char *
mavis_spam_scanner_spec(const struct mavis_spam_scanners *s, size_t i)
{
	return s && i < s->n ? s->v[i].spec : NULL;
}

/* The native engine, with Bayes when configured. A Bayes failure is not a
   scanner failure (SpamAssassin scores without Bayes then): logged with
   the cause, counted in the bayes series, and the message gets score set 0. */
static int
native_check(const struct scanner *sc, const struct mavis_spam_request *req,
	     struct mavis_arena *a, struct mavis_spam_result *r, struct mavis_error *e)
{
	struct mavis_sa_bayes_scan bs;
	struct mavis_error be = { 0 };
	int rc;

	if (sc->bayes == NULL)
		return mavis_sa_check_auth(sc->u.native, req->msg, req->len, req->sa_auth, a, r, e);
	rc = mavis_sa_check_bayes(sc->u.native, sc->bayes, req->msg, req->len, req->sa_auth, a, r, &bs,
				  &be, e);
	if (be.status != 0)
		mavis_log_warn(req->queue_id, "bayes: lookup failed, scored without Bayes: %s", be.text);
	if (sc->bayes_slot >= 0)
		mavis_stats_scanner_call(sc->bayes_slot, be.status == 0, bs.lookup_us);
	return rc;
}

int
mavis_spam_scan(const struct mavis_spam_scanners *s, const struct mavis_spam_request *req,
		struct mavis_arena *a, struct mavis_spam_result *out, struct mavis_error *err)
{
	struct mavis_buf causes = { 0 };
	uint64_t t0 = spam_now_ms();
	int rc = MAVIS_ERR_SCANNER;

	if (s == NULL || req == NULL || a == NULL || out == NULL)
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "mavis_spam_scan: NULL argument");
	memset(out, 0, sizeof(*out));
	out->status = MAVIS_SPAM_FAILED;
	out->threshold = NAN;
	if (s->n == 0)
		mavis_buf_puts(&causes, "no spam scanners configured");
	for (size_t i = 0; i < s->n; i++) {
		struct scanner *sc = &s->v[i];
		struct mavis_spam_result r = { .threshold = NAN };
		struct mavis_error e = { 0 };
		/* Each scanner gets the whole timeout: a dead first scanner must
		   not use up the time of the one that would answer. */
		uint64_t t1 = spam_now_ms();
		struct spam_limits lim = {
			.deadline = spam_now_ms() + s->timeout_ms,
			.connect_timeout_ms = s->connect_timeout_ms,
			.max_reply = s->max_reply,
		};

		if (sc->kind == SCANNER_NATIVE)
			rc = native_check(sc, req, a, &r, &e);
		else if (sc->kind == SCANNER_SPAMD)
			rc = spamd_check(&sc->u.spamd, req, &lim, a, &r, &e);
		else
			rc = rspamd_check(&sc->u.rspamd, req, &lim, a, &r, &e);
		out->scanner = sc->spec;
		mavis_stats_scanner_call(sc->stats_slot, rc == 0, (unsigned long)(spam_now_ms() - t1) * 1000);
		if (rc == 0) {
			r.status = MAVIS_SPAM_OK;
			r.scanner = sc->spec;
			r.error = NULL;
			*out = r;
			break;
		}
		rc = MAVIS_ERR_SCANNER;
		mavis_buf_printf(&causes, "%s%s: %s", causes.len ? "; " : "", sc->spec, e.text);
	}
	out->elapsed_ms = (unsigned)(spam_now_ms() - t0);
	if (rc < 0) {
		out->error = mavis_arena_strdup(a, mavis_buf_str(&causes));
		mavis_error_set(err, MAVIS_ERR_SCANNER, "all spam scanners failed: %s", out->error);
	}
	mavis_buf_free(&causes);
	return rc;
}
