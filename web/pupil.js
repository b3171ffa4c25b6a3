// pupil.js: the pupil page.  A child tells the school about a worry, with their name or without
// it.  The school's code comes from the link's fragment (#code=...), which browsers never send
// to the server.  Nothing is kept on the device (no draft: the computer may be shared), and the
// page says nothing about what happens inside the school.
const main = document.getElementById('main');
const status = document.getElementById('status');
const code = new URLSearchParams(location.hash.slice(1)).get('code') || '';
const YEARS = ['Reception', 'Year 1', 'Year 2', 'Year 3', 'Year 4', 'Year 5', 'Year 6', 'Year 7',
	'Year 8', 'Year 9', 'Year 10', 'Year 11', 'Year 12', 'Year 13'];
const MAX = 4000;
let token = null;

// A small element builder: h('p', { class: 'x' }, 'text', child...).  Text is always text.
function h(tag, attrs = {}, ...kids) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs)) {
		if (v === null || v === undefined || v === false) continue;
		if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
		else e.setAttribute(k, v === true ? '' : v);
	}
	for (const k of kids.flat()) if (k !== null && k !== undefined) e.append(k);
	return e;
}

const link = (href, text) => h('a', { href, rel: 'noopener noreferrer', target: '_blank' }, text, h('span', { class: 'sr-only' }, ' (opens in a new tab)'));

function urgentBox() {
	return h('div', { class: 'urgent', role: 'alert' },
		h('p', { class: 'big' }, 'If you are in danger now, call ', h('a', { href: 'tel:999' }, '999'), '.'),
		h('p', {}, 'You can talk to Childline for free, any time: ', h('a', { href: 'tel:08001111' }, '0800 1111'), '. ',
			'They will listen, and you do not have to give your name.'),
		h('p', {}, 'If you can, tell an adult you trust now, like a teacher.'));
}

