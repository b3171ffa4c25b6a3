// PostgreSQL only (run by tests/pg/suite.sh, with ward and wardd reached through wrappers that
// give each data directory a database of its own): row-level security keeps a query that
// leaves out its school condition inside one school; the service role owns no table and cannot
// rewrite the audit log; tampering done by a database superuser is named by audit verify;
// narrative is sealed at rest; a SQLite school migrates with its audit chain intact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { admin, makeData, startWardd, stopWardd, Client, concernBody, freePort, PW, WARD } from '../api/helper.mjs';
import { alertBody } from '../api/fixtures/alerts.mjs';
import { pupilPost, pupilReport, isBusy } from '../api/pupil_helper.mjs';

const dbOf = (dir) => 'w_' + createHash('md5').update(realpathSync(dir) + '\n').digest('hex').slice(0, 24);
// psql as the database superuser (bypasses row-level security), or as the service role with
// ward.school set as wardd sets it.
const sql = (dir, q) => execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-At', '-d', dbOf(dir), '-c', q],
	{ encoding: 'utf8' }).trim();
// (psql prints set_config's value first; the query's result is the last line)
const asService = (dir, school, q) => sql(dir,
	`BEGIN; SET LOCAL ROLE ward_service; ${school === null ? '' : `SELECT set_config('ward.school', '${school}', true);`} ${q}; COMMIT;`)
	.split('\n').pop();
const psqlFails = (dir, q) => spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-At', '-d', dbOf(dir), '-c', q],
	{ encoding: 'utf8' });
const verify = (dir) => spawnSync(WARD, ['admin', '--data-dir', dir, 'audit', 'verify'], { encoding: 'utf8' });

// Two schools, a concern in each.
async function twoSchools() {
	const dir = makeData();
	const w = await startWardd(dir);
	const a = await new Client(w.base).signIn('School A', 'staff');
	const b = await new Client(w.base).signIn('School B', 'dsl-b');
	const ca = await a.req('POST', '/api/v1/concerns', concernBody(1));
	const cb = await b.req('POST', '/api/v1/concerns', concernBody(2));
	assert.equal(ca.status, 201, ca.text);
	assert.equal(cb.status, 201, cb.text);
	await stopWardd(w);
	const ids = Object.fromEntries(sql(dir, 'SELECT name, id FROM schools').split('\n').map((l) => l.split('|')));
	return { dir, A: ids['School A'], B: ids['School B'], ca: ca.json.id, cb: cb.json.id };
}

test('the store runs on PostgreSQL: the tables are there and the rows carry their school', async () => {
	const { dir, A, B } = await twoSchools();
	assert.equal(sql(dir, 'SELECT count(DISTINCT school_id) FROM concern_versions'), '2');
	assert.ok(Number(A) > 0 && Number(B) > 0 && A !== B);
});

test('row-level security: a query that leaves out the school sees one school only', async () => {
	const { dir, A, B, ca, cb } = await twoSchools();
	// no WHERE school_id at all, as a buggy handler's query would be
	assert.equal(asService(dir, A, 'SELECT string_agg(concern_id::text, \',\') FROM concern_versions'), String(ca));
	assert.equal(asService(dir, B, 'SELECT string_agg(concern_id::text, \',\') FROM concern_versions'), String(cb));
	assert.equal(asService(dir, A, 'SELECT count(DISTINCT school_id) FROM users'), '1');
	assert.equal(asService(dir, A, 'SELECT count(*) FROM audit WHERE school_id <> ' + A), '0');
	assert.equal(asService(dir, A, 'SELECT count(*) FROM notices WHERE school_id <> ' + A), '0');
	assert.equal(asService(dir, A, 'SELECT count(*) FROM schools'), '1');
	// asking for the other school by id finds nothing
	assert.equal(asService(dir, A, `SELECT count(*) FROM concern_versions WHERE concern_id = ${cb}`), '0');
	// with no school set, nothing at all
	assert.equal(asService(dir, null, 'SELECT count(*) FROM concern_versions'), '0');
	assert.equal(asService(dir, null, 'SELECT count(*) FROM users'), '0');
	// an UPDATE without the school condition touches this school's rows only
	const touched = asService(dir, A, 'WITH u AS (UPDATE users SET disabled = disabled RETURNING school_id)'
		+ ` SELECT count(*) || ':' || count(*) FILTER (WHERE school_id <> ${A}) FROM u`);
	assert.equal(touched, `${sql(dir, `SELECT count(*) FROM users WHERE school_id = ${A}`)}:0`);
	assert.notEqual(sql(dir, `SELECT count(*) FROM users WHERE school_id <> ${A}`), '0');
	const n = asService(dir, A, 'WITH u AS (UPDATE sessions SET last_seen = last_seen RETURNING school_id) SELECT count(*) FILTER (WHERE school_id <> ' + A + ') FROM u');
	assert.equal(n, '0');
	// and a row for another school cannot be written
	const r = psqlFails(dir, `BEGIN; SET LOCAL ROLE ward_service; SELECT set_config('ward.school', '${A}', true);
		INSERT INTO concern_versions VALUES (424242, 1, ${B}, 1, 0, 'new', '\\x00'); COMMIT;`);
	assert.notEqual(r.status, 0);
	assert.match(r.stderr, /row-level security/);
});

