/* api.c: wardd's HTTP API on libmicrohttpd.  One route table says which handler serves which
 * method and path and which roles may call it; dispatch, access checks, CSRF checks and the
 * problem+json errors are done here once, so a handler only does its own work. */
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>
#include <sodium.h>

#include "api.h"
#include "validate.h"

#define COOKIE "ward_session"
#define MAX_SEGMENTS 8
#define THROTTLE_SLOTS 256
#define THROTTLE_FAILS 5
#define THROTTLE_WINDOW 900

typedef struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	unsigned char data[];
} arena_block;

/* Per-request memory: everything a request allocates is freed in one go when it ends. */
typedef struct arena {
	arena_block *head;
	size_t total;
} arena;

#define ARENA_MAX (64u << 20)

static void *arena_alloc(arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (!a->head || a->head->cap - a->head->used < n) {
		size_t cap = n > 8192 ? n : 8192;
		arena_block *b;
		if (a->total + cap > ARENA_MAX)
			return NULL;
		b = malloc(sizeof *b + cap);
		if (!b)
			return NULL;
		b->next = a->head;
		b->used = 0;
		b->cap = cap;
		a->head = b;
		a->total += cap;
	}
	void *p = a->head->data + a->head->used;
	a->head->used += n;
	return p;
}

static void arena_free(arena *a)
{
	while (a->head) {
		arena_block *n = a->head->next;
		free(a->head);
		a->head = n;
	}
	a->total = 0;
}

typedef struct throttle_slot {
	char key[300];
	int fails;
	int64_t first;
} throttle_slot;

struct srv_server {
	struct MHD_Daemon *d;
	srv_config cfg;
	srv_store *store;
	unsigned char key[SRV_KEY_LEN];
	pthread_mutex_t tmu;
	throttle_slot throttle[THROTTLE_SLOTS];
	int64_t started;
	atomic_uint_fast64_t n_requests, n_2xx, n_4xx, n_5xx, n_concerns, n_signin_fail;
};

struct srv_request {
	srv_server *srv;
	struct MHD_Connection *conn;
	arena mem;
	const char *method, *url;
	char *body;
	size_t body_len, body_cap;
	int too_big;
	int64_t ids[MAX_SEGMENTS];
	int n_ids;
	char client[64];
	/* the caller, when signed in */
	int signed_in;
	srv_user user;
	srv_session session;
	/* the answer */
	unsigned status;
	json_t *json;
	const char *text, *content_type;
	char set_cookie[256];
	char location[64];
};

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* Sets an RFC 9457 problem as the answer. */
static void problem(srv_request *r, unsigned status, const char *title, const char *detail)
{
	char type[64];
	json_decref(r->json);
	snprintf(type, sizeof type, "about:blank");
	r->status = status;
	r->content_type = "application/problem+json";
	r->json = json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title", title, "status",
	                    (int)status, "detail", detail ? detail : title);
}

static void reply(srv_request *r, unsigned status, json_t *j)
{
	json_decref(r->json);
	r->status = status;
	r->json = j;
	r->content_type = "application/json";
}

static void audit(srv_request *r, const char *action, const char *target)
{
	srv_audit_in a = {r->user.school_id, r->user.id, action, target, r->client};
	if (r->srv->store->ops->audit_append(r->srv->store, &a) != WARD_OK)
		fprintf(stderr, "wardd: audit append failed: %s\n", r->srv->store->err);
}

