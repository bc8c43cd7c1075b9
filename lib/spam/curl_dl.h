/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_SPAM_CURL_DL_H
#define MAVIS_SPAM_CURL_DL_H

/*
 * libcurl, loaded when the first rspamd scanner is configured and not
 * before. Linked normally, libcurl and the ~25 libraries it needs (TLS,
 * Kerberos, LDAP, SSH, RTMP, ...) are mapped and relocated in every
 * mavisd process, ~6 MB of RSS each, whether or not a scanner uses HTTP.
 * Private to lib/spam/.
 */

#define CURL_DISABLE_TYPECHECK 1	/* the calls go through pointers */
#include <curl/curl.h>

#include <mavis/error.h>

struct spam_curl {
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *h);
	void (*easy_reset)(CURL *h);
	CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *h);
	CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode code);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
};

/*
 * The loaded library, curl_global_init done (once per process, thread-
 * safe). NULL with err set (MAVIS_ERR_CONFIG) when libcurl.so.4 cannot be
 * loaded, lacks a symbol or fails to initialise; later calls give the same
 * answer. The library stays loaded until exit.
 */
const struct spam_curl *spam_curl_load(struct mavis_error *err);

#endif
