/* store_pg.c: the PostgreSQL store (libpq), for a trust or a local authority that runs many
 * schools in one service.  Same interface and promises as store_sqlite.c: each write and its
 * audit entry commit in one transaction, and COMMIT returns once the commit is durable
 * (synchronous_commit = on).  Separation between schools is enforced by the database as well
 * as by the handlers: see store_pg.h.  Nothing lives in one process only (sessions, the audit
 * chain's head and escalation claims are rows), so several wardd can share one database. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <sodium.h>

#include "schema.h"
#include "srv.h"
#include "store_pg.h"

/* The core schema's migrations are generated from server/schema/core.schema, with SQLite's (one
 * description for both stores: scripts/schema.awk).  The policies read ward.school, set per
 * transaction by pg_begin: a school id, a comma-separated list of them, or "all" for lookups by a
 * secret (session and service tokens) and for the chain-wide work of audit verify and the
 * escalation claim. */
static const pg_schema pg_schema_core = {"core", schema_pg_core, SCHEMA_CORE_VERSIONS, NULL};

extern const pg_schema pg_schema_alerts; /* store_pg_alerts.c */
extern const pg_schema pg_schema_cases;  /* store_pg_cases.c */
extern const pg_schema pg_schema_trust;  /* store_pg_trust.c */
extern const pg_schema pg_schema_pupil_report; /* store_pg_pupil_report.c */
extern const pg_schema pg_schema_throttle; /* store_pg_throttle.c */
extern const pg_schema pg_schema_import;   /* store_pg_import.c */
static const pg_schema *const pg_schemas[] = {
    &pg_schema_core,
    &pg_schema_alerts,
    &pg_schema_cases,
    &pg_schema_trust,
    &pg_schema_pupil_report,
    &pg_schema_throttle,
    &pg_schema_import,
    NULL,
};

/* ---- parameters and columns ---- */

void pg_arg_i64(pg_args *a, int64_t v)
{
	if (a->n >= PG_MAX_ARGS)
		abort();
	snprintf(a->num[a->n], sizeof a->num[a->n], "%lld", (long long)v);
	a->v[a->n] = a->num[a->n];
	a->len[a->n] = 0;
	a->fmt[a->n++] = 0;
}

void pg_arg_str(pg_args *a, const char *v)
{
	if (a->n >= PG_MAX_ARGS)
		abort();
	a->v[a->n] = v;
	a->len[a->n] = 0;
	a->fmt[a->n++] = 0;
}

void pg_arg_blob(pg_args *a, const void *p, size_t n)
{
	if (a->n >= PG_MAX_ARGS)
		abort();
	a->v[a->n] = p ? (const char *)p : "";
	a->len[a->n] = (int)n;
	a->fmt[a->n++] = 1;
}

int64_t pg_i64(const PGresult *r, int row, int col)
{
	const char *v = PQgetvalue(r, row, col);
	if (v && (v[0] == 't' || v[0] == 'f') && v[1] == '\0')
		return v[0] == 't';
	return v ? strtoll(v, NULL, 10) : 0;
}

void pg_text(char *dst, size_t cap, const PGresult *r, int row, int col)
{
	const char *v = PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);
	snprintf(dst, cap, "%s", v);
}

ward_status pg_blob_dup(const PGresult *r, int row, int col, unsigned char **out, size_t *n)
{
	size_t len = 0;
	unsigned char *u = NULL;
	*out = NULL;
	*n = 0;
	if (PQgetisnull(r, row, col))
		return WARD_ENOENT;
	u = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), &len);
	if (!u)
		return WARD_ENOMEM;
	*out = malloc(len > 0 ? len : 1);
	if (*out) {
		memcpy(*out, u, len);
		*n = len;
	}
	sodium_memzero(u, len);
	PQfreemem(u);
	return *out ? WARD_OK : WARD_ENOMEM;
}

void pg_blob_fixed(unsigned char *dst, size_t n, const PGresult *r, int row, int col)
{
	unsigned char *b = NULL;
	size_t len = 0;
	memset(dst, 0, n);
	if (pg_blob_dup(r, row, col, &b, &len) == WARD_OK && len == n)
		memcpy(dst, b, n);
	free(b);
}

int pg_conflict(const pg_conn *c)
{
	return c->state[0] == '2' && c->state[1] == '3';
}

static void set_err(pg_store *s, pg_conn *c, const PGresult *r, const char *what)
{
	const char *m = r ? PQresultErrorMessage(r) : NULL;
	const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	if (!m || !*m)
		m = c && c->c ? PQerrorMessage(c->c) : "no connection";
	snprintf(s->base.err, sizeof s->base.err, "%s: %s", what, m);
	s->base.err[strcspn(s->base.err, "\n")] = '\0';
	if (c)
		snprintf(c->state, sizeof c->state, "%s", st ? st : "XX000");
}

/* ---- prepared statements: a connection's are found by their text ---- */

static uint64_t prep_hash(const char *sql)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)sql; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

/* The slot sql is prepared in on c, or -1. */
static int prep_find(const pg_conn *c, const char *sql, uint64_t h)
{
	for (int i = 0; i < c->n_prep; i++)
		if (c->prep_hash[i] == h && c->prep_sql[i] && strcmp(c->prep_sql[i], sql) == 0)
			return i;
	return -1;
}

/* Records sql as prepared in slot i (a copy; not recorded when out of memory, so only
 * prepared again under a new name). */
static void prep_note(pg_conn *c, int i, const char *sql, uint64_t h)
{
	c->prep_sql[i] = strdup(sql);
	c->prep_hash[i] = h;
}

/* Forgets c's prepared statements (its session is gone or going). */
static void prep_forget(pg_conn *c)
{
	for (int i = 0; i < c->n_prep; i++) {
		free(c->prep_sql[i]);
		c->prep_sql[i] = NULL;
	}
	c->n_prep = 0;
}

/* Runs sql on c as a prepared statement (typ: the parameters' types, or NULL to infer them),
 * preparing it the first time on this session (one round trip more, once), or unnamed when c
 * has no slot left.  The result is the caller's, whatever its status; NULL when preparing
 * failed (s->base.err and c->state set). */
static PGresult *exec_prep(pg_store *s, pg_conn *c, const char *sql, int n, const Oid *typ,
                           const char *const *v, const int *len, const int *fmt)
{
	PGresult *r;
	char name[16];
	uint64_t h = prep_hash(sql);
	int k = prep_find(c, sql, h);
	if (k < 0 && c->n_prep < PG_PREPARED) {
		k = c->n_prep++;
		snprintf(name, sizeof name, "w%d", k);
		r = PQprepare(c->c, name, sql, typ ? n : 0, typ);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			set_err(s, c, r, "postgres");
			PQclear(r);
			return NULL;
		}
		PQclear(r);
		prep_note(c, k, sql, h);
	}
	if (k < 0)
		return PQexecParams(c->c, sql, n, typ, v, len, fmt, 0);
	snprintf(name, sizeof name, "w%d", k);
	return PQexecPrepared(c->c, name, n, v, len, fmt, 0);
}

PGresult *pg_q(pg_store *s, pg_conn *c, const char *sql, const pg_args *a)
{
	PGresult *r = exec_prep(s, c, sql, a ? a->n : 0, NULL, a ? a->v : NULL, a ? a->len : NULL,
	                        a ? a->fmt : NULL);
	if (!r)
		return NULL;
	ExecStatusType t = PQresultStatus(r);
	if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK) {
		set_err(s, c, r, "postgres");
		PQclear(r);
		return NULL;
	}
	return r;
}

