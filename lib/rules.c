/*
 * rules.c: the rule database reader (format in ward-rules(5)).
 *
 * One statement a line; errors name the file and line.  Phrases are normalised exactly as
 * scanned text is, so a rule written in plain English catches the disguised forms too; each
 * becomes a literal (or, with a prefix word inside, a small regex) for Vectorscan.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha2.h>

#include "text_int.h"

#define MAX_LINE 8192
#define MAX_WINDOW 1000
#define UNLESS_WINDOW 8

/* A simple bump allocator for the strings a database keeps. */
typedef struct strpool {
	struct strpool *next;
	size_t used, cap;
	char data[];
} strpool;

/* n + 1 bytes from rs's pool; valid until rules_free. */
static char *rules_alloc(ruleset *rs, size_t n)
{
	strpool *p = rs->pool;
	if (!p || p->cap - p->used < n + 1) {
		size_t cap = n + 1 > 65536 ? n + 1 : 65536;
		strpool *q = malloc(sizeof *q + cap);
		if (!q)
			return NULL;
		q->next = p;
		q->used = 0;
		q->cap = cap;
		rs->pool = p = q;
	}
	char *d = p->data + p->used;
	p->used += n + 1;
	return d;
}

char *rules_strdup(ruleset *rs, const char *s, size_t n)
{
	char *d = rules_alloc(rs, n);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

void diag_set(ward_diag *diag, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;
	if (!diag)
		return;
	snprintf(diag->file, sizeof diag->file, "%s", file ? file : "");
	diag->line = line;
	va_start(ap, fmt);
	vsnprintf(diag->message, sizeof diag->message, fmt, ap);
	va_end(ap);
}

#define GROW(arr, n, cap)                                                                          \
	do {                                                                                       \
		if ((n) == (cap)) {                                                                \
			size_t nc_ = (cap) ? (cap) * 2 : 64;                                       \
			void *np_ = realloc((arr), nc_ * sizeof *(arr));                           \
			if (!np_)                                                                  \
				return WARD_ENOMEM;                                                \
			(arr) = np_;                                                               \
			(cap) = nc_;                                                               \
		}                                                                                  \
	} while (0)

/* Parsing context for one file. */
typedef struct pctx {
	ruleset *rs;
	const char *file;  /* pooled name */
	unsigned line;
	ward_diag *diag;
	norm_buf nb;
	rule *cur;         /* rule being read, or NULL */
	size_t cur_index;
	size_t cur_triggers;
	bool cur_area, cur_sev, cur_weight;
	char **ex;         /* examples of the current rule */
	size_t nex, capex;
} pctx;

static ward_status perr(pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static ward_status perr(pctx *c, const char *fmt, ...)
{
	va_list ap;
	if (c->diag) {
		snprintf(c->diag->file, sizeof c->diag->file, "%s", c->file);
		c->diag->line = c->line;
		va_start(ap, fmt);
		vsnprintf(c->diag->message, sizeof c->diag->message, fmt, ap);
		va_end(ap);
	}
	return WARD_ESYNTAX;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* Appends the Vectorscan form of normalised bytes s[0..n) to buf (escaped). */
static size_t esc_append(char *buf, size_t at, size_t cap, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n && at + 5 < cap; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) {
			buf[at++] = (char)ch;
		} else {
			buf[at++] = '\\';
			buf[at++] = 'x';
			buf[at++] = hex[ch >> 4];
			buf[at++] = hex[ch & 15];
		}
	}
	buf[at] = '\0';
	return at;
}

/* Adds one phrase (plain words; a word ending in '*' is a prefix) as a pattern. */
static ward_status add_phrase(pctx *c, const char *phrase, pat_kind kind, uint32_t ci,
                              uint16_t term)
{
	ward_status st;
	size_t plen = strlen(phrase);
	char expr[4 * MAX_LINE + 64];
	size_t at = 0;
	bool regex = false;
	if ((st = norm_run(&c->nb, phrase, plen)) != WARD_OK)
		return st;
	const char *o = c->nb.out;
	size_t n = c->nb.len;
	if (n <= 2)
		return perr(c, "phrase \"%s\" has no letters or digits", phrase);
	/* o is " w1 w2 ... wk ": find the words and whether each is a prefix.  A phrase whose
	 * only prefix word (if any) is the last becomes a bare literal, its word boundaries
	 * checked when it matches: literals that all began and ended with a space would make
	 * every space a candidate for the literal matcher.  A prefix word inside a phrase
	 * needs a regex, which carries its spaces. */
	size_t ws[MAX_LINE / 2], we[MAX_LINE / 2], nw = 0;
	bool pre[MAX_LINE / 2];
	for (size_t i = 1; i < n && nw < MAX_LINE / 2;) {
		size_t j = i;
		while (j < n && o[j] != ' ')
			j++;
		if (j == i)
			break;
		uint32_t after = c->nb.map[j];
		ws[nw] = i;
		we[nw] = j;
		pre[nw] = after < plen && phrase[after] == '*';
		regex |= pre[nw] && j + 1 < n;
		nw++;
		i = j + 1;
	}
	size_t litlen = 0;
	bool check_end = !pre[nw - 1];
	if (regex)
		at = esc_append(expr, at, sizeof expr, " ", 1);
	for (size_t w = 0; w < nw; w++) {
		if (w > 0) {
			at = esc_append(expr, at, sizeof expr, " ", 1);
			litlen++;
		}
		at = esc_append(expr, at, sizeof expr, o + ws[w], we[w] - ws[w]);
		litlen += we[w] - ws[w];
		if (regex && pre[w])
			at += (size_t)snprintf(expr + at, sizeof expr - at, "[^\\x20]*");
	}
	if (regex && check_end)
		at = esc_append(expr, at, sizeof expr, " ", 1);
	GROW(c->rs->pats, c->rs->npats, c->rs->cappats);
	pat *p = &c->rs->pats[c->rs->npats];
	memset(p, 0, sizeof *p);
	p->rule = (uint32_t)c->cur_index;
	p->kind = (uint8_t)kind;
	p->is_regex = regex;
	p->combo = ci;
	p->term = term;
	p->litlen = regex ? 0 : (uint32_t)litlen;
	p->check_end = !regex && check_end;
	p->line = c->line;
	p->file = c->file;
	p->expr = rules_strdup(c->rs, expr, at);
	p->src = rules_strdup(c->rs, phrase, plen);
	if (!p->expr || !p->src)
		return WARD_ENOMEM;
	c->rs->npats++;
	return WARD_OK;
}

/* Adds "p1 | p2 | ..." as alternatives of one kind. */
static ward_status add_alternatives(pctx *c, char *text, pat_kind kind, uint32_t ci,
                                    uint16_t term)
{
	ward_status st = WARD_OK;
	char *save = NULL;
	int any = 0;
	for (char *tok = strtok_r(text, "|", &save); tok; tok = strtok_r(NULL, "|", &save)) {
		tok = trim(tok);
		if (!*tok)
			return perr(c, "empty phrase between '|'");
		if ((st = add_phrase(c, tok, kind, ci, term)) != WARD_OK)
			return st;
		any = 1;
	}
	if (!any)
		return perr(c, "expected a phrase");
	return st;
}

static ward_status add_regex(pctx *c, const char *re)
{
	if (!*re)
		return perr(c, "regex needs a pattern");
	GROW(c->rs->pats, c->rs->npats, c->rs->cappats);
	pat *p = &c->rs->pats[c->rs->npats];
	memset(p, 0, sizeof *p);
	p->rule = (uint32_t)c->cur_index;
	p->kind = PAT_TRIGGER;
	p->is_regex = 1;
	p->line = c->line;
	p->file = c->file;
	p->expr = rules_strdup(c->rs, re, strlen(re));
	if (!p->expr)
		return WARD_ENOMEM;
	c->rs->npats++;
	return WARD_OK;
}

/* "all N: TERM; TERM; ..." or "all N anchor K: ...", K (from 1) naming the term the engine
 * searches for everywhere (its anchor): a performance hint, since any anchor gives the same
 * findings. */
static ward_status add_all(pctx *c, char *arg)
{
	ward_status st;
	char *end = NULL;
	long k = 0;
	errno = 0;
	long n = strtol(arg, &end, 10);
	if (end == arg || errno || n < 1 || n > MAX_WINDOW)
		return perr(c, "all needs a window of 1 to %d words, as in \"all 6: a; b\"",
		            MAX_WINDOW);
	end = trim(end);
	if (strncmp(end, "anchor", 6) == 0 && (end[6] == ' ' || end[6] == '\t' || end[6] == ':')) {
		char *kp = end + 6;
		while (*kp == ' ' || *kp == '\t')
			kp++;
		errno = 0;
		k = (*kp >= '0' && *kp <= '9') ? strtol(kp, &end, 10) : -1;
		if (k < 0 || errno)
			return perr(
			    c, "anchor needs the number of a term, as in \"all 6 anchor 2: a; b\"");
		if (k == 0)
			return perr(c, "anchor 0: terms are numbered from 1");
		end = trim(end);
	}
	if (*end != ':')
		return perr(c, k ? "expected ':' after the anchor of all"
		                 : "expected ':' (or anchor K) after the window of all");
	end++;
	GROW(c->rs->combos, c->rs->ncombos, c->rs->capcombos);
	uint32_t ci = (uint32_t)c->rs->ncombos;
	combo *cb = &c->rs->combos[ci];
	cb->rule = (uint32_t)c->cur_index;
	cb->window = (uint32_t)n;
	cb->nterms = 0;
	cb->anchor = 0;
	c->rs->ncombos++;
	char *save = NULL;
	uint16_t t = 0;
	for (char *tok = strtok_r(end, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		tok = trim(tok);
		if (!*tok)
			return perr(c, "empty term in all");
		if (t >= COMBO_MAX_TERMS)
			return perr(c, "all takes at most %d terms", COMBO_MAX_TERMS);
		if ((st = add_alternatives(c, tok, PAT_TERM, ci, t)) != WARD_OK)
			return st;
		t++;
	}
	if (t < 2)
		return perr(c, "all needs at least two terms separated by ';'");
	if (k > t)
		return perr(c, "anchor %ld, but this all has %u terms", k, (unsigned)t);
	c->rs->combos[ci].nterms = t;
	c->rs->combos[ci].anchor = (uint16_t)k;
	return WARD_OK;
}

static bool valid_id(const char *s, bool dots)
{
	if (!*s || !(islower((unsigned char)*s) || isdigit((unsigned char)*s)))
		return false;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '-' ||
		      (dots && *s == '.')))
			return false;
	return true;
}

