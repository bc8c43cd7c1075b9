/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lib/sql against a real PostgreSQL, started here (t/lib/pgsql.sh: initdb in
 * the test's temp dir, unix socket only, contrib/sql/amavisd-pg.sql loaded)
 * and stopped by its pid: pgsql: policy and wblist lookups with iRedMail-like
 * rows, one query per recipient per message, the SQL quarantine's chunks,
 * msgs lookups, an outage (fast MAVIS_ERR_SQL, then recovery), and the lookup
 * latency per recipient.
 */

#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <mavis/maps.h>
#include <mavis/sql.h>

#include "harness.h"

static char pgdir[600];
static char dsn[1024];
static bool pg_running;

static int
pgsql(const char *verb)
{
	char cmd[1400];
	const char *src = getenv("MAVIS_SOURCE_DIR");

	snprintf(cmd, sizeof(cmd), "sh '%s/t/lib/pgsql.sh' %s '%s'%s", src ? src : ".", verb,
		 pgdir, strcmp(verb, "start") == 0 ? " >\"$PGDSN_FILE\"" : "");
	return system(cmd);
}

static void
pg_stop_at_exit(void)
{
	if (pg_running)
		pgsql("stop");
}

static void
pg_start(void)
{
	char dsnfile[700];

	snprintf(pgdir, sizeof(pgdir), "%s/pg", test_tmpdir());
	snprintf(dsnfile, sizeof(dsnfile), "%s/dsn", test_tmpdir());
	chmod(test_tmpdir(), 0711);	/* the postgres user must reach pg/ */
	setenv("PGDSN_FILE", dsnfile, 1);
	int rc = pgsql("start");

	if (rc != 0) {
		fprintf(stderr, "cannot start PostgreSQL (pgsql.sh: %d)\n", rc);
		exit(1);
	}
	pg_running = true;
	atexit(pg_stop_at_exit);
	FILE *f = fopen(dsnfile, "r");

	if (f == NULL || fgets(dsn, sizeof(dsn), f) == NULL) {
		fprintf(stderr, "no DSN from pgsql.sh\n");
		exit(1);
	}
	fclose(f);
	dsn[strcspn(dsn, "\n")] = '\0';
}

/* Run SQL on a connection of our own (not the pool under test). */
static void
exec_sql(const char *sql)
{
	PGconn *c = PQconnectdb(dsn);
	PGresult *r = PQexec(c, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		test_fail(__FILE__, __LINE__, "SQL failed: %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

static long
query_long(const char *sql)
{
	PGconn *c = PQconnectdb(dsn);
	PGresult *r = PQexec(c, sql);
	long v = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	else
		test_fail(__FILE__, __LINE__, "query failed: %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return v;
}

/* iRedMail-like rows: a catch-all "@." with the site's levels, a domain
   row, a user with their own levels; senders white/blacklisted per user. */
static const char *const rows_sql =
	"INSERT INTO policy (id, policy_name, spam_tag2_level, spam_kill_level, spam_lover,"
	"  spam_subject_tag2, bypass_spam_checks, message_size_limit) VALUES"
	" (1, '@.', 6.0, 6.9, NULL, NULL, 'N', NULL),"
	" (2, 'alice', 3.0, 5.0, 'Y', NULL, NULL, 1048576),"
	" (3, '@example.com', 5.5, NULL, NULL, '[SPAM] ', ' ', NULL);"
	"SELECT setval('policy_id_seq', 3);"
	"INSERT INTO users (id, priority, policy_id, email) VALUES"
	" (1, 0, 1, '@.'), (2, 10, 2, 'alice@example.com'), (3, 5, 3, '@example.com');"
	"SELECT setval('users_id_seq', 3);"
	"INSERT INTO mailaddr (id, priority, email) VALUES"
	" (1, 10, 'spammer@bad.example'), (2, 5, '@friend.example'), (3, 10, 'soft@x.example'),"
	" (4, 10, 'boss@friend.example');"
	"INSERT INTO wblist (rid, sid, wb) VALUES"
	" (2, 1, 'B'), (2, 2, 'W'), (2, 3, '-3'), (2, 4, ' '), (3, 1, 'B');";

static struct mavis_sql *
pool_new(unsigned size, unsigned timeout_ms)
{
	struct mavis_sql_opts o = { .dsn = dsn, .pool_size = size, .timeout_ms = timeout_ms,
				    .backoff_max_ms = 400 };
	struct mavis_sql *sql = NULL;
	struct mavis_error err = { 0 };

	if (mavis_sql_new(&o, &sql, &err) < 0)
		test_fail(__FILE__, __LINE__, "mavis_sql_new: %s", err.text);
	return sql;
}

static struct mavis_maplist *
parse_in(const char *key, const char *spec, enum mavis_mapval kind, struct mavis_arena *a)
{
	struct mavis_maplist *ml = NULL;
	struct mavis_error err = { 0 };

	mavis_map_set_context(key);
	if (mavis_maplist_parse(spec, kind, MAVIS_MAPKEY_ADDR, NULL, a, &ml, &err) < 0)
		test_fail(__FILE__, __LINE__, "%s = %s: %s", key, spec, err.text);
	mavis_map_set_context(NULL);
	return ml;
}

struct lk {
	const char *addr;
	int rc;
	const char *value;
};

static void
run(const struct mavis_maplist *ml, const char *what, const struct lk *c, size_t n,
    struct mavis_arena *scratch)
{
	struct mavis_map_opts opts = { .recipient_delimiter = "+" };

	for (size_t i = 0; i < n; i++) {
		struct mavis_map_result res = { 0 };
		struct mavis_error err = { 0 };
		int rc = mavis_maplist_lookup(ml, c[i].addr, &opts, scratch, &res, &err);

		if (rc != c[i].rc || (rc == 1 && strcmp(res.value, c[i].value) != 0))
			test_fail(__FILE__, __LINE__, "%s(%s) = %d \"%s\" (%s), want %d \"%s\"", what,
				  c[i].addr, rc, rc == 1 ? res.value : "", err.text, c[i].rc,
				  c[i].value ? c[i].value : "");
	}
}

static void
test_config_errors(void)
{
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_maplist *ml = NULL;
	struct mavis_error err = { 0 };
	struct mavis_sql *sql = NULL;
	struct mavis_sql_opts o = { .dsn = " | " };

	CHECK_INT(mavis_sql_new(&o, &sql, &err), MAVIS_ERR_CONFIG);
	o.dsn = "host=/tmp dbname";	/* not conninfo */
	CHECK_INT(mavis_sql_new(&o, &sql, &err), MAVIS_ERR_CONFIG);
	CHECK(sql == NULL);
	mavis_map_set_context("spam_tag2_level_maps");
	CHECK_INT(mavis_maplist_parse("pgsql:users", MAVIS_MAPVAL_FLOAT, MAVIS_MAPKEY_ADDR, NULL, a,
				      &ml, &err), MAVIS_ERR_CONFIG);
	CHECK_INT(mavis_maplist_parse("pgsql:wblist", MAVIS_MAPVAL_FLOAT, MAVIS_MAPKEY_ADDR, NULL, a,
				      &ml, &err), MAVIS_ERR_CONFIG);
	CHECK_INT(mavis_maplist_parse("pgsql:policy/x;drop", MAVIS_MAPVAL_FLOAT, MAVIS_MAPKEY_ADDR,
				      NULL, a, &ml, &err), MAVIS_ERR_CONFIG);
	mavis_map_set_context(NULL);
	CHECK_INT(mavis_maplist_parse("pgsql:policy", MAVIS_MAPVAL_FLOAT, MAVIS_MAPKEY_ADDR, NULL, a,
				      &ml, &err), MAVIS_ERR_CONFIG);
	/* Without a pool a lookup is a failure, never a silent miss. */
	ml = parse_in("spam_tag2_level_maps", "pgsql:policy, 6.31", MAVIS_MAPVAL_FLOAT, a);
	mavis_sql_set_global(NULL);
	CHECK_INT(mavis_maplist_lookup(ml, "a@b", NULL, a, NULL, &err), MAVIS_ERR_SQL);
	mavis_maplist_free(&ml);
	mavis_arena_free(&a);
}

static void
test_policy(void)
{
	struct mavis_sql *sql = pool_new(2, 2000);
	struct mavis_arena *cfg = mavis_arena_new(0), *msg = mavis_arena_new(0);
	struct mavis_sql_stats st0, st1;

	mavis_sql_set_global(sql);
	struct mavis_maplist *tag2 = parse_in("spam_tag2_level_maps", "pgsql:policy, 6.31",
					      MAVIS_MAPVAL_FLOAT, cfg);
	struct mavis_maplist *kill = parse_in("spam_kill_level_maps", "pgsql:policy, 9",
					      MAVIS_MAPVAL_FLOAT, cfg);
	struct mavis_maplist *subj = parse_in("spam_subject_tag2_maps", "pgsql:policy, static:none",
					      MAVIS_MAPVAL_STRING, cfg);
	struct mavis_maplist *lover = parse_in("spam_lovers_maps", "pgsql:policy, static:0",
					       MAVIS_MAPVAL_BOOL, cfg);
	struct mavis_maplist *bypass = parse_in("bypass_spam_checks_maps", "pgsql:policy",
						MAVIS_MAPVAL_BOOL, cfg);
	struct mavis_maplist *local = parse_in("local_domains_maps", "pgsql:policy, static:0",
					       MAVIS_MAPVAL_BOOL, cfg);
	struct mavis_maplist *size = parse_in("message_size_limit_maps", "pgsql:policy",
					      MAVIS_MAPVAL_SIZE, cfg);
	struct mavis_maplist *named = parse_in("spam_tag_level_maps", "pgsql:policy/spam_kill_level",
					       MAVIS_MAPVAL_FLOAT, cfg);
	static const struct lk c_tag2[] = {
		{ "alice@example.com", 1, "3" },
		{ "Alice+news@Example.COM", 1, "3" },	/* amavisd key order */
		{ "bob@example.com", 1, "5.5" },
		{ "carol@other.org", 1, "6" },		/* the @. row */
	};
	static const struct lk c_kill[] = {
		{ "alice@example.com", 1, "5" },
		/* NULL in @example.com's policy: the next row (@.) has it */
		{ "bob@example.com", 1, "6.9" },
	};
	static const struct lk c_subj[] = {
		/* NULL in alice's policy: taken from @example.com */
		{ "alice@example.com", 1, "[SPAM] " },
		/* NULL in every row: the next table of the list */
		{ "carol@other.org", 1, "none" },
	};
	static const struct lk c_lover[] = {
		{ "alice@example.com", 1, "1" },
		{ "bob@example.com", 1, "0" },
	};
	static const struct lk c_bypass[] = {
		{ "carol@other.org", 1, "0" },	/* 'N' */
		{ "bob@example.com", 1, "0" },	/* ' ' is false too */
	};
	static const struct lk c_local[] = {
		{ "alice@example.com", 1, "1" },	/* a row, no users.local column */
		{ "carol@other.org", 1, "0" },	/* only "@." matched: not local */
	};
	static const struct lk c_size[] = {
		{ "alice@example.com", 1, "1048576" },
		{ "bob@example.com", 0, NULL },
	};
	static const struct lk c_named[] = {
		{ "alice@example.com", 1, "5" },
	};

	mavis_sql_get_stats(sql, &st0);
	run(tag2, "tag2", c_tag2, sizeof(c_tag2) / sizeof(c_tag2[0]), msg);
	mavis_sql_get_stats(sql, &st1);
	/* Alice and her +extension are two addresses: two queries, plus the
	   other two recipients. */
	CHECK_INT(st1.queries - st0.queries, 4);
	run(kill, "kill", c_kill, 2, msg);
	run(subj, "subj", c_subj, 2, msg);
	run(lover, "lover", c_lover, 2, msg);
	run(bypass, "bypass", c_bypass, 2, msg);
	run(local, "local", c_local, 2, msg);
	run(size, "size", c_size, 2, msg);
	run(named, "named", c_named, 1, msg);
	mavis_sql_get_stats(sql, &st0);
	/* Every field of every key came from the rows already fetched. */
	CHECK_INT(st0.queries, st1.queries);
	CHECK_INT(st0.failures, 0);
	/* A new message asks again (rows may have changed in between). */
	mavis_arena_reset(msg);
	exec_sql("UPDATE policy SET spam_tag2_level = 4.25 WHERE id = 2");
	static const struct lk c_tag2b[] = { { "alice@example.com", 1, "4.25" } };
	run(tag2, "tag2 after reset", c_tag2b, 1, msg);
	mavis_sql_get_stats(sql, &st1);
	CHECK_INT(st1.queries - st0.queries, 1);
	exec_sql("UPDATE policy SET spam_tag2_level = 3.0 WHERE id = 2");
	/* A users.local column, when there is one, decides. */
	exec_sql("ALTER TABLE users ADD COLUMN local char(1); "
		 "UPDATE users SET local = 'N' WHERE id = 2");
	mavis_arena_reset(msg);
	static const struct lk c_local2[] = {
		{ "alice@example.com", 1, "0" },
		{ "bob@example.com", 1, "0" },	/* NULL local: falls through */
	};
	run(local, "local column", c_local2, 2, msg);
	exec_sql("ALTER TABLE users DROP COLUMN local");
	mavis_maplist_free(&tag2);
	mavis_maplist_free(&kill);
	mavis_maplist_free(&subj);
	mavis_maplist_free(&lover);
	mavis_maplist_free(&bypass);
	mavis_maplist_free(&local);
	mavis_maplist_free(&size);
	mavis_maplist_free(&named);
	mavis_arena_free(&msg);
	mavis_arena_free(&cfg);
	mavis_sql_set_global(NULL);
	mavis_sql_free(&sql);
}

static void
test_wblist(void)
{
	struct mavis_sql *sql = pool_new(2, 2000);
	struct mavis_arena *cfg = mavis_arena_new(0), *msg = mavis_arena_new(0);

	mavis_sql_set_global(sql);
	struct mavis_maplist *wl = parse_in("whitelist_sender_maps", "pgsql:wblist",
					    MAVIS_MAPVAL_BOOL, cfg);
	struct mavis_maplist *bl = parse_in("blacklist_sender_maps", "pgsql:wblist",
					    MAVIS_MAPVAL_BOOL, cfg);
	struct mavis_maplist *sc = parse_in("score_sender_maps", "pgsql:wblist",
					    MAVIS_MAPVAL_FLOAT, cfg);
	static const struct lk c_wl[] = {
		{ "joe@friend.example", 1, "1" },
		{ "boss@friend.example", 1, "0" },	/* ' ' neutral wins by priority */
		{ "spammer@bad.example", 1, "0" },
		{ "x@nowhere.example", 0, NULL },
	};
	static const struct lk c_bl[] = {
		{ "Spammer@BAD.example", 1, "1" },
		{ "joe@friend.example", 1, "0" },
		{ "x@nowhere.example", 0, NULL },
	};
	static const struct lk c_sc[] = {
		{ "soft@x.example", 1, "-3" },
		{ "joe@friend.example", 0, NULL },
	};

	/* Without a recipient there is no list to look in. */
	run(wl, "wl no rcpt", c_wl + 3, 1, msg);
	mavis_map_set_recipient("alice@example.com");
	run(wl, "wl", c_wl, 4, msg);
	run(bl, "bl", c_bl, 3, msg);
	run(sc, "score", c_sc, 2, msg);
	/* bob has no users row of his own: @example.com's list (id 3). */
	mavis_map_set_recipient("bob@example.com");
	run(bl, "bl bob", c_bl, 1, msg);
	static const struct lk c_wl_bob[] = { { "joe@friend.example", 0, NULL } };
	run(wl, "wl bob", c_wl_bob, 1, msg);
	mavis_map_set_recipient(NULL);
	mavis_maplist_free(&wl);
	mavis_maplist_free(&bl);
	mavis_maplist_free(&sc);
	mavis_arena_free(&msg);
	mavis_arena_free(&cfg);
	mavis_sql_set_global(NULL);
	mavis_sql_free(&sql);
}

static void
test_quarantine(void)
{
	struct mavis_sql *sql = pool_new(2, 5000);
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_error err = { 0 };
	size_t len = 40000;
	char *body = malloc(len);
	const char *hdr = "Subject: test\r\nFrom: <a@b.example>\r\n\r\n";

	memcpy(body, hdr, strlen(hdr));
	for (size_t i = strlen(hdr); i < len; i++)
		body[i] = (char)(i % 251);	/* NULs and 8-bit bytes too */
	const char *rcpts[] = { "alice@example.com", "bob@example.com" };
	struct mavis_quarantine_in in = {
		.category = "virus", .mail_id = "AbCd-_12EfGh", .secret_id = "s3cr3t",
		.sender = "a@b.example", .rcpts = rcpts, .nrcpts = 2,
		.blocked = rcpts + 1, .nblocked = 1, .msg = body, .msg_len = len,
	};
	struct mavis_quarantine_out out;

	CHECK_INT(mavis_sql_quarantine_put(sql, 0, &in, &out, &err), 0);
	CHECK_STR(out.rel_path, "AbCd-_12EfGh");
	CHECK_INT(out.quar_type, 'Q');
	CHECK_INT(query_long("SELECT count(*) FROM quarantine WHERE mail_id = 'AbCd-_12EfGh'"), 3);
	CHECK_INT(query_long("SELECT max(length(mail_text)) FROM quarantine"), MAVIS_SQL_CHUNK);
	CHECK_INT(query_long("SELECT sum(length(mail_text)) FROM quarantine"),
		  (long)out.file_size);
	CHECK_INT(query_long("SELECT string_agg(chunk_ind::text, '' ORDER BY chunk_ind) "
			     "FROM quarantine"), 123);
	/* The same id twice: the primary key refuses, nothing half-stored. */
	CHECK_INT(mavis_sql_quarantine_put(sql, 0, &in, &out, &err), MAVIS_ERR_SQL);
	CHECK_INT(query_long("SELECT count(*) FROM quarantine"), 3);
	/* partition_tag 7: quar_loc says so, amavisd-style. */
	CHECK_INT(mavis_sql_quarantine_put(sql, 7, &in, &out, &err), 0);
	CHECK_STR(out.rel_path, "AbCd-_12EfGh[7]");

	struct mavis_quarantine_entry e;

	CHECK_INT(mavis_sql_quarantine_read(sql, 0, "AbCd-_12EfGh", 0, a, &e, &err), 0);
	CHECK_STR(e.mail_id, "AbCd-_12EfGh");
	CHECK_STR(e.sender, "a@b.example");
	CHECK_INT(e.nrcpts, 2);
	CHECK_INT(e.nblocked, 1);
	CHECK_STR(e.blocked[0], "bob@example.com");
	CHECK_INT(e.quar_type, 'Q');
	CHECK_INT(e.message_len, len);
	CHECK(e.message_len == len && memcmp(e.message, body, len) == 0);
	const char *raw;
	size_t rawlen;

	CHECK_INT(mavis_sql_quarantine_fetch(sql, 0, "AbCd-_12EfGh", 1000, a, &raw, &rawlen, &err),
		  MAVIS_ERR_LIMIT);
	CHECK_INT(mavis_sql_quarantine_fetch(sql, 0, "nosuchid0000", 0, a, &raw, &rawlen, &err),
		  MAVIS_ERR_NOTFOUND);
	CHECK_INT(mavis_sql_quarantine_fetch(sql, 0, "../etc", 0, a, &raw, &rawlen, &err),
		  MAVIS_ERR_PARSE);

	/* msgs rows, as a release looks them up. */
	exec_sql("INSERT INTO maddr (id, partition_tag, email, domain) VALUES (1, 0, 'a@b.example', 'example.b');"
		 "INSERT INTO msgs (partition_tag, mail_id, secret_id, am_id, time_num, time_iso, sid,"
		 " size, content, quar_type, quar_loc, host, spam_level) VALUES"
		 " (0, 'AbCd-_12EfGh', 's3cr3t', '1234-01', 1700000000, now(), 1, 40000, 'V', 'Q',"
		 "  'AbCd-_12EfGh', 'mx1.example', NULL),"
		 " (7, 'AbCd-_12EfGh', 'other', '1234-02', 1700000001, now(), 1, 40000, 'S', 'Q',"
		 "  'AbCd-_12EfGh[7]', 'mx2.example', 9.5)");
	struct mavis_sql_msg *rows;

	CHECK_INT(mavis_sql_msgs_lookup(sql, "AbCd-_12EfGh", NULL, -1, a, &rows, &err), 2);
	CHECK_INT(rows[0].partition_tag, 7);
	CHECK_STR(rows[0].host, "mx2.example");
	CHECK(rows[0].has_spam_level && fabs(rows[0].spam_level - 9.5) < 1e-9);
	CHECK_INT(rows[1].content, 'V');
	CHECK_STR(rows[1].sender, "a@b.example");
	CHECK_STR(rows[1].secret_id, "s3cr3t");
	CHECK(!rows[1].has_spam_level);
	CHECK_INT(mavis_sql_msgs_lookup(sql, "AbCd-_12EfGh", "s3cr3t", -1, a, &rows, &err), 1);
	CHECK_INT(rows[0].partition_tag, 0);
	CHECK_INT(rows[0].time_num, 1700000000);
	CHECK_INT(mavis_sql_msgs_lookup(sql, "AbCd-_12EfGh", NULL, 7, a, &rows, &err), 1);
	CHECK_STR(rows[0].secret_id, "other");
	CHECK_INT(mavis_sql_msgs_lookup(sql, "AbCd-_12EfGh", "wrong", -1, a, &rows, &err), 0);
	CHECK_INT(mavis_sql_msgs_lookup(sql, "zzzzzzzzzzzz", NULL, -1, a, &rows, &err), 0);
	exec_sql("DELETE FROM quarantine; DELETE FROM msgs; DELETE FROM maddr");
	free(body);
	mavis_arena_free(&a);
	mavis_sql_free(&sql);
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* The database goes away under a pool with open connections, and back. */
static void
test_outage(void)
{
	struct mavis_sql *sql = pool_new(2, 2000);
	struct mavis_arena *cfg = mavis_arena_new(0), *msg = mavis_arena_new(0);
	struct mavis_map_opts opts = { .recipient_delimiter = "+" };
	struct mavis_map_result res;
	struct mavis_error err = { 0 };
	struct timespec t0;

	mavis_sql_set_global(sql);
	struct mavis_maplist *tag2 = parse_in("spam_tag2_level_maps", "pgsql:policy, 6.31",
					      MAVIS_MAPVAL_FLOAT, cfg);

	CHECK_INT(mavis_maplist_lookup(tag2, "alice@example.com", &opts, msg, &res, &err), 1);
	mavis_arena_reset(msg);
	CHECK_INT(pgsql("stop"), 0);
	pg_running = false;
	/* Down: a failure (never the static 6.31), quickly, for every try. */
	for (int i = 0; i < 3; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		CHECK_INT(mavis_maplist_lookup(tag2, "alice@example.com", &opts, msg, &res, &err),
			  MAVIS_ERR_SQL);
		CHECK(ms_since(&t0) < 1000);
		CHECK(strstr(err.text, "policy lookup of <alice@example.com>") != NULL);
		mavis_arena_reset(msg);
	}
	struct mavis_sql_stats st;

	mavis_sql_get_stats(sql, &st);
	CHECK(st.failures >= 3);
	CHECK_INT(pgsql("restart"), 0);
	pg_running = true;
	/* Back: after at most the backoff (400 ms here) lookups work again. */
	int rc = MAVIS_ERR_SQL;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (rc != 1 && ms_since(&t0) < 3000) {
		rc = mavis_maplist_lookup(tag2, "alice@example.com", &opts, msg, &res, &err);
		mavis_arena_reset(msg);
		if (rc != 1) {
			struct timespec ts = { 0, 50 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	CHECK_INT(rc, 1);
	/* A crash with idle connections in the pool: the stale one is
	   retried once on a new connection, the caller sees no error. */
	CHECK_INT(mavis_maplist_lookup(tag2, "bob@example.com", &opts, msg, &res, &err), 1);
	mavis_arena_reset(msg);
	CHECK_INT(pgsql("stop"), 0);
	CHECK_INT(pgsql("restart"), 0);
	CHECK_INT(mavis_maplist_lookup(tag2, "bob@example.com", &opts, msg, &res, &err), 1);
	mavis_arena_reset(msg);
	mavis_maplist_free(&tag2);
	mavis_arena_free(&msg);
	mavis_arena_free(&cfg);
	mavis_sql_set_global(NULL);
	mavis_sql_free(&sql);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* What a pgsql:policy recipient costs at RCPT: one query, whatever the
   number of keys that read it. Printed for the record; bounded loosely. */
static void
test_latency(void)
{
	enum { N = 2000 };
	struct mavis_sql *sql = pool_new(1, 2000);
	struct mavis_arena *cfg = mavis_arena_new(0), *msg = mavis_arena_new(0);
	struct mavis_map_opts opts = { .recipient_delimiter = "+" };
	static double t[N];

	mavis_sql_set_global(sql);
	struct mavis_maplist *tag2 = parse_in("spam_tag2_level_maps", "pgsql:policy, 6.31",
					      MAVIS_MAPVAL_FLOAT, cfg);
	struct mavis_maplist *kill = parse_in("spam_kill_level_maps", "pgsql:policy, 6.31",
					      MAVIS_MAPVAL_FLOAT, cfg);
	exec_sql("INSERT INTO users (priority, policy_id, email) "
		 "SELECT 10, 2, ('user' || g || '@bulk.example')::bytea FROM generate_series(1, 5000) g");
	for (int i = 0; i < N; i++) {
		char addr[64];
		struct mavis_map_result res;
		struct mavis_error err = { 0 };
		struct timespec t0;

		snprintf(addr, sizeof(addr), "user%d+x@sub.bulk.example", i % 5000 + 1);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		int r1 = mavis_maplist_lookup(tag2, addr, &opts, msg, &res, &err);
		int r2 = mavis_maplist_lookup(kill, addr, &opts, msg, &res, &err);

		t[i] = ms_since(&t0);
		if (r1 != 1 || r2 != 1)
			test_fail(__FILE__, __LINE__, "lookup %s: %d %d %s", addr, r1, r2, err.text);
		mavis_arena_reset(msg);
	}
	qsort(t, N, sizeof(t[0]), cmp_double);
	printf("pgsql:policy lookup per recipient (two keys, one query, %d recipients): "
	       "p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", N, t[N / 2], t[N * 99 / 100], t[N - 1]);
	CHECK(t[N / 2] < 50);
	mavis_maplist_free(&tag2);
	mavis_maplist_free(&kill);
	mavis_arena_free(&msg);
	mavis_arena_free(&cfg);
	mavis_sql_set_global(NULL);
	mavis_sql_free(&sql);
}

int
main(void)
{
	CHECK_INT(mavis_sql_register_maps(), 0);
	CHECK_INT(mavis_sql_register_maps(), 0);	/* again: a no-op */
	TEST_RUN(test_config_errors);
	pg_start();
	exec_sql(rows_sql);
	TEST_RUN(test_policy);
	TEST_RUN(test_wblist);
	TEST_RUN(test_quarantine);
	TEST_RUN(test_outage);
	TEST_RUN(test_latency);
	if (pg_running)
		pgsql("stop");
	pg_running = false;
	return test_exit();
}
