/* alerts.h: the checks alerts.c and notify.c run on what callers send, shared with their
 * fuzz harness (tests/fuzz/fuzz_srv_alerts.c). */
#ifndef WARDD_ALERTS_H
#define WARDD_ALERTS_H

#include <stddef.h>

#include <jansson.h>

#include "store_alerts.h"

#define SRV_ALERT_EXCERPT_MAX 2000

/* A detector's alert body (n bytes, not NUL-terminated) checked against the contract of
 * POST /api/v1/alerts.  Returns the object (caller owns: json_decref) or NULL with the reason
 * in msg (capacity cap). */
json_t *srv_alert_parse(const char *body, size_t n, char *msg, size_t cap);

/* For routes that take no body: 1 when body (n bytes) is empty or an empty JSON object;
 * otherwise 0 with the reason in msg. */
int srv_body_none(const char *body, size_t n, char *msg, size_t cap);

/* Applies a PUT /api/v1/settings/notify body b to n (fields left out keep their value).
 * 0 with the reason in msg when a field is not valid; n may then be half changed. */
int srv_notify_settings_apply(json_t *b, srv_notify_settings *n, char *msg, size_t cap);

#endif
