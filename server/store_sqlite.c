/* store_sqlite.c: the embedded store.  One connection, serialised by a mutex: SQLite allows one
 * writer at a time anyway, and WAL with synchronous=FULL makes each commit durable before the
 * handler answers 201.  Migrations are numbered and run at open inside a transaction. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <sqlite3.h>
#include <syslog.h>

#include "schema.h"
#include "srv.h"
#include "store_sqlite.h"

/* The core schema's migrations, like every feature's, are generated from one description for
 * both stores (server/schema/core.schema, by scripts/schema.awk).  Feature files point their
 * sq_schema at theirs and are listed in sq_schemas below. */
static const sq_schema sq_schema_core = {"core", schema_sqlite_core, SCHEMA_CORE_VERSIONS, NULL};

/* Every feature's schema, in the order they are migrated and attached. */
extern const sq_schema sq_schema_alerts;       /* store_sqlite_alerts.c */
extern const sq_schema sq_schema_cases;        /* store_sqlite_cases.c */
extern const sq_schema sq_schema_trust;        /* store_sqlite_trust.c */
extern const sq_schema sq_schema_pupil_report; /* store_sqlite_pupil_report.c */
extern const sq_schema sq_schema_throttle;     /* store_sqlite_throttle.c */
static const sq_schema *const sq_schemas[] = {
    &sq_schema_core,
    &sq_schema_alerts,
    &sq_schema_cases,
    &sq_schema_trust,
    &sq_schema_pupil_report,
    &sq_schema_throttle,
    NULL,
};

void sq_set_err(sq_store *s, const char *what)
{
	snprintf(s->base.err, sizeof s->base.err, "%s: %s", what, sqlite3_errmsg(s->db));
}

ward_status sq_exec(sq_store *s, const char *sql)
{
	char *msg = NULL;
	ward_status st = WARD_OK;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(s->base.err, sizeof s->base.err, "%s", msg ? msg : "SQLite error");
		st = WARD_EIO;
	}
	sqlite3_free(msg);
	return st;
}

/* Prepares sql; the statement is the caller's to finalise. */
sqlite3_stmt *sq_prep(sq_store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		sq_set_err(s, "prepare");
		st = NULL;
	}
	return st;
}

sqlite3_stmt *sq_cached(sq_store *s, const char *sql)
{
	size_t h = ((uintptr_t)sql >> 3) % SQ_CACHE;
	for (size_t i = 0; i < SQ_CACHE; i++) {
		size_t k = (h + i) % SQ_CACHE;
		if (s->cache[k].sql == sql)
			return s->cache[k].st;
		if (!s->cache[k].sql) {
			sqlite3_stmt *st = NULL;
			if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
			                       NULL) != SQLITE_OK) {
				sq_set_err(s, "prepare");
				return NULL;
			}
			s->cache[k].sql = sql;
			s->cache[k].st = st;
			return st;
		}
	}
	snprintf(s->base.err, sizeof s->base.err, "prepare: the statement cache is full");
	return NULL;
}

void sq_release(sqlite3_stmt *st)
{
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

/* ---- read-only connections ---- */

#define SQ_READERS      4
#define SQ_READER_CACHE 8

typedef struct sq_reader {
	sqlite3 *db;
	pthread_mutex_t mu;
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cache[SQ_READER_CACHE];
} sq_reader;

struct sq_readers {
	sq_reader r[SQ_READERS];
	int n;
	unsigned next;
};

static void readers_close(sq_store *s)
{
	struct sq_readers *rs = s->readers;
	if (!rs)
		return;
	for (int i = 0; i < rs->n; i++) {
		for (int k = 0; k < SQ_READER_CACHE; k++)
			sqlite3_finalize(rs->r[i].cache[k].st);
		sqlite3_close(rs->r[i].db);
		pthread_mutex_destroy(&rs->r[i].mu);
	}
	free(rs);
	s->readers = NULL;
}

/* Opens the readers once the schema is migrated; without them reads use the writer. */
static void readers_open(sq_store *s, const char *path)
{
	struct sq_readers *rs = calloc(1, sizeof *rs);
	if (!rs)
		return;
	s->readers = rs;
	for (int i = 0; i < SQ_READERS; i++) {
		sq_reader *r = &rs->r[i];
		if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
		                    NULL) != SQLITE_OK ||
		    sqlite3_exec(r->db, "PRAGMA query_only=1", NULL, NULL, NULL) != SQLITE_OK) {
			sqlite3_close(r->db);
			break;
		}
		sqlite3_busy_timeout(r->db, 5000);
		pthread_mutex_init(&r->mu, NULL);
		rs->n++;
	}
	if (rs->n == 0)
		readers_close(s);
}

/* A statement for the read-only query sql (a string literal): on a free reader, with its
 * lock held, or on the writer's connection with s->mu held.  End with read_end. */
