/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_sa_scan.c - libFuzzer target: any message through the native spam
   engine with the installed SpamAssassin rules (the shipped scanner) */

// The rules are loaded once (mavis_sa_default_dirs: what mavisd loads with
// the shipped configuration); every input is a message scored with all of
// them: the message model, HTML rendering, Received parsing, every rule,
// meta and eval. Never a crash, a leak or a hang, and the result is
// consistent. Without installed rules the target does nothing.

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <mavis/arena.h>
#include <mavis/sa.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mavis_sa_rules *rules;

static void
free_rules(void)
{
	mavis_sa_rules_free(&rules);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct mavis_error err = { 0 };

	(void)argc;
	(void)argv;
	if (mavis_sa_rules_load(mavis_sa_default_dirs(), &rules, &err) < 0)
		rules = NULL;
	atexit(free_rules);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mavis_arena *a;
	struct mavis_spam_result res;
	struct mavis_error err = { 0 };

	if (rules == NULL)
		return 0;
	a = mavis_arena_new(4096);
	if (mavis_sa_check(rules, data, size, a, &res, &err) == 0) {
		if (res.n_tests > 0 && res.tests == NULL)
			__builtin_trap();
		for (size_t i = 0; i < res.n_tests; i++)
			if (res.tests[i].name == NULL)
				__builtin_trap();
	}
	mavis_arena_free(&a);
	return 0;
}
