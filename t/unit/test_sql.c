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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <mavis/config.h>
#include <mavis/maps.h>
#include <mavis/sql.h>
#include <mavis/stats.h>

#include "harness.h"
#include "sql/sql_int.h"

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

/* amavisd's make_query_keys($addr, 0, $is_local) (Amavis/rfc2821_2822_Tools.pm
   2.13: its own examples, and the A-labels Net::LibIDN2's idn2_lookup_u8
   gives, which amavisd's idn_to_ascii calls). */
static void
test_keys(void)
{
	static const struct {
		const char *addr, *delim;
		bool local;
		const char *want;	/* keys joined by " | " */
	} c[] = {
		{ "User+Foo@Sub.Example.COM", "+", true,
		  "User+Foo@Sub.Example.COM | user+foo@sub.example.com | user@sub.example.com | "
		  "user+foo | user | @sub.example.com | @.sub.example.com | @.example.com | @.com | @." },
		{ "User+Foo@Sub.Example.COM", "+", false,
		  "User+Foo@Sub.Example.COM | user+foo@sub.example.com | user@sub.example.com | "
		  "@sub.example.com | @.sub.example.com | @.example.com | @.com | @." },
		{ "user@example.com", "", true, "user@example.com | user | @example.com | "
		  "@.example.com | @.com | @." },
		/* amavisd's IDN example (its comment drops the wrong label for
		   the third domain key; the code drops the first) */
		{ "Ping\xc3\xbcino@P\xc3\xa1jaro.Ni\xc3\xb1o.exAMPLE.COM", "+", true,
		  "Ping\xc3\xbcino@P\xc3\xa1jaro.Ni\xc3\xb1o.exAMPLE.COM | "
		  "ping\xc3\xbcino@xn--pjaro-xqa.xn--nio-8ma.example.com | ping\xc3\xbcino | "
		  "@xn--pjaro-xqa.xn--nio-8ma.example.com | @.xn--pjaro-xqa.xn--nio-8ma.example.com | "
		  "@.xn--nio-8ma.example.com | @.example.com | @.com | @." },
		/* TR46 non-transitional: the sharp s stays (xn--strae-oqa) */
		{ "a@Stra\xc3\x9f" "e.DE", "+", false,
		  "a@Stra\xc3\x9f" "e.DE | a@xn--strae-oqa.de | @xn--strae-oqa.de | @.xn--strae-oqa.de | "
		  "@.de | @." },
		/* not UTF-8: no A-label, the bytes as they are */
		{ "a@\xff.example", "+", false,
		  "a@\xff.example | @\xff.example | @.\xff.example | @.example | @." },
		{ "", "+", true, " | @ | @." },
		{ "x@[192.0.2.1]", "+", true, "x@[192.0.2.1] | x | @[192.0.2.1] | @." },
		/* amavisd split_localpart keeps only the whole name "postmaster" */
		{ "postmaster+x@example.com", "+", true,
		  "postmaster+x@example.com | postmaster@example.com | postmaster+x | postmaster | "
		  "@example.com | @.example.com | @.com | @." },
		{ "u@example.com.", "+", false, "u@example.com. | u@example.com | @example.com | "
		  "@.example.com | @.com | @." },
		/* 22 labels: the 20 last suffix keys (amavisd's sanity limit) */
		{ "u@a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v", "+", false,
		  "u@a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v | @a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v | "
		  "@.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v | @.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v | "
		  "@.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v | @.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v | "
		  "@.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v | @.i.j.k.l.m.n.o.p.q.r.s.t.u.v | "
		  "@.j.k.l.m.n.o.p.q.r.s.t.u.v | @.k.l.m.n.o.p.q.r.s.t.u.v | @.l.m.n.o.p.q.r.s.t.u.v | "
		  "@.m.n.o.p.q.r.s.t.u.v | @.n.o.p.q.r.s.t.u.v | @.o.p.q.r.s.t.u.v | @.p.q.r.s.t.u.v | "
		  "@.q.r.s.t.u.v | @.r.s.t.u.v | @.s.t.u.v | @.t.u.v | @.u.v | @.v | @." },
	};
	struct mavis_arena *a = mavis_arena_new(0);

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct mavis_map_opts o = { .recipient_delimiter = c[i].delim };
		const char *keys[SQL_KEYS_MAX];
		size_t n = sql_query_keys(c[i].addr, &o, c[i].local, a, keys);
		char got[2048] = "";
		size_t off = 0;

		for (size_t k = 0; k < n && off < sizeof(got); k++)
			off += (size_t)snprintf(got + off, sizeof(got) - off, "%s%s", k ? " | " : "",
						keys[k]);
		if (strcmp(got, c[i].want) != 0)
			test_fail(__FILE__, __LINE__, "keys of \"%s\"%s:\n got  %s\n want %s",
				  c[i].addr, c[i].local ? " (local)" : "", got, c[i].want);
	}
	/* maddr.email as find_or_save_addr writes it: the domain's A-label */
	const char *dom, *email = sql_norm_addr(a, "J\xc3\xbcrgen@B\xc3\xbc" "cher.Example.", &dom);

	CHECK_STR(email, "j\xc3\xbcrgen@xn--bcher-kva.example");
	CHECK_STR(dom, "example.xn--bcher-kva");
	email = sql_norm_addr(a, "Bob@Mail.Example.COM", &dom);
	CHECK_STR(email, "bob@mail.example.com");
	CHECK_STR(dom, "com.example.mail");
	mavis_arena_free(&a);
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