static sqlite3_stmt *read_begin(sq_store *s, const char *sql, sq_reader **rd)
{
	struct sq_readers *rs = s->readers;
	sq_reader *r = NULL;
	*rd = NULL;
	if (!rs) {
		pthread_mutex_lock(&s->mu);
		return sq_cached(s, sql);
	}
	unsigned start = __atomic_fetch_add(&rs->next, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < rs->n && !r; i++)
		if (pthread_mutex_trylock(&rs->r[(start + (unsigned)i) % (unsigned)rs->n].mu) == 0)
			r = &rs->r[(start + (unsigned)i) % (unsigned)rs->n];
	if (!r) {
		r = &rs->r[start % (unsigned)rs->n];
		pthread_mutex_lock(&r->mu);
	}
	*rd = r;
	for (int k = 0; k < SQ_READER_CACHE; k++) {
		if (r->cache[k].sql == sql)
			return r->cache[k].st;
		if (!r->cache[k].sql) {
			sqlite3_stmt *st = NULL;
			if (sqlite3_prepare_v3(r->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
			                       NULL) != SQLITE_OK) {
				snprintf(s->base.err, sizeof s->base.err, "prepare: %s",
				         sqlite3_errmsg(r->db));
				return NULL;
			}
			r->cache[k].sql = sql;
			r->cache[k].st = st;
			return st;
		}
	}
	snprintf(s->base.err, sizeof s->base.err, "prepare: the reader's cache is full");
	return NULL;
}

static void read_end(sq_store *s, sq_reader *rd, sqlite3_stmt *st)
{
	sq_release(st);
	pthread_mutex_unlock(rd ? &rd->mu : &s->mu);
}

/* ---- checkpoints ---- */

/* Every second, copies what the WAL holds into the database file (PASSIVE: never waits for
 * readers or the writer) on a connection of its own. */
static void *ckpt_main(void *arg)
{
	sq_store *s = arg;
	sqlite3 *db = NULL;
	/* A first read opens the WAL; before it a checkpoint does nothing. */
	if (sqlite3_open_v2(s->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	        SQLITE_OK ||
	    sqlite3_exec(db, "SELECT count(*) FROM schema_versions", NULL, NULL, NULL) !=
	        SQLITE_OK) {
		srv_log(LOG_WARNING, "store: the checkpoint connection did not open: %s",
		        sqlite3_errmsg(db));
		sqlite3_close(db);
		return NULL;
	}
	pthread_mutex_lock(&s->ckpt_mu);
	while (!s->ckpt_stop) {
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_sec += 1;
		pthread_cond_timedwait(&s->ckpt_cv, &s->ckpt_mu, &t);
		if (s->ckpt_stop)
			break;
		pthread_mutex_unlock(&s->ckpt_mu);
		sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&s->ckpt_mu);
	}
	pthread_mutex_unlock(&s->ckpt_mu);
	sqlite3_close(db);
	return NULL;
}

static void ckpt_start(sq_store *s)
{
	/* The writer no longer checkpoints by itself once the thread runs. */
	if (pthread_create(&s->ckpt_thread, NULL, ckpt_main, s) == 0) {
		s->ckpt_running = 1;
		sq_exec(s, "PRAGMA wal_autocheckpoint=0");
	}
}

static void ckpt_stop(sq_store *s)
{
	if (!s->ckpt_running)
		return;
	pthread_mutex_lock(&s->ckpt_mu);
	s->ckpt_stop = 1;
	pthread_cond_signal(&s->ckpt_cv);
	pthread_mutex_unlock(&s->ckpt_mu);
	pthread_join(s->ckpt_thread, NULL);
	s->ckpt_running = 0;
}

