/* store_pg.h: what the PostgreSQL store's files share.  store_pg.c holds the connection pool,
 * the core tables, the migration runner and the audit chain; a feature keeps its tables,
 * migrations and functions in a store_pg_<feature>.c of its own, describes them with a
 * pg_schema and is listed in pg_schemas (store_pg.c).
 *
 * Every call runs in one transaction on a pooled connection whose first statement sets the
 * transaction-local setting ward.school (SET LOCAL through set_config): the row-level security
 * policies read it, and the pooled connections run as the role ward_service, which owns no
 * table, so a query that leaves out its school condition still sees one school's rows only.
 * A write transaction locks the audit chain's head row first (pg_begin with write set): that
 * serialises writers across every wardd process on the database, as BEGIN IMMEDIATE does for
 * SQLite, and COMMIT returns only once the commit is durable (synchronous_commit = on). */
#ifndef WARDD_STORE_PG_H
#define WARDD_STORE_PG_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "store.h"

#define PG_POOL      8
#define PG_MAX_ARGS  20
#define PG_ALL       (-1) /* school argument of pg_begin: every school (lookups by secret) */
#define PG_ROLE      "ward_service"
#define PG_SCHOOLS_MAX 4096 /* the longest school list a transaction may be set to */
#define PG_GC_MAX    512  /* the most audited reads' entries one group commit takes */

#define PG_PREPARED  128 /* statements a connection keeps prepared (the rest run unnamed) */

typedef struct pg_conn {
	PGconn *c;
	int64_t seq;                     /* the audit chain's head, read under its lock */
	unsigned char head[SRV_HASH_LEN];
	int write;
	char state[6]; /* SQLSTATE of the last failure */
	/* Statements prepared on this session, named "w" and their slot, found by their text:
	 * parsed and planned once, not on every call.  Forgotten when the session ends. */
	int n_prep;
	uint64_t prep_hash[PG_PREPARED];
	char *prep_sql[PG_PREPARED];
} pg_conn;

typedef struct pg_audit_req pg_audit_req;

typedef struct pg_store {
	srv_store base;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char dsn[512];
	pg_conn conns[PG_POOL];
	int idle[PG_POOL], n_idle;
	/* Group commit of audited reads' entries (pg_audit_append): the leader commits on a
	 * connection of its own, starting from the head this process last saw committed
	 * (head_*, under gc_mu), in one round trip while no other writer moved it. */
	pthread_mutex_t gc_mu;
	pthread_cond_t gc_cv;
	pg_audit_req *gc_head, **gc_tail;
	int gc_leader;
	pg_conn gc_conn;
	int head_known;
	int64_t head_seq;
	unsigned char head_hash[SRV_HASH_LEN];
} pg_store;

/* Parameters of one statement: text values, or binary for bytea. */
typedef struct pg_args {
	int n;
	const char *v[PG_MAX_ARGS];
	int len[PG_MAX_ARGS], fmt[PG_MAX_ARGS];
	char num[PG_MAX_ARGS][24];
} pg_args;

/* A feature's schema: one SQL string per version, never edited once shipped. */
typedef struct pg_schema {
	const char *module;
	const char *const *steps;
	size_t n;
	void (*attach)(pg_store *s);
} pg_schema;

void pg_arg_i64(pg_args *a, int64_t v);
void pg_arg_str(pg_args *a, const char *v); /* NULL: SQL NULL */
void pg_arg_blob(pg_args *a, const void *p, size_t n);

/* Takes a pooled connection and begins a transaction for school (PG_ALL: every school); with
 * write set, locks the audit chain's head.  NULL with s->base.err set. */
pg_conn *pg_begin(pg_store *s, int64_t school, int write);
/* A read transaction for several schools at once (schools: ids with commas), as a trust's
 * lead reads. */
pg_conn *pg_begin_schools(pg_store *s, const char *schools);
/* Commits when rc is WARD_OK (a failed COMMIT turns rc into WARD_EIO), else rolls back; gives
 * the connection back.  Returns rc. */
ward_status pg_end(pg_store *s, pg_conn *c, ward_status rc);
/* A read on its own: its transaction for school (PG_ALL: every school) and the query in one
 * round trip (pipeline mode).  The result is the caller's to PQclear; NULL on failure. */
PGresult *pg_read(pg_store *s, int64_t school, const char *sql, const pg_args *args);
/* Runs sql with args (may be NULL).  The result is the caller's to PQclear; NULL on failure
 * with s->base.err and c->state set. */
PGresult *pg_q(pg_store *s, pg_conn *c, const char *sql, const pg_args *args);
/* Runs a statement that returns no rows; *changed (may be NULL) gets the rows it touched. */
ward_status pg_cmd(pg_store *s, pg_conn *c, const char *sql, const pg_args *args, int64_t *changed);
/* Appends an audit entry chained to the head, inside a write transaction. */
ward_status pg_audit(pg_store *s, pg_conn *c, const srv_audit_in *in, const unsigned char *digest);

int64_t pg_i64(const PGresult *r, int row, int col);
void pg_text(char *dst, size_t cap, const PGresult *r, int row, int col);
/* A bytea column of exactly n bytes into dst (zeros otherwise). */
void pg_blob_fixed(unsigned char *dst, size_t n, const PGresult *r, int row, int col);
/* A bytea column copied to a new buffer (*out the caller's to free). */
ward_status pg_blob_dup(const PGresult *r, int row, int col, unsigned char **out, size_t *n);
/* Whether the last failure on c was a constraint violation (class 23). */
int pg_conflict(const pg_conn *c);
/* Inserts a concern version and its audit entry inside c's write transaction (core's
 * concern_put and the alert promotion share it). */
ward_status pg_concern_insert(pg_store *s, pg_conn *c, const srv_concern *cn,
                              const srv_audit_in *a);

/* Opens the PostgreSQL store at dsn (a libpq connection string), running its migrations as the
 * connecting role; *out freed with (*out)->ops->close. */
ward_status srv_store_pg_open(const char *dsn, srv_store **out);

/* What srv_store_pg_import did. */
typedef struct srv_import_result {
	int64_t rows;     /* rows copied (audit entries included) */
	int remapped;     /* 0: copied as it was into an empty service; 1: given fresh ids */
	int64_t import_id; /* remapped: the origin chain's number in audit_origin */
	int64_t origin_seq, entries, first_seq; /* its head seq, entries, first live seq */
	unsigned char origin_hash[SRV_HASH_LEN]; /* its head hash */
} srv_import_result;

/* Copies the SQLite database at sqlite_path (its key school_key) into the PostgreSQL database
 * at dsn, in one transaction: all or nothing.  Into an empty service (no audit entry) every
 * row as it is, ids and chain kept; otherwise with fresh ids, sealed fields sealed again under
 * service_key (required then), the chain appended to the service's and kept verbatim in
 * audit_origin (store_pg_import.c).  Refused when a school of the same name is there.  On
 * failure msg (capacity cap) says why. */
ward_status srv_store_pg_import(const char *sqlite_path, const char *dsn,
                                const unsigned char *school_key,
                                const unsigned char *service_key, char *msg, size_t cap,
                                srv_import_result *res);

#endif
