/*
 * conv.c: the conversation model.
 *
 * Each sender has a value per grooming stage.  A finding of a rule tagged with a stage adds the
 * rule's weight to that stage of the sender, except personal details, which the other side
 * gives away: they are added to the sender they were given to (the message's recipient, or
 * the last other person who wrote).  Values fade (halve every half_life_messages messages and
 * every half_life_seconds of chat time), and one stage can add at most stage_cap to a score,
 * so a word said again and again never makes a pattern.  A level needs a score, a number of
 * distinct stages and, above low, stages from more than one group (trust, control, contact,
 * pressure, disclosure): the combination, not one word.  A sender's alert keeps the highest
 * level reached and the message that first reached each level.
 *
 * The whole-file scan is the message-by-message API run over the reader, so both give the
 * same alerts.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "chat_int.h"

#define MAX_FINDINGS_PER_MESSAGE 256
#define UNKNOWN_SENDER "(no name)"
#define OVERFLOW_SENDER "(other participants)"
#define NRECIP 4

static const char *const stage_names[WARD_STAGE_COUNT] = {
	"friendship",     "relationship",  "risk-assessment", "exclusivity",    "secrecy",
	"isolation",      "platform-move", "gifts",           "image-request",  "camera-request",
	"meeting",        "pressure",      "personal-details",
};

/* Stage groups: trust building, control (risk assessment, secrecy, isolation, moving away),
 * contact (images, camera, meeting), pressure, and the child's disclosures. */
enum { G_TRUST = 0, G_CONTROL, G_CONTACT, G_PRESSURE, G_DISCLOSURE };
static const unsigned char stage_group[WARD_STAGE_COUNT] = {
	G_TRUST,   G_TRUST,   G_CONTROL, G_TRUST,   G_CONTROL, G_CONTROL,   G_CONTROL,
	G_TRUST,   G_CONTACT, G_CONTACT, G_CONTACT, G_PRESSURE, G_DISCLOSURE,
};

static const char *const level_names[] = {"none", "low", "medium", "high"};

const char *ward_stage_name(ward_stage s)
{
	return (unsigned)s < WARD_STAGE_COUNT ? stage_names[s] : "?";
}

int ward_stage_from_name(const char *name)
{
	for (int i = 0; name && i < WARD_STAGE_COUNT; i++)
		if (strcmp(name, stage_names[i]) == 0)
			return i;
	return -1;
}

const char *ward_conv_level_name(ward_conv_level l)
{
	return (unsigned)l <= WARD_LEVEL_HIGH ? level_names[l] : "?";
}

