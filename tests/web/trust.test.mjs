// trust.test.mjs: the trust overview in a real browser against a real wardd.  North Trust has
// School A (an urgent concern from a pupil's own report, one acknowledged) and School B (one
// concern escalated to the deputy DSL by a controllable clock, WARDD_TEST_CLOCK, and one new);
// School C is in another trust.  The trust lead enrols a second factor, signs in with a code,
// lands on the overview, sees both schools' figures and nothing of School C, sorts by mouse and
// keyboard, prints, and passes axe-core; a school's DSL has no trust view.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PW, admin, makeData, startWardd, stopWardd, Client, concernBody } from '../api/helper.mjs';
import { launch, open, axe, shot, see, commonChecks, signIn, signInWithCode, enrolIfAsked, DESKTOP, PHONE } from './lib.mjs';

const clock = path.join(mkdtempSync(path.join(process.env.WARD_API_TMP || '/tmp', 'trustweb-')), 'clock');
writeFileSync(clock, '0\n');
process.env.WARDD_TEST_CLOCK = clock;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let w, dir, browser;
const ids = {};

// Waits until pred(notice of concern id) holds in the DSL's unacknowledged list.
async function noticeOf(dsl, id, pred) {
	for (let i = 0; i < 100; i++) {
		const n = (await dsl.req('GET', '/api/v1/notices')).json.notices.find((x) => x.ref_id === id);
		if (n && pred(n)) return n;
		await sleep(100);
	}
	assert.fail(`the notice of concern ${id} did not reach the stage wanted`);
}

async function concern(client, n) {
	const r = await client.req('POST', '/api/v1/concerns', concernBody(n));
	assert.equal(r.status, 201, r.text);
	return r.json.id;
}

before(async () => {
	dir = makeData(); // School A with every role (a trust lead among them), School B with a DSL
	admin(dir, 'user', 'add', '--school', 'School B', '--username', 'staff-b', '--role', 'staff', '--password', PW);
	admin(dir, 'init', '--school', 'School C', '--username', 'admin-c', '--password', PW);
	admin(dir, 'user', 'add', '--school', 'School C', '--username', 'staff-c', '--role', 'staff', '--password', PW);
	admin(dir, 'trust', 'add', '--name', 'North Trust', '--school', 'School A');
	admin(dir, 'trust', 'add', '--name', 'North Trust', '--school', 'School B');
	admin(dir, 'trust', 'add', '--name', 'South Trust', '--school', 'School C');
	w = await startWardd(dir);
	browser = await launch();
	const staffA = await new Client(w.base).signIn('School A', 'staff');
	const staffB = await new Client(w.base).signIn('School B', 'staff-b');
	const staffC = await new Client(w.base).signIn('School C', 'staff-c');
	const dslA = await new Client(w.base).signIn('School A', 'dsl');
	const dslB = await new Client(w.base).signIn('School B', 'dsl-b');
	ids.a1 = await concern(staffA, 1);
	ids.b1 = await concern(staffB, 2);
	ids.c1 = await concern(staffC, 3);
	assert.equal((await dslA.req('POST', `/api/v1/concerns/${ids.a1}/acknowledge`)).status, 200);
	// B's concern: the DSL told at once, then 16 minutes on, the deputy DSL (an escalation)
	await noticeOf(dslB, ids.b1, (n) => n.stage >= 1);
	writeFileSync(clock, `${16 * 60}\n`);
	await noticeOf(dslB, ids.b1, (n) => n.stage >= 2);
	ids.b2 = await concern(staffB, 4);
	// a pupil of School A says they are not safe now
	const adminA = await new Client(w.base).signIn('School A', 'admin');
	const pg = await adminA.req('PUT', '/api/v1/pupil-page', { enabled: true });
	assert.equal(pg.status, 200, pg.text);
	const anon = new Client(w.base);
	const f = await anon.req('POST', '/api/v1/pupil/form', { code: pg.json.code });
	const pr = await anon.req('POST', '/api/v1/pupil/reports', { code: pg.json.code, form_token: f.json.form_token,
		what_happened: 'Someone online keeps asking me to keep our chats secret.', safe_now: 'no' });
	assert.equal(pr.status, 201, pr.text);
});
after(async () => {
	await browser?.close();
	if (w) await stopWardd(w);
});

