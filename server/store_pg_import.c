/* store_pg_import.c: `ward admin migrate --to postgres`.  A school outgrows its own machine:
 * its SQLite database is copied into a PostgreSQL service in one PostgreSQL transaction, all
 * or nothing, under the audit head's lock as the store's writes take it.
 *
 * Into an empty service (no audit entry yet) the copy is row for row, keeping every id, every
 * concern version and the audit chain exactly as they are.
 *
 * Into a service that already holds schools (a trust moving its schools in one by one) the
 * ids cannot be kept: the school gets fresh ones (identity values from the service's
 * sequences; concerns, alerts, case entries and pupil records a fresh random 48-bit id, as
 * wardd draws them, checked free in the service), every reference is rewritten, and every
 * sealed field whose associated data names an id is opened with the school's key and sealed
 * again under the service's key and the new ids.  Sessions, sign-in failures and trust
 * memberships are not copied (people sign in again; the trust's memberships belong to the
 * service).  The school's audit history is appended to the service's chain as new entries
 * (new seq, chained to the service's head) with remapped targets and actors, and with the
 * digests of the copied rows recomputed as each feature's row walker computes them, so audit
 * verify passes with no special case.  The original chain is kept verbatim, every column, in
 * the append-only table audit_origin, and one live entry (action audit.import, target
 * audit-origin/IMPORT/head/SEQ) records a digest of the origin chain's head; the walker below
 * walks each origin chain on every audit verify, so tampering with the preserved history
 * shows too. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <sqlite3.h>

#include "schema.h"
#include "srv.h"
#include "store_alerts.h"
#include "store_cases.h"
#include "store_pg.h"
#include "store_pupil_report.h"
#include "totp.h"

/* ---- schema: the preserved origin chains (server/schema/import.schema) ---- */

/* What the live chain's audit.import entry records: the origin chain's head (seq and hash)
 * and its length, bound to the import. */
static void origin_digest(int64_t import_id, int64_t seq, const unsigned char hash[SRV_HASH_LEN],
                          int64_t entries, unsigned char out[SRV_HASH_LEN])
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, (const unsigned char *)"ward-audit-origin-v1", 20,
	                        SRV_HASH_LEN);
	srv_hash_i64(&h, import_id);
	srv_hash_i64(&h, seq);
	crypto_generichash_update(&h, hash, SRV_HASH_LEN);
	srv_hash_i64(&h, entries);
	crypto_generichash_final(&h, out, SRV_HASH_LEN);
}

/* audit verify: every audit.import entry of the live chain against its origin chain as it is
 * now: seqs from 1 without a gap, each entry's link to the one before, each hash from its
 * fields.  A broken or missing origin chain gives a digest that cannot match the entry's. */
static ward_status walker(srv_store *b, srv_row_cb cb, void *ctx)
{
	pg_store *s = (pg_store *)b;
	PGresult *imports = pg_read(
	    s, PG_ALL, "SELECT target FROM audit WHERE action = 'audit.import' ORDER BY seq", NULL);
	if (!imports)
		return WARD_EIO;
	for (int i = 0; i < PQntuples(imports); i++) {
		char target[128];
		long long import_id = 0, head = 0;
		unsigned char prev[SRV_HASH_LEN] = {0}, d[SRV_HASH_LEN];
		int64_t expect = 1, n = 0;
		int broken = 0;
		pg_text(target, sizeof target, imports, i, 0);
		if (sscanf(target, "audit-origin/%lld/head/%lld", &import_id, &head) != 2)
			broken = 1;
		for (int64_t last = 0; !broken;) {
			pg_args a = {0};
			PGresult *r;
			int rows;
			pg_arg_i64(&a, import_id);
			pg_arg_i64(&a, last);
			r = pg_read(
			    s, PG_ALL,
			    "SELECT seq, origin_school_id, actor_id, at, action, target, source,"
			    " digest, prev, hash FROM audit_origin WHERE import_id = $1 AND seq > "
			    "$2"
			    " ORDER BY seq LIMIT 5000",
			    &a);
			if (!r) {
				PQclear(imports);
				return WARD_EIO;
			}
			rows = PQntuples(r);
			for (int j = 0; j < rows && !broken; j++) {
				srv_audit e;
				unsigned char h[SRV_HASH_LEN];
				memset(&e, 0, sizeof e);
				e.seq = pg_i64(r, j, 0);
				e.school_id = pg_i64(r, j, 1);
				e.actor_id = pg_i64(r, j, 2);
				e.at = pg_i64(r, j, 3);
				pg_text(e.action, sizeof e.action, r, j, 4);
				pg_text(e.target, sizeof e.target, r, j, 5);
				pg_text(e.source, sizeof e.source, r, j, 6);
				pg_blob_fixed(e.digest, SRV_HASH_LEN, r, j, 7);
				pg_blob_fixed(e.prev, SRV_HASH_LEN, r, j, 8);
				pg_blob_fixed(e.hash, SRV_HASH_LEN, r, j, 9);
				srv_audit_hash(&e, h);
				if (e.seq != expect ||
				    sodium_memcmp(e.prev, prev, SRV_HASH_LEN) != 0 ||
				    sodium_memcmp(h, e.hash, SRV_HASH_LEN) != 0)
					broken = 1;
				memcpy(prev, e.hash, SRV_HASH_LEN);
				last = e.seq;
				expect = e.seq + 1;
				n++;
			}
			PQclear(r);
			if (rows < 5000)
				break;
		}
		if (broken || expect - 1 != head)
			origin_digest(import_id, -1, prev, -1, d);
		else
			origin_digest(import_id, head, prev, n, d);
		if (cb(ctx, target, d))
			break;
	}
	PQclear(imports);
	return WARD_OK;
}

static void attach(pg_store *s)
{
	srv_store_add_walker(&s->base, walker);
}

const pg_schema pg_schema_import = {"import", schema_pg_import, SCHEMA_IMPORT_VERSIONS, attach};

/* ---- the copy ---- */

/* In dependency order; notices come before concern_versions so the trigger that raises a new
 * concern's notice finds it already there (ON CONFLICT DO NOTHING) and ids stay as they were. */
static const struct {
	const char *table, *order, *id; /* id: the identity column to move past the copied rows */
} tables[] = {
    {"schools", "id", "id"},
    {"users", "id", "id"},
    {"sessions", "rowid", NULL},
    {"notices", "id", "id"},
    {"concern_versions", "concern_id, version", NULL},
    {"audit", "seq", NULL},
    {"service_tokens", "id", "id"},
    {"alerts", "id", NULL},
    {"notify_settings", "school_id", NULL},
    {"case_entries", "seq", "seq"},
    {"pupils", "rowid", "seq"},
    {"trusts", "id", "id"},
    {"trust_members", "school_id", NULL},
    {"pupil_pages", "school_id", NULL},
};

static ward_status run(PGconn *pg, const char *sql, char *msg, size_t cap)
{
	PGresult *r = PQexec(pg, sql);
	ward_status rc = WARD_OK;
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(msg, cap, "%s", PQresultErrorMessage(r));
		msg[strcspn(msg, "\n")] = '\0';
		rc = WARD_EIO;
	}
	PQclear(r);
	return rc;
}

static int table_exists(sqlite3 *db, const char *table)
{
	sqlite3_stmt *st = NULL;
	int yes;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
	                       -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	yes = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return yes;
}

