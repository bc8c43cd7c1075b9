/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ctl.h - mavisctl subcommands */
#ifndef MAVIS_CTL_H
#define MAVIS_CTL_H

/* Default configuration file of mavisd and mavisctl. */
#define CTL_DEFAULT_CONFIG MAVIS_SYSCONFDIR "/mavisd.conf"

/* Each subcommand gets argv after the subcommand name (argv[0] = name) and
   returns the process exit status. */
int ctl_cmd_config(int argc, char **argv);
int ctl_cmd_check(int argc, char **argv);
int ctl_cmd_scan(int argc, char **argv);
int ctl_cmd_release(int argc, char **argv);
int ctl_cmd_quarantine(int argc, char **argv);
int ctl_cmd_dkim(int argc, char **argv);
int ctl_cmd_sql(int argc, char **argv);
int ctl_cmd_spam(int argc, char **argv);
/* cmd_control.c: ask the running mavisd on its control socket. */
int ctl_cmd_status(int argc, char **argv);
int ctl_cmd_stats(int argc, char **argv);
int ctl_cmd_reload(int argc, char **argv);

#endif
