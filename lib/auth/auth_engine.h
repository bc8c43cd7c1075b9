/* SPDX-License-Identifier: GPL-2.0-or-later */
/* auth_engine.h - the layout of the SPF/DMARC engine (lib/auth only) */
#ifndef MAVIS_AUTH_ENGINE_H
#define MAVIS_AUTH_ENGINE_H

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/nameser.h>

#include <spf2/spf.h>
#include <libpsl.h>

#include "auth_int.h"

struct auth_engine {
	struct mavis_dns *dns;		/* borrowed from the DKIM engine */
	SPF_dns_server_t *spf_dns;	/* libspf2's DNS layer: our resolver */
	SPF_server_t *spf;
	psl_ctx_t *psl;			/* the public suffix list, or NULL */
};

/* engine.c: the time the SPF lookups of this thread may still take, from
   now (they fail as temperror after it). */
void auth_spf_deadline_set(unsigned seconds);

#endif
