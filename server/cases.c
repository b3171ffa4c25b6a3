/* cases.c: casework on a concern: the guided checklist and the urgent-referral questions from
 * guidance/response.txt, the chronology, decisions and referrals, the device custody chain, and
 * closing.  Every write is an append-only case entry audited in the same transaction; every read
 * of a case is audited.  The referral summary and export are in case_report.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cases.h"
#include "validate.h"

/* Read-only, loaded from the installed guidance at start: every wardd on one database should
 * run the same release so that they offer the same checklist (the answers are in the store). */
static ward_guide *guide;

const ward_guide *case_guide(void)
{
	return guide;
}

int64_t case_new_id(void)
{
	uint64_t v = 0;
	while (v == 0) {
		randombytes_buf(&v, sizeof v);
		v &= 0xffffffffffffull;
	}
	return (int64_t)v;
}

int case_is_date(const char *s)
{
	size_t n = strlen(s);
	if (n < 10)
		return 0;
	for (int i = 0; i < 10; i++) {
		if (i == 4 || i == 7) {
			if (s[i] != '-')
				return 0;
		} else if (s[i] < '0' || s[i] > '9') {
			return 0;
		}
	}
	int mo = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
	return mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && (n == 10 || s[10] == 'T');
}

ward_status case_seal(srv_request *r, const char *ad, json_t *j, unsigned char **out, size_t *n_out)
{
	char *plain = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	ward_status st;
	if (!plain)
		return WARD_ENOMEM;
	st = srv_seal(r->srv->key, ad, plain, strlen(plain), out, n_out);
	sodium_memzero(plain, strlen(plain));
	free(plain);
	return st;
}

json_t *case_open(srv_request *r, const char *ad, const unsigned char *p, size_t n)
{
	char *plain = NULL;
	json_t *j;
	if (srv_open(r->srv->key, ad, p, n, &plain) != WARD_OK)
		return NULL;
	j = json_loads(plain, 0, NULL);
	sodium_memzero(plain, strlen(plain));
	free(plain);
	return j;
}

void srv_case_entry_ad(const srv_case_entry *e, char *ad, size_t cap)
{
	snprintf(ad, cap, "case-entry/%lld/school/%lld/concern/%lld/%s/%s", (long long)e->id,
	         (long long)e->school_id, (long long)e->concern_id, e->kind, e->ref);
}

/* case_entry_add; with open_only, refused (409) once the case is closed, checked in the store's
 * transaction. */
static int entry_add(srv_request *r, int64_t concern_id, const char *kind, const char *ref,
                     json_t *body, const char *action, int64_t *id_out, int open_only)
{
	srv_store *st = r->srv->store;
	srv_case_entry e;
	char ad[192];
	int rc = -1;
	ward_status w;
	srv_audit_in a = {r->user.school_id, r->user.id, action, NULL, r->client};
	memset(&e, 0, sizeof e);
	e.id = case_new_id();
	e.school_id = r->user.school_id;
	e.concern_id = concern_id;
	e.actor_id = r->user.id;
	e.created = srv_now();
	snprintf(e.kind, sizeof e.kind, "%s", kind);
	snprintf(e.ref, sizeof e.ref, "%s", ref ? ref : "");
	json_object_set_new(body, "by", json_string(r->user.username));
	srv_case_entry_ad(&e, ad, sizeof ad);
	if (case_seal(r, ad, body, &e.payload, &e.payload_len) != WARD_OK) {
		srv_problem(r, 500, "Out of memory", NULL);
	} else if ((w = open_only ? st->cases->entry_add_open(st, &e, &a)
	                          : st->cases->entry_add(st, &e, &a)) == WARD_ESTOPPED) {
		srv_problem(r, 409, "Not recorded",
		            "the case is closed: a device is not taken into, or moved within, the "
		            "school's custody on a closed case");
	} else if (w != WARD_OK) {
		srv_problem(
		    r, 503, "Store unavailable",
		    "the entry could not be saved; it has not been recorded, so send it again");
	} else {
		if (id_out)
			*id_out = e.id;
		rc = 0;
	}
	srv_case_entry_clear(&e);
	json_decref(body);
	return rc;
}

int case_entry_add(srv_request *r, int64_t concern_id, const char *kind, const char *ref,
                   json_t *body, const char *action, int64_t *id_out)
{
	return entry_add(r, concern_id, kind, ref, body, action, id_out, 0);
}

typedef struct entries_ctx {
	srv_request *r;
	json_t *arr;
	int bad;
} entries_ctx;

static int entry_to_json(void *vctx, const srv_case_entry *e)
{
	entries_ctx *c = vctx;
	char ad[192];
	srv_case_entry_ad(e, ad, sizeof ad);
	json_t *p = case_open(c->r, ad, e->payload, e->payload_len);
	if (!p) {
		c->bad = 1;
		return 1;
	}
	json_t *o = json_pack("{s:I, s:s, s:s, s:I, s:I}", "id", (json_int_t)e->id, "kind", e->kind,
	                      "ref", e->ref, "recorded_at", (json_int_t)e->created, "actor_id",
	                      (json_int_t)e->actor_id);
	json_object_update(o, p);
	json_decref(p);
	json_array_append_new(c->arr, o);
	return 0;
}

