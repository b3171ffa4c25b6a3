// Alerts in wardd: service tokens, the detectors' POST /api/v1/alerts contract, merging of
// duplicates within the school's window, the DSL team's list, read, promote and dismiss, the
// dashboard summary, need-to-know and audit verify over every alert row.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { admin, makeData, startWardd, stopWardd, Client } from './helper.mjs';
import { alertBody } from './fixtures/alerts.mjs';

const tmp = mkdtempSync(path.join(process.env.WARD_API_TMP || '/tmp', 'alerts-'));
const clock = path.join(tmp, 'clock');
writeFileSync(clock, '0\n');
process.env.WARDD_TEST_CLOCK = clock;

let w, dir, token, adminTok, c = {};
const post = (body, tok = token) => new Client(w.base).req('POST', '/api/v1/alerts', body,
	{ headers: { authorization: `Bearer ${tok}` } });

before(async () => {
	dir = makeData();
	// a token made with `ward admin token add`: the last line is the token, shown once
	const out = admin(dir, 'token', 'add', '--school', 'School A', '--name', 'icap-proxy');
	token = out.trim().split('\n').pop();
	assert.match(token, /^wst_[A-Za-z0-9_-]{43}$/);
	w = await startWardd(dir);
	for (const r of ['staff', 'dsl', 'deputy-dsl', 'admin', 'auditor'])
		c[r] = await new Client(w.base).signIn('School A', r);
	c.dslB = await new Client(w.base).signIn('School B', 'dsl-b');
	c.adminB = await new Client(w.base).signIn('School B', 'admin-b');
});
after(async () => { await stopWardd(w); });

test('a token from ward admin posts an alert: 201 with its id', async () => {
	const r = await post(alertBody('first'));
	assert.equal(r.status, 201, r.text);
	assert.equal(r.json.merged, false);
	assert.ok(Number.isInteger(r.json.id) && r.json.id > 0);
});

test('the same dedup_key within the window is merged with a count', async () => {
	const a = await post(alertBody('dup'));
	const b = await post(alertBody('dup'));
	const d = await post(alertBody('dup'));
	assert.equal(a.status, 201);
	assert.equal(b.status, 200);
	assert.equal(b.json.merged, true);
	assert.equal(b.json.id, a.json.id);
	assert.equal(d.json.count, 3);
	const one = await c.dsl.req('GET', `/api/v1/alerts/${a.json.id}`);
	assert.equal(one.json.count, 3);
});

test('after the school\'s window the same key is a new alert', async () => {
	const s = await c.admin.req('PUT', '/api/v1/settings/notify', { dedup_minutes: 2 });
	assert.equal(s.status, 200, s.text);
	const a = await post(alertBody('window'));
	writeFileSync(clock, '60\n');
	const b = await post(alertBody('window'));
	assert.equal(b.status, 200, 'still inside two minutes');
	writeFileSync(clock, '200\n');
	const d = await post(alertBody('window'));
	assert.equal(d.status, 201, 'past the window');
	assert.notEqual(d.json.id, a.json.id);
	writeFileSync(clock, '0\n');
	await c.admin.req('PUT', '/api/v1/settings/notify', { dedup_minutes: 60 });
});

test('a bad or revoked token is refused with 401', async () => {
	assert.equal((await post(alertBody('x'), 'wst_not-a-real-token')).status, 401);
	const t = await c.admin.req('POST', '/api/v1/tokens', { name: 'short-lived' });
	assert.equal(t.status, 201);
	assert.equal((await post(alertBody('rv1'), t.json.token)).status, 201);
	const rv = await c.admin.req('POST', '/api/v1/tokens/revoke', { id: t.json.id });
	assert.equal(rv.status, 200, rv.text);
	assert.equal((await post(alertBody('rv2'), t.json.token)).status, 401);
	assert.equal((await c.admin.req('POST', '/api/v1/tokens/revoke', { id: t.json.id })).status, 404);
	const list = await c.admin.req('GET', '/api/v1/tokens');
	const row = list.json.tokens.find((x) => x.id === t.json.id);
	assert.equal(row.revoked, true);
	assert.ok(!list.text.includes(t.json.token), 'the token itself is never shown again');
});

