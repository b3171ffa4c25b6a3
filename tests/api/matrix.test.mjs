// The access matrix, generated from wardd's own route table (wardd --routes): every route times
// every role, anonymous, and a DSL of another school.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { WARDD, ROLES, makeData, startWardd, stopWardd, Client, concernBody } from './helper.mjs';

const routes = execFileSync(WARDD, ['--routes'], { encoding: 'utf8' }).trim().split('\n').map((l) => {
	const [method, path, ...roles] = l.split(' ');
	return { method, path, roles };
});
const fixtures = await Promise.all(readdirSync(new URL('./fixtures/', import.meta.url))
	.filter((f) => f.endsWith('.mjs')).sort()
	.map((f) => import(new URL(`./fixtures/${f}`, import.meta.url))));
let w, dir, clients = {}, concernId;
const ctx = { clients, state: {} };

before(async () => {
	dir = makeData();
	w = await startWardd(dir);
	ctx.w = w;
	for (const r of ROLES) clients[r] = await new Client(w.base).signIn('School A', r);
	clients['dsl-other-school'] = await new Client(w.base).signIn('School B', 'dsl-b');
	clients.anonymous = new Client(w.base);
	for (const f of fixtures) await f.setup(ctx);
	concernId = ctx.state.concernId;
});
after(async () => { await stopWardd(w); });

test('the route table lists routes', () => { assert.ok(routes.length >= 10); });

for (const rt of routes) {
	test(`${rt.method} ${rt.path} has a fixture`, () => {
		assert.ok(fixtures.some((f) => f.handles(rt.method, rt.path)),
			'add the route to a file in tests/api/fixtures/');
	});
	for (const actor of ['anonymous', ...ROLES, 'dsl-other-school']) {
		const role = actor === 'dsl-other-school' ? 'dsl' : actor;
		const allowed = rt.roles.includes('anonymous') || rt.roles.includes(role);
		const otherSchool = actor === 'dsl-other-school' && rt.path.includes('{id}');
		test(`${rt.method} ${rt.path} as ${actor}: ${allowed && !otherSchool ? 'allowed' : 'refused'}`, async () => {
			const f = fixtures.find((x) => x.handles(rt.method, rt.path));
			assert.ok(f, 'no fixture for this route');
			let c = clients[actor];
			if (rt.method === 'DELETE' && rt.path === '/api/v1/session' && actor !== 'anonymous')
				c = await new Client(w.base).signIn(actor === 'dsl-other-school' ? 'School B' : 'School A',
					actor === 'dsl-other-school' ? 'dsl-b' : actor);
			const { ids, body } = await f.prepare(ctx, rt.method, rt.path, actor);
			let k = 0;
			const p = rt.path.replace(/\{id\}/g, () => String(ids[k++]));
			const r = await c.req(rt.method, p, body);
			if (allowed && !otherSchool) {
				assert.ok(r.status >= 200 && r.status < 300, `status ${r.status}: ${r.text}`);
			} else {
				const want = otherSchool ? 404 : actor === 'anonymous' ? 401 : 403;
				assert.equal(r.status, want, r.text);
				assert.match(r.headers.get('content-type'), /application\/problem\+json/);
				assert.ok(r.json.title && r.json.detail);
			}
		});
	}
}

test('a staff member reads only their own concerns', async () => {
	const other = await new Client(w.base).signIn('School A', 'dsl');
	const mine = await other.req('POST', '/api/v1/concerns', concernBody(900));
	assert.equal(mine.status, 201);
	const r = await clients.staff.req('GET', `/api/v1/concerns/${mine.json.id}`);
	assert.equal(r.status, 404);
	const list = await clients.staff.req('GET', '/api/v1/concerns');
	assert.ok(list.json.concerns.every((c) => c.reporter_id === list.json.concerns[0].reporter_id));
	assert.ok(!list.json.concerns.some((c) => c.id === mine.json.id));
});

test('every read of a concern is in the audit log', async () => {
	await clients.dsl.req('GET', `/api/v1/concerns/${concernId}`);
	const a = await clients.auditor.req('GET', '/api/v1/audit');
	assert.ok(a.json.entries.some((e) => e.action === 'concern.read' && e.target === `concern/${concernId}`));
	const v = await clients.auditor.req('GET', '/api/v1/audit/verify');
	assert.equal(v.json.intact, true, v.json.detail);
});

test('a change is a new version, the old one kept', async () => {
	const v = await clients.dsl.req('GET', `/api/v1/concerns/${concernId}/versions`);
	assert.ok(v.json.versions.length >= 2);
	assert.equal(v.json.versions[0].status, 'new');
	const stale = await clients.dsl.req('PATCH', `/api/v1/concerns/${concernId}`, { version: 1, status: 'closed' });
	assert.equal(stale.status, 409);
});
