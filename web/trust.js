// trust.js: what a trust's safeguarding lead sees on signing in: every school of the trust with
// its open concerns by urgency and area, how long the oldest unacknowledged one has waited and
// how many have been escalated past the DSL, urgent schools first; then the concerns still
// waiting for acknowledgement, oldest first.  Only what wardd's trust routes give: counts,
// dates, areas and flags, never a narrative or a child (the schools' DSL teams work the cases).
import { api, areas } from './api.js';
import { h, page, notice, when, errorNotice } from './ui.js';

// The most concerns one overview reads (wardd's ceiling for the trust's concern list).
const LIMIT = 5000;

// How long since unix seconds `t`, in words: "3 days 4 hours", "45 minutes".
export function age(t, now = Date.now() / 1000) {
	const s = Math.max(0, Math.floor(now - t));
	const d = Math.floor(s / 86400), hr = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
	const unit = (n, w) => `${n} ${w}${n === 1 ? '' : 's'}`;
	if (d) return hr ? `${unit(d, 'day')} ${unit(hr, 'hour')}` : unit(d, 'day');
	if (hr) return m ? `${unit(hr, 'hour')} ${unit(m, 'minute')}` : unit(hr, 'hour');
	return m ? unit(m, 'minute') : 'under a minute';
}

// Each school's figures from the schools list (exact counts) and the concern list.
export function schoolFigures(schools, concerns) {
	const rows = new Map(schools.map((s) => [s.id, { id: s.id, name: s.name, total: s.concerns, open: s.open,
		unacked: 0, urgent: 0, escalated: 0, inProgress: 0, oldest: null, areas: {} }]));
	for (const c of concerns) {
		const r = rows.get(c.school_id);
		if (!r || c.status === 'closed') continue;
		if (c.urgent) r.urgent++;
		if (c.status === 'new') {
			r.unacked++;
			if (c.escalated) r.escalated++;
			if (r.oldest === null || c.created < r.oldest) r.oldest = c.created;
		}
		if (c.status === 'in-progress') r.inProgress++;
		for (const a of c.areas || []) r.areas[a] = (r.areas[a] || 0) + 1;
	}
	return [...rows.values()];
}

// The columns: [key, heading, value to sort by, first direction].  Urgent first means the most
// urgent, then the most escalated, then the longest wait, then the most open.
const COLUMNS = [
	['name', 'School', (r) => r.name.toLowerCase(), 'ascending'],
	['urgent', 'Urgent', (r) => r.urgent, 'descending'],
	['escalated', 'Escalations overdue', (r) => r.escalated, 'descending'],
	['unacked', 'Not acknowledged', (r) => r.unacked, 'descending'],
	// descending: the longest wait first (an earlier time is a longer wait)
	['oldest', 'Oldest unacknowledged', (r) => (r.oldest === null ? -Infinity : -r.oldest), 'descending'],
	['open', 'Open', (r) => r.open, 'descending'],
];

export function urgentFirst(a, b) {
	return b.urgent - a.urgent || b.escalated - a.escalated ||
		(a.oldest ?? Infinity) - (b.oldest ?? Infinity) || b.open - a.open || a.name.localeCompare(b.name, 'en-GB');
}

function sortRows(rows, sort) {
	if (sort.key === 'priority') return [...rows].sort(urgentFirst);
	const col = COLUMNS.find(([k]) => k === sort.key);
	const v = col[2], dir = sort.dir === 'ascending' ? 1 : -1;
	return [...rows].sort((a, b) => {
		const x = v(a), y = v(b);
		return (x < y ? -dir : x > y ? dir : 0) || urgentFirst(a, b);
	});
}

// Remembered while the page is open, so a refresh keeps the lead's order.
let sort = { key: 'priority', dir: 'descending' };

function areaList(counts, title) {
	const list = Object.entries(counts).sort((a, b) => b[1] - a[1] || title(a[0]).localeCompare(title(b[0]), 'en-GB'));
	if (!list.length) return h('span', { class: 'meta' }, 'None open');
	return h('ul', { class: 'area-counts' }, list.map(([a, n]) => h('li', {}, `${title(a)}: ${n}`)));
}

