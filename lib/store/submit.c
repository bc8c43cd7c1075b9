/* SPDX-License-Identifier: GPL-2.0-or-later */
/* submit.c - re-submission to the MTA: method strings, encoding, sendmail(1) */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mavis/alloc.h>
#include <mavis/buf.h>
#include <mavis/submit.h>

#include "store_int.h"

extern char **environ;

#define EX_TEMPFAIL_CODE 75	/* <sysexits.h> EX_TEMPFAIL */

/* ---- method strings ---- */

static int
parse_smtp(const char *s, struct mavis_arena *arena, struct mavis_submit_method *m,
	   struct mavis_error *err)
{
	const char *host, *hend, *port = "25";

	if (*s == '[') {
		host = s + 1;
		hend = strchr(host, ']');
		if (hend == NULL)
			return mavis_error_set(err, MAVIS_ERR_CONFIG, "missing ']'");
		if (hend[1] == ':')
			port = hend + 2;
		else if (hend[1] != '\0')
			return mavis_error_set(err, MAVIS_ERR_CONFIG, "junk after ']'");
	} else {
		host = s;
		hend = strchr(s, ':');
		if (hend != NULL)
			port = hend + 1;
		else
			hend = s + strlen(s);
		if (strchr(port, ':') != NULL)
			return mavis_error_set(err, MAVIS_ERR_CONFIG,
					       "an IPv6 address goes in brackets: smtp:[::1]:25");
	}
	if (hend == host)
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "no host");
	for (const char *p = host; p < hend; p++)
		if (*p == ' ' || *p == '\t' || *p == '[' || *p == ']')
			return mavis_error_set(err, MAVIS_ERR_CONFIG, "bad host");
	char *end;
	errno = 0;
	long pn = strtol(port, &end, 10);
	if (*port == '\0' || *end != '\0' || errno || pn < 1 || pn > 65535)
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "bad port \"%s\"", port);
	m->kind = MAVIS_SUBMIT_SMTP;
	m->host = mavis_arena_strndup(arena, host, (size_t)(hend - host));
	m->port = mavis_arena_printf(arena, "%ld", pn);
	return 0;
}

static int
parse_sendmail(const char *s, struct mavis_arena *arena, struct mavis_submit_method *m,
	       struct mavis_error *err)
{
	const char *p = s;

	m->argc = 0;
	while (*p) {
		const char *w;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		w = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		/* Room for the arguments added at submission stays in argv[]. */
		if (m->argc >= MAVIS_SUBMIT_ARGS_MAX)
			return mavis_error_set(err, MAVIS_ERR_CONFIG, "more than %d words",
					       MAVIS_SUBMIT_ARGS_MAX);
		m->argv[m->argc++] = mavis_arena_strndup(arena, w, (size_t)(p - w));
	}
	m->argv[m->argc] = NULL;
	if (m->argc == 0 || m->argv[0][0] != '/')
		return mavis_error_set(err, MAVIS_ERR_CONFIG,
				       "the program must be an absolute path (sendmail:/usr/sbin/sendmail)");
	m->kind = MAVIS_SUBMIT_SENDMAIL;
	return 0;
}

int
mavis_submit_parse(const char *spec, struct mavis_arena *arena, struct mavis_submit_method *m,
		   struct mavis_error *err)
{
	int rc;

