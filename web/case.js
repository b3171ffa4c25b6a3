// case.js: one concern as a case, end to end: the urgent-referral questions, the guided
// checklist, the chronology, decisions, referrals and their outcomes, device custody (a device
// nobody opened, from taken to handed over), closing with an outcome, and the printable referral
// summary.  Every change is a POST to wardd, which audits it; reading the case is audited too.
// Staff see their own concern and confirm their part of the checklist.
import { api, areas } from './api.js';
import { h, page, notice, errorNotice, when, statusTag, childNames, uid } from './ui.js';

const DECISIONS = [['refer-police', 'Refer to the police'], ['refer-ceop', 'Refer to CEOP'], ['refer-social-care', 'Refer to children\u2019s social care'],
	['refer-lado', 'Refer to the LADO (an adult working with children)'], ['early-help', 'Early help'], ['monitor', 'Monitor'], ['no-further-action', 'No further action']];
const AGENCIES = [['police', 'Police'], ['ceop', 'CEOP'], ['childrens-social-care', 'Children\u2019s social care'], ['lado', 'LADO'], ['early-help', 'Early help'], ['other', 'Other']];
const CHRONO = [['action', 'Action taken'], ['meeting', 'Meeting'], ['contact-parent', 'Contact with a parent or carer'], ['contact-agency', 'Contact with an agency'], ['note', 'Note']];
const HANDOVER = [['police', 'Handed to the police'], ['returned', 'Returned to its owner'], ['moved', 'Moved to another store']];
const label = (list, v) => (list.find(([k]) => k === v) || [v, v])[1];
const nowLocal = () => new Date(Date.now() - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16);

// A small form: fields are [name, label, kind, options]; kind is text, textarea, datetime,
// select or yesno; a name ending in '?' is optional.  onSubmit gets the values.
function form(title, fields, submit, onSubmit, { open = false } = {}) {
	const inputs = {};
	const body = fields.map(([rawName, text, kind = 'text', options]) => {
		const optional = rawName.endsWith('?'), name = rawName.replace(/\?$/, '');
		const id = uid(name);
		let input;
		if (kind === 'textarea') input = h('textarea', { id, name, rows: '3', required: !optional });
		else if (kind === 'select' || kind === 'yesno') {
			input = h('select', { id, name, required: !optional },
				(kind === 'yesno' ? [['yes', 'Yes'], ['no', 'No']] : options).map(([v, t]) => h('option', { value: v }, t)));
		} else input = h('input', { id, name, type: kind === 'datetime' ? 'datetime-local' : 'text', required: !optional, value: kind === 'datetime' ? nowLocal() : undefined });
		inputs[name] = { input, optional, text };
		return h('div', {}, h('label', { for: id }, text, optional ? h('span', { class: 'hint' }, '(optional)') : null), input);
	});
	const msg = h('div', { 'aria-live': 'polite' });
	const f = h('form', { novalidate: true }, msg, body, h('div', { class: 'actions' }, h('button', { type: 'submit' }, submit)));
	f.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const values = {};
		for (const [name, { input, optional, text }] of Object.entries(inputs)) {
			const v = input.value.trim();
			if (!v && !optional) { msg.replaceChildren(notice('error', `Fill in: ${text}.`)); input.focus(); return; }
			if (v) values[name] = v;
		}
		f.querySelector('button[type=submit]').disabled = true;
		try { await onSubmit(values); } catch (e) { msg.replaceChildren(errorNotice(e)); f.querySelector('button[type=submit]').disabled = false; }
	});
	return h('details', { class: 'card', open }, h('summary', {}, h('strong', {}, title)), f);
}

function section(id, title, ...kids) {
	return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), ...kids);
}

function byLine(e) {
	return h('span', { class: 'meta' }, ` (${[e.by, e.recorded_at ? when(e.recorded_at) : e.at && typeof e.at === 'number' ? when(e.at) : ''].filter(Boolean).join(', ')})`);
}