/* Copies one table: the columns SQLite has, by name, into the same columns in PostgreSQL. */
static ward_status copy_table(sqlite3 *db, PGconn *pg, const char *table, const char *order,
                              char *msg, size_t cap, int64_t *rows)
{
	char sql[2048], ins[2048];
	sqlite3_stmt *st = NULL;
	ward_status rc = WARD_EIO;
	int ncol, off;
	if (!table_exists(db, table))
		return WARD_OK; /* made by a wardd older than the table: nothing to copy */
	snprintf(sql, sizeof sql, "SELECT * FROM %s ORDER BY %s", table, order);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(msg, cap, "%s: %s", table, sqlite3_errmsg(db));
		goto done;
	}
	ncol = sqlite3_column_count(st);
	if (ncol > PG_MAX_ARGS) {
		snprintf(msg, cap, "%s: too many columns", table);
		goto done;
	}
	off = snprintf(ins, sizeof ins, "INSERT INTO %s (", table);
	for (int i = 0; i < ncol; i++)
		off += snprintf(ins + off, sizeof ins - (size_t)off, "%s%s", i ? ", " : "",
		                sqlite3_column_name(st, i));
	off += snprintf(ins + off, sizeof ins - (size_t)off, ") VALUES (");
	for (int i = 0; i < ncol; i++)
		off += snprintf(ins + off, sizeof ins - (size_t)off, "%s$%d", i ? ", " : "", i + 1);
	off += snprintf(ins + off, sizeof ins - (size_t)off, ")%s",
	                strcmp(table, "notices") == 0 ? " ON CONFLICT DO NOTHING" : "");
	if ((size_t)off >= sizeof ins) {
		snprintf(msg, cap, "%s: statement too long", table);
		goto done;
	}
	for (;;) {
		int step = sqlite3_step(st);
		pg_args a = {0};
		PGresult *r;
		if (step == SQLITE_DONE)
			break;
		if (step != SQLITE_ROW) {
			snprintf(msg, cap, "%s: %s", table, sqlite3_errmsg(db));
			goto done;
		}
		for (int i = 0; i < ncol; i++) {
			switch (sqlite3_column_type(st, i)) {
			case SQLITE_NULL:
				pg_arg_str(&a, NULL);
				break;
			case SQLITE_BLOB:
				pg_arg_blob(&a, sqlite3_column_blob(st, i),
				            (size_t)sqlite3_column_bytes(st, i));
				break;
			case SQLITE_INTEGER:
				pg_arg_i64(&a, sqlite3_column_int64(st, i));
				break;
			default:
				pg_arg_str(&a, (const char *)sqlite3_column_text(st, i));
				break;
			}
		}
		r = PQexecParams(pg, ins, a.n, NULL, a.v, a.len, a.fmt, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			snprintf(msg, cap, "%s: %s", table, PQresultErrorMessage(r));
			msg[strcspn(msg, "\n")] = '\0';
			PQclear(r);
			goto done;
		}
		PQclear(r);
		(*rows)++;
	}
	rc = WARD_OK;
done:
	sqlite3_finalize(st);
	return rc;
}

/* The first school into an empty service: row for row, ids and chain as they are. */
static ward_status copy_exact(sqlite3 *db, PGconn *pg, char *msg, size_t cap, int64_t *rows)
{
	char sql[512];
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
		if (copy_table(db, pg, tables[i].table, tables[i].order, msg, cap, rows) != WARD_OK)
			return WARD_EIO;
	if (run(pg,
	        "UPDATE audit_head SET seq = a.seq, hash = a.hash FROM (SELECT seq, hash FROM audit"
	        " ORDER BY seq DESC LIMIT 1) a WHERE one = 1; RESET ROLE",
	        msg, cap) != WARD_OK)
		return WARD_EIO;
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
		if (!tables[i].id)
			continue;
		snprintf(sql, sizeof sql,
		         "SELECT setval(pg_get_serial_sequence('%s', '%s'), GREATEST((SELECT"
		         " max(%s) FROM %s), 1))",
		         tables[i].table, tables[i].id, tables[i].id, tables[i].table);
		if (run(pg, sql, msg, cap) != WARD_OK)
			return WARD_EIO;
	}
	return WARD_OK;
}

/* ---- into a service that holds schools: fresh ids ---- */

typedef struct id_pair {
	int64_t old, nw;
} id_pair;

typedef struct idmap {
	const char *what; /* in messages */
	id_pair *v;
	size_t n, cap;
} idmap;

typedef struct row_digest {
	char target[64];
	unsigned char d[SRV_HASH_LEN];
} row_digest;

typedef struct imp {
	sqlite3 *db;
	PGconn *pg;
	const unsigned char *skey, *tkey; /* the school's key; the service's */
	char *msg;
	size_t cap;
	int64_t *rows;
	idmap school, user, concern, alert, token, notice, entry, pupil;
	row_digest
	    *digs; /* targets of the copied rows with their digests, as the walkers see them */
	size_t n_digs, cap_digs;
	int oom;
} imp;

static int pair_cmp(const void *a, const void *b)
{
	int64_t x = ((const id_pair *)a)->old, y = ((const id_pair *)b)->old;
	return (x > y) - (x < y);
}

static int map_put(imp *m, idmap *map, int64_t old, int64_t nw)
{
	if (map->n == map->cap) {
		size_t cap = map->cap ? map->cap * 2 : 64;
		id_pair *v = realloc(map->v, cap * sizeof *v);
		if (!v) {
			snprintf(m->msg, m->cap, "out of memory");
			return 0;
		}
		map->v = v;
		map->cap = cap;
	}
	map->v[map->n].old = old;
	map->v[map->n++].nw = nw;
	return 1;
}

static int map_find(const idmap *map, int64_t old, int64_t *nw)
{
	id_pair key = {old, 0}, *p;
	p = map->n ? bsearch(&key, map->v, map->n, sizeof *map->v, pair_cmp) : NULL;
	if (p)
		*nw = p->nw;
	return p != NULL;
}

/* A reference that must be in the source (0 stays 0: "none"). */
static int ref(imp *m, const idmap *map, int64_t old, int64_t *nw, const char *in)
{
	if (old == 0) {
		*nw = 0;
		return 1;
	}
	if (map_find(map, old, nw))
		return 1;
	snprintf(m->msg, m->cap, "%s refers to %s %lld, which is not in the database", in,
	         map->what, (long long)old);
	return 0;
}

/* An actor: a user, a service token as minus its id (alerts posted by a detector), or 0. */
static int actor(imp *m, int64_t old, int64_t *nw, const char *in)
{
	if (old < 0) {
		if (!ref(m, &m->token, -old, nw, in))
			return 0;
		*nw = -*nw;
		return 1;
	}
	return ref(m, &m->user, old, nw, in);
}

static int add_digest(imp *m, const char *target, const unsigned char d[SRV_HASH_LEN])
{
	if (m->n_digs == m->cap_digs) {
		size_t cap = m->cap_digs ? m->cap_digs * 2 : 256;
		row_digest *v = realloc(m->digs, cap * sizeof *v);
		if (!v) {
			snprintf(m->msg, m->cap, "out of memory");
			return 0;
		}
		m->digs = v;
		m->cap_digs = cap;
	}
	snprintf(m->digs[m->n_digs].target, sizeof m->digs[0].target, "%s", target);
	memcpy(m->digs[m->n_digs++].d, d, SRV_HASH_LEN);
	return 1;
}

static int dig_cmp(const void *a, const void *b)
{
	return strcmp(((const row_digest *)a)->target, ((const row_digest *)b)->target);
}

static int pexec(imp *m, const char *what, const char *sql, const pg_args *a, PGresult **out)
{
	PGresult *r = PQexecParams(m->pg, sql, a ? a->n : 0, NULL, a ? a->v : NULL,
	                           a ? a->len : NULL, a ? a->fmt : NULL, 0);
	ExecStatusType t = PQresultStatus(r);
	if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK) {
		snprintf(m->msg, m->cap, "%s: %s", what, PQresultErrorMessage(r));
		m->msg[strcspn(m->msg, "\n")] = '\0';
		PQclear(r);
		return 0;
	}
	if (out)
		*out = r;
	else
		PQclear(r);
	return 1;
}