void sq_copy_col(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

void sq_copy_blob(unsigned char *dst, size_t n, sqlite3_stmt *st, int col)
{
	const void *b = sqlite3_column_blob(st, col);
	memset(dst, 0, n);
	if (b && (size_t)sqlite3_column_bytes(st, col) == n)
		memcpy(dst, b, n);
}

/* Appends an audit entry, chained to the last one.  Called inside a transaction with the mutex
 * held.  digest may be NULL (all zero). */
ward_status sq_audit_locked(sq_store *s, const srv_audit_in *in, const unsigned char *digest)
{
	ward_status stt = WARD_EIO;
	sqlite3_stmt *st = NULL;
	srv_audit a;
	memset(&a, 0, sizeof a);
	st = sq_cached(s, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
	if (!st)
		goto done;
	if (sqlite3_step(st) == SQLITE_ROW) {
		a.seq = sqlite3_column_int64(st, 0) + 1;
		sq_copy_blob(a.prev, SRV_HASH_LEN, st, 1);
	} else {
		a.seq = 1;
	}
	sq_release(st);
	a.school_id = in->school_id;
	a.actor_id = in->actor_id;
	a.at = (int64_t)time(NULL);
	snprintf(a.action, sizeof a.action, "%s", in->action ? in->action : "");
	snprintf(a.target, sizeof a.target, "%s", in->target ? in->target : "");
	snprintf(a.source, sizeof a.source, "%s", in->source ? in->source : "");
	if (digest)
		memcpy(a.digest, digest, SRV_HASH_LEN);
	srv_audit_hash(&a, a.hash);
	st = sq_cached(
	    s, "INSERT INTO audit (seq, school_id, actor_id, at, action, target, source, digest,"
	       " prev, hash) VALUES (?,?,?,?,?,?,?,?,?,?)");
	if (!st)
		goto done;
	sqlite3_bind_int64(st, 1, a.seq);
	sqlite3_bind_int64(st, 2, a.school_id);
	sqlite3_bind_int64(st, 3, a.actor_id);
	sqlite3_bind_int64(st, 4, a.at);
	sqlite3_bind_text(st, 5, a.action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, a.target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, a.source, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 8, a.digest, SRV_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 9, a.prev, SRV_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 10, a.hash, SRV_HASH_LEN, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sq_set_err(s, "audit insert");
		goto done;
	}
	stt = WARD_OK;
done:
	sq_release(st);
	return stt;
}

/* Brings one schema up to date; its version is kept in schema_versions. */
static ward_status migrate_one(sq_store *s, const sq_schema *sc)
{
	ward_status st = WARD_OK;
	sqlite3_stmt *q = sq_prep(s, "SELECT version FROM schema_versions WHERE module = ?");
	int v = 0;
	if (!q)
		return WARD_EIO;
	sqlite3_bind_text(q, 1, sc->module, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	if (v > (int)sc->n) {
		snprintf(s->base.err, sizeof s->base.err,
		         "the %s schema is at version %d, newer than this wardd knows (%zu)",
		         sc->module, v, sc->n);
		return WARD_EUNSUPPORTED;
	}
	for (; v < (int)sc->n && st == WARD_OK; v++) {
		st = sq_exec(s, "BEGIN IMMEDIATE");
		if (st == WARD_OK)
			st = sq_exec(s, sc->steps[v]);
		if (st == WARD_OK) {
			q = sq_prep(
			    s, "INSERT INTO schema_versions (module, version) VALUES (?, ?)"
			       " ON CONFLICT (module) DO UPDATE SET version = excluded.version");
			st = WARD_EIO;
			if (q) {
				sqlite3_bind_text(q, 1, sc->module, -1, SQLITE_STATIC);
				sqlite3_bind_int(q, 2, v + 1);
				if (sqlite3_step(q) == SQLITE_DONE)
					st = WARD_OK;
				else
					sq_set_err(s, "schema_versions");
				sqlite3_finalize(q);
			}
		}
		if (st == WARD_OK)
			st = sq_exec(s, "COMMIT");
		else
			sq_exec(s, "ROLLBACK");
	}
	return st;
}

static ward_status migrate(sq_store *s)
{
	ward_status st =
	    sq_exec(s, "CREATE TABLE IF NOT EXISTS schema_versions (module TEXT PRIMARY KEY,"
	               " version INTEGER NOT NULL)");
	for (const sq_schema *const *sc = sq_schemas; *sc && st == WARD_OK; sc++) {
		st = migrate_one(s, *sc);
		if (st == WARD_OK && (*sc)->attach)
			(*sc)->attach(s);
	}
	return st;
}

static void sq_close(srv_store *b)
{
	sq_store *s = (sq_store *)b;
	if (!s)
		return;
	ckpt_stop(s);
	readers_close(s);
	for (size_t i = 0; i < SQ_CACHE; i++)
		sqlite3_finalize(s->cache[i].st);
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->gc_mu);
	pthread_cond_destroy(&s->gc_cv);
	pthread_mutex_destroy(&s->ckpt_mu);
	pthread_cond_destroy(&s->ckpt_cv);
	free(s->path);
	free(s);
}

static ward_status sq_school_create(srv_store *b, const char *name, int64_t *id_out)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&s->mu);
	st = sq_prep(s, "INSERT INTO schools (name, created) VALUES (?, ?)");
	if (!st)
		goto done;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
	if (sqlite3_step(st) != SQLITE_DONE) {
		sq_set_err(s, "school");
		rc = WARD_EINVAL;
		goto done;
	}
	*id_out = sqlite3_last_insert_rowid(s->db);
	rc = WARD_OK;
done:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static ward_status sq_school_find(srv_store *b, const char *name, int64_t *id_out)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&s->mu);
	st = sq_prep(s, "SELECT id FROM schools WHERE name = ?");
	if (!st)
		goto done;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = WARD_ENOENT;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*id_out = sqlite3_column_int64(st, 0);
		rc = WARD_OK;
	}
done:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static ward_status sq_user_create(srv_store *b, const srv_user *u, const srv_audit_in *a,
                                  int64_t *id_out)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st = NULL;
	int began = 0;
	pthread_mutex_lock(&s->mu);
	if (sq_exec(s, "BEGIN IMMEDIATE") != WARD_OK)
		goto done;
	began = 1;
	st = sq_prep(
	    s, "INSERT INTO users (school_id, username, pwhash, role, created) VALUES (?,?,?,?,?)");
	if (!st)
		goto done;
	sqlite3_bind_int64(st, 1, u->school_id);
	sqlite3_bind_text(st, 2, u->username, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, u->pwhash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, srv_role_name(u->role), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (int64_t)time(NULL));
	if (sqlite3_step(st) != SQLITE_DONE) {
		sq_set_err(s, "user");
		rc = WARD_EINVAL;
		goto done;
	}
	*id_out = sqlite3_last_insert_rowid(s->db);
	{
		char target[64];
		srv_audit_in in = *a;
		snprintf(target, sizeof target, "user/%lld", (long long)*id_out);
		in.target = target;
		if (sq_audit_locked(s, &in, NULL) != WARD_OK)
			goto done;
	}
	if (sq_exec(s, "COMMIT") != WARD_OK)
		goto done;
	began = 0;
	rc = WARD_OK;
