/* store_pg_throttle.c: failed sign-ins in the PostgreSQL store (store_throttle.h), shared by
 * every wardd on the database.  An attempt takes a transaction-scoped advisory lock on its
 * account before it counts, so two attempts on one account, from any two processes, run one
 * after the other and never both see room for the last failure allowed; attempts on other
 * accounts do not wait.  The rows sit under row-level security like every table with a school:
 * school 0 (a school name that does not exist) is a school of its own here.  The pupil page's
 * limits work the same way, under an advisory lock per address and one per school.
 *
 * Forgetting a school's old failures and a success clearing an account's both delete rows,
 * and two deletes that lock the same rows in different orders deadlock (PostgreSQL then aborts
 * one: a 503 for a sign-in).  So they never run at once: an attempt prunes only when it gets
 * the school's prune lock at once and exclusively (else it leaves the rows to a later attempt;
 * the count reads only the window), and a clear holds that lock shared, after its account's
 * lock, as an attempt takes them.  Withdrawing deletes one row and so waits in no circle.  Not
 * audited, and not copied by `ward admin migrate`: a failure or a counted report is not a
 * record of the school's, and it expires after the window. */
#include <string.h>

#include "schema.h"
#include "store_pg.h"
#include "store_throttle.h"

#define LOCK_CLASS "7261002" /* advisory lock class of sign-in accounts (migrations: 7261001) */
#define LOCK_ADDR  "7261003" /* the pupil page: an address */
#define LOCK_SCHOOL "7261004" /* the pupil page: a school's reports */
#define LOCK_PRUNE "7261005"  /* the pupil page: forgetting addresses' old rows */
#define LOCK_SIGNIN_PRUNE "7261006" /* sign-ins: forgetting a school's old failures */


/* The advisory lock's second key: 32 bits of the account's hash, which is already uniform
 * (two accounts that share it only wait for each other). */
