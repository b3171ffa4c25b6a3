/* store_cases.h: the store interface of casework (cases.c, pupils.c).
 *
 * A case is a concern plus an append-only list of entries: checklist confirmations, trigger
 * answers, chronology, decisions, referrals and their outcomes, devices taken and every
 * hand-over, the closing outcome.  Pupil records and their transfers live beside them.  Rows are
 * never updated or deleted; each is written with its audit entry (whose digest covers the row)
 * in one durable transaction, and a row walker lets audit verify check every one.
 *
 * Strings and payloads returned inside records are owned by the record (*_clear frees them). */
#ifndef WARDD_STORE_CASES_H
#define WARDD_STORE_CASES_H

#include "store.h"

/* One case entry.  concern_id is 0 for entries about a pupil record (ref "pupil/ID").  kind and
 * ref are plain (what the server needs to select and count); payload is the sealed JSON of
 * everything a person wrote. */
typedef struct srv_case_entry {
	int64_t id, school_id, concern_id, actor_id, created;
	char kind[24]; /* checklist, trigger, chronology, decision, referral, outcome, device,
	                  handover, close, transfer-out, transfer-in, receipt */
	char ref[64];  /* the item, trigger, device or referral the entry is about, or "" */
	unsigned char *payload;
	size_t payload_len;
} srv_case_entry;

/* One pupil record: plain ids and the sealed JSON of name, date of birth, year group and
 * internal id. */
typedef struct srv_pupil {
	int64_t id, school_id, created, actor_id;
	unsigned char *payload;
	size_t payload_len;
} srv_pupil;

typedef int (*srv_case_entry_cb)(void *ctx, const srv_case_entry *e);
typedef int (*srv_pupil_cb)(void *ctx, const srv_pupil *p);
/* Asked inside a close's transaction: latest is the concern's latest version (read its id,
 * school, version and status only), entries (n of them, oldest first) the case's entries.  0: the
 * case may close; nonzero: refuse (the callback keeps its reason).  It must not call the store. */
typedef int (*srv_case_close_check)(void *ctx, const srv_concern *latest,
                                    const srv_case_entry *entries, size_t n);

typedef struct srv_case_ops {
	/* Appends e (e->id chosen by the caller, unique) and its audit entry a (target
	 * "case-entry/ID") in one durable transaction; e->created is set by the caller. */
	ward_status (*entry_add)(srv_store *s, const srv_case_entry *e, const srv_audit_in *a);
	/* The entries of concern_id (0: the pupil entries) in school_id, oldest first. */
	ward_status (*entry_list)(srv_store *s, int64_t school_id, int64_t concern_id,
	                          srv_case_entry_cb cb, void *ctx);
	/* Adds a pupil record (p->id chosen by the caller) with its audit entry ("pupil/ID"). */
	ward_status (*pupil_add)(srv_store *s, const srv_pupil *p, const srv_audit_in *a);
	/* WARD_ENOENT when school_id has no pupil id.  out owned by the caller (srv_pupil_clear).
	 */
	ward_status (*pupil_get)(srv_store *s, int64_t school_id, int64_t id, srv_pupil *out);
	ward_status (*pupil_list)(srv_store *s, int64_t school_id, srv_pupil_cb cb, void *ctx);
	/* The entries of kind in school_id across all its concerns, oldest first: what the
	 * dashboard's urgent list folds, without reading every case. */
	ward_status (*entry_list_kind)(srv_store *s, int64_t school_id, const char *kind,
	                               srv_case_entry_cb cb, void *ctx);
	/* Closes concern c->id in one durable transaction, serialised with every other writer on
	 * the database (every wardd on it): reads the concern's latest version (WARD_ENOENT when
	 * school c->school_id has none; WARD_EINVAL, with err set, when c->version is not the next
	 * one) and its entries, asks check (WARD_ESTOPPED, nothing written, when it refuses),
	 * then appends the close entry e (NULL: none) with its audit entry ea and version c (status
	 * "closed"; c->created set here) with its audit entry ca.  All or nothing. */
	ward_status (*close)(srv_store *s, const srv_case_entry *e, const srv_audit_in *ea,
	                     srv_concern *c, const srv_audit_in *ca, srv_case_close_check check,
	                     void *ctx);
	/* entry_add for an entry that puts a device out (a device taken, a hand-over that moves
	 * it): refused with WARD_ESTOPPED, nothing written, when e->concern_id's latest version is
	 * closed, checked in the same transaction as the write. */
	ward_status (*entry_add_open)(srv_store *s, const srv_case_entry *e, const srv_audit_in *a);
} srv_case_ops;

void srv_case_entry_clear(srv_case_entry *e);
void srv_pupil_clear(srv_pupil *p);

/* BLAKE2b over a row's stored fields: what its audit entry's digest holds. */
void srv_case_entry_digest(const srv_case_entry *e, unsigned char out[SRV_HASH_LEN]);
void srv_pupil_digest(const srv_pupil *p, unsigned char out[SRV_HASH_LEN]);
/* The associated data a case entry's and a pupil record's payloads are sealed with (cases.c,
 * pupils.c; the migration reseals with them). */
void srv_case_entry_ad(const srv_case_entry *e, char *ad, size_t cap);
void srv_pupil_ad(int64_t id, int64_t school, char *ad, size_t cap);

#endif
