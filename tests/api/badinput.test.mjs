// Bad input: each a 4xx with a problem body, never a crash (wardd still answers afterwards).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { makeData, startWardd, stopWardd, Client, concernBody } from './helper.mjs';

let w, staff;
before(async () => {
	w = await startWardd(makeData());
	staff = await new Client(w.base).signIn('School A', 'staff');
});
after(async () => {
	const r = await fetch(w.base + '/healthz');
	assert.equal(r.status, 200, 'wardd still answers after the bad input');
	assert.equal(await stopWardd(w), 0, 'clean exit on SIGTERM');
});

function problem(r, status) {
	assert.equal(r.status, status, r.text);
	assert.match(r.headers.get('content-type'), /application\/problem\+json/);
	assert.equal(r.json.status, status);
	assert.ok(r.json.detail.length > 5);
}

const bodies = {
	'malformed JSON': ['{"occurred_at": ', 400],
	'not an object': ['[1,2,3]', 400],
	'empty body': ['', 400],
	'duplicate keys': ['{"source":"staff","source":"pupil"}', 400],
};
for (const [name, [raw, status]] of Object.entries(bodies))
	test(`concern with ${name}`, async () => problem(await staff.req('POST', '/api/v1/concerns', raw, { raw: true }), status));

const mutations = {
	'wrong type for areas': (b) => { b.areas = 'grooming'; },
	'unknown area': (b) => { b.areas = ['not-an-area']; },
	'repeated area': (b) => { b.areas = ['grooming', 'grooming']; },
	'unknown field': (b) => { b.extra = 1; },
	'missing account': (b) => { delete b.account; },
	'number for account': (b) => { b.account = 12; },
	'bad date': (b) => { b.occurred_at = 'yesterday'; },
	'bad child date of birth': (b) => { b.children[0].date_of_birth = '2014-13-40'; },
	'unknown child field': (b) => { b.children[0].photo = 'x'; },
	'unknown source': (b) => { b.source = 'rumour'; },
	'control characters': (b) => { b.children[0].name = 'A\u0000B'; },
	'account too long': (b) => { b.account = 'x'.repeat(100001); },
};
for (const [name, f] of Object.entries(mutations))
	test(`concern with ${name}`, async () => {
		const b = concernBody(); f(b);
		problem(await staff.req('POST', '/api/v1/concerns', b), 400);
	});

test('invalid UTF-8', async () => {
	const b = Buffer.concat([Buffer.from('{"occurred_at":"2026-01-01","children":[],"areas":["grooming"],"source":"staff","account":"'),
		Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]);
	problem(await staff.req('POST', '/api/v1/concerns', b, { raw: true }), 400);
});

test('a 10 MB body', async () => {
	const big = '{"account":"' + 'a'.repeat(10 * 1024 * 1024) + '"}';
	problem(await staff.req('POST', '/api/v1/concerns', big, { raw: true }), 413);
});

test('wrong content type', async () => {
	problem(await staff.req('POST', '/api/v1/concerns', JSON.stringify(concernBody()),
		{ raw: true, headers: { 'content-type': 'text/plain' } }), 415);
});

for (const p of ['/api/v1/concerns/../users', '/api/v1/concerns/1/../../users', '/api/v1//concerns',
	'/api/v1/concerns/-1', '/api/v1/concerns/1e3', '/api/v1/concerns/99999999999999999999',
	'/api/v1/concerns/%2e%2e', '/api/v1/concerns/1%00', '/etc/passwd', '/api/v1/concerns/'])
	test(`path trick ${p}`, async () => {
		const r = await staff.req('GET', p);
		assert.ok([400, 403, 404].includes(r.status), `status ${r.status}`);
		assert.match(r.headers.get('content-type'), /problem\+json/);
	});

