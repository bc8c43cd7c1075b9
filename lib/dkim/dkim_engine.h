/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dkim_engine.h - the layout of the DKIM engine (lib/dkim only) */
#ifndef MAVIS_DKIM_ENGINE_H
#define MAVIS_DKIM_ENGINE_H

#include <pthread.h>

#include <opendkim/dkim.h>

#include "dkim_int.h"

struct dkim_sign_lib {
	char *key;		/* "h|oversign|ttl" */
	DKIM_LIB *lib;
	struct mavis_arena *arena;	/* its header lists */
};

struct dkim_engine {
	DKIM_LIB *verify_lib;
	struct mavis_dns *dns;
	struct mavis_dkim_keys *keys;
	pthread_mutex_t lock;	/* guards sign[] growth */
	struct dkim_sign_lib *sign;
	size_t nsign;
};

/* The signing library for an option set (made on first use); NULL when
   SIGN_LIBS_MAX sets are in use or libopendkim fails. */
DKIM_LIB *dkim_engine_sign_lib(struct dkim_engine *e, const char *h, const char *oversign,
			       long ttl);

#endif
