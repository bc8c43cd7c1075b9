/* SPDX-License-Identifier: GPL-2.0-or-later */
/* release.c - the AM.PDP release listener (amavisd's port 9998 / amavisd.sock) */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <mavis/ampdp.h>
#include <mavis/buf.h>
#include <mavis/config.h>
#include <mavis/log.h>
#include <mavis/maps.h>
#include <mavis/release.h>
#include <mavis/sql.h>

#include "mavisd.h"

#define RELEASE_LISTENERS_MAX 8

struct listener {
	int fd;
	bool is_unix;
	char name[256];
};

static struct listener listeners[RELEASE_LISTENERS_MAX];
static size_t nlisteners;
static struct mavis_engine *rel_engine;
static atomic_int active_clients;
static atomic_bool stopping;
static int stop_pipe[2] = { -1, -1 };
static pthread_t accept_tid;
static bool accept_running;

struct client {
	int fd;
	bool is_unix;
	char addr[INET6_ADDRSTRLEN + 8];	/* "127.0.0.1" or "unix" */
};

/* inet:PORT@HOST / inet6:PORT@HOST -> a bound, listening socket. */
static int
open_inet(const char *spec, int family, const char *rest, struct mavis_error *err)
{
	char port[16], host[256];
	const char *at = strchr(rest, '@');
	struct addrinfo hints = { 0 }, *ai = NULL;
	int fd, one = 1, rc;

	if (at == NULL || at == rest || (size_t)(at - rest) >= sizeof(port) || at[1] == '\0' ||
	    strlen(at + 1) >= sizeof(host))
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "release_socket %s: want inet:PORT@HOST",
				       spec);
	memcpy(port, rest, (size_t)(at - rest));
	port[at - rest] = '\0';
	snprintf(host, sizeof(host), "%s", at + 1);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host) - 2);
		host[strlen(host) - 2] = '\0';
	}
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0)
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "release_socket %s: %s", spec,
				       gai_strerror(rc));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 32) < 0) {
		rc = mavis_error_set(err, MAVIS_ERR_IO, "release_socket %s: %s", spec,
				     strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return rc;
	}
	freeaddrinfo(ai);
	return fd;
}

/* unix:/path: a stale socket file (from a crash) is replaced, anything else
   at that path is refused. Mode and group as the milter socket's. */
static int
open_unix(const struct mavis_config *cfg, const char *spec, const char *path,
	  struct mavis_error *err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct mavisd_socket_ids ids;
	struct stat st;
	int fd, rc;

	if (path[0] != '/' || strlen(path) >= sizeof(sun.sun_path))
		return mavis_error_set(err, MAVIS_ERR_CONFIG,
				       "release_socket %s: want an absolute path of at most %zu bytes",
				       spec, sizeof(sun.sun_path) - 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return mavis_error_set(err, MAVIS_ERR_CONFIG,
					       "release_socket %s: exists and is not a socket", spec);
		unlink(path);
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return mavis_error_set(err, MAVIS_ERR_IO, "release_socket %s: %s", spec,
				       strerror(errno));
	if (mavisd_socket_begin(cfg, spec, &ids) < 0) {
		close(fd);
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "release_socket %s: socket ids", spec);
	}
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	int saved = errno;
	mavisd_socket_end(&ids);
	if (rc < 0 || listen(fd, 32) < 0) {
		rc = mavis_error_set(err, MAVIS_ERR_IO, "release_socket %s: %s%s", spec,
				     strerror(rc < 0 ? saved : errno),
				     ids.ids_changed ? " (as daemon_user: is its directory writable?)"
						     : "");
		close(fd);
		return rc;
	}
	return fd;
}

