// admin.js: accounts (admin), the audit log with the chain's state (auditor), and two-step
// sign-in: enrolling an authenticator app with a QR code (everyone; wardd requires it of the
// DSL team and admins before they can do anything else).
import { api } from './api.js';
import { h, page, notice, field, errorNotice, when } from './ui.js';

const ROLES = [['staff', 'Staff: reports concerns, sees their own'], ['dsl', 'Designated safeguarding lead: every case'],
	['deputy-dsl', 'Deputy DSL: every case'], ['admin', 'Admin: accounts and settings, no case data'], ['auditor', 'Auditor: the audit log only']];

export async function usersPage() {
	const { users } = await api('GET', '/api/v1/users');
	const msg = h('div', { 'aria-live': 'polite' });
	const tbody = h('tbody', {});
	const row = (u) => h('tr', {}, h('td', {}, u.username), h('td', {}, u.role), h('td', {}, u.totp_enrolled ? 'Yes' : 'No'));
	tbody.append(...users.map(row));
	const name = field('Username', { name: 'new-username', autocomplete: 'off', required: true, maxlength: '63' });
	const pw = field('First password', { name: 'new-password', type: 'password', autocomplete: 'new-password', required: true, minlength: '12' },
		'At least 12 characters. Give it to the person face to face.');
	const role = field('Role', { tag: 'select', name: 'new-role' });
	role.input.append(...ROLES.map(([v, t]) => h('option', { value: v }, t)));
	const form = h('form', { class: 'card', novalidate: true }, h('h2', {}, 'Add an account'), name.wrap, pw.wrap, role.wrap,
		h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Add the account')));
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		if (!name.input.value.trim()) { msg.replaceChildren(notice('error', 'Give a username.')); name.input.focus(); return; }
		if (pw.input.value.length < 12) { msg.replaceChildren(notice('error', 'The password needs at least 12 characters.')); pw.input.focus(); return; }
		try {
			const u = await api('POST', '/api/v1/users', { username: name.input.value.trim(), password: pw.input.value, role: role.input.value });
			tbody.append(row(u));
			msg.replaceChildren(notice('ok', `Account ${u.username} added as ${u.role}.`));
			form.reset();
		} catch (e) { msg.replaceChildren(errorNotice(e)); }
	});
	page('Users', msg,
		h('div', { class: 'table-wrap card' }, h('table', {}, h('caption', { class: 'sr-only' }, 'Accounts in this school'),
			h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Username'), h('th', { scope: 'col' }, 'Role'), h('th', { scope: 'col' }, 'Two-step sign-in'))), tbody)),
		form);
}

export async function auditPage() {
	const [v, { entries }] = await Promise.all([api('GET', '/api/v1/audit/verify'), api('GET', '/api/v1/audit')]);
	page('Audit log',
		v.intact ? notice('ok', h('strong', {}, 'The chain is intact. '), `${v.entries} entries checked. ${v.detail || ''}`)
			: notice('error', h('strong', {}, 'The chain is broken: the record may have been altered. '), v.detail || ''),
		h('div', { class: 'table-wrap card' }, h('table', {}, h('caption', { class: 'sr-only' }, 'Audit entries, oldest first'),
			h('thead', {}, h('tr', {}, ['#', 'When', 'Who (account id)', 'Action', 'Target', 'From'].map((t) => h('th', { scope: 'col' }, t)))),
			h('tbody', {}, entries.map((e) => h('tr', {}, h('td', {}, String(e.seq)), h('td', {}, when(e.at)), h('td', {}, String(e.actor_id)),
				h('td', {}, e.action), h('td', {}, e.target), h('td', {}, e.source)))))),
		entries.length >= 500 ? h('p', {}, 'The first 500 entries are shown.') : null);
}

// Enrols an authenticator app: wardd makes a secret and its QR code (SVG, shown as an image);
// a code from the app confirms it.
export async function securityPage(session, _hash, onDone) {
	const msg = h('div', { 'aria-live': 'polite' });
	const intro = session.enrolment_required
		? notice('warn', h('strong', {}, 'Set up two-step sign-in first. '), 'Your role can open safeguarding records, so ward needs a code from an authenticator app on your phone as well as your password.')
		: session.user.totp_enrolled ? notice('ok', 'Two-step sign-in is set up for your account.') : null;
	const start = h('button', { type: 'button' }, session.user.totp_enrolled ? 'Set up a new authenticator app' : 'Set up an authenticator app');
	const area = h('div', {});
	start.addEventListener('click', async () => {
		msg.replaceChildren();
		let e;
		try { e = await api('POST', '/api/v1/session/totp'); } catch (err) { msg.replaceChildren(errorNotice(err)); return; }
		const code = field('The six-digit code the app shows now', { name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}', maxlength: '6', class: 'short' });
		const form = h('form', { class: 'card', novalidate: true },
			h('h2', {}, '1. Scan this code with the app'),
			h('p', {}, 'Use an authenticator app such as Google Authenticator, Microsoft Authenticator or FreeOTP.'),
			h('div', { class: 'qr' }, h('img', { src: `data:image/svg+xml;base64,${btoa(e.qr_svg)}`, alt: 'QR code for your authenticator app; the key to type instead is below', width: '220', height: '220' })),
			h('p', {}, 'Cannot scan? Type this key into the app instead: ', h('code', { class: 'secret', 'data-secret': e.secret }, e.secret.replace(/(.{4})/g, '$1 ').trim())),
			h('h2', {}, '2. Enter the code it shows'), code.wrap,
			h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Confirm')));
		form.addEventListener('submit', async (ev) => {
			ev.preventDefault();
			try {
				const s = await api('POST', '/api/v1/session/totp/confirm', { code: code.input.value.trim() });
				Object.assign(session, s);
				area.replaceChildren();
				msg.replaceChildren(notice('ok', h('strong', {}, 'Two-step sign-in is set up. '), 'From now on, sign in with your password and a code from the app.'));
				if (onDone) onDone(s);
			} catch (err) { msg.replaceChildren(errorNotice(err)); code.input.focus(); }
		});
		area.replaceChildren(form);
		code.input.focus();
	});
	page('Two-step sign-in', intro, msg, h('div', { class: 'actions' }, start), area);
}

// The school's alerting settings (admin): escalation time, addresses, mail server.
export async function settingsPage() {
	const s = await api('GET', '/api/v1/settings/notify');
	const msg = h('div', { 'aria-live': 'polite' });
	const num = (name, text, hint) => field(text, { name, type: 'number', min: '1', max: '10080', class: 'short', value: String(s[name] ?? '') }, hint);
	const txt = (name, text, hint) => field(text, { name, value: Array.isArray(s[name]) ? s[name].join(', ') : s[name] || '' }, hint);
	const f = {
		escalation_minutes: num('escalation_minutes', 'Escalate after (minutes)', 'A concern not acknowledged in this time goes to the deputy DSL, then the head.'),
		dedup_minutes: num('dedup_minutes', 'Merge repeated detection alerts within (minutes)'),
		dsl_emails: txt('dsl_emails', 'DSL email addresses', 'Separate addresses with commas.'),
		deputy_emails: txt('deputy_emails', 'Deputy DSL email addresses'),
		head_emails: txt('head_emails', 'Headteacher email addresses'),
		mail_from: txt('mail_from', 'Send email from'),
		smtp_url: txt('smtp_url', 'Mail server (SMTP URL)', 'For example smtp://mail.school.example:587'),
		base_url: txt('base_url', 'ward\u2019s address for links in email', 'For example https://ward.school.example/'),
	};
	const form = h('form', { class: 'card', novalidate: true }, Object.values(f).map((x) => x.wrap), h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save the settings')));
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const body = {};
		for (const [k, { input }] of Object.entries(f)) {
			const v = input.value.trim();
			const was = Array.isArray(s[k]) ? s[k].join(', ') : String(s[k] ?? '');
			if (v === was) continue; // only what changed
			if (k.endsWith('_minutes')) body[k] = Number(v);
			else if (k.endsWith('_emails')) body[k] = v ? v.split(',').map((x) => x.trim()).filter(Boolean) : [];
			else body[k] = v;
		}
		if (!Object.keys(body).length) { msg.replaceChildren(notice('', 'Nothing has changed.')); return; }
		try { Object.assign(s, await api('PUT', '/api/v1/settings/notify', body)); msg.replaceChildren(notice('ok', 'Settings saved.')); } catch (e) { msg.replaceChildren(errorNotice(e)); }
	});
	page('School settings', msg, form);
}

// Service tokens for detectors (the c-icap module, ward ingest): each shown once when made,
// revocable.  Admin only.
export async function tokensPage() {
	const { tokens } = await api('GET', '/api/v1/tokens');
	const msg = h('div', { 'aria-live': 'polite' });
	const tbody = h('tbody', {});
	const row = (t) => {
		const tr = h('tr', {}, h('td', {}, t.name), h('td', {}, when(t.created)), h('td', {}, t.revoked ? `Revoked ${when(t.revoked_at)}` : 'In use'), h('td', {}));
		if (!t.revoked)
			tr.lastChild.append(h('button', { type: 'button', class: 'secondary', onclick: async () => {
				if (!window.confirm(`Revoke the token ${t.name}? The detector using it stops sending alerts.`)) return;
				try { await api('POST', '/api/v1/tokens/revoke', { id: t.id }); tr.replaceWith(row({ ...t, revoked: true, revoked_at: Math.floor(Date.now() / 1000) })); msg.replaceChildren(notice('ok', `Token ${t.name} revoked.`)); } catch (e) { msg.replaceChildren(errorNotice(e)); }
			} }, 'Revoke', h('span', { class: 'sr-only' }, ` ${t.name}`)));
		return tr;
	};
	tbody.append(...tokens.map(row));
	const name = field('Name of the detector', { name: 'token-name', maxlength: '63', autocomplete: 'off' }, 'Letters, digits, dots, dashes or underscores, for example proxy-1.');
	const form = h('form', { class: 'card', novalidate: true }, h('h2', {}, 'Make a token'), name.wrap, h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Make the token')));
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		try {
			const t = await api('POST', '/api/v1/tokens', { name: name.input.value.trim() });
			tbody.append(row({ id: t.id, name: t.name, created: Math.floor(Date.now() / 1000), revoked: false }));
			msg.replaceChildren(notice('warn', h('strong', {}, `Token for ${t.name}, shown only now: `), h('code', { class: 'secret', 'data-token': t.token }, t.token),
				h('p', {}, 'Put it in the detector\u2019s token file now; ward keeps only its hash.')));
			form.reset();
		} catch (e) { msg.replaceChildren(errorNotice(e)); }
	});
	page('Detector tokens', h('p', {}, 'Detectors (the proxy\u2019s c-icap module, ward ingest) post alerts with a token. A token can post alerts and do nothing else.'), msg,
		h('div', { class: 'table-wrap card' }, h('table', {}, h('caption', { class: 'sr-only' }, 'Service tokens'),
			h('thead', {}, h('tr', {}, ['Detector', 'Made', 'State', ''].map((t) => h('th', { scope: 'col' }, t)))), tbody)),
		form);
}

// The pupil page (admin): off unless the school turns it on; its link carries a code that
// opens the form, and a new code makes the old link stop working at once.
export async function pupilPageAdmin() {
	let p = await api('GET', '/api/v1/pupil-page');
	const msg = h('div', { 'aria-live': 'polite' });
	const state = h('div', {});
	const linkOf = (x) => x.link ? new URL(x.link, window.location.origin).href : '';
	const draw = () => {
		const link = linkOf(p);
		state.replaceChildren(
			h('p', {}, h('strong', {}, p.enabled ? 'The pupil page is on.' : 'The pupil page is off.'),
				p.enabled ? ' Pupils who have the link can tell the school about a worry, with their name or without it.' : ' Nobody can send a worry through it.'),
			p.enabled && link ? h('p', {}, 'Link for pupils: ', h('code', { class: 'secret', 'data-link': link }, link)) : null,
			h('div', { class: 'actions' },
				h('button', { type: 'button', onclick: () => change('PUT', '/api/v1/pupil-page', { enabled: !p.enabled },
					p.enabled ? 'The pupil page is now off.' : 'The pupil page is now on. Share the link where pupils will find it.') },
				p.enabled ? 'Turn the pupil page off' : 'Turn the pupil page on'),
				p.enabled ? h('button', { type: 'button', class: 'secondary', onclick: () => {
					if (!window.confirm('Make a new link? The old link and any open forms stop working at once.')) return;
					change('POST', '/api/v1/pupil-page/code', undefined, 'A new link is made; the old one no longer works.');
				} }, 'Make a new link') : null));
	};
	const change = async (method, path, body, done) => {
		try { p = await api(method, path, body); draw(); msg.replaceChildren(notice('ok', done)); } catch (e) { msg.replaceChildren(errorNotice(e)); }
	};
	draw();
	page('Pupil page', h('p', {}, 'A page where a pupil can tell the school about a worry, anonymously if they choose. What they send becomes a concern for the DSL team. Put the link on pupils\u2019 devices or the school\u2019s learning platform; anyone with it can open the form.'),
		msg, h('div', { class: 'card' }, state));
}
