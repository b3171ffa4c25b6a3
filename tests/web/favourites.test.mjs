// favourites.test.mjs: `ward admin favourites` writes the managed-bookmark policies for
// Chromium, Chrome and Edge (JSON, and the Windows registry file) and merges Firefox's
// policies.json without losing a school's own policies; runs twice without duplicates; refuses
// a broken policies.json and leaves it alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { WARD } from '../api/helper.mjs';

const CEOP = 'https://www.ceop.police.uk/Safety-Centre/';
const TUK = 'https://www.thinkuknow.co.uk/';
const tmp = () => mkdtempSync(path.join(process.env.WARD_API_TMP || '/tmp', 'fav-'));
const fav = (...args) => spawnSync(WARD, ['admin', 'favourites', ...args], { encoding: 'utf8' });
const json = (p) => JSON.parse(readFileSync(p, 'utf8'));

test('--out writes Chromium/Edge JSON, a Windows .reg and Firefox policies.json', () => {
	const d = tmp();
	const r = fav('--out', d);
	assert.equal(r.status, 0, r.stderr);
	const mb = json(path.join(d, 'managed-bookmarks.json')).ManagedBookmarks;
	assert.deepEqual(mb[0], { toplevel_name: 'Child safety' });
	assert.deepEqual(mb.slice(1).map((b) => b.url), [CEOP, TUK]);
	assert.ok(mb.slice(1).every((b) => typeof b.name === 'string' && b.name.length > 0));
	const ff = json(path.join(d, 'policies.json')).policies.Bookmarks;
	assert.deepEqual(ff.map((b) => [b.URL, b.Folder, b.Placement]), [[CEOP, 'Child safety', 'toolbar'], [TUK, 'Child safety', 'toolbar']]);
	const reg = readFileSync(path.join(d, 'ward-favourites.reg'), 'utf8');
	assert.match(reg, /^Windows Registry Editor Version 5\.00\r\n/);
	for (const key of ['Google\\\\Chrome', 'Microsoft\\\\Edge'])
		assert.match(reg, new RegExp(`\\[HKEY_LOCAL_MACHINE\\\\SOFTWARE\\\\Policies\\\\${key}\\]\\r\\n"ManagedBookmarks"="`));
	// The registry string, unescaped, is the same JSON list.
	const m = reg.match(/"ManagedBookmarks"="((?:[^"\\]|\\.)*)"/);
	assert.deepEqual(JSON.parse(m[1].replace(/\\(.)/g, '$1')), mb);
});

test('Firefox: a school\'s own policies and bookmarks are kept; twice is the same as once', () => {
	const d = tmp();
	const mine = { policies: { DisableTelemetry: true, Homepage: { URL: 'https://school.example/', Locked: true },
		Bookmarks: [{ Title: 'School site', URL: 'https://school.example/', Placement: 'toolbar' }, { Title: 'Old CEOP link', URL: CEOP }] } };
	writeFileSync(path.join(d, 'policies.json'), JSON.stringify(mine));
	assert.equal(fav('--out', d, '--folder', 'Staying safe').status, 0);
	const once = readFileSync(path.join(d, 'policies.json'), 'utf8');
	const p = JSON.parse(once).policies;
	assert.equal(p.DisableTelemetry, true);
	assert.deepEqual(p.Homepage, mine.policies.Homepage);
	assert.deepEqual(p.Bookmarks.map((b) => b.Title), ['School site', 'CEOP: report online abuse', 'Thinkuknow']);
	assert.ok(p.Bookmarks.slice(1).every((b) => b.Folder === 'Staying safe'));
	assert.equal(fav('--out', d, '--folder', 'Staying safe').status, 0);
	assert.equal(readFileSync(path.join(d, 'policies.json'), 'utf8'), once);
	// --merge reads another file and leaves it alone.
	const e = tmp(), src = path.join(e, 'theirs.json');
	writeFileSync(src, JSON.stringify(mine));
	assert.equal(fav('--out', path.join(e, 'out'), '--merge', src).status, 0);
	assert.equal(readFileSync(src, 'utf8'), JSON.stringify(mine));
	assert.equal(json(path.join(e, 'out', 'policies.json')).policies.Bookmarks.length, 3);
});

test('a broken policies.json is refused, named and left unchanged', () => {
	for (const bad of ['{"policies": {', '[1, 2]', '{"policies": {"Bookmarks": {}}}', '{"policies": []}', '{"a": 1, "a": 2}']) {
		const d = tmp();
		writeFileSync(path.join(d, 'policies.json'), bad);
		const r = fav('--out', d);
		assert.equal(r.status, 2, bad);
		assert.match(r.stderr, /policies\.json: .*left unchanged/, bad);
		assert.equal(readFileSync(path.join(d, 'policies.json'), 'utf8'), bad);
	}
});

test('--install --root writes each browser\'s policy folder and merges Firefox\'s', () => {
	const root = tmp();
	mkdirSync(path.join(root, 'etc/firefox/policies'), { recursive: true });
	writeFileSync(path.join(root, 'etc/firefox/policies/policies.json'), '{"policies":{"DisableAppUpdate":true}}');
	const r = fav('--install', '--root', root);
	assert.equal(r.status, 0, r.stderr);
	for (const dir of ['etc/chromium/policies/managed', 'etc/opt/chrome/policies/managed', 'etc/opt/edge/policies/managed'])
		assert.deepEqual(json(path.join(root, dir, 'ward-favourites.json')).ManagedBookmarks.slice(1).map((b) => b.url), [CEOP, TUK]);
	const p = json(path.join(root, 'etc/firefox/policies/policies.json')).policies;
	assert.equal(p.DisableAppUpdate, true);
	assert.equal(p.Bookmarks.length, 2);
	assert.ok(!existsSync(path.join(root, 'etc/firefox/policies/policies.json.ward-tmp')));
});

test('usage mistakes are refused with the usage', () => {
	for (const args of [[], ['--out', '/tmp/x', '--install'], ['--root', '/tmp/x'], ['--install', '--merge', '/tmp/x'], ['--out', '/tmp/x', 'extra'], ['--bogus']]) {
		const r = fav(...args);
		assert.equal(r.status, 2, args.join(' '));
		assert.match(r.stderr, /usage: ward admin favourites/);
	}
});
