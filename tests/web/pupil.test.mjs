// pupil.test.mjs: the pupil page in a real browser.  The admin turns the page on; a child on a
// 360 px phone opens the school's link, says they are not safe (999 and Childline appear at once),
// sends a worry without their name and sees a kind confirmation; a wrong link says the page is
// not open; the DSL signs in and finds the report, marked urgent, on the dashboard and its case
// page.  axe-core on every state; no CSP violation, script error or request to another host.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PW, makeData, startWardd, stopWardd, Client } from '../api/helper.mjs';
import { launch, open, axe, shot, see, commonChecks, signIn, signInWithCode, enrolIfAsked, PHONE, DESKTOP } from './lib.mjs';

let w, browser, code;
const WORDS = 'Pupil page test: a person in a game chat keeps asking me to keep our talks secret and to move to a private app.';

before(async () => {
	w = await startWardd(makeData());
	browser = await launch();
	// The admin account enrolled its second factor through the API helper; the page below signs
	// in with a code from the same record.
	await new Client(w.base).signIn('School A', 'admin');
});
after(async () => {
	await browser?.close();
	if (w) await stopWardd(w);
});

test('the admin turns the pupil page on, reads its link and makes a new one', async () => {
	const { ctx, page } = await open(browser, w.base, DESKTOP);
	await signInWithCode(page, w.base, 'School A', 'admin', PW);
	await page.getByRole('link', { name: 'Pupil page' }).click();
	await page.getByRole('heading', { name: 'Pupil page' }).waitFor();
	await see(page, 'The pupil page is off.');
	await axe(page, 'pupil page settings, off');
	await page.getByRole('button', { name: 'Turn the pupil page on' }).click();
	await see(page, 'The pupil page is now on.');
	const first = await page.locator('code[data-link]').getAttribute('data-link');
	assert.match(first, /\/pupil\.html#code=[A-Za-z0-9_-]{16,}$/);
	page.once('dialog', (dl) => dl.accept());
	await page.getByRole('button', { name: 'Make a new link' }).click();
	await see(page, 'A new link is made; the old one no longer works.');
	const link = await page.locator('code[data-link]').getAttribute('data-link');
	assert.notEqual(link, first);
	code = link.split('#code=')[1];
	await axe(page, 'pupil page settings, on');
	await shot(page, '19-pupil-page-admin');
	await commonChecks(page);
	await ctx.close();
	// The old link's code no longer opens the form; the new one does.
	const form = (c) => fetch(`${w.base}/api/v1/pupil/form`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: c }) });
	assert.equal((await form(first.split('#code=')[1])).status, 404);
	assert.equal((await form(code)).status, 200);
});

test('pupil page: served with the strict CSP, no inline code', async () => {
	const r = await fetch(`${w.base}/pupil.html`);
	assert.equal(r.status, 200);
	assert.match(r.headers.get('content-security-policy'), /script-src 'self';/);
	assert.doesNotMatch(r.headers.get('content-security-policy'), /unsafe-inline/);
	const html = await r.text();
	assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/);
	assert.doesNotMatch(html, /type=['"]?file/);
});

test('a wrong link says the page is not open', async () => {
	const { ctx, page } = await open(browser, w.base, PHONE);
	await page.goto('/pupil.html#code=NotTheRightCodeAtAll');
	await see(page, 'This page is not open.');
	await axe(page, 'pupil page not open');
	assert.equal(await page.locator('form').count(), 0);
	await commonChecks(page);
	await ctx.close();
});

test('a child on a phone sends a worry anonymously, not safe now; the DSL sees it, urgent', async () => {
	const { ctx, page } = await open(browser, w.base, PHONE);
	await page.goto(`/pupil.html#code=${code}`);
	await see(page, 'This goes to School A.');
	await axe(page, 'pupil page');
	await shot(page, '20-pupil-page');
	assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 360), 'fits 360 px');
	// the help is there before anything is typed; 999 and Childline come forward when not safe
	await see(page, 'In danger right now? Call');
	assert.equal(await page.locator('.urgent').count(), 0);
	await page.getByRole('button', { name: 'Send my message' }).click();
	await see(page, 'Please write something in the box first.');
	await page.getByLabel('What has happened, or what is worrying you?').fill(WORDS);
	await page.getByLabel('No', { exact: true }).check();
	await page.locator('.urgent').waitFor();
	assert.match(await page.locator('.urgent').textContent(), /999[\s\S]*0800 1111/);
	await page.getByLabel(/Your year group/).selectOption('Year 6');
	await axe(page, 'pupil page, not safe');
	await page.getByRole('button', { name: 'Send my message' }).click();
	await page.getByRole('heading', { name: 'Thank you for telling us' }).waitFor();
	await see(page, 'it is not your fault');
	assert.match(await page.locator('main').textContent(), /0800 1111/);
	assert.match(await page.locator('.urgent').textContent(), /999/);
	const shown = await page.locator('main').textContent();
	assert.doesNotMatch(shown, /DSL|concern|reference|notice|audit/i, 'nothing about what happens inside');
	assert.ok(await page.evaluate(() => localStorage.length === 0 && sessionStorage.length === 0), 'nothing kept on the device');
	assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 360), 'fits 360 px');
	await axe(page, 'pupil page, sent');
	await shot(page, '21-pupil-sent');
	await commonChecks(page);
	await ctx.close();

	// The DSL finds it on the dashboard and opens it.
	const d = await open(browser, w.base, DESKTOP);
	await signIn(d.page, 'School A', 'dsl', PW);
	await enrolIfAsked(d.page, w.base, 'School A', 'dsl');
	await d.page.getByRole('link', { name: 'Dashboard' }).click();
	await d.page.getByRole('heading', { name: 'Dashboard' }).waitFor();
	await see(d.page, '1 new concern not yet acknowledged.');
	const first = d.page.locator('#open-h + ul > li').first();
	assert.match(await first.textContent(), /A pupil \(anonymous\)/);
	await first.getByRole('link', { name: 'A pupil (anonymous)' }).click();
	await d.page.getByRole('heading', { name: 'Concern about A pupil (anonymous)' }).waitFor();
	await see(d.page, 'URGENT: the pupil said they are NOT safe right now.');
	await see(d.page, WORDS);
	assert.match(await d.page.locator('main').textContent(), /\(pupil\)/);
	await axe(d.page, 'case from the pupil page');
	await shot(d.page, '22-pupil-case');
	await commonChecks(d.page);
	await d.ctx.close();
});
