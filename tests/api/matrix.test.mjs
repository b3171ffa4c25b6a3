// The access matrix, generated from wardd's own route table (wardd --routes): every route times
// every role, anonymous, and a DSL of another school.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { WARDD, ROLES, makeData, startWardd, stopWardd, Client, concernBody } from './helper.mjs';

const routes = execFileSync(WARDD, ['--routes'], { encoding: 'utf8' }).trim().split('\n').map((l) => {
	const [method, path, ...roles] = l.split(' ');
	return { method, path, roles };
});
let w, dir, clients = {}, concernId, n = 0;

before(async () => {
	dir = makeData();
	w = await startWardd(dir);
	for (const r of ROLES) clients[r] = await new Client(w.base).signIn('School A', r);
	clients['dsl-other-school'] = await new Client(w.base).signIn('School B', 'dsl-b');
	clients.anonymous = new Client(w.base);
	const c = await clients.staff.req('POST', '/api/v1/concerns', concernBody());
	assert.equal(c.status, 201);
	concernId = c.json.id;
});
after(async () => { await stopWardd(w); });

async function body(method, path) {
	if (method === 'POST' && path === '/api/v1/session') return { school: 'School A', username: 'staff', password: 'a long test password' };
	if (method === 'POST' && path === '/api/v1/users') return { username: `made-${++n}`, password: 'another long password', role: 'staff' };
	if (method === 'POST' && path === '/api/v1/concerns') return concernBody(++n);
	if (method === 'PATCH') {
		const c = await clients.dsl.req('GET', `/api/v1/concerns/${concernId}`);
		return { version: c.json.version, status: 'acknowledged' };
	}
	return undefined;
}

test('the route table lists routes', () => { assert.ok(routes.length >= 10); });

for (const rt of routes) {
	for (const actor of ['anonymous', ...ROLES, 'dsl-other-school']) {
		const role = actor === 'dsl-other-school' ? 'dsl' : actor;
		const allowed = rt.roles.includes('anonymous') || rt.roles.includes(role);
		const otherSchool = actor === 'dsl-other-school' && rt.path.includes('{id}');
		test(`${rt.method} ${rt.path} as ${actor}: ${allowed && !otherSchool ? 'allowed' : 'refused'}`, async () => {
			let c = clients[actor];
			if (rt.method === 'DELETE' && rt.path === '/api/v1/session' && actor !== 'anonymous')
				c = await new Client(w.base).signIn(actor === 'dsl-other-school' ? 'School B' : 'School A',
					actor === 'dsl-other-school' ? 'dsl-b' : actor);
			const p = rt.path.replace('{id}', String(concernId));
			const r = await c.req(rt.method, p, await body(rt.method, rt.path));
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
