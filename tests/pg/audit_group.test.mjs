// PostgreSQL only (run by tests/pg/suite.sh): audited reads are group-committed (store_pg.c,
// pg_audit_append), a batch starting from the chain's head as this wardd last saw it.  Two wardd
// on one database, readers reading in a set order while bursts of reads and of concern
// creations from both move the head under each other: every answered read has its entry, each
// reader's entries are in the order it read, the chain has no gap or fork, its head is its last
// entry, and audit verify passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { makeData, startWardd, stopWardd, Client, concernBody, WARD } from '../api/helper.mjs';

const dbOf = (dir) => 'w_' + createHash('md5').update(realpathSync(dir) + '\n').digest('hex').slice(0, 24);
const sql = (dir, q) => execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-At', '-d', dbOf(dir), '-c', q],
	{ encoding: 'utf8' }).trim();

test('concurrent audited reads on two wardd: every entry there, in each reader\'s order, one unbroken chain', async () => {
	const dir = makeData();
	const w1 = await startWardd(dir);
	const w2 = await startWardd(dir);
	try {
		const staff = await new Client(w1.base).signIn('School A', 'staff');
		const staff2 = await new Client(w2.base).signIn('School A', 'staff');
		const dslB = await new Client(w2.base).signIn('School B', 'dsl-b');
		const ids = { A: [], B: [] };
		for (let i = 0; i < 5; i++) {
			const a = await staff.req('POST', '/api/v1/concerns', concernBody(i));
			const b = await dslB.req('POST', '/api/v1/concerns', concernBody(i + 10));
			assert.equal(a.status, 201, a.text);
			assert.equal(b.status, 201, b.text);
			ids.A.push(a.json.id);
			ids.B.push(b.json.id);
		}
		// Readers, one per account, each on its own wardd, reading in a set order.
		const readers = [
			{ c: await new Client(w1.base).signIn('School A', 'dsl'), user: 'dsl', list: ids.A },
			{ c: await new Client(w2.base).signIn('School A', 'deputy-dsl'), user: 'deputy-dsl', list: [...ids.A].reverse() },
			{ c: dslB, user: 'dsl-b', list: ids.B },
		];
		const order = new Map();
		const readInOrder = async (r) => {
			const done = [];
			for (let round = 0; round < 4; round++)
				for (const id of r.list) {
					const g = await r.c.req('GET', `/api/v1/concerns/${id}`);
					assert.equal(g.status, 200, g.text);
					done.push(`concern/${id}`);
				}
			order.set(r.user, done);
		};
		// Bursts beside them: many reads of the staff member's first concern at once, through
		// both wardd, and creations, whose transactions move the head from the other path.
		const burst = [];
		for (let i = 0; i < 120; i++)
			burst.push((i % 2 ? staff : staff2).req('GET', `/api/v1/concerns/${ids.A[0]}`));
		const creates = [];
		for (let i = 0; i < 12; i++)
			creates.push((i % 2 ? staff2 : staff).req('POST', '/api/v1/concerns', concernBody(100 + i)));
		const [, burstDone, createsDone] = await Promise.all([
			Promise.all(readers.map(readInOrder)), Promise.all(burst), Promise.all(creates)]);
		for (const g of burstDone) assert.equal(g.status, 200, g.text);
		for (const c of createsDone) assert.equal(c.status, 201, c.text);

		const users = Object.fromEntries(sql(dir, 'SELECT username, id FROM users').split('\n').map((l) => l.split('|')));
		const reads = sql(dir, "SELECT actor_id, target FROM audit WHERE action = 'concern.read' ORDER BY seq")
			.split('\n').map((l) => l.split('|'));
		for (const r of readers) {
			const mine = reads.filter(([actor]) => actor === users[r.user]).map(([, t]) => t);
			assert.deepEqual(mine, order.get(r.user), `${r.user}'s reads in the chain, in the order read`);
		}
		const burstEntries = reads.filter(([actor, t]) => actor === users.staff && t === `concern/${ids.A[0]}`);
		assert.equal(burstEntries.length, burst.length, 'an entry for every answered read of the burst');
		assert.equal(sql(dir, "SELECT count(*) FROM audit WHERE action = 'concern.create'"), '22');
		// no gap, no fork: seq runs 1..n, each entry's prev is the hash before it, the head is the last
		assert.equal(sql(dir, 'SELECT count(*) = max(seq) AND min(seq) = 1 FROM audit'), 't');
		assert.equal(sql(dir, 'SELECT count(*) FROM audit a JOIN audit p ON p.seq = a.seq - 1 WHERE a.prev <> p.hash'), '0');
		assert.equal(sql(dir, 'SELECT h.seq = m.seq AND h.hash = m.hash FROM audit_head h,'
			+ ' (SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1) m'), 't');
	} finally {
		await stopWardd(w1);
		await stopWardd(w2);
	}
	const v = spawnSync(WARD, ['admin', '--data-dir', dir, 'audit', 'verify'], { encoding: 'utf8' });
	assert.equal(v.status, 0, v.stdout + v.stderr);
});
