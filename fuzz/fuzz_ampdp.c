/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_ampdp.c - libFuzzer target: the AM.PDP request parser and secret check on arbitrary bytes */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/ampdp.h>
#include <mavis/arena.h>
#include <mavis/quarantine.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_ampdp_req r;
	struct mavis_error err = { 0 };
	/* A copy without spare bytes after it: ASan sees any read past the end. */
	char *copy = malloc(size ? size : 1);

	memcpy(copy, data, size);
	if (mavis_ampdp_parse(copy, size, a, &r, &err) == 0) {
		/* What the parser promises: a valid id, checked addresses. */
		if (r.mail_id == NULL || r.mail_id[0] == '\0' || r.nrcpts > MAVIS_AMPDP_RCPTS_MAX ||
		    (r.quar_type != 0 && strchr("FZQ", r.quar_type) == NULL))
			abort();
		for (size_t i = 0; i < r.nrcpts; i++)
			if (r.rcpts[i][0] == '\0' || mavis_quarantine_check_addr(r.rcpts[i], NULL) != 0)
				abort();
		if (r.sender != NULL && mavis_quarantine_check_addr(r.sender, NULL) != 0)
			abort();
		(void)mavis_ampdp_secret_ok(r.mail_id, r.secret_id);
	} else if (err.text[0] == '\0')
		abort();
	free(copy);
	mavis_arena_free(&a);
	return 0;
}
