/* store_trust.h: the store's side of trusts.  A multi-academy trust or a local authority groups
 * schools; its safeguarding lead (role trust-lead, an account of one of its schools) oversees
 * them all: which schools, and each one's concerns by status, with no narrative (need to know:
 * the schools' own DSL teams work the cases).  School roles stay inside their school.
 *
 * On PostgreSQL the trust's reads run with ward.school set to the trust's schools, so the
 * row-level security policies bound them too (store_pg_trust.c). */
#ifndef WARDD_STORE_TRUST_H
#define WARDD_STORE_TRUST_H

#include "store.h"

/* One school of a trust, with its concerns' latest versions counted by status. */
typedef struct srv_trust_school {
	int64_t school_id;
	char name[128];
	int64_t concerns, open, unacknowledged; /* open: status not closed */
} srv_trust_school;

/* One concern as the trust sees it: the plain fields, the stage its unacknowledged notice has
 * reached (0: none or acknowledged; 2: the deputy DSL told, 3: the head; notify.c), and its
 * sealed payload, from which trust.c takes only the areas and the pupil's urgent flag.  The
 * payload is the store's, valid during the callback only. */
typedef struct srv_trust_concern {
	int64_t id, school_id, version, created, stage;
	char status[24];
	const unsigned char *payload;
	size_t payload_len;
} srv_trust_concern;

typedef int (*srv_trust_school_cb)(void *ctx, const srv_trust_school *t);
typedef int (*srv_trust_concern_cb)(void *ctx, const srv_trust_concern *c);

struct srv_trust_ops {
	/* Puts school_id in trust (made when new; a school is in one trust at most, so this moves
	 * it), audited as trust/NAME. */
	ward_status (*trust_join)(srv_store *s, const char *trust, int64_t school_id,
	                          const srv_audit_in *a);
	/* The name of school_id's trust into out; WARD_ENOENT when it is in none. */
	ward_status (*trust_of)(srv_store *s, int64_t school_id, char *out, size_t cap);
	/* The schools of school_id's trust (only school_id itself when it is in none), by name. */
	ward_status (*trust_schools)(srv_store *s, int64_t school_id, srv_trust_school_cb cb,
	                             void *ctx);
	/* The latest version of every concern of those schools, newest first, at most limit. */
	ward_status (*trust_concerns)(srv_store *s, int64_t school_id, int limit,
	                              srv_trust_concern_cb cb, void *ctx);
};

/* BLAKE2b over a membership row (school, trust name, revision): what its audit entry's digest
 * holds; the audit target is trust-member/SCHOOL/rREV. */
void srv_trust_member_digest(int64_t school_id, const char *trust, int64_t rev,
                             unsigned char out[SRV_HASH_LEN]);

#endif
