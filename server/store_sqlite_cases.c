/* store_sqlite_cases.c: casework's tables in the SQLite store.  Both tables are append-only
 * (triggers refuse UPDATE and DELETE); each row is written with its audit entry, whose digest
 * covers the row, inside one BEGIN IMMEDIATE ... COMMIT. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "schema.h"
#include "srv.h"
#include "store_cases.h"
#include "store_sqlite.h"

void srv_case_entry_digest(const srv_case_entry *e, unsigned char out[SRV_HASH_LEN])
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, (const unsigned char *)"ward-case-entry-v1", 18, SRV_HASH_LEN);
	srv_hash_i64(&h, e->id);
	srv_hash_i64(&h, e->school_id);
	srv_hash_i64(&h, e->concern_id);
	srv_hash_i64(&h, e->actor_id);
	srv_hash_i64(&h, e->created);
	srv_hash_str(&h, e->kind);
	srv_hash_str(&h, e->ref);
	srv_hash_i64(&h, (int64_t)e->payload_len);
	crypto_generichash_update(&h, e->payload, e->payload_len);
	crypto_generichash_final(&h, out, SRV_HASH_LEN);
}

void srv_pupil_digest(const srv_pupil *p, unsigned char out[SRV_HASH_LEN])
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, (const unsigned char *)"ward-pupil-v1", 13, SRV_HASH_LEN);
	srv_hash_i64(&h, p->id);
	srv_hash_i64(&h, p->school_id);
	srv_hash_i64(&h, p->actor_id);
	srv_hash_i64(&h, p->created);
	srv_hash_i64(&h, (int64_t)p->payload_len);
	crypto_generichash_update(&h, p->payload, p->payload_len);
	crypto_generichash_final(&h, out, SRV_HASH_LEN);
}

void srv_case_entry_clear(srv_case_entry *e)
{
	free(e->payload);
	memset(e, 0, sizeof *e);
}

void srv_pupil_clear(srv_pupil *p)
{
	free(p->payload);
	memset(p, 0, sizeof *p);
}

/* Runs one prepared insert and its audit entry in a transaction.  Consumes st. */
static ward_status insert_audited(sq_store *s, sqlite3_stmt *st, const srv_audit_in *a,
                                  const char *target, const unsigned char digest[SRV_HASH_LEN])
{
	ward_status rc = WARD_EIO;
	srv_audit_in in = *a;
	in.target = target;
	if (sqlite3_step(st) != SQLITE_DONE) {
		sq_set_err(s, "case insert");
		rc = WARD_EINVAL;
		goto done;
	}
	if (sq_audit_locked(s, &in, digest) != WARD_OK)
		goto done;
	rc = sq_exec(s, "COMMIT");
done:
	sqlite3_finalize(st);
	if (rc != WARD_OK)
		sq_exec(s, "ROLLBACK");
	return rc;
}

/* Inside the caller's transaction: the entry's row and its audit entry. */
static ward_status entry_insert_locked(sq_store *s, const srv_case_entry *e, const srv_audit_in *a)
{
	char target[64];
	unsigned char digest[SRV_HASH_LEN];
	srv_audit_in in = *a;
	sqlite3_stmt *st =
	    sq_prep(s, "INSERT INTO case_entries (id, school_id, concern_id, actor_id, created,"
	               " kind, ref, payload) VALUES (?,?,?,?,?,?,?,?)");
	if (!st)
		return WARD_EIO;
	sqlite3_bind_int64(st, 1, e->id);
	sqlite3_bind_int64(st, 2, e->school_id);
	sqlite3_bind_int64(st, 3, e->concern_id);
	sqlite3_bind_int64(st, 4, e->actor_id);
	sqlite3_bind_int64(st, 5, e->created);
	sqlite3_bind_text(st, 6, e->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, e->ref, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 8, e->payload, (int)e->payload_len, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sq_set_err(s, "case insert");
		sqlite3_finalize(st);
		return WARD_EINVAL;
	}
	sqlite3_finalize(st);
	snprintf(target, sizeof target, "case-entry/%lld", (long long)e->id);
	srv_case_entry_digest(e, digest);
	in.target = target;
	return sq_audit_locked(s, &in, digest);
}

static ward_status copy_payload(sqlite3_stmt *st, int col, unsigned char **out, size_t *n_out);

