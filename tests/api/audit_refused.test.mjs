// A read that cannot be written to the audit log is not shown.  The database is made to refuse
// the read's audit entry (a trigger added with the sqlite3 tool while wardd runs); every
// audited read of a concern is then answered 503 "Not recorded" and carries nothing of the
// concern; once the database takes entries again the same reads work, and the chain verifies
// with only the reads that were shown in it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { WARD, makeData, startWardd, stopWardd, Client, concernBody } from './helper.mjs';

function sqlite(db, sql) { return execFileSync('sqlite3', ['-cmd', '.timeout 10000', db, sql], { encoding: 'utf8' }); }

test('a read the audit log refuses is answered 503 and shows nothing of the concern', async () => {
	const dir = makeData();
	const db = path.join(dir, 'ward.db');
	const w = await startWardd(dir);
	try {
		const staff = await new Client(w.base).signIn('School A', 'staff');
		const body = concernBody(7);
		const made = await staff.req('POST', '/api/v1/concerns', body);
		assert.equal(made.status, 201, made.text);
		const id = made.json.id;
		const dsl = await new Client(w.base).signIn('School A', 'dsl');

		sqlite(db, "CREATE TRIGGER test_refuse_reads BEFORE INSERT ON audit WHEN NEW.action LIKE 'concern.%' AND NEW.action <> 'concern.create' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;");
		for (const [who, url] of [[dsl, `/api/v1/concerns/${id}`], [dsl, `/api/v1/concerns/${id}/versions`],
			[dsl, '/api/v1/concerns'], [staff, `/api/v1/concerns/${id}`]]) {
			const r = await who.req('GET', url);
			assert.equal(r.status, 503, `${url}: ${r.text}`);
			assert.equal(r.json.title, 'Not recorded');
			assert.match(r.headers.get('content-type'), /problem\+json/);
			for (const secret of [body.account, body.children[0].name, body.children[0].internal_id])
				assert.ok(!r.text.includes(secret), `${url} leaked ${secret}`);
		}
		const before = Number(sqlite(db, "SELECT count(*) FROM audit WHERE action LIKE 'concern.read%' OR action = 'concern.list'").trim());
		assert.equal(before, 0, 'no entry of a refused read');

		sqlite(db, 'DROP TRIGGER test_refuse_reads;');
		const r = await dsl.req('GET', `/api/v1/concerns/${id}`);
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.account, body.account);
		const after = Number(sqlite(db, `SELECT count(*) FROM audit WHERE action = 'concern.read' AND target = 'concern/${id}'`).trim());
		assert.equal(after, 1, 'the read that was shown is recorded');
	} finally {
		await stopWardd(w);
	}
	const v = spawnSync(WARD, ['admin', '--data-dir', dir, 'audit', 'verify'], { encoding: 'utf8' });
	assert.equal(v.status, 0, v.stdout + v.stderr);
});
