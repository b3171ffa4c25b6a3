// wardd as a service: the example configuration in dist/ is read as shipped, a bad one stops
// wardd with exit status 2 and the line named, SIGTERM stops it cleanly with status 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { WARDD, makeData, freePort } from './helper.mjs';

const top = process.env.WARD_TOP || path.resolve(new URL('../..', import.meta.url).pathname);
const tmp = () => mkdtempSync(path.join(process.env.WARD_API_TMP || '/tmp', 'svc-'));

async function started(p, port) {
	for (let i = 0; i < 200; i++) {
		try { if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return; } catch { }
		if (p.exitCode !== null) throw new Error(`wardd ended with ${p.exitCode}`);
		await new Promise((r) => setTimeout(r, 25));
	}
	throw new Error('wardd did not start');
}

test('dist/wardd.conf is read as shipped; SIGTERM stops wardd cleanly with status 0', async () => {
	const dir = makeData();
	const conf = path.join(tmp(), 'wardd.conf');
	// as shipped, but logging to stderr so the test can read it
	writeFileSync(conf, readFileSync(path.join(top, 'dist', 'wardd.conf'), 'utf8').replace(/^log = syslog$/m, 'log = stderr'));
	const port = await freePort();
	const p = spawn(WARDD, ['--config', conf, '--data-dir', dir, '--port', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
	let err = '';
	p.stderr.on('data', (d) => { err += d; });
	await started(p, port);
	const code = await new Promise((r) => { p.on('exit', (c, s) => r(c ?? s)); p.kill('SIGTERM'); });
	assert.equal(code, 0);
	assert.match(err, new RegExp(`wardd: listening on http://127\\.0\\.0\\.1:${port} \\(data in ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`));
	assert.match(err, /wardd: stopping on SIGTERM/);
});

test('the shipped configuration names every key wardd knows', () => {
	const shipped = readFileSync(path.join(top, 'dist', 'wardd.conf'), 'utf8');
	const keys = [...shipped.matchAll(/^([a-z_]+) = /gm)].map((m) => m[1]).sort();
	assert.deepEqual(keys, ['data_dir', 'idle_timeout', 'listen', 'log', 'max_body', 'port', 'secure_cookies',
		'session_max', 'threads']);
	const man = readFileSync(path.join(top, 'docs', 'wardd.8'), 'utf8');
	for (const k of keys) assert.ok(man.includes(`.BR ${k} " = "`), `wardd.8 describes ${k}`);
});

test('a bad configuration stops wardd with status 2 and says which line', () => {
	const conf = path.join(tmp(), 'bad.conf');
	writeFileSync(conf, '[wardd]\nport = 8080\nlog = somewhere\n');
	const r = spawnSync(WARDD, ['--config', conf], { encoding: 'utf8' });
	assert.equal(r.status, 2);
	assert.match(r.stderr, /log = somewhere is not a known setting/);
	assert.match(r.stderr, /bad\.conf:3/);
	const unknown = path.join(tmp(), 'unknown.conf');
	writeFileSync(unknown, '[wardd]\ncolour = blue\n');
	assert.equal(spawnSync(WARDD, ['--config', unknown]).status, 2);
	assert.equal(spawnSync(WARDD, ['--config', '/nonexistent/wardd.conf']).status, 2);
	const badOpt = spawnSync(WARDD, ['--port', '70000'], { encoding: 'utf8' });
	assert.equal(badOpt.status, 2);
	assert.match(badOpt.stderr, /--port 70000: not a valid value/);
});

test('no database: status 2 and how to make one', () => {
	const empty = path.join(tmp(), 'empty');
	const r = spawnSync(WARDD, ['--config', '/dev/null', '--data-dir', empty, '--port', '1'], { encoding: 'utf8' });
	assert.equal(r.status, 2);
	assert.match(r.stderr, /ward admin init --data-dir/);
});

test('the systemd unit runs wardd sandboxed as its own user', () => {
	const unit = readFileSync(path.join(top, 'dist', 'wardd.service'), 'utf8');
	for (const line of ['User=ward', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'PrivateTmp=yes',
		'CapabilityBoundingSet=', 'StateDirectory=ward', 'KillSignal=SIGTERM', 'MemoryDenyWriteExecute=yes'])
		assert.ok(unit.split('\n').includes(line), `wardd.service has ${line}`);
	assert.match(unit, /^ExecStart=\/usr\/local\/sbin\/wardd --config \/etc\/ward\/wardd.conf/m);
});
