/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rspamd.c - rspamd client: POST /checkv2 over libcurl, JSON reply via json-c */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <mavis/alloc.h>

#include "curl_dl.h"
#include "spam_int.h"

/* Idle handles kept per scanner; each holds one keep-alive connection. More
   concurrent scans than this simply open and close their own. */
#define RSPAMD_POOL_MAX 16
/* The reply is a flat object of symbols: anything deeper is not rspamd. */
#define RSPAMD_JSON_DEPTH 16
#define RSPAMD_MAX_TESTS 1000
#define RSPAMD_MAX_NAME 128

/* Set by the first rspamd_client_init; every other entry point runs on a
   client that init made. */
static const struct spam_curl *cu;

int
rspamd_client_init(struct rspamd_client *c, const char *url, struct mavis_error *err)
{
	const char *hostpart;

	memset(c, 0, sizeof(*c));
	if (strncmp(url, "http://", 7) == 0)
		hostpart = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		hostpart = url + 8;
	else
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "want rspamd:http://HOST:PORT");
	if (*hostpart == '\0' || *hostpart == '/' || strpbrk(url, " \t\r\n?#") != NULL)
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "bad rspamd URL \"%s\"", url);
	cu = spam_curl_load(err);
	if (cu == NULL)
		return MAVIS_ERR_CONFIG;
	if (strchr(hostpart, '/') == NULL) {
		size_t n = strlen(url) + sizeof("/checkv2");

		c->url = mavis_xmalloc(n);
		snprintf(c->url, n, "%s/checkv2", url);
	} else {
		c->url = mavis_xstrdup(url);
	}
	c->idle = mavis_xcalloc(RSPAMD_POOL_MAX, sizeof(*c->idle));
	pthread_mutex_init(&c->lock, NULL);
	return 0;
}

void
rspamd_client_free(struct rspamd_client *c)
{
	for (size_t i = 0; i < c->n_idle; i++)
		cu->easy_cleanup(c->idle[i]);
	free(c->idle);
	free(c->url);
	pthread_mutex_destroy(&c->lock);
	memset(c, 0, sizeof(*c));
}

static CURL *
handle_get(struct rspamd_client *c)
{
	CURL *h = NULL;

	pthread_mutex_lock(&c->lock);
	if (c->n_idle > 0)
		h = c->idle[--c->n_idle];
	pthread_mutex_unlock(&c->lock);
	if (h != NULL)
		cu->easy_reset(h);	/* keeps the live connection */
	else
		h = cu->easy_init();
	return h;
}

static void
handle_put(struct rspamd_client *c, CURL *h, bool reusable)
{
	if (reusable) {
		pthread_mutex_lock(&c->lock);
		if (c->n_idle < RSPAMD_POOL_MAX) {
			c->idle[c->n_idle++] = h;
			h = NULL;
		}
		pthread_mutex_unlock(&c->lock);
	}
	if (h != NULL)
		cu->easy_cleanup(h);
}

struct sink {
	struct mavis_buf buf;
	size_t max;
	bool over;
};

static size_t
sink_write(char *p, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb;

	if (s->buf.len + n > s->max) {
		s->over = true;
		return 0;	/* makes curl stop with CURLE_WRITE_ERROR */
	}
	mavis_buf_append(&s->buf, p, n);
	return n;
}

static bool
json_num(struct json_object *o, double *out)
{
	enum json_type t = json_object_get_type(o);

	if (t != json_type_double && t != json_type_int)
		return false;
	*out = json_object_get_double(o);
	return isfinite(*out);
}

int
rspamd_parse_reply(const char *buf, size_t len, struct mavis_arena *a,
		   struct mavis_spam_result *out, struct mavis_error *err)
{
	struct json_tokener *tok;
	struct json_object *root, *o, *syms;
	enum json_tokener_error jerr;
	int rc = 0;

