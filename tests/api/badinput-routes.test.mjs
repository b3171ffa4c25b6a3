// Bad input on every route that takes a body, generated from wardd's route table (wardd --routes)
// like the access matrix: malformed JSON, a body that is not an object, an unknown field, invalid
// UTF-8, a 10 MB body, and a missing CSRF token.  Each is refused with a 4xx problem body, never
// a crash, and wardd still answers afterwards.  The caller is a role the route allows, with the
// {id}s the route's fixture gives, so the refusal is about the body and not about access.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { WARDD, ROLES, makeData, startWardd, stopWardd, Client } from './helper.mjs';

const top = process.env.WARD_TOP || path.resolve(new URL('../..', import.meta.url).pathname);
const doc = JSON.parse(execFileSync('python3', ['-c',
	'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1], encoding="utf-8")), sys.stdout)',
	path.join(top, 'docs', 'openapi.yaml')], { encoding: 'utf8' }));
const routes = execFileSync(WARDD, ['--routes'], { encoding: 'utf8' }).trim().split('\n').map((l) => {
	const [method, path, ...roles] = l.split(' ');
	return { method, path, roles };
}).filter((r) => ['POST', 'PUT', 'PATCH'].includes(r.method) && r.roles.length > 0);
const fixtures = await Promise.all(readdirSync(new URL('./fixtures/', import.meta.url))
	.filter((f) => f.endsWith('.mjs')).sort()
	.map((f) => import(new URL(`./fixtures/${f}`, import.meta.url))));
let w;
const clients = {};
const ctx = { clients, state: {} };

before(async () => {
	w = await startWardd(makeData());
	ctx.w = w;
	for (const r of ROLES) clients[r] = await new Client(w.base).signIn('School A', r);
	clients['dsl-other-school'] = await new Client(w.base).signIn('School B', 'dsl-b');
	clients.anonymous = new Client(w.base);
	for (const f of fixtures) await f.setup(ctx);
});
after(async () => {
	const r = await fetch(w.base + '/healthz');
	assert.equal(r.status, 200, 'wardd still answers after the bad input');
	assert.equal(await stopWardd(w), 0, 'clean exit on SIGTERM');
});

function problem(r, statuses) {
	assert.ok(statuses.includes(r.status), `status ${r.status}, wanted ${statuses}: ${r.text}`);
	assert.match(r.headers.get('content-type') || '', /application\/problem\+json/);
	assert.ok(r.json && r.json.title && r.json.detail && r.json.detail.length > 5, r.text);
}

const utf8Bad = Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from('"}')]);
const cases = {
	'malformed JSON': ['{"name": ', [400]],
	'a body that is not an object': ['[1, 2, 3]', [400]],
	'an unknown field': ['{"no_such_field_anywhere": 1}', [400]],
	'invalid UTF-8': [utf8Bad, [400]],
	'a lone surrogate escape': ['{"name": "\\ud800"}', [400]],
	'JSON nested 100000 deep': ['['.repeat(100000), [400, 413]],
	'a 10 MB body': ['{"name":"' + 'a'.repeat(10 * 1024 * 1024) + '"}', [413]],
};

for (const rt of routes) {
	const actor = rt.roles.includes('anonymous') ? 'anonymous'
		: ['dsl', 'admin', 'staff', 'auditor', 'deputy-dsl'].find((r) => rt.roles.includes(r));
	const target = async () => {
		if (!rt.path.includes('{id}')) return rt.path;
		const f = fixtures.find((x) => x.handles(rt.method, rt.path));
		assert.ok(f, 'no fixture for this route');
		const { ids } = await f.prepare(ctx, rt.method, rt.path, actor);
		let k = 0;
		return rt.path.replace(/\{id\}/g, () => String(ids[k++]));
	};
	// A route documented without a request body may ignore a well-formed one; any other body
	// it must refuse like every route.
	const takesBody = !!doc.paths?.[rt.path]?.[rt.method.toLowerCase()]?.requestBody;
	for (const [name, [body, statuses]] of Object.entries(cases))
		if (takesBody || !['a body that is not an object', 'an unknown field'].includes(name)) test(`${rt.method} ${rt.path} as ${actor} with ${name}`, async () => {
			problem(await clients[actor].req(rt.method, await target(), body, { raw: true }), statuses);
		});
	if (actor !== 'anonymous')
		test(`${rt.method} ${rt.path} as ${actor} without a CSRF token`, async () => {
			const r = await clients[actor].req(rt.method, await target(), {}, { csrf: false });
			problem(r, [403]);
			assert.match(r.json.detail, /X-CSRF-Token/);
		});
}
