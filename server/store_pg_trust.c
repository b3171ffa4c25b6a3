/* store_pg_trust.c: trusts in the PostgreSQL store (store_trust.h).  The lead's reads first look
 * up the trust's schools, then run in a transaction whose ward.school is that list: the
 * row-level security policies bound the read to the trust's schools whatever the query says. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "store_pg.h"
#include "store_trust.h"

static ward_status pg_trust_join(srv_store *b, const char *trust, int64_t school_id,
                                 const srv_audit_in *a)
{
	pg_store *s = (pg_store *)b;
	ward_status rc;
	pg_args p = {0};
	PGresult *r;
	int64_t rev;
	char target[64];
	unsigned char d[SRV_HASH_LEN];
	srv_audit_in in = *a;
	pg_conn *c = pg_begin(s, school_id, 1);
	if (!c)
		return WARD_EIO;
	pg_arg_str(&p, trust);
	rc = pg_cmd(s, c, "INSERT INTO trusts (name) VALUES ($1) ON CONFLICT (name) DO NOTHING", &p,
	            NULL);
	if (rc != WARD_OK)
		goto done;
	memset(&p, 0, sizeof p);
	pg_arg_i64(&p, school_id);
	pg_arg_str(&p, trust);
	r = pg_q(s, c,
	         "INSERT INTO trust_members (school_id, trust_id, rev) VALUES ($1,"
	         " (SELECT id FROM trusts WHERE name = $2), 1) ON CONFLICT (school_id) DO UPDATE"
	         " SET trust_id = excluded.trust_id, rev = trust_members.rev + 1 RETURNING rev",
	         &p);
	if (!r) {
		rc = pg_conflict(c) ? WARD_EINVAL : WARD_EIO;
		goto done;
	}
	rev = pg_i64(r, 0, 0);
	PQclear(r);
	snprintf(target, sizeof target, "trust-member/%lld/r%lld", (long long)school_id,
	         (long long)rev);
	in.target = target;
	in.school_id = school_id;
	srv_trust_member_digest(school_id, trust, rev, d);
	rc = pg_audit(s, c, &in, d);
done:
	return pg_end(s, c, rc);
}

static ward_status pg_trust_of(srv_store *b, int64_t school_id, char *out, size_t cap)
{
	pg_store *s = (pg_store *)b;
	ward_status rc = WARD_ENOENT;
	pg_args p = {0};
	PGresult *r;
	pg_conn *c = pg_begin(s, school_id, 0);
	if (!c)
		return WARD_EIO;
	pg_arg_i64(&p, school_id);
	r = pg_q(s, c,
	         "SELECT t.name FROM trust_members m JOIN trusts t ON t.id = m.trust_id"
	         " WHERE m.school_id = $1",
	         &p);
	pg_end(s, c, WARD_OK);
	if (!r)
		return WARD_EIO;
	if (PQntuples(r) == 1) {
		pg_text(out, cap, r, 0, 0);
		rc = WARD_OK;
	}
	PQclear(r);
	return rc;
}

/* The trust's schools as "1,5,9" (school_id alone when it is in none). */
static ward_status schools_of(pg_store *s, int64_t school_id, char *out, size_t cap)
{
	ward_status rc = WARD_OK;
	pg_args p = {0};
	PGresult *r;
	pg_conn *c = pg_begin(s, PG_ALL, 0);
	if (!c)
		return WARD_EIO;
	pg_arg_i64(&p, school_id);
	r = pg_q(s, c,
	         "SELECT string_agg(school_id::text, ',' ORDER BY school_id) FROM trust_members"
	         " WHERE trust_id = (SELECT trust_id FROM trust_members WHERE school_id = $1)",
	         &p);
	pg_end(s, c, WARD_OK);
	if (!r)
		return WARD_EIO;
	if (PQgetisnull(r, 0, 0))
		snprintf(out, cap, "%lld", (long long)school_id);
	else if ((size_t)PQgetlength(r, 0, 0) >= cap)
		rc = WARD_EINVAL;
	else
		pg_text(out, cap, r, 0, 0);
	PQclear(r);
	return rc;
}

/* Runs sql in a transaction set to the trust's schools; the caller PQclears. */
static PGresult *trust_read(pg_store *s, int64_t school_id, const char *sql, pg_args *p)
{
	char list[PG_SCHOOLS_MAX];
	PGresult *r;
	pg_conn *c;
	if (schools_of(s, school_id, list, sizeof list) != WARD_OK)
		return NULL;
	c = pg_begin_schools(s, list);
	if (!c)
		return NULL;
	r = pg_q(s, c, sql, p);
	pg_end(s, c, WARD_OK);
	return r;
}