ward_status pg_cmd(pg_store *s, pg_conn *c, const char *sql, const pg_args *a, int64_t *changed)
{
	PGresult *r = pg_q(s, c, sql, a);
	if (!r)
		return pg_conflict(c) ? WARD_EINVAL : WARD_EIO;
	if (changed)
		*changed = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return WARD_OK;
}

/* Runs sql (several statements allowed, no parameters). */
static ward_status pg_exec(pg_store *s, pg_conn *c, const char *sql)
{
	PGresult *r = PQexec(c->c, sql);
	ward_status rc = WARD_OK;
	ExecStatusType t = PQresultStatus(r);
	if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK) {
		set_err(s, c, r, "postgres");
		rc = WARD_EIO;
	}
	PQclear(r);
	return rc;
}

/* ---- the pool ---- */

/* A new session: durable commits, and the service role, which owns no table, so the
 * policies apply to every query (a superuser or a table owner would pass them by). */
static ward_status conn_open(pg_store *s, pg_conn *c)
{
	prep_forget(c);
	if (c->c)
		PQfinish(c->c);
	c->c = PQconnectdb(s->dsn);
	if (PQstatus(c->c) != CONNECTION_OK) {
		set_err(s, c, NULL, "connect");
		PQfinish(c->c);
		c->c = NULL;
		return WARD_EIO;
	}
	if (pg_exec(s, c,
	            "SET synchronous_commit = on; SET application_name = 'wardd';"
	            " SET ROLE " PG_ROLE) != WARD_OK) {
		PQfinish(c->c);
		c->c = NULL;
		return WARD_EIO;
	}
	return WARD_OK;
}

static void head_note(pg_store *s, int64_t seq, const unsigned char *hash);

static pg_conn *take(pg_store *s)
{
	pg_conn *c;
	pthread_mutex_lock(&s->mu);
	while (s->n_idle == 0)
		pthread_cond_wait(&s->cv, &s->mu);
	c = &s->conns[s->idle[--s->n_idle]];
	pthread_mutex_unlock(&s->mu);
	if (!c->c || PQstatus(c->c) != CONNECTION_OK) {
		if (conn_open(s, c) != WARD_OK) {
			pthread_mutex_lock(&s->mu);
			s->idle[s->n_idle++] = (int)(c - s->conns);
			pthread_cond_signal(&s->cv);
			pthread_mutex_unlock(&s->mu);
			return NULL;
		}
	}
	return c;
}

static void give(pg_store *s, pg_conn *c)
{
	pthread_mutex_lock(&s->mu);
	s->idle[s->n_idle++] = (int)(c - s->conns);
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* Begins with ward.school set to schools ("all", or ids with commas; checked here, since it
 * is written into the statement). */
static pg_conn *begin_with(pg_store *s, const char *schools, int write)
{
	char sql[PG_SCHOOLS_MAX + 160];
	pg_conn *c;
	if (strlen(schools) >= PG_SCHOOLS_MAX ||
	    (strcmp(schools, "all") != 0 && strspn(schools, "0123456789,-") != strlen(schools))) {
		snprintf(s->base.err, sizeof s->base.err, "a school list wardd cannot use");
		return NULL;
	}
	c = take(s);
	if (!c)
		return NULL;
	c->write = write;
	c->state[0] = '\0';
	/* A writer locks and reads the head in the same round trip (PQexec answers with the last
	 * statement's result, or the first failure's). */
	snprintf(sql, sizeof sql, "BEGIN; SELECT set_config('ward.school', '%s', true)%s", schools,
	         write ? "; SELECT seq, hash FROM audit_head WHERE one = 1 FOR UPDATE" : "");
	if (!write) {
		if (pg_exec(s, c, sql) != WARD_OK)
			goto fail;
	} else {
		PGresult *r = PQexec(c->c, sql);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			set_err(s, c, r, "postgres");
			PQclear(r);
			goto fail;
		}
		if (PQntuples(r) != 1) {
			PQclear(r);
			snprintf(s->base.err, sizeof s->base.err, "the audit chain has no head row");
			goto fail;
		}
		c->seq = pg_i64(r, 0, 0);
		pg_blob_fixed(c->head, SRV_HASH_LEN, r, 0, 1);
		PQclear(r);
	}
	return c;
fail:
	pg_exec(s, c, "ROLLBACK");
	give(s, c);
	return NULL;
}

pg_conn *pg_begin(pg_store *s, int64_t school, int write)
{
	char list[24];
	if (school == PG_ALL)
		return begin_with(s, "all", write);
	snprintf(list, sizeof list, "%lld", (long long)school);
	return begin_with(s, list, write);
}

pg_conn *pg_begin_schools(pg_store *s, const char *schools)
{
	return begin_with(s, schools, 0);
}

/* One statement of a pipeline (pipe_run). */
typedef struct pipe_stmt {
	const char *sql;
	int n;
	const Oid *typ;
	const char *const *v;
	const int *len, *fmt;
	int prep; /* run as a prepared statement (prepared in the same pipeline the first time) */
} pipe_stmt;

/* Sends the n statements of st in pipeline mode, in one round trip, and reads their results;
 * st[keep]'s (keep < 0: none) becomes the caller's in *out, to PQclear.  A COMMIT among them
 * must answer COMMIT.  On failure s->base.err and c->state say why, and the connection is left
 * out of any transaction, or closed when it is broken (the next taker opens a new one). */
static ward_status pipe_run(pg_store *s, pg_conn *c, const pipe_stmt *st, int n, int keep,
                            PGresult **out)
{
	PGresult *kept = NULL;
	int failed = 0, broken = 0;
	int slot[8];     /* st[i]'s prepared statement, or -1 */
	int fresh[8];    /* 1: prepared in this pipeline (a result of its own comes first) */
	uint64_t h[8];
	char name[16];
	if (n > 8)
		abort();
	c->state[0] = '\0';
	if (!PQenterPipelineMode(c->c))
		broken = 1;
	for (int i = 0; i < n && !broken; i++) {
		slot[i] = -1;
		fresh[i] = 0;
		if (st[i].prep) {
			h[i] = prep_hash(st[i].sql);
			slot[i] = prep_find(c, st[i].sql, h[i]);
			if (slot[i] < 0 && c->n_prep < PG_PREPARED) {
				slot[i] = c->n_prep++;
				fresh[i] = 1;
				snprintf(name, sizeof name, "w%d", slot[i]);
				if (!PQsendPrepare(c->c, name, st[i].sql, st[i].typ ? st[i].n : 0,
				                   st[i].typ))
					broken = 1;
			}
		}
		if (broken)
			break;
		if (slot[i] >= 0) {
			snprintf(name, sizeof name, "w%d", slot[i]);
			if (!PQsendQueryPrepared(c->c, name, st[i].n, st[i].v, st[i].len, st[i].fmt, 0))
				broken = 1;
		} else if (!PQsendQueryParams(c->c, st[i].sql, st[i].n, st[i].typ, st[i].v,
		                              st[i].len, st[i].fmt, 0)) {
			broken = 1;
		}
	}
	if (!broken && !PQpipelineSync(c->c))
		broken = 1;
	/* One result per statement, after its preparation's when it was prepared here (each
	 * followed by a NULL), then the sync; after a failure the rest come back aborted. */
	for (int k = 0, preparing = n > 0 && fresh[0]; !broken;) {
		PGresult *r = PQgetResult(c->c);
		if (!r) {
			if (PQstatus(c->c) != CONNECTION_OK)
				broken = 1;
			continue;
		}
		ExecStatusType t = PQresultStatus(r);
		if (t == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			break;
		}
		if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK) {
			if (!failed && t != PGRES_PIPELINE_ABORTED)
				set_err(s, c, r, "postgres");
			failed = 1;
			PQclear(r);
		} else if (preparing) {
			prep_note(c, slot[k], st[k].sql, h[k]);
			PQclear(r);
		} else if (k < n && strcmp(st[k].sql, "COMMIT") == 0 &&
		           strcmp(PQcmdStatus(r), "COMMIT") != 0) {
			set_err(s, c, r, "commit");
			failed = 1;
			PQclear(r);
		} else if (k == keep) {
			kept = r;
		} else {
			PQclear(r);
		}
		if (preparing) {
			preparing = 0;
		} else {
			k++;
			preparing = k < n && fresh[k];
		}
	}
	if (broken) {
		set_err(s, c, NULL, "postgres");
		PQfinish(c->c);
		c->c = NULL;
		prep_forget(c);
		failed = 1;
	} else {
		PQexitPipelineMode(c->c);
		if (failed && PQtransactionStatus(c->c) != PQTRANS_IDLE)
			PQclear(PQexec(c->c, "ROLLBACK"));
	}
	if (failed) {
		PQclear(kept);
		kept = NULL;
	}
	if (out)
		*out = kept;
	else
		PQclear(kept);
	return failed ? WARD_EIO : WARD_OK;
}

