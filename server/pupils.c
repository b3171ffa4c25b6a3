/* pupils.c: records over time.  Pupil records (name, date of birth, year group, internal id)
 * with audited reads; a child's chronology across concerns; retention until the child's 25th
 * birthday and the review list after it; a subject access export; and the transfer of a child's
 * file to another school as a bundle sealed to the receiving school's key (X25519, libsodium
 * sealed box) and signed with the sending school's Ed25519 key, answered by a signed receipt.
 *
 * A school's transfer keys are derived from wardd's at-rest key and the school id, so they need
 * no storage of their own and change only when the at-rest key does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "cases.h"
#include "validate.h"

static const char *s_or(const char *s)
{
	return s ? s : "";
}

/* ---- records ---- */

void srv_pupil_ad(int64_t id, int64_t school, char *ad, size_t cap)
{
	snprintf(ad, cap, "pupil/%lld/school/%lld", (long long)id, (long long)school);
}

/* The child's 25th birthday (29 February becomes 1 March in a common year). */
static void retain_until(const char *dob, char *out, size_t cap)
{
	int y = (int)strtol(dob, NULL, 10) + 25;
	if (y < 0 || y > 9999)
		y = 9999;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (strncmp(dob + 5, "02-29", 5) == 0 && !leap)
		snprintf(out, cap, "%04d-03-01", y);
	else
		snprintf(out, cap, "%04d-%.5s", y, dob + 5);
}

/* The API's view of a pupil record; NULL when it does not open. */
static json_t *pupil_json(srv_request *r, const srv_pupil *p)
{
	char ad[96], until[24];
	srv_pupil_ad(p->id, p->school_id, ad, sizeof ad);
	json_t *o = case_open(r, ad, p->payload, p->payload_len);
	if (!o)
		return NULL;
	retain_until(json_string_value(json_object_get(o, "date_of_birth")), until, sizeof until);
	json_object_set_new(o, "id", json_integer(p->id));
	json_object_set_new(o, "recorded_at", json_integer(p->created));
	json_object_set_new(o, "retain_until", json_string(until));
	return o;
}

/* Adds a pupil record from fields of o (name, date_of_birth, year_group, internal_id,
 * transferred_from).  0 with *out (caller's) the new record's JSON. */
static int pupil_create(srv_request *r, json_t *o, const char *action, json_t **out)
{
	srv_pupil p;
	char ad[96];
	int rc = -1;
	json_t *rec = json_object();
	srv_audit_in a = {r->user.school_id, r->user.id, action, NULL, r->client};
	static const char *const keep[] = {"name",        "date_of_birth",    "year_group",
	                                   "internal_id", "transferred_from", NULL};
	for (const char *const *k = keep; *k; k++)
		if (json_is_string(json_object_get(o, *k)))
			json_object_set(rec, *k, json_object_get(o, *k));
	memset(&p, 0, sizeof p);
	p.id = case_new_id();
	p.school_id = r->user.school_id;
	p.actor_id = r->user.id;
	p.created = srv_now();
	srv_pupil_ad(p.id, p.school_id, ad, sizeof ad);
	if (case_seal(r, ad, rec, &p.payload, &p.payload_len) != WARD_OK)
		srv_problem(r, 500, "Out of memory", NULL);
	else if (r->srv->store->cases->pupil_add(r->srv->store, &p, &a) != WARD_OK)
		srv_problem(
		    r, 503, "Store unavailable",
		    "the record could not be saved; it has not been recorded, so send it again");
	else if (!(*out = pupil_json(r, &p)))
		srv_problem(r, 500, "Internal error", "the saved record could not be read back");
	else
		rc = 0;
	srv_pupil_clear(&p);
	json_decref(rec);
	return rc;
}

static const srv_field body_pupil[] = {
    {"name", SRV_F_STRING, 1, 200, NULL},
    {"date_of_birth", SRV_F_STRING, 1, 10, NULL},
    {"year_group", SRV_F_STRING, 0, 16, NULL},
    {"internal_id", SRV_F_STRING, 0, 64, NULL},
    {NULL, 0, 0, 0, NULL},
};

