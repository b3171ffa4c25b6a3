// resources.js: where to get help, and the seed's advice for each area, for every role.
import { areas, guide } from './api.js';
import { h, page } from './ui.js';

const ext = (href, text) => h('a', { href, rel: 'noopener noreferrer', target: '_blank' }, text, h('span', { class: 'sr-only' }, ' (opens in a new tab)'));

export async function resourcesPage() {
	const [taxonomy, g] = await Promise.all([areas(), guide()]);
	const general = (taxonomy[0]?.general_guidance || '').split('\n').filter(Boolean);
	page('Help and resources',
		h('section', { class: 'card', 'aria-labelledby': 'r-now' }, h('h2', { id: 'r-now' }, 'Getting help'),
			h('ul', {},
				h('li', {}, 'A child in immediate danger: call 999.'),
				h('li', {}, ext('https://www.ceop.police.uk/Safety-Centre/', 'CEOP Safety Centre'), ': report online sexual abuse or grooming to the National Crime Agency\u2019s CEOP command. The DSL makes referrals; children and parents can report directly too.'),
				h('li', {}, ext('https://www.thinkuknow.co.uk/', 'Thinkuknow'), ': CEOP\u2019s education programme, with resources for children of each age, parents and carers, and professionals.'),
				g.contacts.map((k) => h('li', {}, h('strong', {}, k.name), `: ${k.how} (${k.when})`)))),
		h('section', { class: 'card', 'aria-labelledby': 'r-all' }, h('h2', { id: 'r-all' }, 'In every case'),
			h('ul', { class: 'checklist' }, general.map((t) => h('li', {}, t)))),
		h('h2', {}, 'Guidance for each area'),
		taxonomy.map((a) => h('details', { class: 'card' }, h('summary', {}, h('strong', {}, a.title), ` (${a.seed_words})`),
			h('ul', {}, a.guidance.split('\n').filter(Boolean).map((t) => h('li', {}, t))),
			h('h3', {}, 'The checklist for this area'),
			h('ul', { class: 'checklist' }, g.checklist.filter((it) => it.areas.includes(a.id)).map((it) =>
				h('li', {}, `${it.kind === 'dont' ? 'Do not: ' : ''}${it.text}`, it.who === 'dsl' ? ' (the DSL)' : '')))),
		),
		h('section', { class: 'card', 'aria-labelledby': 'r-talk' }, h('h2', { id: 'r-talk' }, 'Talking with children about life online'),
			h('ul', {},
				h('li', {}, 'Listen, stay calm, and let the child tell it in their own words; do not ask leading questions.'),
				h('li', {}, 'Tell them it was right to tell you and that they are not in trouble.'),
				h('li', {}, 'Do not promise to keep a secret: say who you will tell and why.'),
				h('li', {}, 'Write down what they said, in their words, as soon as you can, and report it here.'))),
		h('section', { class: 'card', 'aria-labelledby': 'r-tech' }, h('h2', { id: 'r-tech' }, 'Keeping up with the technology'),
			h('ul', {},
				h('li', {}, 'Children move conversations from public games and social media to private or disappearing-message apps: a request to move app, or to keep a chat secret, is a warning sign.'),
				h('li', {}, 'Livestreams and video calls can be recorded by the other party without the child knowing.'),
				h('li', {}, 'Gifts such as game credit, gift cards or money transfers can be used to build obligation.'),
				h('li', {}, 'Thinkuknow\u2019s professional pages carry current briefings for staff: ', ext('https://www.thinkuknow.co.uk/professionals/', 'Thinkuknow for professionals'), '.'))));
}
