/* SPDX-License-Identifier: GPL-2.0-or-later */
/* privs.c - runtime directories, socket ownership, privilege drop */

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mavis/log.h>

#include "mavisd.h"

static const char *
cfg_str(const struct mavis_config *cfg, enum mavis_key key)
{
	const char *s = mavis_config_get(cfg, key)->u.s;

	return s ? s : "";
}

/* Look up daemon_user/daemon_group. Returns 0 (nothing configured: *uid = -1),
   1 found, -1 configured but missing. */
static int
lookup_ids(const struct mavis_config *cfg, uid_t *uid, gid_t *gid)
{
	const char *user = cfg_str(cfg, MAVIS_KEY_DAEMON_USER);
	const char *group = cfg_str(cfg, MAVIS_KEY_DAEMON_GROUP);
	struct passwd *pw;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (*user == '\0')
		return 0;
	pw = getpwnam(user);
	if (pw == NULL) {
		mavis_log_err(NULL, "daemon_user %s does not exist; refusing to run as root", user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (*group) {
		struct group *gr = getgrnam(group);

		if (gr == NULL) {
			mavis_log_err(NULL, "daemon_group %s does not exist", group);
			return -1;
		}
		*gid = gr->gr_gid;
	}
	return 1;
}

int
mavisd_prepare_dirs(const struct mavis_config *cfg)
{
	const char *tmp = cfg_str(cfg, MAVIS_KEY_TMP_DIR);
	uid_t uid;
	gid_t gid;

	if (lookup_ids(cfg, &uid, &gid) < 0 && getuid() == 0)
		return -1;
	if (*tmp && mkdir(tmp, 0750) < 0 && errno != EEXIST) {
		mavis_log_err(NULL, "cannot create tmp_dir %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (*tmp && getuid() == 0 && uid != (uid_t)-1 && chown(tmp, uid, gid) < 0) {
		mavis_log_err(NULL, "cannot chown tmp_dir %s: %s", tmp, strerror(errno));
		return -1;
	}
	return 0;
}

int
mavisd_socket_perms(const struct mavis_config *cfg, const char *socket)
{
	const char *path;
	const char *mode = cfg_str(cfg, MAVIS_KEY_MILTER_SOCKET_MODE);
	const char *group = cfg_str(cfg, MAVIS_KEY_MILTER_SOCKET_GROUP);
	uid_t uid;
	gid_t gid;
	char *end;
	long m;

	if (strncmp(socket, "unix:", 5) == 0)
		path = socket + 5;
	else if (strncmp(socket, "local:", 6) == 0)
		path = socket + 6;
	else if (socket[0] == '/')
		path = socket;
	else
		return 0;	/* inet sockets have no file */
	m = strtol(mode, &end, 8);
	if (*mode == '\0' || *end != '\0' || m < 0 || m > 07777) {
		mavis_log_err(NULL, "milter_socket_mode %s is not an octal mode", mode);
		return -1;
	}
	if (chmod(path, (mode_t)m) < 0) {
		mavis_log_err(NULL, "cannot chmod %s: %s", path, strerror(errno));
		return -1;
	}
	if (lookup_ids(cfg, &uid, &gid) < 0 && getuid() == 0)
		return -1;
	if (*group) {
		struct group *gr = getgrnam(group);

		if (gr == NULL) {
			mavis_log_err(NULL, "milter_socket_group %s does not exist", group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if (getuid() == 0 && (uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) < 0) {
		mavis_log_err(NULL, "cannot chown %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
mavisd_drop_privileges(const struct mavis_config *cfg)
{
	uid_t uid;
	gid_t gid;
	int found = lookup_ids(cfg, &uid, &gid);

	if (found < 0)
		return -1;
	if (found == 0)
		return 0;
	if (getuid() != 0) {
		if (getuid() != uid)
			mavis_log_warn(NULL, "not root: cannot switch to daemon_user %s",
				       cfg_str(cfg, MAVIS_KEY_DAEMON_USER));
		return 0;
	}
	/* Order matters: groups, then gid, then uid. */
	if (initgroups(cfg_str(cfg, MAVIS_KEY_DAEMON_USER), gid) < 0 ||
	    setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
		mavis_log_err(NULL, "cannot drop privileges to %s: %s",
			      cfg_str(cfg, MAVIS_KEY_DAEMON_USER), strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		mavis_log_err(NULL, "privilege drop did not stick");
		return -1;
	}
	return 0;
}
