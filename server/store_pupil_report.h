/* store_pupil_report.h: the store's side of the pupil page.  A school's page is off until its
 * admin turns it on; it is reached by a random code (the school's link), never by the school's
 * name.  One row per school; every change (turned on or off, code rotated) is a new revision
 * written with its audit entry in one transaction.  The reports themselves are ordinary concerns
 * (source pupil) in the core concern store, so they reach the DSL the way staff concerns do. */
#ifndef WARDD_STORE_PUPIL_REPORT_H
#define WARDD_STORE_PUPIL_REPORT_H

#include "store.h"

#define SRV_PUPIL_CODE_LEN 32 /* longest code, plus its NUL */

typedef struct srv_pupil_page {
	int64_t school_id, rev, updated;
	int enabled;
	char code[SRV_PUPIL_CODE_LEN];
} srv_pupil_page;

struct srv_pupil_ops {
	/* The page of school_id; WARD_ENOENT when the school never set one up. */
	ward_status (*page_get)(srv_store *s, int64_t school_id, srv_pupil_page *out);
	/* The page whose code is code (enabled or not); WARD_ENOENT when none. */
	ward_status (*page_find)(srv_store *s, const char *code, srv_pupil_page *out);
	/* Writes p as the school's page with the next revision (p->rev is set), audited as
	 * pupil-page/SCHOOL/rREV with the row's digest, in one transaction. */
	ward_status (*page_put)(srv_store *s, srv_pupil_page *p, const srv_audit_in *a);
};

/* BLAKE2b over a page row: what its audit entry's digest holds. */
void srv_pupil_page_digest(const srv_pupil_page *p, unsigned char out[SRV_HASH_LEN]);

#endif