async function post(path, body) {
	const r = await fetch(path, { method: 'POST', credentials: 'omit', cache: 'no-store',
		headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
	let j = null;
	try { j = await r.json(); } catch { /* an empty or broken answer */ }
	return { status: r.status, json: j };
}

async function getToken() {
	const r = await post('/api/v1/pupil/form', { code });
	if (r.status !== 200) return r;
	token = r.json.form_token;
	return r;
}

function notOpen() {
	status.replaceChildren('This page is not open. Ask your teacher for the right link. You can still tell a teacher or another adult you trust, or call Childline on 0800 1111.');
}

function form(school) {
	const words = h('textarea', { id: 'what', name: 'what', required: true, maxlength: String(MAX), 'aria-describedby': 'what-hint what-count' });
	const count = h('p', { id: 'what-count', class: 'count', 'aria-live': 'polite' }, `You can write up to ${MAX} letters.`);
	words.addEventListener('input', () => {
		const left = MAX - new TextEncoder().encode(words.value).length;
		count.textContent = left >= 0 ? `${left} letters left.` : `That is ${-left} letters too long. Please make it a bit shorter.`;
	});
	const warn = h('div', { id: 'safe-help' });
	const radio = (value, text) => {
		const id = `safe-${value}`;
		return h('div', { class: 'choice' }, h('input', { type: 'radio', id, name: 'safe', value, required: true, onchange: () => {
			warn.replaceChildren(value === 'yes' ? '' : urgentBox());
		} }), h('label', { for: id }, text));
	};
	const name = h('input', { type: 'text', id: 'name', name: 'name', maxlength: '100', autocomplete: 'off', 'aria-describedby': 'name-hint' });
	const year = h('select', { id: 'year', name: 'year', 'aria-describedby': 'year-hint' },
		h('option', { value: '' }, 'I would rather not say'), YEARS.map((y) => h('option', { value: y }, y)));
	const msg = h('div', { id: 'msg', 'aria-live': 'assertive' });
	const send = h('button', { type: 'submit' }, 'Send my message');
	const f = h('form', { novalidate: true },
		h('div', { class: 'field' }, h('label', { for: 'what' }, 'What has happened, or what is worrying you?'),
			h('span', { id: 'what-hint', class: 'hint' }, 'Use your own words. It can be about something online or offline, and it is fine if it is short.'),
			words, count),
		h('fieldset', {}, h('legend', {}, 'Are you safe right now?'),
			radio('yes', 'Yes'), radio('no', 'No'), radio('not-sure', 'I\u2019m not sure')),
		warn,
		h('div', { class: 'field' }, h('label', { for: 'name' }, 'Your name (you do not have to give it)'),
			h('span', { id: 'name-hint', class: 'hint' }, 'Leave this empty if you do not want to say who you are.'), name),
		h('div', { class: 'field' }, h('label', { for: 'year' }, 'Your year group (you do not have to say)'),
			h('span', { id: 'year-hint', class: 'hint' }, 'This helps the school find the right person to help.'), year),
		msg, send);
	f.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const safe = f.querySelector('input[name=safe]:checked');
		const text = words.value.trim();
		if (!text) { msg.replaceChildren(h('p', { class: 'error' }, 'Please write something in the box first.')); words.focus(); return; }
		if (!safe) { msg.replaceChildren(h('p', { class: 'error' }, 'Please choose whether you are safe right now.')); f.querySelector('#safe-yes').focus(); return; }
		const body = { code, form_token: token, what_happened: text, safe_now: safe.value };
		if (name.value.trim()) body.name = name.value.trim();
		if (year.value) body.year_group = year.value;
		send.disabled = true;
		msg.replaceChildren(h('p', {}, 'Sending\u2026'));
		try {
			let r = await post('/api/v1/pupil/reports', body);
			if (r.status === 403) { // the form was open a long time: a new token, once
				const t = await getToken();
				if (t.status === 200) r = await post('/api/v1/pupil/reports', { ...body, form_token: token });
			}
			if (r.status === 201) { thanks(r.json.urgent); return; }
			const detail = r.json && r.json.detail ? r.json.detail : 'Your message was not sent.';
			msg.replaceChildren(h('p', { class: 'error', role: 'alert' }, r.status === 404
				? 'This page is not open any more, so your message was not sent. Please tell a teacher or another adult you trust.'
				: detail));
		} catch {
			msg.replaceChildren(h('p', { class: 'error', role: 'alert' }, 'Your message was not sent: the connection did not work. Your words are still in the box, so you can try again.'));
		}
		send.disabled = false;
	});
	status.replaceChildren(h('p', { class: 'kind' }, `This goes to ${school}. You can tell us about anything that worries you. `,
		'You will not be in trouble, and it is not your fault. You do not have to give your name.'));
	main.append(f);
}

function thanks(urgent) {
	main.replaceChildren(
		h('h1', { tabindex: '-1', id: 'done-h' }, 'Thank you for telling us'),
		urgent ? urgentBox() : null,
		h('div', { class: 'done', role: 'status' },
			h('p', {}, 'Your message has been sent. You did the right thing by telling someone.'),
			h('p', {}, 'Whatever has happened, it is not your fault.')),
		h('h2', {}, 'If you want to talk to someone now'),
		h('p', {}, 'Childline: call ', h('a', { href: 'tel:08001111' }, '0800 1111'), ' for free, any time. They will listen.'),
		h('p', {}, 'If something happened online, you can also ', link('https://www.ceop.police.uk/Safety-Centre/', 'report it to CEOP'), '.'),
		h('p', {}, 'You can also talk to a teacher or another adult you trust.'));
	document.getElementById('done-h').focus();
}

async function start() {
	if (!/^[A-Za-z0-9_-]{8,31}$/.test(code)) { notOpen(); return; }
	try {
		const r = await getToken();
		if (r.status === 200) form(r.json.school);
		else if (r.status === 429) status.replaceChildren(r.json.detail);
		else notOpen();
	} catch {
		status.replaceChildren('The page could not load. Please try again, or tell an adult you trust.');
	}
}

start();
