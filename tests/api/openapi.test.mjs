// docs/openapi.yaml and wardd's route table (wardd --routes) agree: every route is in the
// document with the same method and the same roles (x-roles), and the document describes no
// route that wardd does not serve.  The YAML is read with python3-yaml (node has no YAML parser).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { WARDD } from './helper.mjs';

const top = process.env.WARD_TOP || path.resolve(new URL('../..', import.meta.url).pathname);
const docPath = path.join(top, 'docs', 'openapi.yaml');
const doc = JSON.parse(execFileSync('python3', ['-c',
	'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1], encoding="utf-8")), sys.stdout)',
	docPath], { encoding: 'utf8' }));
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const key = (m, p) => `${m.toUpperCase()} ${p}`;

const table = new Map(execFileSync(WARDD, ['--routes'], { encoding: 'utf8' }).trim().split('\n')
	.map((l) => { const [m, p, ...roles] = l.split(' '); return [key(m, p), roles.sort()]; }));
const described = new Map();
for (const [p, item] of Object.entries(doc.paths || {}))
	for (const m of METHODS)
		if (item[m]) described.set(key(m, p), item[m]);

test('the document is OpenAPI 3.1 with paths', () => {
	assert.match(String(doc.openapi), /^3\.1\./);
	assert.ok(described.size > 0);
});

for (const [k, roles] of table) {
	test(`${k} is in docs/openapi.yaml with x-roles ${roles.join(',')}`, () => {
		const op = described.get(k);
		assert.ok(op, `add ${k} under paths: in docs/openapi.yaml`);
		assert.ok(Array.isArray(op['x-roles']), `${k} needs an x-roles list`);
		assert.deepEqual([...op['x-roles']].sort(), roles, `x-roles of ${k} differ from the route table`);
		assert.ok(op.responses && Object.keys(op.responses).length > 0, `${k} describes no responses`);
	});
}

test('the document describes no route that wardd does not serve', () => {
	const extra = [...described.keys()].filter((k) => !table.has(k));
	assert.deepEqual(extra, [], 'routes in docs/openapi.yaml but not in wardd --routes');
});

test('every operation with a path {id} declares the parameter', () => {
	for (const [p, item] of Object.entries(doc.paths)) {
		if (!p.includes('{id}')) continue;
		for (const m of METHODS) {
			if (!item[m]) continue;
			const params = [...(item.parameters || []), ...(item[m].parameters || [])];
			assert.ok(params.length > 0, `${key(m, p)} declares no parameters`);
		}
	}
});

test('every $ref in the document resolves', () => {
	const missing = [];
	const walk = (v) => {
		if (Array.isArray(v)) { v.forEach(walk); return; }
		if (!v || typeof v !== 'object') return;
		for (const [k, x] of Object.entries(v)) {
			if (k === '$ref' && typeof x === 'string') {
				let t = doc;
				for (const part of x.replace(/^#\//, '').split('/')) t = t?.[part];
				if (t === undefined) missing.push(x);
			} else walk(x);
		}
	};
	walk(doc);
	assert.deepEqual(missing, []);
});

test('every error response is application/problem+json', () => {
	const bad = [];
	for (const [k, op] of described)
		for (const [code, resp] of Object.entries(op.responses)) {
			if (Number(code) < 400) continue;
			let r = resp;
			if (r.$ref) r = r.$ref.replace(/^#\//, '').split('/').reduce((t, x) => t?.[x], doc);
			if (!r?.content?.['application/problem+json']) bad.push(`${k} ${code}`);
		}
	assert.deepEqual(bad, []);
});
