/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_BANNED_INT_H
#define MAVIS_BANNED_INT_H

/* Internal layout of struct mavis_banned_rules, shared by banned_rules.c
   (loading) and banned_check.c (matching). Not installed. */

#include <stdbool.h>
#include <stddef.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <mavis/arena.h>
#include <mavis/banned.h>

#define MAVIS_BANNED_LINE_MAX 4096
#define MAVIS_BANNED_RULES_MAX 10000
#define MAVIS_BANNED_SETS_MAX 256
#define MAVIS_BANNED_FILE_MAX (1024 * 1024)

/* banned_default.c, generated at build time from etc/banned-rules.conf. */
__attribute__((visibility("hidden"))) extern const unsigned char mavis_banned_default_text[];
__attribute__((visibility("hidden"))) extern const size_t mavis_banned_default_text_len;

struct mavis_banned_rule {
	pcre2_code *code;
	const char *src;	/* "/regex/flags" as written */
	const char *value;	/* right-hand side, "1" when absent */
	const char *comment;	/* (?#...) texts joined by spaces, or NULL */
	unsigned line;
};

struct mavis_banned_set {
	const char *name;
	struct mavis_banned_rule *rules;
	size_t nrules, cap;
};

struct mavis_banned_rules {
	struct mavis_arena *arena;	/* names, sources, arrays */
	struct mavis_banned_set *sets;
	size_t nsets, cap;
	size_t total_rules;
};

#endif
