/* store_throttle.h: the store's side of the sign-in throttle.  Failed sign-ins live in the
 * database, not in a wardd process, so that two or more wardd behind a load balancer count the
 * same failures: a guess sent to one process counts against the account on all of them.
 *
 * An account is (school_id, name_hash): school_id 0 when the school named does not exist, and
 * name_hash a keyed BLAKE2b of the name as typed (people type passwords into the name field;
 * the database keeps no typed name).  One row per failure, with its time. */
#ifndef WARDD_STORE_THROTTLE_H
#define WARDD_STORE_THROTTLE_H

#include "store.h"

struct srv_throttle_ops {
	/* One sign-in attempt, in one transaction that concurrent attempts on the account (in
	 * this process or another) wait for: forgets the school's failures older than since,
	 * counts the account's failures at or after since and, when there are fewer than limit,
	 * records one at now, presuming the attempt fails until it succeeds, and sets *id_out to
	 * it.  When there are limit or more, records nothing and sets *throttled.  So no more than
	 * limit password checks run for an account within the window, however many arrive at
	 * once. */
	ward_status (*attempt)(srv_store *s, int64_t school_id,
	                       const unsigned char name_hash[SRV_HASH_LEN], int64_t now,
	                       int64_t since, int limit, int64_t *id_out, int *throttled);
	/* Withdraws failure id of school_id (the attempt was not a failure after all). */
	ward_status (*withdraw)(srv_store *s, int64_t school_id, int64_t id);
	/* Forgets every failure of the account (a sign-in succeeded). */
	ward_status (*clear)(srv_store *s, int64_t school_id,
	                     const unsigned char name_hash[SRV_HASH_LEN]);
};

#endif