	if (len == 0)
		return mavis_error_set(err, MAVIS_ERR_SCANNER, "empty reply");
	if (len > INT32_MAX)
		return mavis_error_set(err, MAVIS_ERR_SCANNER, "reply too large");
	tok = json_tokener_new_ex(RSPAMD_JSON_DEPTH);
	if (tok == NULL)
		return mavis_error_set(err, MAVIS_ERR_INTERNAL, "json_tokener_new_ex failed");
	root = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	if (root == NULL || jerr != json_tokener_success) {
		rc = mavis_error_set(err, MAVIS_ERR_SCANNER, "reply is not JSON: %s",
				     jerr == json_tokener_continue ? "truncated"
								   : json_tokener_error_desc(jerr));
		goto out;
	}
	for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
		if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r' && buf[i] != '\n') {
			rc = mavis_error_set(err, MAVIS_ERR_SCANNER, "bytes after the JSON reply");
			goto out;
		}
	if (!json_object_is_type(root, json_type_object)) {
		rc = mavis_error_set(err, MAVIS_ERR_SCANNER, "reply is not a JSON object");
		goto out;
	}
	if (json_object_object_get_ex(root, "error", &o)) {
		const char *e = json_object_get_string(o);

		rc = mavis_error_set(err, MAVIS_ERR_SCANNER, "rspamd error: %.200s", e ? e : "?");
		goto out;
	}
	if (!json_object_object_get_ex(root, "score", &o) || !json_num(o, &out->score)) {
		rc = mavis_error_set(err, MAVIS_ERR_SCANNER, "reply without a numeric score");
		goto out;
	}
	out->threshold = NAN;
	if (json_object_object_get_ex(root, "required_score", &o))
		(void)json_num(o, &out->threshold);
	out->tests = NULL;
	out->n_tests = 0;
	if (json_object_object_get_ex(root, "symbols", &syms) &&
	    json_object_is_type(syms, json_type_object)) {
		size_t n = (size_t)json_object_object_length(syms), k = 0;
		struct mavis_spam_test *t;

		if (n > RSPAMD_MAX_TESTS)
			n = RSPAMD_MAX_TESTS;
		t = mavis_arena_calloc(a, n ? n : 1, sizeof(*t));
		json_object_object_foreach(syms, key, val) {
			struct json_object *so;
			double v = 0;
			size_t nl = strlen(key);
			char *name;

			if (k == n)
				break;
			if (json_object_is_type(val, json_type_object) &&
			    json_object_object_get_ex(val, "score", &so) && !json_num(so, &v)) {
				rc = mavis_error_set(err, MAVIS_ERR_SCANNER,
						     "symbol %.60s: score is not a number", key);
				goto out;
			}
			if (nl > RSPAMD_MAX_NAME)
				nl = RSPAMD_MAX_NAME;
			name = mavis_arena_strndup(a, key, nl);
			/* amavisd tr/=,/__/; the rest keeps X-Spam-Status foldable */
			for (char *q = name; *q; q++)
				if (*q == '=' || *q == ',' || (unsigned char)*q <= 0x20 ||
				    (unsigned char)*q >= 0x7f)
					*q = '_';
			t[k].name = name;
			t[k].score = v;
			t[k].score_text = mavis_spam_fmt_num(a, v);	/* as Perl prints it */
			k++;
		}
		spam_tests_sort(t, k);
		out->tests = t;
		out->n_tests = k;
	}
out:
	if (root != NULL)
		json_object_put(root);
	json_tokener_free(tok);
	return rc;
}

static struct curl_slist *
add_hdr(struct curl_slist *l, struct mavis_arena *a, const char *name, const char *value,
	bool *ok)
{
	struct curl_slist *n;

	if (value == NULL)
		return l;
	n = cu->slist_append(l, mavis_arena_printf(a, "%s: %s", name,
						     spam_header_safe(a, value)));
	if (n == NULL)
		*ok = false;
	return n ? n : l;
}

int
rspamd_check(struct rspamd_client *c, const struct mavis_spam_request *req,
	     const struct spam_limits *lim, struct mavis_arena *a,
	     struct mavis_spam_result *out, struct mavis_error *err)
{
	struct sink sink = { .max = lim->max_reply };
	struct curl_slist *hdrs = NULL;
	char ebuf[CURL_ERROR_SIZE] = "";
	uint64_t now = spam_now_ms();
	long timeout, ctimeout, status = 0, oserr = 0;
	bool ok = true, reusable = false;
	CURLcode cc;
	CURL *h;
	int rc;