int
mavisd_release_open(const struct mavis_config *cfg)
{
	const struct mavis_value *v = mavis_config_get(cfg, MAVIS_KEY_RELEASE_SOCKET);
	struct mavis_error err = { 0 };

	for (size_t i = 0; i < v->u.list.n; i++) {
		const char *spec = v->u.list.v[i];
		struct listener *l;
		int fd;

		if (nlisteners >= RELEASE_LISTENERS_MAX) {
			mavis_log_err(NULL, "release_socket: at most %d sockets", RELEASE_LISTENERS_MAX);
			return -1;
		}
		l = &listeners[nlisteners];
		l->is_unix = false;
		if (strncmp(spec, "inet:", 5) == 0)
			fd = open_inet(spec, AF_INET, spec + 5, &err);
		else if (strncmp(spec, "inet6:", 6) == 0)
			fd = open_inet(spec, AF_INET6, spec + 6, &err);
		else if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
			fd = open_unix(cfg, spec, strchr(spec, ':') + 1, &err);
			l->is_unix = true;
		} else
			fd = mavis_error_set(&err, MAVIS_ERR_CONFIG,
					     "release_socket %s: want inet:PORT@HOST, "
					     "inet6:PORT@HOST or unix:/path", spec);
		if (fd < 0) {
			mavis_log_err(NULL, "cannot open %s", err.text);
			return -1;
		}
		l->fd = fd;
		snprintf(l->name, sizeof(l->name), "%s", spec);
		nlisteners++;
	}
	return 0;
}

/* Write all of data; false when the client is gone or stalls. */
static bool
send_all(int fd, const char *data, size_t len, int timeout_ms)
{
	while (len > 0) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		ssize_t n;

		if (poll(&p, 1, timeout_ms) <= 0)
			return false;
		n = send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return false;
		data += n;
		len -= (size_t)n;
	}
	return true;
}

static void
send_failure(int fd, const char *text, int timeout_ms)
{
	struct mavis_buf b = { 0 };

	mavis_ampdp_put_failure(&b, text);
	(void)send_all(fd, b.data, b.len, timeout_ms);
	mavis_buf_free(&b);
}

static const char *
request_name(enum mavis_ampdp_request r)
{
	return r == MAVIS_AMPDP_RELEASE ? "release" : r == MAVIS_AMPDP_REQUEUE ? "requeue" : "report";
}

/* The quarantined copy the request names: quar_type F/Z a file, Q the SQL
   quarantine; none given (panels that know only one kind), the file
   quarantine first and then SQL, whichever this mavisd has. */
static int
load_entry(const struct mavis_config *cfg, const struct mavis_ampdp_req *req,
	   struct mavis_arena *a, struct mavis_quarantine_entry *e, const char **path_r,
	   struct mavis_error *err)
{
	const char *qdir = mavis_config_get(cfg, MAVIS_KEY_QUARANTINE_DIR)->u.s;
	struct mavis_sql *sql = mavis_sql_global();
	int rc;

	if (req->quar_type == 'Q')
		return mavis_release_load_sql(cfg, sql, req->mail_id, req->partition_tag, a, e,
					      path_r, err);
	if (req->quar_type != 0 || sql == NULL)
		return mavis_release_load_file(cfg, req->mail_id, req->mail_file, a, e, path_r, err);
	if (qdir != NULL && qdir[0] != '\0') {
		rc = mavis_release_load_file(cfg, req->mail_id, req->mail_file, a, e, path_r, err);
		if (rc != MAVIS_ERR_NOTFOUND)
			return rc;
	}
	return mavis_release_load_sql(cfg, sql, req->mail_id, req->partition_tag, a, e, path_r, err);
}

