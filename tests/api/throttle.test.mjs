// The sign-in throttle: five failures for a school and name within 15 minutes, then 429 for
// that account only.  The failures are kept in the store (not in a wardd process), so they
// outlast a restart, and a burst of guesses sent at once gets no more password checks than five
// sent one by one.  tests/pg/pg.test.mjs checks the same across two wardd on one PostgreSQL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { admin, makeData, startWardd, stopWardd, Client, PW } from './helper.mjs';

let dir, w;
before(async () => {
	dir = makeData();
	for (const u of ['burst', 'cleared', 'coded', 'quiet'])
		admin(dir, 'user', 'add', '--school', 'School A', '--username', u, '--role', 'staff', '--password', PW);
	admin(dir, 'user', 'add', '--school', 'School B', '--username', 'burst', '--role', 'staff', '--password', PW);
	w = await startWardd(dir);
});
after(async () => { if (w) await stopWardd(w); });

const signIn = (base, school, username, password, extra = {}) =>
	new Client(base).req('POST', '/api/v1/session', { school, username, password, ...extra });
const wrong = (base, school, username) => signIn(base, school, username, 'not the password');

function isThrottled(r) {
	assert.equal(r.status, 429, r.text);
	assert.equal(r.json.title, 'Too many attempts');
	assert.equal(r.json.detail, 'too many failed sign-ins for this account; wait 15 minutes and try again');
}

test('a burst of wrong passwords sent at once: five are checked, the rest wait', async () => {
	const rs = await Promise.all(Array.from({ length: 14 }, () => wrong(w.base, 'School A', 'burst')));
	assert.equal(rs.filter((r) => r.status === 401).length, 5, rs.map((r) => r.status).join(' '));
	for (const r of rs.filter((r) => r.status !== 401)) isThrottled(r);
	// the right password waits too
	isThrottled(await signIn(w.base, 'School A', 'burst', PW));
	// the same name in another school, and another name in this school, are not held up
	assert.equal((await signIn(w.base, 'School B', 'burst', PW)).status, 201);
	assert.equal((await signIn(w.base, 'School A', 'quiet', PW)).status, 201);
});

test('a successful sign-in forgets the failures before it', async () => {
	for (let round = 0; round < 3; round++) {
		for (let i = 0; i < 4; i++) assert.equal((await wrong(w.base, 'School A', 'cleared')).status, 401);
		assert.equal((await signIn(w.base, 'School A', 'cleared', PW)).status, 201, `round ${round}`);
	}
	for (let i = 0; i < 5; i++) assert.equal((await wrong(w.base, 'School A', 'cleared')).status, 401);
	isThrottled(await wrong(w.base, 'School A', 'cleared'));
});

test('a school that does not exist is throttled the same way', async () => {
	for (let i = 0; i < 5; i++) {
		const r = await wrong(w.base, 'No Such School', 'someone');
		assert.equal(r.status, 401);
		assert.equal(r.json.detail, 'the school, name or password is not right');
	}
	isThrottled(await wrong(w.base, 'No Such School', 'someone'));
});

test('asking for the second factor is not a failure; a wrong code is', async () => {
	const c = await new Client(w.base).signIn('School A', 'dsl'); // enrols an authenticator
	assert.equal(c.session.user.username, 'dsl');
	for (let i = 0; i < 7; i++) {
		const r = await signIn(w.base, 'School A', 'dsl', PW);
		assert.equal(r.status, 401);
		assert.equal(r.json.title, 'Code needed');
	}
	await new Client(w.base).signIn('School A', 'dsl'); // with a code: 201 or it throws
	for (let i = 0; i < 5; i++) {
		const r = await signIn(w.base, 'School A', 'dsl', PW, { totp: '000000' });
		assert.equal(r.status, 401);
		assert.equal(r.json.totp_required, true);
	}
	isThrottled(await signIn(w.base, 'School A', 'dsl', PW));
});

test('failures are kept in the store: a restarted wardd still refuses', async () => {
	const d = makeData();
	let x = await startWardd(d);
	try {
		for (let i = 0; i < 5; i++) assert.equal((await wrong(x.base, 'School A', 'staff')).status, 401);
		await stopWardd(x);
		x = await startWardd(d);
		isThrottled(await signIn(x.base, 'School A', 'staff', PW));
		assert.equal((await signIn(x.base, 'School A', 'auditor', PW)).status, 201);
		// a password typed into the name field
		assert.equal((await signIn(x.base, 'School A', 'Typed-Into-Name-7Q', 'x')).status, 401);
	} finally {
		await stopWardd(x);
	}
	// SQLite: the database holds a keyed hash of the name, never the name typed
	const db = path.join(d, 'ward.db');
	if (!existsSync(db)) return; // PostgreSQL (tests/pg/pg.test.mjs looks there)
	const rows = execFileSync('sqlite3', ['-cmd', '.timeout 10000', db, 'SELECT school_id, length(name_hash), typeof(name_hash) FROM signin_failures'],
		{ encoding: 'utf8' }).trim().split('\n');
	assert.equal(rows.length, 6);
	for (const r of rows) assert.match(r, /^\d+\|32\|blob$/);
	execFileSync('sqlite3', ['-cmd', '.timeout 10000', db, 'PRAGMA wal_checkpoint(TRUNCATE)']);
	assert.ok(!readFileSync(db).includes('Typed-Into-Name-7Q'), 'the typed name is not in the database');
});
