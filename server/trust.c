/* trust.c: the trust's safeguarding lead (role trust-lead).  A multi-academy trust or a local
 * authority groups schools (`ward admin trust add`); its lead, an account of one of them, sees
 * every school of the trust: how many concerns each has, how many are open and how many wait
 * for the DSL's acknowledgement, and the trust's concerns by status and date.  Never the
 * narrative or a child's details: the schools' DSL teams work the cases (need to know).  Every
 * read is audited.  School roles cannot reach these routes, and a lead reaches no school route. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int concern_add(void *ctx, const srv_trust_concern *c)
{
	json_array_append_new(ctx, json_pack("{s:I,s:I,s:I,s:s,s:I}", "id", (json_int_t)c->id,
	                                     "school_id", (json_int_t)c->school_id, "version",
	                                     (json_int_t)c->version, "status", c->status, "created",
	                                     (json_int_t)c->created));
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
	if (lim) {
		char *end = NULL;
		limit = strtol(lim, &end, 10);
		if (!*lim || *end || limit < 1 || limit > 5000) {
			srv_problem(r, 400, "Invalid limit", "limit is a whole number from 1 to 5000");
			return;
		}
	}
	a = json_array();
	if (st->trust->trust_concerns(st, r->user.school_id, (int)limit, concern_add, a) !=
	    WARD_OK) {
		json_decref(a);
		srv_problem(r, 503, "Store unavailable", "the trust's concerns could not be read");
		return;
	}
	srv_audit_action(r, "trust.concerns", "trust");
	srv_reply(r, 200, json_pack("{s:o,s:o}", "trust", trust_name(r), "concerns", a));
}

static const srv_route routes[] = {
    {"GET", "/api/v1/trust/schools", h_trust_schools, SRV_R(SRV_ROLE_TRUST_LEAD),
     "the schools of my trust, with their concerns counted"},
    {"GET", "/api/v1/trust/concerns", h_trust_concerns, SRV_R(SRV_ROLE_TRUST_LEAD),
     "the latest version of every concern in my trust: status and dates, no narrative"},
    {NULL, NULL, NULL, 0, NULL},
};

const srv_module srv_module_trust = {"trust", routes, NULL, NULL};
