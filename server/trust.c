/* trust.c: the trust's safeguarding lead (role trust-lead).  A multi-academy trust or a local
 * authority groups schools (`ward admin trust add`); its lead, an account of one of them, sees
 * every school of the trust: how many concerns each has, how many are open and how many wait
 * for the DSL's acknowledgement, and the trust's concerns by status, date, area, the pupil's
 * urgent flag and how far an unacknowledged one has been escalated.  Never the narrative or a
 * child's details: the schools' DSL teams work the cases (need to know).  Every
 * read is audited.  School roles cannot reach these routes, and a lead reaches no school route. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "http.h"
#include "store_trust.h"

static int school_add(void *ctx, const srv_trust_school *t)
{
	json_array_append_new(ctx, json_pack("{s:I,s:s,s:I,s:I,s:I}", "id", (json_int_t)t->school_id,
	                                     "name", t->name, "concerns", (json_int_t)t->concerns,
	                                     "open", (json_int_t)t->open, "unacknowledged",
	                                     (json_int_t)t->unacknowledged));
	return 0;
}

typedef struct concern_ctx {
	srv_request *r;
	json_t *arr;
	int bad; /* a payload did not open */
} concern_ctx;

/* From a concern's sealed payload, only what the trust's overview counts by: its areas and
 * whether a pupil's own report said they may not be safe now (pupil_report.c's urgent flag).
 * The children, the account and every other field are dropped unread, and the opened text is
 * wiped.  Nonzero when the payload does not open (altered, or another key). */
static int concern_class(srv_request *r, const srv_trust_concern *c, json_t **areas, int *urgent)
{
	char ad[96], *plain = NULL;
	json_t *p, *a;
	snprintf(ad, sizeof ad, "concern/%lld/school/%lld", (long long)c->id,
	         (long long)c->school_id);
	if (!c->payload ||
	    srv_open(r->srv->key, ad, c->payload, c->payload_len, &plain) != WARD_OK)
		return -1;
	p = json_loads(plain, 0, NULL);
	sodium_memzero(plain, strlen(plain));
	free(plain);
	if (!p)
		return -1;
	*areas = json_array();
	a = json_object_get(p, "areas");
	for (size_t i = 0; json_is_array(a) && i < json_array_size(a); i++) {
		json_t *v = json_array_get(a, i);
		if (json_is_string(v))
			json_array_append_new(*areas, json_string(json_string_value(v)));
	}
	*urgent = json_is_true(json_object_get(p, "urgent"));
	json_decref(p);
	return 0;
}

static int concern_add(void *vctx, const srv_trust_concern *c)
{
	concern_ctx *x = vctx;
	json_t *areas = NULL;
	int urgent = 0;
	if (concern_class(x->r, c, &areas, &urgent) != 0) {
		x->bad = 1;
		return 1;
	}
	json_array_append_new(
	    x->arr, json_pack("{s:I,s:I,s:I,s:s,s:I,s:o,s:b,s:s?}", "id", (json_int_t)c->id,
	                      "school_id", (json_int_t)c->school_id, "version",
	                      (json_int_t)c->version, "status", c->status, "created",
	                      (json_int_t)c->created, "areas", areas, "urgent", urgent, "escalated",
	                      c->stage == 2   ? "deputy-dsl"
	                      : c->stage >= 3 ? "head"
	                                      : NULL));
	return 0;
}

/* The trust's name, or null when the lead's school is in none. */
static json_t *trust_name(srv_request *r)
{
	char name[256];
	srv_store *st = r->srv->store;
	if (st->trust->trust_of(st, r->user.school_id, name, sizeof name) == WARD_OK)
		return json_string(name);
	return json_null();
}

static void h_trust_schools(srv_request *r)
{
	srv_store *st = r->srv->store;
	json_t *a = json_array();
	if (st->trust->trust_schools(st, r->user.school_id, school_add, a) != WARD_OK) {
		json_decref(a);
		srv_problem(r, 503, "Store unavailable", "the trust's schools could not be read");
		return;
	}
	srv_audit_action(r, "trust.schools", "trust");
	srv_reply(r, 200, json_pack("{s:o,s:o}", "trust", trust_name(r), "schools", a));
}

static void h_trust_concerns(srv_request *r)
{
	srv_store *st = r->srv->store;
	const char *lim = srv_query(r, "limit");
	long limit = 500;
	json_t *a;
	concern_ctx x = {0};
	if (lim) {
		char *end = NULL;
		limit = strtol(lim, &end, 10);
		if (!*lim || *end || limit < 1 || limit > 5000) {
			srv_problem(r, 400, "Invalid limit", "limit is a whole number from 1 to 5000");
			return;
		}
	}
	a = json_array();
	x.r = r;
	x.arr = a;
	if (st->trust->trust_concerns(st, r->user.school_id, (int)limit, concern_add, &x) !=
	    WARD_OK) {
		json_decref(a);
		srv_problem(r, 503, "Store unavailable", "the trust's concerns could not be read");
		return;
	}
	srv_audit_action(r, "trust.concerns", "trust");
	if (x.bad) {
		json_decref(a);
		srv_problem(r, 500, "Record unreadable",
		            "a stored concern does not open with this key; run ward admin audit verify");
		return;
	}
	srv_reply(r, 200, json_pack("{s:o,s:o}", "trust", trust_name(r), "concerns", a));
}

static const srv_route routes[] = {
    {"GET", "/api/v1/trust/schools", h_trust_schools, SRV_R(SRV_ROLE_TRUST_LEAD),
     "the schools of my trust, with their concerns counted"},
    {"GET", "/api/v1/trust/concerns", h_trust_concerns, SRV_R(SRV_ROLE_TRUST_LEAD),
     "the latest version of every concern in my trust: status, dates, areas, urgency and"
     " escalation, no narrative"},
    {NULL, NULL, NULL, 0, NULL},
};

const srv_module srv_module_trust = {"trust", routes, NULL, NULL};
