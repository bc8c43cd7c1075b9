/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_sa_html.c - libFuzzer target: arbitrary bytes -> SpamAssassin HTML renderer -> evals */

// Every input is HTML (there is no invalid HTML): it must render, and every
// eval must answer 0 or 1, within the arena and without a crash. The
// rendered text may only shrink the input's whitespace, so its length stays
// bounded by a small multiple of the input (entities grow at most 4 bytes
// from 4).

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <mavis/arena.h>
#include <mavis/log.h>

#include "sa/sa_html.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const evals[][4] = {
		{ "html_test", "html", NULL }, { "html_test", "font_low_contrast", NULL },
		{ "html_range", "max_size", "6", "inf" }, { "html_range", "bad_tag_ratio", "0.4", "0.5" },
		{ "html_eval", "length", "< 512", NULL }, { "html_tag_exists", "body", NULL },
		{ "html_image_only", "0000", "0400", NULL }, { "html_image_ratio", "0.000", "0.002", NULL },
		{ "html_title_subject_ratio", "3.5", NULL }, { "html_tag_balance", "body", "> 0", NULL },
		{ "html_text_match", "comment", "<!(?!-).{0,6}>", NULL }, { "check_iframe_src", NULL },
	};
	struct mavis_arena *a = mavis_arena_new(0);
	struct sa_html *h;
	const struct sa_html *parts[1];
	const char *const *uris;
	size_t vl, il, n;

	if (sa_html_parse((const char *)data, size, a, &h) != 0)
		mavis_panic(__FILE__, __LINE__, "sa_html_parse failed");
	sa_html_visible(h, &vl);
	sa_html_invisible(h, &il);
	if (vl + il > size * 2 + 16)
		mavis_panic(__FILE__, __LINE__, "rendered text longer than the input allows");
	n = sa_html_uris(h, &uris);
	for (size_t i = 0; i < n; i++)
		if (!uris[i][0])
			mavis_panic(__FILE__, __LINE__, "empty URI");
	parts[0] = h;
	for (size_t i = 0; i < sizeof(evals) / sizeof(evals[0]); i++) {
		size_t nargs = 0;
		int rc;

		while (nargs < 3 && evals[i][nargs + 1])
			nargs++;
		rc = sa_html_eval(parts, 1, "a subject", evals[i][0], &evals[i][1], nargs);
		if (rc != 0 && rc != 1)
			mavis_panic(__FILE__, __LINE__, "eval answered neither 0 nor 1");
	}
	mavis_arena_free(&a);
	return 0;
}
