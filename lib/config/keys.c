/* SPDX-License-Identifier: GPL-2.0-or-later */
/* keys.c - the key table, generated from config_keys.def */

#include <stdio.h>
#include <string.h>

#include <mavis/config.h>

/* Each key row is NULL: it ends the choice list of the key before it. */
static const char *const choice_words[MAVIS_CROW_COUNT + 1] = {
#define MAVIS_KEY(id, name, type, scope, def, min, max, doc) [MAVIS_CROW_KEY_##id] = NULL,
#define MAVIS_CHOICE(id, c, word) [MAVIS_CROW_##id##_##c] = word,
#include <mavis/config_keys.def>
#undef MAVIS_KEY
#undef MAVIS_CHOICE
};

static const struct mavis_key_info key_table[MAVIS_KEY_COUNT] = {
#define MAVIS_KEY(id, name, type, scope, def, min, max, doc) \
	[MAVIS_KEY_##id] = { name, type, MAVIS_SCOPE_##scope, def, min, max, \
			     type == MAVIS_T_ENUM ? &choice_words[MAVIS_CROW_KEY_##id + 1] : NULL, doc },
#define MAVIS_CHOICE(id, c, word)
#include <mavis/config_keys.def>
#undef MAVIS_KEY
#undef MAVIS_CHOICE
};

const struct mavis_key_info *
mavis_key_info(enum mavis_key key)
{
	if ((unsigned)key >= MAVIS_KEY_COUNT)
		return NULL;
	return &key_table[key];
}

const char *
mavis_key_choices(const struct mavis_key_info *ki, char sep, char *buf, size_t size)
{
	size_t o = 0;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; ki->choices && ki->choices[i]; i++) {
		int n = snprintf(buf + o, size - o, "%s%s", i ? (char[]){ sep, 0 } : "",
				 ki->choices[i]);

		if (n < 0 || (size_t)n >= size - o)
			break;
		o += (size_t)n;
	}
	return buf;
}

int
mavis_key_find(const char *name)
{
	/* Linear: called at config load only, about a hundred keys. */
	for (int i = 0; i < MAVIS_KEY_COUNT; i++)
		if (strcmp(key_table[i].name, name) == 0)
			return i;
	return -1;
}

const char *
mavis_type_name(enum mavis_type type)
{
	switch (type) {
	case MAVIS_T_BOOL: return "bool";
	case MAVIS_T_INT: return "int";
	case MAVIS_T_SIZE: return "size";
	case MAVIS_T_TIME: return "time";
	case MAVIS_T_FLOAT: return "float";
	case MAVIS_T_STRING: return "string";
	case MAVIS_T_ENUM: return "enum";
	case MAVIS_T_DESTINY: return "destiny";
	case MAVIS_T_LIST: return "list";
	case MAVIS_T_IPLIST: return "ip list";
	case MAVIS_T_MAPS_BOOL: return "maps (bool)";
	case MAVIS_T_MAPS_FLOAT: return "maps (number)";
	case MAVIS_T_MAPS_SIZE: return "maps (size)";
	case MAVIS_T_MAPS_STRING: return "maps (string)";
	case MAVIS_T_IPMAPS: return "maps by client address";
	}
	return "?";
}

const char *
mavis_destiny_name(int destiny)
{
	switch (destiny) {
	case MAVIS_D_PASS: return "pass";
	case MAVIS_D_DISCARD: return "discard";
	case MAVIS_D_BOUNCE: return "bounce";
	case MAVIS_D_REJECT: return "reject";
	case MAVIS_D_TEMPFAIL: return "tempfail";
	}
	return "?";
}
