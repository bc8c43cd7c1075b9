/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_config.c - libFuzzer target: the config parser on arbitrary text */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/config.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mavis_config *cfg = NULL;
	struct mavis_error err = { 0 };
	char *text;

	if (size > 64 * 1024)
		return 0;
	text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	/* basedir NULL: relative hash:/pcre: paths resolve to nothing useful,
	   absolute ones may hit real files - both must only ever fail cleanly. */
	if (mavis_config_load_string(text, "fuzz.conf", NULL, &cfg, &err) == 0) {
		struct mavis_view *v = mavis_view_new(cfg);
		struct mavis_arena *a = mavis_arena_new(0);
		struct mavis_conn_facts f = { "ORIGINATING", "10.1.2.3" };

		mavis_view_select_conn(v, &f, a, &err);
		mavis_view_select_sender(v, "user");
		(void)mavis_view_path(v);
		for (int k = 0; k < MAVIS_KEY_COUNT; k++)
			(void)mavis_view_get(v, k);
		mavis_arena_free(&a);
		mavis_view_free(&v);
		mavis_config_unref(&cfg);
	}
	free(text);
	return 0;
}
