/* SPDX-License-Identifier: GPL-2.0-or-later */
/* collect.c - what a snapshot collects while it is built: warnings and the map lists it owns */

#include <stdarg.h>
#include <string.h>

#include <mavis/alloc.h>

#include "config_int.h"

void
cfg_add_warning(struct mavis_config *cfg, const char *fmt, ...)
{
	va_list ap;

	if (cfg->nwarnings + 1 >= cfg->capwarnings) {
		size_t cap = cfg->capwarnings ? cfg->capwarnings * 2 : 8;
		const char **w = mavis_arena_calloc(cfg->arena, cap, sizeof(*w));

		if (cfg->nwarnings)
			memcpy(w, cfg->warnings, cfg->nwarnings * sizeof(*w));
		cfg->warnings = w;
		cfg->capwarnings = cap;
	}
	va_start(ap, fmt);
	cfg->warnings[cfg->nwarnings++] = mavis_arena_vprintf(cfg->arena, fmt, ap);
	va_end(ap);
}

void
cfg_track_maplist(struct mavis_config *cfg, struct mavis_maplist *ml)
{
	if (cfg->nmaplists == cfg->capmaplists) {
		cfg->capmaplists = cfg->capmaplists ? cfg->capmaplists * 2 : 32;
		cfg->maplists = mavis_xrealloc(cfg->maplists,
					       cfg->capmaplists * sizeof(*cfg->maplists));
	}
	cfg->maplists[cfg->nmaplists++] = ml;
}