/* One read in its own transaction, in one round trip: the school setting and the query go down
 * together in pipeline mode, where the statements before the sync share one implicit
 * transaction, so the setting (local to it) holds for the query and is gone after it, as with
 * BEGIN and COMMIT, two statements fewer.  The result is the caller's; NULL on failure. */
PGresult *pg_read(pg_store *s, int64_t school, const char *sql, const pg_args *a)
{
	char who[24];
	const char *sv[1] = {who};
	PGresult *out = NULL;
	pg_conn *c = take(s);
	if (!c)
		return NULL;
	if (school == PG_ALL)
		snprintf(who, sizeof who, "all");
	else
		snprintf(who, sizeof who, "%lld", (long long)school);
	const pipe_stmt st[] = {
	    {"SELECT set_config('ward.school', $1, true)", 1, NULL, sv, NULL, NULL, 1},
	    {sql, a ? a->n : 0, NULL, a ? a->v : NULL, a ? a->len : NULL, a ? a->fmt : NULL, 1},
	};
	pipe_run(s, c, st, 2, 1, &out);
	give(s, c);
	return out;
}

ward_status pg_end(pg_store *s, pg_conn *c, ward_status rc)
{
	if (!c)
		return rc;
	if (rc == WARD_OK) {
		PGresult *r = PQexec(c->c, "COMMIT");
		if (PQresultStatus(r) != PGRES_COMMAND_OK || strcmp(PQcmdStatus(r), "COMMIT") != 0) {
			set_err(s, c, r, "commit");
			rc = WARD_EIO;
		} else if (c->write) {
			head_note(s, c->seq, c->head);
		}
		PQclear(r);
	} else {
		PQclear(PQexec(c->c, "ROLLBACK"));
	}
	give(s, c);
	return rc;
}

/* ---- the audit chain ---- */

#define OID_INT8  20
#define OID_TEXT  25
#define OID_BYTEA 17

/* Entry seq, chained after prev. */
static void chain_entry(srv_audit *a, int64_t seq, const unsigned char *prev,
                        const srv_audit_in *in, const unsigned char *digest, int64_t at)
{
	memset(a, 0, sizeof *a);
	a->seq = seq;
	memcpy(a->prev, prev, SRV_HASH_LEN);
	a->school_id = in->school_id;
	a->actor_id = in->actor_id;
	a->at = at;
	snprintf(a->action, sizeof a->action, "%s", in->action ? in->action : "");
	snprintf(a->target, sizeof a->target, "%s", in->target ? in->target : "");
	snprintf(a->source, sizeof a->source, "%s", in->source ? in->source : "");
	if (digest)
		memcpy(a->digest, digest, SRV_HASH_LEN);
	srv_audit_hash(a, a->hash);
}

/* One statement that appends n chained entries and moves the head from (seq, hash) to the last
 * of them, but only if the head is still (seq, hash) once its row is locked: otherwise it
 * inserts and changes nothing (0 rows).  So an append may be sent with a head read before, in
 * the same round trip as its BEGIN and COMMIT; a writer that moved the head in between makes
 * it a no-op, never a fork of the chain. */
typedef struct chain_stmt {
	char *sql;
	int n; /* parameters */
	const char **v;
	int *len, *fmt;
	Oid *typ;
	char (*num)[24];
} chain_stmt;

static void chain_stmt_free(chain_stmt *st)
{
	free(st->sql);
	free(st->v);
	free(st->len);
	free(st->fmt);
	free(st->typ);
	free(st->num);
	memset(st, 0, sizeof *st);
}

static void chain_param(chain_stmt *st, Oid typ, const void *p, int len)
{
	st->v[st->n] = p;
	st->len[st->n] = len;
	st->fmt[st->n] = typ == OID_BYTEA;
	st->typ[st->n++] = typ;
}

static void chain_i64(chain_stmt *st, int64_t v)
{
	snprintf(st->num[st->n], sizeof st->num[st->n], "%lld", (long long)v);
	chain_param(st, OID_INT8, st->num[st->n], 0);
}

/* rows[0..n) must chain on from (seq, hash); they stay the caller's and must outlive st. */
static ward_status chain_stmt_build(chain_stmt *st, int64_t seq, const unsigned char *hash,
                                    const srv_audit *rows, int n)
{
	size_t np = 4 + 10 * (size_t)n, cap = 512 + 96 * (size_t)n, used;
	memset(st, 0, sizeof *st);
	st->sql = malloc(cap);
	st->v = calloc(np, sizeof *st->v);
	st->len = calloc(np, sizeof *st->len);
	st->fmt = calloc(np, sizeof *st->fmt);
	st->typ = calloc(np, sizeof *st->typ);
	st->num = calloc(np, sizeof *st->num);
	if (!st->sql || !st->v || !st->len || !st->fmt || !st->typ || !st->num || n < 1) {
		chain_stmt_free(st);
		return WARD_ENOMEM;
	}
	chain_i64(st, rows[n - 1].seq);
	chain_param(st, OID_BYTEA, rows[n - 1].hash, SRV_HASH_LEN);
	chain_i64(st, seq);
	chain_param(st, OID_BYTEA, hash, SRV_HASH_LEN);
	used = (size_t)snprintf(st->sql, cap, "%s",
	                        "WITH h AS (UPDATE audit_head SET seq = $1, hash = $2"
	                        " WHERE one = 1 AND seq = $3 AND hash = $4 RETURNING one)"
	                        " INSERT INTO audit (seq, school_id, actor_id, at, action, target,"
	                        " source, digest, prev, hash) SELECT * FROM (VALUES ");
	for (int i = 0; i < n; i++) {
		const srv_audit *a = &rows[i];
		int b = st->n + 1;
		chain_i64(st, a->seq);
		chain_i64(st, a->school_id);
		chain_i64(st, a->actor_id);
		chain_i64(st, a->at);
		chain_param(st, OID_TEXT, a->action, 0);
		chain_param(st, OID_TEXT, a->target, 0);
		chain_param(st, OID_TEXT, a->source, 0);
		chain_param(st, OID_BYTEA, a->digest, SRV_HASH_LEN);
		chain_param(st, OID_BYTEA, a->prev, SRV_HASH_LEN);
		chain_param(st, OID_BYTEA, a->hash, SRV_HASH_LEN);
		used += (size_t)snprintf(st->sql + used, cap - used,
		                         "%s($%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d)", i ? "," : "", b,
		                         b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8, b + 9);
		if (used >= cap)
			abort(); /* cap is sized for the longest numbers */
	}
	used += (size_t)snprintf(st->sql + used, cap - used, ") AS v WHERE EXISTS (SELECT 1 FROM h)");
	if (used >= cap)
		abort();
	return WARD_OK;
}

