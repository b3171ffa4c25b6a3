// The pupil page: off until the admin turns it on, reached by the school's random code, a
// report becomes a concern (source pupil) that raises a notice for the DSL, urgent when the
// child is not safe; anonymous stays anonymous in the audit log; limits, cross-site defences
// and the rate limits per address and per school.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { WARD, makeData, startWardd, stopWardd, Client } from './helper.mjs';

let w, c = {};

// A POST from a chosen loopback address (127.0.0.N), so tests keep apart in the per-address
// limits and the per-school limit can be reached from many addresses.
function post(path, body, { from = '127.0.0.1', headers = {}, raw = false, base } = {}) {
	const data = body === undefined ? '' : raw ? body : JSON.stringify(body);
	const u = new URL((base || w.base) + path);
	return new Promise((resolve, reject) => {
		const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', localAddress: from,
			headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers } }, (res) => {
			let t = '';
			res.setEncoding('utf8');
			res.on('data', (d) => { t += d; });
			res.on('end', () => {
				let json = null;
				try { json = JSON.parse(t); } catch { }
				resolve({ status: res.statusCode, json, text: t, headers: res.headers });
			});
		});
		req.on('error', reject);
		req.end(data);
	});
}

const words = 'Someone I met in a game keeps asking me to keep our chats secret and to use a private app.';

// Opens the form and sends a report; returns the answer.
async function report(code, extra = {}, opts = {}) {
	const f = await post('/api/v1/pupil/form', { code }, opts);
	assert.equal(f.status, 200, f.text);
	return post('/api/v1/pupil/reports', { code, form_token: f.json.form_token, what_happened: words, safe_now: 'yes', ...extra }, opts);
}

async function pupilConcerns(client = c.dsl) {
	const l = await client.req('GET', '/api/v1/concerns');
	assert.equal(l.status, 200, l.text);
	return l.json.concerns.filter((k) => k.source === 'pupil');
}

before(async () => {
	w = await startWardd(makeData());
	for (const r of ['admin', 'dsl', 'staff', 'auditor']) c[r] = await new Client(w.base).signIn('School A', r);
	c.dslB = await new Client(w.base).signIn('School B', 'dsl-b');
	c.adminB = await new Client(w.base).signIn('School B', 'admin-b');
});
after(async () => { await stopWardd(w); });

test('the pupil page is off until the admin turns it on', async () => {
	const g = await c.admin.req('GET', '/api/v1/pupil-page');
	assert.equal(g.status, 200, g.text);
	assert.equal(g.json.enabled, false);
	assert.equal(g.json.code, null);
	const f = await post('/api/v1/pupil/form', { code: 'AAAAAAAAAAAAAAAAAAAAAA' }, { from: '127.0.0.2' });
	assert.equal(f.status, 404);
	assert.match(f.headers['content-type'], /problem\+json/);
	// turned on: a random code of 128 bits, a link to the page, audited
	const p = await c.admin.req('PUT', '/api/v1/pupil-page', { enabled: true });
	assert.equal(p.status, 200, p.text);
	assert.equal(p.json.enabled, true);
	assert.match(p.json.code, /^[A-Za-z0-9_-]{22}$/);
	assert.equal(p.json.link, `/pupil.html#code=${p.json.code}`);
	const a = await c.auditor.req('GET', '/api/v1/audit');
	assert.ok(a.json.entries.some((e) => e.action === 'pupil-page.enable' && e.target === `pupil-page/1/r${p.json.revision}`));
	// the school's name does not open it, another school's code is another school's
	assert.equal((await post('/api/v1/pupil/form', { code: 'School A' }, { from: '127.0.0.2' })).status, 404);
	const pb = await c.adminB.req('PUT', '/api/v1/pupil-page', { enabled: true });
	assert.notEqual(pb.json.code, p.json.code);
	const fb = await post('/api/v1/pupil/form', { code: pb.json.code }, { from: '127.0.0.2' });
	assert.equal(fb.json.school, 'School B');
	await c.adminB.req('PUT', '/api/v1/pupil-page', { enabled: false });
});

test('only the admin manages the page; the DSL, staff and the auditor may not', async () => {
	for (const r of ['dsl', 'staff', 'auditor']) {
		assert.equal((await c[r].req('GET', '/api/v1/pupil-page')).status, 403);
		assert.equal((await c[r].req('PUT', '/api/v1/pupil-page', { enabled: false })).status, 403);
	}
	assert.equal((await c.admin.req('PUT', '/api/v1/pupil-page', { enabled: 'yes' })).status, 400);
	assert.equal((await c.admin.req('PUT', '/api/v1/pupil-page', { enabled: true, code: 'mine' })).status, 400);
});