static void h_pupil_create(srv_request *r)
{
	char msg[256];
	json_t *b = srv_parse_body(r->body, r->body_len, body_pupil, msg, sizeof msg), *o = NULL;
	if (!b) {
		srv_problem(r, 400, "Invalid request body", msg);
		return;
	}
	if (pupil_create(r, b, "pupil.create", &o) == 0) {
		snprintf(r->location, sizeof r->location, "/api/v1/pupils/%lld",
		         (long long)json_integer_value(json_object_get(o, "id")));
		srv_reply(r, 201, o);
	}
	json_decref(b);
}

typedef struct plist {
	srv_request *r;
	json_t *arr;
	const char *due; /* only records whose retention ends on or before this date */
} plist;

static int pupil_add_cb(void *vctx, const srv_pupil *p)
{
	plist *l = vctx;
	json_t *o = pupil_json(l->r, p);
	if (!o) {
		json_array_append_new(
		    l->arr, json_pack("{s:I, s:b}", "id", (json_int_t)p->id, "unreadable", 1));
		return 0;
	}
	if (l->due && strcmp(json_string_value(json_object_get(o, "retain_until")), l->due) > 0)
		json_decref(o);
	else
		json_array_append_new(l->arr, o);
	return 0;
}

static void h_pupil_list(srv_request *r)
{
	plist l = {r, json_array(), NULL};
	r->srv->store->cases->pupil_list(r->srv->store, r->user.school_id, pupil_add_cb, &l);
	srv_audit_action(r, "pupil.list", "pupils");
	srv_reply(r, 200, json_pack("{s:o}", "pupils", l.arr));
}

/* Records past the child's 25th birthday on the given day (?on=YYYY-MM-DD, default today):
 * the DSL reviews each for deletion or a reason to keep it. */
static void h_pupil_review(srv_request *r)
{
	char today[24];
	const char *on = srv_query(r, "on");
	time_t now = (time_t)srv_now();
	struct tm tm;
	if (on && (strlen(on) != 10 || !case_is_date(on))) {
		srv_problem(r, 400, "Invalid query", "on must be a date, YYYY-MM-DD");
		return;
	}
	if (!on) {
		gmtime_r(&now, &tm);
		strftime(today, sizeof today, "%Y-%m-%d", &tm);
		on = today;
	}
	plist l = {r, json_array(), on};
	r->srv->store->cases->pupil_list(r->srv->store, r->user.school_id, pupil_add_cb, &l);
	srv_audit_action(r, "pupil.review-list", "pupils");
	srv_reply(r, 200, json_pack("{s:s, s:o}", "on", on, "due_for_review", l.arr));
}

/* Loads pupil ids[0] of the caller's school; NULL with 404 answered. */
static json_t *load_pupil(srv_request *r)
{
	srv_pupil p;
	json_t *o = NULL;
	memset(&p, 0, sizeof p);
	if (r->srv->store->cases->pupil_get(r->srv->store, r->user.school_id, r->ids[0], &p) !=
	    WARD_OK) {
		srv_problem(r, 404, "Not found", "no pupil record with that id in your school");
		return NULL;
	}
	if (!(o = pupil_json(r, &p)))
		srv_problem(r, 500, "Record unreadable",
		            "the stored record does not open with this key; run ward admin audit "
		            "verify");
	srv_pupil_clear(&p);
	return o;
}

static void audit_pupil(srv_request *r, const char *action)
{
	char t[64];
	snprintf(t, sizeof t, "pupil/%lld", (long long)r->ids[0]);
	srv_audit_action(r, action, t);
}

static void h_pupil_get(srv_request *r)
{
	json_t *o = load_pupil(r);
	if (!o)
		return;
	audit_pupil(r, "pupil.read");
	srv_reply(r, 200, o);
}

/* ---- a child's file: every concern naming the child ---- */