done:
	if (began)
		sq_exec(s, "ROLLBACK");
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static void user_row(sqlite3_stmt *st, srv_user *u)
{
	char role[32];
	memset(u, 0, sizeof *u);
	u->id = sqlite3_column_int64(st, 0);
	u->school_id = sqlite3_column_int64(st, 1);
	sq_copy_col(u->username, sizeof u->username, st, 2);
	sq_copy_col(u->pwhash, sizeof u->pwhash, st, 3);
	sq_copy_col(role, sizeof role, st, 4);
	u->role = (srv_role)srv_role_from_name(role);
	u->disabled = sqlite3_column_int(st, 5);
	u->totp_enrolled = sqlite3_column_int(st, 6);
}

#define USER_COLS                                                                                  \
	"SELECT id, school_id, username, pwhash, role, disabled, totp_secret IS NOT NULL FROM "    \
	"users "

static ward_status user_one(sq_store *s, sqlite3_stmt *st, srv_user *out)
{
	ward_status rc = WARD_ENOENT;
	if (sqlite3_step(st) == SQLITE_ROW) {
		user_row(st, out);
		rc = (int)out->role < 0 ? WARD_EINTERNAL : WARD_OK;
	}
	(void)s;
	return rc;
}

static ward_status sq_user_get(srv_store *b, int64_t id, srv_user *out)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	sq_reader *rd;
	st = read_begin(s, USER_COLS "WHERE id = ?", &rd);
	if (st) {
		sqlite3_bind_int64(st, 1, id);
		rc = user_one(s, st, out);
	}
	read_end(s, rd, st);
	return rc;
}

static ward_status sq_user_find(srv_store *b, int64_t school_id, const char *username,
                                srv_user *out)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->mu);
	st = sq_prep(s, USER_COLS "WHERE school_id = ? AND username = ?");
	if (st) {
		sqlite3_bind_int64(st, 1, school_id);
		sqlite3_bind_text(st, 2, username, -1, SQLITE_STATIC);
		rc = user_one(s, st, out);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static ward_status sq_user_list(srv_store *b, int64_t school_id, srv_user_cb cb, void *ctx)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->mu);
	st = sq_prep(s, USER_COLS "WHERE school_id = ? ORDER BY id");
	if (st) {
		srv_user u;
		sqlite3_bind_int64(st, 1, school_id);
		while (sqlite3_step(st) == SQLITE_ROW) {
			user_row(st, &u);
			if (cb(ctx, &u))
				break;
		}
		rc = WARD_OK;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static ward_status sq_session_put(srv_store *b, const srv_session *se)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->mu);
	st = sq_prep(
	    s, "INSERT INTO sessions (token_hash, school_id, user_id, csrf, created, last_seen,"
	       " enrol_only) VALUES (?,?,?,?,?,?,?)");
	if (st) {
		sqlite3_bind_blob(st, 1, se->token_hash, SRV_HASH_LEN, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, se->school_id);
		sqlite3_bind_int64(st, 3, se->user_id);
		sqlite3_bind_text(st, 4, se->csrf, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, se->created);
		sqlite3_bind_int64(st, 6, se->last_seen);
		sqlite3_bind_int(st, 7, se->enrol_only ? 1 : 0);
		if (sqlite3_step(st) == SQLITE_DONE)
			rc = WARD_OK;
		else
			sq_set_err(s, "session");
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static ward_status sq_session_get(srv_store *b, const unsigned char *th, srv_session *out)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	sq_reader *rd;
	st = read_begin(s,
	                "SELECT school_id, user_id, csrf, created, last_seen, enrol_only FROM "
	                "sessions WHERE token_hash = ?",
	                &rd);
	if (st) {
		sqlite3_bind_blob(st, 1, th, SRV_HASH_LEN, SQLITE_STATIC);
		rc = WARD_ENOENT;
		if (sqlite3_step(st) == SQLITE_ROW) {
			memset(out, 0, sizeof *out);
			memcpy(out->token_hash, th, SRV_HASH_LEN);
			out->school_id = sqlite3_column_int64(st, 0);
			out->user_id = sqlite3_column_int64(st, 1);
			sq_copy_col(out->csrf, sizeof out->csrf, st, 2);
			out->created = sqlite3_column_int64(st, 3);
			out->last_seen = sqlite3_column_int64(st, 4);
			out->enrol_only = sqlite3_column_int(st, 5);
			rc = WARD_OK;
		}
	}
	read_end(s, rd, st);
	return rc;
}