test('the service role owns no table, so the policies bind it; it cannot rewrite the audit log', async () => {
	const { dir, A } = await twoSchools();
	assert.equal(sql(dir, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = 'ward_service'"), '0');
	assert.equal(sql(dir, "SELECT bool_and(relrowsecurity AND relforcerowsecurity) FROM pg_class WHERE relname IN"
		+ " ('schools', 'users', 'sessions', 'concern_versions', 'audit', 'alerts', 'notices', 'service_tokens',"
		+ " 'notify_settings', 'case_entries', 'pupils')"), 't');
	let r = psqlFails(dir, `BEGIN; SET LOCAL ROLE ward_service; SELECT set_config('ward.school', '${A}', true); UPDATE audit SET action = 'x'; COMMIT;`);
	assert.match(r.stderr, /permission denied/);
	r = psqlFails(dir, `BEGIN; SET LOCAL ROLE ward_service; SELECT set_config('ward.school', '${A}', true); DELETE FROM concern_versions; COMMIT;`);
	assert.match(r.stderr, /permission denied/);
	// even the owner is refused by the append-only trigger
	r = psqlFails(dir, "UPDATE audit SET action = 'x' WHERE seq = 1");
	assert.match(r.stderr, /append-only/);
	assert.equal(verify(dir).status, 0);
});

test('tampering by a database superuser is named by audit verify', async () => {
	const { dir, ca } = await twoSchools();
	assert.equal(verify(dir).status, 0, verify(dir).stdout);
	sql(dir, `ALTER TABLE concern_versions DISABLE TRIGGER concern_append_only;
		UPDATE concern_versions SET status = 'closed' WHERE concern_id = ${ca};
		ALTER TABLE concern_versions ENABLE TRIGGER concern_append_only`);
	let v = verify(dir);
	assert.notEqual(v.status, 0);
	assert.match(v.stdout, new RegExp(`concern ${ca} version 1 was altered`));
	const d2 = (await twoSchools()).dir;
	sql(d2, "ALTER TABLE audit DISABLE TRIGGER audit_append_only; UPDATE audit SET actor_id = actor_id + 1 WHERE seq = 2;"
		+ ' ALTER TABLE audit ENABLE TRIGGER audit_append_only');
	v = verify(d2);
	assert.notEqual(v.status, 0);
	assert.match(v.stdout, /BROKEN/);
	const d3 = (await twoSchools()).dir;
	sql(d3, 'ALTER TABLE audit DISABLE TRIGGER audit_append_only; DELETE FROM audit WHERE seq = 3;'
		+ ' ALTER TABLE audit ENABLE TRIGGER audit_append_only');
	assert.notEqual(verify(d3).status, 0);
});

test('narrative fields are sealed at rest in PostgreSQL', async () => {
	const { dir } = await twoSchools();
	const dump = execFileSync('pg_dump', ['-d', dbOf(dir), '--data-only'], { encoding: 'latin1', maxBuffer: 1 << 26 });
	assert.ok(dump.includes('COPY public.concern_versions'));
	assert.ok(!dump.includes('private app'), 'the account is not in the clear');
	assert.ok(!dump.includes('Pupil 1'), 'the child is not in the clear');
});

test('ward admin migrate --to postgres: a SQLite school moves with its chain intact', { timeout: 120000 }, async () => {
	process.env.WARD_PG_OFF = '1'; // the wrappers run ward and wardd on SQLite
	let dir, w, ids = [];
	const port = await freePort();
	try {
		dir = makeData();
		w = await startWardd(dir, port);
		const staff = await new Client(w.base).signIn('School A', 'staff');
		for (let i = 0; i < 5; i++) ids.push((await staff.req('POST', '/api/v1/concerns', concernBody(i))).json.id);
		const dsl = await new Client(w.base).signIn('School A', 'dsl');
		assert.equal((await dsl.req('GET', `/api/v1/concerns/${ids[0]}`)).status, 200);
		assert.equal((await dsl.req('POST', `/api/v1/concerns/${ids[0]}/acknowledge`, {})).status < 300, true);
		await stopWardd(w);
		w = null;
	} finally {
		delete process.env.WARD_PG_OFF;
		if (w) await stopWardd(w);
	}
	const out = admin(dir, 'migrate', '--to', 'postgres');
	assert.match(out, /copied \d+ rows/);
	assert.match(out, /audit chain intact in PostgreSQL: \d+ entries/);
	const entries = Number(out.match(/intact in PostgreSQL: (\d+)/)[1]);
	assert.ok(entries >= 12, out);
	assert.equal(sql(dir, 'SELECT count(*) FROM audit'), String(entries));
	// the same school again is refused: its name is there (tests/pg/migrate.test.mjs moves a
	// second school in beside it)
	const again = spawnSync(WARD, ['admin', '--data-dir', dir, 'migrate', '--to', 'postgres'], { encoding: 'utf8' });
	assert.notEqual(again.status, 0);
	assert.match(again.stderr, /a school named "School A" is already in the PostgreSQL service/);
	// wardd on PostgreSQL serves the migrated school: the same concerns, accounts and factors
	w = await startWardd(dir, port);
	try {
		const dsl = await new Client(w.base).signIn('School A', 'dsl');
		const list = await dsl.req('GET', '/api/v1/concerns');
		assert.equal(list.status, 200);
		for (const id of ids) assert.ok(list.json.concerns.some((c) => c.id === id), `concern ${id} moved`);
		const one = await dsl.req('GET', `/api/v1/concerns/${ids[3]}`);
		assert.equal(one.json.account, concernBody(3).account);
		const staff = await new Client(w.base).signIn('School A', 'staff');
		assert.equal((await staff.req('POST', '/api/v1/concerns', concernBody(9))).status, 201);
		const aud = await new Client(w.base).signIn('School A', 'auditor');
		const v = await aud.req('GET', '/api/v1/audit/verify');
		assert.equal(v.json.intact, true, v.text);
	} finally {
		await stopWardd(w);
	}
	assert.equal(verify(dir).status, 0);
});

test('two wardd on one database: duplicates posted to both merge into one alert; a session works on either', async () => {
	const dir = makeData();
	const token = admin(dir, 'token', 'add', '--school', 'School A', '--name', 'proxy').trim().split('\n').pop();
	const w1 = await startWardd(dir), w2 = await startWardd(dir);
	try {
		const post = (w) => new Client(w.base).req('POST', '/api/v1/alerts', alertBody('same-key', { severity: 'high' }),
			{ headers: { authorization: `Bearer ${token}` } });
		const rs = await Promise.all(Array.from({ length: 40 }, (_, i) => post(i % 2 ? w1 : w2)));
		assert.equal(rs.filter((r) => r.status === 201).length, 1, 'one new alert');
		assert.equal(rs.filter((r) => r.status === 200 && r.json.merged).length, 39, 'the rest merged into it');
		assert.equal(new Set(rs.map((r) => r.json.id)).size, 1, 'one alert, whichever process took the post');
		// signed in through one process, the session is good on the other
		const dsl = await new Client(w1.base).signIn('School A', 'dsl');
		dsl.base = w2.base;
		const l = await dsl.req('GET', '/api/v1/alerts');
		assert.equal(l.status, 200, l.text);
		const mine = l.json.alerts.filter((a) => a.id === rs[0].json.id);
		assert.equal(mine.length, 1);
		assert.equal(mine[0].count, 40);
		assert.equal(sql(dir, "SELECT count(*) FROM notices WHERE kind = 'alert'"), '1', 'one notice for the DSL');
	} finally {
		await stopWardd(w1);
		await stopWardd(w2);
	}
	assert.equal(verify(dir).status, 0);
});

test('audit verify on PostgreSQL walks every feature\'s rows: an alert, a trust membership and a pupil page changed by hand are named', async () => {
	const dir = makeData();
	const token = admin(dir, 'token', 'add', '--school', 'School A', '--name', 'proxy').trim().split('\n').pop();
	admin(dir, 'trust', 'add', '--name', 'North Trust', '--school', 'School A');
	const w = await startWardd(dir);
	let alertId;
	try {
		const r = await new Client(w.base).req('POST', '/api/v1/alerts', alertBody('walk', { severity: 'low' }),
			{ headers: { authorization: `Bearer ${token}` } });
		assert.equal(r.status, 201, r.text);
		alertId = r.json.id;
		const adm = await new Client(w.base).signIn('School A', 'admin');
		assert.equal((await adm.req('PUT', '/api/v1/pupil-page', { enabled: true })).status, 200);
	} finally {
		await stopWardd(w);
	}
	assert.equal(verify(dir).status, 0, verify(dir).stdout);
	const A = sql(dir, "SELECT id FROM schools WHERE name = 'School A'");
	const cases = [
		[`UPDATE alerts SET count = count + 5 WHERE id = ${alertId}`, `UPDATE alerts SET count = count - 5 WHERE id = ${alertId}`, new RegExp(`alert/${alertId}/r1`)],
		[`UPDATE trust_members SET trust_id = trust_id WHERE school_id = ${A}; INSERT INTO trusts (name) VALUES ('Other'); UPDATE trust_members SET trust_id = (SELECT id FROM trusts WHERE name = 'Other') WHERE school_id = ${A}`,
			`UPDATE trust_members SET trust_id = (SELECT id FROM trusts WHERE name = 'North Trust') WHERE school_id = ${A}`, new RegExp(`trust-member/${A}/r1`)],
		[`UPDATE pupil_pages SET code = 'SwappedByHandXXXXXXXXX' WHERE school_id = ${A}`, null, new RegExp(`pupil-page/${A}/r1`)],
	];
	for (const [tamper, undo, named] of cases) {
		sql(dir, tamper);
		const v = verify(dir);
		assert.notEqual(v.status, 0, tamper);
		assert.match(v.stdout + v.stderr, named);
		if (undo) {
			sql(dir, undo);
			assert.equal(verify(dir).status, 0, `restored after: ${tamper}`);
		}
	}
});

test('two wardd on one database share the sign-in throttle: failures spread over both refuse on both', async () => {
	const dir = makeData();
	admin(dir, 'user', 'add', '--school', 'School A', '--username', 'burst', '--role', 'staff', '--password', PW);
	const w1 = await startWardd(dir), w2 = await startWardd(dir);
	const post = (w, username, password) => new Client(w.base).req('POST', '/api/v1/session',
		{ school: 'School A', username, password });
	const held = (r) => {
		assert.equal(r.status, 429, r.text);
		assert.equal(r.json.detail, 'too many failed sign-ins for this account; wait 15 minutes and try again');
	};
	try {
		// one by one, taking turns: no process sees more than three of the five
		for (let i = 0; i < 5; i++) assert.equal((await post(i % 2 ? w2 : w1, 'staff', 'not the password')).status, 401);
		held(await post(w1, 'staff', PW));
		held(await post(w2, 'staff', PW));
		// all at once over both: five password checks in all, whichever process took them
		const rs = await Promise.all(Array.from({ length: 16 }, (_, i) => post(i % 2 ? w2 : w1, 'burst', 'not the password')));
		assert.equal(rs.filter((r) => r.status === 401).length, 5, rs.map((r) => r.status).join(' '));
		rs.filter((r) => r.status !== 401).forEach(held);
		held(await post(w2, 'burst', PW));
		// a success through one clears the count for both
		for (let i = 0; i < 4; i++) assert.equal((await post(i % 2 ? w2 : w1, 'auditor', 'not the password')).status, 401);
		assert.equal((await post(w2, 'auditor', PW)).status, 201);
		for (let i = 0; i < 4; i++) assert.equal((await post(w1, 'auditor', 'not the password')).status, 401);
		assert.equal((await post(w1, 'auditor', PW)).status, 201);
	} finally {
		await stopWardd(w1);
		await stopWardd(w2);
	}
	// the rows are a school's, under row-level security, and hold no typed name
	const A = sql(dir, "SELECT id FROM schools WHERE name = 'School A'");
	const B = sql(dir, "SELECT id FROM schools WHERE name = 'School B'");
	assert.equal(sql(dir, "SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE relname = 'signin_failures'"), 't');
	assert.equal(sql(dir, `SELECT count(*) FROM signin_failures WHERE school_id = ${A}`), '10');
	assert.equal(asService(dir, A, 'SELECT count(*) FROM signin_failures'), '10');
	assert.equal(asService(dir, B, 'SELECT count(*) FROM signin_failures'), '0');
	assert.equal(sql(dir, 'SELECT count(*) FROM signin_failures WHERE length(name_hash) <> 32'), '0');
	const dump = execFileSync('pg_dump', ['-d', dbOf(dir), '--data-only', '-t', 'signin_failures'], { encoding: 'latin1' });
	assert.ok(dump.includes('COPY public.signin_failures'));
	assert.ok(!/staff|burst/.test(dump), 'no typed name in the rows');
	assert.equal(verify(dir).status, 0);
});

test('the throttle\'s store on PostgreSQL: window, withdrawal, and two handles at once get five between them', () => {
	const db = `w_throttle_${process.pid}`;
	execFileSync('createdb', [db]);
	const dsn = `host=${process.env.PGHOST} port=${process.env.PGPORT} user=${process.env.PGUSER} dbname=${db}`;
	const r = spawnSync(`${process.env.WARD_REAL_BUILD}/tests/test_throttle`, [], {
		encoding: 'utf8', env: { ...process.env, WARD_TEST_PG_DSN: dsn } });
	assert.equal(r.status, 0, r.stdout + r.stderr);
	assert.match(r.stdout + r.stderr, /10 test\(s\) run/);
	assert.match(r.stdout + r.stderr, /PASSED.*9 test\(s\)/); // all but the SQLite file's own
	// it ran on PostgreSQL: the rows it left are there, one school per test
	const q = (s) => execFileSync('psql', ['-X', '-At', '-d', db, '-c', s], { encoding: 'utf8' }).trim();
	const n = q('SELECT count(DISTINCT school_id) FROM signin_failures');
	assert.ok(Number(n) >= 4, n);
	assert.ok(Number(q('SELECT count(DISTINCT school_id) FROM pupil_school_reports')) >= 3);
	// the pupil limits' last burst pruned every older address row: only its thirty are left
	assert.equal(q('SELECT count(*), min(at), max(at) FROM pupil_address_events'), '30|6000000|6000000');
});

test('two wardd on one database share the pupil page\'s limits: reports and wrong codes spread over both refuse on both', async () => {
	const dir = makeData();
	const w1 = await startWardd(dir), w2 = await startWardd(dir);
	const on = (w, school, name) => new Client(w.base).signIn(school, name)
		.then((c) => c.req('PUT', '/api/v1/pupil-page', { enabled: true }));
	const code = (await on(w1, 'School A', 'admin')).json.code;
	let concerns;
	try {
		// one by one, taking turns: ten from an address between the two, then refused on both
		for (let i = 0; i < 10; i++)
			assert.equal((await pupilReport((i % 2 ? w2 : w1).base, code, '127.0.6.1', { what_happened: `Two wardd ${i}.` })).status, 201);
		isBusy(await pupilReport(w1.base, code, '127.0.6.1'));
		isBusy(await pupilReport(w2.base, code, '127.0.6.1'));
		// all at once over both from another address: ten in all, whichever process took them
		const forms = await Promise.all(Array.from({ length: 16 }, (_, i) =>
			pupilPost((i % 2 ? w2 : w1).base, '/api/v1/pupil/form', { code }, '127.0.6.2')));
		const rs = await Promise.all(forms.map((f, i) => pupilPost((i % 2 ? w1 : w2).base, '/api/v1/pupil/reports',
			{ code, form_token: f.json.form_token, what_happened: `Two wardd burst ${i}.`, safe_now: 'yes' }, '127.0.6.2')));
		assert.equal(rs.filter((r) => r.status === 201).length, 10, rs.map((r) => r.status).join(' '));
		rs.filter((r) => r.status !== 201).forEach(isBusy);
		// wrong codes spread over both: the address is refused on both, right code or not
		for (let i = 0; i < 10; i++)
			assert.equal((await pupilPost((i % 2 ? w2 : w1).base, '/api/v1/pupil/form', { code: `wrong-code-${i}-xxxxxxxxxx` }, '127.0.6.3')).status, 404);
		isBusy(await pupilPost(w1.base, '/api/v1/pupil/form', { code }, '127.0.6.3'));
		isBusy(await pupilPost(w2.base, '/api/v1/pupil/form', { code }, '127.0.6.3'));
		// the school's thirty an hour: ten more from new addresses over both, then refused on both
		for (let i = 0; i < 10; i++)
			assert.equal((await pupilReport((i % 2 ? w2 : w1).base, code, `127.0.6.${10 + i}`)).status, 201);
		isBusy(await pupilReport(w1.base, code, '127.0.6.40'));
		isBusy(await pupilReport(w2.base, code, '127.0.6.41'));
		// School B is not held up by it
		const codeB = (await on(w2, 'School B', 'admin-b')).json.code;
		assert.equal((await pupilReport(w1.base, codeB, '127.0.6.42')).status, 201);
		const dsl = await new Client(w2.base).signIn('School A', 'dsl');
		concerns = (await dsl.req('GET', '/api/v1/concerns')).json.concerns.filter((k) => k.source === 'pupil');
	} finally {
		await stopWardd(w1);
		await stopWardd(w2);
	}
	assert.equal(concerns.length, 30, 'one concern per report let through, none for a refused one');
	// an address's rows are school 0's under row-level security, a keyed hash, no school;
	// a school's count is its own
	const A = sql(dir, "SELECT id FROM schools WHERE name = 'School A'");
	for (const t of ['pupil_address_events', 'pupil_school_reports'])
		assert.equal(sql(dir, `SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE relname = '${t}'`), 't');
	assert.equal(sql(dir, 'SELECT count(*) FROM pupil_address_events WHERE school_id <> 0 OR length(addr_hash) <> 32'), '0');
	assert.equal(sql(dir, "SELECT count(*) FROM pupil_address_events WHERE kind = 'failure'"), '10');
	assert.equal(asService(dir, A, 'SELECT count(*) FROM pupil_address_events'), '0');
	assert.equal(asService(dir, 0, "SELECT count(*) FROM pupil_address_events WHERE kind = 'report'"), '31');
	assert.equal(asService(dir, A, 'SELECT count(*) FROM pupil_school_reports'), '30');
	assert.equal(asService(dir, 0, 'SELECT count(*) FROM pupil_school_reports'), '0');
	const dump = execFileSync('pg_dump', ['-d', dbOf(dir), '--data-only', '-t', 'pupil_address_events', '-t', 'pupil_school_reports'],
		{ encoding: 'latin1' });
	assert.ok(dump.includes('COPY public.pupil_address_events'));
	assert.ok(!/127\.0\.6\./.test(dump), 'no pupil address in the rows');
	assert.equal(verify(dir).status, 0);
});
