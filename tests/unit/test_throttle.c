/* Unit tests for the sign-in throttle's store (store_throttle.h): limit, sliding window and
 * expiry, withdrawal, clearing, separation of accounts and schools, and attempts from two store
 * handles on one database at once (as two wardd processes make them) getting no more than the
 * limit between them.  The pupil page's limits the same way: failures and reports per address,
 * reports per school, their windows, old rows pruned, and reports through two handles at once
 * getting no more than the limits between them.  SQLite in a temporary directory; PostgreSQL
 * instead when WARD_TEST_PG_DSN names an empty database (tests/pg/pg.test.mjs runs it so). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdatomic.h>

#include "store_pg.h"
#include "store_throttle.h"

#define LIMIT  5
#define WINDOW 900

static srv_store *a, *b; /* two handles on one database */
static char dir[64];

static srv_store *open_one(void)
{
	srv_store *s = NULL;
	const char *dsn = getenv("WARD_TEST_PG_DSN");
	char path[128];
	if (dsn && *dsn) {
		if (srv_store_pg_open(dsn, &s) != WARD_OK)
			return NULL;
	} else {
		snprintf(path, sizeof path, "%s/ward.db", dir);
		if (srv_store_sqlite_open(path, &s) != WARD_OK)
			return NULL;
	}
	return s;
}

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	snprintf(dir, sizeof dir, "/tmp/ward-throttle-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	a = open_one();
	b = open_one();
	return a && b && a->throttle && b->throttle ? 0 : -1;
}

static int teardown(void **state)
{
	char path[128];
	(void)state;
	if (a)
		a->ops->close(a);
	if (b)
		b->ops->close(b);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/ward.db%s", dir,
		         (const char *[]){"", "-wal", "-shm"}[i]);
		unlink(path);
	}
	rmdir(dir);
	return 0;
}

static void key(unsigned char h[SRV_HASH_LEN], int n)
{
	memset(h, 0x5a, SRV_HASH_LEN);
	h[0] = (unsigned char)n;
}

/* One attempt at now: 1 when it was let through (a failure recorded), 0 when throttled. */
static int try_at(srv_store *s, int64_t school, const unsigned char h[SRV_HASH_LEN], int64_t now,
                  int64_t *id)
{
	int64_t fid = 0;
	int held = -1;
	assert_int_equal(s->throttle->attempt(s, school, h, now, now - WINDOW, LIMIT, &fid, &held),
	                 WARD_OK);
	assert_true(held == 0 || held == 1);
	if (held)
		assert_int_equal(fid, 0);
	else
		assert_true(fid > 0);
	if (id)
		*id = fid;
	return !held;
}

static void limit_and_separation(void **state)
{
	unsigned char h[SRV_HASH_LEN], other[SRV_HASH_LEN];
	(void)state;
	key(h, 1);
	key(other, 2);
	for (int i = 0; i < LIMIT; i++)
		assert_int_equal(try_at(i % 2 ? a : b, 11, h, 100000 + i, NULL), 1);
	assert_int_equal(try_at(a, 11, h, 100010, NULL), 0);
	assert_int_equal(try_at(b, 11, h, 100010, NULL), 0);
	/* another name in the school, the same name in another school */
	assert_int_equal(try_at(a, 11, other, 100010, NULL), 1);
	assert_int_equal(try_at(b, 12, h, 100010, NULL), 1);
}

static void sliding_window(void **state)
{
	unsigned char h[SRV_HASH_LEN];
	(void)state;
	key(h, 3);
	for (int i = 0; i < LIMIT; i++)
		assert_int_equal(try_at(a, 13, h, 200000 + i, NULL), 1);
	/* the first failure is still inside the window at 200000 + WINDOW */
	assert_int_equal(try_at(b, 13, h, 200000 + WINDOW, NULL), 0);
	/* a second later it has expired: room for one more, then held again */
	assert_int_equal(try_at(b, 13, h, 200001 + WINDOW, NULL), 1);
	assert_int_equal(try_at(a, 13, h, 200001 + WINDOW, NULL), 0);
	/* once all are older than the window, five more */
	for (int i = 0; i < LIMIT; i++)
		assert_int_equal(try_at(a, 13, h, 300000 + i, NULL), 1);
	assert_int_equal(try_at(a, 13, h, 300005, NULL), 0);
}

