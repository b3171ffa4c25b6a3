/* Unit tests for the sign-in throttle's store (store_throttle.h): limit, sliding window and
 * expiry, withdrawal, clearing, separation of accounts and schools, and attempts from two store
 * handles on one database at once (as two wardd processes make them) getting no more than the
 * limit between them.  SQLite in a temporary directory; PostgreSQL instead when
 * WARD_TEST_PG_DSN names an empty database (tests/pg/pg.test.mjs runs it so). */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(limit_and_separation),
	    cmocka_unit_test(sliding_window),
	    cmocka_unit_test(withdraw_and_clear),
	    cmocka_unit_test(concurrent_attempts),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
