/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_LOG_H
#define MAVIS_LOG_H

#include <mavis/api.h>

/*
 * Logging for the programs built on libmavis. Levels follow syslog. The sink is
 * stderr (foreground, mavisctl, tests) or syslog facility mail (daemon). Library
 * functions report failures through struct mavis_error; only the pipeline's
 * final log line and debug traces are written from inside the library.
 * Thread-safe: each call writes one line.
 */

#include <mavis/error.h>

enum mavis_log_level {
	MAVIS_LOG_ERR = 3,
	MAVIS_LOG_WARNING = 4,
	MAVIS_LOG_NOTICE = 5,
	MAVIS_LOG_INFO = 6,
	MAVIS_LOG_DEBUG = 7,
};

enum mavis_log_sink { MAVIS_LOG_STDERR, MAVIS_LOG_SYSLOG };

/* Open the log: ident is the program name. Call once at start. */
MAVIS_API void mavis_log_open(const char *ident, enum mavis_log_sink sink);
/* Lines above this level are dropped (default NOTICE; config log_level maps 0..5). */
MAVIS_API void mavis_log_set_level(enum mavis_log_level max);
MAVIS_API enum mavis_log_level mavis_log_get_level(void);
/* Convert amavisd-style log_level 0..5 to a syslog level bound. */
MAVIS_API enum mavis_log_level mavis_log_level_from_amavis(long level);

/* One line. qid (may be NULL) is the MTA queue id, printed as "QID: " prefix. */
MAVIS_API void mavis_log(enum mavis_log_level level, const char *qid, const char *fmt, ...)
	MAVIS_PRINTF(3, 4);

#define mavis_log_err(qid, ...) mavis_log(MAVIS_LOG_ERR, qid, __VA_ARGS__)
#define mavis_log_warn(qid, ...) mavis_log(MAVIS_LOG_WARNING, qid, __VA_ARGS__)
#define mavis_log_notice(qid, ...) mavis_log(MAVIS_LOG_NOTICE, qid, __VA_ARGS__)
#define mavis_log_info(qid, ...) mavis_log(MAVIS_LOG_INFO, qid, __VA_ARGS__)
#define mavis_log_debug(qid, ...) mavis_log(MAVIS_LOG_DEBUG, qid, __VA_ARGS__)

/* An invariant that stays in Release builds: logs and aborts (a bug, not input). */
#define MAVIS_ASSERT(cond)                                                     \
	do {                                                                   \
		if (!(cond))                                                   \
			mavis_panic(__FILE__, __LINE__, #cond);                \
	} while (0)
MAVIS_API MAVIS_NORETURN void mavis_panic(const char *file, int line, const char *what);

#endif