	if (now >= lim->deadline)
		return mavis_error_set(err, MAVIS_ERR_SCANNER, "timed out before connecting");
	timeout = (long)(lim->deadline - now);
	ctimeout = (long)lim->connect_timeout_ms < timeout ? (long)lim->connect_timeout_ms
							   : timeout;
	h = handle_get(c);
	if (h == NULL)
		return mavis_error_set(err, MAVIS_ERR_SCANNER, "curl_easy_init failed");

	hdrs = add_hdr(hdrs, a, "IP", req->client_ip, &ok);
	hdrs = add_hdr(hdrs, a, "Hostname", req->client_name, &ok);
	hdrs = add_hdr(hdrs, a, "Helo", req->helo, &ok);
	if (req->sender != NULL)
		hdrs = add_hdr(hdrs, a, "From", mavis_arena_printf(a, "<%s>", req->sender), &ok);
	for (size_t i = 0; i < req->n_rcpts; i++)
		hdrs = add_hdr(hdrs, a, "Rcpt", mavis_arena_printf(a, "<%s>", req->rcpts[i]), &ok);
	hdrs = add_hdr(hdrs, a, "Queue-Id", req->queue_id, &ok);
	hdrs = add_hdr(hdrs, a, "User", req->auth_user, &ok);
	if (req->settings_id != NULL && *req->settings_id)
		hdrs = add_hdr(hdrs, a, "Settings-ID", req->settings_id, &ok);
	hdrs = add_hdr(hdrs, a, "Content-Type", "application/octet-stream", &ok);
	/* no 100-continue round trip: rspamd reads the body anyway */
	if (ok) {
		struct curl_slist *n = cu->slist_append(hdrs, "Expect:");

		ok = n != NULL;
		hdrs = n ? n : hdrs;
	}
	if (!ok) {
		rc = mavis_error_set(err, MAVIS_ERR_SCANNER, "out of memory building the request");
		goto out;
	}

	cu->easy_setopt(h, CURLOPT_URL, c->url);
	cu->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	cu->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);	/* threads: no SIGALRM */
	cu->easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
	cu->easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
	cu->easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ctimeout);
	cu->easy_setopt(h, CURLOPT_POST, 1L);
	cu->easy_setopt(h, CURLOPT_POSTFIELDS, req->len ? req->msg : "");
	cu->easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
	cu->easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	cu->easy_setopt(h, CURLOPT_USERAGENT, "mavis");
	cu->easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write);
	cu->easy_setopt(h, CURLOPT_WRITEDATA, &sink);
	cu->easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)lim->max_reply);

	cc = cu->easy_perform(h);
	if (cc != CURLE_OK) {
		if (sink.over || cc == CURLE_FILESIZE_EXCEEDED)
			rc = mavis_error_set(err, MAVIS_ERR_SCANNER, "reply larger than %zu bytes",
					     lim->max_reply);
		else if (cc == CURLE_COULDNT_CONNECT &&
			 cu->easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr) == CURLE_OK && oserr)
			rc = mavis_error_set(err, MAVIS_ERR_SCANNER, "connect: %s",
					     strerror((int)oserr));
		else if (cc == CURLE_OPERATION_TIMEDOUT)
			rc = mavis_error_set(err, MAVIS_ERR_SCANNER, "timed out: %s",
					     ebuf[0] ? ebuf : cu->easy_strerror(cc));
		else
			rc = mavis_error_set(err, MAVIS_ERR_SCANNER, "%s",
					     ebuf[0] ? ebuf : cu->easy_strerror(cc));
		goto out;
	}
	cu->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		char snip[80];
		size_t j = 0;

		for (size_t i = 0; i < sink.buf.len && j + 1 < sizeof(snip); i++)
			snip[j++] = sink.buf.data[i] >= 0x20 && sink.buf.data[i] < 0x7f
					    ? sink.buf.data[i] : ' ';
		snip[j] = '\0';
		rc = mavis_error_set(err, MAVIS_ERR_SCANNER, "HTTP status %ld: %s", status, snip);
		reusable = true;
		goto out;
	}
	reusable = true;
	rc = rspamd_parse_reply(sink.buf.data ? sink.buf.data : "", sink.buf.len, a, out, err);
	out->report = NULL;
out:
	cu->slist_free_all(hdrs);
	handle_put(c, h, reusable);
	mavis_buf_free(&sink.buf);
	return rc;
}