function checklistList(items, post, canAct) {
	return h('ul', { class: 'list' }, items.map((it) => {
		const li = h('li', {}, h('p', { class: 'item' }, it.kind === 'dont' ? h('strong', {}, 'Do not: ') : null, it.text.replace(/^Do not /, (m) => it.kind === 'dont' ? '' : m),
			it.who === 'dsl' ? ' (the DSL)' : ''),
		h('p', { class: 'meta' }, it.state === 'confirmed' ? `Done: confirmed by ${it.by}, ${when(it.at)}` : it.state === 'not-applicable' ? `Not applicable (${it.reason || ''}): ${it.by}, ${when(it.at)}` : 'Not yet confirmed'));
		if (canAct && it.state === 'open') {
			const reason = h('input', { type: 'text', id: uid('na'), maxlength: '2000' });
			li.append(h('div', { class: 'actions' },
				h('button', { type: 'button', onclick: () => post({ item: it.id, state: 'confirmed' }) }, 'Confirm done', h('span', { class: 'sr-only' }, `: ${it.text}`))),
			h('details', {}, h('summary', {}, 'Not applicable?'), h('label', { for: reason.id }, 'Why it does not apply'), reason,
				h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: () => reason.value.trim() ? post({ item: it.id, state: 'not-applicable', reason: reason.value.trim() }) : reason.focus() }, 'Mark not applicable'))));
		}
		return li;
	}));
}

// A staff member's view of their own concern: what they reported and their part of the checklist.
async function staffCase(id, flash) {
	const [c, ck, taxonomy] = await Promise.all([api('GET', `/api/v1/concerns/${id}`), api('GET', `/api/v1/concerns/${id}/checklist`).catch(() => null), areas()]);
	const title = (a) => taxonomy.find((t) => t.id === a)?.title || a;
	const post = async (b) => { await api('POST', `/api/v1/concerns/${id}/checklist`, b); await staffCase(id, 'Recorded.'); };
	page(`Concern about ${childNames(c)}`, flash ? notice('ok', flash) : null,
		section('f-h', 'What you reported', h('dl', { class: 'facts' }, h('dt', {}, 'Status'), h('dd', {}, statusTag(c.status)),
			h('dt', {}, 'About'), h('dd', {}, (c.areas || []).map(title).join('; ')), h('dt', {}, 'Happened'), h('dd', {}, when(c.occurred_at)),
			h('dt', {}, 'Reference'), h('dd', {}, String(c.id))), h('h3', {}, 'What happened'), h('p', { class: 'account' }, c.account)),
		ck ? section('cl-h', 'Your part of the checklist', checklistList(ck.items || [], (b) => post(b).catch((e) => page('Not recorded', errorNotice(e))), true)) : null);
}

