/*
 * guide.c: reads guidance/response.txt, the guided response as data (ward-guidance(5)).
 *
 * The checklist's words are reviewed against the seed, so they live in a data file and not in
 * code; this reader is strict (every field required, ids unique, areas known) so that a
 * mistake in the file is caught by `ward guide --check` and the tests, not by a practitioner.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ward/guide.h>

#define MAX_FILE ((size_t)1 << 20)
#define MAX_ENTRIES 512
#define MAX_LINE 2048

typedef enum { E_NONE, E_ITEM, E_TRIGGER, E_CONTACT } etype;

struct ward_guide {
	ward_guide_item items[MAX_ENTRIES];
	ward_guide_trigger triggers[MAX_ENTRIES];
	ward_guide_contact contacts[MAX_ENTRIES];
	size_t nitems, ntriggers, ncontacts;
	char *text; /* the file, modified in place: every string points into it */
};

typedef struct gctx {
	ward_guide *g;
	const char *file;
	unsigned line;
	ward_diag *diag;
	etype cur;
	unsigned cur_line;
	bool has_areas;
} gctx;

static ward_status gerr(gctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static ward_status gerr(gctx *c, const char *fmt, ...)
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

static ward_status parse_areas(gctx *c, char *arg, uint32_t *out)
{
	*out = 0;
	if (strcmp(arg, "all") == 0) {
		*out = WARD_AREAS_ALL;
		return WARD_OK;
	}
	char *save = NULL;
	for (char *t = strtok_r(arg, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int a = ward_area_from_id(trim(t));
		if (a < 0)
			return gerr(c, "unknown area '%s' (see ward areas)", trim(t));
		*out |= 1u << a;
	}
	if (!*out)
		return gerr(c, "areas needs 'all' or area ids");
	return WARD_OK;
}

static bool id_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

static const char **field(gctx *c, const char *kw)
{
	ward_guide *g = c->g;
	if (c->cur == E_ITEM) {
		ward_guide_item *it = &g->items[g->nitems];
		if (!strcmp(kw, "who"))
			return &it->who;
		if (!strcmp(kw, "text"))
			return &it->text;
		if (!strcmp(kw, "source"))
			return &it->source;
	} else if (c->cur == E_TRIGGER) {
		ward_guide_trigger *t = &g->triggers[g->ntriggers];
		if (!strcmp(kw, "question"))
			return &t->question;
		if (!strcmp(kw, "why"))
			return &t->why;
	} else if (c->cur == E_CONTACT) {
		ward_guide_contact *k = &g->contacts[g->ncontacts];
		if (!strcmp(kw, "name"))
			return &k->name;
		if (!strcmp(kw, "how"))
			return &k->how;
		if (!strcmp(kw, "when"))
			return &k->when;
	}
	return NULL;
}

static ward_status finish_entry(gctx *c)
{
	ward_guide *g = c->g;
	const char *missing = NULL;
	if (c->cur == E_ITEM) {
		ward_guide_item *it = &g->items[g->nitems];
		if (!c->has_areas)
			missing = "areas";
		else if (!it->who)
			missing = "who";
		else if (!it->text)
			missing = "text";
		else if (!it->source)
			missing = "source";
		else if (strcmp(it->who, "reporter") && strcmp(it->who, "dsl"))
			return gerr(c, "who must be reporter or dsl");
		if (!missing)
			g->nitems++;
	} else if (c->cur == E_TRIGGER) {
		ward_guide_trigger *t = &g->triggers[g->ntriggers];
		if (!c->has_areas)
			missing = "areas";
		else if (!t->question)
			missing = "question";
		else if (!t->why)
			missing = "why";
		if (!missing)
			g->ntriggers++;
	} else {
		ward_guide_contact *k = &g->contacts[g->ncontacts];
		if (!k->name)
			missing = "name";
		else if (!k->how)
			missing = "how";
		else if (!k->when)
			missing = "when";
		if (!missing)
			g->ncontacts++;
	}
	if (missing)
		return gerr(c, "the entry that starts on line %u has no %s", c->cur_line, missing);
	c->cur = E_NONE;
	return WARD_OK;
}

static ward_status begin_entry(gctx *c, const char *kw, const char *id)
{
	ward_guide *g = c->g;
	if (c->cur != E_NONE)
		return gerr(c, "'%s' before the end of the entry on line %u", kw, c->cur_line);
	if (!id_ok(id))
		return gerr(c, "bad id '%s': use lower-case letters, digits and '-'", id);
	if ((strcmp(kw, "item") == 0 && ward_guide_find_item(g, id)) ||
	    (strcmp(kw, "trigger") == 0 && ward_guide_find_trigger(g, id)))
		return gerr(c, "%s '%s' is defined twice", kw, id);
	size_t *n = !strcmp(kw, "item") ? &g->nitems : !strcmp(kw, "trigger") ? &g->ntriggers : &g->ncontacts;
	if (*n >= MAX_ENTRIES)
		return gerr(c, "more than %d entries of one kind", MAX_ENTRIES);
	c->cur = !strcmp(kw, "item") ? E_ITEM : !strcmp(kw, "trigger") ? E_TRIGGER : E_CONTACT;
	c->cur_line = c->line;
	c->has_areas = false;
	if (c->cur == E_ITEM) {
		memset(&g->items[*n], 0, sizeof g->items[*n]);
		g->items[*n].id = id;
	} else if (c->cur == E_TRIGGER) {
		memset(&g->triggers[*n], 0, sizeof g->triggers[*n]);
		g->triggers[*n].id = id;
	} else {
		memset(&g->contacts[*n], 0, sizeof g->contacts[*n]);
		g->contacts[*n].id = id;
	}
	return WARD_OK;
}

static ward_status statement(gctx *c, char *kw, char *arg)
{
	ward_guide *g = c->g;
	if (!strcmp(kw, "item") || !strcmp(kw, "trigger") || !strcmp(kw, "contact"))
		return begin_entry(c, kw, arg);
	if (c->cur == E_NONE)
		return gerr(c, "'%s' outside an entry (item, trigger or contact)", kw);
	if (!strcmp(kw, "end"))
		return *arg ? gerr(c, "nothing may follow end") : finish_entry(c);
	if (!strcmp(kw, "areas") && c->cur != E_CONTACT) {
		uint32_t *a = c->cur == E_ITEM ? &g->items[g->nitems].areas
		                               : &g->triggers[g->ntriggers].areas;
		ward_status st = parse_areas(c, arg, a);
		c->has_areas = st == WARD_OK;
		return st;
	}
	if (!strcmp(kw, "kind") && c->cur == E_ITEM) {
		if (!strcmp(arg, "do"))
			g->items[g->nitems].kind = WARD_GUIDE_DO;
		else if (!strcmp(arg, "dont"))
			g->items[g->nitems].kind = WARD_GUIDE_DONT;
		else
			return gerr(c, "kind must be do or dont");
		return WARD_OK;
	}
	const char **f = field(c, kw);
	if (!f)
		return gerr(c, "unknown statement '%s' here", kw);
	if (!*arg)
		return gerr(c, "%s needs text", kw);
	if (*f)
		return gerr(c, "%s given twice", kw);
	*f = arg;
	return WARD_OK;
}

ward_status ward_guide_load_string(const char *text, size_t len, const char *name,
                                   ward_guide **out, ward_diag *diag)
{
	ward_status st = WARD_OK;
	ward_guide *g = NULL;
	gctx c;
	if (diag)
		memset(diag, 0, sizeof *diag);
	if (!out || (!text && len))
		return WARD_EINVAL;
	*out = NULL;
	memset(&c, 0, sizeof c);
	c.file = name ? name : "(string)";
	c.diag = diag;
	if (len > MAX_FILE) {
		gerr(&c, "guidance file larger than %zu KB", MAX_FILE >> 10);
		return WARD_ETOOBIG;
	}
	if (!(g = calloc(1, sizeof *g)) || !(g->text = malloc(len + 1))) {
		st = WARD_ENOMEM;
		goto done;
	}
	memcpy(g->text, text, len);
	g->text[len] = '\0';
	c.g = g;
	if (memchr(g->text, '\0', len)) {
		st = gerr(&c, "NUL byte in the guidance file");
		goto done;
	}
	char *p = g->text;
	while (p && *p) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		c.line++;
		if (strlen(p) > MAX_LINE) {
			st = gerr(&c, "line longer than %d bytes", MAX_LINE);
			goto done;
		}
		char *s = trim(p);
		p = nl ? nl + 1 : NULL;
		if (!*s || *s == '#')
			continue;
		char *arg = s;
		while (*arg && *arg != ' ' && *arg != '\t')
			arg++;
		if (*arg)
			*arg++ = '\0';
		if ((st = statement(&c, s, trim(arg))) != WARD_OK)
			goto done;
	}
	if (c.cur != E_NONE) {
		st = gerr(&c, "the entry that starts on line %u has no end", c.cur_line);
		goto done;
	}
	if (g->nitems == 0) {
		st = gerr(&c, "no checklist items");
		goto done;
	}
	*out = g;
	g = NULL;
done:
	ward_guide_free(g);
	return st;
}

ward_status ward_guide_load(const char *path, ward_guide **out, ward_diag *diag)
{
	ward_status st = WARD_OK;
	char *buf = NULL;
	struct stat sb;
	int fd = -1;
	if (diag)
		memset(diag, 0, sizeof *diag);
	if (!path) {
		path = getenv("WARD_GUIDANCE");
		if (!path || !*path)
			path = stat("guidance/response.txt", &sb) == 0 ? "guidance/response.txt"
			                                              : WARD_DATADIR "/guidance/response.txt";
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &sb) != 0) {
		if (diag) {
			snprintf(diag->file, sizeof diag->file, "%s", path);
			snprintf(diag->message, sizeof diag->message, "%s", strerror(errno));
		}
		st = errno == ENOENT ? WARD_ENOENT : WARD_EIO;
		goto done;
	}
	if ((size_t)sb.st_size > MAX_FILE) {
		st = WARD_ETOOBIG;
		goto done;
	}
	if (!(buf = malloc((size_t)sb.st_size + 1))) {
		st = WARD_ENOMEM;
		goto done;
	}
	ssize_t k = read(fd, buf, (size_t)sb.st_size);
	if (k != sb.st_size) {
		st = WARD_EIO;
		goto done;
	}
	st = ward_guide_load_string(buf, (size_t)k, path, out, diag);
done:
	if (fd >= 0)
		close(fd);
	free(buf);
	return st;
}

