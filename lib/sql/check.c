/* SPDX-License-Identifier: GPL-2.0-or-later */
/* check.c - what a database lacks for mavisd (mavisctl sql check) */

#include <stdlib.h>
#include <string.h>

#include "sql_int.h"

/* The columns mavisd reads or writes, table by table (policy: only id is
   required, every other column is optional, as for amavisd). */
static const struct {
	const char *table;
	const char *columns;	/* space separated */
} need[] = {
	{ "policy", "id" },
	{ "users", "id priority policy_id email" },
	{ "mailaddr", "id priority email" },
	{ "wblist", "rid sid wb" },
	{ "maddr", "id partition_tag email domain" },
	{ "msgs", "partition_tag mail_id secret_id am_id time_num time_iso sid policy client_addr "
		  "size originating content quar_type quar_loc dsn_sent spam_level message_id "
		  "from_addr subject host" },
	{ "msgrcpt", "partition_tag mail_id rseqnum rid is_local content ds rs bl wl bspam_level "
		     "smtp_resp" },
	{ "quarantine", "partition_tag mail_id chunk_ind mail_text" },
};

struct check_job {
	struct mavis_buf *out;
	int missing;
};

static const char *
type_of(PGresult *r, const char *table, const char *column)
{
	for (int i = 0; i < PQntuples(r); i++)
		if (strcmp(PQgetvalue(r, i, 0), table) == 0 && strcmp(PQgetvalue(r, i, 1), column) == 0)
			return PQgetvalue(r, i, 2);
	return NULL;
}

static int
check_job(struct mavis_sql *sql, struct sql_conn *c, void *ctx, bool *broken,
	  struct mavis_error *err)
{
	struct check_job *j = ctx;
	PGconn *pg = sql_conn_pg(c);

	j->missing = 0;
	mavis_buf_reset(j->out);
	PGresult *r = PQexec(pg, "SELECT table_name, column_name, data_type FROM "
				 "information_schema.columns WHERE table_schema = current_schema() "
				 "AND table_name IN ('policy', 'users', 'mailaddr', 'wblist', 'maddr', "
				 "'msgs', 'msgrcpt', 'quarantine', 'outbound_wblist')");

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		mavis_error_set(err, MAVIS_ERR_SQL, "schema query: %s", PQerrorMessage(pg));
		PQclear(r);
		*broken = PQstatus(pg) != CONNECTION_OK;
		return MAVIS_ERR_SQL;
	}
	for (size_t t = 0; t < sizeof(need) / sizeof(need[0]); t++) {
		bool table = false;

		for (int i = 0; i < PQntuples(r) && !table; i++)
			table = strcmp(PQgetvalue(r, i, 0), need[t].table) == 0;
		if (!table) {
			mavis_buf_printf(j->out, "missing table %s\n", need[t].table);
			j->missing++;
			continue;
		}
		char *cols = strdup(need[t].columns);

		for (char *save = NULL, *col = strtok_r(cols, " ", &save); col;
		     col = strtok_r(NULL, " ", &save))
			if (type_of(r, need[t].table, col) == NULL) {
				mavis_buf_printf(j->out, "missing column %s.%s\n", need[t].table, col);
				j->missing++;
			}
		free(cols);
	}
	const char *from = type_of(r, "msgs", "from_addr");
	bool iredmail = (from != NULL && strcmp(from, "bytea") == 0) ||
			type_of(r, "maddr", "email_raw") != NULL ||
			type_of(r, "outbound_wblist", "rid") != NULL;

	PQclear(r);
	/* The log's maddr insert relies on the unique (partition_tag, email)
	   both schemas declare. */
	r = PQexec(pg, "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
		       "JOIN pg_namespace n ON n.oid = c.relnamespace "
		       "WHERE c.relname = 'maddr' AND n.nspname = current_schema() AND i.indisunique "
		       "AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a "
		       "WHERE a.attrelid = c.oid AND a.attnum = ANY (i.indkey)) = "
		       "ARRAY['email', 'partition_tag']");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "0") == 0 &&
	    strstr(mavis_buf_str(j->out), "missing table maddr") == NULL) {
		mavis_buf_printf(j->out, "missing unique index maddr (partition_tag, email)\n");
		j->missing++;
	}
	PQclear(r);
	/* The lookup clauses as configured: prepared (unnamed, so the
	   connection's own statements stay), never run; only over a complete
	   schema (a missing table is said above already). */
	static const struct {
		enum sql_stmt st;
		const char *key;
	} clauses[] = {
		{ SQL_ST_SEL_POLICY, "sql_select_policy" },
		{ SQL_ST_SEL_WBLIST, "sql_select_white_black_list" },
	};
	bool schema_ok = j->missing == 0;

	for (size_t i = 0; schema_ok && i < sizeof(clauses) / sizeof(clauses[0]); i++) {
		r = PQprepare(pg, "", sql_conn_clause(c, clauses[i].st)->text, 0, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);

			mavis_buf_printf(j->out, "%s does not prepare: %s\n", clauses[i].key,
					 m ? m : PQerrorMessage(pg));
			j->missing++;
		}
		PQclear(r);
		if (PQstatus(pg) != CONNECTION_OK) {
			*broken = true;
			return mavis_error_set(err, MAVIS_ERR_SQL, "prepare: %s", PQerrorMessage(pg));
		}
	}
	mavis_buf_printf(j->out, "schema: amavisd-new 2.13%s: %s\n",
			 iredmail ? " (iRedMail variant)" : "",
			 j->missing ? "incomplete" : "complete");
	return 0;
}

int
mavis_sql_check(struct mavis_sql *sql, struct mavis_buf *report, struct mavis_error *err)
{
	if (sql == NULL)
		return mavis_error_set(err, MAVIS_ERR_CONFIG, "no sql_dsn configured");
	struct check_job j = { report, 0 };
	int rc = sql_run(sql, check_job, &j, err);

	return rc < 0 ? rc : j.missing;
}