/* What this process last saw committed as the chain's head, for the next group commit to
 * start from without reading it (s->gc_mu held by none of the callers). */
static void head_note(pg_store *s, int64_t seq, const unsigned char *hash)
{
	pthread_mutex_lock(&s->gc_mu);
	if (!s->head_known || seq > s->head_seq) {
		s->head_seq = seq;
		memcpy(s->head_hash, hash, SRV_HASH_LEN);
		s->head_known = 1;
	}
	pthread_mutex_unlock(&s->gc_mu);
}

static void head_forget(pg_store *s)
{
	pthread_mutex_lock(&s->gc_mu);
	s->head_known = 0;
	pthread_mutex_unlock(&s->gc_mu);
}

ward_status pg_audit(pg_store *s, pg_conn *c, const srv_audit_in *in, const unsigned char *digest)
{
	srv_audit a;
	chain_stmt st;
	PGresult *r;
	ward_status rc;
	if (!c->write) {
		snprintf(s->base.err, sizeof s->base.err, "audit outside a write transaction");
		return WARD_EINTERNAL;
	}
	chain_entry(&a, c->seq + 1, c->head, in, digest, (int64_t)time(NULL));
	rc = chain_stmt_build(&st, c->seq, c->head, &a, 1);
	if (rc != WARD_OK)
		return rc;
	r = exec_prep(s, c, st.sql, st.n, st.typ, st.v, st.len, st.fmt);
	chain_stmt_free(&st);
	if (!r) {
		rc = WARD_EIO;
	} else if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		set_err(s, c, r, "postgres");
		rc = WARD_EIO;
	} else if (strcmp(PQcmdTuples(r), "1") != 0) {
		/* the head is locked by this transaction: nobody else can have moved it */
		snprintf(s->base.err, sizeof s->base.err, "the audit chain's head moved under its lock");
		rc = WARD_EIO;
	}
	PQclear(r);
	if (rc != WARD_OK)
		return rc;
	c->seq = a.seq;
	memcpy(c->head, a.hash, SRV_HASH_LEN);
	return WARD_OK;
}

/* ---- migrations: all schemas in one transaction, under an advisory lock so two wardd
 * starting together migrate once ---- */

static ward_status migrate(pg_store *s)
{
	ward_status rc = WARD_EIO;
	pg_conn *c = &s->conns[0];
	PGconn *raw = PQconnectdb(s->dsn);
	if (PQstatus(raw) != CONNECTION_OK) {
		snprintf(s->base.err, sizeof s->base.err, "connect: %s", PQerrorMessage(raw));
		s->base.err[strcspn(s->base.err, "\n")] = '\0';
		PQfinish(raw);
		return WARD_EIO;
	}
	c->c = raw;
	if (pg_exec(s, c,
	            "SET client_min_messages = warning; BEGIN;"
	            " SELECT pg_advisory_xact_lock(7261001);"
	            " CREATE TABLE IF NOT EXISTS schema_versions (module text PRIMARY KEY,"
	            " version integer NOT NULL)") != WARD_OK)
		goto done;
	for (const pg_schema *const *sc = pg_schemas; *sc; sc++) {
		pg_args a = {0};
		PGresult *r;
		int v = 0;
		pg_arg_str(&a, (*sc)->module);
		r = pg_q(s, c, "SELECT version FROM schema_versions WHERE module = $1", &a);
		if (!r)
			goto done;
		if (PQntuples(r) == 1)
			v = (int)pg_i64(r, 0, 0);
		PQclear(r);
		if (v > (int)(*sc)->n) {
			snprintf(s->base.err, sizeof s->base.err,
			         "the %s schema is at version %d, newer than this wardd knows (%zu)",
			         (*sc)->module, v, (*sc)->n);
			rc = WARD_EUNSUPPORTED;
			goto done;
		}
		for (; v < (int)(*sc)->n; v++) {
			if (pg_exec(s, c, (*sc)->steps[v]) != WARD_OK)
				goto done;
			pg_args u = {0};
			pg_arg_str(&u, (*sc)->module);
			pg_arg_i64(&u, v + 1);
			if (pg_cmd(s, c,
			           "INSERT INTO schema_versions (module, version) VALUES ($1, $2)"
			           " ON CONFLICT (module) DO UPDATE SET version = excluded.version",
			           &u, NULL) != WARD_OK)
				goto done;
		}
	}
	rc = pg_exec(s, c, "COMMIT");
	if (rc == WARD_OK)
		for (const pg_schema *const *sc = pg_schemas; *sc; sc++)
			if ((*sc)->attach)
				(*sc)->attach(s);
done:
	if (rc != WARD_OK)
		PQclear(PQexec(raw, "ROLLBACK"));
	PQfinish(raw);
	c->c = NULL;
	prep_forget(c);
	return rc;
}

static void pg_close(srv_store *b)
{
	pg_store *s = (pg_store *)b;
	if (!s)
		return;
	for (int i = 0; i < PG_POOL; i++) {
		if (s->conns[i].c)
			PQfinish(s->conns[i].c);
		prep_forget(&s->conns[i]);
	}
	if (s->gc_conn.c)
		PQfinish(s->gc_conn.c);
	prep_forget(&s->gc_conn);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->gc_mu);
	pthread_cond_destroy(&s->gc_cv);
	sodium_memzero(s->dsn, sizeof s->dsn);
	free(s);
}

/* ---- schools and users ---- */

static ward_status pg_school_create(srv_store *b, const char *name, int64_t *id_out)
{
	pg_store *s = (pg_store *)b;
	ward_status rc = WARD_EIO;
	pg_args a = {0};
	PGresult *r;
	pg_conn *c = pg_begin(s, PG_ALL, 0);
	if (!c)
		return rc;
	pg_arg_str(&a, name);
	pg_arg_i64(&a, (int64_t)time(NULL));
	r = pg_q(s, c, "INSERT INTO schools (name, created) VALUES ($1, $2) RETURNING id", &a);
	if (r) {
		*id_out = pg_i64(r, 0, 0);
		rc = WARD_OK;
		PQclear(r);
	} else if (pg_conflict(c)) {
		rc = WARD_EINVAL;
	}
	return pg_end(s, c, rc);
}

/* One row of one column as an id: WARD_ENOENT when there is none. */
static ward_status one_id(pg_store *s, int64_t school, const char *sql, pg_args *a, int64_t *out)
{
	ward_status rc = WARD_EIO;
	PGresult *r = pg_read(s, school, sql, a);
	if (r) {
		rc = PQntuples(r) == 1 ? WARD_OK : WARD_ENOENT;
		if (rc == WARD_OK)
			*out = pg_i64(r, 0, 0);
		PQclear(r);
	}
	return rc;
}

static ward_status pg_school_find(srv_store *b, const char *name, int64_t *id_out)
{
	pg_args a = {0};
	pg_arg_str(&a, name);
	return one_id((pg_store *)b, PG_ALL, "SELECT id FROM schools WHERE name = $1", &a, id_out);
}

static ward_status pg_school_name(srv_store *b, int64_t id, char *out, size_t cap)
{
	pg_store *s = (pg_store *)b;
	ward_status rc = WARD_EIO;
	pg_args a = {0};
	PGresult *r;
	pg_arg_i64(&a, id);
	r = pg_read(s, id, "SELECT name FROM schools WHERE id = $1", &a);
	if (r) {
		rc = PQntuples(r) == 1 ? WARD_OK : WARD_ENOENT;
		if (rc == WARD_OK)
			pg_text(out, cap, r, 0, 0);
		PQclear(r);
	}
	return rc;
}

