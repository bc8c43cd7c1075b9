/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_templ.c - libFuzzer target: the log_templ language */

/*
 * The input is a template. mavis_templ_check must accept or refuse it
 * without reading past its end; when it accepts, expanding it with macro
 * values that contain the language's own characters must stay within the
 * limit and must not fail (the check and the expansion walk the same
 * grammar). Broken invariants abort(), so that libFuzzer reports them.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/buf.h>
#include <mavis/error.h>
#include <mavis/templ.h>

/* A config value is one logical line; bigger inputs only slow the fuzzer. */
#define FUZZ_MAX 4096
#define FUZZ_LIMIT 300

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Values that look like template syntax, and empty ones (the conditional's
   other branch), by macro. */
static void
value(void *ctx, enum mavis_templ_macro m, struct mavis_buf *out)
{
	static const char *const v[] = { "", "[?%p|a|b]", "\\", "<a@b>, <c@d>", "%%", " ", "Y" };

	(void)ctx;
	mavis_buf_puts(out, v[(unsigned)m % (sizeof(v) / sizeof(v[0]))]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mavis_error err = { 0 };
	struct mavis_buf out = { 0 };
	char *t;

	if (size > FUZZ_MAX)
		return 0;
	t = malloc(size + 1);
	if (t == NULL)
		return 0;
	memcpy(t, data, size);
	t[size] = '\0';
	if (mavis_templ_check(t, &err) == 0) {
		mavis_templ_expand(t, value, NULL, FUZZ_LIMIT, &out);
		if (out.len > FUZZ_LIMIT || (out.data != NULL && strlen(out.data) != out.len))
			abort();
	} else if (err.text[0] == '\0') {
		abort();
	}
	mavis_buf_free(&out);
	free(t);
	return 0;
}
