// tests/pg/skip-sqlite.mjs: loaded into every test process of the PostgreSQL run (--import).
// The API suite's tests that open or edit the SQLite file itself (tampering through sqlite3,
// the file's bytes, backup and restore of ward.db) are reported as skipped there; tests/pg/
// pg.test.mjs makes the same checks against PostgreSQL.  Every other test runs unchanged.
import { createRequire, syncBuiltinESMExports } from 'node:module';

const require = createRequire(import.meta.url);
const nodeTest = require('node:test');
const SQLITE_ONLY = new Set([
	'audit verify covers every alert row: an altered row is found',
	'custody rows and pupil records are covered by audit verify: a tampered row is named',
	'enrolment is audited; the secret is not in the database in the clear',
	'tampering: an edited audit entry is named',
	'tampering: a deleted audit entry is named',
	'tampering: an edited concern row is named',
	'tampering: a rewritten entry with a recomputed-looking hash breaks the next link',
	'the database refuses updates to the audit log',
	'narrative fields are encrypted at rest',
	'backup while running, then restore, keeps every concern and the chain',
	'no database: status 2 and how to make one',
	'a read the audit log refuses is answered 503 and shows nothing of the concern',
]);
const orig = nodeTest.test;
function test(name, ...rest) {
	if (typeof name === 'string' && SQLITE_ONLY.has(name))
		return orig(name, { skip: 'works on the SQLite file; tests/pg/pg.test.mjs checks PostgreSQL' }, () => {});
	return orig(name, ...rest);
}
for (const k of Object.keys(orig)) test[k] = orig[k];
nodeTest.test = test;
syncBuiltinESMExports();
