// `make run` (scripts/run-wardd.sh): a first run makes the demo school and prints a sheet a
// newcomer can sign in with; a second run keeps the data and prints the same sheet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import path from 'node:path';
import { BUILD, Client, freePort } from './helper.mjs';

const top = process.env.WARD_TOP || path.resolve(new URL('../..', import.meta.url).pathname);

async function runWardd(runDir, port) {
	const p = spawn(path.join(top, 'scripts', 'run-wardd.sh'), [], {
		env: { ...process.env, O: BUILD, WARD_RUN_DIR: runDir, WARD_PORT: String(port) },
		stdio: ['ignore', 'pipe', 'pipe'] });
	let out = '', err = '';
	p.stdout.on('data', (d) => { out += d; });
	p.stderr.on('data', (d) => { err += d; });
	const base = `http://127.0.0.1:${port}`;
	for (let i = 0; i < 400; i++) {
		try { if ((await fetch(base + '/healthz')).ok) break; } catch { }
		if (p.exitCode !== null) throw new Error(`run-wardd.sh ended: ${err}`);
		await new Promise((r) => setTimeout(r, 25));
	}
	const stop = () => new Promise((r) => { p.on('exit', (code, sig) => r(code ?? sig)); p.kill('SIGTERM'); });
	return { base, out: () => out, err: () => err, stop };
}

// "  role  name  password" rows of the printed sheet
const sheet = (out) => Object.fromEntries([...out.matchAll(/^ {2}(staff|dsl|deputy-dsl|admin|auditor) +(\S+) +(\S+)$/gm)]
	.map((m) => [m[1], { username: m[2], password: m[3] }]));

test('make run: a demo school, a sheet to sign in with, data kept between runs', { timeout: 60000 }, async () => {
	const runDir = path.join(mkdtempSync(path.join(process.env.WARD_API_TMP || '/tmp', 'run-')), 'run');
	const port = await freePort();
	const r = await runWardd(runDir, port);
	let accounts;
	try {
		const out = r.out();
		assert.match(out, new RegExp(`http://127\\.0\\.0\\.1:${port}/`));
		assert.match(out, /School: +Demo School/);
		assert.match(out, /authenticator app/);
		accounts = sheet(out);
		assert.deepEqual(Object.keys(accounts).sort(), ['admin', 'auditor', 'deputy-dsl', 'dsl', 'staff']);
		assert.equal(statSync(path.join(runDir, 'first-sign-in.txt')).mode & 0o077, 0, 'the sheet is private');
		const staff = await new Client(r.base).signIn('Demo School', accounts.staff.username, accounts.staff.password);
		const c = await staff.req('GET', '/api/v1/concerns');
		assert.equal(c.status, 200);
		const dsl = await new Client(r.base).signIn('Demo School', accounts.dsl.username, accounts.dsl.password, { enrol: false });
		assert.equal(dsl.session.enrolment_required, true, 'the DSL is asked to enrol');
		await dsl.enrolTotp();
		assert.equal((await dsl.req('GET', '/api/v1/concerns')).status, 200);
	} finally {
		assert.equal(await r.stop(), 0, 'wardd stops cleanly on SIGTERM');
	}
	const again = await runWardd(runDir, port);
	try {
		assert.doesNotMatch(again.out(), /First run/);
		assert.deepEqual(sheet(again.out()), accounts);
		const staff = await new Client(again.base).signIn('Demo School', accounts.staff.username, accounts.staff.password);
		assert.equal((await staff.req('GET', '/api/v1/session')).status, 200);
	} finally {
		await again.stop();
	}
});

test('make run refuses a port that is taken, and says what to do', async () => {
	const port = await freePort();
	const runDir = path.join(mkdtempSync(path.join(process.env.WARD_API_TMP || '/tmp', 'run-')), 'run');
	const first = await runWardd(runDir, port);
	try {
		const p = spawn(path.join(top, 'scripts', 'run-wardd.sh'), [], {
			env: { ...process.env, O: BUILD, WARD_RUN_DIR: runDir, WARD_PORT: String(port) } });
		let err = '';
		p.stderr.on('data', (d) => { err += d; });
		const code = await new Promise((r) => p.on('exit', r));
		assert.equal(code, 2);
		assert.match(err, /already listening.*WARD_PORT=/s);
	} finally {
		await first.stop();
	}
});
