// Durability and tampering.  Clients create concerns while wardd is killed with SIGKILL at random
// moments, again and again; after each restart every concern answered 201 is there, intact, and
// the audit chain verifies.  Then rows are edited in the database file behind wardd's back and
// `ward admin audit verify` must name them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { WARD, makeData, startWardd, stopWardd, Client, concernBody, freePort } from './helper.mjs';

function verify(dir) {
	const r = spawnSync(WARD, ['admin', '--data-dir', dir, 'audit', 'verify'], { encoding: 'utf8' });
	return { status: r.status, out: r.stdout + r.stderr };
}

test('concerns answered 201 survive SIGKILL, and the chain verifies after each restart', { timeout: 120000 }, async () => {
	const dir = makeData();
	const port = await freePort();
	const acked = new Map();
	const rounds = Number(process.env.WARD_KILL_ROUNDS || 6);
	// Sessions live in the database, so the staff and DSL sessions made before the first round
	// survive every kill (and a DSL, with a second factor, signs in once).
	let w = await startWardd(dir, port);
	const clients = await Promise.all([0, 1, 2, 3].map(() => new Client(w.base).signIn('School A', 'staff')));
	const dsl = await new Client(w.base).signIn('School A', 'dsl');
	for (let round = 0; round < rounds; round++) {
		if (!w) w = await startWardd(dir, port);
		let stop = false;
		const workers = clients.map(async (c, i) => {
			let n = 0;
			while (!stop) {
				const body = concernBody(round * 100000 + i * 10000 + n++);
				try {
					const r = await c.req('POST', '/api/v1/concerns', body);
					if (r.status === 201) acked.set(r.json.id, body);
				} catch { break; }
			}
		});
		await new Promise((r) => setTimeout(r, 100 + Math.random() * 400));
		await stopWardd(w, 'SIGKILL');
		stop = true;
		await Promise.all(workers);
		const v = verify(dir);
		assert.equal(v.status, 0, `round ${round}: ${v.out}`);
		w = await startWardd(dir, port);
		try {
			// the list holds the newest 1000; a concern beyond them is read on its own
			const list = await dsl.req('GET', '/api/v1/concerns');
			assert.equal(list.status, 200, list.text);
			const byId = new Map(list.json.concerns.map((c) => [c.id, c]));
			for (const [id, body] of acked) {
				let c = byId.get(id);
				if (!c) {
					const one = await dsl.req('GET', `/api/v1/concerns/${id}`);
					c = one.status === 200 ? one.json : undefined;
				}
				assert.ok(c, `round ${round}: concern ${id} answered 201 is missing`);
				assert.equal(c.account, body.account);
				assert.deepEqual(c.areas, body.areas);
				assert.deepEqual(c.children, body.children);
			}
		} finally {
			await stopWardd(w);
			w = null;
		}
	}
	assert.ok(acked.size > 10, `only ${acked.size} concerns were acknowledged`);
});

function sqlite(db, sql) { execFileSync('sqlite3', ['-cmd', '.timeout 10000', db, sql]); }

async function seeded() {
	const dir = makeData();
	const w = await startWardd(dir);
	const c = await new Client(w.base).signIn('School A', 'staff');
	const ids = [];
	for (let i = 0; i < 3; i++) ids.push((await c.req('POST', '/api/v1/concerns', concernBody(i))).json.id);
	await stopWardd(w);
	assert.equal(verify(dir).status, 0);
	return { dir, db: path.join(dir, 'ward.db'), ids };
}

test('tampering: an edited audit entry is named', async () => {
	const { dir, db } = await seeded();
	sqlite(db, "DROP TRIGGER audit_no_update; UPDATE audit SET action = 'session.delete' WHERE seq = 4;");
	const v = verify(dir);
	assert.equal(v.status, 1, v.out);
	assert.match(v.out, /audit entry 4 .*altered/);
});

test('tampering: a deleted audit entry is named', async () => {
	const { dir, db } = await seeded();
	sqlite(db, 'DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 5;');
	const v = verify(dir);
	assert.equal(v.status, 1, v.out);
	assert.match(v.out, /audit entry 5 is missing/);
});

test('tampering: an edited concern row is named', async () => {
	const { dir, db, ids } = await seeded();
	sqlite(db, `DROP TRIGGER concern_no_update; UPDATE concern_versions SET status = 'closed' WHERE concern_id = ${ids[1]};`);
	const v = verify(dir);
	assert.equal(v.status, 1, v.out);
	assert.match(v.out, new RegExp(`concern ${ids[1]} version 1 was altered`));
});

test('tampering: a rewritten entry with a recomputed-looking hash breaks the next link', async () => {
	const { dir, db } = await seeded();
	sqlite(db, "DROP TRIGGER audit_no_update; UPDATE audit SET hash = zeroblob(32) WHERE seq = 3;");
	const v = verify(dir);
	assert.equal(v.status, 1, v.out);
	assert.match(v.out, /audit entry 3 /);
});

test('the database refuses updates to the audit log', async () => {
	const { db } = await seeded();
	const r = spawnSync('sqlite3', ['-cmd', '.timeout 10000', db, "UPDATE audit SET action = 'x' WHERE seq = 1;"], { encoding: 'utf8' });
	assert.match(r.stderr, /append-only/);
});

test('narrative fields are encrypted at rest', async () => {
	const { db } = await seeded();
	const dump = execFileSync('sqlite3', ['-cmd', '.timeout 10000', db, '.dump'], { encoding: 'latin1' });
	assert.ok(!dump.includes('private app'));
	assert.ok(!dump.includes('Pupil 1'));
});

test('backup while running, then restore, keeps every concern and the chain', async () => {
	const { dir, ids } = await seeded();
	const w = await startWardd(dir);
	const out = path.join(path.dirname(dir), 'backup.ward');
	execFileSync(WARD, ['admin', '--data-dir', dir, 'backup', out]);
	await stopWardd(w);
	execFileSync(WARD, ['admin', '--data-dir', dir, '--force', 'restore', out]);
	assert.equal(verify(dir).status, 0);
	const w2 = await startWardd(dir);
	const dsl = await new Client(w2.base).signIn('School A', 'dsl');
	for (const id of ids) assert.equal((await dsl.req('GET', `/api/v1/concerns/${id}`)).status, 200);
	await stopWardd(w2);
});
