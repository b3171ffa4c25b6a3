/* core.c: wardd's core routes: health and metrics, sign-in and sessions, accounts, concerns
 * with their versions, and the audit log. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "cases.h" /* srv_case_close_refused, srv_case_close_put */
#include "http.h"
#include "store_throttle.h"
#include "totp.h"
#include "validate.h"

#define THROTTLE_FAILS  5
#define THROTTLE_WINDOW 900

static void b64(const unsigned char *in, size_t n, char *out, size_t cap)
{
	sodium_bin2base64(out, cap, in, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* ---- sign-in throttling: a few failures per school and name, then wait ---- */

/* The account as the throttle knows it: BLAKE2b of the name as typed, keyed with the server's
 * key, so the database holds no typed name (a password typed into the name field would
 * otherwise sit there) and every wardd sharing the key and the database agrees on it. */
static void throttle_hash(const srv_server *s, const char *name, unsigned char out[SRV_HASH_LEN])
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, s->key, SRV_KEY_LEN, SRV_HASH_LEN);
	srv_hash_str(&h, "ward sign-in throttle");
	srv_hash_str(&h, name);
	crypto_generichash_final(&h, out, SRV_HASH_LEN);
}

/* ---- handlers ---- */

static void h_healthz(srv_request *r)
{
	srv_reply(r, 200, json_pack("{s:s}", "status", "ok"));
}

static void h_metrics(srv_request *r)
{
	srv_server *s = r->srv;
	size_t cap = 2048;
	char *buf = srv_alloc(r, cap);
	if (!buf) {
		srv_problem(r, 500, "Out of memory", NULL);
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
	         (unsigned long long)s->n_signin_fail, (long long)(srv_now() - s->started));
	r->status = 200;
	r->text = buf;
	r->content_type = "text/plain; version=0.0.4";
}

static json_t *user_json(const srv_user *u)
{
	return json_pack("{s:I, s:I, s:s, s:s, s:b}", "id", (json_int_t)u->id, "school_id",
	                 (json_int_t)u->school_id, "username", u->username, "role",
	                 srv_role_name(u->role), "totp_enrolled", u->totp_enrolled);
}

static const char enrol_hint[] =
    "your role needs a second factor: enrol an authenticator app with POST "
    "/api/v1/session/totp, then send a code from it to POST /api/v1/session/totp/confirm";

/* What sign-in, GET /api/v1/session and enrolment answer. */
static json_t *session_json(const srv_user *u, const srv_session *se)
{
	json_t *o = json_pack("{s:o, s:s, s:b}", "user", user_json(u), "csrf_token", se->csrf,
	                      "enrolment_required", se->enrol_only);
	if (o && se->enrol_only)
		json_object_set_new(o, "next", json_string(enrol_hint));
	return o;
}

/* Checks code against the user's confirmed secret and spends its time step, so that the same
 * code does not work twice. */
static int totp_ok(srv_request *r, const srv_user *u, const char *code)
{
	srv_store *st = r->srv->store;
	unsigned char *sealed = NULL;
	size_t n = 0;
	char b32[SRV_TOTP_B32];
	int64_t step = 0;
	int ok = 0;
	if (st->ops->totp_secret(st, u->id, 0, &sealed, &n) == WARD_OK &&
	    srv_totp_open(r->srv->key, u->id, sealed, n, b32) == WARD_OK) {
		ok = srv_totp_check(b32, code, srv_now(), &step) &&
		     st->ops->totp_use(st, u->id, step) == WARD_OK;
		sodium_memzero(b32, sizeof b32);
	}
	free(sealed);
	return ok;
}

