/* store_pg_cases.c: casework's tables in the PostgreSQL store (store_cases.h).  Both tables are
 * append-only (a trigger refuses UPDATE and DELETE, and the service role is granted neither);
 * each row is written with its audit entry, whose digest covers the row, in one transaction.
 * The same behaviour as store_sqlite_cases.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "schema.h"
#include "store_cases.h"
#include "store_pg.h"

/* Runs one insert and its audit entry (target) in one write transaction. */
static ward_status insert_audited(pg_store *s, int64_t school, const char *sql, pg_args *p,
                                  const srv_audit_in *a, const char *target,
                                  const unsigned char digest[SRV_HASH_LEN])
{
	ward_status rc;
	srv_audit_in in = *a;
	pg_conn *c = pg_begin(s, school, 1);
	if (!c)
		return WARD_EIO;
	in.target = target;
	rc = pg_cmd(s, c, sql, p, NULL);
	if (rc == WARD_OK)
		rc = pg_audit(s, c, &in, digest);
	return pg_end(s, c, rc);
}

/* Inside c's write transaction: the entry's row and its audit entry. */
static ward_status entry_insert(pg_store *s, pg_conn *c, const srv_case_entry *e,
                                const srv_audit_in *a)
{
	pg_args p = {0};
	char target[64];
	unsigned char digest[SRV_HASH_LEN];
	srv_audit_in in = *a;
	ward_status rc;
	snprintf(target, sizeof target, "case-entry/%lld", (long long)e->id);
	srv_case_entry_digest(e, digest);
	in.target = target;
	pg_arg_i64(&p, e->id);
	pg_arg_i64(&p, e->school_id);
	pg_arg_i64(&p, e->concern_id);
	pg_arg_i64(&p, e->actor_id);
	pg_arg_i64(&p, e->created);
	pg_arg_str(&p, e->kind);
	pg_arg_str(&p, e->ref);
	pg_arg_blob(&p, e->payload, e->payload_len);
	rc = pg_cmd(s, c,
	            "INSERT INTO case_entries (id, school_id, concern_id, actor_id, created,"
	            " kind, ref, payload) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
	            &p, NULL);
	if (rc == WARD_OK)
		rc = pg_audit(s, c, &in, digest);
	return rc;
}

/* Inside c's write transaction (the audit head locked, so every earlier writer has committed):
 * the latest version of concern id.  The result is the caller's to PQclear; *rc says how it
 * went (WARD_ENOENT: no such concern). */
static PGresult *latest(pg_store *s, pg_conn *c, int64_t school, int64_t id, ward_status *rc)
{
	pg_args p = {0};
	PGresult *r;
	pg_arg_i64(&p, id);
	pg_arg_i64(&p, school);
	r = pg_q(s, c,
	         "SELECT version, status FROM concern_versions WHERE concern_id = $1"
	         " AND school_id = $2 ORDER BY version DESC LIMIT 1",
	         &p);
	*rc = !r ? WARD_EIO : PQntuples(r) == 0 ? WARD_ENOENT : WARD_OK;
	return r;
}

static ward_status entry_add_tx(pg_store *s, const srv_case_entry *e, const srv_audit_in *a,
                                int open_only)
{
	ward_status rc = WARD_OK;
	pg_conn *c = pg_begin(s, e->school_id, 1);
	if (!c)
		return WARD_EIO;
	if (open_only) {
		PGresult *r = latest(s, c, e->school_id, e->concern_id, &rc);
		if (rc == WARD_OK && strcmp(PQgetvalue(r, 0, 1), "closed") == 0)
			rc = WARD_ESTOPPED;
		PQclear(r);
	}
	if (rc == WARD_OK)
		rc = entry_insert(s, c, e, a);
	return pg_end(s, c, rc);
}

static ward_status pg_entry_add(srv_store *b, const srv_case_entry *e, const srv_audit_in *a)
{
	return entry_add_tx((pg_store *)b, e, a, 0);
}

static ward_status pg_entry_add_open(srv_store *b, const srv_case_entry *e, const srv_audit_in *a)
{
	return entry_add_tx((pg_store *)b, e, a, 1);
}

static ward_status pg_pupil_add(srv_store *b, const srv_pupil *pu, const srv_audit_in *a)
{
	pg_args p = {0};
	char target[64];
	unsigned char digest[SRV_HASH_LEN];
	snprintf(target, sizeof target, "pupil/%lld", (long long)pu->id);
	srv_pupil_digest(pu, digest);
	pg_arg_i64(&p, pu->id);
	pg_arg_i64(&p, pu->school_id);
	pg_arg_i64(&p, pu->actor_id);
	pg_arg_i64(&p, pu->created);
	pg_arg_blob(&p, pu->payload, pu->payload_len);
	return insert_audited((pg_store *)b, pu->school_id,
	                      "INSERT INTO pupils (id, school_id, actor_id, created, payload)"
	                      " VALUES ($1,$2,$3,$4,$5)",
	                      &p, a, target, digest);
}

#define ENTRY_COLS                                                                                 \
	"SELECT id, school_id, concern_id, actor_id, created, kind, ref, payload, seq FROM "       \
	"case_entries "
