/* tokens.c: service tokens for detectors.  Routes for an admin to make, list and revoke them,
 * and the check api.c runs on "Authorization: Bearer" for routes flagged SRV_SERVICE. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "http.h"
#include "store_alerts.h"
#include "tokens.h"

/* Names are short and plain: letters, digits, dot, dash, underscore. */
static int name_ok(const char *n)
{
	size_t len = n ? strlen(n) : 0;
	if (len == 0 || len > 63)
		return 0;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_'))
			return 0;
	return 1;
}

ward_status srv_token_make(srv_store *s, int64_t school_id, const char *name, int64_t actor,
                           const char *source, char token[SRV_TOKEN_MAX], int64_t *id_out)
{
	unsigned char raw[32];
	char b64[48];
	srv_token t;
	srv_audit_in a = {school_id, actor, "token.create", NULL, source};
	ward_status rc;
	if (!s->alerts)
		return WARD_EUNSUPPORTED;
	if (!name_ok(name))
		return WARD_EINVAL;
	memset(&t, 0, sizeof t);
	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(b64, sizeof b64, raw, sizeof raw,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(token, SRV_TOKEN_MAX, "wst_%s", b64);
	sodium_memzero(raw, sizeof raw);
	srv_token_hash(token, t.hash);
	t.school_id = school_id;
	t.created = srv_now();
	snprintf(t.name, sizeof t.name, "%s", name);
	rc = s->alerts->token_create(s, &t, &a);
	if (rc == WARD_OK && id_out)
		*id_out = t.id;
	if (rc != WARD_OK)
		sodium_memzero(token, SRV_TOKEN_MAX);
	return rc;
}

int srv_service_auth(srv_request *r, const char *token)
{
	unsigned char h[SRV_HASH_LEN];
	srv_token t;
	srv_store *st = r->srv->store;
	if (!st->alerts || !token || !*token || strlen(token) >= SRV_TOKEN_MAX)
		return 0;
	srv_token_hash(token, h);
	if (st->alerts->token_find(st, h, &t) != WARD_OK || t.revoked)
		return 0;
	memset(&r->user, 0, sizeof r->user);
	r->user.id = -t.id;
	r->user.school_id = t.school_id;
	r->user.role = SRV_ROLE_COUNT; /* no role: no route but SRV_SERVICE ones */
	snprintf(r->user.username, sizeof r->user.username, "service:%.55s", t.name);
	return 1;
}

static json_t *token_json(const srv_token *t)
{
	return json_pack("{s:I, s:s, s:I, s:b, s:I}", "id", (json_int_t)t->id, "name", t->name,
	                 "created", (json_int_t)t->created, "revoked", t->revoked != 0,
	                 "revoked_at", (json_int_t)t->revoked);
}

static int token_add(void *ctx, const srv_token *t)
{
	json_array_append_new(ctx, token_json(t));
	return 0;
}

static void h_token_list(srv_request *r)
{
	json_t *a = json_array();
	r->srv->store->alerts->token_list(r->srv->store, r->user.school_id, token_add, a);
	srv_reply(r, 200, json_pack("{s:o}", "tokens", a));
}

/* Reads {"KEY": ...} with nothing else in the body; NULL with an answer set otherwise. */
static json_t *one_field(srv_request *r, const char *key, int (*ok)(json_t *))
{
	json_error_t e;
	json_t *b = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES, &e);
	if (!b || !json_is_object(b) || json_object_size(b) != 1 || !ok(json_object_get(b, key))) {
		char msg[160];
		snprintf(msg, sizeof msg, "send a JSON object with \"%s\" and nothing else", key);
		srv_problem(r, 400, "Invalid request body", msg);
		json_decref(b);
		return NULL;
	}
	return b;
}

static int is_name(json_t *v)
{
	return json_is_string(v) && name_ok(json_string_value(v));
}

static int is_id(json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) > 0;
}

static void h_token_create(srv_request *r)
{
	char tok[SRV_TOKEN_MAX];
	int64_t id = 0;
	json_t *b = one_field(r, "name", is_name);
	if (!b)
		return;
	const char *name = json_string_value(json_object_get(b, "name"));
	if (srv_token_make(r->srv->store, r->user.school_id, name, r->user.id, r->client, tok,
	                   &id) != WARD_OK) {
		srv_problem(r, 503, "Store unavailable", "the token could not be saved; try again");
	} else {
		srv_reply(
		    r, 201,
		    json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)id, "name", name, "token",
		              tok, "note",
		              "the token is shown once: keep it in the detector's token file"));
		sodium_memzero(tok, sizeof tok);
	}
	json_decref(b);
}

static void h_token_revoke(srv_request *r)
{
	json_t *b = one_field(r, "id", is_id);
	srv_audit_in a = {r->user.school_id, r->user.id, "token.revoke", NULL, r->client};
	if (!b)
		return;
	int64_t id = (int64_t)json_integer_value(json_object_get(b, "id"));
	ward_status st = r->srv->store->alerts->token_revoke(r->srv->store, r->user.school_id, id,
	                                                     srv_now(), &a);
	if (st == WARD_ENOENT)
		srv_problem(r, 404, "Not found", "no live token with that id in this school");
	else if (st != WARD_OK)
		srv_problem(r, 503, "Store unavailable",
		            "the token could not be revoked; try again");
	else
		srv_reply(r, 200, json_pack("{s:I, s:b}", "id", (json_int_t)id, "revoked", 1));
	json_decref(b);
}

static const srv_route routes[] = {
    {"GET", "/api/v1/tokens", h_token_list, SRV_R(SRV_ROLE_ADMIN), "list service tokens"},
    {"POST", "/api/v1/tokens", h_token_create, SRV_R(SRV_ROLE_ADMIN),
     "make a service token for a detector (shown once)"},
    {"POST", "/api/v1/tokens/revoke", h_token_revoke, SRV_R(SRV_ROLE_ADMIN),
     "revoke a service token"},
    {NULL, NULL, NULL, 0, NULL},
};

const srv_module srv_module_tokens = {"tokens", routes, NULL, NULL};