static ward_status pg_user_create(srv_store *b, const srv_user *u, const srv_audit_in *a,
                                  int64_t *id_out)
{
	pg_store *s = (pg_store *)b;
	ward_status rc = WARD_EIO;
	pg_args p = {0};
	PGresult *r;
	pg_conn *c = pg_begin(s, u->school_id, 1);
	if (!c)
		return rc;
	pg_arg_i64(&p, u->school_id);
	pg_arg_str(&p, u->username);
	pg_arg_str(&p, u->pwhash);
	pg_arg_str(&p, srv_role_name(u->role));
	pg_arg_i64(&p, (int64_t)time(NULL));
	r = pg_q(s, c,
	         "INSERT INTO users (school_id, username, pwhash, role, created)"
	         " VALUES ($1,$2,$3,$4,$5) RETURNING id",
	         &p);
	if (!r) {
		rc = pg_conflict(c) ? WARD_EINVAL : WARD_EIO;
	} else {
		char target[64];
		srv_audit_in in = *a;
		*id_out = pg_i64(r, 0, 0);
		PQclear(r);
		snprintf(target, sizeof target, "user/%lld", (long long)*id_out);
		in.target = target;
		rc = pg_audit(s, c, &in, NULL);
	}
	return pg_end(s, c, rc);
}

#define USER_COLS                                                                                  \
	"SELECT id, school_id, username, pwhash, role, disabled, (totp_secret IS NOT NULL)::int "  \
	"FROM users "

static void user_row(const PGresult *r, int i, srv_user *u)
{
	char role[32];
	memset(u, 0, sizeof *u);
	u->id = pg_i64(r, i, 0);
	u->school_id = pg_i64(r, i, 1);
	pg_text(u->username, sizeof u->username, r, i, 2);
	pg_text(u->pwhash, sizeof u->pwhash, r, i, 3);
	pg_text(role, sizeof role, r, i, 4);
	u->role = (srv_role)srv_role_from_name(role);
	u->disabled = (int)pg_i64(r, i, 5);
	u->totp_enrolled = (int)pg_i64(r, i, 6);
}

static ward_status user_one(pg_store *s, int64_t school, const char *sql, pg_args *a,
                            srv_user *out)
{
	ward_status rc = WARD_EIO;
	PGresult *r = pg_read(s, school, sql, a);
	if (r) {
		rc = WARD_ENOENT;
		if (PQntuples(r) == 1) {
			user_row(r, 0, out);
			rc = (int)out->role < 0 ? WARD_EINTERNAL : WARD_OK;
		}
		PQclear(r);
	}
	return rc;
}

static ward_status pg_user_get(srv_store *b, int64_t id, srv_user *out)
{
	pg_args a = {0};
	pg_arg_i64(&a, id);
	return user_one((pg_store *)b, PG_ALL, USER_COLS "WHERE id = $1", &a, out);
}

static ward_status pg_user_find(srv_store *b, int64_t school_id, const char *username,
                                srv_user *out)
{
	pg_args a = {0};
	pg_arg_i64(&a, school_id);
	pg_arg_str(&a, username);
	return user_one((pg_store *)b, school_id, USER_COLS "WHERE school_id = $1 AND username = $2",
	                &a, out);
}

static ward_status pg_user_list(srv_store *b, int64_t school_id, srv_user_cb cb, void *ctx)
{
	pg_store *s = (pg_store *)b;
	pg_args a = {0};
	PGresult *r;
	pg_arg_i64(&a, school_id);
	r = pg_read(s, school_id, USER_COLS "WHERE school_id = $1 ORDER BY id", &a);
	if (!r)
		return WARD_EIO;
	for (int i = 0; i < PQntuples(r); i++) {
		srv_user u;
		user_row(r, i, &u);
		if (cb(ctx, &u))
			break;
	}
	PQclear(r);
	return WARD_OK;
}

/* ---- sessions: rows, so any wardd on the database knows every session ---- */

static ward_status pg_session_put(srv_store *b, const srv_session *se)
{
	pg_store *s = (pg_store *)b;
	pg_args a = {0};
	pg_conn *c = pg_begin(s, se->school_id, 0);
	if (!c)
		return WARD_EIO;
	pg_arg_blob(&a, se->token_hash, SRV_HASH_LEN);
	pg_arg_i64(&a, se->school_id);
	pg_arg_i64(&a, se->user_id);
	pg_arg_str(&a, se->csrf);
	pg_arg_i64(&a, se->created);
	pg_arg_i64(&a, se->last_seen);
	pg_arg_i64(&a, se->enrol_only ? 1 : 0);
	return pg_end(s, c,
	              pg_cmd(s, c,
	                     "INSERT INTO sessions (token_hash, school_id, user_id, csrf, created,"
	                     " last_seen, enrol_only) VALUES ($1,$2,$3,$4,$5,$6,$7)",
	                     &a, NULL));
}

static ward_status pg_session_get(srv_store *b, const unsigned char *th, srv_session *out)
{
	pg_store *s = (pg_store *)b;
	ward_status rc = WARD_EIO;
	pg_args a = {0};
	PGresult *r;
	pg_arg_blob(&a, th, SRV_HASH_LEN);
	r = pg_read(s, PG_ALL,
	            "SELECT school_id, user_id, csrf, created, last_seen, enrol_only FROM sessions"
	            " WHERE token_hash = $1",
	            &a);
	if (!r)
		return rc;
	rc = WARD_ENOENT;
	if (PQntuples(r) == 1) {
		memset(out, 0, sizeof *out);
		memcpy(out->token_hash, th, SRV_HASH_LEN);
		out->school_id = pg_i64(r, 0, 0);
		out->user_id = pg_i64(r, 0, 1);
		pg_text(out->csrf, sizeof out->csrf, r, 0, 2);
		out->created = pg_i64(r, 0, 3);
		out->last_seen = pg_i64(r, 0, 4);
		out->enrol_only = (int)pg_i64(r, 0, 5);
		rc = WARD_OK;
	}
	PQclear(r);
	return rc;
}

static ward_status session_simple(pg_store *s, const char *sql, const unsigned char *th, int64_t v,
                                  int with_v)
{
	pg_args a = {0};
	pg_conn *c = pg_begin(s, PG_ALL, 0);
	if (!c)
		return WARD_EIO;
	pg_arg_blob(&a, th, SRV_HASH_LEN);
	if (with_v)
		pg_arg_i64(&a, v);
	return pg_end(s, c, pg_cmd(s, c, sql, &a, NULL));
}

/* last_seen need not wait for the disk: a touch lost in a crash only shortens the idle time
 * left, so this commit alone is asynchronous (every 201 still waits for its own). */
static ward_status pg_session_touch(srv_store *b, const unsigned char *th, int64_t now)
{
	pg_store *s = (pg_store *)b;
	pg_args a = {0};
	ward_status rc;
	pg_conn *c = pg_begin(s, PG_ALL, 0);
	if (!c)
		return WARD_EIO;
	rc = pg_exec(s, c, "SET LOCAL synchronous_commit = off");
	pg_arg_blob(&a, th, SRV_HASH_LEN);
	pg_arg_i64(&a, now);
	if (rc == WARD_OK)
		rc = pg_cmd(s, c, "UPDATE sessions SET last_seen = $2 WHERE token_hash = $1", &a, NULL);
	return pg_end(s, c, rc);
}