#define PUPIL_COLS "SELECT id, school_id, actor_id, created, payload, seq FROM pupils "

static ward_status entry_row(const PGresult *r, int i, srv_case_entry *e)
{
	memset(e, 0, sizeof *e);
	e->id = pg_i64(r, i, 0);
	e->school_id = pg_i64(r, i, 1);
	e->concern_id = pg_i64(r, i, 2);
	e->actor_id = pg_i64(r, i, 3);
	e->created = pg_i64(r, i, 4);
	pg_text(e->kind, sizeof e->kind, r, i, 5);
	pg_text(e->ref, sizeof e->ref, r, i, 6);
	return pg_blob_dup(r, i, 7, &e->payload, &e->payload_len);
}

static ward_status pupil_row(const PGresult *r, int i, srv_pupil *p)
{
	memset(p, 0, sizeof *p);
	p->id = pg_i64(r, i, 0);
	p->school_id = pg_i64(r, i, 1);
	p->actor_id = pg_i64(r, i, 2);
	p->created = pg_i64(r, i, 3);
	return pg_blob_dup(r, i, 4, &p->payload, &p->payload_len);
}

/* Reads in school's view; the caller PQclears the result.  NULL on failure. */
static PGresult *read_rows(pg_store *s, int64_t school, const char *sql, pg_args *a)
{
	return pg_read(s, school, sql, a);
}

static ward_status entry_iter(PGresult *r, srv_case_entry_cb cb, void *ctx, int64_t *last)
{
	ward_status rc = WARD_OK;
	for (int i = 0; r && i < PQntuples(r); i++) {
		srv_case_entry e;
		rc = entry_row(r, i, &e);
		if (rc != WARD_OK)
			break;
		if (last)
			*last = pg_i64(r, i, 8);
		int stop = cb(ctx, &e);
		srv_case_entry_clear(&e);
		if (stop) {
			rc = WARD_EINVAL; /* stopped: the caller's own outcome */
			break;
		}
	}
	return rc;
}

static ward_status pupil_iter(PGresult *r, srv_pupil_cb cb, void *ctx, int64_t *last)
{
	ward_status rc = WARD_OK;
	for (int i = 0; r && i < PQntuples(r); i++) {
		srv_pupil p;
		rc = pupil_row(r, i, &p);
		if (rc != WARD_OK)
			break;
		if (last)
			*last = pg_i64(r, i, 5);
		int stop = cb(ctx, &p);
		srv_pupil_clear(&p);
		if (stop) {
			rc = WARD_EINVAL;
			break;
		}
	}
	return rc;
}

static ward_status pg_close(srv_store *b, const srv_case_entry *e, const srv_audit_in *ea,
                            srv_concern *cn, const srv_audit_in *ca, srv_case_close_check check,
                            void *ctx)
{
	pg_store *s = (pg_store *)b;
	ward_status rc;
	PGresult *r = NULL, *er = NULL;
	srv_case_entry *v = NULL;
	srv_concern now;
	size_t n = 0;
	pg_args p = {0};
	pg_conn *c = pg_begin(s, cn->school_id, 1);
	memset(&now, 0, sizeof now);
	if (!c)
		return WARD_EIO;
	r = latest(s, c, cn->school_id, cn->id, &rc);
	if (rc == WARD_OK && pg_i64(r, 0, 0) + 1 != cn->version) {
		snprintf(s->base.err, sizeof s->base.err,
		         "the concern has changed since version %lld", (long long)cn->version - 1);
		rc = WARD_EINVAL;
	}
	if (rc == WARD_OK) {
		now.id = cn->id;
		now.school_id = cn->school_id;
		now.version = pg_i64(r, 0, 0);
		pg_text(now.status, sizeof now.status, r, 0, 1);
		pg_arg_i64(&p, cn->school_id);
		pg_arg_i64(&p, cn->id);
		er = pg_q(s, c, ENTRY_COLS "WHERE school_id = $1 AND concern_id = $2 ORDER BY seq",
		          &p);
		rc = er ? WARD_OK : WARD_EIO;
	}
	if (rc == WARD_OK && PQntuples(er) > 0) {
		v = calloc((size_t)PQntuples(er), sizeof *v);
		if (!v)
			rc = WARD_ENOMEM;
		for (int i = 0; rc == WARD_OK && i < PQntuples(er); i++, n++)
			rc = entry_row(er, i, &v[i]);
	}
	if (rc == WARD_OK && check(ctx, &now, v, n) != 0)
		rc = WARD_ESTOPPED;
	if (rc == WARD_OK && e)
		rc = entry_insert(s, c, e, ea);
	if (rc == WARD_OK) {
		cn->created = (int64_t)time(NULL);
		rc = pg_concern_insert(s, c, cn, ca);
	}
	for (size_t i = 0; i < n; i++)
		srv_case_entry_clear(&v[i]);
	free(v);
	PQclear(r);
	PQclear(er);
	return pg_end(s, c, rc);
}

