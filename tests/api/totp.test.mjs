// The TOTP second factor: required for dsl, deputy-dsl and admin, enrolled at the first
// sign-in with a QR code, each code good once.  Codes are computed here (HMAC-SHA1, RFC 6238),
// independently of wardd's liboath.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import {
	PW, admin, makeData, startWardd, stopWardd, Client, concernBody, totpCode, nowStep,
	account, nextCode, nextStep,
} from './helper.mjs';

let w, dir;
before(async () => { dir = makeData(); w = await startWardd(dir); });
after(async () => { await stopWardd(w); });

const post = (body) => fetch(w.base + '/api/v1/session', {
	method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('RFC 6238 test vector: the helper computes codes right', () => {
	// Appendix B, SHA-1, T = 59 s: 94287082 (8 digits), so 287082 for 6 digits.
	const secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'; // "12345678901234567890"
	assert.equal(totpCode(secret, 1), '287082');
});

test('a DSL without a second factor gets a session that may only enrol', async () => {
	const c = await new Client(w.base).signIn('School A', 'deputy-dsl', PW, { enrol: false });
	assert.equal(c.session.enrolment_required, true);
	assert.match(c.session.next, /POST \/api\/v1\/session\/totp/);
	const r = await c.req('GET', '/api/v1/concerns');
	assert.equal(r.status, 403);
	assert.match(r.headers.get('content-type'), /application\/problem\+json/);
	assert.equal(r.json.title, 'Second factor needed');
	assert.match(r.json.detail, /enrol an authenticator app/);
	const p = await c.req('POST', '/api/v1/concerns', concernBody(1));
	assert.equal(p.status, 403);
	const s = await c.req('GET', '/api/v1/session');
	assert.equal(s.status, 200);
	assert.equal(s.json.enrolment_required, true);
});

test('enrolment: secret, otpauth URI and QR code; a wrong code is refused; the right one unlocks the session', async () => {
	const c = await new Client(w.base).signIn('School A', 'dsl', PW, { enrol: false });
	const none = await c.req('POST', '/api/v1/session/totp/confirm', { code: '123456' });
	assert.equal(none.status, 409, none.text);
	const s = await c.req('POST', '/api/v1/session/totp');
	assert.equal(s.status, 201, s.text);
	assert.match(s.json.secret, /^[A-Z2-7]{32}$/);
	const u = new URL(s.json.otpauth_uri);
	assert.equal(u.protocol, 'otpauth:');
	assert.equal(u.host, 'totp');
	assert.equal(u.searchParams.get('secret'), s.json.secret);
	assert.equal(u.searchParams.get('issuer'), 'ward (School A)');
	assert.equal(decodeURIComponent(u.pathname), '/ward (School A):dsl');
	assert.match(s.json.qr_svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
	assert.match(s.json.qr_svg, /<path fill="#000" d="M\d+ \d+h\d+v1h-\d+z/);
	assert.match(s.json.qr_svg, /<\/svg>$/);
	const bad = totpCode(s.json.secret, nowStep() + 5);
	const wrong = await c.req('POST', '/api/v1/session/totp/confirm', { code: bad });
	assert.equal(wrong.status, 400);
	assert.equal(wrong.json.title, 'Code not right');
	const notDigits = await c.req('POST', '/api/v1/session/totp/confirm', { code: 'abcdef' });
	assert.equal(notDigits.status, 400);
	const ok = await c.req('POST', '/api/v1/session/totp/confirm', { code: await nextCode(c.acct, true) });
	assert.equal(ok.status, 200, ok.text);
	assert.equal(ok.json.enrolment_required, false);
	assert.equal(ok.json.user.totp_enrolled, true);
	const r = await c.req('GET', '/api/v1/concerns');
	assert.equal(r.status, 200, r.text);
});

test('an enrolled account must send a code, a wrong one counts, and a code works once', async () => {
	const acct = account(w.base, 'School A', 'dsl');
	assert.ok(acct.secret, 'enrolled by the test before');
	const missing = await post({ school: 'School A', username: 'dsl', password: PW });
	assert.equal(missing.status, 401);
	const mj = await missing.json();
	assert.equal(mj.title, 'Code needed');
	assert.equal(mj.totp_required, true);
	const wrong = await post({ school: 'School A', username: 'dsl', password: PW,
		totp: totpCode(acct.secret, nowStep() + 7) });
	assert.equal(wrong.status, 401);
	assert.match((await wrong.json()).detail, /code is not right/);
	const badpw = await post({ school: 'School A', username: 'dsl', password: 'not the password',
		totp: totpCode(acct.secret, nowStep()) });
	assert.equal(badpw.status, 401);
	const step = await nextStep(acct);
	const code = totpCode(acct.secret, step);
	const first = await post({ school: 'School A', username: 'dsl', password: PW, totp: code });
	assert.equal(first.status, 201, await first.clone().text());
	assert.equal((await first.json()).enrolment_required, false);
	const again = await post({ school: 'School A', username: 'dsl', password: PW, totp: code });
	assert.equal(again.status, 401, 'the same code a second time');
	// an earlier step than the last one used is refused too
	const older = await post({ school: 'School A', username: 'dsl', password: PW,
		totp: totpCode(acct.secret, step - 1) });
	assert.equal(older.status, 401);
});

test('staff and auditors need no second factor but may enrol one', async () => {
	const c = await new Client(w.base).signIn('School A', 'auditor');
	assert.equal(c.session.enrolment_required, false);
	assert.equal((await c.req('GET', '/api/v1/audit')).status, 200);
	await c.enrolTotp();
	const again = await new Client(w.base).signIn('School A', 'auditor');
	assert.equal(again.session.user.totp_enrolled, true);
});

test('enrolment is audited; the secret is not in the database in the clear', async () => {
	const aud = await new Client(w.base).signIn('School A', 'auditor');
	const a = await aud.req('GET', '/api/v1/audit');
	assert.ok(a.json.entries.some((e) => e.action === 'totp.enrol'));
	assert.ok(a.json.entries.some((e) => e.action === 'session.create-enrol-only'));
	const secret = account(w.base, 'School A', 'dsl').secret;
	for (const f of readdirSync(dir).filter((f) => f.startsWith('ward.db')))
		assert.ok(!readFileSync(path.join(dir, f)).includes(secret), `${f} holds the secret in the clear`);
});

test('ward admin user reset-totp clears the factor and ends the sessions', async () => {
	const c = await new Client(w.base).signIn('School A', 'admin');
	assert.equal((await c.req('GET', '/api/v1/users')).status, 200);
	const out = admin(dir, 'user', 'reset-totp', '--school', 'School A', '--username', 'admin');
	assert.match(out, /cleared/);
	assert.equal((await c.req('GET', '/api/v1/users')).status, 401, 'the old session ended');
	account(w.base, 'School A', 'admin').secret = null;
	const again = await new Client(w.base).signIn('School A', 'admin', PW, { enrol: false });
	assert.equal(again.session.enrolment_required, true);
});

test('ward admin user add says how to enrol', () => {
	const out = admin(dir, 'user', 'add', '--school', 'School A', '--username', 'dsl-2', '--role', 'dsl',
		'--password', PW);
	assert.match(out, /authenticator app/);
	assert.match(out, /POST \/api\/v1\/session\/totp/);
	const staff = admin(dir, 'user', 'add', '--school', 'School A', '--username', 'staff-2', '--role', 'staff',
		'--password', PW);
	assert.doesNotMatch(staff, /authenticator/);
});
