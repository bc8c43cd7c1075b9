/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cmd_scan.c - mavisctl scan: run the milter's pipeline on a message file */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <mavis/buf.h>
#include <mavis/config.h>
#include <mavis/log.h>
#include <mavis/session.h>

#include "ctl.h"

#define SCAN_MAX_RCPTS 1000

static int
scan_usage(void)
{
	fprintf(stderr, "usage: mavisctl scan [-c FILE] [--sender A] [--rcpt A]... [--client-ip IP]\n"
			"                     [--helo NAME] [--daemon-name N] [--sasl-user U] [--queue-id ID] [--non-smtpd]\n"
			"                     [--json] [-v] FILE.eml\n"
			"  --non-smtpd: as mail from pickup/sendmail (non_smtpd_milters): never\n"
			"  refused per recipient, a reject as non_smtpd_reject_action says\n");
	return 2;
}

int
ctl_cmd_scan(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "sender", required_argument, NULL, 'S' },
		{ "rcpt", required_argument, NULL, 'r' },
		{ "client-ip", required_argument, NULL, 'i' },
		{ "helo", required_argument, NULL, 'H' },
		{ "daemon-name", required_argument, NULL, 'd' },
		{ "sasl-user", required_argument, NULL, 'u' },
		{ "queue-id", required_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "non-smtpd", no_argument, NULL, 'N' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CTL_DEFAULT_CONFIG, *sender = "", *client_ip = NULL;
	const char *daemon_name = NULL, *sasl_user = NULL, *queue_id = NULL, *helo = NULL;
	const char *rcpts[SCAN_MAX_RCPTS];
	size_t nrcpts = 0;
	bool json = false, verbose = false, non_smtpd = false;
	struct mavis_config *cfg = NULL;
	struct mavis_engine *engine = NULL;
	struct mavis_session *s = NULL;
	struct mavis_error err = { 0 };
	struct mavis_reply reply;
	struct mavis_buf out = { 0 };
	int c, rc = 1, fd = -1;
	void *map = MAP_FAILED;
	struct stat st;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:jv", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'S': sender = optarg; break;
		case 'r':
			if (nrcpts >= SCAN_MAX_RCPTS)
				return scan_usage();
			rcpts[nrcpts++] = optarg;
			break;
		case 'i': client_ip = optarg; break;
		case 'H': helo = optarg; break;
		case 'd': daemon_name = optarg; break;
		case 'u': sasl_user = optarg; break;
		case 'q': queue_id = optarg; break;
		case 'j': json = true; break;
		case 'N': non_smtpd = true; break;
		case 'v': verbose = true; break;
		default: return scan_usage();
		}
	}
	if (optind + 1 != argc)
		return scan_usage();
	mavis_log_set_level(verbose ? MAVIS_LOG_DEBUG : MAVIS_LOG_WARNING);
	if (mavis_config_load(path, &cfg, &err) < 0) {
		fprintf(stderr, "mavisctl: %s\n", err.text);
		return 1;
	}
	fd = open(argv[optind], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "mavisctl: %s: %s\n", argv[optind], strerror(errno));
		goto out;
	}
	if (st.st_size > 0) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			fprintf(stderr, "mavisctl: %s: %s\n", argv[optind], strerror(errno));
			goto out;
		}
	}
	if (mavis_engine_new(cfg, &engine, &err) < 0) {
		fprintf(stderr, "mavisctl: %s\n", err.text);
		goto out;
	}
	struct mavis_session_info info = { .client_addr = client_ip, .daemon_name = daemon_name,
					   .non_smtpd = non_smtpd };
	if (mavis_session_new(engine, &info, &s, &err) < 0) {
		fprintf(stderr, "mavisctl: %s\n", err.text);
		goto out;
	}
	if (helo)
		mavis_session_helo(s, helo);
	if (mavis_session_mail(s, sender, sasl_user, &err) < 0) {
		fprintf(stderr, "mavisctl: %s\n", err.text);
		goto out;
	}
	if (queue_id)
		mavis_session_set_queue_id(s, queue_id);
	if (nrcpts == 0) {
		/* Like a message to the local postmaster. */
		static char def_rcpt[300];

		snprintf(def_rcpt, sizeof(def_rcpt), "postmaster@%s",
			 mavis_config_get(cfg, MAVIS_KEY_MYDOMAIN)->u.s);
		rcpts[nrcpts++] = def_rcpt;
	}
	for (size_t i = 0; i < nrcpts; i++) {
		int r = mavis_session_rcpt(s, rcpts[i], &reply, &err);

		if (r < 0) {
			fprintf(stderr, "mavisctl: recipient %s: %s\n", rcpts[i], err.text);
			goto out;
		}
		if (r == 1)
			fprintf(stderr, "mavisctl: recipient %s refused: %s %s %s\n", rcpts[i],
				reply.rcode, reply.xcode, reply.text);
	}
	mavis_session_raw_message(s, map == MAP_FAILED ? "" : map,
				  map == MAP_FAILED ? 0 : (size_t)st.st_size);
	const struct mavis_verdict *v = mavis_session_eom(s);
	if (verbose)
		mavis_session_log_verdict(s, v);
	if (json) {
		mavis_verdict_to_json(v, &out);
		mavis_buf_putc(&out, '\n');
	} else {
		mavis_verdict_to_text(v, &out);
	}
	fputs(mavis_buf_str(&out), stdout);
	rc = v->internal_error ? 1 : 0;
out:
	mavis_buf_free(&out);
	mavis_session_free(&s);
	mavis_engine_free(&engine);
	mavis_config_unref(&cfg);
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	if (fd >= 0)
		close(fd);
	return rc;
}