/* Inside the caller's transaction: the latest version of concern id in school. */
static ward_status latest_locked(sq_store *s, int64_t school, int64_t id, srv_concern *c)
{
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st = sq_prep(
	    s, "SELECT concern_id, version, school_id, reporter_id, created, status, payload"
	       " FROM concern_versions WHERE concern_id = ? AND school_id = ?"
	       " ORDER BY version DESC LIMIT 1");
	memset(c, 0, sizeof *c);
	if (!st)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, school);
	rc = WARD_ENOENT;
	if (sqlite3_step(st) == SQLITE_ROW) {
		c->id = sqlite3_column_int64(st, 0);
		c->version = sqlite3_column_int64(st, 1);
		c->school_id = sqlite3_column_int64(st, 2);
		c->reporter_id = sqlite3_column_int64(st, 3);
		c->created = sqlite3_column_int64(st, 4);
		sq_copy_col(c->status, sizeof c->status, st, 5);
		rc = copy_payload(st, 6, &c->payload, &c->payload_len);
	}
	sqlite3_finalize(st);
	return rc;
}

/* Appends e; with open_only, only while its concern is not closed (read in the same
 * transaction, so a close committed by any wardd is seen). */
static ward_status entry_add_tx(srv_store *b, const srv_case_entry *e, const srv_audit_in *a,
                                int open_only)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	pthread_mutex_lock(&s->mu);
	if (sq_exec(s, "BEGIN IMMEDIATE") != WARD_OK)
		goto done;
	rc = WARD_OK;
	if (open_only) {
		srv_concern c;
		rc = latest_locked(s, e->school_id, e->concern_id, &c);
		if (rc == WARD_OK && strcmp(c.status, "closed") == 0)
			rc = WARD_ESTOPPED;
		srv_concern_clear(&c);
	}
	if (rc == WARD_OK)
		rc = entry_insert_locked(s, e, a);
	if (rc == WARD_OK)
		rc = sq_exec(s, "COMMIT");
	if (rc != WARD_OK)
		sq_exec(s, "ROLLBACK");
done:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static ward_status sq_entry_add(srv_store *b, const srv_case_entry *e, const srv_audit_in *a)
{
	return entry_add_tx(b, e, a, 0);
}

static ward_status sq_entry_add_open(srv_store *b, const srv_case_entry *e, const srv_audit_in *a)
{
	return entry_add_tx(b, e, a, 1);
}

static ward_status copy_payload(sqlite3_stmt *st, int col, unsigned char **out, size_t *n_out)
{
	const void *p = sqlite3_column_blob(st, col);
	int n = sqlite3_column_bytes(st, col);
	*out = malloc(n > 0 ? (size_t)n : 1);
	if (!*out)
		return WARD_ENOMEM;
	if (n > 0)
		memcpy(*out, p, (size_t)n);
	*n_out = (size_t)n;
	return WARD_OK;
}

#define ENTRY_COLS                                                                                 \
	"SELECT id, school_id, concern_id, actor_id, created, kind, ref, payload FROM "            \
	"case_entries "

static ward_status entry_row(sqlite3_stmt *st, srv_case_entry *e)
{
	memset(e, 0, sizeof *e);
	e->id = sqlite3_column_int64(st, 0);
	e->school_id = sqlite3_column_int64(st, 1);
	e->concern_id = sqlite3_column_int64(st, 2);
	e->actor_id = sqlite3_column_int64(st, 3);
	e->created = sqlite3_column_int64(st, 4);
	sq_copy_col(e->kind, sizeof e->kind, st, 5);
	sq_copy_col(e->ref, sizeof e->ref, st, 6);
	return copy_payload(st, 7, &e->payload, &e->payload_len);
}

static ward_status entry_iter(sqlite3_stmt *st, srv_case_entry_cb cb, void *ctx)
{
	ward_status rc = WARD_OK;
	srv_case_entry e;
	while (rc == WARD_OK && sqlite3_step(st) == SQLITE_ROW) {
		rc = entry_row(st, &e);
		if (rc != WARD_OK)
			break;
		int stop = cb(ctx, &e);
		srv_case_entry_clear(&e);
		if (stop)
			break;
	}
	return rc;
}

/* The entries gathered for a close's check. */
typedef struct gather_ctx {
	srv_case_entry *v;
	size_t n, cap;
	int oom;
} gather_ctx;

