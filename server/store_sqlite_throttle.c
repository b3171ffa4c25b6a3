/* store_sqlite_throttle.c: failed sign-ins in the SQLite store (store_throttle.h).  An attempt
 * counts and records in one BEGIN IMMEDIATE transaction, which SQLite runs one at a time for
 * every connection to the file, so attempts from several wardd on one database never both see
 * room for the last failure allowed.  The pupil page's limits per address and per school count
 * the same way.  Nothing here is audited: a failure or report row is not a record of the
 * school's (a report itself is a concern, audited in the core), and it expires after the
 * window. */
#include <string.h>

#include "schema.h"
#include "store_sqlite.h"
#include "store_throttle.h"

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

/* ---- the pupil page's limits ---- */

/* Runs one statement of the pupil limits: hash (when set) is bound first, then x and y as the
 * statement has room for; a count goes to *out when out is set. */
static ward_status lq(sq_store *s, const char *sql, const unsigned char *hash, int64_t x,
                      int64_t y, int64_t *out)
{
	ward_status rc = WARD_EIO;
	sqlite3_stmt *st = sq_prep(s, sql);
	int k = 1, n, r;
	if (!st)
		return WARD_EIO;
	n = sqlite3_bind_parameter_count(st);
	if (hash)
		sqlite3_bind_blob(st, k++, hash, SRV_HASH_LEN, SQLITE_STATIC);
	if (k <= n)
		sqlite3_bind_int64(st, k++, x);
	if (k <= n)
		sqlite3_bind_int64(st, k, y);
	r = sqlite3_step(st);
	if (out && r == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = WARD_OK;
	} else if (!out && r == SQLITE_DONE) {
		rc = WARD_OK;
	} else {
		sq_set_err(s, "pupil page limits");
	}
	sqlite3_finalize(st);
	return rc;
}

static const char addr_prune[] = "DELETE FROM pupil_address_events WHERE school_id = 0 AND at < ?";
static const char addr_count_failures[] =
    "SELECT count(*) FROM pupil_address_events WHERE school_id = 0 AND addr_hash = ?"
    " AND kind = 'failure' AND at >= ?";
static const char addr_count_reports[] =
    "SELECT count(*) FROM pupil_address_events WHERE school_id = 0 AND addr_hash = ?"
    " AND kind = 'report' AND at >= ?";
static const char addr_add_failure[] =
    "INSERT INTO pupil_address_events (school_id, addr_hash, kind, at) VALUES (0, ?, 'failure', ?)";
static const char addr_add_report[] =
    "INSERT INTO pupil_address_events (school_id, addr_hash, kind, at) VALUES (0, ?, 'report', ?)";
static const char school_prune[] =
    "DELETE FROM pupil_school_reports WHERE school_id = ? AND at < ?";
static const char school_count[] =
    "SELECT count(*) FROM pupil_school_reports WHERE school_id = ? AND at >= ?";
static const char school_add[] = "INSERT INTO pupil_school_reports (school_id, at) VALUES (?, ?)";

static ward_status sq_pupil_check(srv_store *b, const unsigned char addr_hash[SRV_HASH_LEN],
                                  const srv_pupil_limits *lim, int *ok)
{
	sq_store *s = (sq_store *)b;
	int64_t n = 0;
	ward_status rc;
	*ok = 0;
	pthread_mutex_lock(&s->mu);
	rc = lq(s, addr_count_failures, addr_hash, lim->addr_since, 0, &n);
	pthread_mutex_unlock(&s->mu);
	if (rc == WARD_OK)
		*ok = n < lim->addr_failures;
	return rc;
}

static ward_status sq_pupil_fail(srv_store *b, const unsigned char addr_hash[SRV_HASH_LEN],
                                 int64_t now, const srv_pupil_limits *lim)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	int64_t n = 0;
	pthread_mutex_lock(&s->mu);
	if (sq_exec(s, "BEGIN IMMEDIATE") != WARD_OK)
		goto out;
	if (lq(s, addr_prune, NULL, lim->addr_since, 0, NULL) != WARD_OK ||
	    lq(s, addr_count_failures, addr_hash, lim->addr_since, 0, &n) != WARD_OK ||
	    (n < lim->addr_failures &&
	     lq(s, addr_add_failure, addr_hash, now, 0, NULL) != WARD_OK))
		goto done;
	rc = sq_exec(s, "COMMIT");
done:
	if (rc != WARD_OK)
		sq_exec(s, "ROLLBACK");
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static ward_status sq_pupil_report(srv_store *b, int64_t school_id,
                                   const unsigned char addr_hash[SRV_HASH_LEN], int64_t now,
                                   const srv_pupil_limits *lim, int *ok)
{
	sq_store *s = (sq_store *)b;
	ward_status rc = WARD_EIO;
	int64_t fails = 0, reports = 0, school = 0;
	*ok = 0;
	pthread_mutex_lock(&s->mu);
	if (sq_exec(s, "BEGIN IMMEDIATE") != WARD_OK)
		goto out;
	if (lq(s, addr_prune, NULL, lim->addr_since, 0, NULL) != WARD_OK ||
	    lq(s, school_prune, NULL, school_id, lim->school_since, NULL) != WARD_OK ||
	    lq(s, addr_count_failures, addr_hash, lim->addr_since, 0, &fails) != WARD_OK ||
	    lq(s, addr_count_reports, addr_hash, lim->addr_since, 0, &reports) != WARD_OK ||
	    lq(s, school_count, NULL, school_id, lim->school_since, &school) != WARD_OK)
		goto done;
	if (fails < lim->addr_failures && reports < lim->addr_reports &&
	    school < lim->school_reports) {
		if (lq(s, addr_add_report, addr_hash, now, 0, NULL) != WARD_OK ||
		    lq(s, school_add, NULL, school_id, now, NULL) != WARD_OK)
			goto done;
		*ok = 1;
	}
	rc = sq_exec(s, "COMMIT");
done:
	if (rc != WARD_OK) {
		*ok = 0;
		sq_exec(s, "ROLLBACK");
	}
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static const struct srv_throttle_ops ops = {sq_attempt,     sq_withdraw,   sq_clear,
                                            sq_pupil_check, sq_pupil_fail, sq_pupil_report};

static void attach(sq_store *s)
{
	s->base.throttle = &ops;
}

const sq_schema sq_schema_throttle = {"throttle", schema_sqlite_throttle, SCHEMA_THROTTLE_VERSIONS,
                                      attach};
