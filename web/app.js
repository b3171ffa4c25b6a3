// app.js: sign-in, the navigation each role sees, and the router (#/report, #/dashboard, ...).
import { currentSession, signIn, signOut, hasRoute, ApiError } from './api.js';
import { h, page, notice, field, errorNotice } from './ui.js';
import { reportPage, myConcernsPage, clearDrafts } from './report.js';
import { dashboardPage } from './dashboard.js';
import { casePage } from './case.js';
import { usersPage, auditPage, securityPage, settingsPage, tokensPage, pupilPageAdmin } from './admin.js';
import { resourcesPage } from './resources.js';
import { childrenPage, childPage } from './children.js';
import { trustPage } from './trust.js';

let session = null;

const DSL = ['dsl', 'deputy-dsl'];
// Each role's pages: [hash, label, render]; the first is the role's home.
const PAGES = {
	staff: [['#/report', 'Report a concern', reportPage], ['#/mine', 'My concerns', myConcernsPage]],
	dsl: [['#/dashboard', 'Dashboard', dashboardPage], ['#/children', 'Children', childrenPage], ['#/report', 'Report a concern', reportPage]],
	admin: [['#/users', 'Users', usersPage], ['#/settings', 'School settings', settingsPage], ['#/tokens', 'Detector tokens', tokensPage], ['#/pupil-page', 'Pupil page', pupilPageAdmin]],
	auditor: [['#/audit', 'Audit log', auditPage]],
	'trust-lead': [['#/trust', 'Trust overview', trustPage]],
};
const COMMON = [['#/resources', 'Help and resources', resourcesPage], ['#/security', 'Two-step sign-in', securityPage]];

let hasTotp = true;
function pagesFor(role) {
	return [...(PAGES[DSL.includes(role) ? 'dsl' : role] || []), ...COMMON.filter(([p]) => p !== '#/security' || hasTotp)];
}

function renderNav() {
	const nav = document.getElementById('nav');
	if (!session) { nav.replaceChildren(); return; }
	if (session.enrolment_required) {
		nav.replaceChildren(h('span', { class: 'who' }, h('button', { type: 'button', onclick: doSignOut }, 'Sign out')));
		return;
	}
	const here = location.hash || '';
	// A link to the page already shown redraws it (the hash does not change, so no hashchange).
	const links = pagesFor(session.user.role).map(([hash, label]) =>
		h('a', { href: hash, 'aria-current': here.startsWith(hash) ? 'page' : undefined,
			onclick: () => { if (location.hash === hash) setTimeout(route, 0); } }, label));
	nav.replaceChildren(...links, h('span', { class: 'who' },
		h('span', {}, `${session.user.username} (${session.user.role})`),
		h('button', { type: 'button', onclick: doSignOut }, 'Sign out')));
}

async function doSignOut() {
	clearDrafts();
	try { await signOut(); } catch { /* signed out locally either way */ }
	session = null;
	location.hash = '#/';
	route();
}

function signInPage(message) {
	const school = field('School', { name: 'school', autocomplete: 'organization', required: true,
		value: localStorage.getItem('ward.school') || '' });
	const user = field('Username', { name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
	const pw = field('Password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
	const code = field('Code from your authenticator app', { name: 'totp', inputmode: 'numeric', autocomplete: 'one-time-code',
		pattern: '[0-9]{6,8}', maxlength: '8', class: 'short' }, 'Six digits, shown by the app on your phone.');
	code.wrap.hidden = true;
	const status = h('div', { 'aria-live': 'polite' }, message ? notice('warn', message) : null);
	const form = h('form', { class: 'card', novalidate: true }, school.wrap, user.wrap, pw.wrap, code.wrap,
		h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Sign in')));
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		status.replaceChildren();
		const missing = [school, user, pw].filter((f) => !f.input.value.trim());
		if (missing.length) {
			status.replaceChildren(notice('error', 'Fill in your school, username and password.'));
			missing[0].input.focus();
			return;
		}
		try {
			session = await signIn(school.input.value.trim(), user.input.value.trim(), pw.input.value,
				code.wrap.hidden ? undefined : code.input.value.trim());
			localStorage.setItem('ward.school', school.input.value.trim());
			hasTotp = await hasRoute('/api/v1/session/totp');
			const home = pagesFor(session.user.role)[0][0];
			if (!location.hash.startsWith('#/') || location.hash === '#/' || location.hash === '#/signin') location.hash = home;
			else route();
		} catch (e) {
			if (e instanceof ApiError && needsCode(e)) {
				code.wrap.hidden = false;
				status.replaceChildren(notice('warn', 'This account uses two-step sign-in: enter the code from your authenticator app.'));
				code.input.focus();
			} else {
				status.replaceChildren(errorNotice(e));
			}
		}
	});
	page('Sign in to ward', status, form,
		h('p', {}, 'Staff report concerns here; the designated safeguarding lead (DSL) sees them at once. If you cannot sign in and a child is at risk, tell the DSL in person now.'));
}

// wardd says a one-time code is needed (or was wrong) when its answer mentions one.
function needsCode(e) {
	const b = e.body || {};
	return b.totp_required === true || /totp|one-time code|two-step|authenticator/i.test(`${e.title} ${e.detail}`);
}

async function route() {
	if (!session) {
		session = await currentSession().catch(() => null);
		if (session) hasTotp = await hasRoute('/api/v1/session/totp');
	}
	renderNav();
	if (!session) { signInPage(); return; }
	if (session.enrolment_required) {
		await securityPage(session, '', () => { session.enrolment_required = false; renderNav(); });
		return;
	}
	const hash = location.hash || '';
	const mine = pagesFor(session.user.role);
	try {
		const m = hash.match(/^#\/case\/(\d+)$/);
		if (m && DSL.includes(session.user.role)) { await casePage(session, Number(m[1])); return; }
		if (m && session.user.role === 'staff') { await casePage(session, Number(m[1])); return; }
		if (/^#\/children\/\d+$/.test(hash) && DSL.includes(session.user.role)) { await childPage(session, hash); return; }
		const hit = mine.find(([p]) => hash === p || hash.startsWith(`${p}/`));
		if (hit) { await hit[2](session, hash); return; }
		location.replace(mine[0][0]);
	} catch (e) {
		if (e instanceof ApiError && e.status === 401) { session = null; renderNav(); signInPage('Your session has ended: sign in again.'); return; }
		page('Something went wrong', errorNotice(e));
	}
}

// wardd's emails link to /concerns/{id} and /alerts/{id}: show that case, or the dashboard.
{
	const m = location.pathname.match(/^\/(concerns|alerts)\/(\d+)$/);
	if (m) history.replaceState(null, '', m[1] === 'concerns' ? `/#/case/${m[2]}` : '/#/dashboard');
}

window.addEventListener('hashchange', (ev) => {
	// The skip link's #main is not a page.
	if (!location.hash.startsWith('#/')) {
		if (location.hash === '#main') { document.getElementById('main').focus(); history.replaceState(null, '', ev.oldURL); }
		return;
	}
	route();
});
route();
