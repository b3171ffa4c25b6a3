/* store.h: the one interface between wardd's handlers and its database.  SQLite implements it
 * first (store_sqlite.c); a PostgreSQL implementation fills in the same table of functions, so
 * handlers never see SQL.  Every row carries its school_id, so one database can hold many schools.
 *
 * Strings returned inside records are owned by the record and freed by its *_free function. */
#ifndef WARDD_STORE_H
#define WARDD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <ward/common.h>

#define SRV_HASH_LEN 32 /* BLAKE2b-256 */

typedef enum srv_role {
	SRV_ROLE_STAFF = 0,
	SRV_ROLE_DSL,
	SRV_ROLE_DEPUTY_DSL,
	SRV_ROLE_ADMIN,
	SRV_ROLE_AUDITOR,
	SRV_ROLE_TRUST_LEAD, /* a trust's safeguarding lead: oversees the schools of its trust */
	SRV_ROLE_COUNT
} srv_role;

typedef struct srv_user {
	int64_t id, school_id;
	char username[64];
	char pwhash[128]; /* crypto_pwhash_str */
	srv_role role;
	int disabled;
	int totp_enrolled; /* a confirmed TOTP secret is on file */
} srv_user;

typedef struct srv_session {
	int64_t user_id, school_id;
	unsigned char token_hash[SRV_HASH_LEN];
	char csrf[48];
	int64_t created, last_seen;
	int enrol_only; /* signed in without the second factor the role needs: may only enrol */
} srv_session;

/* One version of a concern.  payload is the sealed (encrypted) JSON of the narrative fields:
 * children, areas, account, occurred_at, source.  Owned by the record. */
typedef struct srv_concern {
	int64_t id, school_id, version, reporter_id, created;
	char status[24];
	unsigned char *payload;
	size_t payload_len;
} srv_concern;

/* One audit entry.  hash = BLAKE2b(prev || fields || digest); digest covers the row the action
 * wrote (a concern version's payload), or is all zero. */
typedef struct srv_audit {
	int64_t seq, school_id, actor_id, at;
	char action[48];
	char target[64];
	char source[64]; /* remote address */
	unsigned char digest[SRV_HASH_LEN];
	unsigned char prev[SRV_HASH_LEN];
	unsigned char hash[SRV_HASH_LEN];
} srv_audit;

/* What a write appends to the audit chain in the same transaction. */
typedef struct srv_audit_in {
	int64_t school_id, actor_id;
	const char *action, *target, *source;
} srv_audit_in;

typedef struct srv_store srv_store;

/* Callbacks for listings; return non-zero to stop. */
typedef int (*srv_concern_cb)(void *ctx, const srv_concern *c);
typedef int (*srv_audit_cb)(void *ctx, const srv_audit *a);
typedef int (*srv_user_cb)(void *ctx, const srv_user *u);

