// case.js: one concern as a case: what was reported, its status, the guided checklist for its
// areas, and its chronology (every version wardd keeps).  Every change goes through the API, so
// wardd audits it; reading the page is itself audited by wardd.
import { api, areas, guide } from './api.js';
import { h, page, notice, errorNotice, when, statusTag, childNames, STATUS } from './ui.js';

const NEXT = { new: ['acknowledged'], acknowledged: ['in-progress', 'closed'], 'in-progress': ['closed'], closed: ['in-progress'] };
const ACTION = { acknowledged: 'Acknowledge', 'in-progress': 'Mark in progress', closed: 'Close the case' };

export async function casePage(session, id) {
	const dsl = session.user.role === 'dsl' || session.user.role === 'deputy-dsl';
	const [c, taxonomy, g] = await Promise.all([api('GET', `/api/v1/concerns/${id}`), areas(), guide()]);
	const versions = dsl ? (await api('GET', `/api/v1/concerns/${id}/versions`)).versions : [];
	const title = (a) => taxonomy.find((t) => t.id === a)?.title || a;
	const msg = h('div', { 'aria-live': 'polite' });

	const facts = h('dl', { class: 'facts' },
		h('dt', {}, 'Status'), h('dd', {}, statusTag(c.status)),
		h('dt', {}, 'About'), h('dd', {}, (c.areas || []).map(title).join('; ')),
		h('dt', {}, 'Happened'), h('dd', {}, when(c.occurred_at)),
		h('dt', {}, 'Recorded'), h('dd', {}, when(c.recorded_at)),
		h('dt', {}, 'Reference'), h('dd', {}, String(c.id)),
		h('dt', {}, 'Version'), h('dd', {}, String(c.version)));
	const kids = h('ul', {}, (c.children || []).map((k) => h('li', {}, h('strong', {}, k.name),
		`, born ${when(k.date_of_birth)}`, k.year_group ? `, year ${k.year_group}` : '', k.internal_id ? ` (school id ${k.internal_id})` : '')));

	const actions = h('div', { class: 'actions' });
	if (dsl) {
		for (const to of NEXT[c.status] || []) {
			actions.append(h('button', { type: 'button', class: to === 'closed' ? 'secondary' : '', onclick: async () => {
				try {
					await api('PATCH', `/api/v1/concerns/${id}`, { version: c.version, status: to });
					await casePage(session, id);
					document.querySelector('#main [aria-live]')?.replaceChildren(notice('ok', `Status now: ${STATUS[to]}.`));
				} catch (e) { msg.replaceChildren(errorNotice(e)); }
			} }, ACTION[to] || `Mark ${to}`));
		}
		actions.append(h('button', { type: 'button', class: 'secondary', onclick: () => window.print() }, 'Print a summary'));
	}

	const items = g.checklist.filter((it) => it.areas.some((a) => (c.areas || []).includes(a)) && (dsl || it.who === 'reporter'));
	const triggers = g.triggers;
	const checklist = h('section', { class: 'card', 'aria-labelledby': 'cl-h' }, h('h2', { id: 'cl-h' }, 'Guided response for these areas'),
		h('h3', {}, 'Do'), h('ul', { class: 'checklist' }, items.filter((i) => i.kind === 'do').map((i) => h('li', {}, i.text, i.who === 'dsl' ? ' (the DSL)' : ''))),
		h('h3', {}, 'Do not'), h('ul', { class: 'checklist' }, items.filter((i) => i.kind === 'dont').map((i) => h('li', {}, i.text))),
		dsl && triggers.length ? [h('h3', {}, 'Refer to the police or children\u2019s social care at once if any answer is yes'),
			h('ul', {}, triggers.map((t) => h('li', {}, t.question)))] : null);

	const chronology = dsl ? h('section', { class: 'card', 'aria-labelledby': 'ch-h' }, h('h2', { id: 'ch-h' }, 'Chronology'),
		h('ol', {}, versions.slice().sort((a, b) => a.version - b.version).map((v, i, all) => {
			const prev = all[i - 1];
			const what = !prev ? 'Reported' : prev.status !== v.status ? `Status: ${STATUS[v.status] || v.status}` : 'Record changed';
			return h('li', {}, h('strong', {}, when(v.recorded_at)), `: ${what} (version ${v.version})`);
		}))) : null;

	page(`Concern about ${childNames(c)}`, msg,
		h('p', { class: 'print-only' }, `Printed ${new Date().toLocaleString('en-GB')} from ward. Confidential: safeguarding record.`),
		h('div', { class: 'grid two' },
			h('div', {},
				h('section', { class: 'card', 'aria-labelledby': 'f-h' }, h('h2', { id: 'f-h' }, 'The concern'), facts,
					h('h3', {}, c.children?.length > 1 ? 'Children' : 'Child'), kids,
					h('h3', {}, 'What happened, in the reporter\u2019s words'), h('p', { class: 'account' }, c.account)),
				actions, chronology),
			checklist));
}
