/* store_throttle.h: the store's side of the sign-in throttle.  Failed sign-ins live in the
 * database, not in a wardd process, so that two or more wardd behind a load balancer count the
 * same failures: a guess sent to one process counts against the account on all of them.
 *
 * An account is (school_id, name_hash): school_id 0 when the school named does not exist, and
 * name_hash a keyed BLAKE2b of the name as typed (people type passwords into the name field;
 * the database keeps no typed name).  One row per failure, with its time.
 *
 * The pupil page's limits per address and per school live here too (pupil_report.c). */
#ifndef WARDD_STORE_THROTTLE_H
#define WARDD_STORE_THROTTLE_H

#include "store.h"

/* The pupil page's limits: how many of each within which window (the windows' starts). */
typedef struct srv_pupil_limits {
	int64_t addr_since;   /* an address's window began at */
	int addr_reports;     /* reports per address per window */
	int addr_failures;    /* wrong codes or stale form tokens per address per window */
	int64_t school_since; /* a school's window began at */
	int school_reports;   /* reports per school per window */
} srv_pupil_limits;

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

	/* The pupil page's limits (pupil_report.c), counted here for the same reason: two wardd
	 * behind a balancer would each allow the full count, and a restart would forget it.
	 * addr_hash is a keyed BLAKE2b of the client's address (the database keeps no address).
	 * An address's rows are kept under school 0, whatever school its code named: the
	 * address limit spans schools, a wrong code names none, and so no row ties an address
	 * to a school.  A school's reports are counted in rows of its own without an address.
	 * Each call first forgets the rows older than their window, so the tables stay small. */

	/* Sets *ok when addr has fewer than lim->addr_failures failures since lim->addr_since. */
	ward_status (*pupil_check)(srv_store *s, const unsigned char addr_hash[SRV_HASH_LEN],
	                           const srv_pupil_limits *lim, int *ok);
	/* Records a failure of addr at now (a wrong code, a stale form token), unless it has
	 * lim->addr_failures already (it is refused before it gets this far then). */
	ward_status (*pupil_fail)(srv_store *s, const unsigned char addr_hash[SRV_HASH_LEN],
	                          int64_t now, const srv_pupil_limits *lim);
	/* One report to school_id from addr, in one transaction that concurrent reports from
	 * the address or to the school (in any wardd on the database) wait for: when addr has
	 * fewer than lim->addr_failures failures and lim->addr_reports reports since
	 * lim->addr_since, and the school fewer than lim->school_reports since
	 * lim->school_since, records one report against each at now and sets *ok; otherwise
	 * records nothing and clears *ok. */
	ward_status (*pupil_report)(srv_store *s, int64_t school_id,
	                            const unsigned char addr_hash[SRV_HASH_LEN], int64_t now,
	                            const srv_pupil_limits *lim, int *ok);
};

#endif
