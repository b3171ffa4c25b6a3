/* tokens.h: service tokens, with which a detector (the c-icap module, `ward ingest`) posts
 * alerts.  An admin makes one (API or `ward admin token add`); it is shown once and only its
 * BLAKE2b is kept.  A route that accepts them carries SRV_SERVICE in its roles; a service token
 * can call nothing else. */
#ifndef WARDD_TOKENS_H
#define WARDD_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define SRV_SERVICE   (1u << 29) /* route flag: a service token may call it (api.h has 30, 31) */
#define SRV_TOKEN_MAX 64         /* longest token text, NUL included */

typedef struct srv_request srv_request;

/* Makes a token for school_id named name, stores its hash and audits it (actor, source).
 * token receives the text to show once (capacity SRV_TOKEN_MAX). */
ward_status srv_token_make(srv_store *s, int64_t school_id, const char *name, int64_t actor,
                           const char *source, char token[SRV_TOKEN_MAX], int64_t *id_out);

/* For api.c: r's "Authorization: Bearer" token, checked.  1 when it is a live service token:
 * r->user is then the token's stand-in (id -token_id, the token's school, no role). */
int srv_service_auth(srv_request *r, const char *token);

#endif
