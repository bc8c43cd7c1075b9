/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_quarantine.c - libFuzzer target: the quarantine envelope prefix parser on arbitrary bytes */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/arena.h>
#include <mavis/quarantine.h>

#include "store/store_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_quarantine_entry e;
	struct mavis_error err = { 0 };
	/* A copy without spare bytes after it: ASan sees any read past the end. */
	char *copy = malloc(size ? size : 1);

	memcpy(copy, data, size);
	memset(&e, 0, sizeof(e));
	if (store_prefix_parse(copy, size, a, &e, &err) == 0) {
		/* What the parser promises: the message is the rest of the input,
		   every address passes the check the writer applies. */
		if (e.prefix_len > size || e.message != copy + e.prefix_len ||
		    e.message_len != size - e.prefix_len || e.mail_id == NULL || e.sender == NULL ||
		    !mavis_quarantine_valid_id(e.mail_id))
			abort();
		for (size_t i = 0; i < e.nrcpts; i++)
			if (mavis_quarantine_check_addr(e.rcpts[i], NULL) != 0)
				abort();
		for (size_t i = 0; i < e.nblocked; i++)
			if (mavis_quarantine_check_addr(e.blocked[i], NULL) != 0)
				abort();
	}
	free(copy);
	mavis_arena_free(&a);
	return 0;
}
