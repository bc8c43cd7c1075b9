/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stats.c - process-wide counters, counted where each event happens */

#include "pipeline_int.h"

atomic_ulong mavis_stat_sessions, mavis_stat_messages, mavis_stat_accepted, mavis_stat_rejected,
	mavis_stat_tempfailed, mavis_stat_discarded;

void
mavis_stats_get(struct mavis_stats *out)
{
	out->sessions = atomic_load(&mavis_stat_sessions);
	out->messages = atomic_load(&mavis_stat_messages);
	out->accepted = atomic_load(&mavis_stat_accepted);
	out->rejected = atomic_load(&mavis_stat_rejected);
	out->tempfailed = atomic_load(&mavis_stat_tempfailed);
	out->discarded = atomic_load(&mavis_stat_discarded);
}