static int same_child(json_t *pupil, json_t *child)
{
	const char *a = json_string_value(json_object_get(pupil, "internal_id"));
	const char *b = json_string_value(json_object_get(child, "internal_id"));
	if (a && b)
		return strcmp(a, b) == 0;
	return strcasecmp(json_string_value(json_object_get(pupil, "name")),
	                  json_string_value(json_object_get(child, "name"))) == 0 &&
	       strcmp(json_string_value(json_object_get(pupil, "date_of_birth")),
	              json_string_value(json_object_get(child, "date_of_birth"))) == 0;
}

typedef struct concern_ref {
	int64_t id, first; /* the concern and when its first version was written */
} concern_ref;

typedef struct collect_ctx {
	int64_t school_id;
	concern_ref *v;
	size_t n, cap;
	int failed;
} collect_ctx;

/* Every concern of the school, once, with the time of its first version: all of them, not only
 * the newest the listing returns.  The payloads are not opened here. */
static int collect(void *vctx, const srv_concern *c)
{
	collect_ctx *x = vctx;
	if (c->school_id != x->school_id || c->version != 1)
		return 0;
	if (x->n == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 64;
		concern_ref *v = cap <= (1u << 24) ? realloc(x->v, cap * sizeof *v) : NULL;
		if (!v) {
			x->failed = 1;
			return 1;
		}
		x->v = v;
		x->cap = cap;
	}
	x->v[x->n].id = c->id;
	x->v[x->n++].first = c->created;
	return 0;
}

static int by_first(const void *a, const void *b)
{
	const concern_ref *x = a, *y = b;
	return (x->first > y->first) - (x->first < y->first);
}

/* The case reports of every concern naming the child, oldest first, each showing only this
 * child among those involved.  Caller owns; NULL with a problem answered. */
static json_t *child_file(srv_request *r, json_t *pupil)
{
	srv_store *st = r->srv->store;
	json_t *out = json_array();
	collect_ctx x = {r->user.school_id, NULL, 0, 0, 0};
	if (st->ops->concern_all_versions(st, collect, &x) != WARD_OK || x.failed) {
		free(x.v);
		json_decref(out);
		srv_problem(r, 503, "Store unavailable",
		            "the concerns could not be read; try again");
		return NULL;
	}
	if (x.n)
		qsort(x.v, x.n, sizeof *x.v, by_first);
	for (size_t i = 0; i < x.n; i++) {
		srv_concern c;
		json_t *n = NULL, *ch, *mine = NULL;
		size_t j;
		memset(&c, 0, sizeof c);
		if (st->ops->concern_get(st, r->user.school_id, x.v[i].id, &c) != WARD_OK)
			continue;
		if ((n = case_concern_open(r, &c))) {
			json_array_foreach(json_object_get(n, "children"), j, ch)
			{
				if (same_child(pupil, ch))
					mine = ch;
			}
		}
		if (mine) {
			json_t *rep = case_report(r, &c);
			if (!rep) {
				json_decref(n);
				srv_concern_clear(&c);
				json_decref(out);
				out = NULL;
				break;
			}
			json_object_set_new(rep, "children", json_pack("[O]", mine));
			json_array_append_new(out, rep);
		}
		json_decref(n);
		srv_concern_clear(&c);
	}
	free(x.v);
	return out;
}

/* Entries about the pupil record itself (transfers, receipts). */
static json_t *pupil_entries(srv_request *r, int64_t id)
{
	json_t *all = case_entries(r, 0), *out, *e;
	char ref[64];
	size_t i;
	if (!all)
		return NULL;
	out = json_array();
	snprintf(ref, sizeof ref, "pupil/%lld", (long long)id);
	json_array_foreach(all, i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "ref")), ref) == 0)
			json_array_append(out, e);
	}
	json_decref(all);
	return out;
}

static int by_time(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "recorded_at"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "recorded_at"));
	return (x > y) - (x < y);
}

/* Orders a timeline by the time each entry was recorded (stable for equal times). */
static void sort_by_time(json_t *arr)
{
	size_t n = json_array_size(arr);
	json_t **v = n ? malloc(n * sizeof *v) : NULL;
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	/* insertion sort keeps equal times in their order; timelines are short */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && by_time(&v[j - 1], &v[j]) > 0; j--) {
			json_t *t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
}

