/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_SESSION_H
#define MAVIS_SESSION_H

#include <mavis/api.h>

/*
 * The message pipeline. An engine is the process-wide state (current config
 * snapshot, shared scanners); a session is one SMTP connection (or one
 * mavisctl scan); a session carries at most one message at a time. Stage
 * functions follow the milter callbacks: work is done at the
 * earliest stage that has the data.
 *
 * Failures while a message is received (spool I/O, bounds) do not abort the
 * session: they are recorded and the end-of-message verdict carries them
 * (OVERSIZED, BADH, or a tempfail from mavis_reply_for_failure). Every path
 * frees: mavis_session_reset() drops the message, mavis_session_free() the
 * connection. A session belongs to one thread at a time; no locks inside.
 */

#include <stdbool.h>
#include <stddef.h>

#include <mavis/config.h>
#include <mavis/error.h>
#include <mavis/verdict.h>

struct mavis_engine;
struct mavis_session;

/* Build an engine on cfg (takes its own reference). Loads shared scanners
   the config asks for (banned rules, virus scanners). */
MAVIS_API int mavis_engine_new(struct mavis_config *cfg, struct mavis_engine **out,
		     struct mavis_error *err);
/* Swap in a new config (atomic: each message pins the config current at
   its MAIL FROM, so messages in flight keep theirs and every session takes
   the new one at its next message). On error the old config stays. */
MAVIS_API int mavis_engine_reload(struct mavis_engine *engine, struct mavis_config *cfg,
			struct mavis_error *err);
/* Look for changed virus signatures (periodic, force=false) or reload them
   (SIGUSR1, force=true); a failed load keeps the old engine. In degraded mode
   (av_degraded_start) retries building the scanners. Returns 0 or the error
   (already logged). */
MAVIS_API int mavis_engine_check_signatures(struct mavis_engine *engine, bool force,
				  struct mavis_error *err);
/* Current config with a new reference (caller unrefs). */
MAVIS_API struct mavis_config *mavis_engine_config(struct mavis_engine *engine);
MAVIS_API void mavis_engine_free(struct mavis_engine **engine);

struct mavis_session_info {
	const char *client_addr;	/* "192.0.2.1" / "2001:db8::1", NULL if unknown */
	const char *client_name;	/* reverse name or "unknown", may be NULL */
	const char *daemon_name;	/* {daemon_name}, may be NULL */
	bool non_smtpd;			/* pickup/sendmail: never refuse at RCPT */
};

/* New session: pins the current config (until its first message re-pins)
   and selects the connection banks. */
MAVIS_API int mavis_session_new(struct mavis_engine *engine, const struct mavis_session_info *info,
		      struct mavis_session **out, struct mavis_error *err);
MAVIS_API void mavis_session_free(struct mavis_session **session);

/* The effective settings view of the session (banks applied). */
MAVIS_API const struct mavis_view *mavis_session_view(const struct mavis_session *s);
/* Log prefix: the queue id if known, else a session id. Never NULL. */
MAVIS_API const char *mavis_session_log_id(const struct mavis_session *s);

MAVIS_API void mavis_session_helo(struct mavis_session *s, const char *helo);

/* MAIL FROM: starts a message on the config current now (the connection
   banks are selected again if a reload happened). sender without <> ("" =
   null sender); auth_authen is {auth_authen} (NULL = not authenticated). */
MAVIS_API int mavis_session_mail(struct mavis_session *s, const char *sender, const char *auth_authen,
		       struct mavis_error *err);
/* RCPT TO: resolves the recipient's settings once. Returns 0 to accept, 1 to
   refuse this recipient with *reply (never for non_smtpd sessions), or a
   negative status. */
MAVIS_API int mavis_session_rcpt(struct mavis_session *s, const char *rcpt, struct mavis_reply *reply,
		       struct mavis_error *err);
/* Mark the session as non-SMTP mail (pickup/sendmail via cleanup) or not.
   A milter learns this only at the first RCPT (no {rcpt_mailer}), after the
   session was created; mavis_session_rcpt then never refuses a recipient
   and keeps every one of them in the message. */
MAVIS_API void mavis_session_set_non_smtpd(struct mavis_session *s, bool non_smtpd);
/* The MTA's queue id, as soon as it is known. */
MAVIS_API void mavis_session_set_queue_id(struct mavis_session *s, const char *qid);
/* One header field as received (value byte-exact: leading space, folding). */
MAVIS_API void mavis_session_header(struct mavis_session *s, const char *name, const char *value);
MAVIS_API void mavis_session_eoh(struct mavis_session *s);
/* A body chunk (CRLF lines, may contain NUL). */
MAVIS_API void mavis_session_body(struct mavis_session *s, const void *data, size_t len);
/* Feed a whole raw message (header section + body) instead of the three
   calls above: the header section is split exactly as the MTA would. */
MAVIS_API void mavis_session_raw_message(struct mavis_session *s, const void *data, size_t len);
/* End of message: run every check and return the verdict: always one, and
   final (what the milter does, non-SMTP policy included; an internal
   failure yields the on_internal_error answer). The verdict lives until
   mavis_session_reset(). */
MAVIS_API const struct mavis_verdict *mavis_session_eom(struct mavis_session *s);
/* Log the main line for the verdict (amavisd style). */
MAVIS_API void mavis_session_log_verdict(struct mavis_session *s, const struct mavis_verdict *v);
/* End the message (after eom, RSET or abort); the session stays. */
MAVIS_API void mavis_session_reset(struct mavis_session *s);

/* Process-wide counters. */
struct mavis_stats {
	unsigned long sessions, messages, accepted, rejected, tempfailed, discarded;
};
MAVIS_API void mavis_stats_get(struct mavis_stats *out);

#endif
