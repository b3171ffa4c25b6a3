/* alertq: posts alerts to wardd from a background thread, so the caller never waits.
 * Shared by the c-icap module (icap/srv_ward.c) and `ward ingest` (cli/cmd_ingest.c).
 * A bounded queue in memory; alerts that cannot be delivered go to a spool file (one JSON
 * body a line) and are retried.  Contract: POST URL, "Authorization: Bearer TOKEN", JSON body;
 * 200 or 201 is delivered, 401/4xx is dropped with a log line, anything else is retried. */
#ifndef WARD_ALERTQ_H
#define WARD_ALERTQ_H
#include <stddef.h>

typedef struct alertq alertq;

/* One alert; every string is copied.  NULL url and negative start/end are JSON null. */
typedef struct alertq_alert {
	const char *area, *rule, *severity, *source, *subject, *excerpt, *url;
	long long start, end;    /* -1 for none */
	const char *dedup_extra; /* what makes the event distinct (url or log line); may be NULL */
} alertq_alert;

#define ALERTQ_DEFAULT_CAP 4096
#define ALERTQ_BODY_MAX    8192

/* Starts the poster.  url: wardd's alerts endpoint; token: the service token (copied; may be
 * NULL); spool: file for undelivered alerts (may be NULL: then they are counted as dropped).
 * Returns NULL on failure.  The caller owns the result: alertq_stop. */
alertq *alertq_start(const char *url, const char *token, const char *spool, size_t cap);
/* Queues a; never blocks on the network.  Returns 0, or -1 when the queue is full and the
 * alert went to the spool (or was dropped without one). */
int alertq_post(alertq *q, const alertq_alert *a);
/* Sends what is queued (waits at most timeout_ms), spools the rest, stops the thread, frees q. */
void alertq_stop(alertq *q, int timeout_ms);
/* Counters since start. */
void alertq_stats(const alertq *q, size_t *sent, size_t *spooled, size_t *dropped);
/* Builds the JSON body for a into out (capacity cap); returns its length or 0 when too long. */
size_t alertq_json(const alertq_alert *a, char *out, size_t cap);
#endif
