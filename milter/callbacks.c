/* SPDX-License-Identifier: GPL-2.0-or-later */
/* callbacks.c - libmilter callbacks: each one hands its data to libmavis */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <mavis/alloc.h>
#include <mavis/log.h>

#include "mavisd.h"

static struct mavis_engine *engine;
static atomic_int sessions_active;
static atomic_bool draining;	/* stopping: no new sessions */
static atomic_ulong sessions_closed;

/* Per connection: the libmavis session and what only the milter knows. */
struct conn {
	struct mavis_session *s;
	bool in_message;
	bool non_smtpd;		/* no {rcpt_mailer}: pickup/sendmail via cleanup */
	bool failed;		/* session could not be created: tempfail */
	unsigned long pflags;	/* negotiated protocol flags (SMFIP_NR_*) */
};

/* With SMFIP_NR_<stage> negotiated the callback must answer NOREPLY, or
   libmilter logs that the filter "lied" and forces it anyway. */
static sfsistat
cont(const struct conn *c, unsigned long nr_bit)
{
	return (c != NULL && (c->pflags & nr_bit)) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static struct conn *
conn_get(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c == NULL) {
		c = mavis_xcalloc(1, sizeof(*c));
		smfi_setpriv(ctx, c);
		atomic_fetch_add(&sessions_active, 1);
	}
	return c;
}

void
mavisd_callbacks_init(struct mavis_engine *e)
{
	engine = e;
}

int
mavisd_sessions_active(void)
{
	return atomic_load(&sessions_active);
}

void
mavisd_callbacks_drain(void)
{
	atomic_store(&draining, true);
}

bool
mavisd_callbacks_draining(void)
{
	return atomic_load(&draining);
}

unsigned long
mavisd_sessions_closed(void)
{
	return atomic_load(&sessions_closed);
}

static struct conn *
conn_of(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

static const char *
macro(SMFICTX *ctx, const char *name)
{
	return smfi_getsymval(ctx, (char *)(uintptr_t)name);
}

static const char *
log_id(struct conn *c)
{
	return c && c->s ? mavis_session_log_id(c->s) : NULL;
}

/* The queue id appears at DATA in Postfix; pick it up whenever it is there. */
static void
note_queue_id(SMFICTX *ctx, struct conn *c)
{
	const char *qid = macro(ctx, "i");

	if (c->s && qid && *qid)
		mavis_session_set_queue_id(c->s, qid);
}

/* The envelope address of argv[0] without its angle brackets. Returns false
   when it does not fit: a cut address would be looked up as another one. */
static bool
envelope_addr(char *dst, size_t size, char **argv)
{
	const char *a = argv && argv[0] ? argv[0] : "";
	size_t n = strlen(a);

	if (n >= 2 && a[0] == '<' && a[n - 1] == '>') {
		a++;
		n -= 2;
	}
	if (n >= size)
		return false;
	memcpy(dst, a, n);
	dst[n] = '\0';
	return true;
}

static sfsistat
fail_tempfail(SMFICTX *ctx, struct conn *c, const char *why)
{
	mavis_log_err(log_id(c), "%s: tempfail", why);
	mavisd_setreply(ctx, "451", "4.7.1", "Service temporarily unavailable, try again later");
	return SMFIS_TEMPFAIL;
}

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
	     unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
	     unsigned long *pf3)
{
	unsigned long want_actions = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_ADDRCPT |
				     SMFIF_DELRCPT | SMFIF_QUARANTINE | SMFIF_SETSYMLIST;
	/* No reply needed at the stages where mavisd never answers, except
	   DATA (see cb_data). */
	unsigned long no_reply = SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_HDR |
				 SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_NR_UNKN;
	unsigned long want_proto = SMFIP_HDR_LEADSPC | SMFIP_RCPT_REJ | SMFIP_NOUNKNOWN;

	/* While stopping, connect must be answerable: new sessions get a
	   tempfail there (cb_connect). */
	if (atomic_load(&draining))
		no_reply &= ~SMFIP_NR_CONN;
	/* Ask only for what the MTA offers, or libmilter refuses the session. */
	*pf0 = want_actions & f0;
	*pf1 = (no_reply | want_proto) & f1;
	conn_get(ctx)->pflags = *pf1;
	*pf2 = 0;
	*pf3 = 0;
	if ((f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_DELRCPT)) !=
	    (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_DELRCPT))
		mavis_log_warn(NULL, "MTA does not offer header and recipient edits (actions %#lx)", f0);
	if (f0 & SMFIF_SETSYMLIST) {
		/* Works also without: Postfix's default macro lists carry most. */
		smfi_setsymlist(ctx, SMFIM_CONNECT,
				(char *)(uintptr_t)"j {daemon_name} {daemon_addr} {client_addr} {client_name} _");
		smfi_setsymlist(ctx, SMFIM_ENVFROM,
				(char *)(uintptr_t)"i {auth_type} {auth_authen} {auth_author} {mail_addr}");
		smfi_setsymlist(ctx, SMFIM_ENVRCPT,
				(char *)(uintptr_t)"i {rcpt_addr} {rcpt_host} {rcpt_mailer}");
		smfi_setsymlist(ctx, SMFIM_EOH, (char *)(uintptr_t)"i");
		smfi_setsymlist(ctx, SMFIM_EOM, (char *)(uintptr_t)"i");
	}
	return SMFIS_CONTINUE;
}