static void withdraw_and_clear(void **state)
{
	unsigned char h[SRV_HASH_LEN];
	int64_t id = 0;
	(void)state;
	key(h, 4);
	for (int i = 0; i < LIMIT - 1; i++)
		assert_int_equal(try_at(a, 14, h, 400000, NULL), 1);
	/* withdrawn attempts do not count, however many */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(try_at(b, 14, h, 400001, &id), 1);
		assert_int_equal(a->throttle->withdraw(a, 14, id), WARD_OK);
	}
	assert_int_equal(try_at(b, 14, h, 400002, NULL), 1);
	assert_int_equal(try_at(a, 14, h, 400003, NULL), 0);
	/* a withdrawal names its school: another school's id changes nothing */
	assert_int_equal(try_at(a, 15, h, 400003, &id), 1);
	assert_int_equal(b->throttle->withdraw(b, 14, id), WARD_OK);
	for (int i = 0; i < LIMIT - 1; i++)
		assert_int_equal(try_at(a, 15, h, 400004, NULL), 1);
	assert_int_equal(try_at(a, 15, h, 400005, NULL), 0);
	/* a success forgets them all */
	assert_int_equal(b->throttle->clear(b, 14, h), WARD_OK);
	for (int i = 0; i < LIMIT; i++)
		assert_int_equal(try_at(a, 14, h, 400006, NULL), 1);
	assert_int_equal(try_at(a, 14, h, 400007, NULL), 0);
}

#define THREADS 8
#define EACH    6

static atomic_int let_through;

static void *burst(void *arg)
{
	srv_store *s = (srv_store *)arg;
	unsigned char h[SRV_HASH_LEN];
	key(h, 5);
	for (int i = 0; i < EACH; i++) {
		int64_t id = 0;
		int held = 1;
		if (s->throttle->attempt(s, 16, h, 500000, 500000 - WINDOW, LIMIT, &id, &held) ==
		        WARD_OK &&
		    !held)
			atomic_fetch_add(&let_through, 1);
	}
	return NULL;
}

static void concurrent_attempts(void **state)
{
	pthread_t t[THREADS];
	unsigned char h[SRV_HASH_LEN];
	(void)state;
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, burst, i % 2 ? a : b), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&let_through), LIMIT);
	key(h, 5);
	assert_int_equal(try_at(a, 16, h, 500001, NULL), 0);
}

/* ---- the pupil page's limits ---- */

#define P_WINDOW  600
#define P_REPORTS 10
#define P_FAILS   10
#define S_WINDOW  3600
#define S_REPORTS 30

static srv_pupil_limits lim_at(int64_t now)
{
	srv_pupil_limits l = {now - P_WINDOW, P_REPORTS, P_FAILS, now - S_WINDOW, S_REPORTS};
	return l;
}

static void addr(unsigned char h[SRV_HASH_LEN], int n)
{
	memset(h, 0xa5, SRV_HASH_LEN);
	h[0] = (unsigned char)n;
	h[1] = (unsigned char)(n >> 8);
}

static int checked(srv_store *s, const unsigned char h[SRV_HASH_LEN], int64_t now)
{
	srv_pupil_limits l = lim_at(now);
	int ok = -1;
	assert_int_equal(s->throttle->pupil_check(s, h, &l, &ok), WARD_OK);
	assert_true(ok == 0 || ok == 1);
	return ok;
}

static void failed(srv_store *s, const unsigned char h[SRV_HASH_LEN], int64_t now)
{
	srv_pupil_limits l = lim_at(now);
	assert_int_equal(s->throttle->pupil_fail(s, h, now, &l), WARD_OK);
}

static int reported(srv_store *s, int64_t school, const unsigned char h[SRV_HASH_LEN], int64_t now)
{
	srv_pupil_limits l = lim_at(now);
	int ok = -1;
	assert_int_equal(s->throttle->pupil_report(s, school, h, now, &l, &ok), WARD_OK);
	assert_true(ok == 0 || ok == 1);
	return ok;
}

static void pupil_failures(void **state)
{
	unsigned char h[SRV_HASH_LEN], other[SRV_HASH_LEN];
	(void)state;
	addr(h, 1);
	addr(other, 2);
	for (int i = 0; i < P_FAILS; i++) {
		assert_int_equal(checked(i % 2 ? a : b, h, 1000000 + i), 1);
		failed(i % 2 ? b : a, h, 1000000 + i);
	}
	/* refused on both handles, and for a report too; another address goes on */
	assert_int_equal(checked(a, h, 1000010), 0);
	assert_int_equal(checked(b, h, 1000010), 0);
	assert_int_equal(reported(a, 21, h, 1000010), 0);
	assert_int_equal(checked(b, other, 1000010), 1);
	assert_int_equal(reported(b, 21, other, 1000010), 1);
	/* failures past the limit are not kept (it is refused before it can fail again) */
	for (int i = 0; i < 5; i++)
		failed(a, h, 1000011);
	/* the first failure leaves the window a second after P_WINDOW: room for one more */
	assert_int_equal(checked(a, h, 1000000 + P_WINDOW), 0);
	assert_int_equal(checked(a, h, 1000001 + P_WINDOW), 1);
	failed(b, h, 1000001 + P_WINDOW);
	assert_int_equal(checked(a, h, 1000001 + P_WINDOW), 0);
	/* all of them old: the address is clear */
	assert_int_equal(checked(b, h, 1000011 + 2 * P_WINDOW), 1);
}