static ward_status begin_rule(pctx *c, const char *id)
{
	if (c->cur)
		return perr(c, "rule '%s' starts before rule '%s' has its end", id, c->cur->info.id);
	if (!valid_id(id, true))
		return perr(c, "bad rule id '%s': use lower-case letters, digits, '.' and '-'", id);
	GROW(c->rs->rules, c->rs->nrules, c->rs->caprules);
	c->cur_index = c->rs->nrules++;
	c->cur = &c->rs->rules[c->cur_index];
	memset(c->cur, 0, sizeof *c->cur);
	c->cur->info.id = rules_strdup(c->rs, id, strlen(id));
	c->cur->info.file = c->file;
	c->cur->info.line = c->line;
	c->cur_triggers = 0;
	c->cur_area = c->cur_sev = c->cur_weight = false;
	c->nex = 0;
	return c->cur->info.id ? WARD_OK : WARD_ENOMEM;
}

static ward_status end_rule(pctx *c)
{
	static const double default_weight[] = {1, 2, 4, 8};
	rule *r = c->cur;
	if (!r)
		return perr(c, "end without a rule");
	/* what a whole rule lacks is reported at its "rule" line */
	unsigned here = c->line;
	c->line = r->info.line;
	if (!c->cur_area)
		return perr(c, "rule '%s' has no area", r->info.id);
	if (!c->cur_sev)
		return perr(c, "rule '%s' has no severity", r->info.id);
	if (!r->info.description)
		return perr(c, "rule '%s' has no description", r->info.id);
	if (c->cur_triggers == 0)
		return perr(c, "rule '%s' has nothing to match: add a phrase, regex or all", r->info.id);
	if (!c->cur_weight)
		r->info.weight = default_weight[r->info.severity];
	if (c->nex) {
		r->examples = malloc(c->nex * sizeof *r->examples);
		if (!r->examples)
			return WARD_ENOMEM;
		memcpy(r->examples, c->ex, c->nex * sizeof *r->examples);
		r->nexamples = c->nex;
	}
	c->line = here;
	c->cur = NULL;
	return WARD_OK;
}

