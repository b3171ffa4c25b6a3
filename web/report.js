// report.js: a staff member reports a concern in under two minutes, from a phone or a shared
// PC.  The nine areas in plain words (the seed's words as help); the guided response's don'ts
// appear as soon as an area is chosen; a draft is kept on this device until it is sent, so a
// lost connection loses nothing.  There is no upload: ward never takes an image of a child.
import { api, areas, guide } from './api.js';
import { h, page, notice, field, uid, errorNotice, when, statusTag, childNames } from './ui.js';

const DRAFT_PREFIX = 'ward.draft.';
const draftKey = (s) => `${DRAFT_PREFIX}${s.user.school_id}.${s.user.id}`;

// Drafts are removed on sign-out, so a shared PC does not keep them.
export function clearDrafts() {
	for (let i = localStorage.length - 1; i >= 0; i--) {
		const k = localStorage.key(i);
		if (k && k.startsWith(DRAFT_PREFIX)) localStorage.removeItem(k);
	}
}

function childFields(list, data = {}) {
	const n = list.children.length + 1;
	const name = field('Full name', { name: 'child-name', autocomplete: 'off', required: true, value: data.name || '' }, 'First name and surname, not initials.');
	const dob = field('Date of birth', { name: 'child-dob', type: 'date', required: true, class: 'short', value: data.date_of_birth || '' });
	const yr = field('Year group or class (if known)', { name: 'child-year', class: 'short', maxlength: '16', value: data.year_group || '' });
	const box = h('fieldset', { class: 'child' }, h('legend', {}, `Child ${n}`), name.wrap, dob.wrap, yr.wrap);
	if (n > 1) {
		box.append(h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: () => { box.remove(); list.dispatchEvent(new Event('input', { bubbles: true })); } }, `Remove child ${n}`)));
	}
	list.append(box);
	return name.input;
}

function collect(form) {
	const children = [...form.querySelectorAll('fieldset.child')].map((f) => {
		const c = { name: f.querySelector('[name=child-name]').value.trim(), date_of_birth: f.querySelector('[name=child-dob]').value };
		const y = f.querySelector('[name=child-year]').value.trim();
		if (y) c.year_group = y;
		return c;
	});
	return {
		areas: [...form.querySelectorAll('input[name=area]:checked')].map((i) => i.value),
		children,
		occurred_at: form.querySelector('[name=occurred_at]').value,
		account: form.querySelector('[name=account]').value,
	};
}

function guidanceFor(g, chosen) {
	const items = g.checklist.filter((it) => it.who === 'reporter' && it.areas.some((a) => chosen.includes(a)));
	const donts = items.filter((it) => it.kind === 'dont');
	const dos = items.filter((it) => it.kind === 'do');
	const box = h('div', {});
	if (!chosen.length) {
		box.append(notice('', 'Choose what the concern is about: what to do, and what not to do, appears here straight away.'));
		return box;
	}
	box.append(
		h('section', { class: 'card donts', 'aria-labelledby': 'donts-h' }, h('h2', { id: 'donts-h' }, 'Do not'),
			h('ul', { class: 'checklist' }, donts.map((it) => h('li', {}, it.text)))),
		h('section', { class: 'card dos', 'aria-labelledby': 'dos-h' }, h('h2', { id: 'dos-h' }, 'Do, now'),
			h('ul', { class: 'checklist' }, dos.map((it) => h('li', {}, it.text)))));
	return box;
}

