/* store_sqlite_trust.c: trusts in the SQLite store (store_trust.h).  A single-school SQLite
 * service rarely has one, but the interface is the same on both stores so that a school moves
 * to PostgreSQL (ward admin migrate) with its trust, and the tests run the same routes on both. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "schema.h"
#include "store_sqlite.h"
#include "store_trust.h"

void srv_trust_member_digest(int64_t school_id, const char *trust, int64_t rev,
                             unsigned char out[SRV_HASH_LEN])
{
	crypto_generichash_state h;
	unsigned char b[8];
	uint64_t n = (uint64_t)strlen(trust);
	crypto_generichash_init(&h, NULL, 0, SRV_HASH_LEN);
	crypto_generichash_update(&h, (const unsigned char *)"trust-member\n", 13);
	for (int k = 0; k < 3; k++) {
		uint64_t v = k == 0 ? (uint64_t)school_id : k == 1 ? n : (uint64_t)rev;
		for (int i = 0; i < 8; i++)
			b[i] = (unsigned char)(v >> (8 * i));
		crypto_generichash_update(&h, b, 8);
		if (k == 1)
			crypto_generichash_update(&h, (const unsigned char *)trust, (size_t)n);
	}
	crypto_generichash_final(&h, out, SRV_HASH_LEN);
}

static ward_status sq_trust_join(srv_store *b, const char *trust, int64_t school_id,
                                 const srv_audit_in *a)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st = NULL;
	int64_t rev = 1;
	char target[64];
	unsigned char d[SRV_HASH_LEN];
	srv_audit_in in = *a;
	pthread_mutex_lock(&s->mu);
	if (sq_exec(s, "BEGIN IMMEDIATE") != WARD_OK)
		goto out;
	st = sq_prep(s, "INSERT OR IGNORE INTO trusts (name) VALUES (?)");
	if (!st)
		goto done;
	sqlite3_bind_text(st, 1, trust, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sq_set_err(s, "trust");
		goto done;
	}
	sqlite3_finalize(st);
	st = sq_prep(s, "SELECT rev FROM trust_members WHERE school_id = ?");
	if (!st)
		goto done;
	sqlite3_bind_int64(st, 1, school_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		rev = sqlite3_column_int64(st, 0) + 1;
	sqlite3_finalize(st);
	st = sq_prep(s, "INSERT OR REPLACE INTO trust_members (school_id, trust_id, rev)"
	                " VALUES (?1, (SELECT id FROM trusts WHERE name = ?2), ?3)");
	if (!st)
		goto done;
	sqlite3_bind_int64(st, 1, school_id);
	sqlite3_bind_text(st, 2, trust, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, rev);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sq_set_err(s, "trust member");
		rc = WARD_EINVAL;
		goto done;
	}
	snprintf(target, sizeof target, "trust-member/%lld/r%lld", (long long)school_id,
	         (long long)rev);
	in.target = target;
	in.school_id = school_id;
	srv_trust_member_digest(school_id, trust, rev, d);
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

static ward_status sq_trust_of(srv_store *b, int64_t school_id, char *out, size_t cap)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->mu);
	st = sq_prep(s, "SELECT t.name FROM trust_members m JOIN trusts t ON t.id = m.trust_id"
	                " WHERE m.school_id = ?");
	if (st) {
		sqlite3_bind_int64(st, 1, school_id);
		rc = WARD_ENOENT;
		if (sqlite3_step(st) == SQLITE_ROW) {
			sq_copy_col(out, cap, st, 0);
			rc = WARD_OK;
		}
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* The schools of ?1's trust, or ?1 alone. */
#define MINE                                                                                       \
	"WITH mine(school_id) AS (SELECT school_id FROM trust_members WHERE trust_id ="            \
	" (SELECT trust_id FROM trust_members WHERE school_id = ?1) UNION SELECT ?1),"             \
	" latest AS (SELECT cv.concern_id, cv.version, cv.school_id, cv.created, cv.status"      \
	" FROM concern_versions cv WHERE cv.school_id IN (SELECT school_id FROM mine)"            \
	" AND cv.version = (SELECT MAX(version) FROM concern_versions v2"                         \
	" WHERE v2.concern_id = cv.concern_id)) "

