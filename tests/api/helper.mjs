// helper.mjs: starts wardd on a free loopback port with a temporary data directory, signs in
// accounts of every role in two schools, and wraps fetch with cookies and CSRF tokens.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const BUILD = process.env.WARD_BUILD;
export const WARD = path.join(BUILD, 'ward');
export const WARDD = path.join(BUILD, 'wardd');
export const ROLES = ['staff', 'dsl', 'deputy-dsl', 'admin', 'auditor'];
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

export async function startWardd(dir, port) {
	port = port || await freePort();
	const p = spawn(WARDD, ['--data-dir', dir, '--port', String(port), '--config', '/dev/null'],
		{ stdio: ['ignore', 'ignore', 'pipe'] });
	p.stderr.on('data', () => {});
	const base = `http://127.0.0.1:${port}`;
	for (let i = 0; i < 200; i++) {
		try { if ((await fetch(base + '/healthz')).ok) return { proc: p, base, port }; } catch { }
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

export class Client {
	constructor(base) { this.base = base; this.cookie = null; this.csrf = null; }
	async signIn(school, username, password = PW) {
		const r = await fetch(this.base + '/api/v1/session', {
			method: 'POST', headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ school, username, password }) });
		if (r.status !== 201) throw new Error(`sign-in of ${username}: ${r.status}`);
		this.cookie = r.headers.get('set-cookie').split(';')[0];
		this.csrf = (await r.json()).csrf_token;
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
