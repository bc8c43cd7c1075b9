/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_sa_received.c - libFuzzer target: Received lines -> SpamAssassin relays -> pseudo-headers */

// The input is split at NUL bytes into Received values (the first one is
// mavisd's own line when the first byte is odd). Every split must build,
// the pseudo-headers must be SA's "[ ... ]" lists without CR/LF, and the
// evals must answer 0 or 1.

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <mavis/arena.h>
#include <mavis/log.h>

#include "sa/sa_received.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "X-Spam-Relays-Trusted", "X-Spam-Relays-Untrusted",
					     "X-Spam-Relays-Internal", "X-Spam-Relays-External" };
	static const char *const evals[] = { "check_all_trusted", "check_no_relays",
					     "check_relays_unparseable", "helo_ip_mismatch",
					     "check_for_numeric_helo" };
	struct mavis_arena *a;
	struct sa_relays *r;
	struct sa_netset *trusted = NULL;
	const char *vals[64];
	size_t n = 0;
	char *copy;
	bool own;

	if (size < 1)
		return 0;
	own = data[0] & 1;
	if (data[0] & 2)
		sa_netset_add(&trusted, "10.0.0.0/8", NULL);
	a = mavis_arena_new(0);
	/* a copy with a NUL after the end, split at its NUL bytes */
	copy = mavis_arena_alloc(a, size);
	memcpy(copy, data + 1, size - 1);
	for (char *p = copy; n < 64 && p <= copy + (size - 1);) {
		vals[n++] = p;
		p += strlen(p) + 1;
	}
	sa_relays_build(own ? vals + 1 : vals, own ? n - 1 : n, own ? vals[0] : NULL, trusted, NULL,
			a, &r);
	for (size_t i = 0; i < 4; i++) {
		const char *s = sa_relays_pseudo(r, names[i]);

		if (!s || strchr(s, '\n') || strchr(s, '\r') || (*s && s[0] != '['))
			mavis_panic(__FILE__, __LINE__, "bad pseudo-header");
	}
	for (size_t i = 0; i < sizeof(evals) / sizeof(evals[0]); i++) {
		int rc = sa_relay_eval(r, evals[i], NULL, 0);

		if (rc != 0 && rc != 1)
			mavis_panic(__FILE__, __LINE__, "eval answered neither 0 nor 1");
	}
	sa_netset_free(&trusted);
	mavis_arena_free(&a);
	return 0;
}