test('raw request with a dot-dot path over a socket', async () => {
	const port = w.port;
	const text = await new Promise((resolve) => {
		const s = net.connect(port, '127.0.0.1', () => s.write('GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
		let d = ''; s.on('data', (c) => { d += c; }); s.on('end', () => resolve(d)); s.on('error', () => resolve(d));
	});
	assert.match(text, /^HTTP\/1\.1 4\d\d/);
});

test('missing CSRF token', async () => {
	problem(await staff.req('POST', '/api/v1/concerns', concernBody(), { csrf: false }), 403);
});

test('stale CSRF token (from an earlier session)', async () => {
	const c = await new Client(w.base).signIn('School A', 'staff');
	const old = c.csrf;
	await c.req('DELETE', '/api/v1/session');
	await c.signIn('School A', 'staff');
	c.csrf = old;
	problem(await c.req('POST', '/api/v1/concerns', concernBody()), 403);
});

test('replayed session after sign-out', async () => {
	const c = await new Client(w.base).signIn('School A', 'staff');
	const cookie = c.cookie;
	assert.equal((await c.req('DELETE', '/api/v1/session')).status, 204);
	c.cookie = cookie;
	problem(await c.req('GET', '/api/v1/concerns'), 401);
});

test('forged session cookie', async () => {
	const c = new Client(w.base); c.cookie = 'ward_session=' + 'A'.repeat(43);
	problem(await c.req('GET', '/api/v1/session'), 401);
});

test('unknown method on a known path', async () => problem(await staff.req('PUT', '/api/v1/concerns', concernBody()), 405));

test('sign-in throttled after repeated failures', async () => {
	const c = new Client(w.base);
	for (let i = 0; i < 5; i++) {
		const r = await c.req('POST', '/api/v1/session', { school: 'School A', username: 'deputy-dsl', password: 'wrong password' });
		problem(r, 401);
	}
	problem(await c.req('POST', '/api/v1/session', { school: 'School A', username: 'deputy-dsl', password: 'a long test password' }), 429);
});

test('cookies are HttpOnly and SameSite=Strict', async () => {
	const r = await fetch(w.base + '/api/v1/session', { method: 'POST', headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ school: 'School A', username: 'staff', password: 'a long test password' }) });
	const sc = r.headers.get('set-cookie');
	assert.match(sc, /HttpOnly/); assert.match(sc, /SameSite=Strict/);
});

test('metrics in Prometheus text format', async () => {
	const r = await fetch(w.base + '/metrics');
	assert.match(await r.text(), /^wardd_requests_total\{class="4xx"\} \d+$/m);
});

// ---- more of what issue 6 lists, on the core routes ----

const typed = [
	['POST', '/api/v1/session', { school: 'School A', username: 7, password: 'a long test password' }, 'username must be a string'],
	['POST', '/api/v1/session', { school: 'School A', username: 'staff', password: 'a long test password', remember: true }, 'unknown field "remember"'],
	['POST', '/api/v1/session', { school: 'School A', username: 'staff', password: 'a long test password', totp: 123456 }, 'totp must be a string'],
	['POST', '/api/v1/session/totp/confirm', { code: 123456 }, 'code must be a string'],
	['POST', '/api/v1/session/totp/confirm', { code: '123456', secret: 'AAAA' }, 'unknown field "secret"'],
];
for (const [method, p, body, why] of typed)
	test(`${method} ${p}: ${why}`, async () => {
		const c = p === '/api/v1/session' ? new Client(w.base) : staff;
		const r = await c.req(method, p, body);
		problem(r, 400);
		assert.ok(r.json.detail.includes(why), r.json.detail);
	});