static sqlite3_stmt *prep(imp *m, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(m->db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(m->msg, m->cap, "the SQLite database: %s", sqlite3_errmsg(m->db));
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

/* 1 at a row, 0 at the end, -1 on failure (msg set). */
static int step(imp *m, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	snprintf(m->msg, m->cap, "the SQLite database: %s", sqlite3_errmsg(m->db));
	return -1;
}

static void col_text(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

/* Opens a sealed field with the school's key (associated data old_ad) and seals it again with
 * the service's key under new_ad.  *out the caller's (free). */
static int reseal(imp *m, const char *what, const char *old_ad, const char *new_ad, const void *in,
                  size_t n, unsigned char **out, size_t *out_len)
{
	char *plain = NULL;
	ward_status st;
	if (srv_open(m->skey, old_ad, in, n, &plain) != WARD_OK) {
		snprintf(m->msg, m->cap,
		         "%s does not open with the data directory's key (altered, or another key)",
		         what);
		return 0;
	}
	st = srv_seal(m->tkey, new_ad, plain, strlen(plain), out, out_len);
	sodium_memzero(plain, strlen(plain));
	free(plain);
	if (st != WARD_OK) {
		snprintf(m->msg, m->cap, "out of memory");
		return 0;
	}
	return 1;
}

/* New ids for every row of the source's query (one id a row, in its first column): from the
 * service's identity sequence of seq_table, or (seq_table NULL) a random 48-bit id that
 * check_sql ($1) finds free in the service. */
static int alloc_ids(imp *m, idmap *map, const char *src_sql, const char *seq_table,
                     const char *check_sql)
{
	sqlite3_stmt *st = prep(m, src_sql);
	int r = 0;
	if (!st)
		return 0;
	while ((r = step(m, st)) == 1) {
		int64_t old = sqlite3_column_int64(st, 0), nw = 0;
		PGresult *q = NULL;
		if (seq_table) {
			pg_args a = {0};
			pg_arg_str(&a, seq_table);
			if (!pexec(m, seq_table, "SELECT nextval(pg_get_serial_sequence($1, 'id'))",
			           &a, &q))
				break;
			nw = pg_i64(q, 0, 0);
			PQclear(q);
		} else {
			/* two rows of this copy drawing the same id is left to the tables' unique
			 * keys (the copy then fails whole) */
			for (int tries = 0; nw == 0 && tries < 16; tries++) {
				pg_args a = {0};
				int64_t v;
				randombytes_buf(&v, sizeof v);
				v = (int64_t)((uint64_t)v & 0xffffffffffffull);
				if (v == 0)
					continue;
				pg_arg_i64(&a, v);
				if (!pexec(m, map->what, check_sql, &a, &q))
					goto done;
				if (PQntuples(q) == 0)
					nw = v;
				PQclear(q);
			}
			if (nw == 0) {
				snprintf(m->msg, m->cap, "no free %s id found", map->what);
				break;
			}
		}
		if (!map_put(m, map, old, nw))
			break;
	}
done:
	sqlite3_finalize(st);
	if (map->n)
		qsort(map->v, map->n, sizeof *map->v, pair_cmp);
	return r == 0;
}

static int refuse_same_names(imp *m)
{
	sqlite3_stmt *st = prep(m, "SELECT id, name FROM schools ORDER BY id");
	int r;
	if (!st)
		return 0;
	while ((r = step(m, st)) == 1) {
		pg_args a = {0};
		PGresult *q;
		int taken;
		char name[256];
		col_text(st, 1, name, sizeof name);
		pg_arg_str(&a, name);
		if (!pexec(m, "schools", "SELECT 1 FROM schools WHERE name = $1", &a, &q)) {
			r = -1;
			break;
		}
		taken = PQntuples(q) > 0;
		PQclear(q);
		if (taken) {
			snprintf(
			    m->msg, m->cap,
			    "a school named \"%s\" is already in the PostgreSQL service; nothing "
			    "was copied",
			    name);
			r = -1;
			break;
		}
	}
	sqlite3_finalize(st);
	return r == 0;
}

static int copy_schools(imp *m)
{
	sqlite3_stmt *st = prep(m, "SELECT id, name, created FROM schools ORDER BY id");
	int r;
	if (!st)
		return 0;
	while ((r = step(m, st)) == 1) {
		pg_args a = {0};
		int64_t id;
		char name[256];
		if (!ref(m, &m->school, sqlite3_column_int64(st, 0), &id, "a school")) {
			r = -1;
			break;
		}
		col_text(st, 1, name, sizeof name);
		pg_arg_i64(&a, id);
		pg_arg_str(&a, name);
		pg_arg_i64(&a, sqlite3_column_int64(st, 2));
		if (!pexec(m, "schools",
		           "INSERT INTO schools (id, name, created) VALUES ($1, $2, $3)", &a,
		           NULL)) {
			r = -1;
			break;
		}
		(*m->rows)++;
	}
	sqlite3_finalize(st);
	return r == 0;
}

/* A sealed TOTP secret (associated data names the user id) under the new id; NULL stays NULL. */
static int reseal_totp(imp *m, sqlite3_stmt *st, int col, int64_t old, int64_t nw,
                       unsigned char **out, size_t *n)
{
	char b32[SRV_TOTP_B32];
	*out = NULL;
	*n = 0;
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return 1;
	if (srv_totp_open(m->skey, old, sqlite3_column_blob(st, col),
	                  (size_t)sqlite3_column_bytes(st, col), b32) != WARD_OK) {
		snprintf(
		    m->msg, m->cap,
		    "the second factor of user %lld does not open with the data directory's key",
		    (long long)old);
		return 0;
	}
	if (srv_totp_seal(m->tkey, nw, b32, out, n) != WARD_OK) {
		sodium_memzero(b32, sizeof b32);
		snprintf(m->msg, m->cap, "out of memory");
		return 0;
	}
	sodium_memzero(b32, sizeof b32);
	return 1;
}

static int copy_users(imp *m)
{
	sqlite3_stmt *st = prep(m, "SELECT id, school_id, username, pwhash, role, disabled,"
	                           " totp_secret, created, totp_pending, totp_last_step"
	                           " FROM users ORDER BY id");
	int r;
	if (!st)
		return 0;
	while ((r = step(m, st)) == 1) {
		pg_args a = {0};
		int64_t old = sqlite3_column_int64(st, 0), id, school;
		unsigned char *sec = NULL, *pend = NULL;
		size_t nsec = 0, npend = 0;
		char name[256], pw[512], role[32];
		int ok = ref(m, &m->user, old, &id, "a user") &&
		         ref(m, &m->school, sqlite3_column_int64(st, 1), &school, "a user") &&
		         reseal_totp(m, st, 6, old, id, &sec, &nsec) &&
		         reseal_totp(m, st, 8, old, id, &pend, &npend);
		if (ok) {
			col_text(st, 2, name, sizeof name);
			col_text(st, 3, pw, sizeof pw);
			col_text(st, 4, role, sizeof role);
			pg_arg_i64(&a, id);
			pg_arg_i64(&a, school);
			pg_arg_str(&a, name);
			pg_arg_str(&a, pw);
			pg_arg_str(&a, role);
			pg_arg_i64(&a, sqlite3_column_int64(st, 5));
			if (sec)
				pg_arg_blob(&a, sec, nsec);
			else
				pg_arg_str(&a, NULL);
			pg_arg_i64(&a, sqlite3_column_int64(st, 7));
			if (pend)
				pg_arg_blob(&a, pend, npend);
			else
				pg_arg_str(&a, NULL);
			pg_arg_i64(&a, sqlite3_column_int64(st, 9));
			ok = pexec(
			    m, "users",
			    "INSERT INTO users (id, school_id, username, pwhash, role, disabled,"
			    " totp_secret, created, totp_pending, totp_last_step)"
			    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
			    &a, NULL);
			sodium_memzero(pw, sizeof pw);
		}
		free(sec);
		free(pend);
		if (!ok) {
			r = -1;
			break;
		}
		(*m->rows)++;
	}
	sqlite3_finalize(st);
	return r == 0;
}

static int copy_notices(imp *m)
{
	sqlite3_stmt *st;
	int r;
	if (!table_exists(m->db, "notices"))
		return 1;
	st = prep(m, "SELECT id, school_id, rev, kind, ref_id, raised_at, stage, next_at, acked_at,"
	             " acked_by FROM notices ORDER BY id");
	if (!st)
		return 0;
	while ((r = step(m, st)) == 1) {
		srv_notice n;
		pg_args a = {0};
		int ok;
		memset(&n, 0, sizeof n);
		col_text(st, 3, n.kind, sizeof n.kind);
		ok = ref(m, &m->notice, sqlite3_column_int64(st, 0), &n.id, "a notice") &&
		     ref(m, &m->school, sqlite3_column_int64(st, 1), &n.school_id, "a notice") &&
		     actor(m, sqlite3_column_int64(st, 9), &n.acked_by, "a notice");
		if (ok && strcmp(n.kind, "concern") == 0)
			ok =
			    ref(m, &m->concern, sqlite3_column_int64(st, 4), &n.ref_id, "a notice");
		else if (ok && strcmp(n.kind, "alert") == 0)
			ok = ref(m, &m->alert, sqlite3_column_int64(st, 4), &n.ref_id, "a notice");
		else if (ok) {
			snprintf(m->msg, m->cap, "a notice of an unknown kind (%s)", n.kind);
			ok = 0;
		}
		if (!ok) {
			r = -1;
			break;
		}
		n.rev = sqlite3_column_int64(st, 2);
		n.raised_at = sqlite3_column_int64(st, 5);
		n.stage = sqlite3_column_int64(st, 6);
		n.next_at = sqlite3_column_int64(st, 7);
		n.acked_at = sqlite3_column_int64(st, 8);
		pg_arg_i64(&a, n.id);
		pg_arg_i64(&a, n.school_id);
		pg_arg_i64(&a, n.rev);
		pg_arg_str(&a, n.kind);
		pg_arg_i64(&a, n.ref_id);
		pg_arg_i64(&a, n.raised_at);
		pg_arg_i64(&a, n.stage);
		pg_arg_i64(&a, n.next_at);
		pg_arg_i64(&a, n.acked_at);
		pg_arg_i64(&a, n.acked_by);
		if (!pexec(
		        m, "notices",
		        "INSERT INTO notices (id, school_id, rev, kind, ref_id, raised_at, stage,"
		        " next_at, acked_at, acked_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
		        "$10)",
		        &a, NULL)) {
			r = -1;
			break;
		}
		if (n.rev > 0) { /* revision 0 was raised by its concern's or alert's own write */
			char target[64];
			unsigned char d[SRV_HASH_LEN];
			srv_notice_digest(&n, d);
			snprintf(target, sizeof target, "notice/%lld/r%lld", (long long)n.id,
			         (long long)n.rev);
			if (!add_digest(m, target, d)) {
				r = -1;
				break;
			}
		}
		(*m->rows)++;
	}
	sqlite3_finalize(st);
	return r == 0;
}

static int copy_concerns(imp *m)
{
	sqlite3_stmt *st = prep(m, "SELECT concern_id, version, school_id, reporter_id, created,"
	                           " status, payload FROM concern_versions"
	                           " ORDER BY concern_id, version");
	int r;
	if (!st)
		return 0;
	while ((r = step(m, st)) == 1) {
		srv_concern c;
		pg_args a = {0};
		int64_t old = sqlite3_column_int64(st, 0), old_school = sqlite3_column_int64(st, 2);
		char old_ad[96], ad[96], what[96], target[64];
		unsigned char d[SRV_HASH_LEN];
		int ok;
		memset(&c, 0, sizeof c);
		c.version = sqlite3_column_int64(st, 1);
		snprintf(what, sizeof what, "concern %lld version %lld", (long long)old,
		         (long long)c.version);
		ok = ref(m, &m->concern, old, &c.id, what) &&
		     ref(m, &m->school, old_school, &c.school_id, what) &&
		     actor(m, sqlite3_column_int64(st, 3), &c.reporter_id, what);
		if (ok) {
			srv_concern_ad(old, old_school, old_ad, sizeof old_ad);
			srv_concern_ad(c.id, c.school_id, ad, sizeof ad);
			ok =
			    reseal(m, what, old_ad, ad, sqlite3_column_blob(st, 6),
			           (size_t)sqlite3_column_bytes(st, 6), &c.payload, &c.payload_len);
		}
		if (ok) {
			c.created = sqlite3_column_int64(st, 4);
			col_text(st, 5, c.status, sizeof c.status);
			pg_arg_i64(&a, c.id);
			pg_arg_i64(&a, c.version);
			pg_arg_i64(&a, c.school_id);
			pg_arg_i64(&a, c.reporter_id);
			pg_arg_i64(&a, c.created);
			pg_arg_str(&a, c.status);
			pg_arg_blob(&a, c.payload, c.payload_len);
			ok = pexec(m, "concern_versions",
			           "INSERT INTO concern_versions (concern_id, version, school_id,"
			           " reporter_id, created, status, payload)"
			           " VALUES ($1, $2, $3, $4, $5, $6, $7)",
			           &a, NULL);
		}
		if (ok) {
			srv_concern_digest(&c, d);
			snprintf(target, sizeof target, "concern/%lld/v%lld", (long long)c.id,
			         (long long)c.version);
			ok = add_digest(m, target, d);
		}
		srv_concern_clear(&c);
		if (!ok) {
			r = -1;
			break;
		}
		(*m->rows)++;
	}
	sqlite3_finalize(st);
	return r == 0;
}

static int copy_tokens(imp *m)
{
	sqlite3_stmt *st;
	int r;
	if (!table_exists(m->db, "service_tokens"))
		return 1;
	st = prep(m, "SELECT id, school_id, name, hash, created, revoked, rev FROM service_tokens"
	             " ORDER BY id");
	if (!st)
		return 0;
	while ((r = step(m, st)) == 1) {
		srv_token t;
		pg_args a = {0};
		int64_t rev = sqlite3_column_int64(st, 6);
		char target[64];
		unsigned char d[SRV_HASH_LEN];
		memset(&t, 0, sizeof t);
		if (!ref(m, &m->token, sqlite3_column_int64(st, 0), &t.id, "a service token") ||
		    !ref(m, &m->school, sqlite3_column_int64(st, 1), &t.school_id,
		         "a service token")) {
			r = -1;
			break;
		}
		col_text(st, 2, t.name, sizeof t.name);
		if (sqlite3_column_bytes(st, 3) == SRV_HASH_LEN)
			memcpy(t.hash, sqlite3_column_blob(st, 3), SRV_HASH_LEN);
		t.created = sqlite3_column_int64(st, 4);
		t.revoked = sqlite3_column_int64(st, 5);
		pg_arg_i64(&a, t.id);
		pg_arg_i64(&a, t.school_id);
		pg_arg_str(&a, t.name);
		pg_arg_blob(&a, t.hash, SRV_HASH_LEN);
		pg_arg_i64(&a, t.created);
		pg_arg_i64(&a, t.revoked);
		pg_arg_i64(&a, rev);
		if (!pexec(m, "service_tokens",
		           "INSERT INTO service_tokens (id, school_id, name, hash, created, "
		           "revoked, rev)"
		           " VALUES ($1, $2, $3, $4, $5, $6, $7)",
		           &a, NULL)) {
			r = -1;
			break;
		}
		srv_token_digest(&t, d);
		snprintf(target, sizeof target, "token/%lld/r%lld", (long long)t.id,
		         (long long)rev);
		if (!add_digest(m, target, d)) {
			r = -1;
			break;
		}
		(*m->rows)++;
	}
	sqlite3_finalize(st);
	return r == 0;
}

static int copy_alerts(imp *m)
{
	sqlite3_stmt *st;
	int r;
	if (!table_exists(m->db, "alerts"))
		return 1;
	st = prep(m, "SELECT id, school_id, rev, token_id, area, rule, severity, source, dedup_key,"
	             " first_seen, last_seen, count, status, concern_id, decided_by, decided_at,"
	             " payload FROM alerts ORDER BY id");
	if (!st)
		return 0;
	while ((r = step(m, st)) == 1) {
		srv_alert al;
		pg_args a = {0};
		int64_t old = sqlite3_column_int64(st, 0), old_school = sqlite3_column_int64(st, 1);
		char old_ad[96], ad[96], what[64], target[64];
		unsigned char d[SRV_HASH_LEN];
		int ok;
		memset(&al, 0, sizeof al);
		snprintf(what, sizeof what, "alert %lld", (long long)old);
		ok = ref(m, &m->alert, old, &al.id, what) &&
		     ref(m, &m->school, old_school, &al.school_id, what) &&
		     ref(m, &m->token, sqlite3_column_int64(st, 3), &al.token_id, what) &&
		     ref(m, &m->concern, sqlite3_column_int64(st, 13), &al.concern_id, what) &&
		     actor(m, sqlite3_column_int64(st, 14), &al.decided_by, what);
		if (ok) {
			srv_alert_ad(old, old_school, old_ad, sizeof old_ad);
			srv_alert_ad(al.id, al.school_id, ad, sizeof ad);
			ok = reseal(m, what, old_ad, ad, sqlite3_column_blob(st, 16),
			            (size_t)sqlite3_column_bytes(st, 16), &al.payload,
			            &al.payload_len);
		}
		if (ok) {
			al.rev = sqlite3_column_int64(st, 2);
			col_text(st, 4, al.area, sizeof al.area);
			col_text(st, 5, al.rule, sizeof al.rule);
			col_text(st, 6, al.severity, sizeof al.severity);
			col_text(st, 7, al.source, sizeof al.source);
			col_text(st, 8, al.dedup_key, sizeof al.dedup_key);
			al.first_seen = sqlite3_column_int64(st, 9);
			al.last_seen = sqlite3_column_int64(st, 10);
			al.count = sqlite3_column_int64(st, 11);
			col_text(st, 12, al.status, sizeof al.status);
			al.decided_at = sqlite3_column_int64(st, 15);
			pg_arg_i64(&a, al.id);
			pg_arg_i64(&a, al.school_id);
			pg_arg_i64(&a, al.rev);
			pg_arg_i64(&a, al.token_id);
			pg_arg_str(&a, al.area);
			pg_arg_str(&a, al.rule);
			pg_arg_str(&a, al.severity);
			pg_arg_str(&a, al.source);
			pg_arg_str(&a, al.dedup_key);
			pg_arg_i64(&a, al.first_seen);
			pg_arg_i64(&a, al.last_seen);
			pg_arg_i64(&a, al.count);
			pg_arg_str(&a, al.status);
			pg_arg_i64(&a, al.concern_id);
			pg_arg_i64(&a, al.decided_by);
			pg_arg_i64(&a, al.decided_at);
			pg_arg_blob(&a, al.payload, al.payload_len);
			ok = pexec(
			    m, "alerts",
			    "INSERT INTO alerts (id, school_id, rev, token_id, area, rule, "
			    "severity,"
			    " source, dedup_key, first_seen, last_seen, count, status, concern_id,"
			    " decided_by, decided_at, payload) VALUES ($1, $2, $3, $4, $5, $6, $7,"
			    " $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
			    &a, NULL);
		}
		if (ok) {
			srv_alert_digest(&al, d);
			snprintf(target, sizeof target, "alert/%lld/r%lld", (long long)al.id,
			         (long long)al.rev);
			ok = add_digest(m, target, d);
		}
		free(al.payload);
		if (!ok) {
			r = -1;
			break;
		}
		(*m->rows)++;
	}
	sqlite3_finalize(st);
	return r == 0;
}

static int copy_settings(imp *m)
{
	sqlite3_stmt *st;
	int r;
	if (!table_exists(m->db, "notify_settings"))
		return 1;
	st =
	    prep(m, "SELECT school_id, rev, escalation_minutes, dedup_minutes, smtp_url, mail_from,"
	            " dsl_emails, deputy_emails, head_emails, base_url FROM notify_settings"
	            " ORDER BY school_id");
	if (!st)
		return 0;
	while ((r = step(m, st)) == 1) {
		srv_notify_settings n;
		pg_args a = {0};
		char target[64];
		unsigned char d[SRV_HASH_LEN];
		memset(&n, 0, sizeof n);
		if (!ref(m, &m->school, sqlite3_column_int64(st, 0), &n.school_id,
		         "notify settings")) {
			r = -1;
			break;
		}
		n.rev = sqlite3_column_int64(st, 1);
		n.escalation_minutes = sqlite3_column_int64(st, 2);
		n.dedup_minutes = sqlite3_column_int64(st, 3);
		col_text(st, 4, n.smtp_url, sizeof n.smtp_url);
		col_text(st, 5, n.mail_from, sizeof n.mail_from);
		col_text(st, 6, n.dsl_emails, sizeof n.dsl_emails);
		col_text(st, 7, n.deputy_emails, sizeof n.deputy_emails);
		col_text(st, 8, n.head_emails, sizeof n.head_emails);
		col_text(st, 9, n.base_url, sizeof n.base_url);
		pg_arg_i64(&a, n.school_id);
		pg_arg_i64(&a, n.rev);
		pg_arg_i64(&a, n.escalation_minutes);
		pg_arg_i64(&a, n.dedup_minutes);
		pg_arg_str(&a, n.smtp_url);
		pg_arg_str(&a, n.mail_from);
		pg_arg_str(&a, n.dsl_emails);
		pg_arg_str(&a, n.deputy_emails);
		pg_arg_str(&a, n.head_emails);
		pg_arg_str(&a, n.base_url);
		if (!pexec(
		        m, "notify_settings",
		        "INSERT INTO notify_settings (school_id, rev, escalation_minutes,"
		        " dedup_minutes, smtp_url, mail_from, dsl_emails, deputy_emails,"
		        " head_emails, base_url) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
		        &a, NULL)) {
			r = -1;
			break;
		}
		srv_settings_digest(&n, d);
		snprintf(target, sizeof target, "notify-settings/%lld/r%lld",
		         (long long)n.school_id, (long long)n.rev);
		if (!add_digest(m, target, d)) {
			r = -1;
			break;
		}
		(*m->rows)++;
	}
	sqlite3_finalize(st);
	return r == 0;
}

/* A case entry's ref names a pupil record as "pupil/ID" (transfers, receipts); other refs are
 * a checklist item's, a trigger's, a device's or a referral's own name. */
static int remap_entry_ref(imp *m, const char *old, char *out, size_t cap, const char *what)
{
	long long id;
	char tail;
	if (sscanf(old, "pupil/%lld%c", &id, &tail) == 1) {
		int64_t nw;
		if (!ref(m, &m->pupil, id, &nw, what))
			return 0;
		snprintf(out, cap, "pupil/%lld", (long long)nw);
	} else {
		snprintf(out, cap, "%s", old);
	}
	return 1;
}

static int copy_entries(imp *m)
{
	sqlite3_stmt *st;
	int r;
	if (!table_exists(m->db, "case_entries"))
		return 1;
	st = prep(m, "SELECT id, school_id, concern_id, actor_id, created, kind, ref, payload"
	             " FROM case_entries ORDER BY seq");
	if (!st)
		return 0;
	while ((r = step(m, st)) == 1) {
		srv_case_entry e;
		pg_args a = {0};
		int64_t old = sqlite3_column_int64(st, 0), old_school = sqlite3_column_int64(st, 1),
		        old_concern = sqlite3_column_int64(st, 2);
		char old_ref[64], old_ad[256], ad[256], what[64], target[64];
		unsigned char d[SRV_HASH_LEN];
		int ok;
		memset(&e, 0, sizeof e);
		snprintf(what, sizeof what, "case entry %lld", (long long)old);
		col_text(st, 5, e.kind, sizeof e.kind);
		col_text(st, 6, old_ref, sizeof old_ref);
		ok = ref(m, &m->entry, old, &e.id, what) &&
		     ref(m, &m->school, old_school, &e.school_id, what) &&
		     ref(m, &m->concern, old_concern, &e.concern_id, what) &&
		     actor(m, sqlite3_column_int64(st, 3), &e.actor_id, what) &&
		     remap_entry_ref(m, old_ref, e.ref, sizeof e.ref, what);
		if (ok) {
			srv_case_entry old_e = e; /* the entry as the source sealed it */
			old_e.id = old;
			old_e.school_id = old_school;
			old_e.concern_id = old_concern;
			snprintf(old_e.ref, sizeof old_e.ref, "%s", old_ref);
			srv_case_entry_ad(&old_e, old_ad, sizeof old_ad);
			srv_case_entry_ad(&e, ad, sizeof ad);
			ok =
			    reseal(m, what, old_ad, ad, sqlite3_column_blob(st, 7),
			           (size_t)sqlite3_column_bytes(st, 7), &e.payload, &e.payload_len);
		}
		if (ok) {
			e.created = sqlite3_column_int64(st, 4);
			pg_arg_i64(&a, e.id);
			pg_arg_i64(&a, e.school_id);
			pg_arg_i64(&a, e.concern_id);
			pg_arg_i64(&a, e.actor_id);
			pg_arg_i64(&a, e.created);
			pg_arg_str(&a, e.kind);
			pg_arg_str(&a, e.ref);
			pg_arg_blob(&a, e.payload, e.payload_len);
			ok = pexec(m, "case_entries",
			           "INSERT INTO case_entries (id, school_id, concern_id, actor_id, "
			           "created,"
			           " kind, ref, payload) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
			           &a, NULL);
		}
		if (ok) {
			srv_case_entry_digest(&e, d);
			snprintf(target, sizeof target, "case-entry/%lld", (long long)e.id);
			ok = add_digest(m, target, d);
		}
		free(e.payload);
		if (!ok) {
			r = -1;
			break;
		}
		(*m->rows)++;
	}
	sqlite3_finalize(st);
	return r == 0;
}

static int copy_pupils(imp *m)
{
	sqlite3_stmt *st;
	int r;
	if (!table_exists(m->db, "pupils"))
		return 1;
	st = prep(m, "SELECT id, school_id, actor_id, created, payload FROM pupils ORDER BY rowid");
	if (!st)
		return 0;
	while ((r = step(m, st)) == 1) {
		srv_pupil p;
		pg_args a = {0};
		int64_t old = sqlite3_column_int64(st, 0), old_school = sqlite3_column_int64(st, 1);
		char old_ad[96], ad[96], what[64], target[64];
		unsigned char d[SRV_HASH_LEN];
		int ok;
		memset(&p, 0, sizeof p);
		snprintf(what, sizeof what, "pupil record %lld", (long long)old);
		ok = ref(m, &m->pupil, old, &p.id, what) &&
		     ref(m, &m->school, old_school, &p.school_id, what) &&
		     actor(m, sqlite3_column_int64(st, 2), &p.actor_id, what);
		if (ok) {
			srv_pupil_ad(old, old_school, old_ad, sizeof old_ad);
			srv_pupil_ad(p.id, p.school_id, ad, sizeof ad);
			ok =
			    reseal(m, what, old_ad, ad, sqlite3_column_blob(st, 4),
			           (size_t)sqlite3_column_bytes(st, 4), &p.payload, &p.payload_len);
		}
		if (ok) {
			p.created = sqlite3_column_int64(st, 3);
			pg_arg_i64(&a, p.id);
			pg_arg_i64(&a, p.school_id);
			pg_arg_i64(&a, p.actor_id);
			pg_arg_i64(&a, p.created);
			pg_arg_blob(&a, p.payload, p.payload_len);
			ok = pexec(m, "pupils",
			           "INSERT INTO pupils (id, school_id, actor_id, created, payload)"
			           " VALUES ($1, $2, $3, $4, $5)",
			           &a, NULL);
		}
		if (ok) {
			srv_pupil_digest(&p, d);
			snprintf(target, sizeof target, "pupil/%lld", (long long)p.id);
			ok = add_digest(m, target, d);
		}
		free(p.payload);
		if (!ok) {
			r = -1;
			break;
		}
		(*m->rows)++;
	}
	sqlite3_finalize(st);
	return r == 0;
}

static int copy_pupil_pages(imp *m)
{
	sqlite3_stmt *st;
	int r;
	if (!table_exists(m->db, "pupil_pages"))
		return 1;
	st = prep(m, "SELECT school_id, enabled, code, rev, updated FROM pupil_pages"
	             " ORDER BY school_id");
	if (!st)
		return 0;
	while ((r = step(m, st)) == 1) {
		srv_pupil_page p;
		pg_args a = {0};
		char target[64];
		unsigned char d[SRV_HASH_LEN];
		memset(&p, 0, sizeof p);
		if (!ref(m, &m->school, sqlite3_column_int64(st, 0), &p.school_id,
		         "a pupil page")) {
			r = -1;
			break;
		}
		p.enabled = sqlite3_column_int64(st, 1) != 0;
		col_text(st, 2, p.code, sizeof p.code);
		p.rev = sqlite3_column_int64(st, 3);
		p.updated = sqlite3_column_int64(st, 4);
		pg_arg_i64(&a, p.school_id);
		pg_arg_i64(&a, p.enabled);
		pg_arg_str(&a, p.code);
		pg_arg_i64(&a, p.rev);
		pg_arg_i64(&a, p.updated);
		if (!pexec(m, "pupil_pages",
		           "INSERT INTO pupil_pages (school_id, enabled, code, rev, updated)"
		           " VALUES ($1, $2, $3, $4, $5)",
		           &a, NULL)) {
			r = -1;
			break;
		}
		srv_pupil_page_digest(&p, d);
		snprintf(target, sizeof target, "pupil-page/%lld/r%lld", (long long)p.school_id,
		         (long long)p.rev);
		if (!add_digest(m, target, d)) {
			r = -1;
			break;
		}
		(*m->rows)++;
	}
	sqlite3_finalize(st);
	return r == 0;
}

/* An audit entry's target with its ids rewritten ("KIND/ID" then what follows).  *dropped is
 * set when the target names a row that is not copied (a trust membership): its digest is then
 * not carried into the live chain, where a later membership of the same revision would
 * otherwise meet it. */
static int remap_target(imp *m, const char *old, char *out, size_t cap, int *dropped)
{
	static const struct {
		const char *kind;
		size_t map; /* offsetof the idmap in imp */
	} kinds[] = {
	    {"concern/", offsetof(imp, concern)},   {"alert/", offsetof(imp, alert)},
	    {"case-entry/", offsetof(imp, entry)},  {"pupil/", offsetof(imp, pupil)},
	    {"notice/", offsetof(imp, notice)},     {"token/", offsetof(imp, token)},
	    {"user/", offsetof(imp, user)},         {"notify-settings/", offsetof(imp, school)},
	    {"pupil-page/", offsetof(imp, school)}, {"trust-member/", offsetof(imp, school)},
	};
	*dropped = 0;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		size_t k = strlen(kinds[i].kind);
		const idmap *map = (const idmap *)((const char *)m + kinds[i].map);
		char *end;
		long long id;
		int64_t nw;
		if (strncmp(old, kinds[i].kind, k) != 0 || old[k] < '0' || old[k] > '9')
			continue;
		id = strtoll(old + k, &end, 10);
		if (*end != '\0' && *end != '/')
			continue;
		if (!map_find(map, id, &nw)) {
			/* an id the source does not hold (a read of something since gone): kept as
			 * it was, marked so it cannot be taken for a row of the service */
			if ((size_t)snprintf(out, cap, "origin:%s", old) >= cap)
				snprintf(out, cap, "%s", old);
			*dropped = 1;
			return 1;
		}
		if ((size_t)snprintf(out, cap, "%.*s%lld%s", (int)k, old, (long long)nw, end) >=
		    cap) {
			snprintf(m->msg, m->cap, "audit target %s is too long with its new id",
			         old);
			return 0;
		}
		*dropped = strcmp(kinds[i].kind, "trust-member/") == 0;
		return 1;
	}
	snprintf(out, cap, "%s", old);
	return 1;
}

/* Appends one entry to the live chain in the open transaction, chained to *seq/head. */
static int append_live(imp *m, srv_audit *e, int64_t *seq, unsigned char head[SRV_HASH_LEN])
{
	pg_args a = {0};
	e->seq = ++*seq;
	memcpy(e->prev, head, SRV_HASH_LEN);
	srv_audit_hash(e, e->hash);
	pg_arg_i64(&a, e->seq);
	pg_arg_i64(&a, e->school_id);
	pg_arg_i64(&a, e->actor_id);
	pg_arg_i64(&a, e->at);
	pg_arg_str(&a, e->action);
	pg_arg_str(&a, e->target);
	pg_arg_str(&a, e->source);
	pg_arg_blob(&a, e->digest, SRV_HASH_LEN);
	pg_arg_blob(&a, e->prev, SRV_HASH_LEN);
	pg_arg_blob(&a, e->hash, SRV_HASH_LEN);
	if (!pexec(
	        m, "audit",
	        "INSERT INTO audit (seq, school_id, actor_id, at, action, target, source, digest,"
	        " prev, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
	        &a, NULL))
		return 0;
	memcpy(head, e->hash, SRV_HASH_LEN);
	return 1;
}

/* The source's chain: each entry checked as audit verify checks it, kept verbatim in
 * audit_origin, and appended to the live chain with its ids rewritten; then the audit.import
 * entry naming the origin head. */
static int copy_audit(imp *m, int64_t import_id, int64_t owner, int64_t *seq,
                      unsigned char head[SRV_HASH_LEN], int64_t *origin_seq,
                      unsigned char origin_hash[SRV_HASH_LEN], int64_t *n_out)
{
	sqlite3_stmt *st = prep(m, "SELECT seq, school_id, actor_id, at, action, target, source,"
	                           " digest, prev, hash FROM audit ORDER BY seq");
	unsigned char prev[SRV_HASH_LEN] = {0};
	static const unsigned char zero[SRV_HASH_LEN];
	int64_t expect = 1, n = 0;
	int r;
	if (!st)
		return 0;
	qsort(m->digs, m->n_digs, sizeof *m->digs, dig_cmp);
	while ((r = step(m, st)) == 1) {
		srv_audit o, e;
		pg_args a = {0};
		unsigned char h[SRV_HASH_LEN];
		row_digest key, *rd;
		int dropped = 0;
		memset(&o, 0, sizeof o);
		o.seq = sqlite3_column_int64(st, 0);
		o.school_id = sqlite3_column_int64(st, 1);
		o.actor_id = sqlite3_column_int64(st, 2);
		o.at = sqlite3_column_int64(st, 3);
		col_text(st, 4, o.action, sizeof o.action);
		col_text(st, 5, o.target, sizeof o.target);
		col_text(st, 6, o.source, sizeof o.source);
		if (sqlite3_column_bytes(st, 7) == SRV_HASH_LEN)
			memcpy(o.digest, sqlite3_column_blob(st, 7), SRV_HASH_LEN);
		if (sqlite3_column_bytes(st, 8) == SRV_HASH_LEN)
			memcpy(o.prev, sqlite3_column_blob(st, 8), SRV_HASH_LEN);
		if (sqlite3_column_bytes(st, 9) == SRV_HASH_LEN)
			memcpy(o.hash, sqlite3_column_blob(st, 9), SRV_HASH_LEN);
		srv_audit_hash(&o, h);
		if (o.seq != expect || sodium_memcmp(o.prev, prev, SRV_HASH_LEN) != 0 ||
		    sodium_memcmp(h, o.hash, SRV_HASH_LEN) != 0) {
			snprintf(m->msg, m->cap,
			         "the SQLite database's audit chain is broken at entry %lld; "
			         "nothing was "
			         "copied",
			         (long long)expect);
			r = -1;
			break;
		}
		memcpy(prev, o.hash, SRV_HASH_LEN);
		expect = o.seq + 1;
		/* verbatim, under the school it belongs to now (row-level security) */
		pg_arg_i64(&a, import_id);
		if (o.school_id == 0)
			pg_arg_i64(&a, owner);
		else if (map_find(&m->school, o.school_id, &e.school_id))
			pg_arg_i64(&a, e.school_id);
		else {
			snprintf(m->msg, m->cap,
			         "audit entry %lld names school %lld, which is not in "
			         "the database",
			         (long long)o.seq, (long long)o.school_id);
			r = -1;
			break;
		}
		pg_arg_i64(&a, o.seq);
		pg_arg_i64(&a, o.school_id);
		pg_arg_i64(&a, o.actor_id);
		pg_arg_i64(&a, o.at);
		pg_arg_str(&a, o.action);
		pg_arg_str(&a, o.target);
		pg_arg_str(&a, o.source);
		pg_arg_blob(&a, o.digest, SRV_HASH_LEN);
		pg_arg_blob(&a, o.prev, SRV_HASH_LEN);
		pg_arg_blob(&a, o.hash, SRV_HASH_LEN);
		if (!pexec(m, "audit_origin",
		           "INSERT INTO audit_origin (import_id, school_id, seq, origin_school_id,"
		           " actor_id, at, action, target, source, digest, prev, hash)"
		           " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
		           &a, NULL)) {
			r = -1;
			break;
		}
		/* the live entry */
		e = o;
		if (!ref(m, &m->school, o.school_id, &e.school_id, "an audit entry") ||
		    !actor(m, o.actor_id, &e.actor_id, "an audit entry") ||
		    !remap_target(m, o.target, e.target, sizeof e.target, &dropped)) {
			r = -1;
			break;
		}
		memset(&key, 0, sizeof key);
		snprintf(key.target, sizeof key.target, "%s", e.target);
		rd = m->n_digs ? bsearch(&key, m->digs, m->n_digs, sizeof *m->digs, dig_cmp) : NULL;
		if (sodium_memcmp(o.digest, zero, SRV_HASH_LEN) == 0)
			; /* no row: stays zero */
		else if (rd)
			memcpy(e.digest, rd->d, SRV_HASH_LEN); /* the copied row as it is now */
		else if (dropped)
			memset(e.digest, 0, SRV_HASH_LEN); /* a row not copied */
		/* else a revision since superseded: no row holds it; its digest stays as recorded
		 * then (over the row under its old ids), and the origin chain keeps the entry */
		if (!append_live(m, &e, seq, head)) {
			r = -1;
			break;
		}
		n++;
		(*m->rows)++;
	}
	sqlite3_finalize(st);
	if (r != 0)
		return 0;
	*origin_seq = expect - 1;
	memcpy(origin_hash, prev, SRV_HASH_LEN);
	*n_out = n;
	return 1;
}

/* The service key must open what the service already holds: one concern version, or failing
 * that one second factor, is tried. */
static int check_service_key(imp *m)
{
	PGresult *q = NULL;
	int ok = 1;
	if (!pexec(m, "concern_versions",
	           "SELECT concern_id, school_id, payload FROM concern_versions LIMIT 1", NULL, &q))
		return 0;
	if (PQntuples(q) == 1) {
		unsigned char *p = NULL;
		size_t n = 0;
		char ad[96], *plain = NULL;
		srv_concern_ad(pg_i64(q, 0, 0), pg_i64(q, 0, 1), ad, sizeof ad);
		ok = pg_blob_dup(q, 0, 2, &p, &n) == WARD_OK &&
		     srv_open(m->tkey, ad, p, n, &plain) == WARD_OK;
		if (plain) {
			sodium_memzero(plain, strlen(plain));
			free(plain);
		}
		free(p);
	} else {
		PQclear(q);
		q = NULL;
		if (!pexec(
		        m, "users",
		        "SELECT id, totp_secret FROM users WHERE totp_secret IS NOT NULL LIMIT 1",
		        NULL, &q))
			return 0;
		if (PQntuples(q) == 1) {
			unsigned char *p = NULL;
			size_t n = 0;
			char b32[SRV_TOTP_B32];
			ok = pg_blob_dup(q, 0, 1, &p, &n) == WARD_OK &&
			     srv_totp_open(m->tkey, pg_i64(q, 0, 0), p, n, b32) == WARD_OK;
			sodium_memzero(b32, sizeof b32);
			free(p);
		}
	}
	PQclear(q);
	if (!ok)
		snprintf(m->msg, m->cap,
		         "the service key does not open the records the PostgreSQL "
		         "service holds: give the key file its wardd runs with");
	return ok;
}

static int copy_remapped(imp *m, int64_t *seq, unsigned char head[SRV_HASH_LEN],
                         srv_import_result *res)
{
	PGresult *q = NULL;
	int64_t import_id, owner = 0, origin_seq = 0, n = 0;
	unsigned char origin_hash[SRV_HASH_LEN];
	srv_audit e;
	if (!check_service_key(m))
		return 0;
	m->school.what = "school";
	m->user.what = "user";
	m->concern.what = "concern";
	m->alert.what = "alert";
	m->token.what = "service token";
	m->notice.what = "notice";
	m->entry.what = "case entry";
	m->pupil.what = "pupil record";
	if (!alloc_ids(m, &m->school, "SELECT id FROM schools ORDER BY id", "schools", NULL) ||
	    !alloc_ids(m, &m->user, "SELECT id FROM users ORDER BY id", "users", NULL) ||
	    !alloc_ids(m, &m->concern,
	               "SELECT DISTINCT concern_id FROM concern_versions ORDER BY concern_id", NULL,
	               "SELECT 1 FROM concern_versions WHERE concern_id = $1 LIMIT 1") ||
	    (table_exists(m->db, "service_tokens") &&
	     !alloc_ids(m, &m->token, "SELECT id FROM service_tokens ORDER BY id", "service_tokens",
	                NULL)) ||
	    (table_exists(m->db, "notices") &&
	     !alloc_ids(m, &m->notice, "SELECT id FROM notices ORDER BY id", "notices", NULL)) ||
	    (table_exists(m->db, "alerts") &&
	     !alloc_ids(m, &m->alert, "SELECT id FROM alerts ORDER BY id", NULL,
	                "SELECT 1 FROM alerts WHERE id = $1")) ||
	    (table_exists(m->db, "case_entries") &&
	     !alloc_ids(m, &m->entry, "SELECT id FROM case_entries ORDER BY id", NULL,
	                "SELECT 1 FROM case_entries WHERE id = $1")) ||
	    (table_exists(m->db, "pupils") &&
	     !alloc_ids(m, &m->pupil, "SELECT id FROM pupils ORDER BY id", NULL,
	                "SELECT 1 FROM pupils WHERE id = $1")))
		return 0;
	if (m->school.n == 0) {
		snprintf(m->msg, m->cap, "the SQLite database holds no school");
		return 0;
	}
	owner = m->school.v[0].nw; /* origin entries of no school are kept under the first school */
	if (!copy_schools(m) || !copy_users(m) || !copy_notices(m) || !copy_concerns(m) ||
	    !copy_tokens(m) || !copy_alerts(m) || !copy_settings(m) || !copy_entries(m) ||
	    !copy_pupils(m) || !copy_pupil_pages(m))
		return 0;
	if (!pexec(m, "audit_import_ids", "SELECT nextval('audit_import_ids')", NULL, &q))
		return 0;
	import_id = pg_i64(q, 0, 0);
	PQclear(q);
	res->first_seq = *seq + 1;
	if (!copy_audit(m, import_id, owner, seq, head, &origin_seq, origin_hash, &n))
		return 0;
	memset(&e, 0, sizeof e);
	e.school_id = m->school.n == 1 ? owner : 0;
	e.at = (int64_t)time(NULL);
	snprintf(e.action, sizeof e.action, "audit.import");
	snprintf(e.target, sizeof e.target, "audit-origin/%lld/head/%lld", (long long)import_id,
	         (long long)origin_seq);
	snprintf(e.source, sizeof e.source, "ward admin migrate");
	origin_digest(import_id, origin_seq, origin_hash, n, e.digest);
	if (!append_live(m, &e, seq, head))
		return 0;
	res->import_id = import_id;
	res->origin_seq = origin_seq;
	memcpy(res->origin_hash, origin_hash, SRV_HASH_LEN);
	res->entries = n;
	return 1;
}

static void imp_free(imp *m)
{
	idmap *maps[] = {&m->school, &m->user,   &m->concern, &m->alert,
	                 &m->token,  &m->notice, &m->entry,   &m->pupil};
	for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++)
		free(maps[i]->v);
	free(m->digs);
}

ward_status srv_store_pg_import(const char *sqlite_path, const char *dsn,
                                const unsigned char *school_key, const unsigned char *service_key,
                                char *msg, size_t cap, srv_import_result *res)
{
	ward_status rc = WARD_EIO;
	srv_store *store = NULL;
	sqlite3 *db = NULL;
	PGconn *pg = NULL;
	PGresult *r = NULL;
	imp m;
	memset(&m, 0, sizeof m);
	memset(res, 0, sizeof *res);
	snprintf(msg, cap, "failed");
	/* Opening the store brings the PostgreSQL schema up to date. */
	if (srv_store_pg_open(dsn, &store) != WARD_OK) {
		snprintf(msg, cap, "cannot open the PostgreSQL store");
		goto done;
	}
	store->ops->close(store);
	if (sqlite3_open_v2(sqlite_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(msg, cap, "%s: %s", sqlite_path, sqlite3_errmsg(db));
		goto done;
	}
	/* One read transaction, so the copy is of one moment even beside a running wardd. */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(msg, cap, "%s: %s", sqlite_path, sqlite3_errmsg(db));
		goto done;
	}
	pg = PQconnectdb(dsn);
	if (PQstatus(pg) != CONNECTION_OK) {
		snprintf(msg, cap, "connect: %s", PQerrorMessage(pg));
		msg[strcspn(msg, "\n")] = '\0';
		goto done;
	}
	/* The copy runs as the service role too, seeing every school, and holds the audit head's
	 * lock as every write of the store does: no wardd writes meanwhile. */
	if (run(pg,
	        "SET synchronous_commit = on; BEGIN; SET LOCAL ROLE " PG_ROLE ";"
	        " SELECT set_config('ward.school', 'all', true);"
	        " SELECT 1 FROM audit_head FOR UPDATE",
	        msg, cap) != WARD_OK)
		goto done;
	r = PQexec(pg, "SELECT seq, hash FROM audit_head WHERE one = 1");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		snprintf(msg, cap, "the PostgreSQL database has no audit head");
		goto done;
	}
	if (pg_i64(r, 0, 0) == 0) {
		/* An empty service: the first school keeps its ids, its chain and its key. */
		if (service_key && sodium_memcmp(service_key, school_key, SRV_KEY_LEN) != 0) {
			snprintf(
			    msg, cap,
			    "the PostgreSQL service is empty: the first school is copied as it is, "
			    "sealed with its own key; run the service with this school's wardd.key "
			    "and leave out --service-key");
			goto done;
		}
		if (copy_exact(db, pg, msg, cap, &res->rows) != WARD_OK)
			goto done;
	} else {
		int64_t seq = pg_i64(r, 0, 0);
		unsigned char head[SRV_HASH_LEN];
		pg_blob_fixed(head, SRV_HASH_LEN, r, 0, 1);
		m.db = db;
		m.pg = pg;
		m.skey = school_key;
		m.tkey = service_key;
		m.msg = msg;
		m.cap = cap;
		m.rows = &res->rows;
		if (!refuse_same_names(&m))
			goto done;
		if (!service_key) {
			snprintf(
			    msg, cap,
			    "the PostgreSQL service already holds schools: give --service-key "
			    "FILE, "
			    "the key file its wardd runs with, so the school's sealed records can "
			    "be sealed again under it");
			goto done;
		}
		if (!copy_remapped(&m, &seq, head, res)) {
			if (strcmp(msg, "failed") == 0)
				snprintf(msg, cap, "the copy failed");
			goto done;
		}
		{
			pg_args a = {0};
			pg_arg_i64(&a, seq);
			pg_arg_blob(&a, head, SRV_HASH_LEN);
			if (!pexec(&m, "audit_head",
			           "UPDATE audit_head SET seq = $1, hash = $2 WHERE one = 1", &a,
			           NULL))
				goto done;
		}
		res->remapped = 1;
	}
	if (run(pg, "COMMIT", msg, cap) != WARD_OK)
		goto done;
	rc = WARD_OK;
done:
	PQclear(r);
	imp_free(&m);
	if (pg)
		PQfinish(pg); /* an open transaction is rolled back */
	if (db)
		sqlite3_close(db);
	return rc;
}
