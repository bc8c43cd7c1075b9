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

#include <stdbool.h>

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

/*
 * How much is written is amavisd-new's $log_level (config key log_level),
 * process-wide: a line of level N is written when N <= the log level.
 * Levels below 0 are amavisd's: -2 errors only, -1 warnings and errors.
 *   0  the main line per message, warnings, errors, start, stop, reload
 *   1  + a line per notable event of a message: "Checking: ...", OVERSIZED,
 *        quarantined, recipient refused by bucketing, a check skipped
 *   2  + what each check found: virus_scan:, av-scanner results, spam-tag,
 *        p.path BANNED, bad header, the TIMING line (log_timing logs it
 *        at 0 too)
 *   3  + each recipient's outcome: category, destiny, blocked or passed
 *   4  + the milter envelope as it arrives: connect, helo, MAIL, RCPT
 *   5  + everything: every milter stage, library chatter (libclamav, GMime)
 * Syslog priority follows amavisd too: errors err, warnings warning, 0
 * notice, 1 info, 2..5 debug.
 */
#define MAVIS_LOG_LEVEL_MAX 5
/* Set the log level (clamped to -2..5). Default 0. */
MAVIS_API void mavis_log_set_verbosity(int level);
MAVIS_API int mavis_log_verbosity(void);
/* True when a line of amavisd level n would be written (use it to skip
   building an expensive line). */
MAVIS_API bool mavis_log_wants(int n);
/* Syslog-level view of the same setting, for callers that think in syslog
   terms (mavisctl scan -v: DEBUG = level 5; WARNING = level -1). */
MAVIS_API void mavis_log_set_level(enum mavis_log_level max);
MAVIS_API enum mavis_log_level mavis_log_get_level(void);
/* Convert amavisd-style log_level 0..5 to a syslog level bound. */
MAVIS_API enum mavis_log_level mavis_log_level_from_amavis(long level);

/* One line at amavisd level n (0..5; see above). qid as for mavis_log. */
MAVIS_API void mavis_log_ll(int n, const char *qid, const char *fmt, ...) MAVIS_PRINTF(3, 4);

/* One line at a syslog level: ERR, WARNING and NOTICE are amavisd level
   -2, -1 and 0, INFO is 1, DEBUG is 2. qid (may be NULL) is the MTA queue
   id, printed as "QID: " prefix. */
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
