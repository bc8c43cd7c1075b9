/* SPDX-License-Identifier: GPL-2.0-or-later */
/* value.c - parse a config value by the type of its key */

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mavis/templ.h>

#include "config_int.h"

/* Remove one pair of surrounding double quotes; \" and \\ inside. */
static const char *
unquote(struct mavis_arena *a, const char *s, struct mavis_error *err, bool *ok)
{
	size_t len = strlen(s);
	char *out, *o;

	*ok = true;
	if (len < 2 || s[0] != '"' || s[len - 1] != '"')
		return s;
	o = out = mavis_arena_alloc(a, len);
	for (size_t i = 1; i < len - 1; i++) {
		if (s[i] == '\\' && i + 1 < len - 1 && (s[i + 1] == '"' || s[i + 1] == '\\'))
			i++;
		else if (s[i] == '"') {
			*ok = false;
			mavis_error_set(err, MAVIS_ERR_CONFIG, "unescaped '\"' inside a quoted value");
			return s;
		}
		*o++ = s[i];
	}
	*o = '\0';
	return out;
}

static int
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1", NULL };
	static const char *const no[] = { "no", "false", "off", "0", NULL };

	for (int i = 0; yes[i]; i++)
		if (strcasecmp(s, yes[i]) == 0)
			return *out = true, 0;
	for (int i = 0; no[i]; i++)
		if (strcasecmp(s, no[i]) == 0)
			return *out = false, 0;
	return -1;
}

/* Integer with an optional unit suffix. units: "" plain, "size", "time". */
static int
parse_number(const char *s, const char *units, long long *out)
{
	char *end;
	long long v, mult = 1;

	errno = 0;
	if (!isdigit((unsigned char)*s) && *s != '-')
		return -1;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE || end == s)
		return -1;
	if (strcmp(units, "size") == 0 && *end) {
		switch (tolower((unsigned char)*end)) {
		case 'k': mult = 1024LL; break;
		case 'm': mult = 1024LL * 1024; break;
		case 'g': mult = 1024LL * 1024 * 1024; break;
		case 'b': mult = 1; break;
		default: return -1;
		}
		end++;
		if (mult > 1 && (*end == 'b' || *end == 'B'))
			end++;
	} else if (strcmp(units, "time") == 0 && *end) {
		switch (*end) {
		case 's': mult = 1; break;
		case 'm': mult = 60; break;
		case 'h': mult = 3600; break;
		case 'd': mult = 86400; break;
		case 'w': mult = 7 * 86400; break;
		default: return -1;
		}
		end++;
	}
	if (*end != '\0')
		return -1;
	if (v < 0 && strcmp(units, "") != 0)
		return -1;
	if (v != 0 && (v > LLONG_MAX / mult || v < LLONG_MIN / mult))
		return -1;
	*out = v * mult;
	return 0;
}

static int
check_bounds(const struct mavis_key_info *ki, long long v, struct mavis_error *err)
{
	if (ki->min == 0 && ki->max == 0)
		return 0;
	if (v < ki->min || v > ki->max)
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "value %lld out of range %lld..%lld",
				       v, ki->min, ki->max);
	return 0;
}

static int
parse_enum(const char *const *choices, const char *s, int *out)
{
	for (int i = 0; choices && choices[i]; i++)
		if (strcasecmp(choices[i], s) == 0)
			return *out = i, 0;
	return -1;
}

static int
parse_destiny(struct mavis_config *cfg, const char *s, int *out, bool *bounce)
{
	static const struct { const char *name; int d; } names[] = {
		{ "pass", MAVIS_D_PASS }, { "d_pass", MAVIS_D_PASS },
		{ "discard", MAVIS_D_DISCARD }, { "d_discard", MAVIS_D_DISCARD },
		{ "reject", MAVIS_D_REJECT }, { "d_reject", MAVIS_D_REJECT },
		{ "tempfail", MAVIS_D_TEMPFAIL }, { "d_tempfail", MAVIS_D_TEMPFAIL },
		{ "bounce", MAVIS_D_BOUNCE }, { "d_bounce", MAVIS_D_BOUNCE },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i].name) == 0) {
			/* A milter cannot send its own DSN in-line: bounce means the
			   SMTP client gets the 5xx, i.e. reject. */
			*bounce = names[i].d == MAVIS_D_BOUNCE;
			*out = *bounce ? MAVIS_D_REJECT : names[i].d;
			return 0;
		}
	}
	return -1;
}

static int
parse_list(struct mavis_arena *a, const char *s, struct mavis_value *val)
{
	size_t n = 0, cap = 0;
	const char **v = NULL;
	const char *p = s;

	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		const char *start = p;
		while (*p && *p != ' ' && *p != '\t' && *p != ',')
			p++;
		if (n + 1 >= cap) {
			const char **nv = mavis_arena_calloc(a, cap ? cap * 2 : 8, sizeof(*nv));

			if (n)
				memcpy(nv, v, n * sizeof(*nv));
			v = nv;
			cap = cap ? cap * 2 : 8;
		}
		v[n++] = mavis_arena_strndup(a, start, (size_t)(p - start));
	}
	if (v == NULL)
		v = mavis_arena_calloc(a, 1, sizeof(*v));
	val->u.list.v = v;
	val->u.list.n = n;
	return 0;
}

int
cfg_parse_value(struct mavis_config *cfg, enum mavis_key key, const char *text,
		struct mavis_value *val, struct mavis_error *err)
{
	const struct mavis_key_info *ki = mavis_key_info(key);
	struct mavis_arena *a = cfg->arena;
	const char *s;
	bool ok;
	int rc = 0;