/* One complete request: parse, authorize, release, answer into out. */
static void
serve_request(struct client *c, const struct mavis_config *cfg, const char *data, size_t len,
	      struct mavis_buf *out)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_error err = { 0 };
	struct mavis_ampdp_req req;
	struct mavis_quarantine_entry e;
	struct mavis_release_result res;
	const char *path, *why;
	bool trusted;

	if (mavis_ampdp_parse(data, len, a, &req, &err) < 0) {
		mavis_log_warn(NULL, "release: request from %s refused: %s", c->addr, err.text);
		mavis_ampdp_put_failure(out, err.text);
		goto out;
	}
	trusted = c->is_unix ||
		  mavis_iplist_match(mavis_config_get(cfg, MAVIS_KEY_RELEASE_TRUSTED_CLIENTS)->u.ips,
				     c->addr) == 1;
	/* As amavisd: a secret_id given is always checked; none is enough only
	   for a trusted client. */
	why = NULL;
	if (req.secret_id != NULL && req.secret_id[0] != '\0') {
		if (!mavis_ampdp_secret_ok(req.mail_id, req.secret_id))
			why = mavis_arena_printf(a, "Secret_id does not match mail_id %s", req.mail_id);
	} else if (!trusted)
		why = "Secret_id is required, but missing";
	/* amavisd 2.13 answers request=report (amavisd-report) with an ARF
	   abuse report of the quarantined copy, sent through release_method
	   to the request's recipients; mavisd has no report generator yet:
	   a failure that says so, nothing is sent. */
	if (why == NULL && req.request == MAVIS_AMPDP_REPORT)
		why = "request=report (an ARF abuse report) is not supported, nothing sent";
	if (why != NULL) {
		mavis_log_warn(NULL, "release: %s %s from %s refused: %s", request_name(req.request),
			       req.mail_id, c->addr, why);
		mavis_ampdp_put_failure(out, why);
		goto out;
	}
	if (load_entry(cfg, &req, a, &e, &path, &err) < 0) {
		mavis_log_warn(NULL, "release: %s %s from %s failed: %s", request_name(req.request),
			       req.mail_id, c->addr, err.text);
		mavis_ampdp_put_failure(out, err.text);
		goto out;
	}
	struct mavis_release_opts ro = {
		.rcpts = req.rcpts,
		.nrcpts = req.nrcpts,
		.requeue = req.request == MAVIS_AMPDP_REQUEUE,
		.requested_by = req.requested_by,
		.sender = req.sender,
	};
	int rc = mavis_release_send(cfg, &e, &ro, a, &res, &err);
	if (rc == MAVIS_ERR_NOTFOUND) {
		/* amavisd's answer for a message without recipients. */
		mavis_ampdp_put_reply(out, 250, "2.5.0", "No recipients, nothing to do");
		mavis_buf_puts(out, "\r\n");
		goto out;
	}
	if (rc < 0) {
		mavis_log_warn(NULL, "release: %s %s from %s failed: %s", request_name(req.request),
			       req.mail_id, c->addr, err.text);
		mavis_ampdp_put_failure(out, err.text);
		goto out;
	}
	for (size_t i = 0; i < res.nrcpts; i++) {
		mavis_ampdp_put_reply(out, res.rcpts[i].code, res.rcpts[i].xcode, res.rcpts[i].text);
		mavis_log(res.rcpts[i].code / 100 == 2 ? MAVIS_LOG_NOTICE : MAVIS_LOG_WARNING, NULL,
			  "rel-%s: %s %s (%s) from %s%s%s%s, <%s> -> <%s>: %d %s %s", res.rel_id,
			  request_name(req.request), req.mail_id, path, c->addr,
			  trusted ? " (trusted)" : "", req.requested_by ? ", requested_by " : "",
			  req.requested_by ? req.requested_by : "", res.sender, res.rcpts[i].addr,
			  res.rcpts[i].code, res.rcpts[i].xcode, res.rcpts[i].text);
	}
	mavis_buf_puts(out, "\r\n");
out:
	mavis_arena_free(&a);
}

/*
 * One client: requests in a row until it closes. Bounds: a line over
 * release_max_line or a request over release_max_request fails and ends the
 * connection (the rest of it cannot be framed safely); release_timeout
 * without a complete line ends it too.
 */