test('PATCH with a version that is a string, and with a status not in the list', async () => {
	const dsl = await new Client(w.base).signIn('School A', 'dsl');
	const c = await dsl.req('POST', '/api/v1/concerns', concernBody(41));
	assert.equal(c.status, 201);
	problem(await dsl.req('PATCH', `/api/v1/concerns/${c.json.id}`, { version: '1', status: 'closed' }), 400);
	problem(await dsl.req('PATCH', `/api/v1/concerns/${c.json.id}`, { version: 1, status: 'deleted' }), 400);
	problem(await dsl.req('PATCH', `/api/v1/concerns/${c.json.id}`, { version: 1, reporter_id: 1 }), 400);
	const a = await new Client(w.base).signIn('School A', 'admin');
	problem(await a.req('POST', '/api/v1/users', { username: 'x', password: 'long enough password', role: 7 }), 400);
	problem(await a.req('POST', '/api/v1/users', { username: 'x', password: 'long enough password', role: 'superuser' }), 400);
});

test('overlong UTF-8 and a UTF-8 encoded surrogate are refused', async () => {
	for (const bad of [[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80]]) {
		const b = Buffer.concat([Buffer.from('{"school":"School A","username":"'), Buffer.from(bad),
			Buffer.from('","password":"a long test password"}')]);
		problem(await new Client(w.base).req('POST', '/api/v1/session', b, { raw: true }), 400);
	}
});

test('a 10 MB body sent in chunks (no Content-Length)', async () => {
	const chunk = new TextEncoder().encode('a'.repeat(1 << 20));
	let sent = 0;
	const stream = new ReadableStream({
		pull(ctl) {
			if (sent === 0) ctl.enqueue(new TextEncoder().encode('{"account":"'));
			if (sent++ < 10) ctl.enqueue(chunk); else { ctl.enqueue(new TextEncoder().encode('"}')); ctl.close(); }
		},
	});
	const r = await fetch(w.base + '/api/v1/concerns', { method: 'POST', body: stream, duplex: 'half',
		headers: { cookie: staff.cookie, 'x-csrf-token': staff.csrf, 'content-type': 'application/json' } });
	assert.equal(r.status, 413);
	assert.match(r.headers.get('content-type'), /problem\+json/);
});

test('a 20 KB path and a 100 KB cookie are refused, not served', async () => {
	const long = await staff.req('GET', '/api/v1/concerns/' + '1'.repeat(20000));
	assert.ok(long.status >= 400 && long.status < 500, `status ${long.status}`);
	let status = 0;
	try {
		status = (await fetch(w.base + '/api/v1/session', { headers: { cookie: 'ward_session=' + 'A'.repeat(100000) } })).status;
	} catch { status = 'closed'; }
	assert.ok(status === 'closed' || (status >= 400 && status < 500), `status ${status}`);
});

test('a session cookie longer than any token, or with odd characters, is no session', async () => {
	for (const v of ['A'.repeat(65), 'a;b', '../../etc/passwd', '%00']) {
		const c = new Client(w.base); c.cookie = 'ward_session=' + v;
		problem(await c.req('GET', '/api/v1/session'), 401);
	}
});

test('the CSRF token of another live session is refused', async () => {
	const other = await new Client(w.base).signIn('School A', 'staff');
	const mine = await new Client(w.base).signIn('School A', 'staff');
	mine.csrf = other.csrf;
	problem(await mine.req('POST', '/api/v1/concerns', concernBody(42)), 403);
});

test('audit paging with a bad number', async () => {
	const aud = await new Client(w.base).signIn('School A', 'auditor');
	for (const q of ['abc', '-1', '1e3', '', '99999999999999999999999'])
		problem(await aud.req('GET', `/api/v1/audit?after=${q}`), 400);
});

test('a replayed cookie after sign-out cannot sign out again or change anything', async () => {
	const c = await new Client(w.base).signIn('School A', 'staff');
	const { cookie, csrf } = c;
	assert.equal((await c.req('DELETE', '/api/v1/session')).status, 204);
	c.cookie = cookie; c.csrf = csrf;
	problem(await c.req('POST', '/api/v1/concerns', concernBody(43)), 401);
	problem(await c.req('DELETE', '/api/v1/session'), 401);
});