static ward_status session_simple(sq_store *s, const char *sql, const unsigned char *th, int64_t v)
{
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->mu);
	st = sq_cached(s, sql);
	if (st) {
		sqlite3_bind_blob(st, 1, th, SRV_HASH_LEN, SQLITE_STATIC);
		if (sqlite3_bind_parameter_count(st) > 1)
			sqlite3_bind_int64(st, 2, v);
		if (sqlite3_step(st) == SQLITE_DONE)
			rc = WARD_OK;
	}
	sq_release(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static ward_status sq_session_touch(srv_store *b, const unsigned char *th, int64_t now)
{
	return session_simple((sq_store *)b,
	                      "UPDATE sessions SET last_seen = ?2 WHERE token_hash = ?1", th, now);
}

static ward_status sq_session_delete(srv_store *b, const unsigned char *th)
{
	return session_simple((sq_store *)b, "DELETE FROM sessions WHERE token_hash = ?1", th, 0);
}

/* Inside the caller's transaction: inserts concern version c as it stands (id, version and
 * created already set) and its audit entry, whose digest covers the row. */
ward_status sq_concern_insert_locked(sq_store *s, const srv_concern *c, const srv_audit_in *a)
{
	char target[64];
	unsigned char digest[SRV_HASH_LEN];
	srv_audit_in in = *a;
	sqlite3_stmt *st = sq_cached(
	    s, "INSERT INTO concern_versions (concern_id, version, school_id, reporter_id, created,"
	       " status, payload) VALUES (?,?,?,?,?,?,?)");
	if (!st)
		return WARD_EIO;
	sqlite3_bind_int64(st, 1, c->id);
	sqlite3_bind_int64(st, 2, c->version);
	sqlite3_bind_int64(st, 3, c->school_id);
	sqlite3_bind_int64(st, 4, c->reporter_id);
	sqlite3_bind_int64(st, 5, c->created);
	sqlite3_bind_text(st, 6, c->status, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 7, c->payload, (int)c->payload_len, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sq_set_err(s, "concern");
		sq_release(st);
		return WARD_EIO;
	}
	sq_release(st);
	snprintf(target, sizeof target, "concern/%lld/v%lld", (long long)c->id,
	         (long long)c->version);
	in.target = target;
	srv_concern_digest(c, digest);
	return sq_audit_locked(s, &in, digest);
}

typedef struct concern_put_args {
	srv_concern *c;
	const srv_audit_in *a;
} concern_put_args;

/* Inside the caller's transaction: writes a concern version and its audit entry. */
static ward_status concern_put_locked(sq_store *s, void *arg)
{
	concern_put_args *p = arg;
	srv_concern *c = p->c;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st = NULL;
	if (c->id == 0) {
		st = sq_cached(s, "SELECT COALESCE(MAX(concern_id), 0) + 1 FROM concern_versions");
		if (!st || sqlite3_step(st) != SQLITE_ROW)
			goto done;
		c->id = sqlite3_column_int64(st, 0);
		c->version = 1;
	} else if (c->version != 1) {
		st = sq_cached(s, "SELECT COALESCE(MAX(version), 0) FROM concern_versions WHERE "
		                  "concern_id = ? AND school_id = ?");
		if (!st)
			goto done;
		sqlite3_bind_int64(st, 1, c->id);
		sqlite3_bind_int64(st, 2, c->school_id);
		if (sqlite3_step(st) != SQLITE_ROW)
			goto done;
		if (sqlite3_column_int64(st, 0) + 1 != c->version) {
			snprintf(s->base.err, sizeof s->base.err,
			         "the concern has changed since version %lld",
			         (long long)c->version - 1);
			rc = WARD_EINVAL;
			goto done;
		}
	}
	sq_release(st);
	st = NULL;
	c->created = (int64_t)time(NULL);
	rc = sq_concern_insert_locked(s, c, p->a);
done:
	sq_release(st);
	return rc;
}

/* One durable transaction of its own.  (Committing concerns in groups, as audited reads are,
 * doubled the rate on a busy two-core machine but lengthened the slowest 1% of answers.) */
static ward_status sq_concern_put(srv_store *b, srv_concern *c, const srv_audit_in *a)
{
	sq_store *s = (sq_store *)b;
	concern_put_args p = {c, a};
	ward_status rc = WARD_EIO;
	pthread_mutex_lock(&s->mu);
	if (sq_exec(s, "BEGIN IMMEDIATE") == WARD_OK) {
		rc = concern_put_locked(s, &p);
		if (rc == WARD_OK && sq_exec(s, "COMMIT") != WARD_OK)
			rc = WARD_EIO;
		if (rc != WARD_OK)
			sq_exec(s, "ROLLBACK");
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Fills c from a row of CONCERN_COLS; the payload is copied (c owns it). */
static ward_status concern_row(sqlite3_stmt *st, srv_concern *c)
{
	const void *p = sqlite3_column_blob(st, 6);
	int n = sqlite3_column_bytes(st, 6);
	memset(c, 0, sizeof *c);
	c->id = sqlite3_column_int64(st, 0);
	c->version = sqlite3_column_int64(st, 1);
	c->school_id = sqlite3_column_int64(st, 2);
	c->reporter_id = sqlite3_column_int64(st, 3);
	c->created = sqlite3_column_int64(st, 4);
	sq_copy_col(c->status, sizeof c->status, st, 5);
	c->payload = malloc(n > 0 ? (size_t)n : 1);
	if (!c->payload)
		return WARD_ENOMEM;
	if (n > 0)
		memcpy(c->payload, p, (size_t)n);
	c->payload_len = (size_t)n;
	return WARD_OK;
}

#define CONCERN_COLS                                                                               \
	"SELECT concern_id, version, school_id, reporter_id, created, status, payload FROM "       \
	"concern_versions "
#define LATEST                                                                                     \
	"AND version = (SELECT MAX(version) FROM concern_versions v2 WHERE v2.concern_id = "       \
	"concern_versions.concern_id) "

static ward_status sq_concern_get(srv_store *b, int64_t school_id, int64_t id, srv_concern *c)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	sq_reader *rd;
	st = read_begin(
	    s, CONCERN_COLS "WHERE concern_id = ? AND school_id = ? ORDER BY version DESC LIMIT 1",
	    &rd);
	if (st) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, school_id);
		rc = WARD_ENOENT;
		if (sqlite3_step(st) == SQLITE_ROW)
			rc = concern_row(st, c);
	}
	read_end(s, rd, st);
	return rc;
}

