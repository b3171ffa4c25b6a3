/* api.c: wardd's HTTP plumbing on libmicrohttpd.  The modules' route tables (modules.c) say
 * which handler serves which method and path and which roles may call it; dispatch, sign-in
 * checks, CSRF checks and the problem+json errors are done here once, so a handler only does its
 * own work. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>
#include <sodium.h>

#include "http.h"
#include "tokens.h"

#define ARENA_MAX (64u << 20)

static void *arena_alloc(srv_arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (!a->head || a->head->cap - a->head->used < n) {
		size_t cap = n > 8192 ? n : 8192;
		srv_arena_block *b;
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

static void arena_free(srv_arena *a)
{
	while (a->head) {
		srv_arena_block *n = a->head->next;
		free(a->head);
		a->head = n;
	}
	a->total = 0;
}

int64_t srv_now(void)
{
	return (int64_t)time(NULL);
}

/* Sets an RFC 9457 problem as the answer. */
void srv_problem(srv_request *r, unsigned status, const char *title, const char *detail)
{
	char type[64];
	json_decref(r->json);
	snprintf(type, sizeof type, "about:blank");
	r->status = status;
	r->content_type = "application/problem+json";
	r->json = json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title", title, "status",
	                    (int)status, "detail", detail ? detail : title);
}

void srv_reply(srv_request *r, unsigned status, json_t *j)
{
	json_decref(r->json);
	r->status = status;
	r->json = j;
	r->content_type = "application/json";
}

int srv_audit_action(srv_request *r, const char *action, const char *target)
{
	srv_audit_in a = {r->user.school_id, r->user.id, action, target, r->client};
	if (r->srv->store->ops->audit_append(r->srv->store, &a) == WARD_OK)
		return 1;
	srv_log(LOG_ERR, "audit append failed (%s %s): %s", action, target, r->srv->store->err);
	r->audit_failed = 1;
	return 0;
}

void *srv_alloc(srv_request *r, size_t n)
{
	return arena_alloc(&r->mem, n);
}

const char *srv_query(srv_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *srv_header(srv_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

int srv_is_dsl_team(const srv_request *r)
{
	return r->user.role == SRV_ROLE_DSL || r->user.role == SRV_ROLE_DEPUTY_DSL;
}

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
			if (n == 0 || n > 15 || r->n_ids >= SRV_MAX_IDS)
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
	const char *tok = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, SRV_COOKIE);
	unsigned char th[SRV_HASH_LEN];
	srv_store *st = r->srv->store;
	int64_t now = srv_now();
	if (!tok || strlen(tok) > 64 || !*tok)
		return 0;
	srv_token_hash(tok, th);
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
	const srv_route *hit = NULL;
	int path_ok = 0;
	if (r->too_big) {
		char d[128];
		snprintf(d, sizeof d, "the body is larger than the limit of %zu bytes",
		         r->srv->cfg.max_body);
		srv_problem(r, 413, "Body too large", d);
		return;
	}
	for (const srv_module *const *m = srv_modules; *m && !hit; m++) {
		for (const srv_route *rt = (*m)->routes; rt->method; rt++) {
			if (!path_match(rt->path, r->url, r))
				continue;
			path_ok = 1;
			if (strcmp(rt->method, r->method) == 0) {
				hit = rt;
				break;
			}
		}
	}
	if (!hit) {
		if (path_ok)
			srv_problem(r, 405, "Method not allowed",
			            "this path does not accept that method");
		else if (!srv_web_page(r))
			srv_problem(r, 404, "Not found", "no such path");
		return;
	}
	const char *authz = srv_header(r, "Authorization");
	if (!(hit->roles & SRV_ANON) && authz && strncmp(authz, "Bearer ", 7) == 0) {
		/* A detector's service token: good for SRV_SERVICE routes and nothing else. */
		if (!(hit->roles & SRV_SERVICE)) {
			srv_problem(r, 403, "Not allowed", "a service token may only post alerts");
			return;
		}
		if (!srv_service_auth(r, authz + 7)) {
			srv_problem(r, 401, "Service token refused",
			            "the token is unknown or revoked; ask an admin for a new one");
			return;
		}
		r->signed_in = 1;
	} else if (!(hit->roles & SRV_ANON)) {
		r->signed_in = authenticate(r);
		if (!r->signed_in) {
			srv_problem(r, 401, "Sign-in needed",
			            "sign in first (POST /api/v1/session)");
			return;
		}
		if (!(hit->roles & SRV_R(r->user.role))) {
			srv_problem(r, 403, "Not allowed", "your role may not do this");
			return;
		}
		if (r->session.enrol_only && !(hit->roles & SRV_ENROL)) {
			srv_problem(r, 403, "Second factor needed",
			            "your role needs a second factor before this session may do "
			            "anything else: enrol an authenticator app with POST "
			            "/api/v1/session/totp, then send a code from it to POST "
			            "/api/v1/session/totp/confirm");
			return;
		}
		if (state_changing(r->method)) {
			const char *t =
			    MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-CSRF-Token");
			if (!t || strlen(t) != strlen(r->session.csrf) ||
			    sodium_memcmp(t, r->session.csrf, strlen(t)) != 0) {
				srv_problem(r, 403, "CSRF token missing or wrong",
				            "send the csrf_token from GET /api/v1/session in the "
				            "X-CSRF-Token header");
				return;
			}
		}
	}
	if (state_changing(r->method) && r->body_len > 0) {
		const char *ct =
		    MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
		json_error_t err;
		json_t *j;
		if (!ct || strncmp(ct, "application/json", 16) != 0) {
			srv_problem(r, 415, "Unsupported media type",
			            "send the body as application/json");
			return;
		}
		/* Every body is well-formed JSON in valid UTF-8 before any handler sees it, also on
		 * routes that take none and would otherwise not look at it. */
		j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &err);
		if (!j) {
			char d[256];
			snprintf(d, sizeof d, "the body is not valid JSON: %s (at byte %d)", err.text,
			         err.position);
			srv_problem(r, 400, "Invalid request body", d);
			return;
		}
		json_decref(j);
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
	if (r->audit_failed) {
		/* whatever the handler answered, nothing it read goes out unrecorded */
		r->text = NULL;
		r->set_cookie[0] = '\0';
		r->location[0] = '\0';
		r->etag = NULL;
		r->cache = NULL;
		srv_problem(r, 503, "Not recorded",
		            "the audit log could not record this request, so nothing is shown; try again, "
		            "and tell the admin if it goes on");
	}
	if (r->status == 0)
		srv_problem(r, 500, "Internal error", "the handler gave no answer");
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
	if (r->etag)
		MHD_add_response_header(resp, "ETag", r->etag);
	MHD_add_response_header(resp, "Cache-Control", r->cache ? r->cache : "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Content-Security-Policy",
	                        r->csp ? r->csp : "default-src 'none'");
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

/* Every line of the forwarding header, in order, joined as one list (a proxy may add a line of
 * its own rather than extend the client's); over the bound, the header is not read. */
struct fwd_lines {
	const char *name;
	size_t len;
	int over;
	char buf[SRV_FORWARDED_MAX + 1];
};

static enum MHD_Result fwd_line(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
	struct fwd_lines *f = cls;
	size_t n, sep;
	(void)kind;
	if (!key || strcasecmp(key, f->name) != 0)
		return MHD_YES;
	n = value ? strlen(value) : 0;
	sep = f->len ? 2 : 0;
	if (f->over || f->len + sep + n > SRV_FORWARDED_MAX) {
		f->over = 1;
		return MHD_YES;
	}
	memcpy(f->buf + f->len, ", ", sep);
	memcpy(f->buf + f->len + sep, value ? value : "", n);
	f->len += sep + n;
	return MHD_YES;
}

/* The TCP peer's address, or, when the peer is a trusted proxy (trusted_proxies), the client
 * its header names (forwarded.h): what the audit entries and the pupil page's per-address
 * limits see.  A header from any other peer is never read. */
static void client_addr(const srv_server *s, struct MHD_Connection *c, char *out, size_t cap)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char peer[64] = "unknown";
	if (ci && ci->client_addr) {
		socklen_t len = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
		                                                       : sizeof(struct sockaddr_in);
		if (getnameinfo(ci->client_addr, len, peer, sizeof peer, NULL, 0, NI_NUMERICHOST))
			snprintf(peer, sizeof peer, "unknown");
	}
	if (s->cfg.proxies.n && srv_proxies_contains(&s->cfg.proxies, peer)) {
		struct fwd_lines f;
		f.name = s->cfg.proxy_header == SRV_FWD_FORWARDED ? "Forwarded" : "X-Forwarded-For";
		f.len = 0;
		f.over = 0;
		MHD_get_connection_values(c, MHD_HEADER_KIND, fwd_line, &f);
		if (f.len && !f.over) {
			srv_forwarded_client(&s->cfg.proxies, s->cfg.proxy_header, peer, f.buf, f.len,
			                     out, cap);
			return;
		}
	}
	snprintf(out, cap, "%s", peer);
}

