// PostgreSQL only (run by tests/pg/suite.sh): a trust moves its schools into one PostgreSQL
// service one by one with `ward admin migrate --to postgres`.  The first school into the empty
// service keeps its ids and chain; the second gets fresh ids beside it, its sealed records are
// sealed again under the service's key, its audit history is appended to the service's chain
// and its original chain kept in audit_origin.  Refusals (a school of the same name, a source
// whose chain does not verify, no service key) write nothing; tampering with the preserved
// history or with a copied row is named by audit verify.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { admin, account, makeData, startWardd, stopWardd, Client, concernBody, PW, WARD } from '../api/helper.mjs';
import { alertBody } from '../api/fixtures/alerts.mjs';

const dbOf = (dir) => 'w_' + createHash('md5').update(realpathSync(dir) + '\n').digest('hex').slice(0, 24);
const dsnOf = (dir) => `host=127.0.0.1 port=${process.env.PGPORT} user=${process.env.PGUSER} dbname=${dbOf(dir)}`;
const sql = (dir, q) => execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-At', '-d', dbOf(dir), '-c', q],
	{ encoding: 'utf8' }).trim();
const verify = (dir) => spawnSync(WARD, ['admin', '--data-dir', dir, 'audit', 'verify'], { encoding: 'utf8' });
// A refused command: its status and words (and, on the ASan build, no sanitizer report).
const ward = (...args) => {
	const r = spawnSync(WARD, args, { encoding: 'utf8' });
	assert.doesNotMatch(r.stderr, /Sanitizer|runtime error/);
	return r;
};
const sqlite = (dir, q) => execFileSync('sqlite3', ['-cmd', '.timeout 10000', path.join(dir, 'ward.db'), q],
	{ encoding: 'utf8' }).trim();

async function ok(p, status) {
	const r = await p;
	if (status) assert.equal(r.status, status, r.text);
	else assert.ok(r.status >= 200 && r.status < 300, `${r.status}: ${r.text}`);
	return r.json;
}

// Runs f with ward and wardd on SQLite (the wrappers of tests/pg/suite.sh honour WARD_PG_OFF).
async function onSqlite(f) {
	process.env.WARD_PG_OFF = '1';
	try {
		return await f();
	} finally {
		delete process.env.WARD_PG_OFF;
	}
}

// A SQLite data directory with one school: an admin, a DSL and a member of staff.
function school(name, p) {
	const dir = path.join(mkdtempSync(path.join(process.env.WARD_API_TMP || '/tmp', 'm-')), 'data');
	admin(dir, 'init', '--school', name, '--username', `admin-${p}`, '--password', PW);
	for (const r of ['staff', 'dsl'])
		admin(dir, 'user', 'add', '--school', name, '--username', `${r}-${p}`, '--role', r, '--password', PW);
	return dir;
}

// The service's counts, to show a refused migration wrote nothing.
const counts = (dir) => sql(dir, `SELECT (SELECT count(*) FROM audit) || ',' || (SELECT count(*) FROM schools) || ','
	|| (SELECT count(*) FROM users) || ',' || (SELECT count(*) FROM concern_versions) || ','
	|| (SELECT count(*) FROM audit_origin) || ',' || (SELECT seq FROM audit_head)`);

// Concerns by their account text (what a person wrote), through the DSL's own reads.
async function byAccount(dsl) {
	const list = await ok(dsl.req('GET', '/api/v1/concerns'), 200);
	const out = new Map();
	for (const c of list.concerns) {
		const one = await ok(dsl.req('GET', `/api/v1/concerns/${c.id}`), 200);
		out.set(one.account, one);
	}
	return out;
}

