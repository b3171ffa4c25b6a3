/* Unit tests of the stores' migrations, generated from server/schema/ (scripts/schema.awk): a
 * fresh SQLite database stands at every described module's last version, and opening it again
 * changes nothing.  With WARD_TEST_PG_DSN naming an empty PostgreSQL database (tests/pg/
 * schema.test.mjs runs it so), a fresh PostgreSQL database is migrated too and the two are
 * compared: the same tables, per table the same column names, every module at the same version,
 * apart from the differences listed below with their reasons, each of which must still be
 * there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "schema.h"
#include "store_pg.h"

#define MAX_TABLES  64
#define MAX_COLUMNS 48
#define NAME_CAP    64

/* What the two stores have differently on purpose.  column NULL: the whole table. */
static const struct {
	const char *table, *column, *only_in, *why;
} differ[] = {
    {"audit_head", NULL, "pg",
     "the audit chain's head row, which a writer locks first: SQLite's BEGIN IMMEDIATE does that"},
    {"pupils", "seq", "pg", "the pupils' insertion order, which SQLite's rowid keeps"},
    {"audit_origin", NULL, "pg",
     "the kept audit chains of schools moved in by ward admin migrate (module import)"},
};
#define N_DIFFER (sizeof differ / sizeof differ[0])

typedef struct table {
	char name[NAME_CAP];
	char cols[MAX_COLUMNS][NAME_CAP];
	int ncols;
} table;

typedef struct db_shape {
	table t[MAX_TABLES];
	int n;
	char modules[SCHEMA_MODULES + 8][NAME_CAP];
	int versions[SCHEMA_MODULES + 8];
	int nmod;
} db_shape;

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/ward-schema-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof path, "%s/ward.db", dir);
	return 0;
}

static int teardown(void **state)
{
	char p[160];
	(void)state;
	static const char *const files[] = {"ward.db", "ward.db-wal", "ward.db-shm"};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
	return 0;
}

static table *table_get(db_shape *d, const char *name)
{
	for (int i = 0; i < d->n; i++)
		if (!strcmp(d->t[i].name, name))
			return &d->t[i];
	assert_true(d->n < MAX_TABLES);
	assert_true(strlen(name) < NAME_CAP);
	snprintf(d->t[d->n].name, NAME_CAP, "%s", name);
	return &d->t[d->n++];
}

static void column_add(db_shape *d, const char *tname, const char *col)
{
	table *t = table_get(d, tname);
	assert_true(t->ncols < MAX_COLUMNS);
	assert_true(strlen(col) < NAME_CAP);
	snprintf(t->cols[t->ncols++], NAME_CAP, "%s", col);
}

static void module_add(db_shape *d, const char *name, int version)
{
	assert_true(d->nmod < SCHEMA_MODULES + 8);
	snprintf(d->modules[d->nmod], NAME_CAP, "%s", name);
	d->versions[d->nmod++] = version;
}

static int module_version(const db_shape *d, const char *name)
{
	for (int i = 0; i < d->nmod; i++)
		if (!strcmp(d->modules[i], name))
			return d->versions[i];
	return -1;
}

static int has_column(const table *t, const char *col)
{
	for (int i = 0; i < t->ncols; i++)
		if (!strcmp(t->cols[i], col))
			return 1;
	return 0;
}

static const table *find(const db_shape *d, const char *name)
{
	for (int i = 0; i < d->n; i++)
		if (!strcmp(d->t[i].name, name))
			return &d->t[i];
	return NULL;
}

/* Whether the difference (table, column: NULL for the whole table) is one listed, present only
 * in the store named; marks it seen. */
static int listed(const char *tname, const char *col, const char *store, int *seen)
{
	for (size_t i = 0; i < N_DIFFER; i++)
		if (!strcmp(differ[i].table, tname) && !strcmp(differ[i].only_in, store) &&
		    (col ? differ[i].column && !strcmp(differ[i].column, col)
		         : !differ[i].column)) {
			seen[i] = 1;
			return 1;
		}
	return 0;
}