static void pupil_reports(void **state)
{
	unsigned char h[SRV_HASH_LEN], other[SRV_HASH_LEN];
	(void)state;
	addr(h, 3);
	addr(other, 4);
	/* ten from an address, across two schools and two handles, then refused anywhere */
	for (int i = 0; i < P_REPORTS; i++)
		assert_int_equal(reported(i % 2 ? a : b, i % 3 ? 22 : 23, h, 2000000 + i), 1);
	assert_int_equal(reported(a, 22, h, 2000010), 0);
	assert_int_equal(reported(b, 24, h, 2000010), 0);
	/* reports are not failures: the address may still open the form */
	assert_int_equal(checked(a, h, 2000010), 1);
	/* a refused report counts against nothing: the school still has its thirty */
	assert_int_equal(reported(a, 24, other, 2000010), 1);
	/* the window slides: a second past the first report's window, one more */
	assert_int_equal(reported(b, 22, h, 2000000 + P_WINDOW), 0);
	assert_int_equal(reported(b, 22, h, 2000001 + P_WINDOW), 1);
	assert_int_equal(reported(a, 22, h, 2000001 + P_WINDOW), 0);
}

static void pupil_school(void **state)
{
	unsigned char h[SRV_HASH_LEN];
	(void)state;
	/* thirty an hour per school, from however many addresses and handles */
	for (int i = 0; i < S_REPORTS; i++) {
		addr(h, 100 + i);
		assert_int_equal(reported(i % 2 ? a : b, 25, h, 3000000 + i), 1);
	}
	addr(h, 200);
	assert_int_equal(reported(a, 25, h, 3000030), 0);
	assert_int_equal(reported(b, 25, h, 3000031), 0);
	/* the refusals did not count against the address: it reports to another school */
	for (int i = 0; i < P_REPORTS; i++)
		assert_int_equal(reported(b, 26, h, 3000032), 1);
	/* an hour after the first, the school has room for one again */
	addr(h, 201);
	assert_int_equal(reported(a, 25, h, 3000000 + S_WINDOW), 0);
	assert_int_equal(reported(a, 25, h, 3000001 + S_WINDOW), 1);
	assert_int_equal(reported(b, 25, h, 3000001 + S_WINDOW), 0);
}

/* SQLite only (PostgreSQL's rows are looked at by tests/pg): rows older than their window
 * go at the next count, and no address is kept, only its 32-byte hash under school 0. */
