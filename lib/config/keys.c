/* SPDX-License-Identifier: GPL-2.0-or-later */
/* keys.c - the key table, generated from config_keys.def */

#include <string.h>

#include <mavis/config.h>

static const struct mavis_key_info key_table[MAVIS_KEY_COUNT] = {
#define MAVIS_KEY(id, name, type, scope, def, min, max, choices, doc) \
	[MAVIS_KEY_##id] = { name, type, MAVIS_SCOPE_##scope, def, min, max, choices, doc },
#include <mavis/config_keys.def>
#undef MAVIS_KEY
};

const struct mavis_key_info *
mavis_key_info(enum mavis_key key)
{
	if ((unsigned)key >= MAVIS_KEY_COUNT)
		return NULL;
	return &key_table[key];
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
