// ui.js: small helpers every page uses.  Elements are built with the DOM (text always goes in
// as text, never as HTML), so nothing a user typed can become markup.

// h('p', { class: 'x', onclick: f }, 'text', child...): an element.
export function h(tag, attrs, ...kids) {
	const svg = tag.startsWith('svg:');
	const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4)) : document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === undefined || v === null || v === false) continue;
		if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
		else if (k === 'class') el.setAttribute('class', v);
		else if (k in el && !svg && typeof v !== 'string') el[k] = v;
		else el.setAttribute(k, v === true ? '' : String(v));
	}
	for (const kid of kids.flat(Infinity)) {
		if (kid === undefined || kid === null || kid === false) continue;
		el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
	}
	return el;
}

let seq = 0;
export const uid = (p = 'f') => `${p}-${++seq}`;

// Replaces main's content, sets the title, moves focus to the heading for screen readers.
export function page(title, ...content) {
	const main = document.getElementById('main');
	const h1 = h('h1', { tabindex: '-1' }, title);
	main.replaceChildren(h1, ...content.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
	document.title = `${title}: ward`;
	h1.focus();
	return main;
}

export function notice(kind, ...text) {
	return h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...text);
}

// A labelled input with an optional hint; returns { wrap, input }.
export function field(label, attrs = {}, hint) {
	const id = attrs.id || uid();
	const hid = hint ? `${id}-hint` : undefined;
	const tag = attrs.tag || 'input';
	const a = { ...attrs, id, 'aria-describedby': hid };
	delete a.tag;
	const input = h(tag, a);
	const wrap = h('div', {}, h('label', { for: id }, label), hint ? h('span', { class: 'hint', id: hid }, hint) : null, input);
	return { wrap, input };
}

const DATE = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
const DATETIME = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });

// "2026-11-01" or "2026-11-01T10:30" as the reader's date; unix seconds as date and time.
export function when(v) {
	if (v === undefined || v === null || v === '') return '';
	if (typeof v === 'number') return DATETIME.format(new Date(v * 1000));
	const d = new Date(v.length === 10 ? `${v}T00:00:00` : v);
	if (Number.isNaN(d.getTime())) return v;
	return v.length === 10 ? DATE.format(d) : DATETIME.format(d);
}

export const STATUS = { new: 'New: not yet acknowledged', acknowledged: 'Acknowledged', 'in-progress': 'In progress', closed: 'Closed' };

export function statusTag(s) {
	return h('span', { class: `tag ${s === 'new' ? 'new' : s === 'closed' ? 'closed' : ''}` }, STATUS[s] || s);
}

export function errorNotice(e) {
	if (e && e.offline) return notice('error', e.detail);
	return notice('error', h('strong', {}, (e && e.title) || 'Something went wrong'), ': ', (e && e.detail) || String(e));
}

// The child or children a concern is about, in one line.
export function childNames(c) {
	return (c.children || []).map((k) => k.name).join(', ') || 'No child named';
}
