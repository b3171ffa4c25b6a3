/* cases.h: what casework's files (cases.c, case_report.c, pupils.c) share, and the one check
 * core.c asks of them (closing a concern). */
#ifndef WARDD_CASES_H
#define WARDD_CASES_H

#include <jansson.h>

#include <ward/guide.h>

#include "http.h"
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
 * payload ("by", the caller's name, is added), audited as action.  *id_out gets its id.  0 on
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
 * answers 409 and returns 1.  Otherwise 0. */
int srv_case_close_refused(srv_request *r, json_t *body, int64_t concern_id);

/* YYYY-MM-DD (a time may follow). */
int case_is_date(const char *s);

#endif
