/* store_pg_import.c: `ward admin migrate --to postgres`.  A school outgrows its own machine:
 * its SQLite database is copied into PostgreSQL row for row, keeping every id, every concern
 * version and the audit chain exactly as they are, so `ward admin audit verify` passes against
 * PostgreSQL afterwards.  The copy is one PostgreSQL transaction.  The target must hold no audit
 * entry yet: the chain is one sequence and two chains cannot be spliced. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store_pg.h"

/* In dependency order; notices come before concern_versions so the trigger that raises a new
 * concern's notice finds it already there (ON CONFLICT DO NOTHING) and ids stay as they were. */
static const struct {
	const char *table, *order, *id; /* id: the identity column to move past the copied rows */
} tables[] = {
    {"schools", "id", "id"},
    {"users", "id", "id"},
    {"sessions", "rowid", NULL},
    {"notices", "id", "id"},
    {"concern_versions", "concern_id, version", NULL},
    {"audit", "seq", NULL},
    {"service_tokens", "id", "id"},
    {"alerts", "id", NULL},
    {"notify_settings", "school_id", NULL},
    {"case_entries", "seq", "seq"},
    {"pupils", "rowid", "seq"},
    {"trusts", "id", "id"},
    {"trust_members", "school_id", NULL},
    {"pupil_pages", "school_id", NULL},
};

static ward_status run(PGconn *pg, const char *sql, char *msg, size_t cap)
{
	PGresult *r = PQexec(pg, sql);
	ward_status rc = WARD_OK;
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(msg, cap, "%s", PQresultErrorMessage(r));
		msg[strcspn(msg, "\n")] = '\0';
		rc = WARD_EIO;
	}
	PQclear(r);
	return rc;
}

/* Copies one table: the columns SQLite has, by name, into the same columns in PostgreSQL. */
static ward_status copy_table(sqlite3 *db, PGconn *pg, const char *table, const char *order,
                              char *msg, size_t cap, int64_t *rows)
{
	char sql[2048], ins[2048];
	sqlite3_stmt *st = NULL;
	ward_status rc = WARD_EIO;
	int ncol, off;
	snprintf(sql, sizeof sql, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '%s'",
	         table);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		rc = WARD_OK; /* made by a wardd older than the table: nothing to copy */
		goto done;
	}
	sqlite3_finalize(st);
	st = NULL;
	snprintf(sql, sizeof sql, "SELECT * FROM %s ORDER BY %s", table, order);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(msg, cap, "%s: %s", table, sqlite3_errmsg(db));
		goto done;
	}
	ncol = sqlite3_column_count(st);
	if (ncol > PG_MAX_ARGS) {
		snprintf(msg, cap, "%s: too many columns", table);
		goto done;
	}
	off = snprintf(ins, sizeof ins, "INSERT INTO %s (", table);
	for (int i = 0; i < ncol; i++)
		off += snprintf(ins + off, sizeof ins - (size_t)off, "%s%s", i ? ", " : "",
		                sqlite3_column_name(st, i));
	off += snprintf(ins + off, sizeof ins - (size_t)off, ") VALUES (");
	for (int i = 0; i < ncol; i++)
		off += snprintf(ins + off, sizeof ins - (size_t)off, "%s$%d", i ? ", " : "", i + 1);
	off += snprintf(ins + off, sizeof ins - (size_t)off, ")%s",
	                strcmp(table, "notices") == 0 ? " ON CONFLICT DO NOTHING" : "");
	if ((size_t)off >= sizeof ins) {
		snprintf(msg, cap, "%s: statement too long", table);
		goto done;
	}
	for (;;) {
		int step = sqlite3_step(st);
		pg_args a = {0};
		PGresult *r;
		if (step == SQLITE_DONE)
			break;
		if (step != SQLITE_ROW) {
			snprintf(msg, cap, "%s: %s", table, sqlite3_errmsg(db));
			goto done;
		}
		for (int i = 0; i < ncol; i++) {
			switch (sqlite3_column_type(st, i)) {
			case SQLITE_NULL: pg_arg_str(&a, NULL); break;
			case SQLITE_BLOB:
				pg_arg_blob(&a, sqlite3_column_blob(st, i),
				            (size_t)sqlite3_column_bytes(st, i));
				break;
			case SQLITE_INTEGER: pg_arg_i64(&a, sqlite3_column_int64(st, i)); break;
			default: pg_arg_str(&a, (const char *)sqlite3_column_text(st, i)); break;
			}
		}
		r = PQexecParams(pg, ins, a.n, NULL, a.v, a.len, a.fmt, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			snprintf(msg, cap, "%s: %s", table, PQresultErrorMessage(r));
			msg[strcspn(msg, "\n")] = '\0';
			PQclear(r);
			goto done;
		}
		PQclear(r);
		(*rows)++;
	}
	rc = WARD_OK;