static void h_pupil_chronology(srv_request *r)
{
	json_t *p = load_pupil(r), *file, *chron, *rep;
	size_t i, j;
	if (!p)
		return;
	if (!(file = child_file(r, p))) {
		json_decref(p);
		return;
	}
	/* One timeline: the concerns and every entry of theirs, in the order they were recorded. */
	chron = json_array();
	json_array_foreach(file, i, rep)
	{
		json_t *c = json_object_get(rep, "concern"), *e;
		static const char *const keys[] = {"chronology", "decisions", "referrals",
		                                   "custody", NULL};
		json_array_append_new(chron,
		                      json_pack("{s:s, s:O, s:O, s:O, s:O}", "kind", "concern",
		                                "concern_id", json_object_get(c, "id"),
		                                "recorded_at", json_object_get(c, "recorded_at"),
		                                "areas", json_object_get(c, "areas"), "status",
		                                json_object_get(c, "status")));
		for (const char *const *k = keys; *k; k++)
			json_array_foreach(json_object_get(rep, *k), j, e)
			{
				json_t *x = json_deep_copy(e);
				json_object_set(x, "concern_id", json_object_get(c, "id"));
				json_array_append_new(chron, x);
			}
	}
	sort_by_time(chron);
	audit_pupil(r, "pupil.read-chronology");
	srv_reply(r, 200,
	          json_pack("{s:o, s:o, s:o}", "pupil", p, "concerns", file, "chronology", chron));
}

/* Subject access: everything held about the child, other children left out. */
static void h_pupil_export(srv_request *r)
{
	json_t *p = load_pupil(r), *file, *ents;
	if (!p)
		return;
	if (!(file = child_file(r, p))) {
		json_decref(p);
		return;
	}
	if (!(ents = pupil_entries(r, r->ids[0]))) {
		json_decref(p);
		json_decref(file);
		return;
	}
	audit_pupil(r, "pupil.subject-access-export");
	srv_reply(r, 200,
	          json_pack("{s:s, s:I, s:s, s:o, s:o, s:o}", "format", "ward-subject-access-1",
	                    "generated_at", (json_int_t)srv_now(), "generated_by", r->user.username,
	                    "pupil", p, "concerns", file, "record_entries", ents));
}

/* ---- transfer ---- */

static void h_transfer_keys(srv_request *r)
{
	case_keys k;
	case_keys_derive(r->srv->key, r->user.school_id, &k);
	srv_reply(r, 200, json_pack("{s:s, s:s}", "sign_key", k.sign64, "box_key", k.box64));
	sodium_memzero(&k, sizeof k);
}

static const srv_field body_transfer[] = {
    {"recipient_box_key", SRV_F_STRING, 1, 64, NULL},
    {"recipient_school", SRV_F_STRING, 1, 200, NULL},
    {NULL, 0, 0, 0, NULL},
};

/* Sends a child's file: the pupil record and every concern naming the child (only this child
 * among those involved), sealed for the receiving school and signed by this one. */
static void h_transfer(srv_request *r)
{
	char msg[256], hash[CASE_HASH_HEX], ref[64];
	json_t *b = srv_parse_body(r->body, r->body_len, body_transfer, msg, sizeof msg);
	json_t *p = NULL, *file = NULL, *plain = NULL, *bundle = NULL;
	json_int_t now = (json_int_t)srv_now();
	case_keys k;
	case_keys_derive(r->srv->key, r->user.school_id, &k);
	if (!b) {
		srv_problem(r, 400, "Invalid request body", msg);
		goto done;
	}
	if (!(p = load_pupil(r)) || !(file = child_file(r, p)))
		goto done;
	plain = json_pack("{s:s, s:O, s:O, s:I}", "format", "ward-child-file-1", "pupil", p,
	                  "concerns", file, "sent_at", now);
	bundle =
	    plain ? case_bundle_make(&k, json_string_value(json_object_get(b, "recipient_box_key")),
	                             plain, (long long)now, hash)
	          : NULL;
	if (!bundle) {
		srv_problem(r, 400, "Invalid request body",
		            "recipient_box_key must be the receiving school's box key (base64)");
		goto done;
	}
	snprintf(ref, sizeof ref, "pupil/%lld", (long long)r->ids[0]);
	if (case_entry_add(r, 0, "transfer-out", ref,
	                   json_pack("{s:O, s:s, s:I}", "recipient_school",
	                             json_object_get(b, "recipient_school"), "bundle_hash", hash,
	                             "sent_at", now),
	                   "pupil.transfer-out", NULL) != 0)
		goto done;
	srv_reply(r, 201, json_pack("{s:O, s:s}", "bundle", bundle, "bundle_hash", hash));
done:
	sodium_memzero(&k, sizeof k);
	json_decref(bundle);
	json_decref(plain);
	json_decref(file);
	json_decref(p);
	json_decref(b);
}

