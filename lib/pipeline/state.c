/* SPDX-License-Identifier: GPL-2.0-or-later */
/* state.c - accessors of session and message state that every stage uses */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mavis/log.h>

#include "pipeline_int.h"

const char *
mavis_session_log_id(const struct mavis_session *s)
{
	return s->queue_id[0] ? s->queue_id : s->log_id;
}

void
msg_fail(struct mavis_session *s, struct msg *m, int status, const char *fmt, ...)
{
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	mavis_log_err(mavis_session_log_id(s), "%s", text);
	if (m->fail_status == 0) {
		m->fail_status = status;
		memcpy(m->fail_text, text, sizeof(m->fail_text));
	}
}

const char *
msg_header_value(const struct msg *m, const char *name, size_t n)
{
	size_t idx;

	if (mavis_headers_find(m->headers, name, n, &idx) < 0)
		return NULL;
	return mavis_headers_nth(m->headers, idx)->value;
}