static int64_t lock_key(int64_t school_id, const unsigned char h[SRV_HASH_LEN])
{
	uint32_t k = (uint32_t)school_id * 2654435761u;
	k ^= (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
	return (int64_t)(int32_t)k;
}

/* The school's prune lock's second key. */
static int64_t school_key(int64_t school_id)
{
	return (int64_t)(int32_t)(uint32_t)school_id;
}

/* Runs del (whose one parameter is since) when the transaction lock lock_sql tries for is free
 * at once, and does nothing when another transaction holds it: pruning never waits. */
static ward_status prune_if_free(pg_store *s, pg_conn *c, const char *lock_sql,
                                 const pg_args *lock_args, const char *del, int64_t since)
{
	pg_args a = {0};
	PGresult *r = pg_q(s, c, lock_sql, lock_args);
	int got;
	if (!r)
		return WARD_EIO;
	got = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (!got)
		return WARD_OK;
	pg_arg_i64(&a, since);
	return pg_cmd(s, c, del, &a, NULL);
}

/* Forgets the school's failures older than since, unless a clear (or another attempt's
 * pruning) is running in the school: then it leaves them for a later attempt rather than wait
 * (see the top of the file). */
static ward_status prune(pg_store *s, pg_conn *c, int64_t school_id, int64_t since)
{
	pg_args a = {0};
	pg_arg_i64(&a, school_key(school_id));
	return prune_if_free(s, c,
	                     "SELECT pg_try_advisory_xact_lock(" LOCK_SIGNIN_PRUNE ", $1::integer)",
	                     &a, "DELETE FROM signin_failures WHERE at < $1", since);
}

static ward_status pg_attempt(srv_store *b, int64_t school_id,
                              const unsigned char name_hash[SRV_HASH_LEN], int64_t now,
                              int64_t since, int limit, int64_t *id_out, int *throttled)
{
	pg_store *s = (pg_store *)b;
	ward_status rc = WARD_EIO;
	pg_args a = {0};
	PGresult *r = NULL;
	pg_conn *c;
	*id_out = 0;
	*throttled = 0;
	c = pg_begin(s, school_id, 0);
	if (!c)
		return WARD_EIO;
	pg_arg_i64(&a, lock_key(school_id, name_hash));
	if (pg_cmd(s, c, "SELECT pg_advisory_xact_lock(" LOCK_CLASS ", $1::integer)", &a, NULL) !=
	    WARD_OK)
		goto done;
	if (prune(s, c, school_id, since) != WARD_OK)
		goto done;
	memset(&a, 0, sizeof a);
	pg_arg_i64(&a, school_id);
	pg_arg_blob(&a, name_hash, SRV_HASH_LEN);
	pg_arg_i64(&a, since);
	r = pg_q(s, c,
	         "SELECT count(*) FROM signin_failures WHERE school_id = $1 AND name_hash = $2"
	         " AND at >= $3",
	         &a);
	if (!r)
		goto done;
	if (pg_i64(r, 0, 0) >= limit) {
		*throttled = 1;
		rc = WARD_OK;
		goto done;
	}
	PQclear(r);
	memset(&a, 0, sizeof a);
	pg_arg_i64(&a, school_id);
	pg_arg_blob(&a, name_hash, SRV_HASH_LEN);
	pg_arg_i64(&a, now);
	r = pg_q(s, c,
	         "INSERT INTO signin_failures (school_id, name_hash, at) VALUES ($1, $2, $3)"
	         " RETURNING id",
	         &a);
	if (!r || PQntuples(r) != 1)
		goto done;
	*id_out = pg_i64(r, 0, 0);
	rc = WARD_OK;
done:
	PQclear(r);
	rc = pg_end(s, c, rc);
	if (rc != WARD_OK) {
		*id_out = 0;
		*throttled = 0;
	}
	return rc;
}

static ward_status pg_withdraw(srv_store *b, int64_t school_id, int64_t id)
{
	pg_store *s = (pg_store *)b;
	pg_args a = {0};
	pg_conn *c = pg_begin(s, school_id, 0);
	if (!c)
		return WARD_EIO;
	pg_arg_i64(&a, id);
	return pg_end(s, c, pg_cmd(s, c, "DELETE FROM signin_failures WHERE id = $1", &a, NULL));
}

static ward_status pg_clear(srv_store *b, int64_t school_id,
                            const unsigned char name_hash[SRV_HASH_LEN])
{
	pg_store *s = (pg_store *)b;
	ward_status rc = WARD_EIO;
	pg_args a = {0};
	pg_conn *c = pg_begin(s, school_id, 0);
	if (!c)
		return WARD_EIO;
	/* the account's lock, then the school's prune lock shared: the order an attempt takes
	 * them in, and no pruning runs while this deletes */
	pg_arg_i64(&a, lock_key(school_id, name_hash));
	if (pg_cmd(s, c, "SELECT pg_advisory_xact_lock(" LOCK_CLASS ", $1::integer)", &a, NULL) !=
	    WARD_OK)
		goto done;
	memset(&a, 0, sizeof a);
	pg_arg_i64(&a, school_key(school_id));
	if (pg_cmd(s, c, "SELECT pg_advisory_xact_lock_shared(" LOCK_SIGNIN_PRUNE ", $1::integer)",
	           &a, NULL) != WARD_OK)
		goto done;
	memset(&a, 0, sizeof a);
	pg_arg_i64(&a, school_id);
	pg_arg_blob(&a, name_hash, SRV_HASH_LEN);
	rc = pg_cmd(s, c, "DELETE FROM signin_failures WHERE school_id = $1 AND name_hash = $2", &a,
	            NULL);
done:
	return pg_end(s, c, rc);
}

/* ---- the pupil page's limits ---- */

/* 32 bits of an address's hash, as the lock's second key (already uniform). */
static int64_t addr_key(const unsigned char h[SRV_HASH_LEN])
{
	uint32_t k = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
	             (uint32_t)h[3] << 24;
	return (int64_t)(int32_t)k;
}

/* Counts the address's rows of kind since since, into *n. */
static ward_status addr_count(pg_store *s, pg_conn *c, const unsigned char h[SRV_HASH_LEN],
                              const char *kind, int64_t since, int64_t *n)
{
	pg_args a = {0};
	PGresult *r;
	pg_arg_blob(&a, h, SRV_HASH_LEN);
	pg_arg_str(&a, kind);
	pg_arg_i64(&a, since);
	r = pg_q(s, c,
	         "SELECT count(*) FROM pupil_address_events WHERE school_id = 0 AND addr_hash = $1"
	         " AND kind = $2 AND at >= $3",
	         &a);
	if (!r)
		return WARD_EIO;
	*n = pg_i64(r, 0, 0);
	PQclear(r);
	return WARD_OK;
}

/* Takes the address's lock for this transaction, then forgets every address's old rows when
 * no other transaction is doing so: a report from another address does not wait for this
 * one's pruning (nor for its fsync) on rows they both would delete.  The counts read only the
 * window, so rows left for the next call change nothing. */
static ward_status addr_begin(pg_store *s, pg_conn *c, const unsigned char h[SRV_HASH_LEN],
                              int64_t since)
{
	pg_args a = {0};
	pg_arg_i64(&a, addr_key(h));
	if (pg_cmd(s, c, "SELECT pg_advisory_xact_lock(" LOCK_ADDR ", $1::integer)", &a, NULL) !=
	    WARD_OK)
		return WARD_EIO;
	return prune_if_free(s, c, "SELECT pg_try_advisory_xact_lock(" LOCK_PRUNE ", 0)", NULL,
	                     "DELETE FROM pupil_address_events WHERE school_id = 0 AND at < $1",
	                     since);
}

static ward_status addr_add(pg_store *s, pg_conn *c, const unsigned char h[SRV_HASH_LEN],
                            const char *kind, int64_t now)
{
	pg_args a = {0};
	pg_arg_blob(&a, h, SRV_HASH_LEN);
	pg_arg_str(&a, kind);
	pg_arg_i64(&a, now);
	return pg_cmd(s, c,
	              "INSERT INTO pupil_address_events (school_id, addr_hash, kind, at)"
	              " VALUES (0, $1, $2, $3)",
	              &a, NULL);
}

static ward_status pg_pupil_check(srv_store *b, const unsigned char addr_hash[SRV_HASH_LEN],
                                  const srv_pupil_limits *lim, int *ok)
{
	pg_store *s = (pg_store *)b;
	pg_args a = {0};
	PGresult *r;
	*ok = 0;
	pg_arg_blob(&a, addr_hash, SRV_HASH_LEN);
	pg_arg_i64(&a, lim->addr_since);
	r = pg_read(s, 0,
	            "SELECT count(*) FROM pupil_address_events WHERE school_id = 0"
	            " AND addr_hash = $1 AND kind = 'failure' AND at >= $2",
	            &a);
	if (!r)
		return WARD_EIO;
	*ok = pg_i64(r, 0, 0) < lim->addr_failures;
	PQclear(r);
	return WARD_OK;
}

static ward_status pg_pupil_fail(srv_store *b, const unsigned char addr_hash[SRV_HASH_LEN],
                                 int64_t now, const srv_pupil_limits *lim)
{
	pg_store *s = (pg_store *)b;
	ward_status rc = WARD_EIO;
	int64_t n = 0;
	pg_conn *c = pg_begin(s, 0, 0);
	if (!c)
		return WARD_EIO;
	if (addr_begin(s, c, addr_hash, lim->addr_since) != WARD_OK ||
	    addr_count(s, c, addr_hash, "failure", lim->addr_since, &n) != WARD_OK)
		goto done;
	rc = n < lim->addr_failures ? addr_add(s, c, addr_hash, "failure", now) : WARD_OK;
done:
	return pg_end(s, c, rc);
}

static ward_status pg_pupil_report(srv_store *b, int64_t school_id,
                                   const unsigned char addr_hash[SRV_HASH_LEN], int64_t now,
                                   const srv_pupil_limits *lim, int *ok)
{
	pg_store *s = (pg_store *)b;
	ward_status rc = WARD_EIO;
	int64_t fails = 0, reports = 0, school = 0;
	char scope[48];
	pg_args a = {0};
	PGresult *r = NULL;
	pg_conn *c;
	*ok = 0;
	/* school 0 (the address's rows) and the school (its reports) */
	snprintf(scope, sizeof scope, "0,%lld", (long long)school_id);
	c = pg_begin_schools(s, scope);
	if (!c)
		return WARD_EIO;
	/* always the address first, then the school: two reports never wait on each other in
	 * a circle */
	if (addr_begin(s, c, addr_hash, lim->addr_since) != WARD_OK)
		goto done;
	pg_arg_i64(&a, (int64_t)(int32_t)(uint32_t)school_id);
	if (pg_cmd(s, c, "SELECT pg_advisory_xact_lock(" LOCK_SCHOOL ", $1::integer)", &a, NULL) !=
	    WARD_OK)
		goto done;
	memset(&a, 0, sizeof a);
	pg_arg_i64(&a, school_id);
	pg_arg_i64(&a, lim->school_since);
	if (pg_cmd(s, c, "DELETE FROM pupil_school_reports WHERE school_id = $1 AND at < $2", &a,
	           NULL) != WARD_OK)
		goto done;
	r = pg_q(s, c, "SELECT count(*) FROM pupil_school_reports WHERE school_id = $1 AND at >= $2",
	         &a);
	if (!r)
		goto done;
	school = pg_i64(r, 0, 0);
	if (addr_count(s, c, addr_hash, "failure", lim->addr_since, &fails) != WARD_OK ||
	    addr_count(s, c, addr_hash, "report", lim->addr_since, &reports) != WARD_OK)
		goto done;
	if (fails < lim->addr_failures && reports < lim->addr_reports &&
	    school < lim->school_reports) {
		memset(&a, 0, sizeof a);
		pg_arg_i64(&a, school_id);
		pg_arg_i64(&a, now);
		if (addr_add(s, c, addr_hash, "report", now) != WARD_OK ||
		    pg_cmd(s, c, "INSERT INTO pupil_school_reports (school_id, at) VALUES ($1, $2)",
		           &a, NULL) != WARD_OK)
			goto done;
		*ok = 1;
	}
	rc = WARD_OK;
done:
	PQclear(r);
	rc = pg_end(s, c, rc);
	if (rc != WARD_OK)
		*ok = 0;
	return rc;
}

static const struct srv_throttle_ops ops = {pg_attempt,     pg_withdraw,   pg_clear,
                                            pg_pupil_check, pg_pupil_fail, pg_pupil_report};

static void attach(pg_store *s)
{
	s->base.throttle = &ops;
}

const pg_schema pg_schema_throttle = {"throttle", schema_pg_throttle, SCHEMA_THROTTLE_VERSIONS,
                                      attach};
