/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.c - one-line log records to stderr or syslog (facility mail) */

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
static atomic_int log_max = MAVIS_LOG_NOTICE;

void
mavis_log_open(const char *ident, enum mavis_log_sink sink)
{
	log_ident = ident;
	log_sink = sink;
	if (sink == MAVIS_LOG_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
mavis_log_set_level(enum mavis_log_level max)
{
	atomic_store(&log_max, (int)max);
}

enum mavis_log_level
mavis_log_get_level(void)
{
	return (enum mavis_log_level)atomic_load(&log_max);
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

void
mavis_log(enum mavis_log_level level, const char *qid, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int off = 0;

	if ((int)level > atomic_load(&log_max))
		return;
	if (qid != NULL && *qid != '\0')
		off = snprintf(line, sizeof(line), "%s: ", qid);
	va_start(ap, fmt);
	vsnprintf(line + off, sizeof(line) - (size_t)off, fmt, ap);
	va_end(ap);
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
mavis_panic(const char *file, int line, const char *what)
{
	mavis_log_err(NULL, "panic: %s:%d: %s", file, line, what);
	abort();
}
