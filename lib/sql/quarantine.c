/* SPDX-License-Identifier: GPL-2.0-or-later */
/* quarantine.c - amavisd's SQL quarantine (table quarantine) and msgs lookups */

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mavis/buf.h>

#include "../store/store_int.h"
#include "sql_int.h"

#define FETCH_MAX_DEFAULT ((size_t)256 * 1024 * 1024)

bool
sql_valid_mail_id(const char *id)
{
	return id != NULL && mavis_quarantine_valid_id(id);
}

/* ---- store ---- */

struct store_job {
	int ptag;
	const char *mail_id;
	const struct mavis_sql_piece *parts;
	size_t nparts;
};

static int
insert_chunk(struct mavis_sql *sql, struct sql_conn *c, const struct store_job *j, int ind,
	     const char *data, size_t len, bool *broken, struct mavis_error *err)
{
	char ptag[16], chunk[16];
	const char *v[4] = { ptag, j->mail_id, chunk, data };
	int l[4] = { 0, (int)strlen(j->mail_id), 0, (int)len };
	int f[4] = { 0, 1, 0, 1 };

	snprintf(ptag, sizeof(ptag), "%d", j->ptag);
	snprintf(chunk, sizeof(chunk), "%d", ind);
	PGresult *r = sql_exec(sql, c, SQL_ST_INS_QUAR, 4, v, l, f, 0, broken, err);

	if (r == NULL)
		return MAVIS_ERR_SQL;
	PQclear(r);
	return 0;
}

static int
store_job(struct mavis_sql *sql, struct sql_conn *c, void *ctx, bool *broken,
	  struct mavis_error *err)
{
	const struct store_job *j = ctx;
	char *chunk = malloc(MAVIS_SQL_CHUNK);
	size_t fill = 0;
	int ind = 0, rc;

	if (chunk == NULL)
		return mavis_error_set(err, MAVIS_ERR_RESOURCE, "SQL quarantine: out of memory");
	rc = sql_command(sql, c, "BEGIN", broken, err);
	/* Chunks of exactly MAVIS_SQL_CHUNK bytes whatever the pieces' sizes,
	   as amavisd's Amavis::IO::SQL writes them. */
	for (size_t p = 0; rc == 0 && p < j->nparts; p++) {
		const char *d = j->parts[p].data;
		size_t left = j->parts[p].len;

		while (rc == 0 && left > 0) {
			size_t n = MAVIS_SQL_CHUNK - fill < left ? MAVIS_SQL_CHUNK - fill : left;

			memcpy(chunk + fill, d, n);
			fill += n;
			d += n;
			left -= n;
			if (fill == MAVIS_SQL_CHUNK) {
				rc = insert_chunk(sql, c, j, ++ind, chunk, fill, broken, err);
				fill = 0;
			}
		}
	}
	if (rc == 0 && (fill > 0 || ind == 0))
		rc = insert_chunk(sql, c, j, ++ind, chunk, fill, broken, err);
	free(chunk);
	if (rc == 0)
		rc = sql_command(sql, c, "COMMIT", broken, err);
	if (rc < 0 && !*broken) {
		struct mavis_error ignored = { 0 };
		bool b2 = false;

		sql_command(sql, c, "ROLLBACK", &b2, &ignored);
		*broken = b2;
	}
	if (rc < 0)
		mavis_error_prefix(err, "SQL quarantine of %s: ", j->mail_id);
	return rc;
}

int
mavis_sql_quarantine_store(struct mavis_sql *sql, int partition_tag, const char *mail_id,
			   const struct mavis_sql_piece *parts, size_t nparts,
			   struct mavis_error *err)
{
	if (sql == NULL)
		return mavis_error_set(err, MAVIS_ERR_SQL, "SQL quarantine: no sql_dsn configured");
	if (!sql_valid_mail_id(mail_id))
		return mavis_error_set(err, MAVIS_ERR_PARSE, "SQL quarantine: invalid mail_id");
	struct store_job j = { partition_tag, mail_id, parts, nparts };

	return sql_run(sql, store_job, &j, err);
}

int
mavis_sql_quarantine_put(struct mavis_sql *sql, int partition_tag,
			 const struct mavis_quarantine_in *in, struct mavis_quarantine_out *out,
			 struct mavis_error *err)
{
	struct mavis_buf prefix = { 0 };
	int rc;