test('ward admin migrate: a second school moves into a service that holds one, with fresh ids and both chains verified',
	{ timeout: 300000 }, async () => {
		const N = 'North School', S = 'South School';
		const orig = {};
		let wS, north, south;
		// ---- the two schools on SQLite ----
		await onSqlite(async () => {
			north = school(N, 'n');
			south = school(S, 's');
			const w = await startWardd(north);
			try {
				const staff = await new Client(w.base).signIn(N, 'staff-n');
				const dsl = await new Client(w.base).signIn(N, 'dsl-n');
				orig.north = [];
				for (let i = 0; i < 2; i++)
					orig.north.push((await ok(staff.req('POST', '/api/v1/concerns', concernBody(100 + i)), 201)).id);
				await ok(dsl.req('GET', `/api/v1/concerns/${orig.north[0]}`), 200);
			} finally {
				await stopWardd(w);
			}
			const token = admin(south, 'token', 'add', '--school', S, '--name', 'detector').trim().split('\n').pop();
			wS = await startWardd(south);
			try {
				const staff = await new Client(wS.base).signIn(S, 'staff-s');
				const dsl = await new Client(wS.base).signIn(S, 'dsl-s');
				orig.south = [];
				for (let i = 0; i < 3; i++)
					orig.south.push((await ok(staff.req('POST', '/api/v1/concerns', concernBody(200 + i)), 201)).id);
				const c0 = `/api/v1/concerns/${orig.south[0]}`;
				await ok(dsl.req('GET', c0), 200); // an audited read
				await ok(dsl.req('POST', `${c0}/acknowledge`, {})); // a notice at a revision
				const cur = await ok(dsl.req('GET', `/api/v1/concerns/${orig.south[1]}`), 200);
				await ok(dsl.req('PATCH', `/api/v1/concerns/${orig.south[1]}`, { version: cur.version, status: 'in-progress' }), 200);
				await ok(dsl.req('POST', `${c0}/chronology`, { type: 'action', at: '2026-11-01', text: 'Spoke with the form tutor.' }));
				await ok(dsl.req('POST', `${c0}/decisions`, { decision: 'monitor', reason: 'Watching for further signs.' }));
				await ok(dsl.req('GET', `${c0}/case`), 200);
				const pupil = await ok(dsl.req('POST', '/api/v1/pupils', { name: 'Robin Example', date_of_birth: '2013-07-08' }));
				orig.pupil = pupil.id;
				const keys = await ok(dsl.req('GET', '/api/v1/transfer-keys'), 200);
				await ok(dsl.req('POST', `/api/v1/pupils/${pupil.id}/transfer`, { recipient_box_key: keys.box_key, recipient_school: N }));
				const post = (k) => new Client(wS.base).req('POST', '/api/v1/alerts', alertBody(`m-${k}`),
					{ headers: { authorization: `Bearer ${token}` } });
				const a1 = await ok(post(1), 201), a2 = await ok(post(2), 201);
				orig.alerts = [a1.id, a2.id];
				await ok(dsl.req('GET', `/api/v1/alerts/${a1.id}`), 200);
				const promoted = await ok(dsl.req('POST', `/api/v1/alerts/${a2.id}/promote`, {}));
				orig.promoted = promoted.concern_id ?? promoted.id;
				// the admin's settings and pupil page, each at a second revision
				const adm = await new Client(wS.base).signIn(S, 'admin-s');
				await ok(adm.req('PUT', '/api/v1/settings/notify', { escalation_minutes: 30 }));
				await ok(adm.req('PUT', '/api/v1/settings/notify', { escalation_minutes: 45 }));
				await ok(adm.req('PUT', '/api/v1/pupil-page', { enabled: true }));
				await ok(adm.req('PUT', '/api/v1/pupil-page', { enabled: false }));
				orig.page = await ok(adm.req('GET', '/api/v1/pupil-page'), 200);
			} finally {
				await stopWardd(wS);
			}
			// a trust membership: not copied (the service's trusts are its own)
			admin(south, 'trust', 'add', '--name', 'Valley Trust', '--school', S);
			assert.equal(verify(south).status, 0, verify(south).stdout);
		});
		const southEntries = Number(sqlite(south, 'SELECT count(*) FROM audit'));

		// ---- the first school into the empty service: copied as it is ----
		const first = admin(north, 'migrate', '--to', 'postgres');
		assert.match(first, /copied \d+ rows/);
		assert.doesNotMatch(first, /new ids/);
		assert.equal(sql(north, 'SELECT string_agg(DISTINCT concern_id::text, \',\' ORDER BY concern_id::text) FROM concern_versions'),
			orig.north.map(String).sort().join(','), 'the first school keeps its ids');
		const keyN = path.join(north, 'wardd.key');

		// ---- refusals write nothing ----
		const before = counts(north);
		let r = ward('admin', '--data-dir', south, 'migrate', '--to', 'postgres', '--dsn', dsnOf(north));
		assert.notEqual(r.status, 0);
		assert.match(r.stderr, /already holds schools: give --service-key/);
		assert.equal(counts(north), before, 'no service key: nothing written');

		const dup = await onSqlite(() => school(N, 'd')); // another "North School"
		r = ward('admin', '--data-dir', dup, 'migrate', '--to', 'postgres', '--dsn', dsnOf(north), '--service-key', keyN);
		assert.notEqual(r.status, 0);
		assert.match(r.stderr, /a school named "North School" is already in the PostgreSQL service/);
		assert.equal(counts(north), before, 'same name: nothing written');

		const west = await onSqlite(async () => {
			const d = school('West School', 'w');
			sqlite(d, "DROP TRIGGER audit_no_update; UPDATE audit SET action = 'session.delete' WHERE seq = 2");
			return d;
		});
		r = ward('admin', '--data-dir', west, 'migrate', '--to', 'postgres', '--dsn', dsnOf(north), '--service-key', keyN);
		assert.notEqual(r.status, 0);
		assert.match(r.stderr, /does not verify .*entry 2.*nothing was copied/);
		assert.equal(counts(north), before, 'a broken source chain: nothing written');
		assert.equal(sql(north, "SELECT count(*) FROM schools WHERE name = 'West School'"), '0');

		// the wrong service key is refused too (it does not open what the service holds)
		r = ward('admin', '--data-dir', south, 'migrate', '--to', 'postgres', '--dsn', dsnOf(north),
			'--service-key', path.join(south, 'wardd.key'));
		assert.notEqual(r.status, 0);
		assert.match(r.stderr, /service key does not open/);
		assert.equal(counts(north), before, 'wrong key: nothing written');

		// ---- the second school ----
		const out = admin(south, 'migrate', '--to', 'postgres', '--dsn', dsnOf(north), '--service-key', keyN);
		assert.match(out, /audit chain intact in .*ward\.db/);
		assert.match(out, /new ids/);
		assert.match(out, /Sessions are not copied/);
		assert.match(out, /audit chain intact in PostgreSQL: \d+ entries/);
		const headBefore = Number(before.split(',').pop());
		assert.equal(Number(sql(north, 'SELECT seq FROM audit_head')), headBefore + southEntries + 1,
			'the school\'s entries and the import entry are appended to the service\'s chain');
		assert.equal(sql(north, 'SELECT count(*) FROM audit_origin'), String(southEntries), 'the original chain is kept');
		assert.equal(sql(north, `SELECT hash = (SELECT hash FROM audit_origin WHERE seq = ${southEntries}) FROM audit_origin WHERE seq = ${southEntries}`), 't');
		assert.match(sql(north, "SELECT target FROM audit WHERE action = 'audit.import'"), new RegExp(`^audit-origin/\\d+/head/${southEntries}$`));
		assert.equal(sql(north, 'SELECT count(*) FROM sessions WHERE school_id = (SELECT id FROM schools WHERE name = \'South School\')'), '0');
		let v = verify(north);
		assert.equal(v.status, 0, v.stdout);

		// ids did not collide and were all given afresh
		const sid = sql(north, "SELECT id FROM schools WHERE name = 'South School'");
		const nid = sql(north, "SELECT id FROM schools WHERE name = 'North School'");
		assert.notEqual(sid, nid);
		const southIds = sql(north, `SELECT DISTINCT concern_id FROM concern_versions WHERE school_id = ${sid}`).split('\n').map(Number);
		assert.equal(southIds.length, 4, 'three concerns and the promoted alert');
		for (const id of [...orig.south, orig.promoted]) assert.ok(!southIds.includes(id), `concern ${id} has a new id`);
		for (const id of orig.north) assert.ok(!southIds.includes(id));
		assert.equal(sql(north, `SELECT count(*) FROM alerts WHERE school_id = ${sid} AND id IN (${orig.alerts.join(',')})`), '0');
		assert.equal(sql(north, `SELECT count(*) FROM pupils WHERE id = ${orig.pupil}`), '0');
		assert.equal(sql(north, 'SELECT count(*) FROM users'), '6');
		assert.equal(sql(north, `SELECT count(*) FROM case_entries WHERE school_id = ${sid} AND ref LIKE 'pupil/%'`
			+ ` AND substr(ref, 7)::bigint IN (SELECT id FROM pupils WHERE school_id = ${sid})`), '1', 'the transfer names the new pupil id');
		// nothing in the clear
		const dump = sql(north, `SELECT encode(payload, 'escape') FROM concern_versions WHERE school_id = ${sid}`);
		assert.ok(!dump.includes('Pupil 200'), 'narrative stays sealed');

		// ---- both schools on the service: sign-in with their second factors, own concerns only ----
		const w = await startWardd(north);
		try {
			const dslN = await new Client(w.base).signIn(N, 'dsl-n');
			const mineN = await byAccount(dslN);
			assert.deepEqual([...mineN.values()].map((c) => c.id).sort(), [...orig.north].sort());
			assert.ok(mineN.has(concernBody(100).account));
			// the South DSL's authenticator (enrolled on SQLite) still works: the secret was resealed
			Object.assign(account(w.base, S, 'dsl-s'), account(wS.base, S, 'dsl-s'));
			const dslS = await new Client(w.base).signIn(S, 'dsl-s');
			assert.equal(dslS.session.enrolment_required ?? false, false);
			const mineS = await byAccount(dslS);
			assert.equal(mineS.size, 4);
			for (const i of [0, 1, 2]) assert.ok(mineS.has(concernBody(200 + i).account), `concern ${i} opens`);
			for (const c of mineS.values()) assert.ok(!orig.north.includes(c.id));
			assert.equal(mineS.get(concernBody(201).account).status, 'in-progress');
			assert.equal(mineS.get(concernBody(201).account).version, 2);
			const c0 = mineS.get(concernBody(200).account).id;
			assert.equal((await dslS.req('GET', `/api/v1/concerns/${orig.north[0]}`)).status, 404, 'not the other school\'s');
			assert.equal((await dslN.req('GET', `/api/v1/concerns/${c0}`)).status, 404);
			const kase = await ok(dslS.req('GET', `/api/v1/concerns/${c0}/case`), 200);
			assert.ok(JSON.stringify(kase).includes('Spoke with the form tutor.'), 'case entries open under the new ids');
			assert.ok(JSON.stringify(kase).includes('Watching for further signs.'));
			const pupils = await ok(dslS.req('GET', '/api/v1/pupils'), 200);
			const plist = pupils.pupils ?? pupils;
			assert.equal(plist.length, 1);
			const p = await ok(dslS.req('GET', `/api/v1/pupils/${plist[0].id}`), 200);
			assert.equal((p.pupil ?? p).name, 'Robin Example');
			const sar = await ok(dslS.req('GET', `/api/v1/pupils/${plist[0].id}/export`), 200);
			assert.deepEqual(sar.record_entries.map((e) => e.kind), ['transfer-out'], 'the transfer follows the pupil\'s new id');
			assert.equal(sar.record_entries[0].recipient_school, N, 'and opens under it');
			const alerts = await ok(dslS.req('GET', '/api/v1/alerts'), 200);
			assert.equal(alerts.alerts.length, 2);
			for (const a of alerts.alerts) {
				const one = await ok(dslS.req('GET', `/api/v1/alerts/${a.id}`), 200);
				assert.match(JSON.stringify(one), /keep their chats secret/, 'alert payload opens');
			}
			assert.equal((await ok(dslN.req('GET', '/api/v1/alerts'), 200)).alerts.length, 0);
			Object.assign(account(w.base, S, 'admin-s'), account(wS.base, S, 'admin-s'));
			const admS = await new Client(w.base).signIn(S, 'admin-s');
			assert.equal((await ok(admS.req('GET', '/api/v1/settings/notify'), 200)).escalation_minutes, 45);
			const page = await ok(admS.req('GET', '/api/v1/pupil-page'), 200);
			assert.equal(page.enabled, false);
			assert.equal(page.code, orig.page.code, 'the pupil page keeps its code');
			// the service writes on after the import
			const staffS = await new Client(w.base).signIn(S, 'staff-s');
			await ok(staffS.req('POST', '/api/v1/concerns', concernBody(300)), 201);
			await ok(admS.req('PUT', '/api/v1/settings/notify', { escalation_minutes: 20 }));
		} finally {
			await stopWardd(w);
		}
		v = verify(north);
		assert.equal(v.status, 0, v.stdout);
		// the school joins a trust of the service's: the membership's first revision does not
		// meet the one from the school's own history
		admin(north, 'trust', 'add', '--name', 'Valley Trust', '--school', S);
		v = verify(north);
		assert.equal(v.status, 0, v.stdout);
		assert.equal(sql(north, `SELECT count(*) FROM trust_members WHERE school_id = ${sid}`), '1');

		// ---- tampering shows: the preserved history, and a copied row ----
		sql(north, `ALTER TABLE audit_origin DISABLE TRIGGER audit_origin_append_only;
			UPDATE audit_origin SET actor_id = actor_id + 1 WHERE seq = 3;
			ALTER TABLE audit_origin ENABLE TRIGGER audit_origin_append_only`);
		v = verify(north);
		assert.notEqual(v.status, 0);
		assert.match(v.stdout, /audit-origin\/\d+\/head\/\d+ was altered/);
		sql(north, `ALTER TABLE audit_origin DISABLE TRIGGER audit_origin_append_only;
			UPDATE audit_origin SET actor_id = actor_id - 1 WHERE seq = 3;
			ALTER TABLE audit_origin ENABLE TRIGGER audit_origin_append_only`);
		assert.equal(verify(north).status, 0, 'restored');

		sql(north, `ALTER TABLE concern_versions DISABLE TRIGGER concern_append_only;
			UPDATE concern_versions SET created = created + 1 WHERE school_id = ${sid} AND version = 2;
			ALTER TABLE concern_versions ENABLE TRIGGER concern_append_only`);
		v = verify(north);
		assert.notEqual(v.status, 0);
		assert.match(v.stdout, /concern \d+ version 2 was altered/);
		sql(north, `ALTER TABLE concern_versions DISABLE TRIGGER concern_append_only;
			UPDATE concern_versions SET created = created - 1 WHERE school_id = ${sid} AND version = 2;
			ALTER TABLE concern_versions ENABLE TRIGGER concern_append_only`);
		assert.equal(verify(north).status, 0, 'restored');

		sql(north, `UPDATE alerts SET count = count + 1 WHERE school_id = ${sid} AND status = 'new'`);
		v = verify(north);
		assert.notEqual(v.status, 0);
		assert.match(v.stdout, /alert\/\d+\/r\d+ was altered/);
		sql(north, `UPDATE alerts SET count = count - 1 WHERE school_id = ${sid} AND status = 'new'`);
		assert.equal(verify(north).status, 0, 'restored');

		// the origin chain cut short at its end is named too
		sql(north, `ALTER TABLE audit_origin DISABLE TRIGGER audit_origin_append_only;
			DELETE FROM audit_origin WHERE seq = ${southEntries};
			ALTER TABLE audit_origin ENABLE TRIGGER audit_origin_append_only`);
		v = verify(north);
		assert.notEqual(v.status, 0);
		assert.match(v.stdout, /audit-origin\/\d+\/head\/\d+ was altered/);
	});

