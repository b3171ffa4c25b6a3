// Casework: for each of the nine areas, a case carried from a staff report to closure through the
// API (checklist, urgent-referral questions, chronology, decision, referral, device custody,
// summary and export), all recorded and audited; closing refused while a device is unaccounted
// for; custody rows covered by `ward admin audit verify`; pupil records over time and transfer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { WARD, makeData, startWardd, stopWardd, Client } from './helper.mjs';

const AREAS = execFileSync(WARD, ['areas'], { encoding: 'utf8' }).trim().split('\n')
	.map((l) => l.split(/\s+/)[0]);
const TOP = process.env.WARD_TOP || path.resolve(new URL('../..', import.meta.url).pathname);
// The seed beside the tree, as the image suites find their vectors; WARD_SEED_DIR overrides.
const SEED_DIR = process.env.WARD_SEED_DIR
	|| [path.join(TOP, '..', 'shared', 'seed'), '/work/shared/seed'].find((d) => existsSync(d))
	|| path.join(TOP, '..', 'shared', 'seed');

let stderr = '';
let w, dir, staff, dsl, deputy, adminC, auditor, dslB;

before(async () => {
	dir = makeData();
	w = await startWardd(dir);
	w.proc.stderr.on('data', (d) => { stderr += d; });
	staff = await new Client(w.base).signIn('School A', 'staff');
	dsl = await new Client(w.base).signIn('School A', 'dsl');
	deputy = await new Client(w.base).signIn('School A', 'deputy-dsl');
	adminC = await new Client(w.base).signIn('School A', 'admin');
	auditor = await new Client(w.base).signIn('School A', 'auditor');
	dslB = await new Client(w.base).signIn('School B', 'dsl-b');
});
// A clean exit: under ASan a leak would make it non-zero.
after(async () => { assert.equal(await stopWardd(w), 0, `clean exit on SIGTERM: ${stderr.slice(-200000)}`); });

const concern = (area, n, children) => ({
	occurred_at: '2026-11-02',
	children: children || [{ name: `Child ${n}`, date_of_birth: '2013-03-04', year_group: '8', internal_id: `C${n}` }],
	areas: [area],
	account: `The pupil said someone online asked them to keep a secret and to move to a private app (${n}).`,
	source: 'staff',
});

async function ok(p, want = 201) {
	const r = await p;
	assert.equal(r.status, want, r.text);
	return r.json;
}

test('nine areas are listed', () => { assert.equal(AREAS.length, 9); });

