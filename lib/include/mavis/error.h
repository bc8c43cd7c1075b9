/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_ERROR_H
#define MAVIS_ERROR_H

#include <mavis/api.h>

/*
 * Status codes and error text. Library calls return 0 on success or a negative
 * enum mavis_status, and fill a struct mavis_error with a human-readable cause
 * (file:line for config errors). The library never logs these itself; the caller
 * decides the log line and the SMTP reply (verdict/reply.h).
 */

#include <stdarg.h>
#include <stddef.h>

enum mavis_status {
	MAVIS_OK = 0,
	MAVIS_ERR_CONFIG = -1,	/* bad configuration or map spec */
	MAVIS_ERR_IO = -2,	/* file or socket I/O failed */
	MAVIS_ERR_LIMIT = -3,	/* an input bound was exceeded */
	MAVIS_ERR_PARSE = -4,	/* malformed input */
	MAVIS_ERR_SCANNER = -5,	/* a content scanner failed */
	MAVIS_ERR_SQL = -6,	/* database lookup or write failed */
	MAVIS_ERR_INTERNAL = -7,	/* a bug or an impossible state */
	MAVIS_ERR_NOTFOUND = -8,	/* lookup found nothing (not always an error) */
	MAVIS_ERR_RESOURCE = -9,	/* a process-wide budget or memory is spent:
					   always a temporary failure */
};

#define MAVIS_ERROR_MAX 512

struct mavis_error {
	enum mavis_status status;
	char text[MAVIS_ERROR_MAX];
};

#if defined(__GNUC__)
#define MAVIS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define MAVIS_NORETURN __attribute__((noreturn))
#else
#define MAVIS_PRINTF(f, a)
#define MAVIS_NORETURN
#endif

/* Set err (may be NULL) to status and a formatted text; returns status, so
   callers can write `return mavis_error_set(err, MAVIS_ERR_IO, "...")`. */
MAVIS_API int mavis_error_set(struct mavis_error *err, enum mavis_status status,
		    const char *fmt, ...) MAVIS_PRINTF(3, 4);

/* Prefix the existing text of err with a formatted context ("file:3: ").
   Keeps err->status. No-op when err is NULL. */
MAVIS_API void mavis_error_prefix(struct mavis_error *err, const char *fmt, ...)
	MAVIS_PRINTF(2, 3);

/* Clear err to MAVIS_OK and an empty text. */
MAVIS_API void mavis_error_clear(struct mavis_error *err);

/* Short name of a status ("config", "io", ...), never NULL. */
MAVIS_API const char *mavis_status_name(int status);

#endif
