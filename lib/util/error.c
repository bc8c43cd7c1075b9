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
	size_t plen, olen;
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	/* By hand: snprintf("%s%s") trips -Wformat-truncation, and cutting the
	   tail of a long message is what we want anyway. */
	memcpy(old, err->text, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	plen = strlen(prefix);
	olen = strlen(old);
	if (plen > sizeof(err->text) - 1)
		plen = sizeof(err->text) - 1;
	if (olen > sizeof(err->text) - 1 - plen)
		olen = sizeof(err->text) - 1 - plen;
	memcpy(err->text, prefix, plen);
	memcpy(err->text + plen, old, olen);
	err->text[plen + olen] = '\0';
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
	case MAVIS_ERR_RESOURCE: return "resource";
	}
	return "unknown";
}
