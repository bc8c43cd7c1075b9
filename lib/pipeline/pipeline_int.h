/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pipeline_int.h - session and message state shared by the files of lib/pipeline */
#ifndef MAVIS_PIPELINE_INT_H
#define MAVIS_PIPELINE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include <mavis/arena.h>
#include <mavis/av.h>
#include <mavis/badh.h>
#include <mavis/banned.h>
#include <mavis/headers.h>
#include <mavis/parts.h>
#include <mavis/config.h>
#include <mavis/filetype.h>
#include <mavis/session.h>
#include <mavis/spam.h>
#include <mavis/stats.h>

#include "msg/mail_id.h"
#include "msg/spool.h"
#include "checks/check.h"
#include "auth/auth_int.h"
#include "dkim/dkim_int.h"
#include "verdict/decide.h"
#include "verdict/rcpt.h"

/* What a message pins: one config snapshot and the scanners built for it.
   Swapped whole on reload; freed by the last user. */
struct engine_state {
	atomic_int refs;
	struct mavis_config *cfg;
	struct mavis_av *av;		/* NULL: no av_scanners, or degraded */
	const char *av_error;		/* why av is NULL while scanners are set */
	struct mavis_banned_rules *banned;	/* NULL: banned_rules_file = none */
	struct mavis_spam_scanners *spam;	/* NULL: no spam_scanners */
	struct mavis_filetype_pool *filetypes;	/* libmagic handles for decoding */
	struct dkim_engine *dkim;	/* DKIM library handles, resolver, keys */
	struct auth_engine *auth;	/* SPF and DMARC on dkim's resolver, or NULL */
	struct mavis_arena *arena;	/* settings arrays for av */
};

struct mavis_engine {
	pthread_mutex_t lock;	/* guards cur swaps only */
	struct engine_state *cur;
};

struct engine_state *engine_state_pin(struct mavis_engine *e);
void engine_state_unpin(struct engine_state **st);

struct msg {
	struct mavis_arena *arena;
	const char *sender;
	bool authenticated;
	const char *auth_user;		/* {auth_authen}, or NULL */
	char mail_id[MAVIS_MAIL_ID_LEN + 1];
	char secret_id[MAVIS_MAIL_ID_LEN + 1];
	struct mavis_rcpt *rcpts;
	size_t nrcpts, caprcpts;
	struct mavis_headers *headers;	/* as received, byte-exact */
	struct mavis_badh_result *badh;	/* header checks, run at EOH */
	unsigned badh_allowed;		/* allowed_header_tests as bits */
	uint64_t header_bytes;
	bool header_overflow;	/* max_header_count / max_header_size hit: the
				   spool still has every byte, the field list not */
	bool eoh_done;
	struct dkim_verify *dkim;	/* fed as the message streams in, or NULL */
	struct auth_spf *spf;		/* SPF results of MAIL FROM, or NULL */
	struct mavis_spool *spool;
	uint64_t size;		/* every byte received, stored or not */
	int64_t rx_time;	/* MAIL FROM, Unix time (msgs.time_num) */
	bool oversized;		/* over message_size_limit: stop storing */
	int fail_status;	/* first internal failure, 0 = none */
	char fail_text[256];
	struct mavis_verdict *verdict;
	struct timespec start;
	size_t bank_depth;	/* view depth before the message's own banks */
	char quar_type;		/* first copy kept: 'F' 'Z' 'Q', 0 none (SQL log) */
	const char *quar_loc;	/* its amavisd quar_loc */
};

struct mavis_session {
	struct mavis_engine *engine;
	/* The config (and scanners) current at the last MAIL FROM, and the
	   view on it with the connection's banks: re-pinned per message, so
	   that a reload reaches long SMTP sessions at their next message. */
	struct engine_state *st;
	struct mavis_view *view;
	struct mavis_arena *conn_arena;
	const char *client_addr, *client_name, *daemon_name, *helo;
	bool non_smtpd;
	char log_id[64];
	char queue_id[64];
	int slot;		/* registry slot (mavis/stats.h), -1 = unlisted */
	struct msg *msg;
};

/* keep.c: store the quarantine copies the verdict calls for (what a
   recipient did not get) and add the X-Quarantine-ID edit. Returns 0, or
   a negative status when a copy could not be stored. */
int msg_quarantine(struct mavis_session *s, struct msg *m, struct mavis_verdict *v,
		   const void *raw, size_t rawlen);

/* sqllog.c: the message's msgs row (content NULL) at mail_id time, and the
   rest (msgs completed, msgrcpt rows) after the verdict; queued for the SQL
   log writer when sql_log is on, no-ops otherwise. Never block. */
void msg_sql_log_begin(struct mavis_session *s, struct msg *m);
/* Log the SQL lookups of m that failed and were taken as "not found"
   (on_sql_failure = pass) since the last call; what = where ("RCPT <x>"). */
void msg_log_sql_passed(struct mavis_session *s, struct msg *m, const char *what);
void msg_sql_log_end(struct mavis_session *s, struct msg *m, const struct mavis_verdict *v);

/* pipeline.c: every end-of-message check, then the verdict. Never NULL. */
struct mavis_verdict *msg_run_checks(struct mavis_session *s, struct msg *m);

/* sign.c: add the DKIM-Signature of an accepted originating message as the
   last edit of v (over the header section with v's edits applied). A
   failure is logged; the mail goes unsigned. */
void msg_dkim_sign(struct mavis_session *s, struct msg *m, struct mavis_verdict *v,
		   const void *raw, size_t rawlen);

/* stats.c: a session started; a verdict given after usec of end-of-message
   work (messages by category and action, recipients by category and
   destiny, the latency histogram). */
void stats_count_session(void);
void stats_count_verdict(const struct mavis_verdict *v, unsigned long usec);

/* Record the first internal failure of a message (later ones are logged only). */
void msg_fail(struct mavis_session *s, struct msg *m, int status, const char *fmt, ...)
	MAVIS_PRINTF(4, 5);

/* Value (leading space kept) of the n-th (1-based) field named name
   (case-insensitive), or NULL. */
const char *msg_header_value(const struct msg *m, const char *name, size_t n);

#endif
