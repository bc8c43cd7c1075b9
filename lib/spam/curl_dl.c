/* SPDX-License-Identifier: GPL-2.0-or-later */
/* curl_dl.c - libcurl loaded on first use (rspamd scanners only) */

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "curl_dl.h"

/* The soname the headers we compiled against belong to (Debian's
   libcurl4 and libcurl3-gnutls both install libcurl*.so.4; the OpenSSL
   flavour is the one -dev package we build with). */
#define CURL_SONAME "libcurl.so.4"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static struct spam_curl api;
static const struct spam_curl *loaded;
static char load_error[256];

static void *
sym(void *h, const char *name)
{
	void *p = dlsym(h, name);

	if (p == NULL && load_error[0] == '\0')
		snprintf(load_error, sizeof(load_error), "%s: no symbol %s", CURL_SONAME, name);
	return p;
}

static void
load(void)
{
	CURLcode (*global_init)(long flags);
	void *h = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (h == NULL) {
		const char *e = dlerror();

		snprintf(load_error, sizeof(load_error), "cannot load %s: %s", CURL_SONAME,
			 e ? e : "?");
		return;
	}
	/* Function pointers from void *: POSIX guarantees dlsym's results
	   convert; the memcpy keeps -Wpedantic quiet about it. */
#define LOAD(field, name) do { void *p_ = sym(h, name); memcpy(&api.field, &p_, sizeof(p_)); } while (0)
	LOAD(easy_init, "curl_easy_init");
	LOAD(easy_cleanup, "curl_easy_cleanup");
	LOAD(easy_reset, "curl_easy_reset");
	LOAD(easy_setopt, "curl_easy_setopt");
	LOAD(easy_perform, "curl_easy_perform");
	LOAD(easy_getinfo, "curl_easy_getinfo");
	LOAD(easy_strerror, "curl_easy_strerror");
	LOAD(slist_append, "curl_slist_append");
	LOAD(slist_free_all, "curl_slist_free_all");
	{
		void *p = sym(h, "curl_global_init");

		memcpy(&global_init, &p, sizeof(p));
	}
#undef LOAD
	if (load_error[0] != '\0')
		return;	/* h stays open: harmless, and dlclose of libcurl is not */
	CURLcode rc = global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK) {
		snprintf(load_error, sizeof(load_error), "libcurl: %s", api.easy_strerror(rc));
		return;
	}
	loaded = &api;
}

const struct spam_curl *
spam_curl_load(struct mavis_error *err)
{
	pthread_once(&load_once, load);
	if (loaded == NULL)
		mavis_error_set(err, MAVIS_ERR_CONFIG, "%s", load_error);
	return loaded;
}