static ward_status statement(pctx *c, char *kw, char *arg)
{
	rule *r = c->cur;
	if (strcmp(kw, "rule") == 0)
		return begin_rule(c, arg);
	if (strcmp(kw, "end") == 0) {
		if (*arg)
			return perr(c, "nothing may follow end");
		return end_rule(c);
	}
	if (!r)
		return perr(c, "'%s' outside a rule (a rule starts with \"rule ID\")", kw);
	if (strcmp(kw, "area") == 0) {
		char *save = NULL;
		for (char *tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			tok = trim(tok);
			int a = ward_area_from_id(tok);
			if (a < 0)
				return perr(c, "unknown area '%s' (see ward areas)", tok);
			if (!c->cur_area)
				r->info.area = (ward_area)a;
			r->info.areas |= 1u << a;
			c->cur_area = true;
		}
		if (!c->cur_area)
			return perr(c, "area needs at least one area id");
		return WARD_OK;
	}
	if (strcmp(kw, "severity") == 0) {
		int s = ward_severity_from_name(arg);
		if (s < 0)
			return perr(c, "unknown severity '%s': use low, medium, high or critical", arg);
		r->info.severity = (ward_severity)s;
		c->cur_sev = true;
		return WARD_OK;
	}
	if (strcmp(kw, "weight") == 0) {
		char *end = NULL;
		errno = 0;
		double w = strtod(arg, &end);
		if (end == arg || *end || errno || !(w > 0) || w > 1000 || isnan(w))
			return perr(c, "weight must be a number above 0 and at most 1000");
		r->info.weight = w;
		c->cur_weight = true;
		return WARD_OK;
	}
	if (strcmp(kw, "stage") == 0) {
		if (!valid_id(arg, false))
			return perr(c, "bad stage name '%s'", arg);
		r->info.stage = rules_strdup(c->rs, arg, strlen(arg));
		return r->info.stage ? WARD_OK : WARD_ENOMEM;
	}
	if (strcmp(kw, "description") == 0) {
		if (!*arg)
			return perr(c, "description needs text");
		r->info.description = rules_strdup(c->rs, arg, strlen(arg));
		return r->info.description ? WARD_OK : WARD_ENOMEM;
	}
	if (strcmp(kw, "phrase") == 0) {
		c->cur_triggers++;
		return add_alternatives(c, arg, PAT_TRIGGER, 0, 0);
	}
	if (strcmp(kw, "regex") == 0) {
		c->cur_triggers++;
		return add_regex(c, arg);
	}
	if (strcmp(kw, "all") == 0) {
		c->cur_triggers++;
		return add_all(c, arg);
	}
	if (strcmp(kw, "unless") == 0) {
		r->has_unless = true;
		return add_alternatives(c, arg, PAT_UNLESS, 0, 0);
	}
	if (strcmp(kw, "example+") == 0 || strcmp(kw, "example-") == 0) {
		if (!*arg)
			return perr(c, "%s needs text", kw);
		size_t n = strlen(arg);
		char *e = rules_alloc(c->rs, n + 1);
		if (!e)
			return WARD_ENOMEM;
		e[0] = kw[7];
		memcpy(e + 1, arg, n + 1);
		GROW(c->ex, c->nex, c->capex);
		c->ex[c->nex++] = e;
		return WARD_OK;
	}
	return perr(c, "unknown statement '%s'", kw);
}

