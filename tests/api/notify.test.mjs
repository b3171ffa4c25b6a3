// DSL alerting against a real SMTP receiver on loopback (aiosmtpd): a new concern reaches the
// DSL by email at once with no case details, only a link; unacknowledged, it escalates to the
// deputy and then the head on time and only once (a controllable clock, WARDD_TEST_CLOCK);
// acknowledgement stops it; both are in the audit chain; two wardd processes on one database
// send each stage once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { admin, makeData, startWardd, stopWardd, Client, concernBody } from './helper.mjs';
import { alertBody } from './fixtures/alerts.mjs';

const tmp = mkdtempSync(path.join(process.env.WARD_API_TMP || '/tmp', 'notify-'));
const clock = path.join(tmp, 'clock');
const mailDir = path.join(tmp, 'mail');
mkdirSync(mailDir);
writeFileSync(clock, '0\n');
process.env.WARDD_TEST_CLOCK = clock;
let offset = 0;
const advance = (s) => { offset += s; writeFileSync(clock, `${offset}\n`); };

let w, w2, dir, sink, c = {}, token;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function mails() {
	return readdirSync(mailDir).filter((f) => f.endsWith('.eml')).sort()
		.map((f) => readFileSync(path.join(mailDir, f), 'utf8'));
}
const to = (m) => m.split('\r\n')[0].replace('X-Envelope-To: ', '');
const about = (kind, id) => (m) => m.includes(`/${kind}s/${id}\r\n`);

async function waitMail(pred, ms = 8000) {
	for (let t = 0; t < ms; t += 100) {
		const m = mails().filter(pred);
		if (m.length) return m;
		await sleep(100);
	}
	return [];
}

before(async () => {
	// Debian's python3-aiosmtpd lives beside Debian's python3, which may not be first on PATH
	const py = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
	sink = spawn(py, [new URL('./smtp_sink.py', import.meta.url).pathname,
		path.join(tmp, 'smtp.port'), mailDir], { stdio: 'ignore' });
	for (let i = 0; i < 100 && !existsSync(path.join(tmp, 'smtp.port')); i++) await sleep(100);
	const smtpPort = readFileSync(path.join(tmp, 'smtp.port'), 'utf8').trim();
	dir = makeData();
	token = admin(dir, 'token', 'add', '--school', 'School A', '--name', 'proxy').trim().split('\n').pop();
	w = await startWardd(dir);
	for (const r of ['staff', 'dsl', 'deputy-dsl', 'admin', 'auditor'])
		c[r] = await new Client(w.base).signIn('School A', r);
	const s = await c.admin.req('PUT', '/api/v1/settings/notify', {
		escalation_minutes: 10, smtp_url: `smtp://127.0.0.1:${smtpPort}`,
		mail_from: 'ward@school.test', dsl_emails: ['dsl@school.test', 'dsl2@school.test'],
		deputy_emails: ['deputy@school.test'], head_emails: ['head@school.test'],
		base_url: 'https://ward.school.test/',
	});
	assert.equal(s.status, 200, s.text);
});
after(async () => {
	if (w2) await stopWardd(w2);
	await stopWardd(w);
	sink.kill();
});

test('settings are the admin\'s alone, read back as set, and refuse header tricks', async () => {
	const g = await c.admin.req('GET', '/api/v1/settings/notify');
	assert.equal(g.json.escalation_minutes, 10);
	assert.deepEqual(g.json.dsl_emails, ['dsl@school.test', 'dsl2@school.test']);
	assert.equal(g.json.base_url, 'https://ward.school.test');
	for (const b of [{ dsl_emails: ['dsl@school.test\r\nBcc: x@evil.test'] }, { mail_from: 'no at sign' },
		{ escalation_minutes: 0 }, { smtp_url: 'http://127.0.0.1:25' }, { other: 1 },
		{ base_url: 'javascript:alert(1)' }])
		assert.equal((await c.admin.req('PUT', '/api/v1/settings/notify', b)).status, 400, JSON.stringify(b));
	for (const r of ['staff', 'dsl', 'deputy-dsl', 'auditor'])
		assert.equal((await c[r].req('GET', '/api/v1/settings/notify')).status, 403, r);
});