function schoolTable(rows, title, redraw) {
	const head = COLUMNS.map(([key, label, , first]) => {
		const on = sort.key === key;
		const next = on ? (sort.dir === 'ascending' ? 'descending' : 'ascending') : first;
		return h('th', { scope: 'col', 'aria-sort': on ? sort.dir : undefined },
			h('button', { type: 'button', class: 'sort', 'data-key': key, onclick: () => { sort = { key, dir: next }; redraw(key); } },
				label, h('span', { class: 'sort-mark', 'aria-hidden': 'true' }, on ? (sort.dir === 'ascending' ? ' \u25b2' : ' \u25bc') : ''),
				h('span', { class: 'sr-only' }, on ? `, sorted ${sort.dir}; sort ${next}` : `, sort ${next}`)),
			h('span', { class: 'print-only' }, label));
	});
	const body = sortRows(rows, sort).map((r) => h('tr', { class: r.urgent || r.escalated ? 'needs-eyes' : undefined },
		h('th', { scope: 'row' }, r.name),
		h('td', {}, r.urgent ? h('span', { class: 'tag urgent' }, String(r.urgent)) : '0'),
		h('td', {}, r.escalated ? h('span', { class: 'tag urgent' }, String(r.escalated)) : '0'),
		h('td', {}, r.unacked ? h('span', { class: 'tag new' }, String(r.unacked)) : '0'),
		h('td', {}, r.oldest === null ? h('span', { class: 'meta' }, 'None waiting') : [age(r.oldest), h('span', { class: 'meta since' }, `since ${when(r.oldest)}`)]),
		h('td', {}, String(r.open), r.inProgress ? h('span', { class: 'meta' }, ` (${r.inProgress} in progress)`) : null),
		h('td', {}, areaList(r.areas, title))));
	const reset = h('div', { class: 'actions no-print' }, h('button', { type: 'button', class: 'secondary', 'data-key': 'priority',
		'aria-pressed': String(sort.key === 'priority'), onclick: () => { sort = { key: 'priority', dir: 'descending' }; redraw('priority'); } }, 'Most urgent first'));
	return h('div', {}, reset, h('div', { class: 'table-wrap', role: 'region', 'aria-labelledby': 'schools-h', tabindex: '0' }, h('table', { class: 'trust-schools' },
		h('caption', {}, sort.key === 'priority' ? 'Schools, most urgent first' : `Schools, by ${COLUMNS.find(([k]) => k === sort.key)[1].toLowerCase()} (${sort.dir})`),
		h('thead', {}, h('tr', {}, head, h('th', { scope: 'col' }, 'Open concerns by area'))),
		h('tbody', {}, body))));
}

// Concerns waiting for their DSL's acknowledgement, oldest first, across the trust.
function waitingTable(concerns, names, title) {
	const waiting = concerns.filter((c) => c.status === 'new').sort((a, b) => (b.urgent - a.urgent) || a.created - b.created);
	if (!waiting.length) return h('p', {}, 'Every concern in the trust has been acknowledged by its school.');
	return h('div', { class: 'table-wrap', role: 'region', 'aria-labelledby': 'waiting-h', tabindex: '0' }, h('table', { class: 'trust-waiting' },
		h('caption', {}, 'Concerns not yet acknowledged, urgent first, then the longest waiting'),
		h('thead', {}, h('tr', {}, ['School', 'Reference', 'Recorded', 'Waiting for', 'Escalated to', 'Areas'].map((t) => h('th', { scope: 'col' }, t)))),
		h('tbody', {}, waiting.map((c) => h('tr', {},
			h('th', { scope: 'row' }, names.get(c.school_id) || `School ${c.school_id}`),
			h('td', {}, String(c.id), c.urgent ? [' ', h('span', { class: 'tag urgent' }, 'Urgent')] : null),
			h('td', {}, when(c.created)),
			h('td', {}, age(c.created)),
			h('td', {}, c.escalated === 'head' ? 'The headteacher' : c.escalated === 'deputy-dsl' ? 'The deputy DSL' : h('span', { class: 'meta' }, 'Not yet')),
			h('td', {}, (c.areas || []).map(title).join(', ') || h('span', { class: 'meta' }, 'None given')))))));
}