static void *
client_main(void *arg)
{
	struct client *c = arg;
	struct mavis_config *cfg = mavis_engine_config(rel_engine);
	size_t max_line = (size_t)mavis_config_get(cfg, MAVIS_KEY_RELEASE_MAX_LINE)->u.i;
	size_t max_req = (size_t)mavis_config_get(cfg, MAVIS_KEY_RELEASE_MAX_REQUEST)->u.i;
	int timeout_ms = (int)mavis_config_get(cfg, MAVIS_KEY_RELEASE_TIMEOUT)->u.i * 1000;
	struct mavis_buf in = { 0 }, req = { 0 }, out = { 0 };
	char chunk[4096];
	bool done = false;
	int idle_ms = 0;

	mavis_config_unref(&cfg);
	while (!done && !atomic_load(&stopping)) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		/* Short polls, so that a stop is noticed by idle clients too. */
		int step = timeout_ms < 1000 ? timeout_ms : 1000;
		int ready = poll(&p, 1, step);
		ssize_t n;

		if (ready < 0 && errno == EINTR)
			continue;
		if (ready == 0 && (idle_ms += step) < timeout_ms)
			continue;
		if (ready <= 0) {
			if (ready == 0 && (in.len > 0 || req.len > 0))
				mavis_log_warn(NULL, "release: client %s idle for %ds in a request, closed",
					       c->addr, timeout_ms / 1000);
			break;
		}
		n = recv(c->fd, chunk, sizeof(chunk), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		idle_ms = 0;
		mavis_buf_append(&in, chunk, (size_t)n);
		/* Every complete line: an empty one ends the request. */
		size_t off = 0;
		for (;;) {
			const char *s = in.data + off;
			const char *nl = memchr(s, '\n', in.len - off);

			if (nl == NULL) {
				if (in.len - off > max_line) {
					send_failure(c->fd, "line too long", timeout_ms);
					mavis_log_warn(NULL, "release: client %s: line over %zu bytes, "
							     "closed", c->addr, max_line);
					done = true;
				}
				break;
			}
			size_t ll = (size_t)(nl - s) + 1;

			off += ll;
			if (ll > max_line + 1) {
				send_failure(c->fd, "line too long", timeout_ms);
				mavis_log_warn(NULL, "release: client %s: line over %zu bytes, closed",
					       c->addr, max_line);
				done = true;
				break;
			}
			if (ll == 1 || (ll == 2 && s[0] == '\r')) {
				/* The snapshot of now: a reload applies to the next request. */
				cfg = mavis_engine_config(rel_engine);
				mavis_buf_reset(&out);
				serve_request(c, cfg, req.data ? req.data : "", req.len, &out);
				mavis_config_unref(&cfg);
				mavis_buf_reset(&req);
				if (!send_all(c->fd, out.data, out.len, timeout_ms)) {
					done = true;
					break;
				}
				continue;
			}
			if (req.len + ll > max_req) {
				send_failure(c->fd, "request too large", timeout_ms);
				mavis_log_warn(NULL, "release: client %s: request over %zu bytes, closed",
					       c->addr, max_req);
				done = true;
				break;
			}
			mavis_buf_append(&req, s, ll);
		}
		/* Keep the unfinished line only. */
		if (off > 0) {
			memmove(in.data, in.data + off, in.len - off);
			in.len -= off;
		}
	}
	close(c->fd);
	mavis_buf_free(&in);
	mavis_buf_free(&req);
	mavis_buf_free(&out);
	free(c);
	atomic_fetch_sub(&active_clients, 1);
	return NULL;
}

