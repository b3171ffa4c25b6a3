// web.test.mjs: the web interface in a real browser against a real wardd.  A staff member
// reports from a 360 px phone (losing the connection on the way); the DSL enrols a second
// factor, sees the concern first on the dashboard, decides two detection alerts, acknowledges
// the concern and works the case to closure (questions, checklist, chronology, decision,
// referral, device custody); an admin enrols an authenticator app from the QR page, adds an
// account and sets escalation; the auditor sees the chain intact.  axe-core runs
// on every page; no CSP violation, script error or request to another host is allowed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { BUILD, PW, admin, makeData, startWardd, stopWardd, Client } from '../api/helper.mjs';
import { launch, open, axe, shot, see, openForm, commonChecks, signIn, signInWithCode, enrolIfAsked, PHONE, DESKTOP } from './lib.mjs';

let w, dir, browser;
const ACCOUNT = 'During a lesson the pupil said an adult they met in an online game asked them to keep their chats secret and to move to a private app.';

before(async () => {
	dir = makeData();
	w = await startWardd(dir);
	browser = await launch();
});
after(async () => {
	await browser?.close();
	if (w) await stopWardd(w);
});

test('wardd serves the pages with a strict CSP, cache validators and no inline code', async () => {
	const r = await fetch(`${w.base}/`);
	assert.equal(r.status, 200);
	assert.match(r.headers.get('content-type'), /^text\/html/);
	const csp = r.headers.get('content-security-policy');
	assert.match(csp, /script-src 'self';/);
	assert.match(csp, /style-src 'self';/);
	assert.match(csp, /frame-ancestors 'none'/);
	assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
	assert.equal(r.headers.get('cache-control'), 'no-cache');
	const etag = r.headers.get('etag');
	assert.match(etag, /^"[0-9a-f]{32}"$/);
	const again = await fetch(`${w.base}/`, { headers: { 'if-none-match': etag } });
	assert.equal(again.status, 304);
	const api = await fetch(`${w.base}/api/v1/session`);
	assert.equal(api.headers.get('content-security-policy'), "default-src 'none'");
	assert.equal(api.headers.get('cache-control'), 'no-store');
	assert.equal((await fetch(`${w.base}/static/nothing.js`)).status, 404);
	// Links in wardd's emails (/concerns/{id}) open the page in a browser; API clients still
	// get problem+json for a path that is not a route.
	const html = { accept: 'text/html,application/xhtml+xml' };
	const deep = await fetch(`${w.base}/concerns/123456`, { headers: html });
	assert.equal(deep.status, 200);
	assert.equal(deep.headers.get('etag'), etag);
	assert.match(deep.headers.get('content-security-policy'), /script-src 'self'/);
	for (const [p, h] of [['/concerns/123456', {}], ['/concerns/12x', html], ['/concerns/', html], ['/other/1', html]]) {
		const r = await fetch(`${w.base}${p}`, { headers: h });
		assert.equal(r.status, 404, p);
		assert.match(r.headers.get('content-type'), /problem\+json/);
	}
	assert.equal((await fetch(`${w.base}/static/../index.html`)).status, 404);
	// What the browser is served: scripts only from files, no style attributes, no other hosts.
	const webDir = path.join(BUILD, 'web');
	for (const f of readdirSync(webDir).filter((f) => /\.(html|js|css)$/.test(f))) {
		const text = readFileSync(path.join(webDir, f), 'utf8');
		if (f.endsWith('.html')) {
			assert.doesNotMatch(text, /<script(?![^>]*\ssrc=)[^>]*>/, `${f}: inline script`);
			assert.doesNotMatch(text, /\sstyle=|<style|\son[a-z]+=/i, `${f}: inline style or handler`);
		}
		assert.doesNotMatch(text, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/, `${f}: markup from strings`);
		assert.doesNotMatch(text, /type=['"]?file|type: 'file'/, `${f}: an upload field`);
		for (const m of text.matchAll(/(?:src|href)=?\s*[:=]?\s*['"](https?:\/\/[^'"]+)/g))
			assert.match(m[1], /^https:\/\/www\.(ceop\.police\.uk|thinkuknow\.co\.uk)\//, `${f}: link to ${m[1]}`);
	}
	const areas = await (await fetch(`${w.base}/static/areas.json`)).json();
	assert.equal(areas.length, 9);
	const guide = await (await fetch(`${w.base}/static/guide.json`)).json();
	assert.ok(guide.checklist.some((i) => i.kind === 'dont'));
});

test('sign-in page: a wrong password is refused in words, and the page is accessible', async () => {
	const { ctx, page } = await open(browser, w.base, PHONE);
	await page.goto('/');
	await page.getByRole('heading', { name: 'Sign in to ward' }).waitFor();
	await axe(page, 'sign-in');
	await shot(page, '01-sign-in-phone');
	await signIn(page, 'School A', 'staff', 'not the password at all');
	await page.getByRole('alert').filter({ hasText: 'Sign-in refused' }).waitFor();
	await commonChecks(page);
	await ctx.close();
});

test('staff report from a 360 px phone: don\'ts shown at once, draft survives a lost connection', async () => {
	const { ctx, page } = await open(browser, w.base, PHONE);
	await signIn(page, 'School A', 'staff', PW);
	await page.getByRole('heading', { name: 'Report a concern' }).waitFor();
	await axe(page, 'report (empty)');
	assert.equal(await page.locator('input[name=area]').count(), 9);
	// No advice until an area is chosen; then the don'ts straight away.
	assert.equal(await page.getByRole('heading', { name: 'Do not' }).count(), 0);
	await page.getByLabel(/Grooming/i).check();
	await page.getByRole('heading', { name: 'Do not' }).waitFor();
	const donts = await page.locator('.donts li').allTextContents();
	assert.ok(donts.some((t) => /do not look through the device/i.test(t)), donts.join(' | '));
	await page.getByLabel('Full name').fill('Alex Example');
	await page.getByLabel('Date of birth').fill('2014-05-06');
	await page.getByLabel('Year group or class (if known)').fill('7');
	await page.getByLabel('What happened').fill(ACCOUNT);
	// The page fits the phone: no sideways scrolling.
	assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'fits 360 px');
	await axe(page, 'report (filled)');
	await shot(page, '02-report-phone');

	// The connection drops as they send: nothing is lost.
	await ctx.setOffline(true);
	await page.getByRole('button', { name: 'Send to the DSL now' }).click();
	await see(page, 'Not sent: the connection was lost.');
	await shot(page, '03-report-offline-phone');
	await ctx.setOffline(false);
	await page.reload();
	await see(page, /A draft from .* has been restored/);
	assert.equal(await page.getByLabel('Full name').inputValue(), 'Alex Example');
	assert.equal(await page.getByLabel('What happened').inputValue(), ACCOUNT);
	assert.ok(await page.getByLabel(/Grooming/i).isChecked());
	await page.getByRole('heading', { name: 'Do not' }).waitFor();
	// Signed out meanwhile (the session timed out): still nothing lost.
	await ctx.clearCookies();
	await page.getByRole('button', { name: 'Send to the DSL now' }).click();
	await see(page, 'Not sent: you have been signed out.');
	await page.getByRole('button', { name: 'Sign in again' }).click();
	await page.getByLabel('Username').fill('staff');
	await page.getByLabel('Password').fill(PW);
	await page.getByRole('button', { name: 'Sign in' }).click();
	await see(page, /A draft from .* has been restored/);
	assert.equal(await page.getByLabel('What happened').inputValue(), ACCOUNT);
	const t0 = Date.now();
	await page.getByRole('button', { name: 'Send to the DSL now' }).click();
	await page.getByRole('heading', { name: 'Concern sent to the DSL' }).waitFor();
	assert.ok(Date.now() - t0 < 5000);
	assert.equal(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('ward.draft.')).length), 0, 'draft cleared once sent');
	await page.getByRole('heading', { name: 'Do not' }).waitFor();
	await axe(page, 'report sent');
	await shot(page, '04-report-sent-phone');

	await page.getByRole('link', { name: 'See my concerns' }).click();
	await page.getByRole('heading', { name: 'My concerns' }).waitFor();
	await page.getByRole('link', { name: 'Alex Example' }).waitFor();
	await axe(page, 'my concerns');
	// The reporter confirms their own part of the checklist.
	await page.getByRole('link', { name: 'Alex Example' }).click();
	await page.getByRole('heading', { name: 'Your part of the checklist' }).waitFor();
	const items = page.locator('#cl-h ~ ul > li');
	assert.ok(await items.count() >= 3);
	assert.equal(await page.locator('#cl-h ~ ul > li', { hasText: '(the DSL)' }).count(), 0, 'staff see only their own items');
	await items.first().getByRole('button', { name: /^Confirm done/ }).click();
	await see(page, /Done: confirmed by staff/);
	assert.match(await items.first().textContent(), /Done: confirmed by staff/);
	assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'fits 360 px');
	await axe(page, 'staff case');
	await shot(page, '04b-staff-case-phone');
	await commonChecks(page);
	await ctx.close();

	// What reached wardd is exactly what was typed.
	const staff = await new Client(w.base).signIn('School A', 'staff');
	const list = (await staff.req('GET', '/api/v1/concerns')).json.concerns;
	assert.equal(list.length, 1);
	assert.deepEqual(list[0].areas, ['grooming']);
	assert.equal(list[0].account, ACCOUNT);
	assert.equal(list[0].children[0].date_of_birth, '2014-05-06');
	assert.equal(list[0].source, 'staff');
});

test('the DSL enrols two-step sign-in, sees the concern first, decides alerts, works the case to closure', async () => {
	// A detector's alerts arrive through a service token.
	const out = admin(w.dir, 'token', 'add', '--school', 'School A', '--name', 'proxy');
	const token = out.match(/[A-Za-z0-9_-]{32,}/)[0];
	for (const [k, rule] of [['a', 'grooming.secrecy'], ['b', 'grooming.private-app']]) {
		const r = await fetch(`${w.base}/api/v1/alerts`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
			body: JSON.stringify({ area: 'grooming', rule, severity: 'high', source: 'icap', subject: '10.0.0.5', time: new Date().toISOString().slice(0, 19) + 'Z',
				excerpt: 'an adult asked the pupil to keep their chats secret', start: 0, end: 10, dedup_key: `web-${k}`, url: 'http://www.example.test/forum' }) });
		assert.equal(r.status, 201, await r.text());
	}

	const { ctx, page } = await open(browser, w.base, DESKTOP);
	await signIn(page, 'School A', 'dsl', PW);
	const secret = await enrolIfAsked(page, w.base, 'School A', 'dsl');
	assert.ok(secret, 'wardd asks a DSL to enrol a second factor first');
	await page.getByRole('link', { name: 'Dashboard' }).click();
	await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
	await see(page, '1 new concern not yet acknowledged.');
	const first = page.locator('#open-h + ul > li').first();
	assert.match(await first.textContent(), /Alex Example/);
	assert.match(await first.textContent(), /New: not yet acknowledged/);
	await page.getByRole('heading', { name: 'Detection alerts waiting for a decision (2)' }).waitFor();
	assert.ok(await page.locator('#chart-concerns ~ svg rect, figure.chart svg rect').count() >= 1, 'chart drawn');
	assert.equal(await page.locator('figure.chart').count(), 2, 'concerns and alerts charts');
	await axe(page, 'dashboard');
	await shot(page, '05-dashboard');

	// Alerts: one dismissed with its reason, one promoted to a concern.
	const alerts = page.locator('#alerts-h ~ ul > li');
	await alerts.nth(1).getByRole('button', { name: /^Dismiss/ }).click();
	await see(page, 'Give a reason before dismissing an alert.');
	await alerts.nth(1).getByLabel('Or dismiss it, with the reason').fill('A pupil researching online safety for a lesson.');
	await alerts.nth(1).getByRole('button', { name: /^Dismiss/ }).click();
	await see(page, 'Dismissed, with your reason recorded.');
	await alerts.first().getByRole('button', { name: /^Promote to a concern/ }).click();
	await see(page, 'Promoted to a concern.');

	await first.getByRole('button', { name: 'Acknowledge' }).click();
	await see(page, 'Acknowledged: Alex Example.');
	await first.getByRole('link', { name: 'Alex Example' }).click();
	await page.getByRole('heading', { name: 'Concern about Alex Example' }).waitFor();
	await see(page, ACCOUNT);
	await axe(page, 'case');
	await shot(page, '06-case');

	// The urgent-referral questions: a yes puts the case first on the dashboard, above the
	// unacknowledged concern just promoted from an alert, with the Urgent tag and the reason.
	let q = page.locator('#tr-h ~ ul > li').first();
	await q.getByLabel('Yes').check();
	await q.getByRole('button', { name: /^Save answer/ }).click();
	await see(page, /Answer recorded: .* Yes\./);
	const why = (await page.locator('#tr-h ~ .notice.error').textContent()).replace(/^Urgent: refer now\.\s*/, '').trim();
	assert.ok(why.length > 10, why);
	await page.getByRole('link', { name: 'Dashboard' }).click();
	await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
	await see(page, '1 urgent case:');
	await see(page, '1 new concern not yet acknowledged.');
	const top = page.locator('#open-h + ul > li').first();
	assert.match(await top.textContent(), /Alex Example/);
	assert.equal(await top.locator('.tag.urgent', { hasText: /^Urgent$/ }).count(), 1, 'the Urgent tag');
	assert.ok((await top.locator('.why-urgent').textContent()).includes(why), 'the reason beside it');
	assert.equal(await page.locator('#open-h + ul > li .tag.urgent', { hasText: /^Urgent$/ }).count(), 1, 'only that case is urgent');
	assert.match(await page.locator('#open-h + ul > li').nth(1).textContent(), /New: not yet acknowledged/, 'then the unacknowledged');
	await axe(page, 'dashboard (urgent)');
	await shot(page, '06b-dashboard-urgent');
	await top.getByRole('link', { name: 'Alex Example' }).click();
	await page.getByRole('heading', { name: 'Concern about Alex Example' }).waitFor();

	// Answered no after all (the latest answer counts), then the checklist and the chronology.
	q = page.locator('#tr-h ~ ul > li').first();
	await q.getByLabel('No').check();
	await q.getByRole('button', { name: /^Save answer/ }).click();
	await see(page, /Answer recorded: .* No\./);
	assert.equal(await page.locator('.facts .tag.urgent').count(), 0, 'no longer urgent');
	// The reporter's confirmation shows; the DSL confirms the next open item.
	assert.match(await page.locator('#cl-h ~ ul > li').first().textContent(), /Done: confirmed by staff/);
	const open1 = page.locator('#cl-h ~ ul > li').filter({ has: page.getByRole('button', { name: /^Confirm done/ }) }).first();
	const itemText = await open1.locator('p.item').textContent();
	await open1.getByRole('button', { name: /^Confirm done/ }).click();
	await see(page, 'Checklist updated.');
	assert.match(await page.locator('#cl-h ~ ul > li', { hasText: itemText }).textContent(), /Done: confirmed by dsl/);
	let f = await openForm(page, 'Add to the chronology');
	await f.getByLabel('What', { exact: true }).selectOption('action');
	await f.getByLabel('With whom').fill('the class teacher');
	await f.getByLabel('What happened').fill('Spoke with the class teacher about the pupil\u2019s account.');
	await f.getByRole('button', { name: 'Add' }).click();
	await see(page, 'Added to the chronology.');

	// Closing is refused until a decision is recorded.
	f = await openForm(page, 'Close with an outcome');
	await f.getByLabel('Outcome').selectOption('refer-police');
	await f.getByLabel('Reason').fill('Referred to the police.');
	await f.getByRole('button', { name: 'Close the case' }).click();
	await see(page, /no decision with its reason is recorded/);

	f = await openForm(page, 'Record a decision');
	await f.getByLabel('Decision').selectOption('refer-police');
	await f.getByLabel('Reason').fill('An adult asked the pupil for secrecy and to move to a private app: a crime may have happened.');
	await f.getByRole('button', { name: 'Record the decision' }).click();
	await see(page, 'Decision recorded.');
	f = await openForm(page, 'Record a referral');
	await f.getByLabel('Referred to').selectOption('police');
	await f.getByLabel(/^Their reference/).fill('REF-1234');
	await f.getByRole('button', { name: 'Record the referral' }).click();
	await see(page, 'Referral recorded.');

	// Device custody: taken, then handed to the police; never opened.
	f = await openForm(page, 'Record a device taken from a child');
	await f.getByLabel('Device (make, colour, case)').fill('Phone, black, blue case');
	await f.getByLabel('Whose it is').fill('Alex Example');
	await f.getByLabel('Taken by').fill('dsl');
	await f.getByLabel('Switched off?').selectOption('yes');
	await f.getByLabel('Evidence bag number').fill('BAG-0042');
	await f.getByLabel('Where it is stored').fill('The DSL\u2019s locked cabinet');
	await f.getByLabel('Who confirms nobody looked through it').fill('dsl');
	await f.getByRole('button', { name: 'Record the device' }).click();
	await see(page, 'Device recorded.');
	await see(page, 'Held in school');
	f = await openForm(page, 'Record a hand-over');
	await f.getByLabel('What happened to it').selectOption('police');
	await f.getByLabel('To whom').fill('PC Example');
	await f.getByLabel(/^Police reference/).fill('POL-77');
	await f.getByRole('button', { name: 'Record the hand-over' }).click();
	await see(page, 'Hand-over recorded.');
	await see(page, 'Accounted for');
	await shot(page, '07-case-worked');

	f = await openForm(page, 'Close with an outcome');
	await f.getByLabel('Outcome').selectOption('refer-police');
	await f.getByLabel('Reason').fill('Referred to the police; device handed over.');
	await f.getByRole('button', { name: 'Close the case' }).click();
	await see(page, 'The case is closed.');
	assert.match(await page.locator('.facts').first().textContent(), /Closed/);
	assert.equal(await page.locator('details', { hasText: 'Record a decision' }).count(), 0, 'no changes offered once closed');
	await axe(page, 'case (closed)');
	// The link in the DSL's email opens this case.
	const ref = await page.locator('.facts dt:has-text("Reference") + dd').textContent();
	await page.goto(`/concerns/${ref}`);
	await page.getByRole('heading', { name: 'Concern about Alex Example' }).waitFor();
	assert.equal(new URL(page.url()).hash, `#/case/${ref}`);
	await page.setViewportSize(PHONE);
	assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'case page fits 360 px');
	await page.setViewportSize(DESKTOP);
	await page.emulateMedia({ media: 'print' });
	await shot(page, '08-case-print');
	await page.emulateMedia({ media: 'screen' });
	const summary = await page.getByRole('link', { name: /Printable referral summary/ }).getAttribute('href');
	const sr = await page.evaluate(async (u) => { const r = await fetch(u); return { status: r.status, text: await r.text() }; }, summary);
	assert.equal(sr.status, 200);
	assert.match(sr.text, /REF-1234|BAG-0042/);

	// The child's page: their chronology across concerns, and how long the record is kept.
	await page.getByRole('link', { name: 'Children' }).click();
	await page.getByRole('heading', { name: 'Children' }).waitFor();
	const pf = await openForm(page, 'Add a pupil record');
	await pf.getByLabel('Full name').fill('Alex Example');
	await pf.getByLabel('Date of birth').fill('2014-05-06');
	await pf.getByRole('button', { name: 'Add the record' }).click();
	await page.getByRole('heading', { name: 'Alex Example' }).waitFor();
	await see(page, '6 May 2039');
	await page.getByRole('heading', { name: 'Concerns naming this child (1)' }).waitFor();
	const chron = await page.locator('h2:has-text("Chronology across concerns") + ol li').allTextContents();
	assert.ok(chron.some((t) => /Concern recorded/.test(t)) && chron.some((t) => /Decision: refer-police/.test(t)) && chron.some((t) => /Referral: to police/.test(t)), chron.join(' | '));
	await axe(page, 'child');
	await shot(page, '09-child');

	await page.getByRole('link', { name: 'Help and resources' }).click();
	await page.getByRole('heading', { name: 'Guidance for each area' }).waitFor();
	await axe(page, 'resources');
	await shot(page, '10-resources');
	await commonChecks(page);
	await ctx.close();
});