test('an anonymous report becomes a concern for the DSL, with a notice, audited without the address', async () => {
	const { json: pg } = await c.admin.req('GET', '/api/v1/pupil-page');
	const before = (await pupilConcerns()).length;
	const r = await report(pg.code, {}, { from: '127.0.0.3' });
	assert.equal(r.status, 201, r.text);
	assert.deepEqual(r.json, { received: true, urgent: false }, 'nothing about what happens inside');
	const list = await pupilConcerns();
	assert.equal(list.length, before + 1);
	const k = list.find((x) => x.account.includes(words));
	assert.ok(k, 'the child\u2019s words are in the concern');
	assert.equal(k.status, 'new');
	assert.equal(k.reporter_id, 0);
	assert.equal(k.anonymous, true);
	assert.equal(k.urgent, false);
	assert.equal(k.children[0].name, 'A pupil (anonymous)');
	assert.match(k.account, /^The pupil said they are safe right now\./);
	// the DSL's notice, as for a staff member's concern
	const n = await c.dsl.req('GET', '/api/v1/notices');
	assert.ok(n.json.notices.some((x) => x.kind === 'concern' && x.ref_id === k.id), JSON.stringify(n.json));
	// audited: the creation names the pupil page, never the child's address
	const a = await c.auditor.req('GET', '/api/v1/audit');
	const e = a.json.entries.find((x) => x.action === 'concern.create-pupil' && x.target === `concern/${k.id}/v1`);
	assert.ok(e, 'creation audited');
	assert.equal(e.source, 'pupil-page');
	assert.equal(e.actor_id, 0);
	assert.ok(!a.json.entries.some((x) => x.target.includes(String(k.id)) && x.source === '127.0.0.3'));
	const v = await c.auditor.req('GET', '/api/v1/audit/verify');
	assert.equal(v.json.intact, true, v.json.detail);
	// need to know: staff and School B's DSL do not see it, the admin reads no case
	assert.equal((await pupilConcerns(c.staff)).length, 0);
	assert.ok(!(await pupilConcerns(c.dslB)).some((x) => x.id === k.id));
	assert.equal((await c.dslB.req('GET', `/api/v1/concerns/${k.id}`)).status, 404);
	assert.equal((await c.admin.req('GET', '/api/v1/concerns')).status, 403);
});

test('a child who is not safe now makes the concern urgent; a name and year group are kept', async () => {
	const { json: pg } = await c.admin.req('GET', '/api/v1/pupil-page');
	const r = await report(pg.code, { safe_now: 'no', name: 'Sam', year_group: 'Year 5', what_happened: 'Not safe test: someone is waiting outside the gate for me.' }, { from: '127.0.0.4' });
	assert.equal(r.status, 201, r.text);
	assert.equal(r.json.urgent, true);
	const k = (await pupilConcerns()).find((x) => x.account.includes('waiting outside the gate'));
	assert.equal(k.urgent, true);
	assert.equal(k.safe_now, 'no');
	assert.equal(k.anonymous, false);
	assert.deepEqual(k.children, [{ name: 'Sam', year_group: 'Year 5' }]);
	assert.match(k.account, /^URGENT: the pupil said they are NOT safe right now\./);
	const u = await report(pg.code, { safe_now: 'not-sure', what_happened: 'Unsure test words.' }, { from: '127.0.0.4' });
	assert.equal(u.json.urgent, true);
});

