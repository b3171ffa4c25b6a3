// PostgreSQL only (tests/pg/suite.sh): `ward admin backup` and `ward admin restore` work on the
// data directory's SQLite file, so with a PostgreSQL service named (--dsn or WARD_POSTGRES_DSN)
// they refuse before touching anything, and say how PostgreSQL is backed up and restored.  A
// restore used to write the data directory's ward.db and report success while the service's
// database stayed as it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PW } from '../api/helper.mjs';

// The real ward, not the suite's wrapper (which would name a database for every call).
const WARD = path.join(process.env.WARD_REAL_BUILD || process.env.WARD_BUILD, 'ward');
const env = { ...process.env };
delete env.WARD_POSTGRES_DSN;
const ward = (args, extra = {}) => spawnSync(WARD, ['admin', ...args], { encoding: 'utf8', env: { ...env, ...extra } });
const ok = (r) => { assert.equal(r.status, 0, r.stdout + r.stderr); return r; };
const sha = (f) => createHash('sha256').update(readFileSync(f)).digest('hex');
const psql = (db, q) => execFileSync('psql', ['-X', '-At', '-d', db, '-c', q], { encoding: 'utf8' }).trim();

function refused(r, what) {
	assert.equal(r.status, 2, r.stdout + r.stderr);
	assert.match(r.stderr, new RegExp(`${what} works on the data directory's SQLite file, and a PostgreSQL service is named`));
	assert.match(r.stderr, /pg_dump and pg_restore/);
	assert.match(r.stderr, /wardd\(8\), "Backing up on PostgreSQL"/);
	assert.doesNotMatch(r.stdout, /restored|backup written/);
}

test('backup and restore refuse on PostgreSQL and touch neither the data directory nor the service', () => {
	const top = mkdtempSync(path.join(process.env.WARD_API_TMP || '/tmp', 'w-restore-'));
	const dir = path.join(top, 'data');
	// a SQLite school with a backup, then written to after it
	ok(ward(['--data-dir', dir, 'init', '--school', 'School A', '--username', 'admin', '--password', PW]));
	const bak = path.join(top, 'ward.bak');
	ok(ward(['--data-dir', dir, 'backup', bak]));
	ok(ward(['--data-dir', dir, 'user', 'add', '--school', 'School A', '--username', 'later', '--role', 'staff', '--password', PW]));
	const db = path.join(dir, 'ward.db');
	const before = sha(db);
	// a PostgreSQL service beside it, with the same key
	const pgdb = `w_restore_${process.pid}`;
	execFileSync('createdb', [pgdb]);
	const dsn = `host=${process.env.PGHOST} port=${process.env.PGPORT} user=${process.env.PGUSER} dbname=${pgdb}`;
	ok(ward(['--data-dir', dir, '--dsn', dsn, 'init', '--school', 'School P', '--username', 'admin-p', '--password', PW]));
	const rows = () => psql(pgdb, 'SELECT (SELECT count(*) FROM audit) || \' \' || (SELECT count(*) FROM users)');
	const pgBefore = rows();

	refused(ward(['--data-dir', dir, '--dsn', dsn, '--force', 'restore', bak]), 'restore');
	refused(ward(['--data-dir', dir, '--force', 'restore', bak], { WARD_POSTGRES_DSN: dsn }), 'restore');
	// refused before anything is read: no key file, no backup file, no server needed
	refused(ward(['--data-dir', path.join(top, 'none'), '--dsn', 'host=127.0.0.1 port=1 dbname=none', 'restore', path.join(top, 'missing.bak')]), 'restore');
	assert.equal(sha(db), before, 'ward.db is as it was');
	assert.equal(rows(), pgBefore, 'the service is as it was');

	const out = path.join(top, 'pg.bak');
	refused(ward(['--data-dir', dir, '--dsn', dsn, 'backup', out]), 'backup');
	refused(ward(['--data-dir', dir, 'backup', out], { WARD_POSTGRES_DSN: dsn }), 'backup');
	assert.ok(!existsSync(out), 'no backup file written');
	assert.equal(rows(), pgBefore);

	// without a service named, the same restore does what it says: the SQLite file as backed up
	const r = ok(ward(['--data-dir', dir, '--force', 'restore', bak]));
	assert.match(r.stdout, /restored/);
	assert.notEqual(sha(db), before);
	ok(ward(['--data-dir', dir, 'audit', 'verify']));
	const again = ward(['--data-dir', dir, 'user', 'add', '--school', 'School A', '--username', 'later', '--role', 'staff', '--password', PW]);
	assert.equal(again.status, 0, 'the account added after the backup is gone with the restore: ' + again.stderr);
});
