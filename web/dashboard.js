// dashboard.js: what the DSL sees on signing in: concerns not yet acknowledged and urgent ones
// first, detection alerts waiting for a decision (when wardd has the alerts routes), and the
// concerns by area over time, drawn as SVG by the page (no chart library, no third party).
import { api, areas, hasRoute } from './api.js';
import { h, page, notice, when, statusTag, errorNotice, childNames } from './ui.js';

// Nine distinguishable colours (Okabe-Ito plus two), each with 3:1 contrast on white.
export const COLOURS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#8a6d00', '#56b4e9', '#6a3d9a', '#b2182b', '#4d4d4d'];

// Urgent first, then new (unacknowledged), escalated ones before the rest of those, closed last.
export function rank(c) {
	return (c.urgentReasons ? 0 : 8) + (c.status === 'new' ? 0 : 4) + (c.escalated ? 0 : 2) + (c.status === 'closed' ? 16 : 0);
}

// Why each open case is urgent: a yes to an urgent-referral question (wardd's urgent list, one
// audited read rather than reading every case), or a pupil who said they are not safe now.
// Marks the concerns in place; an error is returned to be shown, never hidden.
async function markUrgent(concerns) {
	let list = [], err = null;
	try {
		list = (await api('GET', '/api/v1/cases/urgent')).concerns || [];
	} catch (e) {
		if (!(e.status === 404 && /no such path/.test(e.detail || ''))) err = e;
	}
	for (const u of list) {
		const c = concerns.find((x) => x.id === u.id);
		if (c) { c.urgentReasons = [...u.urgent_reasons]; c.answeredAt = u.answered_at; }
	}
	for (const c of concerns)
		if (c.source === 'pupil' && c.urgent === true && c.status !== 'closed')
			(c.urgentReasons ||= []).unshift(c.safe_now === 'no' ? 'The pupil said they are not safe right now.' : 'The pupil was not sure they are safe right now.');
	return err;
}

async function acknowledge(c, li, msg) {
	try {
		const n = await api('POST', `/api/v1/concerns/${c.id}/acknowledge`);
		c.status = n.status;
		li.classList.remove('is-new');
		li.querySelector('.tag.new')?.replaceWith(statusTag(n.status));
		li.querySelector('button.ack')?.remove();
		msg.replaceChildren(notice('ok', `Acknowledged: ${childNames(c)}.`));
	} catch (e) {
		msg.replaceChildren(errorNotice(e));
	}
}

function concernItem(c, title, msg) {
	const li = h('li', { class: c.status === 'new' ? 'is-new' : '' },
		h('h3', {}, h('a', { href: `#/case/${c.id}` }, childNames(c))),
		c.urgentReasons ? h('p', { class: 'why-urgent' }, h('span', { class: 'tag urgent' }, 'Urgent'), ' ', c.urgentReasons.join(' ')) : null,
		h('p', { class: 'meta' }, statusTag(c.status), c.escalated ? h('span', { class: 'tag urgent' }, `Escalated to the ${c.escalated === 'head' ? 'headteacher' : 'deputy DSL'}`) : null,
			(c.areas || []).map((a) => h('span', { class: 'tag' }, title(a)))),
		h('p', { class: 'meta' }, `Happened ${when(c.occurred_at)} · recorded ${when(c.recorded_at)} · reference ${c.id}`));
	if (c.status === 'new')
		li.append(h('div', { class: 'actions' }, h('button', { type: 'button', class: 'ack', onclick: () => acknowledge(c, li, msg) }, 'Acknowledge'),
			h('a', { href: `#/case/${c.id}` }, 'Open the case')));
	return li;
}

// Items (concerns, or alert counts) by area in each of the last `months` months.
export function byMonth(items, months, dateOf) {
	const now = new Date();
	const keys = [];
	for (let i = months - 1; i >= 0; i--) {
		const d = new Date(now.getFullYear(), now.getMonth() - i, 1);
		keys.push(`${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`);
	}
	const counts = Object.fromEntries(keys.map((k) => [k, {}]));
	for (const it of items) {
		const k = String(dateOf(it) || '').slice(0, 7);
		if (!counts[k]) continue;
		for (const a of it.areas || []) counts[k][a] = (counts[k][a] || 0) + (it.count || 1);
	}
	return { keys, counts };
}

