// tests/pg/schema.test.mjs: the stores' migrations come from one description (server/schema/):
// a fresh SQLite and a fresh PostgreSQL database, migrated by tests/unit/test_schema.c, have the
// same tables, the same column names per table and every module at the same version, apart
// from the differences that test lists with their reasons; and every PostgreSQL table with a
// school_id is under forced row-level security with a policy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';

test('one schema description: fresh SQLite and PostgreSQL databases have the same tables, columns and module versions', () => {
	const db = `w_schema_${process.pid}`;
	execFileSync('createdb', [db]);
	const dsn = `host=${process.env.PGHOST} port=${process.env.PGPORT} user=${process.env.PGUSER} dbname=${db}`;
	const r = spawnSync(`${process.env.WARD_REAL_BUILD}/tests/test_schema`, [], {
		encoding: 'utf8', env: { ...process.env, WARD_TEST_PG_DSN: dsn, CMOCKA_MESSAGE_OUTPUT: 'stdout' } });
	const out = r.stdout + r.stderr;
	assert.equal(r.status, 0, out);
	assert.match(out, /4 test\(s\) run/);
	assert.match(out, /sqlite_and_pg_agree/, 'the PostgreSQL comparison ran');
	// it migrated this database: every module of the description is there
	const n = execFileSync('psql', ['-X', '-At', '-d', db, '-c', 'SELECT count(*) FROM schema_versions'],
		{ encoding: 'utf8' }).trim();
	assert.ok(Number(n) >= 6, n);
	assert.match(out, /compared \d+ SQLite tables with \d+ PostgreSQL tables/);
	assert.match(out, /\d+ tables with a school_id, each under row-level security/);
});
