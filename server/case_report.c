/* case_report.c: the referral summary for police or CEOP, as JSON and as a printable HTML page.
 * It holds the facts of the concern, the children named in it (nobody else), the checklist, the
 * urgent-referral answers, the chronology, decisions, referrals and the device custody chain:
 * nothing that is not needed (no account details of staff beyond their names, no internal ids of
 * accounts). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cases.h"

#define HTML_MAX (4u << 20)

/* Removes what an outside agency does not need from an entry copy. */
static json_t *clean(json_t *e)
{
	json_t *c = json_deep_copy(e), *h;
	size_t i;
	json_object_del(c, "actor_id");
	json_array_foreach(json_object_get(c, "handovers"), i, h) json_object_del(h, "actor_id");
	json_array_foreach(json_object_get(c, "outcomes"), i, h) json_object_del(h, "actor_id");
	return c;
}

static json_t *clean_all(json_t *a)
{
	json_t *out = json_array(), *e;
	size_t i;
	json_array_foreach(a, i, e) json_array_append_new(out, clean(e));
	json_decref(a);
	return out;
}

json_t *case_report(srv_request *r, const srv_concern *c)
{
	json_t *n = case_concern_open(r, c), *entries = NULL, *rep = NULL, *areas, *a;
	srv_user u;
	size_t i;
	int urgent = 0, unaccounted = 0;
	if (!n) {
		srv_problem(r, 500, "Record unreadable",
		            "the stored concern does not open with this key; run ward admin audit "
		            "verify");
		return NULL;
	}
	if (!(entries = case_entries(r, c->id)))
		goto done;
	areas = json_array();
	json_array_foreach(json_object_get(n, "areas"), i, a)
	{
		int id = ward_area_from_id(json_string_value(a));
		const ward_area_info *in = id >= 0 ? ward_area_get((ward_area)id) : NULL;
		if (in)
			json_array_append_new(areas,
			                      json_pack("{s:s, s:s, s:s}", "id", in->id, "title",
			                                in->title, "seed_words", in->seed_words));
	}
	json_t *reasons = json_array();
	uint32_t mask = case_areas_mask(n);
	json_t *trig = case_triggers_json(entries, mask, &urgent, reasons);
	json_t *custody = case_custody_json(entries, &unaccounted);
	json_t *closed;
	{
		json_t *cl = case_entries_of(entries, "close");
		closed = json_array_size(cl) && strcmp(c->status, "closed") == 0
		             ? clean(json_array_get(cl, json_array_size(cl) - 1))
		             : json_null();
		json_decref(cl);
	}
	const char *reporter = "";
	if (r->srv->store->ops->user_get(r->srv->store, c->reporter_id, &u) == WARD_OK)
		reporter = u.username;
	rep = json_pack(
	    "{s:s, s:I, s:s, s:{s:I, s:s, s:I, s:O, s:O, s:O, s:o, s:s}, s:O, s:b, s:o, s:o, s:o,"
	    " s:o, s:o, s:o, s:o, s:I, s:o}",
	    "format", "ward-referral-summary-1", "generated_at", (json_int_t)srv_now(),
	    "generated_by", r->user.username, "concern", "id", (json_int_t)c->id, "status",
	    c->status, "recorded_at", (json_int_t)c->created, "occurred_at",
	    json_object_get(n, "occurred_at"), "source", json_object_get(n, "source"), "account",
	    json_object_get(n, "account"), "areas", areas, "reported_by", reporter, "children",
	    json_object_get(n, "children"), "urgent", urgent, "urgent_reasons", reasons, "triggers",
	    trig, "checklist", case_checklist_json(entries, mask), "chronology",
	    clean_all(case_entries_of(entries, "chronology")), "decisions",
	    clean_all(case_entries_of(entries, "decision")), "referrals",
	    clean_all(case_referrals_json(entries)), "custody", clean_all(custody),
	    "devices_unaccounted", (json_int_t)unaccounted, "closed", closed);
	if (!rep)
		srv_problem(r, 500, "Out of memory", NULL);
done:
	json_decref(entries);
	json_decref(n);
	return rep;
}

/* ---- HTML ---- */

typedef struct hbuf {
	char *p;
	size_t n, cap;
	int failed;
} hbuf;