static ward_status concern_iter(sq_store *s, sqlite3_stmt *st, srv_concern_cb cb, void *ctx)
{
	ward_status rc = WARD_OK;
	srv_concern c;
	while (rc == WARD_OK && sqlite3_step(st) == SQLITE_ROW) {
		rc = concern_row(st, &c);
		if (rc != WARD_OK)
			break;
		int stop = cb(ctx, &c);
		srv_concern_clear(&c);
		if (stop)
			break;
	}
	(void)s;
	return rc;
}

static ward_status sq_concern_list(srv_store *b, int64_t school_id, int64_t reporter_id,
                                   srv_concern_cb cb, void *ctx)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->mu);
	st = sq_prep(s, CONCERN_COLS "WHERE school_id = ?1 AND (?2 = 0 OR reporter_id = ?2) " LATEST
	                             "ORDER BY concern_id DESC LIMIT 1000");
	if (st) {
		sqlite3_bind_int64(st, 1, school_id);
		sqlite3_bind_int64(st, 2, reporter_id);
		rc = concern_iter(s, st, cb, ctx);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static ward_status sq_concern_versions(srv_store *b, int64_t school_id, int64_t id,
                                       srv_concern_cb cb, void *ctx)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->mu);
	st = sq_prep(s, CONCERN_COLS "WHERE school_id = ? AND concern_id = ? ORDER BY version");
	if (st) {
		sqlite3_bind_int64(st, 1, school_id);
		sqlite3_bind_int64(st, 2, id);
		rc = concern_iter(s, st, cb, ctx);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static ward_status sq_concern_all(srv_store *b, srv_concern_cb cb, void *ctx)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->mu);
	st = sq_prep(s, CONCERN_COLS "ORDER BY concern_id, version");
	if (st)
		rc = concern_iter(s, st, cb, ctx);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* One queued write: an audit entry (in) or a function run inside the batch's transaction
 * (fn); it lives on its caller's stack while the caller waits. */
struct sq_audit_req {
	const srv_audit_in *in;
	ward_status (*fn)(sq_store *s, void *arg);
	void *arg;
	sq_audit_req *next;
	ward_status rc;
	int done;
};

/* Runs the writes of batch in one durable transaction.  Each runs inside a savepoint, so one
 * that fails (a version conflict) is undone alone and reported to its caller alone; if the
 * commit fails, every write of the batch fails. */
static void batch_commit(sq_store *s, sq_audit_req *batch)
{
	ward_status rc;
	pthread_mutex_lock(&s->mu);
	rc = sq_exec(s, "BEGIN IMMEDIATE");
	for (sq_audit_req *q = batch; q; q = q->next) {
		if (rc != WARD_OK) {
			q->rc = rc;
			continue;
		}
		q->rc = sq_exec(s, "SAVEPOINT w");
		if (q->rc == WARD_OK)
			q->rc = q->fn ? q->fn(s, q->arg) : sq_audit_locked(s, q->in, NULL);
		if (q->rc != WARD_OK)
			sq_exec(s, "ROLLBACK TO w");
		sq_exec(s, "RELEASE w");
	}
	if (rc == WARD_OK && sq_exec(s, "COMMIT") != WARD_OK) {
		sq_exec(s, "ROLLBACK");
		for (sq_audit_req *q = batch; q; q = q->next)
			q->rc = WARD_EIO;
	}
	pthread_mutex_unlock(&s->mu);
}

/* Queues one write and returns once it is on disk (or has failed).  Writes that arrive while
 * a commit is running are committed together by the next caller to find no commit running
 * (group commit): each caller still waits for its own write's fsync, but many share one. */