export async function casePage(session, id, flash) {
	if (!['dsl', 'deputy-dsl'].includes(session.user.role)) return staffCase(id, flash);
	const C = `/api/v1/concerns/${id}`;
	const k = await api('GET', `${C}/case`);
	const c = k.concern;
	const reload = (text) => casePage(session, id, text);
	const post = (path, body, text) => api('POST', `${C}${path}`, body).then(() => reload(text));
	const closed = c.status === 'closed';
	const top = h('div', { 'aria-live': 'polite' }, flash ? notice('ok', flash) : null);
	const act = (fn) => async (...a) => { try { await fn(...a); } catch (e) { top.replaceChildren(errorNotice(e)); top.scrollIntoView(); } };

	const facts = h('dl', { class: 'facts' },
		h('dt', {}, 'Status'), h('dd', {}, statusTag(c.status), k.urgent ? h('span', { class: 'tag urgent' }, 'Urgent') : null),
		h('dt', {}, 'About'), h('dd', {}, c.areas.map((a) => a.title).join('; ')),
		h('dt', {}, 'Happened'), h('dd', {}, when(c.occurred_at)),
		h('dt', {}, 'Recorded'), h('dd', {}, `${when(c.recorded_at)} by ${c.reported_by || 'unknown'} (${c.source})`),
		h('dt', {}, 'Reference'), h('dd', {}, String(c.id)));
	const kids = h('ul', {}, (k.children || []).map((x) => h('li', {}, h('strong', {}, x.name), `, born ${when(x.date_of_birth)}`,
		x.year_group ? `, year ${x.year_group}` : '', x.internal_id ? ` (school id ${x.internal_id})` : '')));

	const actions = h('div', { class: 'actions' },
		c.status === 'new' ? h('button', { type: 'button', onclick: act(() => api('POST', `${C}/acknowledge`).then(() => reload('Acknowledged: the reporter can see it has been seen, and escalation stops.'))) }, 'Acknowledge') : null,
		h('a', { class: 'button', href: `${C}/summary`, target: '_blank', rel: 'noopener' }, 'Printable referral summary', h('span', { class: 'sr-only' }, ' (opens in a new tab)')),
		h('button', { type: 'button', class: 'secondary', onclick: () => window.print() }, 'Print this page'));

	const triggers = section('tr-h', 'Urgent-referral questions',
		k.urgent ? notice('error', h('strong', {}, 'Urgent: refer now. '), k.urgent_reasons.join(' ')) : h('p', {}, 'Any "yes" makes the case urgent: refer to the police or children\u2019s social care at once.'),
		h('ul', { class: 'list' }, k.triggers.map((t) => {
			const name = uid('t');
			const radios = ['yes', 'no'].map((v) => { const id = uid('r'); return h('span', { class: 'choice' }, h('input', { type: 'radio', name, id, value: v, checked: t.answer === v }), h('label', { for: id }, v === 'yes' ? 'Yes' : 'No')); });
			return h('li', {}, h('fieldset', {}, h('legend', {}, t.question), h('div', { class: 'actions' }, radios,
				closed ? null : h('button', { type: 'button', class: 'secondary', onclick: act(() => {
					const v = document.querySelector(`input[name="${name}"]:checked`)?.value;
					if (!v) throw new Error('Choose yes or no first.');
					return post('/triggers', { trigger: t.id, answer: v }, `Answer recorded: ${t.question} ${v === 'yes' ? 'Yes' : 'No'}.`);
				}) }, 'Save answer', h('span', { class: 'sr-only' }, `: ${t.question}`)))),
			t.answer ? h('p', { class: 'meta' }, `Answered ${t.answer} by ${t.by}, ${when(t.at)}`) : null);
		})));

	const checklist = section('cl-h', 'Guided checklist', checklistList(k.checklist, act((b) => post('/checklist', b, 'Checklist updated.')), !closed));

	const chronology = section('ch-h', 'Chronology',
		k.chronology.length ? h('ol', {}, k.chronology.map((e) => h('li', {}, h('strong', {}, `${label(CHRONO, e.type)}, ${when(e.at)}`), e.with ? ` with ${e.with}` : '', `: ${e.text}`, byLine(e))))
			: h('p', {}, 'Nothing recorded yet.'),
		closed ? null : form('Add to the chronology', [['type', 'What', 'select', CHRONO], ['at', 'When', 'datetime'], ['with?', 'With whom'], ['text', 'What happened', 'textarea']],
			'Add', act((v) => post('/chronology', v, 'Added to the chronology.'))));

	const decisions = section('de-h', 'Decisions',
		k.decisions.length ? h('ul', {}, k.decisions.map((d) => h('li', {}, h('strong', {}, label(DECISIONS, d.decision)), `: ${d.reason}`, byLine(d)))) : h('p', {}, 'No decision yet: a case is never closed without one.'),
		closed ? null : form('Record a decision', [['decision', 'Decision', 'select', DECISIONS], ['reason', 'Reason', 'textarea']], 'Record the decision',
			act((v) => post('/decisions', v, 'Decision recorded.'))));

	const referrals = section('rf-h', 'Referrals',
		k.referrals.length ? h('ul', { class: 'list' }, k.referrals.map((r) => h('li', {},
			h('p', {}, h('strong', {}, label(AGENCIES, r.agency)), `, ${when(r.at)}`, r.reference ? `, reference ${r.reference}` : '', r.contact ? `, contact ${r.contact}` : '', byLine(r)),
			(r.outcomes || []).map((o) => h('p', {}, h('strong', {}, 'Outcome: '), `${o.outcome} (${when(o.at)})`)),
			closed ? null : form('Record the outcome', [['outcome', 'Outcome', 'textarea'], ['at', 'When', 'datetime'], ['reference?', 'Their reference']], 'Record the outcome',
				act((v) => post(`/referrals/${r.id}/outcome`, v, 'Outcome recorded.')))))) : h('p', {}, 'No referral recorded.'),
		closed ? null : form('Record a referral', [['agency', 'Referred to', 'select', AGENCIES], ['at', 'When', 'datetime'], ['reference?', 'Their reference'], ['contact?', 'Who you spoke to']],
			'Record the referral', act((v) => post('/referrals', v, 'Referral recorded.'))));

	const custody = section('cu-h', 'Device custody',
		h('p', {}, 'A device taken from a child stays switched off and is never looked through in school: the police examine it.'),
		k.custody.length ? h('ul', { class: 'list' }, k.custody.map((d) => h('li', {},
			h('p', {}, h('strong', {}, d.description), ` (owner ${d.owner}), taken ${when(d.taken_at)} by ${d.taken_by}; bag ${d.bag_number}; stored at ${d.stored_at}; switched off: ${d.switched_off}`),
			h('p', {}, d.accounted_for ? h('span', { class: 'tag' }, 'Accounted for') : h('span', { class: 'tag new' }, 'Held in school'), ` Now with: ${d.held_by}`),
			d.not_examined ? h('p', { class: 'meta' }, d.not_examined) : null,
			(d.handovers || []).length ? h('ol', {}, d.handovers.map((x) => h('li', {}, `${label(HANDOVER, x.kind_of_handover)} to ${x.to}, ${when(x.at)}`, x.police_reference ? `, police reference ${x.police_reference}` : '', byLine(x)))) : null,
			closed ? null : form('Record a hand-over', [['kind', 'What happened to it', 'select', HANDOVER], ['to', 'To whom'], ['at', 'When', 'datetime'], ['police_reference?', 'Police reference'], ['bag_number?', 'New bag number'], ['stored_at?', 'Now stored at'], ['note?', 'Note', 'textarea']],
				'Record the hand-over', act((v) => post(`/devices/${d.id}/handovers`, v, 'Hand-over recorded.')))))) : h('p', {}, 'No device taken.'),
		closed ? null : form('Record a device taken from a child', [['description', 'Device (make, colour, case)'], ['owner', 'Whose it is'], ['taken_at', 'When it was taken', 'datetime'], ['taken_by', 'Taken by'],
			['switched_off', 'Switched off?', 'yesno'], ['bag_number', 'Evidence bag number'], ['stored_at', 'Where it is stored'], ['not_examined_by', 'Who confirms nobody looked through it']],
		'Record the device', act((v) => post('/devices', v, 'Device recorded.'))));

	const close = closed ? section('cl2-h', 'Closed', k.closed ? h('p', {}, `${label(DECISIONS, k.closed.outcome)}: ${k.closed.reason}`, byLine(k.closed)) : null)
		: section('cl2-h', 'Close the case', k.devices_unaccounted ? notice('warn', `${k.devices_unaccounted} device(s) not yet handed over or returned: the case cannot close until each is.`) : null,
			form('Close with an outcome', [['outcome', 'Outcome', 'select', DECISIONS], ['reason', 'Reason', 'textarea']], 'Close the case',
				act((v) => post('/close', v, 'The case is closed. It is kept until the child\u2019s 25th birthday, then reviewed.'))));

	page(`Concern about ${childNames(k)}`, top,
		h('p', { class: 'print-only' }, `Printed ${new Date().toLocaleString('en-GB')} from ward. Confidential: safeguarding record.`),
		section('f-h', 'The concern', facts, h('h3', {}, (k.children || []).length > 1 ? 'Children' : 'Child'), kids,
			h('h3', {}, 'What happened, in the reporter\u2019s words'), h('p', { class: 'account' }, c.account)),
		actions,
		h('div', { class: 'grid halves' }, h('div', {}, triggers, checklist), h('div', {}, chronology, decisions, referrals, custody, close)));
}