let escalated;
test('a new concern reaches the DSL by email at once, with only a link', async () => {
	const body = concernBody(4242);
	const r = await c.staff.req('POST', '/api/v1/concerns', body);
	assert.equal(r.status, 201);
	escalated = r.json.id;
	const t0 = Date.now();
	const m = await waitMail(about('concern', escalated));
	assert.equal(m.length, 1, 'one email to the DSL');
	assert.ok(Date.now() - t0 < 7000, 'within a few seconds (the timer looks every second)');
	assert.equal(to(m[0]), 'dsl@school.test,dsl2@school.test');
	assert.match(m[0], /Subject: ward: a new safeguarding concern needs the DSL now/);
	assert.ok(m[0].includes(`https://ward.school.test/concerns/${escalated}`));
	// no case details: not the child, not the account, not the areas
	for (const secret of ['Pupil 4242', 'P4242', '2014-05-06', 'private app', 'secret', 'grooming',
		'peer-images', 'keep their chats'])
		assert.ok(!m[0].includes(secret), `the email must not contain ${secret}`);
	const n = await c.dsl.req('GET', '/api/v1/notices');
	const mine = n.json.notices.find((x) => x.kind === 'concern' && x.ref_id === escalated);
	assert.ok(mine, 'the concern is in the unacknowledged list');
	assert.equal(mine.stage, 1);
});

test('unacknowledged, it escalates to the deputy and then the head, on time and once', async () => {
	await sleep(2500);
	assert.equal(mails().filter(about('concern', escalated)).length, 1, 'nothing early');
	advance(9 * 60);
	await sleep(2500);
	assert.equal(mails().filter(about('concern', escalated)).length, 1, 'not before ten minutes');
	advance(60 + 5);
	const d = await waitMail((m) => about('concern', escalated)(m) && to(m) === 'deputy@school.test');
	assert.equal(d.length, 1, 'escalated to the deputy');
	assert.match(d[0], /ESCALATED/);
	advance(10 * 60 + 5);
	const h = await waitMail((m) => about('concern', escalated)(m) && to(m) === 'head@school.test');
	assert.equal(h.length, 1, 'then to the head');
	advance(60 * 60);
	await sleep(2500);
	assert.equal(mails().filter(about('concern', escalated)).length, 3, 'three emails and no more');
	const cs = await c.dsl.req('GET', `/api/v1/concerns/${escalated}/case`);
	assert.equal(cs.status, 200, cs.text);
	const texts = cs.json.chronology.map((e) => e.text).join('\n');
	for (const t of [/escalated to the deputy DSL/, /escalated to the head/])
		assert.match(texts, t, 'escalation is in the chronology');
	assert.equal(cs.json.chronology.filter((e) => /escalated to the head/.test(e.text)).length, 1);
	const a = await c.auditor.req('GET', '/api/v1/audit');
	for (const act of ['notice.send-dsl', 'notice.escalate-deputy', 'notice.escalate-head'])
		assert.equal(a.json.entries.filter((e) => e.action === act && e.target.startsWith('notice/')).length >= 1, true, act);
});