static ward_status group_run(sq_store *s, const srv_audit_in *a,
                             ward_status (*fn)(sq_store *s, void *arg), void *arg)
{
	sq_audit_req me = {a, fn, arg, NULL, WARD_EIO, 0};
	pthread_mutex_lock(&s->gc_mu);
	*s->gc_tail = &me;
	s->gc_tail = &me.next;
	while (!me.done) {
		if (s->gc_leader) {
			pthread_cond_wait(&s->gc_cv, &s->gc_mu);
			continue;
		}
		sq_audit_req *batch = s->gc_head;
		s->gc_head = NULL;
		s->gc_tail = &s->gc_head;
		s->gc_leader = 1;
		pthread_mutex_unlock(&s->gc_mu);
		batch_commit(s, batch);
		pthread_mutex_lock(&s->gc_mu);
		for (sq_audit_req *q = batch, *n; q; q = n) {
			n = q->next;
			q->done = 1;
		}
		s->gc_leader = 0;
		pthread_cond_broadcast(&s->gc_cv);
	}
	pthread_mutex_unlock(&s->gc_mu);
	return me.rc;
}

/* Audited reads append their entries through the group commit. */
static ward_status sq_audit_append(srv_store *b, const srv_audit_in *a)
{
	return group_run((sq_store *)b, a, NULL, NULL);
}

static ward_status sq_audit_list(srv_store *b, int64_t school_id, int64_t after, int limit,
                                 srv_audit_cb cb, void *ctx)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->mu);
	st = sq_prep(
	    s, "SELECT seq, school_id, actor_id, at, action, target, source, digest, prev, hash"
	       " FROM audit WHERE (?1 = 0 OR school_id = ?1) AND seq > ?2 ORDER BY seq LIMIT ?3");
	if (st) {
		srv_audit a;
		sqlite3_bind_int64(st, 1, school_id);
		sqlite3_bind_int64(st, 2, after);
		sqlite3_bind_int(st, 3, limit);
		while (sqlite3_step(st) == SQLITE_ROW) {
			memset(&a, 0, sizeof a);
			a.seq = sqlite3_column_int64(st, 0);
			a.school_id = sqlite3_column_int64(st, 1);
			a.actor_id = sqlite3_column_int64(st, 2);
			a.at = sqlite3_column_int64(st, 3);
			sq_copy_col(a.action, sizeof a.action, st, 4);
			sq_copy_col(a.target, sizeof a.target, st, 5);
			sq_copy_col(a.source, sizeof a.source, st, 6);
			sq_copy_blob(a.digest, SRV_HASH_LEN, st, 7);
			sq_copy_blob(a.prev, SRV_HASH_LEN, st, 8);
			sq_copy_blob(a.hash, SRV_HASH_LEN, st, 9);
			if (cb(ctx, &a))
				break;
		}
		rc = WARD_OK;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static ward_status sq_backup(srv_store *b, const char *path)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3 *dst = NULL;
	sqlite3_backup *bk;
	if (sqlite3_open(path, &dst) != SQLITE_OK)
		goto done;
	pthread_mutex_lock(&s->mu);
	bk = sqlite3_backup_init(dst, "main", s->db, "main");
	if (bk) {
		sqlite3_backup_step(bk, -1);
		sqlite3_backup_finish(bk);
	}
	rc = sqlite3_errcode(dst) == SQLITE_OK ? WARD_OK : WARD_EIO;
	if (rc != WARD_OK)
		snprintf(s->base.err, sizeof s->base.err, "backup: %s", sqlite3_errmsg(dst));
	pthread_mutex_unlock(&s->mu);
done:
	sqlite3_close(dst);
	return rc;
}

/* ---- TOTP ---- */

static ward_status sq_totp_secret(srv_store *b, int64_t user_id, int pending,
                                  unsigned char **sealed, size_t *n)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	*sealed = NULL;
	*n = 0;
	pthread_mutex_lock(&s->mu);
	st = sq_prep(s, pending ? "SELECT totp_pending FROM users WHERE id = ?"
	                        : "SELECT totp_secret FROM users WHERE id = ?");
	if (st) {
		sqlite3_bind_int64(st, 1, user_id);
		rc = WARD_ENOENT;
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) > 0) {
			int len = sqlite3_column_bytes(st, 0);
			*sealed = malloc((size_t)len);
			rc = WARD_ENOMEM;
			if (*sealed) {
				memcpy(*sealed, sqlite3_column_blob(st, 0), (size_t)len);
				*n = (size_t)len;
				rc = WARD_OK;
			}
		}
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Runs one UPDATE of the users row (and whatever else sql says) with its audit entry in one
 * durable transaction; WARD_ENOENT when the UPDATE changed no row. */
