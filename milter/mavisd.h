/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mavisd.h - the milter daemon's modules (milter/) */
#ifndef MAVISD_H
#define MAVISD_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include <libmilter/mfapi.h>

#include <mavis/session.h>
#include <mavis/verdict.h>

#include "sigmask.h"

#define MAVISD_DEFAULT_CONFIG MAVIS_SYSCONFDIR "/mavisd.conf"

/* Exit codes (sysexits.h meanings). */
#define MAVISD_EX_CONFIG 78

/* Options and process-wide state of the filter process. */
struct mavisd_opts {
	const char *config_path;
	const char *socket;	/* -s override, or NULL */
	bool foreground;
	bool check_only;
	int settings_fd;	/* -S: with -n, where the launcher reads its settings; -1 */
};

/* callbacks.c: the libmilter registration. engine must be set before
   smfi_main; mavisd_sessions_active counts open connections,
   mavisd_sessions_closed the connections closed since start. */
extern struct smfiDesc mavisd_filter;
void mavisd_callbacks_init(struct mavis_engine *engine);
int mavisd_sessions_active(void);
/* Graceful stop: from now on new connections are refused with a tempfail
   while the sessions in flight go on. */
void mavisd_callbacks_drain(void);
bool mavisd_callbacks_draining(void);
unsigned long mavisd_sessions_closed(void);

/* apply.c: carry out a verdict at end of message exactly as it says (its
   action is final) with smfi_* calls; an edit the MTA refuses makes it a
   tempfail. Returns the SMFIS_* code. */
sfsistat mavisd_apply_verdict(SMFICTX *ctx, const struct mavis_verdict *v, bool leadspc,
			      const char *log_id);
/* Escape '%' for smfi_setreply and set the reply; returns MI_SUCCESS/FAILURE. */
int mavisd_setreply(SMFICTX *ctx, const char *rcode, const char *xcode, const char *text);

/* privs.c: create runtime directories, make the socket with its owner and
   mode, drop to daemon_user. Return 0 or -1 with the reason logged. */
/* As root, refuse an empty (or root) daemon_user unless allow_root = yes. */
int mavisd_check_root(const struct mavis_config *cfg);
/* tmp_dir and quarantine_dir: created (0750) when missing, owned by the
   daemon user (through a descriptor opened with O_NOFOLLOW). */
int mavisd_prepare_dirs(const struct mavis_config *cfg);
struct mavisd_socket_ids {
	bool active, ids_changed;
	mode_t umask;
	gid_t egid;
};
/* Around smfi_opensocket(): for a unix socket, set the umask from
   milter_socket_mode and (as root) the effective ids to daemon_user and
   milter_socket_group, so that bind() makes the file as configured; the
   socket's directory must then be writable by that user. _end restores
   root and the umask; it is a no-op when _begin did nothing. */
int mavisd_socket_begin(const struct mavis_config *cfg, const char *socket,
			struct mavisd_socket_ids *saved);
void mavisd_socket_end(struct mavisd_socket_ids *saved);
/* Become daemon_user for good (filter process, after the socket is bound):
   as root, empty the capability bounding set (needs CAP_SETPCAP, else a
   warning), then initgroups, setresgid, setresuid. 0, or -1 logged. */
int mavisd_drop_privileges(const struct mavis_config *cfg);
/* daemon_user's uid and gid (daemon_group if set): 1, 0 when no
   daemon_user is set (ids -1), -1 when it does not exist (logged). */
int mavisd_daemon_ids(const struct mavis_config *cfg, uid_t *uid, gid_t *gid);

/* reload.c: the sigwait thread of the filter process: SIGUSR1 = reload,
   SIGUSR2 = graceful stop (refuse new sessions, wait up to
   shutdown_timeout for the ones in flight, then smfi_stop); it also gives
   freed heap memory back to the system once mavisd is idle. */
int mavisd_reload_thread_start(struct mavis_engine *engine, const char *config_path);
/* Reload as SIGUSR1 does (config, then virus signatures; systemd told;
   counted), serialised with other reloads. Returns 0, or -1 with why
   holding the error that kept the running configuration (file:line). */
int mavisd_reload(struct mavis_engine *engine, const char *path, char *why, size_t whysize);

/* control.c: the control socket (mavis/control.h protocol). _open binds
   control_socket (before the privilege drop: root:daemon group, 0660);
   a socket that cannot be made is warned about and left out, since mail
   flows without it; -1 only for a malformed setting. _start runs its
   thread; _close removes the file at exit. */
int mavisd_control_open(const struct mavis_config *cfg);
int mavisd_control_start(struct mavis_engine *engine, const char *config_path);
void mavisd_control_close(void);

/* metrics.c: metrics_socket, GET /metrics in the Prometheus text format
   (libmicrohttpd on its own thread). _open binds before the privilege drop
   (a port below 1024 works too); _start serves after it. A socket that
   cannot be bound is warned about and left out; -1 for a malformed setting. */
int mavisd_metrics_open(const struct mavis_config *cfg);
int mavisd_metrics_start(void);
void mavisd_metrics_stop(void);

/* notify.c: systemd notifications (sd_notify), all no-ops unless
   NOTIFY_SOCKET is set. mavisd_notify sends one formatted state string;
   mavisd_notify_reloading sends RELOADING=1 with MONOTONIC_USEC;
   mavisd_notify_tick, called about once a second, sends STATUS="N
   sessions, M messages" every MAVISD_STATUS_INTERVAL seconds and
   WATCHDOG=1 at half the WATCHDOG_USEC period when that is set. */
#define MAVISD_STATUS_INTERVAL 10
bool mavisd_notify_enabled(void);
void mavisd_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mavisd_notify_reloading(void);
void mavisd_notify_tick(void);

/* sockio.c: when libmilter is linked statically (milter/CMakeLists.txt),
   every TCP connection it accepts gets TCP_NODELAY, buffered reads, and an
   immediate ACK whenever libmilter waits for the MTA with data unanswered,
   so that an MTA's packets in a row are not held by Nagle's algorithm
   against a delayed ACK. mavisd_sockio_active says whether this build has
   it. */
bool mavisd_sockio_active(void);

/* release.c: amavisd's AM.PDP release service on release_socket (ampdp.h
   for the protocol, release.h for the release itself), on threads of its
   own: one accepting, one per client (at most release_max_clients).
   _open binds every release_socket (before the privilege drop; a unix
   socket as milter_socket_mode/group say) and returns 0 or -1 logged;
   _start runs the listener with the engine's current configuration per
   request (a reload applies to the next request), 0 or -1 logged; _stop
   closes the listeners and waits up to wait_seconds for the clients. */
int mavisd_release_open(const struct mavis_config *cfg);
int mavisd_release_start(struct mavis_engine *engine);
void mavisd_release_stop(int wait_seconds);

#endif
