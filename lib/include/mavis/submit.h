/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_SUBMIT_H
#define MAVIS_SUBMIT_H

#include <mavis/api.h>

/*
 * Hand a message back to the MTA, as amavisd's $release_method does for a
 * quarantine release: through sendmail(1) or over SMTP. The result is per
 * recipient, with the MTA's own reply, so the caller can print or return one
 * line per recipient (amavisd-release style).
 *
 * Method strings (config key release_method):
 *   sendmail:/usr/sbin/sendmail [ARG...]   the program and extra arguments,
 *                                          split at white space (no quoting),
 *                                          e.g. "-C /etc/postfix-out"
 *   smtp:[HOST]:PORT  smtp:[HOST]  smtp:HOST:PORT  smtp:HOST
 *                                          HOST a name or address ([::1] for
 *                                          IPv6), PORT 25 when left out
 *
 * sendmail runs as PROGRAM ARG... -i -f SENDER -- RCPT..., the message on its
 * standard input with LF line ends; its exit status decides for every
 * recipient (0 accepted, 75 EX_TEMPFAIL or a signal 4xx, else 5xx).
 * SMTP: EHLO (HELO when refused), MAIL FROM, one RCPT TO per recipient, DATA
 * with CRLF line ends and dot-stuffing, QUIT; BODY=8BITMIME and SMTPUTF8 are
 * added when the message or an address needs them and the server offers them.
 *
 * The caller must ignore SIGPIPE (mavisd and mavisctl do): a sendmail that
 * exits early must not kill the process. Thread-safe; no state is kept.
 */

#include <stddef.h>

#include <mavis/arena.h>
#include <mavis/error.h>

#define MAVIS_SUBMIT_ARGS_MAX 32	/* words of a sendmail: method */
#define MAVIS_SUBMIT_REPLY_MAX 512	/* one reply line kept per recipient */

enum mavis_submit_kind { MAVIS_SUBMIT_SENDMAIL, MAVIS_SUBMIT_SMTP };

struct mavis_submit_method {
	enum mavis_submit_kind kind;
	const char *spec;	/* the method string as parsed */
	const char *argv[MAVIS_SUBMIT_ARGS_MAX + 1];	/* sendmail: program, args, NULL */
	size_t argc;
	const char *host;	/* smtp: without brackets */
	const char *port;	/* smtp: decimal */
};

/* Parse a method string into *m (strings from arena). Returns 0 or
   MAVIS_ERR_CONFIG with err saying what is wrong. */
MAVIS_API int mavis_submit_parse(const char *spec, struct mavis_arena *arena,
		       struct mavis_submit_method *m, struct mavis_error *err);

struct mavis_submit_opts {
	const char *helo_name;	/* EHLO argument; NULL or "" = "localhost" */
	int connect_timeout;	/* seconds; 0 = 30 */
	int io_timeout;		/* seconds per read, write or wait; 0 = 300 */
};

/* One recipient: the address in, the verdict out. */
struct mavis_submit_rcpt {
	const char *addr;	/* in: RFC 5321 external form without <> */
	int code;		/* out: SMTP reply code; 2xx = accepted */
	char reply[MAVIS_SUBMIT_REPLY_MAX];	/* out: "250 2.0.0 Ok: queued as X" or
						   "450 4.4.1 connect to ...: refused" */
};

/* The message as pieces sent one after the other (Resent- fields, then the
   original bytes): no copy of a large message is needed. */
struct mavis_submit_part {
	const void *data;
	size_t len;
};

/*
 * Submit the message from sender ("" = null sender) to every rcpts[i].addr
 * and fill each rcpts[i].code and reply. Failures that are not the MTA's
 * answer (connect, timeout, exec) are reported as 450 replies with the cause.
 * Returns the number of recipients accepted, or a negative status when the
 * arguments are unusable (an address with CR/LF, no recipient; err set, no
 * submission attempted).
 */
MAVIS_API int mavis_submit(const struct mavis_submit_method *m, const struct mavis_submit_opts *opts,
		 const char *sender, struct mavis_submit_rcpt *rcpts, size_t nrcpts,
		 const struct mavis_submit_part *parts, size_t nparts, struct mavis_error *err);

#endif