test('ward admin migrate: a data directory with two schools moves in beside a service\'s school, each kept apart',
	{ timeout: 300000 }, async () => {
		let svc, two;
		const made = {};
		await onSqlite(async () => {
			svc = school('East School', 'e');
			two = makeData(); // School A (every role) and School B (a DSL)
			const w = await startWardd(two);
			try {
				const a = await new Client(w.base).signIn('School A', 'staff');
				const b = await new Client(w.base).signIn('School B', 'dsl-b');
				made.a = (await ok(a.req('POST', '/api/v1/concerns', concernBody(400)), 201)).id;
				made.b = (await ok(b.req('POST', '/api/v1/concerns', concernBody(401)), 201)).id;
				made.base = w.base;
			} finally {
				await stopWardd(w);
			}
		});
		admin(svc, 'migrate', '--to', 'postgres');
		const out = admin(two, 'migrate', '--to', 'postgres', '--dsn', dsnOf(svc), '--service-key', path.join(svc, 'wardd.key'));
		assert.match(out, /audit chain intact in PostgreSQL/);
		assert.equal(verify(svc).status, 0, verify(svc).stdout);
		const ids = Object.fromEntries(sql(svc, 'SELECT name, id FROM schools').split('\n').map((l) => l.split('|')));
		assert.deepEqual(Object.keys(ids).sort(), ['East School', 'School A', 'School B']);
		// every kept origin entry sits under the school it belongs to now (row-level security)
		assert.equal(sql(svc, `SELECT count(*) FROM audit_origin WHERE school_id NOT IN (${ids['School A']}, ${ids['School B']})`), '0');
		assert.equal(sql(svc, `SELECT count(DISTINCT school_id) FROM audit_origin`), '2');
		const w = await startWardd(svc);
		try {
			Object.assign(account(w.base, 'School B', 'dsl-b'), account(made.base, 'School B', 'dsl-b'));
			Object.assign(account(w.base, 'School A', 'dsl'), account(made.base, 'School A', 'dsl'));
			const dslA = await new Client(w.base).signIn('School A', 'dsl');
			const dslB = await new Client(w.base).signIn('School B', 'dsl-b');
			const la = await byAccount(dslA), lb = await byAccount(dslB);
			assert.deepEqual([...la.keys()], [concernBody(400).account]);
			assert.deepEqual([...lb.keys()], [concernBody(401).account]);
			assert.ok(![...la.values()].some((c) => c.id === made.a), 'a fresh id');
			const aud = await new Client(w.base).signIn('School A', 'auditor');
			const v = await ok(aud.req('GET', '/api/v1/audit/verify'), 200);
			assert.equal(v.intact, true, JSON.stringify(v));
		} finally {
			await stopWardd(w);
		}
	});
