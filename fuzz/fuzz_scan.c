/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_scan.c - libFuzzer target: the whole pipeline (mavisctl scan core) on arbitrary bytes */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/buf.h>
#include <mavis/config.h>
#include <mavis/log.h>
#include <mavis/session.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mavis_engine *engine;

static void
setup(void)
{
	struct mavis_config *cfg = NULL;
	struct mavis_error err = { 0 };
	/* Small bounds so that the limits themselves get exercised. */
	static const char conf[] =
		"myhostname = fuzz.example\n"
		"local_domains_maps = .example\n"
		"tmp_dir = /tmp\n"
		"body_memory_limit = 64K\n"
		"max_header_count = 50\n"
		"max_header_size = 8K\n"
		"max_levels = 4\n"
		"max_files = 50\n"
		"message_size_limit_maps = inline:{small@example=100}\n";

	mavis_log_set_level(MAVIS_LOG_ERR);
	if (mavis_config_load_string(conf, "fuzz", NULL, &cfg, &err) < 0 ||
	    mavis_engine_new(cfg, &engine, &err) < 0)
		abort();
	mavis_config_unref(&cfg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mavis_session_info info = { .client_addr = "192.0.2.1", .daemon_name = "fuzz" };
	struct mavis_session *s = NULL;
	struct mavis_error err = { 0 };
	struct mavis_reply reply;
	struct mavis_buf out = { 0 };

	if (engine == NULL)
		setup();
	if (size > 1024 * 1024)
		return 0;
	if (mavis_session_new(engine, &info, &s, &err) < 0)
		abort();
	mavis_session_mail(s, "sender@example.org", NULL, &err);
	mavis_session_rcpt(s, "user@example", &reply, &err);
	mavis_session_rcpt(s, "small@example", &reply, &err);
	mavis_session_raw_message(s, data, size);
	const struct mavis_verdict *v = mavis_session_eom(s);
	mavis_verdict_to_json(v, &out);
	mavis_buf_free(&out);
	mavis_session_reset(s);
	mavis_session_free(&s);
	return 0;
}
