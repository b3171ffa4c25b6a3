// wardd behind a reverse proxy (trusted_proxies, proxy_header; wardd(8)).  The test client is the
// "proxy": it connects from a chosen loopback address and sends X-Forwarded-For or Forwarded as
// a proxy would.  With the proxy trusted, two children behind it have limits of their own on the
// pupil page and the audit entries name the child's or the member of staff's address; without
// the setting, or with a forged header from a peer that is not trusted, the header is ignored
// and everyone behind the proxy shares its limit.  A malformed header from the trusted proxy
// counts against the proxy's own address, and a bad list stops wardd at start.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WARDD, makeData, freePort, stopWardd, Client, concernBody } from './helper.mjs';
import { isBusy, pupilPost, pupilWords } from './pupil_helper.mjs';

let dir, conf, code;
before(() => {
	dir = makeData();
	conf = mkdtempSync(path.join(os.tmpdir(), 'ward-proxy-'));
});
after(() => rmSync(conf, { recursive: true, force: true }));

// wardd with these [wardd] lines in its configuration file; resolves once it answers, with its
// standard error so far kept in w.err.
async function start(lines) {
	const port = await freePort();
	const file = path.join(conf, `wardd-${port}.conf`);
	writeFileSync(file, `[wardd]\n${lines.join('\n')}\n`);
	const proc = spawn(WARDD, ['--data-dir', dir, '--port', String(port), '--config', file],
		{ stdio: ['ignore', 'ignore', 'pipe'] });
	const w = { proc, base: `http://127.0.0.1:${port}`, port, dir, err: '' };
	proc.stderr.on('data', (d) => { w.err += d; });
	for (let i = 0; i < 200; i++) {
		try {
			if ((await fetch(w.base + '/healthz')).ok) return w;
		} catch { }
		if (proc.exitCode !== null) throw new Error(`wardd stopped: ${w.err}`);
		await new Promise((r) => setTimeout(r, 25));
	}
	throw new Error('wardd did not start');
}

// A POST from loopback address from, with extra headers (the proxy's).
const post = pupilPost;

const xff = (a) => ({ 'x-forwarded-for': a });
const wrongCodes = async (base, from, headers, tag) => {
	for (let i = 0; i < 10; i++)
		assert.equal((await post(base, '/api/v1/pupil/form', { code: `wrong-code-${tag}-${i}-xxxxxxxx` }, from, headers)).status, 404);
};
const form = (base, from, headers) => post(base, '/api/v1/pupil/form', { code }, from, headers);
async function report(base, from, headers) {
	const f = await form(base, from, headers);
	if (f.status !== 200) return f;
	return post(base, '/api/v1/pupil/reports',
		{ code, form_token: f.json.form_token, what_happened: pupilWords, safe_now: 'yes' }, from, headers);
}

// The source of the newest audit entry of action, read by the school's auditor.
async function sourceOf(w, action) {
	const aud = await new Client(w.base).signIn('School A', 'auditor');
	const a = await aud.req('GET', '/api/v1/audit');
	assert.equal(a.status, 200, a.text);
	const e = a.json.entries.filter((x) => x.action === action);
	assert.ok(e.length, `an entry ${action}`);
	return e.reduce((m, x) => (x.seq > m.seq ? x : m)).source;
}

// A concern created by staff through the proxy, with these headers.
async function concernThrough(w, headers) {
	const staff = await new Client(w.base).signIn('School A', 'staff');
	const r = await staff.req('POST', '/api/v1/concerns', concernBody(7), { headers });
	assert.equal(r.status, 201, r.text);
	return sourceOf(w, 'concern.create');
}

test('the pupil page turned on (the code every test below uses)', async () => {
	const w = await start([]);
	try {
		const adm = await new Client(w.base).signIn('School A', 'admin');
		const p = await adm.req('PUT', '/api/v1/pupil-page', { enabled: true });
		assert.equal(p.status, 200, p.text);
		code = p.json.code;
	} finally {
		await stopWardd(w);
	}
});