json_t *case_entries(srv_request *r, int64_t concern_id)
{
	entries_ctx c = {r, json_array(), 0};
	srv_store *st = r->srv->store;
	if (st->cases->entry_list(st, r->user.school_id, concern_id, entry_to_json, &c) !=
	        WARD_OK ||
	    c.bad) {
		json_decref(c.arr);
		srv_problem(
		    r, 500, "Record unreadable",
		    "a case entry does not open with this key; run ward admin audit verify");
		return NULL;
	}
	return c.arr;
}

json_t *case_concern_open(srv_request *r, const srv_concern *c)
{
	char ad[96];
	snprintf(ad, sizeof ad, "concern/%lld/school/%lld", (long long)c->id,
	         (long long)c->school_id);
	return case_open(r, ad, c->payload, c->payload_len);
}

uint32_t case_areas_mask(json_t *narrative)
{
	uint32_t m = 0;
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(narrative, "areas"), i, a)
	{
		int id = ward_area_from_id(json_string_value(a));
		if (id >= 0)
			m |= 1u << id;
	}
	return m;
}

int case_load_concern(srv_request *r, srv_concern *c)
{
	srv_store *st = r->srv->store;
	memset(c, 0, sizeof *c);
	if (st->ops->concern_get(st, r->user.school_id, r->ids[0], c) != WARD_OK ||
	    (!srv_is_dsl_team(r) && c->reporter_id != r->user.id)) {
		srv_concern_clear(c);
		srv_problem(r, 404, "Not found", "no concern with that id that you may read");
		return 0;
	}
	return 1;
}

/* ---- the state of a case, folded from its entries ---- */

/* The last entry of kind whose ref is ref, or NULL (borrowed from entries). */
static json_t *last_of(json_t *entries, const char *kind, const char *ref)
{
	json_t *found = NULL, *e;
	size_t i;
	json_array_foreach(entries, i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "kind")), kind) == 0 &&
		    (!ref || strcmp(json_string_value(json_object_get(e, "ref")), ref) == 0))
			found = e;
	}
	return found;
}

static json_t *contacts_json(void)
{
	json_t *a = json_array();
	for (size_t i = 0; i < ward_guide_contact_count(guide); i++) {
		const ward_guide_contact *k = ward_guide_contact_at(guide, i);
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}", "id", k->id, "name",
		                                   k->name, "how", k->how, "when", k->when));
	}
	return a;
}

/* The checklist for areas: every applying item with its latest confirmation.  Staff see the
 * items the reporter confirms. */
static json_t *checklist_json(json_t *entries, uint32_t areas, int reporter_only)
{
	json_t *a = json_array();
	for (size_t i = 0; i < ward_guide_item_count(guide); i++) {
		const ward_guide_item *it = ward_guide_item_at(guide, i);
		if (!(it->areas & areas) || (reporter_only && strcmp(it->who, "reporter") != 0))
			continue;
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", it->id, "kind",
		                      it->kind == WARD_GUIDE_DO ? "do" : "dont", "who", it->who,
		                      "text", it->text, "source", it->source, "state", "open");
		json_t *e = last_of(entries, "checklist", it->id);
		if (e) {
			json_object_set(o, "state", json_object_get(e, "state"));
			json_object_set(o, "by", json_object_get(e, "by"));
			json_object_set(o, "at", json_object_get(e, "recorded_at"));
			if (json_object_get(e, "reason"))
				json_object_set(o, "reason", json_object_get(e, "reason"));
		}
		json_array_append_new(a, o);
	}
	return a;
}

/* The urgent-referral questions for areas with their latest answers; *urgent and reasons say
 * whether any is yes and why. */
static json_t *triggers_json(json_t *entries, uint32_t areas, int *urgent, json_t *reasons)
{
	json_t *a = json_array();
	*urgent = 0;
	for (size_t i = 0; i < ward_guide_trigger_count(guide); i++) {
		const ward_guide_trigger *t = ward_guide_trigger_at(guide, i);
		if (!(t->areas & areas))
			continue;
		json_t *o = json_pack("{s:s, s:s, s:s, s:n}", "id", t->id, "question", t->question,
		                      "why", t->why, "answer");
		json_t *e = last_of(entries, "trigger", t->id);
		if (e) {
			json_object_set(o, "answer", json_object_get(e, "answer"));
			json_object_set(o, "by", json_object_get(e, "by"));
			json_object_set(o, "at", json_object_get(e, "recorded_at"));
			if (strcmp(json_string_value(json_object_get(e, "answer")), "yes") == 0) {
				*urgent = 1;
				json_array_append_new(reasons, json_string(t->why));
			}
		}
		json_array_append_new(a, o);
	}
	return a;
}

/* Devices with their hand-overs; a device is accounted for once its latest hand-over gave it
 * to the police or returned it. */
static json_t *custody_json(json_t *entries, int *unaccounted)
{
	json_t *devs = json_array(), *e;
	size_t i;
	*unaccounted = 0;
	json_array_foreach(entries, i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "kind")), "device") != 0)
			continue;
		json_t *d = json_deep_copy(e), *h, *last = NULL;
		json_t *hs = json_array();
		size_t j;
		char ref[32];
		snprintf(ref, sizeof ref, "%lld",
		         (long long)json_integer_value(json_object_get(e, "id")));
		json_array_foreach(entries, j, h)
		{
			if (strcmp(json_string_value(json_object_get(h, "kind")), "handover") ==
			        0 &&
			    strcmp(json_string_value(json_object_get(h, "ref")), ref) == 0) {
				json_array_append(hs, h);
				last = h;
			}
		}
		const char *lk =
		    last ? json_string_value(json_object_get(last, "kind_of_handover")) : NULL;
		int ok = lk && (strcmp(lk, "police") == 0 || strcmp(lk, "returned") == 0);
		json_object_set_new(d, "handovers", hs);
		json_object_set_new(d, "accounted_for", json_boolean(ok));
		json_object_set_new(d, "held_by",
		                    last ? json_copy(json_object_get(last, "to"))
		                         : json_copy(json_object_get(e, "taken_by")));
		if (!ok)
			(*unaccounted)++;
		json_array_append_new(devs, d);
	}
	return devs;
}

