// Helpers for the pupil page's tests: a POST from a chosen loopback address (127.0.0.N), so
// tests keep apart in the per-address limits, and the form-then-report round a child's browser
// makes.  Not a test file itself (tests/api/pupil_limits.test.mjs, tests/pg/pg.test.mjs).
import http from 'node:http';
import assert from 'node:assert/strict';

export const pupilWords = 'Someone I met in a game keeps asking me to keep our chats secret and to use a private app.';

export const busyTitle = 'Too many messages';

export function pupilPost(base, path, body, from = '127.0.0.1', headers = {}) {
	const data = JSON.stringify(body);
	const u = new URL(base + path);
	return new Promise((resolve, reject) => {
		const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', localAddress: from,
			agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers } }, (res) => {
			let t = '';
			res.setEncoding('utf8');
			res.on('data', (d) => { t += d; });
			res.on('end', () => {
				let json = null;
				try { json = JSON.parse(t); } catch { }
				resolve({ status: res.statusCode, json, text: t });
			});
		});
		req.on('error', reject);
		req.end(data);
	});
}

// Opens the form and sends a report from address from; the report's answer, or the form's
// when the form was refused.
export async function pupilReport(base, code, from, extra = {}) {
	const f = await pupilPost(base, '/api/v1/pupil/form', { code }, from);
	if (f.status !== 200) return f;
	return pupilPost(base, '/api/v1/pupil/reports',
		{ code, form_token: f.json.form_token, what_happened: pupilWords, safe_now: 'yes', ...extra }, from);
}

// The refusal a child sees at a limit: 429, kind words, Childline and 999.
export function isBusy(r) {
	assert.equal(r.status, 429, r.text);
	assert.equal(r.json.title, busyTitle);
	assert.match(r.json.detail, /0800 1111/);
	assert.match(r.json.detail, /999/);
}