	memset(val, 0, sizeof(*val));
	val->text = text;
	switch (ki->type) {
	case MAVIS_T_BOOL:
		if (parse_bool(text, &val->u.b) < 0)
			return mavis_error_set(err, MAVIS_ERR_CONFIG,
					       "bad boolean \"%s\" (want yes or no)", text);
		return 0;
	case MAVIS_T_INT:
	case MAVIS_T_SIZE:
	case MAVIS_T_TIME:
		if (parse_number(text, ki->type == MAVIS_T_SIZE ? "size" :
				 ki->type == MAVIS_T_TIME ? "time" : "", &val->u.i) < 0)
			return mavis_error_set(err, MAVIS_ERR_CONFIG, "bad %s \"%s\"%s",
					       mavis_type_name(ki->type), text,
					       ki->type == MAVIS_T_SIZE ? " (want e.g. 10M)" :
					       ki->type == MAVIS_T_TIME ? " (want e.g. 30s)" : "");
		return check_bounds(ki, val->u.i, err);
	case MAVIS_T_FLOAT: {
		char *end;

		errno = 0;
		val->u.f = strtod(text, &end);
		if (end == text || *end || errno == ERANGE || !isfinite(val->u.f))
			return mavis_error_set(err, MAVIS_ERR_CONFIG, "bad number \"%s\"", text);
		if ((ki->min || ki->max) && (val->u.f < (double)ki->min || val->u.f > (double)ki->max))
			return mavis_error_set(err, MAVIS_ERR_CONFIG, "value %s out of range", text);
		return 0;
	}
	case MAVIS_T_STRING:
		s = unquote(a, text, err, &ok);
		if (!ok)
			return MAVIS_ERR_CONFIG;
		val->u.s = s;
		/* A template is checked here, at load: a mistyped macro is the
		   admin's file:line, not a broken log line per message later. */
		if (key == MAVIS_KEY_LOG_TEMPL)
			return mavis_templ_check(s, err);
		return 0;
	case MAVIS_T_ENUM:
		if (parse_enum(ki->choices, text, &val->u.e) < 0) {
			char want[256];

			return mavis_error_set(err, MAVIS_ERR_CONFIG, "bad value \"%s\" (want %s)",
					       text, mavis_key_choices(ki, '|', want, sizeof(want)));
		}
		return 0;
	case MAVIS_T_DESTINY: {
		bool bounce = false;

		if (parse_destiny(cfg, text, &val->u.e, &bounce) < 0)
			return mavis_error_set(err, MAVIS_ERR_CONFIG,
					       "bad destiny \"%s\" (want pass, discard, reject or tempfail)",
					       text);
		if (bounce)
			cfg_add_warning(cfg, "%s = bounce: a milter rejects instead of bouncing",
					ki->name);
		return 0;
	}
	case MAVIS_T_LIST:
		return parse_list(a, text, val);
	case MAVIS_T_IPLIST: {
		struct mavis_iplist *ips = NULL;

		rc = mavis_iplist_parse(text, a, &ips, err);
		val->u.ips = ips;
		return rc;
	}
	case MAVIS_T_MAPS_BOOL:
	case MAVIS_T_MAPS_FLOAT:
	case MAVIS_T_MAPS_SIZE:
	case MAVIS_T_MAPS_STRING:
	case MAVIS_T_IPMAPS: {
		static const enum mavis_mapval kinds[] = {
			[MAVIS_T_MAPS_BOOL] = MAVIS_MAPVAL_BOOL,
			[MAVIS_T_MAPS_FLOAT] = MAVIS_MAPVAL_FLOAT,
			[MAVIS_T_MAPS_SIZE] = MAVIS_MAPVAL_SIZE,
			[MAVIS_T_MAPS_STRING] = MAVIS_MAPVAL_STRING,
			[MAVIS_T_IPMAPS] = MAVIS_MAPVAL_STRING,
		};
		struct mavis_maplist *ml = NULL;

		mavis_map_set_context(ki->name);
		rc = mavis_maplist_parse(text, kinds[ki->type],
					 ki->type == MAVIS_T_IPMAPS ? MAVIS_MAPKEY_IP : MAVIS_MAPKEY_ADDR,
					 cfg->basedir, a, &ml, err);
		mavis_map_set_context(NULL);
		if (rc < 0)
			return rc;
		cfg_track_maplist(cfg, ml);
		val->u.maps = ml;
		return 0;
	}
	}
	return mavis_error_set(err, MAVIS_ERR_INTERNAL, "unknown type of %s", ki->name);
}

int
cfg_build_value(struct mavis_config *cfg, enum mavis_key key, const struct cfg_raw *raw,
		struct mavis_value *val, struct mavis_error *err)
{
	const struct mavis_key_info *ki = mavis_key_info(key);
	const char *text = raw && raw->text ? raw->text : ki->def;
	const char *expanded;
	int rc;

	rc = cfg_expand(cfg, text, cfg->arena, &expanded, err);
	if (rc == 0)
		rc = cfg_parse_value(cfg, key, expanded, val, err);
	if (rc < 0) {
		if (raw && raw->text)
			mavis_error_prefix(err, "%s:%d: %s: ", raw->file, raw->line, ki->name);
		else
			mavis_error_prefix(err, "default of %s: ", ki->name);
	}
	return rc;
}