static void h_session_create(srv_request *r)
{
	char msg[256];
	json_t *b = srv_parse_body(r->body, r->body_len, srv_body_session, msg, sizeof msg);
	srv_user u;
	int64_t school = 0, fail_id = 0;
	int throttled = 0;
	unsigned char account[SRV_HASH_LEN];
	srv_store *st = r->srv->store;
	if (!b) {
		srv_problem(r, 400, "Invalid request body", msg);
		return;
	}
	const char *school_name = json_string_value(json_object_get(b, "school"));
	const char *name = json_string_value(json_object_get(b, "username"));
	const char *pw = json_string_value(json_object_get(b, "password"));
	/* The attempt counts as a failure, in the store every wardd shares, before the password
	 * is checked: a burst of guesses spread over threads and processes gets no more checks
	 * than a slow one.  A school that does not exist is school 0 to the throttle. */
	if (st->ops->school_find(st, school_name, &school) != WARD_OK)
		school = 0;
	throttle_hash(r->srv, name, account);
	if (!st->throttle ||
	    st->throttle->attempt(st, school, account, srv_now(), srv_now() - THROTTLE_WINDOW,
	                          THROTTLE_FAILS, &fail_id, &throttled) != WARD_OK) {
		srv_problem(r, 503, "Store unavailable",
		            "sign-in cannot be checked now; try again");
		goto done;
	}
	if (throttled) {
		srv_problem(
		    r, 429, "Too many attempts",
		    "too many failed sign-ins for this account; wait 15 minutes and try again");
		goto done;
	}
	if (school == 0 || st->ops->user_find(st, school, name, &u) != WARD_OK || u.disabled ||
	    !srv_password_check(u.pwhash, pw)) {
		r->srv->n_signin_fail++;
		srv_problem(r, 401, "Sign-in refused", "the school, name or password is not right");
		goto done;
	}
	if (u.totp_enrolled) {
		const char *code = json_string_value(json_object_get(b, "totp"));
		if (!code) {
			/* Not a failure: a client learns here that it must ask for the code.  (Should
			 * the withdrawal fail, the attempt stays counted: the safe side.) */
			st->throttle->withdraw(st, school, fail_id);
			srv_problem(r, 401, "Code needed",
			            "this account has a second factor: send the 6-digit code from "
			            "your authenticator app in the totp field");
			json_object_set_new(r->json, "totp_required", json_true());
			goto done;
		}
		if (!totp_ok(r, &u, code)) {
			r->srv->n_signin_fail++;
			srv_problem(
			    r, 401, "Sign-in refused",
			    "the code is not right, or it was used already: wait for the next "
			    "code from your authenticator app and try again");
			json_object_set_new(r->json, "totp_required", json_true());
			goto done;
		}
	}
	if (st->throttle->clear(st, school, account) != WARD_OK) {
		srv_problem(r, 503, "Store unavailable",
		            "sign-in cannot be completed now; try again");
		goto done;
	}
	{
		unsigned char raw[32], craw[24];
		char token[64];
		srv_session se;
		memset(&se, 0, sizeof se);
		randombytes_buf(raw, sizeof raw);
		randombytes_buf(craw, sizeof craw);
		b64(raw, sizeof raw, token, sizeof token);
		b64(craw, sizeof craw, se.csrf, sizeof se.csrf);
		srv_token_hash(token, se.token_hash);
		se.user_id = u.id;
		se.school_id = u.school_id;
		se.created = se.last_seen = srv_now();
		se.enrol_only = !u.totp_enrolled && srv_totp_required(u.role);
		if (st->ops->session_put(st, &se) != WARD_OK) {
			srv_problem(r, 503, "Store unavailable",
			            "the session could not be saved; try again");
			goto done;
		}
		snprintf(r->set_cookie, sizeof r->set_cookie,
		         SRV_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s", token,
		         (long long)r->srv->cfg.session_max,
		         r->srv->cfg.secure_cookies ? "; Secure" : "");
		r->user = u;
		srv_audit_action(r, se.enrol_only ? "session.create-enrol-only" : "session.create",
		                 "session");
		srv_reply(r, 201, session_json(&u, &se));
	}
done:
	json_decref(b);
}

static void h_session_get(srv_request *r)
{
	srv_reply(r, 200, session_json(&r->user, &r->session));
}

/* Starts enrolling an authenticator app: a new secret (pending until a code from it is
 * confirmed), its otpauth:// URI and that URI as a QR code. */
