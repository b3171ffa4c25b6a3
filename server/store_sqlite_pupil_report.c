/* store_sqlite_pupil_report.c: each school's pupil page (on or off, and its code) in the SQLite
 * store (store_pupil_report.h).  The row and its audit entry are written in one transaction;
 * audit verify walks every row against the digest its latest entry recorded. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "schema.h"
#include "store_pupil_report.h"
#include "store_sqlite.h"

static void put_i64(crypto_generichash_state *h, int64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)v >> (8 * i));
	crypto_generichash_update(h, b, 8);
}

void srv_pupil_page_digest(const srv_pupil_page *p, unsigned char out[SRV_HASH_LEN])
{
	crypto_generichash_state h;
	size_t n = strlen(p->code);
	crypto_generichash_init(&h, NULL, 0, SRV_HASH_LEN);
	crypto_generichash_update(&h, (const unsigned char *)"pupil-page\n", 11);
	put_i64(&h, p->school_id);
	put_i64(&h, p->rev);
	put_i64(&h, p->updated);
	put_i64(&h, p->enabled ? 1 : 0);
	put_i64(&h, (int64_t)n);
	crypto_generichash_update(&h, (const unsigned char *)p->code, n);
	crypto_generichash_final(&h, out, SRV_HASH_LEN);
}

static void row(sqlite3_stmt *st, srv_pupil_page *p)
{
	memset(p, 0, sizeof *p);
	p->school_id = sqlite3_column_int64(st, 0);
	p->enabled = sqlite3_column_int(st, 1) != 0;
	sq_copy_col(p->code, sizeof p->code, st, 2);
	p->rev = sqlite3_column_int64(st, 3);
	p->updated = sqlite3_column_int64(st, 4);
}

#define COLS "SELECT school_id, enabled, code, rev, updated FROM pupil_pages "

/* One row by school (code NULL) or by code. */
static ward_status get(srv_store *b, int64_t school_id, const char *code, srv_pupil_page *out)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->mu);
	st = sq_prep(s, code ? COLS "WHERE code = ?" : COLS "WHERE school_id = ?");
	if (st) {
		if (code)
			sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
		else
			sqlite3_bind_int64(st, 1, school_id);
		rc = WARD_ENOENT;
		if (sqlite3_step(st) == SQLITE_ROW) {
			row(st, out);
			rc = WARD_OK;
		}
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static ward_status sq_page_get(srv_store *b, int64_t school_id, srv_pupil_page *out)
{
	return get(b, school_id, NULL, out);
}

static ward_status sq_page_find(srv_store *b, const char *code, srv_pupil_page *out)
{
	return get(b, 0, code, out);
}

static ward_status sq_page_put(srv_store *b, srv_pupil_page *p, const srv_audit_in *a)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st = NULL;
	char target[64];
	unsigned char d[SRV_HASH_LEN];
	srv_audit_in in = *a;
	pthread_mutex_lock(&s->mu);
	if (sq_exec(s, "BEGIN IMMEDIATE") != WARD_OK)
		goto out;
	st = sq_prep(s, "SELECT rev FROM pupil_pages WHERE school_id = ?");
	if (!st)
		goto done;
	sqlite3_bind_int64(st, 1, p->school_id);
	p->rev = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) + 1 : 1;
	sqlite3_finalize(st);
	st =
	    sq_prep(s, "INSERT OR REPLACE INTO pupil_pages (school_id, enabled, code, rev, updated)"
	               " VALUES (?, ?, ?, ?, ?)");
	if (!st)
		goto done;
	sqlite3_bind_int64(st, 1, p->school_id);
	sqlite3_bind_int(st, 2, p->enabled ? 1 : 0);
	sqlite3_bind_text(st, 3, p->code, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, p->rev);
	sqlite3_bind_int64(st, 5, p->updated);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sq_set_err(s, "pupil page");
		rc = WARD_EINVAL;
		goto done;
	}
	snprintf(target, sizeof target, "pupil-page/%lld/r%lld", (long long)p->school_id,
	         (long long)p->rev);
	in.target = target;
	srv_pupil_page_digest(p, d);
	if (sq_audit_locked(s, &in, d) == WARD_OK && sq_exec(s, "COMMIT") == WARD_OK)
		rc = WARD_OK;
done:
	sqlite3_finalize(st);
	if (rc != WARD_OK)
		sq_exec(s, "ROLLBACK");
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* audit verify: each page row against its latest entry. */
static ward_status walker(srv_store *b, srv_row_cb cb, void *ctx)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->mu);
	st = sq_prep(s, COLS "ORDER BY school_id");
	if (st) {
		srv_pupil_page p;
		char target[64];
		unsigned char d[SRV_HASH_LEN];
		while (sqlite3_step(st) == SQLITE_ROW) {
			row(st, &p);
			srv_pupil_page_digest(&p, d);
			snprintf(target, sizeof target, "pupil-page/%lld/r%lld",
			         (long long)p.school_id, (long long)p.rev);
			if (cb(ctx, target, d))
				break;
		}
		rc = WARD_OK;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static const struct srv_pupil_ops ops = {sq_page_get, sq_page_find, sq_page_put};

static void attach(sq_store *s)
{
	s->base.pupil = &ops;
	srv_store_add_walker(&s->base, walker);
}

const sq_schema sq_schema_pupil_report = {"pupil_report", schema_sqlite_pupil_report,
                                          SCHEMA_PUPIL_REPORT_VERSIONS, attach};