void ward_guide_free(ward_guide *g)
{
	if (!g)
		return;
	free(g->text);
	free(g);
}

size_t ward_guide_item_count(const ward_guide *g)
{
	return g ? g->nitems : 0;
}

const ward_guide_item *ward_guide_item_at(const ward_guide *g, size_t i)
{
	return g && i < g->nitems ? &g->items[i] : NULL;
}

size_t ward_guide_trigger_count(const ward_guide *g)
{
	return g ? g->ntriggers : 0;
}

const ward_guide_trigger *ward_guide_trigger_at(const ward_guide *g, size_t i)
{
	return g && i < g->ntriggers ? &g->triggers[i] : NULL;
}

size_t ward_guide_contact_count(const ward_guide *g)
{
	return g ? g->ncontacts : 0;
}

const ward_guide_contact *ward_guide_contact_at(const ward_guide *g, size_t i)
{
	return g && i < g->ncontacts ? &g->contacts[i] : NULL;
}

const ward_guide_item *ward_guide_find_item(const ward_guide *g, const char *id)
{
	for (size_t i = 0; g && id && i < g->nitems; i++)
		if (strcmp(g->items[i].id, id) == 0)
			return &g->items[i];
	return NULL;
}

const ward_guide_trigger *ward_guide_find_trigger(const ward_guide *g, const char *id)
{
	for (size_t i = 0; g && id && i < g->ntriggers; i++)
		if (strcmp(g->triggers[i].id, id) == 0)
			return &g->triggers[i];
	return NULL;
}
