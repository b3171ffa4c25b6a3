/* store_pg_pupil_report.c: each school's pupil page (on or off, and its code) in the PostgreSQL
 * store (store_pupil_report.h), as store_sqlite_pupil_report.c keeps it: the row and its audit
 * entry in one transaction, and audit verify walks every row.  The page is found by its code
 * before anyone is signed in, so that look-up sees every school (the code is the secret). */
#include <stdio.h>
#include <string.h>

#include "schema.h"
#include "store_pg.h"
#include "store_pupil_report.h"

#define COLS "SELECT school_id, enabled, code, rev, updated FROM pupil_pages "

static void row(const PGresult *r, int i, srv_pupil_page *p)
{
	memset(p, 0, sizeof *p);
	p->school_id = pg_i64(r, i, 0);
	p->enabled = pg_i64(r, i, 1) != 0;
	pg_text(p->code, sizeof p->code, r, i, 2);
	p->rev = pg_i64(r, i, 3);
	p->updated = pg_i64(r, i, 4);
}

static ward_status one(pg_store *s, int64_t school, const char *sql, pg_args *a,
                       srv_pupil_page *out)
{
	ward_status rc = WARD_ENOENT;
	PGresult *r = pg_read(s, school, sql, a);
	if (!r)
		return WARD_EIO;
	if (PQntuples(r) == 1) {
		row(r, 0, out);
		rc = WARD_OK;
	}
	PQclear(r);
	return rc;
}

static ward_status pg_page_get(srv_store *b, int64_t school_id, srv_pupil_page *out)
{
	pg_args a = {0};
	pg_arg_i64(&a, school_id);
	return one((pg_store *)b, school_id, COLS "WHERE school_id = $1", &a, out);
}

static ward_status pg_page_find(srv_store *b, const char *code, srv_pupil_page *out)
{
	pg_args a = {0};
	pg_arg_str(&a, code);
	return one((pg_store *)b, PG_ALL, COLS "WHERE code = $1", &a, out);
}

static ward_status pg_page_put(srv_store *b, srv_pupil_page *p, const srv_audit_in *a)
{
	pg_store *s = (pg_store *)b;
	ward_status rc;
	pg_args q = {0};
	PGresult *r;
	char target[64];
	unsigned char d[SRV_HASH_LEN];
	srv_audit_in in = *a;
	pg_conn *c = pg_begin(s, p->school_id, 1);
	if (!c)
		return WARD_EIO;
	pg_arg_i64(&q, p->school_id);
	pg_arg_i64(&q, p->enabled ? 1 : 0);
	pg_arg_str(&q, p->code);
	pg_arg_i64(&q, p->updated);
	r = pg_q(s, c,
	         "INSERT INTO pupil_pages (school_id, enabled, code, rev, updated)"
	         " VALUES ($1, $2, $3, 1, $4) ON CONFLICT (school_id) DO UPDATE SET"
	         " enabled = excluded.enabled, code = excluded.code, rev = pupil_pages.rev + 1,"
	         " updated = excluded.updated RETURNING rev",
	         &q);
	if (!r) {
		rc = pg_conflict(c) ? WARD_EINVAL : WARD_EIO;
		return pg_end(s, c, rc);
	}
	p->rev = pg_i64(r, 0, 0);
	PQclear(r);
	snprintf(target, sizeof target, "pupil-page/%lld/r%lld", (long long)p->school_id,
	         (long long)p->rev);
	in.target = target;
	srv_pupil_page_digest(p, d);
	rc = pg_audit(s, c, &in, d);
	return pg_end(s, c, rc);
}

static ward_status walker(srv_store *b, srv_row_cb cb, void *ctx)
{
	PGresult *r = pg_read((pg_store *)b, PG_ALL, COLS "ORDER BY school_id", NULL);
	if (!r)
		return WARD_EIO;
	for (int i = 0; i < PQntuples(r); i++) {
		srv_pupil_page p;
		char target[64];
		unsigned char d[SRV_HASH_LEN];
		row(r, i, &p);
		srv_pupil_page_digest(&p, d);
		snprintf(target, sizeof target, "pupil-page/%lld/r%lld", (long long)p.school_id,
		         (long long)p.rev);
		if (cb(ctx, target, d))
			break;
	}
	PQclear(r);
	return WARD_OK;
}

static const struct srv_pupil_ops ops = {pg_page_get, pg_page_find, pg_page_put};

static void attach(pg_store *s)
{
	s->base.pupil = &ops;
	srv_store_add_walker(&s->base, walker);
}

const pg_schema pg_schema_pupil_report = {"pupil_report", schema_pg_pupil_report,
                                          SCHEMA_PUPIL_REPORT_VERSIONS, attach};