static sfsistat
cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
	struct conn *c = conn_get(ctx);
	struct mavis_session_info info = { 0 };
	struct mavis_error err = { 0 };
	char addr[INET6_ADDRSTRLEN] = "";

	if (atomic_load(&draining)) {
		/* Stopping: sessions in flight finish, new ones are not filtered
		   (451 4.7.1). If draining began after negotiate, connect has no
		   reply: the first stage that has one answers (c->failed). */
		c->failed = true;
		if (c->pflags & SMFIP_NR_CONN)
			return SMFIS_NOREPLY;
		return SMFIS_TEMPFAIL;
	}
	if (hostaddr != NULL && hostaddr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)hostaddr)->sin_addr, addr, sizeof(addr));
	else if (hostaddr != NULL && hostaddr->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)hostaddr)->sin6_addr, addr, sizeof(addr));
	info.client_addr = addr[0] ? addr : macro(ctx, "{client_addr}");
	info.client_name = hostname;
	info.daemon_name = macro(ctx, "{daemon_name}");
	if (mavis_session_new(engine, &info, &c->s, &err) < 0) {
		/* Remember and answer at the first stage that has a reply. */
		mavis_log_err(NULL, "session setup failed: %s", err.text);
		c->failed = true;
	}
	return cont(c, SMFIP_NR_CONN);
}

static sfsistat
cb_helo(SMFICTX *ctx, char *helo)
{
	struct conn *c = conn_of(ctx);

	if (c && c->s)
		mavis_session_helo(c->s, helo);
	return cont(c, SMFIP_NR_HELO);
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn *c = conn_of(ctx);
	struct mavis_error err = { 0 };
	char sender[1024];

	if (c == NULL || c->failed)
		return cont(c, SMFIP_NR_MAIL);	/* answered at RCPT or EOM */
	if (c->in_message)
		mavis_session_reset(c->s);
	if (!envelope_addr(sender, sizeof(sender), argv)) {
		mavis_log_err(log_id(c), "MAIL FROM: sender address too long");
		c->failed = true;
		return cont(c, SMFIP_NR_MAIL);
	}
	if (mavis_session_mail(c->s, sender, macro(ctx, "{auth_authen}"), &err) < 0) {
		mavis_log_err(log_id(c), "MAIL FROM: %s", err.text);
		c->failed = true;
		return cont(c, SMFIP_NR_MAIL);
	}
	c->in_message = true;
	/* Postfix's smtpd already knows the queue id at MAIL FROM. */
	note_queue_id(ctx, c);
	return cont(c, SMFIP_NR_MAIL);
}

static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn *c = conn_of(ctx);
	struct mavis_reply reply;
	struct mavis_error err = { 0 };
	const char *mailer = macro(ctx, "{rcpt_mailer}");
	char rcpt[1024];
	int rc;

	if (c == NULL)
		return SMFIS_CONTINUE;
	c->non_smtpd = (mailer == NULL);
	/* SMFIP_RCPT_REJ: recipients the MTA already rejected come with the
	   error mailer; they are not part of the message. */
	if (mailer != NULL && strcmp(mailer, "error") == 0)
		return SMFIS_CONTINUE;
	if (c->failed || !c->in_message) {
		/* Never refuse simulated RCPTs of non-SMTP mail: the whole message
		   answers at EOM instead. */
		if (c->non_smtpd)
			return SMFIS_CONTINUE;
		return fail_tempfail(ctx, c, "no session state at RCPT");
	}
	if (!envelope_addr(rcpt, sizeof(rcpt), argv)) {
		if (c->non_smtpd) {
			c->failed = true;	/* the whole message tempfails at EOM */
			return SMFIS_CONTINUE;
		}
		return fail_tempfail(ctx, c, "recipient address too long");
	}
	note_queue_id(ctx, c);
	/* Only now is it known whether this is non-SMTP mail; the session must
	   know too, or it refuses (and drops from the verdict) recipients past
	   max_recipients that the milter cannot refuse. */
	mavis_session_set_non_smtpd(c->s, c->non_smtpd);
	rc = mavis_session_rcpt(c->s, rcpt, &reply, &err);
	if (rc < 0) {
		mavis_log_err(log_id(c), "RCPT TO <%s>: %s", rcpt, err.text);
		if (c->non_smtpd) {
			c->failed = true;
			return SMFIS_CONTINUE;
		}
		return fail_tempfail(ctx, c, "recipient lookup failed");
	}
	if (rc == 1 && !c->non_smtpd) {
		mavisd_setreply(ctx, reply.rcode, reply.xcode, reply.text);
		return reply.rcode[0] == '4' ? SMFIS_TEMPFAIL : SMFIS_REJECT;
	}
	return SMFIS_CONTINUE;
}

