/* store_pg_throttle.c: failed sign-ins in the PostgreSQL store (store_throttle.h), shared by
 * every wardd on the database.  An attempt takes a transaction-scoped advisory lock on its
 * account before it counts, so two attempts on one account, from any two processes, run one
 * after the other and never both see room for the last failure allowed; attempts on other
 * accounts do not wait.  The rows sit under row-level security like every table with a school:
 * school 0 (a school name that does not exist) is a school of its own here.  Not audited, and
 * not copied by `ward admin migrate`: a failure is not a record of the school's, and it expires
 * after the window. */
#include <string.h>

#include "store_pg.h"
#include "store_throttle.h"

#define LOCK_CLASS "7261002" /* advisory lock class of sign-in accounts (migrations: 7261001) */

static const char *const steps[] = {
    /* 1 */
    "CREATE TABLE signin_failures (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " school_id bigint NOT NULL, name_hash bytea NOT NULL, at bigint NOT NULL);"
    "CREATE INDEX signin_failures_account ON signin_failures (school_id, name_hash, at);"
    "CREATE INDEX signin_failures_at ON signin_failures (school_id, at);"
    "ALTER TABLE signin_failures ENABLE ROW LEVEL SECURITY;"
    "ALTER TABLE signin_failures FORCE ROW LEVEL SECURITY;"
    "CREATE POLICY school ON signin_failures USING (ward_all_schools() OR school_id = ANY"
    " (ward_schools())) WITH CHECK (ward_all_schools() OR school_id = ANY (ward_schools()));"
    "GRANT SELECT, INSERT, DELETE ON signin_failures TO " PG_ROLE ";"
    "GRANT USAGE ON SEQUENCE signin_failures_id_seq TO " PG_ROLE ";",
};

/* The advisory lock's second key: 32 bits of the account's hash, which is already uniform
 * (two accounts that share it only wait for each other). */
static int64_t lock_key(int64_t school_id, const unsigned char h[SRV_HASH_LEN])
{
	uint32_t k = (uint32_t)school_id * 2654435761u;
	k ^= (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
	return (int64_t)(int32_t)k;
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
	memset(&a, 0, sizeof a);
	pg_arg_i64(&a, since);
	if (pg_cmd(s, c, "DELETE FROM signin_failures WHERE at < $1", &a, NULL) != WARD_OK)
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
	pg_args a = {0};
	pg_conn *c = pg_begin(s, school_id, 0);
	if (!c)
		return WARD_EIO;
	pg_arg_i64(&a, school_id);
	pg_arg_blob(&a, name_hash, SRV_HASH_LEN);
	return pg_end(s, c,
	              pg_cmd(s, c,
	                     "DELETE FROM signin_failures WHERE school_id = $1 AND name_hash = $2",
	                     &a, NULL));
}

static const struct srv_throttle_ops ops = {pg_attempt, pg_withdraw, pg_clear};

static void attach(pg_store *s)
{
	s->base.throttle = &ops;
}

const pg_schema pg_schema_throttle = {"throttle", steps, sizeof steps / sizeof steps[0], attach};
