/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.c - one-line log records to stderr or syslog (facility mail) */

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <mavis/log.h>
#include <mavis/text.h>

static enum mavis_log_sink log_sink = MAVIS_LOG_STDERR;
static const char *log_ident = "mavis";
/* amavisd's $log_level: lines of a level above it are dropped. */
static atomic_int log_verbosity = 0;

void
mavis_log_open(const char *ident, enum mavis_log_sink sink)
{
	log_ident = ident;
	log_sink = sink;
	if (sink == MAVIS_LOG_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
mavis_log_set_verbosity(int level)
{
	if (level < -2)
		level = -2;
	if (level > MAVIS_LOG_LEVEL_MAX)
		level = MAVIS_LOG_LEVEL_MAX;
	atomic_store(&log_verbosity, level);
}

int
mavis_log_verbosity(void)
{
	return atomic_load(&log_verbosity);
}

bool
mavis_log_wants(int n)
{
	return n <= atomic_load(&log_verbosity);
}

/* The amavisd level of a line logged at a syslog level. */
static int
amavis_of(enum mavis_log_level level)
{
	switch (level) {
	case MAVIS_LOG_ERR: return -2;
	case MAVIS_LOG_WARNING: return -1;
	case MAVIS_LOG_NOTICE: return 0;
	case MAVIS_LOG_INFO: return 1;
	case MAVIS_LOG_DEBUG: return 2;
	}
	return 0;
}

void
mavis_log_set_level(enum mavis_log_level max)
{
	/* DEBUG means everything there is, as it did before levels 3..5. */
	mavis_log_set_verbosity(max == MAVIS_LOG_DEBUG ? MAVIS_LOG_LEVEL_MAX : amavis_of(max));
}

enum mavis_log_level
mavis_log_get_level(void)
{
	int v = atomic_load(&log_verbosity);

	if (v <= -2)
		return MAVIS_LOG_ERR;
	if (v == -1)
		return MAVIS_LOG_WARNING;
	if (v == 0)
		return MAVIS_LOG_NOTICE;
	if (v == 1)
		return MAVIS_LOG_INFO;
	return MAVIS_LOG_DEBUG;
}

enum mavis_log_level
mavis_log_level_from_amavis(long level)
{
	/* amavisd: 0 notice and above, 1 info, 2+ debug. */
	if (level <= 0)
		return MAVIS_LOG_NOTICE;
	if (level == 1)
		return MAVIS_LOG_INFO;
	return MAVIS_LOG_DEBUG;
}

static const char *
level_name(enum mavis_log_level level)
{
	switch (level) {
	case MAVIS_LOG_ERR: return "error";
	case MAVIS_LOG_WARNING: return "warning";
	case MAVIS_LOG_NOTICE: return "notice";
	case MAVIS_LOG_INFO: return "info";
	case MAVIS_LOG_DEBUG: return "debug";
	}
	return "?";
}

static void MAVIS_PRINTF(3, 0)
log_write(enum mavis_log_level level, const char *qid, const char *fmt, va_list ap)
{
	char line[2048];
	int off = 0;

	if (qid != NULL && *qid != '\0')
		off = snprintf(line, sizeof(line), "%s: ", qid);
	if (off < 0 || (size_t)off >= sizeof(line))
		off = 0;
	vsnprintf(line + off, sizeof(line) - (size_t)off, fmt, ap);
	/* Log lines carry names and addresses from hostile mail: a CR or LF in
	   them must not start a forged line of its own. */
	mavis_text_scrub(line, strlen(line));
	if (log_sink == MAVIS_LOG_SYSLOG)
		syslog((int)level, "%s", line);
	else
		fprintf(stderr, "%s[%ld]: %s: %s\n", log_ident, (long)getpid(),
			level_name(level), line);
}

void
mavis_log(enum mavis_log_level level, const char *qid, const char *fmt, ...)
{
	va_list ap;

	if (amavis_of(level) > atomic_load(&log_verbosity))
		return;
	va_start(ap, fmt);
	log_write(level, qid, fmt, ap);
	va_end(ap);
}

void
mavis_log_ll(int n, const char *qid, const char *fmt, ...)
{
	va_list ap;

	if (n > atomic_load(&log_verbosity))
		return;
	va_start(ap, fmt);
	log_write(n <= 0 ? MAVIS_LOG_NOTICE : n == 1 ? MAVIS_LOG_INFO : MAVIS_LOG_DEBUG, qid, fmt, ap);
	va_end(ap);
}

void
mavis_panic(const char *file, int line, const char *what)
{
	mavis_log_err(NULL, "panic: %s:%d: %s", file, line, what);
	abort();
}
