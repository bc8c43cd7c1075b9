/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_stats.c - counters, the session registry, the formatters, the control request parser */

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/control.h>
#include <mavis/stats.h>

#include "harness.h"

static void
test_control_parse(void)
{
	static const struct {
		const char *in;
		int rc;		/* 1, 0 (more), or the error */
		enum mavis_control_cmd cmd;
	} cases[] = {
		{ "status\n", 1, MAVIS_CONTROL_STATUS },
		{ "stats\n", 1, MAVIS_CONTROL_STATS },
		{ "stats json\n", 1, MAVIS_CONTROL_STATS_JSON },
		{ "stats json\r\n", 1, MAVIS_CONTROL_STATS_JSON },
		{ "reload\n", 1, MAVIS_CONTROL_RELOAD },
		{ "stat", 0, 0 },
		{ "status\r", 0, 0 },
		{ "", 0, 0 },
		{ "STATUS\n", MAVIS_ERR_PARSE, 0 },
		{ "stats  json\n", MAVIS_ERR_PARSE, 0 },
		{ " status\n", MAVIS_ERR_PARSE, 0 },
		{ "status \n", MAVIS_ERR_PARSE, 0 },
		{ "\n", MAVIS_ERR_PARSE, 0 },
		{ "status\nreload\n", MAVIS_ERR_PARSE, 0 },
		{ "stat\tus\n", MAVIS_ERR_PARSE, 0 },
		{ "sta\x01", MAVIS_ERR_PARSE, 0 },
		{ "re\rload\n", MAVIS_ERR_PARSE, 0 },
		{ "reload\xff\n", MAVIS_ERR_PARSE, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum mavis_control_cmd cmd = (enum mavis_control_cmd)-1;
		struct mavis_error err = { 0 };
		int rc = mavis_control_parse(cases[i].in, strlen(cases[i].in), &cmd, &err);

		if (rc != cases[i].rc)
			test_fail(__FILE__, __LINE__, "\"%s\": rc %d, want %d (%s)", cases[i].in, rc,
				  cases[i].rc, err.text);
		if (rc == 1)
			CHECK_INT(cmd, cases[i].cmd);
		if (rc < 0)
			CHECK(err.text[0] != '\0');
	}
	/* The bound: 255 bytes and the LF pass the length check; one more
	   does not, with or without the LF. */
	char buf[MAVIS_CONTROL_REQUEST_MAX + 2];
	struct mavis_error err = { 0 };
	enum mavis_control_cmd cmd;

	memset(buf, 'a', sizeof(buf));
	CHECK_INT(mavis_control_parse(buf, MAVIS_CONTROL_REQUEST_MAX - 1, &cmd, &err), 0);
	CHECK_INT(mavis_control_parse(buf, MAVIS_CONTROL_REQUEST_MAX, &cmd, &err), MAVIS_ERR_LIMIT);
	buf[MAVIS_CONTROL_REQUEST_MAX - 1] = '\n';
	CHECK_INT(mavis_control_parse(buf, MAVIS_CONTROL_REQUEST_MAX, &cmd, &err), MAVIS_ERR_PARSE);
	buf[MAVIS_CONTROL_REQUEST_MAX - 1] = 'a';
	buf[MAVIS_CONTROL_REQUEST_MAX] = '\n';
	CHECK_INT(mavis_control_parse(buf, MAVIS_CONTROL_REQUEST_MAX + 1, &cmd, &err), MAVIS_ERR_LIMIT);
}

static bool
contains(const struct mavis_buf *b, const char *s)
{
	return strstr(mavis_buf_str(b), s) != NULL;
}

static void
test_prometheus_escaping_and_buckets(void)
{
	struct mavis_buf b = { 0 };
	int slot = mavis_stats_scanner_slot("spam", "odd\"name\\with\nnewline");

	mavis_stats_reset_for_tests();
	CHECK(slot >= 0);
	CHECK_INT(mavis_stats_scanner_slot("spam", "odd\"name\\with\nnewline"), slot);
	CHECK(mavis_stats_scanner_slot("virus", "odd\"name\\with\nnewline") != slot);
	mavis_stats_scanner_call(slot, true, 500);	/* 0.5 ms: first bucket */
	mavis_stats_scanner_call(slot, false, 20000);	/* 20 ms: le 0.025 */
	mavis_stats_scanner_call(slot, true, 60000000);	/* 60 s: only +Inf */
	mavis_stats_format_prometheus(&b, "1.2\"3");
	CHECK(contains(&b, "mavis_build_info{version=\"1.2\\\"3\"} 1\n"));
	CHECK(contains(&b, "mavis_scanner_calls_total{kind=\"spam\",scanner=\"odd\\\"name\\\\with\\nnewline\"} 3\n"));
	CHECK(contains(&b, "mavis_scanner_failures_total{kind=\"spam\",scanner=\"odd\\\"name\\\\with\\nnewline\"} 1\n"));
	CHECK(contains(&b, "scanner=\"odd\\\"name\\\\with\\nnewline\",le=\"0.001\"} 1\n"));
	CHECK(contains(&b, "scanner=\"odd\\\"name\\\\with\\nnewline\",le=\"0.01\"} 1\n"));
	CHECK(contains(&b, "scanner=\"odd\\\"name\\\\with\\nnewline\",le=\"0.025\"} 2\n"));
	CHECK(contains(&b, "scanner=\"odd\\\"name\\\\with\\nnewline\",le=\"30\"} 2\n"));
	CHECK(contains(&b, "scanner=\"odd\\\"name\\\\with\\nnewline\",le=\"+Inf\"} 3\n"));
	CHECK(contains(&b, "mavis_scanner_duration_seconds_sum{kind=\"spam\",scanner=\"odd\\\"name\\\\with\\nnewline\"} 60.020500\n"));
	CHECK(contains(&b, "mavis_scanner_duration_seconds_count{kind=\"spam\",scanner=\"odd\\\"name\\\\with\\nnewline\"} 3\n"));
	CHECK(contains(&b, "mavis_message_duration_seconds_count 0\n"));
	/* Every line is a comment or a sample: no raw newline inside a label. */
	for (const char *p = mavis_buf_str(&b); *p;) {
		const char *nl = strchr(p, '\n');

		CHECK(nl != NULL);
		if (nl == NULL)
			break;
		CHECK(*p == '#' || strncmp(p, "mavis_", 6) == 0);
		p = nl + 1;
	}
	mavis_buf_free(&b);
	mavis_stats_count(MAVIS_STATS_RELOAD_FAILED);
	mavis_stats_count(MAVIS_STATS_SQL_ERROR);
	mavis_stats_count(MAVIS_STATS_SQL_ERROR);
	mavis_stats_format_json(&b);
	CHECK(contains(&b, "\"reloads_failed\":1"));
	CHECK(contains(&b, "\"sql_errors\":2"));
	CHECK(contains(&b, "\"name\":\"odd\\\"name\\\\with\\nnewline\""));
	mavis_buf_free(&b);
}

static void
test_registry(void)
{
	struct mavis_buf b = { 0 };
	int s1 = mavis_stats_slot_claim("192.0.2.1", "mx.example.net");
	int s2 = mavis_stats_slot_claim("2001:db8::1", "unknown\x1b[2J");

	CHECK(s1 >= 0 && s2 >= 0 && s1 != s2);
	CHECK_INT(mavis_stats_sessions_in_flight(), 2);
	mavis_stats_slot_message(s1, true);
	mavis_stats_slot_queue_id(s1, "4XyZ12abc");
	mavis_stats_slot_bank_path(s1, "MYNETS/ORIGINATING");
	mavis_stats_slot_stage(s1, "virus");
	mavis_stats_format_status(&b);
	CHECK(contains(&b, " virus "));
	CHECK(contains(&b, "4XyZ12abc"));
	CHECK(contains(&b, "mx.example.net [192.0.2.1]"));
	CHECK(contains(&b, "MYNETS/ORIGINATING"));
	CHECK(contains(&b, " connect "));
	/* Bytes from DNS never reach the terminal as they are. */
	CHECK(!contains(&b, "\x1b"));
	CHECK(contains(&b, "unknown?[2J [2001:db8::1]"));
	CHECK(contains(&b, "2 session(s) in flight, 2 listed, 0 unlisted"));
	mavis_buf_free(&b);
	mavis_stats_slot_message(s1, false);
	mavis_stats_format_status(&b);
	CHECK(!contains(&b, "4XyZ12abc"));
	CHECK(contains(&b, " idle "));
	mavis_buf_free(&b);
	mavis_stats_slot_release(&s1);
	mavis_stats_slot_release(&s2);
	CHECK_INT(s1, -1);
	CHECK_INT(mavis_stats_sessions_in_flight(), 0);

	/* A full table: the rest run unlisted, counted, and leave cleanly. */
	int *v = calloc(MAVIS_STATS_SLOTS + 5, sizeof(*v));
	for (int i = 0; i < MAVIS_STATS_SLOTS + 5; i++)
		v[i] = mavis_stats_slot_claim("198.51.100.7", "full");
	CHECK(v[MAVIS_STATS_SLOTS] == -1 && v[MAVIS_STATS_SLOTS + 4] == -1);
	CHECK_INT(mavis_stats_sessions_in_flight(), MAVIS_STATS_SLOTS + 5);
	mavis_stats_slot_stage(v[MAVIS_STATS_SLOTS], "body");	/* a no-op, no crash */
	mavis_stats_format_status(&b);
	char want[128];
	snprintf(want, sizeof(want), "%d session(s) in flight, %d listed, 5 unlisted",
		 MAVIS_STATS_SLOTS + 5, MAVIS_STATS_SLOTS);
	CHECK(contains(&b, want));
	mavis_buf_free(&b);
	for (int i = 0; i < MAVIS_STATS_SLOTS + 5; i++)
		mavis_stats_slot_release(&v[i]);
	free(v);
	CHECK_INT(mavis_stats_sessions_in_flight(), 0);
	mavis_stats_format_status(&b);
	CHECK(contains(&b, "0 session(s) in flight, 0 listed, 0 unlisted"));
	mavis_buf_free(&b);
}

/* Writers bump one scanner and rewrite their slot's queue id while a reader
   formats the status: the counts come out exact, and every queue id the
   reader saw is one a writer wrote whole (never half of two). */
#define WRITERS 4
#define ROUNDS 20000
static int race_slot;
static atomic_bool race_stop;
static atomic_long race_passes, race_calls, race_failures;

static void *
writer(void *arg)
{
	int me = (int)(long)arg;
	int slot = mavis_stats_slot_claim("203.0.113.9", "race");

	/* Until the reader has looked often enough while we write. */
	for (long i = 0; i < ROUNDS || atomic_load(&race_passes) < 200; i++) {
		bool ok = (i % 4) != me;

		mavis_stats_slot_queue_id(slot, (i & 1) ? "AAAAAAAAAAAAAAAAAAAA" : "BBBBB");
		mavis_stats_slot_stage(slot, (i & 1) ? "spam" : "virus");
		mavis_stats_scanner_call(race_slot, ok, 100);
		atomic_fetch_add(&race_calls, 1);
		if (!ok)
			atomic_fetch_add(&race_failures, 1);
	}
	mavis_stats_slot_release(&slot);
	return NULL;
}

static long seen;

static void *
reader(void *arg)
{
	long bad = 0;

	(void)arg;
	while (!atomic_load(&race_stop)) {
		struct mavis_buf b = { 0 };

		long seen_before = seen;

		mavis_stats_format_status(&b);
		/* Columns: slot, age, message age, stage, queue id, client. */
		for (const char *line = mavis_buf_str(&b); *line;) {
			const char *nl = strchr(line, '\n');
			char stage[32], qid[64], client[32];

			if (sscanf(line, "%*s %*s %*s %31s %63s %31s", stage, qid, client) == 3 &&
			    strcmp(client, "race") == 0) {
				seen++;
				if (strcmp(qid, "AAAAAAAAAAAAAAAAAAAA") != 0 && strcmp(qid, "BBBBB") != 0 &&
				    strcmp(qid, "-") != 0)
					bad++;
				if (strcmp(stage, "spam") != 0 && strcmp(stage, "virus") != 0 &&
				    strcmp(stage, "connect") != 0)
					bad++;
			}
			if (nl == NULL)
				break;
			line = nl + 1;
		}
		mavis_buf_free(&b);
		/* Only a pass that saw a writer counts: the reader may run
		   before the writers claimed their slots (or after they left). */
		if (seen > seen_before)
			atomic_fetch_add(&race_passes, 1);
	}
	return (void *)bad;
}

static void
test_concurrency(void)
{
	pthread_t w[WRITERS], r;
	void *bad = NULL;
	struct mavis_buf b = { 0 };

	mavis_stats_reset_for_tests();
	race_slot = mavis_stats_scanner_slot("virus", "race-scanner");
	pthread_create(&r, NULL, reader, NULL);
	for (long i = 0; i < WRITERS; i++)
		pthread_create(&w[i], NULL, writer, (void *)i);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(w[i], NULL);
	atomic_store(&race_stop, true);
	pthread_join(r, &bad);
	CHECK_INT((long)bad, 0);
	fprintf(stderr, "race: the reader saw %ld writer lines\n", seen);
	mavis_stats_format_prometheus(&b, "t");
	char want[160];
	CHECK(seen > 0);
	snprintf(want, sizeof(want), "mavis_scanner_calls_total{kind=\"virus\",scanner=\"race-scanner\"} %ld\n",
		 atomic_load(&race_calls));
	CHECK(contains(&b, want));
	snprintf(want, sizeof(want), "mavis_scanner_failures_total{kind=\"virus\",scanner=\"race-scanner\"} %ld\n",
		 atomic_load(&race_failures));
	CHECK(contains(&b, want));
	mavis_buf_free(&b);
	CHECK_INT(mavis_stats_sessions_in_flight(), 0);
}

int
main(void)
{
	TEST_RUN(test_control_parse);
	TEST_RUN(test_prometheus_escaping_and_buckets);
	TEST_RUN(test_registry);
	TEST_RUN(test_concurrency);
	return test_exit();
}