static ward_status sq_trust_schools(srv_store *b, int64_t school_id, srv_trust_school_cb cb,
                                    void *ctx)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->mu);
	st = sq_prep(s, MINE "SELECT s.id, s.name,"
	                     " (SELECT COUNT(*) FROM latest l WHERE l.school_id = s.id),"
	                     " (SELECT COUNT(*) FROM latest l WHERE l.school_id = s.id"
	                     " AND l.status <> 'closed'),"
	                     " (SELECT COUNT(*) FROM notices n WHERE n.school_id = s.id"
	                     " AND n.acked_at = 0)"
	                     " FROM schools s WHERE s.id IN (SELECT school_id FROM mine) ORDER BY s.name");
	if (st) {
		srv_trust_school t;
		sqlite3_bind_int64(st, 1, school_id);
		while (sqlite3_step(st) == SQLITE_ROW) {
			memset(&t, 0, sizeof t);
			t.school_id = sqlite3_column_int64(st, 0);
			sq_copy_col(t.name, sizeof t.name, st, 1);
			t.concerns = sqlite3_column_int64(st, 2);
			t.open = sqlite3_column_int64(st, 3);
			t.unacknowledged = sqlite3_column_int64(st, 4);
			if (cb(ctx, &t))
				break;
		}
		rc = WARD_OK;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static ward_status sq_trust_concerns(srv_store *b, int64_t school_id, int limit,
                                     srv_trust_concern_cb cb, void *ctx)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->mu);
	st = sq_prep(s, MINE "SELECT l.concern_id, l.school_id, l.version, l.created, l.status,"
	                     " cv.payload, COALESCE((SELECT n.stage FROM notices n WHERE"
	                     " n.school_id = l.school_id AND n.kind = 'concern' AND"
	                     " n.ref_id = l.concern_id AND n.acked_at = 0), 0)"
	                     " FROM latest l JOIN concern_versions cv ON cv.concern_id ="
	                     " l.concern_id AND cv.version = l.version"
	                     " ORDER BY l.created DESC, l.concern_id DESC LIMIT ?2");
	if (st) {
		srv_trust_concern c;
		sqlite3_bind_int64(st, 1, school_id);
		sqlite3_bind_int(st, 2, limit);
		while (sqlite3_step(st) == SQLITE_ROW) {
			memset(&c, 0, sizeof c);
			c.id = sqlite3_column_int64(st, 0);
			c.school_id = sqlite3_column_int64(st, 1);
			c.version = sqlite3_column_int64(st, 2);
			c.created = sqlite3_column_int64(st, 3);
			sq_copy_col(c.status, sizeof c.status, st, 4);
			c.payload = sqlite3_column_blob(st, 5);
			c.payload_len = (size_t)sqlite3_column_bytes(st, 5);
			c.stage = sqlite3_column_int64(st, 6);
			if (cb(ctx, &c))
				break;
		}
		rc = WARD_OK;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* audit verify: each membership row against its latest entry. */
static ward_status walker(srv_store *b, srv_row_cb cb, void *ctx)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->mu);
	st = sq_prep(s, "SELECT m.school_id, t.name, m.rev FROM trust_members m"
	                " JOIN trusts t ON t.id = m.trust_id ORDER BY m.school_id");
	if (st) {
		char target[64], name[256];
		unsigned char d[SRV_HASH_LEN];
		while (sqlite3_step(st) == SQLITE_ROW) {
			int64_t school = sqlite3_column_int64(st, 0), rev = sqlite3_column_int64(st, 2);
			sq_copy_col(name, sizeof name, st, 1);
			srv_trust_member_digest(school, name, rev, d);
			snprintf(target, sizeof target, "trust-member/%lld/r%lld", (long long)school,
			         (long long)rev);
			if (cb(ctx, target, d))
				break;
		}
		rc = WARD_OK;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static const struct srv_trust_ops ops = {
    sq_trust_join,
    sq_trust_of,
    sq_trust_schools,
    sq_trust_concerns,
};

static void attach(sq_store *s)
{
	s->base.trust = &ops;
	srv_store_add_walker(&s->base, walker);
}

const sq_schema sq_schema_trust = {"trust", schema_sqlite_trust, SCHEMA_TRUST_VERSIONS, attach};
