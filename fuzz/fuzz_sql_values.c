/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_sql_values.c - libFuzzer target: what lib/sql makes of text from mail */

/*
 * One input (an SMTP address, or a From:/Subject: text) goes through the SQL
 * lookup keys (sql_query_keys, with and without a delimiter) and the log's
 * value shaping (maddr address and reversed domain, the 255-character UTF-8
 * cut, the 7-bit printable copy), and as an amavisd lookup clause
 * (sql_clause_compile: the placeholders within bounds). Broken invariants abort(), so that
 * libFuzzer reports them like crashes.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/arena.h>
#include <mavis/maps.h>

#include "sql/sql_int.h"

#define FUZZ_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct mavis_map_opts fuzz_opts[] = {
	{ .recipient_delimiter = NULL },
	{ .recipient_delimiter = "+" },
	{ .recipient_delimiter = "+-", .localpart_is_case_sensitive = true },
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX)
		return 0;
	char *s = malloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';	/* the milter hands C strings: a NUL ends them */
	struct mavis_arena *a = mavis_arena_new(0);

	for (size_t o = 0; o < sizeof(fuzz_opts) / sizeof(fuzz_opts[0]); o++) {
		const char *keys[SQL_KEYS_MAX];
		size_t n = sql_query_keys(s, &fuzz_opts[o], o == 1, a, keys);

		if (n == 0 || n > SQL_KEYS_MAX || strcmp(keys[0], s) != 0)
			abort();
		for (size_t i = 0; i < n; i++)
			for (size_t k = i + 1; k < n; k++)
				if (strcmp(keys[i], keys[k]) == 0)
					abort();	/* duplicates are removed */
	}
	static struct sql_clause cl;

	for (unsigned nextra = 0; nextra < 2; nextra++)
		if (sql_clause_compile(s, "fuzz", nextra, &cl, NULL) == 0 &&
		    (cl.nparams == 0 || cl.nparams > SQL_CLAUSE_PARAMS_MAX ||
		     strlen(cl.text) >= sizeof(cl.text)))
			abort();
	const char *domain, *email = sql_norm_addr(a, s, &domain);

	if (strlen(email) > 255 || strlen(domain) > 255)
		abort();
	for (const char *p = email; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			abort();
	const char *cut = sql_cut_utf8(a, s, 255);

	if (strlen(cut) > strlen(s) || strncmp(cut, s, strlen(cut)) != 0)
		abort();
	const char *pr = sql_printable(a, s, 255);

	if (strlen(pr) > 255)
		abort();
	for (const char *p = pr; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			abort();
	mavis_arena_free(&a);
	free(s);
	return 0;
}