/* Deliberately no school condition: the transaction's policies are the bound. */
#define LATEST                                                                                     \
	"WITH latest AS (SELECT DISTINCT ON (concern_id) concern_id, version, school_id, created,"  \
	" status FROM concern_versions ORDER BY concern_id, version DESC) "

static ward_status pg_trust_schools(srv_store *b, int64_t school_id, srv_trust_school_cb cb,
                                    void *ctx)
{
	PGresult *r = trust_read(
	    (pg_store *)b, school_id,
	    LATEST "SELECT s.id, s.name,"
	           " (SELECT count(*) FROM latest l WHERE l.school_id = s.id),"
	           " (SELECT count(*) FROM latest l WHERE l.school_id = s.id AND l.status <> 'closed'),"
	           " (SELECT count(*) FROM notices n WHERE n.school_id = s.id AND n.acked_at = 0)"
	           " FROM schools s ORDER BY s.name",
	    NULL);
	if (!r)
		return WARD_EIO;
	for (int i = 0; i < PQntuples(r); i++) {
		srv_trust_school t;
		memset(&t, 0, sizeof t);
		t.school_id = pg_i64(r, i, 0);
		pg_text(t.name, sizeof t.name, r, i, 1);
		t.concerns = pg_i64(r, i, 2);
		t.open = pg_i64(r, i, 3);
		t.unacknowledged = pg_i64(r, i, 4);
		if (cb(ctx, &t))
			break;
	}
	PQclear(r);
	return WARD_OK;
}

static ward_status pg_trust_concerns(srv_store *b, int64_t school_id, int limit,
                                     srv_trust_concern_cb cb, void *ctx)
{
	pg_args p = {0};
	PGresult *r;
	unsigned char *blob = NULL;
	ward_status rc = WARD_OK;
	int stop;
	pg_arg_i64(&p, limit);
	r = trust_read((pg_store *)b, school_id,
	               LATEST "SELECT l.concern_id, l.school_id, l.version, l.created, l.status,"
	                      " cv.payload, COALESCE((SELECT n.stage FROM notices n WHERE"
	                      " n.school_id = l.school_id AND n.kind = 'concern' AND"
	                      " n.ref_id = l.concern_id AND n.acked_at = 0), 0)"
	                      " FROM latest l JOIN concern_versions cv ON cv.concern_id ="
	                      " l.concern_id AND cv.version = l.version"
	                      " ORDER BY l.created DESC, l.concern_id DESC LIMIT $1",
	               &p);
	if (!r)
		return WARD_EIO;
	for (int i = 0; i < PQntuples(r); i++) {
		srv_trust_concern t;
		memset(&t, 0, sizeof t);
		t.id = pg_i64(r, i, 0);
		t.school_id = pg_i64(r, i, 1);
		t.version = pg_i64(r, i, 2);
		t.created = pg_i64(r, i, 3);
		pg_text(t.status, sizeof t.status, r, i, 4);
		t.stage = pg_i64(r, i, 6);
		if (pg_blob_dup(r, i, 5, &blob, &t.payload_len) != WARD_OK) {
			rc = WARD_EIO;
			break;
		}
		t.payload = blob;
		stop = cb(ctx, &t);
		free(blob);
		blob = NULL;
		if (stop)
			break;
	}
	PQclear(r);
	return rc;
}

static ward_status walker(srv_store *b, srv_row_cb cb, void *ctx)
{
	pg_store *s = (pg_store *)b;
	PGresult *r;
	pg_conn *c = pg_begin(s, PG_ALL, 0);
	if (!c)
		return WARD_EIO;
	r = pg_q(s, c,
	         "SELECT m.school_id, t.name, m.rev FROM trust_members m JOIN trusts t"
	         " ON t.id = m.trust_id ORDER BY m.school_id",
	         NULL);
	pg_end(s, c, WARD_OK);
	if (!r)
		return WARD_EIO;
	for (int i = 0; i < PQntuples(r); i++) {
		char target[64], name[256];
		unsigned char d[SRV_HASH_LEN];
		int64_t school = pg_i64(r, i, 0), rev = pg_i64(r, i, 2);
		pg_text(name, sizeof name, r, i, 1);
		srv_trust_member_digest(school, name, rev, d);
		snprintf(target, sizeof target, "trust-member/%lld/r%lld", (long long)school,
		         (long long)rev);
		if (cb(ctx, target, d))
			break;
	}
	PQclear(r);
	return WARD_OK;
}

static const struct srv_trust_ops ops = {
    pg_trust_join,
    pg_trust_of,
    pg_trust_schools,
    pg_trust_concerns,
};

static void attach(pg_store *s)
{
	s->base.trust = &ops;
	srv_store_add_walker(&s->base, walker);
}

const pg_schema pg_schema_trust = {"trust", schema_pg_trust, SCHEMA_TRUST_VERSIONS, attach};