// The figures in the row of a school: { Urgent: '1', ... } by column heading.
async function row(page, school) {
	const heads = await page.locator('table.trust-schools thead th').evaluateAll((ths) =>
		ths.map((th) => (th.querySelector('.print-only') || th).textContent.trim()));
	const cells = await page.locator('table.trust-schools tbody tr').filter({ has: page.getByRole('rowheader', { name: school, exact: true }) })
		.locator('th, td').allInnerTexts();
	assert.equal(cells.length, heads.length, `one row for ${school}`);
	return Object.fromEntries(heads.map((hd, i) => [hd, cells[i].trim()]));
}
const order = (page) => page.locator('table.trust-schools tbody th[scope=row]').allInnerTexts();

test('the trust lead lands on the overview: both schools\' figures, urgent first, nothing of another trust', async () => {
	const { ctx, page } = await open(browser, w.base, DESKTOP);
	await signIn(page, 'School A', 'trust-lead', PW);
	assert.ok(await enrolIfAsked(page, w.base, 'School A', 'trust-lead'), 'wardd asks a trust lead to enrol a second factor first');
	await page.getByRole('button', { name: 'Sign out' }).click();
	await page.getByRole('heading', { name: 'Sign in to ward' }).waitFor();
	await signInWithCode(page, w.base, 'School A', 'trust-lead', PW);
	await page.getByRole('heading', { name: 'Trust overview: North Trust' }).waitFor();
	assert.match(page.url(), /#\/trust$/, 'the overview is the lead\'s home');
	assert.equal(await page.getByRole('link', { name: 'Trust overview' }).getAttribute('aria-current'), 'page');
	await see(page, '1 urgent concern open');
	await see(page, '1 escalation overdue');
	await see(page, '3 concerns not yet acknowledged');

	const a = await row(page, 'School A'), b = await row(page, 'School B');
	assert.equal(a.Urgent, '1');
	assert.equal(a['Escalations overdue'], '0');
	assert.equal(a['Not acknowledged'], '1', 'the pupil\'s; the staff concern was acknowledged');
	assert.match(a.Open, /^2\b/);
	assert.match(a['Oldest unacknowledged'], /minute/);
	assert.match(a['Open concerns by area'], /Grooming online for abuse off-line: 1/);
	assert.equal(b.Urgent, '0');
	assert.equal(b['Escalations overdue'], '1');
	assert.equal(b['Not acknowledged'], '2');
	assert.match(b.Open, /^2\b/);
	assert.match(b['Open concerns by area'], /Grooming online for abuse off-line: 2/);
	assert.match(b['Open concerns by area'], /Images of young people shared by peers: 2/);
	assert.deepEqual(await order(page), ['School A', 'School B'], 'the urgent school first');

	// waiting list: School B's escalated concern says who has been told
	const waiting = page.locator('#waiting-h ~ div table tbody tr');
	assert.equal(await waiting.count(), 3);
	assert.match(await waiting.first().innerText(), /School A[\s\S]*Urgent/, 'the urgent one first');
	assert.match(await waiting.filter({ hasText: String(ids.b1) }).innerText(), /The deputy DSL/);

	const main = await page.locator('main').innerText();
	assert.doesNotMatch(main, /School C|South Trust/, 'another trust\'s school is not there');
	assert.ok(!main.includes(String(ids.c1)), 'nor its concern');
	assert.doesNotMatch(main, /Pupil \d|private app|keep our chats secret/, 'no child, no account');
	await axe(page, 'trust overview');
	await shot(page, '40-trust-overview');
	await commonChecks(page);
	await ctx.close();
});

test('the overview sorts by mouse and keyboard, says how, prints, and fits a phone', async () => {
	const { ctx, page } = await open(browser, w.base, DESKTOP);
	await signInWithCode(page, w.base, 'School A', 'trust-lead', PW);
	await page.getByRole('heading', { name: 'Trust overview: North Trust' }).waitFor();
	const esc = page.getByRole('button', { name: /^Escalations overdue/ });
	await esc.click();
	assert.deepEqual(await order(page), ['School B', 'School A'], 'most escalations first');
	assert.equal(await page.locator('th[aria-sort]').getAttribute('aria-sort'), 'descending');
	assert.match(await page.locator('table.trust-schools caption').innerText(), /escalations overdue \(descending\)/);
	// the same heading by keyboard reverses the order, and focus stays on it
	assert.equal(await page.evaluate(() => document.activeElement?.dataset.key), 'escalated');
	await page.keyboard.press('Enter');
	assert.deepEqual(await order(page), ['School A', 'School B']);
	assert.equal(await page.locator('th[aria-sort]').getAttribute('aria-sort'), 'ascending');
	assert.equal(await page.evaluate(() => document.activeElement?.dataset.key), 'escalated');
	// Tab to the next heading and sort by name, descending then ascending
	await page.keyboard.press('Tab');
	await page.keyboard.press('Tab');
	await page.keyboard.press('Tab');
	assert.equal(await page.evaluate(() => document.activeElement?.dataset.key), 'open');
	await page.getByRole('button', { name: /^School/ }).focus();
	await page.keyboard.press('Enter');
	assert.deepEqual(await order(page), ['School A', 'School B']);
	await page.keyboard.press(' ');
	assert.deepEqual(await order(page), ['School B', 'School A']);
	// the longest wait first: School B's escalated concern came before the pupil's report
	await page.getByRole('button', { name: /^Oldest unacknowledged/ }).click();
	assert.deepEqual(await order(page), ['School B', 'School A']);
	assert.equal(await page.locator('th[aria-sort]').getAttribute('aria-sort'), 'descending');
	await axe(page, 'trust overview sorted');
	await page.getByRole('button', { name: 'Most urgent first' }).click();
	assert.deepEqual(await order(page), ['School A', 'School B']);
	assert.equal(await page.getByRole('button', { name: 'Most urgent first' }).getAttribute('aria-pressed'), 'true');
	assert.equal(await page.locator('th[aria-sort]').count(), 0);

	// printed: no buttons or navigation, the headings as plain words
	await page.emulateMedia({ media: 'print' });
	assert.equal(await esc.isVisible(), false, 'no sort buttons on paper');
	assert.equal(await page.locator('nav#nav').isVisible(), false);
	assert.equal(await page.locator('table.trust-schools thead .print-only', { hasText: 'Escalations overdue' }).isVisible(), true);
	assert.equal(await page.locator('table.trust-schools').getByRole('rowheader', { name: 'School B', exact: true }).isVisible(), true);
	await shot(page, '41-trust-overview-print');
	await page.emulateMedia({ media: 'screen' });

	await page.setViewportSize(PHONE);
	await page.getByRole('button', { name: 'Refresh' }).click();
	await page.getByRole('heading', { name: 'Trust overview: North Trust' }).waitFor();
	const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
	assert.ok(overflow <= 0, `the page does not scroll sideways on a phone (${overflow}px); the table scrolls in its box`);
	// the refresh redraws the table: wait for the new one to be laid out (slow under the sanitizers)
	const scrolls = await page.waitForFunction(() => {
		const t = document.querySelector('table.trust-schools');
		return t !== null && t.parentElement.scrollWidth > t.parentElement.clientWidth;
	}, null, { timeout: 10000 }).then(() => true, () => false);
	assert.ok(scrolls, 'the table scrolls in its box');
	await axe(page, 'trust overview on a phone');
	await shot(page, '42-trust-overview-phone');
	await commonChecks(page);
	await ctx.close();
});

test('a school\'s DSL has no trust view, and a school outside any trust reads as alone', async () => {
	const { ctx, page } = await open(browser, w.base, DESKTOP);
	await signInWithCode(page, w.base, 'School A', 'dsl', PW); // enrolled through the API above
	await page.getByRole('link', { name: 'Dashboard' }).waitFor();
	assert.equal(await page.getByRole('link', { name: 'Trust overview' }).count(), 0, 'no link for a DSL');
	await page.goto('/#/trust');
	await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
	assert.doesNotMatch(page.url(), /#\/trust/, 'the trust page sends a DSL home');
	assert.equal(await page.getByText('North Trust').count(), 0);
	await commonChecks(page);
	await ctx.close();
	// a lead whose school leaves every trust sees their own school and says so
	admin(dir, 'init', '--school', 'School D', '--username', 'admin-d', '--password', PW);
	admin(dir, 'user', 'add', '--school', 'School D', '--username', 'lead-d', '--role', 'trust-lead', '--password', PW);
	const lead = await open(browser, w.base, DESKTOP);
	await signIn(lead.page, 'School D', 'lead-d', PW);
	await enrolIfAsked(lead.page, w.base, 'School D', 'lead-d');
	await lead.page.getByRole('link', { name: 'Trust overview' }).click();
	await lead.page.getByRole('heading', { name: 'Trust overview', exact: true }).waitFor();
	await see(lead.page, 'Your school is not in a trust yet');
	await see(lead.page, 'Every concern in the trust has been acknowledged by its school.');
	assert.equal((await row(lead.page, 'School D'))['Open concerns by area'], 'None open');
	assert.equal((await row(lead.page, 'School D'))['Oldest unacknowledged'], 'None waiting');
	await axe(lead.page, 'trust overview, no trust');
	await commonChecks(lead.page);
	await lead.ctx.close();
});