	memset(m, 0, sizeof(*m));
	if (spec == NULL)
		spec = "";
	while (*spec == ' ' || *spec == '\t')
		spec++;
	char *s = mavis_arena_strdup(arena, spec);
	for (size_t n = strlen(s); n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'); n--)
		s[n - 1] = '\0';
	m->spec = s;
	for (const char *p = s; *p; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return mavis_error_set(err, MAVIS_ERR_CONFIG,
					       "release method: control character");
	if (strncmp(s, "sendmail:", 9) == 0)
		rc = parse_sendmail(s + 9, arena, m, err);
	else if (strncmp(s, "smtp:", 5) == 0)
		rc = parse_smtp(s + 5, arena, m, err);
	else
		return mavis_error_set(err, MAVIS_ERR_CONFIG,
				       "release method \"%s\": want sendmail:/path or smtp:[HOST]:PORT",
				       s);
	if (rc < 0)
		mavis_error_prefix(err, "release method \"%s\": ", s);
	return rc;
}

/* ---- sendmail(1) ---- */

struct pipe_sink {
	int fd;
	int timeout_ms;
};

static int
pipe_write(void *ctx, const char *data, size_t len, struct mavis_error *err)
{
	struct pipe_sink *ps = ctx;

	while (len > 0) {
		struct pollfd pfd = { .fd = ps->fd, .events = POLLOUT };
		int pr = poll(&pfd, 1, ps->timeout_ms);

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0)
			return mavis_error_set(err, MAVIS_ERR_IO, "timeout writing to sendmail");
		ssize_t n = write(ps->fd, data, len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return mavis_error_set(err, MAVIS_ERR_IO, "write to sendmail: %s",
					       strerror(errno));
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Wait for pid at most timeout_ms, then TERM it (it is our own child). */
static int
wait_child(pid_t pid, int timeout_ms, int *status)
{
	struct timespec step = { 0, 20 * 1000 * 1000 };

	for (int waited = 0;; waited += 20) {
		pid_t w = waitpid(pid, status, WNOHANG);

		if (w == pid)
			return 0;
		if (w < 0 && errno != EINTR)
			return -1;
		if (waited >= timeout_ms)
			break;
		nanosleep(&step, NULL);
	}
	kill(pid, SIGTERM);
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return 1;
}

static int
sendmail_submit(const struct mavis_submit_method *m, int timeout_ms, const char *sender,
		struct mavis_submit_rcpt *r, size_t n, const struct mavis_submit_part *parts,
		size_t nparts)
{
	const char **argv = mavis_xcalloc(m->argc + n + 6, sizeof(*argv));
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dflt;
	int fds[2] = { -1, -1 }, status = 0, rc, accepted = 0;
	size_t k = 0;
	pid_t pid;
	char reply[MAVIS_SUBMIT_REPLY_MAX];
	struct mavis_error err = { 0 };

	for (size_t i = 0; i < m->argc; i++)
		argv[k++] = m->argv[i];
	argv[k++] = "-i";	/* a line with a single "." is text, not the end */
	argv[k++] = "-f";
	/* "<>" is the null sender for Postfix, Sendmail and Exim alike. */
	argv[k++] = sender[0] ? sender : "<>";
	argv[k++] = "--";	/* a recipient starting with '-' is no option */
	for (size_t i = 0; i < n; i++)
		argv[k++] = r[i].addr;
	argv[k] = NULL;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		snprintf(reply, sizeof(reply), "450 4.3.0 pipe: %s", strerror(errno));
		store_rcpt_verdict(r, n, STORE_RCPT_ALL, 450, reply);
		free(argv);
		return 0;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[0], STDIN_FILENO);
	posix_spawnattr_init(&attr);
	/* The child gets default signals: our ignored SIGPIPE and blocked
	   signals are no business of sendmail's. */
	sigemptyset(&none);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGPIPE);
	sigaddset(&dflt, SIGCHLD);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dflt);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(&pid, argv[0], &fa, &attr, (char *const *)(uintptr_t)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(fds[0]);
	free(argv);
	if (rc != 0) {
		close(fds[1]);
		snprintf(reply, sizeof(reply), "450 4.3.0 cannot run %s: %s", m->argv[0], strerror(rc));
		store_rcpt_verdict(r, n, STORE_RCPT_ALL, 450, reply);
		return 0;
	}
	struct pipe_sink ps = { fds[1], timeout_ms };
	int wrc = store_encode(parts, nparts, STORE_ENC_LF, pipe_write, &ps, &err);
	close(fds[1]);
	int w = wait_child(pid, timeout_ms, &status);
	if (w != 0) {
		snprintf(reply, sizeof(reply), "450 4.4.2 %s %s", m->argv[0],
			 w > 0 ? "did not finish in time" : "lost");
		store_rcpt_verdict(r, n, STORE_RCPT_ALL, 450, reply);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && wrc == 0) {
		snprintf(reply, sizeof(reply), "250 2.0.0 Ok, submitted by %s", m->argv[0]);
		store_rcpt_verdict(r, n, STORE_RCPT_ALL, 250, reply);
		accepted = (int)n;
	} else if (WIFEXITED(status) && WEXITSTATUS(status) != 0 &&
		   WEXITSTATUS(status) != EX_TEMPFAIL_CODE) {
		snprintf(reply, sizeof(reply), "550 5.3.0 %s exited with status %d", m->argv[0],
			 WEXITSTATUS(status));
		store_rcpt_verdict(r, n, STORE_RCPT_ALL, 550, reply);
	} else if (WIFSIGNALED(status)) {
		snprintf(reply, sizeof(reply), "450 4.3.0 %s killed by signal %d", m->argv[0],
			 WTERMSIG(status));
		store_rcpt_verdict(r, n, STORE_RCPT_ALL, 450, reply);
	} else {
		/* EX_TEMPFAIL, or exit 0 although we could not write everything. */
		snprintf(reply, sizeof(reply), "450 4.3.0 %s exited with status %d%s%.200s", m->argv[0],
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1, wrc < 0 ? ", " : "",
			 wrc < 0 ? err.text : "");
		store_rcpt_verdict(r, n, STORE_RCPT_ALL, 450, reply);
	}
	return accepted;
}

/* ---- entry point ---- */

static bool
has_8bit(const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		if (p[i] & 0x80)
			return true;
	return false;
}

int
mavis_submit(const struct mavis_submit_method *m, const struct mavis_submit_opts *opts,
	     const char *sender, struct mavis_submit_rcpt *rcpts, size_t nrcpts,
	     const struct mavis_submit_part *parts, size_t nparts, struct mavis_error *err)
{
	struct mavis_submit_opts o = { 0 };
	int rc, eightbit = 0, utf8 = 0;

	if (opts != NULL)
		o = *opts;
	if (o.helo_name == NULL || o.helo_name[0] == '\0')
		o.helo_name = "localhost";
	if (o.connect_timeout <= 0)
		o.connect_timeout = 30;
	if (o.io_timeout <= 0)
		o.io_timeout = 300;
	if (nrcpts == 0)
		return mavis_error_set(err, MAVIS_ERR_PARSE, "no recipients");
	for (const char *p = o.helo_name; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return mavis_error_set(err, MAVIS_ERR_PARSE, "bad HELO name");
	if (sender == NULL)
		sender = "";
	/* Addresses go into command lines: nothing that could end one early. */
	rc = mavis_quarantine_check_addr(sender, err);
	if (rc < 0) {
		mavis_error_prefix(err, "sender: ");
		return rc;
	}
	utf8 |= has_8bit(sender, strlen(sender));
	for (size_t i = 0; i < nrcpts; i++) {
		rc = mavis_quarantine_check_addr(rcpts[i].addr, err);
		if (rc == 0 && rcpts[i].addr[0] == '\0')
			rc = mavis_error_set(err, MAVIS_ERR_PARSE, "empty address");
		if (rc < 0) {
			mavis_error_prefix(err, "recipient %zu: ", i + 1);
			return rc;
		}
		utf8 |= has_8bit(rcpts[i].addr, strlen(rcpts[i].addr));
		rcpts[i].code = 0;
		rcpts[i].reply[0] = '\0';
	}
	for (size_t i = 0; i < nparts; i++)
		eightbit |= has_8bit(parts[i].data, parts[i].len);
	if (m->kind == MAVIS_SUBMIT_SENDMAIL)
		return sendmail_submit(m, o.io_timeout * 1000, sender, rcpts, nrcpts, parts, nparts);
	return store_smtp_submit(m, &o, sender, rcpts, nrcpts, parts, nparts, eightbit, utf8);
}
