/* store_sqlite_throttle.c: failed sign-ins in the SQLite store (store_throttle.h).  An attempt
 * counts and records in one BEGIN IMMEDIATE transaction, which SQLite runs one at a time for
 * every connection to the file, so attempts from several wardd on one database never both see
 * room for the last failure allowed.  Nothing here is audited: a failure row is not a record
 * of the school's, and it expires after the window. */
#include <string.h>

#include "store_sqlite.h"
#include "store_throttle.h"

static const char *const steps[] = {
    /* 1 */
    "CREATE TABLE signin_failures (id INTEGER PRIMARY KEY, school_id INTEGER NOT NULL,"
    " name_hash BLOB NOT NULL, at INTEGER NOT NULL);"
    "CREATE INDEX signin_failures_account ON signin_failures (school_id, name_hash, at);"
    "CREATE INDEX signin_failures_at ON signin_failures (school_id, at);",
};

/* Runs one statement that returns no rows (or reads one integer into *out, when out is set). */
static ward_status one(sq_store *s, const char *sql, int64_t school_id, const unsigned char *hash,
                       int64_t t, int64_t *out)
{
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st = sq_prep(s, sql);
	int k = 1, r;
	if (!st)
		return WARD_EIO;
	sqlite3_bind_int64(st, k++, school_id);
	if (hash)
		sqlite3_bind_blob(st, k++, hash, SRV_HASH_LEN, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(st) >= k)
		sqlite3_bind_int64(st, k, t);
	r = sqlite3_step(st);
	if (out && r == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = WARD_OK;
	} else if (!out && r == SQLITE_DONE) {
		rc = WARD_OK;
	} else {
		sq_set_err(s, "sign-in throttle");
	}
	sqlite3_finalize(st);
	return rc;
}

static ward_status sq_attempt(srv_store *b, int64_t school_id,
                              const unsigned char name_hash[SRV_HASH_LEN], int64_t now,
                              int64_t since, int limit, int64_t *id_out, int *throttled)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	int64_t n = 0;
	*id_out = 0;
	*throttled = 0;
	pthread_mutex_lock(&s->mu);
	if (sq_exec(s, "BEGIN IMMEDIATE") != WARD_OK)
		goto out;
	if (one(s, "DELETE FROM signin_failures WHERE school_id = ? AND at < ?", school_id, NULL,
	        since, NULL) != WARD_OK ||
	    one(s,
	        "SELECT count(*) FROM signin_failures WHERE school_id = ? AND name_hash = ?"
	        " AND at >= ?",
	        school_id, name_hash, since, &n) != WARD_OK)
		goto done;
	if (n >= limit) {
		*throttled = 1;
	} else {
		if (one(s,
		        "INSERT INTO signin_failures (school_id, name_hash, at) VALUES (?, ?, ?)",
		        school_id, name_hash, now, NULL) != WARD_OK)
			goto done;
		*id_out = sqlite3_last_insert_rowid(s->db);
	}
	rc = sq_exec(s, "COMMIT");
done:
	if (rc != WARD_OK) {
		*id_out = 0;
		*throttled = 0;
		sq_exec(s, "ROLLBACK");
	}
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static ward_status sq_withdraw(srv_store *b, int64_t school_id, int64_t id)
{
	sq_store *s = (sq_store *)b;
	ward_status rc;
	pthread_mutex_lock(&s->mu);
	rc = one(s, "DELETE FROM signin_failures WHERE school_id = ? AND id = ?", school_id, NULL,
	         id, NULL);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static ward_status sq_clear(srv_store *b, int64_t school_id,
                            const unsigned char name_hash[SRV_HASH_LEN])
{
	sq_store *s = (sq_store *)b;
	ward_status rc;
	pthread_mutex_lock(&s->mu);
	rc = one(s, "DELETE FROM signin_failures WHERE school_id = ? AND name_hash = ?", school_id,
	         name_hash, 0, NULL);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static const struct srv_throttle_ops ops = {sq_attempt, sq_withdraw, sq_clear};

static void attach(sq_store *s)
{
	s->base.throttle = &ops;
}

const sq_schema sq_schema_throttle = {"throttle", steps, sizeof steps / sizeof steps[0], attach};
