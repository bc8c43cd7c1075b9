/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_spam_replies.c - libFuzzer target: spamd and rspamd replies -> results */

// The first input byte picks the parser (even: spamd, odd: rspamd); the rest
// is the scanner's reply as it came off the socket. A reply either parses
// into a result whose texts are safe for a header, or fails: never both,
// never a crash.

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <mavis/arena.h>
#include <mavis/log.h>
#include <mavis/spam.h>

#include "spam/spam_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mavis_arena *a;
	struct mavis_spam_result res;
	struct mavis_error err = { 0 };
	int rc;

	if (size < 1)
		return 0;
	mavis_log_set_level(MAVIS_LOG_ERR);
	a = mavis_arena_new(4096);
	memset(&res, 0, sizeof(res));
	if (data[0] & 1)
		rc = rspamd_parse_reply((const char *)data + 1, size - 1, a, &res, &err);
	else
		rc = spamd_parse_reply((const char *)data + 1, size - 1, a, &res, &err);
	if (rc == 0) {
		if (isnan(res.score))
			mavis_panic(__FILE__, __LINE__, "a parsed reply without a score");
		for (size_t i = 0; i < res.n_tests; i++) {
			if (res.tests[i].name == NULL)
				mavis_panic(__FILE__, __LINE__, "a test without a name");
			for (const char *p = res.tests[i].name; *p; p++)
				if ((unsigned char)*p < 0x20)
					mavis_panic(__FILE__, __LINE__, "a control character in a test name");
		}
	}
	mavis_arena_free(&a);
	return 0;
}
