/* SPDX-License-Identifier: GPL-2.0-or-later */
/* map_value.c - map values as booleans, numbers and sizes, checked at parse time */

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "maps_int.h"

static const char *
trim(const char *s, size_t *len)
{
	size_t n = strlen(s);

	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	*len = n;
	return s;
}

static bool
word_in(const char *s, size_t len, const char *const *words)
{
	for (; *words != NULL; words++)
		if (strlen(*words) == len && strncasecmp(s, *words, len) == 0)
			return true;
	return false;
}

static const char *const false_words[] = { "", "0", "no", "false", "off", "n", "f", NULL };
static const char *const true_words[] = { "1", "yes", "true", "on", "y", "t", NULL };

bool
mavis_map_value_bool(const char *value)
{
	const char *s;
	size_t len;

	if (value == NULL)
		return false;
	/* SQL CHAR(1) columns hold ' ' for false, hence the trim. */
	s = trim(value, &len);
	return !word_in(s, len, false_words);
}

bool
mavis_map_is_bool_word(const char *s)
{
	static const char *const words[] = { "yes", "no", "true", "false", "1", "0", NULL };

	return word_in(s, strlen(s), words);
}

int
mavis_map_value_float(const char *value, double *out)
{
	const char *s;
	char buf[65], *end;
	size_t len;
	double d;

	if (value == NULL)
		return MAVIS_ERR_PARSE;
	s = trim(value, &len);
	if (len == 0 || len > 64)
		return MAVIS_ERR_PARSE;
	/* strtod also takes hex, inf and nan, none of which is a score. */
	for (size_t i = 0; i < len; i++)
		if (strchr("0123456789+-.eE", s[i]) == NULL)
			return MAVIS_ERR_PARSE;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	d = strtod(buf, &end);
	if (end == buf || *end != '\0' || errno == ERANGE || !isfinite(d))
		return MAVIS_ERR_PARSE;
	*out = d;
	return 0;
}

int
mavis_map_value_size(const char *value, uint64_t *out)
{
	const char *s;
	size_t len, i = 0;
	uint64_t v = 0, mult = 1;

	if (value == NULL)
		return MAVIS_ERR_PARSE;
	s = trim(value, &len);
	if (len == 0)
		return MAVIS_ERR_PARSE;
	switch (s[len - 1]) {
	case 'k': case 'K': mult = 1024; len--; break;
	case 'm': case 'M': mult = 1024 * 1024; len--; break;
	case 'g': case 'G': mult = 1024 * 1024 * 1024; len--; break;
	default: break;
	}
	if (len == 0)
		return MAVIS_ERR_PARSE;
	for (; i < len; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return MAVIS_ERR_PARSE;
		v = v * 10 + d;
	}
	if (v > UINT64_MAX / mult)
		return MAVIS_ERR_PARSE;
	*out = v * mult;
	return 0;
}

int
mavis_map_value_check(enum mavis_mapval kind, const char *value, struct mavis_error *err)
{
	double d;
	uint64_t u;
	const char *s;
	size_t len;

	switch (kind) {
	case MAVIS_MAPVAL_BOOL:
		/* Everything is a boolean to amavisd; only the usual words are
		   accepted here, so that "static:REJECT" is caught as a typo. */
		s = trim(value, &len);
		if (word_in(s, len, false_words) || word_in(s, len, true_words))
			return 0;
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "'%s' is not a boolean", value);
	case MAVIS_MAPVAL_FLOAT:
		if (mavis_map_value_float(value, &d) == 0)
			return 0;
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "'%s' is not a number", value);
	case MAVIS_MAPVAL_SIZE:
		if (mavis_map_value_size(value, &u) == 0)
			return 0;
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "'%s' is not a size", value);
	case MAVIS_MAPVAL_STRING:
		return 0;
	}
	return mavis_error_set(err, MAVIS_ERR_INTERNAL, "unknown map value kind %d", (int)kind);
}