static ward_status pg_session_delete(srv_store *b, const unsigned char *th)
{
	return session_simple((pg_store *)b, "DELETE FROM sessions WHERE token_hash = $1", th, 0,
	                      0);
}

/* ---- concerns ---- */

/* Inserts version cn->version of concern cn and its audit entry, inside c's write
 * transaction (core's concern_put and the alert promotion share it). */
ward_status pg_concern_insert(pg_store *s, pg_conn *c, const srv_concern *cn,
                              const srv_audit_in *a)
{
	pg_args p = {0};
	char target[64];
	unsigned char digest[SRV_HASH_LEN];
	srv_audit_in in = *a;
	ward_status rc;
	pg_arg_i64(&p, cn->id);
	pg_arg_i64(&p, cn->version);
	pg_arg_i64(&p, cn->school_id);
	pg_arg_i64(&p, cn->reporter_id);
	pg_arg_i64(&p, cn->created);
	pg_arg_str(&p, cn->status);
	pg_arg_blob(&p, cn->payload, cn->payload_len);
	rc = pg_cmd(s, c,
	            "INSERT INTO concern_versions (concern_id, version, school_id, reporter_id,"
	            " created, status, payload) VALUES ($1,$2,$3,$4,$5,$6,$7)",
	            &p, NULL);
	if (rc != WARD_OK)
		return WARD_EIO;
	snprintf(target, sizeof target, "concern/%lld/v%lld", (long long)cn->id,
	         (long long)cn->version);
	in.target = target;
	srv_concern_digest(cn, digest);
	return pg_audit(s, c, &in, digest);
}

static ward_status pg_concern_put(srv_store *b, srv_concern *cn, const srv_audit_in *a)
{
	pg_store *s = (pg_store *)b;
	ward_status rc = WARD_EIO;
	PGresult *r = NULL;
	pg_args p = {0};
	pg_conn *c = pg_begin(s, cn->school_id, 1);
	if (!c)
		return rc;
	if (cn->id == 0) {
		r = pg_q(s, c, "SELECT nextval('concern_ids')", NULL);
		if (!r)
			goto done;
		cn->id = pg_i64(r, 0, 0);
		cn->version = 1;
	} else if (cn->version != 1) {
		pg_arg_i64(&p, cn->id);
		pg_arg_i64(&p, cn->school_id);
		r = pg_q(s, c,
		         "SELECT COALESCE(MAX(version), 0) FROM concern_versions"
		         " WHERE concern_id = $1 AND school_id = $2",
		         &p);
		if (!r)
			goto done;
		if (pg_i64(r, 0, 0) + 1 != cn->version) {
			snprintf(s->base.err, sizeof s->base.err,
			         "the concern has changed since version %lld",
			         (long long)cn->version - 1);
			rc = WARD_EINVAL;
			goto done;
		}
	}
	cn->created = (int64_t)time(NULL);
	rc = pg_concern_insert(s, c, cn, a);
done:
	PQclear(r);
	return pg_end(s, c, rc);
}

#define CONCERN_COLS                                                                               \
	"SELECT concern_id, version, school_id, reporter_id, created, status, payload FROM "       \
	"concern_versions "

static ward_status concern_row(const PGresult *r, int i, srv_concern *cn)
{
	memset(cn, 0, sizeof *cn);
	cn->id = pg_i64(r, i, 0);
	cn->version = pg_i64(r, i, 1);
	cn->school_id = pg_i64(r, i, 2);
	cn->reporter_id = pg_i64(r, i, 3);
	cn->created = pg_i64(r, i, 4);
	pg_text(cn->status, sizeof cn->status, r, i, 5);
	return pg_blob_dup(r, i, 6, &cn->payload, &cn->payload_len);
}

/* Runs a read in school's view and hands each concern row to cb. */
static ward_status concern_query(pg_store *s, int64_t school, const char *sql, pg_args *a,
                                 srv_concern_cb cb, void *ctx)
{
	ward_status rc = WARD_OK;
	PGresult *r = pg_read(s, school, sql, a);
	if (!r)
		return WARD_EIO;
	for (int i = 0; i < PQntuples(r) && rc == WARD_OK; i++) {
		srv_concern cn;
		rc = concern_row(r, i, &cn);
		if (rc != WARD_OK)
			break;
		int stop = cb(ctx, &cn);
		srv_concern_clear(&cn);
		if (stop)
			break;
	}
	PQclear(r);
	return rc;
}

static int take_first(void *ctx, const srv_concern *cn)
{
	srv_concern *out = ctx;
	*out = *cn;
	out->payload = malloc(cn->payload_len ? cn->payload_len : 1);
	if (out->payload && cn->payload_len)
		memcpy(out->payload, cn->payload, cn->payload_len);
	return 1;
}

static ward_status pg_concern_get(srv_store *b, int64_t school_id, int64_t id, srv_concern *cn)
{
	pg_args a = {0};
	ward_status rc;
	memset(cn, 0, sizeof *cn);
	pg_arg_i64(&a, id);
	pg_arg_i64(&a, school_id);
	rc = concern_query((pg_store *)b, school_id,
	                   CONCERN_COLS "WHERE concern_id = $1 AND school_id = $2"
	                                " ORDER BY version DESC LIMIT 1",
	                   &a, take_first, cn);
	if (rc == WARD_OK && !cn->id)
		rc = WARD_ENOENT;
	if (rc == WARD_OK && !cn->payload)
		rc = WARD_ENOMEM;
	return rc;
}

static ward_status pg_concern_list(srv_store *b, int64_t school_id, int64_t reporter_id,
                                   srv_concern_cb cb, void *ctx)
{
	pg_args a = {0};
	pg_arg_i64(&a, school_id);
	pg_arg_i64(&a, reporter_id);
	return concern_query(
	    (pg_store *)b, school_id,
	    "SELECT * FROM (SELECT DISTINCT ON (concern_id) concern_id, version, school_id,"
	    " reporter_id, created, status, payload FROM concern_versions WHERE school_id = $1"
	    " AND ($2 = 0 OR reporter_id = $2) ORDER BY concern_id DESC, version DESC) v"
	    " ORDER BY concern_id DESC LIMIT 1000",
	    &a, cb, ctx);
}

static ward_status pg_concern_versions(srv_store *b, int64_t school_id, int64_t id,
                                       srv_concern_cb cb, void *ctx)
{
	pg_args a = {0};
	pg_arg_i64(&a, school_id);
	pg_arg_i64(&a, id);
	return concern_query((pg_store *)b, school_id,
	                     CONCERN_COLS "WHERE school_id = $1 AND concern_id = $2 ORDER BY version",
	                     &a, cb, ctx);
}

/* Every version of every school, in pages so a large service is not read into memory. */
static ward_status pg_concern_all(srv_store *b, srv_concern_cb cb, void *ctx)
{
	pg_store *s = (pg_store *)b;
	int64_t after_id = -1, after_v = 0;
	for (;;) {
		ward_status rc = WARD_OK;
		pg_args a = {0};
		PGresult *r;
		int n, stop = 0;
		pg_conn *c = pg_begin(s, PG_ALL, 0);
		if (!c)
			return WARD_EIO;
		pg_arg_i64(&a, after_id);
		pg_arg_i64(&a, after_v);
		r = pg_q(s, c,
		         CONCERN_COLS "WHERE (concern_id, version) > ($1, $2)"
		                      " ORDER BY concern_id, version LIMIT 5000",
		         &a);
		pg_end(s, c, WARD_OK);
		if (!r)
			return WARD_EIO;
		n = PQntuples(r);
		for (int i = 0; i < n && rc == WARD_OK && !stop; i++) {
			srv_concern cn;
			rc = concern_row(r, i, &cn);
			if (rc != WARD_OK)
				break;
			after_id = cn.id;
			after_v = cn.version;
			stop = cb(ctx, &cn);
			srv_concern_clear(&cn);
		}
		PQclear(r);
		if (rc != WARD_OK || stop || n < 5000)
			return rc;
	}
}