ward_status rules_parse(ruleset *rs, const char *text, size_t len, const char *name,
                        ward_diag *diag)
{
	ward_status st = WARD_OK;
	pctx c;
	char line[MAX_LINE + 1];
	memset(&c, 0, sizeof c);
	c.rs = rs;
	c.diag = diag;
	c.file = rules_strdup(rs, name, strlen(name));
	if (!c.file)
		return WARD_ENOMEM;
	if (!rs->digest_ctx) {
		rs->digest_ctx = malloc(sizeof(struct sha256_ctx));
		if (!rs->digest_ctx)
			return WARD_ENOMEM;
		sha256_init(rs->digest_ctx);
	}
	sha256_update(rs->digest_ctx, strlen(name) + 1, (const uint8_t *)name);
	sha256_update(rs->digest_ctx, len, (const uint8_t *)text);
	if (memchr(text, '\0', len)) {
		/* report the line of the NUL */
		const char *z = memchr(text, '\0', len);
		unsigned ln = 1;
		for (const char *q = text; q < z; q++)
			ln += *q == '\n';
		c.line = ln;
		st = perr(&c, "NUL byte in a rule file (is it a binary file?)");
		goto done;
	}
	size_t pos = 0;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		c.line++;
		if (n > MAX_LINE) {
			st = perr(&c, "line longer than %d bytes", MAX_LINE);
			goto done;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + (nl ? 1 : 0);
		char *s = trim(line);
		if (!*s || *s == '#')
			continue;
		char *arg = s;
		while (*arg && *arg != ' ' && *arg != '\t')
			arg++;
		if (*arg)
			*arg++ = '\0';
		arg = trim(arg);
		if ((st = statement(&c, s, arg)) != WARD_OK) {
			if (st == WARD_ENOMEM)
				perr(&c, "out of memory");
			goto done;
		}
	}
	if (c.cur) {
		c.line = c.cur->info.line;
		st = perr(&c, "rule '%s' has no end", c.cur->info.id);
		goto done;
	}
done:
	norm_buf_free(&c.nb);
	free(c.ex);
	return st;
}