test('turned off, or the code rotated: the old link stops working', async () => {
	const { json: pg } = await c.admin.req('GET', '/api/v1/pupil-page');
	const f = await post('/api/v1/pupil/form', { code: pg.code }, { from: '127.0.0.5' });
	assert.equal(f.status, 200);
	const off = await c.admin.req('PUT', '/api/v1/pupil-page', { enabled: false });
	assert.equal(off.json.code, pg.code, 'turning off keeps the link');
	const r = await post('/api/v1/pupil/reports', { code: pg.code, form_token: f.json.form_token, what_happened: words, safe_now: 'yes' }, { from: '127.0.0.5' });
	assert.equal(r.status, 404, 'a page turned off takes no report, even with a form open');
	assert.equal((await post('/api/v1/pupil/form', { code: pg.code }, { from: '127.0.0.5' })).status, 404);
	await c.admin.req('PUT', '/api/v1/pupil-page', { enabled: true });
	const rot = await c.admin.req('POST', '/api/v1/pupil-page/code');
	assert.equal(rot.status, 200, rot.text);
	assert.notEqual(rot.json.code, pg.code);
	assert.equal(rot.json.enabled, true);
	assert.equal((await post('/api/v1/pupil/form', { code: pg.code }, { from: '127.0.0.5' })).status, 404);
	// a token of the old code is no good with the new one
	const stale = await post('/api/v1/pupil/reports', { code: rot.json.code, form_token: f.json.form_token, what_happened: words, safe_now: 'yes' }, { from: '127.0.0.5' });
	assert.equal(stale.status, 403);
	assert.equal((await report(rot.json.code, {}, { from: '127.0.0.5' })).status, 201);
	const a = await c.auditor.req('GET', '/api/v1/audit');
	for (const act of ['pupil-page.disable', 'pupil-page.rotate-code'])
		assert.ok(a.json.entries.some((e) => e.action === act), act);
});

test('limits: small plain-text bodies, no unknown field, nothing that looks like a file', async () => {
	const { json: pg } = await c.admin.req('GET', '/api/v1/pupil-page');
	const f = await post('/api/v1/pupil/form', { code: pg.code }, { from: '127.0.0.6' });
	const base = { code: pg.code, form_token: f.json.form_token, what_happened: words, safe_now: 'yes' };
	const send = (b, o = {}) => post('/api/v1/pupil/reports', b, { from: '127.0.0.6', ...o });
	assert.equal((await send({ ...base, what_happened: 'a '.repeat(2001) })).status, 400, 'over 4000 bytes');
	assert.equal((await send({ ...base, what_happened: 'word '.repeat(1700) })).status, 413, 'over the 8 KiB body');
	assert.equal((await send({ ...base, image: 'x' })).status, 400, 'no upload field');
	assert.equal((await send({ ...base, what_happened: 'data:image/png;base64,' + 'QUJD'.repeat(60) })).status, 400, 'encoded file data');
	assert.equal((await send({ ...base, name: 'Sam\u0007' })).status, 400, 'control characters');
	assert.equal((await send({ ...base, safe_now: 'maybe' })).status, 400);
	assert.equal((await send({ ...base, year_group: 'Year 99' })).status, 400);
	assert.equal((await send({ ...base, what_happened: '' })).status, 400);
	const { safe_now: _, ...noSafe } = base;
	assert.equal((await send(noSafe)).status, 400);
	assert.equal((await send({ ...base, what_happened: 'Line one.\nLine two.' })).status, 201, 'line breaks are fine');
});

