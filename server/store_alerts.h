/* store_alerts.h: the store's side of detection alerts, service tokens and DSL alerting
 * (notices, escalation, the school's alerting settings).  The SQLite store fills it in
 * (store_sqlite_alerts.c); a PostgreSQL store fills in the same table.  Handlers never see SQL.
 *
 * Every mutable row carries a revision; each write bumps it and appends an audit entry whose
 * target is "KIND/ID/rREV" and whose digest is BLAKE2b over the row as written, so
 * `ward admin audit verify` checks the row as it is now against its latest entry. */
#ifndef WARDD_STORE_ALERTS_H
#define WARDD_STORE_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* A detector's service token: only the BLAKE2b of the token is kept. */
typedef struct srv_token {
	int64_t id, school_id, created, revoked; /* revoked: 0, or when */
	char name[64];
	unsigned char hash[SRV_HASH_LEN];
} srv_token;

/* One alert.  payload is the sealed JSON of what identifies a person or holds evidence
 * (subject, excerpt, url, time, start, end, and a dismissal's reason); owned by the record
 * (srv_alert_clear). */
typedef struct srv_alert {
	int64_t id, school_id, rev, token_id;
	char area[32], rule[128], severity[12], source[16], dedup_key[129];
	int64_t first_seen, last_seen, count;
	char status[16]; /* new, promoted, dismissed */
	int64_t concern_id, decided_by, decided_at;
	unsigned char *payload;
	size_t payload_len;
} srv_alert;

typedef struct srv_alert_filter {
	const char *status, *area; /* NULL: any */
	int64_t since;             /* last_seen at or after; 0: any */
	int limit;
} srv_alert_filter;

/* A school's alerting settings.  Email lists are comma-separated addresses. */
typedef struct srv_notify_settings {
	int64_t school_id, rev;
	int64_t escalation_minutes; /* unacknowledged this long: escalate (deputy, then head) */
	int64_t dedup_minutes;      /* duplicate alerts within this window are merged */
	char smtp_url[256];         /* smtp://host:port */
	char mail_from[256];
	char dsl_emails[1024], deputy_emails[1024], head_emails[1024];
	char base_url[256]; /* where the links in emails point */
} srv_notify_settings;

#define SRV_NOTIFY_DEFAULT_ESCALATION 15
#define SRV_NOTIFY_DEFAULT_DEDUP      60

/* Something that must reach the DSL team: a new concern or a high or promoted alert.  stage 0:
 * not yet sent; 1: sent to the DSL; 2: escalated to the deputy; 3: escalated to the head. */
typedef struct srv_notice {
	int64_t id, school_id, rev;
	char kind[16]; /* concern, alert */
	int64_t ref_id, raised_at, stage, next_at, acked_at, acked_by;
} srv_notice;

typedef int (*srv_token_cb)(void *ctx, const srv_token *t);
typedef int (*srv_alert_cb)(void *ctx, const srv_alert *a);
typedef int (*srv_notice_cb)(void *ctx, const srv_notice *n);
/* One count of the alerts summary: day is YYYY-MM-DD (UTC). */
typedef int (*srv_alert_count_cb)(void *ctx, const char *day, const char *area, int64_t n);

struct srv_alert_ops {
	/* Tokens.  create: t->hash and name set; audited as token/ID/r1. */
	ward_status (*token_create)(srv_store *s, srv_token *t, const srv_audit_in *a);
	/* By hash, live or revoked; WARD_ENOENT when unknown. */
	ward_status (*token_find)(srv_store *s, const unsigned char hash[SRV_HASH_LEN],
	                          srv_token *out);
	ward_status (*token_list)(srv_store *s, int64_t school_id, srv_token_cb cb, void *ctx);
	/* WARD_ENOENT when not in school_id or already revoked. */
	ward_status (*token_revoke)(srv_store *s, int64_t school_id, int64_t id, int64_t now,
	                            const srv_audit_in *a);

	/* A new alert or, when an alert of the same school and dedup_key was first seen at or
	 * after now - window, a merge into it (count + 1, last_seen now).  a->id is the id to
	 * use for a new one (its payload sealed for it); on a merge a is refilled with the
	 * existing alert and *merged set.  A new high or critical alert also raises a notice.  One
	 * transaction with its audit entry. */
	ward_status (*alert_post)(srv_store *s, srv_alert *a, int64_t now, int64_t window,
	                          const srv_audit_in *au, int *merged);
	ward_status (*alert_get)(srv_store *s, int64_t school_id, int64_t id, srv_alert *out);
	ward_status (*alert_list)(srv_store *s, int64_t school_id, const srv_alert_filter *f,
	                          srv_alert_cb cb, void *ctx);
	/* Dismisses alert a (status, decided_*, new payload set by the caller; a->rev the
	 * revision it was read at): WARD_EINVAL when it changed meanwhile or is decided. */
	ward_status (*alert_decide)(srv_store *s, srv_alert *a, const srv_audit_in *au);
	/* Promotes: writes concern c (version 1, sealed) and alert a (status promoted,
	 * concern_id c->id) and both audit entries in one transaction. */
	ward_status (*alert_promote)(srv_store *s, srv_alert *a, srv_concern *c,
	                             const srv_audit_in *au_alert, const srv_audit_in *au_concern);
	/* Counts by UTC day and area of alerts first seen at or after since. */
	ward_status (*alert_summary)(srv_store *s, int64_t school_id, int64_t since,
	                             srv_alert_count_cb cb, void *ctx);

	/* Settings: defaults when none are stored. */
	ward_status (*settings_get)(srv_store *s, int64_t school_id, srv_notify_settings *out);
	ward_status (*settings_put)(srv_store *s, srv_notify_settings *in, const srv_audit_in *a);

	/* Unacknowledged notices of a school, oldest first. */
	ward_status (*notice_list)(srv_store *s, int64_t school_id, srv_notice_cb cb, void *ctx);
	/* Acknowledges the notice of (kind, ref_id); WARD_ENOENT when there is none,
	 * WARD_EINVAL when already acknowledged. */
	ward_status (*notice_ack)(srv_store *s, int64_t school_id, const char *kind, int64_t ref_id,
	                          int64_t now, const srv_audit_in *a);
	/* Claims the next due, unacknowledged notice (next_at <= now, stage < 3) in one
	 * transaction: moves it to its next stage, audits it and sets next_at from the school's
	 * escalation minutes.  *out is the notice as claimed (its new stage) and *set the
	 * school's settings.  WARD_ENOENT when nothing is due.  Safe with several processes on
	 * one database: the claim is one write transaction. */
	ward_status (*notice_claim)(srv_store *s, int64_t now, srv_notice *out,
	                            srv_notify_settings *set);
};

/* Frees a's payload and zeroes it. */
void srv_alert_clear(srv_alert *a);

/* BLAKE2b over the stored fields (what the audit entries' digests hold). */
void srv_alert_digest(const srv_alert *a, unsigned char out[SRV_HASH_LEN]);
/* The associated data an alert's payload is sealed with (alerts.c; the migration reseals with it). */
void srv_alert_ad(int64_t id, int64_t school, char *ad, size_t cap);
void srv_token_digest(const srv_token *t, unsigned char out[SRV_HASH_LEN]);
void srv_settings_digest(const srv_notify_settings *n, unsigned char out[SRV_HASH_LEN]);
void srv_notice_digest(const srv_notice *n, unsigned char out[SRV_HASH_LEN]);

#endif
