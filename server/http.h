/* http.h: what wardd's HTTP plumbing (api.c) shares with the modules that serve routes
 * (core.c, and one file per feature).  A module is a route table plus optional start and stop
 * hooks; server/modules.c lists the modules.  A handler reads the request, does its work through
 * the store, and answers with srv_reply or srv_problem; dispatch has already checked the path,
 * the caller's role and the CSRF token. */
#ifndef WARDD_HTTP_H
#define WARDD_HTTP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "api.h"

#define SRV_COOKIE  "ward_session"
#define SRV_MAX_IDS 8

typedef struct srv_arena_block {
	struct srv_arena_block *next;
	size_t used, cap;
	unsigned char data[];
} srv_arena_block;

/* Per-request memory: everything a request allocates is freed in one go when it ends. */
typedef struct srv_arena {
	srv_arena_block *head;
	size_t total;
} srv_arena;

struct srv_server {
	struct MHD_Daemon *d;
	srv_config cfg;
	srv_store *store;
	unsigned char key[SRV_KEY_LEN];
	int64_t started;
	/* Per process by design (several wardd on one database: each counts its own, /metrics
	 * says so, a scraper adds the instances up); nothing is decided on them.  Every count a
	 * decision rests on (sign-in and pupil page limits, sessions, claims) is in the store. */
	atomic_uint_fast64_t n_requests, n_2xx, n_4xx, n_5xx, n_concerns, n_signin_fail;
};

struct srv_request {
	srv_server *srv;
	struct MHD_Connection *conn;
	srv_arena mem;
	const char *method, *url;
	char *body;
	size_t body_len, body_cap;
	int too_big;
	int64_t ids[SRV_MAX_IDS]; /* the {id} segments of the path, in order */
	int n_ids;
	char client[64]; /* remote address, for the audit log */
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
	/* set by the web module for its files; NULL: no-store and default-src 'none' */
	const char *cache, *csp, *etag;
	int audit_failed; /* srv_audit_action could not record the read: answer 503, nothing else */
};

/* A feature's routes and, when it keeps state or threads, hooks run when the server starts
 * (non-zero: the server does not start) and stops. */
typedef struct srv_module {
	const char *name;
	const srv_route *routes; /* ended by a NULL method */
	int (*start)(srv_server *s);
	void (*stop)(srv_server *s);
} srv_module;

/* NULL-terminated, in dispatch order (modules.c). */
extern const srv_module *const srv_modules[];

/* Role sets used by route tables. */
#define SRV_DSL_TEAM  (SRV_R(SRV_ROLE_DSL) | SRV_R(SRV_ROLE_DEPUTY_DSL))
#define SRV_REPORTERS (SRV_R(SRV_ROLE_STAFF) | SRV_DSL_TEAM)

int64_t srv_now(void);
/* Request-lifetime memory (freed when the request ends); NULL past 64 MiB. */
void *srv_alloc(srv_request *r, size_t n);
/* Answers with an RFC 9457 problem body. */
void srv_problem(srv_request *r, unsigned status, const char *title, const char *detail);
/* Answers with JSON j (ownership passes to the request). */
void srv_reply(srv_request *r, unsigned status, json_t *j);
/* Appends an audit entry for the caller (reads are audited this way) and returns 1 once it is
 * durable.  When it cannot be written, returns 0 and the request is answered 503 whatever the
 * handler sets afterwards: a read that is not in the audit log is not shown. */
int srv_audit_action(srv_request *r, const char *action, const char *target);
/* A query-string argument, or NULL. */
const char *srv_query(srv_request *r, const char *name);
/* A request header, or NULL. */
const char *srv_header(srv_request *r, const char *name);
int srv_is_dsl_team(const srv_request *r);
/* A browser asking for a page of the web interface by its address (a link in an email, such
 * as /concerns/{id}): answers with the interface and returns 1 (web.c); else 0. */
int srv_web_page(srv_request *r);

#endif
