/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_arena_big.c - big arena allocations survive resets without leaks */

#include <string.h>

#include <mavis/arena.h>

#include "harness.h"

/* A big allocation made while the first block is still the head is linked
   behind the first block; reset used to drop it (LeakSanitizer reports it
   at exit in the Sanitize build). */
static void
test_big_behind_first(void)
{
	struct mavis_arena *a = mavis_arena_new(0);

	for (int round = 0; round < 3; round++) {
		unsigned char *small = mavis_arena_alloc(a, 16);
		unsigned char *big = mavis_arena_alloc_uninit(a, 300 * 1024);
		unsigned char *zeroed = mavis_arena_alloc(a, 100 * 1024);

		CHECK(small != NULL && big != NULL && zeroed != NULL);
		memset(big, 0xaa, 300 * 1024);
		CHECK(zeroed[0] == 0 && zeroed[100 * 1024 - 1] == 0);
		CHECK(mavis_arena_used(a) == 16 + 300 * 1024 + 100 * 1024);
		mavis_arena_reset(a);
		CHECK_INT(mavis_arena_used(a), 0);
	}
	mavis_arena_free(&a);
	CHECK(a == NULL);
}

int
main(void)
{
	TEST_RUN(test_big_behind_first);
	return test_exit();
}