static void h_totp_begin(srv_request *r)
{
	srv_store *st = r->srv->store;
	char b32[SRV_TOTP_B32], school[256];
	char *uri = NULL, *svg = NULL;
	unsigned char *sealed = NULL;
	size_t n = 0;
	srv_audit_in a = {r->user.school_id, r->user.id, "totp.enrol-start", NULL, r->client};
	if (r->body_len > 0) {
		srv_problem(r, 400, "Invalid request body", "this request takes no body");
		return;
	}
	if (st->ops->school_name(st, r->user.school_id, school, sizeof school) != WARD_OK ||
	    srv_totp_new(b32) != WARD_OK ||
	    srv_totp_seal(r->srv->key, r->user.id, b32, &sealed, &n) != WARD_OK ||
	    !(uri = srv_totp_uri(school, r->user.username, b32)) || !(svg = srv_qr_svg(uri))) {
		srv_problem(r, 500, "Internal error", "the enrolment could not be prepared");
	} else if (st->ops->totp_begin(st, r->user.id, sealed, n, &a) != WARD_OK) {
		srv_problem(r, 503, "Store unavailable",
		            "the enrolment could not be saved; try again");
	} else {
		srv_reply(
		    r, 201,
		    json_pack("{s:s, s:s, s:s, s:i, s:i, s:s}", "secret", b32, "otpauth_uri", uri,
		              "qr_svg", svg, "digits", SRV_TOTP_DIGITS, "period", SRV_TOTP_STEP,
		              "next",
		              "scan the QR code (or type the secret) into an authenticator app, "
		              "then send its current code to POST /api/v1/session/totp/confirm "
		              "as {\"code\": \"123456\"}"));
	}
	sodium_memzero(b32, sizeof b32);
	if (uri) {
		sodium_memzero(uri, strlen(uri));
		free(uri);
	}
	free(svg);
	free(sealed);
}

/* Confirms the pending secret with a code from it; the session becomes a full one. */
static void h_totp_confirm(srv_request *r)
{
	srv_store *st = r->srv->store;
	char msg[256], b32[SRV_TOTP_B32];
	unsigned char *sealed = NULL;
	size_t n = 0;
	int64_t step = 0;
	srv_audit_in a = {r->user.school_id, r->user.id, "totp.enrol", NULL, r->client};
	json_t *b = srv_parse_body(r->body, r->body_len, srv_body_totp, msg, sizeof msg);
	b32[0] = '\0';
	if (!b) {
		srv_problem(r, 400, "Invalid request body", msg);
		return;
	}
	if (st->ops->totp_secret(st, r->user.id, 1, &sealed, &n) != WARD_OK) {
		srv_problem(r, 409, "Nothing to confirm",
		            "start an enrolment first with POST /api/v1/session/totp");
	} else if (srv_totp_open(r->srv->key, r->user.id, sealed, n, b32) != WARD_OK) {
		srv_problem(r, 500, "Record unreadable", "the pending secret does not open");
	} else if (!srv_totp_check(b32, json_string_value(json_object_get(b, "code")), srv_now(),
	                           &step)) {
		srv_problem(
		    r, 400, "Code not right",
		    "the code does not match the secret: check the app's clock and send the "
		    "code it shows now");
	} else if (st->ops->totp_confirm(st, r->user.id, step, r->session.token_hash, &a) !=
	           WARD_OK) {
		srv_problem(r, 409, "Code used",
		            "that code was used already; wait for the next one and send it");
	} else {
		r->user.totp_enrolled = 1;
		r->session.enrol_only = 0;
		srv_reply(r, 200, session_json(&r->user, &r->session));
	}
	sodium_memzero(b32, sizeof b32);
	free(sealed);
	json_decref(b);
}