test('an admin enrols an authenticator app from the QR page, signs in with a code, adds an account, sets escalation', async () => {
	const { ctx, page } = await open(browser, w.base, DESKTOP);
	await signIn(page, 'School A', 'admin', PW);
	const secret = await enrolIfAsked(page, w.base, 'School A', 'admin');
	assert.match(secret || '', /^[A-Z2-7]{16,}$/, 'wardd asks an admin to enrol first');
	await axe(page, 'two-step sign-in');
	await shot(page, '10-totp-enrolled');
	await page.getByRole('button', { name: 'Sign out' }).click();
	await page.getByRole('heading', { name: 'Sign in to ward' }).waitFor();

	// Signing in again needs a code from the app.
	await signInWithCode(page, w.base, 'School A', 'admin', PW);
	await page.getByRole('heading', { name: 'Users' }).waitFor();
	await page.getByLabel('Username').fill('new-teacher');
	await page.getByLabel('First password').fill('a first password for them');
	await page.getByLabel('Role').selectOption('staff');
	await page.getByRole('button', { name: 'Add the account' }).click();
	await see(page, 'Account new-teacher added as staff.');
	await page.getByRole('cell', { name: 'new-teacher' }).waitFor();
	await axe(page, 'users');
	await shot(page, '11-users');

	await page.getByRole('link', { name: 'School settings' }).click();
	await page.getByRole('heading', { name: 'School settings' }).waitFor();
	await page.getByLabel('Escalate after (minutes)').fill('20');
	await page.getByLabel('DSL email addresses', { exact: true }).fill('dsl@school.example, deputy@school.example');
	await page.getByRole('button', { name: 'Save the settings' }).click();
	await see(page, 'Settings saved.');
	await axe(page, 'settings');
	await shot(page, '12-settings');

	// A token for a detector, shown once; it posts alerts until revoked.
	await page.getByRole('link', { name: 'Detector tokens' }).click();
	await page.getByLabel('Name of the detector').fill('proxy-2');
	await page.getByRole('button', { name: 'Make the token' }).click();
	const tok = await page.locator('code[data-token]').getAttribute('data-token');
	const post = () => fetch(`${w.base}/api/v1/alerts`, { method: 'POST', headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' },
		body: JSON.stringify({ area: 'grooming', rule: 'grooming.secrecy', severity: 'high', source: 'icap', subject: '10.0.0.6', time: '2026-11-30T10:00:00Z',
			excerpt: 'asked to keep chats secret', start: 0, end: 5, dedup_key: `tok-${Date.now()}-${Math.random()}` }) });
	assert.equal((await post()).status, 201);
	await axe(page, 'tokens');
	await shot(page, '12b-tokens');
	page.once('dialog', (d) => d.accept());
	await page.getByRole('row', { name: /proxy-2/ }).getByRole('button', { name: /^Revoke/ }).click();
	await see(page, 'Token proxy-2 revoked.');
	assert.equal((await post()).status, 401);
	await commonChecks(page);
	await ctx.close();
	const a = await new Client(w.base).signIn('School A', 'admin');
	const s = (await a.req('GET', '/api/v1/settings/notify')).json;
	assert.equal(s.escalation_minutes, 20);
	assert.deepEqual(s.dsl_emails, ['dsl@school.example', 'deputy@school.example']);
});

test('the auditor sees the audit log and the chain intact', async () => {
	const { ctx, page } = await open(browser, w.base, DESKTOP);
	await signIn(page, 'School A', 'auditor', PW);
	await page.getByRole('heading', { name: 'Audit log' }).waitFor();
	await see(page, 'The chain is intact.');
	assert.ok(await page.getByRole('cell', { name: 'concern.create' }).count() >= 1);
	assert.ok(await page.getByRole('cell', { name: 'concern.close' }).count() >= 1);
	await axe(page, 'audit log');
	await shot(page, '13-audit');
	await commonChecks(page);
	await ctx.close();
});