static void
accept_one(const struct listener *l)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct mavis_config *cfg;
	struct client *c;
	int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
	pthread_t tid;
	pthread_attr_t attr;

	if (fd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->is_unix = l->is_unix;
	if (l->is_unix)
		snprintf(c->addr, sizeof(c->addr), "unix");
	else if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a6 = &((struct sockaddr_in6 *)&ss)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a6))
			inet_ntop(AF_INET, &a6->s6_addr[12], c->addr, sizeof(c->addr));
		else
			inet_ntop(AF_INET6, a6, c->addr, sizeof(c->addr));
	} else
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, c->addr, sizeof(c->addr));

	cfg = mavis_engine_config(rel_engine);
	int timeout_ms = (int)mavis_config_get(cfg, MAVIS_KEY_RELEASE_TIMEOUT)->u.i * 1000;
	bool allowed = c->is_unix ||
		       mavis_iplist_match(mavis_config_get(cfg, MAVIS_KEY_RELEASE_CLIENTS)->u.ips,
					  c->addr) == 1;
	int max = (int)mavis_config_get(cfg, MAVIS_KEY_RELEASE_MAX_CLIENTS)->u.i;
	mavis_config_unref(&cfg);
	if (!allowed) {
		mavis_log_warn(NULL, "release: client %s on %s not in release_clients, refused",
			       c->addr, l->name);
		send_failure(fd, "client not allowed", timeout_ms < 5000 ? timeout_ms : 5000);
		close(fd);
		free(c);
		return;
	}
	if (atomic_fetch_add(&active_clients, 1) >= max) {
		atomic_fetch_sub(&active_clients, 1);
		mavis_log_warn(NULL, "release: client %s refused: release_max_clients (%d) busy",
			       c->addr, max);
		send_failure(fd, "too many release connections, try again later",
			     timeout_ms < 5000 ? timeout_ms : 5000);
		close(fd);
		free(c);
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, client_main, c) != 0) {
		atomic_fetch_sub(&active_clients, 1);
		mavis_log_err(NULL, "release: cannot start a thread for client %s", c->addr);
		send_failure(fd, "internal error", 1000);
		close(fd);
		free(c);
	}
	pthread_attr_destroy(&attr);
}

static void *
accept_main(void *arg)
{
	struct pollfd p[RELEASE_LISTENERS_MAX + 1];

	(void)arg;
	for (size_t i = 0; i < nlisteners; i++)
		p[i] = (struct pollfd){ .fd = listeners[i].fd, .events = POLLIN };
	p[nlisteners] = (struct pollfd){ .fd = stop_pipe[0], .events = POLLIN };
	while (!atomic_load(&stopping)) {
		int n = poll(p, nlisteners + 1, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			mavis_log_err(NULL, "release: poll: %s", strerror(errno));
			break;
		}
		if (p[nlisteners].revents)
			break;
		for (size_t i = 0; i < nlisteners; i++)
			if (p[i].revents & POLLIN)
				accept_one(&listeners[i]);
	}
	return NULL;
}

int
mavisd_release_start(struct mavis_engine *engine)
{
	if (nlisteners == 0)
		return 0;
	rel_engine = engine;
	if (pipe2(stop_pipe, O_CLOEXEC) < 0 ||
	    pthread_create(&accept_tid, NULL, accept_main, NULL) != 0) {
		mavis_log_err(NULL, "release: cannot start the listener thread");
		return -1;
	}
	accept_running = true;
	for (size_t i = 0; i < nlisteners; i++)
		mavis_log_notice(NULL, "release listener (AM.PDP) on %s", listeners[i].name);
	return 0;
}

void
mavisd_release_stop(int wait_seconds)
{
	struct timespec tick = { 0, 50 * 1000 * 1000 };

	if (!accept_running)
		return;
	atomic_store(&stopping, true);
	if (write(stop_pipe[1], "x", 1) < 0)
		mavis_log_warn(NULL, "release: cannot wake the listener: %s", strerror(errno));
	pthread_join(accept_tid, NULL);
	accept_running = false;
	for (size_t i = 0; i < nlisteners; i++)
		close(listeners[i].fd);
	/* Clients notice `stopping` after their current request (a release in
	   flight completes). */
	for (int i = 0; i < wait_seconds * 20 && atomic_load(&active_clients) > 0; i++)
		nanosleep(&tick, NULL);
	if (atomic_load(&active_clients) > 0)
		mavis_log_warn(NULL, "release: stopping with %d client(s) still connected",
			       atomic_load(&active_clients));
	close(stop_pipe[0]);
	close(stop_pipe[1]);
}