const MONTH = new Intl.DateTimeFormat('en-GB', { month: 'short', year: '2-digit' });
const monthName = (k) => MONTH.format(new Date(`${k}-01T00:00:00`));

// A stacked bar chart as SVG, with the same numbers in a table for screen readers.
export function areaChart(label, data, taxonomy) {
	const W = 640, H = 260, L = 36, B = 28, T = 10;
	const totals = data.keys.map((k) => Object.values(data.counts[k]).reduce((a, b) => a + b, 0));
	const max = Math.max(1, ...totals);
	const step = (W - L) / data.keys.length, bw = Math.min(48, step * 0.6);
	const y = (v) => H - B - (v / max) * (H - B - T);
	const svg = h('svg:svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${label.id}-t`, focusable: 'false' },
		h('svg:title', { id: `${label.id}-t` }, `${label.text}: ${totals.reduce((a, b) => a + b, 0)} in ${data.keys.length} months; the table below has the numbers.`));
	for (const v of new Set([0, Math.ceil(max / 2), max])) {
		svg.append(h('svg:line', { x1: L, x2: W, y1: y(v), y2: y(v), stroke: '#b1b4b6', 'stroke-width': 1 }),
			h('svg:text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 12, fill: '#1b1b1b' }, String(v)));
	}
	data.keys.forEach((k, i) => {
		let acc = 0;
		const x = L + i * step + (step - bw) / 2;
		taxonomy.forEach((a, ai) => {
			const n = data.counts[k][a.id] || 0;
			if (!n) return;
			svg.append(h('svg:rect', { x, width: bw, y: y(acc + n), height: y(acc) - y(acc + n), fill: COLOURS[ai % COLOURS.length], stroke: '#fff', 'stroke-width': 1 },
				h('svg:title', {}, `${monthName(k)}, ${a.title}: ${n}`)));
			acc += n;
		});
		svg.append(h('svg:text', { x: x + bw / 2, y: H - 8, 'text-anchor': 'middle', 'font-size': 12, fill: '#1b1b1b' }, monthName(k)));
	});
	const used = taxonomy.filter((a) => data.keys.some((k) => data.counts[k][a.id]));
	const legend = h('ul', { class: 'legend' }, used.map((a) => h('li', {},
		h('svg:svg', { class: 'swatch', viewBox: '0 0 10 10', 'aria-hidden': 'true', width: 14, height: 14 }, h('svg:rect', { width: 10, height: 10, fill: COLOURS[taxonomy.indexOf(a) % COLOURS.length] })), a.title)));
	const table = h('details', {}, h('summary', {}, `${label.text}: the numbers`),
		h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Area'), data.keys.map((k) => h('th', { scope: 'col' }, monthName(k))))),
			h('tbody', {}, taxonomy.map((a) => h('tr', {}, h('th', { scope: 'row' }, a.title), data.keys.map((k) => h('td', {}, String(data.counts[k][a.id] || 0)))))))));
	return h('figure', { class: 'chart card' }, h('figcaption', { id: label.id }, h('h2', {}, label.text)), svg, legend, table);
}

// Detection alerts waiting for a decision: promote to a concern, or dismiss with a reason.
async function alertsSection(title) {
	let list;
	try { list = await api('GET', '/api/v1/alerts?status=new'); } catch (e) { return h('section', {}, h('h2', {}, 'Detection alerts'), errorNotice(e)); }
	const alerts = list.alerts || [];
	const msg = h('div', { 'aria-live': 'polite' });
	const items = alerts.map((a) => {
		const reason = h('input', { type: 'text', id: `dismiss-${a.id}`, maxlength: '2000' });
		const li = h('li', {},
			h('h3', {}, `${title(a.area)}: ${a.rule}`),
			h('p', { class: 'meta' }, `${a.severity} · from ${a.source} · ${a.subject ? `about ${a.subject} · ` : ''}${when(a.last_seen)}${a.count > 1 ? ` · seen ${a.count} times` : ''}`),
			h('div', { class: 'actions' },
				h('button', { type: 'button', onclick: async () => {
					try {
						const r = await api('POST', `/api/v1/alerts/${a.id}/promote`, {});
						li.remove();
						msg.replaceChildren(notice('ok', 'Promoted to a concern. ', h('a', { href: `#/case/${r.concern_id}` }, 'Open the case')));
					} catch (e) { msg.replaceChildren(errorNotice(e)); }
				} }, 'Promote to a concern', h('span', { class: 'sr-only' }, ` (alert ${a.id})`))),
			h('label', { for: reason.id }, 'Or dismiss it, with the reason'), reason,
			h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: async () => {
				if (!reason.value.trim()) { msg.replaceChildren(notice('error', 'Give a reason before dismissing an alert.')); reason.focus(); return; }
				try { await api('POST', `/api/v1/alerts/${a.id}/dismiss`, { reason: reason.value.trim() }); li.remove(); msg.replaceChildren(notice('ok', 'Dismissed, with your reason recorded.')); } catch (e) { msg.replaceChildren(errorNotice(e)); }
			} }, 'Dismiss', h('span', { class: 'sr-only' }, ` (alert ${a.id})`))));
		return li;
	});
	return h('section', { 'aria-labelledby': 'alerts-h' }, h('h2', { id: 'alerts-h' }, `Detection alerts waiting for a decision (${alerts.length})`), msg,
		items.length ? h('ul', { class: 'list' }, items) : h('p', {}, 'None waiting.'));
}