static json_t *entries_of(json_t *entries, const char *kind)
{
	json_t *a = json_array(), *e;
	size_t i;
	json_array_foreach(entries, i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "kind")), kind) == 0)
			json_array_append(a, e);
	}
	return a;
}

/* Referrals with their later outcomes folded in. */
static json_t *referrals_json(json_t *entries)
{
	json_t *a = entries_of(entries, "referral"), *ref, *e;
	size_t i, j;
	json_array_foreach(a, i, ref)
	{
		char id[32];
		json_t *copy = json_deep_copy(ref), *outs = json_array();
		snprintf(id, sizeof id, "%lld",
		         (long long)json_integer_value(json_object_get(ref, "id")));
		json_array_foreach(entries, j, e)
		{
			if (strcmp(json_string_value(json_object_get(e, "kind")), "outcome") == 0 &&
			    strcmp(json_string_value(json_object_get(e, "ref")), id) == 0)
				json_array_append(outs, e);
		}
		json_object_set_new(copy, "outcomes", outs);
		json_array_set_new(a, i, copy);
	}
	return a;
}

/* Why the case whose entries these are may not close, or NULL. */
static const char *blocker_of(srv_request *r, json_t *entries)
{
	const char *why = NULL;
	int unaccounted = 0;
	json_decref(custody_json(entries, &unaccounted));
	if (unaccounted) {
		char *m = srv_alloc(r, 200);
		if (m)
			snprintf(
			    m, 200,
			    "%d device%s taken in this case %s not been handed to the police or "
			    "returned; record the hand-over first",
			    unaccounted, unaccounted == 1 ? "" : "s",
			    unaccounted == 1 ? "has" : "have");
		why = m ? m : "a device is unaccounted for";
	} else if (!last_of(entries, "decision", NULL)) {
		why = "no decision with its reason is recorded: a concern is never closed without "
		      "one";
	}
	return why;
}

const char *case_close_blocker(srv_request *r, int64_t concern_id)
{
	json_t *entries = case_entries(r, concern_id);
	const char *why;
	if (!entries)
		return "the case could not be read";
	why = blocker_of(r, entries);
	json_decref(entries);
	return why;
}

typedef struct close_ctx {
	srv_request *r;
	int refuse_closed, unreadable;
	const char *why;
} close_ctx;

/* The store's close asks this inside its transaction, with the case as it is committed. */
static int close_check(void *vctx, const srv_concern *latest, const srv_case_entry *v, size_t n)
{
	close_ctx *c = vctx;
	entries_ctx ec = {c->r, json_array(), 0};
	if (c->refuse_closed && strcmp(latest->status, "closed") == 0) {
		c->why = "the case is already closed";
	} else {
		for (size_t i = 0; i < n && !ec.bad; i++)
			entry_to_json(&ec, &v[i]);
		if (ec.bad)
			c->unreadable = 1;
		else
			c->why = blocker_of(c->r, ec.arr);
	}
	json_decref(ec.arr);
	return c->unreadable || c->why;
}

/* Writes version nc (status closed) and, when e is not NULL, the close entry e, in one store
 * transaction that first checks the case may close.  0 on success; otherwise answered. */
static int close_commit(srv_request *r, const srv_case_entry *e, const srv_audit_in *ea,
                        srv_concern *nc, const srv_audit_in *ca, int refuse_closed)
{
	srv_store *st = r->srv->store;
	close_ctx cc = {r, refuse_closed, 0, NULL};
	ward_status w;
	snprintf(nc->status, sizeof nc->status, "closed");
	w = st->cases->close(st, e, ea, nc, ca, close_check, &cc);
	if (w == WARD_OK)
		return 0;
	if (w == WARD_ESTOPPED && cc.unreadable)
		srv_problem(
		    r, 500, "Record unreadable",
		    "a case entry does not open with this key; run ward admin audit verify");
	else if (w == WARD_ESTOPPED)
		srv_problem(r, 409, "Case cannot be closed", cc.why);
	else if (w == WARD_EINVAL)
		srv_problem(r, 409, "Version conflict", st->err);
	else if (w == WARD_ENOENT)
		srv_problem(r, 404, "Not found", NULL);
	else
		srv_problem(r, 503, "Store unavailable",
		            "the case could not be closed; nothing was recorded, so send it again");
	return -1;
}

int srv_case_close_put(srv_request *r, srv_concern *n, const srv_audit_in *a)
{
	return close_commit(r, NULL, NULL, n, a, 0);
}

int srv_case_close_refused(srv_request *r, json_t *body, int64_t concern_id)
{
	const char *s = json_string_value(json_object_get(body, "status"));
	const char *why;
	if (!s || strcmp(s, "closed") != 0)
		return 0;
	why = case_close_blocker(r, concern_id);
	if (why) {
		srv_problem(r, 409, "Case cannot be closed", why);
		return 1;
	}
	return 0;
}