/* The keys reach the database: a bare-user row for local recipients only,
   an IDN domain row in its A-label form, a "@.dom" row for the domain and
   its subdomains (users rows as iRedMail and README.lookups write them). */
static void
test_keys_db(void)
{
	struct mavis_sql *sql = pool_new(2, 2000);
	struct mavis_arena *cfg = mavis_arena_new(0), *msg = mavis_arena_new(0);

	mavis_sql_set_global(sql);
	exec_sql("INSERT INTO users (id, priority, policy_id, email) VALUES"
		 " (100, 6, 2, 'dave'), (101, 5, 2, '@xn--pjaro-xqa.example'),"
		 " (102, 3, 2, '@.corp.example'), (103, 7, 2, 'eve+list')");
	struct mavis_maplist *tag2 = parse_in("spam_tag2_level_maps", "pgsql:policy, 6.31",
					      MAVIS_MAPVAL_FLOAT, cfg);
	struct mavis_maplist *local = parse_in("local_domains_maps", "pgsql:policy, .example.com",
					       MAVIS_MAPVAL_BOOL, cfg);
	struct mavis_map_opts opts = { .recipient_delimiter = "+", .local_domains = local };
	static const struct lk c[] = {
		{ "dave@example.com", 1, "3" },		/* local: "dave" is a key */
		{ "Dave+x@sub.example.com", 1, "3" },
		{ "dave@other.org", 1, "6" },		/* not local: only "@." */
		{ "eve+list@example.com", 1, "3" },	/* "user+ext" */
		{ "eve@example.com", 1, "5.5" },		/* not "eve+list": @example.com */
		{ "x@P\xc3\xa1jaro.example", 1, "3" },	/* @xn--pjaro-xqa.example */
		{ "x@P\xc3\xa1jaro.other", 1, "6" },
		{ "u@corp.example", 1, "3" },		/* "@.corp.example": the domain */
		{ "u@a.b.corp.example", 1, "3" },	/* and its subdomains */
		{ "u@notcorp.example", 1, "6" },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct mavis_map_result res = { 0 };
		struct mavis_error err = { 0 };
		int rc = mavis_maplist_lookup(tag2, c[i].addr, &opts, msg, &res, &err);

		if (rc != c[i].rc || (rc == 1 && strcmp(res.value, c[i].value) != 0))
			test_fail(__FILE__, __LINE__, "tag2(%s) = %d \"%s\" (%s), want %d \"%s\"",
				  c[i].addr, rc, rc == 1 ? res.value : "", err.text, c[i].rc,
				  c[i].value);
	}
	/* Without the local tables (no opts.local_domains) "dave" is no key. */
	struct mavis_map_opts bare = { .recipient_delimiter = "+" };
	struct mavis_map_result res;
	struct mavis_error err = { 0 };

	mavis_arena_reset(msg);
	CHECK_INT(mavis_maplist_lookup(tag2, "dave@example.com", &bare, msg, &res, &err), 1);
	CHECK_STR(res.value, "5.5");
	exec_sql("DELETE FROM users WHERE id >= 100 AND id <= 103");
	mavis_maplist_free(&tag2);
	mavis_maplist_free(&local);
	mavis_arena_free(&msg);
	mavis_arena_free(&cfg);
	mavis_sql_set_global(NULL);
	mavis_sql_free(&sql);
}