static int cmp_rule_id(const void *a, const void *b)
{
	const rule *const *x = a, *const *y = b;
	return strcmp((*x)->info.id, (*y)->info.id);
}

ward_status rules_finish(ruleset *rs, ward_diag *diag)
{
	ward_status st = WARD_OK;
	rule **sorted = NULL;
	if (rs->nrules == 0) {
		diag_set(diag, "", 0, "the rule database has no rules");
		return WARD_ESYNTAX;
	}
	sorted = malloc(rs->nrules * sizeof *sorted);
	if (!sorted)
		return WARD_ENOMEM;
	for (size_t i = 0; i < rs->nrules; i++)
		sorted[i] = &rs->rules[i];
	qsort(sorted, rs->nrules, sizeof *sorted, cmp_rule_id);
	for (size_t i = 1; i < rs->nrules; i++)
		if (strcmp(sorted[i]->info.id, sorted[i - 1]->info.id) == 0) {
			const rule *a = sorted[i - 1], *b = sorted[i];
			if (a->info.line > b->info.line && strcmp(a->info.file, b->info.file) == 0) {
				const rule *t = a;
				a = b;
				b = t;
			}
			diag_set(diag, b->info.file, b->info.line,
			         "rule id '%s' is already used at %s:%u", b->info.id, a->info.file,
			         a->info.line);
			st = WARD_ESYNTAX;
			goto done;
		}
	if (rs->digest_ctx)
		sha256_digest(rs->digest_ctx, sizeof rs->digest, rs->digest);
done:
	free(sorted);
	return st;
}

void rules_free(ruleset *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->nrules; i++)
		free(rs->rules[i].examples);
	free(rs->rules);
	free(rs->pats);
	free(rs->combos);
	free(rs->files);
	free(rs->digest_ctx);
	for (strpool *p = rs->pool, *q; p; p = q) {
		q = p->next;
		free(p);
	}
	memset(rs, 0, sizeof *rs);
}