/* ---- handlers ---- */

static void target_of(srv_request *r, char *t, size_t cap)
{
	snprintf(t, cap, "concern/%lld", (long long)r->ids[0]);
}

/* Parses the body against fields and loads the concern; NULL with a problem answered. */
static json_t *begin(srv_request *r, const srv_field *fields, srv_concern *c, json_t **narrative)
{
	char msg[256];
	json_t *b = NULL;
	memset(c, 0, sizeof *c);
	*narrative = NULL;
	if (fields) {
		b = srv_parse_body(r->body, r->body_len, fields, msg, sizeof msg);
		if (!b) {
			srv_problem(r, 400, "Invalid request body", msg);
			return NULL;
		}
	} else {
		b = json_object();
	}
	if (!case_load_concern(r, c)) {
		json_decref(b);
		return NULL;
	}
	*narrative = case_concern_open(r, c);
	if (!*narrative) {
		srv_problem(r, 500, "Record unreadable",
		            "the stored concern does not open with this key; run ward admin audit "
		            "verify");
		srv_concern_clear(c);
		json_decref(b);
		return NULL;
	}
	return b;
}

static void finish(srv_concern *c, json_t *b, json_t *narrative)
{
	srv_concern_clear(c);
	json_decref(b);
	json_decref(narrative);
}

static int check_dates(srv_request *r, json_t *b, const char *const *names)
{
	for (; *names; names++) {
		const char *v = json_string_value(json_object_get(b, *names));
		if (v && !case_is_date(v)) {
			char m[128];
			snprintf(m, sizeof m, "%s must be a date, YYYY-MM-DD (a time may follow)",
			         *names);
			srv_problem(r, 400, "Invalid request body", m);
			return 0;
		}
	}
	return 1;
}

static void h_checklist_get(srv_request *r)
{
	srv_concern c;
	json_t *n, *b = begin(r, NULL, &c, &n), *entries;
	char t[64];
	if (!b)
		return;
	if ((entries = case_entries(r, c.id))) {
		uint32_t areas = case_areas_mask(n);
		json_t *o = json_pack("{s:I, s:o}", "concern_id", (json_int_t)c.id, "items",
		                      checklist_json(entries, areas, !srv_is_dsl_team(r)));
		if (srv_is_dsl_team(r)) {
			int urgent;
			json_t *reasons = json_array();
			json_object_set_new(o, "triggers",
			                    triggers_json(entries, areas, &urgent, reasons));
			json_object_set_new(o, "urgent", json_boolean(urgent));
			json_object_set_new(o, "urgent_reasons", reasons);
			json_object_set_new(o, "contacts", contacts_json());
		}
		target_of(r, t, sizeof t);
		srv_audit_action(r, "case.read-checklist", t);
		srv_reply(r, 200, o);
		json_decref(entries);
	}
	finish(&c, b, n);
}

static const char *const item_states[] = {"confirmed", "not-applicable", NULL};
static const srv_field body_check[] = {
    {"item", SRV_F_STRING, 1, 64, NULL},
    {"state", SRV_F_STRING, 1, 16, item_states},
    {"reason", SRV_F_STRING, 0, 2000, NULL},
    {"note", SRV_F_STRING, 0, 2000, NULL},
    {NULL, 0, 0, 0, NULL},
};

static void h_checklist_post(srv_request *r)
{
	srv_concern c;
	json_t *n, *b = begin(r, body_check, &c, &n), *entries;
	if (!b)
		return;
	const char *id = json_string_value(json_object_get(b, "item"));
	const ward_guide_item *it = ward_guide_find_item(guide, id);
	int64_t eid;
	if (!it || !(it->areas & case_areas_mask(n))) {
		srv_problem(r, 400, "Unknown item",
		            "that item is not on this concern's checklist (GET the checklist)");
	} else if (!srv_is_dsl_team(r) && strcmp(it->who, "reporter") != 0) {
		srv_problem(r, 403, "Not yours to confirm",
		            "the designated safeguarding lead confirms this item");
	} else if (strcmp(json_string_value(json_object_get(b, "state")), "not-applicable") == 0 &&
	           !json_object_get(b, "reason")) {
		srv_problem(r, 400, "Reason needed",
		            "an item marked not applicable needs the reason why");
	} else if (case_entry_add(r, c.id, "checklist", it->id, json_incref(b), "case.checklist",
	                          &eid) == 0) {
		if ((entries = case_entries(r, c.id))) {
			json_t *items = checklist_json(entries, case_areas_mask(n), 0), *o;
			size_t i;
			json_array_foreach(items, i, o)
			{
				if (strcmp(json_string_value(json_object_get(o, "id")), id) == 0) {
					json_object_set_new(o, "entry_id", json_integer(eid));
					srv_reply(r, 201, json_incref(o));
				}
			}
			json_decref(items);
			json_decref(entries);
		}
		finish(&c, b, n);
		return;
	}
	finish(&c, b, n);
}

static const char *const answers[] = {"yes", "no", NULL};
static const srv_field body_trigger[] = {
    {"trigger", SRV_F_STRING, 1, 64, NULL},
    {"answer", SRV_F_STRING, 1, 4, answers},
    {"note", SRV_F_STRING, 0, 2000, NULL},
    {NULL, 0, 0, 0, NULL},
};