typedef struct srv_store_ops {
	void (*close)(srv_store *s);
	ward_status (*school_create)(srv_store *s, const char *name, int64_t *id_out);
	ward_status (*school_find)(srv_store *s, const char *name, int64_t *id_out);
	/* Creates a user and audits it.  a duplicate username is WARD_EINVAL. */
	ward_status (*user_create)(srv_store *s, const srv_user *u, const srv_audit_in *a,
	                           int64_t *id_out);
	ward_status (*user_get)(srv_store *s, int64_t id, srv_user *out);
	ward_status (*user_find)(srv_store *s, int64_t school_id, const char *username,
	                         srv_user *out);
	ward_status (*user_list)(srv_store *s, int64_t school_id, srv_user_cb cb, void *ctx);
	ward_status (*session_put)(srv_store *s, const srv_session *se);
	ward_status (*session_get)(srv_store *s, const unsigned char *token_hash, srv_session *out);
	ward_status (*session_touch)(srv_store *s, const unsigned char *token_hash, int64_t now);
	ward_status (*session_delete)(srv_store *s, const unsigned char *token_hash);
	/* Writes version c->version of concern c->id (version 1: a new concern; id 0 has the store
	 * assign one) and its audit entry in one durable transaction.  On a new version,
	 * WARD_EINVAL when the version is not the next one. */
	ward_status (*concern_put)(srv_store *s, srv_concern *c, const srv_audit_in *a);
	/* Latest version of concern id in school_id; WARD_ENOENT if none. c owned by caller
	 * (srv_concern_clear). */
	ward_status (*concern_get)(srv_store *s, int64_t school_id, int64_t id, srv_concern *c);
	/* Latest versions, newest first; reporter_id 0 for all. */
	ward_status (*concern_list)(srv_store *s, int64_t school_id, int64_t reporter_id,
	                            srv_concern_cb cb, void *ctx);
	ward_status (*concern_versions)(srv_store *s, int64_t school_id, int64_t id,
	                                srv_concern_cb cb, void *ctx);
	/* Every concern version of every school, in write order (for audit verify). */
	ward_status (*concern_all_versions)(srv_store *s, srv_concern_cb cb, void *ctx);
	/* Appends one audit entry (reads are audited this way). */
	ward_status (*audit_append)(srv_store *s, const srv_audit_in *a);
	/* Audit entries in order; school_id 0 for all schools, after_seq for paging. */
	ward_status (*audit_list)(srv_store *s, int64_t school_id, int64_t after_seq, int limit,
	                          srv_audit_cb cb, void *ctx);
	/* Consistent copy of the live database to path (SQLite online backup). */
	ward_status (*backup)(srv_store *s, const char *path);
	/* TOTP second factor.  Secrets are sealed by the caller (srv_totp_seal) before they reach
	 * the store.  totp_secret: the confirmed secret (pending 0) or the one being enrolled
	 * (pending 1); *sealed is the caller's (free); WARD_ENOENT when there is none. */
	ward_status (*totp_secret)(srv_store *s, int64_t user_id, int pending,
	                           unsigned char **sealed, size_t *n);
	/* Keeps sealed as the user's pending secret, audited. */
	ward_status (*totp_begin)(srv_store *s, int64_t user_id, const unsigned char *sealed,
	                          size_t n, const srv_audit_in *a);
	/* Makes the pending secret the confirmed one, records step as used and lifts the
	 * enrol-only mark of the session token_hash, in one audited transaction.  WARD_ENOENT
	 * when nothing is pending or step is not later than the last step used. */
	ward_status (*totp_confirm)(srv_store *s, int64_t user_id, int64_t step,
	                            const unsigned char *token_hash, const srv_audit_in *a);
	/* Records time step step as used: WARD_EINVAL when it is not later than the last one
	 * used (a code is good once). */
	ward_status (*totp_use)(srv_store *s, int64_t user_id, int64_t step);
	/* Forgets the user's secrets and ends their sessions, audited (a lost authenticator). */
	ward_status (*totp_reset)(srv_store *s, int64_t user_id, const srv_audit_in *a);
	/* The name of school id into out (capacity cap); WARD_ENOENT when there is none. */
	ward_status (*school_name)(srv_store *s, int64_t id, char *out, size_t cap);
} srv_store_ops;

/* For audit verify: one stored row a feature wrote together with an audit entry whose target
 * is target, and the BLAKE2b digest recomputed from the row as it is now.  Non-zero stops. */
typedef int (*srv_row_cb)(void *ctx, const char *target, const unsigned char digest[SRV_HASH_LEN]);
typedef ward_status (*srv_row_walker)(srv_store *s, srv_row_cb cb, void *ctx);
#define SRV_MAX_WALKERS 8

struct srv_store {
	const srv_store_ops *ops;
	/* Row walkers of the features, for audit verify; NULL-terminated. */
	srv_row_walker walkers[SRV_MAX_WALKERS + 1];
	const struct srv_alert_ops *alerts; /* store_alerts.h */
	const struct srv_case_ops *cases;   /* store_cases.h */
	const struct srv_trust_ops *trust;  /* store_trust.h */
	const struct srv_pupil_ops *pupil;  /* store_pupil_report.h */
	const struct srv_throttle_ops *throttle; /* store_throttle.h */
	char err[256]; /* last error in words */
};

/* Adds a feature's row walker (at attach time). */
void srv_store_add_walker(srv_store *s, srv_row_walker w);

/* Opens (creating if needed) the SQLite database at path and runs its migrations.  *out freed
 * with (*out)->ops->close. */
ward_status srv_store_sqlite_open(const char *path, srv_store **out);

/* Frees the payload of c and zeroes it. */
void srv_concern_clear(srv_concern *c);

/* Role names as the API spells them; -1 when unknown. */
const char *srv_role_name(srv_role r);
int srv_role_from_name(const char *name);

/* The audit entry's hash from its fields and prev (shared by the store and the verifier). */
void srv_audit_hash(const srv_audit *a, unsigned char out[SRV_HASH_LEN]);

/* BLAKE2b over a concern version's stored fields (what its audit entry's digest holds). */
void srv_concern_digest(const srv_concern *c, unsigned char out[SRV_HASH_LEN]);
/* The associated data a concern version's payload is sealed with (core.c; the migration
 * reseals with it). */
void srv_concern_ad(int64_t id, int64_t school, char *ad, size_t cap);

/* Walks the whole chain and every concern version: 0 when intact; otherwise fills msg
 * (capacity cap) with the first broken link in words and returns WARD_EINVAL. */
ward_status srv_audit_verify(srv_store *s, char *msg, size_t cap, int64_t *entries_out);

#endif