static int gather(void *vctx, const srv_case_entry *e)
{
	gather_ctx *g = vctx;
	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 16;
		srv_case_entry *v = realloc(g->v, cap * sizeof *v);
		if (!v) {
			g->oom = 1;
			return 1;
		}
		g->v = v;
		g->cap = cap;
	}
	/* entry_iter clears its row after the callback: take the payload over. */
	g->v[g->n] = *e;
	g->v[g->n].payload = malloc(e->payload_len ? e->payload_len : 1);
	if (!g->v[g->n].payload) {
		g->oom = 1;
		return 1;
	}
	memcpy(g->v[g->n].payload, e->payload, e->payload_len);
	g->n++;
	return 0;
}

static void gather_clear(gather_ctx *g)
{
	for (size_t i = 0; i < g->n; i++)
		srv_case_entry_clear(&g->v[i]);
	free(g->v);
}

/* Inside the caller's transaction: version c of the concern and its audit entry. */
static ward_status sq_close(srv_store *b, const srv_case_entry *e, const srv_audit_in *ea,
                            srv_concern *c, const srv_audit_in *ca, srv_case_close_check check,
                            void *ctx)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	srv_concern latest;
	gather_ctx g = {NULL, 0, 0, 0};
	sqlite3_stmt *st;
	memset(&latest, 0, sizeof latest);
	pthread_mutex_lock(&s->mu);
	if (sq_exec(s, "BEGIN IMMEDIATE") != WARD_OK)
		goto done;
	rc = latest_locked(s, c->school_id, c->id, &latest);
	if (rc == WARD_OK && latest.version + 1 != c->version) {
		snprintf(s->base.err, sizeof s->base.err,
		         "the concern has changed since version %lld", (long long)c->version - 1);
		rc = WARD_EINVAL;
	}
	if (rc == WARD_OK) {
		rc = WARD_EIO;
		st = sq_prep(s, ENTRY_COLS "WHERE school_id = ? AND concern_id = ? ORDER BY seq");
		if (st) {
			sqlite3_bind_int64(st, 1, c->school_id);
			sqlite3_bind_int64(st, 2, c->id);
			rc = entry_iter(st, gather, &g);
			sqlite3_finalize(st);
			if (rc == WARD_OK && g.oom)
				rc = WARD_ENOMEM;
		}
	}
	if (rc == WARD_OK && check(ctx, &latest, g.v, g.n) != 0)
		rc = WARD_ESTOPPED;
	if (rc == WARD_OK && e)
		rc = entry_insert_locked(s, e, ea);
	if (rc == WARD_OK) {
		c->created = (int64_t)time(NULL);
		rc = sq_concern_insert_locked(s, c, ca);
	}
	if (rc == WARD_OK)
		rc = sq_exec(s, "COMMIT");
	if (rc != WARD_OK)
		sq_exec(s, "ROLLBACK");
done:
	pthread_mutex_unlock(&s->mu);
	gather_clear(&g);
	srv_concern_clear(&latest);
	return rc;
}