	memset(out, 0, sizeof(*out));
	if (!sql_valid_mail_id(in->mail_id))
		return mavis_error_set(err, MAVIS_ERR_PARSE, "SQL quarantine: invalid mail_id");
	rc = store_prefix_build(in, store_msg_eol(in->msg, in->msg_len), &prefix, err);
	if (rc == 0) {
		struct mavis_sql_piece parts[2] = { { prefix.data, prefix.len },
						    { in->msg, in->msg_len } };

		rc = mavis_sql_quarantine_store(sql, partition_tag, in->mail_id, parts, 2, err);
	}
	if (rc == 0) {
		if (partition_tag != 0)
			snprintf(out->rel_path, sizeof(out->rel_path), "%s[%d]", in->mail_id,
				 partition_tag);
		else
			snprintf(out->rel_path, sizeof(out->rel_path), "%s", in->mail_id);
		out->quar_type = 'Q';
		out->file_size = prefix.len + in->msg_len;
	}
	mavis_buf_free(&prefix);
	return rc;
}

/* ---- fetch ---- */

struct fetch_job {
	int ptag;
	const char *mail_id;
	size_t max;
	struct mavis_buf out;
};

static int
fetch_job(struct mavis_sql *sql, struct sql_conn *c, void *ctx, bool *broken,
	  struct mavis_error *err)
{
	struct fetch_job *j = ctx;
	char ptag[16];
	const char *v[2] = { ptag, j->mail_id };
	int l[2] = { 0, (int)strlen(j->mail_id) };
	int f[2] = { 0, 1 };

	mavis_buf_reset(&j->out);
	snprintf(ptag, sizeof(ptag), "%d", j->ptag);
	PGresult *r = sql_exec(sql, c, SQL_ST_SEL_QUAR, 2, v, l, f, 1, broken, err);

	if (r == NULL)
		return MAVIS_ERR_SQL;
	int n = PQntuples(r);

	if (n == 0) {
		PQclear(r);
		return mavis_error_set(err, MAVIS_ERR_NOTFOUND, "%s: not in the SQL quarantine",
				       j->mail_id);
	}
	for (int i = 0; i < n; i++) {
		size_t len = (size_t)PQgetlength(r, i, 0);

		if (j->out.len + len > j->max) {
			PQclear(r);
			return mavis_error_set(err, MAVIS_ERR_LIMIT,
					       "%s: SQL quarantine text over %zu bytes", j->mail_id,
					       j->max);
		}
		mavis_buf_append(&j->out, PQgetvalue(r, i, 0), len);
	}
	PQclear(r);
	return 0;
}

int
mavis_sql_quarantine_fetch(struct mavis_sql *sql, int partition_tag, const char *mail_id,
			   size_t max_bytes, struct mavis_arena *arena, const char **data_r,
			   size_t *len_r, struct mavis_error *err)
{
	*data_r = NULL;
	*len_r = 0;
	if (sql == NULL)
		return mavis_error_set(err, MAVIS_ERR_SQL, "SQL quarantine: no sql_dsn configured");
	if (!sql_valid_mail_id(mail_id))
		return mavis_error_set(err, MAVIS_ERR_PARSE, "SQL quarantine: invalid mail_id");
	struct fetch_job j = { partition_tag, mail_id, max_bytes ? max_bytes : FETCH_MAX_DEFAULT,
			       { 0 } };
	int rc = sql_run(sql, fetch_job, &j, err);

	if (rc == 0) {
		char *d = mavis_arena_alloc_uninit(arena, j.out.len + 1);

		if (j.out.len)
			memcpy(d, j.out.data, j.out.len);
		d[j.out.len] = '\0';
		*data_r = d;
		*len_r = j.out.len;
	}
	mavis_buf_free(&j.out);
	return rc;
}

int
mavis_sql_quarantine_read(struct mavis_sql *sql, int partition_tag, const char *mail_id,
			  size_t max_bytes, struct mavis_arena *arena,
			  struct mavis_quarantine_entry *out, struct mavis_error *err)
{
	const char *data;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = mavis_sql_quarantine_fetch(sql, partition_tag, mail_id, max_bytes, arena, &data, &len,
					err);
	if (rc < 0)
		return rc;
	rc = store_prefix_parse(data, len, arena, out, err);
	if (rc < 0)
		return rc;
	out->quar_type = 'Q';
	return 0;
}

