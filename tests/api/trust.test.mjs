// Trusts: a trust's safeguarding lead (trust-lead) oversees the schools of its trust, with the
// concerns counted and listed by status but no narrative; school roles stay in their school and
// cannot reach the trust's view; another trust's schools are never in it; every read is audited
// and the membership rows are covered by audit verify.  Each concern carries its areas, the
// pupil's urgent flag and how far its escalation has gone (a controllable clock,
// WARDD_TEST_CLOCK, moves the escalation timer on), for the web interface's trust overview.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { WARD, PW, admin, makeData, startWardd, stopWardd, Client, concernBody } from './helper.mjs';

const clock = path.join(mkdtempSync(path.join(process.env.WARD_API_TMP || '/tmp', 'trust-')), 'clock');
writeFileSync(clock, '0\n');
process.env.WARDD_TEST_CLOCK = clock;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let w, dir, c = {}, ids = {};

before(async () => {
	dir = makeData(); // School A (every role, a trust-lead among them) and School B
	admin(dir, 'init', '--school', 'School C', '--username', 'admin-c', '--password', PW);
	admin(dir, 'user', 'add', '--school', 'School C', '--username', 'lead-c', '--role', 'trust-lead', '--password', PW);
	admin(dir, 'user', 'add', '--school', 'School C', '--username', 'staff-c', '--role', 'staff', '--password', PW);
	admin(dir, 'user', 'add', '--school', 'School B', '--username', 'staff-b', '--role', 'staff', '--password', PW);
	assert.match(admin(dir, 'trust', 'add', '--name', 'North Trust', '--school', 'School A'), /is in trust North Trust/);
	admin(dir, 'trust', 'add', '--name', 'North Trust', '--school', 'School B');
	admin(dir, 'trust', 'add', '--name', 'South Trust', '--school', 'School C');
	w = await startWardd(dir);
	c.lead = await new Client(w.base).signIn('School A', 'trust-lead');
	c.leadC = await new Client(w.base).signIn('School C', 'lead-c');
	c.staff = await new Client(w.base).signIn('School A', 'staff');
	c.staffB = await new Client(w.base).signIn('School B', 'staff-b');
	c.staffC = await new Client(w.base).signIn('School C', 'staff-c');
	c.dsl = await new Client(w.base).signIn('School A', 'dsl');
	c.auditor = await new Client(w.base).signIn('School A', 'auditor');
	for (const [k, cl] of [['A', c.staff], ['B', c.staffB], ['C', c.staffC]]) {
		const r = await cl.req('POST', '/api/v1/concerns', concernBody(k.charCodeAt(0)));
		assert.equal(r.status, 201, r.text);
		ids[k] = r.json.id;
	}
	// a pupil of School A says they are not safe now: an urgent concern
	const adminA = await new Client(w.base).signIn('School A', 'admin');
	const pg = await adminA.req('PUT', '/api/v1/pupil-page', { enabled: true });
	assert.equal(pg.status, 200, pg.text);
	const anon = new Client(w.base);
	const f = await anon.req('POST', '/api/v1/pupil/form', { code: pg.json.code });
	assert.equal(f.status, 200, f.text);
	const seen = new Set((await c.lead.req('GET', '/api/v1/trust/concerns')).json.concerns.map((x) => x.id));
	const pr = await anon.req('POST', '/api/v1/pupil/reports', { code: pg.json.code, form_token: f.json.form_token,
		what_happened: 'Someone online keeps asking me to keep our chats secret.', safe_now: 'no' });
	assert.equal(pr.status, 201, pr.text);
	ids.pupil = (await c.lead.req('GET', '/api/v1/trust/concerns')).json.concerns.find((x) => !seen.has(x.id)).id;
});
after(async () => { await stopWardd(w); });

test('ward admin user add takes the trust-lead role; the API cannot make one', async () => {
	const adminA = await new Client(w.base).signIn('School A', 'admin');
	const r = await adminA.req('POST', '/api/v1/users', { username: 'would-be-lead', password: 'another long password', role: 'trust-lead' });
	assert.equal(r.status, 400, 'a school admin cannot make a trust lead');
});

test('the trust lead sees the schools of its trust, counted, and no other trust\'s', async () => {
	const r = await c.lead.req('GET', '/api/v1/trust/schools');
	assert.equal(r.status, 200, r.text);
	assert.equal(r.json.trust, 'North Trust');
	assert.deepEqual(r.json.schools.map((s) => s.name), ['School A', 'School B']);
	for (const s of r.json.schools) {
		assert.ok(s.concerns >= 1 && s.open >= 1, JSON.stringify(s));
		assert.ok(s.unacknowledged >= 1, 'a new concern waits for its DSL');
	}
	const south = await c.leadC.req('GET', '/api/v1/trust/schools');
	assert.deepEqual(south.json.schools.map((s) => s.name), ['School C']);
});

