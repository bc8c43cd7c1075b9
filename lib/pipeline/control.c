/* SPDX-License-Identifier: GPL-2.0-or-later */
/* control.c - the control socket's request parser (mavis/control.h) */

#include <string.h>

#include <mavis/control.h>

static const struct {
	const char *line;
	enum mavis_control_cmd cmd;
} requests[] = {
	{ "status", MAVIS_CONTROL_STATUS },
	{ "stats", MAVIS_CONTROL_STATS },
	{ "stats json", MAVIS_CONTROL_STATS_JSON },
	{ "reload", MAVIS_CONTROL_RELOAD },
};

int
mavis_control_parse(const char *buf, size_t len, enum mavis_control_cmd *cmd,
		    struct mavis_error *err)
{
	const char *lf = memchr(buf, '\n', len);
	size_t n;

	if (lf == NULL) {
		if (len >= MAVIS_CONTROL_REQUEST_MAX)
			return mavis_error_set(err, MAVIS_ERR_LIMIT, "request longer than %d bytes",
					       MAVIS_CONTROL_REQUEST_MAX - 1);
		/* Only printable bytes may come before the LF: fail early on
		   others rather than wait for more. */
		for (size_t i = 0; i < len; i++)
			if ((buf[i] < ' ' || buf[i] > '~') && !(buf[i] == '\r' && i + 1 == len))
				return mavis_error_set(err, MAVIS_ERR_PARSE, "control byte in request");
		return 0;
	}
	n = (size_t)(lf - buf);
	if (n + 1 > MAVIS_CONTROL_REQUEST_MAX)
		return mavis_error_set(err, MAVIS_ERR_LIMIT, "request longer than %d bytes",
				       MAVIS_CONTROL_REQUEST_MAX - 1);
	/* One request per connection: anything after it is a protocol error,
	   not a second command to run. */
	if (n + 1 != len)
		return mavis_error_set(err, MAVIS_ERR_PARSE, "data after the request line");
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	for (size_t i = 0; i < n; i++)
		if (buf[i] < ' ' || buf[i] > '~')
			return mavis_error_set(err, MAVIS_ERR_PARSE, "control byte in request");
	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++)
		if (strlen(requests[i].line) == n && memcmp(requests[i].line, buf, n) == 0) {
			*cmd = requests[i].cmd;
			return 1;
		}
	return mavis_error_set(err, MAVIS_ERR_PARSE,
			       "unknown request (want status, stats, stats json or reload)");
}