/*
 * Why mavisd answers DATA although it has nothing to say there: Postfix
 * flushes the DATA-stage macros to the milter in a small TCP segment of its
 * own, then writes the header packets. With no reply to DATA, the kernel on
 * mavisd's side delays its ACK (40 ms on Linux) and Nagle's algorithm on
 * Postfix's socket holds the header packets until that ACK: every message
 * over an inet: milter socket lost 40 ms (bench/README, strace of mavisd).
 * The reply carries the ACK at the cost of one round trip (~0.1 ms).
 */
static sfsistat
cb_data(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn *c = conn_of(ctx);

	if (c && c->s && c->in_message) {
		if (c->pflags & SMFIP_HDR_LEADSPC) {
			mavis_session_header(c->s, name, value);
		} else {
			/* Without HDR_LEADSPC the MTA stripped the space after the
			   colon; put the usual one back so the bytes match the mail. */
			size_t n = strlen(value);
			char *v = mavis_xmalloc(n + 2);

			v[0] = ' ';
			memcpy(v + 1, value, n + 1);
			mavis_session_header(c->s, name, v);
			free(v);
		}
	}
	return cont(c, SMFIP_NR_HDR);
}

static sfsistat
cb_eoh(SMFICTX *ctx)
{
	struct conn *c = conn_of(ctx);

	if (c && c->s && c->in_message) {
		note_queue_id(ctx, c);
		mavis_session_eoh(c->s);
	}
	return cont(c, SMFIP_NR_EOH);
}

static sfsistat
cb_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
	struct conn *c = conn_of(ctx);

	if (c && c->s && c->in_message)
		mavis_session_body(c->s, data, len);
	return cont(c, SMFIP_NR_BODY);
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
	struct conn *c = conn_of(ctx);
	const struct mavis_verdict *v;
	sfsistat st;

	if (c == NULL || c->failed || c->s == NULL || !c->in_message) {
		if (c && c->s && c->in_message)
			mavis_session_reset(c->s);
		if (c) {
			c->in_message = false;
			/* The next transaction starts clean (a session that could
			   not be created stays failed). */
			if (c->s)
				c->failed = false;
		}
		return fail_tempfail(ctx, c, "message state lost before end of message");
	}
	note_queue_id(ctx, c);
	v = mavis_session_eom(c->s);
	st = mavisd_apply_verdict(ctx, v, (c->pflags & SMFIP_HDR_LEADSPC) != 0, log_id(c));
	mavis_session_log_verdict(c->s, v);
	mavis_session_reset(c->s);
	c->in_message = false;
	return st;
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
	struct conn *c = conn_of(ctx);

	if (c && c->s && c->in_message)
		mavis_session_reset(c->s);
	if (c) {
		c->in_message = false;
		/* A failed MAIL stage must not poison the next transaction. */
		if (c->s)
			c->failed = false;
	}
	return SMFIS_CONTINUE;
}

static sfsistat
cb_close(SMFICTX *ctx)
{
	struct conn *c = conn_of(ctx);

	if (c != NULL) {
		mavis_session_free(&c->s);
		free(c);
		smfi_setpriv(ctx, NULL);
		atomic_fetch_sub(&sessions_active, 1);
		atomic_fetch_add(&sessions_closed, 1);
	}
	return SMFIS_CONTINUE;
}

struct smfiDesc mavisd_filter = {
	.xxfi_name = (char *)(uintptr_t)"mavisd",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_ADDRCPT | SMFIF_DELRCPT | SMFIF_QUARANTINE,
	.xxfi_connect = cb_connect,
	.xxfi_helo = cb_helo,
	.xxfi_envfrom = cb_envfrom,
	.xxfi_envrcpt = cb_envrcpt,
	.xxfi_header = cb_header,
	.xxfi_eoh = cb_eoh,
	.xxfi_body = cb_body,
	.xxfi_eom = cb_eom,
	.xxfi_abort = cb_abort,
	.xxfi_close = cb_close,
	.xxfi_unknown = NULL,
	.xxfi_data = cb_data,
	.xxfi_negotiate = cb_negotiate,
};
