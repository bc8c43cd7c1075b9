/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mavisd.h - the milter daemon's modules (milter/) */
#ifndef MAVISD_H
#define MAVISD_H

#include <stdbool.h>

#include <libmilter/mfapi.h>

#include <mavis/session.h>
#include <mavis/verdict.h>

#define MAVISD_DEFAULT_CONFIG MAVIS_SYSCONFDIR "/mavisd.conf"

/* Exit codes (sysexits.h meanings). */
#define MAVISD_EX_CONFIG 78

/* Options and process-wide state of the filter process. */
struct mavisd_opts {
	const char *config_path;
	const char *socket;	/* -s override, or NULL */
	bool foreground;
	bool check_only;
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

/* privs.c: create runtime directories, set the socket's owner and mode,
   drop to daemon_user. Return 0 or -1 with the reason logged. */
int mavisd_prepare_dirs(const struct mavis_config *cfg);
int mavisd_socket_perms(const struct mavis_config *cfg, const char *socket);
int mavisd_drop_privileges(const struct mavis_config *cfg);

/* reload.c: the sigwait thread of the filter process: SIGUSR1 = reload,
   SIGUSR2 = graceful stop (refuse new sessions, wait up to
   shutdown_timeout for the ones in flight, then smfi_stop); it also gives
   freed heap memory back to the system once mavisd is idle. */
int mavisd_reload_thread_start(struct mavis_engine *engine, const char *config_path);

/* supervise.c: the parent process: forwards SIGHUP/SIGUSR1 as a reload
   (SIGUSR1) and SIGTERM/SIGINT as a graceful stop (SIGUSR2) to the filter
   process, restarts it if it dies.
   run_filter is called in the child and returns its exit status. */
int mavisd_supervise(const struct mavisd_opts *opts, const struct mavis_config *cfg,
		     int (*run_filter)(const struct mavisd_opts *));

#endif
