/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef MAVIS_CONTROL_H
#define MAVIS_CONTROL_H

#include <mavis/api.h>

/*
 * The control socket's line protocol (mavisd's control_socket, mavisctl
 * status/stats/reload).
 *
 * Request: one line of printable ASCII ending in LF (a CR before it is
 * allowed), at most MAVIS_CONTROL_REQUEST_MAX bytes with the LF: a command
 * word, then optional arguments, each separated by one space:
 *     status            the sessions in flight
 *     stats             the counters, "name value" lines
 *     stats json        the counters as one JSON object
 *     reload            reload the configuration (as SIGUSR1)
 * Reply: a status line, "+OK" or "-ERR TEXT", then (after +OK) the
 * payload; the server closes the connection after the reply. A reload that
 * kept the old configuration answers "-ERR " and the file:line cause.
 */

#include <stddef.h>

#include <mavis/error.h>

#define MAVIS_CONTROL_REQUEST_MAX 256

enum mavis_control_cmd {
	MAVIS_CONTROL_STATUS,
	MAVIS_CONTROL_STATS,
	MAVIS_CONTROL_STATS_JSON,
	MAVIS_CONTROL_RELOAD,
};

/* Parse the len bytes of buf (the request line, LF included, or the bytes
   read so far). Returns 1 with *cmd set for a complete valid request, 0
   when no LF came yet and more may be read (len < the maximum), or
   MAVIS_ERR_PARSE / MAVIS_ERR_LIMIT with err saying why (bytes after the
   LF, a control byte, an unknown command, a line too long). */
MAVIS_API int mavis_control_parse(const char *buf, size_t len, enum mavis_control_cmd *cmd,
				  struct mavis_error *err);

#endif