/* ---- audit ---- */

/* One queued audit entry; it lives on its caller's stack while the caller waits. */
struct pg_audit_req {
	const srv_audit_in *in;
	pg_audit_req *next;
	ward_status rc;
	int done;
};

/* Locks the chain's head in a new transaction on c and reads it, in one round trip. */
static ward_status head_lock(pg_store *s, pg_conn *c, int64_t *seq, unsigned char *hash)
{
	ward_status rc = WARD_OK;
	PGresult *r = PQexec(c->c, "BEGIN; SELECT set_config('ward.school', 'all', true);"
	                           " SELECT seq, hash FROM audit_head WHERE one = 1 FOR UPDATE");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		set_err(s, c, r, "postgres");
		rc = WARD_EIO;
	} else if (PQntuples(r) != 1) {
		snprintf(s->base.err, sizeof s->base.err, "the audit chain has no head row");
		rc = WARD_EIO;
	} else {
		*seq = pg_i64(r, 0, 0);
		pg_blob_fixed(hash, SRV_HASH_LEN, r, 0, 1);
	}
	PQclear(r);
	return rc;
}

/* Commits the n entries of batch in one durable transaction (all or none), on the leader's own
 * connection (it sees every school: the entries may belong to several).  Starting from the head
 * last seen committed, BEGIN, the append and COMMIT go down in one round trip; when another
 * writer has moved the head since, that append is a no-op (chain_stmt) and the head is locked
 * and read before the entries are chained again. */
static ward_status audit_commit(pg_store *s, pg_audit_req *batch, int n)
{
	pg_conn *c = &s->gc_conn;
	srv_audit *rows = calloc((size_t)n, sizeof *rows);
	chain_stmt st = {0};
	ward_status rc = WARD_EIO;
	int64_t seq;
	unsigned char hash[SRV_HASH_LEN];
	int known;
	if (!rows)
		return WARD_ENOMEM;
	if ((!c->c || PQstatus(c->c) != CONNECTION_OK) && conn_open(s, c) != WARD_OK)
		goto done;
	c->state[0] = '\0';
	pthread_mutex_lock(&s->gc_mu);
	known = s->head_known;
	seq = s->head_seq;
	memcpy(hash, s->head_hash, SRV_HASH_LEN);
	pthread_mutex_unlock(&s->gc_mu);
	for (int attempt = 0; attempt < 2; attempt++) {
		const char *all[1] = {"all"};
		PGresult *r = NULL;
		int locked = !known, i = 0;
		int64_t at = (int64_t)time(NULL);
		if (locked && (rc = head_lock(s, c, &seq, hash)) != WARD_OK)
			goto done;
		for (pg_audit_req *q = batch; i < n; q = q->next, i++)
			chain_entry(&rows[i], seq + 1 + i, i ? rows[i - 1].hash : hash, q->in, NULL, at);
		chain_stmt_free(&st);
		if ((rc = chain_stmt_build(&st, seq, hash, rows, n)) != WARD_OK)
			goto done;
		const pipe_stmt unlocked[] = {
		    {"BEGIN", 0, NULL, NULL, NULL, NULL, 0},
		    {"SELECT set_config('ward.school', $1, true)", 1, NULL, all, NULL, NULL, 1},
		    {st.sql, st.n, st.typ, st.v, st.len, st.fmt, n == 1}, /* one text per n */
		    {"COMMIT", 0, NULL, NULL, NULL, NULL, 0},
		};
		if (locked)
			rc = pipe_run(s, c, unlocked + 2, 2, 0, &r);
		else
			rc = pipe_run(s, c, unlocked, 4, 2, &r);
		if (rc != WARD_OK)
			goto done;
		i = (int)strtol(PQcmdTuples(r), NULL, 10);
		PQclear(r);
		if (i == n) {
			head_note(s, rows[n - 1].seq, rows[n - 1].hash);
			goto done;
		}
		rc = WARD_EIO;
		if (locked || i != 0) {
			snprintf(s->base.err, sizeof s->base.err,
			         "the audit chain's head moved under its lock");
			goto done;
		}
		known = 0; /* another writer moved the head: lock it and read it */
	}
done:
	if (rc != WARD_OK) {
		head_forget(s);
		if (c->c && PQtransactionStatus(c->c) != PQTRANS_IDLE)
			PQclear(PQexec(c->c, "ROLLBACK"));
	}
	chain_stmt_free(&st);
	free(rows);
	return rc;
}

/* Appends an audit entry (an audited read) and returns once it is durable.  Entries that
 * arrive while a commit runs are committed together by the next caller to find none running
 * (group commit, as in store_sqlite.c), up to PG_GC_MAX at once: each caller still waits for
 * its own entry's commit, and the entries enter the chain in the order they arrived. */
static ward_status pg_audit_append(srv_store *b, const srv_audit_in *in)
{
	pg_store *s = (pg_store *)b;
	pg_audit_req me = {in, NULL, WARD_EIO, 0};
	pthread_mutex_lock(&s->gc_mu);
	*s->gc_tail = &me;
	s->gc_tail = &me.next;
	while (!me.done) {
		if (s->gc_leader) {
			pthread_cond_wait(&s->gc_cv, &s->gc_mu);
			continue;
		}
		pg_audit_req *batch = s->gc_head, *last = batch;
		int n = 1;
		while (last->next && n < PG_GC_MAX) {
			last = last->next;
			n++;
		}
		s->gc_head = last->next;
		if (!s->gc_head)
			s->gc_tail = &s->gc_head;
		last->next = NULL;
		s->gc_leader = 1;
		pthread_mutex_unlock(&s->gc_mu);
		ward_status rc = audit_commit(s, batch, n);
		pthread_mutex_lock(&s->gc_mu);
		for (pg_audit_req *q = batch, *nx; q; q = nx) {
			nx = q->next;
			q->rc = rc;
			q->done = 1;
		}
		s->gc_leader = 0;
		pthread_cond_broadcast(&s->gc_cv);
	}
	pthread_mutex_unlock(&s->gc_mu);
	return me.rc;
}

static ward_status pg_audit_list(srv_store *b, int64_t school_id, int64_t after, int limit,
                                 srv_audit_cb cb, void *ctx)
{
	pg_store *s = (pg_store *)b;
	int64_t left = limit;
	while (left > 0) {
		pg_args a = {0};
		PGresult *r;
		int n, stop = 0;
		int64_t page = left < 5000 ? left : 5000;
		pg_conn *c = pg_begin(s, school_id ? school_id : PG_ALL, 0);
		if (!c)
			return WARD_EIO;
		pg_arg_i64(&a, school_id);
		pg_arg_i64(&a, after);
		pg_arg_i64(&a, page);
		r = pg_q(s, c,
		         "SELECT seq, school_id, actor_id, at, action, target, source, digest, prev,"
		         " hash FROM audit WHERE ($1 = 0 OR school_id = $1) AND seq > $2"
		         " ORDER BY seq LIMIT $3",
		         &a);
		pg_end(s, c, WARD_OK);
		if (!r)
			return WARD_EIO;
		n = PQntuples(r);
		for (int i = 0; i < n && !stop; i++) {
			srv_audit e;
			memset(&e, 0, sizeof e);
			e.seq = pg_i64(r, i, 0);
			e.school_id = pg_i64(r, i, 1);
			e.actor_id = pg_i64(r, i, 2);
			e.at = pg_i64(r, i, 3);
			pg_text(e.action, sizeof e.action, r, i, 4);
			pg_text(e.target, sizeof e.target, r, i, 5);
			pg_text(e.source, sizeof e.source, r, i, 6);
			pg_blob_fixed(e.digest, SRV_HASH_LEN, r, i, 7);
			pg_blob_fixed(e.prev, SRV_HASH_LEN, r, i, 8);
			pg_blob_fixed(e.hash, SRV_HASH_LEN, r, i, 9);
			after = e.seq;
			stop = cb(ctx, &e);
		}
		PQclear(r);
		left -= n;
		if (stop || n < page)
			break;
	}
	return WARD_OK;
}

