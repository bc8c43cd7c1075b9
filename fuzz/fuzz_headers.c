/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_headers.c - libFuzzer target: raw header block -> model -> bad-header check -> addresses */

// Build by hand (no fuzz/CMakeLists.txt yet):
//   clang -fsanitize=fuzzer,address,undefined -I lib/include -I lib
//     fuzz/fuzz_headers.c lib/msg/headers.c lib/checks/badh.c lib/util/*.c -o /tmp/fh
// (a line comment, as the glob would end a block comment). The first input
// byte picks the allowed tests, SMTPUTF8 and a MIME error, so every switch
// combination is reachable; the rest is the message.

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <mavis/arena.h>
#include <mavis/badh.h>
#include <mavis/headers.h>
#include <mavis/log.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small limits so the truncation paths are reached too. */
static const struct mavis_headers_limits fuzz_limits = {
	.max_fields = 200,
	.max_bytes = 256 * 1024,
};

static void
check_text(const char *t)
{
	/* Texts must be C strings without NUL/CR, whatever came in. */
	for (; *t; t++)
		if (*t == '\r')
			mavis_panic(__FILE__, __LINE__, "CR in a finding text");
}

/*
 * The milter path must give the same verdict: feed every field again through
 * mavis_headers_add (name, value) when that rebuilds the same raw bytes, and
 * compare the findings text by text.
 */
static void
same_as_milter(struct mavis_arena *a, const struct mavis_headers *h,
	       const struct mavis_badh_result *r, unsigned allowed, bool smtputf8,
	       const char *mime)
{
	struct mavis_headers *h2 = mavis_headers_new(a, &fuzz_limits);
	struct mavis_badh_result *r2;

	if (mavis_headers_truncated(h))
		return;
	for (size_t i = 0; i < mavis_headers_count(h); i++) {
		const struct mavis_header_field *f = mavis_headers_nth(h, i);

		if (f->flags != 0 || f->namelen + 1 + f->valuelen != f->rawlen)
			return;	/* "Name :" or no colon: not what a milter sees */
		if (mavis_headers_add(h2, f->name, f->namelen, f->value, f->valuelen) != 0)
			return;
	}
	r2 = mavis_badh_check(h2, allowed, smtputf8, mime, a);
	if (mavis_badh_count(r2) != mavis_badh_count(r) ||
	    mavis_badh_minor(r2) != mavis_badh_minor(r))
		mavis_panic(__FILE__, __LINE__, "milter and raw paths disagree");
	for (size_t i = 0; i < mavis_badh_count(r); i++)
		if (strcmp(mavis_badh_nth(r, i)->text, mavis_badh_nth(r2, i)->text) != 0)
			mavis_panic(__FILE__, __LINE__, "milter and raw texts disagree");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mavis_arena *a;
	struct mavis_headers *h;
	struct mavis_badh_result *r;
	unsigned allowed;
	bool smtputf8;
	size_t off = 0, idx;
	const char *block;

	if (size == 0)
		return 0;
	allowed = (unsigned)data[0] * 5u & MAVIS_BADH_T_ALL;
	if (data[0] & 1)
		allowed = MAVIS_BADH_TESTS_DEFAULT;
	smtputf8 = (data[0] & 2) != 0;
	block = (const char *)data + 1;
	size--;

	a = mavis_arena_new(0);
	h = mavis_headers_new(a, &fuzz_limits);
	(void)mavis_headers_parse_block(h, block, size, &off);
	if (off > size)
		mavis_panic(__FILE__, __LINE__, "body offset past the end");

	r = mavis_badh_check(h, allowed, smtputf8, (data[0] & 4) ? "fuzz mime" : NULL, a);
	if (mavis_badh_count(r) > MAVIS_BADH_MAX_FINDINGS + 19)
		mavis_panic(__FILE__, __LINE__, "too many findings");
	for (size_t i = 0; i < mavis_badh_count(r); i++)
		check_text(mavis_badh_nth(r, i)->text);
	if (mavis_badh_alert(r) != NULL)
		check_text(mavis_badh_alert(r));
	(void)mavis_badh_reason(mavis_badh_minor(r));

	same_as_milter(a, h, r, allowed, smtputf8, (data[0] & 4) ? "fuzz mime" : NULL);

	for (size_t i = 0; i < mavis_headers_count(h); i++) {
		const struct mavis_header_field *f = mavis_headers_nth(h, i);
		struct mavis_address *list;
		size_t n;

		(void)mavis_headers_parse_addresses(a, f->value, f->valuelen, &list, &n);
		for (size_t k = 0; k < n; k++)
			if (list[k].addr[0] == '\0')
				mavis_panic(__FILE__, __LINE__, "empty address");
		(void)mavis_headers_unfold(a, f->value, f->valuelen, NULL);
		idx = mavis_headers_index_of(h, i);
		if (idx == 0 ||
		    (f->namelen == strlen(f->name) &&
		     (mavis_headers_find(h, f->name, idx, &idx) != 0 || idx != i)))
			mavis_panic(__FILE__, __LINE__, "index_of and find disagree");
	}
	mavis_arena_free(&a);
	return 0;
}
