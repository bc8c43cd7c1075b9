/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_decode.c - libFuzzer: arbitrary bytes -> decode -> banned check */

/*
 * Built by fuzz/CMakeLists.txt (-DMAVIS_FUZZ=ON, CC=clang) and run by
 * fuzz/run-all; MAVIS_SOURCE_DIR locates etc/banned-rules.conf.
 *
 * Small limits keep every run quick: 6 levels, 64 files per level, 4 MiB.
 * Beyond "no crash, no leak", it checks the invariants the banned check and
 * the scanners rely on, and aborts when one breaks.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/arena.h>
#include <mavis/banned.h>
#include <mavis/log.h>
#include <mavis/parts.h>

#ifndef MAVIS_SOURCE_DIR
#define MAVIS_SOURCE_DIR "."
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mavis_banned_rules *rules;
static struct mavis_arena *arena;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct mavis_error err;
	const char *path = getenv("MAVIS_BANNED_RULES");

	(void)argc;
	(void)argv;
	mavis_log_set_level(MAVIS_LOG_ERR);
	if (path == NULL)
		path = MAVIS_SOURCE_DIR "/etc/banned-rules.conf";
	if (mavis_banned_load_file(path, &rules, &err) != 0 ||
	    mavis_decode_init(&err) != 0) {
		fprintf(stderr, "fuzz_decode: %s\n", err.text);
		abort();
	}
	arena = mavis_arena_new(0);
	return 0;
}

static void
check_invariants(const struct mavis_decoded *d, const struct mavis_decode_limits *lim)
{
	for (size_t i = 0; i < d->nparts; i++) {
		const struct mavis_part *p = d->parts[i];

		if (p->id != i + 1 || p->placement == NULL || p->level < 1 ||
		    p->level > lim->max_levels || (p->data == NULL && p->len != 0) ||
		    (p->name != NULL && p->name != p->names[0]) || p->is_leaf != (p->nchildren == 0))
			abort();
		if (p->data != NULL && p->data[p->len] != '\0')
			abort();
		for (size_t c = 0; c < p->nchildren; c++)
			if (p->children[c]->parent != p)
				abort();
		for (unsigned n = 0; n < p->nnames; n++)
			if (p->names[n] == NULL || p->names[n][0] == '\0')
				abort();
	}
	if ((d->unchecked != 0) != (d->unchecked_minor >= 0) ||
	    ((d->hold != NULL) != ((d->unchecked & MAVIS_UNCHECKED_BIT(2)) != 0)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mavis_decode_limits lim;
	struct mavis_decoded *d = NULL;
	struct mavis_banned_result res;
	struct mavis_error err;

	mavis_decode_limits_default(&lim);
	lim.max_levels = 6;
	lim.max_files = 64;
	lim.max_expansion_quota = 4 * 1024 * 1024;
	if (mavis_decode_message(data, size, &lim, arena, &d, &err) != 0)
		abort();	/* only a broken environment may fail */
	check_invariants(d, &lim);
	if (mavis_banned_check(rules, NULL, d, arena, &res, &err) < 0 &&
	    err.status != MAVIS_ERR_LIMIT)
		abort();
	if (res.banned && (res.reason == NULL || res.path == NULL || res.part == NULL ||
			   !res.part->is_leaf))
		abort();
	mavis_arena_reset(arena);
	return 0;
}