static void h_session_delete(srv_request *r)
{
	r->srv->store->ops->session_delete(r->srv->store, r->session.token_hash);
	srv_audit_action(r, "session.delete", "session");
	snprintf(r->set_cookie, sizeof r->set_cookie,
	         SRV_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
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
		srv_problem(r, 400, "Invalid request body", msg);
		return;
	}
	memset(&u, 0, sizeof u);
	u.school_id = r->user.school_id;
	snprintf(u.username, sizeof u.username, "%s",
	         json_string_value(json_object_get(b, "username")));
	u.role = (srv_role)srv_role_from_name(json_string_value(json_object_get(b, "role")));
	const char *pw = json_string_value(json_object_get(b, "password"));
	if (strlen(pw) < 12) {
		srv_problem(r, 400, "Password too short",
		            "a password needs at least 12 characters");
	} else if (srv_password_hash(pw, u.pwhash) != WARD_OK) {
		srv_problem(r, 500, "Out of memory", "the password could not be hashed");
	} else if (r->srv->store->ops->user_create(r->srv->store, &u, &a, &id) != WARD_OK) {
		srv_problem(r, 409, "Name taken",
		            "an account with that name already exists in this school");
	} else {
		u.id = id;
		srv_reply(r, 201, user_json(&u));
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
	srv_reply(r, 200, json_pack("{s:o}", "users", a));
}

void srv_concern_ad(int64_t id, int64_t school, char *ad, size_t cap)
{
	snprintf(ad, cap, "concern/%lld/school/%lld", (long long)id, (long long)school);
}

/* The API's view of one concern version: the row's fields plus its opened payload.  NULL when
 * the payload does not open (altered, or another key). */
static json_t *concern_json(srv_request *r, const srv_concern *c)
{
	char ad[96], *plain = NULL;
	json_t *p, *o;
	srv_concern_ad(c->id, c->school_id, ad, sizeof ad);
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
	srv_concern_ad(c->id, c->school_id, ad, sizeof ad);
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
		srv_problem(r, 400, "Invalid request body", msg);
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
		srv_problem(r, 500, "Out of memory", NULL);
	} else if (r->srv->store->ops->concern_put(r->srv->store, &c, &a) != WARD_OK) {
		srv_problem(
		    r, 503, "Store unavailable",
		    "the concern could not be saved; it has not been recorded, so send it again");
	} else {
		json_t *o = concern_json(r, &c);
		r->srv->n_concerns++;
		snprintf(r->location, sizeof r->location, "/api/v1/concerns/%lld", (long long)c.id);
		(void)target;
		if (o)
			srv_reply(r, 201, o);
		else
			srv_problem(r, 500, "Internal error",
			            "the saved concern could not be read back");
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
	    (!srv_is_dsl_team(r) && c->reporter_id != r->user.id)) {
		srv_concern_clear(c);
		srv_problem(r, 404, "Not found", "no concern with that id that you may read");
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
	if (!srv_audit_action(r, "concern.read", target)) {
		srv_concern_clear(&c);
		return;
	}
	json_t *o = concern_json(r, &c);
	if (o)
		srv_reply(r, 200, o);
	else
		srv_problem(
		    r, 500, "Record unreadable",
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
	                                 srv_is_dsl_team(r) ? 0 : r->user.id, concern_add, &l);
	srv_audit_action(r, "concern.list", "concerns");
	srv_reply(r, 200, json_pack("{s:o}", "concerns", l.arr));
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
	srv_audit_action(r, "concern.read-versions", target);
	srv_reply(r, 200, json_pack("{s:o}", "versions", l.arr));
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
		srv_problem(r, 400, "Invalid request body", msg);
		return;
	}
	if (!load_concern(r, &c) || srv_case_close_refused(r, b, c.id))
		goto done;
	if (json_integer_value(json_object_get(b, "version")) != c.version) {
		srv_problem(r, 409, "Version conflict",
		            "the concern has changed since you read it; read it again and reapply");
		goto done;
	}
	srv_concern_ad(c.id, c.school_id, ad, sizeof ad);
	if (srv_open(r->srv->key, ad, c.payload, c.payload_len, &plain) != WARD_OK ||
	    !(p = json_loads(plain, 0, NULL))) {
		srv_problem(r, 500, "Record unreadable",
		            "the stored concern does not open with this key");
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
		srv_problem(r, 500, "Out of memory", NULL);
	} else if (strcmp(n.status, "closed") == 0) {
		/* Closing goes through the cases store: checked and written in one transaction. */
		if (srv_case_close_put(r, &n, &a) == 0) {
			json_t *o = concern_json(r, &n);
			if (o)
				srv_reply(r, 200, o);
			else
				srv_problem(r, 500, "Internal error", NULL);
		}
	} else if (r->srv->store->ops->concern_put(r->srv->store, &n, &a) != WARD_OK) {
		srv_problem(r, 409, "Version conflict", r->srv->store->err);
	} else {
		json_t *o = concern_json(r, &n);
		if (o)
			srv_reply(r, 200, o);
		else
			srv_problem(r, 500, "Internal error", NULL);
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
	json_array_append_new(
	    ctx, json_pack("{s:I, s:I, s:I, s:s, s:s, s:s, s:s}", "seq", (json_int_t)a->seq, "at",
	                   (json_int_t)a->at, "actor_id", (json_int_t)a->actor_id, "action",
	                   a->action, "target", a->target, "source", a->source, "hash", h));
	return 0;
}

static void h_audit_list(srv_request *r)
{
	const char *after = srv_query(r, "after");
	long long from = 0;
	char *end = NULL;
	if (after) {
		errno = 0;
		from = strtoll(after, &end, 10);
		if (!*after || *end || from < 0 || errno == ERANGE) {
			srv_problem(r, 400, "Invalid query", "after must be a whole number");
			return;
		}
	}
	json_t *a = json_array();
	r->srv->store->ops->audit_list(r->srv->store, r->user.school_id, from, 500, audit_add, a);
	srv_reply(r, 200, json_pack("{s:o}", "entries", a));
}

static void h_audit_verify(srv_request *r)
{
	char msg[256];
	int64_t n = 0;
	ward_status st = srv_audit_verify(r->srv->store, msg, sizeof msg, &n);
	srv_audit_action(r, "audit.verify", "audit");
	srv_reply(r, 200,
	          json_pack("{s:b, s:I, s:s}", "intact", st == WARD_OK, "entries", (json_int_t)n,
	                    "detail", msg));
}

static const srv_route routes[] = {
    {"GET", "/healthz", h_healthz, SRV_ANON, "liveness"},
    {"GET", "/metrics", h_metrics, SRV_ANON, "Prometheus metrics"},
    {"POST", "/api/v1/session", h_session_create, SRV_ANON, "sign in"},
    {"GET", "/api/v1/session", h_session_get, SRV_ANY | SRV_ENROL, "who am I, and my CSRF token"},
    {"DELETE", "/api/v1/session", h_session_delete, SRV_ANY | SRV_ENROL, "sign out"},
    {"POST", "/api/v1/session/totp", h_totp_begin, SRV_ANY | SRV_ENROL,
     "start enrolling an authenticator app (TOTP)"},
    {"POST", "/api/v1/session/totp/confirm", h_totp_confirm, SRV_ANY | SRV_ENROL,
     "confirm the enrolment with a code"},
    {"GET", "/api/v1/users", h_user_list, SRV_R(SRV_ROLE_ADMIN), "list accounts"},
    {"POST", "/api/v1/users", h_user_create, SRV_R(SRV_ROLE_ADMIN), "create an account"},
    {"GET", "/api/v1/concerns", h_concern_list, SRV_REPORTERS, "list concerns I may read"},
    {"POST", "/api/v1/concerns", h_concern_create, SRV_REPORTERS, "raise a concern"},
    {"GET", "/api/v1/concerns/{id}", h_concern_get, SRV_REPORTERS, "read a concern"},
    {"PATCH", "/api/v1/concerns/{id}", h_concern_update, SRV_DSL_TEAM,
     "change a concern (a new version)"},
    {"GET", "/api/v1/concerns/{id}/versions", h_concern_versions, SRV_DSL_TEAM,
     "every version of a concern"},
    {"GET", "/api/v1/audit", h_audit_list, SRV_R(SRV_ROLE_AUDITOR), "read the audit log"},
    {"GET", "/api/v1/audit/verify", h_audit_verify, SRV_R(SRV_ROLE_AUDITOR),
     "verify the audit chain"},
    {NULL, NULL, NULL, 0, NULL},
};

const srv_module srv_module_core = {"core", routes, NULL, NULL};
