/* SPDX-License-Identifier: GPL-2.0-or-later */
/* engine.c - process-wide state: the current config snapshot and shared scanners */

#include <stdlib.h>

#include <mavis/alloc.h>

#include "msg_int.h"

int
mavis_engine_new(struct mavis_config *cfg, struct mavis_engine **out, struct mavis_error *err)
{
	struct mavis_engine *e = mavis_xcalloc(1, sizeof(*e));

	pthread_mutex_init(&e->lock, NULL);
	e->cfg = mavis_config_ref(cfg);
	*out = e;
	return 0;
}

int
mavis_engine_reload(struct mavis_engine *e, struct mavis_config *cfg, struct mavis_error *err)
{
	struct mavis_config *old;

	mavis_config_ref(cfg);
	pthread_mutex_lock(&e->lock);
	old = e->cfg;
	e->cfg = cfg;
	pthread_mutex_unlock(&e->lock);
	/* Sessions that pinned the old snapshot keep it alive until they end. */
	mavis_config_unref(&old);
	return 0;
}

struct mavis_config *
mavis_engine_config(struct mavis_engine *e)
{
	struct mavis_config *cfg;

	pthread_mutex_lock(&e->lock);
	cfg = mavis_config_ref(e->cfg);
	pthread_mutex_unlock(&e->lock);
	return cfg;
}

void
mavis_engine_free(struct mavis_engine **pe)
{
	struct mavis_engine *e = *pe;

	if (e == NULL)
		return;
	*pe = NULL;
	mavis_config_unref(&e->cfg);
	pthread_mutex_destroy(&e->lock);
	free(e);
}
