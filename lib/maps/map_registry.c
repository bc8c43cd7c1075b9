/* SPDX-License-Identifier: GPL-2.0-or-later */
/* map_registry.c - table types added at run time (pgsql:), looked up by name */

#include <string.h>

#include "maps_int.h"

/* A handful of back ends at most (pgsql, maybe ldap); a fixed array needs no
   lock on the lookup path, since registration happens before threads start. */
#define MAP_TYPES_MAX 8
#define MAP_TYPE_NAME_MAX 32

struct map_type_slot {
	struct mavis_map_type type;	/* type.name points at name */
	char name[MAP_TYPE_NAME_MAX];
};

static struct map_type_slot map_types[MAP_TYPES_MAX];
static size_t map_ntypes;

static const char *const builtin_types[] = { "hash", "pcre", "cidr", "inline", "static" };

bool
mavis_map_type_is_builtin(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(builtin_types) / sizeof(builtin_types[0]); i++)
		if (strlen(builtin_types[i]) == len && memcmp(builtin_types[i], name, len) == 0)
			return true;
	return false;
}

const struct mavis_map_type *
mavis_map_type_find(const char *name, size_t len)
{
	for (size_t i = 0; i < map_ntypes; i++)
		if (strlen(map_types[i].name) == len && memcmp(map_types[i].name, name, len) == 0)
			return &map_types[i].type;
	return NULL;
}

static bool
valid_name(const char *name)
{
	if (name == NULL || !(*name >= 'a' && *name <= 'z') ||
	    strlen(name) >= MAP_TYPE_NAME_MAX)
		return false;
	for (; *name; name++)
		if (!((*name >= 'a' && *name <= 'z') || (*name >= '0' && *name <= '9') ||
		      *name == '_'))
			return false;
	return true;
}

int
mavis_map_register_type(const struct mavis_map_type *type)
{
	if (type == NULL || !valid_name(type->name) || type->open == NULL ||
	    type->lookup == NULL)
		return MAVIS_ERR_CONFIG;
	if (mavis_map_type_is_builtin(type->name, strlen(type->name)) ||
	    mavis_map_type_find(type->name, strlen(type->name)) != NULL)
		return MAVIS_ERR_CONFIG;
	if (map_ntypes == MAP_TYPES_MAX)
		return MAVIS_ERR_CONFIG;
	/* Copies: the caller's struct and name may be locals. */
	struct map_type_slot *slot = &map_types[map_ntypes++];

	slot->type = *type;
	strcpy(slot->name, type->name);
	slot->type.name = slot->name;
	return 0;
}

/* Parse-time and lookup-time context for external table types; per thread,
   since a reload parses in its own thread while sessions look up in theirs. */
static _Thread_local const char *map_ctx_key;
static _Thread_local const char *map_ctx_rcpt;

void
mavis_map_set_context(const char *keyname)
{
	map_ctx_key = keyname;
}

const char *
mavis_map_context(void)
{
	return map_ctx_key;
}

void
mavis_map_set_recipient(const char *rcpt)
{
	map_ctx_rcpt = rcpt;
}

const char *
mavis_map_recipient(void)
{
	return map_ctx_rcpt;
}