test('the trust\'s concerns: status and dates across its schools, never the narrative', async () => {
	const r = await c.lead.req('GET', '/api/v1/trust/concerns');
	assert.equal(r.status, 200, r.text);
	const got = r.json.concerns.map((x) => x.id);
	assert.ok(got.includes(ids.A) && got.includes(ids.B), 'both schools of the trust');
	assert.ok(!got.includes(ids.C), 'another trust\'s school is not there');
	assert.ok(!r.text.includes('private app') && !r.text.includes('Pupil'), 'no narrative, no child');
	for (const x of r.json.concerns) assert.deepEqual(Object.keys(x).sort(), ['areas', 'created', 'escalated', 'id', 'school_id', 'status', 'urgent', 'version']);
	assert.ok(!r.text.includes('keep our chats secret'), 'not the pupil\'s words either');
	assert.equal((await c.lead.req('GET', '/api/v1/trust/concerns?limit=1')).json.concerns.length, 1);
	assert.equal((await c.lead.req('GET', '/api/v1/trust/concerns?limit=0')).status, 400);
	const south = await c.leadC.req('GET', '/api/v1/trust/concerns');
	assert.deepEqual(south.json.concerns.map((x) => x.id), [ids.C]);
});

test('each concern carries its areas and the pupil\'s urgent flag, nothing more of its record', async () => {
	const r = await c.lead.req('GET', '/api/v1/trust/concerns');
	const by = new Map(r.json.concerns.map((x) => [x.id, x]));
	assert.deepEqual(by.get(ids.A).areas, concernBody(0).areas);
	assert.equal(by.get(ids.A).urgent, false, 'a staff concern has no pupil flag');
	assert.equal(by.get(ids.pupil).urgent, true, 'the pupil said they are not safe now');
	assert.equal(by.get(ids.pupil).school_id, by.get(ids.A).school_id);
	assert.ok(Array.isArray(by.get(ids.pupil).areas));
});

test('an unacknowledged concern shows its escalation; an acknowledged one does not', async () => {
	const get = async () => new Map((await c.lead.req('GET', '/api/v1/trust/concerns')).json.concerns.map((x) => [x.id, x]));
	assert.equal((await get()).get(ids.A).escalated, null, 'not escalated yet');
	const ack = await c.dsl.req('POST', `/api/v1/concerns/${ids.pupil}/acknowledge`);
	assert.equal(ack.status, 200, ack.text);
	let m;
	// the DSL is told on the timer's next tick (stage 1, not an escalation); wait for it, and a
	// tick more for School B's, so that the clock moves on from there
	for (let i = 0; i < 100; i++) {
		const n = (await c.dsl.req('GET', '/api/v1/notices')).json.notices.find((x) => x.ref_id === ids.A);
		if (n && n.stage >= 1) break;
		await sleep(100);
	}
	await sleep(1500);
	assert.equal((await get()).get(ids.A).escalated, null, 'telling the DSL is not an escalation');
	// 15 minutes later (the default) the deputy, 15 more the head
	for (const [mins, want] of [[16, 'deputy-dsl'], [32, 'head']]) {
		writeFileSync(clock, `${mins * 60}\n`);
		for (let i = 0; i < 100; i++) {
			m = await get();
			if (m.get(ids.A).escalated === want && m.get(ids.B).escalated === want) break;
			await sleep(100);
		}
		assert.equal(m.get(ids.A).escalated, want, JSON.stringify((await c.dsl.req('GET', '/api/v1/notices')).json));
		assert.equal(m.get(ids.B).escalated, want, 'across the trust\'s schools');
	}
	assert.equal(m.get(ids.pupil).escalated, null, 'acknowledged, so not escalated');
	assert.equal(m.get(ids.pupil).status, 'acknowledged');
});

test('a trust lead reaches no school route; school roles do not reach the trust\'s view', async () => {
	for (const p of ['/api/v1/concerns', `/api/v1/concerns/${ids.A}`, '/api/v1/alerts', '/api/v1/users', '/api/v1/audit'])
		assert.equal((await c.lead.req('GET', p)).status, 403, p);
	for (const cl of [c.staff, c.dsl, c.auditor])
		assert.equal((await cl.req('GET', '/api/v1/trust/schools')).status, 403);
	// a school's DSL still sees only their school
	const l = await c.dsl.req('GET', '/api/v1/concerns');
	assert.ok(!l.json.concerns.some((x) => x.id === ids.B));
});

test('the lead\'s reads are audited and the memberships are covered by audit verify', async () => {
	await c.lead.req('GET', '/api/v1/trust/concerns');
	const a = await c.auditor.req('GET', '/api/v1/audit');
	assert.ok(a.json.entries.some((e) => e.action === 'trust.concerns'));
	assert.ok(a.json.entries.some((e) => e.action === 'trust.join' && e.target.startsWith('trust-member/')));
	const v = spawnSync(WARD, ['admin', '--data-dir', dir, 'audit', 'verify'], { encoding: 'utf8' });
	assert.equal(v.status, 0, v.stdout);
});

test('moving a school to another trust moves it out of the first trust\'s view', async () => {
	admin(dir, 'trust', 'add', '--name', 'South Trust', '--school', 'School B');
	const r = await c.lead.req('GET', '/api/v1/trust/schools');
	assert.deepEqual(r.json.schools.map((s) => s.name), ['School A']);
	const south = await c.leadC.req('GET', '/api/v1/trust/schools');
	assert.deepEqual(south.json.schools.map((s) => s.name), ['School B', 'School C']);
	assert.equal(spawnSync(WARD, ['admin', '--data-dir', dir, 'audit', 'verify']).status, 0);
});
