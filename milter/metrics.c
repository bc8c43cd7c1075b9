/* SPDX-License-Identifier: GPL-2.0-or-later */
/* metrics.c - metrics_socket: GET /metrics in the Prometheus text format (libmicrohttpd) */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include <mavis/buf.h>
#include <mavis/log.h>
#include <mavis/stats.h>

#include "mavisd.h"

/* Few scrapers, small requests: a bound on each, so that an open port on
   the wrong interface cannot take memory or threads. */
#define METRICS_CONNECTIONS 8
#define METRICS_TIMEOUT_S 10
#define METRICS_MEMORY (16 * 1024)

static int metrics_fd = -1;
static struct MHD_Daemon *daemon_;
static char metrics_spec[128];

/* inet:PORT@HOST or inet6:PORT@HOST, as the milter socket is spelled. */
static int
parse_spec(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
	bool v6 = strncmp(spec, "inet6:", 6) == 0;
	const char *p = v6 ? spec + 6 : strncmp(spec, "inet:", 5) == 0 ? spec + 5 : NULL;
	const char *at;
	char host[64];
	char *end;
	long port;

	if (p == NULL || (at = strchr(p, '@')) == NULL)
		return -1;
	port = strtol(p, &end, 10);
	if (end != at || port < 1 || port > 65535 || strlen(at + 1) >= sizeof(host))
		return -1;
	strcpy(host, at + 1);
	memset(ss, 0, sizeof(*ss));
	if (v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -1;
		*len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -1;
		*len = sizeof(*s4);
	}
	return 0;
}

int
mavisd_metrics_open(const struct mavis_config *cfg)
{
	const char *spec = mavis_config_get(cfg, MAVIS_KEY_METRICS_SOCKET)->u.s;
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (spec == NULL || *spec == '\0')
		return 0;
	if (parse_spec(spec, &ss, &len) < 0) {
		mavis_log_err(NULL, "metrics_socket %s: want inet:PORT@ADDRESS or inet6:PORT@ADDRESS "
				    "(a numeric address)", spec);
		return -1;
	}
	snprintf(metrics_spec, sizeof(metrics_spec), "%s", spec);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, METRICS_CONNECTIONS) < 0) {
		/* Metrics are for the admin; the mail flows without them. */
		mavis_log_warn(NULL, "metrics_socket %s: %s: no metrics endpoint", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 0;
	}
	metrics_fd = fd;
	return 0;
}

static enum MHD_Result
answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
       const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct MHD_Response *resp;
	struct mavis_buf out = { 0 };
	unsigned code = MHD_HTTP_OK;
	const char *ctype = "text/plain; version=0.0.4; charset=utf-8";
	enum MHD_Result rc;

	(void)cls;
	(void)version;
	(void)upload_data;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		code = MHD_HTTP_METHOD_NOT_ALLOWED;
		mavis_buf_puts(&out, "only GET\n");
		ctype = "text/plain; charset=utf-8";
	} else if (*upload_data_size != 0) {
		/* A GET with a body: refuse it rather than read it. */
		*upload_data_size = 0;
		code = MHD_HTTP_BAD_REQUEST;
		mavis_buf_puts(&out, "no body expected\n");
		ctype = "text/plain; charset=utf-8";
	} else if (strcmp(url, "/metrics") != 0) {
		code = MHD_HTTP_NOT_FOUND;
		mavis_buf_puts(&out, "try /metrics\n");
		ctype = "text/plain; charset=utf-8";
	} else {
		mavis_stats_format_prometheus(&out, MAVIS_VERSION);
	}
	resp = MHD_create_response_from_buffer(out.len, out.data ? out.data : (void *)"",
					       MHD_RESPMEM_MUST_COPY);
	mavis_buf_free(&out);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	rc = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return rc;
}

int
mavisd_metrics_start(void)
{
	if (metrics_fd < 0)
		return 0;
	daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL, NULL,
				   answer, NULL, MHD_OPTION_LISTEN_SOCKET, metrics_fd,
				   MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_CONNECTIONS,
				   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_TIMEOUT_S,
				   MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICS_MEMORY,
				   MHD_OPTION_END);
	if (daemon_ == NULL) {
		mavis_log_warn(NULL, "metrics_socket %s: cannot start the HTTP server: no metrics endpoint",
			       metrics_spec);
		close(metrics_fd);
		metrics_fd = -1;
		return 0;
	}
	mavis_log_info(NULL, "metrics on %s", metrics_spec);
	return 0;
}

void
mavisd_metrics_stop(void)
{
	if (daemon_ != NULL) {
		MHD_stop_daemon(daemon_);
		daemon_ = NULL;
		/* MHD_stop_daemon closes the listen socket it was given. */
		metrics_fd = -1;
	}
}