static void h_trigger_post(srv_request *r)
{
	srv_concern c;
	json_t *n, *b = begin(r, body_trigger, &c, &n), *entries;
	if (!b)
		return;
	const ward_guide_trigger *t =
	    ward_guide_find_trigger(guide, json_string_value(json_object_get(b, "trigger")));
	if (!t || !(t->areas & case_areas_mask(n))) {
		srv_problem(
		    r, 400, "Unknown question",
		    "that question is not asked for this concern's areas (GET the checklist)");
	} else if (case_entry_add(r, c.id, "trigger", t->id, json_incref(b), "case.trigger",
	                          NULL) == 0 &&
	           (entries = case_entries(r, c.id))) {
		int urgent;
		json_t *reasons = json_array();
		json_t *ts = triggers_json(entries, case_areas_mask(n), &urgent, reasons);
		json_t *o = json_pack("{s:I, s:b, s:o, s:o}", "concern_id", (json_int_t)c.id,
		                      "urgent", urgent, "urgent_reasons", reasons, "triggers", ts);
		if (urgent)
			json_object_set_new(o, "contacts", contacts_json());
		srv_reply(r, 201, o);
		json_decref(entries);
	}
	finish(&c, b, n);
}

static void h_case_get(srv_request *r)
{
	srv_concern c;
	json_t *n, *b = begin(r, NULL, &c, &n), *rep;
	char t[64];
	if (!b)
		return;
	if ((rep = case_report(r, &c))) {
		target_of(r, t, sizeof t);
		srv_audit_action(r, "case.read", t);
		srv_reply(r, 200, rep);
	}
	finish(&c, b, n);
}

/* A simple append: validate, check dates, record, answer 201 with the entry. */
static void append(srv_request *r, const srv_field *fields, const char *const *dates,
                   const char *kind, const char *action,
                   const char *(*check)(srv_request *, json_t *, json_t *, char *))
{
	srv_concern c;
	json_t *n, *b = begin(r, fields, &c, &n);
	char ref[64] = "";
	int64_t id;
	if (!b)
		return;
	if (!check_dates(r, b, dates))
		goto done;
	if (check) {
		const char *why = check(r, b, n, ref);
		if (why) {
			if (r->status == 0)
				srv_problem(r, 409, "Not recorded", why);
			goto done;
		}
	}
	/* What takes a device into the school's custody or moves it there is refused on a closed
	 * case, in the store's transaction, so it cannot follow a close that passed its check. */
	const char *hk = json_string_value(json_object_get(b, "kind_of_handover"));
	int open_only = strcmp(kind, "device") == 0 || (hk && strcmp(hk, "moved") == 0);
	if (entry_add(r, c.id, kind, ref, json_incref(b), action, &id, open_only) == 0) {
		json_t *o = json_deep_copy(b);
		json_object_set_new(o, "id", json_integer(id));
		json_object_set_new(o, "kind", json_string(kind));
		json_object_set_new(o, "ref", json_string(ref));
		json_object_set_new(o, "concern_id", json_integer(c.id));
		srv_reply(r, 201, o);
	}
done:
	finish(&c, b, n);
}

static const char *const chrono_types[] = {"action",         "meeting", "contact-parent",
                                           "contact-agency", "note",    NULL};
static const srv_field body_chrono[] = {
    {"type", SRV_F_STRING, 1, 16, chrono_types},
    {"at", SRV_F_STRING, 1, 32, NULL},
    {"text", SRV_F_STRING, 1, 10000, NULL},
    {"with", SRV_F_STRING, 0, 200, NULL},
    {NULL, 0, 0, 0, NULL},
};
static const char *const d_at[] = {"at", NULL};

static void h_chronology_post(srv_request *r)
{
	append(r, body_chrono, d_at, "chronology", "case.chronology", NULL);
}

static const char *const decisions[] = {"refer-police",      "refer-ceop", "refer-social-care",
                                        "refer-lado",        "early-help", "monitor",
                                        "no-further-action", NULL};
static const srv_field body_decision[] = {
    {"decision", SRV_F_STRING, 1, 24, decisions},
    {"reason", SRV_F_STRING, 1, 10000, NULL},
    {NULL, 0, 0, 0, NULL},
};

static void h_decision_post(srv_request *r)
{
	append(r, body_decision, d_at, "decision", "case.decision", NULL);
}

static const char *const agencies[] = {
    "police", "ceop", "childrens-social-care", "lado", "early-help", "other", NULL};
static const srv_field body_referral[] = {
    {"agency", SRV_F_STRING, 1, 24, agencies}, {"at", SRV_F_STRING, 1, 32, NULL},
    {"reference", SRV_F_STRING, 0, 100, NULL}, {"contact", SRV_F_STRING, 0, 200, NULL},
    {"outcome", SRV_F_STRING, 0, 10000, NULL}, {NULL, 0, 0, 0, NULL},
};

static void h_referral_post(srv_request *r)
{
	append(r, body_referral, d_at, "referral", "case.referral", NULL);
}