/* Whether a bundle with this hash was received before: a replayed bundle makes no second
 * record.  1 with a problem answered. */
static int already_received(srv_request *r, const char *hash)
{
	json_t *all = case_entries(r, 0), *e;
	size_t i;
	int seen = 0;
	if (!all)
		return 1;
	json_array_foreach(all, i, e)
	{
		seen |=
		    strcmp(json_string_value(json_object_get(e, "kind")), "transfer-in") == 0 &&
		    strcmp(s_or(json_string_value(json_object_get(e, "bundle_hash"))), hash) == 0;
	}
	json_decref(all);
	if (seen)
		srv_problem(r, 409, "Already received", "this bundle was received before");
	return seen;
}

static const srv_field body_import[] = {
    {"bundle", SRV_F_STRING, 1, 900000, NULL},
    {"sender_sign_key", SRV_F_STRING, 1, 64, NULL},
    {"sender_school", SRV_F_STRING, 1, 200, NULL},
    {NULL, 0, 0, 0, NULL},
};

/* Receives a child's file: checks the sender's signature against the key the school was given
 * out of band, opens it with this school's box key, records the child and the file, and answers
 * with a receipt signed by this school. */
static void h_import(srv_request *r)
{
	char msg[256], hash[CASE_HASH_HEX], ref[64];
	json_t *b = srv_parse_body(r->body, r->body_len, body_import, msg, sizeof msg);
	json_t *file = NULL, *pupil, *rec = NULL;
	json_int_t now = (json_int_t)srv_now();
	ward_status st;
	case_keys k;
	case_keys_derive(r->srv->key, r->user.school_id, &k);
	if (!b) {
		srv_problem(r, 400, "Invalid request body", msg);
		goto done;
	}
	const char *text = json_string_value(json_object_get(b, "bundle"));
	st = case_bundle_open(text, strlen(text),
	                      json_string_value(json_object_get(b, "sender_sign_key")), &k, &file,
	                      hash, msg, sizeof msg);
	if (st != WARD_OK) {
		srv_problem(r, st == WARD_ENOMEM ? 500 : 422,
		            st == WARD_EINVAL ? "Signature refused" : "Bundle refused", msg);
		goto done;
	}
	if (already_received(r, hash))
		goto done;
	pupil = json_object_get(file, "pupil");
	json_object_set(pupil, "transferred_from", json_object_get(b, "sender_school"));
	if (pupil_create(r, pupil, "pupil.transfer-in", &rec) != 0)
		goto done;
	snprintf(ref, sizeof ref, "pupil/%lld",
	         (long long)json_integer_value(json_object_get(rec, "id")));
	if (case_entry_add(r, 0, "transfer-in", ref,
	                   json_pack("{s:O, s:s, s:I, s:O}", "sender_school",
	                             json_object_get(b, "sender_school"), "bundle_hash", hash,
	                             "received_at", now, "file", json_object_get(file, "concerns")),
	                   "pupil.transfer-in", NULL) != 0)
		goto done;
	srv_reply(r, 201,
	          json_pack("{s:O, s:o}", "pupil", rec, "receipt",
	                    case_receipt_make(&k, hash, (long long)now)));
done:
	sodium_memzero(&k, sizeof k);
	json_decref(rec);
	json_decref(file);
	json_decref(b);
}