test('cross-site defences: JSON only, a form token from this site, browsers\u2019 cross-site marks refused', async () => {
	const { json: pg } = await c.admin.req('GET', '/api/v1/pupil-page');
	const from = '127.0.0.7';
	const f = await post('/api/v1/pupil/form', { code: pg.code }, { from });
	const base = { code: pg.code, form_token: f.json.form_token, what_happened: words, safe_now: 'yes' };
	// what an HTML form on another site can send: not JSON
	const form = await post('/api/v1/pupil/reports', `code=${pg.code}&what_happened=x`, { from, raw: true, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
	assert.equal(form.status, 415);
	const plain = await post('/api/v1/pupil/reports', JSON.stringify(base), { from, raw: true, headers: { 'content-type': 'text/plain' } });
	assert.equal(plain.status, 415);
	// no token, a made-up one, an expired-looking one
	const { form_token: _, ...noTok } = base;
	assert.equal((await post('/api/v1/pupil/reports', noTok, { from })).status, 400);
	assert.equal((await post('/api/v1/pupil/reports', { ...base, form_token: `${Math.floor(Date.now() / 1000)}.AAAA` }, { from })).status, 403);
	const old = f.json.form_token.replace(/^\d+/, String(Math.floor(Date.now() / 1000) - 3 * 3600));
	assert.equal((await post('/api/v1/pupil/reports', { ...base, form_token: old }, { from })).status, 403);
	// a browser says the request is from another site
	assert.equal((await post('/api/v1/pupil/reports', base, { from, headers: { 'sec-fetch-site': 'cross-site' } })).status, 403);
	assert.equal((await post('/api/v1/pupil/reports', base, { from, headers: { origin: 'http://elsewhere.test' } })).status, 403);
	assert.equal((await post('/api/v1/pupil/form', { code: pg.code }, { from, headers: { origin: 'http://elsewhere.test' } })).status, 403);
	// the same site's page is fine
	const host = new URL(w.base).host;
	const ok = await post('/api/v1/pupil/reports', base, { from, headers: { origin: `http://${host}`, 'sec-fetch-site': 'same-origin' } });
	assert.equal(ok.status, 201, ok.text);
	// behind a proxy that rewrites Host, a current browser's same-origin mark still counts
	const proxied = await post('/api/v1/pupil/reports', base, { from, headers: { origin: 'https://school.example', 'sec-fetch-site': 'same-origin' } });
	assert.equal(proxied.status, 201, proxied.text);
	assert.equal((await post('/api/v1/pupil/reports', base, { from, headers: { origin: `http://${host}`, 'sec-fetch-site': 'same-site' } })).status, 403);
	// no CORS: a preflight from another site is not granted
	const pre = await fetch(w.base + '/api/v1/pupil/reports', { method: 'OPTIONS', headers: { origin: 'http://elsewhere.test', 'access-control-request-method': 'POST' } });
	assert.equal(pre.headers.get('access-control-allow-origin'), null);
	assert.ok(pre.status >= 400);
});

test('rate limits: per address, then wrong codes, then per school', async () => {
	const { json: pg } = await c.admin.req('GET', '/api/v1/pupil-page');
	// ten reports from one address in ten minutes, then a kind refusal with Childline
	for (let i = 0; i < 10; i++) assert.equal((await report(pg.code, { what_happened: `Rate test ${i}.` }, { from: '127.0.1.1' })).status, 201);
	const r = await report(pg.code, {}, { from: '127.0.1.1' });
	assert.equal(r.status, 429);
	assert.match(r.json.detail, /0800 1111/);
	assert.match(r.json.detail, /999/);
	// another address is not held up by that one
	assert.equal((await report(pg.code, {}, { from: '127.0.1.2' })).status, 201);
	// ten wrong codes from an address: it is refused even with the right one
	for (let i = 0; i < 10; i++)
		assert.equal((await post('/api/v1/pupil/form', { code: `wrong-code-${i}-xxxxxxxxxx` }, { from: '127.0.1.3' })).status, 404);
	assert.equal((await post('/api/v1/pupil/form', { code: pg.code }, { from: '127.0.1.3' })).status, 429);
	// thirty reports an hour per school, from however many addresses
	let sent = 0, refused = 0;
	for (let i = 0; i < 6 && !refused; i++)
		for (let j = 0; j < 10 && !refused; j++) {
			const x = await report(pg.code, { what_happened: `School rate ${i} ${j}.` }, { from: `127.0.2.${i + 1}` });
			if (x.status === 201) sent++;
			else { assert.equal(x.status, 429); refused++; }
		}
	assert.equal(refused, 1, 'the school limit was reached');
	assert.ok(sent < 30, `sent ${sent} more before the school limit`);
	// School B is not held up by School A's limit
	const pb = await c.adminB.req('PUT', '/api/v1/pupil-page', { enabled: true });
	assert.equal((await report(pb.json.code, {}, { from: '127.0.2.9' })).status, 201);
});

test('the page\u2019s row is covered by audit verify: a code swapped in the database is named', async (t) => {
	const db = path.join(w.dir, 'ward.db');
	if (!existsSync(db)) { t.skip('not a SQLite store'); return; }
	const { json: pg } = await c.admin.req('GET', '/api/v1/pupil-page');
	const verify = () => spawnSync(WARD, ['admin', '--data-dir', w.dir, 'audit', 'verify'], { encoding: 'utf8' });
	assert.equal(verify().status, 0, 'intact first');
	const sql = (q) => assert.equal(spawnSync('sqlite3', ['-cmd', '.timeout 10000', db, q]).status, 0);
	sql("UPDATE pupil_pages SET code = 'SwappedByHandXXXXXXXXX' WHERE school_id = 1");
	const out = verify();
	assert.notEqual(out.status, 0);
	assert.match(out.stdout + out.stderr, new RegExp(`pupil-page/1/r${pg.revision}`));
	sql(`UPDATE pupil_pages SET code = '${pg.code}' WHERE school_id = 1`);
	assert.equal(verify().status, 0, 'restored: intact again');
});
