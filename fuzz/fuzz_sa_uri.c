/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_sa_uri.c - libFuzzer target: text -> SpamAssassin URI finder -> canonical variants */

// Every URI found must be a non-empty C string without white space at its
// ends; canonicalising each (and the whole input as one URI) must stay
// within its bound of variants.

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <mavis/arena.h>
#include <mavis/log.h>

#include "sa/sa_uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mavis_arena *a = mavis_arena_new(0);
	const char **uris, **v;
	size_t n = sa_uri_find((const char *)data, size, a, &uris);
	char *whole = mavis_arena_alloc(a, size + 1);

	for (size_t i = 0; i < n; i++) {
		if (!uris[i][0])
			mavis_panic(__FILE__, __LINE__, "empty URI");
		if (sa_uri_canonicalize(uris[i], a, &v) > 64)
			mavis_panic(__FILE__, __LINE__, "too many variants");
	}
	memcpy(whole, data, size);
	if (sa_uri_canonicalize(whole, a, &v) > 64)
		mavis_panic(__FILE__, __LINE__, "too many variants");
	mavis_arena_free(&a);
	return 0;
}
