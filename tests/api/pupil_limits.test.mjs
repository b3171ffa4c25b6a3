// The pupil page's limits are counted in the store, not in a wardd process: they outlast a
// restart (here, on the suite's store: SQLite, or PostgreSQL under tests/pg), a burst sent at
// once gets no more than the limit, a refused report leaves no concern, and the database keeps
// no pupil's address.  tests/pg/pg.test.mjs checks the same across two wardd on one PostgreSQL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { makeData, startWardd, stopWardd, Client } from './helper.mjs';
import { pupilPost, pupilReport, isBusy } from './pupil_helper.mjs';

let dir, w, code, dsl;
before(async () => {
	dir = makeData();
	w = await startWardd(dir);
	const adm = await new Client(w.base).signIn('School A', 'admin');
	const p = await adm.req('PUT', '/api/v1/pupil-page', { enabled: true });
	assert.equal(p.status, 200, p.text);
	code = p.json.code;
	dsl = await new Client(w.base).signIn('School A', 'dsl');
});
after(async () => { if (w) await stopWardd(w); });

async function restart() {
	await stopWardd(w);
	w = await startWardd(dir);
	dsl.base = w.base; // the session is in the store too
}

async function pupilConcerns() {
	const l = await dsl.req('GET', '/api/v1/concerns');
	assert.equal(l.status, 200, l.text);
	return l.json.concerns.filter((k) => k.source === 'pupil');
}

test('an address\u2019s reports and wrong codes are still counted after a restart', async () => {
	for (let i = 0; i < 6; i++) assert.equal((await pupilReport(w.base, code, '127.0.3.1', { what_happened: `Restart test ${i}.` })).status, 201);
	for (let i = 0; i < 10; i++)
		assert.equal((await pupilPost(w.base, '/api/v1/pupil/form', { code: `wrong-code-${i}-xxxxxxxxxx` }, '127.0.3.2')).status, 404);
	await restart();
	for (let i = 6; i < 10; i++) assert.equal((await pupilReport(w.base, code, '127.0.3.1', { what_happened: `Restart test ${i}.` })).status, 201);
	const before = (await pupilConcerns()).length;
	isBusy(await pupilReport(w.base, code, '127.0.3.1'));
	// the address with ten wrong codes is refused even with the right one, before and after
	isBusy(await pupilPost(w.base, '/api/v1/pupil/form', { code }, '127.0.3.2'));
	await restart();
	isBusy(await pupilReport(w.base, code, '127.0.3.1'));
	isBusy(await pupilPost(w.base, '/api/v1/pupil/form', { code }, '127.0.3.2'));
	// a refused report became no concern; another address is not held up
	assert.equal((await pupilConcerns()).length, before);
	assert.equal((await pupilReport(w.base, code, '127.0.3.3')).status, 201);
	assert.equal((await pupilConcerns()).length, before + 1);
});

test('a burst from one address sent at once: ten reports, the rest refused', async () => {
	const forms = await Promise.all(Array.from({ length: 16 }, () => pupilPost(w.base, '/api/v1/pupil/form', { code }, '127.0.4.1')));
	forms.forEach((f) => assert.equal(f.status, 200, f.text));
	const rs = await Promise.all(forms.map((f, i) => pupilPost(w.base, '/api/v1/pupil/reports',
		{ code, form_token: f.json.form_token, what_happened: `Burst test ${i}.`, safe_now: 'yes' }, '127.0.4.1')));
	assert.equal(rs.filter((r) => r.status === 201).length, 10, rs.map((r) => r.status).join(' '));
	rs.filter((r) => r.status !== 201).forEach(isBusy);
});

test('the school\u2019s thirty an hour are still counted after a restart', async () => {
	// 10 + 1 + 10 reports so far this hour; nine more from new addresses, then a restart
	for (let i = 0; i < 9; i++) assert.equal((await pupilReport(w.base, code, `127.0.5.${i + 1}`)).status, 201);
	await restart();
	isBusy(await pupilReport(w.base, code, '127.0.5.20'));
	// School B is not held up by it
	const admB = await new Client(w.base).signIn('School B', 'admin-b');
	const pb = await admB.req('PUT', '/api/v1/pupil-page', { enabled: true });
	assert.equal((await pupilReport(w.base, pb.json.code, '127.0.5.20')).status, 201);
});

test('SQLite: the limits\u2019 rows hold a keyed hash of the address, never the address', async (t) => {
	const db = path.join(dir, 'ward.db');
	if (!existsSync(db)) { t.skip('not a SQLite store (tests/pg/pg.test.mjs looks at PostgreSQL)'); return; }
	const q = (s) => execFileSync('sqlite3', ['-cmd', '.timeout 10000', db, s], { encoding: 'utf8' }).trim();
	const rows = q('SELECT school_id, length(addr_hash), typeof(addr_hash), kind FROM pupil_address_events').split('\n');
	assert.ok(rows.length >= 30, `${rows.length} rows`);
	for (const r of rows) assert.match(r, /^0\|32\|blob\|(report|failure)$/);
	assert.equal(q("SELECT count(*) FROM pupil_address_events WHERE kind = 'failure'"), '10');
	assert.equal(q('SELECT count(*) FROM pupil_school_reports WHERE school_id = (SELECT id FROM schools WHERE name = \'School A\')'), '30');
	// the addresses used only by pupils here (127.0.3-5.x) appear nowhere in the file
	await stopWardd(w);
	q('PRAGMA wal_checkpoint(TRUNCATE)');
	const bytes = readFileSync(db).toString('latin1');
	assert.ok(!/127\.0\.[345]\./.test(bytes), 'no pupil address in the database');
	w = await startWardd(dir);
});