test('trusted_proxies = 127.0.0.1: two children behind the proxy have limits of their own', async () => {
	const w = await start(['trusted_proxies = 127.0.0.1']);
	try {
		assert.match(w.err, /client addresses from X-Forwarded-For when the peer is one of 1 trusted proxies/);
		assert.doesNotMatch(w.err, /0\.0\.0\.0\/0/);
		// one child's ten wrong codes lock the page for that child only
		await wrongCodes(w.base, '127.0.0.1', xff('203.0.113.10'), 'a');
		isBusy(await form(w.base, '127.0.0.1', xff('203.0.113.10')));
		assert.equal((await report(w.base, '127.0.0.1', xff('203.0.113.11'))).status, 201);
		// nor the proxy itself, nor an IPv6 child
		assert.equal((await form(w.base, '127.0.0.1')).status, 200);
		assert.equal((await form(w.base, '127.0.0.1', xff('2001:db8::11'))).status, 200);
		// what the child writes itself is left of the address the proxy adds, and is never taken
		isBusy(await form(w.base, '127.0.0.1', xff('198.51.100.99, 203.0.113.10')));
		assert.equal((await form(w.base, '127.0.0.1', xff('203.0.113.10, 198.51.100.99'))).status, 200);
		// a header split over two lines reads as one list
		isBusy(await form(w.base, '127.0.0.1', { 'x-forwarded-for': ['198.51.100.98', '203.0.113.10'] }));
		// a malformed header counts against the proxy's own address, and never fails the request
		await wrongCodes(w.base, '127.0.0.1', xff('203.0.113.12:80'), 'b');
		isBusy(await form(w.base, '127.0.0.1', xff('not an address')));
		isBusy(await form(w.base, '127.0.0.1'));
		assert.equal((await report(w.base, '127.0.0.1', xff('203.0.113.13'))).status, 201);
		// Forwarded is not read when proxy_header is X-Forwarded-For (the default)
		isBusy(await form(w.base, '127.0.0.1', { forwarded: 'for=203.0.113.14' }));
		// audit entries name the address behind the proxy
		assert.equal(await concernThrough(w, xff('198.51.100.1, 203.0.113.20')), '203.0.113.20');
		assert.equal(await concernThrough(w, xff('2001:DB8:0::20')), '2001:db8::20');
	} finally {
		await stopWardd(w);
	}
});

test('without trusted_proxies the header is ignored: everyone behind the proxy shares its limit', async () => {
	const w = await start([]);
	try {
		await wrongCodes(w.base, '127.0.9.1', xff('203.0.113.30'), 'c');
		isBusy(await form(w.base, '127.0.9.1', xff('203.0.113.31')));
		isBusy(await form(w.base, '127.0.9.1'));
		assert.equal(await concernThrough(w, xff('203.0.113.32')), '127.0.0.1');
	} finally {
		await stopWardd(w);
	}
});

test('a forged header from a peer that is not a trusted proxy is ignored', async () => {
	const w = await start(['trusted_proxies = 192.0.2.1, 2001:db8::/32']);
	try {
		await wrongCodes(w.base, '127.0.9.2', xff('203.0.113.40'), 'd');
		isBusy(await form(w.base, '127.0.9.2', xff('203.0.113.41')));
		// another peer is not held up by it
		assert.equal((await form(w.base, '127.0.9.3', xff('203.0.113.40'))).status, 200);
		assert.equal(await concernThrough(w, xff('203.0.113.42')), '127.0.0.1');
	} finally {
		await stopWardd(w);
	}
});

test('proxy_header = forwarded: RFC 7239 Forwarded, with ports and IPv6, read past trusted hops', async () => {
	const w = await start(['trusted_proxies = 127.0.0.0/8 10.0.0.0/8', 'proxy_header = forwarded']);
	try {
		const fwd = (v) => ({ forwarded: v });
		await wrongCodes(w.base, '127.0.9.4', fwd('for="[2001:db8:cafe::17]:4711";proto=https, for=10.0.0.2'), 'e');
		isBusy(await form(w.base, '127.0.9.4', fwd('for="[2001:db8:cafe::17]"')));
		assert.equal((await form(w.base, '127.0.9.4', fwd('for="192.0.2.60:5000"'))).status, 200);
		// X-Forwarded-For is not read now
		assert.equal((await form(w.base, '127.0.9.4', xff('2001:db8:cafe::17'))).status, 200);
		// an unknown hop nearest wardd: the peer's address
		assert.equal(await concernThrough(w, fwd('for=192.0.2.61, for=unknown')), '127.0.0.1');
		assert.equal(await concernThrough(w, fwd('for=192.0.2.61;by=10.0.0.1, for="10.0.0.2:8080"')), '192.0.2.61');
	} finally {
		await stopWardd(w);
	}
});

test('a list that trusts everyone starts with a warning; a bad list stops wardd', async () => {
	const w = await start(['trusted_proxies = 0.0.0.0/0']);
	try {
		assert.match(w.err, /trusted_proxies holds 0\.0\.0\.0\/0 or ::\/0/);
	} finally {
		await stopWardd(w);
	}
	for (const [v, why] of [['10.0.0.1/8', /bits set past its prefix/], ['proxy.example', /not a numeric/],
		['127.0.0.1:8080', /not a numeric/], ['::/129', /more than 128/]]) {
		const file = path.join(conf, 'bad.conf');
		writeFileSync(file, `[wardd]\ntrusted_proxies = ${v}\n`);
		const r = spawnSync(WARDD, ['--data-dir', dir, '--port', String(await freePort()), '--config', file],
			{ encoding: 'utf8', timeout: 10000 });
		assert.equal(r.status, 2, `${v}: ${r.stderr}`);
		assert.match(r.stderr, why);
	}
	const file = path.join(conf, 'bad.conf');
	writeFileSync(file, '[wardd]\nproxy_header = x-real-ip\n');
	const r = spawnSync(WARDD, ['--data-dir', dir, '--config', file], { encoding: 'utf8', timeout: 10000 });
	assert.equal(r.status, 2, r.stderr);
	assert.match(r.stderr, /proxy_header = x-real-ip is not a known setting/);
});
