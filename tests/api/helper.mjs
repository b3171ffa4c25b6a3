// helper.mjs: starts wardd on a free loopback port with a temporary data directory, signs in
// accounts of every role in two schools, and wraps fetch with cookies and CSRF tokens.
import { spawn, execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const BUILD = process.env.WARD_BUILD;
export const WARD = path.join(BUILD, 'ward');
export const WARDD = path.join(BUILD, 'wardd');
export const ROLES = ['staff', 'dsl', 'deputy-dsl', 'admin', 'auditor', 'trust-lead'];
export const PW = 'a long test password';

export function freePort() {
	return new Promise((resolve) => {
		const s = net.createServer();
		s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
	});
}

export function admin(dir, ...args) {
	return execFileSync(WARD, ['admin', '--data-dir', dir, ...args], { encoding: 'utf8' });
}

// A data directory with school A (every role) and school B (a DSL).
export function makeData() {
	const dir = path.join(mkdtempSync(path.join(process.env.WARD_API_TMP || '/tmp', 'w-')), 'data');
	admin(dir, 'init', '--school', 'School A', '--username', 'admin', '--password', PW);
	for (const r of ROLES.filter((r) => r !== 'admin'))
		admin(dir, 'user', 'add', '--school', 'School A', '--username', r, '--role', r, '--password', PW);
	admin(dir, 'init', '--school', 'School B', '--username', 'admin-b', '--password', PW);
	admin(dir, 'user', 'add', '--school', 'School B', '--username', 'dsl-b', '--role', 'dsl', '--password', PW);
	return dir;
}

// ---- TOTP (RFC 6238), computed here independently of wardd's liboath ----

export function base32Decode(s) {
	const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
	let bits = 0, v = 0;
	const out = [];
	for (const ch of s.replace(/=+$/, '').toUpperCase()) {
		const i = abc.indexOf(ch);
		if (i < 0) throw new Error(`not base32: ${ch}`);
		v = (v << 5) | i; bits += 5;
		if (bits >= 8) { out.push((v >>> (bits - 8)) & 255); bits -= 8; }
	}
	return Buffer.from(out);
}

// The 6-digit code of a base32 secret for a 30-second time step.
export function totpCode(secret, step) {
	const msg = Buffer.alloc(8);
	msg.writeBigUInt64BE(BigInt(step));
	const h = createHmac('sha1', base32Decode(secret)).update(msg).digest();
	const o = h[h.length - 1] & 15;
	const n = ((h[o] & 127) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
	return String(n % 1000000).padStart(6, '0');
}

export const nowStep = () => Math.floor(Date.now() / 30000);

// Accounts this process has enrolled: key -> { secret, pending, lastStep }.  wardd takes each
// code once, so every code comes from a step later than the last one spent; when the steps
// wardd accepts now (one either side) are spent, this waits for the next.
const ACCOUNTS = new Map();
const DIRS = new Map(); // base URL -> data directory, so a restarted wardd keeps its accounts
const accountKey = (base, school, username) => `${DIRS.get(base) || base}\n${school}\n${username}`;
export const account = (base, school, username) => {
	const k = accountKey(base, school, username);
	if (!ACCOUNTS.has(k)) ACCOUNTS.set(k, { secret: null, pending: null, lastStep: 0 });
	return ACCOUNTS.get(k);
};

export async function nextStep(acct) {
	for (;;) {
		const now = nowStep(), into = (Date.now() / 1000) % 30;
		// the step before the current one only early in it, so that wardd's clock, read a
		// moment later, still has the code within its window
		const lo = into < 25 ? now - 1 : now, hi = now + 1;
		const step = Math.max(acct.lastStep + 1, lo);
		if (step <= hi) { acct.lastStep = step; return step; }
		await new Promise((r) => setTimeout(r, 1000));
	}
}

// A code of the account's confirmed secret (or its pending one) wardd has not seen yet.
export async function nextCode(acct, pending = false) {
	return totpCode(pending ? acct.pending : acct.secret, await nextStep(acct));
}

export async function startWardd(dir, port) {
	port = port || await freePort();
	const p = spawn(WARDD, ['--data-dir', dir, '--port', String(port), '--config', '/dev/null'],
		{ stdio: ['ignore', 'ignore', 'pipe'] });
	p.stderr.on('data', () => {});
	const base = `http://127.0.0.1:${port}`;
	for (let i = 0; i < 200; i++) {
		try {
			if ((await fetch(base + '/healthz')).ok) { DIRS.set(base, dir); return { proc: p, base, port, dir }; }
		} catch { }
		await new Promise((r) => setTimeout(r, 25));
	}
	throw new Error('wardd did not start');
}

export async function stopWardd(w, signal = 'SIGTERM') {
	if (w.proc.exitCode !== null) return w.proc.exitCode;
	const done = new Promise((r) => w.proc.on('exit', (code, sig) => r(code ?? sig)));
	w.proc.kill(signal);
	return done;
}

// Signs in with cookies and CSRF.  An account whose role needs a second factor and has none
// is enrolled on its first sign-in (as a person would: start, scan, confirm with a code), and
// every later sign-in sends a fresh code.
export class Client {
	constructor(base) { this.base = base; this.cookie = null; this.csrf = null; this.acct = null; }
	async signIn(school, username, password = PW, { enrol = true } = {}) {
		const acct = account(this.base, school, username);
		const body = { school, username, password };
		if (acct.secret) body.totp = await nextCode(acct);
		const r = await fetch(this.base + '/api/v1/session', {
			method: 'POST', headers: { 'content-type': 'application/json' },
			body: JSON.stringify(body) });
		if (r.status !== 201) throw new Error(`sign-in of ${username}: ${r.status} ${await r.text()}`);
		this.cookie = r.headers.get('set-cookie').split(';')[0];
		const j = await r.json();
		this.csrf = j.csrf_token;
		this.acct = acct;
		this.session = j;
		if (j.enrolment_required && enrol) await this.enrolTotp();
		return this;
	}
	// Enrols (or re-enrols) an authenticator for the signed-in account.
	async enrolTotp() {
		const s = await this.req('POST', '/api/v1/session/totp');
		if (s.status !== 201) throw new Error(`TOTP enrolment start: ${s.status} ${s.text}`);
		const c = await this.req('POST', '/api/v1/session/totp/confirm', { code: await nextCode(this.acct, true) });
		if (c.status !== 200) throw new Error(`TOTP enrolment confirm: ${c.status} ${c.text}`);
		return this;
	}
	async req(method, p, body, { csrf = true, raw = false, headers = {} } = {}) {
		const h = { ...headers };
		if (this.cookie) h.cookie = this.cookie;
		if (csrf && this.csrf && method !== 'GET') h['x-csrf-token'] = this.csrf;
		if (body !== undefined && !h['content-type']) h['content-type'] = 'application/json';
		const r = await fetch(this.base + p, { method, headers: h,
			body: body === undefined ? undefined : raw ? body : JSON.stringify(body) });
		const text = await r.text();
		let json = null;
		try { json = JSON.parse(text); } catch { }
		// Follow the account's secrets as wardd does, whoever started the enrolment.
		if (this.acct && method === 'POST' && p === '/api/v1/session/totp' && r.status === 201)
			this.acct.pending = json.secret;
		if (this.acct && method === 'POST' && p === '/api/v1/session/totp/confirm' && r.status === 200) {
			this.acct.secret = this.acct.pending;
			this.acct.pending = null;
		}
		return { status: r.status, json, text, headers: r.headers };
	}
}

export const concernBody = (n = 0) => ({
	occurred_at: '2026-11-01',
	children: [{ name: `Pupil ${n}`, date_of_birth: '2014-05-06', year_group: '7', internal_id: `P${n}` }],
	areas: ['grooming', 'peer-images'],
	account: `An adult online asked the pupil to keep their chats secret and to move to a private app (${n}).`,
	source: 'staff',
});