/* The wblist cases on sql (freed here). */
static void
wblist_with(struct mavis_sql *sql)
{
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
test_wblist(void)
{
	wblist_with(pool_new(2, 2000));
}

static struct mavis_sql *
pool_with(const char *sel_policy, const char *sel_wblist)
{
	struct mavis_sql_opts o = { .dsn = dsn, .pool_size = 2, .timeout_ms = 2000,
				    .backoff_max_ms = 400, .select_policy = sel_policy,
				    .select_wblist = sel_wblist };
	struct mavis_sql *sql = NULL;
	struct mavis_error err = { 0 };

	if (mavis_sql_new(&o, &sql, &err) < 0)
		test_fail(__FILE__, __LINE__, "mavis_sql_new: %s", err.text);
	return sql;
}

struct slow_lookup {
	const struct mavis_maplist *ml;
	int rc;
	char value[32], error[MAVIS_ERROR_MAX];
};

static void *
slow_lookup_run(void *arg)
{
	struct slow_lookup *sl = arg;
	struct mavis_arena *a = mavis_arena_new(0);
	struct mavis_map_result res;
	struct mavis_error err = { 0 };

	sl->rc = mavis_maplist_lookup(sl->ml, "alice@example.com", NULL, a, &res, &err);
	snprintf(sl->value, sizeof(sl->value), "%s", sl->rc == 1 ? res.value : "");
	snprintf(sl->error, sizeof(sl->error), "%s", err.text);
	mavis_arena_free(&a);
	return NULL;
}

/* sql_dsn on reload: a second database with other rows; a lookup in flight
   (a clause that sleeps) finishes on the old database with the old clause,
   the next one asks the new database. */
static void
test_reconfigure(void)
{
	char dsn2[1100];
	struct mavis_error err = { 0 };
	bool changed = false;

	exec_sql("CREATE DATABASE amavisd2");
	snprintf(dsn2, sizeof(dsn2), "%s dbname=amavisd2", dsn);
	{
		char path[700];
		const char *src = getenv("MAVIS_SOURCE_DIR");
		snprintf(path, sizeof(path), "%s/contrib/sql/amavisd-pg.sql", src ? src : ".");
		size_t slen = 0;
		char *schema = test_slurp(path, &slen);
		PGconn *c = PQconnectdb(dsn2);
		PGresult *r = PQexec(c, schema);

		CHECK_INT(PQresultStatus(r), PGRES_COMMAND_OK);
		PQclear(r);
		r = PQexec(c, "INSERT INTO policy (id, policy_name, spam_tag2_level) VALUES (1, 'x', 42);"
			      "INSERT INTO users (id, priority, policy_id, email) VALUES (1, 10, 1, 'alice@example.com')");
		CHECK_INT(PQresultStatus(r), PGRES_COMMAND_OK);
		PQclear(r);
		PQfinish(c);
		free(schema);
	}
	struct mavis_sql *sql = pool_with(
		"SELECT users.*, policy.*, users.id FROM users LEFT JOIN policy ON "
		"users.policy_id=policy.id WHERE users.email IN (%k) AND "
		"(SELECT 1 FROM pg_sleep(0.8)) = 1 ORDER BY users.priority DESC", NULL);
	struct mavis_arena *cfg = mavis_arena_new(0), *msg = mavis_arena_new(0);
	struct mavis_map_result res;

	mavis_sql_set_global(sql);
	struct mavis_maplist *tag2 = parse_in("spam_tag2_level_maps", "pgsql:policy, 6.31",
					      MAVIS_MAPVAL_FLOAT, cfg);
	struct slow_lookup sl = { .ml = tag2 };
	pthread_t t;
	struct timespec ts = { 0, 300 * 1000 * 1000 };

	CHECK_INT(pthread_create(&t, NULL, slow_lookup_run, &sl), 0);
	nanosleep(&ts, NULL);	/* the query is running */
	struct mavis_sql_opts o2 = { .dsn = dsn2, .pool_size = 2, .timeout_ms = 2000,
				     .backoff_max_ms = 400 };

	CHECK_INT(mavis_sql_reconfigure(sql, &o2, &changed, &err), 0);
	CHECK(changed);
	/* A new call meanwhile: the new database, at once. */
	CHECK_INT(mavis_maplist_lookup(tag2, "alice@example.com", NULL, msg, &res, &err), 1);
	CHECK_STR(res.value, "42");
	mavis_arena_reset(msg);
	pthread_join(t, NULL);
	if (sl.rc != 1 || strcmp(sl.value, "3") != 0)
		test_fail(__FILE__, __LINE__, "lookup in flight on reload: %d \"%s\" (%s), want the old 3",
			  sl.rc, sl.value, sl.error);
	/* The same settings again: nothing changes; bad ones: refused, kept. */
	CHECK_INT(mavis_sql_reconfigure(sql, &o2, &changed, &err), 0);
	CHECK(!changed);
	struct mavis_sql_opts bad = o2;

	bad.select_policy = "SELECT 1";
	CHECK_INT(mavis_sql_reconfigure(sql, &bad, &changed, &err), MAVIS_ERR_CONFIG);
	CHECK(!changed);
	bad = o2;
	bad.dsn = "host=/tmp dbname";
	CHECK_INT(mavis_sql_reconfigure(sql, &bad, &changed, &err), MAVIS_ERR_CONFIG);
	CHECK_INT(mavis_maplist_lookup(tag2, "alice@example.com", NULL, msg, &res, &err), 1);
	CHECK_STR(res.value, "42");
	mavis_arena_reset(msg);
	struct mavis_sql_stats st;

	mavis_sql_get_stats(sql, &st);
	CHECK_INT(st.reloads, 1);
	CHECK_INT(st.failures, 0);
	/* And back to the first database. */
	struct mavis_sql_opts o1 = o2;

	o1.dsn = dsn;
	CHECK_INT(mavis_sql_reconfigure(sql, &o1, &changed, &err), 0);
	CHECK_INT(mavis_maplist_lookup(tag2, "alice@example.com", NULL, msg, &res, &err), 1);
	CHECK_STR(res.value, "3");
	mavis_arena_reset(msg);
	mavis_maplist_free(&tag2);
	mavis_arena_free(&msg);
	mavis_arena_free(&cfg);
	mavis_sql_set_global(NULL);
	mavis_sql_free(&sql);
}

/* amavisd's clauses and their %k expansion; what is refused at start. */
static void
test_clauses(void)
{
	struct sql_clause cl;
	struct mavis_error err = { 0 };
	struct mavis_config *cfg = NULL;

	CHECK_INT(sql_clause_compile(MAVIS_SQL_SELECT_POLICY_DEFAULT, "p", 0, &cl, &err), 0);
	CHECK_INT(cl.nparams, SQL_KEYS_MAX);
	CHECK(strstr(cl.text, "WHERE users.email IN ($1,$2,$3,") != NULL);
	CHECK(strstr(cl.text, ",$26) ORDER BY users.priority DESC") != NULL);
	CHECK_INT(sql_clause_compile(MAVIS_SQL_SELECT_WBLIST_DEFAULT, "w", 1, &cl, &err), 0);
	CHECK_INT(cl.nparams, SQL_KEYS_MAX + 1);
	CHECK(strstr(cl.text, "wblist.rid=$1 AND mailaddr.email IN ($2,$3,") != NULL);
	CHECK_INT(cl.arg[0], SQL_ARG_EXTRA);
	CHECK_INT(cl.arg[1], SQL_ARG_KEY);
	CHECK_INT(cl.slot[26], 25);
	CHECK_INT(sql_clause_compile("select * from users where email in (%k) or email = %d "
				     "or %L or %a = %l or %u = %e", "p", 0, &cl, &err), 0);
	CHECK_INT(cl.nparams, SQL_KEYS_MAX + 6);
	CHECK(strstr(cl.text, "email = $27 or $28 or $29 = $30 or $31 = $32") != NULL);
	CHECK_INT(cl.arg[26], SQL_ARG_DOMAIN);
	CHECK_INT(cl.arg[27], SQL_ARG_IS_LOCAL);
	static const struct {
		const char *src;
		unsigned nextra;
		const char *why;
	} bad[] = {
		{ "UPDATE users SET priority = 0 WHERE email IN (%k)", 0, "not a SELECT" },
		{ "SELECT * FROM users", 0, "no %k" },
		{ "SELECT * FROM users WHERE id = ? AND email IN (%k)", 0, "has no value" },
		{ "SELECT wb FROM wblist WHERE rid = ? AND sid = ? AND x IN (%k)", 1, "more than one" },
		{ "SELECT 1 WHERE 'a' IN (%k) OR 'b' IN (%k) OR 'c' IN (%k) OR 'd' IN (%k) OR 'e' IN (%k)",
		  0, "more than 4 %k" },
		{ "", 0, "not a SELECT" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.text[0] = '\0';
		if (sql_clause_compile(bad[i].src, "sql_select_policy", bad[i].nextra, &cl, &err) !=
			    MAVIS_ERR_CONFIG ||
		    strstr(err.text, bad[i].why) == NULL)
			test_fail(__FILE__, __LINE__, "clause \"%s\": %s, want \"%s\"", bad[i].src,
				  err.text, bad[i].why);
	}
	char big[SQL_CLAUSE_TEXT_MAX + 64];

	snprintf(big, sizeof(big), "SELECT * FROM users WHERE email IN (%%k) %*s", SQL_CLAUSE_TEXT_MAX, "");
	CHECK_INT(sql_clause_compile(big, "p", 0, &cl, &err), MAVIS_ERR_CONFIG);
	/* A bad clause stops the pool from being made: the start fails. */
	struct mavis_sql_opts o = { .dsn = "dbname=x", .select_wblist = "SELECT wb FROM wblist" };
	struct mavis_sql *sql = NULL;

	CHECK_INT(mavis_sql_new(&o, &sql, &err), MAVIS_ERR_CONFIG);
	CHECK(strstr(err.text, "sql_select_white_black_list: no %k") != NULL);
	CHECK(sql == NULL);
	/* The config keys' defaults are amavisd's clauses. */
	CHECK_INT(mavis_config_load_string("", "empty", NULL, &cfg, &err), 0);
	CHECK_STR(mavis_config_get(cfg, MAVIS_KEY_SQL_SELECT_POLICY)->u.s,
		  MAVIS_SQL_SELECT_POLICY_DEFAULT);
	CHECK_STR(mavis_config_get(cfg, MAVIS_KEY_SQL_SELECT_WHITE_BLACK_LIST)->u.s,
		  MAVIS_SQL_SELECT_WBLIST_DEFAULT);
	mavis_config_unref(&cfg);
}

/* Clauses other than the defaults against the database: the pre-2.7 form
   (a plain join, as older iRedMail and README.lookups write it), one with %d
   (a users row keyed by the bare domain), and one that does not prepare. */
static void
test_clauses_db(void)
{
	struct mavis_sql *sql = pool_with(
		"SELECT *,users.id FROM users,policy WHERE (users.policy_id=policy.id) AND "
		"(users.email IN (%k)) ORDER BY users.priority DESC", NULL);
	struct mavis_arena *cfg = mavis_arena_new(0), *msg = mavis_arena_new(0);
	struct mavis_error err = { 0 };
	struct mavis_map_result res;

	mavis_sql_set_global(sql);
	struct mavis_maplist *tag2 = parse_in("spam_tag2_level_maps", "pgsql:policy, 6.31",
					      MAVIS_MAPVAL_FLOAT, cfg);
	static const struct lk c_tag2[] = {
		{ "alice@example.com", 1, "3" },
		{ "Alice+news@Example.COM", 1, "3" },
		{ "bob@example.com", 1, "5.5" },
		{ "carol@other.org", 1, "6" },
	};
	run(tag2, "tag2, old clause", c_tag2, 4, msg);
	mavis_arena_reset(msg);
	mavis_sql_set_global(NULL);
	mavis_sql_free(&sql);

	exec_sql("INSERT INTO users (id, priority, policy_id, email) VALUES (110, 4, 2, 'example.net')");
	sql = pool_with("SELECT users.*, policy.*, users.id FROM users LEFT JOIN policy ON "
			"users.policy_id=policy.id WHERE users.email IN (%k) OR users.email = %d "
			"ORDER BY users.priority DESC", NULL);
	mavis_sql_set_global(sql);
	static const struct lk c_dom[] = {
		{ "x@Example.NET", 1, "3" },	/* %d = example.net */
		{ "x@sub.example.net", 1, "6" },
	};
	run(tag2, "tag2, %d clause", c_dom, 2, msg);
	mavis_arena_reset(msg);
	mavis_sql_set_global(NULL);
	mavis_sql_free(&sql);
	exec_sql("DELETE FROM users WHERE id = 110");

	/* amavisd's pre-2.7 wblist clause (a plain join) */
	wblist_with(pool_with(NULL, "SELECT wb FROM wblist,mailaddr WHERE (wblist.rid=?) AND "
				    "(wblist.sid=mailaddr.id) AND (mailaddr.email IN (%k)) "
				    "ORDER BY mailaddr.priority DESC"));

	/* A clause the server refuses: each lookup fails and says why (the
	   log line of on_sql_failure), mavisctl sql check names it. */
	sql = pool_with("SELECT nosuch FROM users WHERE users.email IN (%k)", NULL);
	mavis_sql_set_global(sql);
	CHECK_INT(mavis_maplist_lookup(tag2, "alice@example.com", NULL, msg, &res, &err),
		  MAVIS_ERR_SQL);
	CHECK(strstr(err.text, "sql_select_policy does not prepare") != NULL);
	CHECK(strstr(err.text, "nosuch") != NULL);
	struct mavis_buf rep = { 0 };

	CHECK_INT(mavis_sql_check(sql, &rep, &err), 1);
	CHECK(strstr(mavis_buf_str(&rep), "sql_select_policy does not prepare: column \"nosuch\" does not exist\n") != NULL);
	CHECK(strstr(mavis_buf_str(&rep), "schema: amavisd-new 2.13: incomplete") != NULL);
	mavis_buf_free(&rep);
	mavis_arena_reset(msg);
	mavis_sql_set_global(NULL);
	mavis_sql_free(&sql);
	mavis_maplist_free(&tag2);
	mavis_arena_free(&msg);
	mavis_arena_free(&cfg);
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
	struct mavis_sql_stats st, st2;

	mavis_sql_get_stats(sql, &st);
	CHECK(st.failures >= 3);
	/* on_sql_failure = pass: the failed table is "not found", the next one
	   (6.31) answers; the failure is handed out once for the log, and the
	   other lookups of the message do not ask again. */
	struct mavis_map_opts pass = { .recipient_delimiter = "+", .sql_failure_pass = true };
	struct mavis_maplist *wl = parse_in("whitelist_sender_maps", "pgsql:wblist, static:0",
					    MAVIS_MAPVAL_BOOL, cfg);
	const char *why[4];

	CHECK_INT(mavis_maplist_lookup(tag2, "alice@example.com", &pass, msg, &res, &err), 1);
	CHECK_STR(res.value, "6.31");
	CHECK_INT(mavis_sql_passed_failures(msg, why, 4), 1);
	CHECK(strstr(why[0], "policy lookup of <alice@example.com>") != NULL);
	mavis_sql_get_stats(sql, &st);
	CHECK_INT(mavis_maplist_lookup(tag2, "alice@example.com", &pass, msg, &res, &err), 1);
	mavis_map_set_recipient("alice@example.com");
	CHECK_INT(mavis_maplist_lookup(wl, "spammer@bad.example", &pass, msg, &res, &err), 1);
	CHECK_STR(res.value, "0");
	mavis_map_set_recipient(NULL);
	CHECK_INT(mavis_sql_passed_failures(msg, why, 4), 0);
	mavis_sql_get_stats(sql, &st2);
	CHECK(st2.failures == st.failures);
	/* The same message in tempfail mode: the kept failure, no new query. */
	CHECK_INT(mavis_maplist_lookup(tag2, "alice@example.com", &opts, msg, &res, &err),
		  MAVIS_ERR_SQL);
	CHECK(strstr(err.text, "policy lookup of <alice@example.com>") != NULL);
	mavis_sql_get_stats(sql, &st2);
	CHECK(st2.failures == st.failures);
	/* A second recipient: its own query, its own failure. */
	CHECK_INT(mavis_maplist_lookup(tag2, "bob@example.com", &pass, msg, &res, &err), 1);
	CHECK_INT(mavis_sql_passed_failures(msg, why, 4), 1);
	CHECK(strstr(why[0], "<bob@example.com>") != NULL);
	mavis_arena_reset(msg);
	CHECK_INT(mavis_sql_passed_failures(msg, why, 4), 0);
	mavis_maplist_free(&wl);
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

static char *
query_str(const char *sql)
{
	static char buf[4][2048];
	static int next;
	char *b = buf[next++ % 4];
	PGconn *c = PQconnectdb(dsn);
	PGresult *r = PQexec(c, sql);

	b[0] = '\0';
	if (PQresultStatus(r) == PGRES_TUPLES_OK) {
		size_t o = 0;

		for (int i = 0; i < PQntuples(r); i++)
			for (int k = 0; k < PQnfields(r); k++)
				o += (size_t)snprintf(b + o, 2048 - o, "%s%s", k ? "|" : (i ? "\n" : ""),
						      PQgetisnull(r, i, k) ? "NULL" : PQgetvalue(r, i, k));
	} else {
		test_fail(__FILE__, __LINE__, "query failed: %s: %s", sql, PQerrorMessage(c));
	}
	PQclear(r);
	PQfinish(c);
	return b;
}

static void
wait_written(struct mavis_sql_log *l, uint64_t want, unsigned ms)
{
	struct mavis_sql_log_stats st;
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		mavis_sql_log_get_stats(l, &st);
		if (st.written + st.dropped_bad >= want)
			return;
		nanosleep(&ts, NULL);
	} while (ms_since(&t0) < ms);
	test_fail(__FILE__, __LINE__, "log writer: %llu of %llu records written in %u ms",
		  (unsigned long long)st.written, (unsigned long long)want, ms);
}

static const struct mavis_sql_log_rcpt log_rcpts[] = {
	{ "Alice@Example.COM", true, 'S', 'D', false, false, true, 12.5,
	  "250 2.7.0 Ok, discarded, id=4711-01 - spam" },
	{ "bob@mail.example.com.", false, 'Y', 'P', false, true, true, 7.25, "250 2.0.0 Ok" },
};

static bool log_may_drop;

static void
log_message(struct mavis_sql_log *l, const char *mail_id, const char *sender, int64_t t)
{
	struct mavis_sql_log_begin b = {
		.partition_tag = 0, .mail_id = mail_id, .secret_id = "sEcReT-12345",
		.am_id = "4711-01", .rx_time = t, .sender = sender, .policy = "MYNETS",
		.client_addr = "192.0.2.7", .size = 2048, .host = "mx1.example.com",
	};
	struct mavis_sql_log_end e = {
		.partition_tag = 0, .mail_id = mail_id, .content = 'S', .quar_type = 'Q',
		.quar_loc = mail_id, .dsn_sent = 'N', .has_spam_level = true, .spam_level = 7.25,
		.message_id = "<m1@example.org>", .from_addr = "J\xc3\xbcrgen <j@example.org>",
		.subject = "Gr\xc3\xbc\xc3\x9f\xc3\xa9 \x01 test", .client_addr = "192.0.2.7",
		.originating = false, .rcpts = log_rcpts, .nrcpts = 2,
	};

	int r1 = mavis_sql_log_begin(l, &b), r2 = mavis_sql_log_end(l, &e);

	if (!log_may_drop) {
		CHECK_INT(r1, 0);
		CHECK_INT(r2, 0);
	}
}

/* Rows as amavisd-new 2.13 fills them (Amavis/Out/SQL/Log.pm:
   save_info_preliminary, find_or_save_addr, save_info_final). */
static void
test_log(void)
{
	struct mavis_sql *sql = pool_new(2, 2000);
	struct mavis_sql_log *l = NULL;
	struct mavis_sql_log_opts o = { .queue_max = 100000, .batch_max = 64 };
	struct mavis_error err = { 0 };

	CHECK_INT(mavis_sql_log_new(sql, &o, &l, &err), 0);
	log_message(l, "LogTest-0001", "J.Sender@Example.ORG", 1700000000);
	wait_written(l, 2, 5000);
	CHECK_STR(query_str("SELECT partition_tag, encode(mail_id, 'escape'), encode(secret_id, 'escape'), "
			    "am_id, time_num, time_iso AT TIME ZONE 'UTC', policy, client_addr, size, "
			    "originating, content, quar_type, quar_loc, dsn_sent, spam_level, message_id, "
			    "from_addr, subject, host FROM msgs"),
		  "0|LogTest-0001|sEcReT-12345|4711-01|1700000000|2023-11-14 22:13:20|MYNETS|"
		  "192.0.2.7|2048|N|S|Q|LogTest-0001|N|7.25|<m1@example.org>|"
		  "J\xc3\xbcrgen <j@example.org>|Gr\xc3\xbc\xc3\x9f\xc3\xa9 \x01 test|mx1.example.com");
	/* maddr: lowercased, trailing dot gone, domain labels reversed */
	CHECK_STR(query_str("SELECT encode(email, 'escape'), domain FROM maddr ORDER BY id"),
		  "j.sender@example.org|org.example\n"
		  "alice@example.com|com.example\n"
		  "bob@mail.example.com|com.example.mail");
	CHECK_STR(query_str("SELECT m.id = msgs.sid FROM msgs, maddr m WHERE m.email = 'j.sender@example.org'"),
		  "t");
	CHECK_STR(query_str("SELECT r.rseqnum, encode(m.email, 'escape'), r.is_local, r.content, r.ds, "
			    "r.rs = ' ', r.bl, r.wl, r.bspam_level, r.smtp_resp "
			    "FROM msgrcpt r JOIN maddr m ON r.rid = m.id ORDER BY r.rseqnum"),
		  "1|alice@example.com|Y|S|D|t|N|N|12.5|250 2.7.0 Ok, discarded, id=4711-01 - spam\n"
		  "2|bob@mail.example.com|N|Y|P|t|N|Y|7.25|250 2.0.0 Ok");
	/* The same addresses again: no new maddr rows; the null sender is "". */
	log_message(l, "LogTest-0002", "", 1700000001);
	wait_written(l, 4, 5000);
	CHECK_INT(query_long("SELECT count(*) FROM maddr"), 4);
	CHECK_STR(query_str("SELECT encode(email, 'escape') || '|' || domain FROM maddr m, msgs "
			    "WHERE msgs.sid = m.id AND mail_id = 'LogTest-0002'"), "|");
	/* Bad records (a duplicate mail_id: its msgs row and its msgrcpt rows)
	   are dropped alone, counted; the good one in the same batch is kept. */
	log_message(l, "LogTest-0002", "x@y.example", 1700000002);
	log_message(l, "LogTest-0003", "x@y.example", 1700000003);
	wait_written(l, 8, 5000);
	struct mavis_sql_log_stats st;

	mavis_sql_log_get_stats(l, &st);
	CHECK_INT(st.dropped_bad, 2);
	CHECK_INT(query_long("SELECT count(*) FROM msgs WHERE content IS NOT NULL"), 3);

	/* Throughput: 5000 messages (2 recipients each) queued at once. */
	enum { NMSG = 5000 };
	struct timespec t0;
	uint64_t base = st.written + st.dropped_bad;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < NMSG; i++) {
		char id[16], snd[64];

		snprintf(id, sizeof(id), "Bulk%08d", i);
		snprintf(snd, sizeof(snd), "sender%d@bulk%d.example", i % 500, i % 7);
		log_message(l, id, snd, 1700001000 + i);
	}
	double enq_ms = ms_since(&t0);

	wait_written(l, base + 2 * NMSG, 120000);
	double ms = ms_since(&t0);
	long rows = query_long("SELECT (SELECT count(*) FROM msgs) + (SELECT count(*) FROM msgrcpt)");

	printf("sql_log writer: %d messages (%d msgs + %d msgrcpt rows) in %.0f ms: %.0f rows/s, "
	       "%.0f messages/s; queuing took %.1f us per message\n", NMSG, NMSG, 2 * NMSG, ms,
	       3.0 * NMSG / (ms / 1000.0), NMSG / (ms / 1000.0), enq_ms * 1000.0 / NMSG);
	CHECK_INT(rows, 3 * 4 + 3 * NMSG - 3);

	/* An outage: records wait in the queue, then are all written. */
	CHECK_INT(pgsql("stop"), 0);
	pg_running = false;
	mavis_sql_log_get_stats(l, &st);
	base = st.written + st.dropped_bad;
	for (int i = 0; i < 50; i++) {
		char id[16];

		snprintf(id, sizeof(id), "Down%08d", i);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		log_message(l, id, "late@example.org", 1700100000 + i);
		CHECK(ms_since(&t0) < 50);	/* never waits for the database */
	}
	struct timespec ts = { 0, 500 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	mavis_sql_log_get_stats(l, &st);
	CHECK_INT(st.pending, 100);
	CHECK(st.db_failures >= 1);
	CHECK_INT(pgsql("restart"), 0);
	pg_running = true;
	wait_written(l, base + 100, 15000);
	CHECK_INT(query_long("SELECT count(*) FROM msgs WHERE mail_id::text LIKE '%Down%' "
			     "OR encode(mail_id, 'escape') LIKE 'Down%' AND content = 'S'"), 50);
	mavis_sql_log_free(&l, 1000);

	/* A full queue while the database is away: dropped and counted. */
	struct mavis_sql_log_opts small = { .queue_max = 10 };

	CHECK_INT(mavis_sql_log_new(sql, &small, &l, &err), 0);
	CHECK_INT(pgsql("stop"), 0);
	pg_running = false;
	log_may_drop = true;
	for (int i = 0; i < 20; i++) {
		char id[16];

		snprintf(id, sizeof(id), "Full%08d", i);
		log_message(l, id, "x@y.example", 1700200000 + i);
	}
	log_may_drop = false;
	mavis_sql_log_get_stats(l, &st);
	CHECK(st.dropped_full >= 30);
	CHECK_INT(pgsql("restart"), 0);
	pg_running = true;
	mavis_sql_log_free(&l, 5000);
	mavis_sql_free(&sql);
}

/* mavisctl sql check: the shipped schema, iRedMail's variant, and gaps. */
static void
test_check(void)
{
	struct mavis_sql *sql = pool_new(1, 2000);
	struct mavis_buf rep = { 0 };
	struct mavis_error err = { 0 };

	CHECK_INT(mavis_sql_check(sql, &rep, &err), 0);
	CHECK_STR(mavis_buf_str(&rep), "schema: amavisd-new 2.13: complete\n");
	/* iRedMail: bytea from_addr/subject, maddr.email_raw, no FK on users.policy_id */
	exec_sql("ALTER TABLE msgs ALTER from_addr DROP DEFAULT, ALTER subject DROP DEFAULT;"
		 "ALTER TABLE msgs ALTER from_addr TYPE bytea USING from_addr::bytea, "
		 "ALTER subject TYPE bytea USING subject::bytea;"
		 "ALTER TABLE msgs ALTER from_addr SET DEFAULT '', ALTER subject SET DEFAULT '';"
		 "ALTER TABLE maddr ADD COLUMN email_raw bytea;"
		 "ALTER TABLE users DROP CONSTRAINT users_policy_id_fkey");
	mavis_buf_reset(&rep);
	CHECK_INT(mavis_sql_check(sql, &rep, &err), 0);
	CHECK_STR(mavis_buf_str(&rep), "schema: amavisd-new 2.13 (iRedMail variant): complete\n");
	/* The log still writes into iRedMail's bytea columns. */
	struct mavis_sql_log *l = NULL;

	CHECK_INT(mavis_sql_log_new(sql, NULL, &l, &err), 0);
	log_message(l, "IRedMail0001", "a@b.example", 1700300000);
	wait_written(l, 2, 5000);
	CHECK_STR(query_str("SELECT convert_from(subject, 'UTF8') FROM msgs WHERE mail_id = 'IRedMail0001'"),
		  "Gr\xc3\xbc\xc3\x9f\xc3\xa9 \x01 test");
	mavis_sql_log_free(&l, 1000);
	exec_sql("ALTER TABLE msgrcpt DROP COLUMN wl; ALTER TABLE maddr DROP CONSTRAINT part_email;"
		 "DROP TABLE wblist");
	mavis_buf_reset(&rep);
	CHECK_INT(mavis_sql_check(sql, &rep, &err), 3);
	CHECK_STR(mavis_buf_str(&rep), "missing table wblist\nmissing column msgrcpt.wl\n"
		  "missing unique index maddr (partition_tag, email)\n"
		  "schema: amavisd-new 2.13 (iRedMail variant): incomplete\n");
	mavis_buf_free(&rep);
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
	static double t[N], tw[N];

	mavis_sql_set_global(sql);
	struct mavis_maplist *tag2 = parse_in("spam_tag2_level_maps", "pgsql:policy, 6.31",
					      MAVIS_MAPVAL_FLOAT, cfg);
	struct mavis_maplist *kill = parse_in("spam_kill_level_maps", "pgsql:policy, 6.31",
					      MAVIS_MAPVAL_FLOAT, cfg);
	struct mavis_maplist *wl = parse_in("whitelist_sender_maps", "pgsql:wblist",
					    MAVIS_MAPVAL_BOOL, cfg);
	struct mavis_maplist *bl = parse_in("blacklist_sender_maps", "pgsql:wblist",
					    MAVIS_MAPVAL_BOOL, cfg);
	exec_sql("INSERT INTO users (priority, policy_id, email) "
		 "SELECT 10, 2, ('user' || g || '@bulk.example')::bytea FROM generate_series(1, 5000) g; "
		 "INSERT INTO wblist (rid, sid, wb) SELECT id, 2, 'W' FROM users "
		 "WHERE encode(email, 'escape') LIKE 'user%@bulk.example'; ANALYZE users; ANALYZE wblist");
	for (int i = 0; i < N; i++) {
		char addr[64];
		struct mavis_map_result res;
		struct mavis_error err = { 0 };
		struct timespec t0;

		snprintf(addr, sizeof(addr), "user%d+x@bulk.example", i % 5000 + 1);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		int r1 = mavis_maplist_lookup(tag2, addr, &opts, msg, &res, &err);
		int r2 = mavis_maplist_lookup(kill, addr, &opts, msg, &res, &err);

		t[i] = ms_since(&t0);
		if (r1 != 1 || r2 != 1 || strcmp(res.value, "5") != 0)	/* the user's row */
			test_fail(__FILE__, __LINE__, "lookup %s: %d %d %s", addr, r1, r2, err.text);
		/* and the sender's white/blacklist entry for this recipient:
		   one more query, both lists answer from it */
		char snd[64];

		snprintf(snd, sizeof(snd), "s%d@friend.example", i);
		mavis_map_set_recipient(addr);
		int r3 = mavis_maplist_lookup(wl, snd, &opts, msg, &res, &err);
		const char *wv = r3 == 1 ? res.value : "";
		int r4 = mavis_maplist_lookup(bl, snd, &opts, msg, &res, &err);

		mavis_map_set_recipient(NULL);
		tw[i] = ms_since(&t0);
		if (r3 != 1 || strcmp(wv, "1") != 0 || r4 != 1)
			test_fail(__FILE__, __LINE__, "wblist %s for %s: %d %s %d %s", snd, addr, r3, wv,
				  r4, err.text);
		mavis_arena_reset(msg);
	}
	qsort(t, N, sizeof(t[0]), cmp_double);
	qsort(tw, N, sizeof(tw[0]), cmp_double);
	printf("pgsql:policy lookup per recipient (two keys, one query, %d recipients): "
	       "p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", N, t[N / 2], t[N * 99 / 100], t[N - 1]);
	printf("pgsql:policy + pgsql:wblist per recipient (four keys, two queries): "
	       "p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", tw[N / 2], tw[N * 99 / 100], tw[N - 1]);
	CHECK(t[N / 2] < 50);
	mavis_maplist_free(&wl);
	mavis_maplist_free(&bl);
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
	TEST_RUN(test_keys);
	TEST_RUN(test_clauses);
	TEST_RUN(test_config_errors);
	pg_start();
	exec_sql(rows_sql);
	TEST_RUN(test_policy);
	TEST_RUN(test_keys_db);
	TEST_RUN(test_wblist);
	TEST_RUN(test_clauses_db);
	TEST_RUN(test_reconfigure);
	TEST_RUN(test_quarantine);
	TEST_RUN(test_outage);
	TEST_RUN(test_latency);
	TEST_RUN(test_log);
	TEST_RUN(test_check);	/* last: it alters the schema */
	if (pg_running)
		pgsql("stop");
	pg_running = false;
	return test_exit();
}