/* libmicrohttpd's own messages go where wardd's do.  fmt comes from libmicrohttpd, so the
 * format attribute lets clang check the call instead of refusing a non-literal format. */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;
	(void)cls;
	vsnprintf(line, sizeof line, fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	srv_log(LOG_WARNING, "http: %s", line);
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
		client_addr(s, conn, r->client, sizeof r->client);
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
			char *nb = srv_alloc(r, cap);
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
	s->started = srv_now();
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
	s->d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL_LINUX_ONLY | MHD_USE_ERROR_LOG |
	        (strchr(c->listen, ':') ? MHD_USE_IPv6 : 0),
	    (uint16_t)c->port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
	    (unsigned int)c->threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)(128 * 1024), MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
	    MHD_OPTION_END);
	if (!s->d) {
		srv_log(LOG_ERR, "cannot listen on %s port %u", c->listen, c->port);
		free(s);
		return WARD_EIO;
	}
	if (c->proxies.n)
		srv_log(LOG_INFO, "client addresses from %s when the peer is one of %zu trusted proxies",
		        c->proxy_header == SRV_FWD_FORWARDED ? "Forwarded" : "X-Forwarded-For",
		        c->proxies.n);
	if (srv_proxies_everything(&c->proxies))
		srv_log(LOG_WARNING,
		        "trusted_proxies holds 0.0.0.0/0 or ::/0: any client that reaches wardd "
		        "directly can choose the address it is recorded and limited under");
	for (const srv_module *const *m = srv_modules; *m; m++) {
		if ((*m)->start && (*m)->start(s) != 0) {
			srv_log(LOG_ERR, "the %s module did not start", (*m)->name);
			for (const srv_module *const *u = srv_modules; u != m; u++)
				if ((*u)->stop)
					(*u)->stop(s);
			MHD_stop_daemon(s->d);
			free(s);
			return WARD_EIO;
		}
	}
	*out = s;
	return WARD_OK;
bad:
	srv_log(LOG_ERR, "listen address %s is not an IP address", c->listen);
	free(s);
	return WARD_EINVAL;
}

void srv_server_stop(srv_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->d);
	for (const srv_module *const *m = srv_modules; *m; m++)
		if ((*m)->stop)
			(*m)->stop(s);
	sodium_memzero(s->key, sizeof s->key);
	free(s);
}