/* ---- msgs ---- */

struct msgs_job {
	const char *mail_id, *secret_id;
	int ptag;
	struct mavis_arena *arena;
	struct mavis_sql_msg *rows;
	int n;
};

static const char *
text_col(struct mavis_arena *a, PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return "";
	return mavis_arena_strndup(a, PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col));
}

static int
msgs_job(struct mavis_sql *sql, struct sql_conn *c, void *ctx, bool *broken,
	 struct mavis_error *err)
{
	struct msgs_job *j = ctx;
	char ptag[16];
	const char *v[2] = { j->mail_id, ptag };
	int l[2] = { (int)strlen(j->mail_id), 0 };
	int f[2] = { 1, 0 };

	j->n = 0;
	snprintf(ptag, sizeof(ptag), "%d", j->ptag < 0 ? -1 : j->ptag);
	/* Text results: bytea columns then arrive hex-escaped, so they are
	   read back binary through PQunescapeBytea. */
	PGresult *r = sql_exec(sql, c, SQL_ST_SEL_MSGS, 2, v, l, f, 0, broken, err);

	if (r == NULL)
		return MAVIS_ERR_SQL;
	int n = PQntuples(r);

	j->rows = mavis_arena_calloc(j->arena, n > 0 ? (size_t)n : 1, sizeof(*j->rows));
	for (int i = 0; i < n && j->n < MAVIS_SQL_MSGS_MAX; i++) {
		struct mavis_sql_msg *m = &j->rows[j->n];
		const char *bytea[3];
		int cols[3] = { 1, 2, 9 };

		for (int k = 0; k < 3; k++) {
			size_t blen = 0;
			unsigned char *b = PQgetisnull(r, i, cols[k]) ? NULL :
					   PQunescapeBytea((const unsigned char *)PQgetvalue(r, i, cols[k]),
							   &blen);

			bytea[k] = b ? mavis_arena_strndup(j->arena, (const char *)b, blen) : "";
			PQfreemem(b);
		}
		if (j->secret_id != NULL && strcmp(bytea[1], j->secret_id) != 0)
			continue;
		m->partition_tag = atoi(PQgetvalue(r, i, 0));
		m->mail_id = bytea[0];
		m->secret_id = bytea[1];
		m->am_id = text_col(j->arena, r, i, 3);
		m->time_num = strtoll(PQgetvalue(r, i, 4), NULL, 10);
		m->content = PQgetisnull(r, i, 5) ? 0 : PQgetvalue(r, i, 5)[0];
		m->quar_type = PQgetisnull(r, i, 6) ? 0 : PQgetvalue(r, i, 6)[0];
		if (m->quar_type == '\0' && !PQgetisnull(r, i, 6))
			m->quar_type = ' ';
		m->quar_loc = text_col(j->arena, r, i, 7);
		m->host = text_col(j->arena, r, i, 8);
		m->sender = bytea[2];
		m->has_spam_level = !PQgetisnull(r, i, 10);
		m->spam_level = m->has_spam_level ? strtod(PQgetvalue(r, i, 10), NULL) : 0;
		m->size = strtoll(PQgetvalue(r, i, 11), NULL, 10);
		j->n++;
	}
	PQclear(r);
	return 0;
}

int
mavis_sql_msgs_lookup(struct mavis_sql *sql, const char *mail_id, const char *secret_id,
		      int partition_tag, struct mavis_arena *arena, struct mavis_sql_msg **rows_r,
		      struct mavis_error *err)
{
	*rows_r = NULL;
	if (sql == NULL)
		return mavis_error_set(err, MAVIS_ERR_SQL, "msgs lookup: no sql_dsn configured");
	if (!sql_valid_mail_id(mail_id))
		return mavis_error_set(err, MAVIS_ERR_PARSE, "msgs lookup: invalid mail_id");
	struct msgs_job j = { mail_id, secret_id, partition_tag, arena, NULL, 0 };
	int rc = sql_run(sql, msgs_job, &j, err);

	if (rc < 0)
		return rc;
	*rows_r = j.rows;
	return j.n;
}