int ward_conv_level_from_name(const char *name)
{
	for (int i = 0; name && i <= WARD_LEVEL_HIGH; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

void ward_conv_config_default(ward_conv_config *c)
{
	memset(c, 0, sizeof *c);
	c->half_life_messages = 1000;
	c->half_life_seconds = 45.0 * 86400;
	c->stage_cap = 4;
	c->present = 0.5;
	c->low = 3;
	c->medium = 5;
	c->high = 9;
	c->low_stages = 2;
	c->medium_stages = 4;
	c->high_stages = 5;
	c->medium_groups = 2;
	c->high_groups = 3;
	c->max_participants = 4096;
	c->max_evidence = 64;
}

typedef struct party {
	char *name;
	double v[WARD_STAGE_COUNT];
	double area_w[WARD_AREA_COUNT];
	uint64_t ref_msg;     /* message index the values were last brought up to */
	int64_t ref_when;     /* and chat time, or -1 */
	bool touched;
	size_t last_to;       /* party last written to, or SIZE_MAX */
	struct {
		size_t party;
		uint64_t n;
	} recip[NRECIP];
	ward_conv_alert alert;
	bool alerted;
	ward_conv_evidence *ev;
	size_t nev, capev;
} party;

typedef struct found {
	const ward_rule_info *rule;
	uint64_t start, end, line;
} found;

struct ward_conv {
	const ward_engine *e;
	ward_scanner *sc;
	ward_conv_config cfg;
	party *parties;
	size_t np, capp;
	uint32_t *tab;        /* open-addressing table of party index + 1 */
	size_t tabcap;
	size_t *order;        /* parties in the order their alerts were raised */
	size_t nalerts;
	uint64_t nmsg, next_index;
	int64_t now;          /* latest chat time seen, or -1 */
	size_t prev_sender;   /* sender of the previous message, or SIZE_MAX */
	found *f;
	size_t nf;
	bool f_overflow;
	/* during a scan */
	const ward_chat_message *msg;
	ward_finding_cb user_cb;
	void *user_ctx;
};

ward_status ward_conv_new(const ward_engine *e, const ward_conv_config *cfg, ward_conv **out)
{
	ward_status st = WARD_OK;
	ward_conv *c = NULL;
	*out = NULL;
	if (!(c = calloc(1, sizeof *c))) {
		st = WARD_ENOMEM;
		goto done;
	}
	if (cfg)
		c->cfg = *cfg;
	else
		ward_conv_config_default(&c->cfg);
	if (c->cfg.max_participants < 2)
		c->cfg.max_participants = 2;
	c->e = e;
	c->now = -1;
	c->prev_sender = SIZE_MAX;
	c->tabcap = 64;
	if (!(c->tab = calloc(c->tabcap, sizeof *c->tab)) ||
	    !(c->f = malloc(MAX_FINDINGS_PER_MESSAGE * sizeof *c->f))) {
		st = WARD_ENOMEM;
		goto done;
	}
	if (e && (st = ward_scanner_new(e, &c->sc)) != WARD_OK)
		goto done;
	*out = c;
	c = NULL;
done:
	ward_conv_free(c);
	return st;
}

void ward_conv_free(ward_conv *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->np; i++) {
		free(c->parties[i].name);
		free(c->parties[i].ev);
	}
	free(c->parties);
	free(c->tab);
	free(c->order);
	free(c->f);
	ward_scanner_free(c->sc);
	free(c);
}

size_t ward_conv_alert_count(const ward_conv *c)
{
	return c ? c->nalerts : 0;
}

const ward_conv_alert *ward_conv_alert_get(const ward_conv *c, size_t i)
{
	return c && i < c->nalerts ? &c->parties[c->order[i]].alert : NULL;
}

uint64_t ward_conv_message_count(const ward_conv *c)
{
	return c ? c->nmsg : 0;
}

/* FNV-1a, for the party table. */
static uint32_t hash_name(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static ward_status tab_grow(ward_conv *c)
{
	size_t cap = c->tabcap * 2;
	uint32_t *t = calloc(cap, sizeof *t);
	if (!t)
		return WARD_ENOMEM;
	for (size_t i = 0; i < c->np; i++) {
		const char *nm = c->parties[i].name;
		size_t k = hash_name(nm, strlen(nm)) & (cap - 1);
		while (t[k])
			k = (k + 1) & (cap - 1);
		t[k] = (uint32_t)i + 1;
	}
	free(c->tab);
	c->tab = t;
	c->tabcap = cap;
	return WARD_OK;
}

/* The party named [name, name+n), created if new.  Beyond max_participants, new names share
 * one slot.  Names with NUL bytes are kept up to the NUL. */
static ward_status party_of(ward_conv *c, const char *name, size_t n, size_t *out)
{
	ward_status st = WARD_OK;
	char *copy = NULL;
	const char *nul = memchr(name, '\0', n);
	if (nul)
		n = (size_t)(nul - name);
	if (n == 0) {
		name = UNKNOWN_SENDER;
		n = strlen(name);
	}
	if (c->np >= c->cfg.max_participants - 1) {
		name = OVERFLOW_SENDER;
		n = strlen(name);
	}
	size_t k = hash_name(name, n) & (c->tabcap - 1);
	while (c->tab[k]) {
		const char *pn = c->parties[c->tab[k] - 1].name;
		if (strncmp(pn, name, n) == 0 && pn[n] == '\0') {
			*out = c->tab[k] - 1;
			goto done;
		}
		k = (k + 1) & (c->tabcap - 1);
	}
	if (c->np == c->capp) {
		size_t cap = c->capp ? c->capp * 2 : 8;
		party *p = realloc(c->parties, cap * sizeof *p);
		if (!p) {
			st = WARD_ENOMEM;
			goto done;
		}
		c->parties = p;
		c->capp = cap;
		/* alerts point into parties: refresh their evidence and name pointers below */
	}
	if (!(copy = malloc(n + 1))) {
		st = WARD_ENOMEM;
		goto done;
	}
	memcpy(copy, name, n);
	copy[n] = '\0';
	party *p = &c->parties[c->np];
	memset(p, 0, sizeof *p);
	p->name = copy;
	copy = NULL;
	p->ref_when = -1;
	p->last_to = SIZE_MAX;
	for (size_t i = 0; i < NRECIP; i++)
		p->recip[i].party = SIZE_MAX;
	c->tab[k] = (uint32_t)c->np + 1;
	*out = c->np++;
	if (c->np * 2 > c->tabcap)
		st = tab_grow(c);
done:
	free(copy);
	return st;
}

/* Brings p's values to message idx and time now. */
static void decay(const ward_conv *c, party *p, uint64_t idx, int64_t now)
{
	double f = 1;
	if (idx > p->ref_msg && c->cfg.half_life_messages > 0)
		f *= exp2(-(double)(idx - p->ref_msg) / c->cfg.half_life_messages);
	if (now >= 0 && p->ref_when >= 0 && now > p->ref_when && c->cfg.half_life_seconds > 0)
		f *= exp2(-(double)(now - p->ref_when) / c->cfg.half_life_seconds);
	if (f < 1)
		for (int s = 0; s < WARD_STAGE_COUNT; s++)
			p->v[s] *= f;
	p->ref_msg = idx;
	if (now >= 0)
		p->ref_when = now;
}

static void note_recipient(party *p, size_t to)
{
	size_t weakest = 0;
	for (size_t i = 0; i < NRECIP; i++) {
		if (p->recip[i].party == to) {
			p->recip[i].n++;
			return;
		}
		if (p->recip[i].n < p->recip[weakest].n)
			weakest = i;
	}
	p->recip[weakest].party = to;
	p->recip[weakest].n = 1;
}

static ward_status add_evidence(const ward_conv *c, party *p, const ward_conv_evidence *ev)
{
	for (size_t i = p->nev; i-- > 0 && p->ev[i].message == ev->message;)
		if (p->ev[i].rule == ev->rule && p->ev[i].stage == ev->stage)
			return WARD_OK;
	if (p->nev >= c->cfg.max_evidence) {
		p->alert.evidence_dropped++;
		return WARD_OK;
	}
	if (p->nev == p->capev) {
		size_t cap = p->capev ? p->capev * 2 : 8;
		if (cap > c->cfg.max_evidence)
			cap = c->cfg.max_evidence;
		ward_conv_evidence *n = realloc(p->ev, cap * sizeof *n);
		if (!n)
			return WARD_ENOMEM;
		p->ev = n;
		p->capev = cap;
	}
	p->ev[p->nev++] = *ev;
	return WARD_OK;
}

/* The level p's values reach now, and the score. */
static ward_conv_level evaluate(const ward_conv *c, const party *p, double *score)
{
	const ward_conv_config *k = &c->cfg;
	double sum = 0;
	unsigned nst = 0, groups = 0, ng = 0;
	for (int s = 0; s < WARD_STAGE_COUNT; s++) {
		double v = p->v[s] < k->stage_cap ? p->v[s] : k->stage_cap;
		sum += v;
		if (p->v[s] >= k->present) {
			nst++;
			groups |= 1u << stage_group[s];
		}
	}
	for (unsigned g = groups; g; g &= g - 1)
		ng++;
	*score = sum;
	if (sum >= k->high && nst >= k->high_stages && ng >= k->high_groups)
		return WARD_LEVEL_HIGH;
	if (sum >= k->medium && nst >= k->medium_stages && ng >= k->medium_groups)
		return WARD_LEVEL_MEDIUM;
	if (sum >= k->low && nst >= k->low_stages)
		return WARD_LEVEL_LOW;
	return WARD_LEVEL_NONE;
}

static void refresh_pointers(ward_conv *c, size_t pi);

/* Refreshes p's alert from its state; *raised when the level rose. */
static ward_status update_alert(ward_conv *c, size_t pi, const ward_chat_message *m,
                                const ward_conv_alert **raised)
{
	party *p = &c->parties[pi];
	double score;
	ward_conv_level lv = evaluate(c, p, &score);
	ward_conv_alert *a = &p->alert;
	if (lv == WARD_LEVEL_NONE && !p->alerted)
		return WARD_OK;
	if (!p->alerted) {
		size_t *o = realloc(c->order, (c->nalerts + 1) * sizeof *o);
		if (!o)
			return WARD_ENOMEM;
		c->order = o;
		c->order[c->nalerts++] = pi;
		p->alerted = true;
		a->first_message = m->index;
		a->first_line = m->line;
	}
	if (lv > a->level) {
		for (int l = (int)a->level + 1; l <= (int)lv; l++)
			a->level_message[l] = m->index;
		a->level = lv;
		if (raised)
			*raised = a;
	}
	if (score > a->score)
		a->score = score;
	memcpy(a->stage_score, p->v, sizeof a->stage_score);
	/* the area: grooming unless another area's findings weigh more */
	ward_area best = WARD_AREA_GROOMING;
	for (int ar = 0; ar < WARD_AREA_COUNT; ar++)
		if (p->area_w[ar] > p->area_w[best])
			best = (ward_area)ar;
	a->area = best;
	refresh_pointers(c, pi);
	return WARD_OK;
}

/* Sets the pointers and counts in p's alert from its state. */
static void refresh_pointers(ward_conv *c, size_t pi)
{
	party *p = &c->parties[pi];
	size_t best = SIZE_MAX;
	uint64_t bn = 0;
	for (size_t r = 0; r < NRECIP; r++)
		if (p->recip[r].party != SIZE_MAX && p->recip[r].n > bn) {
			bn = p->recip[r].n;
			best = p->recip[r].party;
		}
	p->alert.sender = p->name;
	p->alert.recipient = best != SIZE_MAX ? c->parties[best].name : "";
	p->alert.evidence = p->ev;
	p->alert.nevidence = p->nev;
}

/* The model's step: findings c->f[0..nf) of message m. */
static ward_status model_update(ward_conv *c, const ward_chat_message *m,
                                const ward_conv_alert **raised)
{
	ward_status st = WARD_OK;
	size_t from, to = SIZE_MAX;
	if (raised)
		*raised = NULL;
	if (c->nmsg && m->index < c->next_index) {
		st = WARD_EINVAL; /* messages must come in order */
		goto done;
	}
	c->next_index = m->index + 1;
	c->nmsg++;
	if (m->when >= 0)
		c->now = m->when;
	if ((st = party_of(c, m->from, m->from_len, &from)) != WARD_OK)
		goto done;
	if (m->to_len) {
		if ((st = party_of(c, m->to, m->to_len, &to)) != WARD_OK)
			goto done;
	} else if (c->prev_sender != SIZE_MAX && c->prev_sender != from) {
		to = c->prev_sender;
	} else {
		to = c->parties[from].last_to;
	}
	if (to == from)
		to = SIZE_MAX;
	c->parties[from].last_to = to;
	c->prev_sender = from;
	if (to != SIZE_MAX)
		note_recipient(&c->parties[from], to);
	for (size_t i = 0; i < c->nf; i++) {
		const ward_rule_info *ri = c->f[i].rule;
		int stage = ri->stage ? ward_stage_from_name(ri->stage) : -1;
		size_t target = from;
		/* the same rule twice in one message counts once */
		bool dup = false;
		for (size_t j = 0; j < i; j++)
			dup |= c->f[j].rule == ri;
		if (dup)
			continue;
		if (stage == WARD_STAGE_PERSONAL_DETAILS) {
			if (to == SIZE_MAX)
				continue; /* given to nobody we know of */
			target = to;
		}
		party *p = &c->parties[target];
		decay(c, p, m->index, c->now);
		if ((unsigned)ri->area < WARD_AREA_COUNT && stage != WARD_STAGE_PERSONAL_DETAILS)
			p->area_w[ri->area] += ri->weight;
		p->touched = true;
		if (stage < 0)
			continue;
		p->v[stage] += ri->weight;
		if (p->v[stage] > 2 * c->cfg.stage_cap)
			p->v[stage] = 2 * c->cfg.stage_cap;
		p->alert.stages |= 1u << stage;
		ward_conv_evidence ev = {
			.stage = (ward_stage)stage,
			.rule = ri,
			.message = m->index,
			.line = c->f[i].line,
			.start = c->f[i].start,
			.end = c->f[i].end,
			.from_other = target != from,
		};
		if ((st = add_evidence(c, p, &ev)) != WARD_OK)
			goto done;
	}
	/* only the sender and the recipient can have changed */
	size_t who[2] = {from, to};
	for (size_t k = 0; k < 2; k++) {
		if (who[k] == SIZE_MAX || !c->parties[who[k]].touched)
			continue;
		c->parties[who[k]].touched = false;
		if ((st = update_alert(c, who[k], m, raised)) != WARD_OK)
			goto done;
	}
	if (c->parties[from].alerted)
		refresh_pointers(c, from);
done:
	return st;
}

static int on_finding(const ward_finding *f, void *ctx)
{
	ward_conv *c = ctx;
	const ward_chat_message *m = c->msg;
	ward_finding g = *f;
	if (m->text_verbatim) {
		g.start = m->text_start + f->start;
		g.end = m->text_start + f->end;
		g.line = m->line + f->line - 1;
	} else {
		g.start = m->start;
		g.end = m->end;
		g.line = m->line;
	}
	if (c->nf < MAX_FINDINGS_PER_MESSAGE) {
		c->f[c->nf].rule = f->rule;
		c->f[c->nf].start = g.start;
		c->f[c->nf].end = g.end;
		c->f[c->nf].line = g.line;
		c->nf++;
	}
	if (c->user_cb)
		return c->user_cb(&g, c->user_ctx);
	return 0;
}

ward_status ward_conv_add_message(ward_conv *c, const ward_chat_message *m, ward_finding_cb cb,
                                  void *ctx, const ward_conv_alert **raised)
{
	ward_status st;
	if (raised)
		*raised = NULL;
	if (!c || !m || !c->sc)
		return WARD_EINVAL;
	c->nf = 0;
	c->msg = m;
	c->user_cb = cb;
	c->user_ctx = ctx;
	st = ward_scan(c->sc, m->text, m->text_len, on_finding, c);
	c->msg = NULL;
	if (st != WARD_OK)
		return st;
	return model_update(c, m, raised);
}

ward_status ward_conv_add_findings(ward_conv *c, const ward_chat_message *m,
                                   const ward_rule_info *const *rules, const uint64_t *starts,
                                   size_t n, const ward_conv_alert **raised)
{
	if (raised)
		*raised = NULL;
	if (!c || !m || (n && !rules))
		return WARD_EINVAL;
	c->nf = 0;
	for (size_t i = 0; i < n && c->nf < MAX_FINDINGS_PER_MESSAGE; i++) {
		if (!rules[i])
			return WARD_EINVAL;
		c->f[c->nf].rule = rules[i];
		c->f[c->nf].start = starts ? starts[i] : m->start;
		c->f[c->nf].end = starts ? starts[i] : m->end;
		c->f[c->nf].line = m->line;
		c->nf++;
	}
	return model_update(c, m, raised);
}

ward_status ward_conv_scan_chat(const ward_engine *e, const ward_conv_config *cfg,
                                const char *buf, size_t len, ward_chat_format fmt,
                                ward_finding_cb findings, void *ctx, ward_conv **out,
                                ward_chat_stats *stats, ward_diag *diag)
{
	ward_status st;
	ward_chat_reader *r = NULL;
	ward_conv *c = NULL;
	ward_chat_message m;
	*out = NULL;
	if (stats)
		memset(stats, 0, sizeof *stats);
	if ((st = ward_chat_reader_new(buf, len, fmt, &r, diag)) != WARD_OK)
		goto done;
	if ((st = ward_conv_new(e, cfg, &c)) != WARD_OK)
		goto done;
	while ((st = ward_chat_next(r, &m)) == WARD_OK)
		if ((st = ward_conv_add_message(c, &m, findings, ctx, NULL)) != WARD_OK)
			goto done;
	if (st == WARD_ENOENT)
		st = WARD_OK;
done:
	if (stats && r)
		*stats = *ward_chat_reader_stats(r);
	ward_chat_reader_free(r);
	*out = c;
	return st;
}
