// children.js: the DSL team's pupil records: each child's chronology across every concern
// that names them, their retention (kept until the 25th birthday, then reviewed) and whether
// the record came from another school.  Every read is audited by wardd.
import { api } from './api.js';
import { h, page, notice, field, errorNotice, when } from './ui.js';

const KIND = { concern: 'Concern recorded', chronology: 'Chronology', decision: 'Decision', referral: 'Referral', device: 'Device taken', handover: 'Device hand-over', outcome: 'Referral outcome', close: 'Closed' };

function entryText(e) {
	switch (e.kind) {
	case 'concern': return `${(e.areas || []).map((a) => a.title || a).join('; ')} (status: ${e.status})`;
	case 'chronology': return `${e.type}: ${e.text}${e.with ? ` (with ${e.with})` : ''}`;
	case 'decision': return `${e.decision}: ${e.reason}`;
	case 'referral': return `to ${e.agency}${e.reference ? `, reference ${e.reference}` : ''}`;
	case 'device': return `${e.description}, bag ${e.bag_number}`;
	default: return e.text || e.outcome || e.to || '';
	}
}

export async function childrenPage() {
	const [{ pupils }, review] = await Promise.all([api('GET', '/api/v1/pupils'), api('GET', '/api/v1/pupils/review')]);
	const msg = h('div', { 'aria-live': 'polite' });
	const name = field('Full name', { name: 'p-name', autocomplete: 'off' });
	const dob = field('Date of birth', { name: 'p-dob', type: 'date', class: 'short' });
	const yr = field('Year group (optional)', { name: 'p-year', class: 'short', maxlength: '16' });
	const sid = field('School\u2019s pupil id (optional)', { name: 'p-id', class: 'short', maxlength: '64' });
	const form = h('form', { novalidate: true }, name.wrap, dob.wrap, yr.wrap, sid.wrap, h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Add the record')));
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		if (!name.input.value.trim() || !dob.input.value) { msg.replaceChildren(notice('error', 'Give the child\u2019s full name and date of birth.')); return; }
		const b = { name: name.input.value.trim(), date_of_birth: dob.input.value };
		if (yr.input.value.trim()) b.year_group = yr.input.value.trim();
		if (sid.input.value.trim()) b.internal_id = sid.input.value.trim();
		try { const p = await api('POST', '/api/v1/pupils', b); location.hash = `#/children/${p.id}`; } catch (e) { msg.replaceChildren(errorNotice(e)); }
	});
	page('Children',
		review.due_for_review.length ? notice('warn', h('strong', {}, `${review.due_for_review.length} record(s) past the child\u2019s 25th birthday: `), 'review each for deletion or a reason to keep it.') : null,
		msg,
		pupils.length ? h('div', { class: 'table-wrap card' }, h('table', {}, h('caption', { class: 'sr-only' }, 'Pupil records'),
			h('thead', {}, h('tr', {}, ['Name', 'Born', 'Year', 'Kept until'].map((t) => h('th', { scope: 'col' }, t)))),
			h('tbody', {}, pupils.map((p) => h('tr', {}, h('td', {}, p.unreadable ? `Record ${p.id} (unreadable)` : h('a', { href: `#/children/${p.id}` }, p.name)),
				h('td', {}, when(p.date_of_birth)), h('td', {}, p.year_group || ''), h('td', {}, when(p.retain_until))))))) : h('p', {}, 'No pupil records yet.'),
		h('details', { class: 'card' }, h('summary', {}, h('strong', {}, 'Add a pupil record')), form));
}

export async function childPage(_session, hash) {
	const id = Number(hash.split('/')[2]);
	const { pupil: p, concerns, chronology } = await api('GET', `/api/v1/pupils/${id}/chronology`);
	const today = new Date().toISOString().slice(0, 10);
	page(p.name,
		h('section', { class: 'card', 'aria-label': 'Record' }, h('dl', { class: 'facts' },
			h('dt', {}, 'Born'), h('dd', {}, when(p.date_of_birth)),
			p.year_group ? [h('dt', {}, 'Year'), h('dd', {}, p.year_group)] : null,
			p.internal_id ? [h('dt', {}, 'Pupil id'), h('dd', {}, p.internal_id)] : null,
			h('dt', {}, 'Kept until'), h('dd', {}, when(p.retain_until), p.retain_until <= today ? h('span', { class: 'tag new' }, 'Due for review') : null),
			h('dt', {}, 'Transfer'), h('dd', {}, p.transferred_from ? `Received from ${typeof p.transferred_from === 'string' ? p.transferred_from : JSON.stringify(p.transferred_from)}` : 'Recorded in this school'))),
		h('section', { class: 'card' }, h('h2', {}, `Concerns naming this child (${concerns.length})`),
			concerns.length ? h('ul', {}, concerns.map((c) => h('li', {}, h('a', { href: `#/case/${c.concern.id}` }, `${when(c.concern.recorded_at)}: ${c.concern.areas.map((a) => a.title).join('; ')}`), ` (${c.concern.status})`)))
				: h('p', {}, 'No concern names this child.')),
		h('section', { class: 'card' }, h('h2', {}, 'Chronology across concerns'),
			chronology.length ? h('ol', {}, chronology.map((e) => h('li', {}, h('strong', {}, `${when(e.recorded_at)}, ${KIND[e.kind] || e.kind}: `), entryText(e))))
				: h('p', {}, 'Nothing recorded.')));
}
