/* SPDX-License-Identifier: GPL-2.0-or-later */
/* print.c - print configuration the way postconf does */

#include <string.h>

#include "config_int.h"

/* Values with outer white space are printed quoted so they read back the same. */
static void
print_kv(FILE *out, const char *name, const char *text)
{
	size_t len = strlen(text);

	if (len > 0 && (text[0] == ' ' || text[len - 1] == ' ' || text[0] == '\t' ||
			text[len - 1] == '\t') && text[0] != '"')
		fprintf(out, "%s = \"%s\"\n", name, text);
	else
		fprintf(out, "%s = %s\n", name, text);
}

int
mavis_config_print(const struct mavis_config *cfg, const char *bank, int flags, FILE *out)
{
	const struct cfg_bank *b = NULL;

	if (flags == MAVIS_PRINT_REFERENCE) {
		static const char *const scope[] = { "daemon", "bank", "recipient" };

		fprintf(out, "| parameter | type | scope | default | meaning |\n|---|---|---|---|---|\n");
		for (int k = 0; k < MAVIS_KEY_COUNT; k++) {
			const struct mavis_key_info *ki = mavis_key_info(k);
			char choices[128] = "";

			/* '|' would split the Markdown cell. */
			if (ki->choices) {
				choices[0] = ':';
				choices[1] = ' ';
				mavis_key_choices(ki, '/', choices + 2, sizeof(choices) - 2);
			}
			fprintf(out, "| `%s` | %s%s | %s | `%s` | %s |\n", ki->name,
				mavis_type_name(ki->type), choices, scope[ki->scope], ki->def, ki->doc);
		}
		return 0;
	}
	if (cfg == NULL) {
		/* Defaults need no file, like postconf -d. */
		for (int k = 0; k < MAVIS_KEY_COUNT; k++)
			print_kv(out, mavis_key_info(k)->name, mavis_key_info(k)->def);
		return 0;
	}
	if (bank != NULL) {
		b = cfg_find_bank(cfg, bank);
		if (b == NULL)
			return MAVIS_ERR_NOTFOUND;
	}
	for (int k = 0; k < MAVIS_KEY_COUNT; k++) {
		const struct mavis_key_info *ki = mavis_key_info(k);
		const struct mavis_value *v = &cfg->base[k];
		bool set = cfg->set[k];

		if (b != NULL && b->set[k]) {
			v = &b->vals[k];
			set = true;
		}
		switch (flags) {
		case MAVIS_PRINT_DEFAULTS:
			print_kv(out, ki->name, ki->def);
			break;
		case MAVIS_PRINT_ALL:
			print_kv(out, ki->name, v->text);
			break;
		default:
			if (set)
				print_kv(out, ki->name, v->text);
			break;
		}
	}
	if (b == NULL && flags == MAVIS_PRINT_NONDEFAULT) {
		for (size_t i = 0; i < cfg->nbanks; i++) {
			fprintf(out, "\n[bank %s]\n", cfg->banks[i].name);
			for (int k = 0; k < MAVIS_KEY_COUNT; k++)
				if (cfg->banks[i].set[k])
					print_kv(out, mavis_key_info(k)->name, cfg->banks[i].vals[k].text);
		}
	}
	return 0;
}