static ward_status pg_entry_list(srv_store *b, int64_t school_id, int64_t concern_id,
                                 srv_case_entry_cb cb, void *ctx)
{
	pg_args a = {0};
	PGresult *r;
	ward_status rc;
	pg_arg_i64(&a, school_id);
	pg_arg_i64(&a, concern_id);
	r = read_rows((pg_store *)b, school_id,
	              ENTRY_COLS "WHERE school_id = $1 AND concern_id = $2 ORDER BY seq", &a);
	if (!r)
		return WARD_EIO;
	rc = entry_iter(r, cb, ctx, NULL);
	PQclear(r);
	return rc == WARD_EINVAL ? WARD_OK : rc;
}

static ward_status pg_entry_list_kind(srv_store *b, int64_t school_id, const char *kind,
                                      srv_case_entry_cb cb, void *ctx)
{
	pg_args a = {0};
	PGresult *r;
	ward_status rc;
	pg_arg_i64(&a, school_id);
	pg_arg_str(&a, kind);
	r = read_rows((pg_store *)b, school_id,
	              ENTRY_COLS "WHERE school_id = $1 AND kind = $2 ORDER BY seq", &a);
	if (!r)
		return WARD_EIO;
	rc = entry_iter(r, cb, ctx, NULL);
	PQclear(r);
	return rc == WARD_EINVAL ? WARD_OK : rc;
}

static ward_status pg_pupil_get(srv_store *b, int64_t school_id, int64_t id, srv_pupil *out)
{
	pg_args a = {0};
	PGresult *r;
	ward_status rc = WARD_ENOENT;
	pg_arg_i64(&a, school_id);
	pg_arg_i64(&a, id);
	r = read_rows((pg_store *)b, school_id, PUPIL_COLS "WHERE school_id = $1 AND id = $2", &a);
	if (!r)
		return WARD_EIO;
	if (PQntuples(r) == 1)
		rc = pupil_row(r, 0, out);
	PQclear(r);
	return rc;
}

static ward_status pg_pupil_list(srv_store *b, int64_t school_id, srv_pupil_cb cb, void *ctx)
{
	pg_args a = {0};
	PGresult *r;
	ward_status rc;
	pg_arg_i64(&a, school_id);
	r = read_rows((pg_store *)b, school_id,
	              PUPIL_COLS "WHERE school_id = $1 ORDER BY id LIMIT 100000", &a);
	if (!r)
		return WARD_EIO;
	rc = pupil_iter(r, cb, ctx, NULL);
	PQclear(r);
	return rc == WARD_EINVAL ? WARD_OK : rc;
}

/* audit verify: every case entry and pupil record against its audit entry's digest. */
typedef struct walk_ctx {
	srv_row_cb cb;
	void *ctx;
} walk_ctx;

static int walk_entry(void *vctx, const srv_case_entry *e)
{
	walk_ctx *w = vctx;
	char target[64];
	unsigned char d[SRV_HASH_LEN];
	snprintf(target, sizeof target, "case-entry/%lld", (long long)e->id);
	srv_case_entry_digest(e, d);
	return w->cb(w->ctx, target, d);
}

static int walk_pupil(void *vctx, const srv_pupil *p)
{
	walk_ctx *w = vctx;
	char target[64];
	unsigned char d[SRV_HASH_LEN];
	snprintf(target, sizeof target, "pupil/%lld", (long long)p->id);
	srv_pupil_digest(p, d);
	return w->cb(w->ctx, target, d);
}

/* In pages of 5000 rows by seq, so a large service is not read into memory at once. */
static ward_status walker(srv_store *b, srv_row_cb cb, void *ctx)
{
	pg_store *s = (pg_store *)b;
	walk_ctx w = {cb, ctx};
	for (int table = 0; table < 2; table++) {
		int64_t last = 0;
		for (;;) {
			pg_args a = {0};
			PGresult *r;
			ward_status rc;
			int n;
			pg_arg_i64(&a, last);
			r = read_rows(s, PG_ALL,
			              table == 0
			                  ? ENTRY_COLS "WHERE seq > $1 ORDER BY seq LIMIT 5000"
			                  : PUPIL_COLS "WHERE seq > $1 ORDER BY seq LIMIT 5000",
			              &a);
			if (!r)
				return WARD_EIO;
			n = PQntuples(r);
			rc = table == 0 ? entry_iter(r, walk_entry, &w, &last)
			                : pupil_iter(r, walk_pupil, &w, &last);
			PQclear(r);
			if (rc == WARD_EINVAL)
				return WARD_OK; /* the verifier stopped */
			if (rc != WARD_OK)
				return rc;
			if (n < 5000)
				break;
		}
	}
	return WARD_OK;
}

static const srv_case_ops ops = {
    pg_entry_add,  pg_entry_list,      pg_pupil_add, pg_pupil_get,
    pg_pupil_list, pg_entry_list_kind, pg_close,     pg_entry_add_open,
};

static void attach(pg_store *s)
{
	s->base.cases = &ops;
	srv_store_add_walker(&s->base, walker);
}

const pg_schema pg_schema_cases = {"cases", schema_pg_cases, SCHEMA_CASES_VERSIONS, attach};
