/* api.h: wardd's HTTP side: configuration, the route table, start and stop. */
#ifndef WARDD_API_H
#define WARDD_API_H

#include <stdint.h>

#include "forwarded.h"
#include "srv.h"

typedef struct srv_config {
	char listen[64];      /* address to bind, e.g. 127.0.0.1 */
	unsigned port;        /* 8080 */
	char data_dir[512];   /* holds ward.db and wardd.key */
	unsigned threads;     /* libmicrohttpd thread pool */
	int secure_cookies;   /* mark cookies Secure (behind TLS) */
	int64_t idle_timeout; /* seconds a session lives without use */
	int64_t session_max;  /* seconds a session lives at most */
	size_t max_body;      /* largest request body accepted */
	int log_syslog;       /* log = syslog (else stderr) */
	int postgres;         /* store = postgres (else sqlite, ward.db in data_dir) */
	char postgres_dsn[512]; /* libpq connection string for store = postgres */
	srv_proxies proxies;        /* trusted_proxies: peers whose forwarding header is read */
	srv_fwd_header proxy_header; /* proxy_header: the header they write */
} srv_config;

/* Defaults, then /etc/ward/wardd.conf's [wardd] section (ini) when path is set. */
void srv_config_defaults(srv_config *c);
/* Returns 0 or the line of the first error (-1: unreadable). */
int srv_config_read(srv_config *c, const char *path);
/* Sets one key as the file or the command line spells it; 0 when known and valid. */
int srv_config_set(srv_config *c, const char *key, const char *value);

/* One route: the table is the source of truth for dispatch, access, --routes and the docs. */
#define SRV_ANON  (1u << 31) /* no sign-in needed */
#define SRV_ENROL (1u << 30) /* open to a session that may only enrol its second factor */
#define SRV_R(r) (1u << (r))
#define SRV_ANY                                                                                    \
	(SRV_R(SRV_ROLE_STAFF) | SRV_R(SRV_ROLE_DSL) | SRV_R(SRV_ROLE_DEPUTY_DSL) |                \
	 SRV_R(SRV_ROLE_ADMIN) | SRV_R(SRV_ROLE_AUDITOR) | SRV_R(SRV_ROLE_TRUST_LEAD))

typedef struct srv_request srv_request;
typedef struct srv_route {
	const char *method;
	const char *path; /* segments; {id} matches a decimal id */
	void (*handler)(srv_request *r);
	uint32_t roles; /* SRV_R bits, SRV_ANON */
	const char *summary;
} srv_route;
/* Route tables live in the modules (http.h, modules.c). */

typedef struct srv_server srv_server;
/* Starts serving; the store and key are borrowed until srv_server_stop. */
ward_status srv_server_start(const srv_config *c, srv_store *store,
                             const unsigned char key[SRV_KEY_LEN], srv_server **out);
void srv_server_stop(srv_server *s);

#endif