/* The tables, columns and module versions of the SQLite database at path. */
static void sqlite_shape(db_shape *d)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	memset(d, 0, sizeof *d);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db,
	                       "SELECT m.name, p.name FROM sqlite_master m,"
	                       " pragma_table_info(m.name) p WHERE m.type = 'table'"
	                       " AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid",
	                       -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		column_add(d, (const char *)sqlite3_column_text(st, 0),
		           (const char *)sqlite3_column_text(st, 1));
	sqlite3_finalize(st);
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT module, version FROM schema_versions", -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		module_add(d, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int(st, 1));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* The same of the PostgreSQL database at dsn (its public schema). */
static void pg_shape(const char *dsn, db_shape *d)
{
	PGconn *c = PQconnectdb(dsn);
	PGresult *r;
	memset(d, 0, sizeof *d);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	r = PQexec(c, "SELECT c.table_name, c.column_name FROM information_schema.columns c"
	              " JOIN information_schema.tables t ON t.table_schema = c.table_schema"
	              " AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'"
	              " WHERE c.table_schema = 'public' ORDER BY 1, c.ordinal_position");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	for (int i = 0; i < PQntuples(r); i++)
		column_add(d, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
	PQclear(r);
	r = PQexec(c, "SELECT module, version FROM schema_versions");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	for (int i = 0; i < PQntuples(r); i++)
		module_add(d, PQgetvalue(r, i, 0), atoi(PQgetvalue(r, i, 1)));
	PQclear(r);
	PQfinish(c);
}

/* Every module described for store is at its last version there, and the store has no module
 * that is not described. */
static void at_last_versions(const db_shape *d, int pg)
{
	int described = 0;
	for (size_t m = 0; m < SCHEMA_MODULES; m++) {
		const schema_module *sm = &schema_modules[m];
		int in = pg ? sm->pg : sm->sqlite;
		if (!in) {
			assert_int_equal(module_version(d, sm->name), -1);
			continue;
		}
		described++;
		if (module_version(d, sm->name) != (int)sm->versions)
			fail_msg("%s: module %s is at version %d, described up to %zu",
			         pg ? "PostgreSQL" : "SQLite", sm->name,
			         module_version(d, sm->name), sm->versions);
	}
	assert_int_equal(d->nmod, described);
}

static ward_status open_sqlite(void)
{
	srv_store *s = NULL;
	ward_status st = srv_store_sqlite_open(path, &s);
	if (s)
		s->ops->close(s);
	return st;
}

/* A fresh SQLite database stands at each described module's last version. */
static void sqlite_fresh(void **state)
{
	db_shape *d = calloc(1, sizeof *d);
	(void)state;
	assert_non_null(d);
	assert_int_equal(open_sqlite(), WARD_OK);
	sqlite_shape(d);
	at_last_versions(d, 0);
	assert_non_null(find(d, "schools"));
	assert_non_null(find(d, "audit"));
	free(d);
}

/* Opening it again migrates nothing: the stored schema is the same text. */
static void sqlite_reopen(void **state)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char *before = NULL, *after = NULL;
	(void)state;
	for (int round = 0; round < 2; round++) {
		if (round)
			assert_int_equal(open_sqlite(), WARD_OK);
		assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
		assert_int_equal(
		    sqlite3_prepare_v2(db,
		                       "SELECT group_concat(sql, ';') FROM (SELECT sql FROM"
		                       " sqlite_master WHERE sql IS NOT NULL ORDER BY rowid)",
		                       -1, &st, NULL),
		    SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		*(round ? &after : &before) = strdup((const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
	assert_non_null(before);
	assert_non_null(after);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/* Both stores, fresh: the same tables and, per table, the same column names; every module at
 * the same version. */
static void sqlite_and_pg_agree(void **state)
{
	const char *dsn = getenv("WARD_TEST_PG_DSN");
	srv_store *s = NULL;
	db_shape *a, *b;
	int seen[N_DIFFER] = {0}, bad = 0;
	(void)state;
	assert_non_null(dsn);
	a = calloc(1, sizeof *a);
	b = calloc(1, sizeof *b);
	assert_true(a && b);
	assert_int_equal(srv_store_pg_open(dsn, &s), WARD_OK);
	s->ops->close(s);
	sqlite_shape(a);
	pg_shape(dsn, b);
	at_last_versions(b, 1);
	for (size_t m = 0; m < SCHEMA_MODULES; m++)
		if (schema_modules[m].sqlite && schema_modules[m].pg &&
		    module_version(a, schema_modules[m].name) !=
		        module_version(b, schema_modules[m].name)) {
			print_error("module %s: SQLite at %d, PostgreSQL at %d\n",
			            schema_modules[m].name,
			            module_version(a, schema_modules[m].name),
			            module_version(b, schema_modules[m].name));
			bad++;
		}
	/* each table and column of one store in the other, or listed */
	for (int side = 0; side < 2; side++) {
		const db_shape *x = side ? b : a, *y = side ? a : b;
		const char *store = side ? "pg" : "sqlite";
		for (int i = 0; i < x->n; i++) {
			const table *tx = &x->t[i], *ty = find(y, tx->name);
			if (!ty) {
				if (!listed(tx->name, NULL, store, seen)) {
					print_error("table %s is in %s only\n", tx->name, store);
					bad++;
				}
				continue;
			}
			for (int j = 0; j < tx->ncols; j++)
				if (!has_column(ty, tx->cols[j]) &&
				    !listed(tx->name, tx->cols[j], store, seen)) {
					print_error("column %s.%s is in %s only\n", tx->name,
					            tx->cols[j], store);
					bad++;
				}
		}
	}
	for (size_t i = 0; i < N_DIFFER; i++)
		if (!seen[i]) {
			print_error(
			    "listed difference %s%s%s (%s only) is no longer there: take it off\n",
			    differ[i].table, differ[i].column ? "." : "",
			    differ[i].column ? differ[i].column : "", differ[i].only_in);
			bad++;
		}
	print_message("compared %d SQLite tables with %d PostgreSQL tables\n", a->n, b->n);
	free(a);
	free(b);
	assert_int_equal(bad, 0);
}

/* Every PostgreSQL table with a school_id is under row-level security, forced, with a policy:
 * a table described in portable SQL but given no @pg block for its policy would be open to
 * every school. */
static void pg_school_tables_guarded(void **state)
{
	const char *dsn = getenv("WARD_TEST_PG_DSN");
	PGconn *c;
	PGresult *r;
	(void)state;
	assert_non_null(dsn);
	c = PQconnectdb(dsn);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	r = PQexec(c, "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,"
	              " (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)"
	              " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
	              " WHERE n.nspname = 'public' AND c.relkind = 'r' AND EXISTS (SELECT 1"
	              " FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'school_id'"
	              " AND NOT a.attisdropped) ORDER BY 1");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_true(PQntuples(r) >= 10);
	for (int i = 0; i < PQntuples(r); i++)
		if (strcmp(PQgetvalue(r, i, 1), "t") || strcmp(PQgetvalue(r, i, 2), "t") ||
		    !strcmp(PQgetvalue(r, i, 3), "0"))
			fail_msg(
			    "%s has a school_id but no forced row-level security with a policy",
			    PQgetvalue(r, i, 0));
	print_message("%d tables with a school_id, each under row-level security\n", PQntuples(r));
	PQclear(r);
	PQfinish(c);
}

int main(void)
{
	const char *dsn = getenv("WARD_TEST_PG_DSN");
	const struct CMUnitTest sqlite_only[] = {
	    cmocka_unit_test(sqlite_fresh),
	    cmocka_unit_test(sqlite_reopen),
	};
	const struct CMUnitTest both[] = {
	    cmocka_unit_test(sqlite_fresh),
	    cmocka_unit_test(sqlite_reopen),
	    cmocka_unit_test(sqlite_and_pg_agree),
	    cmocka_unit_test(pg_school_tables_guarded),
	};
	/* The comparison runs only with a database to compare against (a skip reads as a failure
	 * to tests/run.sh's TAP count). */
	if (dsn && *dsn)
		return cmocka_run_group_tests(both, setup, teardown);
	return cmocka_run_group_tests(sqlite_only, setup, teardown);
}
