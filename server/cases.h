/* cases.h: what casework's files (cases.c, case_report.c, pupils.c) share, and the one check
 * core.c asks of them (closing a concern). */
#ifndef WARDD_CASES_H
#define WARDD_CASES_H

#include <jansson.h>

#include <ward/guide.h>

#include "http.h"
#include "srv.h"
#include "store_cases.h"

/* The guided response wardd loaded at start (cases module); NULL before. */
const ward_guide *case_guide(void);

/* A random 48-bit id, so that sealing can bind the id before the row exists. */
int64_t case_new_id(void);

/* Seals j (compact JSON) under the server key with ad; *out is the caller's (free). */
ward_status case_seal(srv_request *r, const char *ad, json_t *j, unsigned char **out,
                      size_t *n_out);
/* Opens a sealed payload into JSON (caller owns: json_decref); NULL when it does not open. */
json_t *case_open(srv_request *r, const char *ad, const unsigned char *p, size_t n);

/* Appends an entry of kind about ref to concern_id (0: a pupil entry) with body as its sealed
 * payload ("by", the caller's name, is added; the reference to body passes to the call),
 * audited as action.  *id_out gets its id.  0 on
 * success; otherwise it has answered with a problem. */
int case_entry_add(srv_request *r, int64_t concern_id, const char *kind, const char *ref,
                   json_t *body, const char *action, int64_t *id_out);
/* The entries of concern_id as JSON objects {id, kind, ref, recorded_at, actor_id, ...payload},
 * oldest first (caller owns).  NULL with a problem answered when one does not open. */
json_t *case_entries(srv_request *r, int64_t concern_id);

/* The opened narrative of concern c ({children, areas, account, occurred_at, source}), or NULL. */
json_t *case_concern_open(srv_request *r, const srv_concern *c);
/* Bits (1u << area) of the concern's areas. */
uint32_t case_areas_mask(json_t *narrative);

/* Loads concern ids[0] for the caller (staff: their own only); 0 with 404 answered otherwise.
 * c is the caller's (srv_concern_clear). */
int case_load_concern(srv_request *r, srv_concern *c);

/* The case as the referral summary and the export present it: facts, children involved,
 * checklist, triggers, chronology, decisions, referrals, custody.  Caller owns.  NULL with a
 * problem answered. */
json_t *case_report(srv_request *r, const srv_concern *c);
/* The report rendered as a printable HTML page (no script, no inline style): request memory. */
char *case_report_html(srv_request *r, json_t *report);

/* Views folded from a case's entries (cases.c); each returns a new reference. */
json_t *case_checklist_json(json_t *entries, uint32_t areas);
json_t *case_triggers_json(json_t *entries, uint32_t areas, int *urgent, json_t *reasons);
json_t *case_custody_json(json_t *entries, int *unaccounted);
json_t *case_entries_of(json_t *entries, const char *kind);
json_t *case_referrals_json(json_t *entries);
json_t *case_contacts_json(void);

/* Whether the case may be closed: NULL when it may, else the reason in words (static or
 * request memory). */
const char *case_close_blocker(srv_request *r, int64_t concern_id);

/* For core.c's PATCH: when the change sets status "closed" and the case may not be closed,
 * answers 409 and returns 1.  Otherwise 0.  An early answer from a read: the write goes
 * through srv_case_close_put, which checks again in its transaction. */
int srv_case_close_refused(srv_request *r, json_t *body, int64_t concern_id);
/* Writes n (the concern's next version; its status is set to "closed") with its audit entry a
 * through the store's close: one transaction that refuses, with the same 409 and words, while a
 * device is unaccounted for or no decision is recorded.  0 on success; otherwise answered. */
int srv_case_close_put(srv_request *r, srv_concern *n, const srv_audit_in *a);

/* ---- transfer of a child's file between schools (case_transfer.c) ---- */

#define CASE_HASH_HEX (2 * SRV_HASH_LEN + 1)
#define CASE_KEY64    48 /* base64 of a 32-byte key, with its NUL */

/* A school's transfer keys: Ed25519 to sign, X25519 to receive sealed files. */
typedef struct case_keys {
	unsigned char sign_pk[32], sign_sk[64];
	unsigned char box_pk[32], box_sk[32];
	char sign64[CASE_KEY64], box64[CASE_KEY64];
} case_keys;

/* Derives school_id's keys from the at-rest key (nothing to store; wipe k after use). */
void case_keys_derive(const unsigned char key[SRV_KEY_LEN], int64_t school_id, case_keys *k);
/* Seals file for the school whose box key is recipient_box64 and signs it with k.  Returns the
 * bundle (caller owns) and its hash, or NULL when the key is not a key or memory ran out. */
json_t *case_bundle_make(const case_keys *k, const char *recipient_box64, json_t *file,
                         long long sent_at, char hash[CASE_HASH_HEX]);
/* Checks a bundle (len bytes of JSON from another school) against the sender's key given out
 * of band (sender_sign64) and opens it with k.  WARD_OK with *file_out (caller owns) and hash;
 * otherwise msg says why (WARD_EFORMAT: not a bundle or does not open; WARD_EINVAL: the
 * signature or the addressee is wrong). */
ward_status case_bundle_open(const char *text, size_t len, const char *sender_sign64,
                             const case_keys *k, json_t **file_out, char hash[CASE_HASH_HEX],
                             char *msg, size_t cap);
/* A receipt for the bundle with this hash, signed with k (caller owns). */
json_t *case_receipt_make(const case_keys *k, const char *hash, long long received_at);
/* Checks a receipt (len bytes of JSON) signed by signer64: WARD_OK with the bundle's hash and
 * the time it was received; otherwise msg says why. */
ward_status case_receipt_check(const char *text, size_t len, const char *signer64,
                               char hash[CASE_HASH_HEX], long long *received_at, char *msg,
                               size_t cap);

/* YYYY-MM-DD (a time may follow). */
int case_is_date(const char *s);

#endif