test('acknowledging stops the escalation and is audited', async () => {
	const r = await c.staff.req('POST', '/api/v1/concerns', concernBody(77));
	const id = r.json.id;
	assert.equal((await waitMail(about('concern', id))).length, 1);
	const ack = await c['deputy-dsl'].req('POST', `/api/v1/concerns/${id}/acknowledge`);
	assert.equal(ack.status, 200, ack.text);
	assert.equal(ack.json.status, 'acknowledged');
	assert.equal((await c.dsl.req('POST', `/api/v1/concerns/${id}/acknowledge`)).status, 409);
	const con = await c.dsl.req('GET', `/api/v1/concerns/${id}`);
	assert.equal(con.json.status, 'acknowledged');
	assert.equal(con.json.account, concernBody(77).account, 'the record itself is unchanged');
	const n = await c.dsl.req('GET', '/api/v1/notices');
	assert.ok(!n.json.notices.some((x) => x.kind === 'concern' && x.ref_id === id));
	advance(30 * 60);
	await sleep(2500);
	assert.equal(mails().filter(about('concern', id)).length, 1, 'no escalation after acknowledgement');
	const cs = await c.dsl.req('GET', `/api/v1/concerns/${id}/case`);
	const texts = cs.json.chronology.map((e) => e.text).join('\n');
	assert.match(texts, /Acknowledged by deputy-dsl/, 'the acknowledgement is in the chronology');
	assert.doesNotMatch(texts, /escalated/);
	const a = await c.auditor.req('GET', '/api/v1/audit');
	assert.ok(a.json.entries.some((e) => e.action === 'notice.acknowledge'));
	const v = await c.auditor.req('GET', '/api/v1/audit/verify');
	assert.equal(v.json.intact, true, v.json.detail);
	assert.equal((await c.staff.req('POST', `/api/v1/concerns/${id}/acknowledge`)).status, 403);
});

test('a high or critical alert reaches the DSL; a low one does not; promotion does', async () => {
	const post = (b) => new Client(w.base).req('POST', '/api/v1/alerts', b,
		{ headers: { authorization: `Bearer ${token}` } });
	const hi = await post(alertBody('n-high'));
	const lo = await post(alertBody('n-low', { severity: 'low' }));
	assert.equal(hi.status, 201);
	const m = await waitMail(about('alert', hi.json.id));
	assert.equal(m.length, 1);
	assert.match(m[0], /high-severity detection alert/);
	assert.ok(!m[0].includes('10.0.0.5') && !m[0].includes('keep their chats'), 'no evidence in the email');
	const crit = await post(alertBody('n-critical', { severity: 'critical' }));
	assert.equal(crit.status, 201, crit.text);
	assert.equal((await waitMail(about('alert', crit.json.id))).length, 1, 'a critical alert is sent too');
	await sleep(1500);
	assert.equal(mails().filter(about('alert', lo.json.id)).length, 0);
	const p = await c.dsl.req('POST', `/api/v1/alerts/${lo.json.id}/promote`);
	assert.equal(p.status, 201);
	assert.equal((await waitMail(about('concern', p.json.concern_id))).length, 1, 'the promoted concern is sent');
	// deciding a high alert acknowledges it
	const ack = await c.dsl.req('POST', `/api/v1/alerts/${hi.json.id}/acknowledge`);
	assert.equal(ack.status, 200);
	assert.equal((await c.dsl.req('POST', `/api/v1/alerts/${lo.json.id}/acknowledge`)).status, 409);
});

test('two wardd processes on one database send each stage once', async () => {
	w2 = await startWardd(dir);
	const ids = [];
	for (let i = 0; i < 6; i++) {
		const r = await c.staff.req('POST', '/api/v1/concerns', concernBody(500 + i));
		ids.push(r.json.id);
	}
	for (const id of ids) assert.equal((await waitMail(about('concern', id))).length >= 1, true);
	advance(10 * 60 + 5);
	for (const id of ids)
		await waitMail((m) => about('concern', id)(m) && to(m) === 'deputy@school.test');
	await sleep(3000);
	for (const id of ids) {
		const m = mails().filter(about('concern', id));
		assert.equal(m.filter((x) => to(x).startsWith('dsl@')).length, 1, `concern ${id}: DSL once`);
		assert.equal(m.filter((x) => to(x) === 'deputy@school.test').length, 1, `concern ${id}: deputy once`);
	}
});