static void put(hbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 8192;
		while (cap < b->n + n + 1)
			cap *= 2;
		char *q = cap <= HTML_MAX ? realloc(b->p, cap) : NULL;
		if (!q) {
			b->failed = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void raw(hbuf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Text escaped for HTML element content and quoted attributes. */
static void esc(hbuf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			raw(b, "&amp;");
			break;
		case '<':
			raw(b, "&lt;");
			break;
		case '>':
			raw(b, "&gt;");
			break;
		case '"':
			raw(b, "&quot;");
			break;
		case '\'':
			raw(b, "&#39;");
			break;
		default:
			put(b, s, 1);
		}
	}
}

__attribute__((format(printf, 2, 3))) static void fmt(hbuf *b, const char *f, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, f);
	vsnprintf(tmp, sizeof tmp, f, ap);
	va_end(ap);
	raw(b, tmp);
}

static void when(hbuf *b, json_t *t)
{
	char s[32];
	time_t v = (time_t)json_integer_value(t);
	struct tm tm;
	gmtime_r(&v, &tm);
	strftime(s, sizeof s, "%Y-%m-%d %H:%M UTC", &tm);
	raw(b, s);
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* A row of a definition list when the field is present. */
static void dl(hbuf *b, const char *label, json_t *o, const char *k)
{
	if (!json_object_get(o, k))
		return;
	raw(b, "<dt>");
	esc(b, label);
	raw(b, "</dt><dd>");
	esc(b, str(o, k));
	raw(b, "</dd>");
}

static void entry_line(hbuf *b, json_t *e, const char *const *fields, const char *const *labels)
{
	raw(b, "<li><dl>");
	for (size_t i = 0; fields[i]; i++)
		dl(b, labels[i], e, fields[i]);
	raw(b, "<dt>Recorded</dt><dd>");
	when(b, json_object_get(e, "recorded_at"));
	raw(b, " by ");
	esc(b, str(e, "by"));
	raw(b, "</dd></dl></li>");
}

static void section(hbuf *b, json_t *rep, const char *title, const char *key,
                    const char *const *fields, const char *const *labels)
{
	json_t *a = json_object_get(rep, key), *e;
	size_t i;
	raw(b, "<section><h2>");
	esc(b, title);
	raw(b, "</h2>");
	if (json_array_size(a) == 0)
		raw(b, "<p>None recorded.</p>");
	else
		raw(b, "<ol>");
	json_array_foreach(a, i, e) entry_line(b, e, fields, labels);
	if (json_array_size(a))
		raw(b, "</ol>");
	raw(b, "</section>");
}

char *case_report_html(srv_request *r, json_t *rep)
{
	hbuf b = {0};
	json_t *c = json_object_get(rep, "concern"), *e, *h;
	size_t i, j;
	char *out = NULL;
	raw(&b, "<!DOCTYPE html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\">"
	        "<title>Referral summary: concern ");
	fmt(&b, "%lld", (long long)json_integer_value(json_object_get(c, "id")));
	raw(&b, "</title></head><body><header><h1>Referral summary: concern ");
	fmt(&b, "%lld", (long long)json_integer_value(json_object_get(c, "id")));
	raw(&b, "</h1><p>Confidential safeguarding record. Prepared for the police or CEOP by ");
	esc(&b, str(rep, "generated_by"));
	raw(&b, " on ");
	when(&b, json_object_get(rep, "generated_at"));
	raw(&b, ". It contains no images: ward never stores or shows them, "
	        "and never examines a device.</p></header><main>");
	if (json_is_true(json_object_get(rep, "urgent"))) {
		raw(&b, "<section><h2>Urgent</h2><ul>");
		json_array_foreach(json_object_get(rep, "urgent_reasons"), i, e)
		{
			raw(&b, "<li>");
			esc(&b, json_string_value(e));
			raw(&b, "</li>");
		}
		raw(&b, "</ul></section>");
	}
	raw(&b, "<section><h2>The concern</h2><dl>");
	dl(&b, "Status", c, "status");
	dl(&b, "Happened", c, "occurred_at");
	dl(&b, "Reported by", c, "reported_by");
	dl(&b, "Source", c, "source");
	raw(&b, "<dt>Recorded</dt><dd>");
	when(&b, json_object_get(c, "recorded_at"));
	raw(&b, "</dd><dt>Areas of concern</dt><dd><ul>");
	json_array_foreach(json_object_get(c, "areas"), i, e)
	{
		raw(&b, "<li>");
		esc(&b, str(e, "title"));
		raw(&b, " (");
		esc(&b, str(e, "id"));
		raw(&b, ")</li>");
	}
	raw(&b, "</ul></dd>");
	dl(&b, "Account", c, "account");
	raw(&b, "</dl></section><section><h2>Children involved</h2><ul>");
	json_array_foreach(json_object_get(rep, "children"), i, e)
	{
		raw(&b, "<li>");
		esc(&b, str(e, "name"));
		raw(&b, ", born ");
		esc(&b, str(e, "date_of_birth"));
		if (json_object_get(e, "year_group")) {
			raw(&b, ", year ");
			esc(&b, str(e, "year_group"));
		}
		raw(&b, "</li>");
	}
	raw(&b, "</ul></section><section><h2>Urgent-referral questions</h2><ul>");
	json_array_foreach(json_object_get(rep, "triggers"), i, e)
	{
		raw(&b, "<li>");
		esc(&b, str(e, "question"));
		raw(&b, " <strong>");
		esc(&b, json_is_string(json_object_get(e, "answer")) ? str(e, "answer")
		                                                     : "not answered");
		raw(&b, "</strong></li>");
	}
	raw(&b, "</ul></section><section><h2>Checklist</h2><ul>");
	json_array_foreach(json_object_get(rep, "checklist"), i, e)
	{
		raw(&b, "<li>");
		/* the text says do or do not itself */
		esc(&b, str(e, "text"));
		raw(&b, " <strong>");
		esc(&b, str(e, "state"));
		raw(&b, "</strong>");
		if (json_object_get(e, "by")) {
			raw(&b, " by ");
			esc(&b, str(e, "by"));
			raw(&b, ", ");
			when(&b, json_object_get(e, "at"));
		}
		if (json_object_get(e, "reason")) {
			raw(&b, " (");
			esc(&b, str(e, "reason"));
			raw(&b, ")");
		}
		raw(&b, "</li>");
	}
	raw(&b, "</ul></section>");
	{
		static const char *const f[] = {"at", "type", "with", "text", NULL};
		static const char *const l[] = {"When", "What", "With", "Details", NULL};
		section(&b, rep, "Chronology", "chronology", f, l);
	}
	{
		static const char *const f[] = {"decision", "reason", NULL};
		static const char *const l[] = {"Decision", "Reason", NULL};
		section(&b, rep, "Decisions", "decisions", f, l);
	}
	raw(&b, "<section><h2>Referrals</h2>");
	if (json_array_size(json_object_get(rep, "referrals")) == 0)
		raw(&b, "<p>None recorded.</p>");
	json_array_foreach(json_object_get(rep, "referrals"), i, e)
	{
		static const char *const f[] = {"agency",  "at",      "reference",
		                                "contact", "outcome", NULL};
		static const char *const l[] = {"Agency",  "When",    "Reference",
		                                "Contact", "Outcome", NULL};
		static const char *const of[] = {"at", "outcome", "reference", NULL};
		static const char *const ol[] = {"When", "Outcome", "Reference", NULL};
		raw(&b, "<ul>");
		entry_line(&b, e, f, l);
		json_array_foreach(json_object_get(e, "outcomes"), j, h) entry_line(&b, h, of, ol);
		raw(&b, "</ul>");
	}
	raw(&b, "</section><section><h2>Device custody</h2>");
	if (json_array_size(json_object_get(rep, "custody")) == 0)
		raw(&b, "<p>No device was taken.</p>");
	json_array_foreach(json_object_get(rep, "custody"), i, e)
	{
		static const char *const f[] = {"description", "owner",        "taken_at",
		                                "taken_by",    "switched_off", "bag_number",
		                                "stored_at",   "not_examined", NULL};
		static const char *const l[] = {"Device",   "Owner",        "Taken",
		                                "Taken by", "Switched off", "Sealed bag",
		                                "Stored",   "Not examined", NULL};
		static const char *const hf[] = {
		    "at",         "kind_of_handover", "to",   "police_reference",
		    "bag_number", "stored_at",        "note", NULL};
		static const char *const hl[] = {
		    "When",       "Hand-over", "To",   "Police reference",
		    "Sealed bag", "Stored",    "Note", NULL};
		raw(&b, "<h3>");
		esc(&b, str(e, "description"));
		raw(&b, json_is_true(json_object_get(e, "accounted_for"))
		            ? " (accounted for)</h3><ol>"
		            : " (still held in school)</h3><ol>");
		entry_line(&b, e, f, l);
		json_array_foreach(json_object_get(e, "handovers"), j, h) entry_line(&b, h, hf, hl);
		raw(&b, "</ol>");
	}
	raw(&b, "</section>");
	if (json_is_object(json_object_get(rep, "closed"))) {
		json_t *cl = json_object_get(rep, "closed");
		raw(&b, "<section><h2>Closed</h2><dl>");
		dl(&b, "Outcome", cl, "outcome");
		dl(&b, "Reason", cl, "reason");
		dl(&b, "By", cl, "by");
		raw(&b, "</dl></section>");
	}
	raw(&b, "</main></body></html>\n");
	if (!b.failed && (out = srv_alloc(r, b.n + 1)))
		memcpy(out, b.p, b.n + 1);
	free(b.p);
	return out;
}