/* A PostgreSQL service is backed up with its own tools (pg_dump, base backups, replicas). */
static ward_status pg_backup(srv_store *b, const char *path)
{
	(void)path;
	snprintf(b->err, sizeof b->err,
	         "backup: on PostgreSQL use pg_dump or base backups, not ward admin backup");
	return WARD_EUNSUPPORTED;
}

/* ---- TOTP ---- */

static ward_status pg_totp_secret(srv_store *b, int64_t user_id, int pending,
                                  unsigned char **sealed, size_t *n)
{
	pg_store *s = (pg_store *)b;
	ward_status rc = WARD_EIO;
	pg_args a = {0};
	PGresult *r;
	*sealed = NULL;
	*n = 0;
	pg_arg_i64(&a, user_id);
	r = pg_read(s, PG_ALL,
	            pending ? "SELECT totp_pending FROM users WHERE id = $1"
	                    : "SELECT totp_secret FROM users WHERE id = $1",
	            &a);
	if (!r)
		return rc;
	rc = WARD_ENOENT;
	if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
		rc = pg_blob_dup(r, 0, 0, sealed, n);
		if (rc == WARD_OK && *n == 0) {
			free(*sealed);
			*sealed = NULL;
			rc = WARD_ENOENT;
		}
	}
	PQclear(r);
	return rc;
}

/* One UPDATE of the users row (and extra, when given) with its audit entry in one
 * transaction; WARD_ENOENT when the UPDATE changed no row. */
static ward_status totp_write(pg_store *s, const char *sql, pg_args *a, int64_t user_id,
                              const char *extra, pg_args *xa, const srv_audit_in *au)
{
	ward_status rc;
	int64_t changed = 0;
	char target[64];
	srv_audit_in in = *au;
	pg_conn *c = pg_begin(s, PG_ALL, 1);
	if (!c)
		return WARD_EIO;
	rc = pg_cmd(s, c, sql, a, &changed);
	if (rc == WARD_OK && changed == 0) {
		snprintf(s->base.err, sizeof s->base.err, "nothing to change");
		rc = WARD_ENOENT;
	}
	if (rc == WARD_OK && extra)
		rc = pg_cmd(s, c, extra, xa, NULL);
	if (rc == WARD_OK) {
		snprintf(target, sizeof target, "user/%lld", (long long)user_id);
		in.target = target;
		rc = pg_audit(s, c, &in, NULL);
	}
	return pg_end(s, c, rc);
}

static ward_status pg_totp_begin(srv_store *b, int64_t user_id, const unsigned char *sealed,
                                 size_t n, const srv_audit_in *au)
{
	pg_args a = {0};
	pg_arg_i64(&a, user_id);
	pg_arg_blob(&a, sealed, n);
	return totp_write((pg_store *)b, "UPDATE users SET totp_pending = $2 WHERE id = $1", &a,
	                  user_id, NULL, NULL, au);
}

static ward_status pg_totp_confirm(srv_store *b, int64_t user_id, int64_t step,
                                   const unsigned char *token_hash, const srv_audit_in *au)
{
	pg_args a = {0}, x = {0};
	pg_arg_i64(&a, user_id);
	pg_arg_i64(&a, step);
	if (token_hash)
		pg_arg_blob(&x, token_hash, SRV_HASH_LEN);
	return totp_write((pg_store *)b,
	                  "UPDATE users SET totp_secret = totp_pending, totp_pending = NULL,"
	                  " totp_last_step = $2 WHERE id = $1 AND totp_pending IS NOT NULL"
	                  " AND totp_last_step < $2",
	                  &a, user_id,
	                  token_hash ? "UPDATE sessions SET enrol_only = 0 WHERE token_hash = $1"
	                             : NULL,
	                  &x, au);
}

static ward_status pg_totp_reset(srv_store *b, int64_t user_id, const srv_audit_in *au)
{
	pg_args a = {0}, x = {0};
	pg_arg_i64(&a, user_id);
	pg_arg_i64(&x, user_id);
	return totp_write((pg_store *)b,
	                  "UPDATE users SET totp_secret = NULL, totp_pending = NULL WHERE id = $1",
	                  &a, user_id, "DELETE FROM sessions WHERE user_id = $1", &x, au);
}

/* One statement, so two requests with the same code cannot both pass. */
static ward_status pg_totp_use(srv_store *b, int64_t user_id, int64_t step)
{
	pg_store *s = (pg_store *)b;
	pg_args a = {0};
	int64_t changed = 0;
	ward_status rc;
	pg_conn *c = pg_begin(s, PG_ALL, 0);
	if (!c)
		return WARD_EIO;
	pg_arg_i64(&a, user_id);
	pg_arg_i64(&a, step);
	rc = pg_cmd(s, c,
	            "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2", &a,
	            &changed);
	rc = pg_end(s, c, rc);
	if (rc == WARD_OK && changed != 1)
		rc = WARD_EINVAL;
	return rc;
}

static const srv_store_ops pg_ops = {
    pg_close,          pg_school_create, pg_school_find, pg_user_create,  pg_user_get,
    pg_user_find,      pg_user_list,     pg_session_put, pg_session_get,  pg_session_touch,
    pg_session_delete, pg_concern_put,   pg_concern_get, pg_concern_list, pg_concern_versions,
    pg_concern_all,    pg_audit_append,  pg_audit_list,  pg_backup,       pg_totp_secret,
    pg_totp_begin,     pg_totp_confirm,  pg_totp_use,    pg_totp_reset,   pg_school_name,
};

/* *out owned by the caller (close through its ops). */
ward_status srv_store_pg_open(const char *dsn, srv_store **out)
{
	ward_status rc = WARD_EINVAL;
	pg_store *s = calloc(1, sizeof *s);
	*out = NULL;
	if (!s)
		return WARD_ENOMEM;
	s->base.ops = &pg_ops;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_mutex_init(&s->gc_mu, NULL);
	pthread_cond_init(&s->gc_cv, NULL);
	s->gc_tail = &s->gc_head;
	for (int i = 0; i < PG_POOL; i++)
		s->idle[s->n_idle++] = PG_POOL - 1 - i;
	if (strlen(dsn) >= sizeof s->dsn) {
		snprintf(s->base.err, sizeof s->base.err, "the PostgreSQL connection string is too long");
		goto done;
	}
	snprintf(s->dsn, sizeof s->dsn, "%s", dsn);
	rc = migrate(s);
	if (rc == WARD_OK) {
		/* One connection now, so a wrong role or password shows at start. */
		pg_conn *c = pg_begin(s, PG_ALL, 0);
		rc = c ? pg_end(s, c, WARD_OK) : WARD_EIO;
	}
done:
	if (rc != WARD_OK) {
		srv_log(LOG_ERR, "store: %s", s->base.err);
		pg_close(&s->base);
		s = NULL;
	}
	*out = s ? &s->base : NULL;
	return rc;
}