static void b64(const unsigned char *in, size_t n, char *out, size_t cap)
{
	sodium_bin2base64(out, cap, in, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void token_hash(const char *token, unsigned char out[SRV_HASH_LEN])
{
	crypto_generichash(out, SRV_HASH_LEN, (const unsigned char *)token, strlen(token), NULL, 0);
}

/* ---- sign-in throttling: a few failures per school and name, then wait ---- */

static throttle_slot *throttle_find(srv_server *s, const char *key)
{
	uint64_t h = 1469598103934665603ull;
	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return &s->throttle[h % THROTTLE_SLOTS];
}

static int throttled(srv_server *s, const char *key)
{
	int t = 0;
	pthread_mutex_lock(&s->tmu);
	throttle_slot *sl = throttle_find(s, key);
	if (strcmp(sl->key, key) == 0 && sl->fails >= THROTTLE_FAILS &&
	    now_s() - sl->first < THROTTLE_WINDOW)
		t = 1;
	pthread_mutex_unlock(&s->tmu);
	return t;
}

static void throttle_note(srv_server *s, const char *key, int ok)
{
	pthread_mutex_lock(&s->tmu);
	throttle_slot *sl = throttle_find(s, key);
	if (ok) {
		if (strcmp(sl->key, key) == 0)
			memset(sl, 0, sizeof *sl);
	} else {
		if (strcmp(sl->key, key) != 0 || now_s() - sl->first >= THROTTLE_WINDOW) {
			snprintf(sl->key, sizeof sl->key, "%s", key);
			sl->fails = 0;
			sl->first = now_s();
		}
		sl->fails++;
	}
	pthread_mutex_unlock(&s->tmu);
}

/* ---- handlers ---- */

static void h_healthz(srv_request *r)
{
	reply(r, 200, json_pack("{s:s}", "status", "ok"));
}

static void h_metrics(srv_request *r)
{
	srv_server *s = r->srv;
	size_t cap = 2048;
	char *buf = arena_alloc(&r->mem, cap);
	if (!buf) {
		problem(r, 500, "Out of memory", NULL);
		return;
	}
	snprintf(buf, cap,
	         "# HELP wardd_requests_total HTTP requests answered.\n"
	         "# TYPE wardd_requests_total counter\n"
	         "wardd_requests_total{class=\"2xx\"} %llu\n"
	         "wardd_requests_total{class=\"4xx\"} %llu\n"
	         "wardd_requests_total{class=\"5xx\"} %llu\n"
	         "# HELP wardd_concerns_created_total Concerns created since start.\n"
	         "# TYPE wardd_concerns_created_total counter\n"
	         "wardd_concerns_created_total %llu\n"
	         "# HELP wardd_signin_failures_total Refused sign-ins since start.\n"
	         "# TYPE wardd_signin_failures_total counter\n"
	         "wardd_signin_failures_total %llu\n"
	         "# HELP wardd_uptime_seconds Seconds since wardd started.\n"
	         "# TYPE wardd_uptime_seconds gauge\n"
	         "wardd_uptime_seconds %lld\n",
	         (unsigned long long)s->n_2xx, (unsigned long long)s->n_4xx,
	         (unsigned long long)s->n_5xx, (unsigned long long)s->n_concerns,
	         (unsigned long long)s->n_signin_fail, (long long)(now_s() - s->started));
	r->status = 200;
	r->text = buf;
	r->content_type = "text/plain; version=0.0.4";
}

static json_t *user_json(const srv_user *u)
{
	return json_pack("{s:I, s:I, s:s, s:s}", "id", (json_int_t)u->id, "school_id",
	                 (json_int_t)u->school_id, "username", u->username, "role",
	                 srv_role_name(u->role));
}

static void h_session_create(srv_request *r)
{
	char msg[256], tkey[280];
	json_t *b = srv_parse_body(r->body, r->body_len, srv_body_session, msg, sizeof msg);
	srv_user u;
	int64_t school = 0;
	srv_store *st = r->srv->store;
	if (!b) {
		problem(r, 400, "Invalid request body", msg);
		return;
	}
	const char *school_name = json_string_value(json_object_get(b, "school"));
	const char *name = json_string_value(json_object_get(b, "username"));
	const char *pw = json_string_value(json_object_get(b, "password"));
	snprintf(tkey, sizeof tkey, "%s\n%s", school_name, name);
	if (throttled(r->srv, tkey)) {
		problem(r, 429, "Too many attempts",
		        "too many failed sign-ins for this account; wait 15 minutes and try again");
		goto done;
	}
	if (st->ops->school_find(st, school_name, &school) != WARD_OK ||
	    st->ops->user_find(st, school, name, &u) != WARD_OK || u.disabled ||
	    !srv_password_check(u.pwhash, pw)) {
		throttle_note(r->srv, tkey, 0);
		r->srv->n_signin_fail++;
		problem(r, 401, "Sign-in refused", "the school, name or password is not right");
		goto done;
	}
	throttle_note(r->srv, tkey, 1);
	{
		unsigned char raw[32], craw[24];
		char token[64];
		srv_session se;
		memset(&se, 0, sizeof se);
		randombytes_buf(raw, sizeof raw);
		randombytes_buf(craw, sizeof craw);
		b64(raw, sizeof raw, token, sizeof token);
		b64(craw, sizeof craw, se.csrf, sizeof se.csrf);
		token_hash(token, se.token_hash);
		se.user_id = u.id;
		se.school_id = u.school_id;
		se.created = se.last_seen = now_s();
		if (st->ops->session_put(st, &se) != WARD_OK) {
			problem(r, 503, "Store unavailable", "the session could not be saved; try again");
			goto done;
		}
		snprintf(r->set_cookie, sizeof r->set_cookie,
		         COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s", token,
		         (long long)r->srv->cfg.session_max, r->srv->cfg.secure_cookies ? "; Secure" : "");
		r->user = u;
		audit(r, "session.create", "session");
		reply(r, 201, json_pack("{s:o, s:s}", "user", user_json(&u), "csrf_token", se.csrf));
	}
done:
	json_decref(b);
}

static void h_session_get(srv_request *r)
{
	reply(r, 200, json_pack("{s:o, s:s}", "user", user_json(&r->user), "csrf_token",
	                        r->session.csrf));
}

static void h_session_delete(srv_request *r)
{
	r->srv->store->ops->session_delete(r->srv->store, r->session.token_hash);
	audit(r, "session.delete", "session");
	snprintf(r->set_cookie, sizeof r->set_cookie,
	         COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
	r->status = 204;
}

static void h_user_create(srv_request *r)
{
	char msg[256];
	srv_user u;
	int64_t id = 0;
	json_t *b = srv_parse_body(r->body, r->body_len, srv_body_user, msg, sizeof msg);
	srv_audit_in a = {r->user.school_id, r->user.id, "user.create", NULL, r->client};
	if (!b) {
		problem(r, 400, "Invalid request body", msg);
		return;
	}
	memset(&u, 0, sizeof u);
	u.school_id = r->user.school_id;
	snprintf(u.username, sizeof u.username, "%s", json_string_value(json_object_get(b, "username")));
	u.role = (srv_role)srv_role_from_name(json_string_value(json_object_get(b, "role")));
	const char *pw = json_string_value(json_object_get(b, "password"));
	if (strlen(pw) < 12) {
		problem(r, 400, "Password too short", "a password needs at least 12 characters");
	} else if (srv_password_hash(pw, u.pwhash) != WARD_OK) {
		problem(r, 500, "Out of memory", "the password could not be hashed");
	} else if (r->srv->store->ops->user_create(r->srv->store, &u, &a, &id) != WARD_OK) {
		problem(r, 409, "Name taken", "an account with that name already exists in this school");
	} else {
		u.id = id;
		reply(r, 201, user_json(&u));
	}
	json_decref(b);
}

static int user_add(void *ctx, const srv_user *u)
{
	json_array_append_new(ctx, user_json(u));
	return 0;
}

static void h_user_list(srv_request *r)
{
	json_t *a = json_array();
	r->srv->store->ops->user_list(r->srv->store, r->user.school_id, user_add, a);
	reply(r, 200, json_pack("{s:o}", "users", a));
}

static int is_dsl_team(const srv_request *r)
{
	return r->user.role == SRV_ROLE_DSL || r->user.role == SRV_ROLE_DEPUTY_DSL;
}

static void concern_ad(const srv_concern *c, char *ad, size_t cap)
{
	snprintf(ad, cap, "concern/%lld/school/%lld", (long long)c->id, (long long)c->school_id);
}

/* The API's view of one concern version: the row's fields plus its opened payload.  NULL when
 * the payload does not open (altered, or another key). */
static json_t *concern_json(srv_request *r, const srv_concern *c)
{
	char ad[96], *plain = NULL;
	json_t *p, *o;
	concern_ad(c, ad, sizeof ad);
	if (srv_open(r->srv->key, ad, c->payload, c->payload_len, &plain) != WARD_OK)
		return NULL;
	p = json_loads(plain, 0, NULL);
	sodium_memzero(plain, strlen(plain));
	free(plain);
	if (!p)
		return NULL;
	o = json_pack("{s:I, s:I, s:I, s:s, s:I}", "id", (json_int_t)c->id, "version",
	              (json_int_t)c->version, "reporter_id", (json_int_t)c->reporter_id, "status",
	              c->status, "recorded_at", (json_int_t)c->created);
	json_object_update(o, p);
	json_decref(p);
	return o;
}

/* Seals the narrative fields of b into c's payload. */
static ward_status seal_payload(srv_request *r, srv_concern *c, json_t *narrative)
{
	char ad[96];
	char *plain = json_dumps(narrative, JSON_COMPACT);
	ward_status st;
	if (!plain)
		return WARD_ENOMEM;
	concern_ad(c, ad, sizeof ad);
	st = srv_seal(r->srv->key, ad, plain, strlen(plain), &c->payload, &c->payload_len);
	sodium_memzero(plain, strlen(plain));
	free(plain);
	return st;
}

static void h_concern_create(srv_request *r)
{
	char msg[256], target[64];
	srv_concern c;
	json_t *b = srv_parse_body(r->body, r->body_len, srv_body_concern, msg, sizeof msg);
	srv_audit_in a = {r->user.school_id, r->user.id, "concern.create", NULL, r->client};
	memset(&c, 0, sizeof c);
	if (!b) {
		problem(r, 400, "Invalid request body", msg);
		return;
	}
	/* Ids are random 48-bit numbers so sealing can bind the id before the row exists. */
	randombytes_buf(&c.id, sizeof c.id);
	c.id = (int64_t)((uint64_t)c.id & 0xffffffffffffull);
	if (c.id == 0)
		c.id = 1;
	c.version = 1;
	c.school_id = r->user.school_id;
	c.reporter_id = r->user.id;
	snprintf(c.status, sizeof c.status, "new");
	if (seal_payload(r, &c, b) != WARD_OK) {
		problem(r, 500, "Out of memory", NULL);
	} else if (r->srv->store->ops->concern_put(r->srv->store, &c, &a) != WARD_OK) {
		problem(r, 503, "Store unavailable",
		        "the concern could not be saved; it has not been recorded, so send it again");
	} else {
		json_t *o = concern_json(r, &c);
		r->srv->n_concerns++;
		snprintf(r->location, sizeof r->location, "/api/v1/concerns/%lld", (long long)c.id);
		(void)target;
		if (o)
			reply(r, 201, o);
		else
			problem(r, 500, "Internal error", "the saved concern could not be read back");
	}
	srv_concern_clear(&c);
	json_decref(b);
}

/* Loads concern ids[0] for the caller; staff only see their own.  Answers 404 otherwise, so
 * that nobody learns whether someone else's concern exists. */
static int load_concern(srv_request *r, srv_concern *c)
{
	if (r->srv->store->ops->concern_get(r->srv->store, r->user.school_id, r->ids[0], c) !=
	        WARD_OK ||
	    (!is_dsl_team(r) && c->reporter_id != r->user.id)) {
		srv_concern_clear(c);
		problem(r, 404, "Not found", "no concern with that id that you may read");
		return 0;
	}
	return 1;
}

static void h_concern_get(srv_request *r)
{
	srv_concern c;
	char target[64];
	memset(&c, 0, sizeof c);
	if (!load_concern(r, &c))
		return;
	snprintf(target, sizeof target, "concern/%lld", (long long)c.id);
	audit(r, "concern.read", target);
	json_t *o = concern_json(r, &c);
	if (o)
		reply(r, 200, o);
	else
		problem(r, 500, "Record unreadable",
		        "the stored concern does not open with this key; run ward admin audit verify");
	srv_concern_clear(&c);
}

typedef struct list_ctx {
	srv_request *r;
	json_t *arr;
} list_ctx;

static int concern_add(void *vctx, const srv_concern *c)
{
	list_ctx *l = vctx;
	json_t *o = concern_json(l->r, c);
	if (!o)
		o = json_pack("{s:I, s:I, s:s, s:b}", "id", (json_int_t)c->id, "version",
		              (json_int_t)c->version, "status", c->status, "unreadable", 1);
	json_array_append_new(l->arr, o);
	return 0;
}

static void h_concern_list(srv_request *r)
{
	list_ctx l = {r, json_array()};
	r->srv->store->ops->concern_list(r->srv->store, r->user.school_id,
	                                 is_dsl_team(r) ? 0 : r->user.id, concern_add, &l);
	audit(r, "concern.list", "concerns");
	reply(r, 200, json_pack("{s:o}", "concerns", l.arr));
}

static void h_concern_versions(srv_request *r)
{
	srv_concern c;
	char target[64];
	list_ctx l = {r, NULL};
	memset(&c, 0, sizeof c);
	if (!load_concern(r, &c))
		return;
	srv_concern_clear(&c);
	l.arr = json_array();
	r->srv->store->ops->concern_versions(r->srv->store, r->user.school_id, r->ids[0],
	                                     concern_add, &l);
	snprintf(target, sizeof target, "concern/%lld", (long long)r->ids[0]);
	audit(r, "concern.read-versions", target);
	reply(r, 200, json_pack("{s:o}", "versions", l.arr));
}

static void h_concern_update(srv_request *r)
{
	char msg[256], ad[96], *plain = NULL;
	srv_concern c, n;
	json_t *b, *p = NULL;
	srv_audit_in a = {r->user.school_id, r->user.id, "concern.update", NULL, r->client};
	memset(&c, 0, sizeof c);
	memset(&n, 0, sizeof n);
	b = srv_parse_body(r->body, r->body_len, srv_body_concern_update, msg, sizeof msg);
	if (!b) {
		problem(r, 400, "Invalid request body", msg);
		return;
	}
	if (!load_concern(r, &c))
		goto done;
	if (json_integer_value(json_object_get(b, "version")) != c.version) {
		problem(r, 409, "Version conflict",
		        "the concern has changed since you read it; read it again and reapply");
		goto done;
	}
	concern_ad(&c, ad, sizeof ad);
	if (srv_open(r->srv->key, ad, c.payload, c.payload_len, &plain) != WARD_OK ||
	    !(p = json_loads(plain, 0, NULL))) {
		problem(r, 500, "Record unreadable", "the stored concern does not open with this key");
		goto done;
	}
	n.id = c.id;
	n.version = c.version + 1;
	n.school_id = c.school_id;
	n.reporter_id = c.reporter_id;
	snprintf(n.status, sizeof n.status, "%s",
	         json_object_get(b, "status") ? json_string_value(json_object_get(b, "status"))
	                                      : c.status);
	json_object_del(b, "version");
	json_object_del(b, "status");
	json_object_update(p, b);
	if (seal_payload(r, &n, p) != WARD_OK) {
		problem(r, 500, "Out of memory", NULL);
	} else if (r->srv->store->ops->concern_put(r->srv->store, &n, &a) != WARD_OK) {
		problem(r, 409, "Version conflict", r->srv->store->err);
	} else {
		json_t *o = concern_json(r, &n);
		if (o)
			reply(r, 200, o);
		else
			problem(r, 500, "Internal error", NULL);
	}
done:
	if (plain) {
		sodium_memzero(plain, strlen(plain));
		free(plain);
	}
	json_decref(p);
	json_decref(b);
	srv_concern_clear(&c);
	srv_concern_clear(&n);
}

static int audit_add(void *ctx, const srv_audit *a)
{
	char h[2 * SRV_HASH_LEN + 1];
	sodium_bin2hex(h, sizeof h, a->hash, SRV_HASH_LEN);
	json_array_append_new(ctx, json_pack("{s:I, s:I, s:I, s:s, s:s, s:s, s:s}", "seq",
	                                     (json_int_t)a->seq, "at", (json_int_t)a->at, "actor_id",
	                                     (json_int_t)a->actor_id, "action", a->action, "target",
	                                     a->target, "source", a->source, "hash", h));
	return 0;
}

static void h_audit_list(srv_request *r)
{
	const char *after = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "after");
	long long from = 0;
	char *end = NULL;
	if (after) {
		from = strtoll(after, &end, 10);
		if (!*after || *end || from < 0) {
			problem(r, 400, "Invalid query", "after must be a whole number");
			return;
		}
	}
	json_t *a = json_array();
	r->srv->store->ops->audit_list(r->srv->store, r->user.school_id, from, 500, audit_add, a);
	reply(r, 200, json_pack("{s:o}", "entries", a));
}

static void h_audit_verify(srv_request *r)
{
	char msg[256];
	int64_t n = 0;
	ward_status st = srv_audit_verify(r->srv->store, msg, sizeof msg, &n);
	audit(r, "audit.verify", "audit");
	reply(r, 200, json_pack("{s:b, s:I, s:s}", "intact", st == WARD_OK, "entries",
	                        (json_int_t)n, "detail", msg));
}

#define DSL_TEAM (SRV_R(SRV_ROLE_DSL) | SRV_R(SRV_ROLE_DEPUTY_DSL))
#define REPORTERS (SRV_R(SRV_ROLE_STAFF) | DSL_TEAM)

const srv_route srv_routes[] = {
	{"GET", "/healthz", h_healthz, SRV_ANON, "liveness"},
	{"GET", "/metrics", h_metrics, SRV_ANON, "Prometheus metrics"},
	{"POST", "/api/v1/session", h_session_create, SRV_ANON, "sign in"},
	{"GET", "/api/v1/session", h_session_get, SRV_ANY, "who am I, and my CSRF token"},
	{"DELETE", "/api/v1/session", h_session_delete, SRV_ANY, "sign out"},
	{"GET", "/api/v1/users", h_user_list, SRV_R(SRV_ROLE_ADMIN), "list accounts"},
	{"POST", "/api/v1/users", h_user_create, SRV_R(SRV_ROLE_ADMIN), "create an account"},
	{"GET", "/api/v1/concerns", h_concern_list, REPORTERS, "list concerns I may read"},
	{"POST", "/api/v1/concerns", h_concern_create, REPORTERS, "raise a concern"},
	{"GET", "/api/v1/concerns/{id}", h_concern_get, REPORTERS, "read a concern"},
	{"PATCH", "/api/v1/concerns/{id}", h_concern_update, DSL_TEAM,
	 "change a concern (a new version)"},
	{"GET", "/api/v1/concerns/{id}/versions", h_concern_versions, DSL_TEAM,
	 "every version of a concern"},
	{"GET", "/api/v1/audit", h_audit_list, SRV_R(SRV_ROLE_AUDITOR), "read the audit log"},
	{"GET", "/api/v1/audit/verify", h_audit_verify, SRV_R(SRV_ROLE_AUDITOR),
	 "verify the audit chain"},
	{NULL, NULL, NULL, 0, NULL},
};

/* ---- dispatch ---- */

/* Matches url against a route path, filling r->ids.  Ids are 1 to 15 decimal digits. */
static int path_match(const char *pat, const char *url, srv_request *r)
{
	r->n_ids = 0;
	while (*pat && *url) {
		if (strncmp(pat, "{id}", 4) == 0) {
			int64_t v = 0;
			int n = 0;
			while (url[n] >= '0' && url[n] <= '9' && n < 16)
				v = v * 10 + (url[n++] - '0');
			if (n == 0 || n > 15 || r->n_ids >= MAX_SEGMENTS)
				return 0;
			r->ids[r->n_ids++] = v;
			url += n;
			pat += 4;
		} else if (*pat++ != *url++) {
			return 0;
		}
	}
	return *pat == '\0' && *url == '\0';
}

/* Resolves the session cookie; 1 when signed in with a live session. */
static int authenticate(srv_request *r)
{
	const char *tok = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, COOKIE);
	unsigned char th[SRV_HASH_LEN];
	srv_store *st = r->srv->store;
	int64_t now = now_s();
	if (!tok || strlen(tok) > 64 || !*tok)
		return 0;
	token_hash(tok, th);
	if (st->ops->session_get(st, th, &r->session) != WARD_OK)
		return 0;
	if (now - r->session.last_seen > r->srv->cfg.idle_timeout ||
	    now - r->session.created > r->srv->cfg.session_max) {
		st->ops->session_delete(st, th);
		return 0;
	}
	if (st->ops->user_get(st, r->session.user_id, &r->user) != WARD_OK || r->user.disabled)
		return 0;
	/* Touch at most once a minute: reads stay reads. */
	if (now - r->session.last_seen >= 60)
		st->ops->session_touch(st, th, now);
	return 1;
}

static int state_changing(const char *m)
{
	return strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0;
}

static void dispatch(srv_request *r)
{
	const srv_route *rt, *hit = NULL;
	int path_ok = 0;
	if (r->too_big) {
		char d[128];
		snprintf(d, sizeof d, "the body is larger than the limit of %zu bytes",
		         r->srv->cfg.max_body);
		problem(r, 413, "Body too large", d);
		return;
	}
	for (rt = srv_routes; rt->method; rt++) {
		if (!path_match(rt->path, r->url, r))
			continue;
		path_ok = 1;
		if (strcmp(rt->method, r->method) == 0) {
			hit = rt;
			break;
		}
	}
	if (!hit) {
		if (path_ok)
			problem(r, 405, "Method not allowed", "this path does not accept that method");
		else
			problem(r, 404, "Not found", "no such path");
		return;
	}
	if (!(hit->roles & SRV_ANON)) {
		r->signed_in = authenticate(r);
		if (!r->signed_in) {
			problem(r, 401, "Sign-in needed", "sign in first (POST /api/v1/session)");
			return;
		}
		if (!(hit->roles & SRV_R(r->user.role))) {
			problem(r, 403, "Not allowed", "your role may not do this");
			return;
		}
		if (state_changing(r->method)) {
			const char *t = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-CSRF-Token");
			if (!t || strlen(t) != strlen(r->session.csrf) ||
			    sodium_memcmp(t, r->session.csrf, strlen(t)) != 0) {
				problem(r, 403, "CSRF token missing or wrong",
				        "send the csrf_token from GET /api/v1/session in the X-CSRF-Token header");
				return;
			}
		}
	}
	if (state_changing(r->method) && r->body_len > 0) {
		const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
		if (!ct || strncmp(ct, "application/json", 16) != 0) {
			problem(r, 415, "Unsupported media type", "send the body as application/json");
			return;
		}
	}
	r->n_ids = 0;
	path_match(hit->path, r->url, r);
	hit->handler(r);
}

static enum MHD_Result respond(srv_request *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *dump = NULL;
	const char *body = "";
	size_t len = 0;
	if (r->status == 0)
		problem(r, 500, "Internal error", "the handler gave no answer");
	if (r->json) {
		dump = json_dumps(r->json, JSON_COMPACT);
		body = dump ? dump : "";
		len = strlen(body);
	} else if (r->text) {
		body = r->text;
		len = strlen(body);
	}
	resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	free(dump);
	if (!resp)
		return MHD_NO;
	if (r->content_type)
		MHD_add_response_header(resp, "Content-Type", r->content_type);
	if (r->set_cookie[0])
		MHD_add_response_header(resp, "Set-Cookie", r->set_cookie);
	if (r->location[0])
		MHD_add_response_header(resp, "Location", r->location);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Content-Security-Policy", "default-src 'none'");
	ret = MHD_queue_response(r->conn, r->status, resp);
	MHD_destroy_response(resp);
	r->srv->n_requests++;
	if (r->status < 300)
		r->srv->n_2xx++;
	else if (r->status < 500)
		r->srv->n_4xx++;
	else
		r->srv->n_5xx++;
	return ret;
}

static void client_addr(struct MHD_Connection *c, char *out, size_t cap)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(out, cap, "unknown");
	if (ci && ci->client_addr) {
		socklen_t len = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
		                                                       : sizeof(struct sockaddr_in);
		getnameinfo(ci->client_addr, len, out, (socklen_t)cap, NULL, 0, NI_NUMERICHOST);
	}
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
	srv_server *s = cls;
	srv_request *r = *con_cls;
	(void)version;
	if (!r) {
		r = calloc(1, sizeof *r);
		if (!r)
			return MHD_NO;
		r->srv = s;
		r->conn = conn;
		r->method = method;
		r->url = url;
		client_addr(conn, r->client, sizeof r->client);
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (r->too_big || r->body_len + n > s->cfg.max_body) {
			r->too_big = 1;
			return MHD_YES;
		}
		if (r->body_len + n + 1 > r->body_cap) {
			size_t cap = r->body_cap ? r->body_cap * 2 : 4096;
			while (cap < r->body_len + n + 1)
				cap *= 2;
			char *nb = arena_alloc(&r->mem, cap);
			if (!nb) {
				r->too_big = 1;
				return MHD_YES;
			}
			if (r->body_len)
				memcpy(nb, r->body, r->body_len);
			r->body = nb;
			r->body_cap = cap;
		}
		memcpy(r->body + r->body_len, upload, n);
		r->body_len += n;
		r->body[r->body_len] = '\0';
		return MHD_YES;
	}
	dispatch(r);
	return respond(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	srv_request *r = *con_cls;
	(void)cls;
	(void)conn;
	(void)toe;
	if (!r)
		return;
	json_decref(r->json);
	if (r->body)
		sodium_memzero(r->body, r->body_len);
	arena_free(&r->mem);
	free(r);
	*con_cls = NULL;
}

ward_status srv_server_start(const srv_config *c, srv_store *store,
                             const unsigned char key[SRV_KEY_LEN], srv_server **out)
{
	srv_server *s = calloc(1, sizeof *s);
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	*out = NULL;
	if (!s)
		return WARD_ENOMEM;
	s->cfg = *c;
	s->store = store;
	memcpy(s->key, key, SRV_KEY_LEN);
	s->started = now_s();
	pthread_mutex_init(&s->tmu, NULL);
	memset(&ss, 0, sizeof ss);
	if (strchr(c->listen, ':')) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)c->port);
		if (inet_pton(AF_INET6, c->listen, &a6->sin6_addr) != 1)
			goto bad;
		sl = sizeof *a6;
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)c->port);
		if (inet_pton(AF_INET, c->listen, &a4->sin_addr) != 1)
			goto bad;
		sl = sizeof *a4;
	}
	(void)sl;
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL_LINUX_ONLY |
	                            MHD_USE_ERROR_LOG | (strchr(c->listen, ':') ? MHD_USE_IPv6 : 0),
	                        (uint16_t)c->port, NULL, NULL, on_request, s,
	                        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	                        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)c->threads,
	                        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	                        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
	                        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024),
	                        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1, MHD_OPTION_END);
	if (!s->d) {
		fprintf(stderr, "wardd: cannot listen on %s port %u\n", c->listen, c->port);
		free(s);
		return WARD_EIO;
	}
	*out = s;
	return WARD_OK;
bad:
	fprintf(stderr, "wardd: listen address %s is not an IP address\n", c->listen);
	free(s);
	return WARD_EINVAL;
}

void srv_server_stop(srv_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->d);
	pthread_mutex_destroy(&s->tmu);
	sodium_memzero(s->key, sizeof s->key);
	free(s);
}
