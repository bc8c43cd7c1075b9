/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_sa_bayes.c - libFuzzer target: any message -> the Bayes tokens (Plugin/Bayes.pm's tokenize) */

// The message model is built as for scoring, then tokenized: every token
// non-empty, unique by id, each id the SHA1 of its text; the first bytes
// of the input also go through one line of each region. Never a crash, a
// leak or a hang, and the count stays within the tokenizer's bounds.

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/arena.h>
#include <mavis/sa.h>

#include "sa/sa_bayes.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mavis_sa_rules *rules;
static struct sa_bayes_tokenizer *tok;

static void
free_all(void)
{
	sa_bayes_tokenizer_free(&tok);
	mavis_sa_rules_free(&rules);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct mavis_error err = { 0 };
	static const char stop[] = "bayes_stopword_en (?:a(?:ble|ll)|the|and|mail(?:to)?)\n"
				   "bayes_ignore_header X-Ignored\n"
				   "body T_FUZZ /fuzz/\n";

	(void)argc;
	(void)argv;
	if (mavis_sa_rules_from_text(stop, sizeof(stop) - 1, &rules, &err) < 0 ||
	    sa_bayes_tokenizer_new(rules, &tok, &err) < 0)
		abort();
	atexit(free_all);
	return 0;
}

static void
count(void *ctx, const char *t, size_t n)
{
	/* empty tokens come out as from Bayes.pm (tokenize() drops them); a
	   NUL byte never survives the character mapping */
	if (t[n] != '\0' || memchr(t, '\0', n) != NULL)
		__builtin_trap();
	(*(size_t *)ctx)++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mavis_arena *a = mavis_arena_new(4096);
	struct mavis_error err = { 0 };
	struct sa_msg m;
	struct sa_btoks t;
	size_t n = 0, line = size < 4096 ? size : 4096;

	for (int region = 0; region < 3; region++)
		sa_bayes_tokenize_line(tok, (const char *)data, line, region ? "" : "HX:", region, a,
				       count, &n);
	if (sa_msg_build(data, size, rules, a, &m, &err) == 0) {
		sa_bayes_tokenize(tok, &m, a, &t);
		if (t.n > t.raw)
			__builtin_trap();
		for (size_t i = 0; i < t.n; i++) {
			unsigned char id[5];

			if (t.v[i].text == NULL || t.v[i].text[0] == '\0')
				__builtin_trap();
			sa_bayes_token_id(t.v[i].text, strlen(t.v[i].text), id);
			if (memcmp(id, t.v[i].id, 5) != 0)
				__builtin_trap();
		}
		(void)sa_bayes_msgid(&m, (const char *)data, size, a);
	}
	mavis_arena_free(&a);
	return 0;
}
