/* SPDX-License-Identifier: GPL-2.0-or-later */
/* privs.c - runtime directories, socket ownership, privilege drop */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
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
mavisd_check_root(const struct mavis_config *cfg)
{
	uid_t uid;
	gid_t gid;
	int found;

	if (geteuid() != 0)
		return 0;
	found = lookup_ids(cfg, &uid, &gid);
	if (found < 0)
		return -1;
	/* The filter parses hostile mail: as root, one decoder bug owns the
	   host. Staying root must be said out loud. */
	if ((found == 0 || uid == 0) && !mavis_config_get(cfg, MAVIS_KEY_ALLOW_ROOT)->u.b) {
		mavis_log_err(NULL, "refusing to run the filter as root: set daemon_user "
				    "(or allow_root = yes)");
		return -1;
	}
	return 0;
}

/* Create dir (mode 0750) when missing and, as root with a daemon user, make
   it the daemon's. Opened without following a symbolic link, and changed
   through the descriptor: a path swapped under us cannot redirect the
   chown to another file. */
static int
prepare_dir(const char *key, const char *dir, uid_t uid, gid_t gid)
{
	struct stat st;
	bool made = false;
	int fd;

	if (*dir == '\0')
		return 0;
	if (mkdir(dir, 0750) == 0)
		made = true;
	else if (errno != EEXIST) {
		mavis_log_err(NULL, "cannot create %s %s: %s", key, dir, strerror(errno));
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		mavis_log_err(NULL, "cannot open %s %s: %s", key, dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (geteuid() == 0 && uid != (uid_t)-1 && (st.st_uid != uid || st.st_gid != gid) &&
	    fchown(fd, uid, gid) < 0) {
		mavis_log_err(NULL, "cannot chown %s %s: %s", key, dir, strerror(errno));
		close(fd);
		return -1;
	}
	/* umask may have taken bits off mkdir's mode; an existing directory
	   keeps the mode its admin gave it. */
	if (made && fchmod(fd, 0750) < 0) {
		mavis_log_err(NULL, "cannot chmod %s %s: %s", key, dir, strerror(errno));
		close(fd);
		return -1;
	}
	if (!made && (st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))
		mavis_log_warn(NULL, "%s %s is writable by everyone", key, dir);
	close(fd);
	return 0;
}

int
mavisd_prepare_dirs(const struct mavis_config *cfg)
{
	uid_t uid;
	gid_t gid;

	if (lookup_ids(cfg, &uid, &gid) < 0 && geteuid() == 0)
		return -1;
	if (prepare_dir("tmp_dir", cfg_str(cfg, MAVIS_KEY_TMP_DIR), uid, gid) < 0 ||
	    prepare_dir("quarantine_dir", cfg_str(cfg, MAVIS_KEY_QUARANTINE_DIR), uid, gid) < 0)
		return -1;
	return 0;
}

static const char *
socket_path(const char *socket)
{
	if (strncmp(socket, "unix:", 5) == 0)
		return socket + 5;
	if (strncmp(socket, "local:", 6) == 0)
		return socket + 6;
	if (socket[0] == '/')
		return socket;
	return NULL;	/* inet sockets have no file */
}

int
mavisd_socket_begin(const struct mavis_config *cfg, const char *socket,
		    struct mavisd_socket_ids *saved)
{
	const char *mode = cfg_str(cfg, MAVIS_KEY_MILTER_SOCKET_MODE);
	const char *group = cfg_str(cfg, MAVIS_KEY_MILTER_SOCKET_GROUP);
	uid_t uid;
	gid_t gid;
	char *end;
	long m;

	memset(saved, 0, sizeof(*saved));
	if (socket_path(socket) == NULL)
		return 0;
	m = strtol(mode, &end, 8);
	if (*mode == '\0' || *end != '\0' || m < 0 || m > 0777) {
		mavis_log_err(NULL, "milter_socket_mode %s is not an octal mode", mode);
		return -1;
	}
	if (lookup_ids(cfg, &uid, &gid) < 0 && geteuid() == 0)
		return -1;
	if (*group) {
		struct group *gr = getgrnam(group);

		if (gr == NULL) {
			mavis_log_err(NULL, "milter_socket_group %s does not exist", group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	/* bind() makes the socket with these ids and mode: no chmod or
	   chown by path afterwards, which a swapped path would redirect. */
	saved->active = true;
	saved->umask = umask((mode_t)(~m & 0777));
	if (geteuid() == 0) {
		saved->egid = getegid();
		if (gid != (gid_t)-1 && setegid(gid) < 0) {
			mavis_log_err(NULL, "cannot take group %ld for the milter socket: %s",
				      (long)gid, strerror(errno));
			mavisd_socket_end(saved);
			return -1;
		}
		saved->ids_changed = true;
		if (uid != (uid_t)-1 && seteuid(uid) < 0) {
			mavis_log_err(NULL, "cannot take user %ld for the milter socket: %s",
				      (long)uid, strerror(errno));
			mavisd_socket_end(saved);
			return -1;
		}
	}
	return 0;
}

void
mavisd_socket_end(struct mavisd_socket_ids *saved)
{
	if (!saved->active)
		return;
	saved->active = false;
	/* Back to root first: only root may set the group again. */
	if (saved->ids_changed && (seteuid(0) < 0 || setegid(saved->egid) < 0))
		mavis_log_err(NULL, "cannot return to root after making the socket: %s",
			      strerror(errno));
	umask(saved->umask);
}

/* Empty the filter process's capability bounding set before the uid
   change. setresuid() to a non-root uid clears the effective and permitted
   sets already; an empty bounding set also keeps any later exec (a file
   with capabilities, a set-uid root program) from handing one back. The
   supervising parent keeps its set: it needs CAP_SETUID and friends to
   start the next filter process (the systemd unit names that short list).
   Dropping needs CAP_SETPCAP: without it (a container, a unit that left it
   out) the set stays as it is, which we say, and the uid change still
   leaves the filter without capabilities. */
static int
empty_bounding_set(void)
{
	int kept = 0;

	for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 0)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno != EPERM) {
				mavis_log_err(NULL, "cannot drop capability %d from the bounding set: %s",
					      cap, strerror(errno));
				return -1;
			}
			kept++;
		}
	}
	if (kept > 0)
		mavis_log_warn(NULL, "no CAP_SETPCAP: %d capabilities stay in the filter's bounding set",
			       kept);
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
	if (mavisd_check_root(cfg) < 0)
		return -1;
	if (found == 0)
		return 0;
	if (getuid() != 0) {
		if (getuid() != uid)
			mavis_log_warn(NULL, "not root: cannot switch to daemon_user %s",
				       cfg_str(cfg, MAVIS_KEY_DAEMON_USER));
		return 0;
	}
	if (empty_bounding_set() < 0)
		return -1;
	/* Order matters: groups, then gid, then uid. */
	if (initgroups(cfg_str(cfg, MAVIS_KEY_DAEMON_USER), gid) < 0 ||
	    setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
		mavis_log_err(NULL, "cannot drop privileges to %s: %s",
			      cfg_str(cfg, MAVIS_KEY_DAEMON_USER), strerror(errno));
		return -1;
	}
	if (uid != 0 && setuid(0) == 0) {
		mavis_log_err(NULL, "privilege drop did not stick");
		return -1;
	}
	return 0;
}

int
mavisd_daemon_ids(const struct mavis_config *cfg, uid_t *uid, gid_t *gid)
{
	return lookup_ids(cfg, uid, gid);
}
