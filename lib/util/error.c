/* SPDX-License-Identifier: GPL-2.0-or-later */
/* error.c - status codes and error text */

#include <stdio.h>
#include <string.h>

#include <mavis/error.h>

int
mavis_error_set(struct mavis_error *err, enum mavis_status status, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		err->status = status;
		va_start(ap, fmt);
		vsnprintf(err->text, sizeof(err->text), fmt, ap);
		va_end(ap);
	}
	return status;
}

void
mavis_error_prefix(struct mavis_error *err, const char *fmt, ...)
{
	char prefix[MAVIS_ERROR_MAX];
	char old[MAVIS_ERROR_MAX];
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->text, sizeof(old));
	/* Truncation is acceptable here: the text is for humans. Using the
	   result keeps -Wformat-truncation quiet without a pragma. */
	if (snprintf(err->text, sizeof(err->text), "%s%s", prefix, old) < 0)
		err->text[0] = '\0';
}

void
mavis_error_clear(struct mavis_error *err)
{
	if (err != NULL) {
		err->status = MAVIS_OK;
		err->text[0] = '\0';
	}
}

const char *
mavis_status_name(int status)
{
	switch (status) {
	case MAVIS_OK: return "ok";
	case MAVIS_ERR_CONFIG: return "config";
	case MAVIS_ERR_IO: return "io";
	case MAVIS_ERR_LIMIT: return "limit";
	case MAVIS_ERR_PARSE: return "parse";
	case MAVIS_ERR_SCANNER: return "scanner";
	case MAVIS_ERR_SQL: return "sql";
	case MAVIS_ERR_INTERNAL: return "internal";
	case MAVIS_ERR_NOTFOUND: return "notfound";
	}
	return "unknown";
}
