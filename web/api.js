// api.js: the one way the pages talk to wardd: its JSON API, with the session cookie (HttpOnly,
// set by wardd) and the CSRF token that every state-changing request carries.

let csrf = null;

// A refused or failed request: status (0 when the network failed), and wardd's problem title
// and detail (RFC 9457) in words a person can act on.
export class ApiError extends Error {
	constructor(status, title, detail, body) {
		super(detail || title);
		this.status = status;
		this.title = title;
		this.detail = detail;
		this.body = body || null;
	}
	get offline() { return this.status === 0; }
}

// Sends one request; resolves with the parsed JSON (or null for 204), rejects with ApiError.
export async function api(method, path, body) {
	const headers = { accept: 'application/json' };
	if (body !== undefined) headers['content-type'] = 'application/json';
	if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
	let r;
	try {
		r = await fetch(path, { method, headers, credentials: 'same-origin', cache: 'no-store',
			body: body === undefined ? undefined : JSON.stringify(body) });
	} catch {
		throw new ApiError(0, 'No connection', 'ward could not be reached: check the connection and try again.');
	}
	const text = await r.text();
	let json = null;
	try { json = text ? JSON.parse(text) : null; } catch { json = null; }
	if (!r.ok) {
		throw new ApiError(r.status, (json && json.title) || `Error ${r.status}`,
			(json && json.detail) || 'ward refused the request.', json);
	}
	return json;
}

// Who is signed in: { user, csrf_token } or null.
export async function currentSession() {
	try {
		const s = await api('GET', '/api/v1/session');
		csrf = s.csrf_token;
		return s;
	} catch (e) {
		if (e.status === 401) return null;
		throw e;
	}
}

// Signs in; rejects with ApiError (its body says when a one-time code is needed).
export async function signIn(school, username, password, totp) {
	const body = { school, username, password };
	if (totp) body.totp = totp;
	const s = await api('POST', '/api/v1/session', body);
	csrf = s.csrf_token;
	return s;
}

export async function signOut() {
	try { await api('DELETE', '/api/v1/session'); } finally { csrf = null; }
}

// True when this wardd serves the path (features are modules a build may leave out): only
// 404 "no such path" means no; any other answer, even 403 or 405, means the path exists.
const known = new Map();
export async function hasRoute(path) {
	if (known.has(path)) return known.get(path);
	let yes = true;
	try { await api('GET', path); } catch (e) { yes = !(e.status === 404 && /no such path/.test(e.detail || '')); }
	known.set(path, yes);
	return yes;
}

// Static data built from libward and guidance/response.txt (ward areas --json, ward guide --json).
let areasP = null, guideP = null;
export function areas() { return areasP ||= fetch('/static/areas.json').then((r) => r.json()); }
export function guide() { return guideP ||= fetch('/static/guide.json').then((r) => r.json()); }