static ward_status sq_entry_list(srv_store *b, int64_t school_id, int64_t concern_id,
                                 srv_case_entry_cb cb, void *ctx)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->mu);
	st = sq_prep(s, ENTRY_COLS "WHERE school_id = ? AND concern_id = ? ORDER BY seq");
	if (st) {
		sqlite3_bind_int64(st, 1, school_id);
		sqlite3_bind_int64(st, 2, concern_id);
		rc = entry_iter(st, cb, ctx);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static ward_status sq_entry_list_kind(srv_store *b, int64_t school_id, const char *kind,
                                      srv_case_entry_cb cb, void *ctx)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->mu);
	st = sq_prep(s, ENTRY_COLS "WHERE school_id = ? AND kind = ? ORDER BY seq");
	if (st) {
		sqlite3_bind_int64(st, 1, school_id);
		sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
		rc = entry_iter(st, cb, ctx);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static ward_status sq_pupil_add(srv_store *b, const srv_pupil *p, const srv_audit_in *a)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	char target[64];
	unsigned char digest[SRV_HASH_LEN];
	snprintf(target, sizeof target, "pupil/%lld", (long long)p->id);
	srv_pupil_digest(p, digest);
	pthread_mutex_lock(&s->mu);
	if (sq_exec(s, "BEGIN IMMEDIATE") != WARD_OK)
		goto done;
	st = sq_prep(s, "INSERT INTO pupils (id, school_id, actor_id, created, payload)"
	                " VALUES (?,?,?,?,?)");
	if (!st) {
		sq_exec(s, "ROLLBACK");
		goto done;
	}
	sqlite3_bind_int64(st, 1, p->id);
	sqlite3_bind_int64(st, 2, p->school_id);
	sqlite3_bind_int64(st, 3, p->actor_id);
	sqlite3_bind_int64(st, 4, p->created);
	sqlite3_bind_blob(st, 5, p->payload, (int)p->payload_len, SQLITE_STATIC);
	rc = insert_audited(s, st, a, target, digest);
done:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

#define PUPIL_COLS "SELECT id, school_id, actor_id, created, payload FROM pupils "

static ward_status pupil_row(sqlite3_stmt *st, srv_pupil *p)
{
	memset(p, 0, sizeof *p);
	p->id = sqlite3_column_int64(st, 0);
	p->school_id = sqlite3_column_int64(st, 1);
	p->actor_id = sqlite3_column_int64(st, 2);
	p->created = sqlite3_column_int64(st, 3);
	return copy_payload(st, 4, &p->payload, &p->payload_len);
}

static ward_status sq_pupil_get(srv_store *b, int64_t school_id, int64_t id, srv_pupil *out)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->mu);
	st = sq_prep(s, PUPIL_COLS "WHERE school_id = ? AND id = ?");
	if (st) {
		sqlite3_bind_int64(st, 1, school_id);
		sqlite3_bind_int64(st, 2, id);
		rc = sqlite3_step(st) == SQLITE_ROW ? pupil_row(st, out) : WARD_ENOENT;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static ward_status pupil_iter(sqlite3_stmt *st, srv_pupil_cb cb, void *ctx)
{
	ward_status rc = WARD_OK;
	srv_pupil p;
	while (rc == WARD_OK && sqlite3_step(st) == SQLITE_ROW) {
		rc = pupil_row(st, &p);
		if (rc != WARD_OK)
			break;
		int stop = cb(ctx, &p);
		srv_pupil_clear(&p);
		if (stop)
			break;
	}
	return rc;
}

static ward_status sq_pupil_list(srv_store *b, int64_t school_id, srv_pupil_cb cb, void *ctx)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->mu);
	st = sq_prep(s, PUPIL_COLS "WHERE school_id = ? ORDER BY id LIMIT 100000");
	if (st) {
		sqlite3_bind_int64(st, 1, school_id);
		rc = pupil_iter(st, cb, ctx);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* audit verify: every case entry and pupil record against its audit entry's digest. */
typedef struct walk_ctx {
	srv_row_cb cb;
	void *ctx;
	int stopped;
} walk_ctx;

static int walk_entry(void *vctx, const srv_case_entry *e)
{
	walk_ctx *w = vctx;
	char target[64];
	unsigned char d[SRV_HASH_LEN];
	snprintf(target, sizeof target, "case-entry/%lld", (long long)e->id);
	srv_case_entry_digest(e, d);
	return w->stopped = w->cb(w->ctx, target, d);
}

static int walk_pupil(void *vctx, const srv_pupil *p)
{
	walk_ctx *w = vctx;
	char target[64];
	unsigned char d[SRV_HASH_LEN];
	snprintf(target, sizeof target, "pupil/%lld", (long long)p->id);
	srv_pupil_digest(p, d);
	return w->stopped = w->cb(w->ctx, target, d);
}

static ward_status walker(srv_store *b, srv_row_cb cb, void *ctx)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	walk_ctx w = {cb, ctx, 0};
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->mu);
	st = sq_prep(s, ENTRY_COLS "ORDER BY seq");
	if (st)
		rc = entry_iter(st, walk_entry, &w);
	sqlite3_finalize(st);
	if (rc == WARD_OK && !w.stopped) {
		rc = WARD_EIO;
		st = sq_prep(s, PUPIL_COLS "ORDER BY rowid");
		if (st)
			rc = pupil_iter(st, walk_pupil, &w);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static const srv_case_ops ops = {
    sq_entry_add,  sq_entry_list,      sq_pupil_add, sq_pupil_get,
    sq_pupil_list, sq_entry_list_kind, sq_close,     sq_entry_add_open,
};

static void attach(sq_store *s)
{
	s->base.cases = &ops;
	srv_store_add_walker(&s->base, walker);
}

const sq_schema sq_schema_cases = {"cases", schema_sqlite_cases, SCHEMA_CASES_VERSIONS, attach};