export async function trustPage() {
	const [s, list, taxonomy] = await Promise.all([api('GET', '/api/v1/trust/schools'),
		api('GET', `/api/v1/trust/concerns?limit=${LIMIT}`), areas()]);
	const title = (id) => taxonomy.find((a) => a.id === id)?.title || id || 'Unknown area';
	const schools = s.schools || [], concerns = list.concerns || [];
	const rows = schoolFigures(schools, concerns);
	const names = new Map(schools.map((x) => [x.id, x.name]));
	const sum = (k) => rows.reduce((n, r) => n + r[k], 0);
	const urgent = sum('urgent'), escalated = sum('escalated'), unacked = sum('unacked'), open = sum('open');
	const at = Math.floor(Date.now() / 1000);
	const status = h('div', { 'aria-live': 'polite' });
	const tableSlot = h('div', {});
	const draw = (key) => {
		tableSlot.replaceChildren(schoolTable(rows, title, draw));
		if (key) {
			tableSlot.querySelector(`button[data-key="${key}"]`)?.focus();
			status.replaceChildren(h('p', { class: 'sr-only' }, tableSlot.querySelector('caption').textContent));
		}
	};
	draw();
	const byArea = {};
	for (const r of rows) for (const [a, n] of Object.entries(r.areas)) byArea[a] = (byArea[a] || 0) + n;
	page(s.trust ? `Trust overview: ${s.trust}` : 'Trust overview',
		h('p', { class: 'meta' }, `Figures as at ${when(at)}. `, h('button', { type: 'button', class: 'secondary', onclick: () => trustPage() }, 'Refresh')),
		s.trust ? null : notice('warn', 'Your school is not in a trust yet, so only your own school is shown. ward\u2019s administrator adds schools to a trust.'),
		urgent ? notice('error', h('strong', {}, `${urgent} urgent ${urgent === 1 ? 'concern' : 'concerns'} open: `), 'a pupil said they may not be safe now. Check that each school\u2019s DSL has acted.') : null,
		escalated ? notice('error', h('strong', {}, `${escalated} ${escalated === 1 ? 'escalation' : 'escalations'} overdue: `), 'not acknowledged in the school\u2019s set time, so the deputy DSL or the headteacher has been told.') : null,
		unacked ? notice('warn', h('strong', {}, `${unacked} ${unacked === 1 ? 'concern' : 'concerns'} not yet acknowledged`), ` across ${rows.filter((r) => r.unacked).length} of ${rows.length} ${rows.length === 1 ? 'school' : 'schools'}.`)
			: notice('ok', 'Every concern in the trust has been acknowledged by its school.'),
		concerns.length >= LIMIT ? notice('warn', `Only the newest ${LIMIT} concerns were read: the open counts are exact, the other figures may leave out older concerns.`) : null,
		status,
		h('section', { 'aria-labelledby': 'schools-h' }, h('h2', { id: 'schools-h' }, `Schools (${rows.length}) with ${open} open ${open === 1 ? 'concern' : 'concerns'}`),
			rows.length ? tableSlot : h('p', {}, 'No schools to show.'),
			h('p', { class: 'hint' }, 'Urgent: a pupil\u2019s own report said they are not, or not sure they are, safe now. Escalations overdue: not acknowledged in the school\u2019s set time, so the deputy DSL or the headteacher has been told. Urgent-referral answers in a case are seen by the school\u2019s DSL team, not here.'),
			h('p', { class: 'hint no-print' }, 'Choose a column heading to sort by it; choose it again to reverse the order.')),
		h('section', { 'aria-labelledby': 'waiting-h' }, h('h2', { id: 'waiting-h' }, 'Waiting for acknowledgement'), waitingTable(concerns, names, title)),
		h('section', { 'aria-labelledby': 'areas-h' }, h('h2', { id: 'areas-h' }, 'Open concerns across the trust by area'),
			Object.keys(byArea).length ? areaList(byArea, title) : h('p', {}, 'No open concerns.')),
		h('p', { class: 'meta' }, 'The schools\u2019 DSL teams hold the cases: this overview has no accounts and no children\u2019s details. Every time you open it, it is recorded.'));
}
