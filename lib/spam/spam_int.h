/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_SPAM_INT_H
#define MAVIS_SPAM_INT_H

/*
 * Private to lib/spam/: the scanner objects and the protocol parsers (the
 * parsers are separate functions so that unit tests can feed them bytes).
 */

#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <mavis/buf.h>
#include <mavis/spam.h>

static inline uint64_t
spam_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* What one exchange may use. */
struct spam_limits {
	uint64_t deadline;		/* monotonic ms */
	unsigned connect_timeout_ms;
	size_t max_reply;
};

/* ---- spamd (spamd.c) ---- */

struct spamd_client {
	struct sockaddr_storage sa;
	socklen_t salen;
};

/* "inet:HOST:PORT" / "unix:/path" (the part after "spamd:"). */
int spamd_client_init(struct spamd_client *c, const char *spec, struct mavis_error *err);
int spamd_check(const struct spamd_client *c, const struct mavis_spam_request *req,
		const struct spam_limits *lim, struct mavis_arena *a,
		struct mavis_spam_result *out, struct mavis_error *err);
/* Parse a complete spamd reply (status line, headers, body). */
int spamd_parse_reply(const char *buf, size_t len, struct mavis_arena *a,
		      struct mavis_spam_result *out, struct mavis_error *err);
/* The tests of a REPORT body's "pts rule name" table. */
void spamd_parse_report(const char *body, size_t len, struct mavis_arena *a,
			struct mavis_spam_result *out);

/* ---- rspamd (rspamd.c) ---- */

struct rspamd_client {
	char *url;			/* with the path */
	pthread_mutex_t lock;		/* guards the idle handles */
	void **idle;			/* CURL *: keep-alive connections */
	size_t n_idle;
};

int rspamd_client_init(struct rspamd_client *c, const char *url, struct mavis_error *err);
void rspamd_client_free(struct rspamd_client *c);
int rspamd_check(struct rspamd_client *c, const struct mavis_spam_request *req,
		 const struct spam_limits *lim, struct mavis_arena *a,
		 struct mavis_spam_result *out, struct mavis_error *err);
/* Parse a /checkv2 JSON body. */
int rspamd_parse_reply(const char *buf, size_t len, struct mavis_arena *a,
		       struct mavis_spam_result *out, struct mavis_error *err);

/* ---- shared helpers (scanners.c) ---- */

/* Sort tests by name (amavisd's SA path gives sorted TESTSSCORES; rspamd's
   hash order would differ from run to run). */
void spam_tests_sort(struct mavis_spam_test *t, size_t n);
/* Copy s for a protocol header value: controls -> '?', at most 1000 bytes. */
const char *spam_header_safe(struct mavis_arena *a, const char *s);

#endif
