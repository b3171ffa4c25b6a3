// lib.mjs: what the browser tests share: wardd (through the API suite's helper), Debian's
// chromium through playwright-core, axe-core, screenshots, and TOTP codes for enrolment.
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { account, nextCode } from '../api/helper.mjs';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const ARTEFACTS = process.env.WARD_ARTEFACTS;
export const PHONE = { width: 360, height: 740 };
export const DESKTOP = { width: 1280, height: 900 };

export async function launch() {
	return chromium.launch({ executablePath: process.env.WARD_CHROMIUM, headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'] });
}

// A fresh browser context (its own cookies and storage) whose page records CSP violations and
// script errors; none may happen.
export async function open(browser, base, viewport = DESKTOP) {
	const ctx = await browser.newContext({ viewport, locale: 'en-GB', timezoneId: 'Europe/London', baseURL: base });
	const page = await ctx.newPage();
	page.setDefaultTimeout(10000);
	page.problems = [];
	page.on('console', (m) => { if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) page.problems.push(m.text()); });
	page.on('pageerror', (e) => page.problems.push(`script error: ${e.message}`));
	page.on('request', (r) => { if (!r.url().startsWith(base) && !r.url().startsWith('data:')) page.problems.push(`request to another host: ${r.url()}`); });
	return { ctx, page };
}

// axe-core through the DevTools protocol (page.evaluate), so the page's own CSP stays strict.
export async function axe(page, name) {
	await page.evaluate(AXE);
	const res = await page.evaluate(() => globalThis.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } }));
	const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
	assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')})`), [], `axe on ${name}`);
	return res;
}

// The whole page, through the DevTools protocol: playwright's fullPage screenshot leaves this
// chromium's layout viewport changed, and later clicks land in the wrong place.
export async function shot(page, name) {
	mkdirSync(ARTEFACTS, { recursive: true });
	const cdp = await page.context().newCDPSession(page);
	try {
		const { cssContentSize: s } = await cdp.send('Page.getLayoutMetrics');
		const { data } = await cdp.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true,
			clip: { x: 0, y: 0, width: Math.ceil(s.width), height: Math.ceil(s.height), scale: 1 } });
		writeFileSync(path.join(ARTEFACTS, `${name}.png`), Buffer.from(data, 'base64'));
	} finally {
		await cdp.detach();
	}
}

// Every page links CEOP and Thinkuknow, and nothing offers an upload.
export async function commonChecks(page) {
	assert.equal(await page.locator('a[href="https://www.ceop.police.uk/Safety-Centre/"]').count() >= 1, true, 'CEOP link');
	assert.equal(await page.locator('a[href="https://www.thinkuknow.co.uk/"]').count() >= 1, true, 'Thinkuknow link');
	assert.equal(await page.locator('input[type=file]').count(), 0, 'no upload anywhere');
	assert.deepEqual(page.problems, []);
}

export async function signIn(page, school, username, password) {
	await page.goto('/');
	await page.getByLabel('School').fill(school);
	await page.getByLabel('Username').fill(username);
	await page.getByLabel('Password').fill(password);
	await page.getByRole('button', { name: 'Sign in' }).click();
}

// When wardd asks this account to enrol a second factor first, enrols it through the page (the
// QR page's key, a code computed here) and returns the secret; otherwise null.  Codes come from
// the API helper's per-account record, so no code is sent twice.
export async function enrolIfAsked(page, base, school, username) {
	await page.waitForFunction(() => { const t = document.querySelector('h1')?.textContent; return t && t !== 'Sign in to ward'; });
	if ((await page.locator('h1').textContent()) !== 'Two-step sign-in') return null;
	await page.getByRole('button', { name: /Set up an authenticator app/ }).click();
	await page.locator('.qr img').waitFor();
	const acct = account(base, school, username);
	acct.pending = await page.locator('code.secret').getAttribute('data-secret');
	await page.getByLabel(/six-digit code/).fill(await nextCode(acct, true));
	await page.getByRole('button', { name: 'Confirm' }).click();
	await see(page, 'Two-step sign-in is set up.');
	acct.secret = acct.pending;
	acct.pending = null;
	return acct.secret;
}

// Waits for text on the page; on timeout the error carries what the page showed instead.
export async function see(page, text) {
	try {
		await page.getByText(text).first().waitFor();
	} catch (e) {
		const shown = await page.locator('main').innerText().catch(() => '(no main)');
		throw new Error(`${e.message.split('\n')[0]}\nthe page showed:\n${shown.length > 3000 ? `${shown.slice(0, 800)}\n...\n${shown.slice(-1500)}` : shown}\nproblems: ${page.problems.join('; ')}`);
	}
}

// Signs in an account that has a second factor: the page asks for the code, this sends one.
export async function signInWithCode(page, base, school, username, password) {
	await signIn(page, school, username, password);
	const code = page.getByLabel('Code from your authenticator app');
	await code.waitFor();
	await code.fill(await nextCode(account(base, school, username)));
	await page.getByRole('button', { name: 'Sign in' }).click();
}

// Opens the form in the <details> whose summary is `title` and returns it.
export async function openForm(scope, title) {
	const d = scope.locator(`details:has(> summary:has-text("${title}"))`).last();
	await d.locator('summary').first().click();
	return d;
}
