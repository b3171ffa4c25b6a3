// wardd_alerts.mjs: the detector suites' window on a real wardd, as the DSL sees it.
//   node wardd_alerts.mjs login BASE SCHOOL USER PASSWORD COOKIEFILE
//     signs in (enrolling the DSL's authenticator when wardd asks) and keeps the session cookie
//   node wardd_alerts.mjs dump BASE COOKIEFILE RECORD
//     reads every alert (GET /api/v1/alerts, then each one) and writes RECORD, one alert a line
//     in the test receiver's format (tests/icap/receiver.py), and RECORD.all, each alert as
//     many times as wardd counted it (merged duplicates included)
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Client } from '../api/helper.mjs';

const [cmd, base, ...rest] = process.argv.slice(2);
const KEYS = ['area', 'rule', 'severity', 'source', 'subject', 'time', 'excerpt', 'start', 'end',
	'dedup_key', 'url'];
// Python's json.dumps layout, so the suites' patterns read the same for both receivers.
const line = (a) => '{' + KEYS.map((k) => `${JSON.stringify(k)}: ${JSON.stringify(a[k] ?? null)}`)
	.join(', ') + '}\n';

if (cmd === 'login') {
	const [school, user, pw, cookieFile] = rest;
	const c = await new Client(base).signIn(school, user, pw);
	writeFileSync(cookieFile, c.cookie);
} else if (cmd === 'dump') {
	const [cookieFile, record] = rest;
	const c = new Client(base);
	c.cookie = readFileSync(cookieFile, 'utf8').trim();
	const l = await c.req('GET', '/api/v1/alerts');
	if (l.status !== 200) throw new Error(`GET /api/v1/alerts: ${l.status} ${l.text}`);
	let one = '', all = '';
	for (const s of l.json.alerts.sort((x, y) => x.first_seen - y.first_seen || x.id - y.id)) {
		const a = await c.req('GET', `/api/v1/alerts/${s.id}`);
		if (a.status !== 200) throw new Error(`GET /api/v1/alerts/${s.id}: ${a.status}`);
		one += line(a.json);
		all += line(a.json).repeat(a.json.count);
	}
	writeFileSync(`${record}.tmp`, one);
	writeFileSync(`${record}.all.tmp`, all);
	renameSync(`${record}.tmp`, record);
	renameSync(`${record}.all.tmp`, `${record}.all`);
} else {
	console.error('usage: wardd_alerts.mjs login|dump ...');
	process.exit(2);
}