/* The entry ids[1] of kind in this case exists; its id goes into ref. */
static const char *refers_to(srv_request *r, const char *kind, char *ref)
{
	json_t *entries = case_entries(r, r->ids[0]), *e;
	size_t i;
	int found = 0;
	if (!entries)
		return "the case could not be read";
	json_array_foreach(entries, i, e)
	{
		found |= json_integer_value(json_object_get(e, "id")) == r->ids[1] &&
		         strcmp(json_string_value(json_object_get(e, "kind")), kind) == 0;
	}
	json_decref(entries);
	if (!found) {
		srv_problem(r, 404, "Not found",
		            strcmp(kind, "device") == 0 ? "no device with that id in this case"
		                                        : "no referral with that id in this case");
		return "not found";
	}
	snprintf(ref, 64, "%lld", (long long)r->ids[1]);
	return NULL;
}

static const char *outcome_check(srv_request *r, json_t *b, json_t *n, char *ref)
{
	(void)b, (void)n;
	return refers_to(r, "referral", ref);
}

static const srv_field body_outcome[] = {
    {"outcome", SRV_F_STRING, 1, 10000, NULL},
    {"at", SRV_F_STRING, 1, 32, NULL},
    {"reference", SRV_F_STRING, 0, 100, NULL},
    {NULL, 0, 0, 0, NULL},
};

static void h_outcome_post(srv_request *r)
{
	append(r, body_outcome, d_at, "outcome", "case.referral-outcome", outcome_check);
}

static const char *const yesno[] = {"yes", "no", NULL};
static const srv_field body_device[] = {
    {"description", SRV_F_STRING, 1, 500, NULL},
    {"owner", SRV_F_STRING, 1, 200, NULL},
    {"taken_at", SRV_F_STRING, 1, 32, NULL},
    {"taken_by", SRV_F_STRING, 1, 200, NULL},
    {"switched_off", SRV_F_STRING, 1, 3, yesno},
    {"bag_number", SRV_F_STRING, 1, 64, NULL},
    {"stored_at", SRV_F_STRING, 1, 200, NULL},
    {"not_examined_by", SRV_F_STRING, 1, 200, NULL},
    {NULL, 0, 0, 0, NULL},
};
static const char *const d_taken[] = {"taken_at", NULL};

/* The record states, in words, that nobody examined the device. */
static const char *device_check(srv_request *r, json_t *b, json_t *n, char *ref)
{
	char s[400];
	(void)r, (void)n, (void)ref;
	snprintf(s, sizeof s,
	         "The device was not examined: nobody in school looked through it, unlocked it or "
	         "switched it on. Stated by %s.",
	         json_string_value(json_object_get(b, "not_examined_by")));
	json_object_set_new(b, "not_examined", json_string(s));
	return NULL;
}

static void h_device_post(srv_request *r)
{
	append(r, body_device, d_taken, "device", "case.device-taken", device_check);
}

static const char *const handover_kinds[] = {"police", "returned", "moved", NULL};
static const srv_field body_handover[] = {
    {"to", SRV_F_STRING, 1, 200, NULL},
    {"at", SRV_F_STRING, 1, 32, NULL},
    {"kind", SRV_F_STRING, 1, 16, handover_kinds},
    {"police_reference", SRV_F_STRING, 0, 100, NULL},
    {"bag_number", SRV_F_STRING, 0, 64, NULL},
    {"stored_at", SRV_F_STRING, 0, 200, NULL},
    {"note", SRV_F_STRING, 0, 2000, NULL},
    {NULL, 0, 0, 0, NULL},
};

static const char *handover_check(srv_request *r, json_t *b, json_t *n, char *ref)
{
	(void)n;
	if (strcmp(json_string_value(json_object_get(b, "kind")), "police") == 0 &&
	    !json_object_get(b, "police_reference")) {
		srv_problem(r, 400, "Police reference needed",
		            "a hand-over to the police needs the police reference");
		return "reference";
	}
	/* "kind" names the hand-over; the entry's own kind is "handover". */
	json_object_set(b, "kind_of_handover", json_object_get(b, "kind"));
	json_object_del(b, "kind");
	return refers_to(r, "device", ref);
}

static void h_handover_post(srv_request *r)
{
	append(r, body_handover, d_at, "handover", "case.device-handover", handover_check);
}

static const srv_field body_close[] = {
    {"outcome", SRV_F_STRING, 1, 24, decisions},
    {"reason", SRV_F_STRING, 1, 10000, NULL},
    {NULL, 0, 0, 0, NULL},
};

/* Closing: refused while a device is unaccounted for or no decision is recorded; otherwise the
 * close entry with the outcome and the concern's next version with status closed, both with
 * their audit entries, in one store transaction that checks the case as it is committed (any
 * wardd on the database, any request racing it). */