test('every checklist item quotes the seed, and the area-specific items are there', async () => {
	const seed = readdirSync(SEED_DIR).map((f) => readFileSync(path.join(SEED_DIR, f), 'utf8')).join('\n');
	const g = JSON.parse(execFileSync(WARD, ['guide', '--json', ...AREAS], { encoding: 'utf8', cwd: TOP }));
	const items = g.items || g.checklist;
	assert.ok(items.length >= 10);
	for (const it of items) {
		const quotes = [...it.source.matchAll(/seed: "([^"]+)"/g)].map((m) => m[1]);
		assert.ok(quotes.length >= 1, `${it.id} quotes the seed`);
		for (const q of quotes) assert.ok(seed.includes(q), `${it.id}: "${q}" is in the seed`);
	}
	const byId = Object.fromEntries(items.map((i) => [i.id, i]));
	assert.match(byId['parents-not-told'].text, /parents or carers until the police or children's social care advise/);
	assert.match(byId['image-not-viewed'].text, /view, copy, print, forward/);
	assert.match(byId['image-not-viewed'].text, /ask for the image/);
});

let n = 0;
for (const area of AREAS) {
	test(`${area}: from a staff report to a closed case`, async () => {
		const k = ++n;
		// Another concern about another child: its details must not reach this case's summary.
		await ok(staff.req('POST', '/api/v1/concerns', concern(area, 1000 + k)));
		const c = await ok(staff.req('POST', '/api/v1/concerns', concern(area, k)));
		const base = `/api/v1/concerns/${c.id}`;

		// The reporter sees and confirms their own items.
		const mine = await ok(staff.req('GET', `${base}/checklist`), 200);
		assert.ok(mine.items.length >= 6);
		assert.ok(mine.items.every((i) => i.who === 'reporter' && i.state === 'open'));
		assert.equal(mine.triggers, undefined, 'staff are not shown the DSL questions');
		for (const it of mine.items) {
			const body = it.id === 'dsl-told' || it.kind === 'dont' ? { item: it.id, state: 'confirmed' }
				: it.id === 'device-taken' ? { item: it.id, state: 'confirmed', note: 'phone handed to the DSL' }
					: { item: it.id, state: 'confirmed' };
			const r = await ok(staff.req('POST', `${base}/checklist`, body));
			assert.equal(r.state, 'confirmed');
			assert.equal(r.by, 'staff');
			assert.ok(r.at > 0);
		}
		const full = await ok(dsl.req('GET', `${base}/checklist`), 200);
		const dslItems = full.items.filter((i) => i.who === 'dsl');
		assert.ok(dslItems.length >= 2);
		assert.equal((await staff.req('POST', `${base}/checklist`, { item: dslItems[0].id, state: 'confirmed' })).status, 403);
		if (area === 'household-images') assert.ok(full.items.some((i) => i.id === 'parents-not-told'));
		else assert.ok(!full.items.some((i) => i.id === 'parents-not-told'));
		if (area === 'peer-images') assert.ok(full.items.some((i) => i.id === 'image-not-viewed'));
		assert.equal((await dsl.req('POST', `${base}/checklist`, { item: 'not-an-item', state: 'confirmed' })).status, 400);
		assert.equal((await dsl.req('POST', `${base}/checklist`, { item: dslItems[0].id, state: 'not-applicable' })).status, 400,
			'not applicable needs a reason');
		for (const it of dslItems) {
			const body = it.id === 'police-contacted' ? { item: it.id, state: 'confirmed' }
				: { item: it.id, state: 'not-applicable', reason: 'covered by the police referral' };
			const r = await ok(deputy.req('POST', `${base}/checklist`, body));
			assert.equal(r.by, 'deputy-dsl');
		}

		// Urgent-referral questions: all no, then one yes.
		assert.ok(full.triggers.length >= 4);
		assert.equal(full.urgent, false);
		let t;
		for (const q of full.triggers)
			t = await ok(dsl.req('POST', `${base}/triggers`, { trigger: q.id, answer: 'no' }));
		assert.equal(t.urgent, false);
		t = await ok(dsl.req('POST', `${base}/triggers`, { trigger: 'adult-involved', answer: 'yes', note: 'the other person may be an adult' }));
		assert.equal(t.urgent, true);
		assert.ok(t.urgent_reasons.some((s) => /adult/.test(s)));
		assert.ok(t.contacts.some((x) => x.id === 'police-emergency' && /999/.test(x.how)));
		assert.ok(t.contacts.some((x) => x.id === 'ceop'));

		// Chronology, decision, referral and its outcome.
		await ok(dsl.req('POST', `${base}/chronology`, { type: 'meeting', at: '2026-11-02T10:00', text: 'Met the pupil with their form tutor.' }));
		await ok(dsl.req('POST', `${base}/chronology`, {
			type: area === 'household-images' ? 'contact-agency' : 'contact-parent', at: '2026-11-02T11:00',
			text: 'Spoke by phone.', with: area === 'household-images' ? "children's social care" : 'parent' }));
		assert.equal((await dsl.req('POST', `${base}/chronology`, { type: 'meeting', at: 'yesterday', text: 'x' })).status, 400);
		await ok(dsl.req('POST', `${base}/decisions`, { decision: 'refer-police', reason: 'An adult may be involved.' }));
		const ref = await ok(dsl.req('POST', `${base}/referrals`, { agency: 'police', at: '2026-11-02T12:00', reference: `POL-${k}` }));
		await ok(dsl.req('POST', `${base}/referrals/${ref.id}/outcome`, { outcome: 'Police are investigating.', at: '2026-11-03' }));

		// Device custody: closing is refused until the device is with the police.
		const dev = await ok(dsl.req('POST', `${base}/devices`, {
			description: 'Black mobile phone in a blue case', owner: `Child ${k}`, taken_at: '2026-11-02T09:30',
			taken_by: 'staff', switched_off: 'yes', bag_number: `BAG-${k}`, stored_at: 'DSL office safe',
			not_examined_by: 'staff' }));
		assert.match(dev.not_examined, /not examined.*Stated by staff/);
		let cl = await dsl.req('POST', `${base}/close`, { outcome: 'refer-police', reason: 'Referred to the police.' });
		assert.equal(cl.status, 409);
		assert.match(cl.json.detail, /device/);
		const cur = await ok(dsl.req('GET', `/api/v1/concerns/${c.id}`), 200);
		const p = await dsl.req('PATCH', base, { version: cur.version, status: 'closed' });
		assert.equal(p.status, 409, 'PATCH cannot close it either');
		await ok(dsl.req('POST', `${base}/devices/${dev.id}/handovers`, { to: 'deputy-dsl', at: '2026-11-02T13:00', kind: 'moved', stored_at: 'locked cabinet' }));
		assert.equal((await dsl.req('POST', `${base}/close`, { outcome: 'refer-police', reason: 'x' })).status, 409);
		assert.equal((await dsl.req('POST', `${base}/devices/${dev.id}/handovers`, { to: 'PC Example', at: '2026-11-03', kind: 'police' })).status, 400,
			'a hand-over to police needs the police reference');
		await ok(dsl.req('POST', `${base}/devices/${dev.id}/handovers`, { to: 'PC Example', at: '2026-11-03T09:00', kind: 'police', police_reference: `POL-${k}` }));

		// The summary and export, before closing.
		const ex = await ok(dsl.req('GET', `${base}/export`), 200);
		assert.equal(ex.format, 'ward-referral-summary-1');
		assert.equal(ex.concern.id, c.id);
		assert.deepEqual(ex.children.map((x) => x.name), [`Child ${k}`]);
		assert.equal(ex.urgent, true);
		assert.equal(ex.chronology.length, 2);
		assert.equal(ex.decisions[0].decision, 'refer-police');
		assert.equal(ex.referrals[0].reference, `POL-${k}`);
		assert.equal(ex.referrals[0].outcomes[0].outcome, 'Police are investigating.');
		assert.equal(ex.custody.length, 1);
		assert.equal(ex.custody[0].handovers.length, 2);
		assert.equal(ex.custody[0].accounted_for, true);
		assert.equal(ex.custody[0].bag_number, `BAG-${k}`);
		const text = JSON.stringify(ex);
		assert.ok(!text.includes(`Child ${1000 + k}`), 'no other child');
		assert.ok(!/pwhash|password|argon/i.test(text));
		assert.ok(!('actor_id' in ex.decisions[0]));
		const html = await dsl.req('GET', `${base}/summary`);
		assert.equal(html.status, 200);
		assert.match(html.headers.get('content-type'), /text\/html/);
		assert.match(html.headers.get('content-security-policy'), /default-src 'none'/);
		assert.ok(!/<script|style=|<style|on[a-z]+=/i.test(html.text), 'no script or inline style');
		assert.match(html.text, new RegExp(`BAG-${k}`));
		assert.match(html.text, /The device was not examined/);
		assert.ok(!html.text.includes(`Child ${1000 + k}`));

		// Close.
		cl = await ok(dsl.req('POST', `${base}/close`, { outcome: 'refer-police', reason: 'Referred to the police; case with them.' }), 200);
		assert.equal(cl.status, 'closed');
		assert.equal((await ok(staff.req('GET', `/api/v1/concerns/${c.id}`), 200)).status, 'closed');
		assert.equal((await dsl.req('POST', `${base}/close`, { outcome: 'refer-police', reason: 'again' })).status, 409);
		const whole = await ok(dsl.req('GET', `${base}/case`), 200);
		assert.equal(whole.closed.outcome, 'refer-police');

		// All of it audited.
		const log = await ok(auditor.req('GET', '/api/v1/audit'), 200);
		const actions = new Set(log.entries.map((e) => e.action));
		for (const a of ['case.checklist', 'case.trigger', 'case.chronology', 'case.decision', 'case.referral',
			'case.referral-outcome', 'case.device-taken', 'case.device-handover', 'case.close', 'concern.close',
			'case.export', 'case.read-summary', 'case.read-checklist'])
			assert.ok(actions.has(a), `audit has ${a}`);
		assert.ok(log.entries.some((e) => e.action === 'case.read-summary' && e.target === `concern/${c.id}`));
	});
}

test('a reopened case can be closed again', async () => {
	const c = await ok(staff.req('POST', '/api/v1/concerns', concern('cybersex', 550)));
	const base = `/api/v1/concerns/${c.id}`;
	await ok(dsl.req('POST', `${base}/decisions`, { decision: 'early-help', reason: 'Support in school.' }));
	await ok(dsl.req('POST', `${base}/close`, { outcome: 'early-help', reason: 'Support in place.' }), 200);
	const cur = await ok(dsl.req('GET', base), 200);
	await ok(dsl.req('PATCH', base, { version: cur.version, status: 'in-progress' }), 200);
	assert.equal((await ok(dsl.req('GET', `${base}/case`), 200)).closed, null);
	await ok(dsl.req('POST', `${base}/close`, { outcome: 'monitor', reason: 'Monitoring after review.' }), 200);
	assert.equal((await ok(dsl.req('GET', `${base}/case`), 200)).closed.outcome, 'monitor');
});

test('closing at once from many requests closes it once', async () => {
	const c = await ok(staff.req('POST', '/api/v1/concerns', concern('live-abuse', 560)));
	const base = `/api/v1/concerns/${c.id}`;
	await ok(dsl.req('POST', `${base}/decisions`, { decision: 'refer-ceop', reason: 'Referred to CEOP.' }));
	const rs = await Promise.all([...Array(8)].map((_, i) => (i % 2 ? deputy : dsl).req('POST', `${base}/close`,
		{ outcome: 'refer-ceop', reason: `Closed (${i}).` })));
	assert.deepEqual(rs.map((r) => r.status).sort(), [200, 409, 409, 409, 409, 409, 409, 409]);
	const whole = await ok(dsl.req('GET', `${base}/case`), 200);
	assert.equal(whole.concern.status, 'closed');
});

test('a concern without a decision is not closed', async () => {
	const c = await ok(staff.req('POST', '/api/v1/concerns', concern('grooming', 500)));
	const r = await dsl.req('POST', `/api/v1/concerns/${c.id}/close`, { outcome: 'monitor', reason: 'x' });
	assert.equal(r.status, 409);
	assert.match(r.json.detail, /decision/);
});

const deviceBody = (k) => ({
	description: 'Grey tablet', owner: `Child ${k}`, taken_at: '2026-11-02T09:30', taken_by: 'staff',
	switched_off: 'yes', bag_number: `BAG-${k}`, stored_at: 'DSL office safe', not_examined_by: 'staff' });

test('PATCH to closed is refused while a device is out, in the words close uses; a closed case takes no device', async () => {
	const c = await ok(staff.req('POST', '/api/v1/concerns', concern('grooming', 600)));
	const base = `/api/v1/concerns/${c.id}`;
	await ok(dsl.req('POST', `${base}/decisions`, { decision: 'refer-police', reason: 'An adult may be involved.' }));
	const dev = await ok(dsl.req('POST', `${base}/devices`, deviceBody(600)));
	const cur = await ok(dsl.req('GET', base), 200);
	const p = await dsl.req('PATCH', base, { version: cur.version, status: 'closed' });
	const cl = await dsl.req('POST', `${base}/close`, { outcome: 'refer-police', reason: 'Referred.' });
	assert.equal(p.status, 409, p.text);
	assert.equal(p.json.title, 'Case cannot be closed');
	assert.equal(p.json.detail, '1 device taken in this case has not been handed to the police or returned; record the hand-over first');
	assert.equal(cl.status, 409);
	assert.equal(cl.json.detail, p.json.detail, 'the same words from both ways of closing');
	const after = await ok(dsl.req('GET', base), 200);
	assert.equal(after.status, cur.status, 'status unchanged');
	assert.equal(after.version, cur.version, 'no version written');
	await ok(dsl.req('POST', `${base}/devices/${dev.id}/handovers`, { to: 'PC Example', at: '2026-11-03T09:00', kind: 'police', police_reference: 'POL-600' }));
	const closed = await ok(dsl.req('PATCH', base, { version: cur.version, status: 'closed' }), 200);
	assert.equal(closed.status, 'closed');
	// Once closed, no device is taken into custody and none is moved.
	const late = await dsl.req('POST', `${base}/devices`, deviceBody(601));
	assert.equal(late.status, 409, late.text);
	assert.match(late.json.detail, /closed/);
	const moved = await dsl.req('POST', `${base}/devices/${dev.id}/handovers`, { to: 'deputy-dsl', at: '2026-11-04T09:00', kind: 'moved' });
	assert.equal(moved.status, 409, moved.text);
	const whole = await ok(dsl.req('GET', `${base}/case`), 200);
	assert.equal(whole.custody.length, 1);
	assert.ok(whole.custody.every((d) => d.accounted_for));
});

test('a device recorded at the moment of a close, through two wardd on one database, never leaves a closed case with a device out', async () => {
	// A data directory of its own (its audit log stays out of the other tests' pages).
	const rdir = makeData();
	const w1 = await startWardd(rdir), w2 = await startWardd(rdir);
	const staff = await new Client(w1.base).signIn('School A', 'staff');
	const dsl = await new Client(w1.base).signIn('School A', 'dsl');
	// The same session through the second process.
	const dsl2 = Object.assign(new Client(w2.base), { cookie: dsl.cookie, csrf: dsl.csrf, acct: dsl.acct });
	const seen = { deviceFirst: 0, closeFirst: 0 };
	try {
		for (let i = 0; i < 24; i++) {
			const c = await ok(staff.req('POST', '/api/v1/concerns', concern('exploitation', 700 + i)));
			const base = `/api/v1/concerns/${c.id}`;
			await ok(dsl.req('POST', `${base}/decisions`, { decision: 'monitor', reason: 'Watching closely.' }));
			const cur = await ok(dsl.req('GET', base), 200);
			const [one, two] = i % 2 ? [dsl, dsl2] : [dsl2, dsl];
			const close = i % 4 < 2
				? one.req('POST', `${base}/close`, { outcome: 'monitor', reason: `Closed (${i}).` })
				: one.req('PATCH', base, { version: cur.version, status: 'closed' });
			const [cl, d] = await Promise.all([close, two.req('POST', `${base}/devices`, deviceBody(700 + i))]);
			assert.ok([200, 409].includes(cl.status), cl.text);
			assert.ok([201, 409].includes(d.status), d.text);
			assert.equal((cl.status === 200) + (d.status === 201), 1, `round ${i}: exactly one of close and device stands`);
			if (cl.status === 200) seen.closeFirst++; else seen.deviceFirst++;
			const whole = await ok(dsl.req('GET', `${base}/case`), 200);
			const out = whole.custody.filter((x) => !x.accounted_for).length;
			if (whole.concern.status === 'closed') assert.equal(out, 0, `round ${i}: closed with ${out} device(s) out`);
			else assert.equal(out, 1, `round ${i}: open with its device`);
		}
	} finally {
		assert.equal(await stopWardd(w2), 0);
		assert.equal(await stopWardd(w1), 0);
	}
	const v = spawnSync(WARD, ['admin', '--data-dir', rdir, 'audit', 'verify'], { encoding: 'utf8' });
	assert.equal(v.status, 0, v.stdout + v.stderr);
	console.log(`# close/device races: close first ${seen.closeFirst}, device first ${seen.deviceFirst}`);
});

test('a staff member cannot work another person\'s concern; admin and auditor see no case', async () => {
	const c = await ok(dsl.req('POST', '/api/v1/concerns', concern('grooming', 600)));
	assert.equal((await staff.req('GET', `/api/v1/concerns/${c.id}/checklist`)).status, 404);
	assert.equal((await staff.req('POST', `/api/v1/concerns/${c.id}/checklist`, { item: 'reassure', state: 'confirmed' })).status, 404);
	for (const x of [adminC, auditor])
		assert.equal((await x.req('GET', `/api/v1/concerns/${c.id}/export`)).status, 403);
	assert.equal((await dslB.req('GET', `/api/v1/concerns/${c.id}/export`)).status, 404);
});

test('custody rows and pupil records are covered by audit verify: a tampered row is named', async () => {
	const c = await ok(staff.req('POST', '/api/v1/concerns', concern('peer-images', 700)));
	const dev = await ok(dsl.req('POST', `/api/v1/concerns/${c.id}/devices`, {
		description: 'Grey tablet', owner: 'Child 700', taken_at: '2026-11-04', taken_by: 'dsl',
		switched_off: 'no', bag_number: 'BAG-700', stored_at: 'DSL office safe', not_examined_by: 'dsl' }));
	const h = await ok(dsl.req('POST', `/api/v1/concerns/${c.id}/devices/${dev.id}/handovers`, {
		to: 'PC Example', at: '2026-11-05', kind: 'police', police_reference: 'POL-700' }));
	const v = await ok(auditor.req('GET', '/api/v1/audit/verify'), 200);
	assert.equal(v.intact, true, v.detail);
	const db = path.join(dir, 'ward.db');
	const sql = (q) => {
		const r = spawnSync('sqlite3', ['-cmd', '.timeout 10000', db, q], { encoding: 'utf8' });
		assert.equal(r.status, 0, r.stderr);
		return r.stdout;
	};
	// The store refuses to rewrite a custody row...
	const refused = spawnSync('sqlite3', ['-cmd', '.timeout 10000', db, `UPDATE case_entries SET ref = '1' WHERE id = ${h.id}`], { encoding: 'utf8' });
	assert.notEqual(refused.status, 0);
	assert.match(refused.stderr, /append-only/);
	// ...so a tamperer removes the guard first; verify names the row.
	sql(`DROP TRIGGER case_entries_no_update; UPDATE case_entries SET created = created - 3600 WHERE id = ${h.id}`);
	const out = spawnSync(WARD, ['admin', '--data-dir', dir, 'audit', 'verify'], { encoding: 'utf8' });
	assert.notEqual(out.status, 0);
	assert.match(out.stdout + out.stderr, new RegExp(`case-entry/${h.id}`));
	sql(`UPDATE case_entries SET created = created + 3600 WHERE id = ${h.id}`);
	assert.equal(spawnSync(WARD, ['admin', '--data-dir', dir, 'audit', 'verify']).status, 0, 'restored: intact again');
	// A pupil record likewise.
	const p = await ok(dsl.req('POST', '/api/v1/pupils', { name: 'Kit Example', date_of_birth: '2013-07-08' }));
	sql(`DROP TRIGGER pupils_no_update; UPDATE pupils SET actor_id = actor_id + 1 WHERE id = ${p.id}`);
	const out2 = spawnSync(WARD, ['admin', '--data-dir', dir, 'audit', 'verify'], { encoding: 'utf8' });
	assert.notEqual(out2.status, 0);
	assert.match(out2.stdout + out2.stderr, new RegExp(`pupil/${p.id}`));
	sql(`UPDATE pupils SET actor_id = actor_id - 1 WHERE id = ${p.id}`);
	assert.equal(spawnSync(WARD, ['admin', '--data-dir', dir, 'audit', 'verify']).status, 0);
});

test('pupil records: audited reads, chronology across concerns, retention review, subject access', async () => {
	const child = { name: 'Robin Example', date_of_birth: '2012-02-29', year_group: '9', internal_id: 'P-ROBIN' };
	const other = { name: 'Sam Other', date_of_birth: '2012-06-01', year_group: '9', internal_id: 'P-SAM' };
	const p = await ok(dsl.req('POST', '/api/v1/pupils', child));
	assert.equal(p.retain_until, '2037-03-01', '25th birthday (29 February in a common year)');
	assert.equal((await dsl.req('POST', '/api/v1/pupils', { ...child, date_of_birth: '2012-13-01' })).status, 400);
	const c1 = await ok(staff.req('POST', '/api/v1/concerns', concern('grooming', 800, [child])));
	const c2 = await ok(staff.req('POST', '/api/v1/concerns', concern('peer-images', 801, [child, other])));
	await ok(staff.req('POST', '/api/v1/concerns', concern('peer-images', 802, [other])));
	await ok(dsl.req('POST', `/api/v1/concerns/${c1.id}/chronology`, { type: 'action', at: '2026-11-05', text: 'Safety plan agreed.' }));
	await ok(dsl.req('POST', `/api/v1/concerns/${c2.id}/decisions`, { decision: 'monitor', reason: 'No further risk found.' }));

	const r = await ok(dsl.req('GET', `/api/v1/pupils/${p.id}`), 200);
	assert.equal(r.name, 'Robin Example');
	const ch = await ok(dsl.req('GET', `/api/v1/pupils/${p.id}/chronology`), 200);
	assert.deepEqual(ch.concerns.map((x) => x.concern.id).sort(), [c1.id, c2.id].sort());
	assert.ok(ch.chronology.some((e) => e.kind === 'chronology' && e.text === 'Safety plan agreed.'));
	assert.ok(ch.chronology.some((e) => e.kind === 'decision' && e.decision === 'monitor'));
	for (let i = 1; i < ch.chronology.length; i++)
		assert.ok(ch.chronology[i - 1].recorded_at <= ch.chronology[i].recorded_at, 'one timeline, in time order');
	assert.equal(ch.chronology.filter((e) => e.kind === 'concern').length, 2);
	const sar = await ok(dsl.req('GET', `/api/v1/pupils/${p.id}/export`), 200);
	assert.equal(sar.format, 'ward-subject-access-1');
	assert.ok(!JSON.stringify(sar).includes('Sam Other'), 'another child is left out');
	assert.equal(sar.concerns.length, 2);

	const before = await ok(dsl.req('GET', '/api/v1/pupils/review?on=2037-02-28'), 200);
	assert.ok(!before.due_for_review.some((x) => x.id === p.id));
	const due = await ok(dsl.req('GET', '/api/v1/pupils/review?on=2037-03-01'), 200);
	assert.ok(due.due_for_review.some((x) => x.id === p.id));
	assert.equal((await dsl.req('GET', '/api/v1/pupils/review?on=soon')).status, 400);
	assert.equal((await dslB.req('GET', `/api/v1/pupils/${p.id}`)).status, 404);

	const log = await ok(auditor.req('GET', '/api/v1/audit'), 200);
	for (const a of ['pupil.create', 'pupil.read', 'pupil.read-chronology', 'pupil.subject-access-export', 'pupil.review-list'])
		assert.ok(log.entries.some((e) => e.action === a && (a === 'pupil.review-list' || a === 'pupil.create' || e.target === `pupil/${p.id}`)), a);
});

test('transfer: a signed, sealed bundle to another school, and its receipt', async () => {
	const child = { name: 'Alex Mover', date_of_birth: '2011-09-10', year_group: '10', internal_id: 'P-ALEX' };
	const p = await ok(dsl.req('POST', '/api/v1/pupils', child));
	const c = await ok(staff.req('POST', '/api/v1/concerns', concern('exploitation', 900, [child])));
	await ok(dsl.req('POST', `/api/v1/concerns/${c.id}/chronology`, { type: 'note', at: '2026-11-06', text: 'Moving school next term.' }));
	const keysA = await ok(dsl.req('GET', '/api/v1/transfer-keys'), 200);
	const keysB = await ok(dslB.req('GET', '/api/v1/transfer-keys'), 200);
	assert.notEqual(keysA.sign_key, keysB.sign_key);

	const t = await ok(dsl.req('POST', `/api/v1/pupils/${p.id}/transfer`, { recipient_box_key: keysB.box_key, recipient_school: 'School B' }));
	const bundle = JSON.stringify(t.bundle);
	assert.ok(!bundle.includes('Alex Mover') && !bundle.includes('Moving school'), 'the file is encrypted');

	// Tampering, a wrong sender key and the wrong school are refused.
	const bad = { ...t.bundle, sealed: t.bundle.sealed.slice(0, -8) + 'AAAAAAA=' };
	assert.equal((await dslB.req('POST', '/api/v1/transfers', { bundle: JSON.stringify(bad), sender_sign_key: keysA.sign_key, sender_school: 'School A' })).status, 422);
	assert.equal((await dslB.req('POST', '/api/v1/transfers', { bundle, sender_sign_key: keysB.sign_key, sender_school: 'School A' })).status, 422);
	assert.equal((await dsl.req('POST', '/api/v1/transfers', { bundle, sender_sign_key: keysA.sign_key, sender_school: 'School A' })).status, 422);

	const got = await ok(dslB.req('POST', '/api/v1/transfers', { bundle, sender_sign_key: keysA.sign_key, sender_school: 'School A' }));
	assert.equal(got.pupil.name, 'Alex Mover');
	assert.equal(got.pupil.transferred_from, 'School A');
	assert.equal(got.receipt.bundle_hash, t.bundle_hash);
	const sarB = await ok(dslB.req('GET', `/api/v1/pupils/${got.pupil.id}/export`), 200);
	const inn = sarB.record_entries.find((e) => e.kind === 'transfer-in');
	assert.ok(JSON.stringify(inn.file).includes('Moving school next term.'));

	const forged = { ...got.receipt, received_at: got.receipt.received_at + 1 };
	assert.equal((await dsl.req('POST', `/api/v1/pupils/${p.id}/transfer/receipt`, { receipt: JSON.stringify(forged), recipient_sign_key: keysB.sign_key })).status, 422);
	const rc = await ok(dsl.req('POST', `/api/v1/pupils/${p.id}/transfer/receipt`, { receipt: JSON.stringify(got.receipt), recipient_sign_key: keysB.sign_key }));
	assert.equal(rc.status, 'received');
	const sarA = await ok(dsl.req('GET', `/api/v1/pupils/${p.id}/export`), 200);
	assert.deepEqual(sarA.record_entries.map((e) => e.kind), ['transfer-out', 'receipt']);
	const v = await ok(auditor.req('GET', '/api/v1/audit/verify'), 200);
	assert.equal(v.intact, true, v.detail);
});

test('the urgent list: a yes puts a case on it with the reason, a later no or closing takes it off; DSL team only', async () => {
	const urgentIds = async (c = dsl) => (await ok(c.req('GET', '/api/v1/cases/urgent'), 200)).concerns;
	const c = await ok(staff.req('POST', '/api/v1/concerns', concern(AREAS[0], 700)));
	const other = await ok(staff.req('POST', '/api/v1/concerns', concern(AREAS[1], 701)));
	const base = `/api/v1/concerns/${c.id}`;
	const why = Object.fromEntries((await ok(dsl.req('GET', `${base}/checklist`), 200)).triggers.map((t) => [t.id, t.why]));
	assert.ok(why['adult-involved'] && why['under-13']);

	assert.ok(!(await urgentIds()).some((x) => x.id === c.id), 'not urgent before any answer');
	await ok(dsl.req('POST', `${base}/triggers`, { trigger: 'under-13', answer: 'no' }));
	assert.ok(!(await urgentIds()).some((x) => x.id === c.id), 'a no does not make it urgent');

	await ok(dsl.req('POST', `${base}/triggers`, { trigger: 'adult-involved', answer: 'yes' }));
	await ok(dsl.req('POST', `/api/v1/concerns/${other.id}/triggers`, { trigger: 'immediate-risk', answer: 'yes' }));
	for (const who of [dsl, deputy]) {
		const list = await urgentIds(who);
		const u = list.find((x) => x.id === c.id);
		assert.ok(u, 'urgent after a yes');
		assert.deepEqual(u.urgent_reasons, [why['adult-involved']]);
		assert.equal(u.status, 'new');
		assert.ok(list.some((x) => x.id === other.id));
		for (let i = 1; i < list.length; i++)
			assert.ok(list[i - 1].answered_at >= list[i].answered_at, 'most recent answer first');
	}
	// The list agrees with the case view.
	const view = await ok(dsl.req('GET', `${base}/case`), 200);
	assert.equal(view.urgent, true);
	assert.deepEqual(view.urgent_reasons, (await urgentIds()).find((x) => x.id === c.id).urgent_reasons);

	// A second yes adds its reason; the list holds nothing a person wrote beyond the reasons.
	await ok(dsl.req('POST', `${base}/triggers`, { trigger: 'under-13', answer: 'yes', note: 'year 7 pupil' }));
	const two = (await urgentIds()).find((x) => x.id === c.id);
	assert.deepEqual([...two.urgent_reasons].sort(), [why['adult-involved'], why['under-13']].sort());
	assert.deepEqual(Object.keys(two).sort(), ['answered_at', 'id', 'status', 'urgent_reasons']);

	// Latest answers count: both changed to no, the case leaves the list.
	await ok(dsl.req('POST', `${base}/triggers`, { trigger: 'under-13', answer: 'no' }));
	assert.ok((await urgentIds()).some((x) => x.id === c.id), 'still urgent while one yes stands');
	await ok(dsl.req('POST', `${base}/triggers`, { trigger: 'adult-involved', answer: 'no' }));
	assert.ok(!(await urgentIds()).some((x) => x.id === c.id), 'no longer urgent once every answer is no');
	assert.equal((await ok(dsl.req('GET', `${base}/case`), 200)).urgent, false);

	// A closed case is no longer waiting for anyone.
	const ob = `/api/v1/concerns/${other.id}`;
	await ok(dsl.req('POST', `${ob}/decisions`, { decision: 'refer-police', reason: 'Risk of harm today.' }));
	await ok(dsl.req('POST', `${ob}/close`, { outcome: 'refer-police', reason: 'Referred.' }), 200);
	assert.ok(!(await urgentIds()).some((x) => x.id === other.id), 'closed cases leave the list');

	// Need to know: another school's DSL sees none of School A's cases; the rest are refused.
	await ok(dsl.req('POST', `${base}/triggers`, { trigger: 'adult-involved', answer: 'yes' }));
	assert.ok(!(await urgentIds(dslB)).some((x) => x.id === c.id));
	for (const x of [staff, adminC, auditor])
		assert.equal((await x.req('GET', '/api/v1/cases/urgent')).status, 403);

	// One audited read of the list each time.
	let entries = [], page;
	do {
		page = (await ok(auditor.req('GET', `/api/v1/audit?after=${entries.length ? entries.at(-1).seq : 0}`), 200)).entries;
		entries = entries.concat(page);
	} while (page.length === 500);
	const listed = entries.filter((e) => e.action === 'case.list-urgent');
	// Nine reads of School A's list above (School B's is in School B's log).
	assert.ok(listed.length === 9 && listed.every((e) => e.target === 'cases/urgent'), JSON.stringify([entries.length, listed]));
});