static ward_status totp_write(sq_store *s, const char *sql, int64_t user_id, const void *blob,
                              size_t n, int64_t step, const char *extra,
                              const unsigned char *token_hash, const srv_audit_in *a)
{
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st = NULL;
	int began = 0;
	char target[64];
	srv_audit_in in = *a;
	pthread_mutex_lock(&s->mu);
	if (sq_exec(s, "BEGIN IMMEDIATE") != WARD_OK)
		goto done;
	began = 1;
	st = sq_prep(s, sql);
	if (!st)
		goto done;
	sqlite3_bind_int64(st, 1, user_id);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_blob(st, 2, blob, (int)n, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(st) >= 3)
		sqlite3_bind_int64(st, 3, step);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sq_set_err(s, "totp");
		goto done;
	}
	if (sqlite3_changes(s->db) == 0) {
		snprintf(s->base.err, sizeof s->base.err, "nothing to change");
		rc = WARD_ENOENT;
		goto done;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (extra) {
		st = sq_prep(s, extra);
		if (!st)
			goto done;
		if (token_hash)
			sqlite3_bind_blob(st, 1, token_hash, SRV_HASH_LEN, SQLITE_STATIC);
		else
			sqlite3_bind_int64(st, 1, user_id);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sq_set_err(s, "totp session");
			goto done;
		}
	}
	snprintf(target, sizeof target, "user/%lld", (long long)user_id);
	in.target = target;
	if (sq_audit_locked(s, &in, NULL) != WARD_OK || sq_exec(s, "COMMIT") != WARD_OK)
		goto done;
	began = 0;
	rc = WARD_OK;
done:
	if (began)
		sq_exec(s, "ROLLBACK");
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static ward_status sq_totp_begin(srv_store *b, int64_t user_id, const unsigned char *sealed,
                                 size_t n, const srv_audit_in *a)
{
	return totp_write((sq_store *)b, "UPDATE users SET totp_pending = ?2 WHERE id = ?1",
	                  user_id, sealed, n, 0, NULL, NULL, a);
}

static ward_status sq_totp_confirm(srv_store *b, int64_t user_id, int64_t step,
                                   const unsigned char *token_hash, const srv_audit_in *a)
{
	return totp_write((sq_store *)b,
	                  "UPDATE users SET totp_secret = totp_pending, totp_pending = NULL,"
	                  " totp_last_step = ?3 WHERE id = ?1 AND totp_pending IS NOT NULL"
	                  " AND totp_last_step < ?3",
	                  user_id, NULL, 0, step,
	                  token_hash ? "UPDATE sessions SET enrol_only = 0 WHERE token_hash = ?1"
	                             : NULL,
	                  token_hash, a);
}

static ward_status sq_totp_reset(srv_store *b, int64_t user_id, const srv_audit_in *a)
{
	return totp_write((sq_store *)b,
	                  "UPDATE users SET totp_secret = NULL, totp_pending = NULL WHERE id = ?1",
	                  user_id, NULL, 0, 0, "DELETE FROM sessions WHERE user_id = ?1", NULL, a);
}

/* One statement, so two requests with the same code cannot both pass. */
static ward_status sq_totp_use(srv_store *b, int64_t user_id, int64_t step)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->mu);
	st = sq_prep(s,
	             "UPDATE users SET totp_last_step = ?2 WHERE id = ?1 AND totp_last_step < ?2");
	if (st) {
		sqlite3_bind_int64(st, 1, user_id);
		sqlite3_bind_int64(st, 2, step);
		if (sqlite3_step(st) == SQLITE_DONE)
			rc = sqlite3_changes(s->db) == 1 ? WARD_OK : WARD_EINVAL;
		else
			sq_set_err(s, "totp use");
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static ward_status sq_school_name(srv_store *b, int64_t id, char *out, size_t cap)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->mu);
	st = sq_prep(s, "SELECT name FROM schools WHERE id = ?");
	if (st) {
		sqlite3_bind_int64(st, 1, id);
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

static const srv_store_ops sq_ops = {
    sq_close,          sq_school_create, sq_school_find, sq_user_create,  sq_user_get,
    sq_user_find,      sq_user_list,     sq_session_put, sq_session_get,  sq_session_touch,
    sq_session_delete, sq_concern_put,   sq_concern_get, sq_concern_list, sq_concern_versions,
    sq_concern_all,    sq_audit_append,  sq_audit_list,  sq_backup,       sq_totp_secret,
    sq_totp_begin,     sq_totp_confirm,  sq_totp_use,    sq_totp_reset,   sq_school_name,
};

/* *out owned by the caller (close through its ops). */
ward_status srv_store_sqlite_open(const char *path, srv_store **out)
{
	ward_status rc = WARD_EIO;
	sq_store *s = calloc(1, sizeof *s);
	*out = NULL;
	if (!s)
		return WARD_ENOMEM;
	s->base.ops = &sq_ops;
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->gc_mu, NULL);
	pthread_cond_init(&s->gc_cv, NULL);
	pthread_mutex_init(&s->ckpt_mu, NULL);
	pthread_cond_init(&s->ckpt_cv, NULL);
	s->gc_tail = &s->gc_head;
	s->path = strdup(path);
	if (!s->path) {
		rc = WARD_ENOMEM;
		goto done;
	}
	if (sqlite3_open_v2(path, &s->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		sq_set_err(s, path);
		goto done;
	}
	sqlite3_busy_timeout(s->db, 5000);
	rc =
	    sq_exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
	if (rc == WARD_OK)
		rc = migrate(s);
	if (rc == WARD_OK) {
		readers_open(s, path);
		ckpt_start(s);
	}
done:
	if (rc != WARD_OK) {
		srv_log(LOG_ERR, "store: %s", s->base.err);
		sq_close(&s->base);
		s = NULL;
	}
	*out = s ? &s->base : NULL;
	return rc;
}