static void h_close(srv_request *r)
{
	srv_concern c, nc;
	srv_case_entry e;
	json_t *n, *b = begin(r, body_close, &c, &n);
	const char *why;
	char ad[192];
	srv_audit_in ea = {r->user.school_id, r->user.id, "case.close", NULL, r->client};
	srv_audit_in ca = {r->user.school_id, r->user.id, "concern.close", NULL, r->client};
	memset(&nc, 0, sizeof nc);
	memset(&e, 0, sizeof e);
	if (!b)
		return;
	if (strcmp(c.status, "closed") == 0) {
		srv_problem(r, 409, "Case cannot be closed", "the case is already closed");
		goto done;
	}
	/* Answered early from a read; the store checks again in its transaction. */
	if ((why = case_close_blocker(r, c.id))) {
		if (r->status == 0)
			srv_problem(r, 409, "Case cannot be closed", why);
		goto done;
	}
	e.id = case_new_id();
	e.school_id = r->user.school_id;
	e.concern_id = c.id;
	e.actor_id = r->user.id;
	e.created = srv_now();
	snprintf(e.kind, sizeof e.kind, "close");
	json_object_set_new(b, "by", json_string(r->user.username));
	srv_case_entry_ad(&e, ad, sizeof ad);
	if (case_seal(r, ad, b, &e.payload, &e.payload_len) != WARD_OK) {
		srv_problem(r, 500, "Out of memory", NULL);
		goto done;
	}
	nc = c;
	nc.payload = c.payload; /* borrowed: c owns it */
	nc.version = c.version + 1;
	if (close_commit(r, &e, &ea, &nc, &ca, 1) != 0)
		goto done;
	srv_reply(r, 200,
	          json_pack("{s:I, s:I, s:s, s:O}", "id", (json_int_t)c.id, "version",
	                    (json_int_t)nc.version, "status", "closed", "outcome",
	                    json_object_get(b, "outcome")));
done:
	srv_case_entry_clear(&e);
	finish(&c, b, n);
}

static void h_summary(srv_request *r)
{
	srv_concern c;
	json_t *n, *b = begin(r, NULL, &c, &n), *rep;
	char t[64];
	if (!b)
		return;
	if ((rep = case_report(r, &c))) {
		char *html = case_report_html(r, rep);
		if (!html) {
			srv_problem(r, 500, "Out of memory", NULL);
		} else {
			target_of(r, t, sizeof t);
			srv_audit_action(r, "case.read-summary", t);
			r->status = 200;
			r->text = html;
			r->content_type = "text/html; charset=utf-8";
		}
		json_decref(rep);
	}
	finish(&c, b, n);
}

static void h_export(srv_request *r)
{
	srv_concern c;
	json_t *n, *b = begin(r, NULL, &c, &n), *rep;
	char t[64];
	if (!b)
		return;
	if ((rep = case_report(r, &c))) {
		target_of(r, t, sizeof t);
		srv_audit_action(r, "case.export", t);
		srv_reply(r, 200, rep);
	}
	finish(&c, b, n);
}

/* ---- the school's urgent cases, for the dashboard ---- */

/* Trigger answers kept while folding: at most this many (concern, question) pairs, so one
 * request's memory has a ceiling however long the school's record grows. */
#define URGENT_MAX_PAIRS 200000

typedef struct urgent_ctx {
	srv_request *r;
	json_t *latest; /* "CONCERN" -> {"QUESTION": its latest answer entry} */
	size_t pairs;
	int bad, full;
} urgent_ctx;

/* Keeps each question's latest answer per concern (entries come oldest first). */
static int urgent_fold(void *vctx, const srv_case_entry *e)
{
	urgent_ctx *u = vctx;
	entries_ctx one = {u->r, json_array(), 0};
	char key[24];
	json_t *byq;
	snprintf(key, sizeof key, "%lld", (long long)e->concern_id);
	if (!(byq = json_object_get(u->latest, key))) {
		byq = json_object();
		json_object_set_new(u->latest, key, byq);
	}
	if (!json_object_get(byq, e->ref) && ++u->pairs > URGENT_MAX_PAIRS) {
		u->full = 1;
	} else if (entry_to_json(&one, e) != 0) {
		u->bad = 1;
	} else {
		json_object_set(byq, e->ref, json_array_get(one.arr, 0));
	}
	json_decref(one.arr);
	return u->bad || u->full;
}

typedef struct urgent_case {
	json_int_t answered_at;
	json_t *o;
} urgent_case;

static int by_answer_desc(const void *a, const void *b)
{
	json_int_t x = ((const urgent_case *)a)->answered_at,
	           y = ((const urgent_case *)b)->answered_at;
	return (x < y) - (x > y);
}

/* The open case concern_id is urgent by its latest answers: a new object with its reasons, or
 * NULL (not urgent, closed, gone, or unreadable: *bad set). */
static json_t *urgent_case_json(srv_request *r, int64_t concern_id, json_t *byq,
                                json_int_t *answered_at, int *bad)
{
	srv_store *st = r->srv->store;
	srv_concern c;
	json_t *n = NULL, *entries = json_array(), *e, *reasons = json_array(), *o = NULL;
	const char *q;
	int urgent = 0, any_yes = 0;
	*answered_at = 0;
	json_object_foreach(byq, q, e)
	{
		json_array_append(entries, e);
		if (strcmp(json_string_value(json_object_get(e, "answer")), "yes") == 0) {
			json_int_t at = json_integer_value(json_object_get(e, "recorded_at"));
			any_yes = 1;
			if (at > *answered_at)
				*answered_at = at;
		}
	}
	memset(&c, 0, sizeof c);
	/* Only a case with a yes among its latest answers costs a concern read. */
	if (!any_yes || st->ops->concern_get(st, r->user.school_id, concern_id, &c) != WARD_OK ||
	    strcmp(c.status, "closed") == 0)
		goto done;
	if (!(n = case_concern_open(r, &c))) {
		*bad = 1;
		goto done;
	}
	/* The questions that apply to the concern's areas now, as the case view asks them. */
	json_decref(triggers_json(entries, case_areas_mask(n), &urgent, reasons));
	if (urgent)
		o = json_pack("{s:I, s:s, s:I, s:O}", "id", (json_int_t)c.id, "status", c.status,
		              "answered_at", *answered_at, "urgent_reasons", reasons);
done:
	json_decref(reasons);
	json_decref(entries);
	json_decref(n);
	srv_concern_clear(&c);
	return o;
}