export async function reportPage(session) {
	const [taxonomy, g] = await Promise.all([areas(), guide()]);
	const saved = (() => { try { return JSON.parse(localStorage.getItem(draftKey(session)) || 'null'); } catch { return null; } })();
	const status = h('div', { 'aria-live': 'polite' });
	const advice = h('section', { id: 'advice', 'aria-label': 'What to do now', 'aria-live': 'polite' });

	const areaBoxes = taxonomy.map((a) => {
		const id = uid('area'), hid = `${id}-hint`;
		return h('div', { class: 'choice' },
			h('input', { type: 'checkbox', name: 'area', value: a.id, id, 'aria-describedby': hid, checked: !!saved?.areas?.includes(a.id) }),
			h('label', { for: id }, a.title, h('span', { class: 'hint', id: hid }, a.seed_words)));
	});
	const when_ = field('When did it happen, or when were you told?', { name: 'occurred_at', type: 'datetime-local', required: true,
		value: saved?.occurred_at || new Date(Date.now() - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16) });
	const account = field('What happened', { tag: 'textarea', name: 'account', required: true, maxlength: '100000', rows: '8' },
		'In your own words: what you saw or were told, and what the child said, in their words. Write names in full. Do not describe or copy any image.');
	account.input.value = saved?.account || '';
	const kids = h('div', {});
	const form = h('form', { class: 'card', novalidate: true },
		h('fieldset', {}, h('legend', {}, 'What is it about?'), h('span', { class: 'hint' }, 'Choose all that apply. The words under each are the guidance ward follows.'),
			h('div', { class: 'choices' }, areaBoxes)),
		advice,
		h('h2', {}, 'Who'), kids,
		h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: () => childFields(kids).focus() }, 'Add another child')),
		h('h2', {}, 'When and what'), when_.wrap, account.wrap,
		notice('warn', 'There is no upload here on purpose: do not view, copy, forward, print or save any image. Describe where it is instead; the DSL and the police deal with it.'),
		h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Send to the DSL now')));
	for (const c of (saved?.children?.length ? saved.children : [{}])) childFields(kids, c);

	// Advice is redrawn only when the areas change: redrawing it on every keystroke would move
	// the page under the reader (and under a click that blurs the text box).
	let shown = null;
	const showAdvice = (chosen) => {
		const key = chosen.join(',');
		if (key === shown) return;
		shown = key;
		advice.replaceChildren(guidanceFor(g, chosen));
	};
	const save = () => {
		const d = collect(form);
		localStorage.setItem(draftKey(session), JSON.stringify({ ...d, saved_at: Date.now() }));
		showAdvice(d.areas);
	};
	form.addEventListener('input', save);
	form.addEventListener('change', save);

	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const d = collect(form);
		const problems = [];
		if (!d.areas.length) problems.push(['Choose at least one thing the concern is about.', form.querySelector('input[name=area]')]);
		d.children.forEach((c, i) => {
			const f = form.querySelectorAll('fieldset.child')[i];
			if (!c.name) problems.push([`Give child ${i + 1}'s full name.`, f.querySelector('[name=child-name]')]);
			if (!c.date_of_birth) problems.push([`Give child ${i + 1}'s date of birth (an estimate is fine; say so in what happened).`, f.querySelector('[name=child-dob]')]);
		});
		if (!d.occurred_at) problems.push(['Say when it happened.', when_.input]);
		if (!d.account.trim()) problems.push(['Say what happened.', account.input]);
		if (problems.length) {
			status.replaceChildren(notice('error', h('strong', {}, 'Check the report: '), h('ul', {}, problems.map(([t, el]) =>
				h('li', {}, h('a', { href: '#main', onclick: (e) => { e.preventDefault(); el.focus(); } }, t))))));
			problems[0][1].focus();
			return;
		}
		save();
		const btn = form.querySelector('button[type=submit]');
		btn.disabled = true;
		try {
			const c = await api('POST', '/api/v1/concerns', { ...d, source: 'staff' });
			localStorage.removeItem(draftKey(session));
			sentPage(c, g);
		} catch (e) {
			btn.disabled = false;
			status.replaceChildren(e.offline
				? notice('error', h('strong', {}, 'Not sent: the connection was lost. '), 'Your report is saved on this device. Press "Send to the DSL now" again when you are connected, and tell the DSL in person meanwhile.')
				: e.status === 401
					? notice('error', h('strong', {}, 'Not sent: you have been signed out. '), 'Your report is saved on this device. ',
						h('button', { type: 'button', onclick: () => location.reload() }, 'Sign in again'), ' and it will be here to send.')
					: errorNotice(e));
			status.focus?.();
		}
	});

	page('Report a concern', status,
		saved ? notice('ok', `A draft from ${new Date(saved.saved_at || Date.now()).toLocaleString('en-GB')} has been restored. It stays on this device until you send it or sign out.`) : null,
		form);
	showAdvice(saved?.areas || []);
}

function sentPage(c, g) {
	page('Concern sent to the DSL',
		notice('ok', h('strong', {}, 'Recorded. '), `Reference ${c.id}. The designated safeguarding lead can see it now.`),
		h('p', {}, 'Tell the DSL in person or by phone as well, now.'),
		guidanceFor(g, c.areas || []),
		h('div', { class: 'actions' }, h('a', { class: 'button', href: '#/mine' }, 'See my concerns'), h('a', { href: '#/report', onclick: () => setTimeout(() => window.dispatchEvent(new HashChangeEvent('hashchange')), 0) }, 'Report another concern')));
}

// A staff member's own concerns (wardd shows staff only theirs).
export async function myConcernsPage() {
	const [{ concerns }, taxonomy] = await Promise.all([api('GET', '/api/v1/concerns'), areas()]);
	const title = (id) => taxonomy.find((a) => a.id === id)?.title || id;
	concerns.sort((a, b) => (b.recorded_at || 0) - (a.recorded_at || 0));
	page('My concerns',
		concerns.length ? h('ul', { class: 'list' }, concerns.map((c) => h('li', {},
			h('h2', { class: 'h3' }, h('a', { href: `#/case/${c.id}` }, childNames(c))),
			h('p', { class: 'meta' }, statusTag(c.status), ' ', (c.areas || []).map(title).join(', '), ` · happened ${when(c.occurred_at)}`)))) :
			h('p', {}, 'You have not reported any concerns.'),
		h('p', {}, h('a', { class: 'button', href: '#/report' }, 'Report a concern')));
}