static void pupil_pruned(void **state)
{
	unsigned char h[SRV_HASH_LEN];
	char path[128];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	(void)state;
	if (getenv("WARD_TEST_PG_DSN") && *getenv("WARD_TEST_PG_DSN"))
		skip();
	for (int i = 0; i < 5; i++) {
		addr(h, 300 + i);
		failed(a, h, 4000000);
		assert_int_equal(reported(b, 27, h, 4000000), 1);
	}
	snprintf(path, sizeof path, "%s/ward.db", dir);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	const char *count =
	    "SELECT (SELECT count(*) FROM pupil_address_events),"
	    " (SELECT count(*) FROM pupil_school_reports),"
	    " (SELECT count(*) FROM pupil_address_events WHERE school_id <> 0"
	    "  OR length(addr_hash) <> 32 OR typeof(addr_hash) <> 'blob')";
	assert_int_equal(sqlite3_prepare_v2(db, count, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	/* only what the windows still hold: the ten of each address above and school 27's */
	assert_int_equal(sqlite3_column_int(st, 0), 10);
	assert_true(sqlite3_column_int(st, 1) >= 5);
	assert_int_equal(sqlite3_column_int(st, 2), 0);
	sqlite3_finalize(st);
	/* past both windows, one report clears the addresses' rows and the school's */
	addr(h, 400);
	assert_int_equal(reported(a, 27, h, 4000001 + S_WINDOW), 1);
	assert_int_equal(sqlite3_prepare_v2(db, count, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT count(*) FROM pupil_school_reports"
	                                    " WHERE school_id = 27",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static atomic_int p_sent, s_sent;

static void *pupil_burst(void *arg)
{
	srv_store *s = (srv_store *)arg;
	unsigned char h[SRV_HASH_LEN];
	srv_pupil_limits l = lim_at(5000000);
	addr(h, 500);
	for (int i = 0; i < EACH; i++) {
		int ok = 0;
		if (s->throttle->pupil_report(s, 28, h, 5000000, &l, &ok) == WARD_OK && ok)
			atomic_fetch_add(&p_sent, 1);
	}
	return NULL;
}

struct school_arg {
	srv_store *s;
	int n;
};

static void *school_burst(void *arg)
{
	const struct school_arg *x = arg;
	srv_pupil_limits l = lim_at(6000000);
	for (int i = 0; i < EACH; i++) {
		unsigned char h[SRV_HASH_LEN];
		int ok = 0;
		addr(h, 600 + x->n * 10 + i); /* every report from an address of its own */
		if (x->s->throttle->pupil_report(x->s, 29, h, 6000000, &l, &ok) == WARD_OK && ok)
			atomic_fetch_add(&s_sent, 1);
	}
	return NULL;
}

static void pupil_concurrent(void **state)
{
	pthread_t t[THREADS];
	struct school_arg args[THREADS];
	unsigned char h[SRV_HASH_LEN];
	(void)state;
	/* one address: 48 reports at once through two handles, ten let through */
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, pupil_burst, i % 2 ? a : b), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&p_sent), P_REPORTS);
	addr(h, 500);
	assert_int_equal(reported(a, 30, h, 5000001), 0);
	/* one school, many addresses: 48 at once, thirty let through */
	for (int i = 0; i < THREADS; i++) {
		args[i].s = i % 2 ? a : b;
		args[i].n = i;
		assert_int_equal(pthread_create(&t[i], NULL, school_burst, &args[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&s_sent), S_REPORTS);
}

/* Attempts, withdrawals, clears (a sign-in that succeeded) and the pruning attempts do, all at
 * once through both handles on accounts of one school, with times out of order so that old
 * rows are scattered among new ones: not one call may fail.  (On
 * PostgreSQL an attempt's pruning of the school's old rows used to take their row locks in an
 * order a concurrent clear of one account could take the other way round: a deadlock, and a
 * 503 for whichever sign-in PostgreSQL chose to abort.) */
#define H_THREADS  6
#define H_ROUNDS   800
#define H_ACCOUNTS 6

static atomic_int h_failed, h_calls, h_seed;

static void *hammer(void *arg)
{
	srv_store *s = (srv_store *)arg;
	unsigned int seed = (unsigned int)atomic_fetch_add(&h_seed, 1) * 2654435761u;
	int64_t ids[8] = {0};
	for (int i = 0; i < H_ROUNDS; i++) {
		unsigned char h[SRV_HASH_LEN];
		unsigned r = (unsigned)rand_r(&seed);
		int64_t now = 7000000 + (int64_t)(r % 4000), id = 0;
		int held = 0;
		ward_status rc;
		key(h, 60 + (int)((r >> 12) % H_ACCOUNTS));
		switch ((r >> 8) % 8) {
		case 0:
		case 1:
			rc = s->throttle->clear(s, 31, h);
			break;
		case 2:
			rc = ids[r % 8] ? s->throttle->withdraw(s, 31, ids[r % 8]) : WARD_OK;
			ids[r % 8] = 0;
			break;
		default:
			/* a short window, so most of what the others wrote is old and pruned */
			rc = s->throttle->attempt(s, 31, h, now, now - 300, 1000, &id, &held);
			ids[r % 8] = id;
			break;
		}
		atomic_fetch_add(&h_calls, 1);
		if (rc != WARD_OK)
			atomic_fetch_add(&h_failed, 1);
	}
	return NULL;
}

static void concurrent_prune_and_clear(void **state)
{
	pthread_t t[H_THREADS];
	unsigned char h[SRV_HASH_LEN];
	(void)state;
	for (int i = 0; i < H_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, i % 2 ? a : b), 0);
	for (int i = 0; i < H_THREADS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&h_failed), 0);
	assert_true(atomic_load(&h_calls) >= H_THREADS * H_ROUNDS);
	/* and the throttle still counts: a cleared account has its five again, then is held */
	key(h, 60);
	assert_int_equal(a->throttle->clear(a, 31, h), WARD_OK);
	for (int i = 0; i < LIMIT; i++)
		assert_int_equal(try_at(i % 2 ? a : b, 31, h, 7010000, NULL), 1);
	assert_int_equal(try_at(a, 31, h, 7010000, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(limit_and_separation),
	    cmocka_unit_test(sliding_window),
	    cmocka_unit_test(withdraw_and_clear),
	    cmocka_unit_test(concurrent_attempts),
	    cmocka_unit_test(pupil_failures),
	    cmocka_unit_test(pupil_reports),
	    cmocka_unit_test(pupil_school),
	    cmocka_unit_test(pupil_pruned),
	    cmocka_unit_test(pupil_concurrent),
	    cmocka_unit_test(concurrent_prune_and_clear),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