/* GET /api/v1/cases/urgent: the school's open cases with a yes among the latest answers to
 * their urgent-referral questions, with the reasons, most recent answer first.  One audited
 * read of the list, so the dashboard need not read (and audit) every case. */
static void h_urgent_list(srv_request *r)
{
	srv_store *st = r->srv->store;
	urgent_ctx u = {r, json_object(), 0, 0, 0};
	urgent_case *cases = NULL;
	size_t n = 0, i;
	json_t *byq, *arr = json_array();
	const char *key;
	if (st->cases->entry_list_kind(st, r->user.school_id, "trigger", urgent_fold, &u) !=
	    WARD_OK) {
		srv_problem(r, 503, "Store unavailable", "the cases could not be read; try again");
		goto done;
	}
	if (u.full) {
		srv_problem(
		    r, 500, "Too many answers",
		    "the school's urgent-referral answers are beyond what one request folds");
		goto done;
	}
	if (!u.bad && !(cases = calloc(json_object_size(u.latest) + 1, sizeof *cases))) {
		srv_problem(r, 500, "Out of memory", NULL);
		goto done;
	}
	json_object_foreach(u.latest, key, byq)
	{
		if (u.bad)
			break;
		json_int_t at;
		json_t *o = urgent_case_json(r, strtoll(key, NULL, 10), byq, &at, &u.bad);
		if (o)
			cases[n++] = (urgent_case){at, o};
	}
	if (u.bad) {
		srv_problem(
		    r, 500, "Record unreadable",
		    "a case entry or concern does not open with this key; run ward admin audit "
		    "verify");
		goto done;
	}
	qsort(cases, n, sizeof *cases, by_answer_desc);
	for (i = 0; i < n; i++) {
		json_array_append(arr, cases[i].o);
	}
	srv_audit_action(r, "case.list-urgent", "cases/urgent");
	srv_reply(r, 200, json_pack("{s:O}", "concerns", arr));
done:
	for (i = 0; i < n; i++)
		json_decref(cases[i].o);
	free(cases);
	json_decref(arr);
	json_decref(u.latest);
}

/* Exposed to case_report.c through these wrappers. */
json_t *case_checklist_json(json_t *entries, uint32_t areas)
{
	return checklist_json(entries, areas, 0);
}
json_t *case_triggers_json(json_t *entries, uint32_t areas, int *urgent, json_t *reasons)
{
	return triggers_json(entries, areas, urgent, reasons);
}
json_t *case_custody_json(json_t *entries, int *unaccounted)
{
	return custody_json(entries, unaccounted);
}
json_t *case_entries_of(json_t *entries, const char *kind)
{
	return entries_of(entries, kind);
}
json_t *case_referrals_json(json_t *entries)
{
	return referrals_json(entries);
}
json_t *case_contacts_json(void)
{
	return contacts_json();
}

static int start(srv_server *s)
{
	ward_diag d;
	(void)s;
	if (ward_guide_load(NULL, &guide, &d) != WARD_OK) {
		fprintf(stderr, "wardd: guided response: %s\n", d.message);
		return -1;
	}
	return 0;
}

static void stop(srv_server *s)
{
	(void)s;
	ward_guide_free(guide);
	guide = NULL;
}

#define C "/api/v1/concerns/{id}"
static const srv_route routes[] = {
    {"GET", C "/checklist", h_checklist_get, SRV_REPORTERS,
     "the guided checklist (staff: the reporter's items of their own concern)"},
    {"POST", C "/checklist", h_checklist_post, SRV_REPORTERS,
     "confirm a checklist item, or mark it not applicable with a reason"},
    {"POST", C "/triggers", h_trigger_post, SRV_DSL_TEAM,
     "answer an urgent-referral question; any yes makes the case urgent"},
    {"GET", C "/case", h_case_get, SRV_DSL_TEAM, "the whole case"},
    {"POST", C "/chronology", h_chronology_post, SRV_DSL_TEAM,
     "add an action, meeting or contact to the chronology"},
    {"POST", C "/decisions", h_decision_post, SRV_DSL_TEAM, "record a decision and its reason"},
    {"POST", C "/referrals", h_referral_post, SRV_DSL_TEAM, "record a referral"},
    {"POST", C "/referrals/{id}/outcome", h_outcome_post, SRV_DSL_TEAM,
     "record a referral's outcome"},
    {"POST", C "/devices", h_device_post, SRV_DSL_TEAM, "record a device taken from a child"},
    {"POST", C "/devices/{id}/handovers", h_handover_post, SRV_DSL_TEAM,
     "record a device's hand-over"},
    {"POST", C "/close", h_close, SRV_DSL_TEAM,
     "close the case with its outcome (refused while a device is unaccounted for)"},
    {"GET", C "/summary", h_summary, SRV_DSL_TEAM, "printable referral summary (HTML)"},
    {"GET", C "/export", h_export, SRV_DSL_TEAM, "referral export for police or CEOP (JSON)"},
    {"GET", "/api/v1/cases/urgent", h_urgent_list, SRV_DSL_TEAM,
     "the school's open cases made urgent by a yes to an urgent-referral question, with why"},
    {NULL, NULL, NULL, 0, NULL},
};

const srv_module srv_module_cases = {"cases", routes, start, stop};