// Alerts by area and month from wardd's summary (by day), for the chart.
async function alertsByMonth() {
	try {
		const s = await api('GET', '/api/v1/alerts/summary?days=366');
		return (s.by_day || []).map((d) => ({ day: d.day, areas: [d.area], count: d.count }));
	} catch { return null; }
}

export async function dashboardPage() {
	const [{ concerns }, taxonomy, notices] = await Promise.all([api('GET', '/api/v1/concerns'), areas(),
		hasRoute('/api/v1/notices').then((yes) => (yes ? api('GET', '/api/v1/notices') : { notices: [] })).catch(() => ({ notices: [] }))]);
	const title = (id) => taxonomy.find((a) => a.id === id)?.title || id || 'Unknown area';
	// wardd's notices say how far an unacknowledged concern has been escalated.
	for (const n of notices.notices || [])
		if (n.kind === 'concern' && n.stage >= 2) {
			const c = concerns.find((x) => x.id === n.ref_id);
			if (c && c.status === 'new') c.escalated = n.sent_to;
		}
	const urgentErr = await markUrgent(concerns);
	const escalated = concerns.filter((c) => c.escalated).length;
	const open = concerns.filter((c) => c.status !== 'closed')
		.sort((a, b) => rank(a) - rank(b) || (b.answeredAt || 0) - (a.answeredAt || 0) || (b.recorded_at || 0) - (a.recorded_at || 0));
	const unacked = open.filter((c) => c.status === 'new').length;
	const urgent = open.filter((c) => c.urgentReasons).length;
	const msg = h('div', { 'aria-live': 'polite' });
	const alerts = await hasRoute('/api/v1/alerts') ? await alertsSection(title) : null;
	const alertItems = alerts ? await alertsByMonth() : null;
	page('Dashboard',
		urgent ? notice('error', h('strong', {}, `${urgent} urgent ${urgent === 1 ? 'case' : 'cases'}: `), 'refer to the police or children\u2019s social care at once; each is listed first with the reason.') : null,
		urgentErr ? errorNotice(urgentErr) : null,
		unacked ? notice('error', h('strong', {}, `${unacked} new ${unacked === 1 ? 'concern' : 'concerns'} not yet acknowledged.`), ' Acknowledge each so the reporter knows it has been seen.')
			: notice('ok', 'Every concern has been acknowledged.'),
		escalated ? notice('error', h('strong', {}, `${escalated} escalated: `), 'not acknowledged in the school\u2019s set time, so the deputy DSL or the headteacher has been told.') : null,
		msg,
		h('section', { 'aria-labelledby': 'open-h' }, h('h2', { id: 'open-h' }, `Open concerns (${open.length})`),
			open.length ? h('ul', { class: 'list' }, open.map((c) => concernItem(c, title, msg))) : h('p', {}, 'No open concerns.')),
		alerts,
		areaChart({ id: 'chart-concerns', text: 'Concerns by area, last 12 months' }, byMonth(concerns, 12, (c) => c.occurred_at), taxonomy),
		alertItems ? areaChart({ id: 'chart-alerts', text: 'Detection alerts by area, last 12 months' }, byMonth(alertItems, 12, (a) => a.day), taxonomy) : null,
		h('p', {}, `${concerns.filter((c) => c.status === 'closed').length} closed concerns are kept in the record.`));
}
