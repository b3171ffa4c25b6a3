/* store_sqlite.h: what the SQLite store's files share.  store_sqlite.c holds the connection,
 * the core tables and the migration runner; a feature keeps its tables, migrations and
 * functions in a store_sqlite_<feature>.c of its own, describes them with an sq_schema and is
 * listed in sq_schemas (store_sqlite.c).  Every function below expects the mutex held when it
 * touches the database; writes run inside BEGIN IMMEDIATE ... COMMIT so a 201 means committed. */
#ifndef WARDD_STORE_SQLITE_H
#define WARDD_STORE_SQLITE_H

#include <pthread.h>
#include <stddef.h>

#include <sqlite3.h>

#include "store.h"

#define SQ_CACHE 32

typedef struct sq_audit_req sq_audit_req;

typedef struct sq_store {
	srv_store base;
	sqlite3 *db;
	pthread_mutex_t mu; /* one connection, one caller at a time */
	/* Prepared statements of the hot paths, keyed by the SQL string's address (sq_cached). */
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cache[SQ_CACHE];
	/* Group commit of audit entries appended outside a write (audited reads): callers queue
	 * their entry and wait; one of them commits everything queued in one transaction. */
	pthread_mutex_t gc_mu;
	pthread_cond_t gc_cv;
	sq_audit_req *gc_head, **gc_tail;
	int gc_leader;
	/* Read-only connections for the hot reads (sessions, accounts, concerns), so that they do
	 * not wait behind a commit's fsync on the writer's connection (WAL readers). */
	struct sq_readers *readers;
	/* Checkpoints run on a thread of their own, not inside a commit that happens to cross
	 * the WAL's size threshold (that commit's answer would wait for them). */
	pthread_t ckpt_thread;
	pthread_mutex_t ckpt_mu;
	pthread_cond_t ckpt_cv;
	int ckpt_running, ckpt_stop;
	char *path;
} sq_store;

/* A feature's schema: its migrations, one string per version, never edited once shipped,
 * and attach, which fills in the feature's table of functions on the store. */
typedef struct sq_schema {
	const char *module;
	const char *const *steps;
	size_t n;
	void (*attach)(sq_store *s);
} sq_schema;

/* Sets s->base.err to "what: SQLite's message". */
void sq_set_err(sq_store *s, const char *what);
/* Runs sql (may be several statements); WARD_EIO with the error in s->base.err. */
ward_status sq_exec(sq_store *s, const char *sql);
/* Prepares sql; the statement is the caller's to finalise.  NULL with the error set. */
sqlite3_stmt *sq_prep(sq_store *s, const char *sql);
/* The cached statement for sql, which must be a string literal (its address is the key); give
 * it back with sq_release, never finalise it.  NULL with the error set. */
sqlite3_stmt *sq_cached(sq_store *s, const char *sql);
void sq_release(sqlite3_stmt *st);
/* Copies a text column (empty when NULL) / a blob column of exactly n bytes (else zeros). */
void sq_copy_col(char *dst, size_t cap, sqlite3_stmt *st, int col);
void sq_copy_blob(unsigned char *dst, size_t n, sqlite3_stmt *st, int col);
/* Appends an audit entry chained to the last; inside the caller's transaction.  digest (may be
 * NULL: all zero) is BLAKE2b over the row the action wrote, so audit verify can check it. */
ward_status sq_audit_locked(sq_store *s, const srv_audit_in *in, const unsigned char *digest);

/* Inserts concern version c (id, version, created set) and its audit entry, inside the
 * caller's transaction (the core's concern_put and casework's close share it). */
ward_status sq_concern_insert_locked(sq_store *s, const srv_concern *c, const srv_audit_in *a);

#endif