test('another school\'s admin cannot revoke this school\'s token', async () => {
	const t = await c.admin.req('POST', '/api/v1/tokens', { name: 'school-a-only' });
	assert.equal((await c.adminB.req('POST', '/api/v1/tokens/revoke', { id: t.json.id })).status, 404);
	assert.equal((await post(alertBody('still'), t.json.token)).status, 201);
});

test('a service token can do nothing but post alerts', async () => {
	for (const [m, p] of [['GET', '/api/v1/alerts'], ['GET', '/api/v1/concerns'],
		['GET', '/api/v1/users'], ['GET', '/api/v1/audit'], ['GET', '/api/v1/tokens'],
		['GET', '/api/v1/session']]) {
		const r = await new Client(w.base).req(m, p, undefined,
			{ headers: { authorization: `Bearer ${token}` } });
		assert.equal(r.status, 403, `${m} ${p}: ${r.text}`);
	}
	// and a signed-in person cannot post as a detector
	assert.equal((await c.dsl.req('POST', '/api/v1/alerts', alertBody('person'))).status, 403);
});

test('bodies outside the contract are refused', async () => {
	const bad = [
		{ ...alertBody('b1'), extra: 1 },
		{ ...alertBody('b2'), area: 'not-an-area' },
		{ ...alertBody('b3'), severity: 'urgent' },
		{ ...alertBody('b4'), source: 'camera' },
		{ ...alertBody('b5'), start: -1 },
		{ ...alertBody('b6'), start: 'x' },
		{ ...alertBody('b7'), excerpt: 'x'.repeat(2001) },
		{ ...alertBody('b8'), excerpt: 'bell\u0007' },
		{ ...alertBody('b9'), subject: '' },
		(({ rule, ...o }) => o)(alertBody('b10')),
	];
	for (const b of bad) {
		const r = await post(b);
		assert.equal(r.status, 400, JSON.stringify(b).slice(0, 80) + ' ' + r.text);
		assert.match(r.headers.get('content-type'), /problem\+json/);
	}
	const notJson = await new Client(w.base).req('POST', '/api/v1/alerts', '{"area":', {
		raw: true, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
	assert.equal(notJson.status, 400);
});

test('an excerpt carrying image bytes is refused: alerts hold words, never pictures', async () => {
	for (const ex of ['\u0089PNG\r\n\u001a\n', 'GIF89a....', 'see data:image/png;base64,iVBORw0KGgo=',
		'....JFIF....']) {
		const r = await post({ ...alertBody(`img-${ex.length}`), excerpt: ex });
		assert.equal(r.status, 400, r.text);
	}
});

test('the DSL team lists alerts with filters; staff, admin and auditor may not', async () => {
	await post(alertBody('peer', { area: 'peer-images', rule: 'peer-images.share', severity: 'medium' }));
	const all = await c.dsl.req('GET', '/api/v1/alerts');
	assert.equal(all.status, 200);
	assert.ok(all.json.alerts.length >= 3);
	const peer = await c['deputy-dsl'].req('GET', '/api/v1/alerts?area=peer-images');
	assert.ok(peer.json.alerts.length >= 1);
	assert.ok(peer.json.alerts.every((a) => a.area === 'peer-images'));
	const fresh = await c.dsl.req('GET', '/api/v1/alerts?status=new');
	assert.ok(fresh.json.alerts.every((a) => a.status === 'new'));
	const future = await c.dsl.req('GET', '/api/v1/alerts?since=2099-01-01');
	assert.equal(future.json.alerts.length, 0);
	const secs = await c.dsl.req('GET', `/api/v1/alerts?since=${Math.floor(Date.now() / 1000) - 3600}`);
	assert.ok(secs.json.alerts.length >= 3);
	for (const q of ['status=open', 'area=nope', 'since=yesterday'])
		assert.equal((await c.dsl.req('GET', `/api/v1/alerts?${q}`)).status, 400, q);
	for (const r of ['staff', 'admin', 'auditor'])
		assert.equal((await c[r].req('GET', '/api/v1/alerts')).status, 403, r);
});

test('one alert carries its evidence and the area\'s guidance; the read is audited', async () => {
	const p = await post(alertBody('read'));
	const r = await c.dsl.req('GET', `/api/v1/alerts/${p.json.id}`);
	assert.equal(r.status, 200);
	assert.equal(r.json.excerpt, alertBody('read').excerpt);
	assert.equal(r.json.start, 12);
	assert.equal(r.json.subject, '10.0.0.5');
	assert.equal(r.json.url, 'http://www.example.test/forum');
	assert.ok(r.json.guidance && r.json.guidance.length > 20);
	const a = await c.auditor.req('GET', '/api/v1/audit');
	assert.ok(a.json.entries.some((e) => e.action === 'alert.read' && e.target === `alert/${p.json.id}`));
	assert.ok(a.json.entries.some((e) => e.action === 'alert.list'));
	assert.ok(a.json.entries.some((e) => e.action === 'alert.create' && e.actor_id < 0),
		'a detector\'s write is audited as its token (a negative actor id)');
});

test('another school\'s DSL sees none of it', async () => {
	const p = await post(alertBody('school-a'));
	assert.equal((await c.dslB.req('GET', `/api/v1/alerts/${p.json.id}`)).status, 404);
	assert.equal((await c.dslB.req('POST', `/api/v1/alerts/${p.json.id}/promote`)).status, 404);
	assert.equal((await c.dslB.req('POST', `/api/v1/alerts/${p.json.id}/dismiss`, { reason: 'x' })).status, 404);
	const l = await c.dslB.req('GET', '/api/v1/alerts');
	assert.equal(l.json.alerts.length, 0);
});

test('promoting makes a concern from detection, in the alert\'s area, that points back', async () => {
	const p = await post(alertBody('promote', { area: 'exploitation', rule: 'exploitation.pay' }));
	const r = await c.dsl.req('POST', `/api/v1/alerts/${p.json.id}/promote`, { note: 'seen on the library PC' });
	assert.equal(r.status, 201, r.text);
	assert.equal(r.json.status, 'promoted');
	assert.ok(r.json.concern_id > 0);
	const con = await c.dsl.req('GET', `/api/v1/concerns/${r.json.concern_id}`);
	assert.equal(con.status, 200, con.text);
	assert.equal(con.json.source, 'detection');
	assert.deepEqual(con.json.areas, ['exploitation']);
	assert.equal(con.json.alert_id, p.json.id);
	assert.match(con.json.account, /library PC/);
	const again = await c.dsl.req('POST', `/api/v1/alerts/${p.json.id}/promote`);
	assert.equal(again.status, 409);
	const dis = await c.dsl.req('POST', `/api/v1/alerts/${p.json.id}/dismiss`, { reason: 'late' });
	assert.equal(dis.status, 409);
	const one = await c.dsl.req('GET', `/api/v1/alerts/${p.json.id}`);
	assert.equal(one.json.concern_id, r.json.concern_id);
});

test('dismissing needs a reason, which is kept with the alert', async () => {
	const p = await post(alertBody('dismiss', { severity: 'low' }));
	assert.equal((await c.dsl.req('POST', `/api/v1/alerts/${p.json.id}/dismiss`)).status, 400);
	assert.equal((await c.dsl.req('POST', `/api/v1/alerts/${p.json.id}/dismiss`, { why: 'x' })).status, 400);
	const r = await c['deputy-dsl'].req('POST', `/api/v1/alerts/${p.json.id}/dismiss`,
		{ reason: 'a lesson on online safety used the phrase' });
	assert.equal(r.status, 200, r.text);
	assert.equal(r.json.status, 'dismissed');
	const one = await c.dsl.req('GET', `/api/v1/alerts/${p.json.id}`);
	assert.equal(one.json.dismiss_reason, 'a lesson on online safety used the phrase');
	const dismissed = await c.dsl.req('GET', '/api/v1/alerts?status=dismissed');
	assert.ok(dismissed.json.alerts.some((a) => a.id === p.json.id));
	const a = await c.auditor.req('GET', '/api/v1/audit');
	assert.ok(a.json.entries.some((e) => e.action === 'alert.dismiss'));
	assert.ok(a.json.entries.some((e) => e.action === 'alert.promote'));
});

test('the summary counts alerts by area and day for the dashboard', async () => {
	const before = await c.dsl.req('GET', '/api/v1/alerts/summary?days=7');
	assert.equal(before.status, 200, before.text);
	await post(alertBody('sum1', { area: 'live-abuse', rule: 'live-abuse.x' }));
	await post(alertBody('sum2', { area: 'live-abuse', rule: 'live-abuse.x' }));
	await post(alertBody('sum2', { area: 'live-abuse', rule: 'live-abuse.x' })); // merged: one alert
	const s = await c.dsl.req('GET', '/api/v1/alerts/summary?days=7');
	assert.equal((s.json.by_area['live-abuse'] || 0) - (before.json.by_area['live-abuse'] || 0), 2);
	assert.equal(s.json.total - before.json.total, 2);
	const today = new Date().toISOString().slice(0, 10);
	assert.ok(s.json.by_day.some((d) => d.day === today && d.area === 'live-abuse' && d.count >= 2));
	assert.equal((await c.dsl.req('GET', '/api/v1/alerts/summary?days=0')).status, 400);
	assert.equal((await c.staff.req('GET', '/api/v1/alerts/summary')).status, 403);
	const b = await c.dslB.req('GET', '/api/v1/alerts/summary');
	assert.equal(b.json.total, 0);
});

test('every alert answered 201 survives a kill -9', async () => {
	const ids = [];
	for (let i = 0; i < 40; i++) {
		const r = await post(alertBody(`kill-${i}`, { severity: 'low' }));
		assert.equal(r.status, 201);
		ids.push(r.json.id);
	}
	assert.equal(await stopWardd(w, 'SIGKILL'), 'SIGKILL');
	w = await startWardd(dir);
	const d = await new Client(w.base).signIn('School A', 'dsl');
	const l = await d.req('GET', '/api/v1/alerts?status=new');
	for (const id of ids) assert.ok(l.json.alerts.some((a) => a.id === id), `alert ${id} lost`);
	c.auditor = await new Client(w.base).signIn('School A', 'auditor');
	const v = await c.auditor.req('GET', '/api/v1/audit/verify');
	assert.equal(v.json.intact, true, v.json.detail);
});

test('audit verify covers every alert row: an altered row is found', async () => {
	const v = await c.auditor.req('GET', '/api/v1/audit/verify');
	assert.equal(v.json.intact, true, v.json.detail);
	await stopWardd(w);
	const out = admin(dir, 'audit', 'verify');
	assert.match(out, /intact/);
	const db = path.join(dir, 'ward.db');
	execFileSync('python3', ['-c', `import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("UPDATE alerts SET count = count + 5 WHERE id = (SELECT MIN(id) FROM alerts)"); c.commit()`, db]);
	let failed = null;
	try { admin(dir, 'audit', 'verify'); } catch (e) { failed = e; }
	assert.ok(failed, 'verify must fail');
	assert.match(String(failed.stdout), /alert\/\d+\/r\d+ was altered/);
	w = await startWardd(dir);
	c.auditor = await new Client(w.base).signIn('School A', 'auditor');
});