done:
	sqlite3_finalize(st);
	return rc;
}

ward_status srv_store_pg_import(const char *sqlite_path, const char *dsn, char *msg, size_t cap,
                                int64_t *rows)
{
	ward_status rc = WARD_EIO;
	srv_store *store = NULL;
	sqlite3 *db = NULL;
	PGconn *pg = NULL;
	PGresult *r = NULL;
	char sql[512];
	*rows = 0;
	snprintf(msg, cap, "failed");
	/* Opening the store brings the PostgreSQL schema up to date. */
	if (srv_store_pg_open(dsn, &store) != WARD_OK) {
		snprintf(msg, cap, "cannot open the PostgreSQL store");
		goto done;
	}
	store->ops->close(store);
	if (sqlite3_open_v2(sqlite_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(msg, cap, "%s: %s", sqlite_path, sqlite3_errmsg(db));
		goto done;
	}
	/* One read transaction, so the copy is of one moment even beside a running wardd. */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(msg, cap, "%s: %s", sqlite_path, sqlite3_errmsg(db));
		goto done;
	}
	pg = PQconnectdb(dsn);
	if (PQstatus(pg) != CONNECTION_OK) {
		snprintf(msg, cap, "connect: %s", PQerrorMessage(pg));
		msg[strcspn(msg, "\n")] = '\0';
		goto done;
	}
	/* The copy runs as the service role too, seeing every school. */
	if (run(pg,
	        "SET synchronous_commit = on; BEGIN; SET LOCAL ROLE " PG_ROLE ";"
	        " SELECT set_config('ward.school', 'all', true);"
	        " SELECT 1 FROM audit_head FOR UPDATE",
	        msg, cap) != WARD_OK)
		goto done;
	r = PQexec(pg, "SELECT seq FROM audit_head");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 ||
	    strcmp(PQgetvalue(r, 0, 0), "0") != 0) {
		snprintf(msg, cap, "the PostgreSQL database already holds an audit chain; migrate "
		                   "into an empty database");
		goto done;
	}
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
		if (copy_table(db, pg, tables[i].table, tables[i].order, msg, cap, rows) != WARD_OK)
			goto done;
	if (run(pg,
	        "UPDATE audit_head SET seq = a.seq, hash = a.hash FROM (SELECT seq, hash FROM audit"
	        " ORDER BY seq DESC LIMIT 1) a WHERE one = 1; RESET ROLE",
	        msg, cap) != WARD_OK)
		goto done;
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
		if (!tables[i].id)
			continue;
		snprintf(sql, sizeof sql,
		         "SELECT setval(pg_get_serial_sequence('%s', '%s'), GREATEST((SELECT"
		         " max(%s) FROM %s), 1))",
		         tables[i].table, tables[i].id, tables[i].id, tables[i].table);
		if (run(pg, sql, msg, cap) != WARD_OK)
			goto done;
	}
	if (run(pg, "COMMIT", msg, cap) != WARD_OK)
		goto done;
	rc = WARD_OK;
done:
	PQclear(r);
	if (pg)
		PQfinish(pg); /* an open transaction is rolled back */
	if (db)
		sqlite3_close(db);
	return rc;
}