static const srv_field body_receipt[] = {
    {"receipt", SRV_F_STRING, 1, 4000, NULL},
    {"recipient_sign_key", SRV_F_STRING, 1, 64, NULL},
    {NULL, 0, 0, 0, NULL},
};

/* Records the receiving school's receipt against the transfer it answers. */
static void h_receipt(srv_request *r)
{
	char msg[256], ref[64], hash[CASE_HASH_HEX];
	json_t *b = srv_parse_body(r->body, r->body_len, body_receipt, msg, sizeof msg);
	json_t *ents = NULL, *e, *p = NULL;
	long long at = 0;
	size_t i;
	int matched = 0;
	if (!b) {
		srv_problem(r, 400, "Invalid request body", msg);
		return;
	}
	const char *text = json_string_value(json_object_get(b, "receipt"));
	if (!(p = load_pupil(r)))
		goto done;
	if (case_receipt_check(text, strlen(text),
	                       json_string_value(json_object_get(b, "recipient_sign_key")), hash,
	                       &at, msg, sizeof msg) != WARD_OK) {
		srv_problem(r, 422, "Receipt refused", msg);
		goto done;
	}
	if (!(ents = pupil_entries(r, r->ids[0])))
		goto done;
	json_array_foreach(ents, i, e)
	{
		matched |=
		    strcmp(json_string_value(json_object_get(e, "kind")), "transfer-out") == 0 &&
		    strcmp(s_or(json_string_value(json_object_get(e, "bundle_hash"))), hash) == 0;
	}
	if (!matched) {
		srv_problem(r, 409, "No such transfer",
		            "the receipt answers no transfer of this child's file");
		goto done;
	}
	snprintf(ref, sizeof ref, "pupil/%lld", (long long)r->ids[0]);
	if (case_entry_add(r, 0, "receipt", ref,
	                   json_pack("{s:s, s:I, s:s}", "bundle_hash", hash, "received_at",
	                             (json_int_t)at, "receipt", text),
	                   "pupil.transfer-receipt", NULL) == 0)
		srv_reply(r, 201,
		          json_pack("{s:s, s:s, s:I}", "status", "received", "bundle_hash", hash,
		                    "received_at", (json_int_t)at));
done:
	json_decref(p);
	json_decref(ents);
	json_decref(b);
}

static const srv_route routes[] = {
    {"GET", "/api/v1/pupils", h_pupil_list, SRV_DSL_TEAM, "list pupil records"},
    {"POST", "/api/v1/pupils", h_pupil_create, SRV_DSL_TEAM, "add a pupil record"},
    {"GET", "/api/v1/pupils/review", h_pupil_review, SRV_DSL_TEAM,
     "records past the child's 25th birthday, for review"},
    {"GET", "/api/v1/pupils/{id}", h_pupil_get, SRV_DSL_TEAM, "read a pupil record"},
    {"GET", "/api/v1/pupils/{id}/chronology", h_pupil_chronology, SRV_DSL_TEAM,
     "a child's chronology across concerns"},
    {"GET", "/api/v1/pupils/{id}/export", h_pupil_export, SRV_DSL_TEAM,
     "subject access export of a child's record"},
    {"POST", "/api/v1/pupils/{id}/transfer", h_transfer, SRV_DSL_TEAM,
     "a child's file as a signed, sealed bundle for another school"},
    {"POST", "/api/v1/pupils/{id}/transfer/receipt", h_receipt, SRV_DSL_TEAM,
     "record the receiving school's signed receipt"},
    {"GET", "/api/v1/transfer-keys", h_transfer_keys, SRV_DSL_TEAM,
     "this school's public keys for transfers"},
    {"POST", "/api/v1/transfers", h_import, SRV_DSL_TEAM,
     "receive a child's file from another school"},
    {NULL, NULL, NULL, 0, NULL},
};

const srv_module srv_module_pupils = {"pupils", routes, NULL, NULL};
