/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_sa_rules.c - libFuzzer target: SpamAssassin rule files -> rule set -> a check */

// The input is split at the first NUL byte: before it a rule file, after it
// a message. The rule file either builds a rule set (bad lines become
// unsupported rules) or fails with "no rules"; the message is then scored.
// Never a crash, a leak or a hang (pcre2 match limits bound each rule).

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <mavis/arena.h>
#include <mavis/sa.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nul = memchr(text, '\0', size);
	size_t rl = nul ? (size_t)(nul - text) : size;
	struct mavis_sa_rules *r = NULL;
	struct mavis_error err = { 0 };

	if (mavis_sa_rules_from_text(text, rl, &r, &err) == 0) {
		struct mavis_arena *a = mavis_arena_new(4096);
		struct mavis_spam_result res;
		struct mavis_sa_rule_info ri;
		const char *msg = nul ? nul + 1 : "Subject: x\n\nbody\n";
		size_t ml = nul ? size - rl - 1 : strlen(msg);

		for (size_t i = 0; mavis_sa_rule_get(r, i, &ri); i++)
			if (ri.name == NULL || ri.type == NULL)
				__builtin_trap();
		if (mavis_sa_check(r, msg, ml, a, &res, &err) == 0 && res.n_tests > 0 &&
		    res.tests == NULL)
			__builtin_trap();
		mavis_arena_free(&a);
		mavis_sa_rules_free(&r);
	}
	return 0;
}
